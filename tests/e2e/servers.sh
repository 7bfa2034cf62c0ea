#!/bin/sh
# servers.sh - real multi-threaded servers under memtop, loaded on loopback
# by their own benchmark tools: redis-server (--io-threads 3) with
# redis-benchmark, memcached (-t 4) with memcslap.  Each server runs twice:
#   batch:  memtop --batch --json;
#   viewer: the ncurses viewer in tmux, with --export: its screen after the
#           load must show the server's pid and threads (each card's tid a
#           task of the server with that name, all threads shown, none
#           exited), allocations counted, and the I/O or worker threads'
#           figures the exact final counts as rounded for the screen; the
#           exact figures come from the summary the report embeds.
# Each server must keep answering correctly; memtop must count its
# allocations and see its threads by name (redis's two I/O threads
# allocating, and its lazy-free thread freeing the keyspace FLUSHALL ASYNC
# hands it; all four memcached workers allocating); SIGTERM sent to memtop
# must reach the server, which shuts down cleanly with status 0, memtop's
# exit status; no shared-memory segment may be left.  In the viewer the
# server is stopped (SIGSTOP) when memtop gets SIGTERM, so that the viewer
# can be seen saying it passed the signal on, and the signal seen pending
# in the server, before SIGCONT lets the server end; memtop then leaves at
# once (it does not wait for q), restores the terminal and says on stderr
# how the server ended.
# Run by `make check-servers` (about 45 s); needs redis-server, redis-tools,
# memcached, libmemcached-tools and tmux (contrib/install-deps.sh).
. "$(dirname "$0")/lib.sh"

