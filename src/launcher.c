/*
 * launcher.c - find the collector, start the watched command with it
 * preloaded, forward signals to it, and reap it.
 *
 * The child is only reaped after its end has been observed with WNOWAIT and
 * recorded in `ended`: until the reap its pid cannot be reused, so the signal
 * handler, which checks `ended` before kill(), never hits an unrelated
 * process that inherited the pid.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launcher.h"

#ifndef MEMTOP_LIBDIR
#error "MEMTOP_LIBDIR must name the install libdir (-DMEMTOP_LIBDIR=\"...\")"
#endif

#define COLLECTOR_NAME "libmemtop.so"
#define PRELOAD_VAR "LD_PRELOAD"
#define SESSION_VAR "MEMTOP_SESSION"

/* wait_status of a child someone else reaped: neither WIFEXITED nor
 * WIFSIGNALED holds for it. */
#define STATUS_LOST (-1)

extern char **environ;

static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static struct launcher *volatile forward_to;
static unsigned signals_received;
/* Forwarded signals memtop was started with ignored.  Written before any
 * fork, read by the child between fork and exec.  A zero-filled sigset_t is
 * the empty set in glibc, so no initialisation is needed. */
static sigset_t kept_ignored;

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static bool readable_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

/* Canonicalise path into out if it names a readable file. */
static bool try_candidate(const char *path, char *out, size_t len)
{
	char resolved[PATH_MAX];
	if (!realpath(path, resolved) || !readable_file(resolved))
		return false;
	if (strlen(resolved) >= len)
		return false;
	strcpy(out, resolved);
	return true;
}

int launcher_find_collector(char *out, size_t len, char *err, size_t errlen)
{
	const char *env = getenv("MEMTOP_PRELOAD");
	if (env && *env) {
		/* An explicit choice is never silently replaced by another
		 * collector: that would hide a typo or a stale build. */
		if (try_candidate(env, out, len))
			return 0;
		return fail(err, errlen, "MEMTOP_PRELOAD=%s is not a readable file: "
			    "point it at %s or unset it", env, COLLECTOR_NAME);
	}

	char exe[PATH_MAX], build_cand[PATH_MAX + 64];
	build_cand[0] = '\0';
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(build_cand, sizeof build_cand,
				 "%s/../preload/.libs/" COLLECTOR_NAME, exe);
			if (try_candidate(build_cand, out, len))
				return 0;
		}
	}

	const char *installed = MEMTOP_LIBDIR "/" COLLECTOR_NAME;
	if (try_candidate(installed, out, len))
		return 0;
	if (build_cand[0])
		return fail(err, errlen, "cannot find the collector: neither %s nor %s is readable; "
			    "install memtop (make install) or set MEMTOP_PRELOAD to its path",
			    build_cand, installed);
	return fail(err, errlen, "cannot find the collector: %s is not readable; "
		    "install memtop (make install) or set MEMTOP_PRELOAD to its path", installed);
}

int launcher_compose_preload(char *out, size_t len, const char *collector,
			     const char *existing)
{
	/* ld.so splits LD_PRELOAD at ':' and ' ', and such a path cannot be
	 * quoted in it. */
	if (!out || !len || !collector || !*collector || strpbrk(collector, ": "))
		return -1;
	int w;
	if (existing && *existing)
		w = snprintf(out, len, "%s:%s", collector, existing);
	else
		w = snprintf(out, len, "%s", collector);
	if (w < 0 || (size_t)w >= len)
		return -1;
	return 0;
}

