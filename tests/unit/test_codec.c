/*
 * test_codec.c - typed CSV / JSON Lines decoding and encoding.
 *
 * - round trips: random batches of every type with NULLs and tricky strings,
 *   encoded then decoded (fed in random chunks, into small batches) must give
 *   equal rows;
 * - dead letters: a generated file mixing good records and bad ones of every
 *   kind; the test builds, independently of the decoder, the expected rows
 *   and the expected (line, column, reason, raw text) of every bad record;
 * - hand-written cases for each conversion rule.
 */
#include "data/codec.h"
#include "data/timefmt.h"
#include "tide.h"
#include "tt.h"

#include <math.h>
#include <stdbool.h>

/* ---- helpers ---- */

typedef struct dl_entry {
    uint64_t line, col;
    int code;
    char reason[512];
    char raw[512];
} dl_entry;

typedef struct dl_log {
    dl_entry *v;
    size_t n, cap;
} dl_log;

static void on_dead(void *ctx, const tide_dead_letter *dl)
{
    dl_log *log = ctx;
    if (log->n == log->cap) {
        log->cap = log->cap ? 2 * log->cap : 64;
        log->v = realloc(log->v, log->cap * sizeof *log->v);
    }
    dl_entry *x = &log->v[log->n++];
    x->line = dl->line;
    x->col = dl->col;
    x->code = dl->code;
    snprintf(x->reason, sizeof x->reason, "%s", dl->reason);
    snprintf(x->raw, sizeof x->raw, "%.*s", (int)dl->raw_len, dl->raw);
}

/* Decode text[0..len) completely.  With a seed, the input arrives in random
 * chunks (exercising TIDE_EAGAIN); rows are collected into `all`. */
static int decode_all(tide_decoder *d, const char *text, size_t len, uint64_t *seed, uint32_t cap,
                      tide_cbatch *all)
{
    tide_err e = {0};
    tide_cbatch *b = NULL;
    int rc = tide_cbatch_create(&b, tide_cbatch_schema(all), cap,
                                (tide_cbatch_has_ops(all) ? TIDE_CBATCH_OPS : 0) | TIDE_CBATCH_POS, &e);
    if (rc)
        return rc;
    char *buf = malloc(len + 1);
    size_t have = 0, pos = 0, fed = 0;
    if (!seed) {
        if (len)
            memcpy(buf, text, len);
        have = fed = len;
    }
    uint32_t *sel = malloc(cap * sizeof *sel);
    for (uint32_t i = 0; i < cap; i++)
        sel[i] = i;
    for (;;) {
        rc = tide_decoder_decode(d, buf, have, &pos, fed == len, b, &e);
        if (rc == 1 || rc == 0) {
            int rc2 = tide_cbatch_select(all, b, sel, tide_cbatch_rows(b), &e);
            tide_cbatch_reset(b);
            if (rc2) {
                rc = rc2;
                break;
            }
            if (rc == 0)
                break;
            continue;
        }
        if (rc != TIDE_EAGAIN) {
            fprintf(stderr, "decode: %d %s\n", rc, e.msg);
            break;
        }
        memmove(buf, buf + pos, have - pos);
        have -= pos;
        pos = 0;
        size_t k = 1 + tt_rand(seed) % 64;
        if (k > len - fed)
            k = len - fed;
        memcpy(buf + have, text + fed, k);
        have += k;
        fed += k;
    }
    free(sel);
    free(buf);
    tide_cbatch_free(b);
    return rc;
}

static const tide_type ALL_TYPES[5] = {TIDE_TYPE_BOOLEAN, TIDE_TYPE_BIGINT, TIDE_TYPE_DOUBLE,
                                       TIDE_TYPE_STRING, TIDE_TYPE_TIMESTAMP};

static const char *PALETTE[] = {"a", "b", "Z", " ", ",", "\"", "\n", "\r", "\r\n", "\t", ";",
                                "0", "\xc3\xa9", "\\", "/", "\x01", "{", "}", ":", "null"};

static void random_string(uint64_t *seed, char *out, size_t *len)
{
    size_t n = 0;
    int parts = (int)(tt_rand(seed) % 8);
    for (int i = 0; i < parts; i++) {
        const char *p = PALETTE[tt_rand(seed) % (sizeof PALETTE / sizeof PALETTE[0])];
        size_t l = strlen(p);
        memcpy(out + n, p, l);
        n += l;
    }
    *len = n;
}

static double random_double(uint64_t *seed)
{
    uint64_t r = tt_rand(seed);
    switch (r % 6) {
    case 0: {
        uint64_t bits = tt_rand(seed);
        double d;
        memcpy(&d, &bits, sizeof d);
        return d; /* anything: NaN, inf, subnormal ... */
    }
    case 1: return (double)((int64_t)tt_rand(seed) % 100000) / 100.0;
    case 2: return (double)(int64_t)tt_rand(seed);
    case 3: return r % 12 == 3 ? -0.0 : 0.0;
    case 4: return r % 12 == 4 ? INFINITY : -INFINITY;
    default: return 1.0 / (double)(1 + tt_rand(seed) % 1000);
    }
}

static tide_schema *random_schema(uint64_t *seed, int ncols)
{
    tide_schema *s = NULL;
    tide_err e = {0};
    if (tide_schema_create(&s, &e))
        return NULL;
    for (int c = 0; c < ncols; c++) {
        char name[32];
        snprintf(name, sizeof name, "c%d_%s", c, c % 3 == 0 ? "x,\"y\"" : "plain");
        tide_type t = ALL_TYPES[tt_rand(seed) % 5];
        if (tide_schema_add(s, name, t, true, &e))
            return NULL;
    }
    return s;
}

