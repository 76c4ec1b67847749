/*
 * segment.c - segment naming and listing, the sparse index file, and the
 * batch-by-batch scan.  Formats in segment.h.
 */
#include "log/segment.h"

#include "base/bytes.h"
#include "base/crc32c.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char IDX_MAGIC[8] = {'T', 'I', 'D', 'E', 'I', 'D', 'X', 0};

int tide_seg_path(char *out, const char *dir, uint64_t base, const char *ext, tide_err *e)
{
    int n = snprintf(out, TIDE_SEG_PATH_MAX, "%s/%020" PRIu64 "%s", dir, base, ext);
    if (n < 0 || n >= TIDE_SEG_PATH_MAX)
        return tide_err_set(e, TIDE_EINVAL, "%s: path too long", dir);
    return 0;
}

/* Parse "<20 digits>.log" (or ext); false if the name is something else. */
static bool parse_name(const char *name, const char *ext, uint64_t *base)
{
    size_t el = strlen(ext);
    if (strlen(name) != 20 + el || strcmp(name + 20, ext) != 0)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        uint64_t d = (uint64_t)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *base = v;
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int tide_seg_list(const char *dir, uint64_t **bases, size_t *n, tide_err *e)
{
    *bases = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return tide_err_sys(e, errno, "%s: opendir", dir);
    }
    uint64_t *v = NULL;
    size_t cnt = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        uint64_t b;
        if (!parse_name(de->d_name, ".log", &b))
            continue;
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 16;
            uint64_t *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                rc = tide_err_set(e, TIDE_ENOMEM, "%s: listing segments: out of memory", dir);
                goto done;
            }
            v = nv;
            cap = nc;
        }
        v[cnt++] = b;
    }
    if (cnt)
        qsort(v, cnt, sizeof *v, cmp_u64);
    *bases = v;
    *n = cnt;
    v = NULL;
done:
    free(v);
    closedir(d);
    return rc;
}

/* ---- the index ---- */

void tide_seg_index_init(tide_seg_index *ix, bool collect)
{
    memset(ix, 0, sizeof *ix);
    ix->collect = collect;
    ix->run_max = INT64_MIN;
    ix->run_min = INT64_MAX;
}

void tide_seg_index_resume(tide_seg_index *ix, const tide_seg_entry *en)
{
    ix->have_entry = true;
    ix->last_pos = en->pos;
    ix->run_max = en->max_before;
    ix->run_min = en->min_before;
}

void tide_seg_index_free(tide_seg_index *ix)
{
    free(ix->v);
    ix->v = NULL;
    ix->n = ix->cap = 0;
}

int tide_seg_index_note(tide_seg_index *ix, uint64_t pos, const tide_batch_header *h)
{
    if (!ix->have_entry || pos >= ix->last_pos + TIDE_SEG_INDEX_INTERVAL) {
        if (ix->collect) {
            if (ix->n == ix->cap) {
                size_t nc = ix->cap ? ix->cap * 2 : 64;
                tide_seg_entry *nv = realloc(ix->v, nc * sizeof *nv);
                if (!nv)
                    return TIDE_ENOMEM;
                ix->v = nv;
                ix->cap = nc;
            }
            ix->v[ix->n++] = (tide_seg_entry){h->base_offset, pos, ix->run_max, ix->run_min};
        }
        ix->have_entry = true;
        ix->last_pos = pos;
    }
    if (h->max_ts > ix->run_max)
        ix->run_max = h->max_ts;
    if (h->min_ts < ix->run_min)
        ix->run_min = h->min_ts;
    return 0;
}

void tide_seg_idx_header(unsigned char out[TIDE_SEG_IDX_HEADER], uint64_t base)
{
    memcpy(out, IDX_MAGIC, 8);
    tide_put_u32(out + 8, 1);
    tide_put_u32(out + 12, TIDE_SEG_IDX_ENTRY);
    tide_put_u64(out + 16, base);
    tide_put_u32(out + 24, TIDE_SEG_INDEX_INTERVAL);
    tide_put_u32(out + 28, tide_crc32c(0, out, 28));
}

