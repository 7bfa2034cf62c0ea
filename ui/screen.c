/*
 * screen.c - curses behind screen.h: terminal checks, start/stop, canvas
 * blitting, keys, mouse, resize, and terminal restoration on exit paths.
 *
 * Restoration: the screen registers itself while curses is active; an
 * atexit handler and handlers for the fatal signals (SIGSEGV, SIGBUS,
 * SIGFPE, SIGILL, SIGABRT, SIGSYS, SIGTRAP) call endwin() and then hand the
 * signal to whatever handled it before (the default: a core dump), so a
 * crash never leaves the user's terminal in raw mode on the alternate
 * screen.  SIGINT, SIGTERM, SIGHUP and SIGQUIT belong to the launcher (they
 * are passed to the command, and the viewer leaves through its normal path
 * when the command has ended), so memtop still exits with the command's
 * status.  SIGTSTP is ncurses' own: it leaves and re-enters curses mode.
 */
#include "config.h"

#include <errno.h>
#include <langinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "curses_compat.h"
#include "keymap.h"
#include "screen.h"

struct screen {
	SCREEN *sp;
	FILE *in, *out;
	int out_fd;
	bool colour;
	bool active;
	int w, h;
	int mx, my;
	attr_t attr[STYLE_COUNT];
	char *row;               /* one row's bytes for addnstr */
	size_t rowcap;
};

static struct screen *volatile active_screen;
static volatile sig_atomic_t winch_seen;
static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS, SIGTRAP };
#define NFATAL (sizeof(fatal_signals) / sizeof(*fatal_signals))
static struct sigaction fatal_prev[NFATAL];
static bool handlers_installed;

static void restore_terminal(void)
{
	struct screen *s = active_screen;
	if (s && s->active) {
		s->active = false;
		endwin();
	}
}

static void on_fatal(int sig)
{
	restore_terminal();
	for (size_t i = 0; i < NFATAL; i++)
		if (fatal_signals[i] == sig)
			sigaction(sig, &fatal_prev[i], NULL);
	raise(sig);
}

static void on_winch(int sig)
{
	(void)sig;
	winch_seen = 1;
}

static void install_handlers(void)
{
	if (handlers_installed)
		return;
	handlers_installed = true;
	atexit(restore_terminal);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_fatal;
	sa.sa_flags = SA_NODEFER;
	for (size_t i = 0; i < NFATAL; i++)
		sigaction(fatal_signals[i], &sa, &fatal_prev[i]);
	sa.sa_handler = on_winch;
	sa.sa_flags = 0;      /* no SA_RESTART: the main loop's poll() wakes up */
	sigaction(SIGWINCH, &sa, NULL);
}

bool screen_want_colour(const char *no_color)
{
	return !(no_color && *no_color);
}

bool screen_locale_utf8(void)
{
	const char *cs = nl_langinfo(CODESET);
	return cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}

static bool window_size(int fd, int *w, int *h)
{
	struct winsize ws;
	if (ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0 || ws.ws_row == 0)
		return false;
	*w = ws.ws_col;
	*h = ws.ws_row;
	return true;
}

int screen_preflight(int in_fd, int out_fd, int min_w, int min_h, char *err, size_t errlen)
{
	if (!isatty(in_fd) || !isatty(out_fd)) {
		snprintf(err, errlen, "the viewer needs a terminal (standard %s is not one); "
			 "use --batch for a text report", !isatty(in_fd) ? "input" : "output");
		return -1;
	}
	const char *term = getenv("TERM");
	int errret = 0;
	if (!term || !*term || setupterm(NULL, out_fd, &errret) != OK) {
		snprintf(err, errlen, "the viewer cannot drive this terminal (TERM=%s is %s); "
			 "set TERM to your terminal's type or use --batch",
			 term && *term ? term : "", !term || !*term ? "not set" :
			 errret == 1 ? "a hardcopy terminal" : "unknown to terminfo");
		return -1;
	}
	const char *cup = tigetstr("cup");
	bool addressable = cup && cup != (const char *)-1;
	del_curterm(cur_term);
	if (!addressable) {
		snprintf(err, errlen, "the viewer needs cursor addressing, which TERM=%s lacks; "
			 "use --batch", term);
		return -1;
	}
	int w, h;
	if (window_size(out_fd, &w, &h) && (w < min_w || h < min_h)) {
		snprintf(err, errlen, "the terminal is %dx%d; the viewer needs at least %dx%d: "
			 "enlarge it, or use --batch", w, h, min_w, min_h);
		return -1;
	}
	return 0;
}

