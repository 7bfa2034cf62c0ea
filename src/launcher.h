/*
 * launcher.h - start the watched command with the collector preloaded,
 * forward the signals memtop receives to it, and turn its end into an exit
 * status and a sentence, the way a shell would.
 */
#ifndef MEMTOP_LAUNCHER_H
#define MEMTOP_LAUNCHER_H

#include <stdbool.h>
#include <stddef.h>

struct launcher {
	int pid;                 /* child pid, 0 before spawn */
	bool ended;
	int wait_status;         /* raw status from waitpid */
	/* Set by launcher_redirect; a zeroed struct shares memtop's streams. */
	bool redirect;
	int stdin_fd, output_fd;
	/* pidfd_open(2) of the child, readable once it ends: launcher_wait
	 * wakes on it instead of polling (has_pidfd false: kernel < 5.3). */
	bool has_pidfd;
	int pidfd;
};

/*
 * Locate the collector: $MEMTOP_PRELOAD if set (it must then name a readable
 * file, no fallback), else <dir of /proc/self/exe>/../preload/.libs/libmemtop.so
 * (memtop run from its build tree), else MEMTOP_LIBDIR/libmemtop.so.  out
 * receives the canonical absolute path.  0 on success; -1 with a one-line
 * message in err saying where it looked and what to do.
 */
int launcher_find_collector(char *out, size_t len, char *err, size_t errlen);

/*
 * The LD_PRELOAD value for the child: the collector first, so that it
 * interposes and its RTLD_NEXT lookups reach an allocator the user preloaded,
 * then existing (NULL or empty: none).  -1 if the collector path is empty or
 * holds a list separator (':' or ' '), or if the result does not fit in len.
 */
int launcher_compose_preload(char *out, size_t len, const char *collector,
			     const char *existing);

/*
 * Start argv[0] (searched in PATH) with LD_PRELOAD composed as above and
 * MEMTOP_SESSION=<memtop's pid>, both set in the child's environment only.
 * The child shares memtop's standard streams (unless launcher_redirect was
 * called) and process group, and starts
 * with an empty signal mask and default dispositions (except the signals
 * memtop itself inherited as ignored, see launcher_forward_signals).
 *
 * 0 once the exec has happened.  -1 with a message in err and *exit_code set
 * to what a shell would return: 127 if the command was not found, 126 if it
 * could not be executed (the child has then been reaped), 1 if memtop could
 * not fork.
 */
int launcher_spawn(struct launcher *self, char **argv, const char *collector,
		   int *exit_code, char *err, size_t errlen);

/*
 * Give the child in_fd as its standard input and out_fd as both its standard
 * output and error, instead of memtop's own (the viewer owns the terminal).
 * Call before launcher_spawn; memtop keeps its copies of the descriptors,
 * which should be close-on-exec.
 */
void launcher_redirect(struct launcher *self, int in_fd, int out_fd);

/*
 * Handle SIGINT, SIGTERM, SIGHUP and SIGQUIT in memtop: count them (see
 * launcher_signal_count) and pass to the child those another process sent.
 * Signals from the terminal are not passed on: they already reach the child
 * through the foreground process group.  A signal memtop was started with
 * ignored (nohup, a background job of a script) stays ignored, in memtop and
 * in the child.  May be called before or after launcher_spawn.
 */
void launcher_forward_signals(struct launcher *self);
/* How many of those signals memtop has received so far. */
unsigned launcher_signal_count(void);

/* Non-blocking: true once the child has ended (wait_status is then filled). */
bool launcher_poll(struct launcher *self);
/* Wait up to timeout seconds (< 0: without limit) for the child to end;
 * true if it has ended. */
bool launcher_wait(struct launcher *self, double timeout);
/* WEXITSTATUS, or 128+N if signal N killed the child; -1 if it has not ended. */
int launcher_exit_code(const struct launcher *self);
/* "exited with status 3", "killed by signal 9 (Killed)",
 * "killed by signal 11 (Segmentation fault), core dumped".  Returns buf. */
const char *launcher_describe(const struct launcher *self, char *buf, size_t len);

#endif
