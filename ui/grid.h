/*
 * grid.h - geometry of a paged grid of equal cards (the thread grid) or of
 * a paged list (one card per row: the ranking tables): how many fit, where
 * card i goes, which page holds it, which card a mouse click hit, and where
 * a selection moves.  Pure arithmetic, so it is unit-tested exhaustively.
 */
#ifndef MEMTOP_UI_GRID_H
#define MEMTOP_UI_GRID_H

#include <stdbool.h>
#include <stddef.h>

struct grid {
	int x, y, w, h;          /* the area cards are laid out in */
	int card_w, card_h;      /* card_w stretches to share w evenly */
	int cols, rows;
	size_t per_page;         /* cols * rows, at least 1 */
	size_t count;
	size_t pages;            /* at least 1, even for no cards */
};

enum grid_move {
	GRID_LEFT, GRID_RIGHT, GRID_UP, GRID_DOWN,
	GRID_PAGE_UP, GRID_PAGE_DOWN, GRID_HOME, GRID_END
};

/* Lay out count cards of at least min_w x card_h in the area.  At least one
 * card is shown even when the area is smaller than one card. */
void grid_layout(struct grid *self, int x, int y, int w, int h, int min_w, int card_h,
		 size_t count);
size_t grid_page_of(const struct grid *self, size_t index);
/* First index on page. */
size_t grid_page_start(const struct grid *self, size_t page);
/* Top-left corner of card index, on whatever page it is. */
void grid_card_pos(const struct grid *self, size_t index, int *cx, int *cy);
/* The card at screen position (mx, my) while page is shown. */
bool grid_hit(const struct grid *self, size_t page, int mx, int my, size_t *index);
/* The index a selection moves to; stays within 0..count-1 (0 if empty).
 * Left/right wrap to the neighbouring row, up/down move by a row of cards,
 * page keys by a page. */
size_t grid_move(const struct grid *self, size_t index, enum grid_move m);

#endif
