/*
 * session.c - sampling a watched process and deriving its figures.
 *
 * Threads are keyed by their collector slot, which is never reused while the
 * process lives, so a thread keeps its row after it exits.  /proc supplies
 * what the collector does not measure (names after renames, CPU, IO); once a
 * thread or the process is gone its last /proc figures are kept, and the
 * collector's own exit-time CPU figure wins when it has one.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "symbolize.h"

/* Frames expanded per stack (inlined calls add frames). */
#define STACK_FRAMES_MAX  (2 * MT_STACK_MAX_DEPTH)
/* Stacks kept, by bytes_est: process-wide, and per thread. */
#define SESSION_TOP_STACKS 64
#define SESSION_THREAD_STACKS 16

struct stack_entry {
	bool known;                  /* pcs read from a valid record */
	bool symbolized;
	bool truncated;
	uint32_t depth;              /* return addresses */
	uint64_t pcs[MT_STACK_MAX_DEPTH];
	size_t nframes;
	const char **frames;         /* owned by the symbolizer */
	size_t modules_seen;         /* modules known when symbolized */
	bool unresolved;             /* some frame had no module */
};

struct stack_cache {
	struct symbolizer *sym;
	uint32_t modules_added;      /* entries of the segment's module table */
	struct stack_entry *e;
	size_t n;
};

static struct stack_cache *stack_cache_new(void)
{
	struct stack_cache *c = calloc(1, sizeof(*c));
	if (c)
		c->sym = symbolizer_new();
	if (c && !c->sym) {
		free(c);
		return NULL;
	}
	return c;
}

static void stack_cache_free(struct stack_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->e[i].frames);
	free(c->e);
	symbolizer_free(c->sym);
	free(c);
}

static struct stack_entry *stack_cache_at(struct stack_cache *c, uint32_t id)
{
	if (id >= c->n) {
		size_t n = c->n ? c->n : 64;
		while (n <= id)
			n *= 2;
		struct stack_entry *e = realloc(c->e, n * sizeof(*e));
		if (!e)
			return NULL;
		memset(e + c->n, 0, (n - c->n) * sizeof(*e));
		c->e = e;
		c->n = n;
	}
	return &c->e[id];
}

/* An argument as a shell would need it: bare when it holds only
 * characters no shell treats specially, else in single quotes. */
static bool shell_safe(const char *a)
{
	if (!*a)
		return false;
	for (; *a; a++)
		if (!(isalnum((unsigned char)*a) || strchr("_@%+=:,./-", *a)))
			return false;
	return true;
}

size_t session_quote_argv(char *out, size_t len, char *const *argv)
{
	size_t n = 0;
	if (!len)
		return 0;
	out[0] = '\0';
	for (size_t i = 0; argv && argv[i]; i++) {
		const char *a = argv[i];
		bool bare = shell_safe(a);
		size_t w = strlen(a);
		if (!bare) {
			w += 2;                        /* the quotes */
			for (const char *c = a; *c; c++)
				w += *c == '\'' ? 3 : 0;  /* ' becomes '\'' */
		}
		if (n + (i ? 1 : 0) + w >= len)
			break;                         /* whole words only */
		if (i)
			out[n++] = ' ';
		if (bare) {
			memcpy(out + n, a, w);
			n += w;
		} else {
			out[n++] = '\'';
			for (; *a; a++) {
				if (*a == '\'') {
					memcpy(out + n, "'\\''", 4);
					n += 4;
				} else {
					out[n++] = *a;
				}
			}
			out[n++] = '\'';
		}
		out[n] = '\0';
	}
	return n;
}

/* The CPU time the process and its threads had used when the session
 * began: whole-session CPU % counts from there (an attached process may
 * have run for days before). */
static void read_cpu_base(struct session *self)
{
	struct proc_sample ps;
	if (procstat_read_process(self->procroot, self->pid, &ps) == 0 && ps.valid) {
		self->cpu_base.proc_s = (double)(ps.utime_ns + ps.stime_ns) / 1e9;
		self->cpu_base.proc_valid = true;
	}
	int *tids = NULL;
	size_t n = 0;
	if (procstat_list_threads(self->procroot, self->pid, &tids, &n) != 0 || n == 0)
		return;
	self->cpu_base.tid = tids;
	self->cpu_base.cpu_s = calloc(n, sizeof(double));
	if (!self->cpu_base.cpu_s)
		return;
	for (size_t i = 0; i < n; i++) {
		struct thread_sample ts;
		if (procstat_read_thread(self->procroot, self->pid, tids[i], &ts) == 0 && ts.valid)
			self->cpu_base.cpu_s[i] = (double)(ts.utime_ns + ts.stime_ns) / 1e9;
	}
	self->cpu_base.n = n;
}

