/*
 * fanin.c - combining branch pipelines (see fanin.h).
 *
 * Each branch holds its rows encoded back to back in one byte buffer:
 *   tag (int64), op (u8), JOIN only: match (u8: 0 when a key column is NULL
 *   or NaN) and the join key (u32 length + the key columns encoded by
 *   data/key.h, so that rows sort and match by memcmp of it), then per
 *   value: type (u8), null (u8) and the payload (8 bytes; STRING: u32
 *   length + bytes).
 * Rows pushed since the branch's last report have tag TIDE_TS_MAX until the
 * next report sets it.  Releasing decodes the released rows into a value
 * array, emits, and compacts the buffer.
 */
#include "job/fanin.h"

#include "base/buf.h"
#include "data/key.h"
#include "tide.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct branch {
    tide_buf rows;
    size_t untagged; /* offset of the first row without its tag */
    uint64_t nrows;
    int64_t wm;
    bool reported;
} branch;

/* A row's join key: its data/key.h bytes (in the branch's buffer). */
typedef struct rkey {
    const unsigned char *p;
    uint32_t len;
    bool match; /* false: a NULL or NaN key column, equal to nothing */
} rkey;

/* A decoded row of a release. */
typedef struct drow {
    tide_value *v;
    uint64_t seq;
    int64_t end;
    tide_op op;
    rkey key;
} drow;

struct tide_fanin {
    tide_fanin_config cfg;
    pthread_mutex_t mu;
    branch br[TIDE_FANIN_MAX_BRANCHES];
    int64_t minwm;
    uint64_t held;
    tide_err err;     /* first emit failure */
    tide_buf keep;    /* scratch: the rows kept by a release */
    tide_value *vals; /* decoded values of a release */
    size_t capvals;
    drow *rs[2];
    size_t caprs[2];
    tide_pipe *const *pipes;
    uint32_t npipes;
    bool cancelled;
};

/* ---- encoding ---- */

static int put_u8(tide_buf *b, uint8_t x)
{
    return tide_buf_putc(b, (char)x);
}

/* The join key of branch `side`'s row v (JOIN). */
static int key_encode(const tide_fanin *f, uint32_t side, tide_buf *b, const tide_value *v)
{
    const uint32_t *cols = f->cfg.key_cols[side];
    bool match = true;
    for (uint32_t k = 0; k < f->cfg.nkeys; k++) {
        const tide_value *x = &v[cols[k]];
        if (x->is_null || x->type == TIDE_TYPE_NULL ||
            (x->type == TIDE_TYPE_DOUBLE && isnan(x->u.f64)))
            match = false;
    }
    size_t len = tide_key_values_size(v, cols, f->cfg.nkeys);
    if (len > UINT32_MAX || tide_buf_reserve(b, 5 + len))
        return TIDE_ENOMEM;
    uint32_t l32 = (uint32_t)len;
    unsigned char *d = b->data + b->len;
    d[0] = match;
    memcpy(d + 1, &l32, 4);
    tide_key_values_put(v, cols, f->cfg.nkeys, d + 5);
    b->len += 5 + len;
    return 0;
}

static int row_encode(tide_fanin *f, uint32_t branch, tide_op op, const tide_value *v)
{
    tide_buf *b = &f->br[branch].rows;
    uint32_t n = f->cfg.ncols[branch];
    int64_t tag = TIDE_TS_MAX;
    int rc = tide_buf_append(b, &tag, 8);
    if (!rc)
        rc = put_u8(b, (uint8_t)op);
    if (!rc && f->cfg.mode == TIDE_FANIN_JOIN)
        rc = key_encode(f, branch, b, v);
    for (uint32_t i = 0; i < n && !rc; i++) {
        bool null = v[i].is_null || v[i].type == TIDE_TYPE_NULL;
        rc = put_u8(b, (uint8_t)v[i].type);
        if (!rc)
            rc = put_u8(b, null);
        if (rc || null)
            continue;
        switch (v[i].type) {
        case TIDE_TYPE_STRING: {
            uint32_t len = v[i].u.s.len;
            rc = tide_buf_append(b, &len, 4);
            if (!rc && len)
                rc = tide_buf_append(b, v[i].u.s.ptr, len);
            break;
        }
        case TIDE_TYPE_BOOLEAN: {
            int64_t x = v[i].u.b;
            rc = tide_buf_append(b, &x, 8);
            break;
        }
        case TIDE_TYPE_DOUBLE:
            rc = tide_buf_append(b, &v[i].u.f64, 8);
            break;
        default:
            rc = tide_buf_append(b, &v[i].u.i64, 8);
            break;
        }
    }
    return rc;
}

