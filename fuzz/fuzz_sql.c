/* libFuzzer target for sql/: parse arbitrary bytes as a script.  An error
 * must point inside the input and render; a parsed script must print, and
 * the printed text must parse again and print identically (the canonical
 * form is a fixed point).  Then the script is bound and planned
 * (sql/binder.h) against a catalog that already holds a `logins` table: a
 * bind error must point inside the input and render, and every plan must
 * explain, and every sink plan be planned into a physical graph spec
 * (sql/physical.h; nothing is opened or run) that explains, or be refused
 * with a message.  ASan checks memory and leaks. */
#include "job/job.h"
#include "sql/binder.h"
#include "sql/parser.h"
#include "sql/physical.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *src = (const char *)data;
    tide_sql_script *s = NULL, *s2 = NULL;
    tide_sql_error err;
    tide_buf out = {0}, out2 = {0};
    int rc = tide_sql_parse("fuzz.sql", src, size, &s, &err);
    if (rc != 0) {
        if (rc != TIDE_EPARSE || s != NULL || err.code != rc || err.line < 1 || err.col < 1 ||
            err.off > size || !err.msg[0])
            abort();
        if (tide_sql_error_render(&err, src, size, &out) != 0)
            abort();
        goto done;
    }
    if (tide_sql_print_script(s, &out) != 0)
        abort();
    /* the canonical text parses back to a tree that prints the same */
    rc = tide_sql_parse("fuzz2.sql", out.len ? (const char *)out.data : "", out.len, &s2, &err);
    if (rc != 0)
        abort();
    if (tide_sql_print_script(s2, &out2) != 0)
        abort();
    if (out.len != out2.len || (out.len && memcmp(out.data, out2.data, out.len) != 0))
        abort();
    {
        /* bind + plan the same text against a catalog with a watermarked table */
        static const char ddl[] =
            "CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING,"
            " WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH ('connector' = 'logins');";
        tide_sql_catalog *cat = NULL;
        tide_sql_program *prog = NULL;
        if (tide_sql_catalog_create(&cat) != 0)
            abort();
        if (tide_sql_compile(cat, "ddl.sql", ddl, sizeof ddl - 1, &prog, &err) != 0)
            abort();
        tide_sql_program_free(prog);
        prog = NULL;
        rc = tide_sql_compile(cat, "fuzz.sql", src, size, &prog, &err);
        out.len = 0;
        if (rc != 0) {
            if (prog != NULL || err.code != rc || err.line < 1 || err.col < 1 || err.off > size ||
                !err.msg[0] || tide_sql_error_render(&err, src, size, &out) != 0)
                abort();
        } else {
            for (uint32_t i = 0; i < prog->nplans; i++) {
                if (tide_sql_explain(prog->plans[i], &out) != 0)
                    abort();
                if (prog->plans[i]->kind != TIDE_SQL_PLAN_SINK)
                    continue;
                tide_sql_phys_opts po = {.base_dir = "/nonexistent", .datadir = "/nonexistent",
                                         .format = TIDE_SQL_OUT_CSV, .out_fd = -1, .parallelism = 2};
                tide_sql_phys_info info;
                tide_sql_error perr = {0};
                tide_job_spec *spec = NULL;
                tide_err e = {0};
                if (tide_job_spec_create(&spec, &e) != 0)
                    abort();
                rc = tide_sql_physical(prog->plans[i], &po, spec, &info, &perr);
                if (rc != 0 && !perr.msg[0])
                    abort();
                if (rc == 0 && tide_job_spec_explain(spec, &out) != 0)
                    abort();
                tide_job_spec_free(spec);
            }
        }
        tide_sql_program_free(prog);
        tide_sql_catalog_free(cat);
    }
done:
    tide_sql_script_free(s);
    tide_sql_script_free(s2);
    tide_buf_free(&out);
    tide_buf_free(&out2);
    return 0;
}
