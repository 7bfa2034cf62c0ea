#!/bin/sh
# compat.sh - programs nobody here wrote, and programs that use the awkward
# corners of the loader, of threads and of processes, run under
# `memtop --batch --json` exactly as they run bare: the same standard
# output, the same standard error, the same exit status.  memtop's summary
# of each must be sane: allocations counted, no more frees than
# allocations, every thread seen, the right exit status, no shared-memory
# segment left behind.  The same programs under the ncurses viewer:
# compat-viewer.sh.
. "$(dirname "$0")/lib.sh"

# same NAME FILE1 FILE2: the two files are byte for byte equal
same() {
	if cmp -s "$2" "$3"; then
		pass "$1"
	else
		fail "$1: $(diff "$2" "$3" | head -6 | tr '\n' '|')"
	fi
}

# sane NAME JSON STATUS MINTHREADS: the summary of a finished command
sane() {
	check "$1: summary exit_status" "$(q "$2" "s['exit_status']")" "$3"
	check "$1: allocations counted" "$(q "$2" "s['totals']['allocs'] > 0")" true
	check "$1: no more frees than allocations" \
		"$(q "$2" "s['totals']['frees'] <= s['totals']['allocs']")" true
	check "$1: at least $4 thread(s) seen" "$(q "$2" "s['totals']['threads_seen'] >= $4")" true
}

# both NAME STATUS MINTHREADS CMD...: run CMD bare in a fresh directory
# $WORK/run (kept afterwards as $WORK/run.bare), then under memtop in a
# fresh $WORK/run again (outputs that name the directory still match), and
# compare.  STATUS is the exit status CMD must have.  The JSON goes to
# $WORK/NAME.json.
both() {
	name=$1; want=$2; minthreads=$3; shift 3
	rm -rf "$WORK/run" "$WORK/run.bare"; mkdir "$WORK/run"
	(cd "$WORK/run" && exec "$@") > "$WORK/$name.bare.out" 2> "$WORK/$name.bare.err"
	bare=$?
	mv "$WORK/run" "$WORK/run.bare"; mkdir "$WORK/run"
	(cd "$WORK/run" && exec "$MEMTOP" --batch --json -o "$WORK/$name.json" -- "$@") \
		> "$WORK/$name.mt.out" 2> "$WORK/$name.mt.err" &
	mpid=$!
	wait $mpid
	rc=$?
	check "$name: exit status bare" "$bare" "$want"
	check "$name: same exit status under memtop" "$rc" "$bare"
	same "$name: same stdout" "$WORK/$name.bare.out" "$WORK/$name.mt.out"
	same "$name: same stderr" "$WORK/$name.bare.err" "$WORK/$name.mt.err"
	sane "$name" "$WORK/$name.json" "$want" "$minthreads"
	check "$name: no segment left behind" "$(segments_of $mpid)" 0
}

# ---------------------------------------------------------------- interpreters
# The Debian interpreter itself, not a wrapper script in front of it
# (pyenv's shim is one): a wrapper execs the interpreter, which memtop
# follows; the exec case at the end checks that.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
both python3 5 5 "$PY" "$top_srcdir/tests/e2e/compat-threads.py"

both perl 0 1 perl -e 'my %h; $h{$_} = "x" x ($_ % 100) for 1 .. 50000;
	my @k = sort { $a <=> $b } keys %h; my $n = 0; $n += length $h{$_} for @k;
	print scalar(@k), " $n\n"; print STDERR "perl stderr\n"'

both sqlite3 0 1 sqlite3 db.sqlite "create table t(a integer primary key, b text);
	with recursive c(x) as (select 1 union all select x + 1 from c where x < 5000)
	insert into t select x, printf('row-%05d', x * 7 % 5000) from c;
	create index tb on t(b);
	select count(*), sum(a), min(b), max(b) from t;
	select b from t where a % 1000 = 0 order by b;"

