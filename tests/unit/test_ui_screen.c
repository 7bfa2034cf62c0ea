/*
 * test_ui_screen.c - unit tests of the terminal layer on a pseudo-terminal
 * this test plays the terminal of: the checks before starting (not a
 * terminal, unknown type, too small), NO_COLOR, drawing a canvas, keys and
 * escape sequences, resize, and the terminal restored by screen_free, by
 * exit() and by a crash.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "keymap.h"
#include "screen.h"

/* xterm's rmcup: leave the alternate screen. */
#define LEAVE_ALTERNATE "\x1b[?1049l"

static int master = -1, slave = -1;
static char got[1 << 16];
static size_t ngot;

static void open_pty(int cols, int rows)
{
	struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
	assert_int_equal(openpty(&master, &slave, NULL, NULL, &ws), 0);
	fcntl(master, F_SETFL, O_NONBLOCK);
	ngot = 0;
	got[0] = '\0';
}

static void close_pty(void)
{
	close(master);
	close(slave);
	master = slave = -1;
}

/* Collect what the program under test sent to the terminal. */
static void drain(void)
{
	for (;;) {
		struct pollfd p = { .fd = master, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			return;
		ssize_t r = read(master, got + ngot, sizeof(got) - 1 - ngot);
		if (r <= 0)
			return;
		ngot += (size_t)r;
		got[ngot] = '\0';
	}
}

static bool sent(const char *s)
{
	return memmem(got, ngot, s, strlen(s)) != NULL;
}

/* Was any SGR sequence with a colour parameter (30-49) sent? */
static bool sent_colour(void)
{
	for (size_t i = 0; i + 2 < ngot; i++) {
		if (got[i] != 0x1b || got[i + 1] != '[')
			continue;
		size_t j = i + 2;
		while (j < ngot && ((got[j] >= '0' && got[j] <= '9') || got[j] == ';'))
			j++;
		if (j >= ngot || got[j] != 'm')
			continue;
		for (size_t k = i + 2; k < j;) {
			int v = atoi(got + k);
			if (v >= 30 && v <= 49)
				return true;
			while (k < j && got[k] != ';')
				k++;
			k++;
		}
	}
	return false;
}

static int setup(void **state)
{
	setenv("TERM", "xterm", 1);
	setlocale(LC_ALL, "C.UTF-8");
	return 0;
}

static void test_preflight(void **state)
{
	char err[256];
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(screen_preflight(p[0], p[1], 80, 24, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "needs a terminal"));
	assert_non_null(strstr(err, "--batch"));
	close(p[0]);
	close(p[1]);

	open_pty(60, 20);
	assert_int_equal(screen_preflight(slave, slave, 80, 24, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "60x20"));
	assert_non_null(strstr(err, "80x24"));
	assert_non_null(strstr(err, "--batch"));
	assert_int_equal(screen_preflight(slave, slave, 60, 20, err, sizeof(err)), 0);
	setenv("TERM", "memtop-no-such-terminal", 1);
	assert_int_equal(screen_preflight(slave, slave, 60, 20, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown to terminfo"));
	setenv("TERM", "dumb", 1);
	assert_int_equal(screen_preflight(slave, slave, 60, 20, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cursor addressing"));
	setenv("TERM", "xterm", 1);
	close_pty();
}

static void test_colour_choice(void **state)
{
	assert_true(screen_want_colour(NULL));
	assert_true(screen_want_colour(""));
	assert_false(screen_want_colour("1"));
	assert_false(screen_want_colour("yes"));
	assert_true(screen_locale_utf8());
}

static void test_draw_keys_resize(void **state)
{
	char err[256];
	open_pty(100, 30);
	screen *scr = screen_new(slave, slave, true, err, sizeof(err));
	assert_non_null(scr);
	assert_true(screen_colour(scr));
	int w, h;
	screen_size(scr, &w, &h);
	assert_int_equal(w, 100);
	assert_int_equal(h, 30);
	canvas *c = canvas_new(w, h, true);
	canvas_put(c, 3, 5, -1, STYLE_CRIT, "hello memtop \u2588");
	screen_draw(scr, c, true);
	drain();
	assert_true(sent("hello memtop \u2588"));
	assert_true(sent_colour());                 /* STYLE_CRIT is red */
	assert_true(sent("\x1b[?1049h"));           /* the alternate screen */

	assert_int_equal(screen_key(scr), UI_KEY_NONE);
	assert_int_equal(write(master, "q", 1), 1);
	usleep(20000);
	assert_int_equal(screen_key(scr), 'q');
	assert_int_equal(write(master, "\x1bOA", 3), 3);   /* up, keypad mode */
	usleep(20000);
	assert_int_equal(screen_key(scr), UI_KEY_UP);
	assert_int_equal(write(master, "\xc3\xa9", 2), 2);
	usleep(20000);
	assert_int_equal(screen_key(scr), 0xe9);
	assert_int_equal(screen_key(scr), UI_KEY_NONE);

	assert_false(screen_resized(scr));
	struct winsize ws = { .ws_row = 40, .ws_col = 120 };
	assert_int_equal(ioctl(master, TIOCSWINSZ, &ws), 0);
	raise(SIGWINCH);
	assert_true(screen_resized(scr));
	screen_size(scr, &w, &h);
	assert_int_equal(w, 120);
	assert_int_equal(h, 40);
	assert_false(screen_resized(scr));

	ngot = 0;
	screen_free(scr);
	drain();
	assert_true(sent(LEAVE_ALTERNATE));
	canvas_free(c);
	close_pty();
}

static void test_no_colour(void **state)
{
	char err[256];
	open_pty(80, 24);
	screen *scr = screen_new(slave, slave, false, err, sizeof(err));
	assert_non_null(scr);
	assert_false(screen_colour(scr));
	canvas *c = canvas_new(80, 24, true);
	canvas_put(c, 0, 0, -1, STYLE_CRIT, "critical");
	canvas_put(c, 1, 0, -1, STYLE_OK, "fine");
	screen_draw(scr, c, true);
	drain();
	assert_true(sent("critical"));
	assert_false(sent_colour());
	canvas_free(c);
	screen_free(scr);
	close_pty();
}

/* In a child: start curses, then leave by `how`; the terminal must be
 * restored all the same. */
static void restored_after(const char *how, int want_signal)
{
	open_pty(80, 24);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256];
		screen *scr = screen_new(slave, slave, true, err, sizeof(err));
		if (!scr)
			_exit(99);
		canvas *c = canvas_new(80, 24, true);
		canvas_put(c, 0, 0, -1, STYLE_NORMAL, "before the end");
		screen_draw(scr, c, false);
		if (strcmp(how, "exit") == 0)
			exit(7);
		abort();
	}
	int status;
	for (;;) {
		drain();
		pid_t r = waitpid(pid, &status, WNOHANG);
		assert_true(r >= 0);
		if (r == pid)
			break;
	}
	drain();
	assert_true(sent("before the end"));
	assert_true(sent(LEAVE_ALTERNATE));
	if (want_signal) {
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), want_signal);
	} else {
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 7);
	}
	close_pty();
}

static void test_restored_on_exit(void **state)
{
	restored_after("exit", 0);
}

static void test_restored_on_crash(void **state)
{
	restored_after("abort", SIGABRT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preflight),
		cmocka_unit_test(test_colour_choice),
		cmocka_unit_test(test_draw_keys_resize),
		cmocka_unit_test(test_no_colour),
		cmocka_unit_test(test_restored_on_exit),
		cmocka_unit_test(test_restored_on_crash),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
