/*
 * plan.c - logical plan nodes: names, schemas, explain.
 */
#include "sql/plan.h"
#include "sql/catalog.h"

#include "data/decimal.h"
#include "data/timefmt.h"
#include "exec/expr.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *tide_sql_plan_kind_name(tide_sql_plan_kind k)
{
    static const char *const names[] = {
#define TIDE__SQL_PLAN_NAME(k, s) s,
        TIDE_SQL_PLAN_KIND_MAP(TIDE__SQL_PLAN_NAME)
#undef TIDE__SQL_PLAN_NAME
    };
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

void tide_sql_program_free(tide_sql_program *p)
{
    if (!p)
        return;
    for (uint32_t i = 0; i < p->nschemas; i++)
        tide_schema_free(p->schemas[i]);
    free(p->schemas);
    tide_arena_free(&p->arena);
    free(p);
}

int tide_sql_print_duration(int64_t ms, tide_buf *out)
{
    static const struct {
        int64_t ms;
        const char *name;
    } units[] = {{86400000, "DAY"}, {3600000, "HOUR"}, {60000, "MINUTE"}, {1000, "SECOND"}};
    if (ms != 0)
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (ms % units[i].ms == 0)
                return tide_buf_printf(out, "%" PRId64 " %s", ms / units[i].ms, units[i].name);
    return tide_buf_printf(out, "%" PRId64 " MILLISECOND", ms);
}

int tide_sql_plan_schema(const tide_sql_plan *plan, tide_schema **out, tide_err *e)
{
    tide_schema *s = NULL;
    int rc = tide_schema_create(&s, e), trow = -1, nrow = 0;
    if (rc)
        goto fail;
    for (uint32_t i = 0; i < plan->ncols; i++) {
        tide_type t = plan->cols[i].type == TIDE_TYPE_NULL ? TIDE_TYPE_STRING : plan->cols[i].type;
        /* a duplicate name (SELECT a, a) gets the first free suffix: a0, a1, ... */
        const char *name = plan->cols[i].name;
        char alt[128];
        for (int k = 0; tide_schema_find(s, name, strlen(name)) >= 0 && k < 1000; k++) {
            snprintf(alt, sizeof alt, "%.100s%d", plan->cols[i].name, k);
            name = alt;
        }
        rc = tide_schema_add(s, name, t, true, e);
        if (rc)
            goto fail;
        if (plan->cols[i].rowtime && t == TIDE_TYPE_TIMESTAMP) {
            trow = (int)i;
            nrow++;
        }
    }
    if (nrow == 1 && (rc = tide_schema_set_time_column(s, trow, e)) != 0)
        goto fail;
    *out = s;
    return 0;
fail:
    tide_schema_free(s);
    *out = NULL;
    return rc;
}

/* ---- explain ---- */

/* An expression over the columns of `in` (a synthesized column reference
 * has no AST: it prints as the column's name). */
static int put_expr(tide_buf *out, const tide_sql_bexpr *x, const tide_sql_plan *in)
{
    if (!x)
        return tide_buf_printf(out, "?");
    if (!x->ast) {
        if (x->kind == TIDE_SQL_BX_COLUMN && in && x->col < in->ncols)
            return tide_buf_printf(out, "%s", in->cols[x->col].name);
        return tide_buf_printf(out, "$%u", x->col);
    }
    return tide_sql_print_expr(x->ast, out);
}

/* The window; `in` is the plan whose columns SESSION's PARTITION BY names. */
static int put_window(tide_buf *out, const tide_sql_window *w, const tide_sql_plan *in)
{
    int rc = tide_buf_printf(out, "%s(%s", tide_win_kind_name(w->spec.kind), w->time_name);
    switch (w->spec.kind) {
    case TIDE_WIN_TUMBLE:
        rc = rc ? rc : tide_buf_printf(out, ", ");
        rc = rc ? rc : tide_sql_print_duration(w->spec.size, out);
        break;
    case TIDE_WIN_HOP:
    case TIDE_WIN_CUMULATE:
        rc = rc ? rc : tide_buf_printf(out, ", ");
        rc = rc ? rc : tide_sql_print_duration(w->spec.slide, out);
        rc = rc ? rc : tide_buf_printf(out, ", ");
        rc = rc ? rc : tide_sql_print_duration(w->spec.size, out);
        break;
    case TIDE_WIN_SESSION:
        rc = rc ? rc : tide_buf_printf(out, ", ");
        rc = rc ? rc : tide_sql_print_duration(w->spec.gap, out);
        for (uint32_t i = 0; !rc && i < w->npartition; i++)
            rc = tide_buf_printf(out, "%s%s", i ? ", " : ", PARTITION BY ",
                                 in && w->partition[i] < in->ncols ? in->cols[w->partition[i]].name
                                                                   : "?");
        break;
    default: break;
    }
    if (!rc && w->offset) {
        rc = tide_buf_printf(out, ", offset ");
        rc = rc ? rc : tide_sql_print_duration(w->offset, out);
    }
    rc = rc ? rc : tide_buf_printf(out, ")");
    return rc;
}

static int put_emit(tide_buf *out, const tide_sql_emit_spec *em)
{
    int rc = 0;
    if (!em->early_ms && !em->early_rows && !em->lateness)
        return tide_buf_printf(out, " emit=on-watermark");
    rc = tide_buf_printf(out, " emit=[");
    const char *sep = "";
    if (!rc && em->early_ms) {
        rc = tide_buf_printf(out, "early every ");
        rc = rc ? rc : tide_sql_print_duration(em->early_ms, out);
        sep = ", ";
    }
    if (!rc && em->early_rows) {
        rc = tide_buf_printf(out, "%searly every %" PRId64 " ROWS", sep, em->early_rows);
        sep = ", ";
    }
    if (!rc && em->lateness) {
        rc = tide_buf_printf(out, "%slateness ", sep);
        rc = rc ? rc : tide_sql_print_duration(em->lateness, out);
    }
    rc = rc ? rc : tide_buf_printf(out, ", %s]", tide_trig_mode_name(em->mode));
    return rc;
}

static int put_line(const tide_sql_plan *p, tide_buf *out)
{
    int rc = tide_buf_printf(out, "%s", tide_sql_plan_kind_name(p->kind));
    switch (p->kind) {
    case TIDE_SQL_PLAN_SCAN: {
        const tide_sql_table *t = p->u.scan.table;
        rc = rc ? rc : tide_buf_printf(out, " %s (", t->name);
        switch (t->connector) {
        case TIDE_SQL_CONN_FILE:
            rc = rc ? rc : tide_buf_printf(out, "file %s", p->u.scan.cfg.path ? p->u.scan.cfg.path : "?");
            break;
        case TIDE_SQL_CONN_TOPIC:
            rc = rc ? rc : tide_buf_printf(out, "topic %s", p->u.scan.cfg.topic ? p->u.scan.cfg.topic : "?");
            break;
        case TIDE_SQL_CONN_LOGINS: rc = rc ? rc : tide_buf_printf(out, "logins generator"); break;
        default: rc = rc ? rc : tide_buf_printf(out, "%s", tide_sql_connector_name(t->connector)); break;
        }
        rc = rc ? rc : tide_buf_printf(out, ")");
        if (!rc && t->time_col >= 0) {
            rc = tide_buf_printf(out, " watermark %s", t->cols[t->time_col].name);
            if (!rc && p->u.scan.wm_bound) {
                rc = tide_buf_printf(out, " - ");
                rc = rc ? rc : tide_sql_print_duration(p->u.scan.wm_bound, out);
            }
        }
        break;
    }
    case TIDE_SQL_PLAN_FILTER:
        rc = rc ? rc : tide_buf_printf(out, " ");
        rc = rc ? rc : put_expr(out, p->u.filter.pred, p->input);
        break;
    case TIDE_SQL_PLAN_PROJECT:
        for (uint32_t i = 0; !rc && i < p->ncols; i++) {
            const tide_sql_bexpr *x = p->u.project.exprs[i];
            rc = tide_buf_printf(out, i ? ", " : " ");
            size_t at = out->len;
            rc = rc ? rc : put_expr(out, x, p->input);
            /* "expr AS name" when the name is not the expression's own text */
            if (!rc && (out->len - at != strlen(p->cols[i].name) ||
                        memcmp(out->data + at, p->cols[i].name, out->len - at) != 0))
                rc = tide_buf_printf(out, " AS %s", p->cols[i].name);
        }
        break;
    case TIDE_SQL_PLAN_WINDOW:
        rc = rc ? rc : tide_buf_printf(out, " ");
        rc = rc ? rc : put_window(out, &p->u.window.w, p->input);
        break;
    case TIDE_SQL_PLAN_WINDOW_AGGREGATE:
    case TIDE_SQL_PLAN_AGGREGATE:
        if (p->kind == TIDE_SQL_PLAN_WINDOW_AGGREGATE) {
            rc = rc ? rc : tide_buf_printf(out, " ");
            rc = rc ? rc : put_window(out, &p->u.agg.w, p->input);
        }
        rc = rc ? rc : tide_buf_printf(out, " keys=[");
        for (uint32_t i = 0; !rc && i < p->u.agg.nkeys; i++) {
            rc = i ? tide_buf_printf(out, ", ") : 0;
            rc = rc ? rc : put_expr(out, p->u.agg.keys[i], p->input);
        }
        rc = rc ? rc : tide_buf_printf(out, "] aggs=[");
        for (uint32_t i = 0; !rc && i < p->u.agg.naggs; i++) {
            rc = i ? tide_buf_printf(out, ", ") : 0;
            rc = rc ? rc : tide_sql_print_expr(p->u.agg.aggs[i].ast, out);
        }
        rc = rc ? rc : tide_buf_printf(out, "]");
        if (!rc && (p->kind == TIDE_SQL_PLAN_WINDOW_AGGREGATE || p->u.agg.emit.given))
            rc = put_emit(out, &p->u.agg.emit);
        break;
    case TIDE_SQL_PLAN_JOIN: {
        static const char *const kinds[] = {"INNER", "LEFT", "RIGHT", "FULL", "CROSS", "CROSS", "SEMI", "ANTI"};
        static const char *const cls[] = {"regular", "interval", "window"};
        /* both sides windowed aggregations (below any Filter / Project):
         * their results are joined per window (exec/node_join.h) */
        const tide_sql_plan *sl = p->input, *sr = p->right;
        while (sl->kind == TIDE_SQL_PLAN_FILTER || sl->kind == TIDE_SQL_PLAN_PROJECT)
            sl = sl->input;
        while (sr->kind == TIDE_SQL_PLAN_FILTER || sr->kind == TIDE_SQL_PLAN_PROJECT)
            sr = sr->input;
        bool aggs = p->u.join.cls == TIDE_SQL_JOIN_REGULAR && sl->kind == TIDE_SQL_PLAN_WINDOW_AGGREGATE &&
                    sr->kind == TIDE_SQL_PLAN_WINDOW_AGGREGATE;
        bool wins = sl->kind == TIDE_SQL_PLAN_WINDOW && sr->kind == TIDE_SQL_PLAN_WINDOW;
        rc = rc ? rc
                : tide_buf_printf(out, " %s %s", kinds[p->u.join.kind],
                                  aggs ? "window-aggregates" : wins ? "window" : cls[p->u.join.cls]);
        if (!rc && p->u.join.on) {
            rc = tide_buf_printf(out, " on ");
            rc = rc ? rc : put_expr(out, p->u.join.on, p);
        }
        if (!rc && p->u.join.ttl && p->u.join.cls == TIDE_SQL_JOIN_REGULAR && !aggs) {
            rc = tide_buf_printf(out, " state-ttl=");
            rc = rc ? rc : tide_sql_print_duration(p->u.join.ttl, out);
        }
        break;
    }
    case TIDE_SQL_PLAN_UNION: rc = rc ? rc : tide_buf_printf(out, " ALL"); break;
    case TIDE_SQL_PLAN_OVER:
        rc = rc ? rc : tide_buf_printf(out, " partition=[");
        for (uint32_t i = 0; !rc && i < p->u.over.nkeys; i++) {
            rc = i ? tide_buf_printf(out, ", ") : 0;
            rc = rc ? rc : put_expr(out, p->u.over.keys[i], p->input);
        }
        rc = rc ? rc : tide_buf_printf(out, "] order=[");
        for (uint32_t i = 0; !rc && i < p->u.over.norder; i++) {
            rc = i ? tide_buf_printf(out, ", ") : 0;
            rc = rc ? rc : put_expr(out, p->u.over.order[i], p->input);
            rc = rc ? rc : tide_buf_printf(out, p->u.over.desc[i] ? " DESC" : "");
        }
        if (!rc && p->u.over.topn) {
            static const char *const kinds[] = {"Top-N", "window Top-N", "first row"};
            rc = tide_buf_printf(out, "] %s rank %" PRId64 "..%" PRId64 "%s", kinds[p->u.over.topn_kind],
                                 p->u.over.rank_lo, p->u.over.rank_hi, p->u.over.rank_out ? "" : " (rank not output)");
            break;
        }
        rc = rc ? rc : tide_buf_printf(out, "] %s ", p->u.over.rows ? "ROWS" : "RANGE");
        if (!rc && p->u.over.unbounded)
            rc = tide_buf_printf(out, "UNBOUNDED");
        else if (!rc && p->u.over.rows)
            rc = tide_buf_printf(out, "%" PRId64, p->u.over.preceding);
        else if (!rc)
            rc = tide_sql_print_duration(p->u.over.preceding, out);
        rc = rc ? rc : tide_buf_printf(out, " PRECEDING calls=[");
        for (uint32_t i = 0; !rc && i < p->u.over.ncalls; i++) {
            rc = i ? tide_buf_printf(out, ", ") : 0;
            const tide_sql_expr *a = p->u.over.calls[i].ast;
            /* the call without its OVER (printed above) */
            tide_sql_expr c = *a;
            c.u.call.over = NULL;
            rc = rc ? rc : tide_sql_print_expr(&c, out);
        }
        rc = rc ? rc : tide_buf_printf(out, "]");
        break;
    case TIDE_SQL_PLAN_SINK:
        if (p->u.sink.table) {
            const tide_sql_table *t = p->u.sink.table;
            rc = rc ? rc : tide_buf_printf(out, " %s (%s", t->name, tide_sql_connector_name(t->connector));
            if (!rc && t->connector == TIDE_SQL_CONN_FILE && p->u.sink.cfg.path)
                rc = tide_buf_printf(out, " %s", p->u.sink.cfg.path);
            if (!rc && t->connector == TIDE_SQL_CONN_TOPIC && p->u.sink.cfg.topic)
                rc = tide_buf_printf(out, " %s", p->u.sink.cfg.topic);
            rc = rc ? rc : tide_buf_printf(out, ")");
        } else {
            rc = rc ? rc : tide_buf_printf(out, " stdout");
        }
        rc = rc ? rc : tide_buf_printf(out, p->changelog ? " [changelog]" : " [append]");
        break;
    default: break;
    }
    if (!rc && p->changelog && p->kind != TIDE_SQL_PLAN_SINK)
        rc = tide_buf_printf(out, " [changelog]");
    return rc ? rc : tide_buf_putc(out, '\n');
}

/* prefix: the indentation of this node's children so far (bytes in pre). */
static int explain_node(const tide_sql_plan *p, tide_buf *out, tide_buf *pre, uint32_t depth)
{
    int rc = put_line(p, out);
    const tide_sql_plan *kids[2] = {p->input, p->right};
    uint32_t nk = (p->input != NULL) + (p->right != NULL);
    if (!p->input && p->right) {
        kids[0] = p->right;
    }
    for (uint32_t i = 0; !rc && i < nk; i++) {
        bool last = i + 1 == nk;
        size_t mark = pre->len;
        rc = tide_buf_append(out, pre->data, pre->len);
        rc = rc ? rc : tide_buf_printf(out, last ? "\xe2\x94\x94\xe2\x94\x80 " : "\xe2\x94\x9c\xe2\x94\x80 ");
        rc = rc ? rc : tide_buf_printf(pre, last ? "   " : "\xe2\x94\x82  ");
        rc = rc ? rc : explain_node(kids[i], out, pre, depth + 1);
        pre->len = mark;
    }
    return rc;
}

int tide_sql_explain(const tide_sql_plan *plan, tide_buf *out)
{
    tide_buf pre = {0};
    int rc = tide_buf_reserve(&pre, 16);
    rc = rc ? rc : explain_node(plan, out, &pre, 0);
    tide_buf_free(&pre);
    return rc;
}

/* ---- translation to exec/expr.h ---- */

static tide_expr *tx(const tide_sql_bexpr *x, const tide_schema *in, const tide_clock *clk, tide_err *e);

static tide_expr *tx_arg(const tide_sql_bexpr *x, uint32_t i, const tide_schema *in, const tide_clock *clk, tide_err *e)
{
    return i < x->nargs ? tx(x->args[i], in, clk, e) : NULL;
}

static tide_ts_unit ts_unit(tide_sql_unit u)
{
    switch (u) {
    case TIDE_SQL_UNIT_SECOND: return TIDE_TS_UNIT_SECOND;
    case TIDE_SQL_UNIT_MINUTE: return TIDE_TS_UNIT_MINUTE;
    case TIDE_SQL_UNIT_HOUR: return TIDE_TS_UNIT_HOUR;
    case TIDE_SQL_UNIT_DAY: return TIDE_TS_UNIT_DAY;
    case TIDE_SQL_UNIT_MONTH: return TIDE_TS_UNIT_MONTH;
    case TIDE_SQL_UNIT_YEAR: return TIDE_TS_UNIT_YEAR;
    case TIDE_SQL_UNIT_MILLISECOND: return TIDE_TS_UNIT_MILLISECOND;
    case TIDE_SQL_UNIT_WEEK: return TIDE_TS_UNIT_WEEK;
    case TIDE_SQL_UNIT_QUARTER: return TIDE_TS_UNIT_QUARTER;
    case TIDE_SQL_UNIT_DOW:
    case TIDE_SQL_UNIT_DOY: break; /* EXTRACT only: its own node */
    }
    return TIDE_TS_UNIT_DAY;
}

/* The date and time functions (binder.c's time_fns): true when x is one
 * (then *o is the tree, or NULL with `e` set). */
static bool tx_time_call(const tide_sql_bexpr *x, const tide_schema *in, const tide_clock *clk, tide_expr **o, tide_err *e)
{
    const tide_sql_expr *a = x->ast;
    const char *f = a->u.call.name.str;
    static const struct {
        const char *name;
        tide_ts_unit unit;
    } parts[] = {
        {"year", TIDE_TS_UNIT_YEAR},   {"quarter", TIDE_TS_UNIT_QUARTER}, {"month", TIDE_TS_UNIT_MONTH},
        {"week", TIDE_TS_UNIT_WEEK},   {"dayofmonth", TIDE_TS_UNIT_DAY},  {"hour", TIDE_TS_UNIT_HOUR},
        {"minute", TIDE_TS_UNIT_MINUTE}, {"second", TIDE_TS_UNIT_SECOND},
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (!strcasecmp(f, parts[i].name)) {
            tide_expr_extract(o, parts[i].unit, tx_arg(x, 0, in, clk, e), e);
            return true;
        }
    if (!strcasecmp(f, "dayofweek") || !strcasecmp(f, "dayofyear")) {
        tide_expr_day_of(o, !strcasecmp(f, "dayofyear"), tx_arg(x, 0, in, clk, e), e);
        return true;
    }
    if (!strcasecmp(f, "extract")) {
        tide_sql_unit u = a->u.call.unit;
        if (u == TIDE_SQL_UNIT_DOW || u == TIDE_SQL_UNIT_DOY)
            tide_expr_day_of(o, u == TIDE_SQL_UNIT_DOY, tx_arg(x, 0, in, clk, e), e);
        else
            tide_expr_extract(o, ts_unit(u), tx_arg(x, 0, in, clk, e), e);
        return true;
    }
    if (!strcasecmp(f, "timestampadd")) {
        tide_expr_ts_add(o, ts_unit(a->u.call.unit), tx_arg(x, 0, in, clk, e), tx_arg(x, 1, in, clk, e), e);
        return true;
    }
    if (!strcasecmp(f, "timestampdiff")) {
        tide_expr_ts_diff(o, ts_unit(a->u.call.unit), tx_arg(x, 0, in, clk, e), tx_arg(x, 1, in, clk, e), e);
        return true;
    }
    static const struct {
        const char *name;
        tide_expr_now_kind kind;
    } nows[] = {{"now", TIDE_EXPR_NOW},
                {"current_timestamp", TIDE_EXPR_NOW},
                {"localtimestamp", TIDE_EXPR_NOW},
                {"current_row_timestamp", TIDE_EXPR_NOW},
                {"current_date", TIDE_EXPR_NOW_DATE}};
    for (size_t i = 0; i < sizeof nows / sizeof nows[0]; i++)
        if (!strcasecmp(f, nows[i].name)) {
            tide_expr_now(o, clk, nows[i].kind, e);
            return true;
        }
    if (!strcasecmp(f, "unix_timestamp") && x->nargs == 0) {
        tide_expr_now(o, clk, TIDE_EXPR_NOW_SECONDS, e);
        return true;
    }
    if (!strcasecmp(f, "to_timestamp") || !strcasecmp(f, "unix_timestamp")) {
        tide_expr_ts_parse(o, tx_arg(x, 0, in, clk, e), x->nargs > 1 ? tx_arg(x, 1, in, clk, e) : NULL,
                           f[0] == 'u' || f[0] == 'U', e);
        return true;
    }
    if (!strcasecmp(f, "to_timestamp_ltz")) {
        const tide_sql_expr *pe = a->u.call.args[1];
        tide_expr_from_epoch(o, tx_arg(x, 0, in, clk, e), pe->kind == TIDE_SQL_EXPR_INT ? (int)pe->u.i64 : -1, e);
        return true;
    }
    if (!strcasecmp(f, "from_unixtime")) {
        /* DATE_FORMAT(TO_TIMESTAMP_LTZ(n, 0), format or 'yyyy-MM-dd HH:mm:ss') */
        tide_expr *t = NULL, *fmt = NULL;
        tide_expr_from_epoch(&t, tx_arg(x, 0, in, clk, e), 0, e);
        if (x->nargs > 1)
            fmt = tx_arg(x, 1, in, clk, e);
        else
            tide_expr_literal_str(&fmt, "yyyy-MM-dd HH:mm:ss", 19, e);
        tide_expr_date_format(o, t, fmt, e);
        return true;
    }
    return false;
}

/* Build one node; NULL (with `e` set) on failure.  Children are built
 * first; exec/expr.h constructors take them over even when they fail. */
static tide_expr *tx(const tide_sql_bexpr *x, const tide_schema *in, const tide_clock *clk, tide_err *e)
{
    tide_expr *o = NULL;
    if (!x)
        return NULL;
    if (x->kind == TIDE_SQL_BX_COLUMN) {
        tide_expr_column(&o, in, x->col, e);
        return o;
    }
    const tide_sql_expr *a = x->ast;
    switch (a->kind) {
    case TIDE_SQL_EXPR_NULL: tide_expr_literal_null(&o, TIDE_TYPE_NULL, e); break;
    case TIDE_SQL_EXPR_BOOL: tide_expr_literal_bool(&o, a->u.b, e); break;
    case TIDE_SQL_EXPR_INT: tide_expr_literal_i64(&o, a->u.i64, e); break;
    case TIDE_SQL_EXPR_DECIMAL:
        if (tide_type_is_decimal(x->type)) { /* an exact literal: DECIMAL(p, s) as the binder typed it */
            tide_i128 v = 0;
            const char *why = NULL;
            if (tide_dec_parse(a->u.dec.text, strlen(a->u.dec.text), x->type, &v, &why) != 0) {
                tide_err_set(e, TIDE_EINVAL, "DECIMAL literal %s: %s", a->u.dec.text, why);
                return NULL;
            }
            tide_expr_literal_dec(&o, v, x->type, e);
        } else {
            tide_expr_literal_f64(&o, a->u.dec.value, e);
        }
        break;
    case TIDE_SQL_EXPR_STRING: tide_expr_literal_str(&o, a->u.str.str, a->u.str.len, e); break;
    case TIDE_SQL_EXPR_TIMESTAMP: {
        int64_t ms = 0;
        tide_ts_error te;
        if (tide_ts_parse(a->u.str.str, a->u.str.len, &ms, &te) != 0) {
            tide_err_set(e, TIDE_EINVAL, "invalid TIMESTAMP literal");
            return NULL;
        }
        tide_expr_literal_ts(&o, ms, e);
        break;
    }
    case TIDE_SQL_EXPR_DATE: {
        int64_t ms = 0;
        tide_ts_error te;
        if (tide_ts_parse(a->u.str.str, a->u.str.len, &ms, &te) != 0) {
            tide_err_set(e, TIDE_EINVAL, "invalid DATE literal");
            return NULL;
        }
        tide_expr_literal_ts(&o, ms, e);
        break;
    }
    case TIDE_SQL_EXPR_INTERVAL:
        tide_expr_literal_interval(&o, a->u.interval.count * tide_sql_unit_ms(a->u.interval.unit), e);
        break;
    case TIDE_SQL_EXPR_UNARY:
        if (a->u.unary.op == TIDE_SQL_OP_PLUS)
            return tx_arg(x, 0, in, clk, e);
        if (a->u.unary.op == TIDE_SQL_OP_NEG)
            tide_expr_neg(&o, tx_arg(x, 0, in, clk, e), e);
        else
            tide_expr_not(&o, tx_arg(x, 0, in, clk, e), e);
        break;
    case TIDE_SQL_EXPR_BINARY: {
        tide_expr *l = tx_arg(x, 0, in, clk, e), *r = tx_arg(x, 1, in, clk, e);
        switch (a->u.binary.op) {
        case TIDE_SQL_OP_OR: tide_expr_logic(&o, TIDE_EXPR_OR, l, r, e); break;
        case TIDE_SQL_OP_AND: tide_expr_logic(&o, TIDE_EXPR_AND, l, r, e); break;
        case TIDE_SQL_OP_EQ: tide_expr_compare(&o, TIDE_EXPR_EQ, l, r, e); break;
        case TIDE_SQL_OP_NE: tide_expr_compare(&o, TIDE_EXPR_NE, l, r, e); break;
        case TIDE_SQL_OP_LT: tide_expr_compare(&o, TIDE_EXPR_LT, l, r, e); break;
        case TIDE_SQL_OP_LE: tide_expr_compare(&o, TIDE_EXPR_LE, l, r, e); break;
        case TIDE_SQL_OP_GT: tide_expr_compare(&o, TIDE_EXPR_GT, l, r, e); break;
        case TIDE_SQL_OP_GE: tide_expr_compare(&o, TIDE_EXPR_GE, l, r, e); break;
        case TIDE_SQL_OP_ADD: tide_expr_arith(&o, TIDE_EXPR_ADD, l, r, e); break;
        case TIDE_SQL_OP_SUB: tide_expr_arith(&o, TIDE_EXPR_SUB, l, r, e); break;
        case TIDE_SQL_OP_MUL: tide_expr_arith(&o, TIDE_EXPR_MUL, l, r, e); break;
        case TIDE_SQL_OP_DIV: tide_expr_arith(&o, TIDE_EXPR_DIV, l, r, e); break;
        case TIDE_SQL_OP_MOD: tide_expr_arith(&o, TIDE_EXPR_MOD, l, r, e); break;
        case TIDE_SQL_OP_CONCAT: tide_expr_concat(&o, l, r, e); break;
        case TIDE_SQL_OP_IS_DISTINCT: tide_expr_compare(&o, TIDE_EXPR_IS_DISTINCT, l, r, e); break;
        case TIDE_SQL_OP_IS_NOT_DISTINCT: tide_expr_compare(&o, TIDE_EXPR_IS_NOT_DISTINCT, l, r, e); break;
        }
        break;
    }
    case TIDE_SQL_EXPR_IS_NULL:
        tide_expr_is(&o, a->u.is_null.negated ? TIDE_EXPR_IS_NOT_NULL : TIDE_EXPR_IS_NULL,
                     tx_arg(x, 0, in, clk, e), e);
        break;
    case TIDE_SQL_EXPR_BETWEEN:
        tide_expr_between(&o, tx_arg(x, 0, in, clk, e), tx_arg(x, 1, in, clk, e), tx_arg(x, 2, in, clk, e),
                          a->u.between.negated, e);
        break;
    case TIDE_SQL_EXPR_IN: {
        uint32_t n = x->nargs ? x->nargs - 1 : 0;
        tide_expr *arg = tx_arg(x, 0, in, clk, e);
        tide_expr **items = calloc(n ? n : 1, sizeof *items);
        if (!items) {
            tide_expr_free(arg);
            tide_err_set(e, TIDE_ENOMEM, "out of memory");
            return NULL;
        }
        for (uint32_t i = 0; i < n; i++)
            items[i] = tx_arg(x, i + 1, in, clk, e);
        tide_expr_in(&o, arg, items, n, a->u.in.negated, e);
        free(items);
        break;
    }
    case TIDE_SQL_EXPR_LIKE: {
        int esc = -1;
        if (a->u.like.escape) {
            if (a->u.like.escape->kind != TIDE_SQL_EXPR_STRING || a->u.like.escape->u.str.len != 1) {
                tide_err_set(e, TIDE_EUNSUPPORTED, "ESCAPE must be a one-character string literal");
                return NULL;
            }
            esc = (unsigned char)a->u.like.escape->u.str.str[0];
        }
        tide_expr_like(&o, tx_arg(x, 0, in, clk, e), tx_arg(x, 1, in, clk, e), esc, a->u.like.negated, e);
        break;
    }
    case TIDE_SQL_EXPR_CALL: {
        const char *f = a->u.call.name.str;
        if (tx_time_call(x, in, clk, &o, e))
            break;
        if (!strcasecmp(f, "upper"))
            tide_expr_str_fn(&o, TIDE_EXPR_UPPER, tx_arg(x, 0, in, clk, e), e);
        else if (!strcasecmp(f, "lower"))
            tide_expr_str_fn(&o, TIDE_EXPR_LOWER, tx_arg(x, 0, in, clk, e), e);
        else if (!strcasecmp(f, "char_length"))
            tide_expr_str_fn(&o, TIDE_EXPR_CHAR_LENGTH, tx_arg(x, 0, in, clk, e), e);
        else if (!strcasecmp(f, "trim"))
            tide_expr_trim(&o, TIDE_EXPR_TRIM_BOTH, tx_arg(x, 0, in, clk, e), e);
        else if (!strcasecmp(f, "substring"))
            tide_expr_substring(&o, tx_arg(x, 0, in, clk, e), tx_arg(x, 1, in, clk, e),
                                x->nargs > 2 ? tx_arg(x, 2, in, clk, e) : NULL, e);
        else if (!strcasecmp(f, "date_format")) {
            tide_expr *t = tx_arg(x, 0, in, clk, e);
            if (t && tide_expr_type(t) == TIDE_TYPE_STRING) /* a STRING: TO_TIMESTAMP's default form */
                tide_expr_ts_parse(&t, t, NULL, false, e);
            tide_expr_date_format(&o, t, tx_arg(x, 1, in, clk, e), e);
        }
        else if (!strcasecmp(f, "coalesce")) {
            tide_expr **args = calloc(x->nargs ? x->nargs : 1, sizeof *args);
            if (!args) {
                tide_err_set(e, TIDE_ENOMEM, "out of memory");
                return NULL;
            }
            for (uint32_t i = 0; i < x->nargs; i++)
                args[i] = tx_arg(x, i, in, clk, e);
            tide_expr_coalesce(&o, args, x->nargs, e);
            free(args);
        } else
            tide_err_set(e, TIDE_EUNSUPPORTED, "function %s cannot be evaluated here", f);
        break;
    }
    case TIDE_SQL_EXPR_CAST: tide_expr_cast(&o, tx_arg(x, 0, in, clk, e), a->u.cast.to.type, false, e); break;
    case TIDE_SQL_EXPR_FLOOR:
        tide_expr_floor(&o, tx_arg(x, 0, in, clk, e), ts_unit(a->u.floor.unit), a->u.floor.ceil, e);
        break;
    case TIDE_SQL_EXPR_CASE: {
        uint32_t nw = a->u.case_.nwhens, k = a->u.case_.operand ? 1 : 0;
        tide_expr **conds = calloc(nw ? nw : 1, sizeof *conds), **vals = calloc(nw ? nw : 1, sizeof *vals);
        if (!conds || !vals) {
            free(conds);
            free(vals);
            tide_err_set(e, TIDE_ENOMEM, "out of memory");
            return NULL;
        }
        for (uint32_t i = 0; i < nw; i++) {
            tide_expr *w = tx_arg(x, k + 2 * i, in, clk, e);
            if (a->u.case_.operand) /* CASE op WHEN v: op = v, op built once per branch */
                tide_expr_compare(&w, TIDE_EXPR_EQ, tx_arg(x, 0, in, clk, e), w, e);
            conds[i] = w;
            vals[i] = tx_arg(x, k + 2 * i + 1, in, clk, e);
        }
        tide_expr *els = a->u.case_.else_ ? tx_arg(x, k + 2 * nw, in, clk, e) : NULL;
        tide_expr_case(&o, conds, vals, nw, els, e);
        free(conds);
        free(vals);
        break;
    }
    default: tide_err_set(e, TIDE_EUNSUPPORTED, "expression cannot be evaluated"); break;
    }
    return o;
}

int tide_sql_plan_expr_at(const tide_sql_bexpr *x, const tide_schema *in, struct tide_expr **out,
                          tide_sql_pos *at, tide_err *e)
{
    return tide_sql_plan_expr_clock(x, in, NULL, out, at, e);
}

int tide_sql_plan_expr_clock(const tide_sql_bexpr *x, const tide_schema *in, const tide_clock *clock,
                             struct tide_expr **out, tide_sql_pos *at, tide_err *e)
{
    tide_err er = {0};
    *out = tx(x, in, clock, &er);
    if (*out)
        return 0;
    if (!er.code)
        tide_err_set(&er, TIDE_EINVAL, "cannot translate expression");
    /* blame the innermost position we know: the expression itself */
    if (at) {
        memset(at, 0, sizeof *at);
        if (x && x->ast)
            *at = x->ast->pos;
    }
    return tide_err_set(e, er.code, "%s", er.msg);
}

int tide_sql_plan_expr(const tide_sql_bexpr *x, const tide_schema *in, struct tide_expr **out, tide_err *e)
{
    tide_sql_pos at;
    tide_err er = {0};
    int rc = tide_sql_plan_expr_at(x, in, out, &at, &er);
    if (rc == 0)
        return 0;
    if (at.line)
        return tide_err_set(e, rc, "%u:%u: %s", at.line, at.col, er.msg);
    return tide_err_set(e, rc, "%s", er.msg);
}
