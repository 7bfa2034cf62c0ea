/*
 * bootstrap.c - a bump allocator over a static buffer, used only while the
 * collector resolves the real allocation functions with dlsym.
 *
 * Blocks are never reused: frees of them are no-ops and a realloc copies
 * them out (hooks.c), so the arena needs no lock beyond an atomic bump.
 * Each block is preceded by a 16-byte header holding its size.
 */
#include <stdint.h>
#include <string.h>

#include "bootstrap.h"

#define ARENA_SIZE BOOTSTRAP_ARENA_SIZE
#define arena bootstrap_arena
#define HDR 16u

_Alignas(64) unsigned char bootstrap_arena[ARENA_SIZE];
static size_t arena_used;

void *bootstrap_alloc(size_t size, size_t align)
{
	if (align < HDR)
		align = HDR;
	if (align & (align - 1))
		return NULL;
	if (size > ARENA_SIZE)
		return NULL;
	size_t old = __atomic_load_n(&arena_used, __ATOMIC_RELAXED);
	for (;;) {
		uintptr_t base = (uintptr_t)arena + old + HDR;
		uintptr_t user = (base + align - 1) & ~(uintptr_t)(align - 1);
		size_t end = (size_t)(user - (uintptr_t)arena) + size;
		if (end > ARENA_SIZE)
			return NULL;
		end = (end + HDR - 1) & ~(size_t)(HDR - 1);
		if (__atomic_compare_exchange_n(&arena_used, &old, end, false,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
			size_t *hdr = (size_t *)(user - HDR);
			*hdr = size;
			return memset((void *)user, 0, size);
		}
	}
}

size_t bootstrap_size(const void *p)
{
	if (!bootstrap_owns(p))
		return 0;
	return *(const size_t *)((const unsigned char *)p - HDR);
}
