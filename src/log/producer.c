/*
 * producer.c - transactions in the log (see producer.h for the protocol,
 * the files and the recovery rule).
 */
#include "log/producer.h"

#include "base/buf.h"
#include "base/crc32c.h"
#include "base/fault.h"
#include "base/io.h"
#include "log/topic.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_CAP 4096

typedef struct pstate {
    uint64_t id;
    uint32_t epoch;
    int64_t committed;
} pstate;

struct tide_log_producer {
    char *datadir, *topic, *name;
    char state_path[PATH_CAP];
    tide_log_writer *w;
    tide_file *lock;
    const tide_clock *clock;
    pstate st;            /* as on disk */
    bool recovered;
    int64_t last_pre;     /* the last pre-committed id (or the recovered one) */
    uint64_t *open_txn;   /* per partition: the largest txn written and not committed (0: none) */
    int64_t *last_ts;     /* per partition: the timestamp of the last record written (markers take it) */
    bool *has_ts;
    tide_err err;         /* sticky */
};

/* ---- the state file ---- */

static int dir_path(char *out, const char *datadir, const char *topic, const char *file, tide_err *e)
{
    int n = file ? snprintf(out, PATH_CAP, "%s/topics/%s/producers/%s", datadir, topic, file)
                 : snprintf(out, PATH_CAP, "%s/topics/%s/producers", datadir, topic);
    if (n < 0 || n >= PATH_CAP)
        return tide_err_set(e, TIDE_EINVAL, "%s: path too long", datadir);
    return 0;
}

static bool get_u64(const char **p, const char *key, uint64_t *v)
{
    size_t kl = strlen(key);
    if (strncmp(*p, key, kl) != 0 || (*p)[kl] != ' ')
        return false;
    const char *s = *p + kl + 1;
    uint64_t x = 0;
    int digits = 0;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    if (!digits || *s != '\n')
        return false;
    *v = x;
    *p = s + 1;
    return true;
}

/* Load `path`: 0, TIDE_ENOENT, or TIDE_ECORRUPT naming the file.  *name
 * (malloc'd) when asked. */
static int state_load(const char *path, pstate *st, char **name, tide_err *e)
{
    char *text = NULL;
    size_t len = 0;
    tide_err le = {0};
    int rc = tide_io_read_all(path, &text, &len, &le);
    if (rc == TIDE_ENOENT)
        return rc;
    if (rc)
        return tide_err_set(e, rc, "%s", le.msg);
    size_t body = len;
    if (len == 0 || text[len - 1] != '\n' || strlen(text) != len)
        goto corrupt;
    body = len - 1;
    while (body > 0 && text[body - 1] != '\n')
        body--;
    unsigned crc;
    char tail[16];
    if (sscanf(text + body, "crc32c %8x%15s", &crc, tail) != 1 || len - body != 16 ||
        tide_crc32c(0, text, body) != crc)
        goto corrupt;
    text[body] = '\0';
    const char *p = text;
    if (strncmp(p, "tide-producer 1\nname ", 21) != 0)
        goto corrupt;
    p += 21;
    const char *nl = strchr(p, '\n');
    if (!nl)
        goto corrupt;
    if (name && !(*name = strndup(p, (size_t)(nl - p)))) {
        free(text);
        return tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", path);
    }
    p = nl + 1;
    uint64_t id, epoch, committed;
    if (!get_u64(&p, "id", &id) || !get_u64(&p, "epoch", &epoch) || !get_u64(&p, "committed", &committed) || *p ||
        id == 0 || epoch > UINT32_MAX || committed > INT64_MAX) {
        if (name) {
            free(*name);
            *name = NULL;
        }
        goto corrupt;
    }
    st->id = id;
    st->epoch = (uint32_t)epoch;
    st->committed = (int64_t)committed;
    free(text);
    return 0;
corrupt:
    free(text);
    return tide_err_set(e, TIDE_ECORRUPT, "%s: corrupt producer state file", path);
}

static int state_write(tide_log_producer *p, const pstate *st, tide_err *e)
{
    tide_buf b = {0};
    int rc = tide_buf_printf(&b, "tide-producer 1\nname %s\nid %" PRIu64 "\nepoch %" PRIu32 "\ncommitted %" PRId64 "\n",
                             p->name, st->id, st->epoch, st->committed);
    if (!rc)
        rc = tide_buf_printf(&b, "crc32c %08" PRIx32 "\n", tide_crc32c(0, b.data, b.len));
    if (rc)
        rc = tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", p->state_path);
    else if (!(rc = tide_fault("log.txn.state", e)))
        rc = tide_io_write_atomic(p->state_path, b.data, b.len, e);
    tide_buf_free(&b);
    if (!rc)
        p->st = *st;
    return rc;
}

