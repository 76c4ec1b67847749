/* topic_cmd.c - tide topic create | list | describe | delete. */
#include "cli/args.h"
#include "cli/commands.h"
#include "data/timefmt.h"
#include "log/producer.h"
#include "log/reader.h"
#include "log/topic.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char topic_usage[] =
    "Usage: tide topic SUBCOMMAND ...\n"
    "\n"
    "  create NAME [--partitions N] [--retention-ms MS] [--retention-bytes B]\n"
    "              [--segment-bytes B] [--fsync always|interval:MS|never]\n"
    "  list\n"
    "  describe NAME\n"
    "  delete NAME\n"
    "\n"
    "'tide topic SUBCOMMAND --help' explains each.  Topic names: letters, digits,\n"
    "'.', '_', '-'; 1 to 200 characters.\n";

static const char create_usage[] =
    "Usage: tide topic create NAME [OPTIONS]\n"
    "\n"
    "Create a topic in the data directory.\n"
    "\n"
    "  --partitions N        number of partitions, 1..4096 (default 1)\n"
    "  --retention-ms MS     delete whole segments older than MS ms (default -1: forever)\n"
    "  --retention-bytes B   keep at most about B bytes per partition (default -1: unlimited)\n"
    "  --segment-bytes B     roll to a new segment file at B bytes (default 1 GiB)\n"
    "  --fsync POLICY        always | interval:MS | never (default interval:100)\n";

static const char list_usage[] =
    "Usage: tide topic list\n"
    "\n"
    "Print the names of the topics in the data directory, one per line, sorted.\n";

static const char describe_usage[] =
    "Usage: tide topic describe NAME [--verify]\n"
    "\n"
    "Print a topic's configuration and, per partition, the first retained and the\n"
    "next offset, the bytes and segments on disk, and the smallest and largest\n"
    "record timestamp (UTC, YYYY-MM-DD HH:MM:SS.mmm; '-' for an empty partition).\n"
    "The figures come from the segments' indexes where they are sealed and valid.\n"
    "When transactional producers (exactly-once sinks) have written the topic, a\n"
    "scan of every partition adds its last stable offset (LSO: where read-committed\n"
    "readers stop), its markers, its committed and aborted records, and each\n"
    "transaction still open (producer, transaction id, first offset, records).\n"
    "\n"
    "  --verify   also read every batch of every segment from its start and report\n"
    "             each damaged place (file, position, offset, what); exit status 2\n"
    "             when there is any (a torn tail of an active segment, which the\n"
    "             next writer open cuts, is reported but is not damage)\n";

static const char delete_usage[] =
    "Usage: tide topic delete NAME\n"
    "\n"
    "Delete a topic and all its data.\n";

static int check_name(const char *cmd, const char *name)
{
    if (tide_topic_name_valid(name))
        return 0;
    tide_cli_error("topic '%s': invalid name (use letters, digits, '.', '_', '-'; 1 to %d characters)",
                   name, TIDE_TOPIC_NAME_MAX);
    (void)cmd;
    return TIDE_CLI_USAGE;
}

static int cmd_create(int argc, char **argv, const char *datadir)
{
    const char *parts = NULL, *ret_ms = NULL, *ret_bytes = NULL, *seg = NULL, *fsync = NULL;
    const tide_cli_opt opts[] = {
        {"--partitions", &parts, NULL},     {"--retention-ms", &ret_ms, NULL},
        {"--retention-bytes", &ret_bytes, NULL}, {"--segment-bytes", &seg, NULL},
        {"--fsync", &fsync, NULL},
    };
    const char *pos[1];
    int npos;
    bool help;
    int rc = tide_cli_parse("topic create", argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos, &help);
    if (rc != 0)
        return rc;
    if (help)
        return tide_cli_help(create_usage);
    if (npos != 1)
        return tide_cli_usage_error("topic create", "expected a topic name");
    if ((rc = check_name("topic create", pos[0])) != 0)
        return rc;

    tide_topic_config c;
    tide_topic_config_default(&c);
    uint64_t u;
    int64_t i;
    if (parts) {
        if (!tide_cli_parse_u64(parts, &u) || u < 1 || u > TIDE_PARTITIONS_MAX)
            return tide_cli_usage_error("topic create", "--partitions: '%s' is not a number from 1 to %d",
                                        parts, TIDE_PARTITIONS_MAX);
        c.partitions = (uint32_t)u;
    }
    if (ret_ms) {
        if (!tide_cli_parse_i64(ret_ms, &i) || i < -1)
            return tide_cli_usage_error("topic create", "--retention-ms: '%s' is not -1 or a number of ms", ret_ms);
        c.retention_ms = i;
    }
    if (ret_bytes) {
        if (!tide_cli_parse_i64(ret_bytes, &i) || i < -1)
            return tide_cli_usage_error("topic create", "--retention-bytes: '%s' is not -1 or a number of bytes",
                                        ret_bytes);
        c.retention_bytes = i;
    }
    if (seg) {
        if (!tide_cli_parse_u64(seg, &u) || u < 1)
            return tide_cli_usage_error("topic create", "--segment-bytes: '%s' is not a positive number", seg);
        c.segment_bytes = u;
    }
    if (fsync) {
        tide_err e = {0};
        if (tide_fsync_parse(fsync, &c, &e) != 0)
            return tide_cli_usage_error("topic create", "--fsync: %s", e.msg);
    }
    tide_err e = {0};
    if (tide_topic_create(datadir, pos[0], &c, &e) != 0) {
        tide_cli_error("%s", e.msg);
        return TIDE_CLI_RUNTIME;
    }
    printf("created topic %s (%" PRIu32 " partition%s)\n", pos[0], c.partitions, c.partitions == 1 ? "" : "s");
    return TIDE_CLI_OK;
}

