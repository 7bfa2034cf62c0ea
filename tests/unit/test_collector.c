/*
 * test_collector.c - the counting rules of interface.md applied by the
 * per-thread collector, the size histogram, peaks, nested (signal-handler)
 * events, the overflow pool and snapshot filling.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "collector.h"

static int setup(void **state)
{
	struct mt_slot *s = aligned_alloc(64, (sizeof(struct mt_slot) + 63) & ~(size_t)63);
	if (!s)
		return -1;
	memset(s, 0, sizeof(*s));
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static void ev_alloc(struct mt_slot *s, uint64_t req, uint64_t usable)
{
	struct mt_event e = { .allocs = 1, .bytes = req, .usable_in = usable };
	assert_true(collector_apply(s, &e));
}

static void ev_free(struct mt_slot *s, uint64_t usable)
{
	struct mt_event e = { .frees = 1, .usable_out = usable };
	assert_true(collector_apply(s, &e));
}

static void ev_realloc(struct mt_slot *s, uint64_t req, uint64_t usable_new, uint64_t usable_old)
{
	struct mt_event e = { .allocs = 1, .frees = 1, .reallocs = 1, .bytes = req,
			      .usable_in = usable_new, .usable_out = usable_old };
	assert_true(collector_apply(s, &e));
}

static void test_alloc_free(void **state)
{
	struct mt_slot *s = *state;
	ev_alloc(s, 10, 24);
	ev_alloc(s, 100, 104);
	ev_free(s, 24);
	assert_int_equal(s->live.allocs, 2);
	assert_int_equal(s->live.frees, 1);
	assert_int_equal(s->live.bytes_allocated, 110);
	assert_int_equal(s->live.usable_allocated, 128);
	assert_int_equal(s->live.usable_freed, 24);
	assert_int_equal(s->live.peak_live, 128);
	assert_int_equal(s->live.reallocs, 0);
	assert_int_equal(s->seq % 2, 0);
	assert_int_equal(s->seq, 6);
}

static void test_realloc_counts_alloc_and_free(void **state)
{
	struct mt_slot *s = *state;
	ev_alloc(s, 10, 24);
	ev_realloc(s, 1000, 1016, 24);
	assert_int_equal(s->live.allocs, 2);
	assert_int_equal(s->live.frees, 1);
	assert_int_equal(s->live.reallocs, 1);
	assert_int_equal(s->live.bytes_allocated, 1010);
	assert_int_equal(s->live.usable_allocated - s->live.usable_freed, 1016);
	assert_int_equal(s->live.peak_live, 1016);
}

static void test_failed(void **state)
{
	struct mt_slot *s = *state;
	struct mt_event e = { .failed = 1 };
	assert_true(collector_apply(s, &e));
	assert_int_equal(s->live.failed, 1);
	assert_int_equal(s->live.allocs, 0);
	assert_int_equal(s->live.hist[0], 0);
}

static void test_peak_is_a_high_water_mark(void **state)
{
	struct mt_slot *s = *state;
	ev_alloc(s, 1000, 1000);
	ev_alloc(s, 1000, 1000);
	ev_free(s, 1000);
	ev_free(s, 1000);
	ev_alloc(s, 500, 500);
	assert_int_equal(s->live.peak_live, 2000);
	/* a consumer thread frees what others allocated: live goes negative */
	ev_free(s, 4000);
	assert_true((int64_t)(s->live.usable_allocated - s->live.usable_freed) < 0);
	assert_int_equal(s->live.peak_live, 2000);
}

static void test_histogram_buckets(void **state)
{
	struct mt_slot *s = *state;
	assert_int_equal(mt_hist_bucket(0), 0);
	assert_int_equal(mt_hist_bucket(1), 1);
	assert_int_equal(mt_hist_bucket(2), 2);
	assert_int_equal(mt_hist_bucket(3), 2);
	assert_int_equal(mt_hist_bucket(1023), 10);
	assert_int_equal(mt_hist_bucket(1024), 11);
	assert_int_equal(mt_hist_bucket(1ull << 30), 31);
	assert_int_equal(mt_hist_bucket(UINT64_MAX), 31);
	assert_int_equal(mt_hist_bucket((1ull << 29) - 1), 29);
	assert_int_equal(mt_hist_bucket(1ull << 29), 30);
	assert_int_equal(mt_hist_bucket(1ull << 40), 31);
	assert_int_equal(mt_hist_bucket(1ull << 63), 31);
	assert_int_equal(mt_hist_bucket((1ull << 63) + 1), 31);
	ev_alloc(s, 0, 24);
	ev_alloc(s, 1024, 1032);
	ev_alloc(s, 2047, 2056);
	assert_int_equal(s->live.hist[0], 1);
	assert_int_equal(s->live.hist[11], 2);
}

