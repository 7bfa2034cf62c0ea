/*
 * nomem.c - allocation failure under a memory limit: run it under
 * `prlimit --as=BYTES` or `ulimit -v KIB`, or set the limit from outside
 * once it runs (`prlimit --pid PID --as=BYTES`): it waits up to 10 s for
 * its address-space limit to be finite before it starts.
 *
 * Thread "hungry" mallocs 1 MiB blocks until malloc returns NULL five
 * times (or 4096 blocks were had), then asks for 1 TiB with malloc and
 * for 4 GiB with calloc (both fail), checks that errno was ENOMEM each
 * time, frees everything, and mallocs 1 MiB again (which must work).
 * Main prints its tally of that thread by interface.md's rules:
 *     NOMEM allocs=A frees=F failed=X enomem=E
 * (A = successful calls, F = frees, X = calls that returned NULL).
 * Exit status 0 if every failure set ENOMEM and memory came back after
 * the frees, 1 otherwise, 3 if no limit was set or nothing failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

enum { MAXBLOCKS = 4096, MIB = 1 << 20 };

static void *blocks[MAXBLOCKS];
static unsigned allocs, frees, failed, enomem, recovered;

static void fail_once(void)
{
	failed++;
	if (errno == ENOMEM)
		enomem++;
}

static void *hungry(void *arg)
{
	unsigned n = 0;
	void *p;

	(void)arg;
	pthread_setname_np(pthread_self(), "hungry");
	while (n < MAXBLOCKS && failed < 5) {
		errno = 0;
		p = malloc(MIB);
		if (p) {
			memset(p, 1, 4096);
			blocks[n++] = p;
			allocs++;
		} else {
			fail_once();
		}
	}
	errno = 0;
	p = malloc((size_t)1 << 40);
	if (p) {
		allocs++;
		free(p);
		frees++;
	} else {
		fail_once();
	}
	errno = 0;
	p = calloc((size_t)1 << 30, 4);
	if (p) {
		allocs++;
		free(p);
		frees++;
	} else {
		fail_once();
	}
	for (unsigned i = 0; i < n; i++) {
		free(blocks[i]);
		frees++;
	}
	p = malloc(MIB);
	if (p) {
		allocs++;
		recovered = 1;
		free(p);
		frees++;
	} else {
		fail_once();
	}
	return NULL;
}

static int limited(void)
{
	struct rlimit rl;

	return getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY;
}

int main(void)
{
	struct timespec tick = { 0, 10000000 };
	pthread_t t;

	for (int i = 0; i < 1000 && !limited(); i++)
		nanosleep(&tick, NULL);
	if (!limited()) {
		fprintf(stderr, "nomem: no address-space limit was set\n");
		return 3;
	}

	if (pthread_create(&t, NULL, hungry, NULL) != 0) {
		perror("nomem: pthread_create");
		return 1;
	}
	pthread_join(t, NULL);
	printf("NOMEM allocs=%u frees=%u failed=%u enomem=%u\n", allocs, frees, failed, enomem);
	if (failed < 2)
		return 3;
	return failed == enomem && recovered ? 0 : 1;
}
