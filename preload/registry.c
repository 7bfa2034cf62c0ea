/*
 * registry.c - create the process's shared-memory segment, hand out thread
 * slots, grow the segment, publish snapshots, and survive fork.
 *
 * The segment's file descriptor is never kept open: a daemon that closes all
 * its descriptors (or reuses the number) must not make us write into one of
 * its files.  Growth reopens the segment by name and checks its inode.
 * Chunks are mapped separately and never moved, so a slot pointer handed to
 * a thread stays valid for the life of the process.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "registry.h"
#include "snapshot.h"

struct mt_shm_header *mt_hdr;

static struct mt_slot *chunks[MT_MAX_CHUNKS];
static struct mt_stack_rec *stack_chunks[MT_MAX_STACK_CHUNKS];
static struct mt_stack_area *area_chunks[MT_MAX_AREA_CHUNKS];
void (*registry_on_publish)(struct mt_slot *slot, struct mt_snapshot *snap);
void (*registry_on_create)(void);
static char seg_name[64];
static ino_t seg_ino;
static dev_t seg_dev;
static pthread_mutex_t grow_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_error[200];
static bool is_fork_child;
/* Whether this process image (or forked child) has tried to create its
 * segment: the first registration may come before our constructor runs,
 * from another library's constructor. */
static bool init_tried;
static uint32_t mi_busy;

const char *registry_error(void)
{
	return last_error;
}

static void set_error(const char *what, int err)
{
	snprintf(last_error, sizeof(last_error), "%s %s: %s", what, seg_name, strerror(err));
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Field 22 of /proc/self/stat: identifies this process across pid reuse. */
static uint64_t read_proc_starttime(void)
{
	char buf[1024];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* after ") " comes field 3; starttime is field 22 */
	int field = 2;
	for (p++; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	return strtoull(p, NULL, 10);
}

/* The new segment's descriptor, or -1 with last_error set. */
static int open_segment_excl(void)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = shm_open(seg_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST) {
			set_error("cannot create", errno);
			return -1;
		}
		/* Same pid: a previous image of this process (exec) or a dead
		 * process whose pid was reused.  Replace it if it is ours; one
		 * of another user is left alone (whoever reads it trusts its
		 * owner), and this process runs unmonitored. */
		int old = shm_open(seg_name, O_RDONLY | O_CLOEXEC, 0);
		struct stat st;
		if (old < 0)
			continue;  /* gone meanwhile, or not ours to open */
		if (fstat(old, &st) != 0) {
			set_error("cannot check", errno);
			close(old);
			return -1;
		}
		if (st.st_uid != geteuid()) {
			snprintf(last_error, sizeof(last_error),
				 "cannot create %s: a file of that name belongs to uid %u, not to "
				 "this process's uid %u; not using it", seg_name,
				 (unsigned)st.st_uid, (unsigned)geteuid());
			close(old);
			return -1;
		}
		close(old);
		shm_unlink(seg_name);
	}
	snprintf(last_error, sizeof(last_error),
		 "cannot create %s: a file of that name exists that this process cannot "
		 "open (another user's?); not using it", seg_name);
	return -1;
}

