/*
 * tracedir.c - preparing a trace directory, and memtop's own file in it.
 *
 * The directory is opened once, O_NOFOLLOW, and everything memtop does in
 * it afterwards goes through that descriptor (openat, unlinkat), so a
 * directory swapped for a symbolic link meanwhile cannot redirect it.  The
 * collector opens its files by name, O_CREAT|O_EXCL|O_NOFOLLOW, which a
 * planted link or file makes fail rather than follow.
 *
 * session.mtt is an ordinary trace file (trace_format.h) with pid 0 in its
 * header, written with one write(2) per block like the collector's.  The
 * session record carries, after the command line, "key=value" strings
 * (memtop-trace(5)): end= how the command ended, sampling= the collector's
 * sampling parameters, which a report needs to describe the estimates.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "trace_format.h"
#include "format.h"
#include "traceclock.h"
#include "tracedir.h"

struct tracedir {
	char *path;                  /* as given, for messages */
	int dfd;
	int fd;                      /* session.mtt, O_APPEND */
	bool created;                /* memtop made the directory */
	bool ended;
	bool failed;                 /* a write to session.mtt failed (said once) */
	uint64_t start_ns;           /* CLOCK_REALTIME at the start */
	double start_mono;           /* CLOCK_MONOTONIC seconds at the start */
	double last_t;               /* session time of the last metrics written */
	bool any_metrics;
};

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool trace_name(const char *n)
{
	if (strcmp(n, MT_TRACE_SESSION_FILE) == 0)
		return true;
	if (strncmp(n, "trace.", 6) != 0)
		return false;
	size_t k = strspn(n + 6, "0123456789");
	return k > 0 && strcmp(n + 6 + k, ".mtt") == 0;
}

/* Calls fn for every trace file name in the directory; returns how many. */
static size_t each_trace_file(int dfd, void (*fn)(int dfd, const char *name, void *arg),
			      void *arg)
{
	int d2 = dup(dfd);
	DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
	if (!d) {
		if (d2 >= 0)
			close(d2);
		return 0;
	}
	rewinddir(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!trace_name(e->d_name))
			continue;
		n++;
		if (fn)
			fn(dfd, e->d_name, arg);
	}
	closedir(d);
	return n;
}

static void remove_one(int dfd, const char *name, void *arg)
{
	int *err = arg;
	if (unlinkat(dfd, name, 0) != 0 && !*err)
		*err = errno;
}

struct sizes {
	unsigned long long files, bytes;
};

static void add_size(int dfd, const char *name, void *arg)
{
	struct sizes *s = arg;
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
		s->files++;
		s->bytes += (unsigned long long)st.st_size;
	}
}

static int write_block(tracedir *self, uint32_t type, const void *a, size_t alen, const void *b,
		       size_t blen)
{
	if (self->fd < 0)
		return -1;
	size_t total = sizeof(struct mt_trace_block) + alen + blen;
	unsigned char *buf = malloc(total);
	if (!buf)
		return -1;
	struct mt_trace_block h = { .type = type, .size = (uint32_t)(alen + blen), .tid = 0 };
	memcpy(buf + sizeof(h), a, alen);
	if (blen)
		memcpy(buf + sizeof(h) + alen, b, blen);
	h.check = mt_trace_check(buf + sizeof(h), alen + blen);
	memcpy(buf, &h, sizeof(h));
	/* One write: a memtop killed meanwhile leaves whole blocks only. */
	ssize_t n;
	do
		n = write(self->fd, buf, total);
	while (n < 0 && errno == EINTR);
	int e = n < 0 ? errno : ENOSPC;
	free(buf);
	if (n == (ssize_t)total)
		return 0;
	if (!self->failed)
		format_warn("writing %s/%s failed: %s; the trace goes on without "
			"memtop's figures", self->path, MT_TRACE_SESSION_FILE, strerror(e));
	self->failed = true;
	return -1;
}

static int fail(char *err, size_t errlen, const char *fmt, const char *dir, int e)
{
	char msg[256];
	snprintf(msg, sizeof(msg), fmt, e ? strerror(e) : "");
	snprintf(err, errlen, "--trace %s: %s", dir, msg);
	return -1;
}

