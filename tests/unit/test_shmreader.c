/*
 * test_shmreader.c - the collector's registry (writer) against memtop's
 * shmreader (reader) in one process: segment creation, thread slots, fresh
 * and published figures, exit records, mallinfo, growth past one chunk,
 * growth refused (the thread pooled, the header saying why),
 * refusal of foreign or damaged segments and of another user's, and
 * stale-segment cleanup.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "collector.h"
#include "fsize_limit.h"
#include "registry.h"
#include "shmreader.h"

static char tmpdir[64];

static int group_setup(void **state)
{
	(void)state;
	if (registry_init() != 0) {
		fprintf(stderr, "registry_init: %s\n", registry_error());
		return -1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/memtop-test-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	char path[96];
	snprintf(path, sizeof(path), "/dev/shm" MT_SHM_NAME_FMT, (int)getpid());
	unlink(path);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void open_own(struct shm_segment *seg)
{
	char err[256];
	int r = shm_segment_open(seg, (int)getpid(), err, sizeof(err));
	if (r != 0)
		fail_msg("open: %s", err);
}

static struct thread_figures find_tid(struct shm_segment *seg, int tid)
{
	struct thread_figures f;
	for (uint32_t i = 0; i < shm_segment_slot_count(seg); i++)
		if (shm_segment_read_thread(seg, i, &f) == 0 && f.tid == tid)
			return f;
	fail_msg("tid %d not found", tid);
	return f;
}

static void test_header(void **state)
{
	(void)state;
	struct shm_segment seg;
	open_own(&seg);
	assert_int_equal(seg.hdr->pid, getpid());
	assert_int_equal(seg.hdr->layout_version, MT_LAYOUT_VERSION);
	assert_true(seg.hdr->start_ns > 0);
	assert_true(seg.hdr->proc_starttime > 0);
	struct stat st;
	assert_int_equal(stat(seg.name, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	shm_segment_close(&seg);
}

struct worker {
	int tid;
	int n;
	struct mt_slot *slot;
	pthread_barrier_t *done;
	pthread_barrier_t *go_exit;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	prctl(PR_SET_NAME, "unit-worker", 0, 0, 0);
	w->slot = registry_register();
	w->tid = w->slot->tid;
	for (int i = 0; i < w->n; i++) {
		collector_on_alloc(w->slot, 100, 104);
		struct mt_event e = { .frees = 1, .usable_out = 104 };
		collector_apply(w->slot, &e);
	}
	pthread_barrier_wait(w->done);
	pthread_barrier_wait(w->go_exit);
	registry_thread_exit(w->slot);
	return NULL;
}

static void test_threads_live_and_exited(void **state)
{
	(void)state;
	pthread_barrier_t done, go_exit;
	pthread_barrier_init(&done, NULL, 3);
	pthread_barrier_init(&go_exit, NULL, 3);
	struct worker w[2] = { { .n = 1000, .done = &done, .go_exit = &go_exit },
			       { .n = 5000, .done = &done, .go_exit = &go_exit } };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	pthread_barrier_wait(&done);

	struct shm_segment seg;
	open_own(&seg);
	/* quiet threads, never published: live counters are read */
	struct thread_figures f = find_tid(&seg, w[1].tid);
	assert_true(f.from_live);
	assert_int_equal(f.c.allocs, 5000);
	assert_int_equal(f.c.frees, 5000);
	assert_int_equal(f.c.bytes_allocated, 500000);
	assert_int_equal(f.state, MT_SLOT_ACTIVE);
	assert_string_equal(f.name, "unit-worker");

	pthread_barrier_wait(&go_exit);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	f = find_tid(&seg, w[0].tid);
	assert_int_equal(f.state, MT_SLOT_EXITED);
	assert_int_equal(f.c.allocs, 1000);
	assert_true(f.end_ns >= f.start_ns);
	shm_segment_close(&seg);
	pthread_barrier_destroy(&done);
	pthread_barrier_destroy(&go_exit);
}

