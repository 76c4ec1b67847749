/*
 * src_topic.c - the TOPIC source: one log reader per topic partition, each
 * record's value decoded into one row.
 *
 * A record's value is one CSV row (fields by position) or one JSON object
 * (fields by name).  It is copied into a scratch buffer with an LF appended
 * (for JSON, LFs inside become spaces: JSON allows them only as whitespace),
 * decoded into a one-row staging batch, and the row is copied to the output
 * with its offset as position.  So a value decodes exactly like a line of a
 * file, and a value that holds more than one record, or none, is a dead
 * letter rather than a silent extra or missing row.
 *
 * With cfg.rowtime_column, the staging batch has the "value schema" (the
 * schema without that column) and the column is filled from the record's
 * timestamp.
 *
 * next() serves one partition per call, round robin; it reads that partition
 * until the batch is full, the reader is caught up (the partition becomes
 * idle), or, when bounded, its end offset (taken at open) is reached.  A
 * seek moves the partition's log reader to the offset.
 */
#include "connect/source_int.h"

#include "base/buf.h"
#include "log/reader.h"
#include "log/topic.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct part {
    tide_log_reader *r;
    uint64_t next; /* offset of the next record to read */
    uint64_t end;  /* bounded: stop here */
    bool idle, ended;
} part;

typedef struct topic_src {
    tide_src *s;
    const char *datadir;
    part *parts;
    uint32_t cur;
    tide_decoder *dec;
    tide_schema *vschema;     /* owned value schema (rowtime) or NULL */
    tide_cbatch *stage;       /* one row */
    int rowtime;              /* column of s->schema, or -1 */
    uint32_t *map;            /* value column -> output column (rowtime) */
    tide_buf scratch;
    /* the record being decoded, for dead letters */
    const tide_record *rec;
    uint32_t rec_part;
    bool rec_dead;
    char position[TIDE_TOPIC_NAME_MAX + 48];
    char reason[TIDE_ERR_MSG_MAX + 64];
} topic_src;

static void set_position(topic_src *ts, uint32_t p, uint64_t off)
{
    snprintf(ts->position, sizeof ts->position, "%s/%" PRIu32 "/%" PRIu64, ts->s->cfg.topic, p, off);
}

static void rec_dead(topic_src *ts, const char *why)
{
    set_position(ts, ts->rec_part, ts->rec->offset);
    snprintf(ts->reason, sizeof ts->reason, "%s: %s", ts->position, why);
    ts->rec_dead = true;
    tide_src__dead(ts->s, ts->rec_part, ts->position, ts->reason, ts->rec->value, ts->rec->value_len);
}

static void on_dead(void *ctx, const tide_dead_letter *dl)
{
    topic_src *ts = ctx;
    if (ts->rec_dead)
        return; /* one dead letter per record */
    rec_dead(ts, tide_src__strip_prefix(dl));
}

static bool blank(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return false;
    return true;
}

/* Decode one record into a new row of `out` (or a dead letter). */
static int decode_record(topic_src *ts, const tide_record *rec, uint32_t p, tide_cbatch *out, tide_err *e)
{
    tide_src *s = ts->s;
    int rc;
    ts->rec = rec;
    ts->rec_part = p;
    ts->rec_dead = false;
    tide_buf_reset(&ts->scratch);
    if ((rc = tide_buf_reserve(&ts->scratch, rec->value_len + 1)))
        return tide_err_set(e, rc, "topic %s partition %" PRIu32 " offset %" PRIu64 ": out of memory",
                            s->cfg.topic, p, rec->offset);
    if (rec->value_len)
        memcpy(ts->scratch.data, rec->value, rec->value_len);
    ts->scratch.len = rec->value_len;
    if (ts->rowtime >= 0 && !tide_ts_valid(rec->timestamp)) {
        char why[160];
        snprintf(why, sizeof why, "record time %" PRId64 ": %s", rec->timestamp, TIDE_TS_RANGE_WHY);
        rec_dead(ts, why);
        return 0;
    }
    if (s->cfg.format == TIDE_FORMAT_JSONL)
        for (size_t i = 0; i < ts->scratch.len; i++)
            if (ts->scratch.data[i] == '\n')
                ts->scratch.data[i] = ' ';
    ts->scratch.data[ts->scratch.len++] = '\n';

    tide_cbatch_reset(ts->stage);
    size_t pos = 0;
    rc = tide_decoder_decode(ts->dec, (const char *)ts->scratch.data, ts->scratch.len, &pos, true, ts->stage, e);
    if (rc < 0)
        return rc;
    if (ts->rec_dead)
        return 0;
    if (tide_cbatch_rows(ts->stage) == 0) {
        rec_dead(ts, "empty value");
        return 0;
    }
    if (pos < ts->scratch.len && !blank(ts->scratch.data + pos, ts->scratch.len - pos)) {
        rec_dead(ts, "the value holds more than one record");
        return 0;
    }
    uint32_t row;
    if (ts->rowtime < 0) {
        if ((rc = tide_cbatch_copy_row(out, ts->stage, 0, e)))
            return rc;
        row = tide_cbatch_rows(out) - 1;
    } else {
        if ((rc = tide_cbatch_add_row(out, &row)))
            return tide_err_set(e, rc, "topic source: batch full");
        uint32_t n = tide_cbatch_ncols(ts->stage);
        for (uint32_t c = 0; c < n; c++) {
            tide_value v = tide_cbatch_get(ts->stage, c, 0);
            if ((rc = tide_cbatch_set(out, ts->map[c], row, &v, e))) {
                tide_cbatch_drop_last(out);
                return rc;
            }
        }
        tide_cbatch_set_i64(out, (uint32_t)ts->rowtime, row, rec->timestamp);
    }
    tide_cbatch_set_pos(out, row, rec->offset);
    return 0;
}

