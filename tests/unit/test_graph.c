/*
 * test_graph.c - the dataflow runtime (exec/task + exec/graph).
 *
 * The main graph: two sources -> a map per source -> hash exchange over P
 * keyed counters -> one sink, with integer items.  Checked against a
 * brute-force count computed from the same deterministic input, for
 * P = 1, 2, 4; plus watermark order and bounds, barrier alignment (the sink
 * sees barrier n exactly after every item emitted before barrier n at every
 * source), backpressure (bounded channels, bounded batches alive, bounded
 * RSS), the latency flush (a fake clock), injected barriers, and error
 * propagation.
 */
#include "exec/graph.h"

#include "base/hash.h"
#include "data/types.h"

#include "tt.h"

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

/* ---- items and a pooled batch type ---- */

typedef struct item {
    int64_t key;
    int64_t val; /* counter: running count of the key */
    int64_t ts;
    int64_t seq; /* position in its source */
    int32_t src;
    int32_t part; /* counter that handled it */
} item;

typedef struct batch {
    struct batch *next; /* pool link */
    uint32_t n, cap;
    item rows[];
} batch;

/* Batches are recycled through a pool, so memory use shows what is in
 * flight (not what the allocator keeps), also under ASan. */
typedef struct pool {
    pthread_mutex_t mu;
    batch *free_list;
    uint32_t rows;
    _Atomic long live, max_live, created;
} pool;

static void *pool_create(void *ctx, uint32_t rows)
{
    pool *p = ctx;
    batch *b = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->free_list && rows <= p->rows) {
        b = p->free_list;
        p->free_list = b->next;
    }
    pthread_mutex_unlock(&p->mu);
    if (!b) {
        b = malloc(sizeof *b + (size_t)(rows > p->rows ? rows : p->rows) * sizeof(item));
        if (!b)
            return NULL;
        b->cap = rows > p->rows ? rows : p->rows;
        atomic_fetch_add(&p->created, 1);
    }
    b->n = 0;
    long l = atomic_fetch_add(&p->live, 1) + 1;
    long m = atomic_load(&p->max_live);
    while (l > m && !atomic_compare_exchange_weak(&p->max_live, &m, l)) {
    }
    return b;
}

static int pool_append(void *ctx, void *bp, const void *it)
{
    (void)ctx;
    batch *b = bp;
    if (b->n >= b->cap)
        return TIDE_ERANGE;
    b->rows[b->n++] = *(const item *)it;
    return 0;
}

static void pool_free(void *ctx, void *bp)
{
    pool *p = ctx;
    batch *b = bp;
    atomic_fetch_sub(&p->live, 1);
    pthread_mutex_lock(&p->mu);
    b->next = p->free_list;
    p->free_list = b;
    pthread_mutex_unlock(&p->mu);
}

static void pool_init(pool *p, uint32_t rows)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    p->rows = rows;
}

static void pool_destroy(pool *p)
{
    while (p->free_list) {
        batch *b = p->free_list;
        p->free_list = b->next;
        free(b);
    }
    pthread_mutex_destroy(&p->mu);
}

static tide_task_batch_type pool_type(pool *p)
{
    return (tide_task_batch_type){pool_create, pool_append, pool_free, p};
}

/* ---- the deterministic input ---- */

#define NKEYS 997
#define MAX_SRC 2
#define OOO 50 /* event times are out of order by less than this */

static uint64_t mix(uint64_t a, uint64_t b) { return tide_hash_u64(a * 0x9e3779b97f4a7c15ull + b); }

/* Source s's i-th item: a skewed key, a time a little out of order. */
static item source_item(int s, int64_t i)
{
    uint64_t r = mix((uint64_t)s + 1, (uint64_t)i);
    uint64_t k = (r % NKEYS) * ((r >> 32) % NKEYS) / NKEYS; /* skewed toward small keys */
    return (item){.key = (int64_t)k, .ts = i * 10 - (int64_t)((r >> 20) % OOO), .seq = i, .src = s};
}

static bool map_keeps(const item *it) { return it->seq % 7 != 3; }
static int64_t map_key(int64_t k) { return k * 3 + 1; }

/* ---- operators ---- */

typedef struct source_st {
    int src;
    int64_t n, i;
    int64_t barrier_every; /* 0: none */
    int64_t wm_every;
    uint32_t per_poll;
    _Atomic int64_t last_wm;  /* last watermark it emitted */
    _Atomic int64_t emitted;
    _Atomic int ended;        /* on_end ran: its watermark is +infinity */
    _Atomic int64_t at_barrier[64]; /* injected barrier id -> items emitted before it */
} source_st;

