/*
 * test_session.c - the session model: alert rules, fragmentation, the
 * command line it shows, /proc figures from a fixture tree when there is no
 * collector, and totals, rates and peaks from a real segment written by the
 * collector's registry in this process.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <cmocka.h>

#include "collector.h"
#include "registry.h"
#include "session.h"
#include "symbolize.h"

static void test_alert_rules(void **state)
{
	(void)state;
	assert_int_equal(alert_classify(NAN, 0, 0), ALERT_OK);
	assert_int_equal(alert_classify(99999.0, 0, 0), ALERT_OK);
	assert_int_equal(alert_classify(100000.0, 0, 0), ALERT_WARN);
	assert_int_equal(alert_classify(0, 256ll << 20, 0), ALERT_WARN);
	assert_int_equal(alert_classify(0, (256ll << 20) - 1, 0), ALERT_OK);
	assert_int_equal(alert_classify(1e6, 0, 0), ALERT_CRITICAL);
	assert_int_equal(alert_classify(0, 1ll << 30, 0), ALERT_CRITICAL);
	assert_int_equal(alert_classify(0, 0, 1), ALERT_CRITICAL);
	assert_string_equal(alert_name(ALERT_OK), "ok");
	assert_string_equal(alert_name(ALERT_WARN), "warn");
	assert_string_equal(alert_name(ALERT_CRITICAL), "critical");
}

/* A producer whose blocks other threads free: its net live bytes (316 MiB)
 * say nothing of what the process holds (5.9 MiB); the consumer's are
 * below zero.  Neither makes an alert; a thread holding most of a large
 * heap still does. */
static void test_thread_alert_bounded_by_process(void **state)
{
	(void)state;
	struct session s;
	session_init(&s, 1, NULL, TEST_FIXTURES "/proc", 0.0);
	/* the second may move the array: take both once both exist */
	assert_non_null(session_thread(&s, 1));
	struct thread_stat *producer = session_thread(&s, 0);
	struct thread_stat *consumer = session_thread(&s, 1);
	assert_non_null(producer);
	assert_non_null(consumer);
	producer->tid = 10;
	consumer->tid = 11;
	producer->alloc_rate = consumer->alloc_rate = 10.0;
	producer->c.usable_allocated = 316ull << 20;
	consumer->c.usable_freed = 310ull << 20;
	s.totals.live_bytes = 6ll << 20;
	session_classify_threads(&s);
	assert_int_equal(producer->alert, ALERT_OK);
	assert_int_equal(consumer->alert, ALERT_OK);
	s.totals.live_bytes = 300ll << 20;
	session_classify_threads(&s);
	assert_int_equal(producer->alert, ALERT_WARN);
	consumer->failed_recent = 1;
	session_classify_threads(&s);
	assert_int_equal(consumer->alert, ALERT_CRITICAL);
	session_free(&s);
}

/* The process's peak: a lower bound from the sums, never a producer's own
 * peak (14.4 MB for a true 66 KB); a thread that made every call gives
 * its exact peak. */
static void test_process_peak(void **state)
{
	(void)state;
	struct session s;
	session_init(&s, 1, NULL, TEST_FIXTURES "/proc", 0.0);
	/* the second may move the array: take both once both exist */
	assert_non_null(session_thread(&s, 1));
	struct thread_stat *producer = session_thread(&s, 0);
	struct thread_stat *consumer = session_thread(&s, 1);
	producer->tid = 10;
	consumer->tid = 11;
	producer->c.allocs = 200000;
	producer->c.usable_allocated = 14400000 + 60000;
	producer->c.peak_live = 14400000 + 60000;
	consumer->c.frees = 199000;
	consumer->c.usable_freed = 14400000;
	session_sum_threads(&s);
	assert_int_equal(s.totals.live_bytes, 60000);
	assert_int_equal(s.totals.peak_live_bytes, 60000);
	/* one thread alone: its own peak */
	consumer->c.frees = 0;
	consumer->c.usable_freed = 0;
	producer->c.frees = 199000;
	producer->c.usable_freed = 14400000;
	producer->c.peak_live = 66000;
	session_sum_threads(&s);
	assert_int_equal(s.totals.peak_live_bytes, 66000);
	session_free(&s);
}