/* An event arriving while seq is odd is a signal handler that interrupted
 * the owner's update: it must not touch the main counters. */
static void test_nested_event_goes_aside(void **state)
{
	struct mt_slot *s = *state;
	ev_alloc(s, 8, 24);
	s->seq++;  /* owner is "inside" an update */
	struct mt_event e = { .allocs = 1, .bytes = 16, .usable_in = 24 };
	assert_false(collector_apply(s, &e));
	assert_int_equal(s->live.allocs, 1);
	assert_int_equal(s->nested.allocs, 1);
	assert_int_equal(s->nested.bytes_allocated, 16);
	assert_int_equal(s->nseq % 2, 0);
	/* and a handler interrupted inside the nested update is only counted as lost */
	s->nseq++;
	assert_false(collector_apply(s, &e));
	assert_int_equal(s->nested.allocs, 1);
	assert_int_equal(s->nested.lost, 1);
}

static void test_overflow_pool(void **state)
{
	(void)state;
	struct mt_overflow o;
	memset(&o, 0, sizeof(o));
	struct mt_event e = { .allocs = 1, .frees = 1, .reallocs = 1, .bytes = 7,
			      .usable_in = 24, .usable_out = 16 };
	collector_overflow(&o, &e);
	collector_overflow(&o, &e);
	assert_int_equal(o.allocs, 2);
	assert_int_equal(o.frees, 2);
	assert_int_equal(o.reallocs, 2);
	assert_int_equal(o.bytes_allocated, 14);
	assert_int_equal(o.usable_allocated, 48);
	assert_int_equal(o.usable_freed, 32);
}

static void test_fill_snapshot(void **state)
{
	struct mt_slot *s = *state;
	s->tid = 4242;
	s->start_ns = 11;
	s->state = MT_SLOT_ACTIVE;
	memcpy(s->name, "worker-1", 9);
	ev_alloc(s, 64, 72);
	struct mt_snapshot snap;
	collector_fill_snapshot(s, &snap, 3, 99);
	assert_int_equal(snap.c.allocs, 1);
	assert_int_equal(snap.c.bytes_allocated, 64);
	assert_int_equal(snap.tick, 3);
	assert_int_equal(snap.publish_ns, 99);
	assert_int_equal(snap.tid, 4242);
	assert_int_equal(snap.start_ns, 11);
	assert_int_equal(snap.state, MT_SLOT_ACTIVE);
	assert_string_equal(snap.name, "worker-1");
}

/* The owner counts by bit length, up to bucket 64; every copy a reader
 * gets has the buckets from 31 up folded into the last. */
static void test_histogram_folds_on_copy(void **state)
{
	struct mt_slot *s = *state;
	uint64_t sq = s->seq;
	collector_alloc_at(s, sq, 1ull << 30, (1ull << 30) + 8);
	collector_alloc_at(s, sq, (1ull << 31) + 5, (1ull << 31) + 8);
	collector_alloc_at(s, sq, 1ull << 40, (1ull << 40) + 8);
	collector_alloc_at(s, sq, (1ull << 62) + 1, (1ull << 62) + 8);
	collector_alloc_at(s, sq, 1000, 1000);
	ev_alloc(s, UINT64_MAX, 8);
	assert_int_equal(mt_hist_raw_bucket(0), 0);
	assert_int_equal(mt_hist_raw_bucket(1), 1);
	assert_int_equal(mt_hist_raw_bucket((1ull << 63) - 1), 63);
	assert_int_equal(s->live.hist[31], 1);
	assert_int_equal(s->live.hist[32], 1);
	assert_int_equal(s->live.hist[41], 1);
	assert_int_equal(s->live.hist[63], 2);
	assert_int_equal(s->live.hist[10], 1);

	struct mt_snapshot snap;
	collector_fill_snapshot(s, &snap, 1, 1);
	assert_int_equal(snap.c.allocs, 6);
	assert_int_equal(snap.c.hist[MT_HIST_BUCKETS - 1], 5);
	assert_int_equal(snap.c.hist[10], 1);
	uint64_t sum = 0;
	for (unsigned b = 0; b < MT_HIST_BUCKETS; b++)
		sum += snap.c.hist[b];
	assert_int_equal(sum, 6);

	struct mt_counters c;
	struct mt_nested_counters n;
	assert_true(mt_live_read(s, &c, &n, 1));
	assert_memory_equal(&c, &snap.c, sizeof(c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_alloc_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_realloc_counts_alloc_and_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peak_is_a_high_water_mark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_histogram_buckets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_histogram_folds_on_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_event_goes_aside, setup, teardown),
		cmocka_unit_test(test_overflow_pool),
		cmocka_unit_test_setup_teardown(test_fill_snapshot, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
