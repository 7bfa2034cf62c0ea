/*
 * options.c - parse memtop's command line with getopt_long: option values
 * checked strictly (whole string, range), invocation rules checked after
 * the scan, and one-line messages that name what is wrong.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "options.h"
#include "shm_layout.h"

#define DEFAULT_INTERVAL             1.0
#define DEFAULT_SAMPLE_SMALL         0.01
#define DEFAULT_SAMPLE_MEDIUM        0.5
#define DEFAULT_SAMPLE_LARGE         1.0
#define DEFAULT_MEDIUM_THRESHOLD     2048
#define DEFAULT_LARGE_THRESHOLD      65536
#define DEFAULT_FREQUENCY_THRESHOLD  10

#define STR_(x) #x
#define STR(x) STR_(x)

/* Values of the long-only options, above every short option character. */
enum {
	OPT_JSON = 256,
	OPT_DURATION,
	OPT_SAMPLE_SMALL,
	OPT_SAMPLE_MEDIUM,
	OPT_SAMPLE_LARGE,
	OPT_MEDIUM_THRESHOLD,
	OPT_LARGE_THRESHOLD,
	OPT_FREQUENCY_THRESHOLD,
	OPT_NO_STACKS,
	OPT_STACK_DEPTH,
	OPT_COLLAPSED,
	OPT_PPROF,
	OPT_ATTACH,
	OPT_OVERWRITE_TRACE,
	OPT_FORCE,
};

