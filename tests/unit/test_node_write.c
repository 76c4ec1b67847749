/*
 * test_node_write.c - the sink node (exec/node_write.h) in a flow: a test
 * source emits changelog batches and watermarks; the node writes the rows
 * that reach it (through a selection when a filter is chained before it, or
 * copied through a channel) into a file sink that the test commits after the
 * run; the file is compared byte for byte with the text written here.  The
 * source also watches the sink's temp file between its steps: rows are
 * flushed at each watermark, or at each batch when the sink is prompt.
 */
#include "base/io.h"
#include "connect/sink.h"
#include "exec/flow.h"
#include "exec/node_write.h"
#include "tt.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *tmp;

enum { C_TS, C_K, C_NAME };

static tide_schema *schema3(void)
{
    tide_schema *s = NULL;
    tide_err e = {0};
    if (tide_schema_create(&s, &e) || tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, false, &e) ||
        tide_schema_add(s, "k", TIDE_TYPE_BIGINT, false, &e) ||
        tide_schema_add(s, "name", TIDE_TYPE_STRING, true, &e)) {
        tide_schema_free(s);
        return NULL;
    }
    return s;
}

/* The rows, k = 1..12, as the sink writes them (CSV, op first). */
#define HEAD "op,ts,k,name\n"
static const char *const lines[13] = {
    NULL,
    "+I,1970-01-01 00:00:01.000,1,n1\n",
    "-U,1970-01-01 00:00:02.000,2,n2\n",
    "+U,1970-01-01 00:00:03.000,3,n3\n",
    "-D,1970-01-01 00:00:04.000,4,n4\n",
    "+I,1970-01-01 00:00:05.000,5,\n",
    "-U,1970-01-01 00:00:06.000,6,n6\n",
    "+U,1970-01-01 00:00:07.000,7,n7\n",
    "-D,1970-01-01 00:00:08.000,8,n8\n",
    "+I,1970-01-01 00:00:09.000,9,n9\n",
    "-U,1970-01-01 00:00:10.000,10,\n",
    "+U,1970-01-01 00:00:11.000,11,n11\n",
    "-D,1970-01-01 00:00:12.000,12,n12\n",
};

/* ---- the source: poll p emits rows k = 4p+1 .. 4p+4 (op +I, -U, +U, -D
 * in turn, name NULL when k % 5 == 0), then the watermark 4000p + 4000 after
 * polls 0 and 2 only.  It records the size of `watch` (the sink's temp
 * file) after each batch and after each watermark. ---- */

#define POLLS 3

typedef struct feed_cfg {
    const tide_schema *s;
    const char *watch;
    long after_batch[POLLS], after_wm[POLLS];
} feed_cfg;

typedef struct feed {
    feed_cfg *cfg;
    int p;
    tide_cbatch *b;
} feed;

static long file_size(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int feed_poll(void *self, tide_node_ctx *cx, tide_err *e)
{
    static const tide_op ops[4] = {TIDE_OP_INSERT, TIDE_OP_UPDATE_BEFORE, TIDE_OP_UPDATE_AFTER, TIDE_OP_DELETE};
    feed *f = self;
    if (f->p == POLLS)
        return 0;
    tide_cbatch_reset(f->b);
    for (int j = 0; j < 4; j++) {
        int64_t k = 4 * f->p + j + 1;
        uint32_t r = 0;
        int rc = tide_cbatch_add_row(f->b, &r);
        if (rc)
            return tide_err_set(e, rc, "feed: batch");
        tide_cbatch_set_op(f->b, r, ops[j]);
        tide_cbatch_set_i64(f->b, C_TS, r, k * 1000);
        tide_cbatch_set_i64(f->b, C_K, r, k);
        if (k % 5 != 0) {
            char name[16];
            int n = snprintf(name, sizeof name, "n%d", (int)k);
            if ((rc = tide_cbatch_set_str(f->b, C_NAME, r, name, (size_t)n, e)) != 0)
                return rc;
        }
    }
    int rc = tide_node_emit(cx, 0, f->b, NULL, tide_cbatch_rows(f->b), e);
    if (rc)
        return rc;
    f->cfg->after_batch[f->p] = file_size(f->cfg->watch);
    if (f->p != 1 && (rc = tide_node_emit_watermark(cx, 4000 * (int64_t)f->p + 4000, e)) != 0)
        return rc;
    f->cfg->after_wm[f->p] = file_size(f->cfg->watch);
    f->p++;
    return 1;
}

static void feed_free(void *self)
{
    feed *f = self;
    tide_cbatch_free(f->b);
    free(f);
}

static const tide_node_vt feed_vt = {.kind = "feed", .poll = feed_poll, .free = feed_free};

static int feed_make(void *ctx, uint32_t k, uint32_t p, void **self, tide_err *e)
{
    (void)k;
    (void)p;
    feed_cfg *c = ctx;
    feed *f = calloc(1, sizeof *f);
    if (!f)
        return tide_err_set(e, TIDE_ENOMEM, "feed: out of memory");
    f->cfg = c;
    int rc = tide_cbatch_create(&f->b, c->s, 4, TIDE_CBATCH_OPS, e);
    if (rc) {
        free(f);
        return rc;
    }
    *self = f;
    return 0;
}

/* ---- odd: passes the rows with an odd k, as a selection ---- */

typedef struct odd {
    uint32_t sel[64];
} odd;

static int odd_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                     tide_node_ctx *cx, tide_err *e)
{
    (void)in;
    odd *o = self;
    uint32_t m = 0;
    for (uint32_t i = 0; i < n && m < 64; i++) {
        uint32_t r = sel ? sel[i] : i;
        if (tide_cbatch_i64(b, C_K, r) % 2 != 0)
            o->sel[m++] = r;
    }
    return tide_node_emit(cx, 0, b, o->sel, m, e);
}

