/*
 * produce.c - tide produce: records from stdin into a topic.
 *
 * Input is read in large blocks and cut into records by the CSV lexer or by
 * lines; each record's key, timestamp and value are copied into the pending
 * batch of its partition (so the input block can be reused), and a
 * partition's batch is appended with one tide_log_append when it reaches
 * BATCH_RECORDS records or BATCH_BYTES bytes, when the input is idle, and at
 * the end.  Nothing is allocated per record in steady state.
 */
#include "cli/produce.h"

#include "base/clock.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "connect/sink.h"
#include "data/csv.h"
#include "data/json.h"
#include "data/timefmt.h"
#include "log/topic.h"
#include "log/writer.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH_RECORDS 1000
#define BATCH_BYTES (256u << 10)
#define READ_BLOCK (4u << 20)

typedef struct pending_rec {
    int64_t ts;
    size_t koff, klen, voff, vlen;
    bool has_key;
} pending_rec;

typedef struct pending {
    tide_buf bytes;    /* keys and values of the pending records */
    pending_rec *recs; /* BATCH_RECORDS of them */
    size_t n;
} pending;

struct tide_cli_producer {
    tide_log_writer *w;
    const char *topic;
    uint32_t nparts;
    tide_cli_format fmt;
    const char *key_field, *time_field;
    const char *name;
    pending *parts;
    tide_record *batch; /* BATCH_RECORDS, filled at flush */
    tide_csv csv;
    tide_json json;
    bool have_header;
    long key_col, time_col;
    uint64_t line; /* jsonl/raw: lines consumed so far */
    uint64_t produced, skipped;
    int64_t now;
    char where[64];
    tide_sink_dead *dead; /* borrowed; NULL: stderr only */
    tide_err dead_err;    /* a failed dead-letter write: ends production */
    char pos[96];         /* a rejected record's position and reason */
    char reason[TIDE_ERR_MSG_MAX + 64];
};

bool tide_cli_format_parse(const char *s, tide_cli_format *out)
{
    if (strcmp(s, "csv") == 0)
        *out = TIDE_CLI_FORMAT_CSV;
    else if (strcmp(s, "jsonl") == 0 || strcmp(s, "json") == 0)
        *out = TIDE_CLI_FORMAT_JSONL;
    else if (strcmp(s, "raw") == 0)
        *out = TIDE_CLI_FORMAT_RAW;
    else
        return false;
    return true;
}

uint32_t tide_cli_producer_partitions(const tide_cli_producer *p) { return p->nparts; }
uint64_t tide_cli_producer_produced(const tide_cli_producer *p) { return p->produced; }
uint64_t tide_cli_producer_skipped(const tide_cli_producer *p) { return p->skipped; }
void tide_cli_producer_set_dead(tide_cli_producer *p, tide_sink_dead *d) { p->dead = d; }

