/*
 * test_bottleneck.c - the bottleneck rules on sessions built by hand: each
 * rule fires at its threshold with the severity of its formula and the
 * measured figures in its description, and stays silent just below the
 * threshold and when its inputs are missing (NAN, no history, no stacks, no
 * mallinfo); findings come most severe first, filtered by thread, cut to
 * the caller's array; hostile thread names reach descriptions only through
 * the terminal sanitizer.
 */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bottleneck.h"
#include "format.h"
#include "session.h"

#define MIB (1024.0 * 1024.0)
#define MAXF 64
#define NTHREADS 4

/* One hand-built session and the storage its pointers refer to. */
struct fixture {
	struct session s;
	struct thread_stat th[NTHREADS];
	struct history_point proc_pts[SESSION_HISTORY_PROCESS];
	struct history_point th_pts[NTHREADS][SESSION_HISTORY_THREAD];
	struct bottleneck out[MAXF];
};

static struct fixture *fx_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->s.pid = 100;
	f->s.threads = f->th;
	f->s.nthreads = NTHREADS;
	f->s.capacity = NTHREADS;
	f->s.elapsed_s = 10.0;
	f->s.interval_s = 1.0;
	f->s.updates = 10;
	f->s.proc_cpu_percent = NAN;
	f->s.sys_cpu_percent = NAN;
	f->s.hist.pts = f->proc_pts;
	f->s.hist.cap = SESSION_HISTORY_PROCESS;
	for (int i = 0; i < NTHREADS; i++) {
		struct thread_stat *t = &f->th[i];
		t->slot = (uint32_t)i;
		t->tid = -1;           /* a slot never seen: ignored */
		t->alloc_rate = NAN;
		t->cpu_percent = NAN;
		t->hist.pts = f->th_pts[i];
		t->hist.cap = SESSION_HISTORY_THREAD;
	}
	return f;
}

/* Thread i as seen on two samples, so its interval window exists. */
static struct thread_stat *fx_thread(struct fixture *f, int i, int tid, const char *name)
{
	struct thread_stat *t = &f->th[i];
	t->tid = tid;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->alloc_rate = 0.0;
	return t;
}

/* Adds n allocations of size bytes to the current counters. */
static void fx_allocs(struct thread_stat *t, uint64_t n, uint64_t size)
{
	t->c.allocs += n;
	t->c.bytes_allocated += n * size;
	t->c.usable_allocated += n * size;
	t->c.hist[mt_hist_bucket(size)] += n;
}

static void fx_frees(struct thread_stat *t, uint64_t n, uint64_t size)
{
	t->c.frees += n;
	t->c.usable_freed += n * size;
}

static void hist_set(struct history *h, const double *t, const double *y, size_t n)
{
	assert_true(n <= h->cap);
	for (size_t i = 0; i < n; i++) {
		h->pts[i] = (struct history_point){
			.t = t[i], .live_bytes = y[i], .alloc_rate = NAN,
			.rss_bytes = NAN, .cpu_percent = NAN,
		};
	}
	h->len = n;
	h->head = 0;
}

/* A straight timeline: n points one second apart, from y0 by step. */
static void hist_line(struct history *h, size_t n, double y0, double step)
{
	double t[SESSION_HISTORY_PROCESS], y[SESSION_HISTORY_PROCESS];
	for (size_t i = 0; i < n; i++) {
		t[i] = (double)i;
		y[i] = y0 + step * (double)i;
	}
	hist_set(h, t, y, n);
}

static size_t detect(struct fixture *f, int tid)
{
	return bottleneck_detect(&f->s, tid, f->out, MAXF);
}

/* The only finding of this type about tid; fails if there are several. */
static const struct bottleneck *find(struct fixture *f, size_t n, const char *type, int tid)
{
	const struct bottleneck *hit = NULL;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(f->out[i].type, type) && f->out[i].tid == tid) {
			assert_null(hit);
			hit = &f->out[i];
		}
	return hit;
}

static size_t count_type(struct fixture *f, size_t n, const char *type)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += !strcmp(f->out[i].type, type);
	return k;
}

static void assert_contains(const char *text, const char *part)
{
	if (!strstr(text, part))
		fail_msg("\"%s\" does not contain \"%s\"", text, part);
}

static void assert_near(double got, double want)
{
	if (fabs(got - want) > 1e-9)
		fail_msg("got %.12f, want %.12f", got, want);
}

/* Every finding's text is terminal-safe, valid UTF-8 and has a suggestion. */
static void assert_safe(const struct bottleneck *b)
{
	const char *fields[] = { b->description, b->suggestion };
	assert_true(strnlen(b->description, sizeof(b->description)) < sizeof(b->description));
	assert_true(strnlen(b->suggestion, sizeof(b->suggestion)) < sizeof(b->suggestion));
	assert_true(strlen(b->suggestion) > 20);
	for (int k = 0; k < 2; k++) {
		const unsigned char *s = (const unsigned char *)fields[k];
		size_t n = strlen(fields[k]);
		for (size_t i = 0; i < n;) {
			uint32_t cp;
			size_t len = format_utf8_decode(s + i, n - i, &cp);
			assert_int_not_equal(cp, FORMAT_UTF8_INVALID);
			assert_false(cp < 0x20 || (cp >= 0x7f && cp <= 0x9f));
			i += len;
		}
	}
	assert_true(b->severity >= 0.0 && b->severity <= 1.0);
}

