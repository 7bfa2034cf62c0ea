/*
 * test_trace_reader.c - the trace reader (src/trace_reader.c) and the
 * report built on it (src/report.c), on files made here with the
 * collector's own encoder (trace_format.h, trace_encode of trace.h):
 * every block type and every event op read back field by field, events of
 * several threads merged by time, clock pairs turned into times, the
 * counting rules, leaks and temporary allocations; then damaged input:
 * a small file cut at every offset, every byte of it flipped, wrong magic
 * and version, empty files, a directory without a trace, a FIFO.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"
#include "trace.h"
#include "trace_reader.h"

#include "trace_build.h"

/* ---------------------------------------------------------------- reading */

#define MAX_EVENTS 64

struct seen {
	struct trace_event ev[MAX_EVENTS];
	size_t nev;
	uint32_t stack_id, stack_depth, stack_flags;
	uint64_t frames[8];
	char module[64];
	struct mt_tb_module mod;
	struct mt_tb_metrics metrics;
	size_t nmetrics, nwarnings;
};

static void on_stack(void *ctx, const struct trace_file *f, uint32_t id, uint32_t flags,
		     const uint64_t *frames, uint32_t depth)
{
	struct seen *s = ctx;
	s->stack_id = id;
	s->stack_flags = flags;
	s->stack_depth = depth;
	memcpy(s->frames, frames, (depth < 8 ? depth : 8) * sizeof(frames[0]));
	(void)f;
}

static void on_module(void *ctx, const struct trace_file *f, const struct mt_tb_module *m,
		      const char *path)
{
	struct seen *s = ctx;
	s->mod = *m;
	snprintf(s->module, sizeof(s->module), "%s", path);
	(void)f;
}

static void on_metrics(void *ctx, const struct trace_file *f, const struct mt_tb_metrics *m)
{
	struct seen *s = ctx;
	s->metrics = *m;
	s->nmetrics++;
	(void)f;
}

static void on_event(void *ctx, const struct trace_file *f, const struct trace_event *e)
{
	struct seen *s = ctx;
	if (s->nev < MAX_EVENTS)
		s->ev[s->nev] = *e;
	s->nev++;
	(void)f;
}

static void on_warning(void *ctx, const char *msg)
{
	struct seen *s = ctx;
	s->nwarnings++;
	(void)msg;
}

static const struct trace_visitor visitor = {
	.stack = on_stack, .module = on_module, .metrics = on_metrics, .event = on_event,
	.warning = on_warning,
};

/* Read a buffer as one file; the reader (to free) or NULL with err. */
static trace_reader *read_buf(const char *name, const void *d, size_t n, struct seen *s,
			      char *err, size_t errlen)
{
	trace_reader *r = trace_reader_new();
	assert_non_null(r);
	memset(s, 0, sizeof(*s));
	struct trace_visitor v = visitor;
	v.ctx = s;
	if (trace_reader_add_buffer(r, name, d, n, err, errlen) != 0) {
		trace_reader_free(r);
		return NULL;
	}
	trace_reader_scan(r, &v);
	for (size_t i = 0; i < trace_reader_file_count(r); i++)
		trace_reader_events(r, i, &v);
	return r;
}

/* A file with one of everything: the base of most tests below.  Ticks run
 * at 1 GHz from tick 1000 at realtime 1e12 + 1000 ns. */
#define T0_NS 1000000000000ull
static void full_file(struct tb *t)
{
	header(t, 42, 41, MT_TRACE_VERSION);
	clock_rec(t, 1000, T0_NS + 1000, 0);
	struct { struct mt_tb_module m; char path[16]; } mod = { { 0x1000, 0x2000, 0x300 }, "/lib/x.so" };
	block(t, MT_TB_MODULE, 0, &mod.m, sizeof(mod.m), mod.path, strlen(mod.path) + 1);
	thread_rec(t, 42, MT_THREAD_START, 0, "main", T0_NS + 1000, 0);
	thread_rec(t, 43, MT_THREAD_START, 1, "worker", T0_NS + 1100, 0);
	uint64_t frames[3] = { 0x1010, 0x1020, 0x1030 };
	struct mt_tb_stack st = { .id = 7, .depth = 3, .flags = MT_STACK_VALID | MT_STACK_TRUNCATED };
	block(t, MT_TB_STACK, 0, &st, sizeof(st), frames, sizeof(frames));
	struct evw *w = calloc(1, sizeof(*w));
	assert_non_null(w);
	/* main thread: one of each op */
	ev(w, MT_EV_ALLOC, 0x5000, 0, 100, 104, 0, 0, 0, 2000);
	ev(w, MT_EV_ALLOC | MT_EVF_ALIGN, 0x6000, 0, 64, 64, 4096, 0, 0, 2010);
	ev(w, MT_EV_ALLOC | MT_EVF_CALLOC, 0x4000, 0, 30, 40, 0, 7, 2 * MT_WEIGHT_ONE, 2020);
	ev(w, MT_EV_FREE, 0x6000, 0, 0, 64, 0, 0, 0, 2030);
	ev(w, MT_EV_REALLOC, 0x5000, 0x9000, 300, 312, 104, 7, MT_WEIGHT_ONE, 2040);
	ev(w, MT_EV_REALLOC_FREE, 0x9000, 0, 0, 0, 312, 0, 0, 2050);
	ev(w, MT_EV_FAILED, 0, 0, 1ull << 40, 0, 0, 0, 0, 2060);
	ev(w, MT_EV_FAILED | MT_EVF_ALIGN, 0, 0, 1ull << 41, 0, 64, 0, 0, 2070);
	flush(t, 42, w, 0);
	/* a signal handler's event of the main thread */
	ev(w, MT_EV_ALLOC, 0x7000, 0, 8, 24, 0, 0, 0, 2035);
	flush(t, 42, w, MT_EVENTS_NESTED);
	/* the worker: interleaved in time with main's */
	ev(w, MT_EV_ALLOC, 0x8000, 0, 16, 24, 0, 0, 0, 2015);
	ev(w, MT_EV_FREE, 0x4000, 0, 0, 40, 0, 0, 0, 2045);
	flush(t, 43, w, 0);
	free(w);
	clock_rec(t, 1001000, T0_NS + 1001000, 1000000000);
	struct mt_tb_metrics m = { T0_NS + 5000, 42, 2, 1 << 20, 3000000 };
	block(t, MT_TB_METRICS, 0, &m, sizeof(m), NULL, 0);
	uint32_t unknown = 12345;
	block(t, 99, 0, &unknown, sizeof(unknown), NULL, 0);   /* a later version's block */
	thread_rec(t, 43, MT_THREAD_EXIT, 1, "renamed", T0_NS + 3000, 777);
	struct mt_tb_end e = { T0_NS + 4000, 11, 2 };
	block(t, MT_TB_END, 0, &e, sizeof(e), NULL, 0);
}

