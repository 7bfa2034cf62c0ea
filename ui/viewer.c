/*
 * viewer.c - the viewer as the watch's interactive sink (see viewer.h).
 *
 * One thread, one poll(): between the watch's updates the viewer sleeps on
 * the terminal's input until the next sample is due, waking at least every
 * TICK_S so that the watch notices the command's end and the pane its new
 * output.  Key handlers only change state and return flags; the frame is
 * redrawn once per wake-up when something changed, and curses sends only
 * the cells that differ, which keeps memtop's own CPU use low.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bottleneck.h"
#include "canvas.h"
#include "format.h"
#include "gpu.h"
#include "html.h"
#include "keymap.h"
#include "render.h"
#include "screen.h"
#include "state.h"
#include "threadlist.h"
#include "viewer.h"

#define TICK_S            0.25   /* longest sleep: the command's end and output show this fast */
#define MESSAGE_S         5.0
#define MAX_FINDINGS      16

struct viewer {
	screen *scr;
	canvas *c;
	struct ui_state st;
	threadlist *list;
	struct render_geom geom;
	gpu *gpu;
	double gpu_percent;
	outpane *out;
	const struct options *opts;
	struct bottleneck findings[MAX_FINDINGS];
	size_t nfindings;
	double message_at;
	char notice[256];
	bool dirty, full;
	struct watch_ui ui;
	/* memtop -- COMMAND: the descriptors the command gets (its input,
	 * /dev/null, and the output file the pane tails) until it started */
	int child_in, child_out;
};

static void setup_ui(viewer *self);

viewer *viewer_new(const struct options *opts, outpane *out, char *err, size_t errlen)
{
	viewer *self = calloc(1, sizeof(*self));
	if (!self) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	self->opts = opts;
	self->out = out;
	self->child_in = self->child_out = -1;
	self->dirty = self->full = true;
	setup_ui(self);
	ui_state_init(&self->st, opts->interval);
	self->list = threadlist_new();
	self->gpu = gpu_new(GPU_NVML_LIBRARY);
	self->gpu_percent = gpu_utilization(self->gpu);
	if (!self->list || !self->gpu) {
		snprintf(err, errlen, "out of memory");
		viewer_free(self);
		return NULL;
	}
	self->scr = screen_new(0, 1, screen_want_colour(getenv("NO_COLOR")), err, errlen);
	if (!self->scr) {
		viewer_free(self);
		return NULL;
	}
	int w, h;
	screen_size(self->scr, &w, &h);
	self->c = canvas_new(w, h, screen_locale_utf8());
	if (!self->c) {
		snprintf(err, errlen, "out of memory");
		viewer_free(self);
		return NULL;
	}
	return self;
}

void viewer_free(viewer *self)
{
	if (!self)
		return;
	screen_free(self->scr);
	canvas_free(self->c);
	threadlist_free(self->list);
	gpu_free(self->gpu);
	/* a command that never started leaves no output file */
	bool started = self->child_out < 0;
	viewer_child_started(self);
	if (self->out) {
		if (!started)
			outpane_remove_if_empty(self->out);
		outpane_free(self->out);
	}
	free(self);
}

static void relist(viewer *self, const struct session *s)
{
	threadlist_build(self->list, s, self->st.sort, self->st.filter);
}

static void draw(viewer *self, const struct session *s, bool full)
{
	self->nfindings = 0;
	if (self->st.focus) {
		long sel = ui_state_selection(&self->st, self->list);
		if (sel >= 0)
			self->nfindings = bottleneck_detect(s, s->threads[self->list->slot[sel]].tid,
							    self->findings, MAX_FINDINGS);
	}
	struct render_input in = {
		.s = s,
		.st = &self->st,
		.list = self->list,
		.out = self->out,
		.gpu_percent = self->gpu_percent,
		.gpu_note = gpu_note(self->gpu),
		.stacks_requested = !self->opts->no_stacks,
		.findings = self->findings,
		.nfindings = self->nfindings,
		.notice = self->notice[0] ? self->notice : NULL,
	};
	render_frame(self->c, &in, &self->geom);
	screen_draw(self->scr, self->c, full);
}

