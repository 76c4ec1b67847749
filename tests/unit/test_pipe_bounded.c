/*
 * test_pipe_bounded.c - bounded = unbounded (issue 3 acceptance): the final
 * results of a bounded run over a file equal those of an unbounded run over
 * a topic holding the same records, once the topic run's watermark passed.
 *
 * The records: 30,000 generated logins over 3 hours, 5% up to 5 s - 1 ms out
 * of order (delays < B: a record delayed by B could arrive with ts == W and
 * miss the window ending at ts + 1, which fires at W = ts), written as CSV lines to a file and, one record per line, to a
 * topic of the embedded log.  The job: tumbling 15 minutes, GROUP BY
 * country, COUNT(*) and COUNT(DISTINCT user_id), B = 5 s.
 *
 *   file run   TIDE_SRC_FILE (bounded): runs to its end, +infinity fires
 *              every window.
 *   topic run  TIDE_SRC_TOPIC (unbounded, following) on its own thread:
 *              half the records are in the topic when it starts, the test
 *              appends the rest while it runs.  Once it has read them all,
 *              exactly the windows with end - 1 <= max ts - B have fired
 *              (the others wait: the source never ends).  Then the test appends
 *              one record far in the future (one per partition) so the
 *              watermark passes every real window, waits until their
 *              results arrived, and cancels the job.
 * Both equal a brute-force count over the generated events, and each other.
 * With 1 and 2 topic partitions (round robin: a partition's records keep
 * their file order, so none is late against the minimum of the per-
 * partition watermarks) and P = 1 and 2.  Waits are bounded polls of the
 * job's counters, never sleeps standing in for a condition.
 */
#include "job/pipeline.h"
#include "log/topic.h"
#include "log/writer.h"

#include "tt.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define T0 1704067200000LL     /* 2024-01-01 00:00 UTC */
#define WIN (15 * 60000LL)     /* the window */
#define BOUND 5000LL           /* B */
#define FUTURE 4102444800000LL /* 2100-01-01 */
#define NEV 30000

typedef struct res {
    int64_t start, end;
    char country[8];
    int64_t count, distinct;
} res;

static int res_cmp(const void *pa, const void *pb)
{
    const res *a = pa, *b = pb;
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return strcmp(a->country, b->country);
}

/* Results as the sink thread hands them over: a fixed array (no realloc
 * while the main thread polls `n`). */
typedef struct sink {
    res *v;
    size_t cap;
    atomic_size_t n;
    atomic_int overflow;
} sink;

static int on_result(void *ctx, const tide_pipe_result *r)
{
    sink *s = ctx;
    size_t i = atomic_load(&s->n);
    if (i == s->cap || r->n_keys != 1 || r->n_vals != 2 || r->op != TIDE_OP_INSERT) {
        atomic_store(&s->overflow, 1);
        return 0;
    }
    res *x = &s->v[i];
    memset(x, 0, sizeof *x);
    x->start = r->start;
    x->end = r->end;
    uint32_t l = r->keys[0].u.s.len < 7 ? r->keys[0].u.s.len : 7;
    memcpy(x->country, r->keys[0].u.s.ptr, l);
    x->count = r->vals[0].u.i64;
    x->distinct = r->vals[1].u.i64;
    atomic_store(&s->n, i + 1);
    return 0;
}

/* ---- the records ---- */

typedef struct ev {
    int64_t ts, user;
    char country[8];
} ev;

static int ev_cmp(const void *pa, const void *pb)
{
    const ev *a = pa, *b = pb;
    int64_t wa = a->ts / WIN, wb = b->ts / WIN;
    if (wa != wb)
        return wa < wb ? -1 : 1;
    int c = strcmp(a->country, b->country);
    if (c)
        return c;
    return a->user < b->user ? -1 : a->user > b->user;
}

/* Brute force: sort by (window, country, user), count runs. */
static size_t expected(const ev *in, size_t n, res *out)
{
    ev *v = malloc(n * sizeof *v);
    memcpy(v, in, n * sizeof *v);
    qsort(v, n, sizeof *v, ev_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t w = v[i].ts / WIN * WIN;
        if (k == 0 || out[k - 1].start != w || strcmp(out[k - 1].country, v[i].country) != 0) {
            memset(&out[k], 0, sizeof out[k]);
            out[k].start = w;
            out[k].end = w + WIN;
            memcpy(out[k].country, v[i].country, sizeof out[k].country);
            k++;
        }
        out[k - 1].count++;
        if (i == 0 || ev_cmp(&v[i - 1], &v[i]) != 0)
            out[k - 1].distinct++;
    }
    free(v);
    qsort(out, k, sizeof *out, res_cmp);
    return k;
}

