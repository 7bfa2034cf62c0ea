/*
 * state.c - key handling on the viewer's state (see state.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "keymap.h"
#include "options.h"
#include "state.h"

const char *ui_view_name(enum ui_view v)
{
	switch (v) {
	case VIEW_OVERVIEW: return "Overview";
	case VIEW_RANKINGS: return "Rankings";
	case VIEW_PATTERNS: return "Patterns";
	case VIEW_SYSTEM: return "System";
	case VIEW_OUTPUT: return "Output";
	default: return "?";
	}
}

void ui_state_init(struct ui_state *self, double interval)
{
	memset(self, 0, sizeof(*self));
	self->view = VIEW_OVERVIEW;
	self->sort = SORT_ALLOCS;
	self->interval = interval;
}

void ui_state_message(struct ui_state *self, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(self->message, sizeof(self->message), fmt, ap);
	va_end(ap);
	self->message_new = true;
}

double ui_interval_step(double cur, int dir)
{
	static const double steps[] = { 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60,
					120, 300, 600, 1200, 1800, 3600 };
	const size_t n = sizeof(steps) / sizeof(*steps);
	if (dir > 0) {
		for (size_t i = 0; i < n; i++)
			if (steps[i] > cur * 1.0001)
				return steps[i];
		return OPTIONS_INTERVAL_MAX;
	}
	for (size_t i = n; i-- > 0;)
		if (steps[i] < cur * 0.9999)
			return steps[i];
	return OPTIONS_INTERVAL_MIN;
}

long ui_state_selection(struct ui_state *self, const threadlist *list)
{
	if (!list || list->n == 0)
		return -1;
	long i = self->has_sel ? threadlist_find(list, self->sel_slot) : -1;
	if (i < 0) {
		i = 0;
		self->has_sel = true;
		self->sel_slot = list->slot[0];
	}
	return i;
}

void ui_state_select(struct ui_state *self, const threadlist *list, size_t index)
{
	if (!list || index >= list->n)
		return;
	self->has_sel = true;
	self->sel_slot = list->slot[index];
}

/* Encode cp as UTF-8 at the end of the filter, if it fits. */
static bool filter_append(struct ui_state *self, int cp)
{
	char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	size_t have = strlen(self->filter);
	if (have + n + 1 > sizeof(self->filter))
		return false;
	memcpy(self->filter + have, b, n);
	self->filter[have + n] = '\0';
	return true;
}

static void filter_backspace(struct ui_state *self)
{
	size_t n = strlen(self->filter);
	while (n > 0 && ((unsigned char)self->filter[n - 1] & 0xc0) == 0x80)
		n--;
	if (n > 0)
		n--;
	self->filter[n] = '\0';
}

static unsigned edit_key(struct ui_state *self, int key)
{
	switch (key) {
	case UI_KEY_ENTER: case '\n': case '\r':
		self->editing = false;
		return UI_REDRAW;
	case UI_KEY_ESC:
		self->editing = false;
		self->filter[0] = '\0';
		return UI_REDRAW | UI_RELIST;
	case UI_KEY_BACKSPACE: case 127: case 8:
		filter_backspace(self);
		return UI_REDRAW | UI_RELIST;
	case UI_KEY_RESIZE:
		return UI_RESIZE | UI_REDRAW;
	default:
		if (key >= 0x20 && key != 0x7f && key < UI_KEY_BASE && !(key >= 0x80 && key < 0xa0))
			return filter_append(self, key) ? UI_REDRAW | UI_RELIST : 0;
		return 0;
	}
}

static unsigned move(struct ui_state *self, const struct ui_nav *nav, enum grid_move m)
{
	if (self->view == VIEW_OUTPUT && !self->focus) {
		long page = nav && nav->grid ? (long)nav->grid->rows : 10;
		long before = self->scroll;
		switch (m) {
		case GRID_UP: self->scroll++; break;
		case GRID_DOWN: self->scroll--; break;
		case GRID_PAGE_UP: self->scroll += page; break;
		case GRID_PAGE_DOWN: self->scroll -= page; break;
		case GRID_HOME: self->scroll = 1L << 30; break;
		case GRID_END: self->scroll = 0; break;
		default: break;
		}
		if (self->scroll < 0)
			self->scroll = 0;
		return self->scroll != before ? UI_REDRAW : 0;
	}
	if (!nav || !nav->grid || !nav->list || nav->list->n == 0)
		return 0;
	long cur = ui_state_selection(self, nav->list);
	size_t next = grid_move(nav->grid, (size_t)cur, m);
	ui_state_select(self, nav->list, next);
	return (long)next != cur ? UI_REDRAW : 0;
}