static void test_every_block_and_op(void **state)
{
	(void)state;
	struct tb t = { 0 };
	full_file(&t);
	struct seen s;
	char err[512];
	trace_reader *r = read_buf("trace.42.mtt", t.b, t.n, &s, err, sizeof(err));
	assert_non_null(r);
	const struct trace_file *f = trace_reader_file(r, 0);
	assert_true(f->usable);
	assert_false(f->stopped);
	assert_int_equal(f->read_end, t.n);
	assert_int_equal(f->hdr.pid, 42);
	assert_int_equal(f->hdr.ppid, 41);
	assert_string_equal(f->hdr.exe, "/bin/prog42");
	assert_int_equal(s.nwarnings, 0);
	/* module, stack, metrics, end */
	assert_string_equal(s.module, "/lib/x.so");
	assert_int_equal(s.mod.start, 0x1000);
	assert_int_equal(s.mod.end, 0x2000);
	assert_int_equal(s.mod.offset, 0x300);
	assert_int_equal(s.stack_id, 7);
	assert_int_equal(s.stack_depth, 3);
	assert_int_equal(s.stack_flags, MT_STACK_VALID | MT_STACK_TRUNCATED);
	assert_int_equal(s.frames[2], 0x1030);
	assert_int_equal(s.nmetrics, 1);
	assert_int_equal(s.metrics.rss_bytes, 1 << 20);
	assert_true(f->has_end);
	assert_int_equal(f->end.events, 11);
	assert_int_equal(f->end.lost, 2);
	/* threads: the exit record renames and gives the CPU time */
	assert_int_equal(f->nthreads, 2);
	assert_int_equal(f->threads[0].tid, 42);
	assert_string_equal(f->threads[0].name, "main");
	assert_false(f->threads[0].exited);
	assert_int_equal(f->threads[1].tid, 43);
	assert_int_equal(f->threads[1].slot, 1);
	assert_string_equal(f->threads[1].name, "renamed");
	assert_true(f->threads[1].exited);
	assert_int_equal(f->threads[1].cpu_ns, 777);
	assert_int_equal(f->threads[1].end_ns, T0_NS + 3000);
	/* events: all of them, in time order across threads and nesting */
	assert_int_equal(f->events_declared, 11);
	assert_int_equal(s.nev, 11);
	assert_int_equal(f->events, 11);
	for (size_t i = 1; i < s.nev; i++)
		assert_true(s.ev[i - 1].ticks <= s.ev[i].ticks);
	const struct trace_event *e = s.ev;
	assert_int_equal(e[0].op, MT_EV_ALLOC);
	assert_int_equal(e[0].ptr, 0x5000);
	assert_int_equal(e[0].size, 100);
	assert_int_equal(e[0].usable, 104);
	assert_int_equal(e[0].weight, 0);
	assert_int_equal(e[0].time_ns, T0_NS + 2000);   /* 1 GHz between the pairs */
	assert_int_equal(e[1].op, MT_EV_ALLOC);
	assert_int_equal(e[1].flags, MT_EVF_ALIGN);
	assert_int_equal(e[1].align, 4096);
	assert_int_equal(e[2].ticks, 2015);               /* the worker's */
	assert_int_equal(e[2].thread, 1);
	assert_int_equal(e[3].flags, MT_EVF_CALLOC | MT_EVF_SAMPLED);
	assert_int_equal(e[3].ptr, 0x4000);
	assert_int_equal(e[3].stack_id, 7);
	assert_int_equal(e[3].weight, 2 * MT_WEIGHT_ONE);
	assert_int_equal(e[4].op, MT_EV_FREE);
	assert_int_equal(e[4].ptr, 0x6000);
	assert_int_equal(e[4].usable, 64);
	assert_true(e[5].nested);
	assert_int_equal(e[5].ptr, 0x7000);
	assert_int_equal(e[6].op, MT_EV_REALLOC);
	assert_int_equal(e[6].ptr, 0x5000);
	assert_int_equal(e[6].new_ptr, 0x9000);
	assert_int_equal(e[6].size, 300);
	assert_int_equal(e[6].usable, 312);
	assert_int_equal(e[6].old_usable, 104);
	assert_int_equal(e[6].stack_id, 7);
	assert_int_equal(e[6].weight, MT_WEIGHT_ONE);
	assert_int_equal(e[7].op, MT_EV_FREE);             /* the worker frees main's block */
	assert_int_equal(e[7].thread, 1);
	assert_int_equal(e[8].op, MT_EV_REALLOC_FREE);
	assert_int_equal(e[8].ptr, 0x9000);
	assert_int_equal(e[8].old_usable, 312);
	assert_int_equal(e[9].op, MT_EV_FAILED);
	assert_int_equal(e[9].size, 1ull << 40);
	assert_int_equal(e[10].op, MT_EV_FAILED);
	assert_int_equal(e[10].flags, MT_EVF_ALIGN);       /* and no alignment field */
	assert_int_equal(e[10].size, 1ull << 41);
	trace_reader_free(r);
	free(t.b);
}

static void test_session_file(void **state)
{
	(void)state;
	struct tb t = { 0 };
	header(&t, 0, 7, MT_TRACE_VERSION);
	for (int i = 0; i < 3; i++) {
		struct mt_tb_metrics m = { T0_NS + (uint64_t)i * 1000000000ull, 9, 3,
					   (uint64_t)(i + 1) << 20, UINT64_MAX };
		block(&t, MT_TB_METRICS, 0, &m, sizeof(m), NULL, 0);
	}
	struct mt_tb_session r = { 9, 137, T0_NS, T0_NS + 3000000000ull };
	const char tail[] = "./server --port 1\0end=killed by signal 9 (Killed)\0sampling=off\0other=1";
	block(&t, MT_TB_SESSION, 0, &r, sizeof(r), tail, sizeof(tail));
	struct seen s;
	char err[256];
	trace_reader *rd = read_buf("session.mtt", t.b, t.n, &s, err, sizeof(err));
	assert_non_null(rd);
	const struct trace_file *f = trace_reader_file(rd, 0);
	assert_true(f->is_session);
	assert_true(f->has_session);
	assert_int_equal(f->session.pid, 9);
	assert_int_equal(f->session.exit_status, 137);
	assert_string_equal(f->command, "./server --port 1");
	assert_string_equal(f->end_description, "killed by signal 9 (Killed)");
	assert_string_equal(f->sampling, "off");
	assert_int_equal(s.nmetrics, 3);
	assert_int_equal(s.metrics.rss_bytes, 3 << 20);
	assert_int_equal(f->first_ns, T0_NS);
	assert_int_equal(f->last_ns, T0_NS + 3000000000ull);
	trace_reader_free(rd);
	free(t.b);
}

