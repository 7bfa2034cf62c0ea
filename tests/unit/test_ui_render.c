/*
 * test_ui_render.c - unit tests of the viewer's frames, drawn into a
 * canvas from hand-built sessions: overview cards and thread grid, alert
 * and exited marks, hostile names made safe, rankings per sort key,
 * memory patterns, the system summary (threads without a slot too) and
 * timelines, the output pane, focus mode with and without stacks and
 * findings, help, the too-small message, the end of the command, and
 * ASCII-only terminals.
 */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "render.h"
#include "ui_fixture.h"

static struct session s;
static struct ui_state st;
static threadlist *list;
static canvas *c;
static struct render_geom geom;
static struct render_input in;

static int setup(void **state)
{
	fixture_session(&s, 4);
	fixture_thread(&s, 0, "alloc-heavy", 90000, 900000, 1440000, 1440000, 5.0);
	fixture_thread(&s, 1, "big-live", 48, 48 << 20, 48 << 20, 0, 0.1);
	fixture_thread(&s, 2, "cpu-spin", 300, 3000, 4800, 4000, 95.0);
	fixture_thread(&s, 3, "bad\x1b[7mname", 10, 100, 240, 240, 1.0);
	s.threads[0].alert = ALERT_WARN;
	s.threads[2].alert = ALERT_CRITICAL;
	s.threads[3].exited = true;
	s.proc_valid = true;
	s.proc.num_threads = 5;   /* one more than the collector saw alive */
	s.proc.rss_valid = true;
	s.proc.rss_bytes = 60 << 20;
	s.proc.vsize_bytes = 300 << 20;
	s.proc_cpu_percent = 101.0;
	s.sys_cpu_percent = 55.0;
	s.sys.ncpus = 2;
	s.sys.load_valid = true;
	s.sys.load[0] = 1.5;
	s.mi_valid = true;
	s.mi.arena = 1 << 20;
	s.mi.fordblks = 1 << 18;
	s.mi.hblkhd = 48 << 20;
	s.totals.peak_live_bytes = 50 << 20;
	s.totals.alloc_rate = 9034.8;
	fixture_history(&s.hist, SESSION_HISTORY_PROCESS, 60);
	for (int i = 0; i < 4; i++)
		fixture_history(&s.threads[i].hist, SESSION_HISTORY_THREAD, 60);
	ui_state_init(&st, 1.0);
	list = threadlist_new();
	threadlist_build(list, &s, SORT_ALLOCS, NULL);
	c = canvas_new(80, 24, true);
	in = (struct render_input){ .s = &s, .st = &st, .list = list, .gpu_percent = NAN,
				    .gpu_note = "no NVIDIA driver", .stacks_requested = true };
	return 0;
}

static int teardown(void **state)
{
	canvas_free(c);
	threadlist_free(list);
	session_free(&s);
	return 0;
}

static int reset(void **state)
{
	ui_state_init(&st, 1.0);
	canvas_resize(c, 80, 24);
	c->utf8 = true;
	in.out = NULL;
	in.findings = NULL;
	in.nfindings = 0;
	in.notice = NULL;
	s.ended = false;
	s.final = false;
	threadlist_build(list, &s, SORT_ALLOCS, NULL);
	return 0;
}

/* On a miss, the frame goes to the log: a failing test shows what was drawn. */
static bool has(const char *needle)
{
	if (canvas_contains(c, needle))
		return true;
	char row[4096];
	fprintf(stderr, "-- '%s' is not in this frame:\n", needle);
	for (int y = 0; y < c->h; y++)
		fprintf(stderr, "|%s\n", canvas_row_text(c, y, row, sizeof(row)));
	return false;
}

static bool lacks(const char *needle)
{
	return !canvas_contains(c, needle);
}

