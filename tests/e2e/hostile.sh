#!/bin/sh
# hostile.sh - input memtop does not control: thread names chosen by the
# program (markup, quotes, control characters, bytes that are not UTF-8)
# in the JSON, text and HTML reports and on the viewer's screen (in tmux),
# output paths that are symbolic links, directories, in a missing or
# read-only directory, existing files or files that appear during the
# session (devices and pipes still written), every option given nonsense,
# files at a process's segment name that are not segments this memtop can
# read or belong to another user, and command arguments and paths with a
# newline or an escape sequence, which memtop's messages (--batch and, in
# tmux, the viewer's report on exit) must quote on one line, made
# safe.  (The viewer's other screens are checked in viewer.sh, the HTML
# page in a browser in html.sh.)
. "$(dirname "$0")/lib.sh"

# ---------------------------------------------------------------- thread names
"$MEMTOP" --batch --json -d 0.3 -o "$WORK/names.json" -e "$WORK/names.html" \
	-- "$PROGS/hostnames" 0.7 > "$WORK/names.out" 2> "$WORK/names.err"
check "names: exit status" "$?" 0
check "names: program output" "$(cat "$WORK/names.out")" "HOSTNAMES threads=10"
check "names: the HTML report written" "$(cat "$WORK/names.err")" \
	"memtop: report written to $WORK/names.html"
# q reads every line as strict JSON from UTF-8: a raw control character or
# a byte that is not UTF-8 would already fail here.
check "names: every record is valid JSON" "$(q "$WORK/names.json" "len(records) >= 3")" true
check "names: no raw control byte in the JSON" \
	"$(python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); print(sum(1 for b in d if b < 32 and b != 10 or b == 127))' "$WORK/names.json")" 0
# The names as the kernel keeps them (15 bytes), decoded back: escaped, not
# altered; bytes that are not UTF-8 become U+FFFD.
python3 - "$WORK/names.json" > "$WORK/names.check" <<'PY'
import json, sys
want = ["<script>x</scr", "a\"b\\c'd", "tab\there", "nl\nx\rcr\x1b[2J", "\x7fdel\x01\x02\x03",
        "\ufffd\ufffdbad-utf8", "\u00e9t\u00e9", "%s%n%x%p", "", "<img src=x>&"]
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
s = recs[-1]
for name in want:
    ts = [t for t in s["threads"] if t["name"] == name]
    print("found" if len(ts) == 1 and ts[0]["allocs"] == 100 else "MISSING", repr(name))
print("samples", all(sum(1 for t in r["threads"] if t["name"] in want) in (0, len(want))
                     for r in recs if r["type"] == "sample"))
PY
while read -r result name; do
	check "names: $name reported with its 100 allocations" "$result" found
done <<EOF
$(grep -v '^samples' "$WORK/names.check")
EOF
check "names: samples carry the same names" "$(sed -n 's/^samples //p' "$WORK/names.check")" True

# The HTML report of the same run: the names travel only inside its JSON
# data element (the page's script renders them as text), so the file must
# be UTF-8, hold no control byte but the page's own tabs and newlines, and
# give the names back exactly when that element is parsed.
python3 - "$WORK/names.html" "$WORK/names.json" > "$WORK/names.html.check" <<'PY'
import json, re, sys
raw = open(sys.argv[1], "rb").read()
try:
    page = raw.decode("utf-8")
    print("utf8 ok")
except UnicodeDecodeError as e:
    print("utf8", e)
    sys.exit()
print("controls", sum(1 for b in raw if (b < 32 and b not in (9, 10)) or b == 127))
m = re.search(r'<script type="application/json" id="memtop-data">(.*?)</script>', page, re.S)
text = m.group(1)
# strict JSON: a raw tab, newline or other control character inside a
# string would already fail here (the embedded summary keeps the newline
# that ends its --json line, between two values)
d = json.loads(text)
print("data controls", sum(1 for c in text if (ord(c) < 32 and c != "\n") or ord(c) == 127))
want = ["<script>x</scr", "a\"b\\c'd", "tab\there", "nl\nx\rcr\x1b[2J", "\x7fdel\x01\x02\x03",
        "\ufffd\ufffdbad-utf8", "\u00e9t\u00e9", "%s%n%x%p", "", "<img src=x>&"]
names = sorted(t["name"] for t in d["summary"]["threads"] if t["name"] != "hostnames")
print("names exact", names == sorted(want))
summary = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")][-1]
print("summary as --json", d["summary"] == summary)
print("thread entries", sorted(t["tid"] for t in d["threads"]) == sorted(t["tid"] for t in summary["threads"]))
print("markup", sum(page.count(s) for s in ("<script>x", "<img src=x>", "</scr\"")), page.lower().count("<script"))
PY
check "names html: valid UTF-8" "$(sed -n 's/^utf8 //p' "$WORK/names.html.check")" ok
check "names html: no control byte but the page's tabs and newlines" \
	"$(sed -n 's/^controls //p' "$WORK/names.html.check")" 0
