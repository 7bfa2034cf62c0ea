/*
 * sigalloc.c - allocation from a signal handler, interleaved with a busy
 * allocation loop, to check that a preloaded collector copes with re-entry
 * from signal context and keeps exact counts.
 *
 * Usage: sigalloc [SECONDS]      run the loop for SECONDS (default 1)
 *
 * Thread "sigwork" runs a loop of malloc(64) / free for SECONDS while an
 * interval timer fires SIGALRM every 100 microseconds; the handler does a
 * malloc(32) / free and counts it.  Then main prints
 *     SIGALLOC handler_allocs=H main_allocs=M
 * and exits 0 (1 if the handler never ran or an allocation failed).
 *
 * Exact figures for memtop's "sigwork" thread: allocs = frees = H + M,
 * bytes = 32*H + 64*M.  The main thread keeps SIGALRM blocked all along, so
 * every handler run lands in "sigwork" and the main thread only carries
 * libc's own allocations.
 *
 * glibc's malloc is not async-signal-safe: a handler that allocates while
 * the interrupted code is inside malloc can deadlock on the arena lock or
 * corrupt the tcache, without any collector.  So the loop keeps SIGALRM
 * blocked across each malloc/free pair and opens it only for a short busy
 * stretch of arithmetic between them.  Pending signals are delivered the
 * moment the mask opens, i.e. inside the collector's own code that runs
 * after the previous call returns (and in the sigprocmask wrapper), which is
 * what this program is for; the handler never interrupts glibc's malloc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static volatile sig_atomic_t handler_allocs;
static volatile sig_atomic_t handler_failed;
static unsigned long long main_allocs;
static double run_secs = 1.0;
static int alloc_failed;

/* Volatile so that gcc keeps each malloc/free pair it could prove unused. */
static void *volatile handler_sink;
static void *volatile main_sink;
static volatile unsigned long busy_sink;

static void on_alarm(int sig)
{
	int saved_errno = errno;
	void *p = malloc(32);

	if (p) {
		((volatile unsigned char *)p)[0] = 1;
		handler_sink = p;
		free(handler_sink);
		handler_allocs++;
	} else {
		handler_failed = 1;
	}
	errno = saved_errno;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *sigwork_main(void *arg)
{
	const sigset_t *alarm_set = arg;
	struct itimerval every = { { 0, 100 }, { 0, 100 } }, stop = { { 0, 0 }, { 0, 0 } };
	struct sigaction ign;
	double deadline;
	unsigned long k;

	/* SIGALRM is blocked here too: the mask was inherited from main. */
	pthread_setname_np(pthread_self(), "sigwork");
	deadline = now() + run_secs;
	setitimer(ITIMER_REAL, &every, NULL);

	while (now() < deadline) {
		void *p = malloc(64);

		if (!p) {
			alloc_failed = 1;
			break;
		}
		((volatile unsigned char *)p)[0] = 2;
		main_sink = p;
		free(main_sink);
		main_allocs++;

		pthread_sigmask(SIG_UNBLOCK, alarm_set, NULL);
		for (k = 0; k < 200; k++)
			busy_sink = busy_sink * 2654435761UL + k;
		pthread_sigmask(SIG_BLOCK, alarm_set, NULL);
	}

	setitimer(ITIMER_REAL, &stop, NULL);
	/* Ignoring the signal discards one that is still pending. */
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigaction(SIGALRM, &ign, NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t alarm_set;
	pthread_t worker;
	int err;

	if (argc > 2) {
		fprintf(stderr, "usage: sigalloc [SECONDS]\n");
		return 2;
	}
	if (argc == 2) {
		char *end;

		errno = 0;
		run_secs = strtod(argv[1], &end);
		if (errno || end == argv[1] || *end || !(run_secs > 0 && run_secs <= 3600)) {
			fprintf(stderr, "sigalloc: SECONDS must be in (0, 3600], not '%s'\n", argv[1]);
			return 2;
		}
	}

	sigemptyset(&alarm_set);
	sigaddset(&alarm_set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alarm_set, NULL);

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);

	err = pthread_create(&worker, NULL, sigwork_main, &alarm_set);
	if (err) {
		fprintf(stderr, "sigalloc: pthread_create: %s\n", strerror(err));
		return 1;
	}
	pthread_join(worker, NULL);

	printf("SIGALLOC handler_allocs=%ld main_allocs=%llu\n", (long)handler_allocs, main_allocs);
	if (alloc_failed || handler_failed) {
		fprintf(stderr, "sigalloc: an allocation failed\n");
		return 1;
	}
	if (handler_allocs == 0) {
		fprintf(stderr, "sigalloc: the SIGALRM handler never ran\n");
		return 1;
	}
	return 0;
}
