/*
 * test_pipe_groupagg.c - the pipeline with unwindowed GROUP BY instances
 * (cfg.keyed = TIDE_PIPE_GROUPAGG), against brute-force computations over
 * the same random records.
 *
 * Records: (ts, k STRING or NULL, u BIGINT, v BIGINT or NULL), event times
 * mostly rising with some records up to 3 s behind; delivered by a callback
 * source in batches of random sizes.  Aggregates: COUNT(*),
 * COUNT(DISTINCT u), SUM(v), MIN(v).
 *
 * Checked:
 *   - P = 1, 2, 4 give identical output sequences (op, key, values, tag);
 *   - the changelog is well formed: per tag at most one change per key
 *     (+I for a new key, or -U immediately followed by +U), keys ascending
 *     by key bytes inside a tag, -U equal to the row the key last had;
 *   - applying the changes of every tag <= w to a map gives the GROUP BY
 *     over a prefix of the input whose watermark (max ts - B, one
 *     partition) is w: the records before that watermark step;
 *   - at the end (tag +infinity) the map is the GROUP BY over all records;
 *   - summing COUNT(*) over +I/+U minus -U/-D gives the record count;
 *   - several partitions: P runs identical, the final map right;
 *   - the connect sink gets rows without window columns;
 *   - no key: one global group, one change per step, P runs identical;
 *   - a DOUBLE key: -0.0 and 0.0 one group, every NaN one group (also
 *     through winagg), whatever P.
 */
#include "job/pipeline.h"

#include "tt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS 23
#define NUSERS 60
#define B_MS 1000
#define NA 4

/* ---- records ---- */

typedef struct rec {
    int64_t ts;
    int k; /* -1: NULL */
    int64_t u;
    int64_t v;
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
        /* skewed: low keys more frequent */
        if (r->k > 0 && (x >> 32) % 3 == 0)
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
    (void)e;
    if (s->next >= s->in->nb)
        return TIDE_PIPE_END;
    tide_cbatch_reset(b);
    uint32_t from = s->next ? s->in->batch_end[s->next - 1] : 0, to = s->in->batch_end[s->next];
    for (uint32_t i = from; i < to; i++) {
        const rec *r = &s->in->r[i];
        uint32_t row = 0;
        char ks[16];
        tide_cbatch_add_row(b, &row);
        tide_cbatch_set_i64(b, 0, row, r->ts);
        if (r->k >= 0) {
            int l = snprintf(ks, sizeof ks, "key%d", r->k);
            if (tide_cbatch_set_str(b, 1, row, ks, (size_t)l, e) != 0)
                return TIDE_ENOMEM;
        }
        tide_cbatch_set_i64(b, 2, row, r->u);
        if (!r->v_null)
            tide_cbatch_set_i64(b, 3, row, r->v);
    }
    *part = s->in->batch_part[s->next++];
    return TIDE_PIPE_READY;
}

/* ---- groups (brute force) and output rows ---- */

typedef struct grp {
    bool live;
    int64_t count;
    uint64_t users; /* bit set of u (< 64) */
    int64_t sum, min;
    bool have_v;
} grp;

/* A result row as plain values: vals[0] COUNT(*), [1] COUNT(DISTINCT u),
 * [2] SUM(v), [3] MIN(v); nulls[i] for SUM/MIN without a value. */
typedef struct orow {
    int op;
    int k; /* -1: NULL key */
    int64_t vals[NA];
    bool nulls[NA];
    int64_t wm;
    uint8_t kb[16];
    uint32_t kl;
} orow;

typedef struct outv {
    orow *v;
    size_t n, cap;
    int bad; /* a row the collector could not read */
} outv;

