/*
 * batch.c - column batches.
 *
 * Memory: create() makes one allocation holding the column descriptors, the
 * null maps, the value arrays and the optional op/position arrays, each
 * 16-byte aligned.  String bytes go to the arena, byte-packed inside chunks
 * of arena.block_size bytes taken whole from the arena (a string that does
 * not fit the current chunk starts a new chunk of max(len, block_size)).
 * On reset, if one fill needed more than one block, the arena is recreated
 * with a block big enough for that high-water mark, so from then on a fill
 * of similar size lives in one block that reset keeps: no allocation in
 * steady state.
 */
#include "data/batch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STR_BLOCK_MIN (16 * 1024)

static size_t elem_size(tide_type t)
{
    switch (tide_type_base(t)) {
    case TIDE_TYPE_DECIMAL:
        return sizeof(tide_i128);
    case TIDE_TYPE_BOOLEAN:
        return sizeof(bool);
    case TIDE_TYPE_BIGINT:
    case TIDE_TYPE_TIMESTAMP:
        return sizeof(int64_t);
    case TIDE_TYPE_DOUBLE:
        return sizeof(double);
    case TIDE_TYPE_STRING:
        return sizeof(tide_str);
    default:
        return 0;
    }
}

static inline size_t align16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

int tide_cbatch_create(tide_cbatch **out, const tide_schema *schema, uint32_t capacity, unsigned flags,
                       tide_err *e)
{
    tide_cbatch *b = NULL;
    int rc;
    size_t ncols = tide_schema_ncols(schema);
    if (capacity == 0 || capacity > TIDE_CBATCH_MAX_CAPACITY || ncols > UINT32_MAX) {
        rc = tide_err_set(e, TIDE_EINVAL, "column batch: capacity %u out of range 1..%u", capacity,
                          TIDE_CBATCH_MAX_CAPACITY);
        goto fail;
    }
    size_t total = align16(ncols * sizeof(tide_cbatch_col));
    for (size_t c = 0; c < ncols; c++)
        total += align16(capacity) + align16(capacity * elem_size(tide_schema_col(schema, c)->type));
    if (flags & TIDE_CBATCH_OPS)
        total += align16(capacity);
    if (flags & TIDE_CBATCH_POS)
        total += align16((size_t)capacity * sizeof(uint64_t));

    b = calloc(1, sizeof *b);
    if (!b)
        goto nomem;
    b->mem = aligned_alloc(16, total ? total : 16);
    if (!b->mem)
        goto nomem;
    b->schema = schema;
    b->ncols = (uint32_t)ncols;
    b->capacity = capacity;
    b->flags = flags;
    unsigned char *p = b->mem;
    b->cols = (tide_cbatch_col *)p;
    p += align16(ncols * sizeof(tide_cbatch_col));
    for (size_t c = 0; c < ncols; c++) {
        tide_cbatch_col *col = &b->cols[c];
        col->type = tide_schema_col(schema, c)->type;
        col->nulls = p;
        p += align16(capacity);
        col->v.any = p;
        p += align16(capacity * elem_size(col->type));
    }
    if (flags & TIDE_CBATCH_OPS) {
        b->ops = p;
        p += align16(capacity);
    }
    if (flags & TIDE_CBATCH_POS)
        b->pos = (uint64_t *)p;
    tide_arena_init(&b->arena, STR_BLOCK_MIN);
    *out = b;
    return 0;
nomem:
    rc = tide_err_set(e, TIDE_ENOMEM, "column batch: out of memory for %u rows", capacity);
fail:
    if (b)
        free(b->mem);
    free(b);
    return rc;
}

void tide_cbatch_free(tide_cbatch *b)
{
    if (!b)
        return;
    tide_arena_free(&b->arena);
    free(b->mem);
    free(b->view_map);
    free(b);
}

void tide_cbatch_reset(tide_cbatch *b)
{
    b->rows = 0;
    b->str_cur = NULL;
    b->str_left = 0;
    if (b->arena.used_total > b->arena.block_size) {
        /* this fill outgrew one block: make the next ones fit in one */
        size_t size = b->arena.block_size;
        while (size < b->arena.used_total)
            size *= 2;
        tide_arena_free(&b->arena);
        tide_arena_init(&b->arena, size);
    } else {
        tide_arena_reset(&b->arena);
    }
}

