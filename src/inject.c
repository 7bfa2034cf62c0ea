/*
 * inject.c - a process's maps and dynamic symbols, and calls made on one of
 * its threads borrowed with ptrace (see inject.h).
 *
 * A call must leave the thread able to go on by itself at every instant,
 * since memtop may be killed at any of them and the kernel then lets the
 * thread run with whatever registers it holds.  So before the thread is
 * redirected, its stack (below the 128-byte red zone, which the
 * interrupted code may be using) receives a signal frame as the kernel
 * builds one: its original registers, signal mask and extended state
 * (XSAVE, with the software bytes ptrace reports and the closing magic).
 * A call then returns into a trampoline memtop maps in the process, which
 * stores the result in the frame and enters rt_sigreturn on it; a system
 * call runs on a "syscall; ret" of libc, returning into libc's own
 * __restore_rt.  Either way, should memtop be gone, the kernel restores
 * the thread from the frame and it runs on where it was.
 *
 * memtop, alive, follows the thread with PTRACE_SYSCALL and catches the
 * entry of that sigreturn: the call's end.  From there it starts the next
 * call (skipping the sigreturn), or puts the thread back itself with the
 * interrupted system call's restart chosen as the kernel would have
 * (restart_syscall for a sleep, which sigreturn would turn into EINTR).
 * The frame itself, used only should memtop be gone, restarts such a call
 * from its start.  The frame is written once, before anything else, and is
 * never rewritten while the thread may still return through it.
 *
 * Signals that arrive for the thread meanwhile are held back and
 * delivered when it is let go.
 */
#include "config.h"

#define _GNU_SOURCE 1
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
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
#define FXSAVE_SIZE     512
#define SW_BYTES_OFFSET 464           /* struct _fpx_sw_bytes in the FXSAVE area */
#define FP_MAGIC1       0x46505853u
#define FP_MAGIC2       0x46505845u
#define UC_FP_XSTATE_F  0x1
#define UC_SS_FLAGS     (0x2 | 0x4)   /* UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS */
#define ERESTARTSYS_         512
#define ERESTARTNOINTR_      513
#define ERESTARTNOHAND_      514
#define ERESTART_RESTARTBLOCK_ 516
#define SYSCALL_INSN_LEN 2
#define TRAMP_PAGE       4096

/* The kernel's x86-64 signal frame (arch/x86/include/asm/sigframe.h): what
 * rt_sigreturn reads at the stack pointer minus 8.  Its own definitions
 * cannot be included beside glibc's. */
struct k_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;           /* 64-byte aligned XSAVE area */
	uint64_t reserved1[8];
};

struct k_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;           /* unused by the kernel: the call's result */
	struct { uint64_t ss_sp; int32_t ss_flags, pad; uint64_t ss_size; } uc_stack;
	struct k_sigcontext uc_mcontext;
	uint64_t uc_sigmask;
};

struct k_sigframe {
	uint64_t pretcode;          /* the return address: libc's __restore_rt */
	struct k_ucontext uc;
	unsigned char info[128];
};

