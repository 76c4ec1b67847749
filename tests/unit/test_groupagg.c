/* test_groupagg.c - the unwindowed GROUP BY operator against a brute-force
 * model: random changelog streams over many keys and seeds, the output
 * changelog applied to a map, a downstream SUM of it, per-record vs
 * mini-batch mode, and the config errors. */
#include "exec/groupagg.h"

#include "snap_tt.h"
#include "tt.h"

#include <math.h>

#include <tide.h>

/* ---- random ------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t rnd_below(uint32_t n)
{
    return (uint32_t)(rnd() % n);
}

/* ---- the model ---------------------------------------------------------- */

#define NK 40    /* keys */
#define NA 6     /* aggregates */
#define MAXROWS 4096
#define VMIN (-5)
#define VMAX 5

/* COUNT(*), COUNT(v), SUM(v), MIN(v), MAX(v), COUNT(DISTINCT v). */
static const tide_groupagg_call calls[NA] = {
    {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL}, {TIDE_AGG_COUNT, 0, TIDE_TYPE_BIGINT},
    {TIDE_AGG_SUM, 0, TIDE_TYPE_BIGINT},      {TIDE_AGG_MIN, 0, TIDE_TYPE_BIGINT},
    {TIDE_AGG_MAX, 0, TIDE_TYPE_BIGINT},      {TIDE_AGG_COUNT_DISTINCT, 0, TIDE_TYPE_BIGINT},
};

typedef struct mrow {
    int key;
    tide_value v;
} mrow;

static mrow live[MAXROWS];
static int n_live;

static tide_value ival(int64_t x)
{
    tide_value v = {.type = TIDE_TYPE_BIGINT, .is_null = false};
    v.u.i64 = x;
    return v;
}

static tide_value nullv(void)
{
    tide_value v = {.type = TIDE_TYPE_BIGINT, .is_null = true};
    return v;
}

/* Brute-force GROUP BY row of key `k`; returns the number of live rows. */
static int brute(int k, tide_value out[NA])
{
    int64_t n = 0, cnt = 0, sum = 0, mn = 0, mx = 0;
    int seen[VMAX - VMIN + 1] = {0};
    for (int i = 0; i < n_live; i++) {
        if (live[i].key != k)
            continue;
        n++;
        if (live[i].v.is_null)
            continue;
        int64_t x = live[i].v.u.i64;
        if (!cnt || x < mn)
            mn = x;
        if (!cnt || x > mx)
            mx = x;
        cnt++;
        sum += x;
        seen[x - VMIN] = 1;
    }
    int64_t d = 0;
    for (int i = 0; i < VMAX - VMIN + 1; i++)
        d += seen[i];
    out[0] = ival(n);
    out[1] = ival(cnt);
    out[2] = cnt ? ival(sum) : nullv();
    out[3] = cnt ? ival(mn) : nullv();
    out[4] = cnt ? ival(mx) : nullv();
    out[5] = ival(d);
    return (int)n;
}

static bool val_eq(const tide_value *a, const tide_value *b)
{
    if (a->is_null || b->is_null)
        return a->is_null == b->is_null;
    return a->type == b->type && a->u.i64 == b->u.i64;
}

static bool row_eq(const tide_value *a, const tide_value *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!val_eq(&a[i], &b[i]))
            return false;
    return true;
}

/* ---- the sink: applies the output changelog to a map -------------------- */

typedef struct sink {
    bool present[NK];
    tide_value vals[NK][NA];
    int64_t total;     /* downstream SUM of COUNT(*) values */
    uint64_t rows;     /* rows received */
    int pending_ub;    /* key of an -U waiting for its +U, or -1 */
    tide_value ub[NA]; /* that -U row */
    const char *error; /* first protocol violation */
    /* mini-batch checks: order within a flush and rows per key */
    char last_key[16];
    uint32_t last_len;
    bool have_last;
    bool check_order; /* mini-batch sink: keys ascend within a flush */
    int rows_this_flush[NK];
} sink;

static void sink_init(sink *s)
{
    memset(s, 0, sizeof *s);
    s->pending_ub = -1;
}

static void sink_new_flush(sink *s)
{
    s->have_last = false;
    memset(s->rows_this_flush, 0, sizeof s->rows_this_flush);
}

static int key_id(const void *key, uint32_t len)
{
    char buf[16];
    if (len < 2 || len >= sizeof buf)
        return -1;
    memcpy(buf, key, len);
    buf[len] = 0;
    int k = atoi(buf + 1);
    return buf[0] == 'k' && k >= 0 && k < NK ? k : -1;
}

static uint32_t key_of(int k, char *buf)
{
    return (uint32_t)snprintf(buf, 16, "k%d", k);
}