static void fill_random(uint64_t *seed, tide_cbatch *b, uint32_t rows)
{
    tide_err e = {0};
    char str[256];
    for (uint32_t i = 0; i < rows; i++) {
        uint32_t r;
        if (tide_cbatch_add_row(b, &r))
            return;
        for (uint32_t c = 0; c < tide_cbatch_ncols(b); c++) {
            if (tt_rand(seed) % 6 == 0)
                continue; /* NULL */
            switch (tide_cbatch_type(b, c)) {
            case TIDE_TYPE_BOOLEAN: tide_cbatch_set_bool(b, c, r, tt_rand(seed) & 1); break;
            case TIDE_TYPE_BIGINT: {
                uint64_t x = tt_rand(seed);
                int64_t v = x % 10 == 0 ? INT64_MIN : x % 10 == 1 ? INT64_MAX : (int64_t)tt_rand(seed) >> (x % 60);
                tide_cbatch_set_i64(b, c, r, v);
                break;
            }
            case TIDE_TYPE_DOUBLE: tide_cbatch_set_f64(b, c, r, random_double(seed)); break;
            case TIDE_TYPE_TIMESTAMP: {
                const int64_t lo = -62167219200000LL, hi = 253402300799999LL;
                uint64_t x = tt_rand(seed);
                int64_t v = x % 8 == 0 ? (x % 16 == 0 ? lo : hi) /* the ends of the TIMESTAMP range */
                                       : lo + (int64_t)(tt_rand(seed) % (uint64_t)(hi - lo + 1));
                tide_cbatch_set_i64(b, c, r, v);
                break;
            }
            case TIDE_TYPE_STRING: {
                size_t n;
                random_string(seed, str, &n);
                tide_cbatch_set_str(b, c, r, str, n, &e);
                break;
            }
            default: break;
            }
        }
        tide_cbatch_set_op(b, r, (tide_op)(tt_rand(seed) % TIDE_OP_COUNT));
    }
}

/* ---- round trips ---- */

static void roundtrip(tide_format fmt, uint64_t seed0, int iters)
{
    uint64_t seed = seed0;
    for (int it = 0; it < iters; it++) {
        int ncols = 1 + (int)(tt_rand(&seed) % 6);
        tide_schema *s = random_schema(&seed, ncols);
        TT_ASSERT(s);
        bool ops = tt_rand(&seed) & 1, header = fmt == TIDE_FORMAT_CSV && (tt_rand(&seed) & 1);
        char delim = fmt == TIDE_FORMAT_CSV && tt_rand(&seed) % 3 == 0 ? ';' : ',';
        tide_err e = {0};
        tide_cbatch *src = NULL, *all = NULL;
        uint32_t rows = (uint32_t)(tt_rand(&seed) % 200);
        TT_OK(tide_cbatch_create(&src, s, 256, ops ? TIDE_CBATCH_OPS : 0, &e));
        TT_OK(tide_cbatch_create(&all, s, 256, ops ? TIDE_CBATCH_OPS : 0, &e));
        fill_random(&seed, src, rows);

        tide_encoder *enc = NULL;
        tide_encode_opts eo = {.format = fmt, .delim = delim, .header = header};
        TT_OK(tide_encoder_create(&enc, s, &eo, &e));
        tide_buf out = {0};
        TT_OK(tide_encoder_encode(enc, src, &out, &e));

        dl_log log = {0};
        tide_decoder *dec = NULL;
        tide_decode_opts o = {.format = fmt, .source = "rt", .delim = delim, .header = header,
                              .op_column = ops, .on_dead = on_dead, .ctx = &log};
        TT_OK(tide_decoder_create(&dec, s, &o, &e));
        uint32_t cap = 1 + (uint32_t)(tt_rand(&seed) % 40);
        int rc = decode_all(dec, (const char *)out.data, out.len, (it & 1) ? &seed : NULL, cap, all);
        if (rc != 0 || log.n || tide_cbatch_rows(all) != rows) {
            TT_SEED(seed0);
            TT_ASSERT_MSG(0, "iteration %d: rc %d, %zu dead (%s), %u rows of %u\n%.*s", it, rc, log.n,
                          log.n ? log.v[0].reason : "", tide_cbatch_rows(all), rows,
                          (int)(out.len > 2000 ? 2000 : out.len), (const char *)out.data);
        }
        for (uint32_t r = 0; r < rows; r++)
            if (!tide_cbatch_row_equal(src, r, all, r)) {
                TT_SEED(seed0);
                TT_ASSERT_MSG(0, "iteration %d: row %u differs\n%.*s", it, r,
                              (int)(out.len > 2000 ? 2000 : out.len), (const char *)out.data);
            }
        tide_decode_stats st;
        tide_decoder_stats(dec, &st);
        TT_ASSERT_EQ_INT(st.rows, rows);
        TT_ASSERT_EQ_INT(st.records, rows);
        TT_ASSERT_EQ_INT(st.dead, 0);
        /* encoding the decoded batch gives the same bytes */
        tide_encoder *enc2 = NULL;
        tide_buf out2 = {0};
        TT_OK(tide_encoder_create(&enc2, s, &eo, &e));
        TT_OK(tide_encoder_encode(enc2, all, &out2, &e));
        TT_ASSERT(out2.len == out.len && (!out.len || memcmp(out.data, out2.data, out.len) == 0));
        tide_buf_free(&out2);
        tide_encoder_free(enc2);
        free(log.v);
        tide_decoder_free(dec);
        tide_buf_free(&out);
        tide_encoder_free(enc);
        tide_cbatch_free(src);
        tide_cbatch_free(all);
        tide_schema_free(s);
    }
}

static void test_roundtrip_csv(void) { roundtrip(TIDE_FORMAT_CSV, 0xc5f001ull, 300); }
static void test_roundtrip_jsonl(void) { roundtrip(TIDE_FORMAT_JSONL, 0x15a0a1ull, 300); }

/* ---- hand-written CSV ---- */

static tide_schema *login_schema(bool ts_nullable)
{
    tide_schema *s = NULL;
    tide_err e = {0};
    if (tide_schema_create(&s, &e) || tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, ts_nullable, &e) ||
        tide_schema_add(s, "user_id", TIDE_TYPE_BIGINT, true, &e) ||
        tide_schema_add(s, "country", TIDE_TYPE_STRING, true, &e) ||
        tide_schema_add(s, "ok", TIDE_TYPE_BOOLEAN, true, &e) ||
        tide_schema_add(s, "score", TIDE_TYPE_DOUBLE, true, &e))
        return NULL;
    return s;
}

