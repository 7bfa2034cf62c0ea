/*
 * test_launcher.c - unit tests of the launcher: LD_PRELOAD composition,
 * finding the collector, starting commands and the shell-like exit statuses
 * of failed starts, what the child finds in its environment and signal
 * state, waiting with a timeout, and signal forwarding.
 *
 * The forwarding tests install process-wide handlers, so they come last.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launcher.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run argv to its end; returns its exit code. */
static int run(char **argv, const char *collector)
{
	struct launcher l = { 0 };
	int code = -1;
	char err[256] = "";
	int rc = launcher_spawn(&l, argv, collector, &code, err, sizeof err);
	if (rc < 0) {
		assert_true(l.ended);
		return code;
	}
	assert_int_equal(code, 0);
	assert_true(l.pid > 0);
	assert_true(launcher_wait(&l, 10.0));
	return launcher_exit_code(&l);
}

static int run_sh(const char *script, const char *collector)
{
	char *argv[] = { "sh", "-c", (char *)script, NULL };
	return run(argv, collector);
}

static int find_libc(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	const char *slash = strrchr(info->dlpi_name, '/');
	const char *base = slash ? slash + 1 : info->dlpi_name;
	if (strncmp(base, "libc.so", 7) != 0)
		return 0;
	return realpath(info->dlpi_name, data) ? 1 : 0;
}

/* A shared object that exists and is harmless to preload into sh: the
 * ld.so warning about a missing preload would muddy the test's output. */
static const char *harmless_so(void)
{
	static char path[PATH_MAX];
	if (!path[0])
		assert_int_equal(dl_iterate_phdr(find_libc, path), 1);
	return path;
}

static void test_compose_preload(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(launcher_compose_preload(out, sizeof out, "/a/b.so", NULL), 0);
	assert_string_equal(out, "/a/b.so");
	assert_int_equal(launcher_compose_preload(out, sizeof out, "/a/b.so", ""), 0);
	assert_string_equal(out, "/a/b.so");
	assert_int_equal(launcher_compose_preload(out, sizeof out, "/a/b.so", "libjemalloc.so.2"), 0);
	assert_string_equal(out, "/a/b.so:libjemalloc.so.2");
	assert_int_equal(launcher_compose_preload(out, sizeof out, "/a/b.so", "x.so y.so"), 0);
	assert_string_equal(out, "/a/b.so:x.so y.so");
}

static void test_compose_preload_rejects(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(launcher_compose_preload(out, sizeof out, "/a b/c.so", NULL), -1);
	assert_int_equal(launcher_compose_preload(out, sizeof out, "/a:b/c.so", NULL), -1);
	assert_int_equal(launcher_compose_preload(out, sizeof out, "", NULL), -1);
	assert_int_equal(launcher_compose_preload(out, sizeof out, NULL, NULL), -1);
	/* "/a/b.so" needs 8 bytes with its terminator. */
	assert_int_equal(launcher_compose_preload(out, 8, "/a/b.so", NULL), 0);
	assert_int_equal(launcher_compose_preload(out, 7, "/a/b.so", NULL), -1);
	assert_int_equal(launcher_compose_preload(out, 10, "/a/b.so", "c.so"), -1);
	assert_int_equal(launcher_compose_preload(out, 0, "/a/b.so", NULL), -1);
}

static void test_find_collector_env(void **state)
{
	(void)state;
	char path[] = "/tmp/memtop-test-collector-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);

	/* A non-canonical spelling must come back canonical. */
	char spelled[PATH_MAX + 16], canon[PATH_MAX], out[PATH_MAX], err[512] = "";
	snprintf(spelled, sizeof spelled, "/tmp/./..%s", path);
	assert_non_null(realpath(path, canon));
	setenv("MEMTOP_PRELOAD", spelled, 1);
	assert_int_equal(launcher_find_collector(out, sizeof out, err, sizeof err), 0);
	assert_string_equal(out, canon);
	/* Too small for the path: an error, not a truncated path. */
	assert_int_equal(launcher_find_collector(out, 8, err, sizeof err), -1);

	unlink(path);
	err[0] = '\0';
	assert_int_equal(launcher_find_collector(out, sizeof out, err, sizeof err), -1);
	assert_non_null(strstr(err, "MEMTOP_PRELOAD"));
	assert_non_null(strstr(err, spelled));
	assert_null(strchr(err, '\n'));

	setenv("MEMTOP_PRELOAD", "/tmp", 1);
	assert_int_equal(launcher_find_collector(out, sizeof out, err, sizeof err), -1);
	unsetenv("MEMTOP_PRELOAD");
}

