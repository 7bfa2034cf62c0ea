/*
 * attach.c - `memtop --attach PID`: checks, injection of the collector,
 * the watch loop, and the detach.
 *
 * A process that already carries the collector (preloaded, or started
 * under memtop) has a segment /dev/shm/memtop.PID: memtop only reads it, no
 * ptrace.  Otherwise memtop borrows one thread of the process at a safe
 * point (inject.h), calls dlopen there to load the collector and then the
 * collector's memtop_attach_start, which redirects the malloc family of
 * every module through their GOT (preload/gotpatch.h); the thread is put
 * back as it was.  Detaching (--duration, q in the viewer, SIGINT/SIGTERM/
 * SIGHUP/SIGQUIT) borrows a thread again to call memtop_attach_stop, which
 * puts the GOT back.  The library stays loaded (it is linked -z nodelete): a later
 * attach finds it mapped and only calls memtop_attach_start again.
 *
 * The process is not memtop's child: when it ends, its exit status goes to
 * its parent, so memtop reports that it ended and no status.
 */
#include "config.h"

#define _GNU_SOURCE 1
#include <dirent.h>
#include <stddef.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "format.h"
#include "html.h"
#include "inject.h"
#include "launcher.h"
#include "procstat.h"
#include "session.h"
#include "shmreader.h"
#include "tracedir.h"
#define SAFE_POINT_S     1.0    /* how long to look for a thread at a safe point */
#define BUSY_RETRY_S     1.0    /* how long to retry a collector call that is busy */
#define SEGMENT_CREATION_WAIT_S 1.0 /* how long a segment may stay without its header */
#define CAP_SYS_PTRACE_BIT 19
#ifndef RTLD_NOW
#define RTLD_NOW 2
#endif
#define RTLD_DLOPEN_FLAG 0x80000000u  /* __RTLD_DLOPEN, for __libc_dlopen_mode */

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t stop_count;

static void on_signal(int sig)
{
	stop_signal = sig;
	stop_count++;
}

/* ---------------------------------------------------------------- the target */

struct target {
	int pid;
	int tgid;                    /* differs from pid when pid names a thread */
	int proc_id;                 /* a live thread, for /proc: pid unless the
				      * main thread has exited */
	char state;
	unsigned uid, euid;
	int tracer;
	uint64_t starttime;
	char comm[64];
	char cmdline[4096];
	char *argv[65];
};

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t have = 0;
	for (;;) {
		ssize_t n = read(fd, buf + have, len - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		if (have == len - 1)
			break;
	}
	close(fd);
	buf[have] = '\0';
	return (int)have;
}

static const char *status_field(const char *status, const char *key)
{
	const char *p = strstr(status, key);
	return p ? p + strlen(key) : NULL;
}

static int list_threads(int pid, int *tids, int max);

/* 0, or -1 with errno ESRCH when there is no such process. */
static int target_read(int pid, struct target *t)
{
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	char path[64], status[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_file(path, status, sizeof(status)) < 0) {
		errno = ESRCH;
		return -1;
	}
	const char *v;
	t->tgid = pid;
	if ((v = status_field(status, "\nTgid:\t")))
		t->tgid = atoi(v);
	if ((v = status_field(status, "\nState:\t")))
		t->state = *v;
	if ((v = status_field(status, "\nUid:\t")))
		sscanf(v, "%u %u", &t->uid, &t->euid);
	if ((v = status_field(status, "\nTracerPid:\t")))
		t->tracer = atoi(v);
	struct proc_sample ps;
	if (procstat_read_process("/proc", pid, &ps) == 0 && ps.valid) {
		t->starttime = ps.starttime_ticks;
		snprintf(t->comm, sizeof(t->comm), "%s", ps.comm);
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	int n = read_file(path, t->cmdline, sizeof(t->cmdline));
	size_t argc = 0;
	for (int i = 0; n > 0 && i < n && argc < 64; i += (int)strlen(t->cmdline + i) + 1)
		t->argv[argc++] = t->cmdline + i;
	/* A program that rewrote its argv (setproctitle, as redis does) pads
	 * the old area with NULs: those are not empty arguments, and its
	 * title is words separated by spaces, as ps shows it. */
	bool padded = false;
	while (argc > 1 && t->argv[argc - 1][0] == '\0') {
		argc--;
		padded = true;
	}
	if (padded && argc == 1) {
		for (char *p = t->cmdline; *p && argc < 64; p++) {
			if (*p != ' ')
				continue;
			*p = '\0';
			if (p[1] && p[1] != ' ')
				t->argv[argc++] = p + 1;
		}
	}
	if (argc == 0 || (argc == 1 && !t->argv[0][0]))
		argc = 0, t->argv[argc++] = t->comm;
	t->argv[argc] = NULL;
	int tids[1];
	t->proc_id = list_threads(pid, tids, 1) > 0 ? tids[0] : pid;
	return 0;
}

static bool other_threads_live(int pid);

static bool alive(int pid, uint64_t starttime)
{
	struct proc_sample ps;
	if (procstat_read_process("/proc", pid, &ps) != 0 || !ps.valid)
		return false;
	if (starttime && ps.starttime_ticks != starttime)
		return false;
	return ps.state == 'Z' ? other_threads_live(pid) : ps.state != 'X';
}

static bool have_cap_sys_ptrace(void)
{
	char status[4096];
	if (read_file("/proc/self/status", status, sizeof(status)) < 0)
		return false;
	const char *v = status_field(status, "\nCapEff:\t");
	return v && (strtoull(v, NULL, 16) >> CAP_SYS_PTRACE_BIT) & 1;
}

static int yama_scope(void)
{
	char buf[16];
	if (read_file("/proc/sys/kernel/yama/ptrace_scope", buf, sizeof(buf)) <= 0)
		return -1;
	return atoi(buf);
}

static const char *user_name(unsigned uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);
	snprintf(buf, len, "%s (uid %u)", pw ? pw->pw_name : "?", uid);
	return buf;
}