static void test_clock_conversion(void **state)
{
	(void)state;
	struct tb t = { 0 };
	header(&t, 1, 0, MT_TRACE_VERSION);
	clock_rec(&t, 1000, 5000, 0);         /* uncalibrated */
	clock_rec(&t, 3000, 6000, 0);         /* 2 ticks a ns between these */
	clock_rec(&t, 5000, 8000, 1000000000);/* 1 tick a ns here, and calibrated */
	struct seen s;
	char err[256];
	trace_reader *r = read_buf("trace.1.mtt", t.b, t.n, &s, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(trace_reader_time_ns(r, 1000), 5000);
	assert_int_equal(trace_reader_time_ns(r, 2000), 5500);
	assert_int_equal(trace_reader_time_ns(r, 4000), 7000);
	assert_int_equal(trace_reader_time_ns(r, 5000), 8000);
	/* outside the pairs: the calibrated rate */
	assert_int_equal(trace_reader_time_ns(r, 6000), 9000);
	assert_int_equal(trace_reader_time_ns(r, 500), 4500);
	trace_reader_free(r);

	trace_reader *none = trace_reader_new();
	assert_int_equal(trace_reader_time_ns(none, 123), 0);
	trace_reader_free(none);
	free(t.b);
}

/* An event's time comes from memtop's clock page or from the clock
 * itself, which may be a little ahead: the encoder never lets a stream's
 * times go back. */
static void test_times_never_go_back(void **state)
{
	(void)state;
	struct tb t = { 0 };
	header(&t, 1, 0, MT_TRACE_VERSION);
	thread_rec(&t, 42, MT_THREAD_START, 0, "main", 1000, 0);
	struct evw *w = calloc(1, sizeof(*w));
	assert_non_null(w);
	ev(w, MT_EV_ALLOC, 0x5000, 0, 100, 104, 0, 0, 0, 5000);
	ev(w, MT_EV_ALLOC, 0x6000, 0, 100, 104, 0, 0, 0, 4000);
	ev(w, MT_EV_FREE, 0x5000, 0, 0, 104, 0, 0, 0, 4999);
	ev(w, MT_EV_FREE, 0x6000, 0, 0, 104, 0, 0, 0, 6000);
	flush(&t, 42, w, 0);
	free(w);
	struct seen s;
	char err[256];
	trace_reader *r = read_buf("trace.1.mtt", t.b, t.n, &s, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(s.nev, 4);
	assert_int_equal(s.ev[0].ticks, 5000);
	assert_int_equal(s.ev[1].ticks, 5000);
	assert_int_equal(s.ev[2].ticks, 5000);
	assert_int_equal(s.ev[3].ticks, 6000);
	trace_reader_free(r);
	free(t.b);
}

/* The same tid on a new slot is a new thread (the kernel reused it). */
static void test_tid_reuse(void **state)
{
	(void)state;
	struct tb t = { 0 };
	header(&t, 5, 0, MT_TRACE_VERSION);
	struct evw *w = calloc(1, sizeof(*w));
	thread_rec(&t, 6, MT_THREAD_START, 1, "first", 1, 0);
	ev(w, MT_EV_ALLOC, 0x100, 0, 8, 24, 0, 0, 0, 10);
	flush(&t, 6, w, 0);
	thread_rec(&t, 6, MT_THREAD_EXIT, 1, "first", 2, 0);
	thread_rec(&t, 6, MT_THREAD_START, 2, "second", 3, 0);
	ev(w, MT_EV_FREE, 0x100, 0, 0, 24, 0, 0, 0, 20);
	flush(&t, 6, w, 0);
	/* a restarted trace repeats the start record: the same thread */
	thread_rec(&t, 6, MT_THREAD_START, 2, "second", 4, 0);
	free(w);
	struct seen s;
	char err[256];
	trace_reader *r = read_buf("trace.5.mtt", t.b, t.n, &s, err, sizeof(err));
	const struct trace_file *f = trace_reader_file(r, 0);
	assert_int_equal(f->nthreads, 2);
	assert_string_equal(f->threads[0].name, "first");
	assert_true(f->threads[0].exited);
	assert_string_equal(f->threads[1].name, "second");
	assert_false(f->threads[1].exited);
	assert_int_equal(s.nev, 2);
	assert_int_equal(s.ev[0].thread, 0);
	assert_int_equal(s.ev[1].thread, 1);
	trace_reader_free(r);
	free(t.b);
}

/* A large file: decoded and merged in the reader's second thread, the
 * events still all there, in time order, with their threads. */
struct order_check {
	uint64_t n, last_ticks, per_thread[2], bad, reallocs;
};

/* Thread th's blocks, apart: no address is allocated twice (the replay's
 * causal order would make the second wait for a free).  Thread b's
 * reallocs move a's block of the tick before to where b's would be. */
#define LARGE_BASE(th) (0x10000ull + (uint64_t)(th) * 0x40000000ull)

/* Every field arrives, whichever way the event crossed between the
 * reader's threads (plain ALLOCs as short records, sampled REALLOCs whole). */
static void on_ordered(void *ctx, const struct trace_file *f, const struct trace_event *e)
{
	struct order_check *o = ctx;
	uint64_t k = (e->ticks - 10 - e->thread) / 2;
	if (e->ticks < o->last_ticks || e->thread > 1 || e->size != e->ticks % 1000 + 1 ||
	    e->ptr != LARGE_BASE(e->op == MT_EV_REALLOC ? 0 : e->thread) + 64 * k)
		o->bad++;
	if (e->op == MT_EV_REALLOC) {
		o->reallocs++;
		if (e->new_ptr != LARGE_BASE(1) + 64 * k || e->usable != e->size + 8 ||
		    e->old_usable != 16 || e->stack_id != 7 || e->weight != 3 * MT_WEIGHT_ONE ||
		    !(e->flags & MT_EVF_SAMPLED))
			o->bad++;
	} else if (e->op != MT_EV_ALLOC || e->usable != 32 || e->weight || e->stack_id) {
		o->bad++;
	}
	o->last_ticks = e->ticks;
	if (e->thread <= 1)
		o->per_thread[e->thread]++;
	o->n++;
	(void)f;
}

static void test_large_file_merged(void **state)
{
	(void)state;
	struct tb t = { 0 };
	header(&t, 60, 1, MT_TRACE_VERSION);
	clock_rec(&t, 0, T0_NS, 1000000000);
	thread_rec(&t, 60, MT_THREAD_START, 0, "a", T0_NS, 0);
	thread_rec(&t, 61, MT_THREAD_START, 1, "b", T0_NS, 0);
	struct evw *w[2] = { calloc(1, sizeof(struct evw)), calloc(1, sizeof(struct evw)) };
	const uint64_t per_thread = 150000;
	for (uint64_t k = 0; k < per_thread; k++) {
		for (int th = 0; th < 2; th++) {
			/* thread a at even ticks, b at odd ones: fully interleaved */
			uint64_t now = 10 + 2 * k + (uint64_t)th;
			if (w[th]->st.used > MT_TBUF_SIZE - MT_EVENT_MAX)
				flush(&t, 60 + th, w[th], 0);
			if (th == 1 && k % 1000 == 0)
				ev(w[th], MT_EV_REALLOC, LARGE_BASE(0) + 64 * k,
				   LARGE_BASE(1) + 64 * k,
				   now % 1000 + 1, now % 1000 + 9, 16, 7, 3 * MT_WEIGHT_ONE, now);
			else
				ev(w[th], MT_EV_ALLOC, LARGE_BASE(th) + 64 * k, 0, now % 1000 + 1, 32, 0, 0,
				   0, now);
		}
	}
	flush(&t, 60, w[0], 0);
	flush(&t, 61, w[1], 0);
	free(w[0]);
	free(w[1]);
	trace_reader *r = trace_reader_new();
	char err[256];
	assert_int_equal(trace_reader_add_buffer(r, "trace.60.mtt", t.b, t.n, err, sizeof(err)), 0);
	struct order_check o = { 0 };
	struct trace_visitor v = { .ctx = &o, .event = on_ordered };
	trace_reader_scan(r, &v);
	trace_reader_events(r, 0, &v);
	assert_int_equal(o.n, 2 * per_thread);
	assert_int_equal(o.bad, 0);
	assert_int_equal(o.reallocs, per_thread / 1000);
	assert_int_equal(o.per_thread[0], per_thread);
	assert_int_equal(o.per_thread[1], per_thread);
	assert_int_equal(trace_reader_file(r, 0)->events, 2 * per_thread);
	trace_reader_free(r);
	free(t.b);
}

/* ---------------------------------------------------------------- damage */

static void test_header_check(void **state)
{
	(void)state;
	struct tb t = { 0 };
	header(&t, 3, 0, MT_TRACE_VERSION);
	struct mt_trace_header h;
	char err[256];
	assert_int_equal(trace_header_check(t.b, t.n, &h, err, sizeof(err)), 0);
	assert_int_equal(h.pid, 3);
	assert_int_equal(trace_header_check(t.b, 0, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "empty"));
	assert_int_equal(trace_header_check(t.b, 20, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "truncated header at offset 0"));
	t.b[0] = 'X';
	assert_int_equal(trace_header_check(t.b, t.n, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a memtop trace"));
	assert_non_null(strstr(err, "offset 0"));
	t.b[0] = 'M';
	uint32_t v = MT_TRACE_VERSION + 1;
	memcpy(t.b + 8, &v, 4);
	assert_int_equal(trace_header_check(t.b, t.n, &h, err, sizeof(err)), -1);
	char want[64];
	snprintf(want, sizeof(want), "version %u at offset 8", MT_TRACE_VERSION + 1);
	assert_non_null(strstr(err, want));
	v = 0;
	memcpy(t.b + 8, &v, 4);
	assert_int_equal(trace_header_check(t.b, t.n, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "version 0 at offset 8"));
	v = MT_TRACE_VERSION;
	memcpy(t.b + 8, &v, 4);
	uint32_t hs = 12;
	memcpy(t.b + 12, &hs, 4);
	assert_int_equal(trace_header_check(t.b, t.n, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "header size 12 at offset 12"));
	free(t.b);
}

/* A small complete file cut at every length: never a crash, never more
 * than the whole, the complete prefix always read. */
static void test_truncated_everywhere(void **state)
{
	(void)state;
	struct tb t = { 0 };
	full_file(&t);
	size_t hdr = sizeof(struct mt_trace_header);
	size_t last_events = 0;
	for (size_t len = 0; len <= t.n; len++) {
		unsigned char *copy = malloc(len ? len : 1);   /* exact size: ASan sees overreads */
		memcpy(copy, t.b, len);
		struct seen s;
		char err[256];
		trace_reader *r = read_buf("trace.42.mtt", copy, len, &s, err, sizeof(err));
		if (len < hdr) {
			/* empty or cut header: skipped with a warning, or refused */
			if (r) {
				assert_false(trace_reader_file(r, 0)->usable);
				trace_reader_free(r);
			}
			free(copy);
			continue;
		}
		assert_non_null(r);
		const struct trace_file *f = trace_reader_file(r, 0);
		assert_true(f->read_end <= len);
		assert_true(s.nev <= 11);
		assert_true(s.nev >= last_events);   /* more bytes never read less */
		last_events = s.nev;
		if (len < t.n) {
			/* cut on a block boundary: nothing to say; else torn */
			if (f->read_end < len) {
				assert_true(f->stopped);
				size_t nw;
				const char *const *w = trace_reader_warnings(r, &nw, NULL);
				assert_true(nw >= 1);
				assert_non_null(strstr(w[0], "torn last block at offset"));
			}
		} else {
			assert_int_equal(s.nev, 11);
			assert_false(f->stopped);
		}
		trace_reader_free(r);
		free(copy);
	}
	free(t.b);
}

/* Every byte flipped in turn: the damage is found (or harmless), never a
 * crash, and blocks before it are still read. */
static void test_flipped_bytes(void **state)
{
	(void)state;
	struct tb t = { 0 };
	full_file(&t);
	size_t hdr = sizeof(struct mt_trace_header);
	for (size_t i = 0; i < t.n; i++) {
		for (unsigned bit = 0; bit < 8; bit += 3) {
			unsigned char *copy = malloc(t.n);
			memcpy(copy, t.b, t.n);
			copy[i] ^= (unsigned char)(1u << bit);
			struct seen s;
			char err[256];
			trace_reader *r = read_buf("trace.42.mtt", copy, t.n, &s, err, sizeof(err));
			if (i < 16) {
				/* magic or version: refused (or a header size that
				 * still fits) */
				if (r)
					trace_reader_free(r);
				free(copy);
				continue;
			}
			assert_non_null(r);
			const struct trace_file *f = trace_reader_file(r, 0);
			assert_true(f->usable);
			/* Read to the end (a flip in the header's own fields, in a
			 * block's type or tid, which the checksum does not cover),
			 * or stopped, with a warning, at the block the byte is in. */
			if (f->read_end != t.n) {
				assert_true(f->stopped);
				assert_true(f->read_end <= i && f->read_end >= hdr);
				assert_true(s.nwarnings >= 1);
			}
			assert_true(s.nev <= 11);
			trace_reader_free(r);
			free(copy);
		}
	}
	free(t.b);
}

/* Version 3: usable sizes left out where the reader can tell them (glibc's
 * for the request; a free's from its allocation earlier in the block), on
 * both sides the same table, emptied with every block. */
static void test_implied_usable(void **state)
{
	(void)state;
	assert_int_equal(mt_std_usable(0), 24);
	assert_int_equal(mt_std_usable(24), 24);
	assert_int_equal(mt_std_usable(25), 40);
	assert_int_equal(mt_std_usable(1000), 1000);
	assert_int_equal(mt_std_usable(1001), 1016);
	assert_true(mt_std_usable(UINT64_MAX) == UINT64_MAX);
	struct tb t = { 0 };
	header(&t, 9, 0, MT_TRACE_VERSION);
	thread_rec(&t, 9, MT_THREAD_START, 0, "main", 1000, 0);
	struct evw *w = calloc(1, sizeof(*w));
	assert_non_null(w);
	ev(w, MT_EV_ALLOC, 0x1000, 0, 100, 104, 0, 0, 0, 10);     /* glibc's: implied */
	assert_true(w->buf[0] & MT_EVF_IMPLIED);
	uint32_t before = w->st.used;
	ev(w, MT_EV_ALLOC, 0x2000, 0, 100, 4096, 0, 0, 0, 10);    /* not glibc's */
	assert_false(w->buf[before] & MT_EVF_IMPLIED);
	before = w->st.used;
	ev(w, MT_EV_FREE, 0x1000, 0, 0, 104, 0, 0, 0, 10);        /* from the table */
	assert_true(w->buf[before] & MT_EVF_IMPLIED);
	assert_int_equal(w->st.used - before, 3);                 /* op, pointer delta */
	ev(w, MT_EV_FREE, 0x9000, 0, 0, 72, 0, 0, 0, 10);         /* never seen: written */
	ev(w, MT_EV_REALLOC, 0x2000, 0x3000, 200, 200 + 8, 4096, 0, 0, 10);
	ev(w, MT_EV_FREE, 0x3000, 0, 0, 208, 0, 0, 0, 10);        /* the realloc's block */
	ev(w, MT_EV_ALLOC, 0x4000, 0, 50, 56, 0, 0, 0, 10);
	flush(&t, 9, w, 0);
	/* a new block: 0x4000's allocation is in the last one, its size written */
	before = w->st.used;
	ev(w, MT_EV_FREE, 0x4000, 0, 0, 56, 0, 0, 0, 11);
	assert_false(w->buf[before] & MT_EVF_IMPLIED);
	flush(&t, 9, w, 0);
	free(w);
	struct seen s;
	char err[256];
	trace_reader *r = read_buf("trace.9.mtt", t.b, t.n, &s, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(s.nwarnings, 0);
	assert_int_equal(s.nev, 8);
	uint64_t want_usable[8] = { 104, 4096, 104, 72, 208, 208, 56, 56 };
	uint64_t want_ptr[8] = { 0x1000, 0x2000, 0x1000, 0x9000, 0x2000, 0x3000, 0x4000, 0x4000 };
	for (int i = 0; i < 8; i++) {
		assert_true(s.ev[i].usable == want_usable[i]);
		assert_true(s.ev[i].ptr == want_ptr[i]);
		assert_int_equal(s.ev[i].flags & MT_EVF_IMPLIED, 0);
	}
	assert_true(s.ev[4].new_ptr == 0x3000 && s.ev[4].old_usable == 4096);
	trace_reader_free(r);
	free(t.b);

	/* A left-out size the reader cannot tell: the event does not decode. */
	struct tb u = { 0 };
	header(&u, 10, 0, MT_TRACE_VERSION);
	unsigned char bad[][3] = {
		{ MT_EV_FREE | MT_EVF_IMPLIED, 0x20, 0 },     /* freed block not in the table */
		{ MT_EV_FAILED | MT_EVF_IMPLIED, 0x10, 0 },   /* nothing to leave out */
		{ MT_EV_REALLOC_FREE | MT_EVF_IMPLIED, 0x20, 0x10 },
	};
	for (int i = 0; i < 3; i++) {
		struct mt_tb_events e = { 0, 1, 0 };
		block(&u, MT_TB_EVENTS, 10, &e, sizeof(e), bad[i], sizeof(bad[i]));
	}
	r = read_buf("trace.10.mtt", u.b, u.n, &s, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(s.nev, 0);
	assert_int_equal(trace_reader_file(r, 0)->events_skipped, 3);
	trace_reader_free(r);
	free(u.b);
}

/* Files of version 2 (every usable size written, no table) are still
 * read; there 0x08 is part of the op, so such a byte does not decode. */
static void test_version2_file(void **state)
{
	(void)state;
	struct tb t = { 0 };
	header(&t, 11, 0, 2);
	unsigned char ev2[64], *p = ev2;
	*p++ = MT_EV_ALLOC;
	p = mt_put_varint(p, mt_ptr_code(0x1000));
	p = mt_put_varint(p, 100);
	p = mt_put_varint(p, 4);                      /* usable - size */
	*p++ = MT_EV_FREE;
	p = mt_put_varint(p, mt_ptr_code(0));
	p = mt_put_varint(p, mt_usable_code(104));
	struct mt_tb_events e = { 0, 2, 0 };
	block(&t, MT_TB_EVENTS, 11, &e, sizeof(e), ev2, (size_t)(p - ev2));
	unsigned char nine[] = { MT_EV_ALLOC | 0x08, 0x20, 0x10 };
	struct mt_tb_events e1 = { 0, 1, 0 };
	block(&t, MT_TB_EVENTS, 11, &e1, sizeof(e1), nine, sizeof(nine));
	struct seen s;
	char err[256];
	trace_reader *r = read_buf("trace.11.mtt", t.b, t.n, &s, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(s.nev, 2);
	assert_true(s.ev[0].ptr == 0x1000 && s.ev[0].usable == 104 && s.ev[0].size == 100);
	assert_true(s.ev[1].ptr == 0x1000 && s.ev[1].usable == 104);
	assert_int_equal(trace_reader_file(r, 0)->events_skipped, 1);
	trace_reader_free(r);
	free(t.b);
}

/* An event block whose payload checks out but does not decode. */
static void test_malformed_events(void **state)
{
	(void)state;
	struct tb t = { 0 };
	header(&t, 8, 0, MT_TRACE_VERSION);
	struct evw *w = calloc(1, sizeof(*w));
	ev(w, MT_EV_ALLOC, 0x100, 0, 8, 24, 0, 0, 0, 10);
	ev(w, MT_EV_ALLOC, 0x200, 0, 8, 24, 0, 0, 0, 11);
	w->st.count = 3;                        /* claims one more than it holds */
	flush(&t, 8, w, 0);
	ev(w, MT_EV_ALLOC, 0x300, 0, 8, 24, 0, 0, 0, 12);
	w->buf[0] = 7;                          /* no such op */
	flush(&t, 8, w, 0);
	struct mt_tb_stack st = { .id = 1, .depth = 1000 };   /* more frames than bytes */
	block(&t, MT_TB_STACK, 0, &st, sizeof(st), NULL, 0);
	struct mt_tb_thread tiny = { 0 };
	block(&t, MT_TB_THREAD, 8, &tiny, 8, NULL, 0);       /* shorter than its struct */
	free(w);
	struct seen s;
	char err[256];
	trace_reader *r = read_buf("trace.8.mtt", t.b, t.n, &s, err, sizeof(err));
	assert_non_null(r);
	const struct trace_file *f = trace_reader_file(r, 0);
	assert_int_equal(s.nev, 2);
	assert_int_equal(f->events_skipped, 2);
	assert_false(f->stopped);
	assert_int_equal(s.stack_depth, 0);     /* the bad stack was not passed on */
	size_t nw;
	const char *const *msgs = trace_reader_warnings(r, &nw, NULL);
	assert_int_equal(nw, 4);
	bool decode = false, op = false, depth = false, shortb = false;
	for (size_t i = 0; i < nw; i++) {
		decode |= strstr(msgs[i], "event 3 of 3 does not decode") != NULL;
		op |= strstr(msgs[i], "event 1 of 1 does not decode") != NULL;
		depth |= strstr(msgs[i], "depth 1000") != NULL;
		shortb |= strstr(msgs[i], "thread block at offset") != NULL;
	}
	assert_true(decode && op && depth && shortb);
	trace_reader_free(r);
	free(t.b);
}

static void test_checksum_and_huge_block(void **state)
{
	(void)state;
	struct tb t = { 0 };
	header(&t, 4, 0, MT_TRACE_VERSION);
	clock_rec(&t, 1, 2, 3);
	size_t second = t.n;
	clock_rec(&t, 4, 5, 6);
	clock_rec(&t, 7, 8, 9);
	t.b[second + sizeof(struct mt_trace_block) + 3] ^= 0x40;
	struct seen s;
	char err[256];
	trace_reader *r = read_buf("trace.4.mtt", t.b, t.n, &s, err, sizeof(err));
	const struct trace_file *f = trace_reader_file(r, 0);
	assert_int_equal(f->blocks, 1);
	assert_int_equal(f->read_end, second);
	size_t nw;
	const char *const *w = trace_reader_warnings(r, &nw, NULL);
	assert_int_equal(nw, 1);
	char want[64];
	snprintf(want, sizeof(want), "damaged block at offset %zu", second);
	assert_non_null(strstr(w[0], want));
	assert_non_null(strstr(w[0], "checksum"));
	trace_reader_free(r);
	/* a size no writer makes: damage, not a 4 GB read */
	t.b[second + sizeof(struct mt_trace_block) + 3] ^= 0x40;
	uint32_t huge = 0xfffffff0u;
	memcpy(t.b + second + 4, &huge, 4);
	r = read_buf("trace.4.mtt", t.b, t.n, &s, err, sizeof(err));
	w = trace_reader_warnings(r, &nw, NULL);
	assert_int_equal(nw, 1);
	assert_non_null(strstr(w[0], "damaged block header"));
	trace_reader_free(r);
	free(t.b);
}

/* Version 2's check: piecewise over whole words equals the whole; every
 * single-bit flip is caught; two flips of the same top bit in one lane
 * (which cancel without the rotation) are caught too. */
static void test_check_v2(void **state)
{
	(void)state;
	unsigned char d[203];
	for (size_t i = 0; i < sizeof(d); i++)
		d[i] = (unsigned char)(i * 131 + 7);
	for (size_t n = 0; n <= sizeof(d); n++) {
		uint32_t whole = mt_trace_check(d, n);
		for (size_t cut = 0; cut <= n; cut += 8) {
			struct mt_check c;
			mt_check_init(&c);
			mt_check_update(&c, d, cut);
			mt_check_update(&c, d + cut, n - cut);
			assert_int_equal(mt_check_final(&c), whole);
		}
	}
	uint32_t ref = mt_trace_check(d, sizeof(d));
	for (size_t bit = 0; bit < 8 * sizeof(d); bit++) {
		d[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		assert_int_not_equal(mt_trace_check(d, sizeof(d)), ref);
		d[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
	d[7] ^= 0x80;    /* bit 63 of word 0, lane 0 */
	d[39] ^= 0x80;   /* bit 63 of word 4, lane 0 again */
	assert_int_not_equal(mt_trace_check(d, sizeof(d)), ref);
	d[7] ^= 0x80;
	d[39] ^= 0x80;
	/* the length counts: trailing zero bytes are not the same data */
	unsigned char z[16] = { 1 };
	assert_int_not_equal(mt_trace_check(z, 9), mt_trace_check(z, 10));
}

/* The collector's branch-free varint writes exactly what mt_put_varint
 * writes, for every length, and nothing before its end that differs. */
static void test_varint_wide(void **state)
{
	(void)state;
	/* version 3's prefix varints: as long as LEB128's, and they round trip */
	uint64_t vals[] = { 0, 1, 127, 128, 255, 16383, 16384, 2097151, 2097152,
			    (1u << 28) - 1, 1u << 28, UINT32_MAX, UINT64_MAX, 0x7fffdeadbeefULL };
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		for (int d = -2; d <= 2; d++) {
			uint64_t v = vals[i] + (uint64_t)(int64_t)d;
			unsigned char a[16], b[16 + 4];
			memset(b, 0xee, sizeof(b));
			size_t na = (size_t)(mt_put_varint(a, v) - a);
			size_t nb = (size_t)(mt_put_pvarint(b, v) - b);
			assert_int_equal(nb, v < (1u << 28) ? na : 9);
			const unsigned char *p = b;
			uint64_t back;
			assert_int_equal(mt_get_pvarint(&p, b + nb, &back), 0);
			assert_true(back == v);
			assert_ptr_equal(p, b + nb);
			/* one byte short: truncated */
			p = b;
			assert_int_equal(mt_get_pvarint(&p, b + nb - 1, &back), -1);
		}
	}
	/* every value of the short forms and past them */
	for (uint64_t v = 0; v < (1u << 15); v++) {
		unsigned char a[16], b[16 + 4];
		size_t na = (size_t)(mt_put_varint(a, v) - a);
		size_t nb = (size_t)(mt_put_pvarint(b, v) - b);
		assert_int_equal(na, nb);
		const unsigned char *p = b;
		uint64_t back;
		assert_int_equal(mt_get_pvarint(&p, b + nb, &back), 0);
		assert_true(back == v);
	}
	/* the exact bytes: 5 -> 0x0a; 300 -> 0xb1 0x04; 2^28 -> 0x0f, 8 bytes */
	unsigned char b[16];
	assert_int_equal(mt_put_pvarint(b, 5) - b, 1);
	assert_int_equal(b[0], 0x0a);
	assert_int_equal(mt_put_pvarint(b, 300) - b, 2);
	assert_int_equal(b[0], 0xb1);
	assert_int_equal(b[1], 0x04);
	assert_int_equal(mt_put_pvarint(b, 1u << 28) - b, 9);
	assert_int_equal(b[0], 0x0f);
	assert_int_equal(b[4], 0x10);
	/* a 0x?f first byte other than 0x0f is not a varint */
	unsigned char bad[10] = { 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	const unsigned char *q = bad;
	uint64_t v;
	assert_int_equal(mt_get_pvarint(&q, bad + sizeof(bad), &v), -1);
	/* pointer deltas (version 2): round trip; aligned ones are shorter */
	int64_t deltas[] = { 0, 16, -16, 32, 8, -8, 1, -1, 15, 4096, -40960, 40976,
			     (int64_t)1 << 46, -((int64_t)1 << 46), ((int64_t)1 << 47) + 3 };
	for (size_t i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		uint64_t code = mt_ptr_code(deltas[i]);
		assert_true(mt_ptr_delta(code) == deltas[i]);
		assert_int_equal(code & 1, (deltas[i] & 15) != 0);
	}
	assert_true(mt_ptr_code(-40960) < mt_zigzag(-40960));
	/* freed usable sizes (version 2): glibc's 16k + 8 shorter, any other exact */
	uint64_t us[] = { 0, 8, 24, 40, 4104, 4096, 4080, 1, 7, 9, 131056, (1ull << 40) + 8,
			  (1ull << 62) + 8, (1ull << 63) - 1 };
	for (size_t i = 0; i < sizeof(us) / sizeof(us[0]); i++)
		assert_true(mt_usable_size(mt_usable_code(us[i])) == us[i]);
	assert_true(mt_usable_code(1016) < 128);   /* one byte, where 1016 takes two */
}

/* Files of version 1, whose blocks carry FNV-1a checks, are still read. */
static void test_version1_file(void **state)
{
	(void)state;
	struct tb t = { 0 };
	header(&t, 4, 0, 1);
	struct mt_tb_clock c = { .ticks = 1, .realtime_ns = 2, .monotonic_ns = 3 };
	struct mt_trace_block h = { MT_TB_CLOCK, sizeof(c), 0, mt_trace_check_v1(&c, sizeof(c)) };
	put(&t, &h, sizeof(h));
	put(&t, &c, sizeof(c));
	/* version 1 events: a time delta after every op byte, no MT_EVF_TIME */
	unsigned char ev[sizeof(struct mt_tb_events) + 32];
	struct mt_tb_events eh = { .base_ticks = 100, .count = 2 };
	memcpy(ev, &eh, sizeof(eh));
	unsigned char *q = ev + sizeof(eh);
	*q++ = MT_EV_ALLOC;
	q = mt_put_varint(q, 0);                       /* dt */
	q = mt_put_varint(q, mt_zigzag(0x1000));       /* ptr */
	q = mt_put_varint(q, 100);                     /* size */
	q = mt_put_varint(q, 4);                       /* usable - size */
	*q++ = MT_EV_FREE;
	q = mt_put_varint(q, 7);                       /* dt */
	q = mt_put_varint(q, mt_zigzag(0));            /* ptr, same */
	q = mt_put_varint(q, 104);                     /* usable */
	size_t evlen = (size_t)(q - ev);
	struct mt_trace_block hb = { MT_TB_EVENTS, (uint32_t)evlen, 9, mt_trace_check_v1(ev, evlen) };
	put(&t, &hb, sizeof(hb));
	put(&t, ev, evlen);
	struct seen s;
	char err[256];
	trace_reader *r = read_buf("trace.4.mtt", t.b, t.n, &s, err, sizeof(err));
	const struct trace_file *f = trace_reader_file(r, 0);
	assert_int_equal(f->blocks, 2);
	size_t nw;
	trace_reader_warnings(r, &nw, NULL);
	assert_int_equal(nw, 0);
	assert_int_equal(s.nev, 2);
	assert_int_equal(s.ev[0].op, MT_EV_ALLOC);
	assert_int_equal(s.ev[0].ptr, 0x1000);
	assert_int_equal(s.ev[0].size, 100);
	assert_int_equal(s.ev[0].usable, 104);
	assert_int_equal(s.ev[1].op, MT_EV_FREE);
	assert_int_equal(s.ev[1].ptr, 0x1000);
	assert_int_equal(s.ev[1].usable, 104);
	assert_int_equal(s.ev[1].ticks, 107);
	trace_reader_free(r);
	/* the same block under version 2 fails its check */
	uint32_t v = 2;
	memcpy(t.b + 8, &v, 4);
	r = read_buf("trace.4.mtt", t.b, t.n, &s, err, sizeof(err));
	trace_reader_warnings(r, &nw, NULL);
	assert_int_equal(nw, 1);
	trace_reader_free(r);
	free(t.b);
}

/* ---------------------------------------------------------------- directories */

static char tmpdir[64];

static void write_file(const char *name, const void *d, size_t n)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	if (n)
		assert_int_equal(fwrite(d, 1, n, f), n);
	fclose(f);
}

static void clear_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s/*", tmpdir);
	assert_int_equal(system(cmd), 0);
}

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/memtop-test-trace.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_directories(void **state)
{
	(void)state;
	char err[512];
	clear_dir();
	/* no trace at all */
	write_file("notes.txt", "hello", 5);
	trace_reader *r = trace_reader_new();
	assert_int_equal(trace_reader_open(r, tmpdir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no memtop trace here"));
	trace_reader_free(r);
	/* only an empty trace file: nothing readable */
	write_file("trace.10.mtt", NULL, 0);
	r = trace_reader_new();
	assert_int_equal(trace_reader_open(r, tmpdir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no readable trace file"));
	assert_non_null(strstr(err, "empty"));
	trace_reader_free(r);
	/* with a good one beside it: a warning */
	struct tb t = { 0 };
	full_file(&t);
	write_file("trace.42.mtt", t.b, t.n);
	r = trace_reader_new();
	assert_int_equal(trace_reader_open(r, tmpdir, err, sizeof(err)), 0);
	size_t nw;
	const char *const *w = trace_reader_warnings(r, &nw, NULL);
	assert_int_equal(nw, 1);
	assert_non_null(strstr(w[0], "trace.10.mtt: empty file"));
	trace_reader_free(r);
	/* a foreign file under a trace's name: an error naming it */
	write_file("trace.11.mtt", "this is not a trace at all, but long enough to have a header "
		   "of the right size if it were one..........................................."
		   "..............................................................................."
		   "..............................................................................."
		   "...............", 300);
	r = trace_reader_new();
	assert_int_equal(trace_reader_open(r, tmpdir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "trace.11.mtt: not a memtop trace (no trace magic at offset 0)"));
	trace_reader_free(r);
	/* another version */
	uint32_t v = 7;
	memcpy(t.b + 8, &v, 4);
	write_file("trace.11.mtt", t.b, t.n);
	r = trace_reader_new();
	assert_int_equal(trace_reader_open(r, tmpdir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "trace.11.mtt: trace format version 7 at offset 8"));
	trace_reader_free(r);
	/* a FIFO named like a trace: refused at once, not waited on */
	char fifo[256];
	snprintf(fifo, sizeof(fifo), "%s/trace.11.mtt", tmpdir);
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	r = trace_reader_new();
	assert_int_equal(trace_reader_open(r, tmpdir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	trace_reader_free(r);
	unlink(fifo);
	/* one file given directly */
	char one[256];
	snprintf(one, sizeof(one), "%s/trace.42.mtt", tmpdir);
	r = trace_reader_new();
	assert_int_equal(trace_reader_open(r, one, err, sizeof(err)), 0);
	assert_int_equal(trace_reader_file_count(r), 1);
	trace_reader_free(r);
	/* later images of a pid (trace.PID.K.mtt, K from 2) are read, after
	 * the first; other names are not trace files */
	unlink(fifo);
	v = MT_TRACE_VERSION;
	memcpy(t.b + 8, &v, 4);
	write_file("trace.42.3.mtt", t.b, t.n);
	write_file("trace.42.2.mtt", t.b, t.n);
	write_file("trace.42.1.mtt", t.b, t.n);
	write_file("trace.42.02.mtt", t.b, t.n);
	write_file("trace.42.4096.mtt", t.b, t.n);
	write_file("trace.42..mtt", t.b, t.n);
	write_file("trace.42.2.mtt.tmp", t.b, t.n);
	char dir11[256];
	snprintf(dir11, sizeof(dir11), "%s/trace.11.mtt", tmpdir);
	unlink(dir11);
	r = trace_reader_new();
	if (trace_reader_open(r, tmpdir, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(trace_reader_file_count(r), 4);   /* 10 (empty), 42, 42.2, 42.3 */
	assert_non_null(strstr(trace_reader_file(r, 1)->path, "/trace.42.mtt"));
	assert_non_null(strstr(trace_reader_file(r, 2)->path, "/trace.42.2.mtt"));
	assert_non_null(strstr(trace_reader_file(r, 3)->path, "/trace.42.3.mtt"));
	trace_reader_free(r);
	/* a path that is not there */
	r = trace_reader_new();
	assert_int_equal(trace_reader_open(r, "/nonexistent/trace", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/trace"));
	trace_reader_free(r);
	free(t.b);
}

/* ---------------------------------------------------------------- the report */

static void test_report_counts(void **state)
{
	(void)state;
	clear_dir();
	struct tb t = { 0 };
	full_file(&t);
	write_file("trace.42.mtt", t.b, t.n);
	free(t.b);
	report *rep = report_new();
	char err[512];
	assert_int_equal(report_load(rep, tmpdir, 1.0, err, sizeof(err)), 0);
	const struct session *s = report_session(rep);
	assert_true(s->collector_seen);
	assert_int_equal(s->pid, 42);
	/* main: 3 allocs + realloc + nested alloc; worker: 1 alloc */
	assert_int_equal(s->totals.allocs, 6);
	assert_int_equal(s->totals.frees, 4);   /* free, realloc, realloc(p, 0), worker's free */
	assert_int_equal(s->totals.reallocs, 2);
	assert_int_equal(s->totals.failed, 2);
	assert_int_equal(s->totals.bytes_allocated, 100 + 64 + 30 + 300 + 8 + 16);
	assert_int_equal(s->totals.bytes_freed, 64 + 104 + 312 + 40);
	assert_int_equal(s->totals.live_bytes, 104 + 64 + 40 + 312 + 24 + 24 - (64 + 104 + 312 + 40));
	assert_int_equal(s->totals.threads_seen, 2);
	const struct thread_stat *main_t = &s->threads[0];
	assert_int_equal(main_t->c.allocs, 5);
	assert_int_equal(main_t->c.hist[mt_hist_bucket(100)], 2);   /* 100 and 64: 64..127 */
	assert_int_equal(main_t->c.hist[mt_hist_bucket(30)], 1);
	assert_int_equal(main_t->c.hist[mt_hist_bucket(300)], 1);
	/* the worker's figures include its free of main's block */
	const struct thread_stat *worker = &s->threads[1];
	assert_string_equal(worker->name, "renamed");
	assert_int_equal(worker->c.frees, 1);
	assert_int_equal(worker->c.usable_freed, 40);
	assert_true(worker->cpu_valid);
	/* sampled: stack 7, two samples (weights 2 and 1), both freed */
	assert_true(s->stacks_enabled);
	assert_int_equal(s->ntop, 1);
	assert_int_equal(s->top_stacks[0].id, 7);
	assert_int_equal(s->top_stacks[0].samples, 2);
	assert_true(fabs(s->top_stacks[0].allocs_est - 3.0) < 1e-9);
	assert_true(fabs(s->top_stacks[0].bytes_est - (60.0 + 300.0)) < 1e-9);
	assert_true(fabs(s->top_stacks[0].live_bytes_est) < 1e-9);
	struct report_figures fg;
	assert_true(report_figures(rep, &fg));
	/* left live: 0x7000 (nested) and the worker's 0x8000 */
	assert_int_equal(fg.leaked_blocks, 2);
	assert_int_equal(fg.leaked_bytes, 8 + 16);
	assert_int_equal(fg.leaked_unsampled, 2);
	/* 0x6000 was freed before main's next allocation? no: 0x4000 came
	 * between.  0x4000 (freed by the worker after main allocated again):
	 * no.  So none. */
	assert_int_equal(fg.temporary_allocs, 0);
	assert_int_equal(fg.unknown_frees, 0);
	/* the exact peak: at the realloc (tick 2040), 0x9000's 312 bytes
	 * with 0x8000, 0x4000 and 0x7000 still live */
	assert_int_equal(fg.peak_live_bytes, 312 + 24 + 40 + 24);
	assert_int_equal(s->totals.peak_live_bytes, 400);
	assert_int_equal(main_t->c.peak_live, 208 + 24 + 312 - (64 + 104));
	report_free(rep);
}

/* A free that shows after the reuse of its address by another thread
 * (time stamps read after the calls); temporary allocations. */
static void test_report_reordered_reuse(void **state)
{
	(void)state;
	clear_dir();
	struct tb t = { 0 };
	header(&t, 50, 1, MT_TRACE_VERSION);
	clock_rec(&t, 0, T0_NS, 1000000000);
	thread_rec(&t, 50, MT_THREAD_START, 0, "a", T0_NS, 0);
	thread_rec(&t, 51, MT_THREAD_START, 1, "b", T0_NS, 0);
	struct evw *w = calloc(1, sizeof(*w));
	ev(w, MT_EV_ALLOC, 0xa000, 0, 10, 24, 0, 0, 0, 100);
	ev(w, MT_EV_FREE, 0xa000, 0, 0, 24, 0, 0, 0, 300);     /* stamped late */
	ev(w, MT_EV_ALLOC, 0xb000, 0, 20, 24, 0, 0, 0, 400);
	ev(w, MT_EV_FREE, 0xb000, 0, 0, 24, 0, 0, 0, 500);     /* temporary */
	flush(&t, 50, w, 0);
	ev(w, MT_EV_ALLOC, 0xa000, 0, 30, 40, 0, 0, 0, 200);   /* got a's block back */
	flush(&t, 51, w, 0);
	free(w);
	write_file("trace.50.mtt", t.b, t.n);
	free(t.b);
	report *rep = report_new();
	char err[512];
	assert_int_equal(report_load(rep, tmpdir, 1.0, err, sizeof(err)), 0);
	struct report_figures fg;
	assert_true(report_figures(rep, &fg));
	assert_int_equal(fg.leaked_blocks, 1);          /* b's block, not a's */
	assert_int_equal(fg.leaked_bytes, 30);
	assert_int_equal(fg.temporary_allocs, 2);       /* 0xb000, and a's first block */
	assert_int_equal(fg.unknown_frees, 0);
	assert_int_equal(report_session(rep)->totals.live_bytes, 40);
	report_free(rep);
}

/* ------------------------------------------------------- block sequence */

enum mutation { M_NONE, M_COPY, M_DROP, M_SWAP, M_COPY_OTHER, M_COPY_UNNUMBERED };

/* Thread 10: four numbered blocks of 3 allocations and one block of its
 * signal handler's (2 allocations); thread 11: two blocks of 3; the end
 * record counts the 20 events.  mutation: what happens to the blocks on
 * their way to the file, each still passing its check. */
static void sequenced_file(struct tb *t, enum mutation m)
{
	header(t, 9, 1, MT_TRACE_VERSION);
	clock_rec(t, 0, T0_NS, 1000000000);
	thread_rec(t, 10, MT_THREAD_START, 0, "main", T0_NS, 0);
	thread_rec(t, 11, MT_THREAD_START, 1, "worker", T0_NS, 0);
	struct evw *w = calloc(1, sizeof(*w));
	assert_non_null(w);
	struct tb blk[4] = { 0 };
	for (uint32_t k = 0; k < 4; k++) {
		for (uint64_t i = 0; i < 3; i++)
			ev(w, MT_EV_ALLOC, 0x100000 * (k + 1) + 0x40 * i, 0, 24, 24, 0, 0, 0,
			   100 * k + i);
		if (m == M_COPY_UNNUMBERED)
			flush(&blk[k], 10, w, 0);
		else
			flush_numbered(&blk[k], 10, w, 0, k);
	}
	static const uint32_t orders[][5] = {
		[M_NONE] = { 0, 1, 2, 3, 9 }, [M_COPY] = { 0, 1, 1, 2, 3 },
		[M_DROP] = { 0, 1, 3, 9, 9 }, [M_SWAP] = { 0, 2, 1, 3, 9 },
		[M_COPY_OTHER] = { 0, 1, 2, 3, 9 }, [M_COPY_UNNUMBERED] = { 0, 1, 2, 2, 3 },
	};
	struct tb other = { 0 };
	for (uint32_t k = 0; k < 2; k++) {
		for (uint64_t i = 0; i < 3; i++)
			ev(w, MT_EV_ALLOC, 0x900000 + 0x1000 * k + 0x40 * i, 0, 40, 40, 0, 0, 0,
			   50 + 100 * k + i);
		flush_numbered(k == 0 ? &other : t, 11, w, 0, k);
		if (k == 0)
			put(t, other.b, other.n);
	}
	ev(w, MT_EV_ALLOC, 0x700000, 0, 8, 24, 0, 0, 0, 150);
	ev(w, MT_EV_ALLOC, 0x700040, 0, 8, 24, 0, 0, 0, 151);
	flush_numbered(t, 10, w, MT_EVENTS_NESTED, 0);
	for (int i = 0; i < 5; i++)
		if (orders[m][i] < 4)
			put(t, blk[orders[m][i]].b, blk[orders[m][i]].n);
	if (m == M_COPY_OTHER)
		put(t, other.b, other.n);
	struct mt_tb_end e = { T0_NS + 1000, 20, 0 };
	block(t, MT_TB_END, 0, &e, sizeof(e), NULL, 0);
	for (int k = 0; k < 4; k++)
		free(blk[k].b);
	free(other.b);
	free(w);
}

static size_t warnings_with(trace_reader *r, const char *what)
{
	size_t n, k = 0;
	const char *const *w = trace_reader_warnings(r, &n, NULL);
	for (size_t i = 0; i < n; i++)
		k += strstr(w[i], "trace.9.mtt") && strstr(w[i], what);
	return k;
}

static void test_block_sequence(void **state)
{
	(void)state;
	static const struct {
		enum mutation m;
		uint64_t events, rejected, missing;
		bool end_mismatch;
		size_t warnings;
	} cases[] = {
		{ M_NONE, 20, 0, 0, false, 0 },
		{ M_COPY, 20, 1, 0, false, 1 },
		{ M_DROP, 17, 0, 1, true, 2 },
		{ M_SWAP, 17, 1, 1, true, 3 },
		{ M_COPY_OTHER, 20, 1, 0, false, 1 },
		{ M_COPY_UNNUMBERED, 23, 0, 0, true, 1 },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct tb t = { 0 };
		sequenced_file(&t, cases[c].m);
		struct seen s;
		char err[256];
		trace_reader *r = read_buf("trace.9.mtt", t.b, t.n, &s, err, sizeof(err));
		assert_non_null(r);
		const struct trace_file *f = trace_reader_file(r, 0);
		size_t nw;
		trace_reader_warnings(r, &nw, NULL);
		assert_int_equal(nw, cases[c].warnings);
		assert_int_equal(s.nwarnings, cases[c].warnings);
		assert_int_equal(f->events, cases[c].events);
		assert_int_equal(f->blocks_rejected, cases[c].rejected);
		assert_int_equal(f->blocks_missing, cases[c].missing);
		assert_int_equal(f->end_mismatch, cases[c].end_mismatch);
		assert_int_equal(trace_file_complete(f), cases[c].m == M_NONE);
		assert_int_equal(warnings_with(r, "again or out of order"), cases[c].rejected);
		assert_int_equal(warnings_with(r, "before it missing"), cases[c].missing);
		assert_int_equal(warnings_with(r, "the end record counts 20 events"),
				 cases[c].end_mismatch);
		/* no event twice: every allocation's address is new */
		for (size_t i = 0; i < s.nev && i < MAX_EVENTS; i++)
			for (size_t k = 0; k < i; k++)
				assert_true(cases[c].m == M_COPY_UNNUMBERED ||
					    s.ev[i].ptr != s.ev[k].ptr);
		trace_reader_free(r);

		/* the report counts the blocks that fit, and says it is not complete */
		report *rep = report_new();
		assert_int_equal(report_load_buffer(rep, t.b, t.n, 1.0, err, sizeof(err)), 0);
		assert_int_equal(report_session(rep)->totals.allocs, cases[c].events);
		char *json = NULL;
		size_t jlen = 0;
		FILE *out = open_memstream(&json, &jlen);
		assert_non_null(out);
		report_write_json(rep, out);
		fclose(out);
		const char *cp = strstr(json, "\"complete\":");
		assert_non_null(cp);
		cp += strlen("\"complete\":");
		cp += strspn(cp, " ");
		assert_int_equal(strncmp(cp, "true", 4) == 0, cases[c].m == M_NONE);
		free(json);
		report_free(rep);
		free(t.b);
	}
}

/* ------------------------------------------------------- causal order */

/* Frees made by another thread than the allocation, stamped earlier than
 * it (a clock page that lags the clock another thread read), the address
 * used again: the replay puts every free after its allocation and every
 * allocation after the free of its address's previous block. */
static void test_causal_order(void **state)
{
	(void)state;
	clear_dir();
	struct tb t = { 0 };
	header(&t, 70, 1, MT_TRACE_VERSION);
	clock_rec(&t, 0, T0_NS, 1000000000);
	thread_rec(&t, 70, MT_THREAD_START, 0, "producer", T0_NS, 0);
	thread_rec(&t, 71, MT_THREAD_START, 1, "consumer", T0_NS, 0);
	struct evw *w = calloc(1, sizeof(*w));
	assert_non_null(w);
	/* in truth: a allocs P, b frees it, a allocs P again, b frees it, a
	 * allocs R (leaked); b also frees Q, allocated before the trace */
	ev(w, MT_EV_ALLOC, 0xa000, 0, 24, 24, 0, 0, 0, 200);
	ev(w, MT_EV_ALLOC, 0xa000, 0, 24, 24, 0, 0, 0, 200);
	ev(w, MT_EV_ALLOC, 0xb000, 0, 40, 40, 0, 0, 0, 200);
	flush_numbered(&t, 70, w, 0, 0);
	ev(w, MT_EV_FREE, 0x5000, 0, 0, 56, 0, 0, 0, 50);
	ev(w, MT_EV_FREE, 0xa000, 0, 0, 24, 0, 0, 0, 100);
	ev(w, MT_EV_FREE, 0xa000, 0, 0, 24, 0, 0, 0, 100);
	flush_numbered(&t, 71, w, 0, 0);
	free(w);
	write_file("trace.70.mtt", t.b, t.n);
	free(t.b);
	report *rep = report_new();
	char err[512];
	assert_int_equal(report_load(rep, tmpdir, 1.0, err, sizeof(err)), 0);
	struct report_figures fg;
	assert_true(report_figures(rep, &fg));
	assert_int_equal(fg.unknown_frees, 1);          /* Q alone */
	assert_int_equal(fg.leaked_blocks, 1);          /* R */
	assert_int_equal(fg.leaked_bytes, 40);
	/* Q's free, unknown, waits until nothing else can go: P's first
	 * block is the peak, R comes after Q's 56 bytes went */
	assert_int_equal(fg.peak_live_bytes, 24);
	report_free(rep);
}

/* The same on a trace large enough to be merged in the reader's second
 * thread: three blocks live at most, each freed by the other thread, every
 * address used again as soon as it is freed; two leaked.  The times are
 * a coarse clock's, 4 ms ticks of 1000 events, and the consumer's lag:
 * its first frees of a tick are stamped with the tick before, earlier
 * than the allocations they free. */
static void test_causal_order_piped(void **state)
{
	(void)state;
	clear_dir();
	struct tb t = { 0 };
	header(&t, 80, 1, MT_TRACE_VERSION);
	clock_rec(&t, 0, T0_NS, 1000000000);
	thread_rec(&t, 80, MT_THREAD_START, 0, "producer", T0_NS, 0);
	thread_rec(&t, 81, MT_THREAD_START, 1, "consumer", T0_NS, 0);
	struct evw *w[2] = { calloc(1, sizeof(struct evw)), calloc(1, sizeof(struct evw)) };
	assert_non_null(w[0]);
	assert_non_null(w[1]);
	const uint64_t n = 150000;
	uint32_t seq[2] = { 0, 0 };
	for (uint64_t k = 0; k < n; k++) {
		for (int th = 0; th < 2; th++)
			if (w[th]->st.used > MT_TBUF_SIZE - MT_EVENT_MAX) {
				flush_numbered(&t, 80 + th, w[th], 0, seq[th]);
				seq[th]++;
			}
		/* block k at the address block k - 3 had, freed just before */
		ev(w[0], MT_EV_ALLOC, 0x100000 + 64 * (k % 3), 0, 24, 24, 0, 0, 0,
		   4000000 * (k / 1000));
		if (k >= 2)
			ev(w[1], MT_EV_FREE, 0x100000 + 64 * ((k - 2) % 3), 0, 0, 24, 0, 0, 0,
			   4000000 * (k < 5 ? 0 : (k - 5) / 1000));
	}
	flush_numbered(&t, 80, w[0], 0, seq[0]);
	flush_numbered(&t, 81, w[1], 0, seq[1]);
	free(w[0]);
	free(w[1]);
	write_file("trace.80.mtt", t.b, t.n);
	free(t.b);
	report *rep = report_new();
	char err[512];
	assert_int_equal(report_load(rep, tmpdir, 1.0, err, sizeof(err)), 0);
	struct report_figures fg;
	assert_true(report_figures(rep, &fg));
	assert_int_equal(fg.unknown_frees, 0);
	assert_int_equal(fg.leaked_blocks, 2);          /* the last two */
	assert_int_equal(fg.peak_live_bytes, 3 * 24);
	assert_int_equal(report_session(rep)->totals.allocs, n);
	report_free(rep);
}

/* ---------------------------------------------------------------- u64map */

static void test_u64map(void **state)
{
	(void)state;
	struct u64map *m = u64map_new();
	for (uint64_t k = 0; k < 10000; k++) {
		bool fresh;
		uint64_t *v = u64map_put(m, k * 7919, &fresh);
		assert_true(fresh);
		*v = k;
	}
	assert_int_equal(u64map_count(m), 10000);
	for (uint64_t k = 0; k < 10000; k++)
		assert_int_equal(*u64map_get(m, k * 7919), k);
	assert_null(u64map_get(m, 3));
	bool fresh;
	assert_int_equal(*u64map_put(m, 0, &fresh), 0);
	assert_false(fresh);
	u64map_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_block_and_op),
		cmocka_unit_test(test_session_file),
		cmocka_unit_test(test_clock_conversion),
		cmocka_unit_test(test_times_never_go_back),
		cmocka_unit_test(test_implied_usable),
		cmocka_unit_test(test_version2_file),
		cmocka_unit_test(test_tid_reuse),
		cmocka_unit_test(test_large_file_merged),
		cmocka_unit_test(test_header_check),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_flipped_bytes),
		cmocka_unit_test(test_malformed_events),
		cmocka_unit_test(test_checksum_and_huge_block),
		cmocka_unit_test(test_check_v2),
		cmocka_unit_test(test_varint_wide),
		cmocka_unit_test(test_version1_file),
		cmocka_unit_test(test_block_sequence),
		cmocka_unit_test(test_u64map),
		cmocka_unit_test_setup_teardown(test_directories, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_report_counts, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_report_reordered_reuse, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_causal_order, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_causal_order_piped, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