_Static_assert(sizeof(struct k_sigcontext) == 256, "sigcontext layout");
_Static_assert(offsetof(struct k_sigframe, uc.uc_mcontext) == 48, "ucontext layout");

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
	/* TRACESYSGOOD: the call's system-call stops are told apart from a
	 * SIGTRAP */
	if (ptrace(PTRACE_SEIZE, tid, 0, (void *)(long)PTRACE_O_TRACESYSGOOD) != 0)
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
	if (ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof(r->sigmask), &r->sigmask) != 0) {
		int e = errno;
		remote_release_untouched(r);
		return fail(err, errlen, e, "ptrace(PTRACE_GETSIGMASK): %s", strerror(e));
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

static void forget_saves(struct remote *r)
{
	for (size_t i = 0; i < r->nsaves; i++)
		free(r->saves[i].bytes);
	r->nsaves = 0;
}

void remote_release_untouched(struct remote *r)
{
	if (r->seized)
		ptrace(PTRACE_DETACH, r->tid, 0, 0);
	r->seized = false;
	redeliver(r);
	forget_saves(r);
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
	if (r->nsaves >= sizeof(r->saves) / sizeof(r->saves[0]) || len > XSTATE_MAX + 4096) {
		errno = ENOSPC;
		return -1;
	}
	struct remote_save *s = &r->saves[r->nsaves];
	s->bytes = malloc(len);
	if (!s->bytes)
		return -1;
	if (remote_read(r, addr, s->bytes, len) != 0) {
		free(s->bytes);
		return -1;
	}
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

/* ---------------------------------------------------------------- self-restoring calls */

static const unsigned char restore_rt_code[] = {
	0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00,   /* mov $__NR_rt_sigreturn, %rax */
	0x0f, 0x05                                  /* syscall */
};
static const unsigned char syscall_ret_code[] = { 0x0f, 0x05, 0xc3 };

int remote_helpers_find(int pid, uintptr_t lo, uintptr_t hi, struct remote_helpers *h,
			char *err, size_t errlen)
{
	memset(h, 0, sizeof(*h));
	enum { CHUNK = 64 * 1024, OVERLAP = sizeof(restore_rt_code) };
	unsigned char *buf = malloc(CHUNK + OVERLAP);
	if (!buf)
		return fail(err, errlen, ENOMEM, "out of memory");
	for (uintptr_t a = lo; a < hi && !(h->restorer && h->syscall_ret); a += CHUNK) {
		size_t len = hi - a < CHUNK + OVERLAP ? hi - a : CHUNK + OVERLAP;
		struct iovec local = { buf, len }, remote = { (void *)a, len };
		if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)len)
			continue;
		for (size_t i = 0; i + sizeof(restore_rt_code) <= len; i++) {
			if (!h->restorer && memcmp(buf + i, restore_rt_code, sizeof(restore_rt_code)) == 0)
				h->restorer = a + i;
			if (!h->syscall_ret && memcmp(buf + i, syscall_ret_code, sizeof(syscall_ret_code)) == 0)
				h->syscall_ret = a + i;
		}
	}
	free(buf);
	if (!h->restorer || !h->syscall_ret)
		return fail(err, errlen, ENOEXEC, "the process's libc has no %s that memtop knows: "
			    "calls inside it could not be made safe", h->restorer ? "\"syscall; ret\" "
			    "sequence" : "signal-return trampoline (__restore_rt)");
	return 0;
}

/* The registers the thread resumes with from the frame: an interrupted
 * system call is restarted from its start (as the kernel does when no
 * handler runs), since sigreturn makes restart_syscall fail with EINTR. */
static void restarted_from_start(const struct user_regs_struct *g, struct user_regs_struct *out)
{
	*out = *g;
	long nr = (long)g->orig_rax, rv = (long)g->rax;
	if (nr >= 0 && (rv == -ERESTARTSYS_ || rv == -ERESTARTNOINTR_ || rv == -ERESTARTNOHAND_ ||
			rv == -ERESTART_RESTARTBLOCK_)) {
		out->rax = g->orig_rax;
		out->rip -= SYSCALL_INSN_LEN;
	}
}

/* The system call to run when memtop lets the thread go from a system-call
 * entry stop: the interrupted one's restart, as the kernel would choose it
 * on the way back from a stop, or none (-1). */
static unsigned long long restart_number(const struct user_regs_struct *g)
{
	long nr = (long)g->orig_rax, rv = (long)g->rax;
	if (nr < 0)
		return (unsigned long long)-1;
	switch (-rv) {
	case ERESTARTSYS_: case ERESTARTNOINTR_: case ERESTARTNOHAND_:
		return g->orig_rax;
	case ERESTART_RESTARTBLOCK_:
		return SYS_restart_syscall;
	default:
		return (unsigned long long)-1;
	}
}

/* Write the signal frame below everything used so far.  Done once per
 * borrowed thread, before its registers are changed. */
