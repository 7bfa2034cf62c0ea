/*
 * shmreader.h - memtop's side of the shared-memory protocol: open and
 * validate a process's segment, read its thread slots without ever blocking
 * the writers, drive the publication tick, and clean up stale segments.
 */
#ifndef MEMTOP_SHMREADER_H
#define MEMTOP_SHMREADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shm_layout.h"

struct shm_segment {
	char name[64];
	int pid;
	void *base;
	size_t size;
	ino_t ino;
	dev_t dev;
	struct mt_shm_header *hdr;
	/* The process is gone: a thread it lost in the middle of counting an
	 * event left its sequence odd for good (see shm_segment_read_thread). */
	bool writer_gone;
};

/* Figures of one thread: main and nested counters summed. */
struct thread_figures {
	uint32_t index;
	int tid;
	uint32_t state;             /* enum mt_slot_state */
	char name[MT_NAME_LEN + 1];
	struct mt_counters c;
	uint64_t lost;              /* events a doubly nested signal handler made */
	uint64_t start_ns, end_ns, cpu_ns;
	uint64_t publish_ns;        /* when the figures were taken, if from a snapshot */
	bool from_live;             /* true: current live counters */
};

/* 0 on success.  -1 with errno ENOENT when there is no segment (yet);
 * other failures fill err with a one-line reason. */
int shm_segment_open(struct shm_segment *self, int pid, char *err, size_t errlen);
/* The same for a segment that must belong to user `owner` rather than to
 * memtop's (memtop --attach run by root on another user's process). */
int shm_segment_open_owned(struct shm_segment *self, int pid, uid_t owner, char *err,
			   size_t errlen);
/* Open a segment by file path (for tests and for cleanup). */
int shm_segment_open_path(struct shm_segment *self, const char *path, int pid,
			  char *err, size_t errlen);
void shm_segment_close(struct shm_segment *self);
/* Remap if the writer grew the segment. */
int shm_segment_refresh(struct shm_segment *self);
/* True if the name now designates another segment (the process exec'd). */
bool shm_segment_replaced(const struct shm_segment *self);
/* Remove the name, unless it now designates another segment. */
void shm_segment_unlink(struct shm_segment *self);

/* Ask the writers for fresh snapshots. */
void shm_segment_tick(struct shm_segment *self);

/* Number of slots that may hold a thread. */
uint32_t shm_segment_slot_count(const struct shm_segment *self);
/* 0 and filled if slot idx holds a thread, -1 otherwise. */
int shm_segment_read_thread(const struct shm_segment *self, uint32_t idx,
			    struct thread_figures *out);
/* Latest published mallinfo; false if none yet or not valid. */
bool shm_segment_read_mallinfo(const struct shm_segment *self, struct mt_mallinfo *out);
void shm_segment_read_overflow(const struct shm_segment *self, struct mt_overflow *out);
/* Of the overflow pool's threads, those there because the file could not
 * grow to hold their slot (/dev/shm full...), not because every slot was
 * taken, and the errno of the first such failure (0 when none).  Read
 * before shm_segment_read_overflow, the count is at most the threads it
 * reads. */
void shm_segment_read_unbacked(const struct shm_segment *self, uint32_t *threads, int *err);

/* The collector's sampling parameters; false if it does not sample stacks. */
bool shm_segment_read_sampling(const struct shm_segment *self, struct mt_sampling *out);
/* Stack ids that may hold a record: 0 .. count-1. */
uint32_t shm_segment_stack_count(const struct shm_segment *self);
/* 0 and filled (frames, depth <= MT_STACK_MAX_DEPTH, aggregates) if stack id
 * is a valid record; -1 otherwise. */
int shm_segment_read_stack(const struct shm_segment *self, uint32_t id, struct mt_stack_rec *out);
/* Stack areas (one per thread that samples): 0 .. count-1. */
uint32_t shm_segment_area_count(const struct shm_segment *self);
/* 0 and a consistent copy of area id (no entry torn by its owner's update;
 * freed_w as of the copy), -1 if it is not there or stayed busy. */
int shm_segment_read_area(const struct shm_segment *self, uint32_t id, struct mt_stack_area *out);

/* The modules the collector recorded (for symbolization): 0 .. count-1. */
uint32_t shm_segment_module_count(const struct shm_segment *self);
/* 0 and filled (path NUL-terminated) if idx is a complete entry. */
int shm_segment_read_module(const struct shm_segment *self, uint32_t idx, struct mt_module *out);

/* Samples that went to the catch-all stack because the process-wide stack
 * table had no room (not those of a thread whose own table was full: the
 * areas' catch-all entries hold every one), sampled blocks whose free
 * cannot be credited. */
void shm_segment_read_stack_losses(const struct shm_segment *self, uint64_t *stacks_lost,
				   uint64_t *live_untracked);
/* Threads that stopped sampling because no stack area could be added for
 * them, and the errno of the first failure to add stack storage (0 when
 * none; it may be set with no such thread: a record that could not be
 * added sends its samples to the catch-all stack). */
void shm_segment_read_stack_room(const struct shm_segment *self, uint32_t *threads, int *err);

/* Remove segments in dir (normally /dev/shm) of our uid whose process is
 * gone, unless the memtop that launched it still runs; own_session (a pid,
 * or 0) names a session whose dead processes' segments go too; the trace
 * clock pages of memtops that are gone go as well (traceclock.h).  Returns
 * how many files were removed. */
int shm_cleanup_stale(const char *dir, const char *procroot, int own_session);

#endif
