/*
 * writer.c - appending to a topic, from any number of writers in any
 * processes: recovery, appends, segment rolling, durability and retention.
 *
 * Several writers (a handle each, in one process or many) may append to one
 * topic at once.  Every change to a partition's files happens under that
 * partition's append lock, an flock on `<partition dir>/lock`, held for one
 * append call (or one open, sync, close or retention step): so batches never
 * interleave and offsets stay dense.  Each writer keeps its own picture of
 * the partition's tail (active segment size, next offset, index state) and,
 * right after taking the lock, brings it up to date (part_sync):
 *   - nothing changed since this writer last held the lock (the active
 *     segment and its index have the sizes it left, and are still linked):
 *     go on.  That is the single-writer fast path: one lock, two fstat, one
 *     unlock per append call.
 *   - the active segment grew: the new batches (another writer's appends)
 *     are scanned and validated from where this writer left off, and noted
 *     in its index state.  If the scan meets an incomplete or bad batch (a
 *     writer killed mid-append), the partition is loaded again by the
 *     recovery rule below, which cuts a torn tail and reports it, or stops
 *     at damage in the middle.
 *   - the index grew: other writers flushed entries.  Each writer derives the
 *     same entries from the same batches (an entry depends only on the batch
 *     positions and timestamps), so the file's entries are a prefix of what
 *     this writer derived: it reads the new ones and drops its buffered
 *     entries they cover.  Anything but valid entries continuing the file (a
 *     seal: another writer rolled the segment; a torn slot; a shorter file)
 *     makes it load the partition again.
 *   - the active segment or its index was unlinked: load it again.
 * Loading (part_load) is the writer open's recovery, from the segment this
 * writer had as active onward: sealed segments it knows are kept (minus those
 * another writer's retention deleted), newer sealed ones are checked, the
 * newest is scanned as the active one.
 *
 * Recovery rule (at open, per partition, under the partition's lock):
 *   - Segments are `<base>.log`, ascending; each one's first batch must carry
 *     its base offset, and each segment must end where the next one starts.
 *   - Older (non-active) segments were fsynced and sealed when they rolled.
 *     One whose index is sealed and records the segment's exact size is not
 *     re-read.  Otherwise it is scanned batch by batch: any invalid or
 *     incomplete batch in it is TIDE_ECORRUPT naming the file and position
 *     (a sealed segment is never cut), else its index is rebuilt (reported).
 *   - The active (last) segment is always scanned batch by batch.  If it ends
 *     in an invalid or incomplete batch at position P, we search the rest of
 *     the file for a valid batch that follows it (after its extent when its
 *     header is intact, see tide_seg_find_valid_after): if there is one,
 *     the damage is in the middle (TIDE_ECORRUPT naming file, position
 *     and offset); if not, the bytes from P on are a torn tail: the file is
 *     truncated to P, fsynced, and the truncation reported.  Its index is
 *     rewritten from the scan (a seal left by a writer that died between
 *     sealing and creating the next segment goes with it: the segment is
 *     simply still the active one).
 *   - Then the active segment is fsynced, so every recovered offset is
 *     durable and tide_log_writer_synced() starts exact.
 *
 * Appends encode into one reusable buffer (batches of up to ~64 KiB) and
 * write it with one pwrite per call (per 8 MiB, and per segment roll).  A
 * segment rolls before a batch that would take it past segment_bytes
 * (unless it is empty): the buffered index entries are written, the segment
 * is fsynced whatever the policy (so an older segment is never torn), the
 * index gets its seal (so a seal promises a durable segment), a new segment
 * named by the next offset is created, and retention runs.  The policy's
 * fsync happens after the lock is released, so writers' fsyncs overlap.
 *
 * The topic's lock file is held shared by every writer for its whole life;
 * topic deletion takes it exclusive, so it never removes a topic a writer
 * has open.
 *
 * Any failed write, fsync, truncate, create or unlink fails the writer for
 * good: the error sticks and every later call returns it.
 */
#include "log/writer.h"

#include "base/crc32c.h"
#include "base/hash.h"
#include "base/io.h"
#include "log/segment.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_TARGET (64u * 1024)     /* bytes of records per batch, roughly */
#define FLUSH_BYTES (8u << 20)        /* pwrite at least every this many bytes */
#define IDX_FLUSH_ENTRIES 64          /* buffered index entries before a write */

typedef struct wseg {
    uint64_t base, size;
    int64_t min_ts, max_ts;
} wseg;

