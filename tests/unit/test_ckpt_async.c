/*
 * test_ckpt_async.c - asynchronous checkpoints (exec/node.h freeze,
 * exec/flow.h): a node with big state only copies it at the barrier, and
 * the snapshot is serialised later on another thread while the data keeps
 * flowing.  What must hold, checked against a brute-force count of the
 * input in this file (never against tide's own output):
 *
 *   - every store taken while the job runs is exactly the state at its
 *     barrier: decoded (the group aggregate's section, state/snap.h), each
 *     key's live rows, COUNT(*), SUM and COUNT(DISTINCT) are those of the
 *     first L input lines, L the line the file source's snapshot says it
 *     had read, and no other key is there;
 *   - a job restored from such a store and run to the end holds exactly
 *     the state of the whole input (its final snapshot, decoded);
 *   - a frozen snapshot that cannot be written (fault point
 *     flow.snapshot.write) fails tide_flow_snapshot with that error, naming
 *     the node, and a later call (the frozen copy is kept) gives the store.
 *
 * The query runs at parallelism 1, 2 and 4, with only COUNT(*) and SUM
 * (the aggregate freezes: its state is flat) and with COUNT(DISTINCT) (the
 * aggregate cannot freeze: it snapshots at the barrier, the fallback).
 */
#include "base/fault.h"
#include "exec/agg.h"
#include "exec/flow.h"
#include "exec/node_groupagg.h"
#include "job/coord.h"
#include "job/job.h"
#include "sql/binder.h"
#include "sql/catalog.h"
#include "sql/physical.h"
#include "state/snap.h"
#include "tt.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#define N_ROWS 300000
#define N_USERS 20000
#define N_COUNTRIES 5
#define MAX_STORES 64

static const char *const g_countries[N_COUNTRIES] = {"US", "IN", "DE", "FR", "BR"};
static char g_dir[4096];
static int64_t g_uid[N_ROWS];
static int g_cty[N_ROWS];

/* ---- the input and its brute-force state ---- */

static int make_input(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/in.csv", g_dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    uint64_t s = 11;
    int64_t ts = 1704067200000;
    for (int i = 0; i < N_ROWS; i++) {
        uint64_t r = tt_rand(&s);
        ts += (int64_t)(r % 40);
        g_uid[i] = (int64_t)((r >> 8) % N_USERS);
        g_cty[i] = (int)((r >> 40) % N_COUNTRIES);
        fprintf(f, "%lld,%lld,%s\n", (long long)ts, (long long)g_uid[i], g_countries[g_cty[i]]);
    }
    return fclose(f);
}

typedef struct user_state {
    int64_t n;        /* rows */
    unsigned cty;     /* bit mask of the countries seen */
} user_state;

/* The state after the first `lines` rows. */
static void brute(uint64_t lines, user_state *u)
{
    memset(u, 0, N_USERS * sizeof *u);
    for (uint64_t i = 0; i < lines; i++) {
        u[g_uid[i]].n++;
        u[g_uid[i]].cty |= 1u << g_cty[i];
    }
}

/* ---- the query ---- */

typedef struct planned {
    tide_sql_catalog *cat;
    tide_sql_program *prog;
    tide_job_spec *spec;
    int fd;
    bool distinct;
} planned;

static void planned_free(planned *p)
{
    tide_job_spec_free(p->spec);
    tide_sql_program_free(p->prog);
    tide_sql_catalog_free(p->cat);
    if (p->fd >= 0)
        close(p->fd);
    memset(p, 0, sizeof *p);
    p->fd = -1;
}

