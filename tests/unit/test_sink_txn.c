/*
 * test_sink_txn.c - transactional sinks (connect/sink.h, "Transactions"):
 * the FILE sink's part files and the STDOUT sink's at-least-once contract.
 *
 * The model test drives a FILE sink through random sequences of writes,
 * pre-commits, checkpoints that complete or not, commits (and stale
 * commits), and ends each run of the sink with a kill, a simulated power
 * loss at a random I/O step (base/io.h: unsynced bytes and directory
 * entries lost), or an injected I/O error; then a new sink recovers from the
 * last complete checkpoint and the rows resume from that checkpoint's
 * position, as a job's would.  What a reader sees (the part-* files in name
 * order, dot-files ignored, read here with plain stdio) must always be
 * exactly rows 0 .. N-1 of the model: N the position of the last commit
 * that returned, or after a recovery of the checkpoint recovered from.  So
 * nothing of an open or aborted transaction is visible, and no row is lost
 * or repeated across any crash.
 */
#include "base/err.h"
#include "base/fault.h"
#include "base/io.h"
#include "connect/sink.h"
#include "log/reader.h"
#include "log/topic.h"
#include "tt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *tmp;
static tide_schema *g_schema;

static tide_schema *schema_v(void)
{
    tide_schema *s = NULL;
    tide_err e = {0};
    if (tide_schema_create(&s, &e) || tide_schema_add(s, "v", TIDE_TYPE_BIGINT, false, &e)) {
        tide_schema_free(s);
        return NULL;
    }
    return s;
}

/* Write rows from, from+1, ..., from+n-1. */
static int write_rows(tide_sink *k, int64_t from, uint32_t n, tide_err *e)
{
    tide_cbatch *b = NULL;
    int rc = tide_cbatch_create(&b, g_schema, n ? n : 1, 0, e);
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        uint32_t r;
        rc = tide_cbatch_add_row(b, &r);
        if (rc == 0)
            tide_cbatch_set_i64(b, 0, r, from + i);
    }
    if (rc == 0)
        rc = tide_sink_write(k, b, e);
    tide_cbatch_free(b);
    return rc;
}

/* The model and fault tests run against a FILE sink, or with g_topic a
 * TOPIC sink: topic "out" (3 partitions, keyed by v) of data directory
 * `dir`, producer "job.0". */
static bool g_topic;
static long g_torn; /* torn tails the topic's writers cut (after power losses) */
static void count_report(void *ctx, const char *msg)
{
    (void)ctx;
    g_torn += strstr(msg, "torn tail") != NULL;
}

