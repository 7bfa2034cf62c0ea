/*
 * proctitle.c - a long-running program of the shape of redis: it burns
 * CPU_S seconds of CPU first, then rewrites its argv area in place
 * ("proctitle main") padded with NULs, as setproctitle does, and from then
 * on sleeps and allocates a little.  memtop --attach must show neither the
 * CPU time it used before the attach in the session's CPU % nor the padding
 * as empty arguments.
 *
 * Usage: proctitle CPU_S PAD_ARGS...  (the PAD_ARGS only make argv long)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	double burn = atof(argv[1]);
	volatile unsigned long x = 0;
	while (cpu_s() < burn)
		x++;
	/* the argv strings lie one after another: rewrite the whole area */
	char *start = argv[0], *end = argv[argc - 1] + strlen(argv[argc - 1]);
	memset(start, 0, (size_t)(end - start));
	snprintf(start, (size_t)(end - start), "proctitle main");
	printf("started pid=%d\n", (int)getpid());
	fflush(stdout);
	for (;;) {
		free(malloc(100));
		usleep(10000);
	}
}