/* ---------------------------------------------------------------- 1 */

static void test_small_churn_thread(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	struct thread_stat *t = fx_thread(f, 0, 11, "worker");
	fx_allocs(t, 100000, 24);      /* 100k/s over the 1 s interval */
	fx_allocs(t, 5000, 4096);      /* not small */
	fx_frees(t, 105000, 24);
	size_t n = detect(f, 0);
	const struct bottleneck *b = find(f, n, "small-alloc-churn", 11);
	assert_non_null(b);
	assert_near(b->severity, 0.2);
	assert_int_equal(b->stack_id, BOTTLENECK_NO_STACK);
	assert_contains(b->description, "thread 'worker' (tid 11)");
	assert_contains(b->description, "100k/s allocations below 1 KiB");
	assert_contains(b->description, "95% of its 105k/s");
	assert_contains(b->description, "average request 218 B");  /* (2.4M+20.48M)/105k */
	assert_contains(b->suggestion, "Pool");
	assert_safe(b);

	/* Tenfold: 0.6, a hundredfold: 1, beyond: still 1. */
	t->c.hist[mt_hist_bucket(24)] = 1000000;
	n = detect(f, 0);
	assert_near(find(f, n, "small-alloc-churn", 11)->severity, 0.6);
	t->c.hist[mt_hist_bucket(24)] = 100000000;
	n = detect(f, 0);
	assert_near(find(f, n, "small-alloc-churn", 11)->severity, 1.0);
	t->c.hist[mt_hist_bucket(24)] = 1000000000;
	n = detect(f, 0);
	assert_near(find(f, n, "small-alloc-churn", 11)->severity, 1.0);

	/* Just below the threshold. */
	t->c.hist[mt_hist_bucket(24)] = 99999;
	n = detect(f, 0);
	assert_null(find(f, n, "small-alloc-churn", 11));

	/* First sample of the thread: no rate, no window. */
	t->c.hist[mt_hist_bucket(24)] = 200000;
	t->alloc_rate = NAN;
	n = detect(f, 0);
	assert_null(find(f, n, "small-alloc-churn", 11));

	/* The window is the interval: the same counters in the previous
	 * sample mean nothing happened in it. */
	t->alloc_rate = 0.0;
	t->prev = t->c;
	n = detect(f, 0);
	assert_null(find(f, n, "small-alloc-churn", 11));

	/* Final: the whole session (10 s), so 2M small allocs are 200k/s. */
	t->c.hist[mt_hist_bucket(24)] = 2000000;
	f->s.final = true;
	n = detect(f, 0);
	b = find(f, n, "small-alloc-churn", 11);
	assert_non_null(b);
	assert_near(b->severity, 0.2 + 0.4 * log10(2.0));
	assert_contains(b->description, "200k/s");
	assert_contains(b->description, "over 10.0s");

	/* An interval too short to give a rate. */
	f->s.final = false;
	memset(&t->prev, 0, sizeof(t->prev));
	f->s.interval_s = 0.01;
	n = detect(f, 0);
	assert_null(find(f, n, "small-alloc-churn", 11));
	free(f);
}

static void test_small_churn_stack(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	struct thread_stat *t = fx_thread(f, 0, 21, "parser");
	struct stack_stat st[2] = {
		{ .id = 7, .allocs_est = 100000.0, .bytes_est = 6400000.0,
		  .live_bytes_est = 0.0, .samples = 10, .min_size = 32, .max_size = 96 },
		{ .id = 8, .allocs_est = 1e6, .bytes_est = 2048e6, .samples = 500,
		  .min_size = 2048, .max_size = 2048 },   /* not small */
	};
	t->top_stacks = st;
	t->ntop = 2;
	f->s.stacks_enabled = true;
	size_t n = detect(f, 0);
	assert_int_equal(count_type(f, n, "small-alloc-churn"), 1);
	const struct bottleneck *b = find(f, n, "small-alloc-churn", 21);
	assert_non_null(b);
	assert_int_equal(b->stack_id, 7);
	assert_near(b->severity, 0.2);         /* 100k over 10 s: 10k/s */
	assert_contains(b->description, "stack 7");
	assert_contains(b->description, "thread 'parser' (tid 21)");
	assert_contains(b->description, "10.0k/s allocations");
	assert_contains(b->description, "average request 64 B");
	assert_contains(b->description, "32 B to 96 B");
	assert_contains(b->description, "10 samples");
	assert_safe(b);

	/* The same stack in the process list is not reported twice ... */
	struct stack_stat pst[2] = { st[0], st[0] };
	pst[1].id = 9;
	pst[1].allocs_est = 1e6;
	pst[1].bytes_est = 1e8;
	f->s.top_stacks = pst;
	f->s.ntop = 2;
	n = detect(f, 0);
	assert_int_equal(count_type(f, n, "small-alloc-churn"), 2);
	/* ... but a process-wide one no thread reported is, with tid 0. */
	b = find(f, n, "small-alloc-churn", 0);
	assert_non_null(b);
	assert_int_equal(b->stack_id, 9);
	assert_near(b->severity, 0.6);         /* 100k/s */
	assert_contains(b->description, "stack 9 in the process");
	f->s.ntop = 0;

	/* Just below: rate, sample count, average size. */
	st[0].allocs_est = 99999.0;
	n = detect(f, 0);
	assert_int_equal(count_type(f, n, "small-alloc-churn"), 0);
	st[0].allocs_est = 100000.0;
	st[0].samples = 9;
	n = detect(f, 0);
	assert_int_equal(count_type(f, n, "small-alloc-churn"), 0);
	st[0].samples = 10;
	st[0].bytes_est = 1024.0 * 100000.0;
	n = detect(f, 0);
	assert_int_equal(count_type(f, n, "small-alloc-churn"), 0);
	st[0].bytes_est = 6400000.0;
	/* Estimates not measured. */
	st[0].allocs_est = NAN;
	n = detect(f, 0);
	assert_int_equal(count_type(f, n, "small-alloc-churn"), 0);
	st[0].allocs_est = 100000.0;
	/* A session too short for rates from sums. */
	f->s.elapsed_s = 0.5;
	n = detect(f, 0);
	assert_int_equal(count_type(f, n, "small-alloc-churn"), 0);
	f->s.elapsed_s = 10.0;
	/* No stacks at all. */
	t->top_stacks = NULL;
	t->ntop = 0;
	n = detect(f, 0);
	assert_int_equal(count_type(f, n, "small-alloc-churn"), 0);
	free(f);
}

