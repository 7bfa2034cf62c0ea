/*
 * trace_reader.c - the files of a trace, their blocks and their events.
 *
 * A file is read through a window of a few megabytes (pass 1, in order)
 * and by block (pass 2, each thread's stream at its own pace), never
 * mapped: a file shortened by someone else while it is read gives a short
 * read, not a SIGBUS.  Sizes come from the file and are checked before
 * use; the walk stops at the first block that does not check out, since
 * the size of a damaged block cannot be trusted to find the next one.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace_reader.h"

#define WINDOW_SIZE     (4u << 20)
#define MAX_HEADER_SIZE (1u << 20)

/* ---------------------------------------------------------------- u64map */

struct u64map {
	uint64_t *keys, *vals;
	unsigned char *used;
	size_t cap, n;                /* cap: a power of two */
};

struct u64map *u64map_new(void)
{
	return calloc(1, sizeof(struct u64map));
}

void u64map_free(struct u64map *m)
{
	if (!m)
		return;
	free(m->keys);
	free(m->vals);
	free(m->used);
	free(m);
}

static size_t hash64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	k ^= k >> 33;
	return (size_t)k;
}

uint64_t *u64map_get(struct u64map *m, uint64_t key)
{
	if (!m || m->n == 0)
		return NULL;
	size_t mask = m->cap - 1;
	for (size_t i = hash64(key) & mask;; i = (i + 1) & mask) {
		if (!m->used[i])
			return NULL;
		if (m->keys[i] == key)
			return &m->vals[i];
	}
}

