#!/bin/bash
# Bounded = unbounded (issue 4 acceptance): each example query over a topic
# (connector 'topic', unbounded: it follows new records and never ends by
# itself) gives the same final rows as over the file (bounded), once the
# topic run's watermark has passed every window.
#
# Per example (dau.sql, mau.sql, late.sql; churn.sql when it exists):
#   1. run it as shipped over its CSV file (bounded): the reference rows;
#   2. copy it with every file table turned into a topic table ('connector'
#      = 'topic', 'topic' = the file's base name), produce the same CSV
#      lines into that topic (`tide produce --format raw`: each line one
#      record, in file order), and start the copy: it reads what is there
#      and waits for more;
#   3. append one record far in the future: the watermark passes the end
#      of every real window, which fire; the future record's own windows
#      never do (they end after it);
#   4. poll (bounded loop, no fixed sleep) until the output holds as many
#      rows as the file run's, then SIGINT it and compare: the same rows in
#      the same order (for late.sql, whose output is a changelog of early,
#      on-time and late firings, that is the whole changelog, and the
#      summary's late count must match too).
# dau.sql, mau.sql and churn.sql run again over a 3-partition topic (records
# spread round robin, one future record per partition, all produced before
# the run starts; see step 3 below): the per-partition
# watermarks' minimum holds back nothing that the file run fires, so the
# final rows are the same multiset.
. "$(dirname "$0")/lib.bash"
e2e_init run_topic_eq_file
B=$TIDE_BIN
: "${TIDE_SRC:?TIDE_SRC must name the repository}"
EX=$TIDE_SRC/examples