static int open_file_sink(tide_sink **k, const char *dir, bool header, tide_err *e)
{
    tide_sink_config c;
    tide_sink_config_init(&c);
    if (g_topic) {
        c.kind = TIDE_SINK_TOPIC;
        c.datadir = dir;
        c.topic = "out";
        c.key_column = "v";
        c.producer = "job.0";
        c.report = count_report;
        c.schema = g_schema;
        c.txn = true;
        return tide_sink_open(k, &c, e);
    }
    c.kind = TIDE_SINK_FILE;
    c.path = dir;
    c.schema = g_schema;
    c.header = header;
    c.txn = true;
    c.flush_bytes = 64; /* small: rows reach the file between pre-commits too */
    return tide_sink_open(k, &c, e);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* What a reader sees in dir: the values of every part-* file in name order
 * (each part's header line checked and skipped when header).  Returns the
 * count, or -1 with a reason printed. */
static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The topic: every partition read-committed (each in increasing order, as
 * written), then all values sorted.  -2 on a read error (an injected one
 * included). */
static long topic_view(const char *dir, int64_t *vals, long cap)
{
    long got = 0;
    for (uint32_t p = 0; p < 3; p++) {
        tide_log_reader *r = NULL;
        tide_err e = {0};
        if (tide_log_reader_open(&r, dir, "out", p, &e))
            return -2;
        int64_t prev = -1;
        for (;;) {
            tide_record rec;
            int rc = tide_log_reader_next(r, &rec, &e);
            if (rc == TIDE_EAGAIN)
                break;
            if (rc || got >= cap) {
                tide_log_reader_close(r);
                return rc ? -2 : -1;
            }
            char buf[32];
            snprintf(buf, sizeof buf, "%.*s", (int)rec.value_len, (const char *)rec.value);
            int64_t v = strtoll(buf, NULL, 10);
            if (v <= prev) {
                fprintf(stderr, "partition %u: %lld after %lld\n", p, (long long)v, (long long)prev);
                tide_log_reader_close(r);
                return -1;
            }
            vals[got++] = prev = v;
        }
        tide_log_reader_close(r);
    }
    qsort(vals, (size_t)got, sizeof *vals, cmp_i64);
    return got;
}

static long reader_view(const char *dir, bool header, int64_t *vals, long cap)
{
    if (g_topic)
        return topic_view(dir, vals, cap);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char *names[4096];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 4096)
        if (de->d_name[0] != '.')
            names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    long got = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len = strlen(names[i]);
        if (strncmp(names[i], "part-", 5) != 0 || len != 5 + 20 + 4 || strcmp(names[i] + 25, ".csv") != 0) {
            fprintf(stderr, "unexpected file %s\n", path);
            got = -1;
        }
        FILE *f = got >= 0 ? fopen(path, "r") : NULL;
        char line[64];
        bool first = true;
        while (f && fgets(line, sizeof line, f)) {
            if (first && header) {
                if (strcmp(line, "v\n") != 0) {
                    fprintf(stderr, "%s: header line %s", path, line);
                    got = -1;
                }
                first = false;
                continue;
            }
            first = false;
            if (got < 0 || got >= cap) {
                got = -1;
                break;
            }
            vals[got++] = strtoll(line, NULL, 10);
        }
        if (f)
            fclose(f);
        if (!f && got >= 0) {
            fprintf(stderr, "%s: cannot open\n", path);
            got = -1;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return got;
}

static int64_t g_vals[1 << 20];

/* The reader must see exactly 0 .. n-1. */
#define ASSERT_VIEW(dir, header, n)                                                                    \
    do {                                                                                               \
        long got_ = reader_view((dir), (header), g_vals, 1 << 20);                                     \
        TT_ASSERT_MSG(got_ == (long)(n), "reader sees %ld rows, the model %ld", got_, (long)(n));      \
        for (long i_ = 0; i_ < got_; i_++)                                                             \
            TT_ASSERT_MSG(g_vals[i_] == i_, "row %ld is %lld", i_, (long long)g_vals[i_]);             \
    } while (0)

static bool exists(const char *dir, const char *name)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    return stat(p, &st) == 0;
}

/* ---- the contract, step by step ---- */

static void test_file_txn_basic(void)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/basic", tmp);
    tide_err e = {0};
    tide_sink *k = NULL, *k2 = NULL;
    TT_OK(open_file_sink(&k, dir, true, &e));
    /* out of turn: before recover */
    TT_ASSERT_EQ_INT(write_rows(k, 0, 1, &e), TIDE_EINVAL);
    memset(&e, 0, sizeof e);
    TT_ASSERT_EQ_INT(tide_sink_txn_precommit(k, 1, &e), TIDE_EINVAL);
    memset(&e, 0, sizeof e);
    TT_OK(tide_sink_txn_recover(k, 0, &e));
    TT_ASSERT_EQ_INT(tide_sink_txn_recover(k, 0, &e), TIDE_EINVAL);
    memset(&e, 0, sizeof e);
    /* a second sink on the same directory */
    TT_ASSERT_EQ_INT(open_file_sink(&k2, dir, true, &e), TIDE_ELOCKED);
    TT_ASSERT(strstr(e.msg, "another transactional sink") != NULL);
    memset(&e, 0, sizeof e);

    TT_OK(write_rows(k, 0, 10, &e));
    TT_OK(tide_sink_flush(k, &e));
    TT_ASSERT(exists(dir, ".part.open"));
    ASSERT_VIEW(dir, true, 0);
    TT_OK(tide_sink_txn_precommit(k, 1, &e));
    TT_ASSERT(exists(dir, ".part-00000000000000000001.inprogress"));
    ASSERT_VIEW(dir, true, 0);
    TT_ASSERT_EQ_INT(tide_sink_txn_precommit(k, 1, &e), TIDE_EINVAL); /* ids increase */
    memset(&e, 0, sizeof e);
    TT_ASSERT_EQ_INT(tide_sink_txn_commit(k, 2, &e), TIDE_EINVAL); /* not pre-committed */
    memset(&e, 0, sizeof e);
    TT_OK(tide_sink_txn_commit(k, 1, &e));
    TT_ASSERT(exists(dir, "part-00000000000000000001.csv"));
    ASSERT_VIEW(dir, true, 10);
    TT_OK(tide_sink_txn_commit(k, 1, &e)); /* equal: no-op */
    TT_ASSERT_EQ_INT(tide_sink_txn_committed(k), 1);

    /* two pre-commits, one commit of the later: both become visible, in order;
     * an empty transaction (4) has no part */
    TT_OK(write_rows(k, 10, 5, &e));
    TT_OK(tide_sink_txn_precommit(k, 3, &e));
    TT_OK(tide_sink_txn_precommit(k, 4, &e));
    TT_OK(write_rows(k, 15, 7, &e));
    TT_OK(tide_sink_txn_precommit(k, 6, &e));
    ASSERT_VIEW(dir, true, 10);
    TT_OK(tide_sink_txn_commit(k, 6, &e));
    ASSERT_VIEW(dir, true, 22);
    TT_ASSERT(!exists(dir, "part-00000000000000000004.csv"));
    /* a delayed commit of an older transaction is refused and changes nothing */
    TT_ASSERT_EQ_INT(tide_sink_txn_commit(k, 3, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "delayed commit") != NULL);
    memset(&e, 0, sizeof e);
    TT_OK(write_rows(k, 22, 3, &e)); /* the sink did not fail */
    /* close commits nothing: the open part goes */
    TT_OK(tide_sink_close(k, &e));
    TT_ASSERT(!exists(dir, ".part.open"));
    ASSERT_VIEW(dir, true, 22);

    /* resuming from a checkpoint older than committed output is refused */
    TT_OK(open_file_sink(&k, dir, true, &e));
    TT_ASSERT_EQ_INT(tide_sink_txn_recover(k, 5, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "part 6 is committed") != NULL);
    memset(&e, 0, sizeof e);
    TT_OK(tide_sink_txn_recover(k, 6, &e));
    TT_ASSERT_EQ_INT(tide_sink_txn_committed(k), 6);
    tide_sink_abort(k);
    ASSERT_VIEW(dir, true, 22);
}

