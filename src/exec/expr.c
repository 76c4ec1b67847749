/*
 * expr.c - typed expression trees, evaluated one column batch at a time.
 *
 * How evaluation works.  ev(x, batch, n, active) evaluates x's children and
 * then runs one kernel over the n rows, leaving the result in x->res (which
 * points at x's own buffers, or straight at the batch's arrays for a column
 * reference).  Kernels compute every row, NULL or not (the value slot of a
 * NULL row is garbage but readable; BOOLEAN bytes are therefore normalised
 * with != 0 and never read as C bool), so the loops are simple and the
 * compiler vectorises the numeric ones.
 *
 * `active` (a byte per row, or NULL for all rows) marks the rows SQL would
 * actually evaluate at this node; it only decides which failed CASTs raise
 * an error and which rows fail (row_fault: an integer overflow, a TIMESTAMP
 * result outside the range).  A failed row's value is NULL and it is marked
 * in the root's fault record, which the caller reads (tide_expr_faults) to
 * drop the row as a bad row: the kernels stay one branch-free pass that
 * also ORs an overflow flag, and only a batch with a fault is walked again
 * to find its rows.  CASE, COALESCE, AND and OR narrow it for the operands that SQL
 * evaluates lazily (THEN branches, later COALESCE arguments, the right side
 * of AND/OR), so `CASE WHEN s <> '' THEN CAST(s AS BIGINT) END` never fails
 * on the empty strings.
 *
 * Typing happens once, in the constructors.  Implicit conversions (BIGINT to
 * DOUBLE for mixed arithmetic and comparisons, a NULL literal to the type
 * its context needs) are explicit CAST nodes inserted there, so every kernel
 * sees operands of one type.
 *
 * Memory: every node has a result buffer pair (values, nulls) sized to the
 * largest batch seen, a few byte masks for the nodes that need them, and
 * one growable byte buffer for the strings it produces.  Evaluation
 * allocates only when a batch is larger than any before, or a node's string
 * output outgrows its buffer.
 */
#include "exec/expr.h"

/* The kernels below are plain loops over arrays written for the vectoriser;
 * gcc 12 at -O2 uses its "very cheap" cost model, which vectorises none of
 * them (the row count is not a known multiple of the vector width).  clang
 * vectorises them at -O2 already. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=dynamic")
#endif

#include "data/decimal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum node_kind {
    K_COL,
    K_LIT,
    K_ARITH,
    K_NEG,
    K_CMP,
    K_LOGIC,
    K_NOT,
    K_IS,
    K_BETWEEN,
    K_IN,
    K_LIKE,
    K_CASE,
    K_COALESCE,
    K_CAST,
    K_CONCAT,
    K_STRFN,
    K_SUBSTR,
    K_TRIM,
    K_FLOOR,
    K_EXTRACT,
    K_DATEFMT,
    K_TSPARSE,  /* TO_TIMESTAMP / UNIX_TIMESTAMP: op = TSP_* */
    K_EPOCH,    /* TO_TIMESTAMP_LTZ: op = ms per unit of the number */
    K_TSADD,    /* TIMESTAMPADD(unit, n, ts): kids n, ts */
    K_TSDIFF,   /* TIMESTAMPDIFF(unit, a, b) */
    K_NOW,      /* processing time: op = TIDE_EXPR_NOW_* */
} node_kind;

/* K_TSPARSE results. */
enum { TSP_TIMESTAMP, TSP_SECONDS };
/* K_EXTRACT beyond the units: op 0 = x->unit, else these. */
enum { EXT_UNIT, EXT_DOW, EXT_DOY };

/* LIKE pattern elements: a literal byte (0..255), any one character, any
 * run of characters. */
#define LIKE_ONE (-1)
#define LIKE_ANY (-2)

typedef enum like_shape { LIKE_EXACT, LIKE_PREFIX, LIKE_SUFFIX, LIKE_CONTAINS, LIKE_GENERAL, LIKE_NULL } like_shape;

/* DATE_FORMAT elements. */
typedef enum fmt_kind { F_TEXT, F_YEAR, F_MONTH, F_DAY, F_HOUR, F_MINUTE, F_SECOND, F_MILLI } fmt_kind;
typedef struct fmt_item {
    fmt_kind kind;
    uint32_t off, len; /* F_TEXT: bytes in x->text */
} fmt_item;

struct tide_expr {
    node_kind kind;
    tide_type type;
    bool interval;
    bool flag; /* negated (BETWEEN, IN, LIKE), try (CAST), ceil (FLOOR) */
    int op;    /* the sub-operator of the kind */
    uint32_t nkids;
    tide_expr **kids;

    /* parameters */
    uint32_t col;         /* K_COL */
    tide_value lit;       /* K_LIT (strings point into text) */
    tide_type from;       /* K_CAST: the operand's type */
    tide_ts_unit unit;    /* K_FLOOR, K_EXTRACT */
    bool has_else;        /* K_CASE: kids = conds[n], vals[n], [else] */
    bool has_len;         /* K_SUBSTR */
    char *text;           /* LIKE literal bytes, DATE_FORMAT text, literal string */
    size_t text_len;
    int *pat;             /* K_LIKE: elements */
    uint32_t npat;
    like_shape shape;
    const tide_clock *clock; /* K_NOW */
    fmt_item *fmt;        /* K_DATEFMT */
    uint32_t nfmt;
    size_t fmt_max;       /* bytes of the longest output */

    /* evaluation state */
    uint32_t cap;         /* rows the buffers hold */
    uint8_t *nulls;
    void *vals;
    uint8_t *m1, *m2, *m3, *m4; /* scratch masks (one allocation at m1) */
    uint8_t *selmask;     /* the root's mask built from a selection */
    uint32_t selcap;
    char *sbuf;           /* string output */
    size_t scap;
    tide_expr_vec res;
    /* row faults: every node of the tree being evaluated points at its
     * root's record (set by tide_expr_eval) */
    struct fault_rec *fr;
    struct fault_rec {
        uint8_t *rows;  /* a byte per row, zero unless count */
        uint32_t cap, count;
        char why[160];  /* the first fault's reason */
    } own_fr;
};

/* ---- names ---- */

const char *tide_expr_arith_name(tide_expr_arith_op op)
{
    static const char *const n[] = {"+", "-", "*", "/", "%"};
    return (unsigned)op < 5 ? n[op] : "?";
}

const char *tide_expr_cmp_name(tide_expr_cmp_op op)
{
    static const char *const n[] = {"=", "<>", "<", "<=", ">", ">=", "IS DISTINCT FROM", "IS NOT DISTINCT FROM"};
    return (unsigned)op < 8 ? n[op] : "?";
}

static const char *tname(const tide_expr *x)
{
    return x->interval ? "INTERVAL" : tide_type_name(x->type);
}

static bool is_dec(tide_type t) { return tide_type_is_decimal(t); }
static bool is_num(tide_type t) { return t == TIDE_TYPE_BIGINT || t == TIDE_TYPE_DOUBLE || is_dec(t); }

static size_t val_size(tide_type t)
{
    switch (tide_type_base(t)) {
    case TIDE_TYPE_BOOLEAN:
        return 1;
    case TIDE_TYPE_STRING:
        return sizeof(tide_str);
    case TIDE_TYPE_DECIMAL:
        return sizeof(tide_i128);
    default:
        return 8;
    }
}

/* ---- building ---- */

void tide_expr_free(tide_expr *x)
{
    if (!x)
        return;
    for (uint32_t i = 0; i < x->nkids; i++)
        tide_expr_free(x->kids[i]);
    free(x->kids);
    free(x->text);
    free(x->pat);
    free(x->fmt);
    free(x->nulls);
    free(x->vals);
    free(x->m1);
    free(x->selmask);
    free(x->sbuf);
    free(x->own_fr.rows);
    free(x);
}

static void free_kids(tide_expr **kids, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        tide_expr_free(kids[i]);
}

/* A node of `kind` over kids[0..n), which it takes (freed on failure, as is
 * everything when a kid is NULL: a failed child constructor). */
static int mk(tide_expr **out, node_kind kind, tide_expr **kids, uint32_t n, tide_err *e)
{
    *out = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (!kids[i]) {
            free_kids(kids, n);
            return tide_err_set(e, TIDE_EINVAL, "expression operand missing (a sub-expression failed)");
        }
    }
    tide_expr *x = calloc(1, sizeof *x);
    if (!x)
        goto nomem;
    x->kind = kind;
    if (n) {
        x->kids = malloc(n * sizeof *x->kids);
        if (!x->kids) {
            free(x);
            goto nomem;
        }
        memcpy(x->kids, kids, n * sizeof *kids);
        x->nkids = n;
    }
    *out = x;
    return 0;
nomem:
    free_kids(kids, n);
    return tide_err_set(e, TIDE_ENOMEM, "out of memory building an expression");
}

/* Fail a half-built node: free it (and its kids) and clear *out. */
static int fail_node(tide_expr **out, tide_expr *x, int rc)
{
    tide_expr_free(x);
    *out = NULL;
    return rc;
}

static int make_cast(tide_expr **out, tide_expr *a, tide_type to, bool try_, tide_err *e);

/* Wrap *slot in an implicit CAST to `to` (BIGINT->DOUBLE or NULL->t, which
 * never fail).  On failure *slot is unchanged (still owned by its parent). */
static int coerce(tide_expr **slot, tide_type to, bool interval, tide_err *e)
{
    tide_expr *a = *slot;
    if (a->type == to) {
        if (a->type != TIDE_TYPE_NULL)
            a->interval = a->interval || interval;
        return 0;
    }
    tide_expr *c = calloc(1, sizeof *c);
    tide_expr **k = malloc(sizeof *k);
    if (!c || !k) {
        free(c);
        free(k);
        return tide_err_set(e, TIDE_ENOMEM, "out of memory building an expression");
    }
    c->kind = K_CAST;
    c->type = to;
    c->from = a->type;
    c->interval = interval;
    k[0] = a;
    c->kids = k;
    c->nkids = 1;
    *slot = c;
    return 0;
}

tide_type tide_expr_common_type(tide_type a, tide_type b)
{
    if (a == TIDE_TYPE_NULL)
        return b;
    if (b == TIDE_TYPE_NULL || a == b)
        return a;
    if (!is_num(a) || !is_num(b))
        return TIDE_TYPE_COUNT;
    if (a == TIDE_TYPE_DOUBLE || b == TIDE_TYPE_DOUBLE)
        return TIDE_TYPE_DOUBLE;
    /* DECIMALs (a BIGINT counts as DECIMAL(19, 0)): room for both */
    if (a == TIDE_TYPE_BIGINT)
        a = tide_dec_of_bigint(false);
    if (b == TIDE_TYPE_BIGINT)
        b = tide_dec_of_bigint(false);
    unsigned sa = tide_dec_scale(a), sb = tide_dec_scale(b);
    unsigned ia = tide_dec_precision(a) - sa, ib = tide_dec_precision(b) - sb;
    unsigned s = sa > sb ? sa : sb, i = ia > ib ? ia : ib;
    if (i + s > TIDE_DEC_MAX_PRECISION)
        return tide_type_decimal(TIDE_DEC_MAX_PRECISION, i >= TIDE_DEC_MAX_PRECISION ? 0 : TIDE_DEC_MAX_PRECISION - i);
    return tide_type_decimal(i + s, s);
}

/* An INT-sized BIGINT literal: Flink types it INT, DECIMAL(10, 0) in DECIMAL
 * arithmetic. */
static bool small_int_lit(const tide_expr *x)
{
    return x->kind == K_LIT && x->type == TIDE_TYPE_BIGINT && !x->lit.is_null && !x->interval &&
           x->lit.u.i64 >= INT32_MIN && x->lit.u.i64 <= INT32_MAX;
}

tide_type tide_expr_arith_type(tide_expr_arith_op op, tide_type a, bool small_a, tide_type b, bool small_b)
{
    if (a == TIDE_TYPE_NULL && b == TIDE_TYPE_NULL)
        return TIDE_TYPE_BIGINT;
    if (a == TIDE_TYPE_NULL)
        a = b;
    if (b == TIDE_TYPE_NULL)
        b = a;
    if (!is_num(a) || !is_num(b))
        return TIDE_TYPE_COUNT;
    if (a == TIDE_TYPE_DOUBLE || b == TIDE_TYPE_DOUBLE)
        return TIDE_TYPE_DOUBLE;
    if (!is_dec(a) && !is_dec(b))
        return TIDE_TYPE_BIGINT;
    if (!is_dec(a))
        a = tide_dec_of_bigint(small_a);
    if (!is_dec(b))
        b = tide_dec_of_bigint(small_b);
    switch (op) {
    case TIDE_EXPR_ADD:
    case TIDE_EXPR_SUB:
        return tide_dec_add_type(a, b);
    case TIDE_EXPR_MUL:
        return tide_dec_mul_type(a, b);
    case TIDE_EXPR_DIV:
        return tide_dec_div_type(a, b);
    default:
        return tide_dec_mod_type(a, b);
    }
}

/* The common type of kids[0..n) for CASE / COALESCE / IN / BETWEEN: all of
 * one type (NULLs aside), or numbers mixed (tide_expr_common_type).  Then coerce
 * every kid to it.  An all-NULL list stays NULL unless `fallback` says. */
static int unify(tide_expr **kids, uint32_t n, tide_type fallback, const char *what, tide_type *out,
                 bool *out_interval, tide_err *e)
{
    tide_type t = TIDE_TYPE_NULL;
    bool iv = false;
    const tide_expr *first = NULL;
    for (uint32_t i = 0; i < n; i++) {
        const tide_expr *k = kids[i];
        if (k->type == TIDE_TYPE_NULL)
            continue;
        if (!first) {
            first = k;
            t = k->type;
            iv = k->interval;
            continue;
        }
        if (k->type == t && k->interval == iv)
            continue;
        if (!iv && !k->interval && is_num(t) && is_num(k->type)) {
            t = tide_expr_common_type(t, k->type);
            continue;
        }
        if (strcmp(what, "compare") == 0)
            return tide_err_set(e, TIDE_EINVAL, "cannot compare %s with %s", tname(first), tname(k));
        return tide_err_set(e, TIDE_EINVAL, "%s operands have incompatible types %s and %s", what, tname(first),
                            tname(k));
    }
    if (t == TIDE_TYPE_NULL)
        t = fallback;
    for (uint32_t i = 0; i < n; i++) {
        int rc = coerce(&kids[i], t, iv, e);
        if (rc)
            return rc;
    }
    *out = t;
    *out_interval = iv;
    return 0;
}

int tide_expr_column(tide_expr **out, const tide_schema *schema, uint32_t index, tide_err *e)
{
    *out = NULL;
    if (!schema || index >= tide_schema_ncols(schema))
        return tide_err_set(e, TIDE_EINVAL, "column index %u out of range (schema has %zu columns)", index,
                            schema ? tide_schema_ncols(schema) : (size_t)0);
    tide_expr *x;
    int rc = mk(&x, K_COL, NULL, 0, e);
    if (rc)
        return rc;
    x->col = index;
    x->type = tide_schema_col(schema, index)->type;
    *out = x;
    return 0;
}

int tide_expr_literal(tide_expr **out, const tide_value *v, tide_err *e)
{
    *out = NULL;
    if (v->type != TIDE_TYPE_NULL && !tide_type_valid(v->type))
        return tide_err_set(e, TIDE_EINVAL, "literal of unknown type %d", (int)v->type);
    tide_expr *x;
    int rc = mk(&x, K_LIT, NULL, 0, e);
    if (rc)
        return rc;
    x->type = v->type;
    x->lit = *v;
    x->lit.is_null = v->is_null || v->type == TIDE_TYPE_NULL;
    if (v->type == TIDE_TYPE_STRING && !x->lit.is_null) {
        x->text = malloc(v->u.s.len ? v->u.s.len : 1);
        if (!x->text)
            return fail_node(out, x, tide_err_set(e, TIDE_ENOMEM, "out of memory building a literal"));
        if (v->u.s.len)
            memcpy(x->text, v->u.s.ptr, v->u.s.len);
        x->text_len = v->u.s.len;
        x->lit.u.s.ptr = x->text;
    }
    if (v->type == TIDE_TYPE_BOOLEAN && !x->lit.is_null)
        x->lit.u.b = v->u.b != 0;
    *out = x;
    return 0;
}

