/*
 * shm_layout.h - the versioned layout of a memtop shared-memory segment.
 *
 * This header is the protocol between the collector (preloaded into the
 * target, the only writer of thread slots) and memtop (the reader, the only
 * writer of the tick).  One segment per process, named MT_SHM_NAME_FMT with
 * the pid, created mode 0600.  It holds offsets, never pointers: both sides
 * map it at different addresses.  Any change to a structure below bumps
 * MT_LAYOUT_VERSION; a reader refuses a segment of another version.  The one
 * exception: a field may take over padding that the collector always left
 * zero (the file is zero-filled), if zero means "nothing to report" and no
 * other field moves; readers of the same version that predate it ignore it,
 * and newer readers find zero in an older collector's segment.  Fields
 * added so: slots_unbacked, slots_errno, samplers_unbacked and stacks_errno
 * (static assert on their place).
 *
 *   offset 0                    struct mt_shm_header (MT_HEADER_SIZE bytes)
 *   offset slots_offset         slot 0, slot 1, ... each slot_size bytes
 *   offset stacks_offset        stack record 0, 1, ... each stack_rec_size bytes
 *   offset areas_offset         stack area 0, 1, ... each area_size bytes
 *
 * The file grows by MT_SLOTS_PER_CHUNK slots at a time (slots_mapped says how
 * many exist) and, independently, by MT_STACKS_PER_CHUNK stack records
 * (stacks_mapped) and MT_AREAS_PER_CHUNK stack areas (areas_mapped); the
 * gaps between the regions are holes that cost no memory.  Readers re-map when it grows.  Slot and stack storage is never
 * moved or reused while the segment exists, so an exited thread keeps its
 * figures and a stack id stays valid.
 */
#ifndef MEMTOP_SHM_LAYOUT_H
#define MEMTOP_SHM_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define MT_MAGIC            0x31504f544d454d00ULL /* "\0MEMTOP1" little-endian */
#define MT_LAYOUT_VERSION   3u
#define MT_HEADER_SIZE      65536u  /* the header struct, then the module table */
#define MT_SLOT_SIZE        2048u
#define MT_SLOTS_PER_CHUNK  64u
#define MT_CHUNK_SIZE       (MT_SLOT_SIZE * MT_SLOTS_PER_CHUNK)
#define MT_MAX_SLOTS        16384u
#define MT_MAX_CHUNKS       (MT_MAX_SLOTS / MT_SLOTS_PER_CHUNK)
#define MT_HIST_BUCKETS     32u
#define MT_HIST_RAW         65u     /* the owner's: every bit length, 0 to 64 */
#define MT_NAME_LEN         16u
#define MT_EXE_LEN          256u
#define MT_SHM_PREFIX       "memtop."
#define MT_SHM_NAME_FMT     "/memtop.%d"
#define MT_CACHELINE        64u
#define MT_MAX_MODULES      200u
#define MT_MODULE_PATH      256u

/* Call stacks (see struct mt_stack_rec). */
#define MT_STACK_MAX_DEPTH  64u
#define MT_STACKS_PER_CHUNK 256u
#define MT_MAX_STACKS       65536u
#define MT_MAX_STACK_CHUNKS (MT_MAX_STACKS / MT_STACKS_PER_CHUNK)
#define MT_AREA_STACKS      256u    /* stacks a thread tracks on its own */
#define MT_AREA_SITES       64u     /* its call-site table (sampler.h) */
#define MT_AREAS_PER_CHUNK  16u
#define MT_MAX_AREAS        MT_MAX_SLOTS
#define MT_MAX_AREA_CHUNKS  (MT_MAX_AREAS / MT_AREAS_PER_CHUNK)
#define MT_NO_AREA          UINT32_MAX
/* Weights are stored in fixed point: 1/p as an integer multiple of 1/MT_WEIGHT_ONE. */
#define MT_WEIGHT_ONE       65536u
/* The smallest sampling rate above 0: its weight, MT_WEIGHT_ONE / rate,
 * must fit the 64-bit fixed point with room to spare; a smaller one
 * counts as 0 (the tier is not sampled). */
#define MT_RATE_MIN         1e-9
/* Stack id 0 is the catch-all for samples whose stack could not be stored
 * (table full): their weight is kept, so estimates stay complete. */
#define MT_STACK_OTHER      0u

/* Environment variables shared by the launcher and the collector. */
#define MT_ENV_SESSION      "MEMTOP_SESSION"   /* launcher pid; 0/absent: none */
#define MT_ENV_VERBOSE      "MEMTOP_COLLECTOR_VERBOSE" /* print setup failures */
/* Stack sampling: "off", or "SMALL:MEDIUM:LARGE:MEDIUM_THR:LARGE_THR:FREQ_THR:DEPTH"
 * (rates in [0,1], thresholds in bytes, FREQ_THR a count, DEPTH in frames).
 * Absent: the defaults of interface.md. */
