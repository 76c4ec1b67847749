/*
 * test_regjoin.c - the regular join of two changelogs (exec/regjoin.h)
 * against a brute-force model: after every watermark step, the operator's
 * output applied so far (+I adds a row, -D removes one that must be there)
 * is exactly the SQL join (INNER, LEFT, RIGHT, FULL, with the rest of an ON
 * condition) of the two bags as they are then, computed here by nested
 * loops; a step emits its net change only (no row both retracted and
 * inserted); the order of rows within a step does not change the output;
 * a snapshot anywhere, restored into a fresh operator, gives the same
 * output; the TTL drops rows as documented.
 */
#include "exec/regjoin.h"
#include "snap_tt.h"
#include "tt.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NK 4 /* keys */
#define NV 6 /* values per key: rows (k, v) */
#define NR (NK * NV)
#define NOUT (NR + 1) /* a side of an output row: a row index or NULL (NR) */

typedef struct ev {
    int side, key, v;
    int64_t w;
} ev;

/* A case: steps of pushes, each ended by a watermark. */
typedef struct tcase {
    ev *evs;
    size_t n;
    size_t *step_end; /* evs [step_end[i-1], step_end[i]) form step i */
    size_t nsteps;
    bool outer[2];
    tide_regjoin_kind kind; /* JOIN (outer above), SEMI, ANTI */
    int mod;
    int64_t ttl;
} tcase;

static bool pred(int mod, int lv, int rv) { return mod == 0 || (lv + rv) % mod != 0; }

/* ---- the log of what the operator emits ---- */

typedef struct olog {
    tide_buf b;        /* bytes, for comparisons */
    int64_t acc[NOUT][NOUT]; /* the applied output */
    bool step_ins[NOUT][NOUT], step_del[NOUT][NOUT];
    int bad;           /* a -D of a row not there; a row both ways in one step */
    int mod;
} olog;

static int row_index(const tide_value *v)
{
    return v ? (int)(v[0].u.i64 * NV + v[1].u.i64) : NR;
}

static int o_emit(void *ctx, tide_op op, const tide_join_row *row)
{
    olog *g = ctx;
    int l = row_index(row->left), r = row_index(row->right);
    int64_t rec[3] = {op, l, r};
    tide_buf_append(&g->b, rec, sizeof rec);
    if (op == TIDE_OP_INSERT) {
        g->acc[l][r]++;
        g->step_ins[l][r] = true;
    } else {
        if (g->acc[l][r]-- <= 0)
            g->bad |= 1;
        g->step_del[l][r] = true;
    }
    if (g->step_ins[l][r] && g->step_del[l][r])
        g->bad |= 2;
    return 0;
}

static int o_match(void *ctx, const tide_join_row *row)
{
    const olog *g = ctx;
    return pred(g->mod, (int)row->left[1].u.i64, (int)row->right[1].u.i64);
}

/* ---- the model ---- */

static void model_join(const int64_t bag[2][NR], const bool *outer, tide_regjoin_kind kind, int mod,
                       int64_t want[NOUT][NOUT])
{
    memset(want, 0, sizeof(int64_t) * NOUT * NOUT);
    if (kind != TIDE_REGJOIN_JOIN) { /* the left rows that match (SEMI), that match none (ANTI) */
        for (int k = 0; k < NK; k++)
            for (int a = 0; a < NV; a++) {
                int64_t ml = 0;
                for (int b = 0; b < NV; b++)
                    ml += pred(mod, a, b) ? bag[1][k * NV + b] : 0;
                if ((ml > 0) == (kind == TIDE_REGJOIN_SEMI))
                    want[k * NV + a][NR] += bag[0][k * NV + a];
            }
        return;
    }
    for (int k = 0; k < NK; k++)
        for (int a = 0; a < NV; a++) {
            int l = k * NV + a;
            int64_t ml = 0;
            for (int b = 0; b < NV; b++) {
                int r = k * NV + b;
                if (!pred(mod, a, b))
                    continue;
                ml += bag[1][r];
                want[l][r] += bag[0][l] * bag[1][r];
            }
            if (outer[0] && ml == 0)
                want[l][NR] += bag[0][l];
        }
    for (int k = 0; outer[1] && k < NK; k++)
        for (int b = 0; b < NV; b++) {
            int r = k * NV + b;
            int64_t mr = 0;
            for (int a = 0; a < NV; a++)
                if (pred(mod, a, b))
                    mr += bag[0][k * NV + a];
            if (mr == 0)
                want[NR][r] += bag[1][r];
        }
}