static int source_poll(void *sp, tide_task_out *out, tide_err *e)
{
    (void)e;
    source_st *s = sp;
    int rc;
    for (uint32_t k = 0; k < s->per_poll && s->i < s->n; k++, s->i++) {
        if (s->barrier_every && s->i > 0 && s->i % s->barrier_every == 0)
            if ((rc = tide_task_emit_barrier(out, s->i / s->barrier_every)) != 0)
                return rc;
        if (s->i > 0 && s->i % s->wm_every == 0) {
            int64_t wm = s->i * 10 - OOO; /* every later item has ts > wm */
            atomic_store(&s->last_wm, wm);
            if ((rc = tide_task_emit_watermark(out, wm)) != 0)
                return rc;
        }
        item it = source_item(s->src, s->i);
        if ((rc = tide_task_emit(out, 0, &it)) != 0)
            return rc;
        atomic_store(&s->emitted, s->i + 1);
    }
    return s->i < s->n ? 1 : 0;
}

static int source_barrier(void *sp, int64_t id, tide_task_out *out, tide_err *e)
{
    (void)out;
    (void)e;
    source_st *s = sp;
    if (id > 0 && id < 64)
        atomic_store(&s->at_barrier[id], s->i);
    return 0;
}

static int map_batch(void *st, uint32_t input, void *bp, uint32_t rows, tide_task_out *out, tide_err *e)
{
    (void)st;
    (void)input;
    (void)e;
    batch *b = bp;
    int rc = 0;
    if (rows != b->n)
        rc = TIDE_ECORRUPT;
    for (uint32_t r = 0; r < b->n && rc == 0; r++) {
        item it = b->rows[r];
        if (!map_keeps(&it))
            continue;
        it.key = map_key(it.key);
        rc = tide_task_emit(out, 0, &it);
    }
    tide_task_free_batch(out, input, bp);
    return rc;
}

static const tide_task_op map_op = {.name = "map", .on_batch = map_batch};

typedef struct count_st {
    int part;
    int64_t counts[3 * NKEYS + 2];
    int64_t fail_key; /* -1: never fail */
} count_st;

static int count_batch(void *sp, uint32_t input, void *bp, uint32_t rows, tide_task_out *out, tide_err *e)
{
    (void)input;
    (void)rows;
    count_st *s = sp;
    batch *b = bp;
    int rc = 0;
    for (uint32_t r = 0; r < b->n && rc == 0; r++) {
        item it = b->rows[r];
        if (it.key == s->fail_key) {
            rc = tide_err_set(e, TIDE_EINVAL, "bad key %lld", (long long)it.key);
            break;
        }
        it.val = ++s->counts[it.key];
        it.part = s->part;
        rc = tide_task_emit(out, 0, &it);
    }
    tide_task_free_batch(out, input, bp);
    return rc;
}

static const tide_task_op count_op = {.name = "count", .on_batch = count_batch, .free = free};

typedef struct sink_st {
    int64_t last_val[3 * NKEYS + 2];
    int part_of[3 * NKEYS + 2];
    int64_t seen[MAX_SRC];
    int64_t items;
    int64_t wm;
    int64_t n_wm;
    int64_t barriers;
    int64_t spin; /* busy work per item (slow sink) */
    _Atomic int64_t items_atomic;
    char bad[256]; /* first inconsistency */
    /* expectations */
    source_st *src[MAX_SRC];
    int n_src;
    int64_t barrier_every;
    bool injected;
} sink_st;

static void sink_bad(sink_st *s, const char *what, long long a, long long b)
{
    if (!s->bad[0])
        snprintf(s->bad, sizeof s->bad, "%s (%lld vs %lld)", what, a, b);
}

static volatile uint64_t sink_sink;

static int sink_batch(void *sp, uint32_t input, void *bp, uint32_t rows, tide_task_out *out, tide_err *e)
{
    (void)input;
    (void)rows;
    (void)e;
    sink_st *s = sp;
    batch *b = bp;
    for (uint32_t r = 0; r < b->n; r++) {
        const item *it = &b->rows[r];
        if (it->val != s->last_val[it->key] + 1)
            sink_bad(s, "running count out of sequence", it->val, s->last_val[it->key] + 1);
        s->last_val[it->key] = it->val;
        if (s->part_of[it->key] < 0)
            s->part_of[it->key] = it->part;
        else if (s->part_of[it->key] != it->part)
            sink_bad(s, "key counted by two partitions", s->part_of[it->key], it->part);
        if (it->ts < s->wm)
            sink_bad(s, "item behind the watermark", it->ts, s->wm);
        s->seen[it->src]++;
        s->items++;
        uint64_t x = (uint64_t)it->key;
        for (int64_t k = 0; k < s->spin; k++)
            x = tide_hash_u64(x);
        sink_sink = x;
    }
    atomic_store(&s->items_atomic, s->items);
    tide_task_free_batch(out, input, bp);
    return 0;
}

