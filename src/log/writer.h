/*
 * writer.h - appending to a topic.
 *
 * Any number of writers may append to one topic at once, from one process
 * or many (producers, sinks and dead-letter writers alike): each append call
 * holds its partition's append lock (an flock on `<partition dir>/lock`)
 * while it writes, after catching up with what other writers appended
 * since (their batches are validated; a roll or a torn tail is handled by
 * the recovery below), so each call's records get consecutive offsets,
 * batches never interleave and offsets stay dense and unique.  Every writer
 * holds the topic's lock file shared for its whole life; topic deletion
 * takes it exclusive, so a topic being written is never deleted (and a
 * writer does not open a topic being deleted: TIDE_ELOCKED).
 *
 * Opening the writer recovers every partition (under its lock): the tail
 * of each active segment is checked batch by batch; a torn tail (an
 * incomplete or bad last batch with nothing valid after it) is truncated to
 * the last valid batch and reported through `report`; a bad batch followed
 * by valid ones, or a bad batch in an older segment, fails the open with
 * TIDE_ECORRUPT naming the file and offset.  (An older segment is sealed
 * when it rolls: its index records its size.  The open re-reads it only when
 * that sealed index is missing, damaged or does not match the file;
 * otherwise damage inside it is found by readers, which check every batch
 * and report TIDE_ECORRUPT.  A sealed segment is never truncated.)  Then
 * each active segment is fsynced, so synced() starts equal to next().  A
 * writer that finds, at an append, the tail left torn by another writer that
 * died mid-append cuts and reports it the same way.
 *
 * Durability follows the topic's fsync policy, per writer: each writer
 * fsyncs for its own appends; tide_log_writer_synced() tells which offsets
 * are known durable.  A failed write or fsync fails the writer for good:
 * every later call returns its first error (an fsync is never retried).
 * Not thread-safe: one thread uses a writer (threads that share a topic
 * each open their own).
 */
#ifndef TIDE_LOG_WRITER_H
#define TIDE_LOG_WRITER_H

#include "base/clock.h"
#include "base/err.h"
#include "log/batch.h"
#include "log/topic.h"

typedef struct tide_log_writer tide_log_writer;

typedef struct tide_log_writer_opts {
    const tide_clock *clock; /* NULL: the system clock (fsync intervals, retention) */
    /* Called with a human-readable line for each recovery action (a torn tail
     * truncated, an index rebuilt).  NULL: print "tide: <msg>" on stderr. */
    void (*report)(void *ctx, const char *msg);
    void *report_ctx;
} tide_log_writer_opts;

/* `opts` may be NULL. */
int tide_log_writer_open(tide_log_writer **out, const char *datadir, const char *topic,
                         const tide_log_writer_opts *opts, tide_err *e);

uint32_t tide_log_writer_partitions(const tide_log_writer *w);
const tide_topic_config *tide_log_writer_config(const tide_log_writer *w);

/* The partition for a record: tide_hash_partition(key) for a keyed record,
 * round robin over the partitions for an unkeyed one (key == NULL). */
uint32_t tide_log_writer_route(tide_log_writer *w, const void *key, size_t key_len);

/* Append `n` records to `partition` as one or more batches; on success
 * *first_offset (if non-NULL) is the offset of recs[0] and the records have
 * consecutive offsets (no other writer's records come between them).  The data is written (visible to readers) before the
 * call returns; it is durable per the fsync policy.  Records are checked
 * first: a partition out of range or a record with value_len > 0 and no
 * value (TIDE_EINVAL), or a record too large for a batch (TIDE_ERANGE),
 * writes nothing and does not fail the writer. */
int tide_log_append(tide_log_writer *w, uint32_t partition, const tide_record *recs, size_t n,
                    uint64_t *first_offset, tide_err *e);

/* The same, as transactional batches (batch format version 2) of
 * transaction `t` (t NULL: plain batches, as tide_log_append).  A marker
 * (t->flags with TIDE_BATCH_CONTROL) must be one record.  log/producer.h
 * builds transactions on this. */
int tide_log_append_txn(tide_log_writer *w, uint32_t partition, const tide_record *recs, size_t n,
                        const tide_batch_txn *t, uint64_t *first_offset, tide_err *e);

/* The offset after this writer's view of `partition`: the end it saw at
 * its last append, open or sync.  Other writers may have appended since, so
 * it is the next record's offset only when no one else writes. */
uint64_t tide_log_writer_next(const tide_log_writer *w, uint32_t partition);
/* Every offset below this is known to be on stable storage. */
uint64_t tide_log_writer_synced(const tide_log_writer *w, uint32_t partition);

/* fsync every partition with unsynced data now (whatever the policy). */
int tide_log_writer_sync(tide_log_writer *w, tide_err *e);
/* Delete whole segments past the topic's retention (never the active one). */
int tide_log_writer_retain(tide_log_writer *w, tide_err *e);

/* Sync (unless the policy is "never"), release the lock and free.  Always
 * frees; returns the first error (the writer's own or the final sync's).
 * NULL is a no-op. */
int tide_log_writer_close(tide_log_writer *w, tide_err *e);

#endif
