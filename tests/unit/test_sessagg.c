/* Unit tests of exec/sessagg.h: session windows over a partition key (or
 * the whole input), aggregated per key inside each session.
 *
 *   test_global_vs_brute_force   random inputs within the bound, sessions
 *                                over the whole input and per partition:
 *                                the final rows equal sort-and-merge per
 *                                partition, then group by key
 *   test_model_with_lateness     random inputs with late records, lateness
 *                                and watermarks at end - 2, end - 1, end:
 *                                after every step the materialised output
 *                                equals a step model written from the rule,
 *                                and so does the late count
 *   test_per_key_like_winagg     with the partition key = the whole key the
 *                                changelog is winagg's, row for row (every
 *                                mode, early firings, lateness)
 *   test_snapshot_cut_anywhere   a run cut anywhere by snapshot, restore
 *                                into a fresh operator and free of the old
 *                                one emits the uninterrupted run's output to
 *                                the bit (every mode, lateness, early
 *                                firings, global and partitioned)
 *   test_snapshot_damage         every changed byte and truncation of a
 *                                snapshot is refused; resealed random
 *                                payloads are read without a crash
 *   plus hand-written scenarios: a merge of fired sessions, key order.
 * Seeds are printed on failure. */
#include "exec/sessagg.h"
#include "exec/winagg.h"
#include "snap_tt.h"
#include "time/watermark.h"
#include "tt.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static tide_value I(int64_t v) { return (tide_value){.type = TIDE_TYPE_BIGINT, .u.i64 = v}; }

static const tide_winagg_call AGGS[3] = {
    {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL},
    {TIDE_AGG_SUM, 0, TIDE_TYPE_BIGINT},
    {TIDE_AGG_COUNT_DISTINCT, 0, TIDE_TYPE_BIGINT},
};

/* A key: partition byte, then group byte; partition key = its first byte
 * (or none: sessions over the whole input). */
typedef struct rec {
    int part, key;
    int64_t ts, v;
} rec;

/* ---- the operator's output, applied as a changelog --------------------------- */

typedef struct trow {
    unsigned char kb[2];
    int64_t start, end, count, sum, dist;
} trow;

typedef struct table {
    trow *v;
    size_t n, cap;
    int errors;
    bool upsert;           /* accumulating: +U replaces; retracting: -U then +U */
    /* order check: rows of one advance in (end, start, key) order */
    bool in_advance, have_last;
    trow last;
    int order_errors;
    size_t emitted;
} table;

static int cmp_trow(const trow *a, const trow *b)
{
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return memcmp(a->kb, b->kb, 2);
}

static trow *tfind(table *t, const unsigned char *kb, int64_t s, int64_t e)
{
    for (size_t i = 0; i < t->n; i++)
        if (memcmp(t->v[i].kb, kb, 2) == 0 && t->v[i].start == s && t->v[i].end == e)
            return &t->v[i];
    return NULL;
}

static int t_emit(void *ctx, const tide_winagg_row *r)
{
    table *t = ctx;
    t->emitted++;
    if (r->key_len != 2 || r->n_vals != 3) {
        t->errors++;
        return 0;
    }
    trow x = {{((const unsigned char *)r->key)[0], ((const unsigned char *)r->key)[1]},
              r->start, r->end, r->vals[0].u.i64,
              r->vals[1].is_null ? 0 : r->vals[1].u.i64, r->vals[2].u.i64};
    if (t->in_advance) {
        if (t->have_last && cmp_trow(&t->last, &x) >= 0)
            t->order_errors++;
        t->last = x;
        t->have_last = true;
    }
    trow *o = tfind(t, x.kb, x.start, x.end);
    switch (r->op) {
    case TIDE_OP_INSERT:
        if (o)
            t->errors++;
        break;
    case TIDE_OP_UPDATE_AFTER:
        if (!o && t->upsert)
            t->errors++;
        break;
    case TIDE_OP_UPDATE_BEFORE:
    case TIDE_OP_DELETE:
        if (!o || o->count != x.count || o->sum != x.sum)
            t->errors++;
        else
            *o = t->v[--t->n];
        return 0;
    default:
        t->errors++;
        return 0;
    }
    if (o) {
        *o = x;
        return 0;
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->v = realloc(t->v, t->cap * sizeof *t->v);
    }
    t->v[t->n++] = x;
    return 0;
}

typedef struct late_sink {
    size_t n;
    int64_t ts_sum;
} late_sink;

/* ---- the step model: sessions from the rule ------------------------------------ */

typedef struct mkey {
    int key;
    int64_t count, sum;
    int64_t vals[64];
    int nv;
} mkey;

typedef struct msess {
    int part;
    int64_t start, end;
    bool fired, gone;
    mkey *k;
    int nk;
} msess;

typedef struct model {
    int64_t gap, L, W;
    bool global;
    msess *s;
    size_t n, cap;
    uint64_t late;
} model;

static void mkey_add(msess *s, int key, int64_t v)
{
    for (int i = 0; i < s->nk; i++)
        if (s->k[i].key == key) {
            mkey *m = &s->k[i];
            m->count++;
            m->sum += v;
            bool seen = false;
            for (int j = 0; j < m->nv && !seen; j++)
                seen = m->vals[j] == v;
            if (!seen && m->nv < 64)
                m->vals[m->nv++] = v;
            return;
        }
    s->k = realloc(s->k, (size_t)(s->nk + 1) * sizeof *s->k);
    s->k[s->nk++] = (mkey){.key = key, .count = 1, .sum = v, .vals = {v}, .nv = 1};
}

static void mkey_merge(msess *to, const msess *from)
{
    for (int i = 0; i < from->nk; i++) {
        const mkey *f = &from->k[i];
        mkey *t = NULL;
        for (int j = 0; j < to->nk && !t; j++)
            if (to->k[j].key == f->key)
                t = &to->k[j];
        if (!t) {
            to->k = realloc(to->k, (size_t)(to->nk + 1) * sizeof *to->k);
            to->k[to->nk++] = *f;
            continue;
        }
        t->count += f->count;
        t->sum += f->sum;
        for (int a = 0; a < f->nv; a++) {
            bool seen = false;
            for (int b = 0; b < t->nv && !seen; b++)
                seen = t->vals[b] == f->vals[a];
            if (!seen && t->nv < 64)
                t->vals[t->nv++] = f->vals[a];
        }
    }
}