static void test_tick_and_publish(void **state)
{
	(void)state;
	struct shm_segment seg;
	open_own(&seg);
	struct mt_slot *s = registry_register();
	assert_true((uintptr_t)s > MT_SLOT_SPECIAL);
	collector_on_alloc(s, 10, 24);
	shm_segment_tick(&seg);
	assert_int_not_equal(registry_tick(), s->pub_tick);
	registry_publish(s);
	assert_int_equal(s->pub_tick, registry_tick());
	struct thread_figures f;
	uint32_t idx = s->index;
	assert_int_equal(shm_segment_read_thread(&seg, idx, &f), 0);
	assert_int_equal(f.tid, s->tid);
	assert_int_equal(f.c.bytes_allocated, 10);
	/* published at the current tick: the snapshot is used, not live */
	assert_false(f.from_live);
	assert_int_equal(f.c.allocs, 1);
	struct mt_mallinfo mi;
	assert_true(shm_segment_read_mallinfo(&seg, &mi));
#ifndef __SANITIZE_ADDRESS__
	assert_true(mi.arena > 0);  /* ASan's allocator reports an empty glibc heap */
#endif
	assert_int_equal(mi.tick, registry_tick());
	shm_segment_close(&seg);
}

/* A process that died: its live counters are final (fresher than the
 * snapshot of the current tick), and those of a thread cut short in the
 * middle of counting an event (seq odd for good) are taken as they are. */
static void test_writer_gone(void **state)
{
	(void)state;
	struct shm_segment seg;
	open_own(&seg);
	struct mt_slot *s = registry_register();
	assert_true((uintptr_t)s > MT_SLOT_SPECIAL);
	collector_on_alloc(s, 10, 24);
	shm_segment_tick(&seg);
	registry_publish(s);
	collector_on_alloc(s, 20, 24);   /* after the snapshot */
	uint32_t idx = s->index;
	struct thread_figures f;
	assert_int_equal(shm_segment_read_thread(&seg, idx, &f), 0);
	assert_int_equal(f.tid, s->tid);
	assert_int_equal(f.c.allocs, 1);          /* the snapshot, while it lives */
	seg.writer_gone = true;
	assert_int_equal(shm_segment_read_thread(&seg, idx, &f), 0);
	assert_int_equal(f.c.allocs, 2);          /* final */
	assert_true(f.from_live);
	/* killed half-way through its next event: allocs counted, bytes not yet */
	uint64_t sq = s->seq;
	__atomic_store_n(&s->seq, sq + 1, __ATOMIC_RELEASE);
	s->live.allocs++;
	seg.writer_gone = false;
	assert_int_equal(shm_segment_read_thread(&seg, idx, &f), 0);
	assert_int_equal(f.c.allocs, 1);          /* torn: the snapshot */
	seg.writer_gone = true;
	assert_int_equal(shm_segment_read_thread(&seg, idx, &f), 0);
	assert_int_equal(f.c.allocs, 3);
	assert_int_equal(f.c.bytes_allocated, 30);
	s->live.allocs--;
	__atomic_store_n(&s->seq, sq, __ATOMIC_RELEASE);
	shm_segment_close(&seg);
}

static void test_growth_beyond_one_chunk(void **state)
{
	(void)state;
	struct shm_segment seg;
	open_own(&seg);
	uint32_t before = shm_segment_slot_count(&seg);
	for (uint32_t i = 0; i < MT_SLOTS_PER_CHUNK + 3; i++)
		assert_true((uintptr_t)registry_register() > MT_SLOT_SPECIAL);
	assert_int_equal(shm_segment_slot_count(&seg), MT_SLOTS_PER_CHUNK);  /* old mapping */
	assert_int_equal(shm_segment_refresh(&seg), 0);
	assert_int_equal(shm_segment_slot_count(&seg), before + MT_SLOTS_PER_CHUNK + 3);
	struct thread_figures f;
	assert_int_equal(shm_segment_read_thread(&seg, shm_segment_slot_count(&seg) - 1, &f), 0);
	assert_int_equal(f.tid, (int)gettid());
	assert_int_equal(shm_segment_read_thread(&seg, shm_segment_slot_count(&seg), &f), -1);
	shm_segment_close(&seg);
}

/* The file cannot grow (here: a file size limit, as good as a full
 * /dev/shm for posix_fallocate): the thread that needs the next chunk is
 * pooled, and the header says so and why; the next thread tries again. */