static int plan(planned *p, uint32_t par, bool distinct)
{
    memset(p, 0, sizeof *p);
    p->fd = -1;
    p->distinct = distinct;
    char src[8192];
    snprintf(src, sizeof src,
             "CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT, country STRING,\n"
             "  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)\n"
             "WITH ('connector' = 'file', 'path' = '%s/in.csv', 'format' = 'csv');\n"
             "SELECT user_id, COUNT(*) AS n, SUM(user_id) AS s%s FROM logins GROUP BY user_id;\n",
             g_dir, distinct ? ", COUNT(DISTINCT country) AS c" : "");
    tide_sql_error se;
    memset(&se, 0, sizeof se);
    tide_err e = {0};
    int rc;
    if ((rc = tide_sql_catalog_create(&p->cat)) != 0)
        return rc;
    if ((rc = tide_sql_compile(p->cat, "q.sql", src, strlen(src), &p->prog, &se)) != 0) {
        fprintf(stderr, "q.sql:%u:%u: %s\n", se.line, se.col, se.msg);
        return rc;
    }
    if ((p->fd = open("/dev/null", O_WRONLY)) < 0)
        return TIDE_EIO;
    tide_sql_phys_opts o = {.format = TIDE_SQL_OUT_CSV, .out_fd = p->fd, .parallelism = par};
    tide_sql_phys_info info;
    if ((rc = tide_job_spec_create(&p->spec, &e)) != 0)
        return rc;
    if ((rc = tide_sql_physical(p->prog->plans[p->prog->nplans - 1], &o, p->spec, &info, &se)) != 0)
        fprintf(stderr, "q.sql:%u:%u: %s\n", se.line, se.col, se.msg);
    return rc;
}

/* ---- decoding a store ---- */

/* The rows the file source had read at the barrier (its description:
 * "... byte N line L ...", L the next line to read). */
static int store_line(const planned *p, const tide_buf *store, uint64_t *line)
{
    tide_buf d = {0};
    tide_err e = {0};
    int rc = tide_coord_describe(p->spec, store, &d, &e);
    const char *at = rc ? NULL : strstr((const char *)d.data, " line ");
    unsigned long long l = 0;
    if (!at || sscanf(at, " line %llu", &l) != 1) {
        fprintf(stderr, "  no line in the store's description (%.*s) %s\n", (int)d.len,
                d.data ? (const char *)d.data : "", e.msg);
        rc = -1;
    }
    *line = l ? l - 1 : 0; /* the next line to read: 1-based */
    tide_buf_free(&d);
    return rc;
}

/* Check one group aggregate section against the brute-force state; seen[]
 * marks the users found.  0 or -1 (after saying why). */
static int check_section(const void *snap, size_t len, bool distinct, const user_state *u, bool *seen)
{
    tide_snap_r r;
    tide_err e = {0};
    if (tide_snap_open(&r, snap, len, "groupagg", 1, NULL, &e) != 0) {
        fprintf(stderr, "  %s\n", e.msg);
        return -1;
    }
    uint64_t n_aggs = tide_snap_get_varint(&r);
    tide_agg agg[3];
    if (n_aggs != (distinct ? 3u : 2u)) {
        fprintf(stderr, "  %llu aggregates in the snapshot\n", (unsigned long long)n_aggs);
        return -1;
    }
    for (uint64_t i = 0; i < n_aggs; i++) {
        unsigned kind = tide_snap_get_u8(&r);
        (void)tide_snap_get_u32(&r);
        unsigned type = tide_snap_get_u8(&r);
        if (tide_agg_bind_kind(&agg[i], (tide_agg_kind)kind, (tide_type)type, 0, &e) != 0) {
            fprintf(stderr, "  aggregate %llu: %s\n", (unsigned long long)i, e.msg);
            return -1;
        }
    }
    (void)tide_snap_get_varint(&r); /* inputs */
    (void)tide_snap_get_bool(&r);   /* retractions */
    (void)tide_snap_get_bool(&r);   /* mini-batch */
    (void)tide_snap_get_u64(&r);    /* ignored */
    uint64_t n = tide_snap_get_varint(&r);
    int bad = 0;
    for (uint64_t k = 0; k < n && !tide_snap_failed(&r) && !bad; k++) {
        size_t klen;
        const unsigned char *key = tide_snap_get_bytes(&r, &klen);
        int64_t live = tide_snap_get_i64(&r);
        unsigned flags = tide_snap_get_u8(&r);
        if (flags & 1)
            for (uint64_t i = 0; i < n_aggs; i++)
                (void)tide_snap_get_value(&r);
        int64_t res[3] = {0};
        for (uint64_t i = 0; i < n_aggs; i++) {
            _Alignas(16) unsigned char st[TIDE_AGG_STATE_MAX];
            tide_agg_init(&agg[i], st);
            tide_value v;
            if (tide_agg_snap_get(&agg[i], st, &r, &e) != 0 || tide_snap_failed(&r) ||
                tide_agg_result(&agg[i], st, &v, &e) != 0) {
                tide_agg_free(&agg[i], st);
                bad = 1;
                break;
            }
            res[i] = v.is_null ? -1 : v.u.i64;
            tide_agg_free(&agg[i], st);
        }
        if (bad || !key || klen != 9 || key[0] != 1) {
            fprintf(stderr, "  entry %llu: a bad key or state\n", (unsigned long long)k);
            return -1;
        }
        uint64_t x = 0;
        for (int b = 1; b < 9; b++)
            x = x << 8 | key[b];
        int64_t uid = (int64_t)(x ^ (1ull << 63));
        if (uid < 0 || uid >= N_USERS || seen[uid]) {
            fprintf(stderr, "  user %lld: out of range or twice\n", (long long)uid);
            return -1;
        }
        seen[uid] = true;
        int64_t want_c = __builtin_popcount(u[uid].cty);
        if (live != u[uid].n || res[0] != u[uid].n || res[1] != uid * u[uid].n ||
            (distinct && res[2] != want_c)) {
            fprintf(stderr,
                    "  user %lld: live %lld, COUNT %lld, SUM %lld, DISTINCT %lld; the input has %lld rows, "
                    "sum %lld, %lld countries\n",
                    (long long)uid, (long long)live, (long long)res[0], (long long)res[1],
                    (long long)res[2], (long long)u[uid].n, (long long)(uid * u[uid].n), (long long)want_c);
            return -1;
        }
    }
    if (tide_snap_close(&r, &e) != 0) {
        fprintf(stderr, "  %s\n", e.msg);
        return -1;
    }
    return 0;
}

