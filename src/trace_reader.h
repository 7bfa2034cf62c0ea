/*
 * trace_reader.h - reading a memtop trace (memtop-trace(5), the layout of
 * preload/trace_format.h): the files of a trace directory, their blocks
 * checked one by one, and the allocation events of each process decoded
 * and delivered in time order.
 *
 * Reading goes in two passes over each file.  trace_reader_scan() walks
 * every block, verifies its checksum, keeps what is small (threads, clock
 * pairs, the end and session records), hands stacks, modules and metrics
 * to the visitor, and indexes the event blocks.  trace_reader_events()
 * then decodes the event blocks of one process and merges its threads'
 * streams by time stamp and, where the clocks cannot tell, by cause (a
 * free after the allocation of its block, an allocation after the free of
 * its address's previous block), so the visitor sees the process's calls
 * in an order they could have happened in.
 *
 * Damage never crashes the reader nor makes it loop: every loop is bounded
 * by the bytes it has.  A file that is not a trace (bad magic) or of
 * another version is an error naming the file and the offset; a torn last
 * block (a process killed while writing), a block whose checksum does not
 * match, or an event block that does not decode is a warning naming the
 * file and the offset, and what comes before it is used.
 */
#ifndef MEMTOP_TRACE_READER_H
#define MEMTOP_TRACE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm_layout.h"
#include "trace_format.h"

/* No block the collector writes comes near this; larger is damage. */
#define TRACE_MAX_BLOCK   (16u << 20)
/* Warnings kept for the report; later ones are only counted. */
#define TRACE_MAX_WARNINGS 64

/* One thread of one traced process, from its MT_TB_THREAD records. */
struct trace_thread {
	int32_t tid;
	uint32_t slot;               /* the collector's slot; UINT32_MAX: no start record */
	char name[MT_NAME_LEN + 1];  /* the latest name recorded, NUL-terminated */
	bool started, exited;
	uint64_t start_ns, end_ns;   /* CLOCK_REALTIME, 0: unknown */
	uint64_t cpu_ns;             /* at exit, 0: unknown */
};

/* One event: an allocation call of one thread (trace_format.h). */
struct trace_event {
	uint32_t thread;             /* index into the file's threads[] */
	uint8_t op;                  /* MT_EV_* */
	uint8_t flags;               /* MT_EVF_* */
	bool nested;                 /* made by a signal handler (MT_EVENTS_NESTED) */
	uint64_t ticks;
	uint64_t time_ns;            /* CLOCK_REALTIME, from the clock pairs */
	uint64_t ptr;                /* ALLOC: the block; FREE, REALLOC_FREE: the freed one;
				      * REALLOC: the old one */
	uint64_t new_ptr;            /* REALLOC: the new block */
	uint64_t size;               /* requested (ALLOC, REALLOC, FAILED) */
	uint64_t usable;             /* ALLOC, REALLOC: of the new block; FREE: of the freed one */
	uint64_t old_usable;         /* REALLOC, REALLOC_FREE: of the old block */
	uint64_t align;              /* ALLOC with MT_EVF_ALIGN */
	uint32_t stack_id;           /* MT_EVF_SAMPLED */
	uint64_t weight;             /* MT_EVF_SAMPLED, units of 1/MT_WEIGHT_ONE; 0: not sampled */
};

struct trace_block_ref;          /* the event index, private */

/* One file of the trace.  The reader owns it; fields are read-only. */
struct trace_file {
	char *path;
	const char *name;            /* the last component of path */
	bool is_session;             /* memtop's session.mtt */
	bool usable;                 /* its header is valid: blocks are read */
	struct mt_trace_header hdr;
	uint64_t size;               /* bytes when opened */
	uint64_t read_end;           /* blocks were read up to here */
	bool stopped;                /* reading stopped before the end (damage) */
	uint64_t blocks;             /* blocks read */
	uint64_t events;             /* events decoded (after trace_reader_events) */
	uint64_t events_declared;    /* the event blocks' counts */
	uint64_t event_bytes;        /* payload bytes of the event blocks */
	uint64_t events_skipped;     /* declared but not decodable */
	uint64_t blocks_rejected;    /* event blocks out of their stream's sequence
				      * (copies, moved ones): not read */
	uint64_t blocks_missing;     /* gaps in the streams' block numbers */
	bool end_mismatch;           /* the end record's count is not the blocks' */
	bool has_end;
	struct mt_tb_end end;
	bool has_session;
	struct mt_tb_session session;
	char *command;               /* the session's command line, or NULL */
	char *end_description;       /* the session's "end=" text, or NULL */
	char *sampling;              /* the session's "sampling=" text, or NULL */
	bool samples_seen;           /* an event carried a stack */
	uint64_t first_ns, last_ns;  /* time span seen in blocks and events, 0: none */