static void model_push(model *m, const rec *r)
{
    int part = m->global ? 0 : r->part;
    int64_t s = r->ts, e = r->ts + m->gap;
    for (size_t i = 0; i < m->n; i++) {
        const msess *x = &m->s[i];
        if (x->part == part && !x->gone && x->start <= r->ts + m->gap && r->ts <= x->end) {
            s = x->start < s ? x->start : s;
            e = x->end > e ? x->end : e;
        }
    }
    if (m->W >= e - 1 + m->L) {
        m->late++;
        return;
    }
    msess n = {.part = part, .start = s, .end = e};
    for (size_t i = 0; i < m->n;) {
        msess *x = &m->s[i];
        if (x->part == part && !x->gone && x->start <= r->ts + m->gap && r->ts <= x->end) {
            mkey_merge(&n, x);
            free(x->k);
            m->s[i] = m->s[--m->n];
        } else {
            i++;
        }
    }
    mkey_add(&n, r->key, r->v);
    n.fired = m->W >= e - 1;
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 64;
        m->s = realloc(m->s, m->cap * sizeof *m->s);
    }
    m->s[m->n++] = n;
}

static void model_advance(model *m, int64_t w)
{
    if (w <= m->W)
        return;
    m->W = w;
    for (size_t i = 0; i < m->n; i++) {
        m->s[i].fired |= w >= m->s[i].end - 1;
        m->s[i].gone |= w >= m->s[i].end - 1 + m->L;
    }
}

static void model_free(model *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->s[i].k);
    free(m->s);
}

/* The materialised output equals the fired sessions' rows. */
static bool table_matches(const table *t, const model *m, const rec *all, int nrec)
{
    (void)nrec;
    size_t nf = 0;
    for (size_t i = 0; i < m->n; i++) {
        const msess *x = &m->s[i];
        if (!x->fired)
            continue;
        for (int j = 0; j < x->nk; j++) {
            const mkey *k = &x->k[j];
            nf++;
            /* the key bytes: partition byte, key byte (global: the model's
             * key is partition * 16 + key, see mkey_of) */
            unsigned char kb[2] = {(unsigned char)(m->global ? k->key / 16 : x->part),
                                   (unsigned char)(m->global ? k->key % 16 : k->key)};
            bool found = false;
            for (size_t a = 0; a < t->n && !found; a++) {
                const trow *o = &t->v[a];
                found = memcmp(o->kb, kb, 2) == 0 && o->start == x->start && o->end == x->end &&
                        o->count == k->count && o->sum == k->sum && o->dist == k->nv;
            }
            if (!found) {
                fprintf(stderr, "  W=%lld: want part %d key %d [%lld,%lld) n=%lld sum=%lld\n",
                        (long long)m->W, x->part, k->key, (long long)x->start,
                        (long long)x->end, (long long)k->count, (long long)k->sum);
                return false;
            }
        }
    }
    (void)all;
    if (nf != t->n || t->errors) {
        fprintf(stderr, "  W=%lld: %zu rows (%d errors), want %zu\n", (long long)m->W, t->n,
                t->errors, nf);
        return false;
    }
    return true;
}

/* ---- scenarios ----------------------------------------------------------------- */

static int late_cb(void *ctx, const void *key, uint32_t key_len, int64_t ts, const tide_value *in,
                   size_t n_in)
{
    (void)key;
    (void)key_len;
    (void)in;
    (void)n_in;
    late_sink *l = ctx;
    l->n++;
    l->ts_sum += ts;
    return 0;
}

typedef struct both {
    table t;
    late_sink l;
} both;

static int both_emit(void *ctx, const tide_winagg_row *r) { return t_emit(&((both *)ctx)->t, r); }
static int both_late(void *ctx, const void *key, uint32_t key_len, int64_t ts, const tide_value *in,
                     size_t n_in)
{
    return late_cb(&((both *)ctx)->l, key, key_len, ts, in, n_in);
}

/* With global sessions the records' partition bytes still differ (the
 * partition key is empty, the GROUP BY key is both bytes), so the model
 * tracks key = partition * 16 + key. */
static int mkey_of(const rec *r, bool global) { return global ? r->part * 16 + r->key : r->key; }

/* One random run, step by step against the model.  Returns false on a
 * mismatch (seed printed). */
static bool model_run(uint64_t seed, bool global, bool batch, uint64_t *lates, uint64_t *merges)
{
    uint64_t s0 = seed;
    int nparts = 1 + (int)(tt_rand(&seed) % 3), nkeys = 1 + (int)(tt_rand(&seed) % 4);
    static const int64_t LS[] = {0, 0, 1, 3, 10, 40};
    model m = {.gap = 2 + (int64_t)(tt_rand(&seed) % 15), .L = LS[tt_rand(&seed) % 6],
               .W = TIDE_TS_MIN, .global = global};
    both out = {.t = {.upsert = true}};
    tide_winagg_config cfg = {.window = tide_win_session(m.gap), .aggs = AGGS, .n_aggs = 3,
                              .n_inputs = 1, .allowed_lateness = m.L,
                              .mode = TIDE_TRIG_ACCUMULATING, .emit = both_emit,
                              .late = both_late, .ctx = &out};
    tide_sessagg *op;
    tide_err e = {0};
    if (tide_sessagg_create(&cfg, &op, &e)) {
        fprintf(stderr, "create: %s\n", e.msg);
        return false;
    }
    enum { N = 250, NB = 16 };
    rec rs[N];
    unsigned char kb[NB][2];
    const void *kp[NB];
    uint32_t kl[NB], pl[NB];
    int64_t bt[NB];
    tide_value bv[NB];
    size_t bn = 0;
    int64_t now = 0;
    bool ok = true;
    int nrec = 0;
    size_t prev_sessions = 0;
    for (int step = 0; step < 400 && ok; step++) {
        bool adv = tt_rand(&seed) % 3 == 0 || bn == NB || nrec == N || step == 399;
        if (!adv) {
            rec *r = &rs[nrec++];
            r->part = (int)(tt_rand(&seed) % (uint64_t)nparts);
            r->key = (int)(tt_rand(&seed) % (uint64_t)nkeys);
            int64_t base = m.W == TIDE_TS_MIN ? now : m.W;
            /* mostly ahead of W, some behind it (late, or within lateness) */
            r->ts = base - 6 + (int64_t)(tt_rand(&seed) % (uint64_t)(m.gap + 14));
            r->v = (int64_t)(tt_rand(&seed) % 5);
            now = r->ts > now ? r->ts : now;
            rec mr = *r;
            mr.key = mkey_of(r, global);
            model_push(&m, &mr);
            kb[bn][0] = (unsigned char)r->part;
            kb[bn][1] = (unsigned char)r->key;
            kp[bn] = kb[bn];
            kl[bn] = 2;
            pl[bn] = global ? 0 : 1;
            bt[bn] = r->ts;
            bv[bn] = I(r->v);
            if (!batch) {
                ok = tide_sessagg_push(op, kb[bn], 2, pl[bn], r->ts, &bv[bn], 0, &e) == 0;
                ok = ok && table_matches(&out.t, &m, rs, nrec);
            } else {
                bn++;
            }
            if (tide_sessagg_live_sessions(op) < prev_sessions)
                (*merges)++;
            prev_sessions = tide_sessagg_live_sessions(op);
            continue;
        }
        if (bn) {
            ok = tide_sessagg_push_batch(op, bn, kp, kl, pl, bt, bv, 0, &e) == 0 &&
                 table_matches(&out.t, &m, rs, nrec);
            bn = 0;
        }
        /* the next watermark: e - 2, e - 1 or e of a live session, or its
         * cleanup boundary, or a small step */
        int64_t to = (m.W == TIDE_TS_MIN ? now : m.W) + 1 + (int64_t)(tt_rand(&seed) % 3);
        if (m.n) {
            const msess *x = &m.s[tt_rand(&seed) % m.n];
            int64_t c[6] = {x->end - 2,       x->end - 1,       x->end,
                            x->end - 2 + m.L, x->end - 1 + m.L, x->end + m.L};
            int64_t pick = c[tt_rand(&seed) % 6];
            if (pick > m.W)
                to = pick;
        }
        if (step == 399)
            to = TIDE_TS_MAX;
        model_advance(&m, to == TIDE_TS_MAX ? TIDE_TS_MAX - 1000 : to);
        out.t.in_advance = true;
        out.t.have_last = false;
        ok = ok && tide_sessagg_advance_watermark(op, to, 0, &e) == 0;
        out.t.in_advance = false;
        ok = ok && table_matches(&out.t, &m, rs, nrec) && tide_sessagg_late_count(op) == m.late &&
             out.l.n == m.late && out.t.order_errors == 0;
    }
    ok = ok && tide_sessagg_live_sessions(op) == 0 && tide_sessagg_live_rows(op) == 0 &&
         tide_sessagg_live_partitions(op) == 0;
    if (!ok) {
        TT_SEED(s0);
        fprintf(stderr, "  %s %s gap %lld L %lld: late %llu/%llu order errors %d (%s)\n",
                global ? "global" : "partitioned", batch ? "batch" : "push", (long long)m.gap,
                (long long)m.L, (unsigned long long)tide_sessagg_late_count(op),
                (unsigned long long)m.late, out.t.order_errors, e.msg);
    }
    *lates += m.late;
    tide_sessagg_free(op);
    model_free(&m);
    free(out.t.v);
    return ok;
}

