/*
 * test_html.c - the HTML report writer on sessions built by hand: the page
 * embeds one valid JSON object holding batch_write_json's summary record
 * byte for byte, timelines and per-thread data; hostile thread names and
 * command lines appear only escaped; the output path is never a symbolic
 * link, device or directory; an existing file is replaced by rename (a new
 * file, never rewritten in place) with --force or when it is this
 * process's own report, and otherwise left alone with the report kept
 * beside it; mode 0644, no temporary file left; failures give one line
 * naming the path.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "batch.h"
#include "html.h"
#include "session.h"

#define NTHREADS 3
#define HOSTILE_NAME "<b>x</b>"
#define HOSTILE_SCRIPT "</script><script>alert(1)</script>"
#define DATA_OPEN "<script type=\"application/json\" id=\"" HTML_DATA_ID "\">"

/* A hand-built session and the storage its pointers refer to. */
struct fixture {
	struct session s;
	struct thread_stat th[NTHREADS];
	struct history_point proc_pts[8];
	struct history_point th_pts[NTHREADS][8];
	struct stack_stat stacks[2];
	char dir[64];
	char path[128];
};

static void hist_fill(struct history *h, struct history_point *pts, size_t cap, size_t n, double scale)
{
	h->pts = pts;
	h->cap = cap;
	h->len = n;
	h->head = 0;
	for (size_t i = 0; i < n; i++)
		pts[i] = (struct history_point){
			.t = (double)i, .live_bytes = scale * (double)i,
			.alloc_rate = i == 0 ? NAN : 100.0 * scale,
			.rss_bytes = 4096.0 * (double)(i + 1), .cpu_percent = i == 0 ? NAN : 12.5,
		};
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	struct session *s = &f->s;
	s->pid = 4321;
	snprintf(s->command, sizeof(s->command), "./prog '%s' \"q\" \x01", HOSTILE_SCRIPT);
	s->collector_seen = true;
	s->final = true;
	s->elapsed_s = 3.5;
	s->interval_s = 1.0;
	s->updates = 4;
	s->ended = true;
	s->exit_code = 0;
	snprintf(s->end_description, sizeof(s->end_description), "exited with status 0");
	s->threads = f->th;
	s->nthreads = NTHREADS;
	s->capacity = NTHREADS;
	s->proc_cpu_percent = 25.0;
	s->sys_cpu_percent = NAN;
	s->totals.allocs = 600;
	s->totals.frees = 500;
	s->totals.bytes_allocated = 60000;
	s->totals.live_bytes = 10000;
	s->totals.peak_live_bytes = 20000;
	s->totals.threads_seen = NTHREADS;
	s->totals.alloc_rate = 171.4;
	hist_fill(&s->hist, f->proc_pts, 8, 4, 1000.0);

	static const char *const names[NTHREADS] = { "main", HOSTILE_NAME, HOSTILE_SCRIPT };
	for (int i = 0; i < NTHREADS; i++) {
		struct thread_stat *t = &f->th[i];
		t->slot = (uint32_t)i;
		t->tid = 5000 + i;
		snprintf(t->name, sizeof(t->name), "%s", names[i]);
		t->c.allocs = 200;
		t->c.frees = 150 + (uint64_t)i;
		t->c.bytes_allocated = 20000;
		t->c.usable_allocated = 20000;
		t->c.usable_freed = 15000;
		t->c.peak_live = 7000;
		t->c.hist[7] = 150;
		t->c.hist[12] = 50;
		t->cpu_valid = true;
		t->cpu_s = 0.25 * (i + 1);
		t->cpu_percent = 5.0;
		t->alloc_rate = 57.1;
		t->exited = i == 2;
		t->alert = i == 1 ? ALERT_WARN : ALERT_OK;
		hist_fill(&t->hist, f->th_pts[i], 8, 3, 10.0 * (i + 1));
	}
	/* Sampled stacks without a stack cache: ids and estimates, no frames. */
	s->stacks_enabled = true;
	f->stacks[0] = (struct stack_stat){ .id = 7, .allocs_est = 100, .bytes_est = 6400,
					    .live_bytes_est = 640, .samples = 12, .min_size = 64,
					    .max_size = 64 };
	f->stacks[1] = (struct stack_stat){ .id = 9, .allocs_est = 10, .bytes_est = 40960,
					    .samples = 10, .min_size = 4096, .max_size = 4096 };
	s->top_stacks = f->stacks;
	s->ntop = 2;
	f->th[0].top_stacks = f->stacks;
	f->th[0].ntop = 1;

	snprintf(f->dir, sizeof(f->dir), "/tmp/memtop-html-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/report.html", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	DIR *d = opendir(f->dir);
	if (d) {
		struct dirent *e;
		char p[512];
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
				snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
				unlink(p);
			}
		closedir(d);
	}
	chmod(f->dir, 0700);
	rmdir(f->dir);
	free(f);
	return 0;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? 2 * cap : 65536;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		size_t k = fread(buf + n, 1, 4096, f);
		n += k;
		if (k == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static size_t count_nocase(const char *hay, const char *needle)
{
	size_t n = 0, k = strlen(needle);
	for (const char *p = hay; *p; p++)
		if (strncasecmp(p, needle, k) == 0)
			n++;
	return n;
}

/* ---------------------------------------------------------------- JSON check */
/* A strict RFC 8259 syntax check: enough to know the page's JSON.parse
 * cannot fail on the data. */

static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *json_value(const char *p, int depth);

static const char *json_str(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20)
			return NULL;
		if (c == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
						return NULL;
				p += 5;
				continue;
			}
			if (!*p || !strchr("\"\\/bfnrt", *p))
				return NULL;
		}
		p++;
	}
	return p + 1;
}