/* The CSV lines of the file (a header, then one line per event). */
typedef struct lines {
    char *text;
    size_t *off, *len;
    size_t n;
} lines;

static int read_lines(const char *path, lines *L)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    L->text = malloc((size_t)sz + 1);
    size_t got = fread(L->text, 1, (size_t)sz, f);
    fclose(f);
    if (got != (size_t)sz)
        return -1;
    L->off = malloc(((size_t)sz + 1) * sizeof *L->off);
    L->len = malloc(((size_t)sz + 1) * sizeof *L->len);
    L->n = 0;
    size_t s = 0;
    for (size_t i = 0; i < (size_t)sz; i++)
        if (L->text[i] == '\n') {
            L->off[L->n] = s;
            L->len[L->n++] = i - s;
            s = i + 1;
        }
    return 0;
}

static void lines_free(lines *L)
{
    free(L->text);
    free(L->off);
    free(L->len);
}

/* Append lines [from, to) (line 0 is the header: skipped by callers) round
 * robin over the topic's partitions: line i to partition (i - 1) % parts. */
static int append_lines(const char *datadir, const char *topic, const lines *L, size_t from,
                        size_t to, uint32_t parts)
{
    tide_log_writer *w = NULL;
    tide_err e = {0};
    int rc = tide_log_writer_open(&w, datadir, topic, NULL, &e);
    for (size_t i = from; i < to && !rc; i++) {
        tide_record r = {.timestamp = T0, .value = L->text + L->off[i], .value_len = L->len[i]};
        rc = tide_log_append(w, (uint32_t)((i - 1) % parts), &r, 1, NULL, &e);
    }
    int crc = tide_log_writer_close(w, &e);
    if (rc || crc)
        fprintf(stderr, "append: %s\n", e.msg);
    return rc ? rc : crc;
}

static int append_future(const char *datadir, const char *topic, uint32_t parts)
{
    static const char line[] = "2100-01-01 00:00:00.000,1,US,ios";
    tide_log_writer *w = NULL;
    tide_err e = {0};
    int rc = tide_log_writer_open(&w, datadir, topic, NULL, &e);
    for (uint32_t p = 0; p < parts && !rc; p++) {
        tide_record r = {.timestamp = FUTURE, .value = line, .value_len = sizeof line - 1};
        rc = tide_log_append(w, p, &r, 1, NULL, &e);
    }
    int crc = tide_log_writer_close(w, &e);
    return rc ? rc : crc;
}

/* ---- the job ---- */

static tide_schema *logins_schema(void)
{
    tide_schema *s = NULL;
    tide_err e = {0};
    if (tide_schema_create(&s, &e) || tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, false, &e) ||
        tide_schema_add(s, "user_id", TIDE_TYPE_BIGINT, false, &e) ||
        tide_schema_add(s, "country", TIDE_TYPE_STRING, false, &e) ||
        tide_schema_add(s, "device", TIDE_TYPE_STRING, false, &e) ||
        tide_schema_set_time_column(s, 0, &e)) {
        tide_schema_free(s);
        return NULL;
    }
    return s;
}

static const tide_winagg_call aggs[2] = {{TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL},
                                         {TIDE_AGG_COUNT_DISTINCT, 0, TIDE_TYPE_BIGINT}};
static const uint32_t key_col = 2, value_col = 1;

static void job_config(tide_pipe_config *c, const tide_src_config *src, uint32_t P, sink *out)
{
    tide_pipe_config_init(c);
    c->source.kind = TIDE_PIPE_SRC_CONNECT;
    c->source.conn = src;
    c->wm_bound = BOUND;
    c->window = tide_win_tumble(WIN);
    c->aggs = aggs;
    c->n_aggs = 2;
    c->key_cols = &key_col;
    c->n_key_cols = 1;
    c->value_cols = &value_col;
    c->n_value_cols = 1;
    c->parallelism = P;
    c->batch_rows = 256;
    c->on_result = on_result;
    c->out_ctx = out;
}

typedef struct runner {
    tide_pipe *p;
    int rc;
    tide_err e;
} runner;

static void *run_thread(void *arg)
{
    runner *r = arg;
    r->rc = tide_pipe_run(r->p, &r->e);
    return NULL;
}

/* Poll `*n` (bounded: 60 s) until it is >= want. */
static bool wait_n(atomic_size_t *n, size_t want)
{
    struct timespec d = {0, 1000000};
    for (int i = 0; i < 60000; i++) {
        if (atomic_load(n) >= want)
            return true;
        nanosleep(&d, NULL);
    }
    return false;
}

