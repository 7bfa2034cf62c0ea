/*
 * watch.c - the watch loop (see watch.h).
 *
 * Timeline: poll for the collector's segment quickly at first (a short
 * command must be seen), then every interval tick the collector, give its
 * threads a moment to publish, update the session and hand it to the
 * sinks.  When the target ends, the segment still holds its final counters
 * (it outlives the process: what atexit handlers and libc's freeres did is
 * in them); the session takes them as its final figures.  A target that
 * runs on when the watch ends (--duration, q, a stop signal while
 * attached) is left first (detached), then ticked once more for its final
 * figures.  Then every sink finishes, in order, and the segment of an
 * ended target is removed.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "shmreader.h"
#include "watch.h"

/* While no segment is there (and within the grace period): how often to look. */
#define SEGMENT_POLL_S 0.005

double watch_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void watch_sleep_s(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void watch_init(struct watch *self, const struct options *opts, struct watch_target *target)
{
	memset(self, 0, sizeof(*self));
	self->opts = opts;
	self->target = target;
	self->pace.interval = opts->interval;
	self->start_s = watch_now_s();
	session_init(&self->s, target->pid, target->argv, "/proc", self->start_s);
	self->s.collector_path = target->collector_path;
	self->s.seg_owner = target->seg_owner;
	self->outcome.target = target;
}

void watch_add_sink(struct watch *self, const struct watch_sink *sink)
{
	if (self->nsinks < WATCH_MAX_SINKS)
		self->sinks[self->nsinks++] = *sink;
}

void watch_set_ui(struct watch *self, struct watch_ui *ui)
{
	self->ui = ui;
	watch_add_sink(self, &ui->sink);
}

void watch_free(struct watch *self)
{
	session_free(&self->s);
}

/* ---------------------------------------------------------------- to the sinks */

static void each_sample(struct watch *self)
{
	for (size_t i = 0; i < self->nsinks; i++)
		if (self->sinks[i].sample)
			self->sinks[i].sample(self->sinks[i].ctx, &self->s);
}

static void each_ended(struct watch *self)
{
	for (size_t i = 0; i < self->nsinks; i++)
		if (self->sinks[i].ended)
			self->sinks[i].ended(self->sinks[i].ctx, &self->s);
}

static void each_signalled(struct watch *self)
{
	for (size_t i = 0; i < self->nsinks; i++)
		if (self->sinks[i].signalled)
			self->sinks[i].signalled(self->sinks[i].ctx, &self->s);
}

static void each_notice(struct watch *self, enum watch_notice kind, const char *msg)
{
	for (size_t i = 0; i < self->nsinks; i++)
		if (self->sinks[i].notice)
			self->sinks[i].notice(self->sinks[i].ctx, &self->s, kind, msg);
}

/* ---------------------------------------------------------------- the target */

static bool target_wait(struct watch *self, double seconds)
{
	return self->target->ops->wait(self->target, seconds);
}

static unsigned target_signals(const struct watch *self)
{
	const struct watch_target *t = self->target;
	return t->ops->signals ? t->ops->signals(self->target) : 0;
}

struct open_state {
	bool warned;        /* an unusable segment was reported */
	bool missing;       /* the missing collector was reported */
};

/* Open the segment once it is there; say once what is wrong with one
 * that cannot be used, and once the grace period has passed without one,
 * why a launched command has none. */
static void try_open(struct watch *self, struct open_state *o)
{
	struct session *s = &self->s;
	char err[256];
	if (s->seg_open)
		return;
	if (session_open_segment(s, err, sizeof(err)) == 0) {
		/* names this memtop as the segment's reader at once: another
		 * memtop --attach must not take it for an abandoned attach */
		session_tick(s);
		each_notice(self, WATCH_NOTICE_CLEAR, NULL);
		return;
	}
	if (errno != ENOENT && errno != EAGAIN) {
		if (!o->warned)
			each_notice(self, WATCH_NOTICE_OPEN_ERROR, err);
		o->warned = true;
		return;
	}
	session_check_collector(s);
	if (o->warned || o->missing || !self->target->launched ||
	    watch_now_s() - self->start_s < SESSION_COLLECTOR_GRACE_S)
		return;
	session_missing_collector(s, err, sizeof(err));
	each_notice(self, WATCH_NOTICE_NO_COLLECTOR, err);
	o->missing = true;
}

/* An update: ask for fresh snapshots, let the threads publish (cut short
 * by the target's end), take the sample. */
static void update(struct watch *self)
{
	session_tick(&self->s);
	target_wait(self, WATCH_PUBLISH_WAIT_S);
	session_update(&self->s, watch_now_s());
	each_sample(self);
}

/* The target ended: its segment holds the final counters. */
static void target_ended(struct watch *self)
{
	struct session *s = &self->s;
	const struct watch_target *t = self->target;
	char desc[128] = "ended", err[256];
	int code = t->ops->end_status ? t->ops->end_status(self->target, desc, sizeof(desc)) : -1;
	if (!s->seg_open)
		session_open_segment(s, err, sizeof(err));
	session_set_ended(s, code, desc);
	session_finish(s, watch_now_s());
	each_ended(self);
}

static enum watch_end loop(struct watch *self)
{
	struct session *s = &self->s;
	const struct watch_target *t = self->target;
	struct open_state opened = { false, false };
	double next = self->start_s + self->pace.interval;
	double duration = self->opts->duration;
	double stop_at = duration > 0 ? self->start_s + duration : INFINITY;
	unsigned signals_seen = target_signals(self);
	bool signalled = false;

	for (;;) {
		if (!s->ended && target_wait(self, 0))
			target_ended(self);
		if (target_signals(self) != signals_seen) {
			signals_seen = target_signals(self);
			if (!signalled && t->launched && !s->ended)
				each_signalled(self);
			signalled = true;
		}
		/* an attached process is not memtop's to stop: leave it now */
		if (signalled && (s->ended || !t->launched))
			return WATCH_SIGNALLED;
		if (s->ended && !self->ui)
			return WATCH_ENDED;
		double now = watch_now_s();
		if (!s->ended) {
			try_open(self, &opened);
			/* the sample due at the end of --duration is taken */
			if (!self->pace.paused && now >= next && next <= stop_at + 1e-6) {
				update(self);
				now = watch_now_s();
				next += self->pace.interval;
				if (next < now)
					next = now + self->pace.interval;
			}
		}
		if (now >= stop_at)
			return WATCH_DURATION;

		double wake = stop_at;
		if (!s->ended && !self->pace.paused && next < wake)
			wake = next;
		if (!s->ended && !s->seg_open && now - self->start_s < SESSION_COLLECTOR_GRACE_S &&
		    now + SEGMENT_POLL_S < wake)
			wake = now + SEGMENT_POLL_S;
		if (!self->ui) {
			target_wait(self, wake - now);
			continue;
		}
		unsigned f = self->ui->idle(self->ui->sink.ctx, s, wake, &self->pace);
		if (f & WATCH_UI_QUIT)
			return WATCH_QUIT;
		if (f & WATCH_UI_LOST)
			return WATCH_TERMINAL_LOST;
		if (f & WATCH_UI_RETIME)
			next = watch_now_s() + self->pace.interval;
	}
}

int watch_run(struct watch *self)
{
	struct session *s = &self->s;
	struct watch_target *t = self->target;
	struct watch_outcome *o = &self->outcome;
	o->end = loop(self);
	if (self->ui && self->ui->close)
		self->ui->close(self->ui->sink.ctx);

	if (!s->ended) {
		char err[512];
		int r = t->ops->leave ? t->ops->leave(t, err, sizeof(err)) : 1;
		if (r < 0) {
			format_warn("--attach %d: could not detach cleanly: %s; the process "
				"runs on, still counting into its segment (harmless); attach again to "
				"retry", t->pid, err);
			o->leave_failed = true;
		}
		o->detached = r == 0;
		/* After --duration or q the last figures become whole-session
		 * averages. */
		if (s->seg_open) {
			session_tick(s);
			watch_sleep_s(WATCH_PUBLISH_WAIT_S);
		}
		session_finish(s, watch_now_s());
	}

	bool failed = false;
	for (size_t i = 0; i < self->nsinks; i++)
		if (self->sinks[i].finish && self->sinks[i].finish(self->sinks[i].ctx, s, o) != 0)
			failed = true;
	if (s->ended && (!t->ops->may_release || t->ops->may_release(t, s)))
		session_release_segment(s);
	shm_cleanup_stale("/dev/shm", "/proc", getpid());

	/* The command's own status comes first; memtop's failure shows only
	 * when the command succeeded. */
	int code = t->launched && s->ended ? s->exit_code : 0;
	if ((failed || o->leave_failed) && code == 0)
		code = 1;
	return code;
}
