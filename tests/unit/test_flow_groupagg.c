/*
 * test_flow_groupagg.c - the unwindowed GROUP BY (exec/node_groupagg.h) in
 * whole flows
 *
 *   scan -> hash(k) -> groupagg[P] -> gather -> order(k) -> sink
 *
 * against brute force over the same random records: (ts, k STRING or
 * NULL, u BIGINT, v BIGINT or NULL), event times mostly rising with some
 * records up to 3 s behind, delivered in batches of random sizes by a
 * callback source; COUNT(*), COUNT(DISTINCT u), SUM(v), MIN(v).  A row's
 * tag is the watermark that released it downstream (groupagg flushes its
 * changes at each watermark).
 *   - P = 1, 2, 4 give identical sequences (ops, keys, values, tags);
 *   - the changelog is well formed: per tag at most one change per key (+I
 *     for a new key, or -U immediately followed by +U), keys ascending by
 *     the key codec's order inside a tag, each -U equal to the key's row;
 *   - applying the rows of every tag <= w gives the GROUP BY over the
 *     prefix of the input the scan had read when it sent watermark w (one
 *     partition: W = max ts - B);
 *   - at the end the map is the GROUP BY over all records, and COUNT(*)
 *     summed over +I/+U minus -U/-D is the record count;
 *   - several source partitions: P runs identical, the final map right;
 *   - a file sink gets the rows (no window columns) in the same order;
 *   - no key: one global group behind a gather (its input from P
 *     instances), one change per step, the same for every P;
 *   - a DOUBLE key: -0.0 and 0.0 one group, every NaN one group, one key
 *     value per group, in the unwindowed and the windowed operator, P = 1,
 *     2, 4 (the exchange routes -0.0 and 0.0, and every NaN, alike).
 */
#include "connect/sink.h"
#include "exec/expr.h"
#include "exec/node_calc.h"
#include "exec/node_groupagg.h"
#include "exec/node_order.h"
#include "exec/node_scan.h"
#include "exec/node_winagg.h"
#include "exec/node_write.h"
#include "flow_rig.h"

#include <math.h>

#define NKEYS 23
#define NUSERS 60
#define B_MS 1000
#define NA 4

static const uint32_t Ps[3] = {1, 2, 4};

/* ---- records ---- */

typedef struct rec {
    int64_t ts;
    int k; /* -1: NULL */
    int64_t u, v;
    bool v_null;
} rec;

typedef struct input {
    rec *r;
    size_t n;
    uint32_t *batch_end; /* exclusive end of each batch */
    uint32_t *batch_part;
    size_t nb;
} input;

static void input_free(input *in)
{
    free(in->r);
    free(in->batch_end);
    free(in->batch_part);
    memset(in, 0, sizeof *in);
}

static void make_input(input *in, uint64_t seed, size_t n, uint32_t parts, uint32_t max_batch)
{
    in->r = calloc(n, sizeof *in->r);
    in->batch_end = calloc(n + 1, sizeof *in->batch_end);
    in->batch_part = calloc(n + 1, sizeof *in->batch_part);
    in->n = n;
    in->nb = 0;
    int64_t t = 1704067200000LL;
    for (size_t i = 0; i < n; i++) {
        rec *r = &in->r[i];
        uint64_t x = tt_rand(&seed);
        t += (int64_t)(x % 40);
        r->ts = x % 7 == 0 ? t - (int64_t)((x >> 8) % 3000) : t;
        r->k = (x >> 20) % 29 == 0 ? -1 : (int)((x >> 24) % NKEYS);
        if (r->k > 0 && (x >> 32) % 3 == 0) /* skewed: low keys more frequent */
            r->k /= 3;
        r->u = (int64_t)((x >> 36) % NUSERS);
        r->v_null = (x >> 44) % 11 == 0;
        r->v = (int64_t)((x >> 48) % 2001) - 1000;
    }
    size_t at = 0;
    while (at < n) {
        uint32_t len = 1 + (uint32_t)(tt_rand(&seed) % max_batch);
        at = at + len > n ? n : at + len;
        in->batch_part[in->nb] = (uint32_t)(tt_rand(&seed) % parts);
        in->batch_end[in->nb++] = (uint32_t)at;
    }
}

typedef struct src {
    const input *in;
    size_t next;
} src;

