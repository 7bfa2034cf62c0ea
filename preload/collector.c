/*
 * collector.c - the owner-side, once-per-interval part of the per-thread
 * collector: turning live counters into a snapshot for publication.
 * The per-event updates are inline in collector.h.
 */
#include <string.h>

#include "collector.h"

void collector_fill_snapshot(struct mt_slot *s, struct mt_snapshot *out,
			     uint64_t tick, uint64_t now_ns)
{
	memset(out, 0, sizeof(*out));
	/* The owner only races with its own signal handlers here. */
	for (;;) {
		uint64_t s1 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		uint64_t n1 = __atomic_load_n(&s->nseq, __ATOMIC_ACQUIRE);
		mt_counters_from_live(&out->c, &s->live);
		mt_copy_words_out(&out->n, &s->nested, sizeof(out->n));
		__atomic_signal_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == s1 &&
		    __atomic_load_n(&s->nseq, __ATOMIC_RELAXED) == n1 &&
		    !(s1 & 1) && !(n1 & 1))
			break;
		if ((s1 & 1) || (n1 & 1))
			break;  /* we interrupted ourselves: nothing will finish it */
	}
	out->tick = tick;
	out->publish_ns = now_ns;
	out->start_ns = s->start_ns;
	out->end_ns = s->end_ns;
	out->cpu_ns = s->cpu_ns;
	out->tid = s->tid;
	out->state = __atomic_load_n(&s->state, __ATOMIC_RELAXED);
	memcpy(out->name, s->name, sizeof(out->name));
}
