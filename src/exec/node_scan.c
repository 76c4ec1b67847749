/*
 * node_scan.c - the source node.  See node_scan.h for what a poll does; the
 * watermark rule is explained at scan_process.
 */
#include "exec/node_scan.h"

#include "base/buf.h"
#include "log/topic.h"
#include "state/snap.h"
#include "time/watermark.h"

#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#define SNAP_KIND "scan"
#define SNAP_VERSION 2

typedef struct scan {
    const tide_node_scan_cfg *cfg;
    tide_schema *own_schema; /* GEN_LOGINS */
    const tide_schema *schema;
    uint32_t time_col, nparts, rows;
    /* GEN_LOGINS */
    tide_gen_logins *gen;
    uint8_t *g_country, *g_device; /* (ts and user_id go straight into the batch) */
    uint8_t country_len[TIDE_GEN_LOGINS_COUNTRIES], device_len[TIDE_GEN_LOGINS_DEVICES];
    bool fill_country, fill_device;
    /* CONNECT */
    tide_src *conn;
    uint64_t conn_dead;
    /* time */
    tide_wm_gen *wgen;
    tide_wm_comb *comb;
    int64_t wm_sent;
    tide_cbatch *in;
    /* the rows of this poll: `in`, or a batch a connect source lent
     * (tide_src_next_lend: `borrowed`, valid until the next poll), seen
     * through `lent` (a view hiding its positions) unless cfg.positions */
    tide_cbatch *cur;
    tide_cbatch *borrowed, *lent;
    uint32_t *iota; /* 0 .. rows-1: the selections of segments */
    uint32_t *sel;  /* rows kept by the dead-letter pass */
    char reason[160];
    uint64_t reads; /* fills that returned rows (cfg.pause) */
    /* computed columns: the trees, the rows they make (`proj`, seen
     * through `plent` hiding positions unless cfg.positions), failed rows */
    tide_expr **exprs;
    uint32_t nexprs;
    tide_cbatch *proj, *plent;
    uint8_t *failed;
    bool ended;
} scan;

void tide_node_scan_cfg_init(tide_node_scan_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->kind = TIDE_NODE_SCAN_GEN_LOGINS;
    tide_gen_logins_cfg_default(&c->gen);
    c->time_col = -1;
    c->partitions = 1;
    c->wm_bound = 5000;
}

