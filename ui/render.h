/*
 * render.h - draw one frame of the viewer into a canvas: title, view tabs,
 * the current view (overview cards and thread grid, rankings, memory
 * patterns, system summary and timelines, the command's output), focus
 * mode, help, and the status line.
 *
 * Rendering reads the session and the UI state and writes only the canvas
 * and the frame's geometry (where the grid and the tabs are, for keys and
 * mouse clicks), so a test can draw any state and read the rows back.
 */
#ifndef MEMTOP_UI_RENDER_H
#define MEMTOP_UI_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "bottleneck.h"
#include "canvas.h"
#include "grid.h"
#include "outpane.h"
#include "session.h"
#include "state.h"
#include "threadlist.h"

#define RENDER_MIN_W 80
#define RENDER_MIN_H 24

/* Thread cards: at least this wide, this tall (a blank row included). */
#define RENDER_CARD_W 26
#define RENDER_CARD_H 5

struct render_input {
	const struct session *s;
	struct ui_state *st;             /* the selection may be settled while drawing */
	const threadlist *list;
	const outpane *out;              /* NULL: the command's output is not captured */
	double gpu_percent;              /* NAN: unavailable */
	const char *gpu_note;
	bool stacks_requested;           /* false with --no-stacks */
	const struct bottleneck *findings;   /* focus mode: the selected thread's */
	size_t nfindings;
	const char *notice;              /* a standing remark for the status line, or NULL */
};

struct render_geom {
	bool too_small;
	bool has_grid;                   /* the view has selectable threads */
	struct grid grid;
	size_t page;
	int tab_y;
	int tab_x[VIEW_COUNT], tab_w[VIEW_COUNT];
};

void render_frame(canvas *c, const struct render_input *in, struct render_geom *g);

#endif