mkdir -p "$T/ex"
cp "$EX"/*.sql "$EX"/*.csv "$T/ex/" 2>/dev/null
# the input of dau.sql / mau.sql (and churn.sql): 200,000 generated logins
(cd "$T" && "$B" run ex/make_logins_csv.sql >/dev/null 2>"$T/make.err")
expect_eq "make_logins_csv.sql wrote logins.csv" "$(wc -l <"$T/ex/logins.csv")" "200000"

# topic_copy SRC.sql DST.sql SUFFIX: file tables -> topic tables named
# <csv base name><SUFFIX>
topic_copy() {
    sed -E -e "s/'connector' *= *'file'/'connector' = 'topic'/" \
        -e "s/'path' *= *'([A-Za-z0-9_]+)\\.csv'/'topic' = '\\1$3'/" "$1" >"$2"
}

# future_line CSV: a record of CSV's shape with its first field (the event
# time) in 2100 and the other fields copied from the first line
future_line() {
    head -1 "$1" | awk -F, -v OFS=, '{ $1 = "2100-01-01 00:00:00"; print }'
}

# wait_rows FILE N PID: poll until FILE has N lines or PID died (<= 120 s)
wait_rows() {
    local i
    for ((i = 0; i < 2400; i++)); do
        [ "$(wc -l <"$1")" -ge "$2" ] && return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# check NAME EXAMPLE PARTITIONS
check() {
    local name=$1 ex=$2 parts=$3 sfx=_$1
    # the examples are part of the repository: a missing one is a break
    [ -f "$T/ex/$ex.sql" ] || { bad "$name" "examples/$ex.sql does not exist"; return; }
    # 1. the file run
    "$B" run "$T/ex/$ex.sql" --format csv >"$T/$name.file" 2>"$T/$name.file.err"
    expect_eq "$name: file run exit status" "$?" "0"
    local want
    want=$(wc -l <"$T/$name.file")
    if [ "$want" -lt 2 ]; then
        bad "$name" "the file run gave no rows"
        return
    fi
    # 2. the topics, the copy, the unbounded run
    topic_copy "$T/ex/$ex.sql" "$T/ex/$name.topic.sql" "$sfx"
    if cmp -s "$T/ex/$ex.sql" "$T/ex/$name.topic.sql"; then
        bad "$name" "no file table to turn into a topic"
        return
    fi
    local csv topics=()
    for csv in $(grep -oE "'path' *= *'[A-Za-z0-9_]+\.csv'" "$T/ex/$ex.sql" | grep -oE "[A-Za-z0-9_]+\.csv" | sort -u); do
        local topic=${csv%.csv}$sfx
        topics+=("$topic:$csv")
        "$B" topic create "$topic" --partitions "$parts" >/dev/null 2>"$T/err" || bad "$name: topic create" "$(cat "$T/err")"
        "$B" produce "$topic" --format raw <"$T/ex/$csv" >/dev/null 2>"$T/err" || bad "$name: produce" "$(cat "$T/err")"
    done
    # 3. the far-future records, one per partition (round robin).  With one
    # partition they are appended once the run follows the topic.  With
    # several they are there before it starts: a partition whose reader has
    # caught up is idle and holds nothing back, so with records appended
    # later the rows could be complete (and the run stopped) before every
    # partition's future record was read, and the records-in count below
    # would depend on timing.
    local tc
    futures() {
        for tc in "${topics[@]}"; do
            local topic=${tc%%:*} csv=${tc#*:}
            for ((p = 0; p < parts; p++)); do future_line "$T/ex/$csv"; done |
                "$B" produce "$topic" --format raw >/dev/null 2>"$T/err" || bad "$name: produce future" "$(cat "$T/err")"
        done
    }
    [ "$parts" -gt 1 ] && futures
    "$B" run "$T/ex/$name.topic.sql" --format csv >"$T/$name.topic" 2>"$T/$name.topic.err" &
    local pid=$!
    [ "$parts" -eq 1 ] && futures
    # 4. wait for the rows, stop, compare
    if wait_rows "$T/$name.topic" "$want" "$pid"; then
        ok "$name: the topic run printed $want lines"
    else
        bad "$name" "the topic run printed $(wc -l <"$T/$name.topic") of $want lines: $(head -c 300 "$T/$name.topic.err")"
    fi
    kill -INT "$pid" 2>/dev/null
    wait "$pid"
    expect_eq "$name: SIGINT stops the topic run cleanly" "$?" "0"
    expect_grep "$name: summary says stopped" "\(stopped\)$" "$T/$name.topic.err"
    if [ "$parts" -eq 1 ]; then
        if cmp -s "$T/$name.file" "$T/$name.topic"; then
            ok "$name: topic rows = file rows ($((want - 1)) rows, same order)"
        else
            bad "$name" "rows differ: $(diff "$T/$name.file" "$T/$name.topic" | head -6)"
        fi
    else
        if cmp -s <(sort "$T/$name.file") <(sort "$T/$name.topic"); then
            ok "$name: topic rows = file rows ($((want - 1)) rows, $parts partitions)"
        else
            bad "$name" "rows differ: $(diff <(sort "$T/$name.file") <(sort "$T/$name.topic") | head -6)"
        fi
    fi
    # the same counts: records in (each scan of a table reads the future
    # records too: churn.sql reads its table twice), late, bad
    local fin flate tin tlate lines=0
    for tc in "${topics[@]}"; do lines=$((lines + $(wc -l <"$T/ex/${tc#*:}"))); done
    read -r fin flate < <(sed -nE 's/^records in ([0-9]+), out [0-9]+, late ([0-9]+), bad 0.*/\1 \2/p' "$T/$name.file.err" | tail -1)
    read -r tin tlate < <(sed -nE 's/^records in ([0-9]+), out [0-9]+, late ([0-9]+), bad 0.*/\1 \2/p' "$T/$name.topic.err" | tail -1)
    local scans=$((${fin:-0} / lines))
    expect_eq "$name: records in (file: $scans x $lines)" "${fin:-?}" "$((scans * lines))"
    expect_eq "$name: records in (topic: the file's + $scans x ${#topics[@]} x $parts future)" "${tin:-?}" "$((${fin:-0} + scans * ${#topics[@]} * parts))"
    expect_eq "$name: late count" "${tlate:-?}" "${flate:-!}"
}

check dau dau 1
check mau mau 1
check late late 1
check churn churn 1
check dau3 dau 3
check mau3 mau 3
check churn3 churn 3

e2e_finish
