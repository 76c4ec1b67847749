/*
 * test_checkpoint.c - checkpoints through whole queries: every query of
 * examples/ (*.sql), and multi-stage plans (a windowed aggregate -> a join ->
 * an aggregation over it), planned by sql/physical.h into one job spec and
 * run three times:
 *
 *   1. uninterrupted, to the end;
 *   2. with the scans holding part way through their input (node_scan's
 *      pause hook: they stop reading after a quarter, half or three
 *      quarters of the batches run 1 read) and a barrier injected there.  Every node instance snapshots it exactly
 *      once (tide_flow_snapshot_count == tide_flow_instance_count, and the
 *      store is complete); the store is taken and the job cancelled at the
 *      barrier: the sources never resume, so nothing follows it;
 *   3. a fresh job from the same spec, restored from the store
 *      (tide_flow_restore) and run to the end: the sources seek to their
 *      positions (connect/source.h), every node and the runtime's
 *      watermarks come back.
 *
 * The rule that makes the outputs comparable (exec/node_write.h): at the
 * barrier the sink has written every row that reached it before the
 * barrier and none after.  So run 2's rows followed by run 3's are run 1's,
 * row for row and in order (each run's stdout output starts with its own
 * CSV header: rows are compared without it).  The output written up to the
 * barrier is checked at the moment the snapshot is complete, before the
 * cancel, and again after it.  The job counters are checkpointed: run 3
 * restored starts from run 2's counts at the barrier and ends with run 1's
 * records read, dead letters, late rows and rows written.
 *
 * Inputs are smaller than the examples': the logins generator's 'count' is
 * cut to GEN_COUNT, logins.csv is written by examples/make_logins_csv.sql
 * itself (with CSV_COUNT events) into a scratch directory, late.csv is
 * copied there, and every relative path resolves against that directory.
 * Each case runs at parallelism 1 (a sequential file source) and 2 (keyed
 * nodes on two instances, the file parsed by two threads); the multi-stage
 * plans at 4 too.
 */
#include "base/io.h"
#include "data/timefmt.h"
#include "exec/flow.h"
#include "exec/node_scan.h"
#include "job/job.h"
#include "log/topic.h"
#include "log/writer.h"
#include "sql/binder.h"
#include "sql/catalog.h"
#include "sql/physical.h"
#include "tt.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#ifndef TIDE_SOURCE_DIR
#define TIDE_SOURCE_DIR "."
#endif

#define GEN_COUNT "24000" /* the generator examples' 'count' */
#define CSV_COUNT "20000" /* logins.csv's events */
#define BATCH_ROWS 256    /* rows a scan reads at a time: ~100 reads per input */
#define MAX_SCANS 8

static char g_src[4096];  /* the source tree */
static char g_tmp[4096];  /* inputs; relative paths resolve here */
static char g_mk[4200];   /* make_logins_csv.sql's own output, when it is the case */

/* ---- the scans' pause hook ---- */

typedef struct run_ctl run_ctl;

typedef struct pauser {
    run_ctl *ctl;
    uint64_t at;    /* hold once this many reads are done; UINT64_MAX: never */
    uint64_t reads; /* reads done (the last count the scan gave) */
    bool paused;
} pauser;

struct run_ctl {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pauser p[MAX_SCANS];
    uint32_t nscans;
    tide_job *job;
    atomic_bool done; /* tide_job_run returned */
    int rc;
    tide_err e;
};

static bool pause_fn(void *ctx, uint64_t reads)
{
    pauser *p = ctx;
    pthread_mutex_lock(&p->ctl->mu);
    p->reads = reads;
    bool hold = reads >= p->at;
    if (hold && !p->paused) {
        p->paused = true;
        pthread_cond_broadcast(&p->ctl->cv);
    }
    pthread_mutex_unlock(&p->ctl->mu);
    return hold;
}

