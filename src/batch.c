/*
 * batch.c - text and JSON Lines reports of a session.
 *
 * JSON follows interface.md: a figure memtop could not measure is null,
 * never 0.  Text follows top -b: a header block, then one row per thread,
 * busiest first; interval reports show the 20 busiest threads, the summary
 * shows all of them.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "bottleneck.h"
#include "format.h"
#include "json.h"

#define TEXT_ROWS 20
#define JSON_STACKS_SAMPLE   10
#define JSON_STACKS_SUMMARY  20
#define JSON_THREAD_STACKS   5
#define TEXT_STACKS_SAMPLE   3
#define TEXT_STACKS_SUMMARY  10
#define TEXT_FRAMES          12

static const char catch_all_frame[] = FORMAT_CATCH_ALL_STACK;

void batch_init(struct batch *self, FILE *out, bool json, bool stacks_requested)
{
	memset(self, 0, sizeof(*self));
	self->out = out;
	self->json = json;
	self->stacks_requested = stacks_requested;
}

/* ---------------------------------------------------------------- JSON */

static void key_uint(struct json *j, const char *k, uint64_t v)
{
	json_key(j, k);
	json_uint(j, v);
}

static void key_int(struct json *j, const char *k, int64_t v)
{
	json_key(j, k);
	json_int(j, v);
}

static void key_double(struct json *j, const char *k, double v)
{
	json_key(j, k);
	json_double(j, v);
}

static void key_opt_uint(struct json *j, const char *k, bool valid, uint64_t v)
{
	json_key(j, k);
	if (valid)
		json_uint(j, v);
	else
		json_null(j);
}

static void json_totals(struct json *j, const struct session *s)
{
	const struct session_totals *t = &s->totals;
	json_key(j, "totals");
	if (!s->collector_seen) {
		json_null(j);
		return;
	}
	json_begin_object(j);
	key_uint(j, "allocs", t->allocs);
	key_uint(j, "frees", t->frees);
	key_uint(j, "reallocs", t->reallocs);
	key_uint(j, "failed", t->failed);
	key_uint(j, "bytes_allocated", t->bytes_allocated);
	key_uint(j, "bytes_freed", t->bytes_freed);
	key_int(j, "live_bytes", t->live_bytes);
	key_int(j, "peak_live_bytes", t->peak_live_bytes);
	key_uint(j, "threads_seen", t->threads_seen);
	key_double(j, "alloc_rate", t->alloc_rate);
	json_end_object(j);
}

static void json_process(struct json *j, const struct session *s)
{
	const struct proc_sample *p = &s->proc;
	bool v = s->proc_valid;
	json_key(j, "process");
	json_begin_object(j);
	key_double(j, "cpu_percent", s->proc_cpu_percent);
	key_double(j, "cpu_time_s", v ? (double)(p->utime_ns + p->stime_ns) / 1e9 : NAN);
	key_opt_uint(j, "rss_bytes", v && p->rss_valid, p->rss_bytes);
	key_opt_uint(j, "vsize_bytes", v, p->vsize_bytes);
	key_opt_uint(j, "minor_faults", v, p->minflt);
	key_opt_uint(j, "major_faults", v, p->majflt);
	key_opt_uint(j, "num_threads", v, (uint64_t)p->num_threads);
	key_opt_uint(j, "io_read_bytes", v && p->io_valid, p->io_read_bytes);
	key_opt_uint(j, "io_write_bytes", v && p->io_valid, p->io_write_bytes);
	key_opt_uint(j, "io_read_calls", v && p->io_valid, p->io_syscr);
	key_opt_uint(j, "io_write_calls", v && p->io_valid, p->io_syscw);
	key_double(j, "fragmentation", session_fragmentation(s));
	key_opt_uint(j, "heap_arena_bytes", s->mi_valid, s->mi.arena);
	key_opt_uint(j, "heap_in_use_bytes", s->mi_valid, s->mi.uordblks);
	key_opt_uint(j, "heap_free_bytes", s->mi_valid, s->mi.fordblks);
	key_opt_uint(j, "heap_mmap_bytes", s->mi_valid, s->mi.hblkhd);
	json_end_object(j);
}