static bool has_name(const char *entry, const char *name)
{
	size_t n = strlen(name);
	return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

/* memtop's environment with our two variables replaced.  The strings are
 * built before fork because the child, forked from a possibly threaded
 * process, may only call async-signal-safe functions. */
static char **build_env(char *preload_entry, char *session_entry)
{
	size_t n = 0;
	for (char **e = environ; e && *e; e++)
		n++;
	char **env = malloc((n + 3) * sizeof *env);
	if (!env)
		return NULL;
	size_t k = 0;
	for (char **e = environ; e && *e; e++)
		if (!has_name(*e, PRELOAD_VAR) && !has_name(*e, SESSION_VAR))
			env[k++] = *e;
	env[k++] = preload_entry;
	env[k++] = session_entry;
	env[k] = NULL;
	return env;
}

static void child_exec(char **argv, char **envp, int report_fd,
		       const struct launcher *self) __attribute__((noreturn));

static void report_and_exit(int report_fd, int e) __attribute__((noreturn));

static void report_and_exit(int report_fd, int e)
{
	ssize_t w = write(report_fd, &e, sizeof e);
	(void)w;
	_exit(127);
}

static void child_exec(char **argv, char **envp, int report_fd,
		       const struct launcher *self)
{
	/* dup2 clears close-on-exec on the copies, so the command gets them. */
	if (self->redirect &&
	    (dup2(self->stdin_fd, STDIN_FILENO) < 0 || dup2(self->output_fd, STDOUT_FILENO) < 0 ||
	     dup2(self->output_fd, STDERR_FILENO) < 0))
		report_and_exit(report_fd, errno);

	/* exec resets handlers but keeps SIG_IGN and the mask; the command
	 * must not inherit what memtop set up for itself (SIGPIPE ignored,
	 * all signals blocked around fork).  Signals memtop was started with
	 * ignored stay ignored, as a shell would do for nohup. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP || sigismember(&kept_ignored, sig) == 1)
			continue;
		sigaction(sig, &dfl, NULL);
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	execvpe(argv[0], argv, envp);
	report_and_exit(report_fd, errno);
}

static void drop_pidfd(struct launcher *self)
{
	if (self->has_pidfd) {
		close(self->pidfd);
		self->has_pidfd = false;
	}
}

static void reap(struct launcher *self)
{
	int st, r;
	do
		r = waitpid(self->pid, &st, 0);
	while (r < 0 && errno == EINTR);
	self->wait_status = r == self->pid ? st : STATUS_LOST;
	drop_pidfd(self);
}

static void mark_ended(struct launcher *self)
{
	__atomic_store_n(&self->ended, true, __ATOMIC_SEQ_CST);
}

static int exec_failure(struct launcher *self, const char *cmd, int e,
			int *exit_code, char *err, size_t errlen)
{
	mark_ended(self);
	reap(self);
	if (e == ENOENT) {
		*exit_code = 127;
		return fail(err, errlen, "%s: command not found", cmd);
	}
	/* execve says EACCES for a directory; say what the user can fix. */
	struct stat st;
	if (e == EACCES && strchr(cmd, '/') && stat(cmd, &st) == 0 && S_ISDIR(st.st_mode))
		e = EISDIR;
	*exit_code = 126;
	return fail(err, errlen, "%s: cannot execute: %s", cmd, strerror(e));
}

int launcher_spawn(struct launcher *self, char **argv, const char *collector,
		   int *exit_code, char *err, size_t errlen)
{
	int scratch;
	if (!exit_code)
		exit_code = &scratch;
	*exit_code = 1;
	self->pid = 0;
	self->ended = false;
	self->wait_status = 0;
	self->has_pidfd = false;
	if (!argv || !argv[0] || !*argv[0])
		return fail(err, errlen, "no command to run");

	const char *existing = getenv(PRELOAD_VAR);
	size_t plen = sizeof PRELOAD_VAR + strlen(collector ? collector : "") + 1 +
		      strlen(existing ? existing : "") + 1;
	char *preload = malloc(plen);
	char session[sizeof SESSION_VAR + 24];
	if (!preload)
		return fail(err, errlen, "cannot start %s: out of memory", argv[0]);
	memcpy(preload, PRELOAD_VAR "=", sizeof PRELOAD_VAR);
	if (launcher_compose_preload(preload + sizeof PRELOAD_VAR, plen - sizeof PRELOAD_VAR,
				     collector, existing) < 0) {
		free(preload);
		return fail(err, errlen, "the collector path '%s' cannot go in LD_PRELOAD "
			    "(it holds ':' or ' '): install or copy it to a path without them",
			    collector ? collector : "");
	}
	snprintf(session, sizeof session, SESSION_VAR "=%ld", (long)getpid());
	char **envp = build_env(preload, session);
	if (!envp) {
		free(preload);
		return fail(err, errlen, "cannot start %s: out of memory", argv[0]);
	}

	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		int e = errno;
		free(envp);
		free(preload);
		return fail(err, errlen, "cannot start %s: pipe: %s", argv[0], strerror(e));
	}

	/* A parent that ignored SIGCHLD passes that on through exec, and
	 * then the kernel reaps our child and its status is lost. */
	struct sigaction chld;
	if (sigaction(SIGCHLD, NULL, &chld) == 0 &&
	    (chld.sa_handler == SIG_IGN || (chld.sa_flags & SA_NOCLDWAIT))) {
		memset(&chld, 0, sizeof chld);
		chld.sa_handler = SIG_DFL;
		sigemptyset(&chld.sa_mask);
		sigaction(SIGCHLD, &chld, NULL);
	}

	/* With every signal blocked, none can run memtop's handlers in the
	 * child before it resets them, and the pid is recorded before the
	 * forwarding handler can look at it. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		child_exec(argv, envp, fds[1], self);
	}
	int fork_errno = errno;
	if (pid > 0) {
		__atomic_store_n(&self->pid, (int)pid, __ATOMIC_SEQ_CST);
		/* Ours until reaped, so the pid cannot name another process
		 * yet; close-on-exec by the kernel. */
		long fd = syscall(SYS_pidfd_open, pid, 0);
		self->pidfd = (int)fd;
		self->has_pidfd = fd >= 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	close(fds[1]);
	free(envp);
	free(preload);
	if (pid < 0) {
		close(fds[0]);
		return fail(err, errlen, "cannot start %s: fork: %s", argv[0], strerror(fork_errno));
	}

	int child_errno = 0;
	ssize_t r;
	do
		r = read(fds[0], &child_errno, sizeof child_errno);
	while (r < 0 && errno == EINTR);
	close(fds[0]);
	if (r == (ssize_t)sizeof child_errno)
		return exec_failure(self, argv[0], child_errno, exit_code, err, errlen);
	*exit_code = 0;
	return 0;
}

