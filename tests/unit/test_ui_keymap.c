/*
 * test_ui_keymap.c - unit tests of the key bindings: top/htop habits
 * (arrows and hjkl, q, space, /, s, ?, F1, Tab), keys that mean nothing,
 * and the help lines.
 */
#include "config.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "keymap.h"

static void test_bindings(void **state)
{
	assert_int_equal(keymap_action('q'), ACT_QUIT);
	assert_int_equal(keymap_action(UI_KEY_UP), ACT_UP);
	assert_int_equal(keymap_action('k'), ACT_UP);
	assert_int_equal(keymap_action('j'), ACT_DOWN);
	assert_int_equal(keymap_action('h'), ACT_LEFT);
	assert_int_equal(keymap_action('l'), ACT_RIGHT);
	assert_int_equal(keymap_action(UI_KEY_NPAGE), ACT_PAGE_DOWN);
	assert_int_equal(keymap_action(UI_KEY_HOME), ACT_HOME);
	assert_int_equal(keymap_action(UI_KEY_END), ACT_END);
	assert_int_equal(keymap_action(UI_KEY_ENTER), ACT_FOCUS);
	assert_int_equal(keymap_action('\r'), ACT_FOCUS);
	assert_int_equal(keymap_action(UI_KEY_ESC), ACT_BACK);
	assert_int_equal(keymap_action('\t'), ACT_NEXT_VIEW);
	assert_int_equal(keymap_action(UI_KEY_BTAB), ACT_PREV_VIEW);
	assert_int_equal(keymap_action('s'), ACT_SORT);
	assert_int_equal(keymap_action('/'), ACT_FILTER);
	assert_int_equal(keymap_action(' '), ACT_PAUSE);
	assert_int_equal(keymap_action('+'), ACT_INTERVAL_UP);
	assert_int_equal(keymap_action('-'), ACT_INTERVAL_DOWN);
	assert_int_equal(keymap_action('e'), ACT_EXPORT);
	assert_int_equal(keymap_action('?'), ACT_HELP);
	assert_int_equal(keymap_action(UI_KEY_F1), ACT_HELP);
	assert_int_equal(keymap_action(UI_KEY_CTRL_L), ACT_REDRAW);
	assert_int_equal(keymap_action(UI_KEY_RESIZE), ACT_RESIZE);
	assert_int_equal(keymap_action(UI_KEY_MOUSE), ACT_MOUSE);
	/* unbound keys do nothing */
	assert_int_equal(keymap_action('x'), ACT_NONE);
	assert_int_equal(keymap_action(0x263a), ACT_NONE);
	assert_int_equal(keymap_action(UI_KEY_NONE), ACT_NONE);
}

static void test_help_lines(void **state)
{
	const char *what = NULL;
	int n = 0;
	bool has_q = false, has_export = false;
	while (keymap_help_line(n, &what)) {
		const char *keys = keymap_help_line(n, &what);
		assert_true(strlen(keys) > 0 && strlen(what) > 0);
		if (strcmp(keys, "q") == 0)
			has_q = true;
		if (strcmp(keys, "e") == 0 && strstr(what, "HTML report"))
			has_export = true;
		n++;
	}
	assert_true(n >= 10);
	assert_true(has_q);
	assert_true(has_export);
	assert_null(keymap_help_line(-1, &what));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bindings),
		cmocka_unit_test(test_help_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