static void odd_free(void *self) { free(self); }

static const tide_node_vt odd_vt = {.kind = "odd", .batch = odd_batch, .free = odd_free};

static int odd_make(void *ctx, uint32_t k, uint32_t p, void **self, tide_err *e)
{
    (void)ctx;
    (void)k;
    (void)p;
    if (!(*self = calloc(1, sizeof(odd))))
        return tide_err_set(e, TIDE_ENOMEM, "odd: out of memory");
    return 0;
}

/* ---- building and running ---- */

typedef struct run_opts {
    bool chain_odd;      /* feed -> odd -> write, chained (else feed -GATHER-> write) */
    tide_sink *sink;     /* opened by the test */
    feed_cfg *fc;
    uint64_t out_count;  /* TIDE_NODE_OUT after the run */
} run_opts;

static int run_flow(run_opts *o, tide_err *e)
{
    tide_flow *f = NULL;
    tide_flow_cfg cfg = {0};
    int rc = tide_flow_create(&f, &cfg, e);
    if (rc)
        return rc;
    tide_node_write_cfg wc = {.sink = o->sink};
    tide_flow_node src = {.name = "feed", .vt = &feed_vt, .make = feed_make, .make_ctx = o->fc, .parallelism = 1,
                          .n_out = 1, .out_schema = {o->fc->s}, .out_flags = {TIDE_CBATCH_OPS}};
    tide_flow_node mid = {.name = "odd", .vt = &odd_vt, .make = odd_make, .parallelism = 1, .n_out = 1,
                          .out_schema = {o->fc->s}, .out_flags = {TIDE_CBATCH_OPS}};
    tide_flow_node wr = {.name = "write", .vt = &tide_node_write_vt, .make = tide_node_write_make,
                         .make_ctx = &wc, .parallelism = 1};
    int a, b, c;
    if ((rc = tide_flow_add(f, &src, &a, e)) || (rc = tide_flow_add(f, &wr, &c, e)))
        goto done;
    if (o->chain_odd) {
        if ((rc = tide_flow_add(f, &mid, &b, e)) ||
            (rc = tide_flow_connect(f, a, 0, b, TIDE_FLOW_FORWARD, NULL, 0, e)) ||
            (rc = tide_flow_connect(f, b, 0, c, TIDE_FLOW_FORWARD, NULL, 0, e)))
            goto done;
    } else if ((rc = tide_flow_connect(f, a, 0, c, TIDE_FLOW_GATHER, NULL, 0, e))) {
        goto done;
    }
    rc = tide_flow_run(f, e);
    uint64_t counts[TIDE_NODE_COUNTERS];
    tide_flow_counts(f, counts);
    o->out_count = counts[TIDE_NODE_OUT];
done:
    tide_flow_free(f);
    return rc;
}

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

/* The CSV file sink of the test: header, op first. */
static void file_cfg(tide_sink_config *kc, const tide_schema *s, const char *path, bool prompt)
{
    tide_sink_config_init(kc);
    kc->kind = TIDE_SINK_FILE;
    kc->path = path;
    kc->header = true;
    kc->schema = s;
    kc->op = TIDE_SINK_OP_LEAD;
    kc->prompt = prompt;
}

