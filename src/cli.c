/*
 * cli.c - memtop's invocations (see cli.h): `memtop report`, and the two
 * that watch a process, `memtop -- COMMAND` (run.h) and `memtop --attach
 * PID` (attach.h).  Both of these prepare their target, then run the one
 * watch loop (watch.h) with their sinks: the batch reports or the viewer,
 * then the --export report, then the trace's metrics.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "attach.h"
#include "batch.h"
#include "cli.h"
#include "format.h"
#include "html.h"
#include "report.h"
#include "run.h"
#include "tracedir.h"
#include "watch.h"

/* Watch target with the sinks opts asks for, the viewer's (v) or the batch
 * reports (b) first; memtop's exit status. */
static int watch(const struct options *opts, struct watch_target *target,
		 const struct memtop_frontend *fe, void *v, struct batch *b)
{
	struct watch w;
	watch_init(&w, opts, target);
	if (v)
		watch_set_ui(&w, fe->ui(v));
	else {
		struct watch_sink k = batch_sink(b);
		watch_add_sink(&w, &k);
	}
	if (opts->export_path) {
		struct watch_sink k = html_export_sink(opts);
		watch_add_sink(&w, &k);
	}
	struct watch_sink k = tracedir_sink();
	watch_add_sink(&w, &k);
	int code = watch_run(&w);
	watch_free(&w);
	return code;
}

static int run_main(const struct options *opts, const struct memtop_frontend *fe)
{
	char err[1200];
	/* Known before the command runs, not after an hour of it. */
	if (opts->export_path && html_export_check(opts->export_path, err, sizeof(err)) != 0) {
		format_warn("%s", err);
		return 1;
	}
	if (tracedir_begin(opts, err, sizeof(err)) != 0) {
		format_warn("%s", err);
		return 1;
	}
	struct batch b;
	void *v = NULL;
	int in_fd = -1, out_fd = -1, code = 1;
	if (opts->batch) {
		if (batch_open(&b, opts, err, sizeof(err)) != 0) {
			format_warn("%s", err);
			goto out;
		}
	} else {
		if (fe->preflight(err, sizeof(err)) != 0 ||
		    !(v = fe->open(opts, true, err, sizeof(err)))) {
			format_warn("%s", err);
			goto out;
		}
		fe->child_streams(v, &in_fd, &out_fd);
	}
	struct watch_target *t = run_launch(opts, in_fd, out_fd, &code);
	if (v)
		fe->child_started(v);
	if (t) {
		code = watch(opts, t, fe, v, &b);
		run_target_free(t);
	} else if (opts->batch) {
		batch_close(&b);
	}
	if (v)
		fe->free(v);
out:
	/* a trace directory of a command that never started is removed */
	tracedir_close();
	return code;
}

static int attach_main(const struct options *opts, const struct memtop_frontend *fe)
{
	char err[1200];
	struct batch b;
	if (opts->batch && batch_open(&b, opts, err, sizeof(err)) != 0) {
		format_warn("%s", err);
		return 1;
	}
	struct watch_target *t = attach_target_new(opts, opts->batch ? NULL : fe->preflight);
	if (!t) {
		if (opts->batch)
			batch_close(&b);
		return 1;
	}
	void *v = NULL;
	int code = 1;
	if (!opts->batch && !(v = fe->open(opts, false, err, sizeof(err)))) {
		/* the terminal passed the checks but curses would not start:
		 * leave the process as it was */
		format_warn("%s", err);
		if (t->ops->leave(t, err, sizeof(err)) < 0)
			format_warn("--attach %d: could not detach cleanly: %s", t->pid, err);
	} else {
		code = watch(opts, t, fe, v, &b);
	}
	attach_target_free(t);
	if (v)
		fe->free(v);
	tracedir_close();
	return code;
}

int memtop_main(int argc, char **argv, const struct memtop_frontend *viewer)
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
	if (!o.batch && !viewer && (o.mode == MEMTOP_RUN || o.mode == MEMTOP_ATTACH)) {
		format_warn("this memtop has no viewer: use --batch");
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
		return attach_main(&o, viewer);
	case MEMTOP_REPORT:
		return report_main(&o);
	case MEMTOP_RUN:
		break;
	}
	return run_main(&o, viewer);
}
