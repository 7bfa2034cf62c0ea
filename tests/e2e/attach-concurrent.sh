#!/bin/sh
# attach-concurrent.sh - several `memtop --attach` of one process at once:
# one attaches and counts; each other one says that another memtop is
# attaching to or watching the process (naming its pid), not that a
# debugger traces it or that a security module refused ptrace, and exits 1.
# Rounds on a fresh process (the collector loaded by the winner) and on one
# that carries it already.
. "$(dirname "$0")/lib.sh"

"$PROGS/grinder" 2 > "$WORK/g.out" 2>&1 &
T=$!
trap 'kill -9 "$T" 2>/dev/null; rm -f "/dev/shm/memtop.$T"; rm -rf "$WORK"' EXIT
i=0
while ! grep -qs '^started' "$WORK/g.out"; do
	i=$((i + 1))
	[ "$i" -gt 250 ] && { fail "grinder did not start"; finish; exit 1; }
	sleep 0.02
done

N=4
wrong=0 winners=0 losers=0
for round in 1 2 3; do
	j=0
	while [ "$j" -lt "$N" ]; do
		j=$((j + 1))
		"$MEMTOP" --force --attach "$T" --batch --json -d 0.2 --duration 1 \
			-o "$WORK/c$j.json" > /dev/null 2> "$WORK/c$j.err" &
		echo $! > "$WORK/c$j.pid"
	done
	j=0
	while [ "$j" -lt "$N" ]; do
		j=$((j + 1))
		wait "$(cat "$WORK/c$j.pid")"
		st=$?
		if [ "$st" -eq 0 ]; then
			winners=$((winners + 1))
			[ -s "$WORK/c$j.err" ] && { wrong=$((wrong + 1)); cat "$WORK/c$j.err"; }
		else
			losers=$((losers + 1))
			grep -Eq "^memtop: --attach $T: another memtop \\(pid [0-9]+\\) is attaching to or watching pid $T" \
				"$WORK/c$j.err" && [ "$(wc -l < "$WORK/c$j.err")" -eq 1 ] ||
				{ wrong=$((wrong + 1)); echo "# round $round: $(cat "$WORK/c$j.err")"; }
		fi
	done
	echo "# round $round: $winners attached so far, $losers refused"
done
check "one winner per round" "$winners" 3
check "refusals" "$losers" $((3 * (N - 1)))
check "refusals naming another memtop, one line each" "$wrong" 0
check "process still running" "$(kill -0 "$T" 2>/dev/null && echo yes)" yes
finish