static void test_csv_values(void)
{
    tide_schema *s = login_schema(true);
    TT_ASSERT(s);
    const char *text = "ts,user_id,country,ok,score\r\n"
                       "2024-01-01 00:00:00.123,42,US,true,1.5\r\n"
                       "\r\n"
                       "1700000000000,-7,\"a,\"\"b\"\"\nc\",FALSE,-2e3\n"
                       ",,,,\n"
                       "\"2024-02-29T10:00:00+01:00\",\"9\",\"\",1,\"inf\"\n"
                       "2024-03-01,+5, x ,0,.25";
    tide_err e = {0};
    dl_log log = {0};
    tide_decoder *d = NULL;
    tide_decode_opts o = {.format = TIDE_FORMAT_CSV, .source = "v.csv", .header = true, .on_dead = on_dead,
                          .ctx = &log};
    TT_OK(tide_decoder_create(&d, s, &o, &e));
    tide_cbatch *b = NULL;
    TT_OK(tide_cbatch_create(&b, s, 16, TIDE_CBATCH_POS, &e));
    size_t pos = 0;
    TT_ASSERT_EQ_INT(tide_decoder_decode(d, text, strlen(text), &pos, true, b, &e), 0);
    TT_ASSERT_EQ_INT(log.n, 0);
    TT_ASSERT_EQ_INT(tide_cbatch_rows(b), 5);
    int64_t ts;
    TT_OK(tide_ts_parse("2024-01-01 00:00:00.123", 23, &ts, NULL));
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 0, 0), ts);
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 1, 0), 42);
    TT_ASSERT(tide_cbatch_str(b, 2, 0).len == 2 && memcmp(tide_cbatch_str(b, 2, 0).ptr, "US", 2) == 0);
    TT_ASSERT(tide_cbatch_bool(b, 3, 0) == true);
    TT_ASSERT(tide_cbatch_f64(b, 4, 0) == 1.5);
    TT_ASSERT_EQ_INT(tide_cbatch_pos(b, 0), 2);
    /* row 1: epoch ms, negative, quoted field with "" and a newline */
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 0, 1), 1700000000000LL);
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 1, 1), -7);
    tide_str str = tide_cbatch_str(b, 2, 1);
    TT_ASSERT(str.len == 7 && memcmp(str.ptr, "a,\"b\"\nc", 7) == 0);
    TT_ASSERT(tide_cbatch_bool(b, 3, 1) == false);
    TT_ASSERT(tide_cbatch_f64(b, 4, 1) == -2000.0);
    TT_ASSERT_EQ_INT(tide_cbatch_pos(b, 1), 4);
    /* row 2: all NULL */
    for (uint32_t c = 0; c < 5; c++)
        TT_ASSERT(tide_cbatch_is_null(b, c, 2));
    TT_ASSERT_EQ_INT(tide_cbatch_pos(b, 2), 6);
    /* row 3: quoted values of every type; "" is the empty string */
    TT_OK(tide_ts_parse("2024-02-29 09:00:00", 19, &ts, NULL));
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 0, 3), ts);
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 1, 3), 9);
    TT_ASSERT(!tide_cbatch_is_null(b, 2, 3) && tide_cbatch_str(b, 2, 3).len == 0);
    TT_ASSERT(tide_cbatch_bool(b, 3, 3) == true);
    TT_ASSERT(isinf(tide_cbatch_f64(b, 4, 3)));
    /* row 4: last line without a newline; spaces kept in strings */
    TT_OK(tide_ts_parse("2024-03-01", 10, &ts, NULL));
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 0, 4), ts);
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 1, 4), 5);
    str = tide_cbatch_str(b, 2, 4);
    TT_ASSERT(str.len == 3 && memcmp(str.ptr, " x ", 3) == 0);
    TT_ASSERT(tide_cbatch_f64(b, 4, 4) == 0.25);
    tide_decode_stats st;
    tide_decoder_stats(d, &st);
    TT_ASSERT_EQ_INT(st.records, 5);
    TT_ASSERT_EQ_INT(st.rows, 5);
    free(log.v);
    tide_cbatch_free(b);
    tide_decoder_free(d);
    tide_schema_free(s);
}

/* ---- dead letters against a brute-force expectation ---- */

typedef struct good_row {
    bool ts_null;
    int64_t ts, uid;
    bool uid_null;
    char country[8];
} good_row;

