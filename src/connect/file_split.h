/*
 * file_split.h - a FILE source (CSV or JSON Lines) parsed in byte-range
 * chunks by several threads, and put back together in file order with
 * exactly the rows, positions and dead letters of the sequential source
 * (connect/source.h), whatever the chunk size and the number of threads.
 *
 *   tide_fsplit *fs;
 *   tide_fsplit_open(&fs, &cfg, 8 << 20, &err);   cfg as for tide_src_open (kind FILE)
 *   uint32_t n = tide_fsplit_chunks(fs);
 *
 *   each parsing thread, with a work area of its own:
 *     tide_fsplit_chunk *c;
 *     tide_fsplit_chunk_create(&c, fs, 4096, &err);
 *     tide_fsplit_parse(fs, i, c, &err);          chunk i's rows into c's batches
 *     ... hand c to the ordering side
 *
 *   the ordering side, one thread, chunks in file order:
 *     tide_fsplit_reader *r;
 *     tide_fsplit_reader_create(&r, fs, &err);
 *     for (i = 0; i < n; i++) {
 *         c = the parse of chunk i (tide_fsplit_reader_want(r) == i)
 *         tide_fsplit_reader_begin(r, c, &err);   check, maybe re-parse, fix lines
 *         while ((rc = tide_fsplit_reader_next(r, &batch, &err)) == TIDE_SRC_READY)
 *             use batch (dead letters before it went to cfg.on_dead)
 *         c may now parse another chunk           (rc is TIDE_SRC_NOTHING, at the end TIDE_SRC_END)
 *     }
 *
 * Chunks.  Chunk i's nominal range is [i * size, (i + 1) * size) of the file
 * (the last one runs to the end of the file; an empty file has one chunk).
 * Its records are those that START in that range: it starts at the first
 * record start at or after i * size, and its last record may run past the
 * range's end.  Chunk 0 starts at 0 and decodes like the sequential source
 * (the byte order mark, the CSV header, which it always takes whole).
 *
 * Alignment.  A parse cannot know where a record starts without reading the
 * file from the beginning (a CSV quoted field may hold newlines), so it
 * guesses: chunk i > 0 starts after the first LF at or after offset
 * i * size - 1, that is at i * size when the byte before it is a LF.  That
 * is exact for JSON Lines and for CSV without quoted newlines.  The parse
 * then decodes the records that start before its nominal end and reports
 * its true end: where the first record at or after the nominal end starts,
 * as the lexer cuts records from the chunk's start (or the end of the
 * file).  The reader, in file order, knows where chunk i must start (the
 * true end of chunk i - 1, itself checked): when chunk i's guess was
 * elsewhere, its result is discarded and chunk i is parsed again from the
 * true start on the reader's thread (rare: the guess fell inside a quoted
 * field; a chunk that holds no record start at all, inside one record
 * longer than a chunk, may be "re-parsed" too, at no cost).  Since a decoder that
 * starts at a record boundary cuts the same records as one that read
 * everything before it, the rows are the sequential source's.  A wrong
 * guess costs its parse only: the lexer may read a closing quote as an
 * opening one and run to the next quote before it finds its end.
 *
 * Line numbers.  A parse numbers lines from 1 at its start and counts the
 * LFs in [start, end).  The reader keeps the absolute line of the next
 * start (1 + the LFs before it, the sum of the previous chunks' counts) and
 * adds it, minus 1, to every row position and dead-letter line when it
 * begins a chunk.  Columns need no fix-up: a record starts a line.
 *
 * Dead letters.  A parse collects its chunk's dead letters (line, column,
 * reason, raw bytes) and the batch each goes before; the reader passes them
 * to cfg.on_dead as the sequential source does ("path:line[:col]", a reason
 * that starts with it, the raw text, partition 0), in file order and
 * interleaved with the batches as in the sequential run: a dead letter is
 * delivered after every batch of rows that precede it and right before the
 * batch that holds the next row (those after a chunk's last row: when the
 * chunk is used up).  Batches are full (at the work area's capacity)
 * except the last of each chunk: the sequential FILE source cuts its
 * batches at chunk ends too (with the same chunk size), so they are its
 * batches as well.
 *
 * Positions (tide_fsplit_reader_position) are those of a checkpoint, as
 * tide_src_position's: after a batch, where the record after its last row
 * starts (dead letters that follow the row are not delivered yet, so the
 * position is not past them; at a chunk's end they are delivered once the
 * chunk is used up, and the position moves to the chunk's end).  A reader
 * can start from such a position (tide_fsplit_reader_seek): the chunk
 * holding it is parsed again from there, and the rows and dead letters
 * that follow are those that followed it.
 *
 * Threads.  A tide_fsplit is read-only after open: tide_fsplit_parse may run
 * on any number of threads at once, each with its own work area.  A work
 * area (tide_fsplit_chunk: its own file handle, decoder, buffer, batches)
 * and a reader belong to one thread at a time; hand a work area over whole
 * (through a queue).  Nothing here takes a lock or starts a thread.
 *
 * The file must not change while it is read; its size is taken at open.
 */
#ifndef TIDE_CONNECT_FILE_SPLIT_H
#define TIDE_CONNECT_FILE_SPLIT_H

#include "base/err.h"
#include "connect/source.h"
#include "data/batch.h"
#include "data/schema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIDE_FSPLIT_DEFAULT_CHUNK ((size_t)1 << 20) /* 1 MiB: a chunk's batches stay in cache (bench_file_split: 8 MiB parsed 13% slower) */

typedef struct tide_fsplit tide_fsplit;
typedef struct tide_fsplit_chunk tide_fsplit_chunk;
typedef struct tide_fsplit_reader tide_fsplit_reader;