/* ---------------------------------------------------------------- 2 */

static void test_leak_growth(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	struct thread_stat *t = fx_thread(f, 0, 31, "cache");
	/* 10 points over 9 s, +128 KiB each: +1.125 MiB, 128 KiB/s. */
	hist_line(&t->hist, 10, 4 * MIB, 131072.0);
	hist_line(&f->s.hist, 10, 6 * MIB, 131072.0);
	size_t n = detect(f, 0);
	const struct bottleneck *b = find(f, n, "leak-growth", 31);
	assert_non_null(b);
	double sev = 0.2 + 0.2 * log10(128.0);
	assert_near(b->severity, sev);
	assert_contains(b->description, "live heap of thread 'cache' (tid 31)");
	assert_contains(b->description, "rose in 9 of 9 intervals over 9.00s");
	assert_contains(b->description, "from 4.00 MiB to 5.12 MiB (+1.12 MiB");
	assert_contains(b->description, "slope 128 KiB/s");
	assert_int_equal(b->stack_id, BOTTLENECK_NO_STACK);
	assert_safe(b);
	b = find(f, n, "leak-growth", 0);
	assert_non_null(b);
	assert_near(b->severity, sev);
	assert_contains(b->description, "live heap of the process");

	/* With stacks: the one holding the most live bytes is named. */
	struct stack_stat st[3] = {
		{ .id = 3, .allocs_est = 10, .bytes_est = 1e6, .live_bytes_est = 1e5, .samples = 5 },
		{ .id = 4, .allocs_est = 10, .bytes_est = 1e5, .live_bytes_est = 9e5, .samples = 5 },
		{ .id = 5, .allocs_est = 10, .bytes_est = 1e5, .live_bytes_est = NAN, .samples = 5 },
	};
	t->top_stacks = st;
	t->ntop = 3;
	n = detect(f, 0);
	b = find(f, n, "leak-growth", 31);
	assert_int_equal(b->stack_id, 4);
	assert_contains(b->description, "most live bytes from stack 4 (about 879 KiB)");
	assert_int_equal(find(f, n, "leak-growth", 0)->stack_id, BOTTLENECK_NO_STACK);

	/* Faster growth, higher severity: 100 MiB/s is 0.2 + 0.2 * 5. */
	hist_line(&t->hist, 10, 0, 100 * MIB);
	hist_line(&f->s.hist, 10, 0, 100 * MIB);
	n = detect(f, 0);
	assert_near(find(f, n, "leak-growth", 31)->severity, 1.0);
	free(f);
}

