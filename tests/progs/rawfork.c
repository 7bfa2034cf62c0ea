/*
 * rawfork.c - children made without fork(): glibc's _Fork() and a raw
 * clone(SIGCHLD) system call, which run no atfork handlers, from a thread
 * whose own figures must stay exact.
 *
 * Usage: rawfork
 *
 * Everything counted runs in one thread, "parent-work" (main only starts it,
 * joins it and prints); it makes, in order:
 *   1. PARENT_ROUNDS rounds of malloc + free;
 *   2. a child with _Fork() that makes FORK_ROUNDS rounds, then a grandchild
 *      with _Fork() of its own (GRAND_ROUNDS rounds), waits for it and
 *      leaves with exit(0) (destructors run);
 *   3. a child with syscall(SYS_clone, SIGCHLD, ...) that makes CLONE_ROUNDS
 *      rounds and leaves with _exit(0);
 *   4. KILLED children made with _Fork() that allocate and free without end,
 *      each killed with SIGKILL a little later every time, in the middle of
 *      its malloc loop;
 *   5. PARENT_ROUNDS rounds more.
 * A round is malloc(size) then free (sizes 16..527).  Each child that ends
 * writes, with write(2) (no stdio buffer: nothing else allocates in it),
 *     CHILD kind=fork|grandchild|clone pid=P ppid=Q allocs=A bytes=B
 * each killed one is named by the parent as
 *     KILLED pid=P ppid=Q
 * and main prints at the end
 *     PARENT pid=P allocs=A bytes=B
 * which is what memtop must report for "parent-work".  Exit status 0 when
 * every child behaved (status 0, or killed by SIGKILL for the killed ones).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { PARENT_ROUNDS = 20000, FORK_ROUNDS = 3000, GRAND_ROUNDS = 500,
       CLONE_ROUNDS = 2000, KILLED = 6 };

struct tally {
	unsigned long long allocs, bytes;
};

static struct tally parent_tally;
static int failed;
static void *volatile sink;

static void rounds(struct tally *t, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		size_t size = 16 + (i * 61) % 512;
		sink = malloc(size);
		if (!sink) {
			static const char msg[] = "rawfork: malloc failed\n";
			(void)!write(2, msg, sizeof(msg) - 1);
			_exit(1);
		}
		((volatile char *)sink)[0] = 1;
		free(sink);
		t->allocs++;
		t->bytes += size;
	}
}

static void say(const char *kind, const struct tally *t)
{
	char line[160];
	int n = snprintf(line, sizeof(line), "CHILD kind=%s pid=%d ppid=%d allocs=%llu bytes=%llu\n",
			 kind, (int)getpid(), (int)getppid(), t->allocs, t->bytes);
	(void)!write(1, line, (size_t)n);
}

static void reap(pid_t pid, const char *what, int want_signal)
{
	int st;
	if (waitpid(pid, &st, 0) != pid) {
		fprintf(stderr, "rawfork: waitpid %s: %s\n", what, strerror(errno));
		failed = 1;
		return;
	}
	int ok = want_signal ? WIFSIGNALED(st) && WTERMSIG(st) == want_signal
			     : WIFEXITED(st) && WEXITSTATUS(st) == 0;
	if (!ok) {
		fprintf(stderr, "rawfork: %s child ended with status 0x%x\n", what, st);
		failed = 1;
	}
}

static void fork_child(void)
{
	struct tally t = { 0, 0 };
	rounds(&t, FORK_ROUNDS);
	say("fork", &t);
	pid_t g = _Fork();
	if (g == 0) {
		struct tally gt = { 0, 0 };
		rounds(&gt, GRAND_ROUNDS);
		say("grandchild", &gt);
		_exit(0);
	}
	if (g < 0)
		_exit(3);
	int st;
	if (waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		_exit(4);
	exit(0);
}

static void *parent_work(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "parent-work");
	rounds(&parent_tally, PARENT_ROUNDS);

	pid_t pid = _Fork();
	if (pid == 0)
		fork_child();
	if (pid < 0) {
		perror("rawfork: _Fork");
		failed = 1;
	} else {
		reap(pid, "_Fork", 0);
	}

	pid = (pid_t)syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, 0UL);
	if (pid == 0) {
		struct tally t = { 0, 0 };
		rounds(&t, CLONE_ROUNDS);
		say("clone", &t);
		_exit(0);
	}
	if (pid < 0) {
		perror("rawfork: clone");
		failed = 1;
	} else {
		reap(pid, "clone", 0);
	}

	for (int k = 0; k < KILLED; k++) {
		int ready[2];
		if (pipe(ready) != 0) {
			perror("rawfork: pipe");
			failed = 1;
			break;
		}
		pid = _Fork();
		if (pid == 0) {
			struct tally t = { 0, 0 };
			rounds(&t, 100);
			(void)!write(ready[1], "x", 1);
			for (;;)
				rounds(&t, 1000);
		}
		char c;
		if (pid < 0 || read(ready[0], &c, 1) != 1) {
			fprintf(stderr, "rawfork: killed child %d did not start\n", k);
			failed = 1;
		} else {
			/* a little later each time: somewhere in the loop */
			struct timespec ts = { 0, 200000L + 700000L * k };
			nanosleep(&ts, NULL);
			kill(pid, SIGKILL);
			reap(pid, "killed", SIGKILL);
			printf("KILLED pid=%d ppid=%d\n", (int)pid, (int)getpid());
		}
		close(ready[0]);
		close(ready[1]);
	}
	fflush(stdout);

	rounds(&parent_tally, PARENT_ROUNDS);
	return NULL;
}

int main(void)
{
	pthread_t th;
	/* stdout's buffer now, in main, not in parent-work's tally */
	printf("START pid=%d\n", (int)getpid());
	fflush(stdout);
	if (pthread_create(&th, NULL, parent_work, NULL) != 0) {
		fprintf(stderr, "rawfork: cannot start a thread\n");
		return 1;
	}
	pthread_join(th, NULL);
	printf("PARENT pid=%d allocs=%llu bytes=%llu\n", (int)getpid(), parent_tally.allocs,
	       parent_tally.bytes);
	return failed;
}
