/*
 * test_connect.c - sources and sinks (connect/source.h, connect/sink.h).
 *
 * Expected results come from the test's own model: the rows it generated
 * and the text it wrote for them, the line/column where it put each bad
 * value, the offsets it appended at.  Nothing is compared with an earlier
 * tide output.
 */
#include "base/clock.h"
#include "base/err.h"
#include "base/io.h"
#include "connect/sink.h"
#include "connect/source.h"
#include "data/timefmt.h"
#include "log/reader.h"
#include "log/topic.h"
#include "log/writer.h"
#include "tt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a model row: ts, user_id, name ---- */

typedef struct mrow {
    int64_t ts;
    int64_t user;
    char name[32];
} mrow;

static tide_schema *schema3(bool ts_time_col)
{
    tide_schema *s = NULL;
    tide_err e = {0};
    if (tide_schema_create(&s, &e) || tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, true, &e) ||
        tide_schema_add(s, "user_id", TIDE_TYPE_BIGINT, false, &e) ||
        tide_schema_add(s, "name", TIDE_TYPE_STRING, true, &e) ||
        (ts_time_col && tide_schema_set_time_column(s, 0, &e))) {
        tide_schema_free(s);
        return NULL;
    }
    return s;
}

/* The model's own rendering of a row, and of a batch row, for comparing. */
static void mrow_key(const mrow *m, char *out, size_t cap)
{
    snprintf(out, cap, "%" PRId64 "|%" PRId64 "|%s", m->ts, m->user, m->name);
}

static void brow_key(const tide_cbatch *b, uint32_t r, char *out, size_t cap)
{
    tide_str s = tide_cbatch_str(b, 2, r);
    snprintf(out, cap, "%" PRId64 "|%" PRId64 "|%.*s", tide_cbatch_i64(b, 0, r), tide_cbatch_i64(b, 1, r),
             (int)s.len, s.ptr);
}

static void gen_rows(mrow *rows, size_t n, uint64_t seed)
{
    static const char *const names[] = {"ann", "bob", "c,d", "say \"hi\"", "eve", "x y"};
    for (size_t i = 0; i < n; i++) {
        rows[i].ts = 1704067200000 + (int64_t)(tt_rand(&seed) % 86400000);
        rows[i].user = (int64_t)(tt_rand(&seed) % 1000) + 1;
        snprintf(rows[i].name, sizeof rows[i].name, "%s", names[tt_rand(&seed) % 6]);
    }
}

/* The CSV line of a row, written the RFC 4180 way by hand. */
static void csv_line(const mrow *m, tide_buf *out)
{
    char ts[TIDE_TS_FORMAT_MAX];
    tide_ts_format(m->ts, ts);
    tide_buf_printf(out, "%s,%" PRId64 ",", ts, m->user);
    if (strpbrk(m->name, ",\"")) {
        tide_buf_putc(out, '"');
        for (const char *p = m->name; *p; p++) {
            if (*p == '"')
                tide_buf_putc(out, '"');
            tide_buf_putc(out, *p);
        }
        tide_buf_putc(out, '"');
    } else {
        tide_buf_printf(out, "%s", m->name);
    }
    tide_buf_putc(out, '\n');
}

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* ---- collecting dead letters ---- */

typedef struct dead_log {
    int n;
    char pos[16][1100];
    char reason[16][600];
    char raw[16][128];
    uint32_t part[16];
} dead_log;

static void collect(void *ctx, const tide_src_dead *dl)
{
    dead_log *d = ctx;
    if (d->n >= 16)
        return;
    snprintf(d->pos[d->n], sizeof d->pos[0], "%s", dl->position);
    snprintf(d->reason[d->n], sizeof d->reason[0], "%s", dl->reason);
    snprintf(d->raw[d->n], sizeof d->raw[0], "%.*s", (int)dl->raw_len, dl->raw);
    d->part[d->n] = dl->partition;
    d->n++;
}

static const char *tmp;

/* ---- file source ---- */

static void test_file_source_dead_letters(void)
{
    tide_err e = {0};
    char path[1024];
    snprintf(path, sizeof path, "%s/in.csv", tmp);
    mrow rows[40];
    gen_rows(rows, 40, 7);
    tide_buf text = {0};
    tide_buf_printf(&text, "ts,user_id,name\n");
    /* expected dead letters: position and the line they are on */
    char want[8][1100];
    int nwant = 0;
    size_t good = 0;
    uint64_t line = 2, good_line[40];
    for (int i = 0; i < 40; i++) {
        if (i % 9 == 4) { /* a bad month: the fault is at column 6 */
            tide_buf_printf(&text, "2024-13-01 00:00:00.000,5,zed\n");
            snprintf(want[nwant++], sizeof want[0], "%s:%" PRIu64 ":6", path, line++);
        }
        if (i % 13 == 6) { /* a bad BIGINT "12x" after 24 bytes: the fault, 'x', is at column 27 */
            tide_buf_printf(&text, "2024-01-01 00:00:00.000,12x,zed\n");
            snprintf(want[nwant++], sizeof want[0], "%s:%" PRIu64 ":27", path, line++);
        }
        if (i == 20) { /* too few fields: a position without a column */
            tide_buf_printf(&text, "2024-01-01 00:00:00.000,5\n");
            snprintf(want[nwant++], sizeof want[0], "%s:%" PRIu64, path, line++);
        }
        csv_line(&rows[i], &text);
        good_line[good++] = line++;
    }
    TT_ASSERT(write_file(path, text.data, text.len) == 0);

    tide_schema *s = schema3(true);
    TT_ASSERT(s);
    tide_src_config c;
    tide_src_config_init(&c);
    TT_OK(tide_src_config_set(&c, "connector", "file", &e));
    TT_OK(tide_src_config_set(&c, "path", path, &e));
    TT_OK(tide_src_config_set(&c, "format", "csv", &e));
    TT_OK(tide_src_config_set(&c, "csv.header", "true", &e));
    TT_ASSERT(tide_src_config_set(&c, "bogus", "1", &e) == TIDE_EINVAL);
    tide_err_clear(&e);
    c.schema = s;
    c.read_size = 16; /* many refills, records across block boundaries */
    dead_log dl = {0};
    c.on_dead = collect;
    c.dead_ctx = &dl;
    tide_src *src = NULL;
    TT_OK(tide_src_open(&src, &c, &e));
    TT_ASSERT(tide_src_bounded(src));
    TT_ASSERT_EQ_INT(tide_src_partitions(src), 1);
    tide_cbatch *b = NULL;
    TT_OK(tide_cbatch_create(&b, s, 7, TIDE_CBATCH_POS, &e));
    size_t got = 0;
    int rc;
    char k1[128], k2[128];
    while ((rc = tide_src_next(src, b, &(tide_src_batch){0}, &e)) == TIDE_SRC_READY) {
        for (uint32_t r = 0; r < tide_cbatch_rows(b); r++, got++) {
            TT_ASSERT(got < 40);
            mrow_key(&rows[got], k1, sizeof k1);
            brow_key(b, r, k2, sizeof k2);
            TT_ASSERT_EQ_STR(k2, k1);
            TT_ASSERT_EQ_INT(tide_cbatch_pos(b, r), good_line[got]);
        }
    }
    TT_ASSERT_EQ_INT(rc, TIDE_SRC_END);
    TT_ASSERT_EQ_INT(got, 40);
    TT_ASSERT_EQ_INT(dl.n, nwant);
    for (int i = 0; i < nwant; i++) {
        TT_ASSERT_EQ_STR(dl.pos[i], want[i]);
        TT_ASSERT(strncmp(dl.reason[i], want[i], strlen(want[i])) == 0);
        TT_ASSERT(strstr(dl.raw[i], "zed") || strstr(dl.raw[i], ",5"));
    }
    tide_src_pos pos;
    tide_src_position(src, 0, &pos);
    TT_ASSERT_EQ_INT(pos.offset, text.len);
    TT_ASSERT_EQ_INT(pos.line, line);
    tide_src_stats st;
    tide_src_stats_get(src, &st);
    TT_ASSERT_EQ_INT(st.rows, 40);
    TT_ASSERT_EQ_INT(st.dead, nwant);
    TT_ASSERT(tide_src_ended(src, 0));
    TT_ASSERT_EQ_INT(tide_src_next(src, b, &(tide_src_batch){0}, &e), TIDE_SRC_END);
    tide_src_free(src);
    tide_cbatch_free(b);
    tide_schema_free(s);
    tide_buf_free(&text);
}

static void test_file_source_missing(void)
{
    tide_err e = {0};
    tide_schema *s = schema3(false);
    tide_src_config c;
    tide_src_config_init(&c);
    c.schema = s;
    c.path = "/nonexistent/dir/x.csv";
    tide_src *src = (tide_src *)1;
    int rc = tide_src_open(&src, &c, &e);
    tide_schema_free(s);
    TT_ASSERT_EQ_INT(rc, TIDE_ENOENT);
    TT_ASSERT(src == NULL);
    TT_ASSERT(strstr(e.msg, "/nonexistent/dir/x.csv") != NULL);
}

