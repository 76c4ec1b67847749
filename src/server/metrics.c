/*
 * metrics.c - a snapshot in the Prometheus text format.
 *
 * The format wants every sample of a family together, after the family's
 * HELP and TYPE lines, so the renderer walks the families of one list
 * (VERSION_METRICS: name, type, help, how to get the value) and, for each,
 * every job version; then the topic families.  Values: integers exactly as
 * integers, milliseconds as exact decimal seconds ("12.345"), rates with
 * %.17g (NaN and infinities as Prometheus spells them).
 */
#include "server/metrics.h"

#include "log/topic.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

/* A sample's value: absent, an integer, a count of ms (written as seconds), a double. */
typedef struct mval {
    enum { MV_NONE, MV_INT, MV_UINT, MV_MS, MV_DBL } kind;
    int64_t i;
    uint64_t u;
    double d;
} mval;

static mval v_int(int64_t i) { return (mval){.kind = MV_INT, .i = i}; }
static mval v_uint(uint64_t u) { return (mval){.kind = MV_UINT, .u = u}; }
static mval v_ms(int64_t ms) { return (mval){.kind = MV_MS, .i = ms}; }
static mval v_dbl(double d) { return (mval){.kind = MV_DBL, .d = d}; }
static const mval v_none = {.kind = MV_NONE};

static mval m_in(const tide_srv_snapshot *s, const tide_srv_version_snap *v) { (void)s; return v_uint(v->records_in); }
static mval m_out(const tide_srv_snapshot *s, const tide_srv_version_snap *v) { (void)s; return v_uint(v->records_out); }
static mval m_late(const tide_srv_snapshot *s, const tide_srv_version_snap *v) { (void)s; return v_uint(v->late); }
static mval m_bad(const tide_srv_snapshot *s, const tide_srv_version_snap *v) { (void)s; return v_uint(v->bad); }
static mval m_rate(const tide_srv_snapshot *s, const tide_srv_version_snap *v) { (void)s; return v_dbl(v->rate); }

static mval m_lag_records(const tide_srv_snapshot *s, const tide_srv_version_snap *v)
{
    (void)s;
    return v->lag_records == TIDE_SRV_UNKNOWN ? v_none : v_int(v->lag_records);
}

static mval m_lag_seconds(const tide_srv_snapshot *s, const tide_srv_version_snap *v)
{
    (void)s;
    return v->lag_ms == TIDE_SRV_UNKNOWN ? v_none : v_ms(v->lag_ms);
}

static mval m_wm(const tide_srv_snapshot *s, const tide_srv_version_snap *v)
{
    (void)s;
    return v->watermark_ms == TIDE_SRV_UNKNOWN ? v_none : v_ms(v->watermark_ms);
}

static mval m_wm_delay(const tide_srv_snapshot *s, const tide_srv_version_snap *v)
{
    if (v->watermark_ms == TIDE_SRV_UNKNOWN)
        return v_none;
    /* a watermark far from now (the end-of-input sentinel, a 1970 test
     * stream) must not overflow: the difference in double */
    return v_dbl(((double)s->now_ms - (double)v->watermark_ms) / 1000.0);
}

static mval m_ckpt_id(const tide_srv_snapshot *s, const tide_srv_version_snap *v)
{
    (void)s;
    return v->ckpt_id ? v_int(v->ckpt_id) : v_none;
}

static mval m_ckpt_time(const tide_srv_snapshot *s, const tide_srv_version_snap *v)
{
    (void)s;
    return v->ckpt_id ? v_ms(v->ckpt_time_ms) : v_none;
}

static mval m_ckpt_dur(const tide_srv_snapshot *s, const tide_srv_version_snap *v)
{
    (void)s;
    return v->ckpt_id ? v_ms(v->ckpt_duration_ms) : v_none;
}

static mval m_ckpt_bytes(const tide_srv_snapshot *s, const tide_srv_version_snap *v)
{
    (void)s;
    return v->ckpt_id ? v_uint(v->ckpt_bytes) : v_none;
}

static mval m_state(const tide_srv_snapshot *s, const tide_srv_version_snap *v) { (void)s; return v_uint(v->state_bytes); }
static mval m_restarts(const tide_srv_snapshot *s, const tide_srv_version_snap *v) { (void)s; return v_uint(v->restarts); }

