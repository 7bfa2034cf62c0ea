/*
 * demo-server.c - a small pretend server whose memory behaviour is worth
 * watching in memtop: the program of the README's first command.
 *
 * Usage: demo-server [SECONDS]    run SECONDS (default 30; 0 = until
 *                                 SIGINT or SIGTERM), exit 0 either way
 *
 * Threads and what memtop should show for them:
 *   acceptor   allocates a request (64..575 bytes) about 20000 times a
 *              second and queues it; the worker that handles it frees it,
 *              so its frees are counted in the worker (cross-thread free).
 *   worker-0..3  the hot path: 16..128-byte malloc/free pairs, 16..47 of
 *              them per request; every 64th request also sends a log line.
 *   cache      a slow leak: keeps 1 KiB every 10 ms and never frees it
 *              (about 100 KiB a second of steadily growing live bytes).
 *   logger     frees the log lines it receives, and every 2 seconds
 *              allocates an 8 MiB rotation buffer, touches every page, holds
 *              it for 300 ms and frees it: a periodic spike.
 * The main thread prints one status line a second on stdout:
 *     demo-server: 12s  requests 241203  log lines 3768  cache 1183 KiB  spikes 6
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
	NWORKERS = 4,
	QUEUE_LIMIT = 4096,     /* beyond this the acceptor sheds load */
	ACCEPT_BATCH = 20,      /* requests queued per millisecond */
	CACHE_ENTRY = 1024,
	SPIKE_BYTES = 8 << 20,
};

struct request {
	struct request *next;
	uint32_t id;
	uint32_t len;
	unsigned char payload[];
};

struct log_line {
	struct log_line *next;
	char text[];
};

/* A mutex-protected FIFO; requests and log lines both use it. */
struct queue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	void *head, **tail;
	unsigned len;
};

static struct queue requests = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL,
				 &requests.head, 0 };
static struct queue log_lines = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL,
				  &log_lines.head, 0 };

static atomic_bool stopping;
static atomic_ulong handled, logged, cache_bytes, spikes;

/* The leaked cache entries stay chained here: reachable, never freed. */
static void *cache_list;

static uint32_t xorshift(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

static void *xmalloc(size_t size)
{
	void *p = malloc(size);

	if (!p) {
		fprintf(stderr, "demo-server: out of memory (%zu bytes)\n", size);
		exit(1);
	}
	return p;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Both queued types start with their next pointer. */
static int queue_push(struct queue *q, void *item, unsigned limit)
{
	int pushed = 0;

	pthread_mutex_lock(&q->lock);
	if (!limit || q->len < limit) {
		*(void **)item = NULL;
		*q->tail = item;
		q->tail = (void **)item;
		q->len++;
		pushed = 1;
		pthread_cond_signal(&q->nonempty);
	}
	pthread_mutex_unlock(&q->lock);
	return pushed;
}

/* Waits at most 100 ms, so that a stopping server is noticed. */
static void *queue_pop(struct queue *q)
{
	struct timespec deadline;
	void *item;

	pthread_mutex_lock(&q->lock);
	if (!q->head && !atomic_load(&stopping)) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += 100000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&q->nonempty, &q->lock, &deadline);
	}
	item = q->head;
	if (item) {
		q->head = *(void **)item;
		if (!q->head)
			q->tail = &q->head;
		q->len--;
	}
	pthread_mutex_unlock(&q->lock);
	return item;
}

static void wake_all(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	pthread_cond_broadcast(&q->nonempty);
	pthread_mutex_unlock(&q->lock);
}

static void *acceptor_main(void *arg)
{
	uint32_t rng = 0x9e3779b9u, id = 0;
	int i;

	pthread_setname_np(pthread_self(), "acceptor");
	while (!atomic_load(&stopping)) {
		for (i = 0; i < ACCEPT_BATCH; i++) {
			uint32_t len = 64 + xorshift(&rng) % 512;
			struct request *r = xmalloc(sizeof *r + len);

			r->id = id++;
			r->len = len;
			memset(r->payload, (int)(r->id & 0xff), len);
			if (!queue_push(&requests, r, QUEUE_LIMIT))
				free(r);
		}
		sleep_ms(1);
	}
	return NULL;
}

static void handle(struct request *r, uint32_t *rng, int worker)
{
	unsigned char *scratch[8] = { 0 };
	unsigned steps = 16 + xorshift(rng) % 32, i, sum = 0;

	/* Parsing, headers, small strings: many short-lived small blocks. */
	for (i = 0; i < steps; i++) {
		size_t size = 16 + xorshift(rng) % 113;
		unsigned char **slot = &scratch[i % 8];

		free(*slot);
		*slot = xmalloc(size);
		(*slot)[0] = r->payload[i % r->len];
		sum += (*slot)[0];
	}
	for (i = 0; i < 8; i++)
		free(scratch[i]);

	if (r->id % 64 == 0) {
		struct log_line *line = xmalloc(sizeof *line + 96);

		snprintf(line->text, 96, "worker-%d handled request %u (%u bytes, sum %u)", worker,
			 r->id, r->len, sum);
		queue_push(&log_lines, line, 0);
	}
}

