# lib.sh - shared helpers of the end-to-end tests (sourced, not run).
# The tests drive the real memtop binary on the programs in tests/progs.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
MEMTOP="$top_builddir/src/memtop"
PROGS="$top_builddir/tests/progs"
QUERY="python3 $top_srcdir/tests/e2e/query.py"
WORK=$(mktemp -d /tmp/memtop-e2e.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
FAILED=0
PASSED=0

fail() { echo "FAIL: $*"; FAILED=$((FAILED + 1)); }
pass() { echo "ok: $*"; PASSED=$((PASSED + 1)); }

# check NAME ACTUAL EXPECTED
check() {
	if [ "$2" = "$3" ]; then pass "$1 ($2)"; else fail "$1: got '$2', expected '$3'"; fi
}

# q FILE EXPR: evaluate a Python expression over the JSON Lines in FILE
# (names: s = summary record, samples = list of sample records)
q() { $QUERY "$1" "$2"; }

finish() {
	echo "# $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}
