/*
 * shmreader.c - open, validate and read a collector's shared-memory segment.
 *
 * The segment is input from another process: every field that sizes or
 * locates something is checked against the mapping before use, and a slot is
 * only read at an offset that lies inside it.  Reads never wait for the
 * writer: a snapshot that moved under us is retried a bounded number of
 * times, then the other copy of the figures is used.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "procstat.h"
#include "shmreader.h"
#include "traceclock.h"
#include "snapshot.h"

#define SHM_DIR "/dev/shm"

static int fail(char *err, size_t errlen, int e, const char *fmt, const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, what);
	errno = e;
	return -1;
}

static int validate(struct shm_segment *self, int pid, char *err, size_t errlen)
{
	const struct mt_shm_header *h = self->hdr;
	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != MT_MAGIC)
		return fail(err, errlen, EPROTO, "%s is not a memtop segment (bad magic)", self->name);
	if (h->layout_version != MT_LAYOUT_VERSION) {
		if (err)
			snprintf(err, errlen, "%s has layout version %u, this memtop reads %u: "
				 "use the memtop that matches the collector", self->name,
				 h->layout_version, MT_LAYOUT_VERSION);
		errno = EPROTO;
		return -1;
	}
	if (h->header_size != MT_HEADER_SIZE || h->slot_size != MT_SLOT_SIZE ||
	    h->slots_offset != MT_HEADER_SIZE || h->slot_capacity > MT_MAX_SLOTS ||
	    h->stacks_offset != MT_STACKS_OFFSET || h->stack_rec_size != MT_STACK_REC_SIZE ||
	    h->stack_capacity > MT_MAX_STACKS || h->areas_offset != MT_AREAS_OFFSET ||
	    h->area_size != MT_AREA_SIZE)
		return fail(err, errlen, EPROTO, "%s has an inconsistent header", self->name);
	if (pid > 0 && h->pid != pid)
		return fail(err, errlen, EPROTO, "%s belongs to another process", self->name);
	return 0;
}

static int map_file(struct shm_segment *self, int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -1;
	/* The collector sizes a new segment in one fallocate, from 0 to the
	 * header's size: empty means still being created, anything between
	 * is not a segment of ours (and would stall whoever waits for it). */
	if (st.st_size == 0) {
		errno = EAGAIN;
		return -1;
	}
	if ((size_t)st.st_size < MT_HEADER_SIZE) {
		errno = EPROTO;
		return -1;
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	self->base = p;
	self->size = (size_t)st.st_size;
	self->hdr = p;
	self->ino = st.st_ino;
	self->dev = st.st_dev;
	return 0;
}

static int open_path_owned(struct shm_segment *self, const char *path, int pid, uid_t owner,
			   char *err, size_t errlen);

int shm_segment_open_path(struct shm_segment *self, const char *path, int pid,
			  char *err, size_t errlen)
{
	return open_path_owned(self, path, pid, geteuid(), err, errlen);
}

