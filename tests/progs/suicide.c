/*
 * suicide.c - a process that dies of a signal while a thread of it still
 * holds live memory, so memtop's final report must come from the last
 * published state rather than from an orderly exit.
 *
 * Usage: suicide [HOW]
 *     HOW   segv (default): raise(SIGSEGV)      exit status 128+11
 *           kill:  kill(getpid(), SIGKILL)       128+9
 *           abort: abort()                       128+6
 *           term, int, bus, fpe, ill, usr1: raise that signal
 *           a signal number: raise it
 *
 * Thread "victim" mallocs 100 blocks of 1000..1099 bytes, frees the 50 with
 * even index and keeps the rest, then stays alive, idle.  Main prints
 *     VICTIM allocs=A frees=F bytes=B live_bytes=L
 * (the victim thread's exact figures by interface.md's rules, L = bytes of
 * the blocks it still holds), flushes stdout and then dies as asked.  The
 * signal's disposition is reset to the default and the signal unblocked
 * first: a non-interactive shell starts background jobs with SIGINT
 * ignored, which would otherwise let the process survive.  Should it
 * survive anyway, it says so and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { NBLOCKS = 100 };

struct tally {
	unsigned long long allocs, frees, bytes, live_bytes;
};

static struct tally victim_tally;
static void *volatile blocks[NBLOCKS];
static sem_t victim_ready;

static void *victim_main(void *arg)
{
	int i;

	pthread_setname_np(pthread_self(), "victim");
	for (i = 0; i < NBLOCKS; i++) {
		size_t size = 1000 + (size_t)i;
		void *p = malloc(size);

		if (!p) {
			fprintf(stderr, "suicide: malloc(%zu) failed\n", size);
			exit(1);
		}
		memset(p, 0x5a, size);
		blocks[i] = p;
		victim_tally.allocs++;
		victim_tally.bytes += size;
		victim_tally.live_bytes += size;
	}
	for (i = 0; i < NBLOCKS; i += 2) {
		free(blocks[i]);
		blocks[i] = NULL;
		victim_tally.frees++;
		victim_tally.live_bytes -= 1000 + (size_t)i;
	}
	sem_post(&victim_ready);
	for (;;)
		pause();
	return NULL;
}

static int parse_how(const char *how)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = {
		{ "segv", SIGSEGV }, { "kill", SIGKILL }, { "abort", SIGABRT },
		{ "term", SIGTERM }, { "int", SIGINT },   { "bus", SIGBUS },
		{ "fpe", SIGFPE },   { "ill", SIGILL },   { "usr1", SIGUSR1 },
	};
	size_t i;
	char *end;
	long n;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(how, names[i].name) == 0)
			return names[i].sig;
	errno = 0;
	n = strtol(how, &end, 10);
	if (errno || end == how || *end || n < 1 || n >= NSIG)
		return -1;
	return (int)n;
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "segv";
	int sig = parse_how(how);
	struct sigaction dfl;
	sigset_t set;
	pthread_t victim;
	int err;

	if (argc > 2 || sig < 0) {
		fprintf(stderr, "usage: suicide [segv|kill|abort|term|int|bus|fpe|ill|usr1|SIGNUM]\n");
		return 2;
	}

	sem_init(&victim_ready, 0, 0);
	err = pthread_create(&victim, NULL, victim_main, NULL);
	if (err) {
		fprintf(stderr, "suicide: pthread_create: %s\n", strerror(err));
		return 1;
	}
	while (sem_wait(&victim_ready) == -1 && errno == EINTR)
		;

	printf("VICTIM allocs=%llu frees=%llu bytes=%llu live_bytes=%llu\n", victim_tally.allocs,
	       victim_tally.frees, victim_tally.bytes, victim_tally.live_bytes);
	fflush(stdout);

	if (sig == SIGABRT && strcmp(how, "abort") == 0)
		abort();
	if (sig != SIGKILL && sig != SIGSTOP) {
		memset(&dfl, 0, sizeof dfl);
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		sigaction(sig, &dfl, NULL);
		sigemptyset(&set);
		sigaddset(&set, sig);
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	}
	if (sig == SIGKILL)
		kill(getpid(), SIGKILL);
	else
		raise(sig);

	fprintf(stderr, "suicide: still alive after signal %d (its default action does not kill)\n", sig);
	return 1;
}