static int grow(struct u64map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	uint64_t *k = malloc(cap * sizeof(*k)), *v = malloc(cap * sizeof(*v));
	unsigned char *u = calloc(cap, 1);
	if (!k || !v || !u) {
		free(k);
		free(v);
		free(u);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->used[i])
			continue;
		size_t j = hash64(m->keys[i]) & (cap - 1);
		while (u[j])
			j = (j + 1) & (cap - 1);
		u[j] = 1;
		k[j] = m->keys[i];
		v[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	free(m->used);
	m->keys = k;
	m->vals = v;
	m->used = u;
	m->cap = cap;
	return 0;
}

uint64_t *u64map_put(struct u64map *m, uint64_t key, bool *fresh)
{
	if (fresh)
		*fresh = false;
	uint64_t *v = u64map_get(m, key);
	if (v)
		return v;
	if ((m->n + 1) * 2 > m->cap && grow(m) != 0)
		return NULL;
	size_t mask = m->cap - 1, i = hash64(key) & mask;
	while (m->used[i])
		i = (i + 1) & mask;
	m->used[i] = 1;
	m->keys[i] = key;
	m->vals[i] = 0;
	m->n++;
	if (fresh)
		*fresh = true;
	return &m->vals[i];
}

size_t u64map_count(const struct u64map *m)
{
	return m ? m->n : 0;
}

/* ---------------------------------------------------------------- sources */

/* Where a file's bytes come from: a descriptor, or memory. */
struct source {
	int fd;                       /* -1: mem */
	const unsigned char *mem;
	uint64_t size;
	unsigned char *win;           /* pass 1's window over the file */
	uint64_t wstart, wlen;
	size_t wcap;
};

/* An event block: where it is and whose it is. */
struct trace_block_ref {
	uint64_t offset;              /* of the payload */
	uint32_t size;
	uint32_t thread;
	uint32_t count;
	bool nested;
	uint64_t base_ticks;
};

struct clockpt {
	uint64_t ticks, ns, hz;
	/* to the next pair: nanoseconds a tick in 32.32 fixed point (the
	 * event path's conversion: no floating point); 0 with down set when
	 * the realtime clock went back between the two */
	unsigned __int128 mult;
	bool down;
};

struct tfile {
	struct trace_file pub;
	struct source src;
};

struct trace_reader {
	struct tfile **files;
	size_t nfiles;
	char *warnings[TRACE_MAX_WARNINGS];
	size_t nwarnings, dropped;
	const struct trace_visitor *v;  /* during a pass, for its warning callback */
	struct clockpt *clocks;
	size_t nclocks, clocks_cap;
	bool clocks_sorted;
	uint64_t hz;                  /* the latest calibrated rate seen */
	size_t seg;                   /* time conversion: last segment used */
	pthread_mutex_t wlock;        /* the warnings, shared with the decoding thread */
};

trace_reader *trace_reader_new(void)
{
	trace_reader *self = calloc(1, sizeof(trace_reader));
	if (self)
		pthread_mutex_init(&self->wlock, NULL);
	return self;
}

static void file_free(struct tfile *t)
{
	if (!t)
		return;
	if (t->src.fd >= 0)
		close(t->src.fd);
	free(t->src.win);
	free(t->pub.path);
	free(t->pub.command);
	free(t->pub.end_description);
	free(t->pub.sampling);
	free(t->pub.threads);
	free(t->pub.ev);
	u64map_free(t->pub.tids);
	u64map_free(t->pub.slots);
	u64map_free(t->pub.seqs);
	free(t);
}

void trace_reader_free(trace_reader *self)
{
	if (!self)
		return;
	for (size_t i = 0; i < self->nfiles; i++)
		file_free(self->files[i]);
	free(self->files);
	for (size_t i = 0; i < self->nwarnings; i++)
		free(self->warnings[i]);
	free(self->clocks);
	pthread_mutex_destroy(&self->wlock);
	free(self);
}

bool trace_file_complete(const struct trace_file *f)
{
	return f->has_end && !f->stopped && !f->events_skipped && !f->blocks_rejected &&
	       !f->blocks_missing && !f->end_mismatch;
}

size_t trace_reader_file_count(const trace_reader *self)
{
	return self->nfiles;
}

const struct trace_file *trace_reader_file(const trace_reader *self, size_t i)
{
	return i < self->nfiles ? &self->files[i]->pub : NULL;
}

const char *const *trace_reader_warnings(const trace_reader *self, size_t *n, size_t *dropped)
{
	*n = self->nwarnings;
	if (dropped)
		*dropped = self->dropped;
	return (const char *const *)self->warnings;
}

/* Also from the decoding thread of trace_reader_events, which defers the
 * visitor's callback (self->v is NULL meanwhile). */
__attribute__((format(printf, 2, 3)))
static void warn(trace_reader *self, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (self->v && self->v->warning)
		self->v->warning(self->v->ctx, msg);
	pthread_mutex_lock(&self->wlock);
	char *copy = self->nwarnings < TRACE_MAX_WARNINGS ? strdup(msg) : NULL;
	if (copy)
		self->warnings[self->nwarnings++] = copy;
	else
		self->dropped++;
	pthread_mutex_unlock(&self->wlock);
}

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* n bytes at off, or NULL when the file has fewer.  For a descriptor the
 * pointer is valid until the next call. */
static const unsigned char *src_get(struct source *s, uint64_t off, uint64_t n)
{
	if (off > s->size || n > s->size - off)
		return NULL;
	if (s->fd < 0)
		return s->mem + off;
	if (off >= s->wstart && off + n <= s->wstart + s->wlen)
		return s->win + (off - s->wstart);
	size_t want = n > WINDOW_SIZE ? (size_t)n : WINDOW_SIZE;
	if (want > s->size - off)
		want = (size_t)(s->size - off);
	if (want > s->wcap) {
		unsigned char *w = realloc(s->win, want);
		if (!w)
			return NULL;
		s->win = w;
		s->wcap = want;
	}
	size_t got = 0;
	while (got < want) {
		ssize_t r = pread(s->fd, s->win + got, want - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	s->wstart = off;
	s->wlen = got;
	return got >= n ? s->win : NULL;
}

/* Copy n bytes at off into dst: 0, or -1 (short). */
static int src_copy(struct source *s, uint64_t off, void *dst, size_t n)
{
	if (off > s->size || n > s->size - off)
		return -1;
	if (s->fd < 0) {
		memcpy(dst, s->mem + off, n);
		return 0;
	}
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(s->fd, (char *)dst + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* ---------------------------------------------------------------- header */

int trace_header_check(const unsigned char *data, size_t len, struct mt_trace_header *out,
		       char *err, size_t errlen)
{
	struct mt_trace_header h;
	if (len == 0)
		return fail(err, errlen, "empty file (its process ended before writing the header)");
	if (len < sizeof(h.magic) || memcmp(data, MT_TRACE_MAGIC, sizeof(h.magic)) != 0)
		return fail(err, errlen, "not a memtop trace (no trace magic at offset 0)");
	if (len < sizeof(h))
		return fail(err, errlen, "truncated header at offset 0 (%zu of %zu bytes)", len,
			    sizeof(h));
	memcpy(&h, data, sizeof(h));
	if (h.version < MT_TRACE_VERSION_MIN || h.version > MT_TRACE_VERSION)
		return fail(err, errlen,
			    "trace format version %u at offset 8; this memtop reads versions %u to %u",
			    h.version, MT_TRACE_VERSION_MIN, MT_TRACE_VERSION);
	if (h.header_size < sizeof(h) || h.header_size > MAX_HEADER_SIZE)
		return fail(err, errlen, "bad header size %u at offset 12", h.header_size);
	h.exe[sizeof(h.exe) - 1] = '\0';
	*out = h;
	return 0;
}

static struct tfile *file_new(const char *path)
{
	struct tfile *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->src.fd = -1;
	t->pub.path = strdup(path);
	t->pub.tids = u64map_new();
	t->pub.slots = u64map_new();
	t->pub.seqs = u64map_new();
	if (!t->pub.path || !t->pub.tids || !t->pub.slots || !t->pub.seqs) {
		file_free(t);
		return NULL;
	}
	const char *slash = strrchr(t->pub.path, '/');
	t->pub.name = slash ? slash + 1 : t->pub.path;
	t->pub.is_session = strcmp(t->pub.name, MT_TRACE_SESSION_FILE) == 0;
	return t;
}

static int add_file(trace_reader *self, struct tfile *t)
{
	struct tfile **f = realloc(self->files, (self->nfiles + 1) * sizeof(*f));
	if (!f)
		return -1;
	self->files = f;
	self->files[self->nfiles++] = t;
	return 0;
}

/* The header of a new file: usable, skipped with a warning (empty or cut
 * short: a process that died at once), or an error. */
static int take_header(trace_reader *self, struct tfile *t, char *err, size_t errlen)
{
	char why[256];
	size_t n = t->src.size < sizeof(struct mt_trace_header)
		? (size_t)t->src.size : sizeof(struct mt_trace_header);
	const unsigned char *p = src_get(&t->src, 0, n);
	if (!p && n)
		return fail(err, errlen, "%s: cannot read: %s", t->pub.path,
			    errno ? strerror(errno) : "short read");
	if (trace_header_check(p, n, &t->pub.hdr, why, sizeof(why)) == 0) {
		if (t->pub.hdr.header_size > t->src.size) {
			warn(self, "%s: truncated header at offset 0 (%llu of %u bytes): skipped",
			     t->pub.path, (unsigned long long)t->src.size, t->pub.hdr.header_size);
			return 0;
		}
		t->pub.usable = true;
		return 0;
	}
	if (n == 0 || (n < sizeof(struct mt_trace_header) && p &&
		       memcmp(p, MT_TRACE_MAGIC, n < 8 ? n : 8) == 0)) {
		warn(self, "%s: %s: skipped", t->pub.path, why);
		return 0;
	}
	return fail(err, errlen, "%s: %s", t->pub.path, why);
}

int trace_reader_add_buffer(trace_reader *self, const char *name, const void *data, size_t len,
			    char *err, size_t errlen)
{
	struct tfile *t = file_new(name);
	if (!t)
		return fail(err, errlen, "out of memory");
	t->src.mem = data;
	t->src.size = len;
	t->pub.size = len;
	if (take_header(self, t, err, errlen) != 0 || add_file(self, t) != 0) {
		file_free(t);
		return -1;
	}
	return 0;
}

/* trace.PID.mtt or trace.PID.K.mtt (a later image of the pid: K from 2),
 * all digits.  key: files sort by pid, then image. */
static bool trace_file_name(const char *n, long *key)
{
	if (strncmp(n, "trace.", 6) != 0)
		return false;
	const char *d = n + 6;
	size_t k = strspn(d, "0123456789");
	if (k == 0 || k > 10)
		return false;
	long pid = strtol(d, NULL, 10), image = 1;
	if (d[k] == '.' && d[k + 1] != 'm') {
		const char *i = d + k + 1;
		size_t m = strspn(i, "0123456789");
		if (m == 0 || m > 4 || i[0] == '0')
			return false;
		image = strtol(i, NULL, 10);
		if (image < 2 || image > (long)MT_TRACE_MAX_IMAGE)
			return false;
		k += 1 + m;
	}
	if (strcmp(d + k, ".mtt") != 0)
		return false;
	*key = pid * ((long)MT_TRACE_MAX_IMAGE + 1) + image;
	return true;
}

static int open_one(trace_reader *self, const char *path, char *err, size_t errlen)
{
	/* O_NONBLOCK: a FIFO under a trace's name must not hang the open. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, "%s: not a regular file", path);
	}
	struct tfile *t = file_new(path);
	if (!t) {
		close(fd);
		return fail(err, errlen, "out of memory");
	}
	t->src.fd = fd;
	t->src.size = (uint64_t)st.st_size;
	t->pub.size = t->src.size;
	if (take_header(self, t, err, errlen) != 0 || add_file(self, t) != 0) {
		file_free(t);
		return -1;
	}
	return 0;
}

struct name_entry {
	char *name;
	long key;                     /* session first, then by pid and image */
};

static int by_key(const void *a, const void *b)
{
	const struct name_entry *x = a, *y = b;
	return x->key < y->key ? -1 : x->key > y->key;
}

int trace_reader_open(trace_reader *self, const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		if (open_one(self, path, err, errlen) != 0)
			return -1;
		if (!self->files[self->nfiles - 1]->pub.usable)
			return fail(err, errlen, "%s: nothing readable in this trace file", path);
		return 0;
	}
	DIR *d = opendir(path);
	if (!d)
		return fail(err, errlen, "%s: cannot read the directory: %s", path, strerror(errno));
	struct name_entry *names = NULL;
	size_t n = 0, cap = 0;
	int r = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		long key = 0;
		bool session = strcmp(e->d_name, MT_TRACE_SESSION_FILE) == 0;
		if (!session && !trace_file_name(e->d_name, &key))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct name_entry *x = realloc(names, cap * sizeof(*x));
			if (!x) {
				r = fail(err, errlen, "out of memory");
				break;
			}
			names = x;
		}
		names[n].name = strdup(e->d_name);
		names[n].key = session ? -1 : key;
		if (!names[n].name) {
			r = fail(err, errlen, "out of memory");
			break;
		}
		n++;
	}
	closedir(d);
	if (r == 0 && n == 0)
		r = fail(err, errlen, "%s: no memtop trace here (no %s or trace.PID.mtt files)", path,
			 MT_TRACE_SESSION_FILE);
	if (n)
		qsort(names, n, sizeof(*names), by_key);
	size_t usable = 0, traces = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		char full[4096];
		int w = snprintf(full, sizeof(full), "%s/%s", path, names[i].name);
		if (w < 0 || (size_t)w >= sizeof(full)) {
			r = fail(err, errlen, "%s: path too long", path);
			break;
		}
		r = open_one(self, full, err, errlen);
		if (r == 0 && self->files[self->nfiles - 1]->pub.usable) {
			usable++;
			traces += !self->files[self->nfiles - 1]->pub.is_session;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i].name);
	free(names);
	if (r == 0 && usable == 0)
		r = fail(err, errlen, "%s: no readable trace file (%s)", path,
			 self->nwarnings ? self->warnings[0] : "all are empty");
	return r;
}

/* ---------------------------------------------------------------- clocks */

static void add_clock(trace_reader *self, const struct mt_tb_clock *c)
{
	if (self->nclocks == self->clocks_cap) {
		size_t cap = self->clocks_cap ? self->clocks_cap * 2 : 64;
		struct clockpt *p = realloc(self->clocks, cap * sizeof(*p));
		if (!p)
			return;
		self->clocks = p;
		self->clocks_cap = cap;
	}
	self->clocks[self->nclocks++] = (struct clockpt){ .ticks = c->ticks, .ns = c->realtime_ns,
							  .hz = c->ticks_hz };
	self->clocks_sorted = false;
	if (c->ticks_hz)
		self->hz = c->ticks_hz;
}

static int by_ticks(const void *a, const void *b)
{
	const struct clockpt *x = a, *y = b;
	if (x->ticks != y->ticks)
		return x->ticks < y->ticks ? -1 : 1;
	return x->ns < y->ns ? -1 : x->ns > y->ns;
}

static void sort_clocks(trace_reader *self)
{
	if (self->clocks_sorted)
		return;
	if (self->nclocks)
		qsort(self->clocks, self->nclocks, sizeof(*self->clocks), by_ticks);
	/* One point per tick value: a segment needs two distinct ones. */
	size_t k = 0;
	for (size_t i = 0; i < self->nclocks; i++)
		if (k == 0 || self->clocks[i].ticks != self->clocks[k - 1].ticks)
			self->clocks[k++] = self->clocks[i];
	self->nclocks = k;
	for (size_t i = 0; i + 1 < k; i++) {
		struct clockpt *c = &self->clocks[i];
		c->down = c[1].ns < c->ns;
		c->mult = c->down ? 0 : ((unsigned __int128)(c[1].ns - c->ns) << 32) /
					(c[1].ticks - c->ticks);
	}
	self->clocks_sorted = true;
	self->seg = 0;
}

/* base + delta, rounded to the nearest nanosecond, within 0..UINT64_MAX. */
static uint64_t add_signed(uint64_t base, long double delta)
{
	delta = roundl(delta);
	if (delta >= 0)
		return delta >= (long double)(UINT64_MAX - base) ? UINT64_MAX : base + (uint64_t)delta;
	return -delta >= (long double)base ? 0 : base - (uint64_t)(-delta);
}

static uint64_t convert(const struct clockpt *c, size_t n, uint64_t hz, size_t *seg, uint64_t t)
{
	if (n == 0)
		return 0;
	size_t i = *seg < n ? *seg : 0;
	/* Times come mostly in order: try the last segment and the next first. */
	if (!(c[i].ticks <= t && (i + 1 == n || t < c[i + 1].ticks))) {
		if (i + 1 < n && c[i + 1].ticks <= t && (i + 2 >= n || t < c[i + 2].ticks)) {
			i++;
		} else {
			size_t lo = 0, hi = n;
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				if (c[mid].ticks <= t)
					lo = mid + 1;
				else
					hi = mid;
			}
			i = lo ? lo - 1 : 0;
		}
	}
	*seg = i;
	if (t >= c[i].ticks && i + 1 < n && !c[i].down) {
		/* t - ticks < the segment's length: the product fits */
		uint64_t d = (uint64_t)(((unsigned __int128)(t - c[i].ticks) * c[i].mult +
					 (1u << 31)) >> 32);
		return d > UINT64_MAX - c[i].ns ? UINT64_MAX : c[i].ns + d;
	}
	if (t >= c[i].ticks && i + 1 < n) {
		long double f = (long double)(t - c[i].ticks) / (long double)(c[i + 1].ticks - c[i].ticks);
		long double dns = (long double)c[i + 1].ns - (long double)c[i].ns;
		return add_signed(c[i].ns, f * dns);
	}
	/* Before the first pair or after the last: the counter's rate. */
	long double d = t >= c[i].ticks ? (long double)(t - c[i].ticks)
					: -(long double)(c[i].ticks - t);
	uint64_t rate = c[i].hz ? c[i].hz : hz;
	if (rate)
		return add_signed(c[i].ns, d * 1e9L / (long double)rate);
	if (n >= 2) {
		size_t a = i + 1 < n ? i : i - 1;
		long double slope = ((long double)c[a + 1].ns - (long double)c[a].ns) /
				    (long double)(c[a + 1].ticks - c[a].ticks);
		return add_signed(c[i].ns, d * slope);
	}
	return c[i].ns;
}

