/*
 * test_pprof.c - the pprof profile of memtop report --pprof (src/pprof.c):
 * the protobuf decoded field by field here (profile.proto: sample types,
 * samples with their locations and values, functions, lines, the string
 * table, times), as encoded and as written gzip-compressed, including a
 * profile with no samples at all and one written by memtop report from a
 * trace whose main process made no allocation (UBSan found
 * memcpy(dst, NULL, 0) there: run under --enable-sanitizers).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "options.h"
#include "pprof.h"
#include "report.h"
#include "trace_build.h"

#define T0_NS 1000000000000ull

/* ---------------------------------------------------------------- decoding */

#define MAX_ITEMS 16

struct vtype {
	uint64_t type, unit;
};

struct psample {
	uint64_t loc[MAX_ITEMS], val[MAX_ITEMS];
	size_t nloc, nval;
};

struct profile {
	struct vtype st[MAX_ITEMS];
	size_t nst;
	struct psample s[MAX_ITEMS];
	size_t ns;
	uint64_t loc_id[MAX_ITEMS], loc_func[MAX_ITEMS], loc_line[MAX_ITEMS];
	size_t nloc;
	uint64_t fn_id[MAX_ITEMS], fn_name[MAX_ITEMS], fn_file[MAX_ITEMS];
	size_t nfn;
	char *str[64];
	size_t nstr;
	uint64_t time_ns, duration_ns, default_type;
	struct vtype period_type;
};

static uint64_t varint(const unsigned char **p, const unsigned char *end)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		assert_true(*p < end);
		unsigned char b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	fail_msg("varint too long");
	return 0;
}

/* Calls f for every field of the message [p, end): its number, and either
 * its varint value or its bytes. */
typedef void (*field_fn)(void *ctx, unsigned field, uint64_t v, const unsigned char *d,
			 size_t n);

static void fields(const unsigned char *p, const unsigned char *end, field_fn f, void *ctx)
{
	while (p < end) {
		uint64_t key = varint(&p, end);
		unsigned wire = key & 7, field = (unsigned)(key >> 3);
		if (wire == 0) {
			f(ctx, field, varint(&p, end), NULL, 0);
		} else if (wire == 2) {
			uint64_t n = varint(&p, end);
			assert_true(n <= (uint64_t)(end - p));
			f(ctx, field, 0, p, (size_t)n);
			p += n;
		} else {
			fail_msg("wire type %u of field %u: pprof uses varints and bytes only", wire,
				 field);
		}
	}
}

static void packed(const unsigned char *d, size_t n, uint64_t *out, size_t *nout)
{
	const unsigned char *p = d, *end = d + n;
	while (p < end) {
		assert_true(*nout < MAX_ITEMS);
		out[(*nout)++] = varint(&p, end);
	}
}

static void on_vtype(void *ctx, unsigned field, uint64_t v, const unsigned char *d, size_t n)
{
	struct vtype *t = ctx;
	if (field == 1)
		t->type = v;
	else if (field == 2)
		t->unit = v;
	(void)d, (void)n;
}

static void on_sample(void *ctx, unsigned field, uint64_t v, const unsigned char *d, size_t n)
{
	struct psample *s = ctx;
	assert_non_null(d);   /* both fields packed */
	if (field == 1)
		packed(d, n, s->loc, &s->nloc);
	else if (field == 2)
		packed(d, n, s->val, &s->nval);
	(void)v;
}

struct loc_ctx {
	uint64_t id, func, line;
};

static void on_line(void *ctx, unsigned field, uint64_t v, const unsigned char *d, size_t n)
{
	struct loc_ctx *l = ctx;
	if (field == 1)
		l->func = v;
	else if (field == 2)
		l->line = v;
	(void)d, (void)n;
}

static void on_location(void *ctx, unsigned field, uint64_t v, const unsigned char *d, size_t n)
{
	struct loc_ctx *l = ctx;
	if (field == 1)
		l->id = v;
	else if (field == 4)
		fields(d, d + n, on_line, l);
}

static void on_function(void *ctx, unsigned field, uint64_t v, const unsigned char *d, size_t n)
{
	uint64_t *f = ctx;   /* id, name, system name, file */
	if (field >= 1 && field <= 4 && !d)
		f[field - 1] = v;
	(void)n;
}

