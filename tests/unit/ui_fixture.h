/*
 * ui_fixture.h - hand-built sessions for the viewer's unit tests: a
 * process with named threads and known counters, timelines and system
 * figures, without a real target or /proc.
 */
#ifndef MEMTOP_TEST_UI_FIXTURE_H
#define MEMTOP_TEST_UI_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

static inline void fixture_session(struct session *s, size_t nthreads)
{
	char *argv[] = { "./server", "--port", "8080", NULL };
	session_init(s, 4242, argv, "/nonexistent-procroot", 0);
	s->threads = calloc(nthreads ? nthreads : 1, sizeof(*s->threads));
	s->nthreads = nthreads;
	s->capacity = nthreads;
	s->collector_seen = true;
	s->elapsed_s = 12.5;
	s->interval_s = 1.0;
	for (size_t i = 0; i < nthreads; i++) {
		struct thread_stat *t = &s->threads[i];
		t->slot = (uint32_t)i;
		t->tid = 4242 + (int)i;
		snprintf(t->name, sizeof(t->name), "thread-%zu", i);
		t->cpu_percent = NAN;
		t->alloc_rate = NAN;
	}
}

/* allocs, requested bytes, usable bytes allocated / freed, cpu %. */
static inline void fixture_thread(struct session *s, size_t i, const char *name, uint64_t allocs,
				  uint64_t bytes, uint64_t usable, uint64_t freed, double cpu)
{
	struct thread_stat *t = &s->threads[i];
	if (name)
		snprintf(t->name, sizeof(t->name), "%s", name);
	t->c.allocs = allocs;
	t->c.frees = allocs / 2;
	t->c.bytes_allocated = bytes;
	t->c.usable_allocated = usable;
	t->c.usable_freed = freed;
	t->c.peak_live = (int64_t)(usable - freed);
	t->c.hist[mt_hist_bucket(allocs ? bytes / allocs : 0)] = allocs;
	t->cpu_valid = true;
	t->cpu_percent = cpu;
	t->alloc_rate = (double)allocs / 10.0;
	s->totals.allocs += allocs;
	s->totals.bytes_allocated += bytes;
	s->totals.live_bytes += (int64_t)(usable - freed);
	s->totals.threads_seen++;
}

/* n timeline points 1 s apart, live growing by 1 KiB a point. */
static inline void fixture_history(struct history *h, size_t cap, size_t n)
{
	h->pts = calloc(cap, sizeof(*h->pts));
	h->cap = cap;
	for (size_t i = 0; i < n; i++) {
		struct history_point p = {
			.t = (double)i, .live_bytes = 1024.0 * (double)(i + 1),
			.alloc_rate = 100.0 * (double)(i % 5), .rss_bytes = 4e6,
			.cpu_percent = i % 2 ? 50.0 : 10.0,
		};
		if (h->len < h->cap) {
			h->pts[(h->head + h->len) % h->cap] = p;
			h->len++;
		} else {
			h->pts[h->head] = p;
			h->head = (h->head + 1) % h->cap;
		}
	}
}

#endif
