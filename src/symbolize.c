/*
 * symbolize.c - return addresses to "function at file:line (module)"
 * strings with elfutils' libdwfl, outside the target (see symbolize.h).
 *
 * Three layers:
 *   - the module map: every executable file mapping ever reported, and a
 *     sorted list of spans saying which of them owns each address now.  A
 *     later mapping over an older one's range takes that part of it; nothing
 *     is dropped when a file is unmapped, so addresses captured before a
 *     dlclose still resolve while nothing newer covers them.
 *   - opened ELF files: one libdwfl session per (file, load bias), opened on
 *     the first address that needs it and shared by every mapping of that
 *     file at that bias.  A file that cannot be opened, is not the inode the
 *     target mapped, or is not ELF, marks its mapping as unreadable for good.
 *   - the per-address cache: an open-addressing table from return address to
 *     one block holding the frame strings.  Blocks are never freed before
 *     symbolizer_free because their strings were handed out; a new mapping
 *     only takes the addresses in its range out of the table.
 */
#include "config.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbolize.h"

/* Returned when even the memory for a frame string is missing: still a
 * frame, never NULL. */
static const char UNKNOWN_FRAME[] = "??";

/* The kernel appends this to the path of a mapped file that was unlinked. */
static const char DELETED_SUFFIX[] = " (deleted)";

/* A function symbol at its run-time address.  name points into the ELF
 * file's string table, which lives as long as the Dwfl. */
struct sym_func {
	uint64_t addr, size;
	const char *name;
	int rank;                /* among aliases, lower is the better name */
};

/* One ELF file opened at one load bias. */
struct sym_elf {
	struct sym_elf *next;
	dev_t dev;
	ino_t ino;
	uint64_t bias;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	/* libdwfl searches the whole symbol table for every address; this
	 * index, sorted by address, is built on the first lookup instead. */
	struct sym_func *funcs;
	size_t nfuncs;
	bool indexed;
};

enum mod_state { MOD_UNOPENED, MOD_OPEN, MOD_UNREADABLE };

struct sym_module {
	char *path;              /* the file to open, without " (deleted)" */
	const char *name;        /* basename, points into path */
	uint64_t start, end;     /* [start, end) in the target */
	uint64_t offset;         /* file offset mapped at start */
	uint64_t ino;            /* from the maps line; 0: unknown, not checked */
	int fd;                  /* a deleted file kept open through map_files; -1 */
	bool deleted;
	enum mod_state state;
	uint64_t bias;           /* run-time address - ELF address, when MOD_OPEN */
	struct sym_elf *elf;     /* when MOD_OPEN */
};

/* The frames of one return address: the pointer array, then the strings. */
struct sym_entry {
	struct sym_entry *older; /* every block ever made, for symbolizer_free */
	uint64_t addr;
	size_t n;
	const char *frames[];
};

/* Who owns [start, end) now: the address space as the newest mappings
 * left it. */
struct sym_span {
	uint64_t start, end;
	size_t mod;              /* index in mods */
};

struct symbolizer {
	struct sym_module *mods; /* every mapping ever reported, oldest first */
	size_t nmods, capmods;
	struct sym_span *spans;  /* sorted by address */
	size_t nspans, capspans;
	struct sym_elf *elves;
	struct sym_entry **table;  /* capacity a power of two, at most half full */
	size_t tcap, tlen;
	struct sym_entry *entries;
	unsigned held_fds;         /* sym_module.fd that are open */
};

/* Deleted files held open until first used, at most: a process that maps
 * many must not use up memtop's file descriptors. */
#define HELD_FDS_MAX 64

/* ------------------------------------------------------------ demangling */

/* libdw has no demangler.  libstdc++'s is looked up at run time so that
 * memtop does not link the C++ runtime, and C-only systems simply keep
 * mangled names. */
typedef char *(*demangle_fn)(const char *mangled, char *buf, size_t *len, int *status);
static demangle_fn cxa_demangle;
static pthread_once_t cxa_once = PTHREAD_ONCE_INIT;

