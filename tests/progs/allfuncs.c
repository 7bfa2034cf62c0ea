/*
 * allfuncs.c - the behaviour an interposing collector must pass through
 * untouched: return values, errno on success and on failure, alignment,
 * malloc_usable_size, contents kept by realloc, zeroed calloc memory.
 *
 * Usage: allfuncs
 *
 * Output (stdout) when every check holds, exit status 0:
 *     FAILED expected=K
 *     ALLFUNCS ok
 * otherwise, exit status 1:
 *     ALLFUNCS FAIL: <check> (line N)     one line per check that failed
 *     FAILED expected=K
 *     ALLFUNCS N checks failed
 *
 * K is the number of calls made here that are meant to fail: a nonzero size
 * or a bad alignment answered with NULL or an error code (malloc(SIZE_MAX),
 * a calloc whose product overflows, posix_memalign with alignment 24, ...).
 * A collector that counts failed calls must count exactly K of them.  Every
 * failing call is made once; malloc(0) is made too but is not a failure (it
 * is not counted in K whatever it returns).  realloc(p, 0) is left out: its
 * meaning differs between C standards.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;
static unsigned expected_failed;

/*
 * Sizes, NULL and errno go through volatile accesses: gcc may fold a call
 * whose size it knows to be impossible, drops free(NULL) altogether, and
 * assumes free() leaves errno alone, so it could drop a re-read of errno
 * across the call.
 */
static volatile size_t huge = SIZE_MAX;
static void *volatile null_ptr;
#define SET_ERRNO(v) (*(volatile int *)&errno = (v))
#define GET_ERRNO() (*(volatile int *)&errno)

#define CHECK(cond, what)                                                            \
	do {                                                                         \
		if (!(cond)) {                                                       \
			printf("ALLFUNCS FAIL: %s (line %d)\n", what, __LINE__);     \
			failures++;                                                  \
		}                                                                    \
	} while (0)

static int aligned(const void *p, size_t alignment)
{
	return ((uintptr_t)p & (alignment - 1)) == 0;
}

static void fill(void *p, size_t n, unsigned seed)
{
	unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		c[i] = (unsigned char)(seed + i * 7);
}

static int filled(const void *p, size_t n, unsigned seed)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i] != (unsigned char)(seed + i * 7))
			return 0;
	return 1;
}

static void check_malloc_free(void)
{
	void *p;

	SET_ERRNO(1234);
	p = malloc(100);
	CHECK(p != NULL, "malloc(100) returns a block");
	CHECK(GET_ERRNO() == 1234, "malloc keeps errno on success");
	if (p) {
		CHECK(malloc_usable_size(p) >= 100, "malloc_usable_size >= requested size");
		fill(p, 100, 1);
		CHECK(filled(p, 100, 1), "malloc'd memory is writable");
	}
	SET_ERRNO(1234);
	free(p);
	CHECK(GET_ERRNO() == 1234, "free keeps errno");

	SET_ERRNO(1234);
	free(null_ptr);
	CHECK(GET_ERRNO() == 1234, "free(NULL) keeps errno");
	CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) is 0");

	/* Either answer is allowed by C; what matters is that free accepts it. */
	p = malloc(0);
	free(p);

	/* A block past the mmap threshold takes glibc's other path. */
	SET_ERRNO(1234);
	p = malloc(1 << 20);
	CHECK(p != NULL, "malloc(1 MiB) returns a block");
	CHECK(GET_ERRNO() == 1234, "malloc(1 MiB) keeps errno");
	if (p) {
		CHECK(malloc_usable_size(p) >= 1 << 20, "malloc_usable_size of a 1 MiB block");
		fill(p, 1 << 20, 2);
	}
	free(p);
}

static void check_calloc(void)
{
	unsigned char *p;
	size_t i;
	int zero = 1;

	/* Dirty a block of the same size first, so calloc is likely to reuse it. */
	p = malloc(1000);
	if (p)
		memset(p, 0xab, 1000);
	free(p);

	SET_ERRNO(1234);
	p = calloc(10, 100);
	CHECK(p != NULL, "calloc(10, 100) returns a block");
	CHECK(GET_ERRNO() == 1234, "calloc keeps errno on success");
	if (p) {
		for (i = 0; i < 1000; i++)
			zero &= p[i] == 0;
		CHECK(zero, "calloc memory is zeroed");
		CHECK(malloc_usable_size(p) >= 1000, "malloc_usable_size of a calloc block");
	}
	free(p);
}