static void test_file_txn_recover(void)
{
    char dir[4200], p[4300];
    snprintf(dir, sizeof dir, "%s/recover", tmp);
    tide_err e = {0};
    tide_sink *k = NULL;
    TT_OK(open_file_sink(&k, dir, false, &e));
    TT_OK(tide_sink_txn_recover(k, 0, &e));
    TT_OK(write_rows(k, 0, 4, &e));
    TT_OK(tide_sink_txn_precommit(k, 2, &e));
    TT_OK(write_rows(k, 4, 4, &e));
    TT_OK(tide_sink_txn_precommit(k, 3, &e));
    TT_OK(write_rows(k, 8, 4, &e));
    TT_OK(tide_sink_txn_precommit(k, 5, &e));
    TT_OK(write_rows(k, 12, 4, &e));
    TT_OK(tide_sink_flush(k, &e));
    /* a kill: nothing is cleaned up */
    tide_io_faults f = {.crash_at_step = 1};
    tide_io_faults_set(&f);
    tide_sink_abort(k);
    TT_OK(tide_io_powerloss(true, &e));
    TT_ASSERT(exists(dir, ".part.open"));
    /* and a stray file a reader ignores */
    snprintf(p, sizeof p, "%s/.notes", dir);
    FILE *fp = fopen(p, "w");
    TT_ASSERT(fp != NULL);
    fclose(fp);
    ASSERT_VIEW(dir, false, 0);
    /* checkpoint 3 was the last complete one: 2 and 3 commit, 5 and the open part go */
    TT_OK(open_file_sink(&k, dir, false, &e));
    TT_OK(tide_sink_txn_recover(k, 3, &e));
    ASSERT_VIEW(dir, false, 8);
    TT_ASSERT(!exists(dir, ".part.open"));
    TT_ASSERT(!exists(dir, ".part-00000000000000000005.inprogress"));
    TT_ASSERT(exists(dir, ".notes"));
    /* ids go on after the recovered one */
    TT_ASSERT_EQ_INT(tide_sink_txn_precommit(k, 3, &e), TIDE_EINVAL);
    memset(&e, 0, sizeof e);
    TT_OK(write_rows(k, 8, 2, &e));
    TT_OK(tide_sink_txn_precommit(k, 4, &e));
    TT_OK(tide_sink_txn_commit(k, 4, &e));
    ASSERT_VIEW(dir, false, 10);
    TT_OK(tide_sink_close(k, &e));
}

