/*
 * test_ui_canvas.c - unit tests of the viewer's canvas: placement and
 * clipping, right alignment, wide characters, sanitizing hostile text,
 * ASCII-only terminals, styles, word wrapping.
 */
#include "config.h"

#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "canvas.h"

static char row[4096];

static const char *R(const canvas *c, int y)
{
	return canvas_row_text(c, y, row, sizeof(row));
}

static void test_put_and_clip(void **state)
{
	canvas *c = canvas_new(10, 3, true);
	assert_non_null(c);
	assert_int_equal(canvas_put(c, 0, 2, -1, STYLE_NORMAL, "hello"), 5);
	assert_string_equal(R(c, 0), "  hello");
	/* maxw and the right edge both clip */
	assert_int_equal(canvas_put(c, 1, 0, 3, STYLE_NORMAL, "abcdef"), 3);
	assert_string_equal(R(c, 1), "abc");
	assert_int_equal(canvas_put(c, 2, 7, -1, STYLE_NORMAL, "abcdef"), 3);
	assert_string_equal(R(c, 2), "       abc");
	/* outside: nothing */
	assert_int_equal(canvas_put(c, 3, 0, -1, STYLE_NORMAL, "x"), 0);
	assert_int_equal(canvas_put(c, -1, 0, -1, STYLE_NORMAL, "x"), 0);
	assert_int_equal(canvas_put(c, 0, 10, -1, STYLE_NORMAL, "x"), 0);
	assert_int_equal(canvas_put(c, 0, 0, -1, STYLE_NORMAL, NULL), 0);
	canvas_free(c);
}

static void test_right_and_printf(void **state)
{
	canvas *c = canvas_new(12, 2, true);
	canvas_put_right(c, 0, 0, 12, STYLE_NORMAL, "42");
	assert_string_equal(R(c, 0), "          42");
	canvas_put_right(c, 1, 2, 4, STYLE_NORMAL, "toolong");
	assert_string_equal(R(c, 1), "  tool");
	canvas_printf(c, 1, 6, -1, STYLE_NORMAL, "%d-%s", 7, "x");
	assert_string_equal(R(c, 1), "  tool7-x");
	canvas_free(c);
}

static void test_sanitizes(void **state)
{
	canvas *c = canvas_new(40, 2, true);
	canvas_put(c, 0, 0, -1, STYLE_NORMAL, "bad\x1b[7mname\x07\x7f");
	assert_string_equal(R(c, 0), "bad?[7mname??");
	/* C1 controls, bidi overrides and invalid UTF-8 */
	canvas_put(c, 1, 0, -1, STYLE_NORMAL, "a\xc2\x9b" "b\xe2\x80\xae" "c\xff");
	assert_string_equal(R(c, 1), "a?b?c?");
	for (int y = 0; y < 2; y++)
		for (int x = 0; x < 40; x++) {
			const struct canvas_cell *cell = canvas_at(c, y, x);
			for (const char *p = cell->ch; *p; p++)
				assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
		}
	canvas_free(c);
}

static void test_wide_characters(void **state)
{
	canvas *c = canvas_new(5, 2, true);
	assert_int_equal(canvas_text_width(c, "\u65e5\u672c"), 4);
	assert_int_equal(canvas_put(c, 0, 0, -1, STYLE_NORMAL, "\u65e5\u672c\u8a9e"), 4);
	assert_string_equal(R(c, 0), "\u65e5\u672c");
	assert_int_equal(canvas_at(c, 0, 1)->width, 0);
	/* Overwriting the right half blanks the left half. */
	canvas_put(c, 0, 1, 1, STYLE_NORMAL, "x");
	assert_string_equal(R(c, 0), " x\u672c");
	/* combining marks join the previous character */
	canvas_put(c, 1, 0, -1, STYLE_NORMAL, "e\u0301z");
	assert_string_equal(canvas_at(c, 1, 0)->ch, "e\u0301");
	assert_string_equal(canvas_at(c, 1, 1)->ch, "z");
	canvas_free(c);
}

static void test_ascii_canvas(void **state)
{
	canvas *c = canvas_new(10, 1, false);
	assert_int_equal(canvas_put(c, 0, 0, -1, STYLE_NORMAL, "caf\u00e9 \u65e5"), 6);
	assert_string_equal(R(c, 0), "caf? ?");
	canvas_free(c);
}

static void test_styles_fill_resize(void **state)
{
	canvas *c = canvas_new(6, 2, true);
	canvas_fill(c, 0, 1, 3, STYLE_SPARK, "#");
	assert_string_equal(R(c, 0), " ###");
	assert_int_equal(canvas_at(c, 0, 1)->style, STYLE_SPARK);
	canvas_restyle(c, 0, 0, 2, STYLE_SELECTED);
	assert_int_equal(canvas_at(c, 0, 0)->style, STYLE_SELECTED);
	assert_int_equal(canvas_at(c, 0, 1)->style, STYLE_SELECTED);
	assert_string_equal(R(c, 0), " ###");
	assert_true(canvas_contains(c, "###"));
	assert_int_equal(canvas_find_row(c, "###"), 0);
	assert_int_equal(canvas_find_row(c, "nope"), -1);
	assert_int_equal(canvas_resize(c, 3, 4), 0);
	assert_int_equal(c->w, 3);
	assert_int_equal(c->h, 4);
	assert_false(canvas_contains(c, "#"));
	canvas_free(c);
}

static void test_wrapped(void **state)
{
	canvas *c = canvas_new(20, 4, true);
	int n = canvas_put_wrapped(c, 0, 0, 10, 4, STYLE_NORMAL, "one two three four five");
	assert_int_equal(n, 3);
	assert_string_equal(R(c, 0), "one two");
	assert_string_equal(R(c, 1), "three four");
	assert_string_equal(R(c, 2), "five");
	canvas_clear(c);
	assert_int_equal(canvas_put_wrapped(c, 0, 0, 10, 1, STYLE_NORMAL, "one two three"), 1);
	assert_string_equal(R(c, 1), "");
	/* a word longer than a row is cut, not lost in a loop */
	assert_int_equal(canvas_put_wrapped(c, 2, 0, 4, 2, STYLE_NORMAL, "abcdefgh ij"), 2);
	assert_string_equal(R(c, 2), "abcd");
	assert_string_equal(R(c, 3), "ij");
	canvas_free(c);
}

int main(void)
{
	setlocale(LC_ALL, "C.UTF-8");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_and_clip),
		cmocka_unit_test(test_right_and_printf),
		cmocka_unit_test(test_sanitizes),
		cmocka_unit_test(test_wide_characters),
		cmocka_unit_test(test_ascii_canvas),
		cmocka_unit_test(test_styles_fill_resize),
		cmocka_unit_test(test_wrapped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