/* Add slot chunk `chunk` to the file and map it: 0, or an errno. */
static int map_chunk(int fd, uint32_t chunk)
{
	off_t off = (off_t)MT_HEADER_SIZE + (off_t)chunk * MT_CHUNK_SIZE;
	/* Reserve real tmpfs pages now: a sparse file would SIGBUS the target
	 * on first touch when /dev/shm is full.  On failure tmpfs gives back
	 * what it allocated and the file keeps its size. */
	int err = posix_fallocate(fd, off, MT_CHUNK_SIZE);
	if (err != 0) {
		set_error("cannot grow", err);
		return err;
	}
	void *p = mmap(NULL, MT_CHUNK_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	if (p == MAP_FAILED) {
		err = errno ? errno : ENOMEM;
		set_error("cannot map", err);
		return err;
	}
	chunks[chunk] = p;
	__atomic_store_n(&mt_hdr->slots_mapped, (chunk + 1) * MT_SLOTS_PER_CHUNK, __ATOMIC_RELEASE);
	return 0;
}

/* The segment reopened by name to grow it, if the name still designates
 * it: a descriptor, or -1 and errno (ESTALE: another file now). */
static int reopen_segment(void)
{
	int fd = shm_open(seg_name, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct stat st;
	int err = 0;
	if (fstat(fd, &st) != 0)
		err = errno;
	else if (st.st_ino != seg_ino || st.st_dev != seg_dev)
		err = ESTALE;
	if (err) {
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int registry_init(void)
{
	if (init_tried)
		return mt_hdr ? 0 : -1;
	init_tried = true;
	snprintf(seg_name, sizeof(seg_name), MT_SHM_NAME_FMT, (int)getpid());
	int fd = open_segment_excl();
	if (fd < 0)
		return -1;
	int err = posix_fallocate(fd, 0, MT_HEADER_SIZE);
	if (err != 0) {
		set_error("cannot size", err);
		goto fail;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		set_error("cannot stat", errno);
		goto fail;
	}
	seg_ino = st.st_ino;
	seg_dev = st.st_dev;
	void *h = mmap(NULL, MT_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED) {
		set_error("cannot map", errno);
		goto fail;
	}
	struct mt_shm_header *hdr = h;
	hdr->layout_version = MT_LAYOUT_VERSION;
	hdr->header_size = MT_HEADER_SIZE;
	hdr->slot_size = MT_SLOT_SIZE;
	hdr->slot_capacity = MT_MAX_SLOTS;
	hdr->slots_offset = MT_HEADER_SIZE;
	hdr->stacks_offset = MT_STACKS_OFFSET;
	hdr->stack_rec_size = (uint32_t)MT_STACK_REC_SIZE;
	hdr->stack_capacity = MT_MAX_STACKS;
	hdr->stacks_used = 1;  /* id 0: MT_STACK_OTHER */
	hdr->modules_offset = MT_MODULES_OFFSET;
	hdr->areas_offset = MT_AREAS_OFFSET;
	hdr->area_size = (uint32_t)MT_AREA_SIZE;
	hdr->pid = (int32_t)getpid();
	hdr->ppid = (int32_t)getppid();
	hdr->uid = (uint32_t)geteuid();
	const char *sess = getenv(MT_ENV_SESSION);
	hdr->session = sess ? strtoull(sess, NULL, 10) : 0;
	hdr->start_ns = now_ns(CLOCK_REALTIME);
	hdr->proc_starttime = read_proc_starttime();
	ssize_t n = readlink("/proc/self/exe", hdr->exe, sizeof(hdr->exe) - 1);
	hdr->exe[n > 0 ? n : 0] = '\0';
	mt_hdr = hdr;
	if (map_chunk(fd, 0) != 0) {
		munmap(h, MT_HEADER_SIZE);
		mt_hdr = NULL;
		goto fail;
	}
	close(fd);
	hdr->flags = is_fork_child ? MT_FLAG_FORK_CHILD : 0;
	if (registry_on_create)
		registry_on_create();
	__atomic_store_n(&hdr->magic, MT_MAGIC, __ATOMIC_RELEASE);
	__atomic_fetch_or(&hdr->flags, MT_FLAG_READY, __ATOMIC_RELEASE);
	return 0;
fail:
	close(fd);
	shm_unlink(seg_name);
	return -1;
}

/* Map the chunk holding slot idx if this process has not yet; NULL and
 * *err (an errno) if the file cannot grow to hold it. */
static struct mt_slot *slot_at(uint32_t idx, int *err)
{
	uint32_t chunk = idx / MT_SLOTS_PER_CHUNK;
	struct mt_slot *base = __atomic_load_n(&chunks[chunk], __ATOMIC_ACQUIRE);
	if (!base) {
		pthread_mutex_lock(&grow_lock);
		for (uint32_t c = 0; c <= chunk; c++) {
			if (chunks[c])
				continue;
			int fd = reopen_segment();
			int e = fd < 0 ? (errno ? errno : EIO) : map_chunk(fd, c);
			if (fd >= 0)
				close(fd);
			if (e) {
				pthread_mutex_unlock(&grow_lock);
				*err = e;
				return NULL;
			}
		}
		base = chunks[chunk];
		pthread_mutex_unlock(&grow_lock);
	}
	return (struct mt_slot *)((char *)base + (size_t)(idx % MT_SLOTS_PER_CHUNK) * MT_SLOT_SIZE);
}

struct mt_slot *registry_slot_mapped(uint32_t idx)
{
	if (idx >= MT_MAX_SLOTS)
		return NULL;
	struct mt_slot *base = __atomic_load_n(&chunks[idx / MT_SLOTS_PER_CHUNK], __ATOMIC_ACQUIRE);
	return base ? (struct mt_slot *)((char *)base + (size_t)(idx % MT_SLOTS_PER_CHUNK) * MT_SLOT_SIZE)
		    : NULL;
}

/* Map region chunk `chunk` (of `size` bytes at `off`) into *slot and
 * advertise `count` entries in *mapped: 0, or an errno. */
static int map_region_chunk(int fd, off_t off, size_t size, void **slot, uint32_t *mapped,
			    uint32_t count)
{
	int err = posix_fallocate(fd, off, (off_t)size);
	if (err != 0) {
		set_error("cannot grow", err);
		return err;
	}
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	if (p == MAP_FAILED) {
		err = errno ? errno : ENOMEM;
		set_error("cannot map", err);
		return err;
	}
	__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	__atomic_store_n(mapped, count, __ATOMIC_RELEASE);
	return 0;
}

/* Reopen the segment (checking it is still ours) and map chunks 0..chunk
 * of a stack region that are not mapped yet, in order so that the
 * advertised count covers them all.  A failure is noted in the header
 * (stacks_errno, the first one's) for memtop to report. */
static void map_region_upto(void **chunks_of, uint32_t chunk, uint64_t region_off,
			    size_t chunk_size, uint32_t per_chunk, uint32_t *mapped)
{
	int err = 0;
	pthread_mutex_lock(&grow_lock);
	for (uint32_t c = 0; c <= chunk && !err; c++) {
		if (chunks_of[c])
			continue;
		int fd = reopen_segment();
		err = fd < 0 ? (errno ? errno : EIO)
			     : map_region_chunk(fd, (off_t)(region_off + (uint64_t)c * chunk_size),
						chunk_size, &chunks_of[c], mapped, (c + 1) * per_chunk);
		if (fd >= 0)
			close(fd);
	}
	pthread_mutex_unlock(&grow_lock);
	if (err) {
		int32_t none = 0;
		__atomic_compare_exchange_n(&mt_hdr->stacks_errno, &none, err, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	}
}

uint32_t registry_area_new(void)
{
	if (!mt_hdr)
		return MT_NO_AREA;
	uint32_t id = __atomic_fetch_add(&mt_hdr->areas_used, 1, __ATOMIC_RELAXED);
	if (id >= MT_MAX_AREAS)
		return MT_NO_AREA;
	if (registry_area(id))
		return id;
	/* no room for it (stacks_errno says why): the thread stops sampling;
	 * released after stacks_errno, which a reader loads after this */
	__atomic_fetch_add(&mt_hdr->samplers_unbacked, 1, __ATOMIC_RELEASE);
	return MT_NO_AREA;
}

struct mt_stack_area *registry_area_mapped(uint32_t id)
{
	if (id >= MT_MAX_AREAS)
		return NULL;
	struct mt_stack_area *base =
		__atomic_load_n(&area_chunks[id / MT_AREAS_PER_CHUNK], __ATOMIC_ACQUIRE);
	return base ? (struct mt_stack_area *)((char *)base +
					       (size_t)(id % MT_AREAS_PER_CHUNK) * MT_AREA_SIZE)
		    : NULL;
}

struct mt_stack_area *registry_area(uint32_t id)
{
	if (id >= MT_MAX_AREAS || !mt_hdr)
		return NULL;
	struct mt_stack_area *a = registry_area_mapped(id);
	if (a)
		return a;
	map_region_upto((void **)area_chunks, id / MT_AREAS_PER_CHUNK, MT_AREAS_OFFSET,
			MT_AREA_CHUNK_SIZE, MT_AREAS_PER_CHUNK, &mt_hdr->areas_mapped);
	return registry_area_mapped(id);
}

struct mt_stack_rec *registry_stack_rec_mapped(uint32_t id)
{
	if (id >= MT_MAX_STACKS)
		return NULL;
	struct mt_stack_rec *base =
		__atomic_load_n(&stack_chunks[id / MT_STACKS_PER_CHUNK], __ATOMIC_ACQUIRE);
	return base ? &base[id % MT_STACKS_PER_CHUNK] : NULL;
}

struct mt_stack_rec *registry_stack_rec(uint32_t id)
{
	if (id >= MT_MAX_STACKS || !mt_hdr)
		return NULL;
	struct mt_stack_rec *r = registry_stack_rec_mapped(id);
	if (r)
		return r;
	map_region_upto((void **)stack_chunks, id / MT_STACKS_PER_CHUNK, MT_STACKS_OFFSET,
			MT_STACK_CHUNK_SIZE, MT_STACKS_PER_CHUNK, &mt_hdr->stacks_mapped);
	return registry_stack_rec_mapped(id);
}

struct mt_slot *registry_register(void)
{
	if (!mt_hdr && !init_tried)
		registry_init();
	if (!mt_hdr)
		return MT_SLOT_DISABLED;
	uint32_t idx = __atomic_fetch_add(&mt_hdr->slots_used, 1, __ATOMIC_RELAXED);
	int err = 0;
	struct mt_slot *s = idx < MT_MAX_SLOTS ? slot_at(idx, &err) : NULL;
	if (!s) {
		/* Pooled: beyond the capacity, or (err) no room for its slot.
		 * The later threads of a failed chunk try again: /dev/shm may
		 * have room by then. */
		__atomic_fetch_add(&mt_hdr->overflow.threads, 1, __ATOMIC_RELAXED);
		if (err) {
			int32_t none = 0;
			__atomic_compare_exchange_n(&mt_hdr->slots_errno, &none, err, false,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
			/* after overflow.threads and slots_errno: a reader that
			 * loads this first (acquire) never sees more unbacked
			 * threads than pooled ones, nor an unbacked one without
			 * its reason */
			__atomic_fetch_add(&mt_hdr->slots_unbacked, 1, __ATOMIC_RELEASE);
		}
		return MT_SLOT_OVERFLOW;
	}
	s->index = idx;
	s->area = MT_NO_AREA;
	s->tid = (int32_t)syscall(SYS_gettid);
	s->start_ns = now_ns(CLOCK_REALTIME);
	prctl(PR_GET_NAME, s->name, 0, 0, 0);
	s->pub_tick = registry_tick();
	__atomic_store_n(&s->state, MT_SLOT_ACTIVE, __ATOMIC_RELEASE);
	return s;
}

static void publish_mallinfo(uint64_t tick)
{
	uint32_t expected = 0;
	if (!__atomic_compare_exchange_n(&mi_busy, &expected, 1, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	if (__atomic_load_n(&mt_hdr->mi_claim, __ATOMIC_RELAXED) != tick) {
		__atomic_store_n(&mt_hdr->mi_claim, tick, __ATOMIC_RELAXED);
		struct mt_mallinfo m;
		memset(&m, 0, sizeof(m));
		m.tick = tick;
		m.sample_ns = now_ns(CLOCK_REALTIME);
#ifdef HAVE_MALLINFO2
		struct mallinfo2 mi = mallinfo2();
		m.arena = mi.arena;
		m.ordblks = mi.ordblks;
		m.uordblks = mi.uordblks;
		m.fordblks = mi.fordblks;
		m.hblks = mi.hblks;
		m.hblkhd = mi.hblkhd;
		m.keepcost = mi.keepcost;
		m.valid = 1;
#endif
		mt_latch_publish(&mt_hdr->mi_epoch, mt_hdr->mi, sizeof(mt_hdr->mi[0]), &m);
	}
	__atomic_store_n(&mi_busy, 0, __ATOMIC_RELEASE);
}

void registry_publish(struct mt_slot *slot)
{
	if (!mt_hdr)
		return;
	uint64_t tick = registry_tick();
	struct mt_snapshot snap;
	slot->pub_tick = tick;
	collector_fill_snapshot(slot, &snap, tick, now_ns(CLOCK_REALTIME));
	if (registry_on_publish)
		registry_on_publish(slot, &snap);
	mt_snapshot_publish(slot, &snap);
	if (tick != 0)
		publish_mallinfo(tick);
}

void registry_thread_exit(struct mt_slot *slot)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
		slot->cpu_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	prctl(PR_GET_NAME, slot->name, 0, 0, 0);
	slot->end_ns = now_ns(CLOCK_REALTIME);
	__atomic_store_n(&slot->state, MT_SLOT_EXITED, __ATOMIC_RELEASE);
	registry_publish(slot);
}

void registry_fork_prepare(void)
{
	pthread_mutex_lock(&grow_lock);
}

void registry_fork_parent(void)
{
	pthread_mutex_unlock(&grow_lock);
}

void registry_fork_child(void)
{
	/* The parent's mapping is MAP_SHARED: writing on would corrupt the
	 * parent's figures.  Drop it; the child gets its own segment. */
	for (uint32_t c = 0; c < MT_MAX_CHUNKS; c++) {
		if (chunks[c])
			munmap(chunks[c], MT_CHUNK_SIZE);
		chunks[c] = NULL;
	}
	for (uint32_t c = 0; c < MT_MAX_STACK_CHUNKS; c++) {
		if (stack_chunks[c])
			munmap(stack_chunks[c], MT_STACK_CHUNK_SIZE);
		stack_chunks[c] = NULL;
	}
	for (uint32_t c = 0; c < MT_MAX_AREA_CHUNKS; c++) {
		if (area_chunks[c])
			munmap(area_chunks[c], MT_AREA_CHUNK_SIZE);
		area_chunks[c] = NULL;
	}
	if (mt_hdr)
		munmap(mt_hdr, MT_HEADER_SIZE);
	mt_hdr = NULL;
	mi_busy = 0;
	is_fork_child = true;
	init_tried = false;
	pthread_mutex_init(&grow_lock, NULL);
}
