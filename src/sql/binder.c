/*
 * binder.c - name resolution, type checking and logical planning.
 *
 * One pass per statement.  A FROM clause becomes a `rel`: a plan node plus
 * the qualifier of each of its columns (the table name or alias a column
 * can be named through).  Expressions are bound against a rel into
 * tide_sql_bexpr trees whose column references index the rel's columns.
 *
 * Aggregation.  A SELECT with GROUP BY, aggregate calls or DISTINCT binds
 * its WHERE and GROUP BY against the FROM rel, then its select items and
 * HAVING "above" the aggregation: a subexpression equal to a GROUP BY item
 * (same resolved column, or the same canonical SQL text) becomes a
 * reference to that key's output column, an aggregate call binds its
 * argument against the FROM rel and becomes a reference to the aggregate's
 * output column, and any other column is an error.  When the FROM item is
 * a window TVF and the GROUP BY holds its window_start and window_end, the
 * TVF and the aggregation fuse into one WindowAggregate (the TVF's input
 * columns keep their indexes, so bound expressions carry over unchanged).
 *
 * Errors: the first one wins; every function returns NULL (or a code) once
 * b->rc is set, and callers stop.  All memory comes from the program arena,
 * so there is nothing to unwind.
 */
#include "sql/binder.h"

#include "data/timefmt.h"
#include "exec/expr.h"
#include "log/topic.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct cte_env cte_env;
struct cte_env {
    const tide_sql_cte *cte;
    cte_env *next; /* outer / earlier */
};

typedef struct binder {
    tide_sql_catalog *cat;
    tide_sql_program *prog;
    tide_sql_error *err;
    int rc;
    uint32_t view_depth;
    uint32_t depth;          /* bind_query nesting, views and CTEs included */
    size_t nalloc;           /* allocations for the current statement */
    tide_sql_pos stmt_pos;
    tide_buf tmp1, tmp2; /* scratch for expression text comparison */
    struct overctx *over; /* binding a select list over an OVER node */
    int64_t state_ttl;    /* SET 'table.exec.state.ttl' (ms; 0: none), for the statements after it */
    tide_sql_agg_phase agg_phase; /* SET 'table.optimizer.agg-phase-strategy', likewise */
    tide_sql_script *script; /* the script bound: conditions the binder writes (subqueries) live there */
    /* the SELECT being bound has a legacy group window (GROUP BY
     * TUMBLE(ts, ...)): its call, for TUMBLE_START(ts, ...) and the like */
    const tide_sql_expr *legacy;
    tide_sql_window_kind legacy_kind;
    /* binding one grouping set of GROUPING SETS / ROLLUP / CUBE */
    const struct gsctx *gs;
} binder;

/* A grouping set being bound: every GROUP BY key of all the sets, and
 * which of them this set groups by (the others are NULL in its rows). */
typedef struct gsctx {
    const tide_sql_expr **keys;
    uint32_t nkeys;
    const bool *in;
} gsctx;

/* A relation in scope: a plan and one qualifier per column (NULL: none). */
typedef struct rel {
    tide_sql_plan *plan;
    const char **quals;
} rel;

/* Aggregation context for binding above a GROUP BY. */
typedef struct aggctx {
    const rel *in;            /* the aggregation's input */
    tide_sql_bexpr **keys;    /* bound over `in` */
    uint32_t nkeys;
    int64_t win_in;           /* windowed: index in `in` of window_start (then end, time); -1 */
    tide_sql_aggcall *aggs;
    uint32_t naggs, cap;
    uint32_t agg_base;        /* output index of aggregate 0 */
    tide_sql_col *out_cols;   /* the aggregation's output columns, filled as we go */
} aggctx;

/* OVER windows of one select list: the node they become. */
typedef struct overctx {
    const rel *in;                /* the OVER node's input */
    const tide_sql_select *sel;   /* its WINDOW clause */
    tide_sql_plan *node;
    const tide_sql_over *spec;    /* the window of the first call */
    const tide_sql_expr *first;   /* that call */
    uint32_t cap;
} overctx;

/* ---- errors ---- */

static void *fail(binder *b, int code, tide_sql_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void *fail(binder *b, int code, tide_sql_pos pos, const char *fmt, ...)
{
    if (b->rc)
        return NULL;
    b->rc = code;
    if (b->err) {
        b->err->code = code;
        b->err->line = pos.line ? pos.line : 1;
        b->err->col = pos.col ? pos.col : 1;
        b->err->off = pos.off;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->err->msg, sizeof b->err->msg, fmt, ap);
        va_end(ap);
    }
    return NULL;
}

static void *nomem(binder *b)
{
    tide_sql_pos p = {1, 1, 0, 0};
    return fail(b, TIDE_ENOMEM, p, "out of memory");
}

/* Expanding views and WITH names inlines their queries at every reference,
 * so a short script can ask for an exponential plan: cap the work. */
#define BIND_MAX_ALLOCS 500000
#define BIND_MAX_DEPTH 1000

static void *bal(binder *b, size_t n)
{
    if (b->rc)
        return NULL;
    if (++b->nalloc > BIND_MAX_ALLOCS)
        return fail(b, TIDE_EUNSUPPORTED, b->stmt_pos,
                    "statement too large once its views and WITH queries are expanded");
    void *p = tide_arena_alloc(&b->prog->arena, n ? n : 1);
    if (!p)
        return nomem(b);
    memset(p, 0, n ? n : 1);
    return p;
}

static char *bstrdup(binder *b, const char *s)
{
    size_t n = strlen(s);
    char *p = bal(b, n + 1);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* " (did you mean 'x'?)" or "" */
static const char *hint(char *buf, size_t n, const tide_sql_suggest *s)
{
    const char *best = tide_sql_suggest_best(s);
    if (!best)
        return "";
    snprintf(buf, n, " (did you mean '%s'?)", best);
    return buf;
}

static const char *tname(tide_type t) { return tide_type_name(t); }

/* ---- types ---- */

static bool numeric(tide_type t)
{
    return t == TIDE_TYPE_BIGINT || t == TIDE_TYPE_DOUBLE || tide_type_is_decimal(t);
}

/* The common type of a and b, or TIDE_TYPE_COUNT if none (the expression
 * builder's rule, exec/expr.h). */
static tide_type common(tide_type a, tide_type b)
{
    return tide_expr_common_type(a, b);
}

/* An INT-sized integer literal (Flink types it INT: DECIMAL(10, 0) beside
 * a DECIMAL). */
static bool small_int(const tide_sql_bexpr *x)
{
    return x->kind != TIDE_SQL_BX_COLUMN && x->ast && x->ast->kind == TIDE_SQL_EXPR_INT &&
           x->ast->u.i64 >= INT32_MIN && x->ast->u.i64 <= INT32_MAX;
}

/* The DECIMAL(p, s) of a literal's text (digits and a point, no exponent:
 * Flink's exact numeric literal), or TIDE_TYPE_DOUBLE (an exponent, or more
 * than 38 digits). */
static tide_type dec_literal_type(const char *t, size_t n)
{
    unsigned digits = 0, frac = 0;
    bool point = false, lead = true;
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '.') {
            point = true;
            continue;
        }
        if (t[i] < '0' || t[i] > '9')
            return TIDE_TYPE_DOUBLE;
        if (point)
            frac++;
        if (lead && t[i] == '0' && !point)
            continue; /* leading zeros of the integer part do not count */
        lead = false;
        digits++;
    }
    if (digits < frac)
        digits = frac;
    if (digits == 0)
        digits = 1;
    if (digits > TIDE_DEC_MAX_PRECISION)
        return TIDE_TYPE_DOUBLE;
    return tide_type_decimal(digits, frac);
}

/* An INTERVAL literal's milliseconds; fails for MONTH/YEAR and overflow. */
static bool interval_ms(binder *b, const tide_sql_expr *e, int64_t *ms)
{
    int64_t u = tide_sql_unit_ms(e->u.interval.unit);
    if (!u) {
        fail(b, TIDE_EUNSUPPORTED, e->pos,
             "INTERVAL in %s is not supported (months and years have no fixed length)",
             tide_sql_unit_name(e->u.interval.unit));
        return false;
    }
    if (e->u.interval.count > INT64_MAX / u || e->u.interval.count < -(INT64_MAX / u)) {
        fail(b, TIDE_EINVAL, e->pos, "interval out of range");
        return false;
    }
    *ms = e->u.interval.count * u;
    return true;
}

/* ---- bound expressions ---- */

static tide_sql_bexpr *bx_new(binder *b, tide_sql_bx_kind kind, const tide_sql_expr *ast, tide_type t,
                              uint32_t nargs)
{
    tide_sql_bexpr *x = bal(b, sizeof *x);
    if (!x)
        return NULL;
    x->kind = kind;
    x->ast = ast;
    x->type = t;
    x->nargs = nargs;
    if (nargs && !(x->args = bal(b, nargs * sizeof *x->args)))
        return NULL;
    return x;
}

static tide_sql_bexpr *bx_col(binder *b, const tide_sql_expr *ast, uint32_t col, tide_type t)
{
    tide_sql_bexpr *x = bx_new(b, TIDE_SQL_BX_COLUMN, ast, t, 0);
    if (x)
        x->col = col;
    return x;
}

/* Whether x references a column >= from. */
static bool bx_uses_from(const tide_sql_bexpr *x, uint32_t from)
{
    if (!x)
        return false;
    if (x->kind == TIDE_SQL_BX_COLUMN)
        return x->col >= from;
    for (uint32_t i = 0; i < x->nargs; i++)
        if (bx_uses_from(x->args[i], from))
            return true;
    return false;
}

/* Whether x references column col. */
static bool bx_uses_col(const tide_sql_bexpr *x, uint32_t col)
{
    if (!x)
        return false;
    if (x->kind == TIDE_SQL_BX_COLUMN)
        return x->col == col;
    for (uint32_t i = 0; i < x->nargs; i++)
        if (bx_uses_col(x->args[i], col))
            return true;
    return false;
}

static bool bx_use_window(const tide_sql_bexpr *x, const tide_sql_plan *win)
{
    return bx_uses_from(x, win->input->ncols);
}

/* ---- names ---- */

static bool name_eq(const char *a, const char *b) { return a && b && strcasecmp(a, b) == 0; }

static const char *const agg_names[] = {"COUNT", "SUM", "MIN", "MAX", "AVG", "APPROX_COUNT_DISTINCT"};
static const char *const fn_names[] = {"UPPER", "LOWER", "CHAR_LENGTH", "SUBSTRING",
                                       "TRIM",  "COALESCE", "DATE_FORMAT"};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A function name as SQL shows it: upper case. */
static const char *fn_upper(char *buf, size_t n, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        buf[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
    buf[i] = 0;
    return buf;
}

static bool is_agg_name(const char *s)
{
    for (size_t i = 0; i < NELEM(agg_names); i++)
        if (name_eq(s, agg_names[i]))
            return true;
    return false;
}

/* The first call in e (not looking into subqueries: expressions hold
 * none) that is an aggregate (over: false; a call with OVER is not one) or
 * a window function (over: true), or NULL. */
static const tide_sql_expr *find_call(const tide_sql_expr *e, bool over)
{
    const tide_sql_expr *r = NULL;
    if (!e)
        return NULL;
    switch (e->kind) {
    case TIDE_SQL_EXPR_UNARY: return find_call(e->u.unary.arg, over);
    case TIDE_SQL_EXPR_BINARY:
        return (r = find_call(e->u.binary.left, over)) ? r : find_call(e->u.binary.right, over);
    case TIDE_SQL_EXPR_IS_NULL: return find_call(e->u.is_null.arg, over);
    case TIDE_SQL_EXPR_BETWEEN:
        if ((r = find_call(e->u.between.arg, over)) || (r = find_call(e->u.between.low, over)))
            return r;
        return find_call(e->u.between.high, over);
    case TIDE_SQL_EXPR_IN:
        if ((r = find_call(e->u.in.arg, over)))
            return r;
        for (uint32_t i = 0; i < e->u.in.n; i++)
            if ((r = find_call(e->u.in.list[i], over)))
                return r;
        return NULL;
    case TIDE_SQL_EXPR_LIKE:
        if ((r = find_call(e->u.like.arg, over)) || (r = find_call(e->u.like.pattern, over)))
            return r;
        return find_call(e->u.like.escape, over);
    case TIDE_SQL_EXPR_CALL:
        if (over ? e->u.call.over != NULL : (!e->u.call.over && is_agg_name(e->u.call.name.str)))
            return e;
        for (uint32_t i = 0; i < e->u.call.nargs; i++)
            if ((r = find_call(e->u.call.args[i], over)))
                return r;
        return NULL;
    case TIDE_SQL_EXPR_CAST: return find_call(e->u.cast.arg, over);
    case TIDE_SQL_EXPR_CASE:
        if ((r = find_call(e->u.case_.operand, over)) || (r = find_call(e->u.case_.else_, over)))
            return r;
        for (uint32_t i = 0; i < e->u.case_.nwhens; i++)
            if ((r = find_call(e->u.case_.whens[i].when, over)) || (r = find_call(e->u.case_.whens[i].then, over)))
                return r;
        return NULL;
    case TIDE_SQL_EXPR_FLOOR: return find_call(e->u.floor.arg, over);
    default: return NULL;
    }
}

static bool has_agg(const tide_sql_expr *e) { return find_call(e, false) != NULL; }

/* Resolve [qual.]name in r: the column index, or -1 with the error set. */
static int resolve(binder *b, const rel *r, const tide_sql_name *qual, const tide_sql_name *name,
                   tide_sql_pos pos)
{
    int found = -1;
    bool qual_seen = false;
    char h[96];
    for (uint32_t i = 0; i < r->plan->ncols; i++) {
        if (qual->str) {
            if (!name_eq(r->quals[i], qual->str))
                continue;
            qual_seen = true;
        }
        if (!name_eq(r->plan->cols[i].name, name->str))
            continue;
        if (found >= 0) {
            fail(b, TIDE_EINVAL, pos, "column '%s' is ambiguous (qualify it with a table name)",
                 name->str);
            return -1;
        }
        found = (int)i;
    }
    if (found >= 0)
        return found;
    tide_sql_suggest s;
    if (qual->str && !qual_seen) {
        tide_sql_suggest_init(&s, qual->str, qual->len);
        for (uint32_t i = 0; i < r->plan->ncols; i++)
            tide_sql_suggest_offer(&s, r->quals[i]);
        fail(b, TIDE_EINVAL, qual->pos, "unknown table or alias '%s'%s", qual->str,
             hint(h, sizeof h, &s));
        return -1;
    }
    tide_sql_suggest_init(&s, name->str, name->len);
    for (uint32_t i = 0; i < r->plan->ncols; i++)
        if (!qual->str || name_eq(r->quals[i], qual->str))
            tide_sql_suggest_offer(&s, r->plan->cols[i].name);
    if (qual->str)
        fail(b, TIDE_EINVAL, name->pos, "unknown column '%s.%s'%s", qual->str, name->str,
             hint(h, sizeof h, &s));
    else
        fail(b, TIDE_EINVAL, name->pos, "unknown column '%s'%s", name->str, hint(h, sizeof h, &s));
    return -1;
}

/* ---- expressions ---- */

static tide_sql_bexpr *bind_expr(binder *b, const rel *r, const tide_sql_expr *e, aggctx *ac,
                                 const char *ctx);

static bool expr_text_eq(binder *b, const tide_sql_expr *x, const tide_sql_expr *y)
{
    b->tmp1.len = 0;
    b->tmp2.len = 0;
    if (tide_sql_print_expr(x, &b->tmp1) || tide_sql_print_expr(y, &b->tmp2)) {
        nomem(b);
        return false;
    }
    return b->tmp1.len == b->tmp2.len && memcmp(b->tmp1.data, b->tmp2.data, b->tmp1.len) == 0;
}

/* Above an aggregation: the output column of e if it is a GROUP BY key or a
 * window column; -1 if not (and no error); -2 on error. */
static int match_key(binder *b, aggctx *ac, const tide_sql_expr *e)
{
    if (e->kind == TIDE_SQL_EXPR_COLUMN) {
        /* resolve quietly: an unknown column is reported by the caller */
        const rel *r = ac->in;
        int idx = -1, n = 0;
        for (uint32_t i = 0; i < r->plan->ncols; i++)
            if ((!e->u.column.qualifier.str || name_eq(r->quals[i], e->u.column.qualifier.str)) &&
                name_eq(r->plan->cols[i].name, e->u.column.name.str)) {
                idx = (int)i;
                n++;
            }
        if (n != 1)
            return -1;
        for (uint32_t k = 0; k < ac->nkeys; k++)
            if (ac->keys[k]->kind == TIDE_SQL_BX_COLUMN && ac->keys[k]->col == (uint32_t)idx)
                return (int)k;
        if (ac->win_in >= 0 && idx >= ac->win_in && idx < ac->win_in + 3)
            return (int)(ac->nkeys + (uint32_t)(idx - ac->win_in));
        return -1;
    }
    if (e->kind == TIDE_SQL_EXPR_STAR || e->height == 1)
        return -1;
    for (uint32_t k = 0; k < ac->nkeys; k++) {
        if (ac->keys[k]->kind == TIDE_SQL_BX_COLUMN)
            continue;
        bool eq = expr_text_eq(b, ac->keys[k]->ast, e);
        if (b->rc)
            return -2;
        if (eq)
            return (int)k;
    }
    return -1;
}

static tide_sql_bexpr *bind_agg_call(binder *b, aggctx *ac, const tide_sql_expr *e)
{
    const char *name = e->u.call.name.str;
    bool star = e->u.call.nargs == 1 && e->u.call.args[0]->kind == TIDE_SQL_EXPR_STAR;
    char up[64];
    if (!ac)
        return NULL; /* the caller reports */
    if (e->u.call.nargs != 1)
        return fail(b, TIDE_EINVAL, e->pos, "%s takes exactly one argument", fn_upper(up, sizeof up, name));
    if (star && e->u.call.args[0]->u.column.qualifier.str)
        return fail(b, TIDE_EINVAL, e->u.call.args[0]->pos, "COUNT(t.*) is not supported; use COUNT(*)");
    tide_sql_bexpr *arg = NULL;
    tide_type in = TIDE_TYPE_NULL;
    if (!star) {
        if (has_agg(e->u.call.args[0]))
            return fail(b, TIDE_EINVAL, e->u.call.args[0]->pos, "aggregate calls cannot be nested");
        arg = bind_expr(b, ac->in, e->u.call.args[0], NULL, "an aggregate argument");
        if (!arg)
            return NULL;
        in = arg->type == TIDE_TYPE_NULL ? TIDE_TYPE_BIGINT : arg->type;
        if (arg->interval)
            return fail(b, TIDE_EUNSUPPORTED, e->pos, "aggregates over INTERVAL values are not supported");
    }
    tide_agg agg;
    tide_err er = {0};
    int rc = tide_agg_bind(&agg, name, strlen(name), star, e->u.call.distinct, in, 0, &er);
    if (rc == TIDE_ENOMEM)
        return nomem(b);
    if (rc)
        return fail(b, TIDE_EINVAL, e->pos, "%s", er.msg[0] ? er.msg : "aggregate not supported");
    for (uint32_t i = 0; i < ac->naggs; i++) {
        bool same = expr_text_eq(b, ac->aggs[i].ast, e);
        if (b->rc)
            return NULL;
        if (same)
            return bx_col(b, e, ac->agg_base + i, ac->aggs[i].agg.out_type);
    }
    if (ac->naggs == ac->cap) {
        uint32_t ncap = ac->cap ? ac->cap * 2 : 4;
        tide_sql_aggcall *na = bal(b, ncap * sizeof *na);
        if (!na)
            return NULL;
        if (ac->naggs)
            memcpy(na, ac->aggs, ac->naggs * sizeof *na);
        ac->aggs = na;
        ac->cap = ncap;
    }
    ac->aggs[ac->naggs] = (tide_sql_aggcall){.agg = agg, .arg = arg, .ast = e};
    return bx_col(b, e, ac->agg_base + ac->naggs++, agg.out_type);
}

static tide_sql_bexpr *check_bool(binder *b, tide_sql_bexpr *x, const char *what)
{
    if (!x)
        return NULL;
    if (x->type != TIDE_TYPE_BOOLEAN && x->type != TIDE_TYPE_NULL)
        return fail(b, TIDE_EINVAL, x->ast->pos, "%s must be BOOLEAN, found %s", what, tname(x->type));
    return x;
}

static bool castable(tide_type from, tide_type to)
{
    if (from == TIDE_TYPE_NULL || from == to)
        return true;
    if (tide_type_is_decimal(from) || tide_type_is_decimal(to))
        return tide_expr_castable(from, to);
    if (to == TIDE_TYPE_TIMESTAMP)
        return from == TIDE_TYPE_BIGINT || from == TIDE_TYPE_STRING;
    if (from == TIDE_TYPE_TIMESTAMP)
        return to == TIDE_TYPE_BIGINT || to == TIDE_TYPE_STRING;
    return true;
}

/* The date and time functions (Flink's; session time zone UTC): name,
 * argument count, argument types (NULL_: any of the listed), result. */
typedef struct time_fn {
    const char *name;
    uint8_t min, max;
    bool unit;          /* the first argument is a time unit (not counted) */
    tide_type args[2];  /* TIDE_TYPE_COUNT: not checked here */
    tide_type result;
} time_fn;

static const time_fn time_fns[] = {
    {"TO_TIMESTAMP", 1, 2, false, {TIDE_TYPE_STRING, TIDE_TYPE_STRING}, TIDE_TYPE_TIMESTAMP},
    {"TO_TIMESTAMP_LTZ", 2, 2, false, {TIDE_TYPE_BIGINT, TIDE_TYPE_BIGINT}, TIDE_TYPE_TIMESTAMP},
    {"FROM_UNIXTIME", 1, 2, false, {TIDE_TYPE_BIGINT, TIDE_TYPE_STRING}, TIDE_TYPE_STRING},
    {"UNIX_TIMESTAMP", 1, 2, false, {TIDE_TYPE_STRING, TIDE_TYPE_STRING}, TIDE_TYPE_BIGINT},
    {"YEAR", 1, 1, false, {TIDE_TYPE_TIMESTAMP}, TIDE_TYPE_BIGINT},
    {"QUARTER", 1, 1, false, {TIDE_TYPE_TIMESTAMP}, TIDE_TYPE_BIGINT},
    {"MONTH", 1, 1, false, {TIDE_TYPE_TIMESTAMP}, TIDE_TYPE_BIGINT},
    {"WEEK", 1, 1, false, {TIDE_TYPE_TIMESTAMP}, TIDE_TYPE_BIGINT},
    {"DAYOFYEAR", 1, 1, false, {TIDE_TYPE_TIMESTAMP}, TIDE_TYPE_BIGINT},
    {"DAYOFMONTH", 1, 1, false, {TIDE_TYPE_TIMESTAMP}, TIDE_TYPE_BIGINT},
    {"DAYOFWEEK", 1, 1, false, {TIDE_TYPE_TIMESTAMP}, TIDE_TYPE_BIGINT},
    {"HOUR", 1, 1, false, {TIDE_TYPE_TIMESTAMP}, TIDE_TYPE_BIGINT},
    {"MINUTE", 1, 1, false, {TIDE_TYPE_TIMESTAMP}, TIDE_TYPE_BIGINT},
    {"SECOND", 1, 1, false, {TIDE_TYPE_TIMESTAMP}, TIDE_TYPE_BIGINT},
    {"EXTRACT", 1, 1, true, {TIDE_TYPE_TIMESTAMP}, TIDE_TYPE_BIGINT},
    {"TIMESTAMPADD", 2, 2, true, {TIDE_TYPE_BIGINT, TIDE_TYPE_TIMESTAMP}, TIDE_TYPE_TIMESTAMP},
    {"TIMESTAMPDIFF", 2, 2, true, {TIDE_TYPE_TIMESTAMP, TIDE_TYPE_TIMESTAMP}, TIDE_TYPE_BIGINT},
};

/* Processing-time functions: the first five read the clock (a TIMESTAMP;
 * CURRENT_DATE: today's midnight UTC), the others are refused (no TIME
 * type; windows are in event time).  Written without parentheses
 * (CURRENT_TIMESTAMP) they parse as columns: bind_expr takes them when no
 * column has the name. */
static const char *const proctime_fns[] = {"NOW",          "CURRENT_TIMESTAMP", "LOCALTIMESTAMP",
                                           "CURRENT_ROW_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME",
                                           "LOCALTIME",    "PROCTIME"};
#define PROCTIME_SUPPORTED 5

static bool is_proctime_name(const char *name)
{
    for (size_t i = 0; i < NELEM(proctime_fns); i++)
        if (name_eq(name, proctime_fns[i]))
            return true;
    return false;
}

/* A supported processing-time call e (a CALL, or a COLUMN named like one),
 * or NULL with the error set. */
static tide_sql_bexpr *bind_proctime(binder *b, const tide_sql_expr *e, const char *name);

static tide_sql_bexpr *fail_proctime(binder *b, const char *name, tide_sql_pos pos)
{
    char up[64];
    fn_upper(up, sizeof up, name);
    if (name_eq(name, "PROCTIME"))
        return fail(b, TIDE_EUNSUPPORTED, pos,
                    "PROCTIME() (a processing-time attribute) is not supported: windows are in event time");
    return fail(b, TIDE_EUNSUPPORTED, pos, "%s is not supported (tide has no TIME type; use CURRENT_TIMESTAMP)", up);
}

static tide_sql_bexpr *bind_proctime(binder *b, const tide_sql_expr *e, const char *name)
{
    size_t k = 0;
    while (k < NELEM(proctime_fns) && !name_eq(name, proctime_fns[k]))
        k++;
    if (k >= PROCTIME_SUPPORTED)
        return fail_proctime(b, name, e->pos);
    if (e->kind == TIDE_SQL_EXPR_CALL && e->u.call.nargs)
        return fail(b, TIDE_EINVAL, e->pos, "%s takes no arguments", proctime_fns[k]);
    const tide_sql_expr *call = e;
    if (e->kind == TIDE_SQL_EXPR_COLUMN) { /* CURRENT_TIMESTAMP: a call with no arguments */
        tide_sql_expr *c = bal(b, sizeof *c);
        if (!c)
            return NULL;
        *c = (tide_sql_expr){.kind = TIDE_SQL_EXPR_CALL, .height = 1, .pos = e->pos};
        c->u.call.name = e->u.column.name;
        call = c;
    }
    return bx_new(b, TIDE_SQL_BX_NODE, call, TIDE_TYPE_TIMESTAMP, 0);
}

static tide_sql_bexpr *bind_time_call(binder *b, const rel *r, const tide_sql_expr *e, aggctx *ac, const char *ctx,
                                      const time_fn *f)
{
    uint32_t n = e->u.call.nargs;
    if (e->u.call.distinct)
        return fail(b, TIDE_EINVAL, e->pos, "DISTINCT is only allowed in aggregate calls");
    if (f->unit != e->u.call.has_unit)
        return fail(b, TIDE_EINVAL, e->pos, "%s %s a time unit as its first argument", f->name,
                    f->unit ? "needs" : "does not take");
    if (!strcmp(f->name, "UNIX_TIMESTAMP") && n == 0) /* processing time, epoch seconds */
        return bx_new(b, TIDE_SQL_BX_NODE, e, TIDE_TYPE_BIGINT, 0);
    if (n < f->min || n > f->max)
        return fail(b, TIDE_EINVAL, e->pos, "wrong number of arguments to %s (%u)", f->name, n);
    if (f->unit) {
        tide_sql_unit u = e->u.call.unit;
        bool extract = !strcmp(f->name, "EXTRACT");
        if (!extract && (u == TIDE_SQL_UNIT_DOW || u == TIDE_SQL_UNIT_DOY))
            return fail(b, TIDE_EINVAL, e->pos, "%s does not take the unit %s", f->name, tide_sql_unit_name(u));
    }
    tide_sql_bexpr *x = bx_new(b, TIDE_SQL_BX_NODE, e, f->result, n);
    if (!x)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (!(x->args[i] = bind_expr(b, r, e->u.call.args[i], ac, ctx)))
            return NULL;
        tide_type got = x->args[i]->type;
        if ((got != f->args[i] && got != TIDE_TYPE_NULL) || x->args[i]->interval)
            return fail(b, TIDE_EINVAL, e->u.call.args[i]->pos, "%s expects %s for argument %u, found %s", f->name,
                        tname(f->args[i]), i + 1 + (f->unit ? 1 : 0),
                        x->args[i]->interval ? "INTERVAL" : tname(got));
    }
    if (!strcmp(f->name, "TO_TIMESTAMP_LTZ")) {
        const tide_sql_expr *pe = e->u.call.args[1];
        if (pe->kind != TIDE_SQL_EXPR_INT || (pe->u.i64 != 0 && pe->u.i64 != 3))
            return fail(b, TIDE_EINVAL, pe->pos,
                        "TO_TIMESTAMP_LTZ's precision must be the literal 0 (epoch seconds) or 3 (epoch milliseconds)");
    }
    for (uint32_t i = 1; i < n; i++)
        if (f->args[i] == TIDE_TYPE_STRING && e->u.call.args[i]->kind != TIDE_SQL_EXPR_STRING)
            return fail(b, TIDE_EUNSUPPORTED, e->u.call.args[i]->pos, "%s's format must be a string literal",
                        f->name);
    return x;
}