static void json_system(struct json *j, const struct session *s)
{
	const struct sys_sample *y = &s->sys;
	json_key(j, "system");
	json_begin_object(j);
	key_double(j, "cpu_percent", s->sys_cpu_percent);
	json_key(j, "load_average");
	if (y->load_valid) {
		json_begin_array(j);
		for (int i = 0; i < 3; i++)
			json_double(j, y->load[i]);
		json_end_array(j);
	} else {
		json_null(j);
	}
	key_opt_uint(j, "mem_total_bytes", y->mem_valid, y->mem_total_bytes);
	key_opt_uint(j, "mem_available_bytes", y->mem_valid, y->mem_available_bytes);
	key_opt_uint(j, "ncpus", y->ncpus > 0, (uint64_t)y->ncpus);
	json_end_object(j);
}

static void json_frames(struct json *j, const struct session *s, uint32_t id)
{
	size_t depth;
	bool truncated;
	const char *const *frames = session_stack_frames(s, id, &depth, &truncated);
	json_key(j, "frames");
	json_begin_array(j);
	if (id == MT_STACK_OTHER)
		json_string(j, catch_all_frame);
	for (size_t i = 0; frames && i < depth; i++)
		json_string(j, frames[i]);
	json_end_array(j);
	json_key(j, "truncated");
	json_bool(j, truncated);
}

static void json_stack(struct json *j, const struct session *s, const struct stack_stat *st,
		       bool detail)
{
	json_begin_object(j);
	key_uint(j, "id", st->id);
	json_frames(j, s, st->id);
	key_uint(j, "allocs_est", (uint64_t)llround(st->allocs_est));
	key_uint(j, "bytes_est", (uint64_t)llround(st->bytes_est));
	key_uint(j, "live_bytes_est", (uint64_t)llround(st->live_bytes_est));
	key_uint(j, "samples", st->samples);
	if (detail) {
		key_opt_uint(j, "min_size", st->samples > 0 && st->min_size > 0, st->min_size);
		key_uint(j, "max_size", st->max_size);
		key_double(j, "first_s", st->first_ns ? (double)st->first_ns / 1e9 : NAN);
		key_double(j, "last_s", st->last_ns ? (double)st->last_ns / 1e9 : NAN);
		key_double(j, "collector_cpu_s", st->collector_cpu_s);
	}
	json_end_object(j);
}

static void json_stacks(struct json *j, const struct session *s, const struct stack_stat *st,
			size_t n, size_t max, bool detail)
{
	/* Not sampled (--no-stacks, or no collector): unmeasured, so null. */
	if (!s->stacks_enabled) {
		json_null(j);
		return;
	}
	json_begin_array(j);
	for (size_t i = 0; i < n && i < max; i++)
		json_stack(j, s, &st[i], detail);
	json_end_array(j);
}

static void json_sampling(struct json *j, const struct session *s)
{
	json_key(j, "sampling");
	if (!s->stacks_enabled) {
		json_null(j);
		return;
	}
	const struct mt_sampling *m = &s->sampling;
	json_begin_object(j);
	key_double(j, "small", m->rate[0]);
	key_double(j, "medium", m->rate[1]);
	key_double(j, "large", m->rate[2]);
	key_uint(j, "medium_threshold", m->medium_threshold);
	key_uint(j, "large_threshold", m->large_threshold);
	key_uint(j, "frequency_threshold", m->frequency_threshold);
	key_double(j, "boost", m->boost);
	key_uint(j, "depth", m->depth);
	key_uint(j, "samples_unstored", s->stacks_lost);
	key_uint(j, "live_untracked", s->live_untracked);
	/* stack storage that could not be added (/dev/shm full) */
	key_uint(j, "no_room_threads", s->unsampled);
	json_key(j, "no_room_reason");
	if (s->stacks_errno) {
		char why[192];
		json_string(j, session_stacks_reason(s, why, sizeof(why)));
	} else {
		json_null(j);
	}
	json_end_object(j);
}

