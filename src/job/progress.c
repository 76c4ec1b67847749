/*
 * progress.c - the records a bounded run will read, and its progress line.
 */
#include "job/progress.h"

#include "log/topic.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SAMPLE_BYTES 65536

void tide_progress_init(tide_progress *p) { *p = (tide_progress){.known = true}; }

static int add_file(tide_progress *p, const char *path, bool header, tide_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return tide_err_sys(e, errno, "progress: %s", path);
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        p->known = false; /* a pipe or a device: no size */
        return 0;
    }
    char buf[4096];
    size_t sampled = 0, lines = 0, n;
    char last = '\n';
    while (sampled < SAMPLE_BYTES && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        for (size_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
        sampled += n;
        last = buf[n - 1];
    }
    fclose(f);
    if (sampled == 0)
        return 0; /* empty */
    if ((uint64_t)st.st_size <= sampled) {
        /* the whole file: its lines (a last line without a newline counts) */
        lines += last != '\n';
        p->total += header && lines ? lines - 1 : lines;
        return 0;
    }
    if (lines == 0) {
        p->known = false; /* no line end in 64 KiB: no estimate */
        return 0;
    }
    uint64_t est = (uint64_t)((double)st.st_size * (double)lines / (double)sampled + 0.5);
    p->total += header && est ? est - 1 : est;
    p->estimated = true;
    return 0;
}

static int add_topic(tide_progress *p, const char *datadir, const char *topic, tide_err *e)
{
    tide_partition_info *pi = NULL;
    uint32_t np = 0;
    int rc = tide_topic_describe(datadir, topic, &pi, &np, e);
    if (rc != 0)
        return rc;
    for (uint32_t i = 0; i < np; i++)
        p->total += pi[i].next_offset - pi[i].first_offset;
    free(pi);
    return 0;
}

int tide_progress_add_source(tide_progress *p, const tide_src_config *cfg, const char *base_dir,
                             const char *datadir, tide_err *e)
{
    switch (cfg->kind) {
    case TIDE_SRC_FILE: {
        if (!cfg->path) {
            p->known = false;
            return 0;
        }
        if (cfg->path[0] == '/' || !base_dir)
            return add_file(p, cfg->path, cfg->header, e);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", base_dir, cfg->path);
        return add_file(p, path, cfg->header, e);
    }
    case TIDE_SRC_TOPIC:
        return add_topic(p, cfg->datadir ? cfg->datadir : datadir, cfg->topic, e);
    default:
        p->known = false;
        return 0;
    }
}

/* n with thousands separators */
static void commas(uint64_t n, char *out, size_t cap)
{
    char d[32];
    int len = snprintf(d, sizeof d, "%" PRIu64, n);
    size_t o = 0;
    for (int i = 0; i < len && o + 1 < cap; i++) {
        if (i && (len - i) % 3 == 0 && o + 2 < cap)
            out[o++] = ',';
        out[o++] = d[i];
    }
    out[o] = 0;
}

static void duration(uint64_t s, char *out, size_t cap)
{
    if (s >= 3600)
        snprintf(out, cap, "%" PRIu64 ":%02u:%02u", s / 3600, (unsigned)(s / 60 % 60), (unsigned)(s % 60));
    else
        snprintf(out, cap, "%u:%02u", (unsigned)(s / 60), (unsigned)(s % 60));
}

void tide_progress_line(const tide_progress *p, uint64_t records, int64_t elapsed_ms, char *out, size_t cap)
{
    char rec[40], rate_s[40];
    commas(records, rec, sizeof rec);
    double rate = elapsed_ms > 0 ? (double)records * 1000.0 / (double)elapsed_ms : 0.0;
    commas((uint64_t)(rate + 0.5), rate_s, sizeof rate_s);
    int n = snprintf(out, cap, "%s records  %s/s", rec, rate_s);
    if (n < 0 || (size_t)n >= cap || !p->known || p->total == 0)
        return;
    uint64_t total = p->total > records ? p->total : records; /* an estimate that was too low */
    unsigned pct = (unsigned)(records * 100 / total);
    char eta[32] = "--:--";
    if (rate > 0)
        duration((uint64_t)((double)(total - records) / rate + 0.5), eta, sizeof eta);
    snprintf(out + n, cap - (size_t)n, "  %s%u%%  ETA %s", p->estimated ? "~" : "", pct, eta);
}
