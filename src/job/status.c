/* status.c - a named job's status file.  See status.h. */
#include "job/status.h"

#include "base/crc32c.h"
#include "base/fault.h"
#include "base/io.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_CAP 4096
#define TEXT_CAP (3 * TIDE_JSTATUS_LINE_MAX + 1024)

static void one_line(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
    for (char *p = dst; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

int tide_jstatus_write(const char *datadir, const char *job, const tide_jstatus *st, tide_err *e)
{
    char path[PATH_CAP];
    int n = snprintf(path, sizeof path, "%s/jobs/%s/status", datadir, job);
    if (n < 0 || (size_t)n >= sizeof path)
        return tide_err_set(e, TIDE_EINVAL, "%s: path too long", datadir);
    char src[TIDE_JSTATUS_LINE_MAX], err[TIDE_JSTATUS_LINE_MAX], state[16];
    one_line(src, sizeof src, st->sources);
    one_line(err, sizeof err, st->error);
    one_line(state, sizeof state, st->state);
    char *text = malloc(TEXT_CAP);
    if (!text)
        return tide_err_set(e, TIDE_ENOMEM, "job %s: out of memory", job);
    int len = snprintf(text, TEXT_CAP,
                       "tide-job-status 1\nstate %s\npid %" PRId64 "\nstarted_ms %" PRId64 "\nupdated_ms %" PRId64
                       "\nin %" PRIu64 "\nout %" PRIu64 "\nlate %" PRIu64 "\nbad %" PRIu64 "\nwatermark %" PRId64
                       "\ncheckpoint %" PRId64 "\ncheckpoint_time_ms %" PRId64 "\ncheckpoint_bytes %" PRIu64
                       "\ncheckpoint_took_ms %" PRId64 "\nsources %s\nerror %s\n",
                       state, st->pid, st->started_ms, st->updated_ms, st->in, st->out, st->late, st->bad,
                       st->watermark, st->ckpt_id, st->ckpt_time_ms, st->ckpt_bytes, st->ckpt_took_ms, src, err);
    len += snprintf(text + len, TEXT_CAP - (size_t)len, "crc32c %08" PRIx32 "\n",
                    tide_crc32c(0, text, (size_t)len));
    int rc = tide_fault("job.status", e);
    if (!rc)
        rc = tide_io_write_atomic(path, text, (size_t)len, e);
    free(text);
    return rc;
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

int tide_jstatus_read(const char *datadir, const char *job, tide_jstatus *st, tide_err *e)
{
    memset(st, 0, sizeof *st);
    char path[PATH_CAP];
    int n = snprintf(path, sizeof path, "%s/jobs/%s/status", datadir, job);
    if (n < 0 || (size_t)n >= sizeof path)
        return tide_err_set(e, TIDE_EINVAL, "%s: path too long", datadir);
    char *text = NULL;
    size_t len = 0;
    int rc = tide_io_read_all(path, &text, &len, e);
    if (rc)
        return rc;
    rc = TIDE_ECORRUPT;
    /* the checksum line */
    size_t body = len;
    if (len && text[len - 1] == '\n' && strlen(text) == len) {
        body = len - 1;
        while (body > 0 && text[body - 1] != '\n')
            body--;
        unsigned crc = 0;
        if (len - body == 16 && sscanf(text + body, "crc32c %8x", &crc) == 1 &&
            tide_crc32c(0, text, body) == crc)
            rc = 0;
    }
    if (rc) {
        free(text);
        return tide_err_set(e, TIDE_ECORRUPT, "%s: damaged (checksum)", path);
    }
    text[body] = '\0';
    static const char *const keys[] = {"tide-job-status", "state", "pid", "started_ms", "updated_ms", "in",
                                       "out", "late", "bad", "watermark", "checkpoint", "checkpoint_time_ms",
                                       "checkpoint_bytes", "checkpoint_took_ms", "sources", "error"};
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    for (int k = 0; k < 16 && rc == 0; k++, line = strtok_r(NULL, "\n", &save)) {
        size_t kl = strlen(keys[k]);
        if (!line || strncmp(line, keys[k], kl) != 0 || line[kl] != ' ') {
            rc = tide_err_set(e, TIDE_ECORRUPT, "%s:%d: expected '%s'", path, k + 1, keys[k]);
            break;
        }
        const char *v = line + kl + 1;
        int64_t x = 0;
        bool ok = true;
        switch (k) {
        case 0: ok = strcmp(v, "1") == 0; break;
        case 1: ok = strlen(v) < sizeof st->state, snprintf(st->state, sizeof st->state, "%s", v); break;
        case 14: snprintf(st->sources, sizeof st->sources, "%s", v); break;
        case 15: snprintf(st->error, sizeof st->error, "%s", v); break;
        default:
            ok = num(v, &x);
            switch (k) {
            case 2: st->pid = x; break;
            case 3: st->started_ms = x; break;
            case 4: st->updated_ms = x; break;
            case 5: st->in = (uint64_t)x; break;
            case 6: st->out = (uint64_t)x; break;
            case 7: st->late = (uint64_t)x; break;
            case 8: st->bad = (uint64_t)x; break;
            case 9: st->watermark = x; break;
            case 10: st->ckpt_id = x; break;
            case 11: st->ckpt_time_ms = x; break;
            case 12: st->ckpt_bytes = (uint64_t)x; break;
            default: st->ckpt_took_ms = x; break;
            }
        }
        if (!ok)
            rc = tide_err_set(e, TIDE_ECORRUPT, "%s:%d: bad %s '%.64s'", path, k + 1, keys[k], v);
    }
    free(text);
    return rc;
}
