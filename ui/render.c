/*
 * render.c - the viewer's frames, drawn into a canvas (see render.h).
 *
 * Layout, top to bottom: a title row, the view tabs, the view's body, and
 * a status row.  Every figure comes from the session or from metrics.c;
 * what could not be measured is drawn as "n/a", never as 0.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "keymap.h"
#include "metrics.h"
#include "render.h"
#include "sparkline.h"

#define SPARK_MAX_COLS 1024

struct frame {
	canvas *c;
	const struct render_input *in;
	const struct session *s;
	struct render_geom *g;
	int w, h;
	int top, bottom;                 /* body rows: top .. bottom-1 */
};

/* ---------------------------------------------------------------- figures */

static const char *pct(char *buf, size_t len, double v)
{
	if (!isfinite(v))
		snprintf(buf, len, "n/a");
	else if (v < 10)
		snprintf(buf, len, "%.1f%%", v);
	else
		snprintf(buf, len, "%.0f%%", v);
	return buf;
}

static const char *bytes_or_na(char *buf, size_t len, bool valid, int64_t v)
{
	if (!valid) {
		snprintf(buf, len, "n/a");
		return buf;
	}
	return format_bytes(buf, len, v);
}

static int alert_style(enum alert_level a)
{
	return a == ALERT_CRITICAL ? STYLE_CRIT : a == ALERT_WARN ? STYLE_WARN : STYLE_OK;
}

static const char *alert_tag(const struct thread_stat *t)
{
	if (t->exited)
		return "EXITED";
	return t->alert == ALERT_CRITICAL ? "CRIT" : t->alert == ALERT_WARN ? "WARN" : "OK";
}

/* A thread's CPU % for display: an exited thread's last interval is stale
 * until the session's final (whole-run) figures. */
static double thread_cpu(const struct session *s, const struct thread_stat *t)
{
	return t->exited && !s->final ? NAN : t->cpu_percent;
}

/* ---------------------------------------------------------------- frame */

static void draw_title(struct frame *f)
{
	const struct session *s = f->s;
	canvas_fill(f->c, 0, 0, f->w, STYLE_TITLE, " ");
	char right[160], dur[FORMAT_LEN];
	int n = snprintf(right, sizeof(right), "%s  every %gs ",
			 format_duration(dur, sizeof(dur), s->elapsed_s), f->in->st->interval);
	if (f->in->st->paused && n > 0 && (size_t)n < sizeof(right))
		snprintf(right + n, sizeof(right) - (size_t)n, "PAUSED ");
	int rw = canvas_text_width(f->c, right);
	int x = canvas_put(f->c, 0, 0, f->w - rw - 1, STYLE_TITLE, " memtop ");
	char left[sizeof(((struct session *)0)->command) + 160];
	/* How the command ended matters more than the end of its name. */
	if (s->ended)
		snprintf(left, sizeof(left), "pid %d  [%s]  %s", s->pid, s->end_description,
			 s->command);
	else
		snprintf(left, sizeof(left), "pid %d  %s", s->pid, s->command);
	canvas_put(f->c, 0, x, f->w - rw - x - 1, STYLE_TITLE, left);
	canvas_put_right(f->c, 0, 0, f->w, STYLE_TITLE, right);
}

static void draw_tabs(struct frame *f)
{
	const struct ui_state *st = f->in->st;
	int x = 1;
	f->g->tab_y = 1;
	for (int v = 0; v < VIEW_COUNT; v++) {
		char label[32];
		snprintf(label, sizeof(label), " %s ", ui_view_name((enum ui_view)v));
		int style = (int)st->view == v && !st->focus ? STYLE_TAB_ACTIVE : STYLE_TAB;
		f->g->tab_x[v] = x;
		f->g->tab_w[v] = canvas_put(f->c, 1, x, -1, style, label);
		x += f->g->tab_w[v] + 1;
	}
	char right[200];
	if (st->filter[0])
		snprintf(right, sizeof(right), "sort: %s  filter: %s ", sort_key_name(st->sort),
			 st->filter);
	else
		snprintf(right, sizeof(right), "sort: %s ", sort_key_name(st->sort));
	if (x + canvas_text_width(f->c, right) < f->w)
		canvas_put_right(f->c, 1, x, f->w - x, STYLE_LABEL, right);
}

static void draw_status(struct frame *f)
{
	const struct ui_state *st = f->in->st;
	const struct session *s = f->s;
	int y = f->h - 1;
	canvas_fill(f->c, y, 0, f->w, STYLE_STATUS, " ");
	if (st->editing) {
		char line[UI_FILTER_LEN + 80];
		snprintf(line, sizeof(line), " Filter threads by name: %s_   (Enter keeps, Esc clears)",
			 st->filter);
		canvas_put(f->c, y, 0, f->w, STYLE_MESSAGE, line);
		return;
	}
	if (st->message[0]) {
		canvas_put(f->c, y, 1, f->w - 1, STYLE_MESSAGE, st->message);
		return;
	}
	if (s->ended) {
		/* How it ended first: a long command line must not push that
		 * off the row; the command comes after, cut if need be. */
		char line[700];
		snprintf(line, sizeof(line), "%s; final figures shown. q quits.  %s",
			 s->end_description, s->command);
		canvas_put(f->c, y, 1, f->w - 1, STYLE_MESSAGE, line);
		return;
	}
	if (f->in->notice) {
		canvas_put(f->c, y, 1, f->w - 1, STYLE_MESSAGE, f->in->notice);
		return;
	}
	static const char *const hints[][2] = {
		{ "q", "quit" }, { "?", "help" }, { "Tab", "view" }, { "Enter", "focus" },
		{ "s", "sort" }, { "/", "filter" }, { "space", "pause" }, { "+-", "interval" },
		{ "e", "export" },
	};
	int x = 1;
	for (size_t i = 0; i < sizeof(hints) / sizeof(*hints) && x < f->w; i++) {
		x += canvas_put(f->c, y, x, f->w - x, STYLE_KEY, hints[i][0]);
		x += canvas_put(f->c, y, x, f->w - x, STYLE_STATUS, " ");
		x += canvas_put(f->c, y, x, f->w - x, STYLE_STATUS, hints[i][1]);
		x += canvas_put(f->c, y, x, f->w - x, STYLE_STATUS, "  ");
	}
}