/* Decode the row at p (n values into out); returns the row's size. */
#define MARK 255 /* a marker row: a watermark report (cfg.marks), no values */

static size_t row_decode(const tide_fanin *f, const unsigned char *p, uint32_t n, int64_t *tag,
                         tide_op *op, tide_value *out, rkey *key)
{
    const unsigned char *q = p;
    memcpy(tag, q, 8);
    q += 8;
    if (*q == MARK) {
        *op = (tide_op)MARK;
        return 9;
    }
    *op = (tide_op)*q++;
    if (f->cfg.mode == TIDE_FANIN_JOIN) {
        uint32_t len;
        memcpy(&len, q + 1, 4);
        if (key)
            *key = (rkey){q + 5, len, q[0] != 0};
        q += 5 + len;
    }
    for (uint32_t i = 0; i < n; i++) {
        tide_value v = {.type = (tide_type)q[0]};
        bool null = q[1] != 0;
        q += 2;
        if (null) {
            v.is_null = true;
        } else if (v.type == TIDE_TYPE_STRING) {
            uint32_t len;
            memcpy(&len, q, 4);
            v.u.s.ptr = (const char *)q + 4;
            v.u.s.len = len;
            q += 4 + len;
        } else if (v.type == TIDE_TYPE_BOOLEAN) {
            int64_t x;
            memcpy(&x, q, 8);
            v.u.b = x != 0;
            q += 8;
        } else if (v.type == TIDE_TYPE_DOUBLE) {
            memcpy(&v.u.f64, q, 8);
            q += 8;
        } else {
            memcpy(&v.u.i64, q, 8);
            q += 8;
        }
        if (out)
            out[i] = v;
    }
    return (size_t)(q - p);
}

/* ---- create / free ---- */

int tide_fanin_create(tide_fanin **out, const tide_fanin_config *cfg, tide_err *e)
{
    *out = NULL;
    if (cfg->branches < 1 || cfg->branches > TIDE_FANIN_MAX_BRANCHES)
        return tide_err_set(e, TIDE_EINVAL, "fan-in: branches must be 1..%d, not %u",
                            TIDE_FANIN_MAX_BRANCHES, cfg->branches);
    if (cfg->mode == TIDE_FANIN_JOIN) {
        if (cfg->branches != 2)
            return tide_err_set(e, TIDE_EINVAL, "fan-in: a join has 2 branches, not %u",
                                cfg->branches);
        if (cfg->nkeys > TIDE_FANIN_MAX_KEYS)
            return tide_err_set(e, TIDE_EINVAL, "fan-in: at most %d join keys",
                                TIDE_FANIN_MAX_KEYS);
        for (int s = 0; s < 2; s++) {
            if (cfg->end_col[s] >= cfg->ncols[s])
                return tide_err_set(e, TIDE_EINVAL, "fan-in: end_col[%d] %u out of range", s,
                                    cfg->end_col[s]);
            for (uint32_t k = 0; k < cfg->nkeys; k++)
                if (cfg->key_cols[s][k] >= cfg->ncols[s])
                    return tide_err_set(e, TIDE_EINVAL, "fan-in: key_cols[%d][%u] out of range", s,
                                        k);
        }
    } else if (cfg->mode != TIDE_FANIN_UNION) {
        return tide_err_set(e, TIDE_EINVAL, "fan-in: unknown mode %d", (int)cfg->mode);
    }
    tide_fanin *f = calloc(1, sizeof *f);
    if (!f)
        return tide_err_set(e, TIDE_ENOMEM, "fan-in: out of memory");
    if (pthread_mutex_init(&f->mu, NULL) != 0) {
        free(f);
        return tide_err_set(e, TIDE_ENOMEM, "fan-in: mutex");
    }
    f->cfg = *cfg;
    f->minwm = TIDE_TS_MIN;
    for (uint32_t b = 0; b < cfg->branches; b++)
        f->br[b].wm = TIDE_TS_MIN;
    *out = f;
    return 0;
}