static int src_next(void *ctx, tide_cbatch *b, uint32_t *part, tide_err *e)
{
    src *s = ctx;
    if (s->next >= s->in->nb)
        return TIDE_SRC_END;
    uint32_t from = s->next ? s->in->batch_end[s->next - 1] : 0, to = s->in->batch_end[s->next];
    for (uint32_t i = from; i < to; i++) {
        const rec *r = &s->in->r[i];
        uint32_t row = 0;
        char ks[16];
        tide_cbatch_add_row(b, &row);
        tide_cbatch_set_i64(b, 0, row, r->ts);
        if (r->k >= 0) {
            int l = snprintf(ks, sizeof ks, "key%d", r->k);
            int rc = tide_cbatch_set_str(b, 1, row, ks, (size_t)l, e);
            if (rc)
                return rc;
        }
        tide_cbatch_set_i64(b, 2, row, r->u);
        if (!r->v_null)
            tide_cbatch_set_i64(b, 3, row, r->v);
    }
    *part = s->in->batch_part[s->next++];
    return TIDE_SRC_READY;
}

static tide_schema *rec_schema(void)
{
    tide_schema *s = NULL;
    tide_err e = {0};
    if (tide_schema_create(&s, &e) || tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, true, &e) ||
        tide_schema_add(s, "k", TIDE_TYPE_STRING, true, &e) || tide_schema_add(s, "u", TIDE_TYPE_BIGINT, true, &e) ||
        tide_schema_add(s, "v", TIDE_TYPE_BIGINT, true, &e) || tide_schema_set_time_column(s, 0, &e))
        abort();
    return s;
}

static const tide_groupagg_call calls[NA] = {
    {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL},
    {TIDE_AGG_COUNT_DISTINCT, 0, TIDE_TYPE_BIGINT},
    {TIDE_AGG_SUM, 1, TIDE_TYPE_BIGINT},
    {TIDE_AGG_MIN, 1, TIDE_TYPE_BIGINT},
};
static const char *const names[NA] = {"n", "u", "s", "m"};

/* ---- the keyed job ---- */

/* Run scan -> hash(k) -> groupagg[P] -> gather -> order(k) -> sink (and a
 * file sink when `sink` is set); 0 or the error. */
static int run(const input *in, uint32_t parts, uint32_t P, fr_sink *out, tide_sink *sink, uint64_t *counts,
               tide_err *e)
{
    tide_schema *s = rec_schema(), *gs = NULL;
    src sc = {in, 0};
    tide_node_scan_cfg scan;
    tide_node_scan_cfg_init(&scan);
    scan.kind = TIDE_NODE_SCAN_CALLBACK;
    scan.schema = s;
    scan.partitions = parts;
    scan.next = src_next;
    scan.ctx = &sc;
    scan.wm_bound = B_MS;
    scan.batch_rows = 512;
    static const uint32_t key = 1, vcols[2] = {2, 3}, sort = 0;
    tide_node_groupagg_cfg ga = {.in = s, .key_cols = &key, .n_keys = 1, .value_cols = vcols, .n_values = 2,
                                 .aggs = calls, .n_aggs = NA, .agg_names = names, .batch_rows = 64};
    int rc = tide_node_groupagg_schema(&ga, 0, &gs, e);
    tide_node_order_cfg oc = {.schema = gs, .flags = TIDE_CBATCH_OPS, .sort_cols = &sort, .n_sort = 1};
    tide_node_write_cfg wc = {.sink = sink};
    tide_flow *f = NULL;
    tide_flow_cfg fc = {.batch_rows = 128, .chan_capacity = 4};
    int id_src, id_g, id_o, id_k, id_w;
    if (gs)
        fr_sink_init(out, (uint32_t)tide_schema_ncols(gs), in->n * 2 + 16);
    rc = rc ? rc : tide_flow_create(&f, &fc, e);
    tide_flow_node n = fr_node("scan", &tide_node_scan_vt, tide_node_scan_make, &scan, 1, s, 0);
    rc = rc ? rc : tide_flow_add(f, &n, &id_src, e);
    n = fr_node("groupagg", &tide_node_groupagg_vt, tide_node_groupagg_make, &ga, P, gs, TIDE_CBATCH_OPS);
    rc = rc ? rc : tide_flow_add(f, &n, &id_g, e);
    n = fr_node("order", &tide_node_order_vt, tide_node_order_make, &oc, 1, gs, TIDE_CBATCH_OPS);
    rc = rc ? rc : tide_flow_add(f, &n, &id_o, e);
    rc = rc ? rc : fr_add_sink(f, "collect", out, gs, &id_k, e);
    rc = rc ? rc : tide_flow_connect(f, id_src, 0, id_g, P == 1 ? TIDE_FLOW_FORWARD : TIDE_FLOW_HASH, &key, 1, e);
    rc = rc ? rc : tide_flow_connect(f, id_g, 0, id_o, TIDE_FLOW_GATHER, NULL, 0, e);
    rc = rc ? rc : tide_flow_connect(f, id_o, 0, id_k, TIDE_FLOW_FORWARD, NULL, 0, e);
    if (sink) {
        n = fr_node("write", &tide_node_write_vt, tide_node_write_make, &wc, 1, gs, 0);
        n.n_out = 0;
        rc = rc ? rc : tide_flow_add(f, &n, &id_w, e);
        rc = rc ? rc : tide_flow_connect(f, id_o, 0, id_w, TIDE_FLOW_FORWARD, NULL, 0, e);
    }
    rc = rc ? rc : tide_flow_run(f, e);
    if (f && counts)
        tide_flow_counts(f, counts);
    tide_flow_free(f);
    tide_schema_free(s);
    tide_schema_free(gs);
    return rc;
}

