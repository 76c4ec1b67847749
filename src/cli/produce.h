/*
 * produce.h - the producer behind `tide produce` (and `tide demo`): turns
 * CSV, JSON Lines or raw lines into records and appends them to a topic in
 * batches per partition.
 *
 * A record's value is the input record's own text (the CSV row without the
 * header, the JSON object line, the raw line); its key is the text of the
 * --key field; its timestamp comes from the --time field (epoch ms or an
 * ISO-8601 text, see data/timefmt.h) or is the current time.  A malformed
 * line is reported on stderr as "tide: NAME:LINE:COL: why" and skipped; with
 * a dead-letter sink set, it is also written there as {"reason": why,
 * "position": "NAME:LINE:COL", "raw": the record's text without its line
 * terminator}.  A problem with a whole record (a missing field) is at
 * column 1 of its first line.
 */
#ifndef TIDE_CLI_PRODUCE_H
#define TIDE_CLI_PRODUCE_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum tide_cli_format {
    TIDE_CLI_FORMAT_CSV,
    TIDE_CLI_FORMAT_JSONL,
    TIDE_CLI_FORMAT_RAW,
} tide_cli_format;

/* "csv", "jsonl" (or "json"), "raw"; false if unknown. */
bool tide_cli_format_parse(const char *s, tide_cli_format *out);

typedef struct tide_cli_producer tide_cli_producer;
typedef struct tide_sink_dead tide_sink_dead; /* connect/sink.h */

/* The dead-letter sink of a --dead-letter option: the topic `dead_topic`
 * (created with one partition if missing) when not NULL, else the file
 * `dest`, appended to. */
int tide_cli_dead_open(tide_sink_dead **out, const char *datadir, const char *dest,
                       const char *dead_topic, tide_err *e);

/* Open the topic's writer.  key_field/time_field may be NULL; they are
 * borrowed for the producer's life, as is input_name (for messages). */
int tide_cli_producer_open(tide_cli_producer **out, const char *datadir, const char *topic,
                           tide_cli_format fmt, const char *key_field, const char *time_field,
                           const char *input_name, tide_err *e);

/* Send malformed records to `d` (borrowed; NULL: stderr only).  A failed
 * dead-letter write ends production with its error (nothing is skipped
 * silently). */
void tide_cli_producer_set_dead(tide_cli_producer *p, tide_sink_dead *d);

/* Consume the complete records of buf[0..len) (all of it when eof); *used
 * is how many bytes were consumed: the caller keeps buf[*used..len) and
 * passes it again, followed by more input.  Malformed records are reported
 * and counted.  Returns 0, or an error that ends production (a bad CSV
 * header, a write error). */
int tide_cli_producer_feed(tide_cli_producer *p, const char *buf, size_t len, bool eof, size_t *used,
                           tide_err *e);

/* Append every pending batch now (e.g. when the input is idle). */
int tide_cli_producer_flush(tide_cli_producer *p, tide_err *e);

uint32_t tide_cli_producer_partitions(const tide_cli_producer *p);
uint64_t tide_cli_producer_produced(const tide_cli_producer *p);
uint64_t tide_cli_producer_skipped(const tide_cli_producer *p);

/* Flush, close the writer and free.  Returns the first error.  NULL is a
 * no-op. */
int tide_cli_producer_close(tide_cli_producer *p, tide_err *e);

#endif
