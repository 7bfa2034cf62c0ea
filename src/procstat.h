/*
 * procstat.h - per-process, per-thread and system-wide figures read from
 * procfs: CPU times, faults, memory sizes, I/O counters, load and memory.
 *
 * Every reader takes the procfs mount point as `root` so the unit tests can
 * point it at a fixture tree; production passes "/proc".  Nothing is ever
 * guessed: a figure that could not be read has its `valid` flag false and
 * its value 0, and callers must show it as unavailable.
 *
 * Files are read into fixed-size buffers and only lines that arrived whole
 * (ending in '\n') are trusted, so a huge, hostile or cut-short file makes a
 * figure unavailable instead of crashing or misreading it.
 */
#ifndef MEMTOP_PROCSTAT_H
#define MEMTOP_PROCSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROCSTAT_COMM_LEN 64

/* One process at one instant. */
struct proc_sample {
	bool valid;                     /* /proc/PID/stat was read */
	char state;                     /* 'R','S','Z',... */
	char comm[PROCSTAT_COMM_LEN];   /* raw bytes (may be hostile), NUL terminated */
	int ppid;
	uint64_t utime_ns, stime_ns;    /* from clock ticks via sysconf(_SC_CLK_TCK) */
	uint64_t starttime_ticks;       /* field 22, identifies the process across pid reuse */
	uint64_t minflt, majflt;
	uint64_t vsize_bytes;
	bool rss_valid;                 /* /proc/PID/statm resident * page size, else stat rss */
	uint64_t rss_bytes;
	int num_threads;
	bool io_valid;                  /* /proc/PID/io readable (often not, for other users / ptrace rules) */
	uint64_t io_read_bytes, io_write_bytes;   /* read_bytes/write_bytes: storage I/O */
	uint64_t io_syscr, io_syscw;
};

/* One thread of a process at one instant. */
struct thread_sample {
	bool valid;                     /* /proc/PID/task/TID/stat was read */
	int tid;
	char state;
	char name[PROCSTAT_COMM_LEN];   /* from .../task/TID/comm, trailing newline removed;
	                                 * raw bytes (may be hostile), NUL terminated */
	uint64_t utime_ns, stime_ns;
	uint64_t minflt, majflt;
	bool io_valid;
	uint64_t io_read_bytes, io_write_bytes, io_syscr, io_syscw;
};

/* The whole machine at one instant. */
struct sys_sample {
	bool load_valid;
	double load[3];
	bool mem_valid;
	uint64_t mem_total_bytes, mem_available_bytes;
	bool cpu_valid;                 /* aggregate "cpu " line of /proc/stat */
	uint64_t cpu_busy_ticks;        /* total - idle - iowait */
	uint64_t cpu_total_ticks;       /* user..steal; guest time is already in user/nice */
	int ncpus;                      /* online CPUs ("cpuN" lines of /proc/stat), or 0 if unknown */
};

/* 0 ok; -1 with errno: ENOENT no such process (or it exited while being
 * read), EBADMSG stat unparsable, EFBIG stat larger than any real one,
 * EINVAL bad arguments, or the open/read error.  On failure *out is
 * zeroed, so out->valid is false. */
int procstat_read_process(const char *root, int pid, struct proc_sample *out);

/* Same contract as procstat_read_process, for one thread of pid. */
int procstat_read_thread(const char *root, int pid, int tid, struct thread_sample *out);

/* tids of /proc/PID/task, sorted ascending; *out malloc'd (NULL when *n is
 * 0), caller frees.  0 ok; -1 with errno (ENOENT: no such process). */
int procstat_list_threads(const char *root, int pid, int **out, size_t *n);

/* Whether pid has the file at path (absolute, canonical) mapped: 1 yes,
 * 0 no, -1 with errno (ENOENT: no such process). */
int procstat_maps_file(const char *root, int pid, const char *path);

/* Fills what it can, each part with its own valid flag; 0 if anything was
 * read, -1 with errno if nothing was. */
int procstat_read_system(const char *root, struct sys_sample *out);

/* CPU time of the process over wall_secs as a percentage of one CPU (so up
 * to ncpus * 100, like top).  NAN when not computable: invalid samples,
 * wall_secs not positive, or cur is not the same process as prev (pid
 * reused) or its times went backwards. */
double procstat_cpu_percent(const struct proc_sample *prev, const struct proc_sample *cur, double wall_secs);

/* Busy share of all online CPUs between two samples, 0..100.  NAN when not
 * computable: invalid samples, no time elapsed, or counters went backwards
 * (a CPU went offline between the samples). */
double procstat_sys_cpu_percent(const struct sys_sample *prev, const struct sys_sample *cur);

#endif