static void test_csv_dead_letters(void)
{
    uint64_t seed0 = tt_seed(0xdead1e77e5ull), seed = seed0;
    tide_schema *s = NULL;
    tide_err e = {0};
    TT_OK(tide_schema_create(&s, &e));
    TT_OK(tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, false, &e));
    TT_OK(tide_schema_add(s, "user_id", TIDE_TYPE_BIGINT, true, &e));
    TT_OK(tide_schema_add(s, "country", TIDE_TYPE_STRING, true, &e));

    enum { N = 3000 };
    tide_buf text = {0};
    good_row *want = calloc(N, sizeof *want);
    size_t nwant = 0;
    dl_entry *wdead = calloc(N, sizeof *wdead);
    size_t nwdead = 0;
    TT_OK(tide_buf_printf(&text, "ts,user_id,country\n"));
    uint64_t line = 2;
    for (int i = 0; i < N; i++) {
        int64_t ms = 1700000000000LL + (int64_t)(tt_rand(&seed) % 100000000000ULL);
        char tsbuf[TIDE_TS_FORMAT_MAX];
        tide_ts_format(ms, tsbuf);
        int64_t uid = (int64_t)(tt_rand(&seed) % 1000000);
        const char *cc = (const char *[]){"US", "FR", "DE", "JP"}[tt_rand(&seed) % 4];
        char rec[256];
        int kind = tt_rand(&seed) % 10 < 7 ? 0 : 1 + (int)(tt_rand(&seed) % 8);
        dl_entry *x = &wdead[nwdead];
        int tslen = (int)strlen(tsbuf);
        switch (kind) {
        case 0: /* good */
            snprintf(rec, sizeof rec, "%s,%lld,%s", tsbuf, (long long)uid, cc);
            want[nwant].ts = ms;
            want[nwant].uid = uid;
            snprintf(want[nwant].country, sizeof want[nwant].country, "%s", cc);
            nwant++;
            break;
        case 1: /* month 13 */
            snprintf(rec, sizeof rec, "2024-13-01 10:00:00,%lld,%s", (long long)uid, cc);
            x->col = 6;
            snprintf(x->reason, sizeof x->reason,
                     "t.csv:%llu:6: column ts: bad TIMESTAMP(3) \"2024-13-01 10:00:00\": month out of range",
                     (unsigned long long)line);
            break;
        case 2: /* bad integer, in a quoted field */
            snprintf(rec, sizeof rec, "%s,\"12x4\",%s", tsbuf, cc);
            x->col = (uint64_t)tslen + 2 + 1 + 2;
            snprintf(x->reason, sizeof x->reason, "t.csv:%llu:%llu: column user_id: bad BIGINT \"12x4\": not an integer",
                     (unsigned long long)line, (unsigned long long)x->col);
            break;
        case 3: /* too few fields */
            snprintf(rec, sizeof rec, "%s,%lld", tsbuf, (long long)uid);
            snprintf(x->reason, sizeof x->reason, "t.csv:%llu: expected 3 fields, found 2", (unsigned long long)line);
            break;
        case 4: /* too many fields */
            snprintf(rec, sizeof rec, "%s,%lld,%s,extra", tsbuf, (long long)uid, cc);
            x->col = (uint64_t)tslen + 1 + (uint64_t)snprintf(NULL, 0, "%lld", (long long)uid) + 1 + 2 + 1 + 1;
            snprintf(x->reason, sizeof x->reason, "t.csv:%llu:%llu: expected 3 fields, found 4",
                     (unsigned long long)line, (unsigned long long)x->col);
            break;
        case 5: /* NULL in the NOT NULL ts */
            snprintf(rec, sizeof rec, ",%lld,%s", (long long)uid, cc);
            x->col = 1;
            snprintf(x->reason, sizeof x->reason, "t.csv:%llu:1: column ts: NULL in a NOT NULL column",
                     (unsigned long long)line);
            break;
        case 6: /* BIGINT overflow */
            snprintf(rec, sizeof rec, "%s,99999999999999999999,%s", tsbuf, cc);
            x->col = (uint64_t)tslen + 2;
            snprintf(x->reason, sizeof x->reason,
                     "t.csv:%llu:%llu: column user_id: bad BIGINT \"99999999999999999999\": out of range for BIGINT",
                     (unsigned long long)line, (unsigned long long)x->col);
            break;
        case 7: /* stray quote in an unquoted field (a lexer error) */
            snprintf(rec, sizeof rec, "%s,%lld,U\"S", tsbuf, (long long)uid);
            x->col = (uint64_t)tslen + 1 + (uint64_t)snprintf(NULL, 0, "%lld", (long long)uid) + 1 + 2;
            x->reason[0] = '\0'; /* the lexer's wording: only the prefix is checked */
            break;
        default: /* Feb 30 */
            snprintf(rec, sizeof rec, "2023-02-30T00:00:00Z,%lld,%s", (long long)uid, cc);
            x->col = 9;
            snprintf(x->reason, sizeof x->reason,
                     "t.csv:%llu:9: column ts: bad TIMESTAMP(3) \"2023-02-30T00:00:00Z\": day out of range for the month",
                     (unsigned long long)line);
            break;
        }
        if (kind) {
            x->line = line;
            snprintf(x->raw, sizeof x->raw, "%s", rec);
            nwdead++;
        }
        TT_OK(tide_buf_printf(&text, "%s\n", rec));
        line++;
    }

    for (int pass = 0; pass < 2; pass++) {
        dl_log log = {0};
        tide_decoder *d = NULL;
        tide_decode_opts o = {.format = TIDE_FORMAT_CSV, .source = "t.csv", .header = true,
                              .on_dead = on_dead, .ctx = &log};
        TT_OK(tide_decoder_create(&d, s, &o, &e));
        tide_cbatch *all = NULL;
        TT_OK(tide_cbatch_create(&all, s, N, 0, &e));
        TT_OK(decode_all(d, (const char *)text.data, text.len, pass ? &seed : NULL, 1 + pass * 99, all));
        TT_ASSERT_EQ_INT(tide_cbatch_rows(all), nwant);
        for (uint32_t r = 0; r < nwant; r++) {
            TT_ASSERT(!tide_cbatch_is_null(all, 0, r));
            TT_ASSERT_EQ_INT(tide_cbatch_i64(all, 0, r), want[r].ts);
            TT_ASSERT_EQ_INT(tide_cbatch_i64(all, 1, r), want[r].uid);
            tide_str c = tide_cbatch_str(all, 2, r);
            TT_ASSERT(c.len == strlen(want[r].country) && memcmp(c.ptr, want[r].country, c.len) == 0);
        }
        TT_ASSERT_EQ_INT(log.n, nwdead);
        for (size_t i = 0; i < nwdead; i++) {
            dl_entry *g = &log.v[i], *w = &wdead[i];
            if (g->line != w->line || g->col != w->col || strcmp(g->raw, w->raw) != 0 ||
                (w->reason[0] && strcmp(g->reason, w->reason) != 0)) {
                TT_SEED(seed0);
                TT_ASSERT_MSG(0, "dead letter %zu:\n got  %llu:%llu %s [%s]\n want %llu:%llu %s [%s]", i,
                              (unsigned long long)g->line, (unsigned long long)g->col, g->reason, g->raw,
                              (unsigned long long)w->line, (unsigned long long)w->col, w->reason, w->raw);
            }
            if (!w->reason[0]) {
                char prefix[64];
                snprintf(prefix, sizeof prefix, "t.csv:%llu:%llu: ", (unsigned long long)w->line,
                         (unsigned long long)w->col);
                TT_ASSERT_MSG(strncmp(g->reason, prefix, strlen(prefix)) == 0 && strstr(g->reason, "quote"),
                              "%s", g->reason);
            }
        }
        tide_decode_stats st;
        tide_decoder_stats(d, &st);
        TT_ASSERT_EQ_INT(st.records, N);
        TT_ASSERT_EQ_INT(st.rows, nwant);
        TT_ASSERT_EQ_INT(st.dead, nwdead);
        free(log.v);
        tide_cbatch_free(all);
        tide_decoder_free(d);
    }
    free(want);
    free(wdead);
    tide_buf_free(&text);
    tide_schema_free(s);
}

