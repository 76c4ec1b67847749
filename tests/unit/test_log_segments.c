/* test_log_segments.c - segment rolling, retention by size and by age (fake
 * clock), offset and timestamp lookups against brute force, with the index
 * files present, deleted, or damaged. */
#include "log_tt.h"

#include "base/bytes.h"
#include "base/clock.h"
#include "base/crc32c.h"
#include "log/batch.h"
#include "log/segment.h"

#define SEED 5

static char base_dir[1024];

static void pdir_of(char *out, size_t cap, const char *topic)
{
    snprintf(out, cap, "%s/topics/%s/0", base_dir, topic);
}

static uint64_t seg_size(const char *pdir, uint64_t base)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%020" PRIu64 ".log", pdir, base);
    return lt_size(p);
}

/* Read from `from` to the end (EAGAIN), checking every record with the model. */
static long read_from(const char *topic, uint64_t from, uint64_t seed, tide_err *e)
{
    tide_log_reader *r = NULL;
    int rc = tide_log_reader_open(&r, base_dir, topic, 0, e);
    if (rc)
        return rc;
    if ((rc = tide_log_reader_seek(r, from, e))) {
        tide_log_reader_close(r);
        return rc;
    }
    long n = 0;
    tide_record rec;
    while ((rc = tide_log_reader_next(r, &rec, e)) == 0) {
        if (!lt_equal(&rec, seed, from + (uint64_t)n)) {
            tide_log_reader_close(r);
            return -1000;
        }
        n++;
    }
    tide_log_reader_close(r);
    return rc == TIDE_EAGAIN ? n : rc;
}

/* Retention by size, checked against a model of which segments must go:
 * the oldest non-active ones, while the partition is larger than the limit. */
static void test_retention_by_size(void)
{
    tide_topic_config c;
    tide_topic_config_default(&c);
    c.segment_bytes = 2000;
    c.retention_bytes = 7000;
    c.fsync = TIDE_FSYNC_NEVER;
    tide_err e = {0};
    TT_OK(tide_topic_create(base_dir, "size", &c, &e));
    tide_log_writer *w = NULL;
    TT_OK(tide_log_writer_open(&w, base_dir, "size", NULL, &e));
    char pdir[2048];
    pdir_of(pdir, sizeof pdir, "size");
    uint64_t next = 0;
    uint64_t seed = tt_seed(99);
    for (int step = 0; step < 60; step++) {
        uint64_t n = 1 + tt_rand(&seed) % 12;
        TT_OK(lt_append(w, 0, SEED, next, next + n, &e));
        next += n;
        /* the model: what the files say before retention, and what must remain */
        uint64_t before[256], after[256];
        size_t nb = lt_segments(pdir, before, 256), keep_from = 0;
        uint64_t total = 0;
        for (size_t i = 0; i < nb; i++) {
            total += seg_size(pdir, before[i]);
            /* every sealed segment respects the roll size (batches are small) */
            if (i + 1 < nb)
                TT_ASSERT(seg_size(pdir, before[i]) <= c.segment_bytes);
        }
        while (keep_from + 1 < nb && total > (uint64_t)c.retention_bytes)
            total -= seg_size(pdir, before[keep_from++]);
        TT_OK(tide_log_writer_retain(w, &e));
        size_t na = lt_segments(pdir, after, 256);
        TT_ASSERT_EQ_INT(na, nb - keep_from);
        for (size_t i = 0; i < na; i++)
            TT_ASSERT_EQ_INT(after[i], before[keep_from + i]);
        TT_ASSERT_EQ_INT(tide_log_writer_next(w, 0), next);
    }
    uint64_t segs[256];
    size_t ns = lt_segments(pdir, segs, 256);
    TT_ASSERT(ns >= 2 && segs[0] > 0); /* something was deleted */
    /* offsets kept: first moved, next unchanged, reading from first works */
    tide_log_reader *r = NULL;
    TT_OK(tide_log_reader_open(&r, base_dir, "size", 0, &e));
    TT_ASSERT_EQ_INT(tide_log_reader_position(r), segs[0]);
    uint64_t first, nx;
    TT_OK(tide_log_reader_bounds(r, &first, &nx, &e));
    TT_ASSERT_EQ_INT(first, segs[0]);
    TT_ASSERT_EQ_INT(nx, next);
    tide_err re = {0};
    TT_ASSERT_EQ_INT(tide_log_reader_seek(r, segs[0] - 1, &re), TIDE_ERANGE);
    char want[64];
    snprintf(want, sizeof want, "%" PRIu64, segs[0]);
    TT_ASSERT_MSG(strstr(re.msg, want), "%s", re.msg);
    tide_log_reader_close(r);
    TT_ASSERT_EQ_INT(read_from("size", segs[0], SEED, &e), (long)(next - segs[0]));
    TT_OK(tide_log_writer_close(w, &e));
    /* reopen: offsets continue */
    TT_OK(tide_log_writer_open(&w, base_dir, "size", NULL, &e));
    TT_ASSERT_EQ_INT(tide_log_writer_next(w, 0), next);
    TT_OK(lt_append(w, 0, SEED, next, next + 3, &e));
    TT_OK(tide_log_writer_close(w, &e));
    TT_ASSERT_EQ_INT(read_from("size", segs[0], SEED, &e), (long)(next + 3 - segs[0]));
}