/* The largest id among the topic's state files. */
static int max_id(const char *dir, uint64_t *out, tide_err *e)
{
    *out = 0;
    DIR *d = opendir(dir);
    if (!d)
        return tide_err_sys(e, errno, "%s: opendir", dir);
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 7 || strcmp(de->d_name + n - 6, ".state") != 0 || de->d_name[0] == '.')
            continue;
        char path[PATH_CAP];
        pstate st;
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
            continue;
        rc = state_load(path, &st, NULL, e);
        if (rc == TIDE_ENOENT)
            rc = 0; /* removed meanwhile */
        else if (!rc && st.id > *out)
            *out = st.id;
    }
    closedir(d);
    return rc;
}

/* ---- open, close ---- */

static void producer_free(tide_log_producer *p)
{
    tide_log_writer_close(p->w, NULL);
    tide_io_close(p->lock);
    free(p->open_txn);
    free(p->last_ts);
    free(p->has_ts);
    free(p->datadir);
    free(p->topic);
    free(p->name);
    free(p);
}

int tide_log_producer_open(tide_log_producer **out, const char *datadir, const char *topic, const char *name,
                           const tide_log_writer_opts *wo, tide_err *e)
{
    int rc;
    *out = NULL;
    if (!name || !tide_topic_name_valid(name))
        return tide_err_set(e, TIDE_EINVAL, "invalid producer name \"%.200s\" (letters, digits, '.', '_', '-')",
                            name ? name : "");
    if (!tide_topic_name_valid(topic))
        return tide_err_set(e, TIDE_EINVAL, "invalid topic name \"%.200s\"", topic);
    if (!tide_topic_exists(datadir, topic))
        return tide_err_set(e, TIDE_ENOENT, "topic %s does not exist (in %s)", topic, datadir);
    tide_log_producer *p = calloc(1, sizeof *p);
    if (!p || !(p->datadir = strdup(datadir)) || !(p->topic = strdup(topic)) || !(p->name = strdup(name))) {
        if (p)
            producer_free(p);
        return tide_err_set(e, TIDE_ENOMEM, "producer %s: out of memory", name);
    }
    p->clock = wo && wo->clock ? wo->clock : tide_clock_system();
    char dir[PATH_CAP], path[PATH_CAP], file[TIDE_TOPIC_NAME_MAX + 16];
    tide_file *reg = NULL;
    tide_err le = {0};
    snprintf(file, sizeof file, "%s.lock", name);
    if ((rc = dir_path(dir, datadir, topic, NULL, e)) || (rc = dir_path(path, datadir, topic, file, e)) ||
        (rc = tide_io_mkdirs(dir, e)) || (rc = tide_io_open(&p->lock, path, TIDE_IO_WRITE | TIDE_IO_CREATE, e)))
        goto fail;
    if ((rc = tide_io_lock(p->lock, TIDE_IO_LOCK_EX, &le))) {
        rc = rc == TIDE_ELOCKED ? tide_err_set(e, rc, "producer %s of topic %s is open in another writer", name, topic)
                                : tide_err_set(e, rc, "%s", le.msg);
        goto fail;
    }
    snprintf(file, sizeof file, "%s.state", name);
    if ((rc = dir_path(p->state_path, datadir, topic, file, e)))
        goto fail;
    rc = state_load(p->state_path, &p->st, NULL, e);
    if (rc == TIDE_ENOENT) {
        /* a new producer: the next id, assigned under the registry lock */
        if ((rc = dir_path(path, datadir, topic, "lock", e)) ||
            (rc = tide_io_open(&reg, path, TIDE_IO_WRITE | TIDE_IO_CREATE, e)) ||
            (rc = tide_io_lock(reg, TIDE_IO_LOCK_EX | TIDE_IO_LOCK_WAIT, e)) || (rc = max_id(dir, &p->st.id, e)))
            goto fail;
        pstate st = {.id = p->st.id + 1};
        rc = state_write(p, &st, e);
        tide_io_close(reg);
        reg = NULL;
        if (rc)
            goto fail;
    } else if (rc) {
        goto fail;
    }
    if ((rc = tide_log_writer_open(&p->w, datadir, topic, wo, e)))
        goto fail;
    uint32_t np = tide_log_writer_partitions(p->w);
    p->open_txn = calloc(np, sizeof *p->open_txn);
    p->last_ts = calloc(np, sizeof *p->last_ts);
    p->has_ts = calloc(np, sizeof *p->has_ts);
    if (!p->open_txn || !p->last_ts || !p->has_ts) {
        rc = tide_err_set(e, TIDE_ENOMEM, "producer %s: out of memory", name);
        goto fail;
    }
    *out = p;
    return 0;
fail:
    tide_io_close(reg);
    producer_free(p);
    return rc;
}

