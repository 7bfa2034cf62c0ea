/*
 * sparkline.c - scaling and drawing timelines as text (see sparkline.h).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "sparkline.h"

static const char *const blocks_utf8[SPARK_LEVELS] = {
	"\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"
};
static const char *const blocks_ascii[SPARK_LEVELS] = {
	"_", ".", ":", "-", "=", "+", "*", "#"
};

static double field(const struct history_point *p, enum spark_field f)
{
	switch (f) {
	case SPARK_LIVE: return p->live_bytes;
	case SPARK_RATE: return p->alloc_rate;
	case SPARK_RSS: return p->rss_bytes;
	case SPARK_CPU: return p->cpu_percent;
	}
	return NAN;
}

size_t spark_series(const struct history *h, enum spark_field f, size_t max, double *v,
		    double *t)
{
	if (!h || !h->pts || h->len == 0)
		return 0;
	size_t n = h->len < max ? h->len : max;
	size_t first = h->len - n;
	for (size_t i = 0; i < n; i++) {
		const struct history_point *p = history_at(h, first + i);
		if (v)
			v[i] = field(p, f);
		if (t)
			t[i] = p->t;
	}
	return n;
}

double spark_max(const double *v, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i]) && v[i] > m)
			m = v[i];
	return m;
}

double spark_lift(double *v, size_t n)
{
	double lo = 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i]) && v[i] < lo)
			lo = v[i];
	if (lo < 0)
		for (size_t i = 0; i < n; i++)
			if (isfinite(v[i]))
				v[i] -= lo;
	return lo;
}

int spark_level(double v, double max)
{
	if (!isfinite(v))
		return -1;
	if (v <= 0 || !(max > 0))
		return 0;
	double l = ceil(v / max * SPARK_LEVELS) - 1;
	if (l < 0)
		l = 0;
	if (l > SPARK_LEVELS - 1)
		l = SPARK_LEVELS - 1;
	return (int)l;
}

/* Append s to buf at *n if it fits, keeping buf terminated. */
static void append(char *buf, size_t len, size_t *n, const char *s)
{
	size_t m = strlen(s);
	if (*n + m + 1 > len)
		return;
	memcpy(buf + *n, s, m + 1);
	*n += m;
}

char *spark_render(char *buf, size_t len, const double *v, size_t n, double max, bool utf8)
{
	if (!len)
		return buf;
	buf[0] = '\0';
	size_t used = 0;
	const char *const *g = utf8 ? blocks_utf8 : blocks_ascii;
	for (size_t i = 0; i < n; i++) {
		int l = spark_level(v[i], max);
		append(buf, len, &used, l < 0 ? " " : g[l]);
	}
	return buf;
}

char *spark_render_row(char *buf, size_t len, const double *v, size_t n, double max,
		       int height, int row, bool utf8)
{
	if (!len)
		return buf;
	buf[0] = '\0';
	size_t used = 0;
	/* ASCII has no partial blocks worth the name: two steps per row. */
	int per_row = utf8 ? SPARK_LEVELS : 2;
	int base = (height - 1 - row) * per_row;
	for (size_t i = 0; i < n; i++) {
		const char *glyph = " ";
		if (isfinite(v[i]) && v[i] > 0 && max > 0) {
			double units = ceil(v[i] / max * height * per_row);
			int fill = (int)(units - base);
			if (fill > per_row)
				fill = per_row;
			if (fill > 0)
				glyph = utf8 ? blocks_utf8[fill - 1] : (fill == 1 ? "." : "|");
		}
		append(buf, len, &used, glyph);
	}
	return buf;
}

/* Put label into the n-column line at column col (clamped so it fits). */
static void place(char *line, size_t n, size_t col, const char *label)
{
	size_t m = strlen(label);
	if (m > n)
		return;
	if (col + m > n)
		col = n - m;
	memcpy(line + col, label, m);
}

char *spark_axis(char *buf, size_t len, const double *t, size_t n, const char *end_label)
{
	if (!len)
		return buf;
	if (n + 1 > len)
		n = len - 1;
	memset(buf, ' ', n);
	buf[n] = '\0';
	if (n == 0)
		return buf;
	const char *end = end_label ? end_label : "now";
	size_t elen = strlen(end);
	place(buf, n, n > elen ? n - elen : 0, end);
	size_t right_edge = n > elen ? n - elen : 0;
	if (n < 2)
		return buf;
	char ago[FORMAT_LEN + 1], num[FORMAT_LEN];
	double last = t[n - 1];
	snprintf(ago, sizeof(ago), "-%s", format_duration(num, sizeof(num), last - t[0]));
	size_t left_end = 0;
	if (strlen(ago) + 1 < right_edge) {
		place(buf, n, 0, ago);
		left_end = strlen(ago);
	}
	/* The middle label needs a gap on both sides, or it is left out. */
	size_t mid = n / 2;
	snprintf(ago, sizeof(ago), "-%s", format_duration(num, sizeof(num), last - t[mid]));
	size_t m = strlen(ago);
	size_t at = mid >= m / 2 ? mid - m / 2 : 0;
	if (last - t[mid] > 0 && at > left_end + 1 && at + m + 1 < right_edge)
		place(buf, n, at, ago);
	return buf;
}
