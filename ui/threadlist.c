/*
 * threadlist.c - filtering and sorting the session's threads (see
 * threadlist.h).
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "threadlist.h"

const char *sort_key_name(enum sort_key k)
{
	switch (k) {
	case SORT_ALLOCS: return "allocs";
	case SORT_BYTES: return "bytes";
	case SORT_LIVE: return "live";
	case SORT_CPU: return "cpu";
	case SORT_EFFICIENCY: return "efficiency";
	default: return "?";
	}
}

threadlist *threadlist_new(void)
{
	return calloc(1, sizeof(threadlist));
}

void threadlist_free(threadlist *self)
{
	if (!self)
		return;
	free(self->slot);
	free(self);
}

bool threadlist_match(const char *name, const char *filter)
{
	if (!filter || !*filter)
		return true;
	size_t fl = strlen(filter);
	for (const char *p = name; *p; p++) {
		size_t i = 0;
		while (i < fl && p[i] &&
		       tolower((unsigned char)p[i]) == tolower((unsigned char)filter[i]))
			i++;
		if (i == fl)
			return true;
	}
	return false;
}

/* qsort has no context argument: the session and key of the sort in
 * progress.  The viewer is single-threaded. */
static const struct session *sort_session;
static enum sort_key sort_by;

/* Missing figures (NAN) sort after every measured one. */
static int cmp_desc(double a, double b)
{
	bool fa = isfinite(a), fb = isfinite(b);
	if (fa != fb)
		return fa ? -1 : 1;
	if (!fa)
		return 0;
	return a > b ? -1 : a < b ? 1 : 0;
}

static double key_of(const struct thread_stat *t)
{
	switch (sort_by) {
	case SORT_ALLOCS: return (double)t->c.allocs;
	case SORT_BYTES: return (double)t->c.bytes_allocated;
	case SORT_LIVE: return (double)metrics_thread_live(t);
	case SORT_CPU:
		/* An exited thread's last interval figure is stale. */
		return t->exited && !sort_session->final ? NAN : t->cpu_percent;
	case SORT_EFFICIENCY: {
		double e = metrics_size_efficiency(&t->c);
		return isfinite(e) ? -e : NAN;
	}
	default: return NAN;
	}
}

static int compare(const void *pa, const void *pb)
{
	const struct thread_stat *a = &sort_session->threads[*(const size_t *)pa];
	const struct thread_stat *b = &sort_session->threads[*(const size_t *)pb];
	int c = cmp_desc(key_of(a), key_of(b));
	if (c)
		return c;
	return a->tid < b->tid ? -1 : a->tid > b->tid;
}

int threadlist_build(threadlist *self, const struct session *s, enum sort_key key,
		     const char *filter)
{
	if (s->nthreads > self->cap) {
		size_t *p = realloc(self->slot, s->nthreads * sizeof(*p));
		if (!p)
			return -1;
		self->slot = p;
		self->cap = s->nthreads;
	}
	self->n = 0;
	self->total = 0;
	for (size_t i = 0; i < s->nthreads; i++) {
		const struct thread_stat *t = &s->threads[i];
		if (t->tid < 0)
			continue;
		self->total++;
		if (threadlist_match(t->name, filter))
			self->slot[self->n++] = i;
	}
	sort_session = s;
	sort_by = key;
	if (self->n > 1)
		qsort(self->slot, self->n, sizeof(*self->slot), compare);
	return 0;
}

long threadlist_find(const threadlist *self, size_t slot)
{
	for (size_t i = 0; i < self->n; i++)
		if (self->slot[i] == slot)
			return (long)i;
	return -1;
}
