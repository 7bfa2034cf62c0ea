/*
 * attach_mode.c - start and stop attach mode inside the target (see
 * attach_mode.h): flags in the segment header, the reset of the figures
 * before a second attach, and the GOT of forked children.
 */
#include "config.h"

#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "attach_mode.h"
#include "collector.h"
#include "registry.h"
#include "snapshot.h"
#include "stacks.h"

static bool atfork_done;

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void zero_words(void *p, size_t n)
{
	uint64_t *w = p;
	for (size_t i = 0; i < n / 8; i++)
		__atomic_store_n(&w[i], 0, __ATOMIC_RELAXED);
}

/* Attaching again: every figure of the last attach goes back to zero.  The
 * hooks are not installed, so the owners are not writing (a call through a
 * function pointer the program saved while attached is the exception: it
 * can at worst blur its own thread's first figures). */
static void reset_figures(void)
{
	uint32_t used = __atomic_load_n(&mt_hdr->slots_used, __ATOMIC_ACQUIRE);
	uint32_t mapped = __atomic_load_n(&mt_hdr->slots_mapped, __ATOMIC_ACQUIRE);
	uint32_t n = used < mapped ? used : mapped;
	uint64_t tick = __atomic_load_n(&mt_hdr->tick, __ATOMIC_RELAXED);
	uint64_t now = realtime_ns();
	for (uint32_t i = 0; i < n; i++) {
		struct mt_slot *s = registry_slot_mapped(i);
		if (!s)
			continue;
		uint32_t state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		if (state == MT_SLOT_EXITED) {
			/* gone before this attach: not part of it */
			__atomic_store_n(&s->state, MT_SLOT_FREE, __ATOMIC_RELEASE);
			continue;
		}
		if (state != MT_SLOT_ACTIVE)
			continue;
		uint64_t sq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED) & ~(uint64_t)1;
		mt_seq_begin(&s->seq, sq);
		zero_words(&s->live, sizeof(s->live));
		mt_seq_end(&s->seq, sq);
		uint64_t nq = __atomic_load_n(&s->nseq, __ATOMIC_RELAXED) & ~(uint64_t)1;
		mt_seq_begin(&s->nseq, nq);
		zero_words(&s->nested, sizeof(s->nested));
		mt_seq_end(&s->nseq, nq);
		/* The last snapshot may carry the current tick: replace it, or a
		 * reader would prefer it to the zeroed live counters. */
		struct mt_snapshot snap;
		collector_fill_snapshot(s, &snap, tick, now);
		mt_snapshot_publish(s, &snap);
	}
	zero_words(&mt_hdr->overflow, sizeof(mt_hdr->overflow));
	/* with the pool's thread count; samplers_unbacked stays: those
	 * threads still do not sample */
	__atomic_store_n(&mt_hdr->slots_unbacked, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&mt_hdr->slots_errno, 0, __ATOMIC_RELAXED);
	stacks_attach_reset();
}

static void fork_prepare(void)
{
	/* A GOT scan in another thread must not be cut in half in the child
	 * (scans are short, and never fork). */
	while (!gotpatch_lock_try())
		sched_yield();
}

static void fork_parent(void)
{
	gotpatch_lock_release();
}

static void fork_child(void)
{
	gotpatch_lock_release();
	if (gotpatch_installed())
		gotpatch_remove();
}

bool attach_mode_fork_child(void)
{
	/* only where the atfork handler would have run: a preloaded
	 * collector's redirections (RTLD_DEEPBIND) stay in its children */
	if (!atfork_done)
		return false;
	bool hooked = gotpatch_installed();
	fork_child();
	return hooked;
}

int attach_mode_start(const struct gotpatch_fn *fns, size_t n, const char *sampling)
{
	/* A child forked from a process memtop attached to earlier carries the
	 * collector but creates its segment only at its first registration. */
	if (!mt_hdr && registry_init() != 0)
		return MT_ATTACH_ENOSEGMENT;
	/* Preloaded, the hooks come first in lookup order already; a second
	 * redirection would only hide that. */
	if (dlsym(RTLD_DEFAULT, "malloc") == fns[0].hook)
		return MT_ATTACH_EPRELOADED;
	if (gotpatch_installed())
		return MT_ATTACH_EACTIVE;
	uint32_t flags = __atomic_load_n(&mt_hdr->flags, __ATOMIC_ACQUIRE);
	if (flags & MT_FLAG_ATTACHED)
		reset_figures();
	if (sampling)
		stacks_configure(sampling);
	if (!atfork_done)
		atfork_done = pthread_atfork(fork_prepare, fork_parent, fork_child) == 0;
	__atomic_store_n(&mt_hdr->start_ns, realtime_ns(), __ATOMIC_RELAXED);
	int r = gotpatch_install(fns, n, (const void *)attach_mode_start);
	if (r < 0)
		return errno == EBUSY ? MT_ATTACH_EBUSY : MT_ATTACH_EPATCH;
	__atomic_fetch_and(&mt_hdr->flags, ~MT_FLAG_DETACHED, __ATOMIC_RELEASE);
	__atomic_fetch_or(&mt_hdr->flags, MT_FLAG_ATTACHED, __ATOMIC_RELEASE);
	return r;
}

int attach_mode_stop(void)
{
	int r = gotpatch_remove();
	if (r < 0)
		return MT_ATTACH_EBUSY;
	if (mt_hdr)
		__atomic_fetch_or(&mt_hdr->flags, MT_FLAG_DETACHED, __ATOMIC_RELEASE);
	return r;
}
