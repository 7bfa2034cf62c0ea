/*
 * test_sampler.c - the stack sampler's decisions and weights (sampler.h).
 *
 * The collector runs exactly this header; these tests feed it ~10^6
 * synthetic allocations from known call sites with known sizes, with a
 * fixed seed, and check that the Horvitz-Thompson estimates (sum of 1/p,
 * sum of size/p) come within 3% of the truth for every size tier, with and
 * without the hot-site boost.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sampler.h"

struct stream {
	uintptr_t site;
	uint64_t min_size, max_size;
	uint64_t events;             /* to generate */
	/* truth and estimate */
	uint64_t calls, bytes;
	double est_calls, est_bytes;
	uint64_t samples;
};

/* Interleave the streams at random (their own generator, not the
 * sampler's), as a program's call sites would. */
static void run(const struct mt_sampler_config *c, struct stream *st, size_t n, uint64_t seed)
{
	struct mt_sampler s;
	struct mt_site sites[MT_SITES];
	memset(sites, 0, sizeof(sites));
	mt_sampler_thread_init(&s, c, seed);
	uint64_t mix = seed ^ 0xABCDEF12345ULL;
	uint64_t left = 0;
	for (size_t i = 0; i < n; i++)
		left += st[i].events;
	while (left) {
		uint64_t r = mt_rng_next(&mix) % left;
		size_t k = 0;
		while (r >= st[k].events - st[k].calls) {
			r -= st[k].events - st[k].calls;
			k++;
		}
		struct stream *x = &st[k];
		uint64_t span = x->max_size - x->min_size + 1;
		uint64_t size = x->min_size + mt_rng_next(&mix) % span;
		x->calls++;
		x->bytes += size;
		left--;
		unsigned tier = mt_tier(c, size);
		if (!mt_sampler_hit(&s, tier))
			continue;
		uint64_t w = mt_sampler_decide(&s, c, sites, tier, x->site);
		if (!w)
			continue;
		x->samples++;
		x->est_calls += (double)w / MT_WEIGHT_ONE;
		x->est_bytes += (double)mt_weighted_bytes(size, w);
	}
}

static void assert_within(double est, double truth, double tol, const char *what, uintptr_t site)
{
	double rel = fabs(est - truth) / truth;
	if (rel > tol)
		fail_msg("site %#lx %s: estimate %.0f, truth %.0f (%.2f%% off)", (unsigned long)site,
			 what, est, truth, 100 * rel);
}

static struct stream *streams(size_t *n)
{
	static struct stream st[4];
	memset(st, 0, sizeof(st));
	st[0] = (struct stream){ .site = 0x401000, .min_size = 8, .max_size = 2047, .events = 600000 };
	st[1] = (struct stream){ .site = 0x401100, .min_size = 16, .max_size = 256, .events = 300000 };
	st[2] = (struct stream){ .site = 0x402000, .min_size = 2048, .max_size = 65535, .events = 80000 };
	st[3] = (struct stream){ .site = 0x403000, .min_size = 65536, .max_size = 4 << 20, .events = 20000 };
	*n = 4;
	return st;
}

static void check_streams(const struct stream *st, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_true(st[i].samples > 0);
		assert_within(st[i].est_calls, (double)st[i].calls, 0.03, "calls", st[i].site);
		assert_within(st[i].est_bytes, (double)st[i].bytes, 0.03, "bytes", st[i].site);
	}
}

static void test_unbiased_every_tier_without_boost(void **state)
{
	(void)state;
	struct mt_sampler_config c;
	/* a threshold never reached: every site stays at its tier's rate */
	mt_sampler_config_set(&c, true, 0.01, 0.5, 1.0, 2048, 65536, UINT64_MAX, 64);
	size_t n;
	struct stream *st = streams(&n);
	run(&c, st, n, 42);
	check_streams(st, n);
	/* the rates applied are the tier rates: about 1%, 50%, 100% */
	assert_in_range(st[0].samples, 5000, 7000);
	assert_in_range(st[2].samples, 38000, 42000);
	assert_int_equal(st[3].samples, st[3].calls);
	/* the large tier is exact */
	assert_true(st[3].est_calls == (double)st[3].calls);
	assert_true(st[3].est_bytes == (double)st[3].bytes);
}

static void test_unbiased_with_boost(void **state)
{
	(void)state;
	struct mt_sampler_config c;
	mt_sampler_config_set(&c, true, 0.01, 0.5, 1.0, 2048, 65536, 10, 64);
	size_t n;
	struct stream *st = streams(&n);
	run(&c, st, n, 7);
	check_streams(st, n);
	/* hot sites are sampled at twice the rate: small ~2%, medium ~100% */
	assert_in_range(st[0].samples, 11000, 13000);
	assert_in_range(st[2].samples, 79000, 80000);
}

static void test_seeds_agree(void **state)
{
	(void)state;
	struct mt_sampler_config c;
	mt_sampler_config_set(&c, true, 0.01, 0.5, 1.0, 2048, 65536, 10, 64);
	for (uint64_t seed = 1; seed <= 5; seed++) {
		size_t n;
		struct stream *st = streams(&n);
		run(&c, st, n, seed * 1000003);
		check_streams(st, n);
	}
}