static void cxa_load(void)
{
	/* Never closed: libstdc++ registers exit handlers of its own. */
	void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
	if (h != NULL)
		*(void **)&cxa_demangle = dlsym(h, "__cxa_demangle");
}

/* The demangler sizes arrays on the stack by the length of the name: longer
 * names, which only a hostile file would have, stay mangled. */
#define DEMANGLE_MAX 16384

/* A malloc'd demangled name, or NULL when name is not a mangled C++ name. */
static char *demangle(const char *name)
{
	if (strncmp(name, "_Z", 2) != 0 || strnlen(name, DEMANGLE_MAX) == DEMANGLE_MAX)
		return NULL;
	pthread_once(&cxa_once, cxa_load);
	if (cxa_demangle == NULL)
		return NULL;
	int status = -1;
	char *out = cxa_demangle(name, NULL, NULL, &status);
	if (status != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* ------------------------------------------------------------ small helpers */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash != NULL && slash[1] != '\0' ? slash + 1 : path;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* ------------------------------------------------------------ new / free */

struct symbolizer *symbolizer_new(void)
{
	/* libelf refuses every call until the version is agreed on. */
	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	struct symbolizer *self = calloc(1, sizeof(*self));
	if (self == NULL)
		return NULL;
	self->tcap = 256;
	self->table = calloc(self->tcap, sizeof(*self->table));
	if (self->table == NULL) {
		free(self);
		return NULL;
	}
	return self;
}

void symbolizer_free(struct symbolizer *self)
{
	if (self == NULL)
		return;
	for (size_t i = 0; i < self->nmods; i++) {
		free(self->mods[i].path);
		if (self->mods[i].fd >= 0)
			close(self->mods[i].fd);
	}
	free(self->mods);
	free(self->spans);
	while (self->elves != NULL) {
		struct sym_elf *e = self->elves;
		self->elves = e->next;
		dwfl_end(e->dwfl);  /* closes the file too */
		free(e->funcs);
		free(e);
	}
	while (self->entries != NULL) {
		struct sym_entry *e = self->entries;
		self->entries = e->older;
		free(e);
	}
	free(self->table);
	free(self);
}

size_t symbolizer_module_count(const struct symbolizer *self)
{
	return self->nmods;
}

/* ------------------------------------------------------------ address cache */

static size_t slot_of(uint64_t addr, size_t cap)
{
	uint64_t h = addr * 0x9e3779b97f4a7c15ull;
	return (size_t)(h ^ (h >> 31)) & (cap - 1);
}

static struct sym_entry *cache_get(const struct symbolizer *self, uint64_t addr)
{
	for (size_t i = slot_of(addr, self->tcap);; i = (i + 1) & (self->tcap - 1)) {
		struct sym_entry *e = self->table[i];
		if (e == NULL || e->addr == addr)
			return e;
	}
}

static void table_put(struct sym_entry **table, size_t cap, struct sym_entry *e)
{
	size_t i = slot_of(e->addr, cap);
	while (table[i] != NULL)
		i = (i + 1) & (cap - 1);
	table[i] = e;
}

/* Copies the table into a new one of cap slots, leaving out the addresses
 * whose call instruction is in [lo, hi) (nothing when lo >= hi). */
static bool cache_rebuild(struct symbolizer *self, size_t cap, uint64_t lo, uint64_t hi)
{
	struct sym_entry **table = calloc(cap, sizeof(*table));
	if (table == NULL)
		return false;
	size_t len = 0;
	for (size_t i = 0; i < self->tcap; i++) {
		struct sym_entry *e = self->table[i];
		if (e == NULL || (e->addr - 1 >= lo && e->addr - 1 < hi))
			continue;
		table_put(table, cap, e);
		len++;
	}
	free(self->table);
	self->table = table;
	self->tcap = cap;
	self->tlen = len;
	return true;
}

/* e is on the entries list already: if the table cannot grow it is simply
 * not cached, and made again next time. */
static void cache_put(struct symbolizer *self, struct sym_entry *e)
{
	if (2 * (self->tlen + 1) > self->tcap && !cache_rebuild(self, 2 * self->tcap, 0, 0))
		return;
	table_put(self->table, self->tcap, e);
	self->tlen++;
}

/* A new mapping at [start, end): what was resolved there is stale. */
static void cache_forget(struct symbolizer *self, uint64_t start, uint64_t end)
{
	bool any = false;
	for (size_t i = 0; i < self->tcap && !any; i++) {
		const struct sym_entry *e = self->table[i];
		any = e != NULL && e->addr - 1 >= start && e->addr - 1 < end;
	}
	if (any && !cache_rebuild(self, self->tcap, start, end)) {
		/* No memory for a new table: emptying this one is also correct. */
		memset(self->table, 0, self->tcap * sizeof(*self->table));
		self->tlen = 0;
	}
}

/* ------------------------------------------------------------ module map */

/* Index of the first span that ends after addr (spans are sorted and do not
 * overlap, so their ends are sorted too). */
static size_t span_after(const struct symbolizer *self, uint64_t addr)
{
	size_t lo = 0, hi = self->nspans;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (self->spans[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The newest mapping that holds pc, or NULL. */
static struct sym_module *module_find(struct symbolizer *self, uint64_t pc)
{
	size_t i = span_after(self, pc);
	if (i < self->nspans && self->spans[i].start <= pc)
		return &self->mods[self->spans[i].mod];
	return NULL;
}

/* Whether this very mapping is the newest one over the whole of its range:
 * then there is nothing new to remember.  A maps file read again costs one
 * binary search per line. */
static bool module_known(const struct symbolizer *self, const char *path, uint64_t start,
			 uint64_t end, uint64_t offset, uint64_t ino, bool deleted)
{
	size_t i = span_after(self, start);
	if (i == self->nspans || self->spans[i].start != start || self->spans[i].end != end)
		return false;
	const struct sym_module *m = &self->mods[self->spans[i].mod];
	return m->start == start && m->end == end && m->offset == offset && m->ino == ino &&
	       m->deleted == deleted && strcmp(m->path, path) == 0;
}

/* Makes module mod the owner of [start, end): the spans it overlaps are cut
 * back or dropped.  maps lists mappings in address order, so a first read
 * only ever appends. */
static bool spans_insert(struct symbolizer *self, uint64_t start, uint64_t end, size_t mod)
{
	size_t i = span_after(self, start);
	size_t j = i;
	while (j < self->nspans && self->spans[j].start < end)
		j++;
	struct sym_span left = { 0 }, right = { 0 };
	bool has_left = i < j && self->spans[i].start < start;
	bool has_right = i < j && self->spans[j - 1].end > end;
	if (has_left) {
		left = self->spans[i];
		left.end = start;
	}
	if (has_right) {
		right = self->spans[j - 1];
		right.start = end;
	}
	size_t add = 1 + has_left + has_right;
	size_t n = self->nspans - (j - i) + add;
	if (n > self->capspans) {
		size_t cap = self->capspans ? 2 * self->capspans : 64;
		while (cap < n)
			cap *= 2;
		struct sym_span *spans = realloc(self->spans, cap * sizeof(*spans));
		if (spans == NULL)
			return false;
		self->spans = spans;
		self->capspans = cap;
	}
	memmove(&self->spans[i + add], &self->spans[j], (self->nspans - j) * sizeof(*self->spans));
	size_t k = i;
	if (has_left)
		self->spans[k++] = left;
	self->spans[k++] = (struct sym_span){ .start = start, .end = end, .mod = mod };
	if (has_right)
		self->spans[k] = right;
	self->nspans = n;
	return true;
}

/* Remembers a mapping unless it is known already.  path is without
 * " (deleted)".  fd (or -1) is taken over either way. */
static int module_add(struct symbolizer *self, const char *path, uint64_t start,
		      uint64_t end, uint64_t offset, uint64_t ino, bool deleted, int fd)
{
	if (module_known(self, path, start, end, offset, ino, deleted)) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (self->nmods == self->capmods) {
		size_t cap = self->capmods ? 2 * self->capmods : 64;
		struct sym_module *mods = realloc(self->mods, cap * sizeof(*mods));
		if (mods == NULL)
			goto oom;
		self->mods = mods;
		self->capmods = cap;
	}
	char *copy = strdup(path);
	if (copy == NULL)
		goto oom;
	if (!spans_insert(self, start, end, self->nmods)) {
		free(copy);
		goto oom;
	}
	self->mods[self->nmods++] = (struct sym_module){
		.path = copy, .name = base_name(copy), .start = start, .end = end,
		.offset = offset, .ino = ino, .fd = fd, .deleted = deleted,
		.state = MOD_UNOPENED,
	};
	cache_forget(self, start, end);
	return 0;
oom:
	if (fd >= 0)
		close(fd);
	errno = ENOMEM;
	return -1;
}

int symbolizer_add_module(struct symbolizer *self, const char *path, uint64_t start,
			  uint64_t end, uint64_t file_offset)
{
	if (path == NULL || path[0] == '\0' || start >= end) {
		errno = EINVAL;
		return -1;
	}
	/* A trace may carry maps paths verbatim: a suffix that is not part of
	 * an existing file's name means the file was gone already. */
	size_t len = strlen(path);
	struct stat st;
	if (ends_with(path, len, DELETED_SUFFIX) && stat(path, &st) != 0) {
		char *cut = strndup(path, len - strlen(DELETED_SUFFIX));
		if (cut == NULL) {
			errno = ENOMEM;
			return -1;
		}
		int rc = module_add(self, cut, start, end, file_offset, 0, true, -1);
		free(cut);
		return rc;
	}
	return module_add(self, path, start, end, file_offset, 0, false, -1);
}

/* One line of /proc/PID/maps:
 *   start-end perms offset major:minor inode [spaces path]
 * The path runs to the end of the line and may hold spaces. */
static int maps_line(struct symbolizer *self, char *line, const char *procroot, int pid)
{
	unsigned long long start, end, offset, ino;
	unsigned major, minor;
	char perms[5];
	int pos = -1;
	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu%n", &start, &end, perms, &offset,
		   &major, &minor, &ino, &pos) != 7 || pos < 0)
		return 0;
	if (strlen(perms) != 4 || perms[2] != 'x' || start >= end)
		return 0;
	char *path = line + pos;
	while (*path == ' ' || *path == '\t')
		path++;
	/* Anonymous memory, [vdso], [heap] and the like have no file. */
	if (path[0] != '/')
		return 0;

	size_t len = strlen(path);
	bool deleted = false;
	struct stat st;
	if (ends_with(path, len, DELETED_SUFFIX) &&
	    !(stat(path, &st) == 0 && (uint64_t)st.st_ino == ino)) {
		deleted = true;
		path[len - strlen(DELETED_SUFFIX)] = '\0';
	}

	int fd = -1;
	if (deleted && self->held_fds < HELD_FDS_MAX && strncmp(path, "/memfd:", 7) != 0 &&
	    !module_known(self, path, start, end, offset, ino, deleted)) {
		/* While the target lives, its mapping still reaches the unlinked
		 * file (this needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE).
		 * memfd mappings are a JIT's memory, not ELF files. */
		char mf[PATH_MAX];
		if (snprintf(mf, sizeof(mf), "%s/%d/map_files/%llx-%llx", procroot, pid, start,
			     end) < (int)sizeof(mf))
			fd = open(mf, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd >= 0)
			self->held_fds++;
	}
	int rc = module_add(self, path, start, end, offset, ino, deleted, fd);
	if (fd >= 0 && rc != 0)
		self->held_fds--;  /* module_add closed it */
	return rc;
}

int symbolizer_add_process_maps(struct symbolizer *self, const char *procroot, int pid)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%d/maps", procroot, pid) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int err = 0;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		if (maps_line(self, line, procroot, pid) != 0)
			err = errno;
	}
	if (err == 0 && ferror(f))
		err = errno ? errno : EIO;
	free(line);
	fclose(f);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ opening ELF files */

static char *debuginfo_path;
static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

/* The load bias of the ELF file fd when its page at file offset was mapped
 * at start: the segment that holds that offset was loaded there.  Executable
 * segments are preferred, because in old layouts a data segment can share
 * the text segment's last page with another vaddr - offset. */
static bool elf_bias(int fd, uint64_t start, uint64_t offset, uint64_t *bias)
{
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf == NULL)
		return false;
	bool found = false;
	GElf_Ehdr ehdr;
	size_t phnum;
	long page = sysconf(_SC_PAGESIZE);
	uint64_t page_mask = page > 0 ? (uint64_t)page - 1 : 4095;
	if (elf_kind(elf) != ELF_K_ELF || gelf_getehdr(elf, &ehdr) == NULL ||
	    (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN) || elf_getphdrnum(elf, &phnum) != 0)
		goto out;
	for (int pass = 0; pass < 2 && !found; pass++) {
		for (size_t i = 0; i < phnum; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(elf, (int)i, &ph) == NULL || ph.p_type != PT_LOAD)
				continue;
			if (pass == 0 && !(ph.p_flags & PF_X))
				continue;
			if (offset < (ph.p_offset & ~page_mask) || offset >= ph.p_offset + ph.p_filesz)
				continue;
			/* libdwfl ignores the base of ET_EXEC files: they load where
			 * their headers say. */
			*bias = ehdr.e_type == ET_EXEC ? 0 : start - offset - (ph.p_vaddr - ph.p_offset);
			found = true;
			break;
		}
	}
out:
	elf_end(elf);
	return found;
}

