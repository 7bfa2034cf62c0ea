/*
 * otheralloc.c - a multi-threaded program whose allocator may be another
 * one than glibc's: built as it is (glibc), and by tests/e2e/compat.sh
 * linked against jemalloc (-ljemalloc) and tcmalloc (-ltcmalloc), whose
 * malloc family then replaces glibc's in the whole process.
 *
 * Usage: otheralloc [ROUNDS]      (default 10000)
 *
 * Four threads "oa-0".."oa-3" each run ROUNDS rounds over a ring of 64
 * blocks: free the ring's oldest block (NULL in the first 64 rounds: not a
 * free), malloc 16..5015 bytes, realloc it to 100..3099 bytes; at the end
 * they free the ring.  So, per thread, by interface.md's rules:
 *     allocs = 2*ROUNDS, frees = 2*ROUNDS, reallocs = ROUNDS.
 * Main prints
 *     ALLOCATOR NAME rounds=ROUNDS checksum=C
 * where NAME is the allocator in use (jemalloc if mallctl exists, tcmalloc
 * if tc_version does, else glibc) and C is a checksum of the data written
 * into the blocks, and exits 0 (1 if an allocation failed).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NTHREADS = 4, RING = 64 };

static long rounds = 10000;
static unsigned long sums[NTHREADS];
static int failed;

static void *work(void *arg)
{
	long id = (long)arg;
	char name[16];
	void *ring[RING] = { 0 };
	unsigned long sum = 0;

	snprintf(name, sizeof name, "oa-%ld", id);
	pthread_setname_np(pthread_self(), name);
	for (long i = 0; i < rounds; i++) {
		int k = (int)(i % RING);
		size_t size = 16 + (size_t)((i * 37 + id) % 5000);
		size_t resize = 100 + (size_t)(i % 3000);
		unsigned char *p, *q;

		free(ring[k]);
		ring[k] = NULL;
		p = malloc(size);
		if (!p) {
			__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
			break;
		}
		memset(p, (int)(i & 0xff), size);
		q = realloc(p, resize);
		if (!q) {
			free(p);
			__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
			break;
		}
		sum = sum * 31 + q[0] + q[(size < resize ? size : resize) - 1];
		ring[k] = q;
	}
	for (int k = 0; k < RING; k++)
		free(ring[k]);
	sums[id] = sum;
	return NULL;
}

int main(int argc, char **argv)
{
	const char *who = dlsym(RTLD_DEFAULT, "mallctl") ? "jemalloc"
			: dlsym(RTLD_DEFAULT, "tc_version") ? "tcmalloc" : "glibc";
	pthread_t t[NTHREADS];
	unsigned long checksum = 0;

	if (argc > 1)
		rounds = atol(argv[1]);
	if (rounds < 1) {
		fprintf(stderr, "usage: otheralloc [ROUNDS >= 1]\n");
		return 2;
	}
	for (long i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, work, (void *)i) != 0) {
			perror("otheralloc: pthread_create");
			return 1;
		}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		checksum = checksum * 1000003 + sums[i];
	}
	printf("ALLOCATOR %s rounds=%ld checksum=%lu\n", who, rounds, checksum);
	return failed ? 1 : 0;
}
