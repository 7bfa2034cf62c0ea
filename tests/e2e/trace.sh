#!/bin/sh
# trace.sh - --trace DIR and memtop report end to end: the report's totals
# and per-thread figures equal the live session's exactly; the leak of
# tests/progs/twosites found by stack; folded stacks and the pprof profile
# parse and agree; a target killed with SIGKILL (short of at most a buffer
# a thread), a torn last block and a full disk leave a readable trace;
# trace directories that must be refused are (an existing trace, a
# symbolic link, a file); damaged traces get an error naming the file and
# offset; a command that execs keeps a file for each image; a program that
# leaves through _exit (after vfork children that do too) has a complete
# trace; event times come from memtop's clock page, or the clock when that
# page stands still.
. "$(dirname "$0")/lib.sh"

D="$WORK/t1"
"$MEMTOP" --batch --json -o "$WORK/live.json" --trace "$D" -- "$PROGS/threads" 4 2000 \
	> "$WORK/t1.out" 2> "$WORK/t1.err"
check "traced run: exit status" "$?" 0
check "traced run: says where the trace is" \
	"$(grep -c "^memtop: trace written to $D (2 files, [0-9]* bytes)$" "$WORK/t1.err")" 1
check "trace directory mode 0700" "$(stat -c %a "$D")" 700
check "trace files: session.mtt and one per process" "$(ls "$D" | sort | tr '\n' ' ')" \
	"session.mtt trace.$(q "$WORK/live.json" "s['pid']").mtt "
"$MEMTOP" report --json "$D" > "$WORK/rep.json" 2> "$WORK/rep.err"
check "report: exit status" "$?" 0
check "report: one JSON line" "$(wc -l < "$WORK/rep.json")" 1
check "report: nothing on stderr" "$(cat "$WORK/rep.err")" ""
for k in allocs frees reallocs failed bytes_allocated bytes_freed live_bytes threads_seen; do
	check "round trip: totals.$k" "$(q "$WORK/rep.json" "s['totals']['$k']")" \
		"$(q "$WORK/live.json" "s['totals']['$k']")"
done
per_thread="sorted((t['tid'], t['name'], t['allocs'], t['frees'], t['bytes_allocated'], t['bytes_freed'], t['live_bytes'], t['peak_live_bytes'], t['size_histogram']) for t in s['threads'])"
check "round trip: every thread's counters, name, peak and histogram" \
	"$(q "$WORK/rep.json" "$per_thread")" "$(q "$WORK/live.json" "$per_thread")"
for k in pid command exit_status; do
	check "round trip: $k" "$(q "$WORK/rep.json" "s['$k']")" "$(q "$WORK/live.json" "s['$k']")"
done
check "report: the batch schema's members all there" \
	"$(q "$WORK/rep.json" "sorted(set(records[0]) - {'trace', 'process_metrics', 'peak', 'leaks', 'temporary'})")" \
	"$(q "$WORK/live.json" "sorted(s)")"
check "report: the process's exact peak is at least the live lower bound" \
	"$(q "$WORK/rep.json" "s['peak']['live_bytes'] >= $(q "$WORK/live.json" "max(t['peak_live_bytes'] for t in s['threads'])")")" true
check "report: leaks of the workers (worker-i keeps i blocks of 100 bytes)" \
	"$(q "$WORK/rep.json" "sorted((t['name'], t['blocks'], t['bytes']) for t in s['leaks']['threads'] if t['name'] != 'threads')")" \
	"[('renamed-3', 3, 300), ('worker-1', 1, 100), ('worker-2', 2, 200)]"
check "report: trace complete, nothing lost" \
	"$(q "$WORK/rep.json" "[(p['complete'], p['events_lost']) for p in s['trace']['processes']]")" "[(True, 0)]"
check "report: events = 2 per malloc/free pair" \
	"$(q "$WORK/rep.json" "s['trace']['processes'][0]['events'] == s['totals']['allocs'] + s['totals']['frees'] + s['totals']['failed'] - s['totals']['reallocs']")" true