/* The store holds exactly the state of the first `lines` rows. */
static int check_store(const planned *p, const tide_buf *store, uint64_t lines)
{
    static user_state u[N_USERS];
    static bool seen[N_USERS];
    brute(lines, u);
    memset(seen, 0, sizeof seen);
    int found = 0;
    for (uint32_t i = 0; i < tide_job_spec_node_count(p->spec); i++) {
        const tide_flow_node *nd = tide_job_spec_get_node(p->spec, (int)i);
        if (nd->vt != &tide_node_groupagg_vt)
            continue;
        for (uint32_t k = 0; k < nd->parallelism; k++) {
            const void *snap;
            size_t len;
            tide_err e = {0};
            if (tide_flow_store_find(store, i, k, &snap, &len, &e) != 0 || !snap) {
                fprintf(stderr, "  groupagg[%u]: no snapshot %s\n", k, e.msg);
                return -1;
            }
            if (check_section(snap, len, p->distinct, u, seen) != 0)
                return -1;
            found++;
        }
    }
    for (int i = 0; i < N_USERS; i++)
        if (u[i].n && !seen[i]) {
            fprintf(stderr, "  user %d (%lld rows in the first %llu) missing\n", i, (long long)u[i].n,
                    (unsigned long long)lines);
            return -1;
        }
    return found ? 0 : -1;
}

/* ---- running ---- */

typedef struct runner {
    tide_job *j;
    int rc;
    tide_err e;
    atomic_bool done;
} runner;

static void *run_thread(void *arg)
{
    runner *r = arg;
    r->rc = tide_job_run(r->j, &r->e);
    atomic_store(&r->done, true);
    return NULL;
}

/* The final state of a job whose input ended, taken as the coordinator
 * takes its final checkpoint: every task ended, before the job's resources
 * are finished (tide_job_on_flow_end). */
