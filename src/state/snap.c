/* snap.c - the snapshot stream (see snap.h for the format). */
#include "state/snap.h"

#include "data/decimal.h"
#include "base/crc32c.h"

#include <stdio.h>
#include <string.h>

#define SNAP_MAGIC "TSN1"
#define SNAP_MAGIC_LEN 4

static void put(tide_snap_w *w, const void *p, size_t n)
{
    if (w->err || !n)
        return;
    if (tide_buf_append(w->out, p, n) != 0)
        w->err = TIDE_ENOMEM;
}

static void put_le(tide_snap_w *w, uint64_t v, size_t n)
{
    unsigned char b[8];
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    put(w, b, n);
}

static uint64_t get_le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void tide_snap_begin(tide_snap_w *w, tide_buf *out, const char *kind, uint32_t version)
{
    size_t klen = strlen(kind);
    if (klen > 255)
        klen = 255;
    w->out = out;
    w->start = out->len;
    w->err = 0;
    w->kind = kind;
    put(w, SNAP_MAGIC, SNAP_MAGIC_LEN);
    put_le(w, 0, 4); /* payload length, filled by end */
    put_le(w, klen, 2);
    put(w, kind, klen);
    put_le(w, version, 4);
    w->payload = out->len;
}

void tide_snap_put_u8(tide_snap_w *w, uint8_t v) { put(w, &v, 1); }
void tide_snap_put_u32(tide_snap_w *w, uint32_t v) { put_le(w, v, 4); }
void tide_snap_put_u64(tide_snap_w *w, uint64_t v) { put_le(w, v, 8); }
void tide_snap_put_i64(tide_snap_w *w, int64_t v) { put_le(w, (uint64_t)v, 8); }
void tide_snap_put_bool(tide_snap_w *w, bool v) { tide_snap_put_u8(w, v ? 1 : 0); }

void tide_snap_put_f64(tide_snap_w *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    put_le(w, bits, 8);
}

void tide_snap_put_varint(tide_snap_w *w, uint64_t v)
{
    unsigned char b[10];
    size_t n = 0;
    do {
        unsigned char c = v & 0x7f;
        v >>= 7;
        b[n++] = (unsigned char)(c | (v ? 0x80 : 0));
    } while (v);
    put(w, b, n);
}

void tide_snap_put_bytes(tide_snap_w *w, const void *p, size_t n)
{
    tide_snap_put_varint(w, n);
    put(w, p, n);
}

void tide_snap_put_raw(tide_snap_w *w, const void *p, size_t n) { put(w, p, n); }

void tide_snap_put_value(tide_snap_w *w, const tide_value *v)
{
    bool null = v->is_null || v->type == TIDE_TYPE_NULL;
    tide_snap_put_u8(w, (uint8_t)tide_type_base(v->type));
    tide_snap_put_u8(w, null ? 1 : 0);
    if (tide_type_is_decimal(v->type)) { /* its precision and scale, NULL or not */
        tide_snap_put_u8(w, (uint8_t)tide_dec_precision(v->type));
        tide_snap_put_u8(w, (uint8_t)tide_dec_scale(v->type));
    }
    if (null)
        return;
    switch (tide_type_base(v->type)) {
    case TIDE_TYPE_DECIMAL: {
        __extension__ unsigned __int128 u = (unsigned __int128)v->u.d;
        tide_snap_put_u64(w, (uint64_t)(u >> 64));
        tide_snap_put_u64(w, (uint64_t)u);
        break;
    }
    case TIDE_TYPE_BOOLEAN:
        tide_snap_put_bool(w, v->u.b);
        break;
    case TIDE_TYPE_BIGINT:
    case TIDE_TYPE_TIMESTAMP:
        tide_snap_put_i64(w, v->u.i64);
        break;
    case TIDE_TYPE_DOUBLE:
        tide_snap_put_f64(w, v->u.f64);
        break;
    case TIDE_TYPE_STRING:
        tide_snap_put_bytes(w, v->u.s.ptr, v->u.s.len);
        break;
    default:
        break;
    }
}

void tide_snap_put_row(tide_snap_w *w, const tide_cbatch *b, uint32_t row)
{
    tide_snap_put_u8(w, (uint8_t)tide_cbatch_op(b, row));
    tide_snap_put_varint(w, tide_cbatch_pos(b, row));
    for (uint32_t c = 0; c < tide_cbatch_ncols(b); c++) {
        tide_value v = tide_cbatch_get(b, c, row);
        tide_snap_put_value(w, &v);
    }
}

