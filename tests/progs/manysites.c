/*
 * manysites.c - allocations from more distinct call stacks than one
 * thread's stack table holds (MT_AREA_STACKS, 256), so that sampled calls
 * of the thread go to the catch-all stack 0 (tests/e2e/stacks.sh).
 *
 * Usage: manysites [ROUNDS]      (default 20)
 *
 * 320 functions site_100..site_419, each a malloc of 64 bytes from its own
 * code (a distinct constant keeps the compiler from folding them into
 * one), called ROUNDS times each from main's thread; each block is freed
 * at once.  Prints "MANYSITES sites=320 allocs=A".
 */
#include <stdio.h>
#include <stdlib.h>

/* The volatile constant k makes each function's code its own; the
 * store after the call keeps malloc from being a tail call, so that the
 * site's frame is on the stack. */
static void *volatile last;
#define SITE_FN(k)                                                  \
	static __attribute__((noinline)) void *site_##k(size_t n)   \
	{                                                           \
		volatile size_t own = (k);                          \
		last = malloc(n + (own & 0));                       \
		return last;                                        \
	}
#define SITE10(k) SITE_FN(k##0) SITE_FN(k##1) SITE_FN(k##2) SITE_FN(k##3) SITE_FN(k##4) \
	SITE_FN(k##5) SITE_FN(k##6) SITE_FN(k##7) SITE_FN(k##8) SITE_FN(k##9)
#define ROW(k) SITE10(k##0) SITE10(k##1) SITE10(k##2) SITE10(k##3) SITE10(k##4) \
	SITE10(k##5) SITE10(k##6) SITE10(k##7) SITE10(k##8) SITE10(k##9)
ROW(1)
ROW(2)
ROW(3)
SITE10(40) SITE10(41)

#define REF10(k) site_##k##0, site_##k##1, site_##k##2, site_##k##3, site_##k##4, \
	site_##k##5, site_##k##6, site_##k##7, site_##k##8, site_##k##9
#define REFROW(k) REF10(k##0), REF10(k##1), REF10(k##2), REF10(k##3), REF10(k##4), \
	REF10(k##5), REF10(k##6), REF10(k##7), REF10(k##8), REF10(k##9)
static void *(*const sites[])(size_t) = { REFROW(1), REFROW(2), REFROW(3), REF10(40), REF10(41) };

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 20;
	const size_t nsites = sizeof sites / sizeof sites[0];
	long allocs = 0;
	for (long r = 0; r < rounds; r++)
		for (size_t i = 0; i < nsites; i++) {
			void *p = sites[i](64);
			if (!p)
				return 1;
			allocs++;
			free(p);
		}
	printf("MANYSITES sites=%zu allocs=%ld\n", nsites, allocs);
	return 0;
}
