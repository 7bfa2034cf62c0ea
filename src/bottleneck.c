/*
 * bottleneck.c - the rules that turn a session's measured figures into
 * findings (see bottleneck.h), each with its threshold and severity formula
 * as documented in the BOTTLENECKS section of memtop(1).
 *
 * Rate rules read a window of counters: the last interval (current counters
 * minus those of the previous sample) while the session runs, the whole
 * session once it is final, so a finding uses the same window as the rates
 * memtop shows next to it.  Timeline rules read the session's history rings.
 * Nothing here allocates: findings are kept in the caller's array, most
 * severe first, so detection cannot fail on a process short of memory.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bottleneck.h"
#include "format.h"

/* Thresholds; memtop(1) documents each next to its rule. */
#define SMALL_BUCKET_LIMIT   11u        /* buckets below hold sizes < 1 KiB */
#define LARGE_BUCKET_FIRST   21u        /* buckets from here hold sizes >= 1 MiB */
#define SMALL_RATE_THREAD    100000.0   /* small allocs/s of one thread */
#define SMALL_RATE_STACK     10000.0    /* small allocs/s of one call stack */
#define STACK_MIN_SAMPLES    10u        /* fewer samples: estimate too noisy */
#define TEMP_RATE            10000.0    /* allocs of >= 1 KiB per second */
#define TEMP_BALANCE_LO      0.9        /* frees / allocs in the window */
#define TEMP_BALANCE_HI      1.1
#define TEMP_FLAT_SHARE      0.1        /* |live change| / bytes turned over */
#define LARGE_RATE           10.0       /* allocs of >= 1 MiB per second */
#define JUMP_BYTES           (64.0 * 1048576.0)
#define JUMP_SHARE           0.25       /* of the live heap after the jump */
#define LEAK_WINDOW          60u        /* newest timeline points examined */
#define LEAK_MIN_POINTS      10u
#define LEAK_MIN_SPAN_S      5.0
#define LEAK_RISE_SHARE      0.8        /* of the intervals in the window */
#define LEAK_MIN_GROWTH      1048576.0
#define LEAK_MIN_SLOPE       1024.0     /* bytes/s, least squares */
#define LEAK_PROCESS_SHARE   0.5        /* of a thread's growth, see below */
#define XFREE_RATE           1000.0     /* excess frees/s over the session */
#define XFREE_SHARE          (1.0 / 3.0)
#define XFREE_MIN_ELAPSED_S  1.0        /* lifetime rates need a session this long */
#define STACK_MIN_ELAPSED_S  1.0
#define REALLOC_RATE         1000.0
#define REALLOC_SHARE        0.2
#define FRAG_MIN_ARENA       (64ull << 20)
#define FRAG_RATIO           0.3
#define MIN_WINDOW_S         0.04       /* below the shortest interval, 0.05 s */

#define FRAME_SHOWN          80         /* bytes of a frame quoted in text */

/* The findings kept so far: the best `max` of them, in output order. */
struct findings {
	struct bottleneck *out;
	size_t max, n;
	int tid;                     /* the caller's filter, 0: all */
};

/* NAN gives 0, so a severity can always be ordered. */
static double clamp01(double x)
{
	return !(x > 0.0) ? 0.0 : x > 1.0 ? 1.0 : x;
}

/* 0.2 at the threshold, +step for every tenfold above it, at most 1. */
static double severity_log(double x, double threshold, double step)
{
	return clamp01(0.2 + step * log10(x / threshold));
}

/* The output order: most severe first, then a fixed order so equal
 * severities come out the same on every call. */
static int finding_cmp(const struct bottleneck *a, const struct bottleneck *b)
{
	if (a->severity != b->severity)
		return a->severity > b->severity ? -1 : 1;
	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	int c = strcmp(a->type, b->type);
	if (c)
		return c;
	if (a->stack_id != b->stack_id)
		return a->stack_id < b->stack_id ? -1 : 1;
	return 0;
}