int tide_expr_literal_null(tide_expr **out, tide_type type, tide_err *e)
{
    tide_value v = {.type = type, .is_null = true};
    return tide_expr_literal(out, &v, e);
}
int tide_expr_literal_bool(tide_expr **out, bool b, tide_err *e)
{
    tide_value v = {.type = TIDE_TYPE_BOOLEAN, .u.b = b};
    return tide_expr_literal(out, &v, e);
}
int tide_expr_literal_i64(tide_expr **out, int64_t i, tide_err *e)
{
    tide_value v = {.type = TIDE_TYPE_BIGINT, .u.i64 = i};
    return tide_expr_literal(out, &v, e);
}
int tide_expr_literal_f64(tide_expr **out, double d, tide_err *e)
{
    tide_value v = {.type = TIDE_TYPE_DOUBLE, .u.f64 = d};
    return tide_expr_literal(out, &v, e);
}
int tide_expr_literal_dec(tide_expr **out, tide_i128 v, tide_type type, tide_err *e)
{
    *out = NULL;
    if (!is_dec(type) || !tide_type_valid(type) || !tide_dec_fits(v, tide_dec_precision(type)))
        return tide_err_set(e, TIDE_EINVAL, "DECIMAL literal does not fit %s", tide_type_name(type));
    tide_value x = {.type = type, .u.d = v};
    return tide_expr_literal(out, &x, e);
}
int tide_expr_literal_str(tide_expr **out, const char *s, size_t len, tide_err *e)
{
    *out = NULL;
    if (len > UINT32_MAX)
        return tide_err_set(e, TIDE_ERANGE, "string literal of %zu bytes is too long", len);
    tide_value v = {.type = TIDE_TYPE_STRING, .u.s = {s, (uint32_t)len}};
    return tide_expr_literal(out, &v, e);
}
int tide_expr_literal_ts(tide_expr **out, int64_t ms, tide_err *e)
{
    tide_value v = {.type = TIDE_TYPE_TIMESTAMP, .u.i64 = ms};
    return tide_expr_literal(out, &v, e);
}
int tide_expr_literal_interval(tide_expr **out, int64_t ms, tide_err *e)
{
    int rc = tide_expr_literal_i64(out, ms, e);
    if (rc == 0)
        (*out)->interval = true;
    return rc;
}

int tide_expr_arith(tide_expr **out, tide_expr_arith_op op, tide_expr *a, tide_expr *b, tide_err *e)
{
    tide_expr *kids[2] = {a, b}, *x;
    int rc = mk(&x, K_ARITH, kids, 2, e);
    if (rc)
        return (*out = NULL, rc);
    if ((unsigned)op > TIDE_EXPR_MOD)
        return fail_node(out, x, tide_err_set(e, TIDE_EINVAL, "unknown arithmetic operator %d", (int)op));
    x->op = op;
    tide_expr **ka = &x->kids[0], **kb = &x->kids[1];
    /* A NULL operand takes the type its partner needs. */
    for (int side = 0; side < 2; side++) {
        tide_expr **me = side ? kb : ka, *other = side ? *ka : *kb;
        if ((*me)->type != TIDE_TYPE_NULL)
            continue;
        tide_type t = other->type;
        bool iv = other->interval;
        if (t == TIDE_TYPE_NULL)
            t = TIDE_TYPE_BIGINT;
        else if (t == TIDE_TYPE_TIMESTAMP)
            t = TIDE_TYPE_BIGINT, iv = true;
        if ((rc = coerce(me, t, iv, e)))
            return fail_node(out, x, rc);
    }
    tide_type ta = (*ka)->type, tb = (*kb)->type;
    bool ia = (*ka)->interval, ib = (*kb)->interval;
    if (ta == TIDE_TYPE_TIMESTAMP && ib && (op == TIDE_EXPR_ADD || op == TIDE_EXPR_SUB)) {
        x->type = TIDE_TYPE_TIMESTAMP;
    } else if (ia && tb == TIDE_TYPE_TIMESTAMP && op == TIDE_EXPR_ADD) {
        x->type = TIDE_TYPE_TIMESTAMP;
    } else if (ia && ib && (op == TIDE_EXPR_ADD || op == TIDE_EXPR_SUB)) {
        x->type = TIDE_TYPE_BIGINT;
        x->interval = true;
    } else if (ia != ib && (op == TIDE_EXPR_MUL || (op == TIDE_EXPR_DIV && ia)) &&
               (ia ? tb : ta) == TIDE_TYPE_BIGINT) {
        x->type = TIDE_TYPE_BIGINT; /* INTERVAL * n, n * INTERVAL, INTERVAL / n */
        x->interval = true;
    } else if (!ia && !ib && is_num(ta) && is_num(tb)) {
        x->type = tide_expr_arith_type(op, ta, small_int_lit(*ka), tb, small_int_lit(*kb));
        if (is_dec(x->type)) {
            /* DECIMAL arithmetic: each side keeps its own scale; a BIGINT
             * side becomes the DECIMAL it counts as */
            if ((!is_dec(ta) && (rc = coerce(ka, tide_dec_of_bigint(small_int_lit(*ka)), false, e))) ||
                (!is_dec(tb) && (rc = coerce(kb, tide_dec_of_bigint(small_int_lit(*kb)), false, e))))
                return fail_node(out, x, rc);
        } else if ((rc = coerce(ka, x->type, false, e)) || (rc = coerce(kb, x->type, false, e))) {
            return fail_node(out, x, rc);
        }
    } else {
        return fail_node(out, x,
                         tide_err_set(e, TIDE_EINVAL, "cannot apply %s to %s and %s", tide_expr_arith_name(op),
                                      tname(*ka), tname(*kb)));
    }
    *out = x;
    return 0;
}

int tide_expr_neg(tide_expr **out, tide_expr *a, tide_err *e)
{
    tide_expr *x;
    int rc = mk(&x, K_NEG, &a, 1, e);
    if (rc)
        return (*out = NULL, rc);
    if (x->kids[0]->type == TIDE_TYPE_NULL && (rc = coerce(&x->kids[0], TIDE_TYPE_BIGINT, false, e)))
        return fail_node(out, x, rc);
    if (!is_num(x->kids[0]->type))
        return fail_node(out, x, tide_err_set(e, TIDE_EINVAL, "cannot negate %s", tname(x->kids[0])));
    x->type = x->kids[0]->type;
    x->interval = x->kids[0]->interval;
    *out = x;
    return 0;
}

int tide_expr_compare(tide_expr **out, tide_expr_cmp_op op, tide_expr *a, tide_expr *b, tide_err *e)
{
    tide_expr *kids[2] = {a, b}, *x;
    int rc = mk(&x, K_CMP, kids, 2, e);
    if (rc)
        return (*out = NULL, rc);
    if ((unsigned)op > TIDE_EXPR_IS_NOT_DISTINCT)
        return fail_node(out, x, tide_err_set(e, TIDE_EINVAL, "unknown comparison operator %d", (int)op));
    x->op = op;
    x->type = TIDE_TYPE_BOOLEAN;
    tide_type t;
    bool iv;
    if ((rc = unify(x->kids, 2, TIDE_TYPE_BIGINT, "compare", &t, &iv, e)))
        return fail_node(out, x, rc);
    *out = x;
    return 0;
}

/* Coerce a NULL operand to BOOLEAN and require BOOLEAN. */
static int want_bool(tide_expr *x, uint32_t i, const char *what, tide_err *e)
{
    int rc;
    if (x->kids[i]->type == TIDE_TYPE_NULL && (rc = coerce(&x->kids[i], TIDE_TYPE_BOOLEAN, false, e)))
        return rc;
    if (x->kids[i]->type != TIDE_TYPE_BOOLEAN)
        return tide_err_set(e, TIDE_EINVAL, "%s needs a BOOLEAN operand, not %s", what, tname(x->kids[i]));
    return 0;
}

int tide_expr_logic(tide_expr **out, tide_expr_logic_op op, tide_expr *a, tide_expr *b, tide_err *e)
{
    tide_expr *kids[2] = {a, b}, *x;
    int rc = mk(&x, K_LOGIC, kids, 2, e);
    if (rc)
        return (*out = NULL, rc);
    x->op = op;
    x->type = TIDE_TYPE_BOOLEAN;
    const char *name = op == TIDE_EXPR_AND ? "AND" : "OR";
    if ((unsigned)op > TIDE_EXPR_OR)
        return fail_node(out, x, tide_err_set(e, TIDE_EINVAL, "unknown logical operator %d", (int)op));
    if ((rc = want_bool(x, 0, name, e)) || (rc = want_bool(x, 1, name, e)))
        return fail_node(out, x, rc);
    *out = x;
    return 0;
}

int tide_expr_not(tide_expr **out, tide_expr *a, tide_err *e)
{
    tide_expr *x;
    int rc = mk(&x, K_NOT, &a, 1, e);
    if (rc)
        return (*out = NULL, rc);
    x->type = TIDE_TYPE_BOOLEAN;
    if ((rc = want_bool(x, 0, "NOT", e)))
        return fail_node(out, x, rc);
    *out = x;
    return 0;
}

int tide_expr_is(tide_expr **out, tide_expr_is_op op, tide_expr *a, tide_err *e)
{
    tide_expr *x;
    int rc = mk(&x, K_IS, &a, 1, e);
    if (rc)
        return (*out = NULL, rc);
    x->op = op;
    x->type = TIDE_TYPE_BOOLEAN;
    if ((unsigned)op > TIDE_EXPR_IS_NOT_FALSE)
        return fail_node(out, x, tide_err_set(e, TIDE_EINVAL, "unknown IS operator %d", (int)op));
    if (op >= TIDE_EXPR_IS_TRUE && (rc = want_bool(x, 0, "IS TRUE/FALSE", e)))
        return fail_node(out, x, rc);
    if (x->kids[0]->type == TIDE_TYPE_NULL && (rc = coerce(&x->kids[0], TIDE_TYPE_BOOLEAN, false, e)))
        return fail_node(out, x, rc);
    *out = x;
    return 0;
}

int tide_expr_between(tide_expr **out, tide_expr *v, tide_expr *lo, tide_expr *hi, bool negated, tide_err *e)
{
    tide_expr *kids[3] = {v, lo, hi}, *x;
    int rc = mk(&x, K_BETWEEN, kids, 3, e);
    if (rc)
        return (*out = NULL, rc);
    x->type = TIDE_TYPE_BOOLEAN;
    x->flag = negated;
    tide_type t;
    bool iv;
    if ((rc = unify(x->kids, 3, TIDE_TYPE_BIGINT, "compare", &t, &iv, e)))
        return fail_node(out, x, rc);
    *out = x;
    return 0;
}

int tide_expr_in(tide_expr **out, tide_expr *v, tide_expr **items, uint32_t n, bool negated, tide_err *e)
{
    *out = NULL;
    tide_expr **kids = malloc((size_t)(n + 1) * sizeof *kids);
    if (!kids || n == 0) {
        tide_expr_free(v);
        free_kids(items, n);
        free(kids);
        return n == 0 ? tide_err_set(e, TIDE_EINVAL, "IN needs at least one item")
                      : tide_err_set(e, TIDE_ENOMEM, "out of memory building IN");
    }
    kids[0] = v;
    memcpy(kids + 1, items, n * sizeof *items);
    tide_expr *x;
    int rc = mk(&x, K_IN, kids, n + 1, e);
    free(kids);
    if (rc)
        return rc;
    x->type = TIDE_TYPE_BOOLEAN;
    x->flag = negated;
    tide_type t;
    bool iv;
    if ((rc = unify(x->kids, n + 1, TIDE_TYPE_BIGINT, "compare", &t, &iv, e)))
        return fail_node(out, x, rc);
    *out = x;
    return 0;
}

/* ---- LIKE ---- */

static int compile_like(tide_expr *x, const tide_value *p, int escape, tide_err *e)
{
    if (p->is_null) {
        x->shape = LIKE_NULL;
        return 0;
    }
    const unsigned char *s = (const unsigned char *)p->u.s.ptr;
    uint32_t n = p->u.s.len, m = 0;
    x->pat = malloc((n ? n : 1) * sizeof *x->pat);
    x->text = malloc(n ? n : 1);
    if (!x->pat || !x->text)
        return tide_err_set(e, TIDE_ENOMEM, "out of memory compiling a LIKE pattern");
    for (uint32_t i = 0; i < n; i++) {
        int c = s[i];
        if (escape >= 0 && c == escape) {
            if (i + 1 == n)
                return tide_err_set(e, TIDE_EINVAL, "LIKE pattern ends with the escape character");
            x->pat[m++] = s[++i];
        } else if (c == '%') {
            if (m == 0 || x->pat[m - 1] != LIKE_ANY)
                x->pat[m++] = LIKE_ANY;
        } else if (c == '_') {
            x->pat[m++] = LIKE_ONE;
        } else {
            x->pat[m++] = c;
        }
    }
    x->npat = m;
    /* Recognise literal-only shapes: lit, lit%, %lit, %lit%. */
    uint32_t b = 0, end = m;
    bool lead = m > 0 && x->pat[0] == LIKE_ANY, trail = m > (lead ? 1u : 0u) && x->pat[m - 1] == LIKE_ANY;
    if (lead)
        b = 1;
    if (trail)
        end = m - 1;
    bool literal = true;
    for (uint32_t i = b; i < end; i++)
        if (x->pat[i] < 0)
            literal = false;
    if (literal) {
        for (uint32_t i = b; i < end; i++)
            x->text[i - b] = (char)x->pat[i];
        x->text_len = end - b;
        x->shape = lead && trail ? LIKE_CONTAINS : lead ? LIKE_SUFFIX : trail ? LIKE_PREFIX : LIKE_EXACT;
    } else {
        x->shape = LIKE_GENERAL;
    }
    return 0;
}

int tide_expr_like(tide_expr **out, tide_expr *v, tide_expr *pattern, int escape, bool negated, tide_err *e)
{
    tide_expr *kids[2] = {v, pattern}, *x;
    int rc = mk(&x, K_LIKE, kids, 2, e);
    if (rc)
        return (*out = NULL, rc);
    x->type = TIDE_TYPE_BOOLEAN;
    x->flag = negated;
    if (x->kids[0]->type == TIDE_TYPE_NULL && (rc = coerce(&x->kids[0], TIDE_TYPE_STRING, false, e)))
        return fail_node(out, x, rc);
    tide_value p;
    if (x->kids[0]->type != TIDE_TYPE_STRING ||
        (x->kids[1]->type != TIDE_TYPE_STRING && x->kids[1]->type != TIDE_TYPE_NULL))
        return fail_node(out, x,
                         tide_err_set(e, TIDE_EINVAL, "cannot apply LIKE to %s and %s", tname(x->kids[0]),
                                      tname(x->kids[1])));
    if (!tide_expr_is_literal(x->kids[1], &p))
        return fail_node(out, x, tide_err_set(e, TIDE_EUNSUPPORTED, "LIKE pattern must be a constant string"));
    if (escape > 255)
        return fail_node(out, x, tide_err_set(e, TIDE_EINVAL, "LIKE escape must be one byte"));
    if ((rc = compile_like(x, &p, escape, e)))
        return fail_node(out, x, rc);
    *out = x;
    return 0;
}

/* ---- CASE, COALESCE ---- */

int tide_expr_case(tide_expr **out, tide_expr **conds, tide_expr **vals, uint32_t n, tide_expr *else_,
                   tide_err *e)
{
    *out = NULL;
    uint32_t nk = 2 * n + (else_ ? 1 : 0);
    tide_expr **kids = malloc((nk ? nk : 1) * sizeof *kids);
    if (!kids || n == 0) {
        free_kids(conds, n);
        free_kids(vals, n);
        tide_expr_free(else_);
        free(kids);
        return n == 0 ? tide_err_set(e, TIDE_EINVAL, "CASE needs at least one WHEN")
                      : tide_err_set(e, TIDE_ENOMEM, "out of memory building CASE");
    }
    memcpy(kids, conds, n * sizeof *kids);
    memcpy(kids + n, vals, n * sizeof *kids);
    if (else_)
        kids[2 * n] = else_;
    tide_expr *x;
    int rc = mk(&x, K_CASE, kids, nk, e);
    free(kids);
    if (rc)
        return rc;
    x->has_else = else_ != NULL;
    for (uint32_t i = 0; i < n; i++)
        if ((rc = want_bool(x, i, "CASE WHEN", e)))
            return fail_node(out, x, rc);
    if ((rc = unify(x->kids + n, n + (else_ ? 1 : 0), TIDE_TYPE_NULL, "CASE", &x->type, &x->interval, e)))
        return fail_node(out, x, rc);
    *out = x;
    return 0;
}

int tide_expr_coalesce(tide_expr **out, tide_expr **args, uint32_t n, tide_err *e)
{
    *out = NULL;
    if (n == 0)
        return tide_err_set(e, TIDE_EINVAL, "COALESCE needs at least one argument");
    tide_expr *x;
    int rc = mk(&x, K_COALESCE, args, n, e);
    if (rc)
        return rc;
    if ((rc = unify(x->kids, n, TIDE_TYPE_NULL, "COALESCE", &x->type, &x->interval, e)))
        return fail_node(out, x, rc);
    *out = x;
    return 0;
}

/* ---- CAST ---- */

