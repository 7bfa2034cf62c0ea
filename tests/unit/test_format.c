/*
 * test_format.c - unit tests of format.c: exact strings for bytes, counts,
 * rates and durations at unit boundaries, and terminal-safe text from
 * hostile input.
 */
#include "config.h"

#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "format.h"

#define BYTES(v, want) do { \
	char b_[FORMAT_LEN]; \
	assert_string_equal(format_bytes(b_, sizeof b_, (v)), (want)); \
} while (0)

#define COUNT(v, want) do { \
	char b_[FORMAT_LEN]; \
	assert_string_equal(format_count(b_, sizeof b_, (v)), (want)); \
} while (0)

#define RATE(v, want) do { \
	char b_[FORMAT_LEN]; \
	assert_string_equal(format_rate(b_, sizeof b_, (v)), (want)); \
} while (0)

#define DURATION(v, want) do { \
	char b_[FORMAT_LEN]; \
	assert_string_equal(format_duration(b_, sizeof b_, (v)), (want)); \
} while (0)

/* Sanitizes a string literal, embedded NULs included. */
#define SANITIZE(src, want) do { \
	char b_[64]; \
	assert_string_equal(format_sanitize(b_, sizeof b_, (src), sizeof(src) - 1), (want)); \
} while (0)

static void test_bytes_small(void **state)
{
	BYTES(0, "0 B");
	BYTES(1, "1 B");
	BYTES(999, "999 B");
	BYTES(1000, "1000 B");
	BYTES(1023, "1023 B");
}

static void test_bytes_units(void **state)
{
	BYTES(1024, "1.00 KiB");
	BYTES(1535, "1.50 KiB");
	BYTES(10 * 1024 - 1, "10.0 KiB");
	BYTES(12 * 1024 * 1024 + 300 * 1024, "12.3 MiB");
	BYTES(100 * 1024, "100 KiB");
	BYTES(999 * 1024, "999 KiB");
	BYTES(4LL << 30, "4.00 GiB");
	BYTES(3LL << 40, "3.00 TiB");
	BYTES(5LL << 50, "5.00 PiB");
	BYTES(1LL << 60, "1.00 EiB");
	BYTES(INT64_MAX, "8.00 EiB");
}

static void test_bytes_round_up_to_next_unit(void **state)
{
	/* 999.5 KiB and up would need a fourth digit: the next unit shows it. */
	BYTES(1000 * 1024, "0.98 MiB");
	BYTES(1023 * 1024, "1.00 MiB");
	BYTES(1024 * 1024 - 1, "1.00 MiB");
	BYTES(1024 * 1024, "1.00 MiB");
	BYTES((1LL << 30) - 1, "1.00 GiB");
	/* Just below the rounding point stays in the unit. */
	BYTES(999 * 1024 + 400, "999 KiB");
}

static void test_bytes_negative(void **state)
{
	BYTES(-1, "-1 B");
	BYTES(-1023, "-1023 B");
	BYTES(-1024, "-1.00 KiB");
	BYTES(-(5LL << 20), "-5.00 MiB");
	BYTES(INT64_MIN, "-8.00 EiB");
}

static void test_bytes_truncates(void **state)
{
	char b[4];
	char untouched[2] = "x";

	assert_string_equal(format_bytes(b, sizeof b, 1023), "102");
	assert_string_equal(format_bytes(b, sizeof b, 1 << 20), "1.0");
	assert_ptr_equal(format_bytes(untouched, 0, 5), untouched);
	assert_string_equal(untouched, "x");
}

static void test_count(void **state)
{
	COUNT(0, "0");
	COUNT(1, "1");
	COUNT(999, "999");
	COUNT(1000, "1.0k");
	COUNT(1234, "1.2k");
	COUNT(12345, "12.3k");
	COUNT(123456, "123k");
	COUNT(999400, "999k");
	COUNT(999999, "1.0M");
	COUNT(12345678, "12.3M");
	COUNT(4.5e9, "4.5G");
	COUNT(7e12, "7.0T");
	COUNT(2e15, "2.0P");
	COUNT(3e18, "3.0E");
	COUNT(18446744073709551615.0, "18.4E");
	COUNT(1e30, "1e+30");
}

