/*
 * showcase.c - a target for the viewer's tests and its cost benchmark:
 * named threads with deliberately different profiles, so every ranking
 * key puts a different thread first, plus output on both streams.
 *
 * Usage: showcase SECONDS STATUS [WORKERS]
 *     SECONDS  run this long, then exit with STATUS (0: until killed)
 *     WORKERS  instead of the profiles below, run WORKERS threads named
 *              "worker-N", each making about 1000 malloc/free pairs a
 *              second (the benchmark's "active threads")
 *
 * Profiles (the thread names the tests look for):
 *   alloc-heavy   about 20,000 small malloc/free pairs a second: most allocs
 *   big-live      48 blocks of 1 MiB, kept: most bytes and live bytes
 *   cpu-spin      busy half of the time, allocates little: most CPU
 *   "bad\e[7mname" a name with an escape sequence, which must be shown
 *                 harmlessly
 * The main thread prints "showcase: tick N" to stdout every 0.5 s and
 * "showcase: stderr N" to stderr every 2 s; its very first line carries
 * escape sequences (clear screen, red) that must not reach the terminal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void churn(int n, size_t base)
{
	for (int i = 0; i < n; i++) {
		volatile char *p = malloc(base + (size_t)(i % 64));
		if (p)
			p[0] = 1;
		free((void *)p);
	}
}

static void *alloc_heavy(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "alloc-heavy");
	for (;;) {
		churn(200, 32);
		sleep_ms(10);
	}
	return NULL;
}

static void *big_live(void *arg)
{
	(void)arg;
	static void *volatile keep[48];
	pthread_setname_np(pthread_self(), "big-live");
	for (int i = 0; i < 48; i++) {
		keep[i] = malloc(1 << 20);
		if (keep[i])
			memset(keep[i], i, 1 << 20);
	}
	for (;;)
		sleep_ms(1000);
	return NULL;
}

static void *cpu_spin(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "cpu-spin");
	volatile unsigned long x = 0;
	for (;;) {
		double until = now_s() + 0.005;
		while (now_s() < until)
			x = x * 31 + 7;
		churn(1, 16);
		sleep_ms(5);
	}
	return NULL;
}

static void *bad_name(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "bad\x1b[7mname");
	for (;;) {
		churn(20, 100);
		sleep_ms(50);
	}
	return NULL;
}

static void *worker(void *arg)
{
	char name[16];
	snprintf(name, sizeof(name), "worker-%d", (int)(long)arg);
	pthread_setname_np(pthread_self(), name);
	for (;;) {
		churn(10, 48);
		sleep_ms(10);
	}
	return NULL;
}

static void start(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, fn, arg);
	if (err) {
		fprintf(stderr, "showcase: pthread_create: %s\n", strerror(err));
		exit(1);
	}
	pthread_detach(t);
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: showcase SECONDS STATUS [WORKERS]\n");
		return 2;
	}
	double seconds = atof(argv[1]);
	int status = atoi(argv[2]);
	int workers = argc > 3 ? atoi(argv[3]) : 0;

	printf("\x1b[2J\x1b[31mshowcase: starting\x1b[0m\n");
	fflush(stdout);
	if (workers > 0) {
		for (long i = 0; i < workers; i++)
			start(worker, (void *)i);
	} else {
		start(alloc_heavy, NULL);
		start(big_live, NULL);
		start(cpu_spin, NULL);
		start(bad_name, NULL);
	}
	double t0 = now_s();
	for (int tick = 1; seconds <= 0 || now_s() - t0 < seconds; tick++) {
		sleep_ms(500);
		printf("showcase: tick %d\n", tick);
		fflush(stdout);
		if (tick % 4 == 0)
			fprintf(stderr, "showcase: stderr %d\n", tick / 4);
	}
	printf("showcase: done, exiting with status %d\n", status);
	fflush(stdout);
	exit(status);
}
