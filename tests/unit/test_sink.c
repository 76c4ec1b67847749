/*
 * test_sink.c - the output formats of connect/sink.h: the aligned TABLE, CSV
 * with a header and JSON Lines, over batches with NULLs, every type, wide
 * strings and changelog ops (a leading op column, or the op in a column of
 * the schema); selection vectors; flushing (at flush, or at every write when
 * prompt); to a descriptor, a file and a topic.
 *
 * Expected text is written out here, from the format rules in sink.h and
 * data/codec.h (widths: TIMESTAMP 23, BIGINT and DOUBLE 8 right-aligned,
 * BOOLEAN 5, STRING 10, op 2; two spaces between cells; the last unpadded).
 */
#include "base/err.h"
#include "base/io.h"
#include "connect/sink.h"
#include "log/reader.h"
#include "log/topic.h"
#include "tt.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *tmp;

/* ---- the rows: every type, NULLs, a wide string, all four ops ---- */

enum { C_TS, C_ID, C_X, C_OK, C_NAME, NCOLS };

static tide_schema *schema5(void)
{
    tide_schema *s = NULL;
    tide_err e = {0};
    if (tide_schema_create(&s, &e) || tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, true, &e) ||
        tide_schema_add(s, "id", TIDE_TYPE_BIGINT, true, &e) || tide_schema_add(s, "x", TIDE_TYPE_DOUBLE, true, &e) ||
        tide_schema_add(s, "ok", TIDE_TYPE_BOOLEAN, true, &e) ||
        tide_schema_add(s, "name", TIDE_TYPE_STRING, true, &e)) {
        tide_schema_free(s);
        return NULL;
    }
    return s;
}

#define T0 1704067200000 /* 2024-01-01 00:00:00.000 */

typedef struct trow {
    tide_op op;
    bool ts_null, id_null, x_null, ok_null, name_null;
    int64_t ts, id;
    double x;
    bool ok;
    const char *name;
} trow;

static const trow rows6[] = {
    {TIDE_OP_INSERT, 0, 0, 0, 0, 0, T0, 1, 1.5, true, "ann"},
    {TIDE_OP_UPDATE_BEFORE, 1, 0, 1, 0, 0, 0, -42, 0, false, "a much wider name than ten"},
    {TIDE_OP_UPDATE_AFTER, 0, 1, 0, 1, 1, T0 + 123, 0, -0.25, false, NULL},
    {TIDE_OP_DELETE, 0, 0, 0, 0, 0, 0, INT64_MAX, 1e300, true, ""},
    {TIDE_OP_INSERT, 0, 0, 0, 0, 0, T0 + 1000, 0, NAN, false, "q,\"x"},
    {TIDE_OP_INSERT, 1, 0, 0, 1, 0, 0, -1, -INFINITY, false, "x y"},
};
#define NROWS 6

/* A batch of rows6 (with ops when `ops`). */
static tide_cbatch *batch6(const tide_schema *s, bool ops)
{
    tide_err e = {0};
    tide_cbatch *b = NULL;
    if (tide_cbatch_create(&b, s, 16, ops ? TIDE_CBATCH_OPS : 0, &e))
        return NULL;
    for (int i = 0; i < NROWS; i++) {
        const trow *t = &rows6[i];
        uint32_t r = 0;
        if (tide_cbatch_add_row(b, &r)) {
            tide_cbatch_free(b);
            return NULL;
        }
        tide_cbatch_set_op(b, r, t->op);
        if (!t->ts_null)
            tide_cbatch_set_i64(b, C_TS, r, t->ts);
        if (!t->id_null)
            tide_cbatch_set_i64(b, C_ID, r, t->id);
        if (!t->x_null)
            tide_cbatch_set_f64(b, C_X, r, t->x);
        if (!t->ok_null)
            tide_cbatch_set_bool(b, C_OK, r, t->ok);
        if (!t->name_null && tide_cbatch_set_str(b, C_NAME, r, t->name, strlen(t->name), &e)) {
            tide_cbatch_free(b);
            return NULL;
        }
    }
    return b;
}