static int on_row(void *ctx, const tide_groupagg_row *r)
{
    sink *s = ctx;
    s->rows++;
    int k = key_id(r->key, r->key_len);
    if (k < 0 || r->n_vals != NA) {
        s->error = s->error ? s->error : "bad key or arity";
        return 0;
    }
    s->rows_this_flush[k]++;
    if (s->check_order && s->have_last) {
        uint32_t m = s->last_len < r->key_len ? s->last_len : r->key_len;
        int c = memcmp(s->last_key, r->key, m);
        if (!c)
            c = (s->last_len > r->key_len) - (s->last_len < r->key_len);
        if (c > 0 && !s->error)
            s->error = "keys out of order within a flush";
    }
    memcpy(s->last_key, r->key, r->key_len);
    s->last_len = r->key_len;
    s->have_last = true;
    if (s->pending_ub >= 0 && (r->op != TIDE_OP_UPDATE_AFTER || s->pending_ub != k))
        s->error = s->error ? s->error : "-U not followed by +U of the same key";
    switch (r->op) {
    case TIDE_OP_INSERT:
    case TIDE_OP_UPDATE_AFTER:
        if (s->present[k])
            s->error = s->error ? s->error : "+I/+U of a present row";
        if (r->op == TIDE_OP_UPDATE_AFTER && s->pending_ub != k)
            s->error = s->error ? s->error : "+U without -U";
        if (r->op == TIDE_OP_UPDATE_AFTER && s->pending_ub == k && row_eq(s->ub, r->vals, NA))
            s->error = s->error ? s->error : "-U/+U pair of an unchanged row";
        s->present[k] = true;
        memcpy(s->vals[k], r->vals, NA * sizeof *r->vals);
        s->total += r->vals[0].u.i64;
        s->pending_ub = -1;
        break;
    case TIDE_OP_UPDATE_BEFORE:
    case TIDE_OP_DELETE:
        if (!s->present[k] || !row_eq(s->vals[k], r->vals, NA))
            s->error = s->error ? s->error : "-U/-D does not match the current row";
        s->present[k] = false;
        s->total -= r->vals[0].u.i64;
        s->pending_ub = r->op == TIDE_OP_UPDATE_BEFORE ? k : -1;
        memcpy(s->ub, r->vals, NA * sizeof *r->vals);
        break;
    case TIDE_OP_COUNT:
        s->error = s->error ? s->error : "bad op";
        break;
    }
    return 0;
}

/* The sink's map matches the brute force for every key; returns a message. */
static const char *check_all(const sink *s)
{
    tide_value want[NA];
    for (int k = 0; k < NK; k++) {
        int n = brute(k, want);
        if (s->present[k] != (n > 0))
            return "key presence differs from brute force";
        if (n && !row_eq(s->vals[k], want, NA))
            return "row differs from brute force";
    }
    if (s->total != n_live)
        return "downstream SUM(COUNT(*)) differs from the live row count";
    return NULL;
}

static int keys_with_rows(void)
{
    bool has[NK] = {0};
    int n = 0;
    for (int i = 0; i < n_live; i++)
        if (!has[live[i].key]) {
            has[live[i].key] = true;
            n++;
        }
    return n;
}

/* ---- the property test -------------------------------------------------- */

typedef struct rec {
    int key;
    tide_op op;
    tide_value v;
} rec;

/* Next record(s) of the stream, applied to the model.  Returns how many
 * (1 or 2: an update is -U then +U). */
static int gen(rec out[2])
{
    uint32_t r = rnd_below(100);
    /* hot keys: half of the records go to the first 5 keys */
    int key = rnd_below(2) ? (int)rnd_below(5) : (int)rnd_below(NK);
    tide_value v = rnd_below(10) == 0 ? nullv() : ival(VMIN + (int64_t)rnd_below(VMAX - VMIN + 1));
    if (r < 2) {
        /* a retraction for a key without live rows: ignored */
        tide_value tmp[NA];
        if (brute(key, tmp) == 0) {
            out[0] = (rec){key, TIDE_OP_DELETE, v};
            return 1;
        }
    }
    if (n_live == 0 || (r < 52 && n_live < MAXROWS)) {
        live[n_live++] = (mrow){key, v};
        out[0] = (rec){key, rnd_below(4) ? TIDE_OP_INSERT : TIDE_OP_UPDATE_AFTER, v};
        return 1;
    }
    int i = (int)rnd_below((uint32_t)n_live);
    mrow old = live[i];
    if (r < 80) {
        live[i] = live[--n_live];
        out[0] = (rec){old.key, rnd_below(2) ? TIDE_OP_DELETE : TIDE_OP_UPDATE_BEFORE, old.v};
        return 1;
    }
    live[i].v = v;
    out[0] = (rec){old.key, TIDE_OP_UPDATE_BEFORE, old.v};
    out[1] = (rec){old.key, TIDE_OP_UPDATE_AFTER, v};
    return 2;
}

#define STEPS 3000
#define SEEDS 30
#define PENDMAX 256