static int logins_schema(tide_schema **out, tide_err *e)
{
    tide_schema *s = NULL;
    int rc;
    if ((rc = tide_schema_create(&s, e)) != 0 ||
        (rc = tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, false, e)) != 0 ||
        (rc = tide_schema_add(s, "user_id", TIDE_TYPE_BIGINT, false, e)) != 0 ||
        (rc = tide_schema_add(s, "country", TIDE_TYPE_STRING, false, e)) != 0 ||
        (rc = tide_schema_add(s, "device", TIDE_TYPE_STRING, false, e)) != 0 ||
        (rc = tide_schema_set_time_column(s, TIDE_NODE_SCAN_LOGINS_TS, e)) != 0) {
        tide_schema_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int tide_node_scan_schema(const tide_node_scan_cfg *c, uint32_t port, tide_schema **out, tide_err *e)
{
    *out = NULL;
    if (port != 0)
        return tide_err_set(e, TIDE_EINVAL, "scan: no output %u", port);
    if (c->computed)
        return tide_schema_clone(c->computed, out, e);
    switch (c->kind) {
    case TIDE_NODE_SCAN_GEN_LOGINS:
        return logins_schema(out, e);
    case TIDE_NODE_SCAN_CONNECT: {
        if (!c->conn)
            return tide_err_set(e, TIDE_EINVAL, "scan: CONNECT source without a config");
        if (c->conn->schema)
            return tide_schema_clone(c->conn->schema, out, e);
        tide_src *tmp = NULL;
        int rc = tide_src_open(&tmp, c->conn, e);
        if (rc == 0)
            rc = tide_schema_clone(tide_src_schema(tmp), out, e);
        tide_src_free(tmp);
        return rc;
    }
    case TIDE_NODE_SCAN_CALLBACK:
        if (!c->schema)
            return tide_err_set(e, TIDE_EINVAL, "scan: CALLBACK source without a schema");
        return tide_schema_clone(c->schema, out, e);
    }
    return tide_err_set(e, TIDE_EINVAL, "scan: bad source kind %d", (int)c->kind);
}

unsigned tide_node_scan_flags(const tide_node_scan_cfg *c) { return c->positions ? TIDE_CBATCH_POS : 0; }

static void scan_free(void *self)
{
    scan *s = self;
    if (!s)
        return;
    tide_gen_logins_free(s->gen);
    free(s->g_country);
    free(s->g_device);
    tide_src_free(s->conn);
    free(s->wgen);
    tide_wm_comb_free(s->comb);
    tide_cbatch_free(s->in);
    tide_cbatch_free(s->lent);
    free(s->iota);
    free(s->sel);
    tide_schema_free(s->own_schema);
    for (uint32_t i = 0; s->exprs && i < s->nexprs; i++)
        tide_expr_free(s->exprs[i]);
    free(s->exprs);
    tide_cbatch_free(s->proj);
    tide_cbatch_free(s->plent);
    free(s->failed);
    free(s);
}

/* The generator's string columns: their lengths, and which to fill. */
static int gen_setup(scan *s, tide_err *e)
{
    const tide_node_scan_cfg *c = s->cfg;
    int rc = tide_gen_logins_create(&s->gen, &c->gen, e);
    if (rc != 0)
        return rc;
    if (!s->g_country && !(s->g_country = malloc(s->rows)))
        return tide_err_set(e, TIDE_ENOMEM, "scan: out of memory");
    if (!s->g_device && !(s->g_device = malloc(s->rows)))
        return tide_err_set(e, TIDE_ENOMEM, "scan: out of memory");
    for (uint8_t i = 0; i < TIDE_GEN_LOGINS_COUNTRIES; i++)
        s->country_len[i] = (uint8_t)strlen(tide_gen_logins_country_name(i));
    for (uint8_t i = 0; i < TIDE_GEN_LOGINS_DEVICES; i++)
        s->device_len[i] = (uint8_t)strlen(tide_gen_logins_device_name(i));
    s->fill_country = !(c->unread_cols >> TIDE_NODE_SCAN_LOGINS_COUNTRY & 1);
    s->fill_device = !(c->unread_cols >> TIDE_NODE_SCAN_LOGINS_DEVICE & 1);
    return 0;
}

int tide_node_scan_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self, tide_err *e)
{
    (void)instance;
    const tide_node_scan_cfg *c = cfg;
    *self = NULL;
    if (parallelism != 1)
        return tide_err_set(e, TIDE_EINVAL, "scan: parallelism %u (a scan has one reader)", parallelism);
    if (c->wm_bound < 0)
        return tide_err_set(e, TIDE_EINVAL, "scan: wm_bound %lld < 0", (long long)c->wm_bound);
    if (c->batch_rows > TIDE_CBATCH_MAX_CAPACITY)
        return tide_err_set(e, TIDE_EINVAL, "scan: batch_rows %u too large", c->batch_rows);
    int rc = TIDE_ENOMEM;
    scan *s = calloc(1, sizeof *s);
    if (!s)
        return tide_err_set(e, TIDE_ENOMEM, "scan: out of memory");
    s->cfg = c;
    s->rows = c->batch_rows ? c->batch_rows : 4096;
    s->wm_sent = TIDE_TS_MIN;
    switch (c->kind) {
    case TIDE_NODE_SCAN_GEN_LOGINS:
        if ((rc = logins_schema(&s->own_schema, e)) != 0 || (rc = gen_setup(s, e)) != 0)
            goto fail;
        s->schema = s->own_schema;
        s->nparts = 1;
        break;
    case TIDE_NODE_SCAN_CONNECT:
        if (!c->conn) {
            rc = tide_err_set(e, TIDE_EINVAL, "scan: CONNECT source without a config");
            goto fail;
        }
        if ((rc = tide_src_open(&s->conn, c->conn, e)) != 0)
            goto fail;
        s->schema = tide_src_schema(s->conn);
        s->nparts = tide_src_partitions(s->conn);
        break;
    case TIDE_NODE_SCAN_CALLBACK:
        if (!c->next || !c->schema || !c->partitions) {
            rc = tide_err_set(e, TIDE_EINVAL, "scan: CALLBACK source needs next, schema and partitions");
            goto fail;
        }
        s->schema = c->schema;
        s->nparts = c->partitions;
        break;
    default:
        rc = tide_err_set(e, TIDE_EINVAL, "scan: bad source kind %d", (int)c->kind);
        goto fail;
    }
    const tide_schema *src_schema = s->schema;
    if (c->computed) {
        s->nexprs = (uint32_t)tide_schema_ncols(c->computed);
        if (!c->build || !s->nexprs) {
            rc = tide_err_set(e, TIDE_EINVAL, "scan: computed columns without a build function");
            goto fail;
        }
        if (!(s->exprs = calloc(s->nexprs, sizeof *s->exprs)) || !(s->failed = calloc(s->rows, 1)))
            goto nomem;
        if ((rc = c->build(c->build_ctx, s->exprs, e)) != 0)
            goto fail;
        for (uint32_t j = 0; j < s->nexprs; j++)
            if (!s->exprs[j] || tide_expr_type(s->exprs[j]) != tide_schema_col(c->computed, j)->type) {
                rc = tide_err_set(e, TIDE_EINVAL, "scan: computed column %u is not of its schema's type", j);
                goto fail;
            }
        s->schema = c->computed;
        if (!c->positions) {
            if ((rc = tide_cbatch_view_create(&s->plent, s->schema, NULL, e)) != 0)
                goto fail;
            tide_cbatch_view_keep(s->plent, 0);
        }
    }
    int tc = c->time_col >= 0 ? c->time_col : tide_schema_time_column(s->schema);
    if (tc < 0 || (size_t)tc >= tide_schema_ncols(s->schema) ||
        (tide_schema_col(s->schema, (size_t)tc)->type != TIDE_TYPE_TIMESTAMP &&
         tide_schema_col(s->schema, (size_t)tc)->type != TIDE_TYPE_BIGINT)) {
        rc = tide_err_set(e, TIDE_EINVAL, "scan: time column %d is not a TIMESTAMP/BIGINT column", tc);
        goto fail;
    }
    s->time_col = (uint32_t)tc;
    if (!(s->wgen = calloc(s->nparts ? s->nparts : 1, sizeof *s->wgen)))
        goto nomem;
    for (uint32_t i = 0; i < s->nparts; i++)
        tide_wm_gen_init(&s->wgen[i], c->wm_bound, -1);
    /* (the combiner is made at the first poll, when the flow's clock is
     * known: comb_ready) */
    /* (with computed columns the source rows keep their positions, for the
     * dead letters; the computed rows leave without them unless asked) */
    if ((rc = tide_cbatch_create(&s->in, src_schema, s->rows,
                                 tide_node_scan_flags(c) | (c->computed ? TIDE_CBATCH_POS : 0u), e)) != 0)
        goto fail;
    s->cur = s->in;
    if (c->kind == TIDE_NODE_SCAN_CONNECT && !c->positions) {
        if ((rc = tide_cbatch_view_create(&s->lent, src_schema, NULL, e)) != 0)
            goto fail;
        tide_cbatch_view_keep(s->lent, 0);
    }
    s->iota = malloc((size_t)s->rows * sizeof *s->iota);
    s->sel = malloc((size_t)s->rows * sizeof *s->sel);
    if (!s->iota || !s->sel)
        goto nomem;
    for (uint32_t i = 0; i < s->rows; i++)
        s->iota[i] = i;
    *self = s;
    return 0;
nomem:
    rc = tide_err_set(e, TIDE_ENOMEM, "scan: out of memory");
fail:
    scan_free(s);
    return rc;
}

