/*
 * mtfork.c - fork without exec, vfork and posix_spawn from a parent whose
 * other threads allocate all the time: a lock held by the collector (or by
 * anything it calls) at the moment of fork stays locked forever in the
 * child, which then hangs on its first allocation.
 *
 * Usage: mtfork [FORKS]           (default 40)
 *        mtfork --child N         (what the spawned children run)
 *
 * Three threads "churn-0".."churn-2" malloc/realloc/free in a loop until
 * the end.  Meanwhile main, FORKS times:
 *   - fork()s a child that, without exec, mallocs and frees 1000 blocks,
 *     starts a thread that does the same (a new thread in a forked child)
 *     and leaves with exit(0) (atexit handlers and destructors run);
 *   - vfork()s a child that execs this program with "--child N";
 *   - posix_spawn()s this program with "--child N".
 * A child in --child mode allocates N blocks, checks them and exits 0.
 * Every child is waited for with a deadline of 10 s (SIGKILL after): one
 * that needed it counts as hung.  Main then stops the churn threads and
 * prints
 *     MTFORK forks=F vfork=V spawn=S hung=H failed=X
 * (F, V, S: children that exited 0) and exits 0 if all 3*FORKS did.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static volatile int stop;
static char self_path[4096];

static int alloc_some(int n)
{
	for (int i = 0; i < n; i++) {
		char *volatile p = malloc(16 + (size_t)(i % 200));
		if (!p)
			return -1;
		p[0] = (char)i;
		free(p);
	}
	return 0;
}

static void *churn(void *arg)
{
	char name[16];
	void *ring[32] = { 0 };
	unsigned long i = 0;

	snprintf(name, sizeof name, "churn-%ld", (long)arg);
	pthread_setname_np(pthread_self(), name);
	while (!stop) {
		int k = (int)(i % 32);
		free(ring[k]);
		ring[k] = malloc(8 + i % 1000);
		if (ring[k] && i % 3 == 0) {
			void *q = realloc(ring[k], 2000 + i % 3000);
			if (q)
				ring[k] = q;
		}
		i++;
	}
	for (int k = 0; k < 32; k++)
		free(ring[k]);
	return NULL;
}

static void *child_thread(void *arg)
{
	(void)arg;
	return (void *)(long)alloc_some(1000);
}

static void forked_child(void)
{
	pthread_t t;
	void *r = (void *)-1L;

	if (alloc_some(1000) != 0)
		_exit(3);
	if (pthread_create(&t, NULL, child_thread, NULL) != 0)
		_exit(4);
	pthread_join(t, &r);
	exit(r == NULL ? 0 : 5);
}

/* Waits for pid at most 10 s.  Returns 1 if it exited 0, 0 if it failed,
 * -1 if it had to be killed. */
static int reap(pid_t pid)
{
	struct timespec delay = { 0, 1000000 };
	int st;

	for (int waited_ms = 0; waited_ms < 10000; waited_ms++) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 1 : 0;
		if (r < 0 && errno != EINTR)
			return 0;
		nanosleep(&delay, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* vfork + exec in a function of its own: the child never returns from it,
 * and the parent's locals in main stay out of the shared stack frame. */
static pid_t vfork_exec(char *const child_argv[])
{
	pid_t pid = vfork();

	if (pid == 0) {
		execve(child_argv[0], child_argv, environ);
		_exit(127);
	}
	return pid;
}

static void tally(int r, int *ok, int *hung, int *failed)
{
	if (r == 1)
		(*ok)++;
	else if (r < 0)
		(*hung)++;
	else
		(*failed)++;
}

int main(int argc, char **argv)
{
	int forks = 40, fork_ok = 0, vfork_ok = 0, spawn_ok = 0, hung = 0, failed = 0;
	pthread_t t[3];
	char count[16] = "500";
	char *child_argv[] = { self_path, "--child", count, NULL };

	if (argc == 3 && strcmp(argv[1], "--child") == 0)
		return alloc_some(atoi(argv[2])) == 0 ? 0 : 1;
	if (argc > 1)
		forks = atoi(argv[1]);
	if (forks < 1 || forks > 10000) {
		fprintf(stderr, "usage: mtfork [FORKS 1..10000]\n");
		return 2;
	}
	ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
	if (n <= 0) {
		perror("mtfork: /proc/self/exe");
		return 1;
	}
	self_path[n] = '\0';

	for (long i = 0; i < 3; i++)
		if (pthread_create(&t[i], NULL, churn, (void *)i) != 0) {
			perror("mtfork: pthread_create");
			return 1;
		}
	for (int i = 0; i < forks; i++) {
		pid_t pid;

		fflush(NULL);
		pid = fork();
		if (pid == 0)
			forked_child();
		if (pid < 0) {
			failed++;
		} else {
			tally(reap(pid), &fork_ok, &hung, &failed);
		}

		pid = vfork_exec(child_argv);
		if (pid < 0)
			failed++;
		else
			tally(reap(pid), &vfork_ok, &hung, &failed);

		if (posix_spawn(&pid, self_path, NULL, NULL, child_argv, environ) != 0)
			failed++;
		else
			tally(reap(pid), &spawn_ok, &hung, &failed);
	}
	stop = 1;
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	printf("MTFORK forks=%d vfork=%d spawn=%d hung=%d failed=%d\n",
	       fork_ok, vfork_ok, spawn_ok, hung, failed);
	return fork_ok == forks && vfork_ok == forks && spawn_ok == forks ? 0 : 1;
}
