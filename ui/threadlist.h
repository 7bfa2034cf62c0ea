/*
 * threadlist.h - the threads a view shows, in the order it shows them:
 * the session's threads filtered by name and sorted by the chosen key.
 *
 * Entries are slot numbers (indexes into session->threads), which never
 * change for a thread, so a selection survives re-sorting and new threads.
 */
#ifndef MEMTOP_UI_THREADLIST_H
#define MEMTOP_UI_THREADLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "session.h"

/* Largest first, except efficiency: the least efficient first, since the
 * ranking exists to point at what to fix. */
enum sort_key { SORT_ALLOCS, SORT_BYTES, SORT_LIVE, SORT_CPU, SORT_EFFICIENCY, SORT_COUNT };

const char *sort_key_name(enum sort_key k);

typedef struct threadlist {
	size_t *slot;
	size_t n, cap;
	size_t total;            /* threads in the session, before filtering */
} threadlist;

threadlist *threadlist_new(void);
void threadlist_free(threadlist *self);
/* Rebuild from s: threads whose name contains filter (case-insensitive
 * ASCII; NULL or "" keeps all), sorted by key, ties by tid.  0, or -1 when
 * out of memory (the previous list is kept). */
int threadlist_build(threadlist *self, const struct session *s, enum sort_key key,
		     const char *filter);
/* Position of slot in the list, or -1. */
long threadlist_find(const threadlist *self, size_t slot);
/* True if name matches filter as threadlist_build does. */
bool threadlist_match(const char *name, const char *filter);

#endif
