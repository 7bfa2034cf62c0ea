/*
 * inject.c - a process's maps and dynamic symbols, and calls made on one of
 * its threads borrowed with ptrace (see inject.h).
 *
 * A call: the thread's registers point at the function, its stack (below
 * the 128-byte red zone, which the interrupted code may be using) holds the
 * arguments' data and a return address of 0, so the function's return
 * faults at address 0: the SIGSEGV stop with rip == 0 is the end of the
 * call, and is suppressed.  orig_rax is set to -1 for the call, so that the
 * kernel does not apply the interrupted system call's restart to it; the
 * saved registers carry the restart back, and the interrupted call resumes
 * as after any signal.  Signals that arrive for the thread meanwhile are
 * held back and delivered when it is let go.
 */
#include "config.h"

#define _GNU_SOURCE 1
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "inject.h"

#define RED_ZONE        128
#define STACK_NEEDED    (64 * 1024)   /* room a call may use below the stack pointer */
#define RETURN_SCAN     8             /* stack words checked for returns into unsafe code */
#define XSTATE_MAX      (32 * 1024)
#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE   0x202
#endif

static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = e;
	return -1;
}

/* ---------------------------------------------------------------- maps */

int maps_read(int pid, struct proc_maps *out)
{
	memset(out, 0, sizeof(*out));
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	while (getline(&line, &cap, f) > 0) {
		unsigned long start, end, off, inode;
		unsigned maj, min;
		char perms[8];
		int pos = 0;
		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %n", &start, &end, perms, &off, &maj, &min,
			   &inode, &pos) < 7)
			continue;
		if (out->n == alloc) {
			size_t na = alloc ? alloc * 2 : 256;
			struct map_entry *e = realloc(out->e, na * sizeof(*e));
			if (!e)
				break;
			out->e = e;
			alloc = na;
		}
		char *p = line + pos;
		p[strcspn(p, "\n")] = '\0';
		struct map_entry *m = &out->e[out->n];
		m->start = start;
		m->end = end;
		m->offset = off;
		m->prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
			  (perms[2] == 'x' ? PROT_EXEC : 0);
		m->dev_major = maj;
		m->dev_minor = min;
		m->inode = inode;
		m->path = strdup(p);
		if (!m->path)
			break;
		out->n++;
	}
	free(line);
	int e = ferror(f) ? errno : 0;
	fclose(f);
	if (out->n == 0) {
		maps_free(out);
		errno = e ? e : ENOENT;
		return -1;
	}
	return 0;
}

void maps_free(struct proc_maps *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->e[i].path);
	free(m->e);
	m->e = NULL;
	m->n = 0;
}

const struct map_entry *maps_find(const struct proc_maps *m, uintptr_t addr)
{
	for (size_t i = 0; i < m->n; i++)
		if (addr >= m->e[i].start && addr < m->e[i].end)
			return &m->e[i];
	return NULL;
}

static bool name_matches(const char *path, const char *prefix, const char *exact)
{
	if (!prefix)
		return strcmp(path, exact) == 0;
	const char *base = strrchr(path, '/');
	return base && strncmp(base + 1, prefix, strlen(prefix)) == 0;
}

bool module_find(const struct proc_maps *m, const char *prefix, const char *path,
		 struct module *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < m->n; i++) {
		const struct map_entry *e = &m->e[i];
		if (e->path[0] != '/' || !name_matches(e->path, prefix, path))
			continue;
		if (!out->first && e->offset == 0)
			out->first = e;
		if (out->first && strcmp(e->path, out->first->path) == 0 && (e->prot & PROT_EXEC)) {
			if (!out->text_lo || e->start < out->text_lo)
				out->text_lo = e->start;
			if (e->end > out->text_hi)
				out->text_hi = e->end;
		}
	}
	if (out->first)
		out->base = out->first->start;
	return out->first != NULL && out->text_hi != 0;
}

/* ---------------------------------------------------------------- ELF */

static bool read_at(int fd, void *buf, size_t len, uint64_t off)
{
	return pread(fd, buf, len, (off_t)off) == (ssize_t)len;
}

