/*
 * batch.c - encoding, validation and iteration of record batches.
 * The format is documented in batch.h.
 */
#include "log/batch.h"

#include "base/bytes.h"
#include "base/crc32c.h"

#include <string.h>

/* The smallest record: three one-byte varints. */
#define MIN_RECORD 3

int tide_batch_encode(tide_buf *out, uint64_t base_offset, const tide_record *recs, size_t n)
{
    return tide_batch_encode_txn(out, base_offset, recs, n, NULL);
}

static bool txn_flags_ok(uint8_t f)
{
    return f == TIDE_BATCH_TXN || f == (TIDE_BATCH_TXN | TIDE_BATCH_CONTROL) ||
           f == (TIDE_BATCH_TXN | TIDE_BATCH_CONTROL | TIDE_BATCH_ABORT);
}

int tide_batch_encode_txn(tide_buf *out, uint64_t base_offset, const tide_record *recs, size_t n,
                          const tide_batch_txn *t)
{
    if (n == 0 || n > UINT32_MAX)
        return TIDE_EINVAL;
    if (t && (!txn_flags_ok(t->flags) || t->producer == 0 || (t->txn == 0 && !(t->flags & TIDE_BATCH_ABORT)) ||
              ((t->flags & TIDE_BATCH_CONTROL) && n != 1)))
        return TIDE_EINVAL;
    size_t hlen = t ? TIDE_BATCH_HEADER_V2 : TIDE_BATCH_HEADER;
    int64_t min_ts = recs[0].timestamp, max_ts = recs[0].timestamp;
    size_t bound = hlen;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].timestamp < min_ts)
            min_ts = recs[i].timestamp;
        if (recs[i].timestamp > max_ts)
            max_ts = recs[i].timestamp;
        size_t klen = recs[i].key ? recs[i].key_len : 0;
        if (klen > TIDE_BATCH_MAX || recs[i].value_len > TIDE_BATCH_MAX)
            return TIDE_ERANGE;
        bound += 30 + klen + recs[i].value_len;
        if (bound > 2 * (size_t)TIDE_BATCH_MAX)
            return TIDE_ERANGE;
    }
    /* zigzag(ts - min_ts) must fit a signed 64-bit difference */
    if ((uint64_t)max_ts - (uint64_t)min_ts > (uint64_t)INT64_MAX)
        return TIDE_ERANGE;
    int rc = tide_buf_reserve(out, bound);
    if (rc)
        return rc;
    size_t start = out->len;
    unsigned char *p = out->data + start + hlen;
    for (size_t i = 0; i < n; i++) {
        const tide_record *r = &recs[i];
        p += tide_varint_put(p, tide_zigzag((int64_t)((uint64_t)r->timestamp - (uint64_t)min_ts)));
        if (r->key) {
            p += tide_varint_put(p, (uint64_t)r->key_len + 1);
            if (r->key_len)
                memcpy(p, r->key, r->key_len);
            p += r->key_len;
        } else {
            p += tide_varint_put(p, 0);
        }
        p += tide_varint_put(p, r->value_len);
        if (r->value_len)
            memcpy(p, r->value, r->value_len);
        p += r->value_len;
    }
    size_t len = (size_t)(p - (out->data + start));
    if (len > TIDE_BATCH_MAX)
        return TIDE_ERANGE;
    unsigned char *h = out->data + start;
    tide_put_u32(h, (uint32_t)len);
    h[8] = t ? TIDE_BATCH_VERSION_TXN : TIDE_BATCH_VERSION;
    h[9] = t ? t->flags : 0;
    tide_put_u16(h + 10, 0);
    tide_put_u32(h + 12, (uint32_t)n);
    tide_put_u64(h + 16, base_offset);
    tide_put_u64(h + 24, (uint64_t)min_ts);
    tide_put_u64(h + 32, (uint64_t)max_ts);
    if (t) {
        tide_put_u64(h + 40, t->producer);
        tide_put_u64(h + 48, t->txn);
        tide_put_u32(h + 56, t->epoch);
        tide_put_u32(h + 60, 0);
    }
    tide_put_u32(h + 4, tide_crc32c(0, h + 8, len - 8));
    out->len = start + len;
    return 0;
}

