#!/bin/sh
# viewer.sh - the ncurses viewer driven for real in tmux: refusal without a
# terminal or on a small one, overview cards, named threads with a hostile
# name made safe, ranking order per sort key, focus mode, help, export,
# interval and pause, filter, resize (and too small at run time), the
# command's output shown and kept in a file, its end reported, q leaving a
# clean terminal, memtop's exit status, --duration, SIGTERM, NO_COLOR and
# an ASCII locale.
. "$(dirname "$0")/lib.sh"

if ! command -v tmux > /dev/null 2>&1; then
	echo "SKIP: tmux is not installed"
	exit 77
fi
SOCK="memtop-$$"
tm() { tmux -L "$SOCK" "$@"; }
trap 'tmux -L "$SOCK" kill-server 2> /dev/null; rm -rf "$WORK"' EXIT
SHOWCASE="$PROGS/showcase"

screen_text() { tm capture-pane -p -t "$1"; }

# wait_for SESSION PATTERN [SECONDS]: until the pane shows PATTERN (grep -E)
wait_for() {
	n=0
	limit=$(( ${3:-10} * 10 ))
	while [ "$n" -lt "$limit" ]; do
		screen_text "$1" | grep -Eq -- "$2" && return 0
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}

# poll SECONDS COMMAND...: until COMMAND succeeds (a screen is checked
# once it shows the state, not after a fixed sleep that a loaded machine
# outlasts); false after SECONDS
poll() {
	p_n=0
	p_limit=$(( $1 * 10 ))
	shift
	while [ "$p_n" -lt "$p_limit" ]; do
		"$@" && return 0
		sleep 0.1
		p_n=$((p_n + 1))
	done
	return 1
}

# gone SESSION PATTERN: the pane does not show PATTERN (grep -E)
gone() { ! screen_text "$1" | grep -Eq -- "$2"; }

expect() {  # expect SESSION DESCRIPTION PATTERN [SECONDS]
	if wait_for "$1" "$3" "${4:-10}"; then pass "$2"; else
		fail "$2: '$3' not on screen"; screen_text "$1" | sed 's/^/    | /'; fi
}

# The first ranking row (below the column titles).
first_ranked() { screen_text "$1" | grep -A1 'ALLOC/S' | tail -n 1; }
# ranked_first SESSION NAME: NAME is on the first ranking row
ranked_first() { first_ranked "$1" | grep -q -- "$2"; }

# start SESSION W H ENV COMMAND...: run memtop in a new tmux session; its
# exit status goes to $WORK/SESSION.rc, stderr to $WORK/SESSION.err, and
# whether stty settings survived to $WORK/SESSION.tty
start() {
	s=$1; w=$2; h=$3; env=$4; shift 4
	cat > "$WORK/$s.sh" <<-SCRIPT
	cd "$WORK"
	export TMPDIR="$WORK" $env
	before=\$(stty -g)
	"$MEMTOP" "\$@" 2> "$WORK/$s.err"
	echo \$? > "$WORK/$s.rc.tmp"
	[ "\$before" = "\$(stty -g)" ] && echo same > "$WORK/$s.tty"
	mv "$WORK/$s.rc.tmp" "$WORK/$s.rc"
	echo "after memtop"
	exec sleep 600
	SCRIPT
	tm new-session -d -s "$s" -x "$w" -y "$h" sh "$WORK/$s.sh" "$@"
}

wait_rc() {  # wait_rc SESSION: memtop's exit status once it has exited
	n=0
	while [ ! -f "$WORK/$1.rc" ] && [ "$n" -lt 150 ]; do sleep 0.1; n=$((n + 1)); done
	cat "$WORK/$1.rc" 2> /dev/null || echo none
}

# --- refusals, before anything is started --------------------------------
"$MEMTOP" -- sh -c "touch '$WORK/ran'" < /dev/null > "$WORK/notty.out" 2> "$WORK/notty.err"
check "not a terminal: exit 1" "$?" 1
grep -q "needs a terminal.*--batch" "$WORK/notty.err" && pass "not a terminal: says so, suggests --batch" \
	|| fail "not a terminal: message '$(cat "$WORK/notty.err")'"
check "not a terminal: one line" "$(wc -l < "$WORK/notty.err")" 1
check "not a terminal: command not started" "$(test -e "$WORK/ran" && echo ran || echo no)" no

start small 70 20 "LANG=C.UTF-8" -- sh -c "touch '$WORK/ran'"
check "too small: exit 1" "$(wait_rc small)" 1
grep -q "70x20.*at least 80x24.*--batch" "$WORK/small.err" && pass "too small: names sizes, suggests --batch" \
	|| fail "too small: message '$(cat "$WORK/small.err")'"