static void *worker_main(void *arg)
{
	int index = (int)(intptr_t)arg;
	uint32_t rng = 2463534242u + (uint32_t)index;
	char name[16];
	struct request *r;

	snprintf(name, sizeof name, "worker-%d", index);
	pthread_setname_np(pthread_self(), name);
	while (!atomic_load(&stopping)) {
		r = queue_pop(&requests);
		if (!r)
			continue;
		handle(r, &rng, index);
		free(r);
		atomic_fetch_add(&handled, 1);
	}
	return NULL;
}

static void *cache_main(void *arg)
{
	pthread_setname_np(pthread_self(), "cache");
	while (!atomic_load(&stopping)) {
		void **entry = xmalloc(CACHE_ENTRY);

		memset(entry, 0xca, CACHE_ENTRY);
		*entry = cache_list;
		cache_list = entry;
		atomic_fetch_add(&cache_bytes, CACHE_ENTRY);
		sleep_ms(10);
	}
	return NULL;
}

static void *logger_main(void *arg)
{
	struct timespec now, next_spike;
	struct log_line *line;
	volatile size_t text_bytes = 0;

	pthread_setname_np(pthread_self(), "logger");
	clock_gettime(CLOCK_MONOTONIC, &next_spike);
	next_spike.tv_sec += 2;
	while (!atomic_load(&stopping)) {
		line = queue_pop(&log_lines);
		if (line) {
			text_bytes += strlen(line->text);
			free(line);
			atomic_fetch_add(&logged, 1);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > next_spike.tv_sec ||
		    (now.tv_sec == next_spike.tv_sec && now.tv_nsec >= next_spike.tv_nsec)) {
			/* Log rotation: a big buffer, every page touched so RSS moves too. */
			char *buffer = xmalloc(SPIKE_BYTES);

			memset(buffer, '.', SPIKE_BYTES);
			atomic_fetch_add(&spikes, 1);
			sleep_ms(300);
			free(buffer);
			next_spike.tv_sec += 2;
		}
	}
	return NULL;
}

static void drain(struct queue *q)
{
	void *item;

	while ((item = q->head)) {
		q->head = *(void **)item;
		free(item);
	}
	q->tail = &q->head;
	q->len = 0;
}

int main(int argc, char **argv)
{
	pthread_t threads[NWORKERS + 3];
	struct timespec start, now, timeout;
	unsigned long duration = 30, elapsed = 0;
	sigset_t stop_signals;
	siginfo_t info;
	int nthreads = 0, i, err, sig = 0;

	if (argc > 2) {
		fprintf(stderr, "usage: demo-server [SECONDS]\n");
		return 2;
	}
	if (argc == 2) {
		char *end;

		errno = 0;
		duration = strtoul(argv[1], &end, 10);
		if (errno || end == argv[1] || *end || argv[1][0] == '-') {
			fprintf(stderr, "demo-server: SECONDS must be a whole number, not '%s'\n", argv[1]);
			return 2;
		}
	}
	/* Under memtop stdout is often a pipe: keep the status lines flowing. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* Blocked in every thread, taken synchronously by main below. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

	err = pthread_create(&threads[nthreads++], NULL, acceptor_main, NULL);
	for (i = 0; !err && i < NWORKERS; i++)
		err = pthread_create(&threads[nthreads++], NULL, worker_main, (void *)(intptr_t)i);
	if (!err)
		err = pthread_create(&threads[nthreads++], NULL, cache_main, NULL);
	if (!err)
		err = pthread_create(&threads[nthreads++], NULL, logger_main, NULL);
	if (err) {
		fprintf(stderr, "demo-server: pthread_create: %s\n", strerror(err));
		return 1;
	}

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (duration == 0 || elapsed < duration) {
		/* Aim at whole seconds since start, so the lines do not drift. */
		clock_gettime(CLOCK_MONOTONIC, &now);
		long long left_ns = (long long)(start.tv_sec + (time_t)elapsed + 1 - now.tv_sec) * 1000000000LL +
				    (start.tv_nsec - now.tv_nsec);
		if (left_ns < 0)
			left_ns = 0;
		timeout.tv_sec = (time_t)(left_ns / 1000000000LL);
		timeout.tv_nsec = (long)(left_ns % 1000000000LL);
		sig = sigtimedwait(&stop_signals, &info, &timeout);
		if (sig > 0)
			break;
		if (errno == EINTR)
			continue;
		elapsed++;
		printf("demo-server: %lus  requests %lu  log lines %lu  cache %lu KiB  spikes %lu\n",
		       elapsed, atomic_load(&handled), atomic_load(&logged),
		       atomic_load(&cache_bytes) / 1024, atomic_load(&spikes));
	}

	atomic_store(&stopping, 1);
	wake_all(&requests);
	wake_all(&log_lines);
	for (i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	drain(&requests);
	drain(&log_lines);

	if (sig > 0)
		printf("demo-server: %s received after %lus, stopped cleanly\n",
		       sig == SIGINT ? "SIGINT" : "SIGTERM", elapsed);
	else
		printf("demo-server: ran %lus, stopped cleanly\n", elapsed);
	return 0;
}
