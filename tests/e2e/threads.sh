#!/bin/sh
# threads.sh - per-thread figures of a multi-threaded program: exact counts
# per named thread, names that change at run time, exited threads keeping
# their final figures, and live samples while threads are quiet.
. "$(dirname "$0")/lib.sh"

"$MEMTOP" --batch --json -o "$WORK/t.json" -- "$PROGS/threads" 4 2000 > "$WORK/t.out"
check "exit status" "$?" 0
n=0
while read -r tag name allocs frees bytes; do
	name=${name#name=}
	check "$name allocs" "$(q "$WORK/t.json" "thread(s, '$name')['allocs']")" "${allocs#allocs=}"
	check "$name frees" "$(q "$WORK/t.json" "thread(s, '$name')['frees']")" "${frees#frees=}"
	check "$name bytes" "$(q "$WORK/t.json" "thread(s, '$name')['bytes_allocated']")" "${bytes#bytes=}"
	check "$name exited" "$(q "$WORK/t.json" "thread(s, '$name')['state']")" exited
	n=$((n + 1))
done < "$WORK/t.out"
check "threads reported" "$n" 4
check "a renamed thread shows its new name" \
	"$(q "$WORK/t.json" "any(t['name'].startswith('renamed-') for t in s['threads'])")" true
check "threads_seen" "$(q "$WORK/t.json" "s['totals']['threads_seen'] >= 5")" true

# Live: threads finish their work, then sleep; samples taken while they are
# quiet must already show their final counts (at most one interval old).
"$MEMTOP" --batch --json -d 0.3 -o "$WORK/live.json" -- "$PROGS/threads" 3 500 2 > "$WORK/live.out"
check "live exit status" "$?" 0
check "samples while running" "$(q "$WORK/live.json" "len(samples) >= 3")" true
want=$(grep 'name=worker-1 ' "$WORK/live.out" | sed 's/.*allocs=\([0-9]*\).*/\1/')
[ -n "$want" ] || fail "threads printed no line for worker-1"
# a sample from the middle of the sleep: work done, threads alive
mid="[r for r in samples if 0.9 <= r['elapsed_s'] <= 1.7][-1]"
check "quiet thread is current while it sleeps" \
	"$(q "$WORK/live.json" "thread($mid, 'worker-1')['allocs']")" "$want"
check "it was running then" "$(q "$WORK/live.json" "thread($mid, 'worker-1')['state']")" running
check "CPU time measured for running threads" \
	"$(q "$WORK/live.json" "thread($mid, 'worker-1')['cpu_time_s'] is not None")" true
check "process RSS measured" "$(q "$WORK/live.json" "$mid['process']['rss_bytes'] > 0")" true
check "fragmentation from mallinfo2" \
	"$(q "$WORK/live.json" "0 <= $mid['process']['fragmentation'] <= 1")" true
check "sample records have no exit_status" \
	"$(q "$WORK/live.json" "all('exit_status' not in r for r in samples)")" true
finish
