#!/bin/sh
# attach.sh - memtop --attach PID on a program started without memtop:
# the collector is injected (ptrace + dlopen + GOT), every allocation made
# after the attach is counted exactly, thread names show, the program runs
# on unharmed after the detach and ends with its own output and status 0.
# Also: a program that already carries the collector is only read (no
# ptrace), and every refusal leaves the target untouched.
#
# Exactness: tests/progs/attachee pauses its workers on SIGUSR1 (they make
# no call at all until SIGUSR2) and prints what each worker did since the
# last resume.  memtop attaches while they are paused, they are resumed,
# paused again, and memtop detaches while they are paused: memtop's figures
# must equal that window's tallies exactly, not merely within bounds.
. "$(dirname "$0")/lib.sh"

ATT="$PROGS/attachee"
pids_to_kill=
trap 'for p in $pids_to_kill; do kill -9 "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT

# flags PID: the MT_FLAG_* word of /dev/shm/memtop.PID (-1: no segment)
flags() {
	python3 - "$1" <<'PY'
import struct, sys
try:
    with open("/dev/shm/memtop." + sys.argv[1], "rb") as f:
        h = f.read(48)
    print(struct.unpack_from("<I", h, 44)[0] if len(h) == 48 else -1)
except OSError:
    print(-1)
PY
}

# wait_for WHAT TIMEOUT_S CMD...: until CMD succeeds
wait_for() {
	what=$1 limit=$2
	shift 2
	i=0
	while ! "$@"; do
		i=$((i + 1))
		if [ "$i" -gt $((limit * 50)) ]; then
			fail "timed out waiting for $what"
			return 1
		fi
		sleep 0.02
	done
}

lines() { grep -c "^$2\$" "$1" 2>/dev/null || true; }
has_lines() { [ "$(lines "$1" "$2")" -ge "$3" ]; }
attached_now() { f=$(flags "$1"); [ "$f" -ge 0 ] && [ $((f & 4)) -ne 0 ] && [ $((f & 8)) -eq 0 ]; }
# attach_state PID: none (no segment), attached, detached, or plain (no attach)
attach_state() {
	f=$(flags "$1")
	if [ "$f" -lt 0 ]; then echo none
	elif [ $((f & 12)) -eq 12 ]; then echo detached
	elif [ $((f & 4)) -ne 0 ]; then echo attached
	else echo plain
	fi
}
tracer() { sed -n 's/^TracerPid:\t*//p' "/proc/$1/status"; }
maps_count() { grep -c "$2" "/proc/$1/maps" | tr -d ' '; }
collector_objects() {
	# distinct files named libmemtop.so mapped (a second load would add one)
	awk '$6 ~ /libmemtop\.so/ { print $5 }' "/proc/$1/maps" | sort -u | wc -l | tr -d ' '
}