/* The combiner, made at the first poll (with the flow's clock), from the
 * partitions' watermarks (not TIDE_TS_MIN after a restore). */
static int comb_ready(scan *s, int64_t now, tide_err *e)
{
    if (s->comb)
        return 0;
    int rc = tide_wm_comb_create(s->nparts, s->cfg->idle_timeout_ms, now, &s->comb, e);
    if (rc != 0)
        return rc;
    if (s->cfg->quiet_advance_ms > 0)
        tide_wm_comb_set_quiet_advance(s->comb, s->cfg->quiet_advance_ms);
    for (uint32_t i = 0; i < s->nparts; i++) {
        if (s->wgen[i].ended)
            tide_wm_comb_end(s->comb, i, now);
        else if (s->wgen[i].wm > TIDE_TS_MIN)
            tide_wm_comb_update(s->comb, i, s->wgen[i].wm, now);
    }
    return 0;
}

/* Fill s->in from the generator. */
static int fill_gen(scan *s, int64_t now, tide_err *e)
{
    /* ts and user_id straight into the (empty) batch's columns; the rows
     * are added after, which keeps the values, and their null bytes
     * cleared */
    tide_cbatch *b = s->in;
    tide_cbatch_reset(b);
    uint64_t seq = tide_gen_logins_delivered(s->gen);
    tide_gen_logins_cols cols = {tide_cbatch_col_i64_mut(b, TIDE_NODE_SCAN_LOGINS_TS),
                                 tide_cbatch_col_i64_mut(b, TIDE_NODE_SCAN_LOGINS_USER_ID),
                                 s->fill_country ? s->g_country : NULL, s->g_device, s->rows};
    size_t n = 0;
    int rc = tide_gen_logins_next(s->gen, &cols, s->rows, now, &n, e);
    if (rc != 0)
        return rc;
    if (n == 0)
        return tide_gen_logins_done(s->gen) ? TIDE_SRC_END : TIDE_SRC_NOTHING;
    uint32_t r0 = 0;
    tide_cbatch_add_rows(b, (uint32_t)n, &r0); /* n <= rows, the capacity; r0 = 0 */
    memset(tide_cbatch_nulls_mut(b, TIDE_NODE_SCAN_LOGINS_TS), 0, n);
    memset(tide_cbatch_nulls_mut(b, TIDE_NODE_SCAN_LOGINS_USER_ID), 0, n);
    if (tide_cbatch_has_pos(b))
        for (size_t i = 0; i < n; i++)
            tide_cbatch_set_pos(b, (uint32_t)i, seq + i);
    for (size_t i = 0; (s->fill_country || s->fill_device) && i < n; i++) {
        uint32_t r = (uint32_t)i;
        uint8_t ci = s->g_country[i], di = s->g_device[i];
        if (s->fill_country) {
            const char *c = tide_gen_logins_country_name(ci);
            size_t cl = ci < TIDE_GEN_LOGINS_COUNTRIES ? s->country_len[ci] : strlen(c);
            if ((rc = tide_cbatch_set_str(b, TIDE_NODE_SCAN_LOGINS_COUNTRY, r, c, cl, e)) != 0)
                return rc;
        }
        if (s->fill_device) {
            const char *d = tide_gen_logins_device_name(di);
            size_t dl = di < TIDE_GEN_LOGINS_DEVICES ? s->device_len[di] : strlen(d);
            if ((rc = tide_cbatch_set_str(b, TIDE_NODE_SCAN_LOGINS_DEVICE, r, d, dl, e)) != 0)
                return rc;
        }
    }
    return TIDE_SRC_READY;
}

