#!/bin/sh
# counts.sh - exact counters: memtop's figures for a program's worker thread
# equal the tally the program keeps of its own calls (every malloc-family
# function), and the process totals agree with valgrind's independent count.
. "$(dirname "$0")/lib.sh"

"$MEMTOP" --batch --json -o "$WORK/tally.json" -- "$PROGS/tally" 500 > "$WORK/tally.out"
check "tally exit status" "$?" 0
line=$(grep '^TALLY' "$WORK/tally.out")
for field in allocs frees reallocs bytes; do
	want=$(echo "$line" | sed -n "s/.* $field=\([0-9]*\).*/\1/p")
	key=$field; [ "$field" = bytes ] && key=bytes_allocated
	got=$(q "$WORK/tally.json" "thread(s, 'tally')['$key']")
	check "tally thread $field" "$got" "$want"
done
check "summary is the last record" "$(q "$WORK/tally.json" "records[-1]['type']")" summary
check "summary exit_status" "$(q "$WORK/tally.json" "s['exit_status']")" 0
check "totals include the thread" \
	"$(q "$WORK/tally.json" "s['totals']['allocs'] >= thread(s, 'tally')['allocs']")" true
check "live = usable allocated - usable freed, never above peak" \
	"$(q "$WORK/tally.json" "s['totals']['live_bytes'] <= s['totals']['peak_live_bytes']")" true
check "histogram sums to allocs" \
	"$(q "$WORK/tally.json" "sum(thread(s,'tally')['size_histogram']) == thread(s,'tally')['allocs']")" true

# valgrind is an independent oracle for the whole process ("total heap
# usage"); valgrind 3.19 aborts on pvalloc, hence --no-pvalloc on both sides.
# Bytes may differ by the DTV that glibc sizes by the number of TLS modules:
# the collector itself is one more module.  valgrind's own run of libc's
# freeres at exit is turned off: without valgrind it does not happen.
if command -v valgrind >/dev/null 2>&1; then
	valgrind --run-libc-freeres=no --run-cxx-freeres=no "$PROGS/tally" --no-pvalloc 200 > /dev/null 2> "$WORK/vg.txt"
	vg=$(sed -n 's/.*total heap usage: \([0-9,]*\) allocs, \([0-9,]*\) frees, \([0-9,]*\) bytes allocated.*/\1 \2 \3/p' "$WORK/vg.txt" | tr -d ,)
	"$MEMTOP" --batch --json -o "$WORK/t200.json" -- "$PROGS/tally" --no-pvalloc 200 > /dev/null
	mt=$(q "$WORK/t200.json" "'%d %d' % (s['totals']['allocs'], s['totals']['frees'])")
	check "process allocs and frees equal valgrind's" "$mt" "${vg% *}"
	vgbytes=${vg##* }
	check "process bytes within one DTV of valgrind's" \
		"$(q "$WORK/t200.json" "abs(s['totals']['bytes_allocated'] - $vgbytes) <= 16 * s['totals']['threads_seen']")" true

	# C++: new/delete, exceptions in threads, iostreams; allocations made
	# before the collector's constructor runs (libstdc++'s) count too.
	valgrind --run-libc-freeres=no --run-cxx-freeres=no "$PROGS/cxx" > /dev/null 2> "$WORK/vgx.txt"
	vg=$(sed -n 's/.*total heap usage: \([0-9,]*\) allocs, \([0-9,]*\) frees, \([0-9,]*\) bytes allocated.*/\1 \2 \3/p' "$WORK/vgx.txt" | tr -d ,)
	"$MEMTOP" --batch --json -o "$WORK/cxx.json" -- "$PROGS/cxx" > "$WORK/cxx.out"
	check "C++ program exit status" "$?" 0
	check "C++ program output" "$(cat "$WORK/cxx.out")" "caught 4000"
	mt=$(q "$WORK/cxx.json" "'%d %d' % (s['totals']['allocs'], s['totals']['frees'])")
	check "C++ allocs and frees equal valgrind's" "$mt" "${vg% *}"
	check "C++ main thread counted" "$(q "$WORK/cxx.json" "len(s['threads'])")" 5
else
	echo "skip: valgrind not installed"
fi

# Every function's return value and errno behave as without memtop; the
# deliberately failing calls are counted as failed.
"$MEMTOP" --batch --json -o "$WORK/all.json" -- "$PROGS/allfuncs" > "$WORK/all.out" 2>&1
check "allfuncs passes under memtop" "$?" 0
grep -q '^ALLFUNCS ok' "$WORK/all.out" && pass "allfuncs ok line" || fail "allfuncs: $(cat "$WORK/all.out")"
want=$(sed -n 's/^FAILED expected=\([0-9]*\).*/\1/p' "$WORK/all.out")
check "failed calls counted" "$(q "$WORK/all.json" "s['totals']['failed']")" "$want"

# text mode reads like top -b
"$MEMTOP" --batch -o "$WORK/tally.txt" -- "$PROGS/tally" 100 > /dev/null
grep -q '^memtop summary - pid [0-9]* ' "$WORK/tally.txt" && pass "text summary header" || fail "text summary header"
grep -Eq '^ +[0-9]+ tally +exited' "$WORK/tally.txt" && pass "text thread row" || fail "text thread row: $(cat "$WORK/tally.txt")"
finish
