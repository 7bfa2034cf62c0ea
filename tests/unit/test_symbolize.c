/*
 * test_symbolize.c - unit tests of src/symbolize.c against real code: this
 * test binary's own static, global and inlined functions, a shared object
 * (tests/unit/symtest_lib.c) loaded with dlopen after the maps were first
 * read, libstdc++ for demangling; module maps written at run time into a
 * scratch proc root for unreadable, deleted, replaced, non-ELF, overlapping
 * and hostile mappings; and random addresses by the hundred thousand.
 *
 * The functions whose frames are checked are noipa (no inlining, cloning or
 * renaming at any -O) and record the line of their call, so the expected
 * "function at file:line (module)" is exact.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "symbolize.h"

#define FRAME_LEN 8192

/* ------------------------------------------------------------ code to resolve */

volatile int test_sink;

uint64_t symtest_global_caller(int *line);
uint64_t symtest_inline_caller(int *outer, int *inner);

__attribute__((noipa)) static uint64_t whoami(void)
{
	return (uint64_t)(uintptr_t)__builtin_return_address(0);
}

/* The statement after each call keeps it from becoming a tail jump, which
 * would leave no return address in the caller. */
__attribute__((noipa)) static uint64_t static_caller(int *line)
{
	*line = __LINE__; uint64_t ra = whoami();
	test_sink++;
	return ra;
}

__attribute__((noipa)) uint64_t symtest_global_caller(int *line)
{
	*line = __LINE__; uint64_t ra = whoami();
	test_sink++;
	return ra;
}

static inline __attribute__((always_inline)) uint64_t inlined_helper(int *line)
{
	*line = __LINE__; uint64_t ra = whoami();
	test_sink++;
	return ra;
}

__attribute__((noipa)) uint64_t symtest_inline_caller(int *outer, int *inner)
{
	*outer = __LINE__; uint64_t ra = inlined_helper(inner);
	test_sink++;
	return ra;
}

/* ------------------------------------------------------------ helpers */

static char self_name[PATH_MAX];
static char self_path[PATH_MAX];

static int group_setup(void **state)
{
	ssize_t n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	assert_true(n > 0);
	self_path[n] = '\0';
	const char *slash = strrchr(self_path, '/');
	snprintf(self_name, sizeof(self_name), "%s", slash ? slash + 1 : self_path);
	/* Symbolization must stay on this machine: no debuginfod downloads. */
	unsetenv("DEBUGINFOD_URLS");
	return 0;
}