/* Fill s->cur with rows of one partition (s->in, or a batch the connect
 * source lends).  TIDE_SRC_* or < 0. */
static int scan_fill(scan *s, const tide_node_scan_out *out, uint32_t *part, int64_t now, tide_err *e)
{
    const tide_node_scan_cfg *c = s->cfg;
    *part = 0;
    s->cur = s->in;
    s->borrowed = NULL;
    switch (c->kind) {
    case TIDE_NODE_SCAN_GEN_LOGINS:
        return fill_gen(s, now, e);
    case TIDE_NODE_SCAN_CONNECT: {
        tide_src_batch info = {0};
        tide_cbatch *b = NULL;
        int rc = tide_src_next_lend(s->conn, s->in, &b, &info, e);
        tide_src_stats st;
        tide_src_stats_get(s->conn, &st);
        if (st.dead > s->conn_dead) {
            out->count(out->ctx, TIDE_NODE_BAD, st.dead - s->conn_dead);
            s->conn_dead = st.dead;
        }
        *part = info.partition;
        if (rc == TIDE_SRC_READY && b != s->in) {
            s->borrowed = b;
            s->cur = b;
            if (s->lent) {
                int brc = tide_cbatch_view_bind(s->lent, b, e);
                if (brc != 0)
                    return brc;
                s->cur = s->lent;
            }
        }
        return rc;
    }
    default: {
        tide_cbatch_reset(s->in);
        int rc = c->next(c->ctx, s->in, part, e);
        if (rc == TIDE_SRC_READY && *part >= s->nparts)
            return tide_err_set(e, TIDE_EINVAL, "scan: the source gave partition %u of %u", *part,
                                s->nparts);
        return rc;
    }
    }
}

static int send_wm(scan *s, const tide_node_scan_out *out, int64_t w, tide_err *e)
{
    if (w <= s->wm_sent)
        return 0;
    int rc = out->watermark(out->ctx, w, e);
    if (rc != 0)
        return rc;
    s->wm_sent = w;
    return 0;
}

/* Rows [from, to) of s->cur on port 0. */
static int emit_rows(scan *s, const tide_node_scan_out *out, uint32_t from, uint32_t to, tide_err *e)
{
    if (from >= to)
        return 0;
    bool whole = from == 0 && to == tide_cbatch_rows(s->cur);
    return out->rows(out->ctx, s->cur, whole ? NULL : s->iota + from, to - from, e);
}

/* Dead letters out of s->cur (compacted in place); returns the rows left. */
static int clean(scan *s, const tide_node_scan_out *out, uint32_t part, int64_t now, uint32_t *left, tide_err *e)
{
    const tide_node_scan_cfg *c = s->cfg;
    tide_cbatch *b = s->cur;
    uint32_t n = tide_cbatch_rows(b);
    const uint8_t *nulls = tide_cbatch_nulls(b, s->time_col);
    const int64_t *ts = tide_cbatch_col_i64(b, s->time_col);
    int64_t fb = c->future_bound_ms;
    uint32_t k = 0;
    /* event times outside the TIMESTAMP range (data/types.h) are dead
     * letters too, whatever the source: (uint64_t)(t - MIN) > span is the
     * range test as one compare */
    const uint64_t span = (uint64_t)(TIDE_TS_VALID_SPAN - 1);
#define OUT_OF_RANGE(t) ((uint64_t)(t) - (uint64_t)TIDE_TS_VALID_MIN > span)
    if (fb > 0)
        for (uint32_t i = 0; i < n; i++)
            k += nulls[i] != 0 || OUT_OF_RANGE(ts[i]) || tide_wm_too_far_future(ts[i], now, fb);
    else
        for (uint32_t i = 0; i < n; i++) /* (a loop the compiler vectorises) */
            k += (nulls[i] != 0) | OUT_OF_RANGE(ts[i]);
    *left = n;
    if (k == 0)
        return 0;
    uint32_t m = 0;
    int rc = 0;
    for (uint32_t i = 0; i < n; i++) {
        bool null = nulls[i] != 0, range = !null && OUT_OF_RANGE(ts[i]);
        if (!null && !range && !(fb > 0 && tide_wm_too_far_future(ts[i], now, fb))) {
            s->sel[m++] = i;
            continue;
        }
        if (!c->on_dead || rc != 0)
            continue;
        if (null)
            snprintf(s->reason, sizeof s->reason, "event time is NULL");
        else if (range)
            snprintf(s->reason, sizeof s->reason, "event time %lld: %s", (long long)ts[i], TIDE_TS_RANGE_WHY);
        else
            snprintf(s->reason, sizeof s->reason,
                     "event time %lld is more than %lld ms ahead of processing time %lld",
                     (long long)ts[i], (long long)fb, (long long)now);
        /* (the computed rows with their positions, not the view hiding them) */
        tide_node_scan_dead d = {b == s->plent ? s->proj : b, i, part, null ? 0 : ts[i], s->reason};
        if ((rc = c->on_dead(c->dead_ctx, &d)) != 0)
            rc = tide_err_set(e, rc, "scan: dead-letter callback, partition %u", part);
    }
#undef OUT_OF_RANGE
    out->count(out->ctx, TIDE_NODE_BAD, k);
    if (rc != 0)
        return rc;
    if (b == s->lent) { /* the view's rows are the lent batch's */
        tide_cbatch_compact(s->borrowed, s->sel, m);
        rc = tide_cbatch_view_bind(s->lent, s->borrowed, e);
    } else if (b == s->plent) { /* the computed rows' */
        tide_cbatch_compact(s->proj, s->sel, m);
        rc = tide_cbatch_view_bind(s->plent, s->proj, e);
    } else {
        tide_cbatch_compact(b, s->sel, m);
    }
    *left = m;
    return rc;
}