/* Retention by age with a fake clock: a segment goes when its newest record
 * is older than now - retention_ms; whole segments, oldest first. */
static void test_retention_by_age(void)
{
    tide_topic_config c;
    tide_topic_config_default(&c);
    c.segment_bytes = 1500;
    c.retention_ms = 50000;
    c.fsync = TIDE_FSYNC_NEVER;
    tide_err e = {0};
    TT_OK(tide_topic_create(base_dir, "age", &c, &e));
    tide_clock_manual clk;
    tide_clock_manual_init(&clk, 0); /* record timestamps are >= 1000000: nothing expires yet */
    tide_log_writer_opts o = {0};
    o.clock = &clk.clock;
    tide_log_writer *w = NULL;
    TT_OK(tide_log_writer_open(&w, base_dir, "age", &o, &e));
    const uint64_t N = 400;
    for (uint64_t i = 0; i < N; i += 4)
        TT_OK(lt_append(w, 0, SEED, i, i + 4, &e));
    char pdir[2048];
    pdir_of(pdir, sizeof pdir, "age");
    uint64_t segs[256];
    size_t ns = lt_segments(pdir, segs, 256);
    TT_ASSERT(ns >= 5);
    /* the model's max timestamp of each segment */
    int64_t maxts[256];
    for (size_t k = 0; k < ns; k++) {
        uint64_t end = k + 1 < ns ? segs[k + 1] : N;
        maxts[k] = INT64_MIN;
        for (uint64_t i = segs[k]; i < end; i++) {
            lt_rec m;
            lt_model(SEED, i, &m);
            maxts[k] = m.ts > maxts[k] ? m.ts : maxts[k];
        }
    }
    size_t gone = 0;
    for (int64_t now = 1000000; now <= 1200000; now += 7000) {
        clk.now_ms = now;
        /* reopening applies retention too: do that on some steps */
        if (now % 3 == 0) {
            TT_OK(tide_log_writer_close(w, &e));
            TT_OK(tide_log_writer_open(&w, base_dir, "age", &o, &e));
        } else {
            TT_OK(tide_log_writer_retain(w, &e));
        }
        while (gone + 1 < ns && maxts[gone] < now - c.retention_ms)
            gone++;
        uint64_t cur[256];
        size_t nc = lt_segments(pdir, cur, 256);
        TT_ASSERT_EQ_INT(nc, ns - gone);
        TT_ASSERT_EQ_INT(cur[0], segs[gone]);
        TT_ASSERT_EQ_INT(tide_log_writer_next(w, 0), N);
        TT_ASSERT_EQ_INT(read_from("age", segs[gone], SEED, &e), (long)(N - segs[gone]));
    }
    /* everything but the active segment is gone; offsets continue */
    TT_ASSERT_EQ_INT(gone, ns - 1);
    TT_OK(lt_append(w, 0, SEED, N, N + 2, &e));
    TT_OK(tide_log_writer_close(w, &e));
    TT_ASSERT_EQ_INT(read_from("age", segs[ns - 1], SEED, &e), (long)(N + 2 - segs[ns - 1]));
    tide_err re = {0};
    TT_ASSERT_EQ_INT(read_from("age", 0, SEED, &re), TIDE_ERANGE);
}

