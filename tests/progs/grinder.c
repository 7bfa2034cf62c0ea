/*
 * grinder.c - a busy target for tests/e2e/attach-kill.sh: THREADS workers
 * in tight malloc/free loops (the shape that lost its life to a killed
 * `memtop --attach`), and a main thread that prints their total rounds
 * every 20 ms, so that a test can see the loop still progresses.
 *
 *   grinder THREADS [MAX_SECONDS]
 *
 * A fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS) is reported on
 * standard error as "FAULT signal N at ADDRESS" and ends the program with
 * status 70; a block found corrupted when freed ends it with status 71.
 * MAX_SECONDS (default 300) ends a forgotten instance.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t rounds;

static void put_hex(char *p, uintptr_t v)
{
	for (int i = 15; i >= 0; i--, v >>= 4)
		p[i] = "0123456789abcdef"[v & 15];
}

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	char msg[64] = "FAULT signal 00 at 0x";
	msg[13] = (char)('0' + sig / 10);
	msg[14] = (char)('0' + sig % 10);
	put_hex(msg + 21, (uintptr_t)si->si_addr);
	msg[37] = '\n';
	if (write(2, msg, 38) < 0)
		_exit(70);
	_exit(70);
}

static void *work(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	for (;;) {
		unsigned char *p[16];
		for (int i = 0; i < 16; i++) {
			size_t n = 16 + (rand_r(&seed) % 512);
			p[i] = malloc(n);
			if (!p[i])
				abort();
			p[i][0] = (unsigned char)i;
			p[i][n - 1] = (unsigned char)i;
		}
		for (int i = 0; i < 16; i++) {
			if (p[i][0] != (unsigned char)i)
				_exit(71);
			free(p[i]);
		}
		__atomic_fetch_add(&rounds, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 4;
	int max_s = argc > 2 ? atoi(argv[2]) : 300;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO;
	const int faults[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS };
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		sigaction(faults[i], &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < threads; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, work, (void *)(uintptr_t)(i + 1)) != 0)
			return 1;
	}
	printf("started\n");
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct timespec ts = { 0, 20000000 };
		nanosleep(&ts, NULL);
		printf("rounds %llu\n",
		       (unsigned long long)__atomic_load_n(&rounds, __ATOMIC_RELAXED));
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= max_s)
			return 0;
	}
}