static void test_leak_growth_below(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	struct thread_stat *t = fx_thread(f, 0, 32, "cache");
	/* Net growth 1 MiB - 4 bytes. */
	hist_line(&t->hist, 10, 0, 116508.0);
	hist_line(&f->s.hist, 10, 0, 116508.0);
	size_t n = detect(f, 0);
	assert_int_equal(count_type(f, n, "leak-growth"), 0);
	/* 1 MiB exactly fires (both lines). */
	hist_line(&t->hist, 10, 0, MIB / 9.0);
	hist_line(&f->s.hist, 10, 0, MIB / 9.0);
	n = detect(f, 0);
	assert_int_equal(count_type(f, n, "leak-growth"), 2);

	/* 9 points: too little history. */
	hist_line(&t->hist, 9, 0, MIB);
	hist_line(&f->s.hist, 9, 0, MIB);
	n = detect(f, 0);
	assert_int_equal(count_type(f, n, "leak-growth"), 0);

	/* 10 points over 4.5 s: too short a span. */
	double tt[10], y[10];
	for (int i = 0; i < 10; i++) {
		tt[i] = 0.5 * i;
		y[i] = MIB * i;
	}
	hist_set(&t->hist, tt, y, 10);
	hist_set(&f->s.hist, tt, y, 10);
	n = detect(f, 0);
	assert_int_equal(count_type(f, n, "leak-growth"), 0);

	/* Rising in 7 of 9 intervals (80% needs 7.2): not steady.  8 of 9 is. */
	for (int i = 0; i < 10; i++)
		tt[i] = i;
	double y7[10] = { 0, 1, 2, 1.5, 3, 4, 3.5, 5, 6, 7 };
	double y8[10] = { 0, 1, 2, 1.5, 3, 4, 5, 6, 7, 8 };
	for (int i = 0; i < 10; i++) {
		y7[i] *= MIB;
		y8[i] *= MIB;
	}
	hist_set(&t->hist, tt, y7, 10);
	hist_set(&f->s.hist, tt, y7, 10);
	n = detect(f, 0);
	assert_int_equal(count_type(f, n, "leak-growth"), 0);
	hist_set(&t->hist, tt, y8, 10);
	hist_set(&f->s.hist, tt, y8, 10);
	n = detect(f, 0);
	assert_int_equal(count_type(f, n, "leak-growth"), 2);
	assert_contains(find(f, n, "leak-growth", 32)->description, "rose in 8 of 9 intervals");

	/* An unmeasured point cuts a timeline: only the 5 after it count.
	 * The thread's growth is still confirmed: the process's points at
	 * the thread's first and last instants are measured. */
	y8[4] = NAN;
	hist_set(&f->s.hist, tt, y8, 10);
	n = detect(f, 0);
	assert_null(find(f, n, "leak-growth", 0));
	assert_non_null(find(f, n, "leak-growth", 32));
	hist_set(&t->hist, tt, y8, 10);
	n = detect(f, 0);
	assert_null(find(f, n, "leak-growth", 32));

	/* A producer: its live bytes climb while the process stays flat
	 * (consumers free the blocks).  No leak. */
	hist_line(&t->hist, 10, 0, MIB);
	hist_line(&f->s.hist, 10, 50 * MIB, 0.0);
	n = detect(f, 0);
	assert_int_equal(count_type(f, n, "leak-growth"), 0);
	/* The process grew by half the thread's growth: confirmed; a little
	 * less: not. */
	hist_line(&f->s.hist, 10, 50 * MIB, MIB / 2);
	n = detect(f, 0);
	assert_non_null(find(f, n, "leak-growth", 32));
	assert_non_null(find(f, n, "leak-growth", 0));
	hist_line(&f->s.hist, 10, 50 * MIB, MIB / 2 - 1024);
	n = detect(f, 0);
	assert_null(find(f, n, "leak-growth", 32));
	assert_non_null(find(f, n, "leak-growth", 0));

	/* The thread's points have no counterpart in the process timeline. */
	hist_line(&f->s.hist, 10, 50 * MIB, MIB);
	for (size_t i = 0; i < f->s.hist.len; i++)
		f->s.hist.pts[i].t += 0.5;
	n = detect(f, 0);
	assert_null(find(f, n, "leak-growth", 32));
	free(f);
}

/* ---------------------------------------------------------------- 3 */

static void test_large_alloc_count(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	struct thread_stat *t = fx_thread(f, 0, 41, "loader");
	fx_allocs(t, 10, 1 << 20);       /* 10/s of exactly 1 MiB */
	fx_allocs(t, 1000, (1 << 20) - 1);
	size_t n = detect(f, 0);
	const struct bottleneck *b = find(f, n, "large-alloc-spike", 41);
	assert_non_null(b);
	assert_near(b->severity, 0.2);
	assert_contains(b->description, "thread 'loader' (tid 41) made 10/s allocations of "
			"1 MiB or more (10 over 1.00s)");
	assert_safe(b);
	t->c.hist[mt_hist_bucket(1 << 20)] = 100;
	t->c.hist[MT_HIST_BUCKETS - 1] = 900;   /* 1 GiB and up count too */
	n = detect(f, 0);
	assert_near(find(f, n, "large-alloc-spike", 41)->severity, 1.0);
	/* 9 per second: below; 1 MiB - 1 is not large. */
	t->c.hist[MT_HIST_BUCKETS - 1] = 0;
	t->c.hist[mt_hist_bucket(1 << 20)] = 9;
	n = detect(f, 0);
	assert_null(find(f, n, "large-alloc-spike", 41));
	/* No window (first sample): no rate. */
	t->c.hist[mt_hist_bucket(1 << 20)] = 50;
	t->alloc_rate = NAN;
	n = detect(f, 0);
	assert_null(find(f, n, "large-alloc-spike", 41));
	free(f);
}

