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

# An installed memtop finds its installed collector (not the build tree's).
prefix=$(mktemp -d /tmp/memtop-prefix.XXXXXX)
mkdir -p "$top/build-install"
(cd "$top/build-install" && "$top/configure" -q --prefix="$prefix" && make -s -j"$jobs" &&
	make -s install) >/dev/null
out=$("$prefix/bin/memtop" --batch --json -- sh -c 'exit 5' 2>&1 | tail -n 1)
case "$out" in
*'"exit_status":5'*'"collector":"loaded"'*) echo "1 passed, 0 failed: installed tree" ;;
*) echo "0 passed, 1 failed: installed tree: $out" >&2; rm -rf "$prefix"; exit 1 ;;
esac
rm -rf "$prefix"
