/*
 * html.c - the self-contained HTML report of a session (see html.h).
 *
 * The file is one page: its stylesheet and script (src/html_report.css and
 * src/html_report.js, embedded at build time by src/html_embed.sh) and the
 * figures, as one JSON object in <script type="application/json"
 * id="memtop-data">:
 *
 *   format, version   "memtop-html", HTML_DATA_VERSION
 *   generated         UTC time the file was written (ISO 8601)
 *   summary           batch_write_json's summary record, byte for byte what
 *                     `--batch --json` ends with
 *   alert_thresholds  session.h's alert limits, for the page's legend
 *   size_buckets      [lo, hi] bytes of each size-histogram bucket
 *                     (hi null: no upper bound)
 *   process           timeline (columns t, live_bytes, alloc_rate,
 *                     rss_bytes, cpu_percent; null where unmeasured),
 *                     stacks (every top stack the session keeps, null when
 *                     stacks were not sampled), histogram (the sum of the
 *                     threads' size histograms)
 *   threads           one entry per summary.threads entry, same order:
 *                     tid, slot, timeline, stacks, bottlenecks (that
 *                     thread's findings from bottleneck_detect)
 *   frames            stack id -> {frames, truncated}, for every stack
 *                     referenced above, so shared stacks are written once
 *
 * Every string goes through the JSON writer, whose escaping keeps '<', '>'
 * and '&' out of the element: nothing in the data can close it.  The page
 * sets text with textContent only (see html_report.js).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "bottleneck.h"
#include "format.h"
#include "html.h"
#include "json.h"
#include "session.h"
#include "src/html_assets.h"

#define THREAD_FINDINGS_MAX 16

/* As batch.c names the collector's catch-all stack. */
static const char catch_all_frame[] = FORMAT_CATCH_ALL_STACK;

static void put_lines(FILE *f, const char *const *lines)
{
	for (size_t i = 0; lines[i]; i++)
		fputs(lines[i], f);
}

/* ---------------------------------------------------------------- data */

static void json_timeline(struct json *j, const struct history *h, bool with_rss)
{
	enum { T, LIVE, RATE, RSS, CPU, NCOLS };
	static const char *const keys[NCOLS] = {
		"t", "live_bytes", "alloc_rate", "rss_bytes", "cpu_percent",
	};
	json_begin_object(j);
	for (int k = 0; k < NCOLS; k++) {
		if (k == RSS && !with_rss)
			continue;
		json_key(j, keys[k]);
		json_begin_array(j);
		for (size_t i = 0; h->pts && i < h->len; i++) {
			const struct history_point *p = history_at(h, i);
			double v = k == T ? p->t : k == LIVE ? p->live_bytes :
				   k == RATE ? p->alloc_rate : k == RSS ? p->rss_bytes : p->cpu_percent;
			json_double(j, v);
		}
		json_end_array(j);
	}
	json_end_object(j);
}

/* Stack ids referenced by the page, so their frames are written once. */
struct idset {
	uint32_t *v;
	size_t n, cap;
	bool failed;
};