static int open_path_owned(struct shm_segment *self, const char *path, int pid, uid_t owner,
			   char *err, size_t errlen)
{
	memset(self, 0, sizeof(*self));
	snprintf(self->name, sizeof(self->name), "%s", path);
	self->pid = pid;
	int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			return fail(err, errlen, ENOENT, "%s does not exist", path);
		if (err)
			snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, EPROTO, "%s is not a regular file", path);
	}
	/* Its figures and its tick are trusted: another user could forge or
	 * read them. */
	if (st.st_uid != owner) {
		close(fd);
		if (err)
			snprintf(err, errlen, "%s is not private to this user: it belongs to uid %u, "
				 "not %u; refusing it", path, (unsigned)st.st_uid, (unsigned)owner);
		errno = EPERM;
		return -1;
	}
	if (st.st_mode & 077) {
		close(fd);
		if (err)
			snprintf(err, errlen, "%s is not private to this user: its mode %04o lets "
				 "others in; refusing it", path, (unsigned)(st.st_mode & 07777));
		errno = EPERM;
		return -1;
	}
	if (map_file(self, fd) != 0) {
		int e = errno;
		close(fd);
		if (e == EAGAIN)
			return fail(err, errlen, EAGAIN, "%s is still being created", path);
		if (e == EPROTO)
			return fail(err, errlen, EPROTO,
				    "%s is not a memtop segment (shorter than a header)", path);
		if (err)
			snprintf(err, errlen, "cannot map %s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	close(fd);
	if ((__atomic_load_n(&self->hdr->flags, __ATOMIC_ACQUIRE) & MT_FLAG_READY) == 0 &&
	    self->hdr->magic == 0) {
		shm_segment_close(self);
		return fail(err, errlen, EAGAIN, "%s is still being created", path);
	}
	if (validate(self, pid, err, errlen) != 0) {
		int e = errno;
		shm_segment_close(self);
		errno = e;
		return -1;
	}
	return 0;
}

int shm_segment_open(struct shm_segment *self, int pid, char *err, size_t errlen)
{
	return shm_segment_open_owned(self, pid, geteuid(), err, errlen);
}

int shm_segment_open_owned(struct shm_segment *self, int pid, uid_t owner, char *err,
			   size_t errlen)
{
	char path[96];
	snprintf(path, sizeof(path), SHM_DIR MT_SHM_NAME_FMT, pid);
	return open_path_owned(self, path, pid, owner, err, errlen);
}

void shm_segment_close(struct shm_segment *self)
{
	if (self->base)
		munmap(self->base, self->size);
	self->base = NULL;
	self->hdr = NULL;
	self->size = 0;
}

int shm_segment_refresh(struct shm_segment *self)
{
	uint64_t want = mt_slot_offset(__atomic_load_n(&self->hdr->slots_mapped, __ATOMIC_ACQUIRE));
	uint32_t stacks = __atomic_load_n(&self->hdr->stacks_mapped, __ATOMIC_ACQUIRE);
	if (stacks > 0 && stacks <= MT_MAX_STACKS && mt_stack_offset(stacks) > want)
		want = mt_stack_offset(stacks);
	uint32_t areas = __atomic_load_n(&self->hdr->areas_mapped, __ATOMIC_ACQUIRE);
	if (areas > 0 && areas <= MT_MAX_AREAS && mt_area_offset(areas) > want)
		want = mt_area_offset(areas);
	if (want <= self->size)
		return 0;
	int fd = open(self->name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_ino != self->ino || st.st_dev != self->dev) {
		close(fd);
		return -1;
	}
	void *old = self->base;
	size_t old_size = self->size;
	if (map_file(self, fd) != 0) {
		close(fd);
		return -1;
	}
	close(fd);
	munmap(old, old_size);
	return 0;
}

bool shm_segment_replaced(const struct shm_segment *self)
{
	struct stat st;
	if (stat(self->name, &st) != 0)
		return false;
	return st.st_ino != self->ino || st.st_dev != self->dev;
}

void shm_segment_unlink(struct shm_segment *self)
{
	struct stat st;
	if (stat(self->name, &st) == 0 && st.st_ino == self->ino && st.st_dev == self->dev)
		unlink(self->name);
}

void shm_segment_tick(struct shm_segment *self)
{
	__atomic_store_n(&self->hdr->reader_pid, (int32_t)getpid(), __ATOMIC_RELAXED);
	__atomic_fetch_add(&self->hdr->tick, 1, __ATOMIC_RELEASE);
}

uint32_t shm_segment_slot_count(const struct shm_segment *self)
{
	uint32_t used = __atomic_load_n(&self->hdr->slots_used, __ATOMIC_ACQUIRE);
	uint32_t mapped = __atomic_load_n(&self->hdr->slots_mapped, __ATOMIC_ACQUIRE);
	size_t slot_end = self->size < MT_STACKS_OFFSET ? self->size : MT_STACKS_OFFSET;
	uint32_t in_map = (uint32_t)((slot_end - MT_HEADER_SIZE) / MT_SLOT_SIZE);
	uint32_t n = used < mapped ? used : mapped;
	n = n < in_map ? n : in_map;
	return n < MT_MAX_SLOTS ? n : MT_MAX_SLOTS;
}

static void add_nested(struct mt_counters *c, const struct mt_nested_counters *n)
{
	c->allocs += n->allocs;
	c->frees += n->frees;
	c->reallocs += n->reallocs;
	c->failed += n->failed;
	c->bytes_allocated += n->bytes_allocated;
	c->usable_allocated += n->usable_allocated;
	c->usable_freed += n->usable_freed;
}

int shm_segment_read_thread(const struct shm_segment *self, uint32_t idx,
			    struct thread_figures *out)
{
	if (idx >= shm_segment_slot_count(self))
		return -1;
	const struct mt_slot *slot =
		(const struct mt_slot *)((const char *)self->base + mt_slot_offset(idx));
	uint32_t state = __atomic_load_n(&slot->state, __ATOMIC_ACQUIRE);
	if (state == MT_SLOT_FREE)
		return -1;
	memset(out, 0, sizeof(*out));
	out->index = idx;
	out->state = state;

	struct mt_snapshot snap;
	uint64_t epoch = 0;
	bool have_snap = mt_snapshot_read(slot, &snap, &epoch) && epoch != 0;
	uint64_t tick = __atomic_load_n(&self->hdr->tick, __ATOMIC_ACQUIRE);
	struct mt_nested_counters nested;
	/* A snapshot taken since the last tick is as fresh as we can ask for
	 * and costs the writer nothing; otherwise the thread has been quiet
	 * and its live counters are stable enough to copy.  Once the process
	 * is gone the live counters are final, and fresher than any snapshot. */
	if (have_snap && snap.tick == tick && tick != 0 && !self->writer_gone) {
		out->c = snap.c;
		nested = snap.n;
		out->publish_ns = snap.publish_ns;
	} else if (mt_live_read(slot, &out->c, &nested, 8)) {
		out->from_live = true;
	} else if (self->writer_gone) {
		/* Killed half-way through an update, the counters will never be
		 * even again; each is still a whole value, all but one event's
		 * are complete, and a snapshot could be a whole interval old. */
		mt_counters_from_live(&out->c, &slot->live);
		mt_copy_words_out(&nested, &slot->nested, sizeof(nested));
		out->from_live = true;
	} else if (have_snap) {
		out->c = snap.c;
		nested = snap.n;
		out->publish_ns = snap.publish_ns;
	} else {
		/* Busy thread that never published: only when no reader ticked. */
		memset(&out->c, 0, sizeof(out->c));
		memset(&nested, 0, sizeof(nested));
	}
	add_nested(&out->c, &nested);
	out->lost = nested.lost;

	/* Metadata is written before state turns ACTIVE/EXITED (release). */
	out->tid = __atomic_load_n(&slot->tid, __ATOMIC_RELAXED);
	out->start_ns = __atomic_load_n(&slot->start_ns, __ATOMIC_RELAXED);
	out->end_ns = __atomic_load_n(&slot->end_ns, __ATOMIC_RELAXED);
	out->cpu_ns = __atomic_load_n(&slot->cpu_ns, __ATOMIC_RELAXED);
	for (size_t i = 0; i < MT_NAME_LEN; i++)
		out->name[i] = __atomic_load_n(&slot->name[i], __ATOMIC_RELAXED);
	out->name[MT_NAME_LEN] = '\0';
	return 0;
}

bool shm_segment_read_mallinfo(const struct shm_segment *self, struct mt_mallinfo *out)
{
	uint64_t epoch = 0;
	for (int i = 0; i < 16; i++) {
		if (mt_latch_read(&self->hdr->mi_epoch, self->hdr->mi, sizeof(self->hdr->mi[0]),
				  out, &epoch))
			return epoch != 0 && out->valid;
	}
	return false;
}

void shm_segment_read_unbacked(const struct shm_segment *self, uint32_t *threads, int *err)
{
	*threads = __atomic_load_n(&self->hdr->slots_unbacked, __ATOMIC_ACQUIRE);
	*err = __atomic_load_n(&self->hdr->slots_errno, __ATOMIC_RELAXED);
}

void shm_segment_read_overflow(const struct shm_segment *self, struct mt_overflow *out)
{
	mt_copy_words_out(out, &self->hdr->overflow, sizeof(*out));
}

/* ---------------------------------------------------------------- cleanup */

static bool process_is(const char *procroot, int pid, uint64_t starttime)
{
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return false;
	struct proc_sample ps;
	if (procstat_read_process(procroot, pid, &ps) != 0)
		return errno != ENOENT;
	if (starttime == 0)
		return true;
	return ps.starttime_ticks == starttime;
}

int shm_cleanup_stale(const char *dir, const char *procroot, int own_session)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int removed = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, MT_SHM_PREFIX, strlen(MT_SHM_PREFIX)) != 0)
			continue;
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct stat st;
		struct mt_shm_header h;
		bool stale = false;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid()) {
			ssize_t n = pread(fd, &h, sizeof(h), 0);
			/* A dead target whose memtop still runs is that memtop's
			 * to read and remove. */
			if (n == (ssize_t)sizeof(h) && h.magic == MT_MAGIC && h.pid > 0)
				stale = !process_is(procroot, h.pid, h.proc_starttime) &&
					(h.session == 0 || h.session > INT32_MAX ||
					 (own_session > 0 && h.session == (uint64_t)own_session) ||
					 !process_is(procroot, (int)h.session, 0));
			else if (time(NULL) - st.st_mtime > 60)
				stale = true;  /* never completed: its creator died */
		}
		close(fd);
		if (stale && unlink(path) == 0)
			removed++;
	}
	closedir(d);
	return removed + traceclock_cleanup_stale(dir, procroot);
}

