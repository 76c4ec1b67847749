/*
 * test_log_txn.c - transactions in the log (log/producer.h, log/batch.h
 * version 2, read-committed readers in log/reader.h).
 *
 * The model test runs several producers and a plain writer over several
 * partitions with random interleavings of appends, pre-commits, completed
 * and failed checkpoints, commits and delayed commits, ended by kills,
 * simulated power losses (base/io.h) or injected I/O errors, after which
 * every producer recovers from its last complete checkpoint.  The model
 * knows, per partition, the order of what was appended and, per
 * transaction, whether the job committed it, aborted it (its checkpoint
 * never completed before a crash) or has not decided yet.  What a
 * read-committed reader returns must be exactly: in append order, the plain
 * records and the records of committed transactions, up to the first record
 * of an undecided transaction (the last stable offset), with the reader
 * then blocked there.  A reader kept open across the whole run (reading on
 * from where it was blocked) must return the same.
 */
#include "base/bytes.h"
#include "base/crc32c.h"
#include "base/err.h"
#include "base/fault.h"
#include "base/io.h"
#include "log/batch.h"
#include "log/producer.h"
#include "log/reader.h"
#include "log/topic.h"
#include "log/writer.h"
#include "tt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static const char *tmp;
static long g_torn;
static void count_report(void *ctx, const char *msg)
{
    (void)ctx;
    g_torn += strstr(msg, "torn tail") != NULL;
}
static const tide_log_writer_opts quiet = {.report = count_report};

static int make_topic(const char *dir, const char *name, uint32_t parts, tide_fsync_mode fs)
{
    tide_topic_config c;
    tide_topic_config_default(&c);
    c.partitions = parts;
    c.fsync = fs;
    tide_err e = {0};
    return tide_topic_create(dir, name, &c, &e);
}

/* Read partition p from its start: the values (as numbers) up to EAGAIN. */
static long read_all(const char *dir, const char *topic, uint32_t p, tide_log_isolation iso, uint32_t *vals,
                     long cap, bool *blocked, uint64_t *pos)
{
    tide_log_reader *r = NULL;
    tide_err e = {0};
    if (tide_log_reader_open(&r, dir, topic, p, &e)) {
        if (!strstr(e.msg, "injected"))
            fprintf(stderr, "reader open: %s\n", e.msg);
        return -2;
    }
    tide_log_reader_set_isolation(r, iso);
    long n = 0;
    for (;;) {
        tide_record rec;
        int rc = tide_log_reader_next(r, &rec, &e);
        if (rc == TIDE_EAGAIN)
            break;
        if (rc || n >= cap) {
            if (!strstr(e.msg, "injected"))
                fprintf(stderr, "read: rc %d: %s\n", rc, e.msg);
            n = rc ? -2 : -1;
            break;
        }
        char buf[32];
        snprintf(buf, sizeof buf, "%.*s", (int)rec.value_len, (const char *)rec.value);
        vals[n++] = (uint32_t)strtoul(buf, NULL, 10);
    }
    if (blocked)
        *blocked = tide_log_reader_blocked(r);
    if (pos)
        *pos = tide_log_reader_position(r);
    tide_log_reader_close(r);
    return n;
}

static int append_vals(tide_log_producer *pr, tide_log_writer *w, uint32_t part, uint32_t first, uint32_t n,
                       tide_err *e)
{
    char text[64][16];
    tide_record recs[64];
    for (uint32_t i = 0; i < n; i++) {
        int len = snprintf(text[i], sizeof text[i], "%u", first + i);
        recs[i] = (tide_record){.timestamp = first + i, .value = text[i], .value_len = (size_t)len};
    }
    return pr ? tide_log_producer_append(pr, part, recs, n, e) : tide_log_append(w, part, recs, n, NULL, e);
}

/* ---- the batch format ---- */