static void json_thread(struct json *j, const struct session *s, const struct thread_stat *t,
			bool summary)
{
	json_begin_object(j);
	key_int(j, "tid", t->tid);
	json_key(j, "name");
	json_string(j, t->name);
	json_key(j, "state");
	json_string(j, t->exited ? "exited" : "running");
	key_uint(j, "allocs", t->c.allocs);
	key_uint(j, "frees", t->c.frees);
	key_uint(j, "reallocs", t->c.reallocs);
	key_uint(j, "failed", t->c.failed);
	key_uint(j, "bytes_allocated", t->c.bytes_allocated);
	key_uint(j, "bytes_freed", t->c.usable_freed);
	key_int(j, "live_bytes", (int64_t)(t->c.usable_allocated - t->c.usable_freed));
	key_int(j, "peak_live_bytes", t->c.peak_live);
	key_double(j, "cpu_time_s", t->cpu_valid ? t->cpu_s : NAN);
	key_double(j, "cpu_percent", t->cpu_percent);
	key_double(j, "alloc_rate", t->alloc_rate);
	key_opt_uint(j, "io_read_bytes", t->io_valid, t->io_read_bytes);
	key_opt_uint(j, "io_write_bytes", t->io_valid, t->io_write_bytes);
	key_opt_uint(j, "io_read_calls", t->io_valid, t->io_syscr);
	key_opt_uint(j, "io_write_calls", t->io_valid, t->io_syscw);
	if (t->lost)
		key_uint(j, "lost_events", t->lost);
	if (summary) {
		json_key(j, "top_stacks");
		json_stacks(j, s, t->top_stacks, t->ntop, JSON_THREAD_STACKS, false);
	}
	json_key(j, "size_histogram");
	json_begin_array(j);
	for (unsigned b = 0; b < MT_HIST_BUCKETS; b++)
		json_uint(j, t->c.hist[b]);
	json_end_array(j);
	json_key(j, "alert");
	json_string(j, alert_name(t->alert));
	json_end_object(j);
}

#define BOTTLENECKS_MAX 32

static void json_bottlenecks(struct json *j, const struct session *s)
{
	struct bottleneck b[BOTTLENECKS_MAX];
	size_t n = s->collector_seen ? bottleneck_detect(s, 0, b, BOTTLENECKS_MAX) : 0;
	json_begin_array(j);
	for (size_t i = 0; i < n; i++) {
		json_begin_object(j);
		json_key(j, "type");
		json_string(j, b[i].type);
		key_int(j, "tid", b[i].tid);
		json_key(j, "stack_id");
		if (b[i].stack_id == BOTTLENECK_NO_STACK)
			json_null(j);
		else
			json_uint(j, b[i].stack_id);
		key_double(j, "severity", b[i].severity);
		json_key(j, "description");
		json_string(j, b[i].description);
		json_key(j, "suggestion");
		json_string(j, b[i].suggestion);
		json_end_object(j);
	}
	json_end_array(j);
}

static void text_bottlenecks(FILE *f, const struct session *s)
{
	struct bottleneck b[BOTTLENECKS_MAX];
	size_t n = bottleneck_detect(s, 0, b, BOTTLENECKS_MAX);
	if (n == 0)
		return;
	fprintf(f, "Findings (see BOTTLENECKS in memtop(1)):\n");
	for (size_t i = 0; i < n; i++) {
		char d[512], g[512];
		format_sanitize(d, sizeof(d), b[i].description, strlen(b[i].description));
		format_sanitize(g, sizeof(g), b[i].suggestion, strlen(b[i].suggestion));
		fprintf(f, "  [%.2f] %s (tid %d): %s\n         -> %s\n", b[i].severity, b[i].type,
			b[i].tid, d, g);
	}
	fputc('\n', f);
}