static void check_realloc(void)
{
	void *p, *q;

	SET_ERRNO(1234);
	p = realloc(NULL, 50);
	CHECK(p != NULL, "realloc(NULL, 50) returns a block");
	CHECK(GET_ERRNO() == 1234, "realloc(NULL) keeps errno");
	if (!p)
		return;
	fill(p, 50, 3);

	q = realloc(p, 5000);
	CHECK(q != NULL, "realloc grow returns a block");
	if (!q) {
		free(p);
		return;
	}
	p = q;
	CHECK(filled(p, 50, 3), "realloc grow keeps the contents");
	CHECK(GET_ERRNO() == 1234, "realloc grow keeps errno");

	q = realloc(p, 20);
	CHECK(q != NULL, "realloc shrink returns a block");
	if (!q) {
		free(p);
		return;
	}
	p = q;
	CHECK(filled(p, 20, 3), "realloc shrink keeps the contents");

	q = realloc(p, 300000);
	CHECK(q != NULL, "realloc to an mmap'd size returns a block");
	if (!q) {
		free(p);
		return;
	}
	p = q;
	CHECK(filled(p, 20, 3), "realloc to an mmap'd size keeps the contents");
	CHECK(GET_ERRNO() == 1234, "realloc keeps errno on success");

	SET_ERRNO(0);
	q = realloc(p, huge - 4096);
	expected_failed++;
	CHECK(q == NULL, "realloc(p, SIZE_MAX - 4096) fails");
	CHECK(GET_ERRNO() == ENOMEM, "failed realloc sets ENOMEM");
	if (q)
		p = q;
	else
		CHECK(filled(p, 20, 3), "failed realloc leaves the old block intact");
	free(p);
}

static void check_reallocarray(void)
{
	void *p, *q;

	SET_ERRNO(1234);
	p = reallocarray(NULL, 10, 8);
	CHECK(p != NULL, "reallocarray(NULL, 10, 8) returns a block");
	CHECK(GET_ERRNO() == 1234, "reallocarray keeps errno on success");
	if (!p)
		return;
	fill(p, 80, 4);

	q = reallocarray(p, 100, 8);
	CHECK(q != NULL, "reallocarray grow returns a block");
	if (!q) {
		free(p);
		return;
	}
	p = q;
	CHECK(filled(p, 80, 4), "reallocarray grow keeps the contents");

	SET_ERRNO(0);
	q = reallocarray(p, huge / 2, 3);
	expected_failed++;
	CHECK(q == NULL, "reallocarray with an overflowing product fails");
	CHECK(GET_ERRNO() == ENOMEM, "overflowing reallocarray sets ENOMEM");
	if (q)
		p = q;
	else
		CHECK(filled(p, 80, 4), "failed reallocarray leaves the old block intact");
	free(p);
}

