/*
 * trace_format.h - the versioned layout of a memtop trace (memtop-trace(5)).
 *
 * A trace is a directory.  Every traced process appends to its own file,
 * MT_TRACE_FILE_FMT with its pid: a file header, then blocks.  memtop adds
 * MT_TRACE_SESSION_FILE with the session's description and the periodic
 * process metrics.  A block is a fixed header (type, payload size, tid,
 * checksum of the payload) and its payload; a reader that meets a block
 * type it does not know skips it by its size, and one whose checksum does
 * not match is reported as damaged at its offset.  Blocks are written with
 * one write(2) each on a file opened O_APPEND, so a process killed at any
 * moment leaves whole blocks only (at worst a torn last block, which the
 * reader reports and stops at).
 *
 * Events (block MT_TB_EVENTS) are the allocation calls of one thread, in
 * order, each a byte of op and flags followed by unsigned LEB128 varints:
 *
 *   dt            ticks since the previous event of the block (the first:
 *                 since the block's base); in version 2 only when the op
 *                 byte has MT_EVF_TIME, else 0.  Version 2's ticks are
 *                 CLOCK_MONOTONIC_COARSE nanoseconds (clock.h), version
 *                 1's the time-stamp counter
 *   MT_EV_ALLOC   ptr delta from the block's previous pointer, size,
 *                 usable - size; MT_EVF_ALIGN: alignment
 *   MT_EV_FREE    ptr delta, usable size
 *   MT_EV_REALLOC old ptr delta, new ptr delta from old, size,
 *                 new usable - size, old usable
 *   MT_EV_REALLOC_FREE  old ptr delta, old usable (realloc(p, 0))
 *   (version 2: pointer deltas as mt_ptr_code, the usable sizes of freed
 *   blocks as mt_usable_code; version 1: zigzag and plain)
 *   (version 3: varints as mt_put_pvarint, not LEB128;
 *   MT_EVF_IMPLIED: ALLOC and REALLOC leave out usable - size,
 *   the usable size being mt_std_usable(size); FREE leaves out the usable
 *   size, the one its block was allocated with earlier in the block's
 *   stream, which both sides keep in a struct mt_ucache)
 *   MT_EV_FAILED  size (the request that returned NULL)
 *   then, with MT_EVF_SAMPLED: stack id, weight (units of 1/MT_WEIGHT_ONE)
 *
 * Times are time-stamp ticks; MT_TB_CLOCK blocks pair ticks with the
 * clocks so a reader converts them (linear between the nearest pairs).
 */
#ifndef MEMTOP_TRACE_FORMAT_H
#define MEMTOP_TRACE_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MT_TRACE_MAGIC        "MTTRACE\x01"
#define MT_TRACE_VERSION      3u
#define MT_TRACE_VERSION_MIN  1u   /* the oldest a reader still reads */
#define MT_TRACE_FILE_FMT     "trace.%d.mtt"
/* The second and later images of a pid (after exec(2), or a pid used again
 * by a later process): trace.PID.K.mtt, K from 2 up to MT_TRACE_MAX_IMAGE. */
#define MT_TRACE_FILE_FMT_N   "trace.%d.%u.mtt"
#define MT_TRACE_MAX_IMAGE    4095u
#define MT_TRACE_SESSION_FILE "session.mtt"
#define MT_ENV_TRACE          "MEMTOP_TRACE"   /* trace directory */
#define MT_TRACE_EXE_LEN      256u

struct mt_trace_header {
	char     magic[8];
	uint32_t version;
	uint32_t header_size;       /* sizeof(struct mt_trace_header) */
	int32_t  pid;               /* 0 in the session file */
	int32_t  ppid;
	uint64_t start_ns;          /* CLOCK_REALTIME */
	uint64_t session;           /* MEMTOP_SESSION, 0 if none */
	char     exe[MT_TRACE_EXE_LEN];
};

struct mt_trace_block {
	uint32_t type;              /* MT_TB_* */
	uint32_t size;              /* payload bytes that follow */
	int32_t  tid;               /* thread the block is about, 0: process */
	uint32_t check;             /* mt_trace_check() of the payload */
};

enum mt_trace_block_type {
	MT_TB_THREAD = 1,           /* struct mt_tb_thread */
	MT_TB_EVENTS = 2,           /* struct mt_tb_events, then events */
	MT_TB_STACK = 3,            /* struct mt_tb_stack, then depth frames */
	MT_TB_MODULE = 4,           /* struct mt_tb_module, then the path, NUL-terminated */
	MT_TB_CLOCK = 5,            /* struct mt_tb_clock */
	MT_TB_METRICS = 6,          /* struct mt_tb_metrics (session file) */
	MT_TB_END = 7,              /* struct mt_tb_end: the process finished writing */
	MT_TB_SESSION = 8,          /* struct mt_tb_session, then the command line */
};