int tide_batch_header_parse(const unsigned char *p, tide_batch_header *h)
{
    h->length = tide_get_u32(p);
    h->crc = tide_get_u32(p + 4);
    h->version = p[8];
    h->flags = p[9];
    h->count = tide_get_u32(p + 12);
    h->base_offset = tide_get_u64(p + 16);
    h->min_ts = (int64_t)tide_get_u64(p + 24);
    h->max_ts = (int64_t)tide_get_u64(p + 32);
    if (h->version == TIDE_BATCH_VERSION && h->flags == 0)
        h->hlen = TIDE_BATCH_HEADER;
    else if (h->version == TIDE_BATCH_VERSION_TXN && txn_flags_ok(h->flags))
        h->hlen = TIDE_BATCH_HEADER_V2;
    else
        return TIDE_ECORRUPT;
    if (h->length < h->hlen + MIN_RECORD || h->length > TIDE_BATCH_MAX || tide_get_u16(p + 10) != 0)
        return TIDE_ECORRUPT;
    if (h->count == 0 || h->count > (h->length - h->hlen) / MIN_RECORD ||
        ((h->flags & TIDE_BATCH_CONTROL) && h->count != 1))
        return TIDE_ECORRUPT;
    if (h->min_ts > h->max_ts || (uint64_t)h->max_ts - (uint64_t)h->min_ts > (uint64_t)INT64_MAX)
        return TIDE_ECORRUPT;
    if (h->base_offset > UINT64_MAX - h->count)
        return TIDE_ECORRUPT;
    return 0;
}

int tide_batch_validate(const unsigned char *p, const tide_batch_header *h)
{
    if (tide_crc32c(0, p + 8, h->length - 8) != h->crc)
        return TIDE_ECORRUPT;
    if (h->hlen == TIDE_BATCH_HEADER_V2 &&
        (tide_get_u64(p + 40) == 0 || (tide_get_u64(p + 48) == 0 && !(h->flags & TIDE_BATCH_ABORT)) ||
         tide_get_u32(p + 60) != 0))
        return TIDE_ECORRUPT;
    const unsigned char *q = p + h->hlen, *end = p + h->length;
    uint64_t span = (uint64_t)h->max_ts - (uint64_t)h->min_ts;
    bool saw_min = false, saw_max = false;
    for (uint32_t i = 0; i < h->count; i++) {
        uint64_t v, klen, vlen;
        size_t k = tide_varint_get(q, end, &v);
        if (!k)
            return TIDE_ECORRUPT;
        q += k;
        int64_t d = tide_unzigzag(v);
        if (d < 0 || (uint64_t)d > span)
            return TIDE_ECORRUPT;
        saw_min |= d == 0;
        saw_max |= (uint64_t)d == span;
        k = tide_varint_get(q, end, &klen);
        if (!k)
            return TIDE_ECORRUPT;
        q += k;
        if (klen) {
            if (klen - 1 > (uint64_t)(end - q))
                return TIDE_ECORRUPT;
            q += klen - 1;
        }
        k = tide_varint_get(q, end, &vlen);
        if (!k)
            return TIDE_ECORRUPT;
        q += k;
        if (vlen > (uint64_t)(end - q))
            return TIDE_ECORRUPT;
        q += vlen;
    }
    /* min_ts and max_ts are the batch's true extremes (the time index relies on them) */
    if (q != end || !saw_min || !saw_max)
        return TIDE_ECORRUPT;
    return 0;
}

bool tide_batch_get_txn(const unsigned char *p, const tide_batch_header *h, tide_batch_txn *t)
{
    if (h->hlen != TIDE_BATCH_HEADER_V2)
        return false;
    t->flags = h->flags;
    t->producer = tide_get_u64(p + 40);
    t->txn = tide_get_u64(p + 48);
    t->epoch = tide_get_u32(p + 56);
    return true;
}

void tide_batch_iter_init(tide_batch_iter *it, const unsigned char *batch, const tide_batch_header *h)
{
    it->pos = batch + h->hlen;
    it->end = batch + h->length;
    it->next_offset = h->base_offset;
    it->min_ts = h->min_ts;
    it->left = h->count;
}

bool tide_batch_iter_next(tide_batch_iter *it, tide_record *rec)
{
    if (!it->left)
        return false;
    uint64_t v = 0, klen = 0, vlen = 0;
    const unsigned char *q = it->pos;
    q += tide_varint_get(q, it->end, &v);
    rec->timestamp = (int64_t)((uint64_t)it->min_ts + (uint64_t)tide_unzigzag(v));
    q += tide_varint_get(q, it->end, &klen);
    if (klen) {
        rec->key = q;
        rec->key_len = (size_t)(klen - 1);
        q += klen - 1;
    } else {
        rec->key = NULL;
        rec->key_len = 0;
    }
    q += tide_varint_get(q, it->end, &vlen);
    rec->value = q;
    rec->value_len = (size_t)vlen;
    q += vlen;
    rec->offset = it->next_offset++;
    it->pos = q;
    it->left--;
    return true;
}