static const struct option long_options[] = {
	{ "export",              required_argument, NULL, 'e' },
	{ "trace",               required_argument, NULL, 't' },
	{ "batch",               no_argument,       NULL, 'b' },
	{ "json",                no_argument,       NULL, OPT_JSON },
	{ "output",              required_argument, NULL, 'o' },
	{ "interval",            required_argument, NULL, 'd' },
	{ "duration",            required_argument, NULL, OPT_DURATION },
	{ "sample-small",        required_argument, NULL, OPT_SAMPLE_SMALL },
	{ "sample-medium",       required_argument, NULL, OPT_SAMPLE_MEDIUM },
	{ "sample-large",        required_argument, NULL, OPT_SAMPLE_LARGE },
	{ "medium-threshold",    required_argument, NULL, OPT_MEDIUM_THRESHOLD },
	{ "large-threshold",     required_argument, NULL, OPT_LARGE_THRESHOLD },
	{ "frequency-threshold", required_argument, NULL, OPT_FREQUENCY_THRESHOLD },
	{ "no-stacks",           no_argument,       NULL, OPT_NO_STACKS },
	{ "stack-depth",         required_argument, NULL, OPT_STACK_DEPTH },
	{ "collapsed",           required_argument, NULL, OPT_COLLAPSED },
	{ "pprof",               required_argument, NULL, OPT_PPROF },
	{ "attach",              required_argument, NULL, OPT_ATTACH },
	{ "overwrite-trace",     no_argument,       NULL, OPT_OVERWRITE_TRACE },
	{ "force",               no_argument,       NULL, OPT_FORCE },
	{ "help",                no_argument,       NULL, 'h' },
	{ "version",             no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/*
 * '-' returns every non-option as option 1 instead of permuting argv, so the
 * scan sees where COMMAND starts (options after it are COMMAND's own, as
 * with '+') and can still read options after "report TRACE_DIR".
 * ':' reports a missing argument as ':' rather than '?'.
 */
static const char short_options[] = "-:e:t:bo:d:hV";

void options_init(struct options *self)
{
	memset(self, 0, sizeof *self);
	self->mode = MEMTOP_RUN;
	self->interval = DEFAULT_INTERVAL;
	self->sample_small = DEFAULT_SAMPLE_SMALL;
	self->sample_medium = DEFAULT_SAMPLE_MEDIUM;
	self->sample_large = DEFAULT_SAMPLE_LARGE;
	self->medium_threshold = DEFAULT_MEDIUM_THRESHOLD;
	self->large_threshold = DEFAULT_LARGE_THRESHOLD;
	self->frequency_threshold = DEFAULT_FREQUENCY_THRESHOLD;
	self->stack_depth = OPTIONS_STACK_DEPTH_MAX;
}

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* The long name of an option value: messages always use it, whichever
 * spelling (short, abbreviated) was typed. */
static const char *long_name(int val)
{
	for (const struct option *o = long_options; o->name; o++)
		if (o->val == val)
			return o->name;
	return "?";
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* The spelling of a decimal number: digits with an optional fraction and
 * exponent, or "inf"/"infinity" (any case), with an optional leading '-'
 * so that a negative value is reported as out of range.  strtod alone
 * would also take hexadecimal ("0x10", "0x1p3"), a leading '+' and
 * "nan(...)": no option means anything by them. */
static bool decimal_spelling(const char *s)
{
	if (*s == '-')
		s++;
	if (strcasecmp(s, "inf") == 0 || strcasecmp(s, "infinity") == 0)
		return true;
	size_t digits = 0;
	while (isdigit((unsigned char)*s)) {
		s++;
		digits++;
	}
	if (*s == '.')
		for (s++; isdigit((unsigned char)*s); s++)
			digits++;
	if (digits == 0)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return *s == '\0';
}

enum parsed { PARSED_OK, PARSED_NOT_A_NUMBER, PARSED_UNDERFLOW };

/* A decimal number that is the whole string; "0.5" must mean the same
 * whatever locale main() has set.  A value too small for a double
 * ("1e-400") is not taken for 0 (nor for a denormal): whoever typed it did
 * not mean 0.  Infinities and out-of-range values are left to the range
 * checks. */
static enum parsed parse_double(const char *s, double *out)
{
	locale_t old = (locale_t)0;
	char *end;
	double v;

	if (!decimal_spelling(s))
		return PARSED_NOT_A_NUMBER;
	pthread_once(&c_locale_once, c_locale_init);
	if (c_locale)
		old = uselocale(c_locale);
	errno = 0;
	v = strtod(s, &end);
	int e = errno;
	if (c_locale)
		uselocale(old);
	if (*end != '\0' || isnan(v))
		return PARSED_NOT_A_NUMBER;
	if (e == ERANGE && fabs(v) < DBL_MIN)
		return PARSED_UNDERFLOW;
	*out = v;
	return PARSED_OK;
}

/* The message for a value parse_double refused: what it is not, or that it
 * is too small to tell from 0. */
static int bad_number(char *err, size_t errlen, int val, const char *arg, enum parsed why,
		      const char *not_what)
{
	if (why == PARSED_UNDERFLOW)
		return fail(err, errlen, "--%s: '%s' is too small to tell from 0",
			    long_name(val), arg);
	return fail(err, errlen, "--%s: '%s' is not %s", long_name(val), arg, not_what);
}

/* Digits only: strtoull would accept a sign (and wrap "-1" around) and
 * leading blanks. */
static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || errno == ERANGE)
		return false;
	*out = v;
	return true;
}

/* "-" is standard output for the text outputs (-o, --collapsed); the HTML
 * report, the pprof profile and the trace directory are files that memtop
 * writes beside or into, so there it would only make a file called "-",
 * which whoever wants one can name "./-". */
static int set_path(const char **dst, int val, const char *arg, char *err, size_t errlen)
{
	if (*arg == '\0')
		return fail(err, errlen, "--%s: the name is empty", long_name(val));
	if (strcmp(arg, "-") == 0 && val != 'o' && val != OPT_COLLAPSED)
		return fail(err, errlen, "--%s: '-' (standard output) is not possible here: "
			    "name a %s (./- for one called -)", long_name(val),
			    val == 't' ? "directory" : "file");
	*dst = arg;
	return 0;
}

static int set_rate(double *dst, int val, const char *arg, char *err, size_t errlen)
{
	double v = -1.0;
	enum parsed p = parse_double(arg, &v);

	if (p != PARSED_OK || !(v >= 0.0 && v <= 1.0))
		return bad_number(err, errlen, val, arg, p, "a rate from 0 to 1");
	if (v > 0 && v < MT_RATE_MIN)
		return fail(err, errlen, "--%s: '%s' is below the smallest rate, %g "
			    "(0 turns the tier off)", long_name(val), arg, MT_RATE_MIN);
	*dst = v;
	return 0;
}

static int set_bytes(uint64_t *dst, int val, const char *arg, char *err, size_t errlen)
{
	if (!parse_u64(arg, dst))
		return fail(err, errlen, "--%s: '%s' is not a number of bytes",
			    long_name(val), arg);
	return 0;
}

/* Explains an option getopt refused; at is the argv element it was at. */
static int unknown_option(int argc, char **argv, int at, char *err, size_t errlen)
{
	const char *elem = at < argc ? argv[at] : "";

	if (strncmp(elem, "--", 2) != 0)
		return fail(err, errlen, "unknown option '-%c'", optopt);

	const char *name = elem + 2;
	size_t n = strcspn(name, "=");
	const struct option *match = NULL;
	char list[256] = "";
	size_t used = 0;
	int matches = 0;

	/* getopt_long matched exactly, or by an unambiguous prefix, when the
	 * only problem was a value given to an option that takes none. */
	for (const struct option *o = long_options; o->name; o++) {
		if (strncmp(o->name, name, n) != 0)
			continue;
		if (o->name[n] == '\0') {
			match = o;
			matches = 1;
			break;
		}
		match = o;
		matches++;
		int w = snprintf(list + used, sizeof list - used, "%s--%s",
				 used ? ", " : "", o->name);
		if (w > 0 && (size_t)w < sizeof list - used)
			used += (size_t)w;
	}
	if (matches > 1)
		return fail(err, errlen, "option '--%.*s' is ambiguous: %s", (int)n, name, list);
	if (matches == 1 && match->has_arg == no_argument && name[n] == '=')
		return fail(err, errlen, "option '--%s' does not take a value", match->name);
	return fail(err, errlen, "unknown option '--%.*s'", (int)n, name);
}

/* One non-option argument: in report mode a TRACE_DIR, otherwise "report"
 * or the start of COMMAND.  Returns 1 when COMMAND starts here. */
static int take_argument(struct options *self, int argc, char **argv, int index,
			 char *err, size_t errlen)
{
	const char *arg = argv[index];

	if (self->mode == MEMTOP_REPORT) {
		if (self->report_dir)
			return fail(err, errlen,
				    "report: unexpected argument '%s' (TRACE_DIR is '%s')",
				    arg, self->report_dir);
		self->report_dir = arg;
		return 0;
	}
	if (strcmp(arg, "report") == 0) {
		self->mode = MEMTOP_REPORT;
		return 0;
	}
	self->command = &argv[index];
	self->command_argc = argc - index;
	return 1;
}

static int apply_option(struct options *self, int c, const char *arg, char *err, size_t errlen)
{
	double v;
	uint64_t u;
	enum parsed p;

	switch (c) {
	case 'e':
		return set_path(&self->export_path, c, arg, err, errlen);
	case 't':
		return set_path(&self->trace_dir, c, arg, err, errlen);
	case 'o':
		return set_path(&self->output_path, c, arg, err, errlen);
	case OPT_COLLAPSED:
		return set_path(&self->collapsed_path, c, arg, err, errlen);
	case OPT_PPROF:
		return set_path(&self->pprof_path, c, arg, err, errlen);
	case 'b':
		self->batch = true;
		return 0;
	case OPT_JSON:
		self->json = true;
		return 0;
	case OPT_NO_STACKS:
		self->no_stacks = true;
		return 0;
	case OPT_FORCE:
		self->force = true;
		return 0;
	case OPT_OVERWRITE_TRACE:
		self->overwrite_trace = true;
		return 0;
	case 'd':
		if ((p = parse_double(arg, &v)) != PARSED_OK)
			return bad_number(err, errlen, c, arg, p, "a number of seconds");
		if (!(v >= OPTIONS_INTERVAL_MIN && v <= OPTIONS_INTERVAL_MAX))
			return fail(err, errlen,
				    "--interval: '%s' is out of range (0.05 to 3600 seconds)", arg);
		self->interval = v;
		return 0;
	case OPT_DURATION:
		if ((p = parse_double(arg, &v)) != PARSED_OK)
			return bad_number(err, errlen, c, arg, p, "a number of seconds");
		if (!(v > 0.0 && v <= OPTIONS_DURATION_MAX))
			return fail(err, errlen,
				    "--duration: '%s' is out of range (more than 0, at most %.0f seconds)",
				    arg, OPTIONS_DURATION_MAX);
		self->duration = v;
		return 0;
	case OPT_SAMPLE_SMALL:
		return set_rate(&self->sample_small, c, arg, err, errlen);
	case OPT_SAMPLE_MEDIUM:
		return set_rate(&self->sample_medium, c, arg, err, errlen);
	case OPT_SAMPLE_LARGE:
		return set_rate(&self->sample_large, c, arg, err, errlen);
	case OPT_MEDIUM_THRESHOLD:
		return set_bytes(&self->medium_threshold, c, arg, err, errlen);
	case OPT_LARGE_THRESHOLD:
		return set_bytes(&self->large_threshold, c, arg, err, errlen);
	case OPT_FREQUENCY_THRESHOLD:
		if (!parse_u64(arg, &self->frequency_threshold))
			return fail(err, errlen,
				    "--frequency-threshold: '%s' is not a whole number", arg);
		return 0;
	case OPT_STACK_DEPTH:
		if (!parse_u64(arg, &u) || u < 1 || u > OPTIONS_STACK_DEPTH_MAX)
			return fail(err, errlen,
				    "--stack-depth: '%s' is not a number of frames from 1 to %d",
				    arg, OPTIONS_STACK_DEPTH_MAX);
		self->stack_depth = (unsigned)u;
		return 0;
	case OPT_ATTACH:
		if (!parse_u64(arg, &u) || u < 1 || u > INT_MAX)
			return fail(err, errlen,
				    "--attach: '%s' is not a process id (a positive integer)", arg);
		self->attach_pid = (int)u;
		return 0;
	}
	return fail(err, errlen, "unknown option '--%s'", long_name(c));
}

/* Rules that involve several options or the invocation as a whole. */
static int check_invocation(struct options *self, char *err, size_t errlen)
{
	if (self->mode == MEMTOP_REPORT) {
		if (self->attach_pid)
			return fail(err, errlen, "--attach cannot be used with report");
		if (self->trace_dir)
			return fail(err, errlen, "--trace cannot be used with report (report reads a trace)");
		if (!self->report_dir)
			return fail(err, errlen, "report: missing TRACE_DIR (usage: memtop report [OPTIONS] TRACE_DIR)");
	} else if (self->attach_pid) {
		if (self->command)
			return fail(err, errlen,
				    "--attach: cannot also run a command ('%s'); use either --attach PID or -- COMMAND",
				    self->command[0]);
		self->mode = MEMTOP_ATTACH;
	} else if (!self->command) {
		return fail(err, errlen,
			    "missing COMMAND (usage: memtop [OPTIONS] -- COMMAND [ARG...], see memtop --help)");
	}
	if (self->overwrite_trace && !self->trace_dir)
		return fail(err, errlen, "--overwrite-trace needs --trace DIR");
	if (self->mode != MEMTOP_REPORT) {
		if (self->json && !self->batch)
			return fail(err, errlen, "--json needs --batch (or memtop report)");
		/* the viewer writes no text report: -o would be ignored */
		if (self->output_path && !self->batch)
			return fail(err, errlen, "-o needs --batch (or memtop report); the viewer's "
				    "report file is -e FILE.html");
		if (self->collapsed_path)
			return fail(err, errlen, "--collapsed is only for memtop report");
		if (self->pprof_path)
			return fail(err, errlen, "--pprof is only for memtop report");
	}
	if (self->collapsed_path && strcmp(self->collapsed_path, "-") == 0 &&
	    (!self->output_path || strcmp(self->output_path, "-") == 0))
		return fail(err, errlen, "--collapsed -: standard output already takes the report; "
			    "send that elsewhere with -o FILE (or -o /dev/null)");
	if (self->medium_threshold >= self->large_threshold)
		return fail(err, errlen,
			    "--medium-threshold (%llu) must be less than --large-threshold (%llu)",
			    (unsigned long long)self->medium_threshold,
			    (unsigned long long)self->large_threshold);
	return 0;
}

static int parse(struct options *self, int argc, char **argv, char *err, size_t errlen);

int options_parse(struct options *self, int argc, char **argv, char *err, size_t errlen)
{
	int r = parse(self, argc, argv, err, errlen);
	if (r != 0 && err && errlen > 0) {
		/* Messages quote what was typed: it must not reach a terminal
		 * with its control characters, nor span lines. */
		char safe[1024];
		format_sanitize(safe, sizeof(safe), err, strlen(err));
		snprintf(err, errlen, "%s", safe);
	}
	return r;
}

static int parse(struct options *self, int argc, char **argv, char *err, size_t errlen)
{
	if (err && errlen > 0)
		err[0] = '\0';

	/* optind = 0 makes glibc reinitialise its whole scan state, so every
	 * call starts afresh; opterr = 0 because messages are ours to word. */
	optind = 0;
	opterr = 0;
	for (;;) {
		int at = optind > 0 ? optind : 1;
		int c = getopt_long(argc, argv, short_options, long_options, NULL);

		if (c == -1)
			break;
		switch (c) {
		case 'h':
			self->mode = MEMTOP_HELP;
			return 0;
		case 'V':
			self->mode = MEMTOP_VERSION;
			return 0;
		case ':':
			if (optopt > 0 && optopt < 256 && at < argc && strncmp(argv[at], "--", 2) != 0)
				return fail(err, errlen, "option '-%c' (--%s) needs a value",
					    optopt, long_name(optopt));
			return fail(err, errlen, "option '--%s' needs a value", long_name(optopt));
		case '?':
			return unknown_option(argc, argv, at, err, errlen);
		case 1: {
			int r = take_argument(self, argc, argv, optind - 1, err, errlen);
			if (r < 0)
				return r;
			if (r == 1)
				return check_invocation(self, err, errlen);
			break;
		}
		default:
			if (apply_option(self, c, optarg, err, errlen) < 0)
				return -1;
		}
	}
	/* getopt stopped at "--" (or the end): the rest are plain arguments. */
	for (int i = optind; i < argc; i++) {
		if (self->mode != MEMTOP_REPORT) {
			self->command = &argv[i];
			self->command_argc = argc - i;
			break;
		}
		if (take_argument(self, argc, argv, i, err, errlen) < 0)
			return -1;
	}
	return check_invocation(self, err, errlen);
}

void options_print_usage(FILE *f)
{
	fputs(
"Usage: memtop [OPTIONS] [--] COMMAND [ARG...]\n"
"       memtop [OPTIONS] --attach PID\n"
"       memtop report [OPTIONS] TRACE_DIR\n"
"\n"
"Watch a program's heap live: allocation calls, frees, live and peak bytes\n"
"per thread and for the process, and the call stacks that allocate most.\n"
"Options after COMMAND belong to COMMAND; a command named \"report\" goes\n"
"after --.\n"
"\n"
"Output:\n"
"  -b, --batch                  no viewer: print a report every interval and\n"
"                               a final summary\n"
"      --json                   with --batch or report: JSON Lines, one object\n"
"                               per line\n"
"  -o, --output FILE            write --batch / report output to FILE\n"
"                               (default: standard output, as with FILE -)\n"
"  -e, --export FILE.html       when the session ends, write a self-contained\n"
"                               HTML report\n"
"  -t, --trace DIR              record every allocation and free event under DIR\n"
"                               (a new directory, or one without a trace)\n"
"      --overwrite-trace        with --trace: replace the trace already in DIR\n"
"      --force                  replace existing files named by -o, -e,\n"
"                               --collapsed and --pprof (refused otherwise)\n"
"      --collapsed FILE         (report) folded stacks for flamegraph tools\n"
"                               (-: standard output, if -o moves the report)\n"
"      --pprof FILE             (report) gzip-compressed pprof profile\n"
"\n"
"Timing:\n"
"  -d, --interval SECS          refresh / report interval, 0.05 to 3600\n"
"                               (default " STR(DEFAULT_INTERVAL) ")\n"
"      --duration SECS          stop watching after SECS; with --attach, detach\n"
"                               and leave the process running\n"
"\n"
"Target:\n"
"      --attach PID             watch a running process instead of starting one\n"
"\n"
"Stack sampling (the counters are always exact):\n"
"      --sample-small R         share of small allocations whose stack is\n"
"                               captured, 0 to 1 (default " STR(DEFAULT_SAMPLE_SMALL) ")\n"
"      --sample-medium R        the same for medium allocations (default " STR(DEFAULT_SAMPLE_MEDIUM) ")\n"
"      --sample-large R         the same for large allocations (default " STR(DEFAULT_SAMPLE_LARGE) ")\n"
"      --medium-threshold BYTES allocations of BYTES or more are medium\n"
"                               (default " STR(DEFAULT_MEDIUM_THRESHOLD) "; 0: no small tier)\n"
"      --large-threshold BYTES  allocations of BYTES or more are large\n"
"                               (default " STR(DEFAULT_LARGE_THRESHOLD) ")\n"
"      --frequency-threshold N  stacks seen more than N times are sampled more\n"
"                               often (default " STR(DEFAULT_FREQUENCY_THRESHOLD) ")\n"
"      --stack-depth N          frames captured per stack, 1 to 64 (default 64)\n"
"      --no-stacks              exact counters only, no stack capture\n"
"\n"
"  -h, --help                   show this help and exit\n"
"  -V, --version                show the version and exit\n"
"\n"
"Exit status: COMMAND's own (128+N if it died of signal N), 2 for a usage\n"
"error, 1 for any other failure.  See memtop(1).\n",
	      f);
}

int options_sampling_env(const struct options *self, char *buf, size_t len)
{
	int n;
	if (self->no_stacks)
		n = snprintf(buf, len, "off");
	else {
		/* The collector parses with the C locale; the viewer may have
		 * switched LC_NUMERIC to one with a decimal comma. */
		pthread_once(&c_locale_once, c_locale_init);
		locale_t old = c_locale ? uselocale(c_locale) : (locale_t)0;
		n = snprintf(buf, len, "%.17g:%.17g:%.17g:%llu:%llu:%llu:%u",
			     self->sample_small, self->sample_medium, self->sample_large,
			     (unsigned long long)self->medium_threshold,
			     (unsigned long long)self->large_threshold,
			     (unsigned long long)self->frequency_threshold, self->stack_depth);
		if (c_locale)
			uselocale(old);
	}
	return n > 0 && (size_t)n < len ? 0 : -1;
}

/* path's directory into dir ("." for a bare name, "/" for one at the root). */
static void dir_of(char *dir, size_t len, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, len, ".");
	else if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

/* The descriptor memtop already has that path names: /dev/stdout,
 * /dev/stderr, /dev/fd/N, /proc/self/fd/N.  They are symbolic links (into
 * /proc), which an output never follows, but whoever names them means
 * memtop's own standard output or error, as with "-": written as it is,
 * never opened anew (that would truncate the file a shell redirected it
 * to).  -1 for any other path. */
static int inherited_fd(const char *path)
{
	if (strcmp(path, "/dev/stdout") == 0)
		return 1;
	if (strcmp(path, "/dev/stderr") == 0)
		return 2;
	const char *n = strncmp(path, "/dev/fd/", 8) == 0 ? path + 8
		: strncmp(path, "/proc/self/fd/", 14) == 0 ? path + 14 : NULL;
	uint64_t v;
	if (n && parse_u64(n, &v) && v <= INT_MAX)
		return (int)v;
	return -1;
}

int options_check_outputs(const struct options *self, char *err, size_t errlen)
{
	const char *paths[] = { self->output_path, self->export_path, self->collapsed_path,
				self->pprof_path };
	const char *names[] = { "-o", "-e", "--collapsed", "--pprof" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct stat st;
		if (!paths[i] || strcmp(paths[i], "-") == 0 ||
		    (paths[i] != self->export_path && inherited_fd(paths[i]) >= 0))
			continue;
		/* the name as typed, but never its control characters */
		char safe[1024];
		format_sanitize(safe, sizeof(safe), paths[i], strlen(paths[i]));
		bool exists = lstat(paths[i], &st) == 0;
		int lstat_errno = exists ? 0 : errno;
		/* Devices (/dev/null, a terminal) and pipes are written, not
		 * replaced. */
		if (exists && S_ISREG(st.st_mode) && !self->force)
			return fail(err, errlen, "%s %s: the file exists; use --force to replace it",
				    names[i], safe);
		/* -e's file is made beside it and renamed: html_export_check
		 * says what it would meet. */
		if (paths[i] == self->export_path)
			continue;
		/* What options_open_output would refuse, in its words, said
		 * before anything runs (the command, or the reading of a
		 * trace, may take an hour); the opening checks again, without
		 * a race. */
		if (exists && S_ISLNK(st.st_mode))
			return fail(err, errlen, "cannot write %s: it is a symbolic link "
				    "(give the path of the file itself)", safe);
		if (exists && S_ISDIR(st.st_mode))
			return fail(err, errlen, "cannot write %s: %s", safe, strerror(EISDIR));
		if (exists)
			continue;
		if (lstat_errno != ENOENT)
			return fail(err, errlen, "cannot write %s: %s", safe, strerror(lstat_errno));
		char dir[PATH_MAX];
		dir_of(dir, sizeof(dir), paths[i]);
		if (access(dir, W_OK | X_OK) != 0)
			return fail(err, errlen, "cannot write %s: %s", safe, strerror(errno));
	}
	return 0;
}

int options_open_output(const char *path, const char *option, bool force, char *err,
			size_t errlen)
{
	char safe[1024];
	int fd;
	format_sanitize(safe, sizeof(safe), path, strlen(path));
	int inherited = inherited_fd(path);
	if (inherited >= 0) {
		fd = fcntl(inherited, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			fail(err, errlen, "cannot write %s: %s", safe, strerror(errno));
		return fd;
	}
	/* Never through a symbolic link; and without --force, created or
	 * refused in one step: a file made since options_check_outputs looked
	 * is not truncated. */
	if (force)
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	else
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST) {
		/* Something is there: a device or a pipe is written to as
		 * before (no O_CREAT, no O_TRUNC: nothing is created or cut). */
		fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			close(fd);
			fail(err, errlen, "%s %s: the file exists; use --force to replace it",
			     option, safe);
			errno = EEXIST;
			return -1;
		}
	}
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP)
			fail(err, errlen, "cannot write %s: it is a symbolic link (give the path "
			     "of the file itself)", safe);
		else
			fail(err, errlen, "cannot write %s: %s", safe, strerror(e));
		errno = e;
	}
	return fd;
}
