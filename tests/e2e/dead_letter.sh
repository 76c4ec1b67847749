#!/bin/bash
# tide produce --dead-letter: every malformed line goes to a dead-letter file
# or topic as {"reason","position","raw"}, the good rows to the topic; the
# file is appended to (letters survive a kill), the topic is created if
# missing; a dead letter that cannot be written is a runtime error.
. "$(dirname "$0")/lib.bash"
e2e_init dead_letter
B=$TIDE_BIN

# Input: good rows, bad quoting (a stray quote; junk after the closing quote
# of a two-line record; an unclosed quote at the end), a missing time field,
# bad timestamps (text, month 13, a CRLF line with a letter in epoch ms).
# Line numbers: 1 header, 2 ann, 3 bob, 4 bad"quote, 5 carl, 6 dan, 7-8 eve,
# 9-10 fay, 11 gus, 12 hal, 13 ivy, 14 jo (CRLF), 15-16 kim (no final LF).
printf '%s\n' 'user,ts,note' 'ann,2024-05-01T12:00:00Z,first' 'bob,1714564800001,"with, comma"' \
    'bad"quote,2024-05-01T12:00:00Z,x' 'carl' 'dan,not-a-time,y' 'eve,1714564800002,"two' 'lines"' \
    'fay,1714564800003,"two' 'lines"junk' 'gus,2024-05-01 12:00:00.5,ok' 'hal,2024-13-01T00:00:00Z,z' \
    'ivy,1714564800004' >"$T/in.csv"
printf 'jo,17145648000x5,crlf\r\n"kim,1\ntail' >>"$T/in.csv"

# The good rows, as stored (a record's value is its own text).
printf '%s\n' 'ann,2024-05-01T12:00:00Z,first' 'bob,1714564800001,"with, comma"' 'eve,1714564800002,"two' \
    'lines"' 'gus,2024-05-01 12:00:00.5,ok' 'ivy,1714564800004' >"$T/want.good"

# The dead letters, by hand: positions are line:column of the fault (the
# field's first byte is column 5 for "dan,"/"hal,", 4 for "jo,"; a missing
# field is column 1 of its record); raw is the record's text without its LF
# or CRLF, both lines of a two-line record.
cat >"$T/want.dead" <<'EOF'
{"reason":"stray quote in an unquoted field","position":"stdin:4:4","raw":"bad\"quote,2024-05-01T12:00:00Z,x"}
{"reason":"missing time field 'ts' (the row has 1 fields)","position":"stdin:5:1","raw":"carl"}
{"reason":"bad timestamp 'not-a-time' in field 'ts': expected a digit (epoch milliseconds or YYYY-MM-DD...)","position":"stdin:6:5","raw":"dan,not-a-time,y"}
{"reason":"unexpected character after a closing quote","position":"stdin:10:7","raw":"fay,1714564800003,\"two\nlines\"junk"}
{"reason":"bad timestamp '2024-13-01T00:00:00Z' in field 'ts': month out of range","position":"stdin:12:10","raw":"hal,2024-13-01T00:00:00Z,z"}
{"reason":"bad timestamp '17145648000x5' in field 'ts': expected a digit (epoch milliseconds or YYYY-MM-DD...)","position":"stdin:14:15","raw":"jo,17145648000x5,crlf"}
{"reason":"unterminated quoted field","position":"stdin:15:1","raw":"\"kim,1\ntail"}
EOF
ndead=$(wc -l <"$T/want.dead")

# compare NAME GOT_FILE WANT_FILE
compare() {
    if cmp -s "$2" "$3"; then ok "$1"; else bad "$1" "$(diff "$2" "$3" | head -20)"; fi
}

# ---- help ----
expect_status "produce --help" 0 "$B" produce --help
expect_grep "help names --dead-letter" "--dead-letter DEST" "$T/out"
expect_grep "help says the file is appended and fsynced" "fsynced at the end" "$T/out"

# ---- to a file ----
"$B" topic create t --partitions 3 >/dev/null
expect_status "produce with --dead-letter FILE: exit 0" 0 "$B" produce t --key user --time ts \
    --dead-letter "$T/dead.jsonl" <"$T/in.csv"
cp "$T/err" "$T/err.file"
compare "dead-letter file holds exactly the bad records" "$T/dead.jsonl" "$T/want.dead"
expect_grep "summary names the file and the count" \
    "^produced 5 records to t \(3 partitions\), skipped $ndead malformed lines, wrote $ndead dead letters to file $T/dead.jsonl$" \
    "$T/err.file"
