/* bench_ckpt - what checkpoints cost a job (job/coord.h), as `tide run
 * --job` runs it.
 *
 *   bench_ckpt [events [runs [keys]]]   (default 20,000,000 events, 5 runs,
 *                                        1,000,000 keys)
 *
 * 1. Throughput: TUMBLE(1 h) COUNT(*) per user over the logins generator
 *    (100,000 users, Zipf 1.1, one day, 5% up to 5 s out of order) written
 *    as CSV to /dev/null, run alternately without checkpoints and as a
 *    named job with a checkpoint every second (the final one too), in the
 *    same process: medians of events per wall second and per CPU second of
 *    the process (the steadier figure on a shared machine), the overhead in
 *    both, and the median over the runs of the longest pause of the data
 *    path at a barrier.
 * 2. A state of `keys` keys: an unwindowed GROUP BY user_id COUNT(*) over
 *    5 x keys uniform logins of `keys` users (about 99.3% of them seen), a
 *    named job with a checkpoint every second while it runs: the pauses of
 *    the data path (per checkpoint the longest time one task spent at the
 *    barrier: it processes nothing meanwhile; tide_flow_snapshot_pauses),
 *    their longest and median, in wall time and in the CPU time the task
 *    used (the difference is time it waited for a core); then the final
 *    checkpoint (every key), its size and the time from its barrier to its
 *    durable manifest (the copy at the barrier, then the snapshot's
 *    serialisation, the files and their fsyncs on the coordinator's
 *    thread); then the time to restore it: read and verify the files
 *    (state/ckpt.h) and rebuild every node from it (tide_flow_restore +
 *    tide_flow_start).
 * The data directory is a fresh one under $TMPDIR (else /tmp), removed at
 * the end. */
#include "base/io.h"
#include "job/coord.h"
#include "job/job.h"
#include "sql/binder.h"
#include "sql/catalog.h"
#include "sql/physical.h"
#include "state/ckpt.h"
#include "tide.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static char g_data[4096];

typedef struct planned {
    tide_sql_catalog *cat;
    tide_sql_program *prog;
    tide_job_spec *spec;
    int fd;
} planned;

static void planned_free(planned *p)
{
    tide_job_spec_free(p->spec);
    tide_sql_program_free(p->prog);
    tide_sql_catalog_free(p->cat);
    if (p->fd >= 0)
        close(p->fd);
    memset(p, 0, sizeof *p);
    p->fd = -1;
}

static int plan(const char *src, const char *job, planned *p)
{
    memset(p, 0, sizeof *p);
    p->fd = -1;
    tide_sql_error se;
    memset(&se, 0, sizeof se);
    tide_err e = {0};
    int rc;
    if ((rc = tide_sql_catalog_create(&p->cat)) != 0)
        return rc;
    if ((rc = tide_sql_compile(p->cat, "bench.sql", src, strlen(src), &p->prog, &se)) != 0) {
        fprintf(stderr, "bench.sql:%u:%u: %s\n", se.line, se.col, se.msg);
        return rc;
    }
    if ((p->fd = open("/dev/null", O_WRONLY)) < 0)
        return TIDE_EIO;
    tide_sql_phys_opts o = {.format = TIDE_SQL_OUT_CSV, .out_fd = p->fd, .datadir = g_data, .job = job};
    tide_sql_phys_info info;
    if ((rc = tide_job_spec_create(&p->spec, &e)) != 0)
        return rc;
    if ((rc = tide_sql_physical(p->prog->plans[p->prog->nplans - 1], &o, p->spec, &info, &se)) != 0)
        fprintf(stderr, "bench.sql:%u:%u: %s\n", se.line, se.col, se.msg);
    return rc;
}

static void quiet(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
}

#define MAX_PAUSES 1024

/* One run; job NULL: no checkpoints.  *rate: events per wall second;
 * *crate (may be NULL): per CPU second of the whole process. */
