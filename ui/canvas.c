/*
 * canvas.c - the character grid views draw into; text is sanitized and
 * measured here, once, for every view.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "canvas.h"
#include "format.h"

/* Longer text is cut before measuring: no row is wider than this. */
#define PUT_MAX_BYTES 4096

canvas *canvas_new(int w, int h, bool utf8)
{
	canvas *self = calloc(1, sizeof(*self));
	if (!self)
		return NULL;
	self->utf8 = utf8;
	if (canvas_resize(self, w, h) != 0) {
		free(self);
		return NULL;
	}
	return self;
}

void canvas_free(canvas *self)
{
	if (!self)
		return;
	free(self->cells);
	free(self);
}

int canvas_resize(canvas *self, int w, int h)
{
	if (w < 1)
		w = 1;
	if (h < 1)
		h = 1;
	struct canvas_cell *c = calloc((size_t)w * (size_t)h, sizeof(*c));
	if (!c)
		return -1;
	free(self->cells);
	self->cells = c;
	self->w = w;
	self->h = h;
	canvas_clear(self);
	return 0;
}

static struct canvas_cell *cell(canvas *self, int y, int x)
{
	return &self->cells[(size_t)y * (size_t)self->w + (size_t)x];
}

static void set_blank(struct canvas_cell *c, int style)
{
	c->ch[0] = ' ';
	c->ch[1] = '\0';
	c->width = 1;
	c->style = (uint8_t)style;
}

void canvas_clear(canvas *self)
{
	for (int i = 0; i < self->w * self->h; i++)
		set_blank(&self->cells[i], STYLE_NORMAL);
}

const struct canvas_cell *canvas_at(const canvas *self, int y, int x)
{
	if (y < 0 || y >= self->h || x < 0 || x >= self->w)
		return NULL;
	return &self->cells[(size_t)y * (size_t)self->w + (size_t)x];
}

/* Overwriting half of a wide character would leave the other half on the
 * terminal: blank the orphan. */
static void unwide(canvas *self, int y, int x)
{
	struct canvas_cell *c = cell(self, y, x);
	if (c->width == 0 && x > 0)
		set_blank(cell(self, y, x - 1), cell(self, y, x - 1)->style);
	if (c->width == 2 && x + 1 < self->w)
		set_blank(cell(self, y, x + 1), cell(self, y, x + 1)->style);
}

static void put_char(canvas *self, int y, int x, int width, int style, const char *bytes,
		     size_t n)
{
	unwide(self, y, x);
	if (width == 2)
		unwide(self, y, x + 1);
	struct canvas_cell *c = cell(self, y, x);
	if (n >= CANVAS_CELL_BYTES)
		n = CANVAS_CELL_BYTES - 1;
	memcpy(c->ch, bytes, n);
	c->ch[n] = '\0';
	c->width = (uint8_t)width;
	c->style = (uint8_t)style;
	if (width == 2) {
		struct canvas_cell *r = cell(self, y, x + 1);
		r->ch[0] = '\0';
		r->width = 0;
		r->style = (uint8_t)style;
	}
}

/* Add a combining mark to the character left of x, if there is room. */
static void combine(canvas *self, int y, int x, const char *bytes, size_t n)
{
	if (x <= 0)
		return;
	struct canvas_cell *c = cell(self, y, x - 1);
	if (c->width == 0 && x > 1)
		c = cell(self, y, x - 2);
	size_t have = strlen(c->ch);
	if (have + n < CANVAS_CELL_BYTES) {
		memcpy(c->ch + have, bytes, n);
		c->ch[have + n] = '\0';
	}
}

/* Walk sanitized text; with self NULL only measure. */
static int layout(canvas *self, const canvas *shape, int y, int x, int maxw, int style,
		  const char *text)
{
	char safe[PUT_MAX_BYTES];
	format_sanitize(safe, sizeof(safe), text ? text : "", strlen(text ? text : ""));
	const unsigned char *p = (const unsigned char *)safe;
	size_t left = strlen(safe);
	int col = 0;
	while (left > 0 && (maxw < 0 || col < maxw)) {
		uint32_t cp;
		size_t n = format_utf8_decode(p, left, &cp);
		const char *bytes = (const char *)p;
		size_t nb = n;
		int width;
		if (cp < 0x80) {
			width = 1;
		} else if (!shape->utf8 || cp == FORMAT_UTF8_INVALID) {
			bytes = "?";
			nb = 1;
			width = 1;
		} else {
			width = wcwidth((wchar_t)cp);
			if (width < 0) {
				bytes = "?";
				nb = 1;
				width = 1;
			}
		}
		p += n;
		left -= n;
		if (width == 0) {
			if (self)
				combine(self, y, x + col, bytes, nb);
			continue;
		}
		if (maxw >= 0 && col + width > maxw)
			break;
		if (self) {
			if (x + col + width > self->w)
				break;
			if (x + col >= 0)
				put_char(self, y, x + col, width, style, bytes, nb);
		}
		col += width;
	}
	return col;
}