/* An unterminated quote swallows the rest of the input: one dead letter. */
static void test_csv_unterminated(void)
{
    tide_schema *s = login_schema(true);
    TT_ASSERT(s);
    const char *text = "2024-01-01,1,US,true,1\n2024-01-01,2,\"oops,true,1\n2024-01-01,3,FR,true,1\n";
    tide_err e = {0};
    dl_log log = {0};
    tide_decoder *d = NULL;
    tide_decode_opts o = {.format = TIDE_FORMAT_CSV, .source = "u.csv", .on_dead = on_dead, .ctx = &log};
    TT_OK(tide_decoder_create(&d, s, &o, &e));
    tide_cbatch *b = NULL;
    TT_OK(tide_cbatch_create(&b, s, 16, 0, &e));
    size_t pos = 0;
    TT_ASSERT_EQ_INT(tide_decoder_decode(d, text, strlen(text), &pos, true, b, &e), 0);
    TT_ASSERT_EQ_INT(tide_cbatch_rows(b), 1);
    TT_ASSERT_EQ_INT(log.n, 1);
    TT_ASSERT_EQ_INT(log.v[0].line, 2);
    TT_ASSERT_EQ_INT(log.v[0].col, 14);
    TT_ASSERT(strncmp(log.v[0].reason, "u.csv:2:14: ", 12) == 0);
    free(log.v);
    tide_cbatch_free(b);
    tide_decoder_free(d);
    tide_schema_free(s);
}

/* A UTF-8 byte order mark is skipped, even when split across reads. */
static void test_bom(void)
{
    tide_schema *s = login_schema(false);
    TT_ASSERT(s);
    uint64_t seed = tt_seed(0xb0b);
    static const struct {
        tide_format fmt;
        const char *text;
        uint32_t rows, dead;
    } cases[] = {
        {TIDE_FORMAT_CSV, "\xEF\xBB\xBF" "2024-01-01,1,US,true,1\n2024-01-02,2,FR,false,2\n", 2, 0},
        {TIDE_FORMAT_CSV, "\xEF\xBB" "2024-01-01,1,US,true,1\n", 0, 1},
        {TIDE_FORMAT_CSV, "\xEF\xBB\xBF", 0, 0},
        {TIDE_FORMAT_CSV, "", 0, 0},
        {TIDE_FORMAT_JSONL, "\xEF\xBB\xBF{\"ts\":5}\n", 1, 0},
        {TIDE_FORMAT_JSONL, "{\"ts\":5}\n\xEF\xBB\xBF{\"ts\":5}\n", 1, 1}, /* only at the start */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int chunked = 0; chunked < 2; chunked++) {
            tide_err e = {0};
            dl_log log = {0};
            tide_decoder *d = NULL;
            tide_decode_opts o = {.format = cases[i].fmt, .source = "bom", .on_dead = on_dead, .ctx = &log};
            TT_OK(tide_decoder_create(&d, s, &o, &e));
            tide_cbatch *all = NULL;
            TT_OK(tide_cbatch_create(&all, s, 16, 0, &e));
            TT_OK(decode_all(d, cases[i].text, strlen(cases[i].text), chunked ? &seed : NULL, 3, all));
            TT_ASSERT_MSG(tide_cbatch_rows(all) == cases[i].rows && log.n == cases[i].dead,
                          "case %zu: %u rows, %zu dead", i, tide_cbatch_rows(all), log.n);
            if (cases[i].rows)
                TT_ASSERT(tide_cbatch_i64(all, 0, 0) == (cases[i].fmt == TIDE_FORMAT_CSV ? 1704067200000LL : 5));
            free(log.v);
            tide_cbatch_free(all);
            tide_decoder_free(d);
        }
    }
    tide_schema_free(s);
}

/* ---- byte ranges (tide_decoder_decode_range, opts.mid_input) ---- */

/* Decode buf[*pos, len) up to `stop` with a fresh decoder; rows go to all. */
static int decode_range_all(const tide_schema *s, const tide_decode_opts *o, const char *text, size_t len,
                            size_t *pos, size_t stop, tide_cbatch *all)
{
    tide_err e = {0};
    tide_decoder *d = NULL;
    tide_cbatch *b = NULL;
    int rc = tide_decoder_create(&d, s, o, &e);
    if (!rc)
        rc = tide_cbatch_create(&b, s, 2, TIDE_CBATCH_POS, &e);
    while (!rc) {
        rc = tide_decoder_decode_range(d, text, len, pos, stop, true, b, &e);
        for (uint32_t r = 0; r < tide_cbatch_rows(b) && rc >= 0; r++)
            if (tide_cbatch_copy_row(all, b, r, &e))
                rc = -1;
        tide_cbatch_reset(b);
        if (rc == 1)
            rc = 0;
        else
            break;
    }
    tide_cbatch_free(b);
    tide_decoder_free(d);
    return rc;
}