void launcher_redirect(struct launcher *self, int in_fd, int out_fd)
{
	self->redirect = true;
	self->stdin_fd = in_fd;
	self->output_fd = out_fd;
}

static void forward_handler(int sig, siginfo_t *si, void *ucontext)
{
	(void)ucontext;
	int saved_errno = errno;
	__atomic_add_fetch(&signals_received, 1, __ATOMIC_RELAXED);
	struct launcher *l = forward_to;
	/* si_code > 0: sent by the kernel, e.g. the terminal's ^C, which the
	 * child's process group has received already. */
	if (l && si && si->si_code <= 0) {
		int pid = __atomic_load_n(&l->pid, __ATOMIC_SEQ_CST);
		/* A child signalling its own process group (kill 0) already got
		 * its copy. */
		if (pid > 0 && si->si_pid != pid && !__atomic_load_n(&l->ended, __ATOMIC_SEQ_CST))
			kill(pid, sig);
	}
	errno = saved_errno;
}

void launcher_forward_signals(struct launcher *self)
{
	forward_to = self;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = forward_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof forwarded_signals / sizeof *forwarded_signals; i++)
		sigaddset(&sa.sa_mask, forwarded_signals[i]);

	for (size_t i = 0; i < sizeof forwarded_signals / sizeof *forwarded_signals; i++) {
		int sig = forwarded_signals[i];
		struct sigaction old;
		if (sigaction(sig, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
		    old.sa_handler == SIG_IGN) {
			sigaddset(&kept_ignored, sig);
			continue;
		}
		sigaction(sig, &sa, NULL);
	}
}

unsigned launcher_signal_count(void)
{
	return __atomic_load_n(&signals_received, __ATOMIC_RELAXED);
}

bool launcher_poll(struct launcher *self)
{
	if (self->ended)
		return true;
	if (self->pid <= 0)
		return false;

	siginfo_t si;
	memset(&si, 0, sizeof si);
	int r;
	do
		r = waitid(P_PID, (id_t)self->pid, &si, WEXITED | WNOHANG | WNOWAIT);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		/* ECHILD: reaped by someone else, the status is gone. */
		mark_ended(self);
		self->wait_status = STATUS_LOST;
		drop_pidfd(self);
		return true;
	}
	if (si.si_pid == 0)
		return false;
	mark_ended(self);
	reap(self);
	return true;
}

bool launcher_wait(struct launcher *self, double timeout)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (launcher_poll(self))
			return true;
		if (self->pid <= 0)
			return false;
		clock_gettime(CLOCK_MONOTONIC, &now);
		double elapsed = (double)(now.tv_sec - start.tv_sec) +
				 (double)(now.tv_nsec - start.tv_nsec) / 1e9;
		if (timeout >= 0 && elapsed >= timeout)
			return false;
		double step = 0.010;
		if (timeout >= 0 && timeout - elapsed < step)
			step = timeout - elapsed;
		struct timespec ts = { 0, (long)(step * 1e9) };
		/* Polling alone noticed an end 5 ms late on average, which a
		 * short command's wall time under memtop showed. */
		if (self->has_pidfd) {
			struct pollfd pfd = { .fd = self->pidfd, .events = POLLIN };
			ppoll(&pfd, 1, &ts, NULL);
		} else {
			nanosleep(&ts, NULL);
		}
	}
}

int launcher_exit_code(const struct launcher *self)
{
	if (!self->ended)
		return -1;
	if (WIFEXITED(self->wait_status))
		return WEXITSTATUS(self->wait_status);
	if (WIFSIGNALED(self->wait_status))
		return 128 + WTERMSIG(self->wait_status);
	return 1;
}

const char *launcher_describe(const struct launcher *self, char *buf, size_t len)
{
	if (!buf || !len)
		return buf;
	int st = self->wait_status;
	if (!self->ended)
		snprintf(buf, len, self->pid > 0 ? "is still running" : "has not started");
	else if (WIFEXITED(st))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d (%s)%s", WTERMSIG(st),
			 strsignal(WTERMSIG(st)), WCOREDUMP(st) ? ", core dumped" : "");
	else
		snprintf(buf, len, "ended, but its exit status was collected elsewhere");
	return buf;
}