#define MT_ENV_SAMPLING     "MEMTOP_SAMPLING"

/*
 * The trace clock: while memtop records a trace it keeps the current
 * CLOCK_MONOTONIC_COARSE time in a page of its own, /memtop-clock.SESSION
 * (mode 0600), every MT_CLOCK_PERIOD_NS, so that a traced thread reads its
 * events' times from memory instead of calling the clock (8 % of a traced
 * churn run's time under perf record, before the page).  The collector checks it against the real
 * clock every MT_CLOCK_CHECK events and uses the real clock instead while
 * the page is more than MT_CLOCK_SLACK_NS off (memtop stopped or gone).
 */
#define MT_CLOCK_NAME_FMT   "/memtop-clock.%d"
#define MT_CLOCK_PREFIX     "memtop-clock."
#define MT_CLOCK_MAGIC      0x4b434f4c43544d00ULL /* "\0MTCLOCK" little-endian */
#define MT_CLOCK_VERSION    1u
#define MT_CLOCK_SIZE       4096u
/* a kernel tick at 250 Hz: waking every 1 ms cost 2 % of tracing's speed */
#define MT_CLOCK_PERIOD_NS  4000000ull
#define MT_CLOCK_SLACK_NS   50000000ull
#define MT_CLOCK_CHECK      1024u

struct mt_clock_page {
	uint64_t magic;
	uint32_t version;
	uint32_t _pad;
	uint64_t now_ns;            /* CLOCK_MONOTONIC_COARSE, nanoseconds */
};

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

/* The owner's live copy of the same counters.  Its histogram has a bucket
 * for every bit length (mt_hist_raw_bucket), so that the hot path needs no
 * cap; whoever copies it out folds the buckets from MT_HIST_BUCKETS - 1 up
 * into the last one (mt_counters_from_live). */
struct mt_live_counters {
	uint64_t allocs, frees, reallocs, failed;
	uint64_t bytes_allocated, usable_allocated, usable_freed;
	int64_t  peak_live;
	uint64_t hist[MT_HIST_RAW];
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

/* Sampled figures of one call stack in one thread.  Estimates are
 * Horvitz-Thompson sums: every sample adds its weight 1/p, p being the
 * probability with which it was taken.  The process's figures for a stack
 * are the sums over its threads. */
struct mt_stack_agg {
	uint32_t stack_id;
	uint32_t _pad;
	uint64_t samples;           /* sampled allocations */
	uint64_t allocs_w;          /* sum of 1/p, in units of 1/MT_WEIGHT_ONE */
	uint64_t bytes_w;           /* sum of round(size/p): estimated bytes */
	uint64_t freed_w;           /* the same for sampled blocks since freed */
	uint64_t min_size, max_size;/* of sampled requests (min: 0 if none) */
	uint64_t first_ns, last_ns; /* CLOCK_REALTIME of the first/last sample */
	uint64_t cpu_ns;            /* time spent capturing and recording it,
				     * in the header's cpu_unit_hz units */
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
	uint32_t index;             /* this slot's index */
	uint32_t area;              /* its stack area, MT_NO_AREA until it samples */