static void test_overview(void **state)
{
	render_frame(c, &in, &geom);
	assert_false(geom.too_small);
	assert_true(has("memtop"));
	assert_true(has("pid 4242  ./server --port 8080"));
	assert_true(has("PROCESS CPU"));
	assert_true(has("101%"));
	assert_true(has("GPU"));
	assert_true(has("n/a"));
	assert_true(has("ALLOCATIONS"));
	assert_true(has("90.4k"));
	assert_true(has("9.0k/s"));
	assert_true(has("LIVE HEAP"));
	assert_true(has("max 50.0 MiB"));
	assert_true(has("60.0 MiB"));
	assert_true(has("EFFICIENCY"));
	assert_true(has("frag 25%"));
	assert_true(has("THREADS  4 shown of 4, 1 exited   5 in the process   page 1/1"));
	/* grid: busiest first, alert tags, the exited thread marked */
	assert_true(has("4242 alloc-heavy"));
	assert_true(has("WARN"));
	assert_true(has("CRIT"));
	assert_true(has("EXITED"));
	assert_true(has("bad?[7mname"));
	int row = canvas_find_row(c, "4242 alloc-heavy");
	assert_true(row > 0);
	assert_true(geom.has_grid);
	assert_int_equal(geom.grid.cols, 3);
	/* the first card is selected */
	assert_int_equal(canvas_at(c, row, 0)->style, STYLE_SELECTED);
	/* no control character anywhere in the frame */
	for (int y = 0; y < c->h; y++)
		for (int x = 0; x < c->w; x++)
			for (const char *p = canvas_at(c, y, x)->ch; *p; p++)
				assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
	assert_true(has("q quit"));
}

static void test_rankings_follow_sort_key(void **state)
{
	st.view = VIEW_RANKINGS;
	render_frame(c, &in, &geom);
	assert_true(has("RANKINGS  top threads by allocs"));
	int first = canvas_find_row(c, "ALLOC/S") + 1;
	assert_true(has("ALLOC/S"));
	char row[1024];
	assert_non_null(strstr(canvas_row_text(c, first, row, sizeof(row)), "alloc-heavy"));
	st.sort = SORT_CPU;
	threadlist_build(list, &s, st.sort, NULL);
	render_frame(c, &in, &geom);
	assert_true(has("\u25bcCPU%"));
	assert_non_null(strstr(canvas_row_text(c, first, row, sizeof(row)), "cpu-spin"));
	assert_non_null(strstr(canvas_row_text(c, first, row, sizeof(row)), "95%"));
	st.sort = SORT_LIVE;
	threadlist_build(list, &s, st.sort, NULL);
	render_frame(c, &in, &geom);
	assert_non_null(strstr(canvas_row_text(c, first, row, sizeof(row)), "big-live"));
	assert_int_equal(geom.grid.cols, 1);

	/* A thread that frees more than it allocates (a consumer) has negative
	 * live bytes: the widest figures still keep a space between columns. */
	struct thread_stat saved = s.threads[2];
	s.threads[2].c.bytes_allocated = 291ull << 20;
	s.threads[2].c.usable_allocated = 300ull << 20;
	s.threads[2].c.usable_freed = (300ull << 20) + (44ull << 20);
	st.sort = SORT_BYTES;
	threadlist_build(list, &s, st.sort, NULL);
	render_frame(c, &in, &geom);
	canvas_row_text(c, first, row, sizeof(row));
	assert_non_null(strstr(row, "cpu-spin"));
	assert_non_null(strstr(row, " 291 MiB -44.0 MiB "));
	s.threads[2] = saved;
	st.sort = SORT_LIVE;
	threadlist_build(list, &s, st.sort, NULL);
}