static void on_profile(void *ctx, unsigned field, uint64_t v, const unsigned char *d, size_t n)
{
	struct profile *p = ctx;
	switch (field) {
	case 1:
		assert_true(p->nst < MAX_ITEMS);
		fields(d, d + n, on_vtype, &p->st[p->nst++]);
		break;
	case 2:
		assert_true(p->ns < MAX_ITEMS);
		fields(d, d + n, on_sample, &p->s[p->ns++]);
		break;
	case 4: {
		struct loc_ctx l = { 0 };
		fields(d, d + n, on_location, &l);
		assert_true(p->nloc < MAX_ITEMS);
		p->loc_id[p->nloc] = l.id;
		p->loc_func[p->nloc] = l.func;
		p->loc_line[p->nloc++] = l.line;
		break;
	}
	case 5: {
		uint64_t f[4] = { 0 };
		fields(d, d + n, on_function, f);
		assert_true(p->nfn < MAX_ITEMS);
		assert_int_equal(f[1], f[2]);   /* name and system name */
		p->fn_id[p->nfn] = f[0];
		p->fn_name[p->nfn] = f[1];
		p->fn_file[p->nfn++] = f[3];
		break;
	}
	case 6:
		assert_true(p->nstr < 64);
		p->str[p->nstr] = strndup(d ? (const char *)d : "", n);
		assert_non_null(p->str[p->nstr++]);
		break;
	case 9: p->time_ns = v; break;
	case 10: p->duration_ns = v; break;
	case 11: fields(d, d + n, on_vtype, &p->period_type); break;
	case 14: p->default_type = v; break;
	default:
		fail_msg("unexpected field %u", field);
	}
}

static void decode(const unsigned char *b, size_t n, struct profile *p)
{
	memset(p, 0, sizeof(*p));
	fields(b, b + n, on_profile, p);
}

static void profile_free(struct profile *p)
{
	for (size_t i = 0; i < p->nstr; i++)
		free(p->str[i]);
}

static const char *str(const struct profile *p, uint64_t i)
{
	assert_true(i < p->nstr);
	return p->str[i];
}

/* What every profile of memtop holds, samples or not. */
static void check_frame(const struct profile *p, uint64_t time_ns, uint64_t duration_ns)
{
	static const char *const types[4][2] = {
		{ "alloc_objects", "count" }, { "alloc_space", "bytes" },
		{ "inuse_objects", "count" }, { "inuse_space", "bytes" },
	};
	assert_true(p->nstr >= 1);
	assert_string_equal(p->str[0], "");
	assert_int_equal(p->nst, 4);
	for (int i = 0; i < 4; i++) {
		assert_string_equal(str(p, p->st[i].type), types[i][0]);
		assert_string_equal(str(p, p->st[i].unit), types[i][1]);
	}
	assert_string_equal(str(p, p->period_type.type), "space");
	assert_string_equal(str(p, p->period_type.unit), "bytes");
	assert_string_equal(str(p, p->default_type), "alloc_space");
	assert_int_equal(p->time_ns, time_ns);
	assert_int_equal(p->duration_ns, duration_ns);
}

/* The gzip file at path, inflated. */
static unsigned char *gunzip(const char *path, size_t *len)
{
	gzFile gz = gzopen(path, "rb");
	assert_non_null(gz);
	size_t cap = 1 << 16, n = 0;
	unsigned char *b = malloc(cap);
	assert_non_null(b);
	int r;
	while ((r = gzread(gz, b + n, (unsigned)(cap - n))) > 0) {
		n += (size_t)r;
		if (n == cap) {
			cap *= 2;
			b = realloc(b, cap);
			assert_non_null(b);
		}
	}
	assert_int_equal(r, 0);
	assert_int_equal(gzclose(gz), Z_OK);
	*len = n;
	return b;
}

/* ---------------------------------------------------------------- tests */

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/memtop-test-pprof.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_no_samples(void **state)
{
	(void)state;
	unsigned char *b = NULL;
	size_t n = 0;
	assert_int_equal(pprof_encode(NULL, 0, 123456789, 42, &b, &n), 0);
	struct profile p;
	decode(b, n, &p);
	check_frame(&p, 123456789, 42);
	assert_int_equal(p.ns, 0);
	assert_int_equal(p.nloc, 0);
	assert_int_equal(p.nfn, 0);
	profile_free(&p);
	free(b);
}