/* ---- OVER windows ---- */

/* The canonical text of a window spec (for comparing two calls' windows). */
static bool over_text(binder *b, const tide_sql_over *o, tide_buf *out)
{
    tide_sql_expr call = {.kind = TIDE_SQL_EXPR_CALL, .height = 1};
    call.u.call.name = (tide_sql_name){.str = "f", .len = 1};
    call.u.call.over = (tide_sql_over *)o;
    out->len = 0;
    if (tide_sql_print_expr(&call, out)) {
        nomem(b);
        return false;
    }
    return true;
}

/* The spec of OVER o: inline, or a window of the WINDOW clause. */
static const tide_sql_over *over_spec(binder *b, const overctx *oc, const tide_sql_over *o)
{
    if (!o->ref.str)
        return o;
    for (uint32_t i = 0; i < oc->sel->nwindows; i++)
        if (name_eq(oc->sel->windows[i].name.str, o->ref.str))
            return oc->sel->windows[i].spec;
    return fail(b, TIDE_EINVAL, o->ref.pos, "unknown window '%s' (define it with WINDOW %s AS (...))",
                o->ref.str, o->ref.str);
}

/* Bind the window of the OVER node (the first call's). */
static bool bind_over_spec(binder *b, overctx *oc, const tide_sql_over *o)
{
    tide_sql_plan *p = oc->node;
    uint32_t nk = o->npartition, no = o->norder_by;
    if (!(p->u.over.keys = bal(b, (nk + 1) * sizeof(void *))) || !(p->u.over.order = bal(b, (no + 1) * sizeof(void *))) ||
        !(p->u.over.desc = bal(b, no + 1)))
        return false;
    for (uint32_t i = 0; i < nk; i++) {
        if (find_call(o->partition_by[i], false) || find_call(o->partition_by[i], true))
            return fail(b, TIDE_EINVAL, o->partition_by[i]->pos, "PARTITION BY cannot hold aggregate or window calls"),
                   false;
        if (!(p->u.over.keys[i] = bind_expr(b, oc->in, o->partition_by[i], NULL, "PARTITION BY")))
            return false;
    }
    for (uint32_t i = 0; i < no; i++) {
        if (!(p->u.over.order[i] = bind_expr(b, oc->in, o->order_by[i].expr, NULL, "ORDER BY")))
            return false;
        p->u.over.desc[i] = o->order_by[i].desc;
    }
    p->u.over.nkeys = nk;
    p->u.over.norder = no;
    p->u.over.rows = o->unit == TIDE_SQL_FRAME_ROWS;
    p->u.over.unbounded = o->unit == TIDE_SQL_FRAME_NONE || o->unbounded;
    if (o->preceding) {
        const tide_sql_expr *x = o->preceding;
        if (p->u.over.rows) {
            if (x->kind != TIDE_SQL_EXPR_INT || x->u.i64 < 0)
                return fail(b, TIDE_EINVAL, x->pos, "ROWS needs a non-negative integer literal before PRECEDING"),
                       false;
            p->u.over.preceding = x->u.i64;
        } else {
            if (x->kind != TIDE_SQL_EXPR_INTERVAL)
                return fail(b, TIDE_EINVAL, x->pos,
                            "RANGE needs an INTERVAL literal before PRECEDING (the frame is a span of event time)"),
                       false;
            if (!interval_ms(b, x, &p->u.over.preceding))
                return false;
            if (p->u.over.preceding < 0)
                return fail(b, TIDE_EINVAL, x->pos, "RANGE needs a non-negative INTERVAL"), false;
        }
    }
    return true;
}

/* A window function call f(...) OVER (...) in the select list: one more
 * column of the OVER node (the same call twice is one column). */
static tide_sql_bexpr *bind_over_call(binder *b, const tide_sql_expr *e, const char *ctx)
{
    overctx *oc = b->over;
    const char *name = e->u.call.name.str;
    char up[64];
    if (!oc)
        return fail(b, TIDE_EINVAL, e->pos, "window functions (OVER) are not allowed in %s", ctx);
    const tide_sql_over *o = over_spec(b, oc, e->u.call.over);
    if (!o)
        return NULL;
    tide_sql_plan *p = oc->node;
    if (!oc->spec) {
        if (!bind_over_spec(b, oc, o))
            return NULL;
        oc->spec = o;
        oc->first = e;
    } else if (o != oc->spec) {
        /* the same window when the texts agree with the frames set aside,
         * and the frames mean the same (no frame = RANGE UNBOUNDED) */
        tide_sql_over x = *o, y = *oc->spec;
        bool xu = x.unit == TIDE_SQL_FRAME_NONE || (x.unit == TIDE_SQL_FRAME_RANGE && x.unbounded);
        bool yu = y.unit == TIDE_SQL_FRAME_NONE || (y.unit == TIDE_SQL_FRAME_RANGE && y.unbounded);
        if (xu && yu)
            x.unit = y.unit = TIDE_SQL_FRAME_NONE;
        if (!over_text(b, &x, &b->tmp1) || !over_text(b, &y, &b->tmp2))
            return NULL;
        if (b->tmp1.len != b->tmp2.len || memcmp(b->tmp1.data, b->tmp2.data, b->tmp1.len) != 0)
            return fail(b, TIDE_EUNSUPPORTED, e->u.call.over->pos,
                        "not supported yet: OVER windows that differ in one SELECT (this one is not the window "
                        "at line %u:%u)",
                        oc->first->u.call.over->pos.line, oc->first->u.call.over->pos.col);
    }
    bool rn = name_eq(name, "row_number");
    tide_sql_overcall call = {.row_number = rn, .ast = e};
    if (rn) {
        if (e->u.call.nargs != 0 || e->u.call.distinct)
            return fail(b, TIDE_EINVAL, e->pos, "ROW_NUMBER takes no arguments");
        if (o->unit != TIDE_SQL_FRAME_NONE)
            return fail(b, TIDE_EINVAL, o->frame_pos, "ROW_NUMBER takes no frame (ROWS / RANGE)");
        if (o->norder_by == 0)
            return fail(b, TIDE_EINVAL, o->pos, "ROW_NUMBER needs an ORDER BY in its window");
    } else if (is_agg_name(name)) {
        bool star = e->u.call.nargs == 1 && e->u.call.args[0]->kind == TIDE_SQL_EXPR_STAR;
        if (e->u.call.nargs != 1)
            return fail(b, TIDE_EINVAL, e->pos, "%s takes exactly one argument", fn_upper(up, sizeof up, name));
        /* Flink's rule for streams: ordered by the event time, ascending */
        const tide_sql_bexpr *ord = p->u.over.norder == 1 ? p->u.over.order[0] : NULL;
        if (!ord || p->u.over.desc[0] || ord->kind != TIDE_SQL_BX_COLUMN || !oc->in->plan->cols[ord->col].rowtime)
            return fail(b, TIDE_EUNSUPPORTED, o->norder_by ? o->order_by[0].expr->pos : o->pos,
                        "an OVER aggregate must be ordered by one event-time attribute, ascending (ORDER BY ts)");
        if (oc->in->plan->changelog)
            return fail(b, TIDE_EUNSUPPORTED, e->pos,
                        "an OVER aggregate over a changelog (updates and retractions) is not supported (Flink "
                        "refuses it too)");
        tide_type in = TIDE_TYPE_NULL;
        if (!star) {
            if (find_call(e->u.call.args[0], false) || find_call(e->u.call.args[0], true))
                return fail(b, TIDE_EINVAL, e->u.call.args[0]->pos, "aggregate calls cannot be nested");
            if (!(call.arg = bind_expr(b, oc->in, e->u.call.args[0], NULL, "an aggregate argument")))
                return NULL;
            in = call.arg->type == TIDE_TYPE_NULL ? TIDE_TYPE_BIGINT : call.arg->type;
            if (call.arg->interval)
                return fail(b, TIDE_EUNSUPPORTED, e->pos, "aggregates over INTERVAL values are not supported");
        }
        bool sliding = !p->u.over.unbounded;
        tide_err er = {0};
        int rc = tide_agg_bind(&call.agg, name, strlen(name), star, e->u.call.distinct, in,
                               sliding ? TIDE_AGG_RETRACTABLE : 0, &er);
        if (rc == TIDE_ENOMEM)
            return nomem(b);
        if (rc)
            return fail(b, TIDE_EINVAL, e->pos, "%s", er.msg[0] ? er.msg : "aggregate not supported");
        if (sliding && !call.agg.invertible)
            return fail(b, TIDE_EUNSUPPORTED, e->pos, "%s cannot be computed over a sliding frame (it cannot retract)",
                        fn_upper(up, sizeof up, name));
    } else {
        return fail(b, TIDE_EUNSUPPORTED, e->u.call.name.pos,
                    "not supported yet: %s OVER (tide has ROW_NUMBER and COUNT, SUM, AVG, MIN, MAX)",
                    fn_upper(up, sizeof up, name));
    }
    uint32_t base = oc->in->plan->ncols;
    for (uint32_t i = 0; i < p->u.over.ncalls; i++) {
        bool same = expr_text_eq(b, p->u.over.calls[i].ast, e);
        if (b->rc)
            return NULL;
        if (same)
            return bx_col(b, e, base + i, rn ? TIDE_TYPE_BIGINT : p->u.over.calls[i].agg.out_type);
    }
    for (uint32_t i = 0; i < p->u.over.ncalls; i++)
        if (p->u.over.calls[i].row_number != rn)
            return fail(b, TIDE_EUNSUPPORTED, e->pos,
                        "not supported yet: ROW_NUMBER and aggregates over one window in one SELECT");
    if (p->u.over.ncalls == oc->cap) {
        uint32_t ncap = oc->cap ? oc->cap * 2 : 4;
        tide_sql_overcall *nc = bal(b, ncap * sizeof *nc);
        if (!nc)
            return NULL;
        if (p->u.over.ncalls)
            memcpy(nc, p->u.over.calls, p->u.over.ncalls * sizeof *nc);
        p->u.over.calls = nc;
        oc->cap = ncap;
    }
    p->u.over.calls[p->u.over.ncalls++] = call;
    return bx_col(b, e, base + p->u.over.ncalls - 1, rn ? TIDE_TYPE_BIGINT : call.agg.out_type);
}

/* TUMBLE_START / _END / _ROWTIME (and HOP_, SESSION_) of a legacy group
 * window: false when e is none of them; else *out is the window column
 * above the aggregation, or NULL with the error set. */
static bool bind_legacy_aux(binder *b, const tide_sql_expr *e, aggctx *ac, tide_sql_bexpr **out)
{
    static const char *const kinds[] = {"tumble", "hop", "cumulate", "session"}; /* tide_sql_window_kind */
    static const char *const parts[] = {"start", "end", "rowtime", "proctime"};
    const char *name = e->u.call.name.str;
    *out = NULL;
    if (e->u.call.name.quoted)
        return false;
    int kind = -1, part = -1;
    for (int k = 0; k < 4 && kind < 0; k++) {
        size_t kl = strlen(kinds[k]);
        if (k == TIDE_SQL_WINDOW_CUMULATE || strncasecmp(name, kinds[k], kl) != 0 || name[kl] != '_')
            continue;
        for (int q = 0; q < 4; q++)
            if (!strcasecmp(name + kl + 1, parts[q])) {
                kind = k;
                part = q;
            }
    }
    if (kind < 0)
        return false;
    char up[64];
    fn_upper(up, sizeof up, name);
    const char *wname = tide_sql_window_name((tide_sql_window_kind)kind);
    if (part == 3) {
        fail(b, TIDE_EUNSUPPORTED, e->pos,
             "%s is processing time, which tide does not support (use %s_ROWTIME: windows are in event time)", up,
             wname);
        return true;
    }
    if (!b->legacy || (int)b->legacy_kind != kind || !ac || ac->win_in < 0) {
        fail(b, TIDE_EINVAL, e->pos, "%s needs GROUP BY %s(...) in the same SELECT", up, wname);
        return true;
    }
    const tide_sql_expr *g = b->legacy;
    bool same = g->u.call.nargs == e->u.call.nargs;
    for (uint32_t i = 0; same && i < g->u.call.nargs; i++) {
        same = expr_text_eq(b, g->u.call.args[i], e->u.call.args[i]);
        if (b->rc)
            return true;
    }
    if (!same) {
        fail(b, TIDE_EINVAL, e->pos, "%s must repeat the arguments of the GROUP BY's %s(...)", up, wname);
        return true;
    }
    *out = bx_col(b, e, ac->nkeys + (uint32_t)part, TIDE_TYPE_TIMESTAMP);
    return true;
}