/* Computed columns: the rows of this poll (the source's own batch, which
 * keeps positions when the source does) into s->proj; rows whose trees
 * fail are dead letters.  s->cur becomes the computed rows. */
static int compute(scan *s, const tide_node_scan_out *out, uint32_t part, tide_err *e)
{
    const tide_node_scan_cfg *c = s->cfg;
    const tide_cbatch *raw = s->borrowed ? s->borrowed : s->in;
    unsigned fl = tide_cbatch_has_pos(raw) ? TIDE_CBATCH_POS : 0;
    uint32_t n = tide_cbatch_rows(raw);
    int rc;
    if (s->proj && (tide_cbatch_has_pos(s->proj) ? TIDE_CBATCH_POS : 0) != fl) {
        tide_cbatch_free(s->proj);
        s->proj = NULL;
    }
    if (!s->proj && (rc = tide_cbatch_create(&s->proj, s->schema, s->rows, fl, e)) != 0)
        return rc;
    tide_cbatch_reset(s->proj);
    if ((rc = tide_expr_project(s->exprs, s->nexprs, raw, NULL, 0, s->proj, e)) != 0)
        return rc;
    if (tide_cbatch_rows(s->proj) != n) { /* some rows failed: name each */
        uint32_t bad = 0;
        memset(s->failed, 0, n);
        for (uint32_t j = 0; j < s->nexprs; j++) {
            const uint8_t *rows = NULL;
            const char *why = NULL;
            if (!tide_expr_faults(s->exprs[j], &rows, &why) || !rows)
                continue;
            for (uint32_t i = 0; i < n; i++)
                if (rows[i] && !s->failed[i]) {
                    s->failed[i] = 1;
                    bad++;
                    if (c->on_dead && rc == 0) {
                        snprintf(s->reason, sizeof s->reason, "computed column %s: %s",
                                 tide_schema_col(s->schema, j)->name, why ? why : "failed");
                        tide_node_scan_dead d = {raw, i, part, 0, s->reason};
                        if ((rc = c->on_dead(c->dead_ctx, &d)) != 0)
                            rc = tide_err_set(e, rc, "scan: dead-letter callback, partition %u", part);
                    }
                }
        }
        out->count(out->ctx, TIDE_NODE_BAD, bad);
        if (rc != 0)
            return rc;
    }
    s->cur = s->proj;
    if (s->plent && tide_cbatch_has_pos(s->proj)) {
        if ((rc = tide_cbatch_view_bind(s->plent, s->proj, e)) != 0)
            return rc;
        s->cur = s->plent;
    }
    return 0;
}

/*
 * The rows of s->cur (one partition's) out, with exact watermarks.
 *
 * Fast path: if the batch's smallest ts is > the watermark that could hold
 * anywhere inside the batch (max(current, max ts - B)), no record can be
 * judged late, so the whole batch goes at once and the new watermark after
 * it.  Otherwise walk the rows keeping the running combined watermark, and
 * cut the batch before each row with ts <= W whose W was not sent yet (a
 * record with ts == W is late for the window ending at ts + 1, which fires
 * at W >= end - 1: DESIGN.md 4).  The
 * running combined watermark never exceeds max(bound, runmax - B) (bound:
 * its value at the last exact evaluation), so the combiner is consulted
 * only for rows below that.
 */
