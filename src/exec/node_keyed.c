/*
 * node_keyed.c - push arrays and result rows of the keyed nodes.  See
 * node_keyed.h.
 */
#include "exec/node_keyed.h"

#include "base/buf.h"
#include "data/key.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tide_node_keyed_init(tide_node_keyed *k, const tide_schema *in, const uint32_t *key_cols,
                         uint32_t n_keys, const uint32_t *value_cols, uint32_t n_values, int time_col,
                         tide_err *e)
{
    memset(k, 0, sizeof *k);
    tide_arena_init(&k->arena, 1024);
    size_t nc = tide_schema_ncols(in);
    k->key_cols = calloc(n_keys + 1, sizeof *k->key_cols);
    k->key_types = calloc(n_keys + 1, sizeof *k->key_types);
    k->keyvals = calloc(n_keys + 1, sizeof *k->keyvals);
    k->value_cols = calloc(n_values + 1, sizeof *k->value_cols);
    if (!k->key_cols || !k->key_types || !k->keyvals || !k->value_cols)
        return tide_err_set(e, TIDE_ENOMEM, "keyed node: out of memory");
    for (uint32_t i = 0; i < n_keys; i++) {
        if (key_cols[i] >= nc)
            return tide_err_set(e, TIDE_EINVAL, "keyed node: key column %u of %zu", key_cols[i], nc);
        k->key_cols[i] = key_cols[i];
        k->key_types[i] = tide_schema_col(in, key_cols[i])->type;
    }
    for (uint32_t i = 0; i < n_values; i++) {
        if (value_cols[i] >= nc)
            return tide_err_set(e, TIDE_EINVAL, "keyed node: value column %u of %zu", value_cols[i], nc);
        k->value_cols[i] = value_cols[i];
    }
    if (time_col >= 0) {
        tide_type t = (size_t)time_col < nc ? tide_schema_col(in, (size_t)time_col)->type : TIDE_TYPE_NULL;
        if (t != TIDE_TYPE_TIMESTAMP && t != TIDE_TYPE_BIGINT)
            return tide_err_set(e, TIDE_EINVAL, "keyed node: time column %d is not a TIMESTAMP/BIGINT column",
                                time_col);
    }
    k->n_keys = n_keys;
    k->n_values = n_values;
    k->time_col = time_col;
    k->k64 = n_keys == 1 && (k->key_types[0] == TIDE_TYPE_BIGINT || k->key_types[0] == TIDE_TYPE_TIMESTAMP);
    return 0;
}

void tide_node_keyed_free(tide_node_keyed *k)
{
    free(k->key_cols);
    free(k->value_cols);
    free(k->key_types);
    free(k->keyvals);
    tide_arena_free(&k->arena);
    free(k->kbuf);
    free(k->kp);
    free(k->kl);
    free(k->rw);
    free(k->tsb);
    free(k->opb);
    free(k->vb);
    memset(k, 0, sizeof *k);
}

/* Some byte of p[0, n) is not 0 (a NULL in a null map); one vectorised
 * pass. */
static bool any_set(const uint8_t *p, uint32_t n)
{
    uint8_t acc = 0;
    for (uint32_t i = 0; i < n; i++)
        acc |= p[i];
    return acc != 0;
}

static bool is_run(const uint32_t *sel, uint32_t n)
{
    if (n == 0 || sel[n - 1] - sel[0] != n - 1)
        return false;
    uint32_t bad = 0, s0 = sel[0];
    for (uint32_t i = 0; i < n; i++)
        bad |= sel[i] ^ (s0 + i);
    return bad == 0;
}

