/*
 * html.h - the self-contained HTML report of a session (--export FILE.html
 * and the viewer's `e` key): one file that opens offline, the session's
 * figures embedded as JSON and drawn by the page's own script.
 */
#ifndef MEMTOP_HTML_H
#define MEMTOP_HTML_H

#include <stdbool.h>
#include <stddef.h>

#include "options.h"
#include "session.h"
#include "watch.h"

/* The id of the <script type="application/json"> element holding the data. */
#define HTML_DATA_ID "memtop-data"
/* Bumped when the embedded data changes incompatibly. */
#define HTML_DATA_VERSION 1

/* Writes the report of s to path: 0, or -1 with a one-line reason naming
 * the path in err.  The file appears complete or not at all (written
 * beside path, then renamed over it); a symbolic link or anything but a
 * regular file at path is refused, never followed or replaced.  An
 * existing file is replaced only with force or when it is the report this
 * process wrote there last; otherwise the report is left in its temporary
 * file beside path, which err names.  Mode 0644. */
int html_export(const struct session *s, const char *path, bool force, char *err, size_t errlen);

/* What html_export will meet at path, checked before a session starts so
 * a report that cannot be written is known before the command runs: 0, or
 * -1 with the reason html_export would give.  (A file is created beside
 * path and removed again.) */
int html_export_check(const char *path, char *err, size_t errlen);

/* --export as a watch sink: the report of the session as it ends, written
 * to opts->export_path ("report written to ..." or why not, on stderr). */
struct watch_sink html_export_sink(const struct options *opts);

#endif
