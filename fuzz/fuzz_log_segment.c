/*
 * fuzz_log_segment.c - libFuzzer target for the log's segment and batch
 * readers.
 *
 * Input: byte 0 is a set of flags, the rest is the bytes of a segment file.
 *   bit 0  fix up the CRC of every batch first (so the fuzzer gets past the
 *          checksum and explores the record structure)
 *   bit 1  make the segment an older one: an empty active segment follows it
 *   bit 2  also open the writer on it (recovery), then read and append again
 *   bit 3  the segment comes with an index file: the input goes on with a
 *          16-bit little-endian length and that many bytes of `0.idx`,
 *          then the segment's bytes (index entries are only hints to the
 *          reader, but a sealed index lets the writer trust an older
 *          segment without reading it)
 *
 * Three paths read the bytes, and each is checked against an independent
 * decoder written here from the format description in log/batch.h:
 *   1. tide_batch_header_parse / tide_batch_validate / tide_batch_iter over
 *      each batch copied into a buffer of exactly its length;
 *   2. the public reader over a real data directory whose partition 0 holds
 *      the bytes as its segment 0;
 *   3. (bit 2) writer recovery, then the reader again, then one append.
 * Nothing may crash or leak, and no record may come out of a batch whose
 * CRC does not match: every record returned must equal, in order, the
 * records of the leading run of batches this file's own decoder accepts
 * (with an index given: must equal a record of a batch with a good CRC
 * somewhere in the file, since a forged index may point anywhere).
 *
 * Seeds: TIDE_FUZZ_WRITE_SEEDS=fuzz/corpus/log_segment ./build-fuzz/fuzz_log_segment
 * writes the seed corpus (small valid segments, a torn tail, a corrupt
 * middle batch) and exits.
 *
 * Build: cmake -S . -B build-fuzz -G Ninja -DTIDE_FUZZ=ON -DTIDE_SANITIZE=ON
 *        -DCMAKE_C_COMPILER=clang && ninja -C build-fuzz fuzz_log_segment
 * Run:   ./build-fuzz/fuzz_log_segment -max_total_time=60 fuzz/corpus/log_segment
 */
#include "base/crc32c.h"
#include "base/err.h"
#include "base/io.h"
#include "log/batch.h"
#include "log/reader.h"
#include "log/topic.h"
#include "log/writer.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TOPIC "f"
#define F_FIX_CRC 1
#define F_OLD_SEGMENT 2
#define F_RECOVER 4
#define F_INDEX 8

static char g_data[1024];
static char g_part[1200];

#define CHECK(cond, ...)                                                                    \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "fuzz_log_segment: %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fputc('\n', stderr);                                                            \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

/* The reader naps TIDE_LOG_READ_RETRY_MS between re-reads of a bad batch at
 * the end of the active segment, in case a writer in another process is
 * half-way through it.  Nothing writes here, so the naps only slow the
 * fuzzer down (to ~40 inputs/s): short sleeps return at once, long ones
 * (libFuzzer's own timer thread) still sleep. */
int nanosleep(const struct timespec *req, struct timespec *rem)
{
    if (req && req->tv_sec == 0 && req->tv_nsec < 100 * 1000000L)
        return 0;
    return (int)syscall(SYS_nanosleep, req, rem);
}

/* ---- the independent decoder ---- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* LEB128, at most 10 bytes; bits past 64 are dropped. */
static bool uvarint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (*p >= end)
            return false;
        uint8_t b = *(*p)++;
        if (i < 9 || (b & 0x7f) <= 1)
            v |= (uint64_t)(b & 0x7f) << (7 * i);
        else
            v |= (uint64_t)1 << 63; /* only bit 0 of the 10th byte fits */
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

typedef struct mrec {
    uint64_t offset;
    int64_t ts;
    bool has_key;
    const uint8_t *key, *val;
    size_t klen, vlen;
} mrec;

/* Decode the batch at b (len bytes available).  On success, *blen is its
 * length and its records are appended to out[*n...]. */