static void test_stdin_source(void)
{
    tide_err e = {0};
    int fds[2];
    TT_ASSERT(pipe(fds) == 0);
    const char *in = "{\"user_id\": 3, \"ts\": 1000, \"name\": \"a\"}\n{\"user_id\": \"x\"}\n"
                     "{\"name\": \"b\", \"user_id\": 4}\n";
    TT_ASSERT(write(fds[1], in, strlen(in)) == (ssize_t)strlen(in));
    close(fds[1]);
    tide_schema *s = schema3(false);
    tide_src_config c;
    tide_src_config_init(&c);
    c.kind = TIDE_SRC_STDIN;
    c.fd = fds[0];
    c.format = TIDE_FORMAT_JSONL;
    c.schema = s;
    dead_log dl = {0};
    c.on_dead = collect;
    c.dead_ctx = &dl;
    tide_src *src = NULL;
    tide_cbatch *b = NULL;
    TT_OK(tide_src_open(&src, &c, &e));
    TT_OK(tide_cbatch_create(&b, s, 16, 0, &e));
    TT_ASSERT_EQ_INT(tide_src_next(src, b, &(tide_src_batch){0}, &e), TIDE_SRC_READY);
    TT_ASSERT_EQ_INT(tide_cbatch_rows(b), 2);
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 0, 0), 1000);
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 1, 1), 4);
    TT_ASSERT(tide_cbatch_is_null(b, 0, 1));
    TT_ASSERT_EQ_INT(tide_src_next(src, b, &(tide_src_batch){0}, &e), TIDE_SRC_END);
    TT_ASSERT_EQ_INT(dl.n, 1);
    TT_ASSERT(strncmp(dl.pos[0], "stdin:2:", 8) == 0);
    tide_src_free(src);
    tide_cbatch_free(b);
    tide_schema_free(s);
    close(fds[0]);
}

/* stdin hands over the rows it has instead of blocking for a full batch */
static void test_stdin_partial(void)
{
    tide_err e = {0};
    int fds[2];
    TT_ASSERT(pipe(fds) == 0);
    tide_schema *s = schema3(false);
    tide_src_config c;
    tide_src_config_init(&c);
    TT_OK(tide_src_config_set(&c, "connector", "stdin", &e));
    c.fd = fds[0];
    c.schema = s;
    tide_src *src = NULL;
    tide_cbatch *b = NULL;
    TT_OK(tide_src_open(&src, &c, &e));
    TT_OK(tide_cbatch_create(&b, s, 100, TIDE_CBATCH_POS, &e));
    const char *a = ",1,a\n,2,b\n,3,"; /* two rows and a half */
    TT_ASSERT(write(fds[1], a, strlen(a)) == (ssize_t)strlen(a));
    tide_src_batch info;
    TT_ASSERT_EQ_INT(tide_src_next(src, b, &info, &e), TIDE_SRC_READY);
    TT_ASSERT_EQ_INT(tide_cbatch_rows(b), 2);
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 1, 1), 2);
    tide_src_pos pos;
    tide_src_position(src, 0, &pos);
    TT_ASSERT_EQ_INT(pos.offset, 10);
    TT_ASSERT_EQ_INT(pos.line, 3);
    const char *rest = "c\n,4,d";
    TT_ASSERT(write(fds[1], rest, strlen(rest)) == (ssize_t)strlen(rest));
    close(fds[1]);
    TT_ASSERT_EQ_INT(tide_src_next(src, b, &info, &e), TIDE_SRC_READY);
    TT_ASSERT_EQ_INT(tide_cbatch_rows(b), 2);
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 1, 0), 3);
    TT_ASSERT_EQ_INT(tide_cbatch_pos(b, 0), 3);
    tide_str nm = tide_cbatch_str(b, 2, 1);
    TT_ASSERT(nm.len == 1 && nm.ptr[0] == 'd');
    TT_ASSERT_EQ_INT(tide_src_next(src, b, &info, &e), TIDE_SRC_END);
    tide_src_free(src);
    tide_cbatch_free(b);
    tide_schema_free(s);
    close(fds[0]);
}

/* ---- topic source ---- */

static int append_values(const char *dir, const char *topic, uint32_t p, const char *const *vals, size_t n,
                         int64_t ts0, uint64_t *first)
{
    tide_err e = {0};
    tide_log_writer *w = NULL;
    tide_log_writer_opts wo = {0};
    int rc = tide_log_writer_open(&w, dir, topic, &wo, &e);
    if (rc)
        return rc;
    tide_record recs[64];
    for (size_t i = 0; i < n; i++) {
        memset(&recs[i], 0, sizeof recs[i]);
        recs[i].timestamp = ts0 + (int64_t)i;
        recs[i].value = vals[i];
        recs[i].value_len = strlen(vals[i]);
    }
    rc = tide_log_append(w, p, recs, n, first, &e);
    int rc2 = tide_log_writer_close(w, &e);
    return rc ? rc : rc2;
}

static int make_topic(const char *dir, const char *name, uint32_t parts)
{
    tide_topic_config tc;
    tide_topic_config_default(&tc);
    tc.partitions = parts;
    tc.fsync = TIDE_FSYNC_NEVER;
    tide_err e = {0};
    return tide_topic_create(dir, name, &tc, &e);
}

