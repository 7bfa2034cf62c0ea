#!/bin/sh
# servers.sh - real multi-threaded servers under memtop --batch, loaded on
# loopback by their own benchmark tools: redis-server (--io-threads 3) with
# redis-benchmark, memcached (-t 4) with memcslap.  Each server must keep
# answering correctly; memtop must count its allocations and see its
# threads by name (redis's two I/O threads allocating, and its lazy-free
# thread freeing the keyspace FLUSHALL ASYNC hands it; all four memcached
# workers allocating); SIGTERM sent to memtop must reach the server, which
# shuts down cleanly with status 0; no shared-memory segment may be left.
# Run by `make check-servers` (about 20 s); needs redis-server, redis-tools,
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

# stop NAME: SIGTERM to memtop, which forwards it; wait at most 20 s;
# memtop's exit status
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
rping() { [ "$(redis-cli -p "$port" ping)" = PONG ]; }

# redis_load LABEL N: redis-benchmark, N requests of each of four commands
# from 50 clients, then the server must still answer; FLUSHALL ASYNC then
# gives the benchmark's keyspace to the lazy-free thread (bio_lazy_free),
# which frees it
redis_load() {
	timeout 120 redis-benchmark -h 127.0.0.1 -p "$port" -n "$2" -c 50 --threads 2 -d 100 \
		-t set,get,lpush,lpop -q > "$WORK/$1.bench" 2>&1
	check "$1: redis-benchmark: exit status" "$?" 0
	check "$1: redis-benchmark: four tests reported" \
		"$(tr '\r' '\n' < "$WORK/$1.bench" | grep -c 'requests per second')" 4
	check "$1: still answers after the load" "$(redis-cli -p "$port" set greeting hello) \
$(redis-cli -p "$port" get greeting) $(redis-cli -p "$port" llen mylist)" "OK hello 0"
	check "$1: the benchmark's keys are there" "$(redis-cli -p "$port" exists key:__rand_int__)" 1
	check "$1: FLUSHALL ASYNC empties it" \
		"$(redis-cli -p "$port" flushall async) $(redis-cli -p "$port" dbsize)" "OK 0"
}

# redis_counts LABEL FILE N: the summary in FILE (JSON Lines) of a run
# that redis_load loaded with N requests of each command
redis_counts() {
	check "$1: summary exit_status" "$(q "$2" "s['exit_status']")" 0
	# each request allocates at least once (set creates a value, get a
	# reply, lpush a node ...)
	check "$1: allocations counted" "$(q "$2" "s['totals']['allocs'] >= 4 * $3")" true
	check "$1: frees counted" "$(q "$2" "s['totals']['frees'] >= 2 * $3")" true
	# --io-threads 3: the main thread and two I/O threads, which read and
	# parse the requests (--io-threads-do-reads); bio_lazy_free only frees;
	# the other bio threads make no heap call in this run; Debian's
	# jemalloc may add its background thread
	check "$1: the main thread allocated" \
		"$(q "$2" "thread(s, 'redis-server')['allocs'] >= 2 * $3")" true
	for io in io_thd_1 io_thd_2; do
		check "$1: I/O thread $io allocated" \
			"$(q "$2" "(thread(s, '$io') or {}).get('allocs', 0) > 0")" true
	done
	check "$1: bio_lazy_free freed the old keyspace" \
		"$(q "$2" "(thread(s, 'bio_lazy_free') or {}).get('frees', 0) > 0")" true
	check "$1: at least four threads seen" "$(q "$2" "s['totals']['threads_seen'] >= 4")" true
}

"$MEMTOP" --batch --json -d 0.5 -o "$WORK/redis.json" -- redis-server --port "$port" \
	--bind 127.0.0.1 --save '' --appendonly no --io-threads 3 --io-threads-do-reads yes \
	--dir "$WORK" --logfile "$WORK/redis.log" > "$WORK/redis.out" 2> "$WORK/redis.err" &
MPID=$!
mpid=$MPID
if until_ok 10 rping; then
	pass "redis: answers under memtop"
	redis_load redis 20000
else
	fail "redis: no PONG within 10 s: $(tail -3 "$WORK/redis.log" "$WORK/redis.err" 2>/dev/null)"
fi
stop redis
check "redis: clean shutdown on SIGTERM through memtop (exit 0)" "$?" 0
grep -q "ready to exit, bye bye" "$WORK/redis.log" && pass "redis: shutdown logged" \
	|| fail "redis: log lacks the shutdown: $(tail -3 "$WORK/redis.log")"
redis_counts redis "$WORK/redis.json" 20000
check "redis: samples during the load" \
	"$(q "$WORK/redis.json" "len(samples) >= 2 and max(r['totals']['allocs'] for r in samples) > 0")" true
check "redis: memtop said nothing" "$(cat "$WORK/redis.err")" ""
check "redis: no segment left behind" "$(segments_of $mpid)" 0

# ---------------------------------------------------------------- memcached
port=$(free_port)
user=
[ "$(id -u)" = 0 ] && user="-u root"
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

# mc_load LABEL N: memcslap sets, then gets, N keys from each of 8
# connections; then the server must still answer
mc_load() {
	for t in set get; do
		timeout 120 memcslap --servers=127.0.0.1:"$port" --concurrency=8 --execute-number="$2" \
			--test=$t > "$WORK/$1.slap-$t" 2>&1
		check "$1: memcslap --test=$t: exit status" "$?" 0
		grep -q "Time to $t .*$((8 * $2)) keys by *8 threads" "$WORK/$1.slap-$t" \
			&& pass "$1: memcslap --test=$t: $((8 * $2)) keys" \
			|| fail "$1: memcslap --test=$t: $(cat "$WORK/$1.slap-$t")"
	done
	check "$1: still answers after the load" "$(mc world)" "STORED VALUE probe 0 5 world END"
}

# mc_counts LABEL FILE: the summary in FILE (JSON Lines) of a run mc_load
# loaded
mc_counts() {
	check "$1: summary exit_status" "$(q "$2" "s['exit_status']")" 0
	check "$1: allocations counted" "$(q "$2" "s['totals']['allocs'] > 0")" true
	# memcached hands each connection to the next worker in turn: 16
	# connections and more went to the four; each sets its connections up
	# (read buffers from a cache of its own, which it fills with malloc)
	check "$1: all four workers allocated" \
		"$(q "$2" "len([t for t in s['threads'] if t['name'] == 'mc-worker' and t['allocs'] > 0])")" 4
	check "$1: several threads seen" "$(q "$2" "s['totals']['threads_seen'] >= 5")" true
}

"$MEMTOP" --batch --json -d 0.5 -o "$WORK/mc.json" -- memcached -l 127.0.0.1 -p "$port" -U 0 \
	-t 4 -m 64 $user > "$WORK/mc.out" 2> "$WORK/mc.err" &
MPID=$!
mpid=$MPID
if until_ok 10 mc hello; then
	pass "memcached: answers under memtop"
	mc_load memcached 5000
else
	fail "memcached: no answer within 10 s: $(cat "$WORK/mc.err")"
fi
stop memcached
check "memcached: clean shutdown on SIGTERM through memtop (exit 0)" "$?" 0
mc_counts memcached "$WORK/mc.json"
check "memcached: memtop said nothing" "$(cat "$WORK/mc.err")" ""
check "memcached: no segment left behind" "$(segments_of $mpid)" 0
finish
