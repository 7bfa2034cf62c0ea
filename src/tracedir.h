/*
 * tracedir.h - the memtop side of --trace DIR: the directory made safe
 * before the command starts (created mode 0700, or an existing one without
 * a trace in it; never through a symbolic link), MEMTOP_TRACE set so the
 * collector writes DIR/trace.PID.mtt in every process, and DIR/session.mtt
 * written by memtop itself: the session's /proc figures every interval
 * (MT_TB_METRICS) and, at the end, its description (MT_TB_SESSION).
 *
 * A run of memtop makes three calls: tracedir_begin before the command
 * starts (or before the attach), tracedir_sink for its watch (metrics
 * after each update, the end once the session has its final figures), and
 * tracedir_close on the way out.  All are no-ops when --trace was not
 * given.
 */
#ifndef MEMTOP_TRACEDIR_H
#define MEMTOP_TRACEDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "options.h"
#include "session.h"
#include "watch.h"

typedef struct tracedir tracedir;

/* Prepare dir for a new trace: 0, or NULL with a one-line reason (naming
 * the option and the directory) in err.  overwrite: an existing trace in
 * dir is removed first (its session.mtt and trace.PID.mtt files only). */
tracedir *tracedir_open(const char *dir, bool overwrite, char *err, size_t errlen);
/* One MT_TB_METRICS block from the session's latest /proc sample. */
void tracedir_metrics(tracedir *self, const struct session *s);
/* The last metrics, the session record, and what happened on stderr:
 * "trace written to DIR (N files, M bytes)", and the collector's own
 * failure if it had one (disk full: tracing stopped, the rest readable). */
void tracedir_end(tracedir *self, const struct session *s);
/* Close; a trace never ended (the command did not start) is removed. */
void tracedir_free(tracedir *self);

/* The trace of this memtop run, for run.c. */
int tracedir_begin(const struct options *opts, char *err, size_t errlen);
struct watch_sink tracedir_sink(void);
void tracedir_close(void);

#endif