static void test_random_streams(void)
{
    TT_FOR_SEEDS(seed, 1, SEEDS) {
        rng_state = seed * 7919;
        n_live = 0;
        static sink sp, sm; /* per-record, mini-batch */
        sink_init(&sp);
        sink_init(&sm);
        sm.check_order = true;
        tide_groupagg_config cp = {.aggs = calls, .n_aggs = NA, .n_inputs = 1,
                                   .retractions = true, .emit = on_row, .ctx = &sp};
        tide_groupagg_config cm = cp;
        cm.mini_batch = true;
        cm.ctx = &sm;
        tide_groupagg *gp = NULL, *gm = NULL;
        tide_err e = {0};
        TT_OK(tide_groupagg_create(&cp, &gp, &e));
        TT_OK(tide_groupagg_create(&cm, &gm, &e));
        /* mini-batch records wait here and go in with push_batch at the flush */
        static char kbuf[PENDMAX][16];
        static const void *kp[PENDMAX];
        static uint32_t kl[PENDMAX];
        static tide_op ops[PENDMAX];
        static tide_value vals[PENDMAX];
        size_t npend = 0;
        uint32_t next_flush = 1 + rnd_below(60);
        uint64_t ignored = 0, pushed = 0;
        const char *err = NULL;
        for (int step = 0; step < STEPS && !err; step++) {
            rec rs[2];
            int nr = gen(rs);
            for (int j = 0; j < nr; j++) {
                char kb[16];
                uint32_t klen = key_of(rs[j].key, kb);
                if (tide_groupagg_push(gp, kb, klen, rs[j].op, &rs[j].v, &e)) {
                    err = "per-record push failed";
                    break;
                }
                pushed++;
                memcpy(kbuf[npend], kb, klen);
                kp[npend] = kbuf[npend];
                kl[npend] = klen;
                ops[npend] = rs[j].op;
                vals[npend] = rs[j].v;
                npend++;
            }
            if (err)
                break;
            /* (1) + (2) at every point of the per-record output */
            if (sp.error || (err = check_all(&sp)))
                break;
            if ((int)tide_groupagg_keys(gp) != keys_with_rows()) {
                err = "per-record operator holds the wrong number of keys";
                break;
            }
            if (npend + 2 > PENDMAX || --next_flush == 0 || step == STEPS - 1) {
                sink_new_flush(&sm);
                if (tide_groupagg_push_batch(gm, npend, kp, kl, ops, vals, &e) ||
                    tide_groupagg_flush(gm, &e)) {
                    err = "mini-batch push/flush failed";
                    break;
                }
                npend = 0;
                next_flush = 1 + rnd_below(60);
                /* (1) + (2) for the mini-batch output at every flush */
                if (sm.error || (err = check_all(&sm)))
                    break;
                /* (3) equal to the per-record output after compaction: same
                 * map, at most one -U/+U pair per key, fewer rows */
                for (int k = 0; k < NK && !err; k++) {
                    if (sm.rows_this_flush[k] > 2)
                        err = "more than 2 rows of a key in one flush";
                    if (sm.present[k] != sp.present[k] ||
                        (sm.present[k] && !row_eq(sm.vals[k], sp.vals[k], NA)))
                        err = "mini-batch map differs from per-record map";
                }
                if (!err && sm.rows > sp.rows)
                    err = "mini-batch emitted more rows than per-record";
                if (!err && ((int)tide_groupagg_keys(gm) != keys_with_rows() ||
                             tide_groupagg_pending(gm) != 0))
                    err = "mini-batch operator holds the wrong number of keys";
            }
        }
        (void)ignored;
        if (!err && sp.error)
            err = sp.error;
        if (!err && sm.error)
            err = sm.error;
        if (!err && tide_groupagg_ignored(gp) != tide_groupagg_ignored(gm))
            err = "ignored retraction counts differ";
        if (err) {
            TT_SEED(seed);
            fprintf(stderr, "  %s (%s)\n", err, e.msg);
        }
        tide_groupagg_free(gp);
        tide_groupagg_free(gm);
        TT_ASSERT_MSG(err == NULL, "seed %" PRIu64 ": %s", seed, err);
        TT_ASSERT(pushed > STEPS);
        TT_ASSERT(sm.rows < sp.rows);
    }
}

/* ---- deterministic cases ------------------------------------------------ */

typedef struct logrow {
    tide_op op;
    int64_t v;
    bool null;
} logrow;

typedef struct evlog {
    logrow r[64];
    int n;
    int fail_at; /* return TIDE_EIO at this row (1-based); 0: never */
} evlog;

static int on_log(void *ctx, const tide_groupagg_row *row)
{
    evlog *l = ctx;
    if (l->fail_at && l->n + 1 == l->fail_at)
        return TIDE_EIO;
    if (l->n < 64)
        l->r[l->n++] = (logrow){row->op, row->vals[0].u.i64, row->vals[0].is_null};
    return 0;
}

static void test_unchanged_result_emits_nothing(void)
{
    tide_groupagg_call mx = {TIDE_AGG_MAX, 0, TIDE_TYPE_BIGINT};
    evlog l = {0};
    tide_groupagg_config c = {.aggs = &mx, .n_aggs = 1, .n_inputs = 1, .retractions = true,
                              .emit = on_log, .ctx = &l};
    tide_groupagg *g;
    tide_err e = {0};
    TT_OK(tide_groupagg_create(&c, &g, &e));
    tide_value v5 = ival(5), v3 = ival(3), v7 = ival(7);
    TT_OK(tide_groupagg_push(g, "a", 1, TIDE_OP_INSERT, &v5, &e)); /* +I 5 */
    TT_OK(tide_groupagg_push(g, "a", 1, TIDE_OP_INSERT, &v3, &e)); /* nothing */
    TT_ASSERT_EQ_INT(l.n, 1);
    TT_OK(tide_groupagg_push(g, "a", 1, TIDE_OP_INSERT, &v7, &e)); /* -U 5 +U 7 */
    TT_OK(tide_groupagg_push(g, "a", 1, TIDE_OP_DELETE, &v3, &e)); /* nothing */
    TT_OK(tide_groupagg_push(g, "a", 1, TIDE_OP_DELETE, &v7, &e)); /* -U 7 +U 5 */
    TT_OK(tide_groupagg_push(g, "a", 1, TIDE_OP_DELETE, &v5, &e)); /* -D 5 */
    TT_OK(tide_groupagg_push(g, "a", 1, TIDE_OP_DELETE, &v5, &e)); /* ignored */
    static const logrow want[] = {
        {TIDE_OP_INSERT, 5, false},       {TIDE_OP_UPDATE_BEFORE, 5, false},
        {TIDE_OP_UPDATE_AFTER, 7, false}, {TIDE_OP_UPDATE_BEFORE, 7, false},
        {TIDE_OP_UPDATE_AFTER, 5, false}, {TIDE_OP_DELETE, 5, false},
    };
    TT_ASSERT_EQ_INT(l.n, 6);
    for (int i = 0; i < 6; i++) {
        TT_ASSERT_EQ_INT(l.r[i].op, want[i].op);
        TT_ASSERT_EQ_INT(l.r[i].v, want[i].v);
    }
    TT_ASSERT_EQ_INT(tide_groupagg_keys(g), 0);
    TT_ASSERT_EQ_INT(tide_groupagg_ignored(g), 1);
    tide_groupagg_free(g);
}

