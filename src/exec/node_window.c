/*
 * node_window.c - the window TVF node (see node_window.h).
 *
 * A batch is expanded in two passes per chunk of output rows: first the
 * plan (for each output row its input row and window), then the columns,
 * one at a time (the copy loops stay typed and tight; strings are copied
 * into the output batch's arena).
 */
#include "exec/node_window.h"

#include "tide.h"

#include <stdlib.h>
#include <string.h>

#define OUT_ROWS 1024

typedef struct wnode {
    const tide_node_window_cfg *cfg;
    tide_schema *schema; /* port 0 */
    tide_cbatch *out;
    tide_win_range *ranges; /* one row's windows */
    uint32_t *src;          /* per output row of a chunk: its input row */
    tide_win_range *win;    /* and its window */
} wnode;

static int check_cfg(const tide_node_window_cfg *c, tide_err *e)
{
    if (!c || !c->in)
        return tide_err_set(e, TIDE_EINVAL, "window node: no input schema");
    if (c->time_col >= tide_schema_ncols(c->in))
        return tide_err_set(e, TIDE_EINVAL, "window node: time_col %u out of range", c->time_col);
    tide_type t = tide_schema_col(c->in, c->time_col)->type;
    if (t != TIDE_TYPE_TIMESTAMP && t != TIDE_TYPE_BIGINT)
        return tide_err_set(e, TIDE_EINVAL, "window node: time column %s is %s, not a TIMESTAMP",
                            tide_schema_col(c->in, c->time_col)->name, tide_type_name(t));
    tide_win_kind k = c->window.kind;
    if (k != TIDE_WIN_TUMBLE && k != TIDE_WIN_HOP && k != TIDE_WIN_CUMULATE)
        return tide_err_set(e, TIDE_EINVAL, "window node: %s windows are not a row's own (TUMBLE, "
                            "HOP or CUMULATE only)", tide_win_kind_name(k));
    return tide_win_spec_check(&c->window, e);
}