int tide_snap_end(tide_snap_w *w, tide_err *e)
{
    if (!w->err) {
        size_t plen = w->out->len - w->payload;
        if (plen > UINT32_MAX) {
            w->err = TIDE_ERANGE;
        } else {
            unsigned char *h = w->out->data + w->start + SNAP_MAGIC_LEN;
            for (size_t i = 0; i < 4; i++)
                h[i] = (unsigned char)(plen >> (8 * i));
            uint32_t crc = tide_crc32c(0, w->out->data + w->start, w->out->len - w->start);
            put_le(w, crc, 4);
        }
    }
    if (w->err) {
        w->out->len = w->start;
        return tide_err_set(e, w->err, "snapshot of %s: %s", w->kind,
                            w->err == TIDE_ERANGE ? "larger than 4 GiB" : "out of memory");
    }
    return 0;
}

int tide_snap_open(tide_snap_r *r, const void *buf, size_t len, const char *kind, uint32_t version,
                   size_t *used, tide_err *e)
{
    const unsigned char *p = buf;
    memset(r, 0, sizeof *r);
    r->bad = true;
    snprintf(r->kind, sizeof r->kind, "%s", kind);
    if (len < SNAP_MAGIC_LEN + 4 + 2 || memcmp(p, SNAP_MAGIC, SNAP_MAGIC_LEN) != 0)
        return tide_err_set(e, TIDE_ECORRUPT, "snapshot of %s: bad magic or truncated header", kind);
    uint64_t plen = get_le(p + 4, 4);
    size_t klen = (size_t)get_le(p + 8, 2);
    size_t head = SNAP_MAGIC_LEN + 4 + 2 + klen + 4;
    if (len < head || len - head < plen || len - head - plen < 4)
        return tide_err_set(e, TIDE_ECORRUPT, "snapshot of %s: truncated (%zu bytes)", kind, len);
    size_t total = head + (size_t)plen + 4;
    uint32_t crc = (uint32_t)get_le(p + total - 4, 4);
    if (tide_crc32c(0, p, total - 4) != crc)
        return tide_err_set(e, TIDE_ECORRUPT, "snapshot of %s: checksum mismatch", kind);
    if (klen != strlen(kind) || memcmp(p + 10, kind, klen) != 0)
        return tide_err_set(e, TIDE_ECORRUPT, "snapshot of %s: it holds a snapshot of %.*s", kind,
                            (int)(klen > 64 ? 64 : klen), (const char *)(p + 10));
    uint32_t v = (uint32_t)get_le(p + 10 + klen, 4);
    if (v != version)
        return tide_err_set(e, TIDE_ECORRUPT, "snapshot of %s: format version %u, this build reads %u",
                            kind, v, version);
    if (used)
        *used = total;
    r->p = p + head;
    r->end = r->p + plen;
    r->bad = false;
    return 0;
}

static const unsigned char *take(tide_snap_r *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const unsigned char *q = r->p;
    r->p += n;
    return q;
}

uint8_t tide_snap_get_u8(tide_snap_r *r)
{
    const unsigned char *q = take(r, 1);
    return q ? q[0] : 0;
}

uint32_t tide_snap_get_u32(tide_snap_r *r)
{
    const unsigned char *q = take(r, 4);
    return q ? (uint32_t)get_le(q, 4) : 0;
}

uint64_t tide_snap_get_u64(tide_snap_r *r)
{
    const unsigned char *q = take(r, 8);
    return q ? get_le(q, 8) : 0;
}

int64_t tide_snap_get_i64(tide_snap_r *r) { return (int64_t)tide_snap_get_u64(r); }

double tide_snap_get_f64(tide_snap_r *r)
{
    uint64_t bits = tide_snap_get_u64(r);
    double v;
    memcpy(&v, &bits, 8);
    return v;
}

bool tide_snap_get_bool(tide_snap_r *r)
{
    uint8_t v = tide_snap_get_u8(r);
    if (v > 1)
        r->bad = true;
    return v == 1;
}