#define TABLE_HEAD_OP "op  ts                             id         x  ok     name\n"
#define TABLE_ROWS_OP                                                                     \
    "+I  2024-01-01 00:00:00.000         1       1.5  TRUE   ann\n"                       \
    "-U  NULL                          -42      NULL  FALSE  a much wider name than ten\n" \
    "+U  2024-01-01 00:00:00.123      NULL     -0.25  NULL   NULL\n"                      \
    "-D  1970-01-01 00:00:00.000  9223372036854775807    1e+300  TRUE   \n"                \
    "+I  2024-01-01 00:00:01.000         0       nan  FALSE  q,\"x\n"                     \
    "+I  NULL                           -1      -inf  NULL   x y\n"
#define TABLE_HEAD "ts                             id         x  ok     name\n"
#define TABLE_ROWS                                                                    \
    "2024-01-01 00:00:00.000         1       1.5  TRUE   ann\n"                       \
    "NULL                          -42      NULL  FALSE  a much wider name than ten\n" \
    "2024-01-01 00:00:00.123      NULL     -0.25  NULL   NULL\n"                      \
    "1970-01-01 00:00:00.000  9223372036854775807    1e+300  TRUE   \n"                \
    "2024-01-01 00:00:01.000         0       nan  FALSE  q,\"x\n"                     \
    "NULL                           -1      -inf  NULL   x y\n"

#define CSV_HEAD_OP "op,ts,id,x,ok,name\n"
#define CSV_ROWS_OP                                             \
    "+I,2024-01-01 00:00:00.000,1,1.5,true,ann\n"               \
    "-U,,-42,,false,a much wider name than ten\n"               \
    "+U,2024-01-01 00:00:00.123,,-0.25,,\n"                     \
    "-D,1970-01-01 00:00:00.000,9223372036854775807,1e+300,true,\"\"\n" \
    "+I,2024-01-01 00:00:01.000,0,nan,false,\"q,\"\"x\"\n"      \
    "+I,,-1,-inf,,x y\n"

#define JSON_ROWS_OP                                                                                        \
    "{\"op\":\"+I\",\"ts\":\"2024-01-01 00:00:00.000\",\"id\":1,\"x\":1.5,\"ok\":true,\"name\":\"ann\"}\n"     \
    "{\"op\":\"-U\",\"ts\":null,\"id\":-42,\"x\":null,\"ok\":false,\"name\":\"a much wider name than ten\"}\n" \
    "{\"op\":\"+U\",\"ts\":\"2024-01-01 00:00:00.123\",\"id\":null,\"x\":-0.25,\"ok\":null,\"name\":null}\n"  \
    "{\"op\":\"-D\",\"ts\":\"1970-01-01 00:00:00.000\",\"id\":9223372036854775807,\"x\":1e+300,\"ok\":true,"   \
    "\"name\":\"\"}\n"                                                                                      \
    "{\"op\":\"+I\",\"ts\":\"2024-01-01 00:00:01.000\",\"id\":0,\"x\":\"NaN\",\"ok\":false,\"name\":\"q,\\\"x\"}\n" \
    "{\"op\":\"+I\",\"ts\":null,\"id\":-1,\"x\":\"-Infinity\",\"ok\":null,\"name\":\"x y\"}\n"

/* ---- helpers ---- */

/* What can be read from a non-blocking pipe now, appended to out. */
static void drain(int fd, tide_buf *out)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            return;
        tide_buf_append(out, buf, (size_t)n);
    }
}

static int open_pipe(int fds[2])
{
    if (pipe(fds) != 0)
        return -1;
    return fcntl(fds[0], F_SETFL, O_NONBLOCK);
}

static bool buf_is(const tide_buf *b, const char *want)
{
    size_t n = strlen(want);
    bool same = b->len == n && (n == 0 || memcmp(b->data, want, n) == 0);
    if (!same)
        fprintf(stderr, "  got:\n%.*s  want:\n%s", (int)b->len, b->data ? (const char *)b->data : "", want);
    return same;
}

/* Read a whole file into a NUL-terminated string (NULL when missing). */
static char *slurp(const char *path)
{
    char *got = NULL;
    size_t len = 0;
    tide_err e = {0};
    if (tide_io_read_all(path, &got, &len, &e))
        return NULL;
    char *s = realloc(got, len + 1);
    if (!s) {
        free(got);
        return NULL;
    }
    s[len] = 0;
    return s;
}