# git: a whole session (init, commits, log, gc, fsck) as a script, so that
# every git process runs with the collector, and one git command alone,
# which the summary is about.  Fixed identities and dates: same hashes.
GIT_AUTHOR_NAME=memtop GIT_AUTHOR_EMAIL=memtop@example.org \
GIT_COMMITTER_NAME=memtop GIT_COMMITTER_EMAIL=memtop@example.org \
GIT_AUTHOR_DATE='2000-01-01T00:00:00Z' GIT_COMMITTER_DATE='2000-01-01T00:00:00Z' \
GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL \
	GIT_AUTHOR_DATE GIT_COMMITTER_DATE GIT_CONFIG_NOSYSTEM GIT_CONFIG_GLOBAL
cat > "$WORK/git.sh" <<'EOF'
set -e
git init -q -b main repo
cd repo
for i in 1 2 3 4; do
	seq 1 $((i * 2000)) > f$i.txt
	git add f$i.txt
	git commit -q -m "commit $i"
done
git log --stat --format='%H %s'
git gc -q
git fsck --no-progress
git status --short --branch
EOF
both git-session 0 1 sh "$WORK/git.sh"
(cd "$WORK" && rm -rf repo && sh "$WORK/git.sh" > /dev/null 2>&1)
both git-log 0 1 git -C "$WORK/repo" log -p --format='%H %an %s'

# ---------------------------------------------------------------- processes
# A shell that forks and execs pipelines and subshells (each process with
# the collector; the summary is the shell's own).
both sh-pipeline 3 1 sh -c 'seq 1 30000 | sort -r | uniq | awk "{ s += \$1 } END { print s }" | tee sum.txt;
	(echo b; echo a; echo c) | sort | tr a-z A-Z; wc -c < sum.txt; ls; echo err >&2; exit 3'

# C++: new/delete, exceptions thrown in threads, iostreams (valgrind's
# exact count is in counts.sh).
both cxx 0 5 "$PROGS/cxx"

# gcc compiling a file: the driver forks cc1, as, collect2 and ld, all with
# the collector.  The binary is the same, and runs the same.
both gcc 0 1 gcc -O2 -Wall -o hello "$top_srcdir/tests/e2e/compat-hello.c"
same "gcc: the same binary" "$WORK/run.bare/hello" "$WORK/run/hello"
"$WORK/run.bare/hello" x > "$WORK/hello.bare.out"; r1=$?
"$MEMTOP" --batch --json -o "$WORK/hello.json" -- "$WORK/run/hello" x > "$WORK/hello.mt.out"; r2=$?
check "gcc: compiled program's status, bare and under memtop" "$r1 $r2" "3 3"
same "gcc: compiled program's output" "$WORK/hello.bare.out" "$WORK/hello.mt.out"
check "gcc: compiled program's 100 nodes counted" \
	"$(q "$WORK/hello.json" "s['totals']['allocs'] >= 100 and s['totals']['live_bytes'] >= 100 * 32")" true

# g++ compiling the C++ test program: cc1plus is a C++ program nobody here
# wrote (GCC is written in C++), with the collector like the driver, as
# and ld.  The binary is the same, and runs the same.
both gxx 0 1 g++ -O1 -o cxxbin "$top_srcdir/tests/progs/cxx.cc" -lpthread
same "g++: the same binary" "$WORK/run.bare/cxxbin" "$WORK/run/cxxbin"
"$WORK/run/cxxbin" > "$WORK/cxxbin.out"; r1=$?
"$PROGS/cxx" > "$WORK/cxx.out"; r2=$?
check "g++: the compiled program's status, as the build's" "$r1" "$r2"
same "g++: the compiled program's output, as the build's" "$WORK/cxx.out" "$WORK/cxxbin.out"

