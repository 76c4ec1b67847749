#include "sql/ast.h"

#include "sql/lexer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- script and allocation ----------------------------------------- */

tide_sql_script *tide_sql_script_create(void)
{
    tide_sql_script *s = calloc(1, sizeof *s);
    if (s)
        tide_arena_init(&s->arena, 16 * 1024);
    return s;
}

void tide_sql_script_free(tide_sql_script *s)
{
    if (!s)
        return;
    tide_arena_free(&s->arena);
    free(s);
}

void *tide_sql_ast_alloc(tide_sql_script *s, size_t n)
{
    void *p = tide_arena_alloc(&s->arena, n ? n : 1);
    if (p)
        memset(p, 0, n ? n : 1);
    return p;
}

char *tide_sql_ast_strdup(tide_sql_script *s, const char *p, size_t n)
{
    char *q = tide_arena_alloc(&s->arena, n + 1);
    if (q) {
        if (n)
            memcpy(q, p, n);
        q[n] = '\0';
    }
    return q;
}

int tide_sql_vec_push(tide_sql_script *s, tide_sql_vec *v, void *item)
{
    if (v->n == v->cap) {
        uint32_t cap = v->cap ? v->cap * 2 : 4;
        if (cap < v->cap)
            return TIDE_ENOMEM;
        void **items = tide_arena_alloc(&s->arena, (size_t)cap * sizeof *items);
        if (!items)
            return TIDE_ENOMEM;
        if (v->n)
            memcpy(items, v->items, (size_t)v->n * sizeof *items);
        v->items = items;
        v->cap = cap;
    }
    v->items[v->n++] = item;
    return 0;
}

/* Copy a vec of pointers to nodes of `size` bytes into an array of nodes. */
static void *flatten(tide_sql_script *s, tide_sql_vec v, size_t size)
{
    if (v.n == 0)
        return NULL;
    unsigned char *arr = tide_arena_alloc(&s->arena, (size_t)v.n * size);
    if (arr)
        for (uint32_t i = 0; i < v.n; i++)
            memcpy(arr + i * size, v.items[i], size);
    return arr;
}

static uint32_t max_u32(uint32_t a, uint32_t b)
{
    return a > b ? a : b;
}
static uint32_t h(const tide_sql_expr *e)
{
    return e ? e->height : 0;
}

/* ---- expressions ---------------------------------------------------- */

static tide_sql_expr *new_expr(tide_sql_script *s, tide_sql_expr_kind kind, tide_sql_pos pos,
                               uint32_t child_height)
{
    tide_sql_expr *e = tide_sql_ast_alloc(s, sizeof *e);
    if (e) {
        e->kind = kind;
        e->pos = pos;
        e->height = child_height + 1;
    }
    return e;
}

tide_sql_expr *tide_sql_ast_leaf(tide_sql_script *s, tide_sql_expr_kind kind, tide_sql_pos pos)
{
    return new_expr(s, kind, pos, 0);
}

tide_sql_expr *tide_sql_ast_null(tide_sql_script *s, tide_sql_pos pos)
{
    return new_expr(s, TIDE_SQL_EXPR_NULL, pos, 0);
}

tide_sql_expr *tide_sql_ast_bool(tide_sql_script *s, bool v, tide_sql_pos pos)
{
    tide_sql_expr *e = new_expr(s, TIDE_SQL_EXPR_BOOL, pos, 0);
    if (e)
        e->u.b = v;
    return e;
}

tide_sql_expr *tide_sql_ast_int(tide_sql_script *s, int64_t v, tide_sql_pos pos)
{
    tide_sql_expr *e = new_expr(s, TIDE_SQL_EXPR_INT, pos, 0);
    if (e)
        e->u.i64 = v;
    return e;
}

tide_sql_expr *tide_sql_ast_decimal(tide_sql_script *s, double v, const char *text, size_t len,
                                    tide_sql_pos pos)
{
    tide_sql_expr *e = new_expr(s, TIDE_SQL_EXPR_DECIMAL, pos, 0);
    char *t = tide_sql_ast_strdup(s, text, len);
    if (!e || !t)
        return NULL;
    e->u.dec.value = v;
    e->u.dec.text = t;
    return e;
}

tide_sql_expr *tide_sql_ast_string(tide_sql_script *s, tide_sql_expr_kind kind, const char *str,
                                   size_t len, tide_sql_pos pos)
{
    tide_sql_expr *e = new_expr(s, kind, pos, 0);
    char *t = tide_sql_ast_strdup(s, str, len);
    if (!e || !t || len > UINT32_MAX)
        return NULL;
    e->u.str.str = t;
    e->u.str.len = (uint32_t)len;
    return e;
}

tide_sql_expr *tide_sql_ast_interval(tide_sql_script *s, int64_t count, tide_sql_unit unit,
                                     tide_sql_pos pos)
{
    tide_sql_expr *e = new_expr(s, TIDE_SQL_EXPR_INTERVAL, pos, 0);
    if (e) {
        e->u.interval.count = count;
        e->u.interval.unit = unit;
    }
    return e;
}

tide_sql_expr *tide_sql_ast_column(tide_sql_script *s, tide_sql_name qualifier, tide_sql_name name,
                                   tide_sql_pos pos)
{
    tide_sql_expr *e = new_expr(s, TIDE_SQL_EXPR_COLUMN, pos, 0);
    if (e) {
        e->u.column.qualifier = qualifier;
        e->u.column.name = name;
    }
    return e;
}

tide_sql_expr *tide_sql_ast_star(tide_sql_script *s, tide_sql_name qualifier, tide_sql_pos pos)
{
    tide_sql_expr *e = new_expr(s, TIDE_SQL_EXPR_STAR, pos, 0);
    if (e)
        e->u.column.qualifier = qualifier;
    return e;
}

tide_sql_expr *tide_sql_ast_unary(tide_sql_script *s, tide_sql_unop op, tide_sql_expr *arg,
                                  tide_sql_pos pos)
{
    tide_sql_expr *e = new_expr(s, TIDE_SQL_EXPR_UNARY, pos, h(arg));
    if (e) {
        e->u.unary.op = op;
        e->u.unary.arg = arg;
    }
    return e;
}

