#!/bin/sh
# test-all.sh - the whole test suite from a clean clone: unit and end-to-end
# tests on a normal build (build/), again with ASan and UBSan (build-san/;
# the preloaded collector itself stays unsanitized), then real servers under
# load (make check-servers in build/), then an installed tree.
# Ends with one line "N passed, N failed" over all of them (a test here is
# one unit-test program or one end-to-end script).
set -e
cd "$(dirname "$0")/.."
top=$(pwd)
[ -x configure ] || ./autogen.sh
jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0

count() {  # count DIR: add the PASS/FAIL lines of DIR's test-suite.log
	p=$(sed -n 's/^# PASS: *//p' "$1/test-suite.log" 2>/dev/null)
	f=$(sed -n 's/^# \(FAIL\|ERROR\|XPASS\): *//p' "$1/test-suite.log" 2>/dev/null | awk '{ n += $1 } END { print n + 0 }')
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
}

for variant in plain san; do
	dir="$top/build"
	flags=
	if [ "$variant" = san ]; then
		dir="$top/build-san"
		flags=--enable-sanitizers
	fi
	mkdir -p "$dir"
	if (cd "$dir" && "$top/configure" -q $flags && make -s -j"$jobs" &&
		make -s -j"$jobs" check); then
		echo "test-all: $variant build: all tests passed"
	else
		echo "test-all: the $variant build failed; logs: $dir/tests/*/*.log" >&2
		for log in "$dir"/tests/unit/*.log "$dir"/tests/e2e/*.log; do
			[ -f "$log" ] && grep -q -E '^FAIL|FAILED' "$log" && {
				echo "== $log"
				grep -n -E -B2 -A4 '^FAIL:|^not ok|FAILED|ERROR' "$log" | head -60
				echo "-- last lines:"
				tail -20 "$log"
			}
		done
		count "$dir"
		echo "$passed passed, $((failed > 0 ? failed : 1)) failed"
		exit 1
	fi
	count "$dir"
done

# make TARGET in build/, counted as one test; its output in
# build/TARGET.log, shown in part if it fails.
target() {
	if (cd "$top/build" && make -s "$1") > "$top/build/$1.log" 2>&1; then
		echo "test-all: $1: passed"
		passed=$((passed + 1))
	else
		echo "test-all: $1 failed ($top/build/$1.log):" >&2
		grep -E '^FAIL' "$top/build/$1.log" >&2 || true
		tail -n 20 "$top/build/$1.log" >&2
		failed=$((failed + 1))
	fi
}

# Real servers under load on loopback (redis-server + redis-benchmark,
# memcached + memcslap), under --batch and under the viewer in tmux
# (tests/e2e/servers.sh, about 45 s).
target check-servers
# The publish/read stress test under ThreadSanitizer.
target check-tsan
# The trace reader under libFuzzer, ASan and UBSan for 20 s from its seed
# corpus (skipped without clang).
target check-fuzz

# An installed memtop finds its installed collector (not the build tree's).
prefix=$(mktemp -d /tmp/memtop-prefix.XXXXXX)
rm -rf "$top/build-install"; mkdir -p "$top/build-install"
(cd "$top/build-install" && "$top/configure" -q --prefix="$prefix" && make -s -j"$jobs" &&
	make -s install) >/dev/null
out=$("$prefix/bin/memtop" --batch --json -- sh -c 'exit 5' 2>&1 | tail -n 1)
case "$out" in
*'"exit_status":5'*'"collector":"loaded"'*) passed=$((passed + 1)) ;;
*) echo "test-all: installed tree: $out" >&2; failed=$((failed + 1)) ;;
esac
# The installed C API (the contrib example built through memtop.pc, run,
# its report checked), completion and man pages, then make uninstall
# leaving no file under the prefix (contrib/install-check.sh): one test.
log="$top/build-install/install-check.log"
if sh "$top/contrib/install-check.sh" "$top/build-install" "$prefix" > "$log" 2>&1; then
	echo "test-all: installed tree: all passed"
	passed=$((passed + 1))
else
	echo "test-all: installed tree failed ($log):" >&2
	grep '^FAIL' "$log" >&2 || tail -n 5 "$log" >&2
	failed=$((failed + 1))
fi
rm -rf "$prefix"
# Cases a script could not run here (root only, a package missing) print
# "skip: ..." and the script still passes: listed here so that they show.
skips=$(cd "$top" && grep -H '^skip:' build/tests/*/*.log build-san/tests/*/*.log \
	build/check-*.log 2>/dev/null | sed 's|^\([^:]*\)\.log:skip: *|\1: |')
if [ -n "$skips" ]; then
	echo "test-all: $(printf '%s\n' "$skips" | wc -l) case(s) skipped:"
	printf '%s\n' "$skips" | sed 's/^/  /'
else
	echo "test-all: no case skipped"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