/* Whether two GROUP BY expressions are the same key: the same resolved
 * column of `in`, or the same canonical text.  -2 on error. */
static int same_key(binder *b, const rel *in, const tide_sql_expr *x, const tide_sql_expr *y)
{
    if (x->kind == TIDE_SQL_EXPR_COLUMN && y->kind == TIDE_SQL_EXPR_COLUMN) {
        int ix = -1, iy = -1;
        for (uint32_t i = 0; i < in->plan->ncols; i++) {
            const char *cn = in->plan->cols[i].name;
            if ((!x->u.column.qualifier.str || name_eq(in->quals[i], x->u.column.qualifier.str)) &&
                name_eq(cn, x->u.column.name.str))
                ix = ix == -1 ? (int)i : -3;
            if ((!y->u.column.qualifier.str || name_eq(in->quals[i], y->u.column.qualifier.str)) &&
                name_eq(cn, y->u.column.name.str))
                iy = iy == -1 ? (int)i : -3;
        }
        if (ix >= 0 && iy >= 0)
            return ix == iy;
    }
    bool eq = expr_text_eq(b, x, y);
    return b->rc ? -2 : eq;
}

/* The index of e among the grouping sets' keys, -1 if none, -2 on error. */
static int gs_key(binder *b, aggctx *ac, const tide_sql_expr *e)
{
    for (uint32_t k = 0; k < b->gs->nkeys; k++) {
        int s = same_key(b, ac->in, e, b->gs->keys[k]);
        if (s)
            return s < 0 ? -2 : (int)k;
    }
    return -1;
}

/* Key g, which this grouping set does not group by: a NULL of its type. */
static tide_sql_bexpr *gs_null(binder *b, aggctx *ac, const tide_sql_expr *e, uint32_t g)
{
    tide_sql_bexpr *kx = bind_expr(b, ac->in, b->gs->keys[g], NULL, "GROUP BY");
    tide_sql_expr *nul = bal(b, sizeof *nul), *cast = bal(b, sizeof *cast);
    if (!kx || !nul || !cast)
        return NULL;
    *nul = (tide_sql_expr){.kind = TIDE_SQL_EXPR_NULL, .height = 1, .pos = e->pos};
    *cast = (tide_sql_expr){.kind = TIDE_SQL_EXPR_CAST, .height = 2, .pos = e->pos};
    cast->u.cast.arg = nul;
    cast->u.cast.to = (tide_sql_type){kx->type, -1, e->pos};
    tide_sql_bexpr *x = bx_new(b, TIDE_SQL_BX_NODE, cast, kx->type, 1);
    if (x && !(x->args[0] = bx_new(b, TIDE_SQL_BX_NODE, nul, TIDE_TYPE_NULL, 0)))
        return NULL;
    return x;
}

/* GROUPING(k, ...) / GROUPING_ID(k, ...): a bit per key, the first the
 * most significant, 1 when the row's grouping set does not group by it
 * (Flink's; a BIGINT constant of each set's branch). */
static tide_sql_bexpr *bind_grouping_fn(binder *b, const tide_sql_expr *e, aggctx *ac)
{
    char up[32];
    fn_upper(up, sizeof up, e->u.call.name.str);
    if (!ac)
        return fail(b, TIDE_EINVAL, e->pos, "%s needs a GROUP BY", up);
    if (e->u.call.nargs == 0 || e->u.call.nargs > 62 || e->u.call.distinct)
        return fail(b, TIDE_EINVAL, e->pos, "%s takes 1 to 62 GROUP BY keys", up);
    int64_t v = 0;
    for (uint32_t i = 0; i < e->u.call.nargs; i++) {
        const tide_sql_expr *a = e->u.call.args[i];
        int bit = -1;
        if (b->gs) {
            int g = gs_key(b, ac, a);
            if (g == -2)
                return NULL;
            if (g >= 0)
                bit = !b->gs->in[g];
        } else {
            int k = match_key(b, ac, a);
            if (k == -2)
                return NULL;
            if (k >= 0 && (uint32_t)k < ac->nkeys)
                bit = 0;
        }
        if (bit < 0)
            return fail(b, TIDE_EINVAL, a->pos, "the arguments of %s must be GROUP BY keys", up);
        v = v << 1 | bit;
    }
    tide_sql_expr *lit = bal(b, sizeof *lit);
    if (!lit)
        return NULL;
    *lit = (tide_sql_expr){.kind = TIDE_SQL_EXPR_INT, .height = 1, .pos = e->pos};
    lit->u.i64 = v;
    return bx_new(b, TIDE_SQL_BX_NODE, lit, TIDE_TYPE_BIGINT, 0);
}

static tide_sql_bexpr *bind_call(binder *b, const rel *r, const tide_sql_expr *e, aggctx *ac,
                                 const char *ctx)
{
    const char *name = e->u.call.name.str;
    char h[96];
    if (e->u.call.over)
        return bind_over_call(b, e, ctx);
    for (size_t i = 0; i < NELEM(time_fns); i++)
        if (name_eq(name, time_fns[i].name))
            return bind_time_call(b, r, e, ac, ctx, &time_fns[i]);
    tide_sql_bexpr *lx = NULL;
    if (bind_legacy_aux(b, e, ac, &lx))
        return lx;
    if (!e->u.call.name.quoted && (name_eq(name, "grouping") || name_eq(name, "grouping_id")))
        return bind_grouping_fn(b, e, ac);
    if (is_proctime_name(name))
        return bind_proctime(b, e, name);
    if (is_agg_name(name)) {
        if (!ac)
            return fail(b, TIDE_EINVAL, e->pos, "aggregate function %s is not allowed in %s",
                        fn_upper(h, sizeof h, name), ctx);
        return bind_agg_call(b, ac, e);
    }
    size_t fi = NELEM(fn_names);
    for (size_t i = 0; i < NELEM(fn_names); i++)
        if (name_eq(name, fn_names[i]))
            fi = i;
    if (fi == NELEM(fn_names)) {
        tide_sql_suggest s;
        tide_sql_suggest_init(&s, name, e->u.call.name.len);
        for (size_t i = 0; i < NELEM(agg_names); i++)
            tide_sql_suggest_offer(&s, agg_names[i]);
        for (size_t i = 0; i < NELEM(fn_names); i++)
            tide_sql_suggest_offer(&s, fn_names[i]);
        for (size_t i = 0; i < NELEM(time_fns); i++)
            tide_sql_suggest_offer(&s, time_fns[i].name);
        return fail(b, TIDE_EINVAL, e->u.call.name.pos, "unknown function '%s'%s", name,
                    hint(h, sizeof h, &s));
    }
    if (e->u.call.distinct)
        return fail(b, TIDE_EINVAL, e->pos, "DISTINCT is only allowed in aggregate calls");
    if (e->u.call.has_unit)
        return fail(b, TIDE_EINVAL, e->pos, "%s does not take a time unit", fn_names[fi]);
    uint32_t n = e->u.call.nargs;
    tide_sql_bexpr *x = bx_new(b, TIDE_SQL_BX_NODE, e, TIDE_TYPE_STRING, n);
    if (!x)
        return NULL;
    for (uint32_t i = 0; i < n; i++)
        if (!(x->args[i] = bind_expr(b, r, e->u.call.args[i], ac, ctx)))
            return NULL;
    static const uint32_t minargs[] = {1, 1, 1, 2, 1, 1, 2}, maxargs[] = {1, 1, 1, 3, 1, 1000, 2};
    if (n < minargs[fi] || n > maxargs[fi])
        return fail(b, TIDE_EINVAL, e->pos, "wrong number of arguments to %s (%u)", fn_names[fi], n);
    /* expected argument types per function */
    for (uint32_t i = 0; i < n; i++) {
        tide_type want = TIDE_TYPE_STRING, got = x->args[i]->type;
        if (fi == 5)
            break; /* COALESCE: common type below */
        if ((fi == 3 && i > 0))
            want = TIDE_TYPE_BIGINT;
        if (fi == 6 && i == 0 && got != TIDE_TYPE_STRING) /* a STRING is parsed as TO_TIMESTAMP does */
            want = TIDE_TYPE_TIMESTAMP;
        if (got != want && got != TIDE_TYPE_NULL)
            return fail(b, TIDE_EINVAL, e->u.call.args[i]->pos, "%s expects %s for argument %u, found %s",
                        fn_names[fi], tname(want), i + 1, tname(got));
    }
    if (fi == 2)
        x->type = TIDE_TYPE_BIGINT;
    if (fi == 5) {
        tide_type t = TIDE_TYPE_NULL;
        for (uint32_t i = 0; i < n; i++) {
            tide_type c = common(t, x->args[i]->type);
            if (c == TIDE_TYPE_COUNT)
                return fail(b, TIDE_EINVAL, e->u.call.args[i]->pos,
                            "COALESCE arguments have no common type (%s and %s)", tname(t),
                            tname(x->args[i]->type));
            t = c;
        }
        x->type = t;
    }
    return x;
}

static tide_sql_bexpr *bind_binary(binder *b, const tide_sql_expr *e, tide_sql_bexpr *l,
                                   tide_sql_bexpr *r)
{
    tide_sql_binop op = e->u.binary.op;
    tide_type lt = l->type, rt = r->type;
    tide_sql_bexpr *x = bx_new(b, TIDE_SQL_BX_NODE, e, TIDE_TYPE_BOOLEAN, 2);
    if (!x)
        return NULL;
    x->args[0] = l;
    x->args[1] = r;
    switch (op) {
    case TIDE_SQL_OP_AND:
    case TIDE_SQL_OP_OR:
        if (lt != TIDE_TYPE_BOOLEAN && lt != TIDE_TYPE_NULL)
            return fail(b, TIDE_EINVAL, e->u.binary.left->pos, "%s expects BOOLEAN operands, found %s",
                        tide_sql_binop_name(op), tname(lt));
        if (rt != TIDE_TYPE_BOOLEAN && rt != TIDE_TYPE_NULL)
            return fail(b, TIDE_EINVAL, e->u.binary.right->pos, "%s expects BOOLEAN operands, found %s",
                        tide_sql_binop_name(op), tname(rt));
        return x;
    case TIDE_SQL_OP_EQ:
    case TIDE_SQL_OP_NE:
    case TIDE_SQL_OP_LT:
    case TIDE_SQL_OP_LE:
    case TIDE_SQL_OP_GT:
    case TIDE_SQL_OP_GE:
    case TIDE_SQL_OP_IS_DISTINCT:
    case TIDE_SQL_OP_IS_NOT_DISTINCT:
        if (common(lt, rt) == TIDE_TYPE_COUNT || l->interval != r->interval)
            return fail(b, TIDE_EINVAL, e->pos, "cannot compare %s with %s",
                        l->interval ? "INTERVAL" : tname(lt), r->interval ? "INTERVAL" : tname(rt));
        return x;
    case TIDE_SQL_OP_CONCAT:
        if ((lt != TIDE_TYPE_STRING && lt != TIDE_TYPE_NULL) || (rt != TIDE_TYPE_STRING && rt != TIDE_TYPE_NULL))
            return fail(b, TIDE_EINVAL, e->pos, "cannot apply '||' to %s and %s", tname(lt), tname(rt));
        x->type = TIDE_TYPE_STRING;
        return x;
    default: break;
    }
    /* arithmetic */
    if ((op == TIDE_SQL_OP_ADD || op == TIDE_SQL_OP_SUB) && lt == TIDE_TYPE_TIMESTAMP && r->interval) {
        x->type = TIDE_TYPE_TIMESTAMP;
        return x;
    }
    if (op == TIDE_SQL_OP_ADD && l->interval && rt == TIDE_TYPE_TIMESTAMP) {
        x->type = TIDE_TYPE_TIMESTAMP;
        return x;
    }
    if ((op == TIDE_SQL_OP_ADD || op == TIDE_SQL_OP_SUB) && l->interval && r->interval) {
        x->type = TIDE_TYPE_BIGINT;
        x->interval = true;
        return x;
    }
    if (!l->interval && !r->interval && (numeric(lt) || lt == TIDE_TYPE_NULL) &&
        (numeric(rt) || rt == TIDE_TYPE_NULL)) {
        static const tide_expr_arith_op aop[] = {
            [TIDE_SQL_OP_ADD] = TIDE_EXPR_ADD, [TIDE_SQL_OP_SUB] = TIDE_EXPR_SUB, [TIDE_SQL_OP_MUL] = TIDE_EXPR_MUL,
            [TIDE_SQL_OP_DIV] = TIDE_EXPR_DIV, [TIDE_SQL_OP_MOD] = TIDE_EXPR_MOD};
        x->type = tide_expr_arith_type(aop[op], lt, small_int(l), rt, small_int(r));
        return x;
    }
    return fail(b, TIDE_EINVAL, e->pos, "cannot apply '%s' to %s and %s", tide_sql_binop_name(op),
                l->interval ? "INTERVAL" : tname(lt), r->interval ? "INTERVAL" : tname(rt));
}

static tide_sql_bexpr *bind_expr(binder *b, const rel *r, const tide_sql_expr *e, aggctx *ac,
                                 const char *ctx)
{
    if (b->rc || !e)
        return NULL;
    if (ac) {
        int k = match_key(b, ac, e);
        if (k == -2)
            return NULL;
        if (k >= 0)
            return bx_col(b, e, (uint32_t)k, ac->out_cols[k].type);
        if (b->gs) { /* a key of another grouping set: NULL here */
            int g = gs_key(b, ac, e);
            if (g == -2)
                return NULL;
            if (g >= 0 && !b->gs->in[g])
                return gs_null(b, ac, e, (uint32_t)g);
        }
    }
    tide_sql_bexpr *x = NULL;
    switch (e->kind) {
    case TIDE_SQL_EXPR_NULL: return bx_new(b, TIDE_SQL_BX_NODE, e, TIDE_TYPE_NULL, 0);
    case TIDE_SQL_EXPR_BOOL: return bx_new(b, TIDE_SQL_BX_NODE, e, TIDE_TYPE_BOOLEAN, 0);
    case TIDE_SQL_EXPR_INT: return bx_new(b, TIDE_SQL_BX_NODE, e, TIDE_TYPE_BIGINT, 0);
    case TIDE_SQL_EXPR_DECIMAL:
        return bx_new(b, TIDE_SQL_BX_NODE, e, dec_literal_type(e->u.dec.text, strlen(e->u.dec.text)), 0);
    case TIDE_SQL_EXPR_STRING: return bx_new(b, TIDE_SQL_BX_NODE, e, TIDE_TYPE_STRING, 0);
    case TIDE_SQL_EXPR_TIMESTAMP: {
        int64_t ms;
        tide_ts_error te;
        if (tide_ts_parse(e->u.str.str, e->u.str.len, &ms, &te) != 0)
            return fail(b, TIDE_EINVAL, e->pos, "invalid TIMESTAMP literal '%.*s'",
                        (int)(e->u.str.len > 64 ? 64 : e->u.str.len), e->u.str.str);
        if (!tide_ts_valid(ms))
            return fail(b, TIDE_EINVAL, e->pos, "TIMESTAMP literal '%.*s': %s",
                        (int)(e->u.str.len > 64 ? 64 : e->u.str.len), e->u.str.str, TIDE_TS_RANGE_WHY);
        return bx_new(b, TIDE_SQL_BX_NODE, e, TIDE_TYPE_TIMESTAMP, 0);
    }
    case TIDE_SQL_EXPR_GROUPING:
        return fail(b, TIDE_EINVAL, e->pos, "GROUPING SETS, ROLLUP and CUBE are only allowed in GROUP BY");
    case TIDE_SQL_EXPR_DATE: {
        int64_t ms;
        tide_ts_error te;
        const char *t = e->u.str.str;
        bool shape = e->u.str.len == 10 && t[4] == '-' && t[7] == '-';
        for (int i = 0; shape && i < 10; i++)
            shape = i == 4 || i == 7 || (t[i] >= '0' && t[i] <= '9');
        if (!shape || tide_ts_parse(t, 10, &ms, &te) != 0)
            return fail(b, TIDE_EINVAL, e->pos, "invalid DATE literal '%.*s' (expected YYYY-MM-DD)",
                        (int)(e->u.str.len > 64 ? 64 : e->u.str.len), t);
        return bx_new(b, TIDE_SQL_BX_NODE, e, TIDE_TYPE_TIMESTAMP, 0);
    }
    case TIDE_SQL_EXPR_INTERVAL: {
        int64_t ms;
        if (!interval_ms(b, e, &ms))
            return NULL;
        x = bx_new(b, TIDE_SQL_BX_NODE, e, TIDE_TYPE_BIGINT, 0);
        if (x)
            x->interval = true;
        return x;
    }
    case TIDE_SQL_EXPR_COLUMN: {
        if (ac) {
            /* not a key: make sure it exists, then say why it is not allowed */
            if (resolve(b, ac->in, &e->u.column.qualifier, &e->u.column.name, e->pos) < 0)
                return NULL;
            return fail(b, TIDE_EINVAL, e->pos,
                        "column '%s' must appear in GROUP BY or be used in an aggregate function",
                        e->u.column.name.str);
        }
        if (!e->u.column.qualifier.str && !e->u.column.name.quoted && is_proctime_name(e->u.column.name.str)) {
            bool known = false; /* a column of that name wins */
            for (uint32_t i = 0; i < r->plan->ncols; i++)
                known = known || name_eq(r->plan->cols[i].name, e->u.column.name.str);
            if (!known)
                return bind_proctime(b, e, e->u.column.name.str);
        }
        int i = resolve(b, r, &e->u.column.qualifier, &e->u.column.name, e->pos);
        if (i < 0)
            return NULL;
        return bx_col(b, e, (uint32_t)i, r->plan->cols[i].type);
    }
    case TIDE_SQL_EXPR_STAR:
        return fail(b, TIDE_EINVAL, e->pos, "'*' is only allowed in a select list or in COUNT(*)");
    case TIDE_SQL_EXPR_UNARY: {
        tide_sql_bexpr *a = bind_expr(b, r, e->u.unary.arg, ac, ctx);
        if (!a || !(x = bx_new(b, TIDE_SQL_BX_NODE, e, a->type, 1)))
            return NULL;
        x->args[0] = a;
        x->interval = a->interval;
        if (e->u.unary.op == TIDE_SQL_OP_NOT) {
            x->type = TIDE_TYPE_BOOLEAN;
            return check_bool(b, a, "the operand of NOT") ? x : NULL;
        }
        if (!numeric(a->type) && a->type != TIDE_TYPE_NULL)
            return fail(b, TIDE_EINVAL, e->pos, "cannot apply unary '%s' to %s",
                        e->u.unary.op == TIDE_SQL_OP_NEG ? "-" : "+", tname(a->type));
        if (x->type == TIDE_TYPE_NULL)
            x->type = TIDE_TYPE_BIGINT;
        return x;
    }
    case TIDE_SQL_EXPR_BINARY: {
        tide_sql_bexpr *l = bind_expr(b, r, e->u.binary.left, ac, ctx);
        tide_sql_bexpr *rr = l ? bind_expr(b, r, e->u.binary.right, ac, ctx) : NULL;
        if (!rr)
            return NULL;
        return bind_binary(b, e, l, rr);
    }
    case TIDE_SQL_EXPR_IS_NULL: {
        tide_sql_bexpr *a = bind_expr(b, r, e->u.is_null.arg, ac, ctx);
        if (!a || !(x = bx_new(b, TIDE_SQL_BX_NODE, e, TIDE_TYPE_BOOLEAN, 1)))
            return NULL;
        x->args[0] = a;
        return x;
    }
    case TIDE_SQL_EXPR_BETWEEN: {
        if (!(x = bx_new(b, TIDE_SQL_BX_NODE, e, TIDE_TYPE_BOOLEAN, 3)))
            return NULL;
        const tide_sql_expr *parts[3] = {e->u.between.arg, e->u.between.low, e->u.between.high};
        for (int i = 0; i < 3; i++)
            if (!(x->args[i] = bind_expr(b, r, parts[i], ac, ctx)))
                return NULL;
        for (int i = 1; i < 3; i++)
            if (common(x->args[0]->type, x->args[i]->type) == TIDE_TYPE_COUNT)
                return fail(b, TIDE_EINVAL, parts[i]->pos, "cannot compare %s with %s",
                            tname(x->args[0]->type), tname(x->args[i]->type));
        return x;
    }
    case TIDE_SQL_EXPR_IN: {
        if (!(x = bx_new(b, TIDE_SQL_BX_NODE, e, TIDE_TYPE_BOOLEAN, e->u.in.n + 1)))
            return NULL;
        if (!(x->args[0] = bind_expr(b, r, e->u.in.arg, ac, ctx)))
            return NULL;
        for (uint32_t i = 0; i < e->u.in.n; i++) {
            if (!(x->args[i + 1] = bind_expr(b, r, e->u.in.list[i], ac, ctx)))
                return NULL;
            if (common(x->args[0]->type, x->args[i + 1]->type) == TIDE_TYPE_COUNT)
                return fail(b, TIDE_EINVAL, e->u.in.list[i]->pos, "cannot compare %s with %s",
                            tname(x->args[0]->type), tname(x->args[i + 1]->type));
        }
        return x;
    }
    case TIDE_SQL_EXPR_SUBQUERY:
        return fail(b, TIDE_EUNSUPPORTED, e->pos,
                    "not supported yet: a subquery here (EXISTS and IN (SELECT ...) work as conditions "
                    "ANDed in a WHERE clause)");
    case TIDE_SQL_EXPR_LIKE: {
        uint32_t n = e->u.like.escape ? 3 : 2;
        if (!(x = bx_new(b, TIDE_SQL_BX_NODE, e, TIDE_TYPE_BOOLEAN, n)))
            return NULL;
        const tide_sql_expr *parts[3] = {e->u.like.arg, e->u.like.pattern, e->u.like.escape};
        for (uint32_t i = 0; i < n; i++) {
            if (!(x->args[i] = bind_expr(b, r, parts[i], ac, ctx)))
                return NULL;
            if (x->args[i]->type != TIDE_TYPE_STRING && x->args[i]->type != TIDE_TYPE_NULL)
                return fail(b, TIDE_EINVAL, parts[i]->pos, "LIKE expects STRING, found %s",
                            tname(x->args[i]->type));
        }
        return x;
    }
    case TIDE_SQL_EXPR_CALL: return bind_call(b, r, e, ac, ctx);
    case TIDE_SQL_EXPR_CAST: {
        tide_sql_bexpr *a = bind_expr(b, r, e->u.cast.arg, ac, ctx);
        tide_type to = e->u.cast.to.type;
        if (!a || !(x = bx_new(b, TIDE_SQL_BX_NODE, e, to, 1)))
            return NULL;
        x->args[0] = a;
        if (a->interval || !castable(a->type, to))
            return fail(b, TIDE_EINVAL, e->pos, "cannot cast %s to %s",
                        a->interval ? "INTERVAL" : tname(a->type), tname(to));
        return x;
    }
    case TIDE_SQL_EXPR_CASE: {
        uint32_t nw = e->u.case_.nwhens;
        uint32_t n = 2 * nw + (e->u.case_.operand != NULL) + (e->u.case_.else_ != NULL), k = 0;
        if (!(x = bx_new(b, TIDE_SQL_BX_NODE, e, TIDE_TYPE_NULL, n)))
            return NULL;
        tide_sql_bexpr *op = NULL;
        if (e->u.case_.operand && !(op = x->args[k++] = bind_expr(b, r, e->u.case_.operand, ac, ctx)))
            return NULL;
        tide_type t = TIDE_TYPE_NULL;
        for (uint32_t i = 0; i < nw; i++) {
            tide_sql_bexpr *w = x->args[k++] = bind_expr(b, r, e->u.case_.whens[i].when, ac, ctx);
            if (!w)
                return NULL;
            if (op && common(op->type, w->type) == TIDE_TYPE_COUNT)
                return fail(b, TIDE_EINVAL, w->ast->pos, "cannot compare %s with %s", tname(op->type),
                            tname(w->type));
            if (!op && !check_bool(b, w, "a WHEN condition"))
                return NULL;
            tide_sql_bexpr *v = x->args[k++] = bind_expr(b, r, e->u.case_.whens[i].then, ac, ctx);
            if (!v)
                return NULL;
            tide_type c = common(t, v->type);
            if (c == TIDE_TYPE_COUNT)
                return fail(b, TIDE_EINVAL, v->ast->pos, "CASE branches have no common type (%s and %s)",
                            tname(t), tname(v->type));
            t = c;
        }
        if (e->u.case_.else_) {
            tide_sql_bexpr *v = x->args[k++] = bind_expr(b, r, e->u.case_.else_, ac, ctx);
            if (!v)
                return NULL;
            tide_type c = common(t, v->type);
            if (c == TIDE_TYPE_COUNT)
                return fail(b, TIDE_EINVAL, v->ast->pos, "CASE branches have no common type (%s and %s)",
                            tname(t), tname(v->type));
            t = c;
        }
        x->type = t;
        return x;
    }
    case TIDE_SQL_EXPR_FLOOR: {
        tide_sql_bexpr *a = bind_expr(b, r, e->u.floor.arg, ac, ctx);
        if (!a || !(x = bx_new(b, TIDE_SQL_BX_NODE, e, TIDE_TYPE_TIMESTAMP, 1)))
            return NULL;
        x->args[0] = a;
        if (e->u.floor.unit == TIDE_SQL_UNIT_DOW || e->u.floor.unit == TIDE_SQL_UNIT_DOY)
            return fail(b, TIDE_EINVAL, e->pos, "%s does not take the unit %s", e->u.floor.ceil ? "CEIL" : "FLOOR",
                        tide_sql_unit_name(e->u.floor.unit));
        if (a->type != TIDE_TYPE_TIMESTAMP && a->type != TIDE_TYPE_NULL)
            return fail(b, TIDE_EINVAL, e->u.floor.arg->pos, "%s(... TO %s) expects TIMESTAMP(3), found %s",
                        e->u.floor.ceil ? "CEIL" : "FLOOR", tide_sql_unit_name(e->u.floor.unit),
                        tname(a->type));
        return x;
    }
    }
    return fail(b, TIDE_EINVAL, e->pos, "unsupported expression");
}

