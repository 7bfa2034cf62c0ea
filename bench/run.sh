#!/usr/bin/env bash
# run.sh - overhead of memtop next to other heap profilers, on the churn
# workload (bench/churn.c).  Builds nothing: point it at a build directory.
#
# Usage: bench/run.sh [BUILD_DIR]          BUILD_DIR defaults to ./build
#
# Environment (all optional):
#   CHURN      churn binary            default BUILD_DIR/bench/bin/churn
#   MEMTOP     memtop binary           default BUILD_DIR/src/memtop
#   MEMUSAGE   glibc's memusage        default: found on PATH
#   HEAPTRACK  heaptrack               default: found on PATH
#   OPS        iterations per thread   default 60000000 (about 1.3 s bare)
#   RUNS       runs per measurement    default 3; the median is reported
#   THREADS    thread counts to try    default "1 2"
#   TOOLS      rows to measure         default "bare memtop memtop-stacks memusage heaptrack"
#              (memtop: exact counters only; memtop-stacks: default stack
#              sampling; memtop-all: every stack captured)
#   FILL       1: churn initialises every block it gets (memset), 0: it only
#              touches the first byte (pure allocator traffic, the worst case)
#   TIMEOUT    seconds before a single run is abandoned, default 900
#
# Each figure is the median wall time of RUNS runs, tool start-up and
# shutdown included, measured with bash's EPOCHREALTIME.  A missing tool is
# skipped with a line saying so; a run that fails or times out makes its row
# read "failed".
set -u

build=${1:-./build}
if [ $# -gt 1 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
	echo "usage: $0 [BUILD_DIR]   (see the top of this script for the environment it reads)" >&2
	exit 2
fi

churn=${CHURN:-$build/bench/bin/churn}
memtop=${MEMTOP:-$build/src/memtop}
memusage=${MEMUSAGE:-$(command -v memusage || true)}
heaptrack=${HEAPTRACK:-$(command -v heaptrack || true)}
ops=${OPS:-60000000}
runs=${RUNS:-3}
thread_counts=${THREADS:-"1 2"}
tools=${TOOLS:-"bare memtop memtop-stacks memusage heaptrack"}
fill_arg=()
[ "${FILL:-0}" = 1 ] && fill_arg=(fill)
run_timeout=${TIMEOUT:-900}

if [ ! -x "$churn" ]; then
	echo "run.sh: no churn binary at $churn; build it first (make bench/bin/churn in $build)" >&2
	exit 1
fi
# Tools may change directory or resolve PATH differently; give them a full path.
case $churn in /*) ;; *) churn=$PWD/$churn ;; esac
case $memtop in /* | "") ;; *) memtop=$PWD/$memtop ;; esac
case "$runs" in '' | *[!0-9]* | 0) echo "run.sh: RUNS must be a positive integer" >&2; exit 2 ;; esac
case "$ops" in '' | *[!0-9]*) echo "run.sh: OPS must be a whole number" >&2; exit 2 ;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/memtop-bench.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

limit=()
if command -v timeout >/dev/null 2>&1; then
	limit=(timeout -k 10 "$run_timeout")
fi

now() {
	if [ -n "${EPOCHREALTIME:-}" ]; then
		echo "${EPOCHREALTIME/,/.}"
	else
		date +%s.%N
	fi
}

# Echo the command line a tool row runs, one word a line; empty when the
# tool is not available (the reason goes to stderr).
command_for() {
	local tool=$1 threads=$2
	case $tool in
	bare)
		printf '%s\n' "$churn" "$threads" "$ops" "${fill_arg[@]}" ;;
	memtop | memtop-stacks | memtop-all)
		if [ ! -x "$memtop" ]; then
			echo "$tool: memtop is not built at $memtop (run make in $build) - skipped" >&2
			return 1
		fi
		printf '%s\n' "$memtop" --batch -o /dev/null -d 1
		[ "$tool" = memtop ] && printf '%s\n' --no-stacks
		[ "$tool" = memtop-all ] && printf '%s\n' --sample-small 1 --sample-medium 1
		printf '%s\n' -- "$churn" "$threads" "$ops" "${fill_arg[@]}" ;;
	memusage)
		# Without --data memusage keeps only its counters and histogram,
		# the nearest match to memtop's exact counters; the summary it
		# prints on exit is discarded with the rest of the output.
		if [ -z "$memusage" ] || [ ! -x "$memusage" ]; then
			echo "memusage: not installed (Debian package libc-bin) - skipped" >&2
			return 1
		fi
		printf '%s\n' "$memusage" "$churn" "$threads" "$ops" "${fill_arg[@]}" ;;
	heaptrack)
		if [ -z "$heaptrack" ] || [ ! -x "$heaptrack" ]; then
			echo "heaptrack: not installed (Debian package heaptrack) - skipped" >&2
			return 1
		fi
		printf '%s\n' "$heaptrack" -o "$work/heaptrack" "$churn" "$threads" "$ops" "${fill_arg[@]}" ;;
	*)
		echo "$tool: unknown tool name in TOOLS - skipped" >&2
		return 1 ;;
	esac
}

# Median of the numbers on standard input.
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2]
		else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Run one row RUNS times; print the median, or nothing if a run failed.
measure() {
	local tool=$1 threads=$2 i start end status log
	local -a cmd
	mapfile -t cmd < <(command_for "$tool" "$threads" 2>/dev/null)
	log=$work/$tool-$threads.log
	for ((i = 1; i <= runs; i++)); do
		rm -rf "$work/heaptrack"*
		start=$(now)
		"${limit[@]}" "${cmd[@]}" >"$log" 2>&1
		status=$?
		end=$(now)
		if [ $status -ne 0 ]; then
			{
				if [ $status -eq 124 ]; then
					echo "$tool, $threads thread(s): run $i timed out after ${run_timeout}s"
				else
					echo "$tool, $threads thread(s): run $i failed with exit status $status:"
				fi
				tail -n 5 "$log" | sed 's/^/    /'
			} >&2
			return 1
		fi
		awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
	done | median
}

echo "churn${fill_arg:+ (fill)}: $ops ops per thread, median of $runs run(s), $(nproc 2>/dev/null || echo '?') CPU(s)"

declare -A bare_time
rows=()
for tool in $tools; do
	if ! command_for "$tool" 1 2>&1 >/dev/null; then
		continue
	fi
	for threads in $thread_counts; do
		secs=$(measure "$tool" "$threads")
		[ -n "$secs" ] || secs=failed
		[ "$tool" = bare ] && bare_time[$threads]=$secs
		rows+=("$tool $threads $secs")
	done
done

echo
printf '%-14s %7s %10s %8s\n' tool threads median_s vs_bare
for row in "${rows[@]}"; do
	read -r tool threads secs <<<"$row"
	base=${bare_time[$threads]:-}
	ratio=n/a
	case "$secs/$base" in
	failed/* | */failed | */) ;;
	*) ratio=$(awk -v s="$secs" -v b="$base" 'BEGIN { if (b > 0) printf "%.2f", s / b; else print "n/a" }') ;;
	esac
	printf '%-14s %7s %10s %8s\n' "$tool" "$threads" "$secs" "$ratio"
done
