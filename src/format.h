/*
 * format.h - human-readable figures for the text report and the viewer.
 *
 * Every function writes a NUL-terminated string into the caller's buffer
 * (truncating to fit, never overflowing) and returns that buffer, so calls
 * can be used directly as printf arguments.  FORMAT_LEN bytes always hold
 * the whole result of the number formatters.  Output never depends on the
 * process locale: columns line up and scripts can parse the batch report
 * whatever LC_NUMERIC says.
 */
#ifndef MEMTOP_FORMAT_H
#define MEMTOP_FORMAT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define FORMAT_LEN 32

/* The one frame shown for the samples the collector could not give a
 * stack of their own: a thread tracks 256 stacks (MT_AREA_STACKS) and the
 * process a table of them, and a call may unwind to nothing. */
#define FORMAT_CATCH_ALL_STACK \
	"[other stacks: beyond a thread's 256 or the process's table, or not unwound]"

/* Binary units.  Below 1024 the exact count ("0 B", "1023 B"); above, three
 * significant digits and the largest unit that keeps the number below 1000
 * ("1.00 KiB", "12.3 MiB", "999 MiB", "0.98 GiB").  Negative values get a
 * leading '-'. */
char *format_bytes(char *buf, size_t len, int64_t bytes);

/* Counts: whole numbers below 1000 as they are ("999"), fractions with one
 * decimal ("2.5", "<0.1" for tiny non-zero values), then decimal suffixes
 * k M G T P E with one decimal below 100 ("1.2k", "12.3M", "123G").
 * Non-finite values give "n/a". */
char *format_count(char *buf, size_t len, double n);

/* A count per second: format_count plus "/s" ("1.2k/s"); non-finite: "n/a". */
char *format_rate(char *buf, size_t len, double per_sec);

/* Seconds: "0.50s" below 10 s, "12.3s" below a minute, "5m03s" below an
 * hour, then "2h05m".  Non-finite: "n/a"; negative values get a '-'. */
char *format_duration(char *buf, size_t len, double secs);

/* Make text from an untrusted source (thread names, command lines) safe to
 * print on a terminal.  src is read up to srclen bytes or its first NUL.
 * Valid UTF-8 is kept except control characters (C0, DEL, C1) and the
 * bidirectional formatting characters, which become '?'; every maximal
 * invalid UTF-8 sequence becomes one '?'.  The result is never longer than
 * the input and is truncated only at character boundaries. */
char *format_sanitize(char *buf, size_t len, const char *src, size_t srclen);

/* One "memtop: ..." line on stderr, sanitized as format_sanitize does: the
 * message may quote paths, arguments and names, which are hostile input. */
void format_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void format_vwarn(const char *fmt, va_list ap);

/* Decode one UTF-8 character from s (n > 0 bytes available).  Returns the
 * number of bytes it takes (at least 1) and stores the code point in *cp,
 * or FORMAT_UTF8_INVALID when the bytes are not valid UTF-8 (overlong
 * forms, surrogates and values above U+10FFFF are invalid); the length then
 * covers the maximal invalid subpart, as Unicode recommends for
 * substitution. */
#define FORMAT_UTF8_INVALID 0xffffffffu
size_t format_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Terminal columns a code point takes: 0 for combining marks, 2 for East
 * Asian wide and fullwidth characters and emoji, 1 otherwise. */
unsigned format_cp_width(uint32_t cp);

/* Sanitize s (as format_sanitize) and fit it to exactly `width` terminal
 * columns: cut at a character boundary, then padded with spaces. */
char *format_fit(char *buf, size_t len, const char *s, unsigned width);

#endif