static bool my_batch(const uint8_t *b, size_t avail, size_t *blen, mrec *out, size_t *n, size_t cap)
{
    if (avail < 40)
        return false;
    uint32_t len = le32(b);
    if (len < 40 || len > avail || len > TIDE_BATCH_MAX)
        return false;
    if (tide_crc32c_sw(0, b + 8, len - 8) != le32(b + 4))
        return false;
    if (b[8] != 1 || b[9] != 0 || b[10] != 0 || b[11] != 0)
        return false;
    uint32_t count = le32(b + 12);
    uint64_t base = le64(b + 16);
    int64_t min_ts = (int64_t)le64(b + 24), max_ts = (int64_t)le64(b + 32);
    if (count == 0 || min_ts > max_ts)
        return false;
    const uint8_t *p = b + 40, *end = b + len;
    size_t n0 = *n;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t zz, k, v;
        if (!uvarint(&p, end, &zz))
            goto bad;
        /* zigzag decode, then the delta from min_ts */
        int64_t d = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
        int64_t ts = (int64_t)((uint64_t)min_ts + (uint64_t)d);
        if (d < 0 || ts < min_ts || ts > max_ts)
            goto bad;
        if (!uvarint(&p, end, &k))
            goto bad;
        bool has_key = k != 0;
        size_t klen = has_key ? (size_t)(k - 1) : 0;
        if (has_key && k - 1 > (uint64_t)(end - p))
            goto bad;
        const uint8_t *key = p;
        p += klen;
        if (!uvarint(&p, end, &v) || v > (uint64_t)(end - p))
            goto bad;
        if (*n >= cap)
            goto bad;
        out[(*n)++] = (mrec){base + i, ts, has_key, key, p, klen, (size_t)v};
        p += v;
    }
    if (p != end)
        goto bad;
    *blen = len;
    return true;
bad:
    *n = n0;
    return false;
}

/* The leading run of valid batches: its records, and where it ends. */
static size_t my_scan(const uint8_t *data, size_t size, mrec *out, size_t cap, size_t *end_pos,
                      uint64_t *next_offset)
{
    size_t pos = 0, n = 0;
    *next_offset = 0;
    for (;;) {
        size_t blen;
        if (!my_batch(data + pos, size - pos, &blen, out, &n, cap))
            break;
        *next_offset = le64(data + pos + 16) + le32(data + pos + 12);
        pos += blen;
    }
    *end_pos = pos;
    return n;
}

/* The records of every batch with a good CRC at any position. */
static size_t my_scan_anywhere(const uint8_t *data, size_t size, mrec *out, size_t cap)
{
    size_t n = 0;
    for (size_t pos = 0; pos + 40 <= size; pos++) {
        size_t blen;
        if (!my_batch(data + pos, size - pos, &blen, out, &n, cap))
            continue;
    }
    return n;
}

static bool same_record(const tide_record *r, const mrec *m)
{
    if (r->offset != m->offset || r->timestamp != m->ts)
        return false;
    if ((r->key != NULL) != m->has_key || r->key_len != m->klen)
        return false;
    if (m->klen && memcmp(r->key, m->key, m->klen) != 0)
        return false;
    if (r->value_len != m->vlen)
        return false;
    return !m->vlen || memcmp(r->value, m->val, m->vlen) == 0;
}

/* ---- path 1: the batch functions ---- */