static void test_large_alloc_jump(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	struct thread_stat *t = fx_thread(f, 0, 42, "loader");
	double tt[4] = { 0, 1, 2, 3 };
	double y[4] = { 0, 10 * MIB, 74 * MIB, 74 * MIB };  /* +64 MiB at 2 s */
	hist_set(&t->hist, tt, y, 4);
	hist_set(&f->s.hist, tt, y, 4);
	size_t n = detect(f, 0);
	const struct bottleneck *b = find(f, n, "large-alloc-spike", 42);
	assert_non_null(b);
	assert_near(b->severity, 0.2);
	assert_contains(b->description, "thread 'loader' (tid 42): live heap jumped by "
			"64.0 MiB in one interval (at 2.00s, from 10.0 MiB to 74.0 MiB)");
	assert_safe(b);
	b = find(f, n, "large-alloc-spike", 0);
	assert_non_null(b);
	assert_contains(b->description, "the process: live heap jumped by 64.0 MiB");

	/* Together with many large allocations: one finding, the worse
	 * severity (640 MiB jump: 0.6; 10/s: 0.2). */
	y[2] = 650 * MIB;
	hist_set(&t->hist, tt, y, 4);
	fx_allocs(t, 10, 8 << 20);
	n = detect(f, 0);
	b = find(f, n, "large-alloc-spike", 42);
	assert_near(b->severity, 0.2 + 0.4 * log10(640.0 / 64.0));
	assert_contains(b->description, "made 10/s allocations of 1 MiB or more");
	assert_contains(b->description, "; its live heap jumped by 640 MiB");
	memset(&t->c, 0, sizeof(t->c));

	/* 1 byte less than 64 MiB. */
	y[2] = 74 * MIB - 1;
	hist_set(&t->hist, tt, y, 4);
	hist_set(&f->s.hist, tt, y, 4);
	n = detect(f, 0);
	assert_int_equal(count_type(f, n, "large-alloc-spike"), 0);
	/* 64 MiB on a heap of 300 MiB: below a quarter of it. */
	double big[4] = { 236 * MIB, 236 * MIB, 300 * MIB, 300 * MIB };
	hist_set(&f->s.hist, tt, big, 4);
	n = detect(f, 0);
	assert_null(find(f, n, "large-alloc-spike", 0));
	/* 64 MiB on 256 MiB: exactly a quarter fires. */
	big[0] = big[1] = 192 * MIB;
	big[2] = big[3] = 256 * MIB;
	hist_set(&f->s.hist, tt, big, 4);
	n = detect(f, 0);
	assert_non_null(find(f, n, "large-alloc-spike", 0));
	/* A single point, or none: nothing to compare. */
	f->s.hist.len = 1;
	t->hist.len = 0;
	n = detect(f, 0);
	assert_int_equal(count_type(f, n, "large-alloc-spike"), 0);
	free(f);
}

/* ---------------------------------------------------------------- 4 */

static void test_temporary_churn(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	struct thread_stat *t = fx_thread(f, 0, 51, "encoder");
	fx_allocs(t, 10000, 8192);
	fx_frees(t, 10000, 8192);
	fx_allocs(t, 5000, 64);             /* small ones do not count toward the rate */
	fx_frees(t, 5000, 64);
	size_t n = detect(f, 0);
	const struct bottleneck *b = find(f, n, "temporary-churn", 51);
	assert_non_null(b);
	assert_near(b->severity, 0.2);
	assert_contains(b->description, "thread 'encoder' (tid 51) made 10.0k/s allocations of "
			"1 KiB or more (average request 5.35 KiB, 78.4 MiB/s) and freed 100% as "
			"many blocks over 1.00s; its live heap changed by only 0 B");
	assert_contains(b->suggestion, "reuse");
	assert_safe(b);

	/* 100k/s: 0.6. */
	t->c.hist[mt_hist_bucket(8192)] = 100000;
	n = detect(f, 0);
	assert_near(find(f, n, "temporary-churn", 51)->severity, 0.6);
	t->c.hist[mt_hist_bucket(8192)] = 10000;

	/* Below: 9999/s. */
	t->c.hist[mt_hist_bucket(8192)] = 9999;
	n = detect(f, 0);
	assert_null(find(f, n, "temporary-churn", 51));
	t->c.hist[mt_hist_bucket(8192)] = 10000;

	/* Frees at 89% of allocs: not balanced (90% is). */
	t->c.frees = 13350;                 /* of 15000 */
	n = detect(f, 0);
	assert_null(find(f, n, "temporary-churn", 51));
	t->c.frees = 13500;
	n = detect(f, 0);
	assert_non_null(find(f, n, "temporary-churn", 51));
	t->c.frees = 16500;                 /* 110% */
	n = detect(f, 0);
	assert_non_null(find(f, n, "temporary-churn", 51));
	t->c.frees = 16650;                 /* 111% */
	n = detect(f, 0);
	assert_null(find(f, n, "temporary-churn", 51));
	t->c.frees = 15000;

	/* Live heap grew by more than a tenth of what was turned over. */
	uint64_t usable = t->c.usable_allocated;
	t->c.usable_freed = usable - usable / 10 - 1;
	n = detect(f, 0);
	assert_null(find(f, n, "temporary-churn", 51));
	t->c.usable_freed = usable - usable / 10;
	n = detect(f, 0);
	assert_non_null(find(f, n, "temporary-churn", 51));

	/* No window. */
	t->alloc_rate = NAN;
	n = detect(f, 0);
	assert_null(find(f, n, "temporary-churn", 51));
	free(f);
}

