/*
 * namedthreads.c - one thread per name given on the command line, each
 * named so (the kernel keeps 15 bytes) and allocating, for tests that
 * check how a renderer shows arbitrary names (the HTML report's
 * "<b>x</b>", quotes, "</script>").
 *
 * Usage: namedthreads SECONDS NAME...
 *
 * Thread I (0-based) sets its name, mallocs 100*(I+1) blocks of 32 << (I % 6)
 * bytes and frees all but I+1 of them, waits for the others, sleeps
 * SECONDS (fractions allowed) and ends.  Main prints
 *     NAMEDTHREADS threads=N
 * and exits 0; 2 on a usage error.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 64

static pthread_barrier_t all_named;
static double secs;
static const char *names[MAX_THREADS];
/* reachable, so the blocks kept are live, not lost; not static, so the
 * compiler keeps the stores (and the allocations) */
void *kept[MAX_THREADS][MAX_THREADS + 1];

static void *work(void *arg)
{
	long i = (long)arg;
	char name[16];

	snprintf(name, sizeof(name), "%s", names[i]);
	pthread_setname_np(pthread_self(), name);
	size_t size = (size_t)32 << (i % 6);
	long n = 100 * (i + 1);
	for (long k = 0; k < n; k++) {
		void *volatile p = malloc(size);  /* volatile: keep every call */
		if (k < i + 1)
			kept[i][k] = p;
		else
			free(p);
	}
	pthread_barrier_wait(&all_named);
	struct timespec ts = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };
	nanosleep(&ts, NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc - 2 > MAX_THREADS) {
		fprintf(stderr, "usage: namedthreads SECONDS NAME... (1 to %d names)\n", MAX_THREADS);
		return 2;
	}
	secs = atof(argv[1]);
	int n = argc - 2;
	pthread_t t[MAX_THREADS];
	pthread_barrier_init(&all_named, NULL, (unsigned)n);
	for (int i = 0; i < n; i++) {
		names[i] = argv[i + 2];
		if (pthread_create(&t[i], NULL, work, (void *)(long)i) != 0) {
			perror("pthread_create");
			return 1;
		}
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("NAMEDTHREADS threads=%d\n", n);
	return 0;
}
