#!/bin/sh
# faults.sh - things going wrong around memtop --batch: the target dies of
# a real fault or is killed from outside mid-run (the summary, the HTML
# export and the trace still written, the trace short of at most a buffer
# a thread), 2,000 threads alive at once, malloc failing under a memory
# limit set after the collector started and before, the output disk full
# or read-only, memtop itself killed.  The target must run on unharmed and
# memtop must report what it can and say what went wrong.  (Covered
# elsewhere, not repeated: raise()d SIGSEGV/SIGKILL/SIGABRT in signal.sh,
# 17,000 short-lived threads and /dev/shm full in robust.sh.)
. "$(dirname "$0")/lib.sh"

# embedded_summary HTML JSONL: "same" when the summary embedded in the
# export (its memtop-data element) is the last line of the --json output.
embedded_summary() {
	python3 - "$1" "$2" <<'PY'
import json, re, sys
try:
    page = open(sys.argv[1], encoding="utf-8").read()
except OSError as e:
    sys.exit(print(e))
m = re.search(r'<script type="application/json" id="memtop-data">(.*?)</script>', page, re.S)
live = json.loads(open(sys.argv[2], encoding="utf-8").read().splitlines()[-1])
print("no memtop-data element" if not m else
      "same" if json.loads(m.group(1))["summary"] == live else "different")
PY
}

# ---------------------------------------------------------------- target dies
# A store through NULL in one thread while three others allocate.
{ "$PROGS/crasher" 1 > "$WORK/crash.bare"; } 2>/dev/null  # and the shell's report
bare=$?
"$MEMTOP" --batch --json -d 0.1 -o "$WORK/crash.json" -e "$WORK/crash.html" \
	--trace "$WORK/crash.t" -- "$PROGS/crasher" 1 > "$WORK/crash.out" 2> "$WORK/crash.err"
rc=$?
check "SIGSEGV: bare status" "$bare" 139
check "SIGSEGV: memtop exits with the command's 128+11" "$rc" 139
check "SIGSEGV: same stdout" "$(cat "$WORK/crash.out")" "$(cat "$WORK/crash.bare")"
check "SIGSEGV: summary exit_status" "$(q "$WORK/crash.json" "s['exit_status']")" 139
check "SIGSEGV: samples before the crash" "$(q "$WORK/crash.json" "len(samples) >= 2")" true
check "SIGSEGV: allocating threads' figures kept" \
	"$(q "$WORK/crash.json" "all(thread(s, 'alloc-%d' % i)['allocs'] > 1000 for i in range(3))")" true
check "SIGSEGV: all lines JSON, summary last" "$(q "$WORK/crash.json" "records[-1]['type']")" summary
check "SIGSEGV: the HTML export written, the --json summary embedded in it" \
	"$(embedded_summary "$WORK/crash.html" "$WORK/crash.json")" same
"$MEMTOP" report --json "$WORK/crash.t" > "$WORK/crash-rep.json" 2> "$WORK/crash-rep.err"
check "SIGSEGV: the trace is readable" "$?" 0
# A crashed process loses what its threads had not written out: at most a
# buffer each (trace_loss, lib.sh).
check "SIGSEGV: the trace lost at most one buffer a thread" \
	"$(trace_loss "$WORK/crash.json" "$WORK/crash-rep.json")" ok

# SIGKILL from outside, once the workers are done and sleeping.
"$MEMTOP" --batch --json -d 0.1 -o "$WORK/kill.json" -- "$PROGS/threads" 3 500 5 > "$WORK/kill.out" &
mpid=$!
if wait_json "$WORK/kill.json" "any(t['name'] == 'worker-0' and t['allocs'] == 500 for t in r.get('threads') or [])" 10; then
	kill -KILL "$(pgrep -P $mpid)"
else
	fail "SIGKILL: worker-0 never reached 500 allocations in a sample"
fi
wait $mpid
check "SIGKILL: memtop exits 128+9" "$?" 137
check "SIGKILL: summary exit_status" "$(q "$WORK/kill.json" "s['exit_status']")" 137
check "SIGKILL: worker figures kept" \
	"$(q "$WORK/kill.json" "(thread(s, 'worker-0')['allocs'], thread(s, 'worker-1')['allocs'])")" "(500, 1001)"
check "SIGKILL: no segment left behind" "$(segments_of $mpid)" 0