double session_thread_cpu_base(const struct session *self, int tid)
{
	for (size_t i = 0; i < self->cpu_base.n; i++)
		if (self->cpu_base.tid[i] == tid)
			return self->cpu_base.cpu_s[i];
	return 0;
}

void session_init(struct session *self, int pid, char *const *argv, const char *procroot,
		  double now_s)
{
	memset(self, 0, sizeof(*self));
	self->pid = pid;
	self->procroot = procroot ? procroot : "/proc";
	self->start_s = now_s;
	self->last_s = now_s;
	self->proc_cpu_percent = NAN;
	self->sys_cpu_percent = NAN;
	self->exit_code = -1;
	self->seg_owner = -1;
	session_quote_argv(self->command, sizeof(self->command), argv);
	procstat_read_system(self->procroot, &self->prev_sys);
	self->first_sys = self->prev_sys;
	read_cpu_base(self);
}

void session_history_push(struct history *h, size_t cap, const struct history_point *p)
{
	if (!h->pts) {
		h->pts = calloc(cap, sizeof(*h->pts));
		if (!h->pts)
			return;
		h->cap = cap;
	}
	if (h->len < h->cap) {
		h->pts[(h->head + h->len) % h->cap] = *p;
		h->len++;
	} else {
		h->pts[h->head] = *p;
		h->head = (h->head + 1) % h->cap;
	}
}

void session_free(struct session *self)
{
	free(self->cpu_base.tid);
	free(self->cpu_base.cpu_s);
	memset(&self->cpu_base, 0, sizeof(self->cpu_base));
	for (size_t i = 0; i < self->nthreads; i++)
		free(self->threads[i].hist.pts);
	free(self->hist.pts);
	memset(&self->hist, 0, sizeof(self->hist));
	for (size_t i = 0; i < self->nthreads; i++)
		free(self->threads[i].top_stacks);
	free(self->top_stacks);
	self->top_stacks = NULL;
	self->ntop = 0;
	stack_cache_free(self->stacks);
	self->stacks = NULL;
	if (self->seg_open)
		shm_segment_close(&self->seg);
	self->seg_open = false;
	free(self->threads);
	self->threads = NULL;
	self->nthreads = 0;
	self->capacity = 0;
}

int session_open_segment(struct session *self, char *err, size_t errlen)
{
	if (self->seg_open)
		return 0;
	int r = self->seg_owner >= 0
		? shm_segment_open_owned(&self->seg, self->pid, (uid_t)self->seg_owner, err, errlen)
		: shm_segment_open(&self->seg, self->pid, err, errlen);
	if (r != 0)
		return -1;
	self->seg_open = true;
	self->collector_seen = true;
	self->attached = (__atomic_load_n(&self->seg.hdr->flags, __ATOMIC_ACQUIRE) &
			  MT_FLAG_ATTACHED) != 0;
	/* A short-lived process may be gone by the next update: record its
	 * modules now, while its maps can still be read. */
	if (!self->stacks)
		self->stacks = stack_cache_new();
	if (self->stacks)
		symbolizer_add_process_maps(self->stacks->sym, self->procroot, self->pid);
	return 0;
}

/* The collector's own record of its modules: complete even when the
 * process ended before memtop could read its maps. */
static void add_segment_modules(struct session *self)
{
	struct stack_cache *c = self->stacks;
	uint32_t n = shm_segment_module_count(&self->seg);
	for (; c->modules_added < n; c->modules_added++) {
		struct mt_module m;
		if (shm_segment_read_module(&self->seg, c->modules_added, &m) == 0)
			symbolizer_add_module(c->sym, m.path, m.start, m.end, m.offset);
	}
}

void session_check_collector(struct session *self)
{
	if (self->collector_seen || self->collector_mapped || !self->collector_path)
		return;
	self->collector_mapped =
		procstat_maps_file(self->procroot, self->pid, self->collector_path) == 1;
}

void session_missing_collector(const struct session *self, char *buf, size_t len)
{
	if (self->collector_mapped)
		snprintf(buf, len, "pid %d loaded the collector, which could not set up its "
			 "shared memory (its own message says why)", self->pid);
	else
		snprintf(buf, len, "pid %d has not loaded the collector after %.0f s (statically "
			 "linked, setuid, or LD_PRELOAD removed?)", self->pid,
			 SESSION_COLLECTOR_GRACE_S);
}

void session_tick(struct session *self)
{
	if (self->seg_open)
		shm_segment_tick(&self->seg);
}