static void test_topic_source(void)
{
    tide_err e = {0};
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/data1", tmp);
    TT_OK(make_topic(dir, "logins", 2));
    /* partition 0: values; bad ones at offsets 2 (bad ts) and 4 (empty) */
    const char *p0[] = {"2024-01-01 00:00:00.000,1,ann", "2024-01-01 00:00:01.000,2,bob",
                        "2024-99-01 00:00:01.000,2,bob", "2024-01-01 00:00:02.000,3,\"c\nd\"", "",
                        "2024-01-01 00:00:03.000,4,eve"};
    const char *p1[] = {"2024-01-01 00:00:05.000,5,x", "1,2", "2024-01-01 00:00:06.000,6,y",
                        "2024-01-01 00:00:07.000,7,z\n2024-01-01 00:00:08.000,8,w"};
    TT_OK(append_values(dir, "logins", 0, p0, 6, 100, NULL));
    TT_OK(append_values(dir, "logins", 1, p1, 4, 200, NULL));

    tide_schema *s = schema3(true);
    tide_src_config c;
    tide_src_config_init(&c);
    TT_OK(tide_src_config_set(&c, "connector", "topic", &e));
    TT_OK(tide_src_config_set(&c, "topic", "logins", &e));
    TT_OK(tide_src_config_set(&c, "data", dir, &e));
    TT_OK(tide_src_config_set(&c, "scan.bounded.mode", "latest-offset", &e));
    c.schema = s;
    dead_log dl = {0};
    c.on_dead = collect;
    c.dead_ctx = &dl;
    tide_src *src = NULL;
    TT_OK(tide_src_open(&src, &c, &e));
    TT_ASSERT_EQ_INT(tide_src_partitions(src), 2);
    TT_ASSERT(tide_src_bounded(src));
    /* appended after open: a bounded source must not see these */
    const char *more[] = {"2024-01-01 00:00:09.000,9,late"};
    TT_OK(append_values(dir, "logins", 0, more, 1, 300, NULL));
    TT_OK(append_values(dir, "logins", 1, more, 1, 300, NULL));

    tide_cbatch *b = NULL;
    TT_OK(tide_cbatch_create(&b, s, 2, TIDE_CBATCH_POS, &e));
    /* expected rows per partition: (user, offset) */
    int64_t want_user[2][4] = {{1, 2, 3, 4}, {5, 6}};
    uint64_t want_off[2][4] = {{0, 1, 3, 5}, {0, 2}};
    size_t nwant[2] = {4, 2}, got[2] = {0, 0};
    int rc;
    tide_src_batch info;
    while ((rc = tide_src_next(src, b, &info, &e)) == TIDE_SRC_READY) {
        uint32_t p = info.partition;
        TT_ASSERT(p < 2);
        for (uint32_t r = 0; r < tide_cbatch_rows(b); r++) {
            TT_ASSERT(got[p] < nwant[p]);
            TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 1, r), want_user[p][got[p]]);
            TT_ASSERT_EQ_INT(tide_cbatch_pos(b, r), want_off[p][got[p]]);
            if (p == 0 && got[p] == 2) {
                tide_str nm = tide_cbatch_str(b, 2, r);
                TT_ASSERT(nm.len == 3 && memcmp(nm.ptr, "c\nd", 3) == 0);
            }
            got[p]++;
        }
    }
    TT_ASSERT_MSG(rc == TIDE_SRC_END, "rc %d: %s", rc, e.msg);
    TT_ASSERT_EQ_INT(got[0], 4);
    TT_ASSERT_EQ_INT(got[1], 2);
    TT_ASSERT(tide_src_ended(src, 0) && tide_src_ended(src, 1));
    tide_src_pos pos;
    tide_src_position(src, 0, &pos);
    TT_ASSERT_EQ_INT(pos.offset, 6);
    tide_src_position(src, 1, &pos);
    TT_ASSERT_EQ_INT(pos.offset, 4);
    /* dead letters name topic/partition/offset, in read order per partition */
    TT_ASSERT_EQ_INT(dl.n, 4);
    int seen = 0;
    for (int i = 0; i < dl.n; i++) {
        if (!strcmp(dl.pos[i], "logins/0/2")) {
            seen |= 1;
            TT_ASSERT(strstr(dl.reason[i], "logins/0/2: ") == dl.reason[i]);
            TT_ASSERT(strstr(dl.reason[i], "ts") != NULL);
            TT_ASSERT_EQ_STR(dl.raw[i], p0[2]);
        } else if (!strcmp(dl.pos[i], "logins/0/4")) {
            seen |= 2;
            TT_ASSERT(strstr(dl.reason[i], "empty") != NULL);
        } else if (!strcmp(dl.pos[i], "logins/1/1")) {
            seen |= 4;
            TT_ASSERT_EQ_INT(dl.part[i], 1);
            TT_ASSERT_EQ_STR(dl.raw[i], "1,2");
        } else if (!strcmp(dl.pos[i], "logins/1/3")) {
            seen |= 8;
            TT_ASSERT(strstr(dl.reason[i], "more than one record") != NULL);
        }
    }
    TT_ASSERT_EQ_INT(seen, 15);
    tide_src_free(src);

    /* unbounded: reads everything there is (the 'late' rows too), then
     * "nothing now" with both partitions idle, then sees new records */
    TT_OK(tide_src_config_set(&c, "scan.bounded.mode", "unbounded", &e));
    dl.n = 0;
    TT_OK(tide_src_open(&src, &c, &e));
    TT_ASSERT(!tide_src_bounded(src));
    size_t total = 0;
    while ((rc = tide_src_next(src, b, &info, &e)) == TIDE_SRC_READY)
        total += tide_cbatch_rows(b);
    TT_ASSERT_EQ_INT(rc, TIDE_SRC_NOTHING);
    TT_ASSERT_EQ_INT(total, 8);
    TT_ASSERT(tide_src_idle(src, 0) && tide_src_idle(src, 1));
    TT_ASSERT(!tide_src_ended(src, 0));
    TT_ASSERT_EQ_INT(tide_src_next(src, b, &info, &e), TIDE_SRC_NOTHING);
    const char *newer[] = {"2024-01-01 00:00:10.000,10,new", "2024-01-01 00:00:11.000,11,new"};
    TT_OK(append_values(dir, "logins", 1, newer, 2, 400, NULL));
    TT_ASSERT_EQ_INT(tide_src_next(src, b, &info, &e), TIDE_SRC_READY);
    TT_ASSERT_EQ_INT(info.partition, 1);
    TT_ASSERT_EQ_INT(tide_cbatch_rows(b), 2);
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 1, 0), 10);
    TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 1, 1), 11);
    TT_ASSERT_EQ_INT(tide_cbatch_pos(b, 0), 5);
    TT_ASSERT(!tide_src_idle(src, 1));
    TT_ASSERT(tide_src_idle(src, 0));
    TT_ASSERT_EQ_INT(tide_src_next(src, b, &info, &e), TIDE_SRC_NOTHING);
    TT_ASSERT(tide_src_idle(src, 1));
    tide_src_free(src);
    tide_cbatch_free(b);
    tide_schema_free(s);
}

/* rowtime from the record timestamp; JSON values by name */
static void test_topic_source_rowtime_json(void)
{
    tide_err e = {0};
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/data2", tmp);
    TT_OK(make_topic(dir, "ev", 1));
    const char *vals[] = {"{\"name\": \"ann\", \"user_id\": 7}", "{\"user_id\":\n 8}", "{\"user_id\": \"no\"}",
                          "{\"user_id\": 9, \"ts\": 5}"};
    TT_OK(append_values(dir, "ev", 0, vals, 4, 1704067200000, NULL));
    tide_schema *s = schema3(true);
    tide_src_config c;
    tide_src_config_init(&c);
    c.kind = TIDE_SRC_TOPIC;
    c.datadir = dir;
    c.topic = "ev";
    c.bounded = true;
    c.format = TIDE_FORMAT_JSONL;
    c.rowtime_column = "TS";
    c.schema = s;
    dead_log dl = {0};
    c.on_dead = collect;
    c.dead_ctx = &dl;
    tide_src *src = NULL;
    tide_cbatch *b = NULL;
    TT_OK(tide_src_open(&src, &c, &e));
    TT_OK(tide_cbatch_create(&b, s, 16, 0, &e));
    tide_src_batch info;
    TT_ASSERT_EQ_INT(tide_src_next(src, b, &info, &e), TIDE_SRC_READY);
    TT_ASSERT_EQ_INT(tide_cbatch_rows(b), 3);
    int64_t users[3] = {7, 8, 9};
    int64_t ts[3] = {1704067200000, 1704067200001, 1704067200003};
    for (uint32_t r = 0; r < 3; r++) {
        TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 1, r), users[r]);
        TT_ASSERT_EQ_INT(tide_cbatch_i64(b, 0, r), ts[r]); /* the record's timestamp, not the value's */
    }
    TT_ASSERT(tide_cbatch_is_null(b, 2, 1));
    TT_ASSERT_EQ_INT(dl.n, 1);
    TT_ASSERT_EQ_STR(dl.pos[0], "ev/0/2");
    TT_ASSERT_EQ_INT(tide_src_next(src, b, &info, &e), TIDE_SRC_END);
    tide_src_free(src);
    tide_cbatch_free(b);
    tide_schema_free(s);
}

static void test_topic_source_missing(void)
{
    tide_err e = {0};
    tide_schema *s = schema3(false);
    tide_src_config c;
    tide_src_config_init(&c);
    c.kind = TIDE_SRC_TOPIC;
    c.datadir = tmp;
    c.topic = "nope";
    c.schema = s;
    tide_src *src = NULL;
    int rc = tide_src_open(&src, &c, &e);
    tide_schema_free(s);
    TT_ASSERT_EQ_INT(rc, TIDE_ENOENT);
    TT_ASSERT(strstr(e.msg, "nope") != NULL);
}

/* ---- file sink ---- */

static void test_file_copy(void)
{
    tide_err e = {0};
    char in[1024], out[1024], outtmp[1100];
    snprintf(in, sizeof in, "%s/copy_in.csv", tmp);
    snprintf(out, sizeof out, "%s/copy_out.csv", tmp);
    snprintf(outtmp, sizeof outtmp, "%s.tide-tmp", out);
    enum { N = 3000 };
    mrow *rows = malloc(N * sizeof *rows);
    TT_ASSERT(rows);
    gen_rows(rows, N, 42);
    tide_buf text = {0};
    tide_buf_printf(&text, "ts,user_id,name\n");
    for (size_t i = 0; i < N; i++)
        csv_line(&rows[i], &text);
    free(rows);
    TT_ASSERT(write_file(in, text.data, text.len) == 0);

    tide_schema *s = schema3(true);
    tide_src_config c;
    tide_src_config_init(&c);
    c.path = in;
    c.header = true;
    c.schema = s;
    c.read_size = 4096;
    tide_sink_config kc;
    tide_sink_config_init(&kc);
    kc.kind = TIDE_SINK_FILE;
    kc.path = out;
    kc.header = true;
    kc.schema = s;
    kc.flush_bytes = 1000;
    tide_src *src = NULL;
    tide_sink *k = NULL;
    tide_cbatch *b = NULL;
    TT_OK(tide_src_open(&src, &c, &e));
    TT_OK(tide_sink_open(&k, &kc, &e));
    TT_OK(tide_cbatch_create(&b, s, 256, 0, &e));
    int rc;
    tide_src_batch info;
    while ((rc = tide_src_next(src, b, &info, &e)) == TIDE_SRC_READY)
        TT_OK(tide_sink_write(k, b, &e));
    TT_ASSERT_EQ_INT(rc, TIDE_SRC_END);
    TT_ASSERT_EQ_INT(tide_sink_rows(k), N);
    TT_ASSERT(access(out, F_OK) != 0);   /* not there before close */
    TT_ASSERT(access(outtmp, F_OK) == 0); /* written under the temp name */
    TT_OK(tide_sink_close(k, &e));
    TT_ASSERT(access(outtmp, F_OK) != 0);
    char *got = NULL;
    size_t glen = 0;
    TT_OK(tide_io_read_all(out, &got, &glen, &e));
    TT_ASSERT_EQ_INT(glen, text.len);
    TT_ASSERT(memcmp(got, text.data, glen) == 0);
    free(got);
    tide_src_free(src);
    tide_cbatch_free(b);
    tide_schema_free(s);
    tide_buf_free(&text);

    /* abort leaves nothing behind */
    char out2[1024];
    snprintf(out2, sizeof out2, "%s/aborted.csv", tmp);
    kc.path = out2;
    s = schema3(false);
    kc.schema = s;
    TT_OK(tide_sink_open(&k, &kc, &e));
    tide_sink_abort(k);
    tide_schema_free(s);
    TT_ASSERT(access(out2, F_OK) != 0);
    snprintf(outtmp, sizeof outtmp, "%s.tide-tmp", out2);
    TT_ASSERT(access(outtmp, F_OK) != 0);
}

