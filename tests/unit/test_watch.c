/*
 * test_watch.c - unit tests of the watch loop against a scripted target
 * and recording sinks: the schedule (a sample every interval, the one due
 * at the end of --duration included), the end of a launched target (the
 * batch watch ends at once, an interactive sink keeps it going until q),
 * stop signals (an attached target is left at once, a launched one once
 * it ended), leaving a target that runs on, the sinks' order at the end,
 * the release of the segment, and memtop's exit status.
 *
 * The target is this test process itself (its /proc entry is real, it has
 * no segment): the session's reads succeed and find no collector.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "watch.h"

struct fake {
	struct watch_target base;
	double end_at;               /* monotonic time it ends at; 0: never */
	double signal_at;            /* a stop signal then; 0: none */
	int code;
	int leave_result;
	int leaves, waits;
};

static bool fake_wait(struct watch_target *t, double seconds)
{
	struct fake *f = (struct fake *)t;
	f->waits++;
	double now = watch_now_s();
	double until = now + (seconds > 0 ? seconds : 0);
	if (f->end_at > 0 && until >= f->end_at) {
		if (f->end_at > now)
			watch_sleep_s(f->end_at - now);
		return true;
	}
	if (f->signal_at > now && until > f->signal_at)
		until = f->signal_at;
	watch_sleep_s(until - now);
	return false;
}

static int fake_end_status(struct watch_target *t, char *desc, size_t len)
{
	struct fake *f = (struct fake *)t;
	snprintf(desc, len, "exited with status %d", f->code);
	return f->code;
}

static unsigned fake_signals(struct watch_target *t)
{
	struct fake *f = (struct fake *)t;
	return f->signal_at > 0 && watch_now_s() >= f->signal_at ? 1 : 0;
}

static int fake_leave(struct watch_target *t, char *err, size_t len)
{
	struct fake *f = (struct fake *)t;
	f->leaves++;
	snprintf(err, len, "scripted failure");
	return f->leave_result;
}

static const struct watch_target_ops fake_ops = {
	.wait = fake_wait,
	.end_status = fake_end_status,
	.signals = fake_signals,
	.leave = fake_leave,
};

static char *fake_argv[] = { "fake", NULL };

static void fake_init(struct fake *f, bool launched)
{
	memset(f, 0, sizeof(*f));
	f->base.ops = &fake_ops;
	f->base.pid = getpid();
	f->base.argv = fake_argv;
	f->base.launched = launched;
	f->base.seg_owner = -1;
}

/* A sink that writes down what it was given. */
struct record {
	int samples, ended, signalled, finished, notices;
	double last_sample_s;        /* the session's elapsed time at the last one */
	int order;                   /* its place among the finishes */
	int finish_result;
	bool ended_before_finish;
	enum watch_end end;
	bool detached;
};

static int finishes;

static void rec_sample(void *ctx, const struct session *s)
{
	struct record *r = ctx;
	r->samples++;
	r->last_sample_s = s->elapsed_s;
}

static void rec_ended(void *ctx, const struct session *s)
{
	struct record *r = ctx;
	r->ended++;
	assert_true(s->ended);
	assert_true(s->final);
}

static void rec_signalled(void *ctx, const struct session *s)
{
	(void)s;
	((struct record *)ctx)->signalled++;
}

static void rec_notice(void *ctx, const struct session *s, enum watch_notice kind, const char *msg)
{
	(void)s;
	(void)kind;
	(void)msg;
	((struct record *)ctx)->notices++;
}

static int rec_finish(void *ctx, const struct session *s, const struct watch_outcome *o)
{
	struct record *r = ctx;
	r->finished++;
	r->order = ++finishes;
	r->end = o->end;
	r->detached = o->detached;
	r->ended_before_finish = s->ended;
	assert_true(s->final);
	return r->finish_result;
}

static struct watch_sink rec_sink(struct record *r)
{
	memset(r, 0, sizeof(*r));
	struct watch_sink k = {
		.ctx = r, .sample = rec_sample, .ended = rec_ended, .notice = rec_notice,
		.signalled = rec_signalled, .finish = rec_finish,
	};
	return k;
}