/* The families of a job version: name, type, help, value. */
#define VERSION_METRICS(X)                                                                                       \
    X("tide_records_in_total", "counter", "Records read from the version's input.", m_in)                        \
    X("tide_records_out_total", "counter", "Records written to the version's output.", m_out)                    \
    X("tide_records_late_total", "counter", "Records dropped as late (behind the watermark).", m_late)            \
    X("tide_records_bad_total", "counter", "Records that did not parse (sent to the dead letters).", m_bad)       \
    X("tide_records_per_second", "gauge", "Records read per second, now.", m_rate)                               \
    X("tide_lag_records", "gauge", "Records of the input not yet read.", m_lag_records)                          \
    X("tide_lag_seconds", "gauge", "Event time between the newest input record and the version's progress.",      \
      m_lag_seconds)                                                                                             \
    X("tide_watermark_seconds", "gauge", "The version's watermark (event time, seconds since the epoch).", m_wm)   \
    X("tide_watermark_delay_seconds", "gauge", "Processing time minus the watermark.", m_wm_delay)               \
    X("tide_checkpoint_id", "gauge", "The last completed checkpoint.", m_ckpt_id)                               \
    X("tide_checkpoint_timestamp_seconds", "gauge", "When the last checkpoint completed (wall clock).",           \
      m_ckpt_time)                                                                                               \
    X("tide_checkpoint_duration_seconds", "gauge", "How long the last checkpoint took, barrier to manifest.",    \
      m_ckpt_dur)                                                                                                \
    X("tide_checkpoint_size_bytes", "gauge", "The size of the last checkpoint.", m_ckpt_bytes)                   \
    X("tide_state_size_bytes", "gauge", "Keyed state held by the version.", m_state)                             \
    X("tide_restarts_total", "counter", "Restarts of the version after a failure.", m_restarts)

typedef mval (*vgetter)(const tide_srv_snapshot *, const tide_srv_version_snap *);
static const struct {
    const char *name, *type, *help;
    vgetter get;
} version_metrics[] = {
#define X(n, t, h, g) {n, t, h, g},
    VERSION_METRICS(X)
#undef X
};

/* A label value: \ " and newline escaped. */
static int put_label(tide_buf *b, const char *k, const char *v, bool first)
{
    if ((!first && tide_buf_putc(b, ',') != 0) || tide_buf_printf(b, "%s=\"", k) != 0)
        return TIDE_ENOMEM;
    for (const char *p = v ? v : ""; *p; p++) {
        int rc = *p == '\\' ? tide_buf_append(b, "\\\\", 2)
                 : *p == '"' ? tide_buf_append(b, "\\\"", 2)
                 : *p == '\n' ? tide_buf_append(b, "\\n", 2)
                              : tide_buf_putc(b, *p);
        if (rc != 0)
            return TIDE_ENOMEM;
    }
    return tide_buf_putc(b, '"') != 0 ? TIDE_ENOMEM : 0;
}

static int put_value(tide_buf *b, mval v)
{
    int rc = 0;
    switch (v.kind) {
    case MV_INT: rc = tide_buf_printf(b, " %" PRId64 "\n", v.i); break;
    case MV_UINT: rc = tide_buf_printf(b, " %" PRIu64 "\n", v.u); break;
    case MV_MS: {
        /* exact: -1500 ms is -1.500 */
        uint64_t a = v.i < 0 ? (uint64_t)0 - (uint64_t)v.i : (uint64_t)v.i;
        rc = tide_buf_printf(b, " %s%" PRIu64 ".%03u\n", v.i < 0 ? "-" : "", a / 1000, (unsigned)(a % 1000));
        break;
    }
    case MV_DBL:
        if (isnan(v.d))
            rc = tide_buf_printf(b, " NaN\n");
        else if (isinf(v.d))
            rc = tide_buf_printf(b, " %sInf\n", v.d < 0 ? "-" : "+");
        else
            rc = tide_buf_printf(b, " %.17g\n", v.d);
        break;
    case MV_NONE: break;
    }
    return rc ? TIDE_ENOMEM : 0;
}

static int put_family(tide_buf *b, const char *name, const char *type, const char *help)
{
    return tide_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type) != 0 ? TIDE_ENOMEM : 0;
}

/* name{job="..",version="N"[,extra="..."]} */
static int put_version_series(tide_buf *b, const char *name, const tide_srv_job_snap *j,
                              const tide_srv_version_snap *v, const char *extra_k, const char *extra_v)
{
    char ver[24];
    snprintf(ver, sizeof ver, "%d", v->version);
    if (tide_buf_printf(b, "%s{", name) != 0 || put_label(b, "job", j->name, true) != 0 ||
        put_label(b, "version", ver, false) != 0 || (extra_k && put_label(b, extra_k, extra_v, false) != 0) ||
        tide_buf_putc(b, '}') != 0)
        return TIDE_ENOMEM;
    return 0;
}

