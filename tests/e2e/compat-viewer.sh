#!/bin/sh
# compat-viewer.sh - the programs of compat.sh (nobody here wrote them) run
# under the ncurses viewer, `memtop -- COMMAND` in tmux, exactly as they run
# bare: the same standard output, the same standard error, the same exit
# status.  The viewer gives the command /dev/null as standard input and one
# file, opened for appending, as both standard output and standard error
# (memtop(1), FILES).  Each program runs twice under the viewer:
#   joint: as it is; the bare run gets the same arrangement, so the file
#          memtop keeps must be byte for byte what the bare run wrote,
#          both streams interleaved as written;
#   split: through `sh -c 'exec "$@" 2> FILE'`, the same process with its
#          standard error in a file of its own: memtop's file must be the
#          bare run's standard output, FILE its standard error (and the
#          viewer must show the program sh execs, not sh).
# memtop, quit with q after the command ended, must exit with the
# command's status.  On screen the viewer must have shown the process (its
# main thread's card, every thread, allocations counted, the output) and
# its end; no shared-memory segment may be left behind.
. "$(dirname "$0")/lib.sh"

if ! command -v tmux > /dev/null 2>&1; then
	echo "SKIP: tmux is not installed"
	exit 77
fi
# A tmux server of its own, its socket in $WORK: nothing left behind.
tm() { tmux -S "$WORK/tmux.sock" "$@"; }
trap 'tm kill-server 2> /dev/null; rm -rf "$WORK"' EXIT
trap 'exit 1' HUP INT TERM

screen_text() { tm capture-pane -p -t "$1"; }

# wait_end SESSION DIR SECONDS: until the title row says the command
# ended; false at once if memtop has already exited (DIR/mt.rc)
wait_end() {
	n=0
	while [ "$n" -lt $(($3 * 10)) ] && [ ! -f "$2/mt.rc" ]; do
		screen_text "$1" | head -n 1 | grep -Eq "\[(exited with status [0-9]+|killed by signal)" && return 0
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}

# wait_file FILE [SECONDS]: until FILE exists
wait_file() {
	n=0
	limit=$(( ${2:-10} * 10 ))
	while [ ! -f "$1" ] && [ "$n" -lt "$limit" ]; do sleep 0.1; n=$((n + 1)); done
	[ -f "$1" ]
}

# same NAME FILE1 FILE2: the two files are byte for byte equal
same() {
	if cmp -s "$2" "$3"; then
		pass "$1"
	else
		fail "$1: $(diff "$2" "$3" | head -6 | tr '\n' '|')"
	fi
}

# The script each tmux session runs: in the case's directory D, COMMAND
# bare in a fresh D/run (kept as D/run.bare), then under the viewer in a
# fresh D/run (outputs that name the directory still match), with the same
# environment and standard input.  Joint: stdout and stderr in D/bare.out;
# split: stdout in D/bare.out, stderr in D/bare.err and, under the viewer,
# in D/mt.cmd.err.  memtop's pid goes to D/mt.pid, its stderr to D/mt.err,
# its exit status to D/mt.rc.
cat > "$WORK/session.sh" <<'EOF'
mode=$1; d=$2; memtop=$3; shift 3
cd "$d" || exit 1
export TMPDIR="$d" LANG=C.UTF-8
mkdir run || exit 1
if [ "$mode" = joint ]; then
	(cd run && exec "$@") < /dev/null >> bare.out 2>&1
else
	(cd run && exec "$@") < /dev/null >> bare.out 2> bare.err
fi
echo $? > bare.rc
mv run run.bare && mkdir run && cd run || exit 1
if [ "$mode" = joint ]; then
	sh -c 'echo $$ > ../mt.pid; exec "$@"' sh "$memtop" -- "$@" 2> ../mt.err
else
	sh -c 'echo $$ > ../mt.pid; exec "$@"' sh "$memtop" -- \
		sh -c 'exec "$@" 2> "$0"' "$d/mt.cmd.err" "$@" 2> ../mt.err
fi
echo $? > ../mt.rc.tmp
mv ../mt.rc.tmp ../mt.rc
echo "after memtop"
exec sleep 600
EOF

