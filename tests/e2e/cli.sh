#!/bin/bash
# The tide command line: help and usage errors, topic administration,
# produce (CSV, JSON Lines, raw; keys, times, malformed lines) and consume
# (formats, --from, --partition, --group resume, --max).
. "$(dirname "$0")/lib.bash"
e2e_init cli
B=$TIDE_BIN

# ---- help, version, usage errors ----
for cmd in "--help" "help" "topic --help" "topic create --help" "topic list --help" "topic describe --help" \
    "topic delete --help" "produce --help" "consume --help" "demo --help"; do
    # shellcheck disable=SC2086
    expect_status "tide $cmd exits 0" 0 "$B" $cmd
    expect_grep "tide $cmd prints usage" "^Usage: tide" "$T/out"
done
expect_status "--version" 0 "$B" --version
expect_grep "--version prints the version" "^tide [0-9]+\.[0-9]+\.[0-9]+$" "$T/out"
expect_status "no command: exit 1" 1 "$B"
expect_status "unknown command: exit 1" 1 "$B" frobnicate
expect_grep "unknown command named" "unknown command 'frobnicate'" "$T/err"
expect_grep "unknown command prints usage" "^Usage: tide" "$T/err"
expect_status "unknown topic subcommand: exit 1" 1 "$B" topic frob
expect_status "unknown option: exit 1" 1 "$B" consume t --bogus
expect_grep "unknown option named" "unknown option '--bogus'" "$T/err"
expect_status "option without value: exit 1" 1 "$B" topic create t --partitions
expect_status "bad --partitions: exit 1" 1 "$B" topic create t --partitions zero
expect_status "bad --fsync: exit 1" 1 "$B" topic create t --fsync sometimes
expect_status "bad --from: exit 1" 1 "$B" consume t --from yesterday
expect_status "bad --format: exit 1" 1 "$B" produce t --format xml

# ---- topic names ----
long=$(printf 'a%.0s' $(seq 1 201))
for name in "a/b" ".." "." "x y" "../etc" "$long" "é"; do
    "$B" topic create "$name" >"$T/out" 2>"$T/err"
    rc=$?
    if [ $rc -eq 1 ] || [ $rc -eq 2 ]; then ok "bad topic name '${name:0:20}' rejected"; else bad "bad topic name '${name:0:20}'" "exit $rc"; fi
    expect_grep "bad topic name '${name:0:20}' explained" "^tide: topic .*invalid name" "$T/err"
done
expect_eq "nothing created for bad names" "$("$B" topic list)" ""

# ---- topic create / list / --data placement ----
expect_status "create t1" 0 "$B" topic create t1 --partitions 3 --retention-ms 86400000 --fsync interval:50
expect_grep "create says so" "^created topic t1 \(3 partitions\)$" "$T/out"
expect_status "create t1 again: runtime error" 2 "$B" topic create t1
expect_grep "create again explained" "^tide: .*t1" "$T/err"
mkdir -p "$T/other"
expect_status "--data before the command" 0 "$B" --data "$T/other" topic create elsewhere
expect_status "--data after the command" 0 "$B" topic list --data "$T/other"
expect_eq "--data selects the directory" "$(cat "$T/out")" "elsewhere"
expect_eq "--data=DIR form" "$("$B" topic list --data="$T/other")" "elsewhere"
expect_eq "\$TIDE_DATA is the default" "$("$B" topic list)" "t1"
(cd "$T" && TIDE_DATA= "$B" topic create local >/dev/null 2>&1)
if [ -d "$T/tide-data/topics/local" ]; then ok "./tide-data without --data or \$TIDE_DATA"; else bad "./tide-data default" "no $T/tide-data/topics/local"; fi

