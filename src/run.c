/*
 * run.c - the launch-and-watch loop of `memtop -- COMMAND` and the
 * dispatch of memtop's invocations.
 *
 * Timeline of a session: remove stale segments, spawn the command with the
 * collector preloaded, wait (briefly) for its segment, then every interval
 * tick the collector, give its threads a moment to publish, sample and
 * report.  When the command ends, take a last sample from the segment (it
 * outlives the process: the counters are final, including what atexit
 * handlers and libc's freeres did), report the summary, remove the segment
 * and exit with the command's status.
 *
 * Without --batch the viewer (ui/viewer.c) runs the watch loop instead;
 * run_viewer prepares it: terminal checks before anything starts, the file
 * that receives the command's output, and the report on standard error
 * once the terminal is back.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "batch.h"
#include "format.h"
#include "html.h"
#include "launcher.h"
#include "outpane.h"
#include "render.h"
#include "report.h"
#include "run.h"
#include "screen.h"
#include "session.h"
#include "shmreader.h"
#include "tracedir.h"
#include "viewer.h"

#define PUBLISH_WAIT_S    0.01

double run_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void run_sleep_s(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static FILE *open_output(const char *path, bool force)
{
	char err[1200];
	if (!path || strcmp(path, "-") == 0)
		return stdout;
	int fd = options_open_output(path, "-o", force, err, sizeof(err));
	if (fd < 0) {
		format_warn("%s", err);
		return NULL;
	}
	return fdopen(fd, "w");
}

/* The segment could not grow (/dev/shm full): threads without a slot, or
 * without call stacks; one line on standard error, after the session. */
static void warn_no_room(const struct session *s)
{
	char msg[1024];
	if (session_room_message(s, msg, sizeof(msg)))
		format_warn("%s", msg);
}

/* The --export report of a finished session: 0, or -1 after saying why. */
static int export_report(const struct session *s, const char *path, bool force)
{
	char err[1024];
	if (html_export(s, path, force, err, sizeof(err)) != 0) {
		format_warn("%s", err);
		return -1;
	}
	format_warn("report written to %s", path);
	return 0;
}

/* Wait until `deadline` (monotonic), returning early if the child ends. */
static void wait_until(struct launcher *l, double deadline)
{
	double left = deadline - run_now_s();
	if (left > 0)
		launcher_wait(l, left);
}

static void try_open_segment(struct session *s, bool *warned)
{
	char err[256];
	if (s->seg_open)
		return;
	if (session_open_segment(s, err, sizeof(err)) == 0)
		return;
	if (errno != ENOENT && errno != EAGAIN && !*warned) {
		format_warn("%s", err);
		*warned = true;
	}
}

