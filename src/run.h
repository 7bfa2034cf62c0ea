/*
 * run.h - `memtop [OPTIONS] -- COMMAND`: launch, watch, report, and exit
 * with the command's status.
 */
#ifndef MEMTOP_RUN_H
#define MEMTOP_RUN_H

#include "options.h"

/* Exit status for memtop: the command's, or 1 on memtop's own failure. */
int run_command(const struct options *opts);

/* Seconds on the monotonic clock; a sleep that resumes after signals. */
double run_now_s(void);
void run_sleep_s(double s);

/* Entry point shared by main() and the tests: parse, dispatch, exit code. */
int memtop_main(int argc, char **argv);

#endif
