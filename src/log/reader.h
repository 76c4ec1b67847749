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
 * If retention deleted the segment the reader is positioned in, the next
 * call returns TIDE_ERANGE naming the first retained offset.
 */
#ifndef TIDE_LOG_READER_H
#define TIDE_LOG_READER_H

#include "base/err.h"
#include "log/batch.h"

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