static int on_result(void *ctx, const tide_pipe_result *res)
{
    outv *o = ctx;
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 1024;
        orow *nv = realloc(o->v, o->cap * sizeof *nv);
        if (!nv)
            return TIDE_ENOMEM;
        o->v = nv;
    }
    orow *r = &o->v[o->n++];
    memset(r, 0, sizeof *r);
    r->op = (int)res->op;
    r->wm = res->wm;
    if (res->n_keys != 1 || res->n_vals != NA || res->start != TIDE_TS_MIN ||
        res->end != TIDE_TS_MAX || res->key_len > sizeof r->kb) {
        o->bad++;
        return 0;
    }
    memcpy(r->kb, res->key_bytes, res->key_len);
    r->kl = res->key_len;
    if (res->keys[0].is_null) {
        r->k = -1;
    } else {
        char ks[16] = {0};
        size_t l = res->keys[0].u.s.len < 15 ? res->keys[0].u.s.len : 15;
        memcpy(ks, res->keys[0].u.s.ptr, l);
        if (sscanf(ks, "key%d", &r->k) != 1)
            o->bad++;
    }
    for (int i = 0; i < NA; i++) {
        r->nulls[i] = res->vals[i].is_null;
        r->vals[i] = res->vals[i].is_null ? 0 : res->vals[i].u.i64;
    }
    return 0;
}

static tide_schema *rec_schema(void)
{
    tide_schema *s = NULL;
    tide_err e = {0};
    tide_schema_create(&s, &e);
    tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, true, &e);
    tide_schema_add(s, "k", TIDE_TYPE_STRING, true, &e);
    tide_schema_add(s, "u", TIDE_TYPE_BIGINT, true, &e);
    tide_schema_add(s, "v", TIDE_TYPE_BIGINT, true, &e);
    tide_schema_set_time_column(s, 0, &e);
    return s;
}

static const tide_winagg_call calls[NA] = {
    {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL},
    {TIDE_AGG_COUNT_DISTINCT, 0, TIDE_TYPE_BIGINT},
    {TIDE_AGG_SUM, 1, TIDE_TYPE_BIGINT},
    {TIDE_AGG_MIN, 1, TIDE_TYPE_BIGINT},
};

/* Run the job; 0 or the error. */
static int run(const input *in, uint32_t parts, uint32_t P, outv *o, const tide_sink_config *sink,
               tide_pipe_counts *counts)
{
    tide_schema *s = rec_schema();
    src sc = {in, 0};
    tide_pipe_config cfg;
    tide_pipe_config_init(&cfg);
    cfg.source.kind = TIDE_PIPE_SRC_CALLBACK;
    cfg.source.schema = s;
    cfg.source.partitions = parts;
    cfg.source.next = src_next;
    cfg.source.ctx = &sc;
    cfg.wm_bound = B_MS;
    cfg.keyed = TIDE_PIPE_GROUPAGG;
    static const uint32_t key = 1, vcols[2] = {2, 3};
    static const char *const names[NA] = {"n", "u", "s", "m"};
    cfg.aggs = calls;
    cfg.n_aggs = NA;
    cfg.key_cols = &key;
    cfg.n_key_cols = 1;
    cfg.value_cols = vcols;
    cfg.n_value_cols = 2;
    cfg.agg_names = names;
    cfg.parallelism = P;
    cfg.batch_rows = 256;
    cfg.sink = sink;
    cfg.on_result = on_result;
    cfg.out_ctx = o;
    tide_pipe *p = NULL;
    tide_err e = {0};
    memset(o, 0, sizeof *o);
    int rc = tide_pipe_create(&p, &cfg, &e);
    if (rc == 0 && sink) {
        /* the sink's rows: op, k, n, u, s, m (no window columns) */
        const tide_schema *rs = tide_pipe_result_schema(p);
        static const char *const want[] = {"k", "n", "u", "s", "m"};
        bool same = tide_schema_ncols(rs) == 5;
        for (size_t i = 0; same && i < 5; i++)
            same = strcmp(tide_schema_col(rs, i)->name, want[i]) == 0;
        if (!same) {
            fprintf(stderr, "result schema: %zu columns\n", tide_schema_ncols(rs));
            rc = TIDE_EINVAL;
        }
    }
    if (rc == 0)
        rc = tide_pipe_run(p, &e);
    if (rc)
        fprintf(stderr, "pipeline: %s\n", e.msg);
    if (p && counts)
        tide_pipe_counts_get(p, counts);
    tide_pipe_free(p);
    tide_schema_free(s);
    return rc;
}

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

