/*
 * reader.c - reading one partition, concurrently with the writer.
 *
 * The reader keeps one segment open and a read buffer (TIDE_SEG_CHUNK, more
 * for a larger batch) filled by one pread; batches are validated once (CRC
 * and record structure) and their records handed out in place.
 *
 * Telling "not yet there" from "corrupt" (the rule reader.h documents):
 *   - The writer appends only to the last segment and seals a segment
 *     (fsync, then creates the next one named by the next offset) before it
 *     moves on, so everything in an older segment is final.
 *   - At the position P where the next batch should start in segment S:
 *       end of file at P: if `<next offset>.log` exists, move to it; else
 *         TIDE_EAGAIN (nothing new yet).
 *       an incomplete batch (fewer bytes than its header, or than its length
 *         field says): if S is the last segment, TIDE_EAGAIN (a write in
 *         progress, or a torn tail the next writer will cut); if a later
 *         segment exists, TIDE_ECORRUPT.
 *       a complete-length batch that fails validation (bad header, CRC,
 *         records, or unexpected base offset): if a later segment exists,
 *         TIDE_ECORRUPT at once; if S is the last segment, it may be a write
 *         in progress seen half-copied, so it is re-read up to
 *         TIDE_LOG_READ_RETRIES times, TIDE_LOG_READ_RETRY_MS apart; still
 *         bad, it is TIDE_ECORRUPT naming the file, position and offset.
 *   - A position taken from an index entry is only a hint: if the batch
 *     there is not a valid batch with the entry's offset, the reader scans
 *     the segment from its start instead.
 */
#include "log/reader.h"

#include "base/io.h"
#include "log/segment.h"
#include "log/topic.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { RETRY = 1 }; /* internal: state changed, loop again */

/* A transactional data batch between the read position and the lookahead,
 * and its fate. */
enum { FATE_OPEN, FATE_COMMITTED, FATE_ABORTED };
typedef struct txn_ent {
    uint64_t base, producer, txn;
    uint32_t count;
    uint8_t fate;
} txn_ent;

struct tide_log_reader {
    char *dir, *topic, *datadir;
    uint64_t incarnation; /* of the topic when the reader opened */
    struct stat meta_st;  /* its meta file then (a changed one is re-read) */
    uint32_t partition;
    tide_file *seg;
    uint64_t seg_base;
    char seg_path[TIDE_SEG_PATH_MAX];
    tide_buf buf;     /* read buffer: buf.len bytes from file position buf_pos */
    uint64_t buf_pos;
    size_t cur;       /* buf index of the next batch */
    uint64_t batch_next; /* base offset expected of the batch at cur */
    bool hinted;      /* cur came from an index entry not yet confirmed */
    int retries;      /* re-reads of a bad batch in the last segment */
    bool reread;      /* re-read once after seeing the segment is final */
    tide_batch_iter it;
    uint64_t pos;     /* offset of the next record to return */
    /* an incomplete batch in the last segment with nothing valid after it:
     * where, and the file size then (re-checked only when the file grows) */
    uint64_t torn_pos, torn_size;
    /* transactions */
    bool uncommitted;        /* read-uncommitted */
    bool blocked;            /* the last TIDE_EAGAIN stopped at an open transaction */
    struct tide_log_reader *ahead; /* read-committed: scans ahead for markers */
    txn_ent *tv;             /* tv[thead, tn): the batches ahead scanned, in offset order */
    size_t thead, tn, tcap;
};

static void seg_close(tide_log_reader *r)
{
    tide_io_close(r->seg);
    r->seg = NULL;
    r->it.left = 0;
    r->buf.len = 0;
    r->cur = 0;
    r->hinted = false;
    r->retries = 0;
    r->reread = false;
}

void tide_log_reader_close(tide_log_reader *r)
{
    if (!r)
        return;
    seg_close(r);
    tide_log_reader_close(r->ahead);
    free(r->tv);
    tide_buf_free(&r->buf);
    free(r->dir);
    free(r->topic);
    free(r->datadir);
    free(r);
}

