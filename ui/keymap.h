/*
 * keymap.h - keys as the viewer sees them, and what each one means.
 *
 * The screen translates terminal input (curses key codes, mouse events)
 * into these codes, so the mapping, and the tests of it, need no terminal.
 * Printable keys are their Unicode code points; special keys live above
 * the Unicode range.
 */
#ifndef MEMTOP_UI_KEYMAP_H
#define MEMTOP_UI_KEYMAP_H

#define UI_KEY_NONE      (-1)
#define UI_KEY_BASE      0x110000
#define UI_KEY_UP        (UI_KEY_BASE + 1)
#define UI_KEY_DOWN      (UI_KEY_BASE + 2)
#define UI_KEY_LEFT      (UI_KEY_BASE + 3)
#define UI_KEY_RIGHT     (UI_KEY_BASE + 4)
#define UI_KEY_PPAGE     (UI_KEY_BASE + 5)
#define UI_KEY_NPAGE     (UI_KEY_BASE + 6)
#define UI_KEY_HOME      (UI_KEY_BASE + 7)
#define UI_KEY_END       (UI_KEY_BASE + 8)
#define UI_KEY_ENTER     (UI_KEY_BASE + 9)
#define UI_KEY_BACKSPACE (UI_KEY_BASE + 10)
#define UI_KEY_BTAB      (UI_KEY_BASE + 11)
#define UI_KEY_RESIZE    (UI_KEY_BASE + 12)
#define UI_KEY_MOUSE     (UI_KEY_BASE + 13)  /* position in the screen's last event */
#define UI_KEY_F1        (UI_KEY_BASE + 14)
#define UI_KEY_ESC       27
#define UI_KEY_TAB       '\t'
#define UI_KEY_CTRL_L    12

enum ui_action {
	ACT_NONE,
	ACT_QUIT,
	ACT_UP, ACT_DOWN, ACT_LEFT, ACT_RIGHT,
	ACT_PAGE_UP, ACT_PAGE_DOWN, ACT_HOME, ACT_END,
	ACT_FOCUS,          /* Enter: focus mode on the selected thread */
	ACT_BACK,           /* Esc: leave focus, help or filter input */
	ACT_NEXT_VIEW, ACT_PREV_VIEW,
	ACT_SORT,
	ACT_FILTER,
	ACT_PAUSE,
	ACT_INTERVAL_UP,    /* '+': sample less often */
	ACT_INTERVAL_DOWN,  /* '-': sample more often */
	ACT_EXPORT,
	ACT_HELP,
	ACT_REDRAW,
	ACT_RESIZE,
	ACT_MOUSE
};

/* What key means while browsing (not while typing a filter). */
enum ui_action keymap_action(int key);
/* The key to show for an action in the help screen, e.g. "s". */
const char *keymap_help_line(int i, const char **what);

#endif