static void test_count_fractions(void **state)
{
	COUNT(2.5, "2.5");
	COUNT(0.5, "0.5");
	COUNT(12.34, "12.3");
	COUNT(99.96, "100");
	COUNT(999.7, "1.0k");
	COUNT(0.04, "<0.1");
	COUNT(-0.04, ">-0.1");
}

static void test_count_negative_and_nonfinite(void **state)
{
	COUNT(-1, "-1");
	COUNT(-1234, "-1.2k");
	COUNT(-0.0, "0");
	COUNT(NAN, "n/a");
	COUNT(INFINITY, "n/a");
	COUNT(-INFINITY, "n/a");
}

static void test_rate(void **state)
{
	RATE(0, "0/s");
	RATE(0.5, "0.5/s");
	RATE(999, "999/s");
	RATE(1234, "1.2k/s");
	RATE(2.5e6, "2.5M/s");
	RATE(NAN, "n/a");
	RATE(INFINITY, "n/a");
	RATE(-INFINITY, "n/a");
}

static void test_duration(void **state)
{
	DURATION(0, "0.00s");
	DURATION(0.5, "0.50s");
	DURATION(0.004, "0.00s");
	DURATION(9.99, "9.99s");
	DURATION(9.999, "10.0s");
	DURATION(12.34, "12.3s");
	DURATION(59.94, "59.9s");
	DURATION(59.96, "1m00s");
	DURATION(60, "1m00s");
	DURATION(303, "5m03s");
	DURATION(3599.4, "59m59s");
	DURATION(3599.6, "1h00m");
	DURATION(3600, "1h00m");
	DURATION(7500, "2h05m");
	DURATION(90061, "25h01m");
	DURATION(-1.5, "-1.50s");
	DURATION(NAN, "n/a");
	DURATION(INFINITY, "n/a");
	DURATION(1e18, "277777777777777h46m");
}

/* With a decimal-comma locale active (as the viewer may set it) the output
 * must not change. */
static void test_locale_independent(void **state)
{
	static const char *const names[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "ru_RU.UTF-8" };
	const char *found = NULL;

	for (size_t i = 0; i < sizeof names / sizeof names[0] && !found; i++)
		found = setlocale(LC_ALL, names[i]);
	if (!found)
		skip();
	BYTES(1536, "1.50 KiB");
	COUNT(1234, "1.2k");
	DURATION(0.5, "0.50s");
	setlocale(LC_ALL, "C");
}

static void test_sanitize_keeps_text(void **state)
{
	SANITIZE("worker-1", "worker-1");
	SANITIZE("", "");
	SANITIZE("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	SANITIZE("<b>&amp;\"'", "<b>&amp;\"'");
}

static void test_sanitize_controls(void **state)
{
	SANITIZE("<b>x</b>\"\x1b[31m", "<b>x</b>\"?[31m");
	SANITIZE("a\tb\nc\rd\x7f" "e", "a?b?c?d?e");
	SANITIZE("\x01\x1f", "??");
	/* C1 controls, raw and UTF-8 encoded (U+009B is CSI). */
	SANITIZE("\x9b" "2J", "?2J");
	SANITIZE("\xc2\x9b" "2J", "?2J");
	SANITIZE("\xc2\x85", "?");
	/* U+00A0 is the first character after C1: kept. */
	SANITIZE("\xc2\xa0", "\xc2\xa0");
	/* Bidi overrides and line separators. */
	SANITIZE("a\xe2\x80\xae" "b", "a?b");
	SANITIZE("\xe2\x81\xa6\xe2\x80\x8f\xd8\x9c", "???");
	SANITIZE("\xe2\x80\xa8\xe2\x80\xa9", "??");
}

static void test_sanitize_invalid_utf8(void **state)
{
	SANITIZE("a\xff" "b", "a?b");
	SANITIZE("\x80", "?");
	SANITIZE("\xe2\x82", "?");
	SANITIZE("\xe2\x82x", "?x");
	SANITIZE("\xf0\x9f\x98", "?");
	/* Overlong, surrogate, above U+10FFFF, bytes that never start one. */
	SANITIZE("\xc0\xaf", "??");
	SANITIZE("\xe0\x80\xaf", "???");
	SANITIZE("\xed\xa0\x80", "???");
	SANITIZE("\xf4\x90\x80\x80", "????");
	SANITIZE("\xf5\xf8\xfe", "???");
}

