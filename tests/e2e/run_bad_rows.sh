#!/bin/bash
# Bad rows of a SQL source (issue 10): a CSV of 1,000 good rows with 7
# malformed ones in the middle gives exactly the 1,000 good rows (the same
# set as awk keeps), "bad 7" in the summary, and the 7 positions
# (file:line[:col]) on stderr, at P = 1, 2 and 4.  The table option
# 'dead-letter' keeps all 7 with their reasons and raw lines, in a file or a
# topic; with more than 10 bad rows stderr names the first 10 and counts the
# rest, and the dead letters still hold every one.
. "$(dirname "$0")/lib.bash"
e2e_init run_bad_rows
B=$TIDE_BIN

# rows: line 1 is the header; bad rows go after good rows 150, 300, ...
# kinds: a letter in the time, a BIGINT that is not one, a short row, a
# long row, a stray quote, a month 13, a time past 9999.
gen() { # gen FILE NBAD -> FILE, FILE.good (user_id,ts of good rows), FILE.lines (bad line numbers)
    awk -v nbad="$2" -v out="$1" 'BEGIN {
        split("2024-01-01 00:00:0x,7,US|2024-01-01 00:00:01,seven,US|2024-01-01 00:00:02,7|" \
              "2024-01-01 00:00:03,7,US,extra|2024-01-01 00:00:04,7\"x,US|2024-13-01 00:00:05,7,US|" \
              "10000-01-01 00:00:06,7,US", kind, "|")
        print "ts,user_id,country" > out; line = 1; b = 0
        every = int(1000 / (nbad + 1))
        for (i = 0; i < 1000; i++) {
            ts = sprintf("2024-01-01 %02d:%02d:%02d", int(i / 3600), int(i / 60) % 60, i % 60)
            print ts "," i "," (i % 3 ? "US" : "DE") > out; line++
            print i "," ts ".000" > (out ".good")
            if (b < nbad && (i + 1) % every == 0) {
                print kind[b % 7 + 1] > out; line++
                print line > (out ".lines"); b++
            }
        }
    }'
}
gen "$T/in.csv" 7
expect_eq "the input: 1,008 lines" "$(wc -l <"$T/in.csv")" 1008
sort "$T/in.csv.good" >"$T/want"
sql() { # sql FILE PATH EXTRA-OPTION
    printf "%s\n" "CREATE TABLE t (ts TIMESTAMP(3), user_id BIGINT, country STRING," \
        "  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)" \
        "WITH ('connector' = 'file', 'path' = '$2', 'format' = 'csv', 'csv.header' = 'true'$3);" \
        "SELECT user_id, ts FROM t;" >"$1"
}
sql "$T/q.sql" in.csv ""
for p in 1 2 4; do
    expect_status "P=$p: exit 0" 0 "$B" run "$T/q.sql" --format csv --parallelism $p
    tail -n +2 "$T/out" | sort >"$T/got"
    if cmp -s "$T/got" "$T/want"; then ok "P=$p: the 1,000 good rows, as awk keeps them"; else
        bad "P=$p: the good rows" "$(diff "$T/got" "$T/want" | head)"; fi
    expect_grep "P=$p: the summary counts 1,000 in, 7 bad" "^records in 1000, out 1000, late 0, bad 7$" "$T/err"
    grep -o '^tide: [^ ]*in.csv:[0-9]*' "$T/err" | sed 's/.*://' | sort -n >"$T/lines"
    expect_eq "P=$p: the 7 positions on stderr" "$(tr '\n' ' ' <"$T/lines")" "$(tr '\n' ' ' <"$T/in.csv.lines")"
done
expect_grep "a reason names the column" "in.csv:[0-9]+:[0-9]+: column user_id: bad BIGINT" "$T/err"
expect_grep "a short row is named" "in.csv:[0-9]+: expected 3 fields, found 2" "$T/err"

# ---- 'dead-letter' = a file: every bad row with its reason and raw line ----
sql "$T/qd.sql" in.csv ", 'dead-letter' = 'bad.jsonl'"
expect_status "with 'dead-letter' = file: exit 0" 0 "$B" run "$T/qd.sql" --format csv --parallelism 2
expect_eq "the file holds 7 letters" "$(wc -l <"$T/bad.jsonl")" 7
for n in $(cat "$T/in.csv.lines"); do
    raw=$(sed -n "${n}p" "$T/in.csv" | sed 's/"/\\\\"/g')
    expect_grep "line $n kept with its position, reason and raw bytes" \
        "\"reason\":\"[^\"]+.*\"position\":\"[^\"]*in.csv:$n(:[0-9]+)?\",\"raw\":\"$raw\"" "$T/bad.jsonl"
done

# ---- 'dead-letter' = topic:NAME (created when missing) ----
sql "$T/qt.sql" in.csv ", 'dead-letter' = 'topic:t-bad'"
expect_status "with 'dead-letter' = topic: exit 0" 0 "$B" run "$T/qt.sql" --format csv --parallelism 4
"$B" consume t-bad --format raw >"$T/topic.out" 2>"$T/topic.err"
expect_eq "the topic holds 7 letters" "$(grep -c '"reason"' "$T/topic.out")" 7

# ---- a bad option is refused where it is written ----
sql "$T/qbad.sql" in.csv ", 'dead-letter' = 'topic:a/b'"
expect_status "an invalid dead-letter topic: SQL error" 1 "$B" run "$T/qbad.sql"
expect_grep "the error points at the option" "qbad.sql:3:[0-9]+: .*option 'dead-letter' of table 't'" "$T/err"

# ---- 25 bad rows: the first 10 named, the rest counted, all kept ----
gen "$T/many.csv" 25
sql "$T/qm.sql" many.csv ", 'dead-letter' = 'many.jsonl'"
expect_status "25 bad rows: exit 0" 0 "$B" run "$T/qm.sql" --format csv --parallelism 1
expect_eq "stderr names the first 10" "$(grep -c '^tide: .*many.csv:[0-9]' "$T/err")" 10
expect_grep "and says the rest are counted" "^tide: more bad records: counted" "$T/err"
expect_grep "the summary counts 25 bad" "bad 25$" "$T/err"
expect_eq "the dead letters hold all 25" "$(wc -l <"$T/many.jsonl")" 25
e2e_finish