static void test_model_with_lateness(void)
{
    uint64_t lates = 0, merges = 0;
    for (uint64_t it = 0; it < 300; it++) {
        bool global = it % 2 == 0, batch = it % 3 == 0;
        TT_ASSERT(model_run(880000 + it, global, batch, &lates, &merges));
    }
    TT_ASSERT_MSG(lates > 500 && merges > 500, "late %llu, merges %llu",
                  (unsigned long long)lates, (unsigned long long)merges);
}

/* ---- on-time data against sort-and-merge ------------------------------------- */

static int cmp_rec_ts(const void *pa, const void *pb)
{
    const rec *a = pa, *b = pb;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return 0;
}

static void test_global_vs_brute_force(void)
{
    for (uint64_t it = 0; it < 200; it++) {
        uint64_t seed = 660000 + it, s0 = seed;
        bool global = it % 2 == 0;
        int nparts = 1 + (int)(tt_rand(&seed) % 3), nkeys = 1 + (int)(tt_rand(&seed) % 5);
        int n = 1 + (int)(tt_rand(&seed) % 300);
        int64_t gap = 1 + (int64_t)(tt_rand(&seed) % 40), B = 2 + (int64_t)(tt_rand(&seed) % 30);
        rec *rs = malloc((size_t)n * sizeof *rs);
        int64_t *arr = malloc((size_t)n * sizeof *arr);
        int *order = malloc((size_t)n * sizeof *order);
        for (int i = 0; i < n; i++) {
            rs[i] = (rec){(int)(tt_rand(&seed) % (uint64_t)nparts),
                          (int)(tt_rand(&seed) % (uint64_t)nkeys),
                          (int64_t)(tt_rand(&seed) % (uint64_t)(n * 8)),
                          (int64_t)(tt_rand(&seed) % 7)};
            /* delays <= B - 2: ts >= W + 2 on arrival, so nothing is late
             * and no record touches a fired session (see test_winagg's
             * test_session_touching_boundary) */
            arr[i] = rs[i].ts + (int64_t)(tt_rand(&seed) % (uint64_t)(B - 1));
            order[i] = i;
        }
        for (int a = 1; a < n; a++) /* arrival order: by ts + delay */
            for (int b = a; b > 0 && arr[order[b]] < arr[order[b - 1]]; b--) {
                int t = order[b];
                order[b] = order[b - 1];
                order[b - 1] = t;
            }
        both out = {.t = {.upsert = true}};
        tide_winagg_config cfg = {.window = tide_win_session(gap), .aggs = AGGS, .n_aggs = 3,
                                  .n_inputs = 1, .mode = TIDE_TRIG_ACCUMULATING,
                                  .emit = both_emit, .late = both_late, .ctx = &out};
        tide_sessagg *op;
        TT_OK(tide_sessagg_create(&cfg, &op, NULL));
        int64_t mx = TIDE_TS_MIN;
        for (int j = 0; j < n; j++) {
            const rec *r = &rs[order[j]];
            unsigned char kb[2] = {(unsigned char)r->part, (unsigned char)r->key};
            tide_value v = I(r->v);
            TT_OK(tide_sessagg_push(op, kb, 2, global ? 0 : 1, r->ts, &v, 0, NULL));
            mx = r->ts > mx ? r->ts : mx;
            if (tt_rand(&seed) % 4 == 0)
                TT_OK(tide_sessagg_advance_watermark(op, mx - B, 0, NULL));
        }
        TT_OK(tide_sessagg_advance_watermark(op, TIDE_TS_MAX, 0, NULL));
        /* brute force: per partition (one when global), records by time;
         * a session ends where the next record is after last ts + gap;
         * each session's rows per key */
        rec *sorted = malloc((size_t)n * sizeof *sorted);
        size_t want = 0;
        bool ok = out.l.n == 0 && out.t.errors == 0;
        for (int p = 0; p < (global ? 1 : nparts) && ok; p++) {
            int m = 0;
            for (int i = 0; i < n; i++)
                if (global || rs[i].part == p)
                    sorted[m++] = rs[i];
            qsort(sorted, (size_t)m, sizeof *sorted, cmp_rec_ts);
            for (int a = 0; a < m && ok;) {
                int64_t st = sorted[a].ts, en = st + gap;
                int b = a + 1;
                while (b < m && sorted[b].ts <= en) {
                    if (sorted[b].ts + gap > en)
                        en = sorted[b].ts + gap;
                    b++;
                }
                /* one row per (partition byte, key byte) in [a, b) */
                for (int i = a; i < b && ok; i++) {
                    bool first = true;
                    for (int j = a; j < i && first; j++)
                        first = !(sorted[j].part == sorted[i].part &&
                                  sorted[j].key == sorted[i].key);
                    if (!first)
                        continue;
                    int64_t cnt = 0, sum = 0, dist = 0;
                    for (int j = a; j < b; j++) {
                        if (sorted[j].part != sorted[i].part || sorted[j].key != sorted[i].key)
                            continue;
                        cnt++;
                        sum += sorted[j].v;
                        bool seen = false;
                        for (int k = a; k < j && !seen; k++)
                            seen = sorted[k].part == sorted[i].part &&
                                   sorted[k].key == sorted[i].key &&
                                   sorted[k].v == sorted[j].v;
                        dist += !seen;
                    }
                    unsigned char kb[2] = {(unsigned char)sorted[i].part,
                                           (unsigned char)sorted[i].key};
                    const trow *o = tfind(&out.t, kb, st, en);
                    ok = o && o->count == cnt && o->sum == sum && o->dist == dist;
                    if (!ok)
                        fprintf(stderr, "  want (%d,%d) [%lld,%lld) n=%lld: %s\n", sorted[i].part,
                                sorted[i].key, (long long)st, (long long)en, (long long)cnt,
                                o ? "differs" : "missing");
                    want++;
                }
                a = b;
            }
        }
        ok = ok && want == out.t.n && out.t.emitted == want; /* on time: one +I per row */
        if (!ok) {
            TT_SEED(s0);
            fprintf(stderr, "  %s gap %lld B %lld: %zu rows, want %zu, late %zu\n",
                    global ? "global" : "partitioned", (long long)gap, (long long)B, out.t.n, want,
                    out.l.n);
        }
        tide_sessagg_free(op);
        free(out.t.v);
        free(sorted);
        free(rs);
        free(arr);
        free(order);
        TT_ASSERT(ok);
    }
}

