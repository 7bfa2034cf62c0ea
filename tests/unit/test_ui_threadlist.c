/*
 * test_ui_threadlist.c - unit tests of the ranking order: every sort key,
 * ties, unmeasured figures last, name filters, and selection lookup.
 */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "threadlist.h"
#include "ui_fixture.h"

static struct session s;

static int setup(void **state)
{
	fixture_session(&s, 5);
	/*                       name          allocs bytes     usable    freed     cpu */
	fixture_thread(&s, 0, "alloc-heavy", 9000, 90000, 144000, 144000, 5.0);
	fixture_thread(&s, 1, "big-live", 48, 48 << 20, 48 << 20, 0, 0.1);
	fixture_thread(&s, 2, "cpu-spin", 300, 3000, 4800, 4000, 95.0);
	fixture_thread(&s, 3, "Worker-A", 300, 300, 7200, 7200, NAN);
	s.threads[4].tid = -1;        /* an empty slot is never listed */
	return 0;
}

static int teardown(void **state)
{
	session_free(&s);
	return 0;
}

static const char *nth(const threadlist *l, size_t i)
{
	return s.threads[l->slot[i]].name;
}

static void test_sort_keys(void **state)
{
	threadlist *l = threadlist_new();
	assert_int_equal(threadlist_build(l, &s, SORT_ALLOCS, NULL), 0);
	assert_int_equal(l->n, 4);
	assert_int_equal(l->total, 4);
	assert_string_equal(nth(l, 0), "alloc-heavy");
	/* equal allocs: lower tid first */
	assert_string_equal(nth(l, 1), "cpu-spin");
	assert_string_equal(nth(l, 2), "Worker-A");
	assert_string_equal(nth(l, 3), "big-live");

	threadlist_build(l, &s, SORT_BYTES, NULL);
	assert_string_equal(nth(l, 0), "big-live");
	threadlist_build(l, &s, SORT_LIVE, NULL);
	assert_string_equal(nth(l, 0), "big-live");
	assert_string_equal(nth(l, 1), "cpu-spin");
	threadlist_build(l, &s, SORT_CPU, NULL);
	assert_string_equal(nth(l, 0), "cpu-spin");
	assert_string_equal(nth(l, 3), "Worker-A");    /* unmeasured CPU last */
	/* least efficient first: 300 of 7200 usable bytes asked for */
	threadlist_build(l, &s, SORT_EFFICIENCY, NULL);
	assert_string_equal(nth(l, 0), "Worker-A");
	assert_string_equal(nth(l, 3), "big-live");
	threadlist_free(l);
}

static void test_exited_cpu_is_stale(void **state)
{
	threadlist *l = threadlist_new();
	s.threads[2].exited = true;
	threadlist_build(l, &s, SORT_CPU, NULL);
	assert_string_equal(nth(l, 0), "alloc-heavy");
	s.final = true;                 /* whole-session figures count again */
	threadlist_build(l, &s, SORT_CPU, NULL);
	assert_string_equal(nth(l, 0), "cpu-spin");
	s.final = false;
	s.threads[2].exited = false;
	threadlist_free(l);
}

static void test_filter_and_find(void **state)
{
	threadlist *l = threadlist_new();
	threadlist_build(l, &s, SORT_ALLOCS, "WORKER");
	assert_int_equal(l->n, 1);
	assert_int_equal(l->total, 4);
	assert_string_equal(nth(l, 0), "Worker-A");
	assert_int_equal(threadlist_find(l, 3), 0);
	assert_int_equal(threadlist_find(l, 0), -1);
	threadlist_build(l, &s, SORT_ALLOCS, "i");
	assert_int_equal(l->n, 2);      /* big-live and cpu-spin */
	threadlist_build(l, &s, SORT_ALLOCS, "zzz");
	assert_int_equal(l->n, 0);
	threadlist_build(l, &s, SORT_ALLOCS, "");
	assert_int_equal(l->n, 4);
	assert_true(threadlist_match("alloc-heavy", "HEAV"));
	assert_true(threadlist_match("x", NULL));
	assert_false(threadlist_match("abc", "abcd"));
	assert_string_equal(sort_key_name(SORT_EFFICIENCY), "efficiency");
	threadlist_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort_keys),
		cmocka_unit_test(test_exited_cpu_is_stale),
		cmocka_unit_test(test_filter_and_find),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
