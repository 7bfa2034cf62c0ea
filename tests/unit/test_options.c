/*
 * test_options.c - unit tests of options.c: defaults, every option in long
 * and short spelling, where COMMAND starts (with and without "--"), the
 * three invocations, every usage error with a message naming it, and the
 * output files: checked before anything runs, then opened without
 * following a link or replacing a file unless --force.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>
#include <cmocka.h>

#include "options.h"

#define ERRLEN 256

/* argv arrays live as compound literals in the calling test's block, so
 * options.command stays valid for its assertions. */
#define ARGV(...) ((char *[]){ "memtop", __VA_ARGS__, NULL })

static int argv_count(char **argv)
{
	int n = 0;

	while (argv[n])
		n++;
	return n;
}

static int parse(struct options *o, char *err, char **argv)
{
	options_init(o);
	return options_parse(o, argv_count(argv), argv, err, ERRLEN);
}

static void parse_ok(struct options *o, int line, char **argv)
{
	char err[ERRLEN];

	if (parse(o, err, argv) != 0)
		fail_msg("line %d: unexpected usage error: %s", line, err);
}

/* An expression, not a block: the compound literal argv must outlive it. */
#define PARSE_OK(o, ...) parse_ok((o), __LINE__, ARGV(__VA_ARGS__))

/* A usage error whose message contains every one of the given pieces. */
static void expect_error(char **argv, const char *piece, const char *piece2)
{
	struct options o;
	char err[ERRLEN];

	memset(err, 'x', sizeof err);
	assert_int_equal(parse(&o, err, argv), -1);
	assert_non_null(memchr(err, '\0', sizeof err));
	assert_non_null(strstr(err, piece));
	if (piece2)
		assert_non_null(strstr(err, piece2));
	assert_null(strchr(err, '\n'));
}

#define ERROR1(piece, ...) expect_error(ARGV(__VA_ARGS__), (piece), NULL)
#define ERROR2(piece, piece2, ...) expect_error(ARGV(__VA_ARGS__), (piece), (piece2))

static void assert_defaults_except_command(const struct options *o)
{
	assert_null(o->export_path);
	assert_null(o->trace_dir);
	assert_null(o->output_path);
	assert_null(o->collapsed_path);
	assert_null(o->pprof_path);
	assert_null(o->report_dir);
	assert_int_equal(o->attach_pid, 0);
	assert_false(o->batch);
	assert_false(o->json);
	assert_false(o->no_stacks);
	assert_true(o->interval == 1.0);
	assert_true(o->duration == 0.0);
	assert_true(o->sample_small == 0.01);
	assert_true(o->sample_medium == 0.5);
	assert_true(o->sample_large == 1.0);
	assert_int_equal(o->medium_threshold, 2048);
	assert_int_equal(o->large_threshold, 65536);
	assert_int_equal(o->frequency_threshold, 10);
}

static void test_errors_quote_values_safely(void **state)
{
	(void)state;
	/* a newline or an escape sequence in a value must not reach the
	 * terminal nor split the message */
	ERROR1("--interval", "-d", "1\n2");
	struct options o;
	char err[ERRLEN];
	assert_int_equal(parse(&o, err, ARGV("-d", "\033[2J")), -1);
	assert_null(strchr(err, '\033'));
	assert_non_null(strstr(err, "?[2J"));
}

static void test_existing_outputs(void **state)
{
	(void)state;
	struct options o;
	char err[ERRLEN];
	char path[] = "/tmp/memtop-test-outXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	/* an existing regular file is refused, naming the option and --force */
	PARSE_OK(&o, "-b", "-o", path, "--", "ls");
	assert_int_equal(options_check_outputs(&o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "-o"));
	assert_non_null(strstr(err, "--force"));
	PARSE_OK(&o, "-b", "--force", "-o", path, "--", "ls");
	assert_true(o.force);
	assert_int_equal(options_check_outputs(&o, err, sizeof(err)), 0);
	/* devices and standard output are written, not replaced */
	PARSE_OK(&o, "-b", "-o", "/dev/null", "--", "ls");
	assert_int_equal(options_check_outputs(&o, err, sizeof(err)), 0);
	PARSE_OK(&o, "-b", "-o", "-", "--", "ls");
	assert_int_equal(options_check_outputs(&o, err, sizeof(err)), 0);
	unlink(path);
	/* a path that does not exist yet is fine */
	PARSE_OK(&o, "-b", "-o", path, "--", "ls");
	assert_int_equal(options_check_outputs(&o, err, sizeof(err)), 0);
}

/* Before anything runs, what the opening of an output would refuse: a
 * symbolic link (even with --force), a directory, a directory that does
 * not exist, a path through a file.  (-e's are html_export_check's.) */
