/*
 * test_batch.c - column batches against a brute-force model: each model row
 * is an array of malloc'd boxed values; every batch operation is mirrored on
 * the model and the two are compared cell by cell.
 */
#include "data/batch.h"
#include "tt.h"

#include <math.h>
#include <stdbool.h>

#define NC 6
static const tide_type TYPES[NC] = {TIDE_TYPE_TIMESTAMP, TIDE_TYPE_BIGINT, TIDE_TYPE_STRING,
                                    TIDE_TYPE_DOUBLE, TIDE_TYPE_BOOLEAN, TIDE_TYPE_STRING};

typedef struct mcell {
    bool null;
    int64_t i;
    double d;
    bool b;
    char *s; /* malloc'd */
    size_t slen;
} mcell;

typedef struct mrow {
    mcell c[NC];
    tide_op op;
    uint64_t pos;
} mrow;

static tide_schema *make_schema(void)
{
    tide_schema *s = NULL;
    tide_err e = {0};
    static const char *names[NC] = {"ts", "id", "name", "score", "flag", "note"};
    if (tide_schema_create(&s, &e))
        return NULL;
    for (int i = 0; i < NC; i++)
        if (tide_schema_add(s, names[i], TYPES[i], true, &e))
            return NULL;
    return s;
}

static void free_row(mrow *r)
{
    for (int c = 0; c < NC; c++)
        free(r->c[c].s);
    memset(r, 0, sizeof *r);
}

static void random_row(uint64_t *seed, mrow *r)
{
    memset(r, 0, sizeof *r);
    for (int c = 0; c < NC; c++) {
        mcell *m = &r->c[c];
        uint64_t x = tt_rand(seed);
        m->null = x % 5 == 0;
        if (m->null)
            continue;
        switch (TYPES[c]) {
        case TIDE_TYPE_TIMESTAMP:
        case TIDE_TYPE_BIGINT:
            m->i = (int64_t)tt_rand(seed);
            break;
        case TIDE_TYPE_DOUBLE:
            m->d = (double)(int64_t)tt_rand(seed) / 1e6;
            break;
        case TIDE_TYPE_BOOLEAN:
            m->b = x & 8;
            break;
        case TIDE_TYPE_STRING: {
            /* mostly short, sometimes empty, rarely bigger than a block */
            uint64_t k = tt_rand(seed) % 100;
            m->slen = k < 10 ? 0 : k < 97 ? tt_rand(seed) % 40 : 1000 + tt_rand(seed) % 40000;
            m->s = malloc(m->slen + 1);
            for (size_t i = 0; i < m->slen; i++)
                m->s[i] = (char)(tt_rand(seed) & 0xff);
            break;
        }
        default:
            break;
        }
    }
    r->op = (tide_op)(tt_rand(seed) % TIDE_OP_COUNT);
    r->pos = tt_rand(seed);
}

static int put_row(tide_cbatch *b, const mrow *r)
{
    uint32_t row;
    tide_err e = {0};
    int rc = tide_cbatch_add_row(b, &row);
    if (rc)
        return rc;
    for (uint32_t c = 0; c < NC; c++) {
        const mcell *m = &r->c[c];
        if (m->null)
            continue; /* add_row made it NULL */
        switch (TYPES[c]) {
        case TIDE_TYPE_TIMESTAMP:
        case TIDE_TYPE_BIGINT:
            tide_cbatch_set_i64(b, c, row, m->i);
            break;
        case TIDE_TYPE_DOUBLE:
            tide_cbatch_set_f64(b, c, row, m->d);
            break;
        case TIDE_TYPE_BOOLEAN:
            tide_cbatch_set_bool(b, c, row, m->b);
            break;
        case TIDE_TYPE_STRING:
            rc = tide_cbatch_set_str(b, c, row, m->s, m->slen, &e);
            if (rc)
                return rc;
            break;
        default:
            break;
        }
    }
    tide_cbatch_set_op(b, row, r->op);
    tide_cbatch_set_pos(b, row, r->pos);
    return 0;
}

