#!/bin/sh
# test-all.sh - the whole test suite from a clean clone: unit and end-to-end
# tests on a normal build (build/), then again with ASan and UBSan
# (build-san/; the preloaded collector itself stays unsanitized).
set -e
cd "$(dirname "$0")/.."
top=$(pwd)
[ -x configure ] || ./autogen.sh
jobs=$(nproc 2>/dev/null || echo 2)
for variant in plain san; do
	dir="$top/build"
	flags=
	if [ "$variant" = san ]; then
		dir="$top/build-san"
		flags=--enable-sanitizers
	fi
	mkdir -p "$dir"
	(cd "$dir" && "$top/configure" -q $flags && make -s -j"$jobs" &&
		make -s -j"$jobs" check) || {
		echo "test-all: the $variant build failed; logs: $dir/tests/**/*.log" >&2
		for log in "$dir"/tests/unit/*.log "$dir"/tests/e2e/*.log; do
			[ -f "$log" ] && grep -q -E '^(FAIL|ERROR)|FAIL:|\[  FAILED' "$log" && { echo "== $log"; tail -40 "$log"; }
		done
		exit 1
	}
	echo "test-all: $variant build: all tests passed"
done
