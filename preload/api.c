/*
 * api.c - the public C API of the collector (memtop.h, memtop(3)):
 * starting and stopping a trace from inside the program, snapshots of the
 * exact counters of the process and of each thread, and quick traces of one
 * function.
 *
 * It is part of the collector library, so a program linked with -lmemtop
 * and the same library preloaded by memtop are one collector: the API reads
 * the very slots the hooks write.  Every entry point takes the calling
 * thread's re-entrancy guard (api_enter) first, so nothing the API does is
 * counted or traced, and it allocates nothing.  Slots are read by the
 * reader's rules (src/shmreader.c): a sequence-checked copy of the live
 * counters, nested counters added, the overflow pool added to the totals.
 *
 * Also here: removing the segment's name at exit when no memtop will ever
 * read it (see api_exit), which a program linked with -lmemtop needs.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "api_internal.h"
#include "collector.h"
#include "memtop.h"
#include "registry.h"
#include "snapshot.h"
#include "trace.h"

#define MT_EXPORT __attribute__((visibility("default")))

/* Who started the running trace through the API: memtop_stop_tracing()
 * stops only what memtop_trace_all/thread started, never memtop's own
 * --trace nor a quick trace still running in another thread. */
enum { OWNER_NONE, OWNER_TRACE, OWNER_QUICK };