static int fill(topic_src *ts, uint32_t p, tide_cbatch *out, tide_err *e)
{
    part *pt = &ts->parts[p];
    while (!tide_cbatch_full(out)) {
        if (ts->s->bounded && pt->next >= pt->end) {
            pt->ended = pt->idle = true;
            break;
        }
        tide_record rec;
        int rc = tide_log_reader_next(pt->r, &rec, e);
        if (rc == TIDE_EAGAIN) {
            /* past markers and aborted records; bounded, the last stable
             * offset ends the read as the end does */
            pt->next = tide_log_reader_position(pt->r);
            pt->idle = true;
            if (ts->s->bounded && (pt->next >= pt->end || tide_log_reader_blocked(pt->r)))
                pt->ended = true;
            break;
        }
        if (rc)
            return rc;
        pt->idle = false;
        pt->next = rec.offset + 1;
        if ((rc = decode_record(ts, &rec, p, out, e)))
            return rc;
    }
    return 0;
}

static int topic_next(tide_src *s, tide_cbatch *out, tide_src_batch *info, tide_err *e)
{
    topic_src *ts = s->impl;
    uint32_t n = s->partitions;
    bool all_ended = true;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t p = (ts->cur + k) % n;
        if (ts->parts[p].ended)
            continue;
        int rc = fill(ts, p, out, e);
        if (rc)
            return rc;
        if (!ts->parts[p].ended)
            all_ended = false;
        if (tide_cbatch_rows(out)) {
            info->partition = p;
            ts->cur = (p + 1) % n;
            return TIDE_SRC_READY;
        }
    }
    return all_ended ? TIDE_SRC_END : TIDE_SRC_NOTHING;
}

static bool topic_idle(const tide_src *s, uint32_t p) { return ((const topic_src *)s->impl)->parts[p].idle; }
static bool topic_ended(const tide_src *s, uint32_t p) { return ((const topic_src *)s->impl)->parts[p].ended; }

static void topic_position(const tide_src *s, uint32_t p, tide_src_pos *pos)
{
    const topic_src *ts = s->impl;
    pos->offset = ts->parts[p].next;
    pos->turn = ts->cur == p;
}

static int topic_seek(tide_src *s, uint32_t p, const tide_src_pos *pos, tide_err *e)
{
    topic_src *ts = s->impl;
    part *pt = &ts->parts[p];
    if (pos->turn)
        ts->cur = p;
    if (pos->offset == pt->next)
        return 0;
    int rc = tide_log_reader_seek(pt->r, pos->offset, e);
    if (rc)
        return rc;
    pt->next = tide_log_reader_position(pt->r);
    pt->idle = false;
    pt->ended = s->bounded && pt->next >= pt->end;
    if (pt->ended)
        pt->idle = true;
    return 0;
}

static void topic_free(tide_src *s)
{
    topic_src *ts = s->impl;
    if (!ts)
        return;
    if (ts->parts)
        for (uint32_t p = 0; p < s->partitions; p++)
            tide_log_reader_close(ts->parts[p].r);
    free(ts->parts);
    tide_decoder_free(ts->dec);
    tide_cbatch_free(ts->stage);
    tide_schema_free(ts->vschema);
    free(ts->map);
    tide_buf_free(&ts->scratch);
    free(ts);
    s->impl = NULL;
}

