/*
 * coord.c - a named job's lock, ids, checkpoint coordinator and recovery.
 * See coord.h for the protocol; this file is its one implementation.
 *
 * The coordinator thread sleeps on a condition variable until the next
 * checkpoint is due (the system's monotonic clock), a stop is asked, or the
 * run ends.  A checkpoint waits for the flow's snapshots by looking every
 * millisecond (it is off the data path: the tasks never wait for it), and
 * so does the wait for every task to have served complete(n).
 */
#include "job/coord.h"

#include "job/status.h"

#include "base/crc32c.h"
#include "base/fault.h"
#include "base/io.h"
#include "data/timefmt.h"
#include "exec/node_scan.h"
#include "log/reader.h"
#include "log/topic.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PATH_CAP 4096

struct tide_coord {
    char *datadir, *name;
    char dir[PATH_CAP];
    tide_coord_cfg cfg;
    tide_file *lock;
    tide_ckpt_dir *ck;
    bool have_latest;
    tide_ckpt_meta latest;
    tide_buf state;
    int64_t base;     /* barrier ids of this run start after it */
    int64_t reserved; /* ids <= reserved are this run's to hand out */
    int64_t injected; /* the last barrier id injected */

    /* during run */
    tide_job *job;
    const tide_job_spec *spec; /* the job's (or a watcher's): its scan nodes */
    pthread_t th;
    bool th_running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool quit;          /* the flow ended: the thread returns */
    atomic_int stop;    /* tide_coord_stop calls */
    atomic_bool stopped;
    int err_rc;         /* the first checkpoint error (under mu) */
    tide_err err;
    tide_coord_stats st; /* under mu */
    int64_t ckpt_time_ms;           /* under mu: the last checkpoint's */
    char info[TIDE_CKPT_INFO_MAX];  /* under mu: its sources line */
    int64_t started_ms;
    bool status_warned;
    /* under mu: the newest complete checkpoint's scan snapshots, for
     * tide_coord_lag_get: per scan node (u32 node, u64 len, bytes) */
    tide_buf scans;
    int64_t scans_id;
    bool scans_finished;
};

