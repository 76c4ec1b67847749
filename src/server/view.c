/* view.c - a version's results materialised from its changelog.  See view.h. */
#include "server/view.h"

#include "base/hash.h"
#include "data/json.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct row {
    char *text; /* "[cell,cell,...]" */
    size_t len;
    uint64_t hash;
    uint64_t count;
    uint64_t seq; /* when it was last added */
} row;

struct tide_view {
    tide_json json;
    tide_buf scratch;
    char **cols;
    size_t ncols;
    row *rows;
    size_t nrows, cap;
    uint32_t *slots; /* open addressing: row index + 1, 0 empty */
    size_t nslots;
    uint64_t seq, live, unmatched;
};

int tide_view_create(tide_view **out, tide_err *e)
{
    tide_view *v = calloc(1, sizeof *v);
    if (!v)
        return tide_err_set(e, TIDE_ENOMEM, "results: out of memory");
    tide_json_init(&v->json);
    *out = v;
    return 0;
}

void tide_view_free(tide_view *v)
{
    if (!v)
        return;
    tide_json_free(&v->json);
    tide_buf_free(&v->scratch);
    for (size_t i = 0; i < v->ncols; i++)
        free(v->cols[i]);
    free(v->cols);
    for (size_t i = 0; i < v->nrows; i++)
        free(v->rows[i].text);
    free(v->rows);
    free(v->slots);
    free(v);
}

uint64_t tide_view_rows(const tide_view *v) { return v->live; }
uint64_t tide_view_unmatched(const tide_view *v) { return v->unmatched; }
size_t tide_view_ncols(const tide_view *v) { return v->ncols; }
const char *tide_view_col(const tide_view *v, size_t i) { return i < v->ncols ? v->cols[i] : NULL; }

/* The slot of text[0..len) (hash h): the row's, or the empty one to fill. */
static size_t find_slot(const tide_view *v, const char *text, size_t len, uint64_t h)
{
    size_t mask = v->nslots - 1, i = (size_t)h & mask;
    for (;;) {
        uint32_t s = v->slots[i];
        if (s == 0)
            return i;
        const row *r = &v->rows[s - 1];
        if (r->hash == h && r->len == len && memcmp(r->text, text, len) == 0)
            return i;
        i = (i + 1) & mask;
    }
}

static int grow_slots(tide_view *v)
{
    size_t n = v->nslots ? v->nslots * 2 : 1024;
    uint32_t *s = calloc(n, sizeof *s);
    if (!s)
        return TIDE_ENOMEM;
    free(v->slots);
    v->slots = s;
    v->nslots = n;
    for (size_t k = 0; k < v->nrows; k++) {
        size_t i = find_slot(v, v->rows[k].text, v->rows[k].len, v->rows[k].hash);
        v->slots[i] = (uint32_t)(k + 1);
    }
    return 0;
}

static int set_cols(tide_view *v, const char *where, tide_err *e)
{
    size_t n = tide_json_count(&v->json);
    v->cols = calloc(n, sizeof *v->cols);
    if (!v->cols)
        return tide_err_set(e, TIDE_ENOMEM, "results: out of memory");
    for (size_t i = 1; i < n; i++) {
        const tide_json_field *f = tide_json_field_at(&v->json, i);
        if (!(v->cols[i - 1] = strndup(f->name, f->name_len)))
            return tide_err_set(e, TIDE_ENOMEM, "results: out of memory");
        v->ncols = i;
    }
    (void)where;
    return 0;
}