# ---- produce CSV: keys, times, malformed lines ----
cat >"$T/in.csv" <<'CSV'
user,ts,note
ann,2024-05-01T12:00:00Z,first
bob,1714564800001,"with, comma"
bad"quote,2024-05-01T12:00:00Z,x
cid,2024-05-01 12:00:00.123+02:00,"multi
line"
dan,not-a-time,x
eve
fay,2024-05-01T12:00:00.5Z,"say ""hi"""
CSV
expect_status "produce csv with bad lines: exit 0" 0 "$B" produce t1 --key user --time ts <"$T/in.csv"
expect_grep "stray quote reported with line:col" "^tide: stdin:4:4: stray quote" "$T/err"
expect_grep "bad timestamp reported with line:col" "^tide: stdin:7:5: bad timestamp 'not-a-time'" "$T/err"
expect_grep "missing field reported with line:1" "^tide: stdin:8:1: missing time field 'ts'" "$T/err"
expect_grep "produce summary" "^produced 4 records to t1 \(3 partitions\), skipped 3 malformed lines$" "$T/err"
"$B" consume t1 --format raw | sort >"$T/got"
sed -n '2,3p;5,6p;9p' "$T/in.csv" | awk 'NR == 3 { l = $0; getline; print l "\n" $0; next } { print }' | sort >"$T/want"
if cmp -s "$T/got" "$T/want"; then ok "the good rows are stored as their own text"; else bad "good rows stored" "$(diff "$T/got" "$T/want")"; fi
"$B" consume t1 >"$T/json"
for pair in 'ann 1714564800000' 'bob 1714564800001' 'cid 1714557600123' 'fay 1714564800500'; do
    set -- $pair
    expect_grep "--time of $1 (ISO/epoch/offset)" "\"timestamp\":$2,\"key\":\"$1\"" "$T/json"
done
expect_grep "quotes and newlines escaped in JSON" '"value":"fay,2024-05-01T12:00:00.5Z,\\"say \\"\\"hi\\"\\"\\""' "$T/json"
expect_grep "multi-line value" '"value":"cid,2024-05-01 12:00:00.123\+02:00,\\"multi\\nline\\""' "$T/json"

# the same key always goes to the same partition
printf 'k,v\n' >"$T/keys.csv"
for i in $(seq 1 60); do echo "key$((i % 5)),$i"; done >>"$T/keys.csv"
"$B" topic create keyed --partitions 4 >/dev/null
"$B" produce keyed --key k <"$T/keys.csv" 2>/dev/null
"$B" consume keyed --format csv >"$T/keyed.csv"
expect_grep "csv output header" "^partition,offset,timestamp,key,value$" "$T/keyed.csv"
expect_eq "one partition per key" "$(tail -n +2 "$T/keyed.csv" | cut -d, -f1,4 | sort -u | wc -l)" 5
expect_eq "all 60 keyed records" "$(tail -n +2 "$T/keyed.csv" | wc -l)" 60

# header columns that are not there: a runtime error naming the column
expect_status "--key column missing from the header: exit 2" 2 "$B" produce t1 --key nope <"$T/in.csv"
expect_grep "missing column named" "no column 'nope'" "$T/err"
expect_status "produce to a missing topic: exit 2" 2 "$B" produce nosuch </dev/null
expect_grep "missing topic named" "^tide: topic 'nosuch': not found" "$T/err"

# ---- JSON Lines ----
"$B" topic create j >/dev/null
cat >"$T/in.jsonl" <<'JSONL'
{"id":"a1","at":"2024-05-01T00:00:00.250Z","msg":"caf\u00e9 \ud83d\ude00","n":[1,2]}
{"id":7,"at":1714521600000}

{"id":"a3","at":"2024-05-01 00:00:01",  "x":null}
{"id":"a4" "at":1}
{"at":1}
{"id":"a6","at":true}
{"id":null,"at":"2024-05-01T02:00:00+02:00"}
not json
JSONL
expect_status "produce jsonl: exit 0" 0 "$B" produce j --format jsonl --key id --time at <"$T/in.jsonl"
expect_grep "json error with line:col" "^tide: stdin:5:12: expected ',' or '}'" "$T/err"
expect_grep "missing key field" "^tide: stdin:6:1: missing key field 'id'" "$T/err"
expect_grep "non-time value" "^tide: stdin:7:.*bad timestamp" "$T/err"
expect_grep "not json at all" "^tide: stdin:9:1: expected '\{'" "$T/err"
expect_grep "jsonl summary" "^produced 4 records to j \(1 partition\), skipped 4 malformed lines$" "$T/err"
"$B" consume j >"$T/j.out"
expect_eq "jsonl record 0" "$(sed -n 1p "$T/j.out")" \
    '{"partition":0,"offset":0,"timestamp":1714521600250,"key":"a1","value":"{\"id\":\"a1\",\"at\":\"2024-05-01T00:00:00.250Z\",\"msg\":\"caf\\u00e9 \\ud83d\\ude00\",\"n\":[1,2]}"}'