/* The time of ticks, for a run of events: most share their tick with the
 * previous one (the coarse clock, clock.h). */
struct tcache {
	uint64_t ticks, ns;
	size_t seg;
	bool valid;
};

static inline uint64_t clock_cached(const trace_reader *self, struct tcache *c, uint64_t t);

/* convert() for the event path: the segment of the previous event first. */
static inline uint64_t clock_fast(const trace_reader *self, size_t *seg, uint64_t t)
{
	size_t i = *seg;
	const struct clockpt *c = self->clocks;
	if (i + 1 < self->nclocks && c[i].ticks <= t && t < c[i + 1].ticks && !c[i].down) {
		uint64_t d = (uint64_t)(((unsigned __int128)(t - c[i].ticks) * c[i].mult +
					 (1u << 31)) >> 32);
		return d > UINT64_MAX - c[i].ns ? UINT64_MAX : c[i].ns + d;
	}
	return convert(c, self->nclocks, self->hz, seg, t);
}

static inline uint64_t clock_cached(const trace_reader *self, struct tcache *c, uint64_t t)
{
	if (!c->valid || c->ticks != t) {
		c->ns = clock_fast(self, &c->seg, t);
		c->ticks = t;
		c->valid = true;
	}
	return c->ns;
}

uint64_t trace_reader_time_ns(const trace_reader *self, uint64_t ticks)
{
	size_t seg = self->seg;
	if (!self->clocks_sorted)
		sort_clocks((trace_reader *)self);
	return convert(self->clocks, self->nclocks, self->hz, &seg, ticks);
}

/* ---------------------------------------------------------------- pass 1 */

static const char *block_name(uint32_t type)
{
	static const char *const names[] = { "?", "thread", "events", "stack", "module",
					     "clock", "metrics", "end", "session" };
	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "unknown";
}

/* A new thread of f (no map entry yet): its index, or -1. */
static int64_t new_thread(struct trace_file *f, int32_t tid)
{
	if (f->nthreads == f->threads_cap) {
		size_t cap = f->threads_cap ? f->threads_cap * 2 : 16;
		struct trace_thread *t = realloc(f->threads, cap * sizeof(*t));
		if (!t)
			return -1;
		f->threads = t;
		f->threads_cap = cap;
	}
	struct trace_thread *t = &f->threads[f->nthreads];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->slot = UINT32_MAX;
	return (int64_t)f->nthreads++;
}

/* The current thread of tid in f, created (no start record) if unknown. */
static bool thread_of(struct trace_file *f, int32_t tid, uint32_t *out)
{
	bool fresh;
	uint64_t *v = u64map_put(f->tids, (uint32_t)tid, &fresh);
	if (!v)
		return false;
	if (fresh) {
		int64_t i = new_thread(f, tid);
		if (i < 0) {
			*v = UINT64_MAX;
			return false;
		}
		*v = (uint64_t)i;
	}
	if (*v >= f->nthreads)
		return false;
	*out = (uint32_t)*v;
	return true;
}

static void set_name(struct trace_thread *t, const char name[16])
{
	char n[MT_NAME_LEN + 1];
	memcpy(n, name, MT_NAME_LEN);
	n[MT_NAME_LEN] = '\0';
	if (n[0])
		memcpy(t->name, n, sizeof(n));
}

static void note_time(struct trace_file *f, uint64_t ns)
{
	if (!ns)
		return;
	if (!f->first_ns || ns < f->first_ns)
		f->first_ns = ns;
	if (ns > f->last_ns)
		f->last_ns = ns;
}

/* A start record: the thread of its slot (a slot is one thread for the
 * process's life; a trace started again repeats the record), else the
 * thread its tid has so far if that one had no start, else a new one (the
 * tid was reused). */
static bool thread_start(struct trace_file *f, int32_t tid, uint32_t slot, uint32_t *out)
{
	uint64_t *s = u64map_get(f->slots, slot);
	if (s && *s < f->nthreads && f->threads[*s].tid == tid) {
		uint64_t *cur = u64map_put(f->tids, (uint32_t)tid, NULL);
		if (!cur)
			return false;
		*cur = *s;
		*out = (uint32_t)*s;
		return true;
	}
	uint64_t *cur = u64map_get(f->tids, (uint32_t)tid);
	uint32_t i;
	if (cur && *cur < f->nthreads && !f->threads[*cur].started &&
	    f->threads[*cur].slot == UINT32_MAX) {
		i = (uint32_t)*cur;
	} else {
		int64_t n = new_thread(f, tid);
		if (n < 0)
			return false;
		i = (uint32_t)n;
		cur = u64map_put(f->tids, (uint32_t)tid, NULL);
		if (!cur)
			return false;
		*cur = i;
	}
	uint64_t *sv = u64map_put(f->slots, slot, NULL);
	if (!sv)
		return false;
	*sv = i;
	f->threads[i].slot = slot;
	*out = i;
	return true;
}

static void thread_block(trace_reader *self, struct trace_file *f, int32_t tid,
			 const struct mt_tb_thread *r)
{
	uint32_t i;
	if (r->what == MT_THREAD_START) {
		if (!thread_start(f, tid, r->slot, &i))
			return;
		struct trace_thread *t = &f->threads[i];
		/* the writer numbers a thread's blocks afresh after each start
		 * record */
		for (uint64_t nested = 0; nested < 2; nested++) {
			uint64_t *seq = u64map_get(f->seqs, (uint64_t)i * 2 + nested);
			if (seq)
				*seq = 0;
		}
		if (!t->started) {
			t->started = true;
			t->start_ns = r->time_ns;
		}
		if (!t->name[0])
			set_name(t, r->name);
		note_time(f, r->time_ns);
		return;
	}
	if (r->what != MT_THREAD_EXIT) {
		warn(self, "%s: thread record of tid %d with unknown kind %u: skipped", f->path, tid,
		     r->what);
		return;
	}
	if (!thread_of(f, tid, &i))
		return;
	struct trace_thread *t = &f->threads[i];
	t->exited = true;
	t->end_ns = r->time_ns;
	t->cpu_ns = r->cpu_ns;
	set_name(t, r->name);
	note_time(f, r->time_ns);
}

/*
 * A numbered block (MT_EVENTS_SEQ) against the numbers of its stream so
 * far: the next one is read; one further on is read, the blocks between
 * said to be missing; one already passed (a copy, or a block moved after
 * a later one) is not read, so that the figures are those of the blocks
 * in their order.  off: of the payload.
 */