static void test_txn_batch_format(void)
{
    tide_record r[2] = {{.timestamp = 5, .value = "ab", .value_len = 2}, {.timestamp = 9, .key = "k", .key_len = 1}};
    tide_batch_txn t = {.flags = TIDE_BATCH_TXN, .producer = 3, .txn = 7, .epoch = 2};
    tide_buf b = {0};
    TT_OK(tide_batch_encode_txn(&b, 100, r, 2, &t));
    tide_batch_header h;
    TT_OK(tide_batch_header_parse(b.data, &h));
    TT_ASSERT_EQ_INT(h.version, 2);
    TT_ASSERT_EQ_INT(h.hlen, TIDE_BATCH_HEADER_V2);
    TT_OK(tide_batch_validate(b.data, &h));
    tide_batch_txn got;
    TT_ASSERT(tide_batch_get_txn(b.data, &h, &got));
    TT_ASSERT(got.flags == TIDE_BATCH_TXN && got.producer == 3 && got.txn == 7 && got.epoch == 2);
    tide_batch_iter it;
    tide_batch_iter_init(&it, b.data, &h);
    tide_record x;
    TT_ASSERT(tide_batch_iter_next(&it, &x) && x.offset == 100 && x.timestamp == 5 && x.value_len == 2 &&
              memcmp(x.value, "ab", 2) == 0 && !x.key);
    TT_ASSERT(tide_batch_iter_next(&it, &x) && x.offset == 101 && x.key_len == 1 && !tide_batch_iter_next(&it, &x));
    /* a plain batch stays version 1, and has no transaction */
    tide_buf p = {0};
    TT_OK(tide_batch_encode(&p, 0, r, 2));
    TT_OK(tide_batch_header_parse(p.data, &h));
    TT_ASSERT(h.version == 1 && h.hlen == TIDE_BATCH_HEADER && !tide_batch_get_txn(p.data, &h, &got));
    /* refused at encode: a marker of two records, no producer, a bad flag set */
    tide_batch_txn bad[] = {{.flags = TIDE_BATCH_TXN | TIDE_BATCH_CONTROL, .producer = 1, .txn = 1},
                            {.flags = TIDE_BATCH_TXN, .producer = 0, .txn = 1},
                            {.flags = TIDE_BATCH_CONTROL, .producer = 1, .txn = 1},
                            {.flags = TIDE_BATCH_TXN | TIDE_BATCH_ABORT, .producer = 1, .txn = 1},
                            {.flags = TIDE_BATCH_TXN, .producer = 1, .txn = 0}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tide_buf_reset(&p);
        TT_ASSERT_EQ_INT(tide_batch_encode_txn(&p, 0, r, 2, &bad[i]), TIDE_EINVAL);
    }
    /* an ABORT marker may carry txn 0 (abort everything open) */
    tide_batch_txn ab = {.flags = TIDE_BATCH_TXN | TIDE_BATCH_CONTROL | TIDE_BATCH_ABORT, .producer = 1};
    tide_buf_reset(&p);
    TT_OK(tide_batch_encode_txn(&p, 0, r, 1, &ab));
    TT_OK(tide_batch_header_parse(p.data, &h));
    TT_OK(tide_batch_validate(p.data, &h));
    /* forged headers (CRC recomputed where the CRC covers them): refused */
    struct {
        size_t at;
        uint8_t v;
        const char *what;
    } forge[] = {{9, 0, "version 2 without flags"},
                 {9, TIDE_BATCH_CONTROL, "control without txn"},
                 {9, TIDE_BATCH_TXN | TIDE_BATCH_CONTROL, "a marker of two records"},
                 {9, 8 | TIDE_BATCH_TXN, "an unknown flag"},
                 {8, 3, "version 3"},
                 {60, 1, "reserved bytes of version 2"},
                 {40, 0, "producer 0"}};
    for (size_t i = 0; i < sizeof forge / sizeof *forge; i++) {
        tide_buf f = {0};
        TT_OK(tide_buf_append(&f, b.data, b.len));
        if (forge[i].at == 40)
            memset(f.data + 40, 0, 8);
        else
            f.data[forge[i].at] = forge[i].v;
        tide_put_u32(f.data + 4, tide_crc32c(0, f.data + 8, f.len - 8));
        bool refused = tide_batch_header_parse(f.data, &h) != 0 || tide_batch_validate(f.data, &h) != 0;
        tide_buf_free(&f);
        TT_ASSERT_MSG(refused, "%s accepted", forge[i].what);
    }
    /* a version 1 batch forged to carry the transaction flag */
    tide_buf f = {0};
    tide_buf_reset(&p);
    TT_OK(tide_batch_encode(&p, 0, r, 2));
    TT_OK(tide_buf_append(&f, p.data, p.len));
    f.data[9] = TIDE_BATCH_TXN;
    TT_ASSERT(tide_batch_header_parse(f.data, &h) != 0);
    tide_buf_free(&f);
    tide_buf_free(&b);
    tide_buf_free(&p);
}

/* ---- the contract, step by step ---- */

