/*
 * test_channel.c - the SPSC channel: order and exactly-once under two
 * threads, backpressure (bounded occupancy, a blocked producer, observed
 * through counters), close, abort, timeouts and a shared consumer signal.
 */
#include "exec/channel.h"
#include "data/types.h"

#include "tt.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Poll `cond` with sched_yield for up to 20 s (a safety bound, not a wait
 * for time to pass); `ok` is set to whether it became true. */
#define POLL_UNTIL(ok, cond)                                              \
    do {                                                                  \
        int64_t pu_end = now_ns() + 20LL * 1000000000;                    \
        while (!(cond) && now_ns() < pu_end)                              \
            sched_yield();                                                \
        (ok) = (cond);                                                    \
    } while (0)

/* The i-th message of a deterministic mixed stream. */
static tide_chan_msg msg_for(uint64_t i)
{
    tide_chan_msg m = {0};
    switch (i % 5) {
    case 0:
    case 1:
    case 2:
        m.kind = TIDE_CHAN_DATA;
        m.rows = (uint32_t)(i % 3);
        m.u.batch = (void *)(uintptr_t)(i + 1);
        break;
    case 3:
        m.kind = TIDE_CHAN_WATERMARK;
        m.u.watermark = (int64_t)i;
        break;
    default:
        m.kind = TIDE_CHAN_BARRIER;
        m.u.checkpoint = (int64_t)i;
        break;
    }
    return m;
}

static bool msg_eq(const tide_chan_msg *a, const tide_chan_msg *b)
{
    if (a->kind != b->kind || a->rows != b->rows)
        return false;
    if (a->kind == TIDE_CHAN_DATA)
        return a->u.batch == b->u.batch;
    return a->u.watermark == b->u.watermark;
}

typedef struct prod_arg {
    tide_chan *c;
    uint64_t n;
    _Atomic uint64_t done; /* messages whose send returned 0 */
    int rc;
} prod_arg;

static void *producer(void *p)
{
    prod_arg *a = p;
    for (uint64_t i = 0; i < a->n; i++) {
        tide_chan_msg m = msg_for(i);
        int rc = tide_chan_send(a->c, &m);
        if (rc != 0) {
            a->rc = rc;
            return NULL;
        }
        atomic_store(&a->done, i + 1);
    }
    tide_chan_close(a->c);
    return NULL;
}

/* Two threads, millions of messages, several capacities (1 forces a
 * hand-off per message): every message arrives once, in order, and the
 * ring never held more than its capacity. */
static void test_stress_order_exactly_once(void)
{
    static const uint32_t caps[] = {1, 7, 64, 1024};
    static const uint64_t counts[] = {30000, 100000, 1000000, 2000000};
    for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
        tide_chan *c = NULL;
        tide_err e = {0};
        TT_OK(tide_chan_create(&c, caps[k], "stress", &e));
        prod_arg a = {.c = c, .n = counts[k]};
        pthread_t t;
        TT_ASSERT(pthread_create(&t, NULL, producer, &a) == 0);
        uint64_t got = 0;
        bool order_ok = true;
        int rc;
        tide_chan_msg m;
        /* Alternate blocking recv and try_recv (then recv) to cover both paths. */
        for (;;) {
            if (got % 2)
                rc = tide_chan_recv(c, &m, -1);
            else if ((rc = tide_chan_try_recv(c, &m)) == TIDE_EAGAIN)
                rc = tide_chan_recv(c, &m, -1);
            if (rc != 1)
                break;
            tide_chan_msg want = msg_for(got);
            if (!msg_eq(&m, &want))
                order_ok = false;
            got++;
        }
        pthread_join(t, NULL);
        tide_chan_stats st;
        tide_chan_stats_get(c, &st);
        tide_chan_free(c);
        TT_ASSERT_EQ_INT(rc, 0);
        TT_ASSERT_EQ_INT(a.rc, 0);
        TT_ASSERT(order_ok);
        TT_ASSERT_EQ_INT(got, counts[k]);
        TT_ASSERT_EQ_INT(st.sent, counts[k]);
        TT_ASSERT_EQ_INT(st.received, counts[k]);
        TT_ASSERT(st.max_len <= caps[k]);
        TT_ASSERT_EQ_INT(st.len, 0);
        TT_ASSERT_EQ_INT(st.rows_queued, 0);
        TT_ASSERT(st.max_rows_queued <= 2ull * caps[k]);
    }
}