static int scan_process(scan *s, const tide_node_scan_out *out, uint32_t part, int64_t now, tide_err *e)
{
    uint32_t n = 0;
    int rc = clean(s, out, part, now, &n, e);
    if (rc != 0 || n == 0)
        return rc;
    out->count(out->ctx, TIDE_NODE_IN, n);
    const int64_t *ts = tide_cbatch_col_i64(s->cur, s->time_col);
    int64_t B = s->cfg->wm_bound;
    int64_t bmin = ts[0], bmax = ts[0];
    for (uint32_t i = 1; i < n; i++) {
        bmin = ts[i] < bmin ? ts[i] : bmin;
        bmax = ts[i] > bmax ? ts[i] : bmax;
    }
    tide_wm_gen *g = &s->wgen[part];
    int64_t gmax = g->max_ts > bmax ? g->max_ts : bmax;
    int64_t cur = tide_wm_comb_current(s->comb);
    int64_t est = tide_wm_sat_sub(gmax, B);
    est = est > cur ? est : cur;
    if (bmin > est) { /* (ts == W can be late: the window ending at ts + 1 fires at W = ts) */
        tide_wm_gen_accept(g, bmax, now);
        int64_t w = tide_wm_comb_update(s->comb, part, tide_wm_gen_current(g), now);
        if ((rc = emit_rows(s, out, 0, n, e)) != 0)
            return rc;
        return send_wm(s, out, w, e);
    }
    uint32_t seg = 0;
    int64_t runmax = g->max_ts, bound = cur;
    int64_t runlo = tide_wm_sat_sub(runmax, B); /* follows runmax */
    for (uint32_t i = 0; i < n; i++) {
        if (ts[i] <= bound || ts[i] <= runlo) {
            if (runmax > g->max_ts)
                tide_wm_gen_accept(g, runmax, now);
            cur = tide_wm_comb_update(s->comb, part, tide_wm_gen_current(g), now);
            bound = cur;
            if (ts[i] <= cur && cur > s->wm_sent) {
                if ((rc = emit_rows(s, out, seg, i, e)) != 0 || (rc = send_wm(s, out, cur, e)) != 0)
                    return rc;
                out->count(out->ctx, TIDE_NODE_WM_CUTS, 1);
                seg = i;
            }
        }
        if (ts[i] > runmax) {
            runmax = ts[i];
            /* tide_wm_sat_sub, inline: this runs for most rows */
            if (__builtin_sub_overflow(runmax, B, &runlo))
                runlo = TIDE_TS_MIN;
        }
    }
    if (runmax > g->max_ts)
        tide_wm_gen_accept(g, runmax, now);
    cur = tide_wm_comb_update(s->comb, part, tide_wm_gen_current(g), now);
    if ((rc = emit_rows(s, out, seg, n, e)) != 0)
        return rc;
    return send_wm(s, out, cur, e);
}

int tide_node_scan_step(void *self, int64_t now, const tide_node_scan_out *out, tide_err *e)
{
    scan *s = self;
    if (s->ended)
        return 0;
    if (s->cfg->pause && s->cfg->pause(s->cfg->pause_ctx, s->reads))
        return TIDE_EAGAIN;
    int rc = comb_ready(s, now, e);
    if (rc != 0)
        return rc;
    uint32_t part = 0;
    if ((rc = scan_fill(s, out, &part, now, e)) < 0)
        return rc;
    if (rc == TIDE_SRC_END) {
        s->ended = true;
        return 0;
    }
    if (rc == TIDE_SRC_NOTHING) {
        if (s->conn)
            for (uint32_t i = 0; i < s->nparts; i++)
                if (tide_src_ended(s->conn, i))
                    tide_wm_comb_end(s->comb, i, now);
        if ((rc = send_wm(s, out, tide_wm_comb_tick(s->comb, now), e)) != 0)
            return rc;
        return TIDE_EAGAIN;
    }
    if (rc != TIDE_SRC_READY)
        return tide_err_set(e, TIDE_EINVAL, "scan: the source said %d", rc);
    s->reads++;
    if (s->exprs && (rc = compute(s, out, part, e)) != 0)
        return rc;
    if ((rc = scan_process(s, out, part, now, e)) != 0)
        return rc;
    return 1;
}

/* ---- in a flow ---- */

static int node_rows(void *ctx, const tide_cbatch *b, const uint32_t *sel, uint32_t n, tide_err *e)
{
    return tide_node_emit(ctx, 0, b, sel, n, e);
}

static int node_wm(void *ctx, int64_t wm, tide_err *e) { return tide_node_emit_watermark(ctx, wm, e); }

static void node_count(void *ctx, tide_node_counter c, uint64_t n) { tide_node_count(ctx, c, n); }

static int scan_poll(void *self, tide_node_ctx *cx, tide_err *e)
{
    tide_node_scan_out out = {node_rows, node_wm, node_count, cx};
    return tide_node_scan_step(self, tide_clock_now_ms(tide_node_clock(cx)), &out, e);
}

const tide_schema *tide_node_scan_batch_schema(const void *self) { return ((const scan *)self)->schema; }

/* ---- snapshot ---- */

static void position(const scan *s, uint32_t part, tide_src_pos *pos)
{
    memset(pos, 0, sizeof *pos);
    switch (s->cfg->kind) {
    case TIDE_NODE_SCAN_GEN_LOGINS:
        pos->offset = tide_gen_logins_delivered(s->gen);
        break;
    case TIDE_NODE_SCAN_CONNECT:
        tide_src_position(s->conn, part, pos);
        break;
    default:
        if (s->cfg->position)
            s->cfg->position(s->cfg->ctx, part, pos);
        break;
    }
}