# ------------------------------------------------------------- injection, exact window
"$ATT" 3 > "$WORK/a.out" 2>&1 &
A=$!
pids_to_kill="$pids_to_kill $A"
wait_for "attachee start" 5 grep -qs '^started' "$WORK/a.out"
sleep 0.3   # blocks allocated now are freed inside the window: counted as frees
kill -USR1 "$A"
wait_for "first pause" 5 has_lines "$WORK/a.out" paused 1
check "no collector before the attach" "$(maps_count "$A" libmemtop)" 0
"$MEMTOP" --force --attach "$A" --batch --json -d 0.5 --duration 3 -o "$WORK/a.json" 2> "$WORK/a.err" &
M=$!
wait_for "the attach" 10 attached_now "$A"
kill -USR2 "$A"
wait_for "resume" 5 has_lines "$WORK/a.out" resumed 1
sleep 1
kill -USR1 "$A"
wait_for "second pause" 5 has_lines "$WORK/a.out" paused 2
wait "$M"
check "memtop exit status after --duration" "$?" 0
check "memtop said nothing on stderr" "$(cat "$WORK/a.err")" ""
check "detached: flags" "$(attach_state "$A")" detached
check "no tracer left" "$(tracer "$A")" 0
check "collector loaded once" "$(collector_objects "$A")" 1
check "summary says attached" "$(q "$WORK/a.json" "s['attached']")" true
check "no exit_status for a process that runs on" "$(q "$WORK/a.json" "'exit_status' in s")" false
check "samples while attached" "$(q "$WORK/a.json" "len(samples) >= 3")" true
# the window: the last block of window lines (printed at the second pause)
tail -n 5 "$WORK/a.out" | grep '^window' > "$WORK/window"
check "window lines" "$(wc -l < "$WORK/window" | tr -d ' ')" 3
while read -r tag name allocs frees reallocs bytes; do
	name=${name#name=}
	check "$name allocs = its own tally" \
		"$(q "$WORK/a.json" "thread(s, '$name')['allocs']")" "${allocs#allocs=}"
	check "$name frees" "$(q "$WORK/a.json" "thread(s, '$name')['frees']")" "${frees#frees=}"
	check "$name reallocs" "$(q "$WORK/a.json" "thread(s, '$name')['reallocs']")" \
		"${reallocs#reallocs=}"
	check "$name bytes" "$(q "$WORK/a.json" "thread(s, '$name')['bytes_allocated']")" \
		"${bytes#bytes=}"
done < "$WORK/window"
check "window was busy" "$(awk '{ sub("allocs=", "", $3); n += $3 } END { print (n > 1000) }' "$WORK/window")" 1
# Re-attach (the library is loaded, detached): figures start again from zero.
kill -USR2 "$A"
wait_for "resume" 5 has_lines "$WORK/a.out" resumed 2
"$MEMTOP" --force --attach "$A" --batch -d 0.2 --duration 0.6 > "$WORK/text.out" 2> "$WORK/text.err"
check "re-attach exit status" "$?" 0
check "text report says the figures are since attach" \
	"$(grep -c '^Attach: ' "$WORK/text.out" | awk '{ print ($1 > 0) }')" 1
check "re-attach: the thread rows" "$(grep -c ' worker-[0-2] ' "$WORK/text.out" | awk '{ print ($1 >= 3) }')" 1
check "re-attach: still one collector" "$(collector_objects "$A")" 1
# sampling parameters travel with each attach: off, then on again
"$MEMTOP" --force --attach "$A" --batch --json --no-stacks -d 0.2 --duration 0.4 -o "$WORK/ns.json"
check "--no-stacks after attach: no stacks" "$(q "$WORK/ns.json" "s['top_stacks']")" None
"$MEMTOP" --force --attach "$A" --batch --json -d 0.2 --duration 0.8 -o "$WORK/st.json"
check "stacks again after a --no-stacks attach" "$(q "$WORK/st.json" "len(s['top_stacks']) > 0")" true
"$MEMTOP" --force --attach "$A" --batch -d 0.2 --duration 0.4 -e "$WORK/a.html" > /dev/null 2> "$WORK/html.err"
check "--export after attach: exit status" "$?" 0
check "--export after attach: the report says attached" \
	"$(grep -c '"attached":true' "$WORK/a.html" | awk '{ print ($1 > 0) }')" 1
check "re-attach: no tracer left" "$(tracer "$A")" 0
kill -TERM "$A"
wait "$A"
check "attachee exit status" "$?" 0
check "attachee output intact" "$(tail -n 1 "$WORK/a.out")" "errors=0"
check "attachee balanced" "$(grep -c 'balanced=yes' "$WORK/a.out")" 1
rm -f "/dev/shm/memtop.$A"

# ------------------------------------------------------------- a library loaded after the attach
# Its GOT is redirected at the next publication of any thread (one interval
# at most); the module then allocates 0.6 s after its dlopen.
"$ATT" 2 60 "$PROGS/.libs/dlmod.so" > "$WORK/l.out" 2>&1 &
L=$!
pids_to_kill="$pids_to_kill $L"
wait_for "attachee start" 5 grep -qs '^started' "$WORK/l.out"
"$MEMTOP" --force --attach "$L" --batch --json -d 0.1 --duration 1.5 -o "$WORK/l.json" 2> "$WORK/l.err" &
M=$!
wait_for "the attach" 10 attached_now "$L"
kill -HUP "$L"
wait "$M"
check "late library: memtop exit status" "$?" 0
check "late library: the module worked" "$(grep -c '^late work=1000$' "$WORK/l.out")" 1
check "late library: its allocations counted" "$(q "$WORK/l.json" "thread(s, 'dl-late')['allocs']")" 1000
check "late library: and its frees" "$(q "$WORK/l.json" "thread(s, 'dl-late')['frees']")" 1000
kill -TERM "$L"
wait "$L"
check "late library: attachee exit status" "$?" 0
rm -f "/dev/shm/memtop.$L"

# ------------------------------------------------------------- --trace after attach
# The collector starts the trace before it redirects the GOT and stops it
# after restoring it; with the workers paused at both ends, the trace holds
# exactly the events the live counters counted.
"$ATT" 2 > "$WORK/tr.out" 2>&1 &
TA=$!
pids_to_kill="$pids_to_kill $TA"
wait_for "attachee start" 5 grep -qs '^started' "$WORK/tr.out"
kill -USR1 "$TA"
wait_for "pause" 5 has_lines "$WORK/tr.out" paused 1
"$MEMTOP" --force --attach "$TA" --batch --json -d 0.5 --duration 2 -o "$WORK/tr.json" \
	--trace "$WORK/tr" 2> "$WORK/tr.err" &
M=$!
wait_for "the attach" 10 attached_now "$TA"
kill -USR2 "$TA"
wait_for "resume" 5 has_lines "$WORK/tr.out" resumed 1
sleep 0.7
kill -USR1 "$TA"
wait_for "second pause" 5 has_lines "$WORK/tr.out" paused 2
wait "$M"
check "--trace after attach: memtop exit status" "$?" 0
check "--trace after attach: trace written" "$(grep -c 'trace written to' "$WORK/tr.err")" 1
"$MEMTOP" report --json "$WORK/tr" > "$WORK/tr-report.json" 2> /dev/null
check "--trace after attach: report exit status" "$?" 0
check "--trace after attach: something counted" "$(q "$WORK/tr.json" "s['totals']['allocs'] > 0")" true
for k in allocs frees reallocs bytes_allocated; do
	check "--trace after attach: report $k = live $k" \
		"$(q "$WORK/tr-report.json" "s['totals']['$k']")" "$(q "$WORK/tr.json" "s['totals']['$k']")"
done
kill -TERM "$TA"
wait "$TA"
check "--trace after attach: attachee exit status" "$?" 0
rm -f "/dev/shm/memtop.$TA"

# ------------------------------------------------------------- signals to memtop, memtop killed
"$ATT" 2 > "$WORK/s.out" 2>&1 &
G=$!
pids_to_kill="$pids_to_kill $G"
wait_for "attachee start" 5 grep -qs '^started' "$WORK/s.out"
# A background command of a script starts with SIGINT and SIGQUIT ignored,
# under nohup SIGHUP too, and memtop leaves an ignored signal ignored (as
# nohup wants): give them the default disposition back where env can.
sigs="TERM"
default_int=
if env --default-signal=INT,HUP true 2> /dev/null; then
	sigs="$sigs HUP INT"
	default_int=--default-signal=INT,HUP
else
	echo "SKIP: SIGHUP and SIGINT to memtop (this env cannot reset an ignored signal)"
fi
for sig in $sigs; do
	env $default_int "$MEMTOP" --force --attach "$G" --batch --json -d 0.2 -o "$WORK/s.json" \
		2> "$WORK/s.err" &
	M=$!
	wait_for "the attach" 10 attached_now "$G"
	sleep 0.3
	kill -"$sig" "$M"
	wait "$M"
	check "SIG$sig to memtop: exit status" "$?" 0
	check "SIG$sig to memtop: detached" "$(attach_state "$G")" detached
	check "SIG$sig to memtop: summary written" "$(q "$WORK/s.json" "s['attached'] and s['totals']['allocs'] > 0")" true
done
# memtop killed outright stays attached; the next memtop detaches first,
# then attaches afresh
"$MEMTOP" --force --attach "$G" --batch -d 0.2 -o /dev/null 2> "$WORK/s.err" &
M=$!
wait_for "the attach" 10 attached_now "$G"
kill -KILL "$M"
wait "$M" 2> /dev/null
check "memtop killed: still attached" "$(attach_state "$G")" attached
"$MEMTOP" --force --attach "$G" --batch --json -d 0.2 --duration 0.5 -o "$WORK/s.json" 2> "$WORK/s.err"
check "after a killed memtop: attach again" "$?" 0
check "after a killed memtop: counted" "$(q "$WORK/s.json" "thread(s, 'worker-0')['allocs'] > 0")" true
check "after a killed memtop: detached" "$(attach_state "$G")" detached
check "after a killed memtop: one collector" "$(collector_objects "$G")" 1
kill -TERM "$G"
wait "$G"
check "signals: attachee exit status" "$?" 0
check "signals: attachee output intact" "$(tail -n 1 "$WORK/s.out")" "errors=0"
rm -f "/dev/shm/memtop.$G"

# ------------------------------------------------------------- the viewer: q detaches
if command -v tmux > /dev/null 2>&1; then
	"$ATT" 2 > "$WORK/v.out" 2>&1 &
	V=$!
	pids_to_kill="$pids_to_kill $V"
	wait_for "attachee start" 5 grep -qs '^started' "$WORK/v.out"
	SOCK="memtop-attach-$$"
	tmux -L "$SOCK" new-session -d -x 120 -y 40 \
		"'$MEMTOP' --attach $V -d 0.3 2> '$WORK/v.err'; echo memtop-exit=\$? > '$WORK/v.exit'; sleep 30"
	shows() { tmux -L "$SOCK" capture-pane -p | grep -q -- "$1"; }
	wait_for "the viewer's thread cards" 10 shows worker-1
	check "viewer: attached" "$(attach_state "$V")" attached
	tmux -L "$SOCK" send-keys q
	wait_for "memtop to leave" 10 test -s "$WORK/v.exit"
	check "viewer: q, exit status" "$(cat "$WORK/v.exit")" memtop-exit=0
	check "viewer: q detached" "$(attach_state "$V")" detached
	check "viewer: says so" "$(grep -c 'stopped watching (q); pid [0-9]* runs on, detached' "$WORK/v.err")" 1
	check "viewer: no tracer left" "$(tracer "$V")" 0
	tmux -L "$SOCK" kill-server 2> /dev/null
	kill -TERM "$V"
	wait "$V"
	check "viewer: attachee exit status" "$?" 0
	rm -f "/dev/shm/memtop.$V"
else
	echo "SKIP: the viewer (tmux is not installed)"
fi

# ------------------------------------------------------------- the process ends while watched
"$ATT" 2 > "$WORK/e.out" 2>&1 &
E=$!
pids_to_kill="$pids_to_kill $E"
wait_for "attachee start" 5 grep -qs '^started' "$WORK/e.out"
"$MEMTOP" --force --attach "$E" --batch --json -d 0.2 -o "$WORK/e.json" 2> "$WORK/e.err" &
M=$!
wait_for "the attach" 10 attached_now "$E"
sleep 0.5
kill -TERM "$E"
wait "$M"
check "memtop exit status when the process ends" "$?" 0
wait "$E"
check "attachee exit status" "$?" 0
check "ended" "$(q "$WORK/e.json" "s['end'].startswith('ended')")" true
check "no made-up exit_status" "$(q "$WORK/e.json" "'exit_status' in s")" false
check "its allocations counted" "$(q "$WORK/e.json" "s['totals']['allocs'] > 100")" true
check "its segment removed" "$(flags "$E")" -1

# ------------------------------------------------------------- already carries the collector
COLL="$top_builddir/preload/.libs/libmemtop.so"
env -u MEMTOP_SESSION LD_PRELOAD="$COLL" "$ATT" 2 > "$WORK/p.out" 2>&1 &
P=$!
pids_to_kill="$pids_to_kill $P"
wait_for "preloaded start" 5 grep -qs '^started' "$WORK/p.out"
wait_for "its segment" 5 test -e "/dev/shm/memtop.$P"
"$MEMTOP" --force --attach "$P" --batch --json -d 0.2 --duration 1 -o "$WORK/p.json" 2> "$WORK/p.err" &
M=$!
max=0
while kill -0 "$M" 2>/dev/null; do
	t=$(tracer "$P")
	[ "${t:-0}" -gt "$max" ] && max=$t
	sleep 0.01
done
wait "$M"
check "read-only attach exit status" "$?" 0
check "read-only attach: never traced" "$max" 0
check "read-only attach: nothing injected" "$(attach_state "$P")" plain
check "read-only attach: not 'attached' (figures since start)" "$(q "$WORK/p.json" "s['attached']")" false
check "read-only attach: counted" "$(q "$WORK/p.json" "thread(s, 'worker-0')['allocs'] > 100")" true
kill -TERM "$P"
wait "$P"
check "preloaded attachee exit status" "$?" 0
rm -f "/dev/shm/memtop.$P"

# ------------------------------------------------------------- refusals: message, exit 1, target untouched
untouched() {  # untouched NAME PID
	check "$1: target still runs" "$(kill -0 "$2" 2>/dev/null && echo yes)" yes
	check "$1: not traced" "$(tracer "$2")" 0
	check "$1: no collector" "$(maps_count "$2" libmemtop)" 0
}

sh -c 'exit 0' &
gone=$!
wait "$gone"
"$MEMTOP" --force --attach "$gone" --batch > /dev/null 2> "$WORK/r.err"
check "no such pid: exit status" "$?" 1
check "no such pid: message" "$(grep -c "no such process" "$WORK/r.err")" 1

"$PROGS/static_exit" 30 &
S=$!
pids_to_kill="$pids_to_kill $S"
sleep 0.2
"$MEMTOP" --force --attach "$S" --batch > /dev/null 2> "$WORK/r.err"
check "static: exit status" "$?" 1
check "static: message" "$(grep -c "statically linked" "$WORK/r.err")" 1
check "static: one line" "$(wc -l < "$WORK/r.err" | tr -d ' ')" 1
untouched static "$S"
kill "$S"

sh -c "sleep 0.1 & echo \$! > '$WORK/zpid'; exec sleep 30" &
Z=$!
pids_to_kill="$pids_to_kill $Z"
sleep 0.5
zombie=$(cat "$WORK/zpid")
check "zombie made" "$(sed -n 's/^State:\t*\(.\).*/\1/p' "/proc/$zombie/status")" Z
"$MEMTOP" --force --attach "$zombie" --batch > /dev/null 2> "$WORK/r.err"
check "zombie: exit status" "$?" 1
check "zombie: message" "$(grep -c "zombie" "$WORK/r.err")" 1
kill "$Z"

"$ATT" 1 > "$WORK/t.out" 2>&1 &
T=$!
pids_to_kill="$pids_to_kill $T"
wait_for "attachee start" 5 grep -qs '^started' "$WORK/t.out"
if command -v strace > /dev/null; then
	strace -p "$T" -o /dev/null 2> /dev/null &
	ST=$!
	pids_to_kill="$pids_to_kill $ST"
	wait_for "strace" 5 sh -c "[ \"\$(sed -n 's/^TracerPid:\t*//p' /proc/$T/status)\" != 0 ]"
	"$MEMTOP" --force --attach "$T" --batch > /dev/null 2> "$WORK/r.err"
	check "traced: exit status" "$?" 1
	check "traced: message" "$(grep -c "already traced by pid $ST" "$WORK/r.err")" 1
	check "traced: no collector" "$(maps_count "$T" libmemtop)" 0
	kill "$ST"
	wait "$ST" 2>/dev/null
	wait_for "strace gone" 5 sh -c "[ \"\$(sed -n 's/^TracerPid:\t*//p' /proc/$T/status)\" = 0 ]"
else
	echo "SKIP: already traced (no strace)"
fi

if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$MEMTOP" --force --attach "$T" --batch > /dev/null 2> "$WORK/r.err"
	check "other user: exit status" "$?" 1
	check "other user: message" "$(grep -c "belongs to root (uid 0).*without CAP_SYS_PTRACE" "$WORK/r.err")" 1
	untouched "other user" "$T"
else
	echo "SKIP: another user's process (needs root and setpriv)"
fi

worker=$(ls "/proc/$T/task" | grep -v "^$T\$" | head -n 1)
"$MEMTOP" --force --attach "$worker" --batch > /dev/null 2> "$WORK/r.err"
check "a thread id: exit status" "$?" 1
check "a thread id: message" "$(grep -c "that is a thread of process $T" "$WORK/r.err")" 1
untouched "a thread id" "$T"
"$MEMTOP" --force --attach "$T" --batch -e "$WORK/no/such/dir/r.html" > /dev/null 2> "$WORK/r.err"
check "--export into a missing directory: exit status" "$?" 1
untouched "--export into a missing directory" "$T"

"$MEMTOP" --force --attach "$T" < /dev/null > /dev/null 2> "$WORK/r.err"
check "viewer without a terminal: exit status" "$?" 1
check "viewer without a terminal: message" "$(grep -c -- "use --batch" "$WORK/r.err")" 1
untouched "viewer without a terminal" "$T"

# A mount namespace where the collector's directory is hidden.
if [ "$(id -u)" = 0 ] && unshare --mount --propagation private true 2> /dev/null; then
	libs="$top_builddir/preload/.libs"
	unshare --mount --propagation private sh -c \
		"mount -t tmpfs none '$libs' && exec '$ATT' 1" > "$WORK/n.out" 2>&1 &
	N=$!
	pids_to_kill="$pids_to_kill $N"
	wait_for "namespaced attachee" 5 grep -qs '^started' "$WORK/n.out"
	N=$(sed -n 's/^started pid=\([0-9]*\).*/\1/p' "$WORK/n.out")
	pids_to_kill="$pids_to_kill $N"
	"$MEMTOP" --force --attach "$N" --batch > /dev/null 2> "$WORK/r.err"
	check "mount namespace: exit status" "$?" 1
	check "mount namespace: message" "$(grep -c "cannot see the collector" "$WORK/r.err")" 1
	untouched "mount namespace" "$N"
	kill "$N"
else
	echo "SKIP: mount namespace (unshare not permitted here)"
fi

# A process that used a second of CPU before the attach and then sleeps,
# its argv rewritten in place and padded with NULs (setproctitle): the
# session's CPU % counts from the attach, and the command is its title.
"$PROGS/proctitle" 1 pad pad pad pad pad pad pad pad > "$WORK/pt.out" 2>&1 &
PT=$!
pids_to_kill="$pids_to_kill $PT"
wait_for "proctitle start" 10 grep -qs '^started' "$WORK/pt.out"
"$MEMTOP" --force --attach "$PT" --batch --json -d 0.5 --duration 1 -o "$WORK/pt.json" 2> "$WORK/pt.err"
check "proctitle: exit status" "$?" 0
check "proctitle: command is the rewritten title" "$(q "$WORK/pt.json" "s['command']")" "proctitle main"
check "proctitle: CPU % of the window, not of its life" \
	"$(q "$WORK/pt.json" "s['process']['cpu_percent'] is not None and s['process']['cpu_percent'] < 50")" true
kill "$PT"

kill -TERM "$T"
wait "$T"
check "traced-then-released attachee exit status" "$?" 0
rm -f "/dev/shm/memtop.$T"
finish