static int cmd_list(int argc, char **argv, const char *datadir)
{
    const char *pos[1];
    int npos;
    bool help;
    int rc = tide_cli_parse("topic list", argc, argv, NULL, 0, pos, 0, &npos, &help);
    if (rc != 0)
        return rc;
    if (help)
        return tide_cli_help(list_usage);
    char **names = NULL;
    size_t n = 0;
    tide_err e = {0};
    if (tide_topic_list(datadir, &names, &n, &e) != 0) {
        tide_cli_error("%s", e.msg);
        return TIDE_CLI_RUNTIME;
    }
    for (size_t i = 0; i < n; i++)
        printf("%s\n", names[i]);
    tide_topic_names_free(names, n);
    return TIDE_CLI_OK;
}

static void print_ts(char *buf, int64_t ts, bool empty)
{
    if (empty)
        strcpy(buf, "-");
    else
        tide_ts_format(ts, buf);
}

static void print_line(void *ctx, const char *line)
{
    (void)ctx;
    printf("  %s\n", line);
}

/* The transactions section of describe: only for topics that a
 * transactional producer has written (a scan of every partition). */
static int describe_txns(const char *datadir, const char *topic, uint32_t nparts)
{
    char dir[4200];
    struct stat st;
    snprintf(dir, sizeof dir, "%s/topics/%s/producers", datadir, topic);
    if (stat(dir, &st) != 0) {
        printf("transactions:     none (no transactional producer has written this topic)\n");
        return TIDE_CLI_OK;
    }
    printf("\n%9s %14s %8s %8s %18s %16s\n", "partition", "lso", "open", "markers", "committed-records",
           "aborted-records");
    tide_log_txn_info *v = calloc(nparts, sizeof *v);
    if (!v) {
        tide_cli_error("out of memory");
        return TIDE_CLI_RUNTIME;
    }
    tide_err e = {0};
    size_t open = 0;
    for (uint32_t p = 0; p < nparts; p++) {
        if (tide_log_txn_scan(datadir, topic, p, &v[p], &e) != 0) {
            fflush(stdout);
            tide_cli_error("%s", e.msg);
            free(v);
            return TIDE_CLI_RUNTIME;
        }
        printf("%9" PRIu32 " %14" PRIu64 " %8zu %8" PRIu64 " %18" PRIu64 " %16" PRIu64 "\n", p, v[p].lso, v[p].nopen,
               v[p].markers, v[p].committed_records, v[p].aborted_records);
        open += v[p].nopen;
    }
    if (open)
        printf("\nopen transactions (read-committed readers wait at the first):\n");
    for (uint32_t p = 0; p < nparts; p++) {
        for (size_t i = 0; i < v[p].nopen && i < TIDE_LOG_TXN_INFO_MAX; i++) {
            const tide_log_txn_open *o = &v[p].open[i];
            char name[256];
            tide_err ne = {0};
            if (tide_log_producer_name(datadir, topic, o->producer, name, sizeof name, &ne) != 0)
                snprintf(name, sizeof name, "?");
            printf("  partition %" PRIu32 ": producer %s (id %" PRIu64 ") transaction %" PRIu64
                   " from offset %" PRIu64 ", %" PRIu64 " records\n",
                   p, name, o->producer, o->txn, o->first_offset, o->records);
        }
        if (v[p].nopen > TIDE_LOG_TXN_INFO_MAX)
            printf("  partition %" PRIu32 ": and %zu more\n", p, v[p].nopen - TIDE_LOG_TXN_INFO_MAX);
    }
    free(v);
    return TIDE_CLI_OK;
}

