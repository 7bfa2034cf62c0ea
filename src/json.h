/*
 * json.h - a small streaming JSON writer for the JSON Lines output.
 *
 * Values go straight to a FILE *, compact (no spaces).  The writer tracks
 * nesting to place commas, so callers only say what comes next:
 *
 *     json_begin_object(&j);
 *     json_key(&j, "pid");  json_int(&j, 123);
 *     json_key(&j, "name"); json_string(&j, name);
 *     json_end_object(&j);
 *     json_newline(&j);          -> {"pid":123,"name":"..."}\n
 *
 * Strings are escaped for embedding anywhere: control characters, invalid
 * UTF-8 (as U+FFFD), '<' '>' '&' and U+2028/U+2029 never appear raw, so a
 * line can go into an HTML <script> block or a terminal unharmed.
 * Nesting deeper than JSON_MAX_DEPTH levels is not tracked.  I/O errors are
 * left on the stream for the caller's ferror().
 */
#ifndef MEMTOP_JSON_H
#define MEMTOP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 63

struct json {
	FILE *f;
	int depth;
	unsigned char first[64];   /* first[d]: nothing written yet at depth d */
	bool pending_key;          /* a key was written, its value comes next */
};

void json_init(struct json *self, FILE *f);

void json_begin_object(struct json *self);
void json_end_object(struct json *self);
void json_begin_array(struct json *self);
void json_end_array(struct json *self);

/* The next value belongs to key (inside an object).  NULL is written as "". */
void json_key(struct json *self, const char *key);

/* NULL writes null. */
void json_string(struct json *self, const char *s);
void json_string_n(struct json *self, const char *s, size_t n);

void json_int(struct json *self, int64_t v);
void json_uint(struct json *self, uint64_t v);
/* The shortest form that reads back as the same double, always with a '.'
 * or an exponent ("2.0", "0.1", "1e+300"); NaN and infinities write null. */
void json_double(struct json *self, double v);
void json_null(struct json *self);
void json_bool(struct json *self, bool v);

/* Ends a JSON Lines record: "\n". */
void json_newline(struct json *self);

/* Writes the n bytes of s as one quoted, escaped JSON string. */
void json_escape(FILE *f, const char *s, size_t n);

#endif
