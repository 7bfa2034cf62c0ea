/*
 * count.c - the least that exact counters can cost, for bench/floor.sh:
 * the figures memtop keeps per thread (calls, requested bytes, usable
 * bytes in and out from glibc's chunk header, the live peak, a size
 * histogram by bit length) in plain thread-local memory, and nothing else:
 * no shared memory, no sequence counter for readers or signal handlers, no
 * re-entry guard, no publication, sampling or trace check.  Not safe as a
 * collector (a signal handler that allocates can lose a count, nobody can
 * read the figures); it measures how far memtop is from the bare minimum.
 */
#include <stddef.h>
#include <stdint.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);

struct counts {
	uint64_t allocs, frees, bytes, usable_in, usable_out, peak;
	uint64_t hist[65];
};

static __thread struct counts tc __attribute__((tls_model("initial-exec")));

/* glibc's chunk header: the size with flag bits; an mmapped chunk has no
 * shared footer */
static inline uint64_t usable(const void *p)
{
	size_t sz = ((const size_t *)p)[-1];
	return (sz & ~(size_t)7) - 8 - ((sz & 2) << 2);
}

void *malloc(size_t n)
{
	void *p = __libc_malloc(n);
	if (p) {
		tc.allocs++;
		tc.bytes += n;
		tc.usable_in += usable(p);
		int64_t live = (int64_t)(tc.usable_in - tc.usable_out);
		if (live > (int64_t)tc.peak)
			tc.peak = (uint64_t)live;
		tc.hist[64 - __builtin_clzll(n | 1)]++;
	}
	return p;
}

void free(void *p)
{
	if (p) {
		tc.frees++;
		tc.usable_out += usable(p);
	}
	__libc_free(p);
}