int tide_log_producer_close(tide_log_producer *p, tide_err *e)
{
    if (!p)
        return 0;
    tide_log_writer *w = p->w;
    p->w = NULL;
    int rc = tide_log_writer_close(w, e);
    producer_free(p);
    return rc;
}

tide_log_writer *tide_log_producer_writer(tide_log_producer *p) { return p->w; }
uint64_t tide_log_producer_id(const tide_log_producer *p) { return p->st.id; }
uint32_t tide_log_producer_epoch(const tide_log_producer *p) { return p->st.epoch; }
int64_t tide_log_producer_committed(const tide_log_producer *p) { return p->st.committed; }

/* ---- transactions ---- */

static int check(tide_log_producer *p, const char *what, tide_err *e)
{
    if (p->err.code)
        return tide_err_set(e, p->err.code, "%s", p->err.msg);
    if (!p->recovered)
        return tide_err_set(e, TIDE_EINVAL, "producer %s of topic %s: %s before recover", p->name, p->topic, what);
    return 0;
}

static int fail(tide_log_producer *p, tide_err *e) { return tide_err_set(e, p->err.code, "%s", p->err.msg); }

/* A COMMIT (abort false) or ABORT marker with `txn` into partition `part`. */
static int marker(tide_log_producer *p, uint32_t part, bool abort, int64_t txn, uint32_t epoch, tide_err *e)
{
    int rc = tide_fault("log.txn.marker", e);
    if (rc)
        return rc;
    tide_batch_txn t = {.flags = TIDE_BATCH_TXN | TIDE_BATCH_CONTROL | (abort ? TIDE_BATCH_ABORT : 0),
                        .producer = p->st.id,
                        .txn = (uint64_t)txn,
                        .epoch = epoch};
    const char *v = abort ? "abort" : "commit";
    tide_record r = {.timestamp = p->has_ts[part] ? p->last_ts[part] : tide_clock_now_ms(p->clock),
                     .value = v,
                     .value_len = strlen(v)};
    return tide_log_append_txn(p->w, part, &r, 1, &t, NULL, e);
}

int tide_log_producer_recover(tide_log_producer *p, int64_t pending, tide_err *e)
{
    if (p->err.code)
        return tide_err_set(e, p->err.code, "%s", p->err.msg);
    if (p->recovered)
        return tide_err_set(e, TIDE_EINVAL, "producer %s of topic %s: recovered twice", p->name, p->topic);
    if (pending < p->st.committed)
        return tide_err_set(e, TIDE_EINVAL,
                            "producer %s of topic %s: transaction %" PRId64 " is committed, but the checkpoint "
                            "being resumed pre-committed only up to %" PRId64
                            " (resuming would repeat records; restore a newer checkpoint or write to another topic)",
                            p->name, p->topic, p->st.committed, pending);
    if (p->st.epoch == UINT32_MAX)
        return tide_err_set(e, TIDE_ERANGE, "producer %s of topic %s: epoch exhausted", p->name, p->topic);
    pstate st = {.id = p->st.id, .epoch = p->st.epoch + 1, .committed = pending};
    uint32_t np = tide_log_writer_partitions(p->w);
    int rc = 0;
    for (uint32_t i = 0; i < np && !rc && pending > p->st.committed; i++)
        rc = marker(p, i, false, pending, st.epoch, &p->err);
    for (uint32_t i = 0; i < np && !rc; i++)
        rc = marker(p, i, true, pending, st.epoch, &p->err);
    if (rc || (rc = tide_log_writer_sync(p->w, &p->err)) || (rc = state_write(p, &st, &p->err)))
        return fail(p, e);
    p->recovered = true;
    p->last_pre = pending;
    return 0;
}

