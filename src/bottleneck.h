/*
 * bottleneck.h - rules that turn a session's figures into findings: what
 * looks costly (or wrong) in the watched program's use of the heap, how
 * severe it is, and what to do about it.
 *
 * Each rule, its threshold and its severity formula are in memtop(1).
 * Findings are derived only from measured figures in the session (counters,
 * timelines, sampled stacks, mallinfo); a rule whose inputs are unavailable
 * does not fire.
 */
#ifndef MEMTOP_BOTTLENECK_H
#define MEMTOP_BOTTLENECK_H

#include <stddef.h>
#include <stdint.h>

#include "session.h"

#define BOTTLENECK_NO_STACK UINT32_MAX

struct bottleneck {
	char type[32];               /* rule name, e.g. "small-alloc-churn" */
	int tid;                     /* the thread concerned; 0: the whole process */
	uint32_t stack_id;           /* BOTTLENECK_NO_STACK when not about one stack */
	double severity;             /* 0 (negligible) .. 1 (worst) */
	char description[256];       /* what was measured, with the figures */
	char suggestion[256];
};

/* Up to max findings about the session, most severe first; returns how
 * many.  tid > 0 restricts to that thread's findings. */
size_t bottleneck_detect(const struct session *s, int tid, struct bottleneck *out, size_t max);

#endif
