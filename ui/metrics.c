/*
 * metrics.c - derived figures for the viewer (formulas in metrics.h and
 * memtop(1)).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>

#include "metrics.h"

double metrics_heap_efficiency(const struct session *s)
{
	if (!s->collector_seen || !s->mi_valid)
		return NAN;
	double held = (double)s->mi.arena + (double)s->mi.hblkhd;
	if (held <= 0)
		return NAN;
	double e = 100.0 * (double)s->totals.live_bytes / held;
	if (e < 0)
		e = 0;
	if (e > 100)
		e = 100;
	return e;
}

double metrics_size_efficiency(const struct mt_counters *c)
{
	if (c->usable_allocated == 0)
		return NAN;
	double e = 100.0 * (double)c->bytes_allocated / (double)c->usable_allocated;
	return e > 100 ? 100 : e;
}

double metrics_avg_size(const struct mt_counters *c)
{
	return c->allocs ? (double)c->bytes_allocated / (double)c->allocs : NAN;
}

int64_t metrics_thread_live(const struct thread_stat *t)
{
	return (int64_t)(t->c.usable_allocated - t->c.usable_freed);
}

int64_t metrics_thread_io_calls(const struct thread_stat *t)
{
	return t->io_valid ? (int64_t)(t->io_syscr + t->io_syscw) : -1;
}

double metrics_io_bytes_per_call(const struct session *s)
{
	if (!s->proc_valid || !s->proc.io_valid)
		return NAN;
	uint64_t calls = s->proc.io_syscr + s->proc.io_syscw;
	if (!calls)
		return NAN;
	return (double)(s->proc.io_read_bytes + s->proc.io_write_bytes) / (double)calls;
}

void metrics_cpu_stats(const struct history *h, double *avg, double *peak)
{
	double sum = 0, max = NAN;
	size_t n = 0;
	for (size_t i = 0; h && h->pts && i < h->len; i++) {
		double c = history_at(h, i)->cpu_percent;
		if (!isfinite(c))
			continue;
		sum += c;
		if (!(c <= max))
			max = c;
		n++;
	}
	*avg = n ? sum / (double)n : NAN;
	*peak = max;
}

void metrics_thread_counts(const struct session *s, size_t *seen, size_t *exited)
{
	*seen = 0;
	*exited = 0;
	for (size_t i = 0; i < s->nthreads; i++) {
		if (s->threads[i].tid < 0)
			continue;
		(*seen)++;
		if (s->threads[i].exited)
			(*exited)++;
	}
}

static const char *unit_of(unsigned shift, unsigned *value)
{
	static const char *const units[] = { "", "K", "M", "G" };
	unsigned u = shift / 10;
	if (u > 3)
		u = 3;
	*value = 1u << (shift - u * 10);
	return units[u];
}

char *metrics_bucket_label(char *buf, size_t len, unsigned b)
{
	if (b == 0) {
		snprintf(buf, len, "0");
		return buf;
	}
	if (b == 1) {
		snprintf(buf, len, "1");
		return buf;
	}
	unsigned lo_v, hi_v;
	const char *lo_u = unit_of(b - 1, &lo_v);
	if (b >= MT_HIST_BUCKETS - 1) {
		snprintf(buf, len, "%u%s+", lo_v, lo_u);
		return buf;
	}
	if (b <= 10) {
		snprintf(buf, len, "%u-%u", 1u << (b - 1), (1u << b) - 1);
		return buf;
	}
	/* From lo up to, not including, hi: exact bounds would not fit. */
	const char *hi_u = unit_of(b, &hi_v);
	snprintf(buf, len, "%u%s-%u%s", lo_v, lo_u, hi_v, hi_u);
	return buf;
}
