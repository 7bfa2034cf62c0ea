/*
 * test_ui_metrics.c - unit tests of the viewer's derived figures: heap and
 * size efficiency, average size, I/O per call, CPU average and peak, thread
 * counts, histogram labels; unavailable inputs give NAN, never a number.
 */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"
#include "ui_fixture.h"

static void test_heap_efficiency(void **state)
{
	struct session s;
	fixture_session(&s, 1);
	fixture_thread(&s, 0, "w", 10, 1000, 3000, 1000, 1.0);   /* live 2000 */
	assert_true(isnan(metrics_heap_efficiency(&s)));          /* no mallinfo yet */
	s.mi_valid = true;
	s.mi.arena = 3000;
	s.mi.hblkhd = 1000;
	assert_true(fabs(metrics_heap_efficiency(&s) - 50.0) < 1e-9);
	s.mi.arena = 0;
	s.mi.hblkhd = 0;
	assert_true(isnan(metrics_heap_efficiency(&s)));
	s.mi.arena = 1000;                                         /* live > held: clamped */
	assert_true(metrics_heap_efficiency(&s) == 100.0);
	s.totals.live_bytes = -50;                                 /* frees of older blocks */
	assert_true(metrics_heap_efficiency(&s) == 0.0);
	s.collector_seen = false;
	assert_true(isnan(metrics_heap_efficiency(&s)));
	session_free(&s);
}

static void test_size_figures(void **state)
{
	struct mt_counters c = { 0 };
	assert_true(isnan(metrics_size_efficiency(&c)));
	assert_true(isnan(metrics_avg_size(&c)));
	c.allocs = 4;
	c.bytes_allocated = 100;
	c.usable_allocated = 160;
	assert_true(fabs(metrics_size_efficiency(&c) - 62.5) < 1e-9);
	assert_true(metrics_avg_size(&c) == 25.0);
}

static void test_io(void **state)
{
	struct session s;
	fixture_session(&s, 1);
	assert_true(isnan(metrics_io_bytes_per_call(&s)));
	s.proc_valid = true;
	s.proc.io_valid = true;
	assert_true(isnan(metrics_io_bytes_per_call(&s)));        /* no calls */
	s.proc.io_syscr = 3;
	s.proc.io_syscw = 1;
	s.proc.io_read_bytes = 4096;
	s.proc.io_write_bytes = 4096;
	assert_true(metrics_io_bytes_per_call(&s) == 2048.0);
	struct thread_stat *t = &s.threads[0];
	assert_int_equal(metrics_thread_io_calls(t), -1);
	t->io_valid = true;
	t->io_syscr = 5;
	t->io_syscw = 2;
	assert_int_equal(metrics_thread_io_calls(t), 7);
	t->c.usable_allocated = 10;
	t->c.usable_freed = 30;
	assert_int_equal(metrics_thread_live(t), -20);
	session_free(&s);
}

static void test_cpu_stats(void **state)
{
	struct history h = { 0 };
	double avg, peak;
	metrics_cpu_stats(&h, &avg, &peak);
	assert_true(isnan(avg) && isnan(peak));
	fixture_history(&h, 16, 4);    /* 10, 50, 10, 50 */
	h.pts[0].cpu_percent = NAN;    /* unknown points do not count */
	metrics_cpu_stats(&h, &avg, &peak);
	assert_true(fabs(avg - 110.0 / 3) < 1e-9);
	assert_true(peak == 50.0);
	free(h.pts);
}

static void test_counts_and_labels(void **state)
{
	struct session s;
	fixture_session(&s, 4);
	s.threads[1].exited = true;
	s.threads[3].tid = -1;         /* a slot never filled */
	size_t seen, exited;
	metrics_thread_counts(&s, &seen, &exited);
	assert_int_equal(seen, 3);
	assert_int_equal(exited, 1);
	session_free(&s);

	char b[32];
	assert_string_equal(metrics_bucket_label(b, sizeof(b), 0), "0");
	assert_string_equal(metrics_bucket_label(b, sizeof(b), 1), "1");
	assert_string_equal(metrics_bucket_label(b, sizeof(b), 2), "2-3");
	assert_string_equal(metrics_bucket_label(b, sizeof(b), 10), "512-1023");
	assert_string_equal(metrics_bucket_label(b, sizeof(b), 11), "1K-2K");
	assert_string_equal(metrics_bucket_label(b, sizeof(b), 20), "512K-1M");
	assert_string_equal(metrics_bucket_label(b, sizeof(b), 21), "1M-2M");
	assert_string_equal(metrics_bucket_label(b, sizeof(b), 30), "512M-1G");
	assert_string_equal(metrics_bucket_label(b, sizeof(b), 31), "1G+");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_efficiency),
		cmocka_unit_test(test_size_figures),
		cmocka_unit_test(test_io),
		cmocka_unit_test(test_cpu_stats),
		cmocka_unit_test(test_counts_and_labels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