/* Does batch row `row` hold model row r?  Uses inline and boxed getters. */
static bool same(const tide_cbatch *b, uint32_t row, const mrow *r)
{
    for (uint32_t c = 0; c < NC; c++) {
        const mcell *m = &r->c[c];
        tide_value v = tide_cbatch_get(b, c, row);
        if (v.type != TYPES[c] || tide_cbatch_is_null(b, c, row) != m->null || v.is_null != m->null)
            return false;
        if (m->null)
            continue;
        switch (TYPES[c]) {
        case TIDE_TYPE_TIMESTAMP:
        case TIDE_TYPE_BIGINT:
            if (tide_cbatch_i64(b, c, row) != m->i || v.u.i64 != m->i ||
                tide_cbatch_col_i64(b, c)[row] != m->i)
                return false;
            break;
        case TIDE_TYPE_DOUBLE:
            if (tide_cbatch_f64(b, c, row) != m->d || v.u.f64 != m->d)
                return false;
            break;
        case TIDE_TYPE_BOOLEAN:
            if (tide_cbatch_bool(b, c, row) != m->b || v.u.b != m->b)
                return false;
            break;
        case TIDE_TYPE_STRING: {
            tide_str s = tide_cbatch_str(b, c, row);
            if (s.len != m->slen || (s.len && memcmp(s.ptr, m->s, s.len) != 0) || s.ptr != v.u.s.ptr)
                return false;
            break;
        }
        default:
            break;
        }
    }
    if (tide_cbatch_has_ops(b) && tide_cbatch_op(b, row) != r->op)
        return false;
    if (!tide_cbatch_has_ops(b) && tide_cbatch_op(b, row) != TIDE_OP_INSERT)
        return false;
    if (tide_cbatch_pos(b, row) != (tide_cbatch_has_pos(b) ? r->pos : 0))
        return false;
    return true;
}

static void test_ops(void)
{
    static const char *names[] = {"+I", "-U", "+U", "-D"};
    for (int i = 0; i < TIDE_OP_COUNT; i++) {
        TT_ASSERT_EQ_STR(tide_op_name((tide_op)i), names[i]);
        tide_op op;
        TT_OK(tide_op_parse(names[i], 2, &op));
        TT_ASSERT_EQ_INT(op, i);
    }
    tide_op op;
    TT_ASSERT_EQ_INT(tide_op_parse("+X", 2, &op), TIDE_EINVAL);
    TT_ASSERT_EQ_INT(tide_op_parse("+", 1, &op), TIDE_EINVAL);
    TT_ASSERT_EQ_INT(TIDE_OP_INSERT, 0);
}

