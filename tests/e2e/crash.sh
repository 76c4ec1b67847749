#!/bin/bash
# The crash test of exactly-once (issue 11): a named job of four windowed
# aggregations and a join, reading a topic of generated logins (out of
# order, with late records beyond the watermark bound) and writing two
# topics of 3 partitions (keyed by country: a transaction spans several)
# and a file table through transactional sinks (log transactions, part
# files), is broken again and again and restarted each time; when the
# input ends, the committed output (read with `tide consume`,
# read-committed) must be the fault-free run's, row for row, and the counts
# (records in, out, late, bad; the summary and `tide job status`) the same:
# 0 lost, 0 duplicated.
#
#   reference   the job run once without faults; its output is checked
#               against sqlite3 over the records awk finds on time (a record
#               is late when W = max ts before it - 5 s >= its window's end -
#               1 ms), and its late count against awk's (three window
#               aggregations count each late record, the fourth those of DE
#               and FR)
#   faults      one job broken at each fault point of a checkpoint, a log
#               transaction, a file sink's commit and the job (TIDE_FAULT,
#               base/fault.h): kill and EIO, one after the other, each run
#               resuming the previous one's checkpoint; then run to the end
#   kills       SIGKILL at random moments (every fifth a SIGTERM: a
#               checkpoint, then the stop), TIDE_CRASH_KILLS times (default
#               20), restarting each time; a job that ends before the kills
#               are used up is followed by a fresh one (a round); every
#               other run the committed output is also read while the job
#               runs
#   power loss  the same with TIDE_IO_JOURNAL: after each kill `tide debug
#               powerloss` drops the unsynced writes of every file (a seed
#               keeps a random part, so writes are torn), TIDE_CRASH_POWERLOSS
#               times (default: the kills); after the last run too
# After every broken run the committed output must be, stream by stream
# (each partition of a topic, the file table's parts), a prefix of the
# reference, and pass the sequence checker: per key (the country), the
# windows follow one another (each one's start is the previous one's end:
# no gap, no repeat), beginning at the key's first window in the input, and
# at the end reaching its last.  The checker is shown to catch a dropped
# and a repeated row and a missing tail.  A round ends only with a run that
# exits 0 (one that printed "finished" may still be killed before its sinks
# committed).
#
# TIDE_CRASH_ROWS sets the input size (default 1,000,000), TIDE_CRASH_SEED
# the kills' random moments.
. "$(dirname "$0")/lib.bash"
e2e_init crash
B=$TIDE_BIN
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (scripts/deps.sh installs it)" >&2; exit 1; }
ROWS=${TIDE_CRASH_ROWS:-1000000}
KILLS=${TIDE_CRASH_KILLS:-20}
PLOSS=${TIDE_CRASH_POWERLOSS:-$KILLS}
started=$(now_s)
RANDOM=${TIDE_CRASH_SEED:-11}

# ts,user_id,country: ~20 ms apart, 1 in 8 up to 4 s early (within the
# bound), 1 in 499 one to three minutes early (late for its window)
awk -v n="$ROWS" 'BEGIN {
    seed = 11; t = 1704067200000
    split("US IN DE FR BR JP", ctry, " ")
    for (i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        r = int(seed / 65536)
        t += r % 40
        d = (r % 8 == 0) ? r % 4000 : 0
        if (r % 499 == 7) d = 60000 + r % 120000
        printf "%.0f,%d,%s\n", t - d, r % 5000, ctry[r % 6 + 1]
    }
}' >"$T/in.csv"
expect_eq "input rows" "$(wc -l <"$T/in.csv")" "$ROWS"
"$B" topic create logins --partitions 1 >/dev/null 2>"$T/err" || bad "topic create" "$(cat "$T/err")"
"$B" produce logins --format raw <"$T/in.csv" >/dev/null 2>"$T/err" || bad "produce" "$(cat "$T/err")"

