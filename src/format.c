/*
 * format.c - human-readable figures (bytes, counts, rates, durations) and
 * terminal-safe text, for the text report and the viewer.
 */
#include "config.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "format.h"

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* snprintf with the C locale's decimal point: the viewer sets the user's
 * locale for its UTF-8 output, and "1,5 MiB" would break columns and the
 * batch output's parsers alike. */
__attribute__((format(printf, 3, 4)))
static void c_snprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	locale_t old = (locale_t)0;

	pthread_once(&c_locale_once, c_locale_init);
	if (c_locale)
		old = uselocale(c_locale);
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (c_locale)
		uselocale(old);
}

static size_t int_digits(const char *num)
{
	return strcspn(num, ".");
}

/* Three significant digits of v >= 0: "1.00", "12.3", "999".  False when v
 * rounds to 1000 or more, so the caller moves to the next unit instead of
 * printing a fourth digit. */
static bool render_sig3(char *num, size_t len, double v)
{
	for (int prec = 2; prec >= 0; prec--) {
		c_snprintf(num, len, "%.*f", prec, v);
		if (int_digits(num) <= (size_t)(3 - prec))
			return true;
	}
	return false;
}

/* One decimal below 100, none from 100 to 999: "1.2", "12.3", "123".
 * False when v rounds to 1000 or more. */
static bool render_dec1(char *num, size_t len, double v)
{
	c_snprintf(num, len, "%.1f", v);
	if (int_digits(num) <= 2)
		return true;
	c_snprintf(num, len, "%.0f", v);
	return int_digits(num) <= 3;
}

char *format_bytes(char *buf, size_t len, int64_t bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	const char *sign = bytes < 0 ? "-" : "";
	/* Written this way so INT64_MIN has a magnitude too. */
	uint64_t mag = bytes < 0 ? (uint64_t)(-(bytes + 1)) + 1 : (uint64_t)bytes;
	char num[FORMAT_LEN];
	size_t u = 0;

	if (len == 0)
		return buf;
	if (mag < 1024) {
		snprintf(buf, len, "%s%u B", sign, (unsigned)mag);
		return buf;
	}
	double v = (double)mag / 1024.0;
	/* 2^63 bytes is 8 EiB, so the last unit always fits. */
	while (!render_sig3(num, sizeof num, v) && u + 1 < sizeof units / sizeof units[0]) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, len, "%s%s %s", sign, num, units[u]);
	return buf;
}

char *format_count(char *buf, size_t len, double n)
{
	static const char suffixes[] = "kMGTPEZY";
	char num[FORMAT_LEN];

	if (len == 0)
		return buf;
	if (!isfinite(n)) {
		snprintf(buf, len, "n/a");
		return buf;
	}
	const char *sign = n < 0 ? "-" : "";
	double a = fabs(n);

	if (a < 1000) {
		if (a == floor(a)) {
			c_snprintf(buf, len, "%s%.0f", sign, a);
			return buf;
		}
		if (render_dec1(num, sizeof num, a)) {
			/* A rate that is not zero must not look like zero. */
			if (strcmp(num, "0.0") == 0)
				snprintf(buf, len, "%s", n < 0 ? ">-0.1" : "<0.1");
			else
				snprintf(buf, len, "%s%s", sign, num);
			return buf;
		}
	}
	double v = a;
	for (size_t u = 0; u < sizeof suffixes - 1; u++) {
		v /= 1000.0;
		if (render_dec1(num, sizeof num, v)) {
			snprintf(buf, len, "%s%s%c", sign, num, suffixes[u]);
			return buf;
		}
	}
	c_snprintf(buf, len, "%s%.3g", sign, a);
	return buf;
}

char *format_rate(char *buf, size_t len, double per_sec)
{
	char num[FORMAT_LEN];

	if (len == 0)
		return buf;
	if (!isfinite(per_sec)) {
		snprintf(buf, len, "n/a");
		return buf;
	}
	format_count(num, sizeof num, per_sec);
	snprintf(buf, len, "%s/s", num);
	return buf;
}

