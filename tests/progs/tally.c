/*
 * tally.c - a deterministic workload through every malloc-family function,
 * together with the program's own count of what memtop must report for it.
 *
 * Usage: tally [--no-pvalloc] [N]
 *     N              rounds (default 1000, at least 1)
 *     --no-pvalloc   leave pvalloc out: valgrind 3.19's memcheck aborts the
 *                    program at the first pvalloc call, so runs meant to be
 *                    compared with valgrind need this on both sides
 *
 * Output (stdout, exactly one line):
 *     TALLY allocs=A frees=F reallocs=R bytes=B
 *
 * The figures follow the counting rules of interface.md: allocs counts every
 * successful call that returns a block (realloc and reallocarray included),
 * frees counts free() of non-NULL pointers plus realloc/reallocarray of
 * non-NULL pointers, reallocs counts realloc/reallocarray of non-NULL
 * pointers, bytes sums the sizes requested by the allocs (calloc: nmemb *
 * size; valloc and pvalloc: the size argument as passed, before rounding).
 * free(NULL) is called every round and is not counted.
 *
 * All counted work runs in one thread named "tally".  The main thread,
 * renamed "tally-main", only creates it, joins it and prints, so that
 * libc's own allocations (thread set-up, the stdout buffer) belong to the
 * main thread and memtop's figures for the "tally" thread must equal the
 * printed line exactly.  valgrind's "total heap usage" covers the whole
 * process and is therefore at least as large as each printed figure (with
 * glibc 2.36, larger by exactly 2 allocs: the thread's TLS vector and the
 * stdout buffer).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tally {
	unsigned long long allocs, frees, reallocs, bytes;
};

static struct tally t;

/*
 * Every block goes through this volatile array: gcc removes a malloc/free
 * pair whose block is never used, and folds realloc(NULL, n) into malloc(n);
 * volatile loads and stores leave it nothing to prove.
 */
enum { NSLOTS = 12 };
static void *volatile slot[NSLOTS];
static void *volatile null_ptr;
static int use_pvalloc = 1;

static void die(const char *what)
{
	fprintf(stderr, "tally: %s failed: %s\n", what, strerror(errno));
	exit(1);
}

static void took(int k, void *p, size_t size, const char *what)
{
	if (!p)
		die(what);
	((volatile unsigned char *)p)[0] = (unsigned char)k;
	slot[k] = p;
	t.allocs++;
	t.bytes += size;
}

/* A realloc of a live block is an alloc, a free and a realloc at once. */
static void reallocated(int k, void *p, size_t size, const char *what)
{
	took(k, p, size, what);
	t.frees++;
	t.reallocs++;
}

static void release(int k)
{
	free(slot[k]);
	slot[k] = NULL;
	t.frees++;
}

static void one_round(unsigned long i)
{
	size_t s = 1 + (i * 97) % 2000;
	size_t n = 1 + i % 7, m = 8 + i % 100;
	size_t elems = 1 + i % 50;
	void *p;
	int k;

	took(0, malloc(s), s, "malloc");
	took(1, calloc(n, m), n * m, "calloc");

	took(2, realloc(null_ptr, s), s, "realloc(NULL)");
	reallocated(2, realloc(slot[2], 2 * s + 16), 2 * s + 16, "realloc grow");
	reallocated(2, realloc(slot[2], (2 * s + 16) / 3 + 1), (2 * s + 16) / 3 + 1,
		    "realloc shrink");

	took(3, reallocarray(null_ptr, 4, elems), 4 * elems, "reallocarray(NULL)");
	reallocated(3, reallocarray(slot[3], 8, elems), 8 * elems, "reallocarray grow");

	p = NULL;
	errno = posix_memalign(&p, (size_t)64 << (i % 3), s);
	took(4, p, s, "posix_memalign");
	/* C11 wants the size of aligned_alloc to be a multiple of the alignment. */
	took(5, aligned_alloc(128, 128 * (1 + i % 5)), 128 * (1 + i % 5), "aligned_alloc");
	took(6, memalign((size_t)32 << (i % 4), s), s, "memalign");
	took(7, valloc(s), s, "valloc");
	if (use_pvalloc)
		took(8, pvalloc(s), s, "pvalloc");

	/* Past the mmap threshold: glibc serves these from mmap and mremap. */
	if (i % 100 == 0) {
		took(9, malloc(200000), 200000, "malloc large");
		reallocated(9, realloc(slot[9], 400000), 400000, "realloc large");
	}

	free(null_ptr);

	for (k = 0; k < NSLOTS; k++)
		if (slot[k])
			release(k);
}

static unsigned long rounds = 1000;

static void *tally_main(void *arg)
{
	unsigned long i;

	/* Named before the first allocation so every call is attributed to it. */
	pthread_setname_np(pthread_self(), "tally");
	for (i = 0; i < rounds; i++)
		one_round(i);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th;
	int argi = 1, err;

	if (argi < argc && strcmp(argv[argi], "--no-pvalloc") == 0) {
		use_pvalloc = 0;
		argi++;
	}
	if (argc - argi > 1) {
		fprintf(stderr, "usage: tally [--no-pvalloc] [N]\n");
		return 2;
	}
	if (argi < argc) {
		const char *arg = argv[argi];
		char *end;

		errno = 0;
		rounds = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || rounds == 0 || arg[0] == '-') {
			fprintf(stderr, "tally: N must be a positive integer, not '%s'\n", arg);
			return 2;
		}
	}

	/*
	 * The main thread would otherwise carry the program's name, "tally",
	 * too, and the counted thread could not be told apart by name.
	 */
	pthread_setname_np(pthread_self(), "tally-main");
	err = pthread_create(&th, NULL, tally_main, NULL);
	if (err) {
		fprintf(stderr, "tally: pthread_create: %s\n", strerror(err));
		return 1;
	}
	pthread_join(th, NULL);

	printf("TALLY allocs=%llu frees=%llu reallocs=%llu bytes=%llu\n",
	       t.allocs, t.frees, t.reallocs, t.bytes);
	return 0;
}