/* Fail the Nth I/O call, for every N the copy makes: the copy reports an
 * error, and the target is either absent or complete (never partial), and no
 * temp file is left behind. */
static void test_file_copy_faults(void)
{
    tide_err e = {0};
    char in[1024], out[1024], outtmp[1100];
    snprintf(in, sizeof in, "%s/f_in.csv", tmp);
    snprintf(out, sizeof out, "%s/f_out.csv", tmp);
    snprintf(outtmp, sizeof outtmp, "%s.tide-tmp", out);
    mrow rows[200];
    gen_rows(rows, 200, 5);
    tide_buf text = {0};
    for (size_t i = 0; i < 200; i++)
        csv_line(&rows[i], &text);
    TT_ASSERT(write_file(in, text.data, text.len) == 0);
    tide_schema *s = schema3(false);
    tide_cbatch *b = NULL;
    TT_OK(tide_cbatch_create(&b, s, 32, 0, &e));
    bool clean_run = false;
    long n;
    for (n = 1; n < 500 && !clean_run; n++) {
        unlink(out);
        tide_io_faults f = {.fail_at = n, .fail_errno = (n % 2) ? EIO : ENOSPC};
        tide_io_faults_set(&f);
        tide_err fe = {0};
        tide_src_config c;
        tide_src_config_init(&c);
        c.path = in;
        c.schema = s;
        c.read_size = 512;
        tide_sink_config kc;
        tide_sink_config_init(&kc);
        kc.kind = TIDE_SINK_FILE;
        kc.path = out;
        kc.schema = s;
        kc.flush_bytes = 700;
        tide_src *src = NULL;
        tide_sink *k = NULL;
        int rc = tide_src_open(&src, &c, &fe);
        if (rc == 0)
            rc = tide_sink_open(&k, &kc, &fe);
        tide_src_batch info;
        while (rc == 0 && (rc = tide_src_next(src, b, &info, &fe)) == TIDE_SRC_READY)
            rc = tide_sink_write(k, b, &fe);
        if (rc == TIDE_SRC_END) {
            tide_sink *kk = k;
            k = NULL;
            rc = tide_sink_close(kk, &fe);
        }
        tide_sink_abort(k);
        tide_src_free(src);
        long calls = tide_io_calls();
        tide_io_faults_set(NULL);
        TT_ASSERT_MSG(access(outtmp, F_OK) != 0, "fault at %ld: temp file left", n);
        if (rc == 0) {
            TT_ASSERT_MSG(calls < n, "fault at %ld not reported", n);
            clean_run = true;
        } else {
            TT_ASSERT_MSG(rc < 0 && fe.code == rc && fe.msg[0], "fault at %ld: rc %d", n, rc);
        }
        if (access(out, F_OK) == 0) {
            char *got = NULL;
            size_t glen = 0;
            TT_OK(tide_io_read_all(out, &got, &glen, &e));
            bool same = glen == text.len && memcmp(got, text.data, glen) == 0;
            free(got);
            TT_ASSERT_MSG(same, "fault at %ld: partial target", n);
        } else {
            TT_ASSERT_MSG(rc != 0, "no target after a clean run");
        }
    }
    TT_ASSERT(clean_run);
    TT_ASSERT(n > 10); /* open, reads, writes, fsync, rename were all failed in turn */
    fprintf(stderr, "  (%ld I/O fault points)\n", n - 2);
    tide_cbatch_free(b);
    tide_schema_free(s);
    tide_buf_free(&text);
}

/* A CSV file sink with a header and no rows still writes the header. */
static void test_file_sink_header_only(void)
{
    tide_err e = {0};
    char out[1024];
    snprintf(out, sizeof out, "%s/empty.csv", tmp);
    tide_schema *s = schema3(false);
    tide_sink_config kc;
    tide_sink_config_init(&kc);
    kc.kind = TIDE_SINK_FILE;
    kc.path = out;
    kc.header = true;
    kc.schema = s;
    tide_sink *k = NULL;
    TT_OK(tide_sink_open(&k, &kc, &e));
    TT_OK(tide_sink_close(k, &e));
    tide_schema_free(s);
    char *got = NULL;
    size_t glen = 0;
    TT_OK(tide_io_read_all(out, &got, &glen, &e));
    bool ok = glen == 16 && memcmp(got, "ts,user_id,name\n", 16) == 0;
    free(got);
    TT_ASSERT(ok);
}

static void test_stdout_sink_jsonl(void)
{
    tide_err e = {0};
    int fds[2];
    TT_ASSERT(pipe(fds) == 0);
    tide_schema *s = schema3(false);
    tide_cbatch *b = NULL;
    TT_OK(tide_cbatch_create(&b, s, 4, 0, &e));
    uint32_t r;
    TT_OK(tide_cbatch_add_row(b, &r));
    tide_cbatch_set_i64(b, 0, r, 0);
    tide_cbatch_set_i64(b, 1, r, 12);
    TT_OK(tide_cbatch_set_str(b, 2, r, "q\"", 2, &e));
    TT_OK(tide_cbatch_add_row(b, &r));
    tide_cbatch_set_i64(b, 1, r, -3);
    tide_sink_config kc;
    tide_sink_config_init(&kc);
    kc.fd = fds[1];
    kc.format = TIDE_FORMAT_JSONL;
    kc.schema = s;
    tide_sink *k = NULL;
    TT_OK(tide_sink_open(&k, &kc, &e));
    TT_OK(tide_sink_write(k, b, &e));
    TT_OK(tide_sink_close(k, &e));
    close(fds[1]);
    char buf[512];
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    TT_ASSERT(n > 0);
    buf[n] = 0;
    TT_ASSERT_EQ_STR(buf, "{\"ts\":\"1970-01-01 00:00:00.000\",\"user_id\":12,\"name\":\"q\\\"\"}\n"
                          "{\"ts\":null,\"user_id\":-3,\"name\":null}\n");
    tide_cbatch_free(b);
    tide_schema_free(s);
}

