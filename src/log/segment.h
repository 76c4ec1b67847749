/*
 * segment.h - internal to src/log: segment files, their sparse index, and
 * the batch-by-batch scan that recovery, describe and the reader share.
 *
 * A partition directory holds segments `<base>.log` (base = offset of the
 * first record, 20 decimal digits) each with an index `<base>.idx`.
 *
 * The index file (derived data: always validated, rebuilt from the segment
 * when missing, stale or bad), all integers little-endian:
 *
 *   header, 32 bytes:
 *     0  8  magic "TIDEIDX\0"
 *     8  4  version 1
 *    12  4  entry size (40)
 *    16  8  base offset of the segment
 *    24  4  index interval in bytes (informative)
 *    28  4  crc32c of bytes [0, 28)
 *   entries, 40 bytes each:
 *     0  8  offset      base offset of a batch
 *     8  8  pos         file position of that batch in the segment
 *    16  8  max_before  max timestamp of every record before pos (INT64_MIN if none)
 *    24  8  min_before  min timestamp of every record before pos (INT64_MAX if none)
 *    32  4  kind        1: entry, 2: seal
 *    36  4  crc32c      kind 1: of bytes [0, 36) of the entry, seeded with the base
 *                       offset's low 32 bits; kind 2: of every byte of the file
 *                       before this field
 *
 * An entry is written for the first batch and then for each batch starting
 * at least TIDE_SEG_INDEX_INTERVAL bytes after the previous entry.  Because
 * max_before is a running maximum, "the first record with timestamp >= T"
 * lies at or after the last entry whose max_before < T: exact even when
 * timestamps are out of order.
 *
 * The seal, written when the segment is rolled (it is never appended to
 * again), records the segment's end: offset = next offset, pos = file size,
 * max_before/min_before = max/min timestamp of the whole segment.  A sealed
 * index whose pos equals the segment's size lets the writer skip re-reading
 * an old segment at open.
 */
#ifndef TIDE_LOG_SEGMENT_H
#define TIDE_LOG_SEGMENT_H

#include "base/err.h"
#include "base/io.h"
#include "log/batch.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIDE_SEG_INDEX_INTERVAL (32u * 1024)
#define TIDE_SEG_IDX_HEADER 32
#define TIDE_SEG_IDX_ENTRY 40
#define TIDE_SEG_CHUNK (1u << 20) /* read size of scans and readers */
#define TIDE_SEG_PATH_MAX 4096

enum { TIDE_SEG_IDX_ENTRY_KIND = 1, TIDE_SEG_IDX_SEAL_KIND = 2 };

/* "<dir>/<base, 20 digits><ext>" into out (TIDE_SEG_PATH_MAX). */
int tide_seg_path(char *out, const char *dir, uint64_t base, const char *ext, tide_err *e);

/* The bases of the `*.log` segments in dir, ascending (malloc'd, free()).
 * A missing directory gives 0 segments. */
int tide_seg_list(const char *dir, uint64_t **bases, size_t *n, tide_err *e);

typedef struct tide_seg_entry {
    uint64_t offset, pos;
    int64_t max_before, min_before;
} tide_seg_entry;

/* The running index state of one segment while it is scanned or appended to.
 * With collect, entries are appended to v (the caller empties it when it
 * has written them out). */
typedef struct tide_seg_index {
    tide_seg_entry *v;
    size_t n, cap;
    bool collect;
    bool have_entry;   /* an entry was made for this segment */
    uint64_t last_pos; /* position of the last entry */
    int64_t run_max, run_min;
} tide_seg_index;

void tide_seg_index_init(tide_seg_index *ix, bool collect);
/* Start from an existing entry (its position and running timestamps). */
void tide_seg_index_resume(tide_seg_index *ix, const tide_seg_entry *en);
void tide_seg_index_free(tide_seg_index *ix);
/* Account for the valid batch at pos; may append an entry.  TIDE_ENOMEM. */
int tide_seg_index_note(tide_seg_index *ix, uint64_t pos, const tide_batch_header *h);

void tide_seg_idx_header(unsigned char out[TIDE_SEG_IDX_HEADER], uint64_t base);
void tide_seg_idx_entry(unsigned char out[TIDE_SEG_IDX_ENTRY], uint64_t base, const tide_seg_entry *en);
/* The seal: crc_so_far is crc32c of every byte of the file before it. */
void tide_seg_idx_seal(unsigned char out[TIDE_SEG_IDX_ENTRY], uint32_t crc_so_far,
                       const tide_seg_entry *en);