/* ---------------------------------------------------------------- pieces */

/* A one-row sparkline of the newest `width` points of h. */
static void draw_spark(struct frame *f, int y, int x, int width, const struct history *h,
		       enum spark_field field)
{
	if (width <= 0)
		return;
	if (width > SPARK_MAX_COLS)
		width = SPARK_MAX_COLS;
	double v[SPARK_MAX_COLS];
	size_t n = spark_series(h, field, (size_t)width, v, NULL);
	spark_lift(v, n);
	char line[SPARK_MAX_COLS * 4 + 1];
	spark_render(line, sizeof(line), v, n, spark_max(v, n), f->c->utf8);
	/* Newest on the right edge, like the time axis. */
	canvas_put(f->c, y, x + width - (int)n, (int)n, STYLE_SPARK, line);
}

static void draw_axis(struct frame *f, int y, int x, int width, const struct history *h)
{
	if (width <= 0)
		return;
	if (width > SPARK_MAX_COLS)
		width = SPARK_MAX_COLS;
	double t[SPARK_MAX_COLS];
	size_t n = spark_series(h, SPARK_LIVE, (size_t)width, NULL, t);
	char line[SPARK_MAX_COLS + 1];
	spark_axis(line, sizeof(line), t, n, f->s->ended ? "end" : "now");
	canvas_put(f->c, y, x + width - (int)n, (int)n, STYLE_DIM, line);
}

/* A chart `rows` tall of one field, newest on the right. */
static void draw_chart(struct frame *f, int y, int x, int width, int rows,
		       const struct history *h, enum spark_field field)
{
	if (width <= 0 || rows <= 0)
		return;
	if (width > SPARK_MAX_COLS)
		width = SPARK_MAX_COLS;
	double v[SPARK_MAX_COLS];
	size_t n = spark_series(h, field, (size_t)width, v, NULL);
	spark_lift(v, n);
	double max = spark_max(v, n);
	char line[SPARK_MAX_COLS * 4 + 1];
	for (int r = 0; r < rows; r++) {
		spark_render_row(line, sizeof(line), v, n, max, rows, r, f->c->utf8);
		canvas_put(f->c, y + r, x + width - (int)n, (int)n, STYLE_SPARK, line);
	}
}

static void card(struct frame *f, int x, int y, int w, const char *label, const char *value,
		 const char *sub, const struct history *h, enum spark_field field, bool spark)
{
	canvas_put(f->c, y, x + 1, w - 1, STYLE_LABEL, label);
	canvas_put(f->c, y + 1, x + 1, w - 1, STYLE_VALUE, value);
	canvas_put(f->c, y + 2, x + 1, w - 1, STYLE_NORMAL, sub);
	if (spark)
		draw_spark(f, y + 3, x + 1, w - 2, h, field);
}

/* ---------------------------------------------------------------- overview */

static void draw_cards(struct frame *f, int y)
{
	const struct session *s = f->s;
	const struct session_totals *t = &s->totals;
	bool heap = s->collector_seen;
	int cw = f->w / 6;
	char v[FORMAT_LEN * 2], sub[160], b[FORMAT_LEN];

	pct(v, sizeof(v), s->proc_cpu_percent);
	snprintf(sub, sizeof(sub), "system %s", pct(b, sizeof(b), s->sys_cpu_percent));
	card(f, 0, y, cw, "PROCESS CPU", v, sub, &s->hist, SPARK_CPU, true);

	/* The full reason is in the System view. */
	pct(v, sizeof(v), f->in->gpu_percent);
	card(f, cw, y, cw, "GPU", v, isfinite(f->in->gpu_percent) ? "all devices" : "no NVIDIA GPU",
	     NULL, SPARK_CPU, false);

	if (heap)
		format_count(v, sizeof(v), (double)t->allocs);
	else
		snprintf(v, sizeof(v), "n/a");
	format_rate(sub, sizeof(sub), heap ? t->alloc_rate : NAN);
	card(f, 2 * cw, y, cw, "ALLOCATIONS", v, sub, &s->hist, SPARK_RATE, true);

	bytes_or_na(v, sizeof(v), heap, t->live_bytes);
	snprintf(sub, sizeof(sub), "max %s", bytes_or_na(b, sizeof(b), heap, t->peak_live_bytes));
	card(f, 3 * cw, y, cw, "LIVE HEAP", v, sub, &s->hist, SPARK_LIVE, true);

	bytes_or_na(v, sizeof(v), s->proc_valid && s->proc.rss_valid, (int64_t)s->proc.rss_bytes);
	snprintf(sub, sizeof(sub), "vsz %s",
		 bytes_or_na(b, sizeof(b), s->proc_valid, (int64_t)s->proc.vsize_bytes));
	card(f, 4 * cw, y, cw, "RSS", v, sub, &s->hist, SPARK_RSS, true);

	pct(v, sizeof(v), metrics_heap_efficiency(s));
	double frag = session_fragmentation(s);
	snprintf(sub, sizeof(sub), "frag %s", pct(b, sizeof(b), isfinite(frag) ? 100 * frag : NAN));
	card(f, 5 * cw, y, f->w - 5 * cw, "EFFICIENCY", v, sub, NULL, SPARK_CPU, false);
}

