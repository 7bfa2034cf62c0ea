/*
 * report.c - the offline analysis of a trace (memtop report).
 *
 * Every traced process is replayed from its events, in time order: its
 * threads' exact counters (the collector's rules, collector.h), a table of
 * the blocks alive at each moment (for leaks, temporary allocations and the
 * live bytes of sampled stacks), the process's live heap over time (its
 * exact peak) and the timelines.  The main process (the command memtop
 * started, else the first process of the trace) becomes a struct session
 * that batch.c and html.c render; the others are listed with their totals.
 *
 * Time stamps of different threads come from one counter, but a thread
 * reads it just after its call returns: a block freed by one thread and
 * handed out again to another may show its new allocation first.  An
 * allocation at an address that is still live therefore sets the old block
 * aside until its free arrives.
 *
 * While the events are replayed, a second thread resolves the main
 * process's stack frames (symbolize.c: reading debug information can take
 * longer than a small trace's replay), so that the output finds them done.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "bottleneck.h"
#include "format.h"
#include "html.h"
#include "json.h"
#include "pprof.h"
#include "report.h"
#include "sampler.h"
#include "symbolize.h"
#include "trace_reader.h"

#define TOP_STACKS_PROCESS 64
#define TOP_STACKS_THREAD  16
#define MAX_POINTS         SESSION_HISTORY_PROCESS
#define MAX_THREAD_POINTS  SESSION_HISTORY_THREAD
#define MIN_POINTS         20
/* Blocks set aside awaiting a late free: the race is a few microseconds
 * wide, so a few suffice; more means frees were lost (a killed process),
 * and the oldest is then counted as freed. */
#define DISPLACED_MAX      64
#define TEXT_LIST          10
#define TEXT_FRAMES        8
#define JSON_LEAK_STACKS   100
#define JSON_TEMP_STACKS   20

/* ---------------------------------------------------------------- model */

/* One sampled stack in one thread. */
struct rstack {
	uint32_t thread, id;
	uint64_t samples, allocs_w, bytes_w, freed_w;
	uint64_t min_size, max_size, first_ns, last_ns;
	uint64_t temp_w;             /* weights of its sampled temporary blocks */
	uint64_t leaked, leaked_w;   /* its sampled blocks never freed, and their weights */
	uint64_t leaked_bytes, leaked_bytes_w;
};

struct bucket {
	uint64_t allocs;
	int64_t delta;               /* live bytes gained in the bucket */
};

/* The bucket the last event fell in, and its time range. */
struct cursor_bucket {
	size_t index;
	uint64_t start, end;
	bool valid;
};

struct rthread {
	struct mt_counters c;
	uint64_t seq;                /* allocations so far (temporary test) */
	uint64_t peak_ns;
	uint64_t temp, temp_bytes;
	uint64_t leaked, leaked_bytes;
	bool seen;                   /* an event, or a start record */
	struct bucket *b;
	size_t nb;
	struct cursor_bucket cur;
};

/* A live block. */
struct rblock {
	uint64_t ptr, size, usable, seq, weight, bytes_w;
	uint32_t thread, stack;      /* stack: index into stacks[] + 1; 0: not sampled */
	bool used;
	uint64_t when;               /* displaced: the event count when set aside */
};

struct blockmap {
	struct rblock *cells;
	size_t cap, n;
};

struct metric {
	uint64_t ns, rss, cpu;
	uint32_t threads;
	int32_t pid;
};

#define MAX_IMAGES 16

struct proc {
	size_t file;
	const struct trace_file *f;
	/* A process that exec'd: its programs in order, f the last.  Their
	 * threads follow one another in th[] (those of img[k] from
	 * img_base[k]), as a live session shows them. */
	const struct trace_file *img[MAX_IMAGES];
	size_t img_file[MAX_IMAGES];
	uint32_t img_base[MAX_IMAGES];
	size_t nimg;
	struct rthread *th;
	size_t nth;
	struct blockmap live;
	struct rblock *displaced;
	size_t ndisplaced;
	struct u64map *stack_idx;    /* thread << 32 | stack id -> index + 1 */
	struct rstack *st;
	size_t nst, st_cap;
	int64_t live_now, peak;
	uint64_t peak_ns;
	uint64_t unmatched_frees;
	uint64_t events;
	uint64_t temp, temp_bytes;
	uint64_t last_event_ns;
	bool timelines;
	uint64_t t0_ns;
	double width, twidth;        /* seconds */
	uint64_t width_ns, twidth_ns;
	struct bucket *pb;
	size_t npb;
	struct cursor_bucket pcur;
	bool oom;
};

struct stackdef {
	uint32_t id, flags, depth;
	uint64_t *frames;
};

struct moddef {
	struct mt_tb_module m;
	char *path;
};

/* What the scan collects per file, before the main process is known. */
struct fileinfo {
	struct stackdef *stacks;
	size_t nstacks, stacks_cap;
	struct moddef *mods;
	size_t nmods, mods_cap;
};

/* The thread that resolves frames ahead of the output. */
struct warmer {
	pthread_t th;
	bool running;
	int stop;                    /* atomic: the replay is over */
	struct symbolizer *sym;      /* the session's, once it is built */
	const struct fileinfo *fi;
};

struct report {
	trace_reader *r;
	struct warmer warm;
	char path[4096];
	struct fileinfo *fi;
	size_t nfi;
	struct metric *metrics;
	size_t nmetrics, metrics_cap;
	struct proc *procs;
	size_t nprocs;
	size_t main;                 /* index into procs */
	bool have_main;
	struct session s;
	bool session_ready;
	bool no_modules;             /* report_load_buffer: symbolize nothing from the input */
	uint64_t t0_ns, t1_ns;
	uint64_t files, bytes;
	bool oom;
};

/* ---------------------------------------------------------------- block map */

static size_t ptr_hash(uint64_t p)
{
	p ^= p >> 29;
	p *= 0xbf58476d1ce4e5b9ull;
	p ^= p >> 32;
	return (size_t)p;
}

static int blockmap_grow(struct blockmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024;
	struct rblock *c = calloc(cap, sizeof(*c));
	if (!c)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->cells[i].used)
			continue;
		size_t j = ptr_hash(m->cells[i].ptr) & (cap - 1);
		while (c[j].used)
			j = (j + 1) & (cap - 1);
		c[j] = m->cells[i];
	}
	free(m->cells);
	m->cells = c;
	m->cap = cap;
	return 0;
}

static struct rblock *blockmap_find(struct blockmap *m, uint64_t ptr)
{
	if (!m->n)
		return NULL;
	size_t mask = m->cap - 1;
	for (size_t i = ptr_hash(ptr) & mask;; i = (i + 1) & mask) {
		if (!m->cells[i].used)
			return NULL;
		if (m->cells[i].ptr == ptr)
			return &m->cells[i];
	}
}

static struct rblock *blockmap_add(struct blockmap *m, uint64_t ptr)
{
	if ((m->n + 1) * 2 > m->cap && blockmap_grow(m) != 0)
		return NULL;
	size_t mask = m->cap - 1, i = ptr_hash(ptr) & mask;
	while (m->cells[i].used)
		i = (i + 1) & mask;
	m->n++;
	m->cells[i].used = true;
	m->cells[i].ptr = ptr;
	return &m->cells[i];
}

/* Linear probing without tombstones: the cells after a removed one move
 * back when their home position allows it. */
static void blockmap_remove(struct blockmap *m, struct rblock *b)
{
	size_t mask = m->cap - 1, i = (size_t)(b - m->cells);
	m->cells[i].used = false;
	m->n--;
	for (size_t j = (i + 1) & mask; m->cells[j].used; j = (j + 1) & mask) {
		size_t home = ptr_hash(m->cells[j].ptr) & mask;
		bool between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (between)
			continue;
		m->cells[i] = m->cells[j];
		m->cells[j].used = false;
		i = j;
	}
}

/* ---------------------------------------------------------------- replay */

static struct rstack *stack_of(struct proc *p, uint32_t thread, uint32_t id)
{
	if (id >= MT_MAX_STACKS)
		id = MT_STACK_OTHER;   /* no collector hands these out: damage */
	bool fresh;
	uint64_t *v = u64map_put(p->stack_idx, (uint64_t)thread << 32 | id, &fresh);
	if (!v) {
		p->oom = true;
		return NULL;
	}
	if (fresh) {
		if (p->nst == p->st_cap) {
			size_t cap = p->st_cap ? p->st_cap * 2 : 64;
			struct rstack *s = realloc(p->st, cap * sizeof(*s));
			if (!s) {
				*v = 0;
				p->oom = true;
				return NULL;
			}
			p->st = s;
			p->st_cap = cap;
		}
		memset(&p->st[p->nst], 0, sizeof(p->st[0]));
		p->st[p->nst].thread = thread;
		p->st[p->nst].id = id;
		*v = ++p->nst;
	}
	return *v ? &p->st[*v - 1] : NULL;
}

static struct bucket *bucket_at(struct bucket **b, size_t *n, size_t i, bool *oom)
{
	if (i >= *n) {
		size_t cap = *n ? *n : 16;
		while (cap <= i)
			cap *= 2;
		struct bucket *x = realloc(*b, cap * sizeof(*x));
		if (!x) {
			*oom = true;
			return NULL;
		}
		memset(x + *n, 0, (cap - *n) * sizeof(*x));
		*b = x;
		*n = cap;
	}
	return &(*b)[i];
}