static void test_mini_batch_compacts(void)
{
    tide_groupagg_call cnt = {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};
    evlog l = {0};
    tide_groupagg_config c = {.aggs = &cnt, .n_aggs = 1, .n_inputs = 0, .retractions = true,
                              .mini_batch = true, .emit = on_log, .ctx = &l};
    tide_groupagg *g;
    tide_err e = {0};
    TT_OK(tide_groupagg_create(&c, &g, &e));
    for (int i = 0; i < 100; i++)
        TT_OK(tide_groupagg_push(g, "b", 1, TIDE_OP_INSERT, NULL, &e));
    TT_OK(tide_groupagg_push(g, "a", 1, TIDE_OP_INSERT, NULL, &e));
    TT_OK(tide_groupagg_push(g, "c", 1, TIDE_OP_INSERT, NULL, &e));
    TT_OK(tide_groupagg_push(g, "c", 1, TIDE_OP_DELETE, NULL, &e)); /* appears and vanishes */
    TT_ASSERT_EQ_INT(l.n, 0);
    TT_ASSERT_EQ_INT(tide_groupagg_pending(g), 3);
    TT_OK(tide_groupagg_flush(g, &e));
    TT_ASSERT_EQ_INT(l.n, 2); /* +I a 1, +I b 100 (sorted), nothing for c */
    TT_ASSERT_EQ_INT(l.r[0].v, 1);
    TT_ASSERT_EQ_INT(l.r[1].v, 100);
    TT_ASSERT_EQ_INT(tide_groupagg_keys(g), 2);
    for (int i = 0; i < 50; i++)
        TT_OK(tide_groupagg_push(g, "b", 1, TIDE_OP_DELETE, NULL, &e));
    TT_OK(tide_groupagg_push(g, "a", 1, TIDE_OP_DELETE, NULL, &e));
    TT_OK(tide_groupagg_flush(g, &e));
    TT_ASSERT_EQ_INT(l.n, 5); /* -D a 1, -U b 100, +U b 50 */
    TT_ASSERT_EQ_INT(l.r[2].op, TIDE_OP_DELETE);
    TT_ASSERT_EQ_INT(l.r[2].v, 1);
    TT_ASSERT_EQ_INT(l.r[3].op, TIDE_OP_UPDATE_BEFORE);
    TT_ASSERT_EQ_INT(l.r[3].v, 100);
    TT_ASSERT_EQ_INT(l.r[4].op, TIDE_OP_UPDATE_AFTER);
    TT_ASSERT_EQ_INT(l.r[4].v, 50);
    TT_ASSERT_EQ_INT(tide_groupagg_keys(g), 1);
    TT_OK(tide_groupagg_flush(g, &e)); /* nothing pending */
    TT_ASSERT_EQ_INT(l.n, 5);
    tide_groupagg_free(g);
}

static void test_non_invertible_rejected(void)
{
    tide_groupagg_call calls2[2] = {{TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL},
                                    {TIDE_AGG_APPROX_COUNT_DISTINCT, 0, TIDE_TYPE_BIGINT}};
    evlog l = {0};
    tide_groupagg_config c = {.aggs = calls2, .n_aggs = 2, .n_inputs = 1, .retractions = true,
                              .emit = on_log, .ctx = &l};
    tide_groupagg *g = NULL;
    tide_err e = {0};
    TT_ASSERT_EQ_INT(tide_groupagg_create(&c, &g, &e), TIDE_EUNSUPPORTED);
    TT_ASSERT(g == NULL);
    TT_ASSERT(strstr(e.msg, "APPROX_COUNT_DISTINCT") != NULL);
    /* insert-only input: fine, and a retraction is refused without failing */
    c.retractions = false;
    tide_err e2 = {0};
    TT_OK(tide_groupagg_create(&c, &g, &e2));
    tide_value v = ival(3);
    TT_OK(tide_groupagg_push(g, "k", 1, TIDE_OP_INSERT, &v, &e2));
    tide_err e3 = {0};
    TT_ASSERT_EQ_INT(tide_groupagg_push(g, "k", 1, TIDE_OP_DELETE, &v, &e3), TIDE_EUNSUPPORTED);
    TT_OK(tide_groupagg_push(g, "k", 1, TIDE_OP_INSERT, &v, &e2));
    TT_ASSERT_EQ_INT(l.n, 3); /* +I (1, 1), -U, +U (2, 1) */
    TT_ASSERT_EQ_INT(l.r[2].v, 2);
    tide_groupagg_free(g);
    /* MIN(STRING): supported (the previous result is a copy) */
    tide_groupagg_call mn = {TIDE_AGG_MIN, 0, TIDE_TYPE_STRING};
    tide_groupagg_config c2 = {.aggs = &mn, .n_aggs = 1, .n_inputs = 1, .emit = on_log, .ctx = &l};
    tide_err e4 = {0};
    TT_OK(tide_groupagg_create(&c2, &g, &e4));
    tide_groupagg_free(g);
    tide_groupagg_free(NULL);
}

static void test_callback_failure_sticks(void)
{
    tide_groupagg_call cnt = {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};
    evlog l = {.fail_at = 3};
    tide_groupagg_config c = {.aggs = &cnt, .n_aggs = 1, .emit = on_log, .ctx = &l};
    tide_groupagg *g;
    tide_err e = {0};
    TT_OK(tide_groupagg_create(&c, &g, &e));
    TT_OK(tide_groupagg_push(g, "x", 1, TIDE_OP_INSERT, NULL, &e)); /* +I */
    /* -U is row 2, +U row 3 fails */
    TT_ASSERT_EQ_INT(tide_groupagg_push(g, "x", 1, TIDE_OP_INSERT, NULL, &e), TIDE_EIO);
    tide_err e2 = {0};
    TT_ASSERT_EQ_INT(tide_groupagg_push(g, "y", 1, TIDE_OP_INSERT, NULL, &e2), TIDE_EIO);
    TT_ASSERT_EQ_INT(tide_groupagg_flush(g, &e2), TIDE_EIO);
    tide_groupagg_free(g);
}