tracedir *tracedir_open(const char *dir, bool overwrite, char *err, size_t errlen)
{
	tracedir *self = calloc(1, sizeof(*self));
	if (!self || !(self->path = strdup(dir))) {
		free(self);
		snprintf(err, errlen, "--trace %s: out of memory", dir);
		return NULL;
	}
	self->dfd = self->fd = -1;
	struct stat st;
	if (lstat(dir, &st) != 0) {
		if (errno != ENOENT || mkdir(dir, 0700) != 0) {
			fail(err, errlen, "cannot create the directory: %s", dir, errno);
			goto fail;
		}
		self->created = true;
	} else if (S_ISLNK(st.st_mode)) {
		fail(err, errlen, "is a symbolic link; memtop does not follow one for a trace "
		     "(give the directory itself)", dir, 0);
		goto fail;
	} else if (!S_ISDIR(st.st_mode)) {
		fail(err, errlen, "exists and is not a directory", dir, 0);
		goto fail;
	}
	self->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (self->dfd < 0) {
		fail(err, errlen, "cannot open the directory: %s", dir, errno);
		goto fail;
	}
	if (fstat(self->dfd, &st) != 0 || st.st_uid != geteuid()) {
		/* Files of ours in someone else's directory are theirs to swap. */
		fail(err, errlen, "belongs to another user; use a directory of your own", dir, 0);
		goto fail;
	}
	if (each_trace_file(self->dfd, NULL, NULL) > 0) {
		if (!overwrite) {
			fail(err, errlen, "already holds a trace; use --overwrite-trace to replace it, "
			     "or another directory", dir, 0);
			goto fail;
		}
		int e = 0;
		each_trace_file(self->dfd, remove_one, &e);
		if (e) {
			fail(err, errlen, "cannot remove the old trace: %s", dir, e);
			goto fail;
		}
	}
	self->fd = openat(self->dfd, MT_TRACE_SESSION_FILE,
			  O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (self->fd < 0) {
		fail(err, errlen, "cannot create session.mtt: %s", dir, errno);
		goto fail;
	}
	char abs[PATH_MAX];
	if (!realpath(dir, abs)) {
		fail(err, errlen, "cannot resolve the path: %s", dir, errno);
		goto fail;
	}
	self->start_ns = realtime_ns();
	self->start_mono = mono_s();
	struct mt_trace_header h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, MT_TRACE_MAGIC, sizeof(h.magic));
	h.version = MT_TRACE_VERSION;
	h.header_size = sizeof(h);
	h.pid = 0;
	h.ppid = (int32_t)getpid();
	h.start_ns = self->start_ns;
	h.session = (uint64_t)getpid();
	ssize_t n = readlink("/proc/self/exe", h.exe, sizeof(h.exe) - 1);
	if (n < 0)
		snprintf(h.exe, sizeof(h.exe), "memtop");
	if (write(self->fd, &h, sizeof(h)) != (ssize_t)sizeof(h)) {
		fail(err, errlen, "cannot write session.mtt: %s", dir, errno ? errno : ENOSPC);
		goto fail;
	}
	/* For the collector of every process of the command: an absolute
	 * path, the command may change directory. */
	if (setenv(MT_ENV_TRACE, abs, 1) != 0) {
		fail(err, errlen, "cannot set " MT_ENV_TRACE ": %s", dir, errno);
		goto fail;
	}
	return self;
fail:
	tracedir_free(self);
	return NULL;
}

static void put_metrics(tracedir *self, int pid, uint64_t ns, uint64_t rss, uint64_t cpu,
			uint32_t threads)
{
	struct mt_tb_metrics m = { .realtime_ns = ns, .pid = pid, .threads = threads,
				   .rss_bytes = rss, .cpu_ns = cpu };
	write_block(self, MT_TB_METRICS, &m, sizeof(m), NULL, 0);
	self->any_metrics = true;
}

void tracedir_metrics(tracedir *self, const struct session *s)
{
	if (!self || self->ended || !s->proc_valid)
		return;
	const struct proc_sample *p = &s->proc;
	put_metrics(self, s->pid, realtime_ns(), p->rss_valid ? p->rss_bytes : UINT64_MAX,
		    p->utime_ns + p->stime_ns, p->num_threads > 0 ? (uint32_t)p->num_threads : 0);
	self->last_t = s->elapsed_s;
}

static void put_session(tracedir *self, const struct session *s)
{
	struct mt_tb_session r = {
		.pid = s->pid, .exit_status = s->ended && s->exit_code >= 0 ? s->exit_code : -1,
		.start_ns = self->start_ns, .end_ns = realtime_ns(),
	};
	char tail[2048];
	size_t n = 0;
	int w = snprintf(tail, sizeof(tail), "%s", s->command);
	n = w > 0 && (size_t)w < sizeof(tail) ? (size_t)w + 1 : 1;
	if (n == 1)
		tail[0] = '\0';
	if (s->ended && s->end_description[0]) {
		w = snprintf(tail + n, sizeof(tail) - n, "end=%s", s->end_description);
		if (w > 0 && (size_t)w < sizeof(tail) - n)
			n += (size_t)w + 1;
	}
	if (s->collector_seen) {
		const struct mt_sampling *m = &s->sampling;
		if (s->stacks_enabled)
			w = snprintf(tail + n, sizeof(tail) - n,
				     "sampling=%.17g:%.17g:%.17g:%llu:%llu:%llu:%u:%.17g", m->rate[0],
				     m->rate[1], m->rate[2], (unsigned long long)m->medium_threshold,
				     (unsigned long long)m->large_threshold,
				     (unsigned long long)m->frequency_threshold, m->depth, m->boost);
		else
			w = snprintf(tail + n, sizeof(tail) - n, "sampling=off");
		if (w > 0 && (size_t)w < sizeof(tail) - n)
			n += (size_t)w + 1;
	}
	write_block(self, MT_TB_SESSION, &r, sizeof(r), tail, n);
}