/* Opens m's file for good or marks m unreadable. */
static void module_open(struct symbolizer *self, struct sym_module *m)
{
	m->state = MOD_UNREADABLE;
	int fd;
	struct stat st;
	if (m->fd >= 0) {
		/* Whatever comes of it, this mapping never opens its file again. */
		fd = m->fd;
		m->fd = -1;
		self->held_fds--;
	} else if (m->deleted) {
		return;
	} else {
		/* The path may name a FIFO or a device by now: never block on
		 * it or wake a device up. */
		if (stat(m->path, &st) != 0 || !S_ISREG(st.st_mode))
			return;
		fd = open(m->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	}
	if (fd < 0)
		return;
	uint64_t bias;
	/* The inode tells a file replaced since the target mapped it.  The
	 * device is not compared: on overlayfs maps shows the backing
	 * file system's device, stat the overlay's. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (m->ino != 0 && (uint64_t)st.st_ino != m->ino) ||
	    !elf_bias(fd, m->start, m->offset, &bias)) {
		close(fd);
		return;
	}
	for (struct sym_elf *e = self->elves; e != NULL; e = e->next) {
		if (e->dev == st.st_dev && e->ino == st.st_ino && e->bias == bias) {
			close(fd);
			m->elf = e;
			m->bias = bias;
			m->state = MOD_OPEN;
			return;
		}
	}
	struct sym_elf *e = calloc(1, sizeof(*e));
	Dwfl *dwfl = dwfl_begin(&offline_callbacks);
	if (e == NULL || dwfl == NULL)
		goto fail;
	dwfl_report_begin(dwfl);
	/* With add_p_vaddr, base is the bias itself.  On success the module
	 * owns fd; the path is what debug links are looked up next to. */
	Dwfl_Module *mod = dwfl_report_elf(dwfl, m->name, m->path, fd, bias, true);
	dwfl_report_end(dwfl, NULL, NULL);
	if (mod == NULL)
		goto fail;
	*e = (struct sym_elf){ .next = self->elves, .dev = st.st_dev, .ino = st.st_ino,
			       .bias = bias, .dwfl = dwfl, .mod = mod };
	self->elves = e;
	m->elf = e;
	m->bias = bias;
	m->state = MOD_OPEN;
	return;
fail:
	close(fd);
	if (dwfl != NULL)
		dwfl_end(dwfl);
	free(e);
}

/* ------------------------------------------------------------ resolving */

/* Frame strings of one address under construction. */
struct frame_list {
	char **v;
	size_t n, cap;
	bool oom;
};

static void frame_addf(struct frame_list *fl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void frame_addf(struct frame_list *fl, const char *fmt, ...)
{
	if (fl->oom)
		return;
	if (fl->n == fl->cap) {
		size_t cap = fl->cap ? 2 * fl->cap : 4;
		char **v = realloc(fl->v, cap * sizeof(*v));
		if (v == NULL) {
			fl->oom = true;
			return;
		}
		fl->v = v;
		fl->cap = cap;
	}
	va_list ap;
	va_start(ap, fmt);
	int rc = vasprintf(&fl->v[fl->n], fmt, ap);
	va_end(ap);
	if (rc < 0)
		fl->oom = true;
	else
		fl->n++;
}

/* One frame of module m: name and source position as far as known. */
static void frame_add(struct frame_list *fl, const struct sym_module *m, const char *name,
		      const char *file, int line, uint64_t return_address)
{
	if (file != NULL && line > 0)
		frame_addf(fl, "%s at %s:%d (%s)", name ? name : "??", base_name(file), line,
			   m->name);
	else if (name != NULL)
		frame_addf(fl, "%s (%s)", name, m->name);
	else
		frame_addf(fl, "?? (%s+0x%" PRIx64 ")", m->name, return_address - m->bias);
}

/* The name of a function DIE (an inlined instance names its origin):
 * the demangled linkage name for C++, else DW_AT_name.  Malloc'd or NULL. */
static char *die_function_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	if (linkage == NULL)
		linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	char *name = linkage != NULL ? demangle(linkage) : NULL;
	if (name != NULL)
		return name;
	const char *plain = dwarf_diename(die);
	if (plain == NULL)
		plain = linkage;
	return plain != NULL ? strdup(plain) : NULL;
}

/* Aliases at one address: a global name before a weak one before a local
 * one, then the name with fewer leading underscores ("malloc" rather than
 * "__libc_malloc"), then the shorter, then the first in byte order, so the
 * choice does not depend on the order of the symbol table. */
static int func_rank(const GElf_Sym *sym, const char *name)
{
	int bind = GELF_ST_BIND(sym->st_info);
	int rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
	int underscores = 0;
	while (name[underscores] == '_' && underscores < 3)
		underscores++;
	return rank * 4 + underscores;
}

static int func_cmp(const void *pa, const void *pb)
{
	const struct sym_func *a = pa, *b = pb;
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank - b->rank;
	size_t la = strlen(a->name), lb = strlen(b->name);
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* The function symbols of e's symbol table (of the separate debug file when
 * the main one was stripped), one per address.  The full symbol table has
 * the static functions that the dynamic symbols lack. */
static void elf_index(struct sym_elf *e)
{
	e->indexed = true;
	int n = dwfl_module_getsymtab(e->mod);
	if (n <= 0)
		return;
	struct sym_func *funcs = malloc((size_t)n * sizeof(*funcs));
	if (funcs == NULL)
		return;
	size_t nf = 0;
	for (int i = 0; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *name =
			dwfl_module_getsym_info(e->mod, i, &sym, &addr, &shndx, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);
		if (name == NULL || name[0] == '\0' || shndx == SHN_UNDEF ||
		    (type != STT_FUNC && type != STT_GNU_IFUNC))
			continue;
		funcs[nf++] = (struct sym_func){ .addr = addr, .size = sym.st_size, .name = name,
						 .rank = func_rank(&sym, name) };
	}
	qsort(funcs, nf, sizeof(*funcs), func_cmp);
	size_t kept = 0;
	for (size_t i = 0; i < nf; i++) {
		if (kept > 0 && funcs[kept - 1].addr == funcs[i].addr) {
			/* An alias may be the one that carries the size. */
			if (funcs[kept - 1].size < funcs[i].size)
				funcs[kept - 1].size = funcs[i].size;
			continue;
		}
		funcs[kept++] = funcs[i];
	}
	e->funcs = funcs;
	e->nfuncs = kept;
}

/* The function symbol that covers pc: the nearest one below it that is large
 * enough (a few steps back, for functions nested in others), or the one just
 * below it when that has no size. */
static const struct sym_func *elf_func(struct sym_elf *e, uint64_t pc)
{
	if (!e->indexed)
		elf_index(e);
	size_t lo = 0, hi = e->nfuncs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e->funcs[mid].addr <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t k = lo, steps = 0; k-- > 0 && steps < 16; steps++) {
		const struct sym_func *f = &e->funcs[k];
		if (f->size > 0 ? pc - f->addr < f->size : k + 1 == lo)
			return f;
	}
	return NULL;
}

