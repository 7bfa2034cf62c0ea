/*
 * test_ui_sparkline.c - unit tests of timeline scaling and drawing: levels
 * at their boundaries, missing points, Unicode and ASCII glyphs, taller
 * charts, the newest points of a wrapped ring, and the time axis labels.
 */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sparkline.h"
#include "ui_fixture.h"

static void test_levels(void **state)
{
	assert_int_equal(spark_level(NAN, 10), -1);
	assert_int_equal(spark_level(INFINITY, 10), -1);
	assert_int_equal(spark_level(0, 10), 0);
	assert_int_equal(spark_level(-5, 10), 0);
	assert_int_equal(spark_level(5, 0), 0);
	assert_int_equal(spark_level(10, 10), SPARK_LEVELS - 1);
	assert_int_equal(spark_level(1.25, 10), 0);      /* first eighth */
	assert_int_equal(spark_level(1.26, 10), 1);
	assert_int_equal(spark_level(5, 10), 3);         /* half: 4th block */
	assert_int_equal(spark_level(20, 10), SPARK_LEVELS - 1);
	double v[] = { 1, NAN, 7, -3, 2 };
	assert_true(spark_max(v, 5) == 7);
	assert_true(spark_max(v, 0) == 0);
}

static void test_render(void **state)
{
	char buf[256];
	double v[] = { 0, 10, NAN, 5, 10 };
	assert_string_equal(spark_render(buf, sizeof(buf), v, 5, 10, true),
			    "\u2581\u2588 \u2584\u2588");
	assert_string_equal(spark_render(buf, sizeof(buf), v, 5, 10, false), "_# -#");
	/* a buffer too small keeps whole glyphs only */
	char small[7];
	assert_string_equal(spark_render(small, sizeof(small), v, 5, 10, true), "\u2581\u2588");
}

/* A thread's net live bytes fall below 0 when it frees what others
 * allocated: drawn from the lowest point instead of a flat blank line. */
static void test_negative_lifted(void **state)
{
	char buf[256];
	double v[] = { 0, -10, NAN, -5, 0 };
	assert_true(spark_lift(v, 5) == -10);
	assert_true(v[0] == 10 && v[1] == 0 && isnan(v[2]) && v[3] == 5 && v[4] == 10);
	assert_string_equal(spark_render(buf, sizeof(buf), v, 5, spark_max(v, 5), false), "#_ -#");
	double w[] = { 1, 2 };
	assert_true(spark_lift(w, 2) == 0);
	assert_true(w[0] == 1 && w[1] == 2);
}

static void test_render_rows(void **state)
{
	char buf[256];
	double v[] = { 10, 5, 2.5, 0, NAN };
	/* two rows: 16 eighths of height */
	assert_string_equal(spark_render_row(buf, sizeof(buf), v, 5, 10, 2, 0, true),
			    "\u2588    ");
	assert_string_equal(spark_render_row(buf, sizeof(buf), v, 5, 10, 2, 1, true),
			    "\u2588\u2588\u2584  ");
	/* ASCII: two steps per row */
	assert_string_equal(spark_render_row(buf, sizeof(buf), v, 5, 10, 2, 0, false), "|    ");
	assert_string_equal(spark_render_row(buf, sizeof(buf), v, 5, 10, 2, 1, false), "||.  ");
}

static void test_series_of_wrapped_ring(void **state)
{
	struct history h = { 0 };
	fixture_history(&h, 8, 20);   /* points 12..19 remain, head wrapped */
	double v[16], t[16];
	size_t n = spark_series(&h, SPARK_LIVE, 16, v, t);
	assert_int_equal(n, 8);
	assert_true(t[0] == 12 && t[7] == 19);
	assert_true(v[0] == 1024.0 * 13 && v[7] == 1024.0 * 20);
	n = spark_series(&h, SPARK_CPU, 3, v, NULL);
	assert_int_equal(n, 3);
	assert_true(v[0] == 50 && v[1] == 10 && v[2] == 50);   /* points 17, 18, 19 */
	assert_int_equal(spark_series(NULL, SPARK_RSS, 3, v, t), 0);
	free(h.pts);
}

static void test_axis(void **state)
{
	char buf[128];
	double t[40];
	for (int i = 0; i < 40; i++)
		t[i] = 100 + i;
	spark_axis(buf, sizeof(buf), t, 40, "now");
	assert_int_equal(strlen(buf), 40);
	assert_memory_equal(buf, "-39.0s", 6);
	assert_string_equal(buf + 37, "now");
	assert_non_null(strstr(buf, "-19.0s"));   /* under column 20 */
	spark_axis(buf, sizeof(buf), t, 40, "end");
	assert_string_equal(buf + 37, "end");
	/* too narrow for the labels: only the end is named */
	spark_axis(buf, sizeof(buf), t, 8, NULL);
	assert_string_equal(buf, "     now");
	spark_axis(buf, sizeof(buf), t, 1, NULL);
	assert_string_equal(buf, " ");
	spark_axis(buf, sizeof(buf), t, 0, NULL);
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_negative_lifted),
		cmocka_unit_test(test_render_rows),
		cmocka_unit_test(test_series_of_wrapped_ring),
		cmocka_unit_test(test_axis),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