expect_eq "jsonl number key" "$(sed -n 2p "$T/j.out")" '{"partition":0,"offset":1,"timestamp":1714521600000,"key":"7","value":"{\"id\":7,\"at\":1714521600000}"}'
expect_grep "null key is an unkeyed record" '"offset":3,"timestamp":1714521600000,"key":null' "$T/j.out"
"$B" consume j --format raw >"$T/j.raw"
expect_eq "raw output is the stored line" "$(sed -n 3p "$T/j.raw")" '{"id":"a3","at":"2024-05-01 00:00:01",  "x":null}'

# ---- raw produce ----
"$B" topic create r >/dev/null
printf 'line one\n\nline "three"\r\nlast' | "$B" produce r --format raw 2>"$T/err"
expect_grep "raw summary" "^produced 4 records to r" "$T/err"
expect_eq "raw lines (CR stripped, empty kept)" "$("$B" consume r --format raw | od -c | head -3 | md5sum)" \
    "$(printf 'line one\n\nline "three"\nlast\n' | od -c | head -3 | md5sum)"
expect_status "raw with --key: usage error" 1 "$B" produce r --format raw --key x </dev/null

# ---- --from, --partition, --max ----
"$B" topic create seq >/dev/null
{ echo "n,ts"; for i in $(seq 0 99); do echo "$i,$((1714521600000 + i * 1000))"; done; } | "$B" produce seq --time ts 2>/dev/null
expect_eq "--from OFFSET" "$("$B" consume seq --from 95 --format raw | cut -d, -f1 | tr '\n' ' ')" "95 96 97 98 99 "
expect_eq "--from @epoch-ms" "$("$B" consume seq --from @1714521697000 --format raw | cut -d, -f1 | tr '\n' ' ')" "97 98 99 "
expect_eq "--from @ISO" "$("$B" consume seq --from @2024-05-01T00:01:38Z --format raw | cut -d, -f1 | tr '\n' ' ')" "98 99 "
expect_eq "--from @ISO between records" "$("$B" consume seq --from @2024-05-01T00:01:37.500Z --format raw | cut -d, -f1 | tr '\n' ' ')" "98 99 "
expect_eq "--from @future: nothing" "$("$B" consume seq --from @2030-01-01T00:00:00Z --format raw | wc -l)" 0
expect_eq "--from latest: nothing" "$("$B" consume seq --from latest | wc -l)" 0
expect_eq "--from earliest --max 3" "$("$B" consume seq --from earliest --max 3 --format raw | cut -d, -f1 | tr '\n' ' ')" "0 1 2 "
expect_eq "--from past the end: nothing" "$("$B" consume seq --from 1000 | wc -l)" 0
expect_status "--partition out of range: exit 1" 1 "$B" consume seq --partition 1
expect_eq "--partition 0" "$("$B" consume seq --partition 0 | wc -l)" 100

# ---- --group resume ----
g() { "$B" consume seq --group g1 --format raw "$@" | cut -d, -f1 | tr '\n' ' '; }
expect_eq "group: first 3" "$(g --max 3)" "0 1 2 "
expect_eq "group: next 4" "$(g --max 4)" "3 4 5 6 "
expect_eq "group: --from is ignored once committed" "$(g --max 2 --from 50)" "7 8 "
expect_eq "group: the rest" "$(g | wc -w)" 91
expect_eq "group: nothing left" "$(g | wc -w)" 0
expect_eq "new group starts at --from" "$(g --group g2 --from 98)" "98 99 "
expect_eq "other groups are independent" "$("$B" consume seq --group g3 --max 1 --format raw | cut -d, -f1)" "0"
# groups across partitions: two halves read the whole topic once
"$B" consume keyed --group gk --max 25 --format raw >"$T/half1"
"$B" consume keyed --group gk --format raw >"$T/half2"
expect_eq "group over 4 partitions: 25 + 35" "$(wc -l <"$T/half1") $(wc -l <"$T/half2")" "25 35"
expect_eq "group halves are disjoint and complete" "$(cat "$T/half1" "$T/half2" | sort -u | wc -l)" 60