"$MEMTOP" report "$D" > "$WORK/rep.txt" 2>&1
check "text report: exit status" "$?" 0
for section in "^memtop summary - pid" "^Peak heap: " "^Leaks: 11 blocks never freed" \
	"^Temporary allocations" "^Trace: $D, 2 files" "renamed-3"; do
	check "text report has '$section'" "$(grep -c "$section" "$WORK/rep.txt" | sed 's/^[1-9][0-9]*$/yes/')" yes
done

# memtop's own samples of the process (every interval) go in session.mtt.
"$MEMTOP" --batch -o /dev/null -d 0.1 --trace "$WORK/tm" -- "$PROGS/threads" 2 1000 0.8 > /dev/null 2>&1
"$MEMTOP" report --json "$WORK/tm" > "$WORK/repm.json" 2> /dev/null
check "metrics: one sample an interval, RSS and CPU time known" \
	"$(q "$WORK/repm.json" "s['process_metrics']['samples'] >= 5 and s['process_metrics']['rss_bytes'] > 0 and s['process_metrics']['cpu_time_s'] is not None")" true
check "metrics: the session's span covers the run" "$(q "$WORK/repm.json" "0.8 <= s['elapsed_s'] < 10")" true

# ---------------------------------------------------------------- leaks, folded stacks, pprof
D2="$WORK/t2"
"$MEMTOP" --batch -o /dev/null --sample-medium 1 --trace "$D2" -- "$PROGS/twosites" 200000 2000 \
	> /dev/null 2>&1
"$MEMTOP" report --json --collapsed "$WORK/folded.txt" --pprof "$WORK/prof.pb.gz" \
	--export "$WORK/rep.html" "$D2" > "$WORK/rep2.json" 2> "$WORK/rep2.err"
check "twosites report: exit status" "$?" 0
big="[g for g in s['leaks']['by_stack'] if g['frames'] and g['frames'][0].startswith('big_few ')][0]"
check "leak: 50 blocks never freed, from big_few" "$(q "$WORK/rep2.json" "$big['blocks']")" 50
check "leak: 50 x 40000 bytes" "$(q "$WORK/rep2.json" "$big['bytes']")" 2000000
"$MEMTOP" report "$D2" > "$WORK/rep2.txt" 2> /dev/null
check "leak: the text names the stack as the JSON does" \
	"$(grep -c "^  #[0-9]*  stack $(q "$WORK/rep2.json" "$big['stack_id']"): 50 sampled blocks" "$WORK/rep2.txt")" 1
check "leak: the bigsite thread holds them" \
	"$(q "$WORK/rep2.json" "[t['blocks'] for t in s['leaks']['threads'] if t['name'] == 'bigsite']")" "[50]"
check "temporary: small_many's blocks are freed at once" \
	"$(q "$WORK/rep2.json" "[t['blocks'] for t in s['temporary']['threads'] if t['name'] == 'smallsite']")" "[200000]"
check "folded stacks: every line is 'frame;frame;... COUNT'" \
	"$(grep -cvE '^[^;]+(;[^;]+)* [0-9]+$' "$WORK/folded.txt")" 0
check "folded stacks: outermost frame first, big_few innermost" \
	"$(grep -c '^clone3.*;run at twosites.c:[0-9]* (twosites);big_few at twosites.c:[0-9]* (twosites) [0-9]*$' "$WORK/folded.txt")" 1
folded_sum=$(awk '{ n += $NF } END { print n }' "$WORK/folded.txt")
check "folded stacks: the values are the stacks' bytes_est (top stacks within them)" \
	"$(q "$WORK/rep2.json" "sum(x['bytes_est'] for x in s['top_stacks']) <= $folded_sum")" true