static void test_sum_overflow_fails(void)
{
    tide_groupagg_call s = {TIDE_AGG_SUM, 0, TIDE_TYPE_BIGINT};
    evlog l = {0};
    tide_groupagg_config c = {.aggs = &s, .n_aggs = 1, .n_inputs = 1, .emit = on_log, .ctx = &l};
    tide_groupagg *g;
    tide_err e = {0};
    TT_OK(tide_groupagg_create(&c, &g, &e));
    tide_value big = ival(INT64_MAX);
    TT_OK(tide_groupagg_push(g, "x", 1, TIDE_OP_INSERT, &big, &e));
    TT_ASSERT_EQ_INT(tide_groupagg_push(g, "x", 1, TIDE_OP_INSERT, &big, &e), TIDE_ERANGE);
    TT_ASSERT_EQ_INT(l.n, 1);
    tide_groupagg_free(g);
}

typedef struct dsink {
    int n;
    tide_op op[16];
    double sum[16], avg[16];
} dsink;

static int on_dbl(void *ctx, const tide_groupagg_row *row)
{
    dsink *d = ctx;
    if (d->n < 16) {
        d->op[d->n] = row->op;
        d->sum[d->n] = row->vals[0].u.f64;
        d->avg[d->n] = row->vals[1].u.f64;
        d->n++;
    }
    return 0;
}

/* A key whose rows all went away starts again from a fresh state, in both
 * modes: no residue of the retracted DOUBLE values. */
static void test_double_key_reuse_is_fresh(void)
{
    tide_groupagg_call c2[2] = {{TIDE_AGG_SUM, 0, TIDE_TYPE_DOUBLE},
                                {TIDE_AGG_AVG, 0, TIDE_TYPE_DOUBLE}};
    for (int mini = 0; mini < 2; mini++) {
        dsink d = {0};
        tide_groupagg_config c = {.aggs = c2, .n_aggs = 2, .n_inputs = 1, .retractions = true,
                                  .mini_batch = mini, .emit = on_dbl, .ctx = &d};
        tide_groupagg *g;
        tide_err e = {0};
        TT_OK(tide_groupagg_create(&c, &g, &e));
        tide_value v[4] = {{.type = TIDE_TYPE_DOUBLE}, {.type = TIDE_TYPE_DOUBLE},
                           {.type = TIDE_TYPE_DOUBLE}, {.type = TIDE_TYPE_DOUBLE}};
        v[0].u.f64 = 1e20;
        v[1].u.f64 = 0.1;
        v[2].u.f64 = -7.3;
        v[3].u.f64 = 3.0;
        for (int i = 0; i < 3; i++)
            TT_OK(tide_groupagg_push(g, "d", 1, TIDE_OP_INSERT, &v[i], &e));
        for (int i = 0; i < 3; i++)
            TT_OK(tide_groupagg_push(g, "d", 1, TIDE_OP_DELETE, &v[i], &e));
        TT_OK(tide_groupagg_push(g, "d", 1, TIDE_OP_INSERT, &v[3], &e));
        TT_OK(tide_groupagg_flush(g, &e));
        TT_ASSERT(d.n >= 1);
        TT_ASSERT(d.sum[d.n - 1] == 3.0);
        TT_ASSERT(d.avg[d.n - 1] == 3.0);
        if (mini) { /* one +I: the key never was live downstream before */
            TT_ASSERT_EQ_INT(d.n, 1);
            TT_ASSERT_EQ_INT(d.op[0], TIDE_OP_INSERT);
        } else { /* +I, 4 x -U/+U, -D, +I */
            TT_ASSERT_EQ_INT(d.n, 11);
            TT_ASSERT_EQ_INT(d.op[9], TIDE_OP_DELETE);
            TT_ASSERT_EQ_INT(d.op[10], TIDE_OP_INSERT);
        }
        tide_groupagg_free(g);
    }
}

/* ---- snapshot / restore --------------------------------------------------
 *
 * The property: a changelog stream from the model's generator (gen), cut
 * anywhere by a snapshot, a restore into a fresh operator and the free of
 * the original, gives the complete output of the uninterrupted run (rows,
 * order, values to the bit, the ignored count), in per-record and
 * mini-batch mode (cuts fall between flushes, with keys pending), with
 * retractions (invertible forms: retractable MIN/MAX, distinct counts, DOUBLE
 * sums with infinities and NaN) and insert-only (every aggregate kind incl.
 * APPROX_COUNT_DISTINCT). */

#define GNA 15
/* v BIGINT, d DOUBLE (from v: infinities, NaN and -0.0 among them), s STRING */
static const tide_groupagg_call gcalls[GNA] = {
    {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL},      {TIDE_AGG_COUNT, 0, TIDE_TYPE_BIGINT},
    {TIDE_AGG_SUM, 0, TIDE_TYPE_BIGINT},           {TIDE_AGG_MIN, 0, TIDE_TYPE_BIGINT},
    {TIDE_AGG_MAX, 0, TIDE_TYPE_BIGINT},           {TIDE_AGG_AVG, 0, TIDE_TYPE_BIGINT},
    {TIDE_AGG_COUNT_DISTINCT, 0, TIDE_TYPE_BIGINT}, {TIDE_AGG_SUM, 1, TIDE_TYPE_DOUBLE},
    {TIDE_AGG_AVG, 1, TIDE_TYPE_DOUBLE},           {TIDE_AGG_MIN, 1, TIDE_TYPE_DOUBLE},
    {TIDE_AGG_MAX, 1, TIDE_TYPE_DOUBLE},           {TIDE_AGG_COUNT_DISTINCT, 1, TIDE_TYPE_DOUBLE},
    {TIDE_AGG_COUNT_DISTINCT, 2, TIDE_TYPE_STRING},
    {TIDE_AGG_APPROX_COUNT_DISTINCT, 0, TIDE_TYPE_BIGINT}, /* insert-only configs */
    {TIDE_AGG_APPROX_COUNT_DISTINCT, 2, TIDE_TYPE_STRING},
};

typedef struct grec {
    int key;
    tide_op op;
    tide_value in[3];
    bool flush; /* mini-batch: flush after this record */
} grec;

