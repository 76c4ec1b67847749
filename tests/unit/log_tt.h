/*
 * log_tt.h - helpers shared by the log's unit tests: an independent model of
 * the records written (record i of a stream is a pure function of i and a
 * seed), and small file utilities.
 */
#ifndef TIDE_TESTS_LOG_TT_H
#define TIDE_TESTS_LOG_TT_H

#include "tt.h"

#include "log/group.h"
#include "log/reader.h"
#include "log/topic.h"
#include "log/writer.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>

/* The model of record i: timestamp, key (every third record has none) and a
 * value that spells out i. */
typedef struct lt_rec {
    int64_t ts;
    bool has_key;
    char key[24];
    size_t key_len;
    char val[128];
    size_t val_len;
} lt_rec;

static inline void lt_model(uint64_t seed, uint64_t i, lt_rec *m)
{
    uint64_t s = seed * 1000003 + i;
    uint64_t r = tt_rand(&s);
    m->ts = 1000000 + (int64_t)(r % 100000);
    m->has_key = i % 3 != 0;
    m->key_len = m->has_key ? (size_t)snprintf(m->key, sizeof m->key, "k%" PRIu64, r % 97) : 0;
    int n = snprintf(m->val, sizeof m->val, "value-%" PRIu64 "-", i);
    size_t pad = (size_t)(tt_rand(&s) % 40);
    for (size_t k = 0; k < pad; k++)
        m->val[n + (int)k] = (char)('a' + (k + i) % 26);
    m->val_len = (size_t)n + pad;
}

static inline tide_record lt_record(const lt_rec *m)
{
    tide_record r = {0};
    r.timestamp = m->ts;
    r.key = m->has_key ? m->key : NULL;
    r.key_len = m->key_len;
    r.value = m->val;
    r.value_len = m->val_len;
    return r;
}

/* Does a read record equal model record i? */
static inline bool lt_equal(const tide_record *r, uint64_t seed, uint64_t i)
{
    lt_rec m;
    lt_model(seed, i, &m);
    return r->offset == i && r->timestamp == m.ts && (r->key != NULL) == m.has_key &&
           r->key_len == m.key_len && (!r->key_len || !memcmp(r->key, m.key, m.key_len)) &&
           r->value_len == m.val_len && !memcmp(r->value, m.val, m.val_len);
}

/* Append model records [from, to) to `partition` in one call. */
static inline int lt_append(tide_log_writer *w, uint32_t partition, uint64_t seed, uint64_t from,
                            uint64_t to, tide_err *e)
{
    size_t n = (size_t)(to - from);
    lt_rec *m = malloc(n * sizeof *m + 1);
    tide_record *r = malloc(n * sizeof *r + 1);
    for (size_t i = 0; i < n; i++) {
        lt_model(seed, from + i, &m[i]);
        r[i] = lt_record(&m[i]);
    }
    uint64_t first = 0;
    int rc = tide_log_append(w, partition, r, n, &first, e);
    if (!rc && first != from)
        rc = TIDE_EINVAL;
    free(m);
    free(r);
    return rc;
}

static inline int lt_topic(const char *dir, const char *name, uint32_t parts, uint64_t seg_bytes,
                           const char *fsync)
{
    tide_topic_config c;
    tide_topic_config_default(&c);
    c.partitions = parts;
    c.segment_bytes = seg_bytes;
    tide_err e = {0};
    if (fsync && tide_fsync_parse(fsync, &c, &e))
        return e.code;
    int rc = tide_topic_create(dir, name, &c, &e);
    if (rc)
        fprintf(stderr, "create: %s\n", e.msg);
    return rc;
}

static inline char *lt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    *len = fread(p, 1, (size_t)n, f);
    fclose(f);
    return p;
}

static inline int lt_write_file(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, 1, len, f);
    fclose(f);
    return w == len ? 0 : -1;
}

static inline void lt_flip(const char *path, uint64_t pos, unsigned bit)
{
    size_t len;
    char *p = lt_read_file(path, &len);
    if (p && pos < len) {
        p[pos] ^= (char)(1u << bit);
        lt_write_file(path, p, len);
    }
    free(p);
}

static inline uint64_t lt_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* The segment bases in a partition directory, ascending (up to cap). */
static inline size_t lt_segments(const char *pdir, uint64_t *out, size_t cap)
{
    size_t n = 0;
    DIR *d = opendir(pdir);
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l == 24 && !strcmp(de->d_name + 20, ".log") && n < cap)
            out[n++] = strtoull(de->d_name, NULL, 10);
    }
    closedir(d);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
            uint64_t t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

/* Collected report lines. */
typedef struct lt_reports {
    int n;
    char last[512];
} lt_reports;

static inline void lt_report(void *ctx, const char *msg)
{
    lt_reports *r = ctx;
    r->n++;
    snprintf(r->last, sizeof r->last, "%s", msg);
}


/* A 1-partition topic (fsync never, segments of seg_bytes) written by
 * `calls` appends of `per` records each (one batch per call) of the model
 * `seed`: seg gets the first segment's path (4096 bytes), pos[c] where
 * batch c starts and pos[calls] the segment's size (room for calls + 1).
 * Exits on a setup failure. */
static inline void lt_write_batches(const char *dir, const char *topic, int calls, int per,
                                    uint64_t seg_bytes, uint64_t seed, char *seg, uint64_t *pos)
{
    tide_err e = {0};
    tide_log_writer *w = NULL;
    if (lt_topic(dir, topic, 1, seg_bytes, "never") ||
        tide_log_writer_open(&w, dir, topic, NULL, &e)) {
        fprintf(stderr, "setup failed: %s\n", e.msg);
        exit(1);
    }
    snprintf(seg, 4096, "%s/topics/%s/0/00000000000000000000.log", dir, topic);
    for (int c = 0; c < calls; c++) {
        pos[c] = lt_size(seg);
        if (lt_append(w, 0, seed, (uint64_t)c * per, (uint64_t)(c + 1) * per, &e)) {
            fprintf(stderr, "append failed: %s\n", e.msg);
            exit(1);
        }
    }
    pos[calls] = lt_size(seg);
    tide_log_writer_close(w, &e);
}

#endif