tide_sql_expr *tide_sql_ast_binary(tide_sql_script *s, tide_sql_binop op, tide_sql_expr *l,
                                   tide_sql_expr *r, tide_sql_pos pos)
{
    tide_sql_expr *e = new_expr(s, TIDE_SQL_EXPR_BINARY, pos, max_u32(h(l), h(r)));
    if (e) {
        e->u.binary.op = op;
        e->u.binary.left = l;
        e->u.binary.right = r;
    }
    return e;
}

tide_sql_expr *tide_sql_ast_is_null(tide_sql_script *s, bool negated, tide_sql_expr *arg,
                                    tide_sql_pos pos)
{
    tide_sql_expr *e = new_expr(s, TIDE_SQL_EXPR_IS_NULL, pos, h(arg));
    if (e) {
        e->u.is_null.negated = negated;
        e->u.is_null.arg = arg;
    }
    return e;
}

tide_sql_expr *tide_sql_ast_between(tide_sql_script *s, bool negated, tide_sql_expr *arg,
                                    tide_sql_expr *lo, tide_sql_expr *hi, tide_sql_pos pos)
{
    tide_sql_expr *e =
        new_expr(s, TIDE_SQL_EXPR_BETWEEN, pos, max_u32(h(arg), max_u32(h(lo), h(hi))));
    if (e) {
        e->u.between.negated = negated;
        e->u.between.arg = arg;
        e->u.between.low = lo;
        e->u.between.high = hi;
    }
    return e;
}

static uint32_t vec_height(tide_sql_vec v)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < v.n; i++)
        m = max_u32(m, h(v.items[i]));
    return m;
}

tide_sql_expr *tide_sql_ast_grouping(tide_sql_script *s, tide_sql_grouping_kind kind, tide_sql_vec items,
                                     tide_sql_pos pos)
{
    tide_sql_expr *e = new_expr(s, TIDE_SQL_EXPR_GROUPING, pos, vec_height(items));
    if (e) {
        e->u.grouping.kind = kind;
        e->u.grouping.items = (tide_sql_expr **)items.items;
        e->u.grouping.n = items.n;
    }
    return e;
}

tide_sql_expr *tide_sql_ast_in(tide_sql_script *s, bool negated, tide_sql_expr *arg,
                               tide_sql_vec list, tide_sql_pos pos)
{
    tide_sql_expr *e = new_expr(s, TIDE_SQL_EXPR_IN, pos, max_u32(h(arg), vec_height(list)));
    if (e) {
        e->u.in.negated = negated;
        e->u.in.arg = arg;
        e->u.in.list = (tide_sql_expr **)list.items;
        e->u.in.n = list.n;
    }
    return e;
}

tide_sql_expr *tide_sql_ast_like(tide_sql_script *s, bool negated, tide_sql_expr *arg,
                                 tide_sql_expr *pattern, tide_sql_expr *escape, tide_sql_pos pos)
{
    tide_sql_expr *e =
        new_expr(s, TIDE_SQL_EXPR_LIKE, pos, max_u32(h(arg), max_u32(h(pattern), h(escape))));
    if (e) {
        e->u.like.negated = negated;
        e->u.like.arg = arg;
        e->u.like.pattern = pattern;
        e->u.like.escape = escape;
    }
    return e;
}

tide_sql_expr *tide_sql_ast_call(tide_sql_script *s, tide_sql_name name, bool distinct,
                                 tide_sql_vec args, tide_sql_pos pos)
{
    tide_sql_expr *e = new_expr(s, TIDE_SQL_EXPR_CALL, pos, vec_height(args));
    if (e) {
        e->u.call.name = name;
        e->u.call.distinct = distinct;
        e->u.call.args = (tide_sql_expr **)args.items;
        e->u.call.nargs = args.n;
    }
    return e;
}

tide_sql_expr *tide_sql_ast_call_unit(tide_sql_script *s, tide_sql_name name, tide_sql_unit unit,
                                      tide_sql_vec args, tide_sql_pos pos)
{
    tide_sql_expr *e = tide_sql_ast_call(s, name, false, args, pos);
    if (e) {
        e->u.call.has_unit = true;
        e->u.call.unit = unit;
    }
    return e;
}

tide_sql_over *tide_sql_ast_over(tide_sql_script *s, tide_sql_pos pos)
{
    tide_sql_over *o = tide_sql_ast_alloc(s, sizeof *o);
    if (o)
        o->pos = pos;
    return o;
}

int tide_sql_ast_over_finish(tide_sql_script *s, tide_sql_over *o, tide_sql_vec partition_by,
                             tide_sql_vec order)
{
    tide_sql_order_item *ord = flatten(s, order, sizeof(tide_sql_order_item));
    if (order.n && !ord)
        return TIDE_ENOMEM;
    o->partition_by = (tide_sql_expr **)partition_by.items;
    o->npartition = partition_by.n;
    o->order_by = ord;
    o->norder_by = order.n;
    return 0;
}

void tide_sql_ast_call_over(tide_sql_expr *call, tide_sql_over *o)
{
    call->u.call.over = o;
    uint32_t m = 0;
    for (uint32_t i = 0; i < o->npartition; i++)
        m = max_u32(m, h(o->partition_by[i]));
    for (uint32_t i = 0; i < o->norder_by; i++)
        m = max_u32(m, h(o->order_by[i].expr));
    m = max_u32(m, h(o->preceding));
    call->height = max_u32(call->height, m + 1);
}

tide_sql_named_window *tide_sql_ast_named_window(tide_sql_script *s, tide_sql_name name,
                                                 tide_sql_over *spec)
{
    tide_sql_named_window *w = tide_sql_ast_alloc(s, sizeof *w);
    if (w) {
        w->name = name;
        w->spec = spec;
    }
    return w;
}

int tide_sql_ast_select_windows(tide_sql_script *s, tide_sql_select *sel, tide_sql_vec windows)
{
    tide_sql_named_window *w = flatten(s, windows, sizeof(tide_sql_named_window));
    if (windows.n && !w)
        return TIDE_ENOMEM;
    sel->windows = w;
    sel->nwindows = windows.n;
    return 0;
}

