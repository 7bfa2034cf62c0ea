/*
 * run.h - `memtop [OPTIONS] -- COMMAND`: the command launched as a watch
 * target.
 */
#ifndef MEMTOP_RUN_H
#define MEMTOP_RUN_H

#include "options.h"
#include "watch.h"

/* Spawn opts->command with the collector preloaded; in_fd and out_fd (or
 * -1 and -1: memtop's own streams) become its standard input and its
 * output and error.  NULL after saying why, with *exit_code what a shell
 * would return (127 not found, 126 not executable, 1 memtop's failure). */
struct watch_target *run_launch(const struct options *opts, int in_fd, int out_fd,
				int *exit_code);
void run_target_free(struct watch_target *t);

#endif
