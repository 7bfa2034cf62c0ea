/*
 * test_ui_state.c - unit tests of key handling on the viewer state: the
 * flags each key returns (so only the main loop redraws), view cycling,
 * sort keys, the filter line editor, pause, interval steps, help, focus,
 * selection moves through a re-sorted list, output scrolling, export.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "keymap.h"
#include "options.h"
#include "state.h"

static threadlist list;
static size_t slots[] = { 7, 3, 9, 1, 4 };

static void nav_for(struct ui_nav *nav, struct grid *g, size_t cols)
{
	list.slot = slots;
	list.n = 5;
	list.total = 5;
	grid_layout(g, 0, 0, (int)(26 * cols), 10, 26, 5, list.n);
	nav->list = &list;
	nav->grid = g;
}

static void test_views_and_quit(void **state)
{
	struct ui_state st;
	ui_state_init(&st, 1.0);
	assert_int_equal(st.view, VIEW_OVERVIEW);
	assert_int_equal(ui_state_key(&st, UI_KEY_NONE, NULL), 0);
	assert_int_equal(ui_state_key(&st, '\t', NULL), UI_REDRAW);
	assert_int_equal(st.view, VIEW_RANKINGS);
	for (int i = 0; i < VIEW_COUNT - 1; i++)
		ui_state_key(&st, '\t', NULL);
	assert_int_equal(st.view, VIEW_OVERVIEW);
	ui_state_key(&st, UI_KEY_BTAB, NULL);
	assert_int_equal(st.view, VIEW_OUTPUT);
	assert_string_equal(ui_view_name(VIEW_SYSTEM), "System");
	assert_int_equal(ui_state_key(&st, 'q', NULL), UI_QUIT);
	assert_int_equal(ui_state_key(&st, 'x', NULL), 0);
}

static void test_sort_and_export(void **state)
{
	struct ui_state st;
	ui_state_init(&st, 1.0);
	unsigned f = ui_state_key(&st, 's', NULL);
	assert_true(f & UI_RELIST);
	assert_true(f & UI_REDRAW);
	assert_int_equal(st.sort, SORT_BYTES);
	assert_true(st.message_new);
	assert_string_equal(st.message, "sorted by bytes");
	for (int i = 0; i < SORT_COUNT - 1; i++)
		ui_state_key(&st, 's', NULL);
	assert_int_equal(st.sort, SORT_ALLOCS);
	/* the viewer writes the report (it has the session) and says where */
	assert_int_equal(ui_state_key(&st, 'e', NULL), UI_REDRAW | UI_EXPORT);
	ui_state_message(&st, "report written to x.html");
	/* Esc clears a message */
	assert_int_equal(ui_state_key(&st, UI_KEY_ESC, NULL), UI_REDRAW);
	assert_string_equal(st.message, "");
	assert_int_equal(ui_state_key(&st, UI_KEY_ESC, NULL), 0);
}

static void test_filter_editing(void **state)
{
	struct ui_state st;
	ui_state_init(&st, 1.0);
	assert_int_equal(ui_state_key(&st, '/', NULL), UI_REDRAW);
	assert_true(st.editing);
	/* while typing, q and s are letters */
	assert_int_equal(ui_state_key(&st, 'q', NULL), UI_REDRAW | UI_RELIST);
	ui_state_key(&st, 's', NULL);
	ui_state_key(&st, 0xe9, NULL);      /* é, two bytes */
	assert_string_equal(st.filter, "qs\xc3\xa9");
	ui_state_key(&st, UI_KEY_BACKSPACE, NULL);
	assert_string_equal(st.filter, "qs");
	ui_state_key(&st, 127, NULL);
	assert_string_equal(st.filter, "q");
	/* control characters are not typed */
	assert_int_equal(ui_state_key(&st, 0x1b + 0x80, NULL), 0);
	assert_int_equal(ui_state_key(&st, UI_KEY_ENTER, NULL), UI_REDRAW);
	assert_false(st.editing);
	assert_string_equal(st.filter, "q");
	ui_state_key(&st, '/', NULL);
	assert_int_equal(ui_state_key(&st, UI_KEY_ESC, NULL), UI_REDRAW | UI_RELIST);
	assert_string_equal(st.filter, "");
	/* a full filter refuses more */
	ui_state_key(&st, '/', NULL);
	for (int i = 0; i < UI_FILTER_LEN + 5; i++)
		ui_state_key(&st, 'a', NULL);
	assert_int_equal(strlen(st.filter), UI_FILTER_LEN - 1);
}