void tide_fanin_free(tide_fanin *f)
{
    if (!f)
        return;
    for (uint32_t b = 0; b < f->cfg.branches; b++)
        tide_buf_free(&f->br[b].rows);
    tide_buf_free(&f->keep);
    free(f->vals);
    free(f->rs[0]);
    free(f->rs[1]);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* ---- releasing ---- */

static int emit_fail(tide_fanin *f, int rc, const char *what)
{
    if (!f->err.code)
        tide_err_set(&f->err, rc, "fan-in: %s failed", what);
    return rc;
}

static int emit(tide_fanin *f, const tide_fanin_out *o)
{
    int rc = f->cfg.emit ? f->cfg.emit(f->cfg.ctx, o) : 0;
    if (rc) {
        if (!f->err.code)
            tide_err_set(&f->err, rc, "fan-in: output failed (%s)", tide_strerror(rc));
        return rc;
    }
    return 0;
}

static int grow_vals(tide_fanin *f, size_t n)
{
    return tide_array_grow((void **)&f->vals, &f->capvals, n ? n : 1, sizeof *f->vals);
}

/* UNION: rows with tag <= M, by (tag, branch, order). */
static int release_union(tide_fanin *f, int64_t m)
{
    uint32_t nb = f->cfg.branches;
    size_t pos[TIDE_FANIN_MAX_BRANCHES] = {0};
    uint32_t maxc = 0;
    for (uint32_t b = 0; b < nb; b++)
        if (f->cfg.ncols[b] > maxc)
            maxc = f->cfg.ncols[b];
    if (grow_vals(f, maxc))
        return emit_fail(f, TIDE_ENOMEM, "release");
    int rc = 0;
    for (;;) {
        int64_t t = TIDE_TS_MAX;
        bool any = false;
        for (uint32_t b = 0; b < nb; b++) {
            branch *br = &f->br[b];
            if (pos[b] >= br->untagged)
                continue;
            int64_t tag;
            memcpy(&tag, br->rows.data + pos[b], 8);
            if (tag <= m && (!any || tag < t)) {
                t = tag;
                any = true;
            }
        }
        if (!any)
            break;
        for (uint32_t b = 0; b < nb && !rc; b++) {
            branch *br = &f->br[b];
            while (pos[b] < br->untagged && !rc) {
                int64_t tag;
                tide_op op;
                memcpy(&tag, br->rows.data + pos[b], 8);
                if (tag != t)
                    break;
                pos[b] += row_decode(f, br->rows.data + pos[b], f->cfg.ncols[b], &tag, &op, f->vals,
                                     NULL);
                if ((int)op == MARK) {
                    tide_fanin_out o = {true, TIDE_OP_INSERT, b, NULL, NULL, tag};
                    rc = emit(f, &o);
                    continue;
                }
                f->held--;
                tide_fanin_out o = {false, op, b, f->vals, NULL, m};
                rc = emit(f, &o);
            }
        }
        if (rc)
            break;
    }
    for (uint32_t b = 0; b < nb; b++) {
        branch *br = &f->br[b];
        if (pos[b] == 0)
            continue;
        memmove(br->rows.data, br->rows.data + pos[b], br->rows.len - pos[b]);
        br->rows.len -= pos[b];
        br->untagged -= pos[b];
    }
    return rc;
}

/* (end, key) of a left row vs a right row; NULL keys sort first. */
static int match_cmp(const drow *l, const drow *r)
{
    if (l->end != r->end)
        return l->end < r->end ? -1 : 1;
    return tide_key_cmp(l->key.p, l->key.len, r->key.p, r->key.len);
}

/* Sorting one side: a stable merge sort by (end, key), ties in push order. */
static int side_cmp(const drow *a, const drow *b)
{
    int c = match_cmp(a, b);
    if (c)
        return c;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

static void side_sort(drow *a, drow *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    side_sort(a, tmp, h);
    side_sort(a + h, tmp, n - h);
    size_t i = 0, j = h, o = 0;
    while (i < h && j < n)
        tmp[o++] = side_cmp(&a[j], &a[i]) < 0 ? a[j++] : a[i++];
    while (i < h)
        tmp[o++] = a[i++];
    while (j < n)
        tmp[o++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

/* Collect side s's rows whose window fired under watermark m (end - 1 <= m,
 * time/trigger.h) into f->rs[s] (values decoded into f->vals from voff on),
 * moving the others to the scratch buffer. */
static int collect(tide_fanin *f, int s, int64_t m, size_t *nout, size_t *voff)
{
    branch *br = &f->br[s];
    uint32_t nc = f->cfg.ncols[s];
    size_t n = 0, pos = 0, seq = 0;
    /* count first: values are decoded into one array whose pointers must stay valid */
    while (pos < br->rows.len) {
        int64_t tag;
        tide_op op;
        size_t sz = row_decode(f, br->rows.data + pos, nc, &tag, &op, NULL, NULL);
        pos += sz;
        n++;
    }
    if (tide_array_grow((void **)&f->rs[s], &f->caprs[s], 2 * (n ? n : 1), sizeof *f->rs[s]) ||
        grow_vals(f, *voff + n * nc))
        return TIDE_ENOMEM;
    *nout = 0;
    pos = 0;
    tide_buf_reset(&f->keep);
    while (pos < br->rows.len) {
        int64_t tag;
        tide_op op;
        tide_value *v = f->vals + *voff;
        const unsigned char *p = br->rows.data + pos;
        rkey key;
        size_t sz = row_decode(f, p, nc, &tag, &op, v, &key);
        const tide_value *ev = &v[f->cfg.end_col[s]];
        int64_t end = ev->is_null ? TIDE_TS_MIN : ev->u.i64;
        pos += sz;
        seq++;
        if (tide_trig_due(end, m)) {
            f->rs[s][(*nout)++] = (drow){v, seq, end, op, key};
            *voff += nc;
        } else if (tide_buf_append(&f->keep, p, sz)) {
            return TIDE_ENOMEM;
        }
    }
    return 0;
}

/* Finish a join release: side s keeps only the rows in f->keep. */
static int keep_rest(tide_fanin *f, int s)
{
    branch *br = &f->br[s];
    tide_buf_reset(&br->rows);
    if (f->keep.len && tide_buf_append(&br->rows, f->keep.data, f->keep.len))
        return TIDE_ENOMEM;
    br->untagged = br->rows.len;
    return 0;
}

static int release_join(tide_fanin *f, int64_t m)
{
    size_t n[2], voff = 0;
    /* f->vals must not move between the two collects: size it for both */
    size_t total = 0;
    for (int s = 0; s < 2; s++) {
        size_t pos = 0, cnt = 0;
        while (pos < f->br[s].rows.len) {
            int64_t tag;
            tide_op op;
            pos += row_decode(f, f->br[s].rows.data + pos, f->cfg.ncols[s], &tag, &op, NULL, NULL);
            cnt++;
        }
        total += cnt * f->cfg.ncols[s];
    }
    if (grow_vals(f, total))
        return emit_fail(f, TIDE_ENOMEM, "join");
    tide_buf rest[2] = {{0}, {0}};
    int rc = 0;
    for (int s = 0; s < 2 && !rc; s++) {
        if ((rc = collect(f, s, m, &n[s], &voff)) != 0)
            break;
        /* stash this side's kept rows; f->keep is reused by the other side */
        if (f->keep.len && tide_buf_append(&rest[s], f->keep.data, f->keep.len))
            rc = TIDE_ENOMEM;
    }
    if (rc) {
        tide_buf_free(&rest[0]);
        tide_buf_free(&rest[1]);
        return emit_fail(f, rc, "join");
    }
    for (int s = 0; s < 2; s++)
        side_sort(f->rs[s], f->rs[s] + n[s], n[s]);
    size_t i = 0, j = 0;
    while (i < n[0] && j < n[1] && !rc) {
        drow *l = &f->rs[0][i], *r = &f->rs[1][j];
        int d = match_cmp(l, r);
        if (d < 0) {
            i++;
            continue;
        }
        if (d > 0) {
            j++;
            continue;
        }
        size_t i2 = i, j2 = j;
        while (i2 < n[0] && match_cmp(&f->rs[0][i2], r) == 0)
            i2++;
        while (j2 < n[1] && match_cmp(l, &f->rs[1][j2]) == 0)
            j2++;
        if (l->key.match) /* equal keys: both match or neither */
            for (size_t a = i; a < i2 && !rc; a++)
                for (size_t b = j; b < j2 && !rc; b++) {
                    tide_fanin_out o = {false,         TIDE_OP_INSERT, 0,
                                        f->rs[0][a].v, f->rs[1][b].v,      m};
                    rc = emit(f, &o);
                }
        i = i2;
        j = j2;
    }
    f->held -= n[0] + n[1];
    for (int s = 0; s < 2; s++) {
        tide_buf_reset(&f->keep);
        if (rest[s].len && tide_buf_append(&f->keep, rest[s].data, rest[s].len) && !rc)
            rc = emit_fail(f, TIDE_ENOMEM, "join");
        if (keep_rest(f, s) && !rc)
            rc = emit_fail(f, TIDE_ENOMEM, "join");
        tide_buf_free(&rest[s]);
    }
    return rc;
}

/* Under the lock: recompute the minimum and release what it passed. */
static int advance(tide_fanin *f)
{
    int64_t m = TIDE_TS_MAX;
    for (uint32_t b = 0; b < f->cfg.branches; b++) {
        if (!f->br[b].reported)
            return 0;
        if (f->br[b].wm < m)
            m = f->br[b].wm;
    }
    if (m <= f->minwm)
        return 0;
    f->minwm = m;
    return f->cfg.mode == TIDE_FANIN_UNION ? release_union(f, m) : release_join(f, m);
}

int tide_fanin_push(tide_fanin *f, uint32_t branch_i, tide_op op, const tide_value *vals,
                    tide_err *e)
{
    if (branch_i >= f->cfg.branches)
        return tide_err_set(e, TIDE_EINVAL, "fan-in: branch %u out of range", branch_i);
    pthread_mutex_lock(&f->mu);
    int rc = 0;
    if (f->err.code) {
        *e = f->err;
        rc = f->err.code;
    } else if (row_encode(f, branch_i, op, vals) != 0) {
        rc = tide_err_set(e, TIDE_ENOMEM, "fan-in: out of memory holding rows");
    } else {
        f->br[branch_i].nrows++;
        f->held++;
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

int tide_fanin_watermark(tide_fanin *f, uint32_t branch_i, int64_t wm, tide_err *e)
{
    if (branch_i >= f->cfg.branches)
        return tide_err_set(e, TIDE_EINVAL, "fan-in: branch %u out of range", branch_i);
    pthread_mutex_lock(&f->mu);
    branch *br = &f->br[branch_i];
    int rc = 0;
    if (f->err.code) {
        *e = f->err;
        rc = f->err.code;
        goto out;
    }
    if (br->reported && wm <= br->wm)
        goto out; /* no step: the rows since the last report wait for the next one */
    /* tag the rows pushed since the last report */
    size_t pos = br->untagged;
    while (pos < br->rows.len) {
        int64_t tag;
        tide_op op;
        memcpy(br->rows.data + pos, &wm, 8);
        pos += row_decode(f, br->rows.data + pos, f->cfg.ncols[branch_i], &tag, &op, NULL, NULL);
    }
    if (f->cfg.marks && f->cfg.mode == TIDE_FANIN_UNION) {
        unsigned char mk[9];
        memcpy(mk, &wm, 8);
        mk[8] = MARK;
        if (tide_buf_append(&br->rows, mk, 9)) {
            rc = tide_err_set(e, TIDE_ENOMEM, "fan-in: out of memory holding rows");
            goto out;
        }
    }
    br->untagged = br->rows.len;
    br->wm = wm;
    br->reported = true;
    if ((rc = advance(f)) != 0)
        *e = f->err;
out:
    pthread_mutex_unlock(&f->mu);
    return rc;
}

uint64_t tide_fanin_held(tide_fanin *f)
{
    pthread_mutex_lock(&f->mu);
    uint64_t n = f->held;
    pthread_mutex_unlock(&f->mu);
    return n;
}

int64_t tide_fanin_watermark_min(tide_fanin *f)
{
    pthread_mutex_lock(&f->mu);
    int64_t m = f->minwm;
    pthread_mutex_unlock(&f->mu);
    return m;
}

/* ---- running ---- */

typedef struct runner {
    tide_pipe *p;
    tide_fanin *f;
    int rc;
    tide_err e;
} runner;

static void *run_one(void *arg)
{
    runner *r = arg;
    r->rc = tide_pipe_run(r->p, &r->e);
    if (r->rc) {
        /* stop the others: they would wait for this branch's watermark */
        tide_fanin_cancel(r->f);
    }
    return NULL;
}

int tide_fanin_run(tide_fanin *f, tide_pipe *const *pipes, uint32_t n, tide_err *e)
{
    if (n != f->cfg.branches)
        return tide_err_set(e, TIDE_EINVAL, "fan-in: %u pipelines for %u branches", n,
                            f->cfg.branches);
    runner *rs = calloc(n, sizeof *rs);
    pthread_t *th = calloc(n, sizeof *th);
    bool *started = calloc(n, sizeof *started);
    int rc = 0;
    if (!rs || !th || !started) {
        rc = tide_err_set(e, TIDE_ENOMEM, "fan-in: out of memory");
        goto out;
    }
    pthread_mutex_lock(&f->mu);
    f->pipes = pipes;
    f->npipes = n;
    bool cancelled = f->cancelled;
    pthread_mutex_unlock(&f->mu);
    if (cancelled) {
        rc = tide_err_set(e, TIDE_EFAILED, "cancelled");
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) {
        rs[i] = (runner){pipes[i], f, 0, {0}};
        if (pthread_create(&th[i], NULL, run_one, &rs[i]) != 0) {
            rc = tide_err_set(e, TIDE_ENOMEM, "fan-in: cannot start a thread");
            tide_fanin_cancel(f);
            break;
        }
        started[i] = true;
    }
    for (uint32_t i = 0; i < n; i++)
        if (started[i])
            pthread_join(th[i], NULL);
    pthread_mutex_lock(&f->mu);
    f->pipes = NULL;
    f->npipes = 0;
    bool user_cancel = f->cancelled;
    tide_err ferr = f->err;
    pthread_mutex_unlock(&f->mu);
    if (!rc) {
        /* the first real failure: an output error, else a branch's own error
         * (not the cancellation it caused in the others) */
        if (ferr.code) {
            *e = ferr;
            rc = ferr.code;
        }
        for (uint32_t i = 0; i < n && !rc; i++)
            if (rs[i].rc && !strstr(rs[i].e.msg, "cancelled")) {
                *e = rs[i].e;
                rc = rs[i].rc;
            }
        for (uint32_t i = 0; i < n && !rc; i++)
            if (rs[i].rc) {
                *e = rs[i].e;
                rc = rs[i].rc;
            }
        (void)user_cancel;
    }
out:
    free(rs);
    free(th);
    free(started);
    return rc;
}

void tide_fanin_cancel(tide_fanin *f)
{
    /* the pipelines outlive tide_fanin_run's threads (the caller frees them
     * after it returned), so they are cancelled outside the lock: a branch
     * thread may be waiting for it */
    tide_pipe *pipes[TIDE_FANIN_MAX_BRANCHES];
    pthread_mutex_lock(&f->mu);
    f->cancelled = true;
    uint32_t n = f->npipes;
    for (uint32_t i = 0; i < n; i++)
        pipes[i] = f->pipes[i];
    pthread_mutex_unlock(&f->mu);
    for (uint32_t i = 0; i < n; i++)
        tide_pipe_cancel(pipes[i]);
}