static bool same_file(const char *a, const char *b)
{
	struct stat x, y;
	return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

static bool same_ns(int pid, const char *ns)
{
	char a[64], b[64];
	snprintf(a, sizeof(a), "/proc/self/ns/%s", ns);
	snprintf(b, sizeof(b), "/proc/%d/ns/%s", pid, ns);
	struct stat x, y;
	/* unreadable: no way to tell, the later steps will say what fails */
	if (stat(a, &x) != 0 || stat(b, &y) != 0)
		return true;
	return x.st_ino == y.st_ino && x.st_dev == y.st_dev;
}

/* Whether pid runs memtop (this very program, or one named so). */
static bool is_memtop(int pid)
{
	char path[64], comm[64] = "";
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (same_file(path, "/proc/self/exe"))
		return true;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	return read_file(path, comm, sizeof(comm)) > 0 && strncmp(comm, "memtop", 6) == 0;
}

/* The tracer of thread tid of pid now (t->tracer was read before). */
static int tracer_now(int pid, int tid)
{
	char path[96], status[4096];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	if (read_file(path, status, sizeof(status)) < 0)
		return 0;
	const char *v = status_field(status, "\nTracerPid:\t");
	return v ? atoi(v) : 0;
}

static void another_memtop(const struct target *t, int other, char *msg, size_t len)
{
	if (other > 0)
		snprintf(msg, len, "another memtop (pid %d) is attaching to or watching pid %d: "
			 "one at a time; stop it first", other, t->pid);
	else
		snprintf(msg, len, "another memtop is attaching to or watching pid %d: one at a "
			 "time; stop it first", t->pid);
}

/* Why ptrace was refused, as one line. */
static void explain_ptrace_refusal(const struct target *t, int e, char *msg, size_t len)
{
	int scope = yama_scope();
	bool cap = have_cap_sys_ptrace();
	if (t->tracer > 0 && is_memtop(t->tracer))
		another_memtop(t, t->tracer, msg, len);
	else if (t->tracer > 0)
		snprintf(msg, len, "the process is already traced by pid %d (a debugger or strace): "
			 "detach it first", t->tracer);
	else if (scope == 3)
		snprintf(msg, len, "ptrace is disabled on this system (kernel.yama.ptrace_scope is 3, "
			 "until the next reboot)");
	else if (scope == 2 && !cap)
		snprintf(msg, len, "ptrace refused: kernel.yama.ptrace_scope is 2 (only processes with "
			 "CAP_SYS_PTRACE may trace): run memtop as root");
	else if (scope == 1 && !cap)
		snprintf(msg, len, "ptrace refused: kernel.yama.ptrace_scope is 1 (a process may only "
			 "trace its own descendants): run memtop as root, or "
			 "sysctl kernel.yama.ptrace_scope=0");
	else if (!cap && t->euid != (unsigned)geteuid())
		snprintf(msg, len, "the process belongs to another user and memtop has no "
			 "CAP_SYS_PTRACE: run memtop as that user or as root");
	else if (!cap)
		snprintf(msg, len, "ptrace refused (%s): the process is not dumpable (setuid, or "
			 "prctl PR_SET_DUMPABLE 0), which only CAP_SYS_PTRACE overrides", strerror(e));
	else
		snprintf(msg, len, "ptrace refused (%s) although memtop has CAP_SYS_PTRACE "
			 "(a security module such as SELinux or AppArmor?)", strerror(e));
}

/* ---------------------------------------------------------------- injection */

struct injector {
	int pid;
	const char *collector;       /* its path, as the target sees it */
	struct proc_maps maps;
	struct module libc, ld, coll;
	bool have_coll;
	struct elf_syms libc_syms, coll_syms;
	uintptr_t start_fn, stop_fn;
	struct remote_helpers helpers;  /* what makes calls survive memtop's death */
};

static void injector_free(struct injector *in)
{
	maps_free(&in->maps);
	elf_syms_free(&in->libc_syms);
	elf_syms_free(&in->coll_syms);
}

/* Find the collector among the target's modules (loaded by an earlier
 * attach, or preloaded) and its entry points. */
static int find_collector(struct injector *in, char *err, size_t errlen)
{
	elf_syms_free(&in->coll_syms);
	in->have_coll = module_find(&in->maps, "libmemtop.so", NULL, &in->coll);
	if (!in->have_coll)
		return 0;
	if (elf_syms_load(in->pid, &in->coll, &in->coll_syms, err, errlen) != 0)
		return -1;
	in->start_fn = elf_sym_addr(&in->coll_syms, &in->coll, MT_ATTACH_START_SYM, NULL);
	in->stop_fn = elf_sym_addr(&in->coll_syms, &in->coll, MT_ATTACH_STOP_SYM, NULL);
	if (!in->start_fn || !in->stop_fn) {
		snprintf(err, errlen, "the collector loaded in pid %d (%s) comes from another version "
			 "of memtop: it has no %s", in->pid, in->coll.first->path, MT_ATTACH_START_SYM);
		return -1;
	}
	return 0;
}

static int injector_load(struct injector *in, int pid, const char *collector, char *err,
			 size_t errlen)
{
	memset(in, 0, sizeof(*in));
	in->pid = pid;
	in->collector = collector;
	if (maps_read(pid, &in->maps) != 0) {
		snprintf(err, errlen, "cannot read /proc/%d/maps: %s", pid, strerror(errno));
		return -1;
	}
	bool has_ld = module_find(&in->maps, "ld-linux-x86-64.so", NULL, &in->ld);
	if (!module_find(&in->maps, "libc.so.6", NULL, &in->libc)) {
		snprintf(err, errlen, has_ld
			 ? "the process does not use the GNU C library (no libc.so.6 loaded): "
			   "memtop's collector needs glibc"
			 : "the process is statically linked (no libc.so or ld.so in its memory): "
			   "the collector cannot be loaded into it");
		return -1;
	}
	if (elf_syms_load(pid, &in->libc, &in->libc_syms, err, errlen) != 0)
		return -1;
	if (remote_helpers_find(pid, in->libc.text_lo, in->libc.text_hi, &in->helpers, err,
				errlen) != 0)
		return -1;
	return find_collector(in, err, errlen);
}

static void add_function(struct unsafe_ranges *u, const struct injector *in, const char *name)
{
	uint64_t size = 0;
	uintptr_t a = elf_sym_addr(&in->libc_syms, &in->libc, name, &size);
	if (a)
		unsafe_add(u, a, a + (size ? size : 1));
}

static bool in_list(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(name, *list) == 0)
			return true;
	return false;
}

