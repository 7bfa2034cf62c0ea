/*
 * test_snapshot.c - the lock-free publication protocol under stress: a
 * writer publishing (latch) and updating live counters (sequence count)
 * while readers check that every copy they accept is internally consistent.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <cmocka.h>

#include "collector.h"
#include "snapshot.h"

#define RUN_SECONDS 1.0

static struct mt_slot *new_slot(void)
{
	struct mt_slot *s = aligned_alloc(64, (sizeof(struct mt_slot) + 63) & ~(size_t)63);
	assert_non_null(s);
	memset(s, 0, sizeof(*s));
	return s;
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every field of snapshot k is a function of k: a torn copy mixes two k. */
static void make_snapshot(struct mt_snapshot *s, uint64_t k)
{
	memset(s, 0, sizeof(*s));
	s->c.allocs = k;
	s->c.frees = k * 2;
	s->c.bytes_allocated = k * 3;
	s->c.usable_freed = k * 5;
	for (unsigned i = 0; i < MT_HIST_BUCKETS; i++)
		s->c.hist[i] = k + i;
	s->tick = k;
	s->publish_ns = k * 7;
	s->tid = (int32_t)(k & 0x7fffffff);
}

static bool snapshot_consistent(const struct mt_snapshot *s)
{
	uint64_t k = s->c.allocs;
	if (s->c.frees != k * 2 || s->c.bytes_allocated != k * 3 || s->c.usable_freed != k * 5)
		return false;
	for (unsigned i = 0; i < MT_HIST_BUCKETS; i++)
		if (s->c.hist[i] != k + i)
			return false;
	return s->tick == k && s->publish_ns == k * 7 && s->tid == (int32_t)(k & 0x7fffffff);
}

struct stress {
	struct mt_slot *slot;
	volatile int stop;
	uint64_t accepted, rejected, torn, live_accepted, live_torn, monotonic_violations;
};

static void *latch_writer(void *arg)
{
	struct stress *st = arg;
	struct mt_snapshot s;
	for (uint64_t k = 1; !__atomic_load_n(&st->stop, __ATOMIC_RELAXED); k++) {
		make_snapshot(&s, k);
		mt_snapshot_publish(st->slot, &s);
	}
	return NULL;
}

static void *latch_reader(void *arg)
{
	struct stress *st = arg;
	struct mt_snapshot s;
	uint64_t last = 0;
	while (!__atomic_load_n(&st->stop, __ATOMIC_RELAXED)) {
		uint64_t epoch;
		if (mt_latch_read(&st->slot->epoch, st->slot->snap, sizeof(s), &s, &epoch)) {
			if (epoch == 0)
				continue;
			__atomic_fetch_add(&st->accepted, 1, __ATOMIC_RELAXED);
			if (!snapshot_consistent(&s))
				__atomic_fetch_add(&st->torn, 1, __ATOMIC_RELAXED);
			if (s.c.allocs < last)
				__atomic_fetch_add(&st->monotonic_violations, 1, __ATOMIC_RELAXED);
			last = s.c.allocs;
		} else {
			__atomic_fetch_add(&st->rejected, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

static void run_for(struct stress *st, void *(*writer)(void *), void *(*reader)(void *), int nreaders)
{
	pthread_t w, r[4];
	assert_true(nreaders <= 4);
	assert_int_equal(pthread_create(&w, NULL, writer, st), 0);
	for (int i = 0; i < nreaders; i++)
		assert_int_equal(pthread_create(&r[i], NULL, reader, st), 0);
	double end = mono() + RUN_SECONDS;
	while (mono() < end) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	__atomic_store_n(&st->stop, 1, __ATOMIC_RELAXED);
	pthread_join(w, NULL);
	for (int i = 0; i < nreaders; i++)
		pthread_join(r[i], NULL);
}

static void test_latch_stress(void **state)
{
	(void)state;
	struct stress st = { .slot = new_slot() };
	run_for(&st, latch_writer, latch_reader, 2);
	assert_int_equal(st.torn, 0);
	assert_int_equal(st.monotonic_violations, 0);
	assert_true(st.accepted > 1000);
	free(st.slot);
}

/* Live counters: each event is an 8-byte alloc with 24 usable bytes. */
static void *live_writer(void *arg)
{
	struct stress *st = arg;
	while (!__atomic_load_n(&st->stop, __ATOMIC_RELAXED))
		collector_on_alloc(st->slot, 8, 24);
	return NULL;
}

static void *live_reader(void *arg)
{
	struct stress *st = arg;
	struct mt_counters c;
	struct mt_nested_counters n;
	while (!__atomic_load_n(&st->stop, __ATOMIC_RELAXED)) {
		if (!mt_live_read(st->slot, &c, &n, 1))
			continue;
		__atomic_fetch_add(&st->live_accepted, 1, __ATOMIC_RELAXED);
		if (c.bytes_allocated != 8 * c.allocs || c.usable_allocated != 24 * c.allocs ||
		    c.hist[mt_hist_bucket(8)] != c.allocs || c.peak_live != (int64_t)(24 * c.allocs))
			__atomic_fetch_add(&st->live_torn, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void test_live_stress(void **state)
{
	(void)state;
	struct stress st = { .slot = new_slot() };
	run_for(&st, live_writer, live_reader, 1);
	assert_int_equal(st.live_torn, 0);
	assert_true(st.live_accepted > 0);
	/* Quiet now: a read must succeed at once and be exact. */
	struct mt_counters c;
	struct mt_nested_counters n;
	assert_true(mt_live_read(st.slot, &c, &n, 1));
	assert_int_equal(c.bytes_allocated, 8 * c.allocs);
	free(st.slot);
}

static void test_never_published(void **state)
{
	(void)state;
	struct mt_slot *slot = new_slot();
	struct mt_snapshot s;
	uint64_t epoch = 99;
	assert_true(mt_snapshot_read(slot, &s, &epoch));
	assert_int_equal(epoch, 0);
	assert_int_equal(s.c.allocs, 0);
	make_snapshot(&s, 5);
	mt_snapshot_publish(slot, &s);
	make_snapshot(&s, 6);
	mt_snapshot_publish(slot, &s);
	struct mt_snapshot r;
	assert_true(mt_snapshot_read(slot, &r, &epoch));
	assert_int_equal(epoch, 2);
	assert_int_equal(r.c.allocs, 6);
	assert_true(snapshot_consistent(&r));
	free(slot);
}

static void test_live_read_refuses_odd_sequence(void **state)
{
	(void)state;
	struct mt_slot *slot = new_slot();
	struct mt_counters c;
	struct mt_nested_counters n;
	slot->seq = 3;  /* a writer in the middle of an update */
	assert_false(mt_live_read(slot, &c, &n, 4));
	slot->seq = 4;
	slot->nseq = 1;
	assert_false(mt_live_read(slot, &c, &n, 4));
	slot->nseq = 2;
	assert_true(mt_live_read(slot, &c, &n, 1));
	free(slot);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_never_published),
		cmocka_unit_test(test_live_read_refuses_odd_sequence),
		cmocka_unit_test(test_latch_stress),
		cmocka_unit_test(test_live_stress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
