/*
 * test_stacks.c - the collector's stack side (stacks.c with registry.c) in
 * one process, read back through memtop's shmreader: capture and
 * deduplication into the shared stack table, a thread's stack area and its
 * weights, the live table (take, free credit, put back), the filter, the
 * module table, the capture depth, the area's consistency under a
 * concurrent reader, and a thread with no room for its area.
 *
 * stacks.c skips the frames of the object it is linked into, here this test
 * program; calls that come back through libc (qsort's comparator) leave
 * frames the capture must keep.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fsize_limit.h"
#include "registry.h"
#include "shmreader.h"
#include "stacks.h"

static struct mt_slot *slot;
static struct mt_sampler smp;
static struct shm_segment seg;

static int group_setup(void **state)
{
	(void)state;
	/* every tier at rate 1: every decision samples, weight exactly 1 */
	setenv(MT_ENV_SAMPLING, "1:1:1:2048:65536:1000000:64", 1);
	stacks_init();
	registry_on_create = stacks_segment_created;
	if (registry_init() != 0) {
		fprintf(stderr, "registry_init: %s\n", registry_error());
		return -1;
	}
	slot = registry_register();
	if ((uintptr_t)slot <= MT_SLOT_SPECIAL)
		return -1;
	stacks_thread_init(&smp, slot);
	char err[256];
	if (shm_segment_open(&seg, (int)getpid(), err, sizeof(err)) != 0) {
		fprintf(stderr, "open: %s\n", err);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	shm_segment_close(&seg);
	char path[96];
	snprintf(path, sizeof(path), "/dev/shm" MT_SHM_NAME_FMT, (int)getpid());
	return unlink(path);
}

/* Sample block p through qsort's comparator, so the stack has frames in
 * libc and, below them, in the caller of sample_via(). */
static void *pending_block;
static uint64_t pending_size;

static int sampling_cmp(const void *a, const void *b)
{
	if (pending_block) {
		stacks_sample(&smp, slot, mt_tier(&mt_scfg, pending_size), pending_block,
			      pending_size, 0x1234);
		pending_block = NULL;
	}
	return *(const int *)a - *(const int *)b;
}