/* libc's malloc.c: the exported functions of the family, and the internal
 * ones (_int_malloc, sysmalloc...) that lie between them and the nearest
 * exported functions of other files.  libc's static symbols are not
 * shipped, so this is the closest reliable bound. */
static void add_malloc_region(struct unsafe_ranges *u, const struct injector *in)
{
	static const char *const family[] = {
		"malloc", "free", "calloc", "realloc", "memalign", "posix_memalign",
		"aligned_alloc", "valloc", "pvalloc", "malloc_usable_size", "malloc_trim",
		"mallinfo", "mallinfo2", "malloc_stats", "mallopt", "malloc_info", "__libc_malloc",
		"__libc_free", "__libc_calloc", "__libc_realloc", "__libc_memalign",
		"__libc_valloc", "__libc_pvalloc", "__libc_mallinfo", "__libc_mallopt",
		"__default_morecore", NULL
	};
	const struct elf_syms *s = &in->libc_syms;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (!in_list(s->s[i].name, family))
			continue;
		if (s->s[i].value < lo)
			lo = s->s[i].value;
		if (s->s[i].value + s->s[i].size > hi)
			hi = s->s[i].value + s->s[i].size;
	}
	if (lo >= hi)
		return;
	uint64_t rlo = lo, rhi = hi;
	uint64_t before = 0, after = UINT64_MAX;
	for (size_t i = 0; i < s->n; i++) {
		const struct elf_sym *e = &s->s[i];
		if (in_list(e->name, family))
			continue;
		if (e->value < lo && e->value + e->size <= lo && e->value + e->size > before)
			before = e->value + e->size;
		if (e->value >= hi && e->value < after)
			after = e->value;
	}
	if (before && lo - before < (1u << 20))
		rlo = before;
	if (after != UINT64_MAX && after - hi < (1u << 20))
		rhi = after;
	uintptr_t base = in->libc.base - (uintptr_t)s->first_load_vaddr;
	unsafe_add(u, base + rlo, base + rhi);
}

/* Where a borrowed thread must not be: for a start (which calls dlopen and
 * takes the loader's and the allocator's locks), inside malloc, fork, the
 * loader or its libc entry points; for any call, inside the collector (its
 * GOT lock). */
