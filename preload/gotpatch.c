/*
 * gotpatch.c - rewrite the malloc family's GOT entries of every loaded
 * module (attach mode), remember what was there, and put it back.
 *
 * Where entries live and how they may be written:
 *  - in PT_GNU_RELRO, which ld.so makes read-only once the module is
 *    relocated: mprotect the page writable, write, mprotect it back.  The
 *    page's current protection comes from /proc/self/maps; a RELRO page
 *    that is still writable belongs to a module another thread is loading
 *    right now, and is left for the next scan (writing it could race with
 *    ld.so making it read-only).
 *  - in a writable PT_LOAD (.got.plt without -z now, .data): a plain store.
 * Every write is a compare-and-swap from the value seen, so an entry that
 * someone else changed meanwhile is left alone.
 *
 * Writes happen inside dl_iterate_phdr's callback: while the loader's list
 * lock is held, no module can be taken off the list, and ld.so unmaps a
 * module only after taking it off, so the entries written are mapped.
 */
#include "config.h"

#define _GNU_SOURCE 1
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gotpatch.h"

#define MAX_ENTRIES  (1u << 16)
#define MAX_MODULES  (1u << 13)
#define MAX_MAPS     (1u << 15)

struct entry {
	uintptr_t slot;
	uintptr_t orig;
	uintptr_t hook;
	uint32_t module;
	int prot;               /* the page's protection if RELRO (mprotect dance), else -1 */
};

struct module_rec {
	uintptr_t base;
	const void *phdr;       /* with base, identifies the module while it is loaded */
	bool seen;              /* found by the current scan */
};

struct map_range {
	uintptr_t start, end;
	int prot;
};

/* What one scan knows of one module. */
struct modinfo {
	uintptr_t base;
	const ElfW(Phdr) *phdr;
	int phnum;
	uintptr_t relro_lo, relro_hi;   /* page-aligned as ld.so protects it */
	const ElfW(Sym) *symtab;
	const char *strtab;
	size_t strsz;
	uint32_t index;                 /* in modules[] */
};

static struct gotpatch_fn fns[GOTPATCH_MAX_FNS];
static size_t nfns;
static uintptr_t self_addr;
static uintptr_t page_size;

static int busy;                    /* the try-lock */
static bool installed;
static unsigned long long scanned_adds;
static bool pending;                /* a module was still being loaded */

static struct entry *entries;
static size_t nentries;
static struct module_rec *modules;
static size_t nmodules;
static struct map_range *maps;
static size_t nmaps;

static bool try_lock(void)
{
	return __atomic_exchange_n(&busy, 1, __ATOMIC_ACQUIRE) == 0;
}

static void unlock(void)
{
	__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
}

static void *map_anon(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static bool ensure_tables(void)
{
	if (!entries)
		entries = map_anon(MAX_ENTRIES * sizeof(*entries));
	if (!modules)
		modules = map_anon(MAX_MODULES * sizeof(*modules));
	if (!maps)
		maps = map_anon(MAX_MAPS * sizeof(*maps));
	if (!page_size) {
		long p = sysconf(_SC_PAGESIZE);
		page_size = p > 0 ? (uintptr_t)p : 4096;
	}
	return entries && modules && maps;
}

/* ---------------------------------------------------------------- /proc/self/maps */

static uintptr_t parse_hex(const char **s)
{
	uintptr_t v = 0;
	for (;; (*s)++) {
		char c = **s;
		if (c >= '0' && c <= '9')
			v = v * 16 + (uintptr_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uintptr_t)(c - 'a' + 10);
		else
			return v;
	}
}

static void add_map_line(const char *line)
{
	if (nmaps >= MAX_MAPS)
		return;
	const char *s = line;
	uintptr_t start = parse_hex(&s);
	if (*s++ != '-')
		return;
	uintptr_t end = parse_hex(&s);
	if (*s++ != ' ' || !s[0] || !s[1] || !s[2])
		return;
	int prot = (s[0] == 'r' ? PROT_READ : 0) | (s[1] == 'w' ? PROT_WRITE : 0) |
		   (s[2] == 'x' ? PROT_EXEC : 0);
	maps[nmaps++] = (struct map_range){ start, end, prot };
}

/* Read the mappings' protections (sorted by address, as the kernel lists
 * them) with a stack buffer: no allocation. */
static bool read_maps(void)
{
	nmaps = 0;
	/* thread-self: /proc/self is the main thread, whose maps are empty
	 * once it has exited while others run on */
	int fd = open("/proc/thread-self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char buf[4096];
	size_t have = 0;
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			add_map_line(line);
			line = nl + 1;
		}
		have = (size_t)(buf + have - line);
		memmove(buf, line, have);
		if (have == sizeof(buf) - 1)
			have = 0;  /* a line longer than the buffer: only its path is lost */
	}
	close(fd);
	return nmaps > 0;
}