/* What the collector said about its own writing, from the segment. */
static void collector_trouble(const tracedir *self, const struct session *s)
{
	if (!s->seg_open || !s->seg.hdr)
		return;
	int e = __atomic_load_n(&s->seg.hdr->trace_errno, __ATOMIC_RELAXED);
	uint64_t lost = __atomic_load_n(&s->seg.hdr->trace_lost, __ATOMIC_RELAXED);
	if (e == ENOSPC || e == EDQUOT)
		format_warn("the disk holding %s is full: pid %d stopped tracing there "
			"(the command ran on unharmed); what was written before stays readable "
			"with memtop report", self->path, s->pid);
	else if (e == EEXIST)
		format_warn("pid %d could not start its trace file in %s: every name it may "
			"take exists already (trace.%d.mtt to trace.%d.%u.mtt); its events are not "
			"in the trace", s->pid, self->path, s->pid, s->pid, MT_TRACE_MAX_IMAGE);
	else if (e)
		format_warn("pid %d stopped tracing into %s: %s; what was written "
			"before stays readable with memtop report", s->pid, self->path, strerror(e));
	if (lost)
		format_warn("%llu events of pid %d were not written to the trace%s",
			(unsigned long long)lost, s->pid,
			e ? " (after it stopped)" : " (signal handlers nested twice)");
}

void tracedir_end(tracedir *self, const struct session *s)
{
	if (!self || self->ended)
		return;
	if (s->proc_valid && s->elapsed_s > self->last_t)
		tracedir_metrics(self, s);
	put_session(self, s);
	self->ended = true;
	if (self->fd >= 0 && close(self->fd) != 0 && !self->failed) {
		format_warn("writing %s/%s failed: %s", self->path,
			MT_TRACE_SESSION_FILE, strerror(errno));
		self->failed = true;
	}
	self->fd = -1;
	struct sizes z = { 0, 0 };
	each_trace_file(self->dfd, add_size, &z);
	format_warn("trace written to %s (%llu file%s, %llu bytes)", self->path, z.files,
		z.files == 1 ? "" : "s", z.bytes);
	collector_trouble(self, s);
	if (!s->ended && s->collector_seen && !s->attached)
		format_warn("pid %d runs on and keeps adding to its trace in %s until it "
			"ends", s->pid, self->path);
	if (s->collector_seen && z.files < 2)
		format_warn("pid %d wrote no trace file into %s", s->pid, self->path);
}

void tracedir_free(tracedir *self)
{
	if (!self)
		return;
	if (self->fd >= 0)
		close(self->fd);
	if (!self->ended && self->dfd >= 0) {
		/* The command never ran: leave no trace that looks like one. */
		unlinkat(self->dfd, MT_TRACE_SESSION_FILE, 0);
		if (self->created)
			rmdir(self->path);
	}
	if (self->dfd >= 0)
		close(self->dfd);
	free(self->path);
	free(self);
}

/* ---------------------------------------------------------------- this run's trace */

static tracedir *current;
static traceclock *clock_page;

int tracedir_begin(const struct options *opts, char *err, size_t errlen)
{
	if (!opts->trace_dir)
		return 0;
	current = tracedir_open(opts->trace_dir, opts->overwrite_trace, err, errlen);
	if (!current)
		return -1;
	/* Without the page the collector reads the clock itself: slower,
	 * the same trace, so its failure is not worth a message. */
	char ignored[256];
	clock_page = traceclock_start((int)getpid(), NULL, ignored, sizeof(ignored));
	return 0;
}

static void sink_sample(void *ctx, const struct session *s)
{
	(void)ctx;
	tracedir_metrics(current, s);
}

static int sink_finish(void *ctx, const struct session *s, const struct watch_outcome *o)
{
	(void)ctx;
	(void)o;
	tracedir_end(current, s);
	return 0;
}

struct watch_sink tracedir_sink(void)
{
	struct watch_sink k = { .sample = sink_sample, .finish = sink_finish };
	return k;
}

void tracedir_close(void)
{
	traceclock_stop(clock_page);
	clock_page = NULL;
	tracedir_free(current);
	current = NULL;
}
