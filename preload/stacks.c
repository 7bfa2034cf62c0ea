/*
 * stacks.c - capture, deduplicate and account sampled call stacks.
 *
 * Three structures, none of which is ever moved or freed while the process
 * lives (a racing reader or freeing thread may hold an index into them):
 *  - the stack table: records in the shared segment (registry.c maps them)
 *    plus an in-process open-addressing index from stack hash to id.
 *    Insertion reserves an id, writes the record, then publishes it in the
 *    index with a compare-and-swap; the loser of a race for the same stack
 *    abandons its record (never marked valid, so readers skip it).
 *  - per-thread stack areas in the shared segment (call-site table and
 *    per-stack figures), one per thread that samples.  The owner writes
 *    them inside the area's sequence count, except freed_w, which any thread
 *    that frees a sampled block adds to atomically.  No cache line is
 *    written by two threads on the sampling path, and memtop sums the
 *    areas into the process's figures.
 *  - the live table of sampled blocks: buckets of 8 entries claimed by
 *    compare-and-swap, fronted by mt_live_filter.  The freeing thread takes
 *    the entry out before the real free, so an address reused by another
 *    thread can never meet a stale entry.
 * Sampling runs with the hooks' re-entrancy guard held, so whatever libunwind
 * allocates goes straight to the real allocator, uncounted.
 */
#include "config.h"

#define _GNU_SOURCE 1
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "registry.h"
#include "snapshot.h"
#include "stacks.h"
#include "trace.h"

struct mt_sampler_config mt_scfg;
uint8_t mt_live_filter[MT_FILTER_SIZE];
uint8_t mt_live_used;

/* ---------------------------------------------------------------- tables */

#define INDEX_BITS      17u
#define INDEX_SIZE      (1u << INDEX_BITS)
#define INDEX_PROBES    64u
#define AREA_PROBES     16u
#define LIVE_BUCKET     8u
#define LIVE_BITS       17u
#define LIVE_BUCKETS    (1u << LIVE_BITS)

/* id + 1 of the stack with that hash slot; 0: empty */
static uint32_t stack_index[INDEX_SIZE];

struct live_entry {
	uint64_t ptr;
	uint32_t area;
	uint32_t entry;              /* MT_AREA_STACKS: the area's other */
	uint64_t bytes_w;
	uint64_t _pad;
};
static struct live_entry *live_table;   /* LIVE_BUCKETS * LIVE_BUCKET entries */

static uintptr_t self_lo, self_hi;       /* our own code: frames to skip */

static pthread_mutex_t module_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long modules_adds;  /* dlpi_adds at the last scan */

static uint64_t clock_ns(clockid_t clk)
{
	return mt_clock_ns(clk);
}

/* First/last sample times need no precision beyond a few milliseconds: the
 * coarse clock is a plain memory read. */
static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_REALTIME_COARSE);
}

/* Capture cost in ticks (clock.h), calibrated at publication time. */
#define HAVE_TSC MT_HAVE_TSC
#define ticks mt_ticks
static uint64_t tick0, mono0, cpu_unit_hz;

static void calibrate(void)
{
	if (!HAVE_TSC) {
		cpu_unit_hz = 1000000000ull;
	} else if (!cpu_unit_hz) {
		uint64_t t = ticks(), m = clock_ns(CLOCK_MONOTONIC);
		/* 10 ms keeps the error of two clock readings below 0.1% */
		if (m - mono0 >= 10000000ull)
			cpu_unit_hz = (uint64_t)((double)(t - tick0) * 1e9 / (double)(m - mono0));
	}
	if (mt_hdr && cpu_unit_hz)
		__atomic_store_n(&mt_hdr->cpu_unit_hz, cpu_unit_hz, __ATOMIC_RELAXED);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* ---------------------------------------------------------------- setup */

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t me = (uintptr_t)data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		uintptr_t hi = lo + ph->p_memsz;
		if (me >= lo && me < hi) {
			self_lo = lo;
			self_hi = hi;
			return 1;
		}
	}
	return 0;
}