/* Room for n records and kbytes of keys. */
static int reserve(tide_node_keyed *k, uint32_t n, size_t kbytes, tide_err *e)
{
    if (n > k->rcap) {
        size_t c[5] = {k->rcap, k->rcap, k->rcap, k->rcap, k->rcap};
        if (tide_array_grow((void **)&k->kp, &c[0], n, sizeof *k->kp) != 0 ||
            tide_array_grow((void **)&k->kl, &c[1], n, sizeof *k->kl) != 0 ||
            tide_array_grow((void **)&k->rw, &c[2], n, sizeof *k->rw) != 0 ||
            tide_array_grow((void **)&k->tsb, &c[3], n, sizeof *k->tsb) != 0 ||
            tide_array_grow((void **)&k->opb, &c[4], n, sizeof *k->opb) != 0)
            return tide_err_set(e, TIDE_ENOMEM, "keyed node: out of memory for %u records", n);
        size_t m = c[0];
        for (int i = 1; i < 5; i++)
            m = c[i] < m ? c[i] : m;
        k->rcap = m;
    }
    if (kbytes + 1 > k->kcap && tide_array_grow((void **)&k->kbuf, &k->kcap, kbytes + 1, 1) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "keyed node: out of memory for keys");
    size_t nv = (size_t)n * k->n_values;
    if (nv && tide_array_grow((void **)&k->vb, &k->vcap, nv, sizeof *k->vb) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "keyed node: out of memory for values");
    return 0;
}

static void ops_of(tide_node_keyed *k, const tide_cbatch *b, uint32_t i, uint32_t r)
{
    k->opb[i] = tide_cbatch_op(b, r);
}

int tide_node_keyed_prepare(tide_node_keyed *k, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                            bool want_ops, uint32_t *skipped, tide_err *e)
{
    *skipped = 0;
    k->n = 0;
    k->rows = NULL;
    k->base = 0;
    k->vals = NULL;
    k->ops = NULL;
    if (n == 0)
        return 0;
    bool run = !sel || is_run(sel, n);
    uint32_t base = sel ? sel[0] : 0;
    const uint8_t *tnull = k->time_col >= 0 ? tide_cbatch_nulls(b, (uint32_t)k->time_col) : NULL;
    const int64_t *tcol = k->time_col >= 0 ? tide_cbatch_col_i64(b, (uint32_t)k->time_col) : NULL;
    int rc;
    if (k->k64 && k->n_values == 0 && run) {
        /* The common case: the event times are the column itself, and the
         * loop keeps its arrays in locals (stores through the byte pointer
         * could alias k's fields). */
        const uint8_t *knull = tide_cbatch_nulls(b, k->key_cols[0]) + base;
        const int64_t *kcol = tide_cbatch_col_i64(b, k->key_cols[0]) + base;
        if (!any_set(knull, n) && (!tnull || !any_set(tnull + base, n))) {
            if ((rc = reserve(k, n, (size_t)n * TIDE_KEY_I64_SIZE, e)) != 0)
                return rc;
            const void **keys = k->kp;
            uint32_t *klen = k->kl;
            uint8_t *d = k->kbuf;
            for (uint32_t i = 0; i < n; i++, d += TIDE_KEY_I64_SIZE) {
                tide_key_put_i64(d, kcol[i]);
                keys[i] = d;
                klen[i] = TIDE_KEY_I64_SIZE;
            }
            if (want_ops)
                for (uint32_t i = 0; i < n; i++)
                    ops_of(k, b, i, base + i);
            k->keys = k->kp; /* (after reserve: it may move the arrays) */
            k->klen = k->kl;
            k->ops = want_ops ? k->opb : NULL;
            k->ts = tcol ? tcol + base : NULL;
            k->base = base;
            k->n = n;
            return 0;
        }
    }
    /* keys: sizes first, then encode (pointers after the buffer is final) */
    size_t total = 0;
    if (k->k64) {
        total = (size_t)n * TIDE_KEY_I64_SIZE;
    } else {
        for (uint32_t i = 0; i < n; i++)
            total += tide_key_row_size(b, sel ? sel[i] : i, k->key_cols, k->n_keys);
    }
    if ((rc = reserve(k, n, total, e)) != 0)
        return rc;
    const uint8_t *knull = k->k64 ? tide_cbatch_nulls(b, k->key_cols[0]) : NULL;
    const int64_t *kcol = k->k64 ? tide_cbatch_col_i64(b, k->key_cols[0]) : NULL;
    uint8_t *d = k->kbuf;
    uint32_t m = 0, nv = k->n_values;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = sel ? sel[i] : i;
        if (tnull && tnull[r]) {
            ++*skipped;
            continue;
        }
        uint8_t *end;
        if (k->k64) /* tide_key_row_put's bytes for one BIGINT/TIMESTAMP column */
            end = knull[r] ? tide_key_put_null(d) : tide_key_put_i64(d, kcol[r]);
        else
            end = tide_key_row_put(b, r, k->key_cols, k->n_keys, d);
        k->kp[m] = d;
        k->kl[m] = (uint32_t)(end - d);
        k->tsb[m] = tcol ? tcol[r] : 0;
        k->rw[m] = r;
        if (want_ops)
            ops_of(k, b, m, r);
        for (uint32_t j = 0; j < nv; j++) {
            uint32_t c = k->value_cols[j];
            tide_type t = tide_cbatch_type(b, c);
            tide_value *v = &k->vb[(size_t)m * nv + j];
            if ((t == TIDE_TYPE_BIGINT || t == TIDE_TYPE_TIMESTAMP) &&
                !tide_cbatch_nulls(b, c)[r]) /* the common value, without the generic get */
                *v = (tide_value){.type = t, .u.i64 = tide_cbatch_col_i64(b, c)[r]};
            else
                *v = tide_cbatch_get(b, c, r);
        }
        d = end;
        m++;
    }
    k->keys = k->kp;
    k->klen = k->kl;
    k->ts = k->tsb;
    k->ops = want_ops ? k->opb : NULL;
    k->rows = k->rw;
    k->vals = nv ? k->vb : NULL;
    k->n = m;
    return 0;
}

