/*
 * static_exit.c - linked statically, so LD_PRELOAD cannot load the collector
 * into it: sleeps SECS seconds, then exits with STATUS.
 */
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned secs = argc > 1 ? (unsigned)atoi(argv[1]) : 1;
	int status = argc > 2 ? atoi(argv[2]) : 0;
	sleep(secs);
	return status;
}