	uint64_t seq __attribute__((aligned(MT_CACHELINE)));
	struct mt_live_counters live;

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

#define MT_STACK_VALID      0x1u    /* frames written; aggregates live */
#define MT_STACK_TRUNCATED  0x2u    /* deeper frames were not captured */

/*
 * One distinct call stack, process-wide, written once: frames, depth and
 * hash before MT_STACK_VALID is set with release semantics, never changed
 * afterwards.  frames[0] is the return address into the caller of the
 * allocation function; return addresses throughout (symbolize address - 1).
 */
struct mt_stack_rec {
	uint32_t flags;             /* MT_STACK_* */
	uint32_t depth;             /* frames[] used */
	uint64_t hash;
	uint64_t frames[MT_STACK_MAX_DEPTH];
};
#define MT_STACK_REC_SIZE   sizeof(struct mt_stack_rec)
#define MT_STACK_CHUNK_SIZE (MT_STACK_REC_SIZE * MT_STACKS_PER_CHUNK)

/* A call site's capture count (the sampler's hot-site test). */
struct mt_site {
	uint64_t site;
	uint64_t captured;
};

/*
 * The per-stack figures of one thread that samples.  The owner updates an
 * entry inside seq (odd meanwhile), so a reader copies entries and keeps
 * them only if seq was even and unchanged: never torn.  The one exception is
 * freed_w, which any thread freeing a sampled block adds to atomically.
 * Stacks beyond the table's capacity are summed in other (stack id
 * MT_STACK_OTHER), so the thread's estimates stay complete.
 */
struct mt_stack_area {
	uint64_t seq;
	int32_t  tid;               /* owner, for readers' cross-checks */
	uint32_t slot;              /* owner's slot index */
	uint32_t keys[MT_AREA_STACKS];  /* stack id + 1; 0: unused */
	struct mt_stack_agg agg[MT_AREA_STACKS];
	struct mt_stack_agg other;
	struct mt_site sites[MT_AREA_SITES]; /* owner-private sampler state */
};
#define MT_AREA_SIZE        ((sizeof(struct mt_stack_area) + 4095u) & ~(uint64_t)4095u)
#define MT_AREA_CHUNK_SIZE  (MT_AREA_SIZE * MT_AREAS_PER_CHUNK)

/* Sampling parameters the collector runs with (written once at start). */
struct mt_sampling {
	uint32_t enabled;           /* 0: --no-stacks or unavailable */
	uint32_t depth;             /* maximum frames captured */
	uint64_t medium_threshold, large_threshold;
	uint64_t frequency_threshold;
	double   rate[3];           /* small, medium, large */
	double   boost;             /* factor for hot call sites */
};

/* One executable mapping of a loaded object, as the collector saw it
 * (dl_iterate_phdr): enough to symbolize offline once the process is gone. */
struct mt_module {
	uint64_t start, end;        /* [start, end) in the process */
	uint64_t offset;            /* file offset mapped at start */
	char     path[MT_MODULE_PATH];
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
	/* set by a thread about to exec (cleared if the exec fails): /proc
	 * may already show the new program under this process's tids, which
	 * the reader must not take for these threads' names and times */
	uint32_t exec_pending;
	uint32_t _pad_exec;
	struct mt_overflow overflow;
	/* Of overflow.threads, those pooled because the file could not grow to
	 * hold their slot's chunk (/dev/shm full: posix_fallocate failed; or
	 * mmap, or reopening the segment), not because slot_capacity was
	 * reached; slots_errno: the errno of the first such failure (ESTALE:
	 * the name designates another file now).  Set before slots_unbacked
	 * is incremented (release).  Formerly padding: see the top. */
	uint32_t slots_unbacked;
	int32_t  slots_errno;
	/* The same for stack storage: threads that stopped sampling because
	 * no stack area could be added for them (their exact counters are
	 * complete), and the errno of the first failure to add stack records
	 * or areas (a sample whose record could not be added goes to
	 * MT_STACK_OTHER, in stacks_lost).  Formerly padding too. */
	uint32_t samplers_unbacked;
	int32_t  stacks_errno;

	/* written by the reader only: the publication tick */
	uint64_t tick __attribute__((aligned(MT_CACHELINE)));
	int32_t  reader_pid;

	uint64_t mi_epoch __attribute__((aligned(MT_CACHELINE)));
	uint64_t mi_claim;          /* tick whose mallinfo is being published */
	struct mt_mallinfo mi[2];

	/* stack table: records [0, min(stacks_used, stacks_mapped)) */
	uint64_t stacks_offset __attribute__((aligned(MT_CACHELINE)));
	uint32_t stack_rec_size;
	uint32_t stack_capacity;    /* MT_MAX_STACKS */
	struct mt_sampling sampling;
	uint32_t stacks_used __attribute__((aligned(MT_CACHELINE))); /* ids handed out */
	uint32_t stacks_mapped;     /* records backed by the file */
	uint64_t stacks_lost;       /* samples that went to MT_STACK_OTHER */
	uint64_t live_untracked;    /* sampled blocks whose free cannot be seen */
	uint64_t areas_offset;
	uint32_t area_size;
	uint32_t areas_used;        /* areas handed out */
	uint32_t areas_mapped;      /* areas backed by the file */