static int final_store(void *ctx, tide_job *j, int rc, tide_err *e)
{
    tide_buf *store = ctx;
    if (rc != 0)
        return 0;
    tide_flow *f = tide_job_flow(j);
    int64_t id = tide_flow_inject_barrier(f);
    if (id == 0)
        return tide_err_set(e, TIDE_EFAILED, "no barrier after the run");
    if ((rc = tide_flow_snapshot_ended(f, id, e)) != 0)
        return rc;
    if (!tide_flow_snapshot(f, id, store, e))
        return tide_err_failed(e) ? e->code : tide_err_set(e, TIDE_EFAILED, "the final store is incomplete");
    return 0;
}

/* Run the query with barriers one after the other while it runs; keep the
 * stores taken before the input ended. */
static int run_with_barriers(planned *p, tide_buf *stores, uint64_t *lines, bool *ran_on, int *n_stores)
{
    runner r = {0};
    tide_err e = {0};
    int rc = tide_job_create(&r.j, p->spec, NULL, &e);
    if (rc) {
        fprintf(stderr, "  %s\n", e.msg);
        return rc;
    }
    tide_flow *f = tide_job_flow(r.j);
    pthread_t th;
    if (pthread_create(&th, NULL, run_thread, &r) != 0) {
        tide_job_free(r.j);
        return -1;
    }
    *n_stores = 0;
    while (!atomic_load(&r.done) && *n_stores < MAX_STORES && rc == 0) {
        int64_t id = tide_flow_inject_barrier(f);
        if (id == 0) {
            sched_yield();
            continue;
        }
        tide_buf *s = &stores[*n_stores];
        bool got = false;
        while (!got && !atomic_load(&r.done)) {
            got = tide_flow_snapshot(f, id, s, &e);
            if (tide_err_failed(&e)) {
                fprintf(stderr, "  checkpoint %lld: %s\n", (long long)id, e.msg);
                rc = -1;
                break;
            }
            if (!got)
                sched_yield();
        }
        if (!got)
            break;
        ran_on[*n_stores] = !atomic_load(&r.done); /* the tasks went on while the copies were written */
        if ((rc = store_line(p, s, &lines[*n_stores])) != 0)
            break;
        (*n_stores)++;
        for (bool all = false; !all && !atomic_load(&r.done);) { /* complete(id), as the coordinator does */
            if (tide_flow_complete(f, id, &all, &e) != 0) {
                fprintf(stderr, "  complete %lld: %s\n", (long long)id, e.msg);
                rc = -1;
                break;
            }
            if (!all)
                sched_yield();
        }
    }
    pthread_join(th, NULL);
    if (rc == 0 && r.rc != 0) {
        fprintf(stderr, "  run: %s\n", r.e.msg);
        rc = r.rc;
    }
    tide_job_free(r.j);
    return rc;
}

static void check_async(uint32_t par, bool distinct)
{
    planned p;
    static tide_buf stores[MAX_STORES];
    uint64_t lines[MAX_STORES];
    bool ran_on[MAX_STORES];
    int n = 0;
    TT_ASSERT(plan(&p, par, distinct) == 0);
    TT_ASSERT(run_with_barriers(&p, stores, lines, ran_on, &n) == 0);
    /* checkpoints taken while the rows flowed (and went on flowing while
     * the store was written), the rows going on in between */
    int mid = 0;
    for (int i = 0; i < n; i++) {
        mid += lines[i] > 0 && lines[i] < N_ROWS && ran_on[i];
        TT_ASSERT_MSG(i == 0 || lines[i] >= lines[i - 1], "store %d at line %llu, the one before at %llu", i,
                      (unsigned long long)lines[i], (unsigned long long)lines[i - 1]);
    }
    /* (at P > 1 the file is parsed by two threads in big chunks: few barriers pass) */
    TT_ASSERT_MSG(mid >= (par == 1 ? 2 : 1), "P=%u: only %d of %d checkpoints while the input was read", par, mid,
                  n);
    printf("  P=%u%s: %d checkpoints while the input was read, of %d\n", par, distinct ? " DISTINCT" : "", mid, n);
    for (int i = 0; i < n; i++)
        TT_ASSERT_MSG(check_store(&p, &stores[i], lines[i]) == 0, "P=%u%s: store %d (at line %llu)", par,
                      distinct ? " DISTINCT" : "", i, (unsigned long long)lines[i]);
    /* restored from a store in the middle, run to the end: the whole input's state */
    int pick = -1;
    for (int i = 0; i < n; i++)
        if (lines[i] > 0 && lines[i] < N_ROWS && (pick < 0 || lines[i] <= N_ROWS / 2))
            pick = i;
    if (pick >= 0) {
        tide_job *j = NULL;
        tide_err e = {0};
        tide_buf fin = {0};
        TT_OK(tide_job_create(&j, p.spec, NULL, &e));
        TT_OK(tide_flow_restore(tide_job_flow(j), &stores[pick], &e));
        tide_job_on_flow_end(j, final_store, &fin);
        int rc = tide_job_run(j, &e);
        TT_ASSERT_MSG(rc == 0, "%s", e.msg);
        TT_ASSERT_MSG(check_store(&p, &fin, N_ROWS) == 0, "P=%u: restored from line %llu, run to the end", par,
                      (unsigned long long)lines[pick]);
        tide_buf_free(&fin);
        tide_job_free(j);
    }
    for (int i = 0; i < n; i++)
        tide_buf_free(&stores[i]);
    planned_free(&p);
}

