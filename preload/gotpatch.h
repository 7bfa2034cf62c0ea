/*
 * gotpatch.h - redirect the malloc family of every loaded module to the
 * collector's hooks by rewriting global offset table entries, and undo it.
 *
 * Attach mode (memtop --attach) needs this: a collector loaded with dlopen
 * into a running process comes after libc in symbol lookup order, so
 * nothing calls its malloc by itself.  Every module's relocations against
 * the family (R_X86_64_JUMP_SLOT, R_X86_64_GLOB_DAT, and plain
 * R_X86_64_64 pointers) are found through its dynamic section and the
 * entries that point to the allocator being wrapped (or, for a lazy
 * JUMP_SLOT, still to the module's own PLT) are pointed at the hooks.
 * Each rewritten entry is recorded with its old value, so that removal
 * restores exactly what was there.
 *
 * Nothing here allocates through the hooked functions: the records live in
 * mmap'd memory and /proc/self/maps is read into a stack buffer.  One
 * caller at a time (a try-lock: a second caller returns at once instead of
 * waiting, so no lock order can form with the loader's locks).
 */
#ifndef MEMTOP_GOTPATCH_H
#define MEMTOP_GOTPATCH_H

#include <stdbool.h>
#include <stddef.h>

#ifndef MT_HIDDEN
#define MT_HIDDEN __attribute__((visibility("hidden")))
#endif

struct gotpatch_fn {
	const char *name;       /* symbol name, e.g. "malloc" */
	void *hook;             /* what entries are redirected to */
	void *real;             /* what a resolved entry holds: the wrapped allocator */
};

#define GOTPATCH_MAX_FNS 16

/* Redirect the entries of every loaded module but the one containing
 * `self` (the collector).  The table is copied.  Returns the number of
 * entries redirected (0 is possible: a program that allocates through
 * another allocator), or -1 with errno EBUSY (another call is under way)
 * or ENOMEM (no room for the records). */
MT_HIDDEN int gotpatch_install(const struct gotpatch_fn *fns, size_t n, const void *self);

/* Installed: redirect the entries of modules loaded since the last scan.
 * Cheap when nothing was loaded (one dl_iterate_phdr step). */
MT_HIDDEN void gotpatch_refresh(void);

/* Restore every recorded entry that still holds our hook (of modules still
 * loaded) and stop refreshing.  Returns how many were restored, or -1 with
 * errno EBUSY if another call is under way (try again). */
MT_HIDDEN int gotpatch_remove(void);

MT_HIDDEN bool gotpatch_installed(void);

/* Entries currently redirected. */
MT_HIDDEN size_t gotpatch_count(void);

/* The lock itself, for fork handlers: a child must not inherit it taken. */
MT_HIDDEN bool gotpatch_lock_try(void);
MT_HIDDEN void gotpatch_lock_release(void);

#endif