char *format_duration(char *buf, size_t len, double secs)
{
	char num[FORMAT_LEN];

	if (len == 0)
		return buf;
	if (!isfinite(secs)) {
		snprintf(buf, len, "n/a");
		return buf;
	}
	const char *sign = secs < 0 ? "-" : "";
	double s = fabs(secs);

	if (s < 10) {
		c_snprintf(num, sizeof num, "%.2f", s);
		if (int_digits(num) == 1) {
			snprintf(buf, len, "%s%ss", sign, num);
			return buf;
		}
	}
	if (s < 60) {
		c_snprintf(num, sizeof num, "%.1f", s);
		if (strcmp(num, "60.0") != 0) {
			snprintf(buf, len, "%s%ss", sign, num);
			return buf;
		}
	}
	if (s < 3600) {
		long r = lround(s);
		if (r < 3600) {
			snprintf(buf, len, "%s%ldm%02lds", sign, r / 60, r % 60);
			return buf;
		}
	}
	/* Doubles, not integers: an absurd duration must print, not overflow. */
	double minutes = round(s / 60.0);
	double hours = floor(minutes / 60.0);
	c_snprintf(buf, len, "%s%.0fh%02dm", sign, hours, (int)(minutes - hours * 60.0));
	return buf;
}

size_t format_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	/* The narrowed second-byte ranges exclude overlong forms, UTF-16
	 * surrogates and code points above U+10FFFF (RFC 3629 table). */
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		v = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		v = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		*cp = FORMAT_UTF8_INVALID;
		return 1;
	}
	for (size_t i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*cp = FORMAT_UTF8_INVALID;
			return i;
		}
		v = (v << 6) | (s[i] & 0x3fu);
		lo = 0x80;
		hi = 0xbf;
	}
	*cp = v;
	return need + 1;
}

/* Characters that would let text steer the terminal or the layout: control
 * codes (a C1 CSI starts escape sequences on some terminals even when
 * UTF-8 encoded), line separators, and bidi overrides that can make a name
 * display as something it is not. */
static bool unsafe_for_terminal(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
	       cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

char *format_sanitize(char *buf, size_t len, const char *src, size_t srclen)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t in = 0, out = 0;

	if (len == 0)
		return buf;
	while (in < srclen && s[in] != '\0') {
		uint32_t cp;
		size_t k = format_utf8_decode(s + in, srclen - in, &cp);

		if (cp == FORMAT_UTF8_INVALID || unsafe_for_terminal(cp)) {
			if (out + 1 >= len)
				break;
			buf[out++] = '?';
		} else {
			if (out + k >= len)
				break;
			memcpy(buf + out, s + in, k);
			out += k;
		}
		in += k;
	}
	buf[out] = '\0';
	return buf;
}

unsigned format_cp_width(uint32_t cp)
{
	if ((cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x200b && cp <= 0x200f) ||
	    (cp >= 0xfe00 && cp <= 0xfe0f))
		return 0;
	if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
	    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
	    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
	    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
	    (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd))
		return 2;
	return 1;
}

char *format_fit(char *buf, size_t len, const char *s, unsigned width)
{
	char safe[512];
	format_sanitize(safe, sizeof(safe), s, strlen(s));
	size_t in = 0, out = 0, n = strlen(safe);
	unsigned cols = 0;
	while (in < n) {
		uint32_t cp;
		size_t k = format_utf8_decode((const unsigned char *)safe + in, n - in, &cp);
		unsigned w = cp == FORMAT_UTF8_INVALID ? 1 : format_cp_width(cp);
		if (cols + w > width || out + k + 1 > len)
			break;
		memcpy(buf + out, safe + in, k);
		out += k;
		in += k;
		cols += w;
	}
	while (cols < width && out + 1 < len) {
		buf[out++] = ' ';
		cols++;
	}
	if (len)
		buf[out < len ? out : len - 1] = '\0';
	return buf;
}

void format_vwarn(const char *fmt, va_list ap)
{
	char msg[4096], safe[4096];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	format_sanitize(safe, sizeof(safe), msg, strlen(msg));
	fprintf(stderr, "memtop: %s\n", safe);
}

void format_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	format_vwarn(fmt, ap);
	va_end(ap);
}
