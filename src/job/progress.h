/*
 * progress.h - how far a bounded run has come, for the progress line that
 * `tide run` draws on a terminal: the records it will read (exact for
 * topics, estimated for files) and the line itself.
 *
 *   tide_progress p;  tide_progress_init(&p);
 *   tide_progress_add_source(&p, &scan_cfg, base_dir, &e);  -- each source
 *   tide_progress_line(&p, records_in, elapsed_ms, buf, sizeof buf);
 *
 * A file's records are estimated from its size and the lines in its first
 * 64 KiB (the estimate grows to what was read when it was too low); a
 * topic's are the records between its partitions' first and next offsets
 * at the start.  A source of unknown size (stdin, a generator) makes the
 * total unknown: the line then has no percentage and no ETA.
 */
#ifndef TIDE_JOB_PROGRESS_H
#define TIDE_JOB_PROGRESS_H

#include "base/err.h"
#include "connect/source.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tide_progress {
    uint64_t total;  /* records expected */
    bool known;      /* false: some source's size is unknown */
    bool estimated;  /* some part of total is an estimate (a file) */
} tide_progress;

void tide_progress_init(tide_progress *p);

/* Count source `cfg` (a FILE path resolves against base_dir when relative;
 * a TOPIC in cfg->datadir, else datadir).  Errors: the file or topic
 * cannot be read (TIDE_ENOENT, TIDE_EIO). */
int tide_progress_add_source(tide_progress *p, const tide_src_config *cfg, const char *base_dir,
                             const char *datadir, tide_err *e);

/* The line (no newline), at most cap - 1 bytes:
 *   "1,234,567 records  412,003/s  37%  ETA 0:42"   (total known)
 *   "1,234,567 records  412,003/s"                   (unknown)
 * The rate is records / elapsed; the ETA (h:mm:ss or m:ss) the records
 * still to read at that rate; "~" before the percentage when the total is
 * an estimate. */
void tide_progress_line(const tide_progress *p, uint64_t records, int64_t elapsed_ms, char *out, size_t cap);

#endif
