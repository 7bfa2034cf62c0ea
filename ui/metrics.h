/*
 * metrics.h - the figures the viewer derives from a session for display:
 * heap and size efficiency, average allocation size, I/O per call, CPU
 * average and peak over a timeline, size-histogram bucket labels.
 *
 * Each is computed from measured inputs only and is NAN when an input is
 * missing; the formulas are in memtop(1), section VIEWER.
 */
#ifndef MEMTOP_UI_METRICS_H
#define MEMTOP_UI_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "session.h"

/* Heap efficiency, percent: the share of the memory malloc holds from the
 * system (mallinfo2 arena + hblkhd) that holds live blocks
 * (collector live bytes): 100 * live / (arena + hblkhd), clamped to
 * 0..100.  NAN without mallinfo2 figures or collector. */
double metrics_heap_efficiency(const struct session *s);
/* Size efficiency, percent: requested over usable bytes of every block a
 * thread allocated, 100 * bytes_allocated / usable_allocated.  NAN before
 * the first allocation. */
double metrics_size_efficiency(const struct mt_counters *c);
/* Average requested size, bytes_allocated / allocs; NAN with no allocs. */
double metrics_avg_size(const struct mt_counters *c);
/* Live bytes of a thread: usable allocated minus usable freed. */
int64_t metrics_thread_live(const struct thread_stat *t);
/* I/O calls of a thread (read + write syscalls); -1 when not readable. */
int64_t metrics_thread_io_calls(const struct thread_stat *t);
/* I/O efficiency of the process: storage bytes moved per read/write call,
 * (read_bytes + write_bytes) / (syscr + syscw); NAN when unreadable or no
 * calls were made. */
double metrics_io_bytes_per_call(const struct session *s);
/* Mean and largest CPU % over the timeline's measured points (NAN if none). */
void metrics_cpu_stats(const struct history *h, double *avg, double *peak);
/* Threads seen and how many of them have exited. */
void metrics_thread_counts(const struct session *s, size_t *seen, size_t *exited);
/* Label of size-histogram bucket b: "0", "1", "2-3", ..., "512-1023", then
 * "1K-2K" (from 1 KiB to less than 2 KiB), ..., "1G+". */
char *metrics_bucket_label(char *buf, size_t len, unsigned b);

#endif