static int sink_watermark(void *sp, int64_t wm, tide_task_out *out, tide_err *e)
{
    (void)out;
    (void)e;
    sink_st *s = sp;
    if (wm <= s->wm)
        sink_bad(s, "watermark not increasing", wm, s->wm);
    if (wm != TIDE_TS_MAX)
        for (int i = 0; i < s->n_src; i++)
            if (!atomic_load(&s->src[i]->ended) && wm > atomic_load(&s->src[i]->last_wm))
                sink_bad(s, "watermark above a source's", wm, atomic_load(&s->src[i]->last_wm));
    s->wm = wm;
    s->n_wm++;
    return 0;
}

/* Items of source `src` that pass the map among its first `upto`. */
static int64_t kept_before(int src, int64_t upto)
{
    int64_t n = 0;
    for (int64_t i = 0; i < upto; i++) {
        item it = source_item(src, i);
        n += map_keeps(&it);
    }
    return n;
}

static int sink_barrier(void *sp, int64_t id, tide_task_out *out, tide_err *e)
{
    (void)out;
    (void)e;
    sink_st *s = sp;
    if (id != s->barriers + 1)
        sink_bad(s, "barrier out of order", id, s->barriers + 1);
    s->barriers = id;
    for (int i = 0; i < s->n_src; i++) {
        int64_t upto;
        if (s->injected) {
            upto = atomic_load(&s->src[i]->at_barrier[id]);
            if (upto < 0) /* the source had ended: all of it precedes the barrier */
                upto = s->src[i]->n;
        } else {
            upto = id * s->barrier_every < s->src[i]->n ? id * s->barrier_every : s->src[i]->n;
        }
        int64_t want = kept_before(i, upto);
        if (s->seen[i] != want)
            sink_bad(s, "items before barrier", s->seen[i], want);
    }
    return 0;
}

static const tide_task_op sink_op = {
    .name = "sink", .on_batch = sink_batch, .on_watermark = sink_watermark, .on_barrier = sink_barrier};

static uint64_t key_hash(void *ctx, const void *it)
{
    (void)ctx;
    return tide_hash_u64((uint64_t)((const item *)it)->key);
}

/* ---- building the main graph ---- */

typedef struct setup {
    pool pool;  /* source -> map -> count batches (the graph's default type) */
    pool pool2; /* count -> sink batches (a port-specific type) */
    tide_graph *g;
    source_st src[MAX_SRC];
    sink_st sink;
    int src_id[MAX_SRC], sink_id;
} setup;

static void source_init(source_st *s, int src, int64_t n, int64_t barrier_every)
{
    memset(s, 0, sizeof *s);
    s->src = src;
    s->n = n;
    s->barrier_every = barrier_every;
    s->wm_every = 1000;
    s->per_poll = 64;
    atomic_store(&s->last_wm, TIDE_TS_MIN);
    for (int k = 0; k < 64; k++)
        atomic_store(&s->at_barrier[k], -1);
}

static int source_end(void *sp, tide_task_out *out, tide_err *e)
{
    (void)out;
    (void)e;
    atomic_store(&((source_st *)sp)->ended, 1);
    return 0;
}

static const tide_task_op source_op_nofree = {
    .name = "source", .on_poll = source_poll, .on_barrier = source_barrier, .on_end = source_end};

/* Sources and sink states live in `su` (not freed by the graph); counters
 * are heap states freed by the graph. */