static int build_frame(struct remote *r, char *err, size_t errlen)
{
	size_t fplen = r->have_xstate ? r->xstate_len : FXSAVE_SIZE;
	unsigned char *fp = calloc(1, fplen + 4);
	if (!fp)
		return fail(err, errlen, ENOMEM, "out of memory");
	memcpy(fp, r->have_xstate ? (const void *)r->xstate : (const void *)&r->fpregs,
	       r->have_xstate ? r->xstate_len : sizeof(r->fpregs));
	uint32_t magic1, xsize;
	memcpy(&magic1, fp + SW_BYTES_OFFSET, sizeof(magic1));
	memcpy(&xsize, fp + SW_BYTES_OFFSET + 12, sizeof(xsize));
	if (r->have_xstate && magic1 == FP_MAGIC1 && xsize <= fplen && xsize >= FXSAVE_SIZE + 64) {
		/* as ptrace gives it (the kernel's own xstate_fx_sw_bytes),
		 * closed by the second magic where they say */
		uint32_t m2 = FP_MAGIC2;
		memcpy(fp + xsize, &m2, sizeof(m2));
		fplen = xsize + 4;
	} else {
		/* the FXSAVE part only: x87 and SSE state restored, the rest
		 * (AVX upper halves) reset by the kernel */
		memset(fp + SW_BYTES_OFFSET, 0, FXSAVE_SIZE - SW_BYTES_OFFSET);
		fplen = FXSAVE_SIZE;
	}
	uintptr_t fpaddr = (r->sp - fplen) & ~(uintptr_t)63;
	struct k_sigframe f;
	memset(&f, 0, sizeof(f));
	uintptr_t faddr = ((fpaddr - sizeof(f)) & ~(uintptr_t)15) - 8;  /* rsp % 16 == 8, as after a call */
	struct user_regs_struct g;
	restarted_from_start(&r->regs, &g);
	f.pretcode = r->h.restorer;
	f.uc.uc_flags = UC_SS_FLAGS | (fplen > FXSAVE_SIZE ? UC_FP_XSTATE_F : 0);
	/* uc_stack stays zero: an invalid request, which sigreturn ignores,
	 * leaving the thread's alternate signal stack as it is */
	struct k_sigcontext *c = &f.uc.uc_mcontext;
	c->r8 = g.r8; c->r9 = g.r9; c->r10 = g.r10; c->r11 = g.r11;
	c->r12 = g.r12; c->r13 = g.r13; c->r14 = g.r14; c->r15 = g.r15;
	c->rdi = g.rdi; c->rsi = g.rsi; c->rbp = g.rbp; c->rbx = g.rbx;
	c->rdx = g.rdx; c->rax = g.rax; c->rcx = g.rcx; c->rsp = g.rsp;
	c->rip = g.rip; c->eflags = g.eflags;
	c->cs = (uint16_t)g.cs;
	c->ss = (uint16_t)g.ss;
	c->fpstate = fpaddr;
	f.uc.uc_sigmask = r->sigmask;
	int rc = save_and_write(r, fpaddr, fp, fplen);
	free(fp);
	if (rc != 0 || save_and_write(r, faddr, &f, sizeof(f)) != 0)
		return fail(err, errlen, errno, "cannot write to the stack of pid %d: %s", r->tid,
			    strerror(errno));
	r->frame = faddr;
	r->sp = faddr;
	return 0;
}

/* Wait for the thread's next stop; a signal on the way is held back and the
 * thread resumed (PTRACE_SYSCALL).  0 with *st and *regs, or -1. */
