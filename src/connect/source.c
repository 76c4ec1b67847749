/*
 * source.c - the source handle: configuration, the dispatch to the kinds,
 * the sticky error, statistics and the dead-letter helper.
 */
#include "connect/source.h"

#include "connect/source_int.h"
#include "data/timefmt.h"
#include "log/topic.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void tide_src_config_init(tide_src_config *c)
{
    memset(c, 0, sizeof *c);
    c->kind = TIDE_SRC_FILE;
    c->format = TIDE_FORMAT_CSV;
    c->fd = 0;
    tide_gen_logins_cfg_default(&c->gen);
}

static int parse_u64(const char *v, uint64_t *out)
{
    if (!v || !*v || *v == '-')
        return -1;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end)
        return -1;
    *out = (uint64_t)x;
    return 0;
}

static int parse_i64(const char *v, int64_t *out)
{
    if (!v || !*v)
        return -1;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || *end)
        return -1;
    *out = (int64_t)x;
    return 0;
}

static int parse_f64(const char *v, double *out)
{
    if (!v || !*v)
        return -1;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || *end)
        return -1;
    *out = x;
    return 0;
}


int tide_src_config_set(tide_src_config *c, const char *key, const char *value, tide_err *e)
{
    int bad = 0;
    int64_t i;
    if (!key || !value)
        return tide_err_set(e, TIDE_EINVAL, "source option: missing key or value");
    int fmt = tide_codec_option(key, value, &c->format, &c->header, &c->delim);
    if (fmt < 0)
        return tide_err_set(e, TIDE_EINVAL, "source option '%s': bad value '%s'", key, value);
    if (fmt > 0)
        return 0;
    if (!strcmp(key, "connector")) {
        if (!strcmp(value, "file") || !strcmp(value, "filesystem"))
            c->kind = TIDE_SRC_FILE;
        else if (!strcmp(value, "stdin"))
            c->kind = TIDE_SRC_STDIN;
        else if (!strcmp(value, "topic"))
            c->kind = TIDE_SRC_TOPIC;
        else if (!strcmp(value, "logins"))
            c->kind = TIDE_SRC_GEN_LOGINS;
        else
            bad = 1;
    } else if (!strcmp(key, "path")) {
        c->path = value;
    } else if (!strcmp(key, "topic")) {
        c->topic = value;
    } else if (!strcmp(key, "data")) {
        c->datadir = value;
    } else if (!strcmp(key, "scan.bounded.mode")) {
        if (!strcmp(value, "latest-offset"))
            c->bounded = true;
        else if (!strcmp(value, "unbounded"))
            c->bounded = false;
        else
            bad = 1;
    } else if (!strcmp(key, "scan.startup.mode")) {
        if (!strcmp(value, "latest-offset"))
            c->start_latest = true, c->start_time = false;
        else if (!strcmp(value, "earliest-offset"))
            c->start_latest = false, c->start_time = false;
        else if (!strcmp(value, "timestamp"))
            c->start_latest = false, c->start_time = true;
        else
            bad = 1;
    } else if (!strcmp(key, "scan.startup.timestamp-millis")) {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        bad = errno || end == value || *end;
        c->start_time_ms = v;
    } else if (!strcmp(key, "scan.watermark.idle-timeout") || !strcmp(key, "source.idle-timeout")) {
        bad = tide_ts_duration_parse(value, &c->idle_timeout_ms);
    } else if (!strcmp(key, "scan.watermark.quiet-advance")) {
        bad = tide_ts_duration_parse(value, &c->quiet_advance_ms);
    } else if (!strcmp(key, "scan.watermark.future-bound")) {
        bad = tide_ts_duration_parse(value, &c->future_bound_ms);
    } else if (!strcmp(key, "rowtime.column")) {
        c->rowtime_column = value;
    } else if (!strcmp(key, "seed")) {
        bad = parse_u64(value, &c->gen.seed);
    } else if (!strcmp(key, "events")) {
        bad = parse_u64(value, &c->gen.events);
    } else if (!strcmp(key, "users")) {
        bad = parse_u64(value, &c->gen.users);
    } else if (!strcmp(key, "start")) {
        int64_t span = c->gen.end_ms - c->gen.start_ms;
        bad = parse_i64(value, &i);
        if (!bad) {
            c->gen.start_ms = i;
            c->gen.end_ms = i + span;
        }
    } else if (!strcmp(key, "span")) {
        bad = parse_i64(value, &i);
        if (!bad && i > 0)
            c->gen.end_ms = c->gen.start_ms + i;
        else
            bad = 1;
    } else if (!strcmp(key, "late.share")) {
        bad = parse_f64(value, &c->gen.late_share);
    } else if (!strcmp(key, "max.delay")) {
        bad = parse_i64(value, &c->gen.max_delay_ms);
    } else if (!strcmp(key, "rate")) {
        bad = parse_f64(value, &c->gen.rate);
    } else if (!strcmp(key, "zipf")) {
        bad = parse_f64(value, &c->gen.zipf_s);
    } else {
        return tide_err_set(e, TIDE_EINVAL, "source option '%s': unknown option", key);
    }
    if (bad)
        return tide_err_set(e, TIDE_EINVAL, "source option '%s': bad value '%s'", key, value);
    return 0;
}