/* ---------------------------------------------------------------- 5 */

static void test_cross_thread_free(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	struct thread_stat *cons = fx_thread(f, 0, 61, "consumer");
	struct thread_stat *prod = fx_thread(f, 1, 62, "producer");
	struct thread_stat *other = fx_thread(f, 2, 63, "idle");
	fx_allocs(prod, 30000, 100);
	fx_allocs(other, 10, 100);
	fx_allocs(cons, 10000, 100);
	fx_frees(cons, 20000, 100);        /* 10k excess over 10 s: 1000/s, half its frees */
	size_t n = detect(f, 0);
	assert_int_equal(count_type(f, n, "cross-thread-free"), 1);
	const struct bottleneck *b = find(f, n, "cross-thread-free", 61);
	assert_non_null(b);
	assert_near(b->severity, 0.2);
	assert_contains(b->description, "thread 'consumer' (tid 61) freed 20.0k blocks but "
			"allocated 10.0k: at least 10.0k (50% of its frees, 1.0k/s over the session) "
			"were allocated by other threads; thread 'producer' (tid 62) allocated 30.0k "
			"more blocks than it freed");
	assert_safe(b);

	/* 100k/s of excess frees: severity 1. */
	cons->c.frees = 1010000;
	n = detect(f, 0);
	assert_near(find(f, n, "cross-thread-free", 61)->severity, 1.0);

	/* 9999 excess: below 1000/s. */
	cons->c.frees = 19999;
	n = detect(f, 0);
	assert_null(find(f, n, "cross-thread-free", 61));
	/* 10k excess of 40k frees: a quarter, below a third. */
	cons->c.allocs = 30000;
	cons->c.frees = 40000;
	n = detect(f, 0);
	assert_null(find(f, n, "cross-thread-free", 61));
	/* 15k of 45k: exactly a third fires. */
	cons->c.frees = 45000;
	n = detect(f, 0);
	assert_non_null(find(f, n, "cross-thread-free", 61));
	/* A session under a second: no lifetime rate. */
	f->s.elapsed_s = 0.9;
	n = detect(f, 0);
	assert_null(find(f, n, "cross-thread-free", 61));
	f->s.elapsed_s = NAN;
	n = detect(f, 0);
	assert_null(find(f, n, "cross-thread-free", 61));
	free(f);
}

/* ---------------------------------------------------------------- 6 */

static void test_realloc_growth(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	struct thread_stat *t = fx_thread(f, 0, 71, "builder");
	fx_allocs(t, 5000, 200);
	t->c.reallocs = 1000;               /* 1000/s, 20% of allocs */
	size_t n = detect(f, 0);
	const struct bottleneck *b = find(f, n, "realloc-growth", 71);
	assert_non_null(b);
	assert_near(b->severity, 0.2);
	assert_contains(b->description, "thread 'builder' (tid 71) made 1.0k/s reallocs over "
			"1.00s, 20% of its allocation calls");
	assert_contains(b->suggestion, "geometrically");
	assert_safe(b);
	t->c.reallocs = 5000;
	n = detect(f, 0);
	assert_near(find(f, n, "realloc-growth", 71)->severity, 0.2 + 0.4 * log10(5.0));
	/* 999/s. */
	t->c.reallocs = 999;
	t->c.allocs = 4000;
	n = detect(f, 0);
	assert_null(find(f, n, "realloc-growth", 71));
	/* 1000/s but 19.99% of allocs. */
	t->c.reallocs = 1000;
	t->c.allocs = 5003;
	n = detect(f, 0);
	assert_null(find(f, n, "realloc-growth", 71));
	/* Reallocs made before the interval do not count in it. */
	t->c.allocs = 5000;
	t->prev.reallocs = 1;
	n = detect(f, 0);
	assert_null(find(f, n, "realloc-growth", 71));
	free(f);
}

/* ---------------------------------------------------------------- 7 */

static void test_fragmentation(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	f->s.mi_valid = true;
	f->s.mi.arena = 100ull << 20;
	f->s.mi.fordblks = 30ull << 20;
	f->s.mi.ordblks = 1234;
	f->s.mi.keepcost = 1ull << 20;
	size_t n = detect(f, 0);
	const struct bottleneck *b = find(f, n, "fragmentation", 0);
	assert_non_null(b);
	assert_near(b->severity, 0.2);
	assert_int_equal(b->stack_id, BOTTLENECK_NO_STACK);
	assert_contains(b->description, "the malloc heap holds 30.0 MiB free in 1.2k chunks, "
			"30% of its 100 MiB arena (1.00 MiB of it at the top");
	assert_contains(b->suggestion, "malloc_trim");
	assert_contains(b->suggestion, "M_ARENA_MAX");
	assert_safe(b);
	f->s.mi.fordblks = 60ull << 20;
	n = detect(f, 0);
	assert_near(find(f, n, "fragmentation", 0)->severity, 0.2 + 0.3 * 0.8 / 0.6);
	f->s.mi.fordblks = 90ull << 20;
	n = detect(f, 0);
	assert_near(find(f, n, "fragmentation", 0)->severity, 1.0);
	/* Below the ratio. */
	f->s.mi.fordblks = (30ull << 20) - 1024;
	n = detect(f, 0);
	assert_null(find(f, n, "fragmentation", 0));
	/* A small arena: 63.9 MiB with half of it free. */
	f->s.mi.arena = (64ull << 20) - 4096;
	f->s.mi.fordblks = 32ull << 20;
	n = detect(f, 0);
	assert_null(find(f, n, "fragmentation", 0));
	f->s.mi.arena = 64ull << 20;
	n = detect(f, 0);
	assert_non_null(find(f, n, "fragmentation", 0));
	/* mallinfo not available. */
	f->s.mi_valid = false;
	n = detect(f, 0);
	assert_null(find(f, n, "fragmentation", 0));
	free(f);
}