static size_t bucket_index(uint64_t t0, uint64_t ns, uint64_t width_ns, size_t max)
{
	if (ns <= t0 || width_ns == 0)
		return 0;
	uint64_t k = (ns - t0) / width_ns;
	return k >= max - 1 ? max - 1 : (size_t)k;
}

/* The bucket of time ns: events come in time order, so most fall in the
 * bucket of the one before, found by two comparisons, not a division. */
static struct bucket *timeline_bucket(struct proc *p, struct cursor_bucket *cur,
				      struct bucket **b, size_t *n, uint64_t ns, uint64_t width_ns,
				      size_t max)
{
	if (!(cur->valid && ns >= cur->start && ns < cur->end)) {
		size_t k = bucket_index(p->t0_ns, ns, width_ns, max);
		cur->index = k;
		cur->start = k == 0 ? 0 : p->t0_ns + (uint64_t)k * width_ns;
		cur->end = k + 1 >= max ? UINT64_MAX : p->t0_ns + (uint64_t)(k + 1) * width_ns;
		cur->valid = true;
	}
	if (cur->index < *n)
		return &(*b)[cur->index];
	return bucket_at(b, n, cur->index, &p->oom);
}

/* A block leaves: its stack gets its freed bytes, and it may have been
 * temporary (no allocation by its thread since). */
static void settle(struct proc *p, const struct rblock *b, bool may_be_temporary)
{
	struct rstack *st = b->stack ? &p->st[b->stack - 1] : NULL;
	if (st)
		st->freed_w += b->bytes_w;
	if (!may_be_temporary || b->thread >= p->nth)
		return;
	struct rthread *t = &p->th[b->thread];
	if (t->seq != b->seq)
		return;
	t->temp++;
	t->temp_bytes += b->size;
	p->temp++;
	p->temp_bytes += b->size;
	if (st)
		st->temp_w += b->weight;
}

static void block_free(struct proc *p, uint64_t ptr, uint64_t usable, bool may_be_temporary)
{
	/* A block set aside by a reordered reuse of its address first. */
	for (size_t i = p->ndisplaced; i-- > 0;) {
		if (p->displaced[i].ptr != ptr || p->displaced[i].usable != usable)
			continue;
		settle(p, &p->displaced[i], may_be_temporary);
		p->displaced[i] = p->displaced[--p->ndisplaced];
		return;
	}
	struct rblock *b = blockmap_find(&p->live, ptr);
	if (!b) {
		/* allocated before the trace started, or its event was lost */
		p->unmatched_frees++;
		return;
	}
	settle(p, b, may_be_temporary);
	blockmap_remove(&p->live, b);
}

static void block_alloc(struct proc *p, const struct trace_event *e, uint64_t ptr)
{
	struct rblock *old = blockmap_find(&p->live, ptr);
	if (old) {
		if (p->ndisplaced == DISPLACED_MAX) {
			/* the oldest's free never came: count it freed, as the
			 * reuse of its address says */
			size_t o = 0;
			for (size_t i = 1; i < p->ndisplaced; i++)
				if (p->displaced[i].when < p->displaced[o].when)
					o = i;
			settle(p, &p->displaced[o], false);
			p->displaced[o] = p->displaced[--p->ndisplaced];
		}
		if (!p->displaced) {
			p->displaced = malloc(DISPLACED_MAX * sizeof(*p->displaced));
			if (!p->displaced) {
				p->oom = true;
				return;
			}
		}
		p->displaced[p->ndisplaced] = *old;
		p->displaced[p->ndisplaced++].when = p->events;
		blockmap_remove(&p->live, old);
	}
	struct rblock *b = blockmap_add(&p->live, ptr);
	if (!b) {
		p->oom = true;
		return;
	}
	b->size = e->size;
	b->usable = e->usable;
	b->thread = e->thread;
	b->seq = p->th[e->thread].seq;
	b->weight = e->weight;
	b->bytes_w = e->weight ? mt_weighted_bytes(e->size, e->weight) : 0;
	b->stack = 0;
	if (e->weight) {
		struct rstack *st = stack_of(p, e->thread, e->stack_id);
		if (st)
			b->stack = (uint32_t)(st - p->st) + 1;
	}
}

static void sample(struct proc *p, const struct trace_event *e)
{
	struct rstack *st = stack_of(p, e->thread, e->stack_id);
	if (!st)
		return;
	st->samples++;
	st->allocs_w += e->weight;
	st->bytes_w += mt_weighted_bytes(e->size, e->weight);
	if (e->size && (!st->min_size || e->size < st->min_size))
		st->min_size = e->size;
	if (e->size > st->max_size)
		st->max_size = e->size;
	if (!st->first_ns || e->time_ns < st->first_ns)
		st->first_ns = e->time_ns;
	if (e->time_ns > st->last_ns)
		st->last_ns = e->time_ns;
}

/* The record of thread i of p (the image it belongs to). */
static const struct trace_thread *thread_meta(const struct proc *p, size_t i)
{
	for (size_t k = p->nimg; k-- > 1;)
		if (i >= p->img_base[k])
			return &p->img[k]->threads[i - p->img_base[k]];
	return &p->img[0]->threads[i];
}

static void on_event(void *ctx, const struct trace_file *f, const struct trace_event *e)
{
	struct proc *p = ctx;
	struct trace_event moved;
	if (p->nimg > 1) {
		/* Threads of a later image come after the earlier ones'; the
		 * stacks of an earlier image are dropped, as a live session
		 * drops them at the exec (stack ids start afresh there). */
		size_t k = 0;
		while (k < p->nimg && p->img[k] != f)
			k++;
		if (k == p->nimg || e->thread >= f->nthreads)
			return;
		moved = *e;
		moved.thread += p->img_base[k];
		if (k + 1 < p->nimg) {
			moved.weight = 0;
			moved.stack_id = 0;
		}
		e = &moved;
	}
	if (e->thread >= p->nth)
		return;
	struct rthread *t = &p->th[e->thread];
	struct mt_counters *c = &t->c;
	int64_t delta = 0;
	uint64_t allocs = 0;
	t->seen = true;
	p->events++;
	/* Sampled stacks first: a block inserted below finds its stack. */
	if (e->weight && (e->op == MT_EV_ALLOC || e->op == MT_EV_REALLOC))
		sample(p, e);
	switch (e->op) {
	case MT_EV_ALLOC:
		c->allocs++;
		c->bytes_allocated += e->size;
		c->usable_allocated += e->usable;
		c->hist[mt_hist_bucket(e->size)]++;
		t->seq++;
		block_alloc(p, e, e->ptr);
		allocs = 1;
		delta = (int64_t)e->usable;
		break;
	case MT_EV_FREE:
		c->frees++;
		c->usable_freed += e->usable;
		block_free(p, e->ptr, e->usable, true);
		delta = -(int64_t)e->usable;
		break;
	case MT_EV_REALLOC:
		c->allocs++;
		c->frees++;
		c->reallocs++;
		c->bytes_allocated += e->size;
		c->usable_allocated += e->usable;
		c->usable_freed += e->old_usable;
		c->hist[mt_hist_bucket(e->size)]++;
		/* the old contents live on in the new block: not temporary */
		block_free(p, e->ptr, e->old_usable, false);
		t->seq++;
		block_alloc(p, e, e->new_ptr);
		allocs = 1;
		delta = (int64_t)e->usable - (int64_t)e->old_usable;
		break;
	case MT_EV_REALLOC_FREE:
		c->frees++;
		c->reallocs++;
		c->usable_freed += e->old_usable;
		block_free(p, e->ptr, e->old_usable, false);
		delta = -(int64_t)e->old_usable;
		break;
	case MT_EV_FAILED:
		c->failed++;
		break;
	}
	if (allocs) {
		/* collector_apply: the peak is taken after the whole event */
		int64_t live = (int64_t)(c->usable_allocated - c->usable_freed);
		if (live > c->peak_live) {
			c->peak_live = live;
			t->peak_ns = e->time_ns;
		}
	}
	p->live_now += delta;
	if (p->live_now > p->peak) {
		p->peak = p->live_now;
		p->peak_ns = e->time_ns;
	}
	if (e->time_ns > p->last_event_ns)
		p->last_event_ns = e->time_ns;
	if (p->timelines) {
		struct bucket *b = timeline_bucket(p, &p->pcur, &p->pb, &p->npb, e->time_ns,
						   p->width_ns, MAX_POINTS);
		if (b) {
			b->allocs += allocs;
			b->delta += delta;
		}
		b = timeline_bucket(p, &t->cur, &t->b, &t->nb, e->time_ns, p->twidth_ns,
				    MAX_THREAD_POINTS);
		if (b) {
			b->allocs += allocs;
			b->delta += delta;
		}
	}
	(void)f;
}

static void proc_free(struct proc *p)
{
	for (size_t i = 0; i < p->nth; i++)
		free(p->th[i].b);
	free(p->th);
	free(p->live.cells);
	free(p->displaced);
	u64map_free(p->stack_idx);
	free(p->st);
	free(p->pb);
}

/* Leaks: the blocks still live once every event is replayed. */
static void count_leaks(struct proc *p)
{
	for (size_t i = 0; i < p->live.cap; i++) {
		const struct rblock *b = &p->live.cells[i];
		if (!b->used || b->thread >= p->nth)
			continue;
		p->th[b->thread].leaked++;
		p->th[b->thread].leaked_bytes += b->size;
		if (b->stack) {
			struct rstack *st = &p->st[b->stack - 1];
			st->leaked++;
			st->leaked_w += b->weight;
			st->leaked_bytes += b->size;
			st->leaked_bytes_w += b->bytes_w;
		}
	}
}