static int build_w(setup *su, uint32_t P, const int64_t *n, int64_t barrier_every, uint32_t batch_rows,
                   uint32_t cap, int64_t fail_key, uint32_t workers, tide_err *e)
{
    int rc;
    pool_init(&su->pool, batch_rows);
    pool_init(&su->pool2, batch_rows);
    tide_graph_cfg cfg = {
        .batch = pool_type(&su->pool), .batch_rows = batch_rows, .chan_capacity = cap, .workers = workers};
    if ((rc = tide_graph_create(&su->g, &cfg, e)) != 0)
        return rc;
    memset(&su->sink, 0, sizeof su->sink);
    su->sink.wm = TIDE_TS_MIN;
    su->sink.n_src = MAX_SRC;
    su->sink.barrier_every = barrier_every;
    for (size_t k = 0; k < 3 * NKEYS + 2; k++)
        su->sink.part_of[k] = -1;
    int counters[64], maps[MAX_SRC];
    if (P > 64)
        return TIDE_EINVAL;
    for (uint32_t p = 0; p < P; p++) {
        count_st *c = calloc(1, sizeof *c);
        if (!c)
            return TIDE_ENOMEM;
        c->part = (int)p;
        c->fail_key = fail_key;
        char name[32];
        snprintf(name, sizeof name, "count%u", p);
        if ((rc = tide_graph_add(su->g, name, &count_op, c, &counters[p], e)) != 0)
            return rc;
    }
    if ((rc = tide_graph_add(su->g, "sink", &sink_op, &su->sink, &su->sink_id, e)) != 0)
        return rc;
    for (int s = 0; s < MAX_SRC; s++) {
        source_init(&su->src[s], s, n[s], barrier_every);
        su->sink.src[s] = &su->src[s];
        char name[32];
        snprintf(name, sizeof name, "source%d", s);
        if ((rc = tide_graph_add(su->g, name, &source_op_nofree, &su->src[s], &su->src_id[s], e)) != 0)
            return rc;
        snprintf(name, sizeof name, "map%d", s);
        if ((rc = tide_graph_add(su->g, name, &map_op, NULL, &maps[s], e)) != 0)
            return rc;
        if ((rc = tide_graph_connect(su->g, su->src_id[s], maps[s], NULL, e)) != 0)
            return rc;
        if ((rc = tide_graph_connect_hash(su->g, maps[s], counters, P, key_hash, NULL, NULL, NULL, e)) != 0)
            return rc;
    }
    tide_task_batch_type results = pool_type(&su->pool2);
    for (uint32_t p = 0; p < P; p++)
        if ((rc = tide_graph_connect_hash(su->g, counters[p], &su->sink_id, 1, NULL, NULL, &results, NULL,
                                          e)) != 0)
            return rc;
    return 0;
}

/* The pool's default workers. */
static int build(setup *su, uint32_t P, const int64_t *n, int64_t barrier_every, uint32_t batch_rows,
                 uint32_t cap, int64_t fail_key, tide_err *e)
{
    return build_w(su, P, n, barrier_every, batch_rows, cap, fail_key, 0, e);
}

static void teardown(setup *su)
{
    tide_graph_free(su->g);
    su->g = NULL;
    pool_destroy(&su->pool);
    pool_destroy(&su->pool2);
}

/* ---- tests ---- */


/* The main graph at P counters (P + 5 tasks) on `workers` threads (0: the
 * default), checked against brute force; while it runs the process's
 * threads are counted: never more than this thread and the workers. */