bool shm_segment_read_sampling(const struct shm_segment *self, struct mt_sampling *out)
{
	if (!__atomic_load_n(&self->hdr->sampling.enabled, __ATOMIC_ACQUIRE))
		return false;
	mt_copy_words_out(out, &self->hdr->sampling, sizeof(*out));
	return out->enabled != 0;
}

uint32_t shm_segment_stack_count(const struct shm_segment *self)
{
	uint32_t used = __atomic_load_n(&self->hdr->stacks_used, __ATOMIC_ACQUIRE);
	uint32_t mapped = __atomic_load_n(&self->hdr->stacks_mapped, __ATOMIC_ACQUIRE);
	uint32_t n = used < mapped ? used : mapped;
	if (n > MT_MAX_STACKS)
		n = MT_MAX_STACKS;
	/* only what this mapping covers */
	while (n > 0 && mt_stack_offset(n) > self->size)
		n--;
	return n;
}

int shm_segment_read_stack(const struct shm_segment *self, uint32_t id, struct mt_stack_rec *out)
{
	if (id >= shm_segment_stack_count(self))
		return -1;
	const struct mt_stack_rec *r =
		(const struct mt_stack_rec *)((const char *)self->base + mt_stack_offset(id));
	uint32_t flags = __atomic_load_n(&r->flags, __ATOMIC_ACQUIRE);
	if (!(flags & MT_STACK_VALID))
		return -1;
	mt_copy_words_out(out, r, sizeof(*out));
	out->flags = flags;
	if (out->depth > MT_STACK_MAX_DEPTH)
		out->depth = MT_STACK_MAX_DEPTH;
	return 0;
}