/* ---------------------------------------------------------------- scan */

static struct fileinfo *info_of(struct report *self, const struct trace_file *f)
{
	for (size_t i = 0; i < self->nfi; i++)
		if (trace_reader_file(self->r, i) == f)
			return &self->fi[i];
	return NULL;
}

static void on_stack(void *ctx, const struct trace_file *f, uint32_t id, uint32_t flags,
		     const uint64_t *frames, uint32_t depth)
{
	struct report *self = ctx;
	struct fileinfo *fi = info_of(self, f);
	if (!fi || id >= MT_MAX_STACKS || id == MT_STACK_OTHER)
		return;
	if (fi->nstacks == fi->stacks_cap) {
		size_t cap = fi->stacks_cap ? fi->stacks_cap * 2 : 64;
		struct stackdef *s = realloc(fi->stacks, cap * sizeof(*s));
		if (!s)
			return;
		fi->stacks = s;
		fi->stacks_cap = cap;
	}
	uint32_t d = depth < MT_STACK_MAX_DEPTH ? depth : MT_STACK_MAX_DEPTH;
	uint64_t *copy = malloc((d ? d : 1) * sizeof(*copy));
	if (!copy)
		return;
	memcpy(copy, frames, d * sizeof(*copy));
	fi->stacks[fi->nstacks++] = (struct stackdef){ id, flags | (d < depth ? MT_STACK_TRUNCATED : 0),
						      d, copy };
}

static void on_module(void *ctx, const struct trace_file *f, const struct mt_tb_module *m,
		      const char *path)
{
	struct report *self = ctx;
	struct fileinfo *fi = info_of(self, f);
	if (!fi)
		return;
	if (fi->nmods == fi->mods_cap) {
		size_t cap = fi->mods_cap ? fi->mods_cap * 2 : 32;
		struct moddef *x = realloc(fi->mods, cap * sizeof(*x));
		if (!x)
			return;
		fi->mods = x;
		fi->mods_cap = cap;
	}
	char *copy = strdup(path);
	if (!copy)
		return;
	fi->mods[fi->nmods++] = (struct moddef){ *m, copy };
}

static void on_metrics(void *ctx, const struct trace_file *f, const struct mt_tb_metrics *m)
{
	struct report *self = ctx;
	if (!f->is_session)
		return;
	if (self->nmetrics == self->metrics_cap) {
		size_t cap = self->metrics_cap ? self->metrics_cap * 2 : 64;
		struct metric *x = realloc(self->metrics, cap * sizeof(*x));
		if (!x)
			return;
		self->metrics = x;
		self->metrics_cap = cap;
	}
	self->metrics[self->nmetrics++] = (struct metric){ m->realtime_ns, m->rss_bytes, m->cpu_ns,
							   m->threads, m->pid };
}

/* ---------------------------------------------------------------- loading */

report *report_new(void)
{
	return calloc(1, sizeof(report));
}

static void warm_stop(struct report *self);

void report_free(report *self)
{
	if (!self)
		return;
	for (size_t i = 0; i < self->nfi; i++) {
		for (size_t k = 0; k < self->fi[i].nstacks; k++)
			free(self->fi[i].stacks[k].frames);
		free(self->fi[i].stacks);
		for (size_t k = 0; k < self->fi[i].nmods; k++)
			free(self->fi[i].mods[k].path);
		free(self->fi[i].mods);
	}
	free(self->fi);
	free(self->metrics);
	for (size_t i = 0; i < self->nprocs; i++)
		proc_free(&self->procs[i]);
	free(self->procs);
	warm_stop(self);
	symbolizer_free(self->warm.sym);
	if (self->session_ready)
		session_free(&self->s);
	trace_reader_free(self->r);
	free(self);
}

const struct session *report_session(const report *self)
{
	return &self->s;
}

static const struct trace_file *session_file(const struct report *self)
{
	for (size_t i = 0; i < trace_reader_file_count(self->r); i++) {
		const struct trace_file *f = trace_reader_file(self->r, i);
		if (f->is_session && f->usable)
			return f;
	}
	return NULL;
}

/* f's process went on as another program: a later image of the same pid
 * (trace.PID.K.mtt) with the same parent. */
static bool replaced_by_exec(const struct report *self, const struct trace_file *f)
{
	for (size_t i = 0; i < trace_reader_file_count(self->r); i++) {
		const struct trace_file *g = trace_reader_file(self->r, i);
		if (g != f && g->usable && !g->is_session && g->hdr.pid == f->hdr.pid &&
		    g->hdr.ppid == f->hdr.ppid && g->hdr.start_ns > f->hdr.start_ns)
			return true;
	}
	return false;
}

/* The file of the command memtop started (of the program it ended as, if
 * it exec'd), else of the process no other traced process started, the
 * earliest first; SIZE_MAX if none. */
static size_t choose_main(const struct report *self)
{
	const struct trace_file *sf = session_file(self);
	int want = sf && sf->has_session ? sf->session.pid : 0;
	size_t n = trace_reader_file_count(self->r), best = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		const struct trace_file *f = trace_reader_file(self->r, i);
		/* a process is the program it ended as (replay adds the others) */
		if (!f->usable || f->is_session || replaced_by_exec(self, f))
			continue;
		if (want && f->hdr.pid == want)
			return i;
		bool child = false;
		for (size_t k = 0; k < n && !child; k++) {
			const struct trace_file *g = trace_reader_file(self->r, k);
			child = k != i && g->usable && !g->is_session && g->hdr.pid == f->hdr.ppid;
		}
		if (child)
			continue;
		if (best == SIZE_MAX || f->hdr.start_ns < trace_reader_file(self->r, best)->hdr.start_ns)
			best = i;
	}
	for (size_t i = 0; best == SIZE_MAX && i < n; i++) {
		const struct trace_file *f = trace_reader_file(self->r, i);
		if (f->usable && !f->is_session && !replaced_by_exec(self, f))
			best = i;   /* every process a child of another: a cycle of reused pids */
	}
	return best;
}

/* The session's span: from the session record when it is the main
 * process's, else from what the main process's file holds. */
static void session_span(struct report *self, const struct trace_file *mf)
{
	const struct trace_file *sf = session_file(self);
	bool own = sf && sf->has_session && mf && sf->session.pid == mf->hdr.pid;
	uint64_t t0 = 0, t1 = 0;
	if (own) {
		t0 = sf->session.start_ns;
		t1 = sf->session.end_ns;
	}
	if (mf) {
		if (!t0 || (mf->first_ns && mf->first_ns < t0))
			t0 = t0 ? t0 : mf->first_ns;
		if (mf->hdr.start_ns && (!t0 || mf->hdr.start_ns < t0))
			t0 = mf->hdr.start_ns;
		if (mf->last_ns > t1)
			t1 = mf->last_ns;
	} else if (sf) {
		t0 = sf->first_ns;
		t1 = sf->last_ns;
	}
	if (t1 < t0)
		t1 = t0;
	self->t0_ns = t0;
	self->t1_ns = t1;
}

static double pick_width(double span, double interval)
{
	double w = interval > 0 ? interval : 1.0;
	if (span <= 0)
		return w;
	if (span / w > MAX_POINTS - 1)
		w = span / (MAX_POINTS - 1);
	if (span / w < MIN_POINTS)
		w = span / MIN_POINTS > 0.001 ? span / MIN_POINTS : 0.001;
	return w;
}

/* Replay the files of one process: files[n - 1], after the images it
 * exec'd from (files[0 .. n - 2], in order). */
static void replay(struct report *self, const size_t *files, size_t n, bool timelines)
{
	size_t file = files[n - 1];
	const struct trace_file *f = trace_reader_file(self->r, file);
	struct proc *p = &self->procs[self->nprocs];
	memset(p, 0, sizeof(*p));
	p->file = file;
	p->f = f;
	for (size_t k = 0; k < n && k < MAX_IMAGES; k++) {
		p->img_file[k] = files[k];
		p->img[k] = trace_reader_file(self->r, files[k]);
		p->img_base[k] = (uint32_t)p->nth;
		p->nth += p->img[k]->nthreads;
		p->nimg++;
	}
	p->th = calloc(p->nth ? p->nth : 1, sizeof(*p->th));
	p->stack_idx = u64map_new();
	if (!p->th || !p->stack_idx) {
		proc_free(p);
		self->oom = true;
		return;
	}
	for (size_t i = 0; i < p->nth; i++)
		p->th[i].seen = thread_meta(p, i)->started;
	p->timelines = timelines;
	p->t0_ns = self->t0_ns;
	double span = self->t1_ns > self->t0_ns ? (double)(self->t1_ns - self->t0_ns) / 1e9 : 0;
	p->width = pick_width(span, self->s.interval_s);
	p->twidth = span / p->width > MAX_THREAD_POINTS - 1 ? span / (MAX_THREAD_POINTS - 1)
							   : p->width;
	p->width_ns = (uint64_t)(p->width * 1e9);
	p->twidth_ns = (uint64_t)(p->twidth * 1e9);
	if (!p->width_ns)
		p->width_ns = 1;
	if (!p->twidth_ns)
		p->twidth_ns = 1;
	struct trace_visitor v = { .ctx = p, .event = on_event };
	for (size_t k = 0; k < p->nimg; k++)
		trace_reader_events(self->r, p->img_file[k], &v);
	count_leaks(p);
	self->nprocs++;
}

