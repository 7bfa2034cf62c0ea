/*
 * viewer.h - the live viewer (no --batch): the watch's interactive sink
 * (watch.h).  Between the watch's updates it tails the command's output,
 * reads keys and mouse, and redraws when something changed; when the
 * watched process ends its final figures stay on screen until q.
 *
 * main.c hands the viewer to memtop's core as a frontend (cli.h): the
 * terminal checked before anything starts, the file that receives a
 * launched command's output, and the report on standard error once the
 * terminal is back.
 */
#ifndef MEMTOP_UI_VIEWER_H
#define MEMTOP_UI_VIEWER_H

#include <stdbool.h>
#include <stddef.h>

#include "options.h"
#include "outpane.h"
#include "session.h"
#include "watch.h"

typedef struct viewer viewer;

/* The terminal can hold the viewer (standard input and output are one of
 * at least RENDER_MIN_W x RENDER_MIN_H): 0, or -1 with a one-line message
 * suggesting --batch. */
int viewer_preflight(char *err, size_t errlen);

/* Start curses on standard input/output, with out (may be NULL) as the
 * pane of the command's output, which the viewer then owns.  NULL with a
 * message in err. */
viewer *viewer_new(const struct options *opts, outpane *out, char *err, size_t errlen);
/* viewer_new, and for a launched command (launched) the file its output
 * goes to: viewer_child_streams gives its standard input and output until
 * viewer_child_started.  A command that never started leaves no file. */
viewer *viewer_open(const struct options *opts, bool launched, char *err, size_t errlen);
void viewer_child_streams(const viewer *self, int *in_fd, int *out_fd);
void viewer_child_started(viewer *self);
/* The viewer as the watch's interactive sink. */
struct watch_ui *viewer_ui(viewer *self);
/* Leave curses (if the watch has not) and free. */
void viewer_free(viewer *self);

#endif