static unsigned on_mouse(viewer *self)
{
	int mx, my;
	screen_mouse(self->scr, &mx, &my);
	if (self->geom.too_small)
		return 0;
	if (my == self->geom.tab_y) {
		for (int v = 0; v < VIEW_COUNT; v++) {
			if (mx >= self->geom.tab_x[v] && mx < self->geom.tab_x[v] + self->geom.tab_w[v]) {
				self->st.view = (enum ui_view)v;
				self->st.focus = false;
				return UI_REDRAW;
			}
		}
		return 0;
	}
	size_t index;
	if (!self->geom.has_grid || self->st.focus ||
	    !grid_hit(&self->geom.grid, self->geom.page, mx, my, &index))
		return 0;
	/* A click on the selected thread opens it, as Enter would. */
	if (self->st.has_sel && self->list->slot[index] == self->st.sel_slot)
		self->st.focus = true;
	ui_state_select(&self->st, self->list, index);
	return UI_REDRAW;
}

/* `e`: the report of the session as it stands, to --export's file or
 * else memtop-PID.html in the current directory; the status line says
 * where, or why not. */
static void export_now(viewer *self, const struct session *s)
{
	char path[64], err[512];
	const char *to = self->opts->export_path;
	if (!to) {
		snprintf(path, sizeof(path), "memtop-%d.html", s->pid);
		to = path;
	}
	if (html_export(s, to, self->opts->force, err, sizeof(err)) == 0)
		ui_state_message(&self->st, "report written to %s", to);
	else
		ui_state_message(&self->st, "%s", err);
}

/* ---------------------------------------------------------------- the watch's sink */

static void on_sample(void *ctx, const struct session *s)
{
	viewer *self = ctx;
	self->gpu_percent = gpu_utilization(self->gpu);
	relist(self, s);
	self->dirty = true;
}

static void on_ended(void *ctx, const struct session *s)
{
	viewer *self = ctx;
	relist(self, s);
	self->dirty = true;
}

static void on_notice(void *ctx, const struct session *s, enum watch_notice kind, const char *msg)
{
	viewer *self = ctx;
	(void)s;
	if (kind == WATCH_NOTICE_CLEAR)
		self->notice[0] = '\0';
	else if (kind == WATCH_NOTICE_OPEN_ERROR)
		snprintf(self->notice, sizeof(self->notice), "%s", msg);
	else
		snprintf(self->notice, sizeof(self->notice), "%.*s: no heap figures",
			 (int)(sizeof(self->notice) - sizeof(": no heap figures")), msg);
	self->dirty = true;
}

static void on_signalled(void *ctx, const struct session *s)
{
	viewer *self = ctx;
	ui_state_message(&self->st, "memtop got a signal and passed it to pid %d; "
			 "leaving when it ends (q leaves now)", s->pid);
	self->dirty = true;
}

/* Until `until`: keep the frame current, read keys and mouse. */
static unsigned on_idle(void *ctx, const struct session *s, double until, struct watch_pace *pace)
{
	viewer *self = ctx;
	double now = watch_now_s();
	unsigned ret = 0;
	if (self->out && outpane_poll(self->out) &&
	    (self->st.view == VIEW_OVERVIEW || self->st.view == VIEW_OUTPUT))
		self->dirty = true;
	if (self->st.message_new) {
		self->st.message_new = false;
		self->message_at = now;
	} else if (self->st.message[0] && now - self->message_at > MESSAGE_S) {
		self->st.message[0] = '\0';
		self->dirty = true;
	}
	if (screen_resized(self->scr)) {
		int w, h;
		screen_size(self->scr, &w, &h);
		canvas_resize(self->c, w, h);
		self->dirty = self->full = true;
	}
	if (self->dirty) {
		draw(self, s, self->full);
		self->dirty = self->full = false;
	}

	double wake = now + TICK_S < until ? now + TICK_S : until;
	int timeout = (int)ceil((wake - watch_now_s()) * 1000);
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	int r = poll(&pfd, 1, timeout > 0 ? timeout : 0);
	if (r > 0 && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)))
		return WATCH_UI_LOST;
	unsigned flags = 0;
	for (int key; (key = screen_key(self->scr)) != UI_KEY_NONE;) {
		struct ui_nav nav = {
			.list = self->list,
			.grid = self->geom.has_grid || self->st.view == VIEW_OUTPUT
				? &self->geom.grid : NULL,
		};
		unsigned f = ui_state_key(&self->st, key, &nav);
		if (f & UI_MOUSE)
			f |= on_mouse(self);
		flags |= f;
		if (flags & UI_QUIT)
			break;
		/* The next key may move within a re-sorted list. */
		if (f & UI_RELIST)
			relist(self, s);
	}
	if (flags & UI_EXPORT)
		export_now(self, s);
	if (flags & UI_QUIT)
		return WATCH_UI_QUIT;
	if (flags & UI_RETIME)
		ret |= WATCH_UI_RETIME;
	if (flags & UI_RESIZE) {
		int w, h;
		screen_resized(self->scr);
		screen_size(self->scr, &w, &h);
		if (w != self->c->w || h != self->c->h)
			canvas_resize(self->c, w, h);
		self->full = true;
	}
	if (flags & (UI_REDRAW | UI_RELIST | UI_RESIZE | UI_EXPORT))
		self->dirty = true;
	pace->interval = self->st.interval;
	pace->paused = self->st.paused;
	return ret;
}