tide_sql_expr *tide_sql_ast_cast(tide_sql_script *s, tide_sql_expr *arg, tide_sql_type to,
                                 tide_sql_pos pos)
{
    tide_sql_expr *e = new_expr(s, TIDE_SQL_EXPR_CAST, pos, h(arg));
    if (e) {
        e->u.cast.arg = arg;
        e->u.cast.to = to;
    }
    return e;
}

tide_sql_expr *tide_sql_ast_case(tide_sql_script *s, tide_sql_expr *operand, tide_sql_vec whens,
                                 tide_sql_expr *else_, tide_sql_pos pos)
{
    uint32_t m = max_u32(h(operand), h(else_));
    for (uint32_t i = 0; i < whens.n; i++) {
        const tide_sql_when *w = whens.items[i];
        m = max_u32(m, max_u32(h(w->when), h(w->then)));
    }
    tide_sql_when *arr = flatten(s, whens, sizeof(tide_sql_when));
    if (whens.n && !arr)
        return NULL;
    tide_sql_expr *e = new_expr(s, TIDE_SQL_EXPR_CASE, pos, m);
    if (e) {
        e->u.case_.operand = operand;
        e->u.case_.whens = arr;
        e->u.case_.nwhens = whens.n;
        e->u.case_.else_ = else_;
    }
    return e;
}

tide_sql_expr *tide_sql_ast_floor(tide_sql_script *s, bool ceil, tide_sql_expr *arg,
                                  tide_sql_unit unit, tide_sql_pos pos)
{
    tide_sql_expr *e = new_expr(s, TIDE_SQL_EXPR_FLOOR, pos, h(arg));
    if (e) {
        e->u.floor.ceil = ceil;
        e->u.floor.arg = arg;
        e->u.floor.unit = unit;
    }
    return e;
}

/* ---- FROM items and queries ---------------------------------------- */

tide_sql_when *tide_sql_ast_when(tide_sql_script *s, tide_sql_expr *when, tide_sql_expr *then)
{
    tide_sql_when *w = tide_sql_ast_alloc(s, sizeof *w);
    if (w) {
        w->when = when;
        w->then = then;
    }
    return w;
}

tide_sql_select_item *tide_sql_ast_select_item(tide_sql_script *s, tide_sql_expr *e,
                                               tide_sql_name alias)
{
    tide_sql_select_item *it = tide_sql_ast_alloc(s, sizeof *it);
    if (it) {
        it->expr = e;
        it->alias = alias;
    }
    return it;
}

tide_sql_order_item *tide_sql_ast_order_item(tide_sql_script *s, tide_sql_expr *e, bool desc)
{
    tide_sql_order_item *it = tide_sql_ast_alloc(s, sizeof *it);
    if (it) {
        it->expr = e;
        it->desc = desc;
    }
    return it;
}

tide_sql_cte *tide_sql_ast_cte(tide_sql_script *s, tide_sql_name name, tide_sql_query *q)
{
    tide_sql_cte *c = tide_sql_ast_alloc(s, sizeof *c);
    if (c) {
        c->name = name;
        c->query = q;
    }
    return c;
}

tide_sql_emit *tide_sql_ast_emit(tide_sql_script *s, tide_sql_pos pos)
{
    tide_sql_emit *em = tide_sql_ast_alloc(s, sizeof *em);
    if (em)
        em->pos = pos;
    return em;
}

tide_sql_column_def *tide_sql_ast_column_def(tide_sql_script *s, tide_sql_name name,
                                             tide_sql_type type, bool not_null,
                                             tide_sql_expr *computed)
{
    tide_sql_column_def *c = tide_sql_ast_alloc(s, sizeof *c);
    if (c) {
        c->name = name;
        c->type = type;
        c->not_null = not_null;
        c->computed = computed;
    }
    return c;
}

tide_sql_option *tide_sql_ast_option(tide_sql_script *s, const char *key, size_t klen,
                                     const char *value, size_t vlen, tide_sql_pos pos)
{
    tide_sql_option *o = tide_sql_ast_alloc(s, sizeof *o);
    char *k = tide_sql_ast_strdup(s, key, klen), *v = tide_sql_ast_strdup(s, value, vlen);
    if (!o || !k || !v || klen > UINT32_MAX || vlen > UINT32_MAX)
        return NULL;
    o->key = k;
    o->value = v;
    o->key_len = (uint32_t)klen;
    o->value_len = (uint32_t)vlen;
    o->pos = pos;
    return o;
}

void tide_sql_ast_set_alias(tide_sql_from *f, tide_sql_name alias)
{
    f->alias = alias;
    f->pos.len = alias.pos.off + alias.pos.len > f->pos.off
                     ? alias.pos.off + alias.pos.len - f->pos.off
                     : f->pos.len;
}

static tide_sql_from *new_from(tide_sql_script *s, tide_sql_from_kind kind, tide_sql_pos pos,
                               uint32_t child_height)
{
    tide_sql_from *f = tide_sql_ast_alloc(s, sizeof *f);
    if (f) {
        f->kind = kind;
        f->pos = pos;
        f->height = child_height + 1;
    }
    return f;
}

tide_sql_from *tide_sql_ast_from_table(tide_sql_script *s, tide_sql_name name, tide_sql_pos pos)
{
    tide_sql_from *f = new_from(s, TIDE_SQL_FROM_TABLE, pos, 0);
    if (f)
        f->u.table.name = name;
    return f;
}

tide_sql_from *tide_sql_ast_from_subquery(tide_sql_script *s, tide_sql_query *q, tide_sql_pos pos)
{
    tide_sql_from *f = new_from(s, TIDE_SQL_FROM_SUBQUERY, pos, q ? q->height : 0);
    if (f)
        f->u.subquery.query = q;
    return f;
}

tide_sql_from *tide_sql_ast_from_window(tide_sql_script *s, tide_sql_window_kind kind,
                                        tide_sql_from *input, tide_sql_vec partition_by,
                                        tide_sql_name time_col, tide_sql_vec args, tide_sql_pos pos)
{
    if (args.n > 3)
        return NULL;
    tide_sql_from *f = new_from(s, TIDE_SQL_FROM_WINDOW, pos, input ? input->height : 0);
    if (f) {
        f->u.window.kind = kind;
        f->u.window.input = input;
        f->u.window.partition_by = (tide_sql_expr **)partition_by.items;
        f->u.window.npartition = partition_by.n;
        f->u.window.time_col = time_col;
        for (uint32_t i = 0; i < args.n; i++)
            f->u.window.args[i] = args.items[i];
        f->u.window.nargs = args.n;
    }
    return f;
}