static __attribute__((noinline)) void sample_via(void *p, uint64_t size)
{
	int v[2] = { 2, 1 };
	pending_block = p;
	pending_size = size;
	qsort(v, 2, sizeof(v[0]), sampling_cmp);
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void sample_from_a(void *p, uint64_t size)
{
	sample_via(p, size);
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void sample_from_b(void *p, uint64_t size)
{
	sample_via(p, size);
	__asm__ volatile("" ::: "memory");
}

static const struct mt_stack_agg *find_entry(struct mt_stack_area *a, uint32_t id)
{
	for (uint32_t k = 0; k < MT_AREA_STACKS; k++)
		if (a->keys[k] == id + 1)
			return &a->agg[k];
	return NULL;
}

/* The stack id whose area entry counts exactly `samples` with this size. */
static uint32_t stack_with(struct mt_stack_area *a, uint64_t size, uint64_t samples)
{
	for (uint32_t k = 0; k < MT_AREA_STACKS; k++)
		if (a->keys[k] && a->agg[k].max_size == size && a->agg[k].samples == samples)
			return a->keys[k] - 1;
	fail_msg("no stack with size %llu and %llu samples", (unsigned long long)size,
		 (unsigned long long)samples);
	return 0;
}

static void read_area(struct mt_stack_area *a)
{
	shm_segment_refresh(&seg);
	assert_true(shm_segment_area_count(&seg) >= 1);
	assert_int_equal(shm_segment_read_area(&seg, slot->area, a), 0);
	assert_int_equal(a->tid, slot->tid);
	assert_int_equal(a->slot, slot->index);
}

static void test_sample_records_stack_and_weights(void **state)
{
	(void)state;
	static char block[100];
	sample_from_a(block, 100);
	assert_int_not_equal(slot->area, MT_NO_AREA);
	struct mt_stack_area *a = malloc(sizeof(*a));
	read_area(a);
	uint32_t id = stack_with(a, 100, 1);
	const struct mt_stack_agg *g = find_entry(a, id);
	assert_non_null(g);
	assert_int_equal(g->allocs_w, MT_WEIGHT_ONE);     /* p = 1: weight 1 */
	assert_int_equal(g->bytes_w, 100);
	assert_int_equal(g->min_size, 100);
	assert_true(g->first_ns > 0 && g->last_ns >= g->first_ns);

	struct mt_stack_rec rec;
	assert_int_equal(shm_segment_read_stack(&seg, id, &rec), 0);
	assert_true(rec.flags & MT_STACK_VALID);
	assert_false(rec.flags & MT_STACK_TRUNCATED);
	/* the leading frames of this program (comparator, collector) are
	 * skipped; qsort's frames (libc) are kept, and so are the callers
	 * below them in this program */
	assert_true(rec.depth >= 3);
	Dl_info info;
	assert_true(dladdr((void *)(uintptr_t)(rec.frames[0] - 1), &info) != 0);
	/* qsort is libc's, or the sanitizer runtime's interceptor */
	assert_true(strstr(info.dli_fname, "libc") || strstr(info.dli_fname, "libasan"));
	bool found_a = false;
	for (uint32_t i = 0; i < rec.depth; i++)
		if (rec.frames[i] - 1 >= (uintptr_t)sample_from_a &&
		    rec.frames[i] - 1 < (uintptr_t)sample_from_a + 64)
			found_a = true;
	assert_true(found_a);
	free(a);
}

static void test_same_stack_same_id_other_stack_new_id(void **state)
{
	(void)state;
	static char b[2][300], b3[300];
	/* one call site, twice: one stack */
	for (volatile int i = 0; i < 2; i++)
		sample_from_b(b[i], 300);
	sample_from_a(b3, 300);
	struct mt_stack_area *a = malloc(sizeof(*a));
	read_area(a);
	uint32_t via_b = stack_with(a, 300, 2);
	uint32_t via_a = UINT32_MAX;
	for (uint32_t k = 0; k < MT_AREA_STACKS; k++)
		if (a->keys[k] && a->agg[k].max_size == 300 && a->agg[k].samples == 1)
			via_a = a->keys[k] - 1;
	assert_int_not_equal(via_a, UINT32_MAX);
	assert_int_not_equal(via_a, via_b);
	free(a);
}

static void test_free_credits_the_allocating_stack(void **state)
{
	(void)state;
	static char block[777];
	sample_from_a(block, 777);
	assert_true(mt_live_maybe(block));
	struct mt_live_block b;
	assert_true(stacks_take(block, &b));
	assert_int_equal(b.bytes_w, 777);
	/* taken once: a second free finds nothing */
	struct mt_live_block again;
	assert_false(stacks_take(block, &again));
	assert_false(mt_live_maybe(block));

	/* a failed realloc puts it back, then the real free credits it */
	stacks_put_back(&b);
	assert_true(mt_live_maybe(block));
	assert_true(stacks_take(block, &again));
	stacks_freed(&again);
	struct mt_stack_area *a = malloc(sizeof(*a));
	read_area(a);
	uint32_t id = stack_with(a, 777, 1);
	assert_int_equal(find_entry(a, id)->freed_w, 777);
	free(a);
}

static void *free_elsewhere(void *arg)
{
	stacks_freed(arg);
	return NULL;
}

static void test_blocks_of_other_threads(void **state)
{
	(void)state;
	/* A block freed by another thread credits the allocating thread's
	 * entry; an address that was never sampled is not found. */
	static char block[4000];
	sample_from_a(block, 4000);
	struct mt_live_block b;
	static char never[64];
	assert_false(stacks_take(never, &b));
	assert_true(stacks_take(block, &b));
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, free_elsewhere, &b), 0);
	pthread_join(t, NULL);
	struct mt_stack_area *a = malloc(sizeof(*a));
	read_area(a);
	assert_int_equal(find_entry(a, stack_with(a, 4000, 1))->freed_w, 4000);
	free(a);
}

static void test_module_table(void **state)
{
	(void)state;
	uint32_t n = shm_segment_module_count(&seg);
	assert_true(n >= 2);   /* this program and libc at least */
	bool self = false, libc = false;
	struct mt_module m;
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(shm_segment_read_module(&seg, i, &m), 0);
		assert_true(m.end > m.start);
		assert_int_equal(m.path[0], '/');
		if (strstr(m.path, "test_stacks"))
			self = (uintptr_t)test_module_table >= m.start &&
			       (uintptr_t)test_module_table < m.end;
		if (strstr(m.path, "libc.so"))
			libc = true;
	}
	assert_true(self);
	assert_true(libc);
}

static void test_sampling_described_in_header(void **state)
{
	(void)state;
	struct mt_sampling s;
	assert_true(shm_segment_read_sampling(&seg, &s));
	assert_true(s.rate[0] == 1.0 && s.rate[1] == 1.0 && s.rate[2] == 1.0);
	assert_int_equal(s.medium_threshold, 2048);
	assert_int_equal(s.large_threshold, 65536);
	assert_int_equal(s.depth, 64);
}

