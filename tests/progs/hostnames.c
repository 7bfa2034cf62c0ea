/*
 * hostnames.c - threads whose names are hostile to whatever displays them:
 * markup, quotes and backslashes, control characters (tab, newline,
 * carriage return, an ANSI escape, DEL), bytes that are not UTF-8, valid
 * UTF-8, printf directives, and an empty name.  Names are set both with
 * prctl(PR_SET_NAME) and with pthread_setname_np (kernel limit 15 bytes).
 *
 * Usage: hostnames [SECONDS]     (keep the threads alive, default 1)
 *
 * Thread I takes name I of the list below, makes 100 malloc/free pairs of
 * 64 bytes, waits with the others, sleeps SECONDS and ends.  Main prints
 *     HOSTNAMES threads=N
 * and exits 0.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

static const char *const names[] = {
	"<script>x</scr",
	"a\"b\\c'd",
	"tab\there",
	"nl\nx\rcr\x1b[2J",
	"\x7f" "del\x01\x02\x03",
	"\xff\xfe" "bad-utf8",
	"\xc3\xa9t\xc3\xa9",
	"%s%n%x%p",
	"",
	"<img src=x>&",
};
enum { N = sizeof names / sizeof *names };

static pthread_barrier_t all_named;
static double secs = 1.0;

static void *work(void *arg)
{
	long i = (long)arg;

	if (i % 2)
		prctl(PR_SET_NAME, names[i], 0, 0, 0);
	else
		pthread_setname_np(pthread_self(), names[i]);
	for (int k = 0; k < 100; k++) {
		void *volatile p = malloc(64);  /* volatile: keep the pair */
		free(p);
	}
	pthread_barrier_wait(&all_named);
	struct timespec ts = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };
	nanosleep(&ts, NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[N];

	if (argc > 1)
		secs = atof(argv[1]);
	if (!(secs >= 0 && secs <= 3600)) {
		fprintf(stderr, "usage: hostnames [SECONDS]\n");
		return 2;
	}
	pthread_barrier_init(&all_named, NULL, N + 1);
	for (long i = 0; i < N; i++)
		if (pthread_create(&t[i], NULL, work, (void *)i) != 0) {
			perror("hostnames: pthread_create");
			return 1;
		}
	pthread_barrier_wait(&all_named);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	printf("HOSTNAMES threads=%d\n", N);
	return 0;
}