# SIGKILL in the middle of allocating, with the export and the trace:
# crasher's three threads loop on malloc/free without end (its faulter
# waits an hour), killed once a sample shows 100,000 allocations in each,
# which is several of its trace buffers written out (5 bytes at least for
# a malloc/free pair).  The summary, the export and the trace are written
# all the same; the trace lacks what the threads had in their buffers.
"$MEMTOP" --batch --json -d 0.05 -o "$WORK/kill2.json" -e "$WORK/k.html" --trace "$WORK/k.t" \
	-- "$PROGS/crasher" 3600 > "$WORK/kill2.out" 2> "$WORK/kill2.err" &
mpid=$!
wait_json "$WORK/kill2.json" \
	"len([t for t in r.get('threads') or [] if t['name'].startswith('alloc-') and t['allocs'] > 100000]) == 3" 30 \
	|| fail "SIGKILL mid-allocation: no sample with 100,000 allocations in each of alloc-0..2"
tpid=$(pgrep -P $mpid)
kill -KILL "$tpid"  # in any case: it would run for an hour
wait $mpid
check "SIGKILL mid-allocation: memtop exits 128+9" "$?" 137
check "SIGKILL mid-allocation: the summary says how it ended" \
	"$(q "$WORK/kill2.json" "(s['exit_status'], s['end'])")" "(137, 'killed by signal 9 (Killed)')"
check "SIGKILL mid-allocation: says where the export and the trace are" \
	"$(grep -c -e "^memtop: report written to $WORK/k.html$" -e "^memtop: trace written to $WORK/k.t " "$WORK/kill2.err")" 2
check "SIGKILL mid-allocation: the export's embedded summary is the --json summary" \
	"$(embedded_summary "$WORK/k.html" "$WORK/kill2.json")" same