static void test_sanitize_stops_at_nul(void **state)
{
	SANITIZE("ab\0cd", "ab");
	SANITIZE("\xe2\0\x82", "?");
}

static void test_sanitize_truncates_at_characters(void **state)
{
	char b[8];
	const char *euros = "\xe2\x82\xac\xe2\x82\xac";

	assert_string_equal(format_sanitize(b, 4, euros, 6), "\xe2\x82\xac");
	assert_string_equal(format_sanitize(b, 6, euros, 6), "\xe2\x82\xac");
	assert_string_equal(format_sanitize(b, 7, euros, 6), euros);
	assert_string_equal(format_sanitize(b, 3, euros, 6), "");
	assert_string_equal(format_sanitize(b, 1, "abc", 3), "");
	assert_string_equal(format_sanitize(b, 3, "\x1b\x1b\x1b", 3), "??");
	/* srclen bounds the read even without a NUL. */
	assert_string_equal(format_sanitize(b, sizeof b, "abcdef", 3), "abc");
}

static void test_utf8_decode(void **state)
{
	uint32_t cp;

	assert_int_equal(format_utf8_decode((const unsigned char *)"A", 1, &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(format_utf8_decode((const unsigned char *)"\xc3\xa9", 2, &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(format_utf8_decode((const unsigned char *)"\xe2\x82\xac", 3, &cp), 3);
	assert_int_equal(cp, 0x20ac);
	assert_int_equal(format_utf8_decode((const unsigned char *)"\xf4\x8f\xbf\xbf", 4, &cp), 4);
	assert_int_equal(cp, 0x10ffff);
	/* A truncated sequence is one maximal subpart. */
	assert_int_equal(format_utf8_decode((const unsigned char *)"\xf0\x9f\x98", 3, &cp), 3);
	assert_int_equal(cp, FORMAT_UTF8_INVALID);
	/* n limits the read. */
	assert_int_equal(format_utf8_decode((const unsigned char *)"\xe2\x82\xac", 2, &cp), 2);
	assert_int_equal(cp, FORMAT_UTF8_INVALID);
}

static void test_fit_columns(void **state)
{
	(void)state;
	char buf[64];
	assert_string_equal(format_fit(buf, sizeof(buf), "abc", 5), "abc  ");
	assert_string_equal(format_fit(buf, sizeof(buf), "abcdefgh", 5), "abcde");
	/* two bytes, one column each: padded by columns, not bytes */
	assert_string_equal(format_fit(buf, sizeof(buf), "\xc3\xa9t\xc3\xa9", 5), "\xc3\xa9t\xc3\xa9  ");
	/* a wide character that would overflow the width is left out */
	assert_string_equal(format_fit(buf, sizeof(buf), "ab\xe4\xb8\xad", 3), "ab ");
	assert_string_equal(format_fit(buf, sizeof(buf), "\xe4\xb8\xad", 3), "\xe4\xb8\xad ");
	/* control characters are made safe first */
	assert_string_equal(format_fit(buf, sizeof(buf), "a\033b", 4), "a?b ");
	assert_int_equal(format_cp_width(0x301), 0);
	assert_int_equal(format_cp_width('x'), 1);
	assert_int_equal(format_cp_width(0x4e2d), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes_small),
		cmocka_unit_test(test_bytes_units),
		cmocka_unit_test(test_bytes_round_up_to_next_unit),
		cmocka_unit_test(test_bytes_negative),
		cmocka_unit_test(test_bytes_truncates),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_count_fractions),
		cmocka_unit_test(test_count_negative_and_nonfinite),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_locale_independent),
		cmocka_unit_test(test_sanitize_keeps_text),
		cmocka_unit_test(test_sanitize_controls),
		cmocka_unit_test(test_sanitize_invalid_utf8),
		cmocka_unit_test(test_sanitize_stops_at_nul),
		cmocka_unit_test(test_sanitize_truncates_at_characters),
		cmocka_unit_test(test_utf8_decode),
		cmocka_unit_test(test_fit_columns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