# ---------------------------------------------------------------- other allocators
# The same program with glibc's malloc, then linked against jemalloc and
# tcmalloc (their malloc family replaces glibc's in the whole process):
# each worker thread's figures are exact whatever the allocator.
rounds=5000
oa_check() {  # oa_check NAME JSON ALLOCATOR
	grep -q "^ALLOCATOR $3 " "$WORK/$1.mt.out" && pass "$1: runs on $3" \
		|| fail "$1: not on $3: $(cat "$WORK/$1.mt.out")"
	check "$1: every worker's allocs, frees, reallocs exact" \
		"$(q "$2" "sorted(set((t['allocs'], t['frees'], t['reallocs']) for t in s['threads'] if t['name'].startswith('oa-')))")" \
		"[($((2 * rounds)), $((2 * rounds)), $rounds)]"
	check "$1: four workers" "$(q "$2" "len([t for t in s['threads'] if t['name'].startswith('oa-')])")" 4
	check "$1: workers hold nothing at the end" \
		"$(q "$2" "sum(t['live_bytes'] for t in s['threads'] if t['name'].startswith('oa-'))")" 0
}
both glibc-malloc 0 5 "$PROGS/otheralloc" $rounds
oa_check glibc-malloc "$WORK/glibc-malloc.json" glibc
for lib in jemalloc:libjemalloc-dev tcmalloc:libgoogle-perftools-dev; do
	name=${lib%%:*}; pkg=${lib#*:}
	if ${CC:-cc} -O2 -o "$WORK/otheralloc-$name" "$top_srcdir/tests/progs/otheralloc.c" \
		-l$name -lpthread 2> "$WORK/cc-$name.err"; then
		both "$name" 0 5 "$WORK/otheralloc-$name" $rounds
		oa_check "$name" "$WORK/$name.json" "$name"
	else
		fail "$name: cannot link against it (install $pkg: contrib/install-deps.sh): $(head -2 "$WORK/cc-$name.err")"
	fi
done

# ---------------------------------------------------------------- loader, TLS
# dlopen, RTLD_DEEPBIND (from a second copy of the module: a loaded module
# is not loaded again), blocks crossing between the two, dynamic TLS in 8
# threads, dlclose and dlopen again.
mod="$PROGS/.libs/dlmod.so"
cp "$mod" "$WORK/dlmod-plain.so" && cp "$mod" "$WORK/dlmod-deep.so" || fail "no module $mod"
both dlopen 0 4 "$PROGS/dlopener" "$WORK/dlmod-plain.so" "$WORK/dlmod-deep.so"
check "dlopen: output" "$(cat "$WORK/dlopen.mt.out")" "DLOPEN plain=1000 deep=1000 cross=100 tls=8 reopen=10"
check "dlopen: a dlopened module's allocations counted" \
	"$(q "$WORK/dlopen.json" "thread(s, 'dl-plain')['allocs'] >= 1000 and thread(s, 'dl-plain')['frees'] >= 1000")" true
# 100 blocks from the deep-bound module's malloc freed here, 100 from here
# freed by its free: the collector redirects a deep-bound module's GOT
check "dlopen: a deep-bound module's blocks and frees are counted" \
	"$(q "$WORK/dlopen.json" "'%d %d' % (thread(s, 'dl-cross')['allocs'], thread(s, 'dl-cross')['frees'])")" "200 200"
check "dlopen: allocations inside an RTLD_DEEPBIND module counted" \
	"$(q "$WORK/dlopen.json" "thread(s, 'dl-deep')['allocs'] >= 1000")" true

# Heavy TLS: 256 KiB of static TLS per thread, and pthread-key destructors
# that free (and allocate again) after the thread's function returned.
both tlsheavy 0 17 "$PROGS/tlsheavy" 16
set -- $(sed -n 's/^TLSHEAVY threads=\([0-9]*\) allocs=\([0-9]*\) frees=\([0-9]*\) bytes=\([0-9]*\)$/\1 \2 \3 \4/p' "$WORK/tlsheavy.mt.out")
check "tlsheavy: every thread exact, destructors included" \
	"$(q "$WORK/tlsheavy.json" "sorted(set((t['allocs'], t['frees'], t['bytes_allocated'], t['live_bytes']) for t in s['threads'] if t['name'].startswith('tls-')))")" \
	"[(${2:-?}, ${3:-?}, ${4:-?}, 0)]"
check "tlsheavy: all threads reported" \
	"$(q "$WORK/tlsheavy.json" "len([t for t in s['threads'] if t['name'].startswith('tls-')])")" "${1:-?}"

# fork without exec in a multi-threaded parent (children allocate and start
# threads), vfork + exec, posix_spawn, 40 of each, while three threads
# allocate without pause: no child hangs, no segment is left behind.
both mtfork 0 4 "$PROGS/mtfork" 40
check "mtfork: every child done" "$(cat "$WORK/mtfork.mt.out")" \
	"MTFORK forks=40 vfork=40 spawn=40 hung=0 failed=0"
check "mtfork: the churning threads counted" \
	"$(q "$WORK/mtfork.json" "all(thread(s, 'churn-%d' % i)['allocs'] > 0 for i in range(3))")" true

# ---------------------------------------------------------------- setuid
# As root a setuid-root program changes nothing (no secure mode), so run
# memtop as nobody on a setuid-root copy of the helper: the kernel sets
# AT_SECURE, glibc ignores LD_PRELOAD for it; the program must run
# unchanged, and memtop say it has no figures for it.
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	sd="$WORK/suid"
	mkdir "$sd" && cp "$PROGS/setuidhelper" "$sd/" && chmod 4755 "$sd/setuidhelper" &&
		chmod 755 "$WORK" && chmod 1777 "$sd"
	if ! nobody "$MEMTOP" --version > /dev/null 2>&1; then
		echo "skip: setuid case: nobody cannot run $MEMTOP (build tree not readable)"
	elif ! nobody "$sd/setuidhelper" | grep -q 'euid=0 secure=1'; then
		echo "skip: setuid case: $sd does not honour setuid (nosuid mount?)"
	else
		nobody "$sd/setuidhelper" 7 > "$sd/bare.out" 2> "$sd/bare.err"
		bare=$?
		nobody "$MEMTOP" --batch --json -o "$sd/suid.json" -- "$sd/setuidhelper" 7 > "$sd/mt.out" 2> "$sd/mt.err"
		check "setuid: same exit status" "$?" "$bare"
		same "setuid: same stdout" "$sd/bare.out" "$sd/mt.out"
		grep -q "without publishing heap figures: it did not load the collector" "$sd/mt.err" && pass "setuid: memtop says it has no figures" \
			|| fail "setuid: no message: $(cat "$sd/mt.err")"
		check "setuid: no figures invented" "$(q "$sd/suid.json" "s['totals'] is None")" true
		# in a shell: the shell is counted, the setuid child runs unchanged
		nobody "$MEMTOP" --batch --json -o "$sd/sh.json" -- sh -c "'$sd/setuidhelper' 4; echo after=\$?" \
			> "$sd/sh.out" 2> "$sd/sh.err"
		check "setuid under a shell: status" "$?" 0
		check "setuid under a shell: output" "$(cat "$sd/sh.out")" \
			"$(printf 'SETUID ruid=65534 euid=0 secure=1 preload=unset\nafter=4')"
		check "setuid under a shell: the shell counted" "$(q "$sd/sh.json" "s['totals']['allocs'] > 0")" true
	fi
else
	echo "skip: setuid case needs root and setpriv"
fi

# ---------------------------------------------------------------- exec
# A command that execs another program after memtop has found its segment
# (a wrapper script, pyenv's shim in front of python3, `sh -c 'cd x; exec
# prog'`): the summary must be about the program that runs last.
"$MEMTOP" --batch --json -o "$WORK/exec.json" -- \
	sh -c "sleep 0.3; exec '$PROGS/tally' 100" > "$WORK/exec.out" &
mpid=$!
wait $mpid
check "exec: status" "$?" 0
want=$(sed -n 's/^TALLY allocs=\([0-9]*\).*/\1/p' "$WORK/exec.out")
check "exec: the exec'd program's thread is in the summary" \
	"$(q "$WORK/exec.json" "(thread(s, 'tally') or {}).get('allocs')")" "$want"
check "exec: the first program's thread stays, under its old name, same tid" \
	"$(q "$WORK/exec.json" "[t['tid'] for t in s['threads'] if t['name'] == 'sh'] == [t['tid'] for t in s['threads'] if t['name'] == 'tally-main'] and thread(s, 'sh')['allocs'] > 0")" true
check "exec: the summary's command is the one memtop started" \
	"$(q "$WORK/exec.json" "s['command'].startswith('sh -c ') and 'exec' in s['command'] and s['pid'] == thread(s, 'sh')['tid']")" true
check "exec: no segment left behind" "$(segments_of $mpid)" 0
finish