/* ---- brute force ---- */

typedef struct grp {
    bool live;
    int64_t count;
    uint64_t users; /* bit set of u (< 64) */
    int64_t sum, min;
    bool have_v;
} grp;

static void grp_add(grp *g, const rec *r)
{
    g->live = true;
    g->count++;
    g->users |= 1ull << r->u;
    if (!r->v_null) {
        if (!g->have_v || r->v < g->min)
            g->min = r->v;
        g->sum += r->v;
        g->have_v = true;
    }
}

/* A sink row's cells: k, n, u, s, m. */
enum { C_K, C_N, C_U, C_S, C_M };

/* Does the applied map row (cells of a sink row) equal the group? */
static bool grp_eq(const grp *g, const int64_t *m, bool m_live)
{
    if (g->live != m_live)
        return false;
    if (!g->live)
        return true;
    if (m[C_N] != g->count || m[C_U] != __builtin_popcountll(g->users))
        return false;
    if ((m[C_S] == FR_NULL) != !g->have_v || (m[C_M] == FR_NULL) != !g->have_v)
        return false;
    return !g->have_v || (m[C_S] == g->sum && m[C_M] == g->min);
}

#define KIX(k) ((k) + 1) /* map index: 0 is the NULL key */

/* The key index of a packed key cell (-1: NULL), or -2. */
static int key_of(int64_t cell)
{
    if (cell == FR_NULL)
        return -1;
    for (int k = 0; k < NKEYS; k++) {
        char ks[16];
        snprintf(ks, sizeof ks, "key%d", k);
        if (fr_cstr(ks) == cell)
            return k;
    }
    return -2;
}

/* Check the changelog `o` against the input (see the top).  prefix: also
 * each tag against a prefix of the input (one partition).  The number of
 * failures (the first few printed). */
static int check_changelog(const input *in, const fr_sink *o, bool prefix, uint64_t seed)
{
    int64_t map[NKEYS + 1][5];
    bool live[NKEYS + 1] = {0};
    grp brute[NKEYS + 1];
    memset(map, 0, sizeof map);
    memset(brute, 0, sizeof brute);
    int fails = 0;
    size_t k = 0;              /* records in `brute` */
    int64_t maxts = INT64_MIN; /* over records [0, k) */
    int64_t count_sum = 0;
    size_t i = 0, tags = 0, n = atomic_load(&o->n);
    int64_t last_tag = TIDE_TS_MIN;
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        if (fails++ < 5) {                                                                         \
            fprintf(stderr, "  seed %llu: ", (unsigned long long)seed);                            \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
        }                                                                                          \
    } while (0)
    if (atomic_load(&o->overflow))
        FAIL("sink overflow");
    while (i < n) {
        int64_t w = fr_wm_after(o, i);
        if (tags > 0 && w <= last_tag)
            FAIL("tag %lld after %lld", (long long)w, (long long)last_tag);
        last_tag = w;
        tags++;
        /* apply this tag's rows */
        size_t j = i;
        int64_t prev_key = INT64_MIN;
        bool seen_key = false;
        for (; j < n && fr_wm_after(o, j) == w; j++) {
            const int64_t *r = fr_row(o, j), *c = r + FR_HDR;
            int op = (int)r[1], key = key_of(c[C_K]);
            if (key < -1) {
                FAIL("row %zu: a key that is not one of the input's", j);
                continue;
            }
            int x = KIX(key);
            count_sum += (op == TIDE_OP_INSERT || op == TIDE_OP_UPDATE_AFTER ? 1 : -1) * c[C_N];
            if (op == TIDE_OP_UPDATE_AFTER) {
                if (j == i || fr_row(o, j - 1)[1] != TIDE_OP_UPDATE_BEFORE || fr_row(o, j - 1)[FR_HDR + C_K] != c[C_K])
                    FAIL("row %zu: +U without its -U", j);
            } else {
                if (seen_key && c[C_K] <= prev_key)
                    FAIL("row %zu: key not after the previous key of tag %lld", j, (long long)w);
                prev_key = c[C_K];
                seen_key = true;
            }
            switch (op) {
            case TIDE_OP_INSERT:
                if (live[x])
                    FAIL("row %zu: +I of a live key %d", j, key);
                memcpy(map[x], c, sizeof map[x]);
                live[x] = true;
                break;
            case TIDE_OP_UPDATE_BEFORE:
                if (!live[x] || memcmp(map[x], c, sizeof map[x]) != 0)
                    FAIL("row %zu: -U does not retract key %d's row", j, key);
                if (j + 1 >= n || fr_row(o, j + 1)[1] != TIDE_OP_UPDATE_AFTER)
                    FAIL("row %zu: -U without its +U", j);
                live[x] = false;
                break;
            case TIDE_OP_UPDATE_AFTER:
                memcpy(map[x], c, sizeof map[x]);
                live[x] = true;
                break;
            default:
                FAIL("row %zu: op %d (no key can lose its rows)", j, op);
                live[x] = false;
                break;
            }
        }
        /* the input prefix the scan had read when it sent w */
        if (prefix && w != TIDE_TS_MAX) {
            bool found = false;
            for (;;) {
                int64_t wk = k == 0 ? TIDE_TS_MIN : maxts - B_MS;
                if (wk == w) {
                    bool eq = true;
                    for (int g = 0; g <= NKEYS && eq; g++)
                        eq = grp_eq(&brute[g], map[g], live[g]);
                    if (eq) {
                        found = true;
                        break;
                    }
                }
                if (k == in->n || wk > w)
                    break;
                grp_add(&brute[KIX(in->r[k].k)], &in->r[k]);
                maxts = in->r[k].ts > maxts ? in->r[k].ts : maxts;
                k++;
            }
            if (!found)
                FAIL("tag %lld: the applied changelog is no GROUP BY of an input prefix with that watermark",
                     (long long)w);
        }
        i = j;
    }
    /* the end: the GROUP BY over all records */
    for (; k < in->n; k++)
        grp_add(&brute[KIX(in->r[k].k)], &in->r[k]);
    for (int g = 0; g <= NKEYS; g++)
        if (!grp_eq(&brute[g], map[g], live[g]))
            FAIL("the end: key %d differs from the GROUP BY over all records", g - 1);
    if (count_sum != (int64_t)in->n)
        FAIL("COUNT(*) summed over the changelog: %lld, records %zu", (long long)count_sum, in->n);
    if (prefix && tags < 10)
        FAIL("only %zu watermark steps", tags);
