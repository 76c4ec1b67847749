/*
 * test_pipeline.c - the event-time job end to end on threads, against
 * brute-force computations from the same generated events.
 *
 * Every test generates its events once into arrays with the logins
 * generator (the pipeline's generator source, fed the same configuration,
 * delivers the same events in the same order), computes the expected
 * results by scanning those arrays, runs the pipeline with P = 1, 2 and 4,
 * and compares sequences exactly (so the P runs are also identical to each
 * other, order included).  The expected order is the documented one:
 * (window_end, window_start, key), key BIGINT numerically, STRING by
 * (length, bytes).
 */
#include "job/pipeline.h"

#include "exec/expr.h"

#include "tt.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <stdatomic.h>

#define HOUR 3600000LL
#define MIN 60000LL
#define T0 1704067200000LL /* 2024-01-01 00:00 UTC */

/* ---- events ---- */

typedef struct events {
    int64_t *ts, *user;
    uint8_t *country, *device;
    size_t n;
} events;

static void events_free(events *ev)
{
    free(ev->ts);
    free(ev->user);
    free(ev->country);
    free(ev->device);
    memset(ev, 0, sizeof *ev);
}

static int gen_all(const tide_gen_logins_cfg *cfg, events *ev)
{
    tide_gen_logins *g = NULL;
    tide_err e = {0};
    int rc = tide_gen_logins_create(&g, cfg, &e);
    if (rc)
        return rc;
    size_t cap = (size_t)cfg->events + 1;
    ev->ts = malloc(cap * 8);
    ev->user = malloc(cap * 8);
    ev->country = malloc(cap);
    ev->device = malloc(cap);
    ev->n = 0;
    while (!tide_gen_logins_done(g)) {
        tide_gen_logins_cols c = {ev->ts + ev->n, ev->user + ev->n, ev->country + ev->n,
                                  ev->device + ev->n, cap - ev->n};
        size_t n = 0;
        if ((rc = tide_gen_logins_next(g, &c, 4096, 0, &n, &e)) != 0)
            break;
        ev->n += n;
    }
    tide_gen_logins_free(g);
    return rc;
}

static void base_gen(tide_gen_logins_cfg *g, uint64_t events, uint64_t users, int64_t span)
{
    tide_gen_logins_cfg_default(g);
    g->seed = 42;
    g->events = events;
    g->users = users;
    g->start_ms = T0;
    g->end_ms = T0 + span;
    g->late_share = 0.05;
    g->max_delay_ms = 5000;
}

/* ---- rows: expected and collected ---- */

typedef struct row {
    int op; /* tide_op */
    int64_t start, end;
    int64_t ki;  /* BIGINT key */
    char ks[16]; /* STRING key */
    int64_t val;
    int64_t wm;
} row;

typedef struct rows {
    row *v;
    size_t n, cap;
    size_t late;
    row *lv; /* late records: start = ts, ki = user */
    size_t ln, lcap;
    int string_key;
} rows;

static void rows_push(row **v, size_t *n, size_t *cap, const row *r)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        *v = realloc(*v, *cap * sizeof **v);
    }
    (*v)[(*n)++] = *r;
}

static void rows_free(rows *r)
{
    free(r->v);
    free(r->lv);
    memset(r, 0, sizeof *r);
}

static int on_result(void *ctx, const tide_pipe_result *res)
{
    rows *rs = ctx;
    row r = {0};
    r.op = (int)res->op;
    r.start = res->start;
    r.end = res->end;
    r.wm = res->wm;
    if (res->n_keys == 1) {
        if (res->keys[0].type == TIDE_TYPE_STRING) {
            uint32_t l = res->keys[0].u.s.len < 15 ? res->keys[0].u.s.len : 15;
            memcpy(r.ks, res->keys[0].u.s.ptr, l);
        } else {
            r.ki = res->keys[0].u.i64;
        }
    }
    r.val = res->vals[0].is_null ? -1 : res->vals[0].u.i64;
    rows_push(&rs->v, &rs->n, &rs->cap, &r);
    return 0;
}

static int on_late(void *ctx, const tide_pipe_late *l)
{
    rows *rs = ctx;
    row r = {0};
    r.start = l->ts;
    r.ki = l->n_keys == 1 ? l->keys[0].u.i64 : 0;
    r.wm = l->wm;
    rows_push(&rs->lv, &rs->ln, &rs->lcap, &r);
    return 0;
}

/* Documented order: (end, start, key); strings by (length, bytes). */
static int row_cmp(const void *pa, const void *pb)
{
    const row *a = pa, *b = pb;
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    size_t la = strlen(a->ks), lb = strlen(b->ks);
    if (la != lb)
        return la < lb ? -1 : 1;
    int c = strcmp(a->ks, b->ks);
    if (c)
        return c;
    if (a->ki != b->ki)
        return a->ki < b->ki ? -1 : 1;
    return 0;
}

/* Sort and merge equal (window, key) rows, summing val. */
static void group_rows(row *v, size_t *n)
{
    if (!*n)
        return;
    qsort(v, *n, sizeof *v, row_cmp);
    size_t o = 0;
    for (size_t i = 0; i < *n; i++) {
        if (o && row_cmp(&v[o - 1], &v[i]) == 0) {
            v[o - 1].val += v[i].val;
        } else {
            v[o++] = v[i];
        }
    }
    *n = o;
}

static int row_val_cmp(const void *pa, const void *pb)
{
    int c = row_cmp(pa, pb);
    if (c)
        return c;
    const row *a = pa, *b = pb;
    return a->val < b->val ? -1 : a->val > b->val;
}

static int row_seq_cmp(const void *pa, const void *pb)
{
    int c = row_cmp(pa, pb);
    if (c)
        return c;
    const row *a = pa, *b = pb;
    return a->wm < b->wm ? -1 : a->wm > b->wm;
}

/* ---- running the job ---- */

typedef struct job {
    tide_pipe_config cfg;
    tide_winagg_call agg;
    uint32_t key, value;
} job;

static void job_init(job *j, const tide_gen_logins_cfg *g)
{
    tide_pipe_config_init(&j->cfg);
    j->cfg.source.kind = TIDE_PIPE_SRC_GEN_LOGINS;
    j->cfg.source.gen = *g;
    j->cfg.wm_bound = 5000;
    j->agg = (tide_winagg_call){TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};
    j->cfg.aggs = &j->agg;
    j->cfg.n_aggs = 1;
    j->key = TIDE_PIPE_LOGINS_USER_ID;
    j->cfg.key_cols = &j->key;
    j->cfg.n_key_cols = 1;
    j->cfg.batch_rows = 512;
    j->cfg.chan_capacity = 4;
    j->cfg.on_result = on_result;
    j->cfg.on_late = on_late;
}

static int run_job(tide_pipe_config *cfg, uint32_t P, rows *out, tide_pipe_counts *counts)
{
    tide_pipe *p = NULL;
    tide_err e = {0};
    memset(out, 0, sizeof *out);
    cfg->parallelism = P;
    cfg->out_ctx = out;
    int rc = tide_pipe_create(&p, cfg, &e);
    if (rc == 0)
        rc = tide_pipe_run(p, &e);
    if (rc != 0)
        fprintf(stderr, "pipeline: %s\n", e.msg);
    if (p && counts)
        tide_pipe_counts_get(p, counts);
    tide_pipe_free(p);
    return rc;
}