/* Where f would go among the kept findings; max when it is not kept. */
static size_t insert_position(const struct findings *col, const struct bottleneck *f)
{
	size_t lo = 0, hi = col->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (finding_cmp(&col->out[mid], f) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < col->max ? lo : col->max;
}

/* Whether a finding about tid is wanted, before the text is composed. */
static bool wanted(const struct findings *col, int tid)
{
	return col->max > 0 && (col->tid <= 0 || col->tid == tid);
}

/* Keep a finding; description and suggestion are made terminal-safe here,
 * since they quote thread names and symbols, which are untrusted. */
__attribute__((format(printf, 7, 8)))
static void add(struct findings *col, const char *type, int tid, uint32_t stack_id,
		double severity, const char *suggestion, const char *fmt, ...)
{
	if (!wanted(col, tid))
		return;
	struct bottleneck f;
	memset(&f, 0, sizeof(f));
	snprintf(f.type, sizeof(f.type), "%s", type);
	f.tid = tid;
	f.stack_id = stack_id;
	f.severity = clamp01(severity);

	size_t pos = insert_position(col, &f);
	if (pos >= col->max)
		return;

	/* Composed wider than the field, then cut by the sanitizer, which
	 * cuts only between whole UTF-8 characters. */
	char text[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	format_sanitize(f.description, sizeof(f.description), text, strlen(text));
	format_sanitize(f.suggestion, sizeof(f.suggestion), suggestion, strlen(suggestion));

	size_t keep = col->n < col->max ? col->n : col->max - 1;
	memmove(&col->out[pos + 1], &col->out[pos], (keep - pos) * sizeof(f));
	col->out[pos] = f;
	if (col->n < col->max)
		col->n++;
}

/* "thread 'name' (tid N)", or "the process" for tid 0. */
static const char *who(char *buf, size_t len, const struct thread_stat *t)
{
	if (!t) {
		snprintf(buf, len, "the process");
		return buf;
	}
	char name[sizeof(t->name)];
	format_sanitize(name, sizeof(name), t->name, strnlen(t->name, sizeof(t->name)));
	if (name[0])
		snprintf(buf, len, "thread '%s' (tid %d)", name, t->tid);
	else
		snprintf(buf, len, "thread %d", t->tid);
	return buf;
}

/* "stack ID" and its innermost frame when it has symbols (lists show
 * the same id next to their "#rank"). */
static const char *stack_name(char *buf, size_t len, const struct session *s, uint32_t id)
{
	size_t depth = 0;
	bool truncated = false;
	const char *const *frames = session_stack_frames(s, id, &depth, &truncated);
	if (frames && depth > 0 && frames[0] && frames[0][0]) {
		char frame[FRAME_SHOWN + 1];
		format_sanitize(frame, sizeof(frame), frames[0], strlen(frames[0]));
		snprintf(buf, len, "stack %u (%s)", (unsigned)id, frame);
	} else {
		snprintf(buf, len, "stack %u", (unsigned)id);
	}
	return buf;
}

static int percent(double share)
{
	return (int)lround(100.0 * share);
}

static uint64_t sub_sat(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* ---------------------------------------------------------------- windows */

/* A thread's counters over the rate window (see the top of this file). */
struct window {
	double dt;
	uint64_t allocs, frees, reallocs, bytes, usable;
	uint64_t hist[MT_HIST_BUCKETS];
	int64_t live_change;
};

static bool thread_window(const struct session *s, const struct thread_stat *t,
			  struct window *w)
{
	struct mt_counters zero;
	const struct mt_counters *base;
	memset(&zero, 0, sizeof(zero));
	if (s->final) {
		base = &zero;
		w->dt = s->elapsed_s;
	} else {
		/* A thread's first sample has no previous counters. */
		if (!isfinite(t->alloc_rate))
			return false;
		base = &t->prev;
		w->dt = s->interval_s;
	}
	if (!isfinite(w->dt) || w->dt < MIN_WINDOW_S)
		return false;
	const struct mt_counters *c = &t->c;
	w->allocs = sub_sat(c->allocs, base->allocs);
	w->frees = sub_sat(c->frees, base->frees);
	w->reallocs = sub_sat(c->reallocs, base->reallocs);
	w->bytes = sub_sat(c->bytes_allocated, base->bytes_allocated);
	w->usable = sub_sat(c->usable_allocated, base->usable_allocated);
	for (unsigned b = 0; b < MT_HIST_BUCKETS; b++)
		w->hist[b] = sub_sat(c->hist[b], base->hist[b]);
	w->live_change = (int64_t)(c->usable_allocated - c->usable_freed) -
			 (int64_t)(base->usable_allocated - base->usable_freed);
	return true;
}

static uint64_t hist_sum(const uint64_t *hist, unsigned from, unsigned to)
{
	uint64_t n = 0;
	for (unsigned b = from; b < to; b++)
		n += hist[b];
	return n;
}

/* The newest run of measured points of a timeline, at most LEAK_WINDOW,
 * oldest first.  Returns how many. */
static size_t timeline_tail(const struct history *h, double *t, double *y)
{
	size_t n = 0;
	if (!h || !h->pts)
		return 0;
	for (size_t i = h->len; i > 0 && n < LEAK_WINDOW; i--) {
		const struct history_point *p = history_at(h, i - 1);
		if (!isfinite(p->t) || !isfinite(p->live_bytes))
			break;
		n++;
	}
	for (size_t k = 0; k < n; k++) {
		const struct history_point *p = history_at(h, h->len - n + k);
		t[k] = p->t;
		y[k] = p->live_bytes;
	}
	return n;
}

static char *bytes_str(char *buf, double v)
{
	return format_bytes(buf, FORMAT_LEN, (int64_t)llround(v));
}

/* The collector's bucket for samples whose stack it could not store is
 * many call sites at once: no finding can name it. */
static bool is_catch_all(const struct stack_stat *st)
{
#ifdef MT_STACK_OTHER
	return st->id == MT_STACK_OTHER;
#else
	(void)st;
	return false;
#endif
}

/* ---------------------------------------------------------------- rules */

/* 1. small-alloc-churn, per thread. */
static void rule_small_thread(struct findings *col, const struct thread_stat *t,
			      const struct window *w)
{
	uint64_t small = hist_sum(w->hist, 0, SMALL_BUCKET_LIMIT);
	double rate = (double)small / w->dt;
	if (rate < SMALL_RATE_THREAD || w->allocs == 0)
		return;
	char name[128], r[FORMAT_LEN], all[FORMAT_LEN], avg[FORMAT_LEN], span[FORMAT_LEN];
	add(col, "small-alloc-churn", t->tid, BOTTLENECK_NO_STACK,
	    severity_log(rate, SMALL_RATE_THREAD, 0.4),
	    "Pool these small objects: a free list or per-thread arena for fixed sizes, "
	    "reuse buffers across iterations instead of malloc/free per item, or embed "
	    "small members in their owner instead of allocating them separately.",
	    "%s made %s allocations below 1 KiB (%d%% of its %s; average request %s) over %s",
	    who(name, sizeof(name), t), format_rate(r, sizeof(r), rate),
	    percent((double)small / (double)w->allocs),
	    format_rate(all, sizeof(all), (double)w->allocs / w->dt),
	    bytes_str(avg, (double)w->bytes / (double)w->allocs),
	    format_duration(span, sizeof(span), w->dt));
}

/* 1. small-alloc-churn, per sampled stack of t (NULL: of the process).
 * Returns whether the stack crosses the threshold, kept or not. */
static bool rule_small_stack(struct findings *col, const struct session *s,
			     const struct thread_stat *t, const struct stack_stat *st)
{
	int tid = t ? t->tid : 0;
	if (is_catch_all(st) || st->samples < STACK_MIN_SAMPLES || !isfinite(st->allocs_est) ||
	    !isfinite(st->bytes_est) || !(st->allocs_est > 0.0))
		return false;
	double rate = st->allocs_est / s->elapsed_s;
	double avg = st->bytes_est / st->allocs_est;
	if (rate < SMALL_RATE_STACK || avg >= 1024.0)
		return false;
	if (!wanted(col, tid))
		return true;
	char name[128], stack[160], r[FORMAT_LEN], a[FORMAT_LEN], lo[FORMAT_LEN],
	     hi[FORMAT_LEN], n[FORMAT_LEN];
	add(col, "small-alloc-churn", tid, st->id, severity_log(rate, SMALL_RATE_STACK, 0.4),
	    "This call site allocates small blocks at a high rate: give it an object "
	    "pool or a per-thread arena, or reuse one buffer across calls.",
	    "%s in %s: about %s allocations (average request %s, sampled sizes %s to %s, "
	    "estimated from %s samples)",
	    stack_name(stack, sizeof(stack), s, st->id), who(name, sizeof(name), t),
	    format_rate(r, sizeof(r), rate), bytes_str(a, avg),
	    format_bytes(lo, sizeof(lo), (int64_t)st->min_size),
	    format_bytes(hi, sizeof(hi), (int64_t)st->max_size),
	    format_count(n, sizeof(n), (double)st->samples));
	return true;
}

/* 4. temporary-churn: blocks of 1 KiB and up freed about as fast as they
 * are made.  Smaller ones are small-alloc-churn's. */
static void rule_temporary(struct findings *col, const struct thread_stat *t,
			   const struct window *w)
{
	uint64_t big = hist_sum(w->hist, SMALL_BUCKET_LIMIT, MT_HIST_BUCKETS);
	double rate = (double)big / w->dt;
	if (rate < TEMP_RATE || w->allocs == 0)
		return;
	double balance = (double)w->frees / (double)w->allocs;
	if (balance < TEMP_BALANCE_LO || balance > TEMP_BALANCE_HI)
		return;
	double change = fabs((double)w->live_change);
	if (change > TEMP_FLAT_SHARE * (double)w->usable)
		return;
	char name[128], r[FORMAT_LEN], avg[FORMAT_LEN], bps[FORMAT_LEN], ch[FORMAT_LEN],
	     span[FORMAT_LEN];
	add(col, "temporary-churn", t->tid, BOTTLENECK_NO_STACK,
	    severity_log(rate, TEMP_RATE, 0.4),
	    "These buffers live only briefly: keep one per thread or per connection "
	    "and reuse it (reset it instead of freeing it), or use a stack buffer when "
	    "the size is bounded and small.",
	    "%s made %s allocations of 1 KiB or more (average request %s, %s/s) and "
	    "freed %d%% as many blocks over %s; its live heap changed by only %s",
	    who(name, sizeof(name), t), format_rate(r, sizeof(r), rate),
	    bytes_str(avg, (double)w->bytes / (double)w->allocs),
	    bytes_str(bps, (double)w->bytes / w->dt), percent(balance),
	    format_duration(span, sizeof(span), w->dt), bytes_str(ch, change));
}

/* The largest one-interval rise of a timeline's newest points. */
static double largest_jump(const struct history *h, double *at, double *from, double *to)
{
	double t[LEAK_WINDOW], y[LEAK_WINDOW];
	size_t n = timeline_tail(h, t, y);
	double best = 0.0;
	for (size_t i = 1; i < n; i++) {
		double d = y[i] - y[i - 1];
		if (d > best) {
			best = d;
			*at = t[i];
			*from = y[i - 1];
			*to = y[i];
		}
	}
	return best;
}

/* 3. large-alloc-spike: allocations of 1 MiB and up (threads, when w is
 * there), or a one-interval jump of the live heap of t (NULL: of the
 * process).  One finding per thread, with the worse of the two severities. */
static void rule_large(struct findings *col, const struct session *s,
		       const struct thread_stat *t, const struct window *w)
{
	int tid = t ? t->tid : 0;
	if (!wanted(col, tid))
		return;
	double sev_count = -1.0, sev_jump = -1.0, rate = 0.0;
	uint64_t count = 0;
	if (w) {
		count = hist_sum(w->hist, LARGE_BUCKET_FIRST, MT_HIST_BUCKETS);
		rate = (double)count / w->dt;
		if (rate >= LARGE_RATE)
			sev_count = severity_log(rate, LARGE_RATE, 0.4);
	}
	double at = 0, from = 0, to = 0;
	double jump = largest_jump(t ? &t->hist : &s->hist, &at, &from, &to);
	if (jump >= JUMP_BYTES && jump >= JUMP_SHARE * to)
		sev_jump = severity_log(jump, JUMP_BYTES, 0.4);
	if (sev_count < 0 && sev_jump < 0)
		return;

	char name[128], part1[160] = "", part2[200] = "";
	char r[FORMAT_LEN], n[FORMAT_LEN], span[FORMAT_LEN], j[FORMAT_LEN], a[FORMAT_LEN],
	     f[FORMAT_LEN], tt[FORMAT_LEN];
	if (sev_count >= 0)
		snprintf(part1, sizeof(part1), " made %s allocations of 1 MiB or more (%s over %s)",
			 format_rate(r, sizeof(r), rate), format_count(n, sizeof(n), (double)count),
			 format_duration(span, sizeof(span), w->dt));
	if (sev_jump >= 0)
		snprintf(part2, sizeof(part2), "%s live heap jumped by %s in one interval "
			 "(at %s, from %s to %s)", sev_count >= 0 ? "; its" : ":",
			 bytes_str(j, jump), format_duration(a, sizeof(a), at), bytes_str(f, from),
			 bytes_str(tt, to));
	add(col, "large-alloc-spike", tid, BOTTLENECK_NO_STACK, fmax(sev_count, sev_jump),
	    "Large blocks are mmapped and zero-filled on every allocation: allocate them "
	    "once and reuse them, process the data in bounded chunks, or map big "
	    "long-lived buffers yourself with mmap.",
	    "%s%s%s", who(name, sizeof(name), t), part1, part2);
}

/* 2. leak-growth: the figures of the newest points of a timeline. */
struct growth {
	size_t points, rises;
	double span, from, to, slope, t0, t1;
};

static bool steady_growth(const struct history *h, struct growth *g)
{
	double t[LEAK_WINDOW], y[LEAK_WINDOW];
	size_t n = timeline_tail(h, t, y);
	if (n < LEAK_MIN_POINTS)
		return false;
	g->points = n;
	g->t0 = t[0];
	g->t1 = t[n - 1];
	g->span = t[n - 1] - t[0];
	g->from = y[0];
	g->to = y[n - 1];
	g->rises = 0;
	for (size_t i = 1; i < n; i++)
		if (y[i] > y[i - 1])
			g->rises++;
	double mt = 0, my = 0;
	for (size_t i = 0; i < n; i++) {
		mt += t[i];
		my += y[i];
	}
	mt /= (double)n;
	my /= (double)n;
	double sxy = 0, sxx = 0;
	for (size_t i = 0; i < n; i++) {
		sxy += (t[i] - mt) * (y[i] - my);
		sxx += (t[i] - mt) * (t[i] - mt);
	}
	if (!(sxx > 0))
		return false;
	g->slope = sxy / sxx;
	return g->span >= LEAK_MIN_SPAN_S &&
	       (double)g->rises >= LEAK_RISE_SHARE * (double)(n - 1) &&
	       g->to - g->from >= LEAK_MIN_GROWTH && g->slope >= LEAK_MIN_SLOPE;
}

/* The process's live-heap change between two instants of its timeline
 * (threads' points carry the same times); false when it lacks either. */
static bool process_growth(const struct session *s, double t0, double t1, double *growth)
{
	const struct history *h = &s->hist;
	const double eps = 1e-6;
	bool have0 = false, have1 = false;
	double y0 = 0, y1 = 0;
	for (size_t i = 0; h->pts && i < h->len; i++) {
		const struct history_point *p = history_at(h, i);
		if (!isfinite(p->live_bytes))
			continue;
		if (!have0 && fabs(p->t - t0) <= eps) {
			y0 = p->live_bytes;
			have0 = true;
		}
		if (fabs(p->t - t1) <= eps) {
			y1 = p->live_bytes;
			have1 = true;
		}
	}
	*growth = y1 - y0;
	return have0 && have1;
}

static const struct stack_stat *largest_live_stack(const struct stack_stat *st, size_t n)
{
	const struct stack_stat *best = NULL;
	for (size_t i = 0; st && i < n; i++)
		if (!is_catch_all(&st[i]) && isfinite(st[i].live_bytes_est) &&
		    st[i].live_bytes_est > 0 &&
		    (!best || st[i].live_bytes_est > best->live_bytes_est))
			best = &st[i];
	return best;
}

/* 2. leak-growth of t's timeline (NULL: the process's). */
static void rule_leak(struct findings *col, const struct session *s,
		      const struct thread_stat *t)
{
	int tid = t ? t->tid : 0;
	if (!wanted(col, tid))
		return;
	struct growth g;
	if (!steady_growth(t ? &t->hist : &s->hist, &g))
		return;
	/* A producer's live bytes rise while its consumers free the blocks:
	 * that is no leak unless the process heap grew too. */
	if (t) {
		double pg;
		if (!process_growth(s, g.t0, g.t1, &pg) ||
		    pg < LEAK_PROCESS_SHARE * (g.to - g.from))
			return;
	}
	const struct stack_stat *st = t ? largest_live_stack(t->top_stacks, t->ntop)
					 : largest_live_stack(s->top_stacks, s->ntop);
	char name[128], stack[160], tail[220] = "";
	char span[FORMAT_LEN], f[FORMAT_LEN], to[FORMAT_LEN], d[FORMAT_LEN], sl[FORMAT_LEN],
	     lb[FORMAT_LEN];
	if (st)
		snprintf(tail, sizeof(tail), "; most live bytes from %s (about %s)",
			 stack_name(stack, sizeof(stack), s, st->id),
			 bytes_str(lb, st->live_bytes_est));
	add(col, "leak-growth", tid, st ? st->id : BOTTLENECK_NO_STACK,
	    severity_log(g.slope, LEAK_MIN_SLOPE, 0.2),
	    "Memory is allocated faster than it is freed: check that every path frees "
	    "what it allocates (valgrind --leak-check=full, or ASan's leak checker), "
	    "and put bounds on caches and queues.",
	    "live heap of %s rose in %zu of %zu intervals over %s, from %s to %s (+%s, "
	    "least-squares slope %s/s)%s",
	    who(name, sizeof(name), t), g.rises, g.points - 1,
	    format_duration(span, sizeof(span), g.span), bytes_str(f, g.from),
	    bytes_str(to, g.to), bytes_str(d, g.to - g.from), bytes_str(sl, g.slope), tail);
}

/* 5. cross-thread-free over the thread's lifetime. */
static void rule_cross_free(struct findings *col, const struct session *s,
			    const struct thread_stat *t)
{
	if (!wanted(col, t->tid) || !(s->elapsed_s >= XFREE_MIN_ELAPSED_S))
		return;
	if (t->c.frees <= t->c.allocs)
		return;
	double excess = (double)(t->c.frees - t->c.allocs);
	double rate = excess / s->elapsed_s;
	if (rate < XFREE_RATE || excess < XFREE_SHARE * (double)t->c.frees)
		return;
	/* The thread whose allocations outnumber its frees the most is the
	 * likeliest producer of the blocks. */
	const struct thread_stat *producer = NULL;
	uint64_t surplus = 0;
	for (size_t i = 0; i < s->nthreads; i++) {
		const struct thread_stat *o = &s->threads[i];
		if (o->tid <= 0 || o == t || o->c.allocs <= o->c.frees)
			continue;
		if (o->c.allocs - o->c.frees > surplus) {
			surplus = o->c.allocs - o->c.frees;
			producer = o;
		}
	}
	char name[128], pname[128], ptail[200] = "";
	char fr[FORMAT_LEN], al[FORMAT_LEN], ex[FORMAT_LEN], r[FORMAT_LEN], sp[FORMAT_LEN];
	if (producer)
		snprintf(ptail, sizeof(ptail), "; %s allocated %s more blocks than it freed",
			 who(pname, sizeof(pname), producer),
			 format_count(sp, sizeof(sp), (double)surplus));
	add(col, "cross-thread-free", t->tid, BOTTLENECK_NO_STACK,
	    severity_log(rate, XFREE_RATE, 0.4),
	    "Blocks pass from producer to consumer threads, and freeing another "
	    "thread's block locks that thread's malloc arena: return blocks to their "
	    "owner in batches or recycle them through the queue.",
	    "%s freed %s blocks but allocated %s: at least %s (%d%% of its frees, %s "
	    "over the session) were allocated by other threads%s",
	    who(name, sizeof(name), t), format_count(fr, sizeof(fr), (double)t->c.frees),
	    format_count(al, sizeof(al), (double)t->c.allocs),
	    format_count(ex, sizeof(ex), excess), percent(excess / (double)t->c.frees),
	    format_rate(r, sizeof(r), rate), ptail);
}

/* 6. realloc-growth. */
static void rule_realloc(struct findings *col, const struct thread_stat *t,
			 const struct window *w)
{
	double rate = (double)w->reallocs / w->dt;
	if (rate < REALLOC_RATE || w->allocs == 0)
		return;
	double share = (double)w->reallocs / (double)w->allocs;
	if (share < REALLOC_SHARE)
		return;
	char name[128], r[FORMAT_LEN], span[FORMAT_LEN];
	add(col, "realloc-growth", t->tid, BOTTLENECK_NO_STACK,
	    severity_log(rate, REALLOC_RATE, 0.4),
	    "Buffers grow by small steps, and a step may copy the whole buffer: reserve "
	    "the expected capacity up front, grow geometrically (double the capacity), "
	    "or build in fixed-size chunks.",
	    "%s made %s reallocs over %s, %d%% of its allocation calls",
	    who(name, sizeof(name), t), format_rate(r, sizeof(r), rate),
	    format_duration(span, sizeof(span), w->dt), percent(share));
}

/* 7. fragmentation, process-wide. */
static void rule_fragmentation(struct findings *col, const struct session *s)
{
	if (!wanted(col, 0))
		return;
	double frag = session_fragmentation(s);
	if (!isfinite(frag) || frag < FRAG_RATIO || s->mi.arena < FRAG_MIN_ARENA)
		return;
	char fb[FORMAT_LEN], ar[FORMAT_LEN], kc[FORMAT_LEN], n[FORMAT_LEN];
	add(col, "fragmentation", 0, BOTTLENECK_NO_STACK,
	    clamp01(0.2 + (frag - FRAG_RATIO) * (0.8 / 0.6)),
	    "Free memory is scattered between live blocks: call malloc_trim(0) after "
	    "peaks, limit arenas (MALLOC_ARENA_MAX or mallopt M_ARENA_MAX), and keep "
	    "objects of similar lifetime together in their own pool.",
	    "the malloc heap holds %s free in %s chunks, %d%% of its %s arena "
	    "(%s of it at the top, releasable by malloc_trim)",
	    format_bytes(fb, sizeof(fb), (int64_t)s->mi.fordblks),
	    format_count(n, sizeof(n), (double)s->mi.ordblks), percent(frag),
	    format_bytes(ar, sizeof(ar), (int64_t)s->mi.arena),
	    format_bytes(kc, sizeof(kc), (int64_t)s->mi.keepcost));
}

/* 8. failed-allocations of t (NULL: of the threads without a slot). */
static void rule_failed(struct findings *col, const struct thread_stat *t,
			uint64_t failed, uint64_t recent)
{
	int tid = t ? t->tid : 0;
	if (failed == 0 || !wanted(col, tid))
		return;
	char name[128], n[FORMAT_LEN], r[FORMAT_LEN], tail[64] = "";
	if (recent > 0)
		snprintf(tail, sizeof(tail), ", %s in the last interval",
			 format_count(r, sizeof(r), (double)recent));
	add(col, "failed-allocations", tid, BOTTLENECK_NO_STACK,
	    clamp01(0.6 + 0.2 * log10((double)failed)),
	    "The process hit a memory limit or asked for an impossible size: check "
	    "ulimit -v, the cgroup's memory.max and overcommit settings, and that every "
	    "caller handles a NULL return.",
	    "%s%s: %s allocation call%s returned no block%s",
	    who(name, sizeof(name), t), t ? "" : " (threads without a slot of their own)",
	    format_count(n, sizeof(n), (double)failed), failed == 1 ? "" : "s", tail);
}

/* ---------------------------------------------------------------- entry */

/* Whether a thread's stack list reports st already (a thread's finding is
 * the more precise one). */
static bool stack_fired_in_thread(const struct session *s, const struct stack_stat *st)
{
	struct findings probe = { .out = NULL, .max = 0 };
	for (size_t i = 0; s->threads && i < s->nthreads; i++) {
		const struct thread_stat *t = &s->threads[i];
		for (size_t j = 0; t->tid > 0 && t->top_stacks && j < t->ntop; j++)
			if (t->top_stacks[j].id == st->id &&
			    rule_small_stack(&probe, s, t, &t->top_stacks[j]))
				return true;
	}
	return false;
}

size_t bottleneck_detect(const struct session *s, int tid, struct bottleneck *out, size_t max)
{
	struct findings col = { .out = out, .max = out ? max : 0, .n = 0, .tid = tid };
	if (!s || col.max == 0)
		return 0;
	/* Stack estimates are sums over the session: too short a session
	 * would turn a handful of samples into a huge rate. */
	bool stacks_ok = isfinite(s->elapsed_s) && s->elapsed_s >= STACK_MIN_ELAPSED_S;

	for (size_t i = 0; s->threads && i < s->nthreads; i++) {
		const struct thread_stat *t = &s->threads[i];
		if (t->tid <= 0 || !wanted(&col, t->tid))
			continue;
		struct window w;
		bool have_window = thread_window(s, t, &w);
		if (have_window) {
			rule_small_thread(&col, t, &w);
			rule_temporary(&col, t, &w);
			rule_realloc(&col, t, &w);
		}
		rule_large(&col, s, t, have_window ? &w : NULL);
		rule_leak(&col, s, t);
		rule_cross_free(&col, s, t);
		rule_failed(&col, t, t->c.failed,
			    s->final || !isfinite(t->alloc_rate) ? 0
				: sub_sat(t->c.failed, t->prev.failed));
		for (size_t k = 0; stacks_ok && t->top_stacks && k < t->ntop; k++)
			rule_small_stack(&col, s, t, &t->top_stacks[k]);
	}

	if (!wanted(&col, 0))
		return col.n;
	rule_large(&col, s, NULL, NULL);
	rule_leak(&col, s, NULL);
	rule_fragmentation(&col, s);
	rule_failed(&col, NULL, s->overflow.failed, 0);
	for (size_t k = 0; stacks_ok && s->top_stacks && k < s->ntop; k++)
		if (!stack_fired_in_thread(s, &s->top_stacks[k]))
			rule_small_stack(&col, s, NULL, &s->top_stacks[k]);
	return col.n;
}
