/*
 * inject.h - call functions inside another process (x86-64 Linux, no gdb):
 * its memory map, the dynamic symbols of the objects it has loaded, and a
 * ptrace'd thread borrowed for calls, whose registers, extended state and
 * every byte written are put back before it is let go.
 *
 * Only the borrowed thread stops; the process's other threads run on, so a
 * lock one of them holds is released as usual and a call cannot wait for it
 * forever.  The borrowed thread itself is only used at a safe point (see
 * remote_safe_point): not inside malloc, fork or the dynamic loader, whose
 * locks a call that loads a library would need.
 *
 * memtop may die at any moment (SIGKILL, the OOM killer): the kernel then
 * lets the thread go with whatever registers it has.  So every call is made
 * self-restoring: the thread's stack holds a signal frame with its original
 * state, and the call returns into a sigreturn, which puts the thread back
 * exactly where it was with or without memtop (see inject.c).
 */
#ifndef MEMTOP_INJECT_H
#define MEMTOP_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

/* ---------------------------------------------------------------- maps */

struct map_entry {
	uintptr_t start, end;
	uint64_t offset;
	int prot;                   /* PROT_* */
	unsigned dev_major, dev_minor;
	uint64_t inode;
	char *path;                 /* "" for anonymous; "[stack]" etc. */
};

struct proc_maps {
	struct map_entry *e;
	size_t n;
};

/* /proc/PID/maps; -1 with errno (EACCES: another user's process). */
int maps_read(int pid, struct proc_maps *out);
void maps_free(struct proc_maps *m);
const struct map_entry *maps_find(const struct proc_maps *m, uintptr_t addr);

/* A loaded ELF object: its first mapping (file offset 0) and the range of
 * its executable mappings. */
struct module {
	const struct map_entry *first;
	uintptr_t base;             /* load bias: first->start - first PT_LOAD vaddr */
	uintptr_t text_lo, text_hi; /* executable mappings */
};

/* The object whose path's last component starts with prefix (e.g.
 * "libc.so.6", "ld-linux-x86-64.so"), or whose path is exactly `path`
 * when prefix is NULL; false if none. */
bool module_find(const struct proc_maps *m, const char *prefix, const char *path,
		 struct module *out);

/* ---------------------------------------------------------------- symbols */

struct elf_sym {
	const char *name;
	uint64_t value, size;       /* as in the file (add the module's base) */
};

struct elf_syms {
	struct elf_sym *s;          /* defined functions, sorted by value */
	size_t n;
	char *strtab;
	uint64_t first_load_vaddr;
	uint16_t machine;
};

/* The dynamic symbols of module mod of process pid, read from the very
 * file that is mapped (/proc/PID/map_files, else the path under
 * /proc/PID/root if its inode matches).  0, or -1 with a message. */
int elf_syms_load(int pid, const struct module *mod, struct elf_syms *out, char *err,
		  size_t errlen);
void elf_syms_free(struct elf_syms *s);
/* Address in the process of a defined function, 0 if absent. */
uintptr_t elf_sym_addr(const struct elf_syms *s, const struct module *mod, const char *name,
		       uint64_t *size);
/* The ELF machine of a file: 0 and *machine, or -1 with errno. */
int elf_machine(const char *path, uint16_t *machine, bool *is_elf64);

/* ---------------------------------------------------------------- borrowed thread */

/* Address ranges a borrowed thread must not be in (or return into). */
struct unsafe_ranges {
	struct { uintptr_t lo, hi; } r[64];
	size_t n;
	uintptr_t libc_lo, libc_hi; /* libc's text: returns into it are checked */
};

void unsafe_add(struct unsafe_ranges *u, uintptr_t lo, uintptr_t hi);

struct remote_save {
	uintptr_t addr;
	size_t len;
	unsigned char *bytes;       /* what was there (malloc'd) */
};

/* Code of the process's libc the calls return through: its sigreturn
 * trampoline (__restore_rt, not exported: found by its bytes) and a
 * "syscall; ret" sequence for the system calls made on the thread. */
struct remote_helpers {
	uintptr_t restorer, syscall_ret;
};

/* Find them in the executable range [lo, hi) of the process's libc: 0, or
 * -1 with a message. */
int remote_helpers_find(int pid, uintptr_t lo, uintptr_t hi, struct remote_helpers *h,
			char *err, size_t errlen);

struct remote {
	int pid, tid;
	bool seized;
	bool modified;              /* registers changed: restore on release */
	struct user_regs_struct regs;       /* as found */
	unsigned char *xstate;              /* NT_X86_XSTATE as found */
	size_t xstate_len;
	struct user_fpregs_struct fpregs;   /* when XSTATE is not available */
	bool have_xstate;
	uintptr_t sp;               /* lowest byte used so far below the red zone */
	struct remote_save saves[8];
	size_t nsaves;
	struct remote_helpers h;    /* set by the caller before the first call */
	uint64_t sigmask;           /* the thread's blocked signals, as found */
	uintptr_t frame;            /* the signal frame on its stack, 0 until built */
	uintptr_t page;             /* the return trampoline mapped in the process */
	size_t end_wait;            /* offset in it of the end of the call's sleep */
	bool at_sigreturn;          /* stopped entering the frame's sigreturn (after a
				     * system call), else at an interrupt stop */
	bool at_end;                /* at the clean end of a call or system call */
	int deferred[8];            /* signals that arrived while we had it */
	size_t ndeferred;
};

/* Seize and stop thread tid of process pid.  0, or -1 with errno and a
 * message (EPERM: ptrace refused; ESRCH: gone). */
int remote_seize(struct remote *r, int pid, int tid, char *err, size_t errlen);
/* Let it go without having changed anything. */
void remote_release_untouched(struct remote *r);
/* Whether calls may be made on it now (see the header comment); reason
 * says why not.  A thread with too little stack left is not safe either. */
bool remote_safe_point(struct remote *r, const struct unsafe_ranges *u,
		       const struct proc_maps *maps, char *reason, size_t rlen);
/* Copy len bytes onto its stack below the red zone (saving what was
 * there); *addr receives their address.  0 or -1. */
int remote_push(struct remote *r, const void *data, size_t len, uintptr_t *addr);
int remote_read(struct remote *r, uintptr_t addr, void *buf, size_t len);
int remote_write(struct remote *r, uintptr_t addr, const void *buf, size_t len);
/* Call fn(args...) (integer/pointer arguments, at most 6) and wait for it
 * to return; *ret receives rax.  0, or -1 with a message (the process
 * ended, or the function crashed).  Should memtop die meanwhile, the call
 * still returns into the thread's original state. */
int remote_call(struct remote *r, uintptr_t fn, const uint64_t *args, int nargs, uint64_t *ret,
		char *err, size_t errlen);
/* Make system call nr(args...) on the thread (at most 6 arguments); *ret
 * receives its result.  0 or -1 with a message. */
int remote_syscall(struct remote *r, long nr, const uint64_t *args, int nargs, uint64_t *ret,
		   char *err, size_t errlen);
/* Unmap the trampoline, restore every byte pushed, the registers and
 * extended state, re-deliver the signals that arrived meanwhile, and
 * detach.  0 or -1. */
int remote_release(struct remote *r, char *err, size_t errlen);

#endif
