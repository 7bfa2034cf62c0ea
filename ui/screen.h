/*
 * screen.h - the terminal: start and stop curses, copy a canvas to the
 * screen, read keys and mouse clicks as keymap.h codes, notice resizes,
 * and restore the terminal on every way out (normal exit, exit(), fatal
 * signals).
 *
 * This interface has no curses types; the implementation is the only
 * file that includes curses (through curses_compat.h).
 */
#ifndef MEMTOP_UI_SCREEN_H
#define MEMTOP_UI_SCREEN_H

#include <stdbool.h>
#include <stddef.h>

#include "canvas.h"

typedef struct screen screen;

/* Can the viewer run on in_fd/out_fd?  Both must be terminals of a type
 * terminfo knows with cursor addressing, at least min_w x min_h.  0, or -1
 * with a one-line message (suggesting --batch) in err. */
int screen_preflight(int in_fd, int out_fd, int min_w, int min_h, char *err, size_t errlen);
/* Colours unless NO_COLOR is set to a non-empty value (no-color.org). */
bool screen_want_colour(const char *no_color);
/* The locale's character set is UTF-8 (call after setlocale). */
bool screen_locale_utf8(void);

/* Start curses on the terminal in_fd/out_fd.  NULL with a message in err. */
screen *screen_new(int in_fd, int out_fd, bool colour, char *err, size_t errlen);
/* Leave curses and restore the terminal; safe to call twice. */
void screen_free(screen *self);
void screen_size(const screen *self, int *w, int *h);
/* True (once) if the terminal changed size since the last call; curses
 * has then been told the new size. */
bool screen_resized(screen *self);
/* Show c; full forces a complete repaint (after ^L or a resize). */
void screen_draw(screen *self, const canvas *c, bool full);
/* The next key, or UI_KEY_NONE when none is waiting (never blocks). */
int screen_key(screen *self);
/* Where the last UI_KEY_MOUSE happened. */
void screen_mouse(const screen *self, int *x, int *y);
/* Whether colours are in use. */
bool screen_colour(const screen *self);

#endif
