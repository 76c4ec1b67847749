/*
 * topic.c - topic names, configuration (the meta file) and administration.
 *
 * The meta file DIR/topics/<topic>/meta is text, one "key value" per line:
 *
 *   tide-topic 2
 *   partitions 4
 *   retention_ms -1
 *   retention_bytes -1
 *   segment_bytes 1073741824
 *   fsync interval:100
 *   incarnation 5f3a9c0e12d4b871
 *   crc32c 89abcdef
 *
 * The last line is the CRC-32C (8 hex digits) of every byte before it.
 * Version 1 (still read) has no incarnation line: its incarnation is 0.  A
 * topic is created under a temporary directory name containing '~' (never a
 * valid topic name), then renamed into place, so a crash leaves either no
 * topic or a complete one.
 */
#include "log/topic.h"

#include "base/crc32c.h"
#include "base/hash.h"
#include "base/io.h"
#include "log/segment.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PATH_CAP TIDE_SEG_PATH_MAX

void tide_topic_config_default(tide_topic_config *c)
{
    c->partitions = 1;
    c->retention_ms = -1;
    c->retention_bytes = -1;
    c->segment_bytes = 1ull << 30;
    c->fsync = TIDE_FSYNC_INTERVAL;
    c->fsync_interval_ms = 100;
    c->incarnation = 0;
}

/* A random non-zero 64-bit id (the kernel's random source; a clock-based
 * mix only if that is unavailable). */
static uint64_t new_incarnation(void)
{
    uint64_t v = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &v, sizeof v) != (ssize_t)sizeof v)
            v = 0;
        close(fd);
    }
    if (!v) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = tide_hash_u64((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^
            tide_hash_u64((uint64_t)getpid());
    }
    return v ? v : 1;
}