static int next_stop(struct remote *r, int *st, struct user_regs_struct *regs, char *err,
		     size_t errlen)
{
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bool told = false;
	long pause_ns = 0;
	for (unsigned tries = 0;; tries++) {
		pid_t w = waitpid(r->tid, st, __WALL | WNOHANG);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return fail(err, errlen, errno, "waiting for pid %d: %s", r->tid, strerror(errno));
		if (w == 0) {
			/* a call's system calls stop it often: yield first */
			if (tries < 64) {
				sched_yield();
				continue;
			}
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (!told && now.tv_sec - t0.tv_sec >= 5) {
				format_warn("still waiting for the call inside pid %d to return", r->pid);
				told = true;
			}
			pause_ns = pause_ns ? (pause_ns < 1000000 ? pause_ns * 2 : pause_ns) : 20000;
			struct timespec ts = { 0, pause_ns };
			nanosleep(&ts, NULL);
			continue;
		}
		if (WIFEXITED(*st) || WIFSIGNALED(*st)) {
			r->seized = false;
			r->modified = false;
			forget_saves(r);
			return fail(err, errlen, ESRCH, "pid %d ended during the call", r->pid);
		}
		if (!WIFSTOPPED(*st))
			continue;
		int sig = WSTOPSIG(*st), event = *st >> 16;
		if (event == 0 && sig != (SIGTRAP | 0x80)) {
			if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) {
				struct user_regs_struct g;
				ptrace(PTRACE_GETREGS, r->tid, 0, &g);
				return fail(err, errlen, EFAULT, "the call inside pid %d crashed at %#llx",
					    r->pid, (unsigned long long)g.rip);
			}
			defer_signal(r, sig);
		}
		if (event == 0 && sig == (SIGTRAP | 0x80)) {
			if (ptrace(PTRACE_GETREGS, r->tid, 0, regs) != 0)
				return fail(err, errlen, errno, "ptrace(PTRACE_GETREGS): %s",
					    strerror(errno));
			return 0;
		}
		/* a signal held back, an interrupt left over, a group stop */
		if (ptrace(PTRACE_SYSCALL, r->tid, 0, 0) != 0)
			return fail(err, errlen, errno, "ptrace(PTRACE_SYSCALL): %s", strerror(errno));
		tries = 0;
		pause_ns = 0;
	}
}

/* Run the thread from registers c until it enters the sigreturn that ends
 * at `end` (the address after its syscall instruction).  If watch is not
 * 0, *watched receives rax at the exit of the system call ending there. */
static int run_until_sigreturn(struct remote *r, struct user_regs_struct *c, uintptr_t end,
			       uintptr_t watch, uint64_t *watched, char *err, size_t errlen)
{
	/* -1: no restart of the interrupted call now; if stopped entering
	 * the last call's sigreturn, that one is skipped */
	c->orig_rax = (unsigned long long)-1;
	if (ptrace(PTRACE_SETREGS, r->tid, 0, c) != 0)
		return fail(err, errlen, errno, "ptrace(PTRACE_SETREGS): %s", strerror(errno));
	r->modified = true;
	r->at_sigreturn = r->at_end = false;
	bool entered = false;
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, r->tid, 0, 0) != 0)
			return fail(err, errlen, errno, "ptrace(PTRACE_SYSCALL): %s", strerror(errno));
		int st;
		struct user_regs_struct g;
		if (next_stop(r, &st, &g, err, errlen) != 0)
			return -1;
		if (g.rip == end && g.orig_rax == SYS_rt_sigreturn) {
			r->at_sigreturn = r->at_end = true;
			return 0;
		}
		if (watch && g.rip == watch) {
			/* entry then exit of the watched system call */
			if (entered)
				*watched = g.rax;
			entered = !entered;
		}
	}
}

int remote_syscall(struct remote *r, long nr, const uint64_t *args, int nargs, uint64_t *ret,
		   char *err, size_t errlen)
{
	if (!r->h.restorer || !r->h.syscall_ret)
		return fail(err, errlen, EINVAL, "no sigreturn trampoline known for pid %d", r->pid);
	if (!r->frame && build_frame(r, err, errlen) != 0)
		return -1;
	/* the syscall's ret pops the frame's pretcode: __restore_rt */
	struct user_regs_struct c = r->regs;
	c.rip = r->h.syscall_ret;
	c.rsp = r->frame;
	c.rax = (unsigned long long)nr;
	unsigned long long *regs[6] = { &c.rdi, &c.rsi, &c.rdx, &c.r10, &c.r8, &c.r9 };
	for (int i = 0; i < nargs && i < 6; i++)
		*regs[i] = args[i];
	*ret = (uint64_t)-ENOSYS;
	return run_until_sigreturn(r, &c, r->h.restorer + sizeof(restore_rt_code),
				   r->h.syscall_ret + SYSCALL_INSN_LEN, ret, err, errlen);
}

