/*
 * collector.h - per-thread exact counters: the per-event updates.
 *
 * Everything here runs on the allocation hot path of the owning thread and
 * touches only that thread's slot: no locks, no syscalls, no shared writes.
 * The counting rules are interface.md's (valgrind's "total heap usage").
 *
 * A signal handler that allocates may interrupt the owner half-way through
 * an update (seq odd).  Such nested events go to slot->nested, guarded by
 * its own sequence count, so the main counters are never torn; a third
 * level of nesting is only counted as lost.
 */
#ifndef MEMTOP_COLLECTOR_H
#define MEMTOP_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "shm_layout.h"
#include "snapshot.h"

#ifndef MT_HIDDEN
#define MT_HIDDEN __attribute__((visibility("hidden")))
#endif
#define mt_likely(x)   __builtin_expect(!!(x), 1)
#define mt_unlikely(x) __builtin_expect(!!(x), 0)

/* One event, as the hooks see it. */
struct mt_event {
	uint32_t allocs, frees, reallocs, failed;
	uint64_t bytes;          /* requested size of the returned block */
	uint64_t usable_in;      /* usable size of the returned block */
	uint64_t usable_out;     /* usable size of the freed block */
};

static inline void collector_nested(struct mt_slot *s, const struct mt_event *e)
{
	uint64_t ns = __atomic_load_n(&s->nseq, __ATOMIC_RELAXED);
	if (ns & 1) {
		MT_ADD(s->nested.lost, 1);
		return;
	}
	mt_seq_begin(&s->nseq, ns);
	struct mt_nested_counters *n = &s->nested;
	MT_ADD(n->allocs, e->allocs);
	MT_ADD(n->frees, e->frees);
	MT_ADD(n->reallocs, e->reallocs);
	MT_ADD(n->failed, e->failed);
	MT_ADD(n->bytes_allocated, e->bytes);
	MT_ADD(n->usable_allocated, e->usable_in);
	MT_ADD(n->usable_freed, e->usable_out);
	mt_seq_end(&s->nseq, ns);
}

/* Returns false if the event interrupted an update (and went to nested):
 * the caller must then not publish. */
static inline bool collector_apply(struct mt_slot *s, const struct mt_event *e)
{
	uint64_t sq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
	if (mt_unlikely(sq & 1)) {
		collector_nested(s, e);
		return false;
	}
	mt_seq_begin(&s->seq, sq);
	struct mt_live_counters *c = &s->live;
	if (e->allocs) {
		MT_ADD(c->allocs, e->allocs);
		MT_ADD(c->bytes_allocated, e->bytes);
		MT_ADD(c->usable_allocated, e->usable_in);
		MT_ADD(c->hist[mt_hist_raw_bucket(e->bytes < (1ULL << 63) ? e->bytes
							      : (1ULL << 63) - 1)], 1);
	}
	if (e->frees) {
		MT_ADD(c->frees, e->frees);
		MT_ADD(c->usable_freed, e->usable_out);
	}
	if (e->reallocs)
		MT_ADD(c->reallocs, e->reallocs);
	if (e->failed)
		MT_ADD(c->failed, e->failed);
	if (e->allocs) {
		int64_t live = (int64_t)(__atomic_load_n(&c->usable_allocated, __ATOMIC_RELAXED) -
					 __atomic_load_n(&c->usable_freed, __ATOMIC_RELAXED));
		if (live > __atomic_load_n(&c->peak_live, __ATOMIC_RELAXED))
			MT_SET(c->peak_live, live);
	}
	mt_seq_end(&s->seq, sq);
	return true;
}

/* Out of line, so the fast path below needs no stack frame. */
static __attribute__((noinline, cold)) void
collector_nested_alloc(struct mt_slot *s, uint64_t req, uint64_t usable)
{
	struct mt_event e = { .allocs = 1, .bytes = req, .usable_in = usable };
	collector_nested(s, &e);
}

/* The two events of almost every call, specialised so that the hooks'
 * common path is a handful of stores to the owner's own cache lines: the
 * updates themselves, for a caller that read an even seq sq (no update of
 * this slot under way on this thread). */
static inline __attribute__((always_inline)) void
collector_alloc_at(struct mt_slot *s, uint64_t sq, uint64_t req, uint64_t usable)
{
	mt_seq_begin(&s->seq, sq);
	struct mt_live_counters *c = &s->live;
	MT_ADD(c->allocs, 1);
	MT_ADD(c->bytes_allocated, req);
	uint64_t ua = __atomic_load_n(&c->usable_allocated, __ATOMIC_RELAXED) + usable;
	MT_SET(c->usable_allocated, ua);
	/* The peak's loads before the histogram's store, whose address comes
	 * late: they need not wait to be sure it is not theirs. */
	int64_t live = (int64_t)(ua - __atomic_load_n(&c->usable_freed, __ATOMIC_RELAXED));
	if (live > __atomic_load_n(&c->peak_live, __ATOMIC_RELAXED))
		MT_SET(c->peak_live, live);
	/* req < 2^63: the block exists */
	MT_ADD(c->hist[mt_hist_raw_bucket(req)], 1);
	mt_seq_end(&s->seq, sq);
}

static inline __attribute__((always_inline)) void
collector_free_at(struct mt_slot *s, uint64_t sq, uint64_t usable)
{
	mt_seq_begin(&s->seq, sq);
	MT_ADD(s->live.frees, 1);
	MT_ADD(s->live.usable_freed, usable);
	mt_seq_end(&s->seq, sq);
}

static inline __attribute__((always_inline)) bool
collector_alloc(struct mt_slot *s, uint64_t req, uint64_t usable)
{
	uint64_t sq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
	if (mt_unlikely(sq & 1)) {
		collector_nested_alloc(s, req, usable);
		return false;
	}
	collector_alloc_at(s, sq, req, usable);
	return true;
}

static inline void collector_on_alloc(struct mt_slot *s, size_t req, size_t usable)
{
	collector_alloc(s, req, usable);
}

/* Threads beyond the slot capacity share one pool: atomic adds. */
static inline void collector_overflow(struct mt_overflow *o, const struct mt_event *e)
{
	__atomic_fetch_add(&o->allocs, e->allocs, __ATOMIC_RELAXED);
	__atomic_fetch_add(&o->frees, e->frees, __ATOMIC_RELAXED);
	__atomic_fetch_add(&o->reallocs, e->reallocs, __ATOMIC_RELAXED);
	__atomic_fetch_add(&o->failed, e->failed, __ATOMIC_RELAXED);
	__atomic_fetch_add(&o->bytes_allocated, e->bytes, __ATOMIC_RELAXED);
	__atomic_fetch_add(&o->usable_allocated, e->usable_in, __ATOMIC_RELAXED);
	__atomic_fetch_add(&o->usable_freed, e->usable_out, __ATOMIC_RELAXED);
}

/* Owner side: a consistent snapshot of the slot's current figures.
 * Retries if a signal handler updated the counters during the copy. */
MT_HIDDEN void collector_fill_snapshot(struct mt_slot *s, struct mt_snapshot *out,
				       uint64_t tick, uint64_t now_ns);

#endif