/* ---- topic sink -> topic source ---- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_topic_round_trip(void)
{
    tide_err e = {0};
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/data3", tmp);
    TT_OK(make_topic(dir, "out", 3));
    enum { N = 700 };
    mrow *rows = malloc(N * sizeof *rows);
    TT_ASSERT(rows);
    gen_rows(rows, N, 99);
    rows[5].name[0] = 0; /* an empty name (written as "" in CSV) */
    tide_schema *s = schema3(true);
    tide_cbatch *b = NULL;
    TT_OK(tide_cbatch_create(&b, s, 100, 0, &e));
    tide_sink_config kc;
    tide_sink_config_init(&kc);
    TT_OK(tide_sink_config_set(&kc, "connector", "topic", &e));
    TT_OK(tide_sink_config_set(&kc, "data", dir, &e));
    TT_OK(tide_sink_config_set(&kc, "topic", "out", &e));
    TT_OK(tide_sink_config_set(&kc, "key.column", "user_id", &e));
    TT_ASSERT(tide_sink_config_set(&kc, "format", "xml", &e) == TIDE_EINVAL);
    tide_err_clear(&e);
    kc.schema = s;
    tide_sink *k = NULL;
    TT_OK(tide_sink_open(&k, &kc, &e));
    for (size_t i = 0; i < N; i++) {
        uint32_t r;
        TT_OK(tide_cbatch_add_row(b, &r));
        tide_cbatch_set_i64(b, 0, r, rows[i].ts);
        tide_cbatch_set_i64(b, 1, r, rows[i].user);
        TT_OK(tide_cbatch_set_str(b, 2, r, rows[i].name, strlen(rows[i].name), &e));
        if (tide_cbatch_full(b) || i == N - 1) {
            TT_OK(tide_sink_write(k, b, &e));
            tide_cbatch_reset(b);
        }
    }
    TT_OK(tide_sink_close(k, &e));

    tide_src_config c;
    tide_src_config_init(&c);
    c.kind = TIDE_SRC_TOPIC;
    c.datadir = dir;
    c.topic = "out";
    c.bounded = true;
    c.schema = s;
    tide_src *src = NULL;
    TT_OK(tide_src_open(&src, &c, &e));
    char **want = malloc(N * sizeof *want), **got = malloc(N * sizeof *got);
    TT_ASSERT(want && got);
    uint32_t user_part[1001];
    tide_buf *seq_want = calloc(1001, sizeof *seq_want), *seq_got = calloc(1001, sizeof *seq_got);
    TT_ASSERT(seq_want && seq_got);
    for (size_t i = 0; i < N; i++)
        tide_buf_printf(&seq_want[rows[i].user], "%" PRId64 ",", rows[i].ts);
    for (int i = 0; i <= 1000; i++)
        user_part[i] = UINT32_MAX;
    size_t n = 0;
    int rc;
    tide_src_batch info;
    bool keyed_ok = true;
    while ((rc = tide_src_next(src, b, &info, &e)) == TIDE_SRC_READY) {
        for (uint32_t r = 0; r < tide_cbatch_rows(b) && n < N; r++, n++) {
            got[n] = malloc(128);
            brow_key(b, r, got[n], 128);
            int64_t u = tide_cbatch_i64(b, 1, r);
            if (user_part[u] == UINT32_MAX)
                user_part[u] = info.partition;
            else if (user_part[u] != info.partition)
                keyed_ok = false;
            tide_buf_printf(&seq_got[u], "%" PRId64 ",", tide_cbatch_i64(b, 0, r));
        }
    }
    TT_ASSERT_MSG(rc == TIDE_SRC_END, "%d %s", rc, e.msg);
    TT_ASSERT_EQ_INT(n, N);
    TT_ASSERT(keyed_ok); /* one key, one partition */
    bool order_ok = true; /* per key, the rows keep their order */
    for (int u = 0; u <= 1000; u++) {
        if (seq_want[u].len != seq_got[u].len ||
            (seq_want[u].len && memcmp(seq_want[u].data, seq_got[u].data, seq_want[u].len)))
            order_ok = false;
        tide_buf_free(&seq_want[u]);
        tide_buf_free(&seq_got[u]);
    }
    free(seq_want);
    free(seq_got);
    TT_ASSERT(order_ok);
    /* the raw records: key = the user id in decimal, timestamp = the ts column */
    size_t nrec = 0;
    bool rec_ok = true;
    for (uint32_t p = 0; p < 3; p++) {
        tide_log_reader *lr = NULL;
        tide_record rec;
        TT_OK(tide_log_reader_open(&lr, dir, "out", p, &e));
        while (tide_log_reader_next(lr, &rec, &e) == 0) {
            char v[256], kb[32];
            snprintf(v, sizeof v, "%.*s", (int)rec.value_len, (const char *)rec.value);
            snprintf(kb, sizeof kb, "%.*s", (int)rec.key_len, rec.key ? (const char *)rec.key : "");
            int64_t ts;
            tide_ts_error te;
            char *comma = strchr(v, ',');
            if (!comma || tide_ts_parse(v, (size_t)(comma - v), &ts, &te) || ts != rec.timestamp ||
                strtoll(comma + 1, NULL, 10) != strtoll(kb, NULL, 10) || !rec.key)
                rec_ok = false;
            nrec++;
        }
        tide_log_reader_close(lr);
    }
    TT_ASSERT(rec_ok);
    TT_ASSERT_EQ_INT(nrec, N);
    for (size_t i = 0; i < N; i++) {
        want[i] = malloc(128);
        mrow_key(&rows[i], want[i], 128);
    }
    qsort(want, N, sizeof *want, cmp_str);
    qsort(got, N, sizeof *got, cmp_str);
    bool same = true;
    for (size_t i = 0; i < N; i++) {
        if (strcmp(want[i], got[i]))
            same = false;
        free(want[i]);
        free(got[i]);
    }
    free(want);
    free(got);
    free(rows);
    tide_src_free(src);
    tide_cbatch_free(b);
    tide_schema_free(s);
    TT_ASSERT(same);
}

/* ---- generator ---- */

static void read_all_gen(const tide_src_config *c, uint32_t cap, tide_buf *out, int *rc_out)
{
    tide_err e = {0};
    tide_src *src = NULL;
    tide_cbatch *b = NULL;
    *rc_out = -100;
    if (tide_src_open(&src, c, &e) ||
        tide_cbatch_create(&b, tide_src_schema(src), cap, TIDE_CBATCH_POS, &e)) {
        tide_src_free(src);
        return;
    }
    int rc;
    tide_src_batch info;
    uint64_t seq = 0;
    while ((rc = tide_src_next(src, b, &info, &e)) == TIDE_SRC_READY) {
        for (uint32_t r = 0; r < tide_cbatch_rows(b); r++) {
            tide_str cn = tide_cbatch_str(b, 2, r), dv = tide_cbatch_str(b, 3, r);
            if (tide_cbatch_pos(b, r) != seq++)
                rc = -99;
            tide_buf_printf(out, "%" PRId64 ",%" PRId64 ",%.*s,%.*s\n", tide_cbatch_i64(b, 0, r),
                            tide_cbatch_i64(b, 1, r), (int)cn.len, cn.ptr, (int)dv.len, dv.ptr);
        }
        if (rc < 0)
            break;
    }
    *rc_out = rc;
    tide_cbatch_free(b);
    tide_src_free(src);
}

