/*
 * demo.c - tide demo: a small end-to-end run of the log.
 *
 * (Re)creates the topic demo-logins (4 partitions) in the data directory,
 * produces N generated login records (CSV ts,user_id,country; the same
 * records every time) keyed by user_id with event time ts, then reads every
 * partition back and prints a summary: records per partition, offsets, and
 * the first and last row of each.
 */
#include "base/clock.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/produce.h"
#include "data/timefmt.h"
#include "log/reader.h"
#include "log/topic.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEMO_TOPIC "demo-logins"
#define DEMO_PARTITIONS 4
#define DEMO_START_MS 1714521600000LL /* 2024-05-01 00:00:00 UTC */

static const char demo_usage[] =
    "Usage: tide demo [--records N]\n"
    "\n"
    "Create (or re-create) the topic " DEMO_TOPIC " with 4 partitions in the data\n"
    "directory, produce N generated login records (default 100000; CSV\n"
    "ts,user_id,country keyed by user_id), and read them back with a summary.\n";

static const char *const countries[] = {"DE", "FR", "US", "JP", "BR", "IN", "GB", "NG"};

static double seconds_since(int64_t t0)
{
    return (double)(tide_clock_mono_ns(tide_clock_system()) - t0) / 1e9;
}

/* Row i of the generated stream, deterministic. */
static int gen_row(char *buf, size_t cap, uint64_t i)
{
    char ts[TIDE_TS_FORMAT_MAX];
    uint64_t h = i * 0x9e3779b97f4a7c15ull;
    tide_ts_format(DEMO_START_MS + (int64_t)(i * 37 + (h >> 60)), ts);
    return snprintf(buf, cap, "%s,u%" PRIu64 ",%s\n", ts, (h >> 20) % 5000,
                    countries[(h >> 40) % (sizeof countries / sizeof countries[0])]);
}

int tide_cli_demo(int argc, char **argv, const char *datadir)
{
    const char *records = NULL;
    const tide_cli_opt opts[] = {{"--records", &records, NULL}};
    const char *pos[1];
    int npos;
    bool help;
    int rc = tide_cli_parse("demo", argc, argv, opts, 1, pos, 0, &npos, &help);
    if (rc != 0)
        return rc;
    if (help)
        return tide_cli_help(demo_usage);
    uint64_t n = 100000;
    if (records && (!tide_cli_parse_u64(records, &n) || n > 100000000))
        return tide_cli_usage_error("demo", "--records: '%s' is not a number up to 100000000", records);

    tide_err e = {0};
    tide_cli_producer *p = NULL;
    tide_buf text = {0};
    tide_log_reader *r = NULL;
    tide_topic_config c;
    tide_topic_config_default(&c);
    c.partitions = DEMO_PARTITIONS;
    c.fsync = TIDE_FSYNC_NEVER;
    if (tide_topic_exists(datadir, DEMO_TOPIC) > 0 && (rc = tide_topic_delete(datadir, DEMO_TOPIC, &e)) != 0)
        goto done;
    if ((rc = tide_topic_create(datadir, DEMO_TOPIC, &c, &e)) != 0)
        goto done;
    printf("tide demo: topic %s (%d partitions) in %s\n", DEMO_TOPIC, DEMO_PARTITIONS, datadir);

    int64_t t0 = tide_clock_mono_ns(tide_clock_system());
    if ((rc = tide_cli_producer_open(&p, datadir, DEMO_TOPIC, TIDE_CLI_FORMAT_CSV, "user_id", "ts", "demo", &e)) != 0)
        goto done;
    if ((rc = tide_buf_append(&text, "ts,user_id,country\n", 19)) != 0)
        goto nomem;
    for (uint64_t i = 0; i < n || text.len > 0;) {
        while (i < n && text.len < (1u << 20)) {
            char row[96];
            int len = gen_row(row, sizeof row, i++);
            if (tide_buf_append(&text, row, (size_t)len) != 0)
                goto nomem;
        }
        size_t used;
        if ((rc = tide_cli_producer_feed(p, (const char *)text.data, text.len, i == n, &used, &e)) != 0)
            goto done;
        memmove(text.data, text.data + used, text.len - used);
        text.len -= used;
        if (i == n && used == 0)
            break;
    }
    rc = tide_cli_producer_close(p, &e);
    p = NULL;
    if (rc != 0)
        goto done;
    printf("produced %" PRIu64 " records in %.3f s\n", n, seconds_since(t0));

    t0 = tide_clock_mono_ns(tide_clock_system());
    uint64_t total = 0;
    for (uint32_t part = 0; part < DEMO_PARTITIONS; part++) {
        uint64_t count = 0, first_off = 0, last_off = 0;
        char first[128] = "", last[128] = "";
        if ((rc = tide_log_reader_open(&r, datadir, DEMO_TOPIC, part, &e)) != 0)
            goto done;
        for (;;) {
            tide_record rec;
            rc = tide_log_reader_next(r, &rec, &e);
            if (rc == TIDE_EAGAIN)
                break;
            if (rc != 0)
                goto done;
            int len = rec.value_len < sizeof last ? (int)rec.value_len : (int)sizeof last - 1;
            if (count == 0) {
                first_off = rec.offset;
                snprintf(first, sizeof first, "%.*s", len, (const char *)rec.value);
            }
            last_off = rec.offset;
            snprintf(last, sizeof last, "%.*s", len, (const char *)rec.value);
            count++;
        }
        rc = 0;
        tide_log_reader_close(r);
        r = NULL;
        total += count;
        printf("partition %" PRIu32 ": %" PRIu64 " records, offsets %" PRIu64 "..%" PRIu64 "\n", part, count,
               first_off, last_off);
        printf("  first: %s\n  last:  %s\n", first, last);
    }
    printf("consumed %" PRIu64 " records in %.3f s\n", total, seconds_since(t0));
    printf("\nYou just wrote %" PRIu64 " login events into a durable, partitioned topic (keyed by user,\n"
           "so each user's events stay in order in one partition) and read them all back.\n"
           "Next: tide --data %s consume %s --partition 0 --max 5   (or: topic describe %s)\n",
           total, datadir, DEMO_TOPIC, DEMO_TOPIC);
    goto done;
nomem:
    rc = tide_err_set(&e, TIDE_ENOMEM, "out of memory");
done:
    tide_cli_producer_close(p, NULL);
    tide_log_reader_close(r);
    tide_buf_free(&text);
    if (rc != 0) {
        tide_cli_error("%s", e.msg);
        return TIDE_CLI_RUNTIME;
    }
    return TIDE_CLI_OK;
}