int elf_machine(const char *path, uint16_t *machine, bool *is_elf64)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	unsigned char id[EI_NIDENT + 4];
	bool ok = read_at(fd, id, sizeof(id), 0);
	close(fd);
	if (!ok || memcmp(id, ELFMAG, SELFMAG) != 0) {
		errno = ENOEXEC;
		return -1;
	}
	/* e_machine sits right after e_ident and e_type in both classes */
	uint16_t m;
	memcpy(&m, id + EI_NIDENT + 2, sizeof(m));
	*machine = m;
	*is_elf64 = id[EI_CLASS] == ELFCLASS64;
	return 0;
}

static int open_mapped(int pid, const struct map_entry *e, char *err, size_t errlen)
{
	char path[4200];
	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid, (unsigned long)e->start,
		 (unsigned long)e->end);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	/* map_files needs privileges; the path, if it is still that file */
	snprintf(path, sizeof(path), "/proc/%d/root%s", pid, e->path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_ino == e->inode &&
	    major(st.st_dev) == e->dev_major && minor(st.st_dev) == e->dev_minor)
		return fd;
	if (fd >= 0)
		close(fd);
	return fail(err, errlen, ESTALE,
		    "%s, as loaded by pid %d, is not the file on disk any more (replaced since "
		    "the process started?)", e->path, pid);
}

static int by_value(const void *a, const void *b)
{
	const struct elf_sym *x = a, *y = b;
	return x->value < y->value ? -1 : x->value > y->value;
}

int elf_syms_load(int pid, const struct module *mod, struct elf_syms *out, char *err,
		  size_t errlen)
{
	memset(out, 0, sizeof(*out));
	int fd = open_mapped(pid, mod->first, err, errlen);
	if (fd < 0)
		return -1;
	Elf64_Ehdr eh;
	Elf64_Shdr *sh = NULL;
	Elf64_Sym *syms = NULL;
	int rc = -1;
	if (!read_at(fd, &eh, sizeof(eh), 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_shentsize != sizeof(Elf64_Shdr) ||
	    eh.e_phentsize != sizeof(Elf64_Phdr)) {
		fail(err, errlen, ENOEXEC, "%s is not a 64-bit ELF object", mod->first->path);
		goto out;
	}
	out->machine = eh.e_machine;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (!read_at(fd, &ph, sizeof(ph), eh.e_phoff + (uint64_t)i * sizeof(ph)))
			break;
		if (ph.p_type == PT_LOAD) {
			out->first_load_vaddr = ph.p_vaddr - ph.p_offset;
			break;
		}
	}
	sh = calloc(eh.e_shnum ? eh.e_shnum : 1, sizeof(*sh));
	if (!sh || !read_at(fd, sh, (size_t)eh.e_shnum * sizeof(*sh), eh.e_shoff)) {
		fail(err, errlen, ENOEXEC, "%s: cannot read its section headers", mod->first->path);
		goto out;
	}
	const Elf64_Shdr *dynsym = NULL;
	for (unsigned i = 0; i < eh.e_shnum; i++)
		if (sh[i].sh_type == SHT_DYNSYM && sh[i].sh_link < eh.e_shnum)
			dynsym = &sh[i];
	if (!dynsym || dynsym->sh_entsize != sizeof(Elf64_Sym) || dynsym->sh_size > (64u << 20)) {
		fail(err, errlen, ENOEXEC, "%s has no dynamic symbol table", mod->first->path);
		goto out;
	}
	const Elf64_Shdr *str = &sh[dynsym->sh_link];
	size_t nsym = dynsym->sh_size / sizeof(Elf64_Sym);
	syms = malloc(dynsym->sh_size ? dynsym->sh_size : 1);
	out->strtab = malloc(str->sh_size + 1);
	out->s = calloc(nsym ? nsym : 1, sizeof(*out->s));
	if (!syms || !out->strtab || !out->s || str->sh_size > (64u << 20) ||
	    !read_at(fd, syms, dynsym->sh_size, dynsym->sh_offset) ||
	    !read_at(fd, out->strtab, str->sh_size, str->sh_offset)) {
		fail(err, errlen, ENOEXEC, "%s: cannot read its dynamic symbols", mod->first->path);
		goto out;
	}
	out->strtab[str->sh_size] = '\0';
	for (size_t i = 0; i < nsym; i++) {
		const Elf64_Sym *s = &syms[i];
		if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF ||
		    s->st_value == 0 || s->st_name >= str->sh_size)
			continue;
		out->s[out->n++] = (struct elf_sym){ out->strtab + s->st_name, s->st_value, s->st_size };
	}
	qsort(out->s, out->n, sizeof(*out->s), by_value);
	rc = 0;
