/*
 * crc32c.h - CRC-32C (Castagnoli, polynomial 0x1EDC6F41 reflected 0x82F63B78).
 *
 * The checksum of every on-disk format in tide.  Uses the SSE4.2 crc32
 * instruction when the CPU has it (three independent lanes on buffers of
 * 240 bytes and more, joined with precomputed shift tables; see crc32c.c),
 * a table-driven slicing-by-8 otherwise; both give the same values.
 * Thread-safe.
 */
#ifndef TIDE_BASE_CRC32C_H
#define TIDE_BASE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend `crc` (0 to start) over `len` bytes at `buf`. */
uint32_t tide_crc32c(uint32_t crc, const void *buf, size_t len);

/* The portable implementation, exposed so tests can compare both paths. */
uint32_t tide_crc32c_sw(uint32_t crc, const void *buf, size_t len);

#endif