static void test_txn_basic(void)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/basic", tmp);
    TT_OK(make_topic(dir, "t", 2, TIDE_FSYNC_INTERVAL));
    tide_err e = {0};
    tide_log_producer *p = NULL, *p2 = NULL;
    uint32_t v[64];
    bool blocked;
    uint64_t pos;
    TT_OK(tide_log_producer_open(&p, dir, "t", "job.0", NULL, &e));
    TT_ASSERT_EQ_INT(tide_log_producer_id(p), 1);
    TT_ASSERT_EQ_INT(append_vals(p, NULL, 0, 0, 1, &e), TIDE_EINVAL); /* before recover */
    memset(&e, 0, sizeof e);
    TT_ASSERT_EQ_INT(tide_log_producer_open(&p2, dir, "t", "job.0", NULL, &e), TIDE_ELOCKED);
    memset(&e, 0, sizeof e);
    TT_OK(tide_log_producer_recover(p, 0, &e));
    TT_ASSERT_EQ_INT(tide_log_producer_epoch(p), 1);
    /* recovery wrote an ABORT marker per partition: nothing to read, not blocked */
    TT_ASSERT_EQ_INT(read_all(dir, "t", 0, TIDE_LOG_READ_COMMITTED, v, 64, &blocked, &pos), 0);
    TT_ASSERT(!blocked && pos == 1);
    TT_OK(append_vals(p, NULL, 0, 10, 3, &e));
    TT_OK(append_vals(p, NULL, 1, 20, 2, &e));
    TT_ASSERT_EQ_INT(read_all(dir, "t", 0, TIDE_LOG_READ_COMMITTED, v, 64, &blocked, &pos), 0);
    TT_ASSERT(blocked && pos == 1); /* the LSO: the transaction's first record */
    TT_ASSERT_EQ_INT(read_all(dir, "t", 0, TIDE_LOG_READ_UNCOMMITTED, v, 64, &blocked, NULL), 3);
    TT_ASSERT(!blocked && v[0] == 10 && v[2] == 12);
    TT_OK(tide_log_producer_precommit(p, 1, &e));
    TT_ASSERT_EQ_INT(read_all(dir, "t", 1, TIDE_LOG_READ_COMMITTED, v, 64, &blocked, NULL), 0);
    TT_ASSERT(blocked);
    TT_OK(tide_log_producer_commit(p, 1, &e));
    TT_ASSERT_EQ_INT(read_all(dir, "t", 0, TIDE_LOG_READ_COMMITTED, v, 64, &blocked, &pos), 3);
    TT_ASSERT(!blocked && v[0] == 10 && v[2] == 12 && pos == 5); /* marker at 4 skipped */
    TT_ASSERT_EQ_INT(read_all(dir, "t", 1, TIDE_LOG_READ_COMMITTED, v, 64, &blocked, NULL), 2);
    /* commit equal: no-op; not pre-committed: refused */
    TT_OK(tide_log_producer_commit(p, 1, &e));
    TT_ASSERT_EQ_INT(tide_log_producer_commit(p, 2, &e), TIDE_EINVAL);
    memset(&e, 0, sizeof e);
    TT_OK(append_vals(p, NULL, 0, 30, 1, &e));
    TT_OK(tide_log_producer_precommit(p, 3, &e));
    TT_OK(tide_log_producer_precommit(p, 4, &e));
    TT_OK(tide_log_producer_commit(p, 4, &e));
    TT_ASSERT_EQ_INT(tide_log_producer_commit(p, 3, &e), TIDE_EINVAL); /* delayed */
    TT_ASSERT(strstr(e.msg, "delayed commit") != NULL);
    memset(&e, 0, sizeof e);
    TT_OK(tide_log_producer_close(p, &e));
    /* after a restart the stale commit is still refused, and so is resuming an older checkpoint */
    TT_OK(tide_log_producer_open(&p, dir, "t", "job.0", NULL, &e));
    TT_ASSERT_EQ_INT(tide_log_producer_committed(p), 4);
    TT_ASSERT_EQ_INT(tide_log_producer_recover(p, 3, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "transaction 4 is committed") != NULL);
    memset(&e, 0, sizeof e);
    TT_OK(tide_log_producer_recover(p, 4, &e));
    TT_ASSERT_EQ_INT(tide_log_producer_epoch(p), 2);
    TT_ASSERT_EQ_INT(tide_log_producer_commit(p, 3, &e), TIDE_EINVAL);
    memset(&e, 0, sizeof e);
    /* a second producer gets the next id */
    TT_OK(tide_log_producer_open(&p2, dir, "t", "job.1", NULL, &e));
    TT_ASSERT_EQ_INT(tide_log_producer_id(p2), 2);
    char name[64];
    TT_OK(tide_log_producer_name(dir, "t", 2, name, sizeof name, &e));
    TT_ASSERT_EQ_STR(name, "job.1");
    TT_OK(tide_log_producer_close(p2, &e));
    TT_OK(tide_log_producer_close(p, &e));
    TT_ASSERT_EQ_INT(read_all(dir, "t", 0, TIDE_LOG_READ_COMMITTED, v, 64, &blocked, NULL), 4);
    TT_ASSERT(v[3] == 30);
}

/* A crash between the data and the marker: the reader stops at the open
 * transaction (plain records after it wait too), describe shows it, and the
 * recovery commits it (its checkpoint completed) or aborts it. */