/* ---- plan nodes ---- */

static tide_sql_plan *node(binder *b, tide_sql_plan_kind kind, tide_sql_pos pos, uint32_t ncols)
{
    tide_sql_plan *p = bal(b, sizeof *p);
    if (!p)
        return NULL;
    p->kind = kind;
    p->pos = pos;
    p->ncols = ncols;
    if (!(p->cols = bal(b, (ncols ? ncols : 1) * sizeof *p->cols)))
        return NULL;
    return p;
}

static bool rel_init(binder *b, rel *r, tide_sql_plan *p, const char *qual)
{
    r->plan = p;
    if (!p || !(r->quals = bal(b, (p->ncols ? p->ncols : 1) * sizeof *r->quals)))
        return false;
    for (uint32_t i = 0; i < p->ncols; i++)
        r->quals[i] = qual;
    return true;
}

static int keep_schema(binder *b, tide_schema *s)
{
    tide_sql_program *p = b->prog;
    if (p->nschemas == p->cap_schemas) {
        uint32_t ncap = p->cap_schemas ? p->cap_schemas * 2 : 4;
        tide_schema **ns = realloc(p->schemas, ncap * sizeof *ns);
        if (!ns) {
            tide_schema_free(s);
            nomem(b);
            return TIDE_ENOMEM;
        }
        p->schemas = ns;
        p->cap_schemas = ncap;
    }
    p->schemas[p->nschemas++] = s;
    return 0;
}

/* The physical schema of a table (program-owned). */
static tide_schema *table_schema(binder *b, const tide_sql_table *t, bool with_time)
{
    tide_schema *s = NULL;
    tide_err er = {0};
    if (tide_schema_create(&s, &er))
        return nomem(b);
    for (uint32_t i = 0; i < t->ncols; i++) {
        if (t->cols[i].computed)
            continue;
        int rc = tide_schema_add(s, t->cols[i].name, t->cols[i].type, t->cols[i].nullable, &er);
        if (rc) {
            tide_schema_free(s);
            return rc == TIDE_ENOMEM ? nomem(b) : fail(b, rc, t->pos, "%s", er.msg);
        }
    }
    if (with_time && t->time_col >= 0 && !t->cols[t->time_col].computed)
        tide_schema_set_time_column(s, (int)t->cols[t->time_col].phys, &er);
    if (keep_schema(b, s))
        return NULL;
    return s;
}

/* Options of the 'logins' connector beyond tide_src_config_set's: 'count'
 * is 'events'; 'start' and 'end' take a timestamp or epoch ms.  Rewrites
 * *key / *value (num: room for the number); *is_end for 'end' (its value in
 * *end_ms, not for tide_src_config_set).  0 or TIDE_EINVAL. */
static int logins_option(const char **key, const char **value, char num[32], bool *is_end, int64_t *end_ms,
                         tide_err *er)
{
    *is_end = false;
    if (strcasecmp(*key, "count") == 0)
        *key = "events";
    if (strcasecmp(*key, "start") != 0 && strcasecmp(*key, "end") != 0)
        return 0;
    int64_t ms;
    char *endp;
    long long v = strtoll(*value, &endp, 10);
    tide_ts_error te;
    if (**value && !*endp)
        ms = v;
    else if (tide_ts_parse(*value, strlen(*value), &ms, &te))
        return tide_err_set(er, TIDE_EINVAL, "source option '%s': '%s' is neither a timestamp nor epoch milliseconds",
                            *key, *value);
    if (strcasecmp(*key, "end") == 0) {
        *is_end = true;
        *end_ms = ms;
        return 0;
    }
    snprintf(num, 32, "%lld", (long long)ms);
    *value = num;
    return 0;
}

/* One WITH option of a source table into *sc: logins_option, then
 * tide_src_config_set; an error names the option as the user wrote it
 * ('count', not the 'events' it stands for).  *is_end as logins_option. */
static int source_option(tide_src_config *sc, tide_sql_connector conn, const tide_sql_option *o, bool *is_end,
                         int64_t *end_ms, tide_err *er)
{
    const char *key = o->key, *value = o->value;
    char num[32];
    int rc = 0;
    *is_end = false;
    if (conn == TIDE_SQL_CONN_LOGINS)
        rc = logins_option(&key, &value, num, is_end, end_ms, er);
    if (rc || *is_end)
        return rc;
    tide_err own = {0};
    if ((rc = tide_src_config_set(sc, key, value, &own)) == 0)
        return 0;
    const char *rest = strchr(own.msg, ':');
    if (strncmp(own.msg, "source option '", 15) == 0 && rest)
        return tide_err_set(er, rc, "source option '%s'%s", o->key, rest);
    return tide_err_set(er, rc, "%s", own.msg);
}

/* A table read: Scan (+ Project for computed columns). */
static tide_sql_plan *plan_scan(binder *b, const tide_sql_table *t, tide_sql_pos pos)
{
    if (!tide_sql_connector_is_source(t->connector))
        return fail(b, TIDE_EINVAL, pos, "table '%s' (connector '%s') cannot be read from", t->name,
                    tide_sql_connector_name(t->connector));
    tide_sql_plan *p = node(b, TIDE_SQL_PLAN_SCAN, pos, t->nphys);
    if (!p)
        return NULL;
    p->u.scan.table = t;
    bool computed_time = t->time_col >= 0 && t->cols[t->time_col].computed;
    p->u.scan.time_col = t->time_col >= 0 && !computed_time ? (int)t->cols[t->time_col].phys : -1;
    p->u.scan.wm_bound = t->wm_bound;
    tide_src_config_init(&p->u.scan.cfg);
    const tide_sql_option *end_opt = NULL;
    int64_t end_ms = 0;
    for (uint32_t i = 0; i < t->noptions; i++) {
        const tide_sql_option *o = &t->options[i];
        if (strcasecmp(o->key, "key.column") == 0)
            continue; /* a sink option */
        if (strcasecmp(o->key, "dead-letter") == 0) { /* checked by CREATE TABLE */
            p->u.scan.dead_letter = o->value;
            continue;
        }
        tide_err er = {0};
        bool is_end = false;
        if (source_option(&p->u.scan.cfg, t->connector, o, &is_end, &end_ms, &er))
            return fail(b, TIDE_EINVAL, o->pos, "%s", er.msg);
        if (is_end)
            end_opt = o;
    }
    if (end_opt) {
        if (end_ms <= p->u.scan.cfg.gen.start_ms)
            return fail(b, TIDE_EINVAL, end_opt->pos, "source option 'end': must be after 'start'");
        p->u.scan.cfg.gen.end_ms = end_ms;
    }
    if (t->connector == TIDE_SQL_CONN_LOGINS) { /* checked now, not when the run starts */
        const char *bad = NULL;
        tide_err er = {0};
        if (tide_gen_logins_cfg_check(&p->u.scan.cfg.gen, &bad, &er)) {
            /* at the option the user wrote ('count' for 'events', 'end' for 'span') */
            tide_sql_pos at = t->pos;
            const char *name = bad;
            for (uint32_t i = 0; i < t->noptions && !strcmp(bad, "span"); i++)
                if (strcasecmp(t->options[i].key, "start") == 0) { /* a start too late for the span */
                    at = t->options[i].pos;
                    name = t->options[i].key;
                }
            for (uint32_t i = 0; i < t->noptions; i++) {
                const char *k = t->options[i].key;
                bool match = strcasecmp(k, bad) == 0 || (!strcmp(bad, "span") && strcasecmp(k, "end") == 0);
                if (match) {
                    at = t->options[i].pos;
                    name = k;
                }
            }
            const char *why = strstr(er.msg, "' ");
            return fail(b, TIDE_EINVAL, at, "source option '%s' of table '%s': %s", name, t->name,
                        why ? why + 2 : er.msg);
        }
    }
    if (t->connector != TIDE_SQL_CONN_LOGINS && !(p->u.scan.cfg.schema = table_schema(b, t, true)))
        return NULL;
    for (uint32_t i = 0; i < t->ncols; i++)
        if (!t->cols[i].computed)
            p->cols[t->cols[i].phys] = (tide_sql_col){t->cols[i].name, t->cols[i].type, (int)i == t->time_col};
    if (t->nphys == t->ncols)
        return p;
    if (computed_time) {
        /* the event time is computed: the scan computes the whole row, so
         * its watermark follows that column (Flink's computed rowtime) */
        if (t->connector == TIDE_SQL_CONN_LOGINS)
            return fail(b, TIDE_EUNSUPPORTED, t->cols[t->time_col].computed->pos,
                        "a computed WATERMARK column over the logins generator is not supported");
        rel in;
        tide_sql_bexpr **xs = bal(b, t->ncols * sizeof *xs);
        tide_sql_col *cols = bal(b, t->ncols * sizeof *cols);
        if (!xs || !cols || !rel_init(b, &in, p, t->name))
            return NULL;
        for (uint32_t i = 0; i < t->ncols; i++) {
            if (t->cols[i].computed)
                xs[i] = bind_expr(b, &in, t->cols[i].computed, NULL, "a computed column");
            else
                xs[i] = bx_col(b, NULL, t->cols[i].phys, t->cols[i].type);
            if (!xs[i])
                return NULL;
            cols[i] = (tide_sql_col){t->cols[i].name, xs[i]->type, (int)i == t->time_col};
        }
        p->cols = cols;
        p->ncols = t->ncols;
        p->u.scan.computed = xs;
        p->u.scan.time_col = t->time_col;
        return p;
    }
    /* computed columns: a projection over the physical ones */
    tide_sql_plan *pr = node(b, TIDE_SQL_PLAN_PROJECT, pos, t->ncols);
    rel in;
    if (!pr || !rel_init(b, &in, p, t->name) || !(pr->u.project.exprs = bal(b, t->ncols * sizeof(void *))))
        return NULL;
    pr->input = p;
    for (uint32_t i = 0; i < t->ncols; i++) {
        tide_sql_bexpr *x;
        if (t->cols[i].computed)
            x = bind_expr(b, &in, t->cols[i].computed, NULL, "a computed column");
        else
            x = bx_col(b, NULL, t->cols[i].phys, t->cols[i].type);
        if (!x)
            return NULL;
        pr->u.project.exprs[i] = x;
        pr->cols[i] = (tide_sql_col){t->cols[i].name, x->type, (int)i == t->time_col};
    }
    return pr;
}

/* ---- queries ---- */

static bool bind_query(binder *b, const tide_sql_query *q, cte_env *env, rel *out);

static bool bind_from(binder *b, const tide_sql_from *f, cte_env *env, rel *out);

static bool bind_table_ref(binder *b, const tide_sql_name *name, const tide_sql_name *alias,
                           tide_sql_pos pos, cte_env *env, rel *out)
{
    const char *qual = alias->str ? alias->str : name->str;
    for (cte_env *c = env; c; c = c->next)
        if (name_eq(c->cte->name.str, name->str)) {
            rel r;
            if (!bind_query(b, c->cte->query, c->next, &r))
                return false;
            return rel_init(b, out, r.plan, qual);
        }
    const tide_sql_table *t = tide_sql_catalog_find(b->cat, name->str);
    if (!t) {
        char h[96];
        tide_sql_suggest s;
        tide_sql_suggest_init(&s, name->str, name->len);
        for (cte_env *c = env; c; c = c->next)
            tide_sql_suggest_offer(&s, c->cte->name.str);
        for (uint32_t i = 0; i < tide_sql_catalog_count(b->cat); i++)
            tide_sql_suggest_offer(&s, tide_sql_catalog_at(b->cat, i)->name);
        fail(b, TIDE_EINVAL, name->pos, "unknown table '%s'%s", name->str, hint(h, sizeof h, &s));
        return false;
    }
    if (t->is_view) {
        if (b->view_depth > 64) {
            fail(b, TIDE_EINVAL, pos, "views nested too deeply");
            return false;
        }
        rel r;
        b->view_depth++;
        bool ok = bind_query(b, t->view, NULL, &r);
        b->view_depth--;
        return ok && rel_init(b, out, r.plan, qual);
    }
    return rel_init(b, out, plan_scan(b, t, pos), qual);
}

static bool window_arg_ms(binder *b, const tide_sql_expr *e, int64_t *ms)
{
    if (e->kind == TIDE_SQL_EXPR_UNARY && e->u.unary.op == TIDE_SQL_OP_NEG &&
        e->u.unary.arg->kind == TIDE_SQL_EXPR_INTERVAL) { /* -INTERVAL '8' HOUR (an offset) */
        if (!interval_ms(b, e->u.unary.arg, ms))
            return false;
        *ms = -*ms;
        return true;
    }
    if (e->kind != TIDE_SQL_EXPR_INTERVAL) {
        fail(b, TIDE_EINVAL, e->pos, "window sizes must be INTERVAL literals");
        return false;
    }
    return interval_ms(b, e, ms);
}

static bool bind_window(binder *b, const tide_sql_from *f, cte_env *env, rel *out)
{
    rel in;
    const char *wname = tide_sql_window_name(f->u.window.kind);
    if (!bind_from(b, f->u.window.input, env, &in))
        return false;
    tide_sql_plan *ip = in.plan;
    const tide_sql_name *tc = &f->u.window.time_col;
    tide_sql_name noq = {0};
    int ti = resolve(b, &in, &noq, tc, tc->pos);
    if (ti < 0)
        return false;
    if (!ip->cols[ti].rowtime) {
        int rt = -1;
        for (uint32_t i = 0; i < ip->ncols; i++)
            if (ip->cols[i].rowtime)
                rt = (int)i;
        if (rt < 0)
            fail(b, TIDE_EINVAL, f->u.window.input->pos,
                 "%s needs an input with an event-time column (declare a WATERMARK on the table)", wname);
        else
            fail(b, TIDE_EINVAL, tc->pos, "DESCRIPTOR(%s) must name the event-time column '%s'", tc->str,
                 ip->cols[rt].name);
        return false;
    }
    if (ip->changelog) {
        fail(b, TIDE_EUNSUPPORTED, f->pos, "%s over a changelog input is not supported", wname);
        return false;
    }
    tide_sql_window w = {.time_col = (uint32_t)ti, .time_name = ip->cols[ti].name};
    int64_t a[3] = {0, 0, 0};
    for (uint32_t i = 0; i < f->u.window.nargs && i < 3; i++)
        if (!window_arg_ms(b, f->u.window.args[i], &a[i]))
            return false;
    switch (f->u.window.kind) {
    case TIDE_SQL_WINDOW_TUMBLE:
        w.spec = tide_win_tumble(a[0]);
        w.offset = a[1];
        break;
    case TIDE_SQL_WINDOW_HOP:
        w.spec = tide_win_hop(a[0], a[1]);
        w.offset = a[2];
        break;
    case TIDE_SQL_WINDOW_CUMULATE:
        w.spec = tide_win_cumulate(a[0], a[1]);
        w.offset = a[2];
        break;
    case TIDE_SQL_WINDOW_SESSION: w.spec = tide_win_session(a[0]); break;
    }
    tide_win_set_offset(&w.spec, w.offset); /* (as Flink: only the offset modulo the alignment counts) */
    tide_err er = {0};
    if (tide_win_spec_check(&w.spec, &er)) {
        bool named = strncmp(er.msg, wname, strlen(wname)) == 0;
        /* at the size (HOP, CUMULATE: the one that must be a multiple) */
        uint32_t at = f->u.window.kind == TIDE_SQL_WINDOW_HOP || f->u.window.kind == TIDE_SQL_WINDOW_CUMULATE;
        tide_sql_pos pos = at < f->u.window.nargs ? f->u.window.args[at]->pos : f->pos;
        fail(b, TIDE_EINVAL, pos, "%s%s%s", named ? "" : wname, named ? "" : ": ", er.msg);
        return false;
    }
    if (f->u.window.npartition) {
        if (!(w.partition = bal(b, f->u.window.npartition * sizeof *w.partition)) ||
            !(w.partition_pos = bal(b, f->u.window.npartition * sizeof *w.partition_pos)))
            return false;
        for (uint32_t i = 0; i < f->u.window.npartition; i++) {
            tide_sql_bexpr *k = bind_expr(b, &in, f->u.window.partition_by[i], NULL, "PARTITION BY");
            if (!k)
                return false;
            if (k->kind != TIDE_SQL_BX_COLUMN) {
                fail(b, TIDE_EINVAL, k->ast->pos, "PARTITION BY takes columns");
                return false;
            }
            w.partition[i] = k->col;
            w.partition_pos[i] = f->u.window.partition_by[i]->pos;
        }
        w.npartition = f->u.window.npartition;
    }
    tide_sql_plan *p = node(b, TIDE_SQL_PLAN_WINDOW, f->pos, ip->ncols + 3);
    if (!p)
        return false;
    p->input = ip;
    p->u.window.w = w;
    memcpy(p->cols, ip->cols, ip->ncols * sizeof *p->cols);
    p->cols[ip->ncols] = (tide_sql_col){"window_start", TIDE_TYPE_TIMESTAMP, false};
    p->cols[ip->ncols + 1] = (tide_sql_col){"window_end", TIDE_TYPE_TIMESTAMP, false};
    p->cols[ip->ncols + 2] = (tide_sql_col){"window_time", TIDE_TYPE_TIMESTAMP, true};
    const char *qual = f->alias.str ? f->alias.str : NULL;
    if (!rel_init(b, out, p, qual))
        return false;
    for (uint32_t i = 0; i < ip->ncols && !qual; i++)
        out->quals[i] = in.quals[i];
    return true;
}