/* Same (op, window, key, value) sequence. */
static int same_rows(const row *a, size_t na, const row *b, size_t nb, const char *what)
{
    if (na != nb) {
        fprintf(stderr, "%s: %zu rows, expected %zu\n", what, na, nb);
        return 0;
    }
    for (size_t i = 0; i < na; i++) {
        if (a[i].op != b[i].op || a[i].start != b[i].start || a[i].end != b[i].end ||
            a[i].ki != b[i].ki || strcmp(a[i].ks, b[i].ks) != 0 || a[i].val != b[i].val) {
            fprintf(stderr,
                    "%s: row %zu differs: got op %d [%lld,%lld) key %lld/%s val %lld, expected op "
                    "%d [%lld,%lld) "
                    "key %lld/%s val %lld\n",
                    what, i, a[i].op, (long long)a[i].start, (long long)a[i].end,
                    (long long)a[i].ki, a[i].ks, (long long)a[i].val, b[i].op,
                    (long long)b[i].start, (long long)b[i].end, (long long)b[i].ki, b[i].ks,
                    (long long)b[i].val);
            return 0;
        }
    }
    return 1;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* ---- tumbling COUNT(*) per user per hour ---- */

static void test_tumble_count_per_user(void)
{
    tide_gen_logins_cfg g;
    base_gen(&g, 200000, 3000, 6 * HOUR);
    events ev = {0};
    TT_OK(gen_all(&g, &ev));
    TT_ASSERT_EQ_INT(ev.n, g.events);

    /* brute force: B = max delay + 1, so nothing is late (a record delayed
     * by exactly B could arrive with ts == W and miss the window ending at
     * ts + 1, which fires at W = ts) */
    row *exp = calloc(ev.n, sizeof *exp);
    for (size_t i = 0; i < ev.n; i++) {
        int64_t s = floor_div(ev.ts[i], HOUR) * HOUR;
        exp[i] = (row){
            .op = TIDE_OP_INSERT, .start = s, .end = s + HOUR, .ki = ev.user[i], .val = 1};
    }
    size_t ne = ev.n;
    group_rows(exp, &ne);

    job j;
    job_init(&j, &g);
    j.cfg.window = tide_win_tumble(HOUR);
    j.cfg.wm_bound = g.max_delay_ms + 1; /* delays < B: none late */
    static const uint32_t ps[] = {1, 2, 4};
    for (size_t k = 0; k < 3; k++) {
        rows got;
        tide_pipe_counts c;
        TT_OK(run_job(&j.cfg, ps[k], &got, &c));
        int ok = same_rows(got.v, got.n, exp, ne, "tumble");
        TT_ASSERT_EQ_INT(c.in, ev.n);
        TT_ASSERT_EQ_INT(c.out, ne);
        TT_ASSERT_EQ_INT(c.late, 0);
        TT_ASSERT_EQ_INT(c.bad, 0);
        TT_ASSERT_EQ_INT(c.watermark, TIDE_TS_MAX);
        /* tags never decrease along the output */
        for (size_t i = 1; i < got.n && ok; i++)
            ok = got.v[i - 1].wm <= got.v[i].wm;
        rows_free(&got);
        TT_ASSERT_MSG(ok, "P=%u", ps[k]);
    }

    /* The SQL planner's shape: an expression stage projecting (user_id,
     * ts) first (the exchange then copies source rows through the
     * projection; the string columns are never filled): same rows. */
    tide_schema *ls = NULL, *ss = NULL;
    tide_err e = {0};
    TT_OK(tide_schema_create(&ls, &e));
    TT_OK(tide_schema_add(ls, "ts", TIDE_TYPE_TIMESTAMP, false, &e));
    TT_OK(tide_schema_add(ls, "user_id", TIDE_TYPE_BIGINT, false, &e));
    TT_OK(tide_schema_add(ls, "country", TIDE_TYPE_STRING, false, &e));
    TT_OK(tide_schema_add(ls, "device", TIDE_TYPE_STRING, false, &e));
    TT_OK(tide_schema_create(&ss, &e));
    TT_OK(tide_schema_add(ss, "k0", TIDE_TYPE_BIGINT, false, &e));
    TT_OK(tide_schema_add(ss, "ts", TIDE_TYPE_TIMESTAMP, false, &e));
    TT_OK(tide_schema_set_time_column(ss, 1, &e));
    tide_expr *sel[2] = {NULL, NULL};
    TT_OK(tide_expr_column(&sel[0], ls, TIDE_PIPE_LOGINS_USER_ID, &e));
    TT_OK(tide_expr_column(&sel[1], ls, TIDE_PIPE_LOGINS_TS, &e));
    tide_pipe_expr_stage *xs = NULL;
    TT_OK(tide_pipe_expr_stage_create(&xs, NULL, sel, 2, &e));
    j.cfg.stage = tide_pipe_expr_stage_fn;
    j.cfg.stage_ctx = xs;
    j.cfg.stage_schema = ss;
    j.cfg.time_col = 1;
    j.key = 0;
    for (size_t k = 0; k < 3; k++) {
        rows got;
        tide_pipe_counts c;
        TT_OK(run_job(&j.cfg, ps[k], &got, &c));
        int ok = same_rows(got.v, got.n, exp, ne, "tumble, projection stage");
        TT_ASSERT_EQ_INT(c.in, ev.n);
        TT_ASSERT_EQ_INT(c.filtered, ev.n);
        TT_ASSERT_EQ_INT(c.late, 0);
        rows_free(&got);
        TT_ASSERT_MSG(ok, "projection stage, P=%u", ps[k]);
    }
    tide_pipe_expr_stage_free(xs);
    tide_schema_free(ls);
    tide_schema_free(ss);
    free(exp);
    events_free(&ev);
}

/* ---- hopping COUNT(DISTINCT user_id) per country ---- */

static void test_hop_distinct_per_country(void)
{
    tide_gen_logins_cfg g;
    base_gen(&g, 100000, 2000, 4 * HOUR);
    events ev = {0};
    TT_OK(gen_all(&g, &ev));
    const int64_t slide = 10 * MIN, size = 30 * MIN;

    /* brute force: every (window, country, user) triple, then distinct */
    row *t = calloc(ev.n * 3, sizeof *t);
    size_t nt = 0;
    for (size_t i = 0; i < ev.n; i++) {
        int64_t last = floor_div(ev.ts[i], slide) * slide;
        for (int64_t s = last; s > ev.ts[i] - size; s -= slide) {
            row r = {.op = TIDE_OP_INSERT, .start = s, .end = s + size, .val = ev.user[i]};
            snprintf(r.ks, sizeof r.ks, "%s", tide_gen_logins_country_name(ev.country[i]));
            t[nt++] = r;
        }
    }
    qsort(t, nt, sizeof *t, row_val_cmp);
    row *exp = calloc(nt, sizeof *exp);
    size_t ne = 0;
    for (size_t i = 0; i < nt; i++) {
        if (ne && row_cmp(&exp[ne - 1], &t[i]) == 0) {
            if (t[i].val != t[i - 1].val)
                exp[ne - 1].val++;
        } else {
            exp[ne] = t[i];
            exp[ne++].val = 1;
        }
    }

    job j;
    job_init(&j, &g);
    j.cfg.window = tide_win_hop(slide, size);
    j.cfg.wm_bound = g.max_delay_ms + 1; /* delays < B: none late */
    j.agg = (tide_winagg_call){TIDE_AGG_COUNT_DISTINCT, 0, TIDE_TYPE_BIGINT};
    j.key = TIDE_PIPE_LOGINS_COUNTRY;
    j.value = TIDE_PIPE_LOGINS_USER_ID;
    j.cfg.value_cols = &j.value;
    j.cfg.n_value_cols = 1;
    static const uint32_t ps[] = {1, 2, 4};
    for (size_t k = 0; k < 3; k++) {
        rows got;
        tide_pipe_counts c;
        TT_OK(run_job(&j.cfg, ps[k], &got, &c));
        int ok = same_rows(got.v, got.n, exp, ne, "hop");
        rows_free(&got);
        TT_ASSERT_MSG(ok, "P=%u", ps[k]);
        TT_ASSERT_EQ_INT(c.late, 0);
    }
    free(t);
    free(exp);
    events_free(&ev);
}

/* ---- session windows per user ---- */

static int by_user_ts(const void *pa, const void *pb)
{
    const row *a = pa, *b = pb;
    if (a->ki != b->ki)
        return a->ki < b->ki ? -1 : 1;
    return a->start < b->start ? -1 : a->start > b->start;
}

static void test_session_per_user(void)
{
    tide_gen_logins_cfg g;
    base_gen(&g, 60000, 3000, 6 * HOUR);
    events ev = {0};
    TT_OK(gen_all(&g, &ev));
    const int64_t gap = 10 * MIN;

    /* brute force: per user, sorted by time; records at most `gap` apart
     * share a session [first, last + gap) */
    row *t = calloc(ev.n, sizeof *t);
    for (size_t i = 0; i < ev.n; i++)
        t[i] = (row){.start = ev.ts[i], .ki = ev.user[i]};
    qsort(t, ev.n, sizeof *t, by_user_ts);
    row *exp = calloc(ev.n, sizeof *exp);
    size_t ne = 0;
    for (size_t i = 0; i < ev.n; i++) {
        if (ne && exp[ne - 1].ki == t[i].ki && t[i].start <= exp[ne - 1].end) {
            exp[ne - 1].end = t[i].start + gap;
            exp[ne - 1].val++;
        } else {
            exp[ne++] = (row){.op = TIDE_OP_INSERT,
                              .start = t[i].start,
                              .end = t[i].start + gap,
                              .ki = t[i].ki,
                              .val = 1};
        }
    }
    qsort(exp, ne, sizeof *exp, row_cmp);

    job j;
    job_init(&j, &g);
    j.cfg.window = tide_win_session(gap);
    j.cfg.wm_bound = g.max_delay_ms + 1; /* delays < B: none late */
    static const uint32_t ps[] = {1, 2, 4};
    for (size_t k = 0; k < 3; k++) {
        rows got;
        TT_OK(run_job(&j.cfg, ps[k], &got, NULL));
        int ok = same_rows(got.v, got.n, exp, ne, "session");
        rows_free(&got);
        TT_ASSERT_MSG(ok, "P=%u", ps[k]);
    }
    free(t);
    free(exp);
    events_free(&ev);
}

/* ---- sessions over the whole input, and per partition key ---- */

typedef struct srow {
    int64_t start, end;
    char country[8], device[8]; /* device "": one key column */
    int64_t val;
} srow;

typedef struct srows {
    srow *v;
    size_t n, cap;
} srows;

static int on_result_s(void *ctx, const tide_pipe_result *res)
{
    srows *rs = ctx;
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? 2 * rs->cap : 1024;
        rs->v = realloc(rs->v, rs->cap * sizeof *rs->v);
    }
    srow *r = &rs->v[rs->n++];
    memset(r, 0, sizeof *r);
    r->start = res->start;
    r->end = res->end;
    for (size_t k = 0; k < res->n_keys && k < 2; k++) {
        char *d = k ? r->device : r->country;
        uint32_t l = res->keys[k].u.s.len < 7 ? res->keys[k].u.s.len : 7;
        memcpy(d, res->keys[k].u.s.ptr, l);
    }
    r->val = res->op == TIDE_OP_INSERT ? res->vals[0].u.i64 : -1;
    return 0;
}