# viewed MODE NAME STATUS MINTHREADS COMM COMMAND...: run COMMAND bare and
# under the viewer, in tmux session NAME, in the directory $WORK/NAME;
# STATUS is the exit status COMMAND must have, MINTHREADS how many threads
# it has at least, COMM its process name (the main thread's card), as an
# extended regular expression.  Both runs together get END_WAIT seconds (a
# loaded machine; they take about 1).
END_WAIT=60
viewed() {
	mode=$1; name=$2; want=$3; minthreads=$4; comm=$5; shift 5
	d="$WORK/$name"
	mkdir "$d"
	tm new-session -d -s "$name" -x 120 -y 40 sh "$WORK/session.sh" "$mode" "$d" "$MEMTOP" "$@"
	if ! wait_end "$name" "$d" "$END_WAIT"; then
		fail "$name: the viewer never showed the command's end (memtop's stderr: '$(cat "$d/mt.err" 2> /dev/null)')"
		screen_text "$name" | sed 's/^/    | /'
		tm kill-session -t "$name"
		return
	fi
	settled "$name" "$d/screen"
	check "$name: exit status bare" "$(cat "$d/bare.rc")" "$want"
	grep -q "\[exited with status $want\]" "$d/screen" && pass "$name: the viewer shows its end (status $want)" \
		|| fail "$name: end on screen: '$(head -n 1 "$d/screen")'"
	pid=$(sed -n 's/^ *memtop pid \([0-9][0-9]*\) .*/\1/p' "$d/screen")
	grep -Eq "(^| )${pid:-none} +$comm( |$)" "$d/screen" && pass "$name: card of its main thread ($pid $comm)" \
		|| fail "$name: no card '$pid $comm' on screen"
	seen=$(sed -n 's/^THREADS .* shown of \([0-9][0-9]*\).*/\1/p' "$d/screen")
	[ "${seen:-0}" -ge "$minthreads" ] && pass "$name: every thread seen (${seen})" \
		|| fail "$name: threads seen '$seen', expected at least $minthreads"
	grep -Eq "(^| )allocs [1-9]" "$d/screen" && pass "$name: allocations counted" \
		|| fail "$name: no thread card with allocations"
	last=$(grep -v '^[[:space:]]*$' "$d/bare.out" | tail -n 1 | cut -c 1-40)
	if [ -n "$last" ]; then
		grep -qF -- "$last" "$d/screen" && pass "$name: output pane shows its last line" \
			|| fail "$name: '$last' not in the output pane"
	fi
	screen_text "$name" | grep -q "after memtop" && fail "$name: memtop left before q" \
		|| pass "$name: memtop waits for q"
	tm send-keys -t "$name" q
	if wait_file "$d/mt.rc" 15; then
		check "$name: memtop's exit status is the command's" "$(cat "$d/mt.rc")" "$(cat "$d/bare.rc")"
	else
		fail "$name: memtop did not end after q"
	fi
	grep -q "exited with status $want\$" "$d/mt.err" && pass "$name: end reported on exit" \
		|| fail "$name: memtop's stderr '$(cat "$d/mt.err")'"
	# The output file is in TMPDIR, $d (the command's argv, raw in
	# memtop's message, may hold newlines).
	out=
	for f in "$d"/memtop-output.*; do [ -f "$f" ] && out=$f; done
	if [ -n "$out" ] && grep -qF " is in $out" "$d/mt.err"; then
		if [ "$mode" = joint ]; then what="stdout and stderr"; else what=stdout; fi
		same "$name: same $what" "$d/bare.out" "$out"
	elif [ -z "$out" ] && grep -q "printed nothing\$" "$d/mt.err"; then
		check "$name: printed nothing, as bare" "$(wc -c < "$d/bare.out")" 0
	else
		fail "$name: output file '$out', memtop's stderr '$(cat "$d/mt.err")'"
	fi
	if [ "$mode" = split ]; then
		same "$name: same stderr" "$d/bare.err" "$d/mt.cmd.err"
	fi
	check "$name: no segment left behind" "$(segments_of "$(cat "$d/mt.pid")")" 0
	tm kill-session -t "$name"
}

# both NAME STATUS MINTHREADS COMM COMMAND...: the joint and the
# split run (session and directory NAME and NAME-split)
both() {
	viewed joint "$@"
	name=$1; shift
	viewed split "$name-split" "$@"
}

