/*
 * test_ui_grid.c - unit tests of the thread grid's geometry: cards per row
 * and page, positions, paging, mouse hits, and selection moves at every
 * edge, with thousands of threads and with none.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "grid.h"

static void test_layout_80x24(void **state)
{
	struct grid g;
	/* the overview at 80x24 leaves 11 rows for cards 26 wide, 5 tall */
	grid_layout(&g, 0, 7, 80, 11, 26, 5, 14);
	assert_int_equal(g.cols, 3);
	assert_int_equal(g.card_w, 26);
	assert_int_equal(g.rows, 2);
	assert_int_equal(g.per_page, 6);
	assert_int_equal(g.pages, 3);
	assert_int_equal(grid_page_of(&g, 5), 0);
	assert_int_equal(grid_page_of(&g, 6), 1);
	assert_int_equal(grid_page_of(&g, 13), 2);
	assert_int_equal(grid_page_start(&g, 2), 12);
	int x, y;
	grid_card_pos(&g, 0, &x, &y);
	assert_int_equal(x, 0);
	assert_int_equal(y, 7);
	grid_card_pos(&g, 4, &x, &y);
	assert_int_equal(x, 26);
	assert_int_equal(y, 12);
	grid_card_pos(&g, 8, &x, &y);   /* page 1, first row, third card */
	assert_int_equal(x, 52);
	assert_int_equal(y, 7);
}

static void test_layout_wide_and_tiny(void **state)
{
	struct grid g;
	grid_layout(&g, 0, 0, 120, 28, 26, 5, 5000);
	assert_int_equal(g.cols, 4);
	assert_int_equal(g.card_w, 30);
	assert_int_equal(g.rows, 5);
	assert_int_equal(g.per_page, 20);
	assert_int_equal(g.pages, 250);
	/* smaller than one card: still one card */
	grid_layout(&g, 0, 0, 10, 2, 26, 5, 3);
	assert_int_equal(g.cols, 1);
	assert_int_equal(g.rows, 1);
	assert_int_equal(g.per_page, 1);
	assert_int_equal(g.pages, 3);
	/* nothing to show: one empty page */
	grid_layout(&g, 0, 0, 80, 20, 26, 5, 0);
	assert_int_equal(g.pages, 1);
	/* a list: one card per row */
	grid_layout(&g, 0, 4, 80, 18, 80, 1, 40);
	assert_int_equal(g.cols, 1);
	assert_int_equal(g.per_page, 18);
	assert_int_equal(g.pages, 3);
}

static void test_hit(void **state)
{
	struct grid g;
	size_t i = 99;
	grid_layout(&g, 0, 7, 80, 11, 26, 5, 14);
	assert_true(grid_hit(&g, 0, 0, 7, &i));
	assert_int_equal(i, 0);
	assert_true(grid_hit(&g, 0, 30, 13, &i));
	assert_int_equal(i, 4);
	assert_true(grid_hit(&g, 2, 27, 8, &i));
	assert_int_equal(i, 13);
	/* past the last card, above or beside the grid */
	assert_false(grid_hit(&g, 2, 53, 8, &i));
	assert_false(grid_hit(&g, 0, 10, 6, &i));
	assert_false(grid_hit(&g, 0, 79, 7, &i));
	assert_false(grid_hit(&g, 0, 5, 17, &i));
}

static void test_moves(void **state)
{
	struct grid g;
	grid_layout(&g, 0, 0, 80, 10, 26, 5, 8);   /* 3 per row, 6 per page */
	assert_int_equal(grid_move(&g, 0, GRID_LEFT), 0);
	assert_int_equal(grid_move(&g, 0, GRID_RIGHT), 1);
	assert_int_equal(grid_move(&g, 2, GRID_RIGHT), 3);   /* wraps to next row */
	assert_int_equal(grid_move(&g, 7, GRID_RIGHT), 7);
	assert_int_equal(grid_move(&g, 1, GRID_DOWN), 4);
	assert_int_equal(grid_move(&g, 4, GRID_DOWN), 7);
	assert_int_equal(grid_move(&g, 5, GRID_DOWN), 7);    /* short last row */
	assert_int_equal(grid_move(&g, 7, GRID_DOWN), 7);
	assert_int_equal(grid_move(&g, 6, GRID_DOWN), 6);
	assert_int_equal(grid_move(&g, 4, GRID_UP), 1);
	assert_int_equal(grid_move(&g, 1, GRID_UP), 1);
	assert_int_equal(grid_move(&g, 1, GRID_PAGE_DOWN), 7);
	assert_int_equal(grid_move(&g, 0, GRID_PAGE_DOWN), 6);
	assert_int_equal(grid_move(&g, 7, GRID_PAGE_UP), 1);
	assert_int_equal(grid_move(&g, 3, GRID_PAGE_UP), 0);
	assert_int_equal(grid_move(&g, 3, GRID_HOME), 0);
	assert_int_equal(grid_move(&g, 3, GRID_END), 7);
	/* a stale index is clamped; an empty grid stays at 0 */
	assert_int_equal(grid_move(&g, 50, GRID_LEFT), 6);
	grid_layout(&g, 0, 0, 80, 10, 26, 5, 0);
	assert_int_equal(grid_move(&g, 0, GRID_END), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_80x24),
		cmocka_unit_test(test_layout_wide_and_tiny),
		cmocka_unit_test(test_hit),
		cmocka_unit_test(test_moves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