/* (end, start, country, device), strings by (length, bytes): the order of
 * the encoded keys */
/* Keys come in SQL order (data/key.h): strings by their bytes. */
static int str_cmp(const char *a, const char *b) { return strcmp(a, b); }

static int srow_cmp(const void *pa, const void *pb)
{
    const srow *a = pa, *b = pb;
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    int c = str_cmp(a->country, b->country);
    return c ? c : str_cmp(a->device, b->device);
}

static int by_ts(const void *pa, const void *pb)
{
    const int64_t *a = pa, *b = pb;
    return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : (a[1] > b[1]) - (a[1] < b[1]);
}

/* GROUP BY country over sessions of the whole input (a gap between any two
 * logins ends one), then GROUP BY country, device over sessions per country
 * (session_part 1): a brute force (sort, split at gaps, count per key), the
 * same rows at P = 1, 2 and 4, and the global job on one instance. */
static void test_sessions_global_and_partitioned(void)
{
    tide_gen_logins_cfg g;
    base_gen(&g, 4000, 300, 8 * HOUR); /* ~7 s apart: gaps of 10 s end sessions */
    events ev = {0};
    TT_OK(gen_all(&g, &ev));
    const int64_t gap = 10000;
    int64_t (*t)[2] = malloc(ev.n * sizeof *t); /* ts, index */
    for (int pass = 0; pass < 2; pass++) {
        bool global = pass == 0;
        srows want = {0};
        /* per partition (one when global): logins by time; a session ends
         * where the next login is after the last + gap */
        for (int part = 0; part < (global ? 1 : TIDE_GEN_LOGINS_COUNTRIES); part++) {
            size_t m = 0;
            for (size_t i = 0; i < ev.n; i++)
                if (global || ev.country[i] == part) {
                    t[m][0] = ev.ts[i];
                    t[m++][1] = (int64_t)i;
                }
            qsort(t, m, sizeof *t, by_ts);
            for (size_t a = 0; a < m;) {
                int64_t st = t[a][0], en = st + gap;
                size_t b = a + 1;
                while (b < m && t[b][0] <= en)
                    en = t[b++][0] + gap;
                size_t first = want.n;
                for (size_t i = a; i < b; i++) {
                    size_t e = (size_t)t[i][1];
                    srow r = {.start = st, .end = en, .val = 1};
                    snprintf(r.country, sizeof r.country, "%s",
                             tide_gen_logins_country_name(ev.country[e]));
                    if (!global)
                        snprintf(r.device, sizeof r.device, "%s",
                                 tide_gen_logins_device_name(ev.device[e]));
                    size_t j = first;
                    while (j < want.n && srow_cmp(&want.v[j], &r) != 0)
                        j++;
                    if (j < want.n) {
                        want.v[j].val++;
                        continue;
                    }
                    if (want.n == want.cap) {
                        want.cap = want.cap ? 2 * want.cap : 1024;
                        want.v = realloc(want.v, want.cap * sizeof *want.v);
                    }
                    want.v[want.n++] = r;
                }
                a = b;
            }
        }
        qsort(want.v, want.n, sizeof *want.v, srow_cmp);
        job j;
        job_init(&j, &g);
        j.cfg.window = tide_win_session(gap);
        /* delays <= B - 2: no record touches a session that fired already
         * (test_winagg's test_session_touching_boundary) */
        j.cfg.wm_bound = g.max_delay_ms + 2;
        uint32_t keys[2] = {TIDE_PIPE_LOGINS_COUNTRY, TIDE_PIPE_LOGINS_DEVICE};
        j.cfg.key_cols = keys;
        j.cfg.n_key_cols = global ? 1 : 2;
        j.cfg.session_part = global ? 0 : 1;
        j.cfg.on_result = on_result_s;
        static const uint32_t ps[] = {1, 2, 4};
        srows first = {0};
        for (size_t k = 0; k < 3; k++) {
            srows got = {0};
            tide_pipe *p = NULL;
            tide_err e = {0};
            j.cfg.parallelism = ps[k];
            j.cfg.out_ctx = &got;
            TT_OK(tide_pipe_create(&p, &j.cfg, &e));
            TT_ASSERT_EQ_INT(tide_pipe_parallelism(p), global ? 1 : ps[k]);
            TT_OK(tide_pipe_run(p, &e));
            tide_pipe_counts c;
            tide_pipe_counts_get(p, &c);
            tide_pipe_free(p);
            TT_ASSERT_EQ_INT(c.late, 0);
            bool ok = got.n == want.n;
            for (size_t i = 0; ok && i < got.n; i++)
                ok = srow_cmp(&got.v[i], &want.v[i]) == 0 && got.v[i].val == want.v[i].val;
            for (size_t i = 0; ok && k > 0 && i < got.n; i++)
                ok = memcmp(&got.v[i], &first.v[i], sizeof got.v[i]) == 0;
            if (!ok)
                fprintf(stderr, "%s sessions, P=%u: %zu rows, want %zu\n",
                        global ? "global" : "partitioned", ps[k], got.n, want.n);
            if (k == 0)
                first = got;
            else
                free(got.v);
            TT_ASSERT(ok);
        }
        /* a few long sessions (global) or many more (per country) */
        TT_ASSERT(want.n > 20);
        free(first.v);
        free(want.v);
    }
    free(t);
    events_free(&ev);
}