#undef FAIL
    return fails;
}

static void test_prefixes_and_parallelism(void)
{
    TT_FOR_SEEDS(seed, 1, 4) {
        input in = {0};
        /* batches of at most the scan's 512 rows (any replayed seed) */
        uint32_t max_batch = seed == 1 ? 256 : 37 * (uint32_t)seed;
        make_input(&in, seed * 7919, 20000, 1, max_batch < 512 ? max_batch : 512);
        fr_sink o[3];
        memset(o, 0, sizeof o);
        tide_err e = {0};
        int rc = 0;
        for (int r = 0; r < 3 && !rc; r++)
            rc = run(&in, 1, Ps[r], &o[r], NULL, NULL, &e);
        int fails = rc ? 1 : check_changelog(&in, &o[0], true, seed);
        bool same = !rc && fr_same(&o[0], &o[1], 0) && fr_same(&o[0], &o[2], 0);
        size_t n0 = atomic_load(&o[0].n);
        for (int r = 0; r < 3; r++)
            fr_sink_free(&o[r]);
        input_free(&in);
        if (fails || !same)
            TT_SEED(seed);
        TT_ASSERT_MSG(rc == 0, "%s", e.msg);
        TT_ASSERT_EQ_INT(fails, 0);
        TT_ASSERT_MSG(same, "P = 1, 2, 4 differ");
        TT_ASSERT(n0 > NKEYS);
    }
}

static void test_partitions(void)
{
    TT_FOR_SEEDS(seed, 11, 12) {
        input in = {0};
        make_input(&in, seed, 15000, 3, 200);
        fr_sink o[3];
        memset(o, 0, sizeof o);
        tide_err e = {0};
        int rc = 0;
        for (int r = 0; r < 3 && !rc; r++)
            rc = run(&in, 3, Ps[r], &o[r], NULL, NULL, &e);
        int fails = rc ? 1 : check_changelog(&in, &o[0], false, seed);
        bool same = !rc && fr_same(&o[0], &o[1], 0) && fr_same(&o[0], &o[2], 0);
        for (int r = 0; r < 3; r++)
            fr_sink_free(&o[r]);
        input_free(&in);
        if (fails || !same)
            TT_SEED(seed);
        TT_ASSERT_MSG(rc == 0, "%s", e.msg);
        TT_ASSERT_EQ_INT(fails, 0);
        TT_ASSERT_MSG(same, "P = 1, 2, 4 differ");
    }
}

/* The file sink: a CSV file with the op, the key and the aggregates (no
 * window columns), one line per row, in the sink node's order. */