static bool parse_sampling(const char *v, double r[3], uint64_t thr[3], uint32_t *depth)
{
	char *end;
	for (int i = 0; i < 3; i++) {
		r[i] = strtod(v, &end);
		if (end == v || *end != ':' || !(r[i] >= 0 && r[i] <= 1))
			return false;
		v = end + 1;
	}
	for (int i = 0; i < 3; i++) {
		thr[i] = strtoull(v, &end, 10);
		if (end == v || *end != ':')
			return false;
		v = end + 1;
	}
	unsigned long d = strtoul(v, &end, 10);
	if (end == v || *end || d < 1 || d > MT_STACK_MAX_DEPTH)
		return false;
	*depth = (uint32_t)d;
	return thr[0] < thr[1];
}

/* ---------------------------------------------------------------- modules */

static struct mt_module *module_table(void)
{
	return (struct mt_module *)((char *)mt_hdr + MT_MODULES_OFFSET);
}

static bool module_known(uint64_t start, const char *path)
{
	struct mt_module *m = module_table();
	uint32_t n = __atomic_load_n(&mt_hdr->nmodules, __ATOMIC_RELAXED);
	for (uint32_t i = 0; i < n; i++)
		if (m[i].start == start && strcmp(m[i].path, path) == 0)
			return true;
	return false;
}

/* The main program's path: the one it was run by (AT_EXECFN) where that
 * is absolute and names the same file, so that a program run through a
 * symbolic link shows under the name it was run by (redis-server, not
 * the redis-check-rdb it links to); else the file itself. */
static const char *main_program_path(void)
{
	static char path[MT_MODULE_PATH];
	const char *fn = (const char *)getauxval(AT_EXECFN);
	struct stat a, b;
	if (fn && fn[0] == '/' && strlen(fn) < sizeof(path) && stat(fn, &a) == 0 &&
	    stat(mt_hdr->exe, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		memcpy(path, fn, strlen(fn) + 1);
		return path;
	}
	return mt_hdr->exe;
}

static int record_module(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	const char *name = info->dlpi_name;
	char path[MT_MODULE_PATH];
	if (!name || !name[0])
		name = main_program_path();
	if (name[0] != '/') {
		/* relative dlopen names, and the vDSO (no file to read) */
		if (!strchr(name, '/') || !realpath(name, path))
			return 0;
	} else {
		snprintf(path, sizeof(path), "%s", name);
	}
	long page = sysconf(_SC_PAGESIZE);
	uint64_t mask = ~(uint64_t)(page > 0 ? page - 1 : 4095);
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uint64_t start = (info->dlpi_addr + ph->p_vaddr) & mask;
		uint64_t end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		if (module_known(start, path))
			continue;
		uint32_t n = mt_hdr->nmodules;
		if (n >= MT_MAX_MODULES) {
			mt_hdr->modules_dropped++;
			continue;
		}
		struct mt_module *m = &module_table()[n];
		m->start = start;
		m->end = end;
		m->offset = ph->p_offset & mask;
		snprintf(m->path, sizeof(m->path), "%s", path);
		__atomic_store_n(&mt_hdr->nmodules, n + 1, __ATOMIC_RELEASE);
		if (mt_trace_on)
			trace_module(m->start, m->end, m->offset, m->path);
	}
	return 0;
}

static int read_adds(struct dl_phdr_info *info, size_t size, void *data)
{
	if (size >= offsetof(struct dl_phdr_info, dlpi_adds) + sizeof(info->dlpi_adds))
		*(unsigned long long *)data = info->dlpi_adds;
	return 1;
}

/* Record the executable mappings of every loaded object not recorded yet;
 * cheap when nothing was loaded since the last call. */
static void scan_modules(bool force)
{
	if (!mt_hdr)
		return;
	unsigned long long adds = 0;
	dl_iterate_phdr(read_adds, &adds);
	if (!force && adds == __atomic_load_n(&modules_adds, __ATOMIC_RELAXED))
		return;
	/* Whoever holds the lock is scanning already. */
	if (pthread_mutex_trylock(&module_lock) != 0)
		return;
	__atomic_store_n(&modules_adds, adds, __ATOMIC_RELAXED);
	dl_iterate_phdr(record_module, NULL);
	pthread_mutex_unlock(&module_lock);
}

