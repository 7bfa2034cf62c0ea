#!/bin/sh
# heap.sh - the collector leaves the program's allocator as it is without
# it: the usable sizes, mmapped chunks, mallinfo2's mmapped-chunk figures
# and malloc_trim's result a program sees are the same bare and under
# memtop in each mode; and glibc's __libc_malloc family, called by name
# and mixed with the standard names, is counted exactly.
. "$(dirname "$0")/lib.sh"

# Bare, then under each mode: the same lines (heapshape prints what glibc
# decides: mmapped or not, by its dynamic threshold, and what trimming
# finds to give back).
"$PROGS/heapshape" > "$WORK/bare.out"
check "bare run exit status" "$?" 0
check "bare: 200000 bytes come from mmap" \
	"$(grep -c '^200000 usable=200688 mmapped=1$' "$WORK/bare.out")" 1
run_mode() { # NAME MEMTOP-OPTIONS...
	name=$1
	shift
	"$MEMTOP" --batch -o "$WORK/$name.txt" "$@" -- "$PROGS/heapshape" > "$WORK/$name.out"
	check "$name: exit status" "$?" 0
	check "$name: the allocator as bare (sizes, mmapped chunks, mallinfo2, malloc_trim)" \
		"$(diff "$WORK/bare.out" "$WORK/$name.out" | tr '\n' ' ')" ""
}
run_mode counters --no-stacks
run_mode default
run_mode every-stack --sample-small 1 --sample-medium 1 --sample-large 1
run_mode trace --trace "$WORK/trace"
# the collector alone, without a memtop session
LD_PRELOAD="$top_builddir/preload/.libs/libmemtop.so" "$PROGS/heapshape" > "$WORK/preload.out"
check "preloaded alone: the allocator as bare" \
	"$(diff "$WORK/bare.out" "$WORK/preload.out" | tr '\n' ' ')" ""

# __libc_malloc blocks freed through free and malloc blocks freed through
# __libc_free: every call counted, so the live bytes are those the program
# holds (none), not minus the __libc_malloc blocks' bytes.
"$MEMTOP" --batch --json -o "$WORK/mixed.json" -- "$PROGS/heapshape" mixed 500 > "$WORK/mixed.out"
check "mixed: exit status" "$?" 0
line=$(cat "$WORK/mixed.out")
val() { echo "$line" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
check "mixed: allocs counted, both names" "$(q "$WORK/mixed.json" "s['totals']['allocs']")" "$(val allocs)"
check "mixed: frees counted, both names" "$(q "$WORK/mixed.json" "s['totals']['frees']")" "$(val frees)"
check "mixed: bytes freed are the usable bytes the program freed" \
	"$(q "$WORK/mixed.json" "s['totals']['bytes_freed']")" "$(val usable_out)"
check "mixed: process live bytes 0, not negative" \
	"$(q "$WORK/mixed.json" "s['totals']['live_bytes']")" 0

finish