static void test_patterns(void **state)
{
	st.view = VIEW_PATTERNS;
	render_frame(c, &in, &geom);
	assert_true(has("MEMORY PATTERNS"));
	assert_true(has("AVG SIZE"));
	/* alloc-heavy: 900000 bytes in 90000 allocs, 62.5% of usable */
	int row = canvas_find_row(c, "alloc-heavy");
	char text[1024];
	canvas_row_text(c, row, text, sizeof(text));
	assert_non_null(strstr(text, "10 B"));
	assert_non_null(strstr(text, "62%") ? strstr(text, "62%") : strstr(text, "63%"));
	/* the selected thread's histogram: its only bucket, 100% */
	assert_true(has("SIZES of 4242 alloc-heavy"));
	assert_true(has("8-15 B"));
	assert_true(has("100.0%"));
}

static void test_system(void **state)
{
	st.view = VIEW_SYSTEM;
	render_frame(c, &in, &geom);
	assert_true(has("SYSTEM SUMMARY"));
	assert_true(has("tracked 4, running 3, exited 1"));
	assert_true(has("fragmentation 25%"));
	assert_true(has("load 1.50"));
	assert_true(has("io       read n/a"));
	assert_true(has("average 30%"));
	assert_true(has("peak 50%"));
	assert_true(has("TIMELINES"));
	assert_true(has("live heap  now 60.0 KiB"));
	assert_true(has("-59.0s"));
	assert_true(has("now"));
	assert_true(has("\u2588"));
	assert_false(geom.has_grid);
	assert_true(lacks("overflow"));

	/* threads pooled because /dev/shm filled up: said where the count is */
	s.overflow.threads = 3;
	s.unbacked = 3;
	s.unbacked_errno = ENOSPC;
	render_frame(c, &in, &geom);
	assert_true(has("tracked 4, running 3, exited 1, more in the overflow pool; 3 without"));
	assert_true(has("a slot because /dev/shm is full (No space left on device)"));
	s.overflow.threads = 0;
	s.unbacked = 0;
	s.unbacked_errno = 0;
}

static void test_output_pane(void **state)
{
	char err[256];
	outpane *o = outpane_new(100);
	int fd = outpane_create(o, "/tmp", err, sizeof(err));
	assert_true(fd >= 0);
	const char *text = "\x1b[2Jfirst line\nsecond line\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	outpane_poll(o);
	in.out = o;
	render_frame(c, &in, &geom);
	assert_true(has("OUTPUT  2 lines"));
	assert_true(has(outpane_path(o)));
	assert_true(has("?[2Jfirst line"));
	assert_true(has("second line"));
	st.view = VIEW_OUTPUT;
	render_frame(c, &in, &geom);
	assert_true(has("second line"));
	st.scroll = 1;                   /* one line up from the newest */
	render_frame(c, &in, &geom);
	assert_true(has("first line"));
	assert_true(lacks("second line"));
	assert_true(has("scrolled"));
	close(fd);
	unlink(outpane_path(o));
	outpane_free(o);
	in.out = NULL;
}

static void test_focus(void **state)
{
	st.focus = true;
	st.has_sel = true;
	st.sel_slot = 2;                  /* cpu-spin */
	render_frame(c, &in, &geom);
	assert_true(has("FOCUS  4244 cpu-spin  running"));
	assert_true(has("efficiency 62%"));
	assert_true(has("allocations/s"));
	assert_true(has("no stacks sampled yet"));
	assert_true(has("no findings for this thread"));
	assert_true(has("CRIT"));
	in.stacks_requested = false;
	render_frame(c, &in, &geom);
	assert_true(has("stack capture is off (--no-stacks)"));
	in.stacks_requested = true;
	struct bottleneck b = { .type = "small-alloc-churn", .tid = 4244, .severity = 0.72,
				.stack_id = BOTTLENECK_NO_STACK };
	snprintf(b.description, sizeof(b.description), "300 allocations of 10 B a second");
	snprintf(b.suggestion, sizeof(b.suggestion), "pool the\x1b]0;x\x07 blocks");
	in.findings = &b;
	in.nfindings = 1;
	render_frame(c, &in, &geom);
	assert_true(has("[0.72] small-alloc-churn: 300 allocations of 10 B a second"));
	assert_true(has("-> pool the?]0;x? blocks"));
	/* with stacks: estimates and the frames */
	struct stack_stat top = { .id = 999, .allocs_est = 3000, .bytes_est = 30000,
				  .live_bytes_est = 800, .samples = 30 };
	s.threads[2].top_stacks = &top;
	s.threads[2].ntop = 1;
	render_frame(c, &in, &geom);
	assert_true(has("#1  stack 999: 29.3 KiB allocated, 3.0k allocs, 800 B live (30 samples)"));
	s.threads[2].top_stacks = NULL;
	s.threads[2].ntop = 0;
}

