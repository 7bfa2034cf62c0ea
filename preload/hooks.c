/*
 * hooks.c - the interposed malloc family and the collector's lifecycle.
 *
 * Each hook calls the real function first, then records the event in the
 * calling thread's slot.  The only state touched per event is the thread's
 * own slot and two initial-exec TLS words (a re-entrancy guard and the slot
 * pointer): initial-exec because a general-dynamic TLS access may itself
 * allocate, and small because attach mode (dlopen) must fit glibc's static
 * TLS surplus.  The guard is held while the collector itself runs code that
 * may allocate (dlsym, registration, publication); calls made meanwhile go
 * straight to the real functions and are not counted.
 *
 * errno: the hot path never changes it; slow paths save and restore it, so
 * the caller sees exactly the errno the real allocator left.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <stdarg.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "api_internal.h"
#include "attach_mode.h"
#include "bootstrap.h"
#include "collector.h"
#include "registry.h"
#include "stacks.h"
#include "trace.h"

#define MT_EXPORT __attribute__((visibility("default")))

struct mt_tls {
	int guard;
	uint32_t sampling_gen;      /* mt_sampling_gen smp was seeded under (in padding) */
	struct mt_slot *slot;
	struct mt_sampler smp;
	struct mt_tbuf *tb;         /* --trace: this thread's buffer */
	uint32_t tb_gen;            /* the trace generation tb belongs to */
};
static __thread struct mt_tls mt_tls __attribute__((tls_model("initial-exec")));

static struct {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*usable)(void *);
} real;

/* glibc's __libc_malloc family, which programs may call by name; same:
 * each is the function the hooks of the standard name wrap. */
static struct {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	bool same;
} libc;

static int resolving;
/* True once checked that glibc's chunk header gives the usable size; then
 * the hooks read it inline instead of calling malloc_usable_size. */
static bool glibc_chunks;
/*
 * A child made without fork() - glibc's _Fork, a raw clone without
 * CLONE_VM - runs no atfork handler: it would go on counting in its
 * parent's slots, which are MAP_SHARED.  The kernel tells it apart for us:
 * this page, alone on its page, is MADV_WIPEONFORK, so any child that does
 * not share our memory (fork, _Fork, clone without CLONE_VM; a vfork child
 * shares it, and counts on in its parent's slot until it execs, as it
 * always did) starts with it zeroed.  `fast` is what the hooks' fast paths
 * test instead of glibc_chunks: zero in such a child, so its first event
 * leaves the fast path, and every slow path calls process_check() before it
 * writes into a slot or the segment.  No system call, no extra instruction
 * on the fast path.
 */
static union {
	struct {
		bool fast;   /* glibc_chunks, once this process's state is its own */
		bool own;    /* the collector's state is this process's */
	} v;
	char page[4096];
} this_process __attribute__((aligned(4096)));
/* The madvise worked: a zero `own` after process_arm() means a child. */
static bool wipe_armed;
/* A child (made without fork) of an attached process: memtop watches the
 * process it attached to, so nothing is counted here until an attach of
 * this one (the hooks are gone, but some may be under way on the stack). */
static bool unwatched;
static pthread_key_t exit_key;
static int exit_key_ok;
/* The segment segment_created() last described (and started tracing in). */
static struct mt_shm_header *described;

static void *(*real_dlopen)(const char *, int);
typedef void (*exit_fn)(int);
static exit_fn next_exit;      /* libc's _exit */

