/*
 * snap.h - the snapshot stream: how an operator writes its state at a
 * checkpoint barrier and reads it back on restore.
 *
 * One snapshot is one *section*, appended to a tide_buf:
 *
 *   magic "TSN1" | u32 payload length | u16 kind length | kind bytes |
 *   u32 version | payload | u32 CRC32C of everything before it
 *
 * (integers little-endian).  `kind` names the operator ("winagg",
 * "groupagg", ...) and `version` its own payload format, so a restore can
 * refuse a snapshot of another operator or of a format it does not know
 * (the recovery rule: a checkpoint that does not verify is never read; the
 * job falls back to an older one).  Sections nest: an operator may put a
 * sub-operator's whole section into its payload as a blob.
 *
 * Writing: tide_snap_begin, then the put calls (they never fail on their
 * own: an allocation failure is remembered and reported by tide_snap_end,
 * which fills in the length and the checksum).  On failure the buffer is
 * cut back to where the section began.
 *
 *   tide_snap_w w;
 *   tide_snap_begin(&w, out, "winagg", 1);
 *   tide_snap_put_u64(&w, n); ...
 *   rc = tide_snap_end(&w, e);
 *
 * Reading: tide_snap_open checks magic, length, checksum and kind before
 * anything is read and tells the version; the get calls then read the
 * payload in the order it was written.  Reading past the payload (a short
 * or malformed snapshot behind a valid checksum) makes the reader fail:
 * gets return zeros, and tide_snap_close reports TIDE_ECORRUPT naming the
 * kind; close also fails when payload bytes were left unread.  So an
 * operator reads without a check per field and checks once, at close (and
 * before it trusts a count to size an allocation: tide_snap_remaining).
 *
 * Floating-point values are written as their IEEE-754 bits (bit-exact
 * round trip, NaN payloads included).  Strings and blobs are a varint
 * length and the bytes; a get of them borrows from the snapshot buffer
 * (valid as long as that buffer is).
 */
#ifndef TIDE_STATE_SNAP_H
#define TIDE_STATE_SNAP_H

#include "base/buf.h"
#include "base/err.h"
#include "data/batch.h"
#include "data/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tide_snap_w {
    tide_buf *out;
    size_t start;   /* where the section begins in out */
    size_t payload; /* where the payload begins */
    int err;        /* first failure of a put (TIDE_ENOMEM) */
    const char *kind;
} tide_snap_w;

/* Start a section of `kind` (at most 255 bytes) and `version`. */
void tide_snap_begin(tide_snap_w *w, tide_buf *out, const char *kind, uint32_t version);
void tide_snap_put_u8(tide_snap_w *w, uint8_t v);
void tide_snap_put_u32(tide_snap_w *w, uint32_t v);
void tide_snap_put_u64(tide_snap_w *w, uint64_t v);
void tide_snap_put_i64(tide_snap_w *w, int64_t v);
void tide_snap_put_f64(tide_snap_w *w, double v);
void tide_snap_put_bool(tide_snap_w *w, bool v);
/* LEB128 varint. */
void tide_snap_put_varint(tide_snap_w *w, uint64_t v);
/* varint length, then the bytes. */
void tide_snap_put_bytes(tide_snap_w *w, const void *p, size_t n);
/* Raw bytes (no length). */
void tide_snap_put_raw(tide_snap_w *w, const void *p, size_t n);
/* A value: type byte, null byte, then by type (BOOLEAN u8, BIGINT and
 * TIMESTAMP i64, DOUBLE f64, STRING bytes; DECIMAL: precision and scale
 * bytes, NULL or not, then the unscaled value's high and low u64).  DECIMAL
 * was added without a version bump: no earlier value changed form, so
 * every earlier snapshot reads as before. */
void tide_snap_put_value(tide_snap_w *w, const tide_value *v);
/* Row `row` of a column batch: its op, its source position (0 when the
 * batch keeps none), then each column's value (tide_snap_put_value). */
void tide_snap_put_row(tide_snap_w *w, const tide_cbatch *b, uint32_t row);
/* Finish the section.  0, or TIDE_ENOMEM (with `e` naming the kind; the
 * buffer is cut back to where the section began). */
int tide_snap_end(tide_snap_w *w, tide_err *e);

typedef struct tide_snap_r {
    const unsigned char *p, *end;
    bool bad;
    char kind[64];
} tide_snap_r;

/* Open the section at buf[0..len): checks magic, lengths, CRC32C, that its
 * kind is `kind` and its format version `version` (the one this build
 * writes: another is refused, "snapshot of KIND: format version V, this
 * build reads W"); *used (may be NULL) gets the section's total size
 * (sections can follow one another).  0 or TIDE_ECORRUPT naming what does
 * not verify. */
int tide_snap_open(tide_snap_r *r, const void *buf, size_t len, const char *kind, uint32_t version,
                   size_t *used, tide_err *e);
uint8_t tide_snap_get_u8(tide_snap_r *r);
uint32_t tide_snap_get_u32(tide_snap_r *r);
uint64_t tide_snap_get_u64(tide_snap_r *r);
int64_t tide_snap_get_i64(tide_snap_r *r);
double tide_snap_get_f64(tide_snap_r *r);
bool tide_snap_get_bool(tide_snap_r *r);
uint64_t tide_snap_get_varint(tide_snap_r *r);
/* Borrowed from the snapshot buffer; *n gets the length.  NULL (and *n 0)
 * after a failure. */
const void *tide_snap_get_bytes(tide_snap_r *r, size_t *n);
/* `n` raw bytes; NULL when fewer are left. */
const void *tide_snap_get_raw(tide_snap_r *r, size_t n);
/* A value written by tide_snap_put_value (a string borrows the buffer). */
tide_value tide_snap_get_value(tide_snap_r *r);
/* Append a row written by tide_snap_put_row to `dst` (the same column
 * types; strings copied; op and position when dst keeps them).  0, TIDE_ECORRUPT (a bad op, a value of another
 * type: the reader is marked failed too), TIDE_ERANGE (dst full),
 * TIDE_ENOMEM. */
int tide_snap_get_row(tide_snap_r *r, tide_cbatch *dst, tide_err *e);
/* Payload bytes not read yet (0 after a failure): an upper bound for a
 * count read from the snapshot before it sizes an allocation. */
size_t tide_snap_remaining(const tide_snap_r *r);
/* Mark the reader failed (a value that cannot be right: a bad enum, a count
 * above tide_snap_remaining). */
void tide_snap_fail(tide_snap_r *r);
bool tide_snap_failed(const tide_snap_r *r);
/* 0 when the whole payload was read without a failure; else TIDE_ECORRUPT
 * "snapshot of KIND: malformed payload" (or "N bytes left unread"). */
int tide_snap_close(tide_snap_r *r, tide_err *e);

#endif