bool tide_expr_castable(tide_type from, tide_type to)
{
    if (from == to || from == TIDE_TYPE_NULL || to == TIDE_TYPE_STRING || from == TIDE_TYPE_STRING)
        return to != TIDE_TYPE_NULL || from == TIDE_TYPE_NULL;
    if (is_dec(from) || is_dec(to)) /* DECIMAL <-> BIGINT, DOUBLE, DECIMAL */
        return is_num(from) && is_num(to);
    switch (from) {
    case TIDE_TYPE_BOOLEAN:
        return to == TIDE_TYPE_BIGINT || to == TIDE_TYPE_DOUBLE;
    case TIDE_TYPE_BIGINT:
        return to == TIDE_TYPE_BOOLEAN || to == TIDE_TYPE_DOUBLE || to == TIDE_TYPE_TIMESTAMP;
    case TIDE_TYPE_DOUBLE:
        return to == TIDE_TYPE_BOOLEAN || to == TIDE_TYPE_BIGINT;
    case TIDE_TYPE_TIMESTAMP:
        return to == TIDE_TYPE_BIGINT;
    default:
        return false;
    }
}

static int make_cast(tide_expr **out, tide_expr *a, tide_type to, bool try_, tide_err *e)
{
    tide_expr *x;
    int rc = mk(&x, K_CAST, &a, 1, e);
    if (rc)
        return (*out = NULL, rc);
    x->from = x->kids[0]->type;
    x->type = to;
    x->flag = try_;
    if ((to != TIDE_TYPE_NULL && !tide_type_valid(to)) || !tide_expr_castable(x->from, to))
        return fail_node(out, x,
                         tide_err_set(e, TIDE_EINVAL, "cannot cast %s to %s", tname(x->kids[0]),
                                      tide_type_name(to)));
    *out = x;
    return 0;
}

int tide_expr_cast(tide_expr **out, tide_expr *a, tide_type to, bool try_, tide_err *e)
{
    return make_cast(out, a, to, try_, e);
}

/* ---- string and time functions ---- */

static int want_type(tide_expr *x, uint32_t i, tide_type t, const char *what, tide_err *e)
{
    int rc;
    if (x->kids[i]->type == TIDE_TYPE_NULL && (rc = coerce(&x->kids[i], t, false, e)))
        return rc;
    if (x->kids[i]->type != t || x->kids[i]->interval)
        return tide_err_set(e, TIDE_EINVAL, "%s needs %s, not %s", what, tide_type_name(t), tname(x->kids[i]));
    return 0;
}

int tide_expr_concat(tide_expr **out, tide_expr *a, tide_expr *b, tide_err *e)
{
    tide_expr *kids[2] = {a, b}, *x;
    int rc = mk(&x, K_CONCAT, kids, 2, e);
    if (rc)
        return (*out = NULL, rc);
    x->type = TIDE_TYPE_STRING;
    if (x->kids[0]->type != TIDE_TYPE_NULL && x->kids[0]->type != TIDE_TYPE_STRING)
        rc = tide_err_set(e, TIDE_EINVAL, "cannot apply || to %s and %s", tname(x->kids[0]), tname(x->kids[1]));
    else if (x->kids[1]->type != TIDE_TYPE_NULL && x->kids[1]->type != TIDE_TYPE_STRING)
        rc = tide_err_set(e, TIDE_EINVAL, "cannot apply || to %s and %s", tname(x->kids[0]), tname(x->kids[1]));
    if (rc || (rc = want_type(x, 0, TIDE_TYPE_STRING, "||", e)) || (rc = want_type(x, 1, TIDE_TYPE_STRING, "||", e)))
        return fail_node(out, x, rc);
    *out = x;
    return 0;
}

int tide_expr_str_fn(tide_expr **out, tide_expr_str_op fn, tide_expr *s, tide_err *e)
{
    tide_expr *x;
    int rc = mk(&x, K_STRFN, &s, 1, e);
    if (rc)
        return (*out = NULL, rc);
    static const char *const names[] = {"UPPER", "LOWER", "CHAR_LENGTH"};
    if ((unsigned)fn > TIDE_EXPR_CHAR_LENGTH)
        return fail_node(out, x, tide_err_set(e, TIDE_EINVAL, "unknown string function %d", (int)fn));
    x->op = fn;
    x->type = fn == TIDE_EXPR_CHAR_LENGTH ? TIDE_TYPE_BIGINT : TIDE_TYPE_STRING;
    if ((rc = want_type(x, 0, TIDE_TYPE_STRING, names[fn], e)))
        return fail_node(out, x, rc);
    *out = x;
    return 0;
}

int tide_expr_substring(tide_expr **out, tide_expr *s, tide_expr *start, tide_expr *len, tide_err *e)
{
    tide_expr *kids[3] = {s, start, len}, *x;
    int rc = mk(&x, K_SUBSTR, kids, len ? 3 : 2, e);
    if (rc)
        return (*out = NULL, rc);
    x->type = TIDE_TYPE_STRING;
    x->has_len = len != NULL;
    if ((rc = want_type(x, 0, TIDE_TYPE_STRING, "SUBSTRING", e)) ||
        (rc = want_type(x, 1, TIDE_TYPE_BIGINT, "SUBSTRING start", e)) ||
        (len && (rc = want_type(x, 2, TIDE_TYPE_BIGINT, "SUBSTRING length", e))))
        return fail_node(out, x, rc);
    *out = x;
    return 0;
}

int tide_expr_trim(tide_expr **out, tide_expr_trim_mode mode, tide_expr *s, tide_err *e)
{
    tide_expr *x;
    int rc = mk(&x, K_TRIM, &s, 1, e);
    if (rc)
        return (*out = NULL, rc);
    x->op = mode;
    x->type = TIDE_TYPE_STRING;
    if ((unsigned)mode > TIDE_EXPR_TRIM_TRAILING)
        return fail_node(out, x, tide_err_set(e, TIDE_EINVAL, "unknown TRIM mode %d", (int)mode));
    if ((rc = want_type(x, 0, TIDE_TYPE_STRING, "TRIM", e)))
        return fail_node(out, x, rc);
    *out = x;
    return 0;
}

int tide_expr_floor(tide_expr **out, tide_expr *ts, tide_ts_unit unit, bool ceil_, tide_err *e)
{
    tide_expr *x;
    int rc = mk(&x, K_FLOOR, &ts, 1, e);
    if (rc)
        return (*out = NULL, rc);
    x->type = TIDE_TYPE_TIMESTAMP;
    x->unit = unit;
    x->flag = ceil_;
    if ((unsigned)unit >= TIDE_TS_UNIT_COUNT)
        return fail_node(out, x, tide_err_set(e, TIDE_EINVAL, "unknown time unit %d", (int)unit));
    if ((rc = want_type(x, 0, TIDE_TYPE_TIMESTAMP, ceil_ ? "CEIL" : "FLOOR", e)))
        return fail_node(out, x, rc);
    *out = x;
    return 0;
}

int tide_expr_extract(tide_expr **out, tide_ts_unit unit, tide_expr *ts, tide_err *e)
{
    tide_expr *x;
    int rc = mk(&x, K_EXTRACT, &ts, 1, e);
    if (rc)
        return (*out = NULL, rc);
    x->type = TIDE_TYPE_BIGINT;
    x->unit = unit;
    if ((unsigned)unit >= TIDE_TS_UNIT_COUNT)
        return fail_node(out, x, tide_err_set(e, TIDE_EINVAL, "unknown time unit %d", (int)unit));
    if ((rc = want_type(x, 0, TIDE_TYPE_TIMESTAMP, "EXTRACT", e)))
        return fail_node(out, x, rc);
    *out = x;
    return 0;
}

static int compile_fmt(tide_expr *x, const tide_value *p, tide_err *e)
{
    if (p->is_null)
        return tide_err_set(e, TIDE_EINVAL, "DATE_FORMAT pattern is NULL");
    const char *s = p->u.s.ptr;
    uint32_t n = p->u.s.len, nf = 0;
    x->fmt = malloc(((size_t)n + 1) * sizeof *x->fmt);
    x->text = malloc(n ? n : 1);
    if (!x->fmt || !x->text)
        return tide_err_set(e, TIDE_ENOMEM, "out of memory compiling a DATE_FORMAT pattern");
    size_t tl = 0, maxlen = 0;
    static const struct { const char *tok; fmt_kind k; size_t w; } toks[] = {
        {"yyyy", F_YEAR, 11}, {"MM", F_MONTH, 2}, {"dd", F_DAY, 2}, {"HH", F_HOUR, 2},
        {"mm", F_MINUTE, 2},  {"ss", F_SECOND, 2}, {"SSS", F_MILLI, 3},
    };
    for (uint32_t i = 0; i < n;) {
        char c = s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            size_t k = 0, nt = sizeof toks / sizeof toks[0];
            for (; k < nt; k++) {
                size_t l = strlen(toks[k].tok);
                /* a run of the letter must be exactly the token */
                size_t run = 0;
                while (i + run < n && s[i + run] == c)
                    run++;
                if (run == l && memcmp(s + i, toks[k].tok, l) == 0)
                    break;
            }
            if (k == nt)
                return tide_err_set(e, TIDE_EINVAL,
                                    "DATE_FORMAT pattern letter '%c' at position %u is not supported (use yyyy MM dd "
                                    "HH mm ss SSS)",
                                    c, i + 1);
            x->fmt[nf++] = (fmt_item){toks[k].k, 0, 0};
            maxlen += toks[k].w;
            i += (uint32_t)strlen(toks[k].tok);
            continue;
        }
        /* literal text: plain characters, or '...' with '' for a quote */
        size_t start = tl;
        while (i < n && !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))) {
            if (s[i] == '\'') {
                if (i + 1 < n && s[i + 1] == '\'') {
                    x->text[tl++] = '\'';
                    i += 2;
                    continue;
                }
                uint32_t j = i + 1;
                for (;;) {
                    if (j >= n)
                        return tide_err_set(e, TIDE_EINVAL, "DATE_FORMAT pattern has an unclosed quote at position %u",
                                            i + 1);
                    if (s[j] == '\'') {
                        if (j + 1 < n && s[j + 1] == '\'') {
                            x->text[tl++] = '\'';
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    x->text[tl++] = s[j++];
                }
                i = j + 1;
                continue;
            }
            x->text[tl++] = s[i++];
        }
        x->fmt[nf++] = (fmt_item){F_TEXT, (uint32_t)start, (uint32_t)(tl - start)};
        maxlen += tl - start;
    }
    x->nfmt = nf;
    x->fmt_max = maxlen;
    return 0;
}

int tide_expr_date_format(tide_expr **out, tide_expr *ts, tide_expr *pattern, tide_err *e)
{
    tide_expr *kids[2] = {ts, pattern}, *x;
    int rc = mk(&x, K_DATEFMT, kids, 2, e);
    if (rc)
        return (*out = NULL, rc);
    x->type = TIDE_TYPE_STRING;
    if ((rc = want_type(x, 0, TIDE_TYPE_TIMESTAMP, "DATE_FORMAT", e)))
        return fail_node(out, x, rc);
    tide_value p;
    if (x->kids[1]->type != TIDE_TYPE_STRING || !tide_expr_is_literal(x->kids[1], &p))
        return fail_node(out, x,
                         tide_err_set(e, x->kids[1]->type == TIDE_TYPE_STRING ? TIDE_EUNSUPPORTED : TIDE_EINVAL,
                                      "DATE_FORMAT pattern must be a constant STRING, not %s", tname(x->kids[1])));
    if ((rc = compile_fmt(x, &p, e)))
        return fail_node(out, x, rc);
    *out = x;
    return 0;
}

/* A pattern for TO_TIMESTAMP / UNIX_TIMESTAMP: NULL kid = the default
 * form (x->nfmt stays 0). */
static int parse_pattern(tide_expr *x, uint32_t k, const char *what, tide_err *e)
{
    tide_value p;
    if (x->kids[k]->type != TIDE_TYPE_STRING || !tide_expr_is_literal(x->kids[k], &p))
        return tide_err_set(e, x->kids[k]->type == TIDE_TYPE_STRING ? TIDE_EUNSUPPORTED : TIDE_EINVAL,
                            "%s format must be a constant STRING, not %s", what, tname(x->kids[k]));
    int rc = compile_fmt(x, &p, e);
    if (rc == 0 && x->nfmt == 0)
        rc = tide_err_set(e, TIDE_EINVAL, "%s format is empty", what);
    return rc;
}

int tide_expr_ts_parse(tide_expr **out, tide_expr *s, tide_expr *format, bool seconds, tide_err *e)
{
    tide_expr *kids[2] = {s, format}, *x;
    int rc = mk(&x, K_TSPARSE, kids, format ? 2 : 1, e);
    if (rc)
        return (*out = NULL, rc);
    const char *what = seconds ? "UNIX_TIMESTAMP" : "TO_TIMESTAMP";
    x->type = seconds ? TIDE_TYPE_BIGINT : TIDE_TYPE_TIMESTAMP;
    x->op = seconds ? TSP_SECONDS : TSP_TIMESTAMP;
    if ((rc = want_type(x, 0, TIDE_TYPE_STRING, what, e)) || (format && (rc = parse_pattern(x, 1, what, e))))
        return fail_node(out, x, rc);
    *out = x;
    return 0;
}

int tide_expr_from_epoch(tide_expr **out, tide_expr *n, int precision, tide_err *e)
{
    tide_expr *x;
    int rc = mk(&x, K_EPOCH, &n, 1, e);
    if (rc)
        return (*out = NULL, rc);
    x->type = TIDE_TYPE_TIMESTAMP;
    if (precision != 0 && precision != 3)
        return fail_node(out, x,
                         tide_err_set(e, TIDE_EINVAL,
                                      "TO_TIMESTAMP_LTZ precision must be 0 (epoch seconds) or 3 (epoch "
                                      "milliseconds), not %d",
                                      precision));
    x->op = precision == 3 ? 1 : 1000;
    if ((rc = want_type(x, 0, TIDE_TYPE_BIGINT, "TO_TIMESTAMP_LTZ", e)))
        return fail_node(out, x, rc);
    *out = x;
    return 0;
}

int tide_expr_day_of(tide_expr **out, bool of_year, tide_expr *ts, tide_err *e)
{
    int rc = tide_expr_extract(out, TIDE_TS_UNIT_DAY, ts, e);
    if (rc == 0)
        (*out)->op = of_year ? EXT_DOY : EXT_DOW;
    return rc;
}

int tide_expr_ts_add(tide_expr **out, tide_ts_unit unit, tide_expr *n, tide_expr *ts, tide_err *e)
{
    tide_expr *kids[2] = {n, ts}, *x;
    int rc = mk(&x, K_TSADD, kids, 2, e);
    if (rc)
        return (*out = NULL, rc);
    x->type = TIDE_TYPE_TIMESTAMP;
    x->unit = unit;
    if ((unsigned)unit >= TIDE_TS_UNIT_COUNT)
        return fail_node(out, x, tide_err_set(e, TIDE_EINVAL, "unknown time unit %d", (int)unit));
    if ((rc = want_type(x, 0, TIDE_TYPE_BIGINT, "TIMESTAMPADD's count", e)) ||
        (rc = want_type(x, 1, TIDE_TYPE_TIMESTAMP, "TIMESTAMPADD", e)))
        return fail_node(out, x, rc);
    *out = x;
    return 0;
}

int tide_expr_now(tide_expr **out, const tide_clock *clock, tide_expr_now_kind kind, tide_err *e)
{
    tide_expr *x;
    int rc = mk(&x, K_NOW, NULL, 0, e);
    if (rc)
        return (*out = NULL, rc);
    x->clock = clock ? clock : tide_clock_system();
    x->op = (int)kind;
    x->type = kind == TIDE_EXPR_NOW_SECONDS ? TIDE_TYPE_BIGINT : TIDE_TYPE_TIMESTAMP;
    *out = x;
    return 0;
}

int tide_expr_ts_diff(tide_expr **out, tide_ts_unit unit, tide_expr *a, tide_expr *b, tide_err *e)
{
    tide_expr *kids[2] = {a, b}, *x;
    int rc = mk(&x, K_TSDIFF, kids, 2, e);
    if (rc)
        return (*out = NULL, rc);
    x->type = TIDE_TYPE_BIGINT;
    x->unit = unit;
    if ((unsigned)unit >= TIDE_TS_UNIT_COUNT)
        return fail_node(out, x, tide_err_set(e, TIDE_EINVAL, "unknown time unit %d", (int)unit));
    if ((rc = want_type(x, 0, TIDE_TYPE_TIMESTAMP, "TIMESTAMPDIFF", e)) ||
        (rc = want_type(x, 1, TIDE_TYPE_TIMESTAMP, "TIMESTAMPDIFF", e)))
        return fail_node(out, x, rc);
    *out = x;
    return 0;
}

/* ---- inspecting ---- */

tide_type tide_expr_type(const tide_expr *x) { return x->type; }
bool tide_expr_is_interval(const tide_expr *x) { return x->interval; }

bool tide_expr_is_literal(const tide_expr *x, tide_value *v)
{
    if (x->kind == K_LIT) {
        if (v)
            *v = x->lit;
        return true;
    }
    /* an implicit NULL -> t cast of a literal is still a literal */
    if (x->kind == K_CAST && x->from == TIDE_TYPE_NULL && x->kids[0]->kind == K_LIT) {
        if (v)
            *v = (tide_value){.type = x->type, .is_null = true};
        return true;
    }
    return false;
}