static bool file_is(const char *path, const char *want)
{
    char *got = slurp(path);
    if (!got) {
        fprintf(stderr, "  %s: missing\n", path);
        return false;
    }
    bool same = strcmp(got, want) == 0;
    if (!same)
        fprintf(stderr, "  got:\n%s  want:\n%s", got, want);
    free(got);
    return same;
}

/* ---- TABLE ---- */

/* Stdout as a table with a leading op: the header is there as soon as the
 * sink is open; rows wait for a flush (not prompt, a large buffer). */
static void test_table_stdout(void)
{
    tide_err e = {0};
    int fds[2];
    TT_ASSERT(open_pipe(fds) == 0);
    tide_schema *s = schema5();
    tide_cbatch *b = batch6(s, true);
    TT_ASSERT(s && b);
    tide_sink_config kc;
    tide_sink_config_init(&kc);
    kc.fd = fds[1];
    kc.schema = s;
    TT_OK(tide_sink_config_set(&kc, "format", "table", &e));
    TT_ASSERT(kc.format == TIDE_FORMAT_TABLE);
    kc.op = TIDE_SINK_OP_LEAD;
    tide_sink *k = NULL;
    tide_buf got = {0};
    TT_OK(tide_sink_open(&k, &kc, &e));
    drain(fds[0], &got);
    TT_ASSERT(buf_is(&got, TABLE_HEAD_OP));
    TT_OK(tide_sink_write(k, b, &e));
    drain(fds[0], &got);
    TT_ASSERT(buf_is(&got, TABLE_HEAD_OP)); /* buffered */
    TT_OK(tide_sink_flush(k, &e));
    drain(fds[0], &got);
    TT_ASSERT(buf_is(&got, TABLE_HEAD_OP TABLE_ROWS_OP));
    TT_ASSERT_EQ_INT(tide_sink_rows(k), NROWS);
    TT_OK(tide_sink_close(k, &e));
    drain(fds[0], &got);
    TT_ASSERT(buf_is(&got, TABLE_HEAD_OP TABLE_ROWS_OP));
    close(fds[0]);
    close(fds[1]);
    tide_buf_free(&got);
    tide_cbatch_free(b);
    tide_schema_free(s);
}

/* A table without the op (the default: the batch's ops are not shown),
 * into a file (temp + rename on close), written through a selection. */
static void test_table_file_sel(void)
{
    tide_err e = {0};
    char out[1100], outtmp[1200];
    snprintf(out, sizeof out, "%s/t.txt", tmp);
    snprintf(outtmp, sizeof outtmp, "%s.tide-tmp", out);
    tide_schema *s = schema5();
    tide_cbatch *b = batch6(s, true);
    TT_ASSERT(s && b);
    tide_sink_config kc;
    tide_sink_config_init(&kc);
    kc.kind = TIDE_SINK_FILE;
    kc.path = out;
    kc.format = TIDE_FORMAT_TABLE;
    kc.schema = s;
    tide_sink *k = NULL;
    TT_OK(tide_sink_open(&k, &kc, &e));
    uint32_t sel[] = {5, 1};
    TT_OK(tide_sink_write_sel(k, b, sel, 2, &e));
    TT_OK(tide_sink_write_sel(k, b, NULL, 1, &e)); /* rows 0..0 */
    TT_ASSERT_EQ_INT(tide_sink_rows(k), 3);
    TT_ASSERT(access(out, F_OK) != 0);
    TT_OK(tide_sink_close(k, &e));
    TT_ASSERT(access(outtmp, F_OK) != 0);
    TT_ASSERT(file_is(out, TABLE_HEAD "NULL                           -1      -inf  NULL   x y\n"
                                      "NULL                          -42      NULL  FALSE  a much wider name than ten\n"
                                      "2024-01-01 00:00:00.000         1       1.5  TRUE   ann\n"));
    /* every row, no op */
    snprintf(out, sizeof out, "%s/t2.txt", tmp);
    kc.path = out;
    TT_OK(tide_sink_open(&k, &kc, &e));
    TT_OK(tide_sink_write(k, b, &e));
    TT_OK(tide_sink_close(k, &e));
    TT_ASSERT(file_is(out, TABLE_HEAD TABLE_ROWS));
    /* no rows: the header alone */
    snprintf(out, sizeof out, "%s/t3.txt", tmp);
    kc.path = out;
    kc.op = TIDE_SINK_OP_LEAD;
    TT_OK(tide_sink_open(&k, &kc, &e));
    TT_OK(tide_sink_close(k, &e));
    TT_ASSERT(file_is(out, TABLE_HEAD_OP));
    tide_cbatch_free(b);
    tide_schema_free(s);
}