int tide_log_producer_append(tide_log_producer *p, uint32_t partition, const tide_record *recs, size_t n,
                             tide_err *e)
{
    int rc = check(p, "append", e);
    if (rc || n == 0)
        return rc;
    if (partition >= tide_log_writer_partitions(p->w))
        return tide_err_set(e, TIDE_EINVAL, "topic %s: no partition %" PRIu32 " (it has %" PRIu32 ")", p->topic,
                            partition, tide_log_writer_partitions(p->w));
    tide_batch_txn t = {.flags = TIDE_BATCH_TXN,
                        .producer = p->st.id,
                        .txn = (uint64_t)p->last_pre + 1,
                        .epoch = p->st.epoch};
    if ((rc = tide_fault("log.txn.append", &p->err)) ||
        (rc = tide_log_append_txn(p->w, partition, recs, n, &t, NULL, &p->err)))
        return fail(p, e);
    p->open_txn[partition] = t.txn;
    p->last_ts[partition] = recs[n - 1].timestamp;
    p->has_ts[partition] = true;
    return 0;
}

int tide_log_producer_precommit(tide_log_producer *p, int64_t id, tide_err *e)
{
    int rc = check(p, "pre-commit", e);
    if (rc)
        return rc;
    if (id <= p->last_pre)
        return tide_err_set(e, TIDE_EINVAL,
                            "producer %s of topic %s: pre-commit of transaction %" PRId64 " after %" PRId64
                            " (ids must increase)",
                            p->name, p->topic, id, p->last_pre);
    if ((rc = tide_fault("log.txn.precommit", &p->err)) || (rc = tide_log_writer_sync(p->w, &p->err)))
        return fail(p, e);
    p->last_pre = id;
    return 0;
}

int tide_log_producer_commit(tide_log_producer *p, int64_t id, tide_err *e)
{
    int rc = check(p, "commit", e);
    if (rc)
        return rc;
    if (id == p->st.committed)
        return 0;
    if (id < p->st.committed)
        return tide_err_set(e, TIDE_EINVAL,
                            "producer %s of topic %s: commit of transaction %" PRId64 " refused: transaction %" PRId64
                            " is already committed (a delayed commit never lands on a later transaction)",
                            p->name, p->topic, id, p->st.committed);
    if (id > p->last_pre)
        return tide_err_set(e, TIDE_EINVAL,
                            "producer %s of topic %s: commit of transaction %" PRId64
                            ", which was not pre-committed (the last pre-committed is %" PRId64 ")",
                            p->name, p->topic, id, p->last_pre);
    uint32_t np = tide_log_writer_partitions(p->w);
    bool any = false;
    for (uint32_t i = 0; i < np; i++) {
        if (!p->open_txn[i])
            continue;
        if ((rc = marker(p, i, false, id, p->st.epoch, &p->err)))
            return fail(p, e);
        any = true;
    }
    pstate st = p->st;
    st.committed = id;
    if ((any && (rc = tide_log_writer_sync(p->w, &p->err))) || (rc = state_write(p, &st, &p->err)))
        return fail(p, e);
    for (uint32_t i = 0; i < np; i++)
        if (p->open_txn[i] <= (uint64_t)id)
            p->open_txn[i] = 0;
    return 0;
}

int tide_log_producer_name(const char *datadir, const char *topic, uint64_t id, char *out, size_t cap,
                           tide_err *e)
{
    char dir[PATH_CAP];
    int rc = dir_path(dir, datadir, topic, NULL, e);
    if (rc)
        return rc;
    DIR *d = opendir(dir);
    if (!d)
        return tide_err_set(e, TIDE_ENOENT, "topic %s has no producers", topic);
    struct dirent *de;
    rc = TIDE_ENOENT;
    while (rc == TIDE_ENOENT && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 7 || strcmp(de->d_name + n - 6, ".state") != 0 || de->d_name[0] == '.')
            continue;
        char path[PATH_CAP];
        pstate st;
        char *name = NULL;
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
            continue;
        tide_err le = {0};
        if (state_load(path, &st, &name, &le) == 0 && st.id == id) {
            snprintf(out, cap, "%s", name);
            rc = 0;
        }
        free(name);
    }
    closedir(d);
    if (rc)
        return tide_err_set(e, rc, "topic %s: no producer has id %" PRIu64, topic, id);
    return 0;
}
