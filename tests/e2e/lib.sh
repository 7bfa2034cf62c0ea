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

# known_bug NAME ACTUAL EXPECTED WHAT: a check of a reported, not yet fixed
# bug.  While the bug is there it prints XFAIL and does not fail the
# script; once the figure is right it fails with XPASS, so that whoever
# fixes the bug turns this line into a plain check.
known_bug() {
	if [ "$2" = "$3" ]; then
		fail "$1: XPASS ($2): fixed? make it a plain check (was: $4)"
	else
		echo "XFAIL: $1: got '$2', expected '$3' (known bug: $4)"
	fi
}

# segments_of MEMTOP_PID: how many /dev/shm segments the processes of that
# memtop session left behind (other tests may run meanwhile).
segments_of() {
	python3 - "$1" <<'PY'
import glob, struct, sys
n = 0
for path in glob.glob("/dev/shm/memtop.*"):
    try:
        with open(path, "rb") as f:
            hdr = f.read(56)
    except OSError:
        continue
    if len(hdr) == 56 and struct.unpack_from("<Q", hdr, 48)[0] == int(sys.argv[1]):
        n += 1
print(n)
PY
}

finish() {
	echo "# $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}