/* The calls' return trampoline, in a page mapped in the process:
 *   movabs %rax, <result>          the frame's siginfo, which sigreturn ignores
 *   mov $1, %eax; movabs %rax, <done>
 *   movabs $<the frame's ucontext>, %rsp
 *   movabs $<END_WAIT_NS>, %rdi; xor %esi, %esi; nanosleep
 *   mov $__NR_rt_sigreturn, %eax; syscall
 * memtop, watching <done>, interrupts the thread in its nanosleep; gone,
 * it lets the thread return through the frame after at most the sleep.
 * The page is written while writable, then made executable only. */
#define END_WAIT_NS   250000000L
#define TRAMP_DATA    2048        /* offset of the timespec in the page */

static size_t tramp_code(uintptr_t frame, uintptr_t page, unsigned char *code,
			 size_t *end_wait)
{
	uint64_t res = frame + offsetof(struct k_sigframe, info);
	uint64_t done = res + 8;
	uint64_t uc = frame + offsetof(struct k_sigframe, uc);
	uint64_t ts = page + TRAMP_DATA;
	size_t n = 0;
#define IMM64(v) do { uint64_t v_ = (v); memcpy(code + n, &v_, 8); n += 8; } while (0)
	code[n++] = 0x48; code[n++] = 0xa3; IMM64(res);
	code[n++] = 0xb8; code[n++] = 1; code[n++] = 0; code[n++] = 0; code[n++] = 0;
	code[n++] = 0x48; code[n++] = 0xa3; IMM64(done);
	code[n++] = 0x48; code[n++] = 0xbc; IMM64(uc);
	code[n++] = 0x48; code[n++] = 0xbf; IMM64(ts);
	code[n++] = 0x31; code[n++] = 0xf6;
	code[n++] = 0xb8; code[n++] = SYS_nanosleep; code[n++] = 0; code[n++] = 0; code[n++] = 0;
	code[n++] = 0x0f; code[n++] = 0x05;
	*end_wait = n;
	code[n++] = 0xb8; code[n++] = SYS_rt_sigreturn; code[n++] = 0; code[n++] = 0; code[n++] = 0;
	code[n++] = 0x0f; code[n++] = 0x05;
#undef IMM64
	return n;
}

static int map_trampoline(struct remote *r, char *err, size_t errlen)
{
	uint64_t a[6] = { 0, TRAMP_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  (uint64_t)-1, 0 };
	uint64_t page;
	if (remote_syscall(r, SYS_mmap, a, 6, &page, err, errlen) != 0)
		return -1;
	if (page > (uint64_t)-4096)
		return fail(err, errlen, (int)-page, "mmap inside pid %d failed: %s", r->pid,
			    strerror((int)-page));
	r->page = (uintptr_t)page;
	unsigned char code[96];
	size_t n = tramp_code(r->frame, r->page, code, &r->end_wait);
	struct timespec ts = { 0, END_WAIT_NS };
	if (remote_write(r, r->page, code, n) != 0 ||
	    remote_write(r, r->page + TRAMP_DATA, &ts, sizeof(ts)) != 0)
		return fail(err, errlen, errno, "cannot write to pid %d: %s", r->pid, strerror(errno));
	uint64_t p[3] = { r->page, TRAMP_PAGE, PROT_READ | PROT_EXEC }, rv;
	if (remote_syscall(r, SYS_mprotect, p, 3, &rv, err, errlen) != 0)
		return -1;
	if (rv != 0)
		return fail(err, errlen, (int)-rv, "mprotect inside pid %d failed: %s", r->pid,
			    strerror((int)-rv));
	return 0;
}