static const char *json_num(const char *p)
{
	const char *q = p;
	if (*q == '-')
		q++;
	if (*q == '0')
		q++;
	else if (*q >= '1' && *q <= '9')
		while (*q >= '0' && *q <= '9')
			q++;
	else
		return NULL;
	if (*q == '.') {
		q++;
		if (!(*q >= '0' && *q <= '9'))
			return NULL;
		while (*q >= '0' && *q <= '9')
			q++;
	}
	if (*q == 'e' || *q == 'E') {
		q++;
		if (*q == '+' || *q == '-')
			q++;
		if (!(*q >= '0' && *q <= '9'))
			return NULL;
		while (*q >= '0' && *q <= '9')
			q++;
	}
	return q;
}

static const char *json_value(const char *p, int depth)
{
	if (depth > 64)
		return NULL;
	p = ws(p);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		bool obj = *p == '{';
		p = ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (obj) {
				p = json_str(ws(p));
				if (!p)
					return NULL;
				p = ws(p);
				if (*p++ != ':')
					return NULL;
			}
			p = json_value(p, depth + 1);
			if (!p)
				return NULL;
			p = ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	if (*p == '"')
		return json_str(p);
	if (!strncmp(p, "true", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	if (!strncmp(p, "null", 4))
		return p + 4;
	return json_num(p);
}

/* The data element's text (a copy), or a test failure. */
static char *data_of(const char *page)
{
	const char *a = strstr(page, DATA_OPEN);
	assert_non_null(a);
	a += strlen(DATA_OPEN);
	const char *b = strstr(a, "</script>");
	assert_non_null(b);
	char *d = strndup(a, (size_t)(b - a));
	assert_non_null(d);
	const char *end = json_value(d, 0);
	if (!end || *ws(end) != '\0')
		fail_msg("the data element is not one JSON value (stops at offset %ld)",
			 end ? (long)(end - d) : -1L);
	return d;
}

static void assert_contains(const char *text, const char *part)
{
	if (!strstr(text, part))
		fail_msg("the report does not contain \"%s\"", part);
}

/* ---------------------------------------------------------------- tests */

static void test_page_and_data(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	if (html_export(&f->s, f->path, false, err, sizeof(err)) != 0)
		fail_msg("html_export: %s", err);
	char *page = slurp(f->path, NULL);
	assert_true(strncmp(page, "<!DOCTYPE html>", 15) == 0);
	assert_contains(page, "</html>\n");
	/* offline: nothing to fetch, and a policy that forbids fetching */
	assert_int_equal(count_nocase(page, "http://"), count(page, "http://www.w3.org/2000/svg"));
	assert_int_equal(count_nocase(page, "https://"), 0);
	assert_int_equal(count_nocase(page, " src="), 0);
	assert_contains(page, "default-src 'none'");

	char *d = data_of(page);
	assert_contains(d, "\"format\":\"memtop-html\"");
	assert_contains(d, "\"version\":1,");

	/* the summary is batch_write_json's record, byte for byte */
	char *rec = NULL;
	size_t reclen = 0;
	FILE *m = open_memstream(&rec, &reclen);
	assert_non_null(m);
	batch_write_json(m, &f->s, true);
	assert_int_equal(fclose(m), 0);
	assert_true(reclen > 100);
	char *key = malloc(reclen + 16);
	assert_non_null(key);
	snprintf(key, reclen + 16, "\"summary\":%s", rec);
	assert_contains(d, key);
	free(key);
	free(rec);

	/* timelines: the process's with RSS, the threads' without */
	assert_contains(d, "\"process\":{\"timeline\":{\"t\":[0.0,1.0,2.0,3.0],"
			   "\"live_bytes\":[0.0,1000.0,2000.0,3000.0],"
			   "\"alloc_rate\":[null,100000.0,100000.0,100000.0],"
			   "\"rss_bytes\":[4096.0,8192.0,12288.0,16384.0],"
			   "\"cpu_percent\":[null,12.5,12.5,12.5]}");
	assert_contains(d, "{\"tid\":5001,\"slot\":1,\"timeline\":{\"t\":[0.0,1.0,2.0],"
			   "\"live_bytes\":[0.0,20.0,40.0],\"alloc_rate\":[null,2000.0,2000.0],"
			   "\"cpu_percent\":[null,12.5,12.5]}");
	/* stacks referenced once in the frames table, the process histogram
	 * summed over the threads, bucket ranges */
	assert_contains(d, "\"frames\":{\"7\":{\"frames\":[],\"truncated\":false},"
			   "\"9\":{\"frames\":[],\"truncated\":false}}");
	assert_contains(d, "\"histogram\":[0,0,0,0,0,0,0,450,0,0,0,0,150,");
	assert_contains(d, "\"size_buckets\":[[0,0],[1,1],[2,3],[4,7],");
	assert_contains(d, ",[1073741824,null]]");
	assert_contains(d, "\"stacks\":[{\"id\":7,\"allocs_est\":100,\"bytes_est\":6400,"
			   "\"live_bytes_est\":640,\"samples\":12,\"min_size\":64,\"max_size\":64}]");
	assert_int_equal(count(d, "\"bottlenecks\":"), 1 + NTHREADS);
	free(d);

	/* the page's script comes after the data and ends the document */
	assert_int_equal(count_nocase(page, "</script"), 3);
	assert_non_null(strstr(page, "data-rendered"));
	free(page);

	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
}

static void test_hostile_text_escaped(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	assert_int_equal(html_export(&f->s, f->path, false, err, sizeof(err)), 0);
	char *page = slurp(f->path, NULL);
	assert_int_equal(count_nocase(page, "<b>"), 0);
	assert_int_equal(count_nocase(page, "</script"), 3);   /* the page's own three */
	assert_int_equal(count_nocase(page, "<script"), 3);
	char *d = data_of(page);
	assert_contains(d, "\"name\":\"\\u003cb\\u003ex\\u003c/b\\u003e\"");
	assert_contains(d, "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)");
	assert_contains(d, "\\\"q\\\" \\u0001\"");
	free(d);
	/* nothing but the page's own markup: no control byte anywhere */
	for (const char *p = page; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
			fail_msg("control byte 0x%02x at offset %ld", (unsigned char)*p, (long)(p - page));
	free(page);
}

static void test_no_collector(void **state)
{
	struct fixture *f = *state;
	f->s.collector_seen = false;
	f->s.stacks_enabled = false;
	char err[256] = "";
	assert_int_equal(html_export(&f->s, f->path, false, err, sizeof(err)), 0);
	char *page = slurp(f->path, NULL);
	char *d = data_of(page);
	assert_contains(d, "\"totals\":null");
	assert_contains(d, "\"stacks\":null,\"histogram\":null}");
	assert_contains(d, "\"frames\":{}");
	free(d);
	free(page);
}

static void test_symlink_refused(void **state)
{
	struct fixture *f = *state;
	char target[192], link[192], err[256] = "";
	snprintf(target, sizeof(target), "%s/precious", f->dir);
	snprintf(link, sizeof(link), "%s/link.html", f->dir);
	write_file(target, "precious\n");
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(html_export(&f->s, link, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, link));
	assert_non_null(strstr(err, "symbolic link"));
	assert_null(strchr(err, '\n'));
	char *kept = slurp(target, NULL);
	assert_string_equal(kept, "precious\n");
	free(kept);
	struct stat st;
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));

	/* a dangling link is not created through either */
	char dangling[192];
	snprintf(dangling, sizeof(dangling), "%s/dangling.html", f->dir);
	assert_int_equal(symlink("/tmp/memtop-html-test-nowhere", dangling), 0);
	assert_int_equal(html_export(&f->s, dangling, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "symbolic link"));
	assert_int_equal(access("/tmp/memtop-html-test-nowhere", F_OK), -1);
}

static void test_not_a_regular_file(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	/* as root, renaming over /dev/null would replace the device */
	assert_int_equal(html_export(&f->s, "/dev/null", false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/dev/null"));
	assert_non_null(strstr(err, "not a regular file"));
	struct stat st;
	assert_int_equal(stat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(html_export(&f->s, f->dir, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(html_export(&f->s, "", false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no file name"));
}

static void test_replaced_atomically(void **state)
{
	struct fixture *f = *state;
	char other[192], err[256] = "";
	write_file(f->path, "old report\n");
	assert_int_equal(chmod(f->path, 0600), 0);
	/* a second name for the old file: it must keep the old text, which
	 * shows the new report is a new file renamed into place, not the old
	 * one truncated and rewritten (a reader never sees half a page) */
	snprintf(other, sizeof(other), "%s/old-name", f->dir);
	assert_int_equal(link(f->path, other), 0);
	struct stat before, after;
	assert_int_equal(stat(f->path, &before), 0);
	/* a file memtop did not write is replaced with --force only */
	assert_int_equal(html_export(&f->s, f->path, true, err, sizeof(err)), 0);
	assert_int_equal(stat(f->path, &after), 0);
	assert_true(before.st_ino != after.st_ino);
	assert_int_equal(after.st_mode & 07777, 0644);
	char *old = slurp(other, NULL);
	assert_string_equal(old, "old report\n");
	free(old);
	char *page = slurp(f->path, NULL);
	assert_true(strncmp(page, "<!DOCTYPE html>", 15) == 0);
	free(page);
	/* no temporary file left beside it */
	DIR *dir = opendir(f->dir);
	assert_non_null(dir);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")))
			n++;
	closedir(dir);
	assert_int_equal(n, 2);   /* report.html and old-name */

	/* a relative path: the temporary file goes into the current directory */
	char cwd[512];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	int rc = html_export(&f->s, "relative.html", false, err, sizeof(err));
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(rc, 0);
	char rel[192];
	snprintf(rel, sizeof(rel), "%s/relative.html", f->dir);
	assert_int_equal(access(rel, R_OK), 0);
}

/* Without --force an existing file is never replaced, however late it
 * appeared (the check before the session is long past when the report is
 * written): the report is left beside it, named in the message.  The
 * report this process wrote there itself (the viewer's `e`, then the
 * session's end) is replaced. */
static void test_existing_not_replaced(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	write_file(f->path, "someone else's\n");
	assert_int_equal(html_export(&f->s, f->path, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, f->path));
	assert_non_null(strstr(err, "the file exists"));
	assert_non_null(strstr(err, "--force"));
	assert_null(strchr(err, '\n'));
	char *kept = slurp(f->path, NULL);
	assert_string_equal(kept, "someone else's\n");
	free(kept);
	const char *tmp = strstr(err, "the report is in ");
	assert_non_null(tmp);
	tmp += strlen("the report is in ");
	assert_non_null(strstr(tmp, "/.memtop-report."));
	char *page = slurp(tmp, NULL);
	assert_true(strncmp(page, "<!DOCTYPE html>", 15) == 0);
	free(page);
	assert_int_equal(unlink(tmp), 0);
	assert_int_equal(unlink(f->path), 0);

	/* its own report, twice at the same name: replaced */
	struct stat first, second;
	assert_int_equal(html_export(&f->s, f->path, false, err, sizeof(err)), 0);
	assert_int_equal(stat(f->path, &first), 0);
	assert_int_equal(html_export(&f->s, f->path, false, err, sizeof(err)), 0);
	assert_int_equal(stat(f->path, &second), 0);
	assert_true(first.st_ino != second.st_ino);
	/* no longer its own once someone else's file took the name */
	char other[192];
	snprintf(other, sizeof(other), "%s/other", f->dir);
	write_file(other, "theirs\n");
	assert_int_equal(rename(other, f->path), 0);
	assert_int_equal(html_export(&f->s, f->path, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "the file exists"));
	kept = slurp(f->path, NULL);
	assert_string_equal(kept, "theirs\n");
	free(kept);
	tmp = strstr(err, "the report is in ") + strlen("the report is in ");
	assert_int_equal(unlink(tmp), 0);
}

/* Runs html_export in a child without the right to write into f->dir:
 * root is checked as nobody, since root may write anywhere. */
static void test_unwritable_dir(void **state)
{
	struct fixture *f = *state;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(chmod(f->dir, 0555), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256] = "";
		close(fds[0]);
		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(3);
		int rc = html_export(&f->s, f->path, false, err, sizeof(err));
		if (write(fds[1], err, strlen(err)) < 0)
			_exit(4);
		_exit(rc == -1 ? 0 : 1);
	}
	close(fds[1]);
	char msg[512] = "";
	ssize_t n = read(fds[0], msg, sizeof(msg) - 1);
	close(fds[0]);
	msg[n > 0 ? n : 0] = '\0';
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("child status %d, message \"%s\"", WEXITSTATUS(status), msg);
	assert_non_null(strstr(msg, f->path));
	assert_non_null(strstr(msg, "Permission denied"));
	assert_null(strchr(msg, '\n'));
	assert_int_equal(access(f->path, F_OK), -1);

	/* a directory that does not exist */
	char err[256] = "";
	assert_int_equal(html_export(&f->s, "/nonexistent-memtop-dir/r.html", false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent-memtop-dir/r.html"));
	assert_non_null(strstr(err, "No such file or directory"));
}

static void test_many_threads(void **state)
{
	(void)state;
	/* 1000 threads with full timelines: the file is written, its data is
	 * valid and lists every thread once */
	enum { N = 1000 };
	struct session s;
	memset(&s, 0, sizeof(s));
	s.pid = 1;
	s.collector_seen = true;
	s.proc_cpu_percent = NAN;
	s.sys_cpu_percent = NAN;
	s.threads = calloc(N, sizeof(*s.threads));
	assert_non_null(s.threads);
	s.nthreads = s.capacity = N;
	for (int i = 0; i < N; i++) {
		struct thread_stat *t = &s.threads[i];
		t->slot = (uint32_t)i;
		t->tid = 10000 + i;
		snprintf(t->name, sizeof(t->name), "worker-%d", i);
		t->alloc_rate = t->cpu_percent = NAN;
		t->hist.pts = calloc(SESSION_HISTORY_THREAD, sizeof(*t->hist.pts));
		assert_non_null(t->hist.pts);
		t->hist.cap = SESSION_HISTORY_THREAD;
		t->hist.len = SESSION_HISTORY_THREAD;
		t->hist.head = (size_t)i % SESSION_HISTORY_THREAD;
		for (size_t k = 0; k < SESSION_HISTORY_THREAD; k++)
			t->hist.pts[k] = (struct history_point){ .t = (double)k, .live_bytes = 1.0,
				.alloc_rate = NAN, .rss_bytes = NAN, .cpu_percent = NAN };
	}
	char dir[] = "/tmp/memtop-html-many.XXXXXX", path[64], err[256] = "";
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.html", dir);
	assert_int_equal(html_export(&s, path, false, err, sizeof(err)), 0);
	char *page = slurp(path, NULL);
	char *d = data_of(page);
	assert_int_equal(count(d, "\"name\":\"worker-"), N);
	assert_int_equal(count(d, "\"slot\":"), N);
	free(d);
	free(page);
	unlink(path);
	rmdir(dir);
	for (int i = 0; i < N; i++)
		free(s.threads[i].hist.pts);
	free(s.threads);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_page_and_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_text_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_collector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_regular_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replaced_atomically, setup, teardown),
		cmocka_unit_test_setup_teardown(test_existing_not_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_dir, setup, teardown),
		cmocka_unit_test(test_many_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
