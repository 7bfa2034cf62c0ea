/*
 * watch.h - the one watch loop of memtop: every invocation that watches a
 * process (`memtop -- COMMAND`, `memtop --attach PID`, with --batch or the
 * viewer) runs it.
 *
 * The loop owns the schedule: the wait for the collector's segment, the
 * tick every interval, the moment the threads get to publish, the update,
 * the end of the target (or --duration, a stop signal, q), the final
 * figures, and the release of the segment.  What it watches is a target
 * behind a small interface (a launched child in run.c, an attached process
 * in attach.c); what it feeds are sinks: batch reports, the trace's
 * metrics, the HTML export, and at most one interactive sink (the viewer),
 * which also owns the waits between updates so that keys are read while
 * memtop waits.
 */
#ifndef MEMTOP_WATCH_H
#define MEMTOP_WATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "options.h"
#include "session.h"

/* Let the threads publish after a tick, before the update. */
#define WATCH_PUBLISH_WAIT_S 0.01

/* Seconds on the monotonic clock; a sleep that resumes after signals. */
double watch_now_s(void);
void watch_sleep_s(double s);

enum watch_end {
	WATCH_ENDED,          /* the target ended (batch: at once; viewer: then q) */
	WATCH_DURATION,       /* --duration elapsed */
	WATCH_SIGNALLED,      /* a stop signal: attached at once, launched once it ended */
	WATCH_QUIT,           /* q */
	WATCH_TERMINAL_LOST   /* the viewer's terminal hung up */
};

struct watch_target;

/* What the watch needs of a target.  Every function but wait may be NULL. */
struct watch_target_ops {
	/* Wait up to seconds (<= 0: only look) for the target to end; true
	 * once it has ended.  Returns early on a stop signal. */
	bool (*wait)(struct watch_target *self, double seconds);
	/* After its end: the exit status (-1: not memtop's to know) and a
	 * sentence such as "exited with status 3" in desc. */
	int (*end_status)(struct watch_target *self, char *desc, size_t len);
	/* Stop signals (SIGINT, SIGTERM, SIGHUP, SIGQUIT) memtop got so far. */
	unsigned (*signals)(struct watch_target *self);
	/* Stop watching a target that runs on (attach: detach): 0 once
	 * detached, 1 if there was nothing to undo, or -1 with a one-line
	 * reason in err. */
	int (*leave)(struct watch_target *self, char *err, size_t len);
	/* After the end of a target that ended: may memtop remove its
	 * segment (no other memtop still owns it)? */
	bool (*may_release)(struct watch_target *self, const struct session *s);
};

struct watch_target {
	const struct watch_target_ops *ops;
	int pid;
	char *const *argv;           /* the command, as the session shows it */
	/* memtop's child: its exit status is memtop's, stop signals are
	 * passed to it and the watch ends when it does; otherwise (attached)
	 * a stop signal ends the watch at once */
	bool launched;
	const char *collector_path;  /* to tell a missing collector apart */
	int seg_owner;               /* uid the segment must belong to; -1: memtop's */
};

enum watch_notice {
	WATCH_NOTICE_CLEAR,          /* the segment is open: earlier notices are void */
	WATCH_NOTICE_OPEN_ERROR,     /* a segment memtop cannot use (msg says why) */
	WATCH_NOTICE_NO_COLLECTOR    /* the grace period passed without a segment */
};

/* How the watch ended, for the sinks' last words. */
struct watch_outcome {
	enum watch_end end;
	const struct watch_target *target;
	bool detached;               /* the target runs on and memtop detached cleanly */
	bool leave_failed;
};

/* Every callback may be NULL; ctx is the sink's own. */
struct watch_sink {
	void *ctx;
	/* after every update */
	void (*sample)(void *ctx, const struct session *s);
	/* the target ended: the session has its final figures */
	void (*ended)(void *ctx, const struct session *s);
	void (*notice)(void *ctx, const struct session *s, enum watch_notice kind, const char *msg);
	/* memtop got a stop signal and passed it to a launched target */
	void (*signalled)(void *ctx, const struct session *s);
	/* once, at the very end, in the order the sinks were added: write
	 * what the sink writes; -1 if that failed (memtop then exits 1 unless
	 * the command's own status says otherwise) */
	int (*finish)(void *ctx, const struct session *s, const struct watch_outcome *o);
};

/* Set by the interactive sink as the user changes them. */
struct watch_pace {
	double interval;
	bool paused;
};

#define WATCH_UI_QUIT    0x1u   /* q */
#define WATCH_UI_LOST    0x2u   /* the terminal went away */
#define WATCH_UI_RETIME  0x4u   /* the interval changed: the next update is one interval away */

/* The interactive sink: it waits for its input until `until` (or less:
 * the loop calls it again), and the loop keeps going after the target's
 * end until it says to quit.  close() gives the terminal back, before
 * anything is written on standard error. */
struct watch_ui {
	struct watch_sink sink;
	unsigned (*idle)(void *ctx, const struct session *s, double until, struct watch_pace *pace);
	void (*close)(void *ctx);
};

#define WATCH_MAX_SINKS 6

struct watch {
	const struct options *opts;
	struct watch_target *target;
	struct session s;
	struct watch_sink sinks[WATCH_MAX_SINKS];
	size_t nsinks;
	struct watch_ui *ui;
	struct watch_pace pace;
	double start_s;
	struct watch_outcome outcome;
};

/* Start watching target (the session begins now). */
void watch_init(struct watch *self, const struct options *opts, struct watch_target *target);
void watch_add_sink(struct watch *self, const struct watch_sink *sink);
/* The interactive sink (also added as a sink). */
void watch_set_ui(struct watch *self, struct watch_ui *ui);
/* The loop, then the end: the target left or ended, final figures, every
 * sink's finish, the segment released.  Returns memtop's exit status: the
 * launched command's own once it ended, else 0; 1 when leaving failed or
 * a sink could not write what it had to (unless the command failed). */
int watch_run(struct watch *self);
void watch_free(struct watch *self);

#endif
