#!/bin/sh
# rawfork.sh - children made without fork() (glibc's _Fork, a raw
# clone(SIGCHLD)), which run no atfork handler, and some of them SIGKILLed
# in the middle of their malloc loop: the forking thread's figures stay
# exact, and each child is counted as a process of its own, as a forked
# child is (its own segment, its own trace file), grandchildren too.
. "$(dirname "$0")/lib.sh"

"$MEMTOP" --batch --json -o "$WORK/r.json" -- "$PROGS/rawfork" > "$WORK/r.out" &
mpid=$!
wait $mpid
check "exit status" "$?" 0
want=$(sed -n 's/^PARENT pid=[0-9]* allocs=\([0-9]*\) bytes=\([0-9]*\).*/\1 \1 \2/p' "$WORK/r.out")
got=$(q "$WORK/r.json" "'%d %d %d' % (thread(s, 'parent-work')['allocs'], thread(s, 'parent-work')['frees'], thread(s, 'parent-work')['bytes_allocated'])")
check "parent thread's figures exact, children's apart" "$got" "$want"
check "only the parent's threads in its report" \
	"$(q "$WORK/r.json" "sorted(t['name'] for t in s['threads'])")" "['parent-work', 'rawfork']"
check "children ran" "$(grep -c '^CHILD ' "$WORK/r.out")" 3
check "children killed" "$(grep -c '^KILLED ' "$WORK/r.out")" 6
check "no segment left behind" "$(segments_of $mpid)" 0

# With --trace each child writes its own file, under its own pid: its
# figures are its own (exact for those that ended), the parent's exact.
"$MEMTOP" --batch --json -o "$WORK/t.json" -t "$WORK/tr" -- "$PROGS/rawfork" > "$WORK/t.out" 2> "$WORK/t.err" &
mpid=$!
wait $mpid
check "traced: exit status" "$?" 0
"$MEMTOP" report --json -o "$WORK/rep.json" "$WORK/tr" 2> "$WORK/rep.err"
check "report: exit status" "$?" 0
want=$(sed -n 's/^PARENT pid=[0-9]* allocs=\([0-9]*\) bytes=\([0-9]*\).*/\1 \2/p' "$WORK/t.out")
check "traced: parent thread exact" \
	"$(q "$WORK/rep.json" "'%d %d' % (thread(s, 'parent-work')['allocs'], thread(s, 'parent-work')['bytes_allocated'])")" "$want"
check "traced: parent's trace complete" \
	"$(q "$WORK/rep.json" "[p['complete'] for p in s['trace']['processes'] if p['main']]")" "[True]"
for kind in fork grandchild clone; do
	line=$(grep "^CHILD kind=$kind " "$WORK/t.out")
	pid=$(echo "$line" | sed -n 's/.* pid=\([0-9]*\) .*/\1/p')
	ppid=$(echo "$line" | sed -n 's/.* ppid=\([0-9]*\) .*/\1/p')
	want=$(echo "$line" | sed -n 's/.* allocs=\([0-9]*\) bytes=\([0-9]*\)$/\1 \2 1 True/p')
	check "traced: $kind child is a process of its own, exact" \
		"$(q "$WORK/rep.json" "['%d %d %d %s' % (p['totals']['allocs'], p['totals']['bytes_allocated'], p['totals']['threads_seen'], p['complete']) for p in s['trace']['processes'] if p['pid'] == $pid and p['ppid'] == $ppid]")" \
		"['$want']"
done
ppid=$(sed -n 's/^PARENT pid=\([0-9]*\) .*/\1/p' "$WORK/t.out")
killed=$(sed -n 's/^KILLED pid=\([0-9]*\) .*/\1/p' "$WORK/t.out" | tr '\n' ',')
check "traced: each killed child has a trace of its own" \
	"$(q "$WORK/rep.json" "len([p for p in s['trace']['processes'] if p['pid'] in [$killed] and p['ppid'] == $ppid and not p['main']])")" 6
check "traced: no segment left behind" "$(segments_of $mpid)" 0
finish