/* The files of the process that ended as file m, in order: the images it
 * exec'd from (same pid and parent, started earlier), then m; at most
 * MAX_IMAGES, the latest. */
static size_t images_of(const struct report *self, size_t m, size_t *out)
{
	const struct trace_file *f = trace_reader_file(self->r, m);
	size_t n = 0;
	for (;;) {
		/* the latest image started before those taken so far */
		uint64_t before = n ? trace_reader_file(self->r, out[n - 1])->hdr.start_ns
				    : f->hdr.start_ns;
		size_t best = SIZE_MAX;
		for (size_t i = 0; i < trace_reader_file_count(self->r); i++) {
			const struct trace_file *g = trace_reader_file(self->r, i);
			if (i == m || !g->usable || g->is_session || g->hdr.pid != f->hdr.pid ||
			    g->hdr.ppid != f->hdr.ppid || g->hdr.start_ns >= before)
				continue;
			if (best == SIZE_MAX ||
			    g->hdr.start_ns > trace_reader_file(self->r, best)->hdr.start_ns)
				best = i;
		}
		if (best == SIZE_MAX || n == MAX_IMAGES - 1)
			break;
		out[n++] = best;
	}
	/* latest first so far: reverse, then m */
	for (size_t a = 0, b = n ? n - 1 : 0; a < b; a++, b--) {
		size_t t = out[a];
		out[a] = out[b];
		out[b] = t;
	}
	out[n++] = m;
	return n;
}

static void build_session(struct report *self);
static int load(struct report *self, double interval, char *err, size_t errlen);

int report_load(report *self, const char *path, double interval, char *err, size_t errlen)
{
	snprintf(self->path, sizeof(self->path), "%s", path);
	self->r = trace_reader_new();
	if (!self->r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (trace_reader_open(self->r, path, err, errlen) != 0)
		return -1;
	struct stat st;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode) &&
	    strcmp(base, MT_TRACE_SESSION_FILE) != 0) {
		/* One process's file: its session's figures too, if they are its. */
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s", path);
		char *slash = strrchr(dir, '/');
		snprintf(slash ? slash + 1 : dir, sizeof(dir) - (size_t)(slash ? slash + 1 - dir : 0),
			 "%s", MT_TRACE_SESSION_FILE);
		char ignored[256];
		if (access(dir, R_OK) == 0)
			trace_reader_open(self->r, dir, ignored, sizeof(ignored));
	}
	return load(self, interval, err, errlen);
}

int report_load_buffer(report *self, const void *data, size_t len, double interval, char *err,
		       size_t errlen)
{
	snprintf(self->path, sizeof(self->path), "(memory)");
	self->no_modules = true;
	self->r = trace_reader_new();
	if (!self->r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (trace_reader_add_buffer(self->r, "trace.1.mtt", data, len, err, errlen) != 0)
		return -1;
	if (!trace_reader_file(self->r, 0)->usable) {
		snprintf(err, errlen, "nothing readable");
		return -1;
	}
	return load(self, interval, err, errlen);
}

/* Everything after the files are open: scan, replay, build the session. */
static void *warm_main(void *arg)
{
	struct warmer *w = arg;
	/* only the cache matters here: one frame of each address is enough */
	const char *frames[1];
	for (size_t i = 0; i < w->fi->nstacks; i++) {
		const struct stackdef *d = &w->fi->stacks[i];
		for (uint32_t k = 0; k < d->depth; k++) {
			if (__atomic_load_n(&w->stop, __ATOMIC_RELAXED))
				return NULL;
			symbolizer_frames(w->sym, d->frames[k], frames, 1);
		}
	}
	return NULL;
}

/* A symbolizer for the modules a file recorded. */
static struct symbolizer *file_symbolizer(const struct fileinfo *fi)
{
	struct symbolizer *sym = symbolizer_new();
	for (size_t i = 0; sym && i < fi->nmods; i++)
		symbolizer_add_module(sym, fi->mods[i].path, fi->mods[i].m.start,
				      fi->mods[i].m.end, fi->mods[i].m.offset);
	return sym;
}

/* Resolves the frames of file's stacks while the caller replays events;
 * without a thread, the output resolves them as it goes. */
static void warm_start(struct report *self, size_t file)
{
	struct warmer *w = &self->warm;
	const struct fileinfo *fi = &self->fi[file];
	if (self->no_modules || fi->nstacks == 0 || !(w->sym = file_symbolizer(fi)))
		return;
	w->fi = fi;
	w->stop = 0;
	w->running = pthread_create(&w->th, NULL, warm_main, w) == 0;
}

static void warm_stop(struct report *self)
{
	struct warmer *w = &self->warm;
	if (!w->running)
		return;
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELAXED);
	pthread_join(w->th, NULL);
	w->running = false;
}

static int load(struct report *self, double interval, char *err, size_t errlen)
{
	const char *path = self->path;
	size_t nf = trace_reader_file_count(self->r);
	self->fi = calloc(nf ? nf : 1, sizeof(*self->fi));
	self->procs = calloc(nf ? nf : 1, sizeof(*self->procs));
	if (!self->fi || !self->procs) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	self->nfi = nf;
	struct trace_visitor v = { .ctx = self, .stack = on_stack, .module = on_module,
				   .metrics = on_metrics };
	trace_reader_scan(self->r, &v);
	for (size_t i = 0; i < nf; i++) {
		self->files++;
		self->bytes += trace_reader_file(self->r, i)->size;
	}

	/* The main process first: its time span sets the timelines'. */
	size_t main_file = choose_main(self);
	const struct trace_file *mf = main_file != SIZE_MAX ? trace_reader_file(self->r, main_file)
							   : NULL;
	/* /proc figures of the main process only (a child's file read alone
	 * must not get its parent's) */
	size_t km = 0;
	for (size_t i = 0; i < self->nmetrics; i++)
		if (!mf || (int32_t)self->metrics[i].pid == mf->hdr.pid)
			self->metrics[km++] = self->metrics[i];
	self->nmetrics = km;
	session_span(self, mf);
	self->s.interval_s = interval;
	if (mf) {
		warm_start(self, main_file);
		size_t imgs[MAX_IMAGES];
		size_t n = images_of(self, main_file, imgs);
		replay(self, imgs, n, true);
	}
	/* Every other process, as the program it ended as with those it
	 * exec'd from. */
	for (size_t i = 0; i < nf && !self->oom; i++) {
		const struct trace_file *f = trace_reader_file(self->r, i);
		if (i == main_file || !f->usable || f->is_session || replaced_by_exec(self, f))
			continue;
		size_t imgs[MAX_IMAGES];
		size_t n = images_of(self, i, imgs);
		replay(self, imgs, n, false);
	}
	warm_stop(self);
	if (self->oom) {
		snprintf(err, errlen, "out of memory while reading %s", path);
		return -1;
	}
	self->have_main = mf != NULL;
	self->main = 0;
	build_session(self);
	return 0;
}

/* ---------------------------------------------------------------- the session */