static void test_file_sink(void)
{
    const char *dir = tt_tmpdir("test_flow_groupagg");
    TT_ASSERT(dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    tide_err e = {0};
    input in = {0};
    make_input(&in, 99, 3000, 1, 100);
    /* the sink's schema: the groupagg's */
    tide_schema *s = rec_schema(), *gs = NULL;
    static const uint32_t key = 1, vcols[2] = {2, 3};
    tide_node_groupagg_cfg ga = {.in = s, .key_cols = &key, .n_keys = 1, .value_cols = vcols, .n_values = 2,
                                 .aggs = calls, .n_aggs = NA, .agg_names = names};
    TT_OK(tide_node_groupagg_schema(&ga, 0, &gs, &e));
    tide_sink_config kc;
    tide_sink_config_init(&kc);
    kc.kind = TIDE_SINK_FILE;
    kc.path = path;
    kc.header = true;
    kc.schema = gs;
    tide_sink *snk = NULL;
    TT_OK(tide_sink_open(&snk, &kc, &e));
    fr_sink o;
    uint64_t c[TIDE_NODE_COUNTERS];
    int rc = run(&in, 1, 2, &o, snk, c, &e);
    if (rc == 0)
        rc = tide_sink_close(snk, &e);
    else
        tide_sink_abort(snk);
    input_free(&in);
    TT_ASSERT_MSG(rc == 0, "%s", e.msg);
    FILE *f = fopen(path, "r");
    TT_ASSERT(f);
    char line[512], head[512] = "";
    bool match = fgets(head, sizeof head, f) != NULL;
    size_t lines = 0, n = atomic_load(&o.n);
    while (match && fgets(line, sizeof line, f)) {
        if (lines >= n) {
            match = false;
            break;
        }
        const int64_t *r = fr_row(&o, lines), *v = r + FR_HDR;
        char exp[512], ks[16] = "";
        int key_ix = key_of(v[C_K]);
        if (key_ix >= 0)
            snprintf(ks, sizeof ks, "key%d", key_ix);
        size_t at = (size_t)snprintf(exp, sizeof exp, "%s,%s,%lld,%lld,", tide_op_name((tide_op)r[1]), ks,
                                     (long long)v[C_N], (long long)v[C_U]);
        if (v[C_S] != FR_NULL)
            at += (size_t)snprintf(exp + at, sizeof exp - at, "%lld", (long long)v[C_S]);
        at += (size_t)snprintf(exp + at, sizeof exp - at, ",");
        if (v[C_M] != FR_NULL)
            at += (size_t)snprintf(exp + at, sizeof exp - at, "%lld", (long long)v[C_M]);
        snprintf(exp + at, sizeof exp - at, "\n");
        if (strcmp(exp, line) != 0) {
            fprintf(stderr, "  line %zu: %s want %s", lines + 2, line, exp);
            match = false;
        }
        lines++;
    }
    fclose(f);
    fr_sink_free(&o);
    tide_schema_free(s);
    tide_schema_free(gs);
    TT_ASSERT_EQ_STR(head, "op,k,n,u,s,m\n");
    TT_ASSERT(match);
    TT_ASSERT_EQ_INT(lines, n);
    TT_ASSERT_EQ_INT(c[TIDE_NODE_OUT], n);
    TT_ASSERT_EQ_INT(c[TIDE_NODE_LATE], 0);
    TT_ASSERT(n > NKEYS);
}

/* ---- no key: one global group ---- */

typedef struct gjob {
    tide_schema *s, *ps;
} gjob;

/* SELECT ts, v (any instance) */
static int gproj(void *ctx, uint32_t instance, tide_expr **where, tide_expr **exprs, tide_err *e)
{
    (void)instance;
    gjob *g = ctx;
    *where = NULL;
    int rc = tide_expr_column(&exprs[0], g->s, 0, e);
    return rc ? rc : tide_expr_column(&exprs[1], g->s, 3, e);
}

/* scan (2 partitions) -> hash(u) -> calc[P] (SELECT ts, v) -> gather ->
 * groupagg[1] (COUNT(*), SUM(v), no key) -> sink: one change per step (+I
 * first, then -U/+U pairs, each -U the previous row), the final row the
 * count and sum of every record, the same sequence for every P. */
static void test_global_group(void)
{
    input in = {0};
    make_input(&in, 5, 8000, 2, 120);
    int64_t total = 0;
    for (size_t i = 0; i < in.n; i++)
        total += in.r[i].v_null ? 0 : in.r[i].v;
    tide_err e = {0};
    gjob g = {.s = rec_schema()};
    TT_OK(tide_schema_create(&g.ps, &e));
    TT_OK(tide_schema_add(g.ps, "ts", TIDE_TYPE_TIMESTAMP, true, &e));
    TT_OK(tide_schema_add(g.ps, "v", TIDE_TYPE_BIGINT, true, &e));
    TT_OK(tide_schema_set_time_column(g.ps, 0, &e));
    static const tide_groupagg_call gcalls[2] = {{TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL},
                                                 {TIDE_AGG_SUM, 0, TIDE_TYPE_BIGINT}};
    static const uint32_t vcol = 1, hkey = 2;
    tide_node_groupagg_cfg ga = {.in = g.ps, .value_cols = &vcol, .n_values = 1, .aggs = gcalls, .n_aggs = 2};
    tide_schema *gs = NULL;
    TT_OK(tide_node_groupagg_schema(&ga, 0, &gs, &e));
    TT_ASSERT_EQ_INT(tide_schema_ncols(gs), 2);
    tide_node_calc_cfg cc = {.in = g.s, .out = g.ps, .n_exprs = 2, .build = gproj, .build_ctx = &g};
    fr_sink o[3];
    memset(o, 0, sizeof o);
    for (int k = 0; k < 3 && !tt_failed_now; k++) {
        src sc = {&in, 0};
        tide_node_scan_cfg scan;
        tide_node_scan_cfg_init(&scan);
        scan.kind = TIDE_NODE_SCAN_CALLBACK;
        scan.schema = g.s;
        scan.partitions = 2;
        scan.next = src_next;
        scan.ctx = &sc;
        scan.wm_bound = B_MS;
        scan.batch_rows = 128;
        fr_sink_init(&o[k], 2, in.n * 2 + 16);
        tide_flow *f = NULL;
        tide_flow_cfg fc = {.batch_rows = 64, .chan_capacity = 4};
        int id_s, id_c, id_g, id_k;
        TT_OK(tide_flow_create(&f, &fc, &e));
        tide_flow_node n = fr_node("scan", &tide_node_scan_vt, tide_node_scan_make, &scan, 1, g.s, 0);
        TT_OK(tide_flow_add(f, &n, &id_s, &e));
        n = fr_node("calc", &tide_node_calc_vt, tide_node_calc_make, &cc, Ps[k], g.ps, 0);
        TT_OK(tide_flow_add(f, &n, &id_c, &e));
        n = fr_node("groupagg", &tide_node_groupagg_vt, tide_node_groupagg_make, &ga, 1, gs, TIDE_CBATCH_OPS);
        TT_OK(tide_flow_add(f, &n, &id_g, &e));
        TT_OK(fr_add_sink(f, "collect", &o[k], gs, &id_k, &e));
        TT_OK(tide_flow_connect(f, id_s, 0, id_c, Ps[k] == 1 ? TIDE_FLOW_FORWARD : TIDE_FLOW_HASH, &hkey, 1, &e));
        TT_OK(tide_flow_connect(f, id_c, 0, id_g, Ps[k] == 1 ? TIDE_FLOW_FORWARD : TIDE_FLOW_GATHER, NULL, 0, &e));
        TT_OK(tide_flow_connect(f, id_g, 0, id_k, TIDE_FLOW_FORWARD, NULL, 0, &e));
        int rc = tide_flow_run(f, &e);
        tide_flow_free(f);
        TT_ASSERT_MSG(rc == 0, "P=%u: %s", Ps[k], e.msg);
        /* one change per step, each retracting the row before */
        size_t n_rows = atomic_load(&o[k].n), changes = 0;
        int64_t cnt = 0, sum = 0, last_step = -1;
        for (size_t i = 0; i < n_rows; i++) {
            const int64_t *r = fr_row(&o[k], i), *v = r + FR_HDR;
            bool ok;
            if (i == 0) {
                ok = r[1] == TIDE_OP_INSERT;
            } else if (r[1] == TIDE_OP_UPDATE_BEFORE) {
                ok = v[0] == cnt && v[1] == sum && i + 1 < n_rows && fr_row(&o[k], i + 1)[1] == TIDE_OP_UPDATE_AFTER &&
                     r[0] == fr_row(&o[k], i + 1)[0];
            } else {
                ok = r[1] == TIDE_OP_UPDATE_AFTER;
            }
            TT_ASSERT_MSG(ok, "P=%u row %zu op %lld", Ps[k], i, (long long)r[1]);
            if (r[1] != TIDE_OP_UPDATE_BEFORE) {
                TT_ASSERT_MSG(r[0] > last_step, "P=%u: two changes in one step", Ps[k]);
                last_step = r[0];
                cnt = v[0];
                sum = v[1];
                changes++;
            }
        }
        TT_ASSERT_EQ_INT(cnt, (int64_t)in.n);
        TT_ASSERT_EQ_INT(sum, total);
        TT_ASSERT(changes > 10);
        if (k > 0)
            TT_ASSERT_MSG(fr_same(&o[0], &o[k], 0), "P=%u differs from P=1", Ps[k]);
    }
    for (int k = 0; k < 3; k++)
        fr_sink_free(&o[k]);
    tide_schema_free(gs);
    tide_schema_free(g.s);
    tide_schema_free(g.ps);
    input_free(&in);
}

/* ---- DOUBLE keys: -0.0 = 0.0, every NaN one key ---- */

enum { DK_NULL, DK_NINF, DK_ZERO, DK_HALF, DK_NAN, DK_N };

static double dk_bits(uint64_t u)
{
    double x;
    memcpy(&x, &u, 8);
    return x;
}

/* Record i's key: the bit patterns cycle, so -0.0 / 0.0 and several NaNs
 * (quiet, negative, signalling, with a payload) arrive interleaved. */
static bool dk_value(size_t i, double *x, int *cls)
{
    switch (i % 9) {
    case 0: *x = 0.0; *cls = DK_ZERO; return true;
    case 1: *x = -0.0; *cls = DK_ZERO; return true;
    case 2: *x = dk_bits(0x7ff8000000000000ull); *cls = DK_NAN; return true;
    case 3: *x = dk_bits(0xfff8000000000000ull); *cls = DK_NAN; return true;
    case 4: *x = dk_bits(0x7ff0000000000001ull); *cls = DK_NAN; return true;
    case 5: *x = dk_bits(0xfff8dead00000000ull); *cls = DK_NAN; return true;
    case 6: *x = 0.5; *cls = DK_HALF; return true;
    case 7: *x = -1.0 / 0.0; *cls = DK_NINF; return true;
    default: *x = 0; *cls = DK_NULL; return false;
    }
}

#define DK_RECS 4500

static int dk_next(void *ctx, tide_cbatch *b, uint32_t *part, tide_err *e)
{
    (void)e;
    size_t *next = ctx;
    if (*next >= DK_RECS)
        return TIDE_SRC_END;
    for (size_t n = 0; n < 100 && *next < DK_RECS; n++, ++*next) {
        uint32_t row = 0;
        double x;
        int cls;
        tide_cbatch_add_row(b, &row);
        tide_cbatch_set_i64(b, 0, row, 1704067200000LL + (int64_t)*next * 10);
        if (dk_value(*next, &x, &cls))
            tide_cbatch_set_f64(b, 1, row, x);
    }
    *part = 0;
    return TIDE_SRC_READY;
}

/* The changelog applied per key class: each class one live row with the
 * class's record count, one key value per class (bits) whatever P. */
typedef struct dk_out {
    int64_t count[DK_N], bits[DK_N];
    bool live[DK_N], seen[DK_N];
    int bad;
} dk_out;

static void dk_apply(dk_out *o, const fr_sink *k, uint32_t kcol, uint32_t ncol)
{
    for (size_t i = 0; i < atomic_load(&k->n); i++) {
        const int64_t *r = fr_row(k, i), *v = r + FR_HDR;
        int64_t bits = v[kcol];
        double x = dk_bits((uint64_t)bits);
        int cls = bits == FR_NULL ? DK_NULL : isnan(x) ? DK_NAN : x == 0 ? DK_ZERO : x == 0.5 ? DK_HALF
                                                   : x == -1.0 / 0.0 ? DK_NINF
                                                                     : -1;
        if (cls < 0 || (cls == DK_ZERO && signbit(x))) { /* decoded as 0.0 */
            o->bad++;
            continue;
        }
        if (o->seen[cls] && o->bits[cls] != bits)
            o->bad++;
        o->seen[cls] = true;
        o->bits[cls] = bits;
        bool add = r[1] == TIDE_OP_INSERT || r[1] == TIDE_OP_UPDATE_AFTER;
        if (add == o->live[cls]) /* +I/+U of a live row, -U/-D of a missing one */
            o->bad++;
        o->live[cls] = add;
        o->count[cls] = add ? v[ncol] : 0;
    }
}

static void test_double_keys(void)
{
    int64_t want[DK_N] = {0};
    for (size_t i = 0; i < DK_RECS; i++) {
        double x;
        int cls;
        dk_value(i, &x, &cls);
        want[cls]++;
    }
    tide_err e = {0};
    tide_schema *s = NULL;
    TT_OK(tide_schema_create(&s, &e));
    TT_OK(tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, true, &e));
    TT_OK(tide_schema_add(s, "x", TIDE_TYPE_DOUBLE, true, &e));
    TT_OK(tide_schema_set_time_column(s, 0, &e));
    static const uint32_t key = 1;
    static const tide_groupagg_call gcount = {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};
    static const tide_winagg_call wcount = {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};
    tide_node_groupagg_cfg ga = {.in = s, .key_cols = &key, .n_keys = 1, .aggs = &gcount, .n_aggs = 1};
    tide_node_winagg_cfg wa = {.in = s, .key_cols = &key, .n_keys = 1, .time_col = 0, .aggs = &wcount, .n_aggs = 1,
                               .window = tide_win_tumble(86400000), .mode = TIDE_TRIG_ACCUMULATING};
    tide_schema *gs = NULL, *ws = NULL, *wl = NULL;
    TT_OK(tide_node_groupagg_schema(&ga, 0, &gs, &e));
    TT_OK(tide_node_winagg_schema(&wa, 0, &ws, &e));
    TT_OK(tide_node_winagg_schema(&wa, 1, &wl, &e));
    static const uint32_t gsort[1] = {0}, wsort[3] = {2, 1, 0};
    dk_out o[2][3];
    memset(o, 0, sizeof o);
    for (int keyed = 0; keyed < 2 && !tt_failed_now; keyed++)
        for (int k = 0; k < 3 && !tt_failed_now; k++) {
            size_t next = 0;
            tide_node_scan_cfg scan;
            tide_node_scan_cfg_init(&scan);
            scan.kind = TIDE_NODE_SCAN_CALLBACK;
            scan.schema = s;
            scan.next = dk_next;
            scan.ctx = &next;
            scan.wm_bound = B_MS;
            scan.batch_rows = 128;
            const tide_schema *os = keyed ? gs : ws;
            tide_node_order_cfg oc = {.schema = os, .flags = TIDE_CBATCH_OPS, .sort_cols = keyed ? gsort : wsort,
                                      .n_sort = keyed ? 1 : 3};
            fr_sink out;
            fr_sink_init(&out, (uint32_t)tide_schema_ncols(os), 2 * DK_RECS);
            tide_flow *f = NULL;
            tide_flow_cfg fc = {.batch_rows = 64, .chan_capacity = 4};
            int id_s, id_a, id_o, id_k;
            TT_OK(tide_flow_create(&f, &fc, &e));
            tide_flow_node n = fr_node("scan", &tide_node_scan_vt, tide_node_scan_make, &scan, 1, s, 0);
            TT_OK(tide_flow_add(f, &n, &id_s, &e));
            if (keyed) {
                n = fr_node("groupagg", &tide_node_groupagg_vt, tide_node_groupagg_make, &ga, Ps[k], gs,
                            TIDE_CBATCH_OPS);
            } else {
                n = fr_node("winagg", &tide_node_winagg_vt, tide_node_winagg_make, &wa, Ps[k], ws, TIDE_CBATCH_OPS);
                n.n_out = 2;
                n.out_schema[1] = wl;
            }
            TT_OK(tide_flow_add(f, &n, &id_a, &e));
            n = fr_node("order", &tide_node_order_vt, tide_node_order_make, &oc, 1, os, TIDE_CBATCH_OPS);
            TT_OK(tide_flow_add(f, &n, &id_o, &e));
            TT_OK(fr_add_sink(f, "collect", &out, os, &id_k, &e));
            TT_OK(tide_flow_connect(f, id_s, 0, id_a, Ps[k] == 1 ? TIDE_FLOW_FORWARD : TIDE_FLOW_HASH, &key, 1, &e));
            TT_OK(tide_flow_connect(f, id_a, 0, id_o, TIDE_FLOW_GATHER, NULL, 0, &e));
            TT_OK(tide_flow_connect(f, id_o, 0, id_k, TIDE_FLOW_FORWARD, NULL, 0, &e));
            int rc = tide_flow_run(f, &e);
            tide_flow_free(f);
            TT_ASSERT_MSG(rc == 0, "%s", e.msg);
            dk_apply(&o[keyed][k], &out, 0, keyed ? 1 : 4);
            fr_sink_free(&out);
        }
    for (int keyed = 0; keyed < 2 && !tt_failed_now; keyed++)
        for (int k = 0; k < 3; k++) {
            const dk_out *r = &o[keyed][k];
            TT_ASSERT_EQ_INT(r->bad, 0);
            for (int c = 0; c < DK_N; c++) {
                TT_ASSERT_MSG(r->live[c] && r->count[c] == want[c], "%s P=%u class %d: %lld rows, want one group of %lld",
                              keyed ? "groupagg" : "winagg", Ps[k], c, (long long)r->count[c], (long long)want[c]);
                TT_ASSERT(r->bits[c] == o[0][0].bits[c]);
            }
        }
    tide_schema_free(s);
    tide_schema_free(gs);
    tide_schema_free(ws);
    tide_schema_free(wl);
}

int main(void)
{
    TT_RUN(test_prefixes_and_parallelism);
    TT_RUN(test_partitions);
    TT_RUN(test_file_sink);
    TT_RUN(test_global_group);
    TT_RUN(test_double_keys);
    TT_DONE();
}