/* Open cfg's file (cfg->kind TIDE_SRC_FILE; path, schema, format, header,
 * delim, on_dead and dead_ctx as for tide_src_open; cfg is copied, its
 * strings and schema stay borrowed) for chunks of about chunk_size bytes
 * (0 = TIDE_FSPLIT_DEFAULT_CHUNK; 1 is allowed, for tests).  0, TIDE_EINVAL
 * (not a file source, a bad format or delimiter), TIDE_ENOENT, TIDE_EIO,
 * TIDE_ENOMEM. */
int tide_fsplit_open(tide_fsplit **out, const tide_src_config *cfg, size_t chunk_size, tide_err *e);
/* NULL is a no-op.  Work areas and readers of fs must be freed first. */
void tide_fsplit_free(tide_fsplit *fs);

uint32_t tide_fsplit_chunks(const tide_fsplit *fs);
/* The file's size at open. */
uint64_t tide_fsplit_size(const tide_fsplit *fs);
const tide_schema *tide_fsplit_schema(const tide_fsplit *fs);

/* A work area that parses one chunk at a time into batches of batch_rows
 * rows (1..TIDE_CBATCH_MAX_CAPACITY; they keep positions).  0, TIDE_EINVAL,
 * TIDE_ENOMEM.  Opens its own handle on the file at its first parse. */
int tide_fsplit_chunk_create(tide_fsplit_chunk **out, const tide_fsplit *fs, uint32_t batch_rows, tide_err *e);
/* NULL is a no-op. */
void tide_fsplit_chunk_free(tide_fsplit_chunk *c);

/* Parse chunk i (< tide_fsplit_chunks) into c, from its guessed start (see
 * "Alignment"); c's previous contents are dropped.  Lines are relative
 * until a reader begins c.  0, or TIDE_EIO / TIDE_ENOMEM / TIDE_EINVAL:
 * then c holds the error too, and a reader that begins c reports it.  Safe
 * on several threads at once for distinct work areas. */
int tide_fsplit_parse(const tide_fsplit *fs, uint32_t i, tide_fsplit_chunk *c, tide_err *e);

/* The parse held by c: its chunk, true start and end offsets, and the
 * number of rows and dead letters (any time after a successful parse). */
uint32_t tide_fsplit_chunk_index(const tide_fsplit_chunk *c);
uint64_t tide_fsplit_chunk_start(const tide_fsplit_chunk *c);
uint64_t tide_fsplit_chunk_end(const tide_fsplit_chunk *c);
uint64_t tide_fsplit_chunk_rows(const tide_fsplit_chunk *c);
uint64_t tide_fsplit_chunk_dead(const tide_fsplit_chunk *c);

/* The ordering side.  0 or TIDE_ENOMEM. */
int tide_fsplit_reader_create(tide_fsplit_reader **out, const tide_fsplit *fs, tide_err *e);
/* NULL is a no-op. */
void tide_fsplit_reader_free(tide_fsplit_reader *r);

/* The index of the chunk tide_fsplit_reader_begin takes next;
 * tide_fsplit_chunks(fs) when every chunk was begun. */
uint32_t tide_fsplit_reader_want(const tide_fsplit_reader *r);

/* Begin delivering c, the parse of chunk tide_fsplit_reader_want(r) (by
 * any work area of the same split).  When c did not start where the
 * previous chunk ended, c is parsed again from there, on this thread.  Then
 * c's positions and dead-letter lines become absolute.  c is borrowed until
 * tide_fsplit_reader_next has returned TIDE_SRC_NOTHING or TIDE_SRC_END
 * for it.  0; TIDE_EINVAL (another chunk, the previous one not used up);
 * c's parse error; an error of the new parse.  A reader that failed stays
 * failed: later calls return its first error. */
int tide_fsplit_reader_begin(tide_fsplit_reader *r, tide_fsplit_chunk *c, tide_err *e);

/* The next batch of the chunk begun last, after handing the dead letters
 * that go before it to cfg.on_dead (see "Dead letters").  Returns
 *   TIDE_SRC_READY    *batch holds >= 1 rows; it is c's (the caller may
 *                     change it), valid until c parses again or is freed
 *   TIDE_SRC_NOTHING  the chunk is used up (its last dead letters were
 *                     delivered): begin the next one
 *   TIDE_SRC_END      the last chunk is used up
 *   < 0               the reader's error. */
int tide_fsplit_reader_next(tide_fsplit_reader *r, tide_cbatch **batch, tide_err *e);

/* As tide_src_position: the byte offset and line of the first record not
 * delivered yet (after the last batch handed out and the dead letters
 * delivered before it; see "Positions"). */
void tide_fsplit_reader_position(const tide_fsplit_reader *r, tide_src_pos *pos);
/* Before the first begin: deliver from `pos` on (a position of a reader of
 * the same file, or of the sequential source).  The reader then wants the
 * chunk whose nominal range holds pos->offset (tide_fsplit_chunks when it
 * is the file's size) and begin parses it again from pos->offset, with
 * pos->line as its first line, unless its guessed start is there.  0,
 * TIDE_EINVAL (begun already, an offset past the file's size, line 0). */
int tide_fsplit_reader_seek(tide_fsplit_reader *r, const tide_src_pos *pos, tide_err *e);
/* Rows delivered, dead letters delivered. */
void tide_fsplit_reader_stats(const tide_fsplit_reader *r, tide_src_stats *st);
/* Chunks parsed again by the reader because their guessed start was wrong. */
uint32_t tide_fsplit_reader_reparsed(const tide_fsplit_reader *r);

#endif
