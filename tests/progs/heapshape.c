/*
 * heapshape.c - what a program can see of glibc's allocator state, printed
 * so that a run under memtop can be compared line by line with a bare run
 * (tests/e2e/heap.sh): the collector must leave the allocator exactly as it
 * would be without it.
 *
 * Usage: heapshape            the allocator's shape, as below
 *        heapshape mixed N    N blocks from __libc_malloc freed through free,
 *                             N blocks from malloc freed through __libc_free
 *
 * Shape mode prints, one line each, for requests of 100 B to 8 MiB made in
 * a fixed order (each freed before the next, then each size again, so that
 * glibc's dynamic mmap threshold shows):
 *     SIZE usable=U mmapped=0|1
 * where mmapped is the IS_MMAPPED bit of the chunk header; then
 *     trim=R          what malloc_trim(0) returned
 *     mallinfo hblks=.. hblkhd=..
 * the mallinfo2 fields that the collector's own allocations cannot move
 * (it makes none of mmapped size).  Output goes through write(2) from a
 * stack buffer: stdio would allocate its buffer, and the first allocation
 * is part of what is compared.
 *
 * Mixed mode allocates N blocks of 3000 bytes with __libc_malloc and frees
 * them with free, and N of 1000 with malloc freed with __libc_free, then
 * prints "MIXED allocs=A frees=F usable_in=I usable_out=O": its own tally
 * of the calls and of the usable bytes allocated and freed (the tests
 * compare the process figures memtop reports with these).
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);

static void say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > 0 && write(STDOUT_FILENO, buf, (size_t)n) < 0)
		_exit(2);
}

/* glibc's chunk header, the word before the block: bit 1 is IS_MMAPPED */
static int is_mmapped(const void *p)
{
	const size_t *hdr = (const size_t *)((uintptr_t)p - sizeof(size_t));
	return (int)((*hdr >> 1) & 1);
}

static void probe(size_t size)
{
	void *p = malloc(size);
	if (!p) {
		say("%zu failed\n", size);
		return;
	}
	/* volatile: the compiler may not drop a malloc/free pair */
	*(volatile char *)p = 1;
	say("%zu usable=%zu mmapped=%d\n", size, malloc_usable_size(p), is_mmapped(p));
	free(p);
}

static int shape(void)
{
	static const size_t sizes[] = { 100, 5000, 200000, 1 << 20, 3 << 20, 8 << 20 };
	enum { N = sizeof sizes / sizeof sizes[0] };
	/* before the program's first allocation */
	say("trim at start=%d\n", malloc_trim(0));
	struct mallinfo2 mi = mallinfo2();
	say("start hblks=%zu hblkhd=%zu\n", mi.hblks, mi.hblkhd);
	/* all at once: the mmapped ones show in mallinfo */
	void *keep[N];
	for (size_t i = 0; i < N; i++) {
		keep[i] = malloc(sizes[i]);
		if (!keep[i])
			return 1;
		say("%zu usable=%zu mmapped=%d\n", sizes[i], malloc_usable_size(keep[i]),
		    is_mmapped(keep[i]));
	}
	mi = mallinfo2();
	say("kept hblks=%zu hblkhd=%zu\n", mi.hblks, mi.hblkhd);
	for (size_t i = 0; i < N; i++)
		free(keep[i]);
	/* one at a time, after the frees above moved glibc's threshold */
	for (size_t i = 0; i < N; i++)
		probe(sizes[i]);
	say("trim=%d\n", malloc_trim(0));
	mi = mallinfo2();
	say("end hblks=%zu hblkhd=%zu\n", mi.hblks, mi.hblkhd);
	return 0;
}

static int mixed(long n)
{
	size_t in = 0, out = 0;
	for (long i = 0; i < n; i++) {
		void *a = __libc_malloc(3000);
		void *b = malloc(1000);
		if (!a || !b)
			return 1;
		in += malloc_usable_size(a) + malloc_usable_size(b);
		out += malloc_usable_size(a) + malloc_usable_size(b);
		free(a);
		__libc_free(b);
	}
	say("MIXED allocs=%ld frees=%ld usable_in=%zu usable_out=%zu\n", 2 * n, 2 * n, in, out);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "mixed") == 0)
		return mixed(atol(argv[2]));
	if (argc != 1) {
		say("usage: heapshape [mixed N]\n");
		return 2;
	}
	return shape();
}
