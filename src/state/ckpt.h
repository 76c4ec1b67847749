/*
 * ckpt.h - a job's checkpoints on disk: written so that a crash or a power
 * loss at any step leaves either the previous checkpoints or the new one
 * complete, read back only when every byte verifies.
 *
 * Layout, under the data directory:
 *
 *   jobs/<job>/checkpoints/<id>.state      the state (exec/flow.h's store)
 *   jobs/<job>/checkpoints/<id>.manifest   written last: the checkpoint is
 *                                          complete when its manifest is
 *
 * <id> is 20 decimal digits.  Job names follow the topic rules (letters,
 * digits, '.', '_', '-'; 1 to 200 characters).  The manifest is text, one
 * "key value" per line, in this order (version 2; version 1, still read,
 * has no "finished" line):
 *
 *   tide-checkpoint 2
 *   job dau
 *   id 17
 *   plan 5f3a9c0e12d4b871        the fingerprint of the plan the state is of
 *   time_ms 1765000000000        wall clock when it was written
 *   state_bytes 123456
 *   state_crc32c 89abcdef        of the whole state file
 *   finished 0                   1: the job's final checkpoint at the end of its input
 *   info <one line of text>      what the job records to show (positions, watermark)
 *   crc32c 0123abcd              of every byte before this line
 *
 * Writing checkpoint n: the state goes to <n>.state.tmp, is fsynced and
 * renamed to <n>.state (the directory fsynced); then the manifest the same
 * way (tide_io_write_atomic).  Only then are older checkpoints beyond the
 * newest `keep` deleted, oldest first, each manifest before its state: a
 * checkpoint is never deleted before a newer one is complete.  Every step
 * is a fault point (base/fault.h): ckpt.state.write, ckpt.state.fsync,
 * ckpt.state.rename, ckpt.manifest.write, ckpt.prune.
 *
 * Reading: the newest manifest that verifies (its CRC, every field, the
 * job's name, the state file's size and CRC) is the checkpoint.  A damaged
 * newer one is reported (through `report`) and the next older is tried; it
 * is never deleted (a person may want to look at it) but no longer counts.
 * Leftovers of an interrupted write (*.tmp, a state without a manifest) are
 * removed when the directory is opened, and reported.
 *
 * A checkpoint of another plan (the SQL changed in a way that changes the
 * state) is refused with TIDE_EINVAL naming both fingerprints, never
 * misread.
 */
#ifndef TIDE_STATE_CKPT_H
#define TIDE_STATE_CKPT_H

#include "base/buf.h"
#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIDE_CKPT_INFO_MAX 1024

typedef struct tide_ckpt_meta {
    int64_t id;            /* >= 1, increasing */
    uint64_t plan;         /* the plan's fingerprint */
    int64_t time_ms;       /* set by tide_ckpt_write */
    uint64_t state_bytes;  /* set by tide_ckpt_write */
    uint32_t state_crc;    /* set by tide_ckpt_write */
    bool finished;         /* the final checkpoint of a job whose input ended */
    char info[TIDE_CKPT_INFO_MAX]; /* one line (no newline); may be empty */
} tide_ckpt_meta;

typedef struct tide_ckpt_dir tide_ckpt_dir;

/* Open (creating) job `job`'s checkpoint directory in `datadir`, keeping
 * the newest `keep` (>= 1) checkpoints when writing.  `report` (may be
 * NULL: stderr) gets a line for each leftover removed and each damaged
 * checkpoint skipped.  TIDE_EINVAL for a bad job name. */
int tide_ckpt_open(tide_ckpt_dir **out, const char *datadir, const char *job, uint32_t keep,
                   void (*report)(void *ctx, const char *msg), void *ctx, tide_err *e);
/* Open job `job`'s checkpoints for reading only, from another process
 * than the one that writes them (the job runs meanwhile): nothing is
 * created, removed or reported (a checkpoint pruned while being read is
 * skipped silently).  Only tide_ckpt_latest and tide_ckpt_list on it. */
int tide_ckpt_open_reader(tide_ckpt_dir **out, const char *datadir, const char *job, tide_err *e);
void tide_ckpt_close(tide_ckpt_dir *d);

/* Write checkpoint m->id (newer than every complete one, else TIDE_EINVAL)
 * with state[0, len); fills m's time, size and CRC. */
int tide_ckpt_write(tide_ckpt_dir *d, tide_ckpt_meta *m, const void *state, size_t len,
                    tide_err *e);

/* The newest complete checkpoint: its meta and (state != NULL) its state,
 * appended to `state`.  TIDE_ENOENT when there is none; TIDE_EINVAL when it
 * is of another plan than `plan` (0: any). */
int tide_ckpt_latest(tide_ckpt_dir *d, uint64_t plan, tide_ckpt_meta *m, tide_buf *state,
                     tide_err *e);

/* The complete checkpoints, oldest first (malloc'd; free()). */
int tide_ckpt_list(tide_ckpt_dir *d, tide_ckpt_meta **v, size_t *n, tide_err *e);

#endif
