/*
 * clock.h - the collector's clocks: a cheap tick counter for durations and
 * event times (the processor's time-stamp counter where there is one, the
 * monotonic clock elsewhere) and the system clocks it is calibrated against.
 */
#ifndef MEMTOP_CLOCK_H
#define MEMTOP_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t mt_clock_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define MT_HAVE_TSC 1
static inline uint64_t mt_ticks(void)
{
	return __rdtsc();
}
#else
#define MT_HAVE_TSC 0
static inline uint64_t mt_ticks(void)
{
	return mt_clock_ns(CLOCK_MONOTONIC);
}
#endif

/*
 * The trace's clock: CLOCK_MONOTONIC_COARSE in nanoseconds.  Every traced
 * event needs its value, so it must be cheap: about 3 ns here against 9 ns
 * for the time-stamp counter (AMD's rdtsc takes some 36 cycles), which was
 * a quarter of what tracing cost; under memtop --trace an event takes it
 * from memtop's clock page instead (trace.h, trace_now).  Its resolution
 * is the kernel's tick (clock_getres(2); 1 to 10 ms), which is what event
 * times in a trace are good to; events within a tick keep their order in
 * their thread's stream.
 */
#define MT_TRACE_HZ 1000000000ull
static inline uint64_t mt_trace_now(void)
{
	return mt_clock_ns(CLOCK_MONOTONIC_COARSE);
}

#endif
