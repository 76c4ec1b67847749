/*
 * reader.h - reading one partition of a topic.
 *
 * Any number of readers, in any process, concurrently with the writer.  A
 * reader returns only records of complete, valid batches; at the end of
 * what is there now, tide_log_reader_next returns TIDE_EAGAIN and a later
 * call picks up what was appended since (that is how --follow works).  A
 * corrupt batch that is not the still-growing tail of the active segment is
 * TIDE_ECORRUPT naming the file and offset; corrupt data is never returned.
 *
 * "To be retried" versus "corrupt" (the writer only ever appends to the last
 * segment, and fsyncs and seals a segment before it creates the next one):
 *   - end of data, or an incomplete batch (fewer bytes than a header, or
 *     than the batch's length field) in the LAST segment: TIDE_EAGAIN;
 *   - a complete-length batch that fails validation (header, CRC, records,
 *     base offset) in the last segment: re-read up to TIDE_LOG_READ_RETRIES
 *     times, TIDE_LOG_READ_RETRY_MS apart (a write in progress may be seen
 *     half-copied), then TIDE_ECORRUPT;
 *   - any invalid or incomplete batch in an OLDER segment: TIDE_ECORRUPT.
 * TIDE_ECORRUPT names the file, the position and the offset expected there;
 * the reader stays where it was (a later call re-checks).
 *
 * If retention deleted the segments the reader needs next (its position is
 * below the first retained offset when it next has to open a segment), the
 * call returns TIDE_ERANGE naming the first retained offset.  A segment the
 * reader already has open is read to its end even if it was deleted.
 *
 * If the partition's directory no longer exists (the topic was deleted),
 * the call returns TIDE_ENOENT naming it, never TIDE_EAGAIN, so a follower
 * of a deleted topic stops instead of waiting forever.  An empty segment
 * followed by later segments is TIDE_ECORRUPT naming the file.
 */
/*
 * Transactions (log/producer.h).  A reader is read-committed by default:
 * records of a transaction are returned only once its COMMIT marker is in
 * the partition, records of an aborted transaction are skipped, and at the
 * first record of a transaction still open (the last stable offset, LSO)
 * tide_log_reader_next returns TIDE_EAGAIN with tide_log_reader_blocked()
 * true, however much follows: nothing after it is returned before it, so
 * records always come in offset order.  Markers are never returned as
 * records (their offsets are skipped, so the offsets returned have gaps).
 * Read-uncommitted returns every data record, whatever its transaction.
 * To learn a batch's fate the reader scans ahead (a second open segment)
 * from it to its marker; with no transactions there is no extra cost.
 */
#ifndef TIDE_LOG_READER_H
#define TIDE_LOG_READER_H

#include "base/err.h"
#include "log/batch.h"

#include <stdbool.h>

#define TIDE_LOG_READ_RETRIES 5
#define TIDE_LOG_READ_RETRY_MS 2

typedef struct tide_log_reader tide_log_reader;

/* Positioned at the first retained offset. */
int tide_log_reader_open(tide_log_reader **out, const char *datadir, const char *topic,
                         uint32_t partition, tide_err *e);
void tide_log_reader_close(tide_log_reader *r);

/* Position at `offset`; an offset past the end waits there for new records.
 * TIDE_ERANGE if it is below the first retained offset. */
int tide_log_reader_seek(tide_log_reader *r, uint64_t offset, tide_err *e);
/* Position at the first offset whose timestamp is >= ts (in offset order),
 * or at the end if there is none. */
int tide_log_reader_seek_time(tide_log_reader *r, int64_t ts, tide_err *e);
/* The current first retained and next offsets (re-reads the directory). */
int tide_log_reader_bounds(tide_log_reader *r, uint64_t *first, uint64_t *next, tide_err *e);
/* The offset the next record returned will have. */
uint64_t tide_log_reader_position(const tide_log_reader *r);

/* The next record: 0 and *rec filled (valid until the next call on r), or
 * TIDE_EAGAIN when nothing more is there yet (or, read-committed, the next
 * record is of an open transaction), or an error. */
int tide_log_reader_next(tide_log_reader *r, tide_record *rec, tide_err *e);

typedef enum tide_log_isolation {
    TIDE_LOG_READ_COMMITTED,   /* the default */
    TIDE_LOG_READ_UNCOMMITTED,
} tide_log_isolation;

void tide_log_reader_set_isolation(tide_log_reader *r, tide_log_isolation iso);
/* Whether the last TIDE_EAGAIN of tide_log_reader_next stopped at an open
 * transaction: the position is then the last stable offset (a bounded read
 * ends there). */
bool tide_log_reader_blocked(const tide_log_reader *r);

/* The transactions of a whole partition, for `tide topic describe`: a scan
 * from the first retained offset. */
#define TIDE_LOG_TXN_INFO_MAX 8
typedef struct tide_log_txn_open {
    uint64_t producer, txn;  /* the batch's producer id and transaction */
    uint64_t first_offset;   /* its first batch */
    uint64_t records;
} tide_log_txn_open;
typedef struct tide_log_txn_info {
    uint64_t lso;            /* the first offset of an open transaction, else the end */
    uint64_t markers;        /* COMMIT and ABORT markers */
    uint64_t committed_records, aborted_records, open_records;
    size_t nopen;            /* open transactions (the first TIDE_LOG_TXN_INFO_MAX in open[]) */
    tide_log_txn_open open[TIDE_LOG_TXN_INFO_MAX];
} tide_log_txn_info;
int tide_log_txn_scan(const char *datadir, const char *topic, uint32_t partition, tide_log_txn_info *out,
                      tide_err *e);

#endif