static void put_entry_fields(unsigned char *out, const tide_seg_entry *en, uint32_t kind)
{
    tide_put_u64(out, en->offset);
    tide_put_u64(out + 8, en->pos);
    tide_put_u64(out + 16, (uint64_t)en->max_before);
    tide_put_u64(out + 24, (uint64_t)en->min_before);
    tide_put_u32(out + 32, kind);
}

void tide_seg_idx_entry(unsigned char out[TIDE_SEG_IDX_ENTRY], uint64_t base, const tide_seg_entry *en)
{
    put_entry_fields(out, en, TIDE_SEG_IDX_ENTRY_KIND);
    tide_put_u32(out + 36, tide_crc32c((uint32_t)base, out, 36));
}

void tide_seg_idx_seal(unsigned char out[TIDE_SEG_IDX_ENTRY], uint32_t crc_so_far,
                       const tide_seg_entry *en)
{
    put_entry_fields(out, en, TIDE_SEG_IDX_SEAL_KIND);
    tide_put_u32(out + 36, tide_crc32c(crc_so_far, out, 36));
}

static void get_entry(const unsigned char *p, tide_seg_entry *en)
{
    en->offset = tide_get_u64(p);
    en->pos = tide_get_u64(p + 8);
    en->max_before = (int64_t)tide_get_u64(p + 16);
    en->min_before = (int64_t)tide_get_u64(p + 24);
}

bool tide_seg_idx_entry_get(const unsigned char in[TIDE_SEG_IDX_ENTRY], uint64_t base, tide_seg_entry *en)
{
    get_entry(in, en);
    return tide_get_u32(in + 32) == TIDE_SEG_IDX_ENTRY_KIND &&
           tide_get_u32(in + 36) == tide_crc32c((uint32_t)base, in, 36) && en->offset >= base;
}

bool tide_seg_idx_entry_follows(const tide_seg_entry *prev, const tide_seg_entry *en)
{
    return en->offset > prev->offset && en->pos > prev->pos && en->max_before >= prev->max_before &&
           en->min_before <= prev->min_before;
}

void tide_seg_idx_file_free(tide_seg_idx_file *f)
{
    free(f->v);
    memset(f, 0, sizeof *f);
}

int tide_seg_idx_load(const char *path, uint64_t base, tide_seg_idx_file *out, tide_err *e)
{
    memset(out, 0, sizeof *out);
    char *data = NULL;
    size_t len = 0;
    tide_err le = {0};
    int rc = tide_io_read_all(path, &data, &len, &le);
    if (rc == TIDE_ENOENT || rc == TIDE_ERANGE)
        return 0; /* missing or absurdly large: treat as no index */
    if (rc)
        return tide_err_set(e, rc, "%s", le.msg);
    const unsigned char *p = (const unsigned char *)data;
    if (len < TIDE_SEG_IDX_HEADER || memcmp(p, IDX_MAGIC, 8) != 0 || tide_get_u32(p + 8) != 1 ||
        tide_get_u32(p + 12) != TIDE_SEG_IDX_ENTRY || tide_get_u64(p + 16) != base ||
        tide_get_u32(p + 28) != tide_crc32c(0, p, 28))
        goto done;
    size_t slots = (len - TIDE_SEG_IDX_HEADER) / TIDE_SEG_IDX_ENTRY;
    if (slots) {
        out->v = malloc(slots * sizeof *out->v);
        if (!out->v) {
            rc = tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", path);
            goto done;
        }
    }
    bool ok = true;
    for (size_t i = 0; i < slots; i++) {
        const unsigned char *q = p + TIDE_SEG_IDX_HEADER + i * TIDE_SEG_IDX_ENTRY;
        uint32_t kind = tide_get_u32(q + 32), crc = tide_get_u32(q + 36);
        tide_seg_entry en;
        get_entry(q, &en);
        const tide_seg_entry *prev = out->n ? &out->v[out->n - 1] : NULL;
        if (tide_seg_idx_entry_get(q, base, &en) && (!prev || tide_seg_idx_entry_follows(prev, &en))) {
            out->v[out->n++] = en;
            continue;
        }
        if (kind == TIDE_SEG_IDX_SEAL_KIND && i + 1 == slots &&
            (size_t)(q - p) + TIDE_SEG_IDX_ENTRY == len &&
            crc == tide_crc32c(0, p, (size_t)(q - p) + 36) && en.offset >= base &&
            (!prev || (en.offset > prev->offset && en.pos > prev->pos))) {
            out->sealed = true;
            out->seal = en;
            break;
        }
        ok = false;
        break;
    }
    out->clean = ok && (len - TIDE_SEG_IDX_HEADER) % TIDE_SEG_IDX_ENTRY == 0;
done:
    free(data);
    return rc;
}