/* Records with random, out-of-order timestamps; lookups by time and by
 * offset against brute force. */
#define TN 6000
static int64_t tts[TN];

static int append_ts(tide_log_writer *w, uint64_t from, uint64_t to, tide_err *e)
{
    tide_record r[32];
    lt_rec m[32];
    for (uint64_t i = from; i < to; i++) {
        lt_model(SEED, i, &m[i - from]);
        r[i - from] = lt_record(&m[i - from]);
        r[i - from].timestamp = tts[i];
    }
    return tide_log_append(w, 0, r, (size_t)(to - from), NULL, e);
}

static uint64_t brute_first_ge(int64_t t)
{
    for (uint64_t i = 0; i < TN; i++)
        if (tts[i] >= t)
            return i;
    return TN;
}

/* Check seek_time and seek for many targets; returns false on mismatch. */
static bool check_lookups(uint64_t *seed)
{
    tide_err e = {0};
    tide_log_reader *r = NULL;
    if (tide_log_reader_open(&r, base_dir, "time", 0, &e))
        return false;
    bool ok = true;
    for (int q = 0; q < 300 && ok; q++) {
        int64_t t;
        switch (q % 4) {
        case 0: t = tts[tt_rand(seed) % TN]; break;
        case 1: t = tts[tt_rand(seed) % TN] + 1; break;
        case 2: t = (int64_t)(tt_rand(seed) % 1100000) - 50000; break;
        default: t = q == 3 ? INT64_MIN : q == 7 ? INT64_MAX : 1000000; break;
        }
        uint64_t want = brute_first_ge(t);
        if (tide_log_reader_seek_time(r, t, &e) || tide_log_reader_position(r) != want) {
            fprintf(stderr, "seek_time(%" PRId64 "): position %" PRIu64 ", want %" PRIu64 " %s\n", t,
                    tide_log_reader_position(r), want, e.msg);
            ok = false;
            break;
        }
        tide_record rec;
        int rc = tide_log_reader_next(r, &rec, &e);
        if (want < TN ? (rc || rec.offset != want || rec.timestamp != tts[want]) : rc != TIDE_EAGAIN) {
            fprintf(stderr, "after seek_time(%" PRId64 "): rc %d offset %" PRIu64 "\n", t, rc, rec.offset);
            ok = false;
        }
        uint64_t off = tt_rand(seed) % (TN + 5);
        if (tide_log_reader_seek(r, off, &e)) {
            ok = false;
            break;
        }
        rc = tide_log_reader_next(r, &rec, &e);
        if (off < TN ? (rc || rec.offset != off || rec.timestamp != tts[off]) : rc != TIDE_EAGAIN) {
            fprintf(stderr, "seek(%" PRIu64 "): rc %d offset %" PRIu64 "\n", off, rc, rec.offset);
            ok = false;
        }
    }
    tide_log_reader_close(r);
    return ok;
}

static void for_each_idx(const char *pdir, int what)
{
    uint64_t segs[256];
    size_t ns = lt_segments(pdir, segs, 256);
    for (size_t k = 0; k < ns; k++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%020" PRIu64 ".idx", pdir, segs[k]);
        if (what == 0)
            unlink(p);
        else if (lt_size(p) > 60)
            lt_flip(p, 32 + (k * 13) % (lt_size(p) - 32), (unsigned)k % 8); /* damage an entry */
    }
}

#define CHECK_LOOKUPS()                                                                     \
    do {                                                                                    \
        if (!check_lookups(&seed)) {                                                        \
            TT_SEED(seed0);                                                                 \
            TT_ASSERT(!"lookups match brute force");                                        \
        }                                                                                   \
    } while (0)