static void test_gen_source(void)
{
    tide_err e = {0};
    tide_src_config c;
    tide_src_config_init(&c);
    TT_OK(tide_src_config_set(&c, "connector", "logins", &e));
    TT_OK(tide_src_config_set(&c, "seed", "11", &e));
    TT_OK(tide_src_config_set(&c, "events", "5000", &e));
    TT_OK(tide_src_config_set(&c, "users", "300", &e));
    TT_OK(tide_src_config_set(&c, "span", "600000", &e));
    TT_OK(tide_src_config_set(&c, "late.share", "0.2", &e));
    TT_OK(tide_src_config_set(&c, "max.delay", "2000", &e));
    tide_buf a = {0}, b = {0}, d = {0};
    int rc;
    read_all_gen(&c, 1024, &a, &rc);
    TT_ASSERT_EQ_INT(rc, TIDE_SRC_END);
    read_all_gen(&c, 37, &b, &rc);
    TT_ASSERT_EQ_INT(rc, TIDE_SRC_END);
    TT_ASSERT(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    /* the declared properties: 5000 events, users in 1..300, times in the span,
     * disorder bounded by max.delay */
    size_t lines = 0;
    int64_t maxts = INT64_MIN;
    bool ok = true;
    for (char *p = (char *)a.data; p < (char *)a.data + a.len;) {
        char *nl = memchr(p, '\n', (size_t)((char *)a.data + a.len - p));
        long long ts, user;
        if (!nl || sscanf(p, "%lld,%lld,", &ts, &user) != 2)
            ok = false;
        else if (user < 1 || user > 300 || ts < c.gen.start_ms || ts >= c.gen.start_ms + 600000)
            ok = false;
        else if (maxts != INT64_MIN && ts < maxts - 2000)
            ok = false;
        if (!ok) {
            fprintf(stderr, "  bad event %zu: %.40s\n", lines, p);
            break;
        }
        if (ts > maxts)
            maxts = ts;
        lines++;
        p = nl ? nl + 1 : (char *)a.data + a.len;
    }
    TT_ASSERT(ok);
    TT_ASSERT_EQ_INT(lines, 5000);
    TT_OK(tide_src_config_set(&c, "seed", "12", &e));
    read_all_gen(&c, 1024, &d, &rc);
    TT_ASSERT(!(a.len == d.len && memcmp(a.data, d.data, a.len) == 0));
    tide_buf_free(&a);
    tide_buf_free(&b);
    tide_buf_free(&d);
}

static void test_gen_source_rate(void)
{
    tide_err e = {0};
    tide_clock_manual clk;
    tide_clock_manual_init(&clk, 1000000);
    tide_src_config c;
    tide_src_config_init(&c);
    c.kind = TIDE_SRC_GEN_LOGINS;
    c.gen.events = 50;
    c.gen.rate = 1000; /* one per ms */
    c.clock = &clk.clock;
    tide_src *src = NULL;
    tide_cbatch *b = NULL;
    TT_OK(tide_src_open(&src, &c, &e));
    TT_OK(tide_cbatch_create(&b, tide_src_schema(src), 64, 0, &e));
    tide_src_batch info;
    size_t total = 0;
    int rc = tide_src_next(src, b, &info, &e);
    TT_ASSERT(rc == TIDE_SRC_NOTHING || rc == TIDE_SRC_READY);
    if (rc == TIDE_SRC_READY)
        total += tide_cbatch_rows(b);
    TT_ASSERT(total <= 1);
    TT_ASSERT_EQ_INT(tide_src_next(src, b, &info, &e), TIDE_SRC_NOTHING);
    for (int step = 1; step <= 100 && total < 50; step++) {
        clk.now_ms += 10;
        rc = tide_src_next(src, b, &info, &e);
        if (rc == TIDE_SRC_READY)
            total += tide_cbatch_rows(b);
        TT_ASSERT_MSG(total <= (size_t)step * 10 + 1, "step %d total %zu", step, total);
    }
    TT_ASSERT_EQ_INT(total, 50);
    TT_ASSERT_EQ_INT(tide_src_next(src, b, &info, &e), TIDE_SRC_END);
    tide_src_pos pos;
    tide_src_position(src, 0, &pos);
    TT_ASSERT_EQ_INT(pos.offset, 50);
    tide_cbatch_free(b);
    tide_src_free(src);
}

/* ---- seeking (checkpoints): read k batches, take the positions, open
 * anew, seek, read the rest: the rows and dead letters of one
 * uninterrupted read ---- */

/* What a read delivered: rows (partition, position, values) and dead
 * letters (position, reason, raw), each in order. */
typedef struct seek_log {
    tide_buf rows, dead;
    size_t batches;
} seek_log;

static void seek_dead(void *ctx, const tide_src_dead *dl)
{
    seek_log *l = ctx;
    tide_buf_printf(&l->dead, "%u %s %s %zu:", dl->partition, dl->position, dl->reason, dl->raw_len);
    tide_buf_append(&l->dead, dl->raw, dl->raw_len);
    tide_buf_putc(&l->dead, '\n');
}

static void seek_row(seek_log *l, uint32_t part, const tide_cbatch *b, uint32_t r)
{
    tide_buf_printf(&l->rows, "%u %" PRIu64, part, tide_cbatch_pos(b, r));
    for (uint32_t c = 0; c < tide_cbatch_ncols(b); c++) {
        if (tide_cbatch_is_null(b, c, r)) {
            tide_buf_printf(&l->rows, "|N");
        } else if (tide_cbatch_type(b, c) == TIDE_TYPE_STRING) {
            tide_str v = tide_cbatch_str(b, c, r);
            tide_buf_printf(&l->rows, "|%.*s", (int)v.len, v.ptr);
        } else {
            tide_buf_printf(&l->rows, "|%" PRId64, tide_cbatch_i64(b, c, r));
        }
    }
    tide_buf_putc(&l->rows, '\n');
}

/* Read up to `batches` batches (SIZE_MAX: to the end) of c's source into
 * l, after seeking to pos[0..n) when given; *out_pos (when given) gets the
 * positions after them.  0, or the failing call's code. */
static int seek_read(const tide_src_config *c0, uint32_t cap, const tide_src_pos *pos, uint32_t n, size_t batches,
                     seek_log *l, tide_src_pos *out_pos, uint32_t *nparts)
{
    tide_err e = {0};
    tide_src_config c = *c0;
    c.on_dead = seek_dead;
    c.dead_ctx = l;
    tide_src *src = NULL;
    tide_cbatch *b = NULL;
    int rc = tide_src_open(&src, &c, &e);
    if (!rc)
        rc = tide_cbatch_create(&b, tide_src_schema(src), cap, TIDE_CBATCH_POS, &e);
    for (uint32_t p = 0; p < n && !rc; p++)
        rc = tide_src_seek(src, p, &pos[p], &e);
    size_t k = 0;
    while (!rc && k < batches) {
        tide_src_batch info;
        rc = tide_src_next(src, b, &info, &e);
        if (rc == TIDE_SRC_READY) {
            for (uint32_t r = 0; r < tide_cbatch_rows(b); r++)
                seek_row(l, info.partition, b, r);
            l->batches++;
            k++;
            rc = 0;
        } else if (rc == TIDE_SRC_END) {
            rc = 0;
            break;
        } else if (rc == TIDE_SRC_NOTHING) {
            rc = TIDE_EFAILED; /* bounded sources only here */
        }
    }
    if (!rc && out_pos) {
        *nparts = tide_src_partitions(src);
        for (uint32_t p = 0; p < *nparts; p++)
            tide_src_position(src, p, &out_pos[p]);
    }
    if (rc)
        fprintf(stderr, "  seek_read: %d %s\n", rc, e.msg);
    tide_cbatch_free(b);
    tide_src_free(src);
    return rc;
}

static void seek_log_free(seek_log *l)
{
    tide_buf_free(&l->rows);
    tide_buf_free(&l->dead);
}

static bool same_buf(const tide_buf *a, const tide_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* For every cut k (0 .. all batches): `a` reads k batches, `b` seeks to
 * where a stood and reads the rest; together they must deliver what one
 * uninterrupted read of `a` does.  Returns the number of cuts checked, or
 * -1 (after printing the failing cut). */
static int check_cuts(const tide_src_config *a, const tide_src_config *b, uint32_t cap)
{
    seek_log all = {0};
    if (seek_read(a, cap, NULL, 0, SIZE_MAX, &all, NULL, NULL) != 0)
        return -1;
    int cuts = 0;
    for (size_t k = 0; k <= all.batches; k++, cuts++) {
        seek_log two = {0};
        tide_src_pos pos[8];
        uint32_t n = 0;
        int rc = seek_read(a, cap, NULL, 0, k, &two, pos, &n);
        if (!rc)
            rc = seek_read(b, cap, pos, n, SIZE_MAX, &two, NULL, NULL);
        bool ok = !rc && same_buf(&all.rows, &two.rows) && same_buf(&all.dead, &two.dead);
        if (!ok)
            fprintf(stderr, "  cut after %zu of %zu batches: rc %d, rows %zu vs %zu bytes, dead %zu vs %zu bytes\n",
                    k, all.batches, rc, all.rows.len, two.rows.len, all.dead.len, two.dead.len);
        seek_log_free(&two);
        if (!ok) {
            seek_log_free(&all);
            return -1;
        }
    }
    seek_log_free(&all);
    return cuts;
}

/* A CSV file with a header and bad records (and a JSON Lines file), read
 * by one thread or several (parse_threads; positions cross over). */
static void test_file_seek(void)
{
    tide_err e = {0};
    char path[1024], jpath[1024];
    snprintf(path, sizeof path, "%s/seek.csv", tmp);
    snprintf(jpath, sizeof jpath, "%s/seek.jsonl", tmp);
    mrow rows[60];
    gen_rows(rows, 60, 99);
    tide_buf text = {0}, json = {0};
    tide_buf_printf(&text, "\xEF\xBB\xBFts,user_id,name\n");
    for (int i = 0; i < 60; i++) {
        if (i % 7 == 3)
            tide_buf_printf(&text, "2024-13-01 00:00:00.000,5,zed\n");
        if (i % 11 == 5)
            tide_buf_printf(&text, "\n2024-01-01 00:00:00.000,1x,zed\n");
        csv_line(&rows[i], &text);
        char ts[TIDE_TS_FORMAT_MAX];
        tide_ts_format(rows[i].ts, ts);
        if (i % 9 == 2)
            tide_buf_printf(&json, "{\"ts\": \"%s\", \"user_id\": \"x\"}\n", ts);
        tide_buf_printf(&json, "{\"ts\": \"%s\", \"user_id\": %" PRId64 ", \"name\": \"n%d\"}\n", ts, rows[i].user, i);
    }
    tide_buf_printf(&text, "2024-01-01 00:00:00.000,bad,tail\n"); /* dead letters after the last row */
    TT_ASSERT(write_file(path, text.data, text.len) == 0);
    TT_ASSERT(write_file(jpath, json.data, json.len) == 0);
    tide_schema *s = schema3(true);
    tide_src_config seq, par;
    tide_src_config_init(&seq);
    seq.kind = TIDE_SRC_FILE;
    seq.path = path;
    seq.header = true;
    seq.schema = s;
    seq.read_size = 64;
    par = seq;
    par.parse_threads = 3;
    for (uint32_t cap = 1; cap <= 16; cap += 5) {
        for (size_t chunk = 1; chunk < text.len + 100; chunk = chunk * 3 + 7) {
            par.chunk_size = chunk;
            TT_ASSERT_MSG(check_cuts(&seq, &seq, cap) > 0, "sequential, %u rows a batch", cap);
            TT_ASSERT_MSG(check_cuts(&par, &par, cap) > 0, "threads, chunk %zu, %u rows a batch", chunk, cap);
            TT_ASSERT_MSG(check_cuts(&seq, &par, cap) > 0, "sequential then threads, chunk %zu", chunk);
            TT_ASSERT_MSG(check_cuts(&par, &seq, cap) > 0, "threads then sequential, chunk %zu", chunk);
        }
    }
    tide_src_config js = seq;
    js.path = jpath;
    js.format = TIDE_FORMAT_JSONL;
    js.header = false;
    tide_src_config jp = js;
    jp.parse_threads = 2;
    jp.chunk_size = 200;
    TT_ASSERT(check_cuts(&js, &jp, 4) > 0);
    TT_ASSERT(check_cuts(&jp, &js, 3) > 0);

    /* a seek comes first, stays in the file, and a failed one sticks */
    tide_src *src = NULL;
    tide_cbatch *b = NULL;
    TT_OK(tide_src_open(&src, &seq, &e));
    TT_OK(tide_cbatch_create(&b, s, 4, TIDE_CBATCH_POS, &e));
    tide_src_pos start = {0, 1, false}, past = {text.len + 1, 9, false};
    TT_OK(tide_src_seek(src, 0, &start, &e)); /* where it is: nothing to do */
    TT_ASSERT_EQ_INT(tide_src_seek(src, 1, &start, &e), TIDE_EINVAL);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_src_seek(src, 0, &past, &e), TIDE_EINVAL);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_src_next(src, b, &(tide_src_batch){0}, &e), TIDE_EINVAL);
    tide_src_free(src);
    TT_OK(tide_src_open(&src, &seq, &e));
    TT_ASSERT_EQ_INT(tide_src_next(src, b, &(tide_src_batch){0}, &e), TIDE_SRC_READY);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_src_seek(src, 0, &start, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "after reading") != NULL);
    tide_src_free(src);
    TT_OK(tide_src_open(&src, &par, &e));
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_src_seek(src, 0, &past, &e), TIDE_EINVAL);
    tide_src_free(src);
    tide_cbatch_free(b);
    tide_schema_free(s);
    tide_buf_free(&text);
    tide_buf_free(&json);
}

