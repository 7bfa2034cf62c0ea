#!/bin/sh
# completion.sh - the bash completion (contrib/completion/memtop.bash):
# sourced into a plain bash (no bash-completion package), it registers
# itself for memtop and, called as bash calls it (COMP_WORDS, COMP_CWORD),
# offers the options, process ids for --attach, files for the options that
# take one, directories for --trace and for `memtop report`, and commands.
. "$(dirname "$0")/lib.sh"

if ! command -v bash >/dev/null 2>&1; then
	echo "skip: no bash"
	exit 77
fi

mkdir -p "$WORK/dir/sub" "$WORK/dir/trace1"
: > "$WORK/dir/report.html"
: > "$WORK/dir/run.jsonl"

# complete WORD...: the completions of the last word, one per line, sorted
complete_words() {
	bash --norc --noprofile -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_memtop
		printf "%s\n" "${COMPREPLY[@]}" | sort' \
		bash "$top_srcdir/contrib/completion/memtop.bash" "$@"
}

check "registered for memtop" \
	"$(bash --norc --noprofile -c ". '$top_srcdir/contrib/completion/memtop.bash'; complete -p memtop")" \
	"complete -F _memtop memtop"

opts=$(complete_words memtop --)
for o in --batch --json --attach --trace --export --output --interval --no-stacks --pprof --help; do
	echo "$opts" | grep -qx -- "$o" && pass "option $o offered" || fail "option $o missing"
done
check "options after a prefix" "$(complete_words memtop --no | tr '\n' ' ')" "--no-stacks "
check "options of the help text are all known" \
	"$("$MEMTOP" --help | grep -o -- '--[a-z][a-z-]*' | sort -u | while read -r o; do
		complete_words memtop "$o" | grep -qx -- "$o" || echo "$o"; done)" ""

# --attach: process ids from /proc, this shell's among them
sleep 30 &
spid=$!
check "--attach offers a running pid" "$(complete_words memtop --attach "$spid" | grep -cx "$spid")" 1
check "--attach offers only pids" "$(complete_words memtop --attach '' | grep -cv '^[0-9]*$')" 0
kill "$spid"

cd "$WORK/dir"
check "--export completes files" "$(complete_words memtop --export rep)" "report.html"
check "-o completes files" "$(complete_words memtop -b -o ru)" "run.jsonl"
check "--output=FILE (split at =)" "$(complete_words memtop --output = ru)" "run.jsonl"
check "--trace completes directories only" "$(complete_words memtop --trace '' | tr '\n' ' ')" "sub trace1 "
check "report completes directories" "$(complete_words memtop report tr)" "trace1"
check "report after options" "$(complete_words memtop report --json tr)" "trace1"
check "a number option offers nothing" "$(complete_words memtop -d '')" ""
check "first word: report or a command" "$(complete_words memtop repor)" "report"
complete_words memtop -- bas | grep -qx bash && pass "command after --" || fail "command after --"
check "the command's arguments are not memtop's options" \
	"$(complete_words memtop --batch -- ls --ba | grep -c -- --batch)" 0
finish