long tide_seg_idx_find_offset(const tide_seg_idx_file *f, uint64_t target)
{
    long lo = 0, hi = (long)f->n - 1, ans = -1;
    while (lo <= hi) {
        long mid = lo + (hi - lo) / 2;
        if (f->v[mid].offset <= target) {
            ans = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return ans;
}

long tide_seg_idx_find_time(const tide_seg_idx_file *f, int64_t ts)
{
    long lo = 0, hi = (long)f->n - 1, ans = -1;
    while (lo <= hi) {
        long mid = lo + (hi - lo) / 2;
        if (f->v[mid].max_before < ts) {
            ans = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return ans;
}

/* ---- scanning ---- */

/* Read up to `want` bytes at `at` into buf (from its start). */
static int fill(tide_file *f, tide_buf *buf, uint64_t at, size_t want, tide_err *e)
{
    buf->len = 0;
    if (tide_buf_reserve(buf, want))
        return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", tide_io_path(f));
    size_t n = 0;
    int rc = tide_io_pread(f, buf->data, want, at, &n, e);
    if (rc)
        return rc;
    buf->len = n;
    return 0;
}

int tide_seg_scan_file(tide_file *f, uint64_t pos, uint64_t offset, tide_seg_index *ix,
                       tide_buf *buf, tide_seg_scan *out, tide_err *e)
{
    memset(out, 0, sizeof *out);
    out->end = pos;
    out->next_offset = offset;
    int rc = tide_io_size(f, &out->file_size, e);
    if (rc)
        return rc;
    uint64_t bpos = pos; /* file position of buf->data[0] */
    size_t cur = 0;
    buf->len = 0;
    for (;;) {
        if (buf->len - cur < TIDE_BATCH_HEADER) {
            bpos += cur;
            cur = 0;
            if ((rc = fill(f, buf, bpos, TIDE_SEG_CHUNK, e)))
                return rc;
            if (buf->len == 0) {
                out->tail = TIDE_SEG_CLEAN;
                break;
            }
            if (buf->len < TIDE_BATCH_HEADER) {
                out->tail = TIDE_SEG_TORN;
                snprintf(out->why, sizeof out->why, "incomplete batch header (%zu bytes)", buf->len);
                break;
            }
        }
        tide_batch_header h;
        if (tide_batch_header_parse(buf->data + cur, &h)) {
            /* a header whose length field alone is implausible but which is the
             * last bytes of the file may be torn; callers decide with
             * find_valid_after, so report it as bad */
            out->tail = TIDE_SEG_BAD;
            snprintf(out->why, sizeof out->why, "invalid batch header");
            break;
        }
        out->head_ok = h.base_offset == out->next_offset;
        out->head_count = h.count;
        out->head_length = h.length;
        if (h.base_offset != out->next_offset) {
            out->tail = TIDE_SEG_BAD;
            snprintf(out->why, sizeof out->why, "batch base offset %" PRIu64 ", expected %" PRIu64,
                     h.base_offset, out->next_offset);
            break;
        }
        if (buf->len - cur < h.length) {
            bpos += cur;
            cur = 0;
            if ((rc = fill(f, buf, bpos, h.length > TIDE_SEG_CHUNK ? h.length : TIDE_SEG_CHUNK, e)))
                return rc;
            if (buf->len < h.length) {
                out->tail = TIDE_SEG_TORN;
                snprintf(out->why, sizeof out->why, "incomplete batch (%zu of %" PRIu32 " bytes)",
                         buf->len, h.length);
                break;
            }
        }
        if (tide_batch_validate(buf->data + cur, &h)) {
            out->tail = TIDE_SEG_BAD;
            snprintf(out->why, sizeof out->why, "batch fails its checksum or record structure");
            break;
        }
        out->head_ok = false;
        if (ix && tide_seg_index_note(ix, bpos + cur, &h))
            return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", tide_io_path(f));
        cur += h.length;
        out->end = bpos + cur;
        out->next_offset += h.count;
        out->batches++;
    }
    if (out->end > out->file_size)
        out->file_size = out->end; /* it grew while we read */
    return 0;
}

/* The true length of the damaged batch at `at` whose header (apart from
 * its length field) is intact: decode its `count` records from the bytes
 * present; if they end at some L != the length field and the CRC over
 * [8, L) matches, the length field alone is damaged and L is the batch's
 * real extent.  0 when there is no such L (a torn write or other damage). */
static int true_length(tide_file *f, uint64_t at, tide_buf *big, uint64_t *len, tide_err *e)
{
    *len = 0;
    uint64_t size = 0;
    int rc = tide_io_size(f, &size, e);
    if (rc || size < at + TIDE_BATCH_HEADER)
        return rc;
    size -= at;
    if ((rc = fill(f, big, at, size < TIDE_BATCH_MAX ? (size_t)size : TIDE_BATCH_MAX, e)) ||
        big->len < TIDE_BATCH_HEADER)
        return rc;
    const unsigned char *p = big->data, *end = p + big->len;
    tide_batch_header hh;
    /* the header is intact but for the length: parse it with a length that passes */
    unsigned char copy[TIDE_BATCH_HEADER];
    memcpy(copy, p, TIDE_BATCH_HEADER);
    tide_put_u32(copy, TIDE_BATCH_MAX);
    if (tide_batch_header_parse(copy, &hh) || big->len < hh.hlen)
        return 0;
    const unsigned char *q = p + hh.hlen;
    uint32_t count = tide_get_u32(p + 12);
    for (uint32_t k = 0; k < count; k++) {
        uint64_t v;
        for (int field = 0; field < 3; field++) {
            size_t n = tide_varint_get(q, end, &v);
            if (!n)
                return 0;
            q += n;
            uint64_t skip = field == 1 ? (v ? v - 1 : 0) : field == 2 ? v : 0;
            if (skip > (uint64_t)(end - q))
                return 0;
            q += skip;
        }
    }
    size_t l = (size_t)(q - p);
    if (l != tide_get_u32(p) && tide_crc32c(0, p + 8, l - 8) == tide_get_u32(p + 4))
        *len = l;
    return 0;
}

int tide_seg_find_valid_after(tide_file *f, const tide_seg_scan *sc, tide_buf *buf, bool *found,
                              uint64_t *found_pos, tide_err *e)
{
    *found = false;
    tide_buf big = {0};
    int rc = 0;
    uint64_t pos = sc->end + 1;
    if (sc->head_ok) {
        /* Whatever lies inside the damaged batch's extent is its payload,
         * which may be any bytes (even encoded batches): look only after
         * it.  A torn batch extends to the end of the file. */
        uint64_t l = 0;
        if ((rc = true_length(f, sc->end, &big, &l, e)))
            goto done;
        if (l)
            pos = sc->end + l;
        else if (sc->tail == TIDE_SEG_BAD)
            pos = sc->end + sc->head_length;
        else
            goto done;
    }
    for (;;) {
        if ((rc = fill(f, buf, pos, TIDE_SEG_CHUNK + TIDE_BATCH_HEADER, e)))
            goto done;
        if (buf->len < TIDE_BATCH_HEADER)
            break;
        size_t last = buf->len - TIDE_BATCH_HEADER;
        for (size_t i = 0; i <= last; i++) {
            tide_batch_header h;
            if (tide_batch_header_parse(buf->data + i, &h) || h.base_offset <= sc->next_offset)
                continue;
            const unsigned char *p;
            if (i + h.length <= buf->len) {
                p = buf->data + i;
            } else {
                if ((rc = fill(f, &big, pos + i, h.length, e)))
                    goto done;
                if (big.len < h.length)
                    continue;
                p = big.data;
            }
            if (tide_batch_validate(p, &h) == 0) {
                *found = true;
                *found_pos = pos + i;
                goto done;
            }
        }
        if (buf->len < TIDE_SEG_CHUNK + TIDE_BATCH_HEADER)
            break;
        pos += last + 1;
    }
done:
    tide_buf_free(&big);
    return rc;
}

int tide_seg_summarize(const char *dir, uint64_t base, tide_buf *buf, tide_seg_summary *out,
                       tide_err *e)
{
    memset(out, 0, sizeof *out);
    char path[TIDE_SEG_PATH_MAX], ipath[TIDE_SEG_PATH_MAX];
    tide_file *f = NULL;
    tide_seg_idx_file idx = {0};
    tide_seg_index ix;
    tide_seg_index_init(&ix, false);
    int rc = tide_seg_path(path, dir, base, ".log", e);
    if (!rc)
        rc = tide_seg_path(ipath, dir, base, ".idx", e);
    if (!rc)
        rc = tide_io_open(&f, path, TIDE_IO_READ, e);
    if (!rc)
        rc = tide_io_size(f, &out->size, e);
    if (!rc)
        rc = tide_seg_idx_load(ipath, base, &idx, e);
    if (rc)
        goto done;
    if (idx.sealed && idx.seal.pos == out->size) {
        out->sealed = true;
        out->next_offset = idx.seal.offset;
        out->max_ts = idx.seal.max_before;
        out->min_ts = idx.seal.min_before;
        out->tail = TIDE_SEG_CLEAN;
        out->end = out->size;
        goto done;
    }
    tide_seg_scan sc;
    if (idx.n) {
        tide_seg_entry *en = &idx.v[idx.n - 1];
        tide_seg_index_resume(&ix, en);
        if ((rc = tide_seg_scan_file(f, en->pos, en->offset, &ix, buf, &sc, e)))
            goto done;
        if (sc.batches == 0)
            idx.n = 0; /* a stale hint: scan from the start */
    }
    if (!idx.n) {
        tide_seg_index_init(&ix, false);
        if ((rc = tide_seg_scan_file(f, 0, base, &ix, buf, &sc, e)))
            goto done;
    }
    out->next_offset = sc.next_offset;
    out->tail = sc.tail;
    out->end = sc.end;
    /* damage that valid data follows (the writer's open refuses it, readers
     * stop there with TIDE_ECORRUPT): the valid data after it still counts,
     * so a bounded read aims past the damage and reports it */
    for (int k = 0; !rc && sc.tail != TIDE_SEG_CLEAN && k < 64; k++) {
        bool found = false;
        uint64_t at = 0;
        tide_batch_header h;
        if ((rc = tide_seg_find_valid_after(f, &sc, buf, &found, &at, e)) || !found)
            break;
        if (!out->damaged) {
            out->damaged = true;
            out->damage_pos = sc.end;
            out->damage_offset = sc.next_offset;
        }
        if ((rc = fill(f, buf, at, TIDE_BATCH_HEADER, e)))
            break;
        if (buf->len < TIDE_BATCH_HEADER || tide_batch_header_parse(buf->data, &h))
            break; /* (found valid a moment ago: changed meanwhile) */
        if ((rc = tide_seg_scan_file(f, at, h.base_offset, &ix, buf, &sc, e)))
            break;
        out->next_offset = sc.next_offset;
        out->tail = sc.tail;
        out->end = sc.end;
    }
    out->max_ts = ix.run_max;
    out->min_ts = ix.run_min;
done:
    tide_seg_idx_file_free(&idx);
    tide_io_close(f);
    return rc;
}
