/*
 * attach_mode.h - the collector's side of `memtop --attach`: what happens
 * when memtop, having loaded the collector into a running process with
 * dlopen, calls its entry points there (memtop_attach_start / _stop in
 * hooks.c, MT_ATTACH_* in shm_layout.h).
 *
 * Start redirects the malloc family through the GOT (gotpatch.h) and marks
 * the segment MT_FLAG_ATTACHED; stop restores the GOT and marks it
 * MT_FLAG_DETACHED.  The library stays loaded (-z nodelete) and keeps its
 * segment, thread slots and stack table, so a later attach reuses them:
 * it first sets every figure back to zero (the hooks are not installed
 * then, so no thread is counting), and the figures are again "since
 * attach".  A child forked while attached gets the original GOT back: memtop
 * watches the process it attached to, not its children.
 *
 * Called with the hooks' re-entrancy guard held.
 */
#ifndef MEMTOP_ATTACH_MODE_H
#define MEMTOP_ATTACH_MODE_H

#include <stdbool.h>
#include <stddef.h>

#include "gotpatch.h"

/* fns[0] must be malloc.  sampling: memtop's MT_ENV_SAMPLING value, or NULL
 * to keep the collector's.  Returns the number of GOT entries redirected or
 * an MT_ATTACH_E* code. */
MT_HIDDEN int attach_mode_start(const struct gotpatch_fn *fns, size_t n, const char *sampling);

/* Returns the number of entries restored, or MT_ATTACH_EBUSY. */
MT_HIDDEN int attach_mode_stop(void);

/* What the atfork child handler does, for a child made without fork
 * (_Fork, a raw clone) once hooks.c finds it is one: true if it took the
 * hooks out (the process was attached), and the child is not counted. */
MT_HIDDEN bool attach_mode_fork_child(void);

/* The exported entry points (hooks.c), which hold the guard around these. */
int memtop_attach_start(const char *sampling);
int memtop_attach_stop(void);

#endif