/* ---- late data ---- */

static void test_late_data(void)
{
    tide_gen_logins_cfg g;
    base_gen(&g, 150000, 500, 3 * HOUR);
    g.late_share = 0.2;
    g.max_delay_ms = 4 * MIN; /* far beyond B + L */
    events ev = {0};
    TT_OK(gen_all(&g, &ev));
    const int64_t size = MIN, B = 5000, L = 20000;

    /* brute force in delivery order: W before record i = max ts before - B;
     * late when W >= end - 1 + L; a late firing (+U) when end - 1 <= W <
     * end - 1 + L */
    row *kept = calloc(ev.n, sizeof *kept), *late = calloc(ev.n, sizeof *late);
    size_t nk = 0, nl = 0, nupd = 0;
    int64_t maxts = INT64_MIN;
    for (size_t i = 0; i < ev.n; i++) {
        int64_t w = maxts == INT64_MIN ? INT64_MIN : maxts - B;
        int64_t s = floor_div(ev.ts[i], size) * size, end = s + size;
        if (w >= end - 1 + L) {
            late[nl++] = (row){.start = ev.ts[i], .ki = ev.user[i]};
        } else {
            /* op = 1 marks a late firing; wm = delivery order */
            kept[nk++] = (row){.op = w >= end - 1,
                               .start = s,
                               .end = end,
                               .ki = ev.user[i],
                               .val = 1,
                               .wm = (int64_t)i};
        }
        if (ev.ts[i] > maxts)
            maxts = ev.ts[i];
    }
    /* a window row's first firing is +I (on time, or a late firing of a
     * row never emitted before); each later late firing is one +U */
    qsort(kept, nk, sizeof *kept, row_seq_cmp);
    for (size_t i = 0; i < nk; i++)
        if (kept[i].op && i > 0 && row_cmp(&kept[i - 1], &kept[i]) == 0)
            nupd++;
    TT_ASSERT(nl > 100);
    TT_ASSERT(nupd > 100);
    group_rows(kept, &nk);
    qsort(late, nl, sizeof *late, by_user_ts);

    job j;
    job_init(&j, &g);
    j.cfg.window = tide_win_tumble(size);
    j.cfg.wm_bound = B;
    j.cfg.allowed_lateness = L;
    rows first = {0};
    static const uint32_t ps[] = {1, 2, 4};
    for (size_t k = 0; k < 3; k++) {
        rows got;
        tide_pipe_counts c;
        TT_OK(run_job(&j.cfg, ps[k], &got, &c));
        TT_ASSERT_EQ_INT(c.late, nl);
        TT_ASSERT_EQ_INT(got.ln, nl);
        TT_ASSERT_EQ_INT(c.in, ev.n);
        /* the late records themselves */
        row *gl = calloc(nl + 1, sizeof *gl);
        memcpy(gl, got.lv, nl * sizeof *gl);
        qsort(gl, nl, sizeof *gl, by_user_ts);
        int ok = 1;
        for (size_t i = 0; i < nl && ok; i++)
            ok = gl[i].start == late[i].start && gl[i].ki == late[i].ki;
        free(gl);
        TT_ASSERT_MSG(ok, "late records differ, P=%u", ps[k]);
        /* +I once per window row, +U once per late firing, final values */
        size_t ni = 0, nu = 0;
        for (size_t i = 0; i < got.n; i++) {
            ni += got.v[i].op == TIDE_OP_INSERT;
            nu += got.v[i].op == TIDE_OP_UPDATE_AFTER;
        }
        TT_ASSERT_EQ_INT(ni, nk);
        TT_ASSERT_EQ_INT(nu, nupd);
        row *fin = calloc(got.n + 1, sizeof *fin);
        size_t nf = 0;
        /* last value per (window, key): stable pass over the sequence */
        for (size_t i = 0; i < got.n; i++) {
            fin[nf] = got.v[i];
            fin[nf].op = (int)i; /* sequence number, to keep the last */
            nf++;
        }
        qsort(fin, nf, sizeof *fin, row_cmp);
        size_t o = 0;
        for (size_t i = 0; i < nf; i++) {
            if (o && row_cmp(&fin[o - 1], &fin[i]) == 0) {
                if (fin[i].op > fin[o - 1].op)
                    fin[o - 1] = fin[i];
            } else {
                fin[o++] = fin[i];
            }
        }
        for (size_t i = 0; i < o; i++)
            fin[i].op = 0;
        for (size_t i = 0; i < nk; i++)
            kept[i].op = 0;
        ok = same_rows(fin, o, kept, nk, "late finals");
        free(fin);
        if (k == 0) {
            first = got;
        } else {
            ok = ok && same_rows(got.v, got.n, first.v, first.n, "P vs P=1");
            for (size_t i = 0; i < nl && ok; i++)
                ok = got.lv[i].start == first.lv[i].start && got.lv[i].ki == first.lv[i].ki &&
                     got.lv[i].wm == first.lv[i].wm;
            rows_free(&got);
        }
        TT_ASSERT_MSG(ok, "P=%u", ps[k]);
    }
    rows_free(&first);
    free(kept);
    free(late);
    events_free(&ev);
}

/* ---- stateless: filter + project ---- */

typedef struct stateless_out {
    int64_t *user;
    size_t n, cap;
    int bad_shape;
} stateless_out;

static const tide_schema *proj_schema;

static int ios_stage(void *ctx, const tide_cbatch *in, tide_cbatch *out, tide_err *e)
{
    (void)ctx;
    for (uint32_t r = 0; r < tide_cbatch_rows(in); r++) {
        tide_str d = tide_cbatch_str(in, TIDE_PIPE_LOGINS_DEVICE, r);
        if (d.len != 3 || memcmp(d.ptr, "ios", 3) != 0)
            continue;
        uint32_t o = 0;
        int rc = tide_cbatch_add_row(out, &o);
        if (rc)
            return tide_err_set(e, rc, "stage: full");
        tide_cbatch_set_i64(out, 0, o, tide_cbatch_i64(in, TIDE_PIPE_LOGINS_TS, r));
        tide_cbatch_set_i64(out, 1, o, tide_cbatch_i64(in, TIDE_PIPE_LOGINS_USER_ID, r));
    }
    return 0;
}

static int on_rows(void *ctx, const tide_cbatch *b)
{
    stateless_out *o = ctx;
    if (tide_cbatch_ncols(b) != 2)
        o->bad_shape = 1;
    for (uint32_t r = 0; r < tide_cbatch_rows(b); r++) {
        if (o->n == o->cap) {
            o->cap = o->cap ? o->cap * 2 : 1024;
            o->user = realloc(o->user, o->cap * sizeof *o->user);
        }
        o->user[o->n++] = tide_cbatch_i64(b, 1, r);
    }
    return 0;
}