static void test_decode_range(void)
{
    tide_schema *s = login_schema(true);
    TT_ASSERT(s);
    /* record starts: 3 (after the BOM: the header), 31, 60, 61, 105, 117 */
    const char *text = "\xEF\xBB\xBF" "ts,user_id,country,ok,score\n"  /* line 1 */
                       "2024-01-01 00:00:00,1,US,1,1\n"                 /* 2 */
                       "\n"                                              /* 3 */
                       "2024-01-01 00:00:00,2,\"a\n2024,3,b,1,1\n\",1,2\n" /* 4-6 */
                       "x,4,US,1,1\r\n"                                  /* 7: bad ts */
                       "2024-01-01 00:00:00,5,US,1,1";                   /* 8 */
    size_t len = strlen(text);
    static const size_t starts[] = {3, 31, 60, 61, 105, 117};
    size_t nstarts = sizeof starts / sizeof starts[0];
    tide_err e = {0};
    for (size_t stop = 0; stop <= len + 1; stop++) {
        /* the first range ends at the first record start >= stop (the header is always taken) */
        size_t want = len;
        for (size_t k = 1; k < nstarts; k++)
            if (starts[k] >= stop) {
                want = starts[k];
                break;
            }
        dl_log log = {0};
        tide_cbatch *all = NULL;
        TT_OK(tide_cbatch_create(&all, s, 16, TIDE_CBATCH_POS, &e));
        size_t pos = 0;
        tide_decode_opts o = {.format = TIDE_FORMAT_CSV, .source = "r", .header = true, .on_dead = on_dead,
                              .ctx = &log};
        TT_OK(decode_range_all(s, &o, text, len, &pos, stop, all));
        TT_ASSERT_MSG(pos == want, "stop %zu: first range ends at %zu, not %zu", stop, pos, want);
        /* the rest, from there, as a range of its own: lines counted from it */
        uint64_t line = 1;
        for (size_t i = 0; i < pos; i++)
            line += text[i] == '\n';
        tide_decode_opts o2 = o;
        o2.mid_input = true;
        o2.first_line = line;
        TT_OK(decode_range_all(s, &o2, text, len, &pos, SIZE_MAX, all));
        TT_ASSERT_EQ_INT(pos, len);
        TT_ASSERT_EQ_INT(tide_cbatch_rows(all), 3);
        TT_ASSERT_EQ_INT(tide_cbatch_pos(all, 0), 2);
        TT_ASSERT_EQ_INT(tide_cbatch_pos(all, 1), 4);
        TT_ASSERT_EQ_INT(tide_cbatch_pos(all, 2), 8);
        TT_ASSERT_EQ_INT(tide_cbatch_i64(all, 1, 2), 5);
        TT_ASSERT_EQ_INT(log.n, 1);
        TT_ASSERT_EQ_INT(log.v[0].line, 7);
        TT_ASSERT_EQ_STR(log.v[0].reason, "r:7:1: column ts: bad TIMESTAMP(3) \"x\": expected a digit (epoch milliseconds or YYYY-MM-DD...)");
        free(log.v);
        tide_cbatch_free(all);
    }
    tide_schema_free(s);
}

static void why_dead(void *ctx, const tide_dead_letter *dl)
{
    int *ok = ctx;
    size_t rl = strlen(dl->reason), wl = strlen(dl->why);
    *ok &= wl < rl && strcmp(dl->reason + rl - wl, dl->why) == 0 && dl->why[-2] == ':' && dl->why[-1] == ' ';
}

/* A dead letter's why is its reason after the position. */
static void test_dead_why(void)
{
    tide_schema *s = login_schema(false);
    TT_ASSERT(s);
    const char *text = "x,1,US,1,1\n\"2024\",1\n2024,\"a\"b,US,1,1\n,1,US,1,1\n";
    int ok = 1;
    tide_err e = {0};
    tide_decoder *d = NULL;
    tide_cbatch *b = NULL;
    tide_decode_opts o = {.format = TIDE_FORMAT_CSV, .source = "w", .on_dead = why_dead, .ctx = &ok};
    TT_OK(tide_decoder_create(&d, s, &o, &e));
    TT_OK(tide_cbatch_create(&b, s, 8, 0, &e));
    size_t pos = 0;
    TT_ASSERT_EQ_INT(tide_decoder_decode(d, text, strlen(text), &pos, true, b, &e), 0);
    tide_decode_stats st;
    tide_decoder_stats(d, &st);
    TT_ASSERT_EQ_INT(st.dead, 4);
    TT_ASSERT(ok);
    tide_cbatch_free(b);
    tide_decoder_free(d);
    tide_schema_free(s);
}

/* ---- JSON Lines ---- */

