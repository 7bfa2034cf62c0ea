#!/bin/sh
# signal.sh - targets that die of signals, signals sent to memtop, and a
# program whose signal handler allocates (its thread's figures exact).
. "$(dirname "$0")/lib.sh"

for sig in segv:139 kill:137 abort:134; do
	name=${sig%%:*}; code=${sig#*:}
	"$MEMTOP" --batch --json -o "$WORK/$name.json" -- "$PROGS/suicide" "$name" > "$WORK/$name.out" 2>/dev/null
	check "$name: memtop exits with 128+N" "$?" "$code"
	check "$name: summary exit_status" "$(q "$WORK/$name.json" "s['exit_status']")" "$code"
	want=$(sed -n 's/^VICTIM allocs=\([0-9]*\).*/\1/p' "$WORK/$name.out")
	check "$name: victim thread figures kept" "$(q "$WORK/$name.json" "thread(s, 'victim')['allocs']")" "$want"
done

# SIGTERM sent to memtop reaches the command; memtop still reports.
"$MEMTOP" --batch --json -o "$WORK/term.json" -- sleep 30 &
mpid=$!
sleep 1
kill -TERM "$mpid"
wait "$mpid"
check "SIGTERM forwarded: exit 143" "$?" 143
check "summary written after SIGTERM" "$(q "$WORK/term.json" "s['exit_status']")" 143

# A signal handler that allocates while the collector is busy: every
# SIGALRM lands in thread "sigwork", whose figures sigalloc.c gives
# exactly from its own tally (H handler and M loop malloc/free pairs of 32
# and 64 bytes): allocs = frees = H + M, bytes_allocated = 32H + 64M, and
# (nothing reallocated, nothing failed, everything freed) no realloc, no
# failure, no live byte, no lost event (the handler never interrupts
# itself).  allocs and bytes_allocated together pin down H and M each.
"$MEMTOP" --batch --json -o "$WORK/sa.json" -- "$PROGS/sigalloc" 1 > "$WORK/sa.out"
check "sigalloc exit status" "$?" 0
h=$(sed -n 's/^SIGALLOC handler_allocs=\([0-9]*\) main_allocs=[0-9]*$/\1/p' "$WORK/sa.out")
m=$(sed -n 's/^SIGALLOC handler_allocs=[0-9]* main_allocs=\([0-9]*\)$/\1/p' "$WORK/sa.out")
check "sigalloc: its tally printed, the handler ran" "$([ "${h:-0}" -gt 0 ] && [ -n "$m" ] && echo yes)" yes
check "sigalloc: sigwork's allocs, frees, bytes_allocated exact" \
	"$(q "$WORK/sa.json" "tuple(thread(s, 'sigwork')[k] for k in ('allocs', 'frees', 'bytes_allocated'))")" \
	"($((h + m)), $((h + m)), $((32 * h + 64 * m)))"
check "sigalloc: sigwork's reallocs, failed, live_bytes, lost_events all 0" \
	"$(q "$WORK/sa.json" "tuple(thread(s, 'sigwork').get(k, 0) for k in ('reallocs', 'failed', 'live_bytes', 'lost_events'))")" \
	"(0, 0, 0, 0)"

# --duration stops watching and leaves the command running.
start=$(date +%s)
"$MEMTOP" --batch --json --duration 1 -o "$WORK/dur.json" -- sleep 4.321
check "--duration: memtop exits 0" "$?" 0
check "--duration: returned early" "$(( $(date +%s) - start < 4 ))" 1
check "--duration: no exit_status" "$(q "$WORK/dur.json" "'exit_status' in s")" false
pkill -f "^sleep 4.321$" 2>/dev/null
finish
