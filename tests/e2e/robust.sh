#!/bin/sh
# robust.sh - memtop under adverse conditions: stale segments of dead
# processes are removed, a full /dev/shm leaves the target unharmed, and an
# unwritable output file is a clear error.
. "$(dirname "$0")/lib.sh"

# a stale segment: a dead pid, owned by us, mode 0600
sh -c 'exit 0' & dead=$!
wait $dead
python3 - "$dead" <<'PY'
import os, struct, sys
pid = int(sys.argv[1])
hdr = bytearray(4096)
struct.pack_into("<QIIIIQii", hdr, 0, 0x31504f544d454d00, 1, 4096, 2048, 16384, 4096, pid, 1)
fd = os.open(f"/dev/shm/memtop.{pid}", os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
os.write(fd, hdr); os.close(fd)
PY
"$MEMTOP" --batch -o /dev/null -- true
[ ! -e "/dev/shm/memtop.$dead" ] && pass "stale segment removed" || fail "stale segment kept"

"$MEMTOP" --batch -o /nonexistent-dir/out.json -- true 2> "$WORK/err"
check "unwritable output: exit 1" "$?" 1
grep -q "cannot write /nonexistent-dir/out.json" "$WORK/err" && pass "names the file" || fail "message: $(cat "$WORK/err")"

# A thread storm beyond the 16384 slots: the rest are pooled, totals exact.
"$MEMTOP" --batch --json -o "$WORK/storm.json" -- "$PROGS/storm" 17000 > /dev/null
check "storm exit status" "$?" 0
check "storm: threads seen" "$(q "$WORK/storm.json" "s['totals']['threads_seen']")" 17001
check "storm: overflow pool" "$(q "$WORK/storm.json" "s['overflow']['threads']")" $((17001 - 16384))
check "storm: every worker allocation counted" \
	"$(q "$WORK/storm.json" "s['totals']['allocs'] - s['threads'][0]['allocs']")" 170000

# /dev/shm full: only where we may mount a private tmpfs (root, unshare)
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	unshare -m sh -c "mount -t tmpfs -o size=8k tmpfs /dev/shm && \
		'$MEMTOP' --batch --json -o '$WORK/full.json' -- '$PROGS/tally' 50 > '$WORK/full.out' 2> '$WORK/full.err'"
	check "/dev/shm full: target's status" "$?" 0
	grep -q '^TALLY' "$WORK/full.out" && pass "/dev/shm full: target ran" || fail "target output missing"
	grep -q "memtop collector: cannot" "$WORK/full.err" && pass "/dev/shm full: collector says why" \
		|| fail "no collector message: $(cat "$WORK/full.err")"
	check "/dev/shm full: no figures invented" "$(q "$WORK/full.json" "s['totals'] is None")" true
else
	echo "skip: /dev/shm-full case needs root and unshare"
fi
finish