"$MEMTOP" report --json "$WORK/k.t" > "$WORK/k-rep.json" 2> "$WORK/k-rep.err"
check "SIGKILL mid-allocation: memtop report reads the trace" "$?" 0
check "SIGKILL mid-allocation: the report says the process did not finish its trace" \
	"$(grep -c "pid $tpid did not finish its trace (killed" "$WORK/k-rep.err")" 1
check "SIGKILL mid-allocation: the trace's process is incomplete, the allocating threads in it" \
	"$(q "$WORK/k-rep.json" "(s['trace']['processes'][0]['complete'], sorted(t['name'] for t in s['threads'] if t['allocs'] > 0))")" \
	"(False, ['alloc-0', 'alloc-1', 'alloc-2'])"
check "SIGKILL mid-allocation: the trace lost at most one buffer a thread" \
	"$(trace_loss "$WORK/kill2.json" "$WORK/k-rep.json")" ok
check "SIGKILL mid-allocation: no segment left behind" "$(segments_of $mpid)" 0

# ---------------------------------------------------------------- thread horde
# 2,000 threads alive at the same time (robust.sh has 17,000 one after the
# other).
"$MEMTOP" --batch --json -d 0.3 -o "$WORK/horde.json" -- "$PROGS/horde" 2000 1.5 > "$WORK/horde.out"
check "horde: exit status" "$?" 0
check "horde: program output" "$(cat "$WORK/horde.out")" \
	"HORDE threads=2000 alive_at_once=2000 allocs_each=10 frees_each=10"
check "horde: threads seen" "$(q "$WORK/horde.json" "s['totals']['threads_seen'] >= 2001")" true
check "horde: every thread's figures exact" \
	"$(q "$WORK/horde.json" "sorted(set((t['allocs'], t['frees'], t['live_bytes']) for t in s['threads'] if t['name'].startswith('h-')))")" \
	"[(10, 10, 0)]"
check "horde: all 2000 reported" \
	"$(q "$WORK/horde.json" "len([t for t in s['threads'] if t['name'].startswith('h-')])")" 2000
check "horde: a sample saw 2000 running at once" \
	"$(q "$WORK/horde.json" "any(len([t for t in r['threads'] if t['name'].startswith('h-') and t['state'] == 'running']) == 2000 for r in samples)")" true

# ---------------------------------------------------------------- malloc fails
# Under an address-space limit, set in two ways that leave memtop itself
# unlimited (an ASan build of memtop cannot even start under one): with
# `prlimit --pid` on the running command (nomem waits for a limit), after
# the collector started; and below, by a shell that execs nomem, before.
(ulimit -v $((256 << 10)) && exec "$PROGS/nomem") > /dev/null 2>&1
bare=$?
"$MEMTOP" --batch --json -o "$WORK/nomem.json" -- "$PROGS/nomem" > "$WORK/nomem.out" 2> "$WORK/nomem.err" &
mpid=$!
tpid=
for i in $(seq 100); do tpid=$(pgrep -P $mpid) && break; sleep 0.05; done
prlimit --pid "$tpid" --as=$((256 << 20)) || fail "prlimit --pid '$tpid' failed"
wait $mpid
rc=$?
check "memory limit: bare run under ulimit -v sees NULL and ENOMEM, recovers" "$bare" 0
check "memory limit: the same under memtop" "$rc" 0
# hungry_exact NAME: the hungry thread's allocs, frees and failed calls in
# $WORK/NAME.json are what nomem printed in $WORK/NAME.out
hungry_exact() {
	want=$(sed -n 's/^NOMEM allocs=\([0-9]*\) frees=\([0-9]*\) failed=\([0-9]*\).*/(\1, \2, \3)/p' \
		"$WORK/$1.out")
	check "$2: hungry thread's allocs, frees, failed exact" \
		"$(q "$WORK/$1.json" "(thread(s, 'hungry')['allocs'], thread(s, 'hungry')['frees'], thread(s, 'hungry')['failed'])")" \
		"${want:-no NOMEM line}"
}
hungry_exact nomem "memory limit"
check "memory limit: failures in the totals" \
	"$(q "$WORK/nomem.json" "s['totals']['failed'] >= thread(s, 'hungry')['failed'] >= 7")" true
check "memory limit: memtop said nothing" "$(cat "$WORK/nomem.err")" ""

# The limit set before the collector starts: memtop runs a shell that sets
# it and execs nomem, whose collector then creates its segment and tables
# under it.  256 MiB (the bare run's) leaves it room: the collector takes
# some 35 MiB of address space, 32 MiB of it its table of sampled blocks
# (only if it cannot map its segment does it say so on stderr, "memtop
# collector: cannot map ...; this process runs on unmonitored", and the
# process runs on without figures).
"$MEMTOP" --batch --json -o "$WORK/nomem2.json" -- \
	sh -c "ulimit -v $((256 << 10)) && exec '$PROGS/nomem'" > "$WORK/nomem2.out" 2> "$WORK/nomem2.err" &
mpid=$!
wait $mpid
rc=$?
check "limit before the collector: memtop exits with nomem's status, the bare run's" "$rc" "$bare"
check "limit before the collector: summary exit_status" "$(q "$WORK/nomem2.json" "s['exit_status']")" "$bare"
check "limit before the collector: nothing on stderr (the collector set up, nothing failed)" \
	"$(cat "$WORK/nomem2.err")" ""
check "limit before the collector: the collector ran in nomem" \
	"$(q "$WORK/nomem2.json" "(s['collector'], thread(s, 'hungry') is not None)")" "('loaded', True)"
hungry_exact nomem2 "limit before the collector"
check "limit before the collector: the totals' failures are hungry's" \
	"$(q "$WORK/nomem2.json" "s['totals']['failed'] == thread(s, 'hungry')['failed'] >= 7")" true
check "limit before the collector: no segment left behind" "$(segments_of $mpid)" 0

# ---------------------------------------------------------------- output fails
# The output disk is full (/dev/full; a full tmpfs below): the command runs
# to its end undisturbed; memtop must say that the report is lost (and, as
# for any failure of its own, exit 1 when the command succeeded).
"$MEMTOP" --batch --json -d 0.05 -o /dev/full -- "$PROGS/threads" 3 500 0.5 > "$WORK/dfull.out" 2> "$WORK/dfull.err"
rc=$?
check "/dev/full: the command ran to its end" "$(grep -c '^THREAD' "$WORK/dfull.out")" 3
check "/dev/full: memtop says the output is lost" \
	"$(grep -c 'No space left on device' "$WORK/dfull.err")" 1
check "/dev/full: memtop exits 1" "$rc" 1
# Only the summary to write (the command ends before the first sample):
# memtop says that the summary, not the command, is what is affected.
"$MEMTOP" --batch --json -d 10 -o /dev/full -- true 2> "$WORK/dfull2.err"
check "/dev/full, summary only: exit 1" "$?" 1
check "/dev/full, summary only: says the summary is lost" \
	"$(grep -c '^memtop: writing /dev/full failed: No space left on device; the summary is lost$' "$WORK/dfull2.err")" 1

if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	mkdir "$WORK/mnt"
	unshare -m sh -c "mount -t tmpfs -o size=16k tmpfs '$WORK/mnt' &&
		'$MEMTOP' --batch --json -d 0.05 -o '$WORK/mnt/out.json' -- '$PROGS/threads' 3 500 0.5 \
			> '$WORK/tfull.out' 2> '$WORK/tfull.err'; echo \$? > '$WORK/tfull.rc';
		wc -c < '$WORK/mnt/out.json' > '$WORK/tfull.size'"
	check "full tmpfs: the command ran to its end" "$(grep -c '^THREAD' "$WORK/tfull.out")" 3
	check "full tmpfs: the disk did fill up" "$(cat "$WORK/tfull.size")" 16384
	check "full tmpfs: memtop says the output is lost" \
		"$(grep -c "$WORK/mnt/out.json.*No space left on device" "$WORK/tfull.err")" 1
	check "full tmpfs: memtop exits 1" "$(cat "$WORK/tfull.rc")" 1

	# A read-only output directory (root ignores permission bits, so a
	# read-only mount): refused before the command starts.
	mkdir "$WORK/ro"
	unshare -m sh -c "mount -t tmpfs -o ro tmpfs '$WORK/ro' &&
		'$MEMTOP' --batch -o '$WORK/ro/out.txt' -- sh -c 'echo started > \"$WORK/ro-started\"' \
			2> '$WORK/ro.err'; echo \$? > '$WORK/ro.rc'"
	check "read-only output dir: exit 1" "$(cat "$WORK/ro.rc")" 1
	grep -q "cannot write $WORK/ro/out.txt: Read-only file system" "$WORK/ro.err" \
		&& pass "read-only output dir: says which file and why" || fail "message: $(cat "$WORK/ro.err")"
	[ ! -e "$WORK/ro-started" ] && pass "read-only output dir: command not started" \
		|| fail "read-only output dir: the command ran without its report"
else
	echo "skip: full and read-only output disks need root and unshare -m"
fi

# ---------------------------------------------------------------- memtop killed
# memtop dies (SIGKILL, nothing to clean up with): the command runs on to
# its end; its segment, left behind, is removed by the next memtop run.
# Python stands in for init here (a child subreaper): the orphaned command
# comes to it, which reaps it at once and sees its exit status.
python3 - "$MEMTOP" "$PROGS/threads" "$WORK" > "$WORK/mk.result" <<'PY'
import ctypes, json, os, signal, subprocess, sys, time
memtop, threads, work = sys.argv[1:4]
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
with open(work + "/mk.out", "w") as out:
    m = subprocess.Popen([memtop, "--batch", "--json", "-d", "0.1", "-o", work + "/mk.json",
                          "--", threads, "3", "500", "2"], stdout=out)
def sampled():
    try:
        with open(work + "/mk.json") as f:
            lines = f.read().split("\n")[:-1]
    except OSError:
        return False
    return any(t["name"] == "worker-0" for l in lines for t in json.loads(l).get("threads") or [])
end = time.time() + 10
while not sampled() and time.time() < end:
    time.sleep(0.05)
print("sampled", sampled())
tpid = int(subprocess.run(["pgrep", "-P", str(m.pid)], capture_output=True, text=True).stdout.split()[0])
print("tpid", tpid)
os.kill(m.pid, signal.SIGKILL)
m.wait()
os.kill(tpid, 0)  # raises if it died with memtop
print("alive", True)
print("segment", os.path.exists("/dev/shm/memtop.%d" % tpid))
_, st = os.waitpid(tpid, 0)
print("status", os.waitstatus_to_exitcode(st))
PY
result() { sed -n "s/^$1 //p" "$WORK/mk.result"; }
tpid=$(result tpid)
check "memtop killed: a sample had the workers" "$(result sampled)" True
check "memtop killed: the command lives on" "$(result alive)" True
check "memtop killed: the command's exit status" "$(result status)" 0
check "memtop killed: the command ran to its end" "$(grep -c '^THREAD' "$WORK/mk.out")" 3
check "memtop killed: the lines written are whole JSON" "$(q "$WORK/mk.json" "len(samples) >= 1")" true
# While the command runs its segment stays (nothing may remove it); once
# it is gone, the next memtop run removes it (here or, the machine being
# shared, another test's run meanwhile).
check "memtop killed: the segment stays while the command runs" "$(result segment)" True
"$MEMTOP" --batch -o /dev/null -- true
[ ! -e "/dev/shm/memtop.$tpid" ] && pass "memtop killed: the next run removed the stale segment" \
	|| fail "memtop killed: stale segment memtop.$tpid kept"
finish