# Fixed identities and dates for git: the same hashes in both runs.  The
# tmux server, started below, passes this environment on.
GIT_AUTHOR_NAME=memtop GIT_AUTHOR_EMAIL=memtop@example.org \
GIT_COMMITTER_NAME=memtop GIT_COMMITTER_EMAIL=memtop@example.org \
GIT_AUTHOR_DATE='2000-01-01T00:00:00Z' GIT_COMMITTER_DATE='2000-01-01T00:00:00Z' \
GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL \
	GIT_AUTHOR_DATE GIT_COMMITTER_DATE GIT_CONFIG_NOSYSTEM GIT_CONFIG_GLOBAL

# The server, with a session that lasts as long as the script: with none
# left, it exits when a case's session is killed, and may remove its
# socket just as the next case's new-session starts a server on it (seen
# in CI: "no server running" for a whole case, whose end the test then
# never saw).  Started after the exports above: sessions get the
# environment the server started with.
tm new-session -d -s keepalive -x 80 -y 24 sleep 3600

# ---------------------------------------------------------------- interpreters
# The Debian interpreter itself, not a wrapper that execs it (compat.sh).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
both python3 5 5 python3 "$PY" "$top_srcdir/tests/e2e/compat-threads.py"

both perl 4 1 perl perl -e 'my %h; $h{$_} = "x" x ($_ % 100) for 1 .. 50000;
	my @k = sort { $a <=> $b } keys %h; my $n = 0; $n += length $h{$_} for @k;
	print scalar(@k), " $n\n"; print STDERR "perl stderr\n"; exit 4'

if command -v sqlite3 > /dev/null 2>&1; then
	both sqlite3 1 1 sqlite3 sqlite3 db.sqlite "create table t(a integer primary key, b text);
		with recursive c(x) as (select 1 union all select x + 1 from c where x < 5000)
		insert into t select x, printf('row-%05d', x * 7 % 5000) from c;
		create index tb on t(b);
		select count(*), sum(a), min(b), max(b) from t;
		select b from t where a % 1000 = 0 order by b;
		select * from nosuchtable;"
else
	echo "skip: sqlite3 is not installed (Debian package sqlite3)"
fi

# ---------------------------------------------------------------- processes
# git: a session (init, commits, log, fsck, status) as a script, every git
# process with the collector; the shell is the process memtop shows.
cat > "$WORK/git.sh" <<'EOF'
set -e
git init -q -b main repo
cd repo
for i in 1 2 3; do
	seq 1 $((i * 2000)) > f$i.txt
	git add f$i.txt
	git commit -q -m "commit $i"
done
git log --stat --format='%H %s'
git fsck --no-progress
git status --short --branch
git cat-file -p HEAD:nosuchfile
EOF
both git 128 1 sh sh "$WORK/git.sh"

# A shell that forks and execs pipelines and subshells.
both sh-pipeline 3 1 sh sh -c 'seq 1 30000 | sort -r | uniq | awk "{ s += \$1 } END { print s }" | tee sum.txt;
	(echo b; echo a; echo c) | sort | tr a-z A-Z; wc -c < sum.txt; ls; echo err >&2; exit 3'

# C++: new/delete, exceptions thrown in threads, iostreams.
both cxx 0 5 cxx "$PROGS/cxx"

# gcc compiling a file: the driver forks cc1, as, collect2 and ld, all with
# the collector.  A warning on stderr; the binary is the same.
both gcc 0 1 gcc gcc -O2 -Wall -o hello "$top_srcdir/tests/e2e/compat-hello.c"
same "gcc: the same binary" "$WORK/gcc/run.bare/hello" "$WORK/gcc/run/hello"
same "gcc-split: the same binary" "$WORK/gcc-split/run.bare/hello" "$WORK/gcc-split/run/hello"

# g++ compiling the C++ test program (cc1plus is C++ nobody here wrote).
both gxx 0 1 "g[+][+]" g++ -O1 -o cxxbin "$top_srcdir/tests/progs/cxx.cc" -lpthread
same "gxx: the same binary" "$WORK/gxx/run.bare/cxxbin" "$WORK/gxx/run/cxxbin"
finish