check "names html: none in the data element but a newline between values" \
	"$(sed -n 's/^data controls //p' "$WORK/names.html.check")" 0
check "names html: the ten names decode back exactly" \
	"$(sed -n 's/^names exact //p' "$WORK/names.html.check")" True
check "names html: the embedded summary is the --json summary" \
	"$(sed -n 's/^summary as --json //p' "$WORK/names.html.check")" True
check "names html: every thread has its data entry" \
	"$(sed -n 's/^thread entries //p' "$WORK/names.html.check")" True
check "names html: no markup from the names, the page's three script elements only" \
	"$(sed -n 's/^markup //p' "$WORK/names.html.check")" "0 3"

# Text output: no control character reaches the terminal (they become '?'),
# markup is shown as it is.
"$MEMTOP" --batch -d 0.3 -o "$WORK/names.txt" -- "$PROGS/hostnames" 0.7 > /dev/null
check "names text: exit status" "$?" 0
check "names text: no control byte" \
	"$(python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); print(sum(1 for b in d if b < 32 and b != 10 or b == 127))' "$WORK/names.txt")" 0
grep -q ' <script>x</scr ' "$WORK/names.txt" && pass "names text: markup shown as text" \
	|| fail "names text: '<script>x</scr' row missing"
grep -q ' nl?x?cr?\[2J ' "$WORK/names.txt" && pass "names text: control characters shown as '?'" \
	|| fail "names text: control characters not replaced"
# Columns stay aligned whatever the name: the STATE column starts at the
# same display column on every thread row (é is one column, two bytes).
check "names text: rows aligned with a UTF-8 name" \
	"$(python3 - "$WORK/names.txt" <<'PY'
import sys
cols = set()
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    for state in (" run ", " sleep ", " exited ", " zombie ", " stopped "):
        i = line.find(state)
        if i > 0 and line[:9].strip().isdigit():
            cols.add(i)
            break
print(len(cols))
PY
)" 1

# ---------------------------------------------------------------- output paths
# -o onto a symbolic link: refused, the link's target untouched, the
# command not started.
echo precious > "$WORK/victim"
ln -s "$WORK/victim" "$WORK/link"
"$MEMTOP" --batch -o "$WORK/link" -- sh -c "touch '$WORK/ran-link'" 2> "$WORK/err"
check "symlink: exit 1" "$?" 1
check "symlink: target untouched" "$(cat "$WORK/victim")" precious
[ ! -e "$WORK/ran-link" ] && pass "symlink: command not started" || fail "symlink: command ran"
grep -q "cannot write $WORK/link" "$WORK/err" && pass "symlink: names the file" \
	|| fail "symlink: message '$(cat "$WORK/err")'"
# a dangling link must not create its target
ln -s "$WORK/nowhere.json" "$WORK/dangling"
"$MEMTOP" --batch -o "$WORK/dangling" -- true 2> /dev/null
check "dangling symlink: exit 1" "$?" 1
[ ! -e "$WORK/nowhere.json" ] && pass "dangling symlink: nothing created through it" \
	|| fail "dangling symlink: followed"
# -o onto a directory
mkdir "$WORK/adir"
"$MEMTOP" --batch -o "$WORK/adir" -- true 2> "$WORK/err"
check "directory: exit 1" "$?" 1
grep -q "cannot write $WORK/adir: Is a directory" "$WORK/err" && pass "directory: says so" \
	|| fail "directory: message '$(cat "$WORK/err")'"

# An existing file is not replaced unless asked (--force): refused before
# the command runs, the file untouched; with --force it is replaced
# entirely (truncate, then write), nothing of the old content left.
python3 -c 'print("old " * 100000)' > "$WORK/existing.json"
before=$(cksum < "$WORK/existing.json")
"$MEMTOP" --batch --json -o "$WORK/existing.json" -- sh -c "touch '$WORK/ran-existing'" \
	2> "$WORK/err"
check "existing file: exit status" "$?" 1
check "existing file: says to use --force" "$(grep -c -- 'exists; use --force' "$WORK/err")" 1
check "existing file: untouched" "$(cksum < "$WORK/existing.json")" "$before"
check "existing file: command not run" "$([ -e "$WORK/ran-existing" ] && echo ran || echo no)" no
"$MEMTOP" --batch --json --force -o "$WORK/existing.json" -- true
check "existing file with --force: exit status" "$?" 0
check "existing file with --force: replaced by the report alone" \
	"$(q "$WORK/existing.json" "[r['type'] for r in records]")" "['summary']"
# An existing -e file: refused before the command runs (it would create
# the marker), the file untouched, the message naming -e and --force.
echo "an older report" > "$WORK/existing.html"
before=$(cksum < "$WORK/existing.html")
"$MEMTOP" --batch -o /dev/null -e "$WORK/existing.html" -- sh -c "touch '$WORK/ran-html'" \
	2> "$WORK/err"