static void json_record(struct batch *self, const struct session *s, bool summary)
{
	batch_write_json(self->out, s, summary);
}

void batch_write_json(FILE *f, const struct session *s, bool summary)
{
	struct json j;
	json_init(&j, f);
	json_begin_object(&j);
	json_key(&j, "type");
	json_string(&j, summary ? "summary" : "sample");
	key_int(&j, "pid", s->pid);
	json_key(&j, "command");
	json_string(&j, s->command);
	key_double(&j, "elapsed_s", s->elapsed_s);
	key_double(&j, "interval_s", s->interval_s);
	if (summary && s->ended) {
		/* an attached process's status goes to its parent, not to memtop */
		if (s->exit_code >= 0)
			key_int(&j, "exit_status", s->exit_code);
		json_key(&j, "end");
		json_string(&j, s->end_description);
	}
	json_key(&j, "collector");
	json_string(&j, s->collector_seen ? "loaded" : s->collector_mapped ? "failed" : "not loaded");
	json_key(&j, "attached");
	json_bool(&j, s->attached);
	json_totals(&j, s);
	json_process(&j, s);
	json_system(&j, s);
	json_key(&j, "threads");
	json_begin_array(&j);
	for (size_t i = 0; i < s->nthreads; i++)
		if (s->threads[i].tid >= 0)
			json_thread(&j, s, &s->threads[i], summary);
	json_end_array(&j);
	if (s->overflow.threads) {
		json_key(&j, "overflow");
		json_begin_object(&j);
		key_uint(&j, "threads", s->overflow.threads);
		key_uint(&j, "allocs", s->overflow.allocs);
		key_uint(&j, "frees", s->overflow.frees);
		key_uint(&j, "bytes_allocated", s->overflow.bytes_allocated);
		/* why they are there: every slot taken, or no room for theirs */
		key_uint(&j, "beyond_capacity", session_beyond_capacity(s));
		key_uint(&j, "no_room", s->unbacked);
		json_key(&j, "no_room_reason");
		if (s->unbacked) {
			char why[192];
			json_string(&j, session_unbacked_reason(s, why, sizeof(why)));
		} else {
			json_null(&j);
		}
		json_end_object(&j);
	}
	json_sampling(&j, s);
	json_key(&j, "top_stacks");
	json_stacks(&j, s, s->top_stacks, s->ntop,
		    summary ? JSON_STACKS_SUMMARY : JSON_STACKS_SAMPLE, true);
	json_key(&j, "bottlenecks");
	json_bottlenecks(&j, s);
	json_end_object(&j);
	json_newline(&j);
	fflush(f);
}

/* ---------------------------------------------------------------- text */

static int cmp_busy(const void *a, const void *b)
{
	const struct thread_stat *x = *(const struct thread_stat *const *)a;
	const struct thread_stat *y = *(const struct thread_stat *const *)b;
	double rx = isfinite(x->alloc_rate) ? x->alloc_rate : 0;
	double ry = isfinite(y->alloc_rate) ? y->alloc_rate : 0;
	if (rx != ry)
		return rx < ry ? 1 : -1;
	if (x->c.allocs != y->c.allocs)
		return x->c.allocs < y->c.allocs ? 1 : -1;
	return x->tid - y->tid;
}

static const char *na_pct(char *buf, size_t len, double v)
{
	if (!isfinite(v))
		snprintf(buf, len, "n/a");
	else
		snprintf(buf, len, "%.1f%%", v);
	return buf;
}

