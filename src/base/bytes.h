/*
 * bytes.h - little-endian loads and stores, LEB128 varints, zigzag.
 * All on-disk integers in tide are little-endian.
 */
#ifndef TIDE_BASE_BYTES_H
#define TIDE_BASE_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void tide_put_u16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static inline void tide_put_u32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static inline void tide_put_u64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static inline uint16_t tide_get_u16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t tide_get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t tide_get_u64(const unsigned char *p)
{
    return (uint64_t)tide_get_u32(p) | (uint64_t)tide_get_u32(p + 4) << 32;
}

static inline uint64_t tide_zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t tide_unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/* Encode `v` at `p` (room for 10 bytes); returns the bytes written. */
static inline size_t tide_varint_put(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

/* Decode a varint from [p, end).  Returns the bytes read, or 0 when the
 * varint is truncated or longer than 10 bytes (corrupt input). */
static inline size_t tide_varint_get(const unsigned char *p, const unsigned char *end, uint64_t *v)
{
    uint64_t r = 0;
    for (size_t i = 0; i < 10 && p + i < end; i++) {
        r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

#endif
