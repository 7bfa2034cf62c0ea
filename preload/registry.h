/*
 * registry.h - the collector's shared-memory segment and its thread slots.
 *
 * The segment is created when the collector starts (and again, lazily, in a
 * forked child).  Slots are handed out once each and never reused, so a
 * reader can always look at an exited thread's figures.  All functions here
 * are slow-path: the hooks call them with their re-entrancy guard held.
 */
#ifndef MEMTOP_REGISTRY_H
#define MEMTOP_REGISTRY_H

#include <stdint.h>

#include "shm_layout.h"

#ifndef MT_HIDDEN
#define MT_HIDDEN __attribute__((visibility("hidden")))
#endif

/* Special values of a thread's slot pointer. */
#define MT_SLOT_NONE      ((struct mt_slot *)0)   /* not registered yet */
#define MT_SLOT_OVERFLOW  ((struct mt_slot *)1)   /* no slot left: pooled */
#define MT_SLOT_DISABLED  ((struct mt_slot *)2)   /* no segment: pass-through */
#define MT_SLOT_SPECIAL   2u

MT_HIDDEN extern struct mt_shm_header *mt_hdr;

/* Create this process's segment (once: later calls report the first
 * outcome); 0 on success, -1 (see registry_error). */
MT_HIDDEN int registry_init(void);
MT_HIDDEN const char *registry_error(void);

/* A slot for the calling thread, or MT_SLOT_OVERFLOW / MT_SLOT_DISABLED. */
MT_HIDDEN struct mt_slot *registry_register(void);

/* Slot idx if this process has mapped its chunk (every registered thread's
 * is), else NULL: no lock, no call (the API reads its own process). */
MT_HIDDEN struct mt_slot *registry_slot_mapped(uint32_t idx);

/* Publish the owner's snapshot (and the process mallinfo once per tick). */
MT_HIDDEN void registry_publish(struct mt_slot *slot);

/* The owner thread is exiting: record end time, CPU time, name; publish. */
MT_HIDDEN void registry_thread_exit(struct mt_slot *slot);

/* Stack record id, mapping its chunk if this process has not yet (slow
 * path: may take a lock and make system calls); NULL if it cannot. */
MT_HIDDEN struct mt_stack_rec *registry_stack_rec(uint32_t id);
/* The same for a record this process already mapped: no lock, no call. */
MT_HIDDEN struct mt_stack_rec *registry_stack_rec_mapped(uint32_t id);

/* A new stack area (for a thread's first sample); MT_NO_AREA if none
 * (counted in the header's samplers_unbacked when there is no room). */
MT_HIDDEN uint32_t registry_area_new(void);
/* Area id, mapping its chunk if needed (slow path) / already mapped only. */
MT_HIDDEN struct mt_stack_area *registry_area(uint32_t id);
MT_HIDDEN struct mt_stack_area *registry_area_mapped(uint32_t id);

/* Called once a segment is ready (with the guard held), and at every
 * publication (the same): adds the thread's top
 * stacks to its snapshot, and notes newly loaded modules. */
MT_HIDDEN extern void (*registry_on_create)(void);
MT_HIDDEN extern void (*registry_on_publish)(struct mt_slot *slot, struct mt_snapshot *snap);

MT_HIDDEN void registry_fork_prepare(void);
MT_HIDDEN void registry_fork_parent(void);
/* In the child: forget the parent's segment; the next registration creates
 * the child's own. */
MT_HIDDEN void registry_fork_child(void);

static inline uint64_t registry_tick(void)
{
	return __atomic_load_n(&mt_hdr->tick, __ATOMIC_RELAXED);
}

#endif
