/*
 * grid.c - paged card grid geometry (see grid.h).
 */
#include "config.h"

#include "grid.h"

void grid_layout(struct grid *self, int x, int y, int w, int h, int min_w, int card_h,
		 size_t count)
{
	if (min_w < 1)
		min_w = 1;
	if (card_h < 1)
		card_h = 1;
	self->x = x;
	self->y = y;
	self->w = w > 0 ? w : 0;
	self->h = h > 0 ? h : 0;
	self->cols = self->w / min_w;
	if (self->cols < 1)
		self->cols = 1;
	self->rows = self->h / card_h;
	if (self->rows < 1)
		self->rows = 1;
	self->card_w = self->w / self->cols;
	if (self->card_w < 1)
		self->card_w = 1;
	self->card_h = card_h;
	self->per_page = (size_t)self->cols * (size_t)self->rows;
	self->count = count;
	self->pages = count ? (count + self->per_page - 1) / self->per_page : 1;
}

size_t grid_page_of(const struct grid *self, size_t index)
{
	return index / self->per_page;
}

size_t grid_page_start(const struct grid *self, size_t page)
{
	return page * self->per_page;
}

void grid_card_pos(const struct grid *self, size_t index, int *cx, int *cy)
{
	size_t on_page = index % self->per_page;
	*cx = self->x + (int)(on_page % (size_t)self->cols) * self->card_w;
	*cy = self->y + (int)(on_page / (size_t)self->cols) * self->card_h;
}

bool grid_hit(const struct grid *self, size_t page, int mx, int my, size_t *index)
{
	if (mx < self->x || my < self->y)
		return false;
	int col = (mx - self->x) / self->card_w;
	int row = (my - self->y) / self->card_h;
	if (col >= self->cols || row >= self->rows)
		return false;
	size_t i = grid_page_start(self, page) + (size_t)row * (size_t)self->cols + (size_t)col;
	if (i >= self->count)
		return false;
	*index = i;
	return true;
}

size_t grid_move(const struct grid *self, size_t index, enum grid_move m)
{
	if (self->count == 0)
		return 0;
	size_t last = self->count - 1, cols = (size_t)self->cols;
	if (index > last)
		index = last;
	switch (m) {
	case GRID_LEFT:
		return index > 0 ? index - 1 : 0;
	case GRID_RIGHT:
		return index < last ? index + 1 : last;
	case GRID_UP:
		return index >= cols ? index - cols : index;
	case GRID_DOWN:
		/* From a row above a short last row, land on its last card. */
		if (index + cols <= last)
			return index + cols;
		return index / cols == last / cols ? index : last;
	case GRID_PAGE_UP:
		return index >= self->per_page ? index - self->per_page : 0;
	case GRID_PAGE_DOWN:
		return index + self->per_page <= last ? index + self->per_page : last;
	case GRID_HOME:
		return 0;
	case GRID_END:
		return last;
	}
	return index;
}