/* The terminal back as it was, before anything goes to standard error. */
static void on_close(void *ctx)
{
	viewer *self = ctx;
	screen_free(self->scr);
	self->scr = NULL;
}

static const char *end_reason(enum watch_end end)
{
	switch (end) {
	case WATCH_DURATION:
		return "--duration";
	case WATCH_SIGNALLED:
		return "a signal";
	case WATCH_TERMINAL_LOST:
		return "the terminal went away";
	default:
		return "q";
	}
}

/* What the session came to, on standard error once the terminal is back:
 * how the command ended (or that it runs on), where its output is. */
static int on_finish(void *ctx, const struct session *s, const struct watch_outcome *o)
{
	viewer *self = ctx;
	const struct watch_target *t = o->target;
	if (!t->launched) {
		if (s->ended)
			format_warn("pid %d %s", s->pid, s->end_description);
		else
			format_warn("stopped watching (%s); pid %d runs on%s", end_reason(o->end),
				s->pid, o->detached ? ", detached" : "");
	} else if (s->ended) {
		format_warn("%s %s", s->command, s->end_description);
		if (!s->collector_seen)
			format_warn("pid %d never loaded the collector: no heap figures "
				"(statically linked or setuid?)", s->pid);
	} else {
		format_warn("stopped watching (%s); pid %d keeps running", end_reason(o->end),
			s->pid);
	}
	char msg[1024];
	if (session_room_message(s, msg, sizeof(msg)))
		format_warn("%s", msg);
	if (!self->out)
		return 0;
	outpane_poll(self->out);
	if (s->ended && outpane_remove_if_empty(self->out))
		format_warn("%s printed nothing", s->command);
	else
		format_warn("the output of %s %s in %s", s->command, s->ended ? "is" : "goes on",
			outpane_path(self->out));
	return 0;
}

static void setup_ui(viewer *self)
{
	struct watch_ui ui = {
		.sink = {
			.ctx = self,
			.sample = on_sample,
			.ended = on_ended,
			.notice = on_notice,
			.signalled = on_signalled,
			.finish = on_finish,
		},
		.idle = on_idle,
		.close = on_close,
	};
	self->ui = ui;
}

struct watch_ui *viewer_ui(viewer *self)
{
	return &self->ui;
}

/* ---------------------------------------------------------------- start-up */

int viewer_preflight(char *err, size_t errlen)
{
	/* LC_CTYPE only: numbers keep the C locale's format. */
	setlocale(LC_CTYPE, "");
	return screen_preflight(STDIN_FILENO, STDOUT_FILENO, RENDER_MIN_W, RENDER_MIN_H, err,
				errlen);
}

viewer *viewer_open(const struct options *opts, bool launched, char *err, size_t errlen)
{
	if (!launched)
		return viewer_new(opts, NULL, err, errlen);
	outpane *out = outpane_new(1000);
	if (!out) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	const char *tmp = getenv("TMPDIR");
	int out_fd = outpane_create(out, tmp && *tmp ? tmp : "/tmp", err, errlen);
	int null_fd = out_fd >= 0 ? open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
	if (out_fd < 0 || null_fd < 0) {
		if (out_fd >= 0) {
			snprintf(err, errlen, "cannot open /dev/null: %s", strerror(errno));
			close(out_fd);
			outpane_remove_if_empty(out);
		}
		outpane_free(out);
		return NULL;
	}
	/* The screen first: the command must find its output redirected and
	 * memtop ready to show it. */
	viewer *self = viewer_new(opts, out, err, errlen);
	if (!self) {
		close(out_fd);
		close(null_fd);
		outpane_remove_if_empty(out);
		outpane_free(out);
		return NULL;
	}
	self->child_in = null_fd;
	self->child_out = out_fd;
	return self;
}

void viewer_child_streams(const viewer *self, int *in_fd, int *out_fd)
{
	*in_fd = self->child_in;
	*out_fd = self->child_out;
}

void viewer_child_started(viewer *self)
{
	if (self->child_in >= 0)
		close(self->child_in);
	if (self->child_out >= 0)
		close(self->child_out);
	self->child_in = self->child_out = -1;
}
