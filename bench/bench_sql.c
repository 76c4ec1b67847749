/* bench_sql - SQL queries end to end, as `tide run` runs them: compiled,
 * planned into a physical graph spec (sql/physical.h), run as a job
 * (job/job.h) over the logins generator, every result row formatted as CSV
 * and written to /dev/null.
 *
 *   bench_sql [events [P [runs [queries]]]]   (default 10,000,000 events,
 *                                   P = 1, 3 runs, queries "12345": their
 *                                   numbers in the list below, from 1;
 *                                   6-8 compare the agg-phase strategies)
 *
 * The table: `events` logins of 100,000 users (Zipf 1.1) over one day, 5%
 * up to 5 s out of order, WATERMARK ts - 5 s: the events of bench_flow.
 * Printed per query: the median over the runs of events per CPU second of
 * the whole process (all threads, generator included) and of events per
 * wall second, with their ranges.
 * Where bench_flow measures a flow of nodes configured by hand, this adds
 * what the SQL layer adds: the planner's choices (e.g. HOP and CUMULATE by
 * shared slices, exec/cumagg.h; the folded calcs; the ordering sink) and
 * the CSV writer. */
#include "job/job.h"
#include "sql/binder.h"
#include "sql/catalog.h"
#include "sql/physical.h"
#include "tide.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static const struct {
    const char *name, *query;
} queries[] = {
    {"TUMBLE(1 h) COUNT(*) per user",
     "SELECT user_id, window_end, COUNT(*) AS n\n"
     "FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))\n"
     "GROUP BY window_start, window_end, user_id;\n"},
    {"DAU: TUMBLE(1 day) COUNT(DISTINCT user_id)",
     "SELECT window_end, COUNT(DISTINCT user_id) AS dau\n"
     "FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY))\n"
     "GROUP BY window_start, window_end;\n"},
    {"HOP(15 min, 1 h) COUNT(DISTINCT) per country",
     "SELECT country, window_end, COUNT(DISTINCT user_id) AS users\n"
     "FROM TABLE(HOP(TABLE logins, DESCRIPTOR(ts), INTERVAL '15' MINUTE, INTERVAL '1' HOUR))\n"
     "GROUP BY window_start, window_end, country;\n"},
    {"SESSION(5 min) COUNT(*) per user",
     "SELECT user_id, window_start, window_end, COUNT(*) AS n\n"
     "FROM TABLE(SESSION(TABLE logins PARTITION BY user_id, DESCRIPTOR(ts), INTERVAL '5' MINUTE))\n"
     "GROUP BY window_start, window_end, user_id;\n"},
    {"GROUP BY country (changelog)",
     "SELECT country, COUNT(*) AS n, COUNT(DISTINCT user_id) AS users\n"
     "FROM logins GROUP BY country;\n"},
    /* few keys: the planner's default (AUTO: two phases at P > 1,
     * exec/node_preagg.h) against one phase; and 1 in one phase */
    {"TUMBLE(1 h) COUNT(*) per country",
     "SELECT country, window_end, COUNT(*) AS n\n"
     "FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))\n"
     "GROUP BY window_start, window_end, country;\n"},
    {"TUMBLE(1 h) COUNT(*) per country, ONE_PHASE",
     "SET 'table.optimizer.agg-phase-strategy' = 'ONE_PHASE';\n"
     "SELECT country, window_end, COUNT(*) AS n\n"
     "FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))\n"
     "GROUP BY window_start, window_end, country;\n"},
    {"TUMBLE(1 h) COUNT(*) per user, ONE_PHASE",
     "SET 'table.optimizer.agg-phase-strategy' = 'ONE_PHASE';\n"
     "SELECT user_id, window_end, COUNT(*) AS n\n"
     "FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))\n"
     "GROUP BY window_start, window_end, user_id;\n"},
};

/* One run of query q: *per_core gets events per CPU second, *wall_rate
 * events per second.  0 or a TIDE_E* code (message printed). */