/* ---- CSV ---- */

/* CSV with a header and a leading op to a file; a second batch without ops
 * gets +I; a selection picks rows in its own order. */
static void test_csv_file(void)
{
    tide_err e = {0};
    char out[1100];
    snprintf(out, sizeof out, "%s/c.csv", tmp);
    tide_schema *s = schema5();
    tide_cbatch *b = batch6(s, true), *plain = batch6(s, false);
    TT_ASSERT(s && b && plain);
    tide_sink_config kc;
    tide_sink_config_init(&kc);
    TT_OK(tide_sink_config_set(&kc, "connector", "file", &e));
    TT_OK(tide_sink_config_set(&kc, "path", out, &e));
    TT_OK(tide_sink_config_set(&kc, "csv.header", "true", &e));
    kc.schema = s;
    kc.op = TIDE_SINK_OP_LEAD;
    kc.flush_bytes = 10; /* written out as it goes */
    tide_sink *k = NULL;
    TT_OK(tide_sink_open(&k, &kc, &e));
    TT_OK(tide_sink_write(k, b, &e));
    uint32_t sel[] = {3, 0};
    TT_OK(tide_sink_write_sel(k, plain, sel, 2, &e));
    TT_OK(tide_sink_close(k, &e));
    TT_ASSERT(file_is(out, CSV_HEAD_OP CSV_ROWS_OP "+I,1970-01-01 00:00:00.000,9223372036854775807,1e+300,true,\"\"\n"
                                                   "+I,2024-01-01 00:00:00.000,1,1.5,true,ann\n"));
    /* the op from the batch (the default): a batch that keeps ops leads with
     * them, one that does not is written without */
    snprintf(out, sizeof out, "%s/c2.csv", tmp);
    kc.path = out;
    kc.op = TIDE_SINK_OP_BATCH;
    kc.header = false;
    TT_OK(tide_sink_open(&k, &kc, &e));
    TT_OK(tide_sink_write_sel(k, b, sel, 1, &e));
    TT_OK(tide_sink_write_sel(k, plain, sel, 1, &e));
    TT_OK(tide_sink_close(k, &e));
    TT_ASSERT(file_is(out, "-D,1970-01-01 00:00:00.000,9223372036854775807,1e+300,true,\"\"\n"
                           "1970-01-01 00:00:00.000,9223372036854775807,1e+300,true,\"\"\n"));
    /* a changelog with no rows still names its op in the header */
    snprintf(out, sizeof out, "%s/c3.csv", tmp);
    kc.path = out;
    kc.op = TIDE_SINK_OP_LEAD;
    kc.header = true;
    TT_OK(tide_sink_open(&k, &kc, &e));
    TT_OK(tide_sink_close(k, &e));
    TT_ASSERT(file_is(out, CSV_HEAD_OP));
    tide_cbatch_free(b);
    tide_cbatch_free(plain);
    tide_schema_free(s);
}

/* ---- what a file sink may replace ---- */

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* A path that exists and is not a regular file is refused at open and left
 * as it was; a temp left by a killed run is removed (a symlink there is
 * unlinked, its target untouched); a regular file is replaced. */