static void test_file_txn_refusals(void)
{
    char dir[4200];
    tide_err e = {0};
    tide_sink *k = NULL;
    tide_sink_config c;
    /* a path that is a regular file */
    snprintf(dir, sizeof dir, "%s/plain", tmp);
    FILE *fp = fopen(dir, "w");
    TT_ASSERT(fp != NULL);
    fclose(fp);
    TT_ASSERT_EQ_INT(open_file_sink(&k, dir, false, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "a regular file") != NULL);
    /* TABLE */
    memset(&e, 0, sizeof e);
    snprintf(dir, sizeof dir, "%s/table", tmp);
    tide_sink_config_init(&c);
    c.kind = TIDE_SINK_FILE;
    c.path = dir;
    c.schema = g_schema;
    c.format = TIDE_FORMAT_TABLE;
    c.txn = true;
    TT_ASSERT_EQ_INT(tide_sink_open(&k, &c, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "table format") != NULL);
    /* TOPIC: a topic that does not exist, a bad producer name */
    memset(&e, 0, sizeof e);
    tide_sink_config_init(&c);
    c.kind = TIDE_SINK_TOPIC;
    c.topic = "nosuch";
    c.datadir = tmp;
    c.schema = g_schema;
    c.txn = true;
    TT_ASSERT_EQ_INT(tide_sink_open(&k, &c, &e), TIDE_ENOENT);
    memset(&e, 0, sizeof e);
    tide_topic_config tc;
    tide_topic_config_default(&tc);
    TT_OK(tide_topic_create(tmp, "refuse", &tc, &e));
    c.topic = "refuse";
    c.producer = "job/0";
    TT_ASSERT_EQ_INT(tide_sink_open(&k, &c, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "invalid producer name") != NULL);
    /* txn calls on a sink opened without txn */
    memset(&e, 0, sizeof e);
    tide_sink_config_init(&c);
    c.fd = open("/dev/null", O_WRONLY);
    c.schema = g_schema;
    TT_OK(tide_sink_open(&k, &c, &e));
    TT_ASSERT_EQ_INT(tide_sink_txn_recover(k, 0, &e), TIDE_EINVAL);
    TT_ASSERT_EQ_INT(tide_sink_txn_precommit(k, 1, &e), TIDE_EINVAL);
    TT_ASSERT_EQ_INT(tide_sink_txn_commit(k, 1, &e), TIDE_EINVAL);
    TT_OK(tide_sink_close(k, &e));
    close(c.fd);
}

/* TOPIC: rows are in the log at once but read-committed readers see them
 * only after the commit; a second sink of the same producer is refused; a
 * run that stops after a pre-commit leaves them for the next recover. */