static int scan_snapshot(void *self, int64_t id, tide_buf *out, tide_err *e)
{
    (void)id;
    scan *s = self;
    tide_snap_w w;
    tide_snap_begin(&w, out, SNAP_KIND, SNAP_VERSION);
    tide_snap_put_u32(&w, (uint32_t)s->cfg->kind);
    tide_snap_put_u32(&w, s->nparts);
    for (uint32_t i = 0; i < s->nparts; i++) {
        tide_src_pos pos;
        position(s, i, &pos);
        tide_snap_put_u64(&w, pos.offset);
        tide_snap_put_u64(&w, pos.line);
        tide_snap_put_bool(&w, pos.turn);
        const tide_wm_gen *g = &s->wgen[i];
        tide_snap_put_i64(&w, g->max_ts);
        tide_snap_put_i64(&w, g->wm);
        tide_snap_put_bool(&w, g->ended);
    }
    tide_snap_put_i64(&w, s->comb ? tide_wm_comb_current(s->comb) : TIDE_TS_MIN);
    tide_snap_put_i64(&w, s->wm_sent);
    tide_snap_put_bool(&w, s->ended);
    return tide_snap_end(&w, e);
}

/* The generator to event `n` (it is fresh: restore comes first). */
static int gen_skip(scan *s, uint64_t n, tide_err *e)
{
    uint64_t at = tide_gen_logins_delivered(s->gen);
    if (n < at)
        return tide_err_set(e, TIDE_EINVAL, "scan restore: the generator is past event %llu",
                            (unsigned long long)n);
    return tide_gen_logins_skip(s->gen, n - at, e);
}

static int scan_restore(void *self, const void *buf, size_t len, tide_err *e)
{
    scan *s = self;
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, SNAP_KIND, SNAP_VERSION, NULL, e);
    if (rc != 0)
        return rc;
    uint32_t kind = tide_snap_get_u32(&r), nparts = tide_snap_get_u32(&r);
    if (!tide_snap_failed(&r) && (kind != (uint32_t)s->cfg->kind || nparts != s->nparts))
        return tide_err_set(e, TIDE_EINVAL,
                            "scan restore: the snapshot is of a source of kind %u with %u partitions, "
                            "this one is of kind %u with %u",
                            kind, nparts, (unsigned)s->cfg->kind, s->nparts);
    tide_src_pos *pos = calloc(s->nparts ? s->nparts : 1, sizeof *pos);
    if (!pos)
        return tide_err_set(e, TIDE_ENOMEM, "scan restore: out of memory");
    for (uint32_t i = 0; i < s->nparts; i++) {
        pos[i].offset = tide_snap_get_u64(&r);
        pos[i].line = tide_snap_get_u64(&r);
        pos[i].turn = tide_snap_get_bool(&r);
        tide_wm_gen *g = &s->wgen[i];
        g->max_ts = tide_snap_get_i64(&r);
        g->wm = tide_snap_get_i64(&r);
        g->ended = tide_snap_get_bool(&r);
    }
    int64_t comb_wm = tide_snap_get_i64(&r);
    s->wm_sent = tide_snap_get_i64(&r);
    s->ended = tide_snap_get_bool(&r);
    (void)comb_wm; /* (the combiner cannot be set to it: see node_scan.h) */
    if ((rc = tide_snap_close(&r, e)) != 0)
        goto done;
    /* the source back to the positions */
    switch (s->cfg->kind) {
    case TIDE_NODE_SCAN_GEN_LOGINS:
        rc = gen_skip(s, pos[0].offset, e);
        break;
    case TIDE_NODE_SCAN_CONNECT:
        for (uint32_t i = 0; i < s->nparts && rc == 0; i++)
            rc = tide_src_seek(s->conn, i, &pos[i], e);
        break;
    default:
        for (uint32_t i = 0; i < s->nparts && rc == 0; i++) {
            if (!s->cfg->seek)
                rc = tide_err_set(e, TIDE_EUNSUPPORTED, "scan restore: the callback source cannot seek");
            else if ((rc = s->cfg->seek(s->cfg->ctx, i, &pos[i], e)) != 0 && !tide_err_failed(e))
                tide_err_set(e, rc, "scan restore: seeking partition %u", i);
        }
        break;
    }
    if (rc != 0)
        goto done;
    /* the combiner is made again from the partitions' watermarks at the
     * first poll */
    tide_wm_comb_free(s->comb);
    s->comb = NULL;
done:
    free(pos);
    return rc;
}

const tide_node_vt tide_node_scan_vt = {
    .kind = "scan",
    .poll = scan_poll,
    .snapshot = scan_snapshot,
    .restore = scan_restore,
    .free = scan_free,
};

/* ---- a snapshot's positions ---- */

int tide_node_scan_positions(const void *snap, size_t len, uint64_t *offs, uint32_t cap, uint32_t *n,
                             int64_t *max_ts, int64_t *wm, tide_err *e)
{
    tide_snap_r r;
    int rc = tide_snap_open(&r, snap, len, SNAP_KIND, SNAP_VERSION, NULL, e);
    if (rc != 0)
        return rc;
    (void)tide_snap_get_u32(&r);
    uint32_t nparts = tide_snap_get_u32(&r);
    if (tide_snap_failed(&r) || nparts > (1u << 16))
        return tide_err_set(e, TIDE_ECORRUPT, "scan snapshot: damaged");
    int64_t mx = TIDE_TS_MIN;
    for (uint32_t i = 0; i < nparts; i++) {
        uint64_t off = tide_snap_get_u64(&r);
        (void)tide_snap_get_u64(&r);
        (void)tide_snap_get_bool(&r);
        int64_t m = tide_snap_get_i64(&r);
        (void)tide_snap_get_i64(&r);
        (void)tide_snap_get_bool(&r);
        if (i < cap)
            offs[i] = off;
        if (m > mx)
            mx = m;
    }
    (void)tide_snap_get_i64(&r);
    int64_t sent = tide_snap_get_i64(&r);
    (void)tide_snap_get_bool(&r);
    if (tide_snap_failed(&r))
        return tide_err_set(e, TIDE_ECORRUPT, "scan snapshot: damaged");
    *n = nparts;
    *max_ts = mx;
    *wm = sent;
    return 0;
}