int tide_cli_producer_open(tide_cli_producer **out, const char *datadir, const char *topic,
                           tide_cli_format fmt, const char *key_field, const char *time_field,
                           const char *input_name, tide_err *e)
{
    tide_cli_producer *p = calloc(1, sizeof *p);
    int rc;
    *out = NULL;
    if (!p)
        return tide_err_set(e, TIDE_ENOMEM, "out of memory");
    p->topic = topic;
    p->fmt = fmt;
    p->key_field = key_field;
    p->time_field = time_field;
    p->name = input_name;
    p->key_col = p->time_col = -1;
    tide_csv_init(&p->csv, input_name, ',');
    tide_json_init(&p->json);
    if ((rc = tide_log_writer_open(&p->w, datadir, topic, NULL, e)) != 0)
        goto fail;
    p->nparts = tide_log_writer_partitions(p->w);
    p->parts = calloc(p->nparts, sizeof *p->parts);
    p->batch = malloc(BATCH_RECORDS * sizeof *p->batch);
    if (!p->parts || !p->batch) {
        rc = tide_err_set(e, TIDE_ENOMEM, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < p->nparts; i++) {
        p->parts[i].recs = malloc(BATCH_RECORDS * sizeof *p->parts[i].recs);
        if (!p->parts[i].recs || tide_buf_reserve(&p->parts[i].bytes, BATCH_BYTES + 4096) != 0) {
            rc = tide_err_set(e, TIDE_ENOMEM, "out of memory");
            goto fail;
        }
    }
    *out = p;
    return 0;
fail:
    tide_cli_producer_close(p, NULL);
    return rc;
}

static int flush_part(tide_cli_producer *p, uint32_t part, tide_err *e)
{
    pending *pd = &p->parts[part];
    if (pd->n == 0)
        return 0;
    for (size_t i = 0; i < pd->n; i++) {
        const pending_rec *r = &pd->recs[i];
        tide_record *o = &p->batch[i];
        memset(o, 0, sizeof *o);
        o->timestamp = r->ts;
        o->key = r->has_key ? pd->bytes.data + r->koff : NULL;
        o->key_len = r->klen;
        o->value = pd->bytes.data + r->voff;
        o->value_len = r->vlen;
    }
    int rc = tide_log_append(p->w, part, p->batch, pd->n, NULL, e);
    if (rc != 0)
        return rc;
    p->produced += pd->n;
    pd->n = 0;
    tide_buf_reset(&pd->bytes);
    return 0;
}

int tide_cli_producer_flush(tide_cli_producer *p, tide_err *e)
{
    for (uint32_t i = 0; i < p->nparts; i++) {
        int rc = flush_part(p, i, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void reject(tide_cli_producer *p, const char *raw, size_t raw_len, uint64_t line, uint64_t col,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* The record of input line `line` (its text val[0, vlen)): into its
 * partition's pending batch, or rejected when no batch could hold it. */
static int add_record(tide_cli_producer *p, const char *key, size_t klen, bool has_key, const char *val,
                      size_t vlen, int64_t ts, uint64_t line, tide_err *e)
{
    if (klen > TIDE_RECORD_MAX || vlen > TIDE_RECORD_MAX - klen) {
        reject(p, val, vlen, line, 1, "record of %zu bytes: larger than a record of the log can be (%u bytes)",
               klen + vlen, (unsigned)TIDE_RECORD_MAX);
        return 0;
    }
    uint32_t part = tide_log_writer_route(p->w, has_key ? key : NULL, has_key ? klen : 0);
    pending *pd = &p->parts[part];
    if (pd->n > 0 && pd->bytes.len + klen + vlen > BATCH_BYTES) {
        int rc = flush_part(p, part, e);
        if (rc != 0)
            return rc;
    }
    pending_rec *r = &pd->recs[pd->n];
    r->ts = ts;
    r->has_key = has_key;
    r->koff = pd->bytes.len;
    r->klen = has_key ? klen : 0;
    if (has_key && tide_buf_append(&pd->bytes, key, klen) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "out of memory");
    r->voff = pd->bytes.len;
    r->vlen = vlen;
    if (tide_buf_append(&pd->bytes, val, vlen) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "out of memory");
    pd->n++;
    if (pd->n >= BATCH_RECORDS || pd->bytes.len >= BATCH_BYTES)
        return flush_part(p, part, e);
    return 0;
}

/* Reject a malformed record raw[0..raw_len) at line:col: report it on
 * stderr as "tide: NAME:LINE:COL: why", count it, and write it to the
 * dead-letter sink if there is one (a failure there sticks in dead_err). */
static void reject(tide_cli_producer *p, const char *raw, size_t raw_len, uint64_t line, uint64_t col,
                   const char *fmt, ...)
{
    va_list ap;
    snprintf(p->pos, sizeof p->pos, "%s:%" PRIu64 ":%" PRIu64, p->name, line, col);
    va_start(ap, fmt);
    vsnprintf(p->reason, sizeof p->reason, fmt, ap);
    va_end(ap);
    fprintf(stderr, "tide: %s: %s\n", p->pos, p->reason);
    p->skipped++;
    if (p->dead && !p->dead_err.code)
        tide_sink_dead_write(p->dead, p->reason, p->pos, raw, raw_len, &p->dead_err);
}

/* A dead-letter write failed: production stops at that record. */
static int dead_failed(tide_cli_producer *p, tide_err *e)
{
    if (!p->dead_err.code)
        return 0;
    return tide_err_set(e, p->dead_err.code, "dead letters: %s", p->dead_err.msg);
}

/* A lexer's message "NAME:LINE:COL: why" without its position prefix. */
static const char *msg_reason(tide_cli_producer *p, const char *msg, uint64_t line, uint64_t col)
{
    char pre[96];
    int n = snprintf(pre, sizeof pre, "%s:%" PRIu64 ":%" PRIu64 ": ", p->name, line, col);
    if (n > 0 && (size_t)n < sizeof pre && strncmp(msg, pre, (size_t)n) == 0)
        return msg + n;
    return msg;
}

/* Parse a timestamp field's text; rejects the record raw[0..raw_len) and
 * returns false when bad. */
static bool parse_time(tide_cli_producer *p, const char *s, size_t len, uint64_t line, uint64_t col, int64_t *ts,
                       const char *raw, size_t raw_len)
{
    tide_ts_error te = {0};
    if (tide_ts_parse(s, len, ts, &te) == 0) {
        if (tide_ts_valid(*ts))
            return true;
        te.reason = TIDE_TS_RANGE_WHY;
        te.column = 1;
    }
    reject(p, raw, raw_len, line, col + (te.column ? te.column - 1 : 0), "bad timestamp '%.*s' in field '%s': %s",
           (int)(len > 64 ? 64 : len), s, p->time_field, te.reason ? te.reason : "not epoch ms or ISO-8601");
    return false;
}

static int csv_header(tide_cli_producer *p, const tide_csv_record *r, tide_err *e)
{
    p->have_header = true;
    if (p->key_field && (p->key_col = tide_csv_find(r, p->key_field, strlen(p->key_field))) < 0)
        return tide_err_set(e, TIDE_EINVAL, "%s:%" PRIu64 ": the header has no column '%s' (for --key)", p->name,
                            r->line, p->key_field);
    if (p->time_field && (p->time_col = tide_csv_find(r, p->time_field, strlen(p->time_field))) < 0)
        return tide_err_set(e, TIDE_EINVAL, "%s:%" PRIu64 ": the header has no column '%s' (for --time)", p->name,
                            r->line, p->time_field);
    return 0;
}

static int csv_record(tide_cli_producer *p, const tide_csv_record *r, tide_err *e)
{
    const tide_csv_field *key = NULL;
    int64_t ts = p->now;
    if (p->key_col >= 0) {
        if ((size_t)p->key_col >= r->nfields) {
            reject(p, r->raw, r->raw_len, r->line, 1, "missing key field '%s' (the row has %zu fields)",
                   p->key_field, r->nfields);
            return 0;
        }
        key = &r->fields[p->key_col];
    }
    if (p->time_col >= 0) {
        if ((size_t)p->time_col >= r->nfields) {
            reject(p, r->raw, r->raw_len, r->line, 1, "missing time field '%s' (the row has %zu fields)",
                   p->time_field, r->nfields);
            return 0;
        }
        const tide_csv_field *f = &r->fields[p->time_col];
        uint64_t line, col;
        tide_csv_field_pos(r, (size_t)p->time_col, &line, &col);
        if (!parse_time(p, f->ptr, f->len, line, col + (f->quoted ? 1 : 0), &ts, r->raw, r->raw_len))
            return 0;
    }
    return add_record(p, key ? key->ptr : NULL, key ? key->len : 0, key != NULL, r->raw, r->raw_len, ts,
                      r->line, e);
}

static int feed_csv(tide_cli_producer *p, const char *buf, size_t len, bool eof, size_t *used, tide_err *e)
{
    size_t pos = 0;
    int rc = 0;
    for (;;) {
        tide_csv_record r;
        tide_err pe = {0};
        size_t start = pos;
        if ((rc = dead_failed(p, e)) != 0)
            break;
        int lr = tide_csv_next(&p->csv, buf, len, &pos, eof, &r, &pe);
        if (lr == 1) {
            if (r.raw_len == 0)
                continue; /* blank line */
            if (!p->have_header)
                rc = csv_header(p, &r, e);
            else
                rc = csv_record(p, &r, e);
            if (rc != 0)
                break;
        } else if (lr == 0 || lr == TIDE_EAGAIN) {
            break;
        } else if (lr == TIDE_EPARSE) {
            if (!p->have_header) {
                rc = tide_err_set(e, TIDE_EPARSE, "%s (in the header)", pe.msg);
                break;
            }
            /* The bad record's text: from its start to where the lexer resumes,
             * without that line's terminator. */
            size_t end = pos;
            if (end > start && buf[end - 1] == '\n') {
                end--;
                if (end > start && buf[end - 1] == '\r')
                    end--;
            }
            uint64_t line, col;
            tide_csv_error_pos(&p->csv, &line, &col);
            reject(p, buf + start, end - start, line, col, "%s", msg_reason(p, pe.msg, line, col));
        } else {
            rc = tide_err_set(e, lr, "%s", pe.msg);
            break;
        }
    }
    *used = pos;
    return rc;
}

static int json_line(tide_cli_producer *p, const char *s, size_t len, tide_err *e)
{
    tide_err pe = {0};
    snprintf(p->where, sizeof p->where, "%s:%" PRIu64, p->name, p->line);
    int rc = tide_json_parse_object(&p->json, s, len, p->where, &pe);
    if (rc == TIDE_EPARSE) {
        uint64_t col = tide_json_error_col(&p->json);
        reject(p, s, len, p->line, col, "%s", msg_reason(p, pe.msg, p->line, col));
        return 0;
    }
    if (rc != 0)
        return tide_err_set(e, rc, "%s", pe.msg);
    const char *key = NULL;
    size_t klen = 0;
    int64_t ts = p->now;
    if (p->key_field) {
        const tide_json_value *v = tide_json_get(&p->json, p->key_field, strlen(p->key_field));
        if (!v) {
            reject(p, s, len, p->line, 1, "missing key field '%s'", p->key_field);
            return 0;
        }
        if (v->type != TIDE_JSON_NULL) { /* null: an unkeyed record */
            key = v->text;
            klen = v->len;
        }
    }
    if (p->time_field) {
        const tide_json_value *v = tide_json_get(&p->json, p->time_field, strlen(p->time_field));
        if (!v) {
            reject(p, s, len, p->line, 1, "missing time field '%s'", p->time_field);
            return 0;
        }
        if (v->type == TIDE_JSON_NUMBER && v->is_int) {
            ts = v->i;
            if (!tide_ts_valid(ts)) {
                reject(p, s, len, p->line, v->col, "bad timestamp %" PRId64 " in field '%s': %s", ts, p->time_field,
                       TIDE_TS_RANGE_WHY);
                return 0;
            }
        } else if (v->type == TIDE_JSON_STRING) {
            if (!parse_time(p, v->text, v->len, p->line, v->col + 1, &ts, s, len))
                return 0;
        } else {
            reject(p, s, len, p->line, v->col,
                   "bad timestamp in field '%s': expected epoch ms (an integer) or an ISO-8601 string", p->time_field);
            return 0;
        }
    }
    return add_record(p, key, klen, key != NULL, s, len, ts, p->line, e);
}

static bool blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

static int feed_lines(tide_cli_producer *p, const char *buf, size_t len, bool eof, size_t *used, tide_err *e)
{
    size_t pos = 0;
    int rc = 0;
    while (pos < len) {
        const char *s = buf + pos;
        if ((rc = dead_failed(p, e)) != 0)
            break;
        const char *nl = memchr(s, '\n', len - pos);
        if (!nl && !eof)
            break;
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        size_t next = pos + n + (nl ? 1 : 0);
        p->line++;
        if (n > 0 && s[n - 1] == '\r')
            n--;
        if (p->fmt == TIDE_CLI_FORMAT_RAW)
            rc = add_record(p, NULL, 0, false, s, n, p->now, p->line, e);
        else if (!blank(s, n))
            rc = json_line(p, s, n, e);
        if (rc != 0)
            break;
        pos = next;
    }
    *used = pos;
    return rc;
}

int tide_cli_producer_feed(tide_cli_producer *p, const char *buf, size_t len, bool eof, size_t *used,
                           tide_err *e)
{
    p->now = tide_clock_now_ms(tide_clock_system());
    int rc;
    if (p->fmt == TIDE_CLI_FORMAT_CSV)
        rc = feed_csv(p, buf, len, eof, used, e);
    else
        rc = feed_lines(p, buf, len, eof, used, e);
    return rc != 0 ? rc : dead_failed(p, e);
}

int tide_cli_producer_close(tide_cli_producer *p, tide_err *e)
{
    if (!p)
        return 0;
    int rc = 0;
    if (p->w && p->parts)
        rc = tide_cli_producer_flush(p, e);
    int rc2 = tide_log_writer_close(p->w, e);
    if (rc == 0)
        rc = rc2;
    for (uint32_t i = 0; p->parts && i < p->nparts; i++) {
        free(p->parts[i].recs);
        tide_buf_free(&p->parts[i].bytes);
    }
    free(p->parts);
    free(p->batch);
    tide_csv_free(&p->csv);
    tide_json_free(&p->json);
    free(p);
    return rc;
}

/* ---- the command ---- */

static const char produce_usage[] =
    "Usage: tide produce TOPIC [--format csv|jsonl|raw] [--key FIELD] [--time FIELD]\n"
    "                          [--dead-letter FILE|topic:NAME]\n"
    "\n"
    "Append records read from stdin to TOPIC.\n"
    "\n"
    "  --format F    csv (default): RFC 4180 with a header row; jsonl: one JSON object\n"
    "                per line; raw: one record per line (no key, no time)\n"
    "  --key FIELD   the record key: a header column (csv) or top-level field (jsonl);\n"
    "                keyed records go to partition murmur2(key) % partitions, as in\n"
    "                Kafka; without --key records are spread round robin\n"
    "  --time FIELD  the event time: epoch milliseconds or ISO-8601 UTC text\n"
    "                (2024-05-01T12:00:00Z, 2024-05-01 12:00:00.123, +02:00 offsets);\n"
    "                without --time, the current time\n"
    "  --dead-letter DEST  also write each malformed line to DEST as one JSON line\n"
    "                {\"reason\": why, \"position\": \"stdin:LINE:COL\", \"raw\": its text}\n"
    "                (raw: the line without its LF or CRLF; a bad CSV record spanning\n"
    "                lines, all of them).  DEST is a file, appended to (created if\n"
    "                missing): each letter is written as soon as its line is read, so\n"
    "                a killed produce keeps every letter it reported, and the file is\n"
    "                fsynced at the end (a power loss before that may lose some).  Or\n"
    "                topic:NAME, a topic in the same data directory (created with 1\n"
    "                partition if missing; not TOPIC itself): one record per letter,\n"
    "                appended as it comes, durable per that topic's --fsync policy\n"
    "\n"
    "Each record's value is its own text: the CSV row (without the header), the JSON\n"
    "line, the raw line.  A malformed line is reported as 'tide: stdin:LINE:COL: why'\n"
    "and skipped (a missing field is at column 1 of its record); a summary goes to\n"
    "stderr at the end, naming where the dead letters went.  Blank lines are skipped\n"
    "(except in raw format).  Exit status 0 even with skipped lines, 2 on a runtime\n"
    "error (e.g. the topic does not exist, a --key/--time column is not in the\n"
    "CSV header, or a dead letter could not be written).\n";

/* The dead-letter sink for --dead-letter: a file appended to, or a topic
 * of datadir created (1 partition) if missing. */
int tide_cli_dead_open(tide_sink_dead **out, const char *datadir, const char *dest,
                       const char *dead_topic, tide_err *e)
{
    tide_sink_dead_config dc = {0};
    if (dead_topic) {
        dc.datadir = datadir;
        dc.topic = dead_topic;
        dc.create = true;
    } else {
        dc.path = dest;
        dc.append = true;
    }
    return tide_sink_dead_open(out, &dc, e);
}

int tide_cli_produce(int argc, char **argv, const char *datadir)
{
    const char *format = NULL, *key = NULL, *time = NULL, *dead = NULL;
    const tide_cli_opt opts[] = {{"--format", &format, NULL},
                                 {"--key", &key, NULL},
                                 {"--time", &time, NULL},
                                 {"--dead-letter", &dead, NULL}};
    const char *pos[1];
    int npos;
    bool help;
    int rc = tide_cli_parse("produce", argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos, &help);
    if (rc != 0)
        return rc;
    if (help)
        return tide_cli_help(produce_usage);
    if (npos != 1)
        return tide_cli_usage_error("produce", "expected a topic name");
    tide_cli_format fmt = TIDE_CLI_FORMAT_CSV;
    if (format && !tide_cli_format_parse(format, &fmt))
        return tide_cli_usage_error("produce", "--format: unknown format '%s' (csv, jsonl or raw)", format);
    if (fmt == TIDE_CLI_FORMAT_RAW && (key || time))
        return tide_cli_usage_error("produce", "--key and --time need --format csv or jsonl");
    if ((key && !*key) || (time && !*time))
        return tide_cli_usage_error("produce", "--key and --time need a field name");
    const char *topic = pos[0];
    if (!tide_topic_name_valid(topic)) {
        tide_cli_error("topic '%s': invalid name (use letters, digits, '.', '_', '-'; 1 to %d characters)", topic,
                       TIDE_TOPIC_NAME_MAX);
        return TIDE_CLI_USAGE;
    }
    const char *dead_topic = NULL;
    if (dead) {
        if (strncmp(dead, "topic:", 6) == 0) {
            dead_topic = dead + 6;
            if (!tide_topic_name_valid(dead_topic))
                return tide_cli_usage_error("produce", "--dead-letter: topic '%s': invalid name", dead_topic);
            if (strcmp(dead_topic, topic) == 0)
                return tide_cli_usage_error("produce", "--dead-letter: topic '%s' is the topic produced to",
                                            dead_topic);
        } else if (!*dead) {
            return tide_cli_usage_error("produce", "--dead-letter needs a file or topic:NAME");
        }
    }
    if (tide_topic_exists(datadir, topic) <= 0) {
        tide_cli_error("topic '%s': not found in %s (create it with 'tide topic create %s')", topic, datadir, topic);
        return TIDE_CLI_RUNTIME;
    }

    tide_err e = {0};
    tide_cli_producer *p = NULL;
    tide_sink_dead *ds = NULL;
    char *buf = NULL;
    size_t cap = READ_BLOCK, have = 0;
    bool eof = false, first = true;
    rc = tide_cli_producer_open(&p, datadir, topic, fmt, key, time, "stdin", &e);
    if (rc != 0)
        goto done;
    if (dead && (rc = tide_cli_dead_open(&ds, datadir, dead, dead_topic, &e)) != 0)
        goto done;
    tide_cli_producer_set_dead(p, ds);
    if (!(buf = malloc(cap))) {
        rc = tide_err_set(&e, TIDE_ENOMEM, "out of memory");
        goto done;
    }
    while (!eof) {
        if (have == cap) { /* one record larger than the buffer */
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                rc = tide_err_set(&e, TIDE_ENOMEM, "out of memory");
                goto done;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(STDIN_FILENO, buf + have, cap - have);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = tide_err_sys(&e, errno, "stdin: read");
            goto done;
        }
        if (n == 0)
            eof = true;
        have += (size_t)n;
        size_t start = 0, used = 0;
        if (first && (have >= 3 || eof)) {
            first = false;
            if (have >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
                start = 3; /* a UTF-8 byte order mark */
        } else if (first) {
            continue;
        }
        rc = tide_cli_producer_feed(p, buf + start, have - start, eof, &used, &e);
        if (rc != 0)
            goto done;
        used += start;
        memmove(buf, buf + used, have - used);
        have -= used;
        /* Input idle: append what is pending, so a slow stream is not held back. */
        struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
        if (!eof && poll(&pfd, 1, 0) == 0 && (rc = tide_cli_producer_flush(p, &e)) != 0)
            goto done;
    }
done:
    free(buf);
    uint64_t produced = 0, skipped = 0;
    uint32_t nparts = 0;
    if (p) {
        /* Even after an error: the good records read so far are stored (and counted). */
        int frc = tide_cli_producer_flush(p, &e);
        produced = tide_cli_producer_produced(p);
        skipped = tide_cli_producer_skipped(p);
        nparts = tide_cli_producer_partitions(p);
        int crc = tide_cli_producer_close(p, &e);
        if (rc == 0)
            rc = frc ? frc : crc;
    }
    uint64_t letters = ds ? tide_sink_dead_count(ds) : 0;
    bool had_dead = ds != NULL;
    int drc = tide_sink_dead_close(ds, &e); /* commit what was written even after another error */
    if (rc == 0)
        rc = drc;
    if (rc != 0)
        tide_cli_error("%s", e.msg);
    if (p) {
        fprintf(stderr, "produced %" PRIu64 " records to %s (%" PRIu32 " partition%s), skipped %" PRIu64
                        " malformed line%s",
                produced, topic, nparts, nparts == 1 ? "" : "s", skipped, skipped == 1 ? "" : "s");
        if (had_dead)
            fprintf(stderr, ", wrote %" PRIu64 " dead letter%s to %s %s", letters, letters == 1 ? "" : "s",
                    dead_topic ? "topic" : "file", dead_topic ? dead_topic : dead);
        fputc('\n', stderr);
    }
    return rc == 0 ? TIDE_CLI_OK : TIDE_CLI_RUNTIME;
}
