/*
 * twosites.c - allocations from two known static functions, each in its own
 * named thread, for the end-to-end test of sampled stacks: "smallsite"
 * makes many small short-lived blocks, "bigsite" few medium-sized ones and
 * keeps the last KEEP of them live until exit.
 * Usage: twosites [SMALL_CALLS [BIG_CALLS]]
 */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMALL_SIZE 48
#define BIG_SIZE   40000
#define KEEP       50

static long small_calls = 1000000, big_calls = 20000;
static void *volatile sink;
static void *kept[KEEP];

static __attribute__((noinline)) void small_many(void)
{
	for (long i = 0; i < small_calls; i++) {
		char *p = malloc(SMALL_SIZE);
		p[0] = (char)i;
		sink = p;
		free(p);
	}
}

static __attribute__((noinline)) void big_few(void)
{
	for (long i = 0; i < big_calls; i++) {
		char *p = malloc(BIG_SIZE);
		p[0] = (char)i;
		if (i >= big_calls - KEEP) {
			kept[i - (big_calls - KEEP)] = p;
		} else {
			sink = p;
			free(p);
		}
	}
}

static void *run(void *arg)
{
	if (arg) {
		pthread_setname_np(pthread_self(), "bigsite");
		big_few();
	} else {
		pthread_setname_np(pthread_self(), "smallsite");
		small_many();
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		small_calls = atol(argv[1]);
	if (argc > 2)
		big_calls = atol(argv[2]);
	pthread_t a, b;
	pthread_create(&a, NULL, run, NULL);
	pthread_create(&b, NULL, run, (void *)1);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("small %ld x %d, big %ld x %d, kept %d\n", small_calls, SMALL_SIZE, big_calls,
	       BIG_SIZE, KEEP);
	return 0;
}
