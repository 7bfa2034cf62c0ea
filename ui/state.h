/*
 * state.h - what the viewer is showing and how the user set it up: view,
 * focus, help, pause, interval, sort key, filter, selection, scroll, and
 * the status-line message.
 *
 * Keys change the state through ui_state_key, which never draws: it
 * returns UI_* flags and the main loop decides what to redraw, re-sort or
 * reschedule.  No terminal is involved, so every binding is unit-tested.
 */
#ifndef MEMTOP_UI_STATE_H
#define MEMTOP_UI_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "grid.h"
#include "threadlist.h"

enum ui_view { VIEW_OVERVIEW, VIEW_RANKINGS, VIEW_PATTERNS, VIEW_SYSTEM, VIEW_OUTPUT, VIEW_COUNT };

const char *ui_view_name(enum ui_view v);

#define UI_FILTER_LEN 64
#define UI_MESSAGE_LEN 256

struct ui_state {
	enum ui_view view;
	bool focus;              /* focus mode on the selected thread */
	bool help;
	bool paused;
	bool editing;            /* typing a filter */
	enum sort_key sort;
	char filter[UI_FILTER_LEN];
	double interval;
	bool has_sel;
	size_t sel_slot;         /* session slot of the selected thread */
	long scroll;             /* output view: lines up from the newest */
	char message[UI_MESSAGE_LEN];
	bool message_new;        /* set with message; the viewer times it out */
};

#define UI_REDRAW  0x01u
#define UI_RELIST  0x02u     /* sort or filter changed: rebuild the list */
#define UI_RETIME  0x04u     /* interval or pause changed */
#define UI_QUIT    0x08u
#define UI_MOUSE   0x10u     /* the viewer resolves the click on its frame */
#define UI_RESIZE  0x20u     /* size changed or a full repaint was asked for */
#define UI_EXPORT  0x40u     /* write the HTML report now (the viewer has the session) */

/* The list and layout the selection moves in (the current view's). */
struct ui_nav {
	const threadlist *list;
	const struct grid *grid;     /* NULL: the view has no selection */
};

void ui_state_init(struct ui_state *self, double interval);
unsigned ui_state_key(struct ui_state *self, int key, const struct ui_nav *nav);
/* The next interval up (dir > 0) or down from cur, on a 1-2-5 scale within
 * the limits --interval accepts. */
double ui_interval_step(double cur, int dir);
/* Position of the selected thread in list, selecting the first thread when
 * the selection is gone (filtered out) or was never made; -1 if empty. */
long ui_state_selection(struct ui_state *self, const threadlist *list);
void ui_state_select(struct ui_state *self, const threadlist *list, size_t index);
void ui_state_message(struct ui_state *self, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