static void test_growth_refused(void **state)
{
	(void)state;
	struct shm_segment seg;
	open_own(&seg);
	uint32_t mapped = __atomic_load_n(&mt_hdr->slots_mapped, __ATOMIC_ACQUIRE);
	__atomic_store_n(&mt_hdr->slots_used, mapped, __ATOMIC_RELAXED); /* next: a new chunk */
	uint64_t pooled = mt_hdr->overflow.threads;
	uint32_t unbacked;
	int err;
	shm_segment_read_unbacked(&seg, &unbacked, &err);
	assert_int_equal(unbacked, 0);
	assert_int_equal(err, 0);

	struct stat st;
	assert_int_equal(stat(seg.name, &st), 0);
	assert_int_equal(st.st_size, (off_t)mt_slot_offset(mapped));
	struct fsize_limit lim;
	fsize_limit_at(&lim, seg.name);
	struct mt_slot *s = registry_register();
	fsize_limit_lift(&lim);

	assert_ptr_equal(s, MT_SLOT_OVERFLOW);
	assert_int_equal(mt_hdr->overflow.threads, pooled + 1);
	assert_int_equal(mt_hdr->slots_mapped, mapped);
	assert_int_equal(stat(seg.name, &st), 0);
	assert_int_equal(st.st_size, (off_t)mt_slot_offset(mapped));  /* not grown */
	shm_segment_read_unbacked(&seg, &unbacked, &err);
	assert_int_equal(unbacked, 1);
	assert_int_equal(err, EFBIG);

	/* room again: the next thread gets a slot in the chunk that failed */
	s = registry_register();
	assert_true((uintptr_t)s > MT_SLOT_SPECIAL);
	assert_int_equal(s->index, mapped + 1);
	assert_int_equal(mt_hdr->slots_mapped, mapped + MT_SLOTS_PER_CHUNK);
	shm_segment_read_unbacked(&seg, &unbacked, &err);
	assert_int_equal(unbacked, 1);
	assert_int_equal(err, EFBIG);
	assert_int_equal(mt_hdr->overflow.threads, pooled + 1);
	shm_segment_close(&seg);
}

static void write_file(const char *path, const void *data, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	fchmod(fd, mode);
	close(fd);
}