typedef struct wpart {
    char *dir;
    uint32_t id;
    tide_file *lock; /* <dir>/lock: the append lock, held around every change */
    wseg *old; /* non-active segments, ascending */
    size_t nold, capold;
    uint64_t old_bytes;
    tide_file *seg, *idx;
    uint64_t seg_base, seg_size;
    uint64_t idx_size;
    uint32_t idx_crc;        /* crc32c of the index file's first idx_size bytes */
    bool idx_any;            /* the index file holds an entry: */
    tide_seg_entry idx_last; /* its last one */
    tide_seg_index ix;       /* running state; v: entries not yet in the file */
    uint64_t next, synced;
    int64_t last_sync_ns;
} wpart;

struct tide_log_writer {
    char *datadir, *topic;
    tide_topic_config cfg;
    const tide_clock *clock;
    void (*report)(void *, const char *);
    void *report_ctx;
    tide_file *lock; /* the topic's lock file, held shared */
    wpart *parts;
    uint32_t nparts;
    uint32_t rr;
    tide_buf enc, scan, ibuf;
    tide_err err; /* the sticky error */
};

static void report(tide_log_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(tide_log_writer *w, const char *fmt, ...)
{
    char msg[TIDE_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (w->report)
        w->report(w->report_ctx, msg);
    else
        fprintf(stderr, "tide: %s\n", msg);
}

/* Make `le` the writer's sticky error (unless it has one) and return it through e. */
static int w_fail(tide_log_writer *w, tide_err *e, const tide_err *le)
{
    if (!w->err.code)
        w->err = *le;
    return tide_err_set(e, w->err.code, "%s", w->err.msg);
}

static int w_check(const tide_log_writer *w, tide_err *e)
{
    if (w->err.code)
        return tide_err_set(e, w->err.code, "%s", w->err.msg);
    return 0;
}

/* ---- index file ---- */

static int idx_write(wpart *p, const void *buf, size_t len, tide_err *e)
{
    int rc = tide_io_pwrite(p->idx, buf, len, p->idx_size, e);
    if (rc)
        return rc;
    p->idx_size += len;
    p->idx_crc = tide_crc32c(p->idx_crc, buf, len);
    return 0;
}

static int idx_flush(tide_log_writer *w, wpart *p, tide_err *e)
{
    if (!p->ix.n)
        return 0;
    tide_buf_reset(&w->ibuf);
    if (tide_buf_reserve(&w->ibuf, p->ix.n * TIDE_SEG_IDX_ENTRY))
        return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", tide_io_path(p->idx));
    for (size_t i = 0; i < p->ix.n; i++)
        tide_seg_idx_entry(w->ibuf.data + i * TIDE_SEG_IDX_ENTRY, p->seg_base, &p->ix.v[i]);
    int rc = idx_write(p, w->ibuf.data, p->ix.n * TIDE_SEG_IDX_ENTRY, e);
    if (!rc) {
        p->idx_any = true;
        p->idx_last = p->ix.v[p->ix.n - 1];
        p->ix.n = 0;
    }
    return rc;
}

/* (Re)write the index of segment `base` from `ix`: header and its entries,
 * plus a seal when `seal` is given.  Leaves the file open in p->idx when
 * keep is set (the active segment). */
static int idx_rewrite(tide_log_writer *w, wpart *p, uint64_t base, const tide_seg_index *ix,
                       const tide_seg_entry *seal, bool keep, tide_err *e)
{
    char path[TIDE_SEG_PATH_MAX];
    tide_file *f = NULL;
    int rc = tide_seg_path(path, p->dir, base, ".idx", e);
    if (rc)
        return rc;
    size_t len = TIDE_SEG_IDX_HEADER + (ix->n + 1) * TIDE_SEG_IDX_ENTRY;
    tide_buf_reset(&w->ibuf);
    if (tide_buf_reserve(&w->ibuf, len))
        return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", path);
    unsigned char *q = w->ibuf.data;
    tide_seg_idx_header(q, base);
    q += TIDE_SEG_IDX_HEADER;
    for (size_t i = 0; i < ix->n; i++, q += TIDE_SEG_IDX_ENTRY)
        tide_seg_idx_entry(q, base, &ix->v[i]);
    if (seal) {
        tide_seg_idx_seal(q, tide_crc32c(0, w->ibuf.data, (size_t)(q - w->ibuf.data)), seal);
        q += TIDE_SEG_IDX_ENTRY;
    }
    len = (size_t)(q - w->ibuf.data);
    if ((rc = tide_io_open(&f, path, TIDE_IO_WRITE | TIDE_IO_CREATE, e)) ||
        (rc = tide_io_truncate(f, 0, e)) || (rc = tide_io_pwrite(f, w->ibuf.data, len, 0, e))) {
        tide_io_close(f);
        return rc;
    }
    if (keep) {
        p->idx = f;
        p->idx_size = len;
        p->idx_crc = tide_crc32c(0, w->ibuf.data, len);
        p->idx_any = ix->n > 0;
        if (ix->n)
            p->idx_last = ix->v[ix->n - 1];
    } else {
        tide_io_close(f);
    }
    return 0;
}

/* The active segment's index grew to `size` since this writer last wrote or
 * read it: take in the entries other writers flushed and drop the buffered
 * ones they cover (the entries of a segment are a function of its batches,
 * so every writer derives the same ones).  Anything else -- a seal (another
 * writer rolled the segment), a torn or foreign slot, a file that shrank --
 * sets *reload: the partition is loaded again from its directory. */
static int idx_catch_up(tide_log_writer *w, wpart *p, uint64_t size, bool *reload, tide_err *e)
{
    *reload = size < p->idx_size || (size - p->idx_size) % TIDE_SEG_IDX_ENTRY != 0;
    if (*reload)
        return 0;
    size_t len = (size_t)(size - p->idx_size), got = 0;
    tide_buf_reset(&w->ibuf);
    if (tide_buf_reserve(&w->ibuf, len))
        return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", tide_io_path(p->idx));
    int rc = tide_io_pread(p->idx, w->ibuf.data, len, p->idx_size, &got, e);
    if (rc)
        return rc;
    for (size_t k = 0; k + TIDE_SEG_IDX_ENTRY <= got; k += TIDE_SEG_IDX_ENTRY) {
        const unsigned char *q = w->ibuf.data + k;
        tide_seg_entry en;
        if (!tide_seg_idx_entry_get(q, p->seg_base, &en) || en.offset >= p->next ||
            en.pos >= p->seg_size || (p->idx_any && !tide_seg_idx_entry_follows(&p->idx_last, &en))) {
            *reload = true;
            return 0;
        }
        p->idx_size += TIDE_SEG_IDX_ENTRY;
        p->idx_crc = tide_crc32c(p->idx_crc, q, TIDE_SEG_IDX_ENTRY);
        p->idx_any = true;
        p->idx_last = en;
    }
    *reload = got != len;
    size_t keep = 0;
    while (keep < p->ix.n && p->ix.v[keep].offset <= p->idx_last.offset)
        keep++;
    if (keep) {
        memmove(p->ix.v, p->ix.v + keep, (p->ix.n - keep) * sizeof *p->ix.v);
        p->ix.n -= keep;
    }
    return 0;
}

/* ---- segments ---- */

static int old_push(wpart *p, const wseg *s, tide_err *e)
{
    if (p->nold == p->capold) {
        size_t nc = p->capold ? p->capold * 2 : 8;
        wseg *nv = realloc(p->old, nc * sizeof *nv);
        if (!nv)
            return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", p->dir);
        p->old = nv;
        p->capold = nc;
    }
    p->old[p->nold++] = *s;
    p->old_bytes += s->size;
    return 0;
}

/* Create the empty active segment `base` and its index. */
static int seg_create(tide_log_writer *w, wpart *p, uint64_t base, tide_err *e)
{
    char path[TIDE_SEG_PATH_MAX];
    int rc = tide_seg_path(path, p->dir, base, ".log", e);
    if (rc || (rc = tide_io_open(&p->seg, path, TIDE_IO_WRITE | TIDE_IO_CREATE | TIDE_IO_EXCL, e)))
        return rc;
    p->seg_base = base;
    p->seg_size = 0;
    tide_seg_index_free(&p->ix);
    tide_seg_index_init(&p->ix, true);
    return idx_rewrite(w, p, base, &p->ix, NULL, true, e);
}

static int seg_fsync(tide_log_writer *w, wpart *p, tide_err *e)
{
    int rc = tide_io_fsync(p->seg, e);
    if (rc)
        return rc;
    p->synced = p->next;
    p->last_sync_ns = tide_clock_mono_ns(w->clock);
    return 0;
}

/* Delete the oldest sealed segments past the retention (lock held).  One
 * another writer's retention deleted already (ENOENT) just leaves the list. */
static int retain_part(tide_log_writer *w, wpart *p, tide_err *e)
{
    int64_t now = tide_clock_now_ms(w->clock), cutoff = 0;
    bool by_age = w->cfg.retention_ms >= 0 && !__builtin_sub_overflow(now, w->cfg.retention_ms, &cutoff);
    size_t k = 0;
    int rc = 0;
    while (k < p->nold) {
        const wseg *s = &p->old[k];
        uint64_t total = p->old_bytes + p->seg_size;
        bool age = by_age && s->max_ts < cutoff;
        bool size = w->cfg.retention_bytes >= 0 && total > (uint64_t)w->cfg.retention_bytes;
        if (!age && !size)
            break;
        char path[TIDE_SEG_PATH_MAX];
        tide_err le = {0};
        if ((rc = tide_seg_path(path, p->dir, s->base, ".log", e)))
            break;
        rc = tide_io_unlink(path, &le);
        if (rc && rc != TIDE_ENOENT) {
            tide_err_set(e, rc, "%s", le.msg);
            break;
        }
        p->old_bytes -= s->size;
        k++;
        if ((rc = tide_seg_path(path, p->dir, s->base, ".idx", e)))
            break;
        tide_err_clear(&le);
        rc = tide_io_unlink(path, &le);
        if (rc && rc != TIDE_ENOENT) {
            tide_err_set(e, rc, "%s", le.msg);
            break;
        }
        rc = 0;
    }
    if (k) {
        memmove(p->old, p->old + k, (p->nold - k) * sizeof *p->old);
        p->nold -= k;
    }
    return rc;
}

static int seg_roll(tide_log_writer *w, wpart *p, tide_err *e)
{
    int rc = idx_flush(w, p, e);
    if (rc || (rc = seg_fsync(w, p, e)))
        return rc;
    tide_seg_entry seal = {p->next, p->seg_size, p->ix.run_max, p->ix.run_min};
    unsigned char sb[TIDE_SEG_IDX_ENTRY];
    tide_seg_idx_seal(sb, p->idx_crc, &seal);
    if ((rc = idx_write(p, sb, sizeof sb, e)))
        return rc;
    wseg s = {p->seg_base, p->seg_size, p->ix.run_min, p->ix.run_max};
    if ((rc = old_push(p, &s, e)))
        return rc;
    tide_io_close(p->seg);
    tide_io_close(p->idx);
    p->seg = p->idx = NULL;
    if ((rc = seg_create(w, p, p->next, e)))
        return rc;
    return retain_part(w, p, e);
}

/* Remove index files without a segment (left by an interrupted deletion). */
static int remove_orphans(wpart *p, const uint64_t *bases, size_t nb, tide_err *e)
{
    DIR *d = opendir(p->dir);
    if (!d)
        return tide_err_sys(e, errno, "%s: opendir", p->dir);
    int rc = 0;
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n != 24 || strcmp(de->d_name + 20, ".idx") != 0)
            continue;
        char *end;
        errno = 0;
        unsigned long long b = strtoull(de->d_name, &end, 10);
        if (errno || end != de->d_name + 20)
            continue;
        bool have = false;
        for (size_t i = 0; i < nb && !have; i++)
            have = bases[i] == b;
        if (have)
            continue;
        char path[TIDE_SEG_PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", p->dir, de->d_name) >= (int)sizeof path)
            continue;
        rc = tide_io_unlink(path, e);
    }
    closedir(d);
    return rc;
}

/* Take an older segment into account: trust its sealed index if it matches,
 * else scan it fully (any damage is corruption) and rebuild the index. */
static int open_old(tide_log_writer *w, wpart *p, uint64_t base, uint64_t *expect, tide_err *e)
{
    char path[TIDE_SEG_PATH_MAX], ipath[TIDE_SEG_PATH_MAX];
    tide_file *f = NULL;
    tide_seg_idx_file idx = {0};
    tide_seg_index ix;
    tide_seg_index_init(&ix, true);
    uint64_t size = 0;
    int rc = tide_seg_path(path, p->dir, base, ".log", e);
    if (rc || (rc = tide_seg_path(ipath, p->dir, base, ".idx", e)))
        goto done;
    if (base != *expect) {
        rc = tide_err_set(e, TIDE_ECORRUPT,
                          "%s: segment starts at offset %" PRIu64 " but the previous one ends at %" PRIu64,
                          path, base, *expect);
        goto done;
    }
    if ((rc = tide_io_open(&f, path, TIDE_IO_READ, e)) || (rc = tide_io_size(f, &size, e)) ||
        (rc = tide_seg_idx_load(ipath, base, &idx, e)))
        goto done;
    if (idx.sealed && idx.clean && idx.seal.pos == size && size > 0) {
        wseg s = {base, size, idx.seal.min_before, idx.seal.max_before};
        *expect = idx.seal.offset;
        rc = old_push(p, &s, e);
        goto done;
    }
    tide_seg_scan sc;
    if ((rc = tide_seg_scan_file(f, 0, base, &ix, &w->scan, &sc, e)))
        goto done;
    if (sc.tail != TIDE_SEG_CLEAN || sc.batches == 0) {
        rc = tide_err_set(e, TIDE_ECORRUPT,
                          "%s: corrupt batch at position %" PRIu64 " (offset %" PRIu64
                          ") in an older segment: %s",
                          path, sc.end, sc.next_offset, sc.batches ? sc.why : "empty segment");
        goto done;
    }
    tide_seg_entry seal = {sc.next_offset, sc.end, ix.run_max, ix.run_min};
    if ((rc = idx_rewrite(w, p, base, &ix, &seal, false, e)))
        goto done;
    report(w, "%s: rebuilt the index of segment %s", w->topic, path);
    wseg s = {base, sc.end, ix.run_min, ix.run_max};
    *expect = sc.next_offset;
    rc = old_push(p, &s, e);
done:
    tide_seg_index_free(&ix);
    tide_seg_idx_file_free(&idx);
    tide_io_close(f);
    return rc;
}

/* Recover the active segment `base` (see the rule at the top). */
static int open_active(tide_log_writer *w, wpart *p, uint64_t base, uint64_t expect, tide_err *e)
{
    char path[TIDE_SEG_PATH_MAX];
    int rc = tide_seg_path(path, p->dir, base, ".log", e);
    if (rc)
        return rc;
    if (base != expect)
        return tide_err_set(e, TIDE_ECORRUPT,
                            "%s: segment starts at offset %" PRIu64 " but the previous one ends at %" PRIu64,
                            path, base, expect);
    if ((rc = tide_io_open(&p->seg, path, TIDE_IO_WRITE, e)))
        return rc;
    p->seg_base = base;
    tide_seg_index_free(&p->ix);
    tide_seg_index_init(&p->ix, true);
    tide_seg_scan sc;
    if ((rc = tide_seg_scan_file(p->seg, 0, base, &p->ix, &w->scan, &sc, e)))
        return rc;
    if (sc.tail != TIDE_SEG_CLEAN) {
        bool found = false;
        uint64_t at = 0;
        if ((rc = tide_seg_find_valid_after(p->seg, &sc, &w->scan, &found, &at, e)))
            return rc;
        if (found)
            return tide_err_set(e, TIDE_ECORRUPT,
                                "%s: corrupt batch at position %" PRIu64 " (offset %" PRIu64
                                "): %s; valid data follows at position %" PRIu64,
                                path, sc.end, sc.next_offset, sc.why, at);
    }
    p->seg_size = sc.end;
    p->next = sc.next_offset;
    /* the index first, so it never names bytes past the truncation */
    if ((rc = idx_rewrite(w, p, base, &p->ix, NULL, true, e)))
        return rc;
    p->ix.n = 0;
    if (sc.tail != TIDE_SEG_CLEAN) {
        uint64_t size = 0;
        if ((rc = tide_io_size(p->seg, &size, e)) || (rc = tide_io_truncate(p->seg, sc.end, e)))
            return rc;
        report(w,
               "%s: truncated a torn tail of %s at position %" PRIu64 " (offset %" PRIu64
               "): %s; %" PRIu64 " bytes dropped",
               w->topic, path, sc.end, sc.next_offset, sc.why, size - sc.end);
    }
    return seg_fsync(w, p, e);
}

/* Load the partition from its directory by the recovery rule (lock held):
 * at open (`first`) every segment; later, when another writer changed more
 * than the active segment's tail, from the segment this writer had as the
 * active one on (the sealed ones before it are known; those that another
 * writer's retention deleted leave the list). */
static int part_load(tide_log_writer *w, wpart *p, bool first, tide_err *e)
{
    uint64_t *bases = NULL;
    size_t nb = 0;
    tide_io_close(p->seg);
    tide_io_close(p->idx);
    p->seg = p->idx = NULL;
    tide_seg_index_free(&p->ix);
    tide_seg_index_init(&p->ix, true);
    int rc = tide_seg_list(p->dir, &bases, &nb, e);
    if (rc || (rc = remove_orphans(p, bases, nb, e)))
        goto done;
    if (nb == 0 && first) {
        p->next = 0;
        if ((rc = seg_create(w, p, 0, e)))
            goto done;
        p->synced = 0;
        p->last_sync_ns = tide_clock_mono_ns(w->clock);
        goto done;
    }
    size_t k = 0, i = 0;
    while (k < p->nold && nb && p->old[k].base < bases[0])
        p->old_bytes -= p->old[k++].size;
    if (k) {
        memmove(p->old, p->old + k, (p->nold - k) * sizeof *p->old);
        p->nold -= k;
    }
    while (i < nb && bases[i] < p->seg_base)
        i++;
    if (i == nb) {
        rc = tide_err_set(e, TIDE_ECORRUPT,
                          "%s: no segment from offset %" PRIu64 " on (files removed under the writer)",
                          p->dir, p->seg_base);
        goto done;
    }
    uint64_t expect = bases[i];
    for (; i + 1 < nb && !rc; i++)
        rc = open_old(w, p, bases[i], &expect, e);
    if (!rc)
        rc = open_active(w, p, bases[nb - 1], expect, e);
done:
    free(bases);
    return rc;
}

/* Bring this writer's picture of partition p up to date with what other
 * writers did since it last held the lock (see the top of the file). */
static int part_sync(tide_log_writer *w, wpart *p, tide_err *e)
{
    uint64_t ssize, slinks, isize, ilinks;
    int rc = tide_io_fstat(p->seg, &ssize, &slinks, e);
    if (rc || (rc = tide_io_fstat(p->idx, &isize, &ilinks, e)))
        return rc;
    if (ssize == p->seg_size && isize == p->idx_size && slinks && ilinks)
        return 0;
    if (!slinks || !ilinks)
        return part_load(w, p, false, e);
    if (ssize < p->seg_size)
        return tide_err_set(e, TIDE_ECORRUPT,
                            "%s: the segment shrank from %" PRIu64 " to %" PRIu64
                            " bytes under the writer (offsets up to %" PRIu64 " were written)",
                            tide_io_path(p->seg), p->seg_size, ssize, p->next);
    if (ssize > p->seg_size) {
        tide_seg_scan sc;
        if ((rc = tide_seg_scan_file(p->seg, p->seg_size, p->next, &p->ix, &w->scan, &sc, e)))
            return rc;
        if (sc.tail != TIDE_SEG_CLEAN)
            return part_load(w, p, false, e); /* a torn tail or damage: recovery decides */
        p->seg_size = sc.end;
        p->next = sc.next_offset;
    }
    bool reload = false;
    if (isize != p->idx_size && (rc = idx_catch_up(w, p, isize, &reload, e)))
        return rc;
    return reload ? part_load(w, p, false, e) : 0;
}

/* Take partition p's append lock and sync with the files. */
static int part_begin(tide_log_writer *w, wpart *p, tide_err *e)
{
    int rc = tide_io_lock(p->lock, TIDE_IO_LOCK_EX | TIDE_IO_LOCK_WAIT, e);
    if (rc)
        return rc;
    if ((rc = part_sync(w, p, e)))
        tide_io_unlock(p->lock, NULL);
    return rc;
}

/* Release the lock; returns rc, else the unlock's error. */
static int part_end(wpart *p, int rc, tide_err *e)
{
    int urc = tide_io_unlock(p->lock, rc ? NULL : e);
    return rc ? rc : urc;
}

static int part_open(tide_log_writer *w, wpart *p, tide_err *e)
{
    char path[TIDE_SEG_PATH_MAX];
    int rc = tide_io_mkdirs(p->dir, e);
    if (rc)
        return rc;
    if (snprintf(path, sizeof path, "%s/lock", p->dir) >= (int)sizeof path)
        return tide_err_set(e, TIDE_EINVAL, "%s: path too long", p->dir);
    if ((rc = tide_io_open(&p->lock, path, TIDE_IO_WRITE | TIDE_IO_CREATE, e)) ||
        (rc = tide_io_lock(p->lock, TIDE_IO_LOCK_EX | TIDE_IO_LOCK_WAIT, e)))
        return rc;
    rc = part_load(w, p, true, e);
    if (!rc)
        rc = retain_part(w, p, e);
    return part_end(p, rc, e);
}

static void part_free(wpart *p)
{
    tide_io_close(p->seg);
    tide_io_close(p->idx);
    tide_io_close(p->lock);
    tide_seg_index_free(&p->ix);
    free(p->old);
    free(p->dir);
}

/* ---- the API ---- */

static void writer_free(tide_log_writer *w)
{
    if (!w)
        return;
    for (uint32_t i = 0; w->parts && i < w->nparts; i++)
        part_free(&w->parts[i]);
    free(w->parts);
    tide_io_close(w->lock);
    tide_buf_free(&w->enc);
    tide_buf_free(&w->scan);
    tide_buf_free(&w->ibuf);
    free(w->datadir);
    free(w->topic);
    free(w);
}

int tide_log_writer_open(tide_log_writer **out, const char *datadir, const char *topic,
                         const tide_log_writer_opts *opts, tide_err *e)
{
    *out = NULL;
    tide_log_writer *w = calloc(1, sizeof *w);
    int rc = 0;
    if (!w || !(w->datadir = strdup(datadir)) || !(w->topic = strdup(topic))) {
        rc = tide_err_set(e, TIDE_ENOMEM, "topic %s: out of memory", topic);
        goto fail;
    }
    w->clock = opts && opts->clock ? opts->clock : tide_clock_system();
    if (opts) {
        w->report = opts->report;
        w->report_ctx = opts->report_ctx;
    }
    if ((rc = tide_topic_config_load(datadir, topic, &w->cfg, e)))
        goto fail;
    char path[TIDE_SEG_PATH_MAX];
    if (snprintf(path, sizeof path, "%s/topics/%s/lock", datadir, topic) >= (int)sizeof path) {
        rc = tide_err_set(e, TIDE_EINVAL, "%s: path too long", datadir);
        goto fail;
    }
    if ((rc = tide_io_open(&w->lock, path, TIDE_IO_WRITE | TIDE_IO_CREATE, e)))
        goto fail;
    tide_err le = {0};
    if ((rc = tide_io_lock(w->lock, TIDE_IO_LOCK_SH, &le))) {
        if (rc == TIDE_ELOCKED)
            tide_err_set(e, rc, "topic %s is being deleted", topic);
        else
            tide_err_set(e, rc, "%s", le.msg);
        goto fail;
    }
    w->nparts = w->cfg.partitions;
    if (!(w->parts = calloc(w->nparts, sizeof *w->parts))) {
        rc = tide_err_set(e, TIDE_ENOMEM, "topic %s: out of memory", topic);
        goto fail;
    }
    for (uint32_t i = 0; i < w->nparts; i++) {
        wpart *p = &w->parts[i];
        p->id = i;
        tide_seg_index_init(&p->ix, true);
        if (snprintf(path, sizeof path, "%s/topics/%s/%" PRIu32, datadir, topic, i) >= (int)sizeof path ||
            !(p->dir = strdup(path))) {
            rc = tide_err_set(e, TIDE_ENOMEM, "topic %s: out of memory", topic);
            goto fail;
        }
    }
    for (uint32_t i = 0; i < w->nparts; i++)
        if ((rc = part_open(w, &w->parts[i], e)))
            goto fail;
    tide_buf_free(&w->scan); /* a single writer needs it no more */
    *out = w;
    return 0;
fail:
    writer_free(w);
    return rc;
}

uint32_t tide_log_writer_partitions(const tide_log_writer *w) { return w->nparts; }
const tide_topic_config *tide_log_writer_config(const tide_log_writer *w) { return &w->cfg; }

uint32_t tide_log_writer_route(tide_log_writer *w, const void *key, size_t key_len)
{
    if (key)
        return tide_hash_partition(key, key_len, w->nparts);
    return w->rr++ % w->nparts;
}

uint64_t tide_log_writer_next(const tide_log_writer *w, uint32_t partition)
{
    return partition < w->nparts ? w->parts[partition].next : 0;
}

uint64_t tide_log_writer_synced(const tide_log_writer *w, uint32_t partition)
{
    return partition < w->nparts ? w->parts[partition].synced : 0;
}

/* The records [i, j) of the next batch: about BATCH_TARGET bytes, and a
 * timestamp span that fits the batch format. */
static size_t batch_end(const tide_record *recs, size_t i, size_t n, size_t hlen, size_t *est)
{
    size_t sz = hlen;
    int64_t lo = recs[i].timestamp, hi = recs[i].timestamp;
    size_t j = i;
    while (j < n) {
        const tide_record *r = &recs[j];
        size_t rs = TIDE_BATCH_REC_OVERHEAD + (r->key ? r->key_len : 0) + r->value_len;
        int64_t nlo = r->timestamp < lo ? r->timestamp : lo, nhi = r->timestamp > hi ? r->timestamp : hi;
        if (j > i && (sz + rs > BATCH_TARGET || (uint64_t)nhi - (uint64_t)nlo > (uint64_t)INT64_MAX))
            break;
        sz += rs;
        lo = nlo;
        hi = nhi;
        j++;
    }
    *est = sz;
    return j;
}

static int flush_enc(tide_log_writer *w, wpart *p, uint64_t pending_next, tide_err *e)
{
    if (!w->enc.len)
        return 0;
    int rc = tide_io_pwrite(p->seg, w->enc.data, w->enc.len, p->seg_size, e);
    if (rc)
        return rc;
    p->seg_size += w->enc.len;
    p->next = pending_next;
    tide_buf_reset(&w->enc);
    return 0;
}

/* Encode and write the records (lock held, p in sync); the index entries
 * are flushed when enough are buffered. */
static int append_locked(tide_log_writer *w, wpart *p, const tide_record *recs, size_t n, const tide_batch_txn *t,
                         tide_err *e)
{
    int rc;
    tide_buf_reset(&w->enc);
    uint64_t pending = p->next;
    size_t i = 0;
    while (i < n) {
        size_t est;
        size_t j = batch_end(recs, i, n, t ? TIDE_BATCH_HEADER_V2 : TIDE_BATCH_HEADER, &est);
        uint64_t filled = p->seg_size + w->enc.len;
        if (filled > 0 && filled + est > w->cfg.segment_bytes) {
            if ((rc = flush_enc(w, p, pending, e)) || (rc = seg_roll(w, p, e)))
                return rc;
        } else if (w->enc.len >= FLUSH_BYTES) {
            if ((rc = flush_enc(w, p, pending, e)))
                return rc;
        }
        size_t start = w->enc.len;
        rc = tide_batch_encode_txn(&w->enc, pending, recs + i, j - i, t);
        if (rc)
            return tide_err_set(e, rc, "topic %s partition %" PRIu32 ": encoding a batch: %s", w->topic,
                                p->id, tide_strerror(rc));
        tide_batch_header h;
        tide_batch_header_parse(w->enc.data + start, &h);
        if (tide_seg_index_note(&p->ix, p->seg_size + start, &h))
            return tide_err_set(e, TIDE_ENOMEM, "topic %s: out of memory", w->topic);
        pending += j - i;
        i = j;
    }
    if ((rc = flush_enc(w, p, pending, e)))
        return rc;
    return p->ix.n >= IDX_FLUSH_ENTRIES ? idx_flush(w, p, e) : 0;
}

int tide_log_append(tide_log_writer *w, uint32_t partition, const tide_record *recs, size_t n,
                    uint64_t *first_offset, tide_err *e)
{
    return tide_log_append_txn(w, partition, recs, n, NULL, first_offset, e);
}

int tide_log_append_txn(tide_log_writer *w, uint32_t partition, const tide_record *recs, size_t n,
                        const tide_batch_txn *t, uint64_t *first_offset, tide_err *e)
{
    int rc = w_check(w, e);
    if (rc)
        return rc;
    if (partition >= w->nparts)
        return tide_err_set(e, TIDE_EINVAL, "topic %s: no partition %" PRIu32 " (it has %" PRIu32 ")",
                            w->topic, partition, w->nparts);
    wpart *p = &w->parts[partition];
    for (size_t i = 0; i < n; i++) {
        size_t klen = recs[i].key ? recs[i].key_len : 0;
        if (recs[i].value_len && !recs[i].value)
            return tide_err_set(e, TIDE_EINVAL, "topic %s partition %" PRIu32 ": record %zu has no value",
                                w->topic, partition, i);
        if (klen > TIDE_RECORD_MAX || recs[i].value_len > TIDE_RECORD_MAX - klen)
            return tide_err_set(e, TIDE_ERANGE,
                                "topic %s partition %" PRIu32 ": record %zu is too large "
                                "(a batch is at most %u bytes)",
                                w->topic, partition, i, TIDE_BATCH_MAX);
    }
    if (n == 0) {
        if (first_offset)
            *first_offset = p->next;
        return 0;
    }
    tide_err le = {0};
    if ((rc = part_begin(w, p, &le)))
        return w_fail(w, e, &le);
    uint64_t first = p->next;
    rc = part_end(p, append_locked(w, p, recs, n, t, &le), &le);
    if (rc)
        return w_fail(w, e, &le);
    if (first_offset)
        *first_offset = first;
    bool sync = w->cfg.fsync == TIDE_FSYNC_ALWAYS;
    if (w->cfg.fsync == TIDE_FSYNC_INTERVAL) {
        int64_t now = tide_clock_mono_ns(w->clock);
        sync = now - p->last_sync_ns >= w->cfg.fsync_interval_ms * 1000000;
    }
    if (sync && (rc = seg_fsync(w, p, &le)))
        return w_fail(w, e, &le);
    return 0;
}

/* Write partition p's buffered index entries (under its lock), then fsync
 * it if it has unsynced offsets and `fsync` is set. */
static int part_flush(tide_log_writer *w, wpart *p, bool fsync, tide_err *e)
{
    int rc = 0;
    if (p->ix.n && !(rc = part_begin(w, p, e)))
        rc = part_end(p, idx_flush(w, p, e), e);
    if (!rc && fsync && p->synced < p->next)
        rc = seg_fsync(w, p, e);
    return rc;
}

int tide_log_writer_sync(tide_log_writer *w, tide_err *e)
{
    int rc = w_check(w, e);
    if (rc)
        return rc;
    tide_err le = {0};
    for (uint32_t i = 0; i < w->nparts; i++)
        if ((rc = part_flush(w, &w->parts[i], true, &le)))
            return w_fail(w, e, &le);
    return 0;
}

int tide_log_writer_retain(tide_log_writer *w, tide_err *e)
{
    int rc = w_check(w, e);
    if (rc)
        return rc;
    tide_err le = {0};
    for (uint32_t i = 0; i < w->nparts; i++) {
        wpart *p = &w->parts[i];
        if ((rc = part_begin(w, p, &le)) || (rc = part_end(p, retain_part(w, p, &le), &le)))
            return w_fail(w, e, &le);
    }
    return 0;
}

int tide_log_writer_close(tide_log_writer *w, tide_err *e)
{
    if (!w)
        return 0;
    int rc = w_check(w, e);
    if (!rc) {
        tide_err le = {0};
        for (uint32_t i = 0; i < w->nparts && !rc; i++)
            rc = part_flush(w, &w->parts[i], w->cfg.fsync != TIDE_FSYNC_NEVER, &le);
        if (rc)
            rc = tide_err_set(e, rc, "%s", le.msg);
    }
    writer_free(w);
    return rc;
}
