#!/bin/bash
# DECIMAL(p, s): reading (HALF_UP to the scale, a value beyond the precision
# a bad row), exact + - * / %, CASTs, comparisons, GROUP BY keys and SUM,
# AVG, MIN, MAX, unwindowed and per window, against Python's decimal module
# (an independent exact arithmetic: ROUND_HALF_UP, 200 digits) over the same
# CSV, at P = 1, 2, 4.  The result types are Flink's (data/decimal.h); a
# result that does not fit its type is NULL, as in Flink.
. "$(dirname "$0")/lib.bash"
e2e_init run_decimal
B=$TIDE_BIN
PY=$(command -v python3) || { bad "python3" "missing (scripts/deps.sh installs it)"; e2e_finish; }

# 600 payments over a day: price with up to 3 decimals (read into
# DECIMAL(10, 2): rounded, ties included), rate DECIMAL(5, 4), big up to 38
# digits (its arithmetic overflows), qty BIGINT with zeros (x / 0 is NULL)
"$PY" - "$T/in.csv" <<'EOF'
import random, sys, time
rnd = random.Random(7)
t = 1704067200000
with open(sys.argv[1], 'w') as f:
    for i in range(600):
        t += rnd.randint(0, 140000)
        ts = time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(t // 1000)) + '.%03d' % (t % 1000)
        m = rnd.choice([rnd.randint(-10**6, 10**8), rnd.randint(-999, 999), 5, -5, 15, 25, 995, -995, 99999999994, 99999999995])
        price = '%s%d.%03d' % ('-' if m < 0 else '', abs(m) // 1000, abs(m) % 1000)
        if rnd.random() < 0.3:
            price = price[:-1]
        big = str(rnd.randint(-10**38 + 1, 10**38 - 1) // rnd.choice([1, 10**10, 10**30]))
        f.write('%s,%s,%s,%d,%d.%04d,%s\n' % (ts, rnd.choice('abcde'), price, rnd.randint(-2, 9),
                                               rnd.randint(0, 9), rnd.randint(0, 9999), big))
EOF
table="CREATE TABLE p (ts TIMESTAMP(3), k STRING, price DECIMAL(10, 2), qty BIGINT, rate DECIMAL(5, 4), big DECIMAL(38, 0), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'file', 'path' = 'in.csv', 'format' = 'csv');"

# the reference: python3 computes each query's rows from the CSV
ref() { # QUERY-NAME
    "$PY" - "$T/in.csv" "$1" <<'EOF'
import sys
from decimal import Decimal as D, getcontext, ROUND_HALF_UP
getcontext().prec = 200
getcontext().rounding = ROUND_HALF_UP
def q(v, s):                    # round to scale s, HALF_UP
    return v.quantize(D(1).scaleb(-s), rounding=ROUND_HALF_UP)
def fit(v, p, s):               # the value of DECIMAL(p, s), or None (NULL)
    v = q(v, s)
    return v if abs(v) < D(10) ** (p - s) else None
def t(v):                       # as text; no negative zero (Java's BigDecimal has none)
    return '' if v is None else format(v.copy_abs() if v == 0 else v, 'f')
rows = []
for line in open(sys.argv[1]):
    ts, k, price, qty, rate, big = line.rstrip('\n').split(',')
    price = D(price)
    if abs(q(price, 2)) >= D(10) ** 8:
        continue                # beyond DECIMAL(10, 2): a bad row
    price = q(price, 2)
    rows.append((ts, k, price.copy_abs() if price == 0 else price, int(qty), D(rate), D(big)))
name = sys.argv[2]
out = []
for ts, k, p, n, r, b in rows:
    if name == 'arith':
        # p * n: DECIMAL(10,2) * DECIMAL(19,0) -> (30, 2); p + r -> (13, 4);
        # p * r -> (16, 6); p / r -> scale max(6, 2+5+1) = 8, precision 10-2+4+8 = 20;
        # p / n -> scale 2+19+1 = 22, precision 30; p % 7 -> (3, 2) (7 is INT: (10, 0))
        out.append([ts, t(fit(p * n, 30, 2)), t(fit(p + r, 13, 4)), t(fit(p - r, 13, 4)),
                    t(fit(p * r, 16, 6)), t(None if r == 0 else fit(p / r, 20, 8)),
                    t(None if n == 0 else fit(p / n, 30, 22)), t(fit(p % 7, 3, 2)), t(-p)])
    elif name == 'big':
        # b * 10 -> (38, 0) (10 is INT: 38 + 10 + 1 > 38); b + b -> (38, 0);
        # b * p -> 38 + 10 + 1 = 49: (38, 2) (38 - 36 digits = 2 >= min(2, 6))
        out.append([ts, t(fit(b * 10, 38, 0)), t(fit(b + b, 38, 0)), t(fit(b * p, 38, 2))])
    elif name == 'cast':
        out.append([ts, t(fit(p, 5, 1)), t(fit(r, 3, 2)), str(int(p)), t(p), t(fit(D(n), 4, 2))])
    elif name == 'where':
        if p > D('100.5') and p < 5000 or p == D('0.02') or (p >= -1 and p <= 1) or p > n * 1000000:
            out.append([ts, t(p)])
if name in ('sum', 'win'):
    g = {}
    for ts, k, p, n, r, b in rows:
        key = (k,) if name == 'sum' else (ts[:13] + ':00:00.000', k)
        g.setdefault(key, []).append((p, r))
    for key, v in g.items():
        s = sum(x for x, _ in v)
        out.append(list(key) + [t(s), t(q(s / len(v), 6)), t(min(x for x, _ in v)), t(max(x for x, _ in v)),
                                t(sum(y for _, y in v)), t(q(sum(y for _, y in v) / len(v), 6)),
                                str(len(set(x for x, _ in v)))])
if name == 'key':
    g = {}
    for ts, k, p, n, r, b in rows:
        g[p] = g.get(p, 0) + 1
    out = [[t(p), str(c)] for p, c in g.items()]
for o in sorted(','.join(x) for x in out):
    print(o)
EOF
}

check() { # NAME REF QUERY
    printf '%s\n%s\n' "$table" "$3" >"$T/q.sql"
    ref "$2" | sort >"$T/want"
    local p
    for p in 1 2 4; do
        if ! (cd "$T" && "$B" run q.sql --format csv --parallelism $p) >"$T/out.$p" 2>"$T/err.$p"; then
            bad "$1 at P=$p" "$(head -3 "$T/err.$p")"; return; fi
        if head -1 "$T/out.$p" | grep -q '^op,'; then
            tail -n +2 "$T/out.$p" | grep '^+I,' | cut -d, -f2- | sort >"$T/got.$p"
        else
            tail -n +2 "$T/out.$p" | sort >"$T/got.$p"
        fi
        cmp -s "$T/got.1" "$T/got.$p" || { bad "$1: P=$p differs from P=1" "$(diff "$T/got.1" "$T/got.$p" | head -3)"; return; }
    done
    if [ "$(wc -l <"$T/want")" -lt 5 ]; then bad "$1" "only $(wc -l <"$T/want") rows: proves little"; return; fi
    if cmp -s "$T/got.1" "$T/want"; then ok "$1: $(wc -l <"$T/want") rows equal Python decimal's at P = 1, 2, 4"; else
        bad "$1" "$(diff "$T/got.1" "$T/want" | head -6)"; fi
}

check "+ - * / % and unary minus (Flink's result types, x / 0 NULL)" arith \
    "SELECT ts, price * qty, price + rate, price - rate, price * rate, price / rate, price / qty, price % 7, -price FROM p;"
check "DECIMAL(38, 0) arithmetic: a result beyond 38 digits is NULL" big \
    "SELECT ts, big * 10, big + big, big * price FROM p;"
check "CAST: DECIMAL(5, 1) (HALF_UP, overflow NULL), DECIMAL(3, 2), BIGINT (truncated), STRING, from BIGINT" cast \
    "SELECT ts, CAST(price AS DECIMAL(5, 1)), CAST(rate AS DECIMAL(3, 2)), CAST(price AS BIGINT), CAST(price AS STRING), CAST(qty AS DECIMAL(4, 2)) FROM p;"
check "comparisons with DECIMAL literals, INT and BIGINT" where \
    "SELECT ts, price FROM p WHERE price > 100.5 AND price < 5000 OR price = 0.02 OR price BETWEEN -1 AND 1 OR price > qty * 1000000;"
check "unwindowed GROUP BY: SUM (38, s), AVG (38, max(s, 6)), MIN, MAX, COUNT(DISTINCT)" sum \
    "SELECT k, SUM(price), AVG(price), MIN(price), MAX(price), SUM(rate), AVG(rate), COUNT(DISTINCT price) FROM p GROUP BY k;"
check "TUMBLE 1 h: the same per window" win \
    "SELECT window_start, k, SUM(price), AVG(price), MIN(price), MAX(price), SUM(rate), AVG(rate), COUNT(DISTINCT price) FROM TABLE(TUMBLE(TABLE p, DESCRIPTOR(ts), INTERVAL '1' HOUR)) GROUP BY window_start, window_end, k;"
check "a DECIMAL GROUP BY key" key \
    "SELECT price, COUNT(*) FROM p GROUP BY price;"

# the values beyond DECIMAL(10, 2) are bad rows, named by their line
printf '%s\n%s\n' "$table" "SELECT price FROM p;" >"$T/q.sql"
(cd "$T" && "$B" run q.sql --format csv) >"$T/out" 2>"$T/err"
nbad=$(awk -F, '{ v = $3; sub(/^-/, "", v); split(v, a, "."); if (length(a[1]) > 8 || (length(a[1]) == 8 && a[1] ~ /^99999999$/ && substr(a[2], 3, 1) >= 5)) n++ } END { print n + 0 }' "$T/in.csv")
expect_grep "a value beyond the precision is a bad row" "bad $nbad" "$T/err"
expect_grep "named with its position and reason" "in.csv:[0-9]*:[0-9]*: column price: .*does not fit the DECIMAL's precision" "$T/err"
[ "$nbad" -gt 0 ] || bad "bad rows" "the CSV has none beyond the precision: proves nothing"
e2e_finish
