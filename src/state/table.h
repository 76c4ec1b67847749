/*
 * table.h - keyed state: an open-addressing hash table from key bytes to a
 * fixed-size value slot.
 *
 * Design.  Robin Hood linear probing over one flat array of slots; each slot
 * holds a small header (probe distance, 32 bits of the key's hash), the key
 * (inline when at most 12 bytes, else a pointer into an arena the table
 * owns; or an 8-byte integer inline) and the value bytes.  Deletion shifts
 * the following entries of the probe run back by one (backward-shift
 * deletion), so there are no tombstones and a lookup of an absent key stops
 * as soon as it meets an entry closer to its home slot than the probe.  The
 * table grows by doubling when it would exceed 7/8 load, with a full
 * rehash.
 *
 * Two key modes, chosen at creation:
 *   TIDE_TABLE_KEY_BYTES  any byte string (length < 4 GiB) copied into the
 *                         table's arena; hashed with tide_hash64.
 *   TIDE_TABLE_KEY_U64    8-byte integer keys stored inline (the fast path:
 *                         no arena, no memcmp); hashed with tide_hash_u64.
 *                         The byte-key functions also work on such a table
 *                         when klen == 8 (the bytes are the key in host byte
 *                         order), so generic code need not care.
 *
 * Memory.  Slot size = 8 (header) + 16 (bytes mode: length + 12 bytes that
 * hold the key itself when it is at most 12 bytes, else a pointer into the
 * arena) or 8 (u64 mode) + value_size, rounded up to 8.  At load factor
 * between 7/16 (just after a doubling) and 7/8 a live entry costs
 * slot/0.875 .. slot/0.4375 bytes, plus, for a key over 12 bytes, its
 * length rounded up to 16 in the arena.  Example: u64 keys with an 8-byte
 * counter: 24-byte slots, 27..55 bytes per entry (31.5 at 100k entries).
 * Deleted keys' arena bytes are reclaimed when the table is rehashed
 * (growth, tide_table_reserve) or cleared, and by a compaction when the dead
 * bytes exceed both the live bytes and 1 MiB.  The slot array never shrinks
 * (tide_table_clear keeps it; free the table to return it).
 *
 * Latency.  Operations are O(1) expected: a successful lookup reads
 * (1 + 1/(1-a))/2 consecutive slots on average at load a (1.4 at 7/16, 4.5
 * at the 7/8 maximum; Robin Hood keeps the variance low).  Growth is a full
 * rehash into a new array twice the size: the insert that triggers it pays
 * O(n), dominated on our VMs by the first touch of the new array (slot
 * arrays of 4 MiB and more ask for transparent huge pages to cut that).
 * Measured (bench/bench_state.c, shared 2-core VM under load): the worst
 * single insert while growing to 4M u64 entries was 0.6-0.9 s (the rehash of
 * 3.67M entries into a 201 MB array), i.e. roughly 150-250 ns per entry
 * moved.  Callers that cannot take that pause call tide_table_reserve() up
 * front (and reuse tables with tide_table_clear, which keeps the array and
 * costs O(capacity): ~50 ms for that 201 MB array).  There is no
 * incremental rehash.
 *
 * Hashing uses a fixed seed, so iteration order is reproducible from run to
 * run; adversarial keys could force long probe runs (no hash-flooding
 * defence).
 *
 * Pointers.  A value pointer (and a key pointer from iteration) is valid
 * until the next insert, delete, clear, reserve or restore on the table:
 * Robin Hood insertion and backward-shift deletion move entries.  Values are
 * 8-byte aligned; new values are zero-filled.
 *
 * Iteration order is arbitrary (slot order; it depends on the hash function
 * and the history of the table, not on insertion order) and must never be
 * relied on for output; use tide_table_sorted() for deterministic output.
 *
 * Threads: a table belongs to one owner; no internal locking.
 */
#ifndef TIDE_STATE_TABLE_H
#define TIDE_STATE_TABLE_H

#include "base/buf.h"
#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tide_table tide_table;

typedef enum tide_table_key_mode {
    TIDE_TABLE_KEY_BYTES = 0,
    TIDE_TABLE_KEY_U64 = 1,
} tide_table_key_mode;

/* One entry, as iteration and tide_table_sorted give it.  `key` points into
 * the table (arena bytes, or the inline 8-byte integer in host order);
 * both pointers follow the validity rule above. */
typedef struct tide_table_entry {
    const void *key;
    uint32_t klen;
    void *value;
} tide_table_entry;

/* An iteration cursor: zero-initialise (`tide_table_iter it = {0};`). */
typedef struct tide_table_iter {
    size_t pos;
} tide_table_iter;

/* Create a table whose values are `value_size` bytes (0 allowed: a set),
 * with room for `capacity_hint` entries before the first growth (0: a small
 * default).  Returns TIDE_EINVAL for a value_size over 64 KiB, TIDE_ENOMEM. */
int tide_table_create(tide_table **out, tide_table_key_mode mode, size_t value_size,
                      size_t capacity_hint, tide_err *e);
/* Frees the table, its keys and values; NULL is a no-op. */
void tide_table_free(tide_table *t);

size_t tide_table_count(const tide_table *t);
size_t tide_table_value_size(const tide_table *t);
tide_table_key_mode tide_table_mode(const tide_table *t);
/* Bytes held by the table (slots + key arena). */
size_t tide_table_memory(const tide_table *t);