static void test_model(void)
{
    uint64_t seed = tt_seed(0xba7c4ull);
    tide_schema *s = make_schema();
    TT_ASSERT(s);
    tide_err e = {0};
    enum { CAP = 300 };
    static mrow model[CAP], model2[CAP];
    tide_cbatch *b = NULL, *d = NULL, *plain = NULL;
    TT_OK(tide_cbatch_create(&b, s, CAP, TIDE_CBATCH_OPS | TIDE_CBATCH_POS, &e));
    TT_OK(tide_cbatch_create(&d, s, CAP, TIDE_CBATCH_OPS | TIDE_CBATCH_POS, &e));
    TT_OK(tide_cbatch_create(&plain, s, CAP, 0, &e));
    TT_ASSERT_EQ_INT(tide_cbatch_capacity(b), CAP);
    TT_ASSERT_EQ_INT(tide_cbatch_ncols(b), NC);
    TT_ASSERT(tide_cbatch_schema(b) == s);

    for (int round = 0; round < 40; round++) {
        uint32_t n = (uint32_t)(tt_rand(&seed) % (CAP + 1));
        tide_cbatch_reset(b);
        tide_cbatch_reset(d);
        tide_cbatch_reset(plain);
        TT_ASSERT_EQ_INT(tide_cbatch_rows(b), 0);
        for (uint32_t i = 0; i < n; i++) {
            random_row(&seed, &model[i]);
            TT_OK(put_row(b, &model[i]));
            if (tt_rand(&seed) % 7 == 0) { /* a row that turns out bad */
                mrow junk;
                random_row(&seed, &junk);
                TT_OK(put_row(b, &junk));
                tide_cbatch_drop_last(b);
                free_row(&junk);
            }
        }
        TT_ASSERT_EQ_INT(tide_cbatch_rows(b), n);
        TT_ASSERT(tide_cbatch_full(b) == (n == CAP));
        for (uint32_t i = 0; i < n; i++)
            if (!same(b, i, &model[i])) {
                TT_SEED(seed);
                TT_ASSERT_MSG(0, "round %d row %u differs", round, i);
            }

        /* min/max of the timestamp column against a scan of the model */
        {
            int64_t lo = 0, hi = 0, glo = 7, ghi = 7;
            bool any = false;
            for (uint32_t i = 0; i < n; i++) {
                if (model[i].c[0].null)
                    continue;
                lo = !any || model[i].c[0].i < lo ? model[i].c[0].i : lo;
                hi = !any || model[i].c[0].i > hi ? model[i].c[0].i : hi;
                any = true;
            }
            TT_ASSERT(tide_cbatch_i64_range(b, 0, &glo, &ghi) == any);
            if (any)
                TT_ASSERT(glo == lo && ghi == hi);
            else
                TT_ASSERT(glo == 7 && ghi == 7);
        }
        /* select a random subset (with repeats, any order) into d */
        uint32_t sel[CAP], m = n ? (uint32_t)(tt_rand(&seed) % (n + 1)) : 0;
        for (uint32_t i = 0; i < m; i++)
            sel[i] = (uint32_t)(tt_rand(&seed) % n);
        TT_OK(tide_cbatch_select(d, b, sel, m, &e));
        TT_ASSERT_EQ_INT(tide_cbatch_rows(d), m);
        for (uint32_t i = 0; i < m; i++) {
            TT_ASSERT(same(d, i, &model[sel[i]]));
            TT_ASSERT(tide_cbatch_row_equal(d, i, b, sel[i]));
        }
        /* copy_row into a batch without ops/pos: op +I, pos 0 */
        for (uint32_t i = 0; i < n; i += 3) {
            TT_OK(tide_cbatch_copy_row(plain, b, i, &e));
            uint32_t r = tide_cbatch_rows(plain) - 1;
            mrow tmp = model[i];
            tmp.op = TIDE_OP_INSERT;
            TT_ASSERT(same(plain, r, &tmp));
        }
        /* the source batch's strings are not shared with the copies */
        for (uint32_t i = 0; i < m; i++)
            for (uint32_t c = 0; c < NC; c++)
                if (TYPES[c] == TIDE_TYPE_STRING && !tide_cbatch_is_null(d, c, i) &&
                    tide_cbatch_str(d, c, i).len)
                    TT_ASSERT(tide_cbatch_str(d, c, i).ptr != tide_cbatch_str(b, c, sel[i]).ptr);

        /* compact b in place to a strictly increasing subset */
        uint32_t keep[CAP], k = 0;
        for (uint32_t i = 0; i < n; i++)
            if (tt_rand(&seed) % 3)
                keep[k++] = i;
        for (uint32_t i = 0; i < k; i++)
            model2[i] = model[keep[i]];
        tide_cbatch_compact(b, keep, k);
        TT_ASSERT_EQ_INT(tide_cbatch_rows(b), k);
        for (uint32_t i = 0; i < k; i++)
            TT_ASSERT(same(b, i, &model2[i]));
        /* d's copies survive the reset of b */
        tide_cbatch_reset(b);
        for (uint32_t i = 0; i < m; i++)
            TT_ASSERT(same(d, i, &model[sel[i]]));
        for (uint32_t i = 0; i < n; i++)
            free_row(&model[i]);
    }
    tide_cbatch_free(b);
    tide_cbatch_free(d);
    tide_cbatch_free(plain);
    tide_schema_free(s);
}