expect_eq "stderr still reports each bad line" "$(grep -c '^tide: stdin:[0-9]*:[0-9]*: ' "$T/err.file")" "$ndead"
# each stderr report is the letter's position and reason
sed -E 's/^\{"reason":"(.*)","position":"([^"]*)","raw":.*$/tide: \2: \1/; s/\\"/"/g' "$T/want.dead" >"$T/want.err"
grep '^tide: ' "$T/err.file" >"$T/got.err"
compare "stderr reports match the letters" "$T/got.err" "$T/want.err"
"$B" consume t --format raw | sort >"$T/got.good"
sort "$T/want.good" >"$T/want.good.sorted"
compare "the good rows are in the topic" "$T/got.good" "$T/want.good.sorted"

# appending: a second run adds its letters after the first run's
"$B" topic create t2 >/dev/null
"$B" produce t2 --key user --time ts --dead-letter "$T/dead.jsonl" <"$T/in.csv" 2>/dev/null
cat "$T/want.dead" "$T/want.dead" >"$T/want.twice"
compare "a second run appends to the file" "$T/dead.jsonl" "$T/want.twice"

# a last line cut short (a crash mid-write) is ended before the new letters
printf '{"reason":"cut' >"$T/torn.jsonl"
"$B" produce t2 --time ts --dead-letter "$T/torn.jsonl" <"$T/in.csv" 2>/dev/null
{ printf '{"reason":"cut\n'; cat "$T/want.dead"; } >"$T/want.torn"
compare "a torn last line is ended with LF first" "$T/torn.jsonl" "$T/want.torn"

# no malformed lines: an empty dead-letter file, count 0
printf 'user,ts\nzed,1\n' | "$B" produce t2 --time ts --dead-letter "$T/none.jsonl" 2>"$T/err"
expect_grep "clean input: 0 dead letters" "skipped 0 malformed lines, wrote 0 dead letters to file" "$T/err"
expect_eq "clean input: empty file" "$(wc -c <"$T/none.jsonl")" 0

# ---- to a topic (created with 1 partition) ----
"$B" topic create t3 --partitions 2 >/dev/null
expect_status "produce with --dead-letter topic:NAME: exit 0" 0 "$B" produce t3 --key user --time ts \
    --dead-letter topic:t3.dead <"$T/in.csv"
expect_grep "summary names the topic" \
    "^produced 5 records to t3 \(2 partitions\), skipped $ndead malformed lines, wrote $ndead dead letters to topic t3.dead$" \
    "$T/err"
"$B" topic describe t3.dead >"$T/desc"
expect_grep "dead-letter topic created with 1 partition" "^partitions: +1$" "$T/desc"
# one record per letter, in input order (a single partition); the value is the letter without its LF
"$B" consume t3.dead --format raw >"$T/got.topic"
compare "dead-letter topic holds exactly the bad records" "$T/got.topic" "$T/want.dead"
"$B" consume t3 --format raw | sort >"$T/got.good3"
compare "the good rows are in the topic (topic form)" "$T/got.good3" "$T/want.good.sorted"
# an existing topic is used as it is
expect_status "existing dead-letter topic: exit 0" 0 "$B" produce t3 --key user --time ts \
    --dead-letter topic:t3.dead <"$T/in.csv"
expect_eq "existing dead-letter topic appended to" "$("$B" consume t3.dead --format raw | wc -l)" $((2 * ndead))

# ---- JSON Lines ----
"$B" topic create j >/dev/null
printf '%s\n' '{"id":"a","at":1}' '{"id":"b" "at":2}' '{"at":3}' '{"id":"d","at":true}' >"$T/in.jsonl"
expect_status "jsonl with --dead-letter: exit 0" 0 "$B" produce j --format jsonl --key id --time at \
    --dead-letter "$T/j.dead" <"$T/in.jsonl"
cat >"$T/want.j" <<'EOF'
{"reason":"expected ',' or '}'","position":"stdin:2:11","raw":"{\"id\":\"b\" \"at\":2}"}
{"reason":"missing key field 'id'","position":"stdin:3:1","raw":"{\"at\":3}"}
{"reason":"bad timestamp in field 'at': expected epoch ms (an integer) or an ISO-8601 string","position":"stdin:4:16","raw":"{\"id\":\"d\",\"at\":true}"}
EOF
compare "jsonl dead letters" "$T/j.dead" "$T/want.j"