static bool parse_i64(const char *s, int64_t *out)
{
    if (!*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

int tide_fsync_parse(const char *s, tide_topic_config *c, tide_err *e)
{
    if (!strcmp(s, "always")) {
        c->fsync = TIDE_FSYNC_ALWAYS;
        return 0;
    }
    if (!strcmp(s, "never")) {
        c->fsync = TIDE_FSYNC_NEVER;
        return 0;
    }
    int64_t ms;
    if (!strncmp(s, "interval:", 9) && parse_i64(s + 9, &ms) && ms >= 0) {
        c->fsync = TIDE_FSYNC_INTERVAL;
        c->fsync_interval_ms = ms;
        return 0;
    }
    return tide_err_set(e, TIDE_EINVAL,
                        "bad fsync policy \"%s\": expected always, never or interval:MS", s);
}

void tide_fsync_format(const tide_topic_config *c, char *buf, size_t cap)
{
    switch (c->fsync) {
    case TIDE_FSYNC_ALWAYS: snprintf(buf, cap, "always"); break;
    case TIDE_FSYNC_NEVER: snprintf(buf, cap, "never"); break;
    default: snprintf(buf, cap, "interval:%" PRId64, c->fsync_interval_ms); break;
    }
}

bool tide_topic_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n < 1 || n > TIDE_TOPIC_NAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '.' || ch == '_' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

const char *tide_data_dir(const char *flag)
{
    if (flag)
        return flag;
    const char *env = getenv("TIDE_DATA");
    if (env && *env)
        return env;
    return "./tide-data";
}

static int config_check(const tide_topic_config *c, const char *name, tide_err *e)
{
    if (c->partitions < 1 || c->partitions > TIDE_PARTITIONS_MAX)
        return tide_err_set(e, TIDE_EINVAL, "topic %s: partitions must be 1..%d (got %" PRIu32 ")",
                            name, TIDE_PARTITIONS_MAX, c->partitions);
    if (c->retention_ms < -1 || c->retention_bytes < -1)
        return tide_err_set(e, TIDE_EINVAL, "topic %s: retention must be -1 or >= 0", name);
    if (c->segment_bytes < 1)
        return tide_err_set(e, TIDE_EINVAL, "topic %s: segment_bytes must be > 0", name);
    if (c->fsync != TIDE_FSYNC_ALWAYS && c->fsync != TIDE_FSYNC_INTERVAL && c->fsync != TIDE_FSYNC_NEVER)
        return tide_err_set(e, TIDE_EINVAL, "topic %s: bad fsync policy", name);
    if (c->fsync == TIDE_FSYNC_INTERVAL && c->fsync_interval_ms < 0)
        return tide_err_set(e, TIDE_EINVAL, "topic %s: fsync interval must be >= 0", name);
    return 0;
}

static int topic_path(char *out, const char *datadir, const char *name, const char *sub, tide_err *e)
{
    if (!tide_topic_name_valid(name))
        return tide_err_set(e, TIDE_EINVAL,
                            "invalid topic name \"%.*s\": use 1..%d letters, digits, '.', '_', '-'",
                            200, name, TIDE_TOPIC_NAME_MAX);
    int n = sub ? snprintf(out, PATH_CAP, "%s/topics/%s/%s", datadir, name, sub)
                : snprintf(out, PATH_CAP, "%s/topics/%s", datadir, name);
    if (n < 0 || n >= PATH_CAP)
        return tide_err_set(e, TIDE_EINVAL, "%s: path too long", datadir);
    return 0;
}

static int meta_format(char *buf, size_t cap, const tide_topic_config *c)
{
    char fs[64];
    tide_fsync_format(c, fs, sizeof fs);
    int n = snprintf(buf, cap,
                     "tide-topic 2\npartitions %" PRIu32 "\nretention_ms %" PRId64
                     "\nretention_bytes %" PRId64 "\nsegment_bytes %" PRIu64
                     "\nfsync %s\nincarnation %016" PRIx64 "\n",
                     c->partitions, c->retention_ms, c->retention_bytes, c->segment_bytes, fs,
                     c->incarnation);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    int m = snprintf(buf + n, cap - (size_t)n, "crc32c %08" PRIx32 "\n", tide_crc32c(0, buf, (size_t)n));
    if (m < 0 || (size_t)(n + m) >= cap)
        return -1;
    return n + m;
}

/* Parse a meta file's text; TIDE_ECORRUPT naming `path` when it is not one. */
static int meta_parse(const char *path, char *text, size_t len, tide_topic_config *c, tide_err *e)
{
    tide_topic_config_default(c);
    if (strlen(text) != len)
        return tide_err_set(e, TIDE_ECORRUPT, "%s: corrupt topic meta file (NUL byte)", path);
    /* the CRC line is the last line */
    if (len == 0 || text[len - 1] != '\n')
        return tide_err_set(e, TIDE_ECORRUPT, "%s: corrupt topic meta file (truncated)", path);
    size_t body = len - 1;
    while (body > 0 && text[body - 1] != '\n')
        body--;
    uint32_t want;
    char hex[9];
    if (sscanf(text + body, "crc32c %8[0-9a-f]", hex) != 1 || strlen(hex) != 8 ||
        strlen(text + body) != 16)
        return tide_err_set(e, TIDE_ECORRUPT, "%s: corrupt topic meta file (no crc32c line)", path);
    want = (uint32_t)strtoul(hex, NULL, 16);
    if (tide_crc32c(0, text, body) != want)
        return tide_err_set(e, TIDE_ECORRUPT, "%s: corrupt topic meta file (checksum mismatch)", path);
    text[body] = '\0';
    int seen = 0, line = 0, version = 0;
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        line++;
        char *sp = strchr(l, ' ');
        if (!sp)
            return tide_err_set(e, TIDE_ECORRUPT, "%s:%d: malformed line", path, line);
        *sp = '\0';
        const char *k = l, *v = sp + 1;
        int64_t x;
        if (line == 1) {
            if (strcmp(k, "tide-topic"))
                return tide_err_set(e, TIDE_ECORRUPT, "%s:1: not a tide topic meta file", path);
            if (strcmp(v, "1") && strcmp(v, "2"))
                return tide_err_set(e, TIDE_EUNSUPPORTED, "%s:1: unsupported topic meta version %s",
                                    path, v);
            version = v[0] - '0';
            continue;
        }
        if (!strcmp(k, "partitions") && parse_i64(v, &x) && x >= 1 && x <= TIDE_PARTITIONS_MAX) {
            c->partitions = (uint32_t)x;
            seen |= 1;
        } else if (!strcmp(k, "retention_ms") && parse_i64(v, &x) && x >= -1) {
            c->retention_ms = x;
            seen |= 2;
        } else if (!strcmp(k, "retention_bytes") && parse_i64(v, &x) && x >= -1) {
            c->retention_bytes = x;
            seen |= 4;
        } else if (!strcmp(k, "segment_bytes") && parse_i64(v, &x) && x >= 1) {
            c->segment_bytes = (uint64_t)x;
            seen |= 8;
        } else if (!strcmp(k, "fsync") && tide_fsync_parse(v, c, NULL) == 0) {
            seen |= 16;
        } else if (!strcmp(k, "incarnation") && version >= 2 && strlen(v) == 16 &&
                   strspn(v, "0123456789abcdef") == 16 && strtoull(v, NULL, 16) != 0) {
            c->incarnation = strtoull(v, NULL, 16);
            seen |= 32;
        } else {
            return tide_err_set(e, TIDE_ECORRUPT, "%s:%d: bad line \"%s %s\"", path, line, k, v);
        }
    }
    if (line < 1)
        return tide_err_set(e, TIDE_ECORRUPT, "%s: not a tide topic meta file", path);
    if (seen != (version >= 2 ? 63 : 31))
        return tide_err_set(e, TIDE_ECORRUPT, "%s: topic meta file misses a setting", path);
    return 0;
}

int tide_topic_exists(const char *datadir, const char *name)
{
    char p[PATH_CAP];
    if (topic_path(p, datadir, name, "meta", NULL))
        return 0;
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int tide_topic_config_load(const char *datadir, const char *name, tide_topic_config *c, tide_err *e)
{
    char p[PATH_CAP];
    int rc = topic_path(p, datadir, name, "meta", e);
    if (rc)
        return rc;
    char *text = NULL;
    size_t len = 0;
    tide_err le = {0};
    rc = tide_io_read_all(p, &text, &len, &le);
    if (rc == TIDE_ENOENT)
        return tide_err_set(e, rc, "topic %s does not exist (in %s)", name, datadir);
    if (rc)
        return tide_err_set(e, rc, "%s", le.msg);
    rc = meta_parse(p, text, len, c, e);
    free(text);
    return rc;
}

int tide_topic_create(const char *datadir, const char *name, const tide_topic_config *c, tide_err *e)
{
    char final[PATH_CAP], tmp[PATH_CAP], sub[PATH_CAP + 32], meta[512];
    int rc = topic_path(final, datadir, name, NULL, e);
    if (rc || (rc = config_check(c, name, e)))
        return rc;
    int n = snprintf(tmp, sizeof tmp, "%s/topics/new~%s", datadir, name);
    if (n < 0 || n >= (int)sizeof tmp - 16)
        return tide_err_set(e, TIDE_EINVAL, "%s: path too long", datadir);
    tide_topic_config cc = *c;
    cc.incarnation = new_incarnation();
    int mlen = meta_format(meta, sizeof meta, &cc);
    if (mlen < 0)
        return tide_err_set(e, TIDE_EINVAL, "topic %s: config does not format", name);
    snprintf(sub, sizeof sub, "%s/topics", datadir);
    if ((rc = tide_io_mkdirs(sub, e)))
        return rc;
    struct stat st;
    if (stat(final, &st) == 0)
        return tide_err_set(e, TIDE_EEXIST, "topic %s already exists", name);
    if ((rc = tide_io_rmtree(tmp, e)) || (rc = tide_io_mkdir(tmp, e)))
        return rc;
    for (uint32_t p = 0; p < c->partitions; p++) {
        snprintf(sub, sizeof sub, "%s/%" PRIu32, tmp, p);
        if ((rc = tide_io_mkdir(sub, e)))
            return rc;
    }
    snprintf(sub, sizeof sub, "%s/meta", tmp);
    if ((rc = tide_io_write_atomic(sub, meta, (size_t)mlen, e)))
        return rc;
    tide_err le = {0};
    rc = tide_io_rename(tmp, final, &le);
    if (rc == TIDE_EEXIST) {
        tide_io_rmtree(tmp, NULL);
        return tide_err_set(e, rc, "topic %s already exists", name);
    }
    if (rc)
        return tide_err_set(e, rc, "%s", le.msg);
    return 0;
}

int tide_topic_delete(const char *datadir, const char *name, tide_err *e)
{
    char dir[PATH_CAP], lockp[PATH_CAP], gone[PATH_CAP];
    int rc = topic_path(dir, datadir, name, NULL, e);
    if (rc || (rc = topic_path(lockp, datadir, name, "lock", e)))
        return rc;
    if (!tide_topic_exists(datadir, name))
        return tide_err_set(e, TIDE_ENOENT, "topic %s does not exist (in %s)", name, datadir);
    int n = snprintf(gone, sizeof gone, "%s/topics/del~%s", datadir, name);
    if (n < 0 || n >= (int)sizeof gone)
        return tide_err_set(e, TIDE_EINVAL, "%s: path too long", datadir);
    tide_file *lock = NULL;
    if ((rc = tide_io_open(&lock, lockp, TIDE_IO_WRITE | TIDE_IO_CREATE, e)))
        return rc;
    tide_err le = {0};
    rc = tide_io_lock(lock, &le);
    if (rc == TIDE_ELOCKED) {
        rc = tide_err_set(e, rc, "topic %s is being written by another process", name);
        goto done;
    }
    if (rc) {
        rc = tide_err_set(e, rc, "%s", le.msg);
        goto done;
    }
    if ((rc = tide_io_rmtree(gone, e)) || (rc = tide_io_rename(dir, gone, e)))
        goto done;
    rc = tide_io_rmtree(gone, e);
done:
    tide_io_close(lock);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void tide_topic_names_free(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int tide_topic_list(const char *datadir, char ***names, size_t *n, tide_err *e)
{
    *names = NULL;
    *n = 0;
    char dir[PATH_CAP];
    int len = snprintf(dir, sizeof dir, "%s/topics", datadir);
    if (len < 0 || len >= (int)sizeof dir)
        return tide_err_set(e, TIDE_EINVAL, "%s: path too long", datadir);
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : tide_err_sys(e, errno, "%s: opendir", dir);
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!tide_topic_name_valid(de->d_name) || !tide_topic_exists(datadir, de->d_name))
            continue;
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nv = realloc(v, nc * sizeof *nv);
            if (!nv)
                goto oom;
            v = nv;
            cap = nc;
        }
        if (!(v[cnt] = strdup(de->d_name)))
            goto oom;
        cnt++;
    }
    if (cnt)
        qsort(v, cnt, sizeof *v, cmp_str);
    *names = v;
    *n = cnt;
    closedir(d);
    return 0;
oom:
    rc = tide_err_set(e, TIDE_ENOMEM, "%s: listing topics: out of memory", dir);
    tide_topic_names_free(v, cnt);
    closedir(d);
    return rc;
}

int tide_topic_describe(const char *datadir, const char *name, tide_partition_info **parts,
                        uint32_t *n, tide_err *e)
{
    *parts = NULL;
    *n = 0;
    tide_topic_config c;
    int rc = tide_topic_config_load(datadir, name, &c, e);
    if (rc)
        return rc;
    tide_partition_info *v = calloc(c.partitions, sizeof *v);
    if (!v)
        return tide_err_set(e, TIDE_ENOMEM, "topic %s: out of memory", name);
    tide_buf buf = {0};
    uint64_t *bases = NULL;
    for (uint32_t p = 0; p < c.partitions; p++) {
        char dir[PATH_CAP], sub[16];
        snprintf(sub, sizeof sub, "%" PRIu32, p);
        if ((rc = topic_path(dir, datadir, name, sub, e)))
            goto fail;
        size_t nb = 0;
        free(bases);
        bases = NULL;
        if ((rc = tide_seg_list(dir, &bases, &nb, e)))
            goto fail;
        tide_partition_info *pi = &v[p];
        pi->partition = p;
        pi->min_ts = INT64_MAX;
        pi->max_ts = INT64_MIN;
        pi->first_offset = nb ? bases[0] : 0;
        pi->next_offset = pi->first_offset;
        for (size_t i = 0; i < nb; i++) {
            tide_seg_summary s;
            if ((rc = tide_seg_summarize(dir, bases[i], &buf, &s, e)))
                goto fail;
            pi->segments++;
            pi->bytes += s.end;
            pi->next_offset = s.next_offset;
            if (s.min_ts < pi->min_ts)
                pi->min_ts = s.min_ts;
            if (s.max_ts > pi->max_ts)
                pi->max_ts = s.max_ts;
        }
    }
    *parts = v;
    *n = c.partitions;
    v = NULL;
fail:
    free(bases);
    free(v);
    tide_buf_free(&buf);
    return rc;
}

/* One segment of tide_topic_verify: `*expect` is the offset it must start
 * with (UINT64_MAX: any), then the offset after it. */
static int verify_segment(const char *dir, uint64_t base, bool last, uint64_t *expect,
                          tide_buf *buf, void (*report)(void *, const char *), void *ctx,
                          uint64_t *damaged, tide_err *e)
{
    char path[PATH_CAP], line[PATH_CAP + 512];
    int rc = tide_seg_path(path, dir, base, ".log", e);
    if (rc)
        return rc;
    if (*expect != UINT64_MAX && base != *expect) {
        snprintf(line, sizeof line, "%s: starts at offset %" PRIu64 ", the segment before ends at %" PRIu64 " (a gap)",
                 path, base, *expect);
        report(ctx, line);
        ++*damaged;
    }
    tide_file *f = NULL;
    if ((rc = tide_io_open(&f, path, TIDE_IO_READ, e)))
        return rc;
    tide_seg_index ix;
    tide_seg_index_init(&ix, false);
    tide_seg_scan sc;
    rc = tide_seg_scan_file(f, 0, base, &ix, buf, &sc, e);
    if (!rc && sc.tail == TIDE_SEG_CLEAN && sc.batches == 0 && !last) {
        snprintf(line, sizeof line, "%s: empty sealed segment", path);
        report(ctx, line);
        ++*damaged;
    } else if (!rc && sc.tail != TIDE_SEG_CLEAN) {
        bool found = false;
        uint64_t where = 0;
        if (last)
            rc = tide_seg_find_valid_after(f, &sc, buf, &found, &where, e);
        if (!rc && last && !found)
            snprintf(line, sizeof line,
                     "%s: torn tail at position %" PRIu64 " (offset %" PRIu64
                     "): %s; %" PRIu64 " bytes the next writer open cuts (not damage)",
                     path, sc.end, sc.next_offset, sc.why, sc.file_size - sc.end);
        else if (!rc && last)
            snprintf(line, sizeof line,
                     "%s: damaged batch at position %" PRIu64 " (offset %" PRIu64
                     "): %s; valid data resumes at position %" PRIu64,
                     path, sc.end, sc.next_offset, sc.why, where);
        else if (!rc)
            snprintf(line, sizeof line,
                     "%s: damaged batch at position %" PRIu64 " (offset %" PRIu64
                     ") of a sealed segment: %s",
                     path, sc.end, sc.next_offset, sc.why);
        if (!rc) {
            report(ctx, line);
            *damaged += !last || found;
        }
    }
    /* after damage the segment's end is unknown: the next one is not judged by it */
    *expect = sc.tail == TIDE_SEG_CLEAN ? sc.next_offset : UINT64_MAX;
    tide_seg_index_free(&ix);
    tide_io_close(f);
    return rc;
}

int tide_topic_verify(const char *datadir, const char *name,
                      void (*report)(void *ctx, const char *line), void *ctx, uint64_t *damaged,
                      uint64_t *segments, tide_err *e)
{
    *damaged = *segments = 0;
    tide_topic_config c;
    int rc = tide_topic_config_load(datadir, name, &c, e);
    tide_buf buf = {0};
    for (uint32_t p = 0; !rc && p < c.partitions; p++) {
        char dir[PATH_CAP], sub[16];
        snprintf(sub, sizeof sub, "%" PRIu32, p);
        uint64_t *bases = NULL;
        size_t nb = 0;
        if ((rc = topic_path(dir, datadir, name, sub, e)) ||
            (rc = tide_seg_list(dir, &bases, &nb, e)))
            break;
        uint64_t expect = UINT64_MAX;
        for (size_t i = 0; !rc && i < nb; i++, ++*segments)
            rc = verify_segment(dir, bases[i], i + 1 == nb, &expect, &buf, report, ctx, damaged, e);
        free(bases);
    }
    tide_buf_free(&buf);
    return rc;
}
