/* sql_run.h - for the SQL tests: compile a script, plan its last statement
 * (sql/physical.h) with output to a CSV file, run it as a job (job/job.h)
 * and read the file back. */
#ifndef TIDE_TESTS_SQL_RUN_H
#define TIDE_TESTS_SQL_RUN_H

#include "job/job.h"
#include "sql/binder.h"
#include "sql/catalog.h"
#include "sql/physical.h"
#include "tide.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The last run's error message (a run error; SQL errors are in serr), and
 * whether sql_run keeps quiet about it (it prints "run: MSG" otherwise). */
static char sql_run_msg[TIDE_ERR_MSG_MAX];
static bool sql_run_quiet;

/* `ddl` then `query`, at parallelism `par`, output in dir/out.csv; *out
 * gets its text (malloc'd), *counts (may be NULL) the run's counts.
 * Returns the first failing step's code; serr says where for SQL errors. */
static int sql_run(const char *ddl, const char *dir, const char *query, uint32_t par, char **out,
                   tide_sql_error *serr, tide_job_counts *counts)
{
    char src[16384], path[4200];
    snprintf(src, sizeof src, "%s%s", ddl, query);
    snprintf(path, sizeof path, "%s/out.csv", dir);
    tide_sql_catalog *cat = NULL;
    tide_sql_program *prog = NULL;
    tide_job_spec *spec = NULL;
    tide_job *job = NULL;
    tide_err e = {0};
    int fd = -1, rc;
    memset(serr, 0, sizeof *serr);
    sql_run_msg[0] = '\0';
    *out = NULL;
    if (counts)
        memset(counts, 0, sizeof *counts);
    if ((rc = tide_sql_catalog_create(&cat)) != 0) {
        snprintf(e.msg, sizeof e.msg, "catalog: %s", tide_err_name(rc)); /* (no message of its own) */
        goto done;
    }
    if ((rc = tide_sql_compile(cat, "t.sql", src, strlen(src), &prog, serr)) != 0)
        goto done;
    if (prog->nplans == 0) {
        rc = TIDE_EINVAL;
        goto done;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        rc = TIDE_EIO;
        goto done;
    }
    tide_sql_phys_opts o = {.format = TIDE_SQL_OUT_CSV, .out_fd = fd, .parallelism = par};
    tide_sql_phys_info info;
    if ((rc = tide_job_spec_create(&spec, &e)) != 0)
        goto done;
    if ((rc = tide_sql_physical(prog->plans[prog->nplans - 1], &o, spec, &info, serr)) != 0)
        goto done;
    if ((rc = tide_job_create(&job, spec, NULL, &e)) != 0)
        goto done;
    rc = tide_job_run(job, &e);
    if (counts)
        tide_job_counts_get(job, counts);
    if (rc && !sql_run_quiet)
        fprintf(stderr, "run: %s\n", e.msg);
done:
    if (rc && e.msg[0])
        snprintf(sql_run_msg, sizeof sql_run_msg, "%s", e.msg);
    tide_job_free(job);
    tide_job_spec_free(spec);
    if (fd >= 0)
        close(fd);
    tide_sql_program_free(prog);
    tide_sql_catalog_free(cat);
    if (!rc) {
        FILE *f = fopen(path, "rb");
        if (!f) {
            snprintf(sql_run_msg, sizeof sql_run_msg, "out.csv: read back: cannot open");
            return TIDE_EIO;
        }
        char *b = malloc(1 << 22);
        size_t n = b ? fread(b, 1, (1 << 22) - 1, f) : 0;
        fclose(f);
        if (!b) {
            snprintf(sql_run_msg, sizeof sql_run_msg, "out.csv: read back: out of memory");
            return TIDE_ENOMEM;
        }
        b[n] = 0;
        *out = b;
    }
    return rc;
}

#endif