/* Room for n string bytes (n > 0), byte-packed. */
static char *str_alloc(tide_cbatch *b, size_t n)
{
    if (b->str_left >= n) {
        char *p = b->str_cur;
        b->str_cur += n;
        b->str_left -= n;
        return p;
    }
    size_t chunk = n > b->arena.block_size ? n : b->arena.block_size;
    char *p = tide_arena_alloc(&b->arena, chunk);
    if (!p)
        return NULL;
    b->str_cur = p + n;
    b->str_left = chunk - n;
    return p;
}

int tide_cbatch_set_str(tide_cbatch *b, uint32_t col, uint32_t row, const char *s, size_t len,
                        tide_err *e)
{
    tide_str v = {"", 0};
    if (len > UINT32_MAX)
        return tide_err_set(e, TIDE_ERANGE, "column batch: string of %zu bytes is too long", len);
    if (len) {
        char *p = str_alloc(b, len);
        if (!p)
            return tide_err_set(e, TIDE_ENOMEM, "column batch: out of memory for a %zu-byte string", len);
        memcpy(p, s, len);
        v.ptr = p;
        v.len = (uint32_t)len;
    }
    b->cols[col].v.s[row] = v;
    b->cols[col].nulls[row] = 0;
    return 0;
}

tide_value tide_cbatch_get(const tide_cbatch *b, uint32_t col, uint32_t row)
{
    tide_value v;
    memset(&v, 0, sizeof v);
    const tide_cbatch_col *c = &b->cols[col];
    v.type = c->type;
    if (c->nulls[row]) {
        v.is_null = true;
        return v;
    }
    switch (tide_type_base(c->type)) {
    case TIDE_TYPE_DECIMAL:
        v.u.d = c->v.d[row];
        break;
    case TIDE_TYPE_BOOLEAN:
        v.u.b = c->v.b[row];
        break;
    case TIDE_TYPE_BIGINT:
    case TIDE_TYPE_TIMESTAMP:
        v.u.i64 = c->v.i64[row];
        break;
    case TIDE_TYPE_DOUBLE:
        v.u.f64 = c->v.f64[row];
        break;
    case TIDE_TYPE_STRING:
        v.u.s = c->v.s[row];
        break;
    default:
        v.is_null = true;
        break;
    }
    return v;
}

static bool is_int_type(tide_type t)
{
    return t == TIDE_TYPE_BIGINT || t == TIDE_TYPE_TIMESTAMP;
}

int tide_cbatch_set(tide_cbatch *b, uint32_t col, uint32_t row, const tide_value *v, tide_err *e)
{
    tide_type t = b->cols[col].type;
    if (v->is_null || v->type == TIDE_TYPE_NULL) {
        tide_cbatch_set_null(b, col, row);
        return 0;
    }
    if (v->type != t && !(is_int_type(v->type) && is_int_type(t)))
        return tide_err_set(e, TIDE_EINVAL, "column %s: cannot store a %s value in a %s column",
                            tide_schema_col(b->schema, col)->name, tide_type_name(v->type),
                            tide_type_name(t));
    switch (tide_type_base(t)) {
    case TIDE_TYPE_DECIMAL:
        tide_cbatch_set_dec(b, col, row, v->u.d);
        return 0;
    case TIDE_TYPE_BOOLEAN:
        tide_cbatch_set_bool(b, col, row, v->u.b);
        return 0;
    case TIDE_TYPE_BIGINT:
    case TIDE_TYPE_TIMESTAMP:
        tide_cbatch_set_i64(b, col, row, v->u.i64);
        return 0;
    case TIDE_TYPE_DOUBLE:
        tide_cbatch_set_f64(b, col, row, v->u.f64);
        return 0;
    case TIDE_TYPE_STRING:
        return tide_cbatch_set_str(b, col, row, v->u.s.ptr, v->u.s.len, e);
    default:
        return tide_err_set(e, TIDE_EINVAL, "column batch: bad column type");
    }
}

static int check_compatible(const tide_cbatch *dst, const tide_cbatch *src, tide_err *e)
{
    if (dst->ncols != src->ncols)
        return tide_err_set(e, TIDE_EINVAL, "column batch: copying %u columns into %u", src->ncols,
                            dst->ncols);
    for (uint32_t c = 0; c < dst->ncols; c++)
        if (dst->cols[c].type != src->cols[c].type)
            return tide_err_set(e, TIDE_EINVAL, "column batch: column %u is %s, not %s", c,
                                tide_type_name(dst->cols[c].type), tide_type_name(src->cols[c].type));
    return 0;
}