# the model: the records on time (in order), the late count (and that of
# DE and FR), and per country its first and last window start (epoch s)
awk -F, -v bound=5000 -v size=60000 -v ontime="$T/ontime.csv" -v keys="$T/keys" '
    { t = $1 + 0; end = t - t % size + size
      if (NR > 1 && mx - bound >= end - 1) { late++; if ($3 == "DE" || $3 == "FR") late_df++ }
      else { print >ontime; w = (end - size) / 1000
             if (!($3 in lo) || w < lo[$3]) lo[$3] = w
             if (!($3 in hi) || w > hi[$3]) hi[$3] = w }
      if (NR == 1 || t > mx) mx = t }
    END { print late + 0, late_df + 0; for (k in lo) print k, lo[k], hi[k] >keys }' "$T/in.csv" >"$T/late"
read -r LATE LATE_DF <"$T/late"
[ "$LATE" -gt 100 ] && ok "the input has late records ($LATE)" || bad "late records" "only $LATE"

# the job: out_<tag>_agg gets COUNT(*) and COUNT(DISTINCT user_id) per
# minute and country, out_<tag>_jn the join of the per-minute, per-country
# count with the per-minute distinct users (two windowed aggregations), the
# file table parts_<tag> (a directory of part files) the first for DE and FR
mk() {
    cat <<EOF
CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT, country STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
WITH ('connector' = 'topic', 'topic' = 'logins', 'format' = 'csv', 'scan.bounded.mode' = 'latest-offset');
CREATE TABLE agg (window_start TIMESTAMP(3), window_end TIMESTAMP(3), country STRING, n BIGINT, users BIGINT)
WITH ('connector' = 'topic', 'topic' = 'out_$1_agg', 'format' = 'csv', 'key.column' = 'country');
CREATE TABLE jn (window_start TIMESTAMP(3), window_end TIMESTAMP(3), country STRING, n BIGINT, users BIGINT)
WITH ('connector' = 'topic', 'topic' = 'out_$1_jn', 'format' = 'csv', 'key.column' = 'country');
CREATE TABLE df (window_start TIMESTAMP(3), window_end TIMESTAMP(3), country STRING, n BIGINT, users BIGINT)
WITH ('connector' = 'file', 'path' = 'parts_$1', 'format' = 'csv');
INSERT INTO agg
SELECT window_start, window_end, country, COUNT(*) AS n, COUNT(DISTINCT user_id) AS users
FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, country;
INSERT INTO jn
SELECT a.window_start, a.window_end, a.country, a.n, b.users
FROM (SELECT window_start, window_end, country, COUNT(*) AS n
      FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
      GROUP BY window_start, window_end, country) a
JOIN (SELECT window_start, window_end, COUNT(DISTINCT user_id) AS users
      FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
      GROUP BY window_start, window_end) b
ON a.window_end = b.window_end;
INSERT INTO df
SELECT window_start, window_end, country, COUNT(*) AS n, COUNT(DISTINCT user_id) AS users
FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
WHERE country = 'DE' OR country = 'FR'
GROUP BY window_start, window_end, country;
EOF
}
# fresh TAG: (re)create the output topics of job TAG and forget the job
fresh() {
    local t
    for t in agg jn; do
        "$B" topic delete "out_$1_$t" >/dev/null 2>&1
        "$B" topic create "out_$1_$t" --partitions 3 >/dev/null 2>"$T/err" || bad "topic create out_$1_$t" "$(cat "$T/err")"
    done
    "$B" job reset "$1" >/dev/null 2>&1
    rm -rf "$T/parts_$1"
    mk "$1" >"$T/$1.sql"
}
# the outputs, and the streams in them whose order is total: the topics'
# partitions (3 each, keyed by country: a transaction spans several) and
# the file table's parts
OUTS="agg jn df"
STREAMS="agg.0 agg.1 agg.2 jn.0 jn.1 jn.2 df"
# committed TAG: the committed output into $T/c.<stream> and $T/c.<output>
# (a topic's partitions one after the other; the part files in name order)
committed() {
    local t p
    for t in agg jn; do
        for p in 0 1 2; do
            "$B" consume "out_$1_$t" --partition $p --format raw >"$T/c.$t.$p" 2>"$T/c.err" ||
                bad "consume out_$1_$t" "$(cat "$T/c.err")"
        done
        cat "$T/c.$t.0" "$T/c.$t.1" "$T/c.$t.2" >"$T/c.$t"
    done
    cat $(ls "$T/parts_$1"/part-* 2>/dev/null | sort) </dev/null >"$T/c.df" 2>/dev/null
}