static void test_file_targets(void)
{
    tide_err e = {0};
    tide_schema *s = schema5();
    tide_cbatch *plain = batch6(s, false);
    TT_ASSERT(s && plain);
    char fifo[1100], dir[1100], link[1100], target[1100], stale[1200], reg[1100];
    snprintf(fifo, sizeof fifo, "%s/fifo", tmp);
    snprintf(dir, sizeof dir, "%s/dir", tmp);
    snprintf(link, sizeof link, "%s/link", tmp);
    snprintf(target, sizeof target, "%s/target.txt", tmp);
    snprintf(reg, sizeof reg, "%s/reg.csv", tmp);
    TT_ASSERT(mkfifo(fifo, 0644) == 0);
    TT_ASSERT(mkdir(dir, 0755) == 0);
    write_text(target, "keep me\n");
    TT_ASSERT(symlink(target, link) == 0);
    tide_sink_config kc;
    tide_sink_config_init(&kc);
    TT_OK(tide_sink_config_set(&kc, "connector", "file", &e));
    kc.schema = s;
    const struct {
        const char *path, *what;
    } bad[] = {{fifo, "is a FIFO"}, {dir, "is a directory"}, {link, "is a symbolic link"}, {"/dev/null", "is a device"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kc.path = bad[i].path;
        tide_sink *k = NULL;
        tide_err_clear(&e);
        TT_ASSERT_EQ_INT(tide_sink_open(&k, &kc, &e), TIDE_EINVAL);
        TT_ASSERT_MSG(strstr(e.msg, bad[i].path) && strstr(e.msg, bad[i].what), "%s", e.msg);
        TT_ASSERT(k == NULL);
    }
    struct stat st;
    TT_ASSERT(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    TT_ASSERT(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
    TT_ASSERT(lstat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
    TT_ASSERT(file_is(target, "keep me\n"));
    /* a stale temp (here a symlink to the target) is cleaned, not followed */
    snprintf(stale, sizeof stale, "%s.tide-tmp", reg);
    write_text(reg, "old\n");
    TT_ASSERT(symlink(target, stale) == 0);
    kc.path = reg;
    tide_sink *k = NULL;
    tide_err_clear(&e);
    TT_OK(tide_sink_open(&k, &kc, &e));
    uint32_t sel[] = {0};
    TT_OK(tide_sink_write_sel(k, plain, sel, 1, &e));
    TT_OK(tide_sink_close(k, &e));
    TT_ASSERT(file_is(reg, "2024-01-01 00:00:00.000,1,1.5,true,ann\n"));
    TT_ASSERT(file_is(target, "keep me\n"));
    TT_ASSERT(lstat(stale, &st) != 0 && errno == ENOENT);
    tide_cbatch_free(plain);
    tide_schema_free(s);
}

/* ---- JSON Lines ---- */

/* JSON Lines to a descriptor, prompt: each write is readable at once. */
static void test_jsonl_prompt(void)
{
    tide_err e = {0};
    int fds[2];
    TT_ASSERT(open_pipe(fds) == 0);
    tide_schema *s = schema5();
    tide_cbatch *b = batch6(s, true);
    TT_ASSERT(s && b);
    tide_sink_config kc;
    tide_sink_config_init(&kc);
    kc.fd = fds[1];
    kc.schema = s;
    TT_OK(tide_sink_config_set(&kc, "format", "json", &e));
    kc.op = TIDE_SINK_OP_LEAD;
    kc.prompt = true;
    tide_sink *k = NULL;
    tide_buf got = {0};
    TT_OK(tide_sink_open(&k, &kc, &e));
    uint32_t first[] = {0, 1, 2};
    uint32_t rest[] = {3, 4, 5};
    TT_OK(tide_sink_write_sel(k, b, first, 3, &e));
    drain(fds[0], &got);
    TT_ASSERT_EQ_INT(got.len, strchr(strstr(JSON_ROWS_OP, "\"+U\""), '\n') + 1 - JSON_ROWS_OP);
    TT_OK(tide_sink_write_sel(k, b, rest, 3, &e));
    drain(fds[0], &got);
    TT_ASSERT(buf_is(&got, JSON_ROWS_OP));
    TT_OK(tide_sink_close(k, &e));
    close(fds[0]);
    close(fds[1]);
    tide_buf_free(&got);
    tide_cbatch_free(b);
    tide_schema_free(s);
}

/* ---- the op in a column of the schema (an INSERT target's `op`) ---- */

static void test_op_column(void)
{
    tide_err e = {0};
    tide_schema *s = NULL;
    TT_OK(tide_schema_create(&s, &e));
    TT_OK(tide_schema_add(s, "k", TIDE_TYPE_BIGINT, true, &e));
    TT_OK(tide_schema_add(s, "op", TIDE_TYPE_STRING, true, &e));
    TT_OK(tide_schema_add(s, "n", TIDE_TYPE_BIGINT, true, &e));
    tide_cbatch *b = NULL;
    TT_OK(tide_cbatch_create(&b, s, 4, TIDE_CBATCH_OPS, &e));
    uint32_t r;
    TT_OK(tide_cbatch_add_row(b, &r));
    tide_cbatch_set_op(b, r, TIDE_OP_UPDATE_BEFORE);
    tide_cbatch_set_i64(b, 0, r, 7);
    TT_OK(tide_cbatch_add_row(b, &r));
    tide_cbatch_set_op(b, r, TIDE_OP_UPDATE_AFTER);
    TT_OK(tide_cbatch_set_str(b, 1, r, "ignored", 7, &e)); /* the op wins */
    tide_cbatch_set_i64(b, 2, r, 12);
    static const struct {
        tide_format f;
        const char *file, *want;
    } cases[] = {
        {TIDE_FORMAT_CSV, "oc.csv", "k,op,n\n7,-U,\n,+U,12\n"},
        {TIDE_FORMAT_JSONL, "oc.json", "{\"k\":7,\"op\":\"-U\",\"n\":null}\n{\"k\":null,\"op\":\"+U\",\"n\":12}\n"},
        {TIDE_FORMAT_TABLE, "oc.txt",
         "       k  op                 n\n"
         "       7  -U              NULL\n"
         "    NULL  +U                12\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[1100];
        snprintf(out, sizeof out, "%s/%s", tmp, cases[i].file);
        tide_sink_config kc;
        tide_sink_config_init(&kc);
        kc.kind = TIDE_SINK_FILE;
        kc.path = out;
        kc.format = cases[i].f;
        kc.header = true;
        kc.schema = s;
        kc.op = TIDE_SINK_OP_COLUMN;
        kc.op_col = 1;
        tide_sink *k = NULL;
        TT_OK(tide_sink_open(&k, &kc, &e));
        TT_OK(tide_sink_write(k, b, &e));
        TT_OK(tide_sink_close(k, &e));
        TT_ASSERT_MSG(file_is(out, cases[i].want), "format %d", (int)cases[i].f);
    }
    /* a batch without ops: +I */
    char out[1100];
    snprintf(out, sizeof out, "%s/oc2.csv", tmp);
    tide_cbatch *plain = NULL;
    TT_OK(tide_cbatch_create(&plain, s, 4, 0, &e));
    TT_OK(tide_cbatch_add_row(plain, &r));
    tide_cbatch_set_i64(plain, 2, r, 3);
    tide_sink_config kc;
    tide_sink_config_init(&kc);
    kc.kind = TIDE_SINK_FILE;
    kc.path = out;
    kc.schema = s;
    kc.op = TIDE_SINK_OP_COLUMN;
    kc.op_col = 1;
    tide_sink *k = NULL;
    TT_OK(tide_sink_open(&k, &kc, &e));
    TT_OK(tide_sink_write(k, plain, &e));
    TT_OK(tide_sink_close(k, &e));
    TT_ASSERT(file_is(out, ",+I,3\n"));
    /* the op column must be a STRING column of the schema */
    kc.op_col = 0;
    TT_ASSERT(tide_sink_open(&k, &kc, &e) == TIDE_EINVAL && k == NULL);
    kc.op_col = 3;
    TT_ASSERT(tide_sink_open(&k, &kc, &e) == TIDE_EINVAL && k == NULL);
    TT_ASSERT(access(out, F_OK) == 0);
    tide_cbatch_free(plain);
    tide_cbatch_free(b);
    tide_schema_free(s);
}

/* ---- topic ---- */

/* A topic gets one record per selected row (CSV with the op first, keyed by
 * a column); the table format is refused there. */
static void test_topic_sel(void)
{
    tide_err e = {0};
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/data", tmp);
    tide_topic_config tc;
    tide_topic_config_default(&tc);
    tc.partitions = 1;
    tc.fsync = TIDE_FSYNC_NEVER;
    TT_OK(tide_topic_create(dir, "out", &tc, &e));
    tide_schema *s = schema5();
    tide_cbatch *b = batch6(s, true);
    TT_ASSERT(s && b);
    tide_sink_config kc;
    tide_sink_config_init(&kc);
    kc.kind = TIDE_SINK_TOPIC;
    kc.datadir = dir;
    kc.topic = "out";
    kc.key_column = "id";
    kc.schema = s;
    kc.format = TIDE_FORMAT_TABLE;
    tide_sink *k = NULL;
    TT_ASSERT(tide_sink_open(&k, &kc, &e) == TIDE_EINVAL && k == NULL);
    kc.format = TIDE_FORMAT_CSV;
    kc.op = TIDE_SINK_OP_LEAD;
    TT_OK(tide_sink_open(&k, &kc, &e));
    uint32_t sel[] = {4, 1, 2};
    TT_OK(tide_sink_write_sel(k, b, sel, 3, &e));
    TT_OK(tide_sink_close(k, &e));
    static const char *const want_val[] = {"+I,2024-01-01 00:00:01.000,0,nan,false,\"q,\"\"x\"",
                                           "-U,,-42,,false,a much wider name than ten",
                                           "+U,2024-01-01 00:00:00.123,,-0.25,,"};
    static const char *const want_key[] = {"0", "-42", NULL};
    tide_log_reader *rd = NULL;
    TT_OK(tide_log_reader_open(&rd, dir, "out", 0, &e));
    for (int i = 0; i < 3; i++) {
        tide_record rec;
        int rc = tide_log_reader_next(rd, &rec, &e);
        TT_ASSERT_MSG(rc == 0, "record %d: %d", i, rc);
        TT_ASSERT_MSG(rec.value_len == strlen(want_val[i]) && memcmp(rec.value, want_val[i], rec.value_len) == 0,
                      "record %d: %.*s", i, (int)rec.value_len, (const char *)rec.value);
        if (want_key[i])
            TT_ASSERT(rec.key_len == strlen(want_key[i]) && memcmp(rec.key, want_key[i], rec.key_len) == 0);
        else
            TT_ASSERT_EQ_INT(rec.key_len, 0);
    }
    tide_record rec;
    TT_ASSERT(tide_log_reader_next(rd, &rec, &e) == TIDE_EAGAIN);
    tide_log_reader_close(rd);
    tide_cbatch_free(b);
    tide_schema_free(s);
}

/* A write that fails (a closed pipe) sticks: later writes and the close
 * return the first error. */
static void test_sticky_error(void)
{
    tide_err e = {0};
    int fds[2];
    TT_ASSERT(pipe(fds) == 0);
    close(fds[0]);
    signal(SIGPIPE, SIG_IGN);
    tide_schema *s = schema5();
    tide_cbatch *b = batch6(s, false);
    TT_ASSERT(s && b);
    tide_sink_config kc;
    tide_sink_config_init(&kc);
    kc.fd = fds[1];
    kc.schema = s;
    kc.prompt = true;
    tide_sink *k = NULL;
    TT_OK(tide_sink_open(&k, &kc, &e));
    int rc = tide_sink_write(k, b, &e);
    TT_ASSERT(rc < 0 && e.msg[0]);
    tide_err e2 = {0};
    TT_ASSERT(tide_sink_write(k, b, &e2) == rc);
    TT_ASSERT_EQ_STR(e2.msg, e.msg);
    TT_ASSERT(tide_sink_close(k, &e2) == rc);
    close(fds[1]);
    tide_cbatch_free(b);
    tide_schema_free(s);
}

int main(void)
{
    tmp = tt_tmpdir("test_sink");
    if (!tmp)
        return 1;
    TT_RUN(test_table_stdout);
    TT_RUN(test_table_file_sel);
    TT_RUN(test_csv_file);
    TT_RUN(test_file_targets);
    TT_RUN(test_jsonl_prompt);
    TT_RUN(test_op_column);
    TT_RUN(test_topic_sel);
    TT_RUN(test_sticky_error);
    TT_DONE();
}
