#!/usr/bin/env bash
# interleave.sh - the churn workload bare and under memtop, run alternately
# (bare, memtop, bare, memtop, ...) so that a machine whose speed drifts
# (a virtual machine, a busy host) weighs on both sides alike; prints the
# median wall time of each and their ratio.  bench/run.sh runs every bare
# run first, then every memtop run: use this script to check one of its
# ratios when single runs vary.
#
# Usage: bench/interleave.sh [BUILD_DIR] [-- MEMTOP_OPTIONS...]
#        BUILD_DIR defaults to ./build; MEMTOP_OPTIONS default to --no-stacks
#
# Environment (all optional):
#   CHURN    churn binary            default BUILD_DIR/bench/bin/churn
#   MEMTOP   memtop binary           default BUILD_DIR/src/memtop
#   OPS      iterations per thread   default 20000000
#   RUNS     pairs of runs           default 15
#   THREADS  churn threads           default 2
#   FILL     1: churn initialises every block (see run.sh)
#
# A memtop option --trace DIR gets a fresh DIR before each run.
set -u

case "${1:-}" in
-h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac
build=./build
if [ $# -gt 0 ] && [ "$1" != -- ]; then
	build=$1
	shift
fi
case "${1:-}" in
--) shift ;;
"") ;;
*) echo "usage: $0 [BUILD_DIR] [-- MEMTOP_OPTIONS...]" >&2; exit 2 ;;
esac
opts=("$@")
[ ${#opts[@]} -eq 0 ] && opts=(--no-stacks)

churn=${CHURN:-$build/bench/bin/churn}
memtop=${MEMTOP:-$build/src/memtop}
ops=${OPS:-20000000}
runs=${RUNS:-15}
threads=${THREADS:-2}
fill_arg=()
[ "${FILL:-0}" = 1 ] && fill_arg=(fill)
for v in "$ops" "$runs" "$threads"; do
	case "$v" in '' | *[!0-9]* | 0) echo "interleave.sh: OPS, RUNS and THREADS must be positive integers" >&2; exit 2 ;; esac
done
for f in "$churn" "$memtop"; do
	[ -x "$f" ] || { echo "interleave.sh: no program at $f; build first (make, make bench/bin/churn)" >&2; exit 1; }
done

# a --trace directory: removed before each run (memtop refuses an existing trace)
trace_dir=
for ((i = 0; i < ${#opts[@]}; i++)); do
	case "${opts[i]}" in
	-t | --trace) trace_dir=${opts[i + 1]:-} ;;
	--trace=*) trace_dir=${opts[i]#--trace=} ;;
	esac
done

now() { echo "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f\n", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.4f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

bare_times=() mt_times=()
for ((r = 1; r <= runs; r++)); do
	s=$(now)
	"$churn" "$threads" "$ops" "${fill_arg[@]}" > /dev/null || { echo "interleave.sh: churn failed" >&2; exit 1; }
	bare_times+=("$(elapsed "$s" "$(now)")")
	[ -n "$trace_dir" ] && rm -rf "$trace_dir"
	s=$(now)
	"$memtop" --batch -o /dev/null "${opts[@]}" -- "$churn" "$threads" "$ops" "${fill_arg[@]}" \
		> /dev/null 2>&1 || { echo "interleave.sh: memtop ${opts[*]} failed" >&2; exit 1; }
	mt_times+=("$(elapsed "$s" "$(now)")")
done
[ -n "$trace_dir" ] && rm -rf "$trace_dir"
bare=$(printf '%s\n' "${bare_times[@]}" | median)
mt=$(printf '%s\n' "${mt_times[@]}" | median)
echo "churn${fill_arg:+ (fill)}: $threads threads x $ops ops, $runs interleaved pairs, $(nproc) CPU(s)"
printf 'bare %ss, memtop %s %ss: %s\n' "$bare" "${opts[*]}" "$mt" \
	"$(awk -v a="$mt" -v b="$bare" 'BEGIN { printf "%.2fx", a / b }')"
