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

uint32_t tide_hash_murmur2(const void *key, size_t len);

/* The partition of a keyed record among `partitions` (> 0). */
static inline uint32_t tide_hash_partition(const void *key, size_t len, uint32_t partitions)
{
    return (tide_hash_murmur2(key, len) & 0x7fffffffu) % partitions;
}

uint64_t tide_hash64(const void *key, size_t len, uint64_t seed);

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

#endif
