/*
 * report.h - `memtop report [OPTIONS] TRACE_DIR`: a recorded trace turned
 * into the same session model the live modes render (so text, JSON and
 * HTML come out of the same code), plus what only the full trace can
 * tell: leaks (blocks never freed), temporary allocations (freed before
 * the thread's next allocation), the process's exact peak heap and when it
 * happened, folded stacks and a pprof profile.
 *
 * Counters are computed from the events with the collector's own rules
 * (preload/collector.h), so they equal a live session's exactly when every
 * event was written.
 */
#ifndef MEMTOP_REPORT_H
#define MEMTOP_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "options.h"
#include "session.h"

typedef struct report report;

report *report_new(void);
void report_free(report *self);

/* Read the trace at path (a trace directory, or one trace.PID.mtt) and
 * build the model of its main process; interval: the timelines' step in
 * seconds (widened for long traces, narrowed for short ones).  0, or -1
 * with a one-line reason in err. */
int report_load(report *self, const char *path, double interval, char *err, size_t errlen);

/* The same from one trace file held in memory (tests, fuzzing); module
 * paths in it are not opened. */
int report_load_buffer(report *self, const void *data, size_t len, double interval, char *err,
		       size_t errlen);

const struct session *report_session(const report *self);

/* The trace-only figures of the main process. */
struct report_figures {
	int64_t peak_live_bytes;     /* the process's exact peak (usable bytes) */
	double peak_t_s;             /* when, in seconds from the session's start */
	uint64_t leaked_blocks, leaked_bytes;      /* never freed (requested bytes) */
	uint64_t leaked_unsampled;   /* of which no stack was sampled */
	uint64_t temporary_allocs, temporary_bytes;
	uint64_t unknown_frees;      /* frees of blocks allocated before the trace */
	size_t processes;            /* traced processes in the trace */
};
/* false when the trace holds no process. */
bool report_figures(const report *self, struct report_figures *out);

/* The whole report as text (batch's summary, then the trace's analyses)
 * or as one JSON line (batch's summary record with extra members). */
void report_write_text(report *self, FILE *f);
void report_write_json(report *self, FILE *f);

/* Folded stacks, one line "outermost;...;innermost BYTES" per sampled
 * stack, the value being its estimated bytes allocated (bytes_est).
 * 0, or -1 with a reason. */
int report_write_collapsed(report *self, FILE *f, char *err, size_t errlen);

/* The main entry: exit status 0, 1 (trace or output failure). */
int report_main(const struct options *opts);

#endif
