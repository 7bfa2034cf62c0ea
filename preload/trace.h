/*
 * trace.h - the collector's writer of the full binary trace (--trace DIR):
 * every allocation event of every thread, in per-thread buffers that the
 * thread appends to without locks or system calls and writes out, one
 * block at a time, when a buffer fills, when the thread exits and when the
 * process ends.  Rare records (threads, stacks, modules, clock pairs) are
 * written directly.  Format: trace_format.h and memtop-trace(5).
 */
#ifndef MEMTOP_TRACE_H
#define MEMTOP_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "clock.h"
#include "trace_format.h"

#ifndef MT_HIDDEN
#define MT_HIDDEN __attribute__((visibility("hidden")))
#endif

#define MT_TBUF_SIZE    65536u
#define MT_TBUF_NESTED  4096u
#define MT_EVENT_MAX    84u      /* longest encoded event (73), and 3 bytes that
                                  * mt_put_pvarint may write past it */

/* used and count share one word, written in one store by the append: a
 * signal handler that ends the process (the process-end flush) in the
 * middle of an append sees both before or both after that event. */
union mt_tpos {
	struct {
		uint32_t used, count;
	};
	uint64_t pos;
};

/* One event of len bytes added to pos: used += len, count += 1. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define MT_TPOS_ADD(len) ((len) + ((uint64_t)1 << 32))
#else
#define MT_TPOS_ADD(len) (((uint64_t)(len) << 32) + 1)
#endif

struct mt_tstream {
	union {
		struct {
			uint32_t used, count;
		};
		uint64_t pos;
	};
	uint64_t base_ticks, last_ticks;
	uint64_t prev_ptr;
	struct mt_ucache uc;         /* the block's allocations (trace_format.h) */
};

/* One thread's buffers; never unmapped (the process-end flush may read
 * them), reused by later threads. */
struct mt_tbuf {
	int32_t tid;
	uint32_t slot;
	int busy;                   /* an append is under way (signal nesting) */
	int lock;                   /* held while writing out */
	int closed;                 /* written out at process end: no more */
	uint32_t clock_left;        /* events before the next check of the clock page */
	uint32_t seq_main, seq_nested;  /* the streams' next block numbers (MT_EVENTS_SEQ) */
	/* An events block on its way to the file: its count, and the file's
	 * size once it is there (a handler that ends the process in the
	 * middle of the write tells from the size whether it went out). */
	uint32_t writing_count;
	uint64_t writing_end;
	struct mt_tbuf *next_free;
	struct mt_tstream main, nested;
	unsigned char nbuf[MT_TBUF_NESTED];
	unsigned char buf[MT_TBUF_SIZE];
};

/* A sampled event's stack, for the trace; weight 0: not sampled. */
struct mt_sampled {
	uint64_t weight;
	uint32_t stack_id;
};

MT_HIDDEN extern bool mt_trace_on;
/* The time in memtop's trace clock page (shm_layout.h), NULL without one. */
MT_HIDDEN extern const uint64_t *mt_trace_clock_ptr;
/* Incremented at every start: a thread whose buffer belongs to an older
 * generation takes a new one (trace_attach) at its next event. */
MT_HIDDEN extern uint32_t mt_trace_gen;

/* From MT_ENV_TRACE, after registry_init: create this process's file. */
MT_HIDDEN void trace_init(void);
/* Start tracing into dir (which must exist): every thread, or only the
 * calling one.  0, or an errno value (EBUSY: already tracing). */
MT_HIDDEN int trace_start(const char *dir, bool this_thread_only);
/* Stop: write out every buffer and the end record.  0, or an errno value
 * (the first write failure of this trace, or EINVAL: not tracing). */
MT_HIDDEN int trace_stop(void);
/* The calling thread's buffer for the current generation (old: its
 * previous one, reused); NULL when this thread is not traced. */
MT_HIDDEN struct mt_tbuf *trace_attach(struct mt_tbuf *old, int tid, uint32_t slot,
				       const char *name);