/* stdin cannot go back; where it stands is fine */
static void test_stdin_seek(void)
{
    tide_err e = {0};
    int fds[2];
    TT_ASSERT(pipe(fds) == 0);
    tide_schema *s = schema3(true);
    tide_src_config c;
    tide_src_config_init(&c);
    c.kind = TIDE_SRC_STDIN;
    c.fd = fds[0];
    c.schema = s;
    tide_src *src = NULL;
    TT_OK(tide_src_open(&src, &c, &e));
    tide_src_pos start = {0, 1, false}, moved = {120, 4, false};
    TT_OK(tide_src_seek(src, 0, &start, &e));
    TT_ASSERT_EQ_INT(tide_src_seek(src, 0, &moved, &e), TIDE_EUNSUPPORTED);
    TT_ASSERT(strstr(e.msg, "stdin") != NULL);
    tide_src_free(src);
    tide_schema_free(s);
    close(fds[0]);
    close(fds[1]);
}

/* a topic of 3 partitions with bad records: per-partition offsets and the
 * round robin's turn */
static void test_topic_seek(void)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/data_seek", tmp);
    TT_OK(make_topic(dir, "t", 3));
    for (uint32_t p = 0; p < 3; p++) {
        char vals[40][64];
        const char *v[40];
        uint32_t n = 10 + 9 * p;
        for (uint32_t i = 0; i < n; i++) {
            if ((i + p) % 6 == 4)
                snprintf(vals[i], sizeof vals[i], "2024-01-01 00:00:%02u.000,x%u,bad", i, p);
            else
                snprintf(vals[i], sizeof vals[i], "2024-01-01 00:00:%02u.000,%u,p%u", i, 100 * p + i, p);
            v[i] = vals[i];
        }
        TT_OK(append_values(dir, "t", p, v, n, 1000, NULL));
    }
    tide_schema *s = schema3(true);
    tide_src_config c;
    tide_src_config_init(&c);
    c.kind = TIDE_SRC_TOPIC;
    c.topic = "t";
    c.datadir = dir;
    c.bounded = true;
    c.schema = s;
    TT_ASSERT(check_cuts(&c, &c, 4) > 3);
    TT_ASSERT(check_cuts(&c, &c, 1) > 10);
    tide_schema_free(s);
}

/* A job version's start and end (sql/physical.h topic_start, topic_end):
 * scan.startup.mode = timestamp starts each partition at its first record
 * with a timestamp >= the given one; end_offsets bound a bounded scan
 * there (beyond the end taken at open: that end). */
static void test_topic_start_time_and_end(void)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/data_start_end", tmp);
    TT_OK(make_topic(dir, "t", 2));
    for (uint32_t p = 0; p < 2; p++) {
        char vals[20][64];
        const char *v[20];
        for (uint32_t i = 0; i < 20; i++) {
            snprintf(vals[i], sizeof vals[i], "2024-01-01 00:00:%02u.000,%u,p%u", i, 100 * p + i, p);
            v[i] = vals[i];
        }
        TT_OK(append_values(dir, "t", p, v, 20, 1000 + 10 * p, NULL)); /* timestamps 1000+10p+i */
    }
    tide_schema *s = schema3(true);
    tide_err e = {0};
    for (int mode = 0; mode < 2; mode++) {
        tide_src_config c;
        tide_src_config_init(&c);
        c.kind = TIDE_SRC_TOPIC;
        c.topic = "t";
        c.datadir = dir;
        c.bounded = true;
        c.schema = s;
        uint64_t ends[2] = {15, 100};
        if (mode == 0) {
            TT_OK(tide_src_config_set(&c, "scan.startup.mode", "timestamp", &e));
            TT_OK(tide_src_config_set(&c, "scan.startup.timestamp-millis", "1015", &e));
        } else {
            c.end_offsets = ends;
            c.n_end_offsets = 2;
        }
        tide_src *src = NULL;
        tide_cbatch *b = NULL;
        TT_OK(tide_src_open(&src, &c, &e));
        TT_OK(tide_cbatch_create(&b, tide_src_schema(src), 64, TIDE_CBATCH_POS, &e));
        uint64_t first[2] = {UINT64_MAX, UINT64_MAX}, count[2] = {0, 0}, last[2] = {0, 0};
        for (;;) {
            tide_src_batch info;
            int rc = tide_src_next(src, b, &info, &e);
            if (rc == TIDE_SRC_END)
                break;
            TT_ASSERT_EQ_INT(rc, TIDE_SRC_READY);
            for (uint32_t i = 0; i < tide_cbatch_rows(b); i++) {
                uint64_t off = tide_cbatch_pos(b, i);
                if (first[info.partition] == UINT64_MAX)
                    first[info.partition] = off;
                last[info.partition] = off;
                count[info.partition]++;
            }
        }
        if (mode == 0) { /* partition 0: ts 1000+i >= 1015 from offset 15; partition 1: 1010+i from 5 */
            TT_ASSERT_EQ_INT(first[0], 15);
            TT_ASSERT_EQ_INT(count[0], 5);
            TT_ASSERT_EQ_INT(first[1], 5);
            TT_ASSERT_EQ_INT(count[1], 15);
        } else { /* ends at 15 in partition 0; 100 is past the end of partition 1: its end */
            TT_ASSERT_EQ_INT(first[0], 0);
            TT_ASSERT_EQ_INT(last[0], 14);
            TT_ASSERT_EQ_INT(count[1], 20);
        }
        tide_src_free(src);
        tide_cbatch_free(b);
    }
    tide_src_config c;
    tide_src_config_init(&c);
    TT_ASSERT_EQ_INT(tide_src_config_set(&c, "scan.startup.timestamp-millis", "soon", &e), TIDE_EINVAL);
    tide_schema_free(s);
}

/* the generator skips events: the same rows from a seek (also when
 * rate-limited: the rate counts from the seek) */
static void test_gen_seek(void)
{
    tide_err e = {0};
    tide_src_config c;
    tide_src_config_init(&c);
    c.kind = TIDE_SRC_GEN_LOGINS;
    c.gen.events = 3000;
    c.gen.users = 100;
    c.gen.late_share = 0.3;
    c.gen.max_delay_ms = 60000;
    TT_ASSERT(check_cuts(&c, &c, 400) > 5);
    tide_clock_manual clk;
    tide_clock_manual_init(&clk, 5000);
    tide_src_config r = c;
    r.gen.rate = 1000;
    r.clock = &clk.clock;
    tide_src *src = NULL;
    tide_cbatch *b = NULL;
    TT_OK(tide_src_open(&src, &r, &e));
    TT_OK(tide_cbatch_create(&b, tide_src_schema(src), 64, TIDE_CBATCH_POS, &e));
    tide_src_pos at = {2990, 0, false}, past = {3001, 0, false};
    TT_ASSERT_EQ_INT(tide_src_seek(src, 0, &past, &e), TIDE_EINVAL);
    tide_src_free(src);
    TT_OK(tide_src_open(&src, &r, &e));
    TT_OK(tide_src_seek(src, 0, &at, &e));
    tide_src_batch info;
    TT_ASSERT_EQ_INT(tide_src_next(src, b, &info, &e), TIDE_SRC_NOTHING); /* the rate starts now */
    clk.now_ms += 4;
    TT_ASSERT_EQ_INT(tide_src_next(src, b, &info, &e), TIDE_SRC_READY);
    TT_ASSERT_EQ_INT(tide_cbatch_rows(b), 4);
    TT_ASSERT_EQ_INT(tide_cbatch_pos(b, 0), 2990);
    clk.now_ms += 100;
    TT_ASSERT_EQ_INT(tide_src_next(src, b, &info, &e), TIDE_SRC_READY);
    TT_ASSERT_EQ_INT(tide_cbatch_rows(b), 6);
    TT_ASSERT_EQ_INT(tide_src_next(src, b, &info, &e), TIDE_SRC_END);
    tide_cbatch_free(b);
    tide_src_free(src);
}

