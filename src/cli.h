/*
 * cli.h - memtop's command line: parse, dispatch, exit status.  The core
 * does not link the viewer: main() hands it in as a frontend, so that the
 * core and its tests never depend on curses.
 */
#ifndef MEMTOP_CLI_H
#define MEMTOP_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "options.h"
#include "watch.h"

/* The viewer as the core sees it (ui/viewer.h behind these). */
struct memtop_frontend {
	/* the terminal can hold it: 0, or -1 with a one-line message */
	int (*preflight)(char *err, size_t errlen);
	/* start it; launched: it also opens the file the command's output
	 * goes to (see child_streams); NULL with a message in err */
	void *(*open)(const struct options *opts, bool launched, char *err, size_t errlen);
	/* the command's standard input and output, until child_started */
	void (*child_streams)(void *v, int *in_fd, int *out_fd);
	void (*child_started)(void *v);
	struct watch_ui *(*ui)(void *v);
	void (*free)(void *v);
};

/* Entry point of main(): parse, dispatch, exit code.  viewer may be NULL
 * (then only --batch, report and the options that print work). */
int memtop_main(int argc, char **argv, const struct memtop_frontend *viewer);

#endif