static void unsafe_ranges_for(const struct injector *in, bool loads, struct unsafe_ranges *u)
{
	memset(u, 0, sizeof(*u));
	u->libc_lo = in->libc.text_lo;
	u->libc_hi = in->libc.text_hi;
	if (in->have_coll)
		unsafe_add(u, in->coll.text_lo, in->coll.text_hi);
	if (!loads)
		return;
	static const char *const functions[] = {
		"fork", "_Fork", "vfork", "__libc_fork", "pthread_create", "dl_iterate_phdr",
		"dlopen", "dlclose", "dlsym", "dlvsym", "dlmopen", "dladdr", "dladdr1", "dlinfo",
		"dlerror", "__libc_dlopen_mode", "__libc_dlsym", "__libc_dlvsym", "__libc_dlclose",
		"sbrk", "brk", "__sbrk", "exit", "_exit", "__libc_freeres", NULL
	};
	for (size_t i = 0; functions[i]; i++)
		add_function(u, in, functions[i]);
	add_malloc_region(u, in);
	for (size_t i = 0; i < in->maps.n; i++) {
		const struct map_entry *e = &in->maps.e[i];
		const char *b = strrchr(e->path, '/');
		if ((e->prot & PROT_EXEC) && b && strncmp(b + 1, "ld-linux", 8) == 0)
			unsafe_add(u, e->start, e->end);
	}
}

static char task_state(int pid, int tid)
{
	char path[96], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* The threads to try, the main thread first (its stack grows on demand),
 * without the exited main thread of a process whose other threads run. */
static int list_threads(int pid, int *tids, int max)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	int n = 0;
	if (task_state(pid, pid) != 'Z')
		tids[n++] = pid;
	DIR *d = opendir(path);
	if (!d)
		return n;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && n < max) {
		int tid = atoi(de->d_name);
		if (tid > 0 && tid != pid && task_state(pid, tid) != 'Z')
			tids[n++] = tid;
	}
	closedir(d);
	return n;
}

/* A zombie main thread with live threads is a running process. */
static bool other_threads_live(int pid)
{
	int tids[2];
	return list_threads(pid, tids, 2) > 0;
}

/* Borrow a thread at a safe point: 0, or -1 with a message (ptrace refused,
 * or no thread reached a safe point in time). */
static int borrow(const struct target *t, const struct injector *in, bool loads,
		  struct remote *r, char *err, size_t errlen)
{
	struct unsafe_ranges u;
	unsafe_ranges_for(in, loads, &u);
	double deadline = watch_now_s() + SAFE_POINT_S;
	char reason[160] = "";
	for (;;) {
		int tids[16];
		int n = list_threads(t->pid, tids, 16);
		for (int i = 0; i < n; i++) {
			if (remote_seize(r, t->pid, tids[i], err, errlen) != 0) {
				if (errno == ESRCH && tids[i] != t->pid)
					continue;  /* that thread just ended */
				if (errno == EPERM || errno == EACCES) {
					/* traced since t was read: by whom */
					struct target now = *t;
					int e = errno;
					if (now.tracer <= 0)
						now.tracer = tracer_now(t->pid, tids[i]);
					explain_ptrace_refusal(&now, e, err, errlen);
				}
				else if (errno == ESRCH)
					snprintf(err, errlen, "the process ended");
				return -1;
			}
			if (remote_safe_point(r, &u, &in->maps, reason, sizeof(reason))) {
				r->h = in->helpers;
				return 0;
			}
			remote_release_untouched(r);
		}
		if (watch_now_s() > deadline) {
			snprintf(err, errlen, "no thread of pid %d reached a safe point within %.0f s "
				 "(%s); try again", t->pid, SAFE_POINT_S, reason);
			return -1;
		}
		watch_sleep_s(0.002);
	}
}

/* Call a collector entry point, again while another thread holds its GOT
 * lock (it is running, so it lets go soon). */
static int call_collector(struct remote *r, uintptr_t fn, const uint64_t *args, int nargs,
			  int *result, char *err, size_t errlen)
{
	double until = watch_now_s() + BUSY_RETRY_S;
	for (;;) {
		uint64_t ret;
		if (remote_call(r, fn, args, nargs, &ret, err, errlen) != 0)
			return -1;
		*result = (int)(int32_t)ret;
		if (*result != MT_ATTACH_EBUSY || watch_now_s() > until)
			return 0;
		watch_sleep_s(0.001);
	}
}

static const char *start_error(int code)
{
	switch (code) {
	case MT_ATTACH_ENOSEGMENT:
		return "the collector could not create its shared-memory segment in /dev/shm "
		       "(full, or not writable by the process's user?)";
	case MT_ATTACH_EPRELOADED:
		return "the collector is preloaded in the process but has no segment";
	case MT_ATTACH_EBUSY:
		return "the collector stayed busy (another thread was rewriting the GOT)";
	case MT_ATTACH_EACTIVE:
		return "the collector is attached already";
	default:
		return "the collector could not read the modules' GOT";
	}
}

