/*
 * test_inject.c - memtop's side of --attach (src/inject.c): this process's
 * maps and libc's dynamic symbols, and calls made inside a forked child
 * through ptrace, which must find the child exactly as it was afterwards.
 */
#include "config.h"

#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <elf.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "inject.h"

static void test_maps_and_symbols(void **state)
{
	(void)state;
	struct proc_maps m;
	assert_int_equal(maps_read(getpid(), &m), 0);
	struct module libc;
	assert_true(module_find(&m, "libc.so.6", NULL, &libc));
	assert_true(libc.text_lo < libc.text_hi);
	char err[256];
	struct elf_syms s;
	assert_int_equal(elf_syms_load(getpid(), &libc, &s, err, sizeof(err)), 0);
	assert_int_equal(s.machine, EM_X86_64);
	uint64_t size = 0;
	uintptr_t a = elf_sym_addr(&s, &libc, "getppid", &size);
	assert_ptr_equal((void *)a, dlsym(RTLD_DEFAULT, "getppid"));
	assert_true(size > 0);
	assert_true(a >= libc.text_lo && a < libc.text_hi);
	assert_int_equal(elf_sym_addr(&s, &libc, "no_such_function_here", NULL), 0);
	const struct map_entry *e = maps_find(&m, a);
	assert_non_null(e);
	assert_true(e->prot & PROT_EXEC);
	elf_syms_free(&s);
	assert_false(module_find(&m, "libnothing.so", NULL, &libc));
	maps_free(&m);

	uint16_t machine;
	bool elf64;
	assert_int_equal(elf_machine("/proc/self/exe", &machine, &elf64), 0);
	assert_int_equal(machine, EM_X86_64);
	assert_true(elf64);
	assert_int_equal(elf_machine("/proc/self/status", &machine, &elf64), -1);
}

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

/* The child: sleeps in a loop, counts SIGUSR1, exits 0 when it got one
 * and its registers survived. */
static void child_main(int fd)
{
	signal(SIGUSR1, on_usr1);
	if (write(fd, "s", 1) != 1)
		_exit(2);
	volatile double x = 1.25;
	while (!got_usr1) {
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
	}
	char c = x == 1.25 ? 'y' : 'n';
	if (write(fd, &c, 1) != 1)
		_exit(2);
	_exit(0);
}

static void test_remote_call(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t child = fork();
	if (child == 0) {
		close(p[0]);
		child_main(p[1]);
	}
	close(p[1]);
	/* its handler in place (a loaded machine may not run it for a while) */
	char c = 0;
	assert_int_equal(read(p[0], &c, 1), 1);
	struct timespec ts = { 0, 50000000 };
	nanosleep(&ts, NULL);

	struct proc_maps m;
	assert_int_equal(maps_read(child, &m), 0);
	struct module libc;
	assert_true(module_find(&m, "libc.so.6", NULL, &libc));
	char err[256];
	struct elf_syms s;
	assert_int_equal(elf_syms_load(child, &libc, &s, err, sizeof(err)), 0);

	struct remote_helpers h;
	assert_int_equal(remote_helpers_find(child, libc.text_lo, libc.text_hi, &h, err,
					     sizeof(err)), 0);
	struct remote r;
	assert_int_equal(remote_seize(&r, child, child, err, sizeof(err)), 0);
	r.h = h;
	struct unsafe_ranges u;
	memset(&u, 0, sizeof(u));
	u.libc_lo = libc.text_lo;
	u.libc_hi = libc.text_hi;
	char reason[128];
	/* asleep in nanosleep: a safe point */
	assert_true(remote_safe_point(&r, &u, &m, reason, sizeof(reason)));
	/* ... unless its code is declared unsafe */
	unsafe_add(&u, r.regs.rip - 1, r.regs.rip + 1);
	assert_false(remote_safe_point(&r, &u, &m, reason, sizeof(reason)));

	uint64_t ret = 0;
	uintptr_t fn = elf_sym_addr(&s, &libc, "getppid", NULL);
	assert_int_equal(remote_call(&r, fn, NULL, 0, &ret, err, sizeof(err)), 0);
	assert_int_equal((pid_t)ret, getpid());
	/* data pushed onto its stack, then a call with arguments */
	uintptr_t str;
	assert_int_equal(remote_push(&r, "1234", 5, &str), 0);
	uint64_t args[3] = { str, 0, 10 };
	fn = elf_sym_addr(&s, &libc, "strtol", NULL);
	assert_int_equal(remote_call(&r, fn, args, 3, &ret, err, sizeof(err)), 0);
	assert_int_equal(ret, 1234);
	/* a signal sent meanwhile is held back, then delivered */
	kill(child, SIGUSR1);
	fn = elf_sym_addr(&s, &libc, "getpid", NULL);
	assert_int_equal(remote_call(&r, fn, NULL, 0, &ret, err, sizeof(err)), 0);
	assert_int_equal((pid_t)ret, child);
	assert_int_equal(remote_release(&r, err, sizeof(err)), 0);

	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	int st;
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(p[0]);
	elf_syms_free(&s);
	maps_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_and_symbols),
		cmocka_unit_test(test_remote_call),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
