/*
 * hash.h - hashing.
 *
 * tide_hash_murmur2 is the partitioning hash of the log, chosen to be the
 * same function Apache Kafka's default partitioner uses (murmur2, seed
 * 0x9747b28c), so a keyed record lands in the same partition number in tide
 * and in Kafka:  partition = (murmur2(key) & 0x7fffffff) % partitions.
 * This is part of the on-disk contract: never change it.
 *
 * tide_hash64 is a fast, well-mixed 64-bit hash for in-memory hash tables;
 * its values may change between versions and must never be persisted.
 */
#ifndef TIDE_BASE_HASH_H
#define TIDE_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

uint32_t tide_hash_murmur2(const void *key, size_t len);

/* The partition of a keyed record among `partitions` (> 0). */
static inline uint32_t tide_hash_partition(const void *key, size_t len, uint32_t partitions)
{
    return (tide_hash_murmur2(key, len) & 0x7fffffffu) % partitions;
}

/* A bijective mix of a 64-bit integer (the splitmix64 finalizer). */
static inline uint64_t tide_hash_u64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static inline uint64_t tide__hash_mix_mul(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* (Inline: the exchange and the state tables hash a short key per row.) */
static inline uint64_t tide_hash64(const void *key, size_t len, uint64_t seed)
{
    const unsigned char *p = key;
    const uint64_t k0 = 0x9e3779b97f4a7c15ull, k1 = 0xc2b2ae3d27d4eb4full;
    uint64_t h = seed ^ (len * k0);
    while (len >= 16) {
        uint64_t a, b;
        memcpy(&a, p, 8);
        memcpy(&b, p + 8, 8);
        h = tide__hash_mix_mul(a ^ k0 ^ h, b ^ k1);
        p += 16;
        len -= 16;
    }
    uint64_t a = 0, b = 0;
    if (len >= 8) {
        memcpy(&a, p, 8);
        memcpy(&b, p + len - 8, 8);
    } else if (len >= 4) {
        uint32_t x, y;
        memcpy(&x, p, 4);
        memcpy(&y, p + len - 4, 4);
        a = x;
        b = y;
    } else if (len > 0) {
        a = (uint64_t)p[0] << 16 | (uint64_t)p[len >> 1] << 8 | p[len - 1];
    }
    h = tide__hash_mix_mul(a ^ k1 ^ h, b ^ k0 ^ len);
    return tide_hash_u64(h);
}

#endif
