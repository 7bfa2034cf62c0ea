#!/bin/sh
# fork.sh - a program that forks, execs and posix_spawns: the launched
# process's figures are its own (children publish their own segments), the
# run leaves no segment behind, and the exit status is the program's.
. "$(dirname "$0")/lib.sh"

"$MEMTOP" --batch --json -o "$WORK/f.json" -- "$PROGS/forker" > "$WORK/f.out" &
mpid=$!
wait $mpid
check "exit status" "$?" 0
want=$(sed -n 's/^PARENT allocs=\([0-9]*\) bytes=\([0-9]*\).*/\1 \2/p' "$WORK/f.out")
got=$(q "$WORK/f.json" "'%d %d' % (thread(s, 'parent-work')['allocs'], thread(s, 'parent-work')['bytes_allocated'])")
check "parent thread counts exclude the child" "$got" "$want"
check "child thread not in the parent's report" "$(q "$WORK/f.json" "thread(s, 'child-work') is None")" true
grep -q '^CHILD ' "$WORK/f.out" && pass "child ran" || fail "child output missing"
check "no segment left behind" "$(segments_of $mpid)" 0

# a shell pipeline: fork + exec of several preloaded programs
"$MEMTOP" --batch --json -o "$WORK/sh.json" -- sh -c 'echo hello | tr a-z A-Z > '"$WORK"'/up.txt; exit 7' &
mpid=$!
wait $mpid
check "pipeline exit status" "$?" 7
check "pipeline output intact" "$(cat "$WORK/up.txt")" HELLO
check "no segment left behind by the pipeline" "$(segments_of $mpid)" 0
finish