/* Full batch, type mismatch, bad capacity, boxed set. */
static void test_errors_and_boxed(void)
{
    tide_schema *s = make_schema();
    TT_ASSERT(s);
    tide_err e = {0};
    tide_cbatch *b = NULL;
    TT_ASSERT_EQ_INT(tide_cbatch_create(&b, s, 0, 0, &e), TIDE_EINVAL);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_cbatch_create(&b, s, TIDE_CBATCH_MAX_CAPACITY + 1, 0, &e), TIDE_EINVAL);
    tide_err_clear(&e);
    TT_OK(tide_cbatch_create(&b, s, 2, 0, &e));
    uint32_t r;
    TT_OK(tide_cbatch_add_row(b, &r));
    TT_ASSERT_EQ_INT(r, 0);
    for (uint32_t c = 0; c < NC; c++)
        TT_ASSERT(tide_cbatch_is_null(b, c, 0));
    tide_value v = {.type = TIDE_TYPE_BIGINT, .u.i64 = 42};
    TT_OK(tide_cbatch_set(b, 0, 0, &v, &e)); /* BIGINT into TIMESTAMP is fine */
    TT_OK(tide_cbatch_set(b, 1, 0, &v, &e));
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 0, 0), 42);
    TT_ASSERT_EQ_INT(tide_cbatch_set(b, 2, 0, &v, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "column name: cannot store a BIGINT value in a STRING column") != NULL);
    tide_err_clear(&e);
    tide_value sv = {.type = TIDE_TYPE_STRING, .u.s = {"hello", 5}};
    TT_OK(tide_cbatch_set(b, 2, 0, &sv, &e));
    tide_str got = tide_cbatch_str(b, 2, 0);
    TT_ASSERT(got.len == 5 && memcmp(got.ptr, "hello", 5) == 0 && got.ptr != sv.u.s.ptr);
    /* too long for a tide_str: refused before any byte is read */
    TT_ASSERT_EQ_INT(tide_cbatch_set_str(b, 2, 0, "x", (size_t)UINT32_MAX + 1, &e), TIDE_ERANGE);
    tide_err_clear(&e);
    got = tide_cbatch_str(b, 2, 0);
    TT_ASSERT(got.len == 5 && memcmp(got.ptr, "hello", 5) == 0);
    tide_value nv = {.type = TIDE_TYPE_NULL, .is_null = true};
    TT_OK(tide_cbatch_set(b, 2, 0, &nv, &e));
    TT_ASSERT(tide_cbatch_is_null(b, 2, 0));
    TT_OK(tide_cbatch_add_row(b, &r));
    TT_ASSERT(tide_cbatch_full(b));
    TT_ASSERT_EQ_INT(tide_cbatch_add_row(b, &r), TIDE_ERANGE);
    TT_ASSERT_EQ_INT(tide_cbatch_copy_row(b, b, 0, &e), TIDE_ERANGE);
    tide_err_clear(&e);
    uint32_t sel[1] = {0};
    TT_ASSERT_EQ_INT(tide_cbatch_select(b, b, sel, 1, &e), TIDE_ERANGE);
    tide_err_clear(&e);

    /* a batch of another shape is refused */
    tide_schema *s2 = NULL;
    TT_OK(tide_schema_create(&s2, &e));
    TT_OK(tide_schema_add(s2, "x", TIDE_TYPE_BIGINT, true, &e));
    tide_cbatch *b2 = NULL;
    TT_OK(tide_cbatch_create(&b2, s2, 4, 0, &e));
    TT_ASSERT_EQ_INT(tide_cbatch_copy_row(b2, b, 0, &e), TIDE_EINVAL);
    TT_ASSERT_EQ_INT(tide_cbatch_rows(b2), 0);
    tide_cbatch_free(b2);
    tide_schema_free(s2);
    tide_cbatch_free(b);
    tide_cbatch_free(NULL);
    tide_schema_free(s);
}

