/*
 * consume.c - tide consume: print the records of a topic.
 *
 * Order.  Bounded (without --follow): partition by partition in partition
 * order, each in offset order, up to the end each partition had when the
 * command started.  Following: the partitions are polled in turn, up to
 * POLL_RECORDS records from each per round, so a busy partition cannot
 * starve the others; when a whole round finds nothing, stdout is flushed and
 * the command sleeps IDLE_MS before polling again.
 *
 * Start positions, per partition: the group's committed offset (--group G)
 * when it has one, else --from: earliest (the first retained offset,
 * default), latest (the end), OFFSET, or @TIMESTAMP (the first record with
 * timestamp >= it).  A position below the first retained offset (removed by
 * retention) continues from the first retained offset with a note on
 * stderr, at the start and whenever retention overtakes a reader.
 *
 * Groups: the next offsets are committed at the end, every COMMIT_MS while
 * following, and on SIGINT/SIGTERM (which stop the command with status 0).
 */
#include "base/buf.h"
#include "base/clock.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "data/csv.h"
#include "data/json.h"
#include "data/timefmt.h"
#include "log/group.h"
#include "log/reader.h"
#include "log/topic.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_RECORDS 512
#define IDLE_MS 10
#define COMMIT_MS 1000

typedef enum out_format { OUT_JSONL, OUT_CSV, OUT_RAW } out_format;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

typedef struct consumer {
    const char *datadir, *topic, *group;
    uint32_t nparts;
    uint32_t first_part, last_part; /* the partitions read: [first, last] */
    tide_log_reader **readers;      /* indexed by partition; NULL if not read */
    uint64_t *end;                  /* bounded mode: stop offset per partition */
    uint64_t *committed;            /* group offsets to commit, per partition */
    out_format fmt;
    uint64_t max, count;
    tide_buf out;
} consumer;

static const char consume_usage[] =
    "Usage: tide consume TOPIC [OPTIONS]\n"
    "\n"
    "Print the records of TOPIC on stdout.\n"
    "\n"
    "  --from WHERE      where to start when the group has no committed offset:\n"
    "                    earliest (default), latest, an OFFSET, or @TIMESTAMP (epoch ms or\n"
    "                    ISO-8601: the first record with a timestamp >= it)\n"
    "  --partition P     read only partition P (default: all)\n"
    "  --group G         resume from G's committed offsets and commit the next offsets\n"
    "                    at the end (and every second with --follow, and on Ctrl-C)\n"
    "  --follow          keep polling for new records until interrupted (or --max)\n"
    "  --max N           stop after N records\n"
    "  --isolation I     read-committed (default): records of a transaction only once it\n"
    "                    committed, never those of an aborted one, and nothing at or after\n"
    "                    an open one (the last stable offset); read-uncommitted: every record\n"
    "  --format F        jsonl (default): {\"partition\":0,\"offset\":0,\"timestamp\":ms,\n"
    "                    \"key\":\"k\" or null,\"value\":\"...\"}; csv: a header\n"
    "                    partition,offset,timestamp,key,value then RFC 4180 rows (a null\n"
    "                    key is an empty field); raw: the value bytes and a newline\n"
    "\n"
    "Without --follow, partitions are printed one after the other in partition order,\n"
    "each in offset order, up to the end they had when the command started (or the\n"
    "last stable offset, read-committed: a note on stderr says so).  With\n"
    "--follow, partitions are polled in turn and records are interleaved.\n";