# seqcheck FILE [final]: per country ($3), each window starts where the
# previous one ended, the first is the country's first window in the input
# and (final) the last its last (of every country; df: DE and FR).  Prints
# the first violation; exit 1.
seqcheck() {
    local only=.
    case $1 in *.df) only='^(DE|FR)$' ;; esac
    awk -F, -v keys="$T/keys" -v final="${2:-}" -v only="$only" '
    # "YYYY-MM-DD HH:MM:SS..." to epoch seconds (days from the civil date)
    function sec(s,   y, m, d, era, yoe, doy) {
        y = substr(s, 1, 4) + 0; m = substr(s, 6, 2) + 0; d = substr(s, 9, 2) + 0
        if (m <= 2) y--
        era = int(y / 400); yoe = y - era * 400
        doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
        d = era * 146097 + yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy - 719468
        return d * 86400 + substr(s, 12, 2) * 3600 + substr(s, 15, 2) * 60 + substr(s, 18, 2)
    }
    BEGIN { while ((getline l <keys) > 0) { split(l, a, " "); lo[a[1]] = a[2]; hi[a[1]] = a[3] } }
    {
        s = sec($1); e = sec($2); k = $3
        if (!(k in lo)) { print "line " NR ": key " k " is not in the input"; bad = 1; exit 1 }
        if (!(k in last)) { if (s != lo[k]) { print "line " NR ": key " k " starts at " $1 ", not its first window"; bad = 1; exit 1 } }
        else if (s != last[k]) { print "line " NR ": key " k ": window " $1 " after one ending at " last[k] "s" (s < last[k] ? " (a repeat)" : " (a gap)"); bad = 1; exit 1 }
        last[k] = e; first[k] = 1
    }
    END {
        if (bad) exit 1
        if (final) for (k in lo) if (k ~ only && (!(k in last) || last[k] != hi[k] + 60)) { print "key " k ": ends before its last window"; exit 1 }
    }' "$1"
}

# ---- the reference ----
fresh ref
"$B" run "$T/ref.sql" --job ref --checkpoint-interval 50ms >/dev/null 2>"$T/ref.err" ||
    bad "reference run" "$(head -c 400 "$T/ref.err")"
committed ref
for t in $OUTS $STREAMS; do cp "$T/c.$t" "$T/ref.$t"; done
for t in agg jn; do
    n=0
    for p in 0 1 2; do [ -s "$T/ref.$t.$p" ] && n=$((n + 1)); done
    [ "$n" -ge 2 ] && ok "reference $t: $n partitions written" || bad "reference $t" "only $n partitions written"
done
REFCOUNTS=$(grep '^records in ' "$T/ref.err")
sqlite3 "$T/db" <<EOF >"$T/want"
CREATE TABLE l (ts INTEGER, user_id INTEGER, country TEXT);
.mode csv
.import $T/ontime.csv l
.mode list
.separator ,
SELECT 'agg', strftime('%Y-%m-%d %H:%M:%S.000', (ts / 60000) * 60, 'unixepoch'),
       strftime('%Y-%m-%d %H:%M:%S.000', (ts / 60000 + 1) * 60, 'unixepoch'),
       country, COUNT(*), COUNT(DISTINCT user_id)
FROM l GROUP BY ts / 60000, country;
WITH a AS (SELECT ts / 60000 AS w, country, COUNT(*) AS n FROM l GROUP BY ts / 60000, country),
     b AS (SELECT ts / 60000 AS w, COUNT(DISTINCT user_id) AS users FROM l GROUP BY ts / 60000)
SELECT 'jn', strftime('%Y-%m-%d %H:%M:%S.000', a.w * 60, 'unixepoch'),
       strftime('%Y-%m-%d %H:%M:%S.000', (a.w + 1) * 60, 'unixepoch'), a.country, a.n, b.users