static void check_counts(uint32_t P, uint32_t workers)
{
    const int64_t n[MAX_SRC] = {200000, 120000};
    const int64_t barrier_every = 7000;

    /* Brute force: final count per (mapped) key over both sources. */
    static int64_t want[3 * NKEYS + 2];
    memset(want, 0, sizeof want);
    int64_t want_items = 0;
    for (int s = 0; s < MAX_SRC; s++)
        for (int64_t i = 0; i < n[s]; i++) {
            item it = source_item(s, i);
            if (map_keeps(&it)) {
                want[map_key(it.key)]++;
                want_items++;
            }
        }
    static setup su;
    tide_err e = {0};
    memset(&su, 0, sizeof su);
    int base = tt_thread_count();
    int rc = build_w(&su, P, n, barrier_every, 256, 4, -1, workers, &e);
    if (rc == 0)
        rc = tide_graph_start(su.g, &e);
    int max_threads = base;
    if (rc == 0) {
        while (atomic_load(&su.sink.items_atomic) < want_items && !atomic_load(&su.src[0].ended)) {
            int th = tt_thread_count();
            max_threads = th > max_threads ? th : max_threads;
            sched_yield();
        }
        rc = tide_graph_wait(su.g, &e);
    }
    TT_ASSERT_MSG(rc == 0, "P=%u workers=%u: %s", P, workers, e.msg);
    tide_sched_stats st;
    tide_graph_sched_stats(su.g, &st);
    uint32_t w = workers ? workers : tide_sched_default_workers();
    TT_ASSERT_EQ_INT(tide_graph_task_count(su.g), P + 5);
    TT_ASSERT_EQ_INT(st.workers, w < P + 5 ? w : P + 5);
    TT_ASSERT(st.max_running <= st.workers);
    TT_ASSERT_MSG(max_threads <= base + (int)st.workers, "P=%u: %d threads, %d before, %u workers", P,
                  max_threads, base, st.workers);
    TT_ASSERT_MSG(su.sink.bad[0] == 0, "P=%u: %s", P, su.sink.bad);
    TT_ASSERT_EQ_INT(su.sink.items, want_items);
    for (size_t key = 0; key < 3 * NKEYS + 2; key++)
        TT_ASSERT_MSG(su.sink.last_val[key] == want[key], "P=%u key %zu: %lld vs %lld", P, key,
                      (long long)su.sink.last_val[key], (long long)want[key]);
    /* Watermarks: several, the final one +infinity. */
    TT_ASSERT(su.sink.n_wm > 10);
    TT_ASSERT(su.sink.wm == TIDE_TS_MAX);
    /* Barriers: source0 emits ids 1..28 (200000/7000), source1 ends after
     * 17 (120000/7000); alignment lets 18..28 through once it ended. */
    TT_ASSERT_EQ_INT(su.sink.barriers, (n[0] - 1) / barrier_every);
    /* Each key was counted in exactly one partition; with P > 1 more
     * than one partition was used. */
    bool parts_used[64] = {false};
    for (size_t key = 0; key < 3 * NKEYS + 2; key++)
        if (su.sink.part_of[key] >= 0)
            parts_used[su.sink.part_of[key]] = true;
    for (uint32_t p = 0; p < P; p++)
        TT_ASSERT(parts_used[p]);
    teardown(&su);
    TT_ASSERT_EQ_INT(atomic_load(&su.pool.live), 0);
    TT_ASSERT_EQ_INT(atomic_load(&su.pool2.live), 0);
}

static void test_exchange_counts_match_brute_force(void)
{
    static const uint32_t Ps[] = {1, 2, 4};
    for (size_t k = 0; k < sizeof Ps / sizeof Ps[0]; k++)
        check_counts(Ps[k], 0);
}

/* Many more tasks than threads: 40 tasks (35 counters) on 2 workers and
 * on 1, and the small graphs on 1 worker (every task in turn on one
 * thread: nothing may wait for another task inside a callback). */
static void test_many_tasks_few_workers(void)
{
    check_counts(35, 2);
    check_counts(35, 1);
    check_counts(4, 1);
    check_counts(1, 1);
}

/* Random shapes: P, batch size, channel capacity, input sizes (an empty
 * source included) and barrier spacing; same checks against brute force. */
static void test_random_graphs(void)
{
    TT_FOR_SEEDS(it_seed, 0x7469646567726170ull, 0x7469646567726170ull + 5) {
        uint64_t r = it_seed;
        uint32_t P = 1 + (uint32_t)(tt_rand(&r) % 5);
        uint32_t rows = 1 + (uint32_t)(tt_rand(&r) % 300);
        uint32_t cap = 1 + (uint32_t)(tt_rand(&r) % 8);
        int64_t limit = rows < 8 ? 4000 : 40000;
        int64_t n[MAX_SRC];
        for (int k = 0; k < MAX_SRC; k++)
            n[k] = tt_rand(&r) % 8 == 0 ? 0 : (int64_t)(tt_rand(&r) % (uint64_t)limit);
        int64_t be = 200 + (int64_t)(tt_rand(&r) % 3000);

        static int64_t want[3 * NKEYS + 2];
        memset(want, 0, sizeof want);
        int64_t want_items = 0, want_barriers = 0;
        for (int k = 0; k < MAX_SRC; k++) {
            for (int64_t i = 0; i < n[k]; i++) {
                item x = source_item(k, i);
                if (map_keeps(&x)) {
                    want[map_key(x.key)]++;
                    want_items++;
                }
            }
            if (n[k] >= 1 && (n[k] - 1) / be > want_barriers)
                want_barriers = (n[k] - 1) / be;
        }
        static setup su;
        tide_err e = {0};
        memset(&su, 0, sizeof su);
        int rc = build(&su, P, n, be, rows, cap, -1, &e);
        if (rc == 0)
            rc = tide_graph_run(su.g, &e);
        bool ok = rc == 0 && su.sink.bad[0] == 0 && su.sink.items == want_items &&
                  su.sink.barriers == want_barriers && su.sink.wm == TIDE_TS_MAX;
        for (size_t key = 0; ok && key < 3 * NKEYS + 2; key++)
            ok = su.sink.last_val[key] == want[key];
        if (!ok) {
            TT_SEED(it_seed);
            fprintf(stderr, "  P=%u rows=%u cap=%u n=%lld,%lld be=%lld: rc %d %s %s items %lld/%lld "
                            "barriers %lld/%lld\n",
                    P, rows, cap, (long long)n[0], (long long)n[1], (long long)be, rc, e.msg,
                    su.sink.bad, (long long)su.sink.items, (long long)want_items,
                    (long long)su.sink.barriers, (long long)want_barriers);
        }
        teardown(&su);
        TT_ASSERT(ok);
        TT_ASSERT_EQ_INT(atomic_load(&su.pool.live), 0);
        TT_ASSERT_EQ_INT(atomic_load(&su.pool2.live), 0);
    }
}