static int render(const tide_srv_snapshot *s, tide_buf *b)
{
    if (put_family(b, "tide_up", "gauge", "1 while the tide server runs.") != 0 ||
        tide_buf_printf(b, "tide_up 1\n") != 0)
        return TIDE_ENOMEM;

    if (put_family(b, "tide_job_live_version", "gauge", "The version of the job that readers see (0: none).") != 0)
        return TIDE_ENOMEM;
    for (size_t i = 0; i < s->njobs; i++) {
        const tide_srv_job_snap *j = &s->jobs[i];
        if (tide_buf_printf(b, "tide_job_live_version{") != 0 || put_label(b, "job", j->name, true) != 0 ||
            tide_buf_printf(b, "} %d\n", j->live) != 0)
            return TIDE_ENOMEM;
    }

    if (put_family(b, "tide_version_state", "gauge",
                   "1 for the state a job version is in (catching-up, live, retired, failed, stopped).") != 0)
        return TIDE_ENOMEM;
    for (size_t i = 0; i < s->njobs; i++)
        for (size_t k = 0; k < s->jobs[i].nversions; k++) {
            const tide_srv_version_snap *v = &s->jobs[i].versions[k];
            if (put_version_series(b, "tide_version_state", &s->jobs[i], v, "state", v->state ? v->state : "") != 0 ||
                tide_buf_printf(b, " 1\n") != 0)
                return TIDE_ENOMEM;
        }

    for (size_t m = 0; m < sizeof version_metrics / sizeof version_metrics[0]; m++) {
        if (put_family(b, version_metrics[m].name, version_metrics[m].type, version_metrics[m].help) != 0)
            return TIDE_ENOMEM;
        for (size_t i = 0; i < s->njobs; i++)
            for (size_t k = 0; k < s->jobs[i].nversions; k++) {
                const tide_srv_version_snap *v = &s->jobs[i].versions[k];
                mval val = version_metrics[m].get(s, v);
                if (val.kind == MV_NONE)
                    continue;
                if (put_version_series(b, version_metrics[m].name, &s->jobs[i], v, NULL, NULL) != 0 ||
                    put_value(b, val) != 0)
                    return TIDE_ENOMEM;
            }
    }

    static const struct {
        const char *name, *help;
        int which;
    } topic_metrics[] = {
        {"tide_topic_start_offset", "The first offset a topic partition keeps.", 0},
        {"tide_topic_end_offset", "The next offset a topic partition will write.", 1},
        {"tide_topic_size_bytes", "The bytes a topic partition holds on disk.", 2},
    };
    for (size_t m = 0; m < sizeof topic_metrics / sizeof topic_metrics[0]; m++) {
        if (put_family(b, topic_metrics[m].name, "gauge", topic_metrics[m].help) != 0)
            return TIDE_ENOMEM;
        for (size_t i = 0; i < s->ntopics; i++)
            for (size_t p = 0; p < s->topics[i].nparts; p++) {
                const tide_srv_partition_snap *ps = &s->topics[i].parts[p];
                char part[24];
                snprintf(part, sizeof part, "%d", ps->partition);
                mval val = topic_metrics[m].which == 0   ? v_int(ps->start_offset)
                           : topic_metrics[m].which == 1 ? v_int(ps->end_offset)
                                                         : v_uint(ps->bytes);
                if (tide_buf_printf(b, "%s{", topic_metrics[m].name) != 0 ||
                    put_label(b, "topic", s->topics[i].name, true) != 0 ||
                    put_label(b, "partition", part, false) != 0 || tide_buf_putc(b, '}') != 0 ||
                    put_value(b, val) != 0)
                    return TIDE_ENOMEM;
            }
    }
    return 0;
}

int tide_srv_metrics(const tide_srv_snapshot *snap, tide_buf *out, tide_err *e)
{
    size_t mark = out->len;
    int rc = render(snap, out);
    if (rc != 0) {
        out->len = mark;
        return tide_err_set(e, rc, "metrics: out of memory");
    }
    return 0;
}

void tide_srv_topics_free(tide_srv_topic_snap *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++) {
        free((char *)t[i].name);
        free((tide_srv_partition_snap *)t[i].parts);
    }
    free(t);
}

int tide_srv_topics_load(const char *datadir, tide_srv_topic_snap **out, size_t *nout, tide_err *e)
{
    *out = NULL;
    *nout = 0;
    char **names = NULL;
    size_t n = 0;
    int rc = tide_topic_list(datadir, &names, &n, e);
    if (rc != 0)
        return rc;
    tide_srv_topic_snap *t = n ? calloc(n, sizeof *t) : NULL;
    size_t done = 0; /* entries of t filled */
    if (n && !t) {
        rc = tide_err_set(e, TIDE_ENOMEM, "metrics: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        tide_partition_info *pi = NULL;
        uint32_t np = 0;
        tide_err de = {0};
        if ((rc = tide_topic_describe(datadir, names[i], &pi, &np, &de)) == TIDE_ENOENT) {
            rc = 0; /* deleted since it was listed */
            continue;
        }
        if (rc != 0) {
            tide_err_set(e, rc, "%s", de.msg);
            goto out;
        }
        tide_srv_partition_snap *ps = np ? calloc(np, sizeof *ps) : NULL;
        char *name = strdup(names[i]);
        if ((np && !ps) || !name) {
            free(pi);
            free(ps);
            free(name);
            rc = tide_err_set(e, TIDE_ENOMEM, "metrics: out of memory");
            goto out;
        }
        for (uint32_t p = 0; p < np; p++)
            ps[p] = (tide_srv_partition_snap){.partition = (int)pi[p].partition,
                                              .start_offset = (int64_t)pi[p].first_offset,
                                              .end_offset = (int64_t)pi[p].next_offset,
                                              .bytes = pi[p].bytes};
        free(pi);
        t[done++] = (tide_srv_topic_snap){.name = name, .parts = ps, .nparts = np};
    }
out:
    tide_topic_names_free(names, n);
    if (rc != 0) {
        tide_srv_topics_free(t, done);
        return rc;
    }
    *out = t;
    *nout = done;
    return 0;
}