static void text_header(struct batch *self, const struct session *s, bool summary)
{
	FILE *f = self->out;
	char a[32], b[32], c[32], d[32], e[32], g[32], frag[32];
	char cmd[256];
	format_sanitize(cmd, sizeof(cmd), s->command, strlen(s->command));
	fprintf(f, "memtop %s - pid %d %s - %s elapsed", summary ? "summary" : "-", s->pid, cmd,
		format_duration(a, sizeof(a), s->elapsed_s));
	if (s->ended)
		fprintf(f, " - %s", s->end_description);
	fputc('\n', f);
	if (s->attached)
		fprintf(f, "Attach:  figures count from memtop's attach; blocks allocated before it "
			"and freed since count as frees\n");
	if (!s->collector_seen && s->collector_mapped) {
		fprintf(f, "Heap:    unavailable (the collector is loaded but could not set up "
			"its shared memory)\n");
	} else if (!s->collector_seen) {
		fprintf(f, "Heap:    unavailable (memtop saw no collector in this process)\n");
	} else {
		const struct session_totals *t = &s->totals;
		fprintf(f, "Heap:    %s allocs (%s)  %s frees  %s reallocs  %s failed  live %s  peak %s  frag %s\n",
			format_count(a, sizeof(a), (double)t->allocs),
			format_rate(b, sizeof(b), t->alloc_rate),
			format_count(c, sizeof(c), (double)t->frees),
			format_count(d, sizeof(d), (double)t->reallocs),
			format_count(e, sizeof(e), (double)t->failed),
			format_bytes(g, sizeof(g), t->live_bytes),
			format_bytes(cmd, sizeof(cmd), t->peak_live_bytes),
			na_pct(frag, sizeof(frag), 100.0 * session_fragmentation(s)));
	}
	const struct proc_sample *p = &s->proc;
	if (s->proc_valid) {
		fprintf(f, "Process: CPU %s  RSS %s  VSZ %s  faults %llu min %llu maj  threads %d",
			na_pct(a, sizeof(a), s->proc_cpu_percent),
			p->rss_valid ? format_bytes(b, sizeof(b), (int64_t)p->rss_bytes) : "n/a",
			format_bytes(c, sizeof(c), (int64_t)p->vsize_bytes),
			(unsigned long long)p->minflt, (unsigned long long)p->majflt, p->num_threads);
		if (p->io_valid)
			fprintf(f, "  IO read %s write %s",
				format_bytes(d, sizeof(d), (int64_t)p->io_read_bytes),
				format_bytes(e, sizeof(e), (int64_t)p->io_write_bytes));
		else
			fprintf(f, "  IO n/a");
		fputc('\n', f);
	} else {
		fprintf(f, "Process: unavailable\n");
	}
	const struct sys_sample *y = &s->sys;
	fprintf(f, "System:  CPU %s", na_pct(a, sizeof(a), s->sys_cpu_percent));
	if (y->load_valid)
		fprintf(f, "  load %.2f %.2f %.2f", y->load[0], y->load[1], y->load[2]);
	else
		fprintf(f, "  load n/a");
	if (y->mem_valid)
		fprintf(f, "  mem %s available of %s",
			format_bytes(b, sizeof(b), (int64_t)y->mem_available_bytes),
			format_bytes(c, sizeof(c), (int64_t)y->mem_total_bytes));
	else
		fprintf(f, "  mem n/a");
	fputc('\n', f);
}