static pthread_mutex_t api_lock = PTHREAD_MUTEX_INITIALIZER;
static int owner;
/* The highest process live_bytes a snapshot has seen (memtop's rule). */
static int64_t seen_peak;

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;
	if (clock_gettime(clk, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Leave with the guard released, errno set. */
static int leave_fail(int err)
{
	api_leave();
	errno = err;
	return -1;
}

/* ---------------------------------------------------------------- counters */

static void add_nested(struct mt_counters *c, const struct mt_nested_counters *n)
{
	c->allocs += n->allocs;
	c->frees += n->frees;
	c->reallocs += n->reallocs;
	c->failed += n->failed;
	c->bytes_allocated += n->bytes_allocated;
	c->usable_allocated += n->usable_allocated;
	c->usable_freed += n->usable_freed;
}

/*
 * A consistent copy of a slot's counters, nested ones added.  The live
 * counters are the freshest figures; a thread that was mid-update at every
 * try (a very busy one, or the caller itself when a signal handler calls
 * the API in the middle of a hook) gives its last publication instead:
 * returns false then (stale figures).
 */
static bool read_slot(const struct mt_slot *s, struct mt_counters *c, uint64_t *lost)
{
	struct mt_nested_counters n;
	for (int round = 0; round < 4; round++) {
		if (mt_live_read(s, c, &n, 64)) {
			add_nested(c, &n);
			*lost = n.lost;
			return true;
		}
		sched_yield();
	}
	struct mt_snapshot snap;
	uint64_t epoch = 0;
	if (mt_snapshot_read(s, &snap, &epoch) && epoch != 0) {
		*c = snap.c;
		add_nested(c, &snap.n);
		*lost = snap.n.lost;
	} else {
		memset(c, 0, sizeof(*c));
		*lost = 0;
	}
	return false;
}

static void to_public(struct memtop_counters *o, const struct mt_counters *c)
{
	o->allocs = c->allocs;
	o->frees = c->frees;
	o->reallocs = c->reallocs;
	o->failed = c->failed;
	o->bytes_allocated = c->bytes_allocated;
	o->usable_allocated = c->usable_allocated;
	o->bytes_freed = c->usable_freed;
	o->live_bytes = (int64_t)(c->usable_allocated - c->usable_freed);
	o->peak_live_bytes = c->peak_live;
}

static void add_public(struct memtop_counters *t, const struct memtop_counters *c)
{
	t->allocs += c->allocs;
	t->frees += c->frees;
	t->reallocs += c->reallocs;
	t->failed += c->failed;
	t->bytes_allocated += c->bytes_allocated;
	t->usable_allocated += c->usable_allocated;
	t->bytes_freed += c->bytes_freed;
}

static uint32_t slot_count(void)
{
	uint32_t used = __atomic_load_n(&mt_hdr->slots_used, __ATOMIC_ACQUIRE);
	uint32_t mapped = __atomic_load_n(&mt_hdr->slots_mapped, __ATOMIC_ACQUIRE);
	uint32_t n = used < mapped ? used : mapped;
	return n < MT_MAX_SLOTS ? n : MT_MAX_SLOTS;
}

MT_EXPORT int memtop_api_version(void)
{
	return MEMTOP_API_VERSION;
}

MT_EXPORT int memtop_snapshot(struct memtop_snapshot *out)
{
	if (!out || (!out->threads && out->threads_capacity)) {
		errno = EINVAL;
		return -1;
	}
	struct mt_slot *self = api_enter();
	if (!mt_hdr)
		return leave_fail(ENODEV);
	struct memtop_counters total;
	memset(&total, 0, sizeof(total));
	int64_t peak = 0;
	size_t written = 0, seen = 0;
	uint64_t lost_all = 0;
	uint32_t n = slot_count();
	for (uint32_t i = 0; i < n; i++) {
		const struct mt_slot *s = registry_slot_mapped(i);
		if (!s)
			continue;
		uint32_t state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		if (state == MT_SLOT_FREE)
			continue;  /* still registering: nothing counted yet */
		struct mt_counters c;
		uint64_t lost;
		bool fresh = read_slot(s, &c, &lost);
		struct memtop_counters pc;
		to_public(&pc, &c);
		add_public(&total, &pc);
		lost_all += lost;
		if (pc.peak_live_bytes > peak)
			peak = pc.peak_live_bytes;
		seen++;
		if (written >= out->threads_capacity)
			continue;
		struct memtop_thread *t = &out->threads[written++];
		memset(t, 0, sizeof(*t));
		t->tid = __atomic_load_n(&s->tid, __ATOMIC_RELAXED);
		/* The slot's state, not the thread's exit path: read again, the
		 * thread may have ended since the first load. */
		t->exited = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == MT_SLOT_EXITED;
		t->is_caller = s == self;
		t->stale = !fresh;
		for (size_t k = 0; k < MEMTOP_NAME_MAX; k++)
			t->name[k] = __atomic_load_n(&s->name[k], __ATOMIC_RELAXED);
		t->name[MEMTOP_NAME_MAX] = '\0';
		t->c = pc;
	}
	struct mt_overflow o;
	mt_copy_words_out(&o, &mt_hdr->overflow, sizeof(o));
	total.allocs += o.allocs;
	total.frees += o.frees;
	total.reallocs += o.reallocs;
	total.failed += o.failed;
	total.bytes_allocated += o.bytes_allocated;
	total.usable_allocated += o.usable_allocated;
	total.bytes_freed += o.usable_freed;
	total.live_bytes = (int64_t)(total.usable_allocated - total.bytes_freed);
	/* The rule of memtop's summary: the highest of every thread's peak and
	 * of the process's live bytes at every look so far. */
	if (total.live_bytes > peak)
		peak = total.live_bytes;
	int64_t prev = __atomic_load_n(&seen_peak, __ATOMIC_RELAXED);
	while (peak > prev &&
	       !__atomic_compare_exchange_n(&seen_peak, &prev, peak, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
	total.peak_live_bytes = peak > prev ? peak : prev;

	out->nthreads = written;
	out->threads_total = seen;
	out->threads_pooled = o.threads;
	out->pid = (int32_t)getpid();
	out->_reserved = 0;
	out->time_ns = clock_ns(CLOCK_REALTIME);
	out->lost = lost_all;
	out->total = total;
	api_leave();
	return 0;
}

/* ---------------------------------------------------------------- tracing */

/* Create dir (0700) if missing and start the trace; api_lock and the guard
 * held.  0 or an errno value.  path gets the trace file's name. */
static int start_trace(const char *dir, bool this_thread_only, int kind, char *path,
		       size_t pathlen)
{
	if (!mt_hdr)
		return ENODEV;
	if (!dir || !*dir || strlen(dir) >= MEMTOP_PATH_MAX - 32)
		return EINVAL;
	/* Checked before the directory is made: a refused start leaves
	 * nothing behind. */
	if (__atomic_load_n(&mt_trace_on, __ATOMIC_ACQUIRE) || owner != OWNER_NONE)
		return EBUSY;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return errno;
	struct stat st;
	if (stat(dir, &st) != 0)
		return errno;
	if (!S_ISDIR(st.st_mode))
		return ENOTDIR;
	snprintf(path, pathlen, "%s/" MT_TRACE_FILE_FMT, dir, (int)getpid());
	/* The collector creates the file exclusively; said here, a second
	 * trace into the same directory does not count as a failure of the
	 * process's tracing (memtop reports those). */
	if (lstat(path, &st) == 0)
		return EEXIST;
	errno = 0;
	int err = trace_start(dir, this_thread_only);
	if (err != 0)
		return err;
	owner = kind;
	return 0;
}

static int trace_common(const char *dir, bool this_thread_only)
{
	char path[MEMTOP_PATH_MAX];
	api_enter();
	pthread_mutex_lock(&api_lock);
	int err = start_trace(dir, this_thread_only, OWNER_TRACE, path, sizeof(path));
	pthread_mutex_unlock(&api_lock);
	if (err)
		return leave_fail(err);
	api_leave();
	return 0;
}

MT_EXPORT int memtop_trace_all(const char *dir)
{
	return trace_common(dir, false);
}

MT_EXPORT int memtop_trace_thread(const char *dir)
{
	return trace_common(dir, true);
}

MT_EXPORT int memtop_stop_tracing(void)
{
	api_enter();
	if (!mt_hdr)
		return leave_fail(ENODEV);
	pthread_mutex_lock(&api_lock);
	int err;
	if (owner == OWNER_TRACE) {
		err = trace_stop();
		owner = OWNER_NONE;
	} else if (owner == OWNER_QUICK) {
		err = EBUSY;
	} else if (__atomic_load_n(&mt_trace_on, __ATOMIC_ACQUIRE)) {
		err = EPERM;
	} else {
		err = EINVAL;
	}
	pthread_mutex_unlock(&api_lock);
	if (err)
		return leave_fail(err);
	api_leave();
	return 0;
}

/* ---------------------------------------------------------------- quick trace */

/* What the replay of one thread's events found. */
struct replayed {
	int64_t peak;               /* highest live bytes above the start */
	uint64_t events;
	uint64_t allocs, frees;     /* as the counters count them */
};

/*
 * Replay the events of thread tid in a finished trace file.  0 or an errno
 * value (EPROTO: not a trace, or damaged events).  The file is mapped, not
 * read into a buffer: nothing allocates.
 */
static int replay(const char *path, int32_t tid, struct replayed *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return e;
	}
	size_t size = (size_t)st.st_size;
	if (size < sizeof(struct mt_trace_header)) {
		close(fd);
		return EPROTO;
	}
	const unsigned char *base = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (base == MAP_FAILED)
		return errno;
	int err = 0;
	struct mt_trace_header h;
	memcpy(&h, base, sizeof(h));
	/* written by this collector just now: its own version */
	if (memcmp(h.magic, MT_TRACE_MAGIC, sizeof(h.magic)) != 0 || h.header_size < sizeof(h) ||
	    h.header_size > size || h.version != MT_TRACE_VERSION) {
		munmap((void *)base, size);
		return EPROTO;
	}
	int64_t live = 0, peak = 0;
	uint64_t events = 0, allocs = 0, frees = 0;
	size_t off = h.header_size;
	while (!err && size - off >= sizeof(struct mt_trace_block)) {
		struct mt_trace_block b;
		memcpy(&b, base + off, sizeof(b));
		off += sizeof(b);
		if (b.size > size - off)
			break;  /* a torn last block: the writer stopped there */
		const unsigned char *p = base + off, *end = p + b.size;
		off += b.size;
		if (b.type != MT_TB_EVENTS || b.tid != tid)
			continue;
		struct mt_tb_events e;
		if (b.size < sizeof(e) || mt_trace_check(p, b.size) != b.check) {
			err = EPROTO;
			break;
		}
		memcpy(&e, p, sizeof(e));
		p += sizeof(e);
		/* each block starts afresh (trace_format.h, version 3) */
		struct mt_ucache uc;
		memset(&uc, 0, sizeof(uc));
		uint64_t prev = 0;
		for (uint32_t i = 0; i < e.count && !err; i++) {
			if (p >= end) {
				err = EPROTO;
				break;
			}
			unsigned op = *p++;
			bool implied = (op & MT_EVF_IMPLIED) != 0;
			uint64_t dt, a = 0, d2 = 0, req = 0, x = 0, old = 0, skip, cached = 0;
			if ((op & MT_EVF_TIME) && mt_get_pvarint(&p, end, &dt) != 0)
				err = EPROTO;
			unsigned kind = op & MT_EV_OP_MASK3;
			/* the fields of the op (trace_format.h), in order */
			uint64_t *f[5] = { NULL };
			unsigned nf = 0;
			switch (kind) {
			case MT_EV_ALLOC:
				f[nf++] = &a, f[nf++] = &req;
				if (!implied)
					f[nf++] = &x;
				if (op & MT_EVF_ALIGN)
					f[nf++] = &skip;
				break;
			case MT_EV_FREE:
				f[nf++] = &a;
				if (!implied)
					f[nf++] = &x;
				break;
			case MT_EV_REALLOC:
				f[nf++] = &a, f[nf++] = &d2, f[nf++] = &req;
				if (!implied)
					f[nf++] = &x;
				f[nf++] = &old;
				break;
			case MT_EV_REALLOC_FREE:
				f[nf++] = &a, f[nf++] = &old;
				break;
			case MT_EV_FAILED:
				f[nf++] = &req;
				break;
			default:
				err = EPROTO;
				break;
			}
			for (unsigned k = 0; k < nf && !err; k++)
				if (mt_get_pvarint(&p, end, f[k]) != 0)
					err = EPROTO;
			if (!err && (op & MT_EVF_SAMPLED) &&
			    (mt_get_pvarint(&p, end, &skip) != 0 || mt_get_pvarint(&p, end, &skip) != 0))
				err = EPROTO;
			if (err)
				break;
			uint64_t ptr = prev + (uint64_t)mt_ptr_delta(a), usable;
			switch (kind) {
			case MT_EV_ALLOC:
				usable = implied ? mt_std_usable(req) : req + x;
				mt_ucache_put(&uc, ptr, usable);
				live += (int64_t)usable;
				allocs++;
				prev = ptr;
				break;
			case MT_EV_FREE:
				if (!mt_ucache_take(&uc, ptr, &cached) && implied) {
					err = EPROTO;
					break;
				}
				live -= (int64_t)(implied ? cached : mt_usable_size(x));
				frees++;
				prev = ptr;
				break;
			case MT_EV_REALLOC: {
				uint64_t np = ptr + (uint64_t)mt_ptr_delta(d2);
				usable = implied ? mt_std_usable(req) : req + x;
				mt_ucache_take(&uc, ptr, &cached);
				mt_ucache_put(&uc, np, usable);
				live += (int64_t)usable - (int64_t)mt_usable_size(old);
				allocs++;
				frees++;
				prev = np;
				break;
			}
			case MT_EV_REALLOC_FREE:
				mt_ucache_take(&uc, ptr, &cached);
				live -= (int64_t)mt_usable_size(old);
				frees++;
				prev = ptr;
				break;
			default:
				break;
			}
			if (live > peak)
				peak = live;
			events++;
		}
	}
	munmap((void *)base, size);
	if (err)
		return err;
	out->peak = peak;
	out->events = events;
	out->allocs = allocs;
	out->frees = frees;
	return 0;
}

MT_EXPORT int memtop_quick_trace(const char *dir, void (*fn)(void *), void *arg,
				 struct memtop_report *out)
{
	if (!out) {
		errno = EINVAL;
		return -1;
	}
	memset(out, 0, sizeof(*out));
	out->c.peak_live_bytes = -1;
	if (!fn) {
		errno = EINVAL;
		return -1;
	}
	struct mt_slot *self = api_enter();
	if (!mt_hdr)
		return leave_fail(ENODEV);
	if ((uintptr_t)self <= MT_SLOT_SPECIAL)
		return leave_fail(self == MT_SLOT_OVERFLOW ? ENOSPC : ENODEV);
	if (dir) {
		pthread_mutex_lock(&api_lock);
		int err = start_trace(dir, true, OWNER_QUICK, out->trace_file,
				      sizeof(out->trace_file));
		pthread_mutex_unlock(&api_lock);
		if (err) {
			out->trace_file[0] = '\0';
			return leave_fail(err);
		}
	}
	struct mt_counters c0, c1;
	uint64_t lost;
	/* The owner reads its own slot: nobody else writes it, so this copy
	 * is exact (stale only from a signal handler, see read_slot). */
	read_slot(self, &c0, &lost);
	uint64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
	api_leave();

	fn(arg);

	api_enter();
	uint64_t t1 = clock_ns(CLOCK_MONOTONIC);
	uint64_t cpu1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	read_slot(self, &c1, &lost);
	out->ran = 1;
	out->elapsed_ns = t1 - t0;
	out->cpu_ns = cpu1 - cpu0;
	out->c.allocs = c1.allocs - c0.allocs;
	out->c.frees = c1.frees - c0.frees;
	out->c.reallocs = c1.reallocs - c0.reallocs;
	out->c.failed = c1.failed - c0.failed;
	out->c.bytes_allocated = c1.bytes_allocated - c0.bytes_allocated;
	out->c.usable_allocated = c1.usable_allocated - c0.usable_allocated;
	out->c.bytes_freed = c1.usable_freed - c0.usable_freed;
	out->c.live_bytes = (int64_t)(out->c.usable_allocated - out->c.bytes_freed);
	int err = 0;
	if (dir) {
		pthread_mutex_lock(&api_lock);
		err = trace_stop();
		owner = OWNER_NONE;
		pthread_mutex_unlock(&api_lock);
		if (err == 0) {
			struct replayed rp = { 0, 0, 0, 0 };
			err = replay(out->trace_file, (int32_t)self->tid, &rp);
			if (err == 0) {
				out->trace_events = rp.events;
				/* Every counted alloc and free has its event unless
				 * the trace missed some (a signal handler nested
				 * twice, no memory for the thread's buffer): then
				 * the peak is not known. */
				if (rp.allocs == out->c.allocs && rp.frees == out->c.frees)
					out->c.peak_live_bytes = rp.peak;
			}
		}
		out->trace_error = err;
	}
	if (err)
		return leave_fail(err);
	api_leave();
	return 0;
}

/* ---------------------------------------------------------------- lifecycle */

/* The child of a fork: no trace runs there (trace_fork_child) and its
 * figures start afresh in a segment of its own. */
void api_fork_child(void)
{
	pthread_mutex_init(&api_lock, NULL);
	owner = OWNER_NONE;
	seen_peak = 0;
}

__attribute__((constructor)) static void api_init(void)
{
	pthread_atfork(NULL, NULL, api_fork_child);
}

/*
 * A program linked with -lmemtop (or given the collector with LD_PRELOAD
 * by hand) runs without memtop: no session started it and no reader ever
 * ticked, so nobody will read its segment once it has exited, and memtop
 * removes stale segments only when it runs.  Remove the name now, or
 * /dev/shm keeps one segment per run; the mapping itself stays valid for
 * whatever still runs after this destructor.
 */
__attribute__((destructor)) static void api_exit(void)
{
	struct mt_shm_header *h = mt_hdr;
	if (!h || h->pid != (int32_t)getpid() || h->session != 0 ||
	    __atomic_load_n(&h->tick, __ATOMIC_ACQUIRE) != 0 ||
	    __atomic_load_n(&h->reader_pid, __ATOMIC_RELAXED) != 0)
		return;
	char name[64];
	snprintf(name, sizeof(name), MT_SHM_NAME_FMT, (int)getpid());
	int saved = errno;
	shm_unlink(name);
	errno = saved;
}
