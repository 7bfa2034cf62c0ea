/*
 * symbolize.h - return addresses of a target process turned into frame
 * strings, from memtop's side (the target may be gone by then).
 *
 * The symbolizer keeps its own copy of the target's module map (which file
 * is mapped executable where, at which file offset), filled from
 * /proc/PID/maps at every refresh or from explicit entries of a trace, and
 * resolves addresses later from that copy alone, reading the ELF files and
 * their debug information with elfutils (libdwfl).  Frames look like
 *
 *     "function at file.c:42 (module)"   symbol and line information
 *     "function (module)"                symbol only
 *     "?? at file.c:42 (module)"         line information only
 *     "?? (module+0x1a2b)"               module known, nothing covers it
 *     "?? (0x7f0012345678)"              no known module
 *
 * module is the basename of the mapped file, file the basename of the
 * source file as DWARF names it.  0xOFF is the return address in the ELF
 * file's own address space (what addr2line -e FILE takes) when the file
 * could be read, its offset in the file otherwise.  Results are cached per
 * address; strings stay valid until symbolizer_free.  Not thread-safe: one
 * symbolizer belongs to one thread.
 */
#ifndef MEMTOP_SYMBOLIZE_H
#define MEMTOP_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

struct symbolizer;

/* NULL only when out of memory. */
struct symbolizer *symbolizer_new(void);
void symbolizer_free(struct symbolizer *self);

/* Read PROCROOT/PID/maps and remember every file-backed executable mapping
 * not seen before (pseudo-files such as [vdso] and anonymous mappings are
 * left out).  A mapping over the range of an older one hides it there: the
 * latest mapping wins, and frames already resolved in that range are
 * resolved again.  Lines that do not parse are skipped.  0, or -1 with errno
 * set when the file cannot be read. */
int symbolizer_add_process_maps(struct symbolizer *self, const char *procroot, int pid);

/* Remember that [start, end) maps path from file_offset (a trace's module
 * list).  0, or -1 with errno (EINVAL: empty path or range; ENOMEM). */
int symbolizer_add_module(struct symbolizer *self, const char *path, uint64_t start,
			  uint64_t end, uint64_t file_offset);

/* The frame string for a return address (the call instruction before it is
 * what gets resolved).  When the call was inlined, the function that holds
 * the machine code, with the line of the call that was inlined into it.
 * Owned by the symbolizer, valid until symbolizer_free; never NULL; the same
 * pointer for the same address until the module map changes there. */
const char *symbolizer_frame(struct symbolizer *self, uint64_t return_address);

/* Every frame of a return address, inlined calls expanded: innermost first,
 * the last one is symbolizer_frame's.  Stores at most max pointers (owned as
 * above) and returns how many frames there are, at least 1. */
size_t symbolizer_frames(struct symbolizer *self, uint64_t return_address,
			 const char **frames, size_t max);

/* How many mappings are remembered. */
size_t symbolizer_module_count(const struct symbolizer *self);

#endif
