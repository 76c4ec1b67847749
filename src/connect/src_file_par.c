/*
 * src_file_par.c - a FILE source parsed by several threads
 * (cfg.parse_threads > 1): connect/file_split.h's chunks, parsed ahead and
 * handed out in file order.  To its user it is the sequential FILE source:
 * the same rows, positions, dead letters and batches, in the same order.
 *
 * Parsers take chunk indexes in order from a shared counter and parse each
 * into a work area of a ring of W = 2 x parse_threads; chunk i goes to slot
 * i mod W, and a chunk is taken only while its slot holds no undelivered
 * chunk, so at most W chunks are parsed ahead of the reader (memory stays
 * bounded: W work areas).  The parsers are parse_threads - 1 worker
 * threads and the reading thread itself: next() begins the chunk the
 * reader wants once it is parsed, and while it is not, parses the next
 * free chunk rather than sleep.  So a reader with little to do per row
 * (a light query) parses about as much as a worker, and one with much to
 * do (an aggregation chained to the scan) leaves the parsing to the
 * worker: the parallelism's threads stay busy without a thread more than
 * it asks for.  next() copies the chunk's batches into the caller's
 * batch; lend() hands them out as they are (tide_src_next_lend), without
 * the copy.  A seek (before the first next) moves the reader, and the
 * parsers start at its chunk.
 */
#include "connect/file_split.h"
#include "connect/source_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    tide_fsplit_chunk *c;
    int64_t chunk; /* the chunk it holds, parsed; -1: none */
    int rc;        /* its parse's error */
    tide_err err;
} slot;

typedef struct par_src {
    tide_src *s;
    tide_fsplit *fs;
    tide_fsplit_reader *r;
    tide_src_config cfg; /* the split's: dead letters come back here */
    uint32_t nthreads, nslots, nchunks;
    slot *slots;
    pthread_t *th;
    uint32_t started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool sync_ok;
    uint32_t next_chunk; /* the next chunk a worker takes */
    int64_t delivered;   /* chunks used up by the reader */
    bool stop;
    bool in_chunk; /* a chunk is being delivered */
    bool done;
    uint32_t rows; /* the work areas' batch capacity (0: not started) */
} par_src;

static void par_dead(void *ctx, const tide_src_dead *dl)
{
    par_src *p = ctx;
    tide_src__dead(p->s, 0, dl->position, dl->reason, dl->raw, dl->raw_len);
}

/* With p->mu held: take the next chunk if its slot is free and parse it
 * (unlocked meanwhile).  False when there is none to take now. */
static bool parse_next(par_src *p)
{
    if (p->stop || p->next_chunk >= p->nchunks ||
        (int64_t)p->next_chunk - p->delivered >= (int64_t)p->nslots)
        return false;
    uint32_t i = p->next_chunk++;
    slot *sl = &p->slots[i % p->nslots];
    pthread_mutex_unlock(&p->mu);
    tide_err e = {0};
    int rc = tide_fsplit_parse(p->fs, i, sl->c, &e);
    pthread_mutex_lock(&p->mu);
    sl->rc = rc;
    sl->err = e;
    sl->chunk = i;
    pthread_cond_broadcast(&p->cv);
    return true;
}

static void *worker(void *arg)
{
    par_src *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop && p->next_chunk < p->nchunks)
        if (!parse_next(p))
            pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* At the first call: work areas whose batches have the caller's capacity
 * (so that each of their batches is one batch of the caller's, and dead
 * letters fall between batches where the sequential source puts them),
 * then the workers (none for a file of one chunk: the reader parses it). */
static int start(par_src *p, uint32_t rows, tide_err *e)
{
    int rc;
    for (uint32_t i = 0; i < p->nslots; i++)
        if ((rc = tide_fsplit_chunk_create(&p->slots[i].c, p->fs, rows, e)) != 0)
            return rc;
    for (; p->started < p->nthreads; p->started++)
        if (pthread_create(&p->th[p->started], NULL, worker, p) != 0)
            return tide_err_set(e, TIDE_ENOMEM, "source %s: cannot start a parsing thread", p->s->cfg.path);
    p->rows = rows;
    return 0;
}

/* The next batch of the work areas, in file order, into *out (its dead
 * letters delivered before it): TIDE_SRC_READY, TIDE_SRC_END or < 0.  A
 * batch stays valid until the call after the one that returned it (which
 * may hand its work area back to the workers).  The caller's batch
 * capacity `cap` starts the workers at the first call. */
static int next_batch(par_src *p, uint32_t cap, tide_cbatch **out, tide_err *e)
{
    if (!p->rows) {
        int rc = start(p, cap, e);
        if (rc)
            return rc;
    } else if (cap < p->rows) {
        return tide_err_set(e, TIDE_EINVAL, "source %s: a batch smaller than the first one", p->s->cfg.path);
    }
    for (;;) {
        if (p->done)
            return TIDE_SRC_END;
        if (p->in_chunk) {
            int rc = tide_fsplit_reader_next(p->r, out, e);
            if (rc == TIDE_SRC_READY)
                return rc;
            if (rc < 0)
                return rc;
            /* the chunk is used up: free its slot */
            p->in_chunk = false;
            pthread_mutex_lock(&p->mu);
            p->slots[p->delivered % p->nslots].chunk = -1;
            p->delivered++;
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
            if (rc == TIDE_SRC_END) {
                p->done = true;
                return TIDE_SRC_END;
            }
            continue;
        }
        uint32_t want = tide_fsplit_reader_want(p->r);
        if (want >= p->nchunks) {
            p->done = true;
            return TIDE_SRC_END;
        }
        slot *sl = &p->slots[want % p->nslots];
        /* while the chunk is not parsed, parse the next free one here
         * rather than sleep */
        pthread_mutex_lock(&p->mu);
        while (sl->chunk != (int64_t)want)
            if (!parse_next(p))
                pthread_cond_wait(&p->cv, &p->mu);
        pthread_mutex_unlock(&p->mu);
        if (sl->rc)
            return tide_err_set(e, sl->rc, "%s", sl->err.msg);
        int rc = tide_fsplit_reader_begin(p->r, sl->c, e);
        if (rc)
            return rc;
        p->in_chunk = true;
    }
}

