#!/bin/bash
# Produce 1,000,000 keyed CSV records into a 4-partition topic and consume
# them back.  Checks, against the generated file and an independent awk
# implementation of Kafka's murmur2 partitioner:
#   - the consumed values are the same multiset as the generated rows;
#   - every record's timestamp is its ts column (--time with epoch ms);
#   - all records of a key are in one partition, the one murmur2 gives;
#   - within a partition each key's sequence numbers increase (order kept);
#   - describe counts 1,000,000 retained records.
. "$(dirname "$0")/lib.bash"
e2e_init produce_consume_1m

N=${E2E_ROWS:-1000000}
awk -v n="$N" 'BEGIN {
    print "key,seq,ts"
    for (i = 0; i < n; i++) printf "k%d,%d,%.0f\n", (i * 7919) % 1000, i, 1714521600000 + i * 3
}' >"$T/in.csv"
tail -n +2 "$T/in.csv" | sort >"$T/want.sorted"

expect_status "create topic" 0 "$TIDE_BIN" topic create big --partitions 4 --fsync never

t0=$(now_s)
"$TIDE_BIN" produce big --key key --time ts <"$T/in.csv" >"$T/out" 2>"$T/err"
rc=$?
echo "  produce of $N rows: $(elapsed "$t0") s"
expect_eq "produce exit status" "$rc" 0
expect_grep "produce summary" "^produced $N records to big \(4 partitions\), skipped 0 malformed lines$" "$T/err"

t0=$(now_s)
"$TIDE_BIN" consume big --format raw >"$T/raw" 2>"$T/err"
rc=$?
echo "  consume (raw) of $N rows: $(elapsed "$t0") s"
expect_eq "consume exit status" "$rc" 0
sort "$T/raw" >"$T/got.sorted"
if cmp -s "$T/want.sorted" "$T/got.sorted"; then ok "same multiset of records"; else
    bad "same multiset of records" "$(wc -l <"$T/got.sorted") lines consumed, $(diff "$T/want.sorted" "$T/got.sorted" | head -5)"; fi

t0=$(now_s)
"$TIDE_BIN" consume big >"$T/json" 2>"$T/err"
echo "  consume (jsonl) of $N rows: $(elapsed "$t0") s"
expect_eq "jsonl line count" "$(wc -l <"$T/json")" "$N"

# jsonl lines look like {"partition":0,"offset":0,"timestamp":T,"key":"k1","value":"k1,5,T"}
# split on '"': $3 ":P,", $5 ":O,", $7 ":T,", $10 key, $14 value
awk -F'"' '
function xor32(a, b,   r, bit, i) {
    r = 0; bit = 1
    for (i = 0; i < 32; i++) { if ((a % 2) != (b % 2)) r += bit; a = int(a / 2); b = int(b / 2); bit *= 2 }
    return r
}
function mul32(a, b) { return (a * (b % 65536) + ((a * int(b / 65536)) % 65536) * 65536) % 4294967296 }
function shr(a, n) { return int(a / 2 ^ n) }
function shl32(a, n) { return (a * 2 ^ n) % 4294967296 }
function murmur2(s,   n, h, i, k, m, rem, base) {
    m = 1540483477; n = length(s); h = xor32(2538058380, n)
    for (i = 0; i + 4 <= n; i += 4) {
        k = ORD[substr(s, i + 1, 1)] + ORD[substr(s, i + 2, 1)] * 256 + ORD[substr(s, i + 3, 1)] * 65536 + ORD[substr(s, i + 4, 1)] * 16777216
        k = mul32(k, m); k = xor32(k, shr(k, 24)); k = mul32(k, m)
        h = mul32(h, m); h = xor32(h, k)
    }
    rem = n % 4; base = n - rem
    if (rem == 3) h = xor32(h, shl32(ORD[substr(s, base + 3, 1)], 16))
    if (rem >= 2) h = xor32(h, shl32(ORD[substr(s, base + 2, 1)], 8))
    if (rem >= 1) { h = xor32(h, ORD[substr(s, base + 1, 1)]); h = mul32(h, m) }
    h = xor32(h, shr(h, 13)); h = mul32(h, m); h = xor32(h, shr(h, 15))
    return h
}
BEGIN {
    for (i = 32; i < 127; i++) ORD[sprintf("%c", i)] = i
    # self-check against values from Kafka'"'"'s partitioner tests
    if (murmur2("21") != 3321034988 || murmur2("foobar") != 3504634814 || murmur2("abc") != 479470107) {
        print "awk murmur2 self-check failed"; exit 1
    }
    bad = 0
}
{
    p = $3; gsub(/[:,]/, "", p); ts = $7; gsub(/[:,]/, "", ts)
    key = $10; split($14, v, ",")
    if (v[1] != key) { print "key " key " but value " $14; bad++ }
    if (v[3] != ts) { if (bad < 5) print "timestamp " ts " but ts column " v[3]; bad++ }
    if (key in part) { if (part[key] != p) { if (bad < 5) print "key " key " in partitions " part[key] " and " p; bad++ } }
    else part[key] = p
    if (key in last && v[2] + 0 <= last[key] + 0) { if (bad < 5) print "key " key ": seq " v[2] " after " last[key]; bad++ }
    last[key] = v[2]
}
END {
    if (bad) exit 1
    nk = 0; wrong = 0
    for (key in part) { nk++; if ((murmur2(key) % 2147483648) % 4 != part[key]) { if (wrong < 5) print "key " key ": partition " part[key] ", murmur2 says " (murmur2(key) % 2147483648) % 4; wrong++ } }
    if (wrong) exit 1
    print nk " keys checked"
}' "$T/json" >"$T/check" 2>&1
rc=$?
cat "$T/check" | sed 's/^/  /'
expect_eq "timestamps, one partition per key (murmur2), per-key order" "$rc" 0
expect_grep "all 1000 keys seen" "^1000 keys checked$" "$T/check"

"$TIDE_BIN" topic describe big >"$T/describe" 2>&1
expect_grep "describe counts the records" "^retained records: $N$" "$T/describe"
e2e_finish