check "existing -e file: exit 1" "$?" 1
check "existing -e file: says so in one line" "$(cat "$WORK/err")" \
	"memtop: -e $WORK/existing.html: the file exists; use --force to replace it"
check "existing -e file: untouched" "$(cksum < "$WORK/existing.html")" "$before"
check "existing -e file: command not run" "$([ -e "$WORK/ran-html" ] && echo ran || echo no)" no
# ... and one that appears while the command runs, after that check: the
# report is not renamed over it (that would need --force) but kept beside
# it, and memtop says where (exit 1: the command itself succeeded).
"$MEMTOP" --batch -o /dev/null -e "$WORK/late.html" -- sh -c "echo mine > '$WORK/late.html'" \
	2> "$WORK/err"
check "-e file made during the session: exit 1" "$?" 1
check "-e file made during the session: left as it was" "$(cat "$WORK/late.html")" mine
kept=$(sed -n 's/^memtop: cannot write .*late\.html: the file exists (made since memtop started; use --force to replace it); the report is in \(.*\)$/\1/p' "$WORK/err")
[ -n "$kept" ] && [ "$(head -c 15 "$kept")" = "<!DOCTYPE html>" ] && tail -n 1 "$kept" | grep -q '</html>' \
	&& pass "-e file made during the session: the whole report kept in $kept" \
	|| fail "-e file made during the session: stderr '$(cat "$WORK/err")'"
rm -f "$kept"

# --collapsed and --pprof (memtop report) refuse a symbolic link as -o
# does, to a file or dangling, before the report is written.
"$MEMTOP" --batch -o /dev/null --trace "$WORK/trace" -- "$PROGS/tally" 10 > /dev/null 2>&1
check "a trace to report on" "$?" 0
for o in --collapsed --pprof; do
	"$MEMTOP" report "$o" "$WORK/link" "$WORK/trace" > "$WORK/out" 2> "$WORK/err"
	check "$o onto a symbolic link: exit 1" "$?" 1
	check "$o onto a symbolic link: says so in one line" "$(cat "$WORK/err")" \
		"memtop: cannot write $WORK/link: it is a symbolic link (give the path of the file itself)"
	check "$o onto a symbolic link: the target untouched" "$(cat "$WORK/victim")" precious
	check "$o onto a symbolic link: no report written before" "$(wc -c < "$WORK/out")" 0
	"$MEMTOP" report -o /dev/null --force "$o" "$WORK/dangling" "$WORK/trace" 2> /dev/null
	check "$o onto a dangling link, even with --force: exit 1" "$?" 1
	check "$o onto a dangling link: nothing created through it" \
		"$([ -e "$WORK/nowhere.json" ] && echo created || echo no)" no
done

# Devices and pipes are written, not replaced, and need no --force.
"$MEMTOP" --batch -o /dev/null -- true
check "-o /dev/null: exit 0" "$?" 0
check "-o /dev/stdout: the summary on standard output" \
	"$("$MEMTOP" --batch -o /dev/stdout -- true | grep -c '^memtop summary')" 1
mkfifo "$WORK/fifo"
cat "$WORK/fifo" > "$WORK/from-fifo" &
"$MEMTOP" --batch -o "$WORK/fifo" -- true
check "-o FIFO: exit 0" "$?" 0
wait
check "-o FIFO: the summary came through it" "$(grep -c '^memtop summary' "$WORK/from-fifo")" 1

# -e into a directory where no file can be made: refused before the
# command runs, nothing left there.  Root may write whatever the mode
# bits say, so as root the directory is a read-only mount.
mkdir "$WORK/ro"
if [ "$(id -u)" != 0 ]; then
	chmod 555 "$WORK/ro"
	"$MEMTOP" --batch -o /dev/null -e "$WORK/ro/r.html" -- sh -c "touch '$WORK/ran-ro'" \
		2> "$WORK/ro.err"
	echo $? > "$WORK/ro.rc"
	why="Permission denied"
elif unshare -m true 2> /dev/null; then
	unshare -m sh -c "mount -t tmpfs -o ro tmpfs '$WORK/ro' &&
		'$MEMTOP' --batch -o /dev/null -e '$WORK/ro/r.html' -- sh -c \"touch '$WORK/ran-ro'\" \
			2> '$WORK/ro.err'; echo \$? > '$WORK/ro.rc'"
	why="Read-only file system"
else
	why=
	echo "skip: -e into a read-only directory: root without unshare -m cannot make one"
fi
if [ -n "$why" ]; then
	check "-e, read-only directory: exit 1" "$(cat "$WORK/ro.rc")" 1
	check "-e, read-only directory: says so in one line" "$(cat "$WORK/ro.err")" \
		"memtop: cannot write $WORK/ro/r.html (no new file can be made in $WORK/ro): $why"
	check "-e, read-only directory: command not run" \
		"$([ -e "$WORK/ran-ro" ] && echo ran || echo no)" no
	check "-e, read-only directory: nothing made there" "$(ls -A "$WORK/ro" | wc -l)" 0
fi
chmod 755 "$WORK/ro"