static void text_threads(struct batch *self, const struct session *s, bool summary)
{
	FILE *f = self->out;
	const struct thread_stat **rows = calloc(s->nthreads ? s->nthreads : 1, sizeof(*rows));
	if (!rows)
		return;
	size_t n = 0;
	for (size_t i = 0; i < s->nthreads; i++)
		if (s->threads[i].tid >= 0)
			rows[n++] = &s->threads[i];
	qsort(rows, n, sizeof(*rows), cmp_busy);
	fprintf(f, "\n%8s %-16s %-7s %9s %9s %9s %10s %10s %7s %-8s\n", "TID", "NAME", "STATE",
		"ALLOCS", "ALLOC/S", "FREES", "LIVE", "PEAK", "CPU%", "ALERT");
	size_t shown = summary ? n : (n < TEXT_ROWS ? n : TEXT_ROWS);
	for (size_t i = 0; i < shown; i++) {
		const struct thread_stat *t = rows[i];
		char name[128], a[32], b[32], c[32], d[32], e[32], g[32];
		format_fit(name, sizeof(name), t->name, 16);
		fprintf(f, "%8d %s %-7s %9s %9s %9s %10s %10s %7s %-8s\n", t->tid, name,
			t->exited ? "exited" : "run",
			format_count(a, sizeof(a), (double)t->c.allocs),
			format_rate(b, sizeof(b), t->alloc_rate),
			format_count(c, sizeof(c), (double)t->c.frees),
			format_bytes(d, sizeof(d), (int64_t)(t->c.usable_allocated - t->c.usable_freed)),
			format_bytes(e, sizeof(e), t->c.peak_live),
			na_pct(g, sizeof(g), t->cpu_percent), alert_name(t->alert));
	}
	if (shown < n)
		fprintf(f, "  ... %zu more threads\n", n - shown);
	if (s->overflow.threads) {
		uint64_t beyond = session_beyond_capacity(s);
		char why[192];
		fprintf(f, "  overflow: ");
		if (beyond)
			fprintf(f, "%llu threads beyond the slot capacity, ",
				(unsigned long long)beyond);
		if (s->unbacked)
			fprintf(f, "%llu threads without a slot because %s, ",
				(unsigned long long)s->unbacked,
				session_unbacked_reason(s, why, sizeof(why)));
		fprintf(f, "%llu allocs pooled\n", (unsigned long long)s->overflow.allocs);
	}
	fputc('\n', f);
	free(rows);
}

static void text_stacks(struct batch *self, const struct session *s, bool summary)
{
	FILE *f = self->out;
	if (s->stacks_enabled && s->stacks_errno) {
		char why[192];
		session_stacks_reason(s, why, sizeof(why));
		if (s->unsampled)
			fprintf(f, "Stacks:  %llu threads not sampled because %s\n",
				(unsigned long long)s->unsampled, why);
		else
			fprintf(f, "Stacks:  some samples under the catch-all stack because %s\n",
				why);
	}
	if (!s->stacks_enabled || s->ntop == 0)
		return;
	size_t max = summary ? TEXT_STACKS_SUMMARY : TEXT_STACKS_SAMPLE;
	fprintf(f, "Top stacks (sampled estimates, by bytes):\n");
	for (size_t i = 0; i < s->ntop && i < max; i++) {
		const struct stack_stat *st = &s->top_stacks[i];
		char a[32], b[32], c[32];
		fprintf(f, "  #%zu  stack %u: %s in %s allocs, %s live  (%llu samples)\n", i + 1,
			(unsigned)st->id, format_bytes(a, sizeof(a), (int64_t)llround(st->bytes_est)),
			format_count(b, sizeof(b), st->allocs_est),
			format_bytes(c, sizeof(c), (int64_t)llround(st->live_bytes_est)),
			(unsigned long long)st->samples);
		size_t depth;
		bool truncated;
		const char *const *frames = session_stack_frames(s, st->id, &depth, &truncated);
		if (st->id == MT_STACK_OTHER)
			fprintf(f, "        %s\n", catch_all_frame);
		for (size_t k = 0; frames && k < depth && k < TEXT_FRAMES; k++) {
			char line[512];
			format_sanitize(line, sizeof(line), frames[k], strlen(frames[k]));
			fprintf(f, "        %s\n", line);
		}
		if (depth > TEXT_FRAMES)
			fprintf(f, "        ... %zu more frames\n", depth - TEXT_FRAMES);
		else if (truncated)
			fprintf(f, "        ... (truncated at the capture depth)\n");
	}
	fputc('\n', f);
}

