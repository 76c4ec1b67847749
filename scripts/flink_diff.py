#!/usr/bin/env python3
"""flink_diff.py - run the same SQL in tide and in Apache Flink, compare the rows.

Each case is a script of CREATE TABLE statements and one query.  Both
engines read the same CSV files; tide runs the script as it is (at
parallelism 1, 2 and 4), Flink (PyFlink, streaming mode, parallelism 1, a
watermark after every record) runs it with the tables translated to its
filesystem connector.  A changelog (tide's op column, Flink's row kinds)
is applied, so the final rows are compared as multisets.  Values are
compared as text: TIMESTAMP 'YYYY-MM-DD HH:MM:SS.mmm', DOUBLE to 12
significant digits, NULL as empty.

Cases: every query of examples/*.sql whose tables are files or the
'logins' generator (a generator table is first written to a CSV by tide,
and both engines read that file), and a generated family of windowed and
unwindowed aggregations over a generated CSV with out-of-order and late
rows (--generated N, --seed S), and the DECIMAL family (payments with exact
arithmetic, compared as text; --no-decimal leaves it out).

Usage (scripts/flink_diff.sh installs Flink and calls this):
  flink_diff.py --tide BUILD/tide [--examples DIR] [--generated N] [--seed S]
                [--work DIR] [--only SUBSTRING] [--keep-going]
Prints one line per case (agree / DIFFER / tide-error / flink-error) and a
summary; exit status 0 when every case that both engines ran agrees.
"""
import argparse
import csv
import io
import decimal
import math
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter

# ---------------------------------------------------------------- SQL text