# memtop's pid while a server runs under it, and in the viewer runs the
# server's (which may be stopped)
MPID=
SPID=
tm() { tmux -S "$WORK/tmux.sock" "$@"; }
cleanup() {
	[ -n "$SPID" ] && kill -CONT "$SPID" 2> /dev/null
	if [ -n "$MPID" ]; then
		kill -TERM "$MPID" 2> /dev/null
		sleep 0.5
		kill -KILL "$MPID" 2> /dev/null
	fi
	tm kill-server 2> /dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
# A session that lasts as long as the script: with none left, the server
# exits when a case's session is killed, and may remove its socket just
# as the next case's new-session starts a server on it (seen in CI: "no
# server running" for a whole case, whose end the test then never saw).
tm new-session -d -s keepalive -x 80 -y 24 sleep 3600 2> /dev/null
trap 'exit 1' HUP INT TERM

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

# The script each tmux session runs, in $WORK: session.sh NAME COMMAND...
# runs COMMAND (memtop) with its pid in NAME.pid, its stderr in NAME.err,
# its exit status in NAME.rc; then says so on the screen, and waits.
cat > "$WORK/session.sh" <<'SH'
cd "$(dirname "$0")" || exit 1
name=$1; shift
export TMPDIR="$PWD" LANG=C.UTF-8
sh -c 'echo $$ > "$0.pid"; exec "$@"' "$name" "$@" 2> "$name.err"
echo $? > "$name.rc.tmp"
mv "$name.rc.tmp" "$name.rc"
echo "after memtop"
exec sleep 600
SH

# What the tests read from a captured screen of the viewer, and from the
# report: screen.py cards SCREEN prints "TID NAME ALLOCS" for each thread
# card (ALLOCS as shown); screen.py total SCREEN the ALLOCATIONS card's
# figure; screen.py within FIGURE LO HI says whether some count from LO to
# HI shows as FIGURE (three digits at most, then k, M ..., rounded);
# screen.py summary HTML
# prints the summary the report embeds, as one JSON line.
cat > "$WORK/screen.py" <<'PY'
import json, re, sys

def lines(path):
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")

def below(rows, i, col):
    return rows[i + 1][col:].split() if i + 1 < len(rows) else []

cmd, arg = sys.argv[1], sys.argv[2]
if cmd == "cards":
    rows = lines(arg)
    for i, row in enumerate(rows):
        for m in re.finditer(r"(?:^| )(\d+) (\S+) +(?:OK|WARN|CRIT|EXITED)(?= |$)", row):
            words = below(rows, i, m.start(1))
            if len(words) >= 2 and words[0] == "allocs":
                print(m.group(1), m.group(2), words[1])
elif cmd == "total":
    rows = lines(arg)
    for i, row in enumerate(rows):
        col = row.find("ALLOCATIONS")
        if col >= 0:
            print((below(rows, i, col) or ["none"])[0])
            break
elif cmd == "within":
    # FIGURE LO HI: rounded to three digits (then k, M ...), some count
    # from LO to HI shows as FIGURE
    m = re.fullmatch(r"(\d+(?:\.\d)?)([kMGT]?)", arg)
    lo, hi = int(sys.argv[3]), int(sys.argv[4])
    if not m:
        print("false")
    else:
        mult = 1000 ** " kMGT".index(m.group(2) or " ")
        v, half = float(m.group(1)) * mult, (0.1 if "." in m.group(1) else 1) * mult / 2
        print("true" if v - half <= hi + 1e-6 and v + half >= lo - 1e-6 else "false")
elif cmd == "summary":
    with open(arg, encoding="utf-8") as f:
        page = f.read()
    m = re.search(r'<script type="application/json" id="memtop-data">(.*?)</script>', page, re.S)
    print(json.dumps(json.loads(m.group(1))["summary"]))
PY
screen_py() { python3 "$WORK/screen.py" "$@"; }
screen_text() { tm capture-pane -p -t "$1"; }

# wait_for NAME PATTERN [SECONDS]: until the pane shows PATTERN (grep -E)
wait_for() {
	w_n=$(( ${3:-10} * 10 ))
	while [ "$w_n" -gt 0 ]; do
		screen_text "$1" | grep -Eq -- "$2" && return 0
		sleep 0.1
		w_n=$((w_n - 1))
	done
	return 1
}

# clock NAME: the session time on the title row, as the last sample left it
clock() { screen_text "$1" | head -n 1 | sed -n 's/.* \([0-9][0-9.ms]*s\)  every .*/\1/p'; }

# ticks NAME COUNT: until the viewer has taken COUNT more samples (the
# clock on its title row changed COUNT times); false after 20 s.  Two
# samples later, the figures on screen include all the server did before.
ticks() {
	t_last=$(clock "$1")
	t_left=$2
	t_n=200
	while [ "$t_left" -gt 0 ] && [ "$t_n" -gt 0 ]; do
		sleep 0.1
		t_now=$(clock "$1")
		if [ -n "$t_now" ] && [ "$t_now" != "$t_last" ]; then
			t_left=$((t_left - 1))
			t_last=$t_now
		fi
		t_n=$((t_n - 1))
	done
	[ "$t_left" -eq 0 ]
}

# viewer_start NAME COMMAND...: memtop -- COMMAND in the viewer, in tmux
# session NAME (120x40), its report in $WORK/NAME.html; sets MPID and
# SPID (the server: memtop's child)
viewer_start() {
	v_name=$1; shift
	tm new-session -d -s "$v_name" -x 120 -y 40 sh "$WORK/session.sh" "$v_name" \
		"$MEMTOP" -d 0.5 -e "$WORK/$v_name.html" -- "$@"
	until_ok 10 test -s "$WORK/$v_name.pid" && MPID=$(cat "$WORK/$v_name.pid")
	[ -n "$MPID" ] && until_ok 10 pgrep -P "$MPID" && SPID=$(pgrep -P "$MPID")
	if [ -n "$SPID" ]; then
		pass "$v_name: memtop $MPID started the server, pid $SPID"
	else
		fail "$v_name: no memtop or no server: $(cat "$WORK/$v_name.err" 2> /dev/null)"
		[ -n "$MPID" ] && kill -KILL "$MPID"
		MPID=
	fi
}

# viewer_screen NAME COMM MINTHREADS: two samples after what was done to
# the server so far, the frame into $WORK/NAME.screen, its cards into
# NAME.screen.cards (screen.py cards); it must show the server's pid and
# its main thread's card (COMM), all its MINTHREADS or more threads, none
# exited, each card a task of the server with that name
viewer_screen() {
	ticks "$1" 2 || fail "$1: the viewer's clock did not move twice in 20 s"
	settled "$1" "$WORK/$1.screen"
	sc=$WORK/$1.screen
	check "$1: title names the server's pid" \
		"$(sed -n 's/^ *memtop pid \([0-9][0-9]*\) .*/\1/p' "$sc")" "$SPID"
	threads=$(sed -n 's/^THREADS  \([0-9]*\) shown of \([0-9]*\), \([0-9]*\) exited .*/\1 \2 \3/p' "$sc")
	set -- "$1" "$2" "$3" $threads
	if [ $# -eq 6 ] && [ "$4" = "$5" ] && [ "$5" -ge "$3" ] && [ "$6" = 0 ]; then
		pass "$1: all its $5 threads shown (at least $3), none exited"
	else
		fail "$1: THREADS row '$(grep '^THREADS' "$sc")', expected at least $3 shown, none exited"
	fi
	screen_py cards "$sc" > "$sc.cards"
	check "$1: one card a thread" "$(wc -l < "$sc.cards")" "${5:-none}"
	check "$1: the main thread's card" "$(grep -c "^$SPID $2 " "$sc.cards")" 1
	bad=
	while read -r tid name allocs; do
		[ "$(cat "/proc/$SPID/task/$tid/comm" 2> /dev/null)" = "$name" ] || bad="$bad $tid:$name"
	done < "$sc.cards"
	check "$1: every card is a task of the server with that name" "${bad:-yes}" yes
}

# on_screen NAME TID: the allocations TID's card showed (viewer_screen)
on_screen() { sed -n "s/^$2 [^ ]* //p" "$WORK/$1.screen.cards"; }

# exact NAME LABEL TID: TID's card showed its final count of allocations
# (the report's), rounded as the viewer rounds; not 0
exact() {
	e_fig=$(on_screen "$1" "$3")
	e_n=$(q "$WORK/$1.json" "[t['allocs'] for t in s['threads'] if t['tid'] == $3]" | tr -d '[]')
	if [ "${e_n:-0}" -gt 0 ] && [ "$(screen_py within "${e_fig:-none}" "$e_n" "$e_n")" = true ]; then
		pass "$1: $2 ($3): $e_fig allocations on screen, $e_n in the report"
	else
		fail "$1: $2 ($3): '$e_fig' allocations on screen, '$e_n' in the report"
	fi
}

# all_stopped PID: every thread of PID is stopped (state T)
all_stopped() {
	for a_st in /proc/"$1"/task/*/stat; do
		# the state is the first field after the ") " that ends the name
		[ "$(sed 's/.*) \(.\).*/\1/' "$a_st")" = T ] || return 1
	done
}

# viewer_stop NAME: SIGTERM to memtop while the server is stopped
# (SIGSTOP): the viewer must say it passed the signal on, which the server
# must have pending; SIGCONT then lets it end, and memtop must leave within
# 20 s with the server's status, 0, restore the terminal, say how the
# server ended and where its report is, and leave no segment behind
viewer_stop() {
	kill -STOP "$SPID"
	# The stop takes effect in each thread when it next runs; a SIGTERM
	# sent before that would be taken first (the lower number)
	until_ok 10 all_stopped "$SPID" || fail "$1: the server not stopped 10 s after SIGSTOP"
	kill -TERM "$MPID"
	if wait_for "$1" "memtop got a signal and passed it to pid $SPID; leaving when it ends"; then
		pass "$1: the viewer says it passed SIGTERM on to the server"
	else
		fail "$1: status row '$(screen_text "$1" | tail -n 1)'"
	fi
	pending=$(sed -n 's/^ShdPnd:[[:space:]]*//p' "/proc/$SPID/status")
	check "$1: SIGTERM pending in the stopped server" "$(( (0x${pending:-0} >> 14) & 1 ))" 1
	kill -CONT "$SPID"
	if until_ok 20 test -f "$WORK/$1.rc"; then
		check "$1: memtop's exit status, the server's (clean shutdown)" "$(cat "$WORK/$1.rc")" 0
	else
		fail "$1: memtop still running 20 s after SIGTERM and SIGCONT"
		kill -KILL "$MPID"
	fi
	v_spid=$SPID
	SPID=
	wait_for "$1" "^after memtop" 5 && ! screen_text "$1" | grep -q "PROCESS CPU" \
		&& pass "$1: terminal restored" || fail "$1: the viewer is still on screen"
	err=$WORK/$1.err
	grep -q "^memtop: .* exited with status 0\$" "$err" && pass "$1: end reported on stderr" \
		|| fail "$1: memtop's stderr: '$(cat "$err")'"
	check "$1: memtop's stderr, three lines: end, no output, report" \
		"$(grep -c -e ' exited with status 0$' -e ' printed nothing$' \
			-e "^memtop: report written to $WORK/$1.html\$" "$err") $(wc -l < "$err")" "3 3"
	screen_py summary "$WORK/$1.html" > "$WORK/$1.json" 2> /dev/null
	check "$1: the report's summary: the server, its end" \
		"$(q "$WORK/$1.json" "[s['pid'], s['end'], s['collector']]")" \
		"[$v_spid, 'exited with status 0', 'loaded']"
	check "$1: no segment left behind" "$(segments_of "$MPID")" 0
	MPID=
	tm kill-session -t "$1"
}

missing=
for tool in redis-server redis-benchmark redis-cli memcached memcslap tmux; do
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

# The same under the viewer, with half the requests (the batch run above
# counted the full load)
port=$(free_port)
viewer_start redis-viewer redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
	--io-threads 3 --io-threads-do-reads yes --dir "$WORK" --logfile "$WORK/redis-viewer.log"
if [ -n "$SPID" ]; then
	if until_ok 10 rping; then
		pass "redis-viewer: answers under memtop"
		redis_load redis-viewer 10000
		viewer_screen redis-viewer redis-server 4
		for name in io_thd_1 io_thd_2 bio_lazy_free; do
			check "redis-viewer: card of $name" "$(grep -c "^[0-9]* $name " "$WORK/redis-viewer.screen.cards")" 1
		done
	else
		fail "redis-viewer: no PONG within 10 s: $(tail -3 "$WORK/redis-viewer.log")"
	fi
	viewer_stop redis-viewer
	grep -q "ready to exit, bye bye" "$WORK/redis-viewer.log" && pass "redis-viewer: shutdown logged" \
		|| fail "redis-viewer: log lacks the shutdown: $(tail -3 "$WORK/redis-viewer.log")"
	redis_counts redis-viewer "$WORK/redis-viewer.json" 10000
	# the I/O threads allocate nothing once the load is over
	for name in io_thd_1 io_thd_2; do
		exact redis-viewer $name "$(sed -n "s/^\([0-9]*\) $name .*/\1/p" "$WORK/redis-viewer.screen.cards")"
	done
	total=$(q "$WORK/redis-viewer.json" "s['totals']['allocs']")
	fig=$(screen_py total "$WORK/redis-viewer.screen")
	check "redis-viewer: ALLOCATIONS card ($fig): at least 40000, at most the report's $total" \
		"$(screen_py within "$fig" 40000 "$total")" true
fi

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

# The same under the viewer
port=$(free_port)
viewer_start memcached-viewer memcached -l 127.0.0.1 -p "$port" -U 0 -t 4 -m 64 $user
if [ -n "$SPID" ]; then
	if until_ok 10 mc hello; then
		pass "memcached-viewer: answers under memtop"
		mc_load memcached-viewer 5000
		viewer_screen memcached-viewer memcached 5
		check "memcached-viewer: cards of the four workers" \
			"$(grep -c '^[0-9]* mc-worker ' "$WORK/memcached-viewer.screen.cards")" 4
	else
		fail "memcached-viewer: no answer within 10 s"
	fi
	viewer_stop memcached-viewer
	mc_counts memcached-viewer "$WORK/memcached-viewer.json"
	for tid in $(sed -n 's/^\([0-9]*\) mc-worker .*/\1/p' "$WORK/memcached-viewer.screen.cards"); do
		exact memcached-viewer mc-worker "$tid"
	done
fi
finish