int tide_view_apply(tide_view *v, const char *rec, size_t len, const char *where, tide_err *e)
{
    int rc = tide_json_parse_object(&v->json, rec, len, where, e);
    if (rc)
        return rc;
    size_t n = tide_json_count(&v->json);
    const tide_json_field *f0 = n ? tide_json_field_at(&v->json, 0) : NULL;
    if (!f0 || f0->name_len != 2 || memcmp(f0->name, "op", 2) != 0 || f0->value.type != TIDE_JSON_STRING ||
        f0->value.len != 2)
        return tide_err_set(e, TIDE_EPARSE, "%s: not a changelog row (its first field must be \"op\")", where);
    const char *op = f0->value.text;
    int sign;
    if ((op[0] == '+' && op[1] == 'I') || (op[0] == '+' && op[1] == 'U'))
        sign = 1;
    else if ((op[0] == '-' && op[1] == 'U') || (op[0] == '-' && op[1] == 'D'))
        sign = -1;
    else
        return tide_err_set(e, TIDE_EPARSE, "%s: unknown op '%.2s'", where, op);
    if (v->cols == NULL && (rc = set_cols(v, where, e)) != 0)
        return rc;
    if (n - 1 != v->ncols)
        return tide_err_set(e, TIDE_EPARSE, "%s: %zu columns, the first row had %zu", where, n - 1, v->ncols);
    tide_buf *b = &v->scratch;
    tide_buf_reset(b);
    rc = tide_buf_putc(b, '[');
    for (size_t i = 1; i < n && rc == 0; i++) {
        const tide_json_field *f = tide_json_field_at(&v->json, i);
        if (f->name_len != strlen(v->cols[i - 1]) || memcmp(f->name, v->cols[i - 1], f->name_len) != 0)
            return tide_err_set(e, TIDE_EPARSE, "%s: column %zu is '%.*s', the first row had '%s'", where, i,
                                (int)f->name_len, f->name, v->cols[i - 1]);
        if (i > 1)
            rc = tide_buf_putc(b, ',');
        if (rc == 0)
            rc = tide_buf_append(b, f->value.raw, f->value.raw_len);
    }
    if (rc == 0)
        rc = tide_buf_putc(b, ']');
    if (rc)
        return tide_err_set(e, TIDE_ENOMEM, "results: out of memory");
    const char *text = (const char *)b->data;
    size_t tl = b->len;
    uint64_t h = tide_hash64(text, tl, 0x76696577ULL);
    if (v->nslots == 0 && grow_slots(v) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "results: out of memory");
    size_t i = find_slot(v, text, tl, h);
    row *r = v->slots[i] ? &v->rows[v->slots[i] - 1] : NULL;
    if (sign < 0) {
        if (!r || r->count == 0) {
            v->unmatched++;
            return 0;
        }
        r->count--;
        v->live--;
        return 0;
    }
    if (!r) {
        if ((v->nrows + 1) * 2 > v->nslots) {
            if (grow_slots(v) != 0)
                return tide_err_set(e, TIDE_ENOMEM, "results: out of memory");
            i = find_slot(v, text, tl, h);
        }
        if (tide_array_grow((void **)&v->rows, &v->cap, v->nrows + 1, sizeof *v->rows) != 0)
            return tide_err_set(e, TIDE_ENOMEM, "results: out of memory");
        char *t = malloc(tl);
        if (!t)
            return tide_err_set(e, TIDE_ENOMEM, "results: out of memory");
        memcpy(t, text, tl);
        r = &v->rows[v->nrows];
        *r = (row){.text = t, .len = tl, .hash = h};
        v->slots[i] = (uint32_t)(++v->nrows);
    }
    r->count++;
    r->seq = ++v->seq;
    v->live++;
    return 0;
}

/* ---- cells ---- */

bool tide_view_cell(const char *row, size_t len, size_t col, const char **cell, size_t *cell_len)
{
    if (len < 2 || row[0] != '[')
        return false;
    size_t i = 1, k = 0, start = 1;
    int depth = 0;
    bool str = false;
    for (; i < len; i++) {
        char c = row[i];
        if (str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                str = false;
            continue;
        }
        if (c == '"')
            str = true;
        else if (c == '[' || c == '{')
            depth++;
        else if ((c == ']' || c == '}') && depth > 0)
            depth--;
        else if (depth == 0 && (c == ',' || c == ']')) {
            if (k == col) {
                *cell = row + start;
                *cell_len = i - start;
                return i > start;
            }
            k++;
            start = i + 1;
            if (c == ']')
                return false;
        }
    }
    return false;
}

/* ---- the filter ---- */

typedef enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_NULL, OP_NOTNULL } cmp_op;

typedef struct cond {
    size_t col;
    cmp_op op;
    bool null_value; /* VALUE was NULL: no row passes a comparison */
    bool is_num;
    double num;
    char *text; /* the value as text (a string unquoted) */
} cond;

struct tide_view_filter {
    cond *c;
    size_t n;
};

void tide_view_filter_free(tide_view_filter *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        free(f->c[i].text);
    free(f->c);
    free(f);
}

static void skip_ws(const char *s, size_t *i)
{
    while (s[*i] && isspace((unsigned char)s[*i]))
        (*i)++;
}

static bool word_at(const char *s, size_t i, const char *w)
{
    size_t n = strlen(w);
    return strncasecmp(s + i, w, n) == 0 && !isalnum((unsigned char)s[i + n]) && s[i + n] != '_';
}

