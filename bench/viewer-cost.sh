#!/bin/sh
# viewer-cost.sh - CPU used by memtop's viewer itself while it watches 100
# active threads at a 1 s interval (the goal: at most 1% of one core).
#
# Usage: bench/viewer-cost.sh BUILD_DIR [SECONDS]
#
# The viewer runs in a detached tmux session of 120x40 on
# tests/progs/showcase with 100 worker threads, each making about 1000
# malloc/free pairs a second.  After a 5 s warm-up, memtop's own user +
# system CPU time is read from /proc/PID/stat at the start and the end of
# SECONDS (default 30) and divided by the wall time between the reads.
# Exit status 0 if the goal is met, 1 if not, 2 on a setup problem.
set -u
build=${1:?usage: viewer-cost.sh BUILD_DIR [SECONDS]}
secs=${2:-30}
build=$(cd "$build" && pwd)
memtop="$build/src/memtop"
target="$build/tests/progs/showcase"
[ -x "$memtop" ] && [ -x "$target" ] || {
	echo "viewer-cost: build memtop and its test programs first (make && make check)" >&2
	exit 2
}
command -v tmux > /dev/null || { echo "viewer-cost: tmux is needed" >&2; exit 2; }
sock="memtop-bench-$$"
work=$(mktemp -d /tmp/memtop-bench.XXXXXX)
trap 'tmux -L "$sock" kill-server 2> /dev/null; rm -rf "$work"' EXIT

tmux -L "$sock" new-session -d -x 120 -y 40 \
	"cd '$work' && export TMPDIR='$work' LANG=C.UTF-8 && exec '$memtop' -d 1 -- '$target' 0 0 100"
sleep 5
pid=$(tmux -L "$sock" display-message -p '#{pane_pid}')
[ "$(cat "/proc/$pid/comm" 2> /dev/null)" = memtop ] || {
	echo "viewer-cost: memtop is not running (pid '$pid')" >&2
	exit 2
}
tgt=$(pgrep -P "$pid" showcase | head -n 1)
threads=$(ls "/proc/$tgt/task" 2> /dev/null | wc -l)

# utime + stime (fields 14 and 15 of /proc/PID/stat, after the comm field)
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
now() { awk '{ print $1 }' /proc/uptime; }

t0=$(now); c0=$(cpu_ticks "$pid"); g0=$(cpu_ticks "$tgt")
sleep "$secs"
t1=$(now); c1=$(cpu_ticks "$pid"); g1=$(cpu_ticks "$tgt")
hz=$(getconf CLK_TCK)

awk -v c0="$c0" -v c1="$c1" -v g0="$g0" -v g1="$g1" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
    -v n="$threads" 'BEGIN {
	wall = t1 - t0
	pct = 100 * (c1 - c0) / hz / wall
	tpct = 100 * (g1 - g0) / hz / wall
	printf "viewer-cost: %d target threads, interval 1 s, %.1f s measured\n", n, wall
	printf "viewer-cost: memtop %.2f%% of one core (goal <= 1%%); the target %.1f%%\n", pct, tpct
	exit pct <= 1.0 ? 0 : 1
}'