/* Append src's row (compatibility already checked, room available). */
static int append_from(tide_cbatch *dst, const tide_cbatch *src, uint32_t row, tide_err *e)
{
    uint32_t r = dst->rows;
    for (uint32_t c = 0; c < dst->ncols; c++) {
        tide_cbatch_col *d = &dst->cols[c];
        const tide_cbatch_col *s = &src->cols[c];
        d->nulls[r] = s->nulls[row];
        if (s->nulls[row])
            continue;
        switch (tide_type_base(d->type)) {
        case TIDE_TYPE_DECIMAL:
            d->v.d[r] = s->v.d[row];
            break;
        case TIDE_TYPE_BOOLEAN:
            d->v.b[r] = s->v.b[row];
            break;
        case TIDE_TYPE_BIGINT:
        case TIDE_TYPE_TIMESTAMP:
            d->v.i64[r] = s->v.i64[row];
            break;
        case TIDE_TYPE_DOUBLE:
            d->v.f64[r] = s->v.f64[row];
            break;
        case TIDE_TYPE_STRING: {
            tide_str str = s->v.s[row];
            if (tide_cbatch_set_str(dst, c, r, str.ptr, str.len, e))
                return TIDE_ENOMEM;
            break;
        }
        default:
            break;
        }
    }
    if (dst->ops)
        dst->ops[r] = src->ops ? src->ops[row] : (uint8_t)TIDE_OP_INSERT;
    if (dst->pos)
        dst->pos[r] = src->pos ? src->pos[row] : 0;
    dst->rows = r + 1;
    return 0;
}

int tide_cbatch_copy_row(tide_cbatch *dst, const tide_cbatch *src, uint32_t row, tide_err *e)
{
    int rc = check_compatible(dst, src, e);
    if (rc)
        return rc;
    if (dst->rows == dst->capacity)
        return tide_err_set(e, TIDE_ERANGE, "column batch: full (%u rows)", dst->capacity);
    return append_from(dst, src, row, e);
}

/* The rows sel[0..n) are one run sel[0], sel[0] + 1, ... (then columns
 * copy with memcpy). */
/* memcpy for the short strings of most columns, without a call: loads and
 * stores that stay within [s, s + n) and [d, d + n). */
static inline void copy_bytes(char *d, const char *s, uint32_t n)
{
    if (n > 16) {
        memcpy(d, s, n);
    } else if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
    } else {
        d[0] = s[0];
        d[n >> 1] = s[n >> 1];
        d[n - 1] = s[n - 1];
    }
}

static bool is_run(const uint32_t *sel, uint32_t n)
{
    if (n == 0 || sel[n - 1] - sel[0] != n - 1)
        return false;
    uint32_t bad = 0, s0 = sel[0];
    for (uint32_t i = 0; i < n; i++) /* (a loop the compiler vectorises) */
        bad |= sel[i] ^ (s0 + i);
    return bad == 0;
}