static int by_bytes_desc(const void *a, const void *b)
{
	const struct stack_stat *x = a, *y = b;
	if (x->bytes_est != y->bytes_est)
		return x->bytes_est < y->bytes_est ? 1 : -1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void stat_of(struct stack_stat *st, const struct rstack *r)
{
	st->id = r->id;
	st->allocs_est = (double)r->allocs_w / MT_WEIGHT_ONE;
	st->bytes_est = (double)r->bytes_w;
	st->live_bytes_est = r->bytes_w >= r->freed_w ? (double)(r->bytes_w - r->freed_w) : 0;
	st->samples = r->samples;
	st->min_size = r->min_size;
	st->max_size = r->max_size;
	st->first_ns = r->first_ns;
	st->last_ns = r->last_ns;
	st->collector_cpu_s = NAN;   /* not recorded in a trace */
}

static void stat_add(struct stack_stat *st, const struct rstack *r)
{
	struct stack_stat x;
	stat_of(&x, r);
	st->allocs_est += x.allocs_est;
	st->bytes_est += x.bytes_est;
	st->live_bytes_est += x.live_bytes_est;
	st->samples += x.samples;
	if (x.min_size && (!st->min_size || x.min_size < st->min_size))
		st->min_size = x.min_size;
	if (x.max_size > st->max_size)
		st->max_size = x.max_size;
	if (x.first_ns && (!st->first_ns || x.first_ns < st->first_ns))
		st->first_ns = x.first_ns;
	if (x.last_ns > st->last_ns)
		st->last_ns = x.last_ns;
}

/* Every stack of the process, summed over its threads, largest first;
 * *n of them (caller frees). */
static struct stack_stat *process_stacks(const struct proc *p, size_t *n)
{
	*n = 0;
	struct u64map *ids = u64map_new();
	struct stack_stat *all = malloc((p->nst ? p->nst : 1) * sizeof(*all));
	if (!ids || !all) {
		u64map_free(ids);
		free(all);
		return NULL;
	}
	for (size_t i = 0; i < p->nst; i++) {
		const struct rstack *r = &p->st[i];
		if (!r->samples)
			continue;
		bool fresh;
		uint64_t *k = u64map_put(ids, r->id, &fresh);
		if (!k)
			break;
		if (fresh) {
			*k = (*n)++;
			stat_of(&all[*k], r);
		} else {
			stat_add(&all[*k], r);
		}
	}
	u64map_free(ids);
	if (*n)
		qsort(all, *n, sizeof(*all), by_bytes_desc);
	return all;
}

static void parse_sampling(struct session *s, const char *spec)
{
	struct mt_sampling *m = &s->sampling;
	double r[3], boost = 0;
	unsigned long long mt, lt, ft;
	unsigned depth;
	int n = sscanf(spec, "%lf:%lf:%lf:%llu:%llu:%llu:%u:%lf", &r[0], &r[1], &r[2], &mt, &lt,
		       &ft, &depth, &boost);
	if (n < 7)
		return;
	m->enabled = 1;
	for (int i = 0; i < 3; i++)
		m->rate[i] = r[i];
	m->medium_threshold = mt;
	m->large_threshold = lt;
	m->frequency_threshold = ft;
	m->depth = depth;
	m->boost = n == 8 ? boost : NAN;
}

/* Timelines of the process and of each thread from the replay's buckets. */
static void build_history(struct report *self, const struct proc *p)
{
	struct session *s = &self->s;
	double span = s->elapsed_s;
	size_t nb = 0;
	for (size_t i = 0; i < p->npb; i++)
		if (p->pb[i].allocs || p->pb[i].delta)
			nb = i + 1;
	size_t want = span > 0 ? (size_t)ceil(span / p->width - 1e-9) : 1;
	if (want > MAX_POINTS)
		want = MAX_POINTS;
	if (nb < want)
		nb = want;
	if (nb == 0)
		nb = 1;
	size_t mi = 0;
	int64_t live = 0;
	bool have_prev = false;
	struct metric prev = { 0 };
	for (size_t k = 0; k < nb; k++) {
		double lo = (double)k * p->width, hi = (double)(k + 1) * p->width;
		if (k + 1 == nb && span > lo && span < hi)
			hi = span;
		const struct bucket *b = k < p->npb ? &p->pb[k] : NULL;
		live += b ? b->delta : 0;
		struct history_point pt = {
			.t = hi, .live_bytes = (double)live,
			.alloc_rate = hi > lo ? (double)(b ? b->allocs : 0) / (hi - lo) : NAN,
			.rss_bytes = NAN, .cpu_percent = NAN,
		};
		/* The last /proc sample taken in the bucket, if any. */
		for (; mi < self->nmetrics; mi++) {
			const struct metric *m = &self->metrics[mi];
			if (bucket_index(self->t0_ns, m->ns, p->width_ns, MAX_POINTS) > k && k + 1 < nb)
				break;
			if (m->rss != UINT64_MAX)
				pt.rss_bytes = (double)m->rss;
			if (m->cpu != UINT64_MAX && have_prev && prev.cpu != UINT64_MAX &&
			    m->ns > prev.ns && m->cpu >= prev.cpu)
				pt.cpu_percent = 100.0 * (double)(m->cpu - prev.cpu) / (double)(m->ns - prev.ns);
			prev = *m;
			have_prev = true;
		}
		session_history_push(&s->hist, SESSION_HISTORY_PROCESS, &pt);
	}
	s->updates = nb;
	for (size_t i = 0; i < p->nth; i++) {
		const struct rthread *t = &p->th[i];
		struct thread_stat *ts = t->seen ? session_thread(s, (uint32_t)i) : NULL;
		if (!ts)
			continue;
		size_t tn = 0;
		for (size_t k = 0; k < t->nb; k++)
			if (t->b[k].allocs || t->b[k].delta)
				tn = k + 1;
		int64_t tl = 0;
		for (size_t k = 0; k < tn; k++) {
			double lo = (double)k * p->twidth, hi = (double)(k + 1) * p->twidth;
			tl += t->b[k].delta;
			struct history_point pt = {
				.t = hi, .live_bytes = (double)tl,
				.alloc_rate = (double)t->b[k].allocs / (hi - lo),
				.rss_bytes = NAN, .cpu_percent = NAN,
			};
			session_history_push(&ts->hist, SESSION_HISTORY_THREAD, &pt);
		}
	}
}

static void build_session(struct report *self)
{
	struct session *s = &self->s;
	double interval = s->interval_s;
	session_init(s, 0, NULL, "/proc", 0);
	self->session_ready = true;
	s->interval_s = interval;
	s->final = true;
	s->elapsed_s = self->t1_ns > self->t0_ns ? (double)(self->t1_ns - self->t0_ns) / 1e9 : 0;
	/* session_init read this machine's figures: not the trace's */
	memset(&s->prev_sys, 0, sizeof(s->prev_sys));
	memset(&s->first_sys, 0, sizeof(s->first_sys));
	const struct trace_file *sf = session_file(self);
	const struct proc *p = self->have_main ? &self->procs[self->main] : NULL;
	const struct trace_file *mf = p ? p->f : NULL;
	bool own = sf && sf->has_session && (!mf || sf->session.pid == mf->hdr.pid);
	s->pid = mf ? mf->hdr.pid : own ? sf->session.pid : 0;
	const char *cmd = own && sf->command ? sf->command : mf ? mf->hdr.exe : "";
	snprintf(s->command, sizeof(s->command), "%s", cmd);
	if (own && sf->session.exit_status >= 0) {
		s->ended = true;
		s->exit_code = sf->session.exit_status;
		if (sf->end_description)
			snprintf(s->end_description, sizeof(s->end_description), "%s",
				 sf->end_description);
		else
			snprintf(s->end_description, sizeof(s->end_description),
				 "exited with status %d", sf->session.exit_status);
	} else if (mf && mf->has_end) {
		s->ended = true;
		s->exit_code = -1;
		snprintf(s->end_description, sizeof(s->end_description), "ended");
	}
	/* /proc figures: only those the session file recorded (see the
	 * "process_metrics" member); the others stay unmeasured. */
	s->proc_valid = false;
	s->proc_cpu_percent = NAN;
	s->sys_cpu_percent = NAN;
	for (size_t i = self->nmetrics; i-- > 0;) {
		if (self->metrics[i].cpu != UINT64_MAX && s->elapsed_s > 0) {
			s->proc_cpu_percent = 100.0 * (double)self->metrics[i].cpu / 1e9 / s->elapsed_s;
			break;
		}
	}
	if (!p)
		return;
	s->collector_seen = true;
	if (own && sf->sampling) {
		parse_sampling(s, sf->sampling);
		s->stacks_enabled = s->sampling.enabled != 0;
	} else {
		s->stacks_enabled = mf->samples_seen;
		s->sampling.rate[0] = s->sampling.rate[1] = s->sampling.rate[2] = NAN;
		s->sampling.boost = NAN;
	}
	const struct fileinfo *fi = &self->fi[p->file];
	/* the one whose frames were resolved during the replay, if any */
	struct symbolizer *sym = NULL;
	if (self->warm.sym && self->warm.fi == fi) {
		sym = self->warm.sym;
		self->warm.sym = NULL;
	} else if (!self->no_modules) {
		sym = file_symbolizer(fi);
	}
	if (sym && !session_adopt_symbolizer(s, sym))
		symbolizer_free(sym);
	for (size_t i = 0; i < fi->nstacks; i++)
		session_define_stack(s, fi->stacks[i].id, fi->stacks[i].frames, fi->stacks[i].depth,
				     (fi->stacks[i].flags & MT_STACK_TRUNCATED) != 0);
	bool process_gone = s->ended || mf->has_end;
	double span = s->elapsed_s;
	for (size_t i = 0; i < p->nth; i++) {
		const struct rthread *rt = &p->th[i];
		const struct trace_thread *tt = thread_meta(p, i);
		if (!rt->seen)
			continue;
		struct thread_stat *t = session_thread(s, (uint32_t)i);
		if (!t)
			break;
		t->slot = (uint32_t)i;
		t->tid = tt->tid;
		snprintf(t->name, sizeof(t->name), "%s", tt->name);
		t->exited = tt->exited || process_gone;
		t->c = rt->c;
		t->prev = rt->c;
		t->start_ns = tt->start_ns;
		t->end_ns = tt->end_ns;
		t->cpu_valid = tt->cpu_ns != 0;
		t->cpu_s = (double)tt->cpu_ns / 1e9;
		t->alloc_rate = span > 0 ? (double)t->c.allocs / span : NAN;
		t->cpu_percent = t->cpu_valid && span > 0 ? 100.0 * t->cpu_s / span : NAN;
		t->failed_recent = t->c.failed;
	}
	/* totals as update_totals has them */
	struct session_totals *tot = &s->totals;
	tot->peak_live_bytes = p->peak;
	session_sum_threads(s);
	tot->alloc_rate = span > 0 ? (double)tot->allocs / span : NAN;
	s->prev_allocs = tot->allocs;
	session_classify_threads(s);

	/* sampled stacks: per thread, then the process's sums */
	for (size_t i = 0; i < p->nst; i++) {
		const struct rstack *r = &p->st[i];
		if (!r->samples || r->thread >= s->nthreads)
			continue;
		struct thread_stat *t = &s->threads[r->thread];
		struct stack_stat *x = realloc(t->top_stacks, (t->ntop + 1) * sizeof(*x));
		if (!x)
			break;
		t->top_stacks = x;
		stat_of(&t->top_stacks[t->ntop++], r);
		if (r->id == MT_STACK_OTHER)
			s->stacks_lost += r->samples;
	}
	for (size_t i = 0; i < s->nthreads; i++) {
		struct thread_stat *t = &s->threads[i];
		if (t->ntop)
			qsort(t->top_stacks, t->ntop, sizeof(*t->top_stacks), by_bytes_desc);
		if (t->ntop > TOP_STACKS_THREAD)
			t->ntop = TOP_STACKS_THREAD;
	}
	size_t n;
	s->top_stacks = process_stacks(p, &n);
	s->ntop = n < TOP_STACKS_PROCESS ? n : TOP_STACKS_PROCESS;
	build_history(self, p);
}

/* ---------------------------------------------------------------- analyses */

struct group {
	uint32_t id;
	uint64_t n, bytes;           /* exact, of the sampled blocks */
	double n_est, bytes_est;     /* what they stand for */
};

static int by_group_bytes(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	if (x->bytes_est != y->bytes_est)
		return x->bytes_est < y->bytes_est ? 1 : -1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Stacks of the main process summed over threads, with figures picked by
 * which: 0 leaks, 1 temporary. */
static struct group *groups(const struct proc *p, int which, size_t *n)
{
	*n = 0;
	struct u64map *ids = u64map_new();
	struct group *g = malloc((p->nst ? p->nst : 1) * sizeof(*g));
	if (!ids || !g) {
		u64map_free(ids);
		free(g);
		return NULL;
	}
	for (size_t i = 0; i < p->nst; i++) {
		const struct rstack *r = &p->st[i];
		uint64_t cnt = which == 0 ? r->leaked : 0;
		uint64_t w = which == 0 ? r->leaked_w : r->temp_w;
		if (!cnt && !w)
			continue;
		bool fresh;
		uint64_t *k = u64map_put(ids, r->id, &fresh);
		if (!k)
			break;
		if (fresh) {
			*k = (*n)++;
			memset(&g[*k], 0, sizeof(g[0]));
			g[*k].id = r->id;
		}
		struct group *x = &g[*k];
		x->n += cnt;
		x->n_est += (double)w / MT_WEIGHT_ONE;
		if (which == 0) {
			x->bytes += r->leaked_bytes;
			x->bytes_est += (double)r->leaked_bytes_w;
		} else {
			x->bytes_est += (double)w / MT_WEIGHT_ONE;  /* ranked by count */
		}
	}
	u64map_free(ids);
	if (*n)
		qsort(g, *n, sizeof(*g), by_group_bytes);
	return g;
}

struct totals {
	uint64_t blocks, bytes, sampled, unsampled, unsampled_bytes;
};

static struct totals leak_totals(const struct proc *p)
{
	struct totals t = { 0 };
	for (size_t i = 0; i < p->live.cap; i++) {
		const struct rblock *b = &p->live.cells[i];
		if (!b->used)
			continue;
		t.blocks++;
		t.bytes += b->size;
		if (b->stack) {
			t.sampled++;
		} else {
			t.unsampled++;
			t.unsampled_bytes += b->size;
		}
	}
	return t;
}

static double seconds_at(const struct report *self, uint64_t ns)
{
	return ns > self->t0_ns ? (double)(ns - self->t0_ns) / 1e9 : 0;
}

static const struct proc *main_proc(const struct report *self)
{
	return self->have_main ? &self->procs[self->main] : NULL;
}

bool report_figures(const report *self, struct report_figures *out)
{
	memset(out, 0, sizeof(*out));
	out->processes = self->nprocs;
	const struct proc *p = main_proc(self);
	if (!p)
		return false;
	struct totals t = leak_totals(p);
	out->peak_live_bytes = p->peak;
	out->peak_t_s = p->peak_ns ? seconds_at(self, p->peak_ns) : NAN;
	out->leaked_blocks = t.blocks;
	out->leaked_bytes = t.bytes;
	out->leaked_unsampled = t.unsampled;
	out->temporary_allocs = p->temp;
	out->temporary_bytes = p->temp_bytes;
	out->unknown_frees = p->unmatched_frees;
	return true;
}

/* ---------------------------------------------------------------- JSON */

static void key_u(struct json *j, const char *k, uint64_t v)
{
	json_key(j, k);
	json_uint(j, v);
}

static void key_d(struct json *j, const char *k, double v)
{
	json_key(j, k);
	json_double(j, v);
}

static void json_frames(struct json *j, const struct session *s, uint32_t id)
{
	size_t depth;
	bool truncated;
	const char *const *fr = session_stack_frames(s, id, &depth, &truncated);
	json_key(j, "stack_id");
	json_uint(j, id);
	json_key(j, "frames");
	json_begin_array(j);
	if (id == MT_STACK_OTHER)
		json_string(j, FORMAT_CATCH_ALL_STACK);
	for (size_t i = 0; fr && i < depth; i++)
		json_string(j, fr[i]);
	json_end_array(j);
}

static void json_threads_of(struct json *j, const struct report *self, const struct proc *p,
			    int which)
{
	json_begin_array(j);
	for (size_t i = 0; i < p->nth; i++) {
		const struct rthread *t = &p->th[i];
		uint64_t n = which == 0 ? t->leaked : t->temp;
		uint64_t b = which == 0 ? t->leaked_bytes : t->temp_bytes;
		if (!n)
			continue;
		json_begin_object(j);
		json_key(j, "tid");
		json_int(j, thread_meta(p, i)->tid);
		json_key(j, "name");
		json_string(j, thread_meta(p, i)->name);
		key_u(j, "blocks", n);
		key_u(j, "bytes", b);
		json_end_object(j);
	}
	json_end_array(j);
	(void)self;
}

static void json_leaks(struct json *j, const struct report *self, const struct proc *p)
{
	const struct session *s = &self->s;
	struct totals t = leak_totals(p);
	json_key(j, "leaks");
	json_begin_object(j);
	key_u(j, "blocks", t.blocks);
	key_u(j, "bytes", t.bytes);
	json_key(j, "threads");
	json_threads_of(j, self, p, 0);
	json_key(j, "by_stack");
	size_t n;
	struct group *g = groups(p, 0, &n);
	json_begin_array(j);
	for (size_t i = 0; g && i < n && i < JSON_LEAK_STACKS; i++) {
		json_begin_object(j);
		json_frames(j, s, g[i].id);
		key_u(j, "blocks", g[i].n);
		key_u(j, "bytes", g[i].bytes);
		key_u(j, "blocks_est", (uint64_t)llround(g[i].n_est));
		key_u(j, "bytes_est", (uint64_t)llround(g[i].bytes_est));
		json_end_object(j);
	}
	json_end_array(j);
	if (g && n > JSON_LEAK_STACKS)
		key_u(j, "stacks_not_listed", n - JSON_LEAK_STACKS);
	free(g);
	json_key(j, "stack_not_sampled");
	json_begin_object(j);
	key_u(j, "blocks", t.unsampled);
	key_u(j, "bytes", t.unsampled_bytes);
	json_end_object(j);
	json_end_object(j);
}

static void json_temporary(struct json *j, const struct report *self, const struct proc *p)
{
	const struct session *s = &self->s;
	json_key(j, "temporary");
	json_begin_object(j);
	key_u(j, "allocs", p->temp);
	key_u(j, "bytes", p->temp_bytes);
	key_d(j, "share", s->totals.allocs ? (double)p->temp / (double)s->totals.allocs : NAN);
	json_key(j, "threads");
	json_threads_of(j, self, p, 1);
	json_key(j, "by_stack");
	size_t n;
	struct group *g = groups(p, 1, &n);
	json_begin_array(j);
	for (size_t i = 0; g && i < n && i < JSON_TEMP_STACKS; i++) {
		json_begin_object(j);
		json_frames(j, s, g[i].id);
		key_u(j, "allocs_est", (uint64_t)llround(g[i].n_est));
		json_end_object(j);
	}
	json_end_array(j);
	free(g);
	json_end_object(j);
}

static void json_peak(struct json *j, const struct report *self, const struct proc *p)
{
	json_key(j, "peak");
	json_begin_object(j);
	json_key(j, "live_bytes");
	json_int(j, p->peak);
	key_d(j, "t_s", p->peak_ns ? seconds_at(self, p->peak_ns) : NAN);
	key_d(j, "time_s", p->peak_ns ? (double)p->peak_ns / 1e9 : NAN);
	json_key(j, "threads");
	json_begin_array(j);
	for (size_t i = 0; i < p->nth; i++) {
		const struct rthread *t = &p->th[i];
		if (!t->seen || !t->c.allocs)
			continue;
		json_begin_object(j);
		json_key(j, "tid");
		json_int(j, thread_meta(p, i)->tid);
		json_key(j, "peak_live_bytes");
		json_int(j, t->c.peak_live);
		key_d(j, "t_s", t->peak_ns ? seconds_at(self, t->peak_ns) : NAN);
		json_end_object(j);
	}
	json_end_array(j);
	json_end_object(j);
}

static void json_proc_totals(struct json *j, const struct proc *p)
{
	struct mt_counters c = { 0 };
	uint32_t threads = 0;
	for (size_t i = 0; i < p->nth; i++) {
		const struct rthread *t = &p->th[i];
		if (!t->seen)
			continue;
		threads++;
		c.allocs += t->c.allocs;
		c.frees += t->c.frees;
		c.reallocs += t->c.reallocs;
		c.failed += t->c.failed;
		c.bytes_allocated += t->c.bytes_allocated;
		c.usable_allocated += t->c.usable_allocated;
		c.usable_freed += t->c.usable_freed;
	}
	json_key(j, "totals");
	json_begin_object(j);
	key_u(j, "allocs", c.allocs);
	key_u(j, "frees", c.frees);
	key_u(j, "reallocs", c.reallocs);
	key_u(j, "failed", c.failed);
	key_u(j, "bytes_allocated", c.bytes_allocated);
	key_u(j, "bytes_freed", c.usable_freed);
	json_key(j, "live_bytes");
	json_int(j, (int64_t)(c.usable_allocated - c.usable_freed));
	json_key(j, "peak_live_bytes");
	json_int(j, p->peak);
	key_u(j, "threads_seen", threads);
	json_end_object(j);
}

static void json_file_state(struct json *j, const struct trace_file *f)
{
	json_key(j, "file");
	json_string(j, f->name);
	key_u(j, "events", f->events);
	json_key(j, "complete");
	json_bool(j, trace_file_complete(f));
	json_key(j, "events_lost");
	if (f->has_end)
		json_uint(j, f->end.lost);
	else
		json_null(j);
}

static void json_trace(struct json *j, const struct report *self)
{
	json_key(j, "trace");
	json_begin_object(j);
	json_key(j, "path");
	json_string(j, self->path);
	key_u(j, "files", self->files);
	key_u(j, "bytes", self->bytes);
	key_d(j, "timeline_interval_s", main_proc(self) ? main_proc(self)->width : NAN);
	json_key(j, "processes");
	json_begin_array(j);
	for (size_t i = 0; i < self->nprocs; i++) {
		const struct proc *p = &self->procs[i];
		json_begin_object(j);
		json_key(j, "pid");
		json_int(j, p->f->hdr.pid);
		json_key(j, "ppid");
		json_int(j, p->f->hdr.ppid);
		json_key(j, "exe");
		json_string(j, p->f->hdr.exe);
		json_key(j, "main");
		json_bool(j, self->have_main && i == self->main);
		json_file_state(j, p->f);
		/* the programs it was before it exec'd the last, oldest first */
		json_key(j, "exec_images");
		json_begin_array(j);
		for (size_t k = 0; k + 1 < p->nimg; k++) {
			json_begin_object(j);
			json_key(j, "exe");
			json_string(j, p->img[k]->hdr.exe);
			json_file_state(j, p->img[k]);
			json_end_object(j);
		}
		json_end_array(j);
		key_u(j, "frees_of_unknown_blocks", p->unmatched_frees);
		json_proc_totals(j, p);
		json_end_object(j);
	}
	json_end_array(j);
	size_t nw, dropped;
	const char *const *w = trace_reader_warnings(self->r, &nw, &dropped);
	json_key(j, "warnings");
	json_begin_array(j);
	for (size_t i = 0; i < nw; i++)
		json_string(j, w[i]);
	json_end_array(j);
	if (dropped)
		key_u(j, "warnings_not_listed", dropped);
	json_end_object(j);
}

static void json_metrics(struct json *j, const struct report *self)
{
	json_key(j, "process_metrics");
	if (!self->nmetrics) {
		json_null(j);
		return;
	}
	uint64_t rss_last = UINT64_MAX, rss_peak = 0, cpu = UINT64_MAX;
	uint32_t threads_max = 0;
	bool rss_any = false;
	for (size_t i = 0; i < self->nmetrics; i++) {
		const struct metric *m = &self->metrics[i];
		if (m->rss != UINT64_MAX) {
			rss_last = m->rss;
			rss_any = true;
			if (m->rss > rss_peak)
				rss_peak = m->rss;
		}
		if (m->cpu != UINT64_MAX)
			cpu = m->cpu;
		if (m->threads > threads_max)
			threads_max = m->threads;
	}
	json_begin_object(j);
	key_u(j, "samples", self->nmetrics);
	json_key(j, "rss_bytes");
	if (rss_any)
		json_uint(j, rss_last);
	else
		json_null(j);
	json_key(j, "rss_peak_bytes");
	if (rss_any)
		json_uint(j, rss_peak);
	else
		json_null(j);
	key_d(j, "cpu_time_s", cpu != UINT64_MAX ? (double)cpu / 1e9 : NAN);
	key_u(j, "threads_max", threads_max);
	json_end_object(j);
}

void report_write_json(report *self, FILE *f)
{
	/* batch's record, unchanged, with the report's members added before
	 * its closing brace */
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return;
	batch_write_json(m, &self->s, true);
	fclose(m);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '}'))
		if (buf[--len] == '}')
			break;
	fwrite(buf, 1, len, f);
	free(buf);
	struct json j;
	json_init(&j, f);
	j.depth = 1;
	j.first[1] = 0;
	json_trace(&j, self);
	json_metrics(&j, self);
	const struct proc *p = main_proc(self);
	if (p) {
		json_peak(&j, self, p);
		json_leaks(&j, self, p);
		json_temporary(&j, self, p);
	} else {
		json_key(&j, "peak");
		json_null(&j);
		json_key(&j, "leaks");
		json_null(&j);
		json_key(&j, "temporary");
		json_null(&j);
	}
	json_end_object(&j);
	json_newline(&j);
	fflush(f);
}

