/*
 * pprof.h - a heap profile in pprof's format (github.com/google/pprof,
 * proto/profile.proto), gzip-compressed, for `memtop report --pprof`:
 * what go tool pprof, Pyroscope and Parca read.
 *
 * Sample types, in this order: alloc_objects (count), alloc_space (bytes),
 * inuse_objects (count), inuse_space (bytes).  Frames are memtop's
 * symbolized strings ("function at file:line (module)"), split into a
 * function name, a file name and a line for pprof's Function and Line.
 */
#ifndef MEMTOP_PPROF_H
#define MEMTOP_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PPROF_VALUES 4

struct pprof_sample {
	const char *const *frames;   /* innermost first, as session_stack_frames() */
	size_t nframes;
	int64_t values[PPROF_VALUES];
};

/* Encode the samples (the protobuf, uncompressed) into a malloc'd buffer:
 * 0 and *out, *len, or -1 (out of memory). */
int pprof_encode(const struct pprof_sample *s, size_t n, uint64_t time_ns, uint64_t duration_ns,
		 unsigned char **out, size_t *len);

/* Write the gzip-compressed profile to path, opened as
 * options_open_output does (a new file, mode 0644; an existing one only
 * with force; never through a symbolic link): 0, or -1 with a reason
 * naming path. */
int pprof_write(const char *path, bool force, const struct pprof_sample *s, size_t n,
		uint64_t time_ns, uint64_t duration_ns, char *err, size_t errlen);

#endif