unsigned ui_state_key(struct ui_state *self, int key, const struct ui_nav *nav)
{
	if (key == UI_KEY_NONE)
		return 0;
	if (self->editing)
		return edit_key(self, key);
	enum ui_action a = keymap_action(key);
	if (self->help && a != ACT_QUIT && a != ACT_RESIZE && a != ACT_MOUSE) {
		self->help = false;
		return UI_REDRAW;
	}
	switch (a) {
	case ACT_NONE:
		return 0;
	case ACT_QUIT:
		return UI_QUIT;
	case ACT_UP: return move(self, nav, GRID_UP);
	case ACT_DOWN: return move(self, nav, GRID_DOWN);
	case ACT_LEFT: return move(self, nav, GRID_LEFT);
	case ACT_RIGHT: return move(self, nav, GRID_RIGHT);
	case ACT_PAGE_UP: return move(self, nav, GRID_PAGE_UP);
	case ACT_PAGE_DOWN: return move(self, nav, GRID_PAGE_DOWN);
	case ACT_HOME: return move(self, nav, GRID_HOME);
	case ACT_END: return move(self, nav, GRID_END);
	case ACT_FOCUS:
		if (self->focus) {
			self->focus = false;
			return UI_REDRAW;
		}
		if (!nav || !nav->grid || !nav->list || nav->list->n == 0) {
			ui_state_message(self, "no thread to focus on in this view");
			return UI_REDRAW;
		}
		ui_state_selection(self, nav->list);
		self->focus = true;
		return UI_REDRAW;
	case ACT_BACK:
		if (self->focus) {
			self->focus = false;
			return UI_REDRAW;
		}
		if (self->message[0]) {
			self->message[0] = '\0';
			return UI_REDRAW;
		}
		return 0;
	case ACT_NEXT_VIEW:
	case ACT_PREV_VIEW:
		self->focus = false;
		self->view = (enum ui_view)((self->view + (a == ACT_NEXT_VIEW ? 1 : VIEW_COUNT - 1)) %
					    VIEW_COUNT);
		return UI_REDRAW;
	case ACT_SORT:
		self->sort = (enum sort_key)((self->sort + 1) % SORT_COUNT);
		ui_state_message(self, "sorted by %s%s", sort_key_name(self->sort),
				 self->sort == SORT_EFFICIENCY ? " (least efficient first)" : "");
		return UI_REDRAW | UI_RELIST;
	case ACT_FILTER:
		self->editing = true;
		return UI_REDRAW;
	case ACT_PAUSE:
		self->paused = !self->paused;
		ui_state_message(self, self->paused ? "paused: figures frozen (space resumes)"
				 : "resumed");
		return UI_REDRAW | UI_RETIME;
	case ACT_INTERVAL_UP:
	case ACT_INTERVAL_DOWN: {
		double next = ui_interval_step(self->interval, a == ACT_INTERVAL_UP ? 1 : -1);
		if (next == self->interval)
			ui_state_message(self, "interval stays %gs (limits %gs..%gs)", next,
					 OPTIONS_INTERVAL_MIN, OPTIONS_INTERVAL_MAX);
		else
			ui_state_message(self, "interval %gs", next);
		self->interval = next;
		return UI_REDRAW | UI_RETIME;
	}
	case ACT_EXPORT:
		return UI_REDRAW | UI_EXPORT;
	case ACT_HELP:
		self->help = true;
		return UI_REDRAW;
	case ACT_REDRAW:
		return UI_REDRAW | UI_RESIZE;
	case ACT_RESIZE:
		return UI_REDRAW | UI_RESIZE;
	case ACT_MOUSE:
		return UI_MOUSE;
	}
	return 0;
}