static void opts_init(struct options *o, double interval, double duration)
{
	options_init(o);
	o->interval = interval;
	o->duration = duration;
}

/* --duration 0.5 at -d 0.1: the samples at 0.1 ... 0.5, the last one
 * included (a loaded machine may make the loop skip a late one, never the
 * last); the target, running on, is left once; memtop exits 0. */
static void test_duration_samples(void **state)
{
	(void)state;
	struct fake f;
	fake_init(&f, true);
	struct options o;
	opts_init(&o, 0.1, 0.5);
	struct watch w;
	watch_init(&w, &o, &f.base);
	struct record r;
	struct watch_sink k = rec_sink(&r);
	watch_add_sink(&w, &k);
	double t0 = watch_now_s();
	int code = watch_run(&w);
	double took = watch_now_s() - t0;
	watch_free(&w);
	assert_int_equal(code, 0);
	assert_true(r.samples >= 1 && r.samples <= 5);
	assert_true(r.last_sample_s >= 0.5);
	assert_int_equal(r.ended, 0);
	assert_int_equal(r.finished, 1);
	assert_int_equal(r.end, WATCH_DURATION);
	assert_int_equal(f.leaves, 1);
	assert_true(took >= 0.5);
}

/* A launched target that ends: the batch watch ends at once with its
 * status; the sinks saw the end with final figures, then finished. */
static void test_launched_end(void **state)
{
	(void)state;
	struct fake f;
	fake_init(&f, true);
	f.end_at = watch_now_s() + 0.25;
	f.code = 3;
	struct options o;
	opts_init(&o, 0.1, 0);
	struct watch w;
	watch_init(&w, &o, &f.base);
	struct record a, b;
	struct watch_sink ka = rec_sink(&a), kb = rec_sink(&b);
	watch_add_sink(&w, &ka);
	watch_add_sink(&w, &kb);
	finishes = 0;
	int code = watch_run(&w);
	assert_true(w.s.ended);
	assert_int_equal(w.s.exit_code, 3);
	assert_string_equal(w.s.end_description, "exited with status 3");
	watch_free(&w);
	assert_int_equal(code, 3);
	assert_int_equal(a.end, WATCH_ENDED);
	assert_int_equal(a.ended, 1);
	assert_true(a.ended_before_finish);
	/* due at 0.1 and 0.2 s, none after the end at 0.25 s */
	assert_true(a.samples <= 2);
	assert_int_equal(f.leaves, 0);
	/* in the order they were added */
	assert_int_equal(a.order, 1);
	assert_int_equal(b.order, 2);
}

/* A sink that could not write: exit 1 when the command succeeded, the
 * command's own status otherwise. */
static void test_sink_failure_status(void **state)
{
	(void)state;
	for (int code = 0; code <= 4; code += 4) {
		struct fake f;
		fake_init(&f, true);
		f.end_at = watch_now_s() + 0.05;
		f.code = code;
		struct options o;
		opts_init(&o, 1.0, 0);
		struct watch w;
		watch_init(&w, &o, &f.base);
		struct record r;
		struct watch_sink k = rec_sink(&r);
		r.finish_result = -1;
		watch_add_sink(&w, &k);
		int got = watch_run(&w);
		watch_free(&w);
		assert_int_equal(got, code == 0 ? 1 : code);
	}
}

/* An attached target and a stop signal: left at once (detached), exit 0;
 * a detach that fails makes it 1. */