static void test_fragmentation(void **state)
{
	(void)state;
	struct session s;
	memset(&s, 0, sizeof(s));
	assert_true(isnan(session_fragmentation(&s)));
	s.mi_valid = true;
	assert_true(isnan(session_fragmentation(&s)));  /* arena 0: not glibc's heap */
	s.mi.arena = 1000;
	s.mi.fordblks = 250;
	assert_true(fabs(session_fragmentation(&s) - 0.25) < 1e-12);
}

static void test_command_line(void **state)
{
	(void)state;
	char *argv[] = { "./server", "--port", "80", NULL };
	struct session s;
	session_init(&s, 1, argv, TEST_FIXTURES "/proc", 0.0);
	assert_string_equal(s.command, "./server --port 80");
	assert_int_equal(s.exit_code, -1);
	session_free(&s);

	/* as a shell would need it: empty words and special characters quoted */
	char *odd[] = { "redis-server", "--save", "", "--dir", "/tmp/a b", "it's", "x=1,y@2%:+", NULL };
	session_init(&s, 1, odd, TEST_FIXTURES "/proc", 0.0);
	assert_string_equal(s.command,
			    "redis-server --save '' --dir '/tmp/a b' 'it'\\''s' x=1,y@2%:+");
	session_free(&s);
	char buf[16];
	char *two[] = { "abc", "$HOME;rm", NULL };
	assert_int_equal(session_quote_argv(buf, sizeof(buf), two), 14);
	assert_string_equal(buf, "abc '$HOME;rm'");
	/* whole words only */
	assert_int_equal(session_quote_argv(buf, 14, two), 3);
	assert_string_equal(buf, "abc");
	assert_int_equal(session_quote_argv(buf, 0, two), 0);
}

/* No collector: /proc figures are there, heap figures are not. */
static void test_proc_only(void **state)
{
	(void)state;
	char *argv[] = { "x", NULL };
	struct session s;
	session_init(&s, 4242, argv, TEST_FIXTURES "/proc", 0.0);
	session_update(&s, 1.0);
	assert_true(s.proc_valid);
	assert_false(s.collector_seen);
	assert_int_equal(s.totals.allocs, 0);
	assert_int_equal(s.proc.num_threads, 2);
	assert_true(isnan(s.proc_cpu_percent));  /* one sample: no rate yet */
	session_update(&s, 2.0);
	assert_true(isfinite(s.proc_cpu_percent));  /* same ticks twice: 0 % */
	assert_true(fabs(s.proc_cpu_percent) < 1e-9);
	session_set_ended(&s, 3, "exited with status 3");
	assert_true(s.ended);
	assert_int_equal(s.exit_code, 3);
	session_free(&s);
}

static void *other_thread(void *arg)
{
	struct mt_slot *s = registry_register();
	for (int i = 0; i < 10; i++)
		collector_on_alloc(s, 1000, 1000);
	*(int *)arg = s->tid;
	return NULL;
}

/* A process with no segment: whether it has the collector mapped (it
 * loaded and could not set up) or not, from its maps; this test's own
 * executable plays the collector. */
static void test_check_collector(void **state)
{
	(void)state;
	char self_exe[4096];
	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	assert_true(n > 0);
	self_exe[n] = '\0';
	char *argv[] = { "self", NULL };
	struct session s;
	session_init(&s, getpid(), argv, "/proc", 0.0);
	session_check_collector(&s);
	assert_false(s.collector_mapped);        /* no path: nothing checked */
	s.collector_path = "/nonexistent/libmemtop.so";
	session_check_collector(&s);
	assert_false(s.collector_mapped);
	s.collector_path = self_exe;
	s.collector_seen = true;                 /* a segment came: no need */
	session_check_collector(&s);
	assert_false(s.collector_mapped);
	char why[256];
	session_missing_collector(&s, why, sizeof(why));
	char want[256];
	snprintf(want, sizeof(want), "pid %d has not loaded the collector after 3 s (statically "
		 "linked, setuid, or LD_PRELOAD removed?)", (int)getpid());
	assert_string_equal(why, want);
	s.collector_seen = false;
	session_check_collector(&s);
	assert_true(s.collector_mapped);
	session_missing_collector(&s, why, sizeof(why));
	snprintf(want, sizeof(want), "pid %d loaded the collector, which could not set up its "
		 "shared memory (its own message says why)", (int)getpid());
	assert_string_equal(why, want);
	session_free(&s);
}

