/*
 * bootstrap.h - the static arena that serves allocations made before the
 * real allocator is known (dlsym itself calls calloc while we resolve it).
 */
#ifndef MEMTOP_BOOTSTRAP_H
#define MEMTOP_BOOTSTRAP_H

#include <stddef.h>
#include <stdbool.h>

#define MT_VISIBLE_HIDDEN __attribute__((visibility("hidden")))

#define BOOTSTRAP_ARENA_SIZE (256 * 1024)

MT_VISIBLE_HIDDEN extern unsigned char bootstrap_arena[BOOTSTRAP_ARENA_SIZE];

MT_VISIBLE_HIDDEN void *bootstrap_alloc(size_t size, size_t align);

/* Inline: free() asks this of every pointer. */
static inline bool bootstrap_owns(const void *p)
{
	/* one unsigned comparison: below the arena wraps around to huge */
	return (uintptr_t)p - (uintptr_t)bootstrap_arena < BOOTSTRAP_ARENA_SIZE;
}
/* Requested size of an arena block (0 for a foreign pointer). */
MT_VISIBLE_HIDDEN size_t bootstrap_size(const void *p);

#endif
