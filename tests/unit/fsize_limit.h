/*
 * fsize_limit.h - for unit tests that need a shared-memory file unable to
 * grow: a file size limit at its current size makes posix_fallocate fail
 * (EFBIG) as a full /dev/shm would (ENOSPC), without root or a mount.
 * SIGXFSZ is ignored meanwhile, so the failure is an error, not a signal.
 */
#ifndef MEMTOP_TEST_FSIZE_LIMIT_H
#define MEMTOP_TEST_FSIZE_LIMIT_H

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

struct fsize_limit {
	struct rlimit old;
	void (*old_handler)(int);
};

/* Files of this process cannot grow past the size of path from now on. */
static inline void fsize_limit_at(struct fsize_limit *l, const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &l->old), 0);
	struct rlimit lim = l->old;
	lim.rlim_cur = (rlim_t)st.st_size;
	l->old_handler = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
}

static inline void fsize_limit_lift(struct fsize_limit *l)
{
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &l->old), 0);
	signal(SIGXFSZ, l->old_handler);
}

#endif