uint64_t tide_snap_get_varint(tide_snap_r *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        const unsigned char *q = take(r, 1);
        if (!q)
            return 0;
        v |= (uint64_t)(*q & 0x7f) << shift;
        if (!(*q & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

const void *tide_snap_get_bytes(tide_snap_r *r, size_t *n)
{
    uint64_t len = tide_snap_get_varint(r);
    const unsigned char *q = r->bad || len > (uint64_t)(r->end - r->p) ? NULL : take(r, (size_t)len);
    if (!q) {
        r->bad = true;
        *n = 0;
        return NULL;
    }
    *n = (size_t)len;
    return q;
}

const void *tide_snap_get_raw(tide_snap_r *r, size_t n) { return take(r, n); }

tide_value tide_snap_get_value(tide_snap_r *r)
{
    tide_value v;
    memset(&v, 0, sizeof v);
    uint8_t t = tide_snap_get_u8(r);
    uint8_t null = tide_snap_get_u8(r);
    if (t >= TIDE_TYPE_COUNT || null > 1) {
        r->bad = true;
        v.is_null = true;
        return v;
    }
    v.type = (tide_type)t;
    if (t == TIDE_TYPE_DECIMAL) {
        uint8_t p = tide_snap_get_u8(r), sc = tide_snap_get_u8(r);
        v.type = tide_type_decimal(p, sc);
        if (!tide_type_valid(v.type)) {
            r->bad = true;
            v.is_null = true;
            return v;
        }
    }
    v.is_null = null != 0 || v.type == TIDE_TYPE_NULL;
    if (v.is_null)
        return v;
    switch (tide_type_base(v.type)) {
    case TIDE_TYPE_DECIMAL: {
        __extension__ unsigned __int128 hi = tide_snap_get_u64(r);
        uint64_t lo = tide_snap_get_u64(r);
        v.u.d = (tide_i128)((hi << 64) | lo);
        if (!tide_dec_fits(v.u.d, tide_dec_precision(v.type)))
            r->bad = true;
        break;
    }
    case TIDE_TYPE_BOOLEAN:
        v.u.b = tide_snap_get_bool(r);
        break;
    case TIDE_TYPE_BIGINT:
    case TIDE_TYPE_TIMESTAMP:
        v.u.i64 = tide_snap_get_i64(r);
        break;
    case TIDE_TYPE_DOUBLE:
        v.u.f64 = tide_snap_get_f64(r);
        break;
    case TIDE_TYPE_STRING: {
        size_t n;
        const void *p = tide_snap_get_bytes(r, &n);
        if (n > UINT32_MAX)
            r->bad = true;
        v.u.s.ptr = p ? p : "";
        v.u.s.len = (uint32_t)n;
        break;
    }
    default:
        break;
    }
    return v;
}

size_t tide_snap_remaining(const tide_snap_r *r) { return r->bad ? 0 : (size_t)(r->end - r->p); }

void tide_snap_fail(tide_snap_r *r) { r->bad = true; }

bool tide_snap_failed(const tide_snap_r *r) { return r->bad; }

int tide_snap_close(tide_snap_r *r, tide_err *e)
{
    if (r->bad)
        return tide_err_set(e, TIDE_ECORRUPT, "snapshot of %s: malformed payload", r->kind);
    if (r->p != r->end)
        return tide_err_set(e, TIDE_ECORRUPT, "snapshot of %s: %zu bytes left unread", r->kind,
                            (size_t)(r->end - r->p));
    return 0;
}

int tide_snap_get_row(tide_snap_r *r, tide_cbatch *dst, tide_err *e)
{
    uint8_t op = tide_snap_get_u8(r);
    uint64_t pos = tide_snap_get_varint(r);
    if (op >= TIDE_OP_COUNT)
        r->bad = true;
    if (r->bad)
        return tide_err_set(e, TIDE_ECORRUPT, "snapshot of %s: malformed row", r->kind);
    uint32_t row = 0;
    if (tide_cbatch_add_row(dst, &row) != 0)
        return tide_err_set(e, TIDE_ERANGE, "snapshot of %s: a row does not fit", r->kind);
    tide_cbatch_set_op(dst, row, (tide_op)op);
    tide_cbatch_set_pos(dst, row, pos);
    for (uint32_t c = 0; c < tide_cbatch_ncols(dst); c++) {
        tide_value v = tide_snap_get_value(r);
        tide_type t = tide_cbatch_type(dst, c);
        bool ints = (v.type == TIDE_TYPE_BIGINT || v.type == TIDE_TYPE_TIMESTAMP) &&
                    (t == TIDE_TYPE_BIGINT || t == TIDE_TYPE_TIMESTAMP);
        if (r->bad || (!v.is_null && v.type != t && !ints)) {
            r->bad = true;
            tide_cbatch_drop_last(dst);
            return tide_err_set(e, TIDE_ECORRUPT, "snapshot of %s: malformed row", r->kind);
        }
        int rc = tide_cbatch_set(dst, c, row, &v, e);
        if (rc != 0) {
            tide_cbatch_drop_last(dst);
            return rc;
        }
    }
    return 0;
}
