/*
 * bench_log.c - throughput of the embedded log beside the disk's own speed.
 *
 *   bench_log [-d DIR] [-n RECORDS] [-m DISK_MIB]
 *
 * In a scratch directory under DIR (default $TMPDIR, else /tmp):
 *   1. the disk's sequential write speed: DISK_MIB (default 1024) MiB in
 *      1 MiB write() calls and one fdatasync at the end, as
 *      `dd bs=1M conv=fdatasync` measures it; the figure without the
 *      fdatasync (page cache only) is printed too;
 *   2. for each fsync policy (always, interval:100, never): RECORDS
 *      (default 2,000,000) records of a 16-byte key and a 100-byte value
 *      appended to a one-partition topic in calls of 1000 records (so
 *      fsync=always is one fsync per call), close included; then read back
 *      from the page cache with one reader.
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
#include <time.h>
#include <unistd.h>

#define KEY_LEN 16
#define VAL_LEN 100
#define PER_CALL 1000

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

    static unsigned char keys[PER_CALL][KEY_LEN], vals[PER_CALL][VAL_LEN];
    static tide_record recs[PER_CALL];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < PER_CALL; i++) {
        for (int j = 0; j < VAL_LEN; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            vals[i][j] = (unsigned char)(' ' + x % 95);
        }
        recs[i] = (tide_record){.key = keys[i], .key_len = KEY_LEN, .value = vals[i],
                                .value_len = VAL_LEN};
    }

    tide_log_writer *w = NULL;
    double t0 = now_s();
    if (tide_log_writer_open(&w, dir, topic, NULL, &e) != 0)
        die("writer open", &e);
    int64_t ts = 1700000000000;
    for (uint64_t done = 0; done < records;) {
        size_t n = records - done < PER_CALL ? (size_t)(records - done) : PER_CALL;
        for (size_t i = 0; i < n; i++) {
            put_key(keys[i], done + i);
            recs[i].timestamp = ts++;
        }
        if (tide_log_append(w, 0, recs, n, NULL, &e) != 0)
            die("append", &e);
        done += n;
    }
    if (tide_log_writer_close(w, &e) != 0)
        die("writer close", &e);
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
    fprintf(stderr, "usage: bench_log [-d DIR] [-n RECORDS] [-m DISK_MIB]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    uint64_t records = 2000000;
    unsigned disk_mib = 1024;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-d") && i + 1 < argc)
            base = argv[++i];
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            records = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-m") && i + 1 < argc)
            disk_mib = (unsigned)strtoul(argv[++i], NULL, 10);
        else
            usage();
    }
    if (records == 0 || disk_mib == 0)
        usage();

    char dir[4096];
    snprintf(dir, sizeof dir, "%s/bench_log.%d", base, (int)getpid());
    tide_err e = {0};
    if (tide_io_mkdirs(dir, &e) != 0)
        die(dir, &e);

    double disk_sync, disk_nosync;
    disk_speed(dir, disk_mib, &disk_sync, &disk_nosync);

    static const char *policies[] = {"always", "interval:100", "never"};
    result res[3];
    for (int i = 0; i < 3; i++)
        run_policy(dir, policies[i], records, &res[i]);
    /* the disk again with as many bytes as one append run wrote: a short
     * burst may go faster than a long one (write-back caches, dirty limits) */
    unsigned same_mib = (unsigned)((res[1].seg_bytes + (1u << 20) - 1) >> 20);
    double same_sync, same_nosync;
    disk_speed(dir, same_mib, &same_sync, &same_nosync);
    tide_io_rmtree(dir, NULL);

    printf("directory %s; %" PRIu64 " records of %d-byte key + %d-byte value, %d per append\n",
           base, records, KEY_LEN, VAL_LEN, PER_CALL);
    printf("disk: %u MiB in 1 MiB writes: %.0f MB/s with fdatasync (dd conv=fdatasync), "
           "%.0f MB/s without\n", disk_mib, disk_sync, disk_nosync);
    printf("disk: %u MiB (one append run's bytes), same way: %.0f MB/s with fdatasync, %.0f MB/s "
           "without\n\n", same_mib, same_sync, same_nosync);
    printf("%-13s %12s %10s %12s %8s %8s %12s %10s %14s\n", "fsync", "append rec/s", "append s",
           "append MB/s", "% disk", "% same", "read rec/s", "read MB/s", "read rec/cpu-s");
    for (int i = 0; i < 3; i++) {
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
    return 0;
}