MT_HIDDEN void trace_thread_exit(struct mt_tbuf *tb, const char *name, uint64_t cpu_ns);
MT_HIDDEN void trace_stack(uint32_t id, uint32_t depth, uint32_t flags, const uint64_t *frames);
MT_HIDDEN void trace_module(uint64_t start, uint64_t end, uint64_t offset, const char *path);
/* A pair of the trace's clock (mt_trace_now) and the system clocks. */
MT_HIDDEN void trace_clock(void);
/* Process end: as trace_stop. */
MT_HIDDEN void trace_finish(void);
/* The same, unless the trace's start or stop is under way (the caller may
 * be a signal handler that interrupted it). */
MT_HIDDEN void trace_finish_if_free(void);
MT_HIDDEN void trace_fork_child(struct mt_tbuf *own);

/* Write out tb's main stream (it is full, or the thread is leaving). */
MT_HIDDEN void trace_flush(struct mt_tbuf *tb);
/* An event arriving while another is being appended (signal handler). */
MT_HIDDEN void trace_event_nested(struct mt_tbuf *tb, unsigned op, uint64_t a, uint64_t b,
				  uint64_t size, uint64_t usable, uint64_t extra,
				  struct mt_sampled sm);

/* Encode one event at buf + st->used (room for MT_EVENT_MAX bytes). */
static inline __attribute__((always_inline)) void
trace_encode(struct mt_tstream *st, unsigned char *buf, unsigned op, uint64_t a, uint64_t b,
	     uint64_t size, uint64_t usable, uint64_t extra, struct mt_sampled sm, uint64_t now)
{
	if (st->count == 0) {
		st->base_ticks = now;
		st->last_ticks = now;
		st->prev_ptr = 0;
		/* a block is read on its own: its table starts empty */
		memset(&st->uc, 0, sizeof(st->uc));
	}
	/* Two sources (the page lags the clock by up to a period): a stream's
	 * times never go back. */
	if (now < st->last_ticks)
		now = st->last_ticks;
	unsigned char *p = buf + st->used;
	unsigned char *start = p;
	if (sm.weight)
		op |= MT_EVF_SAMPLED;
	/* the coarse clock (clock.h) stands still for most events */
	uint64_t dt = now - st->last_ticks;
	if (dt)
		op |= MT_EVF_TIME;
	*p++ = (unsigned char)op;
	if (dt)
		p = mt_put_pvarint(p, dt);
	/* usable sizes the reader can tell (version 3) are left out and
	 * flagged on the op byte; the table of the block's allocations is
	 * kept as the reader keeps it */
	uint64_t cached;
	switch (op & MT_EV_OP_MASK3) {
	case MT_EV_ALLOC:
		p = mt_put_pvarint(p, mt_ptr_code((int64_t)(a - st->prev_ptr)));
		p = mt_put_pvarint(p, size);
		if (usable == mt_std_usable(size))
			*start |= MT_EVF_IMPLIED;
		else
			p = mt_put_pvarint(p, usable - size);
		if (op & MT_EVF_ALIGN)
			p = mt_put_pvarint(p, extra);
		mt_ucache_put(&st->uc, a, usable);
		st->prev_ptr = a;
		break;
	case MT_EV_FREE:
		p = mt_put_pvarint(p, mt_ptr_code((int64_t)(a - st->prev_ptr)));
		if (mt_ucache_take(&st->uc, a, &cached) && cached == usable)
			*start |= MT_EVF_IMPLIED;
		else
			p = mt_put_pvarint(p, mt_usable_code(usable));
		st->prev_ptr = a;
		break;
	case MT_EV_REALLOC:
		p = mt_put_pvarint(p, mt_ptr_code((int64_t)(a - st->prev_ptr)));
		p = mt_put_pvarint(p, mt_ptr_code((int64_t)(b - a)));
		p = mt_put_pvarint(p, size);
		if (usable == mt_std_usable(size))
			*start |= MT_EVF_IMPLIED;
		else
			p = mt_put_pvarint(p, usable - size);
		p = mt_put_pvarint(p, mt_usable_code(extra));
		mt_ucache_take(&st->uc, a, &cached);
		mt_ucache_put(&st->uc, b, usable);
		st->prev_ptr = b;
		break;
	case MT_EV_REALLOC_FREE:
		p = mt_put_pvarint(p, mt_ptr_code((int64_t)(a - st->prev_ptr)));
		p = mt_put_pvarint(p, mt_usable_code(extra));
		mt_ucache_take(&st->uc, a, &cached);
		st->prev_ptr = a;
		break;
	default:
		p = mt_put_pvarint(p, size);
		break;
	}
	if (sm.weight) {
		p = mt_put_pvarint(p, sm.stack_id);
		p = mt_put_pvarint(p, sm.weight);
	}
	st->last_ticks = now;
	/* release: the process-end flush, from another thread, reads up to used */
	__atomic_store_n(&st->pos, st->pos + MT_TPOS_ADD((uint64_t)(p - start)), __ATOMIC_RELEASE);
}