static int64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &res) != 2)
        res = -1;
    fclose(f);
    return res < 0 ? -1 : (int64_t)res * sysconf(_SC_PAGESIZE);
}

/* A fast source and a slow sink: the source is held back, every channel
 * stays within its capacity, the batches alive stay under the structural
 * bound and RSS does not grow with the input (an unbounded queue would
 * hold the whole ~115 MB of items); on the default pool and on 1 worker. */
static void check_backpressure(uint32_t workers)
{
    static setup su;
    tide_err e = {0};
    memset(&su, 0, sizeof su);
    const int64_t n[MAX_SRC] = {1200000, 1200000};
    const uint32_t rows = 128, cap = 4, P = 2;
    int64_t rss0 = rss_bytes();
    int rc = build_w(&su, P, n, 0, rows, cap, -1, workers, &e);
    TT_ASSERT_MSG(rc == 0, "%s", e.msg);
    su.sink.spin = 40;
    TT_OK(tide_graph_start(su.g, &e));
    /* Sample total queued rows while it runs. */
    uint64_t max_total_rows = 0;
    size_t nch = tide_graph_chan_count(su.g);
    int64_t max_rss = rss0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long iter = 0; atomic_load(&su.sink.items_atomic) < 1500000; iter++) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        TT_ASSERT(t1.tv_sec - t0.tv_sec < 60); /* safety bound */
        uint64_t total = 0;
        for (size_t i = 0; i < nch; i++) {
            tide_chan_stats st;
            tide_graph_chan_stats(su.g, i, &st, NULL);
            total += st.rows_queued;
        }
        if (total > max_total_rows)
            max_total_rows = total;
        if (iter % 64 == 0) {
            int64_t r = rss_bytes();
            if (r > max_rss)
                max_rss = r;
        }
        sched_yield();
    }
    rc = tide_graph_wait(su.g, &e);
    TT_ASSERT_MSG(rc == 0, "%s", e.msg);
    TT_ASSERT_MSG(su.sink.bad[0] == 0, "%s", su.sink.bad);
    uint64_t source_waits = 0;
    for (size_t i = 0; i < nch; i++) {
        tide_chan_stats st;
        const char *name;
        tide_graph_chan_stats(su.g, i, &st, &name);
        TT_ASSERT_MSG(st.max_len <= cap, "%s: %u", name, st.max_len);
        TT_ASSERT_MSG(st.max_rows_queued <= (uint64_t)cap * rows, "%s: %llu", name,
                      (unsigned long long)st.max_rows_queued);
        if (strncmp(name, "source", 6) == 0)
            source_waits += st.send_waits;
    }
    /* Structural bound: queued (in the channel, and up to two capacities
     * in the consumer's alignment queue, task.h) + one pending per output
     * channel + the producer's backlog (task.h "Backpressure": the output
     * of one input batch or poll, here at most one batch per channel: a
     * poll emits 64 items, a map or count turns its <= 128 items into at
     * most one full batch per channel) + one in the hands of each task. */
    long bound = (long)(nch * (3 * cap + 2) + tide_graph_task_count(su.g));
    long max_live = atomic_load(&su.pool.max_live);
    fprintf(stderr, "  backpressure, %u workers: %zu channels, max batches alive %ld (bound %ld), created %ld, "
                    "max rows queued %llu, source send waits %llu, rss growth %lld KB\n",
            workers, nch, max_live, bound, (long)atomic_load(&su.pool.created),
            (unsigned long long)max_total_rows, (unsigned long long)source_waits,
            (long long)(max_rss - rss0) / 1024);
    /* (on one worker the run queue's turns alone keep the source from
     * running ahead: its channels need not fill) */
    TT_ASSERT(source_waits > 0 || workers == 1);
    TT_ASSERT(max_live <= bound);
    TT_ASSERT(max_total_rows <= (uint64_t)nch * cap * rows);
