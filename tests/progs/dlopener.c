/*
 * dlopener.c - dlopen, RTLD_DEEPBIND, dynamic TLS and dlclose under a
 * malloc interposer.
 *
 * Usage: dlopener PLAIN_MODULE DEEP_MODULE
 *     two copies (two files) of tests/progs/dlmod.c's module: a module
 *     already loaded is not loaded again, whatever the flags.
 *
 * Thread "dl-plain" dlopens PLAIN_MODULE (RTLD_NOW | RTLD_LOCAL) and calls
 *   dlmod_work(1000): 1000 malloc/free pairs of 48 bytes that resolve to
 *   the interposed malloc, as any library's do.
 * Thread "dl-deep" dlopens DEEP_MODULE with RTLD_DEEPBIND and calls
 *   dlmod_work(1000): the module's own lookup scope comes first, so its
 *   malloc and free bind to libc's directly, past any LD_PRELOAD.
 * Thread "dl-cross" passes blocks across the two: 100 blocks of 1000 bytes
 *   from the deep module's malloc freed here with free(), and 100 blocks
 *   malloc'd here freed by the deep module's free.
 * Threads "dl-tls-0".."dl-tls-7" each touch the plain module's
 *   thread-local array (glibc allocates each thread's block of it).
 * Then both modules are closed, the plain one opened again, used, closed.
 * Prints
 *     DLOPEN plain=1000 deep=1000 cross=100 tls=8 reopen=10
 * and exits 0, or says what failed and exits 1.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct module {
	void *handle;
	int (*work)(int);
	void *(*alloc)(size_t);
	void (*release)(void *);
	int (*tls)(int);
};

static const char *plain_path, *deep_path;
static struct module plain, deep;
static int plain_done, deep_done, cross_done, tls_ok;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int load(struct module *m, const char *path, int flags)
{
	m->handle = dlopen(path, flags);
	if (!m->handle) {
		fprintf(stderr, "dlopener: dlopen %s: %s\n", path, dlerror());
		return -1;
	}
	*(void **)&m->work = dlsym(m->handle, "dlmod_work");
	*(void **)&m->alloc = dlsym(m->handle, "dlmod_alloc");
	*(void **)&m->release = dlsym(m->handle, "dlmod_free");
	*(void **)&m->tls = dlsym(m->handle, "dlmod_tls");
	if (!m->work || !m->alloc || !m->release || !m->tls) {
		fprintf(stderr, "dlopener: %s lacks a dlmod_ function\n", path);
		return -1;
	}
	return 0;
}

static void *plain_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "dl-plain");
	if (load(&plain, plain_path, RTLD_NOW | RTLD_LOCAL) == 0)
		plain_done = plain.work(1000);
	return NULL;
}

static void *deep_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "dl-deep");
	if (load(&deep, deep_path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND) == 0)
		deep_done = deep.work(1000);
	return NULL;
}

static void *cross_main(void *arg)
{
	void *blocks[100];
	int ok = 0;

	(void)arg;
	pthread_setname_np(pthread_self(), "dl-cross");
	for (int i = 0; i < 100; i++) {
		blocks[i] = deep.alloc(1000);
		if (blocks[i])
			memset(blocks[i], 1, 1000);
	}
	for (int i = 0; i < 100; i++)
		if (blocks[i]) {
			free(blocks[i]);
			ok++;
		}
	for (int i = 0; i < 100; i++) {
		blocks[i] = malloc(1000);
		if (blocks[i])
			memset(blocks[i], 2, 1000);
	}
	for (int i = 0; i < 100; i++)
		if (blocks[i])
			deep.release(blocks[i]);
		else
			ok--;
	cross_done = ok;
	return NULL;
}

static void *tls_main(void *arg)
{
	char name[16];
	long id = (long)arg;

	snprintf(name, sizeof name, "dl-tls-%ld", id);
	pthread_setname_np(pthread_self(), name);
	if (plain.tls((int)id) == 2 * (int)id) {
		pthread_mutex_lock(&lock);
		tls_ok++;
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

static void run(void *(*fn)(void *), void *arg)
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, arg) != 0) {
		perror("dlopener: pthread_create");
		exit(1);
	}
	pthread_join(t, NULL);
}

int main(int argc, char **argv)
{
	pthread_t t[8];
	int reopen = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: dlopener PLAIN_MODULE DEEP_MODULE\n");
		return 2;
	}
	plain_path = argv[1];
	deep_path = argv[2];
	run(plain_main, NULL);
	run(deep_main, NULL);
	if (!plain.handle || !deep.handle)
		return 1;
	run(cross_main, NULL);
	for (long i = 0; i < 8; i++)
		if (pthread_create(&t[i], NULL, tls_main, (void *)i) != 0) {
			perror("dlopener: pthread_create");
			return 1;
		}
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	dlclose(deep.handle);
	dlclose(plain.handle);
	if (load(&plain, plain_path, RTLD_NOW | RTLD_LOCAL) == 0) {
		reopen = plain.work(10);
		dlclose(plain.handle);
	}
	printf("DLOPEN plain=%d deep=%d cross=%d tls=%d reopen=%d\n",
	       plain_done, deep_done, cross_done, tls_ok, reopen);
	return plain_done == 1000 && deep_done == 1000 && cross_done == 100 &&
	       tls_ok == 8 && reopen == 10 ? 0 : 1;
}