# ---------------------------------------------------------------- option fuzzing
# usage NAME PATTERN ARGS...: exit 2, one line on stderr naming PATTERN,
# nothing on stdout, the command not run.
usage() {
	desc=$1; pat=$2; shift 2
	rm -f "$WORK/ran"
	"$MEMTOP" "$@" < /dev/null > "$WORK/out" 2> "$WORK/err"
	rc=$?
	ok=1
	[ "$rc" = 2 ] || ok=0
	[ "$(wc -l < "$WORK/err")" = 1 ] || ok=0
	[ ! -s "$WORK/out" ] || ok=0
	[ ! -e "$WORK/ran" ] || ok=0
	grep -q -- "$pat" "$WORK/err" || ok=0
	if [ $ok = 1 ]; then
		pass "$desc"
	else
		fail "$desc: exit $rc, stderr '$(head -c 300 "$WORK/err")', stdout $(wc -c < "$WORK/out") bytes"
	fi
}
# Every option that takes a value, as --help lists them (new ones are
# fuzzed too): paths (FILE, DIR) may be anything but empty, and "-" only
# where it means standard output (-o, and --collapsed when the report goes
# elsewhere); every other value is a number, and these are not numbers, or
# not sensible ones: hexadecimal, a '+' sign and a value that a double
# cannot tell from 0 are refused like the rest.
"$MEMTOP" --help | sed -n 's/^ *\(-[a-zA-Z], \)\{0,1\}\(--[a-z-]*\) \([A-Z][A-Z.a-z]*\).*/\2 \3/p' \
	> "$WORK/options"
check "options with values found in --help" \
	"$(grep -c -e '^--interval SECS' -e '^--output FILE' -e '^--attach PID' -e '^--sample-small R' "$WORK/options")" 4
while read -r long meta; do
	short=$("$MEMTOP" --help | sed -n "s/^ *\(-[a-zA-Z]\), $long .*/\1/p")
	for o in $long $short; do
		case $meta in
		FILE*|DIR)
			usage "$o '': refused" "$long" --batch "$o" "" -- sh -c "touch '$WORK/ran'"
			case $long in
			--output) ;;
			--collapsed)
				usage "$o '-' with the report on standard output: refused" \
					"$long -: standard output already takes the report" \
					report "$o" - "$WORK/no-trace" ;;
			*)
				usage "$o '-': refused" "$long: '-' (standard output) is not possible here" \
					--batch "$o" - -- sh -c "touch '$WORK/ran'" ;;
			esac ;;
		*)
			for v in "" -1 -0.5 nan NaN -nan inf -inf infinity 1e999 -1e999 \
				99999999999999999999999 abc 1s " 1" "1 " 1,5 0.5.5 "1 2" 0x 1e "$(printf '\t')" \
				0x10 0x1p3 +1 1e-400 1e-310; do
				usage "$o '$v': refused" "$long" --batch "$o" "$v" -- sh -c "touch '$WORK/ran'"
			done ;;
		esac
		usage "$o without its value" "$long" --batch "$o"
	done
	usage "$long=(empty)" "$long" --batch "$long=" -- true
