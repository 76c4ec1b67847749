/* version.c - job versions: deploy records, the alias, promote.  See version.h. */
#include "job/version.h"

#include "base/crc32c.h"
#include "base/fault.h"
#include "base/io.h"
#include "data/timefmt.h"
#include "job/coord.h"
#include "log/topic.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PATH_CAP 4096
#define TEXT_CAP (2 * TIDE_VER_LINE_MAX + 1024)

static const char *const state_names[] = {"deployed", "stopped", "retired", "failed"};

const char *tide_ver_state_name(tide_ver_state s)
{
    return (unsigned)s < 4 ? state_names[s] : "?";
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- names ---- */

bool tide_ver_name_valid(const char *name)
{
    if (!tide_topic_name_valid(name) || strlen(name) > TIDE_VER_NAME_MAX)
        return false;
    const char *dot = strrchr(name, '.');
    if (dot && dot[1] == 'v' && dot[2]) {
        const char *p = dot + 2;
        while (*p >= '0' && *p <= '9')
            p++;
        if (!*p)
            return false; /* "x.v3" is version 3 of x */
    }
    return true;
}

void tide_ver_unit_name(const char *job, int64_t version, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s.v%" PRId64, job, version);
}

int tide_ver_from_parse(const char *text, tide_ver_from *out, tide_err *e)
{
    if (strcmp(text, "earliest") == 0) {
        *out = (tide_ver_from){.kind = TIDE_VER_FROM_EARLIEST};
        return 0;
    }
    if (strcmp(text, "latest") == 0) {
        *out = (tide_ver_from){.kind = TIDE_VER_FROM_LATEST};
        return 0;
    }
    if (text[0] == '@' && text[1]) {
        const char *t = text + 1;
        char *end;
        errno = 0;
        long long v = strtoll(t, &end, 10);
        int64_t ms;
        if (!errno && !*end && end != t) {
            ms = v;
        } else {
            tide_ts_error te = {0};
            if (tide_ts_parse(t, strlen(t), &ms, &te) != 0)
                return tide_err_set(e, TIDE_EINVAL, "from '%s': not a time (%s at column %u)", text,
                                    te.reason ? te.reason : "malformed", te.column + 1);
        }
        *out = (tide_ver_from){.kind = TIDE_VER_FROM_TIME, .ms = ms};
        return 0;
    }
    return tide_err_set(e, TIDE_EINVAL, "from '%s': expected earliest, latest or @TIME (epoch ms or "
                                        "'YYYY-MM-DD HH:MM:SS')", text);
}

void tide_ver_from_format(const tide_ver_from *f, char *buf, size_t cap)
{
    if (f->kind == TIDE_VER_FROM_LATEST)
        snprintf(buf, cap, "latest");
    else if (f->kind == TIDE_VER_FROM_TIME)
        snprintf(buf, cap, "@%" PRId64, f->ms);
    else
        snprintf(buf, cap, "earliest");
}

/* ---- paths ---- */

static int job_path(char *buf, const char *datadir, const char *job, const char *rest, tide_err *e)
{
    int n = snprintf(buf, PATH_CAP, "%s/jobs/%s%s", datadir, job, rest);
    if (n < 0 || n >= PATH_CAP)
        return tide_err_set(e, TIDE_EINVAL, "%s: path too long", datadir);
    return 0;
}

static int ver_path(char *buf, const char *datadir, const char *job, int64_t v, const char *file, tide_err *e)
{
    int n = snprintf(buf, PATH_CAP, "%s/jobs/%s/versions/v%" PRId64 "%s%s", datadir, job, v, file ? "/" : "",
                     file ? file : "");
    if (n < 0 || n >= PATH_CAP)
        return tide_err_set(e, TIDE_EINVAL, "%s: path too long", datadir);
    return 0;
}

/* ---- "key value" files with a CRC line ---- */

static void one_line(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
    for (char *p = dst; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

static int seal(char *text, int len, size_t cap)
{
    return len + snprintf(text + len, cap - (size_t)len, "crc32c %08" PRIx32 "\n", tide_crc32c(0, text, (size_t)len));
}

/* Read `path`, check its CRC line and that its lines are `keys` in order;
 * vals[k] points into *text (free it).  TIDE_ENOENT passes through, e
 * untouched. */
static int kv_read(const char *path, const char *const *keys, int nkeys, char **text, const char **vals, tide_err *e)
{
    size_t len = 0;
    tide_err le = {0};
    int rc = tide_io_read_all(path, text, &len, &le);
    if (rc == TIDE_ENOENT)
        return rc; /* the caller says what is missing */
    if (rc)
        return tide_err_set(e, rc, "%s", le.msg);
    char *t = *text;
    size_t body = len;
    rc = TIDE_ECORRUPT;
    if (len && t[len - 1] == '\n' && strlen(t) == len) {
        body = len - 1;
        while (body > 0 && t[body - 1] != '\n')
            body--;
        unsigned crc = 0;
        if (len - body == 16 && sscanf(t + body, "crc32c %8x", &crc) == 1 && tide_crc32c(0, t, body) == crc)
            rc = 0;
    }
    if (rc)
        return tide_err_set(e, TIDE_ECORRUPT, "%s: damaged (checksum)", path);
    t[body] = '\0';
    char *save = NULL, *line = strtok_r(t, "\n", &save);
    for (int k = 0; k < nkeys; k++, line = strtok_r(NULL, "\n", &save)) {
        size_t kl = strlen(keys[k]);
        if (!line || strncmp(line, keys[k], kl) != 0 || (line[kl] != ' ' && line[kl] != '\0'))
            return tide_err_set(e, TIDE_ECORRUPT, "%s:%d: expected '%s'", path, k + 1, keys[k]);
        vals[k] = line[kl] ? line + kl + 1 : "";
    }
    if (line)
        return tide_err_set(e, TIDE_ECORRUPT, "%s:%d: unexpected line", path, nkeys + 1);
    return 0;
}

static bool num(const char *v, int64_t *out)
{
    if (!*v)
        return false;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || *end)
        return false;
    *out = x;
    return true;
}

/* ---- meta ---- */

static int meta_text(const tide_ver_info *v, char *text, size_t cap)
{
    char from[64], err[TIDE_VER_LINE_MAX];
    tide_ver_from_format(&v->from, from, sizeof from);
    one_line(err, sizeof err, v->error);
    int len = snprintf(text, cap,
                       "tide-version 1\njob %s\nversion %" PRId64 "\nfrom %s\ncreated_ms %" PRId64
                       "\nstate %s\nerror %s\n",
                       v->job, v->version, from, v->created_ms, tide_ver_state_name(v->state), err);
    return seal(text, len, cap);
}

static int meta_read(const char *datadir, const char *job, int64_t version, tide_ver_info *v, tide_err *e)
{
    static const char *const keys[] = {"tide-version", "job", "version", "from", "created_ms", "state", "error"};
    char path[PATH_CAP];
    int rc = ver_path(path, datadir, job, version, "meta", e);
    if (rc)
        return rc;
    char *text = NULL;
    const char *val[7];
    memset(v, 0, sizeof *v);
    rc = kv_read(path, keys, 7, &text, val, e);
    if (rc == TIDE_ENOENT) {
        free(text);
        return tide_err_set(e, TIDE_ENOENT, "job %s has no version %" PRId64, job, version);
    }
    if (rc == 0) {
        tide_err fe = {0};
        int k = -1;
        if (strcmp(val[0], "1") != 0)
            k = 0;
        else if (strcmp(val[1], job) != 0)
            k = 1;
        else if (!num(val[2], &v->version) || v->version != version)
            k = 2;
        else if (tide_ver_from_parse(val[3], &v->from, &fe) != 0)
            k = 3;
        else if (!num(val[4], &v->created_ms))
            k = 4;
        else {
            k = 5;
            for (int s = 0; s < 4; s++)
                if (strcmp(val[5], state_names[s]) == 0) {
                    v->state = (tide_ver_state)s;
                    k = -1;
                }
        }
        if (k >= 0)
            rc = tide_err_set(e, TIDE_ECORRUPT, "%s:%d: bad %s '%.64s'", path, k + 1, keys[k], val[k]);
        else {
            snprintf(v->job, sizeof v->job, "%s", job);
            snprintf(v->error, sizeof v->error, "%s", val[6]);
        }
    }
    free(text);
    return rc;
}

static int meta_write(const char *path, const tide_ver_info *v, tide_err *e)
{
    char *text = malloc(TEXT_CAP);
    if (!text)
        return tide_err_set(e, TIDE_ENOMEM, "job %s: out of memory", v->job);
    int len = meta_text(v, text, TEXT_CAP);
    int rc = tide_io_write_atomic(path, text, (size_t)len, e);
    free(text);
    return rc;
}

int tide_ver_read(const char *datadir, const char *job, int64_t version, tide_ver_info *out, tide_err *e)
{
    return meta_read(datadir, job, version, out, e);
}

int tide_ver_sql(const char *datadir, const char *job, int64_t version, char **sql, size_t *len, tide_err *e)
{
    char path[PATH_CAP];
    int rc = ver_path(path, datadir, job, version, "query.sql", e);
    return rc ? rc : tide_io_read_all(path, sql, len, e);
}

int tide_ver_set_state(const char *datadir, const char *job, int64_t version, tide_ver_state st,
                       const char *error, tide_err *e)
{
    tide_ver_info v;
    int rc = meta_read(datadir, job, version, &v, e);
    if (rc)
        return rc;
    v.state = st;
    one_line(v.error, sizeof v.error, st == TIDE_VER_FAILED ? error : NULL);
    char path[PATH_CAP];
    if ((rc = ver_path(path, datadir, job, version, "meta", e)) != 0 || (rc = tide_fault("ver.meta", e)) != 0)
        return rc;
    return meta_write(path, &v, e);
}

/* ---- the alias ---- */

int tide_ver_alias_read(const char *datadir, const char *job, tide_ver_alias *out, tide_err *e)
{
    static const char *const keys[] = {"tide-alias", "job", "live", "keep", "switched_ms"};
    memset(out, 0, sizeof *out);
    char path[PATH_CAP];
    int rc = job_path(path, datadir, job, "/alias", e);
    if (rc)
        return rc;
    char *text = NULL;
    const char *val[5];
    tide_err le = {0};
    rc = kv_read(path, keys, 5, &text, val, &le);
    if (rc == TIDE_ENOENT) {
        free(text);
        return 0;
    }
    if (rc == 0) {
        int64_t keep = 0;
        int k = -1;
        if (strcmp(val[0], "1") != 0)
            k = 0;
        else if (strcmp(val[1], job) != 0)
            k = 1;
        else if (!num(val[2], &out->live) || out->live < 1)
            k = 2;
        else if (!num(val[3], &keep) || (keep != 0 && keep != 1))
            k = 3;
        else if (!num(val[4], &out->switched_ms))
            k = 4;
        out->keep = keep == 1;
        if (k >= 0)
            rc = tide_err_set(&le, TIDE_ECORRUPT, "%s:%d: bad %s '%.64s'", path, k + 1, keys[k], val[k]);
    }
    free(text);
    if (rc) {
        memset(out, 0, sizeof *out);
        return tide_err_set(e, rc, "%s", le.msg);
    }
    return 0;
}

static int alias_write(const char *datadir, const char *job, int64_t live, bool keep, tide_err *e)
{
    char path[PATH_CAP], text[TEXT_CAP];
    int rc = job_path(path, datadir, job, "/alias", e);
    if (rc)
        return rc;
    int len = snprintf(text, sizeof text, "tide-alias 1\njob %s\nlive %" PRId64 "\nkeep %d\nswitched_ms %" PRId64 "\n",
                       job, live, keep ? 1 : 0, wall_ms());
    len = seal(text, len, sizeof text);
    if ((rc = tide_fault("ver.alias", e)) != 0)
        return rc;
    return tide_io_write_atomic(path, text, (size_t)len, e);
}

/* ---- listing ---- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The version numbers of `job` (sorted) and the leftover temp dirs'
 * names (when `tmps` is not NULL). */
static int scan_versions(const char *datadir, const char *job, int64_t **out, size_t *n, char ***tmps,
                         size_t *ntmp, tide_err *e)
{
    *out = NULL;
    *n = 0;
    if (tmps) {
        *tmps = NULL;
        *ntmp = 0;
    }
    char path[PATH_CAP];
    int rc = job_path(path, datadir, job, "/versions", e);
    if (rc)
        return rc;
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : tide_err_sys(e, errno, "%s", path);
    size_t cap = 0, tcap = 0;
    for (struct dirent *de; (de = readdir(d)) && rc == 0;) {
        const char *s = de->d_name;
        int64_t v;
        if (s[0] == 'v' && num(s + 1, &v) && v >= 1) {
            if ((rc = tide_array_grow((void **)out, &cap, *n + 1, sizeof **out)) == 0)
                (*out)[(*n)++] = v;
        } else if (tmps && s[0] == '.' && s[1] == 'v' && strstr(s, ".tmp")) {
            char *dup = strdup(s);
            if (!dup || (rc = tide_array_grow((void **)tmps, &tcap, *ntmp + 1, sizeof **tmps)) != 0) {
                free(dup);
                rc = TIDE_ENOMEM;
            } else {
                (*tmps)[(*ntmp)++] = dup;
            }
        }
    }
    closedir(d);
    if (rc)
        return tide_err_set(e, TIDE_ENOMEM, "job %s: out of memory", job);
    if (*n > 1)
        qsort(*out, *n, sizeof **out, cmp_i64);
    return 0;
}

int tide_ver_list(const char *datadir, const char *job, tide_ver_info **out, size_t *n, tide_err *e)
{
    int64_t *vs = NULL;
    size_t nv = 0;
    *out = NULL;
    *n = 0;
    int rc = scan_versions(datadir, job, &vs, &nv, NULL, NULL, e);
    if (rc)
        return rc;
    tide_ver_info *v = nv ? calloc(nv, sizeof *v) : NULL;
    if (nv && !v)
        rc = tide_err_set(e, TIDE_ENOMEM, "job %s: out of memory", job);
    for (size_t i = 0; i < nv && rc == 0; i++)
        rc = meta_read(datadir, job, vs[i], &v[i], e);
    free(vs);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = nv;
    return 0;
}

bool tide_ver_is_deployed(const char *datadir, const char *job)
{
    char path[PATH_CAP];
    tide_err e = {0};
    if (job_path(path, datadir, job, "/versions", &e))
        return false;
    tide_io_info info;
    return tide_io_stat(path, true, &info, &e) == 0 && info.kind == TIDE_IO_DIRECTORY;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int tide_ver_jobs(const char *datadir, char ***names, size_t *n, tide_err *e)
{
    *names = NULL;
    *n = 0;
    char path[PATH_CAP];
    int k = snprintf(path, sizeof path, "%s/jobs", datadir);
    if (k < 0 || (size_t)k >= sizeof path)
        return tide_err_set(e, TIDE_EINVAL, "%s: path too long", datadir);
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : tide_err_sys(e, errno, "%s", path);
    size_t cap = 0;
    int rc = 0;
    for (struct dirent *de; (de = readdir(d)) && rc == 0;) {
        if (!tide_ver_name_valid(de->d_name) || !tide_ver_is_deployed(datadir, de->d_name))
            continue;
        char *dup = strdup(de->d_name);
        if (!dup || tide_array_grow((void **)names, &cap, *n + 1, sizeof **names) != 0) {
            free(dup);
            rc = tide_err_set(e, TIDE_ENOMEM, "out of memory listing jobs");
            break;
        }
        (*names)[(*n)++] = dup;
    }
    closedir(d);
    if (rc) {
        tide_ver_names_free(*names, *n);
        *names = NULL;
        *n = 0;
        return rc;
    }
    if (*n > 1)
        qsort(*names, *n, sizeof **names, cmp_str);
    return 0;
}

void tide_ver_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* ---- deploy ---- */

static int write_file_synced(const char *path, const void *data, size_t len, tide_err *e)
{
    tide_file *f = NULL;
    int rc = tide_io_open(&f, path, TIDE_IO_WRITE | TIDE_IO_CREATE, e);
    if (rc == 0 && (rc = tide_io_truncate(f, 0, e)) == 0 && (len == 0 || (rc = tide_io_pwrite(f, data, len, 0, e)) == 0))
        rc = tide_io_fsync(f, e);
    tide_io_close(f);
    return rc;
}

int tide_ver_deploy(const char *datadir, const char *job, const char *sql, size_t len, const tide_ver_from *from,
                    int64_t *version, tide_err *e)
{
    if (!tide_ver_name_valid(job))
        return tide_err_set(e, TIDE_EINVAL,
                            "job name '%s': invalid (letters, digits, '.', '_', '-', at most %d characters, not "
                            "ending in .v<digits>)",
                            job, TIDE_VER_NAME_MAX);
    char dir[PATH_CAP], tmp[PATH_CAP], path[PATH_CAP + 16];
    int rc = job_path(dir, datadir, job, "/versions", e);
    if (rc || (rc = tide_io_mkdirs(dir, e)) != 0)
        return rc;
    int64_t *vs = NULL;
    size_t nv = 0;
    if ((rc = scan_versions(datadir, job, &vs, &nv, NULL, NULL, e)) != 0)
        return rc;
    int64_t v = nv ? vs[nv - 1] + 1 : 1;
    free(vs);
    tide_ver_alias alias;
    if ((rc = tide_ver_alias_read(datadir, job, &alias, e)) != 0)
        return rc;
    if (alias.live >= v)
        v = alias.live + 1;
    int n = snprintf(tmp, sizeof tmp, "%s/.v%" PRId64 ".tmp", dir, v);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return tide_err_set(e, TIDE_EINVAL, "%s: path too long", datadir);
    tide_err ignore = {0};
    tide_io_rmtree(tmp, &ignore); /* a deploy that died at this number */
    if ((rc = tide_io_mkdir(tmp, e)) != 0)
        return rc;
    tide_ver_info info = {.version = v, .from = *from, .created_ms = wall_ms(), .state = TIDE_VER_DEPLOYED};
    snprintf(info.job, sizeof info.job, "%s", job);
    char *text = malloc(TEXT_CAP);
    if (!text)
        return tide_err_set(e, TIDE_ENOMEM, "job %s: out of memory", job);
    int tl = meta_text(&info, text, TEXT_CAP);
    snprintf(path, sizeof path, "%s/query.sql", tmp);
    rc = write_file_synced(path, sql, len, e);
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/meta", tmp);
        rc = write_file_synced(path, text, (size_t)tl, e);
    }
    free(text);
    if (rc == 0)
        rc = tide_io_fsync_dir(tmp, e);
    if (rc == 0)
        rc = tide_fault("ver.deploy", e);
    if (rc == 0) {
        if ((rc = ver_path(path, datadir, job, v, NULL, e)) == 0)
            rc = tide_io_rename(tmp, path, e);
    }
    if (rc) {
        tide_io_rmtree(tmp, &ignore);
        return rc;
    }
    if (alias.live == 0 && (rc = alias_write(datadir, job, v, false, e)) != 0)
        return rc;
    *version = v;
    return 0;
}

/* ---- promote ---- */

int tide_ver_promote_check(const tide_ver_info *v, const tide_ver_alias *alias, const tide_ver_progress *p,
                           tide_err *e)
{
    if (alias->live == v->version)
        return tide_err_set(e, TIDE_EINVAL, "job %s: v%" PRId64 " is live already", v->job, v->version);
    switch (v->state) {
    case TIDE_VER_FAILED:
        return tide_err_set(e, TIDE_EINVAL, "job %s: v%" PRId64 " failed (%s): a failed version is never promoted",
                            v->job, v->version, v->error);
    case TIDE_VER_STOPPED:
        return tide_err_set(e, TIDE_EINVAL, "job %s: v%" PRId64 " is stopped: deploy a new version instead",
                            v->job, v->version);
    case TIDE_VER_RETIRED:
        return tide_err_set(e, TIDE_EINVAL, "job %s: v%" PRId64 " is retired", v->job, v->version);
    case TIDE_VER_DEPLOYED:
        break;
    }
    if (!p->running)
        return tide_err_set(e, TIDE_EAGAIN, "job %s: v%" PRId64 " is not running (restarting?): not caught up",
                            v->job, v->version);
    if (!p->lag_known)
        return tide_err_set(e, TIDE_EAGAIN, "job %s: v%" PRId64 " has not caught up: no checkpoint yet", v->job,
                            v->version);
    if (p->lag > 0)
        return tide_err_set(e, TIDE_EAGAIN,
                            "job %s: v%" PRId64 " has not caught up: %" PRIu64 " input records beyond its last "
                            "checkpoint",
                            v->job, v->version, p->lag);
    return 0;
}

/* Retire one older version: stop it, mark it, delete unless keep. */
static int retire(const char *datadir, const tide_ver_info *v, bool keep, tide_ver_stop_fn stop, void *ctx,
                  void (*report)(void *, const char *), void *rctx, tide_err *e)
{
    int rc = 0;
    if (stop && (rc = stop(ctx, v->job, v->version, e)) != 0)
        return rc;
    if (v->state != TIDE_VER_RETIRED &&
        (rc = tide_ver_set_state(datadir, v->job, v->version, TIDE_VER_RETIRED, NULL, e)) != 0)
        return rc;
    if (keep)
        return 0;
    if ((rc = tide_fault("ver.retire", e)) != 0)
        return rc;
    char unit[TIDE_VER_NAME_MAX + 32];
    tide_ver_unit_name(v->job, v->version, unit, sizeof unit);
    if (tide_topic_exists(datadir, unit)) {
        if ((rc = tide_topic_delete(datadir, unit, e)) != 0)
            return rc;
        if (report) {
            char msg[512];
            snprintf(msg, sizeof msg, "job %s: deleted the output of retired v%" PRId64 " (topic %s)", v->job,
                     v->version, unit);
            report(rctx, msg);
        }
    }
    char path[PATH_CAP];
    if ((rc = job_path(path, datadir, unit, "", e)) != 0)
        return rc;
    tide_io_info info;
    tide_err se = {0};
    if (tide_io_stat(path, false, &info, &se) == 0 && info.kind != TIDE_IO_NONE &&
        (rc = tide_coord_reset(datadir, unit, e)) != 0)
        return rc;
    return 0;
}

/* Retire every version older than `live` (keep: as the alias says). */
static int retire_older(const char *datadir, const char *job, int64_t live, bool keep, tide_ver_stop_fn stop,
                        void *ctx, void (*report)(void *, const char *), void *rctx, bool only_unfinished,
                        tide_err *e)
{
    tide_ver_info *vs = NULL;
    size_t n = 0;
    int rc = tide_ver_list(datadir, job, &vs, &n, e);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (vs[i].version >= live)
            continue;
        if (only_unfinished && vs[i].state == TIDE_VER_RETIRED) {
            /* retired: only its deletion may be unfinished */
            char unit[TIDE_VER_NAME_MAX + 32], path[PATH_CAP];
            tide_ver_unit_name(job, vs[i].version, unit, sizeof unit);
            tide_io_info info;
            tide_err se = {0};
            bool left = tide_topic_exists(datadir, unit) ||
                        (job_path(path, datadir, unit, "", &se) == 0 && tide_io_stat(path, false, &info, &se) == 0 &&
                         info.kind != TIDE_IO_NONE);
            if (keep || !left)
                continue;
        }
        rc = retire(datadir, &vs[i], keep, stop, ctx, report, rctx, e);
    }
    free(vs);
    return rc;
}

int tide_ver_promote(const char *datadir, const char *job, int64_t version, bool keep, tide_ver_stop_fn stop,
                     void *ctx, tide_err *e)
{
    tide_ver_info v;
    int rc = meta_read(datadir, job, version, &v, e);
    if (rc || (rc = alias_write(datadir, job, version, keep, e)) != 0)
        return rc;
    return retire_older(datadir, job, version, keep, stop, ctx, NULL, NULL, false, e);
}

static void say_stderr(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "tide: %s\n", msg);
}