static void test_jsonl_cases(void)
{
    tide_schema *s = login_schema(false);
    TT_ASSERT(s);
    static const struct {
        const char *line;
        const char *reason; /* NULL: good */
    } cases[] = {
        {"{\"ts\":\"2024-01-01 00:00:00\",\"user_id\":1,\"country\":\"US\",\"ok\":true,\"score\":1.5}", NULL},
        {"{\"TS\":1700000000000,\"User_Id\":null,\"extra\":[1,{\"a\":2}]}", NULL},
        {"  {\"ts\":\"2024-02-29T23:00:00-01:00\",\"score\":\"NaN\",\"ok\":false}  ", NULL},
        {"", NULL}, /* blank: skipped */
        {"{\"ts\":\"2024-13-01\"}", "j.jsonl:5:13: column ts: bad TIMESTAMP(3) \"2024-13-01\": month out of range"},
        {"{\"ts\":1,\"user_id\":1.5}", "j.jsonl:6:19: column user_id: bad BIGINT 1.5: not an integer"},
        {"{\"ts\":1,\"user_id\":\"7\"}", "j.jsonl:7:19: column user_id: expected BIGINT, found a string \"7\""},
        {"{\"ts\":1,\"user_id\":1e400}", "j.jsonl:8:19: column user_id: bad BIGINT 1e400: not an integer"},
        {"{\"ts\":1,\"user_id\":12345678901234567890}",
         "j.jsonl:9:19: column user_id: bad BIGINT 12345678901234567890: out of range for BIGINT"},
        {"{\"ts\":1,\"ok\":\"true\"}", "j.jsonl:10:14: column ok: expected BOOLEAN, found a string \"true\""},
        {"{\"ts\":1,\"country\":5}", "j.jsonl:11:19: column country: expected STRING, found a number 5"},
        {"{\"ts\":1.5}", "j.jsonl:12:7: column ts: bad TIMESTAMP(3) 1.5: expected epoch milliseconds (an integer)"},
        {"{\"user_id\":3}", "j.jsonl:13: column ts: NULL in a NOT NULL column"},
        {"{\"ts\":null}", "j.jsonl:14:7: column ts: NULL in a NOT NULL column"},
        {"{\"ts\":1,}", NULL /* bad JSON: checked by prefix below */},
        {"[1,2]", NULL /* bad JSON */},
        {"{\"ts\":1,\"score\":{}}", "j.jsonl:17:17: column score: expected DOUBLE, found an object {}"},
        {"{\"ts\":-5,\"score\":-0.0}\r", NULL},
        /* the TIMESTAMP range's ends (data/types.h): in, and one ms out */
        {"{\"ts\":253402300800000}",
         "j.jsonl:19:7: column ts: bad TIMESTAMP(3) 253402300800000: "
         "timestamp outside 0000-01-01 00:00:00.000 .. 9999-12-31 23:59:59.999"},
        {"{\"ts\":\"-0001-12-31 23:59:59.999\"}",
         "j.jsonl:20:7: column ts: bad TIMESTAMP(3) \"-0001-12-31 23:59:59.999\": "
         "timestamp outside 0000-01-01 00:00:00.000 .. 9999-12-31 23:59:59.999"},
        {"{\"ts\":253402300799999}", NULL},
        {"{\"ts\":\"0000-01-01 00:00:00\"}", NULL},
    };
    const size_t n = sizeof cases / sizeof cases[0];
    tide_buf text = {0};
    for (size_t i = 0; i < n; i++)
        TT_OK(tide_buf_printf(&text, "%s\n", cases[i].line));
    tide_err e = {0};
    dl_log log = {0};
    tide_decoder *d = NULL;
    tide_decode_opts o = {.format = TIDE_FORMAT_JSONL, .source = "j.jsonl", .on_dead = on_dead, .ctx = &log};
    TT_OK(tide_decoder_create(&d, s, &o, &e));
    tide_cbatch *b = NULL;
    TT_OK(tide_cbatch_create(&b, s, 64, TIDE_CBATCH_POS, &e));
    size_t pos = 0;
    TT_ASSERT_EQ_INT(tide_decoder_decode(d, (const char *)text.data, text.len, &pos, true, b, &e), 0);
    TT_ASSERT_EQ_INT(tide_cbatch_rows(b), 6);
    TT_ASSERT_EQ_INT(log.n, 15);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 14 || i == 15) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "j.jsonl:%zu:", i + 1);
            TT_ASSERT(strncmp(log.v[k].reason, prefix, strlen(prefix)) == 0);
            TT_ASSERT(strstr(log.v[k].reason, "bad JSON: ") != NULL);
            TT_ASSERT_EQ_STR(log.v[k].raw, cases[i].line);
            k++;
        } else if (cases[i].reason) {
            TT_ASSERT_EQ_STR(log.v[k].reason, cases[i].reason);
            TT_ASSERT_EQ_STR(log.v[k].raw, cases[i].line);
            TT_ASSERT_EQ_INT(log.v[k].line, i + 1);
            k++;
        }
    }
    int64_t ts;
    TT_OK(tide_ts_parse("2024-01-01", 10, &ts, NULL));
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 0, 0), ts);
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 1, 0), 1);
    TT_ASSERT(tide_cbatch_bool(b, 3, 0));
    TT_ASSERT(tide_cbatch_f64(b, 4, 0) == 1.5);
    TT_ASSERT_EQ_INT(tide_cbatch_pos(b, 0), 1);
    /* case-insensitive names, null and missing fields, unknown fields */
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 0, 1), 1700000000000LL);
    for (uint32_t c = 1; c < 5; c++)
        TT_ASSERT(tide_cbatch_is_null(b, c, 1));
    TT_OK(tide_ts_parse("2024-03-01", 10, &ts, NULL));
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 0, 2), ts);
    TT_ASSERT(isnan(tide_cbatch_f64(b, 4, 2)));
    TT_ASSERT(!tide_cbatch_bool(b, 3, 2));
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 0, 3), -5);
    TT_ASSERT(signbit(tide_cbatch_f64(b, 4, 3)) && tide_cbatch_f64(b, 4, 3) == 0.0);
    TT_ASSERT_EQ_INT(tide_cbatch_pos(b, 3), 18);
    tide_decode_stats st;
    tide_decoder_stats(d, &st);
    TT_ASSERT_EQ_INT(st.records, 21);
    TT_ASSERT_EQ_INT(st.dead, 15);
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 0, 4), TIDE_TS_VALID_MAX);
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 0, 5), TIDE_TS_VALID_MIN);
    free(log.v);
    tide_buf_free(&text);
    tide_cbatch_free(b);
    tide_decoder_free(d);
    tide_schema_free(s);
}

/* ---- encoding by hand ---- */

