/*
 * batch.h - render a session as text (like top -b) or as JSON Lines
 * (interface.md's schema): one record per interval, then a summary.
 */
#ifndef MEMTOP_BATCH_H
#define MEMTOP_BATCH_H

#include <stdbool.h>
#include <stdio.h>

#include "options.h"
#include "session.h"
#include "watch.h"

struct batch {
	FILE *out;
	bool json;
	bool stacks_requested;   /* false with --no-stacks */
	const char *path;        /* for messages; NULL: standard output */
	bool failed;             /* a write failed (reported once on stderr) */
	int error;               /* its errno */
};

void batch_init(struct batch *self, FILE *out, bool json, bool stacks_requested);
/* One interval record.  Write errors (disk full, /dev/full) do not stop
 * the session: the first is reported on stderr and remembered in failed. */
void batch_sample(struct batch *self, const struct session *s);
/* The last record of a session. */
void batch_summary(struct batch *self, const struct session *s);

/* One JSON record of the session (interface.md's schema, one line with its
 * newline) to f: what --json writes, for other renderers to embed. */
/* Open -o's file (or standard output) for the reports of opts: 0, or -1
 * with a one-line reason in err. */
int batch_open(struct batch *self, const struct options *opts, char *err, size_t errlen);
/* Close the file batch_open opened (not standard output); a failure is
 * said once and sets failed. */
void batch_close(struct batch *self);
/* The reports as a watch sink: a report every update; at the end the
 * summary, what the segment had no room for, and the file closed. */
struct watch_sink batch_sink(struct batch *self);

void batch_write_json(FILE *f, const struct session *s, bool summary);

#endif
