#!/bin/sh
# attach-kill.sh - memtop --attach ended at a random moment 0-80 ms after it
# starts (SIGKILL, SIGINT, SIGTERM: while it injects the collector into a
# fresh target, patches the GOT, watches, or detaches again) never harms
# its target.  Each target (tests/progs/grinder: 4 threads in malloc loops,
# with handlers that report any fault) must still run, unfaulted and
# untraced, its loop still progressing, and a last attach must count its
# allocations.  make check runs 8 targets x 5 kills (about a minute); the
# full series is ATTACH_KILL_TARGETS=20 (x 5 kills: about 3 minutes on a
# loaded 2-core machine).  ATTACH_KILL_SEED replays a plan.
. "$(dirname "$0")/lib.sh"

TARGETS=${ATTACH_KILL_TARGETS:-8}
KILLS=${ATTACH_KILL_KILLS:-5}
SEED=${ATTACH_KILL_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "# $TARGETS targets x $KILLS kills, seed $SEED"
# one line per kill: delay (s), signal (mostly SIGKILL: memtop holds
# SIGINT and SIGTERM back while it has a thread borrowed), --duration
# (short ones detach within the window)
python3 -c "
import random
r = random.Random($SEED)
for i in range($TARGETS * $KILLS):
    print('%.3f %s %s' % (r.uniform(0, 0.08),
                          ('KILL', 'KILL', 'INT', 'KILL', 'KILL', 'TERM')[i % 6],
                          r.choice(('0.02', '0.05', '5'))))
" > "$WORK/plan"

T=
trap '[ -n "$T" ] && kill -9 "$T" 2>/dev/null; rm -rf "$WORK"' EXIT

# alive PID: running (a dead child of ours stays a zombie until waited for)
alive() {
	[ -r "/proc/$1/stat" ] && ! sed 's/.*) //' "/proc/$1/stat" | grep -q '^[ZX]'
}

last_rounds() { sed -n 's/^rounds //p' "$1" | tail -n 1; }

dead=0 faulted=0 stalled=0 traced=0 bad_final=0 kills=0
line=0
t=0
start=$(date +%s)
while [ "$t" -lt "$TARGETS" ]; do
	t=$((t + 1))
	"$PROGS/grinder" 4 > "$WORK/g.out" 2> "$WORK/g.err" &
	T=$!
	i=0
	while ! grep -qs '^started' "$WORK/g.out"; do
		i=$((i + 1))
		[ "$i" -gt 250 ] && { fail "grinder did not start"; finish; exit 1; }
		sleep 0.02
	done
	k=0
	while [ "$k" -lt "$KILLS" ]; do
		k=$((k + 1))
		line=$((line + 1))
		set -- $(sed -n "${line}p" "$WORK/plan")
		"$MEMTOP" --force --attach "$T" --batch --json -d 0.05 --duration "$3" \
			-o "$WORK/k.json" 2>> "$WORK/k.err" &
		M=$!
		sleep "$1"
		kill -"$2" "$M" 2>/dev/null
		{ wait "$M"; } 2>/dev/null
		kills=$((kills + 1))
		if ! alive "$T"; then
			wait "$T"
			echo "# target $t died (status $?) at kill $k (SIG$2 after $1 s)"
			dead=$((dead + 1))
			break
		fi
	done
	if alive "$T"; then
		# a thread memtop left in a call's end comes back within 0.25 s
		sleep 0.3
		a=$(last_rounds "$WORK/g.out")
		sleep 0.2
		b=$(last_rounds "$WORK/g.out")
		[ -n "$a" ] && [ -n "$b" ] && [ "$b" -gt "$a" ] || {
			stalled=$((stalled + 1)); echo "# target $t: rounds $a then $b"; }
		[ "$(sed -n 's/^TracerPid:\t*//p' "/proc/$T/status")" = 0 ] || traced=$((traced + 1))
		"$MEMTOP" --force --attach "$T" --batch --json -d 0.1 --duration 0.3 \
			-o "$WORK/f.json" 2>> "$WORK/f.err"
		st=$?
		r=$(q "$WORK/f.json" "[s['totals']['allocs'] > 0, s['attached']]" 2>/dev/null)
		[ "$st" -eq 0 ] && [ "$r" = "[True, True]" ] || {
			bad_final=$((bad_final + 1)); echo "# target $t: last attach status $st, $r"
			tail -n 1 "$WORK/f.json" | cut -c1-400; }
		alive "$T" || { dead=$((dead + 1)); echo "# target $t died at the last attach"; }
		kill -9 "$T" 2>/dev/null
		wait "$T" 2>/dev/null
	fi
	grep -q FAULT "$WORK/g.err" && { faulted=$((faulted + 1)); cat "$WORK/g.err"; }
	rm -f "/dev/shm/memtop.$T"
	T=
done
echo "# $kills kills in $(( $(date +%s) - start )) s"

# The state a memtop killed between loading the collector and starting it
# leaves: loaded, never attached.  The next attach must start it, not take
# it for a preloaded collector and read a segment nothing counts into.
python3 -c "
import ctypes, sys, time
ctypes.CDLL(sys.argv[1])
print('loaded', flush=True)
end = time.time() + 60
while time.time() < end:
    x = [bytearray(100 + i) for i in range(200)]
    time.sleep(0.001)
" "$top_builddir/preload/.libs/libmemtop.so" > "$WORK/late.out" &
T=$!
i=0
while ! grep -qs '^loaded' "$WORK/late.out" && [ "$i" -lt 250 ]; do i=$((i + 1)); sleep 0.02; done
"$MEMTOP" --force --attach "$T" --batch --json -d 0.2 --duration 0.5 -o "$WORK/late.json" 2>&1
check "collector loaded but never started: attach counts" \
	"$(q "$WORK/late.json" "[s['attached'], s['totals']['allocs'] > 0]")" "[True, True]"
kill "$T"
{ wait "$T"; } 2>/dev/null
rm -f "/dev/shm/memtop.$T"
T=
if [ -s "$WORK/k.err" ]; then
	echo "# what the killed memtops said:"
	sed 's/[0-9][0-9]*/N/g' "$WORK/k.err" | sort | uniq -c | sed 's/^/#  /'
fi
check "targets dead" "$dead" 0
check "targets that reported a fault" "$faulted" 0
check "targets whose loop stopped" "$stalled" 0
check "targets left traced" "$traced" 0
check "last attaches that did not count" "$bad_final" 0
check "last attaches silent on stderr" "$(cat "$WORK/f.err")" ""
finish