/* ---- driving the operator ---- */

static int push_ev(tide_regjoin *op, const ev *x, tide_err *e)
{
    tide_value v[2] = {{.type = TIDE_TYPE_BIGINT, .u.i64 = x->key}, {.type = TIDE_TYPE_BIGINT, .u.i64 = x->v}};
    char kb[8];
    int kl = snprintf(kb, sizeof kb, "k%d", x->key);
    return tide_regjoin_push(op, (tide_join_side)x->side, kb, (uint32_t)kl, x->w, v, e);
}

static tide_regjoin *make_op(const tcase *c, olog *g)
{
    tide_regjoin_config cfg = {.kind = c->kind, .n_left = 2, .n_right = 2, .outer = {c->outer[0], c->outer[1]}, .ttl = c->ttl,
                               .emit = o_emit, .match = c->mod ? o_match : NULL, .ctx = g};
    tide_regjoin *op = NULL;
    tide_err e = {0};
    if (tide_regjoin_create(&cfg, &op, &e) != 0)
        fprintf(stderr, "  create: %s\n", e.msg);
    return op;
}

/* Snapshot, restore into a fresh operator, check the bytes round trip. */
static tide_regjoin *cut(tide_regjoin *op, const tcase *c, olog *g, bool *ok)
{
    tide_buf a = {0}, b = {0};
    tide_err e = {0};
    tide_regjoin *fresh = make_op(c, g);
    if (!fresh || tide_regjoin_snapshot(op, &a, &e) || tide_regjoin_restore(fresh, a.data, a.len, &e) ||
        tide_regjoin_snapshot(fresh, &b, &e) || a.len != b.len || memcmp(a.data, b.data, a.len) != 0) {
        fprintf(stderr, "  cut failed: %s\n", e.msg);
        *ok = false;
    }
    tide_buf_free(&a);
    tide_buf_free(&b);
    tide_regjoin_free(op);
    return fresh;
}

/* Run the case; with check, compare with the model after every step
 * (TTL 0 only); cut_every > 0: a snapshot cut before every cut_every-th
 * push. */