/* feed -> odd -> write, all chained (the node gets a selection): flushed at
 * each watermark only (or at each batch when prompt); committed by the test. */
static void run_chain(bool prompt)
{
    tide_err e = {0};
    char out[1100], outtmp[1200];
    snprintf(out, sizeof out, "%s/chain%d.csv", tmp, (int)prompt);
    snprintf(outtmp, sizeof outtmp, "%s.tide-tmp", out);
    tide_schema *s = schema3();
    TT_ASSERT(s);
    tide_sink_config kc;
    file_cfg(&kc, s, out, prompt);
    tide_sink *k = NULL;
    TT_OK(tide_sink_open(&k, &kc, &e));
    feed_cfg fc = {.s = s, .watch = outtmp};
    run_opts o = {.chain_odd = true, .sink = k, .fc = &fc};
    int rc = run_flow(&o, &e);
    if (rc)
        fprintf(stderr, "  run: %s\n", e.msg);
    TT_ASSERT(rc == 0);
    TT_ASSERT_EQ_INT(o.out_count, 6);
    TT_ASSERT_EQ_INT(tide_sink_rows(k), 6);
    /* what the source saw of the temp file, step by step */
    long h = (long)strlen(HEAD);
    long b0 = h + (long)(strlen(lines[1]) + strlen(lines[3]));
    long b1 = b0 + (long)(strlen(lines[5]) + strlen(lines[7]));
    long b2 = b1 + (long)(strlen(lines[9]) + strlen(lines[11]));
    long want_batch[POLLS] = {prompt ? b0 : 0, prompt ? b1 : b0, prompt ? b2 : b0};
    long want_wm[POLLS] = {b0, prompt ? b1 : b0, b2};
    for (int p = 0; p < POLLS; p++) {
        TT_ASSERT_MSG(fc.after_batch[p] == want_batch[p], "poll %d: %ld bytes after the batch, want %ld", p,
                      fc.after_batch[p], want_batch[p]);
        TT_ASSERT_MSG(fc.after_wm[p] == want_wm[p], "poll %d: %ld bytes after the watermark, want %ld", p,
                      fc.after_wm[p], want_wm[p]);
    }
    TT_ASSERT(access(out, F_OK) != 0); /* not committed yet */
    TT_OK(tide_sink_close(k, &e));
    TT_ASSERT(access(outtmp, F_OK) != 0);
    char want[1024];
    snprintf(want, sizeof want, "%s%s%s%s%s%s%s", HEAD, lines[1], lines[3], lines[5], lines[7], lines[9],
             lines[11]);
    char *got = slurp(out);
    TT_ASSERT(got);
    bool same = strcmp(got, want) == 0;
    if (!same)
        fprintf(stderr, "  got:\n%s  want:\n%s", got, want);
    free(got);
    TT_ASSERT(same);
    tide_schema_free(s);
}

static void test_chain_flush_at_watermarks(void) { run_chain(false); }
static void test_chain_prompt(void) { run_chain(true); }

/* feed -GATHER-> write: rows (and their ops) copied through a channel. */
static void test_gather(void)
{
    tide_err e = {0};
    char out[1100];
    snprintf(out, sizeof out, "%s/gather.csv", tmp);
    tide_schema *s = schema3();
    TT_ASSERT(s);
    tide_sink_config kc;
    file_cfg(&kc, s, out, false);
    tide_sink *k = NULL;
    TT_OK(tide_sink_open(&k, &kc, &e));
    feed_cfg fc = {.s = s};
    run_opts o = {.sink = k, .fc = &fc};
    int rc = run_flow(&o, &e);
    if (rc) {
        fprintf(stderr, "  run: %s\n", e.msg);
        tide_sink_abort(k);
    }
    TT_ASSERT(rc == 0);
    TT_ASSERT_EQ_INT(o.out_count, 12);
    TT_OK(tide_sink_close(k, &e));
    tide_buf want = {0};
    tide_buf_append(&want, HEAD, strlen(HEAD));
    for (int i = 1; i <= 12; i++)
        tide_buf_append(&want, lines[i], strlen(lines[i]));
    tide_buf_putc(&want, 0);
    char *got = slurp(out);
    TT_ASSERT(got);
    bool same = strcmp(got, (const char *)want.data) == 0;
    if (!same)
        fprintf(stderr, "  got:\n%s  want:\n%s", got, (const char *)want.data);
    free(got);
    tide_buf_free(&want);
    TT_ASSERT(same);
    tide_schema_free(s);
}