static void draw_thread_card(struct frame *f, const struct thread_stat *t, int x, int y, int w,
			     bool selected)
{
	const struct session *s = f->s;
	int cw = w - 1;                  /* the last column separates cards */
	bool dim = t->exited;
	int base = dim ? STYLE_DIM : STYLE_NORMAL;
	const char *tag = alert_tag(t);
	int tagw = (int)strlen(tag);
	char line[200], a[FORMAT_LEN], b[FORMAT_LEN];

	snprintf(line, sizeof(line), "%d %s", t->tid, t->name);
	canvas_put(f->c, y, x, cw - tagw - 1, dim ? STYLE_DIM : STYLE_HEADER, line);
	snprintf(line, sizeof(line), "allocs %s  %s", format_count(a, sizeof(a), (double)t->c.allocs),
		 format_rate(b, sizeof(b), t->alloc_rate));
	canvas_put(f->c, y + 1, x, cw, base, line);
	snprintf(line, sizeof(line), "peak %s  cpu %s",
		 format_bytes(a, sizeof(a), t->c.peak_live), pct(b, sizeof(b), thread_cpu(s, t)));
	canvas_put(f->c, y + 2, x, cw, base, line);
	int64_t io = metrics_thread_io_calls(t);
	if (io >= 0)
		format_count(b, sizeof(b), (double)io);
	else
		snprintf(b, sizeof(b), "n/a");
	snprintf(line, sizeof(line), "live %s  io %s", format_bytes(a, sizeof(a),
		 metrics_thread_live(t)), b);
	canvas_put(f->c, y + 3, x, cw, base, line);
	if (selected)
		for (int r = 0; r < 4; r++)
			canvas_restyle(f->c, y + r, x, cw, STYLE_SELECTED);
	canvas_put_right(f->c, y, x, cw, dim ? STYLE_DIM : alert_style(t->alert), tag);
}

/* Settle the selection and the page that shows it. */
static long settle(struct frame *f, struct grid *g)
{
	long sel = ui_state_selection(f->in->st, f->in->list);
	f->g->page = sel >= 0 ? grid_page_of(g, (size_t)sel) : 0;
	f->g->grid = *g;
	f->g->has_grid = true;
	return sel;
}

static void draw_output_lines(struct frame *f, int y, int rows, long scroll)
{
	const outpane *o = f->in->out;
	if (!o || rows <= 0)
		return;
	size_t n = outpane_count(o);
	if (scroll > (long)n)
		scroll = (long)n;
	long end = (long)n - scroll;
	long start = end - rows;
	if (start < 0)
		start = 0;
	for (long i = start; i < end; i++)
		canvas_put(f->c, y + (int)(i - start), 1, f->w - 2, STYLE_NORMAL,
			   outpane_line(o, (size_t)i));
	if (n == 0)
		canvas_put(f->c, y, 1, f->w - 2, STYLE_DIM, "(no output yet)");
}

static void output_header(struct frame *f, int y, const char *title)
{
	const outpane *o = f->in->out;
	char line[4400];
	if (!o) {
		canvas_put(f->c, y, 0, f->w, STYLE_HEADER, title);
		return;
	}
	char b[FORMAT_LEN];
	snprintf(line, sizeof(line), "%s  %llu lines, %s, all kept in %s", title,
		 (unsigned long long)outpane_total_lines(o),
		 format_bytes(b, sizeof(b), (int64_t)outpane_bytes(o)), outpane_path(o));
	canvas_put(f->c, y, 0, f->w, STYLE_HEADER, line);
}

static void draw_overview(struct frame *f)
{
	const struct session *s = f->s;
	const threadlist *l = f->in->list;
	int y = f->top;
	draw_cards(f, y);
	y += 4;
	int body = f->bottom - f->top;
	int out_rows = f->in->out ? (body >= 34 ? 7 : 5) : 0;   /* header included */
	int grid_top = y + 1, grid_h = f->bottom - out_rows - grid_top;
	struct grid g;
	grid_layout(&g, 0, grid_top, f->w, grid_h, RENDER_CARD_W, RENDER_CARD_H, l->n);
	long sel = settle(f, &g);
	size_t seen, exited;
	metrics_thread_counts(s, &seen, &exited);
	char line[300], all[48] = "";
	/* The collector sees a thread at its first allocation: /proc's count
	 * says how many never allocated (a thread that only waits). */
	if (s->proc_valid && !s->ended && s->proc.num_threads > 0)
		snprintf(all, sizeof(all), "   %d in the process", s->proc.num_threads);
	snprintf(line, sizeof(line), "THREADS  %zu shown of %zu, %zu exited%s   page %zu/%zu",
		 l->n, seen, exited, all, f->g->page + 1, g.pages);
	canvas_put(f->c, y, 0, f->w, STYLE_HEADER, line);
	if (!s->collector_seen)
		canvas_put(f->c, grid_top, 1, f->w - 2, STYLE_DIM,
			   s->ended ? "the command ended without loading the collector: no threads"
				    : "waiting for the collector in the command...");
	else if (l->n == 0)
		canvas_put(f->c, grid_top, 1, f->w - 2, STYLE_DIM, "no thread matches the filter");
	size_t first = grid_page_start(&g, f->g->page);
	for (size_t i = first; i < l->n && i < first + g.per_page; i++) {
		int cx, cy;
		grid_card_pos(&g, i, &cx, &cy);
		draw_thread_card(f, &s->threads[l->slot[i]], cx, cy, g.card_w, (long)i == sel);
	}
	if (out_rows) {
		int oy = f->bottom - out_rows;
		output_header(f, oy, "OUTPUT");
		draw_output_lines(f, oy + 1, out_rows - 1, 0);
	}
}

/* ---------------------------------------------------------------- rankings */

struct column {
	const char *title;
	int width;
	enum sort_key key;               /* SORT_COUNT: not a sort column */
};

