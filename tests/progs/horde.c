/*
 * horde.c - many threads alive at the same time (unlike storm.c, whose
 * threads live one after another).
 *
 * Usage: horde [NTHREADS [SECONDS]]      (default 2000 threads, 1 s)
 *
 * Each thread "h-I" (small 64 KiB stack) mallocs 10 blocks of 100 bytes,
 * waits at a barrier until all NTHREADS are up, so all are alive at once,
 * then waits for main to let them go, frees its 10 blocks and ends.  Main
 * keeps them all alive for SECONDS (for a sampler to see them), releases
 * them, joins them and prints
 *     HORDE threads=N alive_at_once=N allocs_each=10 frees_each=10
 * exiting 0 (1 if a thread could not be created or an allocation failed).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { BLOCKS = 10 };

static pthread_barrier_t all_up;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static int released, bad;

static void *work(void *arg)
{
	char name[16];
	void *blocks[BLOCKS];

	snprintf(name, sizeof name, "h-%ld", (long)arg);
	pthread_setname_np(pthread_self(), name);
	for (int i = 0; i < BLOCKS; i++) {
		blocks[i] = malloc(100);
		if (!blocks[i])
			__atomic_store_n(&bad, 1, __ATOMIC_RELAXED);
		else
			memset(blocks[i], 1, 100);
	}
	pthread_barrier_wait(&all_up);
	pthread_mutex_lock(&lock);
	while (!released)
		pthread_cond_wait(&go, &lock);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < BLOCKS; i++)
		free(blocks[i]);
	return NULL;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000;
	double secs = argc > 2 ? atof(argv[2]) : 1.0;
	pthread_attr_t attr;
	pthread_t *t;

	if (n < 1 || n > 100000 || !(secs >= 0 && secs <= 3600)) {
		fprintf(stderr, "usage: horde [NTHREADS [SECONDS]]\n");
		return 2;
	}
	t = calloc((size_t)n, sizeof *t);
	if (!t) {
		perror("horde: calloc");
		return 1;
	}
	pthread_barrier_init(&all_up, NULL, (unsigned)n + 1);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (long i = 0; i < n; i++)
		if (pthread_create(&t[i], &attr, work, (void *)i) != 0) {
			fprintf(stderr, "horde: pthread_create failed at thread %ld\n", i);
			return 1;  /* the others wait at the barrier forever */
		}
	pthread_barrier_wait(&all_up);
	struct timespec ts = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };
	nanosleep(&ts, NULL);
	pthread_mutex_lock(&lock);
	released = 1;
	pthread_cond_broadcast(&go);
	pthread_mutex_unlock(&lock);
	for (long i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	free(t);
	printf("HORDE threads=%ld alive_at_once=%ld allocs_each=%d frees_each=%d\n", n, n, BLOCKS, BLOCKS);
	return bad;
}