/* ---------------------------------------------------------------- text */

static void text_frames(FILE *f, const struct session *s, uint32_t id)
{
	size_t depth;
	bool truncated;
	const char *const *fr = session_stack_frames(s, id, &depth, &truncated);
	if (id == MT_STACK_OTHER)
		fprintf(f, "        %s\n", FORMAT_CATCH_ALL_STACK);
	for (size_t k = 0; fr && k < depth && k < TEXT_FRAMES; k++) {
		char line[512];
		format_sanitize(line, sizeof(line), fr[k], strlen(fr[k]));
		fprintf(f, "        %s\n", line);
	}
	if (depth > TEXT_FRAMES)
		fprintf(f, "        ... %zu more frames\n", depth - TEXT_FRAMES);
}

static void text_threads_of(FILE *f, const struct proc *p, int which)
{
	size_t shown = 0;
	for (size_t i = 0; i < p->nth && shown < TEXT_LIST; i++) {
		const struct rthread *t = &p->th[i];
		uint64_t n = which == 0 ? t->leaked : t->temp;
		uint64_t b = which == 0 ? t->leaked_bytes : t->temp_bytes;
		if (!n)
			continue;
		char name[64], a[32], c[32];
		const struct trace_thread *tt = thread_meta(p, i);
		format_sanitize(name, sizeof(name), tt->name, strlen(tt->name));
		fprintf(f, "    tid %d %s: %s block%s, %s\n", tt->tid, name,
			format_count(a, sizeof(a), (double)n), n == 1 ? "" : "s",
			format_bytes(c, sizeof(c), (int64_t)b));
		shown++;
	}
}

