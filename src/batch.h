/*
 * batch.h - render a session as text (like top -b) or as JSON Lines
 * (interface.md's schema): one record per interval, then a summary.
 */
#ifndef MEMTOP_BATCH_H
#define MEMTOP_BATCH_H

#include <stdbool.h>
#include <stdio.h>

#include "session.h"

struct batch {
	FILE *out;
	bool json;
	bool stacks_requested;   /* false with --no-stacks */
};

void batch_init(struct batch *self, FILE *out, bool json, bool stacks_requested);
/* One interval record. */
void batch_sample(struct batch *self, const struct session *s);
/* The last record of a session. */
void batch_summary(struct batch *self, const struct session *s);

#endif