static void test_attached_signal(void **state)
{
	(void)state;
	for (int fail = 0; fail <= 1; fail++) {
		struct fake f;
		fake_init(&f, false);
		f.signal_at = watch_now_s() + 0.15;
		f.leave_result = fail ? -1 : 0;
		struct options o;
		opts_init(&o, 0.1, 0);
		struct watch w;
		watch_init(&w, &o, &f.base);
		struct record r;
		struct watch_sink k = rec_sink(&r);
		watch_add_sink(&w, &k);
		double t0 = watch_now_s();
		int code = watch_run(&w);
		double took = watch_now_s() - t0;
		watch_free(&w);
		assert_int_equal(r.end, WATCH_SIGNALLED);
		assert_int_equal(r.signalled, 0);  /* not passed on: not memtop's child */
		assert_int_equal(f.leaves, 1);
		assert_int_equal(r.detached, !fail);
		assert_int_equal(code, fail);
		assert_true(took < 5.0);   /* not the never-ending watch */
	}
}

/* A launched target and a stop signal: passed on (the sinks hear of it),
 * and the watch goes on until the target ends. */
static void test_launched_signal(void **state)
{
	(void)state;
	struct fake f;
	fake_init(&f, true);
	f.signal_at = watch_now_s() + 0.1;
	f.end_at = watch_now_s() + 0.4;
	f.code = 143;
	struct options o;
	opts_init(&o, 0.1, 0);
	struct watch w;
	watch_init(&w, &o, &f.base);
	struct record r;
	struct watch_sink k = rec_sink(&r);
	watch_add_sink(&w, &k);
	int code = watch_run(&w);
	watch_free(&w);
	assert_int_equal(r.signalled, 1);
	assert_int_equal(r.ended, 1);
	assert_int_equal(r.end, WATCH_SIGNALLED);
	assert_int_equal(code, 143);
	assert_int_equal(f.leaves, 0);
}

/* The interactive sink: the watch goes on past the target's end until
 * it says q; it closes before any sink finishes; its pace is the loop's. */
struct ui_rec {
	struct record r;
	int idles, closes;
	double quit_at;
	bool closed_before_finish;
	double first_interval;
};

static unsigned ui_idle(void *ctx, const struct session *s, double until, struct watch_pace *pace)
{
	(void)s;
	struct ui_rec *u = ctx;
	u->idles++;
	double now = watch_now_s();
	if (now >= u->quit_at)
		return WATCH_UI_QUIT;
	watch_sleep_s((until < now + 0.05 ? until : now + 0.05) - now);
	if (u->idles == 1) {
		u->first_interval = pace->interval;
		pace->interval = 0.05;
		return WATCH_UI_RETIME;
	}
	return 0;
}

static void ui_close(void *ctx)
{
	((struct ui_rec *)ctx)->closes++;
}

static int ui_finish(void *ctx, const struct session *s, const struct watch_outcome *o)
{
	struct ui_rec *u = ctx;
	u->closed_before_finish = u->closes == 1;
	return rec_finish(&u->r, s, o);
}

static void test_ui_lingers(void **state)
{
	(void)state;
	struct fake f;
	fake_init(&f, true);
	f.end_at = watch_now_s() + 0.3;
	struct options o;
	opts_init(&o, 1.0, 0);
	struct watch w;
	watch_init(&w, &o, &f.base);
	struct ui_rec u;
	struct watch_sink k = rec_sink(&u.r);
	memset((char *)&u + sizeof(u.r), 0, sizeof(u) - sizeof(u.r));
	u.quit_at = watch_now_s() + 0.6;
	struct watch_ui ui = { .sink = k, .idle = ui_idle, .close = ui_close };
	ui.sink.ctx = &u;
	ui.sink.finish = ui_finish;
	watch_set_ui(&w, &ui);
	int code = watch_run(&w);
	watch_free(&w);
	assert_int_equal(code, 0);
	assert_int_equal(u.r.end, WATCH_QUIT);
	assert_int_equal(u.r.ended, 1);
	assert_true(u.closed_before_finish);
	assert_true(u.first_interval == 1.0);
	/* the interval it set (0.05 s) paced the updates before the end */
	assert_true(u.r.samples >= 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_samples),
		cmocka_unit_test(test_launched_end),
		cmocka_unit_test(test_sink_failure_status),
		cmocka_unit_test(test_attached_signal),
		cmocka_unit_test(test_launched_signal),
		cmocka_unit_test(test_ui_lingers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
