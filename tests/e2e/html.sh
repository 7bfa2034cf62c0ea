#!/bin/sh
# html.sh - the HTML report end to end: `memtop --batch -e FILE.html` on
# real programs, the file itself (self-contained, its embedded summary equal
# to the --json summary of the same run, hostile names only escaped), then
# the page in headless Chromium: it renders without a script error, one
# card per thread, #thread=TID opens that thread's analysis, the page's
# self-test clicks a card, a ranking header, a row, the filter and the
# close button; a thread named <b>x</b> shows as text; 1000 threads render.
#
# Without a Chromium the browser checks fail, unless MEMTOP_SKIP_BROWSER=1
# says to leave them out (the script then ends with status 77, "skipped").
# MEMTOP_CHROMIUM names the browser binary if it is not on PATH.
. "$(dirname "$0")/lib.sh"

CHROMIUM=${MEMTOP_CHROMIUM:-}
if [ -z "$CHROMIUM" ]; then
	for c in chromium chromium-browser google-chrome; do
		if command -v "$c" > /dev/null 2>&1; then
			CHROMIUM=$c
			break
		fi
	done
fi
BROWSER=yes
if [ -z "$CHROMIUM" ]; then
	if [ "${MEMTOP_SKIP_BROWSER:-}" = 1 ]; then
		echo "SKIP: no Chromium; browser checks left out (MEMTOP_SKIP_BROWSER=1)"
		BROWSER=no
	else
		fail "no Chromium found: install it (contrib/install-deps.sh installs Debian's chromium), name it with MEMTOP_CHROMIUM=PATH, or set MEMTOP_SKIP_BROWSER=1 to leave the browser checks out"
		BROWSER=no
	fi
fi

# dump URL OUT: the DOM after the page's script ran.
dump() {
	HOME="$WORK" timeout 180 "$CHROMIUM" --headless --disable-gpu --no-sandbox --no-first-run \
		--no-default-browser-check --disable-extensions --user-data-dir="$WORK/chromium-profile" \
		--virtual-time-budget=10000 --dump-dom "$1" > "$2" 2> "$2.err"
}

# The dumped DOM, parsed: dom FILE KEY prints one fact about it.
cat > "$WORK/dom.py" <<'PY'
import sys
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

