/*
 * bench_log.c - throughput of the embedded log beside the disk's own speed.
 *
 *   bench_log [-d DIR] [-n RECORDS] [-m DISK_MIB] [-c PER_CALL] [-p POLICY] [-w]
 *
 * In a scratch directory under DIR (default $TMPDIR, else /tmp):
 *   1. the disk's sequential write speed: DISK_MIB (default 1024) MiB in
 *      1 MiB write() calls and one fdatasync at the end, as
 *      `dd bs=1M conv=fdatasync` measures it; the figure without the
 *      fdatasync (page cache only) is printed too;
 *   2. for each fsync policy (always, interval:100, never; or only POLICY): RECORDS
 *      (default 2,000,000) records of a 16-byte key and a 100-byte value
 *      appended to a one-partition topic in calls of PER_CALL (default 1000)
 *      records (so fsync=always is one fsync per call), close included;
 *      then read back from the page cache with one reader;
 *   3. with -w, several writers (fsync=never, PER_CALL records a call):
 *      RECORDS records by one process, then by two processes at once (half
 *      each) into one partition, then into one partition each of a
 *      two-partition topic.  Append time per call = wall time / calls.
 * Append MB/s counts the bytes the segment grew by; "% disk" compares it with
 * the fdatasync'd disk speed, "% same" with the disk writing as many bytes
 * as one append run (measured last, so a short burst is compared with a
 * short burst).  Targets: interval:100 >= 50% of the disk,
 * reads >= 5 million records/s.
 */
#include "base/err.h"
#include "base/io.h"
#include "log/reader.h"
#include "log/topic.h"
#include "log/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEY_LEN 16
#define VAL_LEN 100
#define MAX_PER_CALL 1000

static size_t g_per_call = 1000;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const tide_err *e)
{
    fprintf(stderr, "bench_log: %s: %s\n", what, e && e->msg[0] ? e->msg : strerror(errno));
    exit(1);
}

/* dd-like: `mib` MiB in 1 MiB writes, then fdatasync. */
static void disk_speed(const char *dir, unsigned mib, double *mbps_sync, double *mbps_nosync)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/disk.bin", dir);
    size_t bs = 1u << 20;
    unsigned char *buf = malloc(bs);
    if (!buf)
        die("out of memory", NULL);
    uint64_t x = 0x243f6a8885a308d3ull;
    for (size_t i = 0; i < bs; i += 8) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        memcpy(buf + i, &x, 8);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die(path, NULL);
    double t0 = now_s();
    for (unsigned i = 0; i < mib; i++) {
        buf[0] = (unsigned char)i;
        size_t done = 0;
        while (done < bs) {
            ssize_t n = write(fd, buf + done, bs - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                die("write", NULL);
            done += (size_t)n;
        }
    }
    double t1 = now_s();
    if (fdatasync(fd) != 0)
        die("fdatasync", NULL);
    double t2 = now_s();
    close(fd);
    unlink(path);
    free(buf);
    double mb = (double)mib * (double)bs / 1e6;
    *mbps_nosync = mb / (t1 - t0);
    *mbps_sync = mb / (t2 - t0);
}

typedef struct result {
    const char *policy;
    double append_s, read_s, read_cpu_s;
    uint64_t seg_bytes, read_bytes, read_records;
} result;

/* "key-" and 11 decimal digits of v (mod 10^11), NUL-terminated like the
 * snprintf it replaces, without its cost in the timed loop. */
static void put_key(unsigned char *k, uint64_t v)
{
    memcpy(k, "key-", 4);
    for (int d = 14; d >= 4; d--) {
        k[d] = (unsigned char)('0' + v % 10);
        v /= 10;
    }
    k[15] = '\0';
}

/* Open a writer of `topic`, append `records` records to `partition` in
 * calls of g_per_call (keys numbered from `key0`), close. */
static void append_records(const char *dir, const char *topic, uint32_t partition, uint64_t key0,
                           uint64_t records)
{
    static unsigned char keys[MAX_PER_CALL][KEY_LEN], vals[MAX_PER_CALL][VAL_LEN];
    static tide_record recs[MAX_PER_CALL];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < MAX_PER_CALL; i++) {
        for (int j = 0; j < VAL_LEN; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            vals[i][j] = (unsigned char)(' ' + x % 95);
        }
        recs[i] = (tide_record){.key = keys[i], .key_len = KEY_LEN, .value = vals[i],
                                .value_len = VAL_LEN};
    }
    tide_err e = {0};
    tide_log_writer *w = NULL;
    if (tide_log_writer_open(&w, dir, topic, NULL, &e) != 0)
        die("writer open", &e);
    int64_t ts = 1700000000000;
    for (uint64_t done = 0; done < records;) {
        size_t n = records - done < g_per_call ? (size_t)(records - done) : g_per_call;
        for (size_t i = 0; i < n; i++) {
            put_key(keys[i], key0 + done + i);
            recs[i].timestamp = ts++;
        }
        if (tide_log_append(w, partition, recs, n, NULL, &e) != 0)
            die("append", &e);
        done += n;
    }
    if (tide_log_writer_close(w, &e) != 0)
        die("writer close", &e);
}

