/*
 * trace_build.h - writing memtop trace files in memory for the unit tests
 * (test_trace_reader, test_pprof): a file header, blocks with their
 * checks, thread and clock records, and event blocks made with the
 * collector's own encoder (trace_encode of preload/trace.h).
 */
#ifndef MEMTOP_TEST_TRACE_BUILD_H
#define MEMTOP_TEST_TRACE_BUILD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

struct tb {
	unsigned char *b;
	size_t n, cap;
};

static inline void put(struct tb *t, const void *d, size_t n)
{
	if (t->n + n > t->cap) {
		t->cap = (t->n + n) * 2 + 256;
		t->b = realloc(t->b, t->cap);
		assert_non_null(t->b);
	}
	memcpy(t->b + t->n, d, n);
	t->n += n;
}

static inline void header(struct tb *t, int pid, int ppid, uint32_t version)
{
	struct mt_trace_header h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, MT_TRACE_MAGIC, sizeof(h.magic));
	h.version = version;
	h.header_size = sizeof(h);
	h.pid = pid;
	h.ppid = ppid;
	h.start_ns = 1000000000000ull;
	snprintf(h.exe, sizeof(h.exe), "/bin/prog%d", pid);
	put(t, &h, sizeof(h));
}

static inline void block(struct tb *t, uint32_t type, int32_t tid, const void *a, size_t alen,
			 const void *b, size_t blen)
{
	unsigned char payload[70000];
	assert_true(alen + blen <= sizeof(payload));
	memcpy(payload, a, alen);
	if (blen)
		memcpy(payload + alen, b, blen);
	struct mt_trace_block h = { type, (uint32_t)(alen + blen), tid,
				    mt_trace_check(payload, alen + blen) };
	put(t, &h, sizeof(h));
	put(t, payload, alen + blen);
}

static inline void thread_rec(struct tb *t, int32_t tid, uint32_t what, uint32_t slot,
			      const char *name, uint64_t time_ns, uint64_t cpu_ns)
{
	struct mt_tb_thread r = { .what = what, .slot = slot, .time_ns = time_ns, .cpu_ns = cpu_ns };
	strncpy(r.name, name, sizeof(r.name));
	block(t, MT_TB_THREAD, tid, &r, sizeof(r), NULL, 0);
}

static inline void clock_rec(struct tb *t, uint64_t ticks, uint64_t rt, uint64_t hz)
{
	struct mt_tb_clock c = { ticks, rt, rt / 2, hz };
	block(t, MT_TB_CLOCK, 0, &c, sizeof(c), NULL, 0);
}

struct evw {
	struct mt_tstream st;
	unsigned char buf[MT_TBUF_SIZE];
};

static inline void ev(struct evw *w, unsigned op, uint64_t a, uint64_t b, uint64_t size,
		      uint64_t usable, uint64_t extra, uint32_t stack, uint64_t weight, uint64_t now)
{
	struct mt_sampled sm = { weight, stack };
	trace_encode(&w->st, w->buf, op, a, b, size, usable, extra, sm, now);
}

static inline void flush(struct tb *t, int32_t tid, struct evw *w, uint32_t flags)
{
	struct mt_tb_events e = { w->st.base_ticks, w->st.count, flags };
	block(t, MT_TB_EVENTS, tid, &e, sizeof(e), w->buf, w->st.used);
	memset(&w->st, 0, sizeof(w->st));
}

/* flush, the block numbered n in its stream as the collector numbers it
 * (MT_EVENTS_SEQ). */
static inline void flush_numbered(struct tb *t, int32_t tid, struct evw *w, uint32_t flags,
				  uint32_t n)
{
	flush(t, tid, w, flags | MT_EVENTS_SEQ | (n & MT_EVENTS_SEQ_MASK) << MT_EVENTS_SEQ_SHIFT);
}

#endif