static void expect_frame(struct symbolizer *s, uint64_t ra, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void expect_frame(struct symbolizer *s, uint64_t ra, const char *fmt, ...)
{
	char want[FRAME_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	const char *got = symbolizer_frame(s, ra);
	assert_non_null(got);
	assert_string_equal(got, want);
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static struct symbolizer *live_symbolizer(void)
{
	struct symbolizer *s = symbolizer_new();
	assert_non_null(s);
	assert_int_equal(symbolizer_add_process_maps(s, "/proc", getpid()), 0);
	return s;
}

/* A scratch proc root, removed by the teardown. */
struct scratch {
	char root[64];
};

static int scratch_setup(void **state)
{
	struct scratch *sc = calloc(1, sizeof(*sc));
	assert_non_null(sc);
	snprintf(sc->root, sizeof(sc->root), "/tmp/test_symbolize.XXXXXX");
	assert_non_null(mkdtemp(sc->root));
	*state = sc;
	return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void scratch_remove(const struct scratch *sc)
{
	nftw(sc->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int scratch_teardown(void **state)
{
	struct scratch *sc = *state;
	scratch_remove(sc);
	free(sc);
	return 0;
}

/* Writes len bytes to root/rel, creating the directories on the way. */
static void put_file(const struct scratch *sc, const char *rel, const void *data, size_t len)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", sc->root, rel);
	for (char *p = path + strlen(sc->root) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		assert_true(mkdir(path, 0700) == 0 || errno == EEXIST);
		*p = '/';
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void put_text(const struct scratch *sc, const char *rel, const char *text)
{
	put_file(sc, rel, text, strlen(text));
}

/* The whole of a file, NUL-terminated; *len its size. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	size_t got;
	while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (cap - n - 1 == 0) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static uint64_t lib_call(void *lib, const char *name, int *line)
{
	uint64_t (*fn)(int *);
	*(void **)&fn = dlsym(lib, name);
	assert_non_null(fn);
	return fn(line);
}

/* ------------------------------------------------------------ this binary */

static void test_static_function(void **state)
{
	struct symbolizer *s = live_symbolizer();
	int line = 0;
	uint64_t ra = static_caller(&line);
	expect_frame(s, ra, "static_caller at test_symbolize.c:%d (%s)", line, self_name);
	symbolizer_free(s);
}

static void test_global_function(void **state)
{
	struct symbolizer *s = live_symbolizer();
	int line = 0;
	uint64_t ra = symtest_global_caller(&line);
	expect_frame(s, ra, "symtest_global_caller at test_symbolize.c:%d (%s)", line, self_name);
	symbolizer_free(s);
}

static void test_inlined_call(void **state)
{
	struct symbolizer *s = live_symbolizer();
	int outer = 0, inner = 0;
	uint64_t ra = symtest_inline_caller(&outer, &inner);
	char want_inner[FRAME_LEN], want_outer[FRAME_LEN];
	snprintf(want_inner, sizeof(want_inner), "inlined_helper at test_symbolize.c:%d (%s)",
		 inner, self_name);
	snprintf(want_outer, sizeof(want_outer), "symtest_inline_caller at test_symbolize.c:%d (%s)",
		 outer, self_name);

	const char *frames[4] = { 0 };
	assert_int_equal(symbolizer_frames(s, ra, frames, 4), 2);
	assert_string_equal(frames[0], want_inner);
	assert_string_equal(frames[1], want_outer);
	/* The single frame is the function that holds the code. */
	assert_ptr_equal(symbolizer_frame(s, ra), frames[1]);
	/* A short array gets the innermost frames, the count stays. */
	const char *one[1] = { 0 };
	assert_int_equal(symbolizer_frames(s, ra, one, 1), 2);
	assert_ptr_equal(one[0], frames[0]);
	assert_int_equal(symbolizer_frames(s, ra, NULL, 0), 2);
	symbolizer_free(s);
}

static void test_cache_same_pointer(void **state)
{
	struct symbolizer *s = live_symbolizer();
	int line;
	uint64_t a = static_caller(&line);
	uint64_t b = symtest_global_caller(&line);
	const char *fa = symbolizer_frame(s, a);
	const char *fb = symbolizer_frame(s, b);
	assert_ptr_not_equal(fa, fb);
	for (int i = 0; i < 3; i++) {
		assert_ptr_equal(symbolizer_frame(s, a), fa);
		assert_ptr_equal(symbolizer_frame(s, b), fb);
	}
	/* Reading unchanged maps again changes nothing, the cache included. */
	size_t n = symbolizer_module_count(s);
	assert_int_equal(symbolizer_add_process_maps(s, "/proc", getpid()), 0);
	assert_int_equal(symbolizer_module_count(s), n);
	assert_ptr_equal(symbolizer_frame(s, a), fa);
	const char *f[1];
	assert_int_equal(symbolizer_frames(s, b, f, 1), 1);
	assert_ptr_equal(f[0], fb);
	symbolizer_free(s);
}

struct exec_segment {
	uint64_t start, end, offset;
};

/* The main program's executable segment as the dynamic loader reports it. */
static int find_exec_segment(struct dl_phdr_info *info, size_t size, void *data)
{
	if (info->dlpi_name != NULL && info->dlpi_name[0] != '\0')
		return 0;
	uint64_t mask = (uint64_t)sysconf(_SC_PAGESIZE) - 1;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		struct exec_segment *seg = data;
		seg->start = (info->dlpi_addr + ph->p_vaddr) & ~mask;
		seg->end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + mask) & ~mask;
		seg->offset = ph->p_offset & ~mask;
		return 1;
	}
	return 0;
}

/* The trace reader's path: the mapping given explicitly, not read from maps. */
static void test_explicit_module(void **state)
{
	struct exec_segment seg = { 0 };
	assert_int_equal(dl_iterate_phdr(find_exec_segment, &seg), 1);
	struct symbolizer *s = symbolizer_new();
	assert_non_null(s);
	assert_int_equal(symbolizer_add_module(s, self_path, seg.start, seg.end, seg.offset), 0);
	assert_int_equal(symbolizer_module_count(s), 1);
	int line;
	uint64_t ra = static_caller(&line);
	expect_frame(s, ra, "static_caller at test_symbolize.c:%d (%s)", line, self_name);

	errno = 0;
	assert_int_equal(symbolizer_add_module(s, "", 0x1000, 0x2000, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(symbolizer_add_module(s, NULL, 0x1000, 0x2000, 0), -1);
	assert_int_equal(symbolizer_add_module(s, "/x", 0x2000, 0x2000, 0), -1);
	assert_int_equal(symbolizer_add_module(s, "/x", 0x3000, 0x2000, 0), -1);
	assert_int_equal(symbolizer_module_count(s), 1);
	symbolizer_free(s);
}

/* ------------------------------------------------------------ dlopen */

static void test_dlopen_later(void **state)
{
	/* Nothing else may have loaded it: the first maps must lack it. */
	assert_null(dlopen(SYMTEST_LIB, RTLD_NOW | RTLD_NOLOAD));
	struct symbolizer *s = live_symbolizer();
	size_t before = symbolizer_module_count(s);

	void *lib = dlopen(SYMTEST_LIB, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(lib);
	int gline = 0, sline = 0;
	uint64_t gra = lib_call(lib, "symtest_lib_global", &gline);
	uint64_t sra = lib_call(lib, "symtest_lib_static", &sline);

	/* Not mapped when the maps were read: no module yet. */
	expect_frame(s, gra, "?? (0x%" PRIx64 ")", gra);

	assert_int_equal(symbolizer_add_process_maps(s, "/proc", getpid()), 0);
	assert_true(symbolizer_module_count(s) > before);
	expect_frame(s, gra, "symtest_lib_global at symtest_lib.c:%d (libsymtest.so)", gline);
	expect_frame(s, sra, "lib_hidden_static at symtest_lib.c:%d (libsymtest.so)", sline);

	/* After dlclose nothing newer covers the range: still resolved. */
	dlclose(lib);
	assert_int_equal(symbolizer_add_process_maps(s, "/proc", getpid()), 0);
	expect_frame(s, gra, "symtest_lib_global at symtest_lib.c:%d (libsymtest.so)", gline);
	symbolizer_free(s);
}

/* A library deleted while mapped: resolved through map_files where this
 * process may open it, otherwise module and offset. */
static void test_deleted_while_mapped(void **state)
{
	const struct scratch *sc = *state;
	size_t len;
	char *image = slurp(SYMTEST_LIB, &len);
	put_file(sc, "libsym copy.so", image, len);
	free(image);
	char copy[PATH_MAX];
	snprintf(copy, sizeof(copy), "%s/libsym copy.so", sc->root);
	void *lib = dlopen(copy, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(lib);
	int line = 0;
	uint64_t ra = lib_call(lib, "symtest_lib_global", &line);
	assert_int_equal(unlink(copy), 0);

	struct symbolizer *s = live_symbolizer();
	const char *got = symbolizer_frame(s, ra);
	char resolved[FRAME_LEN];
	snprintf(resolved, sizeof(resolved),
		 "symtest_lib_global at symtest_lib.c:%d (libsym copy.so)", line);
	if (strcmp(got, resolved) != 0) {
		assert_true(starts_with(got, "?? (libsym copy.so+0x"));
		assert_true(ends_with(got, ")"));
	}
	dlclose(lib);
	symbolizer_free(s);
}

/* ------------------------------------------------------------ C++ names */

static void test_demangled(void **state)
{
	void *cxx = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_LOCAL);
	if (cxx == NULL)
		skip();
	void *fn = dlsym(cxx, "_ZSt9terminatev");
	assert_non_null(fn);
	struct symbolizer *s = live_symbolizer();
	const char *got = symbolizer_frame(s, (uint64_t)(uintptr_t)fn + 1);
	/* The module is the file mapped, libstdc++.so.6.0.N behind the link. */
	assert_true(starts_with(got, "std::terminate() "));
	assert_non_null(strstr(got, " (libstdc++.so.6"));
	assert_true(ends_with(got, ")"));
	symbolizer_free(s);
	dlclose(cxx);
}

/* ------------------------------------------------------------ saved maps */

/* The maps file (and the process) may be gone when the summary is made. */
static void test_works_after_maps_gone(void **state)
{
	const struct scratch *sc = *state;
	size_t len;
	char *maps = slurp("/proc/self/maps", &len);
	put_file(sc, "proc/4242/maps", maps, len);
	free(maps);
	char procroot[PATH_MAX];
	snprintf(procroot, sizeof(procroot), "%s/proc", sc->root);

	struct symbolizer *s = symbolizer_new();
	assert_non_null(s);
	assert_int_equal(symbolizer_add_process_maps(s, procroot, 4242), 0);
	scratch_remove(sc);
	errno = 0;
	assert_int_equal(symbolizer_add_process_maps(s, procroot, 4242), -1);
	assert_int_equal(errno, ENOENT);

	int line;
	uint64_t ra = static_caller(&line);
	expect_frame(s, ra, "static_caller at test_symbolize.c:%d (%s)", line, self_name);
	ra = symtest_global_caller(&line);
	expect_frame(s, ra, "symtest_global_caller at test_symbolize.c:%d (%s)", line, self_name);
	symbolizer_free(s);
}

/* ------------------------------------------------------------ no module */

static void test_no_module(void **state)
{
	struct symbolizer *s = symbolizer_new();
	assert_non_null(s);
	expect_frame(s, 0x1234, "?? (0x1234)");
	expect_frame(s, 0, "?? (0x0)");
	expect_frame(s, 1, "?? (0x1)");
	expect_frame(s, UINT64_MAX, "?? (0xffffffffffffffff)");
	const char *f[2];
	assert_int_equal(symbolizer_frames(s, 0x1234, f, 2), 1);
	assert_string_equal(f[0], "?? (0x1234)");
	symbolizer_free(s);

	s = live_symbolizer();
	expect_frame(s, 0x10, "?? (0x10)");
	expect_frame(s, 0xffffffffff600abcull, "?? (0xffffffffff600abc)");
	symbolizer_free(s);
	symbolizer_free(NULL);
}

/* ------------------------------------------------------------ odd mappings */

static void test_unusable_files(void **state)
{
	const struct scratch *sc = *state;
	put_text(sc, "notelf.bin", "#!/bin/sh\necho this is no ELF file\n");
	char notelf[PATH_MAX];
	snprintf(notelf, sizeof(notelf), "%s/notelf.bin", sc->root);
	struct stat st;
	assert_int_equal(stat(notelf, &st), 0);
	struct stat self;
	assert_int_equal(stat(self_path, &self), 0);

	char maps[4 * PATH_MAX];
	snprintf(maps, sizeof(maps),
		 /* missing, with spaces in the path */
		 "00400000-00401000 r-xp 00002000 fe:00 12345                      /nonexistent dir/lib gone.so\n"
		 /* unlinked: the suffix is not part of the name */
		 "00500000-00501000 r-xp 00000000 fe:00 999 %s/libfoo.so (deleted)\n"
		 /* not ELF */
		 "00600000-00602000 r-xp 00001000 fe:00 %llu %s\n"
		 /* this very binary, but another inode: replaced since */
		 "00700000-00701000 r-xp 00000000 fe:00 %llu %s\n"
		 /* a directory */
		 "00800000-00801000 r-xp 00000000 fe:00 0 /\n",
		 sc->root, (unsigned long long)st.st_ino, notelf,
		 (unsigned long long)self.st_ino + 1, self_path);
	put_text(sc, "proc/77/maps", maps);
	char procroot[PATH_MAX];
	snprintf(procroot, sizeof(procroot), "%s/proc", sc->root);

	struct symbolizer *s = symbolizer_new();
	assert_non_null(s);
	assert_int_equal(symbolizer_add_process_maps(s, procroot, 77), 0);
	assert_int_equal(symbolizer_module_count(s), 5);
	/* The offset is of the return address in the file. */
	expect_frame(s, 0x400010, "?? (lib gone.so+0x2010)");
	expect_frame(s, 0x500abc, "?? (libfoo.so+0xabc)");
	expect_frame(s, 0x601000, "?? (notelf.bin+0x2000)");
	expect_frame(s, 0x700020, "?? (%s+0x20)", self_name);
	expect_frame(s, 0x800020, "?? (/+0x20)");
	/* The first byte of a mapping belongs to the call before it. */
	expect_frame(s, 0x400000, "?? (0x400000)");
	expect_frame(s, 0x401000, "?? (lib gone.so+0x3000)");
	expect_frame(s, 0x401001, "?? (0x401001)");
	symbolizer_free(s);
}

static void test_hostile_maps(void **state)
{
	const struct scratch *sc = *state;
	char longpath[6000];
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	static const char lines[] =
		"\n"
		"garbage\n"
		"zzzz-1000 r-xp 00000000 fe:00 1 /lib/x.so\n"
		"00900000-00800000 r-xp 00000000 fe:00 1 /lib/backwards.so\n"
		"00a00000-00a01000 r-xp 00000000 fe:00 1\n"
		"00a00000-00a01000 r-xp 00000000 fe:00 1      \n"
		"00b00000-00b01000 r--p 00000000 fe:00 1 /lib/readonly.so\n"
		"00c00000-00c01000 rwxp 00000000 00:00 0\n"
		"00d00000-00d01000 r-xp 00000000 00:00 0                          [vdso]\n"
		"00e00000-00e01000 r-xp 00000000 00:00 0 anon_inode:[perf_event]\n"
		"00f00000-00f01000 r-xp\n"
		"01000000-01001000 r-xpxx 00000000 fe:00 1 /lib/perms.so\n"
		"01100000-01101000 r-xp 00000000 fe:00 1 /lib/ok.so\n"
		"01200000-01201000 r-xp 00000000 fe:00 1 /lib/ok.so (deleted) (deleted)\n"
		"ffffffffffffe000-ffffffffffffffff r-xp 00000000 fe:00 1 /lib/top.so\n";
	size_t n = strlen(lines) + strlen(longpath) + 64;
	char *maps = malloc(n + 64);
	assert_non_null(maps);
	int len = snprintf(maps, n, "%s01300000-01301000 r-xp 00000000 fe:00 1 %s\n", lines,
			   longpath);
	/* A NUL inside a line, and a last line without its newline. */
	static const char tail[] = "01400000-01401000 r-xp 0 fe:00 1 /lib/n\0ul.so\n01500000-0";
	memcpy(maps + len, tail, sizeof(tail) - 1);
	put_file(sc, "proc/88/maps", maps, (size_t)len + sizeof(tail) - 1);
	free(maps);
	char procroot[PATH_MAX];
	snprintf(procroot, sizeof(procroot), "%s/proc", sc->root);

	struct symbolizer *s = symbolizer_new();
	assert_non_null(s);
	assert_int_equal(symbolizer_add_process_maps(s, procroot, 88), 0);
	/* ok.so, the doubly-suffixed one, top.so, the long path, n. */
	assert_int_equal(symbolizer_module_count(s), 5);
	expect_frame(s, 0x01100010, "?? (ok.so+0x10)");
	expect_frame(s, 0x01200010, "?? (ok.so (deleted)+0x10)");
	expect_frame(s, 0xffffffffffffe010ull, "?? (top.so+0x10)");
	expect_frame(s, 0x01400010, "?? (n+0x10)");
	expect_frame(s, 0x00a00010, "?? (0xa00010)");
	expect_frame(s, 0x00b00010, "?? (0xb00010)");
	expect_frame(s, 0x00d00010, "?? (0xd00010)");
	char want[sizeof(longpath) + 64];
	snprintf(want, sizeof(want), "?? (%s+0x10)", longpath + 1);
	expect_frame(s, 0x01300010, "%s", want);
	/* Same file again: nothing new. */
	assert_int_equal(symbolizer_add_process_maps(s, procroot, 88), 0);
	assert_int_equal(symbolizer_module_count(s), 5);
	errno = 0;
	assert_int_equal(symbolizer_add_process_maps(s, procroot, 99), -1);
	assert_int_equal(errno, ENOENT);
	symbolizer_free(s);
}

/* A later mapping over an older one's range wins there, and what was
 * resolved there before is resolved again; old strings stay valid. */
static void test_latest_mapping_wins(void **state)
{
	struct symbolizer *s = symbolizer_new();
	assert_non_null(s);
	assert_int_equal(symbolizer_add_module(s, "/nonexistent/a.so", 0x10000, 0x20000, 0), 0);
	const char *old = symbolizer_frame(s, 0x18010);
	assert_string_equal(old, "?? (a.so+0x8010)");
	const char *low = symbolizer_frame(s, 0x10010);

	assert_int_equal(symbolizer_add_module(s, "/nonexistent/b.so", 0x18000, 0x28000, 0x1000), 0);
	expect_frame(s, 0x18010, "?? (b.so+0x1010)");
	assert_string_equal(old, "?? (a.so+0x8010)");
	/* Outside the newer range the older mapping still answers, cached. */
	assert_ptr_equal(symbolizer_frame(s, 0x10010), low);
	expect_frame(s, 0x20010, "?? (b.so+0x9010)");

	/* a.so mapped there again is again the newest. */
	assert_int_equal(symbolizer_add_module(s, "/nonexistent/a.so", 0x10000, 0x20000, 0), 0);
	assert_int_equal(symbolizer_module_count(s), 3);
	expect_frame(s, 0x18010, "?? (a.so+0x8010)");
	expect_frame(s, 0x20010, "?? (b.so+0x9010)");
	/* The newest at that place already: nothing added. */
	assert_int_equal(symbolizer_add_module(s, "/nonexistent/a.so", 0x10000, 0x20000, 0), 0);
	assert_int_equal(symbolizer_module_count(s), 3);

	/* A small mapping inside a larger one leaves it both sides. */
	assert_int_equal(symbolizer_add_module(s, "/nonexistent/d.so", 0x12000, 0x13000, 0), 0);
	expect_frame(s, 0x11010, "?? (a.so+0x1010)");
	expect_frame(s, 0x12010, "?? (d.so+0x10)");
	expect_frame(s, 0x13010, "?? (a.so+0x3010)");
	/* a.so's line read again is no longer the newest over all of its
	 * range: remembered again, it wins again. */
	assert_int_equal(symbolizer_add_module(s, "/nonexistent/a.so", 0x10000, 0x20000, 0), 0);
	assert_int_equal(symbolizer_module_count(s), 5);
	expect_frame(s, 0x12010, "?? (a.so+0x2010)");

	/* A maps path with the kernel's suffix, from a trace. */
	assert_int_equal(symbolizer_add_module(s, "/nonexistent/c.so (deleted)", 0x30000, 0x31000,
					       0x2000), 0);
	expect_frame(s, 0x30010, "?? (c.so+0x2010)");
	symbolizer_free(s);
}

/* A process with very many executable mappings: read twice, the second
 * read finds each line known with a binary search. */
static void test_many_mappings(void **state)
{
	const struct scratch *sc = *state;
	enum { N = 50000 };
	size_t cap = (size_t)N * 80, len = 0;
	char *maps = malloc(cap);
	assert_non_null(maps);
	for (unsigned i = 0; i < N; i++)
		len += (size_t)snprintf(maps + len, cap - len,
					"%llx-%llx r-xp %08x fe:00 %u /nonexistent/m%u.so\n",
					0x10000000ull + i * 0x2000ull, 0x10001000ull + i * 0x2000ull,
					i * 0x1000, 100 + i, i % 7);
	put_file(sc, "proc/66/maps", maps, len);
	free(maps);
	char procroot[PATH_MAX];
	snprintf(procroot, sizeof(procroot), "%s/proc", sc->root);

	struct symbolizer *s = symbolizer_new();
	assert_non_null(s);
	assert_int_equal(symbolizer_add_process_maps(s, procroot, 66), 0);
	assert_int_equal(symbolizer_module_count(s), N);
	assert_int_equal(symbolizer_add_process_maps(s, procroot, 66), 0);
	assert_int_equal(symbolizer_module_count(s), N);
	expect_frame(s, 0x10000000ull + 777 * 0x2000ull + 0x10, "?? (m0.so+0x%x)", 777 * 0x1000 + 0x10);
	expect_frame(s, 0x10000000ull + 777 * 0x2000ull + 0x1010, "?? (0x%llx)",
		     0x10000000ull + 777 * 0x2000ull + 0x1010);
	symbolizer_free(s);
}

/* ------------------------------------------------------------ fuzz */

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* A frame is "NAME (MODULE)", "NAME at FILE:LINE (MODULE)", "?? (M+0xOFF)"
 * or "?? (0xADDR)": at least it ends with ')' and has " (". */
static void check_shape(const char *f)
{
	assert_non_null(f);
	assert_true(strlen(f) >= 4);
	assert_true(ends_with(f, ")"));
	assert_non_null(strstr(f, " ("));
}

static void test_fuzz_addresses(void **state)
{
	struct symbolizer *s = live_symbolizer();
	uint64_t x = 0x9e3779b97f4a7c15ull;
	const char *frames[8];

	for (int i = 0; i < 100000; i++) {
		uint64_t a = xorshift(&x);
		if (i % 4 == 1)
			a &= 0x00007fffffffffffull;
		else if (i % 4 == 2)
			a &= 0xffff;
		check_shape(symbolizer_frame(s, a));
	}

	/* Addresses inside every executable mapping, most not after a call. */
	size_t len;
	char *maps = slurp("/proc/self/maps", &len);
	int hits = 0;
	for (char *line = strtok(maps, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		unsigned long long lo, hi;
		char perms[5];
		if (sscanf(line, "%llx-%llx %4s", &lo, &hi, perms) != 3 || perms[2] != 'x')
			continue;
		for (int i = 0; i < 2000; i++) {
			uint64_t a = lo + xorshift(&x) % (hi - lo + 1);
			size_t n = symbolizer_frames(s, a, frames, 8);
			assert_true(n >= 1);
			for (size_t k = 0; k < n && k < 8; k++)
				check_shape(frames[k]);
			if (n <= 8)
				assert_ptr_equal(frames[n - 1], symbolizer_frame(s, a));
			hits++;
		}
	}
	free(maps);
	assert_true(hits > 0);
	symbolizer_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_function),
		cmocka_unit_test(test_global_function),
		cmocka_unit_test(test_inlined_call),
		cmocka_unit_test(test_cache_same_pointer),
		cmocka_unit_test(test_explicit_module),
		cmocka_unit_test(test_dlopen_later),
		cmocka_unit_test_setup_teardown(test_deleted_while_mapped, scratch_setup,
						scratch_teardown),
		cmocka_unit_test(test_demangled),
		cmocka_unit_test_setup_teardown(test_works_after_maps_gone, scratch_setup,
						scratch_teardown),
		cmocka_unit_test(test_no_module),
		cmocka_unit_test_setup_teardown(test_unusable_files, scratch_setup,
						scratch_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_maps, scratch_setup, scratch_teardown),
		cmocka_unit_test(test_latest_mapping_wins),
		cmocka_unit_test_setup_teardown(test_many_mappings, scratch_setup, scratch_teardown),
		cmocka_unit_test(test_fuzz_addresses),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