/* `procs` processes append `records` records between them (fsync=never)
 * to a fresh topic of `parts` partitions, process i to partition i % parts;
 * the wall time. */
static double run_writers(const char *dir, int procs, uint32_t parts, uint64_t records)
{
    tide_err e = {0};
    tide_topic_config cfg;
    tide_topic_config_default(&cfg);
    cfg.partitions = parts;
    cfg.fsync = TIDE_FSYNC_NEVER;
    char topic[64];
    snprintf(topic, sizeof topic, "writers-%d-%u", procs, parts);
    if (tide_topic_create(dir, topic, &cfg, &e) != 0)
        die("topic create", &e);
    fflush(NULL);
    double t0 = now_s();
    pid_t pid[8];
    for (int i = 0; i < procs; i++) {
        if ((pid[i] = fork()) < 0)
            die("fork", NULL);
        if (pid[i] == 0) {
            append_records(dir, topic, (uint32_t)i % parts, (uint64_t)i * records, records / (uint64_t)procs);
            _exit(0);
        }
    }
    for (int i = 0; i < procs; i++) {
        int st = 0;
        if (waitpid(pid[i], &st, 0) != pid[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("a writer process failed", NULL);
    }
    double t = now_s() - t0;
    uint64_t total = 0;
    for (uint32_t p = 0; p < parts; p++) {
        tide_log_reader *r = NULL;
        uint64_t first = 0, next = 0;
        if (tide_log_reader_open(&r, dir, topic, p, &e) != 0 || tide_log_reader_bounds(r, &first, &next, &e))
            die("reader bounds", &e);
        tide_log_reader_close(r);
        total += next - first;
    }
    if (total != records / (uint64_t)procs * (uint64_t)procs) {
        fprintf(stderr, "bench_log: %" PRIu64 " records in the topic, expected %" PRIu64 "\n", total,
                records / (uint64_t)procs * (uint64_t)procs);
        exit(1);
    }
    if (tide_topic_delete(dir, topic, &e) != 0)
        die("topic delete", &e);
    return t;
}

static void run_policy(const char *dir, const char *policy, uint64_t records, result *res)
{
    tide_err e = {0};
    tide_topic_config cfg;
    tide_topic_config_default(&cfg);
    cfg.partitions = 1;
    if (tide_fsync_parse(policy, &cfg, &e) != 0)
        die(policy, &e);
    char topic[64];
    snprintf(topic, sizeof topic, "bench-%.*s", (int)strcspn(policy, ":"), policy);
    if (tide_topic_create(dir, topic, &cfg, &e) != 0)
        die("topic create", &e);

    double t0 = now_s();
    append_records(dir, topic, 0, 0, records);
    double t1 = now_s();

    tide_partition_info *parts = NULL;
    uint32_t np = 0;
    if (tide_topic_describe(dir, topic, &parts, &np, &e) != 0 || np != 1)
        die("describe", &e);
    res->seg_bytes = parts[0].bytes;
    free(parts);

    tide_log_reader *r = NULL;
    double t2 = now_s(), c2 = cpu_s();
    if (tide_log_reader_open(&r, dir, topic, 0, &e) != 0)
        die("reader open", &e);
    uint64_t n = 0, bytes = 0;
    for (;;) {
        tide_record rec;
        int rc = tide_log_reader_next(r, &rec, &e);
        if (rc == TIDE_EAGAIN)
            break;
        if (rc)
            die("read", &e);
        n++;
        bytes += rec.key_len + rec.value_len;
    }
    double t3 = now_s(), c3 = cpu_s();
    tide_log_reader_close(r);
    if (n != records) {
        fprintf(stderr, "bench_log: read %" PRIu64 " records of %" PRIu64 "\n", n, records);
        exit(1);
    }
    if (tide_topic_delete(dir, topic, &e) != 0)
        die("topic delete", &e);
    res->policy = policy;
    res->append_s = t1 - t0;
    res->read_s = t3 - t2;
    res->read_cpu_s = c3 - c2;
    res->read_bytes = bytes;
    res->read_records = n;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_log [-d DIR] [-n RECORDS] [-m DISK_MIB] [-c PER_CALL] [-p POLICY] [-w]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    uint64_t records = 2000000;
    unsigned disk_mib = 1024;
    bool writers = false;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-d") && i + 1 < argc)
            base = argv[++i];
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            records = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-m") && i + 1 < argc)
            disk_mib = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-c") && i + 1 < argc)
            g_per_call = (size_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-p") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "-w"))
            writers = true;
        else
            usage();
    }
    if (records == 0 || disk_mib == 0 || g_per_call == 0 || g_per_call > MAX_PER_CALL)
        usage();

    char dir[4096];
    snprintf(dir, sizeof dir, "%s/bench_log.%d", base, (int)getpid());
    tide_err e = {0};
    if (tide_io_mkdirs(dir, &e) != 0)
        die(dir, &e);

    double disk_sync, disk_nosync;
    disk_speed(dir, disk_mib, &disk_sync, &disk_nosync);

    static const char *all_policies[] = {"always", "interval:100", "never"};
    const char **policies = only ? &only : all_policies;
    int npol = only ? 1 : 3;
    result res[3];
    for (int i = 0; i < npol; i++)
        run_policy(dir, policies[i], records, &res[i]);
    /* the disk again with as many bytes as one append run wrote: a short
     * burst may go faster than a long one (write-back caches, dirty limits) */
    unsigned same_mib = (unsigned)((res[npol > 1].seg_bytes + (1u << 20) - 1) >> 20);
    double same_sync, same_nosync;
    disk_speed(dir, same_mib, &same_sync, &same_nosync);
    double wt[3] = {0};
    if (writers) {
        wt[0] = run_writers(dir, 1, 1, records);
        wt[1] = run_writers(dir, 2, 1, records);
        wt[2] = run_writers(dir, 2, 2, records);
    }
    tide_io_rmtree(dir, NULL);

    printf("directory %s; %" PRIu64 " records of %d-byte key + %d-byte value, %zu per append\n",
           base, records, KEY_LEN, VAL_LEN, g_per_call);
    printf("disk: %u MiB in 1 MiB writes: %.0f MB/s with fdatasync (dd conv=fdatasync), "
           "%.0f MB/s without\n", disk_mib, disk_sync, disk_nosync);
    printf("disk: %u MiB (one append run's bytes), same way: %.0f MB/s with fdatasync, %.0f MB/s "
           "without\n\n", same_mib, same_sync, same_nosync);
    printf("%-13s %12s %10s %12s %8s %8s %12s %10s %14s\n", "fsync", "append rec/s", "append s",
           "append MB/s", "% disk", "% same", "read rec/s", "read MB/s", "read rec/cpu-s");
    for (int i = 0; i < npol; i++) {
        const result *r = &res[i];
        double amb = (double)r->seg_bytes / 1e6 / r->append_s;
        printf("%-13s %12.0f %10.2f %12.1f %7.0f%% %7.0f%% %12.0f %10.1f %14.0f\n", r->policy,
               (double)records / r->append_s, r->append_s, amb, 100.0 * amb / disk_sync,
               100.0 * amb / same_sync,
               (double)r->read_records / r->read_s, (double)r->read_bytes / 1e6 / r->read_s,
               (double)r->read_records / (r->read_cpu_s > 0 ? r->read_cpu_s : 1e-9));
    }
    printf("\nappend MB/s: segment bytes written per second (close included); %% disk and %% same: "
           "of the two fdatasync'd disk figures; read MB/s: key+value bytes from the page cache; "
           "rec/cpu-s: per second of this process's CPU time (on a busy machine)\n");
    if (writers) {
        static const char *what[3] = {"1 process, 1 partition", "2 processes, 1 partition",
                                      "2 processes, 1 partition each"};
        double calls = (double)((records + g_per_call - 1) / g_per_call);
        printf("\nseveral writers (fsync=never, %zu records per append, close included):\n", g_per_call);
        printf("%-30s %12s %10s %14s\n", "", "append rec/s", "append s", "us per call");
        for (int i = 0; i < 3; i++)
            printf("%-30s %12.0f %10.2f %14.2f\n", what[i], (double)records / wt[i], wt[i],
                   wt[i] / calls * 1e6);
    }
    return 0;
}