static void draw_rankings(struct frame *f)
{
	const struct session *s = f->s;
	const threadlist *l = f->in->list;
	enum sort_key key = f->in->st->sort;
	static const struct column cols[] = {
		{ "#", 4, SORT_COUNT }, { "TID", 8, SORT_COUNT }, { "NAME", 0, SORT_COUNT },
		{ "ALLOCS", 8, SORT_ALLOCS }, { "ALLOC/S", 9, SORT_COUNT },
		{ "BYTES", 10, SORT_BYTES }, { "LIVE", 10, SORT_LIVE }, { "CPU%", 6, SORT_CPU },
		{ "EFF%", 6, SORT_EFFICIENCY }, { "ALERT", 7, SORT_COUNT },
	};
	const int ncols = (int)(sizeof(cols) / sizeof(*cols));
	int fixed = 0;
	for (int i = 0; i < ncols; i++)
		fixed += cols[i].width;
	int namew = f->w - fixed;
	if (namew < 8)
		namew = 8;
	int y = f->top;
	char line[300];
	snprintf(line, sizeof(line), "RANKINGS  top threads by %s%s (s: next key)",
		 sort_key_name(key), key == SORT_EFFICIENCY ? ", least efficient first" : "");
	canvas_put(f->c, y++, 0, f->w, STYLE_HEADER, line);
	int x = 0;
	for (int i = 0; i < ncols; i++) {
		int w = cols[i].width ? cols[i].width : namew;
		bool sorted = cols[i].key == key;
		char title[32];
		snprintf(title, sizeof(title), "%s%s", sorted ? (f->c->utf8 ? "\u25bc" : "v") : "",
			 cols[i].title);
		if (i == 2)
			canvas_put(f->c, y, x + 1, w - 1, STYLE_LABEL, title);
		else
			canvas_put_right(f->c, y, x, w, sorted ? STYLE_TAB_ACTIVE : STYLE_LABEL, title);
		x += w;
	}
	y++;
	struct grid g;
	grid_layout(&g, 0, y, f->w, f->bottom - y, f->w, 1, l->n);
	long sel = settle(f, &g);
	size_t first = grid_page_start(&g, f->g->page);
	for (size_t i = first; i < l->n && i < first + g.per_page; i++) {
		const struct thread_stat *t = &s->threads[l->slot[i]];
		int ry = y + (int)(i - first);
		int base = t->exited ? STYLE_DIM : STYLE_NORMAL;
		char c[FORMAT_LEN];
		x = 0;
		canvas_printf(f->c, ry, x, cols[0].width, base, "%4zu", i + 1);
		x += cols[0].width;
		canvas_printf(f->c, ry, x, cols[1].width, base, "%8d", t->tid);
		x += cols[1].width;
		canvas_put(f->c, ry, x + 1, namew - 1, base, t->name);
		x += namew;
		canvas_put_right(f->c, ry, x, cols[3].width, base,
				 format_count(c, sizeof(c), (double)t->c.allocs));
		x += cols[3].width;
		canvas_put_right(f->c, ry, x, cols[4].width, base,
				 format_rate(c, sizeof(c), t->alloc_rate));
		x += cols[4].width;
		canvas_put_right(f->c, ry, x, cols[5].width, base,
				 format_bytes(c, sizeof(c), (int64_t)t->c.bytes_allocated));
		x += cols[5].width;
		canvas_put_right(f->c, ry, x, cols[6].width, base,
				 format_bytes(c, sizeof(c), metrics_thread_live(t)));
		x += cols[6].width;
		canvas_put_right(f->c, ry, x, cols[7].width, base, pct(c, sizeof(c), thread_cpu(s, t)));
		x += cols[7].width;
		canvas_put_right(f->c, ry, x, cols[8].width, base,
				 pct(c, sizeof(c), metrics_size_efficiency(&t->c)));
		x += cols[8].width;
		if ((long)i == sel)
			canvas_restyle(f->c, ry, 0, x, STYLE_SELECTED);
		canvas_put_right(f->c, ry, x, cols[9].width,
				 t->exited ? STYLE_DIM : alert_style(t->alert), alert_tag(t));
	}
	if (l->n == 0)
		canvas_put(f->c, y, 1, f->w - 2, STYLE_DIM, "no threads to rank yet");
}

/* ---------------------------------------------------------------- patterns */

static void histogram_spark(struct frame *f, int y, int x, const struct mt_counters *c,
			    int style)
{
	/* Counts span orders of magnitude: a log scale keeps rare sizes
	 * visible next to common ones. */
	double v[MT_HIST_BUCKETS];
	for (unsigned b = 0; b < MT_HIST_BUCKETS; b++)
		v[b] = c->hist[b] ? log1p((double)c->hist[b]) : NAN;
	char line[MT_HIST_BUCKETS * 4 + 1];
	spark_render(line, sizeof(line), v, MT_HIST_BUCKETS, spark_max(v, MT_HIST_BUCKETS),
		     f->c->utf8);
	canvas_put(f->c, y, x, MT_HIST_BUCKETS, style, line);
}

