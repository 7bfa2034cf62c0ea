/*
 * traceclock.h - the memtop side of the trace clock (shm_layout.h,
 * struct mt_clock_page): a page that a thread of memtop keeps at the
 * current CLOCK_MONOTONIC_COARSE time while a trace is recorded, so that
 * traced threads need no clock call per event.  Without the page the
 * collector calls the clock itself: nothing but speed depends on it.
 */
#ifndef MEMTOP_TRACECLOCK_H
#define MEMTOP_TRACECLOCK_H

#include <stddef.h>

typedef struct traceclock traceclock;

/* Create /memtop-clock.SESSION and start keeping it; NULL with a reason in
 * err if the page or the thread cannot be had.  shm_name: the object's
 * name (MT_CLOCK_NAME_FMT), or NULL for the usual one. */
traceclock *traceclock_start(int session, const char *shm_name, char *err, size_t errlen);
/* The name of the page, as given to shm_open. */
const char *traceclock_name(const traceclock *self);
/* Stop the thread and remove the page. */
void traceclock_stop(traceclock *self);

/* Remove the pages in dir (/dev/shm) of memtops that are gone: those
 * named MT_CLOCK_PREFIX PID, PID not running in procroot, owned by us.
 * Returns how many were removed. */
int traceclock_cleanup_stale(const char *dir, const char *procroot);

#endif