/* A work area's batch holds at most the caller's capacity, so each is
 * delivered whole: copied into b (next) or lent (lend). */
static int par_next(tide_src *s, tide_cbatch *b, tide_src_batch *info, tide_err *e)
{
    par_src *p = s->impl;
    info->partition = 0;
    tide_cbatch *cur = NULL;
    int rc = next_batch(p, tide_cbatch_capacity(b), &cur, e);
    if (rc != TIDE_SRC_READY)
        return rc;
    uint32_t n = tide_cbatch_rows(cur), sel[256];
    for (uint32_t done = 0; done < n;) {
        uint32_t k = n - done < 256 ? n - done : 256;
        for (uint32_t j = 0; j < k; j++)
            sel[j] = done + j;
        if ((rc = tide_cbatch_select(b, cur, sel, k, e)) != 0)
            return rc;
        done += k;
    }
    return TIDE_SRC_READY;
}

static int par_lend(tide_src *s, const tide_cbatch *own, tide_cbatch **b, tide_src_batch *info, tide_err *e)
{
    par_src *p = s->impl;
    info->partition = 0;
    return next_batch(p, tide_cbatch_capacity(own), b, e);
}

static bool par_idle(const tide_src *s, uint32_t part)
{
    (void)part;
    return ((const par_src *)s->impl)->done;
}

static void par_position(const tide_src *s, uint32_t part, tide_src_pos *pos)
{
    (void)part;
    const par_src *p = s->impl;
    tide_fsplit_reader_position(p->r, pos);
}

/* Before the first next(): no worker runs yet; they start at the chunk the
 * reader wants from the position on. */
static int par_seek(tide_src *s, uint32_t part, const tide_src_pos *pos, tide_err *e)
{
    (void)part;
    par_src *p = s->impl;
    int rc = tide_fsplit_reader_seek(p->r, pos, e);
    if (rc)
        return rc;
    p->next_chunk = tide_fsplit_reader_want(p->r);
    p->delivered = p->next_chunk;
    return 0;
}

static void par_free(tide_src *s)
{
    par_src *p = s->impl;
    if (!p)
        return;
    if (p->sync_ok) {
        pthread_mutex_lock(&p->mu);
        p->stop = true;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        for (uint32_t i = 0; i < p->started; i++)
            pthread_join(p->th[i], NULL);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
    }
    if (p->slots)
        for (uint32_t i = 0; i < p->nslots; i++)
            tide_fsplit_chunk_free(p->slots[i].c);
    free(p->slots);
    free(p->th);
    tide_fsplit_reader_free(p->r);
    tide_fsplit_free(p->fs);
    free(p);
    s->impl = NULL;
}

static const tide_src_ops par_ops = {par_next, par_idle, par_idle, par_position, par_seek, par_free, par_lend};

int tide_src__file_par_open(tide_src *s, tide_err *e)
{
    par_src *p = calloc(1, sizeof *p);
    if (!p)
        return tide_err_set(e, TIDE_ENOMEM, "source: out of memory");
    s->impl = p;
    s->ops = &par_ops;
    s->bounded = true;
    p->s = s;
    p->cfg = s->cfg;
    p->cfg.schema = s->schema;
    p->cfg.on_dead = par_dead;
    p->cfg.dead_ctx = p;
    int rc = tide_fsplit_open(&p->fs, &p->cfg, s->cfg.chunk_size, e);
    if (rc)
        return rc;
    if ((rc = tide_fsplit_reader_create(&p->r, p->fs, e)) != 0)
        return rc;
    /* the reading thread parses too: parse_threads - 1 workers */
    p->nchunks = tide_fsplit_chunks(p->fs);
    p->nthreads = s->cfg.parse_threads - 1;
    if (p->nthreads > p->nchunks - 1)
        p->nthreads = p->nchunks - 1;
    p->nslots = 2 * s->cfg.parse_threads;
    p->slots = calloc(p->nslots, sizeof *p->slots);
    p->th = calloc(p->nthreads + 1, sizeof *p->th);
    if (!p->slots || !p->th)
        return tide_err_set(e, TIDE_ENOMEM, "source: out of memory");
    for (uint32_t i = 0; i < p->nslots; i++)
        p->slots[i].chunk = -1;
    if (pthread_mutex_init(&p->mu, NULL) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "source: mutex");
    if (pthread_cond_init(&p->cv, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        return tide_err_set(e, TIDE_ENOMEM, "source: condition variable");
    }
    p->sync_ok = true;
    return 0;
}