static void test_outputs_checked_early(void **state)
{
	(void)state;
	struct options o;
	char err[ERRLEN], dir[] = "/tmp/memtop-test-outdirXXXXXX", link[64], file[64];
	assert_non_null(mkdtemp(dir));
	snprintf(link, sizeof link, "%s/link", dir);
	snprintf(file, sizeof file, "%s/file", dir);
	assert_int_equal(symlink(file, link), 0);

	PARSE_OK(&o, "-b", "--force", "-o", link, "--", "ls");
	assert_int_equal(options_check_outputs(&o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "symbolic link"));
	assert_non_null(strstr(err, link));
	PARSE_OK(&o, "report", "--collapsed", dir, "-o", "/dev/null", "t");
	assert_int_equal(options_check_outputs(&o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Is a directory"));
	PARSE_OK(&o, "report", "--pprof", "/nonexistent-memtop-dir/p.pb.gz", "t");
	assert_int_equal(options_check_outputs(&o, err, sizeof(err)), -1);
	assert_string_equal(err, "cannot write /nonexistent-memtop-dir/p.pb.gz: "
			    "No such file or directory");
	PARSE_OK(&o, "-b", "-o", "/dev/null/r.txt", "--", "ls");
	assert_int_equal(options_check_outputs(&o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Not a directory"));
	/* a bare name is made in the current directory */
	PARSE_OK(&o, "-b", "-o", "memtop-test-no-such-output.txt", "--", "ls");
	assert_int_equal(options_check_outputs(&o, err, sizeof(err)), 0);

	unlink(link);
	rmdir(dir);
}

/* options_open_output: created in the same step as it is checked, so a
 * file that appears after options_check_outputs is refused, not
 * truncated; --force truncates; never through a link; devices and pipes
 * as they are; /dev/stdout and the like are memtop's own descriptors. */
static void test_open_output(void **state)
{
	(void)state;
	struct options o;
	char err[ERRLEN], dir[] = "/tmp/memtop-test-openXXXXXX", path[64], link[64], fifo[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/out", dir);
	snprintf(link, sizeof link, "%s/link", dir);
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);

	PARSE_OK(&o, "-b", "-o", path, "--", "ls");
	assert_int_equal(options_check_outputs(&o, err, sizeof(err)), 0);
	/* the race: the file appears between the check and the opening */
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("precious\n", f);
	fclose(f);
	assert_int_equal(options_open_output(path, "-o", false, err, sizeof(err)), -1);
	assert_int_equal(errno, EEXIST);
	assert_non_null(strstr(err, "-o "));
	assert_non_null(strstr(err, "the file exists; use --force to replace it"));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 9);
	/* --force: the same file, cut to nothing */
	int fd = options_open_output(path, "-o", true, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	unlink(path);
	/* a new file: mode 0644 (less the umask) */
	fd = options_open_output(path, "--collapsed", false, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	/* links are refused, with or without --force, and nothing is made
	 * through a dangling one */
	char target[80];
	snprintf(target, sizeof target, "%s/target", dir);
	assert_int_equal(symlink(target, link), 0);
	for (int force = 0; force < 2; force++) {
		assert_int_equal(options_open_output(link, "--pprof", force, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "symbolic link"));
		assert_int_equal(access(target, F_OK), -1);
	}
	/* a directory */
	assert_int_equal(options_open_output(dir, "-o", false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Is a directory"));
	/* a device and a pipe (with a reader) are written as they are */
	fd = options_open_output("/dev/null", "-o", false, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	int reader = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(reader >= 0);
	fd = options_open_output(fifo, "-o", false, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	char c;
	assert_int_equal(read(reader, &c, 1), 1);
	close(fd);
	close(reader);

	/* /dev/stdout and its kin: links, but memtop's own descriptors,
	 * duplicated rather than opened anew */
	PARSE_OK(&o, "-b", "-o", "/dev/stdout", "--", "ls");
	assert_int_equal(options_check_outputs(&o, err, sizeof(err)), 0);
	const char *own[] = { "/dev/stdout", "/dev/stderr", "/dev/fd/1", "/proc/self/fd/2" };
	const int own_fd[] = { 1, 2, 1, 2 };
	for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
		struct stat a, b;
		fd = options_open_output(own[i], "-o", false, err, sizeof(err));
		assert_true(fd > 2);
		assert_int_equal(fstat(fd, &a), 0);
		assert_int_equal(fstat(own_fd[i], &b), 0);
		assert_true(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
		close(fd);
	}
	assert_int_equal(options_open_output("/dev/fd/999", "-o", false, err, sizeof(err)), -1);
	assert_string_equal(err, "cannot write /dev/fd/999: Bad file descriptor");

	unlink(fifo);
	unlink(link);
	unlink(path);
	rmdir(dir);
}

static void test_stack_depth(void **state)
{
	(void)state;
	struct options o;
	PARSE_OK(&o, "--stack-depth", "8", "--", "ls");
	assert_int_equal(o.stack_depth, 8);
	ERROR1("--stack-depth", "--stack-depth", "0", "ls");
	ERROR1("--stack-depth", "--stack-depth", "65", "ls");
	PARSE_OK(&o, "--", "ls");
	assert_int_equal(o.stack_depth, 64);
	char env[160];
	assert_int_equal(options_sampling_env(&o, env, sizeof(env)), 0);
	assert_string_equal(env, "0.01:0.5:1:2048:65536:10:64");
	PARSE_OK(&o, "--no-stacks", "--", "ls");
	assert_int_equal(options_sampling_env(&o, env, sizeof(env)), 0);
	assert_string_equal(env, "off");
}

static void test_init_defaults(void **state)
{
	struct options o;

	memset(&o, 0x5a, sizeof o);
	options_init(&o);
	assert_int_equal(o.mode, MEMTOP_RUN);
	assert_null(o.command);
	assert_int_equal(o.command_argc, 0);
	assert_defaults_except_command(&o);
}

static void test_command_with_dashdash(void **state)
{
	struct options o;

	PARSE_OK(&o, "--", "ls", "-l", "/tmp");
	assert_int_equal(o.mode, MEMTOP_RUN);
	assert_int_equal(o.command_argc, 3);
	assert_string_equal(o.command[0], "ls");
	assert_string_equal(o.command[1], "-l");
	assert_string_equal(o.command[2], "/tmp");
	assert_null(o.command[3]);
	assert_defaults_except_command(&o);
}

static void test_command_without_dashdash(void **state)
{
	struct options o;

	PARSE_OK(&o, "-b", "ls", "-l");
	assert_true(o.batch);
	assert_int_equal(o.command_argc, 2);
	assert_string_equal(o.command[0], "ls");
	assert_string_equal(o.command[1], "-l");
	assert_null(o.command[2]);
}

static void test_options_after_command_belong_to_it(void **state)
{
	struct options o;

	PARSE_OK(&o, "./server", "-d", "5", "--json", "--attach", "1", "--", "x");
	assert_int_equal(o.command_argc, 8);
	assert_string_equal(o.command[0], "./server");
	assert_string_equal(o.command[1], "-d");
	assert_string_equal(o.command[7], "x");
	assert_defaults_except_command(&o);

	PARSE_OK(&o, "-d", "2", "--", "prog", "--", "-h");
	assert_true(o.interval == 2.0);
	assert_int_equal(o.command_argc, 3);
	assert_string_equal(o.command[1], "--");
	assert_string_equal(o.command[2], "-h");
}

static void test_dashdash_command_named_like_options(void **state)
{
	struct options o;

	PARSE_OK(&o, "--", "-weird-name");
	assert_int_equal(o.command_argc, 1);
	assert_string_equal(o.command[0], "-weird-name");

	PARSE_OK(&o, "--", "report", "dir");
	assert_int_equal(o.mode, MEMTOP_RUN);
	assert_string_equal(o.command[0], "report");

	/* "-" alone is an argument, not an option. */
	PARSE_OK(&o, "-");
	assert_string_equal(o.command[0], "-");
}

static void test_every_long_option(void **state)
{
	struct options o;

	PARSE_OK(&o, "--export", "out.html", "--trace", "tdir", "--batch", "--json",
		 "--output", "out.jsonl", "--interval", "0.25", "--duration", "7.5",
		 "--sample-small", "0.125", "--sample-medium", "0.75", "--sample-large", "0",
		 "--medium-threshold", "100", "--large-threshold", "200",
		 "--frequency-threshold", "0", "--no-stacks", "--", "cmd");
	assert_int_equal(o.mode, MEMTOP_RUN);
	assert_string_equal(o.export_path, "out.html");
	assert_string_equal(o.trace_dir, "tdir");
	assert_true(o.batch);
	assert_true(o.json);
	assert_string_equal(o.output_path, "out.jsonl");
	assert_true(o.interval == 0.25);
	assert_true(o.duration == 7.5);
	assert_true(o.sample_small == 0.125);
	assert_true(o.sample_medium == 0.75);
	assert_true(o.sample_large == 0.0);
	assert_int_equal(o.medium_threshold, 100);
	assert_int_equal(o.large_threshold, 200);
	assert_int_equal(o.frequency_threshold, 0);
	assert_true(o.no_stacks);
	assert_string_equal(o.command[0], "cmd");
}

static void test_equals_and_abbreviations(void **state)
{
	struct options o;

	PARSE_OK(&o, "--batch", "--interval=2", "--output=f", "--large-threshold=99999999999", "cmd");
	assert_true(o.interval == 2.0);
	assert_string_equal(o.output_path, "f");
	assert_int_equal(o.large_threshold, 99999999999ULL);

	PARSE_OK(&o, "--inter", "3", "--no-s", "--freq", "4", "cmd");
	assert_true(o.interval == 3.0);
	assert_true(o.no_stacks);
	assert_int_equal(o.frequency_threshold, 4);
}

static void test_short_options(void **state)
{
	struct options o;

	PARSE_OK(&o, "-e", "r.html", "-t", "td", "-b", "-o", "o.txt", "-d", "0.5", "cmd");
	assert_string_equal(o.export_path, "r.html");
	assert_string_equal(o.trace_dir, "td");
	assert_true(o.batch);
	assert_string_equal(o.output_path, "o.txt");
	assert_true(o.interval == 0.5);

	PARSE_OK(&o, "-bd0.1", "-oout", "cmd");
	assert_true(o.batch);
	assert_true(o.interval == 0.1);
	assert_string_equal(o.output_path, "out");

	PARSE_OK(&o, "-bd", "2", "cmd");
	assert_true(o.batch);
	assert_true(o.interval == 2.0);
}

static void test_last_value_wins(void **state)
{
	struct options o;

	PARSE_OK(&o, "-b", "-d", "2", "--interval", "3", "-o", "a", "-o", "b", "cmd");
	assert_true(o.interval == 3.0);
	assert_string_equal(o.output_path, "b");
}

static void test_range_boundaries_accepted(void **state)
{
	struct options o;

	PARSE_OK(&o, "-d", "0.05", "cmd");
	assert_true(o.interval == 0.05);
	PARSE_OK(&o, "-d", "3600", "cmd");
	assert_true(o.interval == 3600.0);
	PARSE_OK(&o, "-d", "1e1", "cmd");
	assert_true(o.interval == 10.0);
	PARSE_OK(&o, "--duration", "0.001", "cmd");
	assert_true(o.duration == 0.001);
	PARSE_OK(&o, "--duration", "1e9", "cmd");
	assert_true(o.duration == 1e9);
	PARSE_OK(&o, "--sample-small", "0", "--sample-medium", "1", "--sample-large", "1.0", "cmd");
	assert_true(o.sample_small == 0.0);
	assert_true(o.sample_medium == 1.0);
	PARSE_OK(&o, "--medium-threshold", "0", "--large-threshold", "1", "cmd");
	assert_int_equal(o.medium_threshold, 0);
	assert_int_equal(o.large_threshold, 1);
	PARSE_OK(&o, "--large-threshold", "18446744073709551615", "cmd");
	assert_int_equal(o.large_threshold, UINT64_MAX);
	PARSE_OK(&o, "--frequency-threshold", "18446744073709551615", "cmd");
	assert_int_equal(o.frequency_threshold, UINT64_MAX);
}

static void test_help_and_version(void **state)
{
	struct options o;

	PARSE_OK(&o, "-h");
	assert_int_equal(o.mode, MEMTOP_HELP);
	PARSE_OK(&o, "--help");
	assert_int_equal(o.mode, MEMTOP_HELP);
	PARSE_OK(&o, "-V");
	assert_int_equal(o.mode, MEMTOP_VERSION);
	PARSE_OK(&o, "--version");
	assert_int_equal(o.mode, MEMTOP_VERSION);
	/* Help wins over what follows it, even nonsense. */
	PARSE_OK(&o, "-b", "--help", "--bogus", "-d", "x");
	assert_int_equal(o.mode, MEMTOP_HELP);
	PARSE_OK(&o, "report", "-h");
	assert_int_equal(o.mode, MEMTOP_HELP);
	PARSE_OK(&o, "-bV");
	assert_int_equal(o.mode, MEMTOP_VERSION);
	/* After COMMAND starts, -h is COMMAND's. */
	PARSE_OK(&o, "ls", "-h");
	assert_int_equal(o.mode, MEMTOP_RUN);
}

static void test_attach(void **state)
{
	struct options o;

	PARSE_OK(&o, "--attach", "1234");
	assert_int_equal(o.mode, MEMTOP_ATTACH);
	assert_int_equal(o.attach_pid, 1234);
	assert_null(o.command);

	PARSE_OK(&o, "-b", "--json", "--duration", "5", "--attach=1", "--no-stacks");
	assert_int_equal(o.mode, MEMTOP_ATTACH);
	assert_int_equal(o.attach_pid, 1);
	assert_true(o.json);
	assert_true(o.duration == 5.0);

	PARSE_OK(&o, "--attach", "2147483647", "--");
	assert_int_equal(o.attach_pid, 2147483647);
}

static void test_report(void **state)
{
	struct options o;

	PARSE_OK(&o, "report", "traces");
	assert_int_equal(o.mode, MEMTOP_REPORT);
	assert_string_equal(o.report_dir, "traces");
	assert_null(o.command);

	/* Options before and after TRACE_DIR; --json needs no --batch here. */
	PARSE_OK(&o, "report", "--json", "traces", "-o", "out", "--collapsed", "c.txt",
		 "--pprof", "p.pb.gz", "-e", "r.html");
	assert_int_equal(o.mode, MEMTOP_REPORT);
	assert_string_equal(o.report_dir, "traces");
	assert_true(o.json);
	assert_string_equal(o.output_path, "out");
	assert_string_equal(o.collapsed_path, "c.txt");
	assert_string_equal(o.pprof_path, "p.pb.gz");
	assert_string_equal(o.export_path, "r.html");

	PARSE_OK(&o, "--json", "report", "t");
	assert_int_equal(o.mode, MEMTOP_REPORT);
	assert_string_equal(o.report_dir, "t");

	PARSE_OK(&o, "report", "--", "-dir-with-dash");
	assert_string_equal(o.report_dir, "-dir-with-dash");

	PARSE_OK(&o, "report", "report");
	assert_string_equal(o.report_dir, "report");
}

static void test_error_unknown_option(void **state)
{
	ERROR1("'--bogus'", "--bogus", "cmd");
	ERROR1("'--bogus'", "--bogus=3", "cmd");
	ERROR1("'-x'", "-x", "cmd");
	ERROR1("'-x'", "-bx", "cmd");
	ERROR1("'-q'", "report", "-q", "dir");
	ERROR2("ambiguous", "--sample", "--sample", "1", "cmd");
	ERROR2("--sample-small", "--sample-large", "--sample", "1", "cmd");
	ERROR2("'--batch'", "does not take a value", "--batch=1", "cmd");
	ERROR2("'--no-stacks'", "does not take a value", "--no-stacks=yes", "cmd");
	ERROR2("'--batch'", "does not take a value", "--bat=1", "cmd");
	ERROR1("'---'", "---", "cmd");
	ERROR1("'--x'", "--x=", "cmd");
}

static void test_error_missing_argument(void **state)
{
	ERROR1("--interval", "--interval");
	ERROR1("--interval", "-b", "--inter");
	ERROR2("'-d'", "--interval", "-d");
	ERROR2("'-o'", "--output", "-bo");
	ERROR1("--attach", "--attach");
	ERROR1("--sample-large", "--sample-large");
	ERROR1("--pprof", "report", "dir", "--pprof");
}

static void test_error_missing_command(void **state)
{
	struct options o;
	char err[ERRLEN];
	char *argv[] = { "memtop", NULL };

	options_init(&o);
	assert_int_equal(options_parse(&o, 1, argv, err, sizeof err), -1);
	assert_non_null(strstr(err, "COMMAND"));

	ERROR1("COMMAND", "-b");
	ERROR1("COMMAND", "-b", "--");
	ERROR1("COMMAND", "--json", "-b", "-d", "2");
}

static void test_error_interval(void **state)
{
	static const char *const not_numbers[] = {
		"abc", "", " 1", "1 ", "1x", "1.5s", "nan", "NaN", "0x", "--1", "1,5",
	};
	static const char *const out_of_range[] = {
		"-1", "0", "0.01", "0.0499", "3600.001", "3601", "inf", "-inf", "1e999", "-0",
	};

	for (size_t i = 0; i < sizeof not_numbers / sizeof not_numbers[0]; i++)
		ERROR2("--interval", "not a number", "-d", (char *)not_numbers[i], "cmd");
	for (size_t i = 0; i < sizeof out_of_range / sizeof out_of_range[0]; i++)
		ERROR2("--interval", "out of range", "--interval", (char *)out_of_range[i], "cmd");
	ERROR1("--interval: 'abc' is not a number of seconds", "--interval", "abc", "cmd");
}

static void test_error_duration(void **state)
{
	ERROR2("--duration", "not a number", "--duration", "abc", "cmd");
	ERROR2("--duration", "not a number", "--duration", "nan", "cmd");
	ERROR2("--duration", "not a number", "--duration", "5s", "cmd");
	ERROR2("--duration", "not a number", "--duration", "", "cmd");
	ERROR2("--duration", "out of range", "--duration", "0", "cmd");
	ERROR2("--duration", "out of range", "--duration", "-1", "cmd");
	ERROR2("--duration", "out of range", "--duration", "inf", "cmd");
	ERROR2("--duration", "out of range", "--duration", "1e10", "cmd");
}

static void test_error_sample_rates(void **state)
{
	ERROR2("--sample-small", "'1.5'", "--sample-small", "1.5", "cmd");
	ERROR2("--sample-small", "'-0.1'", "--sample-small", "-0.1", "cmd");
	ERROR2("--sample-medium", "'nan'", "--sample-medium", "nan", "cmd");
	ERROR2("--sample-medium", "'inf'", "--sample-medium", "inf", "cmd");
	ERROR2("--sample-large", "'x'", "--sample-large", "x", "cmd");
	ERROR2("--sample-large", "'0.5x'", "--sample-large", "0.5x", "cmd");
	ERROR1("--sample-large", "--sample-large", "", "cmd");
}

static void test_error_thresholds(void **state)
{
	static const char *const bad[] = {
		"-1", "+5", " 5", "5 ", "", "1k", "2048.0", "0x800", "abc",
		"18446744073709551616", "99999999999999999999999",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ERROR2("--medium-threshold", "not a number of bytes",
		       "--medium-threshold", (char *)bad[i], "cmd");
		ERROR2("--large-threshold", "not a number of bytes",
		       "--large-threshold", (char *)bad[i], "cmd");
		ERROR2("--frequency-threshold", "not a whole number",
		       "--frequency-threshold", (char *)bad[i], "cmd");
	}
	ERROR1("'-1'", "--medium-threshold", "-1", "cmd");
}

static void test_error_threshold_order(void **state)
{
	ERROR2("--medium-threshold", "--large-threshold",
	       "--medium-threshold", "4096", "--large-threshold", "4096", "cmd");
	ERROR2("--medium-threshold", "--large-threshold",
	       "--medium-threshold", "5000", "--large-threshold", "4096", "cmd");
	/* Against the default large threshold of 65536. */
	ERROR2("(65536)", "(65536)", "--medium-threshold", "65536", "cmd");
	ERROR2("(2048)", "(1000)", "--large-threshold", "1000", "cmd");
	ERROR1("--medium-threshold", "report", "--large-threshold", "1", "dir");
}

static void test_error_attach(void **state)
{
	static const char *const bad[] = {
		"0", "-5", "abc", "12x", "", " 12", "+12", "1.0", "2147483648", "99999999999999999999",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ERROR2("--attach", "not a process id", "--attach", (char *)bad[i]);
	ERROR2("--attach", "'ls'", "--attach", "12", "ls", "-l");
	ERROR2("--attach", "'ls'", "--attach", "12", "--", "ls");
	ERROR2("--attach", "report", "report", "--attach", "12", "dir");
	ERROR2("--attach", "report", "--attach", "12", "report", "dir");
}

static void test_error_report(void **state)
{
	ERROR1("TRACE_DIR", "report");
	ERROR1("TRACE_DIR", "report", "--json");
	ERROR1("TRACE_DIR", "report", "--");
	ERROR2("'b'", "'a'", "report", "a", "b");
	ERROR2("'b'", "'a'", "report", "a", "--", "b");
	ERROR2("--trace", "report", "report", "-t", "x", "dir");
}

static void test_error_json_needs_batch(void **state)
{
	struct options o;

	ERROR2("--json", "--batch", "--json", "cmd");
	ERROR2("--json", "--batch", "--json", "--attach", "5");
	PARSE_OK(&o, "--json", "-b", "cmd");
	assert_true(o.json);
	/* the viewer writes no text report: -o would go unheeded */
	ERROR1("-o needs --batch (or memtop report); the viewer's report file is -e FILE.html",
	       "-o", "/dev/null", "cmd");
	ERROR1("-o needs --batch", "-e", "r.html", "--output=/dev/null", "--attach", "5");
	PARSE_OK(&o, "-o", "/dev/null", "-b", "cmd");
	assert_string_equal(o.output_path, "/dev/null");
}

static void test_overwrite_trace(void **state)
{
	struct options o;

	PARSE_OK(&o, "--trace", "d", "--overwrite-trace", "cmd");
	assert_true(o.overwrite_trace);
	assert_string_equal(o.trace_dir, "d");
	PARSE_OK(&o, "--trace", "d", "cmd");
	assert_false(o.overwrite_trace);
	ERROR2("--overwrite-trace", "--trace", "--overwrite-trace", "cmd");
}

static void test_error_report_only_options(void **state)
{
	ERROR2("--collapsed", "report", "--collapsed", "f", "cmd");
	ERROR2("--pprof", "report", "--pprof", "f", "cmd");
	ERROR2("--collapsed", "report", "-b", "--collapsed", "f", "--attach", "3");
	ERROR2("--pprof", "report", "--pprof", "f", "--attach", "3");
}

/* Numbers are plain decimal: strtod would also read hexadecimal ("0x10",
 * even hexadecimal floats), a '+' sign, and turn a value too small for a
 * double into 0 (or a denormal) that nobody typed.  The whole-number
 * options refuse sign and hexadecimal already (test_error_thresholds). */
static void test_error_number_spellings(void **state)
{
	static const char *const opts[] = {
		"--interval", "--duration", "--sample-small", "--sample-medium", "--sample-large",
	};
	static const char *const not_numbers[] = {
		"0x10", "0X10", "0x1p3", "0x.8", "+1", "+0.5", "+inf", "nan(1)", "1e+", ".", "-.", "e5",
	};
	static const char *const too_small[] = { "1e-400", "-1e-400", "1e-310", "0.1e-323" };

	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
		for (size_t k = 0; k < sizeof not_numbers / sizeof not_numbers[0]; k++)
			ERROR2((char *)opts[i], "is not", (char *)opts[i], (char *)not_numbers[k], "cmd");
		for (size_t k = 0; k < sizeof too_small / sizeof too_small[0]; k++)
			ERROR2((char *)opts[i], "is too small to tell from 0",
			       (char *)opts[i], (char *)too_small[k], "cmd");
	}
	ERROR1("--sample-large: '1e-400' is too small to tell from 0", "--sample-large", "1e-400", "cmd");
	ERROR1("--interval: '0x10' is not a number of seconds", "-d", "0x10", "cmd");
	ERROR1("--interval: '+1' is not a number of seconds", "-d", "+1", "cmd");
	ERROR1("--sample-small: '0x0.1p0' is not a rate from 0 to 1", "--sample-small", "0x0.1p0", "cmd");

	/* what stays accepted: a fraction without a leading or a trailing
	 * digit, an exponent of either sign, and an exact 0 however small its
	 * exponent */
	struct options o;
	PARSE_OK(&o, "-d", ".5", "--duration", "5.", "--sample-small", "1E-3", "cmd");
	assert_true(o.interval == 0.5);
	assert_true(o.duration == 5.0);
	assert_true(o.sample_small == 0.001);
	PARSE_OK(&o, "-d", "1e+1", "--sample-large", "0e-400", "--sample-medium", "1e-9", "cmd");
	assert_true(o.interval == 10.0);
	assert_true(o.sample_large == 0.0);
	assert_true(o.sample_medium == 1e-9);       /* MT_RATE_MIN */
	/* a rate above 0 but below MT_RATE_MIN: its weight would overflow */
	ERROR1("--sample-medium: '2.5e-308' is below the smallest rate, 1e-09 (0 turns the tier off)",
	       "--sample-medium", "2.5e-308", "cmd");
	ERROR1("--sample-small: '9.9e-10' is below the smallest rate", "--sample-small", "9.9e-10", "cmd");
}

/* Zero thresholds have a meaning, so they are taken (interface.md gives
 * no range): --medium-threshold 0 makes every allocation, malloc(0) too,
 * medium or large (no small tier); --frequency-threshold 0 makes a call
 * site hot once captured once.  --large-threshold 0 cannot be above the
 * medium threshold. */
static void test_zero_thresholds(void **state)
{
	struct options o;
	PARSE_OK(&o, "--medium-threshold", "0", "--frequency-threshold", "0", "cmd");
	assert_int_equal(o.medium_threshold, 0);
	assert_int_equal(o.frequency_threshold, 0);
	assert_int_equal(o.large_threshold, 65536);
	ERROR2("--medium-threshold (0)", "--large-threshold (0)",
	       "--medium-threshold", "0", "--large-threshold", "0", "cmd");
	ERROR2("--medium-threshold (2048)", "--large-threshold (0)", "--large-threshold", "0", "cmd");
	char env[160];
	assert_int_equal(options_sampling_env(&o, env, sizeof env), 0);
	assert_string_equal(env, "0.01:0.5:1:0:65536:0:64");
}

/* "-" is standard output for -o and --collapsed only; elsewhere it would
 * make a file (or directory) called "-", and --collapsed cannot share
 * standard output with the report. */
static void test_dash_paths(void **state)
{
	struct options o;
	PARSE_OK(&o, "-b", "-o", "-", "cmd");
	assert_string_equal(o.output_path, "-");
	PARSE_OK(&o, "report", "-o", "r.txt", "--collapsed", "-", "d");
	assert_string_equal(o.collapsed_path, "-");
	ERROR2("--export", "'-' (standard output) is not possible here: name a file", "-e", "-", "cmd");
	ERROR2("--trace", "name a directory", "-t", "-", "cmd");
	ERROR2("--pprof", "(./- for one called -)", "report", "--pprof", "-", "d");
	ERROR2("--export", "standard output", "report", "--export=-", "d");
	ERROR2("--collapsed -", "-o FILE", "report", "--collapsed", "-", "d");
	ERROR2("--collapsed -", "-o FILE", "report", "-o", "-", "--collapsed", "-", "d");
	PARSE_OK(&o, "-e", "./-", "-t", "./-", "cmd");
}

static void test_error_empty_paths(void **state)
{
	ERROR2("--output", "empty", "-o", "", "cmd");
	ERROR2("--export", "empty", "--export=", "cmd");
	ERROR2("--trace", "empty", "-t", "", "cmd");
	ERROR2("--collapsed", "empty", "report", "--collapsed", "", "d");
	ERROR2("--pprof", "empty", "report", "--pprof", "", "d");
}

/* Each call starts a fresh scan, even after one that stopped in the middle
 * of a cluster of short options or in the middle of argv. */
static void test_reentrant(void **state)
{
	struct options o;
	char err[ERRLEN];

	ERROR1("'-x'", "-bxd", "5", "cmd");
	PARSE_OK(&o, "-d", "2", "cmd");
	assert_true(o.interval == 2.0);
	assert_false(o.batch);

	ERROR1("--interval", "-d");
	PARSE_OK(&o, "-b", "cmd");
	assert_true(o.batch);
	assert_true(o.interval == 1.0);

	for (int i = 0; i < 3; i++) {
		assert_int_equal(parse(&o, err, ARGV("report", "d")), 0);
		assert_int_equal(o.mode, MEMTOP_REPORT);
		assert_int_equal(parse(&o, err, ARGV("-bd0.5", "x", "y")), 0);
		assert_int_equal(o.mode, MEMTOP_RUN);
		assert_int_equal(o.command_argc, 2);
	}
}

static void test_argv_not_reordered(void **state)
{
	struct options o;
	char *argv[] = { "memtop", "report", "-o", "f", "dir", "--json", NULL };
	char *copy[7];

	memcpy(copy, argv, sizeof argv);
	assert_int_equal(parse(&o, (char[ERRLEN]){ 0 }, argv), 0);
	assert_memory_equal(copy, argv, sizeof argv);
}

static void test_error_buffer_limits(void **state)
{
	struct options o;
	char small[12];
	char *argv[] = { "memtop", "--interval", "abc", "cmd", NULL };

	options_init(&o);
	assert_int_equal(options_parse(&o, 4, argv, NULL, 0), -1);
	options_init(&o);
	assert_int_equal(options_parse(&o, 4, argv, small, 0), -1);
	options_init(&o);
	assert_int_equal(options_parse(&o, 4, argv, small, sizeof small), -1);
	assert_string_equal(small, "--interval:");
}

/* main() may set the user's locale before parsing: "0.5" must still mean
 * one half, and "0,5" must still be refused. */
static void test_numbers_locale_independent(void **state)
{
	static const char *const names[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "ru_RU.UTF-8" };
	struct options o;
	const char *found = NULL;

	for (size_t i = 0; i < sizeof names / sizeof names[0] && !found; i++)
		found = setlocale(LC_ALL, names[i]);
	if (!found)
		skip();
	PARSE_OK(&o, "-d", "0.5", "cmd");
	assert_true(o.interval == 0.5);
	ERROR1("--interval", "-d", "0,5", "cmd");
	setlocale(LC_ALL, "C");
}

static void test_usage_text(void **state)
{
	static const char *const names[] = {
		"--export", "--trace", "--batch", "--json", "--output", "--interval",
		"--duration", "--sample-small", "--sample-medium", "--sample-large",
		"--medium-threshold", "--large-threshold", "--frequency-threshold",
		"--no-stacks", "--collapsed", "--pprof", "--attach", "--help", "--version",
		"--overwrite-trace",
		"-e,", "-t,", "-b,", "-o,", "-d,", "-h,", "-V,",
		"memtop [OPTIONS] [--] COMMAND [ARG...]", "memtop [OPTIONS] --attach PID",
		"memtop report [OPTIONS] TRACE_DIR",
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	options_print_usage(f);
	fclose(f);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strstr(buf, names[i]))
			fail_msg("usage text lacks %s", names[i]);
	/* Fits an 80-column terminal. */
	for (char *line = buf; *line; ) {
		size_t n = strcspn(line, "\n");
		assert_true(n <= 79);
		line += n + (line[n] == '\n');
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_defaults),
		cmocka_unit_test(test_command_with_dashdash),
		cmocka_unit_test(test_command_without_dashdash),
		cmocka_unit_test(test_options_after_command_belong_to_it),
		cmocka_unit_test(test_dashdash_command_named_like_options),
		cmocka_unit_test(test_every_long_option),
		cmocka_unit_test(test_equals_and_abbreviations),
		cmocka_unit_test(test_short_options),
		cmocka_unit_test(test_last_value_wins),
		cmocka_unit_test(test_range_boundaries_accepted),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_attach),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_error_unknown_option),
		cmocka_unit_test(test_error_missing_argument),
		cmocka_unit_test(test_error_missing_command),
		cmocka_unit_test(test_error_interval),
		cmocka_unit_test(test_error_duration),
		cmocka_unit_test(test_error_sample_rates),
		cmocka_unit_test(test_error_thresholds),
		cmocka_unit_test(test_error_threshold_order),
		cmocka_unit_test(test_error_attach),
		cmocka_unit_test(test_error_report),
		cmocka_unit_test(test_error_json_needs_batch),
		cmocka_unit_test(test_overwrite_trace),
		cmocka_unit_test(test_error_report_only_options),
		cmocka_unit_test(test_error_number_spellings),
		cmocka_unit_test(test_zero_thresholds),
		cmocka_unit_test(test_dash_paths),
		cmocka_unit_test(test_error_empty_paths),
		cmocka_unit_test(test_reentrant),
		cmocka_unit_test(test_argv_not_reordered),
		cmocka_unit_test(test_error_buffer_limits),
		cmocka_unit_test(test_numbers_locale_independent),
		cmocka_unit_test(test_usage_text),
		cmocka_unit_test(test_errors_quote_values_safely),
		cmocka_unit_test(test_stack_depth),
		cmocka_unit_test(test_existing_outputs),
		cmocka_unit_test(test_outputs_checked_early),
		cmocka_unit_test(test_open_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