static void fuzz_batches(const uint8_t *data, size_t size, mrec *tmp, size_t cap)
{
    size_t pos = 0;
    while (size - pos >= TIDE_BATCH_HEADER) {
        tide_batch_header h;
        if (tide_batch_header_parse(data + pos, &h) != 0)
            return;
        CHECK(h.length >= TIDE_BATCH_HEADER, "header_parse accepted length %u", h.length);
        if (h.length > size - pos)
            return;
        /* exactly the batch's bytes, so ASan sees any read past its end */
        unsigned char *b = malloc(h.length);
        if (!b)
            return;
        memcpy(b, data + pos, h.length);
        int vrc = tide_batch_validate(b, &h);
        size_t blen = 0, n = 0;
        bool mine = my_batch(b, h.length, &blen, tmp, &n, cap);
        if (vrc == 0) {
            CHECK(tide_crc32c_sw(0, b + 8, h.length - 8) == le32(b + 4),
                  "tide_batch_validate accepted a batch whose CRC does not match (pos %zu)", pos);
            CHECK(mine, "tide_batch_validate accepted a batch the format forbids (pos %zu)", pos);
            CHECK(n == h.count, "count %u, decoded %zu", h.count, n);
            tide_batch_iter it;
            tide_batch_iter_init(&it, b, &h);
            tide_record r;
            size_t i = 0;
            while (tide_batch_iter_next(&it, &r)) {
                CHECK(i < n, "the iterator returned more than %zu records", n);
                /* key and value lie inside the batch */
                if (r.key_len)
                    CHECK((const unsigned char *)r.key >= b + TIDE_BATCH_HEADER &&
                              (const unsigned char *)r.key + r.key_len <= b + h.length,
                          "key outside the batch");
                if (r.value_len)
                    CHECK((const unsigned char *)r.value >= b + TIDE_BATCH_HEADER &&
                              (const unsigned char *)r.value + r.value_len <= b + h.length,
                          "value outside the batch");
                /* compare with the decoder's records (pointers into b) */
                CHECK(same_record(&r, &tmp[i]), "record %zu of the batch at %zu differs", i, pos);
                i++;
            }
            CHECK(i == n, "the iterator returned %zu of %zu records", i, n);
        }
        free(b);
        if (vrc != 0)
            return;
        pos += h.length;
    }
}

/* ---- paths 2 and 3: a data directory ---- */

static void quiet_report(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
}

static void clear_partition(void)
{
    DIR *d = opendir(g_part);
    if (!d)
        return;
    struct dirent *de;
    char path[1500];
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", g_part, de->d_name);
        unlink(path);
    }
    closedir(d);
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "cannot create %s", path);
    if (size)
        CHECK(fwrite(data, 1, size, f) == size, "cannot write %s", path);
    CHECK(fclose(f) == 0, "cannot write %s", path);
}

/* Read partition 0 from the start; every record must be the next one of
 * the independent scan (or, when `any` is given, one of those records).
 * Returns how the read ended. */
static bool in_list(const tide_record *r, const mrec *v, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (same_record(r, &v[j]))
            return true;
    return false;
}

static int read_all(const mrec *want, size_t nwant, const mrec *any, size_t nany, size_t *nread)
{
    tide_log_reader *r = NULL;
    tide_err e = {0};
    *nread = 0;
    int rc = tide_log_reader_open(&r, g_data, TOPIC, 0, &e);
    if (rc)
        return rc;
    for (;;) {
        tide_record rec;
        tide_err_clear(&e);
        rc = tide_log_reader_next(r, &rec, &e);
        if (rc)
            break;
        if (any) {
            CHECK(in_list(&rec, any, nany), "the reader returned a record (offset %llu) of no "
                  "batch with a good CRC", (unsigned long long)rec.offset);
        } else {
            CHECK(*nread < nwant, "the reader returned a record (offset %llu) beyond the %zu of "
                  "the valid batches", (unsigned long long)rec.offset, nwant);
            CHECK(same_record(&rec, &want[*nread]), "reader record %zu (offset %llu) differs",
                  *nread, (unsigned long long)rec.offset);
        }
        (*nread)++;
    }
    if (rc != TIDE_EAGAIN)
        CHECK(e.code == rc && e.msg[0], "reader error %d without a message", rc);
    uint64_t first, next;
    tide_err_clear(&e);
    (void)tide_log_reader_bounds(r, &first, &next, &e);
    tide_err_clear(&e);
    (void)tide_log_reader_seek(r, 0, &e);
    tide_err_clear(&e);
    (void)tide_log_reader_seek_time(r, nwant ? want[nwant / 2].ts : 0, &e);
    /* whatever a seek lands on is still a record of a valid batch */
    for (int k = 0; k < 4; k++) {
        tide_record rec;
        tide_err_clear(&e);
        if (tide_log_reader_next(r, &rec, &e) != 0)
            break;
        bool found = any ? in_list(&rec, any, nany) : in_list(&rec, want, nwant);
        CHECK(found, "after seek_time the reader returned offset %llu, not a valid record",
              (unsigned long long)rec.offset);
    }
    tide_log_reader_close(r);
    return rc;
}

