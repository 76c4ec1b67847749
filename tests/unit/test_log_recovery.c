/* test_log_recovery.c - torn tails, corruption in the middle, corrupt older
 * segments: what the writer's open and the readers do, against a model of
 * the records written. */
#include "log_tt.h"

#include "base/io.h"

#define SEED 11

static char base_dir[1024];

/* Read partition 0 from offset 0 until EAGAIN; check every record against
 * the model; returns how many were read (or a negative error). */
static long read_all(const char *dir, const char *topic, uint64_t seed, tide_err *e)
{
    tide_log_reader *r = NULL;
    int rc = tide_log_reader_open(&r, dir, topic, 0, e);
    if (rc)
        return rc;
    long n = 0;
    tide_record rec;
    while ((rc = tide_log_reader_next(r, &rec, e)) == 0) {
        if (!lt_equal(&rec, seed, (uint64_t)n)) {
            tide_log_reader_close(r);
            return -1000;
        }
        n++;
    }
    tide_log_reader_close(r);
    return rc == TIDE_EAGAIN ? n : rc;
}

/* Cut the active segment at every byte inside its last batch: the writer
 * recovers exactly the complete batches, reports the cut, and continues at
 * the right offset. */
static void test_truncate_every_byte(void)
{
    char seg[4096];
    uint64_t pos[5];
    const int calls = 4, per = 3;
    lt_write_batches(base_dir, "cut", calls, per, 1 << 30, SEED, seg, pos);
    size_t full_len;
    char *full = lt_read_file(seg, &full_len);
    TT_ASSERT(full && full_len == pos[calls]);
    for (uint64_t cut = pos[calls - 1]; cut < pos[calls]; cut++) {
        TT_ASSERT(lt_write_file(seg, full, (size_t)cut) == 0);
        lt_reports rep = {0};
        tide_log_writer_opts o = {0};
        o.report = lt_report;
        o.report_ctx = &rep;
        tide_err e = {0};
        tide_log_writer *w = NULL;
        TT_OK(tide_log_writer_open(&w, base_dir, "cut", &o, &e));
        uint64_t want = (uint64_t)(calls - 1) * per;
        TT_ASSERT_EQ_INT(tide_log_writer_next(w, 0), want);
        TT_ASSERT_EQ_INT(tide_log_writer_synced(w, 0), want);
        TT_ASSERT_EQ_INT(lt_size(seg), pos[calls - 1]);
        /* a cut exactly at a batch boundary is no damage */
        TT_ASSERT_EQ_INT(rep.n, cut > pos[calls - 1] ? 1 : 0);
        if (rep.n)
            TT_ASSERT_MSG(strstr(rep.last, "torn tail") && strstr(rep.last, seg), "%s", rep.last);
        /* the next append continues at the right offset with the right records */
        TT_OK(lt_append(w, 0, SEED, want, want + per + 1, &e));
        TT_OK(tide_log_writer_close(w, &e));
        long n = read_all(base_dir, "cut", SEED, &e);
        TT_ASSERT_MSG(n == (long)(want + per + 1), "cut %" PRIu64 ": read %ld: %s", cut, n, e.msg);
    }
    free(full);
}

