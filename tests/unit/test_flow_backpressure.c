/*
 * test_flow_backpressure.c - a slow sink holds the whole flow back and
 * memory stays bounded (DESIGN.md 3: edges are bounded queues, so a slow
 * sink slows the source).
 *
 *   scan(3M generated logins) -> hash(user_id) -> winagg[2] -> gather -> slow sink
 *
 * Every 5000th result row the sink waits until the scan has blocked on a
 * full channel once more (or is held at a full one now, or has read
 * everything).  Then: the scan was held back early (it had read a small
 * part of the input at the first stall), no channel ever held more than its
 * capacity, the rows queued in channels stay within the channels' bound,
 * the process never has more threads than the pool's workers besides its
 * own,
 * and (outside ASan, whose quarantine keeps freed memory resident) the
 * process grows by far less than the input's size as column batches.
 */
#include "exec/node_scan.h"
#include "exec/node_winagg.h"
#include "flow_rig.h"

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#define HOUR 3600000LL
#define MIN 60000LL
#define T0 1704067200000LL

typedef struct bp {
    tide_flow *f;
    int max_threads; /* of the process, sampled by the sink */
    uint64_t total;
    size_t next_stall; /* rows seen at which the next stall is due */
    int stalls, timeouts, bad_len;
    uint64_t in_at_first_stall, rows_queued_max;
    long rss_max;
} bp;

static long rss_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    fclose(f);
    return rss * sysconf(_SC_PAGESIZE);
}


static bool from_scan(const char *name) { return name && strncmp(name, "scan[0]->", 9) == 0; }

static uint64_t scan_send_waits(tide_flow *f)
{
    uint64_t w = 0;
    for (size_t i = 0; i < tide_flow_chan_count(f); i++) {
        tide_chan_stats st;
        const char *name = NULL;
        tide_flow_chan_stats(f, i, &st, &name);
        if (from_scan(name))
            w += st.send_waits;
    }
    return w;
}

/* A channel out of the scan is full: its next send waits. */
static bool scan_chan_full(tide_flow *f)
{
    for (size_t i = 0; i < tide_flow_chan_count(f); i++) {
        tide_chan_stats st;
        const char *name = NULL;
        tide_flow_chan_stats(f, i, &st, &name);
        if (from_scan(name) && st.len == st.capacity)
            return true;
    }
    return false;
}

static uint64_t records_in(tide_flow *f)
{
    uint64_t c[TIDE_NODE_COUNTERS];
    tide_flow_counts(f, c);
    return c[TIDE_NODE_IN];
}

/* The slow sink, after each batch it took (on its own task's thread). */
static void slow(void *ctx, size_t n)
{
    bp *b = ctx;
    if (n < b->next_stall)
        return;
    b->next_stall = n + 5000;
    uint64_t w0 = scan_send_waits(b->f);
    for (long spins = 0;; spins++) {
        if (scan_send_waits(b->f) > w0 || scan_chan_full(b->f) || records_in(b->f) == b->total)
            break;
        if (spins > 200000000L) {
            b->timeouts++;
            break;
        }
        sched_yield();
    }
    if (b->stalls++ == 0)
        b->in_at_first_stall = records_in(b->f);
    int th = tt_thread_count();
    b->max_threads = th > b->max_threads ? th : b->max_threads;
    uint64_t q = 0;
    for (size_t i = 0; i < tide_flow_chan_count(b->f); i++) {
        tide_chan_stats st;
        tide_flow_chan_stats(b->f, i, &st, NULL);
        q += st.rows_queued;
        if (st.max_len > st.capacity)
            b->bad_len = 1;
    }
    b->rows_queued_max = q > b->rows_queued_max ? q : b->rows_queued_max;
    long rss = rss_bytes();
    b->rss_max = rss > b->rss_max ? rss : b->rss_max;
}