static void test_tiers_and_weights(void **state)
{
	(void)state;
	struct mt_sampler_config c;
	mt_sampler_config_set(&c, true, 0.01, 0.5, 1.0, 2048, 65536, 10, 64);
	assert_int_equal(mt_tier(&c, 0), MT_TIER_SMALL);
	assert_int_equal(mt_tier(&c, 2047), MT_TIER_SMALL);
	assert_int_equal(mt_tier(&c, 2048), MT_TIER_MEDIUM);
	assert_int_equal(mt_tier(&c, 65535), MT_TIER_MEDIUM);
	assert_int_equal(mt_tier(&c, 65536), MT_TIER_LARGE);
	assert_int_equal(c.w_cold[0], 100u * MT_WEIGHT_ONE);
	assert_int_equal(c.w_hot[0], 50u * MT_WEIGHT_ONE);
	assert_int_equal(c.w_cold[1], 2u * MT_WEIGHT_ONE);
	assert_int_equal(c.w_hot[1], MT_WEIGHT_ONE);
	assert_int_equal(c.w_cold[2], MT_WEIGHT_ONE);
	assert_int_equal(c.w_hot[2], MT_WEIGHT_ONE);
	assert_int_equal(mt_weighted_bytes(1000, 100u * MT_WEIGHT_ONE), 100000);
	/* rates outside [0,1] are clamped, and depth to 1..MT_STACK_MAX_DEPTH */
	mt_sampler_config_set(&c, true, 2.0, -1, NAN, 10, 20, 0, 1000);
	assert_true(c.rate[0] == 1.0 && c.rate[1] == 0.0 && c.rate[2] == 0.0);
	assert_int_equal(c.depth, MT_STACK_MAX_DEPTH);
	/* below MT_RATE_MIN a weight would not fit: such a tier is off */
	mt_sampler_config_set(&c, true, 1e-300, MT_RATE_MIN, 3.6e-15, 10, 20, 0, 8);
	assert_true(c.rate[0] == 0.0 && c.rate[2] == 0.0);
	assert_int_equal(c.w_cold[0], 0);
	assert_int_equal(c.w_cold[2], 0);
	assert_true(c.rate[1] == MT_RATE_MIN);
	assert_int_equal(c.w_cold[1], (uint64_t)llround(MT_WEIGHT_ONE / MT_RATE_MIN));
}

static void test_countdown_mean(void **state)
{
	(void)state;
	uint64_t rng = 99;
	double sum = 0;
	const int n = 200000;
	for (int i = 0; i < n; i++)
		sum += mt_countdown(&rng, 0.02);
	/* Geometric(q) has mean 1/q = 50 */
	assert_true(fabs(sum / n - 50.0) < 1.0);
	assert_int_equal(mt_countdown(&rng, 1.0), 1);
	assert_int_equal(mt_countdown(&rng, 0.0), MT_COUNTDOWN_OFF);
}

static void test_disabled_never_samples(void **state)
{
	(void)state;
	struct mt_sampler_config c;
	mt_sampler_config_set(&c, false, 1, 1, 1, 2048, 65536, 10, 64);
	struct mt_sampler s;
	struct mt_site sites[MT_SITES];
	memset(sites, 0, sizeof(sites));
	mt_sampler_thread_init(&s, &c, 1);
	for (int t = 0; t < 3; t++)
		assert_int_equal(s.countdown[t], MT_COUNTDOWN_OFF);
	assert_int_equal(mt_sampler_decide(&s, &c, sites, 0, 0x1234), 0);
	assert_int_equal(s.countdown[0], MT_COUNTDOWN_OFF);
	/* a zero rate switches its tier off, and only that tier */
	mt_sampler_config_set(&c, true, 0, 1, 1, 2048, 65536, 10, 64);
	mt_sampler_thread_init(&s, &c, 1);
	assert_int_equal(s.countdown[0], MT_COUNTDOWN_OFF);
	assert_int_equal(s.countdown[1], 1);
}

static void test_hot_site_boost_threshold(void **state)
{
	(void)state;
	struct mt_sampler_config c;
	/* medium: p = 0.5, q = 1; every event is a stage-1 hit */
	mt_sampler_config_set(&c, true, 0.01, 0.5, 1.0, 2048, 65536, 3, 64);
	struct mt_sampler s;
	struct mt_site sites[MT_SITES];
	memset(sites, 0, sizeof(sites));
	mt_sampler_thread_init(&s, &c, 5);
	int taken = 0, hot_weights = 0;
	for (int i = 0; i < 1000; i++) {
		assert_true(mt_sampler_hit(&s, MT_TIER_MEDIUM));
		uint64_t w = mt_sampler_decide(&s, &c, sites, MT_TIER_MEDIUM, 0x5000);
		if (w)
			taken++;
		if (w == c.w_hot[1])
			hot_weights++;
	}
	/* after 4 captures (more than 3) the site is hot: all the rest taken */
	assert_true(taken >= 990);
	assert_true(hot_weights >= 990);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unbiased_every_tier_without_boost),
		cmocka_unit_test(test_unbiased_with_boost),
		cmocka_unit_test(test_seeds_agree),
		cmocka_unit_test(test_tiers_and_weights),
		cmocka_unit_test(test_countdown_mean),
		cmocka_unit_test(test_disabled_never_samples),
		cmocka_unit_test(test_hot_site_boost_threshold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