int tide_log_reader_open(tide_log_reader **out, const char *datadir, const char *topic,
                         uint32_t partition, tide_err *e)
{
    *out = NULL;
    tide_topic_config c;
    int rc = tide_topic_config_load(datadir, topic, &c, e);
    if (rc)
        return rc;
    if (partition >= c.partitions)
        return tide_err_set(e, TIDE_ERANGE, "topic %s has no partition %" PRIu32 " (it has %" PRIu32 ")",
                            topic, partition, c.partitions);
    tide_log_reader *r = calloc(1, sizeof *r);
    char dir[TIDE_SEG_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/topics/%s/%" PRIu32, datadir, topic, partition);
    if (!r || !(r->dir = strdup(dir)) || !(r->topic = strdup(topic)) ||
        !(r->datadir = strdup(datadir))) {
        tide_log_reader_close(r);
        return tide_err_set(e, TIDE_ENOMEM, "topic %s: out of memory", topic);
    }
    r->partition = partition;
    r->incarnation = c.incarnation;
    char meta[TIDE_SEG_PATH_MAX];
    snprintf(meta, sizeof meta, "%s/topics/%s/meta", datadir, topic);
    if (stat(meta, &r->meta_st) != 0)
        memset(&r->meta_st, 0, sizeof r->meta_st);
    uint64_t *bases = NULL;
    size_t nb = 0;
    if ((rc = tide_seg_list(r->dir, &bases, &nb, e))) {
        tide_log_reader_close(r);
        return rc;
    }
    r->pos = nb ? bases[0] : 0;
    free(bases);
    *out = r;
    return 0;
}

uint64_t tide_log_reader_position(const tide_log_reader *r) { return r->pos; }

static int erange(tide_log_reader *r, uint64_t off, uint64_t first, tide_err *e)
{
    return tide_err_set(e, TIDE_ERANGE,
                        "topic %s partition %" PRIu32 ": offset %" PRIu64
                        " is no longer retained (first retained offset is %" PRIu64 ")",
                        r->topic, r->partition, off, first);
}

/* The topic is gone from under the reader: its partition directory no
 * longer exists (deleted, or the data directory removed), or the topic was
 * deleted and created again (another incarnation in its meta file).  An
 * error, never "nothing new yet": a listing of a missing directory is
 * empty, and a new topic's segments are not this reader's.  The meta file
 * is re-read only when its identity or change time moved. */
static int dir_gone(tide_log_reader *r, tide_err *e)
{
    struct stat st;
    if (stat(r->dir, &st) != 0 && errno == ENOENT)
        return tide_err_set(e, TIDE_ENOENT,
                            "topic %s partition %" PRIu32 ": %s no longer exists (topic deleted?)",
                            r->topic, r->partition, r->dir);
    char meta[TIDE_SEG_PATH_MAX];
    snprintf(meta, sizeof meta, "%s/topics/%s/meta", r->datadir, r->topic);
    if (stat(meta, &st) != 0 ||
        (st.st_dev == r->meta_st.st_dev && st.st_ino == r->meta_st.st_ino &&
         st.st_ctim.tv_sec == r->meta_st.st_ctim.tv_sec &&
         st.st_ctim.tv_nsec == r->meta_st.st_ctim.tv_nsec))
        return 0;
    tide_topic_config c;
    if (tide_topic_config_load(r->datadir, r->topic, &c, NULL) != 0)
        return 0; /* being replaced: judged at the next call */
    r->meta_st = st;
    if (c.incarnation == r->incarnation)
        return 0;
    return tide_err_set(e, TIDE_ENOENT,
                        "topic %s partition %" PRIu32 ": the topic was deleted and created again "
                        "under this reader (incarnation %016" PRIx64 ", now %016" PRIx64
                        "); stopped at offset %" PRIu64,
                        r->topic, r->partition, r->incarnation, c.incarnation, r->pos);
}

/* Open the segment holding `target` and place the read position at the
 * index entry at or before it (a hint), or at the segment's start. */
static int open_for(tide_log_reader *r, uint64_t target, tide_err *e)
{
    seg_close(r);
    int rc = 0;
    for (int attempt = 0;; attempt++) {
        uint64_t *bases = NULL;
        size_t nb = 0;
        if ((rc = tide_seg_list(r->dir, &bases, &nb, e)))
            return rc;
        if (nb == 0) {
            free(bases);
            return (rc = dir_gone(r, e)) ? rc : TIDE_EAGAIN;
        }
        if (target < bases[0]) {
            uint64_t first = bases[0];
            free(bases);
            return erange(r, target, first, e);
        }
        size_t k = nb - 1;
        while (bases[k] > target)
            k--;
        uint64_t base = bases[k];
        free(bases);
        if ((rc = tide_seg_path(r->seg_path, r->dir, base, ".log", e)))
            return rc;
        tide_err le = {0};
        rc = tide_io_open(&r->seg, r->seg_path, TIDE_IO_READ, &le);
        if (rc == TIDE_ENOENT && attempt < 3)
            continue; /* deleted by retention meanwhile: list again */
        if (rc)
            return tide_err_set(e, rc, "%s", le.msg);
        r->seg_base = base;
        break;
    }
    char ipath[TIDE_SEG_PATH_MAX];
    tide_seg_idx_file idx;
    if ((rc = tide_seg_path(ipath, r->dir, r->seg_base, ".idx", e)) ||
        (rc = tide_seg_idx_load(ipath, r->seg_base, &idx, e)))
        return rc;
    long k = tide_seg_idx_find_offset(&idx, target);
    r->buf.len = r->cur = 0;
    if (k >= 0) {
        r->buf_pos = idx.v[k].pos;
        r->batch_next = idx.v[k].offset;
        r->hinted = idx.v[k].pos > 0;
    } else {
        r->buf_pos = 0;
        r->batch_next = r->seg_base;
    }
    tide_seg_idx_file_free(&idx);
    return 0;
}

/* Read `want` bytes starting at the next batch into the buffer. */
static int refill(tide_log_reader *r, size_t want, tide_err *e)
{
    r->buf_pos += r->cur;
    r->cur = 0;
    r->buf.len = 0;
    if (tide_buf_reserve(&r->buf, want))
        return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", r->seg_path);
    size_t n = 0;
    int rc = tide_io_pread(r->seg, r->buf.data, want, r->buf_pos, &n, e);
    if (rc)
        return rc;
    r->buf.len = n;
    return 0;
}

/* Is there a segment after the current one?  *at_next: one starting at
 * the offset the next batch should have. */
static int later_segment2(tide_log_reader *r, bool *later, bool *at_next, tide_err *e)
{
    uint64_t *bases = NULL;
    size_t nb = 0;
    int rc = tide_seg_list(r->dir, &bases, &nb, e);
    *later = !rc && nb && bases[nb - 1] > r->seg_base;
    *at_next = false;
    for (size_t i = 0; !rc && i < nb; i++)
        *at_next |= bases[i] == r->batch_next;
    free(bases);
    return rc;
}

static int later_segment(tide_log_reader *r, bool *later, tide_err *e)
{
    bool at_next;
    return later_segment2(r, later, &at_next, e);
}

static void drop_buffer(tide_log_reader *r)
{
    r->buf_pos += r->cur;
    r->cur = 0;
    r->buf.len = 0;
}

/* The hint was wrong: scan the segment from its start. */
static int unhint(tide_log_reader *r)
{
    r->hinted = false;
    r->buf_pos = 0;
    r->cur = 0;
    r->buf.len = 0;
    r->batch_next = r->seg_base;
    return RETRY;
}

/* Report corruption at the next batch; a later call reads it afresh. */
static int corrupt(tide_log_reader *r, const char *why, tide_err *e)
{
    int rc = tide_err_set(e, TIDE_ECORRUPT,
                          "%s: corrupt batch at position %" PRIu64 " (offset %" PRIu64 "): %s",
                          r->seg_path, r->buf_pos + r->cur, r->batch_next, why);
    drop_buffer(r);
    r->retries = 0;
    r->reread = false;
    return rc;
}

/* End of the file's data at the next batch position. */
static int at_end(tide_log_reader *r, tide_err *e)
{
    if (r->hinted)
        return unhint(r); /* an index entry never points at the end of the file */
    char next[TIDE_SEG_PATH_MAX];
    int rc = tide_seg_path(next, r->dir, r->batch_next, ".log", e);
    if (rc)
        return rc;
    bool later = false, at_next = false;
    if (r->batch_next == r->seg_base) {
        /* an empty segment: fine as the last one (just created by a roll);
         * followed by another, it is a gap (a roll never leaves one empty) */
        if ((rc = later_segment(r, &later, e)))
            return rc;
        if (!later)
            return (rc = dir_gone(r, e)) ? rc : TIDE_EAGAIN;
        if (!r->reread) {
            r->reread = true;
            drop_buffer(r);
            return RETRY;
        }
        return corrupt(r, "empty segment followed by a later one", e);
    }
    tide_file *f = NULL;
    tide_err le = {0};
    rc = tide_io_open(&f, next, TIDE_IO_READ, &le);
    if (rc == 0) {
        uint64_t nb = r->batch_next;
        seg_close(r);
        r->seg = f;
        r->seg_base = nb;
        memcpy(r->seg_path, next, sizeof next);
        r->buf_pos = 0;
        r->batch_next = nb;
        return RETRY;
    }
    if (rc != TIDE_ENOENT)
        return tide_err_set(e, rc, "%s", le.msg);
    if (access(r->seg_path, F_OK) != 0 && errno == ENOENT) {
        /* our segment was deleted by retention; is the next one gone too? */
        uint64_t *bases = NULL;
        size_t nb = 0;
        if ((rc = tide_seg_list(r->dir, &bases, &nb, e)))
            return rc;
        uint64_t first = nb ? bases[0] : 0;
        free(bases);
        if (nb && first > r->batch_next)
            return erange(r, r->batch_next, first, e);
    }
    if ((rc = later_segment2(r, &later, &at_next, e)))
        return rc;
    if (!later)
        return (rc = dir_gone(r, e)) ? rc : TIDE_EAGAIN;
    if (at_next)
        return RETRY; /* created just after we tried to open it */
    /* a later segment exists but does not start here: unless ours grew
     * meanwhile (appended to, then rolled), the offsets have a gap */
    uint64_t size = 0;
    if ((rc = tide_io_size(r->seg, &size, e)))
        return rc;
    if (size > r->buf_pos + r->cur && !r->reread) {
        r->reread = true;
        drop_buffer(r);
        return RETRY;
    }
    return corrupt(r, "the segment ends here but no segment starts at this offset", e);
}

/* An incomplete batch at the next position of the last segment: a write
 * in progress, or a torn tail the next writer open cuts -- unless valid
 * data follows it (the writer recovery's rule, tide_seg_find_valid_after):
 * then it is damage that can never complete, TIDE_ECORRUPT naming where
 * valid data resumes.  The search runs once per file size. */
static int torn_or_damaged(tide_log_reader *r, tide_err *e)
{
    uint64_t at = r->buf_pos + r->cur, size = 0;
    int rc = tide_io_size(r->seg, &size, e);
    if (rc || (r->torn_pos == at && r->torn_size == size))
        return rc;
    tide_seg_index ix;
    tide_seg_index_init(&ix, false);
    tide_buf tmp = {0};
    tide_seg_scan sc;
    bool found = false, completed = false;
    uint64_t where = 0;
    rc = tide_seg_scan_file(r->seg, at, r->batch_next, &ix, &tmp, &sc, e);
    if (!rc && sc.end == at && sc.tail != TIDE_SEG_CLEAN)
        rc = tide_seg_find_valid_after(r->seg, &sc, &tmp, &found, &where, e);
    if (!rc && found) {
        /* The bytes at `at` may have been read while their write was in
         * progress, and the valid data after them written since.  Writes
         * append in order (one writer at a time, each batch in one write),
         * so a write that completed after ours began is seen whole by a
         * read now: the batch is damaged only if it is still incomplete. */
        tide_seg_scan again;
        tide_seg_index_free(&ix);
        tide_seg_index_init(&ix, false);
        rc = tide_seg_scan_file(r->seg, at, r->batch_next, &ix, &tmp, &again, e);
        completed = !rc && again.end > at;
    }
    tide_buf_free(&tmp);
    tide_seg_index_free(&ix);
    if (rc)
        return rc;
    if (completed)
        return 0; /* the caller reads again from `at` */
    if (!found) {
        r->torn_pos = at;
        r->torn_size = size;
        return 0;
    }
    char why[256];
    snprintf(why, sizeof why,
             "%s, and valid data resumes at position %" PRIu64 ": the batch can never complete",
             sc.why[0] ? sc.why : "incomplete batch", where);
    return corrupt(r, why, e);
}

/* An incomplete batch at the next position. */
static int incomplete(tide_log_reader *r, tide_err *e)
{
    if (r->hinted)
        return unhint(r);
    bool later = false;
    int rc = later_segment(r, &later, e);
    if (rc)
        return rc;
    if (!later) {
        if ((rc = torn_or_damaged(r, e)))
            return rc;
        drop_buffer(r);
        return (rc = dir_gone(r, e)) ? rc : TIDE_EAGAIN;
    }
    /* the segment is final; it may have been completed just before the roll */
    if (!r->reread) {
        r->reread = true;
        drop_buffer(r);
        return RETRY;
    }
    return corrupt(r, "incomplete batch in a sealed segment", e);
}

/* A complete-length batch that is not valid at the next position. */
static int bad(tide_log_reader *r, const char *why, tide_err *e)
{
    if (r->hinted)
        return unhint(r);
    bool later = false;
    int rc = later_segment(r, &later, e);
    if (rc)
        return rc;
    if (later && !r->reread) {
        /* final now, but what we read may predate the end of the write */
        r->reread = true;
        drop_buffer(r);
        return RETRY;
    }
    if (later || r->retries >= TIDE_LOG_READ_RETRIES)
        return corrupt(r, why, e);
    r->retries++;
    struct timespec ts = {0, TIDE_LOG_READ_RETRY_MS * 1000000L};
    nanosleep(&ts, NULL);
    drop_buffer(r);
    return RETRY;
}

/* The next valid batch: 0 with *h and *data (in r->buf, valid until the
 * next refill), TIDE_EAGAIN at the end of what is there, or an error. */
static int next_batch(tide_log_reader *r, tide_batch_header *h, const unsigned char **data, tide_err *e)
{
    int rc;
    for (;;) {
        if (!r->seg && (rc = open_for(r, r->pos, e)))
            return rc;
        size_t avail = r->buf.len - r->cur;
        if (avail < TIDE_BATCH_HEADER) {
            if ((rc = refill(r, TIDE_SEG_CHUNK, e)))
                return rc;
            avail = r->buf.len;
        }
        if (avail == 0)
            rc = at_end(r, e);
        else if (avail < TIDE_BATCH_HEADER)
            rc = incomplete(r, e);
        else if (tide_batch_header_parse(r->buf.data + r->cur, h))
            rc = bad(r, "invalid batch header", e);
        else if (h->base_offset != r->batch_next)
            rc = bad(r, "unexpected base offset", e);
        else {
            if (avail < h->length) {
                if ((rc = refill(r, h->length > TIDE_SEG_CHUNK ? h->length : TIDE_SEG_CHUNK, e)))
                    return rc;
                avail = r->buf.len;
            }
            if (avail < h->length)
                rc = incomplete(r, e);
            else if (tide_batch_validate(r->buf.data + r->cur, h))
                rc = bad(r, "checksum or record structure mismatch", e);
            else {
                *data = r->buf.data + r->cur;
                r->cur += h->length;
                r->batch_next += h->count;
                r->hinted = false;
                r->retries = 0;
                r->reread = false;
                return 0;
            }
        }
        if (rc != RETRY)
            return rc;
    }
}

/* ---- read-committed ----
 *
 * The fate of a transactional data batch of producer P with transaction T
 * is set by the first marker of P after it in the partition that covers it
 * (COMMIT with T <= its txn, or ABORT with T < its txn); until then it is
 * open, and nothing at or after it is delivered (it is the last stable
 * offset).  When the read position meets a transactional batch whose fate
 * is not known, a second reader (`ahead`, raw) scans on from that batch,
 * noting each transactional data batch it passes (tv, in offset order) and
 * applying each marker to the open ones of its producer, until the batch's
 * fate is known or the data ends.  The notes are dropped as the read
 * position passes them, so memory holds only the transactional batches
 * between the two positions. */

static void txn_reset(tide_log_reader *r) { r->thead = r->tn = 0; }

static int txn_note(tide_log_reader *r, const tide_batch_header *h, const tide_batch_txn *t, tide_err *e)
{
    if (t->flags & TIDE_BATCH_CONTROL) {
        bool abort = t->flags & TIDE_BATCH_ABORT;
        for (size_t i = r->thead; i < r->tn; i++) {
            txn_ent *x = &r->tv[i];
            if (x->producer != t->producer || x->fate != FATE_OPEN)
                continue;
            if (!abort && x->txn <= t->txn)
                x->fate = FATE_COMMITTED;
            else if (abort && x->txn > t->txn)
                x->fate = FATE_ABORTED;
        }
        return 0;
    }
    if (r->thead > 0 && r->thead * 2 >= r->tn) {
        memmove(r->tv, r->tv + r->thead, (r->tn - r->thead) * sizeof *r->tv);
        r->tn -= r->thead;
        r->thead = 0;
    }
    if (r->tn == r->tcap) {
        size_t cap = r->tcap ? 2 * r->tcap : 64;
        txn_ent *v = realloc(r->tv, cap * sizeof *v);
        if (!v)
            return tide_err_set(e, TIDE_ENOMEM, "topic %s: out of memory", r->topic);
        r->tv = v;
        r->tcap = cap;
    }
    r->tv[r->tn++] = (txn_ent){h->base_offset, t->producer, t->txn, h->count, FATE_OPEN};
    return 0;
}

/* The fate of the transactional data batch h at the read position. */
static int txn_fate(tide_log_reader *r, const tide_batch_header *h, int *fate, tide_err *e)
{
    int rc;
    while (r->thead < r->tn && r->tv[r->thead].base < h->base_offset)
        r->thead++;
    if (r->thead == r->tn || r->tv[r->thead].base != h->base_offset) {
        /* not scanned ahead yet (or the read position moved): start there */
        txn_reset(r);
        if (!r->ahead) {
            if ((rc = tide_log_reader_open(&r->ahead, r->datadir, r->topic, r->partition, e)))
                return rc;
            r->ahead->uncommitted = true;
        }
        if ((rc = tide_log_reader_seek(r->ahead, h->base_offset, e)))
            return rc;
    }
    for (;;) {
        if (r->thead < r->tn && r->tv[r->thead].base == h->base_offset && r->tv[r->thead].fate != FATE_OPEN) {
            *fate = r->tv[r->thead].fate;
            return 0;
        }
        tide_batch_header ah;
        const unsigned char *data;
        rc = next_batch(r->ahead, &ah, &data, e);
        if (rc == TIDE_EAGAIN) {
            *fate = FATE_OPEN;
            return 0;
        }
        if (rc)
            return rc;
        tide_batch_txn t;
        if (ah.base_offset < h->base_offset || !tide_batch_get_txn(data, &ah, &t))
            continue;
        if ((rc = txn_note(r, &ah, &t, e)))
            return rc;
    }
}

/* Put the batch just returned by next_batch back (it is read again next). */
static void unread(tide_log_reader *r, const tide_batch_header *h)
{
    r->cur -= h->length;
    r->batch_next = h->base_offset;
}

int tide_log_reader_next(tide_log_reader *r, tide_record *rec, tide_err *e)
{
    r->blocked = false;
    for (;;) {
        while (r->it.left) {
            tide_batch_iter_next(&r->it, rec);
            if (rec->offset < r->pos)
                continue;
            rec->partition = r->partition;
            r->pos = rec->offset + 1;
            return 0;
        }
        tide_batch_header h;
        const unsigned char *data;
        int rc = next_batch(r, &h, &data, e);
        if (rc)
            return rc;
        uint64_t end = h.base_offset + h.count;
        if (end <= r->pos)
            continue;
        tide_batch_txn t;
        if (tide_batch_get_txn(data, &h, &t)) {
            int fate = FATE_COMMITTED;
            if (t.flags & TIDE_BATCH_CONTROL)
                fate = FATE_ABORTED; /* a marker is never a record */
            else if (!r->uncommitted && (rc = txn_fate(r, &h, &fate, e))) {
                unread(r, &h);
                return rc;
            }
            if (fate == FATE_OPEN) {
                unread(r, &h);
                if (r->pos < h.base_offset)
                    r->pos = h.base_offset;
                r->blocked = true;
                return TIDE_EAGAIN;
            }
            if (fate == FATE_ABORTED) {
                r->pos = end;
                continue;
            }
        }
        tide_batch_iter_init(&r->it, data, &h);
    }
}

void tide_log_reader_set_isolation(tide_log_reader *r, tide_log_isolation iso)
{
    r->uncommitted = iso == TIDE_LOG_READ_UNCOMMITTED;
    txn_reset(r);
}

bool tide_log_reader_blocked(const tide_log_reader *r) { return r->blocked; }

int tide_log_txn_scan(const char *datadir, const char *topic, uint32_t partition, tide_log_txn_info *out,
                      tide_err *e)
{
    memset(out, 0, sizeof *out);
    tide_log_reader *r = NULL;
    int rc = tide_log_reader_open(&r, datadir, topic, partition, e);
    if (rc)
        return rc;
    r->uncommitted = true;
    out->lso = r->pos;
    for (;;) {
        tide_batch_header h;
        const unsigned char *data;
        rc = next_batch(r, &h, &data, e);
        if (rc == TIDE_EAGAIN) {
            rc = 0;
            break;
        }
        if (rc)
            break;
        out->lso = h.base_offset + h.count; /* the end, unless something is open */
        tide_batch_txn t;
        if (!tide_batch_get_txn(data, &h, &t))
            continue;
        if (t.flags & TIDE_BATCH_CONTROL) {
            out->markers++;
            size_t before = r->tn - r->thead;
            if ((rc = txn_note(r, &h, &t, e)))
                break;
            /* drop what the marker settled */
            size_t k = r->thead;
            for (size_t i = r->thead; i < r->tn; i++) {
                if (r->tv[i].fate == FATE_COMMITTED)
                    out->committed_records += r->tv[i].count;
                else if (r->tv[i].fate == FATE_ABORTED)
                    out->aborted_records += r->tv[i].count;
                else
                    r->tv[k++] = r->tv[i];
            }
            r->tn = k;
            (void)before;
        } else if ((rc = txn_note(r, &h, &t, e))) {
            break;
        }
    }
    if (rc == 0) {
        /* what is still open: one line per (producer, txn), from its first batch */
        for (size_t i = r->thead; i < r->tn; i++) {
            const txn_ent *x = &r->tv[i];
            out->open_records += x->count;
            if (i == r->thead)
                out->lso = x->base;
            size_t j = 0;
            while (j < out->nopen && j < TIDE_LOG_TXN_INFO_MAX &&
                   (out->open[j].producer != x->producer || out->open[j].txn != x->txn))
                j++;
            if (j < out->nopen) {
                out->open[j].records += x->count;
            } else {
                if (j < TIDE_LOG_TXN_INFO_MAX)
                    out->open[j] = (tide_log_txn_open){x->producer, x->txn, x->base, x->count};
                out->nopen++;
            }
        }
    }
    tide_log_reader_close(r);
    return rc;
}

int tide_log_reader_seek(tide_log_reader *r, uint64_t offset, tide_err *e)
{
    txn_reset(r);
    seg_close(r);
    int rc = open_for(r, offset, e);
    if (rc && rc != TIDE_EAGAIN)
        return rc;
    r->pos = offset;
    return 0;
}

int tide_log_reader_seek_time(tide_log_reader *r, int64_t ts, tide_err *e)
{
    txn_reset(r);
    seg_close(r);
    uint64_t *bases = NULL;
    size_t nb = 0;
    tide_seg_idx_file idx = {0};
    int rc = tide_seg_list(r->dir, &bases, &nb, e);
    if (rc || nb == 0) {
        if (!rc)
            r->pos = 0;
        goto done;
    }
    /* skip whole sealed segments whose records are all older than ts */
    size_t k = 0;
    long hint = -1;
    for (; k < nb; k++) {
        char path[TIDE_SEG_PATH_MAX], ipath[TIDE_SEG_PATH_MAX];
        tide_seg_idx_file_free(&idx);
        if ((rc = tide_seg_path(path, r->dir, bases[k], ".log", e)) ||
            (rc = tide_seg_path(ipath, r->dir, bases[k], ".idx", e)) ||
            (rc = tide_seg_idx_load(ipath, bases[k], &idx, e)))
            goto done;
        hint = tide_seg_idx_find_time(&idx, ts);
        if (k + 1 == nb || !idx.sealed || idx.seal.max_before >= ts)
            break;
        uint64_t size = 0;
        tide_file *f = NULL;
        tide_err le = {0};
        if (tide_io_open(&f, path, TIDE_IO_READ, &le) == 0) {
            tide_io_size(f, &size, &le);
            tide_io_close(f);
        }
        if (size != idx.seal.pos)
            break; /* the seal does not describe this file: read it */
    }
    uint64_t start = hint >= 0 ? idx.v[hint].offset : bases[k];
    if ((rc = open_for(r, start, e))) {
        if (rc == TIDE_EAGAIN) {
            rc = 0;
            r->pos = start;
        }
        goto done;
    }
    /* open_for started at an index entry at or before `start`: every record
     * before it is older than ts (max_before is a running maximum) */
    r->pos = r->batch_next;
    for (;;) {
        tide_batch_header h;
        const unsigned char *data;
        rc = next_batch(r, &h, &data, e);
        if (rc == TIDE_EAGAIN) {
            r->pos = r->batch_next;
            rc = 0;
            goto done;
        }
        if (rc)
            goto done;
        if (h.max_ts < ts)
            continue;
        tide_batch_iter_init(&r->it, data, &h);
        tide_batch_iter it = r->it;
        tide_record rec;
        while (tide_batch_iter_next(&it, &rec))
            if (rec.timestamp >= ts)
                break;
        r->pos = rec.offset; /* max_ts >= ts: some record qualifies */
        goto done;
    }
done:
    tide_seg_idx_file_free(&idx);
    free(bases);
    return rc;
}

int tide_log_reader_bounds(tide_log_reader *r, uint64_t *first, uint64_t *next, tide_err *e)
{
    uint64_t *bases = NULL;
    size_t nb = 0;
    int rc = tide_seg_list(r->dir, &bases, &nb, e);
    if (rc)
        return rc;
    *first = *next = nb ? bases[0] : 0;
    if (nb) {
        tide_buf tmp = {0};
        tide_seg_summary s;
        rc = tide_seg_summarize(r->dir, bases[nb - 1], &tmp, &s, e);
        tide_buf_free(&tmp);
        if (!rc)
            *next = s.next_offset;
    }
    free(bases);
    return rc;
}
