/*
 * keymap.c - the key bindings; htop's and top's habits where they exist
 * (arrows and hjkl, q, space, /, s, ?, F1, Tab).
 */
#include "config.h"

#include <stddef.h>

#include "keymap.h"

enum ui_action keymap_action(int key)
{
	switch (key) {
	case 'q': case 'Q': return ACT_QUIT;
	case UI_KEY_UP: case 'k': return ACT_UP;
	case UI_KEY_DOWN: case 'j': return ACT_DOWN;
	case UI_KEY_LEFT: case 'h': return ACT_LEFT;
	case UI_KEY_RIGHT: case 'l': return ACT_RIGHT;
	case UI_KEY_PPAGE: return ACT_PAGE_UP;
	case UI_KEY_NPAGE: return ACT_PAGE_DOWN;
	case UI_KEY_HOME: case 'g': return ACT_HOME;
	case UI_KEY_END: case 'G': return ACT_END;
	case UI_KEY_ENTER: case '\n': case '\r': return ACT_FOCUS;
	case UI_KEY_ESC: case UI_KEY_BACKSPACE: return ACT_BACK;
	case UI_KEY_TAB: return ACT_NEXT_VIEW;
	case UI_KEY_BTAB: return ACT_PREV_VIEW;
	case 's': case 'S': return ACT_SORT;
	case '/': return ACT_FILTER;
	case ' ': return ACT_PAUSE;
	case '+': case '=': return ACT_INTERVAL_UP;
	case '-': case '_': return ACT_INTERVAL_DOWN;
	case 'e': case 'E': return ACT_EXPORT;
	case '?': case UI_KEY_F1: return ACT_HELP;
	case UI_KEY_CTRL_L: return ACT_REDRAW;
	case UI_KEY_RESIZE: return ACT_RESIZE;
	case UI_KEY_MOUSE: return ACT_MOUSE;
	default: return ACT_NONE;
	}
}

static const struct {
	const char *keys, *what;
} help[] = {
	{ "arrows, hjkl", "select a thread (mouse: click)" },
	{ "PgUp PgDn Home End", "page through threads / scroll" },
	{ "Enter", "focus mode on the selected thread (Esc: back)" },
	{ "Tab, Shift-Tab", "next / previous view" },
	{ "s", "change the sort key of grid and rankings" },
	{ "/", "filter threads by name (Enter keeps, Esc clears)" },
	{ "space", "pause / resume sampling" },
	{ "+ -", "longer / shorter refresh interval" },
	{ "e", "write the HTML report now (--export FILE, or memtop-PID.html)" },
	{ "? F1", "this help (any key closes it)" },
	{ "q", "quit (a running command keeps running)" },
};

const char *keymap_help_line(int i, const char **what)
{
	if (i < 0 || (size_t)i >= sizeof(help) / sizeof(*help))
		return NULL;
	*what = help[i].what;
	return help[i].keys;
}
