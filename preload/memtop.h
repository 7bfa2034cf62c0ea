/*
 * memtop.h - the C API of the memtop collector (libmemtop, memtop(3)).
 *
 * A program drives memtop from inside: it records a binary trace of every
 * allocation event into a directory (all threads, or only the calling one),
 * reads the exact counters of the process and of each of its threads, and
 * runs a function under tracing to get that function's own figures.
 *
 * The functions live in the collector library itself, so they work the same
 * whether the program is linked with -lmemtop (pkg-config memtop) or the
 * library is preloaded (memtop -- PROGRAM, LD_PRELOAD): either way there is
 * one collector in the process.  They never allocate through malloc, and
 * nothing they do is counted or traced.  All are thread-safe.
 *
 * Every function returns 0 on success, or -1 with errno set.
 *
 * The structures below are part of the ABI: any change to them bumps
 * MEMTOP_API_VERSION; memtop_api_version() tells which version the library
 * that is actually loaded implements.
 */
#ifndef MEMTOP_H
#define MEMTOP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MEMTOP_API_VERSION   1

/* Longest thread name (the kernel's limit, without the NUL). */
#define MEMTOP_NAME_MAX      15
/* Room for a trace file name: a directory of at most 4095 bytes, a slash
 * and "trace.PID.mtt". */
#define MEMTOP_PATH_MAX      4128

/*
 * Exact counters (never sampled), by the rules of memtop(1) (valgrind's
 * "total heap usage"): allocs counts every successful call that returns a
 * block, frees every free of a non-NULL pointer plus every realloc of one,
 * reallocs the realloc/reallocarray calls on a non-NULL pointer (also in
 * allocs and frees).  A block freed by another thread is a free of the
 * freeing thread.
 */
struct memtop_counters {
	uint64_t allocs;
	uint64_t frees;
	uint64_t reallocs;
	uint64_t failed;            /* calls that returned NULL or an error */
	uint64_t bytes_allocated;   /* sum of the requested sizes of allocs */
	uint64_t usable_allocated;  /* sum of the usable sizes of those blocks */
	uint64_t bytes_freed;       /* sum of the usable sizes of freed blocks */
	int64_t  live_bytes;        /* usable_allocated - bytes_freed */
	int64_t  peak_live_bytes;   /* highest live_bytes: of a thread, since it
				     * started; of the process and of a report,
				     * as memtop(3) says; -1: unknown */
};

/* One thread of the process, alive or exited. */
struct memtop_thread {
	int32_t  tid;
	int32_t  exited;            /* 1: the thread has ended; its figures are final */
	int32_t  is_caller;         /* 1: the thread that took the snapshot */
	int32_t  stale;             /* 1: busy the whole time it was read: figures
				     * of its last publication (see memtop(3)) */
	char     name[MEMTOP_NAME_MAX + 1];
	struct memtop_counters c;
};

/* memtop_snapshot(): the caller sets threads and threads_capacity. */
struct memtop_snapshot {
	struct memtop_thread *threads;  /* in: array for per-thread figures, or NULL */
	size_t   threads_capacity;      /* in: its length (0 with NULL) */
	size_t   nthreads;              /* out: entries written */
	size_t   threads_total;         /* out: entries needed for every thread */
	uint64_t threads_pooled;        /* out: threads beyond the collector's slot
					 * table: in total, not in threads[] */
	int32_t  pid;
	int32_t  _reserved;
	uint64_t time_ns;               /* CLOCK_REALTIME of the snapshot */
	uint64_t lost;                  /* events nested too deep to be counted */
	struct memtop_counters total;   /* the whole process, every thread ever */
};

/* memtop_quick_trace(): what the calling thread did while fn ran. */
struct memtop_report {
	struct memtop_counters c;   /* deltas over fn; live_bytes: net growth;
				     * peak_live_bytes: highest live above the
				     * level at the start, from the trace (-1:
				     * no trace, or it missed events) */
	uint64_t elapsed_ns;        /* wall-clock time of fn */
	uint64_t cpu_ns;            /* CPU time of the calling thread in fn */
	uint64_t trace_events;      /* events of the calling thread in the trace */
	int32_t  ran;               /* 1: fn was called */
	int32_t  trace_error;       /* errno of a failed trace write, else 0 */
	char     trace_file[MEMTOP_PATH_MAX]; /* the trace written, "" if none */
};

/* The API version of the loaded library (MEMTOP_API_VERSION it was built with). */
int memtop_api_version(void);

/* Start recording every allocation event of every thread into dir (created,
 * mode 0700, if missing; its parent must exist), as dir/trace.PID.mtt.
 * Errors: EBUSY a trace is running, EEXIST dir already holds this process's
 * trace, ENODEV no collector, EINVAL dir NULL, empty or too long, and those
 * of mkdir(2) and open(2). */
int memtop_trace_all(const char *dir);

/* The same, recording only the calling thread's events. */
int memtop_trace_thread(const char *dir);

/* Stop the trace started by memtop_trace_all() or memtop_trace_thread():
 * write out every thread's buffered events and the end record.
 * Errors: EINVAL no trace is running, EPERM the running trace is memtop's
 * (memtop --trace), EBUSY it is a memtop_quick_trace() in another thread,
 * or the first write error of the trace (ENOSPC, EIO, ...): the file then
 * ends where that write failed. */
int memtop_stop_tracing(void);

/* Fill *out with the current counters of the process and of its threads
 * (up to threads_capacity of them, in the order they started).
 * Errors: EINVAL out NULL or threads NULL with a capacity, ENODEV no
 * collector.  A capacity too small is not an error: nthreads <
 * threads_total says that threads are missing from the array. */
int memtop_snapshot(struct memtop_snapshot *out);

/* Run fn(arg) in the calling thread, recording its events into dir (as
 * memtop_trace_thread(); dir NULL: no trace) and fill *out with its figures.
 * Errors before fn runs (out->ran == 0): EINVAL fn or out NULL, ENODEV,
 * ENOSPC the calling thread has no slot in the collector, and those of
 * memtop_trace_thread().  After it ran (out->ran == 1, figures filled): the
 * first write error of the trace. */
int memtop_quick_trace(const char *dir, void (*fn)(void *), void *arg,
		       struct memtop_report *out);

#ifdef __cplusplus
}
#endif

#endif
