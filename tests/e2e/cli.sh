#!/bin/sh
# cli.sh - the command line's contract: usage errors exit 2 with one line
# naming the problem, a missing or non-executable command exits 127/126,
# help and version work, the JSON is one object per line.
. "$(dirname "$0")/lib.sh"

usage_error() {  # usage_error DESCRIPTION PATTERN ARGS...
	desc=$1; pat=$2; shift 2
	"$MEMTOP" "$@" > "$WORK/out" 2> "$WORK/err"
	rc=$?
	check "$desc: exit 2" "$rc" 2
	check "$desc: one line" "$(wc -l < "$WORK/err")" 1
	grep -qi -- "$pat" "$WORK/err" && pass "$desc: names $pat" || fail "$desc: message '$(cat "$WORK/err")' lacks $pat"
}
usage_error "unknown option" "--bogus" --bogus -- true
usage_error "missing command" "command" --batch
usage_error "bad interval" "--interval" --batch -d abc -- true
usage_error "negative interval" "--interval" --batch -d -1 -- true
usage_error "bad sample rate" "--sample-small" --batch --sample-small 2 -- true
usage_error "json without batch" "--json" --json -- true

"$MEMTOP" --batch -- /nonexistent/cmd 2> "$WORK/err"
check "command not found: 127" "$?" 127
grep -q "not found" "$WORK/err" && pass "not found message" || fail "message: $(cat "$WORK/err")"
printf 'data\n' > "$WORK/plain"; chmod 644 "$WORK/plain"
"$MEMTOP" --batch -- "$WORK/plain" 2> "$WORK/err"
check "not executable: 126" "$?" 126

"$MEMTOP" --help > "$WORK/help"
check "--help exit 0" "$?" 0
grep -q -- "--attach" "$WORK/help" && pass "help lists --attach" || fail "help text"
"$MEMTOP" --version | grep -q '^memtop [0-9]' && pass "--version" || fail "--version"

# (attach.sh covers --attach; a pid that no longer exists here, so that
# no real process is attached to)
sh -c 'exit 0' &
gone=$!
wait "$gone"
"$MEMTOP" --attach "$gone" --batch 2> "$WORK/err"
check "--attach to no such process: exit 1" "$?" 1

# the command's own exit status is memtop's
"$MEMTOP" --batch -o /dev/null -- sh -c 'exit 42'
check "exit status passed through" "$?" 42

# every line of --json output is a JSON object with a type
"$MEMTOP" --batch --json -d 0.2 -o "$WORK/j.json" -- sleep 1
check "json lines parse" "$(q "$WORK/j.json" "all(r['type'] in ('sample', 'summary') for r in records)")" true
check "samples then one summary" "$(q "$WORK/j.json" "[r['type'] for r in records].count('summary')")" 1
check "at least 3 samples in 1 s at 0.2 s" "$(q "$WORK/j.json" "len(samples) >= 3")" true

# a statically linked target never loads the collector: said, status kept
if [ -x "$PROGS/static_exit" ]; then
	"$MEMTOP" --batch --json -o "$WORK/st.json" -- "$PROGS/static_exit" 4 3 2> "$WORK/err"
	check "static target: its exit status" "$?" 3
	grep -q "has not loaded the collector" "$WORK/err" && pass "static target reported" \
		|| fail "no message for static target: $(cat "$WORK/err")"
	check "static target: totals null" "$(q "$WORK/st.json" "s['totals'] is None")" true
fi
finish
