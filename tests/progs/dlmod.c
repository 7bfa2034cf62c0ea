/*
 * dlmod.c - a module that tests/progs/dlopener loads with dlopen, once
 * plainly and once (from another file) with RTLD_DEEPBIND.  Its functions
 * allocate, and it has a large general-dynamic thread-local array: the
 * first touch of it in each thread makes glibc allocate the module's TLS
 * block for that thread (__tls_get_addr), from inside the loader.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

int dlmod_work(int n);
void *dlmod_alloc(size_t size);
void dlmod_free(void *p);
int dlmod_tls(int v);

static __thread char tls_buf[32768];

/* n malloc/free pairs of 48 bytes; returns n if all succeeded. */
int dlmod_work(int n)
{
	int done = 0;

	for (int i = 0; i < n; i++) {
		char *volatile p = malloc(48);  /* volatile: keep the pair */
		if (!p)
			break;
		memset(p, i & 0xff, 48);
		free(p);
		done++;
	}
	return done;
}

void *dlmod_alloc(size_t size)
{
	return malloc(size);
}

void dlmod_free(void *p)
{
	free(p);
}

/* Writes v at both ends of this thread's copy of the array and reads
 * them back. */
int dlmod_tls(int v)
{
	tls_buf[0] = (char)v;
	tls_buf[sizeof tls_buf - 1] = (char)v;
	return tls_buf[0] + tls_buf[sizeof tls_buf - 1];
}
