/*
 * test_api.c - the public C API (memtop.h) running for real, in-process.
 *
 * The test is linked against the collector library (preload/libmemtop.la)
 * and runs without LD_PRELOAD: libmemtop.so comes before libc in the
 * program's list of needed objects, so the dynamic linker binds every
 * malloc of the process (the test's, cmocka's, libc's own calls through
 * the PLT) to the collector's.  The first test checks that this is so.
 *
 * Checked: exact counts of the calls made between two snapshots, by the
 * calling thread and by a second thread (alive, then exited); the
 * caller-provided thread array and its capacity; tracing of the calling
 * thread only and of all threads, each leaving dir/trace.PID.mtt with the
 * right magic, every event of the traced threads (the stop writes out the
 * caller's buffered events) and the end record; the error codes; quick
 * traces and their reports; ENODEV in a process whose /dev/shm is full.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "memtop.h"
#include "trace_format.h"

/* Called through volatile pointers: the compiler may not pair up and
 * remove a malloc and its free, which would change the counts. */
static void *(*volatile do_malloc)(size_t) = malloc;
static void (*volatile do_free)(void *) = free;
static void *(*volatile do_realloc)(void *, size_t) = realloc;

#define MAX_THREADS 64

static char base[64];

static int32_t my_tid(void)
{
	return (int32_t)syscall(SYS_gettid);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/memtop-api-XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void take(struct memtop_snapshot *s, struct memtop_thread *buf, size_t cap)
{
	memset(s, 0, sizeof(*s));
	s->threads = buf;
	s->threads_capacity = cap;
	assert_int_equal(memtop_snapshot(s), 0);
}

static const struct memtop_thread *find_tid(const struct memtop_snapshot *s, int32_t tid)
{
	for (size_t i = 0; i < s->nthreads; i++)
		if (s->threads[i].tid == tid)
			return &s->threads[i];
	return NULL;
}

/* ---------------------------------------------------------------- linking */

static int count_collectors(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	if (info->dlpi_name && strstr(info->dlpi_name, "libmemtop"))
		(*(int *)data)++;
	return 0;
}

static void test_linked_collector_owns_malloc(void **state)
{
	(void)state;
	assert_int_equal(memtop_api_version(), MEMTOP_API_VERSION);
	Dl_info m, api;
	void *sym = dlsym(RTLD_DEFAULT, "malloc");
	assert_non_null(sym);
	assert_true(dladdr(sym, &m));
	assert_true(dladdr((void *)memtop_snapshot, &api));
	/* malloc as the program sees it is the collector's, in the object
	 * that also holds the API: one collector, found by symbol order. */
	assert_non_null(strstr(m.dli_fname, "libmemtop.so"));
	assert_ptr_equal(m.dli_fbase, api.dli_fbase);
	int n = 0;
	dl_iterate_phdr(count_collectors, &n);
	assert_int_equal(n, 1);
}

/* ---------------------------------------------------------------- snapshots */

static void test_snapshot_calling_thread(void **state)
{
	(void)state;
	struct memtop_thread buf0[MAX_THREADS], buf1[MAX_THREADS];
	struct memtop_snapshot s0, s1;
	void *p[100];
	take(&s0, buf0, MAX_THREADS);
	for (size_t i = 0; i < 100; i++)
		p[i] = do_malloc(i + 1);
	for (size_t i = 0; i < 40; i++)
		do_free(p[i]);
	p[50] = do_realloc(p[50], 1000);
	take(&s1, buf1, MAX_THREADS);

	uint64_t live = 0;
	for (size_t i = 40; i < 100; i++)
		live += malloc_usable_size(p[i]);
	const struct memtop_thread *a = find_tid(&s0, my_tid()), *b = find_tid(&s1, my_tid());
	assert_non_null(a);
	assert_non_null(b);
	assert_true(b->is_caller);
	assert_false(b->exited);
	assert_false(b->stale);
	assert_int_equal(b->c.allocs - a->c.allocs, 101);
	assert_int_equal(b->c.frees - a->c.frees, 41);
	assert_int_equal(b->c.reallocs - a->c.reallocs, 1);
	assert_int_equal(b->c.failed - a->c.failed, 0);
	assert_int_equal(b->c.bytes_allocated - a->c.bytes_allocated, 100 * 101 / 2 + 1000);
	assert_int_equal(b->c.live_bytes - a->c.live_bytes, (int64_t)live);
	assert_true(b->c.peak_live_bytes >= b->c.live_bytes);
	/* Nothing else runs: the process moved exactly as this thread did. */
	assert_int_equal(s1.total.allocs - s0.total.allocs, 101);
	assert_int_equal(s1.total.frees - s0.total.frees, 41);
	assert_int_equal(s1.total.bytes_allocated - s0.total.bytes_allocated, 100 * 101 / 2 + 1000);
	assert_int_equal(s1.total.live_bytes - s0.total.live_bytes, (int64_t)live);
	assert_true(s1.total.peak_live_bytes >= s1.total.live_bytes);
	assert_true(s1.total.peak_live_bytes >= s0.total.peak_live_bytes);
	assert_int_equal(s1.pid, getpid());
	assert_true(s1.time_ns >= s0.time_ns);
	for (size_t i = 40; i < 100; i++)
		do_free(p[i]);
}

struct worker {
	sem_t go, done;
	int32_t tid;
	size_t n, size;
	void *blocks[256];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	w->tid = my_tid();
	prctl(PR_SET_NAME, "api-worker", 0, 0, 0);
	do_free(do_malloc(1));  /* the thread has a slot before the first look */
	sem_post(&w->done);
	sem_wait(&w->go);
	for (size_t i = 0; i < w->n; i++)
		w->blocks[i] = do_malloc(w->size);
	sem_post(&w->done);
	sem_wait(&w->go);
	for (size_t i = 0; i < w->n; i++)
		do_free(w->blocks[i]);
	return NULL;
}

static void test_snapshot_second_thread(void **state)
{
	(void)state;
	struct memtop_thread buf0[MAX_THREADS], buf1[MAX_THREADS], buf2[MAX_THREADS];
	struct memtop_snapshot s0, s1, s2;
	struct worker w = { .n = 200, .size = 300 };
	pthread_t th;
	sem_init(&w.go, 0, 0);
	sem_init(&w.done, 0, 0);
	assert_int_equal(pthread_create(&th, NULL, worker_main, &w), 0);
	sem_wait(&w.done);

	take(&s0, buf0, MAX_THREADS);
	sem_post(&w.go);
	sem_wait(&w.done);
	take(&s1, buf1, MAX_THREADS);
	sem_post(&w.go);
	assert_int_equal(pthread_join(th, NULL), 0);
	take(&s2, buf2, MAX_THREADS);

	const struct memtop_thread *a = find_tid(&s0, w.tid), *b = find_tid(&s1, w.tid),
				   *c = find_tid(&s2, w.tid);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_string_equal(b->name, "api-worker");
	assert_false(b->is_caller);
	assert_false(b->exited);
	assert_true(c->exited);
	assert_int_equal(b->c.allocs - a->c.allocs, 200);
	assert_int_equal(b->c.bytes_allocated - a->c.bytes_allocated, 200 * 300);
	assert_int_equal(b->c.frees - a->c.frees, 0);
	assert_true(b->c.live_bytes - a->c.live_bytes >= 200 * 300);
	/* The caller only waited meanwhile: the process moved as the worker. */
	assert_int_equal(s1.total.allocs - s0.total.allocs, 200);
	assert_int_equal(s1.total.bytes_allocated - s0.total.bytes_allocated, 200 * 300);
	assert_int_equal(s1.total.frees - s0.total.frees, 0);
	/* After its exit: every block freed, by itself. */
	assert_int_equal(c->c.allocs - b->c.allocs, 0);
	assert_int_equal(c->c.frees - b->c.frees, 200);
	assert_int_equal(c->c.live_bytes, a->c.live_bytes);
	assert_true(s2.threads_total >= s1.threads_total);
	sem_destroy(&w.go);
	sem_destroy(&w.done);
}

static void test_snapshot_capacity(void **state)
{
	(void)state;
	struct memtop_snapshot s;
	struct memtop_thread one[1];
	memset(&s, 0, sizeof(s));
	assert_int_equal(memtop_snapshot(&s), 0);
	assert_int_equal(s.nthreads, 0);
	assert_true(s.threads_total >= 2);  /* this thread and the exited worker */
	assert_true(s.total.allocs > 0);
	uint64_t total_allocs = s.total.allocs;

	take(&s, one, 1);
	assert_int_equal(s.nthreads, 1);
	assert_true(s.threads_total >= 2);
	assert_true(s.total.allocs >= total_allocs);

	struct memtop_thread big[MAX_THREADS];
	take(&s, big, MAX_THREADS);
	assert_int_equal(s.nthreads, s.threads_total);
	int callers = 0;
	for (size_t i = 0; i < s.nthreads; i++)
		callers += s.threads[i].is_caller;
	assert_int_equal(callers, 1);

	errno = 0;
	assert_int_equal(memtop_snapshot(NULL), -1);
	assert_int_equal(errno, EINVAL);
	memset(&s, 0, sizeof(s));
	s.threads_capacity = 4;
	errno = 0;
	assert_int_equal(memtop_snapshot(&s), -1);
	assert_int_equal(errno, EINVAL);
}

/* ---------------------------------------------------------------- traces */

struct trace_counts {
	int header_ok;
	int32_t pid;
	int ended;                  /* the last block is the end record */
	uint64_t end_events;
	uint64_t allocs, frees, reallocs, failed;  /* events of the tid asked */
	uint64_t other_events;      /* events of any other thread */
	uint64_t thread_starts;     /* thread records of the tid asked */
};

/* An independent reading of the format of trace_format.h. */
static void read_trace(const char *path, int32_t tid, struct trace_counts *tc)
{
	memset(tc, 0, sizeof(*tc));
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static unsigned char data[4 << 20];
	size_t size = fread(data, 1, sizeof(data), f);
	fclose(f);
	struct mt_trace_header h;
	assert_true(size >= sizeof(h));
	memcpy(&h, data, sizeof(h));
	tc->header_ok = memcmp(h.magic, MT_TRACE_MAGIC, 8) == 0 && h.version == MT_TRACE_VERSION &&
			h.header_size == sizeof(h);
	tc->pid = h.pid;
	size_t off = h.header_size;
	uint32_t last_type = 0;
	while (off + sizeof(struct mt_trace_block) <= size) {
		struct mt_trace_block b;
		memcpy(&b, data + off, sizeof(b));
		off += sizeof(b);
		assert_true(b.size <= size - off);
		const unsigned char *p = data + off, *end = p + b.size;
		assert_int_equal(mt_trace_check(p, b.size), b.check);
		off += b.size;
		last_type = b.type;
		if (b.type == MT_TB_END) {
			struct mt_tb_end e;
			memcpy(&e, p, sizeof(e));
			tc->end_events = e.events;
		}
		if (b.type == MT_TB_THREAD && b.tid == tid)
			tc->thread_starts++;
		if (b.type != MT_TB_EVENTS)
			continue;
		struct mt_tb_events ev;
		memcpy(&ev, p, sizeof(ev));
		p += sizeof(ev);
		if (b.tid != tid) {
			tc->other_events += ev.count;
			continue;
		}
		for (uint32_t i = 0; i < ev.count; i++) {
			unsigned op = *p++;
			unsigned fields;
			uint64_t v;
			switch (op & MT_EV_OP_MASK3) {
			case MT_EV_ALLOC: tc->allocs++; fields = (op & MT_EVF_ALIGN) ? 4 : 3; break;
			case MT_EV_FREE: tc->frees++; fields = 2; break;
			case MT_EV_REALLOC: tc->reallocs++; fields = 5; break;
			case MT_EV_REALLOC_FREE: tc->reallocs++; fields = 2; break;
			case MT_EV_FAILED: tc->failed++; fields = 1; break;
			default: fail_msg("event op %u", op); return;
			}
			/* a usable size left out (version 3), the time delta (if the
			 * clock moved), the sample */
			fields -= (op & MT_EVF_IMPLIED) ? 1 : 0;
			fields += ((op & MT_EVF_TIME) ? 1 : 0) + ((op & MT_EVF_SAMPLED) ? 2 : 0);
			for (unsigned k = 0; k < fields; k++)
				assert_int_equal(mt_get_pvarint(&p, end, &v), 0);
		}
		assert_ptr_equal(p, end);
	}
	assert_int_equal(off, size);
	tc->ended = last_type == MT_TB_END;
}

static void trace_file(char *out, size_t len, const char *dir)
{
	snprintf(out, len, "%s/" MT_TRACE_FILE_FMT, dir, (int)getpid());
}

/* A thread that makes n malloc/free pairs when released.  It is created
 * before the trace starts and joined after it stops: pthread_create and
 * pthread_join may allocate in the calling thread (thread-local storage). */
struct burst {
	pthread_t th;
	sem_t go, done;
	int32_t tid;
	size_t n;
};

static void *burst_main(void *arg)
{
	struct burst *b = arg;
	b->tid = my_tid();
	sem_wait(&b->go);
	for (size_t i = 0; i < b->n; i++)
		do_free(do_malloc(64));
	sem_post(&b->done);
	return NULL;
}

static void burst_create(struct burst *b, size_t n)
{
	b->n = n;
	sem_init(&b->go, 0, 0);
	sem_init(&b->done, 0, 0);
	assert_int_equal(pthread_create(&b->th, NULL, burst_main, b), 0);
}

static void burst_run(struct burst *b)
{
	sem_post(&b->go);
	sem_wait(&b->done);
}

static void burst_join(struct burst *b)
{
	assert_int_equal(pthread_join(b->th, NULL), 0);
	sem_destroy(&b->go);
	sem_destroy(&b->done);
}

static void test_trace_thread(void **state)
{
	(void)state;
	char dir[128], other[128], path[256];
	snprintf(dir, sizeof(dir), "%s/one", base);
	snprintf(other, sizeof(other), "%s/other", base);
	struct burst b;
	burst_create(&b, 10);
	assert_int_equal(memtop_trace_thread(dir), 0);
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);

	errno = 0;
	assert_int_equal(memtop_trace_thread(dir), -1);
	assert_int_equal(errno, EBUSY);
	errno = 0;
	assert_int_equal(memtop_trace_all(other), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(stat(other, &st), -1);  /* a refused start makes nothing */

	void *p[50];
	for (int i = 0; i < 50; i++)
		p[i] = do_malloc(24);
	burst_run(&b);  /* not traced: another thread */
	for (int i = 0; i < 50; i++)
		do_free(p[i]);
	p[0] = do_realloc(NULL, 10);
	p[0] = do_realloc(p[0], 5000);
	do_free(p[0]);

	assert_int_equal(memtop_stop_tracing(), 0);
	errno = 0;
	assert_int_equal(memtop_stop_tracing(), -1);
	assert_int_equal(errno, EINVAL);
	burst_join(&b);

	struct trace_counts tc;
	trace_file(path, sizeof(path), dir);
	read_trace(path, my_tid(), &tc);
	assert_true(tc.header_ok);
	assert_int_equal(tc.pid, getpid());
	/* 64 KiB of buffer holds them all: they are in the file because the
	 * stop wrote the caller's buffer out. */
	assert_int_equal(tc.allocs, 51);
	assert_int_equal(tc.frees, 51);
	assert_int_equal(tc.reallocs, 1);
	assert_int_equal(tc.failed, 0);
	assert_int_equal(tc.thread_starts, 1);
	assert_int_equal(tc.other_events, 0);
	assert_true(tc.ended);
	assert_int_equal(tc.end_events, 51 + 51 + 1);
	read_trace(path, b.tid, &tc);
	assert_int_equal(tc.allocs + tc.frees, 0);
}

static void test_trace_all(void **state)
{
	(void)state;
	char dir[128], path[256];
	snprintf(dir, sizeof(dir), "%s/all", base);
	struct burst b;
	burst_create(&b, 10);
	assert_int_equal(memtop_trace_all(dir), 0);
	burst_run(&b);
	for (int i = 0; i < 7; i++)
		do_free(do_malloc(100));
	assert_int_equal(memtop_stop_tracing(), 0);
	burst_join(&b);

	struct trace_counts tc;
	trace_file(path, sizeof(path), dir);
	read_trace(path, b.tid, &tc);
	assert_true(tc.header_ok);
	assert_int_equal(tc.allocs, 10);
	assert_int_equal(tc.frees, 10);
	assert_true(tc.ended);
	read_trace(path, my_tid(), &tc);
	assert_int_equal(tc.allocs, 7);
	assert_int_equal(tc.frees, 7);
}

static void test_trace_errors(void **state)
{
	(void)state;
	char dir[128], file[128], deep[160];
	snprintf(dir, sizeof(dir), "%s/one", base);
	errno = 0;
	assert_int_equal(memtop_trace_thread(dir), -1);  /* holds this process's trace */
	assert_int_equal(errno, EEXIST);
	snprintf(file, sizeof(file), "%s/plain-file", base);
	int fd = open(file, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	errno = 0;
	assert_int_equal(memtop_trace_all(file), -1);
	assert_int_equal(errno, ENOTDIR);
	snprintf(deep, sizeof(deep), "%s/missing/child", base);
	errno = 0;
	assert_int_equal(memtop_trace_all(deep), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(memtop_trace_all(NULL), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(memtop_trace_thread(""), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(memtop_stop_tracing(), -1);
	assert_int_equal(errno, EINVAL);
}

/* ---------------------------------------------------------------- quick traces */

struct job {
	size_t n, size, usable;
	void *keep[64];
	int called;
	int stop_result, stop_errno;  /* of memtop_stop_tracing() inside fn */
};

static void job_main(void *arg)
{
	struct job *j = arg;
	j->called++;
	for (size_t i = 0; i < j->n; i++)
		j->keep[i] = do_malloc(j->size);
	j->usable = malloc_usable_size(j->keep[0]);
	for (size_t i = 0; i < j->n / 2; i++)
		do_free(j->keep[i]);
	errno = 0;
	j->stop_result = memtop_stop_tracing();
	j->stop_errno = errno;
}

static void job_release(struct job *j)
{
	for (size_t i = j->n / 2; i < j->n; i++)
		do_free(j->keep[i]);
}

static void test_quick_trace(void **state)
{
	(void)state;
	char dir[128], path[256];
	struct memtop_report r;
	struct job j = { .n = 40, .size = 1000 };
	snprintf(dir, sizeof(dir), "%s/quick", base);
	assert_int_equal(memtop_quick_trace(dir, job_main, &j, &r), 0);
	assert_int_equal(j.called, 1);
	assert_int_equal(r.ran, 1);
	assert_int_equal(r.c.allocs, 40);
	assert_int_equal(r.c.frees, 20);
	assert_int_equal(r.c.reallocs, 0);
	assert_int_equal(r.c.bytes_allocated, 40 * 1000);
	assert_int_equal(r.c.usable_allocated, 40 * j.usable);
	assert_int_equal(r.c.bytes_freed, 20 * j.usable);
	assert_int_equal(r.c.live_bytes, (int64_t)(20 * j.usable));
	assert_int_equal(r.c.peak_live_bytes, (int64_t)(40 * j.usable));
	assert_int_equal(r.trace_events, 60);
	assert_int_equal(r.trace_error, 0);
	assert_true(r.elapsed_ns > 0);
	/* fn may not stop the quick trace it runs under */
	assert_int_equal(j.stop_result, -1);
	assert_int_equal(j.stop_errno, EBUSY);
	trace_file(path, sizeof(path), dir);
	assert_string_equal(r.trace_file, path);
	struct trace_counts tc;
	read_trace(path, my_tid(), &tc);
	assert_true(tc.header_ok);
	assert_int_equal(tc.allocs, 40);
	assert_int_equal(tc.frees, 20);
	assert_true(tc.ended);
	job_release(&j);

	/* no directory: counters only */
	struct job k = { .n = 8, .size = 50 };
	assert_int_equal(memtop_quick_trace(NULL, job_main, &k, &r), 0);
	assert_int_equal(r.ran, 1);
	assert_int_equal(r.c.allocs, 8);
	assert_int_equal(r.c.frees, 4);
	assert_int_equal(r.c.peak_live_bytes, -1);
	assert_int_equal(r.trace_events, 0);
	assert_string_equal(r.trace_file, "");
	assert_int_equal(k.stop_errno, EINVAL);  /* no trace at all */
	job_release(&k);
}

static void test_quick_trace_errors(void **state)
{
	(void)state;
	char dir[128], busy[128];
	struct memtop_report r;
	struct job j = { .n = 2, .size = 8 };
	snprintf(dir, sizeof(dir), "%s/quick-busy", base);
	snprintf(busy, sizeof(busy), "%s/running", base);

	errno = 0;
	assert_int_equal(memtop_quick_trace(dir, NULL, NULL, &r), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(r.ran, 0);
	errno = 0;
	assert_int_equal(memtop_quick_trace(dir, job_main, &j, NULL), -1);
	assert_int_equal(errno, EINVAL);

	assert_int_equal(memtop_trace_all(busy), 0);
	errno = 0;
	assert_int_equal(memtop_quick_trace(dir, job_main, &j, &r), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(r.ran, 0);
	assert_int_equal(j.called, 0);
	assert_int_equal(memtop_stop_tracing(), 0);

	/* the directory of an earlier quick trace holds this process's file */
	snprintf(dir, sizeof(dir), "%s/quick", base);
	errno = 0;
	assert_int_equal(memtop_quick_trace(dir, job_main, &j, &r), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(j.called, 0);
}

/* ---------------------------------------------------------------- no collector */

/* A child whose /dev/shm is a full private tmpfs: its collector cannot make
 * a segment (the parent's was dropped at fork), so the API says ENODEV. */
static void test_no_collector(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) != 0 ||
		    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
		    mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=4k") != 0)
			_exit(77);
		struct memtop_snapshot s;
		struct memtop_report r;
		memset(&s, 0, sizeof(s));
		int bad = 0;
		errno = 0;
		bad |= !(memtop_snapshot(&s) == -1 && errno == ENODEV) << 0;
		errno = 0;
		bad |= !(memtop_trace_all("/tmp") == -1 && errno == ENODEV) << 1;
		errno = 0;
		bad |= !(memtop_stop_tracing() == -1 && errno == ENODEV) << 2;
		errno = 0;
		bad |= !(memtop_quick_trace(NULL, (void (*)(void *))sched_yield, NULL, &r) == -1 &&
			 errno == ENODEV && r.ran == 0) << 3;
		_exit(bad);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();  /* needs root and mount namespaces */
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linked_collector_owns_malloc),
		cmocka_unit_test(test_snapshot_calling_thread),
		cmocka_unit_test(test_snapshot_second_thread),
		cmocka_unit_test(test_snapshot_capacity),
		cmocka_unit_test(test_trace_thread),
		cmocka_unit_test(test_trace_all),
		cmocka_unit_test(test_trace_errors),
		cmocka_unit_test(test_quick_trace),
		cmocka_unit_test(test_quick_trace_errors),
		cmocka_unit_test(test_no_collector),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
