#include "base/crc32c.h"

#include <stdbool.h>
#include <string.h>
#include <pthread.h>

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

uint32_t tide_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&table_once, table_init);
    const unsigned char *p = buf;
    crc = ~crc;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        v ^= crc; /* little-endian load: low byte first */
        crc = table[7][v & 0xff] ^ table[6][(v >> 8) & 0xff] ^ table[5][(v >> 16) & 0xff] ^
              table[4][(v >> 24) & 0xff] ^ table[3][(v >> 32) & 0xff] ^
              table[2][(v >> 40) & 0xff] ^ table[1][(v >> 48) & 0xff] ^ table[0][v >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/*
 * Three streams.  The crc32 instruction has a latency of about three cycles
 * but can start one per cycle, so one dependent chain uses a third of it.
 * A block of 3 * L bytes is split into three lanes of L bytes; lane 0
 * continues the running CRC, lanes 1 and 2 start from 0, and the three
 * chains run interleaved.  Then they are joined.
 *
 * Joining: on the raw register (no pre/post inversion) the CRC is linear:
 * feeding data D to register r gives Z_|D|(r) ^ F(0, D), where Z_n(r) is r
 * fed n zero bytes.  So F(r, A B C) = Z_L(Z_L(a) ^ b) ^ c with a = F(r, A),
 * b = F(0, B), c = F(0, C).  Z_L is a linear map of 32 bits, applied as
 * four 256-entry tables, one per input byte (the "zeros operator"), built
 * once per lane length from the images of the 32 unit vectors.
 */
#define LANE_LONG 4096 /* blocks of 12 KiB */
#define LANE_SHORT 512 /* blocks of 1.5 KiB */
#define LANE_TINY 80   /* blocks of 240 B */

static uint32_t zeros_long[4][256], zeros_short[4][256], zeros_tiny[4][256];
static pthread_once_t zeros_once = PTHREAD_ONCE_INIT;

static void zeros_build(uint32_t op[4][256], size_t n)
{
    uint32_t unit[32];
    for (int i = 0; i < 32; i++) {
        uint32_t r = 1u << i;
        for (size_t k = 0; k < n; k++)
            r = (r >> 8) ^ table[0][r & 0xff];
        unit[i] = r;
    }
    for (int t = 0; t < 4; t++)
        for (uint32_t v = 0; v < 256; v++) {
            uint32_t r = 0;
            for (int j = 0; j < 8; j++)
                if (v & (1u << j))
                    r ^= unit[8 * t + j];
            op[t][v] = r;
        }
}

static void zeros_init(void)
{
    pthread_once(&table_once, table_init);
    zeros_build(zeros_long, LANE_LONG);
    zeros_build(zeros_short, LANE_SHORT);
    zeros_build(zeros_tiny, LANE_TINY);
}

static inline uint32_t zeros_apply(const uint32_t op[4][256], uint32_t r)
{
    return op[0][r & 0xff] ^ op[1][(r >> 8) & 0xff] ^ op[2][(r >> 16) & 0xff] ^ op[3][r >> 24];
}

/* Consume as many whole blocks of three `lane`-byte lanes as fit. */
__attribute__((target("sse4.2"))) static inline uint64_t
crc32c_hw_lanes(uint64_t c, const unsigned char **pp, size_t *lenp, size_t lane,
                const uint32_t op[4][256])
{
    const unsigned char *p = *pp;
    size_t len = *lenp;
    while (len >= 3 * lane) {
        uint64_t a = c, b = 0, d = 0;
        for (size_t i = 0; i < lane; i += 8) {
            uint64_t va, vb, vd;
            memcpy(&va, p + i, 8);
            memcpy(&vb, p + lane + i, 8);
            memcpy(&vd, p + 2 * lane + i, 8);
            a = __builtin_ia32_crc32di(a, va);
            b = __builtin_ia32_crc32di(b, vb);
            d = __builtin_ia32_crc32di(d, vd);
        }
        uint32_t ab = zeros_apply(op, (uint32_t)a) ^ (uint32_t)b;
        c = zeros_apply(op, ab) ^ (uint32_t)d;
        p += 3 * lane;
        len -= 3 * lane;
    }
    *pp = p;
    *lenp = len;
    return c;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *buf,
                                                            size_t len)
{
    const unsigned char *p = buf;
    uint64_t c = ~crc;
    if (len >= 3 * LANE_TINY) {
        pthread_once(&zeros_once, zeros_init);
        c = crc32c_hw_lanes(c, &p, &len, LANE_LONG, zeros_long);
        c = crc32c_hw_lanes(c, &p, &len, LANE_SHORT, zeros_short);
        c = crc32c_hw_lanes(c, &p, &len, LANE_TINY, zeros_tiny);
    }
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}

static int hw_state; /* 0 unknown, 1 yes, 2 no; racy init is benign (same answer) */

uint32_t tide_crc32c(uint32_t crc, const void *buf, size_t len)
{
    int s = __atomic_load_n(&hw_state, __ATOMIC_RELAXED);
    if (s == 0) {
        __builtin_cpu_init();
        s = __builtin_cpu_supports("sse4.2") ? 1 : 2;
        __atomic_store_n(&hw_state, s, __ATOMIC_RELAXED);
    }
    return s == 1 ? crc32c_hw(crc, buf, len) : tide_crc32c_sw(crc, buf, len);
}
#else
uint32_t tide_crc32c(uint32_t crc, const void *buf, size_t len)
{
    return tide_crc32c_sw(crc, buf, len);
}
#endif