# ---- a killed produce keeps the letters it reported ----
"$B" topic create k >/dev/null
mkfifo "$T/fifo"
"$B" produce k --time ts --dead-letter "$T/k.dead" <"$T/fifo" 2>"$T/k.err" &
pid=$!
exec 3>"$T/fifo"
printf 'user,ts\nok,1\nbad,x\n"q"z,1\n' >&3
# wait (bounded) for both letters to be written, then kill -9 with the input still open
for _ in $(seq 1 200); do
    [ -f "$T/k.dead" ] && [ "$(wc -l <"$T/k.dead")" -ge 2 ] && break
    sleep 0.05
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
exec 3>&-
cat >"$T/want.k" <<'EOF'
{"reason":"bad timestamp 'x' in field 'ts': expected a digit (epoch milliseconds or YYYY-MM-DD...)","position":"stdin:3:5","raw":"bad,x"}
{"reason":"unexpected character after a closing quote","position":"stdin:4:4","raw":"\"q\"z,1"}
EOF
compare "letters written before a kill -9 are all there" "$T/k.dead" "$T/want.k"

# ---- errors ----
expect_status "dead-letter topic = the topic: usage error" 1 "$B" produce t --dead-letter topic:t </dev/null
expect_grep "same topic explained" "is the topic produced to" "$T/err"
expect_status "bad dead-letter topic name: usage error" 1 "$B" produce t --dead-letter "topic:a/b" </dev/null
expect_status "empty --dead-letter: usage error" 1 "$B" produce t --dead-letter "" </dev/null
expect_status "dead-letter file in a missing directory: exit 2" 2 "$B" produce t --dead-letter "$T/no/such/dir.jsonl" \
    <"$T/in.csv"
expect_grep "unopenable dead-letter file named" "no/such/dir.jsonl" "$T/err"
if [ -w /dev/full ]; then
    expect_status "a dead letter that cannot be written: exit 2" 2 "$B" produce t --time ts --dead-letter /dev/full \
        <"$T/in.csv"
    expect_grep "write failure reported" "^tide: dead letters: /dev/full: .*No space left" "$T/err"
    expect_eq "stops at the first bad line" "$(grep -c '^tide: stdin:' "$T/err")" 1
    expect_grep "summary counts 0 letters written" "skipped 1 malformed line, wrote 0 dead letters" "$T/err"
fi

# ---- a record larger than the log can hold (a 70 MB line) ----
"$B" topic create big >/dev/null
{ printf 'id,v\n1,a\n2,'; head -c $((70 << 20)) /dev/zero | tr '\0' x; printf '\n3,c\n'; } >"$T/big.csv"
expect_status "a 70 MB line: exit 0, the rest produced" 0 "$B" produce big --dead-letter topic:big-dead <"$T/big.csv"
expect_grep "the big line named by its position" "^tide: stdin:3:1: record of 73400322 bytes: larger than a record" "$T/err"
expect_grep "summary counts it" "produced 2 records to big .*skipped 1 malformed line, wrote 1 dead letter" "$T/err"
expect_eq "the records around it" "$("$B" consume big --format csv | tail -n +2 | cut -d, -f5- | tr '\n' ' ')" '"1,a" "3,c" '
"$B" consume big-dead --format raw >"$T/letter"
expect_grep "its dead letter: the position" '"position":"stdin:3:1"' "$T/letter"
expect_grep "its dead letter: the whole length, marked cut" '"raw_bytes":73400322,"raw_truncated":true}$' "$T/letter"
expect_eq "its dead letter: the first 4 MiB of the line" "$(tr -cd x <"$T/letter" | wc -c)" $(((4 << 20) - 2))
expect_status "to a file the letter is whole" 0 "$B" produce big --dead-letter "$T/big-dead.jsonl" <"$T/big.csv"
expect_eq "the file letter's raw: all of it" "$(tr -cd x <"$T/big-dead.jsonl" | wc -c)" $((70 << 20))
expect_eq "the file letter is not marked cut" "$(grep -c raw_truncated "$T/big-dead.jsonl")" 0
rm -f "$T/big.csv" "$T/big-dead.jsonl" "$T/letter"

e2e_finish