static void text_analyses(FILE *f, const struct report *self, const struct proc *p)
{
	const struct session *s = &self->s;
	char a[32], b[32], c[32], d[32];
	fprintf(f, "Peak heap: %s live at %s into the run (the process's exact peak; "
		"totals' peak is the largest of it and the threads' own)\n",
		format_bytes(a, sizeof(a), p->peak),
		p->peak_ns ? format_duration(b, sizeof(b), seconds_at(self, p->peak_ns)) : "n/a");

	struct totals t = leak_totals(p);
	fprintf(f, "\nLeaks: %s blocks never freed, %s requested\n",
		format_count(a, sizeof(a), (double)t.blocks), format_bytes(b, sizeof(b), (int64_t)t.bytes));
	text_threads_of(f, p, 0);
	size_t n;
	struct group *g = groups(p, 0, &n);
	for (size_t i = 0; g && i < n && i < TEXT_LIST; i++) {
		fprintf(f, "  #%zu  stack %u: %llu sampled block%s, %s (estimated %s blocks, %s) from:\n",
			i + 1, (unsigned)g[i].id, (unsigned long long)g[i].n, g[i].n == 1 ? "" : "s",
			format_bytes(a, sizeof(a), (int64_t)g[i].bytes),
			format_count(b, sizeof(b), g[i].n_est),
			format_bytes(c, sizeof(c), (int64_t)llround(g[i].bytes_est)));
		text_frames(f, s, g[i].id);
	}
	if (g && n > TEXT_LIST)
		fprintf(f, "  ... %zu more stacks\n", n - TEXT_LIST);
	free(g);
	if (t.unsampled)
		fprintf(f, "  stack not sampled: %s blocks, %s\n",
			format_count(a, sizeof(a), (double)t.unsampled),
			format_bytes(b, sizeof(b), (int64_t)t.unsampled_bytes));

	fprintf(f, "\nTemporary allocations (freed before their thread's next allocation): "
		"%s of %s allocs (%s), %s\n",
		format_count(a, sizeof(a), (double)p->temp),
		format_count(b, sizeof(b), (double)s->totals.allocs),
		s->totals.allocs ? (snprintf(c, sizeof(c), "%.1f%%",
					     100.0 * (double)p->temp / (double)s->totals.allocs), c)
				 : "n/a",
		format_bytes(d, sizeof(d), (int64_t)p->temp_bytes));
	text_threads_of(f, p, 1);
	g = groups(p, 1, &n);
	for (size_t i = 0; g && i < n && i < 3; i++) {
		fprintf(f, "  #%zu  stack %u: about %s temporary allocations from:\n", i + 1,
			(unsigned)g[i].id, format_count(a, sizeof(a), g[i].n_est));
		text_frames(f, s, g[i].id);
	}
	free(g);
	fputc('\n', f);
}