/* The real clock, and whether the page may be trusted for the next
 * MT_CLOCK_CHECK events. */
MT_HIDDEN uint64_t trace_clock_check(struct mt_tbuf *tb);

/* An event's time: mt_trace_now()'s, from memory while the page keeps
 * within MT_CLOCK_SLACK_NS of the clock. */
static inline __attribute__((always_inline)) uint64_t trace_now(struct mt_tbuf *tb)
{
	const uint64_t *c = __atomic_load_n(&mt_trace_clock_ptr, __ATOMIC_RELAXED);
	if (__builtin_expect(c != NULL && tb->clock_left != 0, 1)) {
		tb->clock_left--;
		return __atomic_load_n(c, __ATOMIC_RELAXED);
	}
	return trace_clock_check(tb);
}

/*
 * Append one event without a call: nothing nested, room in the buffer,
 * the clock page trusted.  False, with nothing written, when any of these
 * fails: trace_event_slow then takes it.  Making no call keeps the hot
 * path that inlines it free of saved registers.  a, b: pointers (see
 * trace_format.h for which); extra: alignment (MT_EVF_ALIGN) or old usable
 * size (realloc).
 */
static inline __attribute__((always_inline)) bool
trace_event_try(struct mt_tbuf *tb, unsigned op, uint64_t a, uint64_t b, uint64_t size,
		uint64_t usable, uint64_t extra, struct mt_sampled sm)
{
	if (__builtin_expect(__atomic_load_n(&tb->busy, __ATOMIC_RELAXED) != 0, 0))
		return false;
	__atomic_store_n(&tb->busy, 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	/* read once busy: a signal handler may have added to the buffer */
	const uint64_t *c = __atomic_load_n(&mt_trace_clock_ptr, __ATOMIC_RELAXED);
	bool ok = tb->main.used <= MT_TBUF_SIZE - MT_EVENT_MAX && c != NULL && tb->clock_left != 0;
	if (__builtin_expect(ok, 1)) {
		tb->clock_left--;
		trace_encode(&tb->main, tb->buf, op, a, b, size, usable, extra, sm,
			     __atomic_load_n(c, __ATOMIC_RELAXED));
	}
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&tb->busy, 0, __ATOMIC_RELAXED);
	return ok;
}

/* What trace_event_try leaves: a nested event, a full buffer written out
 * first, the clock checked. */
MT_HIDDEN void trace_event_slow(struct mt_tbuf *tb, unsigned op, uint64_t a, uint64_t b,
				uint64_t size, uint64_t usable, uint64_t extra,
				struct mt_sampled sm);

static inline __attribute__((always_inline)) void
trace_event(struct mt_tbuf *tb, unsigned op, uint64_t a, uint64_t b, uint64_t size,
	    uint64_t usable, uint64_t extra, struct mt_sampled sm)
{
	if (!trace_event_try(tb, op, a, b, size, usable, extra, sm))
		trace_event_slow(tb, op, a, b, size, usable, extra, sm);
}

#endif
