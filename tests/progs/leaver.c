/*
 * leaver.c - a program that leaves through _exit, around children of
 * vfork that leave through _exit too, to show that under memtop --trace
 * the collector writes out the trace of a process that skips its
 * destructors, and leaves its parent's alone when it is a vfork child
 * (which runs in the parent's memory).
 *
 * Usage: leaver [N]          N rounds, default 1000, at least 1
 *
 * Main makes N rounds of malloc + free, then, twice, vforks a child that
 * calls _exit(0) at once (the first) or after a failed exec (the second),
 * makes N more rounds after each, and prints
 *     LEAVER allocs=A
 * (its own mallocs, 3N) before it leaves with _exit(0), its last events
 * still in the collector's buffer.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
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

int main(int argc, char **argv)
{
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