static const char *const gstr[] = {"m5", "m4", "", "m2", "m1", "zero", "p1", "p2",
                                   "a string longer than sixteen bytes", "p4", "p5"};

static grec grec_of(const rec *r)
{
    grec g = {.key = r->key, .op = r->op};
    g.in[0] = r->v;
    g.in[1] = (tide_value){.type = TIDE_TYPE_DOUBLE, .is_null = r->v.is_null};
    g.in[2] = (tide_value){.type = TIDE_TYPE_STRING, .is_null = r->v.is_null};
    if (!r->v.is_null) {
        int64_t x = r->v.u.i64;
        g.in[1].u.f64 = x == VMAX ? INFINITY : x == VMIN ? NAN : x == 0 ? -0.0 : (double)x * 0.1;
        const char *s = gstr[x - VMIN];
        g.in[2].u.s.ptr = s;
        g.in[2].u.s.len = (uint32_t)strlen(s);
    }
    return g;
}

static int glog_emit(void *ctx, const tide_groupagg_row *row)
{
    tide_buf *b = ctx;
    slog_i64(b, 'R');
    slog_i64(b, row->op);
    slog_bytes(b, row->key, row->key_len);
    slog_values(b, row->vals, row->n_vals);
    return 0;
}

/* The stream, config and push pattern of `seed`: returns the record count. */
static int gcase_of(uint64_t seed, tide_groupagg_config *cfg, grec *recs, int maxn, bool *batches)
{
    rng_state = seed * 7919 + 13;
    n_live = 0;
    memset(cfg, 0, sizeof *cfg);
    cfg->retractions = seed % 2 == 0;
    cfg->mini_batch = (seed / 2) % 2 == 1;
    cfg->aggs = gcalls;
    cfg->n_aggs = cfg->retractions ? GNA - 2 : GNA;
    cfg->n_inputs = 3;
    cfg->capacity_hint = rnd_below(2) ? 0 : 64;
    *batches = rnd_below(2);
    if (!cfg->retractions) /* HLL results scan 16 Ki registers: shorter runs */
        maxn = maxn / 4 + 2;
    int n = 0, want = 1 + (int)rnd_below((uint32_t)maxn - 1);
    uint32_t flush_every = 1 + rnd_below(60);
    while (n < want) {
        rec rs[2];
        int nr = gen(rs);
        for (int j = 0; j < nr && n < want; j++) {
            bool retraction = rs[j].op == TIDE_OP_UPDATE_BEFORE || rs[j].op == TIDE_OP_DELETE;
            if (retraction && !cfg->retractions)
                continue;
            recs[n] = grec_of(&rs[j]);
            recs[n].flush = rnd_below(flush_every) == 0;
            n++;
        }
    }
    return n;
}

typedef const char *(*gcut_fn)(tide_groupagg **op, const tide_groupagg_config *cfg, void *ctx);

static const char *g_no_cut(tide_groupagg **op, const tide_groupagg_config *cfg, void *ctx)
{
    (void)op, (void)cfg, (void)ctx;
    return NULL;
}

static const char *g_snap_cut(tide_groupagg **op, const tide_groupagg_config *cfg, void *ctx)
{
    uint64_t *cuts = ctx;
    tide_buf a = {0}, b = {0}, c = {0};
    tide_err e = {0};
    tide_groupagg *fresh = NULL;
    const char *why = NULL;
    if (tide_groupagg_snapshot(*op, &a, &e) || tide_groupagg_snapshot(*op, &b, &e))
        why = "snapshot failed";
    else if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
        why = "two snapshots of one state differ";
    else if (tide_groupagg_create(cfg, &fresh, &e) ||
             tide_groupagg_restore(fresh, a.data, a.len, &e))
        why = "restore failed";
    else if (tide_groupagg_pending(fresh) != tide_groupagg_pending(*op) ||
             tide_groupagg_keys(fresh) != tide_groupagg_keys(*op))
        why = "the restored operator holds other counts";
    else if (tide_groupagg_snapshot(fresh, &c, &e))
        why = "snapshot of the restored operator failed";
    else if (c.len != a.len || memcmp(c.data, a.data, a.len) != 0)
        why = "the restored operator snapshots to other bytes";
    if (why) {
        fprintf(stderr, "  cut: %s (%s)\n", why, e.msg);
        tide_groupagg_free(fresh);
    } else {
        tide_groupagg_free(*op);
        *op = fresh;
        ++*cuts;
    }
    tide_buf_free(&a);
    tide_buf_free(&b);
    tide_buf_free(&c);
    return why;
}

/* Push recs (one by one, or in batches that end at flushes and cuts),
 * flushing where marked (mini-batch), cutting before the records at
 * cuts[0, ncuts) (ascending; n: before the final flush).  The rows, a mark
 * per flush and the final counts go to `log`. */
static const char *gdrive(const tide_groupagg_config *base, const grec *recs, int n, bool batches,
                          const int *cuts, int ncuts, tide_buf *log, gcut_fn cut, void *cut_ctx)
{
    tide_groupagg_config cfg = *base;
    cfg.emit = glog_emit;
    cfg.ctx = log;
    tide_groupagg *op = NULL;
    tide_err e = {0};
    const char *why = NULL;
    if (tide_groupagg_create(&cfg, &op, &e))
        return "create failed";
    enum { GB = 32 };
    char kb[GB][16];
    const void *kp[GB];
    uint32_t kl[GB];
    tide_op ops[GB];
    tide_value in[GB * 3];
    size_t bn = 0;
    int ci = 0;
    for (int j = 0; j <= n && !why; j++) {
        while (ci < ncuts && cuts[ci] == j && !why)
            why = cut(&op, &cfg, cut_ctx), ci++;
        if (why || j == n)
            break;
        const grec *r = &recs[j];
        kl[bn] = key_of(r->key, kb[bn]);
        kp[bn] = kb[bn];
        ops[bn] = r->op;
        memcpy(&in[3 * bn], r->in, sizeof r->in);
        bn++;
        bool flush = !batches || bn == GB || r->flush || j + 1 == n ||
                     (ci < ncuts && cuts[ci] == j + 1);
        if (flush) {
            int rc = bn == 1 ? tide_groupagg_push(op, kp[0], kl[0], ops[0], in, &e)
                             : tide_groupagg_push_batch(op, bn, kp, kl, ops, in, &e);
            bn = 0;
            if (rc)
                why = "push failed";
        }
        if (!why && r->flush) {
            slog_i64(log, 'F');
            if (tide_groupagg_flush(op, &e))
                why = "flush failed";
        }
    }
    if (!why && tide_groupagg_flush(op, &e))
        why = "final flush failed";
    if (!why) {
        slog_i64(log, (int64_t)tide_groupagg_ignored(op));
        slog_i64(log, (int64_t)tide_groupagg_keys(op));
        slog_i64(log, (int64_t)tide_groupagg_pending(op));
    }
    if (why)
        fprintf(stderr, "  drive: %s (%s)\n", why, e.msg);
    tide_groupagg_free(op);
    return why;
}

