/*
 * viewer.c - the viewer's main loop (see viewer.h).
 *
 * One thread, one poll(): the loop sleeps on the terminal's input until the
 * next sample is due, waking at least every TICK_S to notice the command's
 * end and new output.  Key handlers only change state and return flags;
 * the frame is redrawn once per wake-up when something changed, and curses
 * sends only the cells that differ, which keeps memtop's own CPU use low.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bottleneck.h"
#include "canvas.h"
#include "gpu.h"
#include "html.h"
#include "keymap.h"
#include "render.h"
#include "screen.h"
#include "state.h"
#include "threadlist.h"
#include "viewer.h"

#define TICK_S            0.25   /* longest sleep: the command's end and output show this fast */
#define PUBLISH_WAIT_S    0.01   /* as in batch mode: let the threads publish */
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
	const struct viewer_attach *attach;  /* memtop --attach, else NULL */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

viewer *viewer_new(const struct options *opts, outpane *out, char *err, size_t errlen)
{
	viewer *self = calloc(1, sizeof(*self));
	if (!self) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	self->opts = opts;
	self->out = out;
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

static void finish_session(viewer *self, struct launcher *l, struct session *s)
{
	char desc[128], err[256];
	if (self->attach)
		snprintf(desc, sizeof(desc), "ended (its exit status goes to its parent)");
	else
		launcher_describe(l, desc, sizeof(desc));
	if (!s->seg_open)
		session_open_segment(s, err, sizeof(err));
	session_set_ended(s, self->attach ? -1 : launcher_exit_code(l), desc);
	session_finish(s, now_s());
	session_release_segment(s);
}

static void try_open(viewer *self, struct session *s, double start, bool *warned)
{
	char err[256];
	if (s->seg_open)
		return;
	if (session_open_segment(s, err, sizeof(err)) == 0) {
		self->notice[0] = '\0';
		return;
	}
	if (errno != ENOENT && errno != EAGAIN && !*warned) {
		snprintf(self->notice, sizeof(self->notice), "%s", err);
		*warned = true;
	} else {
		session_check_collector(s);
		if (*warned || now_s() - start < SESSION_COLLECTOR_GRACE_S)
			return;
		char why[sizeof(self->notice) - sizeof(": no heap figures")];
		session_missing_collector(s, why, sizeof(why));
		snprintf(self->notice, sizeof(self->notice), "%s: no heap figures", why);
		*warned = true;
	}
}

static bool target_ended(viewer *self, struct launcher *l)
{
	return self->attach ? self->attach->ended(self->attach->ctx) : launcher_poll(l);
}

static unsigned signal_count(viewer *self)
{
	return self->attach ? self->attach->stop_signals(self->attach->ctx)
			    : launcher_signal_count();
}

enum viewer_end viewer_run_attached(viewer *self, const struct viewer_attach *a,
				    struct session *s, double start_s)
{
	self->attach = a;
	enum viewer_end end = viewer_run(self, NULL, s, start_s);
	self->attach = NULL;
	return end;
}

enum viewer_end viewer_run(viewer *self, struct launcher *l, struct session *s, double start_s)
{
	double next = start_s + self->st.interval;
	double stop_at = self->opts->duration > 0 ? start_s + self->opts->duration : INFINITY;
	unsigned signals_seen = signal_count(self);
	bool signalled = false, warned = false, dirty = true, full = true;
	enum viewer_end end = VIEWER_QUIT;

	for (;;) {
		double now = now_s();
		if (!s->ended && target_ended(self, l)) {
			finish_session(self, l, s);
			relist(self, s);
			dirty = true;
		}
		if (signal_count(self) != signals_seen) {
			signals_seen = signal_count(self);
			signalled = true;
			if (!s->ended && !self->attach)
				ui_state_message(&self->st, "memtop got a signal and passed it to pid %d; "
						 "leaving when it ends (q leaves now)", s->pid);
			dirty = true;
		}
		/* an attached process is not memtop's to stop: leave it now */
		if (signalled && (s->ended || self->attach)) {
			end = VIEWER_SIGNALLED;
			break;
		}
		if (now >= stop_at) {
			end = VIEWER_DURATION;
			break;
		}
		if (!s->ended) {
			try_open(self, s, start_s, &warned);
			if (!self->st.paused && now >= next) {
				session_tick(s);
				sleep_s(PUBLISH_WAIT_S);
				session_update(s, now_s());
				self->gpu_percent = gpu_utilization(self->gpu);
				relist(self, s);
				next += self->st.interval;
				if (next < now_s())
					next = now_s() + self->st.interval;
				dirty = true;
			}
		}
		if (self->out && outpane_poll(self->out) &&
		    (self->st.view == VIEW_OVERVIEW || self->st.view == VIEW_OUTPUT))
			dirty = true;
		if (self->st.message_new) {
			self->st.message_new = false;
			self->message_at = now;
		} else if (self->st.message[0] && now - self->message_at > MESSAGE_S) {
			self->st.message[0] = '\0';
			dirty = true;
		}
		if (screen_resized(self->scr)) {
			int w, h;
			screen_size(self->scr, &w, &h);
			canvas_resize(self->c, w, h);
			dirty = full = true;
		}
		if (dirty) {
			draw(self, s, full);
			dirty = full = false;
		}

		double wake = now_s() + TICK_S;
		if (!s->ended && !self->st.paused && next < wake)
			wake = next;
		if (stop_at < wake)
			wake = stop_at;
		int timeout = (int)ceil((wake - now_s()) * 1000);
		struct pollfd pfd = { .fd = 0, .events = POLLIN };
		int r = poll(&pfd, 1, timeout > 0 ? timeout : 0);
		if (r > 0 && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))) {
			end = VIEWER_TERMINAL_LOST;
			break;
		}
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
		if (flags & UI_QUIT) {
			end = VIEWER_QUIT;
			break;
		}
		if (flags & UI_RETIME)
			next = now_s() + self->st.interval;
		if (flags & UI_RESIZE) {
			int w, h;
			screen_resized(self->scr);
			screen_size(self->scr, &w, &h);
			if (w != self->c->w || h != self->c->h)
				canvas_resize(self->c, w, h);
			full = true;
		}
		if (flags & (UI_REDRAW | UI_RELIST | UI_RESIZE))
			dirty = true;
	}
	return end;
}
