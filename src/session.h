/*
 * session.h - the model of one watched process over time: its threads'
 * counters from shared memory, its /proc figures, the system's, and what is
 * derived from consecutive samples (rates, CPU %, alerts, peaks).
 *
 * Batch output and the viewer both render a session; neither computes
 * figures of its own.  Every derived figure has its formula in memtop(1).
 */
#ifndef MEMTOP_SESSION_H
#define MEMTOP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "procstat.h"
#include "shmreader.h"

struct symbolizer;

enum alert_level { ALERT_OK, ALERT_WARN, ALERT_CRITICAL };

/* Sampled figures of one call stack, for one thread or the whole process.
 * Estimates are Horvitz-Thompson sums (each sample weighted 1/p), see
 * memtop(1).  The frames are in the session's stack cache:
 * session_stack_frames(session, id, ...). */
struct stack_stat {
	uint32_t id;                 /* the stack's index in the segment's table */
	double allocs_est;
	double bytes_est;
	double live_bytes_est;       /* allocated from it and not yet freed */
	uint64_t samples;            /* sampled events behind the estimates */
	uint64_t min_size, max_size; /* of the sampled requests */
	uint64_t first_ns, last_ns;  /* CLOCK_REALTIME of the first/last sample */
	double collector_cpu_s;      /* thread CPU time spent capturing it */
};

#define ALERT_WARN_RATE      100000.0
#define ALERT_CRIT_RATE      1000000.0
#define ALERT_WARN_LIVE      (256ull << 20)
#define ALERT_CRIT_LIVE      (1ull << 30)

/* Timelines: one point per update, oldest first once read through
 * history_at().  A ring: the oldest points are dropped when full. */
struct history_point {
	double t;                    /* seconds since the session started */
	double live_bytes;
	double alloc_rate;           /* allocs/s over the interval; NAN if unknown */
	double rss_bytes;            /* NAN if unknown (threads: always NAN) */
	double cpu_percent;          /* NAN if unknown */
};

struct history {
	struct history_point *pts;
	size_t cap, len, head;       /* head: index of the oldest point */
};

#define SESSION_HISTORY_PROCESS 1024
#define SESSION_HISTORY_THREAD  120

/* Point i (0 = oldest) of h; i < h->len. */
static inline const struct history_point *history_at(const struct history *h, size_t i)
{
	return &h->pts[(h->head + i) % h->cap];
}

struct thread_stat {
	uint32_t slot;
	int tid;
	char name[64];
	bool exited;
	bool from_live;
	struct mt_counters c;
	struct mt_counters prev;     /* counters at the previous sample */
	uint64_t lost;
	bool cpu_valid;
	double cpu_s;                /* CPU time, user + system */
	double prev_cpu_s;
	bool prev_cpu_valid;
	double cpu_percent;          /* over the last interval; NAN if unknown */
	double alloc_rate;           /* allocs/s over the last interval; NAN at first */
	bool io_valid;
	uint64_t io_read_bytes, io_write_bytes, io_syscr, io_syscw;
	uint64_t start_ns, end_ns;
	enum alert_level alert;
	uint64_t failed_recent;      /* failed calls behind the alert: of the last
				      * interval, or of the whole session once final */
	struct stack_stat *top_stacks;  /* by bytes_est, largest first; may be empty */
	size_t ntop;
	struct history hist;         /* this thread's timeline */
};

struct session_totals {
	uint64_t allocs, frees, reallocs, failed;
	uint64_t bytes_allocated, bytes_freed;   /* requested / usable, see memtop(1) */
	int64_t live_bytes;
	int64_t peak_live_bytes;                 /* lower bound, see memtop(1) */
	uint32_t threads_seen;
	double alloc_rate;
};

struct stack_cache;

struct session {
	int pid;
	char command[512];
	const char *procroot;
	double start_s;              /* monotonic seconds at session start */
	double last_s;               /* monotonic seconds of the last update */
	double elapsed_s;
	double interval_s;           /* length of the last update interval */
	uint64_t updates;

	struct shm_segment seg;
	bool seg_open;
	bool collector_seen;         /* a segment was ever opened */
	bool collector_mapped;       /* no segment, but the collector was seen in
				      * the process's maps: it could not set up */
	const char *collector_path;  /* its canonical file, for that check; NULL: none */
	bool attached;               /* memtop --attach loaded the collector into the
				      * running process: figures count from the attach */
	int seg_owner;               /* uid the segment must belong to; -1: memtop's */

	struct thread_stat *threads; /* indexed by slot (+ slot_base, see below) */
	uint32_t slot_base;          /* threads of earlier program images (exec) */
	uint32_t images;             /* programs executed after the first */
	struct mt_overflow overflow_before;
	size_t nthreads;             /* slots seen so far */
	size_t capacity;
	struct mt_overflow overflow;
	/* Of overflow.threads: those pooled because the collector could not
	 * add their slots to its segment (/dev/shm full...), not because
	 * every slot was taken (all program images together), and the errno
	 * of the first such failure (the latest image's that had one). */
	uint64_t unbacked, unbacked_before;
	int unbacked_errno;
	/* The same for stack storage: threads that could not sample call
	 * stacks for want of room (all images), and the errno of the first
	 * failure to add stack storage (the latest image's that had one). */
	uint64_t unsampled, unsampled_before;
	int stacks_errno;
	struct session_totals totals;
	uint64_t prev_allocs;

	bool proc_valid;
	struct proc_sample proc, prev_proc;
	double proc_cpu_percent;
	struct sys_sample sys, prev_sys;
	double sys_cpu_percent;