/* A consumer that does not read: the producer fills exactly `cap` slots
 * and then blocks (send_waits counts it); each message taken lets exactly
 * one more in. */
static void test_backpressure_blocks_producer(void)
{
    const uint32_t cap = 10;
    tide_chan *c = NULL;
    tide_err e = {0};
    TT_OK(tide_chan_create(&c, cap, "bp", &e));
    prod_arg a = {.c = c, .n = 1000};
    pthread_t t;
    TT_ASSERT(pthread_create(&t, NULL, producer, &a) == 0);

    tide_chan_stats st;
    bool blocked;
    POLL_UNTIL(blocked, (tide_chan_stats_get(c, &st), st.send_waits >= 1));
    TT_ASSERT(blocked);
    /* The producer is inside send #cap+1: cap accepted, no more. */
    TT_ASSERT_EQ_INT(atomic_load(&a.done), cap);
    TT_ASSERT_EQ_INT(st.len, cap);
    TT_ASSERT_EQ_INT(st.sent, cap);

    uint64_t got = 0;
    tide_chan_msg m;
    for (int round = 0; round < 5; round++) {
        uint64_t waits_before = st.send_waits;
        TT_ASSERT_EQ_INT(tide_chan_recv(c, &m, -1), 1);
        tide_chan_msg want = msg_for(got++);
        TT_ASSERT(msg_eq(&m, &want));
        /* The producer gets one slot and blocks again on the next send. */
        POLL_UNTIL(blocked, (tide_chan_stats_get(c, &st), st.send_waits > waits_before));
        TT_ASSERT(blocked);
        TT_ASSERT_EQ_INT(atomic_load(&a.done), cap + got);
        TT_ASSERT_EQ_INT(st.len, cap);
    }
    int rc;
    while ((rc = tide_chan_recv(c, &m, -1)) == 1) {
        tide_chan_msg want = msg_for(got++);
        TT_ASSERT(msg_eq(&m, &want));
    }
    pthread_join(t, NULL);
    tide_chan_stats_get(c, &st);
    tide_chan_free(c);
    TT_ASSERT_EQ_INT(rc, 0);
    TT_ASSERT_EQ_INT(got, 1000);
    TT_ASSERT(st.max_len <= cap);
}

static void test_close_drains_then_ends(void)
{
    tide_chan *c = NULL;
    tide_err e = {0};
    TT_OK(tide_chan_create(&c, 5, "close", &e));
    for (uint64_t i = 0; i < 5; i++) {
        tide_chan_msg m = msg_for(i);
        TT_OK(tide_chan_try_send(c, &m));
    }
    tide_chan_msg m = msg_for(5);
    TT_ASSERT_EQ_INT(tide_chan_try_send(c, &m), TIDE_EAGAIN);
    tide_chan_close(c);
    TT_ASSERT_EQ_INT(tide_chan_send(c, &m), TIDE_EINVAL);
    for (uint64_t i = 0; i < 5; i++) {
        TT_ASSERT(tide_chan_ready(c));
        TT_ASSERT_EQ_INT(tide_chan_recv(c, &m, -1), 1);
        tide_chan_msg want = msg_for(i);
        TT_ASSERT(msg_eq(&m, &want));
    }
    TT_ASSERT_EQ_INT(tide_chan_recv(c, &m, -1), 0);
    TT_ASSERT_EQ_INT(tide_chan_try_recv(c, &m), 0);
    TT_ASSERT(tide_chan_ready(c));
    tide_chan_free(c);
    tide_chan_free(NULL);
}

static void test_recv_timeout_and_bad_capacity(void)
{
    tide_chan *c = NULL;
    tide_err e = {0};
    TT_ASSERT_EQ_INT(tide_chan_create(&c, 0, "zero", &e), TIDE_EINVAL);
    TT_ASSERT(c == NULL);
    TT_ASSERT(strstr(e.msg, "zero") != NULL);
    TT_OK(tide_chan_create(&c, 3, "empty", &e));
    tide_chan_msg m;
    TT_ASSERT(!tide_chan_ready(c));
    TT_ASSERT_EQ_INT(tide_chan_try_recv(c, &m), TIDE_EAGAIN);
    TT_ASSERT_EQ_INT(tide_chan_recv(c, &m, 1000000), TIDE_EAGAIN); /* 1 ms */
    TT_ASSERT_EQ_INT(tide_chan_recv(c, &m, 0), TIDE_EAGAIN);
    TT_ASSERT_EQ_STR(tide_chan_kind_name(TIDE_CHAN_BARRIER), "BARRIER");
    tide_chan_free(c);
}