int tide_cbatch_select_cols(tide_cbatch *dst, const tide_cbatch *src, const uint32_t *sel, uint32_t n,
                            const uint32_t *map, tide_err *e)
{
    uint32_t nc = dst->ncols, base = dst->rows;
    if (!map && src->ncols != nc)
        return tide_err_set(e, TIDE_EINVAL, "column batch: copying %u columns into %u", src->ncols, nc);
    for (uint32_t c = 0; c < nc; c++) {
        uint32_t sc = map ? map[c] : c;
        if (sc >= src->ncols)
            return tide_err_set(e, TIDE_EINVAL, "column batch: no column %u to copy (of %u)", sc,
                                src->ncols);
        if (dst->cols[c].type != src->cols[sc].type)
            return tide_err_set(e, TIDE_EINVAL, "column batch: column %u is %s, not %s", c,
                                tide_type_name(dst->cols[c].type), tide_type_name(src->cols[sc].type));
    }
    if (n > dst->capacity - base)
        return tide_err_set(e, TIDE_ERANGE, "column batch: %u rows do not fit (%u of %u used)", n, base,
                            dst->capacity);
    if (n == 0)
        return 0;
    bool run = is_run(sel, n);
    uint32_t s0 = sel[0];
    if (dst->ops) {
        if (!src->ops)
            memset(dst->ops + base, TIDE_OP_INSERT, n);
        else if (run)
            memcpy(dst->ops + base, src->ops + s0, n);
        else
            for (uint32_t i = 0; i < n; i++)
                dst->ops[base + i] = src->ops[sel[i]];
    }
    if (dst->pos) {
        if (!src->pos)
            memset(dst->pos + base, 0, (size_t)n * sizeof *dst->pos);
        else if (run)
            memcpy(dst->pos + base, src->pos + s0, (size_t)n * sizeof *dst->pos);
        else
            for (uint32_t i = 0; i < n; i++)
                dst->pos[base + i] = src->pos[sel[i]];
    }
    /* Column by column: one tight loop per column instead of a switch per
     * cell.  A NULL cell's value slot is garbage either way, so fixed-width
     * values are copied whatever their null byte. */
    for (uint32_t c = 0; c < nc; c++) {
        tide_cbatch_col *d = &dst->cols[c];
        const tide_cbatch_col *sc = &src->cols[map ? map[c] : c];
        uint8_t *dn = d->nulls + base;
        const uint8_t *sn = sc->nulls;
        if (run)
            memcpy(dn, sn + s0, n);
        else
            for (uint32_t i = 0; i < n; i++)
                dn[i] = sn[sel[i]];
        switch (tide_type_base(d->type)) {
        case TIDE_TYPE_DECIMAL: {
            tide_i128 *dv = d->v.d + base;
            const tide_i128 *sv = sc->v.d;
            if (run) {
                memcpy(dv, sv + s0, (size_t)n * sizeof *dv);
                break;
            }
            for (uint32_t i = 0; i < n; i++)
                dv[i] = sv[sel[i]];
            break;
        }
        case TIDE_TYPE_BOOLEAN: {
            /* (read as bytes: a NULL cell's slot may hold any byte) */
            bool *dv = d->v.b + base;
            const uint8_t *sv = (const uint8_t *)sc->v.b;
            for (uint32_t i = 0; i < n; i++)
                dv[i] = sv[sel[i]] != 0;
            break;
        }
        case TIDE_TYPE_BIGINT:
        case TIDE_TYPE_TIMESTAMP: {
            int64_t *dv = d->v.i64 + base;
            const int64_t *sv = sc->v.i64;
            if (run) {
                memcpy(dv, sv + s0, (size_t)n * sizeof *dv);
                break;
            }
            for (uint32_t i = 0; i < n; i++)
                dv[i] = sv[sel[i]];
            break;
        }
        case TIDE_TYPE_DOUBLE: {
            double *dv = d->v.f64 + base;
            const double *sv = sc->v.f64;
            if (run) {
                memcpy(dv, sv + s0, (size_t)n * sizeof *dv);
                break;
            }
            for (uint32_t i = 0; i < n; i++)
                dv[i] = sv[sel[i]];
            break;
        }
        case TIDE_TYPE_STRING: {
            /* the bytes of all the column's strings in one allocation */
            const tide_str *sv = sc->v.s;
            tide_str *dv = d->v.s + base;
            size_t total = 0;
            for (uint32_t i = 0; i < n; i++)
                total += sn[sel[i]] ? 0 : sv[sel[i]].len;
            char *p = total ? str_alloc(dst, total) : NULL;
            if (total && !p) /* (rows not added yet: dst keeps its rows) */
                return tide_err_set(e, TIDE_ENOMEM, "column batch: out of memory for %zu string bytes", total);
            for (uint32_t i = 0; i < n; i++) {
                tide_str str = sv[sel[i]];
                if (sn[sel[i]])
                    continue;
                if (str.len == 0) {
                    dv[i] = (tide_str){"", 0};
                    continue;
                }
                copy_bytes(p, str.ptr, str.len);
                dv[i] = (tide_str){p, str.len};
                p += str.len;
            }
            break;
        }
        default:
            break;
        }
    }
    dst->rows = base + n;
    return 0;
}

int tide_cbatch_select(tide_cbatch *dst, const tide_cbatch *src, const uint32_t *sel, uint32_t n,
                       tide_err *e)
{
    return tide_cbatch_select_cols(dst, src, sel, n, NULL, e);
}

void tide_cbatch_compact(tide_cbatch *b, const uint32_t *sel, uint32_t n)
{
    for (uint32_t c = 0; c < b->ncols; c++) {
        tide_cbatch_col *col = &b->cols[c];
        size_t es = elem_size(col->type);
        unsigned char *vals = col->v.any;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t r = sel[i];
            if (r == i)
                continue;
            col->nulls[i] = col->nulls[r];
            memcpy(vals + (size_t)i * es, vals + (size_t)r * es, es);
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        if (b->ops)
            b->ops[i] = b->ops[sel[i]];
        if (b->pos)
            b->pos[i] = b->pos[sel[i]];
    }
    b->rows = n;
}

bool tide_cbatch_row_equal(const tide_cbatch *a, uint32_t ra, const tide_cbatch *b, uint32_t rb)
{
    return tide_cbatch_op(a, ra) == tide_cbatch_op(b, rb) && tide_cbatch_values_equal(a, ra, b, rb);
}

