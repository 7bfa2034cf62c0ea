/*
 * trace.c - writing the binary trace (trace_format.h) from the collector.
 *
 * The file is reopened by name for every write and closed at once, like the
 * segment: a daemon that closes or reuses its descriptors must not make us
 * write into one of its files, and a trace needs no descriptor between
 * writes.  Each block goes out in one writev(2) with O_APPEND, so blocks of
 * different threads never interleave.  The first failure (disk full, the
 * directory removed) stops the tracing of the whole process, records errno
 * in the segment for memtop to report, and leaves what was written
 * readable; the target is not disturbed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "registry.h"
#include "trace.h"

bool mt_trace_on;
const uint64_t *mt_trace_clock_ptr;

static char trace_dir[4096];
static char trace_path[4200];
static uint64_t events_written, events_lost;
/* Buffers of threads alive or gone, for the process-end flush, and a free
 * list of buffers whose threads have exited. */
static struct mt_tbuf *all_bufs[MT_MAX_SLOTS];
static struct mt_tbuf *free_bufs;
static pthread_mutex_t free_lock = PTHREAD_MUTEX_INITIALIZER;

static int first_error;

static void trace_fail(int err)
{
	if (!first_error)
		first_error = err ? err : EIO;
	if (!__atomic_exchange_n(&mt_trace_on, false, __ATOMIC_RELAXED))
		return;
	if (mt_hdr)
		__atomic_store_n(&mt_hdr->trace_errno, err ? err : EIO, __ATOMIC_RELAXED);
}

/* Fixed parts are whole words, so the check runs over both pieces in place. */
static uint32_t check2(const void *a, size_t alen, const void *b, size_t blen)
{
	struct mt_check c;
	mt_check_init(&c);
	mt_check_update(&c, a, alen);
	if (blen)
		mt_check_update(&c, b, blen);
	return mt_check_final(&c);
}