/* ---- per key: the same changelog as winagg ------------------------------------- */

typedef struct crow {
    tide_op op;
    unsigned char kb[2];
    int64_t start, end, count, sum, dist;
} crow;

typedef struct clog {
    crow *v;
    size_t n, cap;
    uint64_t late_sig;
} clog;

static int c_emit(void *ctx, const tide_winagg_row *r)
{
    clog *c = ctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
    }
    crow *x = &c->v[c->n++];
    memset(x, 0, sizeof *x);
    x->op = r->op;
    memcpy(x->kb, r->key, r->key_len < 2 ? r->key_len : 2);
    x->start = r->start;
    x->end = r->end;
    x->count = r->vals[0].u.i64;
    x->sum = r->vals[1].is_null ? -999 : r->vals[1].u.i64;
    x->dist = r->vals[2].u.i64;
    return 0;
}

static int c_late(void *ctx, const void *key, uint32_t key_len, int64_t ts, const tide_value *in,
                  size_t n_in)
{
    (void)in;
    (void)n_in;
    clog *c = ctx;
    c->late_sig = c->late_sig * 1000003u + (uint64_t)ts * 31u + key_len +
                  ((const unsigned char *)key)[key_len - 1];
    return 0;
}

static void test_per_key_like_winagg(void)
{
    size_t total = 0, deletes = 0;
    for (uint64_t it = 0; it < 300; it++) {
        uint64_t seed = 550000 + it, s0 = seed;
        tide_trig_mode mode = (tide_trig_mode)(it % 3);
        tide_trig_early early = {0};
        if (it % 4 == 1)
            early.every_n = 1 + tt_rand(&seed) % 3;
        else if (it % 4 == 2)
            early.every_ms = 1 + (int64_t)(tt_rand(&seed) % 10);
        int64_t gap = 1 + (int64_t)(tt_rand(&seed) % 20), L = (int64_t)(tt_rand(&seed) % 40);
        clog a = {0}, b = {0};
        tide_winagg_config cfg = {.window = tide_win_session(gap), .aggs = AGGS, .n_aggs = 3,
                                  .n_inputs = 1, .allowed_lateness = L, .mode = mode,
                                  .early = early, .emit = c_emit, .late = c_late};
        cfg.ctx = &a;
        tide_sessagg *sop;
        TT_OK(tide_sessagg_create(&cfg, &sop, NULL));
        cfg.ctx = &b;
        tide_winagg *wop;
        TT_OK(tide_winagg_create(&cfg, &wop, NULL));
        int64_t mx = 0, now = 0;
        for (int i = 0; i < 300; i++) {
            unsigned char kb[2] = {(unsigned char)(tt_rand(&seed) % 3),
                                   (unsigned char)(tt_rand(&seed) % 2)};
            int64_t ts = mx - 30 + (int64_t)(tt_rand(&seed) % 45);
            tide_value v = I((int64_t)(tt_rand(&seed) % 6));
            now += (int64_t)(tt_rand(&seed) % 4);
            TT_OK(tide_sessagg_push(sop, kb, 2, 2, ts, &v, now, NULL));
            TT_OK(tide_winagg_push(wop, kb, 2, ts, &v, now, NULL));
            mx = ts > mx ? ts : mx;
            if (tt_rand(&seed) % 3 == 0) {
                int64_t w = mx - (int64_t)(tt_rand(&seed) % 12);
                TT_OK(tide_sessagg_advance_watermark(sop, w, now, NULL));
                TT_OK(tide_winagg_advance_watermark(wop, w, now, NULL));
            } else if (tt_rand(&seed) % 4 == 0) {
                TT_OK(tide_sessagg_tick(sop, now, NULL));
                TT_OK(tide_winagg_tick(wop, now, NULL));
            }
        }
        TT_OK(tide_sessagg_advance_watermark(sop, TIDE_TS_MAX, now, NULL));
        TT_OK(tide_winagg_advance_watermark(wop, TIDE_TS_MAX, now, NULL));
        bool ok = a.n == b.n && a.late_sig == b.late_sig &&
                  tide_sessagg_late_count(sop) == tide_winagg_late_count(wop) &&
                  tide_sessagg_live_rows(sop) == 0;
        for (size_t i = 0; ok && i < a.n; i++) {
            ok = memcmp(&a.v[i], &b.v[i], sizeof a.v[i]) == 0;
            deletes += a.v[i].op == TIDE_OP_DELETE;
            if (!ok)
                fprintf(stderr, "  row %zu: op %d/%d [%lld,%lld)/[%lld,%lld) n %lld/%lld\n", i,
                        (int)a.v[i].op, (int)b.v[i].op, (long long)a.v[i].start,
                        (long long)b.v[i].start, (long long)a.v[i].end, (long long)b.v[i].end,
                        (long long)a.v[i].count, (long long)b.v[i].count);
        }
        total += a.n;
        if (!ok) {
            TT_SEED(s0);
            fprintf(stderr, "  mode %s gap %lld L %lld: %zu rows vs winagg %zu\n",
                    tide_trig_mode_name(mode), (long long)gap, (long long)L, a.n, b.n);
        }
        tide_sessagg_free(sop);
        tide_winagg_free(wop);
        free(a.v);
        free(b.v);
        TT_ASSERT(ok);
    }
    TT_ASSERT(total > 10000 && deletes > 100);
}

/* ---- hand-written ----------------------------------------------------------------- */

