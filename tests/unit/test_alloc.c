/* test_alloc.c - every allocation of a whole SQL run may fail: compile,
 * plan, build the job, run it (scans, calcs, exchanges, window, group and
 * join state, the sink) on its threads, and free it all.
 *
 * For each query: a reference run without failures gives the output and
 * the number of allocations K; then run n = 0, 1, ... fails the nth
 * allocation (tests/unit/alloc_tt.h replaces malloc and friends), until a
 * run completes without reaching n.  Every failing run must end with a
 * non-zero code and a message (an error, never a crash, a hang or a wrong
 * answer presented as success; a run that still succeeds must give the
 * reference output), and leave no block allocated once everything is
 * freed.  The log has the same loop: create a topic, append, reopen the
 * writer (recovery), read every record back, commit a group's offsets.
 * At parallelism 1 the runs are deterministic and every n is
 * tried; at parallelism 2 (threads interleave, so the nth allocation is a
 * different one each time) a sample of n is.
 * TIDE_SEED=<n> sets the sample's seed (printed on failure). */
#include "alloc_tt.h"
#include "log/group.h"
#include "log/reader.h"
#include "log/topic.h"
#include "log/writer.h"
#include "sql_run.h"
#include "tt.h"

#include <sys/stat.h>

static char g_dir[4096];

static const char DDL[] =
    "CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT, country STRING,\n"
    "  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)\n"
    "WITH ('connector' = 'file', 'path' = 'in.csv', 'format' = 'csv');\n";

static const char *const QUERIES[] = {
    /* windowed: exact distinct count per country and minute, a late row */
    "SELECT country, window_start, COUNT(*) AS n, COUNT(DISTINCT user_id) AS users\n"
    "FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' MINUTE))\n"
    "GROUP BY country, window_start, window_end;\n",
    /* unwindowed: a changelog, kept exact by HAVING */
    "SELECT country, SUM(user_id) AS s FROM logins GROUP BY country HAVING COUNT(*) > 1;\n",
    /* sliding windows by slices, then an interval join */
    "SELECT country, window_end, MAX(user_id) AS m\n"
    "FROM TABLE(HOP(TABLE logins, DESCRIPTOR(ts), INTERVAL '30' SECOND, INTERVAL '1' MINUTE))\n"
    "GROUP BY country, window_start, window_end;\n",
    "SELECT a.user_id, b.country FROM logins a JOIN logins b ON a.user_id = b.user_id\n"
    "  AND b.ts BETWEEN a.ts - INTERVAL '10' SECOND AND a.ts + INTERVAL '10' SECOND\n"
    "WHERE a.country <> b.country;\n",
};

static void write_input(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/in.csv", g_dir);
    FILE *f = fopen(path, "w");
    TT_ASSERT(f);
    fputs("ts,user_id,country\n", f);
    static const char *const cs[] = {"de", "fr", "us"};
    for (int i = 0; i < 40; i++) /* 10 s apart, some out of order, one bad line */
        fprintf(f, "2024-03-01 00:%02d:%02d,%d,%s\n", (i * 10 + (i % 7 == 3 ? -25 : 0)) / 60 % 60,
                (i * 10 + (i % 7 == 3 ? -25 : 0) + 60) % 60, i % 9, cs[i % 3]);
    fputs("not a row\n", f);
    fclose(f);
}

static long g_count;  /* allocations of the last run */
static long g_hits;   /* runs in which an allocation failed */
static long g_errors; /* those that ended with an error */

/* One run failing allocation `at` (-1: none).  *hit: the failure happened. */
static int run_once(const char *query, uint32_t par, long at, char **out, bool *hit,
                    char *msg, size_t cap)
{
    tide_sql_error serr;
    alloc_tt_fail_at(at);
    int rc = sql_run(DDL, g_dir, query, par, out, &serr, NULL);
    g_count = alloc_tt_count();
    *hit = at >= 0 && g_count > at;
    alloc_tt_fail_at(-1);
    snprintf(msg, cap, "%s", serr.msg[0] ? serr.msg : sql_run_msg);
    return rc;
}