/* ==== evaluation ==== */

static int nomem(tide_err *e) { return tide_err_set(e, TIDE_ENOMEM, "out of memory evaluating an expression"); }

static unsigned masks_needed(const tide_expr *x)
{
    switch (x->kind) {
    case K_LOGIC:
    case K_COALESCE:
        return 1;
    case K_CASE:
        return 3;
    case K_BETWEEN:
    case K_IN:
        return 4;
    default:
        return 0;
    }
}

static void fill_literal(tide_expr *x, uint32_t from, uint32_t to)
{
    memset(x->nulls + from, x->lit.is_null ? 1 : 0, to - from);
    if (x->lit.is_null) {
        memset((char *)x->vals + (size_t)from * val_size(x->type), 0, (size_t)(to - from) * val_size(x->type));
        return;
    }
    for (uint32_t i = from; i < to; i++) {
        switch (tide_type_base(x->type)) {
        case TIDE_TYPE_DECIMAL:
            ((tide_i128 *)x->vals)[i] = x->lit.u.d;
            break;
        case TIDE_TYPE_BOOLEAN:
            ((uint8_t *)x->vals)[i] = x->lit.u.b;
            break;
        case TIDE_TYPE_DOUBLE:
            ((double *)x->vals)[i] = x->lit.u.f64;
            break;
        case TIDE_TYPE_STRING:
            ((tide_str *)x->vals)[i] = x->lit.u.s;
            break;
        default:
            ((int64_t *)x->vals)[i] = x->lit.u.i64;
            break;
        }
    }
}

/* Make x's buffers hold n rows. */
static int ensure_cap(tide_expr *x, uint32_t n, tide_err *e)
{
    if (n <= x->cap && x->nulls)
        return 0;
    if (x->kind == K_COL)
        return 0;
    uint32_t cap = x->cap ? x->cap : 64;
    while (cap < n)
        cap *= 2;
    uint8_t *nulls = calloc(cap, 1);
    void *vals = calloc(cap, val_size(x->type));
    unsigned nm = masks_needed(x);
    uint8_t *m = nm ? calloc((size_t)cap * nm, 1) : NULL;
    if (!nulls || !vals || (nm && !m)) {
        free(nulls);
        free(vals);
        free(m);
        return nomem(e);
    }
    free(x->nulls);
    free(x->vals);
    free(x->m1);
    x->nulls = nulls;
    x->vals = vals;
    x->m1 = m;
    if (m) {
        x->m2 = m + cap;
        x->m3 = nm > 2 ? m + 2 * (size_t)cap : NULL;
        x->m4 = nm > 3 ? m + 3 * (size_t)cap : NULL;
    }
    x->cap = cap;
    if (x->kind == K_LIT)
        fill_literal(x, 0, cap);
    return 0;
}

/* A string output buffer of at least `bytes`. */
static char *sbuf(tide_expr *x, size_t bytes, tide_err *e)
{
    if (bytes > x->scap || !x->sbuf) {
        size_t cap = x->scap ? x->scap : 4096;
        while (cap < bytes)
            cap *= 2;
        char *p = malloc(cap);
        if (!p) {
            nomem(e);
            return NULL;
        }
        free(x->sbuf);
        x->sbuf = p;
        x->scap = cap;
    }
    return x->sbuf;
}

static void set_res(tide_expr *x, uint32_t n)
{
    x->res.type = x->type;
    x->res.rows = n;
    x->res.nulls = x->nulls;
    x->res.v.any = x->vals;
}

static int ev(tide_expr *x, const tide_cbatch *in, uint32_t n, const uint8_t *active, tide_err *e);

/* Evaluate every kid with the same active rows. */
static int ev_kids(tide_expr *x, const tide_cbatch *in, uint32_t n, const uint8_t *active, tide_err *e)
{
    for (uint32_t k = 0; k < x->nkids; k++) {
        int rc = ev(x->kids[k], in, n, active, e);
        if (rc)
            return rc;
    }
    return 0;
}

static void or_nulls(uint8_t *restrict out, const uint8_t *restrict a, const uint8_t *restrict b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        out[i] = (uint8_t)((a[i] | b[i]) != 0);
}

/* ---- arithmetic ---- */

static inline int64_t wadd(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static inline int64_t wsub(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static inline int64_t wmul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }

static void arith_i64(int op, const int64_t *restrict a, const int64_t *restrict b, const uint8_t *an,
                      const uint8_t *bn, int64_t *restrict r, uint8_t *restrict rn, uint32_t n, bool const_b)
{
    or_nulls(rn, an, bn, n);
    switch (op) {
    case TIDE_EXPR_ADD:
        for (uint32_t i = 0; i < n; i++)
            r[i] = wadd(a[i], b[i]);
        break;
    case TIDE_EXPR_SUB:
        for (uint32_t i = 0; i < n; i++)
            r[i] = wsub(a[i], b[i]);
        break;
    case TIDE_EXPR_MUL:
        for (uint32_t i = 0; i < n; i++)
            r[i] = wmul(a[i], b[i]);
        break;
    case TIDE_EXPR_DIV:
    case TIDE_EXPR_MOD: {
        bool div = op == TIDE_EXPR_DIV;
        if (const_b && n && b[0] != 0 && b[0] != -1) {
            /* a constant divisor (the common `x % 10`): no per-row checks */
            int64_t d = b[0];
            /* common divisors get a loop with a compile-time constant, which
             * the compiler turns into a multiply (a 64-bit idiv is ~40
             * cycles) */
#define DIVMOD_CONST(K)                              \
    case K:                                          \
        if (div)                                     \
            for (uint32_t i = 0; i < n; i++)         \
                r[i] = a[i] / K;                     \
        else                                         \
            for (uint32_t i = 0; i < n; i++)         \
                r[i] = a[i] % K;                     \
        break;
            switch (d) {
                DIVMOD_CONST(2)
                DIVMOD_CONST(3)
                DIVMOD_CONST(4)
                DIVMOD_CONST(5)
                DIVMOD_CONST(7)
                DIVMOD_CONST(8)
                DIVMOD_CONST(10)
                DIVMOD_CONST(16)
                DIVMOD_CONST(24)
                DIVMOD_CONST(60)
                DIVMOD_CONST(100)
                DIVMOD_CONST(1000)
                DIVMOD_CONST(3600)
                DIVMOD_CONST(60000)
                DIVMOD_CONST(3600000)
                DIVMOD_CONST(86400000)
            default:
                if (div)
                    for (uint32_t i = 0; i < n; i++)
                        r[i] = a[i] / d;
                else
                    for (uint32_t i = 0; i < n; i++)
                        r[i] = a[i] % d;
                break;
            }
#undef DIVMOD_CONST
            break;
        }
        for (uint32_t i = 0; i < n; i++) {
            int64_t d = b[i];
            if (d == 0) {
                r[i] = 0;
                rn[i] = 1; /* division by zero is NULL */
            } else if (d == -1) {
                r[i] = div ? wsub(0, a[i]) : 0;
            } else {
                r[i] = div ? a[i] / d : a[i] % d;
            }
        }
        break;
    }
    }
}

static void arith_f64(int op, const double *restrict a, const double *restrict b, const uint8_t *an,
                      const uint8_t *bn, double *restrict r, uint8_t *restrict rn, uint32_t n)
{
    or_nulls(rn, an, bn, n);
    switch (op) {
    case TIDE_EXPR_ADD:
        for (uint32_t i = 0; i < n; i++)
            r[i] = a[i] + b[i];
        break;
    case TIDE_EXPR_SUB:
        for (uint32_t i = 0; i < n; i++)
            r[i] = a[i] - b[i];
        break;
    case TIDE_EXPR_MUL:
        for (uint32_t i = 0; i < n; i++)
            r[i] = a[i] * b[i];
        break;
    case TIDE_EXPR_DIV:
        for (uint32_t i = 0; i < n; i++)
            r[i] = a[i] / b[i];
        break;
    case TIDE_EXPR_MOD:
        for (uint32_t i = 0; i < n; i++)
            r[i] = fmod(a[i], b[i]);
        break;
    }
}

/* Row i of x failed (if SQL evaluates it there and it is not NULL): its
 * value becomes NULL and the root's fault record marks it, with the first
 * reason "<what> in <op>". */
static void row_fault(tide_expr *x, const uint8_t *active, uint32_t i, const char *what)
{
    if ((active && !active[i]) || x->nulls[i])
        return;
    x->nulls[i] = 1;
    struct fault_rec *f = x->fr;
    if (!f || f->rows[i])
        return;
    f->rows[i] = 1;
    if (f->count++ == 0) {
        if (x->kind == K_NEG)
            snprintf(f->why, sizeof f->why, "%s in unary -", what);
        else if (x->kind == K_FLOOR)
            snprintf(f->why, sizeof f->why, "%s in %s(... TO %s)", what, x->flag ? "CEIL" : "FLOOR",
                     tide_ts_unit_name(x->unit));
        else if (x->kind == K_EPOCH)
            snprintf(f->why, sizeof f->why, "%s in TO_TIMESTAMP_LTZ(..., %d)", what, x->op == 1 ? 3 : 0);
        else if (x->kind == K_TSADD)
            snprintf(f->why, sizeof f->why, "%s in TIMESTAMPADD(%s, ...)", what, tide_ts_unit_name(x->unit));
        else
            snprintf(f->why, sizeof f->why, "%s in %s %s %s", what, tide_type_name(x->kids[0]->type),
                     tide_expr_arith_name(x->op), x->kids[1]->interval ? "INTERVAL" : tide_type_name(x->kids[1]->type));
    }
}

/* Whether a op b overflows int64 (the kernels computed it wrapped). */
static inline bool i64_overflows(int op, int64_t a, int64_t b)
{
    int64_t t;
    switch (op) {
    case TIDE_EXPR_ADD: return __builtin_add_overflow(a, b, &t);
    case TIDE_EXPR_SUB: return __builtin_sub_overflow(a, b, &t);
    case TIDE_EXPR_MUL: return __builtin_mul_overflow(a, b, &t);
    case TIDE_EXPR_DIV: return a == INT64_MIN && b == -1; /* (% by -1 is 0: exact) */
    default: return false;
    }
}

/* Whether any of the n wrapped results of a op b overflowed: one pass that
 * only ORs flags (the common case finds none). */
static bool i64_any_overflow(int op, const int64_t *restrict a, const int64_t *restrict b, uint32_t n,
                             bool const_b)
{
    int64_t t;
    unsigned any = 0;
    if (const_b && n && op != TIDE_EXPR_DIV) {
        /* a constant right side: the a that do not overflow are [lo, hi], a
         * range test the compiler vectorises */
        int64_t c = b[0], lo = INT64_MIN, hi = INT64_MAX;
        if (op == TIDE_EXPR_ADD) {
            if (c > 0)
                hi = INT64_MAX - c;
            else
                lo = INT64_MIN - c;
        } else if (op == TIDE_EXPR_SUB) {
            if (c > 0)
                lo = INT64_MIN + c;
            else
                hi = INT64_MAX + c;
        } else if (op == TIDE_EXPR_MUL) {
            if (c == -1) {
                lo = -INT64_MAX;
            } else if (c > 0) {
                hi = INT64_MAX / c; /* floor */
                lo = INT64_MIN / c; /* toward zero: the least a with a * c >= MIN */
            } else if (c < -1) {
                lo = INT64_MAX / c; /* toward zero: the least a with a * c <= MAX */
                hi = INT64_MIN / c;
            }
        }
        uint64_t width = (uint64_t)hi - (uint64_t)lo, out = 0;
        for (uint32_t i = 0; i < n; i++) /* one unsigned compare per row, summed */
            out += (uint64_t)a[i] - (uint64_t)lo > width;
        return out != 0;
    }
    switch (op) {
    case TIDE_EXPR_ADD:
        for (uint32_t i = 0; i < n; i++)
            any |= (unsigned)__builtin_add_overflow(a[i], b[i], &t);
        break;
    case TIDE_EXPR_SUB:
        for (uint32_t i = 0; i < n; i++)
            any |= (unsigned)__builtin_sub_overflow(a[i], b[i], &t);
        break;
    case TIDE_EXPR_MUL:
        for (uint32_t i = 0; i < n; i++)
            any |= (unsigned)__builtin_mul_overflow(a[i], b[i], &t);
        break;
    case TIDE_EXPR_DIV:
        for (uint32_t i = 0; i < n; i++)
            any |= (unsigned)((a[i] == INT64_MIN) & (b[i] == -1));
        break;
    default:
        break;
    }
    return any != 0;
}

/* A TIMESTAMP result outside the TIMESTAMP range fails its row. */
static void check_ts_range(tide_expr *x, uint32_t n, const uint8_t *active)
{
    const int64_t *r = x->vals;
    uint64_t out = 0;
    for (uint32_t i = 0; i < n; i++)
        out += (uint64_t)r[i] - (uint64_t)TIDE_TS_VALID_MIN > (uint64_t)(TIDE_TS_VALID_SPAN - 1);
    if (out)
        for (uint32_t i = 0; i < n; i++)
            if (!tide_ts_valid(r[i]))
                row_fault(x, active, i, "TIMESTAMP out of range (" TIDE_TS_RANGE_WHY ")");
}

static void ev_arith(tide_expr *x, uint32_t n, const uint8_t *active)
{
    const tide_expr_vec *a = &x->kids[0]->res, *b = &x->kids[1]->res;
    int op = x->op;
    if (x->type == TIDE_TYPE_DOUBLE) {
        arith_f64(op, a->v.f64, b->v.f64, a->nulls, b->nulls, x->vals, x->nulls, n);
        return;
    }
    if (is_dec(x->type)) {
        /* exact; a result that does not fit its type (or / 0, % 0) is NULL,
         * as Flink's DECIMAL arithmetic gives */
        static const tide_dec_op dop[] = {TIDE_DEC_ADD, TIDE_DEC_SUB, TIDE_DEC_MUL, TIDE_DEC_DIV, TIDE_DEC_MOD};
        tide_i128 *r = x->vals;
        tide_type ta = x->kids[0]->type, tb = x->kids[1]->type;
        for (uint32_t i = 0; i < n; i++) {
            x->nulls[i] = (uint8_t)(a->nulls[i] | b->nulls[i]);
            r[i] = 0;
            if (!x->nulls[i] && !tide_dec_arith(dop[op], a->v.d[i], ta, b->v.d[i], tb, x->type, &r[i]))
                x->nulls[i] = 1;
        }
        return;
    }
    /* TIMESTAMP - INTERVAL etc. are plain int64 arithmetic; n * INTERVAL
     * commutes */
    bool const_b = x->kids[1]->kind == K_LIT && !x->kids[1]->lit.is_null;
    arith_i64(op, a->v.i64, b->v.i64, a->nulls, b->nulls, x->vals, x->nulls, n, const_b);
    /* never a wrapped value: a row that overflows fails */
    if (!(const_b && (op == TIDE_EXPR_MOD || (op == TIDE_EXPR_DIV && b->v.i64[0] != -1))) &&
        i64_any_overflow(op, a->v.i64, b->v.i64, n, const_b))
        for (uint32_t i = 0; i < n; i++)
            if (i64_overflows(op, a->v.i64[i], b->v.i64[i]))
                row_fault(x, active, i, "integer overflow");
    if (x->type == TIDE_TYPE_TIMESTAMP) /* and a TIMESTAMP stays in its range */
        check_ts_range(x, n, active);
}

static void ev_neg(tide_expr *x, uint32_t n, const uint8_t *active)
{
    const tide_expr_vec *a = &x->kids[0]->res;
    memcpy(x->nulls, a->nulls, n);
    if (x->type == TIDE_TYPE_DOUBLE) {
        double *r = x->vals;
        for (uint32_t i = 0; i < n; i++)
            r[i] = -a->v.f64[i];
    } else if (is_dec(x->type)) { /* |v| < 10^38: exact */
        tide_i128 *r = x->vals;
        for (uint32_t i = 0; i < n; i++)
            r[i] = -a->v.d[i];
    } else {
        int64_t *r = x->vals;
        unsigned any = 0;
        for (uint32_t i = 0; i < n; i++) {
            r[i] = wsub(0, a->v.i64[i]);
            any |= (unsigned)(a->v.i64[i] == INT64_MIN);
        }
        if (any)
            for (uint32_t i = 0; i < n; i++)
                if (a->v.i64[i] == INT64_MIN)
                    row_fault(x, active, i, "integer overflow");
    }
}

/* ---- comparison ---- */

static inline int str_cmp(tide_str a, tide_str b)
{
    uint32_t m = a.len < b.len ? a.len : b.len;
    int c = m ? memcmp(a.ptr, b.ptr, m) : 0;
    if (c)
        return c;
    return a.len < b.len ? -1 : a.len > b.len;
}

#define CMP_LOOPS(A, B)                                        \
    switch (op) {                                              \
    case TIDE_EXPR_EQ:                                         \
        for (uint32_t i = 0; i < n; i++)                       \
            r[i] = (A) == (B);                                 \
        break;                                                 \
    case TIDE_EXPR_NE:                                         \
        for (uint32_t i = 0; i < n; i++)                       \
            r[i] = (A) != (B);                                 \
        break;                                                 \
    case TIDE_EXPR_LT:                                         \
        for (uint32_t i = 0; i < n; i++)                       \
            r[i] = (A) < (B);                                  \
        break;                                                 \
    case TIDE_EXPR_LE:                                         \
        for (uint32_t i = 0; i < n; i++)                       \
            r[i] = (A) <= (B);                                 \
        break;                                                 \
    case TIDE_EXPR_GT:                                         \
        for (uint32_t i = 0; i < n; i++)                       \
            r[i] = (A) > (B);                                  \
        break;                                                 \
    default:                                                   \
        for (uint32_t i = 0; i < n; i++)                       \
            r[i] = (A) >= (B);                                 \
        break;                                                 \
    }

/* r[i] = a[i] op b[i] (values only; rn = a.nulls | b.nulls). */
static void cmp_kernel(int op, const tide_expr_vec *a, const tide_expr_vec *b, uint8_t *restrict r,
                       uint8_t *restrict rn, uint32_t n)
{
    or_nulls(rn, a->nulls, b->nulls, n);
    switch (tide_type_base(a->type)) {
    case TIDE_TYPE_DOUBLE: {
        const double *restrict x = a->v.f64, *restrict y = b->v.f64;
        CMP_LOOPS(x[i], y[i]);
        break;
    }
    case TIDE_TYPE_DECIMAL: { /* one type, one scale (unify) */
        const tide_i128 *x = a->v.d, *y = b->v.d;
        CMP_LOOPS(x[i], y[i]);
        break;
    }
    case TIDE_TYPE_BOOLEAN: {
        const uint8_t *restrict x = a->v.b, *restrict y = b->v.b;
        CMP_LOOPS(x[i] != 0, y[i] != 0);
        break;
    }
    case TIDE_TYPE_STRING: {
        const tide_str *x = a->v.s, *y = b->v.s;
        const uint8_t *xn = a->nulls, *yn = b->nulls;
        if (op == TIDE_EXPR_EQ || op == TIDE_EXPR_NE) {
            uint8_t want = op == TIDE_EXPR_EQ;
            for (uint32_t i = 0; i < n; i++) {
                if (xn[i] | yn[i]) {
                    r[i] = 0;
                    continue;
                }
                bool eq = x[i].len == y[i].len && (x[i].len == 0 || memcmp(x[i].ptr, y[i].ptr, x[i].len) == 0);
                r[i] = eq == want;
            }
            break;
        }
        for (uint32_t i = 0; i < n; i++) {
            if (xn[i] | yn[i]) {
                r[i] = 0;
                continue;
            }
            int c = str_cmp(x[i], y[i]);
            r[i] = op == TIDE_EXPR_LT ? c < 0 : op == TIDE_EXPR_LE ? c <= 0 : op == TIDE_EXPR_GT ? c > 0 : c >= 0;
        }
        break;
    }
    case TIDE_TYPE_NULL:
        memset(r, 0, n);
        break;
    default: {
        const int64_t *restrict x = a->v.i64, *restrict y = b->v.i64;
        CMP_LOOPS(x[i], y[i]);
        break;
    }
    }
}

/* Byte equality; short strings compared inline (no memcmp call per row). */
static inline bool str_eq(tide_str a, tide_str b)
{
    if (a.len != b.len)
        return false;
    if (a.len > 16)
        return memcmp(a.ptr, b.ptr, a.len) == 0;
    for (uint32_t j = 0; j < a.len; j++)
        if (a.ptr[j] != b.ptr[j])
            return false;
    return true;
}

/* s = 'literal' (the common string filter): no NULLs on the literal side. */
static void eq_str_const(const tide_expr_vec *a, tide_str lit, uint8_t want, uint8_t *restrict r,
                         uint8_t *restrict rn, uint32_t n)
{
    const tide_str *x = a->v.s;
    const uint8_t *xn = a->nulls;
    uint32_t l = lit.len;
    if (l <= 16) {
        /* short literals (codes, names): an inline compare beats a memcmp
         * call per row */
        for (uint32_t i = 0; i < n; i++) {
            rn[i] = xn[i] != 0;
            bool eq = !xn[i] && x[i].len == l;
            for (uint32_t j = 0; eq && j < l; j++)
                eq = x[i].ptr[j] == lit.ptr[j];
            r[i] = !xn[i] && eq == want;
        }
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        rn[i] = xn[i] != 0;
        r[i] = !xn[i] && ((x[i].len == l && memcmp(x[i].ptr, lit.ptr, l) == 0) == want);
    }
}

/* The literal string operand of x's kid k, if it is one (not NULL). */
static bool str_const(const tide_expr *k, tide_str *out)
{
    if (k->kind != K_LIT || k->type != TIDE_TYPE_STRING || k->lit.is_null)
        return false;
    *out = k->lit.u.s;
    return true;
}

/* a op b, with the string-equals-literal fast path. */
static void cmp_nodes(int op, const tide_expr *a, const tide_expr *b, uint8_t *r, uint8_t *rn, uint32_t n)
{
    tide_str lit;
    if (a->type == TIDE_TYPE_STRING && (op == TIDE_EXPR_EQ || op == TIDE_EXPR_NE)) {
        if (str_const(b, &lit)) {
            eq_str_const(&a->res, lit, op == TIDE_EXPR_EQ, r, rn, n);
            return;
        }
        if (str_const(a, &lit)) {
            eq_str_const(&b->res, lit, op == TIDE_EXPR_EQ, r, rn, n);
            return;
        }
    }
    cmp_kernel(op, &a->res, &b->res, r, rn, n);
}

/* IS [NOT] DISTINCT FROM: = where both are values; NULL only equals NULL;
 * never NULL. */
static void ev_distinct(tide_expr *x, uint32_t n)
{
    const uint8_t *an = x->kids[0]->res.nulls, *bn = x->kids[1]->res.nulls;
    uint8_t *r = x->vals;
    cmp_nodes(TIDE_EXPR_EQ, x->kids[0], x->kids[1], r, x->nulls, n);
    uint8_t same = x->op == TIDE_EXPR_IS_NOT_DISTINCT;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t na = an[i] != 0, nb = bn[i] != 0;
        uint8_t eq = (na | nb) ? (na & nb) : (r[i] != 0);
        r[i] = eq == same;
        x->nulls[i] = 0;
    }
}