static void test_topic_txn_basic(void)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/topic-basic", tmp);
    tide_topic_config tc;
    tide_topic_config_default(&tc);
    tc.partitions = 3;
    tide_err e = {0};
    TT_OK(tide_topic_create(dir, "out", &tc, &e));
    g_topic = true;
    tide_sink *k = NULL, *k2 = NULL;
    TT_OK(open_file_sink(&k, dir, false, &e));
    TT_ASSERT_EQ_INT(open_file_sink(&k2, dir, false, &e), TIDE_ELOCKED);
    memset(&e, 0, sizeof e);
    TT_OK(tide_sink_txn_recover(k, 0, &e));
    TT_OK(write_rows(k, 0, 30, &e));
    TT_OK(tide_sink_flush(k, &e));
    ASSERT_VIEW(dir, false, 0);
    int64_t raw[64];
    long n = 0;
    for (uint32_t p = 0; p < 3; p++) { /* read-uncommitted sees them */
        tide_log_reader *r = NULL;
        TT_OK(tide_log_reader_open(&r, dir, "out", p, &e));
        tide_log_reader_set_isolation(r, TIDE_LOG_READ_UNCOMMITTED);
        tide_record rec;
        while (tide_log_reader_next(r, &rec, &e) == 0 && n < 64)
            raw[n++] = 1;
        tide_log_reader_close(r);
    }
    TT_ASSERT_EQ_INT(n, 30);
    TT_OK(tide_sink_txn_precommit(k, 1, &e));
    ASSERT_VIEW(dir, false, 0);
    TT_OK(tide_sink_txn_commit(k, 1, &e));
    ASSERT_VIEW(dir, false, 30);
    TT_OK(write_rows(k, 30, 10, &e));
    TT_OK(tide_sink_txn_precommit(k, 2, &e));
    TT_OK(write_rows(k, 40, 10, &e));
    TT_OK(tide_sink_close(k, &e)); /* commits nothing */
    ASSERT_VIEW(dir, false, 30);
    TT_OK(open_file_sink(&k, dir, false, &e));
    TT_ASSERT_EQ_INT(tide_sink_txn_recover(k, 0, &e), TIDE_EINVAL); /* older than committed output */
    memset(&e, 0, sizeof e);
    TT_OK(tide_sink_txn_recover(k, 2, &e));
    ASSERT_VIEW(dir, false, 40);
    TT_ASSERT_EQ_INT(tide_sink_txn_commit(k, 1, &e), TIDE_EINVAL);
    memset(&e, 0, sizeof e);
    TT_OK(tide_sink_close(k, &e));
    g_topic = false;
    (void)raw;
}

/* STDOUT: at-least-once.  Rows appear as they are flushed (a pre-commit
 * flushes); commit and recover only check ids. */
static void test_stdout_txn(void)
{
    int fds[2];
    TT_ASSERT(pipe(fds) == 0);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    tide_err e = {0};
    tide_sink *k = NULL;
    tide_sink_config c;
    tide_sink_config_init(&c);
    c.fd = fds[1];
    c.schema = g_schema;
    c.txn = true;
    TT_OK(tide_sink_open(&k, &c, &e));
    TT_OK(tide_sink_txn_recover(k, 7, &e));
    TT_OK(write_rows(k, 0, 3, &e));
    char buf[256];
    TT_ASSERT(read(fds[0], buf, sizeof buf) < 0); /* buffered */
    TT_OK(tide_sink_txn_precommit(k, 8, &e));
    ssize_t n = read(fds[0], buf, sizeof buf);
    TT_ASSERT(n == 6 && memcmp(buf, "0\n1\n2\n", 6) == 0);
    TT_ASSERT_EQ_INT(tide_sink_txn_commit(k, 7, &e), 0); /* equal to recovered: no-op */
    TT_ASSERT_EQ_INT(tide_sink_txn_commit(k, 9, &e), TIDE_EINVAL);
    memset(&e, 0, sizeof e);
    TT_OK(tide_sink_txn_commit(k, 8, &e));
    TT_ASSERT_EQ_INT(tide_sink_txn_commit(k, 7, &e), TIDE_EINVAL);
    memset(&e, 0, sizeof e);
    TT_OK(write_rows(k, 3, 1, &e));
    TT_OK(tide_sink_close(k, &e)); /* flushes */
    n = read(fds[0], buf, sizeof buf);
    TT_ASSERT(n == 2 && memcmp(buf, "3\n", 2) == 0);
    close(fds[0]);
    close(fds[1]);
}

/* ---- the model ---- */

enum { END_KILL, END_POWER, END_ERROR };

typedef struct model {
    int64_t seq;              /* the next row the job writes */
    int64_t next_id;          /* the next checkpoint id */
    int64_t pre_end[4096];    /* per id: the row position at its pre-commit (-1: none) */
    int64_t ckpt, ckpt_end;   /* the last complete checkpoint and its position */
    int64_t committed;        /* the last commit that returned */
    int64_t visible;          /* rows 0 .. visible-1 must be what a reader sees */
} model;

/* Count the leftovers a recovery from checkpoint ckpt meets: pre-committed
 * parts it commits, ones it aborts, an open part. */
static void leftovers(const char *dir, int64_t ckpt, long *commit, long *abort, long *open)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        long long id;
        char tail[32];
        if (strcmp(de->d_name, ".part.open") == 0)
            (*open)++;
        else if (sscanf(de->d_name, ".part-%20lld%31s", &id, tail) == 2 && strcmp(tail, ".inprogress") == 0)
            (*(id <= ckpt ? commit : abort))++;
    }
    if (d)
        closedir(d);
}