static bool check_query(size_t q, uint32_t par, uint64_t seed, long *tried)
{
    char *ref = NULL, msg[512];
    bool hit;
    int rc = run_once(QUERIES[q], par, -1, &ref, &hit, msg, sizeof msg);
    if (rc || !ref) {
        fprintf(stderr, "  query %zu: reference run failed (%d) %s\n", q + 1, rc, msg);
        return false;
    }
    long k = g_count;
    free(ref);
    ref = NULL;
    /* (after one run: the C library's lazy state, e.g. time zones, stays) */
    long live0 = alloc_tt_live();
    rc = run_once(QUERIES[q], par, -1, &ref, &hit, msg, sizeof msg);
    if (rc || !ref)
        return false;
    if (alloc_tt_live() != live0 + 1) { /* ref itself */
        fprintf(stderr, "  query %zu: the reference run leaks %ld blocks\n", q + 1,
                alloc_tt_live() - live0 - 1);
        free(ref);
        return false;
    }
    bool ok = true;
    uint64_t s = seed;
    for (long n = 0; ok; n++) {
        if (par > 1) { /* a sample: about 300 points over the run */
            n += (long)(tt_rand(&s) % (uint64_t)(k / 150 + 1));
            if (n > 2 * k)
                break;
        }
        char *out = NULL;
        long live = alloc_tt_live();
        rc = run_once(QUERIES[q], par, n, &out, &hit, msg, sizeof msg);
        (*tried)++;
        if (rc != 0 && !msg[0]) {
            fprintf(stderr, "  query %zu P=%u: allocation %ld failed: code %d without a message\n",
                    q + 1, par, n, rc);
            ok = false;
        }
        if (rc == 0 && (!out || strcmp(out, ref) != 0)) {
            fprintf(stderr, "  query %zu P=%u: allocation %ld failed, yet success with other output\n",
                    q + 1, par, n);
            ok = false;
        }
        free(out);
        g_hits += hit;
        g_errors += hit && rc != 0;
        if (alloc_tt_live() != live) {
            fprintf(stderr, "  query %zu P=%u: allocation %ld failed (rc %d): %ld blocks leaked\n",
                    q + 1, par, n, rc, alloc_tt_live() - live);
            ok = false;
        }
        if (!hit && par == 1) {
            if (rc != 0) {
                fprintf(stderr, "  query %zu: a run without failure failed (%d)\n", q + 1, rc);
                ok = false;
            }
            break;
        }
    }
    if (!ok)
        TT_SEED(seed);
    free(ref);
    return ok;
}

static void test_every_allocation_of_a_sql_run(void)
{
    if (!ALLOC_TT_HOOKED) {
        fprintf(stderr, "  (skipped: the sanitizer owns malloc)\n");
        return;
    }
    write_input();
    sql_run_quiet = true;
    const char *env = getenv("TIDE_SEED");
    uint64_t seed = env && *env ? strtoull(env, NULL, 10) : 4242;
    long tried = 0;
    int failed = 0;
    for (size_t q = 0; q < sizeof QUERIES / sizeof QUERIES[0]; q++) {
        long before = tried;
        failed += !check_query(q, 1, seed, &tried);
        long p1 = tried - before;
        failed += !check_query(q, 2, seed + q, &tried);
        fprintf(stderr, "  query %zu: %ld failing allocations at P=1, %ld sampled at P=2\n", q + 1,
                p1, tried - before - p1);
    }
    fprintf(stderr, "  %ld of %ld runs with a failed allocation ended with an error (the rest "
            "recovered, with the reference output)\n", g_errors, g_hits);
    TT_ASSERT_EQ_INT(failed, 0);
    TT_ASSERT(g_hits > 1000 && g_errors * 10 > g_hits * 9);
}

/* The log's round: 0, or the first failing step's code (with a message).
 * *n gets the records read back, which must be all 3 x 40 when it
 * succeeds. */