void stacks_init(void)
{
	double r[3] = { 0.01, 0.5, 1.0 };
	uint64_t thr[3] = { 2048, 65536, 10 };
	uint32_t depth = MT_STACK_MAX_DEPTH;
	bool enabled = true;
	const char *v = getenv(MT_ENV_SAMPLING);
	if (v && strcmp(v, "off") == 0)
		enabled = false;
	else if (v && !parse_sampling(v, r, thr, &depth))
		enabled = false;  /* the launcher validated it: someone else set it */

	if (enabled) {
		void *p = mmap(NULL, (size_t)LIVE_BUCKETS * LIVE_BUCKET * sizeof(struct live_entry),
			       PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			       -1, 0);
		live_table = p == MAP_FAILED ? NULL : p;
		dl_iterate_phdr(find_self, (void *)(uintptr_t)stacks_init);
		unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	}
	mt_sampler_config_set(&mt_scfg, enabled, r[0], r[1], r[2], thr[0], thr[1], thr[2], depth);
	tick0 = ticks();
	mono0 = clock_ns(CLOCK_MONOTONIC);
}

void stacks_segment_created(void)
{
	if (mt_scfg.enabled)
		scan_modules(true);
	calibrate();
	if (mt_hdr) {
		struct mt_sampling *s = &mt_hdr->sampling;
		s->depth = mt_scfg.depth;
		s->medium_threshold = mt_scfg.medium;
		s->large_threshold = mt_scfg.large;
		s->frequency_threshold = mt_scfg.frequency_threshold;
		for (int t = 0; t < 3; t++)
			s->rate[t] = mt_scfg.rate[t];
		s->boost = MT_BOOST;
		__atomic_store_n(&s->enabled, mt_scfg.enabled ? 1u : 0u, __ATOMIC_RELEASE);
	}
}

void stacks_thread_init(struct mt_sampler *s, struct mt_slot *slot)
{
	uint64_t seed = mix(ticks() ^ now_ns() ^ ((uint64_t)(uint32_t)slot->tid << 32) ^ (uintptr_t)slot);
	mt_sampler_thread_init(s, &mt_scfg, seed);
}

void stacks_fork_child(void)
{
	/* Stack ids and areas restart with the child's segment, and the live
	 * blocks are the parent's samples: the tables start afresh. */
	memset(stack_index, 0, sizeof(stack_index));
	memset(mt_live_filter, 0, sizeof(mt_live_filter));
	modules_adds = 0;
	pthread_mutex_init(&module_lock, NULL);
	if (live_table)
		madvise(live_table, (size_t)LIVE_BUCKETS * LIVE_BUCKET * sizeof(struct live_entry),
			MADV_DONTNEED);

}

/* ---------------------------------------------------------------- areas */

/* The owner's entry for stack id (created if new); the area's other when
 * the table is full. */
static uint32_t area_entry(struct mt_stack_area *a, uint32_t id)
{
	if (id == MT_STACK_OTHER)
		return MT_AREA_STACKS;
	uint32_t h = (uint32_t)(mix(id) & (MT_AREA_STACKS - 1));
	for (uint32_t i = 0; i < AREA_PROBES; i++) {
		uint32_t k = (h + i) & (MT_AREA_STACKS - 1);
		uint32_t key = a->keys[k];
		if (key == id + 1)
			return k;
		if (key == 0) {
			a->agg[k].stack_id = id;
			/* release: readers that see the key see the id */
			__atomic_store_n(&a->keys[k], id + 1, __ATOMIC_RELEASE);
			return k;
		}
	}
	return MT_AREA_STACKS;
}

static struct mt_stack_agg *area_agg(struct mt_stack_area *a, uint32_t k)
{
	return k < MT_AREA_STACKS ? &a->agg[k] : &a->other;
}

/* The calling thread's area, set up at its first sample. */
static struct mt_stack_area *area_of_slot(struct mt_slot *slot)
{
	uint32_t id = slot->area;
	if (id == MT_NO_AREA) {
		id = registry_area_new();
		if (id == MT_NO_AREA)
			return NULL;
		struct mt_stack_area *a = registry_area(id);
		a->tid = slot->tid;
		a->slot = slot->index;
		a->other.stack_id = MT_STACK_OTHER;
		__atomic_store_n(&slot->area, id, __ATOMIC_RELEASE);
	}
	return registry_area_mapped(id);
}

/* ---------------------------------------------------------------- stack table */

static uint64_t hash_frames(const uint64_t *f, uint32_t n, uint32_t flags)
{
	uint64_t h = 0x84222325cbf29ce4ULL ^ n ^ ((uint64_t)flags << 32);
	for (uint32_t i = 0; i < n; i++)
		h = mix(h ^ f[i]) + i;
	return h ? h : 1;
}

