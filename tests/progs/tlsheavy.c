/*
 * tlsheavy.c - threads with a large static thread-local block and
 * pthread-key destructors that free memory at thread exit, after the
 * collector's own exit handling may already have run.
 *
 * Usage: tlsheavy [NTHREADS]      (1..64, default 16)
 *
 * Each thread "tls-I" fills its own 256 KiB thread-local array, mallocs a
 * table of 100 pointers and 100 blocks of 64 bytes kept only through a
 * pthread key, and returns.  At thread exit the key's destructor frees the
 * 100 blocks and the table, then sets the key again to one more malloc'd
 * block, which a second round of destructors frees.  So, per thread:
 *     allocs = 102, frees = 102, bytes = sizeof(struct table) + 100*64 + 32
 * Main checks every thread's array and prints
 *     TLSHEAVY threads=N allocs=102 frees=102 bytes=B
 * exiting 0 (1 if anything failed).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAXTHREADS = 64, BLOCKS = 100, TLS_SIZE = 256 * 1024 };

static __thread unsigned char big[TLS_SIZE];
static pthread_key_t key;
static int bad;

struct table {
	int round;
	void *blocks[BLOCKS];
};

static void destroy(void *arg)
{
	if (*(int *)arg == 0) {
		struct table *t = arg;

		for (int i = 0; i < BLOCKS; i++)
			free(t->blocks[i]);
		free(t);
		/* one more block: glibc runs the destructors again for it */
		int *last = malloc(32);
		if (!last) {
			__atomic_store_n(&bad, 1, __ATOMIC_RELAXED);
			return;
		}
		*last = 1;
		pthread_setspecific(key, last);
	} else {
		free(arg);
	}
}

static void *work(void *arg)
{
	long id = (long)arg;
	char name[16];
	struct table *t;
	unsigned long sum = 0;

	snprintf(name, sizeof name, "tls-%ld", id);
	pthread_setname_np(pthread_self(), name);
	memset(big, (int)id, sizeof big);
	for (size_t i = 0; i < sizeof big; i += 4096)
		sum += big[i];
	if (sum != (unsigned long)id * (TLS_SIZE / 4096))
		__atomic_store_n(&bad, 1, __ATOMIC_RELAXED);
	t = malloc(sizeof *t);
	if (!t) {
		__atomic_store_n(&bad, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	t->round = 0;
	for (int i = 0; i < BLOCKS; i++) {
		t->blocks[i] = malloc(64);
		if (!t->blocks[i])
			__atomic_store_n(&bad, 1, __ATOMIC_RELAXED);
	}
	pthread_setspecific(key, t);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 16;
	pthread_t t[MAXTHREADS];

	if (n < 1 || n > MAXTHREADS) {
		fprintf(stderr, "usage: tlsheavy [NTHREADS 1..64]\n");
		return 2;
	}
	if (pthread_key_create(&key, destroy) != 0) {
		perror("tlsheavy: pthread_key_create");
		return 1;
	}
	for (long i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, work, (void *)i) != 0) {
			perror("tlsheavy: pthread_create");
			return 1;
		}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("TLSHEAVY threads=%d allocs=%d frees=%d bytes=%zu\n", n, BLOCKS + 2, BLOCKS + 2,
	       sizeof(struct table) + BLOCKS * 64 + 32);
	return bad;
}