/* Threads the collector pooled because its segment could not grow (as it
 * writes the header when /dev/shm is full), told apart from those beyond
 * the slot capacity; threads that could not sample call stacks for the same
 * reason; and the one line memtop prints about them. */
static void test_unbacked_threads(void **state)
{
	(void)state;
	assert_int_equal(registry_init(), 0);
	char *argv[] = { "self", NULL };
	struct session s;
	char err[256], msg[1024], why[192], want[1024];
	session_init(&s, getpid(), argv, "/proc", 0.0);
	assert_int_equal(session_open_segment(&s, err, sizeof(err)), 0);
	session_update(&s, 1.0);
	assert_int_equal(s.unbacked, 0);
	assert_int_equal(s.unsampled, 0);
	assert_false(session_room_message(&s, msg, sizeof(msg)));
	assert_string_equal(msg, "");
	assert_string_equal(session_unbacked_reason(&s, why, sizeof(why)), "");
	assert_string_equal(session_stacks_reason(&s, why, sizeof(why)), "");

	/* 5 pooled: 3 found no room in /dev/shm, 2 came after the last slot */
	mt_hdr->overflow.threads = 5;
	mt_hdr->overflow.allocs = 50;
	mt_hdr->slots_errno = ENOSPC;
	mt_hdr->slots_unbacked = 3;
	session_update(&s, 2.0);
	assert_int_equal(s.unbacked, 3);
	assert_int_equal(s.unbacked_errno, ENOSPC);
	assert_int_equal(s.overflow.threads, 5);
	assert_int_equal(session_beyond_capacity(&s), 2);
	assert_string_equal(session_unbacked_reason(&s, why, sizeof(why)),
			    "/dev/shm is full (No space left on device)");
	assert_true(session_room_message(&s, msg, sizeof(msg)));
	snprintf(want, sizeof(want), "pid %d: /dev/shm is full (No space left on device): 3 threads "
		 "got no slot of their own (their allocations are still counted, pooled in the "
		 "overflow figures); free space in /dev/shm or make it bigger "
		 "(mount -o remount,size=SIZE /dev/shm)", (int)getpid());
	assert_string_equal(msg, want);
	assert_int_equal(s.totals.threads_seen, 5);  /* the pooled threads are seen, all 5 */

	/* and 4 threads found no room for their stack areas */
	mt_hdr->stacks_errno = ENOSPC;
	mt_hdr->samplers_unbacked = 4;
	session_update(&s, 3.0);
	assert_int_equal(s.unsampled, 4);
	assert_int_equal(s.stacks_errno, ENOSPC);
	assert_string_equal(session_stacks_reason(&s, why, sizeof(why)),
			    "/dev/shm is full (No space left on device)");
	assert_true(session_room_message(&s, msg, sizeof(msg)));
	snprintf(want, sizeof(want), "pid %d: /dev/shm is full (No space left on device): 3 threads "
		 "got no slot of their own (their allocations are still counted, pooled in the "
		 "overflow figures); 4 threads could not sample call stacks (the stack estimates "
		 "leave them out); free space in /dev/shm or make it bigger "
		 "(mount -o remount,size=SIZE /dev/shm)", (int)getpid());
	assert_string_equal(msg, want);

	mt_hdr->overflow.threads = 0;
	mt_hdr->overflow.allocs = 0;
	mt_hdr->slots_unbacked = 0;
	mt_hdr->slots_errno = 0;
	mt_hdr->samplers_unbacked = 0;
	mt_hdr->stacks_errno = 0;
	session_free(&s);

	/* Other reasons: no advice about space; one thread in the singular. */
	memset(&s, 0, sizeof(s));
	s.pid = 77;
	s.overflow.threads = 1;
	s.unbacked = 1;
	s.unbacked_errno = EFBIG;
	assert_int_equal(session_beyond_capacity(&s), 0);
	assert_true(session_room_message(&s, msg, sizeof(msg)));
	assert_string_equal(msg, "pid 77: the file size limit (ulimit -f) keeps its segment in "
			    "/dev/shm from growing (File too large): 1 thread got no slot of its own "
			    "(its allocations are still counted, pooled in the overflow figures)");
	s.unbacked_errno = ESTALE;
	assert_string_equal(session_unbacked_reason(&s, why, sizeof(why)),
			    "its segment /dev/shm/memtop.77 was removed or replaced (Stale file handle)");
	s.unbacked_errno = ENOMEM;
	assert_string_equal(session_unbacked_reason(&s, why, sizeof(why)),
			    "its segment in /dev/shm could not grow (Cannot allocate memory)");
	/* two reasons: each says its own; /dev/shm full brings the advice */
	s.stacks_errno = ENOSPC;
	s.unsampled = 1;
	assert_true(session_room_message(&s, msg, sizeof(msg)));
	assert_string_equal(msg, "pid 77: its segment in /dev/shm could not grow (Cannot allocate "
			    "memory): 1 thread got no slot of its own (its allocations are still "
			    "counted, pooled in the overflow figures); /dev/shm is full (No space left "
			    "on device): 1 thread could not sample call stacks (the stack estimates "
			    "leave it out); free space in /dev/shm or make it bigger "
			    "(mount -o remount,size=SIZE /dev/shm)");
	/* stack records only (no thread refused an area) */
	s.unbacked = 0;
	s.overflow.threads = 0;
	s.unsampled = 0;
	assert_true(session_room_message(&s, msg, sizeof(msg)));
	assert_string_equal(msg, "pid 77: /dev/shm is full (No space left on device): some sampled "
			    "call stacks could not be recorded (their samples are counted under the "
			    "catch-all stack); free space in /dev/shm or make it bigger "
			    "(mount -o remount,size=SIZE /dev/shm)");
	/* a race seen by a reader cannot make the capacity's share negative */
	s.overflow.threads = 1;
	s.unbacked = 2;
	assert_int_equal(session_beyond_capacity(&s), 0);
}

