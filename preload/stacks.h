/*
 * stacks.h - sampled call stacks inside the collector: capture with
 * libunwind, the process-wide stack table in shared memory, each thread's
 * per-stack figures, and the table of sampled blocks still live (so that a
 * free, by any thread, is credited to the stack that allocated the block).
 *
 * Only two things run on every event, both inline: the tier countdown
 * (sampler.h) in the allocation hooks and mt_live_maybe() in the free
 * hooks, a one-byte load from a filter that is written only when a sampled
 * block is born or dies.  Everything else runs on sampled events.
 */
#ifndef MEMTOP_STACKS_H
#define MEMTOP_STACKS_H

#include <stdbool.h>
#include <stdint.h>

#include "sampler.h"
#include "shm_layout.h"
#include "trace.h"

#ifndef MT_HIDDEN
#define MT_HIDDEN __attribute__((visibility("hidden")))
#endif

/* Counting filter over live sampled blocks: a cell is non-zero while some
 * sampled block whose address maps to it is live (255 sticks). */
#define MT_FILTER_BITS  18u
#define MT_FILTER_SIZE  (1u << MT_FILTER_BITS)

MT_HIDDEN extern struct mt_sampler_config mt_scfg;
MT_HIDDEN extern uint8_t mt_live_filter[MT_FILTER_SIZE];
/* Set (for good) when the first sampled block enters the live table: until
 * then a free needs no filter lookup, and with --no-stacks never does. */
MT_HIDDEN extern uint8_t mt_live_used;

/* Consecutive 16-byte granules map to consecutive cells, so a thread's
 * nearby blocks share cache lines; each 4 MiB window of the address space
 * starts at a pseudo-random cell, because glibc aligns thread arenas to
 * 64 MiB and identical offsets in two arenas must not share lines that both
 * threads write. */
static inline uint32_t mt_filter_index(uintptr_t p)
{
	uint64_t window = (uint64_t)p >> (4 + MT_FILTER_BITS);
	return (uint32_t)(((uint64_t)p >> 4) + ((window * 0x9E3779B97F4A7C15ULL) >> 40)) &
	       (MT_FILTER_SIZE - 1);
}

static inline bool mt_live_maybe(const void *p)
{
	/* The free of a block happens after its malloc returned, whatever
	 * synchronisation handed it over, so a block in the table is never
	 * freed by a thread that still reads mt_live_used as 0. */
	return __atomic_load_n(&mt_live_used, __ATOMIC_RELAXED) &&
	       __atomic_load_n(&mt_live_filter[mt_filter_index((uintptr_t)p)],
			       __ATOMIC_RELAXED) != 0;
}

/* A sampled block taken out of the live table. */
struct mt_live_block {
	uint64_t ptr;
	uint32_t area;              /* the allocating thread's stack area */
	uint32_t entry;             /* its entry there (MT_AREA_STACKS: other) */
	uint64_t bytes_w;
};

/* Read the sampling parameters (MT_ENV_SAMPLING) and prepare capture;
 * describes the segment if it exists already. */
MT_HIDDEN void stacks_init(void);

/* A segment was created (the process's, or a forked child's): describe the
 * sampling in its header and record the loaded modules. */
MT_HIDDEN void stacks_segment_created(void);

/* Seed a newly registered thread's sampler. */
MT_HIDDEN void stacks_thread_init(struct mt_sampler *s, struct mt_slot *slot);

/* After a stage-1 hit for block p of `size` bytes allocated by the owner of
 * slot at call site `site`: decide, and if sampled capture and record.  The
 * caller holds its re-entrancy guard (capture may allocate). */
MT_HIDDEN struct mt_sampled stacks_sample(struct mt_sampler *s, struct mt_slot *slot,
					  unsigned tier, void *p, uint64_t size, uintptr_t site);

/* Take p out of the live table if it is a sampled block (call before the
 * real free/realloc: afterwards the address may be handed out again).
 * True and *out filled if it was. */
MT_HIDDEN bool stacks_take(void *p, struct mt_live_block *out);
/* Credit the free of a taken block to its stack. */
MT_HIDDEN void stacks_freed(const struct mt_live_block *b);
/* Put a taken block back (the realloc that would have freed it failed). */
MT_HIDDEN void stacks_put_back(const struct mt_live_block *b);

/* At every publication: note modules loaded since, calibrate timing. */
MT_HIDDEN void stacks_on_publish(struct mt_slot *slot, struct mt_snapshot *snap);

/* In a forked child: forget the parent's tables (its blocks stay untracked). */
MT_HIDDEN void stacks_fork_child(void);

/* Attach mode: apply memtop's sampling parameters (MT_ENV_SAMPLING's
 * format), which the target's environment cannot carry, and bump
 * mt_sampling_gen: each registered thread re-seeds its sampler at its next
 * publication (a countdown switched off would otherwise never fire). */
MT_HIDDEN void stacks_configure(const char *spec);
MT_HIDDEN extern uint32_t mt_sampling_gen;
/* Attach mode, attaching again: the threads' per-stack figures and the
 * live sampled blocks start afresh (stack records stay: ids are kept). */
MT_HIDDEN void stacks_attach_reset(void);

#endif