uint32_t tide_node_keyed_find(const tide_node_keyed *k, uint32_t *cursor, const void *key, uint32_t key_len,
                              int64_t ts)
{
    for (uint32_t j = *cursor; j < k->n; j++) {
        /* the time always: records of empty keys (no key columns) share one key pointer */
        if ((!k->ts || k->ts[j] == ts) &&
            (k->keys[j] == key || (k->klen[j] == key_len && memcmp(k->keys[j], key, key_len) == 0))) {
            *cursor = j + 1;
            return j;
        }
    }
    return UINT32_MAX;
}

int tide_node_keyed_put_key(tide_node_keyed *k, tide_cbatch *out, uint32_t row, const void *key,
                            uint32_t len, tide_err *e)
{
    if (k->k64) {
        const uint8_t *p = key;
        if (len == 1 && p[0] == TIDE_KEY_NULL) {
            tide_cbatch_set_null(out, 0, row);
            return 0;
        }
        if (len == TIDE_KEY_I64_SIZE && p[0] == TIDE_KEY_VALUE) {
            uint64_t u;
            memcpy(&u, p + 1, 8);
            tide_cbatch_set_i64(out, 0, row, (int64_t)(tide_key__be64(u) ^ (1ull << 63)));
            return 0;
        }
    }
    tide_arena_reset(&k->arena);
    int rc = tide_key_decode(key, len, k->key_types, k->n_keys, &k->arena, k->keyvals, e);
    if (rc != 0)
        return rc;
    for (uint32_t i = 0; i < k->n_keys; i++)
        if ((rc = tide_cbatch_set(out, i, row, &k->keyvals[i], e)) != 0)
            return rc;
    return 0;
}

