/*
 * pprof.c - a hand-written protobuf encoder for pprof's Profile message,
 * and its gzip file (zlib).
 *
 * Only what a heap profile needs: sample types, samples (location ids,
 * values), locations with one line each, functions, the string table, the
 * time and duration.  Each distinct frame string is one location; each
 * distinct (name, file) one function.  Field numbers are profile.proto's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "options.h"
#include "pprof.h"
#include "trace_reader.h"

/* profile.proto field numbers */
enum {
	PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_LOCATION = 4, PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6, PROFILE_TIME_NANOS = 9, PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11, PROFILE_PERIOD = 12, PROFILE_DEFAULT_SAMPLE_TYPE = 14,
	VALUETYPE_TYPE = 1, VALUETYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2,
	LOCATION_ID = 1, LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1, LINE_LINE = 2,
	FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4,
};

#define WIRE_VARINT 0
#define WIRE_LEN    2

struct pb {
	unsigned char *b;
	size_t n, cap;
	bool oom;
};

static void pb_put(struct pb *p, const void *d, size_t n)
{
	/* nothing to add: an empty message's bytes may be NULL, which
	 * memcpy must not be given even for no bytes */
	if (p->oom || n == 0)
		return;
	if (p->n + n > p->cap) {
		size_t cap = p->cap ? p->cap : 4096;
		while (cap < p->n + n)
			cap *= 2;
		unsigned char *b = realloc(p->b, cap);
		if (!b) {
			p->oom = true;
			return;
		}
		p->b = b;
		p->cap = cap;
	}
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void pb_varint(struct pb *p, uint64_t v)
{
	unsigned char buf[10];
	size_t n = (size_t)(mt_put_varint(buf, v) - buf);
	pb_put(p, buf, n);
}

static void pb_uint(struct pb *p, unsigned field, uint64_t v)
{
	pb_varint(p, (uint64_t)field << 3 | WIRE_VARINT);
	pb_varint(p, v);
}

static void pb_bytes(struct pb *p, unsigned field, const void *d, size_t n)
{
	pb_varint(p, (uint64_t)field << 3 | WIRE_LEN);
	pb_varint(p, n);
	pb_put(p, d, n);
}

/* A nested message: its bytes were built in sub, which is emptied. */
static void pb_msg(struct pb *p, unsigned field, struct pb *sub)
{
	if (sub->oom)
		p->oom = true;
	pb_bytes(p, field, sub->b, sub->n);
	sub->n = 0;
}

/* ---------------------------------------------------------------- tables */

struct strtab {
	struct u64map *idx;          /* hash -> index + 1 (collisions probe on) */
	char **s;
	size_t n, cap;
	bool oom;
};

static uint64_t hash_str(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

/* The index of s[0, n) in the table, added if new. */
static uint64_t str_id(struct strtab *t, const char *s, size_t n)
{
	uint64_t h = hash_str(s, n);
	for (unsigned probe = 0; probe < 64; probe++) {
		bool fresh;
		uint64_t *v = u64map_put(t->idx, h + probe, &fresh);
		if (!v) {
			t->oom = true;
			return 0;
		}
		if (!fresh) {
			const char *x = t->s[*v - 1];
			if (strlen(x) == n && memcmp(x, s, n) == 0)
				return *v - 1;
			continue;
		}
		if (t->n == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 256;
			char **x = realloc(t->s, cap * sizeof(*x));
			if (!x) {
				t->oom = true;
				*v = 1;  /* "" */
				return 0;
			}
			t->s = x;
			t->cap = cap;
		}
		char *copy = malloc(n + 1);
		if (!copy) {
			t->oom = true;
			*v = 1;
			return 0;
		}
		memcpy(copy, s, n);
		copy[n] = '\0';
		t->s[t->n++] = copy;
		*v = t->n;
		return t->n - 1;
	}
	t->oom = true;
	return 0;
}

/* A frame string split: "NAME at FILE:LINE (MODULE)", "NAME (MODULE)". */
struct frame_parts {
	const char *name;
	size_t name_len;
	const char *file;
	size_t file_len;
	int64_t line;
};

static void split_frame(const char *s, struct frame_parts *out)
{
	size_t n = strlen(s);
	const char *paren = NULL;
	if (n >= 2 && s[n - 1] == ')') {
		for (const char *q = s + n - 1; q > s; q--)
			if (q[-1] == ' ' && q[0] == '(') {
				paren = q - 1;
				break;
			}
	}
	size_t head = paren ? (size_t)(paren - s) : n;
	const char *at = NULL;
	for (size_t i = 0; i + 4 <= head; i++)
		if (memcmp(s + i, " at ", 4) == 0)
			at = s + i;
	memset(out, 0, sizeof(*out));
	out->name = s;
	out->name_len = at ? (size_t)(at - s) : head;
	if (at) {
		const char *fl = at + 4;
		size_t fl_len = (size_t)(s + head - fl);
		const char *colon = NULL;
		for (size_t i = fl_len; i-- > 0;)
			if (fl[i] == ':') {
				colon = fl + i;
				break;
			}
		if (colon && colon + 1 < fl + fl_len) {
			out->line = strtoll(colon + 1, NULL, 10);
			out->file = fl;
			out->file_len = (size_t)(colon - fl);
		} else {
			out->file = fl;
			out->file_len = fl_len;
		}
	}
	/* an unknown function: the whole frame tells locations apart */
	if (out->name_len == 2 && memcmp(s, "??", 2) == 0) {
		out->name = s;
		out->name_len = n;
	}
}

int pprof_encode(const struct pprof_sample *smp, size_t n, uint64_t time_ns, uint64_t duration_ns,
		 unsigned char **out, size_t *len)
{
	struct pb prof = { 0 }, sub = { 0 }, sub2 = { 0 }, locs = { 0 }, funcs = { 0 };
	struct strtab st = { .idx = u64map_new() };
	struct u64map *loc_ids = u64map_new(), *func_ids = u64map_new();
	uint64_t nloc = 0, nfunc = 0;
	int r = -1;
	if (!st.idx || !loc_ids || !func_ids)
		goto done;
	str_id(&st, "", 0);
	uint64_t space = str_id(&st, "space", 5);
	static const char *const types[PPROF_VALUES][2] = {
		{ "alloc_objects", "count" }, { "alloc_space", "bytes" },
		{ "inuse_objects", "count" }, { "inuse_space", "bytes" },
	};
	for (int i = 0; i < PPROF_VALUES; i++) {
		pb_uint(&sub, VALUETYPE_TYPE, str_id(&st, types[i][0], strlen(types[i][0])));
		pb_uint(&sub, VALUETYPE_UNIT, str_id(&st, types[i][1], strlen(types[i][1])));
		pb_msg(&prof, PROFILE_SAMPLE_TYPE, &sub);
	}
	for (size_t i = 0; i < n; i++) {
		/* location ids, packed, leaf first */
		for (size_t k = 0; k < smp[i].nframes; k++) {
			const char *fr = smp[i].frames[k];
			uint64_t sid = str_id(&st, fr, strlen(fr));
			bool fresh;
			uint64_t *lid = u64map_put(loc_ids, sid, &fresh);
			if (!lid)
				goto done;
			if (fresh) {
				*lid = ++nloc;
				struct frame_parts fp;
				split_frame(fr, &fp);
				uint64_t name = str_id(&st, fp.name, fp.name_len);
				uint64_t file = fp.file ? str_id(&st, fp.file, fp.file_len) : 0;
				uint64_t *fid = u64map_put(func_ids, name << 32 | file, &fresh);
				if (!fid)
					goto done;
				if (fresh) {
					*fid = ++nfunc;
					pb_uint(&sub2, FUNCTION_ID, *fid);
					pb_uint(&sub2, FUNCTION_NAME, name);
					pb_uint(&sub2, FUNCTION_SYSTEM_NAME, name);
					if (file)
						pb_uint(&sub2, FUNCTION_FILENAME, file);
					pb_msg(&funcs, PROFILE_FUNCTION, &sub2);
				}
				struct pb line = { 0 };
				pb_uint(&line, LINE_FUNCTION_ID, *fid);
				if (fp.line > 0)
					pb_uint(&line, LINE_LINE, (uint64_t)fp.line);
				pb_uint(&sub2, LOCATION_ID, *lid);
				pb_msg(&sub2, LOCATION_LINE, &line);
				free(line.b);
				pb_msg(&locs, PROFILE_LOCATION, &sub2);
			}
			pb_varint(&sub, *lid);
		}
		struct pb s = { 0 };
		pb_msg(&s, SAMPLE_LOCATION_ID, &sub);
		for (int v = 0; v < PPROF_VALUES; v++)
			pb_varint(&sub, (uint64_t)smp[i].values[v]);
		pb_msg(&s, SAMPLE_VALUE, &sub);
		pb_msg(&prof, PROFILE_SAMPLE, &s);
		free(s.b);
	}
	pb_put(&prof, locs.b, locs.n);
	pb_put(&prof, funcs.b, funcs.n);
	if (locs.oom || funcs.oom || st.oom)
		goto done;
	for (size_t i = 0; i < st.n; i++)
		pb_bytes(&prof, PROFILE_STRING_TABLE, st.s[i], strlen(st.s[i]));
	pb_uint(&prof, PROFILE_TIME_NANOS, time_ns);
	pb_uint(&prof, PROFILE_DURATION_NANOS, duration_ns);
	/* every string below is in the table already */
	pb_uint(&sub, VALUETYPE_TYPE, space);
	pb_uint(&sub, VALUETYPE_UNIT, str_id(&st, "bytes", 5));
	pb_msg(&prof, PROFILE_PERIOD_TYPE, &sub);
	pb_uint(&prof, PROFILE_DEFAULT_SAMPLE_TYPE, str_id(&st, "alloc_space", 11));
	if (prof.oom || st.oom)
		goto done;
	*out = prof.b;
	*len = prof.n;
	prof.b = NULL;
	r = 0;
done:
	free(prof.b);
	free(sub.b);
	free(sub2.b);
	free(locs.b);
	free(funcs.b);
	for (size_t i = 0; i < st.n; i++)
		free(st.s[i]);
	free(st.s);
	u64map_free(st.idx);
	u64map_free(loc_ids);
	u64map_free(func_ids);
	return r;
}

int pprof_write(const char *path, bool force, const struct pprof_sample *s, size_t n,
		uint64_t time_ns, uint64_t duration_ns, char *err, size_t errlen)
{
	unsigned char *buf;
	size_t len;
	if (pprof_encode(s, n, time_ns, duration_ns, &buf, &len) != 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	int fd = options_open_output(path, "--pprof", force, err, errlen);
	if (fd < 0) {
		free(buf);
		return -1;
	}
	gzFile gz = gzdopen(fd, "wb");
	if (!gz) {
		close(fd);
		free(buf);
		snprintf(err, errlen, "cannot write %s: out of memory", path);
		return -1;
	}
	int r = 0;
	size_t done = 0;
	while (done < len) {
		unsigned chunk = len - done > (1u << 30) ? 1u << 30 : (unsigned)(len - done);
		int w = gzwrite(gz, buf + done, chunk);
		if (w <= 0) {
			r = -1;
			break;
		}
		done += (size_t)w;
	}
	int saved = errno;
	if (gzclose(gz) != Z_OK)
		r = -1;
	free(buf);
	if (r != 0)
		snprintf(err, errlen, "writing %s failed: %s", path, strerror(saved ? saved : EIO));
	return r;
}
