/* test_view.c - a version's results materialised from its changelog
 * (server/view.h): random changelogs against a brute-force model (a list of
 * rows, each retraction removing one equal row), retractions of rows that
 * are not there counted, the --where filter against direct evaluation, and
 * bad records and filters refused with their position. */
#include "server/view.h"
#include "tt.h"

typedef struct collect {
    char rows[4096][64];
    size_t n;
} collect;

static int on_row(void *ctx, const char *row, size_t len, tide_err *e)
{
    (void)e;
    collect *c = ctx;
    if (c->n < 4096 && len < 64) {
        memcpy(c->rows[c->n], row, len);
        c->rows[c->n][len] = '\0';
    }
    c->n++;
    return 0;
}

/* The model: rows in the order last added, repeats as separate entries. */
typedef struct model {
    char text[4096][64];
    uint64_t seq[4096];
    size_t n;
    uint64_t clock, unmatched;
} model;

static void model_apply(model *m, const char *row, int sign)
{
    if (sign > 0) {
        snprintf(m->text[m->n], sizeof m->text[m->n], "%s", row);
        m->seq[m->n++] = ++m->clock;
        /* every equal row moves to the new position: the view lists a row
         * (and its repeats) where it was last added */
        for (size_t i = 0; i < m->n; i++)
            if (strcmp(m->text[i], row) == 0)
                m->seq[i] = m->clock;
        return;
    }
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->text[i], row) == 0) {
            /* remove one (the seq of the rest stays) */
            memmove(&m->text[i], &m->text[i + 1], (m->n - i - 1) * sizeof m->text[0]);
            memmove(&m->seq[i], &m->seq[i + 1], (m->n - i - 1) * sizeof m->seq[0]);
            m->n--;
            return;
        }
    m->unmatched++;
}

static void test_random_changelogs(void)
{
    static model m;
    static collect c;
    TT_FOR_SEEDS(seed, 1, 40)
    {
        uint64_t st = seed;
        memset(&m, 0, sizeof m);
        tide_view *v = NULL;
        tide_err e = {0};
        TT_OK(tide_view_create(&v, &e));
        int n = 50 + (int)(tt_rand(&st) % 400);
        for (int i = 0; i < n; i++) {
            static const char *const ops[] = {"+I", "+U", "-U", "-D"};
            const char *op = ops[tt_rand(&st) % 4];
            int k = (int)(tt_rand(&st) % 6), x = (int)(tt_rand(&st) % 3);
            char rec[128], row[64];
            if (k == 5) { /* a NULL and a string with an escaped quote */
                snprintf(rec, sizeof rec, "{\"op\":\"%s\",\"k\":null,\"s\":\"a\\\"b,%d\"}", op, x);
                snprintf(row, sizeof row, "[null,\"a\\\"b,%d\"]", x);
            } else {
                snprintf(rec, sizeof rec, "{\"op\":\"%s\",\"k\":%d,\"s\":\"v%d\"}", op, k, x);
                snprintf(row, sizeof row, "[%d,\"v%d\"]", k, x);
            }
            TT_OK(tide_view_apply(v, rec, strlen(rec), "test", &e));
            model_apply(&m, row, op[0] == '+' ? 1 : -1);
        }
        /* the model's order: by seq, stable */
        for (size_t i = 1; i < m.n; i++)
            for (size_t k = i; k > 0 && m.seq[k - 1] > m.seq[k]; k--) {
                char t[64];
                uint64_t q = m.seq[k];
                memcpy(t, m.text[k], 64);
                memcpy(m.text[k], m.text[k - 1], 64);
                memcpy(m.text[k - 1], t, 64);
                m.seq[k] = m.seq[k - 1];
                m.seq[k - 1] = q;
            }
        c.n = 0;
        TT_OK(tide_view_each(v, NULL, on_row, &c, &e));
        TT_ASSERT_EQ_INT(c.n, m.n);
        TT_ASSERT_EQ_INT(tide_view_rows(v), m.n);
        TT_ASSERT_EQ_INT(tide_view_unmatched(v), m.unmatched);
        for (size_t i = 0; i < m.n; i++)
            TT_ASSERT_EQ_STR(c.rows[i], m.text[i]);
        TT_ASSERT_EQ_INT(tide_view_ncols(v), 2);
        TT_ASSERT_EQ_STR(tide_view_col(v, 1), "s");
        tide_view_free(v);
    }
}