done < "$WORK/options"
# Paths that cannot be written, for every path option --help lists: a
# directory that does not exist, and an existing directory (for -t, whose
# DIR may well exist, a regular file).  Not usage errors but refusals
# (exit 1) before anything runs: one line naming the path and why,
# nothing on standard output, the command not run.  --collapsed and
# --pprof are memtop report's, whose text report would go to standard
# output first.
# refused NAME PATH REASON ARGS...: as usage, with exit 1, PATH and
# REASON (grep -E) in the message
refused() {
	desc=$1; path=$2; why=$3; shift 3
	rm -f "$WORK/ran"
	"$MEMTOP" "$@" < /dev/null > "$WORK/out" 2> "$WORK/err"
	rc=$?
	if [ "$rc" = 1 ] && [ "$(wc -l < "$WORK/err")" = 1 ] && [ ! -s "$WORK/out" ] &&
		[ ! -e "$WORK/ran" ] && grep -qF -- "$path" "$WORK/err" && grep -qE -- "$why" "$WORK/err"; then
		pass "$desc"
	else
		fail "$desc: exit $rc, stderr '$(head -c 300 "$WORK/err")', stdout $(wc -c < "$WORK/out") bytes"
	fi
}
"$MEMTOP" --batch -o /dev/null --trace "$WORK/fuzz-trace" -- "$PROGS/tally" 10 > /dev/null 2>&1
check "a trace to report on" "$?" 0
mkdir -p "$WORK/fuzz-dir"
: > "$WORK/fuzz-file"
while read -r long meta; do
	short=$("$MEMTOP" --help | sed -n "s/^ *\(-[a-zA-Z]\), $long .*/\1/p")
	for o in $long $short; do
		case $meta in
		FILE*)
			case $long in
			--collapsed|--pprof) run="report $o" ;;
			*) run="--batch $o" ;;
			esac
			for where in "$WORK/missing/x" "$WORK/fuzz-dir"; do
				case $where in
				*/missing/*) why="No such file or directory"; what="in a missing directory" ;;
				*) why="Is a directory|not a regular file"; what="onto a directory" ;;
				esac
				if [ "${run%% *}" = report ]; then
					refused "$o $what: refused" "$where" "$why" $run "$where" "$WORK/fuzz-trace"
				else
					refused "$o $what: refused" "$where" "$why" \
						$run "$where" -- sh -c "touch '$WORK/ran'"
				fi
			done ;;
		DIR)
			refused "$o into a missing directory: refused" "$WORK/missing/t" \
				"No such file or directory" --batch "$o" "$WORK/missing/t" -- sh -c "touch '$WORK/ran'"
			refused "$o onto a regular file: refused" "$WORK/fuzz-file" "not a directory" \
				--batch "$o" "$WORK/fuzz-file" -- sh -c "touch '$WORK/ran'" ;;
		esac
	done
done < "$WORK/options"
check "nothing made for a refused path" "$(ls -A "$WORK/fuzz-dir" | wc -l) $([ -e "$WORK/missing" ] && echo made || echo none)" "0 none"
# out of range, though numbers
usage "interval below 0.05 s" --interval --batch -d 0.01 -- true
usage "interval above an hour" --interval --batch -d 3601 -- true
usage "duration 0" --duration --batch --duration 0 -- true
usage "rate above 1" --sample-medium --batch --sample-medium 1.5 -- true
usage "medium threshold not below large" --medium-threshold \
	--batch --medium-threshold 65536 --large-threshold 2048 -- true
usage "attach pid 0" --attach --attach 0
usage "attach pid above INT_MAX" --attach --attach 4294967296
# flags given values, unknown and ambiguous options
for flag in batch json no-stacks force overwrite-trace help version; do
	usage "--$flag=yes" "--$flag" "--$flag=yes" -- true
done
usage "unknown long option" --frobnicate --batch --frobnicate 3 -- true
usage "unknown short option" "'-x'" --batch -x -- true
usage "ambiguous prefix" "--sample" --batch --sample 0.5 -- true
usage "empty option name" "option '--" --batch --= -- true
# Values are quoted in the message as they were typed: a newline in one
# breaks the one-line rule, an escape sequence reaches the terminal.
"$MEMTOP" --batch -d "$(printf '1\n2')" -- true 2> "$WORK/err"
check "value with a newline: exit 2" "$?" 2
check "value with a newline: message on one line" "$(wc -l < "$WORK/err")" 1
"$MEMTOP" --batch -d "$(printf '\033[31mred')" -- true 2> "$WORK/err"
check "value with an escape sequence: exit 2" "$?" 2
check "value with an escape sequence: not echoed raw" \
	"$(python3 -c 'import sys; print(b"\x1b" in open(sys.argv[1], "rb").read())' "$WORK/err")" False

# ---------------------------------------------------------------- foreign segments
# A file at a process's segment name that is not a segment this memtop can
# read (another program's, a damaged one, another memtop version's):
# --attach refuses it with one line naming the file and why, before it
# touches the process (no collector injected), and leaves the file as it
# is.  The target is a plain sleep, which has no collector of its own.
# plant FILE KIND: write FILE in one rename, mode 0600 and owned by this
# user, so that only its content is wrong.
layout() { sed -n "s/^#define $1 *\([0-9a-fx]*\)[uU]*L*.*/\1/p" "$top_srcdir/preload/shm_layout.h"; }
MT_MAGIC=$(layout MT_MAGIC)
MT_HEADER_SIZE=$(layout MT_HEADER_SIZE)
MT_LAYOUT_VERSION=$(layout MT_LAYOUT_VERSION)
plant() {
	python3 - "$1.tmp" "$2" "$MT_MAGIC" "$MT_HEADER_SIZE" <<'PY'
import os, struct, sys
path, kind = sys.argv[1], sys.argv[2]
MAGIC, HEADER = int(sys.argv[3], 16), int(sys.argv[4])
if kind == "bad-magic":
    data = b"not a memtop segment " * 4000
elif kind == "short":
    data = b"short"
elif kind == "empty-header":       # sized, never filled in
    data = bytes(HEADER)
elif kind == "version-99":         # magic, then layout_version
    b = bytearray(HEADER)
    struct.pack_into("<QI", b, 0, MAGIC, 99)
    data = bytes(b)
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, data)
os.close(fd)
PY
	mv "$1.tmp" "$1"
}
sleep 30 &
SLEEPER=$!
SEG=/dev/shm/memtop.$SLEEPER
trap 'kill "$SLEEPER" 2> /dev/null; rm -f "$SEG" "$SEG.tmp"; rm -rf "$WORK"' EXIT
for kind in bad-magic short empty-header version-99; do
	case $kind in
	bad-magic) why="$SEG is not a memtop segment (bad magic)" ;;
	short) why="$SEG is not a memtop segment (shorter than a header)" ;;
	empty-header) why="$SEG still has no memtop header after 1 s: not a collector's" ;;
	version-99) why="$SEG has layout version 99, this memtop reads $MT_LAYOUT_VERSION: use the memtop that matches the collector" ;;
	esac
	plant "$SEG" "$kind"
	before=$(cksum < "$SEG")
	"$MEMTOP" --attach "$SLEEPER" --batch -d 0.2 --duration 1 > "$WORK/out" 2> "$WORK/err"
	check "foreign segment, $kind: exit 1" "$?" 1
	check "foreign segment, $kind: refused in one line naming the file and why" \
		"$(cat "$WORK/err")" "memtop: --attach $SLEEPER: its segment is unusable: $why"
	check "foreign segment, $kind: no report" "$(wc -c < "$WORK/out")" 0
	check "foreign segment, $kind: the file left as it was" "$(cksum < "$SEG" 2> /dev/null)" "$before"
	check "foreign segment, $kind: the process still runs" \
		"$(kill -0 "$SLEEPER" 2> /dev/null && echo running || echo gone)" running
	check "foreign segment, $kind: no collector injected" "$(grep -c libmemtop "/proc/$SLEEPER/maps")" 0
	rm -f "$SEG"
