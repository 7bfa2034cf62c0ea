/*
 * test_gotpatch.c - the collector's GOT rewriting (preload/gotpatch.c) on
 * this test program itself: a PLT call (JUMP_SLOT, lazy or not) and an
 * address taken through the GOT (GLOB_DAT, in RELRO: the mprotect path)
 * are redirected, an entry that points to another function is left alone,
 * and removal puts back exactly what was there.
 */
#include "config.h"

#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "gotpatch.h"

static int hook_calls;

static pid_t hooked_getppid(void)
{
	hook_calls++;
	return -42;
}

/* Only ever called, and not before the first install: its JUMP_SLOT entry
 * is still the lazy one, pointing back into this program's PLT (unless the
 * program is linked -z now). */
static pid_t hooked_getpgrp(void)
{
	hook_calls++;
	return -43;
}

/* Read through the GOT each time (volatile): a GLOB_DAT entry (with a PLT
 * call as well, the linker routes that call through the same entry). */
static __attribute__((noinline)) pid_t (*got_getppid(void))(void)
{
	/* the compiler takes a function's address for a constant: make it
	 * load the entry again at every call */
	__asm__ volatile("" ::: "memory");
	pid_t (*volatile f)(void) = getppid;
	return f;
}

static struct gotpatch_fn table(void *real)
{
	return (struct gotpatch_fn){ "getppid", (void *)hooked_getppid, real };
}

static void test_redirect_and_restore(void **state)
{
	(void)state;
	pid_t parent = (pid_t)syscall(SYS_getppid);
	pid_t group = (pid_t)syscall(SYS_getpgrp);
	void *real = dlsym(RTLD_DEFAULT, "getppid");
	void *real_pgrp = dlsym(RTLD_DEFAULT, "getpgrp");
	assert_non_null(real);
	assert_non_null(real_pgrp);
	struct gotpatch_fn fns[] = {
		table(real), { "getpgrp", (void *)hooked_getpgrp, real_pgrp },
	};
	/* no module is "self": every one is scanned, this program included */
	int n = gotpatch_install(fns, 2, (const void *)1);
	assert_true(n >= 2);
	assert_int_equal((int)gotpatch_count(), n);
	assert_true(gotpatch_installed());
	hook_calls = 0;
	assert_int_equal(getppid(), -42);               /* a call */
	assert_ptr_equal((void *)got_getppid(), (void *)hooked_getppid);
	assert_int_equal(got_getppid()(), -42);         /* the address */
	assert_int_equal(getpgrp(), -43);               /* the lazy entry */
	assert_int_equal(hook_calls, 3);
	/* removal restores every entry, the lazy one to the PLT: its first
	 * call now resolves it as usual */
	int restored = gotpatch_remove();
	assert_int_equal(restored, n);
	assert_false(gotpatch_installed());
	assert_int_equal(getppid(), parent);
	assert_ptr_equal((void *)got_getppid(), real);
	assert_int_equal(getpgrp(), group);
	assert_int_equal(hook_calls, 3);
}

static void test_other_allocator_left_alone(void **state)
{
	(void)state;
	/* entries resolved to something else than `real` are not ours */
	struct gotpatch_fn fns[] = { table((void *)test_other_allocator_left_alone) };
	getppid();  /* resolve the PLT entry, so it is not a lazy one */
	int n = gotpatch_install(fns, 1, (const void *)1);
	assert_int_equal(n, 0);
	assert_int_not_equal(getppid(), -42);
	assert_int_equal(gotpatch_remove(), 0);
}

static void test_self_is_skipped(void **state)
{
	(void)state;
	void *real = dlsym(RTLD_DEFAULT, "getppid");
	struct gotpatch_fn fns[] = { table(real) };
	/* "self" is this program: its own entries stay */
	int n = gotpatch_install(fns, 1, (const void *)test_self_is_skipped);
	assert_true(n >= 0);
	assert_int_not_equal(getppid(), -42);
	assert_ptr_equal((void *)got_getppid(), real);
	assert_int_equal(gotpatch_remove(), n);
}

static void test_refresh_after_remove_is_inert(void **state)
{
	(void)state;
	gotpatch_refresh();
	assert_false(gotpatch_installed());
	assert_int_not_equal(getppid(), -42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redirect_and_restore),
		cmocka_unit_test(test_other_allocator_left_alone),
		cmocka_unit_test(test_self_is_skipped),
		cmocka_unit_test(test_refresh_after_remove_is_inert),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