/* Does the applied map row equal the brute-force group? */
static bool grp_eq(const grp *g, const orow *m, bool m_live)
{
    if (g->live != m_live)
        return false;
    if (!g->live)
        return true;
    if (m->vals[0] != g->count || m->vals[1] != __builtin_popcountll(g->users))
        return false;
    if (m->nulls[2] != !g->have_v || m->nulls[3] != !g->have_v)
        return false;
    return !g->have_v || (m->vals[2] == g->sum && m->vals[3] == g->min);
}

static int row_cmp(const orow *a, const orow *b)
{
    if (a->op != b->op || a->k != b->k || a->wm != b->wm)
        return 1;
    for (int i = 0; i < NA; i++)
        if (a->nulls[i] != b->nulls[i] || a->vals[i] != b->vals[i])
            return 1;
    return 0;
}

static int kb_cmp(const orow *a, const orow *b)
{
    uint32_t l = a->kl < b->kl ? a->kl : b->kl;
    int c = memcmp(a->kb, b->kb, l);
    return c ? c : (a->kl < b->kl ? -1 : a->kl > b->kl);
}

#define KIX(k) ((k) + 1) /* map index: 0 is the NULL key */

/* Check the changelog `o` against the input.  prefix: also check each tag
 * against the prefix of the input before that watermark step (one
 * partition).  Returns the number of failures (printed). */