/* abort wakes a producer blocked on a full ring. */
static void test_abort_wakes_blocked_producer(void)
{
    tide_chan *c = NULL;
    tide_err e = {0};
    TT_OK(tide_chan_create(&c, 2, "abort", &e));
    prod_arg a = {.c = c, .n = 100};
    pthread_t t;
    TT_ASSERT(pthread_create(&t, NULL, producer, &a) == 0);
    tide_chan_stats st;
    bool blocked;
    POLL_UNTIL(blocked, (tide_chan_stats_get(c, &st), st.send_waits >= 1));
    TT_ASSERT(blocked);
    tide_chan_abort(c);
    pthread_join(t, NULL);
    TT_ASSERT_EQ_INT(a.rc, TIDE_EFAILED);
    TT_ASSERT_EQ_INT(atomic_load(&a.done), 2);
    tide_chan_msg m;
    TT_ASSERT_EQ_INT(tide_chan_recv(c, &m, -1), TIDE_EFAILED);
    TT_ASSERT(tide_chan_aborted(c));
    tide_chan_free(c);
}

/* One consumer parks on a signal shared by two channels and wakes for
 * either; each channel's stream stays in order. */
static void *multi_producer(void *p)
{
    prod_arg *a = p;
    return producer(a);
}

static void test_shared_consumer_signal(void)
{
    tide_chan_signal sig;
    tide_err e = {0};
    TT_OK(tide_chan_signal_init(&sig, &e));
    tide_chan *c[2] = {0};
    prod_arg a[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        TT_OK(tide_chan_create(&c[i], 16, "multi", &e));
        tide_chan_set_consumer_signal(c[i], &sig);
        a[i] = (prod_arg){.c = c[i], .n = 60000 + 20000 * (uint64_t)i};
    }
    for (int i = 0; i < 2; i++)
        TT_ASSERT(pthread_create(&t[i], NULL, multi_producer, &a[i]) == 0);
    uint64_t got[2] = {0, 0};
    bool ended[2] = {false, false}, order_ok = true;
    int bad_rc = 0;
    while (!ended[0] || !ended[1]) {
        bool any = false;
        for (int i = 0; i < 2; i++) {
            if (ended[i])
                continue;
            tide_chan_msg m;
            int rc = tide_chan_try_recv(c[i], &m);
            if (rc == 1) {
                tide_chan_msg want = msg_for(got[i]++);
                if (!msg_eq(&m, &want))
                    order_ok = false;
                any = true;
            } else if (rc == 0) {
                ended[i] = true;
                any = true;
            } else if (rc != TIDE_EAGAIN) {
                bad_rc = rc;
                ended[0] = ended[1] = true;
            }
        }
        if (any)
            continue;
        uint32_t key = tide_chan_signal_prepare(&sig);
        if (!tide_chan_ready(c[0]) && !tide_chan_ready(c[1]))
            tide_chan_signal_wait(&sig, key, -1);
        tide_chan_signal_cancel(&sig);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++)
        tide_chan_free(c[i]);
    tide_chan_signal_destroy(&sig);
    TT_ASSERT_EQ_INT(bad_rc, 0);
    TT_ASSERT(order_ok);
    TT_ASSERT_EQ_INT(got[0], a[0].n);
    TT_ASSERT_EQ_INT(got[1], a[1].n);
}

int main(void)
{
    TT_RUN(test_stress_order_exactly_once);
    TT_RUN(test_backpressure_blocks_producer);
    TT_RUN(test_close_drains_then_ends);
    TT_RUN(test_recv_timeout_and_bad_capacity);
    TT_RUN(test_abort_wakes_blocked_producer);
    TT_RUN(test_shared_consumer_signal);
    TT_DONE();
}