static void draw_histogram_detail(struct frame *f, int y, int rows, const struct thread_stat *t)
{
	char line[300], a[FORMAT_LEN], b[FORMAT_LEN], e[FORMAT_LEN];
	snprintf(line, sizeof(line), "SIZES of %d %s: %s allocs, average %s, size efficiency %s",
		 t->tid, t->name, format_count(a, sizeof(a), (double)t->c.allocs),
		 isfinite(metrics_avg_size(&t->c))
			 ? format_bytes(b, sizeof(b), (int64_t)llround(metrics_avg_size(&t->c)))
			 : "n/a",
		 pct(e, sizeof(e), metrics_size_efficiency(&t->c)));
	canvas_put(f->c, y++, 0, f->w, STYLE_HEADER, line);
	rows--;
	if (rows <= 0)
		return;
	/* The largest buckets, shown in size order. */
	bool show[MT_HIST_BUCKETS] = { false };
	int shown = 0;
	uint64_t total = 0, max = 0;
	for (unsigned i = 0; i < MT_HIST_BUCKETS; i++) {
		total += t->c.hist[i];
		if (t->c.hist[i] > max)
			max = t->c.hist[i];
	}
	while (shown < rows) {
		int best = -1;
		for (unsigned i = 0; i < MT_HIST_BUCKETS; i++)
			if (!show[i] && t->c.hist[i] &&
			    (best < 0 || t->c.hist[i] > t->c.hist[best]))
				best = (int)i;
		if (best < 0)
			break;
		show[best] = true;
		shown++;
	}
	if (!shown) {
		canvas_put(f->c, y, 1, f->w - 2, STYLE_DIM, "no allocations yet");
		return;
	}
	int barw = f->w - 36;
	for (unsigned i = 0; i < MT_HIST_BUCKETS; i++) {
		if (!show[i])
			continue;
		char label[FORMAT_LEN];
		metrics_bucket_label(label, sizeof(label), i);
		canvas_printf(f->c, y, 1, 12, STYLE_LABEL, "%10s B", label);
		int len = (int)llround((double)t->c.hist[i] / (double)max * barw);
		if (len < 1)
			len = 1;
		canvas_fill(f->c, y, 14, len, STYLE_SPARK, f->c->utf8 ? "\u2588" : "#");
		canvas_printf(f->c, y, 15 + barw, f->w - 15 - barw, STYLE_NORMAL, "%8s %5.1f%%",
			      format_count(a, sizeof(a), (double)t->c.hist[i]),
			      100.0 * (double)t->c.hist[i] / (double)total);
		y++;
	}
}

static void draw_patterns(struct frame *f)
{
	const struct session *s = f->s;
	const threadlist *l = f->in->list;
	int y = f->top;
	int namew = f->w - (8 + 9 + 10 + 7 + MT_HIST_BUCKETS + 2) - 1;
	if (namew < 8)
		namew = 8;
	int hx = 8 + namew + 9 + 10 + 7 + 2;
	canvas_put(f->c, y++, 0, f->w, STYLE_HEADER,
		   "MEMORY PATTERNS  allocations, average size, size histogram, efficiency");
	canvas_put_right(f->c, y, 0, 8, STYLE_LABEL, "TID");
	canvas_put(f->c, y, 9, namew - 1, STYLE_LABEL, "NAME");
	canvas_put_right(f->c, y, 8 + namew, 9, STYLE_LABEL, "ALLOCS");
	canvas_put_right(f->c, y, 8 + namew + 9, 10, STYLE_LABEL, "AVG SIZE");
	canvas_put_right(f->c, y, 8 + namew + 19, 7, STYLE_LABEL, "EFF%");
	canvas_put(f->c, y, hx, MT_HIST_BUCKETS + 1, STYLE_LABEL, "0   sizes (log2)  1M   1G");
	y++;
	int body = f->bottom - y;
	int table = body / 2;
	struct grid g;
	grid_layout(&g, 0, y, f->w, table, f->w, 1, l->n);
	long sel = settle(f, &g);
	size_t first = grid_page_start(&g, f->g->page);
	for (size_t i = first; i < l->n && i < first + g.per_page; i++) {
		const struct thread_stat *t = &s->threads[l->slot[i]];
		int ry = y + (int)(i - first);
		int base = t->exited ? STYLE_DIM : STYLE_NORMAL;
		char c[FORMAT_LEN];
		canvas_printf(f->c, ry, 0, 8, base, "%8d", t->tid);
		canvas_put(f->c, ry, 9, namew - 1, base, t->name);
		canvas_put_right(f->c, ry, 8 + namew, 9, base,
				 format_count(c, sizeof(c), (double)t->c.allocs));
		double avg = metrics_avg_size(&t->c);
		if (isfinite(avg))
			format_bytes(c, sizeof(c), (int64_t)llround(avg));
		else
			snprintf(c, sizeof(c), "n/a");
		canvas_put_right(f->c, ry, 8 + namew + 9, 10, base, c);
		canvas_put_right(f->c, ry, 8 + namew + 19, 7, base,
				 pct(c, sizeof(c), metrics_size_efficiency(&t->c)));
		if ((long)i == sel)
			canvas_restyle(f->c, ry, 0, hx, STYLE_SELECTED);
		histogram_spark(f, ry, hx, &t->c, STYLE_SPARK);
	}
	if (l->n == 0) {
		canvas_put(f->c, y, 1, f->w - 2, STYLE_DIM, "no threads yet");
		return;
	}
	if (sel >= 0)
		draw_histogram_detail(f, y + table, body - table, &s->threads[l->slot[sel]]);
}

/* ---------------------------------------------------------------- system */

/* A label and its text, wrapped onto a second row when the terminal is
 * narrow. */
static void summary_line(struct frame *f, int *y, const char *label, const char *text)
{
	canvas_put(f->c, *y, 1, 8, STYLE_LABEL, label);
	*y += canvas_put_wrapped(f->c, *y, 10, f->w - 11, 2, STYLE_NORMAL, text);
}