static bool in_sequence(trace_reader *self, struct trace_file *f, uint32_t th, int32_t tid,
			uint64_t off, const struct mt_tb_events *e)
{
	bool nested = (e->flags & MT_EVENTS_NESTED) != 0;
	uint64_t *next = u64map_put(f->seqs, (uint64_t)th * 2 + nested, NULL);
	if (!next)
		return true;
	uint32_t got = (e->flags >> MT_EVENTS_SEQ_SHIFT) & MT_EVENTS_SEQ_MASK;
	uint32_t want = (uint32_t)*next & MT_EVENTS_SEQ_MASK;
	uint32_t ahead = (got - want) & MT_EVENTS_SEQ_MASK;
	unsigned long long at = (unsigned long long)(off - sizeof(struct mt_trace_block));
	const char *which = nested ? "signal-handler events" : "events";
	if (ahead == 0) {
		*next = want + 1;
		return true;
	}
	if (ahead < MT_EVENTS_SEQ_MASK / 2) {
		warn(self, "%s: event block at offset %llu (tid %d): number %u of the thread's %s, "
		     "%u expected: %u block%s before it missing", f->path, at, tid, got, which, want,
		     ahead, ahead == 1 ? "" : "s");
		f->blocks_missing += ahead;
		*next = (uint64_t)got + 1;
		return true;
	}
	warn(self, "%s: event block at offset %llu (tid %d): number %u of the thread's %s "
	     "again or out of order (%u expected): a copy or a moved block, its %u events not read",
	     f->path, at, tid, got, which, want, e->count);
	f->blocks_rejected++;
	return false;
}

static void events_block(trace_reader *self, struct trace_file *f, int32_t tid, uint64_t off,
			 const unsigned char *p, uint32_t size)
{
	struct mt_tb_events e;
	memcpy(&e, p, sizeof(e));
	uint32_t th;
	if (!thread_of(f, tid, &th))
		return;
	if ((e.flags & MT_EVENTS_SEQ) && !in_sequence(self, f, th, tid, off, &e))
		return;
	if (f->nev == f->ev_cap) {
		size_t cap = f->ev_cap ? f->ev_cap * 2 : 64;
		struct trace_block_ref *x = realloc(f->ev, cap * sizeof(*x));
		if (!x) {
			warn(self, "%s: out of memory at offset %llu: events after it are not read",
			     f->path, (unsigned long long)off);
			return;
		}
		f->ev = x;
		f->ev_cap = cap;
	}
	f->ev[f->nev++] = (struct trace_block_ref){
		.offset = off, .size = size, .thread = th, .count = e.count,
		.nested = (e.flags & MT_EVENTS_NESTED) != 0, .base_ticks = e.base_ticks,
	};
	f->events_declared += e.count;
	f->event_bytes += size;
}

/* "key=value" strings after the session's command line. */
static void session_extras(struct trace_file *f, const char *p, const char *end)
{
	while (p < end) {
		const char *z = memchr(p, '\0', (size_t)(end - p));
		if (!z)
			break;
		char **dst = NULL;
		size_t skip = 0;
		if (strncmp(p, "end=", 4) == 0) {
			dst = &f->end_description;
			skip = 4;
		} else if (strncmp(p, "sampling=", 9) == 0) {
			dst = &f->sampling;
			skip = 9;
		}
		if (dst) {
			free(*dst);
			*dst = strdup(p + skip);
		}
		p = z + 1;
	}
}

static void handle_block(trace_reader *self, struct tfile *tf, const struct mt_trace_block *b,
			 uint64_t off, const unsigned char *p, const struct trace_visitor *v)
{
	struct trace_file *f = &tf->pub;
	size_t need = 0;
	switch (b->type) {
	case MT_TB_THREAD: need = sizeof(struct mt_tb_thread); break;
	case MT_TB_EVENTS: need = sizeof(struct mt_tb_events); break;
	case MT_TB_STACK: need = sizeof(struct mt_tb_stack); break;
	case MT_TB_MODULE: need = sizeof(struct mt_tb_module) + 1; break;
	case MT_TB_CLOCK: need = sizeof(struct mt_tb_clock); break;
	case MT_TB_METRICS: need = sizeof(struct mt_tb_metrics); break;
	case MT_TB_END: need = sizeof(struct mt_tb_end); break;
	case MT_TB_SESSION: need = sizeof(struct mt_tb_session) + 1; break;
	default:
		return;  /* a later version's block: skipped by its size */
	}
	if (b->size < need) {
		warn(self, "%s: %s block at offset %llu too short (%u bytes, needs %zu): skipped",
		     f->path, block_name(b->type), (unsigned long long)off, b->size, need);
		return;
	}
	switch (b->type) {
	case MT_TB_THREAD: {
		struct mt_tb_thread t;
		memcpy(&t, p, sizeof(t));
		thread_block(self, f, b->tid, &t);
		break;
	}
	case MT_TB_EVENTS:
		events_block(self, f, b->tid, off + sizeof(*b), p, b->size);
		break;
	case MT_TB_STACK: {
		struct mt_tb_stack s;
		memcpy(&s, p, sizeof(s));
		if (s.depth > (b->size - sizeof(s)) / sizeof(uint64_t)) {
			warn(self, "%s: stack block at offset %llu: depth %u does not fit its %u bytes: "
			     "skipped", f->path, (unsigned long long)off, s.depth, b->size);
			break;
		}
		if (!v || !v->stack)
			break;
		uint64_t *frames = malloc((s.depth ? s.depth : 1) * sizeof(*frames));
		if (!frames)
			break;
		memcpy(frames, p + sizeof(s), s.depth * sizeof(*frames));
		v->stack(v->ctx, f, s.id, s.flags, frames, s.depth);
		free(frames);
		break;
	}
	case MT_TB_MODULE: {
		struct mt_tb_module m;
		memcpy(&m, p, sizeof(m));
		const char *path = (const char *)p + sizeof(m);
		if (!memchr(path, '\0', b->size - sizeof(m))) {
			warn(self, "%s: module block at offset %llu: path not terminated: skipped",
			     f->path, (unsigned long long)off);
			break;
		}
		if (v && v->module)
			v->module(v->ctx, f, &m, path);
		break;
	}
	case MT_TB_CLOCK: {
		struct mt_tb_clock c;
		memcpy(&c, p, sizeof(c));
		add_clock(self, &c);
		note_time(f, c.realtime_ns);
		break;
	}
	case MT_TB_METRICS: {
		struct mt_tb_metrics m;
		memcpy(&m, p, sizeof(m));
		note_time(f, m.realtime_ns);
		if (v && v->metrics)
			v->metrics(v->ctx, f, &m);
		break;
	}
	case MT_TB_END:
		memcpy(&f->end, p, sizeof(f->end));
		f->has_end = true;
		note_time(f, f->end.realtime_ns);
		break;
	case MT_TB_SESSION: {
		memcpy(&f->session, p, sizeof(f->session));
		const char *cmd = (const char *)p + sizeof(f->session);
		const char *end = (const char *)p + b->size;
		const char *z = memchr(cmd, '\0', (size_t)(end - cmd));
		if (!z) {
			warn(self, "%s: session block at offset %llu: command line not terminated: "
			     "skipped", f->path, (unsigned long long)off);
			break;
		}
		f->has_session = true;
		free(f->command);
		f->command = strdup(cmd);
		session_extras(f, z + 1, end);
		note_time(f, f->session.start_ns);
		note_time(f, f->session.end_ns);
		break;
	}
	}
}

/* Version 1's checksums, of several payloads at once: FNV-1a is one multiply after
 * another, each waiting for the last, so k blocks side by side keep the
 * multiplier busy k times as often. */
#define CHECK_BATCH 8
static void check_many(const unsigned char *const *p, const uint32_t *n, uint32_t *out, size_t k)
{
	uint32_t h[CHECK_BATCH];
	size_t common = SIZE_MAX;
	for (size_t i = 0; i < k; i++) {
		h[i] = 2166136261u;
		if (n[i] < common)
			common = n[i];
	}
	if (k == 0)
		return;
	for (size_t j = 0; j < common; j++)
		for (size_t i = 0; i < k; i++)
			h[i] = (h[i] ^ p[i][j]) * 16777619u;
	for (size_t i = 0; i < k; i++) {
		for (size_t j = common; j < n[i]; j++)
			h[i] = (h[i] ^ p[i][j]) * 16777619u;
		out[i] = h[i];
	}
}

/* Why the walk cannot go past a block header. */
enum header_trouble { HDR_OK, HDR_TORN_HEADER, HDR_UNREADABLE, HDR_HUGE, HDR_TORN_PAYLOAD };

