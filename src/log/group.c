/*
 * group.c - committed offsets of consumer groups.
 *
 * DIR/groups/<group>/<topic>.offsets is text:
 *
 *   tide-offsets 1
 *   0 1041          one "<partition> <offset>" line per committed partition
 *   3 77
 *   crc32c 89abcdef CRC-32C (8 hex digits) of every byte before this line
 *
 * It is replaced with tide_io_write_atomic (temporary file, fsync, rename,
 * directory fsync), so a reader sees the old or the new file, never a mix.
 */
#include "log/group.h"

#include "base/crc32c.h"
#include "base/buf.h"
#include "base/io.h"
#include "log/topic.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_CAP 4096

static int group_path(char *out, const char *datadir, const char *group, const char *topic,
                      bool file, tide_err *e)
{
    if (!tide_topic_name_valid(group))
        return tide_err_set(e, TIDE_EINVAL, "invalid group name \"%.200s\"", group);
    if (!tide_topic_name_valid(topic))
        return tide_err_set(e, TIDE_EINVAL, "invalid topic name \"%.200s\"", topic);
    int n = file ? snprintf(out, PATH_CAP, "%s/groups/%s/%s.offsets", datadir, group, topic)
                 : snprintf(out, PATH_CAP, "%s/groups/%s", datadir, group);
    if (n < 0 || n >= PATH_CAP)
        return tide_err_set(e, TIDE_EINVAL, "%s: path too long", datadir);
    return 0;
}

static bool parse_u64(const char *s, const char *end, uint64_t *v)
{
    if (s == end || end - s > 20)
        return false;
    uint64_t x = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return false;
        uint64_t d = (uint64_t)(*s - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *v = x;
    return true;
}

int tide_group_fetch(const char *datadir, const char *group, const char *topic,
                     uint64_t *offsets, uint32_t n, tide_err *e)
{
    char path[PATH_CAP];
    int rc = group_path(path, datadir, group, topic, true, e);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < n; i++)
        offsets[i] = TIDE_GROUP_NONE;
    char *text = NULL;
    size_t len = 0;
    tide_err le = {0};
    rc = tide_io_read_all(path, &text, &len, &le);
    if (rc == TIDE_ENOENT)
        return 0;
    if (rc)
        return tide_err_set(e, rc, "%s", le.msg);
    /* the last line is the checksum of everything before it */
    size_t body = len;
    if (len == 0 || text[len - 1] != '\n' || strlen(text) != len)
        goto corrupt;
    body = len - 1;
    while (body > 0 && text[body - 1] != '\n')
        body--;
    const char *cl = text + body;
    uint64_t want;
    if (len - body != 16 || strncmp(cl, "crc32c ", 7) != 0)
        goto corrupt;
    want = 0;
    for (int i = 0; i < 8; i++) {
        char ch = cl[7 + i];
        if (ch >= '0' && ch <= '9')
            want = want << 4 | (uint64_t)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            want = want << 4 | (uint64_t)(ch - 'a' + 10);
        else
            goto corrupt; /* lower-case hex only: one spelling per value */
    }
    if (tide_crc32c(0, text, body) != (uint32_t)want || strncmp(text, "tide-offsets 1\n", 15) != 0)
        goto corrupt;
    for (const char *l = text + 15; l < cl;) {
        const char *nl = memchr(l, '\n', (size_t)(cl - l));
        const char *sp = memchr(l, ' ', (size_t)(nl - l));
        uint64_t p, off;
        if (!nl || !sp || !parse_u64(l, sp, &p) || !parse_u64(sp + 1, nl, &off) || off == TIDE_GROUP_NONE)
            goto corrupt;
        if (p < n) {
            if (offsets[p] != TIDE_GROUP_NONE)
                goto corrupt;
            offsets[p] = off;
        }
        l = nl + 1;
    }
    free(text);
    return 0;
corrupt:
    free(text);
    for (uint32_t i = 0; i < n; i++)
        offsets[i] = TIDE_GROUP_NONE;
    return tide_err_set(e, TIDE_ECORRUPT, "%s: corrupt consumer group offsets file", path);
}

int tide_group_commit(const char *datadir, const char *group, const char *topic,
                      const uint64_t *offsets, uint32_t n, tide_err *e)
{
    char path[PATH_CAP], dir[PATH_CAP];
    int rc = group_path(path, datadir, group, topic, true, e);
    if (rc || (rc = group_path(dir, datadir, group, topic, false, e)))
        return rc;
    tide_buf b = {0};
    rc = tide_buf_printf(&b, "tide-offsets 1\n");
    for (uint32_t i = 0; i < n && !rc; i++)
        if (offsets[i] != TIDE_GROUP_NONE)
            rc = tide_buf_printf(&b, "%" PRIu32 " %" PRIu64 "\n", i, offsets[i]);
    if (!rc)
        rc = tide_buf_printf(&b, "crc32c %08" PRIx32 "\n", tide_crc32c(0, b.data, b.len));
    if (rc) {
        rc = tide_err_set(e, TIDE_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    if ((rc = tide_io_mkdirs(dir, e)))
        goto done;
    rc = tide_io_write_atomic(path, b.data, b.len, e);
done:
    tide_buf_free(&b);
    return rc;
}