static bool run(const tcase *c, olog *g, bool check, size_t cut_every)
{
    tide_buf_free(&g->b);
    memset(g, 0, sizeof *g);
    g->mod = c->mod;
    tide_regjoin *op = make_op(c, g);
    if (!op)
        return false;
    int64_t bag[2][NR] = {{0}};
    static int64_t want[NOUT][NOUT];
    tide_err e = {0};
    bool ok = true;
    size_t i = 0, pushes = 0;
    uint64_t missing = 0;
    for (size_t st = 0; st < c->nsteps && ok; st++) {
        int64_t dw[2][NR] = {{0}};
        for (; i < c->step_end[st] && ok; i++) {
            if (cut_every && ++pushes % cut_every == 0)
                op = cut(op, c, g, &ok);
            if (push_ev(op, &c->evs[i], &e)) {
                fprintf(stderr, "  push: %s\n", e.msg);
                ok = false;
            }
            dw[c->evs[i].side][c->evs[i].key * NV + c->evs[i].v] += c->evs[i].w;
        }
        memset(g->step_ins, 0, sizeof g->step_ins);
        memset(g->step_del, 0, sizeof g->step_del);
        if (ok && tide_regjoin_advance_watermark(op, (int64_t)(st + 1) * 10, &e)) {
            fprintf(stderr, "  advance: %s\n", e.msg);
            ok = false;
        }
        for (int s = 0; s < 2; s++)
            for (int r = 0; r < NR; r++) {
                bag[s][r] += dw[s][r];
                if (bag[s][r] < 0) {
                    missing += (uint64_t)-bag[s][r];
                    bag[s][r] = 0;
                }
            }
        if (!ok || !check)
            continue;
        model_join(bag, c->outer, c->kind, c->mod, want);
        if (memcmp(want, g->acc, sizeof want) != 0 || g->bad) {
            fprintf(stderr, "  after step %zu: the applied output differs from the join (bad %d)\n", st, g->bad);
            ok = false;
        }
        size_t rows[2] = {0, 0};
        for (int s = 0; s < 2; s++)
            for (int r = 0; r < NR; r++)
                rows[s] += bag[s][r] > 0;
        if (rows[0] != tide_regjoin_rows(op, TIDE_JOIN_LEFT) || rows[1] != tide_regjoin_rows(op, TIDE_JOIN_RIGHT) ||
            missing != tide_regjoin_missing(op)) {
            fprintf(stderr, "  after step %zu: rows %zu/%zu, %zu/%zu; missing %llu/%llu\n", st,
                    tide_regjoin_rows(op, TIDE_JOIN_LEFT), rows[0], tide_regjoin_rows(op, TIDE_JOIN_RIGHT), rows[1],
                    (unsigned long long)tide_regjoin_missing(op), (unsigned long long)missing);
            ok = false;
        }
    }
    tide_regjoin_free(op);
    return ok;
}

/* A random case: inserts of rows from a small universe (so rows repeat:
 * weights above 1), retractions of rows the model holds, and now and then
 * one it does not. */
static void gen_case(uint64_t seed, tcase *c)
{
    uint64_t s = seed * 2654435761u + 1;
    c->n = 1 + (size_t)(tt_rand(&s) % 300);
    c->evs = calloc(c->n, sizeof *c->evs);
    c->step_end = calloc(c->n + 1, sizeof *c->step_end);
    unsigned kind = (unsigned)(seed % 6); /* INNER, LEFT, RIGHT, FULL, SEMI, ANTI */
    c->outer[0] = kind == 1 || kind == 3;
    c->outer[1] = kind == 2 || kind == 3;
    c->kind = kind == 4 ? TIDE_REGJOIN_SEMI : kind == 5 ? TIDE_REGJOIN_ANTI : TIDE_REGJOIN_JOIN;
    c->mod = (int)(tt_rand(&s) % 4);
    c->ttl = 0;
    int64_t held[2][NR] = {{0}};
    size_t per = 1 + (size_t)(tt_rand(&s) % 12);
    c->nsteps = 0;
    for (size_t i = 0; i < c->n; i++) {
        ev *x = &c->evs[i];
        x->side = (int)(tt_rand(&s) % 2);
        x->key = (int)(tt_rand(&s) % NK);
        x->v = (int)(tt_rand(&s) % NV);
        int r = x->key * NV + x->v;
        unsigned d = (unsigned)(tt_rand(&s) % 20);
        x->w = held[x->side][r] > 0 && d < 8 ? -1 : d == 19 ? -1 : 1; /* 19: maybe missing */
        held[x->side][r] += x->w;
        if (held[x->side][r] < 0)
            held[x->side][r] = 0;
        if ((i + 1) % per == 0 || i + 1 == c->n)
            c->step_end[c->nsteps++] = i + 1;
    }
}

static void free_case(tcase *c)
{
    free(c->evs);
    free(c->step_end);
}

