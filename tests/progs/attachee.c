/*
 * attachee.c - a multi-threaded program meant to be started without memtop
 * and attached to later (tests/e2e/attach.sh).
 *
 *   attachee THREADS [MAX_SECONDS [MODULE]]
 *
 * THREADS workers named worker-0, worker-1, ... allocate continuously
 * through every path the collector redirects when it attaches: PLT calls
 * (malloc, free, calloc, realloc), a call through a function pointer read
 * from the GOT (GLOB_DAT), and posix_memalign, which is first called only
 * after the first SIGUSR2, so its PLT entry is still unresolved (lazy) when
 * memtop attaches.  Every block is filled and checked before it is freed.
 *
 * Signals, handled by the main thread (sigwait), which prints a line for
 * each on standard output:
 *   SIGUSR1  pause: the workers stop between two calls; then print each
 *            worker's tally since the last resume ("window name=... allocs=N
 *            frees=N reallocs=N bytes=N") and "paused"
 *   SIGUSR2  resume: the window tallies start again from zero; "resumed"
 *   SIGHUP   (with MODULE, tests/progs/dlmod.c's) a thread "dl-late" loads
 *            MODULE with dlopen, waits 0.6 s, then makes dlmod_work(1000)
 *            allocations from inside it: "late work=1000"
 *   SIGTERM  finish: the workers stop, the program prints its totals and
 *            "errors=N" (corrupted blocks seen), and exits 0 if there were none
 * While paused, the workers make no call at all, so a tool attached between
 * a resume and a pause must count exactly the window tallies.
 * MAX_SECONDS (default 120) ends a forgotten instance.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RING 64
#define MAX_THREADS 16

struct tally {
	uint64_t allocs, frees, reallocs, bytes;
};

struct worker {
	pthread_t th;
	int id;
	struct tally window;      /* since the last resume */
	struct tally total;
	uint64_t rounds;
	uint64_t errors;
	int parked;               /* acknowledges a pause */
};

static struct worker workers[MAX_THREADS];
static int nworkers;
static int paused;
static int finishing;
static int resumed_once;      /* posix_memalign is used only from then on */

static void nap(long ns)
{
	struct timespec ts = { 0, ns };
	nanosleep(&ts, NULL);
}

static void count(struct worker *w, uint64_t allocs, uint64_t frees, uint64_t reallocs,
		  uint64_t bytes)
{
	w->window.allocs += allocs;
	w->window.frees += frees;
	w->window.reallocs += reallocs;
	w->window.bytes += bytes;
	w->total.allocs += allocs;
	w->total.frees += frees;
	w->total.reallocs += reallocs;
	w->total.bytes += bytes;
}

static void fill(unsigned char *p, size_t n, unsigned char v)
{
	memset(p, v, n);
}

static void check(struct worker *w, const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v) {
			w->errors++;
			return;
		}
}

static void *work(void *arg)
{
	struct worker *w = arg;
	char name[16];
	snprintf(name, sizeof(name), "worker-%d", w->id);
	pthread_setname_np(pthread_self(), name);
	unsigned char *ring[RING] = { 0 };
	size_t sizes[RING] = { 0 };
	for (uint64_t r = 0; !__atomic_load_n(&finishing, __ATOMIC_ACQUIRE); r++) {
		if (__atomic_load_n(&paused, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&w->parked, 1, __ATOMIC_RELEASE);
			while (__atomic_load_n(&paused, __ATOMIC_ACQUIRE) &&
			       !__atomic_load_n(&finishing, __ATOMIC_ACQUIRE))
				nap(200000);
			__atomic_store_n(&w->parked, 0, __ATOMIC_RELEASE);
			continue;
		}
		unsigned i = (unsigned)(r % RING);
		unsigned char tag = (unsigned char)(w->id * 31 + i);
		if (ring[i]) {
			check(w, ring[i], sizes[i], tag);
			free(ring[i]);
			count(w, 0, 1, 0, 0);
		}
		sizes[i] = 16 + (r * 37 + (uint64_t)w->id * 11) % 1500;
		ring[i] = malloc(sizes[i]);
		count(w, 1, 0, 0, sizes[i]);
		fill(ring[i], sizes[i], tag);

		if (r % 4 == 0) {
			unsigned char *c = calloc(4, 16);
			count(w, 1, 0, 0, 64);
			check(w, c, 64, 0);
			unsigned char *g = realloc(c, 200);
			count(w, 1, 1, 1, 200);
			fill(g, 200, 7);
			free(g);
			count(w, 0, 1, 0, 0);
		}
		if (r % 8 == 0) {
			/* read from the GOT at every call: a GLOB_DAT entry (the
			 * barrier keeps the compiler from reusing an earlier
			 * load: to it, a function's address never changes) */
			__asm__ volatile("" ::: "memory");
			void *(*volatile m)(size_t) = malloc;
			void (*volatile f)(void *) = free;
			unsigned char *p = m(40);
			count(w, 1, 0, 0, 40);
			fill(p, 40, 9);
			check(w, p, 40, 9);
			f(p);
			count(w, 0, 1, 0, 0);
		}
		if (r % 16 == 0 && __atomic_load_n(&resumed_once, __ATOMIC_ACQUIRE)) {
			void *q = NULL;
			if (posix_memalign(&q, 64, 256) == 0) {
				count(w, 1, 0, 0, 256);
				fill(q, 256, 3);
				free(q);
				count(w, 0, 1, 0, 0);
			}
		}
		w->rounds++;
		nap(100000);
	}
	for (unsigned i = 0; i < RING; i++)
		if (ring[i]) {
			check(w, ring[i], sizes[i], (unsigned char)(w->id * 31 + i));
			free(ring[i]);
			count(w, 0, 1, 0, 0);
		}
	return NULL;
}