static void *run_thread(void *arg)
{
    run_ctl *c = arg;
    tide_err e = {0};
    int rc = tide_job_run(c->job, &e);
    pthread_mutex_lock(&c->mu);
    c->rc = rc;
    c->e = e;
    atomic_store(&c->done, true);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* ---- one planned statement ---- */

typedef struct ckcase {
    const char *name;
    tide_job_spec *spec;
    int fd;               /* the stdout sink's descriptor (a new file per run) */
    char out[4300];       /* where the statement's output goes */
    bool to_stdout;       /* else an INSERT into a file (no header) */
    int scans[MAX_SCANS]; /* the spec's scan nodes */
    uint32_t nscans;
} ckcase;

/* What one run wrote and counted. */
typedef struct run_out {
    char *text;
    size_t len;
    tide_job_counts counts;
    uint64_t reads[MAX_SCANS]; /* per scan */
} run_out;

static void run_out_free(run_out *o)
{
    free(o->text);
    memset(o, 0, sizeof *o);
}

static int read_file(const char *path, char **text, size_t *len)
{
    tide_err e = {0};
    return tide_io_read_all(path, text, len, &e);
}

/* The rows of an output: without its CSV header line when on stdout. */
static const char *rows_of(const ckcase *c, const run_out *o, size_t *len)
{
    const char *p = o->text;
    const char *end = o->text + o->len;
    if (c->to_stdout) {
        const char *nl = memchr(p, '\n', o->len);
        p = nl ? nl + 1 : end;
    }
    *len = (size_t)(end - p);
    return p;
}

static size_t count_lines(const char *p, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += p[i] == '\n';
    return k;
}

/* Point the stdout sink's descriptor at a fresh file for the next run. */
static int fresh_output(ckcase *c)
{
    if (!c->to_stdout) {
        unlink(c->out);
        return 0;
    }
    int o = open(c->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (o < 0)
        return TIDE_EIO;
    int rc = dup2(o, c->fd) < 0 ? TIDE_EIO : 0;
    close(o);
    return rc;
}

/* Run the case's spec once.  mode 0: uninterrupted; 1: pause scan k once
 * it read at[k] batches, inject a barrier, take the store into *store,
 * cancel; 2: restored from *store.  *o gets the output and counts. */
static int run_case(ckcase *c, int mode, const uint64_t *at, tide_buf *store, run_out *o, char *why, size_t cap)
{
    run_ctl *ctl = calloc(1, sizeof *ctl);
    if (!ctl)
        return TIDE_ENOMEM;
    pthread_mutex_init(&ctl->mu, NULL);
    pthread_cond_init(&ctl->cv, NULL);
    ctl->nscans = c->nscans;
    memset(o, 0, sizeof *o);
    int rc = fresh_output(c);
    for (uint32_t k = 0; k < c->nscans; k++) {
        ctl->p[k] = (pauser){.ctl = ctl, .at = UINT64_MAX};
        if (mode == 1)
            ctl->p[k].at = at[k];
        tide_node_scan_cfg *sc = tide_job_spec_get_node(c->spec, c->scans[k])->make_ctx;
        sc->pause = pause_fn;
        sc->pause_ctx = &ctl->p[k];
    }
    tide_err e = {0};
    if (!rc)
        rc = tide_job_create(&ctl->job, c->spec, NULL, &e);
    tide_flow *f = rc ? NULL : tide_job_flow(ctl->job);
    if (!rc && mode == 2)
        rc = tide_flow_restore(f, store, &e);
    pthread_t th;
    bool started = false;
    if (!rc) {
        started = pthread_create(&th, NULL, run_thread, ctl) == 0;
        rc = started ? 0 : TIDE_ENOMEM;
    }
    if (!rc && mode == 1) {
        /* every scan holds at its point (none may end first) */
        pthread_mutex_lock(&ctl->mu);
        for (;;) {
            uint32_t held = 0;
            for (uint32_t k = 0; k < c->nscans; k++)
                held += ctl->p[k].paused;
            if (held == c->nscans || atomic_load(&ctl->done))
                break;
            pthread_cond_wait(&ctl->cv, &ctl->mu);
        }
        bool done = atomic_load(&ctl->done);
        pthread_mutex_unlock(&ctl->mu);
        if (done) {
            snprintf(why, cap, "the job ended before its scans reached the barrier point");
            rc = TIDE_EFAILED;
        }
    }
    if (!rc && mode == 1) {
        int64_t id = tide_flow_inject_barrier(f);
        while (tide_flow_snapshot_count(f, id) < tide_flow_instance_count(f) && !atomic_load(&ctl->done))
            sched_yield();
        /* what the sink wrote by now: every row before the barrier */
        char *at_barrier = NULL;
        size_t at_len = 0;
        char tmpname[4400];
        snprintf(tmpname, sizeof tmpname, "%s%s", c->out, c->to_stdout ? "" : ".tide-tmp");
        uint32_t n = tide_flow_snapshot_count(f, id), want = tide_flow_instance_count(f);
        if (n != want) {
            snprintf(why, cap, "%u of %u node instances snapshotted barrier %lld", n, want, (long long)id);
            rc = TIDE_EFAILED;
        } else if (!tide_flow_snapshot(f, id, store, &e)) {
            snprintf(why, cap, "no complete store: %s", e.msg);
            rc = TIDE_EFAILED;
        } else if (read_file(tmpname, &at_barrier, &at_len) != 0) {
            at_barrier = NULL; /* a file sink's temp file may hold nothing yet */
        }
        tide_job_cancel(ctl->job);
        pthread_join(th, NULL);
        started = false;
        if (!rc && tide_flow_snapshot_count(f, id) != want) {
            snprintf(why, cap, "a node instance snapshotted barrier %lld twice", (long long)id);
            rc = TIDE_EFAILED;
        }
        if (!rc && ctl->rc != TIDE_EFAILED) {
            snprintf(why, cap, "the cancelled run returned %d: %s", ctl->rc, ctl->e.msg);
            rc = TIDE_EFAILED;
        }
        if (!rc && (rc = read_file(c->out, &o->text, &o->len)) == 0 && at_barrier) {
            /* the rows (a CSV header is written with the first rows, or at close) */
            run_out ab = {.text = at_barrier, .len = at_len};
            size_t la, lo;
            const char *pa = rows_of(c, &ab, &la), *po = rows_of(c, o, &lo);
            if (la != lo || memcmp(pa, po, la) != 0) {
                snprintf(why, cap,
                         "the output grew after the barrier: %zu bytes at the snapshot, %zu after the cancel", la,
                         lo);
                rc = TIDE_EFAILED;
            }
        }
        free(at_barrier);
    }
    if (started) {
        pthread_join(th, NULL);
        if (!rc && ctl->rc) {
            snprintf(why, cap, "run %d: %s", mode + 1, ctl->e.msg);
            rc = ctl->rc;
        }
        if (!rc)
            rc = read_file(c->out, &o->text, &o->len);
    }
    if (ctl->job)
        tide_job_counts_get(ctl->job, &o->counts);
    for (uint32_t k = 0; k < c->nscans; k++) {
        o->reads[k] = ctl->p[k].reads;
        tide_node_scan_cfg *sc = tide_job_spec_get_node(c->spec, c->scans[k])->make_ctx;
        sc->pause = NULL;
        sc->pause_ctx = NULL;
    }
    if (rc && !why[0])
        snprintf(why, cap, "run %d: %s (%s)", mode + 1, e.msg[0] ? e.msg : tide_strerror(rc), tide_err_name(rc));
    tide_job_free(ctl->job);
    pthread_cond_destroy(&ctl->cv);
    pthread_mutex_destroy(&ctl->mu);
    free(ctl);
    return rc;
}

/* Totals over the cases, for the summary and the last checks. */
static struct {
    uint32_t cuts, split; /* barriers checked; those with rows on both sides */
} g_tot;

/* Runs 2 and 3 of a case, the barrier after at[k] reads of scan k, against
 * run 1 (r0).  *before and *after get the rows on each side.  0 or a
 * failure (why says it). */
static int check_cut(ckcase *c, const run_out *r0, const uint64_t *at, size_t *before, size_t *after, char *why,
                     size_t cap)
{
    run_out r[2] = {{0}};
    tide_buf store = {0};
    int rc = run_case(c, 1, at, &store, &r[0], why, cap);
    if (!rc)
        rc = run_case(c, 2, NULL, &store, &r[1], why, cap);
    size_t l0 = 0, l1 = 0, l2 = 0;
    const char *p0 = rc ? NULL : rows_of(c, r0, &l0);
    const char *p1 = rc ? NULL : rows_of(c, &r[0], &l1);
    const char *p2 = rc ? NULL : rows_of(c, &r[1], &l2);
    if (!rc && (l1 + l2 != l0 || memcmp(p0, p1, l1) != 0 || memcmp(p0 + l1, p2, l2) != 0)) {
        size_t k = 0;
        while (k < l1 && k < l0 && p0[k] == p1[k])
            k++;
        if (k == l1)
            while (k < l0 && k - l1 < l2 && p0[k] == p2[k - l1])
                k++;
        const char *got = k < l1 ? p1 + k : k - l1 < l2 ? p2 + (k - l1) : "";
        snprintf(why, cap,
                 "rows differ at byte %zu of %zu (%zu before the barrier + %zu after):\n"
                 "    want %.100s\n    got  %.100s",
                 k, l0, l1, l2, k < l0 ? p0 + k : "", got);
        rc = TIDE_EFAILED;
    }
    /* the restored run's counters start from the checkpoint's (run 2's at
     * its barrier) and end at run 1's */
    const tide_job_counts *a = &r0->counts, *b = &r[0].counts, *d = &r[1].counts;
    if (!rc && (d->in != a->in || d->bad != a->bad || d->late != a->late || d->out != a->out || b->in > a->in ||
                b->out > a->out)) {
        snprintf(why, cap,
                 "counts: in %llu (%llu at the barrier) vs %llu, bad %llu (%llu) vs %llu, late %llu (%llu) vs %llu, "
                 "out %llu (%llu) vs %llu",
                 (unsigned long long)d->in, (unsigned long long)b->in, (unsigned long long)a->in,
                 (unsigned long long)d->bad, (unsigned long long)b->bad, (unsigned long long)a->bad,
                 (unsigned long long)d->late, (unsigned long long)b->late, (unsigned long long)a->late,
                 (unsigned long long)d->out, (unsigned long long)b->out, (unsigned long long)a->out);
        rc = TIDE_EFAILED;
    }
    if (!rc) {
        *before = count_lines(p1, l1);
        *after = count_lines(p2, l2);
    }
    run_out_free(&r[0]);
    run_out_free(&r[1]);
    tide_buf_free(&store);
    return rc;
}

#define CUTS 3 /* barriers after 1/4, 1/2 and 3/4 of each scan's reads */

/* Run 1 of a case, then a barrier at each cut. */
static int check_case(ckcase *c, uint32_t par)
{
    char why[700] = "";
    run_out r0 = {0};
    int rc = run_case(c, 0, NULL, NULL, &r0, why, sizeof why);
    /* a small input: read it in smaller batches, so that the cuts are apart */
    uint64_t fewest = UINT64_MAX;
    for (uint32_t k = 0; k < c->nscans; k++)
        fewest = r0.reads[k] < fewest ? r0.reads[k] : fewest;
    if (!rc && fewest < 16) {
        uint64_t records = r0.counts.in + r0.counts.bad;
        uint32_t rows = records / 16 ? (uint32_t)(records / 16) : 1;
        for (uint32_t k = 0; k < c->nscans; k++)
            ((tide_node_scan_cfg *)tide_job_spec_get_node(c->spec, c->scans[k])->make_ctx)->batch_rows = rows;
        run_out_free(&r0);
        rc = run_case(c, 0, NULL, NULL, &r0, why, sizeof why);
    }
    for (uint32_t k = 0; !rc && k < c->nscans; k++)
        if (r0.reads[k] < 4) {
            snprintf(why, sizeof why, "scan %u read %llu batches: too few to cut", k, (unsigned long long)r0.reads[k]);
            rc = TIDE_EFAILED;
        }
    size_t l0 = 0, before[CUTS] = {0}, after[CUTS] = {0};
    const char *p0 = rc ? NULL : rows_of(c, &r0, &l0);
    if (!rc && l0 == 0) {
        snprintf(why, sizeof why, "no output at all");
        rc = TIDE_EFAILED;
    }
    for (uint32_t q = 0; !rc && q < CUTS; q++) {
        uint64_t at[MAX_SCANS];
        for (uint32_t k = 0; k < c->nscans; k++)
            at[k] = r0.reads[k] * (q + 1) / (CUTS + 1);
        rc = check_cut(c, &r0, at, &before[q], &after[q], why, sizeof why);
        if (rc)
            fprintf(stderr, "  %s (P = %u), barrier after %u/%u of the input: %s\n", c->name, par, q + 1, CUTS + 1,
                    why);
        else if (before[q] && after[q])
            g_tot.split++;
        g_tot.cuts += rc == 0;
    }
    if (rc && !p0)
        fprintf(stderr, "  %s (P = %u): %s\n", c->name, par, why);
    if (!rc) {
        size_t n = count_lines(p0, l0);
        fprintf(stderr, "  %-24s P=%u %5zu rows = %zu + %zu = %zu + %zu = %zu + %zu\n", c->name, par, n, before[0],
                after[0], before[1], after[1], before[2], after[2]);
    }
    run_out_free(&r0);
    return rc;
}

/* ---- scripts ---- */

/* `sql` with the value of its 'count' options replaced by `count`
 * (malloc'd; a copy when it has none). */
static char *with_count(const char *sql, const char *count)
{
    tide_buf out = {0};
    const char *key = "'count' = '";
    const char *p = sql, *q;
    while ((q = strstr(p, key)) != NULL) {
        q += strlen(key);
        tide_buf_append(&out, p, (size_t)(q - p));
        tide_buf_printf(&out, "%s", count);
        p = strchr(q, '\'');
        if (!p)
            p = q + strlen(q);
    }
    tide_buf_printf(&out, "%s", p);
    return (char *)out.data;
}

/* Compile `sql`, plan each statement (base_dir for relative paths) and
 * check each as a case at parallelism par.  run_only: just run the
 * statements (to make an input).  Returns 0 or the first failure. */
static int check_script(const char *name, const char *sql, const char *base_dir, uint32_t par, bool run_only)
{
    tide_sql_catalog *cat = NULL;
    tide_sql_program *prog = NULL;
    tide_sql_error serr = {0};
    int rc = tide_sql_catalog_create(&cat);
    if (!rc && (rc = tide_sql_compile(cat, name, sql, strlen(sql), &prog, &serr)) != 0)
        fprintf(stderr, "  %s: %u:%u: %s\n", name, serr.line, serr.col, serr.msg);
    for (uint32_t i = 0; !rc && i < prog->nplans; i++) {
        ckcase c = {.fd = -1};
        char label[256];
        snprintf(label, sizeof label, prog->nplans > 1 ? "%s #%u" : "%s", name, i + 1);
        c.name = label;
        const tide_sql_plan *plan = prog->plans[i];
        c.to_stdout = plan->u.sink.table == NULL;
        if (c.to_stdout)
            snprintf(c.out, sizeof c.out, "%s/out.csv", g_tmp);
        else
            snprintf(c.out, sizeof c.out, "%s/%s", base_dir, plan->u.sink.cfg.path);
        c.fd = open("/dev/null", O_WRONLY);
        tide_err e = {0};
        tide_sql_phys_opts o = {.base_dir = base_dir,
                                .datadir = g_tmp,
                                .format = TIDE_SQL_OUT_CSV,
                                .out_fd = c.fd,
                                .parallelism = par};
        tide_sql_phys_info info;
        if (c.fd < 0)
            rc = TIDE_EIO;
        if (!rc)
            rc = tide_job_spec_create(&c.spec, &e);
        if (!rc && (rc = tide_sql_physical(plan, &o, c.spec, &info, &serr)) != 0)
            fprintf(stderr, "  %s: %u:%u: %s\n", label, serr.line, serr.col, serr.msg);
        for (uint32_t n = 0; !rc && n < tide_job_spec_node_count(c.spec); n++) {
            const tide_flow_node *fn = tide_job_spec_get_node(c.spec, (int)n);
            if (fn->vt != &tide_node_scan_vt)
                continue;
            if (c.nscans == MAX_SCANS) {
                rc = TIDE_EINVAL;
                break;
            }
            ((tide_node_scan_cfg *)fn->make_ctx)->batch_rows = BATCH_ROWS;
            c.scans[c.nscans++] = (int)n;
        }
        if (!rc && !info.bounded) {
            fprintf(stderr, "  %s: unbounded\n", label);
            rc = TIDE_EINVAL;
        }
        if (!rc && run_only) {
            run_out r = {0};
            char why[600] = "";
            rc = run_case(&c, 0, NULL, NULL, &r, why, sizeof why);
            if (rc)
                fprintf(stderr, "  %s: %s\n", label, why);
            run_out_free(&r);
        } else if (!rc) {
            rc = check_case(&c, par);
        }
        tide_job_spec_free(c.spec);
        if (c.fd >= 0)
            close(c.fd);
    }
    tide_sql_program_free(prog);
    tide_sql_catalog_free(cat);
    return rc;
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The inputs in g_tmp: logins.csv from examples/make_logins_csv.sql (with
 * CSV_COUNT events), late.csv copied. */
static int make_inputs(void)
{
    char path[4400], *text = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/examples/make_logins_csv.sql", g_src);
    if (read_file(path, &text, &len) != 0)
        return TIDE_EIO;
    char *sql = with_count(text, CSV_COUNT);
    free(text);
    int rc = check_script("make_logins_csv.sql (input)", sql, g_tmp, 1, true);
    free(sql);
    tide_err e = {0};
    snprintf(path, sizeof path, "%s/examples/late.csv", g_src);
    if (!rc && (rc = tide_io_read_all(path, &text, &len, &e)) == 0) {
        char dst[4400];
        snprintf(dst, sizeof dst, "%s/late.csv", g_tmp);
        rc = tide_io_write_atomic(dst, text, len, &e);
        free(text);
    }
    return rc;
}

/* ---- tests ---- */

/* Every query of the examples (examples/NAME.sql). */
static void test_examples(void)
{
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/examples", g_src);
    DIR *d = opendir(dir);
    TT_ASSERT_MSG(d != NULL, "cannot open %s", dir);
    char *names[64];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < 64) {
        size_t l = strlen(de->d_name);
        if (l > 4 && strcmp(de->d_name + l - 4, ".sql") == 0)
            names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);
    TT_ASSERT(n >= 10);
    int failed = 0;
    uint32_t ran = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4500], *text = NULL;
        size_t len;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (read_file(path, &text, &len) != 0) {
            fprintf(stderr, "  cannot read %s\n", path);
            failed++;
            continue;
        }
        if (strstr(text, "'connector' = 'stdin'") || strstr(text, "'connector' = 'topic'")) {
            fprintf(stderr, "  %s: skipped (reads stdin or a topic)\n", names[i]);
            free(text);
            continue;
        }
        bool mk = strcmp(names[i], "make_logins_csv.sql") == 0;
        char *sql = with_count(text, mk ? CSV_COUNT : GEN_COUNT);
        free(text);
        for (uint32_t par = 1; par <= 2; par++)
            failed += check_script(names[i], sql, mk ? g_mk : g_tmp, par, false) != 0;
        ran++;
        free(sql);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    TT_ASSERT_EQ_INT(failed, 0);
    TT_ASSERT(ran >= 10);
}

/* Windowed aggregates joined on their window end, then aggregated again
 * (a changelog); and a GROUP BY over an interval join. */
static void test_multi_stage(void)
{
    static const char ddl[] =
        "CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING,\n"
        "  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)\n"
        "WITH ('connector' = 'file', 'path' = 'logins.csv', 'format' = 'csv');\n";
    static const char *const queries[] = {
        /* windowed aggregate -> join -> GROUP BY (a changelog) */
        "WITH dev AS (\n"
        "  SELECT device, window_start, window_end, COUNT(*) AS logins\n"
        "  FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '6' HOUR))\n"
        "  GROUP BY device, window_start, window_end\n"
        "), cty AS (\n"
        "  SELECT country, window_start, window_end, COUNT(DISTINCT user_id) AS users\n"
        "  FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '6' HOUR))\n"
        "  GROUP BY country, window_start, window_end\n"
        ")\n"
        "SELECT dev.device, cty.country, COUNT(*) AS windows, SUM(dev.logins) AS logins,\n"
        "  MAX(cty.users) AS most_users\n"
        "FROM dev JOIN cty ON dev.window_end = cty.window_end\n"
        "GROUP BY dev.device, cty.country;\n",
        /* sliding and cumulating windows (shared slices) -> join on the
         * window end and the key -> GROUP BY */
        "WITH a AS (\n"
        "  SELECT country, window_end, COUNT(DISTINCT user_id) AS active\n"
        "  FROM TABLE(HOP(TABLE logins, DESCRIPTOR(ts), INTERVAL '6' HOUR, INTERVAL '1' DAY))\n"
        "  GROUP BY country, window_start, window_end\n"
        "), b AS (\n"
        "  SELECT country, window_end, COUNT(*) AS logins\n"
        "  FROM TABLE(CUMULATE(TABLE logins, DESCRIPTOR(ts), INTERVAL '6' HOUR, INTERVAL '1' DAY))\n"
        "  GROUP BY country, window_start, window_end\n"
        ")\n"
        "SELECT a.country, COUNT(*) AS points, SUM(b.logins) AS logins, MAX(a.active) AS most_active\n"
        "FROM a JOIN b ON a.window_end = b.window_end AND a.country = b.country\n"
        "GROUP BY a.country;\n",
        /* sessions over the whole stream, split by a key (exec/sessagg) */
        "SELECT country, window_start, window_end, COUNT(*) AS logins,\n"
        "  COUNT(DISTINCT user_id) AS users\n"
        "FROM TABLE(SESSION(TABLE logins, DESCRIPTOR(ts), INTERVAL '40' SECOND))\n"
        "GROUP BY country, window_start, window_end;\n",
        /* sessions per country, split by device -> GROUP BY */
        "WITH s AS (\n"
        "  SELECT country, device, window_start, window_end, COUNT(*) AS logins\n"
        "  FROM TABLE(SESSION(TABLE logins PARTITION BY country, DESCRIPTOR(ts), INTERVAL '5' MINUTE))\n"
        "  GROUP BY country, device, window_start, window_end\n"
        ")\n"
        "SELECT country, COUNT(*) AS rows_, SUM(logins) AS logins, MAX(logins) AS most\n"
        "FROM s GROUP BY country;\n",
        /* an interval join (its output watermark held back) -> GROUP BY */
        "SELECT a.country, COUNT(*) AS pairs, COUNT(DISTINCT a.user_id) AS users\n"
        "FROM logins a JOIN logins b ON a.user_id = b.user_id\n"
        "  AND b.ts BETWEEN a.ts - INTERVAL '1' HOUR AND a.ts + INTERVAL '12' HOUR\n"
        "GROUP BY a.country;\n",
        /* a LEFT interval join (unmatched rows padded when their interval
         * closes) with a condition beyond keys and bounds */
        "SELECT a.user_id, a.ts, b.ts AS bts, b.device\n"
        "FROM logins a LEFT JOIN logins b ON a.user_id = b.user_id\n"
        "  AND b.ts BETWEEN a.ts + INTERVAL '1' SECOND AND a.ts + INTERVAL '20' MINUTE\n"
        "  AND b.device <> a.device;\n",
        /* a FULL window join -> GROUP BY (a changelog) */
        "WITH j AS (\n"
        "  SELECT a.country AS ac, b.country AS bc, a.user_id AS au, b.user_id AS bu\n"
        "  FROM (SELECT * FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))\n"
        "        WHERE device = 'ios') a\n"
        "  FULL JOIN (SELECT * FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))\n"
        "        WHERE device = 'web') b\n"
        "  ON a.window_start = b.window_start AND a.window_end = b.window_end AND a.user_id = b.user_id\n"
        ")\n"
        "SELECT ac, bc, COUNT(*) AS n, COUNT(au) AS na, COUNT(bu) AS nb FROM j GROUP BY ac, bc;\n",
        /* regular joins: a stream LEFT JOIN an aggregation's changelog (the
         * padded rows, retractions as counts change), then FULL of two
         * changelogs with a state TTL */
        "SELECT l.ts, l.user_id, c.n FROM logins l LEFT JOIN\n"
        "  (SELECT user_id, COUNT(*) AS n FROM logins WHERE device = 'web' GROUP BY user_id) c\n"
        "  ON l.user_id = c.user_id AND c.n > 2;\n",
        "SET 'table.exec.state.ttl' = '6 h';\n"
        "SELECT a.country, a.n, b.device, b.m FROM\n"
        "  (SELECT country, COUNT(*) AS n FROM logins GROUP BY country) a FULL JOIN\n"
        "  (SELECT device, country, COUNT(DISTINCT user_id) AS m FROM logins GROUP BY device, country) b\n"
        "  ON a.country = b.country AND b.m * 3 > a.n;\n",
        /* semi and anti joins: correlated EXISTS, NOT IN (NULL-aware) */
        "SELECT l.ts, l.user_id FROM logins l WHERE l.device = 'ios' AND\n"
        "  EXISTS (SELECT * FROM logins w WHERE w.user_id = l.user_id AND w.device = 'web' AND w.ts < l.ts);\n",
        "SELECT c.user_id, c.n FROM (SELECT user_id, COUNT(*) AS n FROM logins GROUP BY user_id) c\n"
        "  WHERE NOT EXISTS (SELECT * FROM logins d WHERE d.user_id = c.user_id AND d.device = 'web');\n",
        /* OVER aggregates over a sliding RANGE frame per user (exec/node_over:
         * buffered rows, frame rows, MIN/MAX retracting) */
        "SELECT user_id, ts, country,\n"
        "  COUNT(*) OVER w AS n, MAX(country) OVER w AS top, MIN(ts) OVER w AS first_ts\n"
        "FROM logins WINDOW w AS (PARTITION BY user_id ORDER BY ts\n"
        "  RANGE BETWEEN INTERVAL '2' HOUR PRECEDING AND CURRENT ROW);\n",
        /* OVER over a ROWS frame per country, then over the whole input */
        "SELECT country, ts, SUM(user_id) OVER (PARTITION BY country ORDER BY ts\n"
        "  ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) AS s FROM logins;\n",
        "SELECT ts, COUNT(*) OVER (ORDER BY ts) AS n FROM logins;\n",
        /* OVER over a window aggregation at P instances (rows tied in
         * window_time from several instances) */
        "SELECT country, device, window_time, n, SUM(n) OVER (PARTITION BY country ORDER BY window_time\n"
        "  ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s FROM (SELECT country, device, window_time,\n"
        "  COUNT(*) AS n FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))\n"
        "  GROUP BY window_start, window_end, window_time, country, device);\n",
        /* Top-N per country (exec/node_topn: a changelog by rank) */
        "SELECT * FROM (SELECT country, user_id, ts,\n"
        "  ROW_NUMBER() OVER (PARTITION BY country ORDER BY user_id DESC) AS rn FROM logins)\n"
        "WHERE rn <= 3;\n",
        /* Top-N over a changelog (retractions re-rank), without the rank */
        "SELECT country, n FROM (SELECT country, n, ROW_NUMBER() OVER (ORDER BY n DESC) AS rn\n"
        "  FROM (SELECT country, COUNT(*) AS n FROM logins GROUP BY country)) WHERE rn <= 2;\n",
        /* keep the last and the first row per user */
        "SELECT user_id, device FROM (SELECT user_id, device,\n"
        "  ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY ts DESC) AS rn FROM logins) WHERE rn = 1;\n",
        "SELECT user_id, ts, device FROM (SELECT user_id, ts, device,\n"
        "  ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY ts) AS rn FROM logins) WHERE rn = 1;\n",
        /* window Top-N over a window aggregation */
        "SELECT * FROM (SELECT window_start, window_end, country, n,\n"
        "  ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY n DESC) AS rn\n"
        "  FROM (SELECT window_start, window_end, country, COUNT(*) AS n\n"
        "    FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '2' HOUR))\n"
        "    GROUP BY window_start, window_end, country)) WHERE rn <= 2;\n",
    };
    int failed = 0;
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        char sql[8192], name[64];
        snprintf(sql, sizeof sql, "%s%s", ddl, queries[q]);
        snprintf(name, sizeof name, "multi-stage %zu", q + 1);
        for (uint32_t par = 1; par <= 4; par *= 2)
            failed += check_script(name, sql, g_tmp, par, false) != 0;
    }
    TT_ASSERT_EQ_INT(failed, 0);
}