done
kill "$SLEEPER"
wait "$SLEEPER" 2> /dev/null
trap 'rm -rf "$WORK"' EXIT

# A file at the segment name of a process about to start, owned by another
# user (root can open it, but nobody may trust it: that user can write
# figures into it or read them): the collector leaves it alone, says so on
# stderr, and the program runs unmonitored but otherwise as usual.  sh
# plants the file at its own pid (in one rename), then becomes the program.
if [ "$(id -u)" = 0 ] && id nobody > /dev/null 2>&1; then
	COLL="$top_builddir/preload/.libs/libmemtop.so"
	"$PROGS/tally" 10 > "$WORK/tally.plain"
	# own_plant: sh's start, which puts at its own segment name a small
	# file of nobody's, mode 0600 as a segment's
	trap 'rm -f "/dev/shm/memtop.$(cat "$WORK/planted.pid" 2> /dev/null)"; rm -rf "$WORK"' EXIT
	own_plant='f=/dev/shm/memtop.$$; t=/dev/shm/hostile-plant.$$
		echo $$ > "$WORK/planted.pid"
		printf "planted by another user\n" > "$t"; chmod 600 "$t"; chown nobody "$t"; mv -f "$t" "$f"'
	WORK="$WORK" sh -c "$own_plant
		exec env LD_PRELOAD='$COLL' MEMTOP_COLLECTOR_VERBOSE=1 '$PROGS/tally' 10" \
		> "$WORK/owned.out" 2> "$WORK/owned.err"
	check "other user's segment, collector preloaded: exit status" "$?" 0
	P=$(cat "$WORK/planted.pid")
	check "other user's segment, collector preloaded: program output as unmonitored" \
		"$(cat "$WORK/owned.out")" "$(cat "$WORK/tally.plain")"
	check "other user's segment, collector preloaded: refuses it and says so" \
		"$(cat "$WORK/owned.err")" \
		"memtop collector: cannot create /memtop.$P: a file of that name belongs to uid $(id -u nobody), not to this process's uid 0; not using it; this process runs on unmonitored"
	check "other user's segment, collector preloaded: the file left as it was" \
		"$(stat -c '%U %a' "/dev/shm/memtop.$P") $(cat "/dev/shm/memtop.$P")" \
		"nobody 600 planted by another user"
	rm -f "/dev/shm/memtop.$P"
	# Under memtop: sh has made its own segment at that name; the planted
	# file replaces it before the exec, so the program's collector finds
	# it there.
	"$MEMTOP" --batch -d 0.2 -o /dev/null -- env WORK="$WORK" sh -c "$own_plant
		exec '$PROGS/tally' 10" > "$WORK/owned.out" 2> "$WORK/owned.err"
	check "other user's segment, under memtop: the program's exit status" "$?" 0
	P=$(cat "$WORK/planted.pid")
	check "other user's segment, under memtop: program output as unmonitored" \
		"$(cat "$WORK/owned.out")" "$(cat "$WORK/tally.plain")"
	check "other user's segment, under memtop: the collector says so" \
		"$(grep -c "^memtop collector: cannot create /memtop.$P: a file of that name belongs to uid $(id -u nobody), not to this process's uid 0; not using it; this process runs on unmonitored$" "$WORK/owned.err")" 1
	check "other user's segment, under memtop: every stderr line a memtop message" \
		"$(grep -vc '^memtop' "$WORK/owned.err")" 0
	check "other user's segment, under memtop: the file left as it was" \
		"$(stat -c '%U %a' "/dev/shm/memtop.$P") $(cat "/dev/shm/memtop.$P")" \
		"nobody 600 planted by another user"
	rm -f "/dev/shm/memtop.$P"
	trap 'rm -rf "$WORK"' EXIT