static void test_vs_model(void)
{
    static olog g;
    int checked = 0;
    TT_FOR_SEEDS(seed, 1, 600)
    {
        tcase c;
        gen_case(seed, &c);
        bool ok = run(&c, &g, true, 0);
        if (!ok)
            fprintf(stderr, "  seed %llu: %s join, mod %d, %zu rows in %zu steps\n", (unsigned long long)seed,
                    c.kind == TIDE_REGJOIN_SEMI   ? "SEMI"
                    : c.kind == TIDE_REGJOIN_ANTI ? "ANTI"
                    : c.outer[0] && c.outer[1]    ? "FULL"
                    : c.outer[0]                  ? "LEFT"
                    : c.outer[1]                  ? "RIGHT"
                                                  : "INNER",
                    c.mod,
                    c.n, c.nsteps);
        free_case(&c);
        tide_buf_free(&g.b);
        TT_ASSERT(ok);
        checked++;
    }
    if (!tt_replaying())
        TT_ASSERT_EQ_INT(checked, 600);
}

/* The output sequence depends on each step's rows, not their order; a
 * snapshot cut anywhere gives the same sequence. */
static void test_order_and_cuts(void)
{
    static olog a, b;
    TT_FOR_SEEDS(seed, 1, 300)
    {
        tcase c;
        gen_case(seed, &c);
        TT_ASSERT(run(&c, &a, false, 0));
        /* shuffle within each step */
        uint64_t s = seed + 99;
        size_t lo = 0;
        for (size_t st = 0; st < c.nsteps; st++) {
            for (size_t i = c.step_end[st]; i > lo + 1; i--) {
                size_t j = lo + (size_t)(tt_rand(&s) % (i - lo));
                ev t = c.evs[i - 1];
                c.evs[i - 1] = c.evs[j];
                c.evs[j] = t;
            }
            lo = c.step_end[st];
        }
        TT_ASSERT(run(&c, &b, true, 0));
        TT_ASSERT_MSG(a.b.len == b.b.len && (!a.b.len || memcmp(a.b.data, b.b.data, a.b.len) == 0),
                      "seed %llu: a shuffle within steps changed the output", (unsigned long long)seed);
        tide_buf_free(&b.b);
        TT_ASSERT(run(&c, &b, true, 1 + seed % 7));
        TT_ASSERT_MSG(a.b.len == b.b.len && (!a.b.len || memcmp(a.b.data, b.b.data, a.b.len) == 0),
                      "seed %llu: snapshot cuts changed the output", (unsigned long long)seed);
        tide_buf_free(&a.b);
        tide_buf_free(&b.b);
        free_case(&c);
    }
}

/* Flink's sequence for a LEFT join, one row per step: the padded row, then
 * -D of it and +I of the joined row, then back when the match leaves. */
/* One step: the step's flags cleared, then the watermark. */
static int step(tide_regjoin *op, olog *g, int64_t wm, tide_err *e)
{
    memset(g->step_ins, 0, sizeof g->step_ins);
    memset(g->step_del, 0, sizeof g->step_del);
    return tide_regjoin_advance_watermark(op, wm, e);
}

static void test_left_sequence(void)
{
    static olog g;
    memset(&g, 0, sizeof g);
    tcase c = {.outer = {true, false}};
    tide_regjoin *op = make_op(&c, &g);
    tide_err e = {0};
    ev l = {0, 1, 2, 1}, r = {1, 1, 3, 1};
    TT_OK(push_ev(op, &l, &e));
    TT_OK(step(op, &g, 10, &e));
    TT_ASSERT_EQ_INT(g.b.len, 3 * 8); /* +I (l, NULL) */
    int64_t *rec = (int64_t *)g.b.data;
    TT_ASSERT(rec[0] == TIDE_OP_INSERT && rec[1] == 1 * NV + 2 && rec[2] == NR);
    TT_OK(push_ev(op, &r, &e));
    TT_OK(step(op, &g, 20, &e));
    TT_ASSERT_EQ_INT(g.b.len, 9 * 8);
    rec = (int64_t *)g.b.data;
    TT_ASSERT(rec[3] == TIDE_OP_DELETE && rec[4] == 1 * NV + 2 && rec[5] == NR);
    TT_ASSERT(rec[6] == TIDE_OP_INSERT && rec[7] == 1 * NV + 2 && rec[8] == 1 * NV + 3);
    r.w = -1;
    TT_OK(push_ev(op, &r, &e));
    TT_OK(step(op, &g, 30, &e));
    TT_ASSERT_EQ_INT(g.b.len, 15 * 8);
    rec = (int64_t *)g.b.data;
    TT_ASSERT(rec[9] == TIDE_OP_DELETE && rec[11] == 1 * NV + 3);
    TT_ASSERT(rec[12] == TIDE_OP_INSERT && rec[14] == NR);
    TT_ASSERT_EQ_INT(g.bad, 0);
    tide_regjoin_free(op);
    tide_buf_free(&g.b);
}

