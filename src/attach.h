/*
 * attach.h - `memtop [OPTIONS] --attach PID`: a process that is already
 * running, as a watch target (watch.h): memtop reads the collector it
 * carries or loads one into it (ptrace, see inject.h), and detaches
 * cleanly when it stops watching.
 */
#ifndef MEMTOP_ATTACH_H
#define MEMTOP_ATTACH_H

#include "options.h"
#include "watch.h"

/* Check the process, then attach: NULL after saying why in one line.
 * preflight (may be NULL), called once the process is known to be there
 * and before anything is loaded into it, checks the terminal the viewer
 * needs (0, or -1 with a message in err). */
struct watch_target *attach_target_new(const struct options *opts,
				       int (*preflight)(char *err, size_t errlen));
void attach_target_free(struct watch_target *t);

#endif