static void *next_sym(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

/* The segment is this process's: false in a child of vfork, which runs in
 * its parent's memory until it execs or leaves. */
static bool own_segment(void)
{
	return mt_hdr && (pid_t)mt_hdr->pid == getpid();
}

/* False while resolution is under way (the caller then uses the arena). */
static bool resolve(void)
{
	if (__atomic_load_n(&real.usable, __ATOMIC_ACQUIRE))
		return true;
	if (__atomic_exchange_n(&resolving, 1, __ATOMIC_ACQ_REL))
		return false;
	mt_tls.guard++;
	real.free = next_sym("free");
	real.calloc = next_sym("calloc");
	real.realloc = next_sym("realloc");
	real.posix_memalign = next_sym("posix_memalign");
	real.aligned_alloc = next_sym("aligned_alloc");
	real.memalign = next_sym("memalign");
	real.valloc = next_sym("valloc");
	real.pvalloc = next_sym("pvalloc");
	real.malloc = next_sym("malloc");
	real_dlopen = next_sym("dlopen");
	libc.malloc = next_sym("__libc_malloc");
	libc.free = next_sym("__libc_free");
	libc.calloc = next_sym("__libc_calloc");
	libc.realloc = next_sym("__libc_realloc");
	libc.memalign = next_sym("__libc_memalign");
	libc.valloc = next_sym("__libc_valloc");
	libc.pvalloc = next_sym("__libc_pvalloc");
	libc.same = libc.malloc == real.malloc && libc.free == real.free &&
		    libc.calloc == real.calloc && libc.realloc == real.realloc &&
		    libc.memalign == real.memalign && libc.valloc == real.valloc &&
		    libc.pvalloc == real.pvalloc;
	/* here, not when needed: _exit may be called from a signal handler */
	__atomic_store_n(&next_exit, (exit_fn)next_sym("_exit"), __ATOMIC_RELEASE);
	__atomic_store_n(&real.usable, (size_t (*)(void *))next_sym("malloc_usable_size"),
			 __ATOMIC_RELEASE);
	mt_tls.guard--;
	__atomic_store_n(&resolving, 0, __ATOMIC_RELEASE);
	return real.usable && real.malloc && real.free;
}

/* From glibc's chunk header (only where glibc_chunks says it is right). */
static inline size_t chunk_usable(const void *p)
{
	size_t sz = ((const size_t *)p)[-1];
	/* IS_MMAPPED (bit 1): no shared footer, 8 bytes less; branch-free */
	return (sz & ~(size_t)7) - 8 - ((sz & 2) << 2);
}

static inline size_t usable_size(void *p)
{
	if (mt_likely(glibc_chunks))
		return chunk_usable(p);
	return real.usable(p);
}

/* f is defined in glibc's libc.so itself: another allocator (tcmalloc)
 * may define glibc's __libc_malloc names too, and read a header built
 * below as its own, which it is not. */
static bool in_glibc(void *f)
{
	Dl_info fi, libc_fi;
	return dladdr(f, &fi) && dladdr((void *)gnu_get_libc_version, &libc_fi) &&
	       fi.dli_fbase == libc_fi.dli_fbase;
}

/*
 * Use the inline formula only where the allocator is glibc's and its own
 * malloc_usable_size agrees with it, on in-heap and on mmapped chunks.
 *
 * Without allocating: a block the check malloc'd and freed would change
 * what the program's allocator does afterwards.  An mmapped block's free
 * raises glibc's dynamic mmap and trim thresholds (requests up to its
 * size then come from the heap), and any block initialises the main arena,
 * which malloc_trim then finds to trim.  So the check asks glibc's
 * malloc_usable_size about chunk headers built here, in the check's own
 * stack memory: it reads the header (and, for an in-heap chunk, the next
 * chunk's PREV_INUSE bit) and nothing else.  With MALLOC_CHECK_ set, glibc
 * before 2.34 adds a byte to each block and its malloc_usable_size walks
 * the block's magic bytes, which a built header has not: the formula is
 * not used then.
 */
static void check_glibc_chunks(void)
{
	if (!libc.malloc || libc.malloc != real.malloc || !in_glibc((void *)real.malloc) ||
	    !in_glibc((void *)real.usable))
		return;
	const char *check = getenv("MALLOC_CHECK_");
	if (check && *check)
		return;
	/* chunk sizes: in-heap from the smallest up, mmapped page multiples */
	static const size_t heap[] = { 32, 48, 112, 1040, 4112 };
	static const size_t mapped[] = { 4096, 200704, 1052672, 4198400 };
	/* the flag bits a chunk of each kind may carry besides its own:
	 * PREV_INUSE (1) and NON_MAIN_ARENA (4, a thread's arena) */
	static const size_t flags[] = { 0, 1, 4, 5 };
	/* A chunk is [prev_size][size|flags][data...], the block starts after
	 * the two words; an in-heap chunk's in-use bit is the next chunk's
	 * PREV_INUSE (bit 0), an mmapped one has IS_MMAPPED (bit 1). */
	size_t words[(4112 + 32) / sizeof(size_t)] __attribute__((aligned(16)));
	void *p = &words[2];
	bool ok = true;
	for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
		for (size_t i = 0; ok && i < sizeof(heap) / sizeof(heap[0]); i++) {
			words[1] = heap[i] | flags[f];
			words[heap[i] / sizeof(size_t) + 1] = 32 | 1;
			ok = chunk_usable(p) == real.usable(p);
		}
		for (size_t i = 0; ok && i < sizeof(mapped) / sizeof(mapped[0]); i++) {
			words[1] = mapped[i] | 2 | (flags[f] & 1);
			ok = chunk_usable(p) == real.usable(p);
		}
	}
	glibc_chunks = ok;
}

static inline bool ready(void)
{
	return mt_likely(__atomic_load_n(&real.usable, __ATOMIC_ACQUIRE) != NULL) || resolve();
}

/* ---------------------------------------------------------------- processes */

/* Once, before this image's first event is counted. */
static void process_arm(void)
{
#ifdef MADV_WIPEONFORK
	/* a larger page would wipe our neighbours too */
	wipe_armed = sysconf(_SC_PAGESIZE) == (long)sizeof(this_process) &&
		     madvise(&this_process, sizeof(this_process), MADV_WIPEONFORK) == 0;
#endif
	this_process.v.own = true;
}

static void child_forget(struct mt_tls *t);
static void new_process(struct mt_tls *t);

/* process_check's rare case: fast unset (a child, before our constructor,
 * or an allocator that is not glibc's). */
static __attribute__((noinline)) bool process_settle(void)
{
	if (mt_unlikely(!this_process.v.own)) {
		if (!wipe_armed)
			return true;  /* not armed yet (before our constructor) */
		new_process(&mt_tls);
	}
	if (unwatched)
		return false;
	if (glibc_chunks)
		this_process.v.fast = true;
	return true;
}

/* On every slow path, with the guard free, before anything is written into
 * a slot or the segment: false if this event must not be counted (a child
 * of an attached process, which memtop does not watch). */
static inline bool process_check(void)
{
	return mt_likely(this_process.v.fast) || process_settle();
}

/* ---------------------------------------------------------------- accounting */

static void setup(void);
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;

static __attribute__((noinline)) struct mt_slot *register_thread(struct mt_tls *t)
{
	int saved = errno;
	t->guard++;
	/* The first registration may come before our constructor (another
	 * library's constructor allocated): the segment it creates must be
	 * described and traced like any other. */
	pthread_once(&setup_once, setup);
	struct mt_slot *s = registry_register();
	if ((uintptr_t)s > MT_SLOT_SPECIAL) {
		t->sampling_gen = __atomic_load_n(&mt_sampling_gen, __ATOMIC_ACQUIRE);
		stacks_thread_init(&t->smp, s);
		if (exit_key_ok)
			pthread_setspecific(exit_key, s);
	}
	t->slot = s;
	t->guard--;
	errno = saved;
	return s;
}

static __attribute__((noinline)) void publish(struct mt_tls *t, struct mt_slot *s)
{
	int saved = errno;
	t->guard++;
	registry_publish(s);
	/* attach mode: modules loaded since the last scan get redirected, and
	 * new sampling parameters reach the countdowns (off ones included) */
	gotpatch_refresh();
	uint32_t gen = __atomic_load_n(&mt_sampling_gen, __ATOMIC_ACQUIRE);
	if (mt_unlikely(t->sampling_gen != gen)) {
		t->sampling_gen = gen;
		stacks_thread_init(&t->smp, s);
	}
	t->guard--;
	errno = saved;
}

/* A stage-1 hit (see sampler.h): the rest of the decision and the capture,
 * under the guard because libunwind may allocate. */