int canvas_put(canvas *self, int y, int x, int maxw, int style, const char *text)
{
	if (y < 0 || y >= self->h || x >= self->w || x < 0 || maxw == 0)
		return 0;
	if (maxw < 0 || maxw > self->w - x)
		maxw = self->w - x;
	return layout(self, self, y, x, maxw, style, text);
}

int canvas_put_right(canvas *self, int y, int x, int w, int style, const char *text)
{
	int tw = canvas_text_width(self, text);
	if (tw > w)
		tw = w;
	return canvas_put(self, y, x + w - tw, tw, style, text);
}

int canvas_printf(canvas *self, int y, int x, int maxw, int style, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return canvas_put(self, y, x, maxw, style, buf);
}

int canvas_put_wrapped(canvas *self, int y, int x, int w, int rows, int style, const char *text)
{
	char line[PUT_MAX_BYTES];
	const char *p = text ? text : "";
	int used = 0;
	while (*p && used < rows && w > 0) {
		while (*p == ' ')
			p++;
		/* The longest run of words that fits; a word longer than a row is
		 * cut by canvas_put. */
		size_t fit = 0, n = 0;
		for (;;) {
			size_t end = n;
			while (p[end] && p[end] != ' ')
				end++;
			if (end >= sizeof(line))
				break;
			memcpy(line, p, end);
			line[end] = '\0';
			if (canvas_text_width(self, line) > w && fit > 0)
				break;
			fit = end;
			if (!p[end])
				break;
			n = end + 1;
		}
		if (fit == 0)
			break;
		memcpy(line, p, fit);
		line[fit] = '\0';
		canvas_put(self, y + used, x, w, style, line);
		used++;
		p += fit;
	}
	return used;
}

int canvas_text_width(const canvas *self, const char *text)
{
	return layout(NULL, self, 0, 0, -1, 0, text);
}

void canvas_fill(canvas *self, int y, int x, int w, int style, const char *glyph)
{
	if (y < 0 || y >= self->h)
		return;
	size_t n = strlen(glyph);
	for (int i = 0; i < w; i++) {
		int cx = x + i;
		if (cx < 0)
			continue;
		if (cx >= self->w)
			break;
		put_char(self, y, cx, 1, style, glyph, n);
	}
}

void canvas_restyle(canvas *self, int y, int x, int w, int style)
{
	if (y < 0 || y >= self->h)
		return;
	for (int i = 0; i < w; i++) {
		int cx = x + i;
		if (cx >= 0 && cx < self->w)
			cell(self, y, cx)->style = (uint8_t)style;
	}
}

char *canvas_row_text(const canvas *self, int y, char *buf, size_t len)
{
	if (!len)
		return buf;
	buf[0] = '\0';
	if (y < 0 || y >= self->h)
		return buf;
	size_t n = 0, keep = 0;
	for (int x = 0; x < self->w; x++) {
		const struct canvas_cell *c = canvas_at(self, y, x);
		if (c->width == 0)
			continue;
		size_t m = strlen(c->ch);
		if (n + m + 1 > len)
			break;
		memcpy(buf + n, c->ch, m);
		n += m;
		if (strcmp(c->ch, " ") != 0)
			keep = n;
	}
	buf[keep] = '\0';
	return buf;
}

int canvas_find_row(const canvas *self, const char *needle)
{
	size_t len = (size_t)self->w * CANVAS_CELL_BYTES + 1;
	char *row = malloc(len);
	if (!row)
		return -1;
	int found = -1;
	for (int y = 0; y < self->h && found < 0; y++)
		if (strstr(canvas_row_text(self, y, row, len), needle))
			found = y;
	free(row);
	return found;
}

bool canvas_contains(const canvas *self, const char *needle)
{
	return canvas_find_row(self, needle) >= 0;
}