/* Damage one batch and see what open and readers make of it. */
static void test_bad_batch_in_the_middle(void)
{
    char seg[4096];
    uint64_t pos[6];
    lt_write_batches(base_dir, "mid", 5, 4, 1 << 30, SEED, seg, pos);
    size_t full_len;
    char *full = lt_read_file(seg, &full_len);
    TT_ASSERT(full);
    /* a flipped payload bit in batch 2 of 5: fails the open naming file and position */
    /* damage in: the records, the length field, the base offset, the count */
    const uint64_t where[4] = {45, 1, 20, 12};
    for (int which = 0; which < 4; which++) {
        TT_ASSERT(lt_write_file(seg, full, full_len) == 0);
        uint64_t at = pos[2] + where[which];
        lt_flip(seg, at, 3);
        tide_err e = {0};
        tide_log_writer *w = NULL;
        int rc = tide_log_writer_open(&w, base_dir, "mid", NULL, &e);
        TT_ASSERT_EQ_INT(rc, TIDE_ECORRUPT);
        char want[64];
        snprintf(want, sizeof want, "position %" PRIu64, pos[2]);
        TT_ASSERT_MSG(strstr(e.msg, seg) && strstr(e.msg, want), "%s", e.msg);
        TT_ASSERT_EQ_INT(lt_size(seg), full_len); /* nothing was cut */
        /* a reader returns batches 0 and 1, then never anything of batch 2 */
        if (which != 1) {
            tide_err re = {0};
            long n = read_all(base_dir, "mid", SEED, &re);
            TT_ASSERT_MSG(n == TIDE_ECORRUPT, "read %ld", n);
            TT_ASSERT_MSG(strstr(re.msg, seg), "%s", re.msg);
            /* and the records before it were correct and complete */
            tide_log_reader *r = NULL;
            tide_record rec;
            TT_OK(tide_log_reader_open(&r, base_dir, "mid", 0, &re));
            for (uint64_t i = 0; i < 8; i++) {
                TT_OK(tide_log_reader_next(r, &rec, &re));
                TT_ASSERT(lt_equal(&rec, SEED, i));
            }
            TT_ASSERT_EQ_INT(tide_log_reader_next(r, &rec, &re), TIDE_ECORRUPT);
            /* seeking past the damage: the reader must scan through it
             * (no index entry lies beyond it), and it still says corrupt */
            TT_OK(tide_log_reader_seek(r, 12, &re));
            tide_err re2 = {0};
            TT_ASSERT_EQ_INT(tide_log_reader_next(r, &rec, &re2), TIDE_ECORRUPT);
            tide_log_reader_close(r);
        }
    }
    /* a bad LAST batch is a torn tail: cut and reported */
    TT_ASSERT(lt_write_file(seg, full, full_len) == 0);
    lt_flip(seg, pos[4] + 50, 0);
    lt_reports rep = {0};
    tide_log_writer_opts o = {0};
    o.report = lt_report;
    o.report_ctx = &rep;
    tide_err e = {0};
    tide_log_writer *w = NULL;
    TT_OK(tide_log_writer_open(&w, base_dir, "mid", &o, &e));
    TT_ASSERT_EQ_INT(rep.n, 1);
    TT_ASSERT_EQ_INT(tide_log_writer_next(w, 0), 16);
    TT_ASSERT_EQ_INT(lt_size(seg), pos[4]);
    TT_OK(tide_log_writer_close(w, &e));
    TT_ASSERT_EQ_INT(read_all(base_dir, "mid", SEED, &e), 16);
    free(full);
}

/* A reader at the tail: an incomplete last batch is "not yet there"; a
 * complete-length bad one is corrupt after bounded re-reads. */
static void test_reader_tail_rule(void)
{
    char seg[4096];
    uint64_t pos[4];
    lt_write_batches(base_dir, "tail", 3, 5, 1 << 30, SEED, seg, pos);
    size_t full_len;
    char *full = lt_read_file(seg, &full_len);
    tide_err e = {0};
    /* every cut inside the last batch: 10 records, then EAGAIN */
    for (uint64_t cut = pos[2]; cut < pos[3]; cut += 7) {
        TT_ASSERT(lt_write_file(seg, full, (size_t)cut) == 0);
        TT_ASSERT_EQ_INT(read_all(base_dir, "tail", SEED, &e), 10);
    }
    /* the rest arrives: a reader that saw EAGAIN picks it up */
    TT_ASSERT(lt_write_file(seg, full, (size_t)pos[2] + 30) == 0);
    tide_log_reader *r = NULL;
    tide_record rec;
    TT_OK(tide_log_reader_open(&r, base_dir, "tail", 0, &e));
    for (int i = 0; i < 10; i++)
        TT_OK(tide_log_reader_next(r, &rec, &e));
    TT_ASSERT_EQ_INT(tide_log_reader_next(r, &rec, &e), TIDE_EAGAIN);
    TT_ASSERT(lt_write_file(seg, full, full_len) == 0);
    for (uint64_t i = 10; i < 15; i++) {
        TT_OK(tide_log_reader_next(r, &rec, &e));
        TT_ASSERT(lt_equal(&rec, SEED, i));
    }
    TT_ASSERT_EQ_INT(tide_log_reader_next(r, &rec, &e), TIDE_EAGAIN);
    tide_log_reader_close(r);
    /* complete length, bad CRC at the tail: corrupt (after retries), never returned */
    lt_flip(seg, pos[2] + 60, 5);
    TT_ASSERT_EQ_INT(read_all(base_dir, "tail", SEED, &e), TIDE_ECORRUPT);
    TT_ASSERT_MSG(strstr(e.msg, seg) && strstr(e.msg, "offset 10"), "%s", e.msg);
    free(full);
}