static int prot_of(uintptr_t addr)
{
	size_t lo = 0, hi = nmaps;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (addr < maps[mid].start)
			hi = mid;
		else if (addr >= maps[mid].end)
			lo = mid + 1;
		else
			return maps[mid].prot;
	}
	return -1;
}

/* ---------------------------------------------------------------- modules */

static bool in_load(const struct modinfo *m, uintptr_t addr, size_t len, ElfW(Word) need)
{
	for (int i = 0; i < m->phnum; i++) {
		const ElfW(Phdr) *ph = &m->phdr[i];
		if (ph->p_type != PT_LOAD || (ph->p_flags & need) != need)
			continue;
		uintptr_t lo = m->base + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (addr >= lo && addr <= hi && len <= hi - addr)
			return true;
	}
	return false;
}

/* Dynamic-section pointers are relocated in place by ld.so for most
 * modules, but not for the vDSO or a read-only dynamic section. */
static uintptr_t dyn_ptr(uintptr_t base, uintptr_t v)
{
	return v < base ? v + base : v;
}

static const struct gotpatch_fn *match(const char *name)
{
	for (size_t i = 0; i < nfns; i++)
		if (strcmp(name, fns[i].name) == 0)
			return &fns[i];
	return NULL;
}

static uint32_t module_index(uintptr_t base, const void *phdr)
{
	for (uint32_t i = 0; i < nmodules; i++)
		if (modules[i].base == base && modules[i].phdr == phdr)
			return i;
	if (nmodules >= MAX_MODULES)
		return UINT32_MAX;
	modules[nmodules] = (struct module_rec){ base, phdr, false };
	return (uint32_t)nmodules++;
}

/* Write val over expect at slot; prot is the RELRO page's protection or
 * -1 for a writable segment. */
static bool write_slot(uintptr_t slot, uintptr_t expect, uintptr_t val, int prot)
{
	uintptr_t *p = (uintptr_t *)slot;
	if (prot < 0)
		return __atomic_compare_exchange_n(p, &expect, val, false, __ATOMIC_SEQ_CST,
						   __ATOMIC_RELAXED);
	void *page = (void *)(slot & ~(page_size - 1));
	if (mprotect(page, page_size, prot | PROT_WRITE) != 0)
		return false;
	bool ok = __atomic_compare_exchange_n(p, &expect, val, false, __ATOMIC_SEQ_CST,
					      __ATOMIC_RELAXED);
	mprotect(page, page_size, prot);
	return ok;
}