const char *const *session_stack_frames(const struct session *self, uint32_t id,
					size_t *depth, bool *truncated)
{
	*depth = 0;
	*truncated = false;
	struct stack_cache *c = self->stacks;
	if (!c || id >= c->n || !c->e[id].known)
		return NULL;
	struct stack_entry *e = &c->e[id];
	/* A frame in no known module may be in one recorded since. */
	if (e->symbolized && e->unresolved && symbolizer_module_count(c->sym) != e->modules_seen) {
		free(e->frames);
		e->frames = NULL;
		e->symbolized = false;
	}
	if (!e->symbolized) {
		const char *buf[STACK_FRAMES_MAX];
		size_t n = 0;
		for (uint32_t i = 0; i < e->depth && n < STACK_FRAMES_MAX; i++) {
			size_t k = symbolizer_frames(c->sym, e->pcs[i], buf + n, STACK_FRAMES_MAX - n);
			n += k < STACK_FRAMES_MAX - n ? k : STACK_FRAMES_MAX - n;
		}
		const char **frames = n ? malloc(n * sizeof(*frames)) : NULL;
		if (n && !frames)
			return NULL;
		if (n)
			memcpy(frames, buf, n * sizeof(*frames));
		e->frames = frames;
		e->nframes = n;
		e->symbolized = true;
		e->modules_seen = symbolizer_module_count(c->sym);
		e->unresolved = false;
		for (size_t i = 0; i < n; i++)
			if (strncmp(frames[i], "?? (0x", 6) == 0)
				e->unresolved = true;
	}
	*depth = e->nframes;
	*truncated = e->truncated;
	return e->frames;
}

static void stat_from_agg(struct stack_stat *st, const struct mt_stack_agg *a, uint64_t cpu_hz)
{
	st->allocs_est = (double)a->allocs_w / MT_WEIGHT_ONE;
	st->bytes_est = (double)a->bytes_w;
	st->live_bytes_est = a->bytes_w >= a->freed_w ? (double)(a->bytes_w - a->freed_w) : 0;
	st->samples = a->samples;
	st->min_size = a->min_size;
	st->max_size = a->max_size;
	st->first_ns = a->first_ns;
	st->last_ns = a->last_ns;
	st->collector_cpu_s = cpu_hz ? (double)a->cpu_ns / (double)cpu_hz : NAN;
}

