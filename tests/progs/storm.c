/*
 * storm.c - a thread storm: N short-lived threads one after another, each
 * making 10 malloc/free pairs of 100 bytes.  More threads than the
 * collector has slots, so its overflow policy is exercised.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 10; i++) {
		void *p = malloc(100);
		__asm__ volatile("" : : "r"(p) : "memory");  /* keep the pair */
		free(p);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	for (int i = 0; i < n; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, worker, NULL) != 0) {
			perror("storm: pthread_create");
			return 1;
		}
		pthread_join(t, NULL);
	}
	printf("STORM threads=%d\n", n);
	return 0;
}
