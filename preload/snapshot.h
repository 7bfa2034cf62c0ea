/*
 * snapshot.h - publish and read thread figures without locks.
 *
 * Two mechanisms, both single-writer (the owning thread):
 *  - the two-copy latch (RCU-style epoch swap) for published snapshots: the
 *    writer fills the idle copy and flips the epoch with release semantics;
 *    a reader copies the current copy and accepts it only if the epoch did
 *    not move meanwhile.  The writer never waits.
 *  - a sequence count around the live counters, so a reader can take fresh
 *    figures from a thread that has gone quiet since its last publication.
 *
 * Copies use relaxed atomic word accesses: a racing copy is detected by the
 * epoch/sequence re-check, never relied upon, and stays free of C data races.
 * Shared by the collector, the reader and the tests; header-only so the
 * collector's copy is inlined.
 */
#ifndef MEMTOP_SNAPSHOT_H
#define MEMTOP_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "shm_layout.h"

static inline void mt_copy_words_out(void *dst, const void *src, size_t n)
{
	uint64_t *d = dst;
	const uint64_t *s = src;
	for (size_t i = 0; i < n / 8; i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

/* The live counters as readers see them: the histogram folded into
 * MT_HIST_BUCKETS buckets (mt_hist_bucket's). */
static inline void mt_counters_from_live(struct mt_counters *c, const struct mt_live_counters *l)
{
	mt_copy_words_out(c, l, offsetof(struct mt_counters, hist));
	uint64_t last = 0;
	for (unsigned b = 0; b < MT_HIST_RAW; b++) {
		uint64_t v = __atomic_load_n(&l->hist[b], __ATOMIC_RELAXED);
		if (b < MT_HIST_BUCKETS - 1)
			c->hist[b] = v;
		else
			last += v;
	}
	c->hist[MT_HIST_BUCKETS - 1] = last;
}

static inline void mt_copy_words_in(void *dst, const void *src, size_t n)
{
	uint64_t *d = dst;
	const uint64_t *s = src;
	for (size_t i = 0; i < n / 8; i++)
		__atomic_store_n(&d[i], s[i], __ATOMIC_RELAXED);
}

_Static_assert(sizeof(struct mt_snapshot) % 8 == 0, "word copies");
_Static_assert(sizeof(struct mt_counters) % 8 == 0, "word copies");
_Static_assert(sizeof(struct mt_nested_counters) % 8 == 0, "word copies");
_Static_assert(sizeof(struct mt_mallinfo) % 8 == 0, "word copies");

/*
 * Generic latch over two copies of `size` bytes at copies[0], copies[1].
 * Writer side: only one writer at a time (the owner thread; for mallinfo the
 * thread that won mi_claim).
 */
static inline void mt_latch_publish(uint64_t *epoch, void *copies, size_t size,
				    const void *value)
{
	uint64_t e = __atomic_load_n(epoch, __ATOMIC_RELAXED);
	char *idle = (char *)copies + ((e + 1) & 1) * size;
	/* Order the previous epoch store before these data stores, so a reader
	 * that sees new data in what it thought was the stable copy also sees
	 * the epoch that made it idle. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	mt_copy_words_in(idle, value, size);
	__atomic_store_n(epoch, e + 1, __ATOMIC_RELEASE);
}

/* Returns true and fills *out if a consistent copy was read. */
static inline bool mt_latch_read(const uint64_t *epoch, const void *copies,
				 size_t size, void *out, uint64_t *epoch_out)
{
	uint64_t e1 = __atomic_load_n(epoch, __ATOMIC_ACQUIRE);
	const char *cur = (const char *)copies + (e1 & 1) * size;
	mt_copy_words_out(out, cur, size);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	uint64_t e2 = __atomic_load_n(epoch, __ATOMIC_RELAXED);
	if (epoch_out)
		*epoch_out = e1;
	return e1 == e2;
}

static inline void mt_snapshot_publish(struct mt_slot *slot, const struct mt_snapshot *s)
{
	mt_latch_publish(&slot->epoch, slot->snap, sizeof(slot->snap[0]), s);
}

/* Tries a few times; false only if the writer flipped during every try.
 * epoch 0 means "never published": the result is then all zeroes. */
static inline bool mt_snapshot_read(const struct mt_slot *slot, struct mt_snapshot *out,
				    uint64_t *epoch_out)
{
	for (int i = 0; i < 16; i++)
		if (mt_latch_read(&slot->epoch, slot->snap, sizeof(slot->snap[0]), out, epoch_out))
			return true;
	return false;
}

/* --- sequence count around live counters (writer: owner thread) --- */

static inline void mt_seq_begin(uint64_t *seq, uint64_t s)
{
	__atomic_store_n(seq, s + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void mt_seq_end(uint64_t *seq, uint64_t s)
{
	__atomic_store_n(seq, s + 2, __ATOMIC_RELEASE);
}

/* Owner-side relaxed add: the owner is the only writer, so load+store is
 * enough; atomic accesses keep readers' racing copies well-defined. */
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
/* One add to memory: half the instructions of a load and a store, still
 * an untorn aligned store for readers.  Not under ThreadSanitizer, which
 * must see the accesses. */
#define MT_ADD(field, v)                                                     \
	do {                                                                 \
		_Static_assert(sizeof(field) == 8, "64-bit counters");      \
		__asm__ volatile("addq %1, %0" : "+m"(field) : "er"((uint64_t)(v))); \
	} while (0)
#else
#define MT_ADD(field, v) \
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (v), __ATOMIC_RELAXED)
#endif
#define MT_SET(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)

/* Reader side: a consistent copy of the live and nested counters. */
static inline bool mt_live_read(const struct mt_slot *slot, struct mt_counters *c,
				struct mt_nested_counters *n, int tries)
{
	for (int i = 0; i < tries; i++) {
		uint64_t s1 = __atomic_load_n(&slot->seq, __ATOMIC_ACQUIRE);
		uint64_t n1 = __atomic_load_n(&slot->nseq, __ATOMIC_ACQUIRE);
		if ((s1 & 1) || (n1 & 1))
			continue;
		mt_counters_from_live(c, &slot->live);
		mt_copy_words_out(n, &slot->nested, sizeof(*n));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&slot->seq, __ATOMIC_RELAXED) == s1 &&
		    __atomic_load_n(&slot->nseq, __ATOMIC_RELAXED) == n1)
			return true;
	}
	return false;
}

#endif