static int by_bytes_desc(const void *a, const void *b)
{
	const struct stack_stat *x = a, *y = b;
	if (x->bytes_est != y->bytes_est)
		return x->bytes_est < y->bytes_est ? 1 : -1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Add one thread's figures for a stack into the process's. */
static void agg_merge(struct mt_stack_agg *sum, const struct mt_stack_agg *a)
{
	sum->samples += a->samples;
	sum->allocs_w += a->allocs_w;
	sum->bytes_w += a->bytes_w;
	sum->freed_w += a->freed_w;
	if (a->min_size && (!sum->min_size || a->min_size < sum->min_size))
		sum->min_size = a->min_size;
	if (a->max_size > sum->max_size)
		sum->max_size = a->max_size;
	if (a->first_ns && (!sum->first_ns || a->first_ns < sum->first_ns))
		sum->first_ns = a->first_ns;
	if (a->last_ns > sum->last_ns)
		sum->last_ns = a->last_ns;
	sum->cpu_ns += a->cpu_ns;
}

/* A thread's stacks, largest first, at most SESSION_THREAD_STACKS. */
static void thread_stacks(struct session *self, struct thread_stat *t,
			  const struct mt_stack_area *a)
{
	struct stack_stat *top = malloc((MT_AREA_STACKS + 1) * sizeof(*top));
	size_t n = 0;
	for (uint32_t k = 0; top && k <= MT_AREA_STACKS; k++) {
		const struct mt_stack_agg *g = k < MT_AREA_STACKS ? &a->agg[k] : &a->other;
		if ((k < MT_AREA_STACKS && !a->keys[k]) || g->samples == 0)
			continue;
		stat_from_agg(&top[n], g, self->cpu_unit_hz);
		top[n++].id = k < MT_AREA_STACKS ? a->keys[k] - 1 : MT_STACK_OTHER;
	}
	if (top)
		qsort(top, n, sizeof(*top), by_bytes_desc);
	free(t->top_stacks);
	t->top_stacks = top;
	t->ntop = n < SESSION_THREAD_STACKS ? n : SESSION_THREAD_STACKS;
}

/* Stack figures: each sampling thread's area (its own top stacks), summed
 * per stack id into the process's. */
static void update_stacks(struct session *self)
{
	self->stacks_enabled = shm_segment_read_sampling(&self->seg, &self->sampling);
	if (!self->stacks_enabled)
		return;
	if (!self->stacks && !(self->stacks = stack_cache_new()))
		return;
	/* Modules are recorded while the process lives: frames are resolved
	 * from this copy when asked, possibly after it has gone. */
	add_segment_modules(self);
	if (!self->ended)
		symbolizer_add_process_maps(self->stacks->sym, self->procroot, self->pid);

	uint32_t nstacks = shm_segment_stack_count(&self->seg);
	size_t nsum = (size_t)nstacks + 1;
	struct mt_stack_agg *sum = calloc(nsum, sizeof(*sum));
	struct mt_stack_area *a = malloc(sizeof(*a));
	if (!sum || !a) {
		free(sum);
		free(a);
		return;
	}
	uint32_t nareas = shm_segment_area_count(&self->seg);
	for (uint32_t id = 0; id < nareas; id++) {
		if (shm_segment_read_area(&self->seg, id, a) != 0)
			continue;
		size_t ts = (size_t)self->slot_base + a->slot;
		if (ts < self->nthreads && self->threads[ts].tid == a->tid)
			thread_stacks(self, &self->threads[ts], a);
		for (uint32_t k = 0; k < MT_AREA_STACKS; k++) {
			uint32_t sid = a->keys[k] ? a->keys[k] - 1 : MT_STACK_OTHER;
			if (a->keys[k] && sid < nsum)
				agg_merge(&sum[sid], &a->agg[k]);
			else if (a->keys[k])
				agg_merge(&sum[MT_STACK_OTHER], &a->agg[k]);
		}
		agg_merge(&sum[MT_STACK_OTHER], &a->other);
	}
	free(a);
	/* Every sample stack 0 holds: the collector's own count (stacks_lost
	 * in the segment) has only those the process-wide table had no room
	 * for, not those of a thread whose own table was full. */
	self->stacks_lost = sum[MT_STACK_OTHER].samples;

	struct stack_stat *all = malloc(nsum * sizeof(*all));
	struct mt_stack_rec *rec = malloc(sizeof(*rec));
	size_t k = 0;
	for (uint32_t id = 0; all && rec && id < nsum; id++) {
		if (sum[id].samples == 0)
			continue;
		if (id != MT_STACK_OTHER) {
			if (shm_segment_read_stack(&self->seg, id, rec) != 0)
				continue;
			struct stack_entry *e = stack_cache_at(self->stacks, id);
			if (e && !e->known) {
				e->known = true;
				e->depth = rec->depth;
				e->truncated = (rec->flags & MT_STACK_TRUNCATED) != 0;
				memcpy(e->pcs, rec->frames, rec->depth * sizeof(e->pcs[0]));
			}
		}
		stat_from_agg(&all[k], &sum[id], self->cpu_unit_hz);
		all[k++].id = id;
	}
	free(rec);
	free(sum);
	if (all)
		qsort(all, k, sizeof(*all), by_bytes_desc);
	free(self->top_stacks);
	self->top_stacks = all;
	self->ntop = k < SESSION_TOP_STACKS ? k : SESSION_TOP_STACKS;
	uint64_t table_full;
	shm_segment_read_stack_losses(&self->seg, &table_full, &self->live_untracked);
}

const char *alert_name(enum alert_level a)
{
	switch (a) {
	case ALERT_CRITICAL: return "critical";
	case ALERT_WARN: return "warn";
	default: return "ok";
	}
}

void session_classify_threads(struct session *self)
{
	for (size_t i = 0; i < self->nthreads; i++) {
		struct thread_stat *t = &self->threads[i];
		if (t->tid < 0)
			continue;
		/* A thread's net bytes (allocated by it minus freed by it) grow
		 * without end in a producer whose blocks others free: it cannot
		 * hold more than the whole process does. */
		int64_t live = (int64_t)(t->c.usable_allocated - t->c.usable_freed);
		if (live > self->totals.live_bytes)
			live = self->totals.live_bytes;
		t->alert = alert_classify(t->alloc_rate, live, t->failed_recent);
	}
}

enum alert_level alert_classify(double alloc_rate, int64_t live_bytes, uint64_t failed_delta)
{
	if (failed_delta > 0 || (isfinite(alloc_rate) && alloc_rate >= ALERT_CRIT_RATE) ||
	    live_bytes >= (int64_t)ALERT_CRIT_LIVE)
		return ALERT_CRITICAL;
	if ((isfinite(alloc_rate) && alloc_rate >= ALERT_WARN_RATE) ||
	    live_bytes >= (int64_t)ALERT_WARN_LIVE)
		return ALERT_WARN;
	return ALERT_OK;
}

double session_fragmentation(const struct session *self)
{
	if (!self->mi_valid || self->mi.arena == 0)
		return NAN;
	return (double)self->mi.fordblks / (double)self->mi.arena;
}

static struct thread_stat *thread_at(struct session *self, uint32_t slot)
{
	if (slot >= self->nthreads) {
		size_t n = slot + 1;
		if (n > self->capacity) {
			/* geometric: thread storms register thousands of slots */
			size_t cap = self->capacity ? self->capacity : 16;
			while (cap < n)
				cap *= 2;
			struct thread_stat *t = realloc(self->threads, cap * sizeof(*t));
			if (!t)
				return NULL;
			self->threads = t;
			self->capacity = cap;
		}
		struct thread_stat *t = self->threads;
		memset(t + self->nthreads, 0, (n - self->nthreads) * sizeof(*t));
		for (size_t i = self->nthreads; i < n; i++) {
			t[i].tid = -1;
			t[i].cpu_percent = NAN;
			t[i].alloc_rate = NAN;
		}
		self->nthreads = n;
	}
	return &self->threads[slot];
}

static bool tid_listed(const int *tids, size_t n, int tid)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (tids[mid] == tid)
			return true;
		if (tids[mid] < tid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static void update_thread_proc(struct session *self, struct thread_stat *t, bool alive)
{
	if (!alive)
		return;
	struct thread_sample ts;
	if (procstat_read_thread(self->procroot, self->pid, t->tid, &ts) != 0 || !ts.valid)
		return;
	snprintf(t->name, sizeof(t->name), "%s", ts.name);
	t->cpu_valid = true;
	t->cpu_s = (double)(ts.utime_ns + ts.stime_ns) / 1e9;
	t->io_valid = ts.io_valid;
	t->io_read_bytes = ts.io_read_bytes;
	t->io_write_bytes = ts.io_write_bytes;
	t->io_syscr = ts.io_syscr;
	t->io_syscw = ts.io_syscw;
}

static void update_threads(struct session *self, double dt)
{
	int *tids = NULL;
	size_t ntids = 0;
	bool listed = !self->ended &&
		      procstat_list_threads(self->procroot, self->pid, &tids, &ntids) == 0;
	/* about to exec (or just done): /proc may show the next program
	 * under these tids, whose name and CPU time are not these threads' */
	bool exec_pending = __atomic_load_n(&self->seg.hdr->exec_pending, __ATOMIC_ACQUIRE) != 0;
	uint32_t n = shm_segment_slot_count(&self->seg);
	for (uint32_t i = 0; i < n; i++) {
		struct thread_figures f;
		if (shm_segment_read_thread(&self->seg, i, &f) != 0)
			continue;
		struct thread_stat *t = thread_at(self, self->slot_base + i);
		if (!t)
			break;
		bool first = t->tid < 0;
		if (!first)
			t->prev = t->c;
		t->slot = self->slot_base + i;
		t->tid = f.tid;
		t->c = f.c;
		t->lost = f.lost;
		t->from_live = f.from_live;
		t->start_ns = f.start_ns;
		t->end_ns = f.end_ns;
		bool alive = listed && !self->seg.writer_gone && !exec_pending &&
			     f.state != MT_SLOT_EXITED && tid_listed(tids, ntids, f.tid);
		t->exited = !alive;
		if (!t->name[0] || f.state == MT_SLOT_EXITED)
			snprintf(t->name, sizeof(t->name), "%s", f.name);
		t->prev_cpu_valid = t->cpu_valid;
		t->prev_cpu_s = t->cpu_s;
		update_thread_proc(self, t, alive);
		if (f.cpu_ns) {
			t->cpu_valid = true;
			t->cpu_s = (double)f.cpu_ns / 1e9;
		}
		t->failed_recent = 0;
		if (!first && dt > 0) {
			t->alloc_rate = (double)(t->c.allocs - t->prev.allocs) / dt;
			t->failed_recent = t->c.failed - t->prev.failed;
			t->cpu_percent = t->cpu_valid && t->prev_cpu_valid
				? 100.0 * (t->cpu_s - t->prev_cpu_s) / dt : NAN;
		}
	}
	free(tids);
}

void session_sum_threads(struct session *self)
{
	struct session_totals *tot = &self->totals;
	int64_t peak = tot->peak_live_bytes;
	memset(tot, 0, sizeof(*tot));
	/* A thread's own peak bounds the process's only where that thread
	 * made every call: a block another thread frees stays in its
	 * allocator's figure, which can then pass the process's true peak. */
	const struct thread_stat *only = NULL;
	size_t callers = self->overflow.allocs || self->overflow.frees ? 2 : 0;
	for (size_t i = 0; i < self->nthreads; i++) {
		const struct thread_stat *t = &self->threads[i];
		if (t->tid < 0)
			continue;
		if (t->c.allocs || t->c.frees) {
			callers++;
			only = t;
		}
		tot->threads_seen++;
		tot->allocs += t->c.allocs;
		tot->frees += t->c.frees;
		tot->reallocs += t->c.reallocs;
		tot->failed += t->c.failed;
		tot->bytes_allocated += t->c.bytes_allocated;
		tot->bytes_freed += t->c.usable_freed;
		tot->live_bytes += (int64_t)(t->c.usable_allocated - t->c.usable_freed);
	}
	if (callers == 1 && only->c.peak_live > peak)
		peak = only->c.peak_live;
	if (tot->live_bytes > peak)
		peak = tot->live_bytes;
	tot->peak_live_bytes = peak;
}

static void update_totals(struct session *self, double dt)
{
	struct session_totals *tot = &self->totals;
	session_sum_threads(self);
	int64_t peak = tot->peak_live_bytes;
	const struct mt_overflow *o = &self->overflow;
	tot->threads_seen += (uint32_t)o->threads;
	tot->allocs += o->allocs;
	tot->frees += o->frees;
	tot->reallocs += o->reallocs;
	tot->failed += o->failed;
	tot->bytes_allocated += o->bytes_allocated;
	tot->bytes_freed += o->usable_freed;
	tot->live_bytes += (int64_t)(o->usable_allocated - o->usable_freed);
	if (tot->live_bytes > peak)
		peak = tot->live_bytes;
	tot->peak_live_bytes = peak;
	tot->alloc_rate = dt > 0 && self->updates > 0
		? (double)(tot->allocs - self->prev_allocs) / dt : NAN;
	self->prev_allocs = tot->allocs;
}

static void record_history(struct session *self)
{
	struct history_point p = {
		.t = self->elapsed_s,
		.live_bytes = self->collector_seen ? (double)self->totals.live_bytes : NAN,
		.alloc_rate = self->totals.alloc_rate,
		.rss_bytes = self->proc_valid && self->proc.rss_valid
			? (double)self->proc.rss_bytes : NAN,
		.cpu_percent = self->proc_cpu_percent,
	};
	session_history_push(&self->hist, SESSION_HISTORY_PROCESS, &p);
	for (size_t i = 0; i < self->nthreads; i++) {
		struct thread_stat *t = &self->threads[i];
		if (t->tid < 0)
			continue;
		/* An exited thread's line would only repeat its last figures. */
		if (t->exited && t->hist.len > 0)
			continue;
		struct history_point tp = {
			.t = self->elapsed_s,
			.live_bytes = (double)(int64_t)(t->c.usable_allocated - t->c.usable_freed),
			.alloc_rate = t->alloc_rate,
			.rss_bytes = NAN,
			.cpu_percent = t->cpu_percent,
		};
		session_history_push(&t->hist, SESSION_HISTORY_THREAD, &tp);
	}
}

static void update_threads(struct session *self, double dt);

static void add_overflow(struct mt_overflow *o, const struct mt_overflow *a)
{
	o->threads += a->threads;
	o->allocs += a->allocs;
	o->frees += a->frees;
	o->reallocs += a->reallocs;
	o->failed += a->failed;
	o->bytes_allocated += a->bytes_allocated;
	o->usable_allocated += a->usable_allocated;
	o->usable_freed += a->usable_freed;
}

/*
 * The process executed another program: its new collector made a new
 * segment under the same name.  The old image's counters are final (exec
 * runs no destructors) and were read at the last update; they stay, as
 * exited threads, and the new image's threads come after them.  Its stack
 * figures go: stack ids restart in the new image.
 */
static void follow_exec(struct session *self)
{
	if (!self->seg_open || !shm_segment_replaced(&self->seg))
		return;
	/* what the old image did since the last update: it is gone, so its
	 * live counters are final (a snapshot may be older), and its threads
	 * are not the ones /proc now lists under their tids */
	self->seg.writer_gone = true;
	update_threads(self, 0);
	struct shm_segment old = self->seg;
	char err[256];
	self->seg_open = false;
	if (session_open_segment(self, err, sizeof(err)) != 0) {
		self->seg = old;
		self->seg_open = true;
		return;
	}
	shm_segment_close(&old);
	for (size_t i = self->slot_base; i < self->nthreads; i++) {
		struct thread_stat *t = &self->threads[i];
		t->exited = true;
		free(t->top_stacks);
		t->top_stacks = NULL;
		t->ntop = 0;
	}
	self->overflow_before = self->overflow;
	self->unbacked_before = self->unbacked;
	self->unsampled_before = self->unsampled;
	self->slot_base = (uint32_t)self->nthreads;
	self->images++;
	free(self->top_stacks);
	self->top_stacks = NULL;
	self->ntop = 0;
	stack_cache_free(self->stacks);
	self->stacks = stack_cache_new();
	if (self->stacks)
		symbolizer_add_process_maps(self->stacks->sym, self->procroot, self->pid);
}

void session_update(struct session *self, double now_s)
{
	follow_exec(self);
	double dt = now_s - self->last_s;
	self->interval_s = dt;
	self->last_s = now_s;
	self->elapsed_s = now_s - self->start_s;

	if (!self->ended) {
		struct proc_sample ps;
		/* A zombie has released its memory and threads: its figures
		 * would read as zero, so the last living ones are kept. */
		if (procstat_read_process(self->procroot, self->pid, &ps) == 0 && ps.valid &&
		    ps.state != 'Z' && ps.state != 'X') {
			self->prev_proc = self->proc;
			self->proc = ps;
			self->proc_cpu_percent = self->proc_valid
				? procstat_cpu_percent(&self->prev_proc, &self->proc, dt) : NAN;
			self->proc_valid = true;
		}
	}
	struct sys_sample ss;
	if (procstat_read_system(self->procroot, &ss) == 0) {
		self->sys_cpu_percent = procstat_sys_cpu_percent(&self->prev_sys, &ss);
		self->prev_sys = ss;
		self->sys = ss;
	}

	if (self->seg_open) {
		shm_segment_refresh(&self->seg);
		self->cpu_unit_hz = __atomic_load_n(&self->seg.hdr->cpu_unit_hz, __ATOMIC_RELAXED);
		update_threads(self, dt);
		uint32_t n;
		int err;
		shm_segment_read_unbacked(&self->seg, &n, &err);
		self->unbacked = self->unbacked_before + n;
		if (n && err)
			self->unbacked_errno = err;
		shm_segment_read_stack_room(&self->seg, &n, &err);
		self->unsampled = self->unsampled_before + n;
		if (err)
			self->stacks_errno = err;
		shm_segment_read_overflow(&self->seg, &self->overflow);
		add_overflow(&self->overflow, &self->overflow_before);
		struct mt_mallinfo mi;
		if (shm_segment_read_mallinfo(&self->seg, &mi)) {
			self->mi = mi;
			self->mi_valid = true;
		}
		update_totals(self, dt);
		session_classify_threads(self);
		update_stacks(self);
	}
	record_history(self);
	self->updates++;
}

void session_finish(struct session *self, double now_s)
{
	session_update(self, now_s);
	self->final = true;
	double span = self->elapsed_s;
	if (span <= 0)
		return;
	self->totals.alloc_rate = (double)self->totals.allocs / span;
	for (size_t i = 0; i < self->nthreads; i++) {
		struct thread_stat *t = &self->threads[i];
		if (t->tid < 0)
			continue;
		t->alloc_rate = (double)t->c.allocs / span;
		double base = session_thread_cpu_base(self, t->tid);
		t->cpu_percent = t->cpu_valid && t->cpu_s >= base
			? 100.0 * (t->cpu_s - base) / span : NAN;
		t->failed_recent = t->c.failed;
	}
	session_classify_threads(self);
	double used = (double)(self->proc.utime_ns + self->proc.stime_ns) / 1e9 -
		      (self->cpu_base.proc_valid ? self->cpu_base.proc_s : 0);
	self->proc_cpu_percent = self->proc_valid && used >= 0 ? 100.0 * used / span : NAN;
	self->sys_cpu_percent = procstat_sys_cpu_percent(&self->first_sys, &self->sys);
}

void session_set_ended(struct session *self, int exit_code, const char *description)
{
	self->ended = true;
	self->exit_code = exit_code;
	self->seg.writer_gone = self->seg_open;
	snprintf(self->end_description, sizeof(self->end_description), "%s",
		 description ? description : "");
}

int session_launcher_pid(const struct session *self)
{
	if (!self->seg_open || !self->seg.hdr)
		return 0;
	uint64_t launcher = __atomic_load_n(&self->seg.hdr->session, __ATOMIC_RELAXED);
	return launcher > 0 && launcher <= INT32_MAX ? (int)launcher : 0;
}

void session_release_segment(struct session *self)
{
	if (self->seg_open)
		shm_segment_unlink(&self->seg);
}

uint64_t session_beyond_capacity(const struct session *self)
{
	return self->overflow.threads > self->unbacked ? self->overflow.threads - self->unbacked
						       : 0;
}

/* Why the segment of pid could not grow, from errno e. */
static const char *grow_reason(int e, int pid, char *buf, size_t len)
{
	const char *why = strerror(e ? e : EIO);
	if (e == ENOSPC || e == EDQUOT)
		snprintf(buf, len, "/dev/shm is full (%s)", why);
	else if (e == ESTALE || e == ENOENT)
		snprintf(buf, len, "its segment /dev/shm" MT_SHM_NAME_FMT " was removed or replaced (%s)",
			 pid, why);
	else if (e == EFBIG)
		snprintf(buf, len, "the file size limit (ulimit -f) keeps its segment in /dev/shm "
			 "from growing (%s)", why);
	else
		snprintf(buf, len, "its segment in /dev/shm could not grow (%s)", why);
	return buf;
}

static const char *grow_advice(int e)
{
	return e == ENOSPC || e == EDQUOT
		? "; free space in /dev/shm or make it bigger (mount -o remount,size=SIZE /dev/shm)"
		: "";
}

const char *session_unbacked_reason(const struct session *self, char *buf, size_t len)
{
	if (!self->unbacked) {
		snprintf(buf, len, "%s", "");
		return buf;
	}
	return grow_reason(self->unbacked_errno, self->pid, buf, len);
}

const char *session_stacks_reason(const struct session *self, char *buf, size_t len)
{
	if (!self->stacks_errno) {
		snprintf(buf, len, "%s", "");
		return buf;
	}
	return grow_reason(self->stacks_errno, self->pid, buf, len);
}

/* Of the one line below: what became of the threads without a slot, and
 * of the call stacks without room. */
static void slots_part(const struct session *self, char *buf, size_t len)
{
	bool one = self->unbacked == 1;
	snprintf(buf, len, "%llu thread%s got no slot of %s own (%s allocations are still "
		 "counted, pooled in the overflow figures)", (unsigned long long)self->unbacked,
		 one ? "" : "s", one ? "its" : "their", one ? "its" : "their");
}

static void stacks_part(const struct session *self, char *buf, size_t len)
{
	bool one = self->unsampled == 1;
	if (self->unsampled)
		snprintf(buf, len, "%llu thread%s could not sample call stacks (the stack estimates "
			 "leave %s out)", (unsigned long long)self->unsampled, one ? "" : "s",
			 one ? "it" : "them");
	else
		snprintf(buf, len, "some sampled call stacks could not be recorded (their samples "
			 "are counted under the catch-all stack)");
}

bool session_room_message(const struct session *self, char *buf, size_t len)
{
	char r1[192], r2[192], a[256], b[256];
	bool slots = self->unbacked != 0, stacks = self->stacks_errno != 0;
	if (!slots && !stacks) {
		snprintf(buf, len, "%s", "");
		return false;
	}
	session_unbacked_reason(self, r1, sizeof(r1));
	session_stacks_reason(self, r2, sizeof(r2));
	slots_part(self, a, sizeof(a));
	stacks_part(self, b, sizeof(b));
	const char *advice = grow_advice(slots ? self->unbacked_errno : self->stacks_errno);
	if (!*advice && stacks)
		advice = grow_advice(self->stacks_errno);
	if (slots && stacks && strcmp(r1, r2) == 0)
		snprintf(buf, len, "pid %d: %s: %s; %s%s", self->pid, r1, a, b, advice);
	else if (slots && stacks)
		snprintf(buf, len, "pid %d: %s: %s; %s: %s%s", self->pid, r1, a, r2, b, advice);
	else
		snprintf(buf, len, "pid %d: %s: %s%s", self->pid, slots ? r1 : r2, slots ? a : b,
			 advice);
	return true;
}

struct thread_stat *session_thread(struct session *self, uint32_t slot)
{
	return thread_at(self, slot);
}

bool session_adopt_symbolizer(struct session *self, struct symbolizer *sym)
{
	if (self->stacks)
		return false;
	struct stack_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return false;
	c->sym = sym;
	self->stacks = c;
	return true;
}

void session_define_stack(struct session *self, uint32_t id, const uint64_t *pcs, uint32_t depth,
			  bool truncated)
{
	if (!self->stacks && !(self->stacks = stack_cache_new()))
		return;
	struct stack_entry *e = stack_cache_at(self->stacks, id);
	if (!e || e->known)
		return;
	if (depth > MT_STACK_MAX_DEPTH)
		depth = MT_STACK_MAX_DEPTH;
	e->known = true;
	e->depth = depth;
	e->truncated = truncated;
	memcpy(e->pcs, pcs, depth * sizeof(e->pcs[0]));
}