FROM a JOIN b ON a.w = b.w;
SELECT 'df', strftime('%Y-%m-%d %H:%M:%S.000', (ts / 60000) * 60, 'unixepoch'),
       strftime('%Y-%m-%d %H:%M:%S.000', (ts / 60000 + 1) * 60, 'unixepoch'),
       country, COUNT(*), COUNT(DISTINCT user_id)
FROM l WHERE country IN ('DE', 'FR') GROUP BY ts / 60000, country;
EOF
for t in $OUTS; do
    if [ -s "$T/ref.$t" ] && cmp -s <(sort "$T/ref.$t") <(sed -n "s/^$t,//p" "$T/want" | sort); then
        ok "reference $t = sqlite3 over the on-time records ($(wc -l <"$T/ref.$t") rows)"
    else
        bad "reference $t = sqlite3" "$(diff <(sort "$T/ref.$t") <(sed -n "s/^$t,//p" "$T/want" | sort) | head -5)"
    fi
    seqcheck "$T/ref.$t" final >"$T/seq" && ok "reference $t: per key no gap, no repeat" ||
        bad "reference $t: sequence" "$(cat "$T/seq")"
done
NOUT=$(cat "$T/ref.agg" "$T/ref.jn" "$T/ref.df" | wc -l)
expect_eq "reference counts (late: 3 aggregations x awk's $LATE + $LATE_DF of DE and FR)" "$REFCOUNTS" \
    "records in $ROWS, out $NOUT, late $((3 * LATE + LATE_DF)), bad 0"
expect_grep "reference status: late" "^  records in $ROWS, out $NOUT, late $((3 * LATE + LATE_DF)), bad 0" \
    <("$B" job status ref 2>&1)
# the checker catches a dropped and a repeated row
sed '100d' "$T/ref.agg" >"$T/doctored"
seqcheck "$T/doctored" final >"$T/seq" && bad "sequence checker" "missed a dropped row" ||
    ok "sequence checker catches a dropped row: $(cat "$T/seq")"
sed '100p' "$T/ref.jn" >"$T/doctored"
seqcheck "$T/doctored" final >"$T/seq" && bad "sequence checker" "missed a repeated row" ||
    ok "sequence checker catches a repeated row: $(cat "$T/seq")"
head -n 50 "$T/ref.agg" >"$T/doctored"
seqcheck "$T/doctored" final >"$T/seq" && bad "sequence checker" "missed a cut tail" ||
    ok "sequence checker catches a missing tail: $(cat "$T/seq")"

# prefix TAG WHAT: after a broken run, the committed output of job TAG is,
# stream by stream, a prefix of the reference and passes the sequence checker
prefix_bad=0
prefix() {
    local t n
    committed "$1"
    for t in $STREAMS; do
        n=$(wc -l <"$T/c.$t")
        if ! cmp -s "$T/c.$t" <(head -n "$n" "$T/ref.$t"); then
            prefix_bad=$((prefix_bad + 1))
            bad "$2: committed $t" "not a prefix of the reference ($n rows): $(diff "$T/c.$t" <(head -n "$n" "$T/ref.$t") | head -3)"
        elif ! seqcheck "$T/c.$t" >"$T/seq"; then
            prefix_bad=$((prefix_bad + 1))
            bad "$2: committed $t: sequence" "$(cat "$T/seq")"
        fi
    done
}
# final TAG WHAT ERRFILE: the job ended; its output and counts are the reference's
final() {
    committed "$1"
    local t
    for t in $OUTS; do
        if cmp -s "$T/c.$t" "$T/ref.$t"; then
            ok "$2: committed $t = reference, row for row ($(wc -l <"$T/c.$t") rows: 0 lost, 0 duplicated)"
        else
            bad "$2: committed $t" "$(diff "$T/c.$t" "$T/ref.$t" | head -5)"
        fi
        seqcheck "$T/c.$t" final >"$T/seq" || bad "$2: $t sequence" "$(cat "$T/seq")"
    done
    expect_eq "$2: counts of the last run = the reference's" "$(grep '^records in ' "$3")" "$REFCOUNTS"
    "$B" job status "$1" >"$T/status" 2>&1
    expect_grep "$2: job status: finished, the reference's counts" "^  $REFCOUNTS\$" "$T/status"
}
finished() { grep -q -E "^job $1: checkpoint [0-9]+ \(finished\)|^job $1 finished at checkpoint" "$2"; }