static void test_txn_crash_before_marker(void)
{
    for (int complete = 0; complete < 2; complete++) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/crash%d", tmp, complete);
        TT_OK(make_topic(dir, "t", 1, TIDE_FSYNC_NEVER));
        tide_err e = {0};
        tide_log_producer *p = NULL;
        tide_log_writer *w = NULL;
        uint32_t v[64];
        bool blocked;
        uint64_t pos;
        TT_OK(tide_log_writer_open(&w, dir, "t", NULL, &e));
        TT_OK(append_vals(NULL, w, 0, 1, 2, &e)); /* 0, 1 */
        TT_OK(tide_log_producer_open(&p, dir, "t", "job.0", NULL, &e));
        TT_OK(tide_log_producer_recover(p, 0, &e)); /* 2: abort marker */
        TT_OK(append_vals(p, NULL, 0, 100, 3, &e)); /* 3..5 */
        TT_OK(append_vals(NULL, w, 0, 3, 1, &e));   /* 6 */
        TT_OK(tide_log_producer_precommit(p, 1, &e));
        TT_OK(append_vals(p, NULL, 0, 200, 2, &e)); /* 7..8: the next transaction */
        TT_OK(tide_log_writer_sync(w, &e));
        /* the process dies before the commit, with a power loss: what was synced stays */
        tide_io_faults f = {.crash_at_step = 1, .seed = 5};
        tide_io_faults_set(&f);
        tide_log_producer_close(p, NULL);
        TT_OK(tide_io_powerloss(false, &e));
        TT_ASSERT_EQ_INT(read_all(dir, "t", 0, TIDE_LOG_READ_COMMITTED, v, 64, &blocked, &pos), 2);
        TT_ASSERT(blocked && pos == 3 && v[0] == 1 && v[1] == 2);
        tide_log_txn_info info;
        TT_OK(tide_log_txn_scan(dir, "t", 0, &info, &e));
        TT_ASSERT_EQ_INT(info.lso, 3);
        TT_ASSERT_EQ_INT(info.nopen, 2);
        TT_ASSERT(info.open[0].producer == 1 && info.open[0].txn == 1 && info.open[0].first_offset == 3 &&
                  info.open[0].records == 3);
        TT_ASSERT(info.open[1].txn == 2 && info.open[1].first_offset == 7);
        TT_OK(tide_log_producer_open(&p, dir, "t", "job.0", NULL, &e));
        TT_OK(tide_log_producer_recover(p, complete ? 1 : 0, &e));
        TT_OK(tide_log_producer_close(p, &e));
        long n = read_all(dir, "t", 0, TIDE_LOG_READ_COMMITTED, v, 64, &blocked, NULL);
        TT_ASSERT(!blocked);
        if (complete) {
            TT_ASSERT_EQ_INT(n, 6);
            TT_ASSERT(v[2] == 100 && v[3] == 101 && v[4] == 102 && v[5] == 3);
        } else {
            TT_ASSERT_EQ_INT(n, 3);
            TT_ASSERT(v[2] == 3);
        }
        TT_OK(tide_log_txn_scan(dir, "t", 0, &info, &e));
        TT_ASSERT_EQ_INT(info.nopen, 0);
        TT_ASSERT_EQ_INT(info.committed_records, complete ? 3 : 0);
        TT_ASSERT_EQ_INT(info.aborted_records, complete ? 2 : 5);
        TT_OK(tide_log_writer_close(w, &e));
    }
}

/* ---- the model ---- */

enum { NPROD = 3, NPART = 3, MAXTX = 4096, MAXENT = 1 << 16 };
enum { ST_OPEN, ST_COMMITTED, ST_ABORTED, ST_MAYBE };

typedef struct ment {
    uint32_t val;
    int tx; /* -1: plain */
    bool maybe; /* plain, from a failed append: may or may not be there */
} ment;

typedef struct mtx {
    int prod;
    int64_t id; /* 0 until pre-committed */
    int st;
} mtx;

typedef struct mprod {
    tide_log_producer *p;
    int cur;               /* the open transaction (index in tx) */
    int64_t next_id, last_pre, ckpt, committed;
} mprod;

static struct {
    ment ent[NPART][MAXENT];
    long nent[NPART];
    mtx tx[MAXTX];
    int ntx;
    mprod pr[NPROD];
    uint32_t next_val;
} M;

static int new_tx(int prod)
{
    M.tx[M.ntx] = (mtx){prod, 0, ST_OPEN};
    return M.ntx++;
}