static int gcmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static void test_snapshot_cut_anywhere(void)
{
    int count = TT_ASAN ? 60 : 200; /* (ASan: the damage tests matter more) */
    uint64_t first = snap_tt_seeds(1, &count);
    uint64_t ncut = 0, rows = 0;
    static grec recs[800];
    for (int iter = 0; iter < count; iter++) {
        uint64_t seed = first + (uint64_t)iter;
        tide_groupagg_config cfg;
        bool batches;
        int n = gcase_of(seed, &cfg, recs, 800, &batches);
        uint64_t s = seed ^ 0xabcdef;
        int cuts[6], ncuts = 1 + (int)(tt_rand(&s) % 6);
        for (int i = 0; i < ncuts; i++)
            cuts[i] = (int)(tt_rand(&s) % (uint64_t)(n + 1));
        qsort(cuts, (size_t)ncuts, sizeof *cuts, gcmp_int);
        tide_buf whole = {0}, cut = {0};
        const char *why = gdrive(&cfg, recs, n, batches, cuts, ncuts, &whole, g_no_cut, NULL);
        if (!why)
            why = gdrive(&cfg, recs, n, batches, cuts, ncuts, &cut, g_snap_cut, &ncut);
        long at = why ? -1 : slog_diff(&whole, &cut);
        if (why || at >= 0)
            SNAP_TT_FAILED(seed, "%s; output differs at byte %ld of %zu / %zu (%s, %s, %d records)",
                           why ? why : "ok", at, whole.len, cut.len,
                           cfg.retractions ? "retractions" : "insert-only",
                           cfg.mini_batch ? "mini-batch" : "per record", n);
        rows += whole.len;
        tide_buf_free(&whole);
        tide_buf_free(&cut);
        TT_ASSERT(!why && at < 0);
    }
    if (count == 200)
        TT_ASSERT(ncut > 500 && rows > 1000000);
}

/* Restores into one operator while they are refused; an accepted one is
 * snapshotted and dropped. */
typedef struct gfix {
    tide_groupagg_config cfg;
    tide_groupagg *op;
    uint64_t seed;
    int accepted;
    const char *why;
} gfix;

static int gfix_restore(void *ctx, const void *buf, size_t len, tide_err *e)
{
    gfix *f = ctx;
    if (!f->op && tide_groupagg_create(&f->cfg, &f->op, NULL))
        return TIDE_ENOMEM;
    int rc = tide_groupagg_restore(f->op, buf, len, e);
    if (rc == 0) {
        tide_buf again = {0};
        if (tide_groupagg_snapshot(f->op, &again, NULL))
            f->why = "snapshot of an accepted changed payload failed";
        tide_buf_free(&again);
        tide_groupagg_free(f->op);
        f->op = NULL;
    } else if (tide_groupagg_keys(f->op) || tide_groupagg_pending(f->op) ||
               tide_groupagg_ignored(f->op)) {
        f->why = "a refused restore left state behind";
    }
    return rc;
}

static const char *g_damage_cut(tide_groupagg **op, const tide_groupagg_config *cfg, void *ctx)
{
    gfix *f = ctx;
    tide_buf a = {0};
    tide_err e = {0};
    const char *why = NULL;
    size_t where = 0;
    f->cfg = *cfg;
    if (tide_groupagg_snapshot(*op, &a, &e))
        why = "snapshot failed";
    if (!why && (why = snap_tt_damage(a.data, a.len, 400, f->seed, gfix_restore, f, &where)))
        fprintf(stderr, "  byte %zu of %zu\n", where, a.len);
    if (!why)
        why = snap_tt_fuzz(a.data, a.len, 0, 300, f->seed, gfix_restore, f, &f->accepted);
    if (!why && f->why)
        why = f->why;
    if (!why && !f->op && tide_groupagg_create(cfg, &f->op, &e))
        why = "create failed";
    if (!why && tide_groupagg_restore(f->op, a.data, a.len, &e))
        why = "restore after refusals failed";
    if (!why) {
        tide_groupagg_free(*op);
        *op = f->op;
        f->op = NULL;
    }
    tide_buf_free(&a);
    return why;
}

/* Every single-byte change and truncation of mid-run snapshots (each mode)
 * refused; changed payloads behind a valid checksum read without a crash or
 * leak; the operator those refusals left finishes the run exactly. */