/* TTL: a row expires ttl after the watermark of its last change, without
 * output; a later row of the other side no longer meets it. */
static void test_ttl(void)
{
    static olog g;
    memset(&g, 0, sizeof g);
    tcase c = {.outer = {false, true}, .ttl = 100};
    tide_regjoin *op = make_op(&c, &g);
    tide_err e = {0};
    ev l = {0, 1, 2, 1}, r = {1, 1, 3, 1};
    TT_OK(push_ev(op, &l, &e));
    TT_OK(step(op, &g, 1000, &e)); /* l changed at 1000: expires at 1100 */
    TT_ASSERT_EQ_INT(tide_regjoin_rows(op, TIDE_JOIN_LEFT), 1);
    TT_OK(step(op, &g, 1099, &e));
    TT_ASSERT_EQ_INT(tide_regjoin_rows(op, TIDE_JOIN_LEFT), 1);
    TT_OK(push_ev(op, &r, &e));
    TT_OK(step(op, &g, 1100, &e));
    /* r met l in the step (l still there), then l expired */
    TT_ASSERT_EQ_INT(g.acc[1 * NV + 2][1 * NV + 3], 1);
    TT_ASSERT_EQ_INT(tide_regjoin_rows(op, TIDE_JOIN_LEFT), 0);
    TT_ASSERT_EQ_INT(tide_regjoin_expired(op), 1);
    size_t before = g.b.len;
    ev r2 = {1, 1, 4, 1};
    TT_OK(push_ev(op, &r2, &e));
    TT_OK(step(op, &g, 1150, &e));
    TT_ASSERT_EQ_INT(g.acc[NR][1 * NV + 4], 1); /* no left row any more: padded */
    TT_ASSERT_EQ_INT(g.b.len, before + 3 * 8);
    TT_OK(step(op, &g, 1200, &e)); /* r (1100) expires; r2 (1150) not yet */
    TT_ASSERT_EQ_INT(tide_regjoin_rows(op, TIDE_JOIN_RIGHT), 1);
    TT_OK(step(op, &g, 1250, &e));
    TT_ASSERT_EQ_INT(tide_regjoin_rows(op, TIDE_JOIN_RIGHT), 0);
    TT_ASSERT_EQ_INT(tide_regjoin_keys(op), 0);
    TT_ASSERT_EQ_INT(tide_regjoin_expired(op), 3);
    /* a retraction of an expired row retracts nothing: counted */
    r.w = -1;
    TT_OK(push_ev(op, &r, &e));
    TT_OK(step(op, &g, 1300, &e));
    TT_ASSERT_EQ_INT(tide_regjoin_missing(op), 1);
    TT_ASSERT_EQ_INT(g.b.len, before + 3 * 8);
    /* another config's snapshot is refused */
    tide_buf snap = {0};
    TT_OK(tide_regjoin_snapshot(op, &snap, &e));
    tcase c2 = {.outer = {false, true}, .ttl = 50};
    tide_regjoin *op2 = make_op(&c2, &g);
    TT_ASSERT_EQ_INT(tide_regjoin_restore(op2, snap.data, snap.len, &e), TIDE_EINVAL);
    tide_regjoin_free(op2);
    tide_buf_free(&snap);
    tide_regjoin_free(op);
    tide_buf_free(&g.b);
}

int main(void)
{
    TT_RUN(test_left_sequence);
    TT_RUN(test_ttl);
    TT_RUN(test_vs_model);
    TT_RUN(test_order_and_cuts);
    TT_DONE();
}