#define MT_THREAD_START 0u
#define MT_THREAD_EXIT  1u

struct mt_tb_thread {
	uint32_t what;              /* MT_THREAD_START or MT_THREAD_EXIT */
	uint32_t slot;
	uint64_t time_ns;           /* CLOCK_REALTIME */
	uint64_t cpu_ns;            /* at exit: thread CPU time, else 0 */
	char     name[16];
};

#define MT_EVENTS_NESTED 0x1u   /* made by a signal handler interrupting the thread */
/* Bits 8-31 of flags hold the block's number in its stream (its thread's
 * main or nested events), from 0 at the thread's start record, modulo
 * 2^24: a reader tells a block copied, lost or moved.  Writers since the
 * flag's introduction set it; a reader checks the numbers only of blocks
 * that have it (older files: the end record's count only). */
#define MT_EVENTS_SEQ    0x2u
#define MT_EVENTS_SEQ_SHIFT 8
#define MT_EVENTS_SEQ_MASK  0xffffffu

struct mt_tb_events {
	uint64_t base_ticks;
	uint32_t count;
	uint32_t flags;             /* MT_EVENTS_* */
};

struct mt_tb_stack {
	uint32_t id;
	uint32_t depth;
	uint32_t flags;             /* MT_STACK_* of shm_layout.h */
	uint32_t _pad;
	/* uint64_t frames[depth] */
};

struct mt_tb_module {
	uint64_t start, end, offset;
};

struct mt_tb_clock {
	uint64_t ticks;
	uint64_t realtime_ns;
	uint64_t monotonic_ns;
	uint64_t ticks_hz;          /* 0 until calibrated */
};

/* One sample of memtop's /proc readings (the session file). */
struct mt_tb_metrics {
	uint64_t realtime_ns;
	int32_t  pid;
	uint32_t threads;
	uint64_t rss_bytes;         /* UINT64_MAX: unknown */
	uint64_t cpu_ns;            /* user + system, UINT64_MAX: unknown */
};

struct mt_tb_end {
	uint64_t realtime_ns;
	uint64_t events;            /* events this process wrote: the sum of its
				     * event blocks' counts */
	uint64_t lost;              /* events it could not record */
};

struct mt_tb_session {
	int32_t  pid;               /* the command's pid */
	int32_t  exit_status;       /* -1: unknown */
	uint64_t start_ns, end_ns;  /* CLOCK_REALTIME */
	/* the command line, NUL-terminated */
};

/* Fixed parts are whole words: a writer checks them and what follows in
 * two pieces (mt_check_update). */
_Static_assert(sizeof(struct mt_tb_thread) % 8 == 0, "whole words");
_Static_assert(sizeof(struct mt_tb_events) % 8 == 0, "whole words");
_Static_assert(sizeof(struct mt_tb_stack) % 8 == 0, "whole words");
_Static_assert(sizeof(struct mt_tb_module) % 8 == 0, "whole words");
_Static_assert(sizeof(struct mt_tb_clock) % 8 == 0, "whole words");
_Static_assert(sizeof(struct mt_tb_metrics) % 8 == 0, "whole words");
_Static_assert(sizeof(struct mt_tb_end) % 8 == 0, "whole words");
_Static_assert(sizeof(struct mt_tb_session) % 8 == 0, "whole words");

enum mt_event_op {
	MT_EV_ALLOC = 1,
	MT_EV_FREE = 2,
	MT_EV_REALLOC = 3,
	MT_EV_REALLOC_FREE = 4,
	MT_EV_FAILED = 5,
};
#define MT_EV_OP_MASK    0x0fu   /* versions 1 and 2 */
#define MT_EV_OP_MASK3   0x07u   /* version 3 */
#define MT_EVF_IMPLIED   0x08u   /* version 3: a usable size left out (above) */
#define MT_EVF_SAMPLED   0x10u
#define MT_EVF_ALIGN     0x20u
#define MT_EVF_CALLOC    0x40u
#define MT_EVF_TIME      0x80u   /* version 2: a time delta follows the op byte */

/*
 * The block check of version 2: damage, not tampering, is what it must
 * tell from data, at a few bytes a cycle on both sides (version 1's
 * byte-wise FNV-1a cost the collector a fifth of its time in trace mode).
 * The payload is read as little-endian 64-bit words in four lanes (word i
 * in lane i mod 4); each word is folded in as h = rotl64((h ^ w) * M, 29).
 * The rotation matters: without it a difference in a top bit stays there,
 * and two such differences in one lane cancel.  The last n mod 8 bytes
 * form one more word (little-endian, zero-padded) in the next lane.  The
 * lanes are then combined and finished with the length; memtop-trace(5)
 * spells out every step.
 */