bool tide_cbatch_values_equal(const tide_cbatch *a, uint32_t ra, const tide_cbatch *b, uint32_t rb)
{
    if (a->ncols != b->ncols)
        return false;
    for (uint32_t c = 0; c < a->ncols; c++) {
        const tide_cbatch_col *x = &a->cols[c], *y = &b->cols[c];
        if (x->type != y->type)
            return false;
        bool xn = x->nulls[ra] != 0, yn = y->nulls[rb] != 0;
        if (xn || yn) {
            if (xn != yn)
                return false;
            continue;
        }
        switch (tide_type_base(x->type)) {
        case TIDE_TYPE_DECIMAL:
            if (x->v.d[ra] != y->v.d[rb])
                return false;
            break;
        case TIDE_TYPE_BOOLEAN:
            if (x->v.b[ra] != y->v.b[rb])
                return false;
            break;
        case TIDE_TYPE_BIGINT:
        case TIDE_TYPE_TIMESTAMP:
            if (x->v.i64[ra] != y->v.i64[rb])
                return false;
            break;
        case TIDE_TYPE_DOUBLE: {
            double p = x->v.f64[ra], q = y->v.f64[rb];
            if (!(isnan(p) && isnan(q)) && memcmp(&p, &q, sizeof p) != 0)
                return false;
            break;
        }
        case TIDE_TYPE_STRING: {
            tide_str p = x->v.s[ra], q = y->v.s[rb];
            if (p.len != q.len || (p.len && memcmp(p.ptr, q.ptr, p.len) != 0))
                return false;
            break;
        }
        default:
            break;
        }
    }
    return true;
}

bool tide_cbatch_i64_range(const tide_cbatch *b, uint32_t col, int64_t *min, int64_t *max)
{
    const uint8_t *nulls = b->cols[col].nulls;
    const int64_t *v = b->cols[col].v.i64;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    bool any = false;
    for (uint32_t r = 0; r < b->rows; r++) {
        if (nulls[r])
            continue;
        any = true;
        lo = v[r] < lo ? v[r] : lo;
        hi = v[r] > hi ? v[r] : hi;
    }
    if (any) {
        *min = lo;
        *max = hi;
    }
    return any;
}

/* ---- views ---- */

int tide_cbatch_view_create(tide_cbatch **out, const tide_schema *schema, const uint32_t *map,
                            tide_err *e)
{
    *out = NULL;
    size_t ncols = tide_schema_ncols(schema);
    tide_cbatch *b = calloc(1, sizeof *b);
    uint32_t *m = calloc(ncols + 1, sizeof *m);
    tide_cbatch_col *cols = calloc(ncols + 1, sizeof *cols);
    if (!b || !m || !cols || ncols > UINT32_MAX) {
        free(b);
        free(m);
        free(cols);
        return tide_err_set(e, TIDE_ENOMEM, "column batch view: out of memory");
    }
    for (size_t c = 0; c < ncols; c++) {
        cols[c].type = tide_schema_col(schema, c)->type;
        m[c] = map ? map[c] : (uint32_t)c;
    }
    b->schema = schema;
    b->ncols = (uint32_t)ncols;
    b->cols = cols;
    b->view_map = m;
    b->view_keep = TIDE_CBATCH_OPS | TIDE_CBATCH_POS;
    b->mem = cols; /* freed with it */
    tide_arena_init(&b->arena, 64); /* empty: a view holds no strings */
    *out = b;
    return 0;
}

int tide_cbatch_view_bind(tide_cbatch *view, const tide_cbatch *src, tide_err *e)
{
    for (uint32_t c = 0; c < view->ncols; c++) {
        uint32_t sc = view->view_map[c];
        if (sc >= src->ncols || src->cols[sc].type != view->cols[c].type)
            return tide_err_set(e, TIDE_EINVAL, "column batch view: column %u is not a %s column of the batch",
                                sc, tide_type_name(view->cols[c].type));
        view->cols[c].nulls = src->cols[sc].nulls;
        view->cols[c].v = src->cols[sc].v;
    }
    view->rows = src->rows;
    view->capacity = src->capacity;
    view->flags = src->flags & view->view_keep;
    view->ops = view->view_keep & TIDE_CBATCH_OPS ? src->ops : NULL;
    view->pos = view->view_keep & TIDE_CBATCH_POS ? src->pos : NULL;
    return 0;
}

void tide_cbatch_view_keep(tide_cbatch *view, unsigned flags)
{
    view->view_keep = flags & (TIDE_CBATCH_OPS | TIDE_CBATCH_POS);
}