static void patch_relocs(const struct modinfo *m, const ElfW(Rela) *rel, size_t count, int *done)
{
	if (!rel || !in_load(m, (uintptr_t)rel, count * sizeof(*rel), PF_R))
		return;
	for (size_t i = 0; i < count; i++) {
		const ElfW(Rela) *r = &rel[i];
		uint32_t type = (uint32_t)ELF64_R_TYPE(r->r_info);
		uint32_t symi = (uint32_t)ELF64_R_SYM(r->r_info);
		if ((type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT && type != R_X86_64_64) ||
		    symi == 0)
			continue;
		const ElfW(Sym) *sym = &m->symtab[symi];
		if (!in_load(m, (uintptr_t)sym, sizeof(*sym), PF_R) || sym->st_name >= m->strsz)
			continue;
		const struct gotpatch_fn *fn = match(m->strtab + sym->st_name);
		if (!fn)
			continue;
		if (type == R_X86_64_64 && r->r_addend != 0)
			continue;
		uintptr_t slot = m->base + r->r_offset;
		if ((slot & 7) || !in_load(m, slot, 8, PF_R))
			continue;
		uintptr_t cur = __atomic_load_n((uintptr_t *)slot, __ATOMIC_RELAXED);
		uintptr_t hook = (uintptr_t)fn->hook;
		if (cur == hook)
			continue;
		/* Resolved to the allocator we wrap (libc resolves its own
		 * internal calls this way too), or a lazy PLT entry not called
		 * yet: it points back into the module's own PLT, and lookup
		 * will find libc's function (unless the module defines one
		 * itself, which lookup might pick: left alone).  Anything else
		 * is another allocator, not ours to count. */
		bool lazy = type == R_X86_64_JUMP_SLOT && sym->st_shndx == SHN_UNDEF &&
			    in_load(m, cur, 1, PF_X);
		if (cur != (uintptr_t)fn->real && !lazy)
			continue;
		int prot = -1;
		if (slot >= m->relro_lo && slot < m->relro_hi) {
			prot = prot_of(slot);
			if (prot < 0)
				continue;
			if (prot & PROT_WRITE) {
				pending = true;  /* not relocated yet: next scan */
				continue;
			}
		} else if (!in_load(m, slot, 8, PF_W)) {
			continue;
		}
		if (nentries >= MAX_ENTRIES || !write_slot(slot, cur, hook, prot))
			continue;
		entries[nentries++] = (struct entry){ slot, cur, hook, m->index, prot };
		(*done)++;
	}
}

/* The module's dynamic section, NULL if it has none. */
static const ElfW(Dyn) *fill_modinfo(struct dl_phdr_info *info, struct modinfo *m)
{
	memset(m, 0, sizeof(*m));
	m->base = info->dlpi_addr;
	m->phdr = info->dlpi_phdr;
	m->phnum = info->dlpi_phnum;
	const ElfW(Dyn) *dyn = NULL;
	for (int i = 0; i < m->phnum; i++) {
		const ElfW(Phdr) *ph = &m->phdr[i];
		if (ph->p_type == PT_DYNAMIC) {
			dyn = (const ElfW(Dyn) *)(m->base + ph->p_vaddr);
		} else if (ph->p_type == PT_GNU_RELRO) {
			/* what ld.so protects: whole pages only */
			m->relro_lo = (m->base + ph->p_vaddr) & ~(page_size - 1);
			m->relro_hi = (m->base + ph->p_vaddr + ph->p_memsz) & ~(page_size - 1);
		}
	}
	return dyn;
}

static bool is_self(const struct modinfo *m)
{
	return in_load(m, self_addr, 1, PF_X);
}

static int scan_module(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct modinfo m;
	const ElfW(Dyn) *d = fill_modinfo(info, &m);
	if (!d || is_self(&m))
		return 0;
	uintptr_t rela = 0, relasz = 0, jmprel = 0, pltrelsz = 0;
	bool pltrela = true;
	for (; d && d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: m.symtab = (const ElfW(Sym) *)dyn_ptr(m.base, d->d_un.d_ptr); break;
		case DT_STRTAB: m.strtab = (const char *)dyn_ptr(m.base, d->d_un.d_ptr); break;
		case DT_STRSZ: m.strsz = d->d_un.d_val; break;
		case DT_RELA: rela = dyn_ptr(m.base, d->d_un.d_ptr); break;
		case DT_RELASZ: relasz = d->d_un.d_val; break;
		case DT_JMPREL: jmprel = dyn_ptr(m.base, d->d_un.d_ptr); break;
		case DT_PLTRELSZ: pltrelsz = d->d_un.d_val; break;
		case DT_PLTREL: pltrela = d->d_un.d_val == DT_RELA; break;
		default: break;
		}
	}
	if (!m.symtab || !m.strtab || !in_load(&m, (uintptr_t)m.strtab, m.strsz, PF_R))
		return 0;
	uint32_t idx = module_index(m.base, m.phdr);
	if (idx == UINT32_MAX)
		return 0;
	modules[idx].seen = true;
	m.index = idx;
	int *done = data;
	patch_relocs(&m, (const ElfW(Rela) *)rela, relasz / sizeof(ElfW(Rela)), done);
	if (pltrela)
		patch_relocs(&m, (const ElfW(Rela) *)jmprel, pltrelsz / sizeof(ElfW(Rela)), done);
	return 0;
}