/* Whether x compares a rowtime column of the left side with one of the right. */
static void join_times(const tide_sql_bexpr *x, const tide_sql_plan *p, uint32_t nleft, bool *l, bool *r)
{
    if (!x)
        return;
    if (x->kind == TIDE_SQL_BX_COLUMN) {
        if (x->col < p->ncols && p->cols[x->col].rowtime)
            *(x->col < nleft ? l : r) = true;
        return;
    }
    for (uint32_t i = 0; i < x->nargs; i++)
        join_times(x->args[i], p, nleft, l, r);
}

/* Column c of p, followed down through Filter / Project nodes while it is
 * a plain column reference: *base gets the node reached (a Project whose
 * expression is not a column, or the first node of another kind), the
 * result is the column there. */
static uint32_t col_below(const tide_sql_plan *p, uint32_t c, const tide_sql_plan **base)
{
    while (p->kind == TIDE_SQL_PLAN_FILTER || p->kind == TIDE_SQL_PLAN_PROJECT) {
        if (p->kind == TIDE_SQL_PLAN_PROJECT) {
            const tide_sql_bexpr *x = p->u.project.exprs[c];
            if (x->kind != TIDE_SQL_BX_COLUMN)
                break;
            c = x->col;
        }
        p = p->input;
    }
    *base = p;
    return c;
}

/* Column c of p is the window_end of a window aggregation or a window TVF
 * below it (of one in each branch of a UNION ALL). */
static bool is_window_end(const tide_sql_plan *p, uint32_t c)
{
    const tide_sql_plan *base;
    c = col_below(p, c, &base);
    if (base->kind == TIDE_SQL_PLAN_UNION)
        return is_window_end(base->input, c) && is_window_end(base->right, c);
    if (base->kind == TIDE_SQL_PLAN_WINDOW_AGGREGATE)
        return c == base->u.agg.nkeys + 1;
    if (base->kind == TIDE_SQL_PLAN_WINDOW)
        return c == base->input->ncols + 1;
    return false;
}

/* Whether ON (a conjunction) equates a left and a right window_end column:
 * a join of two windowed inputs per window, whose rows come when their
 * window closes, so their times stay event-time attributes (Flink keeps the
 * time attributes of a window join; tide's window-end join of windowed
 * aggregations releases rows at the same watermark step). */
static bool joins_window_ends(const tide_sql_bexpr *x, const tide_sql_plan *l, const tide_sql_plan *r)
{
    if (!x || x->kind != TIDE_SQL_BX_NODE || !x->ast || x->ast->kind != TIDE_SQL_EXPR_BINARY || x->nargs != 2)
        return false;
    if (x->ast->u.binary.op == TIDE_SQL_OP_AND)
        return joins_window_ends(x->args[0], l, r) || joins_window_ends(x->args[1], l, r);
    if (x->ast->u.binary.op != TIDE_SQL_OP_EQ || x->args[0]->kind != TIDE_SQL_BX_COLUMN ||
        x->args[1]->kind != TIDE_SQL_BX_COLUMN)
        return false;
    uint32_t a = x->args[0]->col, c = x->args[1]->col, nl = l->ncols;
    if (a >= nl && c < nl) {
        uint32_t t = a;
        a = c;
        c = t;
    }
    return a < nl && c >= nl && is_window_end(l, a) && is_window_end(r, c - nl);
}

static bool bind_join(binder *b, const tide_sql_from *f, cte_env *env, rel *out)
{
    rel l, r;
    if (!bind_from(b, f->u.join.left, env, &l) || !bind_from(b, f->u.join.right, env, &r))
        return false;
    uint32_t nl = l.plan->ncols, nr = r.plan->ncols;
    tide_sql_plan *p = node(b, TIDE_SQL_PLAN_JOIN, f->pos, nl + nr);
    if (!p)
        return false;
    p->input = l.plan;
    p->right = r.plan;
    p->u.join.kind = f->u.join.kind;
    p->u.join.ttl = b->state_ttl;
    memcpy(p->cols, l.plan->cols, nl * sizeof *p->cols);
    memcpy(p->cols + nl, r.plan->cols, nr * sizeof *p->cols);
    if (!(out->quals = bal(b, (nl + nr ? nl + nr : 1) * sizeof *out->quals)))
        return false;
    memcpy(out->quals, l.quals, nl * sizeof *out->quals);
    memcpy(out->quals + nl, r.quals, nr * sizeof *out->quals);
    out->plan = p;
    if (f->u.join.on) {
        tide_sql_bexpr *on = check_bool(b, bind_expr(b, out, f->u.join.on, NULL, "a join condition"),
                                        "a join condition");
        if (!on)
            return false;
        p->u.join.on = on;
        bool lt = false, rt = false;
        join_times(on, p, nl, &lt, &rt);
        bool lw = l.plan->kind == TIDE_SQL_PLAN_WINDOW, rw = r.plan->kind == TIDE_SQL_PLAN_WINDOW;
        p->u.join.cls = lw && rw ? TIDE_SQL_JOIN_WINDOW : lt && rt ? TIDE_SQL_JOIN_INTERVAL : TIDE_SQL_JOIN_REGULAR;
    }
    bool outer = f->u.join.kind == TIDE_SQL_JOIN_LEFT || f->u.join.kind == TIDE_SQL_JOIN_RIGHT ||
                 f->u.join.kind == TIDE_SQL_JOIN_FULL;
    /* an outer join per interval or window (and of windowed aggregates on
     * window_end) pads a row once, when nothing can match it any more:
     * append-only; an unwindowed outer join retracts its padded rows */
    bool per_window = p->u.join.cls != TIDE_SQL_JOIN_REGULAR || joins_window_ends(p->u.join.on, l.plan, r.plan);
    p->changelog = l.plan->changelog || r.plan->changelog || (outer && !per_window);
    if (!per_window)
        for (uint32_t i = 0; i < p->ncols; i++)
            p->cols[i].rowtime = false; /* a regular join keeps no watermark order */
    /* the padded side's times can be NULL: no longer event-time attributes */
    for (uint32_t i = 0; outer && i < p->ncols; i++)
        if (i < nl ? f->u.join.kind != TIDE_SQL_JOIN_LEFT : f->u.join.kind != TIDE_SQL_JOIN_RIGHT)
            p->cols[i].rowtime = false;
    return true;
}

static bool bind_from(binder *b, const tide_sql_from *f, cte_env *env, rel *out)
{
    if (b->rc)
        return false;
    switch (f->kind) {
    case TIDE_SQL_FROM_TABLE: return bind_table_ref(b, &f->u.table.name, &f->alias, f->pos, env, out);
    case TIDE_SQL_FROM_SUBQUERY: {
        rel r;
        if (!bind_query(b, f->u.subquery.query, env, &r))
            return false;
        return rel_init(b, out, r.plan, f->alias.str);
    }
    case TIDE_SQL_FROM_WINDOW: return bind_window(b, f, env, out);
    case TIDE_SQL_FROM_JOIN: return bind_join(b, f, env, out);
    }
    return false;
}

static const char *item_name(binder *b, const tide_sql_select_item *it, uint32_t i)
{
    if (it->alias.str)
        return it->alias.str;
    if (it->expr->kind == TIDE_SQL_EXPR_COLUMN)
        return it->expr->u.column.name.str;
    char buf[32];
    snprintf(buf, sizeof buf, "EXPR$%u", i);
    return bstrdup(b, buf);
}

/* A Project of the select list over r (or over an aggregation, with ac). */
static tide_sql_plan *plan_project(binder *b, const tide_sql_select *sel, const rel *r, aggctx *ac)
{
    /* count the output columns (stars expand) */
    uint32_t n = 0;
    for (uint32_t i = 0; i < sel->nitems; i++) {
        const tide_sql_expr *e = sel->items[i].expr;
        if (e->kind != TIDE_SQL_EXPR_STAR) {
            n++;
            continue;
        }
        if (ac)
            return fail(b, TIDE_EINVAL, e->pos, "'*' cannot be used with GROUP BY or aggregates");
        uint32_t m = 0;
        for (uint32_t c = 0; c < r->plan->ncols; c++)
            if (!e->u.column.qualifier.str || name_eq(r->quals[c], e->u.column.qualifier.str))
                m++;
        if (m == 0 && e->u.column.qualifier.str)
            return fail(b, TIDE_EINVAL, e->u.column.qualifier.pos, "unknown table or alias '%s'",
                        e->u.column.qualifier.str);
        n += m;
    }
    tide_sql_plan *p = node(b, TIDE_SQL_PLAN_PROJECT, sel->pos, n);
    if (!p || !(p->u.project.exprs = bal(b, (n ? n : 1) * sizeof(void *))))
        return NULL;
    p->input = r->plan;
    p->changelog = r->plan->changelog;
    uint32_t k = 0;
    for (uint32_t i = 0; i < sel->nitems; i++) {
        const tide_sql_expr *e = sel->items[i].expr;
        if (e->kind == TIDE_SQL_EXPR_STAR) {
            for (uint32_t c = 0; c < r->plan->ncols; c++)
                if (!e->u.column.qualifier.str || name_eq(r->quals[c], e->u.column.qualifier.str)) {
                    if (!(p->u.project.exprs[k] = bx_col(b, NULL, c, r->plan->cols[c].type)))
                        return NULL;
                    p->cols[k++] = r->plan->cols[c];
                }
            continue;
        }
        tide_sql_bexpr *x = bind_expr(b, r, e, ac, "the select list");
        if (!x)
            return NULL;
        if (x->interval)
            return fail(b, TIDE_EUNSUPPORTED, e->pos, "INTERVAL values cannot be output columns");
        p->u.project.exprs[k] = x;
        p->cols[k].name = item_name(b, &sel->items[i], k);
        p->cols[k].type = x->type;
        p->cols[k].rowtime = x->kind == TIDE_SQL_BX_COLUMN && x->col < r->plan->ncols &&
                             r->plan->cols[x->col].rowtime;
        k++;
    }
    /* duplicate output names make later references ambiguous, which
     * resolve() reports; that is what Flink does too */
    return b->rc ? NULL : p;
}

/* ---- Top-N: ROW_NUMBER filtered by a rank range ---- */

/* Whether column col of p is the window_start (0) or window_end (1) of a
 * window TVF or a windowed aggregation below (through Projects and
 * Filters); -1 if not. */
static int window_bound(const tide_sql_plan *p, uint32_t col)
{
    for (;;) {
        switch (p->kind) {
        case TIDE_SQL_PLAN_PROJECT: {
            const tide_sql_bexpr *x = p->u.project.exprs[col];
            if (x->kind != TIDE_SQL_BX_COLUMN)
                return -1;
            col = x->col;
            p = p->input;
            break;
        }
        case TIDE_SQL_PLAN_FILTER: p = p->input; break;
        case TIDE_SQL_PLAN_OVER:
            if (col >= p->input->ncols)
                return -1;
            p = p->input;
            break;
        case TIDE_SQL_PLAN_WINDOW: {
            uint32_t nin = p->input->ncols;
            return col == nin ? 0 : col == nin + 1 ? 1 : -1;
        }
        case TIDE_SQL_PLAN_WINDOW_AGGREGATE: {
            uint32_t nk = p->u.agg.nkeys;
            return col == nk ? 0 : col == nk + 1 ? 1 : -1;
        }
        default: return -1;
        }
    }
}

/* The OVER node of ROW_NUMBER whose rank is column col of p (through
 * Projects that pass columns), with the nodes between them; NULL if none. */
static tide_sql_plan *rank_source(tide_sql_plan *p, uint32_t col, tide_sql_plan **chain, uint32_t *nchain)
{
    *nchain = 0;
    while (p->kind == TIDE_SQL_PLAN_PROJECT && *nchain < 64) {
        const tide_sql_bexpr *x = p->u.project.exprs[col];
        if (x->kind != TIDE_SQL_BX_COLUMN)
            return NULL;
        chain[(*nchain)++] = p;
        col = x->col;
        p = p->input;
    }
    if (p->kind != TIDE_SQL_PLAN_OVER || col < p->input->ncols || !p->u.over.calls[col - p->input->ncols].row_number)
        return NULL;
    return p;
}

/* An integer literal (as bound). */
static bool int_lit(const tide_sql_bexpr *x, int64_t *v)
{
    if (x->kind != TIDE_SQL_BX_NODE || x->ast->kind != TIDE_SQL_EXPR_INT)
        return false;
    *v = x->ast->u.i64;
    return true;
}

/* Narrow [*lo, *hi] by the conjuncts of pred that bound column col. */
static void rank_bounds(const tide_sql_bexpr *x, uint32_t col, int64_t *lo, int64_t *hi)
{
    if (x->kind != TIDE_SQL_BX_NODE)
        return;
    const tide_sql_expr *a = x->ast;
    int64_t v, w;
    if (a->kind == TIDE_SQL_EXPR_BINARY && a->u.binary.op == TIDE_SQL_OP_AND) {
        rank_bounds(x->args[0], col, lo, hi);
        rank_bounds(x->args[1], col, lo, hi);
        return;
    }
    if (a->kind == TIDE_SQL_EXPR_BETWEEN && !a->u.between.negated && x->args[0]->kind == TIDE_SQL_BX_COLUMN &&
        x->args[0]->col == col && int_lit(x->args[1], &v) && int_lit(x->args[2], &w)) {
        *lo = v > *lo ? v : *lo;
        *hi = w < *hi ? w : *hi;
        return;
    }
    if (a->kind != TIDE_SQL_EXPR_BINARY)
        return;
    tide_sql_binop op = a->u.binary.op;
    if (x->args[1]->kind == TIDE_SQL_BX_COLUMN && x->args[1]->col == col && int_lit(x->args[0], &v)) {
        /* N op rn: mirror it */
        switch (op) {
        case TIDE_SQL_OP_LT: op = TIDE_SQL_OP_GT; break;
        case TIDE_SQL_OP_LE: op = TIDE_SQL_OP_GE; break;
        case TIDE_SQL_OP_GT: op = TIDE_SQL_OP_LT; break;
        case TIDE_SQL_OP_GE: op = TIDE_SQL_OP_LE; break;
        default: break;
        }
    } else if (!(x->args[0]->kind == TIDE_SQL_BX_COLUMN && x->args[0]->col == col && int_lit(x->args[1], &v))) {
        return;
    }
    switch (op) {
    case TIDE_SQL_OP_EQ:
        *lo = v > *lo ? v : *lo;
        *hi = v < *hi ? v : *hi;
        break;
    case TIDE_SQL_OP_LT:
        if (v - 1 < *hi)
            *hi = v - 1;
        break;
    case TIDE_SQL_OP_LE:
        if (v < *hi)
            *hi = v;
        break;
    case TIDE_SQL_OP_GT:
        if (v < INT64_MAX && v + 1 > *lo)
            *lo = v + 1;
        break;
    case TIDE_SQL_OP_GE:
        if (v > *lo)
            *lo = v;
        break;
    default: break;
    }
}

/* WHERE pred over rel r: when it bounds the rank of a ROW_NUMBER below,
 * that OVER node becomes a Top-N (returned, with *rn_col the rank's column
 * in r); the filter itself stays (every row the Top-N emits passes it). */
static tide_sql_plan *bind_topn(binder *b, const rel *r, tide_sql_plan *filter, uint32_t *rn_col)
{
    const tide_sql_bexpr *pred = filter->u.filter.pred;
    for (uint32_t c = 0; c < r->plan->ncols; c++) {
        tide_sql_plan *chain[64];
        uint32_t nchain;
        tide_sql_plan *ov = rank_source(r->plan, c, chain, &nchain);
        if (!ov || ov->u.over.topn)
            continue;
        int64_t lo = 1, hi = INT64_MAX;
        rank_bounds(pred, c, &lo, &hi);
        if (hi == INT64_MAX)
            continue;
        if (lo > hi || hi < 1)
            return fail(b, TIDE_EINVAL, filter->pos, "this filter leaves no rank of the ROW_NUMBER (%lld to %lld)",
                        (long long)lo, (long long)hi);
        tide_sql_plan *in = ov->input;
        tide_sql_topn_kind kind = TIDE_SQL_TOPN_UPDATING;
        int ws = -1, we = -1;
        for (uint32_t k = 0; k < ov->u.over.nkeys; k++) {
            const tide_sql_bexpr *x = ov->u.over.keys[k];
            int wb = x->kind == TIDE_SQL_BX_COLUMN ? window_bound(in, x->col) : -1;
            if (wb == 0)
                ws = (int)k;
            if (wb == 1)
                we = (int)k;
        }
        const tide_sql_bexpr *o0 = ov->u.over.order[0];
        if (in->changelog)
            kind = TIDE_SQL_TOPN_UPDATING;
        else if (ws >= 0 && we >= 0)
            kind = TIDE_SQL_TOPN_WINDOW;
        else if (lo == 1 && hi == 1 && ov->u.over.norder == 1 && !ov->u.over.desc[0] &&
                 o0->kind == TIDE_SQL_BX_COLUMN && in->cols[o0->col].rowtime)
            kind = TIDE_SQL_TOPN_FIRST;
        ov->u.over.topn = true;
        ov->u.over.rank_lo = lo < 1 ? 1 : lo;
        ov->u.over.rank_hi = hi;
        ov->u.over.rank_out = true;
        ov->u.over.topn_kind = kind;
        ov->u.over.window_end = we >= 0 ? (uint32_t)we : 0;
        bool cl = kind == TIDE_SQL_TOPN_UPDATING;
        ov->changelog = cl;
        for (uint32_t i = 0; i < nchain; i++)
            chain[i]->changelog = cl;
        filter->changelog = cl;
        *rn_col = c;
        return ov;
    }
    return NULL;
}

static bool bind_emit(binder *b, const tide_sql_emit *em, bool windowed, tide_sql_emit_spec *out)
{
    memset(out, 0, sizeof *out);
    out->mode = TIDE_TRIG_ACCUMULATING;
    if (!em)
        return true;
    out->given = true;
    out->pos = em->pos;
    if (em->early_interval && !window_arg_ms(b, em->early_interval, &out->early_ms))
        return false;
    if (em->early_interval && out->early_ms <= 0) {
        fail(b, TIDE_EINVAL, em->early_interval->pos, "EARLY EVERY needs a positive interval");
        return false;
    }
    out->early_rows = em->early_rows;
    if (em->lateness) {
        if (!windowed) {
            fail(b, TIDE_EINVAL, em->lateness->pos, "ALLOW LATENESS needs a windowed aggregation");
            return false;
        }
        if (!window_arg_ms(b, em->lateness, &out->lateness))
            return false;
        if (out->lateness < 0) {
            fail(b, TIDE_EINVAL, em->lateness->pos, "ALLOW LATENESS needs a non-negative interval");
            return false;
        }
    }
    switch (em->mode) {
    case TIDE_SQL_ACC_ACCUMULATING: out->mode = TIDE_TRIG_ACCUMULATING; break;
    case TIDE_SQL_ACC_DISCARDING: out->mode = TIDE_TRIG_DISCARDING; break;
    case TIDE_SQL_ACC_RETRACTING: out->mode = TIDE_TRIG_RETRACTING; break;
    default: break;
    }
    return true;
}