/* Compare what a read-committed reader returns with the model. */
static uint32_t g_got[MAXENT];
static bool view_ok(const char *dir, uint32_t part, const uint32_t *got, long n, bool blocked)
{
    long k = 0;
    for (long i = 0; i < M.nent[part]; i++) {
        const ment *m = &M.ent[part][i];
        int st = m->tx < 0 ? ST_COMMITTED : M.tx[m->tx].st;
        if (st == ST_OPEN) {
            if (k != n || !blocked) {
                fprintf(stderr, "partition %u: model stops at entry %ld (value %u, open); reader gave %ld of %ld, "
                                "blocked %d\n",
                        part, i, m->val, k, n, blocked);
                return false;
            }
            return true;
        }
        if (m->maybe) {
            if (k < n && got[k] == m->val)
                k++;
            continue;
        }
        if (st == ST_ABORTED)
            continue;
        if (k >= n || got[k] != m->val) {
            fprintf(stderr, "partition %u: model entry %ld (tx %d st %d) is %u, reader's %ld is %ld\n", part, i, m->tx, st, m->val, k,
                    k < n ? (long)got[k] : -1L);
            return false;
        }
        k++;
    }
    if (k != n || blocked) {
        fprintf(stderr, "partition %u: reader gave %ld records (model %ld), blocked %d\n", part, n, k, blocked);
        return false;
    }
    (void)dir;
    return true;
}