static void test_pause_interval_help(void **state)
{
	struct ui_state st;
	ui_state_init(&st, 1.0);
	assert_true(ui_state_key(&st, ' ', NULL) & UI_RETIME);
	assert_true(st.paused);
	ui_state_key(&st, ' ', NULL);
	assert_false(st.paused);
	assert_true(ui_state_key(&st, '+', NULL) & UI_RETIME);
	assert_true(st.interval == 2.0);
	ui_state_key(&st, '-', NULL);
	ui_state_key(&st, '-', NULL);
	assert_true(st.interval == 0.5);
	assert_true(ui_interval_step(0.3, 1) == 0.5);
	assert_true(ui_interval_step(0.3, -1) == 0.2);
	assert_true(ui_interval_step(OPTIONS_INTERVAL_MIN, -1) == OPTIONS_INTERVAL_MIN);
	assert_true(ui_interval_step(OPTIONS_INTERVAL_MAX, 1) == OPTIONS_INTERVAL_MAX);
	st.interval = OPTIONS_INTERVAL_MIN;
	ui_state_key(&st, '-', NULL);
	assert_non_null(strstr(st.message, "stays"));
	ui_state_key(&st, '?', NULL);
	assert_true(st.help);
	/* any key closes help without acting, q still quits */
	assert_int_equal(ui_state_key(&st, 's', NULL), UI_REDRAW);
	assert_false(st.help);
	assert_int_equal(st.sort, SORT_ALLOCS);
	ui_state_key(&st, UI_KEY_F1, NULL);
	assert_int_equal(ui_state_key(&st, 'q', NULL), UI_QUIT);
}

static void test_selection_and_focus(void **state)
{
	struct ui_state st;
	struct ui_nav nav;
	struct grid g;
	ui_state_init(&st, 1.0);
	nav_for(&nav, &g, 3);
	/* nothing selected yet: the first thread is */
	assert_int_equal(ui_state_selection(&st, &list), 0);
	assert_int_equal(st.sel_slot, 7);
	assert_int_equal(ui_state_key(&st, UI_KEY_RIGHT, &nav), UI_REDRAW);
	assert_int_equal(st.sel_slot, 3);
	ui_state_key(&st, 'j', &nav);                /* down a row of 3 */
	assert_int_equal(st.sel_slot, 4);
	assert_int_equal(ui_state_key(&st, 'j', &nav), 0);   /* last row */
	ui_state_key(&st, UI_KEY_HOME, &nav);
	assert_int_equal(st.sel_slot, 7);
	/* the selection follows its thread through a re-sort */
	st.sel_slot = 9;
	slots[0] = 9;
	slots[2] = 7;
	assert_int_equal(ui_state_selection(&st, &list), 0);
	/* gone (filtered out): back to the first */
	st.sel_slot = 42;
	assert_int_equal(ui_state_selection(&st, &list), 0);
	assert_int_equal(st.sel_slot, 9);
	slots[0] = 7;
	slots[2] = 9;
	assert_int_equal(ui_state_key(&st, UI_KEY_ENTER, &nav), UI_REDRAW);
	assert_true(st.focus);
	ui_state_key(&st, UI_KEY_ESC, &nav);
	assert_false(st.focus);
	ui_state_key(&st, UI_KEY_ENTER, &nav);
	ui_state_key(&st, '\t', &nav);               /* a view change leaves focus */
	assert_false(st.focus);
	/* no list (System view): no focus, a message says why */
	struct ui_nav none = { .list = &list, .grid = NULL };
	ui_state_key(&st, UI_KEY_ENTER, &none);
	assert_false(st.focus);
	assert_non_null(strstr(st.message, "no thread"));
	assert_int_equal(ui_state_key(&st, UI_KEY_DOWN, &none), 0);
	assert_int_equal(ui_state_key(&st, UI_KEY_MOUSE, &nav), UI_MOUSE);
	assert_true(ui_state_key(&st, UI_KEY_RESIZE, &nav) & UI_RESIZE);
	assert_true(ui_state_key(&st, UI_KEY_CTRL_L, &nav) & UI_RESIZE);
}

static void test_output_scroll(void **state)
{
	struct ui_state st;
	struct grid g;
	ui_state_init(&st, 1.0);
	st.view = VIEW_OUTPUT;
	grid_layout(&g, 0, 3, 80, 20, 80, 1, 0);
	struct ui_nav nav = { .list = &list, .grid = &g };
	assert_int_equal(ui_state_key(&st, UI_KEY_DOWN, &nav), 0);   /* already at the end */
	ui_state_key(&st, UI_KEY_UP, &nav);
	assert_int_equal(st.scroll, 1);
	ui_state_key(&st, UI_KEY_PPAGE, &nav);
	assert_int_equal(st.scroll, 21);
	ui_state_key(&st, UI_KEY_NPAGE, &nav);
	ui_state_key(&st, UI_KEY_NPAGE, &nav);
	assert_int_equal(st.scroll, 0);
	ui_state_key(&st, UI_KEY_HOME, &nav);
	assert_true(st.scroll > 1000);
	ui_state_key(&st, UI_KEY_END, &nav);
	assert_int_equal(st.scroll, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_views_and_quit),
		cmocka_unit_test(test_sort_and_export),
		cmocka_unit_test(test_filter_editing),
		cmocka_unit_test(test_pause_interval_help),
		cmocka_unit_test(test_selection_and_focus),
		cmocka_unit_test(test_output_scroll),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
