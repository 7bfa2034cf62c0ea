#!/bin/sh
# stacks.sh - sampled call stacks end to end: two static functions in two
# named threads, found by name in top_stacks, in the right order, with
# estimates within 10% of the exact per-thread counters; live bytes of the
# blocks kept until exit; capture depth, the catch-all stack 0 and its
# count, --no-stacks and the text listing.
. "$(dirname "$0")/lib.sh"

"$MEMTOP" --batch --json -o "$WORK/s.json" -- "$PROGS/twosites" > "$WORK/s.out"
check "exit status" "$?" 0
J="$WORK/s.json"
# the stack whose innermost frame is FUNC
st() { echo "[x for x in s['top_stacks'] if x['frames'] and x['frames'][0].startswith('$1 ')][0]"; }
check "small_many is a top stack" \
	"$(q "$J" "any(x['frames'] and x['frames'][0].startswith('small_many ') for x in s['top_stacks'])")" true
check "big_few is a top stack" \
	"$(q "$J" "any(x['frames'] and x['frames'][0].startswith('big_few ') for x in s['top_stacks'])")" true
check "ordered by bytes: big_few before small_many" \
	"$(q "$J" "s['top_stacks'].index($(st big_few)) < s['top_stacks'].index($(st small_many))")" true
check "sorted by bytes_est" \
	"$(q "$J" "all(a['bytes_est'] >= b['bytes_est'] for a, b in zip(s['top_stacks'], s['top_stacks'][1:]))")" true
check "frames carry file:line and module" \
	"$(q "$J" "$(st small_many)['frames'][0].endswith('(twosites)') and ' at twosites.c:' in $(st small_many)['frames'][0]")" true
check "the caller of small_many is the thread function" \
	"$(q "$J" "$(st small_many)['frames'][1].startswith('run ')")" true
within() { # FUNC FIELD THREAD COUNTER
	q "$J" "abs($(st "$1")['$2'] - thread(s, '$3')['$4']) <= 0.10 * thread(s, '$3')['$4']"
}
check "small_many allocs_est within 10% of its thread's allocs" "$(within small_many allocs_est smallsite allocs)" true
check "small_many bytes_est within 10% of its thread's bytes" "$(within small_many bytes_est smallsite bytes_allocated)" true
check "big_few allocs_est within 10% of its thread's allocs" "$(within big_few allocs_est bigsite allocs)" true
check "big_few bytes_est within 10% of its thread's bytes" "$(within big_few bytes_est bigsite bytes_allocated)" true
check "big_few live_bytes_est: the 50 kept blocks" \
	"$(q "$J" "abs($(st big_few)['live_bytes_est'] - 50 * 40000) <= 0.10 * 50 * 40000")" true
check "small_many leaves nothing live" "$(q "$J" "$(st small_many)['live_bytes_est'] <= 0.01 * $(st small_many)['bytes_est']")" true
check "small allocations are sampled, not all captured" \
	"$(q "$J" "$(st small_many)['samples'] < 0.1 * thread(s, 'smallsite')['allocs']")" true
check "per-thread top stacks name the thread's function" \
	"$(q "$J" "thread(s, 'bigsite')['top_stacks'][0]['frames'][0].startswith('big_few ')")" true
check "sampling parameters reported" "$(q "$J" "s['sampling']['small'] == 0.01 and s['sampling']['depth'] == 64")" true

# depth limit: frames cut and marked truncated
"$MEMTOP" --batch --json --stack-depth 1 -o "$WORK/d.json" -- "$PROGS/twosites" 20000 200 > /dev/null
check "depth 1 exit status" "$?" 0
# The check is on big_few's and small_many's stacks: another stack may
# show more frames than the one captured (a call inlined into its caller,
# as in libc's stdio, is listed as its own frame; seen in CI) or be
# untruncated (one with a single frame to begin with, or the catch-all).
check "depth 1: big_few's and small_many's stacks cut to one frame, marked truncated" \
	"$(q "$WORK/d.json" "sorted(x['frames'][0].split()[0] for x in s['top_stacks'] if len(x['frames']) == 1 and x['truncated'] and x['frames'][0].split()[0] in ('big_few', 'small_many'))")" \
	"['big_few', 'small_many']"

# run through a symbolic link (as Debian's redis-server, a link to
# redis-check-rdb): frames name the program as it was run, and still
# resolve to file:line
ln -s "$PROGS/twosites" "$WORK/twosites-link"
"$MEMTOP" --batch --json -o "$WORK/link.json" -- "$WORK/twosites-link" 20000 200 > /dev/null
check "through a link: exit status" "$?" 0
check "through a link: frames name the link, with file and line" \
	"$(q "$WORK/link.json" "any(f.startswith('big_few at twosites.c:') and f.endswith(' (twosites-link)') for x in s['top_stacks'] for f in x['frames'][:1])")" true

# capture everything: estimates become exact counts
"$MEMTOP" --batch --json --sample-small 1 --sample-medium 1 -o "$WORK/a.json" -- "$PROGS/twosites" 20000 200 > /dev/null
check "rates 1: small_many allocs_est exact" \
	"$(q "$WORK/a.json" "[x for x in s['top_stacks'] if x['frames'][0].startswith('small_many ')][0]['allocs_est']")" 20000

# more stacks in one thread than its table holds (256): the calls past it
# go to stack 0, and samples_unstored counts them all, not only those the
# process-wide table had no room for (it has room: 65536)
"$MEMTOP" --batch --json --sample-small 1 -o "$WORK/many.json" -- "$PROGS/manysites" > /dev/null
check "thread table full: exit status" "$?" 0
zero="[x for x in s['top_stacks'] if x['id'] == 0]"
check "thread table full: stack 0 holds samples" "$(q "$WORK/many.json" "len($zero) == 1 and $zero[0]['samples'] > 0")" true
check "thread table full: samples_unstored is stack 0's samples" \
	"$(q "$WORK/many.json" "s['sampling']['samples_unstored'] == $zero[0]['samples']")" true

"$MEMTOP" --batch --json --no-stacks -o "$WORK/n.json" -- "$PROGS/twosites" 20000 200 > /dev/null
check "--no-stacks exit status" "$?" 0
check "--no-stacks: top_stacks is null (not measured)" "$(q "$WORK/n.json" "s['top_stacks'] is None")" true
check "--no-stacks: counters still exact" "$(q "$WORK/n.json" "thread(s, 'smallsite')['allocs'] >= 20000")" true

"$MEMTOP" --batch -o "$WORK/t.txt" -- "$PROGS/twosites" 20000 200 > /dev/null
check "text summary lists the top stacks" "$(grep -c 'big_few at twosites.c' "$WORK/t.txt" | awk '{print ($1 > 0) ? "yes" : "no"}')" yes

"$MEMTOP" --batch --stack-depth 0 -- true > /dev/null 2> "$WORK/err"
check "--stack-depth 0 is a usage error" "$?" 2
check "its message names the option" "$(grep -c -- '--stack-depth' "$WORK/err")" 1
finish
