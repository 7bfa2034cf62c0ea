#!/bin/sh
# robust.sh - memtop under adverse conditions: stale segments of dead
# processes are removed, a /dev/shm full from the start (also with --trace)
# or filling up during the run leaves the target unharmed and memtop says
# why, and an unwritable output file is a clear error.
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
	# A target that lives long enough for memtop to look at its maps: the
	# collector is there, so memtop blames /dev/shm, not a static binary.
	unshare -m sh -c "mount -t tmpfs -o size=8k tmpfs /dev/shm && \
		'$MEMTOP' --batch --json -o '$WORK/fail.json' -- sh -c 'sleep 0.5; exit 3' \
		> '$WORK/fail.out' 2> '$WORK/fail.err'"
	check "/dev/shm full, 0.5 s target: its status" "$?" 3
	check "/dev/shm full, 0.5 s target: collector failed, not absent" \
		"$(q "$WORK/fail.json" "s['collector']")" failed
	grep -q "could not set up its shared memory" "$WORK/fail.err" &&
		! grep -q "statically linked" "$WORK/fail.err" &&
		pass "/dev/shm full, 0.5 s target: memtop says the collector could not set up" ||
		fail "memtop's message: $(cat "$WORK/fail.err")"
	# --trace: memtop's own clock page (4 KiB) finds no room either; it
	# used to be sized sparse and killed memtop with SIGBUS when written
	unshare -m sh -c "mount -t tmpfs -o size=4k tmpfs /dev/shm && \
		dd if=/dev/zero of=/dev/shm/fill bs=4k count=1 2> /dev/null && \
		'$MEMTOP' --batch -o /dev/null --trace '$WORK/full.trace' -- '$PROGS/tally' 50 \
		> '$WORK/full-trace.out' 2> '$WORK/full-trace.err'"
	check "/dev/shm full, --trace: memtop ends with the target's status" "$?" 0
	grep -q '^TALLY' "$WORK/full-trace.out" && pass "/dev/shm full, --trace: target ran" \
		|| fail "target output missing: $(cat "$WORK/full-trace.err")"
	grep -q "memtop collector: cannot .*No space left on device" "$WORK/full-trace.err" \
		&& pass "/dev/shm full, --trace: collector says why" \
		|| fail "no collector message: $(cat "$WORK/full-trace.err")"
else
	echo "skip: /dev/shm-full case needs root and unshare"
fi

# /dev/shm fills up during the run: room for the header (64 KiB) and the
# first chunk of 64 slots (128 KiB), nothing more.  horde's 100 workers are
# all alive at once: main and 63 workers get slots, the other 37 cannot (not
# the slot capacity: the file cannot grow).  Every allocation is sampled, so
# each of the 64 asks for a stack area at once, and finds no room either.
# The target runs as bare, every allocation is counted (the 37 in the
# overflow pool), and memtop says why, on one line.
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	"$PROGS/horde" 100 0 > "$WORK/bare.out" 2> "$WORK/bare.err"
	bare_status=$?
	for fmt in json text; do
		opt=; [ $fmt = json ] && opt=--json
		unshare -m sh -c "mount -t tmpfs -o size=192k tmpfs /dev/shm && \
			'$MEMTOP' --batch $opt --sample-small 1 -o '$WORK/fills.$fmt' -- '$PROGS/horde' 100 0 \
			> '$WORK/fills.$fmt.out' 2> '$WORK/fills.$fmt.err'"
		check "/dev/shm fills ($fmt): target's status as bare" "$?" "$bare_status"
		cmp -s "$WORK/bare.out" "$WORK/fills.$fmt.out" && pass "/dev/shm fills ($fmt): same output" \
			|| fail "/dev/shm fills ($fmt): output $(cat "$WORK/fills.$fmt.out")"
		grep -q "^memtop: pid [0-9]*: /dev/shm is full (No space left on device): 37 threads got no slot of their own (their allocations are still counted, pooled in the overflow figures); 64 threads could not sample call stacks (the stack estimates leave them out); free space in /dev/shm or make it bigger (mount -o remount,size=SIZE /dev/shm)\$" \
			"$WORK/fills.$fmt.err" && pass "/dev/shm fills ($fmt): memtop says why, once" \
			|| fail "/dev/shm fills ($fmt): stderr: $(cat "$WORK/fills.$fmt.err")"
		check "/dev/shm fills ($fmt): stderr is that line only" "$(wc -l < "$WORK/fills.$fmt.err")" 1
	done
	check "/dev/shm fills: bare status" "$bare_status" 0
	grep -q "^HORDE threads=100 alive_at_once=100 allocs_each=10 frees_each=10\$" "$WORK/bare.out" \
		&& pass "/dev/shm fills: horde's own tally" || fail "horde printed $(cat "$WORK/bare.out")"
	f="$WORK/fills.json"
	check "/dev/shm fills: threads seen" "$(q "$f" "s['totals']['threads_seen']")" 101
	check "/dev/shm fills: workers with a slot" \
		"$(q "$f" "sum(1 for t in s['threads'] if t['name'].startswith('h-'))")" 63
	check "/dev/shm fills: pooled threads" "$(q "$f" "s['overflow']['threads']")" 37
	check "/dev/shm fills: pooled for want of room" "$(q "$f" "s['overflow']['no_room']")" 37
	check "/dev/shm fills: none beyond the capacity" "$(q "$f" "s['overflow']['beyond_capacity']")" 0
	check "/dev/shm fills: the reason" "$(q "$f" "s['overflow']['no_room_reason']")" \
		"/dev/shm is full (No space left on device)"
	for k in allocs frees; do
		check "/dev/shm fills: every worker's $k counted (10 each)" \
			"$(q "$f" "sum(t['$k'] for t in s['threads'] if t['name'].startswith('h-')) + s['overflow']['$k']")" 1000
	done
	check "/dev/shm fills: every worker's bytes counted (100 each)" \
		"$(q "$f" "sum(t['bytes_allocated'] for t in s['threads'] if t['name'].startswith('h-')) + s['overflow']['bytes_allocated']")" 100000
	check "/dev/shm fills: the summary says why" \
		"$(grep -c "^  overflow: 37 threads without a slot because /dev/shm is full (No space left on device), 370 allocs pooled\$" "$WORK/fills.text")" 1
	check "/dev/shm fills: not as the slot capacity" "$(grep -c "beyond the slot capacity" "$WORK/fills.text")" 0
	check "/dev/shm fills: threads that could not sample" "$(q "$f" "s['sampling']['no_room_threads']")" 64
	check "/dev/shm fills: why they could not" "$(q "$f" "s['sampling']['no_room_reason']")" \
		"/dev/shm is full (No space left on device)"
	check "/dev/shm fills: no stack invented" "$(q "$f" "len(s['top_stacks'])")" 0
	check "/dev/shm fills: the text summary on stacks" \
		"$(grep -c "^Stacks:  64 threads not sampled because /dev/shm is full (No space left on device)\$" "$WORK/fills.text")" 1
else
	echo "skip: /dev/shm-fills-during-the-run case needs root and unshare"
fi
finish