static const char *module_path;

static void *late(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "dl-late");
	void *h = dlopen(module_path, RTLD_NOW | RTLD_LOCAL);
	int (*dlwork)(int) = h ? (int (*)(int))dlsym(h, "dlmod_work") : NULL;
	if (!dlwork) {
		printf("late failed: %s\n", dlerror());
		return NULL;
	}
	nap(600000000);
	printf("late work=%d\n", dlwork(1000));
	return NULL;
}

static void wait_parked(void)
{
	for (int i = 0; i < nworkers; i++)
		while (!__atomic_load_n(&workers[i].parked, __ATOMIC_ACQUIRE))
			nap(100000);
}

int main(int argc, char **argv)
{
	nworkers = argc > 1 ? atoi(argv[1]) : 3;
	int max_s = argc > 2 ? atoi(argv[2]) : 120;
	module_path = argc > 3 ? argv[3] : NULL;
	pthread_t late_th;
	bool late_started = false;
	if (nworkers < 1 || nworkers > MAX_THREADS) {
		fprintf(stderr, "usage: attachee THREADS [MAX_SECONDS]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGALRM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);  /* inherited by the workers */
	for (int i = 0; i < nworkers; i++) {
		workers[i].id = i;
		pthread_create(&workers[i].th, NULL, work, &workers[i]);
	}
	alarm((unsigned)max_s);
	printf("started pid=%d workers=%d\n", (int)getpid(), nworkers);
	for (;;) {
		int sig;
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGUSR1) {
			__atomic_store_n(&paused, 1, __ATOMIC_RELEASE);
			wait_parked();
			for (int i = 0; i < nworkers; i++)
				printf("window name=worker-%d allocs=%llu frees=%llu reallocs=%llu "
				       "bytes=%llu\n", i, (unsigned long long)workers[i].window.allocs,
				       (unsigned long long)workers[i].window.frees,
				       (unsigned long long)workers[i].window.reallocs,
				       (unsigned long long)workers[i].window.bytes);
			printf("paused\n");
		} else if (sig == SIGUSR2) {
			if (__atomic_load_n(&paused, __ATOMIC_ACQUIRE)) {
				wait_parked();
				for (int i = 0; i < nworkers; i++)
					memset(&workers[i].window, 0, sizeof(workers[i].window));
			}
			__atomic_store_n(&resumed_once, 1, __ATOMIC_RELEASE);
			__atomic_store_n(&paused, 0, __ATOMIC_RELEASE);
			/* every worker has seen it, so a quick pause cannot find
			 * one still parked from this one */
			for (int i = 0; i < nworkers; i++)
				while (__atomic_load_n(&workers[i].parked, __ATOMIC_ACQUIRE))
					nap(100000);
			printf("resumed\n");
		} else if (sig == SIGHUP) {
			if (module_path && !late_started)
				late_started = pthread_create(&late_th, NULL, late, NULL) == 0;
		} else {
			break;  /* SIGTERM, or MAX_SECONDS passed */
		}
	}
	__atomic_store_n(&finishing, 1, __ATOMIC_RELEASE);
	if (late_started)
		pthread_join(late_th, NULL);
	uint64_t rounds = 0, allocs = 0, frees = 0, errors = 0;
	for (int i = 0; i < nworkers; i++) {
		pthread_join(workers[i].th, NULL);
		rounds += workers[i].rounds;
		allocs += workers[i].total.allocs;
		frees += workers[i].total.frees;
		errors += workers[i].errors;
	}
	printf("done rounds=%llu allocs=%llu frees=%llu balanced=%s\n", (unsigned long long)rounds,
	       (unsigned long long)allocs, (unsigned long long)frees,
	       allocs == frees ? "yes" : "no");
	printf("errors=%llu\n", (unsigned long long)errors);
	return errors == 0 && allocs == frees ? 0 : 1;
}
