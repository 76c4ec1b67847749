/* sql_run.h - for the SQL tests: compile a script, lower its last plan with
 * output to a CSV file, run it (tide_sql_lower_run: one pipeline or a
 * fan-in) and read the file back. */
#ifndef TIDE_TESTS_SQL_RUN_H
#define TIDE_TESTS_SQL_RUN_H

#include "sql/binder.h"
#include "sql/catalog.h"
#include "sql/lower.h"
#include "tide.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* `ddl` then `query`, at parallelism `par`, output in dir/out.csv; *out
 * gets its text (malloc'd), *counts (may be NULL) the run's counts.
 * Returns the first failing step's code; serr says where for SQL errors. */
static int sql_run(const char *ddl, const char *dir, const char *query, uint32_t par, char **out,
                   tide_sql_error *serr, tide_pipe_counts *counts)
{
    char src[16384], path[4200];
    snprintf(src, sizeof src, "%s%s", ddl, query);
    snprintf(path, sizeof path, "%s/out.csv", dir);
    tide_sql_catalog *cat = NULL;
    tide_sql_program *prog = NULL;
    tide_sql_lowered *l = NULL;
    tide_err e = {0};
    int fd = -1, rc;
    memset(serr, 0, sizeof *serr);
    *out = NULL;
    if ((rc = tide_sql_catalog_create(&cat)) != 0)
        goto done;
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
    tide_sql_lower_opts o = {.format = TIDE_SQL_OUT_CSV, .out_fd = fd, .parallelism = par};
    if ((rc = tide_sql_lower(prog->plans[prog->nplans - 1], &o, &l, serr)) != 0)
        goto done;
    if ((rc = tide_sql_lower_open(l, &e)) != 0)
        goto done;
    rc = tide_sql_lower_run(l, counts, &e);
    int frc = tide_sql_lower_finish(l, rc == 0, &e);
    if (!rc)
        rc = frc;
    if (rc)
        fprintf(stderr, "run: %s\n", e.msg);
done:
    tide_sql_lower_free(l);
    if (fd >= 0)
        close(fd);
    tide_sql_program_free(prog);
    tide_sql_catalog_free(cat);
    if (!rc) {
        FILE *f = fopen(path, "rb");
        if (!f)
            return TIDE_EIO;
        char *b = malloc(1 << 22);
        size_t n = b ? fread(b, 1, (1 << 22) - 1, f) : 0;
        fclose(f);
        if (!b)
            return TIDE_ENOMEM;
        b[n] = 0;
        *out = b;
    }
    return rc;
}

#endif