static int read_adds(struct dl_phdr_info *info, size_t size, void *data)
{
	if (size >= offsetof(struct dl_phdr_info, dlpi_adds) + sizeof(info->dlpi_adds))
		*(unsigned long long *)data = info->dlpi_adds;
	return 1;
}

/* Forget the records of modules the last scan did not find (unloaded). */
static void prune(void)
{
	size_t w = 0;
	for (size_t i = 0; i < nentries; i++)
		if (modules[entries[i].module].seen)
			entries[w++] = entries[i];
	nentries = w;
}

/* Scan every module; the caller holds the lock. */
static int scan_all(void)
{
	unsigned long long adds = 0;
	dl_iterate_phdr(read_adds, &adds);
	if (!read_maps())
		return -1;
	for (size_t i = 0; i < nmodules; i++)
		modules[i].seen = false;
	pending = false;
	int done = 0;
	dl_iterate_phdr(scan_module, &done);
	prune();
	__atomic_store_n(&scanned_adds, adds, __ATOMIC_RELAXED);
	return done;
}

int gotpatch_install(const struct gotpatch_fn *table, size_t n, const void *self)
{
	if (n > GOTPATCH_MAX_FNS) {
		errno = EINVAL;
		return -1;
	}
	if (!try_lock()) {
		errno = EBUSY;
		return -1;
	}
	if (!ensure_tables()) {
		unlock();
		errno = ENOMEM;
		return -1;
	}
	memcpy(fns, table, n * sizeof(*table));
	nfns = n;
	self_addr = (uintptr_t)self;
	int done = scan_all();
	if (done >= 0)
		__atomic_store_n(&installed, true, __ATOMIC_RELEASE);
	unlock();
	if (done < 0)
		errno = EIO;
	return done;
}

void gotpatch_refresh(void)
{
	if (!__atomic_load_n(&installed, __ATOMIC_ACQUIRE))
		return;
	unsigned long long adds = 0;
	dl_iterate_phdr(read_adds, &adds);
	if (adds == __atomic_load_n(&scanned_adds, __ATOMIC_RELAXED) &&
	    !__atomic_load_n(&pending, __ATOMIC_RELAXED))
		return;
	if (!try_lock())
		return;  /* whoever holds it is scanning or removing */
	if (__atomic_load_n(&installed, __ATOMIC_ACQUIRE))
		scan_all();
	unlock();
}

static int restore_module(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	int *restored = data;
	for (uint32_t mi = 0; mi < nmodules; mi++) {
		if (modules[mi].base != info->dlpi_addr || modules[mi].phdr != info->dlpi_phdr)
			continue;
		/* Newest first: a slot recorded twice (a module unloaded and
		 * another loaded at its address) gets the latest original. */
		for (size_t i = nentries; i-- > 0;) {
			const struct entry *e = &entries[i];
			if (e->module == mi && write_slot(e->slot, e->hook, e->orig, e->prot))
				(*restored)++;
		}
	}
	return 0;
}

int gotpatch_remove(void)
{
	if (!try_lock()) {
		errno = EBUSY;
		return -1;
	}
	int restored = 0;
	if (__atomic_load_n(&installed, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&installed, false, __ATOMIC_RELEASE);
		dl_iterate_phdr(restore_module, &restored);
	}
	nentries = 0;
	nmodules = 0;
	unlock();
	return restored;
}

bool gotpatch_installed(void)
{
	return __atomic_load_n(&installed, __ATOMIC_ACQUIRE);
}

size_t gotpatch_count(void)
{
	return nentries;
}

bool gotpatch_lock_try(void)
{
	return try_lock();
}

void gotpatch_lock_release(void)
{
	unlock();
}