static void keep_scans(tide_coord *c, const tide_job_spec *spec, const tide_buf *store, int64_t id, bool finished);
static void say(tide_coord *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(tide_coord *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->cfg.report)
        c->cfg.report(c->cfg.report_ctx, msg);
    else
        fprintf(stderr, "tide: %s\n", msg);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap(void)
{
    struct timespec d = {0, 1000000};
    nanosleep(&d, NULL);
}

/* ---- the lock ---------------------------------------------------------------- */

static int take_lock(tide_coord *c, tide_err *e)
{
    char path[PATH_CAP + 16];
    snprintf(path, sizeof path, "%s/lock", c->dir);
    int rc = tide_io_open(&c->lock, path, TIDE_IO_READ | TIDE_IO_WRITE | TIDE_IO_CREATE, e);
    if (rc)
        return rc;
    tide_err le = {0};
    rc = tide_io_lock(c->lock, TIDE_IO_LOCK_EX, &le);
    if (rc == TIDE_ELOCKED) {
        char pid[32] = {0};
        size_t got = 0;
        tide_err pe = {0};
        if (tide_io_pread(c->lock, pid, sizeof pid - 1, 0, &got, &pe) != 0)
            got = 0;
        pid[got] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        tide_io_close(c->lock);
        c->lock = NULL;
        return tide_err_set(e, TIDE_ELOCKED, "job %s is running (pid %s): one run of a job at a time",
                            c->name, got ? pid : "unknown");
    }
    if (rc) {
        tide_err_set(e, rc, "%s", le.msg);
        return rc;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if ((rc = tide_io_truncate(c->lock, 0, e)) || (rc = tide_io_pwrite(c->lock, pid, (size_t)n, 0, e)))
        return rc;
    return 0;
}

int tide_coord_probe(const char *datadir, const char *job, bool *running, tide_err *e)
{
    *running = false;
    char path[PATH_CAP];
    int n = snprintf(path, sizeof path, "%s/jobs/%s/lock", datadir, job);
    if (n < 0 || (size_t)n >= sizeof path)
        return tide_err_set(e, TIDE_EINVAL, "%s: path too long", datadir);
    tide_file *f = NULL;
    tide_err le = {0};
    int rc = tide_io_open(&f, path, TIDE_IO_READ, &le);
    if (rc == TIDE_ENOENT)
        return 0;
    if (rc)
        return tide_err_set(e, rc, "%s", le.msg);
    rc = tide_io_lock(f, TIDE_IO_LOCK_SH, &le);
    if (rc == TIDE_ELOCKED) {
        *running = true;
        rc = 0;
    } else if (rc) {
        tide_err_set(e, rc, "%s", le.msg);
    }
    tide_io_close(f);
    return rc;
}

int tide_coord_reset(const char *datadir, const char *job, tide_err *e)
{
    tide_coord c = {0};
    int n = snprintf(c.dir, sizeof c.dir, "%s/jobs/%s", datadir, job);
    if (n < 0 || (size_t)n >= sizeof c.dir - 64)
        return tide_err_set(e, TIDE_EINVAL, "%s: path too long", datadir);
    c.name = (char *)job;
    int rc = take_lock(&c, e);
    if (rc == 0)
        rc = tide_io_rmtree(c.dir, e); /* (the lock file goes with it, still held) */
    tide_io_close(c.lock);
    return rc;
}

/* ---- the ids file --------------------------------------------------------------- */

static int ids_write(tide_coord *c, int64_t next, tide_err *e)
{
    char path[PATH_CAP + 16], text[128];
    snprintf(path, sizeof path, "%s/ids", c->dir);
    int n = snprintf(text, sizeof text, "tide-ids 1\nnext %" PRId64 "\n", next);
    n += snprintf(text + n, sizeof text - (size_t)n, "crc32c %08" PRIx32 "\n", tide_crc32c(0, text, (size_t)n));
    int rc = tide_fault("job.ids", e);
    if (!rc)
        rc = tide_io_write_atomic(path, text, (size_t)n, e);
    return rc;
}

/* The next id the file allows: 0 and *found false when there is none;
 * TIDE_ECORRUPT when it is damaged. */
static int ids_read(tide_coord *c, int64_t *next, bool *found, tide_err *e)
{
    char path[PATH_CAP + 16];
    snprintf(path, sizeof path, "%s/ids", c->dir);
    char *text = NULL;
    size_t len = 0;
    tide_err le = {0};
    *found = false;
    *next = 0;
    int rc = tide_io_read_all(path, &text, &len, &le);
    if (rc == TIDE_ENOENT)
        return 0;
    if (rc)
        return tide_err_set(e, rc, "%s", le.msg);
    *found = true;
    long long v = 0;
    unsigned crc = 0;
    int used = 0;
    rc = TIDE_ECORRUPT;
    char *body_end = NULL;
    if (len < 200 && strlen(text) == len && (body_end = strstr(text, "crc32c ")) &&
        sscanf(text, "tide-ids 1\nnext %lld\n%n", &v, &used) == 1 && text + used == body_end &&
        sscanf(body_end, "crc32c %8x\n", &crc) == 1 && strlen(body_end) == 16 && v >= 1 &&
        tide_crc32c(0, text, (size_t)(body_end - text)) == crc)
        rc = 0;
    free(text);
    if (rc)
        return tide_err_set(e, rc, "%s: damaged", path);
    *next = v;
    return 0;
}

static int reserve(tide_coord *c, int64_t upto, tide_err *e)
{
    int64_t want = upto + TIDE_COORD_ID_BLOCK;
    int rc = ids_write(c, want + 1, e);
    if (rc == 0)
        c->reserved = want;
    return rc;
}

/* ---- open / close ----------------------------------------------------------- */

int tide_coord_open(tide_coord **out, const tide_coord_cfg *cfg, tide_err *e)
{
    *out = NULL;
    if (!cfg->job || !tide_topic_name_valid(cfg->job))
        return tide_err_set(e, TIDE_EINVAL, "job '%s': invalid name (letters, digits, '.', '_', '-'; 1 to %d)",
                            cfg->job ? cfg->job : "", TIDE_TOPIC_NAME_MAX);
    tide_coord *c = calloc(1, sizeof *c);
    if (!c)
        return tide_err_set(e, TIDE_ENOMEM, "job %s: out of memory", cfg->job);
    c->cfg = *cfg;
    c->datadir = strdup(cfg->datadir);
    c->name = strdup(cfg->job);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    atomic_init(&c->stop, 0);
    atomic_init(&c->stopped, false);
    int rc = 0;
    if (!c->datadir || !c->name) {
        rc = tide_err_set(e, TIDE_ENOMEM, "job %s: out of memory", cfg->job);
        goto fail;
    }
    c->cfg.datadir = c->datadir;
    c->cfg.job = c->name;
    if (!c->cfg.keep)
        c->cfg.keep = 3;
    int n = snprintf(c->dir, sizeof c->dir, "%s/jobs/%s", c->datadir, c->name);
    if (n < 0 || (size_t)n >= sizeof c->dir - 64) {
        rc = tide_err_set(e, TIDE_EINVAL, "%s: path too long", c->datadir);
        goto fail;
    }
    if ((rc = tide_io_mkdirs(c->dir, e)) || (rc = take_lock(c, e)) ||
        (rc = tide_ckpt_open(&c->ck, c->datadir, c->name, c->cfg.keep, c->cfg.report, c->cfg.report_ctx, e)))
        goto fail;
    tide_err le = {0};
    rc = tide_ckpt_latest(c->ck, 0, &c->latest, &c->state, &le);
    if (rc == TIDE_ENOENT) {
        rc = 0;
    } else if (rc) {
        tide_err_set(e, rc, "%s", le.msg);
        goto fail;
    } else {
        c->have_latest = true;
        if (c->latest.plan != cfg->plan) {
            rc = tide_err_set(e, TIDE_EINVAL,
                              "job %s: checkpoint %" PRId64 " was taken by another plan (fingerprint %016" PRIx64
                              ", this query's %016" PRIx64 "): the query changed in a way that changes its "
                              "state; run it under another job name, or start this one over with "
                              "`tide job reset %s`",
                              c->name, c->latest.id, c->latest.plan, cfg->plan, c->name);
            goto fail;
        }
    }
    /* ids: after every id handed out before (coord.h "Ids") */
    int64_t newest = c->have_latest ? c->latest.id : 0, next = 0;
    bool found = false;
    le = (tide_err){0};
    if ((rc = ids_read(c, &next, &found, &le)) == TIDE_ECORRUPT) {
        say(c, "%s; checkpoint ids continue 2^20 past checkpoint %" PRId64, le.msg, newest);
        next = newest + (1 << 20) + 1;
        rc = 0;
    } else if (rc) {
        tide_err_set(e, rc, "%s", le.msg);
        goto fail;
    }
    c->base = next - 1 > newest ? next - 1 : newest;
    if ((rc = reserve(c, c->base, e)))
        goto fail;
    c->injected = c->base;
    *out = c;
    return 0;
fail:
    tide_coord_close(c);
    return rc;
}

void tide_coord_close(tide_coord *c)
{
    if (!c)
        return;
    tide_ckpt_close(c->ck);
    tide_io_close(c->lock); /* releases the flock */
    tide_buf_free(&c->state);
    tide_buf_free(&c->scans);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c->datadir);
    free(c->name);
    free(c);
}

int tide_coord_watch(tide_coord **out, const char *datadir, const char *job, const tide_job_spec *spec,
                     tide_err *e)
{
    *out = NULL;
    tide_coord *c = calloc(1, sizeof *c);
    if (!c)
        return tide_err_set(e, TIDE_ENOMEM, "job %s: out of memory", job);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->datadir = strdup(datadir);
    c->name = strdup(job);
    c->spec = spec;
    int rc = !c->datadir || !c->name ? tide_err_set(e, TIDE_ENOMEM, "job %s: out of memory", job)
                                     : tide_ckpt_open_reader(&c->ck, datadir, job, e);
    if (rc) {
        tide_coord_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

int tide_coord_watch_refresh(tide_coord *c, int64_t seen_id, tide_err *e)
{
    pthread_mutex_lock(&c->mu);
    int64_t held = c->scans_id;
    pthread_mutex_unlock(&c->mu);
    if (held != 0 && (seen_id == 0 || seen_id == held))
        return 0; /* (0: the job took none yet; the one it resumed from is held) */
    tide_ckpt_meta m;
    tide_buf state = {0};
    tide_err le = {0};
    int rc = tide_ckpt_latest(c->ck, 0, &m, &state, &le);
    if (rc == 0 && m.id != held)
        keep_scans(c, c->spec, &state, m.id, m.finished);
    tide_buf_free(&state);
    if (rc == TIDE_ENOMEM)
        return tide_err_set(e, rc, "%s", le.msg);
    return 0;
}

bool tide_coord_latest(const tide_coord *c, const tide_ckpt_meta **m)
{
    if (m)
        *m = c->have_latest ? &c->latest : NULL;
    return c->have_latest;
}

int64_t tide_coord_barrier_base(const tide_coord *c) { return c->base; }

void tide_coord_stats_get(tide_coord *c, tide_coord_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->st;
    out->last_time_ms = c->ckpt_time_ms;
    pthread_mutex_unlock(&c->mu);
}

/* ---- the inputs' lag ----------------------------------------------------------- */

/* Keep the scan snapshots of `store` (checkpoint id) for the lag. */
static void keep_scans(tide_coord *c, const tide_job_spec *spec, const tide_buf *store, int64_t id, bool finished)
{
    tide_buf b = {0};
    bool ok = true;
    for (uint32_t i = 0; i < tide_job_spec_node_count(spec) && ok; i++) {
        const tide_flow_node *n = tide_job_spec_get_node(spec, (int)i);
        const void *snap;
        size_t len;
        tide_err e = {0};
        if (n->vt != &tide_node_scan_vt || tide_flow_store_find(store, i, 0, &snap, &len, &e) != 0)
            continue;
        uint64_t l = len;
        ok = tide_buf_append(&b, &i, sizeof i) == 0 && tide_buf_append(&b, &l, sizeof l) == 0 &&
             tide_buf_append(&b, snap, len) == 0;
    }
    pthread_mutex_lock(&c->mu);
    if (ok) { /* (out of memory: the lag stays at the older checkpoint) */
        tide_buf t = c->scans;
        c->scans = b;
        b = t;
        c->scans_id = id;
        c->scans_finished = finished;
    }
    pthread_mutex_unlock(&c->mu);
    tide_buf_free(&b);
}

/* A copy of the kept scans (under mu), with the checkpoint id. */
static int copy_scans(tide_coord *c, tide_buf *out, int64_t *id, bool *finished, tide_err *e)
{
    pthread_mutex_lock(&c->mu);
    int rc = c->scans_id && c->scans.len ? tide_buf_append(out, c->scans.data, c->scans.len) : 0;
    *id = c->scans_id;
    *finished = c->scans_finished;
    pthread_mutex_unlock(&c->mu);
    return rc ? tide_err_set(e, TIDE_ENOMEM, "job %s: out of memory", c->name) : 0;
}

typedef struct scan_rec {
    const tide_src_config *sc; /* NULL: not a connect source */
    const void *snap;
    size_t len;
} scan_rec;

/* The next kept scan at *at: 1, 0 at the end.  (c->spec was set before
 * any scan was kept, under mu.) */
static int next_scan(const tide_coord *c, const tide_buf *b, size_t *at, scan_rec *r)
{
    if (*at + sizeof(uint32_t) + sizeof(uint64_t) > b->len)
        return 0;
    uint32_t node;
    uint64_t len;
    memcpy(&node, b->data + *at, sizeof node);
    memcpy(&len, b->data + *at + sizeof node, sizeof len);
    *at += sizeof node + sizeof len;
    r->snap = b->data + *at;
    r->len = (size_t)len;
    *at += (size_t)len;
    const tide_flow_node *n = tide_job_spec_get_node(c->spec, (int)node);
    const tide_node_scan_cfg *cfg = n->make_ctx;
    r->sc = cfg->kind == TIDE_NODE_SCAN_CONNECT ? cfg->conn : NULL;
    return 1;
}

int tide_coord_lag_get(tide_coord *c, tide_coord_lag *out, tide_err *e)
{
    memset(out, 0, sizeof *out);
    out->watermark = TIDE_TS_MIN;
    tide_buf b = {0};
    bool finished;
    int rc = copy_scans(c, &b, &out->ckpt_id, &finished, e);
    if (rc || out->ckpt_id == 0) {
        tide_buf_free(&b);
        return rc;
    }
    out->known = true;
    out->all_topics = true;
    out->finished = finished;
    int64_t wm = TIDE_TS_MAX;
    size_t at = 0;
    scan_rec r;
    while (rc == 0 && next_scan(c, &b, &at, &r)) {
        uint64_t offs[1024];
        uint32_t n = 0;
        int64_t max_ts, w;
        if ((rc = tide_node_scan_positions(r.snap, r.len, offs, 1024, &n, &max_ts, &w, e)) != 0)
            break;
        if (w < wm)
            wm = w;
        if (!r.sc || r.sc->kind != TIDE_SRC_TOPIC || !r.sc->topic) {
            out->all_topics = false;
            continue;
        }
        tide_partition_info *pi = NULL;
        uint32_t np = 0;
        const char *dd = r.sc->datadir ? r.sc->datadir : c->datadir;
        if ((rc = tide_topic_describe(dd, r.sc->topic, &pi, &np, e)) != 0)
            break;
        for (uint32_t i = 0; i < np && rc == 0; i++) {
            uint64_t pos = i < n && i < 1024 ? offs[i] : 0;
            if (pi[i].next_offset <= pos)
                continue;
            out->records += pi[i].next_offset - pos;
            /* in time: the newest record's timestamp minus the first unread one's */
            tide_log_reader *rd = NULL;
            tide_record rec;
            tide_err le = {0};
            if (tide_log_reader_open(&rd, dd, r.sc->topic, i, &le) == 0 &&
                tide_log_reader_seek(rd, pos < pi[i].first_offset ? pi[i].first_offset : pos, &le) == 0 &&
                tide_log_reader_next(rd, &rec, &le) == 0 && pi[i].max_ts > rec.timestamp &&
                pi[i].max_ts - rec.timestamp > out->ms)
                out->ms = pi[i].max_ts - rec.timestamp;
            tide_log_reader_close(rd);
        }
        free(pi);
        (void)max_ts;
    }
    out->watermark = wm;
    tide_buf_free(&b);
    return rc;
}

int tide_coord_topic_positions(tide_coord *c, const char *topic, uint64_t **offs, uint32_t *n, int64_t *ckpt_id,
                               tide_err *e)
{
    *offs = NULL;
    *n = 0;
    tide_buf b = {0};
    bool finished;
    int rc = copy_scans(c, &b, ckpt_id, &finished, e);
    if (rc == 0 && *ckpt_id == 0)
        rc = tide_err_set(e, TIDE_ENOENT, "job %s: no checkpoint yet", c->name);
    size_t at = 0;
    scan_rec r;
    bool found = false;
    while (rc == 0 && next_scan(c, &b, &at, &r)) {
        if (!r.sc || r.sc->kind != TIDE_SRC_TOPIC || !r.sc->topic || strcmp(r.sc->topic, topic) != 0)
            continue;
        uint64_t got[1024];
        uint32_t k = 0;
        int64_t mx, w;
        if ((rc = tide_node_scan_positions(r.snap, r.len, got, 1024, &k, &mx, &w, e)) != 0)
            break;
        if (k > 1024) {
            rc = tide_err_set(e, TIDE_EUNSUPPORTED, "topic %s: more than 1024 partitions", topic);
            break;
        }
        if (found) {
            if (k != *n || memcmp(got, *offs, k * sizeof *got) != 0)
                rc = tide_err_set(e, TIDE_EINVAL, "job %s: two scans of topic %s stand at different positions",
                                  c->name, topic);
            continue;
        }
        if (!(*offs = malloc((k ? k : 1) * sizeof **offs))) {
            rc = tide_err_set(e, TIDE_ENOMEM, "job %s: out of memory", c->name);
            break;
        }
        memcpy(*offs, got, k * sizeof *got);
        *n = k;
        found = true;
    }
    tide_buf_free(&b);
    if (rc == 0 && !found)
        rc = tide_err_set(e, TIDE_ENOENT, "job %s reads no topic %s", c->name, topic);
    if (rc) {
        free(*offs);
        *offs = NULL;
        *n = 0;
    }
    return rc;
}

/* ---- describing a checkpoint -------------------------------------------------- */

int tide_coord_describe(const tide_job_spec *spec, const tide_buf *store, tide_buf *out, tide_err *e)
{
    int rc = tide_buf_printf(out, "sources: ");
    int64_t wm = TIDE_TS_MAX;
    uint32_t scans = 0;
    for (uint32_t i = 0; i < tide_job_spec_node_count(spec) && rc == 0; i++) {
        const tide_flow_node *n = tide_job_spec_get_node(spec, (int)i);
        if (n->vt != &tide_node_scan_vt)
            continue;
        const void *snap;
        size_t len;
        int64_t w;
        if ((rc = tide_flow_store_find(store, i, 0, &snap, &len, e)) != 0)
            return rc;
        if (scans++ && (rc = tide_buf_printf(out, "; ")) != 0)
            break;
        if ((rc = tide_node_scan_describe(n->make_ctx, snap, len, out, &w, e)) != 0)
            return rc;
        if (w < wm)
            wm = w;
    }
    char ts[64] = "none";
    if (scans == 0 || wm == TIDE_TS_MIN)
        snprintf(ts, sizeof ts, "none");
    else if (wm == TIDE_TS_MAX)
        snprintf(ts, sizeof ts, "end of input");
    else
        ts[tide_ts_format(wm, ts)] = '\0';
    if (rc == 0)
        rc = tide_buf_printf(out, "%s, watermark %s", scans ? "" : "none", ts);
    return rc ? tide_err_set(e, TIDE_ENOMEM, "out of memory describing a checkpoint") : 0;
}

/* ---- taking a checkpoint ------------------------------------------------------- */

static bool quitting(tide_coord *c)
{
    pthread_mutex_lock(&c->mu);
    bool q = c->quit;
    pthread_mutex_unlock(&c->mu);
    return q;
}

/* One checkpoint.  after_run: the flow ended (every task ended): its final
 * state, the manifest marked finished.  *taken: it was written. */
static int take(tide_coord *c, bool after_run, bool *taken, tide_err *e)
{
    *taken = false;
    tide_flow *f = tide_job_flow(c->job);
    int rc;
    if (c->injected + 1 > c->reserved && (rc = reserve(c, c->injected + 1, e)) != 0)
        return rc;
    if ((rc = tide_fault("job.barrier", e)) != 0)
        return rc;
    int64_t t0 = mono_ms();
    int64_t id = tide_flow_inject_barrier(f);
    if (id == 0)
        return 0; /* not started yet */
    c->injected = id;
    tide_buf store = {0};
    for (;;) {
        if ((rc = tide_flow_snapshot_ended(f, id, e)) != 0)
            goto done;
        if (tide_flow_snapshot(f, id, &store, e))
            break;
        if (tide_err_failed(e)) {
            rc = e->code;
            goto done;
        }
        if (!after_run && quitting(c)) {
            /* the flow ended meanwhile: its ended tasks snapshot now, else
             * (it failed) this checkpoint cannot complete */
            if ((rc = tide_flow_snapshot_ended(f, id, e)) == 0 && tide_flow_snapshot(f, id, &store, e))
                break;
            rc = tide_err_failed(e) ? e->code : 0;
            goto done;
        }
        nap();
    }
    tide_ckpt_meta m = {.id = id, .plan = c->cfg.plan, .finished = after_run};
    tide_buf info = {0};
    rc = tide_coord_describe(tide_job_get_spec(c->job), &store, &info, e);
    if (rc == 0)
        snprintf(m.info, sizeof m.info, "%.*s", (int)(info.len < sizeof m.info ? info.len : sizeof m.info - 1),
                 info.data ? (const char *)info.data : "");
    tide_buf_free(&info);
    if (rc || (rc = tide_ckpt_write(c->ck, &m, store.data, store.len, e)) != 0)
        goto done;
    *taken = true;
    keep_scans(c, tide_job_get_spec(c->job), &store, id, after_run);
    int64_t took = mono_ms() - t0;
    pthread_mutex_lock(&c->mu);
    c->st.last_id = id;
    c->st.last_bytes = store.len;
    c->st.last_ms = took;
    c->st.checkpoints++;
    c->ckpt_time_ms = m.time_ms;
    snprintf(c->info, sizeof c->info, "%s", m.info);
    pthread_mutex_unlock(&c->mu);
    if ((rc = tide_fault("job.complete", e)) != 0)
        goto done;
    for (;;) {
        bool all = false;
        if ((rc = tide_flow_complete(f, id, &all, e)) != 0 || all)
            break;
        nap();
    }
    if (rc == TIDE_EFAILED) { /* a task failed: the job reports that error (the flow's first) */
        rc = 0;
        *e = (tide_err){0};
    }
done:
    tide_buf_free(&store);
    return rc;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Rewrite jobs/<job>/status (status.h). */
static void write_status(tide_coord *c, const char *state, const char *error)
{
    tide_jstatus st;
    memset(&st, 0, sizeof st);
    snprintf(st.state, sizeof st.state, "%s", state);
    st.pid = (int64_t)getpid();
    st.started_ms = c->started_ms;
    st.updated_ms = wall_ms();
    tide_job_counts jc;
    tide_job_counts_get(c->job, &jc);
    st.in = jc.in;
    st.out = jc.out;
    st.late = jc.late;
    st.bad = jc.bad;
    st.watermark = jc.watermark;
    pthread_mutex_lock(&c->mu);
    st.ckpt_id = c->st.last_id;
    st.ckpt_bytes = c->st.last_bytes;
    st.ckpt_took_ms = c->st.last_ms;
    st.ckpt_time_ms = c->ckpt_time_ms;
    snprintf(st.sources, sizeof st.sources, "%s", c->info);
    pthread_mutex_unlock(&c->mu);
    snprintf(st.error, sizeof st.error, "%s", error ? error : "");
    tide_err e = {0};
    if (tide_jstatus_write(c->datadir, c->name, &st, &e) != 0 && !c->status_warned) {
        c->status_warned = true;
        say(c, "job %s: cannot write its status (the job goes on): %s", c->name, e.msg);
    }
}

static void fail_with(tide_coord *c, int rc, const tide_err *e)
{
    pthread_mutex_lock(&c->mu);
    if (!c->err_rc) {
        c->err_rc = rc;
        c->err = *e;
    }
    pthread_mutex_unlock(&c->mu);
}

static void *coord_main(void *arg)
{
    tide_coord *c = arg;
    int64_t next = mono_ms() + c->cfg.interval_ms, status_at = mono_ms();
    for (;;) {
        pthread_mutex_lock(&c->mu);
        bool due = false;
        for (;;) {
            if (c->quit || atomic_load(&c->stop) > 0)
                break;
            int64_t now = mono_ms();
            if (c->cfg.interval_ms > 0 && now >= next) {
                due = true;
                break;
            }
            if (now >= status_at)
                break;
            int64_t until = status_at;
            if (c->cfg.interval_ms > 0 && next < until)
                until = next;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t wait_ms = until - now;
            ts.tv_sec += wait_ms / 1000;
            ts.tv_nsec += (wait_ms % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&c->cv, &c->mu, &ts);
        }
        bool quit = c->quit;
        pthread_mutex_unlock(&c->mu);
        if (quit)
            break;
        bool stop = atomic_load(&c->stop) > 0, taken = false;
        if (mono_ms() >= status_at) {
            write_status(c, "running", NULL);
            status_at = mono_ms() + 1000;
        }
        if (!due && !stop)
            continue;
        tide_err e = {0};
        int rc = take(c, false, &taken, &e);
        if (rc) {
            fail_with(c, rc, &e);
            tide_job_cancel(c->job);
            break;
        }
        if (stop) {
            atomic_store(&c->stopped, true);
            tide_job_cancel(c->job);
            break;
        }
        next = mono_ms() + c->cfg.interval_ms;
    }
    return NULL;
}

static void join_thread(tide_coord *c)
{
    pthread_mutex_lock(&c->mu);
    c->quit = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (c->th_running) {
        pthread_join(c->th, NULL);
        c->th_running = false;
    }
}

/* The flow ended: stop the thread; the input ended: the final checkpoint. */
static int on_flow_end(void *ctx, tide_job *j, int rc, tide_err *e)
{
    (void)j;
    tide_coord *c = ctx;
    join_thread(c);
    pthread_mutex_lock(&c->mu);
    int erc = c->err_rc;
    pthread_mutex_unlock(&c->mu);
    if (rc != 0 || erc != 0)
        return 0;
    bool taken;
    return take(c, true, &taken, e);
}

int tide_coord_run(tide_coord *c, tide_job *j, tide_err *e)
{
    int rc;
    c->job = j;
    c->spec = tide_job_get_spec(j);
    if (c->have_latest && (rc = tide_flow_restore(tide_job_flow(j), &c->state, e)) != 0)
        return rc;
    if (c->have_latest)
        keep_scans(c, tide_job_get_spec(j), &c->state, c->latest.id, c->latest.finished);
    tide_job_on_flow_end(j, on_flow_end, c);
    c->started_ms = wall_ms();
    write_status(c, "running", NULL);
    if (pthread_create(&c->th, NULL, coord_main, c) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "job %s: cannot start the checkpoint coordinator", c->name);
    c->th_running = true;
    rc = tide_job_run(j, e);
    join_thread(c); /* (when the flow never ran, the hook did not) */
    pthread_mutex_lock(&c->mu);
    if (c->err_rc) {
        rc = c->err_rc;
        *e = c->err;
    }
    pthread_mutex_unlock(&c->mu);
    bool stopped = atomic_load(&c->stopped) || (rc == TIDE_EFAILED && atomic_load(&c->stop) > 0);
    write_status(c, rc == 0 ? "finished" : stopped ? "stopped" : "failed", rc == 0 || stopped ? NULL : e->msg);
    return rc;
}

void tide_coord_stop(tide_coord *c)
{
    if (atomic_fetch_add(&c->stop, 1) > 0 && c->job) {
        tide_job_cancel(c->job); /* asked twice: at once */
        return;
    }
    pthread_mutex_lock(&c->mu);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

bool tide_coord_stopped(const tide_coord *c) { return atomic_load(&((tide_coord *)c)->stopped); }
