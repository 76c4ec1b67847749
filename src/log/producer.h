/*
 * producer.h - transactions in the log: a named producer writes the records
 * of a transaction to any partitions of one topic, makes them durable
 * (pre-commit) and commits them, with the checkpoints of a job (the id of a
 * transaction is the id of the checkpoint that pre-commits it; the topic
 * sink, connect/sink.h, is the user).  Read-committed readers
 * (log/reader.h) return a transaction's records only after its COMMIT
 * marker and never those of an aborted one.
 *
 *   tide_log_producer *p;  tide_log_producer_open(&p, dir, "out", "dau.0", NULL, &e);
 *   tide_log_producer_recover(p, last_checkpoint, &e);   -- once, first
 *   tide_log_producer_append(p, part, recs, n, &e) ...   -- the open transaction
 *   tide_log_producer_precommit(p, 7, &e);               -- at checkpoint 7's barrier
 *   tide_log_producer_commit(p, 7, &e);                  -- when checkpoint 7 is complete
 *   tide_log_producer_close(p, &e);                      -- commits nothing
 *
 * On disk.  Data of a transaction goes in batches of format version 2
 * (log/batch.h) carrying the producer's id, its epoch and a transaction id
 * `txn`: the last pre-committed id + 1, a lower bound of the id that will
 * pre-commit it (ids may skip).  A commit of n appends to every partition
 * this producer wrote since its last commit a COMMIT marker with txn n: the
 * open batches of the producer before it with txn <= n are committed.
 * Recovery appends to every partition a COMMIT marker for the pending id
 * (when it is newer than the last commit) and then an ABORT marker with the
 * pending id: the open batches with txn > pending are aborted.  A batch's
 * fate is decided by the first marker of its producer after it that covers
 * it; a marker never changes a batch already decided.
 *
 * The producer's state, DIR/topics/<topic>/producers/<name>.state, text,
 * replaced atomically (tide_io_write_atomic):
 *
 *   tide-producer 1
 *   name dau.0
 *   id 3             the producer's id in the topic (>= 1; the batches carry it)
 *   epoch 7          bumped by every recover
 *   committed 41     the last transaction committed (0: none)
 *   crc32c 89abcdef  of every byte before this line
 *
 * A new name gets the next id (1 + the largest id of the topic's state
 * files, under an flock of DIR/topics/<topic>/producers/lock).  While a
 * producer is open, DIR/topics/<topic>/producers/<name>.lock is flock'd
 * exclusive: a second producer of the same name, in any process, gets
 * TIDE_ELOCKED (so there are never two writers of one transaction).
 *
 * Order of a commit of n: the markers (each appended and then the writer
 * synced), then the state (committed n).  After a crash in between the
 * state says the older id; a recover (or a commit) of n writes the markers
 * again, which changes nothing (no open batch is left for them).  So the
 * recovery rule is: recover(pending) commits up to `pending`, aborts the
 * rest, and only then records the new epoch and `committed`.
 *
 * Refusals (TIDE_EINVAL, changing nothing): a commit of an id older than
 * the last committed (a delayed commit never lands on a later transaction;
 * equal is a no-op), a recover to an id older than the last committed (the
 * checkpoint is older than output already committed), a commit of an id not
 * pre-committed, a pre-commit that does not increase, a call before
 * recover.  Any other error fails the producer for good.
 *
 * Fault points (base/fault.h): log.txn.append, log.txn.precommit (before the
 * sync), log.txn.marker (before each marker), log.txn.state (before the
 * state is written).
 *
 * Threads: one thread at a time.
 */
#ifndef TIDE_LOG_PRODUCER_H
#define TIDE_LOG_PRODUCER_H

#include "base/err.h"
#include "log/batch.h"
#include "log/writer.h"

#include <stdint.h>

typedef struct tide_log_producer tide_log_producer;

/* Open producer `name` (topic-name rules) of `topic` (which must exist);
 * wo as for tide_log_writer_open (may be NULL). */
int tide_log_producer_open(tide_log_producer **out, const char *datadir, const char *topic, const char *name,
                           const tide_log_writer_opts *wo, tide_err *e);
int tide_log_producer_recover(tide_log_producer *p, int64_t pending, tide_err *e);
/* Append records to `partition` in the open transaction (as tide_log_append). */
int tide_log_producer_append(tide_log_producer *p, uint32_t partition, const tide_record *recs, size_t n,
                             tide_err *e);
int tide_log_producer_precommit(tide_log_producer *p, int64_t id, tide_err *e);
int tide_log_producer_commit(tide_log_producer *p, int64_t id, tide_err *e);
/* Release the lock and free; commits nothing.  NULL is a no-op. */
int tide_log_producer_close(tide_log_producer *p, tide_err *e);

tide_log_writer *tide_log_producer_writer(tide_log_producer *p); /* routing, partitions */
uint64_t tide_log_producer_id(const tide_log_producer *p);
uint32_t tide_log_producer_epoch(const tide_log_producer *p);
int64_t tide_log_producer_committed(const tide_log_producer *p);

/* The name of producer `id` of `topic` into out (cap bytes); TIDE_ENOENT
 * when no state file has it. */
int tide_log_producer_name(const char *datadir, const char *topic, uint64_t id, char *out, size_t cap,
                           tide_err *e);

#endif