static void test_stateless_filter_project(void)
{
    tide_gen_logins_cfg g;
    base_gen(&g, 100000, 1000, HOUR);
    events ev = {0};
    TT_OK(gen_all(&g, &ev));
    tide_schema *s = NULL;
    tide_err e = {0};
    TT_OK(tide_schema_create(&s, &e));
    TT_OK(tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, false, &e));
    TT_OK(tide_schema_add(s, "user_id", TIDE_TYPE_BIGINT, false, &e));
    TT_OK(tide_schema_set_time_column(s, 0, &e));
    proj_schema = s;

    /* the same stage as expressions: WHERE device = 'ios' SELECT ts, user_id */
    tide_schema *ls = NULL;
    tide_expr *dev = NULL, *ios = NULL, *where = NULL, *sel[2] = {NULL, NULL};
    TT_OK(tide_schema_create(&ls, &e));
    TT_OK(tide_schema_add(ls, "ts", TIDE_TYPE_TIMESTAMP, false, &e));
    TT_OK(tide_schema_add(ls, "user_id", TIDE_TYPE_BIGINT, false, &e));
    TT_OK(tide_schema_add(ls, "country", TIDE_TYPE_STRING, false, &e));
    TT_OK(tide_schema_add(ls, "device", TIDE_TYPE_STRING, false, &e));
    TT_OK(tide_expr_column(&dev, ls, TIDE_PIPE_LOGINS_DEVICE, &e));
    TT_OK(tide_expr_literal_str(&ios, "ios", 3, &e));
    TT_OK(tide_expr_compare(&where, TIDE_EXPR_EQ, dev, ios, &e));
    TT_OK(tide_expr_column(&sel[0], ls, TIDE_PIPE_LOGINS_TS, &e));
    TT_OK(tide_expr_column(&sel[1], ls, TIDE_PIPE_LOGINS_USER_ID, &e));
    tide_pipe_expr_stage *xs = NULL;
    TT_OK(tide_pipe_expr_stage_create(&xs, where, sel, 2, &e));

    for (int variant = 0; variant < 2; variant++) {
        tide_pipe_config cfg;
        tide_pipe_config_init(&cfg);
        cfg.source.gen = g;
        cfg.stage = variant == 0 ? ios_stage : tide_pipe_expr_stage_fn;
        cfg.stage_ctx = variant == 0 ? NULL : xs;
        cfg.stage_schema = s;
        cfg.time_col = 0;
        cfg.n_aggs = 0;
        cfg.on_rows = on_rows;
        stateless_out o = {0};
        cfg.out_ctx = &o;
        tide_pipe *p = NULL;
        TT_OK(tide_pipe_create(&p, &cfg, &e));
        TT_OK(tide_pipe_run(p, &e));
        tide_pipe_counts c;
        tide_pipe_counts_get(p, &c);
        tide_pipe_free(p);
        size_t m = 0;
        int ok = !o.bad_shape;
        for (size_t i = 0; i < ev.n && ok; i++) {
            if (strcmp(tide_gen_logins_device_name(ev.device[i]), "ios") != 0)
                continue;
            ok = m < o.n && o.user[m] == ev.user[i];
            m++;
        }
        TT_ASSERT(ok);
        TT_ASSERT_EQ_INT(o.n, m);
        TT_ASSERT_EQ_INT(c.out, m);
        TT_ASSERT_EQ_INT(c.filtered, m);
        TT_ASSERT_EQ_INT(c.in, ev.n);
        free(o.user);
    }
    tide_pipe_expr_stage_free(xs);
    tide_schema_free(ls);
    tide_schema_free(s);
    events_free(&ev);
}

/* ---- a callback source: two partitions, NULL times, idleness ---- */

/* A fake clock that several threads may read: ms in an atomic. */
typedef struct fake_clock {
    tide_clock clock;
    _Atomic int64_t ms;
} fake_clock;

static int64_t fake_now_ms(void *ctx)
{
    return atomic_load(&((fake_clock *)ctx)->ms);
}
static int64_t fake_mono_ns(void *ctx)
{
    return atomic_load(&((fake_clock *)ctx)->ms) * 1000000;
}

typedef struct cb_src {
    int step;
    fake_clock *clk;
} cb_src;

/* Partition 0 delivers ts 0..99 s, one record per second in batches of 10;
 * partition 1 delivers one record at ts 0 and then nothing; one row with a
 * NULL time in the first batch.  With an idle timeout, partition 1 stops
 * holding the watermark back once the fake clock passed it. */
static int cb_next(void *ctx, tide_cbatch *b, uint32_t *part, tide_err *e)
{
    cb_src *s = ctx;
    (void)e;
    tide_cbatch_reset(b);
    uint32_t r = 0;
    if (s->step == 0) {
        tide_cbatch_add_row(b, &r);
        tide_cbatch_set_i64(b, 0, r, 0);
        tide_cbatch_set_i64(b, 1, r, 7);
        tide_cbatch_add_row(b, &r); /* NULL time: a dead letter */
        tide_cbatch_set_i64(b, 1, r, 7);
        *part = 1;
        s->step++;
        return TIDE_PIPE_READY;
    }
    int i = s->step - 1;
    if (i >= 10)
        return TIDE_PIPE_END;
    for (int k = 0; k < 10; k++) {
        tide_cbatch_add_row(b, &r);
        tide_cbatch_set_i64(b, 0, r, (int64_t)(i * 10 + k) * 1000);
        tide_cbatch_set_i64(b, 1, r, k % 2);
    }
    atomic_fetch_add(&s->clk->ms, 1000); /* processing time passes with each batch */
    *part = 0;
    s->step++;
    return TIDE_PIPE_READY;
}

typedef struct wm_seen {
    int64_t first_wm; /* tag of the first result */
    size_t n;
} wm_seen;

static int on_result_first(void *ctx, const tide_pipe_result *r)
{
    wm_seen *w = ctx;
    if (w->n++ == 0)
        w->first_wm = r->wm;
    return 0;
}

static void run_cb(int64_t idle, wm_seen *w, tide_pipe_counts *c)
{
    tide_schema *s = NULL;
    tide_err e = {0};
    tide_schema_create(&s, &e);
    tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, true, &e);
    tide_schema_add(s, "k", TIDE_TYPE_BIGINT, true, &e);
    tide_schema_set_time_column(s, 0, &e);
    fake_clock clk = {{fake_now_ms, fake_mono_ns, &clk}, 1000000};
    cb_src src = {.clk = &clk};
    tide_pipe_config cfg;
    tide_pipe_config_init(&cfg);
    cfg.source.kind = TIDE_PIPE_SRC_CALLBACK;
    cfg.source.schema = s;
    cfg.source.partitions = 2;
    cfg.source.next = cb_next;
    cfg.source.ctx = &src;
    cfg.clock = &clk.clock;
    cfg.wm_bound = 0;
    cfg.idle_timeout_ms = idle;
    cfg.window = tide_win_tumble(10000);
    tide_winagg_call agg = {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};
    uint32_t key = 1;
    cfg.aggs = &agg;
    cfg.n_aggs = 1;
    cfg.key_cols = &key;
    cfg.n_key_cols = 1;
    cfg.parallelism = 2;
    cfg.on_result = on_result_first;
    cfg.out_ctx = w;
    tide_pipe *p = NULL;
    memset(w, 0, sizeof *w);
    if (tide_pipe_create(&p, &cfg, &e) == 0 && tide_pipe_run(p, &e) == 0)
        tide_pipe_counts_get(p, c);
    else
        fprintf(stderr, "cb pipeline: %s\n", e.msg);
    tide_pipe_free(p);
    tide_schema_free(s);
}

