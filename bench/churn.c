/*
 * churn.c - a malloc-bound benchmark workload for measuring the overhead
 * of memtop and other heap profilers (bench/run.sh drives it).
 *
 * Usage: churn THREADS OPS
 *
 * Each of THREADS threads makes exactly OPS iterations of: free the block
 * in the next slot of a ring of 64, malloc a new one, write its first byte.
 * Sizes come from a per-thread xorshift generator with a fixed seed: three
 * times in four 16..255 bytes, otherwise 16..4096, so small blocks dominate
 * as in most programs while the live heap stays bounded (64 blocks a
 * thread).  The work is the same on every run: OPS mallocs and OPS frees per
 * thread.
 *
 * Output (stdout, one line):
 *     churn threads=T ops=O elapsed_s=S
 * S is the wall time from just before the first thread starts to just after
 * the last one is joined.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { RING = 64, MAX_THREADS = 256 };

struct worker {
	pthread_t thread;
	uint64_t seed;
	/* Stored for main's sake only, so the bytes read stay live. */
	unsigned long checksum;
};

static unsigned long ops;
/* "fill": initialise every block, as most programs do with what they get */
static int fill;

static void *churn_main(void *arg)
{
	struct worker *w = arg;
	unsigned char *ring[RING] = { 0 };
	uint64_t x = w->seed;
	unsigned long i, sum = 0;
	int k;

	for (i = 0; i < ops; i++) {
		unsigned char **slot = &ring[i % RING];
		size_t size;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size = (x & 3) ? 16 + (x >> 8) % 240 : 16 + (x >> 8) % 4081;

		/* Reading the old block before freeing it keeps the pair observable. */
		if (*slot) {
			sum += (*slot)[0];
			free(*slot);
		}
		*slot = malloc(size);
		if (!*slot) {
			fprintf(stderr, "churn: malloc(%zu) failed\n", size);
			exit(1);
		}
		if (fill)
			memset(*slot, (int)x, size);
		(*slot)[0] = (unsigned char)x;
	}
	for (k = 0; k < RING; k++) {
		if (ring[k])
			sum += ring[k][0];
		free(ring[k]);
	}
	w->checksum = sum;
	return NULL;
}

static int parse_ulong(const char *arg, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(arg, &end, 10);
	return !errno && end != arg && !*end && arg[0] != '-';
}

int main(int argc, char **argv)
{
	static struct worker workers[MAX_THREADS];
	struct timespec t0, t1;
	unsigned long nthreads, i;
	int err;

	if (argc != 3 && !(argc == 4 && strcmp(argv[3], "fill") == 0)) {
		fprintf(stderr, "usage: churn THREADS OPS [fill]\n");
		return 2;
	}
	fill = argc == 4;
	if (!parse_ulong(argv[1], &nthreads) || nthreads < 1 || nthreads > MAX_THREADS) {
		fprintf(stderr, "churn: THREADS must be 1..%d, not '%s'\n", MAX_THREADS, argv[1]);
		return 2;
	}
	if (!parse_ulong(argv[2], &ops)) {
		fprintf(stderr, "churn: OPS must be a whole number, not '%s'\n", argv[2]);
		return 2;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nthreads; i++) {
		workers[i].seed = 0x9e3779b97f4a7c15ULL * (i + 1);
		err = pthread_create(&workers[i].thread, NULL, churn_main, &workers[i]);
		if (err) {
			fprintf(stderr, "churn: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(workers[i].thread, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	printf("churn threads=%lu ops=%lu elapsed_s=%.3f\n", nthreads, ops,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
