/*
 * forker.c - a multi-threaded parent that forks, fork+execs and spawns
 * while one of its threads is allocating, to show that child processes
 * neither pollute the parent's counts nor hang on state inherited from it.
 *
 * Usage: forker [PROGRAM]     PROGRAM defaults to /bin/true
 *
 * Sequence:
 *   1. thread "parent-work" starts a fixed workload of 1000000 rounds
 *      (malloc, realloc grow, free; sizes 16..527);
 *   2. once it is under way, main forks a child that names itself
 *      "fork-child", makes a different fixed workload of 1000 rounds
 *      (calloc, malloc, free, free), prints
 *          CHILD allocs=A bytes=B
 *      and leaves with _exit(0);
 *   3. main fork+execs PROGRAM, then starts PROGRAM with posix_spawn; both
 *      run while "parent-work" is most likely still allocating, so a lock
 *      held by a collector at fork time shows up as a hung child;
 *   4. main waits for the three children (each must exit 0), joins
 *      "parent-work" and prints
 *          PARENT allocs=A bytes=B
 *      which is exactly what memtop must report for the "parent-work" thread
 *      (interface.md rules; realloc of a live block counts as an alloc).
 * Exit status 0 when every child exited 0, else 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum { PARENT_ROUNDS = 1000000, CHILD_ROUNDS = 1000 };

struct tally {
	unsigned long long allocs, bytes;
};

static struct tally parent_tally;
static atomic_int parent_started;
static void *volatile sink;

static void *checked(void *p, size_t size)
{
	if (!p) {
		fprintf(stderr, "forker: allocation of %zu bytes failed\n", size);
		_exit(1);
	}
	((volatile unsigned char *)p)[0] = 1;
	return p;
}

static void *parent_work(void *arg)
{
	unsigned long i;

	pthread_setname_np(pthread_self(), "parent-work");
	for (i = 0; i < PARENT_ROUNDS; i++) {
		size_t size = 16 + (i * 61) % 512;

		sink = checked(malloc(size), size);
		sink = checked(realloc(sink, 2 * size), 2 * size);
		free(sink);
		parent_tally.allocs += 2;
		parent_tally.bytes += 3 * size;
		if (i == 0)
			atomic_store(&parent_started, 1);
	}
	return NULL;
}

static void child_work(void)
{
	struct tally t = { 0, 0 };
	unsigned long i;

	pthread_setname_np(pthread_self(), "fork-child");
	for (i = 0; i < CHILD_ROUNDS; i++) {
		size_t n = 1 + i % 9, size = 100 + (i * 7) % 300;
		void *volatile a = checked(calloc(n, 24), n * 24);
		void *volatile b = checked(malloc(size), size);

		free(a);
		free(b);
		t.allocs += 2;
		t.bytes += n * 24 + size;
	}
	printf("CHILD allocs=%llu bytes=%llu\n", t.allocs, t.bytes);
	fflush(stdout);
	_exit(0);
}

static int wait_ok(pid_t pid, const char *what)
{
	int status;

	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			fprintf(stderr, "forker: waitpid(%s): %s\n", what, strerror(errno));
			return 0;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 1;
	if (WIFSIGNALED(status))
		fprintf(stderr, "forker: %s died of signal %d\n", what, WTERMSIG(status));
	else
		fprintf(stderr, "forker: %s exited with status %d\n", what, WEXITSTATUS(status));
	return 0;
}

int main(int argc, char **argv)
{
	const char *program = argc > 1 ? argv[1] : "/bin/true";
	char *child_argv[] = { (char *)program, NULL };
	struct timespec tick = { 0, 100000 };
	pid_t forked, execed, spawned;
	pthread_t worker;
	int err, ok = 1;

	if (argc > 2) {
		fprintf(stderr, "usage: forker [PROGRAM]\n");
		return 2;
	}

	/* Nothing may sit in stdout's buffer when forking, or it prints twice. */
	fflush(stdout);

	err = pthread_create(&worker, NULL, parent_work, NULL);
	if (err) {
		fprintf(stderr, "forker: pthread_create: %s\n", strerror(err));
		return 1;
	}
	while (!atomic_load(&parent_started))
		nanosleep(&tick, NULL);

	forked = fork();
	if (forked == -1) {
		perror("forker: fork");
		return 1;
	}
	if (forked == 0)
		child_work();

	execed = fork();
	if (execed == -1) {
		perror("forker: fork");
		return 1;
	}
	if (execed == 0) {
		execv(program, child_argv);
		_exit(127);
	}

	err = posix_spawn(&spawned, program, NULL, NULL, child_argv, environ);
	if (err) {
		fprintf(stderr, "forker: posix_spawn %s: %s\n", program, strerror(err));
		ok = 0;
	}

	ok &= wait_ok(forked, "forked child");
	ok &= wait_ok(execed, program);
	if (!err)
		ok &= wait_ok(spawned, program);
	pthread_join(worker, NULL);

	printf("PARENT allocs=%llu bytes=%llu\n", parent_tally.allocs, parent_tally.bytes);
	return ok ? 0 : 1;
}