	bool mi_valid;
	struct mt_mallinfo mi;

	struct sys_sample first_sys;  /* at session start, for whole-session figures */
	struct {                     /* CPU time used before the session began */
		bool proc_valid;
		double proc_s;
		int *tid;            /* the threads alive then, and theirs */
		double *cpu_s;
		size_t n;
	} cpu_base;
	bool final;                  /* figures are whole-session averages */

	struct history hist;         /* the process's timeline */

	bool stacks_enabled;         /* the collector samples stacks */
	struct mt_sampling sampling; /* its parameters, when it does */
	uint64_t cpu_unit_hz;        /* units of the stacks' cpu time; 0: unknown */
	struct stack_stat *top_stacks;  /* whole process, by bytes_est, largest first */
	size_t ntop;
	struct stack_cache *stacks;  /* symbolized frames, by stack id */
	uint64_t stacks_lost;        /* samples counted under the catch-all stack */
	uint64_t live_untracked;     /* sampled blocks whose free cannot be seen */

	bool ended;
	int exit_code;               /* exit status, or 128+N */
	char end_description[128];
};

/* argv as one line a shell would run the same: words that hold spaces,
 * quotes or other special characters, and empty ones, in single quotes
 * (a ' as '\''); whole words only, as many as fit in len.  Returns the
 * length written. */
size_t session_quote_argv(char *out, size_t len, char *const *argv);

void session_init(struct session *self, int pid, char *const *argv, const char *procroot,
		  double now_s);
void session_free(struct session *self);
/* Open the segment if it is there: 0 when open, -1 otherwise (errno ENOENT:
 * not there yet; otherwise err says why). */
int session_open_segment(struct session *self, char *err, size_t errlen);
/* Ask the collector's threads for fresh snapshots. */
void session_tick(struct session *self);

/* Before any segment: notes whether the process has the collector
 * (collector_path) mapped, so that a missing segment is told apart from a
 * process that never loaded it (collector_mapped). */
void session_check_collector(struct session *self);

/* How long a launched command may run before memtop says it has no
 * collector, and what it says then (after session_check_collector): the
 * collector could not set up, or the command never loaded it. */
#define SESSION_COLLECTOR_GRACE_S 3.0
void session_missing_collector(const struct session *self, char *buf, size_t len);
/* Take a sample: shared memory, /proc, derived figures. */
void session_update(struct session *self, double now_s);
/* The last sample: rates and CPU % become averages over the whole session
 * (the last interval may be a few milliseconds long). */
void session_finish(struct session *self, double now_s);
/* The watched process ended (after waitpid). */
void session_set_ended(struct session *self, int exit_code, const char *description);
/* The memtop that launched the process (its MEMTOP_SESSION, from the
 * segment), 0 if none or unknown. */
int session_launcher_pid(const struct session *self);
/* Forget the segment name (after the final update). */
void session_release_segment(struct session *self);

/* The symbolized frames of stack id, innermost first (the caller of the
 * allocation function first), each "function (module)",
 * "function at file:line (module)" or "?? (module+0xOFF)"; NULL and
 * *depth 0 if the stack is unknown.  *truncated: deeper frames were cut. */
const char *const *session_stack_frames(const struct session *self, uint32_t id,
					size_t *depth, bool *truncated);

/* Building a session from something else than a live segment (a trace):
 * the thread of a slot (created, tid -1, if new; NULL when out of memory),
 * the symbolizer of its modules, the frames of a stack id, and a point of
 * a timeline (cap: SESSION_HISTORY_*). */
struct thread_stat *session_thread(struct session *self, uint32_t slot);
/* The session symbolizes its stacks with sym, modules already added (and
 * maybe resolved beforehand by another thread); it owns sym from now on.
 * false, sym still the caller's, if the session has a symbolizer already or
 * memory ran out. */
bool session_adopt_symbolizer(struct session *self, struct symbolizer *sym);
void session_define_stack(struct session *self, uint32_t id, const uint64_t *pcs, uint32_t depth,
			  bool truncated);
void session_history_push(struct history *h, size_t cap, const struct history_point *p);
/* totals from the threads' counters (not the overflow pool); the peak
 * already in totals is kept as a lower bound */
void session_sum_threads(struct session *self);

/* Threads in the overflow pool because every slot was taken (the
 * documented capacity), as opposed to self->unbacked. */
uint64_t session_beyond_capacity(const struct session *self);
/* Why self->unbacked threads got no slot, e.g. "/dev/shm is full (No space
 * left on device)", into buf; "" when none did. */
const char *session_unbacked_reason(const struct session *self, char *buf, size_t len);
/* Why stack storage could not be added (self->stacks_errno), "" if it
 * could. */
const char *session_stacks_reason(const struct session *self, char *buf, size_t len);
/* The line for standard error when the segment could not grow: why, how
 * many threads got no slot (their allocations still counted) and could
 * not sample call stacks, and what to do; false (buf "") when it could. */
bool session_room_message(const struct session *self, char *buf, size_t len);

const char *alert_name(enum alert_level a);
/* Every thread's alert from its rate, failed_recent and live bytes, these
 * taken as no more than the process's (totals.live_bytes): see memtop(1). */
void session_classify_threads(struct session *self);
enum alert_level alert_classify(double alloc_rate, int64_t live_bytes, uint64_t failed_delta);

/* CPU seconds thread tid had used when the session began (0 if it was
 * not alive then): whole-session CPU % counts from there. */
double session_thread_cpu_base(const struct session *self, int tid);

/* fragmentation = fordblks / arena; NAN when not measurable */
double session_fragmentation(const struct session *self);

#endif