/* Decimal text of v at p (room for 20 digits); returns the length. */
static size_t put_u64(char *p, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

static size_t put_i64(char *p, int64_t v)
{
    if (v >= 0)
        return put_u64(p, (uint64_t)v);
    p[0] = '-';
    return 1 + put_u64(p + 1, 0 - (uint64_t)v);
}

static size_t put_str(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return n;
}

static int format_record(consumer *c, const tide_record *r)
{
    tide_buf *o = &c->out;
    char head[128];
    size_t h = 0;
    int rc = 0;
    tide_buf_reset(o);
    switch (c->fmt) {
    case OUT_JSONL:
        h += put_str(head + h, "{\"partition\":");
        h += put_u64(head + h, r->partition);
        h += put_str(head + h, ",\"offset\":");
        h += put_u64(head + h, r->offset);
        h += put_str(head + h, ",\"timestamp\":");
        h += put_i64(head + h, r->timestamp);
        h += put_str(head + h, ",\"key\":");
        rc |= tide_buf_append(o, head, h);
        if (r->key)
            rc |= tide_json_write_string(o, r->key, r->key_len);
        else
            rc |= tide_buf_append(o, "null", 4);
        rc |= tide_buf_append(o, ",\"value\":", 9);
        rc |= tide_json_write_string(o, r->value, r->value_len);
        rc |= tide_buf_append(o, "}\n", 2);
        break;
    case OUT_CSV:
        h += put_u64(head + h, r->partition);
        head[h++] = ',';
        h += put_u64(head + h, r->offset);
        head[h++] = ',';
        h += put_i64(head + h, r->timestamp);
        head[h++] = ',';
        rc |= tide_buf_append(o, head, h);
        if (r->key)
            rc |= tide_csv_write_field(o, r->key, r->key_len, ',');
        rc |= tide_buf_putc(o, ',');
        rc |= tide_csv_write_field(o, r->value, r->value_len, ',');
        rc |= tide_buf_putc(o, '\n');
        break;
    case OUT_RAW:
        rc |= tide_buf_append(o, r->value, r->value_len);
        rc |= tide_buf_putc(o, '\n');
        break;
    }
    if (rc != 0)
        return TIDE_ENOMEM;
    if (fwrite(o->data, 1, o->len, stdout) != o->len)
        return TIDE_EIO;
    return 0;
}

/* Move reader p to the first retained offset after retention removed its
 * position, with a note. */
static int skip_to_retained(consumer *c, uint32_t p, uint64_t wanted, tide_err *e)
{
    uint64_t first, next;
    int rc = tide_log_reader_bounds(c->readers[p], &first, &next, e);
    if (rc != 0)
        return rc;
    fflush(stdout);
    fprintf(stderr,
            "tide: topic %s partition %" PRIu32 ": offset %" PRIu64 " was removed by retention; continuing from the "
            "first retained offset %" PRIu64 "\n",
            c->topic, p, wanted, first);
    return tide_log_reader_seek(c->readers[p], first, e);
}

static int commit(consumer *c, tide_err *e)
{
    if (!c->group)
        return 0;
    for (uint32_t p = c->first_part; p <= c->last_part; p++)
        c->committed[p] = tide_log_reader_position(c->readers[p]);
    return tide_group_commit(c->datadir, c->group, c->topic, c->committed, c->nparts, e);
}

/* Read up to `limit` records of partition p (bounded by c->end when
 * `bounded`).  *got counts what was printed. */
static int drain(consumer *c, uint32_t p, bool bounded, size_t limit, size_t *got, tide_err *e)
{
    tide_log_reader *r = c->readers[p];
    *got = 0;
    while (*got < limit && c->count < c->max && !stop_requested) {
        uint64_t at = tide_log_reader_position(r);
        if (bounded && at >= c->end[p])
            break;
        tide_record rec;
        tide_err re = {0};
        int rc = tide_log_reader_next(r, &rec, &re);
        if (rc == TIDE_EAGAIN && bounded && tide_log_reader_blocked(r)) {
            fflush(stdout);
            fprintf(stderr,
                    "tide: topic %s partition %" PRIu32 ": stopped at offset %" PRIu64
                    ", the last stable offset: a transaction is open there (--isolation read-uncommitted shows "
                    "its records)\n",
                    c->topic, p, tide_log_reader_position(r));
            break;
        }
        if (rc == TIDE_EAGAIN && bounded && tide_log_reader_position(r) >= c->end[p])
            break; /* the last offsets were transaction markers or aborted records */
        if (rc == TIDE_EAGAIN && bounded)
            /* the end was there when the read started: never a silent stop short of it */
            return tide_err_set(e, TIDE_ECORRUPT,
                                "topic %s partition %" PRIu32 ": stopped at offset %" PRIu64
                                ", short of the end %" PRIu64 " seen at start (the data there "
                                "is incomplete)",
                                c->topic, p, at, c->end[p]);
        if (rc == TIDE_EAGAIN)
            break;
        if (rc == TIDE_ERANGE) {
            if ((rc = skip_to_retained(c, p, at, e)) != 0)
                return rc;
            continue;
        }
        if (rc != 0) {
            tide_err_set(e, rc, "%s", re.msg);
            return rc;
        }
        rec.partition = p;
        if ((rc = format_record(c, &rec)) != 0)
            return tide_err_set(e, rc, "stdout: write failed");
        c->count++;
        (*got)++;
    }
    return 0;
}

/* Position partition p's reader for the start. */
static int position(consumer *c, uint32_t p, const char *from, tide_err *e)
{
    tide_log_reader *r = c->readers[p];
    uint64_t first, next;
    int rc;
    if (c->group && c->committed[p] != TIDE_GROUP_NONE) {
        rc = tide_log_reader_seek(r, c->committed[p], e);
        if (rc == TIDE_ERANGE) {
            tide_err_clear(e);
            return skip_to_retained(c, p, c->committed[p], e);
        }
        return rc;
    }
    if (!from || strcmp(from, "earliest") == 0)
        return 0; /* readers open at the first retained offset */
    if (strcmp(from, "latest") == 0) {
        if ((rc = tide_log_reader_bounds(r, &first, &next, e)) != 0)
            return rc;
        return tide_log_reader_seek(r, next, e);
    }
    if (from[0] == '@') {
        int64_t ts;
        tide_ts_parse(from + 1, strlen(from + 1), &ts, NULL); /* validated by the caller */
        return tide_log_reader_seek_time(r, ts, e);
    }
    uint64_t off = 0;
    tide_cli_parse_u64(from, &off);
    rc = tide_log_reader_seek(r, off, e);
    if (rc == TIDE_ERANGE) {
        tide_err_clear(e);
        return skip_to_retained(c, p, off, e);
    }
    return rc;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* a signal cuts it short, which is what we want */
}

int tide_cli_consume(int argc, char **argv, const char *datadir)
{
    const char *from = NULL, *part = NULL, *group = NULL, *max = NULL, *format = NULL, *isolation = NULL;
    bool follow = false, help;
    const tide_cli_opt opts[] = {
        {"--from", &from, NULL}, {"--partition", &part, NULL}, {"--group", &group, NULL},
        {"--max", &max, NULL},   {"--format", &format, NULL},  {"--follow", NULL, &follow},
        {"--isolation", &isolation, NULL},
    };
    const char *pos[1];
    int npos;
    int rc = tide_cli_parse("consume", argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos, &help);
    if (rc != 0)
        return rc;
    if (help)
        return tide_cli_help(consume_usage);
    if (npos != 1)
        return tide_cli_usage_error("consume", "expected a topic name");

    consumer c = {0};
    c.datadir = datadir;
    c.topic = pos[0];
    c.group = group;
    c.max = UINT64_MAX;
    c.fmt = OUT_JSONL;
    if (format) {
        if (strcmp(format, "jsonl") == 0 || strcmp(format, "json") == 0)
            c.fmt = OUT_JSONL;
        else if (strcmp(format, "csv") == 0)
            c.fmt = OUT_CSV;
        else if (strcmp(format, "raw") == 0)
            c.fmt = OUT_RAW;
        else
            return tide_cli_usage_error("consume", "--format: unknown format '%s' (jsonl, csv or raw)", format);
    }
    tide_log_isolation iso = TIDE_LOG_READ_COMMITTED;
    if (isolation) {
        if (strcmp(isolation, "read-uncommitted") == 0)
            iso = TIDE_LOG_READ_UNCOMMITTED;
        else if (strcmp(isolation, "read-committed") != 0)
            return tide_cli_usage_error("consume", "--isolation: '%s' is not read-committed or read-uncommitted",
                                        isolation);
    }
    if (max && !tide_cli_parse_u64(max, &c.max))
        return tide_cli_usage_error("consume", "--max: '%s' is not a number", max);
    if (from && strcmp(from, "earliest") != 0 && strcmp(from, "latest") != 0) {
        uint64_t off;
        int64_t ts;
        tide_ts_error te = {0};
        if (from[0] == '@') {
            if (tide_ts_parse(from + 1, strlen(from + 1), &ts, &te) != 0)
                return tide_cli_usage_error("consume", "--from: bad timestamp '%s': %s (column %u)", from + 1,
                                            te.reason ? te.reason : "malformed", (unsigned)te.column);
        } else if (!tide_cli_parse_u64(from, &off)) {
            return tide_cli_usage_error("consume", "--from: '%s' is not earliest, latest, an offset or @TIMESTAMP",
                                        from);
        }
    }
    if (!tide_topic_name_valid(c.topic)) {
        tide_cli_error("topic '%s': invalid name (use letters, digits, '.', '_', '-'; 1 to %d characters)", c.topic,
                       TIDE_TOPIC_NAME_MAX);
        return TIDE_CLI_USAGE;
    }
    if (group && !tide_topic_name_valid(group)) {
        tide_cli_error("group '%s': invalid name (use letters, digits, '.', '_', '-'; 1 to %d characters)", group,
                       TIDE_TOPIC_NAME_MAX);
        return TIDE_CLI_USAGE;
    }

    tide_err e = {0};
    tide_topic_config cfg;
    static char outbuf[1 << 20];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    if (tide_topic_exists(datadir, c.topic) <= 0) {
        tide_cli_error("topic '%s': not found in %s", c.topic, datadir);
        return TIDE_CLI_RUNTIME;
    }
    if ((rc = tide_topic_config_load(datadir, c.topic, &cfg, &e)) != 0)
        goto done;
    c.nparts = cfg.partitions;
    c.first_part = 0;
    c.last_part = c.nparts - 1;
    if (part) {
        uint64_t p;
        if (!tide_cli_parse_u64(part, &p) || p >= c.nparts) {
            tide_cli_error("topic %s: no partition '%s' (it has %" PRIu32 ": 0 to %" PRIu32 ")", c.topic, part,
                           c.nparts, c.nparts - 1);
            return TIDE_CLI_USAGE;
        }
        c.first_part = c.last_part = (uint32_t)p;
    }
    c.readers = calloc(c.nparts, sizeof *c.readers);
    c.end = calloc(c.nparts, sizeof *c.end);
    c.committed = calloc(c.nparts, sizeof *c.committed);
    if (!c.readers || !c.end || !c.committed) {
        rc = tide_err_set(&e, TIDE_ENOMEM, "out of memory");
        goto done;
    }
    for (uint32_t p = 0; p < c.nparts; p++)
        c.committed[p] = TIDE_GROUP_NONE;
    if (group && (rc = tide_group_fetch(datadir, group, c.topic, c.committed, c.nparts, &e)) != 0)
        goto done;
    for (uint32_t p = c.first_part; p <= c.last_part; p++) {
        uint64_t first;
        if ((rc = tide_log_reader_open(&c.readers[p], datadir, c.topic, p, &e)) != 0)
            goto done;
        tide_log_reader_set_isolation(c.readers[p], iso);
        if ((rc = position(&c, p, from, &e)) != 0 ||
            (rc = tide_log_reader_bounds(c.readers[p], &first, &c.end[p], &e)) != 0)
            goto done;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (c.fmt == OUT_CSV)
        fputs("partition,offset,timestamp,key,value\n", stdout);
    if (!follow) {
        for (uint32_t p = c.first_part; p <= c.last_part && c.count < c.max && !stop_requested; p++) {
            size_t got;
            if ((rc = drain(&c, p, true, SIZE_MAX, &got, &e)) != 0)
                goto done;
        }
    } else {
        const tide_clock *clk = tide_clock_system();
        int64_t last_commit = tide_clock_mono_ns(clk);
        while (c.count < c.max && !stop_requested) {
            size_t round = 0;
            for (uint32_t p = c.first_part; p <= c.last_part; p++) {
                size_t got;
                if ((rc = drain(&c, p, false, POLL_RECORDS, &got, &e)) != 0)
                    goto done;
                round += got;
            }
            int64_t now = tide_clock_mono_ns(clk);
            if (c.group && now - last_commit >= (int64_t)COMMIT_MS * 1000000) {
                if (fflush(stdout) != 0) {
                    rc = tide_err_set(&e, TIDE_EIO, "stdout: write failed");
                    goto done;
                }
                if ((rc = commit(&c, &e)) != 0)
                    goto done;
                last_commit = now;
            }
            if (round == 0 && c.count < c.max && !stop_requested) {
                if (fflush(stdout) != 0) {
                    rc = tide_err_set(&e, TIDE_EIO, "stdout: write failed");
                    goto done;
                }
                sleep_ms(IDLE_MS);
            }
        }
    }
    if (fflush(stdout) != 0) {
        rc = tide_err_set(&e, TIDE_EIO, "stdout: write failed");
        goto done;
    }
    rc = commit(&c, &e);
done:
    if (rc != 0) {
        fflush(stdout);
        tide_cli_error("%s", e.msg);
    }
    for (uint32_t p = 0; c.readers && p < c.nparts; p++)
        tide_log_reader_close(c.readers[p]);
    free(c.readers);
    free(c.end);
    free(c.committed);
    tide_buf_free(&c.out);
    return rc == 0 ? TIDE_CLI_OK : TIDE_CLI_RUNTIME;
}
