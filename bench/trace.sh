#!/usr/bin/env bash
# trace.sh - the cost of memtop --trace on the churn workload (bench/churn.c),
# next to heaptrack, which also records every allocation: run time against
# the bare run, bytes written per allocation, and the time to analyse the
# recording (memtop report against heaptrack_print).  Builds nothing: point
# it at a build directory.
#
# Usage: bench/trace.sh [BUILD_DIR]        BUILD_DIR defaults to ./build
#
# Environment (all optional):
#   CHURN      churn binary            default BUILD_DIR/bench/bin/churn
#   MEMTOP     memtop binary           default BUILD_DIR/src/memtop
#   HEAPTRACK  heaptrack               default: found on PATH (heaptrack_print beside it)
#   OPS        iterations per thread   default 2000000
#   THREADS    threads                 default 2
#   RUNS       runs per measurement    default 3; the median is reported
#   FILL       1: churn initialises every block it gets (memset)
#
# Goals (issue 5): trace mode at most 2x the bare run; no more bytes per
# allocation than heaptrack's file; memtop report at least 3x faster than
# heaptrack_print on the same workload.  Wall times are medians of RUNS runs,
# start-up and shutdown included (bash's EPOCHREALTIME).
set -u

build=${1:-./build}
if [ $# -gt 1 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
	echo "usage: $0 [BUILD_DIR]   (see the top of this script for the environment it reads)" >&2
	exit 2
fi
churn=${CHURN:-$build/bench/bin/churn}
memtop=${MEMTOP:-$build/src/memtop}
heaptrack=${HEAPTRACK:-$(command -v heaptrack || true)}
heaptrack_print=$(command -v heaptrack_print || true)
[ -n "$heaptrack" ] && [ -x "$(dirname "$heaptrack")/heaptrack_print" ] &&
	heaptrack_print=$(dirname "$heaptrack")/heaptrack_print
ops=${OPS:-2000000}
threads=${THREADS:-2}
runs=${RUNS:-3}
fill_arg=()
[ "${FILL:-0}" = 1 ] && fill_arg=(fill)

for f in "$churn" "$memtop"; do
	if [ ! -x "$f" ]; then
		echo "trace.sh: $f is not built (make in $build)" >&2
		exit 1
	fi
done
case $churn in /*) ;; *) churn=$PWD/$churn ;; esac
case $memtop in /*) ;; *) memtop=$PWD/$memtop ;; esac
case "$runs" in '' | *[!0-9]* | 0) echo "trace.sh: RUNS must be a positive integer" >&2; exit 2 ;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/memtop-bench-trace.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

now() {
	if [ -n "${EPOCHREALTIME:-}" ]; then echo "${EPOCHREALTIME/,/.}"; else date +%s.%N; fi
}

median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2]
		else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# time_runs SETUP -- CMD...: median wall time of CMD over RUNS runs, SETUP
# (a shell snippet) run before each; nothing printed if a run failed.
time_runs() {
	local setup=$1 i start end
	shift 2
	for ((i = 1; i <= runs; i++)); do
		eval "$setup"
		start=$(now)
		if ! "$@" > "$work/run.log" 2>&1; then
			echo "trace.sh: failed: $* (see below)" >&2
			tail -n 5 "$work/run.log" >&2
			return 1
		fi
		end=$(now)
		awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
	done | median
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b; else print "n/a" }'; }

allocs=$((threads * ops))
echo "churn${fill_arg:+ (fill)}: $threads threads x $ops ops ($allocs mallocs, as many frees), median of $runs run(s), $(nproc) CPU(s)"
echo

bare=$(time_runs : -- "$churn" "$threads" "$ops" "${fill_arg[@]}")
counters=$(time_runs : -- "$memtop" --batch -o /dev/null --no-stacks -- "$churn" "$threads" "$ops" "${fill_arg[@]}")
trace_nostacks=$(time_runs 'rm -rf "$work/tn"' -- "$memtop" --batch -o /dev/null --no-stacks --trace "$work/tn" -- "$churn" "$threads" "$ops" "${fill_arg[@]}")
trace=$(time_runs 'rm -rf "$work/t"' -- "$memtop" --batch -o /dev/null --trace "$work/t" -- "$churn" "$threads" "$ops" "${fill_arg[@]}")
printf '%-36s %9s %8s\n' run median_s vs_bare
printf '%-36s %9s %8s\n' bare "$bare" 1.00
printf '%-36s %9s %8s\n' "memtop (counters, --no-stacks)" "$counters" "$(ratio "$counters" "$bare")"
printf '%-36s %9s %8s\n' "memtop --trace --no-stacks" "$trace_nostacks" "$(ratio "$trace_nostacks" "$bare")"
printf '%-36s %9s %8s\n' "memtop --trace (default sampling)" "$trace" "$(ratio "$trace" "$bare")"

ht_time= ht_bytes= ht_print=
if [ -n "$heaptrack" ] && [ -x "$heaptrack" ]; then
	ht_time=$(time_runs 'rm -f "$work"/ht.*' -- "$heaptrack" -o "$work/ht" "$churn" "$threads" "$ops" "${fill_arg[@]}")
	printf '%-36s %9s %8s\n' heaptrack "$ht_time" "$(ratio "$ht_time" "$bare")"
	ht_file=$(ls "$work"/ht.* 2> /dev/null | head -n 1)
	[ -n "$ht_file" ] && ht_bytes=$(stat -c %s "$ht_file")
else
	echo "heaptrack: not installed (Debian package heaptrack) - its rows are skipped"
fi

echo
mt_bytes=$(cat "$work"/t/*.mtt | wc -c)
printf 'trace size:  memtop %s bytes (%.2f B/alloc)' "$mt_bytes" "$(awk -v b="$mt_bytes" -v n="$allocs" 'BEGIN { print b / n }')"
if [ -n "$ht_bytes" ]; then
	printf ', heaptrack %s bytes (%.2f B/alloc, %s): memtop/heaptrack %s\n' "$ht_bytes" \
		"$(awk -v b="$ht_bytes" -v n="$allocs" 'BEGIN { print b / n }')" "$(basename "$ht_file")" \
		"$(ratio "$mt_bytes" "$ht_bytes")"
else
	echo
fi

report=$(time_runs : -- "$memtop" report -o /dev/null "$work/t")
printf 'analysis:    memtop report %ss' "$report"
if [ -n "$ht_bytes" ] && [ -n "$heaptrack_print" ]; then
	hp=$(time_runs : -- "$heaptrack_print" "$ht_file")
	printf ', heaptrack_print %ss: memtop report is %sx faster\n' "$hp" "$(ratio "$hp" "$report")"
else
	echo
fi