static __attribute__((noinline, cold)) struct mt_sampled
sample(struct mt_tls *t, struct mt_slot *s, unsigned tier, void *p, size_t size, uintptr_t site)
{
	int saved = errno;
	t->guard++;
	struct mt_sampled sm = stacks_sample(&t->smp, s, tier, p, size, site);
	t->guard--;
	errno = saved;
	return sm;
}

/* A block allocated at `site` was counted in slot s: stage 1 of sampling.
 * Returns the sample (weight 0 when not sampled) for the trace. */
static inline struct mt_sampled maybe_sample(struct mt_tls *t, struct mt_slot *s, void *p,
					     size_t size, uintptr_t site)
{
	unsigned tier = mt_tier(&mt_scfg, size);
	if (mt_sampler_hit(&t->smp, tier))
		return sample(t, s, tier, p, size, site);
	return (struct mt_sampled){ 0, 0 };
}

/* A trace started since this thread's last event (or it never had one). */
static __attribute__((noinline, cold)) void trace_rebind(struct mt_tls *t)
{
	int saved = errno;
	t->guard++;
	struct mt_slot *s = t->slot;
	if ((uintptr_t)s > MT_SLOT_SPECIAL)
		t->tb = trace_attach(t->tb, s->tid, s->index, s->name);
	t->tb_gen = __atomic_load_n(&mt_trace_gen, __ATOMIC_ACQUIRE);
	t->guard--;
	errno = saved;
}

/* --trace: record the event in the calling thread's buffer.  Not for the
 * collector's own calls (guard), which are not counted either.  When no
 * trace runs this is one load of a flag nobody writes. */
#define TRACE(t, ...)                                                      \
	do {                                                               \
		if (mt_unlikely(__atomic_load_n(&mt_trace_on, __ATOMIC_RELAXED)) && \
		    !(t)->guard) {                                         \
			if (mt_unlikely((t)->tb_gen != mt_trace_gen))      \
				trace_rebind(t);                           \
			if ((t)->tb)                                       \
				trace_event((t)->tb, __VA_ARGS__);         \
		}                                                          \
	} while (0)

static const struct mt_sampled no_sample;

/* Out of line: the generic path of calloc, realloc and the aligned
 * functions, and the slow cases of malloc and free.  Returns the slot the
 * event was counted in, or NULL (guarded, pooled, nested, or no segment). */
static __attribute__((noinline)) struct mt_slot *account(const struct mt_event *e)
{
	struct mt_tls *t = &mt_tls;
	if (mt_unlikely(t->guard) || !process_check())
		return NULL;
	struct mt_slot *s = t->slot;
	if (mt_unlikely((uintptr_t)s <= MT_SLOT_SPECIAL)) {
		if (s == MT_SLOT_NONE)
			s = register_thread(t);
		if (s == MT_SLOT_OVERFLOW && mt_hdr) {
			collector_overflow(&mt_hdr->overflow, e);
			return NULL;
		}
		if ((uintptr_t)s <= MT_SLOT_SPECIAL)
			return NULL;
	}
	if (!collector_apply(s, e))
		return NULL;
	if (mt_unlikely(registry_tick() != s->pub_tick))
		publish(t, s);
	return s;
}

/* op_flags: MT_EVF_CALLOC or MT_EVF_ALIGN (with align) for the trace. */
static __attribute__((noinline)) void account_alloc(void *p, size_t size, uintptr_t site,
						    unsigned op_flags, size_t align)
{
	struct mt_event e = { 0 };
	if (mt_likely(p != NULL)) {
		e.allocs = 1;
		e.bytes = size;
		e.usable_in = usable_size(p);
	} else {
		e.failed = 1;
	}
	struct mt_slot *s = account(&e);
	struct mt_sampled sm = no_sample;
	if (s && p)
		sm = maybe_sample(&mt_tls, s, p, size, site);
	if (p)
		TRACE(&mt_tls, MT_EV_ALLOC | op_flags, (uintptr_t)p, 0, size, e.usable_in, align, sm);
	else
		TRACE(&mt_tls, MT_EV_FAILED | (op_flags & MT_EVF_CALLOC), 0, 0, size, 0, 0,
		      no_sample);
}

/* p may be a sampled block: credit its stack before the address is reused. */
static __attribute__((noinline)) void free_sampled(void *p)
{
	struct mt_live_block b;
	if (stacks_take(p, &b))
		stacks_freed(&b);
}

/* ---------------------------------------------------------------- hooks */

static inline void maybe_publish(struct mt_tls *t, struct mt_slot *s)
{
	if (mt_unlikely(registry_tick() != s->pub_tick))
		publish(t, s);
}

/*
 * malloc and free are split so that their common path runs without a stack
 * frame of its own: malloc keeps only the size across the call to the real
 * allocator and hands the rest to malloc_record() as a sibling call, and
 * free counts the block before it tail-calls the real free.  Whatever is
 * unusual (a guard held, no slot, a nested update, a foreign allocator, a
 * publication due, a sample, a trace) leaves the fast path through one
 * out-of-line function.
 */

/* The generic path, for whatever the fast one does not handle. */
static __attribute__((noinline)) void *malloc_slow(void *p, size_t size, uintptr_t site)
{
	account_alloc(p, size, site, 0, 0);
	return p;
}

/* Counted already: publication, the sample (stage 1 hit) and the trace. */
static __attribute__((noinline)) void *malloc_after(void *p, size_t size, size_t usable,
						    uintptr_t site, bool hit)
{
	struct mt_tls *t = &mt_tls;
	struct mt_slot *s = t->slot;
	maybe_publish(t, s);
	struct mt_sampled sm = no_sample;
	if (hit)
		sm = sample(t, s, mt_tier(&mt_scfg, size), p, size, site);
	TRACE(t, MT_EV_ALLOC, (uintptr_t)p, 0, size, usable, 0, sm);
	return p;
}

/* Counted already, something more to do.  The common case while tracing
 * (no publication due, no sample) appends the event without a call, where
 * trace_event_try can; anything else goes to malloc_after. */