/* The symbol-table name of the function holding pc, demangled; malloc'd or
 * NULL. */
static char *symbol_name(struct sym_elf *e, uint64_t pc)
{
	const struct sym_func *f = elf_func(e, pc);
	const char *name = f != NULL ? f->name : NULL;
	if (name == NULL && e->funcs == NULL) {
		/* No index (no memory for it): libdwfl's own, slower search. */
		GElf_Off off;
		GElf_Sym sym;
		name = dwfl_module_addrinfo(e->mod, pc, &off, &sym, NULL, NULL, NULL);
	}
	if (name == NULL || name[0] == '\0')
		return NULL;
	/* Full symbol tables also hold versioned names ("foo@@GLIBC_2.34"):
	 * the version is not part of the function's name. */
	const char *at = strchr(name + 1, '@');
	char *plain = at != NULL ? strndup(name, (size_t)(at - name)) : strdup(name);
	if (plain == NULL)
		return NULL;
	char *d = demangle(plain);
	if (d == NULL)
		return plain;
	free(plain);
	return d;
}

/* Frames of pc in an opened module: for each inlined call around pc, the
 * inlined function at the position inside it, then the function that holds
 * the code at the position of the outermost inlined call (or of pc). */
static void resolve_in_module(struct frame_list *fl, const struct sym_module *m, uint64_t pc,
			      uint64_t return_address)
{
	Dwfl_Module *mod = m->elf->mod;
	const char *file = NULL;
	int line = 0;
	Dwfl_Line *l = dwfl_module_getsrc(mod, pc);
	if (l != NULL)
		file = dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL);

	Dwarf_Die *func = NULL;
	Dwarf_Die *chain = NULL;
	int nchain = 0;
	Dwarf_Addr cubias = 0;
	Dwarf_Die *cu = dwfl_module_addrdie(mod, pc, &cubias);
	if (cu != NULL)
		nchain = dwarf_getscopes(cu, pc - cubias, &chain);
	for (int i = 0; i < nchain; i++) {
		int tag = dwarf_tag(&chain[i]);
		if (tag == DW_TAG_subprogram)
			break;
		if (tag != DW_TAG_inlined_subroutine)
			continue;
		/* Past an inlined call, dwarf_getscopes goes on with the scopes
		 * of the inlined function's abstract definition; the innermost
		 * DIE's own parents are the concrete nesting. */
		Dwarf_Die *concrete = NULL;
		int n = dwarf_getscopes_die(&chain[0], &concrete);
		free(chain);
		chain = concrete;
		nchain = n;
		break;
	}
	Dwarf_Files *files = NULL;
	size_t nfiles = 0;
	for (int i = 0; i < nchain; i++) {
		int tag = dwarf_tag(&chain[i]);
		if (tag == DW_TAG_subprogram) {
			func = &chain[i];
			break;
		}
		if (tag != DW_TAG_inlined_subroutine)
			continue;
		char *name = die_function_name(&chain[i]);
		frame_add(fl, m, name, file, line, return_address);
		free(name);
		/* The next frame out is positioned at this inlined call. */
		Dwarf_Attribute attr;
		Dwarf_Word w;
		file = NULL;
		line = 0;
		if (dwarf_formudata(dwarf_attr(&chain[i], DW_AT_call_line, &attr), &w) == 0 &&
		    w <= INT_MAX)
			line = (int)w;
		if (dwarf_formudata(dwarf_attr(&chain[i], DW_AT_call_file, &attr), &w) == 0 &&
		    (files != NULL || dwarf_getsrcfiles(cu, &files, &nfiles) == 0) && w < nfiles)
			file = dwarf_filesrc(files, w, NULL, NULL);
	}
	char *name = symbol_name(m->elf, pc);
	if (name == NULL && func != NULL)
		name = die_function_name(func);
	frame_add(fl, m, name, file, line, return_address);
	free(name);
	free(chain);
}