static void test_backpressure(void)
{
    tide_node_scan_cfg sc;
    tide_node_scan_cfg_init(&sc);
    sc.gen.seed = 42;
    sc.gen.events = 3000000;
    sc.gen.users = 1000;
    sc.gen.start_ms = T0;
    sc.gen.end_ms = T0 + 24 * HOUR;
    sc.gen.late_share = 0.05;
    sc.gen.max_delay_ms = 5000;
    sc.batch_rows = 1024;
    sc.unread_cols = 1u << TIDE_NODE_SCAN_LOGINS_COUNTRY | 1u << TIDE_NODE_SCAN_LOGINS_DEVICE;
    tide_err e = {0};
    tide_schema *s_src = NULL, *s_win = NULL, *s_late = NULL;
    TT_OK(tide_node_scan_schema(&sc, 0, &s_src, &e));
    static const uint32_t key = TIDE_NODE_SCAN_LOGINS_USER_ID;
    static const tide_winagg_call agg = {TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};
    tide_node_winagg_cfg wa = {.in = s_src,
                               .key_cols = &key,
                               .n_keys = 1,
                               .time_col = TIDE_NODE_SCAN_LOGINS_TS,
                               .aggs = &agg,
                               .n_aggs = 1,
                               .window = tide_win_tumble(MIN),
                               .mode = TIDE_TRIG_ACCUMULATING,
                               .batch_rows = 1024};
    TT_OK(tide_node_winagg_schema(&wa, 0, &s_win, &e));
    TT_OK(tide_node_winagg_schema(&wa, 1, &s_late, &e));
    fr_sink out;
    fr_sink_init(&out, (uint32_t)tide_schema_ncols(s_win), 0); /* rows only counted */
    bp b = {.total = sc.gen.events};
    out.hook = slow;
    out.hook_ctx = &b;
    tide_flow_cfg fc = {.batch_rows = 1024, .chan_capacity = 4};
    TT_OK(tide_flow_create(&b.f, &fc, &e));
    int src, agg_id, sink;
    tide_flow_node n = fr_node("scan", &tide_node_scan_vt, tide_node_scan_make, &sc, 1, s_src, 0);
    TT_OK(tide_flow_add(b.f, &n, &src, &e));
    n = fr_node("winagg", &tide_node_winagg_vt, tide_node_winagg_make, &wa, 2, s_win, TIDE_CBATCH_OPS);
    n.n_out = 2;
    n.out_schema[1] = s_late;
    TT_OK(tide_flow_add(b.f, &n, &agg_id, &e));
    TT_OK(fr_add_sink(b.f, "slow", &out, s_win, &sink, &e));
    TT_OK(tide_flow_connect(b.f, src, 0, agg_id, TIDE_FLOW_HASH, &key, 1, &e));
    TT_OK(tide_flow_connect(b.f, agg_id, 0, sink, TIDE_FLOW_GATHER, NULL, 0, &e));
    long rss0 = rss_bytes();
    int threads0 = tt_thread_count();
    int rc = tide_flow_run(b.f, &e);
    tide_sched_stats sst;
    tide_flow_sched_stats(b.f, &sst);
    uint64_t c[TIDE_NODE_COUNTERS];
    tide_flow_counts(b.f, c);
    uint64_t bound = 0;
    for (size_t i = 0; i < tide_flow_chan_count(b.f); i++) {
        tide_chan_stats st;
        tide_flow_chan_stats(b.f, i, &st, NULL);
        bound += (uint64_t)st.capacity * fc.batch_rows;
    }
    tide_flow_free(b.f);
    TT_ASSERT_MSG(rc == 0, "%s", e.msg);
    TT_ASSERT_EQ_INT(c[TIDE_NODE_IN], sc.gen.events);
    TT_ASSERT(atomic_load(&out.n) > 500000); /* ~870 users a minute over a day */
    TT_ASSERT_EQ_INT(b.timeouts, 0);
    /* 4 tasks (scan, winagg[2], the sink) on the pool: never more threads
     * than this one and the pool's workers */
    TT_ASSERT(sst.workers >= 1 && sst.workers <= 4);
    TT_ASSERT_MSG(b.max_threads <= threads0 + (int)sst.workers, "%d threads (%d before, %u workers)",
                  b.max_threads, threads0, sst.workers);
    TT_ASSERT(b.stalls > 10);
    TT_ASSERT(!b.bad_len);
    /* the scan was held back: at the first stall it had read a small part */
    TT_ASSERT_MSG(b.in_at_first_stall < sc.gen.events / 10, "in at first stall %llu",
                  (unsigned long long)b.in_at_first_stall);
    TT_ASSERT_MSG(b.rows_queued_max <= bound, "rows queued %llu, bound %llu", (unsigned long long)b.rows_queued_max,
                  (unsigned long long)bound);
    /* 3M events are ~150 MB as column batches; in flight stays far below */
    fprintf(stderr, "  rss growth %.1f MB, rows queued max %llu (bound %llu), %d stalls\n",
            (double)(b.rss_max - rss0) / 1e6, (unsigned long long)b.rows_queued_max, (unsigned long long)bound,
            b.stalls);
#if !TT_ASAN
    TT_ASSERT(b.rss_max - rss0 < 64L * 1000 * 1000);
#endif
    fr_sink_free(&out);
    tide_schema_free(s_src);
    tide_schema_free(s_win);
    tide_schema_free(s_late);
}

int main(void)
{
    TT_RUN(test_backpressure);
    TT_DONE();
}