/* Do the got values in g_vals read by reader_view equal 0 .. n-1? */
static bool view_is(long got, int64_t n)
{
    if (got != n) {
        fprintf(stderr, "reader sees %ld rows, the model %lld\n", got, (long long)n);
        return false;
    }
    for (long i = 0; i < got; i++)
        if (g_vals[i] != i) {
            fprintf(stderr, "row %ld is %lld\n", i, (long long)g_vals[i]);
            return false;
        }
    return true;
}

static void txn_model(void)
{
    static model m;
    long n_end[3] = {0}, n_commit = 0, n_abort = 0, n_open = 0, n_stale = 0, n_recover_crash = 0;
    TT_FOR_SEEDS(seed, 1, 60)
    {
        uint64_t rs = seed * 7919;
        bool header = seed % 2;
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/model%s-%llu", tmp, g_topic ? "-topic" : "", (unsigned long long)seed);
        if (g_topic) {
            tide_topic_config tc;
            tide_topic_config_default(&tc);
            tc.partitions = 3;
            tc.fsync = TIDE_FSYNC_NEVER;
            tide_err te = {0};
            TT_OK(tide_topic_create(dir, "out", &tc, &te));
        }
        memset(&m, 0, sizeof m);
        m.next_id = 1;
        for (int i = 0; i < 4096; i++)
            m.pre_end[i] = -1;
        for (int epoch = 0; epoch < 12; epoch++) {
            tide_err e = {0};
            tide_sink *k = NULL;
            /* recover from the last complete checkpoint, sometimes losing power in the middle */
            if (tt_rand(&rs) % 4 == 0) {
                tide_io_faults f = {.crash_at_step = 1 + (long)(tt_rand(&rs) % 6), .seed = tt_rand(&rs)};
                tide_io_faults_set(&f);
                int rc = open_file_sink(&k, dir, header, &e);
                if (rc == 0)
                    rc = tide_sink_txn_recover(k, m.ckpt, &e);
                tide_sink_abort(k);
                k = NULL;
                if (tide_io_crashed())
                    n_recover_crash++;
                else
                    TT_ASSERT_MSG(rc == 0, "%s", e.msg);
                TT_OK(tide_io_powerloss(false, &e));
                memset(&e, 0, sizeof e);
            }
            if (epoch > 0 && !g_topic)
                leftovers(dir, m.ckpt, &n_commit, &n_abort, &n_open);
            /* the faults are set before the sink opens, so that every file it
             * writes is tracked by the power-loss simulation (base/io.c tracks
             * the files opened for writing after tide_io_faults_set) */
            int end = (int)(tt_rand(&rs) % 3);
            n_end[end]++;
            tide_io_faults f = {.seed = tt_rand(&rs)};
            if (end == END_POWER)
                f.crash_at_step = 1 + (long)(tt_rand(&rs) % 60);
            else if (end == END_ERROR) {
                f.fail_at = 1 + (long)(tt_rand(&rs) % 150);
                f.fail_errno = tt_rand(&rs) % 2 ? EIO : ENOSPC;
            }
            tide_io_faults_set(&f);
            bool failed = false;
            int orc = open_file_sink(&k, dir, header, &e);
            if (orc == 0)
                orc = tide_sink_txn_recover(k, m.ckpt, &e);
            if (orc) {
                TT_ASSERT_MSG(end != END_KILL && (end == END_ERROR || orc == TIDE_ECRASH), "recovery: %s", e.msg);
                failed = true;
                n_recover_crash++;
                memset(&e, 0, sizeof e);
            } else {
                m.seq = m.visible = m.ckpt_end;
                m.committed = m.ckpt;
                long got = tide_io_crashed() ? 0 : reader_view(dir, header, g_vals, 1 << 20);
                if (got == -2 && end == END_ERROR)
                    failed = true;
                else if (!tide_io_crashed())
                    TT_ASSERT_MSG(view_is(got, m.visible), "after recovery, epoch %d", epoch);
            }
            for (int op = 0; op < (end == END_KILL ? 25 : 100000) && !failed; op++) {
                uint64_t r = tt_rand(&rs) % 100;
                int rc = 0;
                if (r < 45) {
                    uint32_t n = (uint32_t)(tt_rand(&rs) % 12);
                    rc = write_rows(k, m.seq, n, &e);
                    if (rc == 0)
                        m.seq += n;
                } else if (r < 50) {
                    rc = tide_sink_flush(k, &e);
                } else if (r < 75) {
                    int64_t id = m.next_id;
                    m.next_id += 1 + (int64_t)(tt_rand(&rs) % 2);
                    TT_ASSERT(m.next_id < 4096);
                    rc = tide_sink_txn_precommit(k, id, &e);
                    if (rc == 0) {
                        m.pre_end[id] = m.seq;
                        if (tt_rand(&rs) % 10 < 7) { /* the checkpoint completes */
                            m.ckpt = id;
                            m.ckpt_end = m.seq;
                        }
                    }
                } else if (r < 95) {
                    if (m.ckpt > m.committed) {
                        rc = tide_sink_txn_commit(k, m.ckpt, &e);
                        if (rc == 0) {
                            m.committed = m.ckpt;
                            m.visible = m.ckpt_end;
                        }
                    }
                } else if (m.committed > 1) {
                    /* a delayed commit: refused, nothing changes, the sink goes on */
                    TT_ASSERT_EQ_INT(tide_sink_txn_commit(k, m.committed - 1, &e), TIDE_EINVAL);
                    memset(&e, 0, sizeof e);
                    n_stale++;
                }
                if (rc) {
                    TT_ASSERT_MSG(end != END_KILL, "op failed: %s", e.msg);
                    TT_ASSERT_MSG(end == END_ERROR || rc == TIDE_ECRASH, "op failed: %s", e.msg);
                    failed = true;
                    memset(&e, 0, sizeof e);
                } else if (!tide_io_crashed()) {
                    long got = reader_view(dir, header, g_vals, 1 << 20);
                    if (got == -2 && end == END_ERROR) { /* the injected error hit the reader */
                        failed = true;
                        continue;
                    }
                    TT_ASSERT_MSG(view_is(got, m.visible), "epoch %d op %d", epoch, op);
                }
            }
            TT_ASSERT(failed || end == END_KILL);
            if (end == END_KILL) { /* the process dies: nothing is cleaned up */
                tide_io_faults kf = {.crash_at_step = 1};
                tide_io_faults_set(&kf);
            }
            tide_sink_abort(k);
            if (end == END_ERROR)
                tide_io_faults_set(NULL);
            else
                TT_OK(tide_io_powerloss(end == END_KILL, &e));
        }
        /* the last run ends cleanly: recover, and everything checkpointed is there */
        tide_err e = {0};
        tide_sink *k = NULL;
        TT_OK(open_file_sink(&k, dir, header, &e));
        TT_OK(tide_sink_txn_recover(k, m.ckpt, &e));
        TT_OK(tide_sink_close(k, &e));
        ASSERT_VIEW(dir, header, m.ckpt_end);
    }
    if (!tt_replaying() && g_topic) {
        fprintf(stderr,
                "  ends: kill %ld, power %ld, error %ld; %ld stale commits refused; %ld crashes in recovery; %ld torn "
                "tails cut\n",
                n_end[0], n_end[1], n_end[2], n_stale, n_recover_crash, g_torn);
        TT_ASSERT(n_stale > 0 && n_recover_crash > 0 && g_torn > 0);
    } else if (!tt_replaying()) {
        fprintf(stderr, "  ends: kill %ld, power %ld, error %ld; recovery committed %ld, aborted %ld parts, "
                        "removed %ld open ones; %ld stale commits refused; %ld crashes in recovery\n",
                n_end[0], n_end[1], n_end[2], n_commit, n_abort, n_open, n_stale, n_recover_crash);
        TT_ASSERT(n_commit > 0 && n_abort > 0 && n_open > 0 && n_stale > 0 && n_recover_crash > 0);
    }
}