/* A column reference made by the binder (legacy group windows). */
static tide_sql_expr *ast_column(binder *b, const char *name, tide_sql_pos pos)
{
    tide_sql_expr *c = bal(b, sizeof *c);
    if (!c)
        return NULL;
    c->kind = TIDE_SQL_EXPR_COLUMN;
    c->height = 1;
    c->pos = pos;
    c->u.column.name = (tide_sql_name){name, (uint32_t)strlen(name), false, pos};
    return c;
}

/*
 * The legacy group window syntax (Flink's `GROUP BY TUMBLE(ts, INTERVAL
 * '1' HOUR), k` with TUMBLE_START(ts, INTERVAL '1' HOUR) in the select
 * list), rewritten to the window TVF plan so the same operators run: FROM
 * x becomes TABLE(TUMBLE(TABLE x, DESCRIPTOR(ts), INTERVAL '1' HOUR)), the
 * group window becomes window_start, window_end in the GROUP BY, and
 * TUMBLE_START / _END / _ROWTIME become window_start / window_end /
 * window_time (bind_legacy_aux).  HOP(ts, slide, size) likewise.
 * SESSION(ts, gap): Flink's group sessions are per group key, so the other
 * GROUP BY keys (which must then be columns) become the TVF's PARTITION BY.
 * *out is sel itself or its rewritten copy (in the program arena); *call
 * the group window (NULL: none).
 */
static bool legacy_window(binder *b, const tide_sql_select *sel, const tide_sql_select **out,
                          const tide_sql_expr **call, tide_sql_window_kind *kind)
{
    static const struct {
        const char *name;
        tide_sql_window_kind kind;
        uint32_t nargs;
    } wins[] = {{"tumble", TIDE_SQL_WINDOW_TUMBLE, 2}, {"hop", TIDE_SQL_WINDOW_HOP, 3},
                {"session", TIDE_SQL_WINDOW_SESSION, 2}};
    *out = sel;
    *call = NULL;
    int at = -1, wk = -1;
    for (uint32_t i = 0; i < sel->ngroup_by; i++) {
        const tide_sql_expr *g = sel->group_by[i];
        if (g->kind != TIDE_SQL_EXPR_CALL || g->u.call.name.quoted || g->u.call.has_unit)
            continue;
        for (int k = 0; k < 3; k++)
            if (!strcmp(g->u.call.name.str, wins[k].name)) {
                if (at >= 0)
                    return fail(b, TIDE_EINVAL, g->pos, "a GROUP BY takes one group window"), false;
                at = (int)i;
                wk = k;
            }
    }
    if (at < 0)
        return true;
    const tide_sql_expr *c = sel->group_by[at];
    char up[16];
    fn_upper(up, sizeof up, wins[wk].name);
    if (c->u.call.nargs != wins[wk].nargs || c->u.call.distinct)
        return fail(b, TIDE_EINVAL, c->pos, "GROUP BY %s takes %s", up,
                    wk == 1 ? "(time, slide, size): HOP(ts, INTERVAL '5' MINUTE, INTERVAL '1' HOUR)"
                            : wk == 0 ? "(time, size): TUMBLE(ts, INTERVAL '1' HOUR)"
                                      : "(time, gap): SESSION(ts, INTERVAL '10' MINUTE)"),
               false;
    const tide_sql_expr *t = c->u.call.args[0];
    if (t->kind != TIDE_SQL_EXPR_COLUMN)
        return fail(b, TIDE_EINVAL, t->pos, "the first argument of %s must be the event-time column", up), false;
    if (!sel->from)
        return fail(b, TIDE_EINVAL, c->pos, "GROUP BY %s(...) needs a FROM", up), false;
    if (sel->from->kind == TIDE_SQL_FROM_WINDOW)
        return fail(b, TIDE_EINVAL, c->pos, "GROUP BY %s(...) over a window table function: use one or the other",
                    up),
               false;
    tide_sql_select *ns = bal(b, sizeof *ns);
    tide_sql_from *f = bal(b, sizeof *f);
    tide_sql_expr **gb = bal(b, (sel->ngroup_by + 1) * sizeof *gb);
    tide_sql_expr **part = bal(b, sel->ngroup_by * sizeof *part + 1);
    if (!ns || !f || !gb || !part)
        return false;
    uint32_t ng = 0, np = 0;
    for (uint32_t i = 0; i < sel->ngroup_by; i++) {
        if ((int)i == at)
            continue;
        gb[ng++] = sel->group_by[i];
        if (wins[wk].kind == TIDE_SQL_WINDOW_SESSION) {
            if (sel->group_by[i]->kind != TIDE_SQL_EXPR_COLUMN)
                return fail(b, TIDE_EINVAL, sel->group_by[i]->pos,
                            "with GROUP BY SESSION(...) the other keys partition the sessions, so they must be "
                            "columns"),
                       false;
            part[np++] = sel->group_by[i];
        }
    }
    if (!(gb[ng++] = ast_column(b, "window_start", c->pos)) || !(gb[ng++] = ast_column(b, "window_end", c->pos)))
        return false;
    *f = (tide_sql_from){.kind = TIDE_SQL_FROM_WINDOW, .height = sel->from->height + 1, .pos = c->pos};
    f->u.window.kind = wins[wk].kind;
    f->u.window.input = sel->from;
    f->u.window.partition_by = part;
    f->u.window.npartition = np;
    f->u.window.time_col = t->u.column.name;
    for (uint32_t i = 1; i < c->u.call.nargs; i++)
        f->u.window.args[f->u.window.nargs++] = c->u.call.args[i];
    *ns = *sel;
    ns->from = f;
    ns->group_by = gb;
    ns->ngroup_by = ng;
    *out = ns;
    *call = c;
    *kind = wins[wk].kind;
    return true;
}

static bool bind_select_in(binder *b, const tide_sql_select *sel, cte_env *env, rel *out);

#define GS_MAX_SETS 256

/*
 * GROUPING SETS, ROLLUP and CUBE: the GROUP BY is expanded into its
 * grouping sets (a plain item is in every set; GROUP BY a, ROLLUP(b, c)
 * gives (a, b, c), (a, b), (a)), and the SELECT is bound once per set, as
 * a GROUP BY of that set whose other keys read as NULL and whose
 * GROUPING() calls are constants; the branches are one UNION ALL.  The
 * same operators run as for a plain GROUP BY (a table is still scanned
 * once); each branch is windowed when its set holds window_start and
 * window_end (Flink requires them in every set of a windowed query).
 */
static bool bind_grouping_sets(binder *b, const tide_sql_select *sel, cte_env *env, rel *out)
{
    uint32_t cap = sel->ngroup_by * 8 + 8; /* exprs per set, at most */
    for (uint32_t i = 0; i < sel->ngroup_by; i++)
        if (sel->group_by[i]->kind == TIDE_SQL_EXPR_GROUPING)
            for (uint32_t j = 0; j < sel->group_by[i]->u.grouping.n; j++) {
                const tide_sql_expr *it = sel->group_by[i]->u.grouping.items[j];
                cap += it->kind == TIDE_SQL_EXPR_GROUPING ? it->u.grouping.n : 1;
            }
    /* sets[s][0 .. nset[s]) */
    const tide_sql_expr ***sets = bal(b, GS_MAX_SETS * sizeof *sets);
    uint32_t *nset = bal(b, GS_MAX_SETS * sizeof *nset), ns = 1;
    const tide_sql_expr ***opts = bal(b, GS_MAX_SETS * sizeof *opts);
    uint32_t *nopt = bal(b, GS_MAX_SETS * sizeof *nopt);
    if (!sets || !nset || !opts || !nopt || !(sets[0] = bal(b, cap * sizeof **sets)))
        return false;
    nset[0] = 0;
    for (uint32_t i = 0; i < sel->ngroup_by; i++) {
        const tide_sql_expr *g = sel->group_by[i];
        uint32_t no = 0;
        if (g->kind != TIDE_SQL_EXPR_GROUPING) {
            opts[0] = (const tide_sql_expr **)&sel->group_by[i];
            nopt[no++] = 1;
        } else {
            tide_sql_expr **it = g->u.grouping.items;
            uint32_t n = g->u.grouping.n;
            switch (g->u.grouping.kind) {
            case TIDE_SQL_GROUPING_SET:
                opts[no] = (const tide_sql_expr **)it;
                nopt[no++] = n;
                break;
            case TIDE_SQL_GROUPING_SETS:
                for (uint32_t j = 0; j < n && no < GS_MAX_SETS; j++) {
                    bool set = it[j]->kind == TIDE_SQL_EXPR_GROUPING;
                    opts[no] = set ? (const tide_sql_expr **)it[j]->u.grouping.items : (const tide_sql_expr **)&it[j];
                    nopt[no++] = set ? it[j]->u.grouping.n : 1;
                }
                break;
            case TIDE_SQL_GROUPING_ROLLUP:
                for (uint32_t k = n + 1; k-- > 0 && no < GS_MAX_SETS;) {
                    opts[no] = (const tide_sql_expr **)it;
                    nopt[no++] = k;
                }
                break;
            case TIDE_SQL_GROUPING_CUBE:
                if (n > 8)
                    return fail(b, TIDE_EUNSUPPORTED, g->pos, "CUBE of more than 8 keys (%u grouping sets)",
                                1u << (n < 31 ? n : 31)),
                           false;
                for (uint32_t m = (1u << n); m-- > 0;) {
                    const tide_sql_expr **o = bal(b, (n + 1) * sizeof *o);
                    if (!o)
                        return false;
                    uint32_t c = 0;
                    for (uint32_t k = 0; k < n; k++)
                        if (m >> (n - 1 - k) & 1)
                            o[c++] = it[k];
                    opts[no] = o;
                    nopt[no++] = c;
                }
                break;
            }
        }
        if ((uint64_t)ns * no > GS_MAX_SETS)
            return fail(b, TIDE_EUNSUPPORTED, g->pos, "more than %d grouping sets", GS_MAX_SETS), false;
        /* every set so far times every option, in order */
        const tide_sql_expr ***nsets = bal(b, GS_MAX_SETS * sizeof *nsets);
        uint32_t *nnset = bal(b, GS_MAX_SETS * sizeof *nnset), k = 0;
        if (!nsets || !nnset)
            return false;
        for (uint32_t s = 0; s < ns; s++)
            for (uint32_t o = 0; o < no; o++) {
                if (!(nsets[k] = bal(b, cap * sizeof **nsets)))
                    return false;
                memcpy(nsets[k], sets[s], nset[s] * sizeof **sets);
                nnset[k] = nset[s];
                for (uint32_t j = 0; j < nopt[o]; j++) {
                    bool dup = false; /* GROUP BY a, ROLLUP(a, b): a once */
                    for (uint32_t q = 0; q < nnset[k] && !dup; q++)
                        dup = expr_text_eq(b, nsets[k][q], opts[o][j]);
                    if (b->rc)
                        return false;
                    if (!dup && nnset[k] < cap)
                        nsets[k][nnset[k]++] = opts[o][j];
                }
                k++;
            }
        sets = nsets;
        nset = nnset;
        ns = k;
    }
    /* the keys of all the sets */
    uint32_t total = 0;
    for (uint32_t s = 0; s < ns; s++)
        total += nset[s];
    gsctx gc = {.keys = bal(b, (total + 1) * sizeof *gc.keys)};
    bool *in = bal(b, total + 1);
    if (!gc.keys || !in)
        return false;
    for (uint32_t s = 0; s < ns; s++)
        for (uint32_t j = 0; j < nset[s]; j++) {
            bool seen = false;
            for (uint32_t k = 0; k < gc.nkeys && !seen; k++)
                seen = expr_text_eq(b, gc.keys[k], sets[s][j]);
            if (b->rc)
                return false;
            if (!seen)
                gc.keys[gc.nkeys++] = sets[s][j];
        }
    gc.in = in;
    bool windowed = sel->from && sel->from->kind == TIDE_SQL_FROM_WINDOW;
    rel acc = {0};
    for (uint32_t s = 0; s < ns; s++) {
        bool ws = false, we = false;
        for (uint32_t k = 0; k < gc.nkeys; k++) {
            in[k] = false;
            for (uint32_t j = 0; j < nset[s] && !in[k]; j++)
                in[k] = expr_text_eq(b, gc.keys[k], sets[s][j]);
            if (b->rc)
                return false;
        }
        for (uint32_t j = 0; j < nset[s]; j++) {
            const tide_sql_expr *x = sets[s][j];
            if (x->kind == TIDE_SQL_EXPR_COLUMN) {
                ws = ws || name_eq(x->u.column.name.str, "window_start");
                we = we || name_eq(x->u.column.name.str, "window_end");
            }
        }
        if (windowed && !(ws && we))
            return fail(b, TIDE_EINVAL, sel->pos,
                        "with a window table function every grouping set must hold window_start and window_end "
                        "(write them beside GROUPING SETS, ROLLUP or CUBE in the GROUP BY)"),
                   false;
        tide_sql_select *one = bal(b, sizeof *one);
        if (!one)
            return false;
        *one = *sel;
        one->group_by = (tide_sql_expr **)sets[s];
        one->ngroup_by = nset[s];
        b->gs = &gc;
        rel r;
        bool ok = bind_select_in(b, one, env, &r);
        b->gs = NULL;
        if (!ok)
            return false;
        if (s == 0) {
            acc = r;
            continue;
        }
        tide_sql_plan *p = node(b, TIDE_SQL_PLAN_UNION, sel->pos, acc.plan->ncols);
        if (!p)
            return false;
        for (uint32_t i = 0; i < p->ncols; i++) {
            tide_type t = acc.plan->cols[i].type, u = r.plan->cols[i].type;
            if (t != u && t != TIDE_TYPE_NULL && u != TIDE_TYPE_NULL)
                return fail(b, TIDE_EINVAL, sel->items[i < sel->nitems ? i : 0].expr->pos,
                            "column %u ('%s') is %s in one grouping set and %s in another", i + 1,
                            acc.plan->cols[i].name, tname(t), tname(u)),
                       false;
            p->cols[i] = acc.plan->cols[i];
            p->cols[i].type = t == TIDE_TYPE_NULL ? u : t;
            p->cols[i].rowtime = acc.plan->cols[i].rowtime && r.plan->cols[i].rowtime;
        }
        p->input = acc.plan;
        p->right = r.plan;
        p->changelog = acc.plan->changelog || r.plan->changelog;
        if (!rel_init(b, &acc, p, NULL))
            return false;
    }
    return rel_init(b, out, acc.plan, NULL);
}

/* ---- WHERE [NOT] EXISTS / [NOT] IN (subquery): semi and anti joins ----
 *
 * A subquery condition ANDed in a WHERE (under any number of NOTs) becomes
 * a join of the FROM with the subquery that keeps the FROM's rows: SEMI
 * keeps those that match a subquery row, ANTI those that match none
 * (exec/regjoin.h).  A simple subquery (SELECT ... FROM ... [WHERE ...],
 * no GROUP BY, DISTINCT, HAVING, UNION) may be correlated: its WHERE is
 * bound over the outer row and the subquery's FROM (a name is looked up in
 * the subquery first, then in the outer row, as SQL scopes them) and is the
 * join's condition; another subquery is bound on its own (uncorrelated).
 * x IN (SELECT y ...) adds x = y; x NOT IN (SELECT y ...) adds
 * x = y OR x IS NULL OR y IS NULL, the condition under which x <> y is not
 * TRUE: a row passes only when no subquery row makes it so (SQL's NULL
 * semantics of NOT IN: a NULL y, or a NULL x with any row, keeps it out). */

/* A copy of x with every column reference moved up by `by`. */
static tide_sql_bexpr *bx_shift(binder *b, const tide_sql_bexpr *x, uint32_t by)
{
    tide_sql_bexpr *y = bx_new(b, x->kind, x->ast, x->type, x->nargs);
    if (!y)
        return NULL;
    y->interval = x->interval;
    y->col = x->kind == TIDE_SQL_BX_COLUMN ? x->col + by : x->col;
    for (uint32_t i = 0; i < x->nargs; i++)
        if (x->args[i] && !(y->args[i] = bx_shift(b, x->args[i], by)))
            return NULL;
    return y;
}

/* A bound node over two bound operands, for an AST the binder wrote. */
static tide_sql_bexpr *bx_node2(binder *b, const tide_sql_expr *ast, tide_sql_bexpr *l, tide_sql_bexpr *r)
{
    tide_sql_bexpr *x = ast && l ? bx_new(b, TIDE_SQL_BX_NODE, ast, TIDE_TYPE_BOOLEAN, r ? 2 : 1) : NULL;
    if (x) {
        x->args[0] = l;
        if (r)
            x->args[1] = r;
    }
    return x;
}

static const tide_sql_expr *strip_not(const tide_sql_expr *e, bool *neg)
{
    while (e->kind == TIDE_SQL_EXPR_UNARY && e->u.unary.op == TIDE_SQL_OP_NOT) {
        *neg = !*neg;
        e = e->u.unary.arg;
    }
    return e;
}

/* The ANDed conditions of e, left to right, into out (at most cap): their count. */
static uint32_t and_terms(const tide_sql_expr *e, const tide_sql_expr **out, uint32_t n, uint32_t cap)
{
    if (e->kind == TIDE_SQL_EXPR_BINARY && e->u.binary.op == TIDE_SQL_OP_AND) {
        n = and_terms(e->u.binary.left, out, n, cap);
        return and_terms(e->u.binary.right, out, n, cap);
    }
    if (n < cap)
        out[n] = e;
    return n + 1;
}

static bool is_subq_term(const tide_sql_expr *e)
{
    bool neg = false;
    return strip_not(e, &neg)->kind == TIDE_SQL_EXPR_SUBQUERY;
}

/* The select of a subquery that can be correlated, or NULL. */
static const tide_sql_select *simple_subquery(const tide_sql_query *q)
{
    if (q->kind != TIDE_SQL_QUERY_SELECT || q->nctes || q->norder_by || q->limit)
        return NULL;
    const tide_sql_select *s = q->u.select;
    if (!s->from || s->distinct || s->ngroup_by || s->having || s->nwindows || s->emit)
        return NULL;
    for (uint32_t i = 0; i < s->nitems; i++)
        if (s->items[i].expr->kind != TIDE_SQL_EXPR_STAR && has_agg(s->items[i].expr))
            return NULL;
    return s;
}

/* Bind a condition of a correlated subquery over the subquery's FROM
 * (inner, its columns after the nl outer ones) if it binds there alone,
 * else over both (joined). */
static tide_sql_bexpr *bind_inner_first(binder *b, const rel *inner, const rel *joined, uint32_t nl,
                                        const tide_sql_expr *c)
{
    tide_sql_error saved;
    if (b->err)
        saved = *b->err;
    tide_sql_bexpr *x = bind_expr(b, inner, c, NULL, "a subquery's WHERE");
    if (x)
        return bx_shift(b, x, nl);
    if (b->rc == TIDE_ENOMEM)
        return NULL;
    b->rc = 0; /* not alone: the outer row too */
    if (b->err)
        *b->err = saved;
    return bind_expr(b, joined, c, NULL, "a subquery's WHERE");
}

