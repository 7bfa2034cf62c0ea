/*
 * attach.h - `memtop [OPTIONS] --attach PID`: watch a process that is
 * already running, reading the collector it carries or loading one into it
 * (ptrace, see inject.h), and detach cleanly.
 */
#ifndef MEMTOP_ATTACH_H
#define MEMTOP_ATTACH_H

#include "options.h"

/* Exit status for memtop: 0 after watching (detached, or the process
 * ended), 1 when memtop could not attach or detach (with a message). */
int attach_main(const struct options *opts);

#endif