check "too small: command not started" "$(test -e "$WORK/ran" && echo ran || echo no)" no
check "too small: terminal settings kept" "$(cat "$WORK/small.tty" 2> /dev/null)" same

# --- a whole session -----------------------------------------------------
start main 120 40 "LANG=C.UTF-8" -- "$SHOWCASE" 10 3
expect main "overview: thread cards appear" "alloc-heavy"
for card in "PROCESS CPU" "GPU" "ALLOCATIONS" "LIVE HEAP" "RSS" "EFFICIENCY"; do
	expect main "overview card $card" "$card" 1
done
expect main "GPU without NVIDIA: n/a" "no NVIDIA GPU" 1
expect main "named threads: big-live" "[0-9]+ big-live" 1
expect main "named threads: cpu-spin" "[0-9]+ cpu-spin" 1
expect main "hostile thread name shown harmlessly" "bad\?\[7mname" 1
expect main "alert level on every card" "alloc-heavy +(OK|WARN|CRIT)" 1
expect main "output pane shows the command's lines" "showcase: tick [0-9]+" 3
expect main "live heap figure (48 MiB kept by big-live)" "4[89].[0-9] MiB" 3
cards_per_row() { screen_text main | grep -m1 "alloc-heavy" | grep -Eo " (OK|WARN|CRIT)( |$)" | wc -l; }
check "grid at 120 columns: 4 cards a row" "$(cards_per_row)" 4

tm send-keys -t main Tab
expect main "Tab: rankings view" "RANKINGS  top threads by allocs"
poll 5 ranked_first main alloc-heavy
first_ranked main | grep -q "alloc-heavy" && pass "ranked by allocs: alloc-heavy first" \
	|| fail "ranked by allocs: first row '$(first_ranked main)'"
tm send-keys -t main s
expect main "s: sort by bytes" "top threads by bytes"
poll 5 ranked_first main big-live
first_ranked main | grep -q "big-live" && pass "ranked by bytes: big-live first" \
	|| fail "ranked by bytes: first row '$(first_ranked main)'"
tm send-keys -t main s s
expect main "s s: sort by cpu" "top threads by cpu"
poll 5 ranked_first main cpu-spin
first_ranked main | grep -q "cpu-spin" && pass "ranked by CPU: cpu-spin first" \
	|| fail "ranked by CPU: first row '$(first_ranked main)'"

tm send-keys -t main Enter
expect main "Enter: focus mode" "FOCUS  [0-9]+ "
expect main "focus: the thread's timelines" "allocations/s" 1
expect main "focus: stacks section" "TOP STACKS" 1
expect main "focus: stacks or an honest absence" "(#1  |no stacks sampled yet)" 3
expect main "focus: findings section" "FINDINGS" 1
tm send-keys -t main Escape
expect main "Esc: back to the view" "RANKINGS  top threads"

tm send-keys -t main '?'
expect main "?: help" "memtop keys"
tm send-keys -t main x
poll 5 gone main "memtop keys"
screen_text main | grep -q "memtop keys" && fail "help stays after a key" || pass "any key closes help"

tm send-keys -t main e
expect main "e: report written" "report written to memtop-[0-9]+\.html"
check "e: the report is in the current directory" \
	"$(ls "$WORK" | grep -c '^memtop-[0-9]*\.html$')" 1
tm send-keys -t main +
expect main "+: longer interval" "every 2s"
tm send-keys -t main -
expect main "-: shorter interval" "every 1s"
tm send-keys -t main Space
expect main "space: paused" "PAUSED"
tm send-keys -t main Space
poll 5 gone main "^ memtop .*PAUSED"
screen_text main | head -n 1 | grep -q PAUSED && fail "space did not resume" || pass "space resumes"

tm send-keys -t main Tab Tab Tab
expect main "Output view: the command's first line, made safe" "\?\[2J\?\[31mshowcase: starting"
expect main "Output view: stderr lines too" "showcase: stderr 1" 3
tm send-keys -t main Tab
expect main "Tab wraps to the overview" "THREADS  "
tm send-keys -t main / b i g Enter
expect main "/ filter by name" "THREADS  1 shown of"
tm send-keys -t main / Escape
expect main "Esc clears the filter" "THREADS  [2-9] shown of"

tm resize-window -t main -x 100 -y 30
expect main "resize: redrawn at the new size" "PROCESS CPU"
# "PROCESS CPU" is on the old frame too: wait for the new grid itself
three_a_row() { [ "$(cards_per_row)" = 3 ]; }
poll 5 three_a_row
check "grid at 100 columns: 3 cards a row" "$(cards_per_row)" 3
tm resize-window -t main -x 70 -y 20
expect main "resize below 80x24: says so" "Terminal too small: 70x20"
tm resize-window -t main -x 120 -y 40
expect main "resize back: views return" "PROCESS CPU"

