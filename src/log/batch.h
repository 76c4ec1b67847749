/*
 * batch.h - the record batch: the unit of storage of the embedded log.
 *
 * On disk (all integers little-endian), version 1 (plain batches):
 *
 *   off  size  field
 *    0    4    length        total bytes of the batch, header included
 *    4    4    crc32c        CRC-32C of bytes [8, length)
 *    8    1    version       1
 *    9    1    flags         0
 *   10    2    reserved      0
 *   12    4    count         number of records, >= 1
 *   16    8    base_offset   offset of the first record
 *   24    8    min_ts        smallest record timestamp (ms since epoch)
 *   32    8    max_ts        largest record timestamp
 *   40   ...   records, each:
 *              varint  zigzag(timestamp - min_ts)
 *              varint  key length + 1 (0: null key), then the key bytes
 *              varint  value length, then the value bytes
 *
 * Version 2 (transactional batches: the data of a transaction, and the
 * COMMIT / ABORT markers, log/producer.h) has the same first 40 bytes, with
 * flags TIDE_BATCH_TXN (and TIDE_BATCH_CONTROL, TIDE_BATCH_ABORT for a
 * marker), then:
 *   40    8    producer      the producer's id in the topic (>= 1)
 *   48    8    txn           data: the transaction (>= 1; see producer.h);
 *                             COMMIT: every open batch of the producer
 *                             before it with txn <= this commits; ABORT:
 *                             every one with txn > this (>= 0) is aborted
 *   56    4    epoch         the producer's epoch (bumped at each recovery)
 *   60    4    reserved      0
 *   64   ...   records, as above.  A marker holds one record whose value is
 *              "commit" or "abort".
 * Plain batches are always written as version 1, so logs without
 * transactions read as before.
 *
 * Record i of the batch has offset base_offset + i.  A batch is valid when
 * its length fits the bytes present, its CRC matches, its version is known,
 * and its records decode to exactly `count` records filling `length` bytes
 * with timestamps inside [min_ts, max_ts], min_ts and max_ts both occurring
 * (the time index relies on them being exact).  Nothing from an invalid
 * batch is ever returned.  tide_batch_encode refuses (TIDE_ERANGE) records
 * whose timestamps span more than INT64_MAX ms; the writer splits batches so
 * that never happens.
 */
#ifndef TIDE_LOG_BATCH_H
#define TIDE_LOG_BATCH_H

#include "base/buf.h"
#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIDE_BATCH_HEADER 40    /* version 1; the part every version starts with */
#define TIDE_BATCH_HEADER_V2 64 /* version 2 */
#define TIDE_BATCH_VERSION 1
#define TIDE_BATCH_VERSION_TXN 2

/* flags (version 2 only) */
enum {
    TIDE_BATCH_TXN = 1,     /* part of a transaction (every version 2 batch) */
    TIDE_BATCH_CONTROL = 2, /* a COMMIT marker, or ABORT with: */
    TIDE_BATCH_ABORT = 4,
};

/* The transaction a version 2 batch belongs to, or marks. */
typedef struct tide_batch_txn {
    uint8_t flags; /* TIDE_BATCH_TXN, | TIDE_BATCH_CONTROL, | TIDE_BATCH_ABORT */
    uint64_t producer;
    uint64_t txn;
    uint32_t epoch;
} tide_batch_txn;
#define TIDE_BATCH_MAX (64u << 20) /* a batch never exceeds 64 MiB */
#define TIDE_BATCH_REC_OVERHEAD 30 /* varint bytes a record may take at most */
/* The most key + value bytes one record may carry (a batch of it alone fits
 * TIDE_BATCH_MAX); tide_log_append refuses a larger one with TIDE_ERANGE. */
#define TIDE_RECORD_MAX (TIDE_BATCH_MAX - TIDE_BATCH_HEADER - TIDE_BATCH_REC_OVERHEAD)

/* A record.  When written, `partition` and `offset` are ignored; when read,
 * key/value point into the reader's buffer and stay valid until the next
 * call on that reader. */
typedef struct tide_record {
    int64_t timestamp;      /* event time, ms since the UNIX epoch */
    const void *key;        /* NULL: no key */
    size_t key_len;
    const void *value;
    size_t value_len;
    uint32_t partition;
    uint64_t offset;
} tide_record;

typedef struct tide_batch_header {
    uint32_t length;
    uint32_t crc;
    uint8_t version;
    uint8_t flags;
    uint32_t hlen;  /* header bytes: TIDE_BATCH_HEADER or TIDE_BATCH_HEADER_V2 */
    uint32_t count;
    uint64_t base_offset;
    int64_t min_ts;
    int64_t max_ts;
} tide_batch_header;

/* Append one encoded batch of `n` (>= 1) records, numbered from base_offset,
 * to `out`.  TIDE_ERANGE if it would exceed TIDE_BATCH_MAX. */
int tide_batch_encode(tide_buf *out, uint64_t base_offset, const tide_record *recs, size_t n);
/* The same as version 2 with transaction `t` (t NULL: version 1). */
int tide_batch_encode_txn(tide_buf *out, uint64_t base_offset, const tide_record *recs, size_t n,
                          const tide_batch_txn *t);

/* Parse the fixed header at `p` (at least TIDE_BATCH_HEADER bytes: the
 * part every version shares); checks only its own plausibility (length,
 * version and flags, count), not the CRC.  Returns 0 or TIDE_ECORRUPT. */
int tide_batch_header_parse(const unsigned char *p, tide_batch_header *h);

/* The transaction of a validated batch: false for a version 1 batch. */
bool tide_batch_get_txn(const unsigned char *p, const tide_batch_header *h, tide_batch_txn *t);

/* Fully validate a batch of h->length bytes at `p` (CRC and record
 * structure).  Returns 0 or TIDE_ECORRUPT. */
int tide_batch_validate(const unsigned char *p, const tide_batch_header *h);

/* Iterate the records of a validated batch. */
typedef struct tide_batch_iter {
    const unsigned char *pos, *end;
    uint64_t next_offset;
    int64_t min_ts;
    uint32_t left;
} tide_batch_iter;

void tide_batch_iter_init(tide_batch_iter *it, const unsigned char *batch, const tide_batch_header *h);
/* Fills `rec` (offset, timestamp, key, value) and returns true, or false at the end. */
bool tide_batch_iter_next(tide_batch_iter *it, tide_record *rec);

#endif