typedef struct hrow {
    tide_op op;
    char key;
    int64_t start, end, count;
} hrow;

typedef struct hlog {
    hrow v[64];
    size_t n, late;
} hlog;

static int h_emit(void *ctx, const tide_winagg_row *r)
{
    hlog *h = ctx;
    if (h->n < 64)
        h->v[h->n++] = (hrow){r->op, r->key_len ? ((const char *)r->key)[r->key_len - 1] : '-',
                              r->start, r->end, r->vals[0].u.i64};
    return 0;
}

static int h_late(void *ctx, const void *key, uint32_t key_len, int64_t ts, const tide_value *in,
                  size_t n_in)
{
    (void)key;
    (void)key_len;
    (void)ts;
    (void)in;
    (void)n_in;
    ((hlog *)ctx)->late++;
    return 0;
}

static bool is(const hrow *r, tide_op op, char key, int64_t s, int64_t e, int64_t n)
{
    bool ok = r->op == op && r->key == key && r->start == s && r->end == e && r->count == n;
    if (!ok)
        fprintf(stderr, "  got %s %c [%lld,%lld) %lld\n", tide_op_name(r->op), r->key,
                (long long)r->start, (long long)r->end, (long long)r->count);
    return ok;
}

static int hpush(tide_sessagg *op, char key, int64_t ts)
{
    tide_value v = I(1);
    return tide_sessagg_push(op, &key, 1, 0, ts, &v, 0, NULL);
}

/* Global sessions: records of any key extend one session; it fires at its
 * last millisecond with one row per key in key order; a late record within
 * the lateness bridges two fired sessions: their rows are deleted (-D, the
 * earlier session first, keys in order) and the merged session fires with
 * merged per-key states; past the lateness a record is late. */
static void test_global_merge_scenario(void)
{
    hlog h = {0};
    tide_winagg_config cfg = {.window = tide_win_session(10), .aggs = AGGS, .n_aggs = 3,
                              .n_inputs = 1, .allowed_lateness = 40,
                              .mode = TIDE_TRIG_RETRACTING, .emit = h_emit, .late = h_late,
                              .ctx = &h};
    tide_sessagg *op;
    TT_OK(tide_sessagg_create(&cfg, &op, NULL));
    TT_OK(hpush(op, 'b', 0));
    TT_OK(hpush(op, 'a', 6));  /* b's gap does not matter: one session [0,16) */
    TT_OK(hpush(op, 'b', 25)); /* [25,35) */
    TT_OK(hpush(op, 'c', 28)); /* [25,38) */
    TT_ASSERT_EQ_INT(tide_sessagg_live_sessions(op), 2);
    TT_OK(tide_sessagg_advance_watermark(op, 14, 0, NULL));
    TT_ASSERT_EQ_INT(h.n, 0);
    TT_OK(tide_sessagg_advance_watermark(op, 15, 0, NULL)); /* [0,16) at 15 */
    TT_ASSERT_EQ_INT(h.n, 2);
    TT_ASSERT(is(&h.v[0], TIDE_OP_INSERT, 'a', 0, 16, 1));
    TT_ASSERT(is(&h.v[1], TIDE_OP_INSERT, 'b', 0, 16, 1));
    TT_OK(tide_sessagg_advance_watermark(op, 36, 0, NULL));
    TT_ASSERT_EQ_INT(h.n, 2);
    TT_OK(tide_sessagg_advance_watermark(op, 37, 0, NULL)); /* [25,38) at 37 */
    TT_ASSERT_EQ_INT(h.n, 4);
    TT_ASSERT(is(&h.v[2], TIDE_OP_INSERT, 'b', 25, 38, 1));
    TT_ASSERT(is(&h.v[3], TIDE_OP_INSERT, 'c', 25, 38, 1));
    /* [0,16) is kept until 15 + 40: a record at 16 ([16,26)) touches both */
    TT_OK(hpush(op, 'a', 16));
    TT_ASSERT_EQ_INT(h.n, 11);
    TT_ASSERT(is(&h.v[4], TIDE_OP_DELETE, 'a', 0, 16, 1));
    TT_ASSERT(is(&h.v[5], TIDE_OP_DELETE, 'b', 0, 16, 1));
    TT_ASSERT(is(&h.v[6], TIDE_OP_DELETE, 'b', 25, 38, 1));
    TT_ASSERT(is(&h.v[7], TIDE_OP_DELETE, 'c', 25, 38, 1));
    TT_ASSERT(is(&h.v[8], TIDE_OP_INSERT, 'a', 0, 38, 2));
    TT_ASSERT(is(&h.v[9], TIDE_OP_INSERT, 'b', 0, 38, 2));
    TT_ASSERT(is(&h.v[10], TIDE_OP_INSERT, 'c', 0, 38, 1));
    TT_ASSERT_EQ_INT(tide_sessagg_live_sessions(op), 1);
    TT_ASSERT_EQ_INT(tide_sessagg_live_rows(op), 3);
    /* a late firing of one row ([27,37) is inside): -U/+U of c only */
    TT_OK(hpush(op, 'c', 27));
    TT_ASSERT_EQ_INT(h.n, 13);
    TT_ASSERT(is(&h.v[11], TIDE_OP_UPDATE_BEFORE, 'c', 0, 38, 1));
    TT_ASSERT(is(&h.v[12], TIDE_OP_UPDATE_AFTER, 'c', 0, 38, 2));
    /* freed at 37 + 40 */
    TT_OK(tide_sessagg_advance_watermark(op, 76, 0, NULL));
    TT_ASSERT_EQ_INT(tide_sessagg_live_sessions(op), 1);
    TT_OK(tide_sessagg_advance_watermark(op, 77, 0, NULL));
    TT_ASSERT_EQ_INT(tide_sessagg_live_sessions(op), 0);
    TT_ASSERT_EQ_INT(tide_sessagg_live_rows(op), 0);
    TT_ASSERT_EQ_INT(tide_sessagg_live_partitions(op), 0);
    TT_OK(hpush(op, 'a', 20)); /* [20,30): W = 77 >= 29 + 40: late */
    TT_ASSERT_EQ_INT(h.late, 1);
    TT_ASSERT_EQ_INT(h.n, 13);
    tide_sessagg_free(op);
}

/* Flink's SESSION_WINDOW_EVENT_TIME rows (WindowAggregateTestPrograms), at
 * the operator: names a/b/null keys, seconds as ms * 1000, W = max - 1 s,
 * gap 5 s.  Global sessions give b's row the session [1 s, 13 s); the
 * partitioned run (PARTITION BY name) gives b [6 s, 12 s), as Flink's
 * SESSION_WINDOW_PARTITION_EVENT_TIME does. */
