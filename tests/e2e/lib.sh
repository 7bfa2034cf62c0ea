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

# printf, not echo: dash's echo would turn a "\n" in a checked name
# into a raw newline in the log
fail() { printf 'FAIL: %s\n' "$*"; FAILED=$((FAILED + 1)); }
pass() { printf 'ok: %s\n' "$*"; PASSED=$((PASSED + 1)); }

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

# wait_json FILE EXPR SECONDS: poll until a complete JSON line of FILE
# satisfies EXPR (r = the record); false on timeout.
wait_json() {
	python3 - "$@" <<'PY'
import json, sys, time
path, expr, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
end = time.time() + secs
while time.time() < end:
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")[:-1]   # complete lines only
    except OSError:
        lines = []
    for line in lines:
        r = json.loads(line)
        if eval(expr, {"r": r, "any": any, "all": all, "len": len}):
            sys.exit(0)
    time.sleep(0.05)
sys.exit(1)
PY
}

# trace_loss LIVE_JSON REPORT_JSON: for a traced process that did not end
# its trace (SIGKILL, SIGSEGV), compare the allocations of `memtop report
# --json` with the live session's (--batch --json, summary last) and print
# "ok" when the trace lost at most what the threads had not written out
# yet, else what is wrong.  That is one buffer a thread: MT_TBUF_SIZE bytes,
# and MT_TBUF_NESTED for events made in signal handlers (preload/trace.h,
# read from there).  An allocation is 3 bytes of a buffer at the least
# (trace_encode: the op byte, then the pointer delta and the size, one byte
# each at the least; no time delta, the usable size left out), so a thread
# loses at most (MT_TBUF_SIZE + MT_TBUF_NESTED) / 3 allocations.  Checked:
# the totals (0 < trace <= live, live - trace <= threads_seen times that)
# and every thread by tid (0 <= live - trace <= that; a thread of the trace
# the live session did not see is wrong).
trace_loss() {
	python3 - "$1" "$2" "$top_srcdir/preload/trace.h" <<'PY'
import json, re, sys
live = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")][-1]
rep = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")][-1]
h = open(sys.argv[3], encoding="utf-8").read()
size = {k: int(re.search(r"#define %s\s+(\d+)u" % k, h).group(1))
        for k in ("MT_TBUF_SIZE", "MT_TBUF_NESTED")}
cap = (size["MT_TBUF_SIZE"] + size["MT_TBUF_NESTED"]) // 3
wrong = []
la, ra = live["totals"]["allocs"], rep["totals"]["allocs"]
n = live["totals"]["threads_seen"]
if not (0 < ra <= la and la - ra <= n * cap):
    wrong.append("totals: live %d, trace %d, %d threads of at most %d lost" % (la, ra, n, cap))
lt = {t["tid"]: t for t in live["threads"]}
rt = {t["tid"]: t for t in rep["threads"]}
for tid in sorted(set(lt) | set(rt)):
    l = lt[tid]["allocs"] if tid in lt else None
    r = rt[tid]["allocs"] if tid in rt else 0
    if l is None or not 0 <= l - r <= cap:
        wrong.append("tid %d (%s): live %s, trace %d, at most %d lost"
                     % (tid, (lt.get(tid) or rt[tid])["name"], l, r, cap))
print("; ".join(wrong) or "ok")
PY
}

finish() {
	echo "# $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

# settled SESSION FILE: the tmux pane, once two captures 0.2 s apart agree
# (a frame drawn in full), into FILE; at most 5 s.  Uses the calling
# script's screen_text SESSION (its own tmux socket).
settled() {
	screen_text "$1" > "$2.new"
	settled_n=25
	while [ "$settled_n" -gt 0 ]; do
		sleep 0.2
		mv "$2.new" "$2"
		screen_text "$1" > "$2.new"
		cmp -s "$2" "$2.new" && break
		settled_n=$((settled_n - 1))
	done
	mv "$2.new" "$2"
}
