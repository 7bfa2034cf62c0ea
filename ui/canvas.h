/*
 * canvas.h - an in-memory character grid that every view draws into.
 *
 * Views never talk to curses: they put text into a canvas, and the screen
 * object copies the canvas to the terminal.  That keeps the views testable
 * (a test renders a frame and reads its rows back as text) and keeps all
 * terminal-safety rules in one place: text is sanitized on the way in, so
 * no control character or bidirectional override from a thread name, a
 * stack frame or the target's output can reach the terminal.
 */
#ifndef MEMTOP_UI_CANVAS_H
#define MEMTOP_UI_CANVAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Semantic styles; the screen maps them to colours or, without colours, to
 * bold/reverse/underline so that every distinction survives monochrome. */
enum style {
	STYLE_NORMAL,
	STYLE_TITLE,
	STYLE_TAB,
	STYLE_TAB_ACTIVE,
	STYLE_HEADER,
	STYLE_LABEL,
	STYLE_VALUE,
	STYLE_OK,
	STYLE_WARN,
	STYLE_CRIT,
	STYLE_DIM,
	STYLE_SELECTED,
	STYLE_STATUS,
	STYLE_MESSAGE,
	STYLE_SPARK,
	STYLE_KEY,
	STYLE_COUNT
};

#define CANVAS_CELL_BYTES 16

struct canvas_cell {
	char ch[CANVAS_CELL_BYTES];  /* one character (plus combining marks), UTF-8 */
	uint8_t width;               /* 1 or 2; 0: right half of a wide character */
	uint8_t style;
};

typedef struct canvas {
	int w, h;
	bool utf8;                   /* the terminal takes UTF-8; else ASCII only */
	struct canvas_cell *cells;
} canvas;

canvas *canvas_new(int w, int h, bool utf8);
void canvas_free(canvas *self);
/* 0, or -1 (out of memory: the canvas is unchanged). Clears the canvas. */
int canvas_resize(canvas *self, int w, int h);
void canvas_clear(canvas *self);

/* Put text at (y, x), at most maxw columns (maxw < 0: to the right edge).
 * Text is sanitized (format_sanitize); on an ASCII canvas every non-ASCII
 * character becomes '?'.  A wide character that does not fit is not
 * split.  Returns the columns written. */
int canvas_put(canvas *self, int y, int x, int maxw, int style, const char *text);
/* Like canvas_put, right-aligned so the text ends at column x + w - 1. */
int canvas_put_right(canvas *self, int y, int x, int w, int style, const char *text);
/* printf into a bounded buffer, then canvas_put. */
int canvas_printf(canvas *self, int y, int x, int maxw, int style, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* Word-wrap text into rows of w columns starting at (y, x), at most rows
 * rows; returns the rows used. */
int canvas_put_wrapped(canvas *self, int y, int x, int w, int rows, int style, const char *text);
/* Repeat glyph (one character, trusted) over w columns. */
void canvas_fill(canvas *self, int y, int x, int w, int style, const char *glyph);
/* Change the style of w columns without changing their text. */
void canvas_restyle(canvas *self, int y, int x, int w, int style);

const struct canvas_cell *canvas_at(const canvas *self, int y, int x);
/* Row y as UTF-8 text, trailing blanks removed; returns buf. */
char *canvas_row_text(const canvas *self, int y, char *buf, size_t len);
/* True if some row contains needle. */
bool canvas_contains(const canvas *self, const char *needle);
/* Row index of the first row containing needle, or -1. */
int canvas_find_row(const canvas *self, const char *needle);

/* Display width of text as canvas_put would draw it. */
int canvas_text_width(const canvas *self, const char *text);

#endif