static void check_aligned(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;
	int rc;

	p = NULL;
	SET_ERRNO(1234);
	rc = posix_memalign(&p, 64, 100);
	CHECK(rc == 0 && p != NULL, "posix_memalign(64, 100) succeeds");
	CHECK(aligned(p, 64), "posix_memalign(64) is 64-byte aligned");
	CHECK(GET_ERRNO() == 1234, "posix_memalign keeps errno on success");
	if (p)
		fill(p, 100, 5);
	free(p);

	p = NULL;
	rc = posix_memalign(&p, 4096, 10000);
	CHECK(rc == 0 && p != NULL, "posix_memalign(4096, 10000) succeeds");
	CHECK(aligned(p, 4096), "posix_memalign(4096) is page aligned");
	free(p);

	SET_ERRNO(1234);
	p = aligned_alloc(256, 1024);
	CHECK(p != NULL, "aligned_alloc(256, 1024) returns a block");
	CHECK(aligned(p, 256), "aligned_alloc(256) is 256-byte aligned");
	CHECK(GET_ERRNO() == 1234, "aligned_alloc keeps errno on success");
	if (p)
		CHECK(malloc_usable_size(p) >= 1024, "malloc_usable_size of an aligned_alloc block");
	free(p);

	SET_ERRNO(1234);
	p = memalign(128, 100);
	CHECK(p != NULL, "memalign(128, 100) returns a block");
	CHECK(aligned(p, 128), "memalign(128) is 128-byte aligned");
	CHECK(GET_ERRNO() == 1234, "memalign keeps errno on success");
	free(p);

	SET_ERRNO(1234);
	p = valloc(100);
	CHECK(p != NULL, "valloc(100) returns a block");
	CHECK(aligned(p, page), "valloc is page aligned");
	CHECK(GET_ERRNO() == 1234, "valloc keeps errno on success");
	free(p);

	SET_ERRNO(1234);
	p = pvalloc(100);
	CHECK(p != NULL, "pvalloc(100) returns a block");
	CHECK(aligned(p, page), "pvalloc is page aligned");
	CHECK(GET_ERRNO() == 1234, "pvalloc keeps errno on success");
	if (p) {
		CHECK(malloc_usable_size(p) >= page, "pvalloc rounds the size up to a page");
		fill(p, page, 6);
	}
	free(p);
}

/* Each of these is a deliberate failure and adds one to expected_failed. */
static void check_failures(void)
{
	void *p, *sentinel = &p;
	int rc;

#define EXPECT_ENOMEM(call, what)                                        \
	do {                                                             \
		SET_ERRNO(0);                                            \
		p = (call);                                              \
		expected_failed++;                                       \
		CHECK(p == NULL, what " returns NULL");                  \
		CHECK(GET_ERRNO() == ENOMEM, what " sets errno to ENOMEM"); \
		free(p);                                                 \
	} while (0)

	EXPECT_ENOMEM(malloc(huge), "malloc(SIZE_MAX)");
	EXPECT_ENOMEM(calloc(huge / 4, 8), "calloc with an overflowing product");
	EXPECT_ENOMEM(realloc(NULL, huge), "realloc(NULL, SIZE_MAX)");
	EXPECT_ENOMEM(reallocarray(NULL, huge / 2, 4), "reallocarray(NULL) overflowing");
	EXPECT_ENOMEM(aligned_alloc(64, huge - 63), "aligned_alloc(64, SIZE_MAX - 63)");
	EXPECT_ENOMEM(memalign(64, huge - 63), "memalign(64, SIZE_MAX - 63)");
	EXPECT_ENOMEM(valloc(huge - 4095), "valloc(SIZE_MAX - 4095)");
	EXPECT_ENOMEM(pvalloc(huge - 10), "pvalloc(SIZE_MAX - 10)");
#undef EXPECT_ENOMEM

	/* 24 is a multiple of sizeof(void *) but not a power of two. */
	p = sentinel;
	rc = posix_memalign(&p, 24, 100);
	expected_failed++;
	CHECK(rc == EINVAL, "posix_memalign with alignment 24 returns EINVAL");
	CHECK(p == sentinel || p == NULL, "failed posix_memalign leaves no block");
	if (rc == 0)
		free(p);

	p = sentinel;
	rc = posix_memalign(&p, 64, huge - 63);
	expected_failed++;
	CHECK(rc == ENOMEM, "posix_memalign(64, SIZE_MAX - 63) returns ENOMEM");
	CHECK(p == sentinel || p == NULL, "failed posix_memalign leaves no block");
	if (rc == 0)
		free(p);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		fprintf(stderr, "usage: allfuncs\n");
		return 2;
	}
	check_malloc_free();
	check_calloc();
	check_realloc();
	check_reallocarray();
	check_aligned();
	check_failures();

	printf("FAILED expected=%u\n", expected_failed);
	if (failures) {
		printf("ALLFUNCS %d check%s failed\n", failures, failures == 1 ? "" : "s");
		return 1;
	}
	printf("ALLFUNCS ok\n");
	return 0;
}
