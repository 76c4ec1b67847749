/*
 * topic.h - topics of the embedded log: names, configuration, the directory
 * layout, and the administrative actions (create, list, describe, delete).
 *
 * Layout under the data directory DIR:
 *   DIR/topics/<topic>/meta                      configuration (text, versioned, CRC'd)
 *   DIR/topics/<topic>/lock                      the writer lock (flock)
 *   DIR/topics/<topic>/<partition>/<base>.log    segments; <base> is the first offset, 20 digits
 *   DIR/topics/<topic>/<partition>/<base>.idx    sparse index of a segment (derived data)
 *   DIR/groups/<group>/<topic>.offsets           committed offsets of a consumer group
 *
 * The data directory is `--data DIR`, else $TIDE_DATA, else ./tide-data
 * (tide_data_dir resolves that).
 */
#ifndef TIDE_LOG_TOPIC_H
#define TIDE_LOG_TOPIC_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIDE_TOPIC_NAME_MAX 200
#define TIDE_PARTITIONS_MAX 4096

/* Durability policy of a topic, and what each can lose.
 *
 * A process crash (kill -9) loses nothing acknowledged under any policy: an
 * append has written its data to the file before it returns.  What a POWER
 * FAILURE (or kernel crash) can lose, per partition:
 *   ALWAYS    every append is fsynced before tide_log_append returns:
 *             nothing acknowledged is lost.
 *   INTERVAL  an append fsyncs when interval_ms passed since the partition's
 *             last fsync (checked on each append; also fsynced on segment
 *             roll, tide_log_writer_sync and close): loses at most the
 *             appends since the last fsync, i.e. about interval_ms of
 *             appends, plus those made just before the writer went idle.
 *   NEVER     fsync only when a segment rolls and on tide_log_writer_sync
 *             (not on close): can lose every append to the active segment
 *             since the writer opened or the segment rolled.
 * Under every policy, offsets below tide_log_writer_synced() survive; what
 * is lost is a tail of the active segment (the torn part is cut at the next
 * open and reported).  Older segments are always fsynced when they roll.
 * If a file system ever persisted later unsynced pages without earlier ones,
 * the next open reports TIDE_ECORRUPT rather than dropping valid data. */
typedef enum tide_fsync_mode {
    TIDE_FSYNC_ALWAYS,   /* fsync after every append: loses nothing acknowledged */
    TIDE_FSYNC_INTERVAL, /* fsync when interval_ms passed since the last one, and on close */
    TIDE_FSYNC_NEVER,    /* fsync only at segment roll and tide_log_writer_sync */
} tide_fsync_mode;

typedef struct tide_topic_config {
    uint32_t partitions;        /* 1..TIDE_PARTITIONS_MAX; default 1 */
    int64_t retention_ms;       /* delete segments older than this; -1: forever (default) */
    int64_t retention_bytes;    /* per partition; -1: unlimited (default) */
    uint64_t segment_bytes;     /* roll the active segment at this size; default 1 GiB */
    tide_fsync_mode fsync;      /* default TIDE_FSYNC_INTERVAL */
    int64_t fsync_interval_ms;  /* default 100 */
    /* This topic's life: a random, non-zero id that tide_topic_create picks
     * (the value passed in is ignored) and the meta file keeps.  A topic
     * deleted and created again under the same name has another one, so a
     * reader that outlives the first sees the change (log/reader.h).  0: a
     * topic whose meta file predates incarnations (version 1). */
    uint64_t incarnation;
} tide_topic_config;

void tide_topic_config_default(tide_topic_config *c);
/* Parse "always", "never" or "interval:MS" into c->fsync / c->fsync_interval_ms. */
int tide_fsync_parse(const char *s, tide_topic_config *c, tide_err *e);
/* Format the policy as tide_fsync_parse reads it. */
void tide_fsync_format(const tide_topic_config *c, char *buf, size_t cap);

/* Letters, digits, '.', '_', '-'; 1..200 characters; not "." or "..". */
bool tide_topic_name_valid(const char *name);

/* The data directory: `flag` if non-NULL, else $TIDE_DATA, else "./tide-data". */
const char *tide_data_dir(const char *flag);

int tide_topic_create(const char *datadir, const char *name, const tide_topic_config *c, tide_err *e);
/* TIDE_ENOENT (naming the topic) if it does not exist. */
int tide_topic_delete(const char *datadir, const char *name, tide_err *e);
int tide_topic_exists(const char *datadir, const char *name);
/* Sorted names; free with tide_topic_names_free. */
int tide_topic_list(const char *datadir, char ***names, size_t *n, tide_err *e);
void tide_topic_names_free(char **names, size_t n);
int tide_topic_config_load(const char *datadir, const char *name, tide_topic_config *c, tide_err *e);

typedef struct tide_partition_info {
    uint32_t partition;
    uint64_t first_offset; /* first retained offset */
    uint64_t next_offset;  /* offset the next record will get */
    uint64_t bytes;        /* bytes in segments */
    uint32_t segments;
    int64_t min_ts, max_ts; /* over retained records; INT64_MAX / INT64_MIN when empty */
} tide_partition_info;

/* One entry per partition, malloc'd (free()); counts only complete batches. */
int tide_topic_describe(const char *datadir, const char *name, tide_partition_info **parts,
                        uint32_t *n, tide_err *e);

/* Read every batch of every segment of the topic from its start (indexes
 * are not trusted) and report, one line each through `report`, every place
 * where the log is not whole, naming the file, the position and the offset
 * expected there: a sealed segment that is damaged, incomplete or empty, a
 * gap between segments, and damage in the active segment that valid data
 * follows.  A torn tail of the active segment with nothing valid after it
 * (what a crash leaves; the next writer open cuts it) is reported too, but
 * is not damage.  *damaged counts the damaged places, *segments the
 * segments read.  Only I/O errors (and a missing topic) are returned. */
int tide_topic_verify(const char *datadir, const char *name,
                      void (*report)(void *ctx, const char *line), void *ctx, uint64_t *damaged,
                      uint64_t *segments, tide_err *e);

#endif
