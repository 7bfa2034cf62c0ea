/*
 * api_internal.h - what the public API (api.c, memtop.h) needs from the
 * rest of the collector and nothing else: the calling thread's slot with
 * the re-entrancy guard held (hooks.c).  Hidden, like everything but the
 * interposed functions and the memtop_* API.
 */
#ifndef MEMTOP_API_INTERNAL_H
#define MEMTOP_API_INTERNAL_H

#include "registry.h"

/* Take the calling thread's re-entrancy guard, so that what the API does
 * until api_leave() is neither counted nor traced, and return the thread's
 * slot, registering the thread first if it never allocated (which also
 * creates the segment in a forked child).  The result may be one of the
 * MT_SLOT_* special values. */
MT_HIDDEN struct mt_slot *api_enter(void);
MT_HIDDEN void api_leave(void);

/* In a child: the API's state starts afresh (an atfork handler, also
 * called by hooks.c for a child made without fork: _Fork, raw clone). */
MT_HIDDEN void api_fork_child(void);

#endif