static int cmd_describe(int argc, char **argv, const char *datadir)
{
    const char *pos[1];
    int npos;
    bool help, verify = false;
    tide_cli_opt opts[] = {{"--verify", NULL, &verify}};
    int rc = tide_cli_parse("topic describe", argc, argv, opts, 1, pos, 1, &npos, &help);
    if (rc != 0)
        return rc;
    if (help)
        return tide_cli_help(describe_usage);
    if (npos != 1)
        return tide_cli_usage_error("topic describe", "expected a topic name");
    if ((rc = check_name("topic describe", pos[0])) != 0)
        return rc;
    tide_err e = {0};
    tide_topic_config c;
    tide_partition_info *parts = NULL;
    uint32_t n = 0;
    if (tide_topic_config_load(datadir, pos[0], &c, &e) != 0 ||
        tide_topic_describe(datadir, pos[0], &parts, &n, &e) != 0) {
        tide_cli_error("%s", e.msg);
        free(parts);
        return TIDE_CLI_RUNTIME;
    }
    char fs[64];
    tide_fsync_format(&c, fs, sizeof fs);
    printf("topic:           %s\n", pos[0]);
    printf("partitions:      %" PRIu32 "\n", c.partitions);
    if (c.retention_ms < 0)
        printf("retention-ms:    -1 (forever)\n");
    else
        printf("retention-ms:    %" PRId64 "\n", c.retention_ms);
    if (c.retention_bytes < 0)
        printf("retention-bytes: -1 (unlimited)\n");
    else
        printf("retention-bytes: %" PRId64 "\n", c.retention_bytes);
    printf("segment-bytes:   %" PRIu64 "\n", c.segment_bytes);
    printf("fsync:           %s\n\n", fs);
    printf("%9s %14s %14s %14s %8s  %-23s  %s\n", "partition", "first-offset", "next-offset", "bytes",
           "segments", "min-timestamp", "max-timestamp");
    uint64_t records = 0, bytes = 0, segs = 0;
    for (uint32_t i = 0; i < n; i++) {
        const tide_partition_info *p = &parts[i];
        bool empty = p->next_offset == p->first_offset;
        char lo[TIDE_TS_FORMAT_MAX], hi[TIDE_TS_FORMAT_MAX];
        print_ts(lo, p->min_ts, empty || p->min_ts == INT64_MAX);
        print_ts(hi, p->max_ts, empty || p->max_ts == INT64_MIN);
        printf("%9" PRIu32 " %14" PRIu64 " %14" PRIu64 " %14" PRIu64 " %8" PRIu32 "  %-23s  %s\n", p->partition,
               p->first_offset, p->next_offset, p->bytes, p->segments, lo, hi);
        records += p->next_offset - p->first_offset;
        bytes += p->bytes;
        segs += p->segments;
    }
    printf("%9s %14s %14s %14" PRIu64 " %8" PRIu64 "\n", "total", "", "", bytes, segs);
    printf("\nretained records: %" PRIu64 "\n", records);
    printf("incarnation:      %016" PRIx64 "\n", c.incarnation);
    free(parts);
    if ((rc = describe_txns(datadir, pos[0], c.partitions)) != 0)
        return rc;
    if (!verify)
        return TIDE_CLI_OK;
    uint64_t damaged = 0, segments = 0;
    printf("\nverify:\n");
    if (tide_topic_verify(datadir, pos[0], print_line, NULL, &damaged, &segments, &e) != 0) {
        fflush(stdout);
        tide_cli_error("%s", e.msg);
        return TIDE_CLI_RUNTIME;
    }
    printf("  %" PRIu64 " segments read, %" PRIu64 " damaged places\n", segments, damaged);
    if (damaged) {
        fflush(stdout);
        tide_cli_error("topic %s: %" PRIu64 " damaged places (see above)", pos[0], damaged);
        return TIDE_CLI_RUNTIME;
    }
    return TIDE_CLI_OK;
}

static int cmd_delete(int argc, char **argv, const char *datadir)
{
    const char *pos[1];
    int npos;
    bool help;
    int rc = tide_cli_parse("topic delete", argc, argv, NULL, 0, pos, 1, &npos, &help);
    if (rc != 0)
        return rc;
    if (help)
        return tide_cli_help(delete_usage);
    if (npos != 1)
        return tide_cli_usage_error("topic delete", "expected a topic name");
    if ((rc = check_name("topic delete", pos[0])) != 0)
        return rc;
    tide_err e = {0};
    if (tide_topic_delete(datadir, pos[0], &e) != 0) {
        tide_cli_error("%s", e.msg);
        return TIDE_CLI_RUNTIME;
    }
    printf("deleted topic %s\n", pos[0]);
    return TIDE_CLI_OK;
}

int tide_cli_topic(int argc, char **argv, const char *datadir)
{
    if (argc < 1) {
        fputs(topic_usage, stderr);
        return TIDE_CLI_USAGE;
    }
    const char *sub = argv[0];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)
        return tide_cli_help(topic_usage);
    if (strcmp(sub, "create") == 0)
        return cmd_create(argc - 1, argv + 1, datadir);
    if (strcmp(sub, "list") == 0)
        return cmd_list(argc - 1, argv + 1, datadir);
    if (strcmp(sub, "describe") == 0)
        return cmd_describe(argc - 1, argv + 1, datadir);
    if (strcmp(sub, "delete") == 0)
        return cmd_delete(argc - 1, argv + 1, datadir);
    tide_cli_error("topic: unknown subcommand '%s'", sub);
    fputs(topic_usage, stderr);
    return TIDE_CLI_USAGE;
}