static bool bind_subquery_join(binder *b, rel *left, const tide_sql_expr *term, cte_env *env)
{
    bool neg = false;
    const tide_sql_expr *e = strip_not(term, &neg);
    const tide_sql_expr *arg = e->u.subq.arg;
    bool anti = neg != e->u.subq.negated;
    const tide_sql_query *q = e->u.subq.query;
    const tide_sql_select *sel = simple_subquery(q);
    rel right;
    if (sel ? !bind_from(b, sel->from, env, &right) : !bind_query(b, q, env, &right))
        return false;
    uint32_t nl = left->plan->ncols, nr = right.plan->ncols;
    /* the joined scope: the outer row, then the subquery's */
    rel joined;
    tide_sql_plan *jp = node(b, TIDE_SQL_PLAN_JOIN, e->pos, nl + nr);
    if (!jp || !(joined.quals = bal(b, (nl + nr ? nl + nr : 1) * sizeof *joined.quals)))
        return false;
    memcpy(jp->cols, left->plan->cols, nl * sizeof *jp->cols);
    memcpy(jp->cols + nl, right.plan->cols, nr * sizeof *jp->cols);
    memcpy(joined.quals, left->quals, nl * sizeof *joined.quals);
    memcpy(joined.quals + nl, right.quals, nr * sizeof *joined.quals);
    joined.plan = jp;
    tide_sql_bexpr *on = NULL;
    const tide_sql_expr *on_ast = NULL;
    tide_sql_script *sc = b->script;
    if (arg) { /* x [NOT] IN (SELECT y ...) */
        const tide_sql_expr *item;
        tide_sql_bexpr *y;
        if (sel) {
            if (sel->nitems != 1 || sel->items[0].expr->kind == TIDE_SQL_EXPR_STAR)
                return fail(b, TIDE_EINVAL, q->pos, "an IN subquery selects one column"), false;
            item = sel->items[0].expr;
            y = bind_inner_first(b, &right, &joined, nl, item);
        } else {
            if (nr != 1)
                return fail(b, TIDE_EINVAL, q->pos, "an IN subquery selects one column, not %u", nr), false;
            tide_sql_name none = {0}, nm = {.str = right.plan->cols[0].name,
                                             .len = (uint32_t)strlen(right.plan->cols[0].name), .pos = q->pos};
            item = tide_sql_ast_column(sc, none, nm, q->pos);
            y = item ? bx_col(b, item, nl, right.plan->cols[0].type) : NULL;
        }
        tide_sql_bexpr *x = bind_expr(b, left, arg, NULL, "IN");
        if (!x || !y || !item)
            return b->rc ? false : (nomem(b), false);
        if (common(x->type, y->type) == TIDE_TYPE_COUNT || x->interval != y->interval)
            return fail(b, TIDE_EINVAL, e->pos, "cannot compare %s with %s", tname(x->type), tname(y->type)),
                   false;
        tide_sql_expr *xa = (tide_sql_expr *)arg, *ya = (tide_sql_expr *)item;
        tide_sql_expr *eq = tide_sql_ast_binary(sc, TIDE_SQL_OP_EQ, xa, ya, e->pos);
        on = bx_node2(b, eq, x, y);
        on_ast = eq;
        if (anti && on) { /* x = y OR x IS NULL OR y IS NULL */
            tide_sql_expr *xn = tide_sql_ast_is_null(sc, false, xa, e->pos);
            tide_sql_expr *yn = tide_sql_ast_is_null(sc, false, ya, e->pos);
            tide_sql_expr *o1 = xn ? tide_sql_ast_binary(sc, TIDE_SQL_OP_OR, eq, xn, e->pos) : NULL;
            tide_sql_expr *o2 = yn && o1 ? tide_sql_ast_binary(sc, TIDE_SQL_OP_OR, o1, yn, e->pos) : NULL;
            on = bx_node2(b, o2, bx_node2(b, o1, on, bx_node2(b, xn, x, NULL)), bx_node2(b, yn, y, NULL));
            on_ast = o2;
        }
        if (!on)
            return nomem(b), false;
    }
    if (sel && sel->where) { /* correlated: the subquery's WHERE, condition by condition */
        const tide_sql_expr *terms[64];
        uint32_t n = and_terms(sel->where, terms, 0, 64);
        if (n > 64)
            return fail(b, TIDE_EUNSUPPORTED, sel->where->pos,
                        "not supported yet: a subquery's WHERE of more than 64 ANDed conditions"),
                   false;
        for (uint32_t i = 0; i < n; i++) {
            if (is_subq_term(terms[i]))
                return fail(b, TIDE_EUNSUPPORTED, terms[i]->pos, "not supported yet: a subquery in a subquery"),
                       false;
            tide_sql_bexpr *c = check_bool(b, bind_inner_first(b, &right, &joined, nl, terms[i]), "WHERE");
            if (!c)
                return false;
            if (!on) {
                on = c;
                on_ast = terms[i];
                continue;
            }
            tide_sql_expr *and_ = tide_sql_ast_binary(sc, TIDE_SQL_OP_AND, (tide_sql_expr *)on_ast,
                                                      (tide_sql_expr *)terms[i], terms[i]->pos);
            if (!(on = bx_node2(b, and_, on, c)))
                return nomem(b), false;
            on_ast = and_;
        }
    }
    tide_sql_plan *p = node(b, TIDE_SQL_PLAN_JOIN, e->pos, nl);
    if (!p)
        return false;
    memcpy(p->cols, left->plan->cols, nl * sizeof *p->cols);
    for (uint32_t i = 0; i < nl; i++)
        p->cols[i].rowtime = false; /* rows come when a watermark step ends */
    p->input = left->plan;
    p->right = right.plan;
    p->u.join.kind = anti ? TIDE_SQL_JOIN_ANTI : TIDE_SQL_JOIN_SEMI;
    p->u.join.cls = TIDE_SQL_JOIN_REGULAR;
    p->u.join.on = on;
    p->u.join.ttl = b->state_ttl;
    /* a semi join's row is final while the subquery's rows are; an anti
     * join's row leaves when a match comes */
    p->changelog = left->plan->changelog || right.plan->changelog || anti;
    left->plan = p;
    return true;
}

/* Apply the subquery conditions of *where to *from; *where gets the rest
 * (NULL: none). */
static bool bind_where_subqueries(binder *b, rel *from, const tide_sql_expr **where, cte_env *env)
{
    const tide_sql_expr *terms[256];
    uint32_t n = and_terms(*where, terms, 0, 256);
    if (n > 256)
        return fail(b, TIDE_EUNSUPPORTED, (*where)->pos,
                    "not supported yet: a WHERE with subqueries and more than 256 ANDed conditions"),
               false;
    const tide_sql_expr *rest = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (is_subq_term(terms[i])) {
            if (!bind_subquery_join(b, from, terms[i], env))
                return false;
            continue;
        }
        rest = rest ? tide_sql_ast_binary(b->script, TIDE_SQL_OP_AND, (tide_sql_expr *)rest,
                                          (tide_sql_expr *)terms[i], terms[i]->pos)
                    : terms[i];
        if (!rest)
            return nomem(b), false;
    }
    *where = rest;
    return true;
}

static bool bind_select(binder *b, const tide_sql_select *sel, cte_env *env, rel *out)
{
    const tide_sql_expr *saved = b->legacy;
    tide_sql_window_kind saved_kind = b->legacy_kind;
    const gsctx *saved_gs = b->gs;
    b->legacy = NULL;
    b->gs = NULL;
    bool ok;
    uint32_t i = 0;
    while (i < sel->ngroup_by && sel->group_by[i]->kind != TIDE_SQL_EXPR_GROUPING)
        i++;
    if (i < sel->ngroup_by)
        ok = bind_grouping_sets(b, sel, env, out);
    else
        ok = bind_select_in(b, sel, env, out);
    b->legacy = saved;
    b->legacy_kind = saved_kind;
    b->gs = saved_gs;
    return ok;
}

static bool bind_select_in(binder *b, const tide_sql_select *sel, cte_env *env, rel *out)
{
    rel from;
    const tide_sql_expr *lcall = NULL;
    tide_sql_window_kind lkind = TIDE_SQL_WINDOW_TUMBLE;
    if (!legacy_window(b, sel, &sel, &lcall, &lkind))
        return false;
    if (sel->from) {
        if (!bind_from(b, sel->from, env, &from))
            return false;
        b->legacy = lcall; /* (after the FROM: its own SELECTs have their own) */
        b->legacy_kind = lkind;
    } else {
        tide_sql_plan *v = node(b, TIDE_SQL_PLAN_VALUES, sel->pos, 0);
        if (!rel_init(b, &from, v, NULL))
            return false;
    }
    const tide_sql_expr *where = sel->where;
    if (where) { /* [NOT] EXISTS / IN (subquery): semi and anti joins */
        const tide_sql_expr *terms[256];
        uint32_t n = and_terms(where, terms, 0, 256);
        bool any = false;
        for (uint32_t i = 0; i < n && i < 256; i++)
            any |= is_subq_term(terms[i]);
        if (any && !bind_where_subqueries(b, &from, &where, env))
            return false;
    }
    tide_sql_plan *win = from.plan->kind == TIDE_SQL_PLAN_WINDOW ? from.plan : NULL;
    rel cur = from;
    tide_sql_plan *topn = NULL; /* a Top-N the WHERE made, and its rank's column */
    uint32_t rn_col = 0;
    bool where_win = false;
    if (where) {
        tide_sql_bexpr *pred = check_bool(b, bind_expr(b, &from, where, NULL, "WHERE"), "WHERE");
        if (!pred)
            return false;
        tide_sql_plan *f = node(b, TIDE_SQL_PLAN_FILTER, where->pos, from.plan->ncols);
        if (!f)
            return false;
        memcpy(f->cols, from.plan->cols, from.plan->ncols * sizeof *f->cols);
        f->input = from.plan;
        f->u.filter.pred = pred;
        f->changelog = from.plan->changelog;
        cur.plan = f;
        where_win = win && bx_use_window(pred, win);
        if (!(topn = bind_topn(b, &from, f, &rn_col)) && b->rc)
            return false;
    }
    bool aggregating = sel->ngroup_by > 0 || b->gs || (sel->having && has_agg(sel->having));
    for (uint32_t i = 0; i < sel->nitems && !aggregating; i++)
        aggregating = has_agg(sel->items[i].expr);
    if (!aggregating) {
        if (sel->having)
            return fail(b, TIDE_EINVAL, sel->having->pos, "HAVING needs GROUP BY or an aggregate"), false;
        if (sel->emit)
            return fail(b, TIDE_EINVAL, sel->emit->pos,
                        "EMIT applies to an aggregation (GROUP BY, windowed or not)"),
                   false;
        const tide_sql_expr *oe = NULL;
        for (uint32_t i = 0; i < sel->nitems && !oe; i++)
            oe = find_call(sel->items[i].expr, true);
        if (oe) {
            uint32_t nin = cur.plan->ncols;
            tide_sql_plan *op = node(b, TIDE_SQL_PLAN_OVER, oe->pos, nin);
            if (!op)
                return false;
            memcpy(op->cols, cur.plan->cols, nin * sizeof *op->cols);
            op->input = cur.plan;
            overctx oc = {.in = &cur, .sel = sel, .node = op};
            rel orel = {.plan = op, .quals = cur.quals};
            b->over = &oc;
            tide_sql_plan *p = plan_project(b, sel, &orel, NULL);
            b->over = NULL;
            if (!p)
                return false;
            uint32_t nc = op->u.over.ncalls;
            tide_sql_col *cols = bal(b, (nin + nc + 1) * sizeof *cols);
            if (!cols)
                return false;
            memcpy(cols, op->cols, nin * sizeof *cols);
            for (uint32_t i = 0; i < nc; i++) {
                const tide_sql_overcall *c = &op->u.over.calls[i];
                b->tmp1.len = 0;
                if (tide_sql_print_expr(c->ast, &b->tmp1) || tide_buf_putc(&b->tmp1, 0))
                    return nomem(b), false;
                cols[nin + i] = (tide_sql_col){bstrdup(b, (const char *)b->tmp1.data),
                                               c->row_number ? TIDE_TYPE_BIGINT : c->agg.out_type, false};
            }
            op->cols = cols;
            op->ncols = nin + nc;
            cur.plan = p;
            goto distinct;
        }
        tide_sql_plan *p = plan_project(b, sel, &cur, NULL);
        if (!p)
            return false;
        if (topn) { /* does the rank reach the output? (the changelog's form) */
            bool used = false;
            for (uint32_t i = 0; i < p->ncols && !used; i++)
                used = bx_uses_col(p->u.project.exprs[i], rn_col);
            topn->u.over.rank_out = used;
        }
        cur.plan = p;
        goto distinct;
    }
    for (uint32_t i = 0; i < sel->nitems; i++) {
        const tide_sql_expr *oe = find_call(sel->items[i].expr, true);
        if (oe)
            return fail(b, TIDE_EUNSUPPORTED, oe->pos,
                        "not supported yet: OVER windows in a SELECT with GROUP BY or aggregates"),
                   false;
    }
    {
        /* GROUP BY keys, over cur */
        uint32_t ng = sel->ngroup_by;
        tide_sql_bexpr **g = bal(b, (ng ? ng : 1) * sizeof *g);
        if (!g)
            return false;
        int wi[3] = {-1, -1, -1}; /* GROUP BY positions of window_start, window_end, window_time */
        uint32_t nin = win ? win->input->ncols : 0;
        for (uint32_t i = 0; i < ng; i++) {
            if (has_agg(sel->group_by[i]))
                return fail(b, TIDE_EINVAL, sel->group_by[i]->pos,
                            "aggregate functions are not allowed in GROUP BY"),
                       false;
            if (!(g[i] = bind_expr(b, &cur, sel->group_by[i], NULL, "GROUP BY")))
                return false;
            if (win && g[i]->kind == TIDE_SQL_BX_COLUMN && g[i]->col >= nin && g[i]->col < nin + 3)
                wi[g[i]->col - nin] = (int)i;
        }
        bool windowed = win && wi[0] >= 0 && wi[1] >= 0 && !where_win;
        aggctx ac = {.in = &cur, .win_in = -1};
        /* keys: all GROUP BY items, minus the window columns when windowed */
        if (!(ac.keys = bal(b, (ng ? ng : 1) * sizeof *ac.keys)))
            return false;
        for (uint32_t i = 0; i < ng; i++) {
            if (windowed && ((int)i == wi[0] || (int)i == wi[1] || (int)i == wi[2]))
                continue;
            if (windowed && bx_use_window(g[i], win))
                return fail(b, TIDE_EINVAL, sel->group_by[i]->pos,
                            "a windowed GROUP BY can use window columns only as they are"),
                       false;
            ac.keys[ac.nkeys++] = g[i];
        }
        if (windowed)
            ac.win_in = nin;
        uint32_t nfix = ac.nkeys + (windowed ? 3 : 0);
        ac.agg_base = nfix;
        tide_sql_plan *ap = node(b, windowed ? TIDE_SQL_PLAN_WINDOW_AGGREGATE : TIDE_SQL_PLAN_AGGREGATE,
                                 sel->pos, nfix);
        if (!ap)
            return false;
        for (uint32_t k = 0; k < ac.nkeys; k++) {
            const tide_sql_bexpr *x = ac.keys[k];
            ap->cols[k].type = x->type;
            ap->cols[k].name = x->kind == TIDE_SQL_BX_COLUMN ? cur.plan->cols[x->col].name : bstrdup(b, "key");
        }
        if (windowed)
            for (int j = 0; j < 3; j++)
                ap->cols[ac.nkeys + (uint32_t)j] = win->cols[nin + (uint32_t)j];
        ac.out_cols = ap->cols;
        /* bind the select list and HAVING above the aggregation */
        tide_sql_plan *proj = plan_project(b, sel, &cur, &ac);
        tide_sql_bexpr *having = NULL;
        if (proj && sel->having)
            having = check_bool(b, bind_expr(b, &cur, sel->having, &ac, "HAVING"), "HAVING");
        if (!proj || (sel->having && !having))
            return false;
        /* finish the aggregation node */
        tide_sql_col *cols = bal(b, (nfix + ac.naggs) * sizeof *cols + 1);
        if (!cols)
            return false;
        memcpy(cols, ap->cols, nfix * sizeof *cols);
        for (uint32_t i = 0; i < ac.naggs; i++) {
            b->tmp1.len = 0;
            if (tide_sql_print_expr(ac.aggs[i].ast, &b->tmp1) || tide_buf_putc(&b->tmp1, 0))
                return nomem(b), false;
            cols[nfix + i] = (tide_sql_col){bstrdup(b, (const char *)b->tmp1.data), ac.aggs[i].agg.out_type, false};
            if (windowed && ac.aggs[i].arg && bx_use_window(ac.aggs[i].arg, win))
                return fail(b, TIDE_EINVAL, ac.aggs[i].ast->pos, "window columns cannot be aggregated"), false;
        }
        ap->cols = cols;
        ap->ncols = nfix + ac.naggs;
        ap->u.agg.keys = ac.keys;
        ap->u.agg.nkeys = ac.nkeys;
        ap->u.agg.aggs = ac.aggs;
        ap->u.agg.naggs = ac.naggs;
        if (!bind_emit(b, sel->emit, windowed, &ap->u.agg.emit))
            return false;
        ap->u.agg.phase = b->agg_phase;
        if (windowed) {
            /* fuse: aggregate the TVF's input (through the WHERE filter) */
            ap->u.agg.w = win->u.window.w;
            if (cur.plan->kind == TIDE_SQL_PLAN_FILTER) {
                tide_sql_plan *f = cur.plan;
                f->input = win->input;
                f->ncols = nin;
                ap->input = f;
            } else {
                ap->input = win->input;
            }
            const tide_sql_emit_spec *em = &ap->u.agg.emit;
            ap->changelog = (em->early_ms || em->early_rows || em->lateness) && em->mode != TIDE_TRIG_DISCARDING;
        } else {
            ap->input = cur.plan;
            ap->changelog = true;
        }
        cur.plan = ap;
        if (having) {
            tide_sql_plan *f = node(b, TIDE_SQL_PLAN_FILTER, sel->having->pos, ap->ncols);
            if (!f)
                return false;
            memcpy(f->cols, ap->cols, ap->ncols * sizeof *f->cols);
            f->input = ap;
            f->u.filter.pred = having;
            f->changelog = ap->changelog;
            cur.plan = f;
        }
        proj->input = cur.plan;
        proj->changelog = cur.plan->changelog;
        for (uint32_t i = 0; i < proj->ncols; i++)
            proj->cols[i].rowtime = false;
        /* window_time stays an event-time attribute after a window aggregation */
        for (uint32_t i = 0; windowed && i < proj->ncols; i++) {
            const tide_sql_bexpr *x = proj->u.project.exprs[i];
            proj->cols[i].rowtime = x->kind == TIDE_SQL_BX_COLUMN && x->col == ac.nkeys + 2;
        }
        cur.plan = proj;
    }
distinct:
    if (sel->distinct) {
        tide_sql_plan *in = cur.plan;
        tide_sql_plan *d = node(b, TIDE_SQL_PLAN_AGGREGATE, sel->pos, in->ncols);
        if (!d || !(d->u.agg.keys = bal(b, (in->ncols ? in->ncols : 1) * sizeof(void *))))
            return false;
        memcpy(d->cols, in->cols, in->ncols * sizeof *d->cols);
        for (uint32_t i = 0; i < in->ncols; i++) {
            d->cols[i].rowtime = false;
            if (!(d->u.agg.keys[i] = bx_col(b, NULL, i, in->cols[i].type)))
                return false;
        }
        d->u.agg.nkeys = in->ncols;
        d->u.agg.emit.mode = TIDE_TRIG_ACCUMULATING;
        d->input = in;
        d->changelog = true;
        cur.plan = d;
    }
    return rel_init(b, out, cur.plan, NULL);
}

static bool bind_query_in(binder *b, const tide_sql_query *q, cte_env *env, rel *out);

static bool bind_query(binder *b, const tide_sql_query *q, cte_env *env, rel *out)
{
    if (b->rc)
        return false;
    if (b->depth >= BIND_MAX_DEPTH)
        return fail(b, TIDE_EUNSUPPORTED, q->pos, "queries nested too deeply (views and WITH included)"), false;
    b->depth++;
    bool ok = bind_query_in(b, q, env, out);
    b->depth--;
    return ok;
}

typedef struct cte_name {
    const char *name;
    uint32_t i;
} cte_name;

