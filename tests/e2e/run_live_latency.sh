#!/bin/bash
# Live latency (issue 4 acceptance): `tide run` on every example prints
# results within a second of the watermark passing a window end when fed
# live at a low rate.
#
# This is the one timed test of the suite, on purpose: what it checks is a
# wall-clock promise (how soon after the watermark passes a window end its
# row reaches stdout), which no fake clock can stand in for across separate
# processes.  It is made robust rather than tight: the rate is low (100
# events/s), each row gets the full second the acceptance allows, and the
# expected time is taken conservatively (below).  It waits for conditions
# with bounded polls, never a fixed sleep.
#
# Live input whose event time follows the wall clock: the `logins`
# generator with 'rate' = R delivers at most elapsed * R events by elapsed
# processing time, and with 'start' = now and 'span' = count / R its i-th
# event has time start + i / R: an event never carries a time ahead of the
# wall clock (by more than one 10 ms gap), so the watermark (max ts - B)
# passes a window end E no earlier than wall time E + B.  Each result line
# is stamped as it arrives and must arrive by E + B + 1 s (start-up delays
# only make this stricter).  As a check that the input really is live,
# on-time rows of windows that end inside the generated span must not
# arrive before E + B - 0.2 s either.
#
# A loaded machine delays every process, not only tide.  So each run has an
# empty pipeline beside it, over the same span: `tide run` of the same
# rate-limited generator (in order, no late events) printing every event as
# it comes (SELECT ts, user_id FROM gen: no window, no topic), whose rows
# are stamped by the same stamper.  Its rows come in flushes (a batch goes
# out when full or after the sink's latency bound); a flush's delay is the
# arrival of its last row minus that row's event time (the newest event it
# carries, released by the generator at that wall time), so the batching
# bound is not counted.  Its latest flush delay (after its first second,
# which start-up owns) is what the machine cost a tide process at that
# moment, a few ms when idle.  A row must arrive by
# E + B + allowance + that latency: the allowance is judged on the
# difference, and each check prints the allowance, the latest row, the empty
# pipeline's latest and the margin left.  The topic path's own costs (the
# producer's flushes, the reader's polls) are not in the empty pipeline, so
# they stay inside the allowance.
#
# The examples, short-windowed: dau.sql, mau.sql (and churn.sql when it
# exists) as shipped, with their file table turned into the live source,
# INTERVAL 'n' DAY read as n seconds (topic runs) or 2n seconds (direct
# runs, below) and a 1 s out-of-orderness bound; and
# late.sql's query (1 MINUTE windows -> 2 SECOND, lateness 30 -> 1 SECOND,
# early firings every 3 rows) over the generator's columns.
#
# Two ways of feeding them:
#   topic   the generator runs in its own `tide run`, INSERTing into a
#           topic; the example reads the topic (unbounded) with
#           'scan.watermark.quiet-advance' = '1 s', so once the input went
#           quiet its watermark advances with processing time and the last
#           window, which no later record completes, is printed too; it is
#           stopped with SIGINT after that.
#   direct  the example reads the rate-limited generator itself (bounded,
#           but written row by row as the watermark releases them).
. "$(dirname "$0")/lib.bash"
e2e_init run_live_latency
B=$TIDE_BIN
: "${TIDE_SRC:?TIDE_SRC must name the repository}"
EX=$TIDE_SRC/examples
[ -n "${EPOCHREALTIME:-}" ] || { echo "bash 5 (EPOCHREALTIME) needed" >&2; exit 1; }

RATE=100
SPAN_MS=6000 # the live input lasts this long (SPAN changes it per run)
BOUND_MS=1000
ALLOW_MS=${TIDE_LIVE_ALLOW_MS:-1000} # the promise; sanitized builds get more (CMakeLists.txt)

now_ms() { local t=$EPOCHREALTIME; echo "${t%.*}${t#*.}" | cut -c1-13; }