	struct trace_thread *threads;
	size_t nthreads, threads_cap;

	/* private: the event-block index, the tid -> thread map, the
	 * streams' next block numbers */
	struct trace_block_ref *ev;
	size_t nev, ev_cap;
	struct u64map *tids, *slots, *seqs;
};

/* Every event the process wrote was read: it has its end record, no
 * damage stopped the reading, every block decoded and fits its stream's
 * sequence, and the end record's count is the blocks'. */
bool trace_file_complete(const struct trace_file *f);

/* What the visitor is told during trace_reader_scan (every member may be
 * NULL).  Payloads are validated: sizes fit, strings are terminated. */
struct trace_visitor {
	void *ctx;
	void (*stack)(void *ctx, const struct trace_file *f, uint32_t id, uint32_t flags,
		      const uint64_t *frames, uint32_t depth);
	void (*module)(void *ctx, const struct trace_file *f, const struct mt_tb_module *m,
		       const char *path);
	void (*metrics)(void *ctx, const struct trace_file *f, const struct mt_tb_metrics *m);
	/* trace_reader_events */
	void (*event)(void *ctx, const struct trace_file *f, const struct trace_event *e);
	/* every warning as it is found (they are also kept, see below); those
	 * of a large trace_reader_events pass, which decodes in a thread of
	 * its own, when the pass ends */
	void (*warning)(void *ctx, const char *msg);
};

typedef struct trace_reader trace_reader;

trace_reader *trace_reader_new(void);
void trace_reader_free(trace_reader *self);

/* Add the trace at path: a directory (its session.mtt and every
 * trace.PID.mtt in it; other files are ignored) or one trace file.  0, or
 * -1 with a one-line reason in err: not readable, no trace there, a file
 * that is not a memtop trace or of another format version. */
int trace_reader_open(trace_reader *self, const char *path, char *err, size_t errlen);

/* Add one file held in memory (tests, fuzzing); name as a file name.
 * The reader keeps a pointer to data: it must outlive the reader. */
int trace_reader_add_buffer(trace_reader *self, const char *name, const void *data, size_t len,
			    char *err, size_t errlen);

/* Pass 1 over every file: blocks, checksums, threads, clocks; the visitor's
 * stack, module and metrics callbacks. */
void trace_reader_scan(trace_reader *self, const struct trace_visitor *v);

/* Pass 2 over file i (after the scan): its events in time order, to the
 * visitor's event callback in the calling thread (a large file is decoded
 * and merged meanwhile in a second thread). */
void trace_reader_events(trace_reader *self, size_t i, const struct trace_visitor *v);

size_t trace_reader_file_count(const trace_reader *self);
const struct trace_file *trace_reader_file(const trace_reader *self, size_t i);

/* Warnings so far, oldest first; *dropped: how many were not kept. */
const char *const *trace_reader_warnings(const trace_reader *self, size_t *n, size_t *dropped);

/* CLOCK_REALTIME nanoseconds of a time stamp (every file's clock pairs:
 * one machine, one counter); 0 when no pair is known. */
uint64_t trace_reader_time_ns(const trace_reader *self, uint64_t ticks);

/* Read and check the header of a trace file held in data[0, len): 0, or
 * -1 with a reason naming the offset (used by the scan and by tests). */
int trace_header_check(const unsigned char *data, size_t len, struct mt_trace_header *out,
		       char *err, size_t errlen);

/* A small open-addressing map from 64-bit keys to 64-bit values (keys are
 * any value: a separate flag marks used cells).  The report uses it too. */
struct u64map;
struct u64map *u64map_new(void);
void u64map_free(struct u64map *m);
/* The value of key, or NULL. */
uint64_t *u64map_get(struct u64map *m, uint64_t key);
/* The value of key, inserted as 0 if new (*fresh true); NULL: out of memory. */
uint64_t *u64map_put(struct u64map *m, uint64_t key, bool *fresh);
size_t u64map_count(const struct u64map *m);

#endif