static int run_once(const char *src, const char *job, int64_t interval_ms, unsigned long long events, double *rate,
                    double *crate, tide_coord_stats *st, tide_flow_pause *pauses, size_t *n_pauses)
{
    planned p;
    tide_coord *c = NULL;
    tide_job *j = NULL;
    tide_err e = {0};
    int rc = plan(src, job, &p);
    if (rc)
        goto done;
    tide_job_cfg jc = {0};
    if (job) {
        tide_coord_cfg cc = {.datadir = g_data, .job = job, .plan = 1, .interval_ms = interval_ms, .report = quiet};
        if ((rc = tide_coord_open(&c, &cc, &e)) != 0)
            goto done;
        jc.flow.barrier_base = tide_coord_barrier_base(c);
    }
    if ((rc = tide_job_create(&j, p.spec, &jc, &e)) != 0)
        goto done;
    double t0 = now_s(), c0 = cpu_s();
    rc = c ? tide_coord_run(c, j, &e) : tide_job_run(j, &e);
    *rate = (double)events / (now_s() - t0) / 1e6;
    if (crate)
        *crate = (double)events / (cpu_s() - c0) / 1e6;
    if (c && st)
        tide_coord_stats_get(c, st);
    if (pauses)
        *n_pauses = tide_flow_snapshot_pauses(tide_job_flow(j), pauses, MAX_PAUSES);
done:
    if (rc)
        fprintf(stderr, "bench_ckpt: %s\n", e.msg[0] ? e.msg : tide_strerror(rc));
    tide_job_free(j);
    tide_coord_close(c);
    planned_free(&p);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    unsigned long long events = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000000ull;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    unsigned long long keys = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000000ull;
    if (runs < 1 || runs > 50)
        runs = 5;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(g_data, sizeof g_data, "%s/bench_ckpt.%ld", tmp, (long)getpid());
    int rc = 0;

    /* 1. throughput, checkpoints off and every second, alternately */
    char src[4096];
    snprintf(src, sizeof src,
             "CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING,\n"
             "  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)\n"
             "WITH ('connector' = 'logins', 'seed' = '1', 'count' = '%llu', 'users' = '100000',\n"
             "  'start' = '2024-01-01 00:00:00', 'end' = '2024-01-02 00:00:00',\n"
             "  'late.share' = '0.05', 'max.delay' = '5000');\n"
             "SELECT user_id, window_end, COUNT(*) AS n\n"
             "FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))\n"
             "GROUP BY window_start, window_end, user_id;\n",
             events);
    double off[50], on[50], coff[50], con[50], tpause[50], tcpu[50];
    uint64_t ckpts = 0;
    static tide_flow_pause tp[MAX_PAUSES];
    for (int r = 0; r < runs && rc == 0; r++) {
        char name[32];
        snprintf(name, sizeof name, "tput%d", r);
        tide_coord_stats st = {0};
        size_t ntp = 0;
        if ((rc = run_once(src, NULL, 0, events, &off[r], &coff[r], NULL, NULL, NULL)) == 0 &&
            (rc = run_once(src, name, 1000, events, &on[r], &con[r], &st, tp, &ntp)) == 0)
            ckpts += st.checkpoints;
        tpause[r] = tcpu[r] = 0;
        for (size_t i = 0; i < ntp; i++)
            if ((double)tp[i].wall_ns / 1e6 > tpause[r]) {
                tpause[r] = (double)tp[i].wall_ns / 1e6;
                tcpu[r] = (double)tp[i].cpu_ns / 1e6;
            }
    }
    if (rc == 0) {
        double moff = median(off, runs), mon = median(on, runs), cmoff = median(coff, runs),
               cmon = median(con, runs);
        printf("TUMBLE(1 h) COUNT(*) per user, %llu events, median of %d runs each, alternating:\n", events, runs);
        printf("  checkpoints off          %6.2f M events/s (%.2f .. %.2f)\n", moff, off[0], off[runs - 1]);
        printf("  checkpoint every 1 s     %6.2f M events/s (%.2f .. %.2f), %.1f checkpoints per run\n", mon,
               on[0], on[runs - 1], (double)ckpts / runs);
        printf("  overhead                 %6.1f %% (target <= 5 %%)\n", (moff - mon) / moff * 100.0);
        printf("  per CPU second of the process (steadier on a shared machine): off %.2f, every 1 s %.2f M\n"
               "  events/s: overhead %.1f %%\n",
               cmoff, cmon, (cmoff - cmon) / cmoff * 100.0);
        printf("  longest pause of the data path at a barrier, median over the runs: %.1f ms (CPU %.1f ms)\n",
               median(tpause, runs), median(tcpu, runs));
    }

    /* 2. a state of `keys` keys */
    unsigned long long kev = 5 * keys;
    snprintf(src, sizeof src,
             "CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING,\n"
             "  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)\n"
             "WITH ('connector' = 'logins', 'seed' = '2', 'count' = '%llu', 'users' = '%llu', 'zipf' = '0',\n"
             "  'start' = '2024-01-01 00:00:00', 'end' = '2024-01-02 00:00:00');\n"
             "SELECT user_id, COUNT(*) AS n FROM logins GROUP BY user_id;\n",
             kev, keys);
    double rate = 0;
    tide_coord_stats st = {0};
    static tide_flow_pause pauses[MAX_PAUSES];
    size_t np = 0;
    if (rc == 0 && (rc = run_once(src, "keys", 1000, kev, &rate, NULL, &st, pauses, &np)) == 0) {
        printf("GROUP BY user_id COUNT(*), %llu uniform events of %llu users (~99.3%% of them keys in the state):\n",
               kev, keys);
        double wall[MAX_PAUSES], cpu[MAX_PAUSES], wmax = 0, cmax = 0;
        for (size_t i = 0; i < np; i++) {
            wall[i] = (double)pauses[i].wall_ns / 1e6;
            cpu[i] = (double)pauses[i].cpu_ns / 1e6;
            wmax = wall[i] > wmax ? wall[i] : wmax;
            cmax = cpu[i] > cmax ? cpu[i] : cmax;
        }
        printf("  %llu checkpoints; pause of the data path at a barrier (the longest task of each of the %zu\n"
               "  taken while it ran): longest %.1f ms (CPU %.1f ms), median %.1f ms (CPU %.1f ms)\n",
               (unsigned long long)st.checkpoints, np, wmax, cmax, np ? median(wall, (int)np) : 0.0,
               np ? median(cpu, (int)np) : 0.0);
        printf("  final checkpoint %lld (every key, taken after the input ended): %.1f MB, %lld ms from its\n"
               "  barrier to its durable manifest\n",
               (long long)st.last_id, (double)st.last_bytes / 1e6, (long long)st.last_ms);
        /* restore: read + verify, then every node rebuilt from it */
        planned p;
        tide_job *j = NULL;
        tide_ckpt_dir *d = NULL;
        tide_ckpt_meta m;
        tide_buf state = {0};
        tide_err e = {0};
        double t0 = now_s(), t1 = 0, t2 = 0;
        if ((rc = plan(src, NULL, &p)) == 0 &&
            (rc = tide_ckpt_open(&d, g_data, "keys", 3, quiet, NULL, &e)) == 0 &&
            (rc = tide_ckpt_latest(d, 0, &m, &state, &e)) == 0 && (t1 = now_s()) > 0 &&
            (rc = tide_job_create(&j, p.spec, NULL, &e)) == 0 &&
            (rc = tide_flow_restore(tide_job_flow(j), &state, &e)) == 0 && (rc = tide_job_run(j, &e)) == 0) {
            t2 = now_s();
            printf("  restore: %.0f ms to read and verify %.1f MB, %.0f ms to rebuild every node from it (and\n"
                   "  run to the end: nothing left to read)\n",
                   (t1 - t0) * 1e3, (double)state.len / 1e6, (t2 - t1) * 1e3);
        } else {
            fprintf(stderr, "bench_ckpt: restore: %s\n", e.msg);
        }
        tide_job_free(j);
        tide_ckpt_close(d);
        tide_buf_free(&state);
        planned_free(&p);
    }
    tide_err e = {0};
    tide_io_rmtree(g_data, &e);
    return rc ? 1 : 0;
}