static void test_snapshot_damage(void)
{
    int count = 8;
    uint64_t first = snap_tt_seeds(100, &count);
    int accepted = 0;
    static grec recs[400];
    for (int iter = 0; iter < count; iter++) {
        uint64_t seed = first + (uint64_t)iter;
        tide_groupagg_config cfg;
        bool batches;
        int n = gcase_of(seed, &cfg, recs, 400, &batches);
        if (!cfg.retractions)
            cfg.n_aggs = GNA - 2; /* HLL sketches are 16 KiB: too big to damage byte by byte */
        int cuts[1] = {n / 2};
        gfix f = {.seed = seed};
        tide_buf whole = {0}, cut = {0};
        const char *why = gdrive(&cfg, recs, n, batches, cuts, 1, &whole, g_no_cut, NULL);
        if (!why)
            why = gdrive(&cfg, recs, n, batches, cuts, 1, &cut, g_damage_cut, &f);
        long at = why ? -1 : slog_diff(&whole, &cut);
        if (why || at >= 0)
            SNAP_TT_FAILED(seed, "%s; output differs at byte %ld", why ? why : "ok", at);
        tide_groupagg_free(f.op);
        tide_buf_free(&whole);
        tide_buf_free(&cut);
        accepted += f.accepted;
        TT_ASSERT(!why && at < 0);
    }
    if (count > 1)
        TT_ASSERT(accepted > 0);
}

static void test_snapshot_refusals(void)
{
    tide_buf log = {0};
    tide_groupagg_config base = {.aggs = gcalls, .n_aggs = GNA - 2, .n_inputs = 3,
                                 .retractions = true, .mini_batch = true, .emit = glog_emit,
                                 .ctx = &log};
    tide_groupagg *op, *other;
    tide_err e = {0};
    TT_OK(tide_groupagg_create(&base, &op, &e));
    rec r = {1, TIDE_OP_INSERT, ival(3)};
    grec g = grec_of(&r);
    TT_OK(tide_groupagg_push(op, "k1", 2, TIDE_OP_INSERT, g.in, &e));
    TT_OK(tide_groupagg_flush(op, &e));
    TT_OK(tide_groupagg_push(op, "k2", 2, TIDE_OP_INSERT, g.in, &e));
    tide_buf snap = {0};
    TT_OK(tide_groupagg_snapshot(op, &snap, &e));
    tide_groupagg_call other_calls[GNA];
    memcpy(other_calls, gcalls, sizeof other_calls);
    other_calls[4].type = TIDE_TYPE_TIMESTAMP;
    struct {
        const char *field;
        tide_groupagg_config cfg;
    } diff[5] = {{"aggregate count", base}, {"aggregate 4", base}, {"input count", base},
                 {"retractions", base},     {"mini-batch", base}};
    diff[0].cfg.n_aggs = GNA - 3;
    diff[1].cfg.aggs = other_calls;
    diff[2].cfg.n_inputs = 4;
    diff[3].cfg.retractions = false;
    diff[4].cfg.mini_batch = false;
    for (int i = 0; i < 5; i++) {
        TT_OK(tide_groupagg_create(&diff[i].cfg, &other, &e));
        tide_err_clear(&e);
        TT_ASSERT_EQ_INT(tide_groupagg_restore(other, snap.data, snap.len, &e), TIDE_EINVAL);
        TT_ASSERT_MSG(strstr(e.msg, diff[i].field) != NULL, "%s", e.msg);
        tide_groupagg_free(other);
    }
    /* another kind, not fresh, then the real one */
    tide_buf fake = {0};
    tide_snap_w w;
    tide_snap_begin(&w, &fake, "winagg", 1);
    TT_OK(tide_snap_end(&w, &e));
    TT_OK(tide_groupagg_create(&base, &other, &e));
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_groupagg_restore(other, fake.data, fake.len, &e), TIDE_ECORRUPT);
    TT_ASSERT(strstr(e.msg, "winagg") != NULL);
    TT_OK(tide_groupagg_restore(other, snap.data, snap.len, &e));
    TT_ASSERT_EQ_INT(tide_groupagg_pending(other), 1);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_groupagg_restore(other, snap.data, snap.len, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "fresh") != NULL);
    /* the pending key is emitted by the restored operator's flush, as by the original */
    size_t mark = log.len;
    TT_OK(tide_groupagg_flush(op, &e));
    tide_buf a = {0};
    slog_raw(&a, log.data + mark, log.len - mark);
    log.len = mark;
    TT_OK(tide_groupagg_flush(other, &e));
    TT_ASSERT(log.len - mark == a.len && a.len > 0 &&
              memcmp(log.data + mark, a.data, a.len) == 0);
    tide_groupagg_free(other);
    /* a failed operator has no snapshot */
    tide_groupagg_call s1 = {TIDE_AGG_SUM, 0, TIDE_TYPE_BIGINT};
    tide_groupagg_config cs = {.aggs = &s1, .n_aggs = 1, .n_inputs = 1, .emit = glog_emit,
                               .ctx = &log};
    TT_OK(tide_groupagg_create(&cs, &other, &e));
    tide_value big = ival(INT64_MAX);
    TT_OK(tide_groupagg_push(other, "x", 1, TIDE_OP_INSERT, &big, &e));
    TT_ASSERT(tide_groupagg_push(other, "x", 1, TIDE_OP_INSERT, &big, NULL) == TIDE_ERANGE);
    tide_buf none = {0};
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_groupagg_snapshot(other, &none, &e), TIDE_EFAILED);
    TT_ASSERT(none.len == 0);
    tide_groupagg_free(other);
    tide_groupagg_free(op);
    tide_buf_free(&snap);
    tide_buf_free(&fake);
    tide_buf_free(&log);
    tide_buf_free(&a);
}

int main(void)
{
    TT_RUN(test_random_streams);
    TT_RUN(test_unchanged_result_emits_nothing);
    TT_RUN(test_mini_batch_compacts);
    TT_RUN(test_non_invertible_rejected);
    TT_RUN(test_callback_failure_sticks);
    TT_RUN(test_sum_overflow_fails);
    TT_RUN(test_double_key_reuse_is_fresh);
    TT_RUN(test_snapshot_cut_anywhere);
    TT_RUN(test_snapshot_damage);
    TT_RUN(test_snapshot_refusals);
    TT_DONE();
}