int tide_node_window_schema(const tide_node_window_cfg *c, uint32_t port, tide_schema **out,
                            tide_err *e)
{
    *out = NULL;
    int rc = check_cfg(c, e);
    if (rc)
        return rc;
    if (port != 0)
        return tide_err_set(e, TIDE_EINVAL, "window node: no output port %u", port);
    tide_schema *s = NULL;
    if ((rc = tide_schema_create(&s, e)) != 0)
        return rc;
    size_t n = tide_schema_ncols(c->in);
    for (size_t i = 0; i < n && !rc; i++) {
        const tide_column *col = tide_schema_col(c->in, i);
        rc = tide_schema_add_n(s, col->name, col->name_len, col->type, col->nullable, e);
    }
    if (!rc)
        rc = tide_schema_add(s, "window_start", TIDE_TYPE_TIMESTAMP, false, e);
    if (!rc)
        rc = tide_schema_add(s, "window_end", TIDE_TYPE_TIMESTAMP, false, e);
    if (!rc)
        rc = tide_schema_add(s, "window_time", TIDE_TYPE_TIMESTAMP, false, e);
    if (!rc)
        rc = tide_schema_set_time_column(s, (int)n + 2, e);
    if (rc) {
        tide_schema_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void wnode_free(void *self)
{
    wnode *w = self;
    if (!w)
        return;
    tide_cbatch_free(w->out);
    tide_schema_free(w->schema);
    free(w->ranges);
    free(w->src);
    free(w->win);
    free(w);
}

int tide_node_window_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self,
                          tide_err *e)
{
    (void)instance;
    (void)parallelism;
    const tide_node_window_cfg *c = cfg;
    *self = NULL;
    wnode *w = calloc(1, sizeof *w);
    if (!w)
        return tide_err_set(e, TIDE_ENOMEM, "window node: out of memory");
    w->cfg = c;
    int rc = tide_node_window_schema(c, 0, &w->schema, e);
    if (!rc)
        rc = tide_cbatch_create(&w->out, w->schema, OUT_ROWS, w->cfg->in_flags & TIDE_CBATCH_OPS, e);
    if (!rc) {
        w->ranges = malloc(tide_win_max_windows(&c->window) * sizeof *w->ranges);
        w->src = malloc(OUT_ROWS * sizeof *w->src);
        w->win = malloc(OUT_ROWS * sizeof *w->win);
        if (!w->ranges || !w->src || !w->win)
            rc = tide_err_set(e, TIDE_ENOMEM, "window node: out of memory");
    }
    if (rc) {
        wnode_free(w);
        return rc;
    }
    *self = w;
    return 0;
}

/* Fill w->out with the n planned rows (w->src, w->win) of b. */
static int fill(wnode *w, const tide_cbatch *b, uint32_t n, tide_err *e)
{
    tide_cbatch *o = w->out;
    uint32_t first;
    tide_cbatch_reset(o);
    if (tide_cbatch_add_rows(o, n, &first) != 0)
        return tide_err_set(e, TIDE_ERANGE, "window node: output batch overflow");
    uint32_t nc = tide_cbatch_ncols(b);
    for (uint32_t c = 0; c < nc; c++) {
        const uint8_t *sn = tide_cbatch_nulls(b, c);
        uint8_t *dn = tide_cbatch_nulls_mut(o, c);
        for (uint32_t j = 0; j < n; j++)
            dn[j] = sn[w->src[j]];
        switch (tide_type_base(tide_cbatch_type(b, c))) {
        case TIDE_TYPE_DECIMAL: {
            const tide_i128 *s = tide_cbatch_col_dec(b, c);
            for (uint32_t j = 0; j < n; j++)
                if (!dn[j])
                    tide_cbatch_set_dec(o, c, j, s[w->src[j]]);
            break;
        }
        case TIDE_TYPE_BOOLEAN: {
            const bool *s = tide_cbatch_col_bool(b, c);
            for (uint32_t j = 0; j < n; j++)
                if (!dn[j])
                    tide_cbatch_set_bool(o, c, j, s[w->src[j]]);
            break;
        }
        case TIDE_TYPE_DOUBLE: {
            const double *s = tide_cbatch_col_f64(b, c);
            for (uint32_t j = 0; j < n; j++)
                if (!dn[j])
                    tide_cbatch_set_f64(o, c, j, s[w->src[j]]);
            break;
        }
        case TIDE_TYPE_STRING: {
            const tide_str *s = tide_cbatch_col_str(b, c);
            for (uint32_t j = 0; j < n; j++) {
                if (dn[j])
                    continue;
                tide_str x = s[w->src[j]];
                int rc = tide_cbatch_set_str(o, c, j, x.ptr, x.len, e);
                if (rc)
                    return rc;
            }
            break;
        }
        default: {
            const int64_t *s = tide_cbatch_col_i64(b, c);
            int64_t *d = tide_cbatch_col_i64_mut(o, c);
            for (uint32_t j = 0; j < n; j++)
                d[j] = s[w->src[j]]; /* the value slot of a NULL is garbage anyway */
            break;
        }
        }
    }
    for (uint32_t j = 0; j < n; j++) {
        int64_t end = w->win[j].end;
        tide_cbatch_set_i64(o, nc, j, w->win[j].start);
        tide_cbatch_set_i64(o, nc + 1, j, end);
        tide_cbatch_set_i64(o, nc + 2, j, end == TIDE_TS_MIN ? end : end - 1);
        tide_cbatch_set_op(o, j, tide_cbatch_op(b, w->src[j]));
    }
    return 0;
}

static int wnode_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel,
                       uint32_t n, tide_node_ctx *cx, tide_err *e)
{
    (void)in;
    wnode *w = self;
    const tide_node_window_cfg *c = w->cfg;
    if (tide_cbatch_ncols(b) + 3 != tide_cbatch_ncols(w->out))
        return tide_err_set(e, TIDE_EINVAL, "window node: a batch of %u columns, not %zu",
                            tide_cbatch_ncols(b), tide_schema_ncols(c->in));
    const uint8_t *tn = tide_cbatch_nulls(b, c->time_col);
    const int64_t *tv = tide_cbatch_col_i64(b, c->time_col);
    uint32_t planned = 0;
    int rc = 0;
    for (uint32_t i = 0; i < n && !rc; i++) {
        uint32_t r = sel ? sel[i] : i;
        if (tn[r])
            continue;
        size_t nw = tide_win_assign(&c->window, tv[r], w->ranges);
        for (size_t k = 0; k < nw && !rc; k++) {
            if (planned == OUT_ROWS) {
                if ((rc = fill(w, b, planned, e)) == 0)
                    rc = tide_node_emit(cx, 0, w->out, NULL, planned, e);
                planned = 0;
            }
            w->src[planned] = r;
            w->win[planned] = w->ranges[k];
            planned++;
        }
    }
    if (!rc && planned) {
        if ((rc = fill(w, b, planned, e)) == 0)
            rc = tide_node_emit(cx, 0, w->out, NULL, planned, e);
    }
    return rc;
}

const tide_node_vt tide_node_window_vt = {
    .kind = "window",
    .batch = wnode_batch,
    .free = wnode_free,
};