/* A stop while the call runs (PTRACE_CONT): 1 to go on waiting, 0 for the
 * interrupt stop, -1 if the process ended or the call crashed. */
static int call_stop(struct remote *r, int st, char *err, size_t errlen)
{
	if (WIFEXITED(st) || WIFSIGNALED(st)) {
		r->seized = false;
		r->modified = false;
		forget_saves(r);
		return fail(err, errlen, ESRCH, "pid %d ended during the call", r->pid);
	}
	if (!WIFSTOPPED(st))
		return 1;
	int sig = WSTOPSIG(st), event = st >> 16;
	if (event == PTRACE_EVENT_STOP && (sig == SIGTRAP || sig == SIGSTOP || sig == SIGTSTP ||
					   sig == SIGTTIN || sig == SIGTTOU))
		return 0;
	if (event == 0) {
		if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) {
			struct user_regs_struct g;
			ptrace(PTRACE_GETREGS, r->tid, 0, &g);
			return fail(err, errlen, EFAULT, "the call inside pid %d crashed at %#llx",
				    r->pid, (unsigned long long)g.rip);
		}
		defer_signal(r, sig);
	}
	if (ptrace(PTRACE_CONT, r->tid, 0, 0) != 0)
		return fail(err, errlen, errno, "ptrace(PTRACE_CONT): %s", strerror(errno));
	return 1;
}

