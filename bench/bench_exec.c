/*
 * bench_exec.c - the runtime's plumbing: SPSC channel messages/s between two
 * threads, and items/s through source -> exchange(P) -> count -> sink.
 *
 *   bench_exec [messages] [items]     defaults: 20000000 20000000
 */
#include "base/hash.h"
#include "exec/graph.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- channel ---- */

typedef struct { tide_chan *c; uint64_t n; } chan_arg;

static void *chan_producer(void *p)
{
    chan_arg *a = p;
    for (uint64_t i = 0; i < a->n; i++) {
        tide_chan_msg m = {.kind = TIDE_CHAN_WATERMARK, .u.watermark = (int64_t)i};
        if (tide_chan_send(a->c, &m) != 0)
            break;
    }
    tide_chan_close(a->c);
    return NULL;
}

static void bench_chan(uint64_t n, uint32_t cap)
{
    tide_chan *c;
    tide_err e = {0};
    if (tide_chan_create(&c, cap, "bench", &e) != 0)
        return;
    chan_arg a = {c, n};
    pthread_t t;
    double t0 = now_s();
    pthread_create(&t, NULL, chan_producer, &a);
    tide_chan_msg m;
    uint64_t got = 0, sum = 0;
    while (tide_chan_recv(c, &m, -1) == 1) {
        got++;
        sum += (uint64_t)m.u.watermark;
    }
    pthread_join(t, NULL);
    double dt = now_s() - t0;
    tide_chan_stats st;
    tide_chan_stats_get(c, &st);
    printf("channel cap %5u: %llu messages in %.3f s: %6.1f M msg/s (producer waits %llu, consumer waits %llu)\n",
           cap, (unsigned long long)got, dt, got / dt / 1e6, (unsigned long long)st.send_waits,
           (unsigned long long)st.recv_waits);
    (void)sum;
    tide_chan_free(c);
}

/* ---- graph ---- */

typedef struct item { int64_t key, val; } item;
typedef struct batch { struct batch *next; uint32_t n; item rows[]; } batch;
typedef struct pool { pthread_mutex_t mu; batch *free_list; uint32_t rows; } pool;

static void *b_create(void *ctx, uint32_t rows)
{
    pool *p = ctx;
    pthread_mutex_lock(&p->mu);
    batch *b = p->free_list;
    if (b)
        p->free_list = b->next;
    pthread_mutex_unlock(&p->mu);
    if (!b && !(b = malloc(sizeof *b + (size_t)(rows > p->rows ? rows : p->rows) * sizeof(item))))
        return NULL;
    b->n = 0;
    return b;
}
static int b_append(void *ctx, void *bp, const void *it)
{
    (void)ctx;
    batch *b = bp;
    b->rows[b->n++] = *(const item *)it;
    return 0;
}
static void b_free(void *ctx, void *bp)
{
    pool *p = ctx;
    batch *b = bp;
    pthread_mutex_lock(&p->mu);
    b->next = p->free_list;
    p->free_list = b;
    pthread_mutex_unlock(&p->mu);
}

typedef struct src_st { uint64_t i, n; } src_st;
static int src_poll(void *sp, tide_task_out *out, tide_err *e)
{
    (void)e;
    src_st *s = sp;
    for (int k = 0; k < 1024 && s->i < s->n; k++, s->i++) {
        item it = {(int64_t)(tide_hash_u64(s->i) % 100000), 1};
        int rc = tide_task_emit(out, 0, &it);
        if (rc)
            return rc;
    }
    return s->i < s->n;
}

typedef struct count_st { int64_t counts[100000]; } count_st;
static int count_batch(void *sp, uint32_t in, void *bp, uint32_t rows, tide_task_out *out, tide_err *e)
{
    (void)in; (void)rows; (void)e;
    count_st *s = sp;
    batch *b = bp;
    int rc = 0;
    for (uint32_t r = 0; r < b->n && rc == 0; r++) {
        item it = {b->rows[r].key, ++s->counts[b->rows[r].key]};
        rc = tide_task_emit(out, 0, &it);
    }
    tide_task_free_batch(out, in, bp);
    return rc;
}

typedef struct sink_st { uint64_t items; } sink_st;
static int sink_batch(void *sp, uint32_t in, void *bp, uint32_t rows, tide_task_out *out, tide_err *e)
{
    (void)in; (void)e;
    ((sink_st *)sp)->items += rows;
    tide_task_free_batch(out, in, bp);
    return 0;
}

static uint64_t key_of(void *ctx, const void *it)
{
    (void)ctx;
    return tide_hash_u64((uint64_t)((const item *)it)->key);
}

static const tide_task_op src_op = {.name = "source", .on_poll = src_poll};
static const tide_task_op count_op = {.name = "count", .on_batch = count_batch, .free = free};
static const tide_task_op sink_op = {.name = "sink", .on_batch = sink_batch};

static void bench_graph(uint64_t n, uint32_t P)
{
    pool p = {.rows = 1024};
    pthread_mutex_init(&p.mu, NULL);
    tide_graph_cfg cfg = {.batch = {b_create, b_append, b_free, &p}, .batch_rows = 1024};
    tide_graph *g;
    tide_err e = {0};
    static src_st src;
    static sink_st sink;
    src = (src_st){0, n};
    sink.items = 0;
    int s, k, c[8];
    tide_graph_create(&g, &cfg, &e);
    tide_graph_add(g, "source", &src_op, &src, &s, &e);
    tide_graph_add(g, "sink", &sink_op, &sink, &k, &e);
    for (uint32_t i = 0; i < P; i++) {
        tide_graph_add(g, "count", &count_op, calloc(1, sizeof(count_st)), &c[i], &e);
        tide_graph_connect(g, c[i], k, NULL, &e);
    }
    tide_graph_connect_hash(g, s, c, P, key_of, NULL, NULL, NULL, &e);
    double t0 = now_s();
    int rc = tide_graph_run(g, &e);
    double dt = now_s() - t0;
    printf("graph source->exchange(P=%u)->count->sink: %llu items in %.3f s: %6.1f M items/s%s%s\n", P,
           (unsigned long long)sink.items, dt, sink.items / dt / 1e6, rc ? " ERROR " : "", rc ? e.msg : "");
    tide_graph_free(g);
    while (p.free_list) {
        batch *b = p.free_list;
        p.free_list = b->next;
        free(b);
    }
    pthread_mutex_destroy(&p.mu);
}

int main(int argc, char **argv)
{
    uint64_t msgs = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000000ull;
    uint64_t items = argc > 2 ? strtoull(argv[2], NULL, 10) : 20000000ull;
    bench_chan(msgs / 10, 16);
    bench_chan(msgs, 1024);
    bench_graph(items, 1);
    bench_graph(items, 2);
    bench_graph(items, 4);
    return 0;
}