static void test_segment_totals_and_rates(void **state)
{
	(void)state;
	assert_int_equal(registry_init(), 0);
	struct mt_slot *me = registry_register();
	collector_on_alloc(me, 100, 112);
	int other_tid = 0;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, other_thread, &other_tid), 0);
	pthread_join(t, NULL);

	char *argv[] = { "self", NULL };
	struct session s;
	char err[256];
	session_init(&s, getpid(), argv, "/proc", 0.0);
	assert_int_equal(session_open_segment(&s, err, sizeof(err)), 0);
	session_update(&s, 1.0);
	assert_int_equal(s.totals.threads_seen, 2);
	assert_int_equal(s.totals.allocs, 11);
	assert_int_equal(s.totals.bytes_allocated, 10100);
	assert_int_equal(s.totals.live_bytes, 10112);
	assert_int_equal(s.totals.peak_live_bytes, 10112);
	assert_true(isnan(s.totals.alloc_rate));
	bool found_exited = false;
	for (size_t i = 0; i < s.nthreads; i++)
		if (s.threads[i].tid == other_tid)
			found_exited = s.threads[i].exited;
	assert_true(found_exited);  /* gone from /proc: exited, figures kept */

	for (int i = 0; i < 20; i++)
		collector_on_alloc(me, 10, 24);
	struct mt_event fr = { .frees = 1, .usable_out = 1000 };
	for (int i = 0; i < 5; i++)
		collector_apply(me, &fr);
	session_tick(&s);
	session_update(&s, 3.0);
	assert_int_equal(s.totals.allocs, 31);
	assert_true(fabs(s.totals.alloc_rate - 10.0) < 1e-9);  /* 20 allocs in 2 s */
	assert_int_equal(s.totals.frees, 5);
	assert_int_equal(s.totals.bytes_freed, 5000);
	/* The process peak never falls, and is a lower bound: the true peak
	 * (10112 + 480, before the frees) happened between two samples and in
	 * no single thread, so memtop cannot claim it. */
	assert_int_equal(s.totals.live_bytes, 10112 + 480 - 5000);
	assert_int_equal(s.totals.peak_live_bytes, 10112);

	/* A thread about to exec: /proc soon shows the next program under
	 * its tid; its name there is not this thread's. */
	struct thread_stat *mine = NULL;
	for (size_t i = 0; i < s.nthreads; i++)
		if (s.threads[i].tid == me->tid)
			mine = &s.threads[i];
	assert_non_null(mine);
	char before[sizeof(mine->name)];
	memcpy(before, mine->name, sizeof(before));
	char own[16] = { 0 };
	prctl(PR_GET_NAME, own, 0, 0, 0);
	prctl(PR_SET_NAME, "next-program", 0, 0, 0);
	__atomic_store_n(&mt_hdr->exec_pending, 1, __ATOMIC_RELEASE);
	session_update(&s, 3.5);
	assert_string_equal(mine->name, before);
	assert_true(mine->exited);
	/* the exec failed: the thread goes on, its /proc figures count again */
	__atomic_store_n(&mt_hdr->exec_pending, 0, __ATOMIC_RELEASE);
	session_update(&s, 3.6);
	assert_string_equal(mine->name, "next-program");
	assert_false(mine->exited);
	prctl(PR_SET_NAME, own, 0, 0, 0);

	/* the summary's rates are whole-session averages */
	session_finish(&s, 4.0);
	assert_true(s.final);
	assert_true(fabs(s.totals.alloc_rate - 31.0 / 4.0) < 1e-9);
	for (size_t i = 0; i < s.nthreads; i++)
		if (s.threads[i].tid == other_tid)
			assert_true(fabs(s.threads[i].alloc_rate - 10.0 / 4.0) < 1e-9);
	session_release_segment(&s);
	session_free(&s);
}

