#!/bin/sh
# prodcons.sh - blocks freed by another thread (tests/progs/prodcons: a
# producer mallocs, a consumer frees, through a queue of 1024): memtop
# report's replay of the trace puts every free after its allocation, so
# no free is of an unknown block, the leaks are those valgrind finds, and
# the exact peak is the program's own and massif's, within the tolerance
# memtop(1) documents (5 %: within a tick of the trace's clock the order
# of two threads' calls is known only from the blocks and addresses they
# share, and an allocator may hand out fresh memory, the freeing thread's
# tcache keeping what it freed).  Recorded three times: the order on the
# clock differs from run to run.
. "$(dirname "$0")/lib.sh"

if ! command -v valgrind >/dev/null 2>&1; then
	echo "skip: valgrind not installed"
	exit 77
fi

# The oracles: the program's tally, memcheck's blocks in use at exit (its
# run of libc's freeres off: without valgrind it does not happen), and
# massif's largest heap (every change is a candidate peak).
valgrind --run-libc-freeres=no "$PROGS/prodcons" 20000 > /dev/null 2> "$WORK/vg.txt"
vg=$(sed -n 's/.*in use at exit: \([0-9,]*\) bytes in \([0-9,]*\) blocks.*/\1 \2/p' "$WORK/vg.txt" | tr -d ,)
vg_bytes=${vg% *}
vg_blocks=${vg#* }
valgrind --tool=massif --pages-as-heap=no --peak-inaccuracy=0 --run-libc-freeres=no \
	--massif-out-file="$WORK/massif.out" "$PROGS/prodcons" > "$WORK/ms.txt" 2> /dev/null
massif=$(sed -n 's/^mem_heap_B=//p' "$WORK/massif.out" | sort -n | tail -n 1)
check "massif ran" "$([ -n "$massif" ] && [ "$massif" -gt 0 ] && echo yes)" yes
ms_tally=$(sed -n 's/.*peak_live_bytes=\([0-9]*\).*/\1/p' "$WORK/ms.txt")
echo "memcheck: $vg_bytes bytes in $vg_blocks blocks at exit; massif peak $massif (program's: $ms_tally)"

for run in 1 2 3; do
	D="$WORK/t$run"
	"$MEMTOP" --trace "$D" --batch -o /dev/null -- "$PROGS/prodcons" > "$WORK/out$run" 2>&1
	check "run $run: exit status" "$?" 0
	tally=$(sed -n 's/.*peak_live_bytes=\([0-9]*\).*/\1/p' "$WORK/out$run")
	"$MEMTOP" report --json "$D" > "$WORK/rep$run.json" 2> "$WORK/rep$run.err"
	check "run $run: report exit status" "$?" 0
	R="$WORK/rep$run.json"
	p="records[0]['trace']['processes'][0]"
	echo "run $run: program's peak $tally; memtop's $(q "$R" "$p['totals']['peak_live_bytes']")," \
		"leaks $(q "$R" "records[0]['leaks']['blocks']") blocks"
	check "run $run: complete" "$(q "$R" "$p['complete']")" true
	check "run $run: no free of an unknown block" "$(q "$R" "$p['frees_of_unknown_blocks']")" 0
	check "run $run: every block through the queue freed" \
		"$(q "$R" "$p['totals']['allocs'] - $p['totals']['frees']")" "$vg_blocks"
	check "run $run: leaks: memcheck's blocks" "$(q "$R" "records[0]['leaks']['blocks']")" "$vg_blocks"
	# the leaks beyond the program's two (1000 and 3000 bytes) are the
	# threads' TLS vectors, which glibc sizes by the TLS modules: the
	# collector adds to them
	check "run $run: leaks: memcheck's bytes, the TLS vectors a little larger" \
		"$(q "$R" "0 <= records[0]['leaks']['bytes'] - $vg_bytes <= 64 * ($vg_blocks - 2)")" true
	# the program's blocks alone reach its peak; what libc holds (the
	# TLS vectors) and the blocks in flight come on top
	check "run $run: peak at least the program's" \
		"$(q "$R" "$p['totals']['peak_live_bytes'] >= $tally")" true
	check "run $run: peak within 5% of massif's" \
		"$(q "$R" "abs($p['totals']['peak_live_bytes'] - $massif) <= 0.05 * $massif")" true
	check "run $run: peak within 5% of the program's" \
		"$(q "$R" "$p['totals']['peak_live_bytes'] - $tally <= 0.05 * $tally")" true
done
finish