int run_command(const struct options *opts)
{
	char collector[4096], err[512];
	if (launcher_find_collector(collector, sizeof(collector), err, sizeof(err)) != 0) {
		format_warn("%s", err);
		return 1;
	}
	FILE *out = open_output(opts->output_path, opts->force);
	if (!out)
		return 1;
	shm_cleanup_stale("/dev/shm", "/proc", 0);

	struct launcher l;
	memset(&l, 0, sizeof(l));
	int exit_code = 1;
	/* Before spawning: a SIGTERM in between must not kill memtop alone. */
	launcher_forward_signals(&l);
	char sampling[160];
	if (options_sampling_env(opts, sampling, sizeof(sampling)) == 0)
		setenv(MT_ENV_SAMPLING, sampling, 1);
	if (launcher_spawn(&l, opts->command, collector, &exit_code, err, sizeof(err)) != 0) {
		format_warn("%s", err);
		if (out != stdout)
			fclose(out);
		return exit_code;
	}

	struct session s;
	double start = run_now_s();
	session_init(&s, l.pid, opts->command, "/proc", start);
	s.collector_path = collector;
	struct batch b;
	batch_init(&b, out, opts->json, !opts->no_stacks);
	b.path = opts->output_path;

	bool warned_open = false, warned_missing = false;
	double next = start + opts->interval;
	double stop_at = opts->duration > 0 ? start + opts->duration : INFINITY;
	/* Poll for the segment quickly at first: short commands must be seen. */
	while (!launcher_poll(&l) && !s.seg_open && run_now_s() - start < SESSION_COLLECTOR_GRACE_S &&
	       run_now_s() < stop_at) {
		try_open_segment(&s, &warned_open);
		if (!s.seg_open) {
			session_check_collector(&s);
			launcher_wait(&l, 0.005);
		}
	}
	for (;;) {
		try_open_segment(&s, &warned_open);
		if (!s.seg_open && !warned_missing && !l.ended &&
		    run_now_s() - start >= SESSION_COLLECTOR_GRACE_S) {
			char why[256];
			session_check_collector(&s);
			session_missing_collector(&s, why, sizeof(why));
			format_warn("%s; waiting for it to end", why);
			warned_missing = true;
		}
		double limit = next < stop_at ? next : stop_at;
		wait_until(&l, limit);
		if (l.ended || launcher_poll(&l))
			break;
		if (run_now_s() >= stop_at)
			break;
		session_tick(&s);
		/* time for the threads to publish, cut short by the end */
		launcher_wait(&l, PUBLISH_WAIT_S);
		session_update(&s, run_now_s());
		batch_sample(&b, &s);
		tracedir_sample(&s);
		next += opts->interval;
		if (next < run_now_s())
			next = run_now_s() + opts->interval;
	}

	if (l.ended) {
		char desc[128];
		launcher_describe(&l, desc, sizeof(desc));
		try_open_segment(&s, &warned_open);
		session_set_ended(&s, launcher_exit_code(&l), desc);
		exit_code = launcher_exit_code(&l);
		if (!s.collector_seen && s.collector_mapped)
			format_warn("pid %d %s: no heap figures, the collector could not set "
				"up its shared memory (its own message says why)", l.pid, desc);
		else if (!s.collector_seen)
			/* a process gone within milliseconds may have had it
			 * mapped before memtop looked */
			format_warn("pid %d %s without publishing heap figures: it did not load "
				"the collector (statically linked or setuid?), or the collector "
				"could not set up (then its own message is above)", l.pid, desc);
	} else {
		/* --duration: stop watching, leave the command running. */
		exit_code = 0;
	}
	session_finish(&s, run_now_s());
	batch_summary(&b, &s);
	warn_no_room(&s);
	bool export_failed = opts->export_path && export_report(&s, opts->export_path, opts->force) != 0;
	tracedir_finish(&s);
	if (l.ended)
		session_release_segment(&s);
	shm_cleanup_stale("/dev/shm", "/proc", getpid());
	session_free(&s);
	if (out != stdout && fclose(out) != 0 && !b.failed) {
		format_warn("writing %s failed: %s", opts->output_path, strerror(errno));
		b.failed = true;
	}
	/* The command's own status comes first; a lost report is a failure
	 * of memtop's only when the command succeeded. */
	if (b.failed && exit_code == 0)
		exit_code = 1;
	if (export_failed && exit_code == 0)
		exit_code = 1;
	return exit_code;
}

/* The viewer's report once the terminal is restored: how the command
 * ended, where its output is. */
static void viewer_report(const struct launcher *l, const struct session *s, outpane *out,
			  enum viewer_end end)
{
	if (l->ended) {
		char desc[128];
		format_warn("%s %s", s->command, launcher_describe(l, desc, sizeof(desc)));
		if (!s->collector_seen)
			format_warn("pid %d never loaded the collector: no heap figures "
				"(statically linked or setuid?)", l->pid);
		warn_no_room(s);
	} else {
		format_warn("stopped watching (%s); pid %d keeps running",
			end == VIEWER_DURATION ? "--duration" :
			end == VIEWER_TERMINAL_LOST ? "the terminal went away" : "q", l->pid);
		warn_no_room(s);
	}
	outpane_poll(out);
	if (l->ended && outpane_remove_if_empty(out))
		format_warn("%s printed nothing", s->command);
	else
		format_warn("the output of %s %s in %s", s->command,
			l->ended ? "is" : "goes on", outpane_path(out));
}