int tide_node_keyed_put_vals(tide_cbatch *out, uint32_t row, uint32_t col0, const tide_value *v, size_t n,
                             tide_err *e)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t c = col0 + (uint32_t)i;
        tide_type t = tide_cbatch_type(out, c);
        if (v[i].is_null || v[i].type == TIDE_TYPE_NULL) {
            tide_cbatch_set_null(out, c, row);
        } else if ((t == TIDE_TYPE_BIGINT || t == TIDE_TYPE_TIMESTAMP) &&
                   (v[i].type == TIDE_TYPE_BIGINT || v[i].type == TIDE_TYPE_TIMESTAMP)) {
            tide_cbatch_set_i64(out, c, row, v[i].u.i64);
        } else {
            int rc = tide_cbatch_set(out, c, row, &v[i], e);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

int tide_node_keyed_schema(const tide_schema *in, const uint32_t *key_cols, uint32_t n_keys, bool window,
                           const tide_agg_call *aggs, uint32_t n_aggs, const uint32_t *value_cols,
                           const char *const *names, tide_schema **out, tide_err *e)
{
    *out = NULL;
    tide_schema *s = NULL;
    int rc;
    if ((rc = tide_schema_create(&s, e)) != 0)
        goto fail;
    for (uint32_t i = 0; i < n_keys; i++) {
        if (key_cols[i] >= tide_schema_ncols(in)) {
            rc = tide_err_set(e, TIDE_EINVAL, "keyed node: key column %u of %zu", key_cols[i],
                              tide_schema_ncols(in));
            goto fail;
        }
        const tide_column *col = tide_schema_col(in, key_cols[i]);
        if ((rc = tide_schema_add(s, col->name, col->type, true, e)) != 0)
            goto fail;
    }
    if (window &&
        ((rc = tide_schema_add(s, "window_start", TIDE_TYPE_TIMESTAMP, false, e)) != 0 ||
         (rc = tide_schema_add(s, "window_end", TIDE_TYPE_TIMESTAMP, false, e)) != 0 ||
         (rc = tide_schema_add(s, "window_time", TIDE_TYPE_TIMESTAMP, false, e)) != 0 ||
         (rc = tide_schema_set_time_column(s, (int)n_keys + 2, e)) != 0))
        goto fail;
    for (uint32_t i = 0; i < n_aggs; i++) {
        char name[32];
        snprintf(name, sizeof name, "agg%u", i);
        const char *nm = names && names[i] ? names[i] : name;
        tide_agg a;
        tide_type t = tide_node_keyed_arg_type(&aggs[i], in, value_cols);
        if ((rc = tide_agg_bind_kind(&a, aggs[i].kind, t, 0, e)) != 0 ||
            (rc = tide_schema_add(s, nm, a.out_type, true, e)) != 0)
            goto fail;
    }
    *out = s;
    return 0;
fail:
    tide_schema_free(s);
    return rc;
}

/* ---- the aggregates ------------------------------------------------------- */

int tide_node_keyed_check_aggs(const tide_agg_call *aggs, uint32_t n, const tide_schema *in,
                               const uint32_t *value_cols, uint32_t n_values, const char *who,
                               tide_err *e)
{
    for (uint32_t i = 0; i < n; i++)
        if (aggs[i].kind != TIDE_AGG_COUNT_STAR &&
            (aggs[i].arg >= n_values || value_cols[aggs[i].arg] >= tide_schema_ncols(in)))
            return tide_err_set(e, TIDE_EINVAL, "%s: aggregate %u reads value %u of %u", who, i,
                                aggs[i].arg, n_values);
    return 0;
}

tide_type tide_node_keyed_arg_type(const tide_agg_call *a, const tide_schema *in,
                                   const uint32_t *value_cols)
{
    return a->kind == TIDE_AGG_COUNT_STAR ? TIDE_TYPE_NULL
                                          : tide_schema_col(in, value_cols[a->arg])->type;
}

/* ---- result rows ---------------------------------------------------------- */

int tide_node_keyed_flush(tide_node_ctx *cx, tide_cbatch *out, tide_err *e)
{
    if (tide_cbatch_rows(out) == 0)
        return 0;
    int rc = tide_node_emit(cx, 0, out, NULL, tide_cbatch_rows(out), e);
    tide_cbatch_reset(out);
    return rc;
}

int tide_node_keyed_put_row(tide_node_keyed *k, tide_node_ctx *cx, tide_cbatch *out, tide_op op,
                            const void *key, uint32_t key_len, const int64_t *window,
                            const tide_value *vals, size_t n_vals, tide_err *e)
{
    int rc;
    if (tide_cbatch_full(out) && (rc = tide_node_keyed_flush(cx, out, e)) != 0)
        return rc;
    uint32_t row = 0, col = k->n_keys;
    tide_cbatch_add_row(out, &row);
    tide_cbatch_set_op(out, row, op);
    if (col && (rc = tide_node_keyed_put_key(k, out, row, key, key_len, e)) != 0)
        return rc;
    if (window) {
        tide_cbatch_set_i64(out, col, row, window[0]);
        tide_cbatch_set_i64(out, col + 1, row, window[1]);
        tide_cbatch_set_i64(out, col + 2, row, window[1] - 1);
        col += 3;
    }
    return tide_node_keyed_put_vals(out, row, col, vals, n_vals, e);
}

int tide_node_keyed_failed(tide_err *kept, int rc, tide_err *e)
{
    if (tide_err_failed(kept)) {
        *e = *kept;
        tide_err_clear(kept);
        return e->code;
    }
    return rc;
}