tide_sql_from *tide_sql_ast_join(tide_sql_script *s, tide_sql_join_kind kind, tide_sql_from *l,
                                 tide_sql_from *r, tide_sql_expr *on, tide_sql_pos pos)
{
    tide_sql_from *f = new_from(s, TIDE_SQL_FROM_JOIN, pos, max_u32(l->height, r->height));
    if (f) {
        f->u.join.kind = kind;
        f->u.join.left = l;
        f->u.join.right = r;
        f->u.join.on = on;
    }
    return f;
}

tide_sql_select *tide_sql_ast_select(tide_sql_script *s, bool distinct, tide_sql_vec items,
                                     tide_sql_from *from, tide_sql_expr *where,
                                     tide_sql_vec group_by, tide_sql_expr *having,
                                     tide_sql_emit *emit, tide_sql_pos pos)
{
    tide_sql_select *sel = tide_sql_ast_alloc(s, sizeof *sel);
    tide_sql_select_item *arr = flatten(s, items, sizeof(tide_sql_select_item));
    if (!sel || (items.n && !arr))
        return NULL;
    sel->pos = pos;
    sel->distinct = distinct;
    sel->items = arr;
    sel->nitems = items.n;
    sel->from = from;
    sel->where = where;
    sel->group_by = (tide_sql_expr **)group_by.items;
    sel->ngroup_by = group_by.n;
    sel->having = having;
    sel->emit = emit;
    return sel;
}

static tide_sql_query *new_query(tide_sql_script *s, tide_sql_query_kind kind, tide_sql_pos pos,
                                 uint32_t child_height)
{
    tide_sql_query *q = tide_sql_ast_alloc(s, sizeof *q);
    if (q) {
        q->kind = kind;
        q->pos = pos;
        q->height = child_height + 1;
    }
    return q;
}

tide_sql_query *tide_sql_ast_query_select(tide_sql_script *s, tide_sql_select *sel,
                                          tide_sql_pos pos)
{
    tide_sql_query *q = new_query(s, TIDE_SQL_QUERY_SELECT, pos, sel->from ? sel->from->height : 0);
    if (q)
        q->u.select = sel;
    return q;
}

tide_sql_query *tide_sql_ast_query_union(tide_sql_script *s, bool all, tide_sql_query *l,
                                         tide_sql_query *r, tide_sql_pos pos)
{
    tide_sql_query *q = new_query(s, TIDE_SQL_QUERY_UNION, pos, max_u32(l->height, r->height));
    if (q) {
        q->u.set.all = all;
        q->u.set.left = l;
        q->u.set.right = r;
    }
    return q;
}

tide_sql_query *tide_sql_ast_query_nested(tide_sql_script *s, tide_sql_query *inner,
                                          tide_sql_pos pos)
{
    tide_sql_query *q = new_query(s, TIDE_SQL_QUERY_NESTED, pos, inner->height);
    if (q)
        q->u.nested = inner;
    return q;
}

bool tide_sql_ast_query_has_extras(const tide_sql_query *q)
{
    return q->nctes || q->norder_by || q->limit;
}

int tide_sql_ast_query_finish(tide_sql_script *s, tide_sql_query *q, tide_sql_vec ctes,
                              tide_sql_vec order_by, tide_sql_expr *limit)
{
    tide_sql_cte *c = flatten(s, ctes, sizeof(tide_sql_cte));
    tide_sql_order_item *o = flatten(s, order_by, sizeof(tide_sql_order_item));
    if ((ctes.n && !c) || (order_by.n && !o))
        return TIDE_ENOMEM;
    for (uint32_t i = 0; i < ctes.n; i++)
        q->height = max_u32(q->height, c[i].query->height + 1);
    q->ctes = c;
    q->nctes = ctes.n;
    q->order_by = o;
    q->norder_by = order_by.n;
    q->limit = limit;
    return 0;
}

/* ---- statements ----------------------------------------------------- */

static tide_sql_stmt *new_stmt(tide_sql_script *s, tide_sql_stmt_kind kind, tide_sql_pos pos)
{
    tide_sql_stmt *st = tide_sql_ast_alloc(s, sizeof *st);
    if (st) {
        st->kind = kind;
        st->pos = pos;
    }
    return st;
}

tide_sql_stmt *tide_sql_ast_create_table(tide_sql_script *s, tide_sql_name name, bool if_not_exists,
                                         tide_sql_vec columns, tide_sql_name wm_col,
                                         tide_sql_expr *wm, tide_sql_vec options, tide_sql_pos pos)
{
    tide_sql_column_def *cols = flatten(s, columns, sizeof(tide_sql_column_def));
    tide_sql_option *opts = flatten(s, options, sizeof(tide_sql_option));
    tide_sql_stmt *st = new_stmt(s, TIDE_SQL_STMT_CREATE_TABLE, pos);
    if (!st || (columns.n && !cols) || (options.n && !opts))
        return NULL;
    st->u.create_table.name = name;
    st->u.create_table.if_not_exists = if_not_exists;
    st->u.create_table.columns = cols;
    st->u.create_table.ncolumns = columns.n;
    st->u.create_table.watermark_col = wm_col;
    st->u.create_table.watermark = wm;
    st->u.create_table.options = opts;
    st->u.create_table.noptions = options.n;
    return st;
}

tide_sql_stmt *tide_sql_ast_create_view(tide_sql_script *s, tide_sql_name name, tide_sql_query *q,
                                        tide_sql_pos pos)
{
    tide_sql_stmt *st = new_stmt(s, TIDE_SQL_STMT_CREATE_VIEW, pos);
    if (st) {
        st->u.create_view.name = name;
        st->u.create_view.query = q;
    }
    return st;
}