static void text_trace(FILE *f, const struct report *self)
{
	char a[32], b[32];
	char path[512];
	format_sanitize(path, sizeof(path), self->path, strlen(self->path));
	fprintf(f, "Trace: %s, %llu file%s, %s\n", path, (unsigned long long)self->files,
		self->files == 1 ? "" : "s", format_bytes(a, sizeof(a), (int64_t)self->bytes));
	for (size_t i = 0; i < self->nprocs; i++) {
		const struct proc *p = &self->procs[i];
		const struct trace_file *tf = p->f;
		uint64_t allocs = 0;
		for (size_t k = 0; k < p->nth; k++)
			allocs += p->th[k].c.allocs;
		char exe[300];
		format_sanitize(exe, sizeof(exe), tf->hdr.exe, strlen(tf->hdr.exe));
		fprintf(f, "  pid %d%s (parent %d) %s: %s events, %s allocs, %s",
			tf->hdr.pid, self->have_main && i == self->main ? " [reported above]" : "",
			tf->hdr.ppid, exe, format_count(a, sizeof(a), (double)tf->events),
			format_count(b, sizeof(b), (double)allocs),
			trace_file_complete(tf) ? "complete"
			: tf->has_end ? "incomplete (see the warnings)"
				      : "no end record (killed, or still running): "
					"events its threads had not written out are missing");
		if (tf->has_end && tf->end.lost)
			fprintf(f, ", %llu events not recorded", (unsigned long long)tf->end.lost);
		if (p->unmatched_frees)
			fprintf(f, ", %llu frees of blocks allocated before the trace",
				(unsigned long long)p->unmatched_frees);
		fputc('\n', f);
		for (size_t k = 0; k + 1 < p->nimg; k++) {
			const struct trace_file *g = p->img[k];
			format_sanitize(exe, sizeof(exe), g->hdr.exe, strlen(g->hdr.exe));
			fprintf(f, "    before an exec: %s: %s events, counted with the above\n", exe,
				format_count(a, sizeof(a), (double)g->events));
		}
	}
	if (self->nmetrics == 0)
		fprintf(f, "  no process metrics (RSS, CPU): %s\n", session_file(self)
			? "the command ended before memtop's first sample"
			: "no session.mtt (the trace was not recorded by memtop --trace)");
	size_t nw, dropped;
	const char *const *w = trace_reader_warnings(self->r, &nw, &dropped);
	for (size_t i = 0; i < nw; i++) {
		char line[600];
		format_sanitize(line, sizeof(line), w[i], strlen(w[i]));
		fprintf(f, "  warning: %s\n", line);
	}
	if (dropped)
		fprintf(f, "  ... and %zu more warnings\n", dropped);
	fputc('\n', f);
}

void report_write_text(report *self, FILE *f)
{
	struct batch b;
	batch_init(&b, f, false, true);
	batch_summary(&b, &self->s);
	const struct proc *p = main_proc(self);
	if (self->nmetrics) {
		uint64_t rss = 0, cpu = UINT64_MAX;
		bool rss_any = false;
		for (size_t i = 0; i < self->nmetrics; i++) {
			if (self->metrics[i].rss != UINT64_MAX && self->metrics[i].rss >= rss) {
				rss = self->metrics[i].rss;
				rss_any = true;
			}
			if (self->metrics[i].cpu != UINT64_MAX)
				cpu = self->metrics[i].cpu;
		}
		char a[32], c[32];
		fprintf(f, "Recorded: RSS peak %s  CPU time %s  (%zu samples)\n\n",
			rss_any ? format_bytes(a, sizeof(a), (int64_t)rss) : "n/a",
			cpu != UINT64_MAX ? format_duration(c, sizeof(c), (double)cpu / 1e9) : "n/a",
			self->nmetrics);
	}
	if (p)
		text_analyses(f, self, p);
	text_trace(f, self);
	fflush(f);
}

/* ---------------------------------------------------------------- folded stacks */

/* A frame for the folded format: no ';' (the separator) and no newline. */
static void put_frame(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == ';' ? ':' : (*s == '\n' || *s == '\r') ? ' ' : *s, f);
}

int report_write_collapsed(report *self, FILE *f, char *err, size_t errlen)
{
	const struct proc *p = main_proc(self);
	if (!p || !self->s.stacks_enabled) {
		snprintf(err, errlen, "the trace has no sampled stacks (recorded with --no-stacks?)");
		return -1;
	}
	size_t n;
	struct stack_stat *all = process_stacks(p, &n);
	for (size_t i = 0; all && i < n; i++) {
		uint64_t v = (uint64_t)llround(all[i].bytes_est);
		if (!v)
			continue;
		size_t depth;
		bool truncated;
		const char *const *fr = session_stack_frames(&self->s, all[i].id, &depth, &truncated);
		if (!fr || !depth) {
			put_frame(f, all[i].id == MT_STACK_OTHER ? "[stack not recorded]" : "[unknown]");
		} else {
			for (size_t k = depth; k-- > 0;) {
				put_frame(f, fr[k]);
				if (k)
					fputc(';', f);
			}
		}
		fprintf(f, " %llu\n", (unsigned long long)v);
	}
	free(all);
	if (fflush(f) != 0 || ferror(f)) {
		snprintf(err, errlen, "write failed: %s", strerror(errno ? errno : EIO));
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- pprof */

static int write_pprof(report *self, const char *path, bool force, char *err, size_t errlen)
{
	const struct proc *p = main_proc(self);
	if (!p || !self->s.stacks_enabled) {
		snprintf(err, errlen, "%s: the trace has no sampled stacks (recorded with --no-stacks?)",
			 path);
		return -1;
	}
	size_t n;
	struct stack_stat *all = process_stacks(p, &n);
	struct pprof_sample *smp = calloc(n ? n : 1, sizeof(*smp));
	if (!all || !smp) {
		free(all);
		free(smp);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		bool truncated;
		smp[i].frames = session_stack_frames(&self->s, all[i].id, &smp[i].nframes, &truncated);
		if (!smp[i].frames || !smp[i].nframes) {
			/* a sample needs a location: the catch-all stack's name */
			static const char *const none[] = { "[stack not recorded]" };
			smp[i].frames = none;
			smp[i].nframes = 1;
		}
		smp[i].values[0] = llround(all[i].allocs_est);
		smp[i].values[1] = llround(all[i].bytes_est);
		/* in use: what the live estimate says of bytes, and objects in
		 * proportion */
		smp[i].values[3] = llround(all[i].live_bytes_est);
		smp[i].values[2] = all[i].bytes_est > 0
			? llround(all[i].allocs_est * all[i].live_bytes_est / all[i].bytes_est) : 0;
	}
	uint64_t duration = self->t1_ns > self->t0_ns ? self->t1_ns - self->t0_ns : 0;
	int r = pprof_write(path, force, smp, n, self->t0_ns, duration, err, errlen);
	free(smp);
	free(all);
	return r;
}

/* ---------------------------------------------------------------- main */

static FILE *open_out(const char *path, const char *option, bool force, char *err, size_t errlen)
{
	if (!path || strcmp(path, "-") == 0)
		return stdout;
	int fd = options_open_output(path, option, force, err, errlen);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

static int close_out(FILE *f, const char *path)
{
	if (f == stdout) {
		if (fflush(f) != 0 || ferror(f)) {
			format_warn("writing the report failed: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	bool bad = ferror(f) != 0;
	if (fclose(f) != 0 || bad) {
		format_warn("writing %s failed: %s", path, strerror(errno ? errno : EIO));
		return -1;
	}
	return 0;
}

int report_main(const struct options *opts)
{
	char err[1024];
	/* known before the trace is read, which may take long */
	if (opts->export_path && html_export_check(opts->export_path, err, sizeof(err)) != 0) {
		format_warn("%s", err);
		return 1;
	}
	report *r = report_new();
	if (!r) {
		format_warn("out of memory");
		return 1;
	}
	if (report_load(r, opts->report_dir, opts->interval, err, sizeof(err)) != 0) {
		format_warn("%s", err);
		report_free(r);
		return 1;
	}
	size_t nw;
	trace_reader_warnings(r->r, &nw, NULL);
	if (nw)
		format_warn("the trace is damaged or incomplete (%zu warnings, listed in "
			"the report); the report covers what could be read", nw);
	if (!r->have_main)
		format_warn("%s holds no process trace (the command never loaded the "
			"collector?): no heap figures", opts->report_dir);
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct trace_file *tf = r->procs[i].f;
		if (!tf->has_end)
			format_warn("pid %d did not finish its trace (killed, or still "
				"running): %llu events read; those its threads had not written out "
				"yet are missing", tf->hdr.pid, (unsigned long long)tf->events);
	}
	int status = 0;
	FILE *out = open_out(opts->output_path, "-o", opts->force, err, sizeof(err));
	if (!out) {
		format_warn("%s", err);
		report_free(r);
		return 1;
	}
	errno = 0;
	if (opts->json)
		report_write_json(r, out);
	else
		report_write_text(r, out);
	if (close_out(out, opts->output_path) != 0)
		status = 1;
	if (opts->collapsed_path) {
		FILE *c = open_out(opts->collapsed_path, "--collapsed", opts->force, err, sizeof(err));
		if (!c) {
			format_warn("%s", err);
			status = 1;
		} else {
			errno = 0;
			if (report_write_collapsed(r, c, err, sizeof(err)) != 0) {
				format_warn("%s: %s", opts->collapsed_path, err);
				status = 1;
			}
			if (close_out(c, opts->collapsed_path) != 0)
				status = 1;
		}
	}
	if (opts->pprof_path && write_pprof(r, opts->pprof_path, opts->force, err, sizeof(err)) != 0) {
		format_warn("%s", err);
		status = 1;
	}
	if (opts->export_path) {
		if (html_export(&r->s, opts->export_path, opts->force, err, sizeof(err)) != 0) {
			format_warn("%s", err);
			status = 1;
		} else {
			format_warn("report written to %s", opts->export_path);
		}
	}
	report_free(r);
	return status;
}