static const tide_src_ops topic_ops = {topic_next, topic_idle, topic_ended, topic_position, topic_seek, topic_free, NULL};

/* The schema without the rowtime column, and the column map. */
static int value_schema(topic_src *ts, tide_err *e)
{
    const tide_schema *sch = ts->s->schema;
    const char *name = ts->s->cfg.rowtime_column;
    int rc;
    ts->rowtime = tide_schema_find(sch, name, strlen(name));
    if (ts->rowtime < 0)
        return tide_err_set(e, TIDE_EINVAL, "topic source %s: rowtime column %s is not in the schema",
                            ts->s->cfg.topic, name);
    if (tide_schema_col(sch, (size_t)ts->rowtime)->type != TIDE_TYPE_TIMESTAMP)
        return tide_err_set(e, TIDE_EINVAL, "topic source %s: rowtime column %s is not a TIMESTAMP(3)",
                            ts->s->cfg.topic, name);
    size_t n = tide_schema_ncols(sch);
    if (n < 2)
        return tide_err_set(e, TIDE_EINVAL, "topic source %s: no value columns besides rowtime column %s",
                            ts->s->cfg.topic, name);
    if ((rc = tide_schema_create(&ts->vschema, e)))
        return rc;
    ts->map = malloc(n * sizeof *ts->map);
    if (!ts->map)
        return tide_err_set(e, TIDE_ENOMEM, "topic source: out of memory");
    uint32_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if ((int)i == ts->rowtime)
            continue;
        const tide_column *c = tide_schema_col(sch, i);
        if ((rc = tide_schema_add(ts->vschema, c->name, c->type, c->nullable, e)))
            return rc;
        ts->map[k++] = (uint32_t)i;
    }
    return 0;
}

int tide_src__topic_open(tide_src *s, tide_err *e)
{
    int rc;
    const tide_src_config *c = &s->cfg;
    topic_src *ts = calloc(1, sizeof *ts);
    if (!ts)
        return tide_err_set(e, TIDE_ENOMEM, "topic source: out of memory");
    s->impl = ts;
    s->ops = &topic_ops;
    s->partitions = 0; /* until the parts exist */
    s->bounded = c->bounded;
    ts->s = s;
    ts->rowtime = -1;
    if (!c->topic)
        return tide_err_set(e, TIDE_EINVAL, "topic source: no topic");
    ts->datadir = tide_data_dir(c->datadir);
    if (!tide_topic_exists(ts->datadir, c->topic))
        return tide_err_set(e, TIDE_ENOENT, "topic %s does not exist (in %s)", c->topic, ts->datadir);
    tide_topic_config tc;
    if ((rc = tide_topic_config_load(ts->datadir, c->topic, &tc, e)))
        return rc;
    ts->parts = calloc(tc.partitions, sizeof *ts->parts);
    if (!ts->parts)
        return tide_err_set(e, TIDE_ENOMEM, "topic source: out of memory");
    s->partitions = tc.partitions;
    for (uint32_t p = 0; p < tc.partitions; p++) {
        part *pt = &ts->parts[p];
        uint64_t first, next;
        if ((rc = tide_log_reader_open(&pt->r, ts->datadir, c->topic, p, e)))
            return rc;
        if ((rc = tide_log_reader_bounds(pt->r, &first, &next, e)))
            return rc;
        if (c->start_latest && (rc = tide_log_reader_seek(pt->r, next, e)))
            return rc;
        if (c->start_time && !c->start_latest && (rc = tide_log_reader_seek_time(pt->r, c->start_time_ms, e)))
            return rc;
        pt->next = tide_log_reader_position(pt->r);
        pt->end = next;
        if (c->end_offsets && p < c->n_end_offsets && c->end_offsets[p] < next)
            pt->end = c->end_offsets[p];
        if (s->bounded && pt->next >= pt->end)
            pt->ended = pt->idle = true;
    }
    if (c->rowtime_column && (rc = value_schema(ts, e)))
        return rc;
    const tide_schema *vs = ts->vschema ? ts->vschema : s->schema;
    if ((rc = tide_cbatch_create(&ts->stage, vs, 1, 0, e)))
        return rc;
    tide_decode_opts o = {.format = c->format, .source = c->topic, .delim = c->delim, .on_dead = on_dead,
                          .ctx = ts};
    return tide_decoder_create(&ts->dec, vs, &o, e);
}