out:
	free(syms);
	free(sh);
	close(fd);
	if (rc != 0)
		elf_syms_free(out);
	return rc;
}

void elf_syms_free(struct elf_syms *s)
{
	free(s->s);
	free(s->strtab);
	memset(s, 0, sizeof(*s));
}

uintptr_t elf_sym_addr(const struct elf_syms *s, const struct module *mod, const char *name,
		       uint64_t *size)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->s[i].name, name) != 0)
			continue;
		if (size)
			*size = s->s[i].size;
		return mod->base - (uintptr_t)s->first_load_vaddr + (uintptr_t)s->s[i].value;
	}
	return 0;
}

/* ---------------------------------------------------------------- borrowed thread */

void unsafe_add(struct unsafe_ranges *u, uintptr_t lo, uintptr_t hi)
{
	if (lo < hi && u->n < sizeof(u->r) / sizeof(u->r[0])) {
		u->r[u->n].lo = lo;
		u->r[u->n].hi = hi;
		u->n++;
	}
}

static bool unsafe_has(const struct unsafe_ranges *u, uintptr_t a)
{
	for (size_t i = 0; i < u->n; i++)
		if (a >= u->r[i].lo && a < u->r[i].hi)
			return true;
	return false;
}

/* Memory goes through the borrowed thread's id: the main thread may have
 * exited (its /proc entry then has no memory) while the others run. */
int remote_read(struct remote *r, uintptr_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };
	if (process_vm_readv(r->tid, &local, 1, &remote, 1, 0) == (ssize_t)len)
		return 0;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", r->tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = pread(fd, buf, len, (off_t)addr);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

int remote_write(struct remote *r, uintptr_t addr, const void *buf, size_t len)
{
	struct iovec local = { (void *)buf, len }, remote = { (void *)addr, len };
	if (process_vm_writev(r->tid, &local, 1, &remote, 1, 0) == (ssize_t)len)
		return 0;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", r->tid);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = pwrite(fd, buf, len, (off_t)addr);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

static void defer_signal(struct remote *r, int sig)
{
	if (r->ndeferred < sizeof(r->deferred) / sizeof(r->deferred[0]))
		r->deferred[r->ndeferred++] = sig;
}

/* Wait for the seized thread's first stop; a signal that stops it first is
 * held back for later. */
static int wait_first_stop(struct remote *r, char *err, size_t errlen)
{
	for (;;) {
		int st;
		pid_t w = waitpid(r->tid, &st, __WALL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return fail(err, errlen, errno, "waiting for thread %d: %s", r->tid,
				    strerror(errno));
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			r->seized = false;
			return fail(err, errlen, ESRCH, "pid %d ended while memtop attached", r->pid);
		}
		if (!WIFSTOPPED(st))
			continue;
		if ((st >> 16) == PTRACE_EVENT_STOP)
			return 0;
		defer_signal(r, WSTOPSIG(st));
		if (ptrace(PTRACE_CONT, r->tid, 0, 0) != 0)
			return fail(err, errlen, errno, "ptrace(PTRACE_CONT): %s", strerror(errno));
	}
}

int remote_seize(struct remote *r, int pid, int tid, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	r->tid = tid;
	if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0)
		return fail(err, errlen, errno, "ptrace(PTRACE_SEIZE) of pid %d: %s", tid,
			    strerror(errno));
	r->seized = true;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0 || wait_first_stop(r, err, errlen) != 0) {
		int e = errno;
		if (r->seized)
			ptrace(PTRACE_DETACH, tid, 0, 0);
		r->seized = false;
		errno = e;
		return -1;
	}
	if (ptrace(PTRACE_GETREGS, tid, 0, &r->regs) != 0) {
		int e = errno;
		remote_release_untouched(r);
		return fail(err, errlen, e, "ptrace(PTRACE_GETREGS): %s", strerror(e));
	}
	r->xstate = malloc(XSTATE_MAX);
	if (r->xstate) {
		struct iovec iov = { r->xstate, XSTATE_MAX };
		if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_X86_XSTATE, &iov) == 0) {
			r->have_xstate = true;
			r->xstate_len = iov.iov_len;
		}
	}
	if (!r->have_xstate && ptrace(PTRACE_GETFPREGS, tid, 0, &r->fpregs) != 0) {
		int e = errno;
		remote_release_untouched(r);
		return fail(err, errlen, e, "ptrace(PTRACE_GETFPREGS): %s", strerror(e));
	}
	r->sp = r->regs.rsp - RED_ZONE;
	return 0;
}

