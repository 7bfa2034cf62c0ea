#!/bin/sh
# api.sh - the C API (memtop.h) in a real program, contrib/example/quicktrace,
# linked with the collector: run on its own (the collector comes in by
# symbol order, no LD_PRELOAD), under memtop (which preloads the same
# library: one collector), and with LD_PRELOAD set by hand on top of the
# link.  The example checks memtop's report against its own tally.
. "$(dirname "$0")/lib.sh"

EXAMPLE="$top_builddir/contrib/example/quicktrace"
REAL="$top_builddir/contrib/example/.libs/quicktrace"
[ -x "$REAL" ] || REAL="$top_builddir/contrib/example/.libs/lt-quicktrace"
LIBDIR="$top_builddir/preload/.libs"

# trace_ok FILE: the file starts with the trace magic "MTTRACE\001"
trace_ok() {
	[ "$(head -c 8 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = 'MTTRACE001' ]
}

# 1. linked, run on its own
"$EXAMPLE" "$WORK/alone" > "$WORK/alone.out" 2>&1
check "alone: exit status" "$?" 0
grep -q "report matches the function's own tally" "$WORK/alone.out" &&
	pass "alone: quick-trace report equals the tally" || fail "alone: $(cat "$WORK/alone.out")"
trace=$(ls "$WORK"/alone/trace.*.mtt 2>/dev/null)
trace_ok "$trace" && pass "alone: trace file written ($trace)" || fail "alone: no trace file"
pid=${trace##*/trace.}; pid=${pid%.mtt}
check "alone: the snapshot names the worker" \
	"$(grep -c "qt-worker *allocs 100 " "$WORK/alone.out")" 1
[ ! -e "/dev/shm/memtop.$pid" ] && pass "alone: no segment left in /dev/shm" ||
	fail "alone: /dev/shm/memtop.$pid left behind"

# 2. under memtop: memtop preloads the library the program is linked with
"$MEMTOP" --batch --json -o "$WORK/under.json" -- "$EXAMPLE" "$WORK/under" > "$WORK/under.out" 2>&1
check "under memtop: exit status" "$?" 0
grep -q "report matches" "$WORK/under.out" && pass "under memtop: report equals the tally" ||
	fail "under memtop: $(cat "$WORK/under.out")"
check "under memtop: memtop saw the worker's 100 allocs" \
	"$(q "$WORK/under.json" "thread(s, 'qt-worker')['allocs']")" 100
check "under memtop: and its 100 frees" \
	"$(q "$WORK/under.json" "thread(s, 'qt-worker')['frees']")" 100
trace_ok "$(ls "$WORK"/under/trace.*.mtt 2>/dev/null)" && pass "under memtop: trace file written" ||
	fail "under memtop: no trace file"

# 3. preloaded by hand on top of the link: the soname matches, one copy
LD_LIBRARY_PATH="$LIBDIR" LD_PRELOAD="$LIBDIR/libmemtop.so" LD_DEBUG=files \
	"$REAL" "$WORK/preloaded" > "$WORK/pre.out" 2> "$WORK/pre.debug"
check "preloaded and linked: exit status" "$?" 0
check "preloaded and linked: the collector is initialised once" \
	"$(grep -c 'calling init: .*libmemtop\.so' "$WORK/pre.debug")" 1
grep -q "report matches" "$WORK/pre.out" && pass "preloaded and linked: report equals the tally" ||
	fail "preloaded and linked: $(cat "$WORK/pre.out")"
finish
