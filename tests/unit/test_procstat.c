/*
 * test_procstat.c - unit tests of src/procstat.c: exact values parsed from
 * the fixture procfs tree in tests/unit/fixtures/proc (see its README), hostile
 * and cut-short files written to a scratch tree at run time, sanity checks
 * against the real /proc for this very process, and the CPU percentage
 * helpers including every case where they must answer NAN.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "procstat.h"

#define FIXTURE_PROC TEST_FIXTURES "/proc"

static const char EVIL_COMM[] = "a) (evil ) b";
static const char HOSTILE_NAME[] = "\x1b[2Jw\xffrk)\t x";

static uint64_t ticks_ns(uint64_t ticks)
{
	long hz = sysconf(_SC_CLK_TCK);
	assert_true(hz > 0);
	return ticks * 1000000000ull / (uint64_t)hz;
}

static uint64_t pages_bytes(uint64_t pages)
{
	long ps = sysconf(_SC_PAGESIZE);
	assert_true(ps > 0);
	return pages * (uint64_t)ps;
}

static bool close_to(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

/* ------------------------------------------------------------ scratch tree */

/* A throwaway proc root for files too odd (or too big) to check in. */
struct scratch {
	char root[64];
};

static int scratch_setup(void **state)
{
	struct scratch *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	snprintf(s->root, sizeof(s->root), "/tmp/test_procstat.XXXXXX");
	assert_non_null(mkdtemp(s->root));
	*state = s;
	return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int scratch_teardown(void **state)
{
	struct scratch *s = *state;
	nftw(s->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(s);
	return 0;
}

/* Writes len bytes to root/rel, creating the directories on the way. */
static void put_file(const struct scratch *s, const char *rel, const void *data, size_t len)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", s->root, rel);
	for (char *p = path + strlen(s->root) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		assert_true(mkdir(path, 0700) == 0 || errno == EEXIST);
		*p = '/';
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void put_text(const struct scratch *s, const char *rel, const char *text)
{
	put_file(s, rel, text, strlen(text));
}

/* A complete, well-formed stat line for id with the given comm. */
static void put_stat(const struct scratch *s, const char *rel, int id, const char *comm)
{
	char line[1024];
	snprintf(line, sizeof(line),
	         "%d (%s) S 1 %d %d 0 -1 4194304 11 0 3 0 40 20 0 0 20 0 1 0 5000 8192000 100 "
	         "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
	         id, comm, id, id);
	put_text(s, rel, line);
}

/* ------------------------------------------------------------ fixture: process */

static void test_process_evil_comm(void **state)
{
	struct proc_sample ps;
	assert_int_equal(procstat_read_process(FIXTURE_PROC, 4242, &ps), 0);
	assert_true(ps.valid);
	assert_string_equal(ps.comm, EVIL_COMM);
	assert_int_equal(ps.state, 'S');
	assert_int_equal(ps.ppid, 1);
	assert_int_equal(ps.minflt, 1500);
	assert_int_equal(ps.majflt, 7);
	assert_int_equal(ps.utime_ns, ticks_ns(250));
	assert_int_equal(ps.stime_ns, ticks_ns(130));
	assert_int_equal(ps.num_threads, 2);
	assert_int_equal(ps.starttime_ticks, 987654);
	assert_int_equal(ps.vsize_bytes, 104857600);
}

static void test_process_rss_prefers_statm(void **state)
{
	struct proc_sample ps;
	assert_int_equal(procstat_read_process(FIXTURE_PROC, 4242, &ps), 0);
	assert_true(ps.rss_valid);
	assert_int_equal(ps.rss_bytes, pages_bytes(2048));
}

static void test_process_io(void **state)
{
	struct proc_sample ps;
	assert_int_equal(procstat_read_process(FIXTURE_PROC, 4242, &ps), 0);
	assert_true(ps.io_valid);
	assert_int_equal(ps.io_read_bytes, 40960);
	assert_int_equal(ps.io_write_bytes, 8192);
	assert_int_equal(ps.io_syscr, 321);
	assert_int_equal(ps.io_syscw, 123);
}

static void test_process_without_io_or_statm(void **state)
{
	struct proc_sample ps;
	assert_int_equal(procstat_read_process(FIXTURE_PROC, 4343, &ps), 0);
	assert_true(ps.valid);
	assert_string_equal(ps.comm, "no io");
	assert_int_equal(ps.ppid, 4242);
	assert_false(ps.io_valid);
	assert_int_equal(ps.io_read_bytes, 0);
	assert_int_equal(ps.io_syscr, 0);
	assert_true(ps.rss_valid);
	assert_int_equal(ps.rss_bytes, pages_bytes(300));
}

static void test_process_truncated_stat(void **state)
{
	struct proc_sample ps;
	memset(&ps, 0xa5, sizeof(ps));
	errno = 0;
	assert_int_equal(procstat_read_process(FIXTURE_PROC, 4444, &ps), -1);
	assert_int_equal(errno, EBADMSG);
	assert_false(ps.valid);
	assert_false(ps.rss_valid);
	assert_false(ps.io_valid);
}

static void test_process_missing(void **state)
{
	struct proc_sample ps;
	errno = 0;
	assert_int_equal(procstat_read_process(FIXTURE_PROC, 9999, &ps), -1);
	assert_int_equal(errno, ENOENT);
	assert_false(ps.valid);

	errno = 0;
	assert_int_equal(procstat_read_process("/nonexistent-proc-root", 1, &ps), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_bad_arguments(void **state)
{
	struct proc_sample ps;
	struct thread_sample ts;
	struct sys_sample ss;
	int *tids = (int *)&ps;
	size_t n = 7;

	errno = 0;
	assert_int_equal(procstat_read_process(FIXTURE_PROC, 0, &ps), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(procstat_read_process(NULL, 4242, &ps), -1);
	assert_int_equal(procstat_read_process(FIXTURE_PROC, 4242, NULL), -1);
	assert_int_equal(procstat_read_thread(FIXTURE_PROC, 4242, -1, &ts), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(procstat_list_threads(FIXTURE_PROC, -5, &tids, &n), -1);
	assert_null(tids);
	assert_int_equal(n, 0);
	assert_int_equal(procstat_read_system(NULL, &ss), -1);
	assert_int_equal(errno, EINVAL);
}

/* ------------------------------------------------------------ fixture: threads */

static void test_list_threads(void **state)
{
	int *tids = NULL;
	size_t n = 0;
	assert_int_equal(procstat_list_threads(FIXTURE_PROC, 4242, &tids, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(tids[0], 4242);
	assert_int_equal(tids[1], 4243);
	assert_int_equal(tids[2], 4250);
	free(tids);

	tids = (int *)&n;
	errno = 0;
	assert_int_equal(procstat_list_threads(FIXTURE_PROC, 9999, &tids, &n), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(tids);
	assert_int_equal(n, 0);
}

/* The collector in a process's maps: its exact path, not one that only
 * starts with it; a deleted file still counts (it is mapped). */
static void test_maps_file(void **state)
{
	const struct scratch *s = *state;
	const char *lib = "/usr/lib/memtop/libmemtop.so";
	put_text(s, "7/maps",
		 "55d0c0000000-55d0c0001000 r--p 00000000 fe:01 12 /usr/bin/sleep\n"
		 "7f00000000-7f00001000 r--p 00000000 fe:01 13 /usr/lib/memtop/libmemtop.so.old\n"
		 "7f00002000-7f00003000 rw-p 00000000 00:00 0 \n"
		 "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n");
	assert_int_equal(procstat_maps_file(s->root, 7, lib), 0);
	put_text(s, "8/maps",
		 "55d0c0000000-55d0c0001000 r--p 00000000 fe:01 12 /usr/bin/sleep\n"
		 "7f00000000-7f00001000 r-xp 00001000 fe:01 14 /usr/lib/memtop/libmemtop.so\n");
	assert_int_equal(procstat_maps_file(s->root, 8, lib), 1);
	/* the last line without its newline */
	put_text(s, "9/maps", "7f00000000-7f00001000 r-xp 00001000 fe:01 14 /usr/lib/memtop/libmemtop.so");
	assert_int_equal(procstat_maps_file(s->root, 9, lib), 1);
	errno = 0;
	assert_int_equal(procstat_maps_file(s->root, 10, lib), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(procstat_maps_file(s->root, 8, "libmemtop.so"), -1);
	assert_int_equal(errno, EINVAL);
}

static void test_thread_main(void **state)
{
	struct thread_sample ts;
	assert_int_equal(procstat_read_thread(FIXTURE_PROC, 4242, 4242, &ts), 0);
	assert_true(ts.valid);
	assert_int_equal(ts.tid, 4242);
	assert_int_equal(ts.state, 'S');
	assert_string_equal(ts.name, EVIL_COMM);
	assert_int_equal(ts.utime_ns, ticks_ns(200));
	assert_int_equal(ts.stime_ns, ticks_ns(100));
	assert_int_equal(ts.minflt, 1000);
	assert_int_equal(ts.majflt, 5);
	assert_true(ts.io_valid);
	assert_int_equal(ts.io_read_bytes, 36864);
	assert_int_equal(ts.io_write_bytes, 4096);
	assert_int_equal(ts.io_syscr, 300);
	assert_int_equal(ts.io_syscw, 100);
}

static void test_thread_hostile_name_no_io(void **state)
{
	struct thread_sample ts;
	assert_int_equal(procstat_read_thread(FIXTURE_PROC, 4242, 4243, &ts), 0);
	assert_true(ts.valid);
	assert_int_equal(ts.tid, 4243);
	assert_int_equal(ts.state, 'R');
	assert_int_equal(strlen(ts.name), sizeof(HOSTILE_NAME) - 1);
	assert_memory_equal(ts.name, HOSTILE_NAME, sizeof(HOSTILE_NAME));
	assert_int_equal(ts.utime_ns, ticks_ns(50));
	assert_int_equal(ts.stime_ns, ticks_ns(30));
	assert_int_equal(ts.minflt, 500);
	assert_int_equal(ts.majflt, 2);
	assert_false(ts.io_valid);
	assert_int_equal(ts.io_read_bytes, 0);
}

static void test_thread_vanished(void **state)
{
	struct thread_sample ts;
	memset(&ts, 0xa5, sizeof(ts));
	errno = 0;
	assert_int_equal(procstat_read_thread(FIXTURE_PROC, 4242, 4250, &ts), -1);
	assert_int_equal(errno, ENOENT);
	assert_false(ts.valid);

	errno = 0;
	assert_int_equal(procstat_read_thread(FIXTURE_PROC, 4242, 4299, &ts), -1);
	assert_int_equal(errno, ENOENT);
	assert_false(ts.valid);
}

/* ------------------------------------------------------------ fixture: system */

static void test_system(void **state)
{
	struct sys_sample ss;
	assert_int_equal(procstat_read_system(FIXTURE_PROC, &ss), 0);
	assert_true(ss.load_valid);
	assert_true(close_to(ss.load[0], 0.52));
	assert_true(close_to(ss.load[1], 1.25));
	assert_true(close_to(ss.load[2], 12.0));
	assert_true(ss.mem_valid);
	assert_int_equal(ss.mem_total_bytes, 16318480ull * 1024);
	assert_int_equal(ss.mem_available_bytes, 8159240ull * 1024);
	assert_true(ss.cpu_valid);
	/* user..steal = 1000+20+300+5000+400+10+5+15; guest is inside user */
	assert_int_equal(ss.cpu_total_ticks, 6750);
	assert_int_equal(ss.cpu_busy_ticks, 6750 - 5000 - 400);
	assert_int_equal(ss.ncpus, 2);
}

static void test_system_missing_root(void **state)
{
	struct sys_sample ss;
	errno = 0;
	assert_int_equal(procstat_read_system("/nonexistent-proc-root", &ss), -1);
	assert_int_equal(errno, ENOENT);
	assert_false(ss.load_valid);
	assert_false(ss.mem_valid);
	assert_false(ss.cpu_valid);
	assert_int_equal(ss.ncpus, 0);
}

/* ------------------------------------------------------------ scratch: hostile files */

static void test_stat_malformed(void **state)
{
	const struct scratch *s = *state;
	struct proc_sample ps;
	static const struct {
		int pid;
		const char *stat;
	} cases[] = {
		{ 10, "" },
		{ 11, "11 no parens S 1 2 3\n" },
		{ 12, "12 (x) S\n" },
		{ 13, "13 (x)S 1 2 2 0 -1 0 1 0 0 0 1 1 0 0 20 0 1 0 9 9 9\n" },
		{ 14, "99 (other pid) S 1 2 2 0 -1 0 1 0 0 0 1 1 0 0 20 0 1 0 9 9 9\n" },
		{ 15, "15 (x) S 1 2 2 0 -1 0 1 0 0 0 1 1 0 0 20 0 1 0 9 -9 9\n" },
		{ 16, "16 (x) S 1 2 2 0 -1 0 1 0 0 0 99999999999999999999 1 0 0 20 0 1 0 9 9 9\n" },
		{ 17, "17 (x) S 1 2 2 0 -1 0 1 0 0 0 1 1 0 0 20 0 1 0  9 9 9\n" },
		{ 18, "18 (x) SS 1 2 2 0 -1 0 1 0 0 0 1 1 0 0 20 0 1 0 9 9 9\n" },
		{ 19, "19 (x) S 1 2 2 0 -1 0 1 0 0 0 1 1 0 0 20 0 1 0 9 9 9" },
		{ 20, ") 20 (x S 1 2 2 0 -1 0 1 0 0 0 1 1 0 0 20 0 1 0 9 9 9\n" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char rel[32];
		snprintf(rel, sizeof(rel), "%d/stat", cases[i].pid);
		put_text(s, rel, cases[i].stat);
		errno = 0;
		assert_int_equal(procstat_read_process(s->root, cases[i].pid, &ps), -1);
		assert_int_equal(errno, EBADMSG);
		assert_false(ps.valid);
	}

	/* A NUL inside the numeric fields must not end the line early. */
	static const char nul[] = "21 (x) S 1 2 2 0 -1 0 1 0 0 0 1 1 0 0 20 0 1 0 9 9\0 9\n";
	put_file(s, "21/stat", nul, sizeof(nul) - 1);
	assert_int_equal(procstat_read_process(s->root, 21, &ps), -1);
	assert_int_equal(errno, EBADMSG);

	/* All 52 fields but no newline: still possibly cut, still refused. */
	put_stat(s, "22/stat", 22, "x");
	char path[128];
	snprintf(path, sizeof(path), "%s/22/stat", s->root);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size - 1), 0);
	errno = 0;
	assert_int_equal(procstat_read_process(s->root, 22, &ps), -1);
	assert_int_equal(errno, EBADMSG);
}

static void test_stat_huge(void **state)
{
	const struct scratch *s = *state;
	size_t len = 256 * 1024;
	char *big = malloc(len);
	assert_non_null(big);
	memset(big, ')', len);
	memcpy(big, "30 (", 4);
	big[len - 1] = '\n';
	put_file(s, "30/stat", big, len);
	free(big);

	struct proc_sample ps;
	errno = 0;
	assert_int_equal(procstat_read_process(s->root, 30, &ps), -1);
	assert_int_equal(errno, EFBIG);
	assert_false(ps.valid);
}

/* A name may even hold a newline; only the last ')' ends it. */
static void test_stat_comm_with_newline(void **state)
{
	const struct scratch *s = *state;
	put_stat(s, "31/stat", 31, "l1)\n) 2 (");
	struct proc_sample ps;
	assert_int_equal(procstat_read_process(s->root, 31, &ps), 0);
	assert_string_equal(ps.comm, "l1)\n) 2 (");
	assert_int_equal(ps.utime_ns, ticks_ns(40));
	assert_int_equal(ps.vsize_bytes, 8192000);
}

static void test_stat_long_comm_truncated(void **state)
{
	const struct scratch *s = *state;
	char comm[200];
	memset(comm, 'n', sizeof(comm) - 1);
	comm[sizeof(comm) - 1] = '\0';
	put_stat(s, "32/stat", 32, comm);
	struct proc_sample ps;
	assert_int_equal(procstat_read_process(s->root, 32, &ps), 0);
	assert_int_equal(strlen(ps.comm), sizeof(ps.comm) - 1);
	assert_int_equal(ps.starttime_ticks, 5000);
}

/* Up to vsize the line is complete; rss (field 24) is missing and there is
 * no statm, so rss is unknown, not 0. */
static void test_rss_unavailable(void **state)
{
	const struct scratch *s = *state;
	put_text(s, "33/stat", "33 (short) S 1 2 2 0 -1 0 1 0 0 0 1 1 0 0 20 0 1 0 9 4096\n");
	put_text(s, "33/statm", "garbage\n");
	struct proc_sample ps;
	assert_int_equal(procstat_read_process(s->root, 33, &ps), 0);
	assert_true(ps.valid);
	assert_int_equal(ps.vsize_bytes, 4096);
	assert_false(ps.rss_valid);
	assert_int_equal(ps.rss_bytes, 0);

	/* A statm cut short is not trusted either: stat rss is used. */
	put_stat(s, "34/stat", 34, "x");
	put_text(s, "34/statm", "2000 77");
	assert_int_equal(procstat_read_process(s->root, 34, &ps), 0);
	assert_true(ps.rss_valid);
	assert_int_equal(ps.rss_bytes, pages_bytes(100));
}

static void test_io_partial(void **state)
{
	const struct scratch *s = *state;
	struct proc_sample ps;

	put_stat(s, "35/stat", 35, "x");
	put_text(s, "35/io", "rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 5\n");
	assert_int_equal(procstat_read_process(s->root, 35, &ps), 0);
	assert_false(ps.io_valid);
	assert_int_equal(ps.io_syscr, 0);

	put_stat(s, "36/stat", 36, "x");
	put_text(s, "36/io", "syscr: 3\nsyscw: 4\nread_bytes: 18446744073709551616\nwrite_bytes: 6\n");
	assert_int_equal(procstat_read_process(s->root, 36, &ps), 0);
	assert_false(ps.io_valid);

	/* The last line lacks its newline: its value may be cut. */
	put_stat(s, "37/stat", 37, "x");
	put_text(s, "37/io", "syscr: 3\nsyscw: 4\nread_bytes: 5\nwrite_bytes: 6");
	assert_int_equal(procstat_read_process(s->root, 37, &ps), 0);
	assert_false(ps.io_valid);

	/* A NUL byte would hide the rest of its line from a string parser. */
	static const char nul[] = "syscr: 3\0 junk\nsyscw: 4\nread_bytes: 5\nwrite_bytes: 6\n";
	put_stat(s, "39/stat", 39, "x");
	put_file(s, "39/io", nul, sizeof(nul) - 1);
	assert_int_equal(procstat_read_process(s->root, 39, &ps), 0);
	assert_false(ps.io_valid);

	put_stat(s, "38/stat", 38, "x");
	put_text(s, "38/io", "syscr: 3\nsyscw: 4\nread_bytes: 5\nwrite_bytes: 6\n");
	assert_int_equal(procstat_read_process(s->root, 38, &ps), 0);
	assert_true(ps.io_valid);
	assert_int_equal(ps.io_write_bytes, 6);
}

static void test_thread_name_fallbacks(void **state)
{
	const struct scratch *s = *state;
	struct thread_sample ts;

	/* No comm file: the stat name is the same kernel string. */
	put_stat(s, "40/task/41/stat", 41, "from stat");
	assert_int_equal(procstat_read_thread(s->root, 40, 41, &ts), 0);
	assert_string_equal(ts.name, "from stat");

	/* An empty comm is a real empty name. */
	put_stat(s, "40/task/42/stat", 42, "x");
	put_text(s, "40/task/42/comm", "\n");
	assert_int_equal(procstat_read_thread(s->root, 40, 42, &ts), 0);
	assert_string_equal(ts.name, "");

	/* Only one trailing newline is removed; longer names are cut to fit. */
	char name[100];
	memset(name, 'q', sizeof(name));
	name[0] = '\n';
	put_stat(s, "40/task/43/stat", 43, "x");
	put_file(s, "40/task/43/comm", name, sizeof(name));
	assert_int_equal(procstat_read_thread(s->root, 40, 43, &ts), 0);
	assert_int_equal(strlen(ts.name), sizeof(ts.name) - 1);
	assert_memory_equal(ts.name, name, sizeof(ts.name) - 1);

	/* The stat of another task under this tid's name is refused. */
	put_stat(s, "40/task/44/stat", 45, "x");
	errno = 0;
	assert_int_equal(procstat_read_thread(s->root, 40, 44, &ts), -1);
	assert_int_equal(errno, EBADMSG);
}

static void test_list_threads_skips_junk(void **state)
{
	const struct scratch *s = *state;
	static const char *const dirs[] = { "900", "77", "12x", "-3", "0", "5000000000", "100000" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "50/task/%s/comm", dirs[i]);
		put_text(s, rel, "t\n");
	}
	int *tids;
	size_t n;
	assert_int_equal(procstat_list_threads(s->root, 50, &tids, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(tids[0], 77);
	assert_int_equal(tids[1], 900);
	assert_int_equal(tids[2], 100000);
	free(tids);

	put_text(s, "51/task/README", "no tasks\n");
	tids = (int *)&n;
	assert_int_equal(procstat_list_threads(s->root, 51, &tids, &n), 0);
	assert_null(tids);
	assert_int_equal(n, 0);
}

static void test_system_malformed(void **state)
{
	const struct scratch *s = *state;
	struct sys_sample ss;

	put_text(s, "sys1/loadavg", "0,52 1,25 2,00 1/2 3\n");
	put_text(s, "sys1/meminfo", "MemTotal:       1000 kB\nMemFree:  10 kB\n");
	put_text(s, "sys1/stat", "cpu  1 2 3 4\nintr 0\n");
	char root[128];
	snprintf(root, sizeof(root), "%s/sys1", s->root);
	errno = 0;
	assert_int_equal(procstat_read_system(root, &ss), -1);
	assert_int_equal(errno, EBADMSG);
	assert_false(ss.load_valid);
	assert_false(ss.mem_valid);
	assert_int_equal(ss.mem_total_bytes, 0);
	assert_false(ss.cpu_valid);
	assert_int_equal(ss.ncpus, 0);

	/* The per-CPU lines still tell how many CPUs are online. */
	put_text(s, "sys1/stat", "cpu  1 2 3 4\ncpu0 1 2 3 4\nintr 0\n");
	assert_int_equal(procstat_read_system(root, &ss), 0);
	assert_false(ss.cpu_valid);
	assert_int_equal(ss.ncpus, 1);

	/* An overlong line is skipped whole, the lines after it still count;
	 * a stat cut inside the cpu lines leaves ncpus unknown. */
	size_t junkLen = 5000;
	char *meminfo = malloc(junkLen + 128);
	assert_non_null(meminfo);
	memset(meminfo, 'z', junkLen);
	strcpy(meminfo + junkLen, "\nMemTotal: 4 kB\nMemAvailable: 3 kB\n");
	put_text(s, "sys2/meminfo", meminfo);
	free(meminfo);
	put_text(s, "sys2/loadavg", "1.5 2 0.25 1/2 3\n");
	put_text(s, "sys2/stat", "cpu  1 0 1 10 2 0 0 0\ncpu0 1 0 1 10 2 0 0 0\ncpu1 1 0");
	snprintf(root, sizeof(root), "%s/sys2", s->root);
	assert_int_equal(procstat_read_system(root, &ss), 0);
	assert_true(ss.load_valid);
	assert_true(close_to(ss.load[0], 1.5));
	assert_true(close_to(ss.load[1], 2.0));
	assert_true(close_to(ss.load[2], 0.25));
	assert_true(ss.mem_valid);
	assert_int_equal(ss.mem_total_bytes, 4096);
	assert_int_equal(ss.mem_available_bytes, 3072);
	assert_true(ss.cpu_valid);
	assert_int_equal(ss.cpu_total_ticks, 14);
	assert_int_equal(ss.cpu_busy_ticks, 2);
	assert_int_equal(ss.ncpus, 0);
}

/* ------------------------------------------------------------ real /proc */

static double now_secs(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct named_thread {
	int ready[2];
	int release[2];
	int tid;
};

static void *named_thread_main(void *arg)
{
	struct named_thread *nt = arg;
	char c = 0;
	nt->tid = (int)syscall(SYS_gettid);
	pthread_setname_np(pthread_self(), "mt\x1b)x y");
	/* cmocka's asserts must stay on the main thread. */
	if (write(nt->ready[1], &c, 1) != 1)
		abort();
	while (read(nt->release[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static void test_real_self(void **state)
{
	struct proc_sample ps;
	assert_int_equal(procstat_read_process("/proc", getpid(), &ps), 0);
	assert_true(ps.valid);
	assert_int_equal(ps.state, 'R');
	assert_int_equal(ps.ppid, getppid());
	assert_true(ps.num_threads >= 1);
	assert_true(ps.starttime_ticks > 0);
	assert_true(ps.rss_valid);
	assert_true(ps.rss_bytes > 0);
	assert_true(ps.vsize_bytes >= ps.rss_bytes);
	assert_true(ps.minflt > 0);

	char comm[64] = "";
	FILE *f = fopen("/proc/self/comm", "r");
	assert_non_null(f);
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	assert_string_equal(ps.comm, comm);

	/* Kernels without task I/O accounting have no io file at all. */
	if (access("/proc/self/io", R_OK) == 0) {
		assert_true(ps.io_valid);
		assert_true(ps.io_syscr > 0);
	}

	struct proc_sample again;
	assert_int_equal(procstat_read_process("/proc", getpid(), &again), 0);
	assert_int_equal(again.starttime_ticks, ps.starttime_ticks);
	assert_true(again.utime_ns + again.stime_ns >= ps.utime_ns + ps.stime_ns);
}

static void test_real_threads(void **state)
{
	struct named_thread nt = { .tid = 0 };
	pthread_t th;
	char c;
	assert_int_equal(pipe(nt.ready), 0);
	assert_int_equal(pipe(nt.release), 0);
	assert_int_equal(pthread_create(&th, NULL, named_thread_main, &nt), 0);
	assert_int_equal(read(nt.ready[0], &c, 1), 1);

	int *tids;
	size_t n;
	assert_int_equal(procstat_list_threads("/proc", getpid(), &tids, &n), 0);
	assert_true(n >= 2);
	bool sawMain = false, sawNamed = false;
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			assert_true(tids[i - 1] < tids[i]);
		sawMain |= tids[i] == getpid();
		sawNamed |= tids[i] == nt.tid;
	}
	free(tids);
	assert_true(sawMain);
	assert_true(sawNamed);

	struct thread_sample ts;
	assert_int_equal(procstat_read_thread("/proc", getpid(), nt.tid, &ts), 0);
	assert_true(ts.valid);
	assert_int_equal(ts.tid, nt.tid);
	assert_string_equal(ts.name, "mt\x1b)x y");
	assert_true(ts.state == 'S' || ts.state == 'R');

	struct proc_sample ps;
	assert_int_equal(procstat_read_process("/proc", getpid(), &ps), 0);
	assert_true(ps.num_threads >= 2);

	assert_int_equal(close(nt.release[1]), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	close(nt.ready[0]);
	close(nt.ready[1]);
	close(nt.release[0]);

	/* pthread_join returns when the kernel clears the tid, a moment
	 * before the thread is reaped; until then it may still be read. */
	double t0 = now_secs();
	while (procstat_read_thread("/proc", getpid(), nt.tid, &ts) == 0) {
		assert_true(ts.valid);
		assert_true(now_secs() - t0 < 5.0);
		usleep(1000);
	}
	assert_int_equal(errno, ENOENT);
	assert_false(ts.valid);
}

/* Spins until the kernel has charged ten ticks, so the percentage is
 * positive whatever the machine load, and tick rounding (under two ticks
 * per reading) cannot push one thread far past 100%. */
static void test_real_cpu_percent(void **state)
{
	struct sys_sample ss;
	assert_int_equal(procstat_read_system("/proc", &ss), 0);
	assert_true(ss.load_valid && ss.mem_valid && ss.cpu_valid);
	assert_true(ss.ncpus >= 1);
	assert_true(ss.mem_total_bytes > 0);
	assert_true(ss.mem_available_bytes <= ss.mem_total_bytes);
	assert_true(ss.cpu_busy_ticks <= ss.cpu_total_ticks);

	struct proc_sample a, b;
	double t0 = now_secs();
	assert_int_equal(procstat_read_process("/proc", getpid(), &a), 0);
	volatile uint64_t spin = 0;
	uint64_t want = a.utime_ns + a.stime_ns + 10 * ticks_ns(1);
	do {
		for (int i = 0; i < 100000; i++)
			spin++;
		assert_int_equal(procstat_read_process("/proc", getpid(), &b), 0);
	} while (b.utime_ns + b.stime_ns < want && now_secs() - t0 < 10.0);
	double wall = now_secs() - t0;

	double pct = procstat_cpu_percent(&a, &b, wall);
	assert_false(isnan(pct));
	assert_true(pct > 0.0);
	assert_true(pct <= 130.0);

	struct sys_sample ss2;
	assert_int_equal(procstat_read_system("/proc", &ss2), 0);
	double sys = procstat_sys_cpu_percent(&ss, &ss2);
	if (!isnan(sys))
		assert_true(sys >= 0.0 && sys <= 100.0);
}

/* ------------------------------------------------------------ percentages */

static void test_cpu_percent(void **state)
{
	struct proc_sample a, b;
	assert_int_equal(procstat_read_process(FIXTURE_PROC, 4242, &a), 0);
	b = a;
	assert_true(close_to(procstat_cpu_percent(&a, &b, 1.0), 0.0));

	b.utime_ns += 300000000;
	b.stime_ns += 200000000;
	assert_true(close_to(procstat_cpu_percent(&a, &b, 2.0), 25.0));
	/* Two busy threads over one second: 200%, like top. */
	b.utime_ns = a.utime_ns + 2000000000;
	b.stime_ns = a.stime_ns;
	assert_true(close_to(procstat_cpu_percent(&a, &b, 1.0), 200.0));

	assert_true(isnan(procstat_cpu_percent(&a, &b, 0.0)));
	assert_true(isnan(procstat_cpu_percent(&a, &b, -1.0)));
	assert_true(isnan(procstat_cpu_percent(&a, &b, NAN)));
	assert_true(isnan(procstat_cpu_percent(&a, &b, INFINITY)));
	assert_true(isnan(procstat_cpu_percent(NULL, &b, 1.0)));
	assert_true(isnan(procstat_cpu_percent(&a, NULL, 1.0)));

	struct proc_sample reused = b;
	reused.starttime_ticks++;
	assert_true(isnan(procstat_cpu_percent(&a, &reused, 1.0)));

	struct proc_sample backwards = a;
	backwards.stime_ns--;
	assert_true(isnan(procstat_cpu_percent(&a, &backwards, 1.0)));

	struct proc_sample invalid;
	assert_int_equal(procstat_read_process(FIXTURE_PROC, 9999, &invalid), -1);
	assert_true(isnan(procstat_cpu_percent(&a, &invalid, 1.0)));
	assert_true(isnan(procstat_cpu_percent(&invalid, &a, 1.0)));
}

static void test_sys_cpu_percent(void **state)
{
	struct sys_sample a, b;
	assert_int_equal(procstat_read_system(FIXTURE_PROC, &a), 0);
	b = a;
	assert_true(isnan(procstat_sys_cpu_percent(&a, &b)));

	b.cpu_total_ticks += 200;
	b.cpu_busy_ticks += 50;
	assert_true(close_to(procstat_sys_cpu_percent(&a, &b), 25.0));
	b.cpu_busy_ticks = a.cpu_busy_ticks;
	assert_true(close_to(procstat_sys_cpu_percent(&a, &b), 0.0));

	struct sys_sample odd = a;
	odd.cpu_total_ticks += 10;
	odd.cpu_busy_ticks += 11;
	assert_true(isnan(procstat_sys_cpu_percent(&a, &odd)));

	/* A CPU going offline shrinks the aggregate. */
	struct sys_sample shrunk = a;
	shrunk.cpu_total_ticks -= 100;
	assert_true(isnan(procstat_sys_cpu_percent(&a, &shrunk)));
	shrunk = b;
	shrunk.cpu_busy_ticks = a.cpu_busy_ticks - 1;
	assert_true(isnan(procstat_sys_cpu_percent(&a, &shrunk)));

	struct sys_sample invalid = b;
	invalid.cpu_valid = false;
	assert_true(isnan(procstat_sys_cpu_percent(&a, &invalid)));
	assert_true(isnan(procstat_sys_cpu_percent(&invalid, &b)));
	assert_true(isnan(procstat_sys_cpu_percent(NULL, &b)));
	assert_true(isnan(procstat_sys_cpu_percent(&a, NULL)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_maps_file, scratch_setup, scratch_teardown),
		cmocka_unit_test(test_process_evil_comm),
		cmocka_unit_test(test_process_rss_prefers_statm),
		cmocka_unit_test(test_process_io),
		cmocka_unit_test(test_process_without_io_or_statm),
		cmocka_unit_test(test_process_truncated_stat),
		cmocka_unit_test(test_process_missing),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_list_threads),
		cmocka_unit_test(test_thread_main),
		cmocka_unit_test(test_thread_hostile_name_no_io),
		cmocka_unit_test(test_thread_vanished),
		cmocka_unit_test(test_system),
		cmocka_unit_test(test_system_missing_root),
		cmocka_unit_test_setup_teardown(test_stat_malformed, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_stat_huge, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_stat_comm_with_newline, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_stat_long_comm_truncated, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_rss_unavailable, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_io_partial, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_thread_name_fallbacks, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_list_threads_skips_junk, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_system_malformed, scratch_setup, scratch_teardown),
		cmocka_unit_test(test_real_self),
		cmocka_unit_test(test_real_threads),
		cmocka_unit_test(test_real_cpu_percent),
		cmocka_unit_test(test_cpu_percent),
		cmocka_unit_test(test_sys_cpu_percent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