static void test_time_lookups(void)
{
    const uint64_t seed0 = 1234;
    uint64_t seed = seed0;
    for (int i = 0; i < TN; i++)
        tts[i] = (int64_t)(tt_rand(&seed) % 1000000);
    tide_err e = {0};
    TT_OK(lt_topic(base_dir, "time", 1, 100000, "never"));
    tide_log_writer *w = NULL;
    TT_OK(tide_log_writer_open(&w, base_dir, "time", NULL, &e));
    for (uint64_t i = 0; i < TN;) {
        uint64_t n = 1 + tt_rand(&seed) % 20;
        if (i + n > TN)
            n = TN - i;
        TT_OK(append_ts(w, i, i + n, &e));
        i += n;
    }
    char pdir[2048];
    pdir_of(pdir, sizeof pdir, "time");
    uint64_t segs[256];
    TT_ASSERT(lt_segments(pdir, segs, 256) >= 3);
    /* while the writer is open (active index partly unflushed) */
    CHECK_LOOKUPS();
    TT_OK(tide_log_writer_close(w, &e));
    CHECK_LOOKUPS();
    /* without index files */
    for_each_idx(pdir, 0);
    CHECK_LOOKUPS();
    /* the writer rebuilds them (and says so) */
    lt_reports rep = {0};
    tide_log_writer_opts o = {0};
    o.report = lt_report;
    o.report_ctx = &rep;
    TT_OK(tide_log_writer_open(&w, base_dir, "time", &o, &e));
    TT_OK(tide_log_writer_close(w, &e));
    size_t ns = lt_segments(pdir, segs, 256);
    TT_ASSERT_EQ_INT(rep.n, (long)ns - 1); /* every older segment's index was rebuilt */
    char p[4200];
    snprintf(p, sizeof p, "%s/%020" PRIu64 ".idx", pdir, segs[0]);
    TT_ASSERT(lt_size(p) > 32 + 40);
    CHECK_LOOKUPS();
    /* damaged index files: readers are not misled, the writer rebuilds */
    for_each_idx(pdir, 1);
    CHECK_LOOKUPS();
    rep.n = 0;
    TT_OK(tide_log_writer_open(&w, base_dir, "time", &o, &e));
    TT_OK(tide_log_writer_close(w, &e));
    TT_ASSERT(rep.n >= 1);
    CHECK_LOOKUPS();
}

/* Non-decreasing timestamps (three records per ms step, as a log filled in
 * time order is): every index entry's and every sealed segment's running
 * maximum is then the timestamp of a record just before it, so a seek to
 * exactly that time must not start after the entry or skip the segment.
 * Every record's time, and one past it, against brute force. */
static void test_time_lookups_in_order(void)
{
    for (int i = 0; i < TN; i++)
        tts[i] = (int64_t)(i / 3) * 5;
    tide_err e = {0};
    TT_OK(lt_topic(base_dir, "mono", 1, 60000, "never"));
    tide_log_writer *w = NULL;
    TT_OK(tide_log_writer_open(&w, base_dir, "mono", NULL, &e));
    for (uint64_t i = 0; i < TN; i += 10)
        TT_OK(append_ts(w, i, i + 10 < TN ? i + 10 : TN, &e));
    TT_OK(tide_log_writer_close(w, &e));
    char pdir[2048];
    pdir_of(pdir, sizeof pdir, "mono");
    uint64_t segs[256];
    TT_ASSERT(lt_segments(pdir, segs, 256) >= 3);
    tide_log_reader *r = NULL;
    TT_OK(tide_log_reader_open(&r, base_dir, "mono", 0, &e));
    for (int i = 0; i < TN; i++) {
        for (int64_t d = 0; d < 2; d++) {
            int64_t t = tts[i] + d;
            uint64_t want = brute_first_ge(t);
            int rc = tide_log_reader_seek_time(r, t, &e);
            TT_ASSERT_MSG(rc == 0 && tide_log_reader_position(r) == want,
                          "seek_time(%" PRId64 "): rc %d position %" PRIu64 ", want %" PRIu64, t, rc,
                          tide_log_reader_position(r), want);
        }
    }
    tide_log_reader_close(r);
}
/* The file positions of the batches of a segment file (at most cap). */
static size_t batch_starts(const char *path, uint64_t *pos, size_t cap)
{
    size_t len = 0, n = 0;
    unsigned char *p = (unsigned char *)lt_read_file(path, &len);
    for (uint64_t at = 0; p && at + TIDE_BATCH_HEADER <= len && n < cap; at += tide_get_u32(p + at))
        pos[n++] = at;
    free(p);
    return n;
}