/* ---- seeds ---- */

/* Encode `nb` batches of small records starting at offset *next into out. */
static void seed_batches(tide_buf *out, uint64_t *next, int nb, uint64_t salt)
{
    static const char *keys[] = {NULL, "", "k", "user-17", "a longer key here"};
    static const char *vals[] = {"", "v", "hello", "{\"x\":1}", "0123456789abcdef"};
    for (int b = 0; b < nb; b++) {
        tide_record recs[5];
        int n = 1 + (int)((salt + (uint64_t)b) % 5);
        for (int i = 0; i < n; i++) {
            const char *k = keys[(salt + (uint64_t)(b * 3 + i)) % 5];
            const char *v = vals[(salt + (uint64_t)(b + i * 2)) % 5];
            recs[i] = (tide_record){.timestamp = 1700000000000 + (int64_t)(*next + (uint64_t)i) * 10 -
                                                 (i % 2) * 25,
                                    .key = k, .key_len = k ? strlen(k) : 0,
                                    .value = v, .value_len = strlen(v)};
        }
        CHECK(tide_batch_encode(out, *next, recs, (size_t)n) == 0, "encode");
        *next += (uint64_t)n;
    }
}

static void seed_write(const char *dir, const char *name, unsigned flags, const tide_buf *b,
                       size_t len)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "cannot create %s", path);
    fputc((int)flags, f);
    if (len)
        CHECK(fwrite(b->data, 1, len, f) == len, "write %s", path);
    CHECK(fclose(f) == 0, "write %s", path);
}

static void slurp(const char *path, tide_buf *out)
{
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "cannot open %s", path);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        CHECK(tide_buf_append(out, chunk, n) == 0, "out of memory");
    fclose(f);
}

/* Seeds with the index files the real writer makes: segment 0 sealed (as
 * an older segment) and the active segment with its open index. */
static void seed_with_index(const char *dir)
{
    char tmp[] = "/tmp/tide-fuzz-seed-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL, "mkdtemp");
    tide_topic_config cfg;
    tide_topic_config_default(&cfg);
    cfg.segment_bytes = 400;
    cfg.fsync = TIDE_FSYNC_NEVER;
    tide_err e = {0};
    CHECK(tide_topic_create(tmp, "s", &cfg, &e) == 0, "seed topic: %s", e.msg);
    tide_log_writer *w = NULL;
    CHECK(tide_log_writer_open(&w, tmp, "s", &(tide_log_writer_opts){.report = quiet_report}, &e) == 0,
          "seed writer: %s", e.msg);
    tide_buf enc = {0};
    for (int i = 0; i < 6; i++) {
        tide_buf_reset(&enc);
        uint64_t dummy = 0;
        seed_batches(&enc, &dummy, 1, (uint64_t)i); /* just to get records */
        tide_batch_header h;
        CHECK(tide_batch_header_parse(enc.data, &h) == 0, "seed parse");
        tide_batch_iter it;
        tide_batch_iter_init(&it, enc.data, &h);
        tide_record recs[8];
        size_t n = 0;
        while (n < 8 && tide_batch_iter_next(&it, &recs[n]))
            n++;
        CHECK(tide_log_append(w, 0, recs, n, NULL, &e) == 0, "seed append: %s", e.msg);
    }
    uint64_t last_base = 0;
    CHECK(tide_log_writer_close(w, &e) == 0, "seed close: %s", e.msg);
    char path[700];
    /* the active segment is the one with the largest base */
    char pdir[600];
    snprintf(pdir, sizeof pdir, "%s/topics/s/0", tmp);
    DIR *d = opendir(pdir);
    CHECK(d != NULL, "opendir %s", pdir);
    struct dirent *de;
    while ((de = readdir(d)))
        if (strlen(de->d_name) == 24 && !strcmp(de->d_name + 20, ".log")) {
            uint64_t b = strtoull(de->d_name, NULL, 10);
            if (b > last_base)
                last_base = b;
        }
    closedir(d);
    CHECK(last_base > 0, "the seed topic did not roll");
    for (int k = 0; k < 2; k++) {
        uint64_t base = k == 0 ? 0 : last_base;
        tide_buf idxb = {0}, logb = {0}, in = {0};
        snprintf(path, sizeof path, "%s/%020llu.idx", pdir, (unsigned long long)base);
        slurp(path, &idxb);
        snprintf(path, sizeof path, "%s/%020llu.log", pdir, (unsigned long long)base);
        slurp(path, &logb);
        unsigned char len2[2] = {(unsigned char)idxb.len, (unsigned char)(idxb.len >> 8)};
        CHECK(tide_buf_append(&in, len2, 2) == 0 && tide_buf_append(&in, idxb.data, idxb.len) == 0 &&
                  tide_buf_append(&in, logb.data, logb.len) == 0,
              "out of memory");
        /* the active segment's base is not 0: as segment 0 its batches
         * start at the wrong offset, which is a case worth a seed too */
        seed_write(dir, k == 0 ? "sealed-index-old-recover" : "active-index-recover",
                   F_INDEX | F_RECOVER | (k == 0 ? F_OLD_SEGMENT : 0), &in, in.len);
        tide_buf_free(&idxb);
        tide_buf_free(&logb);
        tide_buf_free(&in);
    }
    tide_buf_free(&enc);
    tide_io_rmtree(tmp, NULL);
}