/* Builds, caches and returns the entry of return_address; NULL when out of
 * memory. */
static struct sym_entry *resolve(struct symbolizer *self, uint64_t return_address)
{
	struct frame_list fl = { 0 };
	/* The return address is the instruction after the call; the call
	 * itself (whose line and function we want) ends just before it. */
	uint64_t pc = return_address - 1;
	struct sym_module *m = return_address != 0 ? module_find(self, pc) : NULL;
	if (m != NULL && m->state == MOD_UNOPENED)
		module_open(self, m);
	if (m == NULL)
		frame_addf(&fl, "?? (0x%" PRIx64 ")", return_address);
	else if (m->state != MOD_OPEN)
		frame_addf(&fl, "?? (%s+0x%" PRIx64 ")", m->name,
			   return_address - m->start + m->offset);
	else
		resolve_in_module(&fl, m, pc, return_address);

	struct sym_entry *e = NULL;
	if (!fl.oom && fl.n > 0) {
		size_t size = sizeof(*e) + fl.n * sizeof(e->frames[0]);
		for (size_t i = 0; i < fl.n; i++)
			size += strlen(fl.v[i]) + 1;
		e = malloc(size);
	}
	if (e != NULL) {
		e->addr = return_address;
		e->n = fl.n;
		char *text = (char *)&e->frames[fl.n];
		for (size_t i = 0; i < fl.n; i++) {
			size_t len = strlen(fl.v[i]) + 1;
			memcpy(text, fl.v[i], len);
			e->frames[i] = text;
			text += len;
		}
		e->older = self->entries;
		self->entries = e;
		cache_put(self, e);
	}
	for (size_t i = 0; i < fl.n; i++)
		free(fl.v[i]);
	free(fl.v);
	return e;
}

size_t symbolizer_frames(struct symbolizer *self, uint64_t return_address,
			 const char **frames, size_t max)
{
	struct sym_entry *e = cache_get(self, return_address);
	if (e == NULL)
		e = resolve(self, return_address);
	if (e == NULL) {
		if (max > 0)
			frames[0] = UNKNOWN_FRAME;
		return 1;
	}
	for (size_t i = 0; i < e->n && i < max; i++)
		frames[i] = e->frames[i];
	return e->n;
}

const char *symbolizer_frame(struct symbolizer *self, uint64_t return_address)
{
	struct sym_entry *e = cache_get(self, return_address);
	if (e == NULL)
		e = resolve(self, return_address);
	return e != NULL ? e->frames[e->n - 1] : UNKNOWN_FRAME;
}