static void draw_system(struct frame *f)
{
	const struct session *s = f->s;
	const struct proc_sample *p = &s->proc;
	const struct sys_sample *y0 = &s->sys;
	char line[400], a[FORMAT_LEN], b[FORMAT_LEN], c[FORMAT_LEN], d[FORMAT_LEN], e[FORMAT_LEN];
	int y = f->top;
	size_t seen, exited;
	metrics_thread_counts(s, &seen, &exited);

	canvas_put(f->c, y++, 0, f->w, STYLE_HEADER, "SYSTEM SUMMARY");
	char why[192] = "";
	int used = snprintf(line, sizeof(line), "tracked %zu, running %zu, exited %zu%s", seen,
			    seen - exited, exited,
			    s->overflow.threads ? ", more in the overflow pool" : "");
	if (s->unbacked && used > 0 && (size_t)used < sizeof(line))
		snprintf(line + used, sizeof(line) - (size_t)used, "; %llu without a slot because %s",
			 (unsigned long long)s->unbacked,
			 session_unbacked_reason(s, why, sizeof(why)));
	summary_line(f, &y, "threads", line);

	bool heap = s->collector_seen;
	double frag = session_fragmentation(s);
	snprintf(line, sizeof(line), "live %s, held by malloc %s, heap efficiency %s, "
		 "fragmentation %s",
		 bytes_or_na(a, sizeof(a), heap, s->totals.live_bytes),
		 bytes_or_na(b, sizeof(b), s->mi_valid, (int64_t)(s->mi.arena + s->mi.hblkhd)),
		 pct(c, sizeof(c), metrics_heap_efficiency(s)),
		 pct(d, sizeof(d), isfinite(frag) ? 100 * frag : NAN));
	summary_line(f, &y, "memory", line);

	bool io = s->proc_valid && p->io_valid;
	double bpc = metrics_io_bytes_per_call(s);
	if (isfinite(bpc))
		format_bytes(d, sizeof(d), (int64_t)llround(bpc));
	else
		snprintf(d, sizeof(d), "n/a");
	snprintf(line, sizeof(line), "read %s, written %s, %s calls, io efficiency %s/call",
		 bytes_or_na(a, sizeof(a), io, (int64_t)p->io_read_bytes),
		 bytes_or_na(b, sizeof(b), io, (int64_t)p->io_write_bytes),
		 io ? format_count(c, sizeof(c), (double)(p->io_syscr + p->io_syscw)) : "n/a", d);
	summary_line(f, &y, "io", line);

	double avg, peak;
	metrics_cpu_stats(&s->hist, &avg, &peak);
	snprintf(line, sizeof(line), "process %s, average %s, peak %s; system %s of %d CPUs",
		 pct(a, sizeof(a), s->proc_cpu_percent), pct(b, sizeof(b), avg),
		 pct(c, sizeof(c), peak), pct(d, sizeof(d), s->sys_cpu_percent), y0->ncpus);
	summary_line(f, &y, "cpu", line);

	if (isfinite(f->in->gpu_percent))
		snprintf(line, sizeof(line), "utilisation %s, %s", pct(a, sizeof(a), f->in->gpu_percent),
			 f->in->gpu_note ? f->in->gpu_note : "");
	else
		snprintf(line, sizeof(line), "n/a (%s)", f->in->gpu_note ? f->in->gpu_note : "no NVML");
	summary_line(f, &y, "gpu", line);

	if (y0->load_valid)
		snprintf(e, sizeof(e), "%.2f %.2f %.2f", y0->load[0], y0->load[1], y0->load[2]);
	else
		snprintf(e, sizeof(e), "n/a");
	snprintf(line, sizeof(line), "load %s, memory available %s of %s", e,
		 bytes_or_na(a, sizeof(a), y0->mem_valid, (int64_t)y0->mem_available_bytes),
		 bytes_or_na(b, sizeof(b), y0->mem_valid, (int64_t)y0->mem_total_bytes));
	summary_line(f, &y, "machine", line);

	y++;
	canvas_put(f->c, y++, 0, f->w, STYLE_HEADER, "TIMELINES  the process, one column per sample");
	static const struct {
		const char *label;
		enum spark_field field;
		bool bytes;
	} charts[] = {
		{ "live heap", SPARK_LIVE, true }, { "allocations/s", SPARK_RATE, false },
		{ "RSS", SPARK_RSS, true }, { "CPU %", SPARK_CPU, false },
	};
	int avail = f->bottom - y - 1;
	int per = avail / 4;
	if (per < 2)
		per = 2;
	int width = f->w - 2;
	for (int i = 0; i < 4 && y + per <= f->bottom - 1; i++) {
		double v[SPARK_MAX_COLS];
		size_t n = spark_series(&s->hist, charts[i].field,
					(size_t)(width < SPARK_MAX_COLS ? width : SPARK_MAX_COLS), v,
					NULL);
		double max = spark_max(v, n), now = n ? v[n - 1] : NAN;
		if (charts[i].bytes)
			snprintf(line, sizeof(line), "%s  now %s  max %s", charts[i].label,
				 bytes_or_na(a, sizeof(a), isfinite(now), (int64_t)now),
				 format_bytes(b, sizeof(b), (int64_t)max));
		else
			snprintf(line, sizeof(line), "%s  now %s  max %s", charts[i].label,
				 format_count(a, sizeof(a), now), format_count(b, sizeof(b), max));
		canvas_put(f->c, y, 1, f->w - 2, STYLE_LABEL, line);
		draw_chart(f, y + 1, 1, width, per - 1, &s->hist, charts[i].field);
		y += per;
	}
	draw_axis(f, y, 1, width, &s->hist);
}

/* ---------------------------------------------------------------- output */

static void draw_output(struct frame *f)
{
	/* Not selectable, but page keys scroll by the rows shown. */
	grid_layout(&f->g->grid, 0, f->top + 1, f->w, f->bottom - f->top - 1, f->w, 1, 0);
	output_header(f, f->top, f->in->st->scroll ? "OUTPUT (scrolled; End follows)" : "OUTPUT");
	if (!f->in->out) {
		canvas_put(f->c, f->top + 1, 1, f->w - 2, STYLE_DIM,
			   "the command's output is not captured");
		return;
	}
	draw_output_lines(f, f->top + 1, f->bottom - f->top - 1, f->in->st->scroll);
}

/* ---------------------------------------------------------------- focus */