/* TIDE_FUZZ_WRITE_SEEDS=DIR: write the seed corpus into DIR and exit. */
static void write_seeds(const char *dir)
{
    tide_buf b = {0};
    uint64_t next = 0;
    seed_write(dir, "empty", 0, &b, 0);
    seed_batches(&b, &next, 3, 0);
    seed_write(dir, "three-batches", 0, &b, b.len);
    seed_write(dir, "three-batches-old", F_OLD_SEGMENT, &b, b.len);
    seed_write(dir, "three-batches-fixcrc", F_FIX_CRC, &b, b.len);
    size_t whole = b.len;
    seed_batches(&b, &next, 1, 7);
    seed_write(dir, "torn-tail-recover", F_RECOVER, &b, whole + (b.len - whole) / 2);
    /* a flipped byte in the middle batch, valid batches after it */
    tide_buf c = {0};
    next = 0;
    seed_batches(&c, &next, 1, 3);
    size_t mid = c.len + 45;
    seed_batches(&c, &next, 3, 4);
    c.data[mid] ^= 0x20;
    seed_write(dir, "corrupt-middle-recover", F_RECOVER | F_OLD_SEGMENT, &c, c.len);
    tide_buf_free(&b);
    tide_buf_free(&c);
    seed_with_index(dir);
    exit(0);
}

