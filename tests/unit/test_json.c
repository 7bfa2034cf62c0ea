/*
 * test_json.c - unit tests of json.c: the exact bytes written for nesting,
 * commas, every escape, hostile and invalid strings, and numbers.
 */
#include "config.h"

#include <float.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"

/* A writer into a memory buffer; output() flushes and returns the text. */
struct capture {
	char *buf;
	size_t len;
	FILE *f;
	struct json j;
};

static int setup(void **state)
{
	struct capture *c = calloc(1, sizeof *c);

	if (!c)
		return -1;
	c->f = open_memstream(&c->buf, &c->len);
	if (!c->f) {
		free(c);
		return -1;
	}
	json_init(&c->j, c->f);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct capture *c = *state;

	fclose(c->f);
	free(c->buf);
	free(c);
	return 0;
}

static const char *output(struct capture *c)
{
	fflush(c->f);
	return c->buf;
}

/* The JSON string written for the bytes of a string literal (NULs too). */
#define ESCAPED(c, lit, want) do { \
	rewind((c)->f); \
	json_string_n(&(c)->j, (lit), sizeof(lit) - 1); \
	fputc('\0', (c)->f); \
	assert_string_equal(output(c), (want)); \
} while (0)

#define DOUBLE(c, v, want) do { \
	rewind((c)->f); \
	json_double(&(c)->j, (v)); \
	fputc('\0', (c)->f); \
	assert_string_equal(output(c), (want)); \
} while (0)

static void test_empty_containers(void **state)
{
	struct capture *c = *state;

	json_begin_object(&c->j);
	json_end_object(&c->j);
	json_begin_array(&c->j);
	json_end_array(&c->j);
	assert_string_equal(output(c), "{}[]");
}

static void test_nesting_and_commas(void **state)
{
	struct capture *c = *state;

	json_begin_object(&c->j);
	json_key(&c->j, "a");
	json_int(&c->j, 1);
	json_key(&c->j, "b");
	json_begin_array(&c->j);
	json_int(&c->j, 1);
	json_uint(&c->j, 2);
	json_begin_object(&c->j);
	json_key(&c->j, "c");
	json_null(&c->j);
	json_end_object(&c->j);
	json_begin_array(&c->j);
	json_end_array(&c->j);
	json_string(&c->j, "s");
	json_end_array(&c->j);
	json_key(&c->j, "d");
	json_begin_object(&c->j);
	json_end_object(&c->j);
	json_key(&c->j, "e");
	json_bool(&c->j, true);
	json_key(&c->j, "f");
	json_bool(&c->j, false);
	json_end_object(&c->j);
	assert_string_equal(output(c),
		"{\"a\":1,\"b\":[1,2,{\"c\":null},[],\"s\"],\"d\":{},\"e\":true,\"f\":false}");
	assert_int_equal(c->j.depth, 0);
}

static void test_array_of_objects(void **state)
{
	struct capture *c = *state;

	json_begin_array(&c->j);
	for (int i = 0; i < 3; i++) {
		json_begin_object(&c->j);
		json_key(&c->j, "tid");
		json_int(&c->j, 100 + i);
		json_key(&c->j, "x");
		json_begin_array(&c->j);
		json_int(&c->j, i);
		json_end_array(&c->j);
		json_end_object(&c->j);
	}
	json_end_array(&c->j);
	assert_string_equal(output(c),
		"[{\"tid\":100,\"x\":[0]},{\"tid\":101,\"x\":[1]},{\"tid\":102,\"x\":[2]}]");
}

static void test_json_lines_records(void **state)
{
	struct capture *c = *state;

	for (int i = 0; i < 2; i++) {
		json_begin_object(&c->j);
		json_key(&c->j, "type");
		json_string(&c->j, i ? "summary" : "sample");
		json_key(&c->j, "n");
		json_int(&c->j, i);
		json_end_object(&c->j);
		json_newline(&c->j);
	}
	assert_string_equal(output(c),
		"{\"type\":\"sample\",\"n\":0}\n{\"type\":\"summary\",\"n\":1}\n");
}