static void header_warning(trace_reader *self, const struct trace_file *f, enum header_trouble t,
			   uint64_t off, const struct mt_trace_block *b, uint64_t size)
{
	uint64_t left = size - off;
	switch (t) {
	case HDR_TORN_HEADER:
		warn(self, "%s: torn last block at offset %llu (%llu of %zu header bytes; "
		     "the writer was interrupted): the %llu blocks before it are read",
		     f->path, (unsigned long long)off, (unsigned long long)left,
		     sizeof(*b), (unsigned long long)f->blocks);
		break;
	case HDR_UNREADABLE:
		warn(self, "%s: cannot read at offset %llu: %s", f->path, (unsigned long long)off,
		     strerror(errno ? errno : EIO));
		break;
	case HDR_HUGE:
		warn(self, "%s: damaged block header at offset %llu (type %u, payload size %u): "
		     "reading stops there, %llu bytes not read", f->path, (unsigned long long)off,
		     b->type, b->size, (unsigned long long)left);
		break;
	case HDR_TORN_PAYLOAD:
		warn(self, "%s: torn last block at offset %llu (%s, %llu of %u payload bytes; "
		     "the writer was interrupted): the %llu blocks before it are read",
		     f->path, (unsigned long long)off, block_name(b->type),
		     (unsigned long long)(left - sizeof(*b)), b->size, (unsigned long long)f->blocks);
		break;
	case HDR_OK:
		break;
	}
}

static void scan_file(trace_reader *self, struct tfile *tf, const struct trace_visitor *v)
{
	struct trace_file *f = &tf->pub;
	uint64_t size = tf->src.size, off = f->hdr.header_size;
	note_time(f, f->hdr.start_ns);
	/* A batch: the headers of up to CHECK_BATCH blocks within one window,
	 * then their checksums together, then the blocks in order.  Every
	 * turn moves off forward by at least a block header, or stops. */
	while (off < size) {
		struct mt_trace_block b[CHECK_BATCH], hb;
		uint64_t at[CHECK_BATCH], o = off;
		size_t k = 0;
		enum header_trouble trouble = HDR_OK;
		while (k < CHECK_BATCH && o < size) {
			const unsigned char *h = src_get(&tf->src, o, sizeof(hb));
			if (!h) {
				trouble = size - o < sizeof(hb) ? HDR_TORN_HEADER : HDR_UNREADABLE;
				break;
			}
			memcpy(&hb, h, sizeof(hb));
			if (hb.size > TRACE_MAX_BLOCK) {
				trouble = HDR_HUGE;
				break;
			}
			if (hb.size > size - o - sizeof(hb)) {
				trouble = HDR_TORN_PAYLOAD;
				break;
			}
			if (k > 0 && o + sizeof(hb) + hb.size - off > WINDOW_SIZE)
				break;
			b[k] = hb;
			at[k++] = o;
			o += sizeof(hb) + hb.size;
		}
		const unsigned char *base = k ? src_get(&tf->src, off, o - off) : NULL;
		if (k && !base) {
			warn(self, "%s: cannot read %llu bytes at offset %llu", f->path,
			     (unsigned long long)(o - off), (unsigned long long)off);
			f->stopped = true;
			break;
		}
		const unsigned char *payload[CHECK_BATCH];
		uint32_t len[CHECK_BATCH], sum[CHECK_BATCH];
		for (size_t i = 0; i < k; i++) {
			payload[i] = base + (at[i] - off) + sizeof(hb);
			len[i] = b[i].size;
		}
		if (f->hdr.version == 1)
			check_many(payload, len, sum, k);
		else
			for (size_t i = 0; i < k; i++)
				sum[i] = mt_trace_check(payload[i], len[i]);
		for (size_t i = 0; i < k; i++) {
			if (sum[i] != b[i].check) {
				warn(self, "%s: damaged block at offset %llu (%s, %u bytes: checksum "
				     "mismatch): reading stops there, %llu bytes not read", f->path,
				     (unsigned long long)at[i], block_name(b[i].type), b[i].size,
				     (unsigned long long)(size - at[i]));
				f->stopped = true;
				off = at[i];
				goto done;
			}
			handle_block(self, tf, &b[i], at[i], payload[i], v);
			f->blocks++;
		}
		off = o;
		if (trouble != HDR_OK) {
			header_warning(self, f, trouble, off, &hb, size);
			f->stopped = true;
			break;
		}
	}
done:
	f->read_end = off;
	/* Undamaged, ended: the end record's count must be the blocks'. */
	if (f->has_end && !f->stopped && f->end.events != f->events_declared) {
		warn(self, "%s: the end record counts %llu events written, its event blocks %llu: "
		     "blocks are missing or copied (the report counts the blocks read)", f->path,
		     (unsigned long long)f->end.events, (unsigned long long)f->events_declared);
		f->end_mismatch = true;
	}
	/* The window is pass 1's only. */
	free(tf->src.win);
	tf->src.win = NULL;
	tf->src.wcap = tf->src.wlen = 0;
}

void trace_reader_scan(trace_reader *self, const struct trace_visitor *v)
{
	self->v = v;
	for (size_t i = 0; i < self->nfiles; i++)
		if (self->files[i]->pub.usable)
			scan_file(self, self->files[i], v);
	sort_clocks(self);
	/* Event blocks carry their start time: the span includes them. */
	for (size_t i = 0; i < self->nfiles; i++) {
		struct trace_file *f = &self->files[i]->pub;
		for (size_t k = 0; k < f->nev; k++)
			note_time(f, convert(self->clocks, self->nclocks, self->hz, &self->seg,
					     f->ev[k].base_ticks));
	}
	self->v = NULL;
}

/* ---------------------------------------------------------------- pass 2 */

/* One thread's stream of events (its main or its nested blocks). */
struct cursor {
	size_t *blocks;               /* indexes into ev[], in file order */
	size_t n, next;
	unsigned char *buf;
	size_t cap;
	const unsigned char *p, *end;
	uint64_t block_off;
	uint32_t left, count;
	uint64_t ticks, prev;
	struct trace_event ev;        /* the next event, when have */
	bool have;
	bool version1;                /* every event has its dt, pointer deltas
				       * and usable sizes are plain (zigzag) */
	bool version3;                /* usable sizes may be left out */
	struct mt_ucache uc;          /* version 3: the block's allocations */
};

/*
 * The blocks live in the replay so far, by address: what orders a free
 * after the allocation it frees (see merge_events).  Open addressing,
 * linear probing, deletion by moving entries back; 0 marks an empty cell
 * (address 0 is never tracked).
 */
struct liveset {
	uint64_t *k;
	size_t mask, n;               /* mask: cells - 1 */
	size_t limit;                 /* n that makes it grow: half the cells */
	unsigned shift;               /* 64 - log2(cells) */
	bool oom;                     /* it could not grow: tracking stopped */
};

/* Fibonacci hashing: the top bits of the product depend on every bit of
 * the address, the always-zero low ones included. */
static inline size_t live_slot(const struct liveset *l, uint64_t p)
{
	return (size_t)((p * 0x9E3779B97F4A7C15ull) >> l->shift);
}

static bool live_grow(struct liveset *l)
{
	size_t cells = l->k ? (l->mask + 1) * 2 : 1024;
	uint64_t *k = calloc(cells, sizeof(*k));
	if (!k) {
		l->oom = true;
		return false;
	}
	struct liveset g = { k, cells - 1, l->n, cells / 2,
			     (unsigned)(64 - __builtin_ctzll(cells)), false };
	for (size_t i = 0; l->k && i <= l->mask; i++) {
		if (!l->k[i])
			continue;
		size_t j = live_slot(&g, l->k[i]);
		while (k[j])
			j = (j + 1) & g.mask;
		k[j] = l->k[i];
	}
	free(l->k);
	*l = g;
	return true;
}

static inline bool live_has(const struct liveset *l, uint64_t p)
{
	if (!l->k)
		return false;
	for (size_t i = live_slot(l, p);; i = (i + 1) & l->mask) {
		if (l->k[i] == p)
			return true;
		if (!l->k[i])
			return false;
	}
}

/* Adds p: false if it was there already. */
static inline bool live_add(struct liveset *l, uint64_t p)
{
	if (l->n >= l->limit && !live_grow(l))
		return true;
	size_t i = live_slot(l, p);
	for (; l->k[i]; i = (i + 1) & l->mask)
		if (l->k[i] == p)
			return false;
	l->k[i] = p;
	l->n++;
	return true;
}

/* Removes p: false if it was not there. */
static inline bool live_remove(struct liveset *l, uint64_t p)
{
	if (!l->k)
		return false;
	size_t i = live_slot(l, p);
	for (; l->k[i] != p; i = (i + 1) & l->mask)
		if (!l->k[i])
			return false;
	/* move back the entries after it that probed past i */
	for (size_t j = (i + 1) & l->mask; l->k[j]; j = (j + 1) & l->mask) {
		size_t home = live_slot(l, l->k[j]);
		if (((j - home) & l->mask) >= ((j - i) & l->mask)) {
			l->k[i] = l->k[j];
			i = j;
		}
	}
	l->k[i] = 0;
	l->n--;
	return true;
}

struct merge {
	trace_reader *r;
	struct tfile *tf;
	const struct trace_visitor *v;
	struct cursor **heap;         /* the streams with events left, earliest first */
	size_t n;
	/* streams whose next event waits for another stream's (merge_events) */
	struct cursor **blocked;
	size_t nblocked;
	uint64_t window;              /* ticks a stream waits at most */
	struct liveset live;
};