static __attribute__((noinline)) void *malloc_more(void *p, size_t size, size_t usable,
						   uintptr_t site, bool hit)
{
	struct mt_tls *t = &mt_tls;
	struct mt_tbuf *tb = t->tb;
	if (mt_likely(!hit && registry_tick() == t->slot->pub_tick &&
		      __atomic_load_n(&mt_trace_on, __ATOMIC_RELAXED) && !t->guard &&
		      t->tb_gen == mt_trace_gen && tb != NULL &&
		      trace_event_try(tb, MT_EV_ALLOC, (uintptr_t)p, 0, size, usable, 0, no_sample)))
		return p;
	return malloc_after(p, size, usable, site, hit);
}

static __attribute__((noinline)) void *malloc_record(void *p, size_t size, uintptr_t site)
{
	struct mt_tls *t = &mt_tls;
	struct mt_slot *s = t->slot;
	uint64_t sq;
	if (mt_unlikely(!p || t->guard || (uintptr_t)s <= MT_SLOT_SPECIAL || !this_process.v.fast ||
			((sq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED)) & 1)))
		return malloc_slow(p, size, site);
	size_t usable = chunk_usable(p);
	collector_alloc_at(s, sq, size, usable);
	bool hit = mt_scfg.enabled && mt_sampler_hit(&t->smp, mt_tier(&mt_scfg, size));
	if (mt_unlikely(hit || registry_tick() != s->pub_tick ||
			__atomic_load_n(&mt_trace_on, __ATOMIC_RELAXED)))
		return malloc_more(p, size, usable, site, hit);
	return p;
}

MT_EXPORT void *malloc(size_t size)
{
	if (mt_unlikely(!ready()))
		return bootstrap_alloc(size, 16);
	void *p = real.malloc(size);
	return malloc_record(p, size, (uintptr_t)__builtin_return_address(0));
}

/* The generic path of free. */
static __attribute__((noinline)) void free_slow(void *p)
{
	struct mt_tls *t = &mt_tls;
	if (t->guard) {
		if (mt_live_maybe(p))
			free_sampled(p);
		if (mt_likely(ready()))
			real.free(p);
		return;
	}
	if (mt_unlikely(!ready()))
		return;  /* unreachable in practice: p came from a resolved allocator */
	/* Counted and traced before the block goes back: once it has, another
	 * thread may get the address, and its event must come after this one.
	 * The stack's credit too, after account(): in a child made without
	 * fork, that is what gives it a live table of its own. */
	struct mt_event e = { .frees = 1, .usable_out = usable_size(p) };
	account(&e);
	if (mt_live_maybe(p))
		free_sampled(p);
	TRACE(t, MT_EV_FREE, (uintptr_t)p, 0, 0, e.usable_out, 0, no_sample);
	real.free(p);
}

/* Counted already: a publication due, or the trace. */
static __attribute__((noinline)) void free_after(void *p, size_t usable)
{
	struct mt_tls *t = &mt_tls;
	maybe_publish(t, t->slot);
	TRACE(t, MT_EV_FREE, (uintptr_t)p, 0, 0, usable, 0, no_sample);
	real.free(p);
}

/* Counted already, something more to do: as malloc_more, then the block
 * goes back. */
static __attribute__((noinline)) void free_more(void *p, size_t usable)
{
	struct mt_tls *t = &mt_tls;
	struct mt_tbuf *tb = t->tb;
	if (mt_likely(registry_tick() == t->slot->pub_tick &&
		      __atomic_load_n(&mt_trace_on, __ATOMIC_RELAXED) && !t->guard &&
		      t->tb_gen == mt_trace_gen && tb != NULL &&
		      trace_event_try(tb, MT_EV_FREE, (uintptr_t)p, 0, 0, usable, 0, no_sample))) {
		real.free(p);
		return;
	}
	free_after(p, usable);
}

MT_EXPORT void free(void *p)
{
	if (!p || mt_unlikely(bootstrap_owns(p)))
		return;
	struct mt_tls *t = &mt_tls;
	struct mt_slot *s = t->slot;
	uint64_t sq;
	if (mt_unlikely(t->guard || (uintptr_t)s <= MT_SLOT_SPECIAL || !this_process.v.fast ||
			mt_live_maybe(p) || ((sq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED)) & 1))) {
		free_slow(p);
		return;
	}
	size_t usable = chunk_usable(p);
	collector_free_at(s, sq, usable);
	if (mt_unlikely(registry_tick() != s->pub_tick ||
			__atomic_load_n(&mt_trace_on, __ATOMIC_RELAXED))) {
		free_more(p, usable);
		return;
	}
	real.free(p);
}

MT_EXPORT void *calloc(size_t n, size_t size)
{
	if (mt_unlikely(!ready())) {
		size_t total;
		if (__builtin_mul_overflow(n, size, &total))
			return NULL;
		return bootstrap_alloc(total, 16);
	}
	void *p = real.calloc(n, size);
	size_t total;
	if (__builtin_mul_overflow(n, size, &total))
		total = SIZE_MAX;
	account_alloc(p, total, (uintptr_t)__builtin_return_address(0), MT_EVF_CALLOC, 0);
	return p;
}

/* Takes a sampled block out of the live table before the real realloc
 * (which may free it); realloc_common settles it afterwards. */
struct realloc_old {
	size_t usable;
	bool sampled;
	struct mt_live_block b;
};

static inline void realloc_prepare(void *p, struct realloc_old *o)
{
	o->usable = p ? usable_size(p) : 0;
	o->sampled = p && mt_unlikely(mt_live_maybe(p)) && stacks_take(p, &o->b);
}

