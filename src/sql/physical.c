/*
 * physical.c - plan -> physical graph spec.  See physical.h.
 *
 * The planner walks the plan from the sink down and returns, for each plan
 * node, the *stream* it became: the graph node and output port producing
 * the rows, their schema (the plan's row type), their parallelism, whether
 * they form a changelog, and the columns that order them canonically (the
 * window, then the keys, for an aggregation's output) for the sink's
 * ordering node.
 */
#include "sql/physical.h"

#include "base/hash.h"

#include "base/io.h"
#include "data/codec.h"
#include "data/key.h"
#include "exec/cumagg.h"
#include "exec/expr.h"
#include "exec/node_calc.h"
#include "exec/node_cumagg.h"
#include "exec/node_groupagg.h"
#include "exec/node_join.h"
#include "exec/node_order.h"
#include "exec/node_over.h"
#include "exec/node_topn.h"
#include "exec/node_scan.h"
#include "exec/node_union.h"
#include "exec/node_window.h"
#include "exec/node_preagg.h"
#include "exec/node_winagg.h"
#include "exec/node_write.h"
#include "sql/catalog.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef struct stream {
    int node;
    uint32_t port;
    uint32_t par;
    const tide_schema *schema; /* owned by the spec */
    bool changelog;
    uint32_t *order; /* canonical order columns (NULL: all columns) */
    uint32_t norder;
    bool ordered; /* through a keyed or multi-input node: the sink orders it */
} stream;

typedef struct planner {
    tide_job_spec *spec;
    const tide_sql_phys_opts *o;
    tide_sql_phys_info *info;
    tide_sql_error *err;
    uint32_t P;
    uint32_t sink_index; /* the statement's place in its job: producer "<job>.<sink_index>" */
    /* one scan per table (shared by every statement of a set) */
    struct {
        const void *table;
        stream s;
    } scans[64];
    uint32_t nscans;
} planner;

/* ---- errors ---- */