static void text_record(struct batch *self, const struct session *s, bool summary)
{
	text_header(self, s, summary);
	if (s->collector_seen)
		text_threads(self, s, summary);
	if (s->collector_seen)
		text_stacks(self, s, summary);
	if (s->collector_seen && summary)
		text_bottlenecks(self->out, s);
	else
		fputc('\n', self->out);
	fflush(self->out);
}

/* errno is cleared before a record is written, so what a failed write
 * left there is still there (stdio flushes on its own when its buffer
 * fills). */
static void check_written(struct batch *self, bool summary)
{
	/* fclose() may report 0 after an earlier failed flush: look now. */
	if ((fflush(self->out) == 0 && !ferror(self->out)) || self->failed)
		return;
	self->failed = true;
	self->error = errno ? errno : EIO;
	/* The summary comes after the command ended. */
	format_warn("writing %s failed: %s%s", self->path ? self->path : "the report",
		    strerror(self->error), summary ? "; the summary is lost" : "; the command runs on");
}

void batch_sample(struct batch *self, const struct session *s)
{
	errno = 0;
	if (self->json)
		json_record(self, s, false);
	else
		text_record(self, s, false);
	check_written(self, false);
}

void batch_summary(struct batch *self, const struct session *s)
{
	errno = 0;
	if (self->json)
		json_record(self, s, true);
	else
		text_record(self, s, true);
	check_written(self, true);
}

/* ---------------------------------------------------------------- as a watch sink */

int batch_open(struct batch *self, const struct options *opts, char *err, size_t errlen)
{
	FILE *out = stdout;
	if (opts->output_path && strcmp(opts->output_path, "-") != 0) {
		int fd = options_open_output(opts->output_path, "-o", opts->force, err, errlen);
		if (fd < 0)
			return -1;
		out = fdopen(fd, "w");
		if (!out) {
			snprintf(err, errlen, "%s: %s", opts->output_path, strerror(errno));
			close(fd);
			return -1;
		}
	}
	batch_init(self, out, opts->json, !opts->no_stacks);
	self->path = opts->output_path;
	return 0;
}

void batch_close(struct batch *self)
{
	if (!self->out || self->out == stdout)
		return;
	if (fclose(self->out) != 0 && !self->failed) {
		format_warn("writing %s failed: %s", self->path, strerror(errno));
		self->failed = true;
	}
	self->out = NULL;
}

static void sink_sample(void *ctx, const struct session *s)
{
	batch_sample(ctx, s);
}

static void sink_notice(void *ctx, const struct session *s, enum watch_notice kind,
			const char *msg)
{
	(void)ctx;
	(void)s;
	if (kind == WATCH_NOTICE_OPEN_ERROR)
		format_warn("%s", msg);
	else if (kind == WATCH_NOTICE_NO_COLLECTOR)
		format_warn("%s; waiting for it to end", msg);
}

static int sink_finish(void *ctx, const struct session *s, const struct watch_outcome *o)
{
	struct batch *self = ctx;
	if (o->target->launched && s->ended && !s->collector_seen) {
		if (s->collector_mapped)
			format_warn("pid %d %s: no heap figures, the collector could not set "
				"up its shared memory (its own message says why)", s->pid,
				s->end_description);
		else
			/* a process gone within milliseconds may have had it
			 * mapped before memtop looked */
			format_warn("pid %d %s without publishing heap figures: it did not load "
				"the collector (statically linked or setuid?), or the collector "
				"could not set up (then its own message is above)", s->pid,
				s->end_description);
	}
	batch_summary(self, s);
	char msg[1024];
	if (session_room_message(s, msg, sizeof(msg)))
		format_warn("%s", msg);
	batch_close(self);
	return self->failed ? -1 : 0;
}

struct watch_sink batch_sink(struct batch *self)
{
	struct watch_sink k = {
		.ctx = self,
		.sample = sink_sample,
		.notice = sink_notice,
		.finish = sink_finish,
	};
	return k;
}
