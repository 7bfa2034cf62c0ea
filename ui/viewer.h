/*
 * viewer.h - the live viewer of `memtop -- COMMAND` (no --batch): the main
 * loop that samples the session every interval, tails the command's
 * output, reads keys and mouse, and redraws when something changed.
 *
 * run.c prepares everything (collector, output file, terminal checks),
 * starts the command and hands it to the viewer; the viewer returns how it
 * ended, and run.c reports and exits with the command's status.
 */
#ifndef MEMTOP_UI_VIEWER_H
#define MEMTOP_UI_VIEWER_H

#include <stdbool.h>
#include <stddef.h>

#include "launcher.h"
#include "options.h"
#include "outpane.h"
#include "session.h"

enum viewer_end {
	VIEWER_QUIT,          /* q */
	VIEWER_DURATION,      /* --duration elapsed */
	VIEWER_SIGNALLED,     /* memtop got SIGINT/SIGTERM/SIGHUP/SIGQUIT and the command ended
			       * (attached: at once) */
	VIEWER_TERMINAL_LOST  /* the terminal hung up */
};

typedef struct viewer viewer;

/* Start curses on standard input/output.  NULL with a message in err. */
viewer *viewer_new(const struct options *opts, outpane *out, char *err, size_t errlen);
/* Leave curses; the terminal is as it was before viewer_new. */
void viewer_free(viewer *self);
/* Watch the command l runs (its session s, started at start_s on the
 * monotonic clock) until the user quits, --duration elapses or a signal
 * ends it.  When the command ends first, its session is finished
 * (session_set_ended, session_finish, session_release_segment) and its
 * final figures stay on screen until q. */
enum viewer_end viewer_run(viewer *self, struct launcher *l, struct session *s, double start_s);

/* memtop --attach: the watched process is not memtop's child.  ended()
 * says whether it is gone (its session then ends without an exit status:
 * that goes to its parent); stop_signals() counts the stop signals memtop
 * got, each of which ends the watch at once (memtop then detaches). */
struct viewer_attach {
	bool (*ended)(void *ctx);
	unsigned (*stop_signals)(void *ctx);
	void *ctx;
};
enum viewer_end viewer_run_attached(viewer *self, const struct viewer_attach *a,
				    struct session *s, double start_s);

#endif
