/*
 * sparkline.h - timelines as text: pick the newest points of a session
 * history, scale them to block characters (Unicode eighth blocks when the
 * terminal takes UTF-8, an ASCII ramp otherwise), stack several rows for
 * taller charts, and label the time axis.
 *
 * One column is one sample, newest on the right, like top's and btop's
 * graphs; the axis labels say how long ago the sample under them was taken,
 * so a pause (no samples) never bends the time scale silently.
 * Values are scaled from 0 to the largest value shown, so heights compare
 * across a chart; a point that was not measured (NAN) is a blank column.
 */
#ifndef MEMTOP_UI_SPARKLINE_H
#define MEMTOP_UI_SPARKLINE_H

#include <stdbool.h>
#include <stddef.h>

#include "session.h"

enum spark_field { SPARK_LIVE, SPARK_RATE, SPARK_RSS, SPARK_CPU };

/* Glyphs per row: 8 eighth blocks (UTF-8) or 8 ASCII characters. */
#define SPARK_LEVELS 8

/* Copy the newest (at most max) points of field from h into v, their times
 * into t (either may be NULL); returns how many, oldest first. */
size_t spark_series(const struct history *h, enum spark_field f, size_t max, double *v,
		    double *t);
/* Largest finite value, or 0. */
double spark_max(const double *v, size_t n);
/* A series with negative points (the net live bytes of a thread that frees
 * what others allocated) is drawn from its lowest point: every finite
 * point is raised by -min.  Returns min, or 0 when nothing was negative. */
double spark_lift(double *v, size_t n);
/* 0..SPARK_LEVELS-1 for a one-row sparkline; -1 for a missing value.
 * 0 and below, or max <= 0, give level 0; max gives the top level. */
int spark_level(double v, double max);
/* One-row sparkline of n values into buf (UTF-8); returns buf. */
char *spark_render(char *buf, size_t len, const double *v, size_t n, double max, bool utf8);
/* Row `row` (0 = top) of a chart `height` rows tall; returns buf. */
char *spark_render_row(char *buf, size_t len, const double *v, size_t n, double max,
		       int height, int row, bool utf8);
/* The time axis under n columns whose sample times are t (seconds, oldest
 * first): "-1m00s ... -30.0s ... now", exactly n columns wide (ASCII).
 * end_label replaces "now" (e.g. "end" once the command has ended). */
char *spark_axis(char *buf, size_t len, const double *t, size_t n, const char *end_label);

#endif
