/*
 * quicktrace.c - an example of memtop's C API (memtop.h, memtop(3)).
 *
 * It runs one function, build_index(), under memtop_quick_trace(): the
 * calling thread's events go into a trace in DIR and the report says what
 * the function allocated.  build_index() also keeps its own tally of the
 * calls it makes, and the program checks the report against it.  Then a
 * named worker thread allocates, and memtop_snapshot() shows the process
 * and each thread.
 *
 * Build against an installed memtop, and run:
 *     cc quicktrace.c $(pkg-config --cflags --libs memtop) -pthread -o quicktrace
 *     ./quicktrace [DIR]          (default DIR: quicktrace-trace)
 * or under memtop, which then watches the same collector:
 *     memtop --batch -- ./quicktrace DIR
 *
 * Exit status: 0 when the report matches the tally, 1 when it does not,
 * 2 when the API failed (the message says why).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <memtop.h>

#define WORDS 2000

/* What build_index() asked the allocator for, by its own count. */
struct tally {
	uint64_t allocs, frees, reallocs, bytes;
};

struct word_index {
	char **words;
	size_t n, cap;
	struct tally t;
};

static void *tally_malloc(struct tally *t, size_t size)
{
	void *p = malloc(size);
	if (p) {
		t->allocs++;
		t->bytes += size;
	}
	return p;
}

static void *tally_realloc(struct tally *t, void *old, size_t size)
{
	void *p = realloc(old, size);
	if (p) {
		/* memtop's rules: a realloc of a block is an alloc, a free and a realloc */
		t->allocs++;
		t->frees++;
		t->reallocs++;
		t->bytes += size;
	}
	return p;
}

static void tally_free(struct tally *t, void *p)
{
	free(p);
	t->frees++;
}

/* The function under the quick trace: an index of words that grows by
 * doubling, a scratch buffer every fourth word, and half of the words
 * dropped at the end (the other half stays live for the caller). */
static void build_index(void *arg)
{
	struct word_index *ix = arg;
	ix->cap = 16;
	ix->words = tally_malloc(&ix->t, ix->cap * sizeof(*ix->words));
	if (!ix->words)
		return;
	for (unsigned i = 0; i < WORDS; i++) {
		char word[32];
		int len = snprintf(word, sizeof(word), "word-%u", (i * 7919u) % 10007u);
		if (ix->n == ix->cap) {
			char **grown = tally_realloc(&ix->t, ix->words, 2 * ix->cap * sizeof(*grown));
			if (!grown)
				return;
			ix->words = grown;
			ix->cap *= 2;
		}
		char *w = tally_malloc(&ix->t, (size_t)len + 1);
		if (!w)
			return;
		memcpy(w, word, (size_t)len + 1);
		ix->words[ix->n++] = w;
		if (i % 4 == 0) {
			char *scratch = tally_malloc(&ix->t, 256);
			if (scratch) {
				memset(scratch, 0, 256);
				tally_free(&ix->t, scratch);
			}
		}
	}
	for (size_t i = 0; i < ix->n; i += 2) {
		tally_free(&ix->t, ix->words[i]);
		ix->words[i] = NULL;
	}
}

struct worker {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stage;  /* 1: allocated, 2: may finish */
	void *blocks[100];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	prctl(PR_SET_NAME, "qt-worker", 0, 0, 0);
	for (int i = 0; i < 100; i++)
		w->blocks[i] = malloc(4096);
	pthread_mutex_lock(&w->lock);
	w->stage = 1;
	pthread_cond_broadcast(&w->cond);
	while (w->stage != 2)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	for (int i = 0; i < 100; i++)
		free(w->blocks[i]);
	return NULL;
}

static void print_counters(const char *what, const struct memtop_counters *c)
{
	printf("quicktrace: %-22s allocs %" PRIu64 "  frees %" PRIu64 "  reallocs %" PRIu64
	       "  bytes %" PRIu64 "  live %" PRId64 "  peak %" PRId64 "\n",
	       what, c->allocs, c->frees, c->reallocs, c->bytes_allocated, c->live_bytes,
	       c->peak_live_bytes);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "quicktrace-trace";
	struct word_index ix = { 0 };
	struct memtop_report r;

	if (memtop_api_version() != MEMTOP_API_VERSION) {
		fprintf(stderr, "quicktrace: built for memtop API %d, the library is %d\n",
			MEMTOP_API_VERSION, memtop_api_version());
		return 2;
	}
	if (memtop_quick_trace(dir, build_index, &ix, &r) != 0) {
		fprintf(stderr, "quicktrace: memtop_quick_trace %s: %s\n", dir, strerror(errno));
		return 2;
	}
	print_counters("build_index (memtop)", &r.c);
	printf("quicktrace: build_index tally         allocs %" PRIu64 "  frees %" PRIu64
	       "  reallocs %" PRIu64 "  bytes %" PRIu64 "\n",
	       ix.t.allocs, ix.t.frees, ix.t.reallocs, ix.t.bytes);
	printf("quicktrace: %" PRIu64 " events in %s, %.3f ms of CPU\n", r.trace_events,
	       r.trace_file, (double)r.cpu_ns / 1e6);
	int match = r.c.allocs == ix.t.allocs && r.c.frees == ix.t.frees &&
		    r.c.reallocs == ix.t.reallocs && r.c.bytes_allocated == ix.t.bytes &&
		    r.trace_events == r.c.allocs + r.c.frees - r.c.reallocs &&
		    r.c.peak_live_bytes >= r.c.live_bytes && r.c.live_bytes > 0;

	/* The whole process, and each thread, while a named worker holds
	 * 100 blocks of 4 KiB. */
	struct worker w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, { 0 } };
	pthread_t th;
	if (pthread_create(&th, NULL, worker_main, &w) != 0) {
		fprintf(stderr, "quicktrace: pthread_create failed\n");
		return 2;
	}
	pthread_mutex_lock(&w.lock);
	while (w.stage != 1)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);

	struct memtop_thread threads[16];
	struct memtop_snapshot s = { .threads = threads, .threads_capacity = 16 };
	if (memtop_snapshot(&s) != 0) {
		fprintf(stderr, "quicktrace: memtop_snapshot: %s\n", strerror(errno));
		return 2;
	}
	char what[64];
	snprintf(what, sizeof(what), "process %d", (int)s.pid);
	print_counters(what, &s.total);
	for (size_t i = 0; i < s.nthreads; i++) {
		snprintf(what, sizeof(what), "thread %d %s%s", (int)threads[i].tid, threads[i].name,
			 threads[i].exited ? " (exited)" : "");
		print_counters(what, &threads[i].c);
	}
	if (s.nthreads < s.threads_total)
		printf("quicktrace: %zu more threads not shown\n", s.threads_total - s.nthreads);

	pthread_mutex_lock(&w.lock);
	w.stage = 2;
	pthread_cond_broadcast(&w.cond);
	pthread_mutex_unlock(&w.lock);
	pthread_join(th, NULL);
	for (size_t i = 1; i < ix.n; i += 2)
		free(ix.words[i]);
	free(ix.words);

	printf("quicktrace: report %s the function's own tally\n", match ? "matches" : "DIFFERS FROM");
	return match ? 0 : 1;
}