static void test_flink_rows(void)
{
    static const struct {
        int64_t s;
        char name;
    } in[] = {{1, 'a'}, {2, 'a'}, {3, 'a'}, {4, 'a'},   {7, 'b'},  {6, 'b'},  {8, 'a'},
              {4, 'a'}, {16, 'b'}, {32, 0}, {34, 'b'}, {40, 'a'}, {42, 'd'}, {43, 'c'}, {44, 'd'}};
    for (int part = 0; part < 2; part++) {
        hlog h = {0};
        tide_winagg_config cfg = {.window = tide_win_session(5000), .aggs = AGGS, .n_aggs = 3,
                                  .n_inputs = 1, .mode = TIDE_TRIG_ACCUMULATING, .emit = h_emit,
                                  .late = h_late, .ctx = &h};
        tide_sessagg *op;
        TT_OK(tide_sessagg_create(&cfg, &op, NULL));
        int64_t mx = TIDE_TS_MIN;
        for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
            /* the key: NULL flag byte, then the name (none for NULL) */
            char kb[2] = {in[i].name ? 1 : 0, in[i].name};
            uint32_t kl = in[i].name ? 2 : 1;
            tide_value v = I(1);
            TT_OK(tide_sessagg_push(op, kb, kl, part ? kl : 0, in[i].s * 1000, &v, 0, NULL));
            mx = in[i].s * 1000 > mx ? in[i].s * 1000 : mx;
            TT_OK(tide_sessagg_advance_watermark(op, mx - 1000, 0, NULL));
        }
        TT_OK(tide_sessagg_advance_watermark(op, TIDE_TS_MAX, 0, NULL));
        TT_ASSERT_EQ_INT(h.late, 0);
        if (!part) {
            TT_ASSERT_EQ_INT(h.n, 8);
            TT_ASSERT(is(&h.v[0], TIDE_OP_INSERT, 'a', 1000, 13000, 6));
            TT_ASSERT(is(&h.v[1], TIDE_OP_INSERT, 'b', 1000, 13000, 2));
            TT_ASSERT(is(&h.v[2], TIDE_OP_INSERT, 'b', 16000, 21000, 1));
            TT_ASSERT(is(&h.v[3], TIDE_OP_INSERT, '\0', 32000, 39000, 1)); /* NULL first */
            TT_ASSERT(is(&h.v[4], TIDE_OP_INSERT, 'b', 32000, 39000, 1));
            TT_ASSERT(is(&h.v[5], TIDE_OP_INSERT, 'a', 40000, 49000, 1));
            TT_ASSERT(is(&h.v[6], TIDE_OP_INSERT, 'c', 40000, 49000, 1));
            TT_ASSERT(is(&h.v[7], TIDE_OP_INSERT, 'd', 40000, 49000, 2));
        } else {
            TT_ASSERT_EQ_INT(h.n, 8);
            TT_ASSERT(is(&h.v[0], TIDE_OP_INSERT, 'b', 6000, 12000, 2));
            TT_ASSERT(is(&h.v[1], TIDE_OP_INSERT, 'a', 1000, 13000, 6));
            TT_ASSERT(is(&h.v[2], TIDE_OP_INSERT, 'b', 16000, 21000, 1));
            TT_ASSERT(is(&h.v[3], TIDE_OP_INSERT, '\0', 32000, 37000, 1));
            TT_ASSERT(is(&h.v[4], TIDE_OP_INSERT, 'b', 34000, 39000, 1));
            TT_ASSERT(is(&h.v[5], TIDE_OP_INSERT, 'a', 40000, 45000, 1));
            TT_ASSERT(is(&h.v[6], TIDE_OP_INSERT, 'c', 43000, 48000, 1));
            TT_ASSERT(is(&h.v[7], TIDE_OP_INSERT, 'd', 42000, 49000, 2));
        }
        tide_sessagg_free(op);
    }
}

static void test_config_errors(void)
{
    tide_winagg_config cfg = {.window = tide_win_tumble(10), .aggs = AGGS, .n_aggs = 3,
                              .n_inputs = 1, .emit = h_emit};
    tide_sessagg *op = NULL;
    tide_err e = {0};
    TT_ASSERT_EQ_INT(tide_sessagg_create(&cfg, &op, &e), TIDE_EINVAL);
    TT_ASSERT(op == NULL && e.msg[0]);
    cfg.window = tide_win_session(0);
    TT_ASSERT_EQ_INT(tide_sessagg_create(&cfg, &op, NULL), TIDE_EINVAL);
    tide_winagg_call mx = {TIDE_AGG_MAX, 0, TIDE_TYPE_STRING};
    cfg.window = tide_win_session(5);
    cfg.aggs = &mx;
    cfg.n_aggs = 1;
    TT_OK(tide_sessagg_create(&cfg, &op, NULL)); /* MAX(STRING): previous results are copies */
    tide_sessagg_free(op);
    op = NULL;
    cfg.aggs = AGGS;
    cfg.n_aggs = 3;
    hlog h = {0};
    cfg.ctx = &h;
    TT_OK(tide_sessagg_create(&cfg, &op, NULL));
    tide_value d = {.type = TIDE_TYPE_DOUBLE, .u.f64 = 1.5};
    TT_ASSERT_EQ_INT(tide_sessagg_push(op, "k", 1, 0, 0, &d, 0, NULL), TIDE_EINVAL);
    tide_value v = I(1);
    TT_ASSERT_EQ_INT(tide_sessagg_push(op, "k", 1, 2, 0, &v, 0, NULL), TIDE_EINVAL);
    tide_sessagg_free(op);
    tide_sessagg_free(NULL);
}

/* ---- snapshot / restore ------------------------------------------------------ */

#define SNAGG 8
static const tide_winagg_call SNAP_AGGS[SNAGG] = {
    {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL},   {TIDE_AGG_SUM, 0, TIDE_TYPE_BIGINT},
    {TIDE_AGG_COUNT_DISTINCT, 0, TIDE_TYPE_BIGINT}, {TIDE_AGG_MIN, 0, TIDE_TYPE_BIGINT},
    {TIDE_AGG_AVG, 1, TIDE_TYPE_DOUBLE},        {TIDE_AGG_SUM, 1, TIDE_TYPE_DOUBLE},
    {TIDE_AGG_MAX, 1, TIDE_TYPE_DOUBLE},        {TIDE_AGG_COUNT, 1, TIDE_TYPE_DOUBLE},
};

/* A run: config, records in arrival order (keys: partition byte, key byte),
 * how they are fed. */
typedef struct scase {
    tide_winagg_config cfg;
    bool global, batch;
    int64_t B;
    int advance_every, n;
    unsigned char kb[300][2];
    int64_t ts[300];
    tide_value in[300][2];
} scase;