static int write_block(uint32_t type, int32_t tid, const void *a, size_t alen, const void *b,
		       size_t blen, struct mt_tbuf *events_of)
{
	if (!__atomic_load_n(&mt_trace_on, __ATOMIC_RELAXED))
		return -1;
	struct mt_trace_block h = { .type = type, .size = (uint32_t)(alen + blen), .tid = tid };
	h.check = check2(a, alen, b, blen);
	struct iovec iov[3] = { { &h, sizeof(h) }, { (void *)a, alen }, { (void *)b, blen } };
	int saved = errno;
	int fd = open(trace_path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		trace_fail(errno);
		errno = saved;
		return -1;
	}
	ssize_t want = (ssize_t)(sizeof(h) + alen + blen);
	struct stat st;
	if (events_of && fstat(fd, &st) == 0) {
		events_of->writing_end = (uint64_t)st.st_size + (uint64_t)want;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		__atomic_store_n(&events_of->writing_count, ((const struct mt_tb_events *)a)->count,
				 __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
	}
	ssize_t n = writev(fd, iov, blen ? 3 : 2);
	int err = n == want ? 0 : n < 0 ? errno : ENOSPC;
	close(fd);
	if (err) {
		/* A short write leaves a torn last block: the reader stops there. */
		trace_fail(err);
		errno = saved;
		return -1;
	}
	errno = saved;
	return 0;
}

/* numbered: if trace.PID.mtt exists (this pid's image before an exec, or
 * an earlier process with the same pid), take the first free
 * trace.PID.K.mtt; otherwise that is an error (EEXIST). */
static int create_file(bool numbered)
{
	snprintf(trace_path, sizeof(trace_path), "%s/" MT_TRACE_FILE_FMT, trace_dir, (int)getpid());
	int fd = open(trace_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	for (unsigned k = 2; fd < 0 && errno == EEXIST && numbered && k <= MT_TRACE_MAX_IMAGE; k++) {
		snprintf(trace_path, sizeof(trace_path), "%s/" MT_TRACE_FILE_FMT_N, trace_dir,
			 (int)getpid(), k);
		fd = open(trace_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	}
	if (fd < 0)
		return -1;
	struct mt_trace_header h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, MT_TRACE_MAGIC, sizeof(h.magic));
	h.version = MT_TRACE_VERSION;
	h.header_size = sizeof(h);
	h.pid = (int32_t)getpid();
	h.ppid = (int32_t)getppid();
	h.start_ns = mt_clock_ns(CLOCK_REALTIME);
	h.session = mt_hdr ? mt_hdr->session : 0;
	if (mt_hdr)
		memcpy(h.exe, mt_hdr->exe, sizeof(h.exe));
	ssize_t n = write(fd, &h, sizeof(h));
	close(fd);
	return n == (ssize_t)sizeof(h) ? 0 : -1;
}

static void write_known_modules(void)
{
	if (!mt_hdr)
		return;
	const struct mt_module *m = (const struct mt_module *)((char *)mt_hdr + MT_MODULES_OFFSET);
	uint32_t n = __atomic_load_n(&mt_hdr->nmodules, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < n && i < MT_MAX_MODULES; i++)
		trace_module(m[i].start, m[i].end, m[i].offset, m[i].path);
}

/* A trace started while the process runs: events will name stacks
 * captured before it. */
static void write_known_stacks(void)
{
	uint32_t n = __atomic_load_n(&mt_hdr->stacks_used, __ATOMIC_ACQUIRE);
	for (uint32_t id = 1; id < n && id < MT_MAX_STACKS; id++) {
		const struct mt_stack_rec *r = registry_stack_rec_mapped(id);
		if (!r || !(__atomic_load_n(&r->flags, __ATOMIC_ACQUIRE) & MT_STACK_VALID))
			continue;
		trace_stack(id, r->depth, r->flags & ~MT_STACK_VALID, r->frames);
	}
}

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static int only_tid;                   /* tracing one thread only, else 0 */
uint32_t mt_trace_gen;

/* The clock page of the memtop session, mapped once (a child inherits the
 * mapping); without it every event reads the clock. */
static void clock_page_map(uint64_t session)
{
	if (__atomic_load_n(&mt_trace_clock_ptr, __ATOMIC_RELAXED) || session == 0 ||
	    session > INT32_MAX)
		return;
	char name[64];
	snprintf(name, sizeof(name), MT_CLOCK_NAME_FMT, (int)session);
	int fd = shm_open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
	if (fd < 0)
		return;
	struct stat st;
	void *m = MAP_FAILED;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    st.st_size >= (off_t)MT_CLOCK_SIZE)
		m = mmap(NULL, MT_CLOCK_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return;
	const struct mt_clock_page *pg = m;
	if (__atomic_load_n(&pg->magic, __ATOMIC_ACQUIRE) != MT_CLOCK_MAGIC ||
	    pg->version != MT_CLOCK_VERSION) {
		munmap(m, MT_CLOCK_SIZE);
		return;
	}
	__atomic_store_n(&mt_trace_clock_ptr, &pg->now_ns, __ATOMIC_RELEASE);
}

uint64_t trace_clock_check(struct mt_tbuf *tb)
{
	uint64_t now = mt_trace_now();
	const uint64_t *c = __atomic_load_n(&mt_trace_clock_ptr, __ATOMIC_RELAXED);
	if (c) {
		uint64_t v = __atomic_load_n(c, __ATOMIC_RELAXED);
		bool fresh = v + MT_CLOCK_SLACK_NS >= now && v <= now + MT_CLOCK_SLACK_NS;
		tb->clock_left = fresh ? MT_CLOCK_CHECK - 1 : 0;
	}
	return now;
}

static int start(const char *dir, bool this_thread_only, bool numbered)
{
	if (!mt_hdr)
		return ENODEV;
	if (!dir || !*dir || strlen(dir) >= sizeof(trace_dir))
		return EINVAL;
	pthread_mutex_lock(&start_lock);
	if (__atomic_load_n(&mt_trace_on, __ATOMIC_RELAXED)) {
		pthread_mutex_unlock(&start_lock);
		return EBUSY;
	}
	snprintf(trace_dir, sizeof(trace_dir), "%s", dir);
	if (create_file(numbered) != 0) {
		int err = errno ? errno : EIO;
		__atomic_store_n(&mt_hdr->trace_errno, err, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&start_lock);
		return err;
	}
	clock_page_map(mt_hdr->session);
	events_written = events_lost = 0;
	first_error = 0;
	only_tid = this_thread_only ? (int)syscall(SYS_gettid) : 0;
	__atomic_fetch_add(&mt_trace_gen, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&mt_trace_on, true, __ATOMIC_RELEASE);
	trace_clock();
	write_known_modules();
	write_known_stacks();
	pthread_mutex_unlock(&start_lock);
	return 0;
}

int trace_start(const char *dir, bool this_thread_only)
{
	return start(dir, this_thread_only, false);
}

void trace_init(void)
{
	/* memtop --trace: every process of the session, every image of it */
	const char *dir = getenv(MT_ENV_TRACE);
	if (dir && *dir)
		start(dir, false, true);
}

void trace_clock(void)
{
	struct mt_tb_clock c = {
		.ticks = mt_trace_now(),
		.realtime_ns = mt_clock_ns(CLOCK_REALTIME),
		.monotonic_ns = mt_clock_ns(CLOCK_MONOTONIC),
		.ticks_hz = MT_TRACE_HZ,
	};
	write_block(MT_TB_CLOCK, 0, &c, sizeof(c), NULL, 0, NULL);
}

void trace_stack(uint32_t id, uint32_t depth, uint32_t flags, const uint64_t *frames)
{
	struct mt_tb_stack s = { .id = id, .depth = depth, .flags = flags };
	write_block(MT_TB_STACK, 0, &s, sizeof(s), frames, depth * sizeof(frames[0]), NULL);
}

void trace_module(uint64_t start, uint64_t end, uint64_t offset, const char *path)
{
	struct mt_tb_module m = { .start = start, .end = end, .offset = offset };
	write_block(MT_TB_MODULE, 0, &m, sizeof(m), path, strlen(path) + 1, NULL);
}

static void thread_record(int32_t tid, uint32_t what, uint32_t slot, const char *name,
			  uint64_t cpu_ns)
{
	struct mt_tb_thread t = { .what = what, .slot = slot,
				  .time_ns = mt_clock_ns(CLOCK_REALTIME), .cpu_ns = cpu_ns };
	if (name)
		memcpy(t.name, name, sizeof(t.name));
	write_block(MT_TB_THREAD, tid, &t, sizeof(t), NULL, 0, NULL);
}

struct mt_tbuf *trace_attach(struct mt_tbuf *old, int tid, uint32_t slot, const char *name)
{
	if (!__atomic_load_n(&mt_trace_on, __ATOMIC_ACQUIRE) || slot >= MT_MAX_SLOTS ||
	    (only_tid && tid != only_tid))
		return old && old->closed ? old : NULL;
	struct mt_tbuf *tb = old;
	if (tb && !tb->closed)
		return tb;
	if (!tb) {
		pthread_mutex_lock(&free_lock);
		tb = free_bufs;
		if (tb)
			free_bufs = tb->next_free;
		pthread_mutex_unlock(&free_lock);
	}
	if (!tb) {
		void *p = mmap(NULL, sizeof(*tb), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		tb = p;
	}
	memset(tb, 0, offsetof(struct mt_tbuf, nbuf));
	tb->tid = tid;
	tb->slot = slot;
	thread_record(tid, MT_THREAD_START, slot, name, 0);
	__atomic_store_n(&all_bufs[slot], tb, __ATOMIC_RELEASE);
	return tb;
}

static void lock_buf(struct mt_tbuf *tb)
{
	while (__atomic_exchange_n(&tb->lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void unlock_buf(struct mt_tbuf *tb)
{
	__atomic_store_n(&tb->lock, 0, __ATOMIC_RELEASE);
}

/*
 * The process-end flush takes each buffer's lock.  Another thread holding
 * it is writing a block out: waiting for it keeps that block, and its
 * events in the end record's count, before the end record.  The calling
 * thread holding it is interrupted in its own flush (a signal handler
 * ending the process): that buffer is skipped.  The wait is bounded so
 * that nothing can hang the host.
 */
static bool lock_buf_for_stop(struct mt_tbuf *tb, int self_tid)
{
	for (unsigned tries = 0; tries < 100000; tries++) {
		if (!__atomic_exchange_n(&tb->lock, 1, __ATOMIC_ACQUIRE))
			return true;
		if (tb->tid == self_tid)
			return false;
		sched_yield();
	}
	return false;
}

/* Called with tb->lock held: the block numbers and the end record's count
 * move with the blocks written. */
static void write_stream(struct mt_tbuf *tb, struct mt_tstream *st, const unsigned char *data,
			 uint32_t used, uint32_t count, uint32_t flags)
{
	if (used == 0)
		return;
	uint32_t *seq = (flags & MT_EVENTS_NESTED) ? &tb->seq_nested : &tb->seq_main;
	flags |= MT_EVENTS_SEQ | (*seq & MT_EVENTS_SEQ_MASK) << MT_EVENTS_SEQ_SHIFT;
	(*seq)++;
	struct mt_tb_events e = { .base_ticks = st->base_ticks, .count = count, .flags = flags };
	int r = write_block(MT_TB_EVENTS, tb->tid, &e, sizeof(e), data, used, tb);
	__atomic_fetch_add(r == 0 ? &events_written : &events_lost, count, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&tb->writing_count, 0, __ATOMIC_RELAXED);
}

/* Owner side; the caller holds tb->busy, so nothing appends meanwhile. */
void trace_flush(struct mt_tbuf *tb)
{
	lock_buf(tb);
	if (!tb->closed) {
		/* Nested events first: they happened before whatever the owner
		 * appends after this flush. */
		write_stream(tb, &tb->nested, tb->nbuf, tb->nested.used, tb->nested.count,
			     MT_EVENTS_NESTED);
		write_stream(tb, &tb->main, tb->buf, tb->main.used, tb->main.count, 0);
	} else {
		__atomic_fetch_add(&events_lost, tb->main.count + tb->nested.count,
				   __ATOMIC_RELAXED);
	}
	memset(&tb->main, 0, sizeof(tb->main));
	memset(&tb->nested, 0, sizeof(tb->nested));
	unlock_buf(tb);
}

void trace_event_slow(struct mt_tbuf *tb, unsigned op, uint64_t a, uint64_t b, uint64_t size,
		      uint64_t usable, uint64_t extra, struct mt_sampled sm)
{
	if (__atomic_load_n(&tb->busy, __ATOMIC_RELAXED) != 0) {
		trace_event_nested(tb, op, a, b, size, usable, extra, sm);
		return;
	}
	__atomic_store_n(&tb->busy, 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (tb->main.used > MT_TBUF_SIZE - MT_EVENT_MAX)
		trace_flush(tb);
	trace_encode(&tb->main, tb->buf, op, a, b, size, usable, extra, sm, trace_now(tb));
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&tb->busy, 0, __ATOMIC_RELAXED);
}

void trace_event_nested(struct mt_tbuf *tb, unsigned op, uint64_t a, uint64_t b, uint64_t size,
			uint64_t usable, uint64_t extra, struct mt_sampled sm)
{
	/* Only the thread itself appends here, from a signal handler that
	 * interrupted an append; a handler interrupting this one is lost. */
	if (__atomic_exchange_n(&tb->busy, 2, __ATOMIC_RELAXED) == 2 ||
	    tb->nested.used > MT_TBUF_NESTED - MT_EVENT_MAX) {
		__atomic_fetch_add(&events_lost, 1, __ATOMIC_RELAXED);
		if (mt_hdr)
			__atomic_fetch_add(&mt_hdr->trace_lost, 1, __ATOMIC_RELAXED);
		return;
	}
	trace_encode(&tb->nested, tb->nbuf, op, a, b, size, usable, extra, sm, mt_trace_now());
	__atomic_store_n(&tb->busy, 1, __ATOMIC_RELAXED);
}

void trace_thread_exit(struct mt_tbuf *tb, const char *name, uint64_t cpu_ns)
{
	__atomic_store_n(&tb->busy, 1, __ATOMIC_RELAXED);
	if (!tb->closed && __atomic_load_n(&mt_trace_on, __ATOMIC_RELAXED)) {
		trace_flush(tb);
		thread_record(tb->tid, MT_THREAD_EXIT, tb->slot, name, cpu_ns);
	}
	if (tb->slot < MT_MAX_SLOTS)
		__atomic_store_n(&all_bufs[tb->slot], NULL, __ATOMIC_RELEASE);
	pthread_mutex_lock(&free_lock);
	tb->next_free = free_bufs;
	free_bufs = tb;
	pthread_mutex_unlock(&free_lock);
}

static int stop_locked(void);

int trace_stop(void)
{
	pthread_mutex_lock(&start_lock);
	return stop_locked();
}

void trace_finish_if_free(void)
{
	if (pthread_mutex_trylock(&start_lock) == 0)
		stop_locked();
}

/* Called with start_lock held; releases it. */
static int stop_locked(void)
{
	if (!__atomic_load_n(&mt_trace_on, __ATOMIC_RELAXED)) {
		pthread_mutex_unlock(&start_lock);
		return first_error ? first_error : EINVAL;
	}
	/* Threads still running: what they have appended so far goes out;
	 * what they append after this is not written (their buffers are
	 * closed until they take a new one at the next start). */
	int self_tid = (int)syscall(SYS_gettid);
	for (uint32_t i = 0; i < MT_MAX_SLOTS; i++) {
		struct mt_tbuf *tb = __atomic_load_n(&all_bufs[i], __ATOMIC_ACQUIRE);
		if (!tb)
			continue;
		if (!lock_buf_for_stop(tb, self_tid)) {
			/* This thread's own write, interrupted by the handler
			 * that ends the process: counted if it reached the file
			 * (a signal during the write is handled as it returns). */
			struct stat st;
			uint32_t c = __atomic_load_n(&tb->writing_count, __ATOMIC_RELAXED);
			if (c && tb->tid == self_tid && stat(trace_path, &st) == 0 &&
			    (uint64_t)st.st_size >= tb->writing_end)
				__atomic_fetch_add(&events_written, c, __ATOMIC_RELAXED);
			continue;
		}
		/* once each: the owner may still be appending (this very
		 * thread, interrupted by the signal handler that ends it) */
		union mt_tpos n = { .pos = __atomic_load_n(&tb->nested.pos, __ATOMIC_ACQUIRE) };
		union mt_tpos m = { .pos = __atomic_load_n(&tb->main.pos, __ATOMIC_ACQUIRE) };
		if (!tb->closed) {
			write_stream(tb, &tb->nested, tb->nbuf, n.used, n.count, MT_EVENTS_NESTED);
			write_stream(tb, &tb->main, tb->buf, m.used, m.count, 0);
		}
		tb->closed = 1;
		unlock_buf(tb);
	}
	struct mt_tb_end e = { .realtime_ns = mt_clock_ns(CLOCK_REALTIME),
			       .events = __atomic_load_n(&events_written, __ATOMIC_RELAXED),
			       .lost = __atomic_load_n(&events_lost, __ATOMIC_RELAXED) };
	write_block(MT_TB_END, 0, &e, sizeof(e), NULL, 0, NULL);
	__atomic_store_n(&mt_trace_on, false, __ATOMIC_RELEASE);
	int err = first_error;
	pthread_mutex_unlock(&start_lock);
	return err;
}

void trace_finish(void)
{
	trace_stop();
}

void trace_fork_child(struct mt_tbuf *own)
{
	/* The parent writes out what its threads appended; the child starts
	 * its own file, and the forking thread's buffer starts empty. */
	for (uint32_t i = 0; i < MT_MAX_SLOTS; i++)
		all_bufs[i] = NULL;
	free_bufs = NULL;
	pthread_mutex_init(&free_lock, NULL);
	pthread_mutex_init(&start_lock, NULL);
	events_written = events_lost = 0;
	if (own) {
		memset(&own->main, 0, sizeof(own->main));
		memset(&own->nested, 0, sizeof(own->nested));
		own->lock = 0;
		own->busy = 0;
		own->closed = 1;  /* it belonged to the parent's thread */
	}
	if (!__atomic_load_n(&mt_trace_on, __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&mt_trace_on, false, __ATOMIC_RELAXED);
}
