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

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

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
	size_t n = 0;
	for (size_t i = 0; argv && argv[i]; i++) {
		int w = snprintf(self->command + n, sizeof(self->command) - n, "%s%s",
				 i ? " " : "", argv[i]);
		if (w < 0 || (size_t)w >= sizeof(self->command) - n)
			break;
		n += (size_t)w;
	}
	procstat_read_system(self->procroot, &self->prev_sys);
	self->first_sys = self->prev_sys;
}

static void history_push(struct history *h, size_t cap, const struct history_point *p)
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
	for (size_t i = 0; i < self->nthreads; i++)
		free(self->threads[i].hist.pts);
	free(self->hist.pts);
	memset(&self->hist, 0, sizeof(self->hist));
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
	if (shm_segment_open(&self->seg, self->pid, err, errlen) != 0)
		return -1;
	self->seg_open = true;
	self->collector_seen = true;
	return 0;
}

void session_tick(struct session *self)
{
	if (self->seg_open)
		shm_segment_tick(&self->seg);
}

const char *const *session_stack_frames(const struct session *self, uint32_t id,
					size_t *depth, bool *truncated)
{
	(void)self;
	(void)id;
	*depth = 0;
	*truncated = false;
	return NULL;
}

const char *alert_name(enum alert_level a)
{
	switch (a) {
	case ALERT_CRITICAL: return "critical";
	case ALERT_WARN: return "warn";
	default: return "ok";
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
	uint32_t n = shm_segment_slot_count(&self->seg);
	for (uint32_t i = 0; i < n; i++) {
		struct thread_figures f;
		if (shm_segment_read_thread(&self->seg, i, &f) != 0)
			continue;
		struct thread_stat *t = thread_at(self, i);
		if (!t)
			break;
		bool first = t->tid < 0;
		if (!first)
			t->prev = t->c;
		t->slot = i;
		t->tid = f.tid;
		t->c = f.c;
		t->lost = f.lost;
		t->from_live = f.from_live;
		t->start_ns = f.start_ns;
		t->end_ns = f.end_ns;
		bool alive = listed && f.state != MT_SLOT_EXITED && tid_listed(tids, ntids, f.tid);
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
		uint64_t failed_delta = 0;
		if (!first && dt > 0) {
			t->alloc_rate = (double)(t->c.allocs - t->prev.allocs) / dt;
			failed_delta = t->c.failed - t->prev.failed;
			t->cpu_percent = t->cpu_valid && t->prev_cpu_valid
				? 100.0 * (t->cpu_s - t->prev_cpu_s) / dt : NAN;
		}
		int64_t live = (int64_t)(t->c.usable_allocated - t->c.usable_freed);
		t->alert = alert_classify(t->alloc_rate, live, failed_delta);
	}
	free(tids);
}

static void update_totals(struct session *self, double dt)
{
	struct session_totals *tot = &self->totals;
	int64_t peak = tot->peak_live_bytes;
	memset(tot, 0, sizeof(*tot));
	for (size_t i = 0; i < self->nthreads; i++) {
		const struct thread_stat *t = &self->threads[i];
		if (t->tid < 0)
			continue;
		tot->threads_seen++;
		tot->allocs += t->c.allocs;
		tot->frees += t->c.frees;
		tot->reallocs += t->c.reallocs;
		tot->failed += t->c.failed;
		tot->bytes_allocated += t->c.bytes_allocated;
		tot->bytes_freed += t->c.usable_freed;
		tot->live_bytes += (int64_t)(t->c.usable_allocated - t->c.usable_freed);
		if (t->c.peak_live > peak)
			peak = t->c.peak_live;
	}
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
	history_push(&self->hist, SESSION_HISTORY_PROCESS, &p);
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
		history_push(&t->hist, SESSION_HISTORY_THREAD, &tp);
	}
}

void session_update(struct session *self, double now_s)
{
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
		update_threads(self, dt);
		shm_segment_read_overflow(&self->seg, &self->overflow);
		struct mt_mallinfo mi;
		if (shm_segment_read_mallinfo(&self->seg, &mi)) {
			self->mi = mi;
			self->mi_valid = true;
		}
		update_totals(self, dt);
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
		t->cpu_percent = t->cpu_valid ? 100.0 * t->cpu_s / span : NAN;
		t->alert = alert_classify(t->alloc_rate,
					  (int64_t)(t->c.usable_allocated - t->c.usable_freed),
					  t->c.failed);
	}
	self->proc_cpu_percent = self->proc_valid
		? 100.0 * (double)(self->proc.utime_ns + self->proc.stime_ns) / 1e9 / span : NAN;
	self->sys_cpu_percent = procstat_sys_cpu_percent(&self->first_sys, &self->sys);
}

void session_set_ended(struct session *self, int exit_code, const char *description)
{
	self->ended = true;
	self->exit_code = exit_code;
	snprintf(self->end_description, sizeof(self->end_description), "%s",
		 description ? description : "");
}

void session_release_segment(struct session *self)
{
	if (self->seg_open)
		shm_segment_unlink(&self->seg);
}
