/*
 * threads.c - named worker threads with known, different per-thread
 * allocation counts, one of which renames itself half-way.
 *
 * Usage: threads [NTHREADS [ITERS [SLEEP_SECS]]]
 *     NTHREADS    1..64 worker threads (default 4)
 *     ITERS       work scale (default 1000)
 *     SLEEP_SECS  keep every thread alive this long after its work
 *                 (default 0; fractions allowed), so that a live sampler
 *                 sees them running
 *
 * Worker i (0-based) is named "worker-i" before its first allocation and
 *   - mallocs ITERS*(i+1) blocks of varied sizes (8..1031 bytes, plus one
 *     of 40000 bytes every 1000 calls) and frees every one of them;
 *   - leaks exactly i blocks of 100 bytes (still reachable through a global).
 * The last worker, K = NTHREADS-1, renames itself to "renamed-K" after half
 * of its mallocs.  With SLEEP_SECS it sleeps half of SLEEP_SECS just before
 * the rename and the other half after its work, so a sampler can see both
 * names; the other workers sleep SLEEP_SECS after their work.
 *
 * All workers start their work together (barrier), so they overlap.
 * After joining them, main prints one line per worker, in index order:
 *     THREAD name=NAME allocs=A frees=F bytes=B
 * with the worker's final name and its own count (interface.md rules):
 * A = ITERS*(i+1) + i, F = ITERS*(i+1), B = sum of requested sizes.
 * Only the workers' figures are exact; the main thread also carries libc's
 * own allocations (thread set-up, the stdout buffer).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_THREADS = 64, RING = 32, LEAK_SIZE = 100 };

struct worker {
	pthread_t thread;
	int index;
	char name[16];
	unsigned long long allocs, frees, bytes;
};

static struct worker workers[MAX_THREADS];
static int nthreads = 4;
static unsigned long iters = 1000;
static double sleep_secs;
static pthread_barrier_t start_line;

/* Leaked blocks stay reachable here, which also keeps gcc from eliding them. */
static void *volatile leaked[MAX_THREADS][MAX_THREADS];

/*
 * Thread names are built by hand rather than with snprintf: nothing in a
 * worker may allocate behind the count's back.
 */
static void make_name(char *buf, const char *prefix, int n)
{
	char digits[12];
	int len = 0;

	while (*prefix)
		*buf++ = *prefix++;
	do {
		digits[len++] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	while (len)
		*buf++ = digits[--len];
	*buf = '\0';
}

static void sleep_for(double secs)
{
	struct timespec ts;

	if (secs <= 0)
		return;
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void rename_self(struct worker *w, const char *prefix)
{
	make_name(w->name, prefix, w->index);
	pthread_setname_np(pthread_self(), w->name);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	void *volatile ring[RING] = { 0 };
	unsigned long total = iters * (unsigned long)(w->index + 1), j;
	int renamer = w->index == nthreads - 1;
	int k;

	rename_self(w, "worker-");
	pthread_barrier_wait(&start_line);

	for (j = 0; j < total; j++) {
		size_t size = j % 1000 == 999 ? 40000 : 8 + (j * 131 + (unsigned long)w->index * 17) % 1024;
		void *p;

		if (renamer && j == total / 2) {
			sleep_for(sleep_secs / 2);
			rename_self(w, "renamed-");
		}
		if (ring[j % RING]) {
			free(ring[j % RING]);
			w->frees++;
		}
		p = malloc(size);
		if (!p) {
			fprintf(stderr, "threads: malloc(%zu) failed in %s\n", size, w->name);
			exit(1);
		}
		((volatile unsigned char *)p)[0] = (unsigned char)j;
		ring[j % RING] = p;
		w->allocs++;
		w->bytes += size;
	}
	/* ITERS = 0 leaves nothing to rename at, but the rename is promised. */
	if (renamer && total == 0) {
		sleep_for(sleep_secs / 2);
		rename_self(w, "renamed-");
	}
	for (k = 0; k < RING; k++) {
		if (ring[k]) {
			free(ring[k]);
			w->frees++;
		}
	}
	for (k = 0; k < w->index; k++) {
		void *p = malloc(LEAK_SIZE);

		if (!p) {
			fprintf(stderr, "threads: malloc(%d) failed in %s\n", LEAK_SIZE, w->name);
			exit(1);
		}
		((volatile unsigned char *)p)[0] = (unsigned char)k;
		leaked[w->index][k] = p;
		w->allocs++;
		w->bytes += LEAK_SIZE;
	}

	sleep_for(renamer ? sleep_secs / 2 : sleep_secs);
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
	unsigned long n;
	int i, err;

	if (argc > 4) {
		fprintf(stderr, "usage: threads [NTHREADS [ITERS [SLEEP_SECS]]]\n");
		return 2;
	}
	if (argc > 1) {
		if (!parse_ulong(argv[1], &n) || n < 1 || n > MAX_THREADS) {
			fprintf(stderr, "threads: NTHREADS must be 1..%d, not '%s'\n", MAX_THREADS, argv[1]);
			return 2;
		}
		nthreads = (int)n;
	}
	if (argc > 2 && (!parse_ulong(argv[2], &iters) || iters > 100000000UL)) {
		fprintf(stderr, "threads: ITERS must be 0..100000000, not '%s'\n", argv[2]);
		return 2;
	}
	if (argc > 3) {
		char *end;

		errno = 0;
		sleep_secs = strtod(argv[3], &end);
		if (errno || end == argv[3] || *end || !(sleep_secs >= 0 && sleep_secs <= 86400)) {
			fprintf(stderr, "threads: SLEEP_SECS must be 0..86400, not '%s'\n", argv[3]);
			return 2;
		}
	}

	pthread_barrier_init(&start_line, NULL, (unsigned)nthreads);
	for (i = 0; i < nthreads; i++) {
		workers[i].index = i;
		err = pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
		if (err) {
			fprintf(stderr, "threads: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(workers[i].thread, NULL);
	pthread_barrier_destroy(&start_line);

	for (i = 0; i < nthreads; i++)
		printf("THREAD name=%s allocs=%llu frees=%llu bytes=%llu\n", workers[i].name,
		       workers[i].allocs, workers[i].frees, workers[i].bytes);
	return 0;
}