static void test_depth_limit_marks_truncated(void **state)
{
	(void)state;
	uint32_t saved = mt_scfg.depth;
	mt_scfg.depth = 1;
	static char block[55];
	sample_from_a(block, 55);
	mt_scfg.depth = saved;
	struct mt_stack_area *a = malloc(sizeof(*a));
	read_area(a);
	struct mt_stack_rec rec;
	assert_int_equal(shm_segment_read_stack(&seg, stack_with(a, 55, 1), &rec), 0);
	assert_int_equal(rec.depth, 1);
	assert_true(rec.flags & MT_STACK_TRUNCATED);
	free(a);
}

static volatile int stop_reader;

static void *reader(void *arg)
{
	struct mt_stack_area *a = malloc(sizeof(*a));
	uint64_t *bad = arg;
	while (!stop_reader) {
		if (shm_segment_read_area(&seg, slot->area, a) != 0)
			continue;
		/* the owner adds weight 1 and size 64 in the same update */
		for (uint32_t k = 0; k < MT_AREA_STACKS; k++)
			if (a->keys[k] && a->agg[k].max_size == 64 &&
			    a->agg[k].bytes_w != 64 * (a->agg[k].allocs_w / MT_WEIGHT_ONE))
				(*bad)++;
	}
	free(a);
	return NULL;
}

static void test_reader_never_sees_torn_entries(void **state)
{
	(void)state;
	uint64_t bad = 0;
	pthread_t t;
	static char blocks[2000][64];
	stop_reader = 0;
	assert_int_equal(pthread_create(&t, NULL, reader, &bad), 0);
	for (int i = 0; i < 2000; i++) {
		sample_from_b(blocks[i], 64);
		struct mt_live_block b;
		if (stacks_take(blocks[i], &b))
			stacks_freed(&b);
	}
	stop_reader = 1;
	pthread_join(t, NULL);
	assert_int_equal(bad, 0);
}

/* The file cannot grow for a new thread's stack area (a file size limit
 * here, as good as a full /dev/shm for posix_fallocate): its first sample
 * is dropped, it stops sampling in every tier, and the header says how many
 * threads and why, for memtop. */
static void test_no_room_for_an_area(void **state)
{
	(void)state;
	struct mt_slot *other = registry_register();
	assert_true((uintptr_t)other > MT_SLOT_SPECIAL);
	struct mt_sampler s2;
	stacks_thread_init(&s2, other);
	uint32_t mapped = mt_hdr->areas_mapped;
	__atomic_store_n(&mt_hdr->areas_used, mapped, __ATOMIC_RELAXED);  /* next: a new chunk */
	uint32_t threads;
	int err;
	shm_segment_read_stack_room(&seg, &threads, &err);
	assert_int_equal(threads, 0);
	assert_int_equal(err, 0);

	struct fsize_limit lim;
	fsize_limit_at(&lim, seg.name);
	static char block[64];
	struct mt_sampled r = stacks_sample(&s2, other, MT_TIER_SMALL, block, 64, 0x1234);
	fsize_limit_lift(&lim);

	assert_int_equal(r.weight, 0);
	assert_int_equal(other->area, MT_NO_AREA);
	for (int t = 0; t < 3; t++)
		assert_int_equal(s2.countdown[t], MT_COUNTDOWN_OFF);
	assert_int_equal(mt_hdr->areas_mapped, mapped);
	shm_segment_read_stack_room(&seg, &threads, &err);
	assert_int_equal(threads, 1);
	assert_int_equal(err, EFBIG);
	/* no tier hits again, so the thread does not ask again (and is
	 * counted once): the small tier alone used to be turned off */
	for (unsigned t = 0; t < 3; t++)
		assert_false(mt_sampler_hit(&s2, t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_records_stack_and_weights),
		cmocka_unit_test(test_same_stack_same_id_other_stack_new_id),
		cmocka_unit_test(test_free_credits_the_allocating_stack),
		cmocka_unit_test(test_blocks_of_other_threads),
		cmocka_unit_test(test_module_table),
		cmocka_unit_test(test_sampling_described_in_header),
		cmocka_unit_test(test_depth_limit_marks_truncated),
		cmocka_unit_test(test_reader_never_sees_torn_entries),
		cmocka_unit_test(test_no_room_for_an_area),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