/* ---------------------------------------------------------------- 8 */

static void test_failed_allocations(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	struct thread_stat *t = fx_thread(f, 0, 81, "hungry");
	t->c.failed = 1;
	size_t n = detect(f, 0);
	const struct bottleneck *b = find(f, n, "failed-allocations", 81);
	assert_non_null(b);
	assert_near(b->severity, 0.6);
	assert_contains(b->description, "thread 'hungry' (tid 81): 1 allocation call returned "
			"no block, 1 in the last interval");
	assert_contains(b->suggestion, "memory.max");
	assert_safe(b);
	t->prev.failed = 1;
	t->c.failed = 10;
	n = detect(f, 0);
	b = find(f, n, "failed-allocations", 81);
	assert_near(b->severity, 0.8);
	assert_contains(b->description, "10 allocation calls returned no block, 9 in the last interval");
	t->prev.failed = 10;
	t->c.failed = 100000;
	n = detect(f, 0);
	assert_near(find(f, n, "failed-allocations", 81)->severity, 1.0);
	/* None failed, or none since the previous sample: the lifetime count
	 * still fires, without the interval part. */
	t->prev.failed = 100000;
	n = detect(f, 0);
	b = find(f, n, "failed-allocations", 81);
	assert_non_null(b);
	assert_null(strstr(b->description, "last interval"));
	t->c.failed = t->prev.failed = 0;
	n = detect(f, 0);
	assert_null(find(f, n, "failed-allocations", 81));
	/* Threads without a slot: a process-wide finding. */
	f->s.overflow.failed = 3;
	f->s.overflow.threads = 2;
	n = detect(f, 0);
	b = find(f, n, "failed-allocations", 0);
	assert_non_null(b);
	assert_near(b->severity, 0.6 + 0.2 * log10(3.0));
	assert_contains(b->description, "the process (threads without a slot of their own): "
			"3 allocation calls returned no block");
	free(f);
}

/* ---------------------------------------------------------------- output */

/* A session where several rules fire with known severities. */
static struct fixture *busy_session(void)
{
	struct fixture *f = fx_new();
	struct thread_stat *a = fx_thread(f, 0, 91, "a");
	struct thread_stat *b = fx_thread(f, 1, 92, "b");
	fx_allocs(a, 1000000, 16);          /* small churn 1M/s: 0.6 */
	fx_frees(a, 1000000, 16);
	b->c.failed = 10;                   /* 0.8 */
	fx_allocs(b, 5000, 200);
	b->c.reallocs = 1000;               /* 0.2 */
	f->s.mi_valid = true;               /* fragmentation 0.6 (tid 0) */
	f->s.mi.arena = 100ull << 20;
	f->s.mi.fordblks = 60ull << 20;
	return f;
}

static void test_sorted(void **state)
{
	(void)state;
	struct fixture *f = busy_session();
	size_t n = detect(f, 0);
	assert_int_equal(n, 4);
	assert_string_equal(f->out[0].type, "failed-allocations");
	assert_int_equal(f->out[0].tid, 92);
	/* Equal severities (0.6): the lower tid first, the process's first. */
	assert_string_equal(f->out[1].type, "fragmentation");
	assert_int_equal(f->out[1].tid, 0);
	assert_string_equal(f->out[2].type, "small-alloc-churn");
	assert_int_equal(f->out[2].tid, 91);
	assert_string_equal(f->out[3].type, "realloc-growth");
	for (size_t i = 0; i + 1 < n; i++)
		assert_true(f->out[i].severity >= f->out[i + 1].severity);
	for (size_t i = 0; i < n; i++)
		assert_safe(&f->out[i]);
	free(f);
}

static void test_tid_filter(void **state)
{
	(void)state;
	struct fixture *f = busy_session();
	size_t n = detect(f, 92);
	assert_int_equal(n, 2);
	assert_string_equal(f->out[0].type, "failed-allocations");
	assert_string_equal(f->out[1].type, "realloc-growth");
	assert_int_equal(f->out[0].tid, 92);
	assert_int_equal(f->out[1].tid, 92);
	n = detect(f, 91);
	assert_int_equal(n, 1);
	assert_string_equal(f->out[0].type, "small-alloc-churn");
	/* A thread with no findings, and one that does not exist. */
	fx_thread(f, 2, 93, "quiet");
	assert_int_equal(detect(f, 93), 0);
	assert_int_equal(detect(f, 12345), 0);
	/* 0 and negative: everything, the process's findings included. */
	assert_int_equal(detect(f, 0), 4);
	assert_int_equal(detect(f, -1), 4);
	free(f);
}

