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
#ifndef TIDE_LOG_READER_H
#define TIDE_LOG_READER_H

#include "base/err.h"
#include "log/batch.h"

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
 * TIDE_EAGAIN when nothing more is there yet, or an error. */
int tide_log_reader_next(tide_log_reader *r, tide_record *rec, tide_err *e);

#endif
