/*
 * shm_layout.h - the versioned layout of a memtop shared-memory segment.
 *
 * This header is the protocol between the collector (preloaded into the
 * target, the only writer of thread slots) and memtop (the reader, the only
 * writer of the tick).  One segment per process, named MT_SHM_NAME_FMT with
 * the pid, created mode 0600.  It holds offsets, never pointers: both sides
 * map it at different addresses.  Any change to a structure below bumps
 * MT_LAYOUT_VERSION; a reader refuses a segment of another version.
 *
 *   offset 0                    struct mt_shm_header (MT_HEADER_SIZE bytes)
 *   offset slots_offset         slot 0, slot 1, ... each slot_size bytes
 *
 * The file grows by MT_SLOTS_PER_CHUNK slots at a time (slots_mapped says how
 * many exist); readers re-map when it grows.  Slot storage is never moved or
 * reused while the segment exists, so an exited thread keeps its figures.
 */
#ifndef MEMTOP_SHM_LAYOUT_H
#define MEMTOP_SHM_LAYOUT_H

#include <stdint.h>

#define MT_MAGIC            0x31504f544d454d00ULL /* "\0MEMTOP1" little-endian */
#define MT_LAYOUT_VERSION   1u
#define MT_HEADER_SIZE      4096u
#define MT_SLOT_SIZE        2048u
#define MT_SLOTS_PER_CHUNK  64u
#define MT_CHUNK_SIZE       (MT_SLOT_SIZE * MT_SLOTS_PER_CHUNK)
#define MT_MAX_SLOTS        16384u
#define MT_MAX_CHUNKS       (MT_MAX_SLOTS / MT_SLOTS_PER_CHUNK)
#define MT_HIST_BUCKETS     32u
#define MT_NAME_LEN         16u
#define MT_EXE_LEN          256u
#define MT_SHM_PREFIX       "memtop."
#define MT_SHM_NAME_FMT     "/memtop.%d"
#define MT_CACHELINE        64u

/* Environment variables shared by the launcher and the collector. */
#define MT_ENV_SESSION      "MEMTOP_SESSION"   /* launcher pid; 0/absent: none */
#define MT_ENV_VERBOSE      "MEMTOP_COLLECTOR_VERBOSE" /* print setup failures */

/* Size histogram: bucket b holds requested sizes s with
 * b == 0 for s == 0, otherwise b == min(floor(log2(s)) + 1, MT_HIST_BUCKETS-1).
 * So bucket 1 is exactly 1 byte, bucket 2 is 2-3, bucket 11 is 1024-2047 and
 * the last bucket is everything from 2^30 bytes up. */

/* Exact counters of one thread.  Only the owning thread writes them. */
struct mt_counters {
	uint64_t allocs;            /* successful calls returning a block */
	uint64_t frees;             /* frees of non-NULL + reallocs of non-NULL */
	uint64_t reallocs;          /* realloc/reallocarray with non-NULL pointer */
	uint64_t failed;            /* calls that returned NULL/error for size>0 */
	uint64_t bytes_allocated;   /* sum of requested sizes of allocs */
	uint64_t usable_allocated;  /* sum of malloc_usable_size of those blocks */
	uint64_t usable_freed;      /* sum of malloc_usable_size of freed blocks */
	int64_t  peak_live;         /* max over time of usable_allocated-usable_freed */
	uint64_t hist[MT_HIST_BUCKETS];
};

/* Counters of calls that interrupted (from a signal handler) the owner while
 * it was updating its main counters.  Summed into the totals by readers. */
struct mt_nested_counters {
	uint64_t allocs, frees, reallocs, failed;
	uint64_t bytes_allocated, usable_allocated, usable_freed;
	uint64_t lost;              /* doubly nested events that were not counted */
};

enum mt_slot_state {
	MT_SLOT_FREE = 0,
	MT_SLOT_ACTIVE = 1,
	MT_SLOT_EXITED = 2,         /* the thread ran its exit path */
};

/* A published copy: everything a reader needs about one thread. */
struct mt_snapshot {
	struct mt_counters c;
	struct mt_nested_counters n;
	uint64_t tick;              /* header tick seen when published */
	uint64_t publish_ns;        /* CLOCK_REALTIME of publication */
	uint64_t start_ns;          /* CLOCK_REALTIME when the thread registered */
	uint64_t end_ns;            /* CLOCK_REALTIME at thread exit, else 0 */
	uint64_t cpu_ns;            /* thread CPU time at exit, else 0 */
	int32_t  tid;
	uint32_t state;             /* enum mt_slot_state */
	char     name[MT_NAME_LEN]; /* as the kernel had it; not NUL-safe input */
};

