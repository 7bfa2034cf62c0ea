/*
 * options.h - memtop's command line, parsed into one struct.
 *
 * Three invocations:
 *   memtop [OPTIONS] [--] COMMAND [ARG...]
 *   memtop [OPTIONS] --attach PID
 *   memtop report [OPTIONS] TRACE_DIR
 * The first argument that is not an option starts COMMAND (everything after
 * it belongs to COMMAND), unless it is the word "report".  A command that is
 * really called "report" goes after "--".
 */
#ifndef MEMTOP_OPTIONS_H
#define MEMTOP_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum memtop_mode { MEMTOP_RUN, MEMTOP_ATTACH, MEMTOP_REPORT, MEMTOP_HELP, MEMTOP_VERSION };

#define OPTIONS_INTERVAL_MIN  0.05
#define OPTIONS_INTERVAL_MAX  3600.0
/* Keeps a duration in nanoseconds within int64_t. */
#define OPTIONS_DURATION_MAX  1e9
#define OPTIONS_STACK_DEPTH_MAX 64

struct options {
	enum memtop_mode mode;
	char **command;          /* MEMTOP_RUN: argv of COMMAND (points into argv), NULL-terminated */
	int command_argc;
	int attach_pid;          /* MEMTOP_ATTACH */
	const char *report_dir;  /* MEMTOP_REPORT: TRACE_DIR */
	const char *export_path, *trace_dir, *output_path, *collapsed_path, *pprof_path;
	bool batch, json, no_stacks;
	bool force;              /* --force: output files may replace existing ones */
	bool overwrite_trace;    /* --overwrite-trace: replace the trace already in --trace DIR */
	double interval;         /* default 1.0; OPTIONS_INTERVAL_MIN..OPTIONS_INTERVAL_MAX */
	double duration;         /* 0 = until the command ends; else > 0 */
	double sample_small, sample_medium, sample_large;  /* 0..1, defaults 0.01 0.5 1.0 */
	uint64_t medium_threshold, large_threshold;         /* 2048 65536; medium < large */
	uint64_t frequency_threshold;                       /* 10 */
	unsigned stack_depth;                               /* 1..64, default 64 */
};

/* The defaults: run mode, no command, figures as documented above. */
void options_init(struct options *self);

/* Fills self from argv (argv[0] is the program name).  Returns 0, or -1 on a
 * usage error with a one-line message (no trailing newline) in err that
 * names the bad option or value, e.g.
 * "--interval: 'abc' is not a number of seconds".  With -h or -V the mode
 * is MEMTOP_HELP / MEMTOP_VERSION and later arguments are not examined.
 * Can be called repeatedly in one process: it starts a fresh getopt scan. */
int options_parse(struct options *self, int argc, char **argv, char *err, size_t errlen);

/* The collector's MEMTOP_SAMPLING value for these options ("off" with
 * --no-stacks); 0, or -1 if buf is too small. */
int options_sampling_env(const struct options *self, char *buf, size_t len);

/* The output files checked before anything runs: an existing regular file
 * named by -o, -e, --collapsed or --pprof is refused unless --force; for
 * -o, --collapsed and --pprof also what options_open_output would refuse
 * (a symbolic link, a directory, a directory where no file can be made),
 * for -e html_export_check does that.  0, or -1 with a one-line message. */
int options_check_outputs(const struct options *self, char *err, size_t errlen);

/* Opens the output file path, named by option ("-o", "--pprof"...), for
 * writing: never through a symbolic link; a new file (mode 0644), or with
 * force an existing one truncated; without force an existing regular file
 * is refused (errno EEXIST), in the same step as the creation, while a
 * device or a pipe is opened as it is.  /dev/stdout, /dev/stderr,
 * /dev/fd/N and /proc/self/fd/N are memtop's own descriptor, duplicated.
 * The descriptor, or -1 with a one-line message naming the file. */
int options_open_output(const char *path, const char *option, bool force, char *err,
			size_t errlen);

/* The --help text: the three invocations and every option. */
void options_print_usage(FILE *f);

#endif
