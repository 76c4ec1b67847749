/* bench_compile - how compile time grows with the size of a script:
 * tide_sql_compile + tide_sql_physical of generated SQL, one line long,
 * with N select columns (`v + i AS ci`) and with N WITH names (each
 * reading the base table; the last one queried), for N doubling up to
 * `max` (default 100,000).  Printed: CPU seconds per compile and per
 * item; linear growth keeps the second column flat.
 *
 *   bench_compile [max]
 */
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

static const char ddl[] = "CREATE TABLE t (ts TIMESTAMP(3), v BIGINT, WATERMARK FOR ts AS ts)\n"
                          "  WITH ('connector' = 'file', 'path' = '/dev/null', 'format' = 'csv');\n";

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* kind 0: N columns; 1: N WITH names */
static char *script(int kind, long n, size_t *len)
{
    size_t cap = sizeof ddl + (size_t)n * 48 + 64, k = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    k += (size_t)snprintf(s + k, cap - k, "%s", ddl);
    if (kind == 0) {
        k += (size_t)snprintf(s + k, cap - k, "SELECT ");
        for (long i = 0; i < n; i++)
            k += (size_t)snprintf(s + k, cap - k, "%sv + %ld AS c%ld", i ? ", " : "", i, i);
        k += (size_t)snprintf(s + k, cap - k, " FROM t;\n");
    } else {
        k += (size_t)snprintf(s + k, cap - k, "WITH ");
        for (long i = 0; i < n; i++)
            k += (size_t)snprintf(s + k, cap - k, "%sc%ld AS (SELECT v FROM t)", i ? ", " : "", i);
        k += (size_t)snprintf(s + k, cap - k, " SELECT * FROM c%ld;\n", n - 1);
    }
    *len = k;
    return s;
}

static double compile_once(const char *src, size_t len)
{
    tide_sql_catalog *cat = NULL;
    tide_sql_program *prog = NULL;
    tide_job_spec *spec = NULL;
    tide_sql_error serr;
    tide_err e = {0};
    double t0 = cpu_now();
    int rc = tide_sql_catalog_create(&cat);
    if (!rc)
        rc = tide_sql_compile(cat, "gen.sql", src, len, &prog, &serr);
    if (!rc)
        rc = tide_job_spec_create(&spec, &e);
    tide_sql_phys_opts o = {.format = TIDE_SQL_OUT_CSV, .out_fd = 1, .parallelism = 1};
    tide_sql_phys_info info;
    if (!rc)
        rc = tide_sql_physical(prog->plans[prog->nplans - 1], &o, spec, &info, &serr);
    double t = cpu_now() - t0;
    if (rc)
        fprintf(stderr, "  (failed: %u:%u: %s)\n", serr.line, serr.col, serr.msg);
    tide_job_spec_free(spec);
    tide_sql_program_free(prog);
    tide_sql_catalog_free(cat);
    return t;
}

int main(int argc, char **argv)
{
    long max = argc > 1 ? atol(argv[1]) : 100000;
    static const char *const kinds[2] = {"select columns", "WITH names"};
    for (int kind = 0; kind < 2; kind++) {
        printf("%s:\n", kinds[kind]);
        for (long n = 6250; n <= max; n *= 2) {
            size_t len;
            char *s = script(kind, n, &len);
            if (!s)
                return 1;
            double t = compile_once(s, len);
            printf("  N = %7ld (%8zu bytes): %7.3f s CPU, %6.2f us per item\n", n, len, t, t * 1e6 / (double)n);
            free(s);
        }
    }
    return 0;
}