/* The value of `key`, or NULL when absent. */
void *tide_table_find(const tide_table *t, const void *key, size_t klen);
/* Find `key` or insert it with a zero-filled value.  *value gets the slot;
 * *is_new (may be NULL) says whether it was inserted.  TIDE_ENOMEM leaves
 * the table as it was; TIDE_EINVAL for a bad key length (u64 mode: != 8). */
int tide_table_upsert(tide_table *t, const void *key, size_t klen, void **value, bool *is_new,
                      tide_err *e);
/* Remove `key`.  Returns true when it was present. */
bool tide_table_delete(tide_table *t, const void *key, size_t klen);

/* The u64 fast path (TIDE_TABLE_KEY_U64 tables only). */
void *tide_table_find_u64(const tide_table *t, uint64_t key);
int tide_table_upsert_u64(tide_table *t, uint64_t key, void **value, bool *is_new, tide_err *e);
bool tide_table_delete_u64(tide_table *t, uint64_t key);

/* Hint that `key` is about to be looked up: starts loading its home slot
 * into the cache.  A batch loop that prefetches the key of row i + 8 while
 * it upserts row i hides most of the memory latency of a table bigger than
 * the cache (see bench/bench_state.c).  Never fails, changes nothing. */
void tide_table_prefetch_u64(const tide_table *t, uint64_t key);
void tide_table_prefetch(const tide_table *t, const void *key, size_t klen);

/* Make *dst a copy of `t` that shares no memory with it: *dst NULL, a new
 * table; else *dst (a copy made before) is overwritten, its slot array
 * reused when it has t's size (no page to fault in: then the copy is one
 * memcpy of t's slots, plus keys over 12 bytes into one arena block).  A
 * checkpoint freezes a table so at the barrier and writes the copy from
 * another thread while `t` goes on changing.  Values are copied raw (a
 * value holding pointers still points at what t owns).  TIDE_ENOMEM
 * (*dst freed and NULL). */
int tide_table_copy(tide_table **dst, const tide_table *t, tide_err *e);

/* Remove every entry; keep the slot array and one arena block for reuse. */
void tide_table_clear(tide_table *t);
/* Make room for `n` entries in total without further growth. */
int tide_table_reserve(tide_table *t, size_t n, tide_err *e);

/* Iterate: `while (tide_table_next(t, &it, &ent)) ...`.  The table must not
 * be modified during an iteration (values may be written in place); use
 * tide_table_remove_if to delete while scanning. */
bool tide_table_next(const tide_table *t, tide_table_iter *it, tide_table_entry *ent);

/* Call `pred` on every entry once and delete those for which it returns
 * true (it may read the value, e.g. to free out-of-line state first).
 * Returns the number deleted. */
size_t tide_table_remove_if(tide_table *t,
                            bool (*pred)(const void *key, uint32_t klen, void *value, void *ctx),
                            void *ctx);

/* Fill `out` (room for tide_table_count() entries) with the entries sorted
 * by key: bytes mode by memcmp over the common length, shorter first on a
 * tie; u64 mode by unsigned integer value.  Deterministic output.  A radix
 * sort (base/sort.h), O(n) for keys of up to 16 bytes; it needs 48 bytes per
 * entry of scratch and falls back to qsort without them. */
void tide_table_sorted(const tide_table *t, tide_table_entry *out);

/* Verify the internal invariants (each entry's probe distance matches its
 * hash, Robin Hood order, the count).  O(capacity); for tests. */
bool tide_table_check(const tide_table *t);

/* Snapshot / restore (the checkpoint format of one table).
 *
 * Layout, little-endian: magic "TTB1" | u16 version (1) | u8 key mode |
 * u8 0 | u32 value_size | u64 count | count x (varint klen, key bytes,
 * varint vlen, value bytes) | u32 CRC32C of everything before it.
 * Entries are written in slot order.  u64-mode keys are written as 8
 * little-endian bytes.
 *
 * Values are copied raw by default (host byte order; a value holding
 * pointers needs codecs).  With `enc`, a value is written by enc(value,
 * out, ctx) which appends its bytes to `out`; with `dec`, dec(bytes, n,
 * value, ctx, e) rebuilds the (zero-filled) value from them.
 *
 * tide_table_snapshot appends to `out` (on error `out` is as it was).
 * tide_table_restore clears the table (the caller first frees whatever its
 * values own), checks magic, CRC32C, version, key mode and value size (each
 * mismatch TIDE_ECORRUPT naming which) before touching any entry, then
 * inserts the entries.  On an error after that point (a decoder failure,
 * TIDE_ENOMEM, a malformed entry behind a valid CRC): without `dec` the table
 * is left empty; with `dec` it keeps the entries restored so far, each value
 * fully decoded or as `dec` left it when failing (dec must leave it
 * freeable, e.g. initialised), so the caller frees them and clears. */
typedef int (*tide_table_value_enc)(const void *value, tide_buf *out, void *ctx, tide_err *e);
typedef int (*tide_table_value_dec)(const unsigned char *p, size_t n, void *value, void *ctx,
                                    tide_err *e);
int tide_table_snapshot(const tide_table *t, tide_buf *out, tide_table_value_enc enc, void *ctx,
                        tide_err *e);
int tide_table_restore(tide_table *t, const void *buf, size_t len, tide_table_value_dec dec,
                       void *ctx, tide_err *e);

#endif