static void test_refuses_foreign_and_damaged(void **state)
{
	(void)state;
	static char buf[MT_HEADER_SIZE + MT_CHUNK_SIZE];
	struct mt_shm_header *h = (struct mt_shm_header *)buf;
	struct shm_segment seg;
	char err[256], path[128];

	snprintf(path, sizeof(path), "%s/foreign", tmpdir);
	memset(buf, 'x', sizeof(buf));
	write_file(path, buf, sizeof(buf), 0600);
	assert_int_equal(shm_segment_open_path(&seg, path, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a memtop segment"));

	memset(buf, 0, sizeof(buf));
	h->magic = MT_MAGIC;
	h->layout_version = MT_LAYOUT_VERSION + 1;
	h->flags = MT_FLAG_READY;
	write_file(path, buf, sizeof(buf), 0600);
	assert_int_equal(shm_segment_open_path(&seg, path, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "layout version"));

	h->layout_version = MT_LAYOUT_VERSION;
	h->header_size = MT_HEADER_SIZE;
	h->slot_size = MT_SLOT_SIZE;
	h->slots_offset = MT_HEADER_SIZE;
	h->slot_capacity = MT_MAX_SLOTS;
	h->pid = 1;
	h->stacks_offset = MT_STACKS_OFFSET;
	h->stack_rec_size = MT_STACK_REC_SIZE;
	h->stack_capacity = MT_MAX_STACKS;
	h->areas_offset = MT_AREAS_OFFSET;
	h->area_size = MT_AREA_SIZE;
	h->areas_used = 7000;      /* lies too */
	h->areas_mapped = 7000;
	h->slots_used = 1000000;   /* lies: far more than the file holds */
	h->slots_mapped = 1000000;
	h->stacks_used = 5000;
	h->stacks_mapped = 5000;
	write_file(path, buf, sizeof(buf), 0644);
	assert_int_equal(shm_segment_open_path(&seg, path, 0, err, sizeof(err)), -1);
	assert_int_equal(errno, EPERM);
	assert_non_null(strstr(err, "is not private to this user: its mode 0644 lets others in"));
	if (geteuid() == 0) {
		/* well-formed and 0600, but another user's: a root memtop
		 * must not read what that user could forge */
		write_file(path, buf, sizeof(buf), 0600);
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(shm_segment_open_path(&seg, path, 0, err, sizeof(err)), -1);
		assert_int_equal(errno, EPERM);
		assert_non_null(strstr(err, "it belongs to uid 65534, not 0; refusing it"));
		unlink(path);
	}

	write_file(path, buf, sizeof(buf), 0600);
	assert_int_equal(shm_segment_open_path(&seg, path, 0, err, sizeof(err)), 0);
	/* bounds come from the mapping, not from the header's claims */
	assert_int_equal(shm_segment_slot_count(&seg), MT_SLOTS_PER_CHUNK);
	struct thread_figures f;
	assert_int_equal(shm_segment_read_thread(&seg, MT_SLOTS_PER_CHUNK, &f), -1);
	assert_int_equal(shm_segment_read_thread(&seg, 0, &f), -1);  /* slot FREE */
	assert_int_equal(shm_segment_stack_count(&seg), 0);  /* no stack region mapped */
	assert_int_equal(shm_segment_area_count(&seg), 0);
	struct mt_stack_rec rec;
	assert_int_equal(shm_segment_read_stack(&seg, 0, &rec), -1);
	shm_segment_close(&seg);
	assert_int_equal(shm_segment_open_path(&seg, path, 2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "another process"));

	/* truncated: no creation leaves a segment part-sized, so it is
	 * foreign, not one to wait for */
	write_file(path, buf, 100, 0600);
	assert_int_equal(shm_segment_open_path(&seg, path, 0, err, sizeof(err)), -1);
	assert_int_equal(errno, EPROTO);
	assert_non_null(strstr(err, "not a memtop segment (shorter than a header)"));
	/* empty: the collector has created it and not sized it yet */
	write_file(path, buf, 0, 0600);
	assert_int_equal(shm_segment_open_path(&seg, path, 0, err, sizeof(err)), -1);
	assert_int_equal(errno, EAGAIN);

	char link[128];
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(shm_segment_open_path(&seg, link, 0, err, sizeof(err)), -1);

	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	assert_int_equal(shm_segment_open_path(&seg, path, 0, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
}

/* The owner a segment must have is a parameter at the module boundary
 * (memtop --attach passes the process's uid): the process's own segment,
 * 0600, is refused when another owner is expected, and opens when its own
 * is. */
static void test_refuses_other_owner(void **state)
{
	(void)state;
	struct shm_segment seg;
	char err[256], want[160];
	uid_t me = geteuid(), other = me == 65534 ? 65533 : 65534;

	assert_int_equal(shm_segment_open_owned(&seg, (int)getpid(), other, err, sizeof(err)), -1);
	assert_int_equal(errno, EPERM);
	snprintf(want, sizeof(want), "/dev/shm" MT_SHM_NAME_FMT " is not private to this user: "
		 "it belongs to uid %u, not %u; refusing it", (int)getpid(), (unsigned)me,
		 (unsigned)other);
	assert_string_equal(err, want);
	assert_int_equal(shm_segment_open_owned(&seg, (int)getpid(), me, err, sizeof(err)), 0);
	assert_int_equal(seg.hdr->pid, getpid());
	shm_segment_close(&seg);
}

static void test_cleanup_stale(void **state)
{
	(void)state;
	static struct mt_shm_header h;
	char dead[128], live[128], other[128];
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);  /* a pid that is surely gone now */

	memset(&h, 0, sizeof(h));
	h.magic = MT_MAGIC;
	h.layout_version = MT_LAYOUT_VERSION;
	h.pid = child;
	snprintf(dead, sizeof(dead), "%s/memtop.%d", tmpdir, child);
	write_file(dead, &h, sizeof(h), 0600);

	h.pid = getpid();
	h.proc_starttime = mt_hdr->proc_starttime;
	snprintf(live, sizeof(live), "%s/memtop.%d", tmpdir, getpid());
	write_file(live, &h, sizeof(h), 0600);

	/* a dead process launched by a memtop that still runs (us) */
	h.pid = child;
	h.session = (uint64_t)getpid();
	snprintf(other, sizeof(other), "%s/memtop.other", tmpdir);
	write_file(other, &h, sizeof(h), 0600);

	assert_int_equal(shm_cleanup_stale(tmpdir, "/proc", 0), 1);
	assert_int_not_equal(access(dead, F_OK), 0);
	assert_int_equal(access(live, F_OK), 0);
	assert_int_equal(access(other, F_OK), 0);
	assert_int_equal(shm_cleanup_stale(tmpdir, "/proc", getpid()), 1);
	assert_int_not_equal(access(other, F_OK), 0);
	assert_int_equal(access(live, F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_threads_live_and_exited),
		cmocka_unit_test(test_tick_and_publish),
		cmocka_unit_test(test_growth_beyond_one_chunk),
		cmocka_unit_test(test_growth_refused),
		cmocka_unit_test(test_writer_gone),
		cmocka_unit_test(test_refuses_foreign_and_damaged),
		cmocka_unit_test(test_refuses_other_owner),
		cmocka_unit_test(test_cleanup_stale),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
