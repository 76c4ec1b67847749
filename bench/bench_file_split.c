/*
 * bench_file_split.c - parsing a login CSV (ts,user_id,country,device) with
 * the sequential file source and with the split source (connect/file_split.h)
 * on 1 and 2 threads.
 *
 *   bench_file_split [rows] [chunk_mib] [runs]   default 10000000 rows, 1 MiB chunks, 3 runs
 *
 * The file is generated once into /tmp (tide_gen_logins_write_csv) and
 * reused while its size fits.  Each mode reads the whole file into 4096-row
 * batches; the modes take turns `runs` times and each prints its best wall
 * time (the file is in the page cache after the first) and the process CPU
 * time of that run (MB per CPU second: the cost, whatever else the machine
 * runs).  Modes:
 *   sequential  tide_src_next on one thread
 *   split x1    parse chunk i and deliver it, one after the other, one thread
 *   split P=k   k parsing threads and this thread as the reader, with a ring
 *               of k + 2 work areas (what the runtime will do)
 * Every mode checks that it saw the same rows (count, sum of user_id, sum
 * of positions).  A figure, not a test.
 */
#include "connect/file_split.h"
#include "connect/gen_logins.h"
#include "connect/source.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void) { return clock_s(CLOCK_MONOTONIC); }
static double cpu_now(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

typedef struct tally {
    uint64_t rows, id_sum, pos_sum;
} tally;

static void count(tally *t, const tide_cbatch *b)
{
    uint32_t n = tide_cbatch_rows(b);
    const int64_t *id = tide_cbatch_col_i64(b, 1);
    for (uint32_t r = 0; r < n; r++) {
        t->id_sum += (uint64_t)id[r];
        t->pos_sum += tide_cbatch_pos(b, r);
    }
    t->rows += n;
}

static int run_sequential(const tide_src_config *cfg, tally *t, tide_err *e)
{
    tide_src *src = NULL;
    tide_cbatch *b = NULL;
    int rc = tide_src_open(&src, cfg, e);
    if (!rc)
        rc = tide_cbatch_create(&b, cfg->schema, 4096, TIDE_CBATCH_POS, e);
    if (!rc) {
        tide_src_batch info;
        while ((rc = tide_src_next(src, b, &info, e)) == TIDE_SRC_READY)
            count(t, b);
    }
    tide_cbatch_free(b);
    tide_src_free(src);
    return rc < 0 ? rc : 0;
}

static int deliver(tide_fsplit_reader *r, tide_fsplit_chunk *c, tally *t, tide_err *e)
{
    int rc = tide_fsplit_reader_begin(r, c, e);
    tide_cbatch *b;
    if (!rc)
        while ((rc = tide_fsplit_reader_next(r, &b, e)) == TIDE_SRC_READY)
            count(t, b);
    return rc < 0 ? rc : 0;
}

static int run_inline(const tide_fsplit *fs, tally *t, tide_err *e)
{
    tide_fsplit_reader *r = NULL;
    tide_fsplit_chunk *c = NULL;
    int rc = tide_fsplit_reader_create(&r, fs, e);
    if (!rc)
        rc = tide_fsplit_chunk_create(&c, fs, 4096, e);
    for (uint32_t i = 0; i < tide_fsplit_chunks(fs) && !rc; i++) {
        rc = tide_fsplit_parse(fs, i, c, e);
        if (!rc)
            rc = deliver(r, c, t, e);
    }
    tide_fsplit_chunk_free(c);
    tide_fsplit_reader_free(r);
    return rc;
}

/* ---- P parsing threads, a ring of work areas, this thread reads ---- */

#define MAX_P 8
#define MAX_RING (MAX_P + 2)

typedef struct ring {
    const tide_fsplit *fs;
    uint32_t nslots;
    tide_fsplit_chunk *slot[MAX_RING];
    int state[MAX_RING]; /* 0 free, 1 parsing, 2 parsed */
    uint32_t next;       /* next chunk to claim */
    int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} ring;

typedef struct parser_arg {
    ring *g;
    double cpu; /* the thread's CPU seconds */
} parser_arg;

static void *parser(void *arg)
{
    parser_arg *pa = arg;
    ring *g = pa->g;
    uint32_t n = tide_fsplit_chunks(g->fs);
    pthread_mutex_lock(&g->mu);
    while (!g->stop && g->next < n) {
        uint32_t i = g->next, k = i % g->nslots;
        if (g->state[k] != 0) {
            pthread_cond_wait(&g->cv, &g->mu);
            continue;
        }
        g->next++;
        g->state[k] = 1;
        pthread_mutex_unlock(&g->mu);
        tide_err e = {0};
        (void)tide_fsplit_parse(g->fs, i, g->slot[k], &e); /* a failure reaches the reader */
        pthread_mutex_lock(&g->mu);
        g->state[k] = 2;
        pthread_cond_broadcast(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
    pa->cpu = clock_s(CLOCK_THREAD_CPUTIME_ID);
    return NULL;
}

/* *par_cpu gets the largest CPU time of a parsing thread, *read_cpu the
 * reader's (this thread's). */
static int run_threads(const tide_fsplit *fs, int p, tally *t, double *par_cpu, double *read_cpu, tide_err *e)
{
    ring g = {.fs = fs, .nslots = (uint32_t)p + 2};
    pthread_t th[MAX_P];
    parser_arg pa[MAX_P];
    double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    int started = 0;
    tide_fsplit_reader *r = NULL;
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv, NULL);
    int rc = tide_fsplit_reader_create(&r, fs, e);
    for (uint32_t k = 0; k < g.nslots && !rc; k++)
        rc = tide_fsplit_chunk_create(&g.slot[k], fs, 4096, e);
    for (; started < p && !rc; started++) {
        pa[started] = (parser_arg){&g, 0};
        if (pthread_create(&th[started], NULL, parser, &pa[started]) != 0) {
            rc = tide_err_set(e, TIDE_EINVAL, "pthread_create failed");
            break;
        }
    }
    for (uint32_t i = 0; i < tide_fsplit_chunks(fs) && !rc; i++) {
        uint32_t k = i % g.nslots;
        pthread_mutex_lock(&g.mu);
        while (g.state[k] != 2)
            pthread_cond_wait(&g.cv, &g.mu);
        pthread_mutex_unlock(&g.mu);
        rc = deliver(r, g.slot[k], t, e);
        pthread_mutex_lock(&g.mu);
        g.state[k] = 0;
        pthread_cond_broadcast(&g.cv);
        pthread_mutex_unlock(&g.mu);
    }
    pthread_mutex_lock(&g.mu);
    g.stop = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    *read_cpu = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    *par_cpu = 0;
    for (int k = 0; k < started; k++) {
        pthread_join(th[k], NULL);
        if (pa[k].cpu > *par_cpu)
            *par_cpu = pa[k].cpu;
    }
    for (uint32_t k = 0; k < g.nslots; k++)
        tide_fsplit_chunk_free(g.slot[k]);
    tide_fsplit_reader_free(r);
    pthread_cond_destroy(&g.cv);
    pthread_mutex_destroy(&g.mu);
    return rc;
}

int main(int argc, char **argv)
{
    uint64_t rows = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
    size_t chunk = (argc > 2 ? strtoull(argv[2], NULL, 10) : 1) << 20;
    int runs = argc > 3 ? atoi(argv[3]) : 3;
    tide_err e = {0};
    char path[256];
    snprintf(path, sizeof path, "/tmp/tide_bench_split_%" PRIu64 ".csv", rows);
    struct stat stt;
    if (stat(path, &stt) != 0 || stt.st_size < (off_t)(rows * 30)) {
        tide_gen_logins_cfg g;
        tide_gen_logins_cfg_default(&g);
        g.events = rows;
        fprintf(stderr, "generating %s ...\n", path);
        if (tide_gen_logins_write_csv(&g, path, &e)) {
            fprintf(stderr, "%s\n", e.msg);
            return 1;
        }
        stat(path, &stt);
    }
    double mb = (double)stt.st_size / 1e6;

    tide_schema *s = NULL;
    if (tide_schema_create(&s, &e) || tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, false, &e) ||
        tide_schema_add(s, "user_id", TIDE_TYPE_BIGINT, false, &e) ||
        tide_schema_add(s, "country", TIDE_TYPE_STRING, false, &e) ||
        tide_schema_add(s, "device", TIDE_TYPE_STRING, false, &e)) {
        fprintf(stderr, "schema: %s\n", e.msg);
        return 1;
    }
    tide_src_config cfg;
    tide_src_config_init(&cfg);
    cfg.path = path;
    cfg.schema = s;
    cfg.header = true;
    tide_fsplit *fs = NULL;
    if (tide_fsplit_open(&fs, &cfg, chunk, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    printf("%s: %" PRIu64 " rows, %.1f MB, %u chunks of %zu MiB\n", path, rows, mb, tide_fsplit_chunks(fs),
           chunk >> 20);

    static const char *const names[] = {"sequential", "split x1 (inline)", "split P=1", "split P=2"};
    enum { MODES = 4 };
    double best[MODES], cpu[MODES], par_cpu[MODES] = {0}, read_cpu[MODES] = {0};
    tally got[MODES];
    for (int m = 0; m < MODES; m++)
        best[m] = 1e30;
    /* the modes take turns, so that the load of a shared machine falls on all of them */
    for (int k = 0; k < runs; k++) {
        for (int m = 0; m < MODES; m++) {
            tally t = {0};
            double t0 = now(), c0 = cpu_now(), pc = 0, rcpu = 0;
            int rc = m == 0 ? run_sequential(&cfg, &t, &e)
                     : m == 1 ? run_inline(fs, &t, &e)
                              : run_threads(fs, m - 1, &t, &pc, &rcpu, &e);
            double dt = now() - t0, dc = cpu_now() - c0;
            if (rc) {
                fprintf(stderr, "%s: %s\n", names[m], e.msg);
                return 1;
            }
            if (dt < best[m]) {
                best[m] = dt;
                cpu[m] = dc;
                par_cpu[m] = pc;
                read_cpu[m] = rcpu;
            }
            got[m] = t;
        }
    }
    int differ = 0;
    for (int m = 0; m < MODES; m++) {
        bool same = got[m].rows == got[0].rows && got[m].id_sum == got[0].id_sum && got[m].pos_sum == got[0].pos_sum;
        printf("%-18s %.3f s  %6.0f MB/s  %6.2f M rows/s  (cpu %.3f s, %4.0f MB/cpu-s)  %s\n", names[m], best[m],
               mb / best[m], (double)got[m].rows / best[m] / 1e6, cpu[m], mb / cpu[m],
               same ? "same rows" : "ROWS DIFFER");
        if (m >= 2)
            printf("%18s busiest parser %.3f cpu-s, reader %.3f cpu-s\n", "", par_cpu[m], read_cpu[m]);
        differ |= !same;
    }
    if (differ)
        return 1;
    tide_fsplit_free(fs);
    tide_schema_free(s);
    return 0;
}