/* The base offset of the batch at `at`. */
static uint64_t batch_base(const char *path, uint64_t at)
{
    size_t len = 0;
    unsigned char *p = (unsigned char *)lt_read_file(path, &len);
    uint64_t b = p && at + TIDE_BATCH_HEADER <= len ? tide_get_u64(p + at + 16) : UINT64_MAX;
    free(p);
    return b;
}

/* Renumber the batch at `at` to `base`, its CRC recomputed: a batch that
 * passes its checksum but does not follow its predecessor. */
static void forge_base(const char *path, uint64_t at, uint64_t base)
{
    size_t len = 0;
    unsigned char *p = (unsigned char *)lt_read_file(path, &len);
    if (p && at + TIDE_BATCH_HEADER <= len) {
        uint32_t blen = tide_get_u32(p + at);
        tide_put_u64(p + at + 16, base);
        tide_put_u32(p + at + 4, tide_crc32c(0, p + at + 8, blen - 8));
        lt_write_file(path, p, len);
    }
    free(p);
}

/* Checksummed batches in the wrong place, and a sealed segment that lost
 * its last batch: readers stop with corruption instead of serving a gap,
 * the writer truncates a renumbered tail, and a seal is believed only for
 * the file size it was written for. */
static void test_forged_offsets_and_sizes(void)
{
    tide_err e = {0};
    TT_OK(lt_topic(base_dir, "gap", 1, 1500, "never"));
    tide_log_writer *w = NULL;
    TT_OK(tide_log_writer_open(&w, base_dir, "gap", NULL, &e));
    for (uint64_t i = 0; i < 160; i += 4)
        TT_OK(lt_append(w, 0, SEED, i, i + 4, &e));
    TT_OK(tide_log_writer_close(w, &e));
    char pdir[2048], p0[4200], plast[4200];
    pdir_of(pdir, sizeof pdir, "gap");
    uint64_t segs[64], at0[256], atl[256];
    size_t ns = lt_segments(pdir, segs, 64);
    TT_ASSERT(ns >= 3);
    snprintf(p0, sizeof p0, "%s/%020" PRIu64 ".log", pdir, segs[0]);
    snprintf(plast, sizeof plast, "%s/%020" PRIu64 ".log", pdir, segs[ns - 1]);
    size_t nb0 = batch_starts(p0, at0, 256), nbl = batch_starts(plast, atl, 256);
    TT_ASSERT(nb0 >= 3 && nbl >= 2);

    /* an older segment's second batch numbered 5 past its place */
    uint64_t b1 = batch_base(p0, at0[1]);
    forge_base(p0, at0[1], b1 + 5);
    tide_log_reader *r = NULL;
    TT_OK(tide_log_reader_open(&r, base_dir, "gap", 0, &e));
    tide_record rec;
    uint64_t i = 0;
    int rc;
    tide_err re = {0};
    while ((rc = tide_log_reader_next(r, &rec, &re)) == 0) {
        TT_ASSERT_MSG(lt_equal(&rec, SEED, i), "record %" PRIu64 " served as offset %" PRIu64, i, rec.offset);
        i++;
    }
    tide_log_reader_close(r);
    TT_ASSERT_EQ_INT(rc, TIDE_ECORRUPT);
    TT_ASSERT_MSG(strstr(re.msg, p0) && strstr(re.msg, "unexpected base offset"), "%s", re.msg);
    TT_ASSERT_EQ_INT(i, b1);
    forge_base(p0, at0[1], b1);
    TT_ASSERT_EQ_INT(read_from("gap", 0, SEED, &e), 160);

    /* the active segment's last batch renumbered: a corrupt tail, truncated
     * and reported when the writer opens */
    uint64_t bl = batch_base(plast, atl[nbl - 1]);
    forge_base(plast, atl[nbl - 1], bl + 5);
    lt_reports rep = {0};
    tide_log_writer_opts o = {0};
    o.report = lt_report;
    o.report_ctx = &rep;
    TT_OK(tide_log_writer_open(&w, base_dir, "gap", &o, &e));
    TT_ASSERT_EQ_INT(tide_log_writer_next(w, 0), bl);
    TT_ASSERT_EQ_INT(rep.n, 1);
    TT_ASSERT_MSG(strstr(rep.last, "truncated"), "%s", rep.last);
    TT_OK(tide_log_writer_close(w, &e));
    TT_ASSERT_EQ_INT(read_from("gap", 0, SEED, &e), (long)bl);

    /* the first (sealed) segment loses its last batch */
    uint64_t blast0 = batch_base(p0, at0[nb0 - 1]);
    TT_ASSERT_EQ_INT(truncate(p0, (off_t)at0[nb0 - 1]), 0);
    tide_seg_summary sum;
    tide_buf buf = {0};
    rc = tide_seg_summarize(pdir, segs[0], &buf, &sum, &e);
    tide_buf_free(&buf);
    TT_OK(rc);
    TT_ASSERT(!sum.sealed);
    TT_ASSERT_EQ_INT(sum.next_offset, blast0);
    TT_ASSERT_EQ_INT(sum.end, at0[nb0 - 1]);
    /* the next segment no longer follows it: the writer refuses the log */
    tide_err we = {0};
    rc = tide_log_writer_open(&w, base_dir, "gap", NULL, &we);
    TT_ASSERT_EQ_INT(rc, TIDE_ECORRUPT);
    TT_ASSERT_MSG(strstr(we.msg, "segment starts at offset"), "%s", we.msg);
}