/* ---- dead-letter sink ---- */

static void test_dead_letter_sinks(void)
{
    tide_err e = {0};
    char in[4200], dead[4200], dir[4200];
    snprintf(in, sizeof in, "%s/dl_in.csv", tmp);
    snprintf(dead, sizeof dead, "%s/dead.jsonl", tmp);
    snprintf(dir, sizeof dir, "%s/data4", tmp);
    const char *text = "2024-01-01 00:00:00.000,1,a\n2024-01-01 00:00:00.000,x,b\xff\n"
                       "2024-01-01 00:00:00.000,3,c\n";
    TT_ASSERT(write_file(in, text, strlen(text)) == 0);
    TT_OK(make_topic(dir, "dlq", 1));
    tide_schema *s = schema3(false);
    for (int kind = 0; kind < 2; kind++) {
        tide_sink_dead_config dc = {0};
        if (kind == 0)
            dc.path = dead;
        else {
            dc.datadir = dir;
            dc.topic = "dlq";
        }
        tide_sink_dead *ds = NULL;
        TT_OK(tide_sink_dead_open(&ds, &dc, &e));
        tide_src_config c;
        tide_src_config_init(&c);
        c.path = in;
        c.schema = s;
        c.on_dead = tide_sink_dead_fn;
        c.dead_ctx = ds;
        tide_src *src = NULL;
        tide_cbatch *b = NULL;
        TT_OK(tide_src_open(&src, &c, &e));
        TT_OK(tide_cbatch_create(&b, s, 8, 0, &e));
        tide_src_batch info;
        TT_ASSERT_EQ_INT(tide_src_next(src, b, &info, &e), TIDE_SRC_READY);
        TT_ASSERT_EQ_INT(tide_cbatch_rows(b), 2);
        tide_src_free(src);
        tide_cbatch_free(b);
        TT_ASSERT_EQ_INT(tide_sink_dead_count(ds), 1);
        TT_OK(tide_sink_dead_close(ds, &e));
        char want[4500];
        snprintf(want, sizeof want,
                 "{\"reason\":\"%s:2:25: column user_id: bad BIGINT \\\"x\\\"",
                 in);
        char line[8192] = {0};
        if (kind == 0) {
            char *got = NULL;
            size_t glen = 0;
            TT_OK(tide_io_read_all(dead, &got, &glen, &e));
            snprintf(line, sizeof line, "%s", got);
            free(got);
            TT_ASSERT(glen > 0 && line[glen - 1] == '\n');
        } else {
            tide_log_reader *r = NULL;
            tide_record rec;
            TT_OK(tide_log_reader_open(&r, dir, "dlq", 0, &e));
            TT_OK(tide_log_reader_next(r, &rec, &e));
            snprintf(line, sizeof line, "%.*s", (int)rec.value_len, (const char *)rec.value);
            TT_ASSERT_EQ_INT(tide_log_reader_next(r, &rec, &e), TIDE_EAGAIN);
            tide_log_reader_close(r);
        }
        TT_ASSERT_MSG(strncmp(line, want, strlen(want)) == 0, "%s", line);
        char wpos[4400];
        snprintf(wpos, sizeof wpos, "\"position\":\"%s:2:25\"", in);
        TT_ASSERT(strstr(line, wpos) != NULL);
        TT_ASSERT(strstr(line, "\"raw\":\"2024-01-01 00:00:00.000,x,b\xef\xbf\xbd\"}") != NULL);
    }
    tide_schema_free(s);
}

/* cfg.append: letters go straight into the file (no temp), after what is
 * there; a torn last line is ended first; abort keeps them; close fsyncs. */
static void test_dead_letter_append(void)
{
    tide_err e = {0};
    char path[4200];
    snprintf(path, sizeof path, "%s/dead_append.jsonl", tmp);
    const char *old = "{\"reason\":\"old\"}\n{\"reas"; /* a line cut short by a crash */
    TT_ASSERT(write_file(path, old, strlen(old)) == 0);
    const char *l1 = "{\"reason\":\"bad \\\"q\\\"\",\"position\":\"stdin:2:3\",\"raw\":\"a\\nb\"}\n";
    const char *l2 = "{\"reason\":\"\",\"position\":\"stdin:9:1\",\"raw\":\"\"}\n";
    char want[1024];
    snprintf(want, sizeof want, "%s\n%s%s", old, l1, l2);

    tide_sink_dead_config dc = {0};
    dc.path = path;
    dc.append = true;
    tide_sink_dead *ds = NULL;
    TT_OK(tide_sink_dead_open(&ds, &dc, &e));
    TT_OK(tide_sink_dead_write(ds, "bad \"q\"", "stdin:2:3", "a\nb", 3, &e));
    TT_OK(tide_sink_dead_write(ds, NULL, "stdin:9:1", NULL, 0, &e));
    TT_ASSERT_EQ_INT(tide_sink_dead_count(ds), 2);
    /* written before close: a process killed now keeps them */
    char *got = NULL;
    size_t glen = 0;
    TT_OK(tide_io_read_all(path, &got, &glen, &e));
    TT_ASSERT_EQ_STR(got, want);
    free(got);
    char tmpname[4300];
    snprintf(tmpname, sizeof tmpname, "%s.tide-tmp", path);
    TT_ASSERT(access(tmpname, F_OK) != 0);
    tide_sink_dead_abort(ds); /* keeps the file and its letters */
    TT_OK(tide_io_read_all(path, &got, &glen, &e));
    TT_ASSERT_EQ_STR(got, want);
    free(got);

    /* again: appended after the complete last line, committed by close */
    TT_OK(tide_sink_dead_open(&ds, &dc, &e));
    TT_OK(tide_sink_dead_write(ds, "", "stdin:9:1", "", 0, &e));
    TT_OK(tide_sink_dead_close(ds, &e));
    char want2[1200];
    snprintf(want2, sizeof want2, "%s%s", want, l2);
    TT_OK(tide_io_read_all(path, &got, &glen, &e));
    TT_ASSERT_EQ_STR(got, want2);
    free(got);

    /* a missing file is created; a failed fsync at close is an error */
    char fresh[4200];
    snprintf(fresh, sizeof fresh, "%s/dead_fresh.jsonl", tmp);
    dc.path = fresh;
    TT_OK(tide_sink_dead_open(&ds, &dc, &e));
    TT_OK(tide_sink_dead_write(ds, "", "stdin:9:1", "", 0, &e));
    tide_io_faults f = {.fail_at = 1, .fail_errno = EIO};
    tide_io_faults_set(&f);
    tide_err ce = {0};
    TT_ASSERT(tide_sink_dead_close(ds, &ce) != 0);
    tide_io_faults_set(NULL);
    TT_ASSERT_MSG(strstr(ce.msg, "dead_fresh.jsonl") != NULL, "%s", ce.msg);
    TT_OK(tide_io_read_all(fresh, &got, &glen, &e));
    TT_ASSERT_EQ_STR(got, l2); /* written, just not known to be durable */
    free(got);
}

int main(void)
{
    tmp = tt_tmpdir("test_connect");
    if (!tmp)
        return 1;
    TT_RUN(test_file_source_dead_letters);
    TT_RUN(test_file_source_missing);
    TT_RUN(test_stdin_source);
    TT_RUN(test_stdin_partial);
    TT_RUN(test_topic_source);
    TT_RUN(test_topic_source_rowtime_json);
    TT_RUN(test_topic_source_missing);
    TT_RUN(test_file_copy);
    TT_RUN(test_file_copy_faults);
    TT_RUN(test_file_sink_header_only);
    TT_RUN(test_stdout_sink_jsonl);
    TT_RUN(test_topic_round_trip);
    TT_RUN(test_gen_source);
    TT_RUN(test_gen_source_rate);
    TT_RUN(test_dead_letter_sinks);
    TT_RUN(test_dead_letter_append);
    TT_RUN(test_file_seek);
    TT_RUN(test_stdin_seek);
    TT_RUN(test_topic_seek);
    TT_RUN(test_topic_start_time_and_end);
    TT_RUN(test_gen_seek);
    TT_DONE();
}