# pprof_totals FILE: "TYPE,TYPE,... ALLOC_OBJECTS ALLOC_SPACE" of a
# gzip-compressed pprof profile, decoded here (no Go tool needed)
pprof_totals() {
	python3 - "$1" <<'PY'
import gzip, sys
data = gzip.open(sys.argv[1]).read()
def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1
        v |= (c & 0x7f) << s; s += 7
        if not c & 0x80:
            return v, i
def fields(b):
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        f, w = key >> 3, key & 7
        if w == 0:
            v, i = varint(b, i)
        elif w == 2:
            n, i = varint(b, i); v = b[i:i + n]; i += n
        else:
            raise SystemExit("unexpected wire type %d" % w)
        yield f, v
sums = [0, 0, 0, 0]
strings = []
types = []
for f, v in fields(data):
    if f == 2:
        for g, x in fields(v):
            if g == 2:
                vals, j = [], 0
                while j < len(x):
                    n, j = varint(x, j); vals.append(n)
                for k in range(4):
                    sums[k] += vals[k]
    elif f == 6:
        strings.append(v.decode())
    elif f == 1:
        types.append(dict(fields(v)))
print(",".join(strings[t[1]] for t in types), sums[0], sums[1])
PY
}
pprof_sums=$(pprof_totals "$WORK/prof.pb.gz")
check "pprof: sample types" "${pprof_sums%% *}" "alloc_objects,alloc_space,inuse_objects,inuse_space"
check "pprof: alloc_space total = the folded stacks' total" "${pprof_sums##* }" "$folded_sum"
if command -v protoc > /dev/null 2>&1; then
	zcat "$WORK/prof.pb.gz" | protoc --decode_raw > "$WORK/prof.txt" 2>&1
	check "pprof: protoc --decode_raw parses it" "$?" 0
else
	echo "skip: protoc --decode_raw (Debian package protobuf-compiler) is not installed"
fi
check "report --export: an HTML report with the summary embedded" \
	"$(grep -c 'id="memtop-data"' "$WORK/rep.html")" 1
check "report --export: said where" "$(grep -c "report written to $WORK/rep.html" "$WORK/rep2.err")" 1
CHROMIUM=${MEMTOP_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -n "$CHROMIUM" ]; then
	HOME="$WORK" timeout 180 "$CHROMIUM" --headless --disable-gpu --no-sandbox --no-first-run \
		--no-default-browser-check --disable-extensions --user-data-dir="$WORK/chromium-profile" \
		--virtual-time-budget=10000 --dump-dom "file://$WORK/rep.html" > "$WORK/rep.dom" 2> /dev/null
	check "report --export: the page renders (its script ran)" "$(grep -c '<body[^>]*data-rendered="ok"' "$WORK/rep.dom")" 1
	check "report --export: no script error" "$(grep -c '<body[^>]*data-errors=' "$WORK/rep.dom")" 0
else
	echo "skip: no Chromium to open the exported page"
fi

# ---------------------------------------------------------------- killed target
# Killed once both workers have made 100,000 allocations and sleep (the
# first done, the second before its rename, 15 s later): each has written
# out full buffers and holds the rest of its events in its buffer.
D3="$WORK/t3"
"$MEMTOP" --batch --json -d 0.1 -o "$WORK/t3.json" --trace "$D3" -- "$PROGS/threads" 2 100000 30 \
	> /dev/null 2> "$WORK/t3.err" &
mpid=$!
wait_json "$WORK/t3.json" \
	"len([t for t in r.get('threads') or [] if t['name'] in ('worker-0', 'worker-1') and t['allocs'] == 100000]) == 2" 30 \
	|| fail "killed target: no sample with 100,000 allocations in both workers"