tide_sql_stmt *tide_sql_ast_insert(tide_sql_script *s, tide_sql_name table, tide_sql_query *q,
                                   tide_sql_pos pos)
{
    tide_sql_stmt *st = new_stmt(s, TIDE_SQL_STMT_INSERT, pos);
    if (st) {
        st->u.insert.table = table;
        st->u.insert.query = q;
    }
    return st;
}

tide_sql_stmt *tide_sql_ast_query_stmt(tide_sql_script *s, tide_sql_query *q, tide_sql_pos pos)
{
    tide_sql_stmt *st = new_stmt(s, TIDE_SQL_STMT_QUERY, pos);
    if (st)
        st->u.query = q;
    return st;
}

void tide_sql_ast_set_stmts(tide_sql_script *s, tide_sql_vec stmts)
{
    s->stmts = (tide_sql_stmt **)stmts.items;
    s->nstmts = stmts.n;
}

/* ---- names ---------------------------------------------------------- */

const char *tide_sql_unit_name(tide_sql_unit u)
{
    static const char *const names[] = {"SECOND", "MINUTE",      "HOUR", "DAY",     "MONTH", "YEAR",
                                        "MILLISECOND", "WEEK", "QUARTER", "DOW", "DOY"};
    return (unsigned)u < sizeof names / sizeof names[0] ? names[u] : "?";
}

int64_t tide_sql_unit_ms(tide_sql_unit u)
{
    switch (u) {
    case TIDE_SQL_UNIT_MILLISECOND: return 1;
    case TIDE_SQL_UNIT_SECOND: return 1000;
    case TIDE_SQL_UNIT_MINUTE: return 60000;
    case TIDE_SQL_UNIT_HOUR: return 3600000;
    case TIDE_SQL_UNIT_DAY: return 86400000;
    case TIDE_SQL_UNIT_WEEK: return 7 * 86400000LL;
    default: return 0;
    }
}

const char *tide_sql_binop_name(tide_sql_binop op)
{
    static const char *const names[] = {"OR", "AND", "=", "<>", "<", "<=", ">", ">=", "+", "-", "*", "/", "%",
                                        "||", "IS DISTINCT FROM", "IS NOT DISTINCT FROM"};
    return (unsigned)op < sizeof names / sizeof names[0] ? names[op] : "?";
}