static void setup_styles(struct screen *self)
{
	attr_t mono[STYLE_COUNT] = {
		[STYLE_NORMAL] = A_NORMAL, [STYLE_TITLE] = A_REVERSE | A_BOLD,
		[STYLE_TAB] = A_NORMAL, [STYLE_TAB_ACTIVE] = A_REVERSE | A_BOLD,
		[STYLE_HEADER] = A_BOLD, [STYLE_LABEL] = A_NORMAL, [STYLE_VALUE] = A_BOLD,
		[STYLE_OK] = A_NORMAL, [STYLE_WARN] = A_BOLD, [STYLE_CRIT] = A_BOLD | A_UNDERLINE,
		[STYLE_DIM] = A_DIM, [STYLE_SELECTED] = A_REVERSE, [STYLE_STATUS] = A_NORMAL,
		[STYLE_MESSAGE] = A_BOLD, [STYLE_SPARK] = A_NORMAL, [STYLE_KEY] = A_REVERSE,
	};
	memcpy(self->attr, mono, sizeof(mono));
	if (!self->colour || !has_colors() || start_color() != OK) {
		self->colour = false;
		return;
	}
	use_default_colors();
	static const struct {
		int style;
		short fg, bg;
		attr_t extra;
	} pairs[] = {
		{ STYLE_TITLE, COLOR_BLACK, COLOR_CYAN, A_BOLD },
		{ STYLE_TAB_ACTIVE, COLOR_BLACK, COLOR_CYAN, A_BOLD },
		{ STYLE_HEADER, COLOR_CYAN, -1, A_BOLD },
		{ STYLE_LABEL, COLOR_CYAN, -1, A_NORMAL },
		{ STYLE_OK, COLOR_GREEN, -1, A_NORMAL },
		{ STYLE_WARN, COLOR_YELLOW, -1, A_BOLD },
		{ STYLE_CRIT, COLOR_RED, -1, A_BOLD },
		{ STYLE_MESSAGE, COLOR_YELLOW, -1, A_BOLD },
		{ STYLE_SPARK, COLOR_GREEN, -1, A_NORMAL },
		{ STYLE_KEY, COLOR_BLACK, COLOR_CYAN, A_NORMAL },
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(*pairs); i++) {
		short pair = (short)(i + 1);
		if (init_pair(pair, pairs[i].fg, pairs[i].bg) == OK)
			self->attr[pairs[i].style] = COLOR_PAIR(pair) | pairs[i].extra;
	}
}

screen *screen_new(int in_fd, int out_fd, bool colour, char *err, size_t errlen)
{
	struct screen *self = calloc(1, sizeof(*self));
	if (!self) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	int din = dup(in_fd), dout = dup(out_fd);
	self->in = din >= 0 ? fdopen(din, "r") : NULL;
	self->out = dout >= 0 ? fdopen(dout, "w") : NULL;
	if (!self->in || !self->out) {
		snprintf(err, errlen, "cannot open the terminal: %s", strerror(errno));
		if (self->in)
			fclose(self->in);
		else if (din >= 0)
			close(din);
		if (self->out)
			fclose(self->out);
		else if (dout >= 0)
			close(dout);
		free(self);
		return NULL;
	}
	self->out_fd = dout;
	install_handlers();
	self->sp = newterm(NULL, self->out, self->in);
	if (!self->sp) {
		snprintf(err, errlen, "cannot start curses on this terminal (TERM=%s); use --batch",
			 getenv("TERM") ? getenv("TERM") : "");
		fclose(self->in);
		fclose(self->out);
		free(self);
		return NULL;
	}
	set_term(self->sp);
	self->active = true;
	active_screen = self;
	self->colour = colour;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
	mouseinterval(0);
	setup_styles(self);
	getmaxyx(stdscr, self->h, self->w);
	return self;
}