static void test_deep_nesting(void **state)
{
	struct capture *c = *state;
	char want[2 * JSON_MAX_DEPTH * 4 + 1];
	size_t n = 0;

	for (int i = 0; i < JSON_MAX_DEPTH; i++) {
		json_begin_array(&c->j);
		json_int(&c->j, i);
		n += (size_t)sprintf(want + n, i ? ",[%d" : "[%d", i);
	}
	for (int i = 0; i < JSON_MAX_DEPTH; i++) {
		json_end_array(&c->j);
		want[n++] = ']';
	}
	want[n] = '\0';
	assert_string_equal(output(c), want);
}

static void test_null_string_and_key(void **state)
{
	struct capture *c = *state;

	json_begin_object(&c->j);
	json_key(&c->j, NULL);
	json_string(&c->j, NULL);
	json_key(&c->j, "n");
	json_string_n(&c->j, NULL, 5);
	json_key(&c->j, "e");
	json_string(&c->j, "");
	json_end_object(&c->j);
	assert_string_equal(output(c), "{\"\":null,\"n\":null,\"e\":\"\"}");
}

static void test_key_escaped(void **state)
{
	struct capture *c = *state;

	json_begin_object(&c->j);
	json_key(&c->j, "a\"<b>");
	json_int(&c->j, 0);
	json_end_object(&c->j);
	assert_string_equal(output(c), "{\"a\\\"\\u003cb\\u003e\":0}");
}

