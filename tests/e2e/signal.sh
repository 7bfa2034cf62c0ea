#!/bin/sh
# signal.sh - targets that die of signals, signals sent to memtop, and a
# program whose signal handler allocates.
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

# A signal handler that allocates while the collector is busy.
"$MEMTOP" --batch --json -o "$WORK/sa.json" -- "$PROGS/sigalloc" 1 > "$WORK/sa.out"
check "sigalloc exit status" "$?" 0
h=$(sed -n 's/.*handler_allocs=\([0-9]*\).*/\1/p' "$WORK/sa.out")
m=$(sed -n 's/.*main_allocs=\([0-9]*\).*/\1/p' "$WORK/sa.out")
check "handler and main allocations all counted" \
	"$(q "$WORK/sa.json" "sum(t['allocs'] + t.get('lost_events', 0) for t in s['threads']) >= $h + $m")" true

# --duration stops watching and leaves the command running.
start=$(date +%s)
"$MEMTOP" --batch --json --duration 1 -o "$WORK/dur.json" -- sleep 4.321
check "--duration: memtop exits 0" "$?" 0
check "--duration: returned early" "$(( $(date +%s) - start < 4 ))" 1
check "--duration: no exit_status" "$(q "$WORK/dur.json" "'exit_status' in s")" false
pkill -f "^sleep 4.321$" 2>/dev/null
finish