class Dom(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []        # [tag, attrs, text parts, classes]
        self.body = {}
        self.cards = []        # text of each thread card's name
        self.card_classes = []
        self.focus = None      # attrs of aside#focus
        self.focus_text = []
        self.tags = {}
        self.b_x = 0           # <b> elements whose whole text is "x"
        self.in_focus = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag == "body":
            self.body = a
        if tag == "aside" and a.get("id") == "focus":
            self.focus = a
            self.in_focus = True
        if tag in VOID:
            return
        self.stack.append([tag, a, [], (a.get("class") or "").split()])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in VOID or not self.stack:
            return
        while self.stack:
            t, a, text, cls = self.stack.pop()
            s = "".join(text)
            if self.stack:
                self.stack[-1][2].append(s)
            if t == "div" and "name" in cls and self.stack and "tcard" in self.stack[-1][3]:
                self.cards.append(s)
            if t == "div" and "tcard" in cls:
                self.card_classes.append(cls)
            if t == "b" and s == "x":
                self.b_x += 1
            if t == "aside" and a.get("id") == "focus":
                self.focus_text = s
                self.in_focus = False
            if t == tag:
                break

    def handle_data(self, data):
        if self.stack:
            self.stack[-1][2].append(data)

d = Dom()
d.feed(open(sys.argv[1], encoding="utf-8").read())
d.close()
key = sys.argv[2]
if key == "rendered":
    print(d.body.get("data-rendered", "missing"))
elif key == "errors":
    print(d.body.get("data-errors", "none"))
elif key == "selftest":
    print(d.body.get("data-selftest", "missing"))
elif key == "render-ms":
    print(d.body.get("data-render-ms", "missing"))
elif key == "cards":
    print(len(d.cards))
elif key == "exited-cards":
    print(sum(1 for c in d.card_classes if "exited" in c))
elif key == "card-names":
    for n in d.cards:
        print(n)
elif key == "focus-tid":
    print("hidden" if d.focus is None or "hidden" in d.focus else d.focus.get("data-tid", "none"))
elif key == "focus-text":
    print(d.focus_text)
elif key == "b-x":
    print(d.b_x)
elif key == "tags":
    print(" ".join(f"{k}={v}" for k, v in sorted(d.tags.items())))
PY
dom() { python3 "$WORK/dom.py" "$@"; }

# The page's data element, as JSON: data FILE EXPR (names: d, the data;
# s, its summary).
data() {
	python3 - "$1" "$2" <<'PY'
import json, re, sys
page = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<script type="application/json" id="memtop-data">(.*?)</script>', page, re.S)
d = json.loads(m.group(1))
s = d["summary"]
r = eval(sys.argv[2])
print(str(r).lower() if isinstance(r, bool) else r)
PY
}

# ---------------------------------------------------------------- the file
"$MEMTOP" --batch --json -d 0.2 -o "$WORK/threads.jsonl" -e "$WORK/threads.html" \
	-- "$PROGS/threads" 4 2000 0.5 > "$WORK/threads.out" 2> "$WORK/threads.err"
check "threads: exit status" "$?" 0
check "threads: says where the report is" "$(cat "$WORK/threads.err")" \
	"memtop: report written to $WORK/threads.html"
check "threads: mode 0644" "$(stat -c %a "$WORK/threads.html")" 644
check "threads: no temporary file left" "$(ls -A "$WORK" | grep -c '^\.memtop-report')" 0
# self-contained: no URL but the SVG namespace, no src/href attribute
check "threads: nothing to fetch" "$(grep -oiE 'https?://[^"'"'"' ]*' "$WORK/threads.html" | sort -u | tr '\n' ' ')" \
	"http://www.w3.org/2000/svg "
check "threads: no src= or href=" "$(grep -ciE '(src|href)=' "$WORK/threads.html")" 0
check "threads: the embedded summary is the --json summary" \
	"$(data "$WORK/threads.html" 's == json.loads(open("'"$WORK/threads.jsonl"'").read().splitlines()[-1])')" true
check "threads: one data entry per thread, in the summary's order" \
	"$(data "$WORK/threads.html" '[t["tid"] for t in d["threads"]] == [t["tid"] for t in s["threads"]]')" true
check "threads: workers listed" \
	"$(data "$WORK/threads.html" 'sorted(t["name"] for t in s["threads"] if t["name"].startswith(("worker-", "renamed-")))')" \
	"['renamed-3', 'worker-0', 'worker-1', 'worker-2']"
check "threads: process timeline has points" \
	"$(data "$WORK/threads.html" 'len(d["process"]["timeline"]["t"]) >= 2 and len(set(map(len, d["process"]["timeline"].values()))) == 1')" true
check "threads: process histogram is the sum of the threads'" \
	"$(data "$WORK/threads.html" 'd["process"]["histogram"] == [sum(c) for c in zip(*[t["size_histogram"] for t in s["threads"]])]')" true
NTH=$(data "$WORK/threads.html" 'len(s["threads"])')
TID1=$(data "$WORK/threads.html" '[t["tid"] for t in s["threads"] if t["name"] == "worker-1"][0]')

# A thread name made of markup, quotes and a script end tag.
"$MEMTOP" --batch -d 0.2 -o /dev/null -e "$WORK/names.html" -- "$PROGS/namedthreads" 0.3 \
	'<b>x</b>' '</script><i>y' 'q"u'"'"'o&amp;' '<!--' > "$WORK/names.out" 2> "$WORK/names.err"
check "names: exit status" "$?" 0
check "names: program output" "$(cat "$WORK/names.out")" "NAMEDTHREADS threads=4"
check "names: no raw markup from the names in the file" \
	"$(grep -c -e '<b>x' -e '<i>y' -e '<!--' "$WORK/names.html")" 0
check "names: three script elements, the page's own" "$(grep -o -i '<script' "$WORK/names.html" | wc -l)" 3
printf '%s\n' '<b>x</b>' '</script><i>y' 'q"u'"'"'o&amp;' '<!--' > "$WORK/names.want"
check "names: names decode exactly" \
	"$(data "$WORK/names.html" 'sorted(t["name"] for t in s["threads"] if t["name"] != "namedthreads") == sorted(open("'"$WORK/names.want"'").read().splitlines())')" true
NAMES_TID=$(data "$WORK/names.html" '[t["tid"] for t in s["threads"] if t["name"] == "<b>x</b>"][0]')

# Refusals before the command starts: a symbolic link, a directory
# memtop cannot write into.
ln -s "$WORK/precious" "$WORK/link.html"
echo precious > "$WORK/precious"
"$MEMTOP" --batch -o /dev/null -e "$WORK/link.html" -- "$PROGS/threads" 1 10 > "$WORK/link.out" 2> "$WORK/link.err"
check "symlink: exit status 1" "$?" 1
check "symlink: command not started" "$(cat "$WORK/link.out")" ""
check "symlink: says why" "$(cat "$WORK/link.err")" \
	"memtop: refusing to write $WORK/link.html: it is a symbolic link (give the path of the file itself)"
check "symlink: target untouched" "$(cat "$WORK/precious")" precious
"$MEMTOP" --batch -o /dev/null -e /nonexistent-memtop-dir/r.html -- "$PROGS/threads" 1 10 > "$WORK/nodir.out" 2> "$WORK/nodir.err"
check "missing directory: exit status 1" "$?" 1
check "missing directory: command not started" "$(cat "$WORK/nodir.out")" ""
check "missing directory: says why" "$(cat "$WORK/nodir.err")" \
	"memtop: cannot write /nonexistent-memtop-dir/r.html (no new file can be made in /nonexistent-memtop-dir): No such file or directory"
# The directory goes away while the command runs: the report fails at the
# end; the command's own failure status wins over it.
mkdir "$WORK/gone"
"$MEMTOP" --batch -o /dev/null -e "$WORK/gone/r.html" -- sh -c 'rmdir "$1"; exit 3' sh "$WORK/gone" \
	> /dev/null 2> "$WORK/gone3.err"
check "vanished directory: the command's status kept" "$?" 3
mkdir "$WORK/gone"
"$MEMTOP" --batch -o /dev/null -e "$WORK/gone/r.html" -- sh -c 'rmdir "$1"' sh "$WORK/gone" \
	> /dev/null 2> "$WORK/gone0.err"
check "vanished directory: exit status 1 after a successful command" "$?" 1
check "vanished directory: says why" "$(cat "$WORK/gone0.err")" \
	"memtop: cannot write $WORK/gone/r.html (no new file can be made in $WORK/gone): No such file or directory"

# 1000 threads alive at once.
"$MEMTOP" --batch -d 0.5 -o /dev/null -e "$WORK/horde.html" -- "$PROGS/horde" 1000 1 > /dev/null 2>&1
check "horde: exit status" "$?" 0
check "horde: threads in the data" "$(data "$WORK/horde.html" 'len(s["threads"]) >= 1001')" true
NHORDE=$(data "$WORK/horde.html" 'len(s["threads"])')

# The viewer writes the report too, when q ends it.
if command -v tmux > /dev/null 2>&1; then
	SOCK="memtop-html-$$"
	trap 'tmux -L "$SOCK" kill-server 2> /dev/null; rm -rf "$WORK"' EXIT
	tmux -L "$SOCK" new-session -d -x 100 -y 30 -s v sh -c "cd '$WORK' && TMPDIR='$WORK' \
		'$MEMTOP' -e '$WORK/viewer.html' -- '$PROGS/threads' 2 500 0.2 2> '$WORK/viewer.err'; \
		echo \$? > '$WORK/viewer.rc.tmp'; mv '$WORK/viewer.rc.tmp' '$WORK/viewer.rc'; sleep 60"
	sleep 2
	tmux -L "$SOCK" send-keys -t v q
	n=0
	while [ ! -f "$WORK/viewer.rc" ] && [ "$n" -lt 150 ]; do sleep 0.1; n=$((n + 1)); done
	check "viewer: exit status" "$(cat "$WORK/viewer.rc" 2> /dev/null)" 0
	check "viewer: says where the report is" \
		"$(grep -c "^memtop: report written to $WORK/viewer.html\$" "$WORK/viewer.err")" 1
	check "viewer: the report has the ended command's summary" \
		"$(data "$WORK/viewer.html" 's["exit_status"] == 0 and len(s["threads"]) >= 3')" true
	tmux -L "$SOCK" kill-server 2> /dev/null
else
	echo "NOTE: tmux is not installed: the viewer's report is not checked here"
fi

# ---------------------------------------------------------------- the browser
if [ "$BROWSER" = yes ]; then
	URL="file://$WORK/threads.html"
	dump "$URL" "$WORK/threads.dom"
	check "page: browser exit status" "$?" 0
	check "page: rendered" "$(dom "$WORK/threads.dom" rendered)" ok
	check "page: no script error" "$(dom "$WORK/threads.dom" errors)" none
	check "page: one card per thread" "$(dom "$WORK/threads.dom" cards)" "$NTH"
	check "page: focus panel closed" "$(dom "$WORK/threads.dom" focus-tid)" hidden
	check "page: sections" "$(grep -o '<h2>[^<]*</h2>' "$WORK/threads.dom" | tr '\n' ' ')" \
		"<h2>Overview</h2> <h2>Bottlenecks</h2> <h2>Threads</h2> <h2>Top threads</h2> <h2>Memory patterns</h2> <h2>System summary</h2> <h2>Resource timelines</h2> <h2>Top call stacks</h2> "
	check "page: four timeline charts" "$(grep -o '<div class="chart"><h3>[^<]*' "$WORK/threads.dom" | sed 's/.*<h3>//' | tr '\n' ',')" \
		"Size histogram, all threads,Live heap,Allocation rate,RSS,CPU %,"

	dump "$URL#thread=$TID1" "$WORK/focus.dom"
	check "focus: rendered" "$(dom "$WORK/focus.dom" rendered)" ok
	check "focus: no script error" "$(dom "$WORK/focus.dom" errors)" none
	check "focus: #thread=TID opens that thread" "$(dom "$WORK/focus.dom" focus-tid)" "$TID1"
	FT=$(dom "$WORK/focus.dom" focus-text)
	for part in "Thread $TID1 · worker-1" "Timelines" "Top call stacks" "Bottlenecks and suggestions" "Sizes"; do
		case $FT in
		*"$part"*) pass "focus: shows '$part'" ;;
		*) fail "focus: '$part' missing from the focus panel" ;;
		esac
	done

	dump "$URL?selftest" "$WORK/selftest.dom"
	check "selftest: no script error" "$(dom "$WORK/selftest.dom" errors)" none
	check "selftest: clicks work" "$(dom "$WORK/selftest.dom" selftest)" \
		"pass: card sort-ascending sort-descending row filter close"
	check "selftest: the clicked card's analysis is open" "$(dom "$WORK/selftest.dom" focus-tid)" \
		"$(data "$WORK/threads.html" 's["threads"][0]["tid"]')"

	dump "file://$WORK/names.html?selftest#thread=$NAMES_TID" "$WORK/names.dom"
	check "names page: rendered" "$(dom "$WORK/names.dom" rendered)" ok
	check "names page: no script error" "$(dom "$WORK/names.dom" errors)" none
	check "names page: self-test" "$(dom "$WORK/names.dom" selftest | cut -c1-5)" "pass:"
	dom "$WORK/names.dom" card-names > "$WORK/names.cards"
	check "names page: every name is a card's text" "$(grep -cFxf "$WORK/names.want" "$WORK/names.cards")" 4
	check "names page: serialized escaped" "$(grep -q '&lt;b&gt;x&lt;/b&gt;' "$WORK/names.dom" && echo yes)" yes
	check "names page: no <b> element holding x" "$(dom "$WORK/names.dom" b-x)" 0
	check "names page: no <i> or extra <script> element" \
		"$(dom "$WORK/names.dom" tags | tr ' ' '\n' | grep -E '^(i|script)=')" "script=3"

	dump "file://$WORK/horde.html?selftest" "$WORK/horde.dom"
	check "horde page: rendered" "$(dom "$WORK/horde.dom" rendered)" ok
	check "horde page: no script error" "$(dom "$WORK/horde.dom" errors)" none
	check "horde page: one card per thread" "$(dom "$WORK/horde.dom" cards)" "$NHORDE"
	check "horde page: self-test" "$(dom "$WORK/horde.dom" selftest | cut -c1-5)" "pass:"
	MS=$(dom "$WORK/horde.dom" render-ms)
	if [ "$MS" -lt 5000 ] 2>/dev/null; then
		pass "horde page: drawn in $MS ms"
	else
		fail "horde page: drawing took '$MS' ms (limit 5000)"
	fi
fi

finish || exit 1
[ "$BROWSER" = yes ] || [ "$FAILED" -ne 0 ] || exit 77
