/*
 * traceclock.c - the trace clock page and the thread that keeps it.
 *
 * One store per change of the coarse clock: a traced thread's copy of the
 * page's cache line is invalidated some 250 times a second, which costs
 * nothing next to the clock call per event it replaces.  The thread sleeps
 * MT_CLOCK_PERIOD_NS (4 ms) between readings, so the page is never more
 * than that behind the coarse clock (itself a kernel tick, 1 to 10 ms,
 * behind time).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shm_layout.h"
#include "traceclock.h"

struct traceclock {
	char name[64];
	struct mt_clock_page *page;
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
};

static uint64_t coarse_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *keeper(void *arg)
{
	traceclock *self = arg;
	pthread_mutex_lock(&self->lock);
	while (!self->stop) {
		uint64_t now = coarse_ns();
		if (__atomic_load_n(&self->page->now_ns, __ATOMIC_RELAXED) != now)
			__atomic_store_n(&self->page->now_ns, now, __ATOMIC_RELAXED);
		/* the condition variable's clock is CLOCK_MONOTONIC (below) */
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += (long)MT_CLOCK_PERIOD_NS;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&self->cond, &self->lock, &until);
	}
	pthread_mutex_unlock(&self->lock);
	return NULL;
}

traceclock *traceclock_start(int session, const char *shm_name, char *err, size_t errlen)
{
	traceclock *self = calloc(1, sizeof(*self));
	if (!self) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (shm_name)
		snprintf(self->name, sizeof(self->name), "%s", shm_name);
	else
		snprintf(self->name, sizeof(self->name), MT_CLOCK_NAME_FMT, session);
	int fd = shm_open(self->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* ours from an earlier run with the same pid, or planted: either
		 * way not to be trusted, and only its owner can remove it */
		if (shm_unlink(self->name) == 0)
			fd = shm_open(self->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		else
			errno = EEXIST;
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot create the trace clock %s: %s", self->name,
			 strerror(errno));
		free(self);
		return NULL;
	}
	/* The page reserved, not just sized: writing to a sparse page of a
	 * full /dev/shm would kill memtop with SIGBUS. */
	int why = posix_fallocate(fd, 0, MT_CLOCK_SIZE);
	if (why == 0 &&
	    (self->page = mmap(NULL, MT_CLOCK_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) ==
		    MAP_FAILED)
		why = errno;
	if (why != 0) {
		snprintf(err, errlen, "cannot size or map the trace clock %s: %s", self->name,
			 strerror(why));
		close(fd);
		shm_unlink(self->name);
		free(self);
		return NULL;
	}
	close(fd);
	self->page->version = MT_CLOCK_VERSION;
	self->page->now_ns = coarse_ns();
	/* release: a collector that sees the magic sees a valid time */
	__atomic_store_n(&self->page->magic, MT_CLOCK_MAGIC, __ATOMIC_RELEASE);

	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&self->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&self->lock, NULL);
	int e = pthread_create(&self->th, NULL, keeper, self);
	if (e != 0) {
		snprintf(err, errlen, "cannot start the trace clock's thread: %s", strerror(e));
		pthread_cond_destroy(&self->cond);
		pthread_mutex_destroy(&self->lock);
		munmap(self->page, MT_CLOCK_SIZE);
		shm_unlink(self->name);
		free(self);
		return NULL;
	}
	return self;
}

const char *traceclock_name(const traceclock *self)
{
	return self->name;
}

void traceclock_stop(traceclock *self)
{
	if (!self)
		return;
	pthread_mutex_lock(&self->lock);
	self->stop = true;
	pthread_cond_signal(&self->cond);
	pthread_mutex_unlock(&self->lock);
	pthread_join(self->th, NULL);
	pthread_cond_destroy(&self->cond);
	pthread_mutex_destroy(&self->lock);
	/* the collectors that mapped it keep their mapping: they fall back
	 * to the real clock once it stands still */
	shm_unlink(self->name);
	munmap(self->page, MT_CLOCK_SIZE);
	free(self);
}

int traceclock_cleanup_stale(const char *dir, const char *procroot)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int removed = 0;
	size_t plen = strlen(MT_CLOCK_PREFIX);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, MT_CLOCK_PREFIX, plen) != 0)
			continue;
		char *end;
		errno = 0;
		long pid = strtol(de->d_name + plen, &end, 10);
		if (errno || *end || end == de->d_name + plen || pid <= 0 || pid > 0x7fffffffL)
			continue;
		char path[512];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%ld", procroot, pid);
		if (stat(path, &st) == 0 || errno != ENOENT)
			continue;  /* that memtop (or a process with its pid) runs */
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		    unlink(path) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}