static void test_partitions_and_idleness(void)
{
    wm_seen w;
    tide_pipe_counts c = {0};
    /* no idleness: partition 1 (W = 0) holds everything back to the end */
    run_cb(0, &w, &c);
    TT_ASSERT_EQ_INT(c.bad, 1);
    TT_ASSERT_EQ_INT(c.in, 101);
    TT_ASSERT_EQ_INT(w.n, 21); /* 10 windows x 2 keys, and key 7 of partition 1 */
    TT_ASSERT_EQ_INT(w.first_wm, TIDE_TS_MAX);
    /* idle after 3 s of processing time: windows fire as partition 0 goes */
    run_cb(3000, &w, &c);
    TT_ASSERT_EQ_INT(c.in, 101);
    TT_ASSERT_EQ_INT(w.n, 21);
    TT_ASSERT(w.first_wm < TIDE_TS_MAX);
    TT_ASSERT(w.first_wm >= 10000);
}

/* ---- whole-input quiet: the watermark follows processing time ---- */

typedef struct quiet_src {
    int step;
    _Atomic int drained;      /* every record was delivered */
    _Atomic uint64_t nothing; /* "nothing now" answers so far */
} quiet_src;

/* ts 0..29 s, one record per second, keys k % 2, in batches of 10; then
 * only "nothing now" (the input went quiet, it never ends). */
static int quiet_next(void *ctx, tide_cbatch *b, uint32_t *part, tide_err *e)
{
    quiet_src *s = ctx;
    (void)e;
    tide_cbatch_reset(b);
    if (s->step >= 3) {
        atomic_store(&s->drained, 1);
        atomic_fetch_add(&s->nothing, 1);
        return TIDE_PIPE_NOTHING;
    }
    for (int k = 0; k < 10; k++) {
        uint32_t r = 0;
        tide_cbatch_add_row(b, &r);
        tide_cbatch_set_i64(b, 0, r, (int64_t)(s->step * 10 + k) * 1000);
        tide_cbatch_set_i64(b, 1, r, k % 2);
    }
    *part = 0;
    s->step++;
    return TIDE_PIPE_READY;
}

typedef struct quiet_out {
    row v[16];
    _Atomic size_t n;
} quiet_out;

static int quiet_result(void *ctx, const tide_pipe_result *res)
{
    quiet_out *o = ctx;
    size_t n = atomic_load(&o->n);
    if (n < 16) {
        o->v[n] = (row){.op = (int)res->op, .start = res->start, .end = res->end,
                        .ki = res->keys[0].u.i64, .val = res->vals[0].u.i64, .wm = res->wm};
        atomic_store(&o->n, n + 1);
    }
    return 0;
}

typedef struct pipe_thread {
    tide_pipe *p;
    tide_err e;
    int rc;
} pipe_thread;

static void *pipe_thread_main(void *arg)
{
    pipe_thread *t = arg;
    t->rc = tide_pipe_run(t->p, &t->e);
    return NULL;
}

/* Bounded polling (at most ~20 s of real time) for *v >= want. */
static int wait_size(_Atomic size_t *v, size_t want)
{
    for (int i = 0; i < 20000 && atomic_load(v) < want; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(v) >= want;
}

/* Wait until the source answered "nothing now" `more` more times (so it
 * has seen the clock as it is now). */
static int wait_polls(quiet_src *s, uint64_t more)
{
    uint64_t want = atomic_load(&s->nothing) + more;
    for (int i = 0; i < 20000 && atomic_load(&s->nothing) < want; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(&s->nothing) >= want;
}

static void run_quiet(int64_t quiet_ms)
{
    tide_schema *s = NULL;
    tide_err e = {0};
    tide_schema_create(&s, &e);
    tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, true, &e);
    tide_schema_add(s, "k", TIDE_TYPE_BIGINT, true, &e);
    tide_schema_set_time_column(s, 0, &e);
    fake_clock clk = {{fake_now_ms, fake_mono_ns, &clk}, 1000000};
    quiet_src src = {0};
    quiet_out out = {0};
    tide_pipe_config cfg;
    tide_pipe_config_init(&cfg);
    cfg.source.kind = TIDE_PIPE_SRC_CALLBACK;
    cfg.source.schema = s;
    cfg.source.partitions = 1;
    cfg.source.next = quiet_next;
    cfg.source.ctx = &src;
    cfg.clock = &clk.clock;
    cfg.wm_bound = 0;
    cfg.quiet_advance_ms = quiet_ms;
    cfg.window = tide_win_tumble(10000);
    tide_winagg_call agg = {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};
    uint32_t key = 1;
    cfg.aggs = &agg;
    cfg.n_aggs = 1;
    cfg.key_cols = &key;
    cfg.n_key_cols = 1;
    cfg.parallelism = 2;
    cfg.on_result = quiet_result;
    cfg.out_ctx = &out;
    pipe_thread t = {0};
    TT_OK(tide_pipe_create(&t.p, &cfg, &e));
    pthread_t th;
    TT_ASSERT(pthread_create(&th, NULL, pipe_thread_main, &t) == 0);
    /* W = 29 s after the data: windows [0,10) and [10,20) (2 keys each) */
    TT_ASSERT(wait_size(&out.n, 4));
    TT_ASSERT(atomic_load(&src.drained));
    /* below the timeout (or with the policy off): nothing more fires */
    atomic_fetch_add(&clk.ms, quiet_ms > 0 ? quiet_ms - 1000 : HOUR);
    TT_ASSERT(wait_polls(&src, 5));
    if (quiet_ms > 0) {
        /* past the timeout: W = 29 s + quiet time, [20,30) fires */
        atomic_fetch_add(&clk.ms, 2000);
        TT_ASSERT(wait_size(&out.n, 6));
    } else {
        atomic_fetch_add(&clk.ms, 24 * HOUR);
        TT_ASSERT(wait_polls(&src, 5));
    }
    tide_pipe_cancel(t.p);
    pthread_join(th, NULL);
    tide_pipe_counts c;
    tide_pipe_counts_get(t.p, &c);
    tide_pipe_free(t.p);
    tide_schema_free(s);
    TT_ASSERT_EQ_INT(c.in, 30);
    TT_ASSERT_EQ_INT(c.late, 0);
    /* brute force: 10 s windows over ts 0..29 s, keys k % 2: 5 each */
    size_t n = atomic_load(&out.n);
    TT_ASSERT_EQ_INT(n, quiet_ms > 0 ? 6 : 4);
    for (size_t i = 0; i < n; i++) {
        TT_ASSERT_EQ_INT(out.v[i].start, (int64_t)(i / 2) * 10000);
        TT_ASSERT_EQ_INT(out.v[i].end, (int64_t)(i / 2) * 10000 + 10000);
        TT_ASSERT_EQ_INT(out.v[i].ki, (int64_t)(i % 2));
        TT_ASSERT_EQ_INT(out.v[i].val, 5);
    }
    if (quiet_ms > 0)
        /* released by the quiet step: W_last (29 s) + the quiet time */
        TT_ASSERT_EQ_INT(out.v[5].wm, 29000 + quiet_ms + 1000);
}

static void test_quiet_advance(void)
{
    run_quiet(0);
    run_quiet(5000);
}

/* ---- records far in the future are dead letters ---- */

#define FUT_N 300
#define FUT_NOW 100000 /* processing time (fake clock), ms */

typedef struct fut_src {
    int64_t ts[FUT_N + 8];
    int64_t key[FUT_N + 8];
    size_t n, pos;
} fut_src;

static int fut_next(void *ctx, tide_cbatch *b, uint32_t *part, tide_err *e)
{
    fut_src *s = ctx;
    (void)e;
    tide_cbatch_reset(b);
    if (s->pos >= s->n)
        return TIDE_PIPE_END;
    for (int k = 0; k < 16 && s->pos < s->n; k++, s->pos++) {
        uint32_t r = 0;
        tide_cbatch_add_row(b, &r);
        tide_cbatch_set_i64(b, 0, r, s->ts[s->pos]);
        tide_cbatch_set_i64(b, 1, r, s->key[s->pos]);
    }
    *part = 0;
    return TIDE_PIPE_READY;
}

typedef struct dead_seen {
    size_t n;
    int reason_ok;
} dead_seen;

static int on_dead(void *ctx, const tide_pipe_dead *d)
{
    dead_seen *ds = ctx;
    char want[64];
    snprintf(want, sizeof want, "%lld", (long long)d->ts);
    if (strstr(d->reason, want) && strstr(d->reason, "1000") && d->ts > FUT_NOW + 1000 &&
        tide_cbatch_i64(d->batch, 0, d->row) == d->ts)
        ds->reason_ok++;
    ds->n++;
    return 0;
}

static void test_future_records(void)
{
    tide_schema *s = NULL;
    tide_err e = {0};
    tide_schema_create(&s, &e);
    tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, true, &e);
    tide_schema_add(s, "k", TIDE_TYPE_BIGINT, true, &e);
    tide_schema_set_time_column(s, 0, &e);
    /* normal records: disorder <= 4.4 s < B = 5 s, so none is late; every
     * 50th position also gets a record far in the future */
    fut_src src = {0};
    row *exp = calloc(FUT_N, sizeof *exp);
    size_t ne = 0, nfut = 0;
    for (size_t i = 0; i < FUT_N; i++) {
        if (i % 50 == 25) {
            src.ts[src.n] = (int64_t)1000000000 * (int64_t)(nfut + 1);
            src.key[src.n++] = 99;
            nfut++;
        }
        int64_t ts = (int64_t)i * 200 + (int64_t)((i * 37) % 23) * 200;
        int64_t k = (int64_t)(i % 5);
        src.ts[src.n] = ts;
        src.key[src.n++] = k;
        exp[ne++] = (row){.op = TIDE_OP_INSERT, .start = floor_div(ts, 10000) * 10000,
                          .end = floor_div(ts, 10000) * 10000 + 10000, .ki = k, .val = 1};
    }
    group_rows(exp, &ne);
    for (int with = 1; with >= 0; with--) {
        fake_clock clk = {{fake_now_ms, fake_mono_ns, &clk}, FUT_NOW};
        src.pos = 0;
        dead_seen ds = {0};
        tide_pipe_config cfg;
        tide_pipe_config_init(&cfg);
        cfg.source.kind = TIDE_PIPE_SRC_CALLBACK;
        cfg.source.schema = s;
        cfg.source.partitions = 1;
        cfg.source.next = fut_next;
        cfg.source.ctx = &src;
        cfg.clock = &clk.clock;
        cfg.wm_bound = 5000;
        cfg.future_bound_ms = with ? 1000 : 0;
        cfg.on_dead = on_dead;
        cfg.dead_ctx = &ds;
        cfg.window = tide_win_tumble(10000);
        tide_winagg_call agg = {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};
        uint32_t key = 1;
        cfg.aggs = &agg;
        cfg.n_aggs = 1;
        cfg.key_cols = &key;
        cfg.n_key_cols = 1;
        cfg.batch_rows = 64;
        cfg.on_result = on_result;
        cfg.on_late = on_late;
        rows out;
        tide_pipe_counts c = {0};
        TT_OK(run_job(&cfg, 2, &out, &c));
        if (with) {
            TT_ASSERT_EQ_INT(c.bad, nfut);
            TT_ASSERT_EQ_INT(ds.n, nfut);
            TT_ASSERT_EQ_INT(ds.reason_ok, nfut);
            TT_ASSERT_EQ_INT(c.in, FUT_N);
            TT_ASSERT_EQ_INT(c.late, 0);
            TT_ASSERT_EQ_INT(out.ln, 0);
            TT_ASSERT(same_rows(out.v, out.n, exp, ne, "future records dropped"));
            /* windows fired by the event-time watermark (max ts - B) at
             * W >= end - 1, not earlier; all but the last ones before the
             * end of input */
            for (size_t i = 0; i < out.n; i++) {
                TT_ASSERT(out.v[i].wm >= out.v[i].end - 1);
                if (out.v[i].end <= 50000)
                    TT_ASSERT(out.v[i].wm < 70000);
            }
        } else {
            /* control: without the bound the first one drags W forward */
            TT_ASSERT_EQ_INT(c.bad, 0);
            TT_ASSERT(c.late > 0);
        }
        rows_free(&out);
    }
    free(exp);
    tide_schema_free(s);
}