static int run_query(size_t q, unsigned long long events, uint32_t P, double *per_core, double *wall_rate)
{
    char src[4096];
    snprintf(src, sizeof src,
             "CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING,\n"
             "  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)\n"
             "WITH ('connector' = 'logins', 'seed' = '1', 'count' = '%llu', 'users' = '100000',\n"
             "  'start' = '2024-01-01 00:00:00', 'end' = '2024-01-02 00:00:00',\n"
             "  'late.share' = '0.05', 'max.delay' = '5000');\n%s",
             events, queries[q].query);
    tide_sql_catalog *cat = NULL;
    tide_sql_program *prog = NULL;
    tide_job_spec *spec = NULL;
    tide_job *job = NULL;
    tide_sql_error se;
    tide_err e = {0};
    int fd = -1, rc;
    memset(&se, 0, sizeof se);
    if ((rc = tide_sql_catalog_create(&cat)) != 0)
        goto done;
    if ((rc = tide_sql_compile(cat, "bench.sql", src, strlen(src), &prog, &se)) != 0) {
        fprintf(stderr, "bench.sql:%u:%u: %s\n", se.line, se.col, se.msg);
        goto done;
    }
    if ((fd = open("/dev/null", O_WRONLY)) < 0) {
        rc = TIDE_EIO;
        goto done;
    }
    tide_sql_phys_opts o = {.format = TIDE_SQL_OUT_CSV, .out_fd = fd, .parallelism = P};
    tide_sql_phys_info info;
    if ((rc = tide_job_spec_create(&spec, &e)) != 0)
        goto fail;
    if ((rc = tide_sql_physical(prog->plans[prog->nplans - 1], &o, spec, &info, &se)) != 0) {
        fprintf(stderr, "bench.sql:%u:%u: %s\n", se.line, se.col, se.msg);
        goto done;
    }
    if ((rc = tide_job_create(&job, spec, NULL, &e)) != 0)
        goto fail;
    double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    rc = tide_job_run(job, &e);
    double wall = clock_s(CLOCK_MONOTONIC) - w0, cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (rc)
        goto fail;
    *per_core = (double)events / cpu / 1e6;
    *wall_rate = (double)events / wall / 1e6;
    goto done;
fail:
    fprintf(stderr, "%s: %s\n", queries[q].name, e.msg);
done:
    tide_job_free(job);
    tide_job_spec_free(spec);
    if (fd >= 0)
        close(fd);
    tide_sql_program_free(prog);
    tide_sql_catalog_free(cat);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts fig[0..n) (n > 0); its median. */
static double median(double *fig, int n)
{
    qsort(fig, (size_t)n, sizeof *fig, cmp_double);
    return n % 2 ? fig[n / 2] : (fig[n / 2 - 1] + fig[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    unsigned long long events = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000ull;
    uint32_t P = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 1;
    int runs = argc > 3 ? atoi(argv[3]) : 3;
    if (runs < 1 || runs > 100)
        runs = 3;
    const char *which = argc > 4 ? argv[4] : "12345";
    printf("%llu events, P = %u, median of %d runs: events per CPU second, events per second\n", events, P,
           runs);
    int rc = 0;
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        if (!strchr(which, (int)('1' + q)))
            continue;
        double fig[100], wall[100];
        int ok = 0;
        for (int r = 0; r < runs; r++) {
            if (run_query(q, events, P, &fig[ok], &wall[ok]) != 0) {
                rc = 1;
                break;
            }
            ok++;
        }
        if (ok == 0)
            continue;
        double med = median(fig, ok), wmed = median(wall, ok);
        printf("%-46s %6.2f M ev/s per core (%.2f .. %.2f)  %6.2f M ev/s wall (%.2f .. %.2f)\n",
               queries[q].name, med, fig[0], fig[ok - 1], wmed, wall[0], wall[ok - 1]);
    }
    return rc;
}