/* Re-send the held-back signals, as if they arrived just now. */
static void redeliver(struct remote *r)
{
	for (size_t i = 0; i < r->ndeferred; i++)
		syscall(SYS_tgkill, r->pid, r->tid, r->deferred[i]);
	r->ndeferred = 0;
}

void remote_release_untouched(struct remote *r)
{
	if (r->seized)
		ptrace(PTRACE_DETACH, r->tid, 0, 0);
	r->seized = false;
	redeliver(r);
	free(r->xstate);
	r->xstate = NULL;
}

/* System calls no allocator or loader makes while holding a lock: a thread
 * blocked in one is between the program's own calls. */
static bool idle_syscall(long nr)
{
	switch (nr) {
	case SYS_nanosleep: case SYS_clock_nanosleep: case SYS_pause: case SYS_rt_sigsuspend:
	case SYS_rt_sigtimedwait: case SYS_poll: case SYS_ppoll: case SYS_select:
	case SYS_pselect6: case SYS_epoll_wait: case SYS_epoll_pwait: case SYS_read:
	case SYS_readv: case SYS_pread64: case SYS_recvfrom: case SYS_recvmsg: case SYS_accept:
	case SYS_accept4: case SYS_wait4: case SYS_waitid: case SYS_msgrcv: case SYS_semtimedop:
	case SYS_io_getevents: case SYS_write: case SYS_sendto: case SYS_sendmsg:
		return true;
	default:
		return false;
	}
}

bool remote_safe_point(struct remote *r, const struct unsafe_ranges *u,
		       const struct proc_maps *maps, char *reason, size_t rlen)
{
	uintptr_t ip = r->regs.rip, sp = r->regs.rsp;
	if (unsafe_has(u, ip)) {
		snprintf(reason, rlen, "thread %d is inside malloc, fork or the dynamic loader", r->tid);
		return false;
	}
	const struct map_entry *stack = maps_find(maps, sp);
	if (!stack || (strcmp(stack->path, "[stack]") != 0 && sp - stack->start < STACK_NEEDED)) {
		snprintf(reason, rlen, "thread %d has too little stack left", r->tid);
		return false;
	}
	long nr = (long)r->regs.orig_rax;
	bool in_libc = ip >= u->libc_lo && ip < u->libc_hi;
	if (!in_libc || (nr >= 0 && idle_syscall(nr)))
		return true;
	/* In libc: a leaf such as mmap or memcpy called by malloc with its
	 * lock held returns into malloc; its return address is near the top
	 * of the stack. */
	uint64_t words[RETURN_SCAN];
	if (remote_read(r, sp, words, sizeof(words)) != 0) {
		snprintf(reason, rlen, "cannot read the stack of thread %d", r->tid);
		return false;
	}
	for (size_t i = 0; i < RETURN_SCAN; i++) {
		if (unsafe_has(u, (uintptr_t)words[i])) {
			snprintf(reason, rlen, "thread %d is in a call made by malloc, fork or the "
				 "dynamic loader", r->tid);
			return false;
		}
	}
	return true;
}

/* Write len bytes at addr, first saving what was there (restored by
 * remote_release). */
static int save_and_write(struct remote *r, uintptr_t addr, const void *data, size_t len)
{
	if (r->nsaves >= sizeof(r->saves) / sizeof(r->saves[0]) ||
	    len > sizeof(r->saves[0].bytes)) {
		errno = ENOSPC;
		return -1;
	}
	struct remote_save *s = &r->saves[r->nsaves];
	if (remote_read(r, addr, s->bytes, len) != 0)
		return -1;
	s->addr = addr;
	s->len = len;
	r->nsaves++;
	return remote_write(r, addr, data, len);
}

int remote_push(struct remote *r, const void *data, size_t len, uintptr_t *addr)
{
	uintptr_t a = (r->sp - len) & ~(uintptr_t)15;
	if (save_and_write(r, a, data, len) != 0)
		return -1;
	r->sp = a;
	*addr = a;
	return 0;
}