/* ---- backpressure: a slow sink keeps memory bounded ---- */

typedef struct bp {
    tide_pipe *p;
    uint64_t total;
    size_t calls;
    int stalls, timeouts;
    uint64_t in_at_first_stall;
    uint64_t rows_queued_max, rows_bound;
    long rss_max;
    int bad_len;
} bp;

static long rss_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    fclose(f);
    return rss * sysconf(_SC_PAGESIZE);
}

static uint64_t source_send_waits(tide_pipe *p)
{
    uint64_t w = 0;
    for (size_t i = 0; i < tide_pipe_chan_count(p); i++) {
        tide_chan_stats st;
        const char *name = NULL;
        tide_pipe_chan_stats(p, i, &st, &name);
        if (name && strncmp(name, "source->", 8) == 0)
            w += st.send_waits;
    }
    return w;
}

/* A channel out of the source is full: its next send waits. */
static bool source_chan_full(tide_pipe *p)
{
    for (size_t i = 0; i < tide_pipe_chan_count(p); i++) {
        tide_chan_stats st;
        const char *name = NULL;
        tide_pipe_chan_stats(p, i, &st, &name);
        if (name && strncmp(name, "source->", 8) == 0 && st.len == st.capacity)
            return true;
    }
    return false;
}

/* The slow sink: every 5000th result, wait until the source has blocked on
 * a full channel once more, or is held at a full one now (it may have been
 * blocked already when the wait began), or has read everything. */
static int bp_result(void *ctx, const tide_pipe_result *r)
{
    bp *b = ctx;
    (void)r;
    if (b->calls++ % 5000 != 0)
        return 0;
    uint64_t w0 = source_send_waits(b->p);
    long spins = 0;
    for (;;) {
        tide_pipe_counts c;
        tide_pipe_counts_get(b->p, &c);
        if (source_send_waits(b->p) > w0 || source_chan_full(b->p) || c.in == b->total)
            break;
        if (++spins > 200000000L) {
            b->timeouts++;
            break;
        }
        sched_yield();
    }
    tide_pipe_counts c;
    tide_pipe_counts_get(b->p, &c);
    if (b->stalls++ == 0)
        b->in_at_first_stall = c.in;
    uint64_t q = 0;
    for (size_t i = 0; i < tide_pipe_chan_count(b->p); i++) {
        tide_chan_stats st;
        tide_pipe_chan_stats(b->p, i, &st, NULL);
        q += st.rows_queued;
        if (st.max_len > st.capacity)
            b->bad_len = 1;
    }
    b->rows_queued_max = q > b->rows_queued_max ? q : b->rows_queued_max;
    long rss = rss_bytes();
    b->rss_max = rss > b->rss_max ? rss : b->rss_max;
    return 0;
}

