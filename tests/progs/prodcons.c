/*
 * prodcons.c - blocks freed by another thread than the one that allocated
 * them: a producer thread mallocs, hands each pointer to a consumer thread
 * through a bounded queue, and the consumer frees it; two blocks are
 * leaked on purpose.  The program keeps its own tally of live requested
 * bytes, updated right after each malloc returns and right before each
 * free, and prints its peak: what memtop report's exact peak and leaks
 * must match (tests/e2e/prodcons.sh), and valgrind's massif peak too.
 *
 * Usage: prodcons [N]     N blocks through the queue (default 200000)
 *
 * Output (stdout, one line, written without stdio so that no buffer of
 * its own is left live):
 *     PRODCONS blocks=N queue=Q leaked=2 leaked_bytes=L peak_live_bytes=P
 *
 * The sizes (24 to 136, 8 more than a multiple of 16) are those whose
 * usable size in glibc is the request, so requested and usable bytes
 * agree.  The queue is filled once before the consumer starts, so that
 * the peak (Q blocks queued, one being made, one being freed, the two
 * leaked) does not depend on how the threads are scheduled.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QUEUE 1024

static void *queue[QUEUE];
static size_t qhead, qtail;          /* taken, put */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t filled = PTHREAD_COND_INITIALIZER;
static int started;                  /* the queue was full once */
static unsigned long nblocks = 200000;
static long live, peak;              /* requested bytes, under count_lock */
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static void *volatile leaked[2];

static size_t size_of(unsigned long i)
{
	return 24 + 16 * (i % 8);
}

static void count(long delta)
{
	pthread_mutex_lock(&count_lock);
	live += delta;
	if (live > peak)
		peak = live;
	pthread_mutex_unlock(&count_lock);
}

static void *producer(void *arg)
{
	(void)arg;
	for (unsigned long i = 0; i < nblocks; i++) {
		size_t n = size_of(i);
		unsigned char *p = malloc(n);
		if (!p)
			abort();
		count((long)n);
		p[0] = (unsigned char)i;
		memcpy(p + 1, &n, sizeof(n));
		pthread_mutex_lock(&lock);
		while (qtail - qhead == QUEUE) {
			if (!started) {
				started = 1;
				pthread_cond_signal(&filled);
			}
			pthread_cond_wait(&not_full, &lock);
		}
		queue[qtail++ % QUEUE] = p;
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&lock);
	}
	pthread_mutex_lock(&lock);
	started = 1;
	pthread_cond_signal(&filled);
	queue[qtail++ % QUEUE] = NULL;   /* the end; the consumer has room for it */
	pthread_cond_signal(&not_empty);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (!started)
		pthread_cond_wait(&filled, &lock);
	pthread_mutex_unlock(&lock);
	for (;;) {
		pthread_mutex_lock(&lock);
		while (qtail == qhead)
			pthread_cond_wait(&not_empty, &lock);
		unsigned char *p = queue[qhead++ % QUEUE];
		pthread_cond_signal(&not_full);
		pthread_mutex_unlock(&lock);
		if (!p)
			return NULL;
		size_t n;
		memcpy(&n, p + 1, sizeof(n));
		count(-(long)n);
		free(p);
	}
}

int main(int argc, char **argv)
{
	if (argc > 2 || (argc == 2 && (nblocks = strtoul(argv[1], NULL, 10)) == 0)) {
		static const char usage[] = "usage: prodcons [N]  (N blocks, at least 1)\n";
		if (write(2, usage, sizeof(usage) - 1) < 0)
			return 2;
		return 2;
	}
	/* the two leaks, made before the threads and never freed */
	leaked[0] = malloc(1000);
	count(1000);
	leaked[1] = malloc(3000);
	count(3000);
	pthread_t pt, ct;
	if (pthread_create(&ct, NULL, consumer, NULL) != 0 ||
	    pthread_create(&pt, NULL, producer, NULL) != 0)
		return 1;
	pthread_join(pt, NULL);
	pthread_join(ct, NULL);
	char line[160];
	int len = snprintf(line, sizeof(line),
			   "PRODCONS blocks=%lu queue=%d leaked=2 leaked_bytes=%d "
			   "peak_live_bytes=%ld\n", nblocks, QUEUE, 1000 + 3000, peak);
	if (len < 0 || write(1, line, (size_t)len) != len)
		return 1;
	return 0;
}