/*
 * One thread's slot.  Cache-line groups keep what the owner writes on every
 * event (seq + live) apart from what it writes once per interval (epoch,
 * snapshots).  Readers only read slots.
 *
 * live is guarded by seq (odd while the owner updates it): a reader may copy
 * live and accept it if seq was even and unchanged.  snap[] is a two-copy
 * latch: the owner writes snap[(epoch+1)&1] then stores epoch+1 (release).
 */
struct mt_slot {
	uint32_t state;             /* enum mt_slot_state, atomic access */
	int32_t  tid;
	uint64_t start_ns;
	uint64_t end_ns;
	uint64_t cpu_ns;
	char     name[MT_NAME_LEN];
	uint64_t pub_tick;          /* owner-private: tick of its last publish */
	uint64_t _pad0;

	uint64_t seq __attribute__((aligned(MT_CACHELINE)));
	struct mt_counters live;

	uint64_t nseq __attribute__((aligned(MT_CACHELINE)));
	struct mt_nested_counters nested;

	uint64_t epoch __attribute__((aligned(MT_CACHELINE)));
	struct mt_snapshot snap[2];
};

/* The process-level malloc figures (mallinfo2), published by whichever
 * thread first sees a new tick; same two-copy latch as thread snapshots. */
struct mt_mallinfo {
	uint64_t tick;
	uint64_t sample_ns;         /* CLOCK_REALTIME */
	uint64_t arena;             /* non-mmapped bytes obtained from the system */
	uint64_t ordblks;           /* free chunks */
	uint64_t uordblks;          /* bytes in use (non-mmapped) */
	uint64_t fordblks;          /* free bytes held (non-mmapped) */
	uint64_t hblks, hblkhd;     /* mmapped chunks and their bytes */
	uint64_t keepcost;
	uint32_t valid;             /* 0: mallinfo2 not available */
	uint32_t _pad;
};

/* Counters of threads that found no free slot (policy when full): pooled
 * into one pseudo-thread updated with atomic adds, so totals stay exact. */
struct mt_overflow {
	uint64_t threads;
	uint64_t allocs, frees, reallocs, failed;
	uint64_t bytes_allocated, usable_allocated, usable_freed;
};

struct mt_shm_header {
	uint64_t magic;
	uint32_t layout_version;
	uint32_t header_size;
	uint32_t slot_size;
	uint32_t slot_capacity;     /* MT_MAX_SLOTS */
	uint64_t slots_offset;
	int32_t  pid;
	int32_t  ppid;
	uint32_t uid;
	uint32_t flags;             /* MT_FLAG_* */
	uint64_t session;           /* MEMTOP_SESSION of the process, 0 if none */
	uint64_t start_ns;          /* CLOCK_REALTIME when the collector started */
	uint64_t proc_starttime;    /* /proc/self/stat field 22 (clock ticks) */
	char     exe[MT_EXE_LEN];

	/* written by registering threads (slow path only) */
	uint32_t slots_used __attribute__((aligned(MT_CACHELINE)));
	uint32_t slots_mapped;
	struct mt_overflow overflow;

	/* written by the reader only: the publication tick */
	uint64_t tick __attribute__((aligned(MT_CACHELINE)));
	int32_t  reader_pid;

	uint64_t mi_epoch __attribute__((aligned(MT_CACHELINE)));
	uint64_t mi_claim;          /* tick whose mallinfo is being published */
	struct mt_mallinfo mi[2];
};

#define MT_FLAG_READY       0x1u    /* header fully written */
#define MT_FLAG_FORK_CHILD  0x2u    /* created in a forked child */

_Static_assert(sizeof(struct mt_slot) <= MT_SLOT_SIZE, "slot too large");
_Static_assert(sizeof(struct mt_shm_header) <= MT_HEADER_SIZE, "header too large");
_Static_assert(MT_CHUNK_SIZE % 4096 == 0, "chunks must be page multiples");

static inline uint32_t mt_hist_bucket(uint64_t size)
{
	if (size == 0)
		return 0;
	uint32_t b = 64u - (uint32_t)__builtin_clzll(size);
	return b < MT_HIST_BUCKETS ? b : MT_HIST_BUCKETS - 1;
}

static inline uint64_t mt_slot_offset(uint32_t index)
{
	return (uint64_t)MT_HEADER_SIZE + (uint64_t)index * MT_SLOT_SIZE;
}

#endif
