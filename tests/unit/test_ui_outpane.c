/*
 * test_ui_outpane.c - unit tests of capturing the command's output: the
 * file it writes (private, appended), lines as they arrive, unfinished
 * lines, carriage returns and tabs, the ring of recent lines, bursts too
 * large to display, and removing an empty file.
 */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "outpane.h"

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/memtop-outpane.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	return rmdir(dir);
}

static void put(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void test_lines(void **state)
{
	char err[256];
	outpane *o = outpane_new(3);
	int fd = outpane_create(o, dir, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(strncmp(outpane_path(o), dir, strlen(dir)), 0);
	struct stat st;
	assert_int_equal(stat(outpane_path(o), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(fcntl(fd, F_GETFL) & O_APPEND);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);

	assert_false(outpane_poll(o));
	assert_int_equal(outpane_count(o), 0);
	put(fd, "one\ntw");
	assert_true(outpane_poll(o));
	assert_int_equal(outpane_count(o), 2);
	assert_string_equal(outpane_line(o, 0), "one");
	assert_string_equal(outpane_line(o, 1), "tw");      /* unfinished, shown */
	put(fd, "o\nprogress 10%\rprogress 99%\n\tx\ty\n");
	assert_true(outpane_poll(o));
	assert_int_equal(outpane_count(o), 3);               /* ring of 3 */
	assert_string_equal(outpane_line(o, 0), "two");
	assert_string_equal(outpane_line(o, 1), "progress 99%");
	assert_string_equal(outpane_line(o, 2), "        x       y");
	assert_null(outpane_line(o, 3));
	assert_int_equal(outpane_total_lines(o), 4);
	assert_int_equal(outpane_bytes(o), 39);
	/* escape sequences are kept as written: the canvas makes them safe */
	put(fd, "\x1b[2Jbad\n");
	outpane_poll(o);
	assert_string_equal(outpane_line(o, 2), "\x1b[2Jbad");

	assert_false(outpane_remove_if_empty(o));
	char path[4096];
	snprintf(path, sizeof(path), "%s", outpane_path(o));
	close(fd);
	outpane_free(o);
	assert_int_equal(unlink(path), 0);
}

static void test_long_lines_and_bursts(void **state)
{
	char err[256];
	outpane *o = outpane_new(10);
	int fd = outpane_create(o, dir, err, sizeof(err));
	assert_true(fd >= 0);
	char *big = malloc(3u << 20);
	memset(big, 'a', 3u << 20);
	/* one 3 MiB line then a short one: display skips to the end */
	assert_int_equal(write(fd, big, 3u << 20), 3 << 20);
	put(fd, "\nlast line\n");
	outpane_poll(o);
	assert_int_equal(outpane_count(o), 1);
	assert_string_equal(outpane_line(o, 0), "last line");
	assert_int_equal(outpane_total_lines(o), 2);        /* the skipped one counts */
	assert_int_equal(outpane_bytes(o), (3u << 20) + 11);
	/* a line longer than the display limit is cut, not split */
	assert_int_equal(write(fd, big, OUTPANE_LINE_MAX + 100), OUTPANE_LINE_MAX + 100);
	put(fd, "\n");
	outpane_poll(o);
	assert_int_equal(strlen(outpane_line(o, 1)), OUTPANE_LINE_MAX);
	free(big);
	char path[4096];
	snprintf(path, sizeof(path), "%s", outpane_path(o));
	close(fd);
	outpane_free(o);
	unlink(path);
}

/* Many lines at once, more than the pane reads: the count is every line
 * of the file, the ones skipped over included (it said 7432 of 71,120). */
static void test_burst_counted(void **state)
{
	char err[256];
	outpane *o = outpane_new(10);
	int fd = outpane_create(o, dir, err, sizeof(err));
	assert_true(fd >= 0);
	FILE *f = fdopen(dup(fd), "w");
	assert_non_null(f);
	for (int i = 1; i <= 71120; i++)
		fprintf(f, "line %d of the burst\n", i);
	fputs("unfinished", f);
	fclose(f);
	outpane_poll(o);
	assert_int_equal(outpane_total_lines(o), 71121);
	assert_string_equal(outpane_line(o, outpane_count(o) - 2), "line 71120 of the burst");
	assert_string_equal(outpane_line(o, outpane_count(o) - 1), "unfinished");
	put(fd, " now\nand one more\n");
	outpane_poll(o);
	assert_int_equal(outpane_total_lines(o), 71122);
	char path[4096];
	snprintf(path, sizeof(path), "%s", outpane_path(o));
	close(fd);
	outpane_free(o);
	unlink(path);
}

static void test_empty_removed(void **state)
{
	char err[256];
	outpane *o = outpane_new(10);
	int fd = outpane_create(o, dir, err, sizeof(err));
	char path[4096];
	snprintf(path, sizeof(path), "%s", outpane_path(o));
	close(fd);
	assert_true(outpane_remove_if_empty(o));
	assert_int_equal(access(path, F_OK), -1);
	outpane_free(o);

	o = outpane_new(10);
	assert_int_equal(outpane_create(o, "/nonexistent-dir", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "TMPDIR"));
	assert_false(outpane_poll(o));
	outpane_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_long_lines_and_bursts),
		cmocka_unit_test(test_burst_counted),
		cmocka_unit_test(test_empty_removed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