static bool load_block(struct merge *m, struct cursor *c)
{
	struct trace_file *f = &m->tf->pub;
	while (c->next < c->n) {
		const struct trace_block_ref *ref = &f->ev[c->blocks[c->next++]];
		const unsigned char *payload;
		if (m->tf->src.fd < 0) {
			payload = m->tf->src.mem + ref->offset;
		} else {
			if (ref->size > c->cap) {
				unsigned char *b = realloc(c->buf, ref->size);
				if (!b)
					continue;
				c->buf = b;
				c->cap = ref->size;
			}
			if (src_copy(&m->tf->src, ref->offset, c->buf, ref->size) != 0) {
				warn(m->r, "%s: cannot read the event block at offset %llu again: skipped",
				     f->path, (unsigned long long)ref->offset - sizeof(struct mt_trace_block));
				f->events_skipped += ref->count;
				continue;
			}
			payload = c->buf;
		}
		c->p = payload + sizeof(struct mt_tb_events);
		c->end = payload + ref->size;
		c->left = c->count = ref->count;
		c->ticks = ref->base_ticks;
		c->prev = 0;
		if (c->version3)
			memset(&c->uc, 0, sizeof(c->uc));
		c->block_off = ref->offset - sizeof(struct mt_trace_block);
		c->ev.thread = ref->thread;
		c->ev.nested = ref->nested;
		if (c->left)
			return true;
	}
	return false;
}

/* mt_get_varint with the one-byte case (most deltas and sizes) inline. */
static inline int varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	if (*p < end && !(**p & 0x80)) {
		*v = *(*p)++;
		return 0;
	}
	return mt_get_varint(p, end, v);
}

/* mt_get_pvarint (version 3), the one-byte case inline. */
static inline int pvarint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	if (*p < end && !(**p & 1)) {
		*v = (uint64_t)(*(*p)++ >> 1);
		return 0;
	}
	return mt_get_pvarint(p, end, v);
}

static inline uint64_t ptr_delta(const struct cursor *c, uint64_t code)
{
	return (uint64_t)(c->version1 ? mt_unzigzag(code) : mt_ptr_delta(code));
}

static inline uint64_t usable_of(const struct cursor *c, uint64_t code)
{
	return c->version1 ? code : mt_usable_size(code);
}

static inline __attribute__((always_inline)) int decode3(struct cursor *c, unsigned char opb);

/* An event's time, and its fields cleared for the op to fill in. */
static inline void event_begin(struct cursor *c, uint64_t dt)
{
	struct trace_event *e = &c->ev;
	c->ticks += dt;
	e->ticks = c->ticks;
	e->ptr = e->new_ptr = e->size = e->usable = e->old_usable = e->align = 0;
	e->stack_id = 0;
	e->weight = 0;
}
static inline __attribute__((always_inline)) int sample_of(struct cursor *c);

/* Decode one event at c->p: 0, or -1 if it does not decode. */
static int decode(struct cursor *c)
{
	const unsigned char **p = &c->p, *end = c->end;
	struct trace_event *e = &c->ev;
	uint64_t dt, a, b, x;
	if (*p >= end)
		return -1;
	unsigned char opb = *(*p)++;
	if (c->version3)
		return decode3(c, opb);
	e->op = opb & MT_EV_OP_MASK;
	e->flags = opb & (unsigned char)~(MT_EV_OP_MASK | MT_EVF_TIME);
	dt = 0;
	if ((c->version1 || (opb & MT_EVF_TIME)) && varint(p, end, &dt))
		return -1;
	event_begin(c, dt);
	switch (e->op) {
	case MT_EV_ALLOC:
		if (varint(p, end, &a) || varint(p, end, &e->size) ||
		    varint(p, end, &x))
			return -1;
		e->ptr = c->prev + ptr_delta(c, a);
		e->usable = e->size + x;
		if ((e->flags & MT_EVF_ALIGN) && varint(p, end, &e->align))
			return -1;
		c->prev = e->ptr;
		break;
	case MT_EV_FREE:
		if (varint(p, end, &a) || varint(p, end, &x))
			return -1;
		e->usable = usable_of(c, x);
		e->ptr = c->prev + ptr_delta(c, a);
		c->prev = e->ptr;
		break;
	case MT_EV_REALLOC:
		if (varint(p, end, &a) || varint(p, end, &b) ||
		    varint(p, end, &e->size) || varint(p, end, &x) ||
		    varint(p, end, &e->old_usable))
			return -1;
		e->old_usable = usable_of(c, e->old_usable);
		e->ptr = c->prev + ptr_delta(c, a);
		e->new_ptr = e->ptr + ptr_delta(c, b);
		e->usable = e->size + x;
		c->prev = e->new_ptr;
		break;
	case MT_EV_REALLOC_FREE:
		if (varint(p, end, &a) || varint(p, end, &e->old_usable))
			return -1;
		e->old_usable = usable_of(c, e->old_usable);
		e->ptr = c->prev + ptr_delta(c, a);
		c->prev = e->ptr;
		break;
	case MT_EV_FAILED:
		/* MT_EVF_ALIGN may be set on a failure, but no alignment follows. */
		if (varint(p, end, &e->size))
			return -1;
		break;
	default:
		return -1;
	}
	return sample_of(c);
}

/* Version 3 (trace_format.h): usable sizes may be implied, and the block's
 * table of allocations is kept as the writer kept it. */
static inline __attribute__((always_inline)) int decode3(struct cursor *c, unsigned char opb)
{
	const unsigned char **p = &c->p, *end = c->end;
	struct trace_event *e = &c->ev;
	uint64_t dt = 0, a, b, x = 0, cached = 0;
	bool implied = (opb & MT_EVF_IMPLIED) != 0;
	e->op = opb & MT_EV_OP_MASK3;
	e->flags = opb & (unsigned char)~(MT_EV_OP_MASK3 | MT_EVF_IMPLIED | MT_EVF_TIME);
	if ((opb & MT_EVF_TIME) && pvarint(p, end, &dt))
		return -1;
	event_begin(c, dt);
	switch (e->op) {
	case MT_EV_ALLOC:
		if (pvarint(p, end, &a) || pvarint(p, end, &e->size) ||
		    (!implied && pvarint(p, end, &x)))
			return -1;
		e->ptr = c->prev + mt_ptr_delta(a);
		e->usable = implied ? mt_std_usable(e->size) : e->size + x;
		if ((e->flags & MT_EVF_ALIGN) && pvarint(p, end, &e->align))
			return -1;
		mt_ucache_put(&c->uc, e->ptr, e->usable);
		c->prev = e->ptr;
		break;
	case MT_EV_FREE:
		if (pvarint(p, end, &a) || (!implied && pvarint(p, end, &x)))
			return -1;
		e->ptr = c->prev + mt_ptr_delta(a);
		bool known = mt_ucache_take(&c->uc, e->ptr, &cached);
		if (implied && !known)
			return -1;
		e->usable = implied ? cached : mt_usable_size(x);
		c->prev = e->ptr;
		break;
	case MT_EV_REALLOC:
		if (pvarint(p, end, &a) || pvarint(p, end, &b) || pvarint(p, end, &e->size) ||
		    (!implied && pvarint(p, end, &x)) || pvarint(p, end, &e->old_usable))
			return -1;
		e->old_usable = mt_usable_size(e->old_usable);
		e->ptr = c->prev + mt_ptr_delta(a);
		e->new_ptr = e->ptr + mt_ptr_delta(b);
		e->usable = implied ? mt_std_usable(e->size) : e->size + x;
		mt_ucache_take(&c->uc, e->ptr, &cached);
		mt_ucache_put(&c->uc, e->new_ptr, e->usable);
		c->prev = e->new_ptr;
		break;
	case MT_EV_REALLOC_FREE:
		if (implied || pvarint(p, end, &a) || pvarint(p, end, &e->old_usable))
			return -1;
		e->old_usable = mt_usable_size(e->old_usable);
		e->ptr = c->prev + mt_ptr_delta(a);
		mt_ucache_take(&c->uc, e->ptr, &cached);
		c->prev = e->ptr;
		break;
	case MT_EV_FAILED:
		if (implied || pvarint(p, end, &e->size))
			return -1;
		break;
	default:
		return -1;
	}
	return sample_of(c);
}

/* The sample that may follow an event. */
static inline __attribute__((always_inline)) int sample_of(struct cursor *c)
{
	struct trace_event *e = &c->ev;
	if (e->flags & MT_EVF_SAMPLED) {
		uint64_t id;
		int bad = c->version3
			? pvarint(&c->p, c->end, &id) || pvarint(&c->p, c->end, &e->weight)
			: varint(&c->p, c->end, &id) || varint(&c->p, c->end, &e->weight);
		if (bad || id > UINT32_MAX)
			return -1;
		e->stack_id = (uint32_t)id;
	}
	return 0;
}