#if !TT_ASAN /* (ASan's quarantine holds freed batches: RSS is no measure there) */
    TT_ASSERT(max_rss - rss0 < 24LL * 1024 * 1024);
#endif
    teardown(&su);
}

static void test_backpressure_bounded(void)
{
    check_backpressure(0);
    check_backpressure(1);
}

/* Barriers injected from outside while the sources run. */
static void test_injected_barriers(void)
{
    static setup su;
    tide_err e = {0};
    memset(&su, 0, sizeof su);
    const int64_t n[MAX_SRC] = {150000, 40000};
    int rc = build(&su, 2, n, 0, 64, 2, -1, &e);
    TT_ASSERT_MSG(rc == 0, "%s", e.msg);
    su.sink.injected = true;
    su.sink.spin = 10;
    TT_OK(tide_graph_start(su.g, &e));
    int64_t last = 0;
    for (int k = 1; k <= 6; k++) {
        /* Inject when source0 has made some progress. */
        int64_t target = k * 20000;
        while (atomic_load(&su.src[0].emitted) < target && atomic_load(&su.src[0].emitted) < n[0])
            sched_yield();
        last = tide_graph_inject_barrier(su.g);
    }
    rc = tide_graph_wait(su.g, &e);
    TT_ASSERT_MSG(rc == 0, "%s", e.msg);
    TT_ASSERT_MSG(su.sink.bad[0] == 0, "%s", su.sink.bad);
    TT_ASSERT_EQ_INT(last, 6);
    /* Source 0 may have ended before the last requests: it saw at least
     * those injected while it ran; all that reached the sink were checked. */
    TT_ASSERT(su.sink.barriers >= 1);
    TT_ASSERT(su.sink.items == kept_before(0, n[0]) + kept_before(1, n[1]));
    teardown(&su);
}

/* A counter fails on one key: the graph stops (the sources, held back by
 * backpressure, never run again: they end far from their end),
 * tide_graph_run returns the first error with its task name, and every
 * batch is returned; on the default pool and on 1 worker. */
static void test_error_stops_graph(void)
{
    for (uint32_t workers = 0; workers <= 1; workers++) {
        static setup su;
        tide_err e = {0};
        memset(&su, 0, sizeof su);
        const int64_t n[MAX_SRC] = {400000, 400000};
        int rc = build_w(&su, 2, n, 5000, 64, 2, map_key(5), workers, &e);
        TT_ASSERT_MSG(rc == 0, "%s", e.msg);
        rc = tide_graph_run(su.g, &e);
        TT_ASSERT_EQ_INT(rc, TIDE_EINVAL);
        TT_ASSERT_MSG(strstr(e.msg, "task count") != NULL && strstr(e.msg, "bad key 16") != NULL, "%s", e.msg);
        TT_ASSERT(atomic_load(&su.src[0].emitted) < n[0] / 2 && atomic_load(&su.src[1].emitted) < n[1] / 2);
        TT_ASSERT(!atomic_load(&su.src[0].ended) && !atomic_load(&su.src[1].ended));
        teardown(&su);
        TT_ASSERT_EQ_INT(atomic_load(&su.pool.live), 0);
        TT_ASSERT_EQ_INT(atomic_load(&su.pool2.live), 0);
    }
}

/* ---- the latency flush, with a fake clock ---- */

static _Atomic int64_t fake_ns;
static int64_t fake_mono(void *ctx)
{
    (void)ctx;
    return atomic_load(&fake_ns);
}
static int64_t fake_ms(void *ctx) { return fake_mono(ctx) / 1000000; }

typedef struct trickle_st {
    _Atomic int want;    /* items the test wants emitted so far */
    int done;            /* items emitted */
    _Atomic int finish;
} trickle_st;

static int trickle_poll(void *sp, tide_task_out *out, tide_err *e)
{
    (void)e;
    trickle_st *s = sp;
    if (s->done < atomic_load(&s->want)) {
        item it = {.key = s->done, .ts = s->done};
        s->done++;
        int rc = tide_task_emit(out, 0, &it);
        return rc ? rc : 1;
    }
    return atomic_load(&s->finish) ? 0 : TIDE_EAGAIN;
}

static const tide_task_op trickle_op = {.name = "trickle", .on_poll = trickle_poll};

typedef struct collect_st {
    _Atomic int64_t items;
    _Atomic int64_t batches;
    int64_t wm;
} collect_st;