#define MT_CHECK_M  0x9E3779B97F4A7C15ULL
#define MT_CHECK_M2 0xC2B2AE3D27D4EB4FULL

static inline uint64_t mt_check_word(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline uint64_t mt_check_round(uint64_t h, uint64_t w)
{
	h = (h ^ w) * MT_CHECK_M;
	return (h << 29) | (h >> 35);
}

/* The check, computed piece by piece: every piece but the last must be a
 * whole number of words (8 bytes). */
struct mt_check {
	uint64_t h[4];
	uint64_t n;                 /* bytes so far */
};

static inline void mt_check_init(struct mt_check *c)
{
	c->h[0] = 0x243F6A8885A308D3ULL;
	c->h[1] = 0x13198A2E03707344ULL;
	c->h[2] = 0xA4093822299F31D0ULL;
	c->h[3] = 0x082EFA98EC4E6C89ULL;
	c->n = 0;
}

static inline void mt_check_update(struct mt_check *c, const void *data, size_t n)
{
	const unsigned char *p = data;
	unsigned l = (unsigned)(c->n / 8) & 3;
	size_t i = 0;
	c->n += n;
	for (; l != 0 && i + 8 <= n; i += 8, l = (l + 1) & 3)
		c->h[l] = mt_check_round(c->h[l], mt_check_word(p + i));
	if (l == 0) {
		uint64_t h0 = c->h[0], h1 = c->h[1], h2 = c->h[2], h3 = c->h[3];
		for (; i + 32 <= n; i += 32) {
			h0 = mt_check_round(h0, mt_check_word(p + i));
			h1 = mt_check_round(h1, mt_check_word(p + i + 8));
			h2 = mt_check_round(h2, mt_check_word(p + i + 16));
			h3 = mt_check_round(h3, mt_check_word(p + i + 24));
		}
		c->h[0] = h0, c->h[1] = h1, c->h[2] = h2, c->h[3] = h3;
	}
	for (; i + 8 <= n; i += 8, l = (l + 1) & 3)
		c->h[l] = mt_check_round(c->h[l], mt_check_word(p + i));
	if (i < n) {
		uint64_t w = 0;
		for (size_t k = 0; i + k < n; k++)
			w |= (uint64_t)p[i + k] << (8 * k);
		c->h[l] = mt_check_round(c->h[l], w);
	}
}

static inline uint32_t mt_check_final(const struct mt_check *c)
{
	uint64_t h = c->n;
	for (int l = 0; l < 4; l++)
		h = mt_check_round(h, c->h[l] * MT_CHECK_M2);
	h ^= h >> 33;
	h *= MT_CHECK_M2;
	h ^= h >> 29;
	return (uint32_t)(h ^ (h >> 32));
}

static inline uint32_t mt_trace_check(const void *data, size_t n)
{
	struct mt_check c;
	mt_check_init(&c);
	mt_check_update(&c, data, n);
	return mt_check_final(&c);
}

/* Version 1's check, FNV-1a over the bytes: still read. */
static inline uint32_t mt_trace_check_v1(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static inline unsigned char *mt_put_varint(unsigned char *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	return p;
}

/*
 * Version 3's varints: the length first, as trailing ones in the first
 * byte, so that a value below 2^28 is written with one shift and one store
 * and read with one count of trailing ones.  Little-endian; a value below
 * 2^(7n) (n = 1 to 4) takes n bytes, (v << n) | (2^(n-1) - 1); a larger
 * one takes 9: the byte 0x0f, then v in 8 bytes.  mt_put_pvarint may write
 * up to 3 bytes past the end, which the caller must have room for.
 */
static inline unsigned char *mt_put_pvarint(unsigned char *p, uint64_t v)
{
	if (__builtin_expect(v >= (1u << 28), 0)) {
		*p = 0x0f;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		v = __builtin_bswap64(v);
#endif
		memcpy(p + 1, &v, 8);
		return p + 9;
	}
	/* By the count of leading zeros (4 to 31 below 2^28): the bytes,
	 * ceil(bits / 7), and their trailing ones, 2^(bytes-1) - 1; two
	 * loads where the arithmetic took six instructions. */
	static const uint8_t len_of[32] = {
		5, 5, 5, 5, 4, 4, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3,
		3, 3, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1,
	};
	static const uint8_t ones_of[32] = {
		15, 15, 15, 15, 7, 7, 7, 7, 7, 7, 7, 3, 3, 3, 3, 3,
		3, 3, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0,
	};
	uint32_t x = (uint32_t)v;
	unsigned lz = (unsigned)__builtin_clz(x | 1u);
	unsigned len = len_of[lz];
	uint32_t w = (x << len) | ones_of[lz];
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap32(w);
#endif
	memcpy(p, &w, 4);
	return p + len;
}

/* Reads one from [*p, end); 0 and *p advanced, or -1 if truncated or not
 * one (a 0x?f first byte other than 0x0f). */
static inline int mt_get_pvarint(const unsigned char **pp, const unsigned char *end,
				 uint64_t *v)
{
	const unsigned char *p = *pp;
	if (p >= end)
		return -1;
	unsigned b0 = p[0];
	if ((b0 & 0x0fu) == 0x0fu) {
		if (b0 != 0x0fu || end - p < 9)
			return -1;
		uint64_t x;
		memcpy(&x, p + 1, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		x = __builtin_bswap64(x);
#endif
		*v = x;
		*pp = p + 9;
		return 0;
	}
	unsigned n = (unsigned)__builtin_ctz(~b0) + 1u;
	if ((size_t)(end - p) < n)
		return -1;
	uint32_t w = 0;
	for (unsigned k = 0; k < n; k++)
		w |= (uint32_t)p[k] << (8 * k);
	*v = w >> n;
	*pp = p + n;
	return 0;
}

static inline uint64_t mt_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t mt_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/*
 * A pointer delta, version 2: allocators hand out 16-byte aligned blocks,
 * so a delta that is a multiple of 16 goes as zigzag(delta / 16) * 2, any
 * other as zigzag(delta) * 2 + 1.  (Version 1: zigzag(delta).)
 */
static inline uint64_t mt_ptr_code(int64_t delta)
{
	if ((delta & 15) == 0)   /* exact: an arithmetic shift divides */
		return mt_zigzag(delta >> 4) << 1;
	return (mt_zigzag(delta) << 1) | 1;
}

static inline int64_t mt_ptr_delta(uint64_t code)
{
	int64_t d = mt_unzigzag(code >> 1);
	return (code & 1) ? d : (int64_t)((uint64_t)d * 16);
}

/*
 * A freed block's usable size, version 2: glibc's are 8 more than a
 * multiple of 16, which go as (u / 16) * 2; any other as u * 2 + 1.
 * (Version 1: u.)
 */
static inline uint64_t mt_usable_code(uint64_t u)
{
	if ((u & 15) == 8 && u < (1ULL << 62))
		return (u >> 4) << 1;
	return u < (1ULL << 63) ? (u << 1) | 1 : UINT64_MAX;
}

static inline uint64_t mt_usable_size(uint64_t code)
{
	return (code & 1) ? code >> 1 : ((code >> 1) << 4) | 8;
}

/*
 * Version 3's usable sizes that need not be written.  An allocation's is
 * most often glibc's for its request on 64-bit systems: the request plus 8
 * rounded up to 16, at least 32, less 8 (a block from mmap, an aligned one
 * or another allocator's may differ, and is then written).
 */
static inline uint64_t mt_std_usable(uint64_t size)
{
	if (size > (1ULL << 62))
		return UINT64_MAX;
	uint64_t n = (size + 8 + 15) & ~(uint64_t)15;
	return (n < 32 ? 32 : n) - 8;
}

/*
 * A freed block's is the one it was allocated with, if the allocation is
 * in the same block of the same stream: writer and reader keep the same
 * direct-mapped table of a stream's allocations, emptied at the start of
 * every block, and update it alike on every event: ALLOC and REALLOC put
 * the new block, FREE, REALLOC and REALLOC_FREE take the old one out
 * (whether or not its size was left out).
 */
#define MT_UCACHE 256u
struct mt_ucache {
	struct {
		uint64_t ptr;        /* 0: empty */
		uint64_t usable;
	} e[MT_UCACHE];
};

static inline unsigned mt_ucache_slot(uint64_t p)
{
	return (unsigned)((p >> 4) ^ (p >> 12)) & (MT_UCACHE - 1);
}

static inline void mt_ucache_put(struct mt_ucache *c, uint64_t p, uint64_t usable)
{
	unsigned k = mt_ucache_slot(p);
	c->e[k].ptr = p;
	c->e[k].usable = usable;
}

/* Takes p out; true and its usable size if it was there. */
static inline int mt_ucache_take(struct mt_ucache *c, uint64_t p, uint64_t *usable)
{
	unsigned k = mt_ucache_slot(p);
	if (p == 0 || c->e[k].ptr != p)
		return 0;
	c->e[k].ptr = 0;
	*usable = c->e[k].usable;
	return 1;
}

/* Reads a varint from [*p, end); 0 and *p advanced, or -1 if truncated. */
static inline int mt_get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	uint64_t r = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (*p >= end)
			return -1;
		unsigned char b = *(*p)++;
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

#endif
