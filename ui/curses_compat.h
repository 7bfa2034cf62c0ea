/*
 * curses_compat.h - the one place memtop includes curses.
 *
 * Only ui/screen.c includes this header: every other file of the viewer
 * draws into a canvas and reads keys as keymap.h codes, so curses macros
 * (which define names like `timeout`, `move`, `clear` and `erase`) never
 * collide with memtop's own code.  Wide-character functions (get_wch) need
 * the X/Open extended interface of ncursesw.
 */
#ifndef MEMTOP_UI_CURSES_COMPAT_H
#define MEMTOP_UI_CURSES_COMPAT_H

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <curses.h>
#include <term.h>

/* term.h defines macros named after terminfo capabilities (lines,
 * columns, ...); none of them is used here and they clash easily. */
#undef lines
#undef columns

#endif