static void *realloc_common(void *p, size_t size, void *q, const struct realloc_old *o,
			    uintptr_t site)
{
	size_t old_usable = o->usable;
	if (o->sampled) {
		if (q || size == 0)
			stacks_freed(&o->b);
		else
			stacks_put_back(&o->b);
	}
	struct mt_event e = { 0 };
	if (q) {
		e.allocs = 1;
		e.bytes = size;
		e.usable_in = usable_size(q);
		if (p) {
			e.frees = 1;
			e.reallocs = 1;
			e.usable_out = old_usable;
		}
	} else if (p && size == 0) {
		/* glibc frees the block and returns NULL */
		e.frees = 1;
		e.reallocs = 1;
		e.usable_out = old_usable;
	} else {
		e.failed = 1;
	}
	struct mt_slot *s = account(&e);
	struct mt_sampled sm = no_sample;
	if (s && q)
		sm = maybe_sample(&mt_tls, s, q, size, site);
	if (q && p)
		TRACE(&mt_tls, MT_EV_REALLOC, (uintptr_t)p, (uintptr_t)q, size, e.usable_in,
		      old_usable, sm);
	else if (q)
		TRACE(&mt_tls, MT_EV_ALLOC, (uintptr_t)q, 0, size, e.usable_in, 0, sm);
	else if (e.frees)
		TRACE(&mt_tls, MT_EV_REALLOC_FREE, (uintptr_t)p, 0, 0, 0, old_usable, no_sample);
	else
		TRACE(&mt_tls, MT_EV_FAILED, 0, 0, size, 0, 0, no_sample);
	return q;
}

static void *realloc_from_arena(void *p, size_t size)
{
	void *q = malloc(size);
	if (q) {
		size_t old = bootstrap_size(p);
		memcpy(q, p, old < size ? old : size);
	}
	return q;
}

MT_EXPORT void *realloc(void *p, size_t size)
{
	if (mt_unlikely(p && bootstrap_owns(p)))
		return realloc_from_arena(p, size);
	if (mt_unlikely(!ready()))
		return p ? NULL : bootstrap_alloc(size, 16);
	if (mt_unlikely(mt_tls.guard))
		return real.realloc(p, size);
	process_check();  /* before the live table */
	struct realloc_old o;
	realloc_prepare(p, &o);
	void *q = real.realloc(p, size);
	return realloc_common(p, size, q, &o, (uintptr_t)__builtin_return_address(0));
}

MT_EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		if (ready() && !mt_tls.guard) {
			struct mt_event e = { .failed = 1 };
			account(&e);
			TRACE(&mt_tls, MT_EV_FAILED, 0, 0, SIZE_MAX, 0, 0, no_sample);
		}
		errno = ENOMEM;
		return NULL;
	}
	if (mt_unlikely(p && bootstrap_owns(p)))
		return realloc_from_arena(p, total);
	if (mt_unlikely(!ready()))
		return p ? NULL : bootstrap_alloc(total, 16);
	if (mt_unlikely(mt_tls.guard))
		return real.realloc(p, total);
	process_check();  /* before the live table */
	struct realloc_old o;
	realloc_prepare(p, &o);
	/* Not real.reallocarray: glibc's calls realloc through the PLT, which
	 * would land in our realloc and count the call twice. */
	void *q = real.realloc(p, total);
	return realloc_common(p, total, q, &o, (uintptr_t)__builtin_return_address(0));
}

MT_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	if (mt_unlikely(!ready())) {
		void *p = bootstrap_alloc(size, align);
		if (!p)
			return ENOMEM;
		*out = p;
		return 0;
	}
	int r = real.posix_memalign(out, align, size);
	account_alloc(r == 0 ? *out : NULL, size, (uintptr_t)__builtin_return_address(0),
		      MT_EVF_ALIGN, align);
	return r;
}

#define ALIGNED_HOOK(name, params, args, size_expr, align_expr)         \
	MT_EXPORT void *name params                                     \
	{                                                               \
		if (mt_unlikely(!ready()))                              \
			return bootstrap_alloc(size_expr, align_expr);  \
		void *p = real.name args;                               \
		account_alloc(p, size_expr,                             \
			      (uintptr_t)__builtin_return_address(0), \
			      MT_EVF_ALIGN, align_expr);                \
		return p;                                               \
	}

ALIGNED_HOOK(aligned_alloc, (size_t align, size_t size), (align, size), size, align)
ALIGNED_HOOK(memalign, (size_t align, size_t size), (align, size), size, align)
ALIGNED_HOOK(valloc, (size_t size), (size), size, 4096)
ALIGNED_HOOK(pvalloc, (size_t size), (size), size, 4096)

MT_EXPORT size_t malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	if (bootstrap_owns(p))
		return bootstrap_size(p);
	if (!ready())
		return 0;
	return real.usable(p);
}

/* ---------------------------------------------------------------- api.c */

struct mt_slot *api_enter(void)
{
	struct mt_tls *t = &mt_tls;
	if (!t->guard)
		process_check();
	if (t->slot == MT_SLOT_NONE && !t->guard && ready())
		register_thread(t);
	t->guard++;
	return t->slot;
}

void api_leave(void)
{
	mt_tls.guard--;
}

/* ---------------------------------------------------------------- lifecycle */

static void thread_exit(void *arg)
{
	struct mt_slot *s = arg;
	if (!mt_tls.guard)
		process_check();
	/* a child's thread that never registered in the child holds its
	 * parent's slot here (the key's value is inherited) */
	if (s != mt_tls.slot)
		return;
	int saved = errno;
	mt_tls.guard++;
	registry_thread_exit(s);
	if (mt_tls.tb) {
		trace_thread_exit(mt_tls.tb, s->name, s->cpu_ns);
		mt_tls.tb = NULL;
		mt_tls.tb_gen = 0;
	}
	mt_tls.guard--;
	errno = saved;
}

static void fork_prepare(void)
{
	mt_tls.guard++;
	registry_fork_prepare();
}

static void fork_parent(void)
{
	registry_fork_parent();
	mt_tls.guard--;
}

/* In a child: forget the parent's segment, tables and trace; the child's
 * own start at its next registration. */
static void child_forget(struct mt_tls *t)
{
	registry_fork_child();
	stacks_fork_child();
	trace_fork_child(t->tb);
	described = NULL;  /* the child's segment may be mapped where the parent's was */
	t->tb = NULL;
	t->tb_gen = 0;
	t->slot = MT_SLOT_NONE;
	this_process.v.own = true;
}

