/*
 * crasher.c - a real segmentation fault (a store through a NULL pointer,
 * not raise()) in one thread while three others allocate.
 *
 * Usage: crasher [SECONDS]       (crash after SECONDS, default 0.5)
 *
 * Threads "alloc-0".."alloc-2" loop on malloc/free; thread "faulter"
 * prints "CRASHER faulting" after SECONDS and writes through NULL.
 * The process dies of SIGSEGV (status 128+11 in a shell); if it
 * somehow survives, it exits 1.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double secs = 0.5;
static int *volatile nowhere;

static void *alloc_loop(void *arg)
{
	char name[16];

	snprintf(name, sizeof name, "alloc-%ld", (long)arg);
	pthread_setname_np(pthread_self(), name);
	for (unsigned long i = 0;; i++) {
		void *volatile p = malloc(16 + i % 4000);  /* volatile: keep the pair */
		free(p);
	}
	return NULL;
}

static void *faulter(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "faulter");
	struct timespec ts = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };
	nanosleep(&ts, NULL);
	printf("CRASHER faulting\n");
	fflush(stdout);
	*nowhere = 42;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc > 1)
		secs = atof(argv[1]);
	for (long i = 0; i < 3; i++)
		pthread_create(&t, NULL, alloc_loop, (void *)i);
	pthread_create(&t, NULL, faulter, NULL);
	pthread_join(t, NULL);
	fprintf(stderr, "crasher: still alive after the fault\n");
	return 1;
}