static void test_async_state_is_the_barriers(void)
{
    uint32_t pars[] = {1, 2, 4};
    for (size_t i = 0; i < sizeof pars / sizeof *pars; i++) {
        check_async(pars[i], false);
        check_async(pars[i], true);
    }
}

/* A frozen snapshot that cannot be written: tide_flow_snapshot fails with
 * the error, naming the node; nothing is handed out; the next call writes
 * it (the frozen copy was kept) and the store is the barrier's state. */
static void test_write_fault(void)
{
    planned p;
    TT_ASSERT(plan(&p, 2, false) == 0);
    runner r = {0};
    tide_err e = {0};
    TT_OK(tide_job_create(&r.j, p.spec, NULL, &e));
    tide_flow *f = tide_job_flow(r.j);
    pthread_t th;
    tide_fault_set("flow.snapshot.write:eio@2"); /* (before any thread may reach a fault point) */
    TT_ASSERT(pthread_create(&th, NULL, run_thread, &r) == 0);
    int64_t id = 0;
    while ((id = tide_flow_inject_barrier(f)) == 0)
        sched_yield();
    while (tide_flow_snapshot_count(f, id) < tide_flow_instance_count(f) && !atomic_load(&r.done))
        sched_yield();
    bool joined = false;
    if (tide_flow_snapshot_count(f, id) < tide_flow_instance_count(f)) { /* the input ended first */
        pthread_join(th, NULL);
        joined = true;
        TT_OK(tide_flow_snapshot_ended(f, id, &e));
    }
    tide_buf store = {0};
    bool got = tide_flow_snapshot(f, id, &store, &e);
    TT_ASSERT(!got);
    TT_ASSERT_EQ_INT(e.code, TIDE_EIO);
    TT_ASSERT_MSG(strstr(e.msg, "groupagg[") && strstr(e.msg, "flow.snapshot.write"), "%s", e.msg);
    TT_ASSERT_EQ_INT((int)store.len, 0);
    TT_ASSERT_EQ_INT((int)tide_fault_hits(), 1);
    tide_fault_set(NULL);
    e = (tide_err){0};
    got = tide_flow_snapshot(f, id, &store, &e);
    TT_ASSERT_MSG(got, "%s", e.msg);
    if (!joined)
        pthread_join(th, NULL);
    TT_OK(r.rc == 0 ? 0 : r.rc);
    uint64_t line = 0;
    TT_ASSERT(store_line(&p, &store, &line) == 0);
    TT_ASSERT(check_store(&p, &store, line) == 0);
    tide_buf_free(&store);
    tide_job_free(r.j);
    planned_free(&p);
}

int main(void)
{
    const char *d = tt_tmpdir("ckpt_async");
    if (!d)
        return 1;
    snprintf(g_dir, sizeof g_dir, "%s", d);
    if (make_input() != 0)
        return 1;
    TT_RUN(test_async_state_is_the_barriers);
    TT_RUN(test_write_fault);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        return 1;
    TT_DONE();
}