expect main "the command's end is reported" "exited with status 3" 12
expect main "final figures stay on screen" "alloc-heavy" 1
expect main "q is offered" "q quits" 1
sleep 1
screen_text main | grep -q "after memtop" && fail "memtop left before q" || pass "memtop waits for q"
tm send-keys -t main q
check "exit status is the command's" "$(wait_rc main)" 3
check "terminal settings restored" "$(cat "$WORK/main.tty" 2> /dev/null)" same
expect main "shell prompt back" "after memtop" 3
screen_text main | grep -q "PROCESS CPU" && fail "viewer left on screen after q" || pass "screen restored after q"
out=$(sed -n 's/^memtop: the output of .* is in \(.*\)$/\1/p' "$WORK/main.err")
[ -n "$out" ] && [ -f "$out" ] && pass "output file named on exit ($out)" \
	|| fail "output file: stderr was '$(cat "$WORK/main.err")'"
grep -q "exited with status 3" "$WORK/main.err" && pass "end reported on exit" || fail "end not on stderr"
if [ -n "$out" ] && [ -f "$out" ]; then
	grep -q "showcase: tick 1$" "$out" && pass "file keeps stdout" || fail "file lacks stdout"
	grep -q "showcase: stderr 1$" "$out" && pass "file keeps stderr" || fail "file lacks stderr"
	grep -q "exiting with status 3" "$out" && pass "file keeps the last line" || fail "file lacks the last line"
	printf '\033[2J' > "$WORK/esc"
	grep -qF "$(cat "$WORK/esc")" "$out" && pass "file keeps output verbatim" || fail "file not verbatim"
fi

# --- --duration: leave the command running; status 0 ---------------------
start dur 100 30 "LANG=C.UTF-8" --duration 2 -d 0.5 -- "$SHOWCASE" 0 0
check "--duration: exit 0" "$(wait_rc dur)" 0
pid=$(sed -n 's/^memtop: stopped watching (--duration); pid \([0-9]*\) keeps running$/\1/p' "$WORK/dur.err")
if [ -n "$pid" ] && kill -0 "$pid" 2> /dev/null; then
	pass "--duration: the command keeps running"
	kill "$pid"
else
	fail "--duration: stderr '$(cat "$WORK/dur.err")'"
fi
grep -q "output of .* goes on in $WORK/memtop-output" "$WORK/dur.err" && pass "--duration: output file named" \
	|| fail "--duration: no output file on stderr"

# --- SIGTERM to memtop: passed on; memtop ends with the command ----------
start term 100 30 "LANG=C.UTF-8" -- "$SHOWCASE" 0 0
expect term "second session up" "alloc-heavy"
mpid=$(pgrep -f "^$MEMTOP -- $SHOWCASE 0 0" | head -n 1)
kill -TERM "$mpid"
check "SIGTERM: memtop exits with the command's 128+15" "$(wait_rc term)" 143
check "SIGTERM: terminal settings restored" "$(cat "$WORK/term.tty" 2> /dev/null)" same
grep -q "killed by signal 15" "$WORK/term.err" && pass "SIGTERM: end reported" || fail "SIGTERM: '$(cat "$WORK/term.err")'"

# --- a command line wider than the terminal: how it ended stays visible ---
start long 100 30 "LANG=C.UTF-8" -- sh -c 'exit 4' sh "$(printf 'arg%0200d' 0)"
expect long "long command line: its end on the status row" \
	"^ exited with status 4; final figures shown\. q quits\.  sh -c 'exit 4' sh arg000" 10
tm send-keys -t long q
check "long command line: exit status" "$(wait_rc long)" 4

# --- NO_COLOR and an ASCII locale ----------------------------------------
has_colour() { tm capture-pane -e -p -t "$1" | grep -Eq "$(printf '\033')\[([0-9;]*;)?(3[0-7]|4[0-7]|9[0-7])(;[0-9;]*)?m"; }
start col 100 30 "LANG=C.UTF-8" --duration 3 -- "$SHOWCASE" 2 0
expect col "colour session up" "alloc-heavy"
has_colour col && pass "colours by default" || fail "no colour without NO_COLOR"
start mono 100 30 "LC_ALL=C NO_COLOR=1" --duration 3 -- "$SHOWCASE" 2 0
expect mono "NO_COLOR session up" "alloc-heavy"
has_colour mono && fail "NO_COLOR: colours sent" || pass "NO_COLOR: no colours"
screen_text mono | LC_ALL=C grep -q '[^ -~]' && fail "C locale: non-ASCII on screen" || pass "C locale: ASCII only"
wait_rc col > /dev/null
wait_rc mono > /dev/null
finish