static void test_file_txn_model(void)
{
    g_topic = false;
    txn_model();
}

static void test_topic_txn_model(void)
{
    g_topic = true;
    txn_model();
    g_topic = false;
}

/* Each fault point fails its step (the sink fails; nothing is half-visible)
 * and recovery from the last complete checkpoint gives its rows. */
static void txn_fault_points(void)
{
    /* where each point fails: W a write, P the pre-commit of 2, C the commit
     * of 2 (checkpoint 2 complete), R the recovery (from checkpoint 1) */
    static const struct {
        const char *point;
        char phase;
    } file_points[] = {{"sink.file.precommit", 'P'},
                       {"sink.file.precommit.rename", 'P'},
                       {"sink.file.commit", 'C'},
                       {"sink.file.recover", 'R'}},
      topic_points[] = {{"log.txn.append", 'W'},    {"log.txn.precommit", 'P'}, {"log.txn.marker", 'C'},
                        {"log.txn.state", 'C'},     {"log.txn.marker@2", 'R'}};
    size_t npoints = g_topic ? 5 : 4;
    for (size_t i = 0; i < npoints; i++) {
        const char *point = g_topic ? topic_points[i].point : file_points[i].point;
        char phase = g_topic ? topic_points[i].phase : file_points[i].phase;
        char dir[4200], spec[128];
        snprintf(dir, sizeof dir, "%s/fault%s-%zu", tmp, g_topic ? "-topic" : "", i);
        if (g_topic) {
            tide_topic_config tc;
            tide_topic_config_default(&tc);
            tc.partitions = 3;
            tide_err te = {0};
            TT_OK(tide_topic_create(dir, "out", &tc, &te));
        }
        tide_err e = {0};
        tide_sink *k = NULL;
        TT_OK(open_file_sink(&k, dir, false, &e));
        TT_OK(tide_sink_txn_recover(k, 0, &e));
        TT_OK(write_rows(k, 0, 5, &e));
        TT_OK(tide_sink_txn_precommit(k, 1, &e));
        TT_OK(write_rows(k, 5, 5, &e));
        snprintf(spec, sizeof spec, "%s", point);
        char *at = strchr(spec, '@');
        char tail[16] = "";
        if (at) {
            snprintf(tail, sizeof tail, "%s", at);
            *at = '\0';
        }
        char full[160];
        snprintf(full, sizeof full, "%s:eio%s", spec, tail);
        int64_t ckpt = phase == 'C' ? 2 : 1;
        if (phase != 'R') {
            tide_fault_set(full);
            int rc = phase == 'W' ? write_rows(k, 10, 1, &e) : tide_sink_txn_precommit(k, 2, &e);
            if (rc == 0 && phase == 'C')
                rc = tide_sink_txn_commit(k, 2, &e);
            TT_ASSERT_EQ_INT(rc, TIDE_EIO);
            TT_ASSERT_MSG(strstr(e.msg, spec) != NULL, "%s", e.msg);
            memset(&e, 0, sizeof e);
            TT_ASSERT_EQ_INT(write_rows(k, 10, 1, &e), TIDE_EIO); /* failed for good */
            memset(&e, 0, sizeof e);
        }
        tide_sink_abort(k);
        TT_OK(open_file_sink(&k, dir, false, &e));
        if (phase == 'R') {
            tide_fault_set(full);
            TT_ASSERT_EQ_INT(tide_sink_txn_recover(k, ckpt, &e), TIDE_EIO);
            tide_sink_abort(k);
            TT_OK(open_file_sink(&k, dir, false, &e));
        }
        TT_ASSERT(tide_fault_hits() == 1);
        tide_fault_set(NULL);
        memset(&e, 0, sizeof e);
        TT_OK(tide_sink_txn_recover(k, ckpt, &e));
        ASSERT_VIEW(dir, false, ckpt == 2 ? 10 : 5);
        tide_sink_abort(k);
    }
}

static void test_file_txn_fault_points(void)
{
    g_topic = false;
    txn_fault_points();
}

static void test_topic_txn_fault_points(void)
{
    g_topic = true;
    txn_fault_points();
    g_topic = false;
}

int main(void)
{
    tmp = tt_tmpdir("test_sink_txn");
    g_schema = schema_v();
    if (!tmp || !g_schema)
        return 1;
    TT_RUN(test_file_txn_basic);
    TT_RUN(test_file_txn_recover);
    TT_RUN(test_file_txn_refusals);
    TT_RUN(test_stdout_txn);
    TT_RUN(test_file_txn_model);
    TT_RUN(test_file_txn_fault_points);
    TT_RUN(test_topic_txn_model);
    TT_RUN(test_topic_txn_fault_points);
    TT_RUN(test_topic_txn_basic);
    tide_schema_free(g_schema);
    TT_DONE();
}