/* Corruption in an older segment: readers fail on it; the writer's open
 * fails when it has to re-read that segment (its index is gone); it is
 * never cut. */
static void test_older_segment_corrupt(void)
{
    tide_err e = {0};
    TT_OK(lt_topic(base_dir, "old", 1, 700, "never"));
    tide_log_writer *w = NULL;
    TT_OK(tide_log_writer_open(&w, base_dir, "old", NULL, &e));
    for (uint64_t i = 0; i < 60; i += 3)
        TT_OK(lt_append(w, 0, SEED, i, i + 3, &e));
    TT_OK(tide_log_writer_close(w, &e));
    char pdir[4096], seg[4200], idx[4200];
    snprintf(pdir, sizeof pdir, "%s/topics/old/0", base_dir);
    uint64_t bases[64];
    size_t nb = lt_segments(pdir, bases, 64);
    TT_ASSERT(nb >= 3);
    TT_ASSERT_EQ_INT(read_all(base_dir, "old", SEED, &e), 60);
    snprintf(seg, sizeof seg, "%s/%020" PRIu64 ".log", pdir, bases[1]);
    snprintf(idx, sizeof idx, "%s/%020" PRIu64 ".idx", pdir, bases[1]);
    uint64_t size = lt_size(seg);
    lt_flip(seg, size - 5, 2); /* the last batch of an older segment */
    long n = read_all(base_dir, "old", SEED, &e);
    TT_ASSERT_EQ_INT(n, TIDE_ECORRUPT);
    TT_ASSERT_MSG(strstr(e.msg, seg), "%s", e.msg);
    unlink(idx);
    tide_err oe = {0};
    TT_ASSERT_EQ_INT(tide_log_writer_open(&w, base_dir, "old", NULL, &oe), TIDE_ECORRUPT);
    TT_ASSERT_MSG(strstr(oe.msg, seg) && strstr(oe.msg, "position"), "%s", oe.msg);
    TT_ASSERT_EQ_INT(lt_size(seg), size);
    /* repaired, the open works again and rebuilds the index (reported) */
    lt_flip(seg, size - 5, 2);
    lt_reports rep = {0};
    tide_log_writer_opts o = {0};
    o.report = lt_report;
    o.report_ctx = &rep;
    tide_err e2 = {0};
    TT_OK(tide_log_writer_open(&w, base_dir, "old", &o, &e2));
    TT_ASSERT_EQ_INT(rep.n, 1);
    TT_ASSERT(lt_size(idx) > 32);
    TT_ASSERT_EQ_INT(tide_log_writer_next(w, 0), 60);
    TT_OK(tide_log_writer_close(w, &e2));
    TT_ASSERT_EQ_INT(read_all(base_dir, "old", SEED, &e2), 60);
}


/* Fail the Nth I/O call (and, separately, lose power at the Nth step) of a
 * writer's life; then recover without faults: the log is a prefix of the
 * model holding at least every acknowledged (fsync=always) record. */
static void test_fail_nth_io(void)
{
    for (int mode = 0; mode < 2; mode++) {
        for (long nth = 1;; nth++) {
            char topic[32];
            snprintf(topic, sizeof topic, "f%d-%ld", mode, nth);
            TT_OK(lt_topic(base_dir, topic, 1, 600, "always"));
            tide_io_faults f = {0};
            if (mode == 0)
                f.fail_at = nth;
            else
                f.crash_at_step = nth;
            f.seed = (uint64_t)nth;
            tide_io_faults_set(&f);
            tide_err e = {0};
            tide_log_writer *w = NULL;
            uint64_t acked = 0;
            int rc = tide_log_writer_open(&w, base_dir, topic, NULL, &e);
            for (int c = 0; !rc && c < 8; c++) {
                rc = lt_append(w, 0, SEED, acked, acked + 3, &e);
                if (!rc)
                    acked += 3;
            }
            if (w && rc) {
                /* the error sticks */
                tide_err e2 = {0};
                TT_ASSERT_EQ_INT(lt_append(w, 0, SEED, acked, acked + 1, &e2), rc);
                TT_ASSERT_EQ_INT(tide_log_writer_sync(w, &e2), rc);
            }
            tide_err ce = {0};
            int crc = tide_log_writer_close(w, &ce);
            bool faulted = rc || crc || tide_io_calls() >= nth;
            if (mode == 1)
                TT_OK(tide_io_powerloss(false, &e));
            tide_io_faults_set(NULL);
            tide_err oe = {0};
            lt_reports rep = {0};
            tide_log_writer_opts o = {0};
            o.report = lt_report;
            o.report_ctx = &rep;
            TT_ASSERT_MSG(tide_log_writer_open(&w, base_dir, topic, &o, &oe) == 0, "nth %ld: %s", nth,
                          oe.msg);
            uint64_t next = tide_log_writer_next(w, 0);
            TT_ASSERT_MSG(next >= acked, "nth %ld mode %d: next %" PRIu64 " < acked %" PRIu64, nth, mode,
                          next, acked);
            TT_OK(tide_log_writer_close(w, &oe));
            long n = read_all(base_dir, topic, SEED, &oe);
            TT_ASSERT_MSG(n == (long)next, "nth %ld: read %ld of %" PRIu64 ": %s", nth, n, next, oe.msg);
            if (!faulted || (mode == 1 && rc == 0 && crc == 0))
                break; /* the fault point lies beyond everything this run does */
        }
    }
}