static void test_escapes(void **state)
{
	struct capture *c = *state;

	ESCAPED(c, "plain text / slash", "\"plain text / slash\"");
	ESCAPED(c, "\"", "\"\\\"\"");
	ESCAPED(c, "\\", "\"\\\\\"");
	ESCAPED(c, "\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"");
	ESCAPED(c, "\0", "\"\\u0000\"");
	ESCAPED(c, "a\0b", "\"a\\u0000b\"");
	ESCAPED(c, "\x01\x1b\x1f", "\"\\u0001\\u001b\\u001f\"");
	ESCAPED(c, "\x7f", "\"\\u007f\"");
	ESCAPED(c, " ~", "\" ~\"");
	ESCAPED(c, "<>&", "\"\\u003c\\u003e\\u0026\"");
	ESCAPED(c, "</script>", "\"\\u003c/script\\u003e\"");
	ESCAPED(c, "\xe2\x80\xa8\xe2\x80\xa9", "\"\\u2028\\u2029\"");
	/* C1 controls, UTF-8 encoded. */
	ESCAPED(c, "\xc2\x80\xc2\x85\xc2\x9b\xc2\x9f", "\"\\u0080\\u0085\\u009b\\u009f\"");
}

static void test_valid_utf8_kept(void **state)
{
	struct capture *c = *state;

	ESCAPED(c, "caf\xc3\xa9", "\"caf\xc3\xa9\"");
	ESCAPED(c, "\xc2\xa0\xe2\x82\xac\xf0\x9f\x98\x80", "\"\xc2\xa0\xe2\x82\xac\xf0\x9f\x98\x80\"");
	ESCAPED(c, "\xef\xbf\xbd\xf4\x8f\xbf\xbf", "\"\xef\xbf\xbd\xf4\x8f\xbf\xbf\"");
	/* U+2027 and U+202A are neighbours of the separators, not escaped. */
	ESCAPED(c, "\xe2\x80\xa7\xe2\x80\xaa", "\"\xe2\x80\xa7\xe2\x80\xaa\"");
}

static void test_hostile_thread_name(void **state)
{
	struct capture *c = *state;

	ESCAPED(c, "<b>x</b>\"\x1b[31m",
		"\"\\u003cb\\u003ex\\u003c/b\\u003e\\\"\\u001b[31m\"");
	ESCAPED(c, "\x1b]0;pwned\x07", "\"\\u001b]0;pwned\\u0007\"");
}

static void test_invalid_utf8(void **state)
{
	struct capture *c = *state;

	ESCAPED(c, "a\xff" "b", "\"a\\ufffdb\"");
	ESCAPED(c, "\x80", "\"\\ufffd\"");
	ESCAPED(c, "\xc3", "\"\\ufffd\"");
	/* A truncated sequence is replaced once, the next character kept. */
	ESCAPED(c, "\xe2\x82", "\"\\ufffd\"");
	ESCAPED(c, "\xe2\x82x", "\"\\ufffdx\"");
	ESCAPED(c, "\xe2\x82\"", "\"\\ufffd\\\"\"");
	ESCAPED(c, "\xf0\x9f\x98", "\"\\ufffd\"");
	/* Overlong forms, surrogates, beyond U+10FFFF. */
	ESCAPED(c, "\xc0\xaf", "\"\\ufffd\\ufffd\"");
	ESCAPED(c, "\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");
	ESCAPED(c, "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
	ESCAPED(c, "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	ESCAPED(c, "\xf8\x88\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
	ESCAPED(c, "\xfe\xff", "\"\\ufffd\\ufffd\"");
}

static void test_escape_to_file(void **state)
{
	struct capture *c = *state;

	json_escape(c->f, "a<b", 2);
	json_escape(c->f, "", 0);
	assert_string_equal(output(c), "\"a\\u003c\"\"\"");
}

static void test_integers(void **state)
{
	struct capture *c = *state;

	json_begin_array(&c->j);
	json_int(&c->j, 0);
	json_int(&c->j, -1);
	json_int(&c->j, INT64_MIN);
	json_int(&c->j, INT64_MAX);
	json_uint(&c->j, 0);
	json_uint(&c->j, UINT64_MAX);
	json_end_array(&c->j);
	assert_string_equal(output(c),
		"[0,-1,-9223372036854775808,9223372036854775807,0,18446744073709551615]");
}

static void test_doubles(void **state)
{
	struct capture *c = *state;

	DOUBLE(c, 0.0, "0.0");
	DOUBLE(c, -0.0, "-0.0");
	DOUBLE(c, 2.0, "2.0");
	DOUBLE(c, -3.0, "-3.0");
	DOUBLE(c, 1.5, "1.5");
	DOUBLE(c, 0.1, "0.1");
	DOUBLE(c, 0.1 + 0.2, "0.30000000000000004");
	DOUBLE(c, 1.0 / 3.0, "0.3333333333333333");
	DOUBLE(c, 1e-7, "1e-07");
	DOUBLE(c, 1e300, "1e+300");
	DOUBLE(c, 123456789012345678.0, "1.2345678901234568e+17");
	DOUBLE(c, 1e15, "1e+15");
	DOUBLE(c, 123456789.0, "123456789.0");
	DOUBLE(c, DBL_MAX, "1.7976931348623157e+308");
	DOUBLE(c, -DBL_MIN, "-2.2250738585072014e-308");
	DOUBLE(c, 5e-324, "4.94065645841247e-324");
}

static void test_doubles_round_trip(void **state)
{
	struct capture *c = *state;
	const double values[] = { 0.1, 2.0 / 3.0, 1e-300, 98765.4321, 3.0e-5, 1.0 / 7.0 * 1e10 };

	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		rewind(c->f);
		json_double(&c->j, values[i]);
		fputc('\0', c->f);
		assert_true(strtod(output(c), NULL) == values[i]);
	}
}

static void test_non_finite_doubles(void **state)
{
	struct capture *c = *state;

	json_begin_array(&c->j);
	json_double(&c->j, NAN);
	json_double(&c->j, INFINITY);
	json_double(&c->j, -INFINITY);
	json_double(&c->j, 1.25);
	json_end_array(&c->j);
	assert_string_equal(output(c), "[null,null,null,1.25]");
}

/* A decimal-comma locale (the viewer sets the user's locale) must not leak
 * a ',' into numbers. */
static void test_doubles_locale_independent(void **state)
{
	static const char *const names[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "ru_RU.UTF-8" };
	struct capture *c = *state;
	const char *found = NULL;

	for (size_t i = 0; i < sizeof names / sizeof names[0] && !found; i++)
		found = setlocale(LC_ALL, names[i]);
	if (!found)
		skip();
	json_begin_array(&c->j);
	json_double(&c->j, 1.5);
	json_double(&c->j, 0.1 + 0.2);
	json_end_array(&c->j);
	setlocale(LC_ALL, "C");
	assert_string_equal(output(c), "[1.5,0.30000000000000004]");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_empty_containers),
		T(test_nesting_and_commas),
		T(test_array_of_objects),
		T(test_json_lines_records),
		T(test_deep_nesting),
		T(test_null_string_and_key),
		T(test_key_escaped),
		T(test_escapes),
		T(test_valid_utf8_kept),
		T(test_hostile_thread_name),
		T(test_invalid_utf8),
		T(test_escape_to_file),
		T(test_integers),
		T(test_doubles),
		T(test_doubles_round_trip),
		T(test_non_finite_doubles),
		T(test_doubles_locale_independent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
