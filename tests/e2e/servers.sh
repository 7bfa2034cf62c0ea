#!/bin/sh
# servers.sh - real multi-threaded servers under memtop --batch, loaded on
# loopback by their own benchmark tools: redis-server with redis-benchmark,
# memcached with memcslap.  Each server must keep answering correctly,
# memtop must count its allocations (and its threads'), and SIGTERM sent to
# memtop must reach the server, which shuts down cleanly with status 0.
# Run by `make check-servers` (about 15 s); needs redis-server, redis-tools,
# memcached and libmemcached-tools (contrib/install-deps.sh).
. "$(dirname "$0")/lib.sh"

MPID=
trap '[ -n "$MPID" ] && kill -TERM $MPID 2>/dev/null; sleep 0.5; [ -n "$MPID" ] && kill -KILL $MPID 2>/dev/null; rm -rf "$WORK"' EXIT

# a free TCP port on 127.0.0.1 (the kernel picks it)
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# until SECONDS CMD...: retry CMD every 0.1 s for at most SECONDS
until_ok() {
	n=$(($1 * 10)); shift
	while [ $n -gt 0 ]; do
		"$@" > /dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# stop NAME: SIGTERM to memtop, which forwards it; wait at most 20 s
stop() {
	kill -TERM $MPID
	n=200
	while kill -0 $MPID 2>/dev/null && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
	if kill -0 $MPID 2>/dev/null; then
		fail "$1: still running 20 s after SIGTERM"
		kill -KILL $MPID
	fi
	wait $MPID
	rc=$?
	MPID=
	return $rc
}

missing=
for tool in redis-server redis-benchmark redis-cli memcached memcslap; do
	command -v $tool > /dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	fail "not installed:$missing (run contrib/install-deps.sh)"
	finish
	exit
fi

# ---------------------------------------------------------------- redis
port=$(free_port)
"$MEMTOP" --batch --json -d 0.5 -o "$WORK/redis.json" -- redis-server --port "$port" \
	--bind 127.0.0.1 --save '' --appendonly no --io-threads 3 --io-threads-do-reads yes \
	--dir "$WORK" --logfile "$WORK/redis.log" > "$WORK/redis.out" 2> "$WORK/redis.err" &
MPID=$!
rping() { [ "$(redis-cli -p "$port" ping)" = PONG ]; }
if until_ok 10 rping; then
	pass "redis: answers under memtop"
	timeout 120 redis-benchmark -h 127.0.0.1 -p "$port" -n 20000 -c 50 --threads 2 -d 100 \
		-t set,get,lpush,lpop -q > "$WORK/bench.out" 2>&1
	check "redis-benchmark: exit status" "$?" 0
	check "redis-benchmark: four tests reported" \
		"$(tr '\r' '\n' < "$WORK/bench.out" | grep -c 'requests per second')" 4
	check "redis: still answers after the load" "$(redis-cli -p "$port" set greeting hello) \
$(redis-cli -p "$port" get greeting) $(redis-cli -p "$port" llen mylist)" "OK hello 0"
	check "redis: the benchmark's keys are there" "$(redis-cli -p "$port" exists key:__rand_int__)" 1
else
	fail "redis: no PONG within 10 s: $(tail -3 "$WORK/redis.log" "$WORK/redis.err" 2>/dev/null)"
fi
stop redis
check "redis: clean shutdown on SIGTERM through memtop (exit 0)" "$?" 0
grep -q "ready to exit, bye bye" "$WORK/redis.log" && pass "redis: shutdown logged" \
	|| fail "redis: log lacks the shutdown: $(tail -3 "$WORK/redis.log")"
check "redis: summary exit_status" "$(q "$WORK/redis.json" "s['exit_status']")" 0
# 80,000 requests, each of which allocates at least once (set creates a
# value, get a reply, lpush a node ...)
check "redis: allocations counted" "$(q "$WORK/redis.json" "s['totals']['allocs'] >= 80000")" true
check "redis: frees counted" "$(q "$WORK/redis.json" "s['totals']['frees'] >= 40000")" true
check "redis: several threads seen" "$(q "$WORK/redis.json" "s['totals']['threads_seen'] >= 2")" true
check "redis: samples during the load" \
	"$(q "$WORK/redis.json" "len(samples) >= 2 and max(r['totals']['allocs'] for r in samples) > 0")" true
check "redis: memtop said nothing" "$(cat "$WORK/redis.err")" ""

# ---------------------------------------------------------------- memcached
port=$(free_port)
user=
[ "$(id -u)" = 0 ] && user="-u root"
"$MEMTOP" --batch --json -d 0.5 -o "$WORK/mc.json" -- memcached -l 127.0.0.1 -p "$port" -U 0 \
	-t 4 -m 64 $user > "$WORK/mc.out" 2> "$WORK/mc.err" &
MPID=$!
# set then get one key in the text protocol; prints what the server said
mc() {
	python3 - "$port" "$1" <<'PY'
import socket, sys
port, value = int(sys.argv[1]), sys.argv[2].encode()
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"set probe 0 0 %d\r\n%s\r\nget probe\r\n" % (len(value), value))
data = b""
while not data.endswith(b"END\r\n"):
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.decode().replace("\r\n", " ").strip())
PY
}
if until_ok 10 mc hello; then
	pass "memcached: answers under memtop"
	for t in set get; do
		timeout 120 memcslap --servers=127.0.0.1:"$port" --concurrency=8 --execute-number=5000 \
			--test=$t > "$WORK/slap-$t.out" 2>&1
		check "memcslap --test=$t: exit status" "$?" 0
		grep -q "Time to $t .*40000 keys by *8 threads" "$WORK/slap-$t.out" && pass "memcslap --test=$t: 40000 keys" \
			|| fail "memcslap --test=$t: $(cat "$WORK/slap-$t.out")"
	done
	check "memcached: still answers after the load" "$(mc world)" "STORED VALUE probe 0 5 world END"
else
	fail "memcached: no answer within 10 s: $(cat "$WORK/mc.err")"
fi
stop memcached
check "memcached: clean shutdown on SIGTERM through memtop (exit 0)" "$?" 0
check "memcached: summary exit_status" "$(q "$WORK/mc.json" "s['exit_status']")" 0
check "memcached: allocations counted" "$(q "$WORK/mc.json" "s['totals']['allocs'] > 0")" true
# each connection is set up by a worker thread: the workers allocate
check "memcached: worker threads' allocations counted" \
	"$(q "$WORK/mc.json" "len([t for t in s['threads'] if t['name'] == 'mc-worker' and t['allocs'] > 0]) >= 2")" true
check "memcached: several threads seen" "$(q "$WORK/mc.json" "s['totals']['threads_seen'] >= 3")" true
check "memcached: memtop said nothing" "$(cat "$WORK/mc.err")" ""
finish
