/*
 * status.h - a named job's live status file, for `tide job status` and
 * `tide job list`.
 *
 *   jobs/<job>/status    rewritten atomically (temp, fsync, rename) by the
 *                        running job's coordinator about every second, and
 *                        once more when the run ends
 *
 * Text, one "key value" per line, in this order (version 1):
 *
 *   tide-job-status 1
 *   state running          running | finished | stopped | failed
 *   pid 1234
 *   started_ms 1765000000000   wall clock
 *   updated_ms 1765000001000
 *   in 1000                records in (as the run's summary counts them)
 *   out 12
 *   late 0
 *   bad 1
 *   watermark 1704067200000    the job's watermark (ms; the sentinels as they are)
 *   checkpoint 17          the last checkpoint this job completed (0: none)
 *   checkpoint_time_ms ...
 *   checkpoint_bytes 4096
 *   checkpoint_took_ms 3   from its barrier to its durable manifest
 *   sources <one line>     the last checkpoint's source positions and lag
 *   error <one line>       why it failed (state failed), else empty
 *   crc32c 0123abcd        of every byte before this line
 *
 * A file that does not verify is reported as damaged (TIDE_ECORRUPT), never
 * shown.  Whether the job runs is decided by its lock, not by the file: a
 * run killed by SIGKILL leaves "running" behind, and the reader says the
 * last run died.
 */
#ifndef TIDE_JOB_STATUS_H
#define TIDE_JOB_STATUS_H

#include "base/err.h"

#include <stdbool.h>
#include <stdint.h>

#define TIDE_JSTATUS_LINE_MAX 1024

typedef struct tide_jstatus {
    char state[16];
    int64_t pid;
    int64_t started_ms, updated_ms;
    uint64_t in, out, late, bad;
    int64_t watermark;
    int64_t ckpt_id, ckpt_time_ms, ckpt_took_ms;
    uint64_t ckpt_bytes;
    char sources[TIDE_JSTATUS_LINE_MAX];
    char error[TIDE_JSTATUS_LINE_MAX];
} tide_jstatus;

/* Write `st` as job `job`'s status (jobs/<job>/status under datadir).
 * Newlines in the text fields become spaces.  Fault point job.status. */
int tide_jstatus_write(const char *datadir, const char *job, const tide_jstatus *st, tide_err *e);
/* Read it: TIDE_ENOENT when there is none, TIDE_ECORRUPT naming the line. */
int tide_jstatus_read(const char *datadir, const char *job, tide_jstatus *st, tide_err *e);

#endif