int tide_view_filter_parse(const char *expr, const char *const *cols, size_t ncols, tide_view_filter **out,
                           tide_err *e)
{
    tide_view_filter *f = calloc(1, sizeof *f);
    size_t cap = 0, i = 0;
    int rc = f ? 0 : tide_err_set(e, TIDE_ENOMEM, "where: out of memory");
    while (rc == 0) {
        skip_ws(expr, &i);
        /* COLUMN */
        size_t c0 = i;
        bool quoted = expr[i] == '"';
        if (quoted) {
            i++;
            while (expr[i] && expr[i] != '"')
                i++;
            if (expr[i] != '"') {
                rc = tide_err_set(e, TIDE_EINVAL, "where: column %zu: unterminated \"name\"", c0 + 1);
                break;
            }
            i++;
        } else {
            while (isalnum((unsigned char)expr[i]) || expr[i] == '_')
                i++;
        }
        if (i == c0) {
            rc = tide_err_set(e, TIDE_EINVAL, "where: column %zu: expected a column name%s", c0 + 1,
                              expr[i] ? "" : " (the expression ended)");
            break;
        }
        const char *name = expr + c0 + (quoted ? 1 : 0);
        size_t nlen = i - c0 - (quoted ? 2 : 0);
        size_t col = ncols;
        for (size_t k = 0; k < ncols; k++)
            if (strlen(cols[k]) == nlen && (quoted ? strncmp(cols[k], name, nlen) == 0
                                                   : strncasecmp(cols[k], name, nlen) == 0))
                col = k;
        if (col == ncols) {
            char list[512] = "";
            for (size_t k = 0; k < ncols; k++) {
                strncat(list, k ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, cols[k], sizeof list - strlen(list) - 1);
            }
            rc = tide_err_set(e, TIDE_EINVAL, "where: column %zu: no column '%.*s' (the columns: %s)", c0 + 1,
                              (int)nlen, name, ncols ? list : "none yet");
            break;
        }
        if (tide_array_grow((void **)&f->c, &cap, f->n + 1, sizeof *f->c) != 0) {
            rc = tide_err_set(e, TIDE_ENOMEM, "where: out of memory");
            break;
        }
        cond *c = &f->c[f->n++];
        memset(c, 0, sizeof *c);
        c->col = col;
        skip_ws(expr, &i);
        size_t o0 = i;
        if (word_at(expr, i, "IS")) {
            i += 2;
            skip_ws(expr, &i);
            bool not = word_at(expr, i, "NOT");
            if (not) {
                i += 3;
                skip_ws(expr, &i);
            }
            if (!word_at(expr, i, "NULL")) {
                rc = tide_err_set(e, TIDE_EINVAL, "where: column %zu: expected NULL after IS%s", i + 1,
                                  not ? " NOT" : "");
                break;
            }
            i += 4;
            c->op = not ? OP_NOTNULL : OP_NULL;
        } else {
            static const struct {
                const char *t;
                cmp_op op;
            } ops[] = {{"<>", OP_NE}, {"!=", OP_NE}, {"<=", OP_LE}, {">=", OP_GE},
                       {"=", OP_EQ},  {"<", OP_LT},  {">", OP_GT}};
            size_t k = 0;
            for (; k < sizeof ops / sizeof ops[0]; k++)
                if (strncmp(expr + i, ops[k].t, strlen(ops[k].t)) == 0)
                    break;
            if (k == sizeof ops / sizeof ops[0]) {
                rc = tide_err_set(e, TIDE_EINVAL, "where: column %zu: expected = <> != < <= > >= or IS after '%.*s'",
                                  o0 + 1, (int)nlen, name);
                break;
            }
            c->op = ops[k].op;
            i += strlen(ops[k].t);
            skip_ws(expr, &i);
            size_t v0 = i;
            if (expr[i] == '\'') {
                tide_buf t = {0};
                i++;
                for (;;) {
                    if (!expr[i]) {
                        tide_buf_free(&t);
                        rc = tide_err_set(e, TIDE_EINVAL, "where: column %zu: unterminated 'string'", v0 + 1);
                        break;
                    }
                    if (expr[i] == '\'' && expr[i + 1] == '\'') {
                        tide_buf_putc(&t, '\'');
                        i += 2;
                    } else if (expr[i] == '\'') {
                        i++;
                        break;
                    } else {
                        tide_buf_putc(&t, expr[i++]);
                    }
                }
                if (rc)
                    break;
                tide_buf_putc(&t, '\0');
                if (!(c->text = t.data ? (char *)t.data : strdup(""))) {
                    rc = tide_err_set(e, TIDE_ENOMEM, "where: out of memory");
                    break;
                }
            } else if (word_at(expr, i, "NULL")) {
                c->null_value = true;
                i += 4;
            } else {
                char *end;
                errno = 0;
                double d = strtod(expr + i, &end);
                if (end == expr + i || errno || !isfinite(d)) {
                    rc = tide_err_set(e, TIDE_EINVAL, "where: column %zu: expected a number, 'text' or NULL", v0 + 1);
                    break;
                }
                c->is_num = true;
                c->num = d;
                c->text = strndup(expr + i, (size_t)(end - (expr + i)));
                i = (size_t)(end - expr);
                if (!c->text) {
                    rc = tide_err_set(e, TIDE_ENOMEM, "where: out of memory");
                    break;
                }
            }
        }
        skip_ws(expr, &i);
        if (!expr[i])
            break;
        if (!word_at(expr, i, "AND")) {
            rc = tide_err_set(e, TIDE_EINVAL, "where: column %zu: expected AND or the end, found '%.16s'", i + 1,
                              expr + i);
            break;
        }
        i += 3;
    }
    if (rc) {
        tide_view_filter_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

/* A string cell's text, unescaped enough to compare (escapes are rare in
 * results: kept as written except \" and \\). */
static void cell_text(const char *cell, size_t len, tide_buf *out)
{
    tide_buf_reset(out);
    if (len >= 2 && cell[0] == '"') {
        for (size_t i = 1; i + 1 < len; i++) {
            if (cell[i] == '\\' && i + 2 < len && (cell[i + 1] == '"' || cell[i + 1] == '\\'))
                i++;
            tide_buf_putc(out, cell[i]);
        }
    } else {
        tide_buf_append(out, cell, len);
    }
    tide_buf_putc(out, '\0');
}

static bool passes(const tide_view_filter *f, const char *row, size_t len, tide_buf *tmp)
{
    for (size_t k = 0; k < f->n; k++) {
        const cond *c = &f->c[k];
        const char *cell;
        size_t cl;
        if (!tide_view_cell(row, len, c->col, &cell, &cl))
            return false;
        bool is_null = cl == 4 && memcmp(cell, "null", 4) == 0;
        if (c->op == OP_NULL || c->op == OP_NOTNULL) {
            if (is_null != (c->op == OP_NULL))
                return false;
            continue;
        }
        if (is_null || c->null_value)
            return false;
        int cmp;
        bool num_cell = cl > 0 && cell[0] != '"' && cell[0] != 't' && cell[0] != 'f';
        if (c->is_num && num_cell) {
            cell_text(cell, cl, tmp);
            double d = strtod((const char *)tmp->data, NULL);
            cmp = d < c->num ? -1 : d > c->num;
        } else {
            cell_text(cell, cl, tmp);
            cmp = strcmp((const char *)tmp->data, c->text);
            cmp = cmp < 0 ? -1 : cmp > 0;
        }
        bool ok = c->op == OP_EQ   ? cmp == 0
                  : c->op == OP_NE ? cmp != 0
                  : c->op == OP_LT ? cmp < 0
                  : c->op == OP_LE ? cmp <= 0
                  : c->op == OP_GT ? cmp > 0
                                   : cmp >= 0;
        if (!ok)
            return false;
    }
    return true;
}

static int cmp_seq(const void *a, const void *b)
{
    const row *x = *(const row *const *)a, *y = *(const row *const *)b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int tide_view_each(const tide_view *v, const tide_view_filter *f,
                   int (*fn)(void *ctx, const char *row, size_t len, tide_err *e), void *ctx, tide_err *e)
{
    size_t n = 0;
    for (size_t i = 0; i < v->nrows; i++)
        n += v->rows[i].count > 0;
    const row **order = malloc((n ? n : 1) * sizeof *order);
    if (!order)
        return tide_err_set(e, TIDE_ENOMEM, "results: out of memory");
    n = 0;
    for (size_t i = 0; i < v->nrows; i++)
        if (v->rows[i].count > 0)
            order[n++] = &v->rows[i];
    if (n > 1)
        qsort(order, n, sizeof *order, cmp_seq);
    tide_buf tmp = {0};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (f && !passes(f, order[i]->text, order[i]->len, &tmp))
            continue;
        for (uint64_t k = 0; k < order[i]->count && rc == 0; k++)
            rc = fn(ctx, order[i]->text, order[i]->len, e);
    }
    tide_buf_free(&tmp);
    free(order);
    return rc;
}
