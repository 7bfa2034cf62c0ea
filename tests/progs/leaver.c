/*
 * leaver.c - a program that leaves through _exit, around children of
 * vfork that leave through _exit too, to show that under memtop --trace
 * the collector writes out the trace of a process that skips its
 * destructors, and leaves its parent's alone when it is a vfork child
 * (which runs in the parent's memory).
 *
 * Usage: leaver [N]          N rounds, default 1000, at least 1
 *        leaver --signal     leave from a signal handler instead
 *
 * Main makes N rounds of malloc + free, then, twice, vforks a child that
 * calls _exit(0) at once (the first) or after a failed exec (the second),
 * makes N more rounds after each, and prints
 *     LEAVER allocs=A
 * (its own mallocs, 3N) before it leaves with _exit(0), its last events
 * still in the collector's buffer.
 *
 * With --signal: a second thread sleeps (so that glibc's malloc takes its
 * locks), main mallocs and frees blocks of 2000 to 4000 bytes (past the
 * per-thread cache, into the arena) without end, and a SIGALRM handler
 * 50 ms in leaves with _exit(3), most likely from inside malloc.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned long rounds(unsigned long n)
{
	unsigned long done = 0;
	for (unsigned long i = 0; i < n; i++) {
		char *volatile p = malloc(16 + i % 200);
		if (!p)
			exit(1);
		p[0] = (char)i;
		free(p);
		done++;
	}
	return done;
}

static void on_alarm(int sig)
{
	(void)sig;
	_exit(3);
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static int leave_from_handler(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, sleeper, NULL) != 0)
		return 1;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 50000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	for (unsigned long i = 0;; i++) {
		char *volatile p = malloc(2000 + i % 2000);
		if (!p)
			return 1;
		p[0] = (char)i;
		free(p);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--signal") == 0)
		return leave_from_handler();
	/* static: not in a register a vfork child could clobber */
	static unsigned long n, allocs;
	n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
	if (n < 1)
		n = 1;
	allocs = rounds(n);
	for (int k = 0; k < 2; k++) {
		pid_t child = vfork();
		if (child < 0)
			return 1;
		if (child == 0) {
			if (k == 1)
				execl("/nonexistent/leaver-child", "leaver-child", (char *)NULL);
			_exit(0);
		}
		int status;
		if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			return 1;
		allocs += rounds(n);
	}
	printf("LEAVER allocs=%lu\n", allocs);
	fflush(stdout);
	_exit(0);
}