static void remove_data_dir(void) { tide_io_rmtree(g_data, NULL); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *seeds = getenv("TIDE_FUZZ_WRITE_SEEDS");
    if (seeds && *seeds)
        write_seeds(seeds);
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(g_data, sizeof g_data, "%s/tide-fuzz-log.%d", base, (int)getpid());
    snprintf(g_part, sizeof g_part, "%s/topics/%s/0", g_data, TOPIC);
    tide_io_rmtree(g_data, NULL);
    tide_topic_config cfg;
    tide_topic_config_default(&cfg);
    cfg.partitions = 1;
    cfg.fsync = TIDE_FSYNC_NEVER;
    tide_err e = {0};
    CHECK(tide_topic_create(g_data, TOPIC, &cfg, &e) == 0, "topic create: %s", e.msg);
    atexit(remove_data_dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t insize)
{
    if (insize < 1)
        return 0;
    unsigned flags = in[0];
    const uint8_t *idx = NULL, *seg_in = in + 1;
    size_t idx_len = 0, size = insize - 1;
    if (flags & F_INDEX) {
        if (size < 2)
            return 0;
        idx_len = (size_t)in[1] | (size_t)in[2] << 8;
        if (idx_len > size - 2)
            idx_len = size - 2;
        idx = in + 3;
        seg_in = idx + idx_len;
        size -= 2 + idx_len;
    }
    uint8_t *data = malloc(size ? size : 1);
    mrec *want = NULL, *tmp = NULL, *any = NULL;
    if (!data)
        return 0;
    memcpy(data, seg_in, size);
    if (flags & F_FIX_CRC) {
        size_t pos = 0;
        while (size - pos >= 8) {
            uint32_t len = le32(data + pos);
            if (len < 8 || len > size - pos)
                break;
            uint32_t c = tide_crc32c_sw(0, data + pos + 8, len - 8);
            for (int i = 0; i < 4; i++)
                data[pos + 4 + (size_t)i] = (uint8_t)(c >> (8 * i));
            pos += len;
        }
    }
    size_t cap = size / 3 + 1, any_cap = size + 1, nany = 0;
    want = malloc(cap * sizeof *want);
    tmp = malloc(cap * sizeof *tmp);
    if (idx)
        any = malloc(any_cap * sizeof *any);
    if (!want || !tmp || (idx && !any))
        goto out;

    fuzz_batches(data, size, tmp, cap);

    size_t end_pos = 0;
    uint64_t next_off = 0;
    size_t nwant = my_scan(data, size, want, cap, &end_pos, &next_off);

    if (idx)
        nany = my_scan_anywhere(data, size, any, any_cap);

    clear_partition();
    char seg[1500];
    snprintf(seg, sizeof seg, "%s/%020llu.log", g_part, 0ull);
    write_file(seg, data, size);
    if (idx) {
        snprintf(seg, sizeof seg, "%s/%020llu.idx", g_part, 0ull);
        write_file(seg, idx, idx_len);
    }
    bool old = (flags & F_OLD_SEGMENT) && next_off > 0;
    if (old) {
        snprintf(seg, sizeof seg, "%s/%020llu.log", g_part, (unsigned long long)next_off);
        write_file(seg, NULL, 0);
    }

    size_t nread = 0;
    int rc = read_all(want, nwant, any, nany, &nread);
    if (old && rc == TIDE_EAGAIN && !idx)
        CHECK(end_pos == size, "an older segment with %zu bad bytes at %zu ended in EAGAIN, "
              "not ECORRUPT", size - end_pos, end_pos);

    if (flags & F_RECOVER) {
        tide_log_writer *w = NULL;
        tide_err e = {0};
        rc = tide_log_writer_open(&w, g_data, TOPIC, &(tide_log_writer_opts){.report = quiet_report},
                                  &e);
        if (rc == 0) {
            uint64_t next = tide_log_writer_next(w, 0);
            if (!idx) {
                CHECK(!old || end_pos == size, "recovery accepted an older segment with %zu bad "
                      "bytes at %zu", size - end_pos, end_pos);
                /* after recovery the log reads cleanly to its end */
                rc = read_all(want, nwant, NULL, 0, &nread);
                CHECK(rc == TIDE_EAGAIN, "after a successful recovery the reader ends with %d", rc);
                CHECK(nread == 0 || want[nread - 1].offset + 1 == next,
                      "recovered next offset %llu, last record read %llu",
                      (unsigned long long)next, (unsigned long long)want[nread - 1].offset);
            } else {
                /* a sealed index is trusted for an older segment: only
                 * require that nothing invalid is served */
                (void)read_all(want, nwant, any, nany, &nread);
            }
            tide_record one = {.timestamp = 1, .key = "k", .key_len = 1, .value = "v", .value_len = 1};
            uint64_t first = 0;
            tide_err_clear(&e);
            rc = tide_log_append(w, 0, &one, 1, &first, &e);
            if (rc == 0)
                CHECK(first == next, "append after recovery at %llu, next was %llu",
                      (unsigned long long)first, (unsigned long long)next);
            tide_err_clear(&e);
            (void)tide_log_writer_close(w, &e);
        } else {
            CHECK(w == NULL, "failed writer open returned a handle");
            CHECK(e.code == rc && e.msg[0], "writer open error %d without a message", rc);
        }
    }
    tide_partition_info *parts = NULL;
    uint32_t np = 0;
    tide_err e = {0};
    if (tide_topic_describe(g_data, TOPIC, &parts, &np, &e) == 0)
        CHECK(np == 1, "describe gave %u partitions", np);
    free(parts);
out:
    free(want);
    free(tmp);
    free(any);
    free(data);
    return 0;
}