int tide_src_open(tide_src **out, const tide_src_config *cfg, tide_err *e)
{
    int rc;
    *out = NULL;
    tide_src *s = calloc(1, sizeof *s);
    if (!s)
        return tide_err_set(e, TIDE_ENOMEM, "source: out of memory");
    s->cfg = *cfg;
    s->schema = cfg->schema;
    s->partitions = 1;
    if (cfg->kind != TIDE_SRC_GEN_LOGINS && !cfg->schema) {
        rc = tide_err_set(e, TIDE_EINVAL, "source: no schema");
        goto fail;
    }
    switch (cfg->kind) {
    case TIDE_SRC_FILE:
        rc = cfg->parse_threads > 1 ? tide_src__file_par_open(s, e) : tide_src__file_open(s, e);
        break;
    case TIDE_SRC_STDIN:
        rc = tide_src__file_open(s, e);
        break;
    case TIDE_SRC_TOPIC:
        rc = tide_src__topic_open(s, e);
        break;
    case TIDE_SRC_GEN_LOGINS:
        rc = tide_src__gen_open(s, e);
        break;
    default:
        rc = tide_err_set(e, TIDE_EINVAL, "source: unknown kind %d", (int)cfg->kind);
        break;
    }
    if (rc)
        goto fail;
    *out = s;
    return 0;
fail:
    tide_src_free(s);
    return rc;
}

void tide_src_free(tide_src *s)
{
    if (!s)
        return;
    if (s->ops && s->ops->free)
        s->ops->free(s);
    free(s);
}

const tide_schema *tide_src_schema(const tide_src *s) { return s->schema; }
uint32_t tide_src_partitions(const tide_src *s) { return s->partitions; }
bool tide_src_bounded(const tide_src *s) { return s->bounded; }

int tide_src_next(tide_src *s, tide_cbatch *batch, tide_src_batch *info, tide_err *e)
{
    if (s->err.code)
        return tide_err_set(e, s->err.code, "%s", s->err.msg);
    s->started = true;
    tide_cbatch_reset(batch);
    info->partition = 0;
    int rc = s->ops->next(s, batch, info, &s->err);
    if (rc < 0) {
        if (!s->err.code)
            tide_err_set(&s->err, rc, "source: error %s", tide_err_name(rc));
        return tide_err_set(e, s->err.code, "%s", s->err.msg);
    }
    if (rc == TIDE_SRC_READY)
        s->st.rows += tide_cbatch_rows(batch);
    return rc;
}

int tide_src_next_lend(tide_src *s, tide_cbatch *batch, tide_cbatch **out, tide_src_batch *info,
                       tide_err *e)
{
    *out = NULL;
    if (!s->ops->lend) {
        int rc = tide_src_next(s, batch, info, e);
        if (rc == TIDE_SRC_READY)
            *out = batch;
        return rc;
    }
    if (s->err.code)
        return tide_err_set(e, s->err.code, "%s", s->err.msg);
    tide_cbatch_reset(batch);
    info->partition = 0;
    tide_cbatch *b = NULL;
    int rc = s->ops->lend(s, batch, &b, info, &s->err);
    if (rc < 0) {
        if (!s->err.code)
            tide_err_set(&s->err, rc, "source: error %s", tide_err_name(rc));
        return tide_err_set(e, s->err.code, "%s", s->err.msg);
    }
    if (rc == TIDE_SRC_READY) {
        s->st.rows += tide_cbatch_rows(b);
        *out = b;
    }
    return rc;
}

bool tide_src_idle(const tide_src *s, uint32_t partition)
{
    return partition < s->partitions && s->ops->idle(s, partition);
}

bool tide_src_ended(const tide_src *s, uint32_t partition)
{
    return partition < s->partitions && s->ops->ended(s, partition);
}

void tide_src_position(const tide_src *s, uint32_t partition, tide_src_pos *pos)
{
    memset(pos, 0, sizeof *pos);
    if (partition < s->partitions)
        s->ops->position(s, partition, pos);
}

int tide_src_seek(tide_src *s, uint32_t partition, const tide_src_pos *pos, tide_err *e)
{
    if (s->err.code)
        return tide_err_set(e, s->err.code, "%s", s->err.msg);
    if (partition >= s->partitions)
        return tide_err_set(e, TIDE_EINVAL, "source: seek in partition %u of %u", partition, s->partitions);
    if (s->started)
        return tide_err_set(e, TIDE_EINVAL, "source: seek after reading (a seek comes right after open)");
    if (!s->ops->seek)
        return tide_err_set(e, TIDE_EUNSUPPORTED, "source: this kind cannot seek");
    int rc = s->ops->seek(s, partition, pos, &s->err);
    if (rc < 0) {
        if (!s->err.code)
            tide_err_set(&s->err, rc, "source: seek: error %s", tide_err_name(rc));
        return tide_err_set(e, s->err.code, "%s", s->err.msg);
    }
    return 0;
}

void tide_src_stats_get(const tide_src *s, tide_src_stats *st) { *st = s->st; }

void tide_src__dead(tide_src *s, uint32_t partition, const char *position, const char *reason,
                    const char *raw, size_t raw_len)
{
    s->st.dead++;
    if (!s->cfg.on_dead)
        return;
    tide_src_dead dl = {position, reason, raw ? raw : "", raw ? raw_len : 0, partition};
    s->cfg.on_dead(s->cfg.dead_ctx, &dl);
}

const char *tide_src__strip_prefix(const tide_dead_letter *dl)
{
    char prefix[600];
    const char *src = dl->source ? dl->source : "input";
    int n;
    if (dl->col)
        n = snprintf(prefix, sizeof prefix, "%s:%" PRIu64 ":%" PRIu64 ": ", src, dl->line, dl->col);
    else
        n = snprintf(prefix, sizeof prefix, "%s:%" PRIu64 ": ", src, dl->line);
    if (n > 0 && (size_t)n < sizeof prefix && strncmp(dl->reason, prefix, (size_t)n) == 0)
        return dl->reason + n;
    return dl->reason;
}