const char *tide_sql_window_name(tide_sql_window_kind k)
{
    static const char *const names[] = {"TUMBLE", "HOP", "CUMULATE", "SESSION"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

/* ---- printing ------------------------------------------------------- */

/* The printer appends with `P(...)` and `S(...)`; the first allocation
 * failure sticks in pr->rc and later appends do nothing. */
typedef struct printer {
    tide_buf *out;
    int rc;
} printer;

static void put(printer *pr, const char *p, size_t n)
{
    if (!pr->rc)
        pr->rc = tide_buf_append(pr->out, p, n);
}
static void puts_(printer *pr, const char *s)
{
    put(pr, s, strlen(s));
}

static void put_quoted(printer *pr, const char *p, size_t n, char q)
{
    put(pr, &q, 1);
    for (size_t i = 0; i < n; i++) {
        put(pr, p + i, 1);
        if (p[i] == q)
            put(pr, &q, 1);
    }
    put(pr, &q, 1);
}

static void put_name(printer *pr, const tide_sql_name *n)
{
    if (tide_sql_lex_needs_quotes(n->str, n->len))
        put_quoted(pr, n->str, n->len, '`');
    else
        put(pr, n->str, n->len);
}

static void put_func_name(printer *pr, const tide_sql_name *n)
{
    if (tide_sql_lex_needs_quotes(n->str, n->len)) {
        put_quoted(pr, n->str, n->len, '`');
        return;
    }
    for (uint32_t i = 0; i < n->len; i++) {
        char c = n->str[i];
        c = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
        put(pr, &c, 1);
    }
}

static void put_i64(printer *pr, int64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    put(pr, tmp, (size_t)n);
}

static void put_type(printer *pr, const tide_sql_type *t)
{
    if (t->type == TIDE_TYPE_STRING && t->length >= 0) {
        puts_(pr, "VARCHAR(");
        put_i64(pr, t->length);
        puts_(pr, ")");
    } else {
        puts_(pr, tide_type_name(t->type));
    }
}

/* Precedence levels, loosest first (see ast.h). */
enum { PREC_OR = 1, PREC_AND, PREC_NOT, PREC_CMP, PREC_ADD, PREC_MUL, PREC_UNARY, PREC_PRIMARY };

static int binop_prec(tide_sql_binop op)
{
    switch (op) {
    case TIDE_SQL_OP_OR:
        return PREC_OR;
    case TIDE_SQL_OP_AND:
        return PREC_AND;
    case TIDE_SQL_OP_ADD:
    case TIDE_SQL_OP_SUB:
        return PREC_ADD;
    case TIDE_SQL_OP_MUL:
    case TIDE_SQL_OP_DIV:
    case TIDE_SQL_OP_MOD:
    case TIDE_SQL_OP_CONCAT:
        return PREC_MUL;
    default:
        return PREC_CMP;
    }
}

static int expr_prec(const tide_sql_expr *e)
{
    switch (e->kind) {
    case TIDE_SQL_EXPR_UNARY:
        return e->u.unary.op == TIDE_SQL_OP_NOT ? PREC_NOT : PREC_UNARY;
    case TIDE_SQL_EXPR_BINARY:
        return binop_prec(e->u.binary.op);
    case TIDE_SQL_EXPR_IS_NULL:
    case TIDE_SQL_EXPR_BETWEEN:
    case TIDE_SQL_EXPR_IN:
    case TIDE_SQL_EXPR_LIKE:
        return PREC_CMP;
    case TIDE_SQL_EXPR_INT:
        return e->u.i64 < 0 ? PREC_UNARY : PREC_PRIMARY;
    default:
        return PREC_PRIMARY;
    }
}

static void print_expr(printer *pr, const tide_sql_expr *e, int min_prec);
static void print_query(printer *pr, const tide_sql_query *q);

static void print_interval(printer *pr, const tide_sql_expr *e)
{
    puts_(pr, "INTERVAL '");
    if (e->u.interval.unit == TIDE_SQL_UNIT_MILLISECOND) { /* INTERVAL '1.5' SECOND */
        int64_t c = e->u.interval.count;
        uint64_t m = c < 0 ? 0 - (uint64_t)c : (uint64_t)c;
        char frac[8];
        snprintf(frac, sizeof frac, "%03u", (unsigned)(m % 1000));
        for (int k = 2; k > 0 && frac[k] == '0'; k--)
            frac[k] = 0;
        char buf[48];
        snprintf(buf, sizeof buf, "%s%llu.%s' SECOND", c < 0 ? "-" : "", (unsigned long long)(m / 1000), frac);
        puts_(pr, buf);
        return;
    }
    put_i64(pr, e->u.interval.count);
    puts_(pr, "' ");
    puts_(pr, tide_sql_unit_name(e->u.interval.unit));
}

static void print_list(printer *pr, tide_sql_expr *const *list, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            puts_(pr, ", ");
        print_expr(pr, list[i], 0);
    }
}

static void print_over_spec(printer *pr, const tide_sql_over *o)
{
    const char *sep = "";
    puts_(pr, "(");
    if (o->npartition) {
        puts_(pr, "PARTITION BY ");
        print_list(pr, o->partition_by, o->npartition);
        sep = " ";
    }
    if (o->norder_by) {
        puts_(pr, sep);
        puts_(pr, "ORDER BY ");
        for (uint32_t i = 0; i < o->norder_by; i++) {
            if (i)
                puts_(pr, ", ");
            print_expr(pr, o->order_by[i].expr, 0);
            if (o->order_by[i].desc)
                puts_(pr, " DESC");
        }
        sep = " ";
    }
    if (o->unit != TIDE_SQL_FRAME_NONE) {
        puts_(pr, sep);
        puts_(pr, o->unit == TIDE_SQL_FRAME_ROWS ? "ROWS BETWEEN " : "RANGE BETWEEN ");
        if (o->unbounded) {
            puts_(pr, "UNBOUNDED PRECEDING");
        } else if (o->preceding) {
            print_expr(pr, o->preceding, 0);
            puts_(pr, " PRECEDING");
        } else {
            puts_(pr, "CURRENT ROW");
        }
        puts_(pr, " AND CURRENT ROW");
    }
    puts_(pr, ")");
}

static void print_over(printer *pr, const tide_sql_over *o)
{
    puts_(pr, " OVER ");
    if (o->ref.str)
        put_name(pr, &o->ref);
    else
        print_over_spec(pr, o);
}

static void print_expr_inner(printer *pr, const tide_sql_expr *e)
{
    switch (e->kind) {
    case TIDE_SQL_EXPR_NULL:
        puts_(pr, "NULL");
        break;
    case TIDE_SQL_EXPR_BOOL:
        puts_(pr, e->u.b ? "TRUE" : "FALSE");
        break;
    case TIDE_SQL_EXPR_INT:
        put_i64(pr, e->u.i64);
        break;
    case TIDE_SQL_EXPR_DECIMAL:
        puts_(pr, e->u.dec.text);
        break;
    case TIDE_SQL_EXPR_STRING:
        put_quoted(pr, e->u.str.str, e->u.str.len, '\'');
        break;
    case TIDE_SQL_EXPR_TIMESTAMP:
        puts_(pr, "TIMESTAMP ");
        put_quoted(pr, e->u.str.str, e->u.str.len, '\'');
        break;
    case TIDE_SQL_EXPR_GROUPING: {
        static const char *const open[] = {"GROUPING SETS (", "ROLLUP(", "CUBE(", "("};
        puts_(pr, open[e->u.grouping.kind]);
        print_list(pr, e->u.grouping.items, e->u.grouping.n);
        puts_(pr, ")");
        break;
    }
    case TIDE_SQL_EXPR_DATE:
        puts_(pr, "DATE ");
        put_quoted(pr, e->u.str.str, e->u.str.len, '\'');
        break;
    case TIDE_SQL_EXPR_INTERVAL:
        print_interval(pr, e);
        break;
    case TIDE_SQL_EXPR_COLUMN:
        if (e->u.column.qualifier.str) {
            put_name(pr, &e->u.column.qualifier);
            puts_(pr, ".");
        }
        put_name(pr, &e->u.column.name);
        break;
    case TIDE_SQL_EXPR_STAR:
        if (e->u.column.qualifier.str) {
            put_name(pr, &e->u.column.qualifier);
            puts_(pr, ".");
        }
        puts_(pr, "*");
        break;
    case TIDE_SQL_EXPR_UNARY: {
        const tide_sql_expr *a = e->u.unary.arg;
        if (e->u.unary.op == TIDE_SQL_OP_NOT) {
            puts_(pr, "NOT ");
            print_expr(pr, a, PREC_NOT);
        } else {
            puts_(pr, e->u.unary.op == TIDE_SQL_OP_NEG ? "-" : "+");
            /* never print "--" (a comment) or "+-" ambiguously */
            if ((a->kind == TIDE_SQL_EXPR_UNARY && a->u.unary.op != TIDE_SQL_OP_NOT) ||
                (a->kind == TIDE_SQL_EXPR_INT && a->u.i64 < 0))
                puts_(pr, " ");
            print_expr(pr, a, PREC_UNARY);
        }
        break;
    }
    case TIDE_SQL_EXPR_BINARY: {
        int p = binop_prec(e->u.binary.op);
        print_expr(pr, e->u.binary.left, p);
        puts_(pr, " ");
        puts_(pr, tide_sql_binop_name(e->u.binary.op));
        puts_(pr, " ");
        print_expr(pr, e->u.binary.right, p + 1);
        break;
    }
    case TIDE_SQL_EXPR_IS_NULL:
        print_expr(pr, e->u.is_null.arg, PREC_CMP);
        puts_(pr, e->u.is_null.negated ? " IS NOT NULL" : " IS NULL");
        break;
    case TIDE_SQL_EXPR_BETWEEN:
        print_expr(pr, e->u.between.arg, PREC_CMP);
        puts_(pr, e->u.between.negated ? " NOT BETWEEN " : " BETWEEN ");
        print_expr(pr, e->u.between.low, PREC_ADD);
        puts_(pr, " AND ");
        print_expr(pr, e->u.between.high, PREC_ADD);
        break;
    case TIDE_SQL_EXPR_IN:
        print_expr(pr, e->u.in.arg, PREC_CMP);
        puts_(pr, e->u.in.negated ? " NOT IN (" : " IN (");
        print_list(pr, e->u.in.list, e->u.in.n);
        puts_(pr, ")");
        break;
    case TIDE_SQL_EXPR_LIKE:
        print_expr(pr, e->u.like.arg, PREC_CMP);
        puts_(pr, e->u.like.negated ? " NOT LIKE " : " LIKE ");
        print_expr(pr, e->u.like.pattern, PREC_ADD);
        if (e->u.like.escape) {
            puts_(pr, " ESCAPE ");
            print_expr(pr, e->u.like.escape, PREC_ADD);
        }
        break;
    case TIDE_SQL_EXPR_CALL:
        put_func_name(pr, &e->u.call.name);
        if (e->u.call.has_unit) {
            bool extract = strcmp(e->u.call.name.str, "extract") == 0;
            puts_(pr, "(");
            puts_(pr, tide_sql_unit_name(e->u.call.unit));
            puts_(pr, e->u.call.nargs ? (extract ? " FROM " : ", ") : "");
            print_list(pr, e->u.call.args, e->u.call.nargs);
            puts_(pr, ")");
            break;
        }
        puts_(pr, e->u.call.distinct ? "(DISTINCT " : "(");
        print_list(pr, e->u.call.args, e->u.call.nargs);
        puts_(pr, ")");
        if (e->u.call.over)
            print_over(pr, e->u.call.over);
        break;
    case TIDE_SQL_EXPR_CAST:
        puts_(pr, "CAST(");
        print_expr(pr, e->u.cast.arg, 0);
        puts_(pr, " AS ");
        put_type(pr, &e->u.cast.to);
        puts_(pr, ")");
        break;
    case TIDE_SQL_EXPR_CASE:
        puts_(pr, "CASE");
        if (e->u.case_.operand) {
            puts_(pr, " ");
            print_expr(pr, e->u.case_.operand, 0);
        }
        for (uint32_t i = 0; i < e->u.case_.nwhens; i++) {
            puts_(pr, " WHEN ");
            print_expr(pr, e->u.case_.whens[i].when, 0);
            puts_(pr, " THEN ");
            print_expr(pr, e->u.case_.whens[i].then, 0);
        }
        if (e->u.case_.else_) {
            puts_(pr, " ELSE ");
            print_expr(pr, e->u.case_.else_, 0);
        }
        puts_(pr, " END");
        break;
    case TIDE_SQL_EXPR_FLOOR:
        puts_(pr, e->u.floor.ceil ? "CEIL(" : "FLOOR(");
        print_expr(pr, e->u.floor.arg, 0);
        puts_(pr, " TO ");
        puts_(pr, tide_sql_unit_name(e->u.floor.unit));
        puts_(pr, ")");
        break;
    }
}

static void print_expr(printer *pr, const tide_sql_expr *e, int min_prec)
{
    bool paren = expr_prec(e) < min_prec;
    if (paren)
        puts_(pr, "(");
    print_expr_inner(pr, e);
    if (paren)
        puts_(pr, ")");
}

static void print_alias(printer *pr, const tide_sql_name *alias)
{
    if (alias->str) {
        puts_(pr, " AS ");
        put_name(pr, alias);
    }
}

static void print_from(printer *pr, const tide_sql_from *f)
{
    switch (f->kind) {
    case TIDE_SQL_FROM_TABLE:
        put_name(pr, &f->u.table.name);
        break;
    case TIDE_SQL_FROM_SUBQUERY:
        puts_(pr, "(");
        print_query(pr, f->u.subquery.query);
        puts_(pr, ")");
        break;
    case TIDE_SQL_FROM_WINDOW: {
        const tide_sql_from *in = f->u.window.input;
        puts_(pr, "TABLE(");
        puts_(pr, tide_sql_window_name(f->u.window.kind));
        puts_(pr, "(");
        if (in->kind == TIDE_SQL_FROM_TABLE)
            puts_(pr, "TABLE ");
        print_from(pr, in);
        if (f->u.window.npartition) {
            puts_(pr, " PARTITION BY ");
            if (f->u.window.npartition > 1)
                puts_(pr, "(");
            print_list(pr, f->u.window.partition_by, f->u.window.npartition);
            if (f->u.window.npartition > 1)
                puts_(pr, ")");
        }
        puts_(pr, ", DESCRIPTOR(");
        put_name(pr, &f->u.window.time_col);
        puts_(pr, ")");
        for (uint32_t i = 0; i < f->u.window.nargs; i++) {
            puts_(pr, ", ");
            print_expr(pr, f->u.window.args[i], 0);
        }
        puts_(pr, "))");
        break;
    }
    case TIDE_SQL_FROM_JOIN: {
        static const char *const kw[] = {" JOIN ",      " LEFT JOIN ",  " RIGHT JOIN ",
                                         " FULL JOIN ", " CROSS JOIN ", ", "};
        print_from(pr, f->u.join.left);
        puts_(pr, kw[f->u.join.kind]);
        print_from(pr, f->u.join.right);
        if (f->u.join.on) {
            puts_(pr, " ON ");
            print_expr(pr, f->u.join.on, 0);
        }
        return; /* no alias */
    }
    }
    print_alias(pr, &f->alias);
}

static void print_interval_expr(printer *pr, const tide_sql_expr *e)
{
    print_expr(pr, e, 0);
}

static void print_select(printer *pr, const tide_sql_select *s)
{
    puts_(pr, s->distinct ? "SELECT DISTINCT " : "SELECT ");
    for (uint32_t i = 0; i < s->nitems; i++) {
        if (i)
            puts_(pr, ", ");
        print_expr(pr, s->items[i].expr, 0);
        print_alias(pr, &s->items[i].alias);
    }
    if (s->from) {
        puts_(pr, " FROM ");
        print_from(pr, s->from);
    }
    if (s->where) {
        puts_(pr, " WHERE ");
        print_expr(pr, s->where, 0);
    }
    if (s->ngroup_by) {
        puts_(pr, " GROUP BY ");
        print_list(pr, s->group_by, s->ngroup_by);
    }
    if (s->having) {
        puts_(pr, " HAVING ");
        print_expr(pr, s->having, 0);
    }
    for (uint32_t i = 0; i < s->nwindows; i++) {
        puts_(pr, i ? ", " : " WINDOW ");
        put_name(pr, &s->windows[i].name);
        puts_(pr, " AS ");
        print_over_spec(pr, s->windows[i].spec);
    }
    if (s->emit) {
        const tide_sql_emit *em = s->emit;
        static const char *const modes[] = {"", " ACCUMULATING", " DISCARDING", " RETRACTING"};
        puts_(pr, " EMIT");
        if (em->early_interval) {
            puts_(pr, " EARLY EVERY ");
            print_interval_expr(pr, em->early_interval);
        } else if (em->early_rows) {
            puts_(pr, " EARLY EVERY ");
            put_i64(pr, em->early_rows);
            puts_(pr, " ROWS");
        }
        if (em->lateness) {
            puts_(pr, " ALLOW LATENESS ");
            print_interval_expr(pr, em->lateness);
        }
        puts_(pr, modes[em->mode]);
    }
}

/* A query used as an operand of UNION needs parentheses when it has its own
 * WITH/ORDER BY/LIMIT, or (on the right) when it is itself a UNION. */
static void print_set_operand(printer *pr, const tide_sql_query *q, bool right)
{
    bool paren = tide_sql_ast_query_has_extras(q) || (right && q->kind == TIDE_SQL_QUERY_UNION);
    if (paren)
        puts_(pr, "(");
    print_query(pr, q);
    if (paren)
        puts_(pr, ")");
}

static void print_query(printer *pr, const tide_sql_query *q)
{
    if (q->nctes) {
        puts_(pr, "WITH ");
        for (uint32_t i = 0; i < q->nctes; i++) {
            if (i)
                puts_(pr, ", ");
            put_name(pr, &q->ctes[i].name);
            puts_(pr, " AS (");
            print_query(pr, q->ctes[i].query);
            puts_(pr, ")");
        }
        puts_(pr, " ");
    }
    switch (q->kind) {
    case TIDE_SQL_QUERY_SELECT:
        print_select(pr, q->u.select);
        break;
    case TIDE_SQL_QUERY_UNION:
        print_set_operand(pr, q->u.set.left, false);
        puts_(pr, q->u.set.all ? " UNION ALL " : " UNION ");
        print_set_operand(pr, q->u.set.right, true);
        break;
    case TIDE_SQL_QUERY_NESTED:
        puts_(pr, "(");
        print_query(pr, q->u.nested);
        puts_(pr, ")");
        break;
    }
    if (q->norder_by) {
        puts_(pr, " ORDER BY ");
        for (uint32_t i = 0; i < q->norder_by; i++) {
            if (i)
                puts_(pr, ", ");
            print_expr(pr, q->order_by[i].expr, 0);
            if (q->order_by[i].desc)
                puts_(pr, " DESC");
        }
    }
    if (q->limit) {
        puts_(pr, " LIMIT ");
        print_expr(pr, q->limit, 0);
    }
}

static void print_stmt(printer *pr, const tide_sql_stmt *st)
{
    switch (st->kind) {
    case TIDE_SQL_STMT_CREATE_TABLE: {
        const tide_sql_create_table *ct = &st->u.create_table;
        puts_(pr, ct->if_not_exists ? "CREATE TABLE IF NOT EXISTS " : "CREATE TABLE ");
        put_name(pr, &ct->name);
        puts_(pr, " (");
        for (uint32_t i = 0; i < ct->ncolumns; i++) {
            const tide_sql_column_def *c = &ct->columns[i];
            if (i)
                puts_(pr, ", ");
            put_name(pr, &c->name);
            if (c->computed) {
                puts_(pr, " AS ");
                print_expr(pr, c->computed, 0);
            } else {
                puts_(pr, " ");
                put_type(pr, &c->type);
                if (c->not_null)
                    puts_(pr, " NOT NULL");
            }
        }
        if (ct->watermark) {
            if (ct->ncolumns)
                puts_(pr, ", ");
            puts_(pr, "WATERMARK FOR ");
            put_name(pr, &ct->watermark_col);
            puts_(pr, " AS ");
            print_expr(pr, ct->watermark, 0);
        }
        puts_(pr, ")");
        if (ct->noptions) {
            puts_(pr, " WITH (");
            for (uint32_t i = 0; i < ct->noptions; i++) {
                if (i)
                    puts_(pr, ", ");
                put_quoted(pr, ct->options[i].key, ct->options[i].key_len, '\'');
                puts_(pr, " = ");
                put_quoted(pr, ct->options[i].value, ct->options[i].value_len, '\'');
            }
            puts_(pr, ")");
        }
        break;
    }
    case TIDE_SQL_STMT_CREATE_VIEW:
        puts_(pr, "CREATE VIEW ");
        put_name(pr, &st->u.create_view.name);
        puts_(pr, " AS ");
        print_query(pr, st->u.create_view.query);
        break;
    case TIDE_SQL_STMT_INSERT:
        puts_(pr, "INSERT INTO ");
        put_name(pr, &st->u.insert.table);
        puts_(pr, " ");
        print_query(pr, st->u.insert.query);
        break;
    case TIDE_SQL_STMT_QUERY:
        print_query(pr, st->u.query);
        break;
    }
}

int tide_sql_print_expr(const tide_sql_expr *e, tide_buf *out)
{
    printer pr = {out, 0};
    print_expr(&pr, e, 0);
    return pr.rc;
}

int tide_sql_print_query(const tide_sql_query *q, tide_buf *out)
{
    printer pr = {out, 0};
    print_query(&pr, q);
    return pr.rc;
}

int tide_sql_print_stmt(const tide_sql_stmt *st, tide_buf *out)
{
    printer pr = {out, 0};
    print_stmt(&pr, st);
    return pr.rc;
}

int tide_sql_print_script(const tide_sql_script *s, tide_buf *out)
{
    printer pr = {out, 0};
    for (uint32_t i = 0; i < s->nstmts; i++) {
        if (i)
            puts_(&pr, "\n");
        print_stmt(&pr, s->stmts[i]);
        puts_(&pr, ";");
    }
    return pr.rc;
}