static int check_changelog(const input *in, const outv *o, bool prefix, uint64_t seed)
{
    orow map[NKEYS + 1];
    bool live[NKEYS + 1];
    grp brute[NKEYS + 1];
    memset(map, 0, sizeof map);
    memset(live, 0, sizeof live);
    memset(brute, 0, sizeof brute);
    int fails = 0;
    size_t k = 0;              /* records in `brute` */
    int64_t maxts = INT64_MIN; /* over records [0, k) */
    int64_t count_sum = 0;
    size_t i = 0, tags = 0;
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        if (fails++ < 5) {                                                                         \
            fprintf(stderr, "  seed %llu: ", (unsigned long long)seed);                            \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
        }                                                                                          \
    } while (0)
    if (o->bad)
        FAIL("%d unreadable rows", o->bad);
    while (i < o->n) {
        int64_t w = o->v[i].wm;
        size_t j = i;
        if (tags > 0 && w <= o->v[i - 1].wm)
            FAIL("tag %lld after %lld", (long long)w, (long long)o->v[i - 1].wm);
        tags++;
        /* apply this tag's rows */
        const orow *prev_key = NULL;
        for (; j < o->n && o->v[j].wm == w; j++) {
            const orow *r = &o->v[j];
            int x = KIX(r->k);
            int sign = r->op == TIDE_OP_INSERT || r->op == TIDE_OP_UPDATE_AFTER ? 1 : -1;
            count_sum += sign * r->vals[0];
            if (r->op == TIDE_OP_UPDATE_AFTER) {
                /* paired with the -U just before it */
                if (j == i || o->v[j - 1].op != TIDE_OP_UPDATE_BEFORE || o->v[j - 1].k != r->k)
                    FAIL("row %zu: +U without its -U", j);
            } else {
                if (prev_key && kb_cmp(prev_key, r) >= 0)
                    FAIL("row %zu: key not after the previous key of tag %lld", j, (long long)w);
                prev_key = r;
            }
            switch (r->op) {
            case TIDE_OP_INSERT:
                if (live[x])
                    FAIL("row %zu: +I of a live key %d", j, r->k);
                map[x] = *r;
                live[x] = true;
                break;
            case TIDE_OP_UPDATE_BEFORE:
                if (!live[x] || memcmp(map[x].vals, r->vals, sizeof r->vals) != 0 ||
                    memcmp(map[x].nulls, r->nulls, sizeof r->nulls) != 0)
                    FAIL("row %zu: -U does not retract key %d's row", j, r->k);
                if (j + 1 >= o->n || o->v[j + 1].op != TIDE_OP_UPDATE_AFTER)
                    FAIL("row %zu: -U without its +U", j);
                live[x] = false;
                break;
            case TIDE_OP_UPDATE_AFTER:
                map[x] = *r;
                live[x] = true;
                break;
            default:
                FAIL("row %zu: op %d (no key can lose its rows)", j, r->op);
                live[x] = false;
                break;
            }
        }
        /* the input prefix: tag w is the watermark after it */
        if (prefix && w != TIDE_TS_MAX) {
            bool found = false;
            for (;;) {
                int64_t wk = k == 0 ? TIDE_TS_MIN : maxts - B_MS;
                if (wk == w) {
                    bool eq = true;
                    for (int g = 0; g <= NKEYS && eq; g++)
                        eq = grp_eq(&brute[g], &map[g], live[g]);
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
                FAIL("tag %lld: the applied changelog is no GROUP BY of an input prefix with that "
                     "watermark",
                     (long long)w);
        }
        i = j;
    }
    /* the end: the GROUP BY over all records */
    for (; k < in->n; k++)
        grp_add(&brute[KIX(in->r[k].k)], &in->r[k]);
    for (int g = 0; g <= NKEYS; g++)
        if (!grp_eq(&brute[g], &map[g], live[g]))
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
    for (uint64_t seed = 1; seed <= 4; seed++) {
        input in = {0};
        make_input(&in, seed * 7919, 20000, 1, seed == 1 ? 256 : 37 * (uint32_t)seed);
        outv o[3] = {{0}};
        uint32_t Ps[3] = {1, 2, 4};
        int rc = 0;
        for (int r = 0; r < 3 && !rc; r++)
            rc = run(&in, 1, Ps[r], &o[r], NULL, NULL);
        int fails = rc ? 1 : check_changelog(&in, &o[0], true, seed);
        bool same = !rc;
        for (int r = 1; r < 3 && same; r++) {
            same = o[r].n == o[0].n;
            for (size_t j = 0; same && j < o[0].n; j++)
                same = row_cmp(&o[0].v[j], &o[r].v[j]) == 0;
        }
        size_t n0 = o[0].n;
        for (int r = 0; r < 3; r++)
            free(o[r].v);
        input_free(&in);
        if (fails || !same)
            TT_SEED(seed);
        TT_ASSERT_EQ_INT(rc, 0);
        TT_ASSERT_EQ_INT(fails, 0);
        TT_ASSERT_MSG(same, "P = 1, 2, 4 differ");
        TT_ASSERT(n0 > NKEYS);
    }
}

static void test_partitions(void)
{
    for (uint64_t seed = 11; seed <= 12; seed++) {
        input in = {0};
        make_input(&in, seed, 15000, 3, 200);
        outv o[3] = {{0}};
        uint32_t Ps[3] = {1, 2, 4};
        int rc = 0;
        for (int r = 0; r < 3 && !rc; r++)
            rc = run(&in, 3, Ps[r], &o[r], NULL, NULL);
        int fails = rc ? 1 : check_changelog(&in, &o[0], false, seed);
        bool same = !rc;
        for (int r = 1; r < 3 && same; r++) {
            same = o[r].n == o[0].n;
            for (size_t j = 0; same && j < o[0].n; j++)
                same = row_cmp(&o[0].v[j], &o[r].v[j]) == 0;
        }
        for (int r = 0; r < 3; r++)
            free(o[r].v);
        input_free(&in);
        if (fails || !same)
            TT_SEED(seed);
        TT_ASSERT_EQ_INT(rc, 0);
        TT_ASSERT_EQ_INT(fails, 0);
        TT_ASSERT_MSG(same, "P = 1, 2, 4 differ");
    }
}

/* The connect sink: a CSV file with the op, the key and the aggregates, one
 * line per result row, in the callbacks' order. */
static void test_file_sink(void)
{
    const char *dir = tt_tmpdir("test_pipe_groupagg");
    TT_ASSERT(dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    tide_sink_config sk;
    tide_sink_config_init(&sk);
    sk.kind = TIDE_SINK_FILE;
    sk.path = path;
    sk.header = true;
    input in = {0};
    make_input(&in, 99, 3000, 1, 100);
    outv o = {0};
    tide_pipe_counts c = {0};
    int rc = run(&in, 1, 2, &o, &sk, &c);
    input_free(&in);
    char want[4096] = {0};
    size_t at = 0;
    bool match = rc == 0;
    FILE *f = rc == 0 ? fopen(path, "r") : NULL;
    char line[512];
    size_t lines = 0;
    if (f && fgets(line, sizeof line, f)) {
        snprintf(want, sizeof want, "%s", line);
        while (fgets(line, sizeof line, f) && match) {
            const orow *r = lines < o.n ? &o.v[lines] : NULL;
            char exp[512], ks[16] = "";
            if (!r) {
                match = false;
                break;
            }
            if (r->k >= 0)
                snprintf(ks, sizeof ks, "key%d", r->k);
            at = (size_t)snprintf(exp, sizeof exp, "%s,%s,%lld,%lld,",
                                  tide_op_name((tide_op)r->op), ks, (long long)r->vals[0],
                                  (long long)r->vals[1]);
            if (!r->nulls[2])
                at += (size_t)snprintf(exp + at, sizeof exp - at, "%lld", (long long)r->vals[2]);
            at += (size_t)snprintf(exp + at, sizeof exp - at, ",");
            if (!r->nulls[3])
                at += (size_t)snprintf(exp + at, sizeof exp - at, "%lld", (long long)r->vals[3]);
            snprintf(exp + at, sizeof exp - at, "\n");
            if (strcmp(exp, line) != 0) {
                fprintf(stderr, "line %zu: %s want %s", lines + 2, line, exp);
                match = false;
            }
            lines++;
        }
    } else {
        match = false;
    }
    if (f)
        fclose(f);
    size_t n = o.n;
    free(o.v);
    TT_ASSERT_EQ_INT(rc, 0);
    TT_ASSERT_EQ_STR(want, "op,k,n,u,s,m\n");
    TT_ASSERT(match);
    TT_ASSERT_EQ_INT(lines, n);
    TT_ASSERT_EQ_INT(c.out, n);
    TT_ASSERT_EQ_INT(c.late, 0);
}

/* No GROUP BY key: one global group (empty key bytes), on one instance
 * whatever P; one change per watermark step. */
typedef struct gl {
    int64_t count, sum, wm;
    size_t rows, bad;
    int64_t tags[4096];
    size_t ntags;
} gl;

static int on_global(void *ctx, const tide_pipe_result *r)
{
    gl *g = ctx;
    g->rows++;
    if (r->n_keys != 0 || r->key_len != 0 || r->n_vals != 2)
        g->bad++;
    int sign = r->op == TIDE_OP_INSERT || r->op == TIDE_OP_UPDATE_AFTER ? 1 : -1;
    if (r->op == TIDE_OP_INSERT ? g->rows != 1 : r->op == TIDE_OP_DELETE)
        g->bad++;
    if (r->op == TIDE_OP_UPDATE_BEFORE &&
        (r->vals[0].u.i64 != g->count || r->vals[1].u.i64 != g->sum))
        g->bad++;
    /* the running value: after +I/+U the new row */
    if (sign > 0) {
        g->count = r->vals[0].u.i64;
        g->sum = r->vals[1].u.i64;
        if (g->ntags < 4096)
            g->tags[g->ntags++] = r->wm;
    }
    return 0;
}

static void test_global_group(void)
{
    input in = {0};
    make_input(&in, 5, 8000, 2, 120);
    int64_t total = 0;
    for (size_t i = 0; i < in.n; i++)
        total += in.r[i].v_null ? 0 : in.r[i].v;
    tide_schema *s = rec_schema();
    static const tide_winagg_call gcalls[2] = {{TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL},
                                               {TIDE_AGG_SUM, 0, TIDE_TYPE_BIGINT}};
    static const uint32_t vcol = 3;
    gl res[3];
    uint32_t Ps[3] = {1, 2, 4};
    int rc = 0;
    for (int k = 0; k < 3 && !rc; k++) {
        src sc = {&in, 0};
        tide_pipe_config cfg;
        tide_pipe_config_init(&cfg);
        cfg.source.kind = TIDE_PIPE_SRC_CALLBACK;
        cfg.source.schema = s;
        cfg.source.partitions = 2;
        cfg.source.next = src_next;
        cfg.source.ctx = &sc;
        cfg.wm_bound = B_MS;
        cfg.keyed = TIDE_PIPE_GROUPAGG;
        cfg.aggs = gcalls;
        cfg.n_aggs = 2;
        cfg.value_cols = &vcol;
        cfg.n_value_cols = 1;
        cfg.parallelism = Ps[k];
        cfg.batch_rows = 128;
        cfg.on_result = on_global;
        memset(&res[k], 0, sizeof res[k]);
        cfg.out_ctx = &res[k];
        tide_pipe *p = NULL;
        tide_err e = {0};
        if ((rc = tide_pipe_create(&p, &cfg, &e)) == 0)
            rc = tide_pipe_run(p, &e);
        if (rc)
            fprintf(stderr, "pipeline: %s\n", e.msg);
        tide_pipe_free(p);
    }
    tide_schema_free(s);
    input_free(&in);
    TT_ASSERT_EQ_INT(rc, 0);
    for (int k = 0; k < 3; k++) {
        TT_ASSERT_EQ_INT(res[k].bad, 0);
        TT_ASSERT_EQ_INT(res[k].count, 8000);
        TT_ASSERT_EQ_INT(res[k].sum, total);
        TT_ASSERT_EQ_INT(res[k].rows, res[0].rows);
        TT_ASSERT(res[k].ntags == res[0].ntags &&
                  memcmp(res[k].tags, res[0].tags, res[0].ntags * sizeof res[0].tags[0]) == 0);
        for (size_t i = 1; i < res[k].ntags; i++)
            TT_ASSERT(res[k].tags[i] > res[k].tags[i - 1]); /* one change per step */
    }
    TT_ASSERT(res[0].ntags > 10);
}

/* ---- DOUBLE keys: -0.0 = 0.0, every NaN one key ---- */

/* The key classes of the DOUBLE records below. */
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

typedef struct dk_src {
    size_t next;
} dk_src;

static int dk_next(void *ctx, tide_cbatch *b, uint32_t *part, tide_err *e)
{
    dk_src *s = ctx;
    (void)e;
    if (s->next >= DK_RECS)
        return TIDE_PIPE_END;
    tide_cbatch_reset(b);
    for (size_t n = 0; n < 100 && s->next < DK_RECS; n++, s->next++) {
        uint32_t row = 0;
        double x;
        int cls;
        tide_cbatch_add_row(b, &row);
        tide_cbatch_set_i64(b, 0, row, 1704067200000LL + (int64_t)s->next * 10);
        if (dk_value(s->next, &x, &cls))
            tide_cbatch_set_f64(b, 1, row, x);
    }
    *part = 0;
    return TIDE_PIPE_READY;
}

/* The applied changelog per key class; `groups` counts distinct key bytes. */
typedef struct dk_out {
    int64_t count[DK_N];
    bool live[DK_N];
    int bad;
    uint8_t kb[DK_N][16];
    uint32_t kl[DK_N];
    bool seen[DK_N];
} dk_out;

static int dk_result(void *ctx, const tide_pipe_result *r)
{
    dk_out *o = ctx;
    if (r->n_keys != 1 || r->n_vals != 1 || r->key_len > 16) {
        o->bad++;
        return 0;
    }
    const tide_value *k = &r->keys[0];
    int cls = k->is_null               ? DK_NULL
              : isnan(k->u.f64)        ? DK_NAN
              : k->u.f64 == 0          ? DK_ZERO
              : k->u.f64 == 0.5        ? DK_HALF
              : k->u.f64 == -1.0 / 0.0 ? DK_NINF
                                       : -1;
    if (cls < 0 || (cls == DK_ZERO && signbit(k->u.f64))) { /* decoded as 0.0 */
        o->bad++;
        return 0;
    }
    /* one key class, one key: the same bytes every time */
    if (o->seen[cls] && (o->kl[cls] != r->key_len || memcmp(o->kb[cls], r->key_bytes, r->key_len)))
        o->bad++;
    o->seen[cls] = true;
    o->kl[cls] = r->key_len;
    memcpy(o->kb[cls], r->key_bytes, r->key_len);
    bool add = r->op == TIDE_OP_INSERT || r->op == TIDE_OP_UPDATE_AFTER;
    if (add == o->live[cls]) /* +I/+U of a live row, -U/-D of a missing one */
        o->bad++;
    o->live[cls] = add;
    o->count[cls] = add ? r->vals[0].u.i64 : 0;
    return 0;
}

/* GROUP BY a DOUBLE column over 0.0 and -0.0 gives one group, and all NaNs
 * one group (the key codec's equality, the same as COUNT(DISTINCT)'s), for
 * the unwindowed and the windowed operator, P = 1, 2 and 4 (the exchange
 * routes -0.0 and 0.0 alike). */
static void test_double_keys(void)
{
    int64_t want[DK_N] = {0};
    for (size_t i = 0; i < DK_RECS; i++) {
        double x;
        int cls;
        dk_value(i, &x, &cls);
        want[cls]++;
    }
    tide_schema *s = NULL;
    tide_err e = {0};
    TT_OK(tide_schema_create(&s, &e));
    TT_OK(tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, true, &e));
    TT_OK(tide_schema_add(s, "x", TIDE_TYPE_DOUBLE, true, &e));
    TT_OK(tide_schema_set_time_column(s, 0, &e));
    static const tide_winagg_call count = {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};
    static const uint32_t key = 1;
    static const uint32_t Ps[3] = {1, 2, 4};
    int rc = 0;
    dk_out o[2][3];
    memset(o, 0, sizeof o);
    for (int keyed = 0; keyed < 2 && !rc; keyed++)
        for (int k = 0; k < 3 && !rc; k++) {
            dk_src sc = {0};
            tide_pipe_config cfg;
            tide_pipe_config_init(&cfg);
            cfg.source.kind = TIDE_PIPE_SRC_CALLBACK;
            cfg.source.schema = s;
            cfg.source.partitions = 1;
            cfg.source.next = dk_next;
            cfg.source.ctx = &sc;
            cfg.wm_bound = B_MS;
            cfg.keyed = keyed ? TIDE_PIPE_GROUPAGG : TIDE_PIPE_WINAGG;
            cfg.window = tide_win_tumble(86400000);
            cfg.aggs = &count;
            cfg.n_aggs = 1;
            cfg.key_cols = &key;
            cfg.n_key_cols = 1;
            cfg.parallelism = Ps[k];
            cfg.batch_rows = 128;
            cfg.on_result = dk_result;
            cfg.out_ctx = &o[keyed][k];
            tide_pipe *p = NULL;
            if ((rc = tide_pipe_create(&p, &cfg, &e)) == 0)
                rc = tide_pipe_run(p, &e);
            if (rc)
                fprintf(stderr, "pipeline: %s\n", e.msg);
            tide_pipe_free(p);
        }
    tide_schema_free(s);
    TT_ASSERT_EQ_INT(rc, 0);
    for (int keyed = 0; keyed < 2; keyed++)
        for (int k = 0; k < 3; k++) {
            const dk_out *r = &o[keyed][k];
            TT_ASSERT_EQ_INT(r->bad, 0);
            for (int c = 0; c < DK_N; c++) {
                TT_ASSERT_MSG(r->live[c] && r->count[c] == want[c],
                              "%s P=%u class %d: %lld rows, want one group of %lld",
                              keyed ? "groupagg" : "winagg", Ps[k], c, (long long)r->count[c],
                              (long long)want[c]);
                TT_ASSERT(r->kl[c] == o[0][0].kl[c] &&
                          memcmp(r->kb[c], o[0][0].kb[c], r->kl[c]) == 0);
            }
        }
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
