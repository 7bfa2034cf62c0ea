/*
 * test_traceclock.c - the trace clock page memtop keeps while tracing
 * (traceclock.c): created 0600 with its magic and version, kept within a
 * period of CLOCK_MONOTONIC_COARSE, removed when stopped; a page left by an
 * earlier run with the same name is replaced; pages of memtops that are
 * gone are cleaned up, others are not.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "shm_layout.h"
#include "traceclock.h"

static uint64_t coarse_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const struct mt_clock_page *map_page(const char *name)
{
	int fd = shm_open(name, O_RDONLY, 0);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, MT_CLOCK_SIZE);
	void *m = mmap(NULL, MT_CLOCK_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(m != MAP_FAILED);
	return m;
}

static void test_page_kept_and_removed(void **state)
{
	(void)state;
	char name[64], err[256];
	snprintf(name, sizeof(name), "/memtop-clock-test.%d", (int)getpid());
	traceclock *c = traceclock_start(0, name, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(traceclock_name(c), name);
	const struct mt_clock_page *pg = map_page(name);
	assert_true(pg->magic == MT_CLOCK_MAGIC);
	assert_int_equal(pg->version, MT_CLOCK_VERSION);
	/* across some coarse ticks, the page follows the clock */
	for (int i = 0; i < 5; i++) {
		struct timespec ts = { 0, 7000000 };
		nanosleep(&ts, NULL);
		uint64_t now = coarse_ns();
		uint64_t v = __atomic_load_n(&pg->now_ns, __ATOMIC_RELAXED);
		assert_true(v <= now + MT_CLOCK_PERIOD_NS);
		/* a period, and the scheduler's delay on a loaded machine */
		assert_true(v + 100000000ull >= now);
	}
	uint64_t before = pg->now_ns;
	struct timespec ts = { 0, 30000000 };
	nanosleep(&ts, NULL);
	assert_true(pg->now_ns > before);
	traceclock_stop(c);
	assert_int_equal(shm_open(name, O_RDONLY, 0), -1);
	assert_int_equal(errno, ENOENT);
	munmap((void *)pg, MT_CLOCK_SIZE);
}

/* A page already there (a dead memtop with our pid, or planted) is not
 * used: it is replaced by a fresh one. */
static void test_existing_page_replaced(void **state)
{
	(void)state;
	char name[64], err[256];
	snprintf(name, sizeof(name), "/memtop-clock-test2.%d", (int)getpid());
	int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "planted", 7), 7);
	close(fd);
	traceclock *c = traceclock_start(0, name, err, sizeof(err));
	assert_non_null(c);
	const struct mt_clock_page *pg = map_page(name);
	assert_true(pg->magic == MT_CLOCK_MAGIC);
	traceclock_stop(c);
	munmap((void *)pg, MT_CLOCK_SIZE);
}

static void touch(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
}

static bool exists(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void test_cleanup_stale(void **state)
{
	(void)state;
	char dir[] = "/tmp/memtop-clock-test.XXXXXX";
	assert_non_null(mkdtemp(dir));
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);  /* a pid that is surely gone now */
	char dead[64], live[64];
	snprintf(dead, sizeof(dead), MT_CLOCK_PREFIX "%d", (int)child);
	snprintf(live, sizeof(live), MT_CLOCK_PREFIX "%d", (int)getpid());
	touch(dir, dead);
	touch(dir, live);
	touch(dir, MT_CLOCK_PREFIX "12x");
	touch(dir, MT_CLOCK_PREFIX);
	touch(dir, "memtop-other.1");
	assert_int_equal(traceclock_cleanup_stale(dir, "/proc"), 1);
	assert_false(exists(dir, dead));
	assert_true(exists(dir, live));
	assert_true(exists(dir, MT_CLOCK_PREFIX "12x"));
	assert_true(exists(dir, MT_CLOCK_PREFIX));
	assert_true(exists(dir, "memtop-other.1"));
	assert_int_equal(traceclock_cleanup_stale(dir, "/proc"), 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_kept_and_removed),
		cmocka_unit_test(test_existing_page_replaced),
		cmocka_unit_test(test_cleanup_stale),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