static bool same_stack(const struct mt_stack_rec *r, uint64_t hash, const uint64_t *f,
		       uint32_t n, uint32_t flags)
{
	return r->hash == hash && r->depth == n &&
	       (r->flags & MT_STACK_TRUNCATED) == (flags & MT_STACK_TRUNCATED) &&
	       memcmp(r->frames, f, n * sizeof(f[0])) == 0;
}

/* The id of the stack, inserting it if new; MT_STACK_OTHER when full. */
static uint32_t stack_id_of(const uint64_t *f, uint32_t n, uint32_t flags)
{
	uint64_t hash = hash_frames(f, n, flags);
	uint32_t h = (uint32_t)(hash & (INDEX_SIZE - 1));
	uint32_t reserved = UINT32_MAX;
	for (uint32_t i = 0; i < INDEX_PROBES; i++) {
		uint32_t *cell = &stack_index[(h + i) & (INDEX_SIZE - 1)];
		uint32_t v = __atomic_load_n(cell, __ATOMIC_ACQUIRE);
		if (v) {
			struct mt_stack_rec *r = registry_stack_rec(v - 1);
			if (r && same_stack(r, hash, f, n, flags))
				return v - 1;
			continue;
		}
		if (reserved == UINT32_MAX) {
			reserved = __atomic_fetch_add(&mt_hdr->stacks_used, 1, __ATOMIC_RELAXED);
			struct mt_stack_rec *r = reserved < MT_MAX_STACKS
				? registry_stack_rec(reserved) : NULL;
			if (!r)
				return MT_STACK_OTHER;
			r->hash = hash;
			r->depth = n;
			memcpy(r->frames, f, n * sizeof(f[0]));
			__atomic_store_n(&r->flags, flags, __ATOMIC_RELEASE);
		}
		uint32_t expected = 0;
		if (__atomic_compare_exchange_n(cell, &expected, reserved + 1, false,
						__ATOMIC_RELEASE, __ATOMIC_ACQUIRE)) {
			/* Only a published record becomes visible to readers; the
			 * loser of a race keeps an invisible, abandoned one. */
			struct mt_stack_rec *mine = registry_stack_rec(reserved);
			__atomic_fetch_or(&mine->flags, MT_STACK_VALID, __ATOMIC_RELEASE);
			if (mt_trace_on)
				trace_stack(reserved, n, flags, f);
			return reserved;
		}
		/* Someone filled this cell meanwhile: maybe with our stack. */
		struct mt_stack_rec *r = registry_stack_rec(expected - 1);
		if (r && same_stack(r, hash, f, n, flags))
			return expected - 1;
	}
	return MT_STACK_OTHER;
}

/* Owner aggregate: one writer (inside the area's seq), except freed_w. */
static void agg_add_owner(struct mt_stack_agg *a, uint64_t w, uint64_t bw, uint64_t size,
			  uint64_t t)
{
	MT_ADD(a->samples, 1);
	MT_ADD(a->allocs_w, w);
	MT_ADD(a->bytes_w, bw);
	if (size && (a->min_size == 0 || size < a->min_size))
		MT_SET(a->min_size, size);
	if (size > a->max_size)
		MT_SET(a->max_size, size);
	if (a->first_ns == 0)
		MT_SET(a->first_ns, t);
	MT_SET(a->last_ns, t);
}

/* ---------------------------------------------------------------- live table */

static struct live_entry *live_bucket(uint64_t p)
{
	/* By address, 256 bytes a bucket: a bucket's 8 entries hold every
	 * block of a 256-byte span (blocks are at least 32 bytes apart), and
	 * nearby blocks share cache lines of the table as they share the
	 * heap's.  Each window of LIVE_BUCKETS * 256 bytes starts at a
	 * pseudo-random bucket (see mt_filter_index for why). */
	uint64_t window = p >> (8 + LIVE_BITS);
	uint64_t b = (p >> 8) + ((window * 0x9E3779B97F4A7C15ULL) >> 40);
	return &live_table[(b & (LIVE_BUCKETS - 1)) * LIVE_BUCKET];
}

static uint8_t *filter_cell(uint64_t p)
{
	return &mt_live_filter[mt_filter_index((uintptr_t)p)];
}

static void filter_inc(uint64_t p)
{
	if (!__atomic_load_n(&mt_live_used, __ATOMIC_RELAXED))
		__atomic_store_n(&mt_live_used, 1, __ATOMIC_RELAXED);
	uint8_t *c = filter_cell(p);
	uint8_t v = __atomic_load_n(c, __ATOMIC_RELAXED);
	while (v != 255 &&
	       !__atomic_compare_exchange_n(c, &v, (uint8_t)(v + 1), true, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED))
		;
}