/* Load the collector if needed and start attach mode; restarts it (stop,
 * then start) when stop_first.  0, or -1 with a message. */
static int inject_start(const struct target *t, struct injector *in, const char *sampling,
			bool stop_first, char *err, size_t errlen)
{
	struct remote r;
	if (borrow(t, in, true, &r, err, errlen) != 0)
		return -1;
	int rc = -1, result = 0;
	uint64_t ret, a[2];
	uintptr_t errno_loc = elf_sym_addr(&in->libc_syms, &in->libc, "__errno_location", NULL);
	int32_t saved_errno = 0;
	bool errno_saved = false;
	/* dlopen may set the thread's errno; the interrupted code may be about
	 * to read it */
	if (errno_loc && remote_call(&r, errno_loc, NULL, 0, &ret, err, errlen) == 0 &&
	    remote_read(&r, (uintptr_t)ret, &saved_errno, sizeof(saved_errno)) == 0) {
		errno_loc = (uintptr_t)ret;
		errno_saved = true;
	}
	if (!in->have_coll) {
		uintptr_t dlopen_fn = elf_sym_addr(&in->libc_syms, &in->libc, "dlopen", NULL);
		uintptr_t dlerror_fn = elf_sym_addr(&in->libc_syms, &in->libc, "dlerror", NULL);
		uint64_t mode = RTLD_NOW;
		if (!dlopen_fn) {
			/* glibc before 2.34: dlopen is in libdl, libc has its own */
			dlopen_fn = elf_sym_addr(&in->libc_syms, &in->libc, "__libc_dlopen_mode", NULL);
			mode |= RTLD_DLOPEN_FLAG;
		}
		uintptr_t path;
		if (!dlopen_fn) {
			snprintf(err, errlen, "no dlopen in the process's libc");
			goto out;
		}
		if (remote_push(&r, in->collector, strlen(in->collector) + 1, &path) != 0) {
			snprintf(err, errlen, "cannot write to the stack of pid %d", r.tid);
			goto out;
		}
		a[0] = path;
		a[1] = mode;
		if (remote_call(&r, dlopen_fn, a, 2, &ret, err, errlen) != 0)
			goto out;
		if (ret == 0) {
			char why[400] = "unknown reason";
			uint64_t msg = 0;
			if (dlerror_fn && remote_call(&r, dlerror_fn, NULL, 0, &msg, err, errlen) == 0 &&
			    msg && remote_read(&r, (uintptr_t)msg, why, sizeof(why) - 1) == 0)
				why[sizeof(why) - 1] = '\0';
			snprintf(err, errlen, "the process could not load the collector: %s", why);
			goto out;
		}
		maps_free(&in->maps);
		if (maps_read(in->pid, &in->maps) != 0) {
			snprintf(err, errlen, "cannot read /proc/%d/maps", in->pid);
			goto out;
		}
		if (find_collector(in, err, errlen) != 0)
			goto out;
		if (!in->have_coll) {
			snprintf(err, errlen, "dlopen succeeded but the collector is not mapped");
			goto out;
		}
	}
	if (stop_first && call_collector(&r, in->stop_fn, NULL, 0, &result, err, errlen) != 0)
		goto out;
	uintptr_t spec = 0;
	if (sampling && remote_push(&r, sampling, strlen(sampling) + 1, &spec) != 0) {
		snprintf(err, errlen, "cannot write to the stack of pid %d", r.tid);
		goto out;
	}
	a[0] = spec;
	if (call_collector(&r, in->start_fn, a, 1, &result, err, errlen) != 0)
		goto out;
	if (result < 0)
		snprintf(err, errlen, "%s", start_error(result));
	else
		rc = 0;
out:
	if (errno_saved)
		remote_write(&r, errno_loc, &saved_errno, sizeof(saved_errno));
	char rel[256];
	if (remote_release(&r, rel, sizeof(rel)) != 0 && rc == 0) {
		snprintf(err, errlen, "%s", rel);
		rc = -1;
	}
	return rc;
}

/* Put the GOT back: 0, or -1 with a message. */
static int inject_stop(const struct target *t, const char *collector, char *err, size_t errlen)
{
	struct injector in;
	if (injector_load(&in, t->proc_id, collector, err, errlen) != 0) {
		injector_free(&in);
		return -1;
	}
	if (!in.have_coll) {
		injector_free(&in);
		snprintf(err, errlen, "the collector is not loaded any more (the process executed "
			 "another program?)");
		return -1;
	}
	struct remote r;
	int rc = -1, result = 0;
	if (borrow(t, &in, false, &r, err, errlen) == 0) {
		if (call_collector(&r, in.stop_fn, NULL, 0, &result, err, errlen) == 0) {
			if (result < 0)
				snprintf(err, errlen, "%s", start_error(result));
			else
				rc = 0;
		}
		char rel[256];
		if (remote_release(&r, rel, sizeof(rel)) != 0 && rc == 0) {
			snprintf(err, errlen, "%s", rel);
			rc = -1;
		}
	}
	injector_free(&in);
	return rc;
}