static int draw_stacks(struct frame *f, int y, int rows, const struct thread_stat *t)
{
	const struct session *s = f->s;
	int end = y + rows;
	canvas_put(f->c, y++, 0, f->w, STYLE_HEADER, "TOP STACKS  sampled; figures are estimates");
	if (!f->in->stacks_requested) {
		canvas_put(f->c, y++, 1, f->w - 2, STYLE_DIM, "stack capture is off (--no-stacks)");
		return y;
	}
	if (t->ntop == 0 || !t->top_stacks) {
		canvas_put(f->c, y++, 1, f->w - 2, STYLE_DIM, "no stacks sampled yet");
		return y;
	}
	for (size_t i = 0; i < t->ntop && y < end; i++) {
		const struct stack_stat *st = &t->top_stacks[i];
		char line[300], a[FORMAT_LEN], b[FORMAT_LEN], c[FORMAT_LEN];
		snprintf(line, sizeof(line), "#%zu  stack %u: %s allocated, %s allocs, %s live (%llu samples)",
			 i + 1, (unsigned)st->id, format_bytes(a, sizeof(a), (int64_t)llround(st->bytes_est)),
			 format_count(b, sizeof(b), st->allocs_est),
			 format_bytes(c, sizeof(c), (int64_t)llround(st->live_bytes_est)),
			 (unsigned long long)st->samples);
		canvas_put(f->c, y++, 1, f->w - 2, STYLE_VALUE, line);
		size_t depth = 0;
		bool truncated = false;
		const char *const *frames = session_stack_frames(s, st->id, &depth, &truncated);
		if (!frames || depth == 0) {
			if (y < end)
				canvas_put(f->c, y++, 4, f->w - 5, STYLE_DIM, "(frames not resolved)");
			continue;
		}
		for (size_t d = 0; d < depth && d < 3 && y < end; d++)
			canvas_put(f->c, y++, 4, f->w - 5, STYLE_NORMAL, frames[d]);
		if ((depth > 3 || truncated) && y < end)
			canvas_printf(f->c, y++, 4, f->w - 5, STYLE_DIM, "... %zu more frame%s%s",
				      depth > 3 ? depth - 3 : 0, depth - 3 == 1 ? "" : "s",
				      truncated ? " (deeper frames cut)" : "");
	}
	return y;
}

static void draw_findings(struct frame *f, int y, int rows)
{
	int end = y + rows;
	if (rows <= 0)
		return;
	canvas_put(f->c, y++, 0, f->w, STYLE_HEADER, "FINDINGS  what looks costly, and what to do");
	if (f->in->nfindings == 0 && y < end) {
		canvas_put(f->c, y, 1, f->w - 2, STYLE_DIM, "no findings for this thread");
		return;
	}
	for (size_t i = 0; i < f->in->nfindings && y < end; i++) {
		const struct bottleneck *b = &f->in->findings[i];
		int style = b->severity >= 0.66 ? STYLE_CRIT : b->severity >= 0.33 ? STYLE_WARN
										  : STYLE_OK;
		char line[600];
		snprintf(line, sizeof(line), "[%.2f] %s: %s", b->severity, b->type, b->description);
		y += canvas_put_wrapped(f->c, y, 1, f->w - 2, end - y < 2 ? end - y : 2, style, line);
		if (y < end && b->suggestion[0]) {
			snprintf(line, sizeof(line), "-> %s", b->suggestion);
			y += canvas_put_wrapped(f->c, y, 5, f->w - 6, end - y < 2 ? end - y : 2,
						STYLE_NORMAL, line);
		}
	}
}

static void focus_timeline(struct frame *f, int y, const char *label, const struct history *h,
			   enum spark_field field, const char *now)
{
	canvas_put(f->c, y, 1, 14, STYLE_LABEL, label);
	draw_spark(f, y, 16, f->w - 30, h, field);
	canvas_put_right(f->c, y, f->w - 13, 12, STYLE_VALUE, now);
}

static void draw_focus(struct frame *f)
{
	const struct session *s = f->s;
	const threadlist *l = f->in->list;
	struct grid g;
	/* One thread per page: the arrows step through the list. */
	grid_layout(&g, 0, f->top, f->w, 1, f->w, 1, l->n);
	long sel = settle(f, &g);
	int y = f->top;
	if (sel < 0) {
		canvas_put(f->c, y, 1, f->w - 2, STYLE_DIM, "no thread selected");
		return;
	}
	const struct thread_stat *t = &s->threads[l->slot[sel]];
	char line[400], a[FORMAT_LEN], b[FORMAT_LEN], c[FORMAT_LEN], d[FORMAT_LEN], e[FORMAT_LEN];
	char eff[FORMAT_LEN];
	snprintf(line, sizeof(line), "FOCUS  %d %s  %s  (%ld of %zu; arrows: other threads, "
		 "Esc: back)", t->tid, t->name, t->exited ? "exited" : "running", sel + 1, l->n);
	canvas_put(f->c, y, 0, f->w, STYLE_HEADER, line);
	canvas_put_right(f->c, y, 0, f->w, t->exited ? STYLE_DIM : alert_style(t->alert),
			 alert_tag(t));
	y++;
	double avg = metrics_avg_size(&t->c);
	snprintf(line, sizeof(line), "allocs %s (%s), frees %s, reallocs %s, failed %llu, "
		 "average size %s, size efficiency %s",
		 format_count(a, sizeof(a), (double)t->c.allocs),
		 format_rate(b, sizeof(b), t->alloc_rate),
		 format_count(c, sizeof(c), (double)t->c.frees),
		 format_count(d, sizeof(d), (double)t->c.reallocs),
		 (unsigned long long)t->c.failed,
		 isfinite(avg) ? format_bytes(e, sizeof(e), (int64_t)llround(avg)) : "n/a",
		 pct(eff, sizeof(eff), metrics_size_efficiency(&t->c)));
	y += canvas_put_wrapped(f->c, y, 1, f->w - 2, 2, STYLE_NORMAL, line);
	char cpu_total[FORMAT_LEN];
	if (t->cpu_valid)
		format_duration(cpu_total, sizeof(cpu_total), t->cpu_s);
	else
		snprintf(cpu_total, sizeof(cpu_total), "n/a");
	snprintf(line, sizeof(line), "live %s, peak %s, cpu %s (%s in all), io %s",
		 format_bytes(a, sizeof(a), metrics_thread_live(t)),
		 format_bytes(b, sizeof(b), t->c.peak_live), pct(c, sizeof(c), thread_cpu(s, t)),
		 cpu_total, t->io_valid ? "" : "n/a");
	if (t->io_valid) {
		size_t n = strlen(line);
		snprintf(line + n, sizeof(line) - n, "%s calls, read %s, written %s",
			 format_count(c, sizeof(c), (double)(t->io_syscr + t->io_syscw)),
			 format_bytes(d, sizeof(d), (int64_t)t->io_read_bytes),
			 format_bytes(e, sizeof(e), (int64_t)t->io_write_bytes));
	}
	y += canvas_put_wrapped(f->c, y, 1, f->w - 2, 2, STYLE_NORMAL, line);
	focus_timeline(f, y++, "live heap", &t->hist, SPARK_LIVE,
		       format_bytes(a, sizeof(a), metrics_thread_live(t)));
	focus_timeline(f, y++, "allocations/s", &t->hist, SPARK_RATE,
		       format_rate(b, sizeof(b), t->alloc_rate));
	focus_timeline(f, y++, "CPU %", &t->hist, SPARK_CPU, pct(c, sizeof(c), thread_cpu(s, t)));
	draw_axis(f, y++, 16, f->w - 30, &t->hist);
	int rest = f->bottom - y;
	int stack_rows = rest * 3 / 5;
	int after = draw_stacks(f, y, stack_rows, t);
	draw_findings(f, after, f->bottom - after);
}