static void test_max_truncation(void **state)
{
	(void)state;
	struct fixture *f = busy_session();
	struct bottleneck two[3];
	memset(two, 0x5a, sizeof(two));
	size_t n = bottleneck_detect(&f->s, 0, two, 2);
	assert_int_equal(n, 2);
	assert_string_equal(two[0].type, "failed-allocations");
	assert_string_equal(two[1].type, "fragmentation");
	/* Nothing written past max. */
	unsigned char *past = (unsigned char *)&two[2];
	for (size_t i = 0; i < sizeof(two[2]); i++)
		assert_int_equal(past[i], 0x5a);
	n = bottleneck_detect(&f->s, 0, two, 1);
	assert_int_equal(n, 1);
	assert_string_equal(two[0].type, "failed-allocations");
	assert_int_equal(bottleneck_detect(&f->s, 0, two, 0), 0);
	assert_int_equal(bottleneck_detect(&f->s, 0, NULL, 5), 0);
	assert_int_equal(bottleneck_detect(NULL, 0, two, 2), 0);
	free(f);
}

/* An empty session (nothing measured yet) finds nothing. */
static void test_empty_session(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	assert_int_equal(detect(f, 0), 0);
	f->s.threads = NULL;
	f->s.nthreads = 0;
	f->s.hist.pts = NULL;
	f->s.hist.len = 0;
	assert_int_equal(detect(f, 0), 0);
	free(f);
}

static void test_hostile_names(void **state)
{
	(void)state;
	struct fixture *f = fx_new();
	struct thread_stat *t = fx_thread(f, 0, 101, "");
	memcpy(t->name, "\x1b[31m<script>'\"\x07\r\n\xff\xc2\x9b", 22);
	fx_allocs(t, 200000, 16);
	size_t n = detect(f, 0);
	const struct bottleneck *b = find(f, n, "small-alloc-churn", 101);
	assert_non_null(b);
	assert_contains(b->description, "thread '?[31m<script>'\"?" "?" "?" "?" "?' (tid 101)");
	assert_safe(b);

	/* A name that fills the field without a NUL. */
	memset(t->name, 'x', sizeof(t->name));
	n = detect(f, 0);
	b = find(f, n, "small-alloc-churn", 101);
	assert_non_null(b);
	assert_contains(b->description, "thread 'xxxxxxxxxx");
	assert_safe(b);

	/* Long multibyte names in a long description: cut whole characters. */
	struct thread_stat *p = fx_thread(f, 1, 102, "");
	memset(&t->c, 0, sizeof(t->c));
	fx_allocs(t, 10, 100);
	fx_frees(t, 100000, 100);
	fx_allocs(p, 200000, 100);
	memset(t->name, 'c', sizeof(t->name));
	memcpy(t->name, "\xe2\x80\xae", 3);              /* U+202E, a bidi override */
	for (size_t i = 0; i + 3 < sizeof(p->name); i += 3)
		memcpy(p->name + i, "\xe2\x82\xac", 3);   /* U+20AC, three bytes */
	t->name[63] = '\0';
	p->name[63] = '\0';
	n = detect(f, 0);
	b = find(f, n, "cross-thread-free", 101);
	assert_non_null(b);
	assert_contains(b->description, "\xe2\x82\xac\xe2\x82\xac");
	assert_null(strstr(b->description, "\xe2\x80\xae"));
	assert_contains(b->description, "thread '?cccc");
	/* The producer's name comes last and is cut inside: by whole
	 * characters, within the last 3 bytes of the field. */
	size_t len = strlen(b->description);
	assert_true(len >= sizeof(b->description) - 3);
	assert_null(strstr(b->description, "more blocks than it freed"));
	assert_memory_equal(b->description + len - 3, "\xe2\x82\xac", 3);
	assert_int_equal((len - (size_t)(strstr(b->description, "\xe2\x82\xac") -
					 b->description)) % 3, 0);
	assert_safe(b);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_churn_thread),
		cmocka_unit_test(test_small_churn_stack),
		cmocka_unit_test(test_leak_growth),
		cmocka_unit_test(test_leak_growth_below),
		cmocka_unit_test(test_large_alloc_count),
		cmocka_unit_test(test_large_alloc_jump),
		cmocka_unit_test(test_temporary_churn),
		cmocka_unit_test(test_cross_thread_free),
		cmocka_unit_test(test_realloc_growth),
		cmocka_unit_test(test_fragmentation),
		cmocka_unit_test(test_failed_allocations),
		cmocka_unit_test(test_sorted),
		cmocka_unit_test(test_tid_filter),
		cmocka_unit_test(test_max_truncation),
		cmocka_unit_test(test_empty_session),
		cmocka_unit_test(test_hostile_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