static void test_txn_model(void)
{
    long n_end[3] = {0}, n_blocked_checks = 0, n_stale = 0, n_recover_crash = 0, n_aborted = 0, n_committed = 0;
    TT_FOR_SEEDS(seed, 1, 30)
    {
        uint64_t rs = seed * 104729;
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/model-%llu", tmp, (unsigned long long)seed);
        TT_OK(make_topic(dir, "t", NPART, TIDE_FSYNC_NEVER));
        memset(&M, 0, sizeof M);
        tide_log_reader *live[NPART] = {0};
        long live_n[NPART] = {0};
        static uint32_t live_got[NPART][MAXENT];
        for (int epoch = 0; epoch < 10; epoch++) {
            tide_err e = {0};
            tide_log_writer *w = NULL;
            /* the model: every transaction decided by the checkpoints */
            for (int t = 0; t < M.ntx; t++) {
                mtx *x = &M.tx[t];
                if (x->st != ST_OPEN)
                    continue;
                x->st = x->id && x->id <= M.pr[x->prod].ckpt ? ST_COMMITTED : ST_ABORTED;
                if (x->st == ST_ABORTED)
                    n_aborted++;
            }
            for (int i = 0; i < NPROD; i++) {
                M.pr[i].cur = new_tx(i);
                M.pr[i].last_pre = M.pr[i].committed = M.pr[i].ckpt;
                if (M.pr[i].next_id <= M.pr[i].ckpt)
                    M.pr[i].next_id = M.pr[i].ckpt + 1;
            }
            /* the faults are set before anything opens, so that every file
             * written is tracked by the power-loss simulation (base/io.c
             * tracks the files opened for writing after tide_io_faults_set);
             * then everyone recovers from its last complete checkpoint */
            int end = (int)(tt_rand(&rs) % 3);
            n_end[end]++;
            tide_io_faults f = {.seed = tt_rand(&rs)};
            if (end == 1)
                f.crash_at_step = 1 + (long)(tt_rand(&rs) % 100);
            else if (end == 2) {
                f.fail_at = 1 + (long)(tt_rand(&rs) % 300);
                f.fail_errno = tt_rand(&rs) % 2 ? EIO : ENOSPC;
            }
            tide_io_faults_set(&f);
            bool failed = false;
            {
                int rc = 0;
                for (int i = 0; i < NPROD && !rc; i++) {
                    rc = tide_log_producer_open(&M.pr[i].p, dir, "t", i == 0 ? "a" : i == 1 ? "b" : "c", &quiet, &e);
                    if (!rc)
                        rc = tide_log_producer_recover(M.pr[i].p, M.pr[i].ckpt, &e);
                }
                if (!rc)
                    rc = tide_log_writer_open(&w, dir, "t", &quiet, &e);
                if (rc) {
                    TT_ASSERT_MSG(end == 2 || (end == 1 && rc == TIDE_ECRASH), "recovery failed: %s", e.msg);
                    n_recover_crash++;
                    failed = true;
                    memset(&e, 0, sizeof e);
                }
            }
            for (int op = 0; op < (end == 0 ? 40 : 100000) && !failed; op++) {
                uint64_t r = tt_rand(&rs) % 100;
                int who = (int)(tt_rand(&rs) % NPROD);
                mprod *mp = &M.pr[who];
                uint32_t part = (uint32_t)(tt_rand(&rs) % NPART);
                int rc = 0;
                if (r < 40) {
                    uint32_t n = 1 + (uint32_t)(tt_rand(&rs) % 6);
                    uint32_t first = M.next_val;
                    M.next_val += n;
                    TT_ASSERT(M.nent[part] + n < MAXENT);
                    rc = append_vals(mp->p, NULL, part, first, n, &e);
                    for (uint32_t i = 0; i < n; i++) /* a failed append may have landed a prefix */
                        M.ent[part][M.nent[part]++] = (ment){first + i, mp->cur, false};
                } else if (r < 50) {
                    uint32_t n = 1 + (uint32_t)(tt_rand(&rs) % 3);
                    uint32_t first = M.next_val;
                    M.next_val += n;
                    rc = append_vals(NULL, w, part, first, n, &e);
                    if (rc == 0)
                        rc = tide_log_writer_sync(w, &e); /* acknowledged once durable */
                    for (uint32_t i = 0; i < n; i++)
                        M.ent[part][M.nent[part]++] = (ment){first + i, -1, rc != 0};
                } else if (r < 75) {
                    int64_t id = mp->next_id;
                    mp->next_id += 1 + (int64_t)(tt_rand(&rs) % 2);
                    rc = tide_log_producer_precommit(mp->p, id, &e);
                    if (rc == 0) {
                        M.tx[mp->cur].id = id;
                        mp->cur = new_tx(who);
                        mp->last_pre = id;
                        if (tt_rand(&rs) % 10 < 7)
                            mp->ckpt = id; /* the checkpoint completes */
                    }
                } else if (r < 95) {
                    if (mp->ckpt > mp->committed) {
                        rc = tide_log_producer_commit(mp->p, mp->ckpt, &e);
                        if (rc == 0) {
                            mp->committed = mp->ckpt;
                            for (int t = 0; t < M.ntx; t++)
                                if (M.tx[t].prod == who && M.tx[t].st == ST_OPEN && M.tx[t].id &&
                                    M.tx[t].id <= mp->committed) {
                                    M.tx[t].st = ST_COMMITTED;
                                    n_committed++;
                                }
                        }
                    }
                } else if (mp->committed > 0) {
                    TT_ASSERT_EQ_INT(tide_log_producer_commit(mp->p, mp->committed - 1, &e), TIDE_EINVAL);
                    memset(&e, 0, sizeof e);
                    n_stale++;
                }
                if (rc) {
                    TT_ASSERT_MSG(end == 2 || (end == 1 && rc == TIDE_ECRASH), "op failed: %s", e.msg);
                    failed = true;
                    memset(&e, 0, sizeof e);
                    continue;
                }
                if (tide_io_crashed() || tt_rand(&rs) % 3)
                    continue;
                /* the check: a fresh reader and the live one of a partition */
                uint32_t cp = (uint32_t)(tt_rand(&rs) % NPART);
                bool blocked;
                long n = read_all(dir, "t", cp, TIDE_LOG_READ_COMMITTED, g_got, MAXENT, &blocked, NULL);
                if (n == -2 && end == 2) { /* the injected error hit the reader: everyone restarts */
                    failed = true;
                    continue;
                }
                TT_ASSERT_MSG(view_ok(dir, cp, g_got, n, blocked), "fresh reader, epoch %d op %d", epoch, op);
                n_blocked_checks += blocked;
                if (!live[cp]) {
                    tide_err le = {0};
                    int lrc = tide_log_reader_open(&live[cp], dir, "t", cp, &le);
                    if (lrc && end == 2) {
                        failed = true;
                        continue;
                    }
                    TT_ASSERT_MSG(lrc == 0, "live reader: %s", le.msg);
                    live_n[cp] = 0;
                }
                for (;;) {
                    tide_record rec;
                    tide_err le = {0};
                    int lrc = tide_log_reader_next(live[cp], &rec, &le);
                    if (lrc == TIDE_EAGAIN)
                        break;
                    if (lrc && end == 2) {
                        failed = true;
                        break;
                    }
                    TT_ASSERT_MSG(lrc == 0, "live reader: %s", le.msg);
                    char buf[32];
                    snprintf(buf, sizeof buf, "%.*s", (int)rec.value_len, (const char *)rec.value);
                    live_got[cp][live_n[cp]++] = (uint32_t)strtoul(buf, NULL, 10);
                }
                if (failed)
                    continue;
                TT_ASSERT_MSG(view_ok(dir, cp, live_got[cp], live_n[cp], tide_log_reader_blocked(live[cp])),
                              "live reader, epoch %d op %d", epoch, op);
            }
            TT_ASSERT(failed || end == 0);
            if (end == 0) { /* a kill: nothing more reaches the disk */
                tide_io_faults kf = {.crash_at_step = 1};
                tide_io_faults_set(&kf);
            }
            for (int i = 0; i < NPROD; i++) {
                tide_log_producer_close(M.pr[i].p, NULL);
                M.pr[i].p = NULL;
            }
            tide_log_writer_close(w, NULL);
            if (end == 2) {
                tide_io_faults_set(NULL);
            } else {
                TT_OK(tide_io_powerloss(end == 0, &e));
                if (end == 1)
                    for (int i = 0; i < NPART; i++) {
                        tide_log_reader_close(live[i]);
                        live[i] = NULL;
                    }
            }
        }
        for (int i = 0; i < NPART; i++)
            tide_log_reader_close(live[i]);
        /* the last recovery decides everything: every partition reads to its end */
        tide_err e = {0};
        for (int i = 0; i < NPROD; i++) {
            TT_OK(tide_log_producer_open(&M.pr[i].p, dir, "t", i == 0 ? "a" : i == 1 ? "b" : "c", &quiet, &e));
            TT_OK(tide_log_producer_recover(M.pr[i].p, M.pr[i].ckpt, &e));
            TT_OK(tide_log_producer_close(M.pr[i].p, &e));
        }
        for (int t = 0; t < M.ntx; t++)
            if (M.tx[t].st == ST_OPEN)
                M.tx[t].st = M.tx[t].id && M.tx[t].id <= M.pr[M.tx[t].prod].ckpt ? ST_COMMITTED : ST_ABORTED;
        for (uint32_t p = 0; p < NPART; p++) {
            bool blocked;
            long n = read_all(dir, "t", p, TIDE_LOG_READ_COMMITTED, g_got, MAXENT, &blocked, NULL);
            TT_ASSERT_MSG(view_ok(dir, p, g_got, n, blocked), "final view");
        }
    }
    if (!tt_replaying()) {
        fprintf(stderr,
                "  ends: kill %ld, power %ld, error %ld; %ld checks met an open transaction; %ld transactions "
                "committed by commit, %ld aborted by recovery; %ld stale commits refused; %ld crashes in recovery; "
                "%ld torn tails cut\n",
                n_end[0], n_end[1], n_end[2], n_blocked_checks, n_committed, n_aborted, n_stale, n_recover_crash,
                g_torn);
        TT_ASSERT(n_blocked_checks > 0 && n_committed > 0 && n_aborted > 0 && n_stale > 0 && n_recover_crash > 0 &&
                  g_torn > 0);
    }
}