static void idset_add(struct idset *ids, uint32_t id)
{
	if (ids->n == ids->cap) {
		size_t cap = ids->cap ? 2 * ids->cap : 64;
		uint32_t *v = realloc(ids->v, cap * sizeof(*v));
		if (!v) {
			ids->failed = true;
			return;
		}
		ids->v = v;
		ids->cap = cap;
	}
	ids->v[ids->n++] = id;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void json_stacks(struct json *j, const struct session *s, const struct stack_stat *st,
			size_t n, struct idset *ids)
{
	if (!s->stacks_enabled) {
		json_null(j);
		return;
	}
	json_begin_array(j);
	for (size_t i = 0; st && i < n; i++) {
		json_begin_object(j);
		json_key(j, "id");
		json_uint(j, st[i].id);
		json_key(j, "allocs_est");
		json_uint(j, (uint64_t)llround(st[i].allocs_est));
		json_key(j, "bytes_est");
		json_uint(j, (uint64_t)llround(st[i].bytes_est));
		json_key(j, "live_bytes_est");
		json_uint(j, (uint64_t)llround(st[i].live_bytes_est));
		json_key(j, "samples");
		json_uint(j, st[i].samples);
		json_key(j, "min_size");
		if (st[i].samples > 0 && st[i].min_size > 0)
			json_uint(j, st[i].min_size);
		else
			json_null(j);
		json_key(j, "max_size");
		json_uint(j, st[i].max_size);
		json_end_object(j);
		idset_add(ids, st[i].id);
	}
	json_end_array(j);
}

static void json_findings(struct json *j, const struct bottleneck *b, size_t n)
{
	json_begin_array(j);
	for (size_t i = 0; i < n; i++) {
		json_begin_object(j);
		json_key(j, "type");
		json_string(j, b[i].type);
		json_key(j, "tid");
		json_int(j, b[i].tid);
		json_key(j, "stack_id");
		if (b[i].stack_id == BOTTLENECK_NO_STACK)
			json_null(j);
		else
			json_uint(j, b[i].stack_id);
		json_key(j, "severity");
		json_double(j, b[i].severity);
		json_key(j, "description");
		json_string(j, b[i].description);
		json_key(j, "suggestion");
		json_string(j, b[i].suggestion);
		json_end_object(j);
	}
	json_end_array(j);
}

static void json_frames(struct json *j, const struct session *s, struct idset *ids)
{
	if (ids->n)
		qsort(ids->v, ids->n, sizeof(*ids->v), cmp_u32);
	json_begin_object(j);
	for (size_t i = 0; i < ids->n; i++) {
		if (i > 0 && ids->v[i] == ids->v[i - 1])
			continue;
		char key[16];
		snprintf(key, sizeof(key), "%u", (unsigned)ids->v[i]);
		size_t depth;
		bool truncated;
		const char *const *frames = session_stack_frames(s, ids->v[i], &depth, &truncated);
		json_key(j, key);
		json_begin_object(j);
		json_key(j, "frames");
		json_begin_array(j);
		if (ids->v[i] == MT_STACK_OTHER)
			json_string(j, catch_all_frame);
		for (size_t k = 0; frames && k < depth; k++)
			json_string(j, frames[k]);
		json_end_array(j);
		json_key(j, "truncated");
		json_bool(j, truncated);
		json_end_object(j);
	}
	json_end_object(j);
}

static void json_size_buckets(struct json *j)
{
	/* mt_hist_bucket's ranges (shm_layout.h): 0, 1, 2-3, ..., 2^30 and up. */
	json_begin_array(j);
	for (unsigned b = 0; b < MT_HIST_BUCKETS; b++) {
		json_begin_array(j);
		json_uint(j, b == 0 ? 0 : 1ull << (b - 1));
		if (b == 0)
			json_uint(j, 0);
		else if (b + 1 == MT_HIST_BUCKETS)
			json_null(j);
		else
			json_uint(j, (1ull << b) - 1);
		json_end_array(j);
	}
	json_end_array(j);
}

/* Returns false when memory ran out while listing the stacks. */
static bool write_data(FILE *f, const struct session *s)
{
	struct json j;
	struct idset ids = { 0 };
	json_init(&j, f);
	json_begin_object(&j);
	json_key(&j, "format");
	json_string(&j, "memtop-html");
	json_key(&j, "version");
	json_int(&j, HTML_DATA_VERSION);

	char when[32] = "";
	time_t now = time(NULL);
	struct tm tm;
	if (gmtime_r(&now, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_key(&j, "generated");
	json_string(&j, when[0] ? when : NULL);

	/* batch_write_json writes the key's value through the same FILE (one
	 * object and a newline, which JSON takes as white space); this writer
	 * must then count the key as answered. */
	json_key(&j, "summary");
	batch_write_json(f, s, true);
	j.pending_key = false;

	json_key(&j, "alert_thresholds");
	json_begin_object(&j);
	json_key(&j, "warn_rate");
	json_double(&j, ALERT_WARN_RATE);
	json_key(&j, "critical_rate");
	json_double(&j, ALERT_CRIT_RATE);
	json_key(&j, "warn_live_bytes");
	json_uint(&j, ALERT_WARN_LIVE);
	json_key(&j, "critical_live_bytes");
	json_uint(&j, ALERT_CRIT_LIVE);
	json_end_object(&j);

	json_key(&j, "size_buckets");
	json_size_buckets(&j);

	json_key(&j, "process");
	json_begin_object(&j);
	json_key(&j, "timeline");
	json_timeline(&j, &s->hist, true);
	json_key(&j, "stacks");
	json_stacks(&j, s, s->top_stacks, s->ntop, &ids);
	json_key(&j, "histogram");
	if (s->collector_seen) {
		uint64_t hist[MT_HIST_BUCKETS] = { 0 };
		for (size_t i = 0; i < s->nthreads; i++)
			if (s->threads[i].tid >= 0)
				for (unsigned b = 0; b < MT_HIST_BUCKETS; b++)
					hist[b] += s->threads[i].c.hist[b];
		json_begin_array(&j);
		for (unsigned b = 0; b < MT_HIST_BUCKETS; b++)
			json_uint(&j, hist[b]);
		json_end_array(&j);
	} else {
		json_null(&j);
	}
	json_end_object(&j);

	/* The same threads, in the same order, as the summary's list. */
	json_key(&j, "threads");
	json_begin_array(&j);
	struct bottleneck found[THREAD_FINDINGS_MAX];
	for (size_t i = 0; i < s->nthreads; i++) {
		const struct thread_stat *t = &s->threads[i];
		if (t->tid < 0)
			continue;
		json_begin_object(&j);
		json_key(&j, "tid");
		json_int(&j, t->tid);
		json_key(&j, "slot");
		json_uint(&j, t->slot);
		json_key(&j, "timeline");
		json_timeline(&j, &t->hist, false);
		json_key(&j, "stacks");
		json_stacks(&j, s, t->top_stacks, t->ntop, &ids);
		json_key(&j, "bottlenecks");
		/* tid 0 would mean the whole process to bottleneck_detect. */
		size_t n = s->collector_seen && t->tid > 0
			? bottleneck_detect(s, t->tid, found, THREAD_FINDINGS_MAX) : 0;
		json_findings(&j, found, n);
		json_end_object(&j);
	}
	json_end_array(&j);

	json_key(&j, "frames");
	json_frames(&j, s, &ids);
	json_end_object(&j);
	bool ok = !ids.failed;
	free(ids.v);
	return ok;
}

/* ---------------------------------------------------------------- page */

/* The content security policy forbids every fetch: the page cannot reach
 * the network even if something in it tried. */
static const char page_head[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\">\n"
	"<head>\n"
	"<meta charset=\"utf-8\">\n"
	"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	"style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<meta name=\"generator\" content=\"memtop " PACKAGE_VERSION "\">\n"
	"<title>memtop report</title>\n"
	"<style>\n";

/* First in <body>, apart from the main script: it must be in place to
 * record a syntax error of that script too. */
static const char page_guard[] =
	"</style>\n"
	"</head>\n"
	"<body>\n"
	"<script>\n"
	"window.onerror = function (msg, src, line, col) {\n"
	"\tvar b = document.body, was = b.getAttribute('data-errors');\n"
	"\tvar text = String(msg) + ' (line ' + line + ':' + col + ')';\n"
	"\tb.setAttribute('data-errors', was ? was + ' | ' + text : text);\n"
	"};\n"
	"</script>\n"
	"<noscript><p>This report is drawn by its own script, which is disabled. "
	"The figures are in this file as JSON, in the element with id \"" HTML_DATA_ID "\".</p>"
	"</noscript>\n"
	"<script type=\"application/json\" id=\"" HTML_DATA_ID "\">";

static const char page_script[] = "</script>\n<script>\n";
static const char page_tail[] = "</script>\n</body>\n</html>\n";

static bool write_document(FILE *f, const struct session *s)
{
	fputs(page_head, f);
	put_lines(f, html_css);
	fputs(page_guard, f);
	bool ok = write_data(f, s);
	fputs(page_script, f);
	put_lines(f, html_js);
	fputs(page_tail, f);
	return ok;
}

/* ---------------------------------------------------------------- file */

/* err = the formatted message, then ": strerror(e)" when e is not 0. */
__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (e && n >= 0 && (size_t)n < errlen)
		snprintf(err + n, errlen - (size_t)n, ": %s", strerror(e));
	return -1;
}

/* Checks what is at path and makes tmp the name of a new, empty file
 * beside it (the caller removes or renames it): its descriptor, or -1 with
 * err set. */
static int open_beside(const char *path, char *tmp, size_t tmplen, char *err, size_t errlen)
{
	if (!path || !*path)
		return fail(err, errlen, 0, "no file name given for the HTML report");

	/* Renaming over a link would not follow it, but a user who pointed
	 * the report at a link meant its target: refuse rather than surprise.
	 * Devices and directories are never replaced by a report.  A link
	 * appearing after this check is replaced, not followed, by rename(). */
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode))
			return fail(err, errlen, 0, "refusing to write %s: it is a symbolic link "
				    "(give the path of the file itself)", path);
		if (!S_ISREG(st.st_mode))
			return fail(err, errlen, 0, "refusing to write %s: it exists and is not a "
				    "regular file", path);
	} else if (errno != ENOENT) {
		return fail(err, errlen, errno, "cannot write %s", path);
	}

	/* The temporary file goes into the same directory: rename() is atomic
	 * only within one file system. */
	const char *slash = strrchr(path, '/');
	const char *dir = slash ? path : ".";
	int dirlen = !slash ? 1 : slash == path ? 1 : (int)(slash - path);
	int n = snprintf(tmp, tmplen, "%.*s/.memtop-report.XXXXXX", dirlen, dir);
	if (n < 0 || (size_t)n >= tmplen)
		return fail(err, errlen, ENAMETOOLONG, "cannot write %s", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, errno, "cannot write %s (no new file can be made in %.*s)",
			    path, dirlen, dir);
	return fd;
}

