#!/usr/bin/env bash
# floor.sh - how far memtop's exact counters are from the least any
# preloaded counter could cost, on the churn workload: churn bare, with a
# preloaded pass-through (bench/floor/pass.c: interposition alone), with a
# minimal counter (bench/floor/count.c: the same per-thread figures in
# thread-local memory and nothing else), with memtop's collector preloaded
# without memtop (MEMTOP_SAMPLING=off), and under memtop --batch
# --no-stacks.  The five run in turn, RUNS rounds; each time is churn's own
# elapsed_s (its allocation loop, without process start and exit), and
# the medians are printed with their ratio to the bare run.
#
# Usage: bench/floor.sh [BUILD_DIR]        BUILD_DIR defaults to ./build
#
# Environment (all optional):
#   OPS      iterations per thread   default 20000000
#   RUNS     rounds                  default 9
#   THREADS  churn threads           default 2
#   FILL     1: churn initialises every block (see run.sh)
#   CC       C compiler for the two reference hooks   default cc
set -u

case "${1:-}" in
-h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac
[ $# -gt 1 ] && { echo "usage: $0 [BUILD_DIR]" >&2; exit 2; }
build=${1:-./build}
here=$(cd "$(dirname "$0")" && pwd)
churn=$build/bench/bin/churn
memtop=$build/src/memtop
collector=$build/preload/.libs/libmemtop.so
ops=${OPS:-20000000}
runs=${RUNS:-9}
threads=${THREADS:-2}
fill_arg=()
[ "${FILL:-0}" = 1 ] && fill_arg=(fill)
for v in "$ops" "$runs" "$threads"; do
	case "$v" in '' | *[!0-9]* | 0) echo "floor.sh: OPS, RUNS and THREADS must be positive integers" >&2; exit 2 ;; esac
done
for f in "$churn" "$memtop" "$collector"; do
	[ -e "$f" ] || { echo "floor.sh: no $f; build first (make in $build)" >&2; exit 1; }
done
case $collector in /*) ;; *) collector=$PWD/$collector ;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/memtop-floor.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
for h in pass count; do
	if ! ${CC:-cc} -O2 -fPIC -shared -o "$work/$h.so" "$here/floor/$h.c"; then
		echo "floor.sh: cannot build bench/floor/$h.c (set CC?)" >&2
		exit 1
	fi
done

# loop_time CMD...: churn's elapsed_s from CMD's output
loop_time() {
	"$@" 2> /dev/null | sed -n 's/^churn .*elapsed_s=\([0-9.]*\)$/\1/p'
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.4f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

names=(bare pass-through minimal-counter collector "memtop --no-stacks")
declare -A times
run_one() {  # run_one INDEX
	local args=("$churn" "$threads" "$ops" "${fill_arg[@]}")
	case $1 in
	0) loop_time "${args[@]}" ;;
	1) loop_time env LD_PRELOAD="$work/pass.so" "${args[@]}" ;;
	2) loop_time env LD_PRELOAD="$work/count.so" "${args[@]}" ;;
	3) loop_time env MEMTOP_SAMPLING=off LD_PRELOAD="$collector" "${args[@]}" ;;
	4) loop_time "$memtop" --batch -o /dev/null --no-stacks -- "${args[@]}" ;;
	esac
}
for ((r = 1; r <= runs; r++)); do
	for k in 0 1 2 3 4; do
		t=$(run_one $k)
		[ -n "$t" ] || { echo "floor.sh: ${names[k]} run failed (no elapsed_s line)" >&2; exit 1; }
		times[$k]+="$t "
	done
done
echo "churn${fill_arg:+ (fill)}: $threads threads x $ops ops, $runs rounds, medians of churn's elapsed_s, $(nproc) CPU(s)"
bare=$(printf '%s\n' ${times[0]} | median)
for k in 0 1 2 3 4; do
	m=$(printf '%s\n' ${times[$k]} | median)
	printf '%-20s %8ss %6.2fx\n' "${names[k]}" "$m" "$(awk -v a="$m" -v b="$bare" 'BEGIN { print a / b }')"
done