static void fork_child(void)
{
	child_forget(&mt_tls);
	mt_tls.guard--;
}

/* A child made without fork, found by process_check: what the atfork
 * child handlers (ours, api.c's, attach_mode.c's) would have done. */
static __attribute__((noinline, cold)) void new_process(struct mt_tls *t)
{
	int saved = errno;
	t->guard++;
	child_forget(t);
	api_fork_child();
	unwatched = attach_mode_fork_child();
	t->guard--;
	errno = saved;
}

/* The process's segment exists (at start, or in a forked child). */
static void segment_created(void)
{
	if (described == mt_hdr)
		return;
	described = mt_hdr;
	stacks_segment_created();
	trace_init();
}

/* The sampling configuration and the segment callbacks, once, before
 * anything registers. */
static void setup(void)
{
	stacks_init();
	registry_on_publish = stacks_on_publish;
	registry_on_create = segment_created;
}

static void print_setup_error(void)
{
	if (!getenv(MT_ENV_SESSION) && !getenv(MT_ENV_VERBOSE))
		return;
	char msg[256];
	size_t n = 0;
	const char *parts[] = { "memtop collector: ", registry_error(),
				"; this process runs on unmonitored\n" };
	for (size_t i = 0; i < 3; i++) {
		size_t l = strlen(parts[i]);
		if (n + l >= sizeof(msg))
			l = sizeof(msg) - n - 1;
		memcpy(msg + n, parts[i], l);
		n += l;
	}
	if (write(STDERR_FILENO, msg, n) < 0)
		return;
}

static void mark_if_loaded_late(void);

__attribute__((constructor)) static void collector_start(void)
{
	int saved = errno;
	process_arm();
	resolve();
	mt_tls.guard++;
	if (real.malloc)
		check_glibc_chunks();
	exit_key_ok = pthread_key_create(&exit_key, thread_exit) == 0;
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	pthread_once(&setup_once, setup);
	if (mt_hdr)
		segment_created();  /* no-op if it was described when created */
	else if (registry_init() != 0)
		print_setup_error();
	mark_if_loaded_late();
	mt_tls.guard--;
	if (mt_hdr && mt_tls.slot == MT_SLOT_NONE)
		register_thread(&mt_tls);
	else if ((uintptr_t)mt_tls.slot > MT_SLOT_SPECIAL)
		/* registered before sampling was configured (another library's
		 * constructor allocated first) */
		stacks_thread_init(&mt_tls.smp, mt_tls.slot);
	errno = saved;
}

/* Late, but not last: later atexit handlers and libc's freeres still count,
 * and the reader takes the live counters after the process is gone. */
__attribute__((destructor)) static void collector_stop(void)
{
	if (!mt_tls.guard)
		process_check();
	struct mt_slot *s = mt_tls.slot;
	if ((uintptr_t)s > MT_SLOT_SPECIAL && mt_hdr) {
		/* The exiting thread may have been renamed since it registered;
		 * once the process is gone memtop cannot ask /proc. */
		prctl(PR_GET_NAME, s->name, 0, 0, 0);
		publish(&mt_tls, s);
	}
	if (mt_trace_on) {
		mt_tls.guard++;
		/* This thread ends with the process: its exit record carries the
		 * name it ends with (the main thread is often renamed) and its
		 * CPU time, as thread_exit's do for the others. */
		if (mt_tls.tb && (uintptr_t)s > MT_SLOT_SPECIAL) {
			trace_thread_exit(mt_tls.tb, s->name, s->cpu_ns);
			mt_tls.tb = NULL;
			mt_tls.tb_gen = 0;
		}
		trace_finish();
		mt_tls.guard--;
	}
}

/*
 * _exit and _Exit skip the destructors: a program that leaves through them
 * (dash does, and so do most forked children) would otherwise lose its
 * last events and its trace's end record.  They may be called from a
 * signal handler.  Not in a child of vfork: what it would write out is its
 * parent's.
 */
static __attribute__((noreturn)) void leave(int status)
{
	/* Only what a signal handler may do, whatever it interrupted (malloc
	 * with its locks, or this thread's own append or write-out): no
	 * publication, whose mallinfo takes malloc's locks (memtop reads the
	 * final counters once the process is gone), no thread exit record,
	 * whose buffer bookkeeping takes a lock; every buffer written out
	 * that is not being written out already, then the end record, unless
	 * the trace is being started or stopped.  Also from inside the
	 * collector (a sample being taken): none of that is what it holds. */
	if (own_segment() && __atomic_load_n(&mt_trace_on, __ATOMIC_RELAXED)) {
		mt_tls.guard++;
		trace_finish_if_free();
		mt_tls.guard--;
	}
	exit_fn f = __atomic_load_n(&next_exit, __ATOMIC_ACQUIRE);
	if (f)
		f(status);
	for (;;)
		syscall(SYS_exit_group, status);
}

MT_EXPORT void _exit(int status)
{
	leave(status);
}

MT_EXPORT void _Exit(int status)
{
	leave(status);
}

/* ---------------------------------------------------------------- attach mode */

/* The hooks' own addresses: taking the address of an exported function
 * from inside the library goes through its GOT, which in attach mode
 * holds libc's. */