uint32_t shm_segment_area_count(const struct shm_segment *self)
{
	uint32_t used = __atomic_load_n(&self->hdr->areas_used, __ATOMIC_ACQUIRE);
	uint32_t mapped = __atomic_load_n(&self->hdr->areas_mapped, __ATOMIC_ACQUIRE);
	uint32_t n = used < mapped ? used : mapped;
	if (n > MT_MAX_AREAS)
		n = MT_MAX_AREAS;
	while (n > 0 && mt_area_offset(n) > self->size)
		n--;
	return n;
}

int shm_segment_read_area(const struct shm_segment *self, uint32_t id, struct mt_stack_area *out)
{
	if (id >= shm_segment_area_count(self))
		return -1;
	const struct mt_stack_area *a =
		(const struct mt_stack_area *)((const char *)self->base + mt_area_offset(id));
	for (int i = 0; i < 64; i++) {
		uint64_t s1 = __atomic_load_n(&a->seq, __ATOMIC_ACQUIRE);
		if (s1 & 1)
			continue;
		mt_copy_words_out(out, a, offsetof(struct mt_stack_area, sites));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&a->seq, __ATOMIC_RELAXED) == s1)
			return 0;
	}
	return -1;
}

void shm_segment_read_stack_losses(const struct shm_segment *self, uint64_t *stacks_lost,
				   uint64_t *live_untracked)
{
	*stacks_lost = __atomic_load_n(&self->hdr->stacks_lost, __ATOMIC_RELAXED);
	*live_untracked = __atomic_load_n(&self->hdr->live_untracked, __ATOMIC_RELAXED);
}

void shm_segment_read_stack_room(const struct shm_segment *self, uint32_t *threads, int *err)
{
	*threads = __atomic_load_n(&self->hdr->samplers_unbacked, __ATOMIC_ACQUIRE);
	*err = __atomic_load_n(&self->hdr->stacks_errno, __ATOMIC_RELAXED);
}

uint32_t shm_segment_module_count(const struct shm_segment *self)
{
	if (self->hdr->modules_offset != MT_MODULES_OFFSET)
		return 0;
	uint32_t n = __atomic_load_n(&self->hdr->nmodules, __ATOMIC_ACQUIRE);
	return n < MT_MAX_MODULES ? n : MT_MAX_MODULES;
}

int shm_segment_read_module(const struct shm_segment *self, uint32_t idx, struct mt_module *out)
{
	if (idx >= shm_segment_module_count(self))
		return -1;
	const struct mt_module *m =
		(const struct mt_module *)((const char *)self->base + MT_MODULES_OFFSET) + idx;
	mt_copy_words_out(out, m, sizeof(*out));
	out->path[MT_MODULE_PATH - 1] = '\0';
	if (out->end <= out->start || !out->path[0])
		return -1;
	return 0;
}