static void test_help_small_and_end(void **state)
{
	st.help = true;
	render_frame(c, &in, &geom);
	assert_true(has("memtop keys"));
	assert_true(has("focus mode on the selected thread"));
	st.help = false;

	canvas_resize(c, 79, 24);
	render_frame(c, &in, &geom);
	assert_true(geom.too_small);
	assert_true(has("Terminal too small: 79x24"));
	assert_true(has("at least 80x24"));
	canvas_resize(c, 80, 23);
	render_frame(c, &in, &geom);
	assert_true(geom.too_small);
	canvas_resize(c, 80, 24);

	s.ended = true;
	snprintf(s.end_description, sizeof(s.end_description), "killed by signal 9 (Killed)");
	render_frame(c, &in, &geom);
	assert_true(has("[killed by signal 9 (Killed)]"));
	assert_true(has("killed by signal 9 (Killed); final figures shown. q quits.  ./server --port"));
	/* A command line wider than the terminal: how it ended stays on the
	 * bottom row, the command is what gets cut. */
	char command[sizeof(s.command)];
	snprintf(command, sizeof(command), "%s", s.command);
	memset(s.command, 'x', 300);
	memcpy(s.command, "./long ", 7);
	s.command[300] = '\0';
	render_frame(c, &in, &geom);
	char bottom[4096];
	canvas_row_text(c, c->h - 1, bottom, sizeof(bottom));
	assert_non_null(strstr(bottom, "killed by signal 9 (Killed); final figures shown. q quits."));
	assert_non_null(strstr(bottom, "q quits.  ./long xxx"));
	snprintf(s.command, sizeof(s.command), "%s", command);
	s.ended = false;
	in.notice = "pid 4242 has not loaded the collector";
	render_frame(c, &in, &geom);
	assert_true(has("has not loaded the collector"));
	ui_state_message(&st, "interval 2s");
	render_frame(c, &in, &geom);
	assert_true(has("interval 2s"));
}

static void test_ascii_and_wide(void **state)
{
	c->utf8 = false;
	for (int v = 0; v < VIEW_COUNT; v++) {
		st.view = (enum ui_view)v;
		render_frame(c, &in, &geom);
		for (int y = 0; y < c->h; y++)
			for (int x = 0; x < c->w; x++)
				for (const char *p = canvas_at(c, y, x)->ch; *p; p++)
					assert_true((unsigned char)*p < 0x80);
	}
	c->utf8 = true;
	canvas_resize(c, 200, 60);
	st.view = VIEW_OVERVIEW;
	render_frame(c, &in, &geom);
	assert_int_equal(geom.grid.cols, 7);
	assert_true(lacks("OUTPUT  "));        /* no capture: no pane */
}

int main(void)
{
	setlocale(LC_ALL, "C.UTF-8");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_overview, reset),
		cmocka_unit_test_setup(test_rankings_follow_sort_key, reset),
		cmocka_unit_test_setup(test_patterns, reset),
		cmocka_unit_test_setup(test_system, reset),
		cmocka_unit_test_setup(test_output_pane, reset),
		cmocka_unit_test_setup(test_focus, reset),
		cmocka_unit_test_setup(test_help_small_and_end, reset),
		cmocka_unit_test_setup(test_ascii_and_wide, reset),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