/* Each fault point fails its step; the recovery from the last complete
 * checkpoint decides everything as the model says. */
static void test_txn_fault_points(void)
{
    static const char *points[] = {"log.txn.append", "log.txn.precommit", "log.txn.marker", "log.txn.state"};
    for (size_t i = 0; i < sizeof points / sizeof *points; i++) {
        char dir[4200], spec[128];
        snprintf(dir, sizeof dir, "%s/fault-%zu", tmp, i);
        TT_OK(make_topic(dir, "t", 2, TIDE_FSYNC_INTERVAL));
        tide_err e = {0};
        tide_log_producer *p = NULL;
        uint32_t v[64];
        bool blocked;
        TT_OK(tide_log_producer_open(&p, dir, "t", "j.0", NULL, &e));
        TT_OK(tide_log_producer_recover(p, 0, &e));
        TT_OK(append_vals(p, NULL, 0, 0, 2, &e));
        TT_OK(tide_log_producer_precommit(p, 1, &e));
        TT_OK(tide_log_producer_commit(p, 1, &e));
        TT_OK(append_vals(p, NULL, 1, 2, 2, &e));
        snprintf(spec, sizeof spec, "%s:eio", points[i]);
        tide_fault_set(spec);
        int rc = append_vals(p, NULL, 0, 4, 1, &e);
        int64_t ckpt = 1;
        if (rc == 0 && (rc = tide_log_producer_precommit(p, 2, &e)) == 0) {
            ckpt = 2; /* the checkpoint completed; the commit fails */
            rc = tide_log_producer_commit(p, 2, &e);
        }
        TT_ASSERT_EQ_INT(rc, TIDE_EIO);
        TT_ASSERT(strstr(e.msg, points[i]) != NULL);
        TT_ASSERT(tide_fault_hits() == 1);
        memset(&e, 0, sizeof e);
        TT_ASSERT_EQ_INT(append_vals(p, NULL, 0, 9, 1, &e), TIDE_EIO); /* failed for good */
        tide_fault_set(NULL);
        memset(&e, 0, sizeof e);
        tide_log_producer_close(p, NULL);
        TT_OK(tide_log_producer_open(&p, dir, "t", "j.0", NULL, &e));
        TT_OK(tide_log_producer_recover(p, ckpt, &e));
        TT_OK(tide_log_producer_close(p, &e));
        long n0 = read_all(dir, "t", 0, TIDE_LOG_READ_COMMITTED, v, 64, &blocked, NULL);
        TT_ASSERT(!blocked);
        long n1 = read_all(dir, "t", 1, TIDE_LOG_READ_COMMITTED, v, 64, &blocked, NULL);
        TT_ASSERT(!blocked);
        TT_ASSERT_MSG(n0 == (ckpt == 2 ? 3 : 2) && n1 == (ckpt == 2 ? 2 : 0), "%s: %ld %ld", points[i], n0, n1);
    }
}