# a group that read one partition keeps nothing of the others
p0=$("$B" consume keyed --partition 0 --group gp --format raw | wc -l)
expect_eq "group after --partition 0 reads the other partitions" "$("$B" consume keyed --group gp --format raw | wc -l)" "$((60 - p0))"

# ---- retention: a removed position continues at the first retained offset ----
"$B" topic create ret --segment-bytes 4096 --retention-bytes 8192 >/dev/null
{ echo "n"; for i in $(seq 0 1999); do echo "row-$i-padding-padding-padding"; done; } | "$B" produce ret 2>/dev/null
first=$("$B" topic describe ret | awk '$1 == "0" { print $2 }')
if [ -n "$first" ] && [ "$first" -gt 0 ]; then ok "retention removed old segments"; else bad "retention" "first offset '$first'"; fi
"$B" consume ret --from 0 --format raw --max 1 >"$T/out" 2>"$T/err"
expect_grep "note about the removed position" "offset 0 was removed by retention; continuing from the first retained offset $first" "$T/err"
expect_eq "continues at the first retained record" "$(cat "$T/out")" "row-$first-padding-padding-padding"

# ---- describe ----
expect_status "describe" 0 "$B" topic describe seq
expect_grep "describe partitions" "^partitions: +1$" "$T/out"
expect_grep "describe retention" "^retention-ms: +-1 \(forever\)$" "$T/out"
expect_grep "describe row" "^ +0 +0 +100 +[0-9]+ +1  2024-05-01 00:00:00.000  2024-05-01 00:01:39.000$" "$T/out"
expect_status "describe t1" 0 "$B" topic describe t1
expect_grep "describe config" "^retention-ms: +86400000$" "$T/out"
expect_grep "describe fsync" "^fsync: +interval:50$" "$T/out"
expect_grep "describe empty partition" "^ +[0-9] +0 +0 +[0-9]+ +[0-9]+  - +-$" "$T/out"
expect_status "describe a missing topic: exit 2" 2 "$B" topic describe nosuch
expect_grep "describe missing named" "nosuch" "$T/err"

# ---- demo ----
expect_status "demo" 0 "$B" demo --records 1000
expect_grep "demo produced" "^produced 1000 records" "$T/out"
expect_grep "demo consumed" "^consumed 1000 records" "$T/out"
expect_eq "demo topic keyed by user, 4 partitions" "$("$B" consume demo-logins --format csv | tail -n +2 | cut -d, -f1 | sort -u | tr '\n' ' ')" "0 1 2 3 "

# ---- a damaged batch in the active segment (its length points past the end) ----
expect_status "create dmg" 0 "$B" topic create dmg --fsync never
for i in 1 2 3 4 5; do seq 1 1001 | "$B" produce dmg >/dev/null 2>&1; done
seg="$TIDE_DATA/topics/dmg/0/00000000000000000000.log"
# batch 2 starts where batch 1 ends; give it a length far past the file's end
pos2=$(od -An -tu4 -N4 "$seg" | tr -d ' ')
printf '\xff\xff\xff\x00' | dd of="$seg" bs=1 seek="$pos2" conv=notrunc status=none
expect_status "describe --verify of a whole topic: exit 0" 0 "$B" topic describe seq --verify
expect_status "consume stops at the damage: exit 2" 2 "$B" consume dmg
expect_eq "consume printed the records before it" "$(wc -l <"$T/out")" 1000
expect_grep "consume names the position and where valid data resumes" "position $pos2 \(offset 1000\).*valid data resumes" "$T/err"
expect_status "describe --verify of the damaged topic: exit 2" 2 "$B" topic describe dmg --verify
expect_grep "verify names the damage" "damaged batch at position $pos2 \(offset 1000\).*valid data resumes" "$T/out"
expect_grep "describe prints the incarnation" "^incarnation: +[0-9a-f]{16}$" "$T/out"

# ---- delete ----
expect_status "delete" 0 "$B" topic delete seq
expect_eq "deleted topic not listed" "$("$B" topic list | grep -c '^seq$')" 0
expect_status "consume a deleted topic: exit 2" 2 "$B" consume seq
expect_status "delete again: exit 2" 2 "$B" topic delete seq

e2e_finish