static void filter_dec(uint64_t p)
{
	uint8_t *c = filter_cell(p);
	uint8_t v = __atomic_load_n(c, __ATOMIC_RELAXED);
	while (v != 255 && v != 0 &&
	       !__atomic_compare_exchange_n(c, &v, (uint8_t)(v - 1), true, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED))
		;
}

static bool live_insert(const struct mt_live_block *b)
{
	if (!live_table)
		return false;
	struct live_entry *e = live_bucket(b->ptr);
	for (uint32_t i = 0; i < LIVE_BUCKET; i++) {
		uint64_t expected = 0;
		if (__atomic_load_n(&e[i].ptr, __ATOMIC_RELAXED) != 0)
			continue;
		if (!__atomic_compare_exchange_n(&e[i].ptr, &expected, b->ptr, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			continue;
		__atomic_store_n(&e[i].area, b->area, __ATOMIC_RELAXED);
		__atomic_store_n(&e[i].entry, b->entry, __ATOMIC_RELAXED);
		__atomic_store_n(&e[i].bytes_w, b->bytes_w, __ATOMIC_RELAXED);
		/* The block reaches other threads only after we return it, with
		 * whatever synchronisation they use: that orders these stores
		 * before their free. */
		filter_inc(b->ptr);
		return true;
	}
	return false;
}

bool stacks_take(void *p, struct mt_live_block *out)
{
	if (!live_table)
		return false;
	uint64_t key = (uintptr_t)p;
	struct live_entry *e = live_bucket(key);
	for (uint32_t i = 0; i < LIVE_BUCKET; i++) {
		if (__atomic_load_n(&e[i].ptr, __ATOMIC_ACQUIRE) != key)
			continue;
		out->ptr = key;
		out->area = __atomic_load_n(&e[i].area, __ATOMIC_RELAXED);
		out->entry = __atomic_load_n(&e[i].entry, __ATOMIC_RELAXED);
		out->bytes_w = __atomic_load_n(&e[i].bytes_w, __ATOMIC_RELAXED);
		__atomic_store_n(&e[i].ptr, 0, __ATOMIC_RELEASE);
		filter_dec(key);
		return true;
	}
	return false;
}

void stacks_put_back(const struct mt_live_block *b)
{
	if (!live_insert(b) && mt_hdr)
		__atomic_fetch_add(&mt_hdr->live_untracked, 1, __ATOMIC_RELAXED);
}

void stacks_freed(const struct mt_live_block *b)
{
	struct mt_stack_area *a = registry_area_mapped(b->area);
	if (a)
		__atomic_fetch_add(&area_agg(a, b->entry)->freed_w, b->bytes_w, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------- sampling */

struct mt_sampled stacks_sample(struct mt_sampler *s, struct mt_slot *slot, unsigned tier,
				void *p, uint64_t size, uintptr_t site)
{
	struct mt_sampled none = { 0, 0 };
	struct mt_stack_area *a = mt_hdr ? area_of_slot(slot) : NULL;
	if (!a) {
		/* No room for this thread's figures: stop sampling it, in
		 * every tier (one tier alone would ask for an area again at
		 * the next tier's hit). */
		for (unsigned t = 0; t < 3; t++)
			s->countdown[t] = MT_COUNTDOWN_OFF;
		return none;
	}
	uint64_t w = mt_sampler_decide(s, &mt_scfg, a->sites, tier, site);
	if (!w)
		return none;
	uint64_t t0 = now_ns(), c0 = ticks();

	void *raw[MT_STACK_MAX_DEPTH + 8];
	int n = unw_backtrace(raw, (int)(mt_scfg.depth + 8));
	int first = 0;
	while (first < n && (uintptr_t)raw[first] >= self_lo && (uintptr_t)raw[first] < self_hi)
		first++;
	uint64_t frames[MT_STACK_MAX_DEPTH];
	uint32_t depth = 0, flags = 0;
	for (int i = first; i < n && depth < mt_scfg.depth; i++)
		frames[depth++] = (uintptr_t)raw[i];
	if (n - first > (int)depth || n == (int)(mt_scfg.depth + 8))
		flags |= MT_STACK_TRUNCATED;

	uint32_t id = depth ? stack_id_of(frames, depth, flags) : MT_STACK_OTHER;
	if (id == MT_STACK_OTHER)
		__atomic_fetch_add(&mt_hdr->stacks_lost, 1, __ATOMIC_RELAXED);
	uint64_t bw = mt_weighted_bytes(size, w);
	uint64_t sq = a->seq;
	mt_seq_begin(&a->seq, sq);
	uint32_t k = area_entry(a, id);
	struct mt_stack_agg *g = area_agg(a, k);
	agg_add_owner(g, w, bw, size, t0);

	struct mt_live_block b = { .ptr = (uintptr_t)p, .area = slot->area, .entry = k,
				   .bytes_w = bw };
	if (!live_insert(&b))
		__atomic_fetch_add(&mt_hdr->live_untracked, 1, __ATOMIC_RELAXED);
	MT_ADD(g->cpu_ns, ticks() - c0);
	mt_seq_end(&a->seq, sq);
	return (struct mt_sampled){ .weight = w, .stack_id = id };
}

/* ---------------------------------------------------------------- publication */

void stacks_on_publish(struct mt_slot *slot, struct mt_snapshot *snap)
{
	(void)slot;
	(void)snap;
	if (mt_scfg.enabled)
		scan_modules(false);
	calibrate();
	/* Clock pairs let a trace reader turn ticks into time. */
	if (mt_trace_on && slot->index == 0)
		trace_clock();
}

/* ---------------------------------------------------------------- attach mode */

uint32_t mt_sampling_gen;

void stacks_configure(const char *spec)
{
	double r[3] = { 0.01, 0.5, 1.0 };
	uint64_t thr[3] = { 2048, 65536, 10 };
	uint32_t depth = MT_STACK_MAX_DEPTH;
	bool enabled = strcmp(spec, "off") != 0 && parse_sampling(spec, r, thr, &depth);
	if (enabled && !live_table) {
		void *p = mmap(NULL, (size_t)LIVE_BUCKETS * LIVE_BUCKET * sizeof(struct live_entry),
			       PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			       -1, 0);
		live_table = p == MAP_FAILED ? NULL : p;
		dl_iterate_phdr(find_self, (void *)(uintptr_t)stacks_init);
		unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	}
	if (!live_table)
		enabled = false;
	mt_sampler_config_set(&mt_scfg, enabled, r[0], r[1], r[2], thr[0], thr[1], thr[2], depth);
	stacks_segment_created();
	__atomic_add_fetch(&mt_sampling_gen, 1, __ATOMIC_RELEASE);
}

void stacks_attach_reset(void)
{
	if (!mt_hdr)
		return;
	uint32_t used = __atomic_load_n(&mt_hdr->areas_used, __ATOMIC_ACQUIRE);
	uint32_t mapped = __atomic_load_n(&mt_hdr->areas_mapped, __ATOMIC_ACQUIRE);
	uint32_t n = used < mapped ? used : mapped;
	for (uint32_t id = 0; id < n && id < MT_MAX_AREAS; id++) {
		struct mt_stack_area *a = registry_area_mapped(id);
		if (!a)
			continue;
		/* The owners are not sampling (the hooks are not installed),
		 * so the area's sequence count is ours to take. */
		uint64_t sq = __atomic_load_n(&a->seq, __ATOMIC_RELAXED) & ~(uint64_t)1;
		mt_seq_begin(&a->seq, sq);
		for (uint32_t k = 0; k < MT_AREA_STACKS; k++)
			__atomic_store_n(&a->keys[k], 0, __ATOMIC_RELAXED);
		memset(a->agg, 0, sizeof(a->agg));
		memset(&a->other, 0, sizeof(a->other));
		a->other.stack_id = MT_STACK_OTHER;
		memset(a->sites, 0, sizeof(a->sites));
		mt_seq_end(&a->seq, sq);
	}
	/* Blocks sampled before would credit their frees to entries that
	 * now hold other stacks. */
	memset(mt_live_filter, 0, sizeof(mt_live_filter));
	if (live_table)
		madvise(live_table, (size_t)LIVE_BUCKETS * LIVE_BUCKET * sizeof(struct live_entry),
			MADV_DONTNEED);
	__atomic_store_n(&mt_hdr->stacks_lost, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&mt_hdr->live_untracked, 0, __ATOMIC_RELAXED);
}