static void test_encode_exact(void)
{
    tide_schema *s = login_schema(true);
    TT_ASSERT(s);
    tide_err e = {0};
    tide_cbatch *b = NULL;
    TT_OK(tide_cbatch_create(&b, s, 4, TIDE_CBATCH_OPS, &e));
    uint32_t r;
    TT_OK(tide_cbatch_add_row(b, &r));
    tide_cbatch_set_i64(b, 0, r, -1);
    tide_cbatch_set_i64(b, 1, r, INT64_MIN);
    TT_OK(tide_cbatch_set_str(b, 2, r, "a\"b,c", 5, &e));
    tide_cbatch_set_bool(b, 3, r, true);
    tide_cbatch_set_f64(b, 4, r, 0.1);
    tide_cbatch_set_op(b, r, TIDE_OP_UPDATE_BEFORE);
    TT_OK(tide_cbatch_add_row(b, &r));
    TT_OK(tide_cbatch_set_str(b, 2, r, "", 0, &e));
    tide_cbatch_set_f64(b, 4, r, 1e300 * 1e10);

    tide_buf out = {0};
    tide_encoder *enc = NULL;
    tide_encode_opts o = {.format = TIDE_FORMAT_CSV, .header = true};
    TT_OK(tide_encoder_create(&enc, s, &o, &e));
    TT_OK(tide_encoder_encode(enc, b, &out, &e));
    TT_OK(tide_encoder_encode(enc, b, &out, &e)); /* header only once */
    const char *want = "op,ts,user_id,country,ok,score\n"
                       "-U,1969-12-31 23:59:59.999,-9223372036854775808,\"a\"\"b,c\",true,0.1\n"
                       "+I,,,\"\",,inf\n";
    TT_OK(tide_buf_append(&out, "", 1));
    char want2[512];
    snprintf(want2, sizeof want2, "%s%s", want, want + strlen("op,ts,user_id,country,ok,score\n"));
    TT_ASSERT_EQ_STR((const char *)out.data, want2);
    tide_encoder_free(enc);

    tide_buf_reset(&out);
    tide_encode_opts oj = {.format = TIDE_FORMAT_JSONL};
    TT_OK(tide_encoder_create(&enc, s, &oj, &e));
    TT_OK(tide_encoder_encode(enc, b, &out, &e));
    TT_OK(tide_buf_append(&out, "", 1));
    TT_ASSERT_EQ_STR((const char *)out.data,
                     "{\"op\":\"-U\",\"ts\":\"1969-12-31 23:59:59.999\",\"user_id\":-9223372036854775808,"
                     "\"country\":\"a\\\"b,c\",\"ok\":true,\"score\":0.1}\n"
                     "{\"op\":\"+I\",\"ts\":null,\"user_id\":null,\"country\":\"\",\"ok\":null,"
                     "\"score\":\"Infinity\"}\n");
    tide_encoder_free(enc);
    tide_buf_free(&out);
    tide_cbatch_free(b);
    tide_schema_free(s);
}

/* Shortest round-trip doubles: reads back exactly, and no shorter %.*g
 * spelling (an independent search) reads back. */
static void test_write_double(void)
{
    uint64_t seed = tt_seed(0xd0b1e);
    tide_buf out = {0};
    for (int i = 0; i < 20000; i++) {
        double v = random_double(&seed);
        if (!isfinite(v))
            continue;
        tide_buf_reset(&out);
        TT_OK(tide_codec_write_double(&out, v));
        TT_OK(tide_buf_putc(&out, '\0'));
        const char *txt = (const char *)out.data;
        double back = strtod(txt, NULL);
        TT_ASSERT_MSG(memcmp(&back, &v, sizeof v) == 0, "%s", txt);
        /* digits used */
        int digits = 0;
        bool lead = true;
        for (const char *p = txt; *p && *p != 'e'; p++) {
            if (*p == '0' && lead)
                continue;
            if (*p >= '1' && *p <= '9')
                lead = false;
            digits += *p >= '0' && *p <= '9';
        }
        for (int prec = 1; prec < 17; prec++) {
            char t[64];
            snprintf(t, sizeof t, "%.*g", prec, v);
            if (strtod(t, NULL) == v) {
                TT_ASSERT_MSG(prec >= digits || strlen(txt) <= strlen(t), "%s but %s", txt, t);
                break;
            }
        }
    }
    tide_buf_free(&out);
}

static void test_format_options(void)
{
    tide_format fmt = TIDE_FORMAT_CSV;
    bool header = false;
    char delim = ',';
    TT_ASSERT_EQ_INT(tide_codec_option("format", "jsonl", &fmt, &header, &delim), 1);
    TT_ASSERT(fmt == TIDE_FORMAT_JSONL);
    TT_ASSERT_EQ_INT(tide_codec_option("format", "csv", &fmt, &header, &delim), 1);
    TT_ASSERT(fmt == TIDE_FORMAT_CSV);
    TT_ASSERT_EQ_INT(tide_codec_option("format", "xml", &fmt, &header, &delim), TIDE_EINVAL);
    TT_ASSERT(fmt == TIDE_FORMAT_CSV);
    TT_ASSERT_EQ_INT(tide_codec_option("csv.header", "TRUE", &fmt, &header, &delim), 1);
    TT_ASSERT(header);
    TT_ASSERT_EQ_INT(tide_codec_option("csv.header", "0", &fmt, &header, &delim), 1);
    TT_ASSERT(!header);
    TT_ASSERT_EQ_INT(tide_codec_option("csv.header", "yes", &fmt, &header, &delim), TIDE_EINVAL);
    TT_ASSERT_EQ_INT(tide_codec_option("csv.delimiter", ";", &fmt, &header, &delim), 1);
    TT_ASSERT(delim == ';');
    TT_ASSERT_EQ_INT(tide_codec_option("csv.delimiter", ";;", &fmt, &header, &delim), TIDE_EINVAL);
    TT_ASSERT(delim == ';');
    TT_ASSERT_EQ_INT(tide_codec_option("path", "x.csv", &fmt, &header, &delim), 0);
}

int main(void)
{
    TT_RUN(test_csv_values);
    TT_RUN(test_csv_dead_letters);
    TT_RUN(test_csv_unterminated);
    TT_RUN(test_bom);
    TT_RUN(test_decode_range);
    TT_RUN(test_dead_why);
    TT_RUN(test_jsonl_cases);
    TT_RUN(test_encode_exact);
    TT_RUN(test_write_double);
    TT_RUN(test_roundtrip_csv);
    TT_RUN(test_roundtrip_jsonl);
    TT_RUN(test_format_options);
    TT_DONE();
}