/* A topic of three partitions holding logins.csv's rows (row i in
 * partition i % 3, its event time as the record's): the scan serves the
 * partitions in turn and combines their watermarks; a restore seeks each
 * to its offset and gives the round robin its turn back. */
static int make_topic(void)
{
    tide_err e = {0};
    tide_topic_config tc;
    tide_topic_config_default(&tc);
    tc.partitions = 3;
    tc.fsync = TIDE_FSYNC_NEVER;
    char path[4400], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/logins.csv", g_tmp);
    int rc = tide_topic_create(g_tmp, "logins", &tc, &e);
    if (!rc)
        rc = read_file(path, &text, &len);
    tide_log_writer *w = NULL;
    tide_log_writer_opts wo = {0};
    if (!rc)
        rc = tide_log_writer_open(&w, g_tmp, "logins", &wo, &e);
    uint64_t i = 0;
    for (char *p = text; !rc && p && p < text + len; i++) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
        tide_record rec = {.value = p, .value_len = n};
        char ts[32];
        snprintf(ts, sizeof ts, "%.*s", n < 23 ? (int)n : 23, p);
        tide_ts_error te;
        if (tide_ts_parse(ts, strlen(ts), &rec.timestamp, &te) != 0)
            rc = TIDE_EPARSE;
        if (!rc)
            rc = tide_log_append(w, (uint32_t)(i % 3), &rec, 1, NULL, &e);
        p = nl ? nl + 1 : NULL;
    }
    if (w) {
        int rc2 = tide_log_writer_close(w, &e);
        rc = rc ? rc : rc2;
    }
    free(text);
    if (rc)
        fprintf(stderr, "  topic: %s\n", e.msg);
    return rc;
}

