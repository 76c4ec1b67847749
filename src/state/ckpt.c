/*
 * ckpt.c - a job's checkpoints on disk (see ckpt.h).
 */
#include "state/ckpt.h"

#include "base/crc32c.h"
#include "base/fault.h"
#include "base/io.h"
#include "log/topic.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define PATH_CAP 4096

struct tide_ckpt_dir {
    char dir[PATH_CAP - 64]; /* room for "/<20 digits>.manifest.tmp" */
    char job[TIDE_TOPIC_NAME_MAX + 1];
    uint32_t keep;
    void (*report)(void *ctx, const char *msg);
    void *ctx;
};

static void say(tide_ckpt_dir *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(tide_ckpt_dir *d, const char *fmt, ...)
{
    char msg[PATH_CAP + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (d->report)
        d->report(d->ctx, msg);
    else
        fprintf(stderr, "tide: %s\n", msg);
}

static void path_of(const tide_ckpt_dir *d, int64_t id, const char *ext, char *out)
{
    /* (the directory leaves room for the name: see tide_ckpt_dir) */
    int n = snprintf(out, PATH_CAP, "%s/%020" PRId64, d->dir, id);
    snprintf(out + n, PATH_CAP - (size_t)n, "%.16s", ext);
}

/* "<20 digits><ext>" -> its id. */
static bool parse_name(const char *name, const char *ext, int64_t *id)
{
    size_t el = strlen(ext);
    if (strlen(name) != 20 + el || strcmp(name + 20, ext) != 0)
        return false;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (name[i] - '0');
    }
    *id = v;
    return v >= 1;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The ids of the files named "<id><ext>", ascending (malloc'd). */
static int list_ids(tide_ckpt_dir *d, const char *ext, int64_t **ids, size_t *n, tide_err *e)
{
    *ids = NULL;
    *n = 0;
    DIR *dh = opendir(d->dir);
    if (!dh)
        return tide_err_sys(e, errno, "%s: opendir", d->dir);
    size_t cap = 0;
    int rc = 0;
    for (struct dirent *de; (de = readdir(dh));) {
        int64_t id;
        if (!parse_name(de->d_name, ext, &id))
            continue;
        if (*n == cap) {
            size_t nc = cap ? 2 * cap : 16;
            int64_t *nv = realloc(*ids, nc * sizeof *nv);
            if (!nv) {
                rc = tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", d->dir);
                break;
            }
            *ids = nv;
            cap = nc;
        }
        (*ids)[(*n)++] = id;
    }
    closedir(dh);
    if (rc) {
        free(*ids);
        *ids = NULL;
        *n = 0;
        return rc;
    }
    if (*n > 1)
        qsort(*ids, *n, sizeof **ids, cmp_id);
    return 0;
}

static bool has_id(const int64_t *v, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == id)
            return true;
    return false;
}

/* Remove what an interrupted write or prune left: temporaries, and states
 * without a manifest. */
static int clean_leftovers(tide_ckpt_dir *d, tide_err *e)
{
    DIR *dh = opendir(d->dir);
    if (!dh)
        return tide_err_sys(e, errno, "%s: opendir", d->dir);
    int rc = 0;
    char path[PATH_CAP];
    for (struct dirent *de; !rc && (de = readdir(dh));) {
        size_t l = strlen(de->d_name);
        if (l > 4 && strcmp(de->d_name + l - 4, ".tmp") == 0) {
            int n = snprintf(path, sizeof path, "%s/%s", d->dir, de->d_name);
            if (n < 0 || (size_t)n >= sizeof path) {
                rc = tide_err_set(e, TIDE_ERANGE, "%s/%s: path too long", d->dir, de->d_name);
                break;
            }
            if (!(rc = tide_io_unlink(path, e)))
                say(d, "%s: removed a temporary file of an interrupted checkpoint", path);
        }
    }
    closedir(dh);
    int64_t *states = NULL, *mans = NULL;
    size_t ns = 0, nm = 0;
    if (!rc && !(rc = list_ids(d, ".state", &states, &ns, e)) &&
        !(rc = list_ids(d, ".manifest", &mans, &nm, e)))
        for (size_t i = 0; i < ns && !rc; i++) {
            if (has_id(mans, nm, states[i]))
                continue;
            path_of(d, states[i], ".state", path);
            if (!(rc = tide_io_unlink(path, e)))
                say(d, "%s: removed the state of checkpoint %" PRId64 ", which has no manifest "
                       "(an interrupted checkpoint)", path, states[i]);
        }
    free(states);
    free(mans);
    return rc;
}

static int dir_new(tide_ckpt_dir **out, const char *datadir, const char *job, uint32_t keep,
                   void (*report)(void *ctx, const char *msg), void *ctx, tide_err *e)
{
    *out = NULL;
    if (!job || !tide_topic_name_valid(job)) /* job names follow the topic rules */
        return tide_err_set(e, TIDE_EINVAL,
                            "job '%s': invalid name (letters, digits, '.', '_', '-'; 1 to %d)",
                            job ? job : "", TIDE_TOPIC_NAME_MAX);
    if (keep < 1)
        return tide_err_set(e, TIDE_EINVAL, "job %s: keep at least 1 checkpoint", job);
    tide_ckpt_dir *d = calloc(1, sizeof *d);
    if (!d)
        return tide_err_set(e, TIDE_ENOMEM, "job %s: out of memory", job);
    int n = snprintf(d->dir, sizeof d->dir, "%s/jobs/%s/checkpoints", datadir, job);
    if (n < 0 || (size_t)n >= sizeof d->dir) {
        free(d);
        return tide_err_set(e, TIDE_EINVAL, "%s: path too long", datadir);
    }
    snprintf(d->job, sizeof d->job, "%s", job);
    d->keep = keep;
    d->report = report;
    d->ctx = ctx;
    *out = d;
    return 0;
}

int tide_ckpt_open(tide_ckpt_dir **out, const char *datadir, const char *job, uint32_t keep,
                   void (*report)(void *ctx, const char *msg), void *ctx, tide_err *e)
{
    tide_ckpt_dir *d;
    int rc = dir_new(&d, datadir, job, keep, report, ctx, e);
    if (rc)
        return rc;
    rc = tide_io_mkdirs(d->dir, e);
    if (!rc)
        rc = clean_leftovers(d, e);
    if (rc) {
        free(d);
        return rc;
    }
    *out = d;
    return 0;
}

static void quiet(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
}

int tide_ckpt_open_reader(tide_ckpt_dir **out, const char *datadir, const char *job, tide_err *e)
{
    return dir_new(out, datadir, job, 1, quiet, NULL, e);
}

void tide_ckpt_close(tide_ckpt_dir *d) { free(d); }

/* ---- the manifest ---------------------------------------------------------- */

static int manifest_format(const tide_ckpt_dir *d, const tide_ckpt_meta *m, char *buf, size_t cap)
{
    int n = snprintf(buf, cap,
                     "tide-checkpoint 2\njob %s\nid %" PRId64 "\nplan %016" PRIx64
                     "\ntime_ms %" PRId64 "\nstate_bytes %" PRIu64 "\nstate_crc32c %08" PRIx32
                     "\nfinished %d\ninfo %s\n",
                     d->job, m->id, m->plan, m->time_ms, m->state_bytes, m->state_crc, m->finished ? 1 : 0,
                     m->info);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    int k = snprintf(buf + n, cap - (size_t)n, "crc32c %08" PRIx32 "\n",
                     tide_crc32c(0, buf, (size_t)n));
    if (k < 0 || (size_t)(n + k) >= cap)
        return -1;
    return n + k;
}

static bool get_u64(const char *s, int base, uint64_t *v)
{
    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, base);
    if (errno || *end)
        return false;
    *v = x;
    return true;
}

/* Parse manifest text (NUL-terminated, changed in place) of checkpoint
 * `id`: 0 or TIDE_ECORRUPT naming what is wrong. */
static int manifest_parse(const tide_ckpt_dir *d, const char *path, int64_t id, char *text,
                          size_t len, tide_ckpt_meta *m, tide_err *e)
{
    memset(m, 0, sizeof *m);
    if (strlen(text) != len || len == 0 || text[len - 1] != '\n')
        return tide_err_set(e, TIDE_ECORRUPT, "%s: damaged manifest (NUL byte or truncated)", path);
    size_t body = len - 1;
    while (body > 0 && text[body - 1] != '\n')
        body--;
    uint64_t crc;
    if (strncmp(text + body, "crc32c ", 7) != 0 || len - body != 16 ||
        strspn(text + body + 7, "0123456789abcdef") != 8)
        return tide_err_set(e, TIDE_ECORRUPT, "%s: damaged manifest (no crc32c line)", path);
    text[len - 1] = '\0';
    if (!get_u64(text + body + 7, 16, &crc) || tide_crc32c(0, text, body) != (uint32_t)crc)
        return tide_err_set(e, TIDE_ECORRUPT, "%s: damaged manifest (checksum mismatch)", path);
    text[body] = '\0';
    /* version 1 has no "finished" line (a checkpoint of version 1 is not finished) */
    static const char *const keys[] = {"tide-checkpoint", "job",          "id",       "plan", "time_ms",
                                       "state_bytes",     "state_crc32c", "finished", "info"};
    int version = 0;
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    for (int k = 0, ln = 1; k < 9; k++, line = strtok_r(NULL, "\n", &save), ln++) {
        if (k == 7 && version == 1)
            k++; /* no "finished" */
        char *sp = line ? strchr(line, ' ') : NULL;
        if (!line || !sp || (size_t)(sp - line) != strlen(keys[k]) ||
            strncmp(line, keys[k], strlen(keys[k])) != 0)
            return tide_err_set(e, TIDE_ECORRUPT, "%s:%d: expected '%s'", path, ln, keys[k]);
        const char *v = sp + 1;
        uint64_t x = 0;
        bool ok = true;
        switch (k) {
        case 0:
            if (strcmp(v, "1") != 0 && strcmp(v, "2") != 0)
                return tide_err_set(e, TIDE_EUNSUPPORTED,
                                    "%s:1: checkpoint format version %s (this build reads 1 and 2)",
                                    path, v);
            version = v[0] - '0';
            break;
        case 1: ok = strcmp(v, d->job) == 0; break;
        case 2: ok = get_u64(v, 10, &x) && x == (uint64_t)id; break;
        case 3: ok = strlen(v) == 16 && get_u64(v, 16, &m->plan); break;
        case 4: ok = get_u64(v, 10, &x) && x <= INT64_MAX, m->time_ms = (int64_t)x; break;
        case 5: ok = get_u64(v, 10, &m->state_bytes); break;
        case 6: ok = strlen(v) == 8 && get_u64(v, 16, &x), m->state_crc = (uint32_t)x; break;
        case 7: ok = (strcmp(v, "0") == 0 || strcmp(v, "1") == 0), m->finished = v[0] == '1'; break;
        default: ok = strlen(v) < sizeof m->info; snprintf(m->info, sizeof m->info, "%s", v); break;
        }
        if (!ok)
            return tide_err_set(e, TIDE_ECORRUPT, "%s:%d: bad %s '%.64s'", path, ln, keys[k], v);
    }
    if (line)
        return tide_err_set(e, TIDE_ECORRUPT, "%s: unexpected line '%.64s'", path, line);
    m->id = id;
    return 0;
}

/* Read and verify checkpoint `id` (meta, and the state into `state` when
 * not NULL): 0, or TIDE_ECORRUPT / TIDE_EUNSUPPORTED naming the problem. */
static int load(tide_ckpt_dir *d, int64_t id, tide_ckpt_meta *m, tide_buf *state, tide_err *e)
{
    char mpath[PATH_CAP], spath[PATH_CAP];
    path_of(d, id, ".manifest", mpath);
    path_of(d, id, ".state", spath);
    char *text = NULL;
    size_t len = 0;
    int rc = tide_io_read_all(mpath, &text, &len, e);
    if (rc)
        return rc;
    rc = manifest_parse(d, mpath, id, text, len, m, e);
    free(text);
    if (rc)
        return rc;
    tide_file *f = NULL;
    uint64_t size = 0;
    tide_err le = {0};
    if ((rc = tide_io_open(&f, spath, TIDE_IO_READ, &le)) || (rc = tide_io_size(f, &size, &le))) {
        tide_io_close(f);
        return tide_err_set(e, rc == TIDE_ENOENT ? TIDE_ECORRUPT : rc, "%s", le.msg);
    }
    if (size != m->state_bytes) {
        tide_io_close(f);
        return tide_err_set(e, TIDE_ECORRUPT, "%s: %" PRIu64 " bytes, the manifest says %" PRIu64,
                            spath, size, m->state_bytes);
    }
    tide_buf tmp = {0};
    tide_buf *b = state ? state : &tmp;
    size_t at = b->len, got = 0;
    if (tide_buf_reserve(b, (size_t)size + 1)) {
        tide_io_close(f);
        return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", spath);
    }
    rc = tide_io_pread(f, b->data + at, (size_t)size, 0, &got, e);
    tide_io_close(f);
    if (!rc && got != size)
        rc = tide_err_set(e, TIDE_ECORRUPT, "%s: shorter than it was", spath);
    if (!rc && tide_crc32c(0, b->data + at, (size_t)size) != m->state_crc)
        rc = tide_err_set(e, TIDE_ECORRUPT, "%s: checksum mismatch", spath);
    if (!rc && state)
        b->len = at + (size_t)size;
    tide_buf_free(&tmp);
    return rc;
}

/* ---- write ------------------------------------------------------------------ */

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Delete the oldest checkpoints beyond `keep`, each manifest first. */
static int prune(tide_ckpt_dir *d, tide_err *e)
{
    int64_t *ids = NULL;
    size_t n = 0;
    int rc = list_ids(d, ".manifest", &ids, &n, e);
    char path[PATH_CAP];
    for (size_t i = 0; !rc && i + d->keep < n; i++) {
        if ((rc = tide_fault("ckpt.prune", e)))
            break;
        path_of(d, ids[i], ".manifest", path);
        if ((rc = tide_io_unlink(path, e)))
            break;
        path_of(d, ids[i], ".state", path);
        tide_err le = {0};
        rc = tide_io_unlink(path, &le);
        if (rc == TIDE_ENOENT)
            rc = 0;
        else if (rc)
            tide_err_set(e, rc, "%s", le.msg);
    }
    free(ids);
    return rc;
}

int tide_ckpt_write(tide_ckpt_dir *d, tide_ckpt_meta *m, const void *state, size_t len,
                    tide_err *e)
{
    if (m->id < 1 || strchr(m->info, '\n'))
        return tide_err_set(e, TIDE_EINVAL, "job %s: checkpoint %" PRId64 ": bad id or info line",
                            d->job, m->id);
    int64_t *ids = NULL;
    size_t n = 0;
    int rc = list_ids(d, ".manifest", &ids, &n, e);
    if (rc)
        return rc;
    int64_t newest = n ? ids[n - 1] : 0;
    free(ids);
    if (m->id <= newest)
        return tide_err_set(e, TIDE_EINVAL,
                            "job %s: checkpoint %" PRId64 " is not newer than checkpoint %" PRId64
                            " (a delayed or repeated write)",
                            d->job, m->id, newest);
    m->time_ms = wall_ms();
    m->state_bytes = len;
    m->state_crc = tide_crc32c(0, state, len);
    char spath[PATH_CAP], tmp[PATH_CAP + 8], mpath[PATH_CAP];
    path_of(d, m->id, ".state", spath);
    path_of(d, m->id, ".manifest", mpath);
    snprintf(tmp, sizeof tmp, "%s.tmp", spath);
    tide_file *f = NULL;
    if ((rc = tide_io_open(&f, tmp, TIDE_IO_WRITE | TIDE_IO_CREATE, e)) ||
        (rc = tide_io_truncate(f, 0, e)) || (rc = tide_fault("ckpt.state.write", e)) ||
        (rc = tide_io_pwrite(f, state, len, 0, e)) || (rc = tide_fault("ckpt.state.fsync", e)) ||
        (rc = tide_io_fsync(f, e))) {
        tide_io_close(f);
        return rc;
    }
    tide_io_close(f);
    if ((rc = tide_fault("ckpt.state.rename", e)) || (rc = tide_io_rename(tmp, spath, e)))
        return rc;
    char text[TIDE_CKPT_INFO_MAX + 512];
    int tl = manifest_format(d, m, text, sizeof text);
    if (tl < 0)
        return tide_err_set(e, TIDE_EINVAL, "job %s: checkpoint %" PRId64 ": manifest too long",
                            d->job, m->id);
    if ((rc = tide_fault("ckpt.manifest.write", e)) ||
        (rc = tide_io_write_atomic(mpath, text, (size_t)tl, e)))
        return rc;
    return prune(d, e);
}

/* ---- read ------------------------------------------------------------------- */

int tide_ckpt_latest(tide_ckpt_dir *d, uint64_t plan, tide_ckpt_meta *m, tide_buf *state,
                     tide_err *e)
{
    int64_t *ids = NULL;
    size_t n = 0;
    int rc = list_ids(d, ".manifest", &ids, &n, e);
    if (rc)
        return rc;
    size_t state_len = state ? state->len : 0;
    rc = TIDE_ENOENT;
    for (size_t i = n; i-- > 0;) {
        tide_err le = {0};
        if (state)
            state->len = state_len;
        int lr = load(d, ids[i], m, state, &le);
        if (lr == TIDE_ENOMEM || lr == TIDE_EIO) {
            rc = tide_err_set(e, lr, "%s", le.msg);
            break;
        }
        if (lr) {
            say(d, "job %s: skipping checkpoint %" PRId64 ": %s", d->job, ids[i], le.msg);
            continue;
        }
        if (plan && m->plan != plan) {
            rc = tide_err_set(e, TIDE_EINVAL,
                              "job %s: checkpoint %" PRId64 " was taken by another plan "
                              "(fingerprint %016" PRIx64 ", this one %016" PRIx64
                              "): the query changed in a way that changes its state; run it "
                              "under another job name, or remove the job's checkpoints",
                              d->job, m->id, m->plan, plan);
            break;
        }
        rc = 0;
        break;
    }
    if (rc == TIDE_ENOENT)
        tide_err_set(e, rc, "job %s: no complete checkpoint", d->job);
    if (rc && state)
        state->len = state_len;
    free(ids);
    return rc;
}

int tide_ckpt_list(tide_ckpt_dir *d, tide_ckpt_meta **v, size_t *n, tide_err *e)
{
    *v = NULL;
    *n = 0;
    int64_t *ids = NULL;
    size_t k = 0;
    int rc = list_ids(d, ".manifest", &ids, &k, e);
    if (rc || k == 0) {
        free(ids);
        return rc;
    }
    if (!(*v = calloc(k, sizeof **v))) {
        free(ids);
        return tide_err_set(e, TIDE_ENOMEM, "job %s: out of memory", d->job);
    }
    for (size_t i = 0; i < k; i++) {
        tide_err le = {0};
        int lr = load(d, ids[i], &(*v)[*n], NULL, &le);
        if (lr == TIDE_ENOMEM || lr == TIDE_EIO) {
            rc = tide_err_set(e, lr, "%s", le.msg);
            break;
        }
        if (lr == 0)
            ++*n;
    }
    free(ids);
    if (rc) {
        free(*v);
        *v = NULL;
        *n = 0;
    }
    return rc;
}