	/* module table: entries [0, nmodules) are complete (release store) */
	uint32_t nmodules __attribute__((aligned(MT_CACHELINE)));
	uint32_t modules_dropped;   /* mappings that did not fit */
	uint64_t modules_offset;    /* from the segment start */
	/* Units of the stack aggregates' cpu_ns, per second: the collector
	 * times captures with the CPU's time-stamp counter where there is one
	 * and publishes its rate once calibrated against the clock (0 until
	 * then: unknown), 10^9 where it uses the clock itself. */
	uint64_t cpu_unit_hz;
	/* --trace: why the collector stopped writing (errno, 0: it did not) */
	int32_t  trace_errno;
	uint32_t _pad2;
	uint64_t trace_lost;        /* events not written (after a failure, or nested twice) */
};

#define MT_MODULES_OFFSET   1024u

#define MT_FLAG_READY       0x1u    /* header fully written */
#define MT_FLAG_FORK_CHILD  0x2u    /* created in a forked child */
/* memtop --attach loaded the collector into the running process: figures
 * count from the (last) attach, not from the process start. */
#define MT_FLAG_ATTACHED    0x4u
/* ... and has detached since: the hooks are removed, the figures frozen. */
#define MT_FLAG_DETACHED    0x8u
/* The collector was loaded into the running process (memtop --attach's
 * dlopen), not preloaded: without MT_FLAG_ATTACHED, nothing is hooked yet
 * (the memtop that loaded it died before memtop_attach_start). */
#define MT_FLAG_LOADED_LATE 0x10u

/* memtop --attach calls these collector entry points inside the target:
 * int memtop_attach_start(const char *sampling)  (MT_ENV_SAMPLING's format)
 *   returns the number of GOT entries redirected, or an MT_ATTACH_E* code;
 * int memtop_attach_stop(void)
 *   returns the number of entries restored, or MT_ATTACH_EBUSY. */
#define MT_ATTACH_START_SYM  "memtop_attach_start"
#define MT_ATTACH_STOP_SYM   "memtop_attach_stop"
#define MT_ATTACH_ENOSEGMENT (-1)  /* the collector could not create its segment */
#define MT_ATTACH_EPRELOADED (-2)  /* preloaded: its hooks interpose already */
#define MT_ATTACH_EBUSY      (-3)  /* another thread is rewriting the GOT: retry */
#define MT_ATTACH_EACTIVE    (-4)  /* attached already: stop first */
#define MT_ATTACH_EPATCH     (-5)  /* the modules' GOT could not be read */

_Static_assert(sizeof(struct mt_slot) <= MT_SLOT_SIZE, "slot too large");
/* Fields that took over padding moved nothing (see the top). */
_Static_assert(offsetof(struct mt_shm_header, overflow) == 400 &&
	       offsetof(struct mt_shm_header, slots_unbacked) == 464 &&
	       offsetof(struct mt_shm_header, stacks_errno) == 476 &&
	       offsetof(struct mt_shm_header, tick) == 512, "header fields moved");
_Static_assert(sizeof(struct mt_shm_header) <= MT_MODULES_OFFSET, "header too large");
_Static_assert(MT_MODULES_OFFSET + MT_MAX_MODULES * sizeof(struct mt_module) <= MT_HEADER_SIZE,
	       "module table too large");
_Static_assert(MT_CHUNK_SIZE % 4096 == 0, "chunks must be page multiples");

/* The bit length of size (0 for 0), capped at the last bucket.  On the
 * hot path, so branch-free: the bit length of s is the index of the top bit
 * of 2s+1, and sizes from 2^31 up all land in the last bucket anyway. */
static inline uint32_t mt_hist_bucket(uint64_t size)
{
	uint64_t s = size < (1ULL << 40) ? size : (1ULL << 40);
	uint32_t b = 63u - (uint32_t)__builtin_clzll(2 * s + 1);
	return b < MT_HIST_BUCKETS ? b : MT_HIST_BUCKETS - 1;
}

/* The bit length of size, the owner's bucket.  size must be below 2^63:
 * a successful allocation always is (objects are at most PTRDIFF_MAX). */
static inline uint32_t mt_hist_raw_bucket(uint64_t size)
{
	return 63u - (uint32_t)__builtin_clzll(2 * size + 1);
}

_Static_assert(offsetof(struct mt_live_counters, hist) == offsetof(struct mt_counters, hist),
	       "the live counters are the counters with a longer histogram");

static inline uint64_t mt_slot_offset(uint32_t index)
{
	return (uint64_t)MT_HEADER_SIZE + (uint64_t)index * MT_SLOT_SIZE;
}

#define MT_STACKS_OFFSET    ((uint64_t)MT_HEADER_SIZE + (uint64_t)MT_MAX_SLOTS * MT_SLOT_SIZE)
#define MT_AREAS_OFFSET     (MT_STACKS_OFFSET + (uint64_t)MT_MAX_STACKS * MT_STACK_REC_SIZE)

static inline uint64_t mt_stack_offset(uint32_t id)
{
	return MT_STACKS_OFFSET + (uint64_t)id * MT_STACK_REC_SIZE;
}

static inline uint64_t mt_area_offset(uint32_t id)
{
	return MT_AREAS_OFFSET + (uint64_t)id * MT_AREA_SIZE;
}

_Static_assert(MT_STACK_CHUNK_SIZE % 4096 == 0, "stack chunks must be page multiples");
_Static_assert(MT_AREAS_OFFSET % 4096 == 0, "areas must start on a page");

#endif