static void test_find_collector_default(void **state)
{
	(void)state;
	char out[PATH_MAX], err[1024] = "";
	unsetenv("MEMTOP_PRELOAD");
	/* From tests/unit there is no build-tree collector next to us; an
	 * installed one may or may not exist. */
	if (launcher_find_collector(out, sizeof out, err, sizeof err) == 0) {
		assert_true(out[0] == '/');
	} else {
		assert_non_null(strstr(err, "libmemtop.so"));
		assert_non_null(strstr(err, "MEMTOP_PRELOAD"));
		assert_null(strchr(err, '\n'));
	}
}

static void test_spawn_statuses(void **state)
{
	(void)state;
	char *true_argv[] = { "/bin/true", NULL };
	assert_int_equal(run(true_argv, harmless_so()), 0);
	assert_int_equal(run_sh("exit 3", harmless_so()), 3);
	assert_int_equal(run_sh("kill -TERM $$", harmless_so()), 143);
}

static void test_spawn_not_found(void **state)
{
	(void)state;
	struct launcher l = { 0 };
	char *argv[] = { "memtop-test-no-such-command", NULL };
	char err[256] = "";
	int code = -1;
	assert_int_equal(launcher_spawn(&l, argv, harmless_so(), &code, err, sizeof err), -1);
	assert_int_equal(code, 127);
	assert_string_equal(err, "memtop-test-no-such-command: command not found");
	assert_true(l.ended);
	/* Reaped already: nothing left to wait for. */
	assert_int_equal(waitpid(l.pid, NULL, WNOHANG), -1);
}

static void test_spawn_not_executable(void **state)
{
	(void)state;
	char path[] = "/tmp/memtop-test-script-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "exit 0\n", 7), 7);
	assert_int_equal(fchmod(fd, 0644), 0);
	close(fd);

	struct launcher l = { 0 };
	char *argv[] = { path, NULL };
	char err[512] = "", want[512];
	int code = -1;
	assert_int_equal(launcher_spawn(&l, argv, harmless_so(), &code, err, sizeof err), -1);
	assert_int_equal(code, 126);
	snprintf(want, sizeof want, "%s: cannot execute: %s", path, strerror(EACCES));
	assert_string_equal(err, want);
	unlink(path);
}

static void test_spawn_directory(void **state)
{
	(void)state;
	struct launcher l = { 0 };
	char *argv[] = { "/tmp", NULL };
	char err[256] = "", want[256];
	int code = -1;
	assert_int_equal(launcher_spawn(&l, argv, harmless_so(), &code, err, sizeof err), -1);
	assert_int_equal(code, 126);
	snprintf(want, sizeof want, "/tmp: cannot execute: %s", strerror(EISDIR));
	assert_string_equal(err, want);
}

static void test_spawn_bad_collector(void **state)
{
	(void)state;
	struct launcher l = { 0 };
	char *argv[] = { "/bin/true", NULL };
	char err[256] = "";
	int code = -1;
	assert_int_equal(launcher_spawn(&l, argv, "/a b/libmemtop.so", &code, err, sizeof err), -1);
	assert_int_equal(code, 1);
	assert_int_equal(l.pid, 0);
	assert_non_null(strstr(err, "/a b/libmemtop.so"));
}

static void test_child_environment(void **state)
{
	(void)state;
	const char *so = harmless_so();
	char script[PATH_MAX * 3];

	unsetenv("LD_PRELOAD");
	setenv("MEMTOP_SESSION", "stale", 1);
	snprintf(script, sizeof script,
		 "test \"$MEMTOP_SESSION\" = %ld && test \"$LD_PRELOAD\" = '%s' && "
		 "test $(env | grep -c '^MEMTOP_SESSION=') = 1", (long)getpid(), so);
	assert_int_equal(run_sh(script, so), 0);

	/* The user's preload comes after the collector. */
	setenv("LD_PRELOAD", so, 1);
	snprintf(script, sizeof script, "test \"$LD_PRELOAD\" = '%s:%s'", so, so);
	assert_int_equal(run_sh(script, so), 0);

	/* memtop's own environment is untouched. */
	assert_string_equal(getenv("LD_PRELOAD"), so);
	assert_string_equal(getenv("MEMTOP_SESSION"), "stale");
	unsetenv("LD_PRELOAD");
	unsetenv("MEMTOP_SESSION");
}