gen_opts() { # START_MS [LATE_SHARE]
    echo "'connector' = 'logins', 'seed' = '5', 'count' = '$((RATE * SPAN_MS / 1000))', 'users' = '60', 'start' = '$1', 'span' = '$SPAN_MS', 'rate' = '$RATE', 'late.share' = '${2:-0.05}', 'max.delay' = '800'"
}
topic_opts() { # TOPIC [EXTRA_OPTIONS]
    echo "'connector' = 'topic', 'topic' = '$1', 'format' = 'csv'${2:+, $2}"
}

# variant SRC.sql WITH_OPTIONS: SRC with the WITH (...) of its file table
# replaced, a 1 s watermark bound, and a day read as $DAY_S seconds
variant() {
    awk -v with="$2" '
        !skip && /'\''connector'\'' *= *'\''file'\''/ {
            i = index($0, "'\''connector'\''")
            printf "%s%s", substr($0, 1, i - 1), with
            rest = substr($0, i); skip = 1
        }
        skip {
            if (rest == "") rest = $0
            j = index(rest, ")")
            if (j) { print substr(rest, j); skip = 0 }
            rest = ""
            next
        }
        { print }' "$1" |
        sed -E -e "s/(WATERMARK FOR [A-Za-z_]+ AS [A-Za-z_]+ - INTERVAL )'[0-9]+' SECOND/\\1'1' SECOND/" |
        awk -v f="$DAY_S" '{
            out = ""
            while (match($0, /INTERVAL '\''[0-9]+'\'' DAY/)) {
                out = out substr($0, 1, RSTART - 1) "INTERVAL '\''" substr($0, RSTART + 10, RLENGTH - 15) * f "'\'' SECOND"
                $0 = substr($0, RSTART + RLENGTH)
            }
            print out $0
        }'
}

# late.sql's query over the generator's columns, windows of 2 s
late_variant() { # WITH_OPTIONS
    echo "CREATE TABLE views (ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING,"
    echo "  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ($1);"
    sed -n '/^SELECT/,$p' "$EX/late.sql" |
        sed -E -e "s/INTERVAL '1' MINUTE/INTERVAL '2' SECOND/" -e "s/ALLOW LATENESS INTERVAL '[0-9]+' SECOND/ALLOW LATENESS INTERVAL '1' SECOND/"
}

make_sql() { # NAME WITH_OPTIONS
    if [ "$1" == late ]; then late_variant "$2"; else variant "$EX/$1.sql" "$2"; fi
}

# stamp: each line prefixed with its arrival time (s.us); "EOF" at the end
stamp() {
    local l
    while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done
    echo "EOF"
}

wait_eof() { # FILE: the stamper finished (bounded)
    local i
    for ((i = 0; i < 400; i++)); do
        [ "$(tail -n 1 "$1" 2>/dev/null)" == EOF ] && return 0
        sleep 0.05
    done
    return 1
}

# awk functions: ms("YYYY-MM-DD HH:MM:SS[.mmm]") = epoch milliseconds
AWK_MS='
        function days(y, m, d,   era, yoe, doy, doe) {
            y -= m <= 2; era = int((y >= 0 ? y : y - 399) / 400); yoe = y - era * 400
            doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
            doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
            return era * 146097 + doe - 719468
        }
        function ms(s) {
            return ((days(substr(s, 1, 4) + 0, substr(s, 6, 2) + 0, substr(s, 9, 2) + 0) * 86400 + substr(s, 12, 2) * 3600 + substr(s, 15, 2) * 60 + substr(s, 18, 2)) * 1000) + (length(s) >= 23 ? substr(s, 21, 3) : 0)
        }'