/* A record value may hold encoded batches (even the exact successor of the
 * batch carrying it).  Torn anywhere, that last batch is still a torn tail:
 * recovered, not mistaken for valid data after damage. */
static void test_torn_payload_holding_batches(void)
{
    tide_err e = {0};
    TT_OK(lt_topic(base_dir, "payload", 1, 1 << 20, "never"));
    tide_log_writer *w = NULL;
    TT_OK(tide_log_writer_open(&w, base_dir, "payload", NULL, &e));
    TT_OK(lt_append(w, 0, SEED, 0, 3, &e));
    tide_buf inner = {0};
    tide_record ir = {0};
    ir.timestamp = 5;
    ir.value = "v";
    ir.value_len = 1;
    TT_OK(tide_batch_encode(&inner, 4, &ir, 1));
    TT_OK(tide_batch_encode(&inner, 1000, &ir, 1));
    TT_OK(tide_batch_encode(&inner, 4, &ir, 1));
    TT_OK(tide_buf_append(&inner, "pad", 3));
    tide_record outer = {0};
    outer.timestamp = 6;
    outer.value = inner.data;
    outer.value_len = inner.len;
    TT_OK(tide_log_append(w, 0, &outer, 1, NULL, &e));
    TT_OK(tide_log_writer_close(w, &e));
    tide_buf_free(&inner);
    char seg[2048];
    snprintf(seg, sizeof seg, "%s/topics/payload/0/00000000000000000000.log", base_dir);
    size_t full_len;
    char *full = lt_read_file(seg, &full_len);
    TT_ASSERT(full);
    uint64_t last = 0;
    {
        /* where the last batch starts: walk the length fields */
        uint64_t at = 0;
        while (at < full_len) {
            last = at;
            at += (uint64_t)(unsigned char)full[at] | (uint64_t)(unsigned char)full[at + 1] << 8;
        }
    }
    for (uint64_t cut = last + 1; cut < full_len; cut++) {
        TT_ASSERT(lt_write_file(seg, full, (size_t)cut) == 0);
        lt_reports rep = {0};
        tide_log_writer_opts o = {0};
        o.report = lt_report;
        o.report_ctx = &rep;
        tide_err oe = {0};
        TT_ASSERT_MSG(tide_log_writer_open(&w, base_dir, "payload", &o, &oe) == 0, "cut %" PRIu64 ": %s",
                      cut, oe.msg);
        TT_ASSERT_EQ_INT(tide_log_writer_next(w, 0), 3);
        TT_ASSERT_EQ_INT(rep.n, 1);
        TT_OK(tide_log_writer_close(w, &oe));
    }
    free(full);
}

int main(void)
{
    const char *d = tt_tmpdir("test_log_recovery");
    if (!d)
        return 1;
    snprintf(base_dir, sizeof base_dir, "%s", d);
    TT_RUN(test_truncate_every_byte);
    TT_RUN(test_bad_batch_in_the_middle);
    TT_RUN(test_reader_tail_rule);
    TT_RUN(test_older_segment_corrupt);
    TT_RUN(test_torn_payload_holding_batches);
    TT_RUN(test_fail_nth_io);
    TT_DONE();
}
