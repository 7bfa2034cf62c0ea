#!/bin/sh
# install-check.sh - check an installed memtop from the outside, as a user
# of the package would meet it, then uninstall it and check nothing is left.
#
# Usage: contrib/install-check.sh BUILD_DIR PREFIX
#   BUILD_DIR  a build tree configured with --prefix=PREFIX and installed
#              (make install); its `make uninstall` is run at the end
#   PREFIX     the (temporary) prefix it was installed to
#
# Checked: the files of the install are where they belong; the C API
# example (contrib/example/quicktrace.c) builds against the installed
# header and library through `pkg-config --cflags --libs memtop`
# (PKG_CONFIG_PATH into the prefix), runs, reports figures equal to its own
# tally, and leaves a trace file; the installed memtop watches it (one
# collector: the one memtop preloads is the one it links); the installed
# bash completion loads; after `make uninstall` the prefix holds no file.
# Prints "ok: ..." / "FAIL: ..." lines and "# N passed, N failed"; exit
# status 0 only if all passed.
set -u
build=$1
prefix=$2
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/memtop-installcheck.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
pass() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

libdir=$prefix/lib
for f in bin/memtop lib/libmemtop.so include/memtop.h lib/pkgconfig/memtop.pc \
	share/man/man1/memtop.1 share/man/man3/memtop.3 \
	share/bash-completion/completions/memtop; do
	[ -f "$prefix/$f" ] && pass "installed $f" || fail "not installed: $f"
done

# The example, built as a user would: only pkg-config knows where memtop is.
export PKG_CONFIG_PATH="$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs memtop 2>&1)
case "$flags" in
*"-I$prefix/include"*"-L$libdir -lmemtop"* | *"-L$libdir -lmemtop"*"-I$prefix/include"*)
	pass "pkg-config memtop: $flags" ;;
*) fail "pkg-config memtop: $flags" ;;
esac
# shellcheck disable=SC2086  # the flags are words
if cc "$src/contrib/example/quicktrace.c" $flags -pthread -o "$work/quicktrace" 2> "$work/cc.err"; then
	pass "example builds against the installed memtop.h and -lmemtop"
else
	fail "example does not build: $(cat "$work/cc.err")"
fi
needed=$(readelf -d "$work/quicktrace" 2>/dev/null | sed -n 's/.*NEEDED.*\[\(libmemtop[^]]*\)\].*/\1/p')
[ "$needed" = libmemtop.so ] && pass "example needs libmemtop.so (-avoid-version)" ||
	fail "example's libmemtop dependency: '$needed'"

# Run on its own: the installed collector, by symbol order.
LD_LIBRARY_PATH=$libdir "$work/quicktrace" "$work/trace" > "$work/alone.out" 2>&1
rc=$?
[ "$rc" = 0 ] && pass "example exit status 0" || fail "example exit status $rc: $(cat "$work/alone.out")"
grep -q "report matches the function's own tally" "$work/alone.out" &&
	pass "example: quick-trace report equals its tally" || fail "example report: $(cat "$work/alone.out")"
grep -q "qt-worker *allocs 100 " "$work/alone.out" &&
	pass "example: snapshot shows the named worker's 100 allocations" || fail "example snapshot"
trace=$(ls "$work"/trace/trace.*.mtt 2>/dev/null)
magic=$(head -c 8 "$trace" 2>/dev/null | od -An -c | tr -d ' ')
[ "$magic" = MTTRACE001 ] && pass "example: trace file $trace" || fail "example: no trace file in $work/trace"
loaded=$(LD_LIBRARY_PATH=$libdir LD_DEBUG=files "$work/quicktrace" "$work/trace-debug" 2>&1 >/dev/null |
	sed -n 's/.*calling init: \(.*libmemtop\.so\)$/\1/p')
[ "$loaded" = "$libdir/libmemtop.so" ] && pass "example: the collector is the installed one" ||
	fail "example: collector loaded from '$loaded'"

# Under the installed memtop, which preloads the same installed library.
"$prefix/bin/memtop" --batch --json -o "$work/under.json" -- \
	env LD_LIBRARY_PATH="$libdir" "$work/quicktrace" "$work/trace-under" > "$work/under.out" 2>&1
rc=$?
[ "$rc" = 0 ] && grep -q "report matches" "$work/under.out" &&
	pass "example under the installed memtop" || fail "under memtop ($rc): $(cat "$work/under.out")"
summary=$(tail -n 1 "$work/under.json")
case "$summary" in
*'"collector":"loaded"'*'"name":"qt-worker"'* | *'"name":"qt-worker"'*'"collector":"loaded"'*)
	pass "memtop saw the example's worker" ;;
*) fail "memtop summary: $summary" ;;
esac

# The installed completion loads into bash and registers for memtop.
if command -v bash >/dev/null 2>&1; then
	got=$(bash --norc --noprofile -c ". '$prefix/share/bash-completion/completions/memtop' && complete -p memtop" 2>&1)
	[ "$got" = "complete -F _memtop memtop" ] && pass "bash completion loads" || fail "bash completion: $got"
fi
if command -v man >/dev/null 2>&1; then
	MANPATH=$prefix/share/man man -w 3 memtop 2>/dev/null | grep -q "$prefix/share/man/man3/memtop.3" &&
		pass "man 3 memtop finds the page" || fail "man 3 memtop does not find $prefix/share/man/man3/memtop.3"
fi

# Uninstall: nothing of memtop's may stay under the prefix.
if (cd "$build" && make -s uninstall) > "$work/uninstall.out" 2>&1; then
	pass "make uninstall"
else
	fail "make uninstall: $(tail -n 5 "$work/uninstall.out")"
fi
left=$(find "$prefix" ! -type d 2>/dev/null)
[ -z "$left" ] && pass "the prefix holds no file after uninstall" || fail "left after uninstall: $left"

echo "# $passed passed, $failed failed"
[ "$failed" -eq 0 ]
