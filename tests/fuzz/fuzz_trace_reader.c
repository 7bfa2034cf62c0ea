/*
 * fuzz_trace_reader.c - libFuzzer target: any bytes as one trace file,
 * through the reader (header, every block, checksums, the event decoder
 * and the time-ordered merge) and the report built on it (the replay's
 * block table, buckets, leaks, the session, its JSON and folded stacks).
 *
 * Built by `make check-fuzz` with clang -fsanitize=fuzzer,address,undefined
 * and run from the seed corpus in tests/fuzz/corpus (a real small trace):
 * a crash, a leak, undefined behaviour or a hang (-timeout) fails the run.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "trace_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t sink;

static void on_stack(void *ctx, const struct trace_file *f, uint32_t id, uint32_t flags,
		     const uint64_t *frames, uint32_t depth)
{
	for (uint32_t i = 0; i < depth; i++)
		sink += frames[i];
	sink += id + flags + f->nthreads;
	(void)ctx;
}

static void on_module(void *ctx, const struct trace_file *f, const struct mt_tb_module *m,
		      const char *path)
{
	sink += m->start + strlen(path);
	(void)ctx;
	(void)f;
}

static void on_event(void *ctx, const struct trace_file *f, const struct trace_event *e)
{
	sink += e->ptr + e->size + e->time_ns + f->threads[e->thread].tid;
	(void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	trace_reader *r = trace_reader_new();
	if (!r)
		return 0;
	struct trace_visitor v = { .stack = on_stack, .module = on_module, .event = on_event };
	if (trace_reader_add_buffer(r, "trace.1.mtt", data, size, err, sizeof(err)) == 0) {
		trace_reader_scan(r, &v);
		trace_reader_events(r, 0, &v);
	}
	trace_reader_free(r);

	report *rep = report_new();
	if (rep && report_load_buffer(rep, data, size, 1.0, err, sizeof(err)) == 0) {
		FILE *null = fopen("/dev/null", "w");
		if (null) {
			report_write_json(rep, null);
			report_write_text(rep, null);
			report_write_collapsed(rep, null, err, sizeof(err));
			fclose(null);
		}
	}
	report_free(rep);
	return 0;
}