/* What could be read of an index file. */
typedef struct tide_seg_idx_file {
    tide_seg_entry *v; /* the valid prefix of entries (malloc'd) */
    size_t n;
    bool sealed;       /* a valid seal ends the file */
    tide_seg_entry seal;
    bool clean;        /* the whole file is valid (no damaged or stray bytes) */
} tide_seg_idx_file;

/* Load and validate `path`.  A missing or invalid file gives n = 0, not an
 * error; only I/O errors other than ENOENT are returned. */
int tide_seg_idx_load(const char *path, uint64_t base, tide_seg_idx_file *out, tide_err *e);
void tide_seg_idx_file_free(tide_seg_idx_file *f);
/* The last entry with offset <= target (or -1). */
long tide_seg_idx_find_offset(const tide_seg_idx_file *f, uint64_t target);
/* The last entry with max_before < ts (or -1). */
long tide_seg_idx_find_time(const tide_seg_idx_file *f, int64_t ts);

/* How a scan ended. */
enum {
    TIDE_SEG_CLEAN = 0, /* the valid batches end exactly at the end of the file */
    TIDE_SEG_TORN,      /* an incomplete batch (too short for its header or length) at `end` */
    TIDE_SEG_BAD,       /* a complete-length but invalid batch (or bad header) at `end` */
};

typedef struct tide_seg_scan {
    uint64_t end;         /* position after the last valid batch */
    uint64_t next_offset; /* offset after the last valid batch */
    uint64_t file_size;
    uint32_t batches;     /* valid batches seen by this scan */
    int tail;             /* TIDE_SEG_CLEAN / TORN / BAD */
    char why[96];         /* for TORN / BAD: what is wrong at `end` */
    bool head_ok;         /* for TORN / BAD: the header at `end` parses and */
    uint32_t head_count;  /* carries the expected base offset; its count */
    uint32_t head_length; /* and length */
} tide_seg_scan;

/* Scan valid batches from `pos` where a batch with base offset `offset` is
 * expected, until the first invalid or incomplete one or the end of the
 * file.  Every valid batch is noted in `ix` (running timestamps, entries).
 * Uses `buf` as the read buffer.  Only I/O errors are returned. */
int tide_seg_scan_file(tide_file *f, uint64_t pos, uint64_t offset, tide_seg_index *ix,
                       tide_buf *buf, tide_seg_scan *out, tide_err *e);

/* Is there valid data after the damaged batch at sc->end (where a batch
 * with base offset sc->next_offset was expected)?  Tells a torn tail from
 * corruption in the middle.  A valid batch with a higher base offset is
 * looked for:
 *   - when the damaged batch's header is intact (sc->head_ok), only after
 *     its extent, because everything inside is its payload and a payload
 *     may hold any bytes, even encoded batches.  The extent is where its
 *     records really end if that end has a matching CRC (only the length
 *     field is damaged), else its length field for a complete-length batch;
 *     an incomplete one (a torn write) extends to the end of the file, so
 *     nothing can follow it;
 *   - otherwise anywhere after sc->end.
 * *found_pos is its position. */
int tide_seg_find_valid_after(tide_file *f, const tide_seg_scan *sc, tide_buf *buf, bool *found,
                              uint64_t *found_pos, tide_err *e);

/* A segment's summary: from a sealed index matching the file size, else by
 * scanning (read-only).  For describe and the reader's bounds. */
typedef struct tide_seg_summary {
    uint64_t size;
    uint64_t next_offset; /* after the last valid batch */
    int64_t min_ts, max_ts;
    bool sealed;          /* came from a valid seal */
    int tail;             /* of the scan, TIDE_SEG_CLEAN when sealed */
    uint64_t end;         /* end of valid data */
    /* a damaged batch that valid data follows (in an unsealed segment): its
     * position and offset; next_offset, end and the timestamps then count
     * the valid batches after it too */
    bool damaged;
    uint64_t damage_pos, damage_offset;
} tide_seg_summary;

int tide_seg_summarize(const char *dir, uint64_t base, tide_buf *buf, tide_seg_summary *out,
                       tide_err *e);

#endif