int tide_ver_recover(const char *datadir, const char *job, tide_ver_stop_fn stop, void *ctx,
                     void (*report)(void *ctx, const char *msg), void *report_ctx, tide_err *e)
{
    if (!report)
        report = say_stderr;
    int64_t *vs = NULL;
    char **tmps = NULL;
    size_t nv = 0, nt = 0;
    int rc = scan_versions(datadir, job, &vs, &nv, &tmps, &nt, e);
    free(vs);
    for (size_t i = 0; i < nt; i++) {
        char path[PATH_CAP], msg[PATH_CAP + 128];
        if (rc == 0 && (rc = job_path(path, datadir, job, "/versions/", e)) == 0) {
            strncat(path, tmps[i], sizeof path - strlen(path) - 1);
            if ((rc = tide_io_rmtree(path, e)) == 0) {
                snprintf(msg, sizeof msg, "job %s: removed %s, left by a deploy that did not finish", job, path);
                report(report_ctx, msg);
            }
        }
        free(tmps[i]);
    }
    free(tmps);
    if (rc)
        return rc;
    tide_ver_alias alias;
    if ((rc = tide_ver_alias_read(datadir, job, &alias, e)) != 0 || alias.live == 0)
        return rc;
    return retire_older(datadir, job, alias.live, alias.keep, stop, ctx, report, report_ctx, true, e);
}