static int sqlfail(planner *pl, int code, tide_sql_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int sqlfail(planner *pl, int code, tide_sql_pos pos, const char *fmt, ...)
{
    tide_sql_error *err = pl->err;
    if (!err)
        return code;
    err->code = code;
    err->line = pos.line;
    err->col = pos.col;
    err->off = pos.off;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (!err->file[0])
        snprintf(err->file, sizeof err->file, "<input>");
    return code;
}

static int nomem(planner *pl, const tide_sql_plan *p) { return sqlfail(pl, TIDE_ENOMEM, p->pos, "out of memory"); }

/* An exec-level error at plan node p. */
static int experr(planner *pl, const tide_sql_plan *p, const tide_err *e)
{
    int code = e->code ? e->code : TIDE_EINVAL;
    if (code == TIDE_ENOMEM)
        return nomem(pl, p);
    return sqlfail(pl, code, p->pos, "%s", e->msg[0] ? e->msg : "cannot run this expression");
}

static void schema_free_fn(void *p) { tide_schema_free(p); }

/* A schema made for the spec: handed over to it. */
static int own_schema(planner *pl, const tide_sql_plan *at, tide_schema *s)
{
    tide_err e = {0};
    if (tide_job_spec_own(pl->spec, schema_free_fn, s, &e))
        return nomem(pl, at);
    return 0;
}

static int plan_schema(planner *pl, const tide_sql_plan *p, const tide_schema **out)
{
    tide_err e = {0};
    tide_schema *s;
    if (tide_sql_plan_schema(p, &s, &e))
        return experr(pl, p, &e);
    int rc = own_schema(pl, p, s);
    *out = s;
    return rc;
}

static void *alloc(planner *pl, size_t n) { return tide_job_spec_alloc(pl->spec, n); }

/* ---- folding Filter / Project chains ---- */

/* A chain of Filter / Project nodes over a base: its output columns as
 * expressions over the base's row, and its predicates over the base's row. */
typedef struct flat {
    const tide_sql_plan *base;
    tide_sql_bexpr **cols;
    uint32_t ncols;
    tide_sql_bexpr **preds;
    uint32_t npreds;
    bool any; /* at least one Filter or Project */
    bool projects;
} flat;

static tide_sql_bexpr *subst(planner *pl, tide_sql_bexpr *x, tide_sql_bexpr *const *cols)
{
    if (x->kind == TIDE_SQL_BX_COLUMN)
        return cols[x->col];
    if (x->nargs == 0)
        return x;
    tide_sql_bexpr *y = alloc(pl, sizeof *y);
    tide_sql_bexpr **args = alloc(pl, x->nargs * sizeof *args);
    if (!y || !args)
        return NULL;
    *y = *x;
    y->args = args;
    for (uint32_t i = 0; i < x->nargs; i++)
        if (!(args[i] = x->args[i] ? subst(pl, x->args[i], cols) : NULL) && x->args[i])
            return NULL;
    return y;
}

static int fold(planner *pl, const tide_sql_plan *p, flat *f)
{
    const tide_sql_plan *chain[256];
    uint32_t n = 0;
    const tide_sql_plan *q = p;
    while (q->kind == TIDE_SQL_PLAN_FILTER || q->kind == TIDE_SQL_PLAN_PROJECT) {
        if (n == 256)
            return sqlfail(pl, TIDE_EUNSUPPORTED, q->pos, "not supported yet: a query nested this deep");
        chain[n++] = q;
        q = q->input;
    }
    memset(f, 0, sizeof *f);
    f->base = q;
    f->any = n > 0;
    f->ncols = q->ncols;
    f->cols = alloc(pl, (q->ncols + 1) * sizeof *f->cols);
    f->preds = alloc(pl, (n + 2) * sizeof *f->preds);
    if (!f->cols || !f->preds)
        return nomem(pl, q);
    for (uint32_t i = 0; i < q->ncols; i++) {
        tide_sql_bexpr *c = alloc(pl, sizeof *c);
        if (!c)
            return nomem(pl, q);
        *c = (tide_sql_bexpr){.kind = TIDE_SQL_BX_COLUMN, .type = q->cols[i].type, .col = i};
        f->cols[i] = c;
    }
    while (n > 0) {
        const tide_sql_plan *s = chain[--n];
        if (s->kind == TIDE_SQL_PLAN_FILTER) {
            if (!(f->preds[f->npreds++] = subst(pl, s->u.filter.pred, f->cols)))
                return nomem(pl, s);
        } else {
            f->projects = true;
            tide_sql_bexpr **nc = alloc(pl, (s->ncols + 1) * sizeof *nc);
            if (!nc)
                return nomem(pl, s);
            for (uint32_t i = 0; i < s->ncols; i++)
                if (!(nc[i] = subst(pl, s->u.project.exprs[i], f->cols)))
                    return nomem(pl, s);
            f->cols = nc;
            f->ncols = s->ncols;
        }
    }
    return 0;
}

static int plan(planner *pl, const tide_sql_plan *p, stream *out);

/* ---- nodes ---- */

static int add_node(planner *pl, const tide_sql_plan *at, const char *name, const tide_node_vt *vt,
                    tide_flow_make_fn make, void *cfg, uint32_t par, uint32_t n_out,
                    const tide_schema *const *schemas, const unsigned *flags, int *id)
{
    tide_flow_node n = {.name = name, .vt = vt, .make = make, .make_ctx = cfg, .parallelism = par, .n_out = n_out};
    for (uint32_t i = 0; i < n_out; i++) {
        n.out_schema[i] = schemas[i];
        n.out_flags[i] = flags ? flags[i] : 0;
    }
    tide_err e = {0};
    if (tide_job_spec_node(pl->spec, &n, id, &e))
        return experr(pl, at, &e);
    return 0;
}

static int add_edge(planner *pl, const tide_sql_plan *at, const stream *s, int to, tide_flow_part part,
                    const uint32_t *keys, uint32_t nk)
{
    tide_err e = {0};
    if (tide_job_spec_edge(pl->spec, s->node, s->port, to, part, keys, nk, &e))
        return experr(pl, at, &e);
    return 0;
}

static unsigned flags_of(const stream *s) { return s->changelog ? TIDE_CBATCH_OPS : 0; }

/* An expression tree over `in` for each bound expression, checked at plan
 * time (so errors carry the SQL position) and rebuilt per instance. */
typedef struct calc_ctx {
    const tide_schema *in;
    tide_sql_bexpr **preds;
    uint32_t npreds;
    tide_sql_bexpr **cols; /* NULL: no projection */
    uint32_t ncols;
    const tide_type *types; /* the output columns' types (casts where they differ) */
    const tide_clock *clock; /* processing-time functions; NULL: the system's */
} calc_ctx;

/* Build the trees; on failure *at (may be NULL) gets the failing
 * expression's position (the planner's check), e the bare message. */
static int calc_build_at(calc_ctx *c, tide_expr **where, tide_expr **exprs, tide_sql_pos *at, tide_err *e)
{
    *where = NULL;
    int rc = 0;
    for (uint32_t i = 0; i < c->npreds && rc == 0; i++) {
        tide_expr *x = NULL;
        if ((rc = tide_sql_plan_expr_clock(c->preds[i], c->in, c->clock, &x, at, e)) != 0)
            break;
        if (!*where)
            *where = x;
        else
            rc = tide_expr_logic(where, TIDE_EXPR_AND, *where, x, e);
    }
    for (uint32_t i = 0; c->cols && i < c->ncols && rc == 0; i++) {
        if (!c->cols[i]) { /* a NULL of the column's type (an INSERT's op column) */
            rc = tide_expr_literal_null(&exprs[i], c->types[i], e);
            continue;
        }
        rc = tide_sql_plan_expr_clock(c->cols[i], c->in, c->clock, &exprs[i], at, e);
        if (rc == 0 && tide_expr_type(exprs[i]) != c->types[i] && c->types[i] != TIDE_TYPE_NULL)
            rc = tide_expr_cast(&exprs[i], exprs[i], c->types[i], false, e);
    }
    return rc;
}

static int calc_build(void *ctx, uint32_t instance, tide_expr **where, tide_expr **exprs, tide_err *e)
{
    (void)instance;
    return calc_build_at(ctx, where, exprs, NULL, e);
}

/* A row an expression failed on: where in the query, why, and the row
 * itself as CSV text (an encoder per call: failed rows are rare, and calc
 * instances run on several threads). */
typedef struct calc_dead {
    const tide_sql_phys_opts *o;
    const tide_schema *in;
    tide_sql_pos pos;
    const char *name;
} calc_dead;

static void calc_bad(void *ctx, const tide_cbatch *b, uint32_t row, const char *why)
{
    const calc_dead *d = ctx;
    char where[160];
    snprintf(where, sizeof where, "the query's %s at line %u:%u", d->name, d->pos.line, d->pos.col);
    tide_encoder *enc = NULL;
    tide_encode_opts eo = {.format = TIDE_FORMAT_CSV};
    tide_buf raw = {0};
    uint32_t sel[1] = {row};
    if (tide_encoder_create(&enc, d->in, &eo, NULL) == 0 &&
        tide_encoder_encode_sel(enc, b, sel, 1, &raw, NULL) == 0 && raw.len &&
        raw.data[raw.len - 1] == '\n')
        raw.len--;
    d->o->on_dead(d->o->dead_ctx, where, why ? why : "expression failed", raw.data, raw.len);
    tide_encoder_free(enc);
    tide_buf_free(&raw);
}

/* A calc node over stream s: WHERE preds, SELECT cols (NULL: no
 * projection) into `out` (its schema; the spec's).  Chained to s (same
 * parallelism).  Over a changelog it keeps the changelog exact (node_calc's
 * rule: a -U/+U pair whose rows stop or start passing becomes -D or +I, one
 * whose projected rows are equal vanishes). */
static int add_calc(planner *pl, const tide_sql_plan *at, stream *s, tide_sql_bexpr **preds, uint32_t npreds,
                    tide_sql_bexpr **cols, uint32_t ncols, const tide_schema *out, const char *name)
{
    calc_ctx *cc = alloc(pl, sizeof *cc);
    tide_node_calc_cfg *cfg = alloc(pl, sizeof *cfg);
    tide_type *types = alloc(pl, (ncols + 1) * sizeof *types);
    if (!cc || !cfg || !types)
        return nomem(pl, at);
    for (uint32_t i = 0; i < ncols; i++)
        types[i] = tide_schema_col(out, i)->type;
    *cc = (calc_ctx){.in = s->schema,
                     .preds = preds,
                     .npreds = npreds,
                     .cols = cols,
                     .ncols = ncols,
                     .types = types,
                     .clock = pl->o->clock};
    /* build once now: SQL errors at plan time, with their positions */
    tide_err e = {0};
    tide_expr *where = NULL;
    tide_expr **xs = calloc(ncols + 1, sizeof *xs);
    if (!xs)
        return nomem(pl, at);
    tide_sql_pos pos = {0};
    int rc = calc_build_at(cc, &where, xs, &pos, &e);
    tide_expr_free(where);
    for (uint32_t i = 0; i < ncols; i++)
        tide_expr_free(xs[i]);
    free(xs);
    if (rc == TIDE_ENOMEM)
        return nomem(pl, at);
    if (rc)
        return sqlfail(pl, rc, pos.line ? pos : at->pos, "%s", e.msg[0] ? e.msg : "cannot run this expression");
    *cfg = (tide_node_calc_cfg){.in = s->schema,
                                .out = cols ? out : NULL,
                                .n_exprs = cols ? ncols : 0,
                                .build = calc_build,
                                .build_ctx = cc,
                                .in_flags = flags_of(s),
                                .changelog = s->changelog};
    if (pl->o->on_dead) {
        calc_dead *cd = alloc(pl, sizeof *cd);
        if (!cd)
            return nomem(pl, at);
        *cd = (calc_dead){pl->o, s->schema, at->pos, name};
        cfg->on_bad = calc_bad;
        cfg->bad_ctx = cd;
    }
    unsigned fl = tide_node_calc_flags(cfg) | flags_of(s);
    const tide_schema *os = cols ? out : s->schema;
    int id;
    if ((rc = add_node(pl, at, name, &tide_node_calc_vt, tide_node_calc_make, cfg, s->par, 1, &os, &fl, &id)) ||
        (rc = add_edge(pl, at, s, id, TIDE_FLOW_FORWARD, NULL, 0)))
        return rc;
    s->node = id;
    s->port = 0;
    s->schema = os;
    /* the canonical order survives a projection that keeps its columns */
    if (cols && s->order) {
        uint32_t *ord = alloc(pl, (s->norder + 1) * sizeof *ord);
        if (!ord)
            return nomem(pl, at);
        bool all = true;
        for (uint32_t k = 0; k < s->norder && all; k++) {
            all = false;
            for (uint32_t i = 0; i < ncols; i++)
                if (cols[i] && cols[i]->kind == TIDE_SQL_BX_COLUMN && cols[i]->col == s->order[k]) {
                    ord[k] = i;
                    all = true;
                    break;
                }
        }
        s->order = all ? ord : NULL;
        if (!all)
            s->norder = 0;
    }
    return 0;
}

/* ---- scans ---- */

/* The logins generator's columns (connect/gen_logins.h): a 'logins' table
 * names a subset of them, in any order. */
static const char *const gen_names[4] = {"ts", "user_id", "country", "device"};
static const tide_type gen_types[4] = {TIDE_TYPE_TIMESTAMP, TIDE_TYPE_BIGINT, TIDE_TYPE_STRING, TIDE_TYPE_STRING};

static bool is_logins(const tide_sql_plan *scan)
{
    return scan->u.scan.table && scan->u.scan.table->connector == TIDE_SQL_CONN_LOGINS;
}

static const char *resolve(planner *pl, const char *path)
{
    const char *base = pl->o->base_dir;
    if (!path || path[0] == '/' || !base)
        return path;
    size_t n = strlen(base) + strlen(path) + 2;
    char *p = alloc(pl, n);
    if (p)
        snprintf(p, n, "%s/%s", base, path);
    return p;
}

/* ---- bad records to opts.on_dead ---- */

/* Where a scan's bad records go: opts.on_dead (the run's report), and the
 * table's 'dead-letter' option (a file or topic: every letter kept with its
 * reason), opened as a resource of the job. */
typedef struct scan_dead {
    const tide_sql_phys_opts *o;
    const tide_src_config *sc; /* NULL: the logins generator */
    const char *table;
    tide_sink_dead_config kcfg; /* the 'dead-letter' option, when kept */
    tide_sink_dead *keep;       /* open during the run */
    pthread_mutex_t mu;         /* scans call from their own threads (P > 1) */
} scan_dead;

static void scan_dead_out(scan_dead *d, const char *position, const char *why, const void *raw, size_t len)
{
    if (d->o->on_dead)
        d->o->on_dead(d->o->dead_ctx, position, why, raw, len);
    if (d->keep) { /* a failed write sticks and fails the run at close */
        pthread_mutex_lock(&d->mu);
        tide_sink_dead_write(d->keep, why, position, raw, len, NULL);
        pthread_mutex_unlock(&d->mu);
    }
}

static int scan_dead_open(void *ctx, tide_err *e)
{
    scan_dead *d = ctx;
    tide_err own = {0};
    int rc = tide_sink_dead_open(&d->keep, &d->kcfg, &own);
    return rc ? tide_err_set(e, rc, "table %s, option 'dead-letter': %s", d->table, own.msg) : 0;
}

static int scan_dead_finish(void *ctx, bool ok, tide_err *e)
{
    scan_dead *d = ctx; /* kept even when the run failed: they say what was wrong */
    (void)ok;
    tide_err own = {0};
    int rc = tide_sink_dead_close(d->keep, &own);
    d->keep = NULL;
    return rc ? tide_err_set(e, rc, "table %s, dead letters: %s", d->table, own.msg) : 0;
}

/* A source's own bad record (undecodable): its position and reason as the
 * source wrote them ("<position>: why"). */
static void scan_src_dead(void *ctx, const tide_src_dead *dl)
{
    scan_dead *d = ctx;
    const char *why = dl->reason;
    size_t pl = strlen(dl->position);
    if (strncmp(why, dl->position, pl) == 0 && strncmp(why + pl, ": ", 2) == 0)
        why += pl + 2;
    scan_dead_out(d, dl->position, why, dl->raw, dl->raw_len);
}

/* A row the scan refused (its event time): where, from the row's source
 * position when the batch keeps it. */
static int scan_node_dead(void *ctx, const tide_node_scan_dead *dl)
{
    scan_dead *d = ctx;
    char where[512];
    bool pos = tide_cbatch_has_pos(dl->batch);
    uint64_t at = pos ? tide_cbatch_pos(dl->batch, dl->row) : 0;
    if (d->sc && d->sc->kind == TIDE_SRC_FILE && pos)
        snprintf(where, sizeof where, "%s:%llu", d->sc->path, (unsigned long long)at);
    else if (d->sc && d->sc->kind == TIDE_SRC_TOPIC && pos)
        snprintf(where, sizeof where, "topic %s/%u/%llu", d->sc->topic, dl->partition,
                 (unsigned long long)at);
    else
        snprintf(where, sizeof where, "table %s, partition %u", d->table, dl->partition);
    scan_dead_out(d, where, dl->reason, NULL, 0);
    return 0;
}

/* The scan's computed columns (tide_sql_plan.u.scan.computed): one tree
 * each over the physical row. */
typedef struct scan_computed {
    const tide_sql_plan *p;
} scan_computed;

static int scan_build_at(const tide_sql_plan *p, tide_expr **exprs, tide_sql_pos *at, tide_err *e)
{
    for (uint32_t j = 0; j < p->ncols; j++) {
        int rc = tide_sql_plan_expr_at(p->u.scan.computed[j], p->u.scan.cfg.schema, &exprs[j], at, e);
        if (rc)
            return rc;
    }
    return 0;
}

static int scan_build(void *ctx, tide_expr **exprs, tide_err *e)
{
    tide_sql_pos at;
    return scan_build_at(((const scan_computed *)ctx)->p, exprs, &at, e);
}

static int plan_scan(planner *pl, const tide_sql_plan *p, stream *out)
{
    for (uint32_t i = 0; i < pl->nscans; i++)
        if (p->u.scan.table && pl->scans[i].table == p->u.scan.table) {
            *out = pl->scans[i].s;
            return 0;
        }
    tide_node_scan_cfg *c = alloc(pl, sizeof *c);
    if (!c)
        return nomem(pl, p);
    tide_node_scan_cfg_init(c);
    bool logins = is_logins(p);
    if (logins) {
        c->kind = TIDE_NODE_SCAN_GEN_LOGINS;
        c->gen = p->u.scan.cfg.gen;
        c->time_col = 0;
        if (c->gen.rate > 0)
            pl->info->live = true;
    } else {
        tide_src_config *sc = alloc(pl, sizeof *sc);
        if (!sc)
            return nomem(pl, p);
        *sc = p->u.scan.cfg;
        if (sc->kind == TIDE_SRC_FILE && !(sc->path = resolve(pl, sc->path)))
            return nomem(pl, p);
        if (sc->kind == TIDE_SRC_TOPIC && !sc->datadir)
            sc->datadir = pl->o->datadir;
        if (sc->kind == TIDE_SRC_TOPIC && pl->o->topic_start != TIDE_SQL_START_TABLE) {
            sc->start_latest = pl->o->topic_start == TIDE_SQL_START_LATEST;
            sc->start_time = pl->o->topic_start == TIDE_SQL_START_TIME;
            sc->start_time_ms = pl->o->topic_start_ms;
        }
        if (sc->kind == TIDE_SRC_TOPIC && pl->o->topic_end && sc->topic &&
            pl->o->topic_end(pl->o->topic_end_ctx, sc->topic, &sc->end_offsets, &sc->n_end_offsets) == 1)
            sc->bounded = true;
        if (pl->o->clock)
            sc->clock = pl->o->clock;
        if (sc->kind == TIDE_SRC_FILE && pl->P > 1)
            sc->parse_threads = pl->P;
        if (sc->kind == TIDE_SRC_TOPIC && !sc->bounded)
            pl->info->bounded = false;
        if (sc->kind == TIDE_SRC_STDIN)
            pl->info->live = true;
        c->kind = TIDE_NODE_SCAN_CONNECT;
        c->conn = sc;
        c->time_col = p->u.scan.time_col;
    }
    if (p->u.scan.time_col < 0)
        return sqlfail(pl, TIDE_EUNSUPPORTED, p->pos,
                       "table '%s' has no WATERMARK: tide needs an event time (WATERMARK FOR ts AS ts - "
                       "INTERVAL ...)",
                       p->u.scan.table ? p->u.scan.table->name : "?");
    const char *keep = p->u.scan.dead_letter;
    if (pl->o->on_dead || keep) {
        scan_dead *d = alloc(pl, sizeof *d);
        if (!d)
            return nomem(pl, p);
        *d = (scan_dead){.o = pl->o, .sc = c->conn, .table = p->u.scan.table ? p->u.scan.table->name : "?"};
        pthread_mutex_init(&d->mu, NULL);
        if (keep) {
            if (strncmp(keep, "topic:", 6) == 0) {
                d->kcfg.topic = keep + 6;
                d->kcfg.datadir = pl->o->datadir;
                d->kcfg.create = true;
            } else if (!(d->kcfg.path = resolve(pl, keep))) {
                return nomem(pl, p);
            }
            d->kcfg.append = true;
            d->kcfg.clock = pl->o->clock;
            tide_err e = {0};
            if (tide_job_spec_resource(pl->spec, scan_dead_open, scan_dead_finish, d, &e))
                return nomem(pl, p);
        }
        if (!logins) { /* (the planner's own copy of the source config) */
            tide_src_config *sc = (tide_src_config *)c->conn;
            sc->on_dead = scan_src_dead;
            sc->dead_ctx = d;
        }
        c->on_dead = scan_node_dead;
        c->dead_ctx = d;
    }
    if (p->u.scan.computed) {
        /* build once now: SQL errors at plan time, with their positions */
        tide_err e = {0};
        tide_sql_pos at = {0};
        tide_expr **xs = calloc(p->ncols, sizeof *xs);
        if (!xs)
            return nomem(pl, p);
        int rc = scan_build_at(p, xs, &at, &e);
        for (uint32_t j = 0; j < p->ncols; j++)
            tide_expr_free(xs[j]);
        free(xs);
        if (rc == TIDE_ENOMEM)
            return nomem(pl, p);
        if (rc)
            return sqlfail(pl, rc, at.line ? at : p->pos, "%s", e.msg[0] ? e.msg : "cannot run this expression");
        scan_computed *sc = alloc(pl, sizeof *sc);
        if (!sc)
            return nomem(pl, p);
        sc->p = p;
        if ((rc = plan_schema(pl, p, &c->computed)) != 0)
            return rc;
        c->build = scan_build;
        c->build_ctx = sc;
    }
    c->wm_bound = p->u.scan.wm_bound;
    c->idle_timeout_ms = p->u.scan.cfg.idle_timeout_ms;
    c->quiet_advance_ms = p->u.scan.cfg.quiet_advance_ms;
    c->future_bound_ms = p->u.scan.cfg.future_bound_ms;
    tide_err e = {0};
    tide_schema *ss = NULL;
    if (tide_node_scan_schema(c, 0, &ss, &e))
        return experr(pl, p, &e);
    int rc = own_schema(pl, p, ss);
    if (rc)
        return rc;
    unsigned fl = tide_node_scan_flags(c);
    char name[160];
    snprintf(name, sizeof name, "scan %s", p->u.scan.table ? p->u.scan.table->name : "?");
    int id;
    if ((rc = add_node(pl, p, name, &tide_node_scan_vt, tide_node_scan_make, c, 1, 1,
                       (const tide_schema *const *)&ss, &fl, &id)) != 0)
        return rc;
    *out = (stream){.node = id, .par = 1, .schema = ss};
    if (logins) {
        /* the table's columns, by name, from the generator's */
        const tide_schema *ps;
        if ((rc = plan_schema(pl, p, &ps)) != 0)
            return rc;
        tide_sql_bexpr **cols = alloc(pl, (p->ncols + 1) * sizeof *cols);
        if (!cols)
            return nomem(pl, p);
        for (uint32_t i = 0; i < p->ncols; i++) {
            int k = 0;
            while (k < 4 && (strcasecmp(p->cols[i].name, gen_names[k]) != 0 || p->cols[i].type != gen_types[k]))
                k++;
            if (k == 4)
                return sqlfail(pl, TIDE_EINVAL, p->pos,
                               "table '%s': column '%s' %s is not one of the logins generator's (ts "
                               "TIMESTAMP(3), user_id BIGINT, country STRING, device STRING)",
                               p->u.scan.table->name, p->cols[i].name, tide_type_name(p->cols[i].type));
            if (!(cols[i] = alloc(pl, sizeof *cols[i])))
                return nomem(pl, p);
            *cols[i] = (tide_sql_bexpr){.kind = TIDE_SQL_BX_COLUMN, .type = gen_types[k], .col = (uint32_t)k};
        }
        if ((rc = add_calc(pl, p, out, NULL, 0, cols, p->ncols, ps, "columns")) != 0)
            return rc;
    }
    if (pl->nscans < sizeof pl->scans / sizeof pl->scans[0] && p->u.scan.table) {
        pl->scans[pl->nscans].table = p->u.scan.table;
        pl->scans[pl->nscans++].s = *out;
    }
    return 0;
}

/* ---- Filter / Project ---- */

/* The chain from p down to its base, as one calc over the base's stream. */
static int plan_chain(planner *pl, const tide_sql_plan *p, stream *out)
{
    flat f;
    int rc = fold(pl, p, &f);
    if (rc)
        return rc;
    if ((rc = plan(pl, f.base, out)) != 0)
        return rc;
    if (!f.any)
        return 0;
    const tide_schema *os;
    if ((rc = plan_schema(pl, p, &os)) != 0)
        return rc;
    return add_calc(pl, p, out, f.preds, f.npreds, f.projects ? f.cols : NULL, f.projects ? f.ncols : 0, os, "calc");
}

/* ---- aggregations ---- */

/* The keys, the aggregates' arguments and the event time of an
 * aggregation's input, computed by one calc (with the chain below folded
 * into it): columns k0.., v0.., ts. */
typedef struct agg_in {
    stream s;
    uint32_t nk, nv;
    uint32_t nkeep; /* keep_preds: the WHERE predicates, as key columns after the keys */
    uint32_t *key_cols, *value_cols, time_col;
    uint32_t *argcol; /* per aggregate: its value column index (UINT32_MAX: COUNT(*)) */
} agg_in;

static int plan_agg_input(planner *pl, const tide_sql_plan *wa, bool win, bool keep_preds, agg_in *ai)
{
    flat f;
    int rc = fold(pl, wa->input, &f);
    if (rc)
        return rc;
    if ((rc = plan(pl, f.base, &ai->s)) != 0)
        return rc;
    uint32_t nk = wa->u.agg.nkeys, na = wa->u.agg.naggs, nkeep = keep_preds ? f.npreds : 0;
    tide_sql_bexpr **cols = alloc(pl, (nk + nkeep + na + 2) * sizeof *cols);
    ai->key_cols = alloc(pl, (nk + nkeep + 1) * sizeof *ai->key_cols);
    ai->value_cols = alloc(pl, (na + 1) * sizeof *ai->value_cols);
    ai->argcol = alloc(pl, (na + 1) * sizeof *ai->argcol);
    tide_schema *ps = NULL;
    tide_err e = {0};
    if (!cols || !ai->key_cols || !ai->value_cols || !ai->argcol || tide_schema_create(&ps, &e))
        return nomem(pl, wa);
    if ((rc = own_schema(pl, wa, ps)) != 0)
        return rc;
    uint32_t nx = 0;
    char name[32];
    for (uint32_t i = 0; i < nk; i++) {
        if (!(cols[nx] = subst(pl, wa->u.agg.keys[i], f.cols)))
            return nomem(pl, wa);
        snprintf(name, sizeof name, "k%u", i);
        tide_type t = cols[nx]->type == TIDE_TYPE_NULL ? TIDE_TYPE_STRING : cols[nx]->type;
        if (tide_schema_add(ps, name, t, true, &e))
            return experr(pl, wa, &e);
        ai->key_cols[i] = nx++;
    }
    ai->nk = nk;
    ai->nkeep = nkeep;
    for (uint32_t i = 0; i < nkeep; i++) { /* a row failing one is kept out of every group, later */
        cols[nx] = f.preds[i];
        snprintf(name, sizeof name, "w%u", i);
        if (tide_schema_add(ps, name, TIDE_TYPE_BOOLEAN, true, &e))
            return experr(pl, wa, &e);
        ai->key_cols[nk + i] = nx++;
    }
    uint32_t nv = 0;
    for (uint32_t i = 0; i < na; i++) {
        const tide_sql_aggcall *c = &wa->u.agg.aggs[i];
        ai->argcol[i] = UINT32_MAX;
        if (!c->arg)
            continue;
        if (!(cols[nx] = subst(pl, c->arg, f.cols)))
            return nomem(pl, wa);
        snprintf(name, sizeof name, "v%u", i);
        tide_type t = c->agg.in_type != TIDE_TYPE_NULL ? c->agg.in_type : cols[nx]->type;
        if (t == TIDE_TYPE_NULL)
            t = TIDE_TYPE_STRING;
        if (tide_schema_add(ps, name, t, true, &e))
            return experr(pl, wa, &e);
        ai->argcol[i] = nv;
        ai->value_cols[nv++] = nx++;
    }
    ai->nv = nv;
    if (win) {
        const tide_sql_window *w = &wa->u.agg.w;
        if (w->time_col >= f.ncols)
            return sqlfail(pl, TIDE_EUNSUPPORTED, wa->pos, "not supported yet: this window's time column");
        cols[nx] = f.cols[w->time_col];
        if (tide_schema_add(ps, "ts", TIDE_TYPE_TIMESTAMP, true, &e) ||
            tide_schema_set_time_column(ps, (int)nx, &e))
            return experr(pl, wa, &e);
        ai->time_col = nx++;
    }
    return add_calc(pl, wa, &ai->s, nkeep ? NULL : f.preds, nkeep ? 0 : f.npreds, cols, nx, ps, "keys");
}

/* The names of an aggregation's result columns, from the plan. */
static const char **agg_names(planner *pl, const tide_sql_plan *wa, uint32_t first)
{
    uint32_t na = wa->u.agg.naggs;
    const char **names = alloc(pl, (na + 2) * sizeof *names);
    if (!names)
        return NULL;
    for (uint32_t i = 0; i < na; i++)
        names[i] = wa->cols[first + i].name;
    names[na] = "count";
    return names;
}

/* Exchange the aggregation input: hashed on `keys` into P instances, or
 * gathered into one when there are none. */
static int exchange(planner *pl, const tide_sql_plan *at, const stream *s, int to, const uint32_t *keys,
                    uint32_t nk, uint32_t par)
{
    if (nk == 0 || par == 1)
        return add_edge(pl, at, s, to, s->par == 1 && par == 1 ? TIDE_FLOW_FORWARD : TIDE_FLOW_GATHER, NULL, 0);
    return add_edge(pl, at, s, to, TIDE_FLOW_HASH, keys, nk);
}

/* Drop the hidden COUNT(*) of an aggregation without aggregates. */
static int drop_hidden(planner *pl, const tide_sql_plan *wa, stream *s)
{
    const tide_schema *ps;
    int rc = plan_schema(pl, wa, &ps);
    if (rc)
        return rc;
    tide_sql_bexpr **cols = alloc(pl, (wa->ncols + 1) * sizeof *cols);
    if (!cols)
        return nomem(pl, wa);
    for (uint32_t i = 0; i < wa->ncols; i++) {
        if (!(cols[i] = alloc(pl, sizeof *cols[i])))
            return nomem(pl, wa);
        *cols[i] = (tide_sql_bexpr){.kind = TIDE_SQL_BX_COLUMN, .type = tide_schema_col(ps, i)->type, .col = i};
    }
    return add_calc(pl, wa, s, NULL, 0, cols, wa->ncols, ps, "project");
}

/* Two-phase (local-global) aggregation, Flink's agg-phase-strategy: the
 * rows are pre-aggregated per batch before the exchange and the keyed
 * instances merge the partials (exec/node_preagg.h).  It gives the
 * one-phase rows (late rows included) where it applies: TUMBLE, no
 * allowed lateness, no early firings (so every window fires once), not
 * SESSION, no WHERE kept as keys, keys in GROUP BY order.  TWO_PHASE asks
 * for it wherever it applies; AUTO takes it when it saves the exchange of
 * every row to keyed instances on other threads (keys and P > 1);
 * ONE_PHASE never. */
static bool two_phase(const planner *pl, const tide_sql_plan *wa, uint32_t nag, const tide_winagg_call *aggs,
                      uint32_t nkeep, bool perm, int32_t part)
{
    const tide_sql_emit_spec *em = &wa->u.agg.emit;
    tide_sql_agg_phase ph = wa->u.agg.phase;
    if (ph == TIDE_SQL_AGG_PHASE_ONE || !tide_node_preagg_supports(&wa->u.agg.w.spec, aggs, nag) ||
        em->lateness != 0 || em->early_ms != 0 || em->early_rows != 0 || nkeep != 0 || perm || part >= 0 ||
        wa->input->changelog)
        return false;
    return ph == TIDE_SQL_AGG_PHASE_TWO || (wa->u.agg.nkeys > 0 && pl->P > 1);
}

/* The two nodes of a two-phase window aggregation in place of the one
 * winagg node `wc` would make: the local node chained to the input, the
 * global one behind the exchange; *out (the global's results) as
 * plan_window_agg leaves it. */
static int plan_two_phase(planner *pl, const tide_sql_plan *wa, const agg_in *ai, const tide_node_winagg_cfg *wc,
                          const tide_schema *ps, stream *out)
{
    uint32_t nk = wa->u.agg.nkeys, na = wa->u.agg.naggs;
    tide_node_preagg_cfg *c = alloc(pl, sizeof *c);
    uint32_t *pkeys = alloc(pl, (nk + 1) * sizeof *pkeys);
    if (!c || !pkeys)
        return nomem(pl, wa);
    *c = (tide_node_preagg_cfg){.in = wc->in,
                                .in_flags = wc->in_flags,
                                .key_cols = wc->key_cols,
                                .n_keys = nk,
                                .time_col = wc->time_col,
                                .value_cols = wc->value_cols,
                                .n_values = wc->n_values,
                                .aggs = wc->aggs,
                                .n_aggs = wc->n_aggs,
                                .agg_names = wc->agg_names,
                                .window = wc->window};
    for (uint32_t i = 0; i < nk; i++)
        pkeys[i] = i; /* the partial rows' key columns */
    tide_err e = {0};
    tide_schema *l0 = NULL, *l1 = NULL, *l2 = NULL, *g0 = NULL;
    if (tide_node_preagg_local_schema(c, 0, &l0, &e) || tide_node_preagg_local_schema(c, 1, &l1, &e) ||
        tide_node_preagg_local_schema(c, 2, &l2, &e) || tide_node_preagg_global_schema(c, &g0, &e)) {
        tide_schema_free(l0);
        tide_schema_free(l1);
        tide_schema_free(l2);
        return experr(pl, wa, &e);
    }
    int rc;
    if ((rc = own_schema(pl, wa, l0)) || (rc = own_schema(pl, wa, l1)) || (rc = own_schema(pl, wa, l2)) ||
        (rc = own_schema(pl, wa, g0)))
        return rc;
    const tide_schema *louts[3] = {l0, l1, l2}, *gouts[1] = {na ? ps : g0};
    unsigned lfl[3] = {tide_node_preagg_local_flags(c, 0), tide_node_preagg_local_flags(c, 1),
                       tide_node_preagg_local_flags(c, 2)};
    unsigned gfl[1] = {TIDE_CBATCH_OPS};
    int lid, gid;
    uint32_t par = nk ? pl->P : 1;
    if ((rc = add_node(pl, wa, "local agg", &tide_node_preagg_local_vt, tide_node_preagg_local_make, c,
                       ai->s.par, 3, louts, lfl, &lid)) ||
        (rc = add_edge(pl, wa, &ai->s, lid, TIDE_FLOW_FORWARD, NULL, 0)) ||
        (rc = add_node(pl, wa, "global agg", &tide_node_preagg_global_vt, tide_node_preagg_global_make, c, par, 1,
                       gouts, gfl, &gid)))
        return rc;
    /* input 0: the partials; input 1: the rows passed on as they are */
    stream ls = {.node = lid, .port = 0, .par = ai->s.par, .schema = l0};
    stream rs = {.node = lid, .port = 2, .par = ai->s.par, .schema = l2};
    if ((rc = exchange(pl, wa, &ls, gid, pkeys, nk, par)) != 0 ||
        (rc = exchange(pl, wa, &rs, gid, wc->key_cols, nk, par)) != 0)
        return rc;
    *out = (stream){.node = gid, .port = 0, .par = par, .schema = gouts[0], .changelog = wa->changelog};
    uint32_t *ord = alloc(pl, (nk + 3) * sizeof *ord); /* canonical order, as plan_window_agg's */
    if (!ord)
        return nomem(pl, wa);
    ord[0] = nk + 1;
    ord[1] = nk;
    for (uint32_t i = 0; i < nk; i++)
        ord[2 + i] = i;
    out->order = ord;
    out->norder = nk + 2;
    out->ordered = true;
    return na == 0 ? drop_hidden(pl, wa, out) : 0;
}

static int plan_window_agg(planner *pl, const tide_sql_plan *wa, stream *out)
{
    const tide_sql_window *w = &wa->u.agg.w;
    const tide_sql_emit_spec *em = &wa->u.agg.emit;
    uint32_t nk = wa->u.agg.nkeys, na = wa->u.agg.naggs;
    if (wa->ncols != nk + 3 + na)
        return sqlfail(pl, TIDE_EUNSUPPORTED, wa->pos, "not supported yet: this aggregation's row type");
    if (wa->input->changelog)
        return sqlfail(pl, TIDE_EUNSUPPORTED, wa->pos,
                       "a window aggregation over a changelog (updates and retractions) is not supported "
                       "(Flink refuses it too)");
    /* SESSION, GROUP BY keys other than the PARTITION BY columns (none, or
     * more) and a WHERE: as Flink 2.3 runs it (scripts/flink_diff.sh), the
     * sessions form over every row of the window TVF's input (per partition;
     * the WHERE filters its output), so a row the WHERE drops still extends
     * and bridges sessions.  Its predicates become extra keys (w0..: a row
     * failing one forms a group of its own in its session), and a filter
     * after the aggregation drops those groups.  With GROUP BY keys that are
     * exactly the PARTITION BY columns, or none but the window, Flink filters
     * first (the sessions form over the rows the WHERE keeps), and so does
     * tide. */
    bool session = w->spec.kind == TIDE_WIN_SESSION;
    /* the GROUP BY keys are the PARTITION BY columns (as sets): Flink then
     * runs one window aggregation, the WHERE first */
    bool keys_are_partition = w->npartition == nk;
    for (uint32_t j = 0; keys_are_partition && j < w->npartition; j++) {
        bool found = false;
        for (uint32_t k = 0; k < nk && !found; k++)
            found = wa->u.agg.keys[k]->kind == TIDE_SQL_BX_COLUMN && wa->u.agg.keys[k]->col == w->partition[j];
        keys_are_partition = found;
    }
    agg_in ai;
    int rc = plan_agg_input(pl, wa, true, session && nk > 0 && !keys_are_partition, &ai);
    if (rc)
        return rc;
    uint32_t nkeep = ai.nkeep, nkn = nk + nkeep; /* the node's keys */
    uint32_t P = pl->P;
    const char **names = agg_names(pl, wa, nk + 3);
    if (!names)
        return nomem(pl, wa);
    /* SESSION: sessions per key (winagg), over the whole stream (part 0),
     * or per partition key (its columns first among the keys: part = their
     * number; a projection puts the keys back in GROUP BY order after) */
    int32_t part = -1;
    uint32_t *perm = NULL; /* node key j = GROUP BY key perm[j] */
    /* PARTITION BY exactly the GROUP BY keys: a session per key */
    bool per_key = session && w->npartition == nk && nk > 0 && nkeep == 0;
    for (uint32_t j = 0; per_key && j < w->npartition; j++) {
        bool found = false;
        for (uint32_t k = 0; k < nk && !found; k++)
            found = wa->u.agg.keys[k]->kind == TIDE_SQL_BX_COLUMN && wa->u.agg.keys[k]->col == w->partition[j];
        per_key = found;
    }
    if (session && !per_key) {
        if (w->npartition == 0) {
            part = 0;
        } else {
            perm = alloc(pl, (nk + 1) * sizeof *perm);
            bool *used = alloc(pl, (nk + 1) * sizeof *used);
            uint32_t *kc = alloc(pl, (nkn + 1) * sizeof *kc);
            if (!perm || !used || !kc)
                return nomem(pl, wa);
            uint32_t np = 0;
            for (uint32_t j = 0; j < w->npartition; j++) {
                uint32_t k = 0;
                for (; k < nk; k++) {
                    const tide_sql_bexpr *kx = wa->u.agg.keys[k];
                    if (kx->kind == TIDE_SQL_BX_COLUMN && kx->col == w->partition[j] && !used[k])
                        break;
                }
                if (k == nk) /* named at the PARTITION BY column */
                    return sqlfail(pl, TIDE_EUNSUPPORTED, w->partition_pos ? w->partition_pos[j] : wa->pos,
                                   "not supported yet: SESSION PARTITION BY a column that is not a GROUP BY "
                                   "key");
                used[k] = true;
                perm[np++] = k;
            }
            for (uint32_t k = 0; k < nk; k++)
                if (!used[k])
                    perm[np++] = k;
            for (uint32_t j = 0; j < nk; j++)
                kc[j] = ai.key_cols[perm[j]];
            for (uint32_t j = nk; j < nkn; j++)
                kc[j] = ai.key_cols[j];
            ai.key_cols = kc;
            part = (int32_t)w->npartition;
        }
    }
    /* MIN/MAX of a STRING: on the sliced node when it can run the window
     * (a TUMBLE is a HOP whose slide is its size); the window and session
     * nodes keep copies of their previous STRING results too */
    tide_win_spec spec = w->spec;
    const tide_sql_aggcall *smm = NULL;
    for (uint32_t i = 0; i < na && !smm; i++) {
        const tide_sql_aggcall *c = &wa->u.agg.aggs[i];
        if ((c->agg.kind == TIDE_AGG_MIN || c->agg.kind == TIDE_AGG_MAX) && c->agg.in_type == TIDE_TYPE_STRING)
            smm = c;
    }
    if (smm && spec.kind == TIDE_WIN_TUMBLE) {
        spec.kind = TIDE_WIN_HOP;
        spec.slide = spec.size;
    }
    bool cum = !session && tide_cumagg_supports(&spec) && em->lateness == 0 && em->early_ms == 0 &&
               em->early_rows == 0;
    uint32_t par = part == 0 ? 1 : (nk ? P : 1);
    const tide_schema *ps;
    if ((rc = plan_schema(pl, wa, &ps)) != 0)
        return rc;
    if (perm) { /* the node's keys are permuted: its own schema, then back */
        tide_schema *pp = NULL;
        tide_err pe = {0};
        if (tide_schema_create(&pp, &pe))
            return nomem(pl, wa);
        if ((rc = own_schema(pl, wa, pp)) != 0)
            return rc;
        for (uint32_t i = 0; i < wa->ncols; i++) {
            uint32_t src = i < nk ? perm[i] : i;
            const tide_column *col = tide_schema_col(ps, src);
            if (tide_schema_add(pp, col->name, col->type, true, &pe))
                return experr(pl, wa, &pe);
        }
        ps = pp;
    }
    int id;
    const tide_schema *outs[2];
    unsigned fl[2];
    if (cum) {
        tide_node_cumagg_cfg *c = alloc(pl, sizeof *c);
        tide_node_cumagg_agg *aggs = alloc(pl, (na + 2) * sizeof *aggs);
        if (!c || !aggs)
            return nomem(pl, wa);
        for (uint32_t i = 0; i < na; i++)
            aggs[i] = (tide_node_cumagg_agg){.kind = wa->u.agg.aggs[i].agg.kind,
                                             .arg = ai.argcol[i] == UINT32_MAX ? -1
                                                                               : (int32_t)ai.value_cols[ai.argcol[i]],
                                             .name = names[i]};
        uint32_t nag = na;
        if (na == 0)
            aggs[nag++] = (tide_node_cumagg_agg){.kind = TIDE_AGG_COUNT_STAR, .arg = -1, .name = "count"};
        *c = (tide_node_cumagg_cfg){.in = ai.s.schema,
                                    .key_cols = ai.key_cols,
                                    .n_keys = nk,
                                    .time_col = ai.time_col,
                                    .aggs = aggs,
                                    .n_aggs = nag,
                                    .window = spec};
        tide_err e = {0};
        tide_schema *s0 = NULL, *s1 = NULL;
        if (tide_node_cumagg_schema(c, 0, &s0, &e) || tide_node_cumagg_schema(c, 1, &s1, &e)) {
            tide_schema_free(s0);
            return experr(pl, wa, &e);
        }
        if ((rc = own_schema(pl, wa, s0)) || (rc = own_schema(pl, wa, s1)))
            return rc;
        outs[0] = na ? ps : s0;
        outs[1] = s1;
        fl[0] = 0;
        fl[1] = flags_of(&ai.s);
        if ((rc = add_node(pl, wa, "cumagg", &tide_node_cumagg_vt, tide_node_cumagg_make, c, par, 2, outs, fl,
                           &id)) != 0)
            return rc;
    } else {
        tide_node_winagg_cfg *c = alloc(pl, sizeof *c);
        tide_winagg_call *aggs = alloc(pl, (na + 2) * sizeof *aggs);
        if (!c || !aggs)
            return nomem(pl, wa);
        for (uint32_t i = 0; i < na; i++)
            aggs[i] = (tide_winagg_call){.kind = wa->u.agg.aggs[i].agg.kind,
                                         .arg = ai.argcol[i] == UINT32_MAX ? 0 : ai.argcol[i],
                                         .type = wa->u.agg.aggs[i].agg.in_type};
        uint32_t nag = na;
        if (na == 0)
            aggs[nag++] = (tide_winagg_call){.kind = TIDE_AGG_COUNT_STAR, .type = TIDE_TYPE_NULL};
        *c = (tide_node_winagg_cfg){.in = ai.s.schema,
                                    .in_flags = flags_of(&ai.s),
                                    .key_cols = ai.key_cols,
                                    .n_keys = nkn,
                                    .time_col = ai.time_col,
                                    .value_cols = ai.value_cols,
                                    .n_values = ai.nv,
                                    .aggs = aggs,
                                    .n_aggs = nag,
                                    .agg_names = names,
                                    .window = w->spec,
                                    .allowed_lateness = em->lateness,
                                    .mode = em->given ? em->mode : TIDE_TRIG_ACCUMULATING,
                                    .capacity_hint = 1024,
                                    .session_by_part = part >= 0,
                                    .session_part = part >= 0 ? (uint32_t)part : 0};
        c->early.every_ms = em->early_ms;
        c->early.every_n = em->early_rows > 0 ? (uint64_t)em->early_rows : 0;
        if (two_phase(pl, wa, nag, aggs, nkeep, perm != NULL, part)) /* exec/node_preagg.h */
            return plan_two_phase(pl, wa, &ai, c, ps, out);
        tide_err e = {0};
        tide_schema *s0 = NULL, *s1 = NULL;
        if (tide_node_winagg_schema(c, 0, &s0, &e) || tide_node_winagg_schema(c, 1, &s1, &e)) {
            tide_schema_free(s0);
            return experr(pl, wa, &e);
        }
        if ((rc = own_schema(pl, wa, s0)) || (rc = own_schema(pl, wa, s1)))
            return rc;
        outs[0] = na && !nkeep ? ps : s0;
        outs[1] = s1;
        fl[0] = tide_node_winagg_flags(c, 0);
        fl[1] = tide_node_winagg_flags(c, 1);
        if ((rc = add_node(pl, wa, session ? "session" : "winagg", &tide_node_winagg_vt, tide_node_winagg_make, c,
                           par, 2, outs, fl, &id)) != 0)
            return rc;
    }
    if ((rc = exchange(pl, wa, &ai.s, id, ai.key_cols, part == 0 ? 0 : part > 0 ? (uint32_t)part : nk, par)) != 0)
        return rc;
    *out = (stream){.node = id, .port = 0, .par = par, .schema = outs[0], .changelog = wa->changelog};
    /* canonical order: window_end, window_start, keys (the w0.. keys, last,
     * are left out: after their filter the GROUP BY keys order the rows) */
    uint32_t *ord = alloc(pl, (nk + 3) * sizeof *ord);
    if (!ord)
        return nomem(pl, wa);
    ord[0] = nkn + 1;
    ord[1] = nkn;
    for (uint32_t i = 0; i < nk; i++)
        ord[2 + i] = i;
    out->order = ord;
    out->norder = nk + 2;
    out->ordered = true;
    if (nkeep || perm) { /* keys back in GROUP BY order, the hidden count and the w0.. keys dropped
                          * (their groups first: the rows the WHERE keeps) */
        const tide_schema *gs;
        if ((rc = plan_schema(pl, wa, &gs)) != 0)
            return rc;
        tide_sql_bexpr **cols = alloc(pl, (wa->ncols + 1) * sizeof *cols);
        tide_sql_bexpr **keep = alloc(pl, (nkeep + 1) * sizeof *keep);
        if (!cols || !keep)
            return nomem(pl, wa);
        for (uint32_t i = 0; i < wa->ncols; i++) {
            uint32_t from = i < nk ? i : i + nkeep;
            for (uint32_t j = 0; perm && i < nk && j < nk; j++)
                if (perm[j] == i)
                    from = j;
            if (!(cols[i] = alloc(pl, sizeof *cols[i])))
                return nomem(pl, wa);
            *cols[i] = (tide_sql_bexpr){.kind = TIDE_SQL_BX_COLUMN, .type = tide_schema_col(gs, i)->type, .col = from};
        }
        for (uint32_t j = 0; j < nkeep; j++) {
            if (!(keep[j] = alloc(pl, sizeof *keep[j])))
                return nomem(pl, wa);
            *keep[j] = (tide_sql_bexpr){.kind = TIDE_SQL_BX_COLUMN, .type = TIDE_TYPE_BOOLEAN, .col = nk + j};
        }
        return add_calc(pl, wa, out, nkeep ? keep : NULL, nkeep, cols, wa->ncols, gs, nkeep ? "where" : "project");
    }
    if (na == 0)
        return drop_hidden(pl, wa, out);
    return 0;
}

static int plan_group_agg(planner *pl, const tide_sql_plan *wa, stream *out)
{
    uint32_t nk = wa->u.agg.nkeys, na = wa->u.agg.naggs;
    if (wa->ncols != nk + na)
        return sqlfail(pl, TIDE_EUNSUPPORTED, wa->pos, "not supported yet: this aggregation's row type");
    agg_in ai;
    int rc = plan_agg_input(pl, wa, false, false, &ai);
    if (rc)
        return rc;
    const char **names = agg_names(pl, wa, nk);
    tide_node_groupagg_cfg *c = alloc(pl, sizeof *c);
    tide_groupagg_call *aggs = alloc(pl, (na + 2) * sizeof *aggs);
    if (!names || !c || !aggs)
        return nomem(pl, wa);
    for (uint32_t i = 0; i < na; i++)
        aggs[i] = (tide_groupagg_call){.kind = wa->u.agg.aggs[i].agg.kind,
                                       .arg = ai.argcol[i] == UINT32_MAX ? 0 : ai.argcol[i],
                                       .type = wa->u.agg.aggs[i].agg.in_type};
    uint32_t nag = na;
    if (na == 0)
        aggs[nag++] = (tide_groupagg_call){.kind = TIDE_AGG_COUNT_STAR, .type = TIDE_TYPE_NULL};
    uint32_t par = nk ? pl->P : 1;
    *c = (tide_node_groupagg_cfg){.in = ai.s.schema,
                                  .key_cols = ai.key_cols,
                                  .n_keys = nk,
                                  .value_cols = ai.value_cols,
                                  .n_values = ai.nv,
                                  .aggs = aggs,
                                  .n_aggs = nag,
                                  .agg_names = names,
                                  .changelog = ai.s.changelog,
                                  .capacity_hint = 1024};
    tide_err e = {0};
    tide_schema *s0 = NULL;
    if (tide_node_groupagg_schema(c, 0, &s0, &e))
        return experr(pl, wa, &e);
    if ((rc = own_schema(pl, wa, s0)) != 0)
        return rc;
    const tide_schema *ps;
    if ((rc = plan_schema(pl, wa, &ps)) != 0)
        return rc;
    const tide_schema *os = na ? ps : s0;
    unsigned fl = tide_node_groupagg_flags(c, 0);
    int id;
    if ((rc = add_node(pl, wa, "groupagg", &tide_node_groupagg_vt, tide_node_groupagg_make, c, par, 1, &os, &fl,
                       &id)) != 0 ||
        (rc = exchange(pl, wa, &ai.s, id, ai.key_cols, nk, par)) != 0)
        return rc;
    *out = (stream){.node = id, .port = 0, .par = par, .schema = os, .changelog = true};
    uint32_t *ord = alloc(pl, (nk + 1) * sizeof *ord);
    if (!ord)
        return nomem(pl, wa);
    for (uint32_t i = 0; i < nk; i++)
        ord[i] = i;
    out->order = ord;
    out->norder = nk;
    out->ordered = true;
    if (na == 0)
        return drop_hidden(pl, wa, out);
    return 0;
}

/* ---- window TVF rows ---- */

static int plan_window(planner *pl, const tide_sql_plan *p, stream *out)
{
    const tide_sql_window *w = &p->u.window.w;
    if (w->spec.kind == TIDE_WIN_SESSION)
        return sqlfail(pl, TIDE_EUNSUPPORTED, p->pos, "not supported yet: a SESSION window without an aggregation");
    int rc = plan(pl, p->input, out);
    if (rc)
        return rc;
    tide_node_window_cfg *c = alloc(pl, sizeof *c);
    if (!c)
        return nomem(pl, p);
    *c = (tide_node_window_cfg){
        .in = out->schema, .time_col = w->time_col, .window = w->spec, .in_flags = flags_of(out)};
    const tide_schema *ps;
    if ((rc = plan_schema(pl, p, &ps)) != 0)
        return rc;
    unsigned fl = flags_of(out);
    int id;
    if ((rc = add_node(pl, p, "window", &tide_node_window_vt, tide_node_window_make, c, out->par, 1, &ps, &fl,
                       &id)) != 0 ||
        (rc = add_edge(pl, p, out, id, TIDE_FLOW_FORWARD, NULL, 0)) != 0)
        return rc;
    out->node = id;
    out->port = 0;
    out->schema = ps;
    out->order = NULL;
    out->norder = 0;
    return 0;
}

/* ---- OVER windows ---- */

/* The OVER node's input computed by one calc (the chain below folded into
 * it): the input's columns, then the partition keys k0.., then the
 * aggregates' arguments v0..; (*argcol)[i] is call i's argument column
 * (UINT32_MAX: none). */
static int plan_over_input(planner *pl, const tide_sql_plan *p, stream *s, uint32_t **argcol)
{
    flat f;
    int rc = fold(pl, p->input, &f);
    if (rc)
        return rc;
    if ((rc = plan(pl, f.base, s)) != 0)
        return rc;
    uint32_t nin = p->input->ncols, nk = p->u.over.nkeys, nc = p->u.over.ncalls;
    const tide_schema *is;
    if ((rc = plan_schema(pl, p->input, &is)) != 0)
        return rc;
    tide_sql_bexpr **cols = alloc(pl, (nin + nk + nc + 1) * sizeof *cols);
    *argcol = alloc(pl, (nc + 1) * sizeof **argcol);
    tide_schema *ps = NULL;
    tide_err e = {0};
    if (!cols || !*argcol || tide_schema_create(&ps, &e))
        return nomem(pl, p);
    if ((rc = own_schema(pl, p, ps)) != 0)
        return rc;
    uint32_t nx = 0;
    char name[32];
    for (uint32_t i = 0; i < nin; i++) {
        const tide_column *c = tide_schema_col(is, i);
        cols[nx++] = f.cols[i];
        if (tide_schema_add(ps, c->name, c->type, true, &e))
            return experr(pl, p, &e);
    }
    for (uint32_t i = 0; i < nk; i++) {
        if (!(cols[nx] = subst(pl, p->u.over.keys[i], f.cols)))
            return nomem(pl, p);
        snprintf(name, sizeof name, "k%u", i);
        tide_type t = cols[nx]->type == TIDE_TYPE_NULL ? TIDE_TYPE_STRING : cols[nx]->type;
        if (tide_schema_add(ps, name, t, true, &e))
            return experr(pl, p, &e);
        nx++;
    }
    for (uint32_t i = 0; i < nc; i++) {
        const tide_sql_overcall *c = &p->u.over.calls[i];
        (*argcol)[i] = UINT32_MAX;
        if (!c->arg)
            continue;
        if (!(cols[nx] = subst(pl, c->arg, f.cols)))
            return nomem(pl, p);
        snprintf(name, sizeof name, "v%u", i);
        tide_type t = c->agg.in_type != TIDE_TYPE_NULL ? c->agg.in_type : cols[nx]->type;
        if (tide_schema_add(ps, name, t == TIDE_TYPE_NULL ? TIDE_TYPE_STRING : t, true, &e))
            return experr(pl, p, &e);
        (*argcol)[i] = nx++;
    }
    return add_calc(pl, p, s, f.preds, f.npreds, cols, nx, ps, "over input");
}

/* ROW_NUMBER filtered by a rank range (exec/node_topn.h), keyed by the
 * partition columns: the input's columns, then the keys, then the sort
 * columns, computed by one calc. */
static int plan_topn(planner *pl, const tide_sql_plan *p, stream *out)
{
    const tide_sql_plan *in = p->input;
    uint32_t nin = in->ncols, nk = p->u.over.nkeys, ns = p->u.over.norder;
    if (!p->u.over.topn)
        return sqlfail(pl, TIDE_EUNSUPPORTED, p->pos,
                       "ROW_NUMBER needs a filter on it in the enclosing query (WHERE rn <= N, rn = 1, rn BETWEEN "
                       "a AND b: a Top-N)");
    if (p->u.over.ncalls != 1)
        return sqlfail(pl, TIDE_EUNSUPPORTED, p->pos, "not supported yet: several ROW_NUMBER columns");
    uint32_t *ord = alloc(pl, (nk + 2) * sizeof *ord);
    if (!ord)
        return nomem(pl, p);
    for (uint32_t i = 0; i < nk; i++) {
        const tide_sql_bexpr *k = p->u.over.keys[i];
        if (k->kind != TIDE_SQL_BX_COLUMN || k->col >= nin)
            return sqlfail(pl, TIDE_EUNSUPPORTED, k->ast ? k->ast->pos : p->pos,
                           "not supported yet: a Top-N partitioned by an expression (name a column)");
        ord[i] = k->col;
    }
    flat f;
    int rc = fold(pl, in, &f);
    if (rc)
        return rc;
    if ((rc = plan(pl, f.base, out)) != 0)
        return rc;
    const tide_schema *is;
    if ((rc = plan_schema(pl, in, &is)) != 0)
        return rc;
    tide_sql_bexpr **cols = alloc(pl, (nin + nk + ns + 1) * sizeof *cols);
    tide_schema *ps = NULL;
    tide_err e = {0};
    if (!cols || tide_schema_create(&ps, &e))
        return nomem(pl, p);
    if ((rc = own_schema(pl, p, ps)) != 0)
        return rc;
    uint32_t nx = 0;
    char name[32];
    for (uint32_t i = 0; i < nin; i++) {
        const tide_column *c = tide_schema_col(is, i);
        cols[nx++] = f.cols[i];
        if (tide_schema_add(ps, c->name, c->type, true, &e))
            return experr(pl, p, &e);
    }
    for (uint32_t i = 0; i < nk + ns; i++) {
        tide_sql_bexpr *x = i < nk ? p->u.over.keys[i] : p->u.over.order[i - nk];
        if (!(cols[nx] = subst(pl, x, f.cols)))
            return nomem(pl, p);
        snprintf(name, sizeof name, i < nk ? "k%u" : "s%u", i < nk ? i : i - nk);
        tide_type t = cols[nx]->type == TIDE_TYPE_NULL ? TIDE_TYPE_STRING : cols[nx]->type;
        if (tide_schema_add(ps, name, t, true, &e))
            return experr(pl, p, &e);
        nx++;
    }
    if ((rc = add_calc(pl, p, out, f.preds, f.npreds, cols, nx, ps, "topn input")) != 0)
        return rc;
    tide_node_topn_cfg *c = alloc(pl, sizeof *c);
    uint32_t *keys = alloc(pl, (nk + 1) * sizeof *keys), *sorts = alloc(pl, (ns + 1) * sizeof *sorts);
    bool *desc = alloc(pl, ns + 1);
    const tide_schema *os;
    if (!c || !keys || !sorts || !desc)
        return nomem(pl, p);
    if ((rc = plan_schema(pl, p, &os)) != 0)
        return rc;
    for (uint32_t i = 0; i < nk; i++)
        keys[i] = nin + i;
    for (uint32_t i = 0; i < ns; i++) {
        sorts[i] = nin + nk + i;
        desc[i] = p->u.over.desc[i];
    }
    tide_sql_topn_kind kind = p->u.over.topn_kind;
    *c = (tide_node_topn_cfg){.in = out->schema,
                              .out = os,
                              .n_pass = nin,
                              .key_cols = keys,
                              .n_keys = nk,
                              .sort_cols = sorts,
                              .desc = desc,
                              .n_sort = ns,
                              .lo = p->u.over.rank_lo,
                              .hi = p->u.over.rank_hi,
                              .rank_out = p->u.over.rank_out,
                              .changelog = out->changelog,
                              .mode = kind == TIDE_SQL_TOPN_WINDOW  ? TIDE_NODE_TOPN_WINDOW
                                      : kind == TIDE_SQL_TOPN_FIRST ? TIDE_NODE_TOPN_FIRST
                                                                    : TIDE_NODE_TOPN_UPDATING,
                              .time_col = kind == TIDE_SQL_TOPN_WINDOW ? nin + p->u.over.window_end
                                          : kind == TIDE_SQL_TOPN_FIRST ? nin + nk
                                                                        : 0};
    uint32_t par = nk ? pl->P : 1;
    unsigned fl = tide_node_topn_flags(c);
    const char *nm = kind == TIDE_SQL_TOPN_WINDOW ? "window-topn" : kind == TIDE_SQL_TOPN_FIRST ? "dedup-first" : "topn";
    int id;
    if ((rc = add_node(pl, p, nm, &tide_node_topn_vt, tide_node_topn_make, c, par, 1, &os, &fl, &id)) != 0 ||
        (rc = exchange(pl, p, out, id, keys, nk, par)) != 0)
        return rc;
    /* canonical order: the partition, then the rank (the changelog's key) */
    uint32_t no = nk;
    if (p->u.over.rank_out)
        ord[no++] = nin;
    *out = (stream){.node = id,
                    .port = 0,
                    .par = par,
                    .schema = os,
                    .changelog = p->changelog,
                    .order = no ? ord : NULL,
                    .norder = no,
                    .ordered = true};
    return 0;
}

/* OVER aggregates (exec/node_over.h), keyed by the partition columns. */
static int plan_over(planner *pl, const tide_sql_plan *p, stream *out)
{
    const tide_sql_overcall *calls = p->u.over.calls;
    uint32_t nin = p->input->ncols, nk = p->u.over.nkeys, nc = p->u.over.ncalls;
    if (nc > 0 && calls[0].row_number)
        return plan_topn(pl, p, out);
    if (nc == 0)
        return sqlfail(pl, TIDE_EUNSUPPORTED, p->pos, "an OVER without calls");
    const tide_sql_bexpr *ord = p->u.over.order[0];
    if (p->u.over.norder != 1 || ord->kind != TIDE_SQL_BX_COLUMN || ord->col >= nin)
        return sqlfail(pl, TIDE_EUNSUPPORTED, p->pos, "an OVER aggregate must be ordered by an event-time column");
    uint32_t *argcol;
    int rc = plan_over_input(pl, p, out, &argcol);
    if (rc)
        return rc;
    tide_node_over_cfg *c = alloc(pl, sizeof *c);
    tide_node_over_agg *aggs = alloc(pl, (nc + 1) * sizeof *aggs);
    uint32_t *keys = alloc(pl, (nk + 1) * sizeof *keys);
    const tide_schema *os;
    if (!c || !aggs || !keys)
        return nomem(pl, p);
    if ((rc = plan_schema(pl, p, &os)) != 0)
        return rc;
    for (uint32_t i = 0; i < nk; i++)
        keys[i] = nin + i;
    for (uint32_t i = 0; i < nc; i++)
        aggs[i] = (tide_node_over_agg){.kind = calls[i].agg.kind,
                                       .arg = argcol[i] == UINT32_MAX ? -1 : (int32_t)argcol[i]};
    *c = (tide_node_over_cfg){.in = out->schema,
                              .out = os,
                              .n_pass = nin,
                              .key_cols = keys,
                              .n_keys = nk,
                              .time_col = ord->col,
                              .aggs = aggs,
                              .n_aggs = nc,
                              .rows = p->u.over.rows,
                              .unbounded = p->u.over.unbounded,
                              .preceding = p->u.over.preceding};
    uint32_t par = nk ? pl->P : 1;
    int id;
    if ((rc = add_node(pl, p, "over", &tide_node_over_vt, tide_node_over_make, c, par, 1, &os, NULL, &id)) != 0 ||
        (rc = exchange(pl, p, out, id, keys, nk, par)) != 0)
        return rc;
    *out = (stream){.node = id, .port = 0, .par = par, .schema = os, .changelog = false, .ordered = true};
    return 0;
}

/* ---- unions ---- */

static int collect_union(const tide_sql_plan *p, const tide_sql_plan **in, uint32_t *n, uint32_t cap)
{
    if (p->kind == TIDE_SQL_PLAN_UNION) {
        int rc = collect_union(p->input, in, n, cap);
        return rc ? rc : collect_union(p->right, in, n, cap);
    }
    if (*n == cap)
        return -1;
    in[(*n)++] = p;
    return 0;
}

static int plan_union(planner *pl, const tide_sql_plan *p, stream *out)
{
    const tide_sql_plan *in[64];
    uint32_t n = 0;
    if (collect_union(p, in, &n, 64))
        return sqlfail(pl, TIDE_EUNSUPPORTED, p->pos, "not supported yet: a UNION ALL of more than 64 queries");
    stream s[64];
    uint32_t par = 1;
    bool changelog = false;
    int rc;
    for (uint32_t i = 0; i < n; i++) {
        if ((rc = plan(pl, in[i], &s[i])) != 0)
            return rc;
        if (s[i].par > par)
            par = s[i].par;
        changelog |= s[i].changelog;
    }
    const tide_sql_plan *top = p;
    const tide_schema *ps;
    if ((rc = plan_schema(pl, top, &ps)) != 0)
        return rc;
    /* every branch in the union's exact row type */
    for (uint32_t i = 0; i < n; i++) {
        bool same = tide_schema_ncols(s[i].schema) == tide_schema_ncols(ps);
        for (uint32_t c = 0; same && c < tide_schema_ncols(ps); c++)
            same = tide_schema_col(s[i].schema, c)->type == tide_schema_col(ps, c)->type;
        if (!same || (changelog && !s[i].changelog)) {
            tide_sql_bexpr **cols = alloc(pl, (p->ncols + 1) * sizeof *cols);
            if (!cols)
                return nomem(pl, p);
            for (uint32_t c = 0; c < p->ncols; c++) {
                if (!(cols[c] = alloc(pl, sizeof *cols[c])))
                    return nomem(pl, p);
                *cols[c] = (tide_sql_bexpr){
                    .kind = TIDE_SQL_BX_COLUMN, .type = tide_schema_col(s[i].schema, c)->type, .col = c};
            }
            if ((rc = add_calc(pl, in[i], &s[i], NULL, 0, cols, p->ncols, ps, "cast")) != 0)
                return rc;
        }
    }
    tide_node_union_cfg *c = alloc(pl, sizeof *c);
    if (!c)
        return nomem(pl, p);
    c->schema = ps;
    unsigned fl = changelog ? TIDE_CBATCH_OPS : 0;
    /* at parallelism 1 the union releases each step's rows by branch (the
     * output is then as deterministic as the branches); above, the sink's
     * ordering node sorts them */
    c->ordered = par == 1;
    c->flags = fl;
    int id;
    if ((rc = add_node(pl, p, "union", &tide_node_union_vt, tide_node_union_make, c, par, 1, &ps, &fl, &id)) != 0)
        return rc;
    uint32_t *all = alloc(pl, (p->ncols + 1) * sizeof *all);
    if (!all)
        return nomem(pl, p);
    for (uint32_t c2 = 0; c2 < p->ncols; c2++)
        all[c2] = c2;
    for (uint32_t i = 0; i < n; i++) {
        tide_flow_part part = s[i].par == par ? TIDE_FLOW_FORWARD : par == 1 ? TIDE_FLOW_GATHER : TIDE_FLOW_HASH;
        if ((rc = add_edge(pl, in[i], &s[i], id, part, part == TIDE_FLOW_HASH ? all : NULL,
                           part == TIDE_FLOW_HASH ? p->ncols : 0)) != 0)
            return rc;
    }
    *out = (stream){.node = id, .port = 0, .par = par, .schema = ps, .changelog = changelog};
    for (uint32_t i = 0; i < n; i++)
        out->ordered |= s[i].ordered || s[i].par > 1;
    if (par > 1)
        out->ordered = true;
    return 0;
}

/* ---- joins ---- */

static void conjuncts(tide_sql_bexpr *x, tide_sql_bexpr **out, uint32_t *n, uint32_t cap)
{
    if (x->kind == TIDE_SQL_BX_NODE && x->ast && x->ast->kind == TIDE_SQL_EXPR_BINARY &&
        x->ast->u.binary.op == TIDE_SQL_OP_AND && x->nargs == 2) {
        conjuncts(x->args[0], out, n, cap);
        conjuncts(x->args[1], out, n, cap);
    } else if (*n < cap) {
        out[(*n)++] = x;
    }
}

/* x = a side's event-time column [+ or - an INTERVAL literal]: *col (in the
 * joined row) and *off (ms). */
static bool time_term(const tide_sql_plan *j, const tide_sql_bexpr *x, uint32_t *col, int64_t *off)
{
    *off = 0;
    if (x->kind == TIDE_SQL_BX_NODE && x->ast && x->ast->kind == TIDE_SQL_EXPR_BINARY && x->nargs == 2 &&
        (x->ast->u.binary.op == TIDE_SQL_OP_ADD || x->ast->u.binary.op == TIDE_SQL_OP_SUB)) {
        const tide_sql_bexpr *k = x->args[1];
        if (k->kind != TIDE_SQL_BX_NODE || !k->ast || k->ast->kind != TIDE_SQL_EXPR_INTERVAL)
            return false;
        int64_t u = tide_sql_unit_ms(k->ast->u.interval.unit);
        if (!u)
            return false;
        *off = k->ast->u.interval.count * u; /* (fits: the binder checked it) */
        /* two event times differ by less than the TIMESTAMP range's span
         * (data/types.h), so a longer offset means the same as the span:
         * clamped, the bounds' arithmetic below cannot overflow */
        if (*off > TIDE_TS_VALID_SPAN || *off < -TIDE_TS_VALID_SPAN)
            *off = *off > 0 ? TIDE_TS_VALID_SPAN : -TIDE_TS_VALID_SPAN;
        if (x->ast->u.binary.op == TIDE_SQL_OP_SUB)
            *off = -*off;
        x = x->args[0];
    }
    /* an event-time column of its side (the join's own columns may have
     * lost the attribute: an outer join's padded side) */
    uint32_t nl = j->input->ncols;
    if (x->kind != TIDE_SQL_BX_COLUMN || x->col >= j->ncols ||
        !(x->col < nl ? j->input->cols[x->col].rowtime : j->right->cols[x->col - nl].rowtime))
        return false;
    *col = x->col;
    return true;
}

/* A bound "a + oa  OP  b + ob" on two sides' times into lo <= l - r <= hi. */
static bool time_bound(const tide_sql_plan *j, uint32_t nl, const tide_sql_bexpr *a, tide_sql_binop op,
                       const tide_sql_bexpr *b, int64_t *lo, int64_t *hi, uint32_t *tcol)
{
    uint32_t ca, cb;
    int64_t oa, ob;
    if (!time_term(j, a, &ca, &oa) || !time_term(j, b, &cb, &ob) || (ca < nl) == (cb < nl))
        return false;
    int64_t c = ob - oa;
    bool flip = ca >= nl;
    tcol[0] = flip ? cb : ca;
    tcol[1] = (flip ? ca : cb) - nl;
    if (flip) {
        c = -c;
        op = op == TIDE_SQL_OP_LT   ? TIDE_SQL_OP_GT
             : op == TIDE_SQL_OP_LE ? TIDE_SQL_OP_GE
             : op == TIDE_SQL_OP_GT ? TIDE_SQL_OP_LT
             : op == TIDE_SQL_OP_GE ? TIDE_SQL_OP_LE
                                    : op;
    }
    switch (op) {
    case TIDE_SQL_OP_EQ:
        *lo = *lo > c ? *lo : c;
        *hi = *hi < c ? *hi : c;
        return true;
    case TIDE_SQL_OP_GE:
    case TIDE_SQL_OP_GT: {
        int64_t v = op == TIDE_SQL_OP_GT ? c + 1 : c;
        *lo = *lo > v ? *lo : v;
        return true;
    }
    case TIDE_SQL_OP_LE:
    case TIDE_SQL_OP_LT: {
        int64_t v = op == TIDE_SQL_OP_LT ? c - 1 : c;
        *hi = *hi < v ? *hi : v;
        return true;
    }
    default:
        return false;
    }
}

/* Whether x is a NULL-safe equality (IS NOT DISTINCT FROM). */
static bool null_safe_eq(const tide_sql_bexpr *x)
{
    return x->kind == TIDE_SQL_BX_NODE && x->ast && x->ast->kind == TIDE_SQL_EXPR_BINARY &&
           x->ast->u.binary.op == TIDE_SQL_OP_IS_NOT_DISTINCT;
}

/* An equality (=, or IS NOT DISTINCT FROM: null_safe_eq) of a left and a
 * right column of the joined row: their columns in each side's row (a < nl). */
static bool equi(const tide_sql_bexpr *x, uint32_t nl, uint32_t *a, uint32_t *b)
{
    if (x->kind != TIDE_SQL_BX_NODE || !x->ast || x->ast->kind != TIDE_SQL_EXPR_BINARY ||
        (x->ast->u.binary.op != TIDE_SQL_OP_EQ && x->ast->u.binary.op != TIDE_SQL_OP_IS_NOT_DISTINCT) ||
        x->nargs != 2 || x->args[0]->kind != TIDE_SQL_BX_COLUMN ||
        x->args[1]->kind != TIDE_SQL_BX_COLUMN || x->args[0]->type != x->args[1]->type)
        return false;
    uint32_t p = x->args[0]->col, q = x->args[1]->col;
    if (p >= nl && q < nl) {
        uint32_t t = p;
        p = q;
        q = t;
    }
    if (!(p < nl && q >= nl))
        return false;
    *a = p;
    *b = q - nl;
    return true;
}

static bool same_window(const tide_sql_window *a, const tide_sql_window *b)
{
    return a->spec.kind == b->spec.kind && a->spec.size == b->spec.size && a->spec.slide == b->spec.slide &&
           a->spec.gap == b->spec.gap && a->spec.offset == b->spec.offset;
}

/* A join side's rows are those of `kind` nodes (windowed aggregations or
 * window TVFs) below Filter / Project chains: one such node, or a UNION ALL
 * of them. */
static bool windowed_side(const tide_sql_plan *p, tide_sql_plan_kind kind)
{
    while (p->kind == TIDE_SQL_PLAN_FILTER || p->kind == TIDE_SQL_PLAN_PROJECT)
        p = p->input;
    if (p->kind == TIDE_SQL_PLAN_UNION)
        return windowed_side(p->input, kind) && windowed_side(p->right, kind);
    return p->kind == kind;
}

/* Where a windowed side's EMIT clause is written (the first window
 * aggregation below Filter / Project / UNION ALL nodes that has one), else
 * the side's own position. */
static tide_sql_pos emit_pos(const tide_sql_plan *p)
{
    const tide_sql_plan *q = p;
    while (q->kind == TIDE_SQL_PLAN_FILTER || q->kind == TIDE_SQL_PLAN_PROJECT)
        q = q->input;
    if (q->kind == TIDE_SQL_PLAN_UNION) {
        tide_sql_pos l = emit_pos(q->input);
        return l.off != q->input->pos.off || l.len != q->input->pos.len ? l : emit_pos(q->right);
    }
    if (q->kind == TIDE_SQL_PLAN_WINDOW_AGGREGATE && q->u.agg.emit.given)
        return q->u.agg.emit.pos;
    return p->pos;
}

/* Column c of a windowed side (windowed_side) is, in every `kind` node
 * below it (through Filter / Project chains passing it on as it is, into
 * every branch of a UNION ALL), its window_start (which 0) or window_end
 * (which 1). */
static bool window_col(const tide_sql_plan *p, uint32_t c, tide_sql_plan_kind kind, uint32_t which)
{
    for (; p->kind == TIDE_SQL_PLAN_FILTER || p->kind == TIDE_SQL_PLAN_PROJECT; p = p->input)
        if (p->kind == TIDE_SQL_PLAN_PROJECT) {
            const tide_sql_bexpr *x = p->u.project.exprs[c];
            if (x->kind != TIDE_SQL_BX_COLUMN)
                return false;
            c = x->col;
        }
    if (p->kind == TIDE_SQL_PLAN_UNION)
        return window_col(p->input, c, kind, which) && window_col(p->right, c, kind, which);
    if (p->kind != kind)
        return false;
    return c == (kind == TIDE_SQL_PLAN_WINDOW_AGGREGATE ? p->u.agg.nkeys : p->input->ncols) + which;
}

/* Every window TVF below a side of window TVF rows (windowed_side) is *w
 * (the first one met sets it). */
static bool one_window(const tide_sql_plan *p, const tide_sql_window **w)
{
    while (p->kind == TIDE_SQL_PLAN_FILTER || p->kind == TIDE_SQL_PLAN_PROJECT)
        p = p->input;
    if (p->kind == TIDE_SQL_PLAN_UNION)
        return one_window(p->input, w) && one_window(p->right, w);
    if (!*w)
        *w = &p->u.window.w;
    return same_window(*w, &p->u.window.w);
}

/* The ON predicate of an outer join's node: the conjuncts that are not
 * its keys, bounds or windows, ANDed, over the joined row; built once at
 * plan time (errors with positions) and once per instance. */
typedef struct on_ctx {
    tide_sql_bexpr **preds;
    uint32_t n;
} on_ctx;

static int on_build_at(const on_ctx *c, const tide_schema *joined, tide_expr **out, tide_sql_pos *at,
                       tide_err *e)
{
    *out = NULL;
    int rc = 0;
    for (uint32_t i = 0; i < c->n && !rc; i++) {
        tide_expr *x = NULL;
        if ((rc = tide_sql_plan_expr_at(c->preds[i], joined, &x, at, e)) != 0)
            break;
        if (!*out)
            *out = x;
        else
            rc = tide_expr_logic(out, TIDE_EXPR_AND, *out, x, e);
    }
    if (rc) {
        tide_expr_free(*out);
        *out = NULL;
    }
    return rc;
}

static int on_build(void *ctx, uint32_t instance, const tide_schema *joined, tide_expr **out, tide_err *e)
{
    (void)instance;
    return on_build_at(ctx, joined, out, NULL, e);
}

static const char *join_kind_name(tide_sql_join_kind k)
{
    return k == TIDE_SQL_JOIN_LEFT ? "LEFT" : k == TIDE_SQL_JOIN_RIGHT ? "RIGHT" : k == TIDE_SQL_JOIN_FULL ? "FULL" : "CROSS";
}

static int plan_join(planner *pl, const tide_sql_plan *j, stream *out)
{
    tide_sql_join_kind jk = j->u.join.kind;
    bool outer = jk == TIDE_SQL_JOIN_LEFT || jk == TIDE_SQL_JOIN_RIGHT || jk == TIDE_SQL_JOIN_FULL;
    bool semi = jk == TIDE_SQL_JOIN_SEMI || jk == TIDE_SQL_JOIN_ANTI;
    if (jk != TIDE_SQL_JOIN_INNER && !outer && !semi)
        return sqlfail(pl, TIDE_EUNSUPPORTED, j->pos, "not supported yet: %s joins", join_kind_name(jk));
    const tide_sql_plan *in[2] = {j->input, j->right};
    flat side[2];
    int rc;
    for (int s = 0; s < 2; s++)
        if ((rc = fold(pl, in[s], &side[s])) != 0)
            return rc;
    uint32_t nl = j->input->ncols;
    tide_sql_bexpr *cj[64];
    bool used[64] = {false}; /* the conjunct is a key, a bound or a window column */
    uint32_t ncj = 0;
    if (j->u.join.on)
        conjuncts(j->u.join.on, cj, &ncj, 64);
    if (outer && ncj == 64)
        return sqlfail(pl, TIDE_EUNSUPPORTED, j->pos, "not supported yet: an outer join with 64 or more ANDed conditions");
    tide_node_join_cfg *c = alloc(pl, sizeof *c);
    if (!c)
        return nomem(pl, j);
    tide_sql_plan_kind bk[2] = {side[0].base->kind, side[1].base->kind};
    /* windowed sides: one windowed node each, or a UNION ALL of them */
    bool wagg = !semi && windowed_side(in[0], TIDE_SQL_PLAN_WINDOW_AGGREGATE) &&
                windowed_side(in[1], TIDE_SQL_PLAN_WINDOW_AGGREGATE);
    bool wjoin = !semi && windowed_side(in[0], TIDE_SQL_PLAN_WINDOW) && windowed_side(in[1], TIDE_SQL_PLAN_WINDOW);
    uint32_t nk = 0;
    if (wagg) {
        for (int s = 0; s < 2; s++)
            if (in[s]->changelog)
                return sqlfail(pl, TIDE_EUNSUPPORTED, emit_pos(in[s]),
                               "not supported yet: joining an aggregation with early or late firings "
                               "(EMIT); only final window results join");
        c->kind = TIDE_NODE_JOIN_WINDOW_END;
        bool have_end = false;
        for (uint32_t i = 0; i < ncj; i++) {
            uint32_t a, b;
            if (!equi(cj[i], nl, &a, &b))
                continue;
            if (!have_end && window_col(in[0], a, TIDE_SQL_PLAN_WINDOW_AGGREGATE, 1) &&
                window_col(in[1], b, TIDE_SQL_PLAN_WINDOW_AGGREGATE, 1)) {
                c->side[0].end_col = a;
                c->side[1].end_col = b;
                have_end = used[i] = true;
            } else if (nk < TIDE_NODE_JOIN_MAX_KEYS) {
                c->side[0].key_cols[nk] = a;
                c->side[1].key_cols[nk] = b;
                c->null_safe[nk] = null_safe_eq(cj[i]);
                nk++;
                used[i] = true;
            }
        }
        if (!have_end)
            return sqlfail(pl, TIDE_EUNSUPPORTED, j->pos,
                           "not supported yet: this join; join two windowed aggregates ON their window_end "
                           "columns (l.window_end = r.window_end [AND l.k = r.k ...])");
    } else if (wjoin) {
        /* one window on both sides (in every branch of a UNION ALL too) */
        const tide_sql_window *w = NULL;
        if (!one_window(in[0], &w) || !one_window(in[1], &w))
            return sqlfail(pl, TIDE_EUNSUPPORTED, j->pos, "not supported yet: a window join of two different windows");
        if (w->spec.offset != 0)
            return sqlfail(pl, TIDE_EUNSUPPORTED, j->pos, "not supported yet: a window join of windows with an offset");
        c->kind = TIDE_NODE_JOIN_WINDOW;
        bool have_start = false, have_end = false;
        for (uint32_t i = 0; i < ncj; i++) {
            uint32_t a, b;
            if (!equi(cj[i], nl, &a, &b))
                continue;
            if (window_col(in[0], a, TIDE_SQL_PLAN_WINDOW, 0) && window_col(in[1], b, TIDE_SQL_PLAN_WINDOW, 0)) {
                c->side[0].start_col = a;
                c->side[1].start_col = b;
                have_start = used[i] = true;
            } else if (window_col(in[0], a, TIDE_SQL_PLAN_WINDOW, 1) && window_col(in[1], b, TIDE_SQL_PLAN_WINDOW, 1)) {
                c->side[0].end_col = a;
                c->side[1].end_col = b;
                have_end = used[i] = true;
            } else if (nk < TIDE_NODE_JOIN_MAX_KEYS) {
                c->side[0].key_cols[nk] = a;
                c->side[1].key_cols[nk] = b;
                c->null_safe[nk] = null_safe_eq(cj[i]);
                nk++;
                used[i] = true;
            }
        }
        if (!have_start || !have_end)
            return sqlfail(pl, TIDE_EUNSUPPORTED, j->pos,
                           "not supported yet: a window join whose ON does not equate both window_start "
                           "and window_end");
    } else {
        /* an interval join when two streams' times bound each other, else
         * a regular join (Flink's: of changelogs, aggregations, streams
         * without such a bound) */
        bool streams = !semi && !(bk[0] == TIDE_SQL_PLAN_WINDOW_AGGREGATE || bk[1] == TIDE_SQL_PLAN_WINDOW_AGGREGATE ||
                         bk[0] == TIDE_SQL_PLAN_AGGREGATE || bk[1] == TIDE_SQL_PLAN_AGGREGATE || in[0]->changelog ||
                         in[1]->changelog);
        bool bound_used[64] = {false};
        int64_t lo = INT64_MIN, hi = INT64_MAX;
        uint32_t tcol[2] = {UINT32_MAX, UINT32_MAX}, tc[2];
        for (uint32_t i = 0; i < ncj; i++) {
            const tide_sql_bexpr *x = cj[i];
            if (x->kind != TIDE_SQL_BX_NODE || !x->ast)
                continue;
            bool bounded = false;
            if (x->ast->kind == TIDE_SQL_EXPR_BETWEEN && !x->ast->u.between.negated && x->nargs == 3) {
                int64_t l2 = lo, h2 = hi;
                uint32_t t1[2], t2[2];
                if (time_bound(j, nl, x->args[0], TIDE_SQL_OP_GE, x->args[1], &l2, &h2, t1) &&
                    time_bound(j, nl, x->args[0], TIDE_SQL_OP_LE, x->args[2], &l2, &h2, t2) && t1[0] == t2[0] &&
                    t1[1] == t2[1]) {
                    lo = l2;
                    hi = h2;
                    tc[0] = t1[0];
                    tc[1] = t1[1];
                    bounded = true;
                }
            } else if (x->ast->kind == TIDE_SQL_EXPR_BINARY && x->nargs == 2) {
                bounded = time_bound(j, nl, x->args[0], x->ast->u.binary.op, x->args[1], &lo, &hi, tc);
                uint32_t a, b;
                if (!bounded && equi(x, nl, &a, &b) && nk < TIDE_NODE_JOIN_MAX_KEYS) {
                    c->side[0].key_cols[nk] = a;
                    c->side[1].key_cols[nk] = b;
                    c->null_safe[nk] = null_safe_eq(cj[i]);
                    nk++;
                    used[i] = true;
                }
            }
            if (bounded) {
                bound_used[i] = true;
                if (streams && tcol[0] != UINT32_MAX && (tcol[0] != tc[0] || tcol[1] != tc[1]))
                    return sqlfail(pl, TIDE_EUNSUPPORTED, x->ast->pos,
                                   "not supported yet: an interval join bounding more than one time column "
                                   "per side");
                tcol[0] = tc[0];
                tcol[1] = tc[1];
            }
        }
        if (j->u.join.cls == TIDE_SQL_JOIN_WINDOW)
            return sqlfail(pl, TIDE_EUNSUPPORTED, j->pos, "not supported yet: this window join");
        if (streams && tcol[0] != UINT32_MAX && lo != INT64_MIN && hi != INT64_MAX && lo <= hi) {
            c->kind = TIDE_NODE_JOIN_INTERVAL;
            for (uint32_t i = 0; i < ncj; i++)
                used[i] |= bound_used[i];
            c->side[0].time_col = tcol[0];
            c->side[1].time_col = tcol[1];
            c->lo = lo;
            c->hi = hi;
        } else { /* the time comparisons are ordinary conditions here */
            c->kind = TIDE_NODE_JOIN_REGULAR;
            c->changelog = j->changelog;
            c->ttl = j->u.join.ttl;
            c->semi = jk == TIDE_SQL_JOIN_SEMI ? 1 : jk == TIDE_SQL_JOIN_ANTI ? 2 : 0;
        }
    }
    bool regular = c->kind == TIDE_NODE_JOIN_REGULAR;
    c->n_keys = nk;
    if (outer || regular) {
        /* the rest of ON decides inside the join which pairs match: a
         * filter after it would drop the padded rows (and a regular join's
         * retractions must find the rows it emitted) */
        c->outer[0] = jk == TIDE_SQL_JOIN_LEFT || jk == TIDE_SQL_JOIN_FULL;
        c->outer[1] = jk == TIDE_SQL_JOIN_RIGHT || jk == TIDE_SQL_JOIN_FULL;
        on_ctx *oc = alloc(pl, sizeof *oc);
        tide_sql_bexpr **rest = alloc(pl, (ncj + 1) * sizeof *rest);
        if (!oc || !rest)
            return nomem(pl, j);
        *oc = (on_ctx){.preds = rest};
        for (uint32_t i = 0; i < ncj; i++)
            if (!used[i])
                rest[oc->n++] = cj[i];
        if (oc->n) {
            c->build_on = on_build;
            c->build_ctx = oc;
        }
    }
    stream s[2];
    for (int k = 0; k < 2; k++) {
        if ((rc = plan(pl, in[k], &s[k])) != 0)
            return rc;
        c->side[k].schema = s[k].schema;
    }
    uint32_t par = nk ? pl->P : 1;
    tide_err e = {0};
    tide_schema *os[3] = {0};
    for (uint32_t p = 0; p < 3; p++)
        if (tide_node_join_schema(c, p, &os[p], &e)) {
            for (uint32_t q = 0; q < p; q++)
                tide_schema_free(os[q]);
            return experr(pl, j, &e);
        }
    for (uint32_t p = 0; p < 3; p++)
        if ((rc = own_schema(pl, j, os[p])) != 0) {
            for (uint32_t q = p + 1; q < 3; q++)
                tide_schema_free(os[q]);
            return rc;
        }
    const tide_schema *ps;
    if ((rc = plan_schema(pl, j, &ps)) != 0)
        return rc;
    if (c->build_on) { /* build once now: SQL errors at plan time, with their positions */
        tide_expr *x = NULL;
        tide_sql_pos at = {0};
        tide_schema *pair = NULL;
        rc = tide_node_join_pair_schema(c, &pair, &e);
        if (!rc)
            rc = on_build_at(c->build_ctx, pair, &x, &at, &e);
        tide_schema_free(pair);
        tide_expr_free(x);
        if (rc == TIDE_ENOMEM)
            return nomem(pl, j);
        if (rc)
            return sqlfail(pl, rc, at.line ? at : j->pos, "%s", e.msg[0] ? e.msg : "cannot run this expression");
    }
    const tide_schema *outs[3] = {ps, os[1], os[2]};
    unsigned fl[3] = {regular && c->changelog ? TIDE_CBATCH_OPS : 0, flags_of(&s[0]), flags_of(&s[1])};
    int id;
    if ((rc = add_node(pl, j, "join", &tide_node_join_vt, tide_node_join_make, c, par, 3, outs, fl, &id)) != 0)
        return rc;
    for (int k = 0; k < 2; k++)
        if ((rc = exchange(pl, j, &s[k], id, c->side[k].key_cols, nk, par)) != 0)
            return rc;
    *out = (stream){.node = id, .port = 0, .par = par, .schema = ps, .ordered = true,
                    .changelog = regular && c->changelog};
    /* canonical order: the window end (or the left time), the keys (a
     * regular join: each side's, as a padded row has NULLs in the other's),
     * then every other column */
    uint32_t ncol = (uint32_t)tide_schema_ncols(ps), no = 0;
    uint32_t *ord = alloc(pl, (ncol + 1) * sizeof *ord);
    bool *in_ord = alloc(pl, (ncol + 1) * sizeof *in_ord);
    if (!ord || !in_ord)
        return nomem(pl, j);
    if (!regular) {
        uint32_t first = c->kind == TIDE_NODE_JOIN_INTERVAL ? c->side[0].time_col : c->side[0].end_col;
        ord[no++] = first;
        in_ord[first] = true;
    }
    for (int sd = 0; sd < (regular && !semi ? 2 : 1); sd++)
        for (uint32_t k = 0; k < nk; k++) {
            uint32_t col = c->side[sd].key_cols[k] + (sd ? nl : 0);
            if (!in_ord[col]) {
                ord[no++] = col;
                in_ord[col] = true;
            }
        }
    for (uint32_t k = 0; k < ncol; k++)
        if (!in_ord[k])
            ord[no++] = k;
    out->order = ord;
    out->norder = no;
    /* the whole ON condition over the joined rows (an inner join: an
     * outer one decided inside) */
    if (j->u.join.on && !outer && !regular) {
        tide_sql_bexpr **pred = alloc(pl, sizeof *pred);
        if (!pred)
            return nomem(pl, j);
        pred[0] = j->u.join.on;
        if ((rc = add_calc(pl, j, out, pred, 1, NULL, 0, ps, "on")) != 0)
            return rc;
    }
    return 0;
}

/* ---- the sink ---- */

typedef struct out_res {
    tide_sink_config cfg;
    tide_node_write_cfg w;
    bool prompt; /* an unbounded or live run: write each batch out as it comes */
} out_res;

static int out_open(void *ctx, tide_err *e)
{
    out_res *r = ctx;
    r->cfg.prompt = r->prompt;
    return tide_sink_open(&r->w.sink, &r->cfg, e);
}

static int out_finish(void *ctx, bool ok, tide_err *e)
{
    out_res *r = ctx;
    tide_sink *k = r->w.sink;
    r->w.sink = NULL;
    if (ok)
        return tide_sink_close(k, e);
    tide_sink_abort(k);
    return 0;
}

/* INSERT INTO a file that the same job reads: the sink would replace the
 * file under its own source.  Refused (by device and inode when the file
 * exists, else by normalized path: base/io.h). */
static int sink_reads_itself(planner *pl, const tide_sql_plan *sink, const char *out, const tide_sql_plan *p)
{
    if (!p)
        return 0;
    if (p->kind == TIDE_SQL_PLAN_SCAN && p->u.scan.cfg.kind == TIDE_SRC_FILE && p->u.scan.cfg.path) {
        const char *in = resolve(pl, p->u.scan.cfg.path);
        if (!in)
            return nomem(pl, p);
        bool same = false;
        tide_err e = {0};
        if (tide_io_same_file(in, out, &same, &e))
            return sqlfail(pl, e.code, sink->pos, "INSERT INTO %s: %s", sink->u.sink.table->name, e.msg);
        if (same)
            return sqlfail(pl, TIDE_EINVAL, sink->pos,
                           "INSERT INTO %s: its file '%s' is also read by this statement (table '%s' at %u:%u): "
                           "the output would replace its own input",
                           sink->u.sink.table->name, out, p->u.scan.table ? p->u.scan.table->name : "?", p->pos.line,
                           p->pos.col);
    }
    int rc = sink_reads_itself(pl, sink, out, p->input);
    return rc ? rc : sink_reads_itself(pl, sink, out, p->right);
}

static int plan_sink(planner *pl, const tide_sql_plan *sink)
{
    flat f;
    int rc = fold(pl, sink->input, &f);
    if (rc)
        return rc;
    stream s;
    if ((rc = plan(pl, f.base, &s)) != 0)
        return rc;
    /* rows of every instance, in a canonical order per watermark step */
    if (s.par > 1 || s.ordered) {
        tide_node_order_cfg *oc = alloc(pl, sizeof *oc);
        uint32_t n = (uint32_t)tide_schema_ncols(s.schema);
        uint32_t *all = alloc(pl, (n + 1) * sizeof *all);
        if (!oc || !all)
            return nomem(pl, sink);
        for (uint32_t i = 0; i < n; i++)
            all[i] = i;
        *oc = (tide_node_order_cfg){.schema = s.schema,
                                    .flags = flags_of(&s),
                                    .sort_cols = s.order ? s.order : all,
                                    .n_sort = s.order ? s.norder : n};
        unsigned fl = flags_of(&s);
        int id;
        if ((rc = add_node(pl, sink, "order", &tide_node_order_vt, tide_node_order_make, oc, 1, 1, &s.schema, &fl,
                           &id)) != 0 ||
            (rc = add_edge(pl, sink, &s, id, s.par > 1 ? TIDE_FLOW_GATHER : TIDE_FLOW_FORWARD, NULL, 0)) != 0)
            return rc;
        s.node = id;
        s.port = 0;
        s.par = 1;
    }
    out_res *r = alloc(pl, sizeof *r);
    if (!r)
        return nomem(pl, sink);
    /* every scan is planned: the info is final (and need not outlive the spec) */
    r->prompt = !pl->info->bounded || pl->info->live;
    const tide_schema *ws;
    uint32_t nout = f.ncols;
    if (pl->o->sink_topic && sink->u.sink.table)
        return sqlfail(pl, TIDE_EINVAL, sink->pos,
                       "INSERT INTO %s: a deployed job writes its own output (topic %s): end the script with a "
                       "bare SELECT",
                       sink->u.sink.table->name, pl->o->sink_topic);
    if (!sink->u.sink.table) {
        if ((rc = plan_schema(pl, sink->input, &ws)) != 0)
            return rc;
        if (f.any && (rc = add_calc(pl, sink, &s, f.preds, f.npreds, f.projects ? f.cols : NULL,
                                    f.projects ? f.ncols : 0, ws, "calc")) != 0)
            return rc;
        tide_sink_config_init(&r->cfg);
        r->cfg.kind = TIDE_SINK_STDOUT;
        r->cfg.fd = pl->o->out_fd;
        r->cfg.format = pl->o->format == TIDE_SQL_OUT_JSONL   ? TIDE_FORMAT_JSONL
                        : pl->o->format == TIDE_SQL_OUT_TABLE ? TIDE_FORMAT_TABLE
                                                              : TIDE_FORMAT_CSV;
        r->cfg.header = true;
        r->cfg.schema = s.schema;
        r->cfg.op = sink->changelog ? TIDE_SINK_OP_LEAD : TIDE_SINK_OP_BATCH;
        if (pl->o->sink_topic) {
            r->cfg.kind = TIDE_SINK_TOPIC;
            r->cfg.topic = pl->o->sink_topic;
            r->cfg.datadir = pl->o->datadir;
            r->cfg.format = TIDE_FORMAT_JSONL;
            r->cfg.op = TIDE_SINK_OP_LEAD;
            r->cfg.clock = pl->o->clock;
        }
    } else {
        r->cfg = sink->u.sink.cfg;
        ws = r->cfg.schema;
        int op_col = sink->u.sink.op_col;
        if (op_col >= 0) {
            r->cfg.op = TIDE_SINK_OP_COLUMN;
            r->cfg.op_col = (uint32_t)op_col;
        }
        if (r->cfg.kind == TIDE_SINK_FILE && !(r->cfg.path = resolve(pl, r->cfg.path)))
            return nomem(pl, sink);
        if (r->cfg.kind == TIDE_SINK_FILE && (rc = sink_reads_itself(pl, sink, r->cfg.path, sink->input)) != 0)
            return rc;
        if (r->cfg.kind == TIDE_SINK_TOPIC && !r->cfg.datadir)
            r->cfg.datadir = pl->o->datadir;
        if (pl->o->clock)
            r->cfg.clock = pl->o->clock;
        /* the query's columns into the target's, the op column NULL */
        uint32_t n = (uint32_t)tide_schema_ncols(ws), k = 0;
        tide_sql_bexpr **cols = alloc(pl, (n + 1) * sizeof *cols);
        if (!cols)
            return nomem(pl, sink);
        for (uint32_t jcol = 0; jcol < n; jcol++) {
            if ((int)jcol == op_col) {
                cols[jcol] = NULL;
                continue;
            }
            if (k >= nout)
                return sqlfail(pl, TIDE_EINVAL, sink->pos, "INSERT: the query has %u columns, the table more",
                               nout);
            cols[jcol] = f.cols[k++];
        }
        if (k != nout)
            return sqlfail(pl, TIDE_EINVAL, sink->pos, "INSERT: the query has %u columns, the table fewer", nout);
        if ((rc = add_calc(pl, sink, &s, f.preds, f.npreds, cols, n, ws, "calc")) != 0)
            return rc;
    }
    if (pl->o->job) {
        char producer[300];
        snprintf(producer, sizeof producer, "%s.%u", pl->o->job, pl->sink_index);
        if (!(r->cfg.producer = tide_job_spec_strdup(pl->spec, producer)))
            return nomem(pl, sink);
        r->cfg.txn = true;
        r->w.txn = true;
    }
    tide_err e = {0};
    if (tide_job_spec_resource(pl->spec, out_open, out_finish, r, &e))
        return nomem(pl, sink);
    unsigned fl = flags_of(&s);
    int id;
    char name[64];
    snprintf(name, sizeof name, "write %s", sink->u.sink.table ? sink->u.sink.table->name : "stdout");
    if ((rc = add_node(pl, sink, name, &tide_node_write_vt, tide_node_write_make, &r->w, 1, 0, NULL, &fl, &id)) !=
            0 ||
        (rc = add_edge(pl, sink, &s, id, TIDE_FLOW_FORWARD, NULL, 0)) != 0)
        return rc;
    return 0;
}

/* ---- the walk ---- */

static int plan(planner *pl, const tide_sql_plan *p, stream *out)
{
    switch (p->kind) {
    case TIDE_SQL_PLAN_SCAN:
        return plan_scan(pl, p, out);
    case TIDE_SQL_PLAN_FILTER:
    case TIDE_SQL_PLAN_PROJECT:
        return plan_chain(pl, p, out);
    case TIDE_SQL_PLAN_WINDOW_AGGREGATE:
        return plan_window_agg(pl, p, out);
    case TIDE_SQL_PLAN_AGGREGATE:
        return plan_group_agg(pl, p, out);
    case TIDE_SQL_PLAN_WINDOW:
        return plan_window(pl, p, out);
    case TIDE_SQL_PLAN_JOIN:
        return plan_join(pl, p, out);
    case TIDE_SQL_PLAN_UNION:
        return plan_union(pl, p, out);
    case TIDE_SQL_PLAN_OVER:
        return plan_over(pl, p, out);
    case TIDE_SQL_PLAN_VALUES:
        return sqlfail(pl, TIDE_EUNSUPPORTED, p->pos, "not supported yet: SELECT without FROM");
    default:
        return sqlfail(pl, TIDE_EUNSUPPORTED, p->pos, "not supported yet: %s here", tide_sql_plan_kind_name(p->kind));
    }
}

int tide_sql_physical(const tide_sql_plan *plan_, const tide_sql_phys_opts *o, tide_job_spec *spec,
                      tide_sql_phys_info *info, tide_sql_error *err)
{
    return tide_sql_physical_set(&plan_, 1, o, spec, info, err);
}

int tide_sql_physical_set(const tide_sql_plan *const *plans, uint32_t n, const tide_sql_phys_opts *o,
                          tide_job_spec *spec, tide_sql_phys_info *info, tide_sql_error *err)
{
    planner pl = {.spec = spec, .o = o, .info = info, .err = err};
    info->bounded = true;
    info->live = false;
    pl.P = o->parallelism;
    if (pl.P == 0) {
        long np = sysconf(_SC_NPROCESSORS_ONLN);
        pl.P = np > 0 ? (uint32_t)np : 1;
    }
    for (uint32_t i = 0; i < n; i++)
        if (plans[i]->kind != TIDE_SQL_PLAN_SINK)
            return sqlfail(&pl, TIDE_EINVAL, plans[i]->pos, "not a statement that writes somewhere");
    for (uint32_t i = 0; i < n; i++) {
        pl.sink_index = i;
        int rc = plan_sink(&pl, plans[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int tide_sql_fingerprint(const tide_sql_plan *const *plans, uint32_t n, const tide_job_spec *spec, uint64_t *out)
{
    tide_buf b = {0};
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++)
        rc = tide_sql_explain(plans[i], &b);
    if (rc == 0)
        rc = tide_job_spec_explain(spec, &b);
    if (rc == 0)
        *out = tide_hash64(b.data, b.len, 0x74696465706c616eULL);
    tide_buf_free(&b);
    return rc;
}