# ---- each fault point, kill and EIO, one after the other on one job ----
# (the points, from the code: state/ckpt.h, job/coord.h, log/producer.h,
# connect/sink.h; @N the hit that breaks: job.ids is reached at the start,
# ckpt.prune from the 4th checkpoint, log.txn.* at the recovery too,
# sink.file.recover only when a run left a part behind, as a kill at
# sink.file.precommit.rename does, and a kill at sink.file.recover too)
fresh f
i=0 left=0
for pa in job.ids:kill@1 job.ids:eio@1 job.barrier:kill@3 job.barrier:eio@3 \
    ckpt.state.write:kill@2 ckpt.state.write:eio@2 ckpt.state.fsync:kill@2 ckpt.state.fsync:eio@2 \
    ckpt.state.rename:kill@2 ckpt.state.rename:eio@2 ckpt.manifest.write:kill@2 ckpt.manifest.write:eio@2 \
    ckpt.prune:kill@1 ckpt.prune:eio@1 job.complete:kill@2 job.complete:eio@2 \
    log.txn.append:kill@3 log.txn.append:eio@3 log.txn.precommit:kill@2 log.txn.precommit:eio@2 \
    log.txn.marker:kill@3 log.txn.marker:eio@3 log.txn.state:kill@3 log.txn.state:eio@3 \
    sink.file.precommit:kill@2 sink.file.precommit:eio@2 sink.file.commit:kill@2 sink.file.commit:eio@2 \
    sink.file.precommit.rename:kill@2 sink.file.recover:kill@1 sink.file.recover:eio@1 \
    sink.file.precommit.rename:eio@2 job.status:kill@1; do
    point=${pa%%:*} action=${pa#*:} n=${pa#*@}
    action=${action%@*}
    i=$((i + 1))
    [ "$(ls -A "$T/parts_f" 2>/dev/null | grep -c -v -E '^(part-|\.lock$)')" -gt 0 ] && left=$((left + 1))
    { TIDE_FAULT="$point:$action@$n" "$B" run "$T/f.sql" --job f --checkpoint-interval 20ms >/dev/null 2>"$T/f.$i.err"; } 2>/dev/null
    st=$?
    if [ $action = kill ]; then
        [ "$st" -eq 137 ] && ok "$point:kill@$n: the run died there" ||
            bad "$point:kill@$n" "exit $st, want 137: $(head -c 300 "$T/f.$i.err")"
    elif [ "$st" -eq 2 ] && grep -q "$point: injected fault" "$T/f.$i.err"; then
        ok "$point:eio@$n: the job stopped with the error"
    else
        bad "$point:eio@$n" "exit $st, want 2 naming the point: $(head -c 300 "$T/f.$i.err")"
    fi
    finished f "$T/f.$i.err" && bad "$point:$action@$n" "the job finished before the fault"
    prefix f "$point:$action@$n"
done
# (the file sink's recovery was exercised: broken runs left parts behind)
[ "$left" -gt 2 ] && ok "broken runs left a part for the next run's recovery ($left times)" ||
    bad "file sink" "no broken run left a part behind"
TIDE_FAULT="job.status:eio@1" "$B" run "$T/f.sql" --job f --checkpoint-interval 20ms >/dev/null 2>"$T/f.last.err"
st=$?
[ "$st" -eq 0 ] && finished f "$T/f.last.err" && grep -q "job.status: injected fault" "$T/f.last.err" &&
    ok "job.status:eio@1: reported, the job went on to the end" ||
    bad "job.status:eio@1" "exit $st: $(head -c 300 "$T/f.last.err")"
final f "faults" "$T/f.last.err"
expect_eq "faults: no part left open or pre-committed at the end" \
    "$(ls -A "$T/parts_f" | grep -c -v -E '^(part-|\.lock$)')" "0"

# ---- kills (and power losses) at random moments ----
# loop MODE COUNT: rounds of a fresh job killed at random moments (mode
# power: then the power cut) and restarted until it ends, until COUNT kills
loop() {
    local mode=$1 want=$2 kills=0 terms=0 runs=0 rounds=0 fin tag st delay sig
    local J="$T/journal"
    while [ "$kills" -lt "$want" ] && [ "$rounds" -lt $((want + 5)) ]; do
        rounds=$((rounds + 1))
        tag=$mode$rounds
        fresh "$tag"
        rm -f "$J"
        fin=0
        while [ "$fin" -eq 0 ] && [ "$runs" -lt $((want * 4 + 40)) ]; do
            runs=$((runs + 1))
            if [ "$mode" = power ]; then
                TIDE_IO_JOURNAL="$J" "$B" run "$T/$tag.sql" --job "$tag" --checkpoint-interval 20ms \
                    >/dev/null 2>"$T/run.err" &
            else
                "$B" run "$T/$tag.sql" --job "$tag" --checkpoint-interval 20ms >/dev/null 2>"$T/run.err" &
            fi
            pid=$!
            if [ "$kills" -lt "$want" ]; then
                delay=$((RANDOM % 400 + 10))
                sleep "$(printf '0.%03d' "$((delay / 2))")"
                # (every other run: the committed output read while the job writes)
                [ $((runs % 2)) -eq 0 ] && prefix "$tag" "$tag run $runs, read while it runs"
                sleep "$(printf '0.%03d' "$((delay - delay / 2))")"
                # (kills: every fifth a SIGTERM, a checkpoint then the stop)
                sig=KILL
                [ "$mode" = kill ] && [ $((kills % 5)) -eq 4 ] && sig=TERM
                kill -$sig "$pid" 2>/dev/null && kills=$((kills + 1)) && [ $sig = TERM ] && terms=$((terms + 1))
            fi
            wait "$pid" 2>/dev/null
            st=$?
            # (143: a SIGTERM before the run set its handlers)
            [ "$st" -eq 143 ] && st=137
            # (no journal: the run was killed before it wrote a byte)
            [ "$mode" = power ] && [ -e "$J" ] && { "$B" debug powerloss "$J" --seed "$RANDOM" >>"$T/powerloss.log" 2>&1 ||
                bad "powerloss" "$(tail -2 "$T/powerloss.log")"; }
            if [ "$st" -ne 0 ] && [ "$st" -ne 137 ]; then
                bad "$tag run $runs" "exit $st: $(head -c 300 "$T/run.err")"
                return
            fi
            # (a run that says the job finished may still be killed before
            # its sinks committed: only one that exits 0 ends the round)
            if [ "$st" -eq 0 ] && finished "$tag" "$T/run.err"; then
                fin=1
                # (power: the cut after a finished run loses nothing either)
                final "$tag" "$mode round $rounds" "$T/run.err"
            else
                prefix "$tag" "$tag run $runs"
            fi
        done
        [ "$fin" -eq 1 ] || bad "$mode round $rounds" "did not finish in $runs runs"
        [ "$prefix_bad" -gt 5 ] && return
    done
    if [ "$kills" -ge "$want" ]; then
        ok "$mode: $kills kills ($terms SIGTERM) in $runs runs, $rounds rounds (job restarted after each; prefix and sequence checked each time)"
    else
        bad "$mode" "only $kills kills of $want"
    fi
}
loop kill "$KILLS"
[ "$PLOSS" -gt 0 ] && loop power "$PLOSS"
[ "$PLOSS" -gt 0 ] && expect_grep "power losses cut unsynced writes" "power loss: .* [1-9][0-9]* cut" "$T/powerloss.log"

echo "crash: $ROWS rows, $KILLS kills, $PLOSS power losses, $(elapsed "$started") s"
e2e_finish