int remote_call(struct remote *r, uintptr_t fn, const uint64_t *args, int nargs, uint64_t *ret,
		char *err, size_t errlen)
{
	static const uint64_t zero = 0;
	/* The return address, where a call instruction would have put it: the
	 * stack is 16-byte aligned before the call, so rsp % 16 == 8 at entry. */
	uintptr_t ret_slot = (r->sp & ~(uintptr_t)15) - 16 + 8;
	if (save_and_write(r, ret_slot, &zero, sizeof(zero)) != 0)
		return fail(err, errlen, errno, "cannot write to the stack of pid %d: %s", r->tid,
			    strerror(errno));
	r->sp = ret_slot;
	struct user_regs_struct c = r->regs;
	c.rip = fn;
	c.rsp = ret_slot;
	c.rax = 0;
	c.orig_rax = (unsigned long long)-1;
	unsigned long long *regs[6] = { &c.rdi, &c.rsi, &c.rdx, &c.rcx, &c.r8, &c.r9 };
	for (int i = 0; i < nargs && i < 6; i++)
		*regs[i] = args[i];
	if (ptrace(PTRACE_SETREGS, r->tid, 0, &c) != 0)
		return fail(err, errlen, errno, "ptrace(PTRACE_SETREGS): %s", strerror(errno));
	r->modified = true;
	if (ptrace(PTRACE_CONT, r->tid, 0, 0) != 0)
		return fail(err, errlen, errno, "ptrace(PTRACE_CONT): %s", strerror(errno));
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bool told = false;
	for (long pause_ns = 20000;;) {
		int st;
		pid_t w = waitpid(r->tid, &st, __WALL | WNOHANG);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return fail(err, errlen, errno, "waiting for pid %d: %s", r->tid, strerror(errno));
		if (w == 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (!told && now.tv_sec - t0.tv_sec >= 5) {
				format_warn("still waiting for the call inside pid %d to "
					"return (do not kill memtop now: the call would return into "
					"nothing)", r->pid);
				told = true;
			}
			struct timespec ts = { 0, pause_ns };
			nanosleep(&ts, NULL);
			if (pause_ns < 1000000)
				pause_ns *= 2;
			continue;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			r->seized = false;
			r->modified = false;
			r->nsaves = 0;
			return fail(err, errlen, ESRCH, "pid %d ended during the call", r->pid);
		}
		if (!WIFSTOPPED(st))
			continue;
		int sig = WSTOPSIG(st);
		if ((st >> 16) == 0 && sig == SIGSEGV) {
			struct user_regs_struct g;
			if (ptrace(PTRACE_GETREGS, r->tid, 0, &g) != 0)
				return fail(err, errlen, errno, "ptrace(PTRACE_GETREGS): %s",
					    strerror(errno));
			if (g.rip == 0) {
				*ret = g.rax;
				return 0;
			}
			return fail(err, errlen, EFAULT, "the call inside pid %d crashed at %#llx",
				    r->pid, (unsigned long long)g.rip);
		}
		/* an interrupt left over, or a signal: held back until release */
		if ((st >> 16) == 0)
			defer_signal(r, sig);
		if (ptrace(PTRACE_CONT, r->tid, 0, 0) != 0)
			return fail(err, errlen, errno, "ptrace(PTRACE_CONT): %s", strerror(errno));
	}
}

int remote_release(struct remote *r, char *err, size_t errlen)
{
	int rc = 0;
	for (size_t i = r->nsaves; i-- > 0;)
		if (remote_write(r, r->saves[i].addr, r->saves[i].bytes, r->saves[i].len) != 0)
			rc = fail(err, errlen, errno, "cannot restore the stack of pid %d", r->tid);
	r->nsaves = 0;
	if (r->modified) {
		if (ptrace(PTRACE_SETREGS, r->tid, 0, &r->regs) != 0)
			rc = fail(err, errlen, errno, "ptrace(PTRACE_SETREGS): %s", strerror(errno));
		if (r->have_xstate) {
			struct iovec iov = { r->xstate, r->xstate_len };
			if (ptrace(PTRACE_SETREGSET, r->tid, (void *)NT_X86_XSTATE, &iov) != 0)
				rc = fail(err, errlen, errno, "ptrace(PTRACE_SETREGSET): %s",
					  strerror(errno));
		} else if (ptrace(PTRACE_SETFPREGS, r->tid, 0, &r->fpregs) != 0) {
			rc = fail(err, errlen, errno, "ptrace(PTRACE_SETFPREGS): %s", strerror(errno));
		}
		r->modified = false;
	}
	remote_release_untouched(r);
	return rc;
}