static void test_child_signal_state(void **state)
{
	(void)state;
	sigset_t term, old;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	assert_int_equal(sigprocmask(SIG_BLOCK, &term, &old), 0);
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
	sigemptyset(&ign.sa_mask);
	assert_int_equal(sigaction(SIGPIPE, &ign, &old_pipe), 0);

	/* Blocked or ignored in memtop, yet fatal to the child. */
	assert_int_equal(run_sh("kill -TERM $$; exit 0", harmless_so()), 143);
	assert_int_equal(run_sh("kill -PIPE $$; exit 0", harmless_so()), 141);

	sigaction(SIGPIPE, &old_pipe, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* The viewer's redirection: the command reads the given input and writes
 * both streams, interleaved in order, into the given file. */
static void test_redirect(void **state)
{
	(void)state;
	char path[] = "/tmp/memtop-launcher-out.XXXXXX";
	int out = mkostemp(path, O_APPEND | O_CLOEXEC);
	assert_true(out >= 0);
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(in >= 0);
	struct launcher l = { 0 };
	launcher_redirect(&l, in, out);
	char *argv[] = { "sh", "-c", "echo one; echo two >&2; read x || echo eof; exit 4", NULL };
	int code = -1;
	char err[256] = "";
	assert_int_equal(launcher_spawn(&l, argv, harmless_so(), &code, err, sizeof err), 0);
	assert_true(launcher_wait(&l, 10.0));
	assert_int_equal(launcher_exit_code(&l), 4);
	char buf[64] = "";
	assert_int_equal(pread(out, buf, sizeof(buf) - 1, 0), 12);
	assert_string_equal(buf, "one\ntwo\neof\n");
	/* a bad descriptor is an exec failure, reported, not a silent child */
	struct launcher bad = { 0 };
	launcher_redirect(&bad, in, 1000);
	code = -1;
	assert_int_equal(launcher_spawn(&bad, argv, harmless_so(), &code, err, sizeof err), -1);
	assert_int_equal(code, 126);
	assert_non_null(strstr(err, "Bad file descriptor"));
	close(in);
	close(out);
	unlink(path);
}

static void test_describe(void **state)
{
	(void)state;
	char buf[128];
	struct launcher l = { .pid = 42, .ended = true };

	l.wait_status = 3 << 8;
	assert_string_equal(launcher_describe(&l, buf, sizeof buf), "exited with status 3");
	assert_int_equal(launcher_exit_code(&l), 3);

	l.wait_status = SIGKILL;
	assert_string_equal(launcher_describe(&l, buf, sizeof buf), "killed by signal 9 (Killed)");
	assert_int_equal(launcher_exit_code(&l), 137);

	l.wait_status = SIGSEGV | 0x80;
	assert_string_equal(launcher_describe(&l, buf, sizeof buf),
			    "killed by signal 11 (Segmentation fault), core dumped");
	assert_int_equal(launcher_exit_code(&l), 139);

	l.ended = false;
	assert_int_equal(launcher_exit_code(&l), -1);
	assert_false(launcher_poll(&(struct launcher){ 0 }));
}

static void test_wait_timeout(void **state)
{
	(void)state;
	struct launcher l = { 0 };
	char *argv[] = { "sleep", "5", NULL };
	char err[256] = "";
	int code = -1;
	assert_int_equal(launcher_spawn(&l, argv, harmless_so(), &code, err, sizeof err), 0);

	double t0 = now_s();
	assert_false(launcher_wait(&l, 0.2));
	double waited = now_s() - t0;
	assert_true(waited >= 0.19 && waited < 1.5);
	assert_false(launcher_poll(&l));
	assert_false(launcher_wait(&l, 0));

	kill(l.pid, SIGKILL);
	assert_true(launcher_wait(&l, -1));
	assert_true(launcher_poll(&l));
	assert_int_equal(launcher_exit_code(&l), 137);
	assert_string_equal(launcher_describe(&l, err, sizeof err), "killed by signal 9 (Killed)");
}

/* The child's end wakes launcher_wait through a pidfd where the kernel has
 * pidfd_open; the descriptor is close-on-exec and closed once reaped. */
static void test_wait_pidfd(void **state)
{
	(void)state;
	long probe = syscall(SYS_pidfd_open, getpid(), 0);
	if (probe >= 0)
		close((int)probe);
	struct launcher l = { 0 };
	char *argv[] = { "sleep", "5", NULL };
	char err[256] = "";
	int code = -1;
	assert_int_equal(launcher_spawn(&l, argv, harmless_so(), &code, err, sizeof err), 0);
	assert_int_equal(l.has_pidfd, probe >= 0);
	if (!l.has_pidfd) {
		kill(l.pid, SIGKILL);
		assert_true(launcher_wait(&l, -1));
		return;
	}
	int fd = l.pidfd;
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	kill(l.pid, SIGKILL);
	assert_true(launcher_wait(&l, 5.0));
	assert_int_equal(launcher_exit_code(&l), 137);
	assert_false(l.has_pidfd);
	errno = 0;
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
}

static void test_forward_without_child(void **state)
{
	(void)state;
	/* pid 0 must never reach kill(): it would signal our whole group. */
	static struct launcher idle;
	/* A shell starts background jobs with SIGINT ignored, and the launcher
	 * rightly keeps an inherited SIG_IGN (test_forward_keeps_nohup). */
	signal(SIGINT, SIG_DFL);
	launcher_forward_signals(&idle);
	unsigned before = launcher_signal_count();
	assert_int_equal(raise(SIGINT), 0);
	assert_int_equal(launcher_signal_count(), before + 1);
}

static void test_forward_to_child(void **state)
{
	(void)state;
	static struct launcher l;
	char *argv[] = { "sleep", "5", NULL };
	char err[256] = "";
	int code = -1;
	launcher_forward_signals(&l);
	assert_int_equal(launcher_spawn(&l, argv, harmless_so(), &code, err, sizeof err), 0);

	unsigned before = launcher_signal_count();
	/* raise() sends with SI_TKILL, as a process would. */
	assert_int_equal(raise(SIGTERM), 0);
	assert_int_equal(launcher_signal_count(), before + 1);
	assert_true(launcher_wait(&l, 3.0));
	assert_int_equal(launcher_exit_code(&l), 143);

	/* Once the child has ended, signals are only counted. */
	assert_int_equal(raise(SIGTERM), 0);
	assert_int_equal(launcher_signal_count(), before + 2);
}

static void test_forward_keeps_nohup(void **state)
{
	(void)state;
	static struct launcher l;
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigemptyset(&ign.sa_mask);
	assert_int_equal(sigaction(SIGHUP, &ign, NULL), 0);
	launcher_forward_signals(&l);

	struct sigaction now;
	assert_int_equal(sigaction(SIGHUP, NULL, &now), 0);
	assert_true(now.sa_handler == SIG_IGN);
	assert_int_equal(run_sh("kill -HUP $$; exit 0", harmless_so()), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compose_preload),
		cmocka_unit_test(test_compose_preload_rejects),
		cmocka_unit_test(test_find_collector_env),
		cmocka_unit_test(test_find_collector_default),
		cmocka_unit_test(test_spawn_statuses),
		cmocka_unit_test(test_spawn_not_found),
		cmocka_unit_test(test_spawn_not_executable),
		cmocka_unit_test(test_spawn_directory),
		cmocka_unit_test(test_spawn_bad_collector),
		cmocka_unit_test(test_child_environment),
		cmocka_unit_test(test_child_signal_state),
		cmocka_unit_test(test_redirect),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_wait_timeout),
		cmocka_unit_test(test_wait_pidfd),
		cmocka_unit_test(test_forward_without_child),
		cmocka_unit_test(test_forward_to_child),
		cmocka_unit_test(test_forward_keeps_nohup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