int remote_call(struct remote *r, uintptr_t fn, const uint64_t *args, int nargs, uint64_t *ret,
		char *err, size_t errlen)
{
	if (!r->page && map_trampoline(r, err, errlen) != 0)
		return -1;
	uintptr_t res_addr = r->frame + offsetof(struct k_sigframe, info);
	uint64_t res[2] = { 0, 0 };
	if (remote_write(r, res_addr, res, sizeof(res)) != 0)
		return fail(err, errlen, errno, "cannot write to the stack of pid %d: %s", r->tid,
			    strerror(errno));
	/* The return address, where a call instruction would have put it: the
	 * stack is 16-byte aligned before the call, so rsp % 16 == 8 at entry. */
	uintptr_t ret_slot = (r->sp & ~(uintptr_t)15) - 16 + 8;
	uint64_t back = r->page;
	if (save_and_write(r, ret_slot, &back, sizeof(back)) != 0)
		return fail(err, errlen, errno, "cannot write to the stack of pid %d: %s", r->tid,
			    strerror(errno));
	r->sp = ret_slot;
	struct user_regs_struct c = r->regs;
	c.rip = fn;
	c.rsp = ret_slot;
	c.rax = 0;
	/* no restart of the interrupted call now, nor of the last call's
	 * sleep or sigreturn */
	c.orig_rax = (unsigned long long)-1;
	unsigned long long *regs[6] = { &c.rdi, &c.rsi, &c.rdx, &c.rcx, &c.r8, &c.r9 };
	for (int i = 0; i < nargs && i < 6; i++)
		*regs[i] = args[i];
	if (ptrace(PTRACE_SETREGS, r->tid, 0, &c) != 0)
		return fail(err, errlen, errno, "ptrace(PTRACE_SETREGS): %s", strerror(errno));
	r->modified = true;
	r->at_sigreturn = r->at_end = false;
	if (ptrace(PTRACE_CONT, r->tid, 0, 0) != 0)
		return fail(err, errlen, errno, "ptrace(PTRACE_CONT): %s", strerror(errno));
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bool told = false;
	long pause_ns = 0;
	for (unsigned tries = 0;; tries++) {
		int st;
		pid_t w = waitpid(r->tid, &st, __WALL | WNOHANG);
		if (w < 0 && errno != EINTR)
			return fail(err, errlen, errno, "waiting for pid %d: %s", r->tid, strerror(errno));
		if (w > 0 && call_stop(r, st, err, errlen) < 0)
			return -1;
		if (remote_read(r, res_addr, res, sizeof(res)) != 0)
			return fail(err, errlen, errno, "cannot read the stack of pid %d", r->tid);
		if (res[1] == 1)
			break;
		if (tries < 16) {
			sched_yield();
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!told && now.tv_sec - t0.tv_sec >= 5) {
			format_warn("still waiting for the call inside pid %d to return", r->pid);
			told = true;
		}
		pause_ns = pause_ns ? (pause_ns < 1000000 ? pause_ns * 2 : pause_ns) : 20000;
		struct timespec ts = { 0, pause_ns };
		nanosleep(&ts, NULL);
	}
	*ret = res[0];
	/* returned: stop it in the trampoline's sleep */
	if (ptrace(PTRACE_INTERRUPT, r->tid, 0, 0) != 0)
		return fail(err, errlen, errno, "ptrace(PTRACE_INTERRUPT): %s", strerror(errno));
	for (;;) {
		int st;
		pid_t w = waitpid(r->tid, &st, __WALL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return fail(err, errlen, errno, "waiting for pid %d: %s", r->tid, strerror(errno));
		int k = call_stop(r, st, err, errlen);
		if (k < 0)
			return -1;
		if (k == 0)
			break;
	}
	struct user_regs_struct g;
	if (ptrace(PTRACE_GETREGS, r->tid, 0, &g) != 0)
		return fail(err, errlen, errno, "ptrace(PTRACE_GETREGS): %s", strerror(errno));
	uintptr_t w0 = r->page + r->end_wait;
	if (g.rip == w0 || g.rip == w0 + 5) {
		r->at_end = true;
		return 0;
	}
	/* memtop was slower than the sleep: the thread went back through the
	 * frame and runs its own code again, over the stack memtop used */
	r->modified = false;
	forget_saves(r);
	r->page = 0;
	r->frame = 0;
	return fail(err, errlen, ETIME, "the thread of pid %d went on before memtop caught the "
		    "call's end (memtop was held up for %.2f s): try again", r->pid,
		    END_WAIT_NS / 1e9);
}

int remote_release(struct remote *r, char *err, size_t errlen)
{
	int rc = 0;
	bool regs_back = true;
	if (r->page && r->at_end) {
		/* no call will return into it any more */
		uint64_t a[2] = { r->page, TRAMP_PAGE }, rv;
		if (remote_syscall(r, SYS_munmap, a, 2, &rv, err, errlen) != 0)
			rc = -1;
		r->page = 0;
	}
	if (r->modified && r->seized) {
		/* The extended state first: until the registers are back, the
		 * thread would still return through the frame, which restores
		 * the same. */
		if (r->have_xstate) {
			struct iovec iov = { r->xstate, r->xstate_len };
			if (ptrace(PTRACE_SETREGSET, r->tid, (void *)NT_X86_XSTATE, &iov) != 0)
				rc = fail(err, errlen, errno, "ptrace(PTRACE_SETREGSET): %s",
					  strerror(errno));
		} else if (ptrace(PTRACE_SETFPREGS, r->tid, 0, &r->fpregs) != 0) {
			rc = fail(err, errlen, errno, "ptrace(PTRACE_SETFPREGS): %s", strerror(errno));
		}
		struct user_regs_struct g = r->regs;
		/* Entering a system call, the thread runs the one orig_rax names
		 * once let go: the interrupted call's restart.  At any other
		 * stop (a crash in the call) the kernel chooses it itself. */
		if (r->at_sigreturn)
			g.orig_rax = restart_number(&r->regs);
		if (ptrace(PTRACE_SETREGS, r->tid, 0, &g) != 0) {
			rc = fail(err, errlen, errno, "ptrace(PTRACE_SETREGS): %s", strerror(errno));
			regs_back = false;
		}
		r->modified = false;
	}
	/* the frame is not needed any more (unless the thread still returns
	 * through it): what was below the red zone */
	for (size_t i = r->nsaves; regs_back && i-- > 0;)
		if (r->seized && remote_write(r, r->saves[i].addr, r->saves[i].bytes,
					      r->saves[i].len) != 0)
			rc = fail(err, errlen, errno, "cannot restore the stack of pid %d", r->tid);
	remote_release_untouched(r);
	return rc;
}
