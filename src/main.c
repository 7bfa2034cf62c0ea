/*
 * main.c - memtop's entry point: the core (libmemtop-core, which the tests
 * link) with the ncurses viewer (libmemtop-ui) as its frontend.  The only
 * file outside ui/ that knows the viewer.
 */
#include "cli.h"
#include "viewer.h"

static void *open_viewer(const struct options *opts, bool launched, char *err, size_t errlen)
{
	return viewer_open(opts, launched, err, errlen);
}

static void child_streams(void *v, int *in_fd, int *out_fd)
{
	viewer_child_streams(v, in_fd, out_fd);
}

static void child_started(void *v)
{
	viewer_child_started(v);
}

static struct watch_ui *ui(void *v)
{
	return viewer_ui(v);
}

static void free_viewer(void *v)
{
	viewer_free(v);
}

static const struct memtop_frontend viewer_frontend = {
	.preflight = viewer_preflight,
	.open = open_viewer,
	.child_streams = child_streams,
	.child_started = child_started,
	.ui = ui,
	.free = free_viewer,
};

int main(int argc, char **argv)
{
	return memtop_main(argc, argv, &viewer_frontend);
}