/* 3VL AND of (av, an) and (bv, bn) into (r, rn); values with != 0. */
static void and3(const uint8_t *av, const uint8_t *an, const uint8_t *bv, const uint8_t *bn, uint8_t *r, uint8_t *rn,
                 uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint8_t at = !an[i] & (av[i] != 0), af = !an[i] & (av[i] == 0);
        uint8_t bt = !bn[i] & (bv[i] != 0), bf = !bn[i] & (bv[i] == 0);
        uint8_t f = af | bf, t = at & bt;
        r[i] = t;
        rn[i] = !(f | t);
    }
}

static void or3(const uint8_t *av, const uint8_t *an, const uint8_t *bv, const uint8_t *bn, uint8_t *r, uint8_t *rn,
                uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint8_t at = !an[i] & (av[i] != 0), af = !an[i] & (av[i] == 0);
        uint8_t bt = !bn[i] & (bv[i] != 0), bf = !bn[i] & (bv[i] == 0);
        uint8_t t = at | bt, f = af & bf;
        r[i] = t;
        rn[i] = !(f | t);
    }
}

static void negate_bool(uint8_t *r, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        r[i] = !r[i];
}

static void ev_between(tide_expr *x, uint32_t n)
{
    cmp_kernel(TIDE_EXPR_GE, &x->kids[0]->res, &x->kids[1]->res, x->m1, x->m2, n);
    cmp_kernel(TIDE_EXPR_LE, &x->kids[0]->res, &x->kids[2]->res, x->m3, x->m4, n);
    and3(x->m1, x->m2, x->m3, x->m4, x->vals, x->nulls, n);
    if (x->flag)
        negate_bool(x->vals, n);
}

/* x IN (literals): one pass over the rows, each row against every
 * constant (BIGINT, TIMESTAMP, STRING).  False if the list is not all
 * literals of those types. */
static bool ev_in_const(tide_expr *x, uint32_t n)
{
    tide_type t = x->kids[0]->type;
    if (t != TIDE_TYPE_BIGINT && t != TIDE_TYPE_TIMESTAMP && t != TIDE_TYPE_STRING)
        return false;
    uint8_t null_item = 0;
    for (uint32_t k = 1; k < x->nkids; k++) {
        if (x->kids[k]->kind != K_LIT)
            return false;
        null_item |= x->kids[k]->lit.is_null;
    }
    const tide_expr_vec *a = &x->kids[0]->res;
    uint8_t *r = x->vals, *rn = x->nulls;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t hit = 0;
        if (!a->nulls[i]) {
            for (uint32_t k = 1; k < x->nkids && !hit; k++) {
                const tide_value *v = &x->kids[k]->lit;
                if (v->is_null)
                    continue;
                if (t == TIDE_TYPE_STRING)
                    hit = str_eq(a->v.s[i], v->u.s);
                else
                    hit = a->v.i64[i] == v->u.i64;
            }
        }
        r[i] = (uint8_t)(hit ^ x->flag);
        rn[i] = (uint8_t)((!hit) & ((a->nulls[i] != 0) | null_item));
    }
    return true;
}

static void ev_in(tide_expr *x, uint32_t n)
{
    if (ev_in_const(x, n))
        return;
    uint8_t *t = x->m3, *anynull = x->m4;
    memset(t, 0, n);
    memcpy(anynull, x->kids[0]->res.nulls, n);
    for (uint32_t k = 1; k < x->nkids; k++) {
        cmp_nodes(TIDE_EXPR_EQ, x->kids[0], x->kids[k], x->m1, x->m2, n);
        const uint8_t *in = x->kids[k]->res.nulls;
        for (uint32_t i = 0; i < n; i++) {
            t[i] |= (uint8_t)((!x->m2[i]) & x->m1[i]);
            anynull[i] |= (uint8_t)(in[i] != 0);
        }
    }
    uint8_t *r = x->vals, *rn = x->nulls;
    for (uint32_t i = 0; i < n; i++) {
        r[i] = (uint8_t)(t[i] ^ x->flag);
        rn[i] = (uint8_t)((!t[i]) & anynull[i]);
    }
}

/* ---- LIKE ---- */

static inline uint32_t cp_len(const unsigned char *s, uint32_t i, uint32_t n)
{
    uint32_t j = i + 1;
    while (j < n && (s[j] & 0xC0) == 0x80)
        j++;
    return j - i;
}

/* Greedy matching with backtracking to the last '%' (linear-ish; worst case
 * O(len * pattern)). */
static bool like_general(const int *p, uint32_t m, const unsigned char *s, uint32_t n)
{
    uint32_t pi = 0, si = 0, star = UINT32_MAX, ss = 0;
    while (si < n) {
        if (pi < m && p[pi] == LIKE_ONE) {
            si += cp_len(s, si, n);
            pi++;
        } else if (pi < m && p[pi] >= 0 && s[si] == (unsigned char)p[pi]) {
            si++;
            pi++;
        } else if (pi < m && p[pi] == LIKE_ANY) {
            star = pi++;
            ss = si;
        } else if (star != UINT32_MAX) {
            pi = star + 1;
            ss += cp_len(s, ss, n);
            si = ss;
        } else {
            return false;
        }
    }
    while (pi < m && p[pi] == LIKE_ANY)
        pi++;
    return pi == m;
}

static void ev_like(tide_expr *x, uint32_t n)
{
    const tide_expr_vec *a = &x->kids[0]->res;
    uint8_t *r = x->vals, *rn = x->nulls;
    if (x->shape == LIKE_NULL) {
        memset(rn, 1, n);
        memset(r, 0, n);
        return;
    }
    memcpy(rn, a->nulls, n);
    const char *lit = x->text;
    uint32_t ll = (uint32_t)x->text_len;
    for (uint32_t i = 0; i < n; i++) {
        if (rn[i]) {
            r[i] = 0;
            continue;
        }
        tide_str s = a->v.s[i];
        bool m;
        switch (x->shape) {
        case LIKE_EXACT:
            m = s.len == ll && (ll == 0 || memcmp(s.ptr, lit, ll) == 0);
            break;
        case LIKE_PREFIX:
            m = s.len >= ll && (ll == 0 || memcmp(s.ptr, lit, ll) == 0);
            break;
        case LIKE_SUFFIX:
            m = s.len >= ll && (ll == 0 || memcmp(s.ptr + s.len - ll, lit, ll) == 0);
            break;
        case LIKE_CONTAINS:
            m = ll == 0 || (s.len >= ll && memmem(s.ptr, s.len, lit, ll) != NULL);
            break;
        default:
            m = like_general(x->pat, x->npat, (const unsigned char *)s.ptr, s.len);
            break;
        }
        r[i] = (uint8_t)(m ^ x->flag);
    }
}

/* ---- CAST ---- */

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

static tide_str trim_spaces(tide_str s)
{
    while (s.len && is_space(s.ptr[0]))
        s.ptr++, s.len--;
    while (s.len && is_space(s.ptr[s.len - 1]))
        s.len--;
    return s;
}

static bool ieq(const char *s, uint32_t len, const char *word)
{
    size_t wl = strlen(word);
    if (wl != len)
        return false;
    for (size_t i = 0; i < wl; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[i])
            return false;
    }
    return true;
}

static bool parse_bool(tide_str s, uint8_t *out)
{
    static const char *const t[] = {"true", "t", "yes", "y", "1"}, *const f[] = {"false", "f", "no", "n", "0"};
    s = trim_spaces(s);
    for (int i = 0; i < 5; i++) {
        if (ieq(s.ptr, s.len, t[i]))
            return *out = 1, true;
        if (ieq(s.ptr, s.len, f[i]))
            return *out = 0, true;
    }
    return false;
}