static void test_backpressure(void)
{
    tide_gen_logins_cfg g;
    base_gen(&g, 3000000, 1000, 24 * HOUR);
    tide_pipe_config cfg;
    tide_pipe_config_init(&cfg);
    cfg.source.gen = g;
    cfg.window = tide_win_tumble(MIN);
    tide_winagg_call agg = {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};
    uint32_t key = TIDE_PIPE_LOGINS_USER_ID;
    cfg.aggs = &agg;
    cfg.n_aggs = 1;
    cfg.key_cols = &key;
    cfg.n_key_cols = 1;
    cfg.parallelism = 2;
    cfg.batch_rows = 1024;
    cfg.chan_capacity = 4;
    cfg.on_result = bp_result;
    bp b = {.total = g.events};
    cfg.out_ctx = &b;
    tide_err e = {0};
    long rss0 = rss_bytes();
    TT_OK(tide_pipe_create(&b.p, &cfg, &e));
    TT_OK(tide_pipe_run(b.p, &e));
    tide_pipe_counts c;
    tide_pipe_counts_get(b.p, &c);
    size_t nch = tide_pipe_chan_count(b.p);
    uint64_t bound = 0;
    for (size_t i = 0; i < nch; i++) {
        tide_chan_stats st;
        tide_pipe_chan_stats(b.p, i, &st, NULL);
        bound += (uint64_t)st.capacity * 1024;
    }
    tide_pipe_free(b.p);
    TT_ASSERT_EQ_INT(c.in, g.events);
    TT_ASSERT_EQ_INT(b.timeouts, 0);
    TT_ASSERT(b.stalls > 10);
    TT_ASSERT(!b.bad_len);
    /* the source was held back: at the first stall it had read a small part */
    TT_ASSERT_MSG(b.in_at_first_stall < g.events / 10, "in at first stall %llu",
                  (unsigned long long)b.in_at_first_stall);
    TT_ASSERT(b.rows_queued_max <= bound);
    /* 3M events are ~150 MB as column batches; in flight stays far below */
    fprintf(stderr, "  rss growth %.1f MB, rows queued max %llu (bound %llu)\n",
            (double)(b.rss_max - rss0) / 1e6, (unsigned long long)b.rows_queued_max,
            (unsigned long long)bound);
#if !TT_ASAN
    /* (ASan's quarantine keeps freed batches out of reuse: RSS then says
     * nothing about the pipeline, so this check runs in plain builds only) */
    TT_ASSERT(b.rss_max - rss0 < 64L * 1000 * 1000);
#endif
}

/* ---- a connect/ source: the same events through a CSV file ---- */

static void test_connect_file_source(void)
{
    tide_gen_logins_cfg g;
    base_gen(&g, 50000, 800, 3 * HOUR);
    events ev = {0};
    TT_OK(gen_all(&g, &ev));
    const char *dir = tt_tmpdir("test_pipeline");
    TT_ASSERT(dir != NULL);
    char path[4200];
    snprintf(path, sizeof path, "%s/logins.csv", dir);
    tide_err e = {0};
    TT_OK(tide_gen_logins_write_csv(&g, path, &e));

    row *exp = calloc(ev.n, sizeof *exp);
    for (size_t i = 0; i < ev.n; i++) {
        int64_t s = floor_div(ev.ts[i], HOUR) * HOUR;
        exp[i] = (row){
            .op = TIDE_OP_INSERT, .start = s, .end = s + HOUR, .ki = ev.user[i], .val = 1};
    }
    size_t ne = ev.n;
    group_rows(exp, &ne);

    tide_schema *s = NULL;
    TT_OK(tide_schema_create(&s, &e));
    TT_OK(tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, false, &e));
    TT_OK(tide_schema_add(s, "user_id", TIDE_TYPE_BIGINT, false, &e));
    TT_OK(tide_schema_add(s, "country", TIDE_TYPE_STRING, false, &e));
    TT_OK(tide_schema_add(s, "device", TIDE_TYPE_STRING, false, &e));
    TT_OK(tide_schema_set_time_column(s, 0, &e));
    tide_src_config sc;
    tide_src_config_init(&sc);
    sc.kind = TIDE_SRC_FILE;
    sc.path = path;
    sc.schema = s;
    sc.header = true;

    job j;
    job_init(&j, &g);
    j.cfg.source.kind = TIDE_PIPE_SRC_CONNECT;
    j.cfg.source.conn = &sc;
    j.cfg.window = tide_win_tumble(HOUR);
    j.cfg.wm_bound = g.max_delay_ms + 1; /* delays < B: none late */
    static const uint32_t ps[] = {1, 3};
    for (size_t k = 0; k < 2; k++) {
        rows got;
        tide_pipe_counts c;
        TT_OK(run_job(&j.cfg, ps[k], &got, &c));
        int ok = same_rows(got.v, got.n, exp, ne, "file source");
        rows_free(&got);
        TT_ASSERT_MSG(ok, "P=%u", ps[k]);
        TT_ASSERT_EQ_INT(c.in, ev.n);
        TT_ASSERT_EQ_INT(c.bad, 0);
    }
    tide_schema_free(s);
    free(exp);
    events_free(&ev);
}

/* ---- a connect/ sink: the results as a CSV file ---- */

static void fmt_ts(int64_t ms, char *out, size_t n)
{
    time_t t = (time_t)floor_div(ms, 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, n, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms - floor_div(ms, 1000) * 1000));
}

static void test_connect_file_sink(void)
{
    tide_gen_logins_cfg g;
    base_gen(&g, 40000, 500, 3 * HOUR);
    events ev = {0};
    TT_OK(gen_all(&g, &ev));
    row *exp = calloc(ev.n, sizeof *exp);
    for (size_t i = 0; i < ev.n; i++) {
        int64_t s = floor_div(ev.ts[i], HOUR) * HOUR;
        exp[i] = (row){
            .op = TIDE_OP_INSERT, .start = s, .end = s + HOUR, .ki = ev.user[i], .val = 1};
    }
    size_t ne = ev.n;
    group_rows(exp, &ne);

    const char *dir = tt_tmpdir("test_pipeline_sink");
    TT_ASSERT(dir != NULL);
    char path[4200];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    tide_sink_config kc;
    tide_sink_config_init(&kc);
    kc.kind = TIDE_SINK_FILE;
    kc.path = path;
    kc.header = true;
    static const char *const names[] = {"logins"};
    job j;
    job_init(&j, &g);
    j.cfg.window = tide_win_tumble(HOUR);
    j.cfg.wm_bound = g.max_delay_ms + 1; /* delays < B: none late */
    j.cfg.sink = &kc;
    j.cfg.agg_names = names;
    rows got;
    TT_OK(run_job(&j.cfg, 2, &got, NULL));
    rows_free(&got);

    FILE *f = fopen(path, "r");
    TT_ASSERT(f != NULL);
    char line[256], want[256], a[64], b[64];
    int ok = fgets(line, sizeof line, f) != NULL;
    if (ok && strstr(line, "user_id,window_start,window_end,logins") == NULL) {
        fprintf(stderr, "header: %s", line);
        ok = 0;
    }
    size_t i = 0;
    while (ok && fgets(line, sizeof line, f)) {
        if (i >= ne) {
            ok = 0;
            break;
        }
        fmt_ts(exp[i].start, a, sizeof a);
        fmt_ts(exp[i].end, b, sizeof b);
        snprintf(want, sizeof want, "+I,%lld,%s,%s,%lld\n", (long long)exp[i].ki, a, b,
                 (long long)exp[i].val);
        if (strcmp(line, want) != 0) {
            fprintf(stderr, "line %zu: got %sexpected %s", i + 2, line, want);
            ok = 0;
        }
        i++;
    }
    fclose(f);
    TT_ASSERT(ok);
    TT_ASSERT_EQ_INT(i, ne);
    free(exp);
    events_free(&ev);
}

int main(void)
{
    TT_RUN(test_tumble_count_per_user);
    TT_RUN(test_hop_distinct_per_country);
    TT_RUN(test_session_per_user);
    TT_RUN(test_sessions_global_and_partitioned);
    TT_RUN(test_late_data);
    TT_RUN(test_stateless_filter_project);
    TT_RUN(test_partitions_and_idleness);
    TT_RUN(test_quiet_advance);
    TT_RUN(test_future_records);
    TT_RUN(test_connect_file_source);
    TT_RUN(test_connect_file_sink);
    TT_RUN(test_backpressure);
    TT_DONE();
}