static void snap_case(uint64_t seed, scase *c)
{
    memset(c, 0, sizeof *c);
    uint64_t s = seed;
    c->global = seed % 2;
    c->cfg.window = tide_win_session(1 + (int64_t)(tt_rand(&s) % 30));
    c->cfg.mode = (tide_trig_mode)((seed / 2) % 3);
    c->cfg.allowed_lateness = tt_rand(&s) % 2 ? 0 : 1 + (int64_t)(tt_rand(&s) % 40);
    switch (tt_rand(&s) % 3) {
    case 0: break;
    case 1: c->cfg.early.every_n = 1 + tt_rand(&s) % 4; break;
    default: c->cfg.early.every_ms = 1 + (int64_t)(tt_rand(&s) % 20); break;
    }
    bool all = tt_rand(&s) % 2;
    c->cfg.aggs = all ? SNAP_AGGS : AGGS;
    c->cfg.n_aggs = all ? SNAGG : 3;
    c->cfg.n_inputs = 2;
    c->B = (int64_t)(tt_rand(&s) % 25);
    c->batch = tt_rand(&s) % 2;
    c->advance_every = 1 + (int)(tt_rand(&s) % (c->batch ? 20 : 3));
    c->n = 1 + (int)(tt_rand(&s) % 300);
    int nparts = 1 + (int)(tt_rand(&s) % 3), nkeys = 1 + (int)(tt_rand(&s) % 4);
    int64_t span = 1 + (int64_t)(tt_rand(&s) % 2000);
    static const double special[] = {INFINITY, -INFINITY, NAN, -0.0, 1e300, 0.1};
    /* arrival: ts plus a delay within B, some far later (late, or within
     * the lateness) */
    int64_t arr[300];
    int idx[300];
    int64_t ts[300];
    for (int i = 0; i < c->n; i++) {
        ts[i] = (int64_t)(tt_rand(&s) % (uint64_t)span);
        int64_t d = (int64_t)(tt_rand(&s) % (uint64_t)(c->B + 1));
        if (tt_rand(&s) % 6 == 0)
            d += (int64_t)(tt_rand(&s) % (uint64_t)(3 * (c->B + c->cfg.allowed_lateness) + 40));
        arr[i] = ts[i] + d;
        idx[i] = i;
    }
    for (int a = 1; a < c->n; a++)
        for (int b = a; b > 0 && arr[idx[b]] < arr[idx[b - 1]]; b--) {
            int t = idx[b];
            idx[b] = idx[b - 1];
            idx[b - 1] = t;
        }
    for (int j = 0; j < c->n; j++) {
        c->kb[j][0] = (unsigned char)(tt_rand(&s) % (uint64_t)nparts);
        c->kb[j][1] = (unsigned char)(tt_rand(&s) % (uint64_t)nkeys);
        c->ts[j] = ts[idx[j]];
        c->in[j][0] = tt_rand(&s) % 9 == 0 ? (tide_value){.type = TIDE_TYPE_BIGINT, .is_null = true}
                                            : I((int64_t)(tt_rand(&s) % 7));
        double d = tt_rand(&s) % 8 == 0 ? special[tt_rand(&s) % 6]
                                        : (double)(tt_rand(&s) % 1000) / 7.0;
        c->in[j][1] = (tide_value){.type = TIDE_TYPE_DOUBLE, .u.f64 = d};
    }
}

typedef struct scut {
    uint64_t cuts, bytes;
    bool check_bytes; /* snapshot twice, and the restored operator, to the same bytes */
} scut;

/* Replace *op by a restored copy: NULL or what failed. */
static const char *sess_cut(tide_sessagg **op, const tide_winagg_config *cfg, scut *st)
{
    tide_buf a = {0}, b = {0}, c = {0};
    tide_err e = {0};
    tide_sessagg *fresh = NULL;
    const char *why = NULL;
    if (tide_sessagg_snapshot(*op, &a, &e) || tide_sessagg_snapshot(*op, &b, &e))
        why = "snapshot failed";
    else if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
        why = "two snapshots of one state differ";
    else if (tide_sessagg_create(cfg, &fresh, &e) ||
             tide_sessagg_restore(fresh, a.data, a.len, &e))
        why = "restore failed";
    else if (tide_sessagg_snapshot(fresh, &c, &e))
        why = "snapshot of the restored operator failed";
    else if (c.len != a.len || memcmp(c.data, a.data, a.len) != 0)
        why = "the restored operator snapshots to other bytes";
    else if (tide_sessagg_live_sessions(fresh) != tide_sessagg_live_sessions(*op) ||
             tide_sessagg_live_rows(fresh) != tide_sessagg_live_rows(*op) ||
             tide_sessagg_live_partitions(fresh) != tide_sessagg_live_partitions(*op))
        why = "the restored operator has other live counts";
    if (why) {
        fprintf(stderr, "  cut: %s (%s)\n", why, e.msg);
        tide_sessagg_free(fresh);
    } else {
        tide_sessagg_free(*op);
        *op = fresh;
        st->cuts++;
        st->bytes += a.len;
    }
    tide_buf_free(&a);
    tide_buf_free(&b);
    tide_buf_free(&c);
    return why;
}

/* Feed the case, cutting (st != NULL) before the records at cuts[] (a
 * position n: before the end of input); everything emitted goes to log,
 * then the late count. */