static bool parse_i64(tide_str s, int64_t *out)
{
    s = trim_spaces(s);
    uint32_t i = 0;
    bool neg = false;
    if (i < s.len && (s.ptr[i] == '+' || s.ptr[i] == '-'))
        neg = s.ptr[i++] == '-';
    if (i == s.len)
        return false;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < s.len; i++) {
        unsigned d = (unsigned char)s.ptr[i] - '0';
        if (d > 9)
            return false;
        if (v > (lim - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static bool parse_f64(tide_str s, double *out)
{
    s = trim_spaces(s);
    const char *p = s.ptr;
    uint32_t n = s.len, i = 0;
    bool neg = false;
    if (i < n && (p[i] == '+' || p[i] == '-'))
        neg = p[i++] == '-';
    if (ieq(p + i, n - i, "nan") && i == 0)
        return *out = NAN, true;
    if (ieq(p + i, n - i, "infinity"))
        return *out = neg ? -INFINITY : INFINITY, true;
    uint32_t digits = 0;
    while (i < n && p[i] >= '0' && p[i] <= '9')
        i++, digits++;
    if (i < n && p[i] == '.') {
        i++;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++, digits++;
    }
    if (!digits)
        return false;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        uint32_t ed = 0;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++, ed++;
        if (!ed)
            return false;
    }
    if (i != n || n >= 128) /* the grammar is checked; strtod needs a NUL */
        return false;
    char buf[128];
    memcpy(buf, p, n);
    buf[n] = '\0';
    *out = strtod(buf, NULL);
    return true;
}

/* The shortest "%g" text that reads back to d, with ".0" for integral
 * values.  buf holds 32 bytes.  Returns the length. */
static size_t fmt_f64(double d, char *buf)
{
    if (isnan(d))
        return (size_t)snprintf(buf, 32, "NaN");
    if (isinf(d))
        return (size_t)snprintf(buf, 32, d < 0 ? "-Infinity" : "Infinity");
    int len = 0;
    for (int prec = 15; prec <= 17; prec++) {
        len = snprintf(buf, 32, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    if (!strpbrk(buf, ".e")) {
        buf[len++] = '.';
        buf[len++] = '0';
        buf[len] = '\0';
    }
    return (size_t)len;
}

static size_t fmt_i64(int64_t v, char *buf)
{
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t k = 0;
    if (v < 0)
        buf[k++] = '-';
    while (n)
        buf[k++] = tmp[--n];
    return k;
}

static int cast_error(const tide_expr *x, const tide_expr_vec *a, const tide_cbatch *in, uint32_t row, tide_err *e)
{
    char val[80];
    switch (a->type) {
    case TIDE_TYPE_STRING: {
        tide_str s = a->v.s[row];
        int l = s.len > 40 ? 40 : (int)s.len;
        snprintf(val, sizeof val, "'%.*s'%s", l, s.ptr, s.len > 40 ? "..." : "");
        break;
    }
    case TIDE_TYPE_DOUBLE:
        snprintf(val, sizeof val, "%.17g", a->v.f64[row]);
        break;
    default:
        snprintf(val, sizeof val, "%lld", (long long)a->v.i64[row]);
        break;
    }
    if (tide_cbatch_has_pos(in))
        return tide_err_set(e, TIDE_EINVAL, "CAST(%s AS %s) failed: not a valid %s (row %u, source position %llu)",
                            val, tide_type_name(x->type), tide_type_name(x->type), row,
                            (unsigned long long)tide_cbatch_pos(in, row));
    return tide_err_set(e, TIDE_EINVAL, "CAST(%s AS %s) failed: not a valid %s (row %u)", val,
                        tide_type_name(x->type), tide_type_name(x->type), row);
}

/* A CAST to or from DECIMAL.  Overflow (a value that does not fit the
 * target DECIMAL, or a DECIMAL outside BIGINT) is NULL, as in Flink; a
 * STRING that is not a number fails as the other casts do (TRY_CAST: NULL). */
static int ev_cast_dec(tide_expr *x, const tide_expr_vec *a, const tide_cbatch *in, uint32_t n,
                       const uint8_t *active, tide_err *e)
{
    tide_type from = x->from, to = x->type;
    uint8_t *rn = x->nulls;
    char *buf = NULL;
    if (to == TIDE_TYPE_STRING && !(buf = sbuf(x, (size_t)n * TIDE_DEC_TEXT_MAX, e)))
        return TIDE_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        if (rn[i]) {
            if (to == TIDE_TYPE_STRING)
                ((tide_str *)x->vals)[i] = (tide_str){"", 0};
            continue;
        }
        bool ok = true;
        if (to == TIDE_TYPE_STRING) {
            char *p = buf + (size_t)i * TIDE_DEC_TEXT_MAX;
            size_t len = tide_dec_format(a->v.d[i], tide_dec_scale(from), p);
            ((tide_str *)x->vals)[i] = (tide_str){p, (uint32_t)len};
        } else if (to == TIDE_TYPE_BIGINT) {
            ok = tide_dec_to_i64(a->v.d[i], tide_dec_scale(from), &((int64_t *)x->vals)[i]);
        } else if (to == TIDE_TYPE_DOUBLE) {
            ((double *)x->vals)[i] = tide_dec_to_f64(a->v.d[i], tide_dec_scale(from));
        } else {
            tide_i128 *r = &((tide_i128 *)x->vals)[i];
            if (is_dec(from)) {
                ok = tide_dec_cast(a->v.d[i], tide_dec_scale(from), to, r);
            } else if (from == TIDE_TYPE_BIGINT) {
                ok = tide_dec_from_i64(a->v.i64[i], to, r);
            } else if (from == TIDE_TYPE_DOUBLE) {
                ok = tide_dec_from_f64(a->v.f64[i], to, r);
            } else { /* STRING */
                const char *why;
                int rc = tide_dec_parse(a->v.s[i].ptr, a->v.s[i].len, to, r, &why);
                if (rc == TIDE_EINVAL) {
                    rn[i] = 1;
                    if (!x->flag && (!active || active[i]))
                        return cast_error(x, a, in, i, e);
                    continue;
                }
                ok = rc == 0;
            }
        }
        if (!ok)
            rn[i] = 1; /* overflow: NULL */
    }
    return 0;
}

/* Strings produced by a cast: one block of n * per bytes. */
static int ev_cast(tide_expr *x, const tide_cbatch *in, uint32_t n, const uint8_t *active, tide_err *e)
{
    const tide_expr_vec *a = &x->kids[0]->res;
    tide_type from = x->from, to = x->type;
    uint8_t *rn = x->nulls;
    memcpy(rn, a->nulls, n);
    if (from == TIDE_TYPE_NULL) {
        memset(rn, 1, n);
        memset(x->vals, 0, (size_t)n * val_size(to));
        return 0;
    }
    if (from == to || (from == TIDE_TYPE_TIMESTAMP && to == TIDE_TYPE_BIGINT)) {
        memcpy(x->vals, a->v.any, (size_t)n * val_size(to));
        return 0;
    }
    if (is_dec(from) || is_dec(to))
        return ev_cast_dec(x, a, in, n, active, e);
    if (to == TIDE_TYPE_STRING) {
        size_t per = from == TIDE_TYPE_TIMESTAMP ? TIDE_TS_FORMAT_MAX : 32;
        char *buf = sbuf(x, (size_t)n * per, e);
        if (!buf)
            return TIDE_ENOMEM;
        tide_str *r = x->vals;
        for (uint32_t i = 0; i < n; i++) {
            char *p = buf + (size_t)i * per;
            size_t len = 0;
            if (rn[i]) {
                r[i] = (tide_str){p, 0};
                continue;
            }
            switch (from) {
            case TIDE_TYPE_BOOLEAN:
                len = a->v.b[i] ? 4 : 5;
                memcpy(p, a->v.b[i] ? "TRUE" : "FALSE", len);
                break;
            case TIDE_TYPE_BIGINT:
                len = fmt_i64(a->v.i64[i], p);
                break;
            case TIDE_TYPE_DOUBLE:
                len = fmt_f64(a->v.f64[i], p);
                break;
            default:
                len = tide_ts_format(a->v.i64[i], p);
                break;
            }
            r[i] = (tide_str){p, (uint32_t)len};
        }
        return 0;
    }
    /* conversions that can fail mark bad[i] */
    bool try_ = x->flag;
    for (uint32_t i = 0; i < n; i++) {
        if (rn[i])
            continue;
        bool ok = true;
        switch (to) {
        case TIDE_TYPE_BOOLEAN: {
            uint8_t *r = x->vals;
            if (from == TIDE_TYPE_BIGINT)
                r[i] = a->v.i64[i] != 0;
            else if (from == TIDE_TYPE_DOUBLE)
                r[i] = a->v.f64[i] != 0.0;
            else
                ok = parse_bool(a->v.s[i], &r[i]);
            break;
        }
        case TIDE_TYPE_BIGINT: {
            int64_t *r = x->vals;
            if (from == TIDE_TYPE_BOOLEAN)
                r[i] = a->v.b[i] != 0;
            else if (from == TIDE_TYPE_DOUBLE) {
                double d = a->v.f64[i];
                ok = d >= -9223372036854775808.0 && d < 9223372036854775808.0; /* false for NaN */
                r[i] = ok ? (int64_t)d : 0;
            } else
                ok = parse_i64(a->v.s[i], &r[i]);
            break;
        }
        case TIDE_TYPE_DOUBLE: {
            double *r = x->vals;
            if (from == TIDE_TYPE_BOOLEAN)
                r[i] = a->v.b[i] != 0 ? 1.0 : 0.0;
            else if (from == TIDE_TYPE_BIGINT)
                r[i] = (double)a->v.i64[i];
            else
                ok = parse_f64(a->v.s[i], &r[i]);
            break;
        }
        case TIDE_TYPE_TIMESTAMP: {
            int64_t *r = x->vals;
            if (from == TIDE_TYPE_BIGINT) {
                r[i] = a->v.i64[i];
            } else {
                tide_str s = trim_spaces(a->v.s[i]);
                ok = tide_ts_parse(s.ptr, s.len, &r[i], NULL) == 0;
            }
            ok = ok && tide_ts_valid(r[i]); /* the TIMESTAMP range (data/types.h) */
            break;
        }
        default:
            ok = false;
            break;
        }
        if (!ok) {
            rn[i] = 1;
            if (!try_ && (!active || active[i]))
                return cast_error(x, a, in, i, e);
        }
    }
    return 0;
}

/* ---- strings ---- */

static int ev_concat(tide_expr *x, uint32_t n, tide_err *e)
{
    const tide_expr_vec *a = &x->kids[0]->res, *b = &x->kids[1]->res;
    uint8_t *rn = x->nulls;
    tide_str *r = x->vals;
    or_nulls(rn, a->nulls, b->nulls, n);
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        if (!rn[i])
            total += (size_t)a->v.s[i].len + b->v.s[i].len;
    char *p = sbuf(x, total ? total : 1, e);
    if (!p)
        return TIDE_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        if (rn[i]) {
            r[i] = (tide_str){p, 0};
            continue;
        }
        tide_str sa = a->v.s[i], sb = b->v.s[i];
        size_t len = (size_t)sa.len + sb.len;
        if (len > UINT32_MAX) {
            return tide_err_set(e, TIDE_ERANGE, "|| result of %zu bytes is too long (row %u)", len, i);
        }
        if (sa.len)
            memcpy(p, sa.ptr, sa.len);
        if (sb.len)
            memcpy(p + sa.len, sb.ptr, sb.len);
        r[i] = (tide_str){p, (uint32_t)len};
        p += len;
    }
    return 0;
}

static uint32_t char_count(tide_str s)
{
    uint32_t c = 0;
    for (uint32_t i = 0; i < s.len; i++)
        c += ((unsigned char)s.ptr[i] & 0xC0) != 0x80;
    return c;
}

static int ev_strfn(tide_expr *x, uint32_t n, tide_err *e)
{
    const tide_expr_vec *a = &x->kids[0]->res;
    memcpy(x->nulls, a->nulls, n);
    if (x->op == TIDE_EXPR_CHAR_LENGTH) {
        int64_t *r = x->vals;
        for (uint32_t i = 0; i < n; i++)
            r[i] = x->nulls[i] ? 0 : char_count(a->v.s[i]);
        return 0;
    }
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        if (!x->nulls[i])
            total += a->v.s[i].len;
    char *p = sbuf(x, total ? total : 1, e);
    if (!p)
        return TIDE_ENOMEM;
    tide_str *r = x->vals;
    bool up = x->op == TIDE_EXPR_UPPER;
    for (uint32_t i = 0; i < n; i++) {
        if (x->nulls[i]) {
            r[i] = (tide_str){p, 0};
            continue;
        }
        tide_str s = a->v.s[i];
        for (uint32_t j = 0; j < s.len; j++) {
            char c = s.ptr[j];
            if (up && c >= 'a' && c <= 'z')
                c = (char)(c - 'a' + 'A');
            else if (!up && c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            p[j] = c;
        }
        r[i] = (tide_str){p, s.len};
        p += s.len;
    }
    return 0;
}

/* Byte offset of the code point with 0-based index k (or s.len). */
static uint32_t cp_offset(tide_str s, int64_t k)
{
    uint32_t i = 0;
    const unsigned char *p = (const unsigned char *)s.ptr;
    while (k > 0 && i < s.len) {
        i += cp_len(p, i, s.len);
        k--;
    }
    return i;
}

static void ev_substr(tide_expr *x, uint32_t n)
{
    const tide_expr_vec *a = &x->kids[0]->res, *st = &x->kids[1]->res;
    const tide_expr_vec *ln = x->has_len ? &x->kids[2]->res : NULL;
    uint8_t *rn = x->nulls;
    tide_str *r = x->vals;
    or_nulls(rn, a->nulls, st->nulls, n);
    if (ln)
        for (uint32_t i = 0; i < n; i++)
            rn[i] |= (uint8_t)(ln->nulls[i] != 0);
    for (uint32_t i = 0; i < n; i++) {
        if (rn[i]) {
            r[i] = (tide_str){"", 0};
            continue;
        }
        tide_str s = a->v.s[i];
        int64_t from = st->v.i64[i], to = INT64_MAX; /* 1-based, [from, to) */
        if (ln) {
            int64_t l = ln->v.i64[i];
            if (l < 0) {
                rn[i] = 1;
                r[i] = (tide_str){"", 0};
                continue;
            }
            if (__builtin_add_overflow(from, l, &to))
                to = INT64_MAX;
        }
        if (from < 1)
            from = 1;
        if (to <= from) {
            r[i] = (tide_str){s.ptr, 0};
            continue;
        }
        uint32_t b = cp_offset(s, from - 1);
        tide_str rest = {s.ptr + b, s.len - b};
        uint32_t len = to == INT64_MAX ? rest.len : cp_offset(rest, to - from);
        r[i] = (tide_str){rest.ptr, len};
    }
}

static void ev_trim(tide_expr *x, uint32_t n)
{
    const tide_expr_vec *a = &x->kids[0]->res;
    memcpy(x->nulls, a->nulls, n);
    tide_str *r = x->vals;
    for (uint32_t i = 0; i < n; i++) {
        if (x->nulls[i]) {
            r[i] = (tide_str){"", 0};
            continue;
        }
        tide_str s = a->v.s[i];
        if (x->op != TIDE_EXPR_TRIM_TRAILING)
            while (s.len && s.ptr[0] == ' ')
                s.ptr++, s.len--;
        if (x->op != TIDE_EXPR_TRIM_LEADING)
            while (s.len && s.ptr[s.len - 1] == ' ')
                s.len--;
        r[i] = s;
    }
}

/* ---- time ---- */

static inline int64_t floordiv(int64_t a, int64_t b, int64_t *rem)
{
    int64_t q = a / b, r = a % b;
    if (r < 0) {
        r += b;
        q--;
    }
    *rem = r;
    return q;
}

static int64_t ts_ceil(int64_t ms, tide_ts_unit unit)
{
    int64_t f = tide_ts_floor(ms, unit);
    if (f == ms)
        return ms;
    int64_t step = 0, next;
    switch (unit) {
    case TIDE_TS_UNIT_SECOND:
        step = TIDE_TS_MS_PER_SECOND;
        break;
    case TIDE_TS_UNIT_MINUTE:
        step = TIDE_TS_MS_PER_MINUTE;
        break;
    case TIDE_TS_UNIT_HOUR:
        step = TIDE_TS_MS_PER_HOUR;
        break;
    case TIDE_TS_UNIT_DAY:
        step = TIDE_TS_MS_PER_DAY;
        break;
    case TIDE_TS_UNIT_WEEK:
        step = 7 * TIDE_TS_MS_PER_DAY;
        break;
    default: {
        int64_t r, y;
        unsigned m, d;
        int64_t days = floordiv(f, TIDE_TS_MS_PER_DAY, &r);
        tide_ts_civil_from_days(days, &y, &m, &d);
        unsigned add = unit == TIDE_TS_UNIT_MONTH ? 1 : unit == TIDE_TS_UNIT_QUARTER ? 3 : 12;
        m += add;
        while (m > 12)
            m -= 12, y++;
        int64_t nd = tide_ts_days_from_civil(y, m, 1);
        if (nd > INT64_MAX / TIDE_TS_MS_PER_DAY)
            return TIDE_TS_MAX;
        return nd * TIDE_TS_MS_PER_DAY;
    }
    }
    if (__builtin_add_overflow(f, step, &next))
        return TIDE_TS_MAX;
    return next;
}

static int64_t ts_extract(int64_t ms, tide_ts_unit unit)
{
    int64_t r, y;
    unsigned m, d;
    int64_t days = floordiv(ms, TIDE_TS_MS_PER_DAY, &r);
    switch (unit) {
    case TIDE_TS_UNIT_MILLISECOND:
        return r % 1000;
    case TIDE_TS_UNIT_SECOND:
        return r / 1000 % 60;
    case TIDE_TS_UNIT_MINUTE:
        return r / 60000 % 60;
    case TIDE_TS_UNIT_HOUR:
        return r / 3600000;
    case TIDE_TS_UNIT_WEEK: {
        int64_t dow; /* Monday = 0 */
        floordiv(days + 3, 7, &dow);
        int64_t thursday = days - dow + 3;
        tide_ts_civil_from_days(thursday, &y, &m, &d);
        return (thursday - tide_ts_days_from_civil(y, 1, 1)) / 7 + 1;
    }
    default:
        break;
    }
    tide_ts_civil_from_days(days, &y, &m, &d);
    switch (unit) {
    case TIDE_TS_UNIT_DAY:
        return d;
    case TIDE_TS_UNIT_MONTH:
        return m;
    case TIDE_TS_UNIT_QUARTER:
        return (m - 1) / 3 + 1;
    default:
        return y;
    }
}

static int64_t ts_day_of(int64_t ms, bool of_year);

static void ev_floor(tide_expr *x, uint32_t n, const uint8_t *active)
{
    const tide_expr_vec *a = &x->kids[0]->res;
    memcpy(x->nulls, a->nulls, n);
    int64_t *r = x->vals;
    tide_ts_unit u = x->unit;
    if (x->kind == K_EXTRACT && x->op != EXT_UNIT) {
        for (uint32_t i = 0; i < n; i++)
            r[i] = ts_day_of(a->v.i64[i], x->op == EXT_DOY);
        return;
    }
    if (x->kind == K_EXTRACT) {
        for (uint32_t i = 0; i < n; i++)
            r[i] = ts_extract(a->v.i64[i], u);
        return;
    }
    if (x->flag) {
        for (uint32_t i = 0; i < n; i++)
            r[i] = ts_ceil(a->v.i64[i], u);
    } else {
        for (uint32_t i = 0; i < n; i++)
            r[i] = tide_ts_floor(a->v.i64[i], u);
    }
    check_ts_range(x, n, active); /* CEIL(9999-12-31 12:00 TO DAY), FLOOR(0000-01-01 TO WEEK) */
}

/* DAYOFWEEK (1 = Sunday .. 7 = Saturday) or DAYOFYEAR (1..366). */
static int64_t ts_day_of(int64_t ms, bool of_year)
{
    int64_t r, y, dow;
    unsigned m, d;
    int64_t days = floordiv(ms, TIDE_TS_MS_PER_DAY, &r);
    if (!of_year) {
        floordiv(days + 3, 7, &dow); /* 1970-01-01 was a Thursday: Monday = 0 */
        return (dow + 1) % 7 + 1;
    }
    tide_ts_civil_from_days(days, &y, &m, &d);
    return days - tide_ts_days_from_civil(y, 1, 1) + 1;
}

/* Read exactly `w` digits at s[*i] (w 0: 1 or 2 digits, as many as there
 * are).  false when they are not there. */
static bool take_digits(const char *s, uint32_t n, uint32_t *i, unsigned w, int64_t *out)
{
    unsigned lo = w ? w : 1, hi = w ? w : 2, k = 0;
    int64_t v = 0;
    while (k < hi && *i + k < n && s[*i + k] >= '0' && s[*i + k] <= '9') {
        v = v * 10 + (s[*i + k] - '0');
        k++;
    }
    if (k < lo)
        return false;
    *i += k;
    *out = v;
    return true;
}

/* Fields to an instant; false when one is out of range. */
static bool civil_ms(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t sec, int64_t ms, int64_t *out)
{
    if (mo < 1 || mo > 12 || d < 1 || d > tide_ts_days_in_month(y, (unsigned)mo) || h > 23 || mi > 59 || sec > 59)
        return false;
    *out = tide_ts_days_from_civil(y, (unsigned)mo, (unsigned)d) * TIDE_TS_MS_PER_DAY + h * TIDE_TS_MS_PER_HOUR +
           mi * TIDE_TS_MS_PER_MINUTE + sec * 1000 + ms;
    return true;
}

/* TO_TIMESTAMP's default form, Flink's: yyyy-M[M]-d[d] and optionally
 * ' ' H[H]:m[m]:s[s] with an optional fraction of 1 to 9 digits
 * (truncated to milliseconds). */
static bool parse_default_ts(tide_str t, int64_t *out)
{
    const char *s = t.ptr;
    uint32_t n = t.len, i = 0;
    int64_t y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    if (!take_digits(s, n, &i, 4, &y) || i >= n || s[i++] != '-' || !take_digits(s, n, &i, 0, &mo) || i >= n ||
        s[i++] != '-' || !take_digits(s, n, &i, 0, &d))
        return false;
    if (i < n) {
        if (s[i++] != ' ' || !take_digits(s, n, &i, 0, &h) || i >= n || s[i++] != ':' ||
            !take_digits(s, n, &i, 0, &mi) || i >= n || s[i++] != ':' || !take_digits(s, n, &i, 0, &sec))
            return false;
        if (i < n) {
            if (s[i++] != '.')
                return false;
            uint32_t k = 0;
            for (; i < n && s[i] >= '0' && s[i] <= '9' && k < 9; i++, k++)
                if (k < 3)
                    ms = ms * 10 + (s[i] - '0');
            if (k == 0)
                return false;
            for (; k < 3; k++)
                ms *= 10;
        }
    }
    return i == n && civil_ms(y, mo, d, h, mi, sec, ms, out);
}

/* A text in the form of a compiled pattern (compile_fmt's items): yyyy 4
 * digits, MM dd HH mm ss 2, SSS 3, text exactly; fields not in the pattern
 * are 1970-01-01 00:00:00.000's. */
static bool parse_fmt_ts(const tide_expr *x, tide_str t, int64_t *out)
{
    const char *s = t.ptr;
    uint32_t n = t.len, i = 0;
    int64_t f[F_MILLI + 1] = {0};
    f[F_YEAR] = 1970;
    f[F_MONTH] = f[F_DAY] = 1;
    for (uint32_t k = 0; k < x->nfmt; k++) {
        const fmt_item *it = &x->fmt[k];
        if (it->kind == F_TEXT) {
            if (n - i < it->len || memcmp(s + i, x->text + it->off, it->len) != 0)
                return false;
            i += it->len;
            continue;
        }
        unsigned w = it->kind == F_YEAR ? 4 : it->kind == F_MILLI ? 3 : 2;
        if (!take_digits(s, n, &i, w, &f[it->kind]))
            return false;
    }
    return i == n &&
           civil_ms(f[F_YEAR], f[F_MONTH], f[F_DAY], f[F_HOUR], f[F_MINUTE], f[F_SECOND], f[F_MILLI], out);
}

static void ev_tsparse(tide_expr *x, uint32_t n)
{
    const tide_expr_vec *a = &x->kids[0]->res;
    memcpy(x->nulls, a->nulls, n);
    int64_t *r = x->vals;
    for (uint32_t i = 0; i < n; i++) {
        if (x->nulls[i])
            continue;
        int64_t ms = 0;
        bool ok = x->nfmt ? parse_fmt_ts(x, a->v.s[i], &ms) : parse_default_ts(a->v.s[i], &ms);
        if (x->op == TSP_SECONDS)
            r[i] = ok ? ms / 1000 : INT64_MIN; /* Flink: Long.MIN_VALUE when it does not parse */
        else if (ok)
            r[i] = ms;
        else
            x->nulls[i] = 1;
    }
}

static void ev_epoch(tide_expr *x, uint32_t n, const uint8_t *active)
{
    const tide_expr_vec *a = &x->kids[0]->res;
    memcpy(x->nulls, a->nulls, n);
    int64_t *r = x->vals;
    for (uint32_t i = 0; i < n; i++) {
        if (x->nulls[i])
            continue;
        if (__builtin_mul_overflow(a->v.i64[i], (int64_t)x->op, &r[i]) || !tide_ts_valid(r[i])) {
            r[i] = 0;
            row_fault(x, active, i, "TIMESTAMP out of range (" TIDE_TS_RANGE_WHY ")");
        }
    }
}

static int64_t unit_fixed_ms(tide_ts_unit u)
{
    switch (u) {
    case TIDE_TS_UNIT_MILLISECOND: return 1;
    case TIDE_TS_UNIT_SECOND: return TIDE_TS_MS_PER_SECOND;
    case TIDE_TS_UNIT_MINUTE: return TIDE_TS_MS_PER_MINUTE;
    case TIDE_TS_UNIT_HOUR: return TIDE_TS_MS_PER_HOUR;
    case TIDE_TS_UNIT_DAY: return TIDE_TS_MS_PER_DAY;
    case TIDE_TS_UNIT_WEEK: return 7 * TIDE_TS_MS_PER_DAY;
    default: return 0; /* MONTH, QUARTER, YEAR: calendar */
    }
}

static int64_t unit_months(tide_ts_unit u) { return u == TIDE_TS_UNIT_YEAR ? 12 : u == TIDE_TS_UNIT_QUARTER ? 3 : 1; }

/* Day `days` plus `months` calendar months, the day of month clamped to
 * the new month's last (Jan 31 + 1 month = Feb 28/29).  false when the
 * year leaves +-1,000,000. */
static bool add_months_days(int64_t days, int64_t months, int64_t *out)
{
    int64_t y, idx;
    unsigned m, d;
    tide_ts_civil_from_days(days, &y, &m, &d);
    if (months > 12000000 || months < -12000000)
        return false;
    idx = y * 12 + (m - 1) + months;
    int64_t rem, ny = floordiv(idx, 12, &rem);
    if (ny > 1000000 || ny < -1000000)
        return false;
    unsigned nm = (unsigned)rem + 1, last = tide_ts_days_in_month(ny, nm);
    *out = tide_ts_days_from_civil(ny, nm, d < last ? d : last);
    return true;
}

static void ev_tsadd(tide_expr *x, uint32_t n, const uint8_t *active)
{
    const tide_expr_vec *a = &x->kids[0]->res, *t = &x->kids[1]->res;
    or_nulls(x->nulls, a->nulls, t->nulls, n);
    int64_t *r = x->vals, step = unit_fixed_ms(x->unit);
    for (uint32_t i = 0; i < n; i++) {
        if (x->nulls[i])
            continue;
        bool ok;
        if (step) {
            int64_t d;
            ok = !__builtin_mul_overflow(a->v.i64[i], step, &d) && !__builtin_add_overflow(t->v.i64[i], d, &r[i]);
        } else {
            int64_t months, rem, days = floordiv(t->v.i64[i], TIDE_TS_MS_PER_DAY, &rem), nd;
            ok = !__builtin_mul_overflow(a->v.i64[i], unit_months(x->unit), &months) &&
                 add_months_days(days, months, &nd);
            if (ok)
                r[i] = nd * TIDE_TS_MS_PER_DAY + rem;
        }
        if (!ok || !tide_ts_valid(r[i])) {
            r[i] = 0;
            row_fault(x, active, i, "TIMESTAMP out of range (" TIDE_TS_RANGE_WHY ")");
        }
    }
}

/* Whole months from day d1 to day d0 (Calcite's subtractMonths, which
 * Flink's TIMESTAMPDIFF uses). */
static int64_t months_between_days(int64_t d0, int64_t d1)
{
    if (d0 < d1)
        return -months_between_days(d1, d0);
    int64_t m = (d0 - d1) / 31, d2 = 0, d3 = 0;
    for (;;) {
        if (!add_months_days(d1, m, &d2) || d2 >= d0)
            return m;
        if (!add_months_days(d1, m + 1, &d3) || d3 > d0)
            return m;
        m++;
    }
}

/* Months from t1 to t0, then less one when t0's day is reached but not
 * its time of day (Calcite's subtractMonths(long, long)). */
static int64_t months_between(int64_t t0, int64_t t1)
{
    int64_t ms0, ms1, d0 = floordiv(t0, TIDE_TS_MS_PER_DAY, &ms0), d1 = floordiv(t1, TIDE_TS_MS_PER_DAY, &ms1), d2 = 0;
    int64_t x = months_between_days(d0, d1);
    if (add_months_days(d1, x, &d2) && d2 == d0 && ms0 < ms1)
        x--;
    return x;
}

static void ev_tsdiff(tide_expr *x, uint32_t n)
{
    const tide_expr_vec *a = &x->kids[0]->res, *b = &x->kids[1]->res;
    or_nulls(x->nulls, a->nulls, b->nulls, n);
    int64_t *r = x->vals, step = unit_fixed_ms(x->unit);
    for (uint32_t i = 0; i < n; i++) {
        if (x->nulls[i])
            continue;
        int64_t d;
        if (!step)
            r[i] = months_between(b->v.i64[i], a->v.i64[i]) / unit_months(x->unit);
        else if (__builtin_sub_overflow(b->v.i64[i], a->v.i64[i], &d))
            x->nulls[i] = 1; /* (TIMESTAMP values are in range: never) */
        else
            r[i] = d / step; /* toward zero, as Java's long division */
    }
}

static char *put_n(char *p, unsigned v, int width)
{
    for (int k = width - 1; k >= 0; k--) {
        p[k] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

static int ev_datefmt(tide_expr *x, uint32_t n, tide_err *e)
{
    const tide_expr_vec *a = &x->kids[0]->res;
    memcpy(x->nulls, a->nulls, n);
    size_t per = x->fmt_max ? x->fmt_max : 1;
    char *buf = sbuf(x, (size_t)n * per, e);
    if (!buf)
        return TIDE_ENOMEM;
    tide_str *r = x->vals;
    for (uint32_t i = 0; i < n; i++) {
        char *p0 = buf + (size_t)i * per, *p = p0;
        if (x->nulls[i]) {
            r[i] = (tide_str){p0, 0};
            continue;
        }
        int64_t ms = a->v.i64[i], rem, y;
        unsigned m, d;
        int64_t days = floordiv(ms, TIDE_TS_MS_PER_DAY, &rem);
        tide_ts_civil_from_days(days, &y, &m, &d);
        unsigned sod = (unsigned)(rem / 1000);
        for (uint32_t k = 0; k < x->nfmt; k++) {
            const fmt_item *f = &x->fmt[k];
            switch (f->kind) {
            case F_TEXT:
                memcpy(p, x->text + f->off, f->len);
                p += f->len;
                break;
            case F_YEAR: {
                char tmp[24];
                int nd = 0;
                uint64_t uy = y < 0 ? 0 - (uint64_t)y : (uint64_t)y;
                do {
                    tmp[nd++] = (char)('0' + uy % 10);
                    uy /= 10;
                } while (uy);
                while (nd < 4)
                    tmp[nd++] = '0';
                if (y < 0)
                    *p++ = '-';
                while (nd)
                    *p++ = tmp[--nd];
                break;
            }
            case F_MONTH:
                p = put_n(p, m, 2);
                break;
            case F_DAY:
                p = put_n(p, d, 2);
                break;
            case F_HOUR:
                p = put_n(p, sod / 3600, 2);
                break;
            case F_MINUTE:
                p = put_n(p, sod / 60 % 60, 2);
                break;
            case F_SECOND:
                p = put_n(p, sod % 60, 2);
                break;
            case F_MILLI:
                p = put_n(p, (unsigned)(rem % 1000), 3);
                break;
            }
        }
        r[i] = (tide_str){p0, (uint32_t)(p - p0)};
    }
    return 0;
}

/* ---- CASE, COALESCE, AND/OR: the lazily evaluated operands ---- */

/* dst[i] = src[i] where take[i] (values of type t). */
static void take_rows(tide_type t, void *dst, uint8_t *dn, const tide_expr_vec *src, const uint8_t *take, uint32_t n)
{
    switch (val_size(t)) {
    case 1: {
        uint8_t *d = dst;
        for (uint32_t i = 0; i < n; i++)
            if (take[i])
                d[i] = src->v.b[i] != 0, dn[i] = src->nulls[i] != 0;
        break;
    }
    case 8: {
        int64_t *d = dst;
        const int64_t *s = src->v.any;
        for (uint32_t i = 0; i < n; i++)
            if (take[i])
                d[i] = s[i], dn[i] = src->nulls[i] != 0;
        break;
    }
    case 16: {
        tide_i128 *d = dst;
        const tide_i128 *s = src->v.d;
        for (uint32_t i = 0; i < n; i++)
            if (take[i])
                d[i] = s[i], dn[i] = src->nulls[i] != 0;
        break;
    }
    default: {
        tide_str *d = dst;
        for (uint32_t i = 0; i < n; i++)
            if (take[i])
                d[i] = src->v.s[i], dn[i] = src->nulls[i] != 0;
        break;
    }
    }
}

static void mask_and(uint8_t *out, const uint8_t *active, const uint8_t *m, uint32_t n)
{
    if (active)
        for (uint32_t i = 0; i < n; i++)
            out[i] = active[i] & m[i];
    else if (out != m)
        memcpy(out, m, n);
}

static int ev_case(tide_expr *x, const tide_cbatch *in, uint32_t n, const uint8_t *active, tide_err *e)
{
    uint32_t nw = (x->nkids - (x->has_else ? 1 : 0)) / 2;
    uint8_t *undecided = x->m1, *mask = x->m2, *take = x->m3;
    memset(undecided, 1, n);
    memset(x->nulls, 1, n); /* no branch taken and no ELSE: NULL */
    memset(x->vals, 0, (size_t)n * val_size(x->type));
    for (uint32_t k = 0; k < nw; k++) {
        mask_and(mask, active, undecided, n); /* rows that reach this WHEN */
        int rc = ev(x->kids[k], in, n, mask, e);
        if (rc)
            return rc;
        const tide_expr_vec *c = &x->kids[k]->res;
        for (uint32_t i = 0; i < n; i++)
            take[i] = undecided[i] & !c->nulls[i] & (c->v.b[i] != 0); /* rows of this THEN */
        mask_and(mask, active, take, n);
        if ((rc = ev(x->kids[nw + k], in, n, mask, e)))
            return rc;
        take_rows(x->type, x->vals, x->nulls, &x->kids[nw + k]->res, take, n);
        for (uint32_t i = 0; i < n; i++)
            undecided[i] &= (uint8_t)!take[i];
    }
    if (x->has_else) {
        mask_and(mask, active, undecided, n);
        int rc = ev(x->kids[2 * nw], in, n, mask, e);
        if (rc)
            return rc;
        take_rows(x->type, x->vals, x->nulls, &x->kids[2 * nw]->res, undecided, n);
    }
    return 0;
}

static int ev_coalesce(tide_expr *x, const tide_cbatch *in, uint32_t n, const uint8_t *active, tide_err *e)
{
    uint8_t *mask = x->m1;
    memset(x->nulls, 1, n);
    memset(x->vals, 0, (size_t)n * val_size(x->type));
    for (uint32_t k = 0; k < x->nkids; k++) {
        mask_and(mask, active, x->nulls, n); /* rows still NULL */
        int rc = ev(x->kids[k], in, n, mask, e);
        if (rc)
            return rc;
        /* take the kid where the result is still NULL (x->nulls is the
         * take mask and is overwritten row by row: copy it first) */
        memcpy(mask, x->nulls, n);
        take_rows(x->type, x->vals, x->nulls, &x->kids[k]->res, mask, n);
    }
    return 0;
}

static int ev_logic(tide_expr *x, const tide_cbatch *in, uint32_t n, const uint8_t *active, tide_err *e)
{
    int rc = ev(x->kids[0], in, n, active, e);
    if (rc)
        return rc;
    const tide_expr_vec *a = &x->kids[0]->res;
    uint8_t *mask = x->m1;
    /* the right side matters where the left is not decisive */
    uint8_t decisive = x->op == TIDE_EXPR_OR; /* OR: TRUE decides; AND: FALSE */
    for (uint32_t i = 0; i < n; i++)
        mask[i] = (uint8_t)((active ? active[i] : 1) & !(!a->nulls[i] & ((a->v.b[i] != 0) == decisive)));
    if ((rc = ev(x->kids[1], in, n, mask, e)))
        return rc;
    const tide_expr_vec *b = &x->kids[1]->res;
    if (x->op == TIDE_EXPR_AND)
        and3(a->v.b, a->nulls, b->v.b, b->nulls, x->vals, x->nulls, n);
    else
        or3(a->v.b, a->nulls, b->v.b, b->nulls, x->vals, x->nulls, n);
    return 0;
}

static void ev_is(tide_expr *x, uint32_t n)
{
    const tide_expr_vec *a = &x->kids[0]->res;
    uint8_t *r = x->vals;
    memset(x->nulls, 0, n);
    const uint8_t *an = a->nulls;
    switch (x->op) {
    case TIDE_EXPR_IS_NULL:
        for (uint32_t i = 0; i < n; i++)
            r[i] = an[i] != 0;
        break;
    case TIDE_EXPR_IS_NOT_NULL:
        for (uint32_t i = 0; i < n; i++)
            r[i] = an[i] == 0;
        break;
    case TIDE_EXPR_IS_TRUE:
        for (uint32_t i = 0; i < n; i++)
            r[i] = !an[i] & (a->v.b[i] != 0);
        break;
    case TIDE_EXPR_IS_NOT_TRUE:
        for (uint32_t i = 0; i < n; i++)
            r[i] = !(!an[i] & (a->v.b[i] != 0));
        break;
    case TIDE_EXPR_IS_FALSE:
        for (uint32_t i = 0; i < n; i++)
            r[i] = !an[i] & (a->v.b[i] == 0);
        break;
    default:
        for (uint32_t i = 0; i < n; i++)
            r[i] = !(!an[i] & (a->v.b[i] == 0));
        break;
    }
}

static int ev(tide_expr *x, const tide_cbatch *in, uint32_t n, const uint8_t *active, tide_err *e)
{
    int rc;
    if (x->kind == K_COL) {
        if (x->col >= tide_cbatch_ncols(in) || tide_cbatch_type(in, x->col) != x->type)
            return tide_err_set(e, TIDE_EINVAL, "expression column %u: batch column is %s, expected %s", x->col,
                                x->col < tide_cbatch_ncols(in) ? tide_type_name(tide_cbatch_type(in, x->col))
                                                               : "missing",
                                tide_type_name(x->type));
        x->res.type = x->type;
        x->res.rows = n;
        x->res.nulls = tide_cbatch_nulls(in, x->col);
        switch (tide_type_base(x->type)) {
        case TIDE_TYPE_DECIMAL:
            x->res.v.d = tide_cbatch_col_dec(in, x->col);
            break;
        case TIDE_TYPE_BOOLEAN:
            x->res.v.b = (const uint8_t *)(const void *)tide_cbatch_col_bool(in, x->col);
            break;
        case TIDE_TYPE_DOUBLE:
            x->res.v.f64 = tide_cbatch_col_f64(in, x->col);
            break;
        case TIDE_TYPE_STRING:
            x->res.v.s = tide_cbatch_col_str(in, x->col);
            break;
        default:
            x->res.v.i64 = tide_cbatch_col_i64(in, x->col);
            break;
        }
        return 0;
    }
    if ((rc = ensure_cap(x, n, e)))
        return rc;
    set_res(x, n);
    switch (x->kind) {
    case K_LIT:
        return 0;
    case K_CASE:
        return ev_case(x, in, n, active, e);
    case K_COALESCE:
        return ev_coalesce(x, in, n, active, e);
    case K_LOGIC:
        return ev_logic(x, in, n, active, e);
    default:
        break;
    }
    if ((rc = ev_kids(x, in, n, active, e)))
        return rc;
    switch (x->kind) {
    case K_ARITH:
        ev_arith(x, n, active);
        break;
    case K_NEG:
        ev_neg(x, n, active);
        break;
    case K_CMP:
        if (x->op == TIDE_EXPR_IS_DISTINCT || x->op == TIDE_EXPR_IS_NOT_DISTINCT)
            ev_distinct(x, n);
        else
            cmp_nodes(x->op, x->kids[0], x->kids[1], x->vals, x->nulls, n);
        break;
    case K_NOT: {
        const tide_expr_vec *a = &x->kids[0]->res;
        uint8_t *r = x->vals;
        memcpy(x->nulls, a->nulls, n);
        for (uint32_t i = 0; i < n; i++)
            r[i] = a->v.b[i] == 0;
        break;
    }
    case K_IS:
        ev_is(x, n);
        break;
    case K_BETWEEN:
        ev_between(x, n);
        break;
    case K_IN:
        ev_in(x, n);
        break;
    case K_LIKE:
        ev_like(x, n);
        break;
    case K_CAST:
        return ev_cast(x, in, n, active, e);
    case K_CONCAT:
        return ev_concat(x, n, e);
    case K_STRFN:
        return ev_strfn(x, n, e);
    case K_SUBSTR:
        ev_substr(x, n);
        break;
    case K_TRIM:
        ev_trim(x, n);
        break;
    case K_FLOOR:
    case K_EXTRACT:
        ev_floor(x, n, active);
        break;
    case K_DATEFMT:
        return ev_datefmt(x, n, e);
    case K_TSPARSE:
        ev_tsparse(x, n);
        break;
    case K_EPOCH:
        ev_epoch(x, n, active);
        break;
    case K_TSADD:
        ev_tsadd(x, n, active);
        break;
    case K_TSDIFF:
        ev_tsdiff(x, n);
        break;
    case K_NOW: {
        /* one reading of the clock for the whole batch */
        int64_t now = tide_clock_now_ms(x->clock), r;
        if (x->op == TIDE_EXPR_NOW_DATE)
            now -= (r = now % TIDE_TS_MS_PER_DAY) < 0 ? r + TIDE_TS_MS_PER_DAY : r;
        else if (x->op == TIDE_EXPR_NOW_SECONDS)
            now = now / 1000;
        int64_t *v = x->vals;
        memset(x->nulls, 0, n);
        for (uint32_t i = 0; i < n; i++)
            v[i] = now;
        break;
    }
    default:
        break;
    }
    return 0;
}

static void point_faults(tide_expr *x, struct fault_rec *f)
{
    x->fr = f;
    for (uint32_t k = 0; k < x->nkids; k++)
        point_faults(x->kids[k], f);
}

/* Make x the root of a fault record for n rows (cleared). */
static int faults_begin(tide_expr *x, uint32_t n, tide_err *e)
{
    struct fault_rec *f = &x->own_fr;
    if (f->cap < n) {
        uint32_t cap = n > 64 ? n : 64;
        uint8_t *r = calloc(cap, 1);
        if (!r)
            return nomem(e);
        free(f->rows);
        f->rows = r;
        f->cap = cap;
        f->count = 0;
    } else if (f->count) {
        memset(f->rows, 0, f->cap);
    }
    f->count = 0;
    f->why[0] = 0;
    point_faults(x, f); /* (a walk of the tree: cheap next to a batch) */
    return 0;
}

int tide_expr_eval(tide_expr *x, const tide_cbatch *in, const uint32_t *sel, uint32_t nsel,
                   const tide_expr_vec **out, tide_err *e)
{
    int rc;
    uint32_t n = tide_cbatch_rows(in);
    const uint8_t *active = NULL;
    if (sel) {
        if (x->selcap < n || !x->selmask) {
            uint32_t cap = n > 64 ? n : 64;
            uint8_t *m = malloc(cap);
            if (!m)
                return nomem(e);
            free(x->selmask);
            x->selmask = m;
            x->selcap = cap;
        }
        memset(x->selmask, 0, n);
        for (uint32_t i = 0; i < nsel; i++)
            if (sel[i] < n)
                x->selmask[sel[i]] = 1;
        active = x->selmask;
    }
    if ((rc = faults_begin(x, n, e)) != 0)
        return rc;
    rc = ev(x, in, n, active, e);
    if (rc)
        return rc;
    *out = &x->res;
    return 0;
}

uint32_t tide_expr_faults(const tide_expr *x, const uint8_t **rows, const char **why)
{
    *rows = x->own_fr.count ? x->own_fr.rows : NULL;
    *why = x->own_fr.count ? x->own_fr.why : NULL;
    return x->own_fr.count;
}

int tide_expr_filter(tide_expr *pred, const tide_cbatch *in, uint32_t *sel, uint32_t *n, tide_err *e)
{
    *n = 0;
    if (pred->type != TIDE_TYPE_BOOLEAN)
        return tide_err_set(e, TIDE_EINVAL, "WHERE needs a BOOLEAN expression, not %s", tname(pred));
    const tide_expr_vec *v;
    int rc = tide_expr_eval(pred, in, NULL, 0, &v, e);
    if (rc)
        return rc;
    uint32_t rows = v->rows, k = 0;
    const uint8_t *b = v->v.b, *nl = v->nulls;
    for (uint32_t i = 0; i < rows; i++) {
        sel[k] = i;
        k += (uint32_t)(!nl[i] & (b[i] != 0));
    }
    if (pred->own_fr.count) { /* failed rows never pass (`x * y IS NULL` is TRUE there) */
        uint32_t m = 0;
        for (uint32_t i = 0; i < k; i++)
            if (!pred->own_fr.rows[sel[i]])
                sel[m++] = sel[i];
        k = m;
    }
    *n = k;
    return 0;
}

static bool same_slot(tide_type a, tide_type b)
{
    if (a == TIDE_TYPE_TIMESTAMP)
        a = TIDE_TYPE_BIGINT;
    if (b == TIDE_TYPE_TIMESTAMP)
        b = TIDE_TYPE_BIGINT;
    return a == b;
}

/* Append the evaluated rows that no expression failed on, one by one. */
static int project_rows(tide_expr *const *exprs, uint32_t n, const tide_cbatch *in, const uint32_t *sel,
                        uint32_t nsel, tide_cbatch *out, tide_err *e)
{
    uint32_t rows = sel ? nsel : tide_cbatch_rows(in);
    bool ops = tide_cbatch_has_ops(in) && tide_cbatch_has_ops(out);
    bool pos = tide_cbatch_has_pos(in) && tide_cbatch_has_pos(out);
    for (uint32_t k = 0; k < rows; k++) {
        uint32_t src = sel ? sel[k] : k, dst;
        bool bad = false;
        for (uint32_t j = 0; j < n && !bad; j++)
            bad = exprs[j]->own_fr.count && exprs[j]->own_fr.rows[src];
        if (bad)
            continue;
        if (tide_cbatch_add_row(out, &dst) != 0)
            return tide_err_set(e, TIDE_ERANGE, "projection output batch is full");
        if (ops)
            tide_cbatch_set_op(out, dst, tide_cbatch_op(in, src));
        if (pos)
            tide_cbatch_set_pos(out, dst, tide_cbatch_pos(in, src));
        for (uint32_t j = 0; j < n; j++) {
            const tide_expr_vec *v = &exprs[j]->res;
            if (v->nulls[src])
                continue;
            switch (tide_type_base(v->type)) {
            case TIDE_TYPE_DECIMAL: tide_cbatch_set_dec(out, j, dst, v->v.d[src]); break;
            case TIDE_TYPE_BOOLEAN: tide_cbatch_set_bool(out, j, dst, v->v.b[src] != 0); break;
            case TIDE_TYPE_DOUBLE: tide_cbatch_set_f64(out, j, dst, v->v.f64[src]); break;
            case TIDE_TYPE_STRING: {
                int rc = tide_cbatch_set_str(out, j, dst, v->v.s[src].ptr, v->v.s[src].len, e);
                if (rc)
                    return rc;
                break;
            }
            case TIDE_TYPE_NULL: break;
            default: tide_cbatch_set_i64(out, j, dst, v->v.i64[src]); break;
            }
        }
    }
    return 0;
}

bool tide_expr_can_fail(const tide_expr *x)
{
    if (!x)
        return false;
    if (((x->kind == K_ARITH || x->kind == K_NEG) && x->type != TIDE_TYPE_DOUBLE && !is_dec(x->type)) ||
        x->kind == K_FLOOR ||
        x->kind == K_EPOCH || x->kind == K_TSADD)
        return true;
    for (uint32_t i = 0; i < x->nkids; i++)
        if (tide_expr_can_fail(x->kids[i]))
            return true;
    return false;
}

int tide_expr_project(tide_expr *const *exprs, uint32_t n, const tide_cbatch *in, const uint32_t *sel,
                      uint32_t nsel, tide_cbatch *out, tide_err *e)
{
    uint32_t rows = sel ? nsel : tide_cbatch_rows(in);
    if (tide_cbatch_ncols(out) != n)
        return tide_err_set(e, TIDE_EINVAL, "projection of %u expressions into a batch of %u columns", n,
                            tide_cbatch_ncols(out));
    for (uint32_t j = 0; j < n; j++)
        if (!same_slot(exprs[j]->type, tide_cbatch_type(out, j)))
            return tide_err_set(e, TIDE_EINVAL, "projection column %u: expression is %s, output column is %s", j,
                                tname(exprs[j]), tide_type_name(tide_cbatch_type(out, j)));
    if ((uint64_t)tide_cbatch_rows(out) + rows > tide_cbatch_capacity(out))
        return tide_err_set(e, TIDE_ERANGE, "projection of %u rows does not fit (%u of %u rows used)", rows,
                            tide_cbatch_rows(out), tide_cbatch_capacity(out));
    if (rows == 0)
        return 0;
    /* evaluate first, so an error appends nothing */
    const tide_expr_vec *v;
    bool failed = false;
    for (uint32_t j = 0; j < n; j++) {
        int rc = tide_expr_eval(exprs[j], in, sel, nsel, &v, e);
        if (rc)
            return rc;
        failed |= exprs[j]->own_fr.count != 0;
    }
    if (failed) /* drop the rows that failed anywhere: the slow path */
        return project_rows(exprs, n, in, sel, nsel, out, e);
    uint32_t base = tide_cbatch_rows(out), r = 0;
    bool ops = tide_cbatch_has_ops(in) && tide_cbatch_has_ops(out);
    bool pos = tide_cbatch_has_pos(in) && tide_cbatch_has_pos(out);
    for (uint32_t k = 0; k < rows; k++) {
        uint32_t src = sel ? sel[k] : k;
        if (tide_cbatch_add_row(out, &r) != 0)
            return tide_err_set(e, TIDE_ERANGE, "projection output batch is full");
        if (ops)
            tide_cbatch_set_op(out, r, tide_cbatch_op(in, src));
        if (pos)
            tide_cbatch_set_pos(out, r, tide_cbatch_pos(in, src));
    }
    for (uint32_t j = 0; j < n; j++) {
        v = &exprs[j]->res;
        for (uint32_t k = 0; k < rows; k++) {
            uint32_t src = sel ? sel[k] : k, dst = base + k;
            if (v->nulls[src])
                continue; /* add_row left it NULL */
            switch (tide_type_base(v->type)) {
            case TIDE_TYPE_DECIMAL:
                tide_cbatch_set_dec(out, j, dst, v->v.d[src]);
                break;
            case TIDE_TYPE_BOOLEAN:
                tide_cbatch_set_bool(out, j, dst, v->v.b[src] != 0);
                break;
            case TIDE_TYPE_DOUBLE:
                tide_cbatch_set_f64(out, j, dst, v->v.f64[src]);
                break;
            case TIDE_TYPE_STRING: {
                int rc = tide_cbatch_set_str(out, j, dst, v->v.s[src].ptr, v->v.s[src].len, e);
                if (rc)
                    return rc;
                break;
            }
            case TIDE_TYPE_NULL:
                break;
            default:
                tide_cbatch_set_i64(out, j, dst, v->v.i64[src]);
                break;
            }
        }
    }
    return 0;
}

bool tide_expr_reads_col(const tide_expr *x, uint32_t col)
{
    if (!x)
        return false;
    if (x->kind == K_COL)
        return x->col == col;
    for (uint32_t i = 0; i < x->nkids; i++)
        if (tide_expr_reads_col(x->kids[i], col))
            return true;
    return false;
}

int64_t tide_expr_column_of(const tide_expr *x)
{
    return x && x->kind == K_COL ? (int64_t)x->col : -1;
}