static void test_topic(void)
{
    TT_OK(make_topic());
    static const char ddl[] =
        "CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING,\n"
        "  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)\n"
        "WITH ('connector' = 'topic', 'topic' = 'logins', 'format' = 'csv',\n"
        "      'scan.bounded.mode' = 'latest-offset');\n";
    static const char *const queries[] = {
        "SELECT window_start, window_end, COUNT(DISTINCT user_id) AS dau\n"
        "FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))\n"
        "GROUP BY window_start, window_end;\n",
        "SELECT device, COUNT(*) AS logins, COUNT(DISTINCT user_id) AS users FROM logins GROUP BY device;\n",
    };
    int failed = 0;
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        char sql[4096], name[64];
        snprintf(sql, sizeof sql, "%s%s", ddl, queries[q]);
        snprintf(name, sizeof name, "topic %zu", q + 1);
        for (uint32_t par = 1; par <= 2; par++)
            failed += check_script(name, sql, g_tmp, par, false) != 0;
    }
    TT_ASSERT_EQ_INT(failed, 0);
}

/* Most barriers had output on both sides (a barrier before any output,
 * or after all of it, checks less). */
static void test_split(void)
{
    fprintf(stderr, "  %u barriers, %u with rows on both sides\n", g_tot.cuts, g_tot.split);
    TT_ASSERT(g_tot.cuts > 0);
    TT_ASSERT(g_tot.split * 4 >= g_tot.cuts * 3);
}

int main(void)
{
    const char *src = getenv("TIDE_SRC");
    snprintf(g_src, sizeof g_src, "%s", src && *src ? src : TIDE_SOURCE_DIR);
    const char *tmp = tt_tmpdir("test_checkpoint");
    if (!tmp)
        return 1;
    snprintf(g_tmp, sizeof g_tmp, "%s", tmp);
    snprintf(g_mk, sizeof g_mk, "%s/mk", g_tmp);
    mkdir(g_mk, 0755);
    if (make_inputs() != 0) {
        fprintf(stderr, "cannot make the inputs\n");
        return 1;
    }
    TT_RUN(test_examples);
    TT_RUN(test_multi_stage);
    TT_RUN(test_topic);
    TT_RUN(test_split);
    TT_DONE();
}