tpid=$(pgrep -P $mpid)
kill -KILL "$tpid"  # in any case: it would run for 30 s
wait $mpid
check "killed target: memtop exits 128+9" "$?" 137
check "killed target: trace still written" "$(grep -c "trace written to $D3" "$WORK/t3.err")" 1
"$MEMTOP" report --json "$D3" > "$WORK/rep3.json" 2> "$WORK/rep3.err"
check "killed target: report works" "$?" 0
check "killed target: says the process did not finish its trace" \
	"$(grep -c "pid $tpid did not finish its trace (killed" "$WORK/rep3.err")" 1
check "killed target: what was written is read (full buffers of both workers)" \
	"$(q "$WORK/rep3.json" "s['totals']['allocs'] > 20000 and s['trace']['processes'][0]['complete'] == False")" true
check "killed target: the trace lost at most one buffer a thread" \
	"$(trace_loss "$WORK/t3.json" "$WORK/rep3.json")" ok
check "killed target: the session knows how it ended" \
	"$(q "$WORK/rep3.json" "(s['exit_status'], s['end'])")" "(137, 'killed by signal 9 (Killed)')"

# A torn last block: the file cut in the middle of its last block.
cp -r "$D" "$WORK/t4"
f4=$(ls "$WORK"/t4/trace.*.mtt)
size=$(stat -c %s "$f4")
truncate -s $((size - 5)) "$f4"
"$MEMTOP" report --json "$WORK/t4" > "$WORK/rep4.json" 2> "$WORK/rep4.err"
check "torn last block: report works" "$?" 0
check "torn last block: a warning naming the file and the offset" \
	"$(q "$WORK/rep4.json" "len([w for w in s['trace']['warnings'] if '$f4: torn last block at offset' in w])")" 1
check "torn last block: said on stderr" "$(grep -c 'damaged or incomplete' "$WORK/rep4.err")" 1

# ---------------------------------------------------------------- refusals
"$MEMTOP" --batch -o /dev/null --trace "$D" -- true 2> "$WORK/r1.err"
check "existing trace: refused with exit 1" "$?" 1
check "existing trace: says why and what to do" \
	"$(grep -c "^memtop: --trace $D: already holds a trace; use --overwrite-trace" "$WORK/r1.err")" 1
check "existing trace: left untouched" "$(q "$WORK/rep.json" "s['pid']")" \
	"$("$MEMTOP" report --json "$D" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')"
"$MEMTOP" --batch -o /dev/null --trace "$D" --overwrite-trace -- "$PROGS/threads" 1 10 > /dev/null 2>&1
check "--overwrite-trace: replaced" "$(ls "$D" | wc -l)" 2
mkdir "$WORK/target"
ln -s "$WORK/target" "$WORK/link"
"$MEMTOP" --batch -o /dev/null --trace "$WORK/link" -- true 2> "$WORK/r2.err"
check "symbolic link: refused" "$?" 1
check "symbolic link: says so" "$(grep -c 'is a symbolic link' "$WORK/r2.err")" 1
check "symbolic link: nothing written through it" "$(ls "$WORK/target" | wc -l)" 0
: > "$WORK/plainfile"
"$MEMTOP" --batch -o /dev/null --trace "$WORK/plainfile" -- true 2> "$WORK/r3.err"
check "a file as DIR: refused" "$(grep -c 'exists and is not a directory' "$WORK/r3.err")" 1
"$MEMTOP" --batch -o /dev/null --trace "$WORK/new" -- /nonexistent/command 2> /dev/null
check "command not found: exit 127" "$?" 127
check "command not found: no trace directory left" "$(ls -d "$WORK/new" 2> /dev/null | wc -l)" 0
"$MEMTOP" --overwrite-trace -- true 2> "$WORK/r4.err"
check "--overwrite-trace without --trace: usage error" "$?" 2
"$MEMTOP" report 2> "$WORK/r5.err"
check "report without TRACE_DIR: usage error" "$?" 2

# ---------------------------------------------------------------- damaged traces
mkdir "$WORK/empty"
"$MEMTOP" report "$WORK/empty" 2> "$WORK/d1.err"
check "directory without a trace: exit 1" "$?" 1
check "directory without a trace: says so" "$(grep -c 'no memtop trace here' "$WORK/d1.err")" 1
mkdir "$WORK/foreign"
head -c 4096 /dev/urandom > "$WORK/foreign/trace.1.mtt"
"$MEMTOP" report "$WORK/foreign" 2> "$WORK/d2.err"
check "foreign file: exit 1" "$?" 1
check "foreign file: names the file and offset" \
	"$(grep -c "$WORK/foreign/trace.1.mtt: not a memtop trace (no trace magic at offset 0)" "$WORK/d2.err")" 1
cp -r "$D" "$WORK/flipped"
f5=$(ls "$WORK"/flipped/trace.*.mtt)
printf '\377' | dd of="$f5" bs=1 seek=2000 conv=notrunc 2> /dev/null
"$MEMTOP" report --json "$WORK/flipped" > "$WORK/rep5.json" 2> /dev/null
check "a flipped byte: the report of what was read" "$?" 0
check "a flipped byte: a damaged-block warning with its offset" \
	"$(q "$WORK/rep5.json" "any('damaged block at offset' in w and 'checksum' in w for w in s['trace']['warnings'])")" true

# ---------------------------------------------------------------- a full disk
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	mkdir "$WORK/mnt"
	unshare -m sh -c "mount -t tmpfs -o size=256k tmpfs '$WORK/mnt' &&
		'$MEMTOP' --batch -o /dev/null --trace '$WORK/mnt/t' -- '$PROGS/threads' 4 20000 \
			> '$WORK/full.out' 2> '$WORK/full.err'; echo \$? > '$WORK/full.rc';
		'$MEMTOP' report --json '$WORK/mnt/t' > '$WORK/full.json' 2> '$WORK/full-rep.err';
		echo \$? > '$WORK/full-rep.rc'"
	check "full disk: the command ran to its end" "$(grep -c '^THREAD' "$WORK/full.out")" 4
	check "full disk: exit status is the command's" "$(cat "$WORK/full.rc")" 0
	check "full disk: memtop says tracing stopped, the rest readable" \
		"$(grep -c 'is full: pid [0-9]* stopped tracing there.*stays readable' "$WORK/full.err")" 1
	check "full disk: the report reads what was written" "$(cat "$WORK/full-rep.rc")" 0
	check "full disk: some events, not all" \
		"$(q "$WORK/full.json" "0 < s['totals']['allocs'] < 100000")" true
else
	echo "skip: full disk needs root and unshare -m"
fi

# ---------------------------------------------------------------- exec
"$PROGS/tally" 7 > "$WORK/tally7.out"
# A command that execs another program: each program has a file of its own
# (trace.PID.2.mtt for the second), the shell's events are written out
# before the exec, and the report counts both programs as one process, as
# the live session does: totals and every thread equal.  (The shell waits
# a second before its exec: a live session sees a program only once it has
# found its segment; the trace has it either way, see execer below.)
"$MEMTOP" --batch --json -o "$WORK/ex.json" --trace "$WORK/tex" -- \
	sh -c '"$1" > /dev/null; sleep 1; exec "$1"' sh "$PROGS/tally" > "$WORK/ex.out" 2> /dev/null
check "exec: exit status" "$?" 0
expid=$(q "$WORK/ex.json" "s['pid']")
check "exec: one file for each program of the pid" \
	"$(ls "$WORK/tex" | grep "^trace\.$expid\." | sort | tr '\n' ' ')" \
	"trace.$expid.2.mtt trace.$expid.mtt "
"$MEMTOP" report --json "$WORK/tex" > "$WORK/exr.json" 2> "$WORK/exr.err"
check "exec: report exit status" "$?" 0
check "exec: report says nothing" "$(cat "$WORK/exr.err")" ""
ex_totals="[s['totals'][k] for k in ('allocs', 'frees', 'reallocs', 'failed', 'bytes_allocated', 'bytes_freed', 'live_bytes', 'threads_seen')]"
check "exec: report totals = live totals, both programs counted" \
	"$(q "$WORK/exr.json" "$ex_totals")" "$(q "$WORK/ex.json" "$ex_totals")"
ex_threads="sorted((t['tid'], t['name'], t['allocs'], t['frees'], t['bytes_allocated'], t['live_bytes']) for t in s['threads'])"
check "exec: report threads = live threads (the shell's among them)" \
	"$(q "$WORK/exr.json" "$ex_threads")" "$(q "$WORK/ex.json" "$ex_threads")"
check "exec: the shell did allocate" \
	"$(q "$WORK/exr.json" "[t['allocs'] > 0 for t in s['threads'] if t['name'] == 'sh']")" "[True]"
check "exec: the JSON names the program before the exec" \
	"$(q "$WORK/exr.json" "[len(p['exec_images']) for p in s['trace']['processes'] if p['main']]")" "[1]"
# Without session.mtt the main process is the one no other traced process
# started: the shell that exec'd is still counted once, with its program.
mkdir "$WORK/tex2" && cp "$WORK"/tex/trace.*.mtt "$WORK/tex2/"
"$MEMTOP" report --json "$WORK/tex2" > "$WORK/exr2.json" 2> /dev/null
check "exec, no session file: the same totals" \
	"$(q "$WORK/exr2.json" "$ex_totals")" "$(q "$WORK/exr.json" "$ex_totals")"
"$MEMTOP" report "$WORK/tex" > "$WORK/exr.txt" 2> /dev/null
check "exec: the text report lists the program before the exec" \
	"$(grep -c "^    before an exec: .*counted with the above" "$WORK/exr.txt")" 1

# Every exec entry point writes the caller's events out first: the 10
# allocations execer makes before it execs tally are in the trace, and the
# report's threads are the live ones; the list forms pass the arguments on.
for form in execv execvp execve execvpe execl execlp execle fexecve; do
	rm -rf "$WORK/tx"
	"$MEMTOP" --batch --json -o "$WORK/x.json" --force --trace "$WORK/tx" -- \
		"$PROGS/execer" "$form" "$PROGS/tally" 7 > "$WORK/x.out" 2> /dev/null
	check "$form: exit status" "$?" 0
	check "$form: tally ran with its argument (7 rounds)" \
		"$(sed -n 's/^TALLY allocs=\([0-9]*\) .*/\1/p' "$WORK/x.out")" \
		"$(sed -n 's/^TALLY allocs=\([0-9]*\) .*/\1/p' "$WORK/tally7.out")"
	"$MEMTOP" report --json "$WORK/tx" > "$WORK/xr.json" 2> /dev/null
	# execer execs at once: a live session that had not found it by then
	# never sees its figures (the trace has them all)
	check "$form: report threads = live threads (execer's if live saw it)" \
		"$(python3 - "$WORK/xr.json" "$WORK/x.json" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
live = [json.loads(l) for l in open(sys.argv[2])][-1]
key = lambda t: (t['tid'], t['name'], t['allocs'], t['frees'], t['bytes_allocated'], t['live_bytes'])
lt = sorted(key(t) for t in live['threads'])
rt = sorted(key(t) for t in rep['threads'] if t['name'] != 'execer' or
            any(u['name'] == 'execer' for u in live['threads']))
print(lt == rt)
PY
)" True
	check "$form: execer's own allocations recorded" \
		"$(q "$WORK/xr.json" "[t['allocs'] >= 10 for t in s['threads'] if t['name'] == 'execer']")" "[True]"