static int run_viewer(const struct options *opts)
{
	char collector[4096], err[512];
	if (launcher_find_collector(collector, sizeof(collector), err, sizeof(err)) != 0) {
		format_warn("%s", err);
		return 1;
	}
	/* LC_CTYPE only: numbers keep the C locale's format. */
	setlocale(LC_CTYPE, "");
	if (screen_preflight(STDIN_FILENO, STDOUT_FILENO, RENDER_MIN_W, RENDER_MIN_H, err,
			     sizeof(err)) != 0) {
		format_warn("%s", err);
		return 1;
	}
	outpane *out = outpane_new(1000);
	if (!out) {
		format_warn("out of memory");
		return 1;
	}
	const char *tmp = getenv("TMPDIR");
	int out_fd = outpane_create(out, tmp && *tmp ? tmp : "/tmp", err, sizeof(err));
	int null_fd = out_fd >= 0 ? open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
	if (out_fd < 0 || null_fd < 0) {
		format_warn("%s", out_fd < 0 ? err : "cannot open /dev/null");
		if (out_fd >= 0) {
			close(out_fd);
			outpane_remove_if_empty(out);
		}
		outpane_free(out);
		return 1;
	}
	shm_cleanup_stale("/dev/shm", "/proc", 0);

	/* The screen first: the command must find its output redirected and
	 * memtop ready to show it. */
	viewer *v = viewer_new(opts, out, err, sizeof(err));
	if (!v) {
		format_warn("%s", err);
		close(out_fd);
		close(null_fd);
		outpane_remove_if_empty(out);
		outpane_free(out);
		return 1;
	}
	struct launcher l;
	memset(&l, 0, sizeof(l));
	int exit_code = 1;
	launcher_forward_signals(&l);
	char sampling[160];
	if (options_sampling_env(opts, sampling, sizeof(sampling)) == 0)
		setenv(MT_ENV_SAMPLING, sampling, 1);
	launcher_redirect(&l, null_fd, out_fd);
	int spawned = launcher_spawn(&l, opts->command, collector, &exit_code, err, sizeof(err));
	close(out_fd);
	close(null_fd);
	if (spawned != 0) {
		viewer_free(v);
		format_warn("%s", err);
		outpane_remove_if_empty(out);
		outpane_free(out);
		return exit_code;
	}

	struct session s;
	double start = run_now_s();
	session_init(&s, l.pid, opts->command, "/proc", start);
	s.collector_path = collector;
	enum viewer_end end = viewer_run(v, &l, &s, start);
	viewer_free(v);
	viewer_report(&l, &s, out, end);
	bool export_failed = false;
	if (opts->export_path) {
		/* After q or --duration the last figures become whole-session
		 * averages, as --batch's summary has them. */
		if (!s.final)
			session_finish(&s, run_now_s());
		export_failed = export_report(&s, opts->export_path, opts->force) != 0;
	}
	/* --duration and q leave a running command running, as --batch does. */
	exit_code = l.ended ? launcher_exit_code(&l) : 0;
	if (export_failed && exit_code == 0)
		exit_code = 1;
	tracedir_finish(&s);
	shm_cleanup_stale("/dev/shm", "/proc", getpid());
	session_free(&s);
	outpane_free(out);
	return exit_code;
}

int memtop_main(int argc, char **argv)
{
	struct options o;
	char err[512];
	options_init(&o);
	if (options_parse(&o, argc, argv, err, sizeof(err)) != 0) {
		format_warn("%s", err);
		return 2;
	}
	if ((o.mode == MEMTOP_RUN || o.mode == MEMTOP_ATTACH || o.mode == MEMTOP_REPORT) &&
	    options_check_outputs(&o, err, sizeof(err)) != 0) {
		format_warn("%s", err);
		return 1;
	}
	switch (o.mode) {
	case MEMTOP_HELP:
		options_print_usage(stdout);
		return 0;
	case MEMTOP_VERSION:
		printf("memtop %s\n", PACKAGE_VERSION);
		return 0;
	case MEMTOP_ATTACH:
		return attach_main(&o);
	case MEMTOP_REPORT:
		return report_main(&o);
	case MEMTOP_RUN:
		break;
	}
	/* Known before the command runs, not after an hour of it. */
	if (o.export_path && html_export_check(o.export_path, err, sizeof(err)) != 0) {
		format_warn("%s", err);
		return 1;
	}
	if (tracedir_begin(&o, err, sizeof(err)) != 0) {
		format_warn("%s", err);
		return 1;
	}
	int code = o.batch ? run_command(&o) : run_viewer(&o);
	/* a trace directory of a command that never started is removed */
	tracedir_close();
	return code;
}