static void test_samples(void **state)
{
	(void)state;
	static const char *const a[] = { "grow at buf.c:12 (/bin/prog)", "main at prog.c:30 (/bin/prog)" };
	static const char *const b[] = { "grow at buf.c:12 (/bin/prog)", "helper (/lib/libx.so)" };
	struct pprof_sample smp[2] = {
		{ a, 2, { 3, 300, 1, 100 } },
		{ b, 2, { 5, 500, 0, 0 } },
	};
	char path[128];
	snprintf(path, sizeof(path), "%s/p.pb.gz", tmpdir);
	char err[256];
	assert_int_equal(pprof_write(path, false, smp, 2, 7, 9, err, sizeof(err)), 0);
	/* an existing file only with force */
	assert_int_equal(pprof_write(path, false, smp, 2, 7, 9, err, sizeof(err)), -1);
	size_t n;
	unsigned char *raw = gunzip(path, &n);
	struct profile p;
	decode(raw, n, &p);
	check_frame(&p, 7, 9);
	assert_int_equal(p.ns, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(p.s[i].nval, 4);
		for (int v = 0; v < 4; v++)
			assert_int_equal(p.s[i].val[v], (uint64_t)smp[i].values[v]);
		assert_int_equal(p.s[i].nloc, 2);
	}
	/* one location per distinct frame, shared, leaf first */
	assert_int_equal(p.nloc, 3);
	assert_int_equal(p.s[0].loc[0], p.s[1].loc[0]);
	assert_true(p.s[0].loc[1] != p.s[1].loc[1]);
	/* each location's function and line, by the ids */
	const char *want_fn[3] = { "grow", "main", "helper" };
	const char *want_file[3] = { "buf.c", "prog.c", NULL };
	uint64_t want_line[3] = { 12, 30, 0 };
	uint64_t ids[3] = { p.s[0].loc[0], p.s[0].loc[1], p.s[1].loc[1] };
	for (int k = 0; k < 3; k++) {
		size_t li = 0, fi = 0;
		while (li < p.nloc && p.loc_id[li] != ids[k])
			li++;
		assert_true(li < p.nloc);
		assert_int_equal(p.loc_line[li], want_line[k]);
		while (fi < p.nfn && p.fn_id[fi] != p.loc_func[li])
			fi++;
		assert_true(fi < p.nfn);
		assert_string_equal(str(&p, p.fn_name[fi]), want_fn[k]);
		if (want_file[k])
			assert_string_equal(str(&p, p.fn_file[fi]), want_file[k]);
		else
			assert_int_equal(p.fn_file[fi], 0);
	}
	profile_free(&p);
	free(raw);
}

/* memtop report --pprof on a trace whose main process allocated nothing,
 * stacks sampled: a valid profile without samples. */
static void test_report_empty_process(void **state)
{
	(void)state;
	char path[128], pb[128], out[128];
	struct tb t = { 0 };
	header(&t, 0, 1, MT_TRACE_VERSION);
	struct mt_tb_session r = { 77, 0, T0_NS, T0_NS + 2000000000ull };
	const char tail[] = "./idle\0end=exited with status 0\0sampling=0.01:0.5:1:2048:65536:10:64:4";
	block(&t, MT_TB_SESSION, 0, &r, sizeof(r), tail, sizeof(tail));
	snprintf(path, sizeof(path), "%s/session.mtt", tmpdir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(t.b, 1, t.n, f), t.n);
	fclose(f);
	t.n = 0;
	header(&t, 77, 1, MT_TRACE_VERSION);
	clock_rec(&t, 1000, T0_NS + 1000, 1000000000);
	thread_rec(&t, 77, MT_THREAD_START, 0, "idle", T0_NS + 1000, 0);
	struct mt_tb_end e = { T0_NS + 1000000000ull, 0, 0 };
	block(&t, MT_TB_END, 0, &e, sizeof(e), NULL, 0);
	snprintf(path, sizeof(path), "%s/trace.77.mtt", tmpdir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(t.b, 1, t.n, f), t.n);
	fclose(f);
	free(t.b);

	struct options o;
	options_init(&o);
	o.mode = MEMTOP_REPORT;
	o.report_dir = tmpdir;
	snprintf(pb, sizeof(pb), "%s/empty.pb.gz", tmpdir);
	snprintf(out, sizeof(out), "%s/report.txt", tmpdir);
	o.pprof_path = pb;
	o.output_path = out;
	assert_int_equal(report_main(&o), 0);
	size_t n;
	unsigned char *raw = gunzip(pb, &n);
	struct profile p;
	decode(raw, n, &p);
	check_frame(&p, T0_NS, 2000000000ull);
	assert_int_equal(p.ns, 0);
	assert_int_equal(p.nloc, 0);
	profile_free(&p);
	free(raw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_samples),
		cmocka_unit_test_setup_teardown(test_samples, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_report_empty_process, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