/* Refill with the same amount of string bytes: after the arena has grown
 * once, reset keeps the same single block (no allocation). */
static void test_steady_state(void)
{
    tide_schema *s = make_schema();
    TT_ASSERT(s);
    tide_err e = {0};
    tide_cbatch *b = NULL;
    TT_OK(tide_cbatch_create(&b, s, 1024, 0, &e));
    char text[200];
    memset(text, 'x', sizeof text);
    const void *head = NULL;
    size_t bs = 0;
    for (int round = 0; round < 6; round++) {
        tide_cbatch_reset(b);
        for (uint32_t i = 0; i < 1024; i++) {
            uint32_t r;
            TT_OK(tide_cbatch_add_row(b, &r));
            TT_OK(tide_cbatch_set_str(b, 2, r, text, 1 + (i * 37) % 200, &e));
        }
        if (round == 3) {
            head = b->arena.head;
            bs = b->arena.block_size;
        } else if (round > 3) {
            TT_ASSERT(b->arena.head == head);
            TT_ASSERT(b->arena.block_size == bs);
        }
        for (uint32_t i = 0; i < 1024; i++)
            TT_ASSERT_EQ_INT(tide_cbatch_str(b, 2, i).len, 1 + (i * 37) % 200);
    }
    tide_cbatch_free(b);
    tide_schema_free(s);
}

/* A view shows the bound batch's columns, and its ops and positions as
 * far as tide_cbatch_view_keep lets it. */
static void test_view_keep(void)
{
    tide_schema *s = make_schema();
    TT_ASSERT(s);
    tide_err e = {0};
    tide_cbatch *b = NULL, *v = NULL;
    TT_OK(tide_cbatch_create(&b, s, 8, TIDE_CBATCH_OPS | TIDE_CBATCH_POS, &e));
    uint32_t r;
    TT_OK(tide_cbatch_add_row(b, &r));
    tide_cbatch_set_i64(b, 1, r, 42);
    tide_cbatch_set_op(b, r, TIDE_OP_UPDATE_AFTER);
    tide_cbatch_set_pos(b, r, 17);
    TT_OK(tide_cbatch_view_create(&v, s, NULL, &e));
    TT_OK(tide_cbatch_view_bind(v, b, &e));
    TT_ASSERT(tide_cbatch_has_ops(v) && tide_cbatch_has_pos(v));
    TT_ASSERT_EQ_INT(tide_cbatch_pos(v, 0), 17);
    tide_cbatch_view_keep(v, TIDE_CBATCH_OPS);
    TT_OK(tide_cbatch_view_bind(v, b, &e));
    TT_ASSERT(tide_cbatch_has_ops(v) && !tide_cbatch_has_pos(v));
    TT_ASSERT_EQ_INT(tide_cbatch_op(v, 0), TIDE_OP_UPDATE_AFTER);
    TT_ASSERT_EQ_INT(tide_cbatch_pos(v, 0), 0);
    tide_cbatch_view_keep(v, 0);
    TT_OK(tide_cbatch_view_bind(v, b, &e));
    TT_ASSERT(!tide_cbatch_has_ops(v) && !tide_cbatch_has_pos(v));
    TT_ASSERT_EQ_INT(tide_cbatch_op(v, 0), TIDE_OP_INSERT);
    TT_ASSERT_EQ_INT(tide_cbatch_rows(v), 1);
    TT_ASSERT_EQ_INT(tide_cbatch_i64(v, 1, 0), 42);
    tide_cbatch_free(v);
    tide_cbatch_free(b);
    tide_schema_free(s);
}

int main(void)
{
    TT_RUN(test_ops);
    TT_RUN(test_view_keep);
    TT_RUN(test_model);
    TT_RUN(test_errors_and_boxed);
    TT_RUN(test_steady_state);
    TT_DONE();
}