done

# ---------------------------------------------------------------- pprof totals
# Every stack captured (rates 1): the profile's allocation totals are the
# exact counters of the JSON report.
"$MEMTOP" --batch --json -o "$WORK/all.json" --sample-small 1 --sample-medium 1 \
	--trace "$WORK/tall" -- "$PROGS/twosites" 20000 200 > /dev/null 2>&1
"$MEMTOP" report --json --pprof "$WORK/all.pb.gz" "$WORK/tall" > "$WORK/all-report.json" 2> /dev/null
all_sums=$(pprof_totals "$WORK/all.pb.gz")
all_sums=${all_sums#* }
check "pprof: alloc_objects and alloc_space = the JSON report's allocs and bytes (rates 1)" \
	"$all_sums" "$(q "$WORK/all-report.json" "'%d %d' % (s['totals']['allocs'], s['totals']['bytes_allocated'])")"
# ---------------------------------------------------------------- _exit
# A program that leaves through _exit skips the destructors: the collector
# writes its trace out all the same (the last events, the end record), but
# not from a vfork child, which would end its parent's trace instead.
"$MEMTOP" --batch --json -o "$WORK/lv.json" --trace "$WORK/lv" -- "$PROGS/leaver" 1000 \
	> "$WORK/lv.out" 2> /dev/null
check "_exit: the program's own count" "$(cat "$WORK/lv.out")" "LEAVER allocs=3000"
"$MEMTOP" report --json -o "$WORK/lvr.json" "$WORK/lv" 2> "$WORK/lvr.err"
check "_exit: the report has nothing to warn about" "$(cat "$WORK/lvr.err")" ""
for k in allocs frees bytes_allocated bytes_freed live_bytes; do
	check "_exit after vfork children: totals.$k round trip" \
		"$(q "$WORK/lvr.json" "s['totals']['$k']")" "$(q "$WORK/lv.json" "s['totals']['$k']")"
done
check "_exit: the trace is complete" \
	"$(q "$WORK/lvr.json" "len(s['trace']['processes']) == 1 and s['trace']['processes'][0]['complete']")" true
# _exit from a signal handler, most likely from inside malloc (its locks
# held): the process leaves at once with its status, every time, and its
# trace is readable and complete.
sig_ok=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	rm -rf "$WORK/lvs"
	timeout 20 "$MEMTOP" --batch -o /dev/null --trace "$WORK/lvs" -- "$PROGS/leaver" --signal \
		> /dev/null 2>&1
	rc=$?
	"$MEMTOP" report --json -o "$WORK/lvs.json" --force "$WORK/lvs" 2> /dev/null
	[ "$rc" -eq 3 ] && [ "$(q "$WORK/lvs.json" "s['trace']['processes'][0]['complete']")" = true ] &&
		sig_ok=$((sig_ok + 1))
done
check "_exit from a signal handler: status 3 and a complete trace, 10 runs of 10" "$sig_ok" 10
# dash leaves through _exit
"$MEMTOP" --batch -o /dev/null --trace "$WORK/dash" -- sh -c 'ls / > /dev/null' 2> /dev/null
"$MEMTOP" report -o /dev/null "$WORK/dash" 2> "$WORK/dash.err"
check "_exit: sh's trace is complete" "$(cat "$WORK/dash.err")" ""

# ---------------------------------------------------------------- the clock page
# While it traces, memtop keeps the time in /dev/shm/memtop-clock.PID for
# the collector (shm_layout.h); it is gone afterwards.  Event times taken
# from it, or from the clock when the page stands still, are real: a peak
# reached after a 0.4 s sleep is reported at least that far into the run.
# The Debian interpreter itself, not a wrapper that execs it (compat.sh).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
PEAK_PROG='import time; time.sleep(0.4); x = bytearray(50000000); time.sleep(0.05)'
"$MEMTOP" --batch -o /dev/null --trace "$WORK/clkp" -- sh -c \
	'echo $PPID > "$0"; test -f /dev/shm/memtop-clock.$PPID' "$WORK/clk.pid" 2> /dev/null
check "clock page: there while tracing" "$?" 0
check "clock page: removed at the end" \
	"$(test -e "/dev/shm/memtop-clock.$(cat "$WORK/clk.pid")" && echo left || echo gone)" gone
"$MEMTOP" --batch -o /dev/null --trace "$WORK/clk" -- "$PY" -c "$PEAK_PROG" 2> /dev/null
"$MEMTOP" report --json -o "$WORK/clk.json" "$WORK/clk" 2> /dev/null
check "clock page: the peak's time is after the sleep" \
	"$(q "$WORK/clk.json" "0.35 <= s['peak']['t_s'] < 5")" true

# A page that stands still (its memtop stopped, or planted): the collector
# notices at its first check and reads the clock itself.
true & dead=$!
wait "$dead"
python3 - "$dead" <<'PY'
import os, struct, sys
fd = os.open("/dev/shm/memtop-clock.%s" % sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, struct.pack("<QIIQ", 0x4b434f4c43544d00, 1, 0, 1).ljust(4096, b"\0"))
os.close(fd)
PY
mkdir "$WORK/stale"
env MEMTOP_SESSION="$dead" MEMTOP_TRACE="$WORK/stale" \
	LD_PRELOAD="$top_builddir/preload/.libs/libmemtop.so" "$PY" -c "$PEAK_PROG"
check "stale clock page: the traced program runs" "$?" 0
"$MEMTOP" report --json -o "$WORK/stale.json" "$WORK/stale" 2> /dev/null
check "stale clock page: the peak's time is after the sleep" \
	"$(q "$WORK/stale.json" "0.35 <= s['peak']['t_s'] < 5")" true
rm -f "/dev/shm/memtop-clock.$dead"
python3 - "$dead" <<'PY'
import glob, os, struct, sys
for path in glob.glob("/dev/shm/memtop.*"):
    with open(path, "rb") as f:
        hdr = f.read(56)
    if len(hdr) == 56 and struct.unpack_from("<Q", hdr, 48)[0] == int(sys.argv[1]):
        os.unlink(path)
PY

finish