static int log_round(const char *dir, long *n, tide_err *e)
{
    tide_topic_config c;
    tide_topic_config_default(&c);
    c.partitions = 2;
    c.fsync = TIDE_FSYNC_NEVER;
    tide_log_writer *w = NULL;
    tide_log_reader *r = NULL;
    *n = 0;
    int rc = tide_topic_create(dir, "t", &c, e);
    for (int pass = 0; pass < 2 && !rc; pass++) { /* the second open recovers */
        if ((rc = tide_log_writer_open(&w, dir, "t", NULL, e)))
            break;
        for (int b = 0; b < 3 && !rc; b++) {
            tide_record recs[20];
            char vals[20][16];
            for (int i = 0; i < 20; i++) {
                snprintf(vals[i], sizeof vals[i], "v%d.%d.%d", pass, b, i);
                recs[i] = (tide_record){.timestamp = 1000 * b + i, .value = vals[i],
                                        .value_len = strlen(vals[i])};
            }
            rc = tide_log_append(w, (uint32_t)(b % 2), recs, 20, NULL, e);
        }
        int rc2 = tide_log_writer_close(w, e);
        w = NULL;
        rc = rc ? rc : rc2;
    }
    uint64_t offs[2] = {0, 0};
    for (uint32_t p = 0; p < 2 && !rc; p++) {
        if ((rc = tide_log_reader_open(&r, dir, "t", p, e)))
            break;
        tide_record rec;
        while ((rc = tide_log_reader_next(r, &rec, e)) == 0)
            ++*n;
        rc = rc == TIDE_EAGAIN ? 0 : rc;
        offs[p] = tide_log_reader_position(r);
        tide_log_reader_close(r);
        r = NULL;
    }
    if (!rc)
        rc = tide_group_commit(dir, "g", "t", offs, 2, e);
    uint64_t back[2];
    if (!rc && !(rc = tide_group_fetch(dir, "g", "t", back, 2, e)) &&
        (back[0] != offs[0] || back[1] != offs[1]))
        rc = tide_err_set(e, TIDE_ECORRUPT, "group offsets differ after commit");
    return rc;
}

static void test_every_allocation_of_the_log(void)
{
    if (!ALLOC_TT_HOOKED) {
        fprintf(stderr, "  (skipped: the sanitizer owns malloc)\n");
        return;
    }
    char dir[4200], cmd[4300];
    snprintf(dir, sizeof dir, "%s/log", g_dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    long n = 0, hits = 0, errors = 0;
    tide_err e = {0};
    TT_ASSERT(system(cmd) == 0);
    TT_OK(log_round(dir, &n, &e)); /* warm up */
    TT_ASSERT_EQ_INT(n, 120);
    for (long at = 0;; at++) {
        TT_ASSERT(system(cmd) == 0);
        long live = alloc_tt_live();
        tide_err fe = {0};
        alloc_tt_fail_at(at);
        int rc = log_round(dir, &n, &fe);
        bool hit = alloc_tt_count() > at;
        alloc_tt_fail_at(-1);
        TT_ASSERT_MSG(alloc_tt_live() == live, "allocation %ld failed (rc %d): %ld blocks leaked",
                      at, rc, alloc_tt_live() - live);
        TT_ASSERT_MSG(rc != 0 ? fe.msg[0] != 0 : n == 120, "allocation %ld: rc %d, %ld records, %s",
                      at, rc, n, fe.msg);
        if (!hit)
            break;
        hits++;
        errors += rc != 0;
    }
    fprintf(stderr, "  %ld failing allocations, %ld of them errors\n", hits, errors);
    TT_ASSERT(hits > 20 && errors * 10 > hits * 9);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "%s", tt_tmpdir("test_alloc"));
    if (chdir(g_dir) != 0) /* 'in.csv' resolves here */
        return 1;
    TT_RUN(test_every_allocation_of_a_sql_run);
    TT_RUN(test_every_allocation_of_the_log);
    TT_DONE();
}