/* ---------------------------------------------------------------- checks */

static int refuse(int pid, const char *msg)
{
	format_warn("--attach %d: %s", pid, msg);
	return -1;
}

/* What every attach needs: a live process memtop may look at. */
static int check_target(const struct target *t)
{
	char msg[512], a[96], b[96];
	if (t->pid == getpid())
		return refuse(t->pid, "that is memtop itself");
	if (t->tgid != t->pid) {
		snprintf(msg, sizeof(msg), "that is a thread of process %d: attach to the process "
			 "(--attach %d)", t->tgid, t->tgid);
		return refuse(t->pid, msg);
	}
	if ((t->state == 'Z' && !other_threads_live(t->pid)) || t->state == 'X')
		return refuse(t->pid, "the process has already exited (a zombie its parent has not "
			      "collected): there is nothing to watch");
	if (t->euid != (unsigned)geteuid() && !have_cap_sys_ptrace()) {
		snprintf(msg, sizeof(msg), "the process belongs to %s and memtop runs as %s without "
			 "CAP_SYS_PTRACE: run memtop as that user or as root",
			 user_name(t->euid, a, sizeof(a)), user_name((unsigned)geteuid(), b, sizeof(b)));
		return refuse(t->pid, msg);
	}
	return 0;
}

/* One memtop at a time injects into a process: each holds, for as long
 * as it runs, an abstract unix socket named after the process (pid and
 * start time), which the kernel releases however memtop ends.  A second
 * memtop finds the name taken and the holder's pid (SO_PEERCRED).  0, or
 * -1 with the message. */
static int attach_claim(const struct target *t, char *msg, size_t len)
{
	static int claim_fd = -1;
	if (claim_fd >= 0)
		return 0;
	struct sockaddr_un a;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	int n = snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "memtop-attach-%d-%llu", t->pid,
			 (unsigned long long)t->starttime);
	socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;  /* no way to tell: ptrace will refuse a second tracer */
	if (bind(fd, (struct sockaddr *)&a, alen) == 0 && listen(fd, 8) == 0) {
		claim_fd = fd;
		return 0;
	}
	int e = errno;
	close(fd);
	if (e != EADDRINUSE)
		return 0;
	int holder = 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, alen) == 0) {
		struct ucred c;
		socklen_t cl = sizeof(c);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &cl) == 0)
			holder = c.pid;
	}
	if (fd >= 0)
		close(fd);
	another_memtop(t, holder, msg, len);
	return -1;
}

/* What loading the collector needs besides. */
static int check_injectable(const struct target *t, const char *collector)
{
	char msg[768], path[4200];
	if (attach_claim(t, msg, sizeof(msg)) != 0)
		return refuse(t->pid, msg);
	if (t->tracer > 0) {
		explain_ptrace_refusal(t, EPERM, msg, sizeof(msg));
		return refuse(t->pid, msg);
	}
	int scope = yama_scope();
	if (scope == 3 || (scope == 2 && !have_cap_sys_ptrace())) {
		explain_ptrace_refusal(t, EPERM, msg, sizeof(msg));
		return refuse(t->pid, msg);
	}
	if (t->state == 'T' || t->state == 't')
		return refuse(t->pid, "the process is stopped (SIGSTOP or job control): continue it "
			      "first (kill -CONT)");
	snprintf(path, sizeof(path), "/proc/%d/exe", t->proc_id);
	uint16_t machine;
	bool elf64;
	if (elf_machine(path, &machine, &elf64) != 0) {
		snprintf(msg, sizeof(msg), "cannot read its program (%.300s): %s", path,
			 strerror(errno));
		return refuse(t->pid, msg);
	}
	if (machine != EM_X86_64 || !elf64) {
		snprintf(msg, sizeof(msg), "the process runs a %s program; memtop attaches to "
			 "x86-64 programs only",
			 machine == EM_386 ? "32-bit x86" : machine == EM_AARCH64 ? "arm64" :
			 machine == EM_X86_64 ? "32-bit (x32)" : "non-x86-64");
		return refuse(t->pid, msg);
	}
	if (!same_ns(t->proc_id, "pid"))
		return refuse(t->pid, "the process is in another PID namespace (a container?): "
			      "run memtop inside it");
	snprintf(path, sizeof(path), "/proc/%d/root%s", t->proc_id, collector);
	if (!same_file(collector, path)) {
		snprintf(msg, sizeof(msg), "the process cannot see the collector %.300s: it runs in "
			 "another mount namespace or root directory (a container?) where that path "
			 "is not this file; bind-mount it there at the same path, or run memtop "
			 "inside", collector);
		return refuse(t->pid, msg);
	}
	snprintf(path, sizeof(path), "/proc/%d/root/dev/shm", t->proc_id);
	if (!same_file("/dev/shm", path))
		return refuse(t->pid, "the process has another /dev/shm (a container?), where memtop "
			      "could not read its figures: run memtop inside it");
	return 0;
}