static void test_filter(void)
{
    tide_view *v = NULL;
    tide_err e = {0};
    TT_OK(tide_view_create(&v, &e));
    const char *recs[] = {
        "{\"op\":\"+I\",\"window_end\":\"2024-01-01 00:01:00.000\",\"country\":\"DE\",\"dau\":5}",
        "{\"op\":\"+I\",\"window_end\":\"2024-01-01 00:02:00.000\",\"country\":\"FR\",\"dau\":12}",
        "{\"op\":\"+I\",\"window_end\":\"2024-01-01 00:03:00.000\",\"country\":null,\"dau\":7.5}",
        "{\"op\":\"+I\",\"window_end\":\"2024-01-01 00:04:00.000\",\"country\":\"O'Hara\",\"dau\":-3}",
    };
    for (int i = 0; i < 4; i++)
        TT_OK(tide_view_apply(v, recs[i], strlen(recs[i]), "t", &e));
    const char *cols[] = {"window_end", "country", "dau"};
    static const struct {
        const char *where;
        size_t n;
        const char *first; /* the first row's country cell */
    } cases[] = {
        {"dau > 6", 2, "\"FR\""},
        {"dau >= 5 AND dau < 12", 2, "\"DE\""},
        {"DAU <= 7.5 and country <> 'DE'", 1, "\"O'Hara\""}, /* NULL meets no comparison */
        {"dau <= 7.5", 3, "\"DE\""},
        {"country IS NULL", 1, "null"},
        {"country is not null", 3, "\"DE\""},
        {"window_end >= '2024-01-01 00:02:00' AND window_end < '2024-01-01 00:04'", 2, "\"FR\""},
        {"country = 'O''Hara'", 1, "\"O'Hara\""},
        {"country != NULL", 0, NULL},
        {"\"dau\" = -3", 1, "\"O'Hara\""},
        {"dau = 1e1", 0, NULL},
    };
    static collect c;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tide_view_filter *f = NULL;
        TT_ASSERT_MSG(tide_view_filter_parse(cases[k].where, cols, 3, &f, &e) == 0, "%s: %s", cases[k].where, e.msg);
        c.n = 0;
        TT_OK(tide_view_each(v, f, on_row, &c, &e));
        TT_ASSERT_MSG(c.n == cases[k].n, "%s: %zu rows", cases[k].where, c.n);
        if (cases[k].first) {
            const char *cell;
            size_t cl;
            TT_ASSERT(tide_view_cell(c.rows[0], strlen(c.rows[0]), 1, &cell, &cl));
            TT_ASSERT_MSG(cl == strlen(cases[k].first) && memcmp(cell, cases[k].first, cl) == 0, "%s: %s",
                          cases[k].where, c.rows[0]);
        }
        tide_view_filter_free(f);
    }
    static const struct {
        const char *where, *msg;
    } bad[] = {
        {"users > 3", "column 1: no column 'users' (the columns: window_end, country, dau)"},
        {"dau >", "column 6: expected a number"},
        {"dau ~ 3", "column 5: expected = <>"},
        {"dau > 3 OR dau < 1", "column 9: expected AND"},
        {"country = 'x", "unterminated 'string'"},
        {"country IS 3", "expected NULL after IS"},
        {"", "expected a column name"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        tide_view_filter *f = NULL;
        e = (tide_err){0};
        TT_ASSERT_EQ_INT(tide_view_filter_parse(bad[k].where, cols, 3, &f, &e), TIDE_EINVAL);
        TT_ASSERT_MSG(strstr(e.msg, bad[k].msg) != NULL, "%s: %s", bad[k].where, e.msg);
    }
    tide_view_free(v);
}

static void test_bad_records(void)
{
    tide_view *v = NULL;
    tide_err e = {0};
    TT_OK(tide_view_create(&v, &e));
    const char *r1 = "{\"k\":1,\"op\":\"+I\"}";
    TT_ASSERT_EQ_INT(tide_view_apply(v, r1, strlen(r1), "t/0/7", &e), TIDE_EPARSE);
    TT_ASSERT(strstr(e.msg, "t/0/7") && strstr(e.msg, "first field"));
    e = (tide_err){0};
    const char *r2 = "{\"op\":\"+X\",\"k\":1}";
    TT_ASSERT_EQ_INT(tide_view_apply(v, r2, strlen(r2), "t/0/8", &e), TIDE_EPARSE);
    e = (tide_err){0};
    const char *r3 = "{\"op\":\"+I\",\"k\":1}", *r4 = "{\"op\":\"+I\",\"j\":1}", *r5 = "{\"op\":\"+I\",\"k\":1,";
    TT_OK(tide_view_apply(v, r3, strlen(r3), "t/0/9", &e));
    TT_ASSERT_EQ_INT(tide_view_apply(v, r4, strlen(r4), "t/0/10", &e), TIDE_EPARSE);
    TT_ASSERT(strstr(e.msg, "'j'") != NULL);
    e = (tide_err){0};
    TT_ASSERT_EQ_INT(tide_view_apply(v, r5, strlen(r5), "t/0/11", &e), TIDE_EPARSE);
    tide_view_free(v);
    /* cells of a row array, strings with commas and brackets */
    const char *row = "[1,\"a,]b\",null,\"x\\\"y\"]";
    const char *cell;
    size_t cl;
    TT_ASSERT(tide_view_cell(row, strlen(row), 1, &cell, &cl));
    TT_ASSERT(cl == 6 && memcmp(cell, "\"a,]b\"", 6) == 0);
    TT_ASSERT(tide_view_cell(row, strlen(row), 3, &cell, &cl));
    TT_ASSERT(cl == 6);
    TT_ASSERT(!tide_view_cell(row, strlen(row), 4, &cell, &cl));
}

int main(void)
{
    TT_RUN(test_random_changelogs);
    TT_RUN(test_filter);
    TT_RUN(test_bad_records);
    TT_DONE();
}