/* ---------------------------------------------------------------- help */

static void draw_help(struct frame *f)
{
	int lines = 0;
	const char *what;
	while (keymap_help_line(lines, &what))
		lines++;
	int bw = f->w - 8 < 76 ? f->w - 8 : 76;
	int bh = lines + 7;
	int x = (f->w - bw) / 2, y = (f->h - bh) / 2;
	for (int r = 0; r < bh; r++)
		canvas_fill(f->c, y + r, x, bw, STYLE_NORMAL, " ");
	bool u = f->c->utf8;
	const char *h = u ? "\u2500" : "-", *v = u ? "\u2502" : "|";
	for (int r = 1; r < bh - 1; r++) {
		canvas_put(f->c, y + r, x, 1, STYLE_HEADER, v);
		canvas_put(f->c, y + r, x + bw - 1, 1, STYLE_HEADER, v);
	}
	canvas_fill(f->c, y, x + 1, bw - 2, STYLE_HEADER, h);
	canvas_fill(f->c, y + bh - 1, x + 1, bw - 2, STYLE_HEADER, h);
	canvas_put(f->c, y, x, 1, STYLE_HEADER, u ? "\u250c" : "+");
	canvas_put(f->c, y, x + bw - 1, 1, STYLE_HEADER, u ? "\u2510" : "+");
	canvas_put(f->c, y + bh - 1, x, 1, STYLE_HEADER, u ? "\u2514" : "+");
	canvas_put(f->c, y + bh - 1, x + bw - 1, 1, STYLE_HEADER, u ? "\u2518" : "+");
	canvas_put(f->c, y, x + 2, bw - 4, STYLE_HEADER, " memtop keys ");
	int r = y + 1;
	for (int i = 0; i < lines; i++) {
		const char *keys = keymap_help_line(i, &what);
		canvas_put(f->c, r, x + 2, 20, STYLE_KEY, keys);
		canvas_put(f->c, r++, x + 23, bw - 25, STYLE_NORMAL, what);
	}
	r++;
	canvas_put(f->c, r++, x + 2, bw - 4, STYLE_NORMAL,
		   "Views: Overview, Rankings, Patterns, System, Output.");
	canvas_put(f->c, r++, x + 2, bw - 4, STYLE_NORMAL,
		   "Alerts: OK, WARN (100k allocs/s or 256 MiB live), CRIT (1M/s,");
	canvas_put(f->c, r++, x + 2, bw - 4, STYLE_NORMAL,
		   "1 GiB or failed allocations). Formulas: man memtop, VIEWER.");
}

/* ---------------------------------------------------------------- frame */

static void draw_too_small(struct frame *f)
{
	char line[160];
	int y = f->h / 2 - 1;
	snprintf(line, sizeof(line), "Terminal too small: %dx%d", f->w, f->h);
	canvas_put(f->c, y, 0, f->w, STYLE_MESSAGE, line);
	snprintf(line, sizeof(line), "memtop needs at least %dx%d.", RENDER_MIN_W, RENDER_MIN_H);
	canvas_put(f->c, y + 1, 0, f->w, STYLE_NORMAL, line);
	canvas_put(f->c, y + 2, 0, f->w, STYLE_NORMAL, "Enlarge it, or press q to quit.");
}

void render_frame(canvas *c, const struct render_input *in, struct render_geom *g)
{
	memset(g, 0, sizeof(*g));
	canvas_clear(c);
	struct frame f = { .c = c, .in = in, .s = in->s, .g = g, .w = c->w, .h = c->h,
			   .top = 2, .bottom = c->h - 1 };
	if (c->w < RENDER_MIN_W || c->h < RENDER_MIN_H) {
		g->too_small = true;
		draw_too_small(&f);
		return;
	}
	draw_title(&f);
	draw_tabs(&f);
	if (in->st->focus) {
		draw_focus(&f);
	} else {
		switch (in->st->view) {
		case VIEW_OVERVIEW: draw_overview(&f); break;
		case VIEW_RANKINGS: draw_rankings(&f); break;
		case VIEW_PATTERNS: draw_patterns(&f); break;
		case VIEW_SYSTEM: draw_system(&f); break;
		case VIEW_OUTPUT: draw_output(&f); break;
		default: break;
		}
	}
	if (in->st->help)
		draw_help(&f);
	draw_status(&f);
}
