/*
 * outpane.h - the watched command's own output, kept out of the viewer's
 * screen and never lost: the command writes its standard output and error
 * into a file (O_APPEND, so both streams interleave as written), memtop
 * tails that file for the output pane, and names it on exit.
 *
 * A file rather than a pipe: the command never blocks on a slow viewer,
 * keeps writing after memtop stops watching (--duration, q) without a
 * SIGPIPE, and its output survives even if memtop itself dies.
 */
#ifndef MEMTOP_UI_OUTPANE_H
#define MEMTOP_UI_OUTPANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUTPANE_LINE_MAX 1024      /* longer lines are cut for display only */

typedef struct outpane outpane;

/* Keeps the newest max_lines lines for display. */
outpane *outpane_new(size_t max_lines);
void outpane_free(outpane *self);
/* Create dir/memtop-output.XXXXXX (mode 0600).  Returns the descriptor to
 * give the command (append mode, close-on-exec; the caller closes it after
 * the spawn), or -1 with a message in err. */
int outpane_create(outpane *self, const char *dir, char *err, size_t errlen);
/* Read what the command wrote since the last call; true if the shown lines
 * changed.  A burst of more than a megabyte is skipped to its last 64 KiB
 * for display (the file keeps everything). */
bool outpane_poll(outpane *self);
/* Lines held, the unfinished last line included; 0 = oldest. */
size_t outpane_count(const outpane *self);
const char *outpane_line(const outpane *self, size_t i);
const char *outpane_path(const outpane *self);
uint64_t outpane_bytes(const outpane *self);
uint64_t outpane_total_lines(const outpane *self);
/* Delete the file if the command wrote nothing; true if deleted. */
bool outpane_remove_if_empty(outpane *self);

#endif
