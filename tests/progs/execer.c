/*
 * execer.c - replaces itself with another program through one of the exec
 * functions, so that the collector's exec hooks (hooks.c) are exercised by
 * each entry point, list forms included.
 *
 * Usage: execer FORM PROGRAM ARG
 *     FORM: execv execvp execve execvpe execl execlp execle fexecve
 * It first allocates 10 blocks of 100 bytes and frees 5 (so that it has
 * events of its own to write out before the exec), then runs PROGRAM ARG
 * (PROGRAM a path; the p forms are given its path too).  Exit status 127
 * and a message if the exec fails.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: execer FORM PROGRAM ARG\n");
		return 2;
	}
	const char *form = argv[1], *prog = argv[2], *arg = argv[3];
	void *keep[10];
	for (int i = 0; i < 10; i++)
		keep[i] = malloc(100);
	for (int i = 0; i < 5; i++)
		free(keep[i]);
	char *v[] = { (char *)prog, (char *)arg, NULL };
	if (strcmp(form, "execv") == 0)
		execv(prog, v);
	else if (strcmp(form, "execvp") == 0)
		execvp(prog, v);
	else if (strcmp(form, "execve") == 0)
		execve(prog, v, environ);
	else if (strcmp(form, "execvpe") == 0)
		execvpe(prog, v, environ);
	else if (strcmp(form, "execl") == 0)
		execl(prog, prog, arg, (char *)NULL);
	else if (strcmp(form, "execlp") == 0)
		execlp(prog, prog, arg, (char *)NULL);
	else if (strcmp(form, "execle") == 0)
		execle(prog, prog, arg, (char *)NULL, environ);
	else if (strcmp(form, "fexecve") == 0) {
		int fd = open(prog, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			fexecve(fd, v, environ);
	} else {
		fprintf(stderr, "execer: unknown form '%s'\n", form);
		return 2;
	}
	perror("execer: exec");
	return 127;
}