/* ---- describing a snapshot ---- */

int tide_node_scan_describe(const tide_node_scan_cfg *c, const void *snap, size_t len, tide_buf *out,
                            int64_t *wm, tide_err *e)
{
    tide_snap_r r;
    int rc = tide_snap_open(&r, snap, len, SNAP_KIND, SNAP_VERSION, NULL, e);
    if (rc != 0)
        return rc;
    uint32_t kind = tide_snap_get_u32(&r), nparts = tide_snap_get_u32(&r);
    if (tide_snap_failed(&r) || nparts > (1u << 16))
        return tide_err_set(e, TIDE_ECORRUPT, "scan snapshot: damaged");
    const tide_src_config *sc = kind == TIDE_NODE_SCAN_CONNECT ? c->conn : NULL;
    if (sc && sc->kind == TIDE_SRC_FILE)
        rc = tide_buf_printf(out, "%s", sc->path ? sc->path : "file");
    else if (sc && sc->kind == TIDE_SRC_TOPIC)
        rc = tide_buf_printf(out, "topic %s", sc->topic ? sc->topic : "?");
    else if (sc && sc->kind == TIDE_SRC_STDIN)
        rc = tide_buf_printf(out, "stdin");
    else if (kind == TIDE_NODE_SCAN_CALLBACK)
        rc = tide_buf_printf(out, "callback");
    else
        rc = tide_buf_printf(out, "logins generator");
    uint64_t *offs = calloc(nparts ? nparts : 1, sizeof *offs), first_off = 0;
    if (!offs)
        return tide_err_set(e, TIDE_ENOMEM, "scan snapshot: out of memory");
    for (uint32_t i = 0; i < nparts && rc == 0; i++) {
        uint64_t off = tide_snap_get_u64(&r), line = tide_snap_get_u64(&r);
        offs[i] = off;
        if (i == 0)
            first_off = off;
        (void)tide_snap_get_bool(&r);
        (void)tide_snap_get_i64(&r);
        (void)tide_snap_get_i64(&r);
        bool ended = tide_snap_get_bool(&r);
        const char *sep = nparts > 1 ? (i ? ", " : " [") : " ";
        if (sc && (sc->kind == TIDE_SRC_FILE || sc->kind == TIDE_SRC_STDIN))
            rc = tide_buf_printf(out, "%sbyte %llu line %llu", sep, (unsigned long long)off,
                                 (unsigned long long)line);
        else if (sc && sc->kind == TIDE_SRC_TOPIC)
            rc = tide_buf_printf(out, "%s%u@%llu", sep, i, (unsigned long long)off);
        else
            rc = tide_buf_printf(out, "%sevent %llu", sep, (unsigned long long)off);
        if (rc == 0 && ended)
            rc = tide_buf_printf(out, " (ended)");
    }
    if (rc == 0 && nparts > 1)
        rc = tide_buf_printf(out, "]");
    /* the lag: what the input holds beyond the position, now */
    if (rc == 0 && sc && sc->kind == TIDE_SRC_FILE && sc->path && nparts == 1) {
        struct stat sb;
        if (stat(sc->path, &sb) == 0 && (uint64_t)sb.st_size >= first_off)
            rc = tide_buf_printf(out, " (lag %llu bytes)", (unsigned long long)((uint64_t)sb.st_size - first_off));
    } else if (rc == 0 && sc && sc->kind == TIDE_SRC_TOPIC && sc->topic) {
        tide_partition_info *pi = NULL;
        uint32_t np = 0;
        tide_err le = {0};
        if (tide_topic_describe(sc->datadir ? sc->datadir : tide_data_dir(NULL), sc->topic, &pi, &np, &le) == 0 &&
            np == nparts) {
            uint64_t lag = 0;
            for (uint32_t i = 0; i < np; i++)
                lag += pi[i].next_offset > offs[i] ? pi[i].next_offset - offs[i] : 0;
            rc = tide_buf_printf(out, " (lag %llu records)", (unsigned long long)lag);
        }
        free(pi);
    }
    (void)tide_snap_get_i64(&r);
    int64_t sent = tide_snap_get_i64(&r);
    (void)tide_snap_get_bool(&r);
    free(offs);
    if (tide_snap_failed(&r))
        return tide_err_set(e, TIDE_ECORRUPT, "scan snapshot: damaged");
    if (rc != 0)
        return tide_err_set(e, TIDE_ENOMEM, "scan snapshot: out of memory");
    *wm = sent;
    return 0;
}