/* The command line: tide consume (read-committed by default, stopping at
 * the last stable offset with a note; --isolation read-uncommitted) and
 * tide topic describe (the LSO and the open transaction). */
static int run_cmd(const char *cmd, char *out, size_t cap)
{
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_txn_cli(void)
{
    const char *bin = getenv("TIDE_BIN");
    if (!bin || !*bin)
        TT_SKIP("TIDE_BIN is not set (ctest sets it)");
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/cli", tmp);
    TT_OK(make_topic(dir, "t", 1, TIDE_FSYNC_INTERVAL));
    tide_err e = {0};
    tide_log_writer *w = NULL;
    tide_log_producer *p = NULL;
    tide_record r = {.value = "p0", .value_len = 2};
    TT_OK(tide_log_writer_open(&w, dir, "t", NULL, &e));
    TT_OK(tide_log_append(w, 0, &r, 1, NULL, &e)); /* 0 */
    TT_OK(tide_log_producer_open(&p, dir, "t", "job.0", NULL, &e));
    TT_OK(tide_log_producer_recover(p, 0, &e)); /* 1: abort marker */
    tide_record c[2] = {{.value = "c1", .value_len = 2}, {.value = "c2", .value_len = 2}};
    TT_OK(tide_log_producer_append(p, 0, c, 2, &e)); /* 2, 3 */
    TT_OK(tide_log_producer_precommit(p, 1, &e));
    TT_OK(tide_log_producer_commit(p, 1, &e)); /* 4 */
    r.value = "a1";
    TT_OK(tide_log_producer_append(p, 0, &r, 1, &e)); /* 5 */
    TT_OK(tide_log_producer_precommit(p, 2, &e));
    tide_log_producer_close(p, NULL); /* checkpoint 2 never completes */
    TT_OK(tide_log_producer_open(&p, dir, "t", "job.0", NULL, &e));
    TT_OK(tide_log_producer_recover(p, 1, &e)); /* 6: abort marker */
    r.value = "o1";
    TT_OK(tide_log_producer_append(p, 0, &r, 1, &e)); /* 7: open */
    r.value = "p1";
    TT_OK(tide_log_append(w, 0, &r, 1, NULL, &e)); /* 8 */
    TT_OK(tide_log_writer_close(w, &e));
    char cmd[9000], out[8192];
    snprintf(cmd, sizeof cmd, "'%s' consume t --data '%s' --format raw 2>&1", bin, dir);
    TT_ASSERT_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    TT_ASSERT_MSG(strncmp(out, "p0\nc1\nc2\n", 9) == 0 && strstr(out, "stopped at offset 7, the last stable offset"),
                  "%s", out);
    snprintf(cmd, sizeof cmd, "'%s' consume t --data '%s' --format raw --isolation read-uncommitted 2>&1", bin, dir);
    TT_ASSERT_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    TT_ASSERT_EQ_STR(out, "p0\nc1\nc2\na1\no1\np1\n");
    snprintf(cmd, sizeof cmd, "'%s' consume t --data '%s' --isolation dirty 2>&1", bin, dir);
    TT_ASSERT_EQ_INT(run_cmd(cmd, out, sizeof out), 1);
    TT_ASSERT(strstr(out, "--isolation: 'dirty'") != NULL);
    snprintf(cmd, sizeof cmd, "'%s' topic describe t --data '%s' 2>&1", bin, dir);
    TT_ASSERT_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    TT_ASSERT_MSG(strstr(out, "        0              7        1        3                  2                1\n") &&
                      strstr(out, "partition 0: producer job.0 (id 1) transaction 2 from offset 7, 1 records"),
                  "%s", out);
    /* once committed, everything reads to the end */
    TT_OK(tide_log_producer_precommit(p, 2, &e));
    TT_OK(tide_log_producer_commit(p, 2, &e)); /* 9 */
    TT_OK(tide_log_producer_close(p, &e));
    snprintf(cmd, sizeof cmd, "'%s' consume t --data '%s' --format raw 2>&1", bin, dir);
    TT_ASSERT_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    TT_ASSERT_EQ_STR(out, "p0\nc1\nc2\no1\np1\n");
}

int main(void)
{
    tmp = tt_tmpdir("test_log_txn");
    if (!tmp)
        return 1;
    TT_RUN(test_txn_batch_format);
    TT_RUN(test_txn_basic);
    TT_RUN(test_txn_crash_before_marker);
    TT_RUN(test_txn_model);
    TT_RUN(test_txn_fault_points);
    TT_RUN(test_txn_cli);
    TT_DONE();
}
