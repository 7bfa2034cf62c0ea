/*
 * setuidhelper.c - what a setuid program sees (tests/e2e/compat.sh
 * installs a copy of it setuid root and runs it as an unprivileged user).
 *
 * Usage: setuidhelper [STATUS]
 *
 * Allocates (strdup), prints
 *     SETUID ruid=R euid=E secure=S preload=set|unset
 * (S: the kernel's AT_SECURE, which makes glibc ignore LD_PRELOAD paths
 * and drop the variable), and exits with STATUS (default 0).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *copy = strdup(argc > 1 ? argv[1] : "0");

	if (!copy)
		return 1;
	printf("SETUID ruid=%d euid=%d secure=%lu preload=%s\n", (int)getuid(), (int)geteuid(),
	       getauxval(AT_SECURE), getenv("LD_PRELOAD") ? "set" : "unset");
	int status = atoi(copy);
	free(copy);
	return status;
}