#define HOOK_ALIAS(name) \
	extern __typeof(name) mt_hook_##name \
		__attribute__((alias(#name), copy(name), visibility("hidden")))
HOOK_ALIAS(malloc);
HOOK_ALIAS(free);
HOOK_ALIAS(calloc);
HOOK_ALIAS(realloc);
HOOK_ALIAS(reallocarray);
HOOK_ALIAS(posix_memalign);
HOOK_ALIAS(aligned_alloc);
HOOK_ALIAS(memalign);
HOOK_ALIAS(valloc);
HOOK_ALIAS(pvalloc);
HOOK_ALIAS(malloc_usable_size);

/*
 * glibc's __libc_malloc family, called by name: by a malloc wrapper that a
 * program defines itself (its malloc then comes before this collector's),
 * or by code that mixes them with the standard names.  Counted like the
 * standard names, so that a block from __libc_malloc freed through free is
 * a counted allocation and a counted free, not a free of bytes never
 * counted (which made the process's live bytes negative).  Tail calls: the
 * hooks see the program's return address.  Where another allocator
 * replaced some of glibc's functions and not their __libc_ names, these
 * name another allocator than the hooks wrap: the call goes there as
 * without memtop, uncounted.
 */
void *__libc_malloc(size_t size);
void __libc_free(void *p);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);
void *__libc_valloc(size_t size);
void *__libc_pvalloc(size_t size);

MT_EXPORT void *__libc_malloc(size_t size)
{
	if (mt_likely(ready()) && mt_unlikely(!libc.same) && libc.malloc)
		return libc.malloc(size);
	return mt_hook_malloc(size);
}

MT_EXPORT void __libc_free(void *p)
{
	if (mt_likely(ready()) && mt_unlikely(!libc.same) && libc.free && !bootstrap_owns(p)) {
		libc.free(p);
		return;
	}
	mt_hook_free(p);
}

MT_EXPORT void *__libc_calloc(size_t n, size_t size)
{
	if (mt_likely(ready()) && mt_unlikely(!libc.same) && libc.calloc)
		return libc.calloc(n, size);
	return mt_hook_calloc(n, size);
}

MT_EXPORT void *__libc_realloc(void *p, size_t size)
{
	if (mt_likely(ready()) && mt_unlikely(!libc.same) && libc.realloc &&
	    !(p && bootstrap_owns(p)))
		return libc.realloc(p, size);
	return mt_hook_realloc(p, size);
}

MT_EXPORT void *__libc_memalign(size_t align, size_t size)
{
	if (mt_likely(ready()) && mt_unlikely(!libc.same) && libc.memalign)
		return libc.memalign(align, size);
	return mt_hook_memalign(align, size);
}

MT_EXPORT void *__libc_valloc(size_t size)
{
	if (mt_likely(ready()) && mt_unlikely(!libc.same) && libc.valloc)
		return libc.valloc(size);
	return mt_hook_valloc(size);
}

MT_EXPORT void *__libc_pvalloc(size_t size)
{
	if (mt_likely(ready()) && mt_unlikely(!libc.same) && libc.pvalloc)
		return libc.pvalloc(size);
	return mt_hook_pvalloc(size);
}

/* Loaded by dlopen into a running process, the hooks are not what the
 * process calls: a memtop that sees this segment later must not take it for
 * a preloaded collector's and only read it. */
static void mark_if_loaded_late(void)
{
	if (mt_hdr && dlsym(RTLD_DEFAULT, "malloc") != (void *)mt_hook_malloc)
		__atomic_fetch_or(&mt_hdr->flags, MT_FLAG_LOADED_LATE, __ATOMIC_RELEASE);
}

/* What GOT redirection points where: the hooks, in place of the allocator
 * they wrap (malloc first, as attach_mode_start wants). */
static size_t hook_table(struct gotpatch_fn *fns)
{
	const struct gotpatch_fn t[] = {
		{ "malloc", (void *)mt_hook_malloc, (void *)real.malloc },
		{ "free", (void *)mt_hook_free, (void *)real.free },
		{ "calloc", (void *)mt_hook_calloc, (void *)real.calloc },
		{ "realloc", (void *)mt_hook_realloc, (void *)real.realloc },
		{ "reallocarray", (void *)mt_hook_reallocarray, next_sym("reallocarray") },
		{ "posix_memalign", (void *)mt_hook_posix_memalign, (void *)real.posix_memalign },
		{ "aligned_alloc", (void *)mt_hook_aligned_alloc, (void *)real.aligned_alloc },
		{ "memalign", (void *)mt_hook_memalign, (void *)real.memalign },
		{ "valloc", (void *)mt_hook_valloc, (void *)real.valloc },
		{ "pvalloc", (void *)mt_hook_pvalloc, (void *)real.pvalloc },
		{ "malloc_usable_size", (void *)mt_hook_malloc_usable_size, (void *)real.usable },
	};
	_Static_assert(sizeof(t) / sizeof(t[0]) <= GOTPATCH_MAX_FNS, "room for the table");
	memcpy(fns, t, sizeof(t));
	return sizeof(t) / sizeof(t[0]);
}

/*
 * RTLD_DEEPBIND makes a module bind its own references first to its own
 * dependencies: its malloc and free go straight to libc's, past this
 * preloaded collector.  Such a module's GOT entries are redirected right
 * after it is loaded (gotpatch.h), and modules loaded later at each
 * publication.  Every other dlopen is a tail call, so glibc still sees the
 * program's code as the caller (its RUNPATH and $ORIGIN apply); so is a
 * deep-bound open of a bare name, which glibc would search from the
 * collector's point of view otherwise.
 */
static void redirect_deep_bound(void)
{
	int saved = errno;
	mt_tls.guard++;
	struct gotpatch_fn fns[GOTPATCH_MAX_FNS];
	size_t nfns = hook_table(fns);
	if (gotpatch_installed())
		gotpatch_refresh();
	else
		gotpatch_install(fns, nfns, (const void *)redirect_deep_bound);
	mt_tls.guard--;
	errno = saved;
}

MT_EXPORT void *dlopen(const char *file, int mode)
{
	if (mt_unlikely(!__atomic_load_n(&real_dlopen, __ATOMIC_ACQUIRE)) && !ready())
		return ((void *(*)(const char *, int))next_sym("dlopen"))(file, mode);
	if (mt_likely(!(mode & RTLD_DEEPBIND) || !file || !strchr(file, '/')))
		return real_dlopen(file, mode);
	void *h = real_dlopen(file, mode);
	if (h)
		redirect_deep_bound();
	return h;
}

/*
 * exec: the new program starts a trace file of its own (trace.c), and the
 * old one's buffers die with it.  The calling thread's events go out first
 * (the others are gone at the exec like at a kill: their last buffer is
 * lost); if the exec fails, tracing goes on.  Nothing else is done here:
 * counting does not need it.  glibc's execvp and execl call execve
 * inside libc, past this library, so each entry point has its own hook.
 */
/* Returns whether it marked the segment as about to be replaced (cleared
 * by exec_failed when the exec returns). */
static bool before_exec(void)
{
	struct mt_tls *t = &mt_tls;
	bool marked = false;
	if (!t->guard)
		process_check();  /* t->tb may be the parent's */
	if (own_segment()) {
		__atomic_store_n(&mt_hdr->exec_pending, 1, __ATOMIC_RELEASE);
		marked = true;
	}
	if (!__atomic_load_n(&mt_trace_on, __ATOMIC_RELAXED) || t->guard || !t->tb ||
	    __atomic_load_n(&t->tb->busy, __ATOMIC_RELAXED))
		return marked;
	int saved = errno;
	t->guard++;
	__atomic_store_n(&t->tb->busy, 1, __ATOMIC_RELAXED);
	trace_flush(t->tb);
	__atomic_store_n(&t->tb->busy, 0, __ATOMIC_RELAXED);
	t->guard--;
	errno = saved;
	return marked;
}

/* The exec returned: it failed, and this program goes on. */
static void exec_failed(bool marked)
{
	if (marked && mt_hdr)
		__atomic_store_n(&mt_hdr->exec_pending, 0, __ATOMIC_RELEASE);
}

#define EXEC_NEXT(name, type)                                           \
	static type next_##name;                                        \
	if (!__atomic_load_n(&next_##name, __ATOMIC_ACQUIRE)) {         \
		mt_tls.guard++;                                         \
		__atomic_store_n(&next_##name, (type)next_sym(#name),   \
				 __ATOMIC_RELEASE);                     \
		mt_tls.guard--;                                         \
	}                                                               \
	if (!next_##name) {                                             \
		errno = ENOSYS;                                         \
		return -1;                                              \
	}

/* The exec itself, between the two. */
#define EXEC_CALL(call)                                                 \
	do {                                                            \
		bool marked_ = before_exec();                           \
		int r_ = (call);                                        \
		exec_failed(marked_);                                   \
		return r_;                                              \
	} while (0)

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execv_fn)(const char *, char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);

MT_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	EXEC_NEXT(execve, execve_fn)
	EXEC_CALL(next_execve(path, argv, envp));
}

MT_EXPORT int execv(const char *path, char *const argv[])
{
	EXEC_NEXT(execv, execv_fn)
	EXEC_CALL(next_execv(path, argv));
}

MT_EXPORT int execvp(const char *file, char *const argv[])
{
	EXEC_NEXT(execvp, execv_fn)
	EXEC_CALL(next_execvp(file, argv));
}

MT_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	EXEC_NEXT(execvpe, execve_fn)
	EXEC_CALL(next_execvpe(file, argv, envp));
}