/* ---------------------------------------------------------------- watching */

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static void catch_stop_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++) {
		struct sigaction old;
		/* a signal memtop was started with ignored (nohup) stays so */
		if (sigaction(stop_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(stop_signals[i], &sa, NULL);
	}
}

/* While memtop has a thread of the process borrowed, a stop signal waits:
 * the attach or detach then completes instead of being left half done
 * (the thread itself would come back unharmed either way, see inject.h). */
static void block_stop_signals(bool block, sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaddset(&set, stop_signals[i]);
	sigprocmask(block ? SIG_BLOCK : SIG_SETMASK, block ? &set : old, block ? old : NULL);
}

static int open_pidfd(int pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	return -1;
#endif
}

enum attach_kind { ATTACH_READ_ONLY, ATTACH_INJECT, ATTACH_RESTART };

/* Inspect an existing segment: what attaching means for it. */
static int classify_segment(const struct target *t, enum attach_kind *kind)
{
	struct shm_segment seg;
	char err[512], msg[640];
	/* Being created: the collector is starting up and fills the header
	 * within microseconds.  One that stays empty is not a collector's, and
	 * watching it would show nothing for as long as memtop runs. */
	double give_up = watch_now_s() + SEGMENT_CREATION_WAIT_S;
	int r;
	while ((r = shm_segment_open_owned(&seg, t->pid, t->euid, err, sizeof(err))) != 0 &&
	       errno == EAGAIN && watch_now_s() < give_up)
		watch_sleep_s(0.01);
	if (r != 0) {
		if (errno == ENOENT) {
			*kind = ATTACH_INJECT;
			return 0;
		}
		if (errno == EAGAIN)
			snprintf(msg, sizeof(msg), "its segment is unusable: /dev/shm" MT_SHM_NAME_FMT
				 " still has no memtop header after %.0f s: not a collector's",
				 t->pid, SEGMENT_CREATION_WAIT_S);
		else
			snprintf(msg, sizeof(msg), "its segment is unusable: %s", err);
		return refuse(t->pid, msg);
	}
	const struct mt_shm_header *h = seg.hdr;
	uint32_t flags = __atomic_load_n(&h->flags, __ATOMIC_ACQUIRE);
	int reader = __atomic_load_n(&h->reader_pid, __ATOMIC_RELAXED);
	bool stale = h->proc_starttime && t->starttime && h->proc_starttime != t->starttime;
	if (stale) {
		/* a dead process's, with the same pid */
		shm_segment_unlink(&seg);
		*kind = ATTACH_INJECT;
	} else if (!(flags & MT_FLAG_ATTACHED)) {
		/* preloaded, or loaded by a memtop that died before starting it */
		*kind = flags & MT_FLAG_LOADED_LATE ? ATTACH_INJECT : ATTACH_READ_ONLY;
	} else if (flags & MT_FLAG_DETACHED) {
		*kind = ATTACH_INJECT;
	} else {
		char comm[64] = "", path[64];
		snprintf(path, sizeof(path), "/proc/%d/comm", reader);
		if (reader > 0 && reader != getpid() && read_file(path, comm, sizeof(comm)) > 0 &&
		    strncmp(comm, "memtop", 6) == 0) {
			shm_segment_close(&seg);
			another_memtop(t, reader, msg, sizeof(msg));
			return refuse(t->pid, msg);
		}
		*kind = ATTACH_RESTART;  /* the memtop that attached is gone */
	}
	shm_segment_close(&seg);
	return 0;
}


/* ---------------------------------------------------------------- the target */

struct attached {
	struct watch_target base;
	struct target t;
	int pidfd;
	bool injected;               /* memtop loaded or started the collector: detach */
	char collector[4096];
};

/* Sleep up to `seconds`; true if the process ended meanwhile.  A stop
 * signal ends the wait early. */
static bool attached_wait(struct watch_target *base, double seconds)
{
	struct attached *self = (struct attached *)base;
	double until = watch_now_s() + (seconds > 0 ? seconds : 0);
	for (;;) {
		double left = until - watch_now_s();
		if (self->pidfd >= 0) {
			struct pollfd p = { .fd = self->pidfd, .events = POLLIN };
			int ms = left > 0 ? (int)ceil(left * 1000) : 0;
			int r = poll(&p, 1, ms);
			if (r > 0)
				return true;
			if (r == 0)
				return false;
			if (errno != EINTR)
				return !alive(self->t.pid, self->t.starttime);
		} else {
			if (!alive(self->t.pid, self->t.starttime))
				return true;
			if (left <= 0)
				return false;
			watch_sleep_s(left < 0.05 ? left : 0.05);
		}
		if (stop_signal)
			return false;
	}
}

static int attached_end_status(struct watch_target *base, char *desc, size_t len)
{
	(void)base;
	snprintf(desc, len, "ended (its exit status goes to its parent)");
	return -1;
}

static unsigned attached_signals(struct watch_target *base)
{
	(void)base;
	return (unsigned)stop_count;
}

static int attached_leave(struct watch_target *base, char *err, size_t len)
{
	struct attached *self = (struct attached *)base;
	if (!self->injected)
		return 1;
	sigset_t old;
	block_stop_signals(true, &old);
	int r = inject_stop(&self->t, self->collector, err, len);
	block_stop_signals(false, &old);
	return r;
}

/* Gone: its segment is stale, unless a memtop that started it still runs
 * (that one removes it). */
static bool attached_may_release(struct watch_target *base, const struct session *s)
{
	(void)base;
	int launcher = session_launcher_pid(s);
	return launcher <= 0 || !alive(launcher, 0);
}

static const struct watch_target_ops attached_ops = {
	.wait = attached_wait,
	.end_status = attached_end_status,
	.signals = attached_signals,
	.leave = attached_leave,
	.may_release = attached_may_release,
};

void attach_target_free(struct watch_target *base)
{
	struct attached *self = (struct attached *)base;
	if (!self)
		return;
	if (self->pidfd >= 0)
		close(self->pidfd);
	free(self);
}

struct watch_target *attach_target_new(const struct options *opts,
				       int (*preflight)(char *err, size_t errlen))
{
	int pid = opts->attach_pid;
	struct attached *self = calloc(1, sizeof(*self));
	if (!self) {
		format_warn("out of memory");
		return NULL;
	}
	self->pidfd = -1;
	struct target *t = &self->t;
	char *collector = self->collector, err[768];
	if (target_read(pid, t) != 0) {
		format_warn("--attach %d: no such process", pid);
		goto fail;
	}
	if (check_target(t) != 0)
		goto fail;
	/* known before attaching, not after an hour of watching */
	if (opts->export_path && html_export_check(opts->export_path, err, sizeof(err)) != 0) {
		format_warn("%s", err);
		goto fail;
	}
	if (preflight && preflight(err, sizeof(err)) != 0) {
		format_warn("%s", err);
		goto fail;
	}
	if (launcher_find_collector(collector, sizeof(self->collector), err, sizeof(err)) != 0) {
		format_warn("%s", err);
		goto fail;
	}
	shm_cleanup_stale("/dev/shm", "/proc", 0);
	enum attach_kind kind;
	if (classify_segment(t, &kind) != 0)
		goto fail;
	if (kind != ATTACH_READ_ONLY && check_injectable(t, collector) != 0)
		goto fail;
	if (opts->trace_dir && kind == ATTACH_READ_ONLY) {
		/* such a collector learns of a trace from its environment */
		format_warn("--attach %d: the process carries a collector it started "
			"with; --trace needs one that memtop --attach loads (start the program "
			"as memtop --trace DIR -- COMMAND instead)", pid);
		goto fail;
	}
	char trace_abs[4096] = "";
	if (opts->trace_dir) {
		if (tracedir_begin(opts, err, sizeof(err)) != 0) {
			format_warn("%s", err);
			goto fail;
		}
		/* the target resolves the path from its own working directory */
		if (!realpath(opts->trace_dir, trace_abs)) {
			format_warn("%s: %s", opts->trace_dir, strerror(errno));
			goto fail;
		}
	}

	stop_signal = 0;
	catch_stop_signals();
	self->pidfd = open_pidfd(pid);
	if (kind != ATTACH_READ_ONLY) {
		char sampling[160], with_trace[4400];
		const char *spec = options_sampling_env(opts, sampling, sizeof(sampling)) == 0
			? sampling : NULL;
		if (spec && trace_abs[0]) {
			snprintf(with_trace, sizeof(with_trace), "%s\n%s", spec, trace_abs);
			spec = with_trace;
		}
		struct injector in;
		sigset_t old;
		block_stop_signals(true, &old);
		int r = injector_load(&in, t->proc_id, collector, err, sizeof(err));
		if (r == 0)
			r = inject_start(t, &in, spec, kind == ATTACH_RESTART, err, sizeof(err));
		injector_free(&in);
		block_stop_signals(false, &old);
		if (r != 0) {
			refuse(pid, err);
			goto fail;
		}
		self->injected = true;
	}
	self->base.ops = &attached_ops;
	self->base.pid = pid;
	self->base.argv = t->argv;
	self->base.launched = false;
	self->base.collector_path = NULL;
	self->base.seg_owner = (int)t->euid;
	return &self->base;
fail:
	/* nothing was traced: no directory left behind */
	tracedir_close();
	attach_target_free(&self->base);
	return NULL;
}