static int cte_name_cmp(const void *a, const void *b)
{
    const cte_name *x = a, *y = b;
    int c = strcasecmp(x->name, y->name);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* The first WITH name (in text order) that repeats an earlier one, or -1:
 * sorted, so 100,000 names cost O(n log n), not n^2 comparisons. */
static int64_t cte_duplicate(binder *b, const tide_sql_query *q)
{
    uint32_t n = q->nctes;
    int64_t first = -1;
    if (n < 16) {
        for (uint32_t i = 0; i < n && first < 0; i++)
            for (uint32_t j = 0; j < i && first < 0; j++)
                if (name_eq(q->ctes[j].name.str, q->ctes[i].name.str))
                    first = i;
        return first;
    }
    cte_name *v = malloc(n * sizeof *v);
    if (!v) {
        nomem(b);
        return -2;
    }
    for (uint32_t i = 0; i < n; i++)
        v[i] = (cte_name){q->ctes[i].name.str, i};
    qsort(v, n, sizeof *v, cte_name_cmp);
    for (uint32_t k = 1; k < n; k++)
        if (strcasecmp(v[k - 1].name, v[k].name) == 0 && (first < 0 || v[k].i < first))
            first = v[k].i;
    free(v);
    return first;
}

static bool bind_query_in(binder *b, const tide_sql_query *q, cte_env *env, rel *out)
{
    /* WITH: each CTE sees the ones before it */
    cte_env *e = env;
    int64_t dup = cte_duplicate(b, q);
    if (dup == -2)
        return false;
    if (dup >= 0)
        return fail(b, TIDE_EINVAL, q->ctes[dup].name.pos, "duplicate WITH name '%s'", q->ctes[dup].name.str),
               false;
    for (uint32_t i = 0; i < q->nctes; i++) {
        cte_env *n = bal(b, sizeof *n);
        if (!n)
            return false;
        n->cte = &q->ctes[i];
        n->next = e;
        e = n;
    }
    if (q->norder_by)
        return fail(b, TIDE_EUNSUPPORTED, q->order_by[0].expr->pos,
                    "ORDER BY is not supported on a stream"),
               false;
    if (q->limit)
        return fail(b, TIDE_EUNSUPPORTED, q->limit->pos, "LIMIT is not supported on a stream"), false;
    switch (q->kind) {
    case TIDE_SQL_QUERY_SELECT: return bind_select(b, q->u.select, e, out);
    case TIDE_SQL_QUERY_NESTED: return bind_query(b, q->u.nested, e, out);
    case TIDE_SQL_QUERY_UNION: {
        if (!q->u.set.all)
            return fail(b, TIDE_EUNSUPPORTED, q->pos,
                        "UNION without ALL is not supported (use UNION ALL)"),
                   false;
        rel l, r;
        if (!bind_query(b, q->u.set.left, e, &l) || !bind_query(b, q->u.set.right, e, &r))
            return false;
        if (l.plan->ncols != r.plan->ncols)
            return fail(b, TIDE_EINVAL, q->u.set.right->pos,
                        "UNION ALL inputs have different numbers of columns (%u and %u)",
                        l.plan->ncols, r.plan->ncols),
                   false;
        tide_sql_plan *p = node(b, TIDE_SQL_PLAN_UNION, q->pos, l.plan->ncols);
        if (!p)
            return false;
        for (uint32_t i = 0; i < p->ncols; i++) {
            tide_type t = l.plan->cols[i].type, u = r.plan->cols[i].type;
            if (t != u && !(t == TIDE_TYPE_NULL || u == TIDE_TYPE_NULL))
                return fail(b, TIDE_EINVAL, q->u.set.right->pos,
                            "UNION ALL column %u ('%s') is %s on the left and %s on the right", i + 1,
                            l.plan->cols[i].name, tname(t), tname(u)),
                       false;
            p->cols[i] = l.plan->cols[i];
            p->cols[i].type = t == TIDE_TYPE_NULL ? u : t;
            p->cols[i].rowtime = l.plan->cols[i].rowtime && r.plan->cols[i].rowtime;
        }
        p->input = l.plan;
        p->right = r.plan;
        p->changelog = l.plan->changelog || r.plan->changelog;
        return rel_init(b, out, p, NULL);
    }
    }
    return false;
}

/* ---- statements ---- */

static bool bind_create_table(binder *b, const tide_sql_create_table *ct)
{
    char h[96];
    const tide_sql_table *old = tide_sql_catalog_find(b->cat, ct->name.str);
    if (old) {
        if (ct->if_not_exists)
            return true;
        fail(b, TIDE_EINVAL, ct->name.pos, "table '%s' already exists", ct->name.str);
        return false;
    }
    tide_sql_table t = {.name = ct->name.str, .pos = ct->name.pos, .time_col = -1};
    t.ncols = ct->ncolumns;
    if (!(t.cols = tide_sql_catalog_alloc(b->cat, (t.ncols ? t.ncols : 1) * sizeof *t.cols)))
        return nomem(b), false;
    for (uint32_t i = 0; i < ct->ncolumns; i++) {
        const tide_sql_column_def *cd = &ct->columns[i];
        for (uint32_t j = 0; j < i; j++)
            if (name_eq(ct->columns[j].name.str, cd->name.str))
                return fail(b, TIDE_EINVAL, cd->name.pos, "duplicate column '%s'", cd->name.str), false;
        t.cols[i].name = cd->name.str;
        t.cols[i].nullable = !cd->not_null;
        if (!cd->computed) {
            t.cols[i].type = cd->type.type;
            t.cols[i].phys = t.nphys++;
        }
    }
    if (t.nphys == 0)
        return fail(b, TIDE_EINVAL, ct->name.pos, "table '%s' has no physical columns", ct->name.str), false;
    /* computed columns: typed over the physical columns */
    tide_sql_plan *phys = node(b, TIDE_SQL_PLAN_VALUES, ct->name.pos, t.nphys);
    rel pr;
    if (!phys || !rel_init(b, &pr, phys, ct->name.str))
        return false;
    for (uint32_t i = 0; i < t.ncols; i++)
        if (!ct->columns[i].computed)
            phys->cols[t.cols[i].phys] = (tide_sql_col){t.cols[i].name, t.cols[i].type, false};
    for (uint32_t i = 0; i < t.ncols; i++) {
        const tide_sql_expr *ce = ct->columns[i].computed;
        if (!ce)
            continue;
        if (has_agg(ce))
            return fail(b, TIDE_EINVAL, ce->pos, "aggregate functions are not allowed in a computed column"),
                   false;
        tide_sql_bexpr *x = bind_expr(b, &pr, ce, NULL, "a computed column");
        if (!x)
            return false;
        if (x->interval || x->type == TIDE_TYPE_NULL)
            return fail(b, TIDE_EINVAL, ce->pos, "computed column '%s' has no storable type",
                        t.cols[i].name),
                   false;
        t.cols[i].type = x->type;
        t.cols[i].computed = ce;
    }
    /* WATERMARK FOR col AS col [- INTERVAL ...] */
    if (ct->watermark_col.str) {
        int wc = -1;
        tide_sql_suggest s;
        tide_sql_suggest_init(&s, ct->watermark_col.str, ct->watermark_col.len);
        for (uint32_t i = 0; i < t.ncols; i++) {
            if (name_eq(t.cols[i].name, ct->watermark_col.str))
                wc = (int)i;
            tide_sql_suggest_offer(&s, t.cols[i].name);
        }
        if (wc < 0)
            return fail(b, TIDE_EINVAL, ct->watermark_col.pos, "unknown column '%s'%s",
                        ct->watermark_col.str, hint(h, sizeof h, &s)),
                   false;
        if (t.cols[wc].type != TIDE_TYPE_TIMESTAMP)
            return fail(b, TIDE_EINVAL, ct->watermark_col.pos,
                        "the WATERMARK column '%s' must be TIMESTAMP(3), not %s", t.cols[wc].name,
                        tname(t.cols[wc].type)),
                   false;
        const tide_sql_expr *we = ct->watermark;
        int64_t bound = 0;
        const tide_sql_expr *c = we;
        if (we->kind == TIDE_SQL_EXPR_BINARY && we->u.binary.op == TIDE_SQL_OP_SUB &&
            we->u.binary.right->kind == TIDE_SQL_EXPR_INTERVAL) {
            c = we->u.binary.left;
            if (!interval_ms(b, we->u.binary.right, &bound))
                return false;
            if (bound < 0)
                return fail(b, TIDE_EINVAL, we->u.binary.right->pos,
                            "the watermark delay must not be negative"),
                       false;
        }
        if (c->kind != TIDE_SQL_EXPR_COLUMN || c->u.column.qualifier.str ||
            !name_eq(c->u.column.name.str, t.cols[wc].name))
            return fail(b, TIDE_EINVAL, we->pos, "the WATERMARK must be `%s` or `%s - INTERVAL 'n' unit`",
                        t.cols[wc].name, t.cols[wc].name),
                   false;
        t.time_col = wc;
        t.wm_bound = bound;
    }
    /* WITH options */
    const tide_sql_option *conn = NULL;
    for (uint32_t i = 0; i < ct->noptions; i++) {
        for (uint32_t j = 0; j < i; j++)
            if (strcasecmp(ct->options[i].key, ct->options[j].key) == 0)
                return fail(b, TIDE_EINVAL, ct->options[i].pos, "duplicate option '%s'", ct->options[i].key),
                       false;
        if (strcasecmp(ct->options[i].key, "connector") == 0)
            conn = &ct->options[i];
    }
    if (!conn)
        return fail(b, TIDE_EINVAL, ct->name.pos,
                    "table '%s' needs a 'connector' option (file, topic, stdin, stdout or logins)",
                    ct->name.str),
               false;
    if (!tide_sql_connector_parse(conn->value, &t.connector)) {
        tide_sql_suggest s;
        tide_sql_suggest_init(&s, conn->value, conn->value_len);
        for (int k = TIDE_SQL_CONN_FILE; k <= TIDE_SQL_CONN_LOGINS; k++)
            tide_sql_suggest_offer(&s, tide_sql_connector_name((tide_sql_connector)k));
        return fail(b, TIDE_EINVAL, conn->pos, "unknown connector '%s'%s", conn->value, hint(h, sizeof h, &s)),
               false;
    }
    for (uint32_t i = 0; i < ct->noptions; i++) {
        const tide_sql_option *o = &ct->options[i];
        if (!tide_sql_connector_has_option(t.connector, o->key)) {
            tide_sql_suggest s;
            tide_sql_suggest_init(&s, o->key, o->key_len);
            for (const char *const *k = tide_sql_connector_options(t.connector); *k; k++)
                tide_sql_suggest_offer(&s, *k);
            return fail(b, TIDE_EINVAL, o->pos, "unknown option '%s' for connector '%s'%s", o->key,
                        tide_sql_connector_name(t.connector), hint(h, sizeof h, &s)),
                   false;
        }
        /* the value: as the connector's own config parser sees it */
        tide_err er = {0};
        int rc = 0;
        if (t.connector == TIDE_SQL_CONN_STDOUT) {
            tide_sink_config sc;
            tide_sink_config_init(&sc);
            rc = tide_sink_config_set(&sc, o->key, o->value, &er);
        } else if (strcasecmp(o->key, "dead-letter") == 0) {
            const char *v = o->value;
            if (!*v || (strncmp(v, "topic:", 6) == 0 && !tide_topic_name_valid(v + 6)))
                rc = tide_err_set(&er, TIDE_EINVAL,
                                  "option 'dead-letter' of table '%s': give a file or topic:NAME (a valid topic "
                                  "name), not '%s'",
                                  t.name, v);
        } else if (strcasecmp(o->key, "key.column") != 0) {
            tide_src_config sc;
            tide_src_config_init(&sc);
            bool is_end = false;
            int64_t end_ms;
            rc = source_option(&sc, t.connector, o, &is_end, &end_ms, &er);
        }
        if (rc)
            return fail(b, TIDE_EINVAL, o->pos, "%s", er.msg[0] ? er.msg : "bad option value"), false;
    }
    for (const char *const *k = tide_sql_connector_required(t.connector); *k; k++) {
        bool have = false;
        for (uint32_t i = 0; i < ct->noptions; i++)
            have = have || strcasecmp(ct->options[i].key, *k) == 0;
        if (!have)
            return fail(b, TIDE_EINVAL, conn->pos, "connector '%s' needs the option '%s'",
                        tide_sql_connector_name(t.connector), *k),
                   false;
    }
    t.options = ct->options;
    t.noptions = ct->noptions;
    if (tide_sql_catalog_add(b->cat, &t))
        return nomem(b), false;
    return true;
}

/* The position to blame for output column i of a query. */
static tide_sql_pos item_pos(const tide_sql_query *q, uint32_t i)
{
    while (q->kind == TIDE_SQL_QUERY_NESTED)
        q = q->u.nested;
    if (q->kind != TIDE_SQL_QUERY_SELECT)
        return q->pos;
    const tide_sql_select *s = q->u.select;
    for (uint32_t k = 0; k < s->nitems; k++)
        if (s->items[k].expr->kind == TIDE_SQL_EXPR_STAR)
            return q->pos;
    return i < s->nitems ? s->items[i].expr->pos : q->pos;
}

static bool assignable(tide_type from, tide_type to)
{
    return from == to || from == TIDE_TYPE_NULL || (from == TIDE_TYPE_BIGINT && to == TIDE_TYPE_DOUBLE);
}

static tide_sql_plan *plan_sink(binder *b, const tide_sql_table *t, const tide_sql_query *q,
                                tide_sql_pos pos)
{
    rel r;
    if (!bind_query(b, q, NULL, &r))
        return NULL;
    tide_sql_plan *in = r.plan;
    tide_sql_plan *p = node(b, TIDE_SQL_PLAN_SINK, pos, in->ncols);
    if (!p)
        return NULL;
    p->input = in;
    p->changelog = in->changelog;
    p->u.sink.table = t;
    p->u.sink.op_col = -1;
    tide_sink_config_init(&p->u.sink.cfg);
    memcpy(p->cols, in->cols, in->ncols * sizeof *p->cols);
    if (!t) {
        tide_err er = {0};
        tide_schema *sc = NULL;
        if (tide_sql_plan_schema(in, &sc, &er))
            return er.code == TIDE_ENOMEM || !er.msg[0] ? nomem(b) : fail(b, TIDE_EINVAL, pos, "%s", er.msg);
        if (keep_schema(b, sc))
            return NULL;
        p->u.sink.cfg.schema = sc;
        return p;
    }
    /* INSERT INTO t: column count and types; `op` receives the change kind */
    uint32_t want = 0;
    for (uint32_t i = 0; i < t->ncols; i++) {
        if (name_eq(t->cols[i].name, "op") && t->cols[i].type == TIDE_TYPE_STRING && !t->cols[i].computed)
            p->u.sink.op_col = (int)t->cols[i].phys;
        else if (!t->cols[i].computed)
            want++;
    }
    if (in->changelog && p->u.sink.op_col < 0)
        return fail(b, TIDE_EINVAL, pos,
                    "the query produces a changelog (updated results), so table '%s' needs an 'op' "
                    "STRING column to receive the change kind",
                    t->name);
    if (in->ncols != want)
        return fail(b, TIDE_EINVAL, q->pos, "INSERT INTO %s: the query has %u columns, the table %u", t->name,
                    in->ncols, want);
    uint32_t k = 0;
    for (uint32_t i = 0; i < t->ncols; i++) {
        if (t->cols[i].computed || (int)t->cols[i].phys == p->u.sink.op_col)
            continue;
        if (!assignable(in->cols[k].type, t->cols[i].type))
            return fail(b, TIDE_EINVAL, item_pos(q, k),
                        "INSERT INTO %s: column %u '%s' is %s, but the table's column '%s' is %s", t->name,
                        k + 1, in->cols[k].name, tname(in->cols[k].type), t->cols[i].name,
                        tname(t->cols[i].type));
        k++;
    }
    for (uint32_t i = 0; i < t->noptions; i++) {
        const tide_sql_option *o = &t->options[i];
        if (strncasecmp(o->key, "scan.", 5) == 0 || strncasecmp(o->key, "source.", 7) == 0 ||
            strcasecmp(o->key, "rowtime.column") == 0)
            continue; /* source options */
        tide_err er = {0};
        if (tide_sink_config_set(&p->u.sink.cfg, o->key, o->value, &er))
            return fail(b, TIDE_EINVAL, o->pos, "%s", er.msg[0] ? er.msg : "bad option value");
    }
    if (!(p->u.sink.cfg.schema = table_schema(b, t, true)))
        return NULL;
    return p;
}

static bool push_plan(binder *b, tide_sql_plan *p, uint32_t *cap)
{
    tide_sql_program *pg = b->prog;
    if (pg->nplans == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 4;
        tide_sql_plan **np = bal(b, ncap * sizeof *np);
        if (!np)
            return false;
        if (pg->nplans)
            memcpy(np, pg->plans, pg->nplans * sizeof *np);
        pg->plans = np;
        *cap = ncap;
    }
    pg->plans[pg->nplans++] = p;
    return true;
}

static bool bind_stmt(binder *b, const tide_sql_stmt *st, uint32_t *cap)
{
    char h[96];
    b->nalloc = 0;
    b->stmt_pos = st->pos;
    switch (st->kind) {
    case TIDE_SQL_STMT_CREATE_TABLE: return bind_create_table(b, &st->u.create_table);
    case TIDE_SQL_STMT_CREATE_VIEW: {
        const tide_sql_name *n = &st->u.create_view.name;
        if (tide_sql_catalog_find(b->cat, n->str))
            return fail(b, TIDE_EINVAL, n->pos, "table or view '%s' already exists", n->str), false;
        rel r;
        if (!bind_query(b, st->u.create_view.query, NULL, &r))
            return false;
        tide_sql_table t = {.name = n->str, .pos = n->pos, .is_view = true, .view = st->u.create_view.query,
                            .time_col = -1};
        if (tide_sql_catalog_add(b->cat, &t))
            return nomem(b), false;
        return true;
    }
    case TIDE_SQL_STMT_INSERT: {
        const tide_sql_name *n = &st->u.insert.table;
        const tide_sql_table *t = tide_sql_catalog_find(b->cat, n->str);
        if (!t) {
            tide_sql_suggest s;
            tide_sql_suggest_init(&s, n->str, n->len);
            for (uint32_t i = 0; i < tide_sql_catalog_count(b->cat); i++)
                tide_sql_suggest_offer(&s, tide_sql_catalog_at(b->cat, i)->name);
            return fail(b, TIDE_EINVAL, n->pos, "unknown table '%s'%s", n->str, hint(h, sizeof h, &s)), false;
        }
        if (t->is_view)
            return fail(b, TIDE_EINVAL, n->pos, "cannot INSERT INTO view '%s'", t->name), false;
        if (!tide_sql_connector_is_sink(t->connector))
            return fail(b, TIDE_EINVAL, n->pos, "table '%s' (connector '%s') cannot be written to", t->name,
                        tide_sql_connector_name(t->connector)),
                   false;
        tide_sql_plan *p = plan_sink(b, t, st->u.insert.query, n->pos);
        return p && push_plan(b, p, cap);
    }
    case TIDE_SQL_STMT_QUERY: {
        tide_sql_plan *p = plan_sink(b, NULL, st->u.query, st->pos);
        return p && push_plan(b, p, cap);
    }
    case TIDE_SQL_STMT_SET: {
        const tide_sql_option *kv = st->u.set;
        if (strcmp(kv->key, "table.optimizer.agg-phase-strategy") == 0) {
            static const char *const names[] = {"AUTO", "ONE_PHASE", "TWO_PHASE"};
            for (int i = 0; i < 3; i++)
                if (strcasecmp(kv->value, names[i]) == 0) {
                    b->agg_phase = (tide_sql_agg_phase)i;
                    return true;
                }
            return fail(b, TIDE_EINVAL, kv->pos,
                        "'table.optimizer.agg-phase-strategy' = '%s': not AUTO, ONE_PHASE or TWO_PHASE", kv->value),
                   false;
        }
        if (strcmp(kv->key, "table.exec.state.ttl") != 0)
            return fail(b, TIDE_EINVAL, kv->pos,
                        "unknown setting '%s' (tide knows 'table.exec.state.ttl' and "
                        "'table.optimizer.agg-phase-strategy')",
                        kv->key),
                   false;
        int64_t ms;
        if (tide_ts_duration_parse(kv->value, &ms) != 0)
            return fail(b, TIDE_EINVAL, kv->pos,
                        "'table.exec.state.ttl' = '%s': not a duration ('0' for none, '1 h', '30 min', '500 ms')",
                        kv->value),
                   false;
        b->state_ttl = ms;
        return true;
    }
    }
    return false;
}

int tide_sql_bind(tide_sql_catalog *cat, tide_sql_script *script, tide_sql_program **out,
                  tide_sql_error *err)
{
    binder b = {.cat = cat, .err = err, .script = script};
    uint32_t mark = tide_sql_catalog_count(cat), cap = 0;
    *out = NULL;
    if (err) {
        err->code = 0;
        err->line = err->col = 0;
        err->off = 0;
        err->msg[0] = 0;
        if (!err->file[0])
            snprintf(err->file, sizeof err->file, "<input>");
    }
    b.prog = calloc(1, sizeof *b.prog);
    if (b.prog)
        tide_arena_init(&b.prog->arena, 8192);
    if (!b.prog || !script || tide_sql_catalog_keep(cat, script)) {
        tide_sql_script_free(script);
        nomem(&b);
        goto fail;
    }
    for (uint32_t i = 0; i < script->nstmts && !b.rc; i++)
        bind_stmt(&b, script->stmts[i], &cap);
    if (b.rc)
        goto fail;
    tide_buf_free(&b.tmp1);
    tide_buf_free(&b.tmp2);
    *out = b.prog;
    return 0;
fail:
    tide_sql_catalog_truncate(cat, mark);
    tide_buf_free(&b.tmp1);
    tide_buf_free(&b.tmp2);
    tide_sql_program_free(b.prog);
    return b.rc ? b.rc : TIDE_ENOMEM;
}

int tide_sql_compile(tide_sql_catalog *cat, const char *file, const char *src, size_t len,
                     tide_sql_program **out, tide_sql_error *err)
{
    tide_sql_script *s = NULL;
    *out = NULL;
    int rc = tide_sql_parse(file, src, len, &s, err);
    if (rc)
        return rc;
    if (err)
        snprintf(err->file, sizeof err->file, "%s", file ? file : "<input>");
    return tide_sql_bind(cat, s, out, err);
}