MT_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	EXEC_NEXT(fexecve, fexecve_fn)
	EXEC_CALL(next_fexecve(fd, argv, envp));
}

/* The list forms, as glibc builds them: the arguments up to the NULL
 * into an array on the stack, then the vector form above. */
#define EXEC_LIST(arg, ap, argv, extra)                                 \
	size_t argc = 1;                                                \
	va_start(ap, arg);                                              \
	while (va_arg(ap, const char *))                                \
		argc++;                                                 \
	va_end(ap);                                                     \
	if (argc > 1u << 17) {                                          \
		errno = E2BIG;                                          \
		return -1;                                              \
	}                                                               \
	char *argv[argc + 1];                                           \
	argv[0] = (char *)arg;                                          \
	va_start(ap, arg);                                              \
	for (size_t i = 1; i <= argc; i++)                              \
		argv[i] = va_arg(ap, char *);                           \
	extra;                                                          \
	va_end(ap)

MT_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	EXEC_LIST(arg, ap, argv, (void)0);
	return execv(path, argv);
}

MT_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	EXEC_LIST(arg, ap, argv, (void)0);
	return execvp(file, argv);
}

MT_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	char *const *envp;
	EXEC_LIST(arg, ap, argv, envp = va_arg(ap, char *const *));
	return execve(path, argv, envp);
}

/* memtop --attach calls these inside the target through ptrace, on one
 * stopped thread while the others run (see attach_mode.h). */
MT_EXPORT int memtop_attach_start(const char *sampling)
{
	int saved = errno;
	if (!ready()) {
		errno = saved;
		return MT_ATTACH_ENOSEGMENT;
	}
	if (!mt_tls.guard)
		process_check();  /* mt_hdr may be the parent's */
	unwatched = false;
	mt_tls.guard++;
	struct gotpatch_fn fns[GOTPATCH_MAX_FNS];
	size_t nfns = hook_table(fns);
	/* "SAMPLING" or "SAMPLING\nTRACE_DIR" (--trace): the trace starts
	 * before the hooks are installed, so every counted event is traced */
	char spec[160];
	const char *dir = NULL;
	if (sampling) {
		const char *nl = strchr(sampling, '\n');
		size_t n = nl ? (size_t)(nl - sampling) : strlen(sampling);
		if (n >= sizeof(spec))
			n = sizeof(spec) - 1;
		memcpy(spec, sampling, n);
		spec[n] = '\0';
		sampling = spec;
		dir = nl ? nl + 1 : NULL;
	}
	if (dir && *dir && !mt_trace_on)
		trace_start(dir, false);
	int r = attach_mode_start(fns, nfns, sampling);
	if (r < 0 && dir && *dir)
		trace_stop();
	mt_tls.guard--;
	/* this thread's countdowns under the sampling parameters just set */
	if (r >= 0 && (uintptr_t)mt_tls.slot > MT_SLOT_SPECIAL)
		stacks_thread_init(&mt_tls.smp, mt_tls.slot);
	errno = saved;
	return r;
}

MT_EXPORT int memtop_attach_stop(void)
{
	int saved = errno;
	mt_tls.guard++;
	int r = attach_mode_stop();
	/* hooks gone first: nothing counted after the trace's end record */
	if (r >= 0 && mt_trace_on)
		trace_stop();
	mt_tls.guard--;
	errno = saved;
	return r;
}