static bool advance(struct merge *m, struct cursor *c)
{
	struct trace_file *f = &m->tf->pub;
	for (;;) {
		if (c->left == 0 && !load_block(m, c))
			return c->have = false;
		if (decode(c) == 0) {
			c->left--;
			return c->have = true;
		}
		warn(m->r, "%s: event block at offset %llu (tid %d): event %u of %u does not decode: "
		     "the rest of the block is skipped", f->path, (unsigned long long)c->block_off,
		     f->threads[c->ev.thread].tid, c->count - c->left + 1, c->count);
		f->events_skipped += c->left;
		c->left = 0;
	}
}

static bool before(const struct cursor *a, const struct cursor *b)
{
	if (a->ev.ticks != b->ev.ticks)
		return a->ev.ticks < b->ev.ticks;
	return a->block_off < b->block_off;
}

static void sift_down(struct cursor **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && before(h[l], h[m]))
			m = l;
		if (r < n && before(h[r], h[m]))
			m = r;
		if (m == i)
			return;
		struct cursor *t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void heap_push(struct merge *m, struct cursor *c)
{
	size_t i = m->n++;
	m->heap[i] = c;
	while (i > 0 && before(m->heap[i], m->heap[(i - 1) / 2])) {
		struct cursor *t = m->heap[i];
		m->heap[i] = m->heap[(i - 1) / 2];
		m->heap[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

typedef void (*emit_fn)(void *ctx, const struct trace_event *e);

/*
 * Whether an event may come now, in causal order: a free (or realloc) of
 * a block that is live, an allocation at an address that is not; if so,
 * the live set is updated as the event says.  Event times alone cannot
 * order the calls of different threads: a tick of the coarse clock holds
 * thousands of them, and a thread that read the clock itself instead of
 * the clock page may be ahead of one that read the page (trace.h).
 */
static inline __attribute__((always_inline)) bool
causal_apply(struct liveset *l, const struct trace_event *e)
{
	if (l->oom)
		return true;
	switch (e->op) {
	case MT_EV_ALLOC:
		return !e->ptr || live_add(l, e->ptr);
	case MT_EV_FREE:
	case MT_EV_REALLOC_FREE:
		return !e->ptr || live_remove(l, e->ptr);
	case MT_EV_REALLOC:
		if (e->new_ptr == e->ptr)
			return !e->ptr || live_has(l, e->ptr);
		if ((e->new_ptr && live_has(l, e->new_ptr)) || (e->ptr && !live_remove(l, e->ptr)))
			return false;
		return !e->new_ptr || live_add(l, e->new_ptr);
	default:
		return true;
	}
}

/* An event that waited its longest, applied as far as it can be: a free
 * of a block allocated before the trace (or whose allocation was lost),
 * an allocation whose address's free was lost. */
static void causal_force(struct liveset *l, const struct trace_event *e)
{
	if (l->oom)
		return;
	if ((e->op == MT_EV_REALLOC || e->op == MT_EV_FREE || e->op == MT_EV_REALLOC_FREE) && e->ptr)
		live_remove(l, e->ptr);
	if (e->op == MT_EV_ALLOC && e->ptr)
		live_add(l, e->ptr);
	if (e->op == MT_EV_REALLOC && e->new_ptr)
		live_add(l, e->new_ptr);
}

/* causal_apply's test alone. */
static bool causal_ready(const struct liveset *l, const struct trace_event *e)
{
	if (l->oom)
		return true;
	switch (e->op) {
	case MT_EV_ALLOC:
		return !e->ptr || !live_has(l, e->ptr);
	case MT_EV_FREE:
	case MT_EV_REALLOC_FREE:
		return !e->ptr || live_has(l, e->ptr);
	case MT_EV_REALLOC:
		return (!e->ptr || live_has(l, e->ptr)) &&
		       (e->new_ptr == e->ptr || !e->new_ptr || !live_has(l, e->new_ptr));
	default:
		return true;
	}
}

/* Whether e changed the state of an address a blocked stream waits on. */
static inline bool wakes(const struct merge *m, const struct trace_event *e)
{
	for (size_t i = 0; i < m->nblocked; i++) {
		const struct trace_event *w = &m->blocked[i]->ev;
		if (w->ptr == e->ptr || w->ptr == e->new_ptr ||
		    (w->new_ptr && (w->new_ptr == e->ptr || w->new_ptr == e->new_ptr)))
			return true;
	}
	return false;
}

/* Blocked streams whose next event may come now go back to the heap. */
static void causal_wake(struct merge *m)
{
	for (size_t i = 0; i < m->nblocked;) {
		struct cursor *b = m->blocked[i];
		if (causal_ready(&m->live, &b->ev)) {
			m->blocked[i] = m->blocked[--m->nblocked];
			heap_push(m, b);
		} else {
			i++;
		}
	}
}

/* The earliest blocked stream if it waited past the window (or nothing
 * else is left), taken out of the blocked list; else NULL.  *deadline:
 * the time the earliest may wait until. */
static struct cursor *causal_timeout(struct merge *m, uint64_t *deadline)
{
	size_t e = 0;
	for (size_t i = 1; i < m->nblocked; i++)
		if (before(m->blocked[i], m->blocked[e]))
			e = i;
	struct cursor *b = m->blocked[e];
	*deadline = b->ev.ticks > UINT64_MAX - m->window ? UINT64_MAX : b->ev.ticks + m->window;
	if (m->n > 0 && m->heap[0]->ev.ticks <= *deadline)
		return NULL;
	m->blocked[e] = m->blocked[--m->nblocked];
	return b;
}

static inline __attribute__((always_inline)) void
emit_one(struct merge *m, struct tcache *tc, emit_fn emit, void *ctx, struct trace_event *e,
	 bool times)
{
	struct trace_file *f = &m->tf->pub;
	if (times)
		e->time_ns = clock_cached(m->r, tc, e->ticks);
	f->samples_seen |= e->weight != 0;
	f->events++;
	emit(ctx, e);
}

/*
 * The streams' events in time order, each to emit, in causal order where
 * the two differ: a stream whose next event frees a block not live yet
 * (its allocation is in another stream, not replayed yet), or allocates
 * at an address still live (its free is in another stream), waits while
 * the others go on, and goes on as soon as its event may come.  It waits
 * at most while the others' events are within the window of its own time
 * (or until nothing else is left): a block allocated before the trace
 * started, or an event lost, must not hold the replay up.
 */
/* times: the events' time_ns are set here, else by the receiving side
 * (piped) */
static inline __attribute__((always_inline)) void merge_events(struct merge *m, emit_fn emit,
								void *ctx, bool times)
{
	struct cursor **heap = m->heap;
	struct tcache tc = { 0 };
	while (m->n > 0 || m->nblocked > 0) {
		uint64_t deadline = UINT64_MAX;
		if (m->nblocked > 0) {
			struct cursor *b = causal_timeout(m, &deadline);
			if (b) {
				causal_force(&m->live, &b->ev);
				emit_one(m, &tc, emit, ctx, &b->ev, times);
				if (advance(m, b))
					heap_push(m, b);
				continue;
			}
		}
		struct cursor *c = heap[0];
		/* A run: the top stream's events up to the next stream's head
		 * (and within the wait of a blocked one) go out without
		 * touching the heap. */
		const struct cursor *next = m->n > 2 && before(heap[2], heap[1]) ? heap[2]
					  : m->n > 1 ? heap[1] : NULL;
		bool more = true, blocked = false, woke = false;
		do {
			struct trace_event *e = &c->ev;
			if (!causal_apply(&m->live, e)) {
				blocked = true;
				break;
			}
			emit_one(m, &tc, emit, ctx, e, times);
			woke = m->nblocked > 0 && wakes(m, e);
			more = advance(m, c);
		} while (more && !woke && (!next || !before(next, c)) && c->ev.ticks <= deadline);
		if (blocked) {
			m->blocked[m->nblocked++] = c;
			heap[0] = heap[--m->n];
		} else if (!more) {
			heap[0] = heap[--m->n];
		}
		sift_down(heap, m->n, 0);
		if (woke)
			causal_wake(m);
	}
}

static void direct_emit(void *ctx, const struct trace_event *e)
{
	struct merge *m = ctx;
	if (m->v && m->v->event)
		m->v->event(m->v->ctx, &m->tf->pub, e);
}

/* merge_events with the visitor called in this thread. */
static void merge_direct(struct merge *m)
{
	merge_events(m, direct_emit, m, true);
}

/*
 * Decoding and merging in a thread of their own while the visitor's event
 * callback runs in the caller's: on two cores a replay takes the longer of
 * the two instead of their sum.  Events go across in batches through a
 * ring; each side waits only when the ring is full or empty.
 */
#define PIPE_MIN_EVENTS 200000
#define PIPE_BATCH      (512 * sizeof(struct trace_event))   /* bytes */
#define PIPE_BATCHES    8

/*
 * What crosses from one core to the other is most of a replay's cost, so
 * the common events (allocations and frees, not sampled, not aligned,
 * sizes below 4 GiB) go as 32-byte records, their times converted on the
 * receiving side; any other event as such a record marked full, followed
 * by the whole struct trace_event (96 bytes).
 */
struct pipe_rec {
	uint64_t ticks, time_ns, ptr;
	uint32_t size, usable;
	uint32_t thread;
	uint8_t op, flags, nested, full;
};

_Static_assert(sizeof(struct pipe_rec) == 40 && sizeof(struct trace_event) % 8 == 0,
	       "records stay 8-byte aligned");

/*
 * The producer writes cur and fill on every event, so they have a cache
 * line to themselves: when they shared one with the consumer's variables
 * on its stack (a matter of where ASLR put the stack, to 16 bytes), one
 * run in three spent 1.7 times the CPU time bouncing that line.
 */
struct pipe {
	struct merge *m;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned char *ev;            /* PIPE_BATCHES batches of PIPE_BATCH bytes */
	size_t n[PIPE_BATCHES];       /* bytes filled */
	uint64_t head, tail;          /* batches filled, batches taken */
	bool done;
	_Alignas(64) unsigned char *cur;  /* producer: the batch being filled */
	size_t fill;
	_Alignas(64) char end[1];     /* nothing else on cur's line */
};

_Static_assert(offsetof(struct pipe, end) - offsetof(struct pipe, cur) == 64,
	       "the producer's cursor alone on its cache line");

static void pipe_publish(struct pipe *p)
{
	pthread_mutex_lock(&p->lock);
	p->n[p->head % PIPE_BATCHES] = p->fill;
	p->head++;
	pthread_cond_broadcast(&p->cond);
	while (p->head - p->tail >= PIPE_BATCHES)
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
	p->cur = p->ev + (p->head % PIPE_BATCHES) * PIPE_BATCH;
	p->fill = 0;
}

static inline __attribute__((always_inline)) void pipe_emit(void *ctx,
							     const struct trace_event *e)
{
	struct pipe *p = ctx;
	if (p->fill + sizeof(struct pipe_rec) + sizeof(*e) > PIPE_BATCH)
		pipe_publish(p);
	struct pipe_rec *r = (struct pipe_rec *)(p->cur + p->fill);
	/* one test of all the fields a short record has no room for */
	uint64_t extra = e->weight | e->align | e->new_ptr | e->old_usable | e->stack_id |
			 ((e->size | e->usable) >> 32) | (e->flags & MT_EVF_ALIGN);
	bool full = (e->op != MT_EV_ALLOC && e->op != MT_EV_FREE) | (extra != 0);
	r->ticks = e->ticks;
	r->time_ns = e->time_ns;
	r->ptr = e->ptr;
	r->size = (uint32_t)e->size;
	r->usable = (uint32_t)e->usable;
	r->thread = e->thread;
	r->op = e->op;
	r->flags = e->flags;
	r->nested = e->nested;
	r->full = full;
	p->fill += sizeof(*r);
	if (full) {
		memcpy(p->cur + p->fill, e, sizeof(*e));
		p->fill += sizeof(*e);
	}
}

static void *pipe_producer(void *arg)
{
	struct pipe *p = arg;
	/* pipe_emit inlined: a call per event is a tenth of this side's work;
	 * the times are the receiving side's, which has less to do */
	merge_events(p->m, pipe_emit, p, true);
	if (p->fill)
		pipe_publish(p);
	pthread_mutex_lock(&p->lock);
	p->done = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void piped(struct merge *m)
{
	struct pipe p = { .m = m };
	p.ev = malloc((size_t)PIPE_BATCHES * PIPE_BATCH);
	pthread_t th;
	if (!p.ev) {
		merge_direct(m);
		return;
	}
	p.cur = p.ev;
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond, NULL);
	const struct trace_visitor *v = m->v;
	trace_reader *r = m->r;
	/* The producer's warnings are passed on from here, afterwards. */
	size_t first_warning = r->nwarnings;
	r->v = NULL;
	if (pthread_create(&th, NULL, pipe_producer, &p) != 0) {
		r->v = v;
		merge_direct(m);
	} else {
		const struct trace_file *f = &m->tf->pub;
		for (;;) {
			pthread_mutex_lock(&p.lock);
			while (p.tail == p.head && !p.done)
				pthread_cond_wait(&p.cond, &p.lock);
			bool empty = p.tail == p.head;
			pthread_mutex_unlock(&p.lock);
			if (empty)
				break;
			const unsigned char *b = p.ev + (p.tail % PIPE_BATCHES) * PIPE_BATCH;
			const unsigned char *end = b + p.n[p.tail % PIPE_BATCHES];
			struct trace_event ev;
			memset(&ev, 0, sizeof(ev));
			while (b < end) {
				const struct pipe_rec *rec = (const struct pipe_rec *)b;
				b += sizeof(*rec);
				if (rec->full) {
					struct trace_event whole;
					memcpy(&whole, b, sizeof(whole));
					b += sizeof(whole);
					v->event(v->ctx, f, &whole);
					continue;
				}
				ev.ticks = rec->ticks;
				ev.time_ns = rec->time_ns;
				ev.ptr = rec->ptr;
				ev.size = rec->size;
				ev.usable = rec->usable;
				ev.thread = rec->thread;
				ev.op = rec->op;
				ev.flags = rec->flags;
				ev.nested = rec->nested;
				v->event(v->ctx, f, &ev);
			}
			pthread_mutex_lock(&p.lock);
			p.tail++;
			pthread_cond_broadcast(&p.cond);
			pthread_mutex_unlock(&p.lock);
		}
		pthread_join(th, NULL);
		r->v = v;
		for (size_t k = first_warning; v->warning && k < r->nwarnings; k++)
			v->warning(v->ctx, r->warnings[k]);
	}
	pthread_cond_destroy(&p.cond);
	pthread_mutex_destroy(&p.lock);
	free(p.ev);
}

void trace_reader_events(trace_reader *self, size_t i, const struct trace_visitor *v)
{
	if (i >= self->nfiles || !self->files[i]->pub.usable)
		return;
	struct tfile *tf = self->files[i];
	struct trace_file *f = &tf->pub;
	self->v = v;
	sort_clocks(self);
	f->events = 0;
	/* Streams: one per thread and nesting level. */
	struct u64map *ids = u64map_new();
	struct cursor *cs = NULL;
	size_t ncs = 0;
	size_t *order = f->nev ? malloc(f->nev * sizeof(*order)) : NULL;
	size_t *counts = NULL;
	bool oom = !ids || (f->nev && !order);
	for (size_t k = 0; !oom && k < f->nev; k++) {
		bool fresh;
		uint64_t *s = u64map_put(ids, (uint64_t)f->ev[k].thread * 2 + f->ev[k].nested, &fresh);
		if (!s) {
			oom = true;
			break;
		}
		if (fresh) {
			*s = ncs++;
			size_t *c = realloc(counts, ncs * sizeof(*c));
			if (!c) {
				oom = true;
				break;
			}
			counts = c;
			counts[ncs - 1] = 0;
		}
		counts[*s]++;
		order[k] = (size_t)*s;
	}
	if (!oom && ncs) {
		cs = calloc(ncs, sizeof(*cs));
		oom = !cs;
		for (size_t s = 0; !oom && s < ncs; s++) {
			cs[s].version1 = f->hdr.version == 1;
			cs[s].version3 = f->hdr.version >= 3;
			oom = !(cs[s].blocks = malloc(counts[s] * sizeof(size_t)));
		}
		for (size_t k = 0; !oom && k < f->nev; k++)
			cs[order[k]].blocks[cs[order[k]].n++] = k;
	}
	/* the heap, then the blocked streams (merge_events) */
	struct cursor **heap = !oom && ncs ? malloc(2 * ncs * sizeof(*heap)) : NULL;
	if (oom || (ncs && !heap)) {
		warn(self, "%s: out of memory: its events are not read", f->path);
		ncs = cs ? ncs : 0;
	} else {
		struct merge m = { self, tf, v, heap, 0, heap ? heap + ncs : NULL, 0, 0, { 0 } };
		/* the clocks of two threads differ by up to the clock page's
		 * slack (trace.h), and their ticks by one kernel tick: a
		 * stream waits up to four times that */
		uint64_t hz = self->hz ? self->hz : 1000000000u;
		m.window = (uint64_t)((double)hz * 4 * (double)MT_CLOCK_SLACK_NS / 1e9);
		for (size_t s = 0; s < ncs; s++)
			if (advance(&m, &cs[s]))
				heap[m.n++] = &cs[s];
		for (size_t k = m.n; k-- > 0;)
			sift_down(heap, m.n, k);
		if (v && v->event && f->events_declared >= PIPE_MIN_EVENTS)
			piped(&m);
		else
			merge_direct(&m);
		if (m.live.oom)
			warn(self, "%s: out of memory: some events replayed in time order only, "
			     "not after the calls they depend on", f->path);
		free(m.live.k);
	}
	for (size_t s = 0; cs && s < ncs; s++) {
		free(cs[s].blocks);
		free(cs[s].buf);
	}
	free(cs);
	free(heap);
	free(order);
	free(counts);
	u64map_free(ids);
	self->v = NULL;
}