else
	echo "skip: not root (or no user nobody): a segment of another user cannot be planted"
fi

# ---------------------------------------------------------------- echoed arguments
# Whatever memtop quotes on stderr (the command line, a path) comes out on
# one line, its control characters as '?', never a raw ESC.
has_esc() { python3 -c 'import sys; print(b"\x1b" in open(sys.argv[1], "rb").read())' "$1"; }
NL_ARG=$(printf 'a\nb')
ESC_ARG=$(printf '\033[31mred')
# --batch: a command that is not found is named in the message
"$MEMTOP" --batch -- "$(printf 'no\nsuch\033[31m')" "$ESC_ARG" > /dev/null 2> "$WORK/err"
check "batch, command not found: exit 127" "$?" 127
check "batch, command not found: one line" "$(wc -l < "$WORK/err")" 1
check "batch, command not found: no raw ESC" "$(has_esc "$WORK/err")" False
grep -q '^memtop: no?such?\[31m: command not found$' "$WORK/err" \
	&& pass "batch, command not found: named with '?' for the controls" \
	|| fail "batch, command not found: stderr '$(cat -v "$WORK/err")'"
# --batch: the summary names the command on one line
"$MEMTOP" --batch -- sh -c 'exit 4' sh "$NL_ARG" "$ESC_ARG" > "$WORK/out" 2> "$WORK/err"
check "batch, hostile arguments: exit 4" "$?" 4
check "batch, hostile arguments: summary names the command on one line" \
	"$(grep -c "^memtop summary - pid [0-9]* sh -c 'exit 4' sh 'a?b' '?\[31mred' - " "$WORK/out")" 1
check "batch, hostile arguments: no raw ESC on stdout" "$(has_esc "$WORK/out")" False
check "batch, hostile arguments: no raw ESC on stderr" "$(has_esc "$WORK/err")" False
# an existing -o file whose name has a newline and an escape sequence
BAD_PATH="$WORK/$(printf 'out\n\033[31m.txt')"
: > "$BAD_PATH"
"$MEMTOP" --batch -o "$BAD_PATH" -- true 2> "$WORK/err"
check "existing -o file, hostile name: exit 1" "$?" 1
check "existing -o file, hostile name: one line" "$(wc -l < "$WORK/err")" 1
check "existing -o file, hostile name: no raw ESC" "$(has_esc "$WORK/err")" False
# --trace into a directory whose name has a newline and an escape sequence,
# and memtop report of it
BAD_DIR="$WORK/$(printf 'tr\n\033[31m')"
"$MEMTOP" --batch -o /dev/null --trace "$BAD_DIR" -- "$PROGS/tally" 10 > /dev/null 2> "$WORK/err"
check "--trace, hostile directory name: exit 0" "$?" 0
check "--trace, hostile directory name: one line" "$(wc -l < "$WORK/err")" 1
check "--trace, hostile directory name: no raw ESC" "$(has_esc "$WORK/err")" False
"$MEMTOP" report -o /dev/null --collapsed "$BAD_DIR/x" "$BAD_DIR" 2> "$WORK/err"
check "report, hostile directory name, --collapsed inside it: exit 0" "$?" 0
"$MEMTOP" report -o /dev/null --collapsed "$BAD_DIR/x" "$BAD_DIR" 2> "$WORK/err"
check "report, existing --collapsed file with a hostile path: exit 1" "$?" 1
check "report, existing --collapsed file with a hostile path: one line" "$(wc -l < "$WORK/err")" 1
check "report, existing --collapsed file with a hostile path: no raw ESC" "$(has_esc "$WORK/err")" False