static bool wait_in(const tide_pipe *p, uint64_t want)
{
    struct timespec d = {0, 1000000};
    for (int i = 0; i < 60000; i++) {
        tide_pipe_counts c;
        tide_pipe_counts_get(p, &c);
        if (c.in >= want)
            return true;
        nanosleep(&d, NULL);
    }
    return false;
}

static int same(const res *a, size_t na, const res *b, size_t nb, const char *what)
{
    if (na != nb) {
        fprintf(stderr, "%s: %zu rows, expected %zu\n", what, na, nb);
        return 0;
    }
    for (size_t i = 0; i < na; i++)
        if (res_cmp(&a[i], &b[i]) || a[i].count != b[i].count || a[i].distinct != b[i].distinct) {
            fprintf(stderr,
                    "%s: row %zu: [%lld,%lld) %s %lld %lld, expected [%lld,%lld) %s %lld %lld\n",
                    what, i, (long long)a[i].start, (long long)a[i].end, a[i].country,
                    (long long)a[i].count, (long long)a[i].distinct, (long long)b[i].start,
                    (long long)b[i].end, b[i].country, (long long)b[i].count,
                    (long long)b[i].distinct);
            return 0;
        }
    return 1;
}

static void check_topic_equals_file(uint32_t parts, uint32_t P)
{
    TT_ASSERT(parts >= 1 && parts <= 2);
    tide_err e = {0};
    const char *dir0 = tt_tmpdir("test_pipe_bounded");
    TT_ASSERT(dir0 != NULL);
    char dir[4096], path[4200], datadir[4200], topic[32];
    snprintf(dir, sizeof dir, "%s", dir0);
    snprintf(path, sizeof path, "%s/logins.csv", dir);
    snprintf(datadir, sizeof datadir, "%s/data", dir);
    snprintf(topic, sizeof topic, "logins_%u", parts);

    /* the records, the file, the model */
    tide_gen_logins_cfg g;
    tide_gen_logins_cfg_default(&g);
    g.seed = 17 + parts;
    g.events = NEV;
    g.users = 400;
    g.start_ms = T0;
    g.end_ms = T0 + 3 * 3600000LL;
    g.late_share = 0.05;
    g.max_delay_ms = BOUND - 1;
    TT_OK(tide_gen_logins_write_csv(&g, path, &e));
    lines L = {0};
    TT_ASSERT(read_lines(path, &L) == 0);
    TT_ASSERT_EQ_INT(L.n, NEV + 1); /* header + events */
    ev *evs = calloc(NEV, sizeof *evs);
    int64_t pmax[2] = {INT64_MIN, INT64_MIN}; /* per topic partition */
    {
        tide_gen_logins *gen = NULL;
        TT_OK(tide_gen_logins_create(&gen, &g, &e));
        int64_t *ts = malloc(NEV * 8), *user = malloc(NEV * 8);
        uint8_t *country = malloc(NEV), *device = malloc(NEV);
        size_t n = 0;
        while (!tide_gen_logins_done(gen)) {
            tide_gen_logins_cols c = {ts + n, user + n, country + n, device + n, NEV - n};
            size_t k = 0;
            TT_OK(tide_gen_logins_next(gen, &c, NEV - n, 0, &k, &e));
            n += k;
        }
        for (size_t i = 0; i < n; i++) {
            evs[i].ts = ts[i];
            evs[i].user = user[i];
            snprintf(evs[i].country, sizeof evs[i].country, "%s",
                     tide_gen_logins_country_name(country[i]));
            if (ts[i] > pmax[i % parts])
                pmax[i % parts] = ts[i];
        }
        free(ts);
        free(user);
        free(country);
        free(device);
        tide_gen_logins_free(gen);
        TT_ASSERT_EQ_INT(n, NEV);
    }
    /* the topic run's watermark once it read everything: the minimum over
     * the partitions of (max ts - B) */
    int64_t wm_all = pmax[0] - BOUND;
    if (parts > 1 && pmax[1] - BOUND < wm_all)
        wm_all = pmax[1] - BOUND;
    res *want = calloc(NEV, sizeof *want);
    size_t nwant = expected(evs, NEV, want);
    size_t ncomplete = 0; /* windows an unbounded run fires before the future record */
    while (ncomplete < nwant && want[ncomplete].end - 1 <= wm_all)
        ncomplete++;
    TT_ASSERT(ncomplete > 0 && ncomplete < nwant);

    tide_schema *schema = logins_schema();
    TT_ASSERT(schema != NULL);

    /* the file run (bounded) */
    tide_src_config fsrc;
    tide_src_config_init(&fsrc);
    fsrc.kind = TIDE_SRC_FILE;
    fsrc.path = path;
    fsrc.schema = schema;
    fsrc.header = true;
    sink fout = {.v = calloc(nwant + 16, sizeof(res)), .cap = nwant + 16};
    tide_pipe_config cfg;
    job_config(&cfg, &fsrc, P, &fout);
    tide_pipe *p = NULL;
    TT_OK(tide_pipe_create(&p, &cfg, &e));
    TT_OK(tide_pipe_run(p, &e));
    tide_pipe_free(p);
    p = NULL;
    TT_ASSERT(!atomic_load(&fout.overflow));
    size_t nf = atomic_load(&fout.n);
    qsort(fout.v, nf, sizeof(res), res_cmp);
    TT_ASSERT(same(fout.v, nf, want, nwant, "file run vs brute force"));

    /* the topic run (unbounded) */
    tide_topic_config tc;
    tide_topic_config_default(&tc);
    tc.partitions = parts;
    tc.fsync = TIDE_FSYNC_NEVER;
    TT_OK(tide_topic_create(datadir, topic, &tc, &e));
    TT_OK(append_lines(datadir, topic, &L, 1, 1 + NEV / 2, parts));
    tide_src_config tsrc;
    tide_src_config_init(&tsrc);
    tsrc.kind = TIDE_SRC_TOPIC;
    tsrc.datadir = datadir;
    tsrc.topic = topic;
    tsrc.schema = schema;
    TT_ASSERT(!tsrc.bounded);
    sink tout = {.v = calloc(nwant + 16, sizeof(res)), .cap = nwant + 16};
    job_config(&cfg, &tsrc, P, &tout);
    runner r = {0};
    TT_OK(tide_pipe_create(&r.p, &cfg, &e));
    pthread_t th;
    TT_ASSERT(pthread_create(&th, NULL, run_thread, &r) == 0);
    /* the rest while it runs */
    int arc = append_lines(datadir, topic, &L, 1 + NEV / 2, 1 + NEV, parts);
    bool all_in = arc == 0 && wait_in(r.p, NEV);
    /* every window with end - 1 <= max ts - B fires; the source does not
     * end, so the others wait */
    bool complete = all_in && wait_n(&tout.n, ncomplete);
    size_t before_future = atomic_load(&tout.n);
    tide_pipe_counts c1;
    tide_pipe_counts_get(r.p, &c1);
    int frc = complete ? append_future(datadir, topic, parts) : -1;
    bool fired = frc == 0 && wait_n(&tout.n, nwant);
    tide_pipe_cancel(r.p);
    pthread_join(th, NULL);
    tide_pipe_counts c2;
    tide_pipe_counts_get(r.p, &c2);
    tide_pipe_free(r.p);
    TT_ASSERT_EQ_INT(arc, 0);
    TT_ASSERT_MSG(all_in, "the topic run read %llu of %d records", (unsigned long long)c1.in, NEV);
    TT_ASSERT_MSG(complete, "%zu of the %zu complete windows fired", before_future, ncomplete);
    TT_ASSERT_EQ_INT(before_future, ncomplete); /* no window fired early */
    TT_ASSERT(c1.watermark <= wm_all);          /* the sink's: may still be on its way */
    TT_ASSERT_EQ_INT(frc, 0);
    TT_ASSERT_MSG(fired, "after the future record: %zu of %zu rows", atomic_load(&tout.n), nwant);
    TT_ASSERT_EQ_INT(r.rc, TIDE_EFAILED); /* cancelled: never ends by itself */
    TT_ASSERT(!atomic_load(&tout.overflow));
    TT_ASSERT_EQ_INT(c2.in, NEV + parts);
    TT_ASSERT_EQ_INT(c2.late, 0);
    TT_ASSERT_EQ_INT(c2.bad, 0);
    size_t nt = atomic_load(&tout.n);
    qsort(tout.v, nt, sizeof(res), res_cmp);
    TT_ASSERT(same(tout.v, nt, fout.v, nf, "topic run vs file run"));

    free(fout.v);
    free(tout.v);
    tide_schema_free(schema);
    free(want);
    free(evs);
    lines_free(&L);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    TT_ASSERT(system(cmd) == 0);
}

static void test_one_partition_p1(void)
{
    check_topic_equals_file(1, 1);
}
static void test_one_partition_p2(void)
{
    check_topic_equals_file(1, 2);
}
static void test_two_partitions_p2(void)
{
    check_topic_equals_file(2, 2);
}

int main(void)
{
    TT_RUN(test_one_partition_p1);
    TT_RUN(test_one_partition_p2);
    TT_RUN(test_two_partitions_p2);
    TT_DONE();
}