/* A sink that fails fails the flow, naming the node; the job aborts it. */
static void test_sink_error(void)
{
    tide_err e = {0};
    int fds[2];
    TT_ASSERT(pipe(fds) == 0);
    close(fds[0]);
    signal(SIGPIPE, SIG_IGN);
    tide_schema *s = schema3();
    TT_ASSERT(s);
    tide_sink_config kc;
    tide_sink_config_init(&kc);
    kc.fd = fds[1];
    kc.schema = s;
    kc.prompt = true;
    tide_sink *k = NULL;
    TT_OK(tide_sink_open(&k, &kc, &e));
    feed_cfg fc = {.s = s};
    run_opts o = {.sink = k, .fc = &fc};
    int rc = run_flow(&o, &e);
    tide_sink_abort(k);
    close(fds[1]);
    tide_schema_free(s);
    TT_ASSERT(rc < 0);
    TT_ASSERT_MSG(strstr(e.msg, "write") != NULL, "%s", e.msg);
}

/* One writer per sink: parallelism 1 only, and a sink is needed. */
static void test_make(void)
{
    tide_err e = {0};
    tide_node_write_cfg wc = {0};
    void *self = NULL;
    TT_ASSERT(tide_node_write_make(&wc, 0, 1, &self, &e) == TIDE_EINVAL && self == NULL);
    wc.sink = (tide_sink *)&wc; /* never touched by make */
    TT_ASSERT(tide_node_write_make(&wc, 0, 2, &self, &e) == TIDE_EINVAL && self == NULL);
    TT_OK(tide_node_write_make(&wc, 0, 1, &self, &e));
    TT_ASSERT(self != NULL);
    tide_node_write_vt.free(self);
    TT_ASSERT_EQ_STR(tide_node_write_vt.kind, "write");
}

/* A barrier is the sink's pre-commit: the snapshot flushes what the sink
 * buffered, so everything written before the barrier is out
 * (exec/node_write.h's rule); a restore reads the snapshot back. */
static void test_snapshot_flushes(void)
{
    tide_err e = {0};
    char path[4200];
    snprintf(path, sizeof path, "%s/snap.csv", tmp);
    FILE *f = fopen(path, "w");
    TT_ASSERT(f != NULL);
    tide_schema *s = schema3();
    TT_ASSERT(s);
    tide_sink_config kc;
    tide_sink_config_init(&kc);
    kc.fd = fileno(f);
    kc.schema = s;
    tide_sink *k = NULL;
    TT_OK(tide_sink_open(&k, &kc, &e));
    tide_node_write_cfg wc = {.sink = k};
    void *self = NULL, *again = NULL;
    TT_OK(tide_node_write_make(&wc, 0, 1, &self, &e));
    tide_cbatch *b = NULL;
    TT_OK(tide_cbatch_create(&b, s, 4, 0, &e));
    uint32_t r = 0;
    tide_cbatch_add_row(b, &r);
    tide_cbatch_set_i64(b, C_TS, r, 1000);
    tide_cbatch_set_i64(b, C_K, r, 7);
    TT_OK(tide_cbatch_set_str(b, C_NAME, r, "x", 1, &e));
    TT_OK(tide_sink_write(k, b, &e)); /* as the node's batch callback does */
    TT_ASSERT_EQ_INT(file_size(path), 0); /* buffered */
    tide_buf snap = {0};
    TT_OK(tide_node_write_vt.snapshot(self, 1, &snap, &e));
    TT_ASSERT(file_size(path) > 0); /* out at the barrier */
    TT_OK(tide_node_write_make(&wc, 0, 1, &again, &e));
    TT_OK(tide_node_write_vt.restore(again, snap.data, snap.len, &e));
    snap.data[snap.len - 1] ^= 1;
    TT_ASSERT(tide_node_write_vt.restore(again, snap.data, snap.len, &e) != 0);
    tide_buf_free(&snap);
    tide_node_write_vt.free(self);
    tide_node_write_vt.free(again);
    TT_OK(tide_sink_close(k, &e));
    tide_cbatch_free(b);
    tide_schema_free(s);
    fclose(f);
}

int main(void)
{
    tmp = tt_tmpdir("test_node_write");
    if (!tmp)
        return 1;
    TT_RUN(test_chain_flush_at_watermarks);
    TT_RUN(test_chain_prompt);
    TT_RUN(test_gather);
    TT_RUN(test_sink_error);
    TT_RUN(test_make);
    TT_RUN(test_snapshot_flushes);
    TT_DONE();
}
