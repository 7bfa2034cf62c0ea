/*
 * sampler.h - which allocations get their call stack captured, and with
 * what weight.
 *
 * Two stages, so that the common case costs one decrement:
 *  1. Each size tier t (small, medium, large) runs a countdown drawn from a
 *     geometric distribution of parameter q_t = min(1, boost * p_t), p_t being
 *     the tier's rate.  This is exactly a Bernoulli(q_t) trial per event,
 *     without a random number per event.
 *  2. On a countdown hit the call site (the allocation's immediate caller)
 *     decides: a hot site (captured more than frequency_threshold times by
 *     this thread) keeps the hit, so it is sampled with probability q_t; any
 *     other site keeps it with probability p_t / q_t, so it is sampled with
 *     probability p_t.
 * Hotness depends only on the past, so the probability of every event is
 * known before its coin is tossed, and weighting each sample by 1/p (p the
 * probability that applied) keeps per-stack sums unbiased (Horvitz-Thompson).
 *
 * Header-only and free of collector state, so the unit tests drive the very
 * code the collector runs.
 */
#ifndef MEMTOP_SAMPLER_H
#define MEMTOP_SAMPLER_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "shm_layout.h"

#define MT_TIER_SMALL   0u
#define MT_TIER_MEDIUM  1u
#define MT_TIER_LARGE   2u
#define MT_SITES        MT_AREA_SITES /* per-thread call-site table (direct-mapped) */
#define MT_BOOST        2.0     /* rate factor for hot call sites */
#define MT_COUNTDOWN_OFF UINT32_MAX

struct mt_sampler_config {
	bool enabled;
	uint32_t depth;
	uint64_t medium, large;      /* tier thresholds (bytes) */
	uint64_t frequency_threshold;
	double rate[3];              /* p_t */
	double first[3];             /* q_t = min(1, boost * p_t) */
	/* fixed-point weights (units of 1/MT_WEIGHT_ONE) and the stage-2 coin */
	uint64_t w_cold[3], w_hot[3];
	uint64_t keep_cold[3];       /* keep a cold hit if rng < keep_cold (2^64 * p/q) */
	bool keep_cold_always[3];
};

/* Per-thread sampling state. */
struct mt_sampler {
	uint64_t rng;
	uint32_t countdown[3];
};

static inline uint64_t mt_rng_next(uint64_t *s)
{
	/* xorshift64*: cheap, and good enough for coin tosses */
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in (0, 1]. */
static inline double mt_rng_unit(uint64_t *s)
{
	return ((double)(mt_rng_next(s) >> 11) + 1.0) / 9007199254740992.0;
}

static inline void mt_sampler_config_set(struct mt_sampler_config *c, bool enabled,
					 double small, double medium, double large,
					 uint64_t medium_thr, uint64_t large_thr,
					 uint64_t freq_thr, uint32_t depth)
{
	c->enabled = enabled;
	c->depth = depth < 1 ? 1 : depth > MT_STACK_MAX_DEPTH ? MT_STACK_MAX_DEPTH : depth;
	c->medium = medium_thr;
	c->large = large_thr;
	c->frequency_threshold = freq_thr;
	double r[3] = { small, medium, large };
	for (int t = 0; t < 3; t++) {
		double p = r[t] > 1 ? 1 : r[t] < MT_RATE_MIN || r[t] != r[t] ? 0 : r[t];
		double q = p * MT_BOOST > 1 ? 1 : p * MT_BOOST;
		c->rate[t] = p;
		c->first[t] = q;
		c->w_cold[t] = p > 0 ? (uint64_t)llround(MT_WEIGHT_ONE / p) : 0;
		c->w_hot[t] = q > 0 ? (uint64_t)llround(MT_WEIGHT_ONE / q) : 0;
		double keep = q > 0 ? p / q : 0;
		c->keep_cold_always[t] = keep >= 1;
		c->keep_cold[t] = keep >= 1 ? UINT64_MAX : (uint64_t)(keep * 18446744073709551616.0);
	}
}

static inline unsigned mt_tier(const struct mt_sampler_config *c, uint64_t size)
{
	return (unsigned)(size >= c->medium) + (unsigned)(size >= c->large);
}

/* Events until (and including) the next stage-1 hit: Geometric(q). */
static inline uint32_t mt_countdown(uint64_t *rng, double q)
{
	if (q >= 1)
		return 1;
	if (!(q > 0))
		return MT_COUNTDOWN_OFF;
	double k = floor(log(mt_rng_unit(rng)) / log1p(-q)) + 1;
	return k >= (double)MT_COUNTDOWN_OFF ? MT_COUNTDOWN_OFF : (uint32_t)k;
}

static inline void mt_sampler_thread_init(struct mt_sampler *s, const struct mt_sampler_config *c,
					  uint64_t seed)
{
	s->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
	for (int t = 0; t < 3; t++)
		s->countdown[t] = c->enabled ? mt_countdown(&s->rng, c->first[t]) : MT_COUNTDOWN_OFF;
}

/* Stage 1, on every event: true when this event reached its tier's hit. */
static inline bool mt_sampler_hit(struct mt_sampler *s, unsigned tier)
{
	return __builtin_expect(--s->countdown[tier] == 0, 0);
}

_Static_assert(MT_SITES == 64, "mt_site_slot takes 6 bits");

static inline struct mt_site *mt_site_slot(struct mt_site *sites, uintptr_t site)
{
	return &sites[((site >> 2) * 0x9E3779B97F4A7C15ULL) >> (64 - 6)];
}

/*
 * Stage 2, after a hit: re-arms the tier's countdown and returns the
 * sample's weight 1/p in units of 1/MT_WEIGHT_ONE, or 0 if not sampled.
 * sites: the thread's call-site table (MT_SITES entries).
 */
static inline uint64_t mt_sampler_decide(struct mt_sampler *s, const struct mt_sampler_config *c,
					 struct mt_site *sites, unsigned tier, uintptr_t site)
{
	if (!c->enabled) {
		s->countdown[tier] = MT_COUNTDOWN_OFF;
		return 0;
	}
	s->countdown[tier] = mt_countdown(&s->rng, c->first[tier]);
	struct mt_site *e = mt_site_slot(sites, site);
	if (e->site != site) {
		/* Another site took this entry: it starts cold again, which
		 * only lowers its rate back to p (still unbiased). */
		e->site = site;
		e->captured = 0;
	}
	uint64_t w;
	if (e->captured > c->frequency_threshold) {
		w = c->w_hot[tier];
	} else {
		if (!c->keep_cold_always[tier] && mt_rng_next(&s->rng) >= c->keep_cold[tier])
			return 0;
		w = c->w_cold[tier];
	}
	e->captured++;
	return w;
}

/* round(size / p) given the fixed-point weight. */
static inline uint64_t mt_weighted_bytes(uint64_t size, uint64_t w)
{
	unsigned __int128 b = (unsigned __int128)size * w + MT_WEIGHT_ONE / 2;
	b /= MT_WEIGHT_ONE;
	return b > UINT64_MAX ? UINT64_MAX : (uint64_t)b;
}

#endif