static int collect_batch(void *sp, uint32_t input, void *bp, uint32_t rows, tide_task_out *out, tide_err *e)
{
    (void)input;
    (void)e;
    collect_st *s = sp;
    atomic_fetch_add(&s->items, rows);
    atomic_fetch_add(&s->batches, 1);
    tide_task_free_batch(out, input, bp);
    return 0;
}

static int collect_wm(void *sp, int64_t wm, tide_task_out *out, tide_err *e)
{
    (void)out;
    (void)e;
    ((collect_st *)sp)->wm = wm;
    return 0;
}

static const tide_task_op collect_op = {.name = "collect", .on_batch = collect_batch, .on_watermark = collect_wm};

/* Wait until the source went idle `k` more times (each idle round checks
 * the flush deadlines against the unchanged fake clock). */
static bool wait_idle_rounds(tide_graph *g, int id, uint64_t k)
{
    tide_task_stats st;
    tide_graph_task_stats(g, id, &st);
    uint64_t target = st.idle_waits + k;
    for (long spins = 0; spins < 200000000L; spins++) {
        tide_graph_task_stats(g, id, &st);
        if (st.idle_waits >= target)
            return true;
        sched_yield();
    }
    return false;
}

static bool wait_items(collect_st *c, int64_t n)
{
    for (long spins = 0; spins < 200000000L; spins++) {
        if (atomic_load(&c->items) >= n)
            return true;
        sched_yield();
    }
    return false;
}

static void test_latency_flush_fake_clock(void)
{
    pool p;
    pool_init(&p, 1024);
    atomic_store(&fake_ns, 1000000000LL);
    tide_clock clk = {fake_ms, fake_mono, NULL};
    tide_graph_cfg cfg = {.batch = pool_type(&p), .batch_rows = 1024, .latency_ns = 5000000,
                          .idle_tick_ns = 100000, .flush_check_every = 1, .clock = &clk};
    tide_graph *g = NULL;
    tide_err e = {0};
    static trickle_st tr;
    static collect_st col;
    memset(&tr, 0, sizeof tr);
    memset(&col, 0, sizeof col);
    int src, dst;
    TT_OK(tide_graph_create(&g, &cfg, &e));
    TT_OK(tide_graph_add(g, "trickle", &trickle_op, &tr, &src, &e));
    TT_OK(tide_graph_add(g, "collect", &collect_op, &col, &dst, &e));
    TT_OK(tide_graph_connect(g, src, dst, NULL, &e));
    TT_OK(tide_graph_start(g, &e));

    /* One item: held while the clock stands still, sent once 5 ms pass. */
    atomic_store(&tr.want, 1);
    TT_ASSERT(wait_idle_rounds(g, src, 20));
    TT_ASSERT_EQ_INT(atomic_load(&col.items), 0);
    atomic_fetch_add(&fake_ns, 4999999);
    TT_ASSERT(wait_idle_rounds(g, src, 20));
    TT_ASSERT_EQ_INT(atomic_load(&col.items), 0);
    atomic_fetch_add(&fake_ns, 1);
    TT_ASSERT(wait_items(&col, 1));

    /* Two more items, 3 ms apart: both go in one batch 5 ms after the first. */
    atomic_store(&tr.want, 2);
    TT_ASSERT(wait_idle_rounds(g, src, 20));
    atomic_fetch_add(&fake_ns, 3000000);
    atomic_store(&tr.want, 3);
    TT_ASSERT(wait_idle_rounds(g, src, 20));
    TT_ASSERT_EQ_INT(atomic_load(&col.items), 1);
    atomic_fetch_add(&fake_ns, 2000000);
    TT_ASSERT(wait_items(&col, 3));
    TT_ASSERT_EQ_INT(atomic_load(&col.batches), 2);

    tide_task_stats st;
    tide_graph_task_stats(g, src, &st);
    TT_ASSERT_EQ_INT(st.latency_flushes, 2);
    atomic_store(&tr.finish, 1);
    TT_OK(tide_graph_wait(g, &e));
    TT_ASSERT(col.wm == TIDE_TS_MAX);
    tide_graph_free(g);
    pool_destroy(&p);
}

int main(void)
{
    TT_RUN(test_exchange_counts_match_brute_force);
    TT_RUN(test_many_tasks_few_workers);
    TT_RUN(test_random_graphs);
    TT_RUN(test_backpressure_bounded);
    TT_RUN(test_injected_barriers);
    TT_RUN(test_error_stops_graph);
    TT_RUN(test_latency_flush_fake_clock);
    TT_DONE();
}
