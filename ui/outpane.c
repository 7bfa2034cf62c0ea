/*
 * outpane.c - tailing the command's output file into a ring of recent
 * lines (see outpane.h).  Lines are kept as the command wrote them, except
 * that tabs become spaces and a carriage return starts the line over (as a
 * terminal would show a progress bar); the canvas sanitizes the rest when
 * it draws them.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outpane.h"

#define READ_CHUNK   (64u << 10)
#define READ_BUDGET  (256u << 10)
#define SKIP_AHEAD   (1u << 20)

struct outpane {
	char path[PATH_MAX];
	int rfd;
	uint64_t offset;
	uint64_t nlines;
	char **ring;
	size_t max, count, head;
	char partial[OUTPANE_LINE_MAX + 1];
	size_t plen;
	bool discarding;       /* after a skip: drop the rest of a cut line */
};

outpane *outpane_new(size_t max_lines)
{
	outpane *self = calloc(1, sizeof(*self));
	if (!self)
		return NULL;
	self->rfd = -1;
	self->max = max_lines ? max_lines : 1;
	self->ring = calloc(self->max, sizeof(*self->ring));
	if (!self->ring) {
		free(self);
		return NULL;
	}
	return self;
}

void outpane_free(outpane *self)
{
	if (!self)
		return;
	if (self->rfd >= 0)
		close(self->rfd);
	for (size_t i = 0; i < self->max; i++)
		free(self->ring[i]);
	free(self->ring);
	free(self);
}

int outpane_create(outpane *self, const char *dir, char *err, size_t errlen)
{
	int n = snprintf(self->path, sizeof(self->path), "%s/memtop-output.XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof(self->path)) {
		snprintf(err, errlen, "the directory name %s is too long for the output file", dir);
		return -1;
	}
	int wfd = mkostemp(self->path, O_APPEND | O_CLOEXEC);
	if (wfd < 0) {
		snprintf(err, errlen, "cannot create a file for the command's output in %s: %s "
			 "(set TMPDIR to a writable directory)", dir, strerror(errno));
		self->path[0] = '\0';
		return -1;
	}
	self->rfd = open(self->path, O_RDONLY | O_CLOEXEC);
	if (self->rfd < 0) {
		snprintf(err, errlen, "cannot read back %s: %s", self->path, strerror(errno));
		close(wfd);
		unlink(self->path);
		self->path[0] = '\0';
		return -1;
	}
	return wfd;
}

static void push_line(outpane *self)
{
	size_t slot = (self->head + self->count) % self->max;
	if (self->count == self->max) {
		slot = self->head;
		self->head = (self->head + 1) % self->max;
	} else {
		self->count++;
	}
	free(self->ring[slot]);
	self->partial[self->plen] = '\0';
	self->ring[slot] = strdup(self->partial);
	self->plen = 0;
	self->nlines++;
}

static void add_byte(outpane *self, char c)
{
	if (c == '\n') {
		if (self->discarding) {
			/* the line cut by a skip still counts */
			self->discarding = false;
			self->nlines++;
		} else {
			push_line(self);
		}
		self->plen = 0;
		return;
	}
	if (self->discarding)
		return;
	if (c == '\r') {
		self->plen = 0;
		return;
	}
	if (c == '\t') {
		do
			add_byte(self, ' ');
		while (self->plen % 8 && self->plen < OUTPANE_LINE_MAX);
		return;
	}
	if (self->plen < OUTPANE_LINE_MAX)
		self->partial[self->plen++] = c;
}

static uint64_t count_newlines(int fd, uint64_t from, uint64_t to)
{
	char buf[READ_CHUNK];
	uint64_t n = 0;
	while (from < to) {
		size_t want = to - from < sizeof(buf) ? (size_t)(to - from) : sizeof(buf);
		ssize_t r = pread(fd, buf, want, (off_t)from);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (const char *p = buf, *end = buf + r; (p = memchr(p, '\n', (size_t)(end - p)));
		     p++)
			n++;
		from += (uint64_t)r;
	}
	return n;
}

bool outpane_poll(outpane *self)
{
	if (self->rfd < 0)
		return false;
	struct stat st;
	if (fstat(self->rfd, &st) != 0 || (uint64_t)st.st_size <= self->offset)
		return false;
	uint64_t size = (uint64_t)st.st_size;
	if (size - self->offset > SKIP_AHEAD) {
		/* Too much to show: only the end is read into lines, but the
		 * lines skipped are counted (memchr runs at memory speed). */
		uint64_t to = size - READ_CHUNK;
		self->nlines += count_newlines(self->rfd, self->offset, to);
		self->offset = to;
		self->plen = 0;
		self->discarding = true;
	}
	char buf[READ_CHUNK];
	size_t budget = READ_BUDGET;
	bool changed = false;
	while (budget > 0) {
		ssize_t r = pread(self->rfd, buf, sizeof(buf), (off_t)self->offset);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			add_byte(self, buf[i]);
		self->offset += (uint64_t)r;
		budget -= (size_t)r < budget ? (size_t)r : budget;
		changed = true;
	}
	self->partial[self->plen] = '\0';
	return changed;
}

size_t outpane_count(const outpane *self)
{
	return self->count + (self->plen > 0 ? 1 : 0);
}

const char *outpane_line(const outpane *self, size_t i)
{
	if (i < self->count)
		return self->ring[(self->head + i) % self->max];
	if (i == self->count && self->plen > 0)
		return self->partial;
	return NULL;
}

const char *outpane_path(const outpane *self)
{
	return self->path;
}

uint64_t outpane_bytes(const outpane *self)
{
	return self->offset;
}

uint64_t outpane_total_lines(const outpane *self)
{
	return self->nlines + (self->plen > 0 ? 1 : 0);
}

bool outpane_remove_if_empty(outpane *self)
{
	struct stat st;
	if (!self->path[0] || stat(self->path, &st) != 0 || st.st_size != 0)
		return false;
	return unlink(self->path) == 0;
}
