/*
 * json.c - the streaming JSON writer: comma placement by nesting level,
 * string escaping that is safe in HTML and terminals, and numbers written
 * independently of the process locale.
 */
#include "config.h"

#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "json.h"

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

void json_init(struct json *self, FILE *f)
{
	self->f = f;
	self->depth = 0;
	memset(self->first, 1, sizeof self->first);
	self->pending_key = false;
}

static int level(const struct json *self)
{
	if (self->depth < 0)
		return 0;
	return self->depth > JSON_MAX_DEPTH ? JSON_MAX_DEPTH : self->depth;
}

/* Separates this value from the previous one at the same level.  Top-level
 * values are separate records (JSON Lines), never comma-joined. */
static void before_value(struct json *self)
{
	if (self->pending_key) {
		self->pending_key = false;
		return;
	}
	if (self->depth > 0) {
		if (!self->first[level(self)])
			fputc(',', self->f);
		self->first[level(self)] = 0;
	}
}

static void open_level(struct json *self, char c)
{
	before_value(self);
	fputc(c, self->f);
	self->depth++;
	self->first[level(self)] = 1;
}

static void close_level(struct json *self, char c)
{
	if (self->depth > 0)
		self->depth--;
	self->pending_key = false;
	fputc(c, self->f);
}

void json_begin_object(struct json *self)
{
	open_level(self, '{');
}

void json_end_object(struct json *self)
{
	close_level(self, '}');
}

void json_begin_array(struct json *self)
{
	open_level(self, '[');
}

void json_end_array(struct json *self)
{
	close_level(self, ']');
}

void json_key(struct json *self, const char *key)
{
	before_value(self);
	json_escape(self->f, key ? key : "", key ? strlen(key) : 0);
	fputc(':', self->f);
	self->pending_key = true;
}

void json_string(struct json *self, const char *s)
{
	json_string_n(self, s, s ? strlen(s) : 0);
}

void json_string_n(struct json *self, const char *s, size_t n)
{
	before_value(self);
	if (s)
		json_escape(self->f, s, n);
	else
		fputs("null", self->f);
}

void json_int(struct json *self, int64_t v)
{
	before_value(self);
	fprintf(self->f, "%" PRId64, v);
}

void json_uint(struct json *self, uint64_t v)
{
	before_value(self);
	fprintf(self->f, "%" PRIu64, v);
}

/* Shortest of %.15g..%.17g that reads back exactly, so 0.1 stays "0.1"
 * while no figure loses precision.  Formatting and reading back both use
 * the C locale: a viewer's setlocale() must not turn '.' into ','. */
static void format_double(char *buf, size_t len, double v)
{
	locale_t old = (locale_t)0;

	pthread_once(&c_locale_once, c_locale_init);
	if (c_locale)
		old = uselocale(c_locale);
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (c_locale)
		uselocale(old);
	/* Keeps the number a float for typed readers: 2.0, not 2. */
	if (!strpbrk(buf, ".e")) {
		size_t n = strlen(buf);
		if (n + 2 < len)
			memcpy(buf + n, ".0", 3);
	}
}

void json_double(struct json *self, double v)
{
	char buf[40];

	before_value(self);
	if (!isfinite(v)) {
		fputs("null", self->f);
		return;
	}
	format_double(buf, sizeof buf, v);
	fputs(buf, self->f);
}

void json_null(struct json *self)
{
	before_value(self);
	fputs("null", self->f);
}

void json_bool(struct json *self, bool v)
{
	before_value(self);
	fputs(v ? "true" : "false", self->f);
}

void json_newline(struct json *self)
{
	fputc('\n', self->f);
}

/* The escape for one code point, or NULL when it may be written raw. */
static const char *escape_for(uint32_t cp, char tmp[12])
{
	switch (cp) {
	case '"':  return "\\\"";
	case '\\': return "\\\\";
	case '\b': return "\\b";
	case '\f': return "\\f";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	case FORMAT_UTF8_INVALID: return "\\ufffd";
	}
	/* C1 controls are valid JSON raw, but escaped they cannot reach a
	 * terminal that someone points at the output. */
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == '<' || cp == '>' ||
	    cp == '&' || cp == 0x2028 || cp == 0x2029) {
		snprintf(tmp, 12, "\\u%04x", (unsigned)cp);
		return tmp;
	}
	return NULL;
}

void json_escape(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;
	char tmp[12];

	fputc('"', f);
	while (i < n) {
		uint32_t cp;
		size_t k = format_utf8_decode(p + i, n - i, &cp);
		const char *esc = escape_for(cp, tmp);

		if (esc) {
			/* Safe bytes are written in runs, not one by one. */
			if (i > run)
				fwrite(p + run, 1, i - run, f);
			fputs(esc, f);
			run = i + k;
		}
		i += k;
	}
	if (n > run)
		fwrite(p + run, 1, n - run, f);
	fputc('"', f);
}