# The viewer, in tmux: it reports on stderr, once it has closed, how the
# command ended and where its output is, the command line quoted the same;
# and it shows hostile thread names on screen with their control
# characters as '?', without one of them reaching the terminal.
if command -v tmux > /dev/null 2>&1; then
	tm() { tmux -S "$WORK/tmux.sock" "$@"; }
	trap 'tm kill-server 2> /dev/null; rm -rf "$WORK"' EXIT
	# vstart SESSION W H MEMTOP-ARGS...: memtop in a new tmux session, its
	# stderr to $WORK/SESSION.err, its exit status to $WORK/SESSION.rc
	vstart() {
		v=$1; w=$2; h=$3; shift 3
		cat > "$WORK/$v.sh" <<-SCRIPT
		cd "$WORK"
		"$MEMTOP" "\$@" 2> "$WORK/$v.err"
		echo \$? > "$WORK/$v.rc.tmp"
		mv "$WORK/$v.rc.tmp" "$WORK/$v.rc"
		exec sleep 600
		SCRIPT
		tm new-session -d -s "$v" -x "$w" -y "$h" env TMPDIR="$WORK" LANG=C.UTF-8 \
			sh "$WORK/$v.sh" "$@"
	}
	# vwait SESSION PATTERN: until the pane shows PATTERN (10 s at most)
	vwait() {
		n=0
		until tm capture-pane -p -t "$1" | grep -q -- "$2" || [ "$n" -ge 100 ]; do
			sleep 0.1
			n=$((n + 1))
		done
	}
	# vquit SESSION: q, then memtop's exit status
	vquit() {
		tm send-keys -t "$1" q
		n=0
		while [ ! -f "$WORK/$1.rc" ] && [ "$n" -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
		cat "$WORK/$1.rc" 2> /dev/null || echo none
	}
	vstart hv 100 30 -- sh -c 'exit 4' sh "$NL_ARG" "$ESC_ARG"
	vwait hv "q quits"
	check "viewer, hostile arguments: exit 4" "$(vquit hv)" 4
	check "viewer, hostile arguments: no raw ESC on stderr" "$(has_esc "$WORK/hv.err")" False
	check "viewer, hostile arguments: the end reported on one line" \
		"$(grep -c "^memtop: sh -c 'exit 4' sh 'a?b' '?\[31mred' exited with status 4\$" "$WORK/hv.err")" 1
	check "viewer, hostile arguments: every stderr line a memtop message" \
		"$(grep -vc '^memtop: ' "$WORK/hv.err")" 0

	# The ten names, once the program has ended (its final figures stay on
	# screen): the overview's cards, then the rankings, where each name has
	# a column of its own.  A control character that reached tmux would
	# move the cursor, clear the screen (ESC [2J) or cut a row (newline):
	# the title and tab lines would be blanked, a row shifted.
	vstart hn 160 40 -d 0.2 -- "$PROGS/hostnames" 0.5
	vwait hn "q quits"
	tm capture-pane -p -t hn > "$WORK/hn.overview"
	tm send-keys -t hn Tab
	vwait hn "RANKINGS"
	tm capture-pane -p -t hn > "$WORK/hn.rankings"
	check "viewer, hostile names: exit 0" "$(vquit hn)" 0
	python3 - "$WORK/hn.overview" "$WORK/hn.rankings" > "$WORK/hn.check" <<'PY'
import re, sys
overview = open(sys.argv[1], encoding="utf-8").read().split("\n")
rankings = open(sys.argv[2], encoding="utf-8").read().split("\n")
# as the JSON has them (hostile.sh's first check), control characters and
# bytes that are not UTF-8 shown as '?'
shown = ["<script>x</scr", "a\"b\\c'd", "tab?here", "nl?x?cr?[2J", "?del???",
         "??bad-utf8", "\u00e9t\u00e9", "%s%n%x%p", "", "<img src=x>&"]
for name, screen in (("overview", overview), ("rankings", rankings)):
    print(name, "title", bool(re.match(r" memtop pid \d+  \[exited with status 0\]  \S*hostnames 0\.5 +\S+  every 0\.2s$",
                                        screen[0].rstrip())))
    print(name, "tabs", screen[1].startswith("  Overview   Rankings   Patterns   System   Output"))
# a card's title: TID, the name cut to the card's width, the alert level
cards = [m.group(1) for line in overview[overview.index(next(l for l in overview if l.startswith("THREADS"))):]
         for m in re.finditer(r"(?:^| )\d+ (.*?) *\b(?:OK|WARN|CRIT|EXITED)\b", line)]
print("cards", sum(1 for n in shown if any(n.startswith(c) and len(c) >= min(len(n), 12) for c in cards)))
head = [i for i, l in enumerate(rankings) if " NAME " in l][0]
col = rankings[head].index(" NAME ") + 1
rows = {}
widths = set()
for line in rankings[head + 1:]:
    m = re.match(r" +\d+ +(\d+) $", line[:col])
    r = re.match(r"(.*?) +(\d+) +\S+/s ", line[col:])
    if m and r:
        rows[r.group(1)] = int(r.group(2))
        widths.add(len(line.rstrip()))
for n in shown:
    print("row", rows.get(n), repr(n))
print("rows", len(rows), "widths", len(widths))
PY
	for kind in overview rankings; do
		check "viewer, hostile names: $kind: title line intact" \
			"$(sed -n "s/^$kind title //p" "$WORK/hn.check")" True
		check "viewer, hostile names: $kind: tab line intact" \
			"$(sed -n "s/^$kind tabs //p" "$WORK/hn.check")" True
	done
	check "viewer, hostile names: a card for each name, cut at most to 12 columns" \
		"$(sed -n 's/^cards //p' "$WORK/hn.check")" 10
	while read -r tag allocs name; do
		check "viewer, hostile names: ranking row $name, 100 allocations" "$allocs" 100
	done <<-EOF
	$(grep '^row ' "$WORK/hn.check")
	EOF
	check "viewer, hostile names: eleven rows (ten names and main), all as wide" \
		"$(sed -n 's/^rows //p' "$WORK/hn.check")" "11 widths 1"
	check "viewer, hostile names: every stderr line a memtop message" \
		"$(grep -vc '^memtop: ' "$WORK/hn.err")" 0
else
	echo "SKIP: tmux is not installed: the viewer's messages and names are not checked"
fi
finish
