#!/bin/sh
# attach-cycles.sh - 100 attach/detach cycles on one busy process (about
# 20 s): each one counts, none leaves a tracer or a second copy of the
# collector behind, and the process survives with its output intact
# (its workers check every block they free and balance allocs and frees).
. "$(dirname "$0")/lib.sh"

CYCLES=${ATTACH_CYCLES:-100}
# its own limit (MAX_SECONDS) well past the cycles: on a loaded machine
# with -j2 a cycle has taken over 1 s
"$PROGS/attachee" 3 900 > "$WORK/a.out" 2>&1 &
A=$!
trap 'kill -9 "$A" 2>/dev/null; rm -f "/dev/shm/memtop.$A"; rm -rf "$WORK"' EXIT
i=0
while ! grep -qs '^started' "$WORK/a.out"; do
	i=$((i + 1))
	[ "$i" -gt 250 ] && { fail "attachee did not start"; finish; exit 1; }
	sleep 0.02
done

bad_status=0 not_counted=0 not_attached=0
n=0
start=$(date +%s)
while [ "$n" -lt "$CYCLES" ]; do
	n=$((n + 1))
	"$MEMTOP" --force --attach "$A" --batch --json -d 0.05 --duration 0.1 -o "$WORK/c.json" \
		2>> "$WORK/c.err"
	[ "$?" -eq 0 ] || bad_status=$((bad_status + 1))
	case $(q "$WORK/c.json" "[s['totals']['allocs'] > 0, s['attached']]") in
	"[True, True]") ;;
	"[True, False]") not_attached=$((not_attached + 1)) ;;
	*) not_counted=$((not_counted + 1)) ;;
	esac
done
echo "# $CYCLES cycles in $(( $(date +%s) - start )) s"
check "cycles with memtop exit status 0" "$bad_status" 0
check "cycles that counted allocations" "$not_counted" 0
check "cycles reporting attached" "$not_attached" 0
check "memtop said nothing on stderr" "$(cat "$WORK/c.err")" ""
check "still running" "$(kill -0 "$A" 2>/dev/null && echo yes)" yes
check "not traced" "$(sed -n 's/^TracerPid:\t*//p' "/proc/$A/status")" 0
check "one collector loaded" \
	"$(awk '$6 ~ /libmemtop\.so/ { print $5 }' "/proc/$A/maps" | sort -u | wc -l | tr -d ' ')" 1
kill -TERM "$A"
wait "$A"
check "exit status" "$?" 0
check "output intact" "$(tail -n 1 "$WORK/a.out")" "errors=0"
check "allocs and frees balanced" "$(grep -c 'balanced=yes' "$WORK/a.out")" 1
finish
