/*
 * run.c - the target of `memtop -- COMMAND`: the command launched with the
 * collector preloaded, as a watch target (watch.h).
 *
 * Before the spawn: the collector located, stale segments of dead
 * processes removed, memtop's stop signals forwarded to the child (a
 * SIGTERM in between must not kill memtop alone), the sampling parameters
 * in the child's environment.  The watch then waits on the child (a pidfd
 * where the kernel has them), and takes its exit status as memtop's.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "launcher.h"
#include "run.h"
#include "shmreader.h"

struct launched {
	struct watch_target base;
	struct launcher l;
	char collector[4096];
};

static struct launcher *launcher_of(struct watch_target *t)
{
	return &((struct launched *)t)->l;
}

static bool launched_wait(struct watch_target *t, double seconds)
{
	struct launcher *l = launcher_of(t);
	if (l->ended)
		return true;
	return seconds > 0 ? launcher_wait(l, seconds) : launcher_poll(l);
}

static int launched_end_status(struct watch_target *t, char *desc, size_t len)
{
	struct launcher *l = launcher_of(t);
	launcher_describe(l, desc, len);
	return launcher_exit_code(l);
}

static unsigned launched_signals(struct watch_target *t)
{
	(void)t;
	return launcher_signal_count();
}

static const struct watch_target_ops launched_ops = {
	.wait = launched_wait,
	.end_status = launched_end_status,
	.signals = launched_signals,
};

struct watch_target *run_launch(const struct options *opts, int in_fd, int out_fd,
				int *exit_code)
{
	char err[512];
	*exit_code = 1;
	struct launched *self = calloc(1, sizeof(*self));
	if (!self) {
		format_warn("out of memory");
		return NULL;
	}
	if (launcher_find_collector(self->collector, sizeof(self->collector), err,
				    sizeof(err)) != 0) {
		format_warn("%s", err);
		free(self);
		return NULL;
	}
	shm_cleanup_stale("/dev/shm", "/proc", 0);
	launcher_forward_signals(&self->l);
	char sampling[160];
	if (options_sampling_env(opts, sampling, sizeof(sampling)) == 0)
		setenv(MT_ENV_SAMPLING, sampling, 1);
	if (in_fd >= 0 && out_fd >= 0)
		launcher_redirect(&self->l, in_fd, out_fd);
	if (launcher_spawn(&self->l, opts->command, self->collector, exit_code, err,
			   sizeof(err)) != 0) {
		format_warn("%s", err);
		free(self);
		return NULL;
	}
	self->base.ops = &launched_ops;
	self->base.pid = self->l.pid;
	self->base.argv = opts->command;
	self->base.launched = true;
	self->base.collector_path = self->collector;
	self->base.seg_owner = -1;
	return &self->base;
}

void run_target_free(struct watch_target *t)
{
	free(t);
}