void screen_free(screen *self)
{
	if (!self)
		return;
	if (self->active) {
		self->active = false;
		endwin();
	}
	if (active_screen == self)
		active_screen = NULL;
	delscreen(self->sp);
	fclose(self->in);
	fclose(self->out);
	free(self->row);
	free(self);
}

void screen_size(const screen *self, int *w, int *h)
{
	*w = self->w;
	*h = self->h;
}

bool screen_colour(const screen *self)
{
	return self->colour;
}

bool screen_resized(screen *self)
{
	if (!winch_seen)
		return false;
	winch_seen = 0;
	int w, h;
	if (!window_size(self->out_fd, &w, &h))
		return false;
	if (w == self->w && h == self->h)
		return false;
	resizeterm(h, w);
	self->w = w;
	self->h = h;
	return true;
}

static void flush_run(struct screen *self, size_t *n, int style)
{
	if (!*n)
		return;
	attrset(self->attr[style]);
	addnstr(self->row, (int)*n);
	*n = 0;
}

void screen_draw(screen *self, const canvas *c, bool full)
{
	size_t need = (size_t)c->w * CANVAS_CELL_BYTES + 1;
	if (need > self->rowcap) {
		char *r = realloc(self->row, need);
		if (!r)
			return;
		self->row = r;
		self->rowcap = need;
	}
	if (full)
		clearok(curscr, TRUE);
	int rows = c->h < self->h ? c->h : self->h, cols = c->w < self->w ? c->w : self->w;
	for (int y = 0; y < rows; y++) {
		size_t n = 0;
		int style = -1;
		move(y, 0);
		for (int x = 0; x < cols; x++) {
			const struct canvas_cell *cell = canvas_at(c, y, x);
			if (cell->width == 0)
				continue;
			if (cell->width == 2 && x + 1 >= cols)
				break;
			if (cell->style != style) {
				flush_run(self, &n, style < 0 ? STYLE_NORMAL : style);
				style = cell->style;
			}
			size_t m = strlen(cell->ch);
			memcpy(self->row + n, cell->ch, m);
			n += m;
		}
		flush_run(self, &n, style < 0 ? STYLE_NORMAL : style);
	}
	attrset(A_NORMAL);
	wnoutrefresh(stdscr);
	doupdate();
}

static int translate(int code)
{
	switch (code) {
	case KEY_UP: return UI_KEY_UP;
	case KEY_DOWN: return UI_KEY_DOWN;
	case KEY_LEFT: return UI_KEY_LEFT;
	case KEY_RIGHT: return UI_KEY_RIGHT;
	case KEY_PPAGE: return UI_KEY_PPAGE;
	case KEY_NPAGE: return UI_KEY_NPAGE;
	case KEY_HOME: return UI_KEY_HOME;
	case KEY_END: return UI_KEY_END;
	case KEY_ENTER: return UI_KEY_ENTER;
	case KEY_BACKSPACE: return UI_KEY_BACKSPACE;
	case KEY_BTAB: return UI_KEY_BTAB;
	case KEY_RESIZE: return UI_KEY_RESIZE;
	case KEY_F(1): return UI_KEY_F1;
	default: return UI_KEY_NONE;
	}
}

int screen_key(screen *self)
{
	for (;;) {
		wint_t ch;
		int r = get_wch(&ch);
		if (r == ERR)
			return UI_KEY_NONE;
		if (r == OK)
			return (int)ch;
		if (ch != KEY_MOUSE) {
			int k = translate((int)ch);
			if (k != UI_KEY_NONE)
				return k;
			continue;        /* a key memtop does not use */
		}
		MEVENT ev;
		if (getmouse(&ev) != OK)
			continue;
		if (ev.bstate & BUTTON4_PRESSED)
			return UI_KEY_UP;
		if (ev.bstate & BUTTON5_PRESSED)
			return UI_KEY_DOWN;
		if (ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)) {
			self->mx = ev.x;
			self->my = ev.y;
			return UI_KEY_MOUSE;
		}
	}
}

void screen_mouse(const screen *self, int *x, int *y)
{
	*x = self->mx;
	*y = self->my;
}