# The empty pipeline beside a run: start_empty START_MS starts it (in the
# background, $empty_pid); empty_finish START_MS waits for it (in this
# shell: it is this shell's child) and sets $empty to its latest flush
# delay in ms, or says why it has none in $empty and fails.
start_empty() {
    cat >"$T/empty.sql" <<EOF
CREATE TABLE gen (ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING,
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ($(gen_opts "$1" 0));
SELECT ts, user_id FROM gen;
EOF
    "$B" run "$T/empty.sql" --format csv > >(stamp >"$T/empty.out") 2>"$T/empty.err" &
    empty_pid=$!
}
empty_finish() {
    empty="the empty pipeline failed: $(head -c 300 "$T/empty.err")"
    wait "$empty_pid" || return 1
    empty="the empty pipeline's output did not finish"
    wait_eof "$T/empty.out" || return 1
    empty=$(awk -v start="$1" "$AWK_MS"'
        function flush() { if (nf && le >= start + 1000 && (nd == 0 || la - le > worst)) { worst = la - le; nd++ } }
        $0 == "EOF" || !hdr++ { next }
        {
            t = $1; sub(/^[^ ]+ /, ""); split($0, f, ",")
            a = t * 1000; e = ms(f[1]); n++
            if (nf && a - la > 2) flush()  # more than 2 ms after the last row: a new flush
            nf = 1; la = a; le = e
        }
        END { flush(); if (n < 100 || !nd) { print "the empty pipeline printed " n " rows"; exit 1 } printf "%d\n", worst }' "$T/empty.out")
}

# check_times NAME OUT START_MS FINAL EMPTY_MS: every result line on time;
# prints a summary and returns 1 on any violation
check_times() {
    awk -v start="$3" -v span="$SPAN_MS" -v b="$BOUND_MS" -v allow="$ALLOW_MS" -v final="${4:-0}" -v empty="$5" "$AWK_MS"'
        $0 == "EOF" { next }
        {
            t = $1; sub(/^[^ ]+ /, ""); split($0, f, ",")
            arr = int(t * 1000)
        }
        !hdr {
            hdr = 1
            for (i = 1; i <= length(f); i++) { if (f[i] == "op") changelog = 1; if (!col && f[i] ~ /end/) col = i }
            if (!col) { print "no window end column in: " $0; exit 2 }
            next
        }
        {
            e = ms(f[col]); due = e + b; n++
            # a window that ends after the input does is closed by the quiet
            # advance: its watermark passes when the last record reached the
            # consumer plus the 1 s quiet timeout, which E + B does not see
            if (final && e > start + span) due += 1000
            if (!(f[col] in seen)) { seen[f[col]] = 1; ends[++ne] = e }
            if (arr - due > worst || n == 1) worst = arr - due
            if (arr > due + allow + empty) { v++; if (v <= 3) msg = msg sprintf(" [window end %s: %d ms after the watermark passed it]", f[col], arr - due) }
            if (!changelog && due <= start + span - 300 && arr < due - 200) { v++; if (v <= 3) msg = msg sprintf(" [window end %s: printed %d ms before its watermark could pass]", f[col], due - arr) }
        }
        END {
            # completeness: window ends every `slide` ms (the smallest step
            # seen), no gap, up to the last window the input completed
            for (i = 2; i <= ne; i++) for (j = i; j > 1 && ends[j - 1] > ends[j]; j--) { x = ends[j]; ends[j] = ends[j - 1]; ends[j - 1] = x }
            slide = 0
            for (i = 2; i <= ne; i++) if (!slide || ends[i] - ends[i - 1] < slide) slide = ends[i] - ends[i - 1]
            for (i = 2; i <= ne; i++) if (ends[i] - ends[i - 1] != slide) { v++; msg = msg sprintf(" [no window ends between %d and %d]", ends[i - 1], ends[i]) }
            if (slide) {
                need = int((start + span - b - 50) / slide) * slide
                if (ends[ne] < need) { v++; msg = msg sprintf(" [the last window printed ends at %d, the input completed one ending at %d]", ends[ne], need) }
                if (final && ends[ne] < start + span) { v++; msg = msg sprintf(" [the last window printed ends at %d, before the input does (%d): the quiet input did not advance the watermark]", ends[ne], start + span) }
            }
            printf "rows %d, windows %d, violations %d; allowance %d ms, latest row %d ms after the watermark, the empty pipeline%s latest %d ms: difference %d ms, margin %d ms%s\n", n, ne, v, allow, worst, "\047s", empty, worst - empty, allow - (worst - empty), msg
            if (ne < 3) exit 3
            exit v ? 1 : 0
        }' "$2"
}

run_topic() { # NAME
    local name=$1 topic=live_$1
    "$B" topic create "$topic" >/dev/null 2>"$T/err" || { bad "$name/topic: topic create" "$(cat "$T/err")"; return; }
    make_sql "$name" "$(topic_opts "$topic" "'scan.watermark.quiet-advance' = '1 s'")" >"$T/$name.cons.sql"
    "$B" run "$T/$name.cons.sql" --format csv > >(stamp >"$T/$name.topic.out") 2>"$T/$name.topic.err" &
    local pid=$! start empty
    start=$(now_ms)
    start_empty "$start"
    cat >"$T/$name.prod.sql" <<EOF
CREATE TABLE gen (ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING,
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ($(gen_opts "$start"));
CREATE TABLE live (ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING) WITH ($(topic_opts "$topic"));
INSERT INTO live SELECT ts, user_id, country, device FROM gen;
EOF
    if ! "$B" run "$T/$name.prod.sql" >/dev/null 2>"$T/$name.prod.err"; then
        bad "$name/topic: producer" "$(cat "$T/$name.prod.err")"
    fi
    # every event is in the topic: wait (bounded, 20 s) until the consumer's
    # output has not grown for 3 s (the quiet advance starts after 1 s), then
    # stop it (check_times then finds any window that did not print)
    local i same=0 last=-1 cur
    for ((i = 0; i < 400 && same < 60; i++)); do
        cur=$(wc -l <"$T/$name.topic.out")
        if [ "$cur" == "$last" ] && [ "$cur" -gt 1 ]; then same=$((same + 1)); else same=0; fi
        last=$cur
        sleep 0.05
    done
    kill -INT "$pid" 2>/dev/null
    wait "$pid"
    expect_eq "$name/topic: SIGINT stops the consumer cleanly" "$?" "0"
    wait_eof "$T/$name.topic.out" || bad "$name/topic" "output not finished"
    if ! empty_finish "$start"; then
        bad "$name/topic" "$empty"
        return
    fi
    local res
    res=$(check_times "$name" "$T/$name.topic.out" "$start" 1 "$empty")
    case $? in
    0) ok "$name/topic: $res" ;;
    *) bad "$name/topic" "$res; output: $(head -c 600 "$T/$name.topic.out")" ;;
    esac
}

run_direct() { # NAME
    local name=$1 start empty
    start=$(now_ms)
    make_sql "$name" "$(gen_opts "$start")" >"$T/$name.direct.sql"
    start_empty "$start"
    "$B" run "$T/$name.direct.sql" --format csv > >(stamp >"$T/$name.direct.out") 2>"$T/$name.direct.err"
    expect_eq "$name/direct: exit status" "$?" "0"
    wait_eof "$T/$name.direct.out" || bad "$name/direct" "output not finished"
    if ! empty_finish "$start"; then
        bad "$name/direct" "$empty"
        return
    fi
    local res
    if res=$(check_times "$name" "$T/$name.direct.out" "$start" 1 "$empty"); then
        ok "$name/direct: $res"
    else
        bad "$name/direct" "$res; output: $(head -c 600 "$T/$name.direct.out")"
    fi
}

for name in dau mau late churn; do
    if [ ! -f "$EX/$name.sql" ]; then
        # the examples are part of the repository: a missing one is a break
        bad "$name" "examples/$name.sql does not exist"
        continue
    fi
    DAY_S=1 SPAN_MS=6000
    run_topic "$name"
    DAY_S=2 SPAN_MS=9000
    run_direct "$name"
done

e2e_finish