__attribute__((noinline)) void session_test_marker(void);
__attribute__((noinline)) void session_test_marker(void)
{
	__asm__ volatile("");
}

/* A symbolizer handed over (as memtop report does after resolving frames
 * in a thread of its own) is the one the session's stacks use; a session
 * that has one already refuses another. */
static void test_adopt_symbolizer(void **state)
{
	(void)state;
	struct session s;
	session_init(&s, 1, NULL, TEST_FIXTURES "/proc", 0.0);
	struct symbolizer *sym = symbolizer_new();
	assert_non_null(sym);
	assert_int_equal(symbolizer_add_process_maps(sym, "/proc", getpid()), 0);
	uint64_t pc = (uint64_t)(uintptr_t)&session_test_marker + 1;
	const char *early[1];
	assert_int_equal(symbolizer_frames(sym, pc, early, 1), 1);
	assert_true(session_adopt_symbolizer(&s, sym));

	struct symbolizer *other = symbolizer_new();
	assert_non_null(other);
	assert_false(session_adopt_symbolizer(&s, other));
	symbolizer_free(other);

	session_define_stack(&s, 1, &pc, 1, false);
	size_t depth = 0;
	bool truncated = true;
	const char *const *frames = session_stack_frames(&s, 1, &depth, &truncated);
	assert_non_null(frames);
	assert_int_equal(depth, 1);
	assert_false(truncated);
	/* the string the symbolizer resolved before the handover */
	assert_ptr_equal(frames[0], early[0]);
	assert_non_null(strstr(frames[0], "session_test_marker"));
	session_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alert_rules),
		cmocka_unit_test(test_thread_alert_bounded_by_process),
		cmocka_unit_test(test_process_peak),
		cmocka_unit_test(test_fragmentation),
		cmocka_unit_test(test_command_line),
		cmocka_unit_test(test_check_collector),
		cmocka_unit_test(test_proc_only),
		cmocka_unit_test(test_unbacked_threads),
		cmocka_unit_test(test_segment_totals_and_rates),
		cmocka_unit_test(test_adopt_symbolizer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