int html_export_check(const char *path, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	int fd = open_beside(path, tmp, sizeof(tmp), err, errlen);
	if (fd < 0)
		return -1;
	close(fd);
	unlink(tmp);
	return 0;
}

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)  /* linux/fs.h, for a C library without it */
#endif

/* The report this process placed last: the viewer's `e` and the end of
 * the session write the same name, and replacing memtop's own report
 * needs no --force. */
static struct {
	bool set;
	struct stat st;             /* as it was once in place */
} own_report;

/* The same file, unchanged since: an inode number reused by a file made
 * since would not have the same change time too. */
static bool is_own_report(const char *path)
{
	struct stat st;
	const struct stat *o = &own_report.st;
	return own_report.set && lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       st.st_dev == o->st_dev && st.st_ino == o->st_ino && st.st_size == o->st_size &&
	       st.st_ctim.tv_sec == o->st_ctim.tv_sec && st.st_ctim.tv_nsec == o->st_ctim.tv_nsec;
}

/* tmp takes the name path.  Unless force, or path is this process's own
 * previous report, an existing path is not replaced (EEXIST), whenever it
 * appeared: the check before the session is long past. */
static int place(const char *tmp, const char *path, bool force)
{
	if (force || is_own_report(path))
		return rename(tmp, path);
#ifdef SYS_renameat2
	if (syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
#endif
	/* a file system without RENAME_NOREPLACE: a second link fails on an
	 * existing name just the same */
	if (link(tmp, path) == 0) {
		unlink(tmp);
		return 0;
	}
	if (errno != EPERM && errno != EOPNOTSUPP)
		return -1;
	/* nor hard links (vfat): looked at, then taken, with the race that
	 * leaves */
	struct stat st;
	if (lstat(path, &st) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(tmp, path);
}

int html_export(const struct session *s, const char *path, bool force, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	int fd = open_beside(path, tmp, sizeof(tmp), err, errlen);
	if (fd < 0)
		return -1;
	int e = 0;
	if (fchmod(fd, 0644) != 0)
		e = errno;
	FILE *f = e ? NULL : fdopen(fd, "w");
	if (!f) {
		if (!e)
			e = errno;
		close(fd);
		unlink(tmp);
		return fail(err, errlen, e, "cannot write %s", path);
	}

	errno = 0;
	if (!write_document(f, s))
		e = ENOMEM;
	if (!e && fflush(f) != 0)
		e = errno ? errno : EIO;
	if (!e && ferror(f))
		e = errno ? errno : EIO;
	/* On disk before it takes the name: a crash leaves the old report or
	 * the new one, never a short file. */
	if (!e && fsync(fileno(f)) != 0)
		e = errno;
	if (fclose(f) != 0 && !e)
		e = errno;
	if (!e && place(tmp, path, force) != 0) {
		e = errno;
		if (e == EEXIST)
			/* made while memtop ran: the report is kept, not lost */
			return fail(err, errlen, 0, "cannot write %s: the file exists (made since "
				    "memtop started; use --force to replace it); the report is in %s",
				    path, tmp);
	}
	if (e) {
		unlink(tmp);
		return fail(err, errlen, e, "writing %s failed", path);
	}
	own_report.set = lstat(path, &own_report.st) == 0;
	return 0;
}

/* ---------------------------------------------------------------- as a watch sink */

static int export_finish(void *ctx, const struct session *s, const struct watch_outcome *o)
{
	const struct options *opts = ctx;
	char err[1024];
	(void)o;
	if (html_export(s, opts->export_path, opts->force, err, sizeof(err)) != 0) {
		format_warn("%s", err);
		return -1;
	}
	format_warn("report written to %s", opts->export_path);
	return 0;
}

struct watch_sink html_export_sink(const struct options *opts)
{
	struct watch_sink k = { .ctx = (void *)opts, .finish = export_finish };
	return k;
}