static const char *sess_drive(const scase *c, const int *cuts, int ncuts, uint64_t pseed,
                              tide_buf *log, scut *st)
{
    tide_winagg_config cfg = c->cfg;
    cfg.emit = slog_emit;
    cfg.late = slog_late;
    cfg.ctx = log;
    tide_sessagg *op = NULL;
    tide_err e = {0};
    if (tide_sessagg_create(&cfg, &op, &e))
        return "create failed";
    tide_wm_gen g;
    tide_wm_gen_init(&g, c->B, -1);
    int64_t now = 1000;
    const void *bk[64];
    uint32_t bl[64], bp[64];
    int64_t bt[64];
    tide_value bv[64 * 2];
    size_t bn = 0;
    int ci = 0;
    const char *why = NULL;
    for (int j = 0; j <= c->n && !why; j++) {
        while (ci < ncuts && cuts[ci] == j && !why) {
            if (st)
                why = sess_cut(&op, &cfg, st);
            ci++;
        }
        if (why || j == c->n)
            break;
        int err;
        uint32_t plen = c->global ? 0 : 1;
        if (c->batch) {
            bk[bn] = c->kb[j];
            bl[bn] = 2;
            bp[bn] = plen;
            bt[bn] = c->ts[j];
            memcpy(&bv[2 * bn], c->in[j], sizeof c->in[j]);
            bn++;
            bool flush = bn == 64 || j + 1 == c->n || (j + 1) % c->advance_every == 0 ||
                         (ci < ncuts && cuts[ci] == j + 1);
            err = flush ? tide_sessagg_push_batch(op, bn, bk, bl, bp, bt, bv, now, &e) : 0;
            if (flush)
                bn = 0;
        } else {
            err = tide_sessagg_push(op, c->kb[j], 2, plen, c->ts[j], c->in[j], now, &e);
        }
        if (err) {
            why = "push failed";
            break;
        }
        tide_wm_gen_accept(&g, c->ts[j], now);
        now += (int64_t)(tt_rand(&pseed) % 7);
        if ((j + 1) % c->advance_every == 0)
            err = tide_sessagg_advance_watermark(op, tide_wm_gen_current(&g), now, &e);
        else if (tt_rand(&pseed) % 4 == 0)
            err = tide_sessagg_tick(op, now, &e);
        if (err)
            why = "advance failed";
    }
    if (!why && tide_sessagg_advance_watermark(op, TIDE_TS_MAX, now, &e))
        why = "end of input failed";
    if (!why) {
        slog_i64(log, (int64_t)tide_sessagg_late_count(op));
        slog_i64(log, (int64_t)tide_sessagg_live_sessions(op));
    }
    if (why)
        fprintf(stderr, "  drive: %s (%s)\n", why, e.msg);
    tide_sessagg_free(op);
    return why;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static void test_snapshot_cut_anywhere(void)
{
    int count = TT_ASAN ? 150 : 500;
    uint64_t first = snap_tt_seeds(990000, &count);
    scut st = {0};
    static scase c;
    uint64_t lates = 0;
    for (int iter = 0; iter < count; iter++) {
        uint64_t seed = first + (uint64_t)iter;
        snap_case(seed, &c);
        uint64_t s = seed ^ 0x5a5a5a5a;
        int cuts[6], ncuts = 1 + (int)(tt_rand(&s) % 6);
        for (int i = 0; i < ncuts; i++)
            cuts[i] = (int)(tt_rand(&s) % (uint64_t)(c.n + 1));
        qsort(cuts, (size_t)ncuts, sizeof *cuts, cmp_int);
        tide_buf whole = {0}, cut = {0};
        const char *why = sess_drive(&c, cuts, ncuts, seed, &whole, NULL);
        if (!why)
            why = sess_drive(&c, cuts, ncuts, seed, &cut, &st);
        long at = why ? -1 : slog_diff(&whole, &cut);
        if (why || at >= 0)
            SNAP_TT_FAILED(seed, "%s; output differs at byte %ld of %zu / %zu (%s, %s, gap %lld, "
                           "L %lld, %d records)",
                           why ? why : "ok", at, whole.len, cut.len,
                           c.global ? "global" : "partitioned", tide_trig_mode_name(c.cfg.mode),
                           (long long)c.cfg.window.gap, (long long)c.cfg.allowed_lateness, c.n);
        if (!why && whole.len >= 16) {
            int64_t late;
            memcpy(&late, whole.data + whole.len - 16, 8);
            lates += (uint64_t)late;
        }
        tide_buf_free(&whole);
        tide_buf_free(&cut);
        TT_ASSERT(!why && at < 0);
    }
    if (count > 100) { /* the runs reached state worth cutting, and late rows */
        TT_ASSERT_MSG(st.cuts > (uint64_t)count * 2 && st.bytes > 200000 && lates > 100,
                      "cuts %llu, bytes %llu, late %llu", (unsigned long long)st.cuts,
                      (unsigned long long)st.bytes, (unsigned long long)lates);
    }
}

/* Restores into a fresh operator each time (a refused one must be left
 * fresh: the next restore into it is tried). */
typedef struct sfix {
    tide_winagg_config cfg;
    tide_sessagg *op;
    int accepted;
} sfix;

static int sfix_restore(void *ctx, const void *buf, size_t len, tide_err *e)
{
    sfix *f = ctx;
    if (!f->op && tide_sessagg_create(&f->cfg, &f->op, NULL))
        return TIDE_ENOMEM;
    int rc = tide_sessagg_restore(f->op, buf, len, e);
    if (rc == 0) {
        tide_buf again = {0};
        tide_err e2 = {0};
        /* an accepted payload is a state: it snapshots, and runs to the end
         * without a crash (a changed sum may overflow there: an error) */
        if (tide_sessagg_snapshot(f->op, &again, &e2))
            rc = tide_err_set(e, TIDE_EFAILED, "accepted payload: no snapshot: %s", e2.msg);
        (void)tide_sessagg_advance_watermark(f->op, TIDE_TS_MAX, 0, &e2);
        tide_buf_free(&again);
        tide_sessagg_free(f->op);
        f->op = NULL;
    }
    return rc;
}

static void test_snapshot_damage(void)
{
    int count = 24, accepted = 0;
    uint64_t first = snap_tt_seeds(995000, &count);
    static scase c;
    for (int iter = 0; iter < count; iter++) {
        uint64_t seed = first + (uint64_t)iter;
        snap_case(seed, &c);
        if (c.n > 120)
            c.n = 120;
        /* the state half way */
        tide_buf log = {0}, a = {0};
        sfix f = {.cfg = c.cfg};
        f.cfg.emit = slog_emit;
        f.cfg.late = slog_late;
        f.cfg.ctx = &log;
        tide_sessagg *op = NULL;
        TT_OK(tide_sessagg_create(&f.cfg, &op, NULL));
        for (int j = 0; j < c.n / 2; j++) {
            TT_OK(tide_sessagg_push(op, c.kb[j], 2, c.global ? 0 : 1, c.ts[j], c.in[j], j, NULL));
            if (j % 5 == 4)
                TT_OK(tide_sessagg_advance_watermark(op, c.ts[j] - c.B, j, NULL));
        }
        TT_OK(tide_sessagg_snapshot(op, &a, NULL));
        size_t where = 0;
        const char *why = snap_tt_damage(a.data, a.len, 200, seed, sfix_restore, &f, &where);
        if (!why)
            why = snap_tt_fuzz(a.data, a.len, 0, 200, seed, sfix_restore, &f, &accepted);
        /* the operator all those refusals left behind takes the real one */
        if (!why && !f.op && tide_sessagg_create(&f.cfg, &f.op, NULL))
            why = "create failed";
        tide_buf b = {0};
        if (!why && (tide_sessagg_restore(f.op, a.data, a.len, NULL) ||
                     tide_sessagg_snapshot(f.op, &b, NULL) || b.len != a.len ||
                     memcmp(a.data, b.data, a.len) != 0))
            why = "the real snapshot after the refusals";
        if (why)
            SNAP_TT_FAILED(seed, "%s (byte %zu of %zu)", why, where, a.len);
        tide_sessagg_free(op);
        tide_sessagg_free(f.op);
        tide_buf_free(&a);
        tide_buf_free(&b);
        tide_buf_free(&log);
        TT_ASSERT(!why);
    }
    if (count > 1)
        TT_ASSERT(accepted > 0); /* some changed payloads were still states */
}

int main(void)
{
    TT_RUN(test_global_merge_scenario);
    TT_RUN(test_flink_rows);
    TT_RUN(test_global_vs_brute_force);
    TT_RUN(test_model_with_lateness);
    TT_RUN(test_per_key_like_winagg);
    TT_RUN(test_config_errors);
    TT_RUN(test_snapshot_cut_anywhere);
    TT_RUN(test_snapshot_damage);
    TT_DONE();
}