/* Retention deletes segments under a reader: it finishes the segment it
 * has open, then says TIDE_ERANGE naming the first retained offset. */
static void test_reader_outrun_by_retention(void)
{
    tide_topic_config c;
    tide_topic_config_default(&c);
    c.segment_bytes = 1500;
    c.retention_bytes = 3000;
    c.fsync = TIDE_FSYNC_NEVER;
    tide_err e = {0};
    TT_OK(tide_topic_create(base_dir, "outrun", &c, &e));
    tide_log_writer *w = NULL;
    TT_OK(tide_log_writer_open(&w, base_dir, "outrun", NULL, &e));
    TT_OK(lt_append(w, 0, SEED, 0, 5, &e));
    tide_log_reader *r = NULL;
    tide_record rec;
    TT_OK(tide_log_reader_open(&r, base_dir, "outrun", 0, &e));
    TT_OK(tide_log_reader_next(r, &rec, &e));
    TT_ASSERT(lt_equal(&rec, SEED, 0));
    uint64_t next = 5;
    for (int i = 0; i < 40; i++, next += 5)
        TT_OK(lt_append(w, 0, SEED, next, next + 5, &e));
    char pdir[2048];
    pdir_of(pdir, sizeof pdir, "outrun");
    uint64_t segs[256];
    TT_ASSERT(lt_segments(pdir, segs, 256) >= 2);
    TT_ASSERT(segs[0] > 30); /* segment 0 and its successor are gone */
    uint64_t i = 1;
    int rc;
    tide_err re = {0};
    while ((rc = tide_log_reader_next(r, &rec, &re)) == 0) {
        TT_ASSERT(lt_equal(&rec, SEED, i));
        i++;
    }
    TT_ASSERT_EQ_INT(rc, TIDE_ERANGE);
    TT_ASSERT(i < segs[0]);
    char want[64];
    snprintf(want, sizeof want, "first retained offset is %" PRIu64, segs[0]);
    TT_ASSERT_MSG(strstr(re.msg, want), "%s", re.msg);
    TT_OK(tide_log_reader_seek(r, segs[0], &e));
    for (i = segs[0]; i < next; i++) {
        TT_OK(tide_log_reader_next(r, &rec, &e));
        TT_ASSERT(lt_equal(&rec, SEED, i));
    }
    TT_ASSERT_EQ_INT(tide_log_reader_next(r, &rec, &e), TIDE_EAGAIN);
    tide_log_reader_close(r);
    TT_OK(tide_log_writer_close(w, &e));
}

int main(void)
{
    const char *d = tt_tmpdir("test_log_segments");
    if (!d)
        return 1;
    snprintf(base_dir, sizeof base_dir, "%s", d);
    TT_RUN(test_retention_by_size);
    TT_RUN(test_retention_by_age);
    TT_RUN(test_time_lookups);
    TT_RUN(test_time_lookups_in_order);
    TT_RUN(test_forged_offsets_and_sizes);
    TT_RUN(test_reader_outrun_by_retention);
    TT_DONE();
}