def split_statements(text):
    """Statements of a script, without comments, split at ';' outside quotes."""
    out, cur, i, n = [], [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '-' and text.startswith('--', i):
            j = text.find('\n', i)
            i = n if j < 0 else j + 1
            cur.append('\n')
            continue
        if c == "'":
            j = i + 1
            while j < n:
                if text[j] == "'" and j + 1 < n and text[j + 1] == "'":
                    j += 2
                    continue
                if text[j] == "'":
                    break
                j += 1
            cur.append(text[i:j + 1])
            i = j + 1
            continue
        if c == ';':
            s = ''.join(cur).strip()
            if s:
                out.append(s)
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    s = ''.join(cur).strip()
    if s:
        out.append(s)
    return out


OPT_RE = re.compile(r"'((?:[^']|'')*)'\s*=\s*'((?:[^']|'')*)'")


def parse_create(stmt):
    """(name, columns text, options dict) of a CREATE TABLE, or None."""
    m = re.match(r"\s*CREATE\s+TABLE\s+(\w+)\s*\((.*)\)\s*WITH\s*\((.*)\)\s*$", stmt, re.S | re.I)
    if not m:
        return None
    opts = {k.lower(): v for k, v in OPT_RE.findall(m.group(3))}
    return m.group(1), m.group(2), opts


def with_clause(opts):
    return "WITH (" + ", ".join("'%s' = '%s'" % (k, v) for k, v in opts.items()) + ")"


# ---------------------------------------------------------------- values


def norm(v, exact=False):
    """One cell as text, the same for both engines.  exact: numbers are
    compared as written (DECIMAL: its digits and scale), not as floats."""
    if v is None or v == '':
        return ''
    if isinstance(v, decimal.Decimal):
        return format(v, 'f')
    if exact and isinstance(v, str):
        return v
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if hasattr(v, 'strftime'):  # datetime
        return v.strftime('%Y-%m-%d %H:%M:%S.') + '%03d' % (v.microsecond // 1000)
    if isinstance(v, float):
        return fmt_float(v)
    s = str(v)
    if re.fullmatch(r'-?\d+\.\d*(e[-+]?\d+)?|-?\d+e[-+]?\d+|nan|-?inf', s, re.I):
        try:
            return fmt_float(float(s))
        except ValueError:
            return s
    if s in ('TRUE', 'FALSE'):
        return s.lower()
    return s


def fmt_float(f):
    if math.isnan(f):
        return 'nan'
    if math.isinf(f):
        return 'inf' if f > 0 else '-inf'
    if f == int(f) and abs(f) < 1e15:
        return str(int(f))
    return '%.12g' % f


def apply_changelog(rows, kinds):
    """The final multiset of a changelog: +I/+U add a row, -U/-D remove one."""
    final = Counter()
    for r, k in zip(rows, kinds):
        if k in ('+I', '+U'):
            final[r] += 1
        else:
            final[r] -= 1
            if final[r] <= 0:
                del final[r]
    return final


# ---------------------------------------------------------------- tide


def run_tide(tide, script_path, par, exact=False):
    p = subprocess.run([tide, 'run', script_path, '--format', 'csv', '--parallelism', str(par)],
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError((p.stderr.strip().splitlines() or ['exit %d' % p.returncode])[-1])
    rd = list(csv.reader(io.StringIO(p.stdout)))
    if not rd:
        return Counter(), p.stderr
    head, body = rd[0], rd[1:]
    if head and head[0] == 'op':
        return apply_changelog([tuple(norm(c, exact) for c in r[1:]) for r in body], [r[0] for r in body]), p.stderr
    return Counter(tuple(norm(c, exact) for c in r) for r in body), p.stderr


# ---------------------------------------------------------------- Flink


class Flink:
    def __init__(self):
        from pyflink.table import EnvironmentSettings, TableEnvironment
        self.TableEnvironment, self.EnvironmentSettings = TableEnvironment, EnvironmentSettings

    def run(self, ddls, query, exact=False):
        env = self.TableEnvironment.create(self.EnvironmentSettings.in_streaming_mode())
        c = env.get_config()
        c.set('parallelism.default', '1')
        c.set('table.local-time-zone', 'UTC')
        c.set('pipeline.auto-watermark-interval', '0')  # a watermark after every record, as tide
        for d in ddls:
            env.execute_sql(d)
        res = env.execute_sql(query)
        rows, kinds = [], []
        with res.collect() as it:
            for row in it:
                rows.append(tuple(norm(x, exact) for x in row))
                kinds.append(str(row.get_row_kind()))
        return apply_changelog(rows, kinds)


# ---------------------------------------------------------------- cases


class Case:
    def __init__(self, name, tide_ddls, flink_ddls, query, exact=False):
        self.name, self.tide_ddls, self.flink_ddls, self.query = name, tide_ddls, flink_ddls, query
        self.exact = exact  # compare numbers as text (DECIMAL cases)


def translate_tables(stmts, base_dir, work, tide, skip_reasons):
    """tide DDL and Flink DDL for the CREATE TABLEs of a script; None when a
    table cannot be read by both (a topic, stdin)."""
    tide_ddls, flink_ddls = [], []
    for st in stmts:
        pc = parse_create(st)
        if not pc:
            continue
        name, cols, opts = pc
        conn = opts.get('connector', '').lower()
        if conn == 'logins':
            path = os.path.join(work, 'gen-%s-%08x.csv' % (name, abs(hash(st)) & 0xffffffff))
            if not os.path.exists(path):
                gen_sql = path + '.sql'
                with open(gen_sql, 'w') as f:
                    f.write(st + ';\n')
                    f.write("CREATE TABLE gen_out (%s) WITH ('connector' = 'file', 'path' = '%s', "
                            "'format' = 'csv');\n" % (strip_watermark(cols), path))
                    f.write('INSERT INTO gen_out SELECT * FROM %s;\n' % name)
                p = subprocess.run([tide, 'run', gen_sql], capture_output=True, text=True)
                if p.returncode != 0:
                    skip_reasons.append('generator: ' + p.stderr.strip()[-200:])
                    return None
            opts = {'connector': 'file', 'path': path, 'format': 'csv'}
            conn = 'file'
        if conn != 'file':
            skip_reasons.append("table %s: connector '%s' (Flink reads files here)" % (name, conn))
            return None
        path = opts['path'] if os.path.isabs(opts['path']) else os.path.join(base_dir, opts['path'])
        topts = dict(opts)
        topts['path'] = path
        tide_ddls.append('CREATE TABLE %s (%s) %s' % (name, cols, with_clause(topts)))
        fpath = path
        if opts.get('csv.header', 'false').lower() == 'true':  # Flink's csv has no header option
            fpath = os.path.join(work, 'nohead-' + os.path.basename(path))
            with open(path) as src, open(fpath, 'w') as dst:
                next(src, None)
                for line in src:
                    dst.write(line)
        fopts = {'connector': 'filesystem', 'path': fpath, 'format': 'csv'}
        if opts.get('format', 'csv') != 'csv':
            skip_reasons.append('table %s: format %s' % (name, opts.get('format')))
            return None
        fopts['csv.ignore-parse-errors'] = 'true'  # tide: bad rows are dead letters
        flink_ddls.append('CREATE TABLE %s (%s) %s' % (name, cols, with_clause(fopts)))
    return tide_ddls, flink_ddls


def strip_watermark(cols):
    return re.sub(r',\s*WATERMARK\s+FOR.*$', '', cols, flags=re.S | re.I)


def example_cases(src_dir, work, tide):
    """The queries of a copy of examples/, after make_logins_csv.sql wrote
    its logins.csv there."""
    cases, skipped = [], []
    ex_dir = os.path.join(work, 'examples')
    os.makedirs(ex_dir, exist_ok=True)
    for fn in os.listdir(src_dir):
        if fn.endswith('.sql') or fn.endswith('.csv'):
            with open(os.path.join(src_dir, fn), 'rb') as s, open(os.path.join(ex_dir, fn), 'wb') as d:
                d.write(s.read())
    mk = os.path.join(ex_dir, 'make_logins_csv.sql')
    if os.path.exists(mk) and not os.path.exists(os.path.join(ex_dir, 'logins.csv')):
        subprocess.run([tide, 'run', mk], check=True, capture_output=True)
    for fn in sorted(os.listdir(ex_dir)):
        if not fn.endswith('.sql') or fn.startswith('make_'):
            continue
        text = open(os.path.join(ex_dir, fn)).read()
        stmts = split_statements(text)
        reasons = []
        tr = translate_tables(stmts, ex_dir, work, tide, reasons)
        queries = [s for s in stmts if not parse_create(s) and re.match(r'\s*(SELECT|WITH)\b', s, re.I)]
        if tr is None:
            skipped.append((fn, '; '.join(reasons)))
            continue
        for i, q in enumerate(queries):
            if re.search(r'\bEMIT\b', q, re.I):
                skipped.append(('%s#%d' % (fn, i + 1), 'EMIT clause (tide only)'))
                continue
            cases.append(Case('%s#%d' % (fn, i + 1), tr[0], tr[1], q))
    return cases, skipped


def gen_csv(path, seed, n=3000):
    """Logins over 2 days, up to 20 s out of order, ~1% an hour late;
    'ts,user_id,country,device' without a header."""
    rnd = random.Random(seed)
    base = 1704067200000  # 2024-01-01
    t = base
    mx = 0
    with open(path, 'w') as f:
        for i in range(n):
            t += rnd.randint(0, 2 * 86400000 // n * 2)
            ts = t - rnd.randint(0, 20000)
            if rnd.random() < 0.01 and i > 10:
                ts = mx - 3600000 - rnd.randint(0, 600000)
            mx = max(mx, ts)
            u = int(rnd.paretovariate(1.2)) % 400
            ctry = rnd.choice(['US', 'US', 'DE', 'FR', 'IN', 'BR'])
            dev = rnd.choice(['ios', 'android', 'web'])  # no empty field: see the README on NULLs
            s = time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(ts // 1000)) + '.%03d' % (ts % 1000)
            f.write('%s,%d,%s,%s\n' % (s, u, ctry, dev))


def generated_cases(n, seed, work):
    rnd = random.Random(seed)
    path = os.path.join(work, 'gen-logins-%d.csv' % seed)
    gen_csv(path, seed)
    cols = ('ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING, '
            "WATERMARK FOR ts AS ts - INTERVAL '30' SECOND")
    tide_ddl = "CREATE TABLE logins (%s) WITH ('connector' = 'file', 'path' = '%s', 'format' = 'csv')" % (cols, path)
    flink_ddl = ("CREATE TABLE logins (%s) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv', "
                 "'csv.ignore-parse-errors' = 'true')" % (cols, path))
    windows = [
        "TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR)",
        "TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '10' MINUTE)",
        "HOP(TABLE logins, DESCRIPTOR(ts), INTERVAL '15' MINUTE, INTERVAL '1' HOUR)",
        "HOP(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR, INTERVAL '3' HOUR)",
        "CUMULATE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR, INTERVAL '1' DAY)",
        "SESSION(TABLE logins, DESCRIPTOR(ts), INTERVAL '5' MINUTE)",
        "SESSION(TABLE logins PARTITION BY country, DESCRIPTOR(ts), INTERVAL '10' MINUTE)",
    ]
    aggs = ['COUNT(*)', 'COUNT(DISTINCT user_id)', 'SUM(user_id)', 'MIN(user_id)', 'MAX(user_id)',
            'AVG(user_id)', 'AVG(CAST(user_id AS DOUBLE))', 'COUNT(device)', 'MAX(country)', 'SUM(CASE WHEN device = \'ios\' THEN 1 ELSE 0 END)']
    wheres = ['', "WHERE country <> 'US'", 'WHERE user_id % 3 = 0', "WHERE device IS NOT NULL AND device <> ''"]
    keysets = [[], ['country'], ['device'], ['country', 'device']]
    cases = []
    for i in range(n):
        w = rnd.choice(windows)
        keys = list(rnd.choice(keysets))
        if 'PARTITION BY country' in w and 'country' not in keys:
            keys = ['country'] + keys
        picked = rnd.sample(aggs, rnd.randint(1, 3))
        where = rnd.choice(wheres)
        unwindowed = rnd.random() < 0.2 and keys
        sel = ', '.join(keys + ['%s AS a%d' % (a, j) for j, a in enumerate(picked)])
        having = ' HAVING COUNT(*) > %d' % rnd.randint(1, 20) if rnd.random() < 0.3 else ''
        if unwindowed:
            q = 'SELECT %s FROM logins %s GROUP BY %s%s' % (sel, where, ', '.join(keys), having)
        else:
            q = ('SELECT window_start, window_end, %s FROM TABLE(%s) %s GROUP BY window_start, window_end%s%s'
                 % (sel, w, where, ''.join(', ' + k for k in keys), having))
        cases.append(Case('generated#%d' % (i + 1), [tide_ddl], [flink_ddl], q))
    # OVER aggregations, Top-N and deduplication over the same CSV (their
    # ORDER BY values do not tie, where Flink and tide break ties differently)
    over = [
        "SELECT country, ts, user_id, COUNT(*) OVER w AS n, SUM(user_id) OVER w AS s, MAX(device) OVER w AS d "
        "FROM logins WINDOW w AS (PARTITION BY country ORDER BY ts "
        "RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW)",
        "SELECT device, ts, MIN(user_id) OVER (PARTITION BY device ORDER BY ts "
        "ROWS BETWEEN 5 PRECEDING AND CURRENT ROW) AS lo FROM logins",
        "SELECT country, ts, COUNT(*) OVER (PARTITION BY country ORDER BY ts) AS n FROM logins",
        "SELECT * FROM (SELECT country, ts, user_id, ROW_NUMBER() OVER (PARTITION BY country ORDER BY ts DESC) AS rn "
        "FROM logins) WHERE rn <= 3",
        "SELECT country, ts, user_id FROM (SELECT country, ts, user_id, "
        "ROW_NUMBER() OVER (PARTITION BY country ORDER BY ts DESC) AS rn FROM logins) WHERE rn BETWEEN 2 AND 3",
        "SELECT user_id, ts, device FROM (SELECT user_id, ts, device, "
        "ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY ts DESC) AS rn FROM logins) WHERE rn = 1",
        "SELECT user_id, ts, device FROM (SELECT user_id, ts, device, "
        "ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY ts) AS rn FROM logins) WHERE rn = 1",
        "SELECT * FROM (SELECT window_start, window_end, country, n, "
        "ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY n DESC, country) AS rn FROM "
        "(SELECT window_start, window_end, country, COUNT(*) AS n "
        "FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR)) "
        "GROUP BY window_start, window_end, country)) WHERE rn <= 2",
        "SELECT * FROM (SELECT window_start, window_end, user_id, ts, "
        "ROW_NUMBER() OVER (PARTITION BY window_start, window_end, user_id ORDER BY ts DESC) AS rn "
        "FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))) WHERE rn = 1",
        "SELECT * FROM (SELECT country, n, ROW_NUMBER() OVER (ORDER BY n DESC) AS rn FROM "
        "(SELECT country, COUNT(*) AS n FROM logins GROUP BY country)) WHERE rn <= 3",
    ]
    for i, q in enumerate(over if n else []):
        cases.append(Case('over#%d' % (i + 1), [tide_ddl], [flink_ddl], q))
    return cases


def gen_decimal_csv(path, seed, n=400):
    """Payments: 'ts,k,price,qty,rate,big' without a header.  price has up
    to 3 decimals for a DECIMAL(10, 2) column (so reading it rounds, HALF_UP,
    ties included), rate up to 4 for DECIMAL(5, 4), big up to 37 digits for
    DECIMAL(38, 0) (so arithmetic on it overflows)."""
    rnd = random.Random(seed)
    base = 1704067200000
    t = base
    with open(path, 'w') as f:
        for i in range(n):
            t += rnd.randint(0, 60000)
            ts = time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(t // 1000)) + '.%03d' % (t % 1000)
            k = rnd.choice(['a', 'b', 'c', 'd'])
            cents = rnd.choice([rnd.randint(-100000, 10000000), rnd.randint(0, 999), 5, 15, 25, -5, -15])
            price = '%s%d.%03d' % ('-' if cents < 0 else '', abs(cents) // 1000, abs(cents) % 1000)
            if rnd.random() < 0.3:
                price = price[:-1]  # two decimals: exact
            qty = rnd.randint(-3, 50)
            rate = '%d.%04d' % (rnd.randint(0, 9), rnd.randint(0, 9999))
            big = str(rnd.randint(-10 ** 37, 10 ** 37))
            f.write('%s,%s,%s,%d,%s,%s\n' % (ts, k, price, qty, rate, big))


def decimal_cases(seed, work):
    path = os.path.join(work, 'gen-payments-%d.csv' % seed)
    gen_decimal_csv(path, seed)
    cols = ('ts TIMESTAMP(3), k STRING, price DECIMAL(10, 2), qty BIGINT, rate DECIMAL(5, 4), big DECIMAL(38, 0), '
            "WATERMARK FOR ts AS ts - INTERVAL '1' MINUTE")
    tide_ddl = "CREATE TABLE pay (%s) WITH ('connector' = 'file', 'path' = '%s', 'format' = 'csv')" % (cols, path)
    flink_ddl = "CREATE TABLE pay (%s) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv')" % (
        cols, path)
    qs = [
        "SELECT ts, price, rate, big FROM pay",
        "SELECT ts, price * qty AS a, price + rate AS b, price - rate AS c, price * rate AS d FROM pay",
        "SELECT ts, price / rate AS a, rate / price AS b FROM pay WHERE price <> 0 AND rate <> 0",
        "SELECT ts, price / qty AS a, qty / price AS b FROM pay WHERE qty <> 0 AND price <> 0",
        "SELECT ts, price % 7 AS a, price % rate AS b FROM pay WHERE rate <> 0",
        "SELECT ts, price * 1.5 AS a, price / 3 AS b, price + 0.005 AS c, -price AS d, price * 100 AS e FROM pay",
        "SELECT ts, big * 10 AS a, big + big AS b, big * big AS c, big / 7 AS d, big * price AS e FROM pay",
        "SELECT ts, CAST(price AS BIGINT) AS a, CAST(price AS DECIMAL(5, 1)) AS b, CAST(rate AS DECIMAL(3, 2)) AS c, "
        "CAST(price AS STRING) AS d, CAST(qty AS DECIMAL(4, 2)) AS e FROM pay",
        "SELECT ts, CAST(price AS DOUBLE) AS a, CAST(CAST(price AS DOUBLE) * 3 AS DECIMAL(12, 3)) AS b, "
        "CAST(CAST(price AS STRING) AS DECIMAL(8, 1)) AS c FROM pay",
        "SELECT ts, price FROM pay WHERE price > 100.5 AND price < 5000 OR price = 0.02 OR price BETWEEN -1 AND 1",
        "SELECT ts, price, qty FROM pay WHERE price > qty AND rate < 5",
        "SELECT ts, CASE WHEN qty > 10 THEN price ELSE rate END AS a, COALESCE(price, big) AS b FROM pay",
        "SELECT k, SUM(price) AS s, AVG(price) AS a, MIN(price) AS mn, MAX(price) AS mx, COUNT(DISTINCT price) AS c "
        "FROM pay GROUP BY k",
        "SELECT k, SUM(price * qty) AS s, AVG(rate) AS a, SUM(rate) AS r, MAX(big) AS b FROM pay GROUP BY k",
        "SELECT price, COUNT(*) AS n, SUM(qty) AS q FROM pay GROUP BY price HAVING COUNT(*) > 1",
        "SELECT window_start, window_end, k, SUM(price) AS s, AVG(price) AS a, MIN(rate) AS mn, MAX(price) AS mx "
        "FROM TABLE(TUMBLE(TABLE pay, DESCRIPTOR(ts), INTERVAL '1' HOUR)) GROUP BY window_start, window_end, k",
        "SELECT window_start, window_end, SUM(price * qty) AS s, AVG(price * rate) AS a FROM "
        "TABLE(HOP(TABLE pay, DESCRIPTOR(ts), INTERVAL '30' MINUTE, INTERVAL '2' HOUR)) GROUP BY window_start, window_end",
        "SELECT window_start, window_end, k, SUM(price) AS s, MAX(price) AS mx FROM "
        "TABLE(SESSION(TABLE pay PARTITION BY k, DESCRIPTOR(ts), INTERVAL '3' MINUTE)) GROUP BY window_start, window_end, k",
        "SELECT k, ts, SUM(price) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) AS s, "
        "MAX(price) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) AS m FROM pay",
        "SELECT * FROM (SELECT k, ts, price, ROW_NUMBER() OVER (PARTITION BY k ORDER BY price DESC) AS rn FROM pay) "
        "WHERE rn <= 2",
    ]
    return [Case('decimal#%d' % (i + 1), [tide_ddl], [flink_ddl], q, exact=True) for i, q in enumerate(qs)]


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tide', required=True)
    ap.add_argument('--examples')
    ap.add_argument('--generated', type=int, default=40)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--work', default='/tmp/tide-flink-diff')
    ap.add_argument('--only')
    ap.add_argument('--parallelism', default='1,2,4')
    ap.add_argument('--no-decimal', dest='decimal', action='store_false',
                    help='leave out the DECIMAL family (decimal#N: payments with exact arithmetic)')
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    cases, skipped = [], []
    if a.examples:
        c, s = example_cases(a.examples, a.work, a.tide)
        cases += c
        skipped += s
    cases += generated_cases(a.generated, a.seed, a.work)
    if a.decimal:
        cases += decimal_cases(a.seed, a.work)
    if a.only:
        cases = [c for c in cases if a.only in c.name]
    pars = [int(p) for p in a.parallelism.split(',')]
    flink = Flink()
    tally = Counter()
    for name, why in skipped:
        print('skip       %s: %s' % (name, why))
        tally['skip'] += 1
    for c in cases:
        script = os.path.join(a.work, re.sub(r'[^\w.-]', '_', c.name) + '.sql')
        with open(script, 'w') as f:
            f.write(';\n'.join(c.tide_ddls + [c.query]) + ';\n')
        try:
            got = [run_tide(a.tide, script, p, c.exact)[0] for p in pars]
        except Exception as ex:  # noqa: BLE001 - reported, counted
            print('tide-error %s: %s\n           %s' % (c.name, ex, ' '.join(c.query.split())))
            tally['tide-error'] += 1
            continue
        if any(g != got[0] for g in got[1:]):
            print('DIFFER     %s: tide at P=%s does not agree with itself' % (c.name, a.parallelism))
            tally['differ'] += 1
            continue
        try:
            want = flink.run(c.flink_ddls, c.query, c.exact)
        except Exception as ex:  # noqa: BLE001
            lines = [ln.strip() for ln in str(ex).splitlines()]
            causes = [ln for ln in lines if re.match(r'(Caused by: )?[\w.$]+(Exception|Error)\b', ln)]
            msg = (causes[-1] if causes else (lines[:1] or ['?'])[0])[:400]
            print('flink-error %s: %s\n           %s' % (c.name, msg, ' '.join(c.query.split())))
            tally['flink-error'] += 1
            continue
        if got[0] == want:
            print('agree      %s (%d rows)' % (c.name, sum(want.values())))
            tally['agree'] += 1
        else:
            print('DIFFER     %s: %s' % (c.name, ' '.join(c.query.split())))
            only_t = got[0] - want
            only_f = want - got[0]
            for r in sorted(only_t)[:5]:
                print('           tide only:  %s' % ','.join(r))
            for r in sorted(only_f)[:5]:
                print('           flink only: %s' % ','.join(r))
            print('           (%d rows only in tide, %d only in Flink)' % (sum(only_t.values()), sum(only_f.values())))
            tally['differ'] += 1
    print('summary: %d agree, %d differ, %d tide errors, %d flink errors, %d skipped' % (
        tally['agree'], tally['differ'], tally['tide-error'], tally['flink-error'], tally['skip']))
    return 0 if tally['differ'] == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
