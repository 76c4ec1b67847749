/*
 * decimal.h - exact DECIMAL(p, s) values: the arithmetic, text and
 * conversions of a 128-bit integer scaled by 10^s (data/types.h holds the
 * type, tide_type_decimal(p, s), and the value, tide_i128).
 *
 * Semantics are Flink's (which are Java's BigDecimal's and Calcite's type
 * rules):
 *   - A value of DECIMAL(p, s) is v / 10^s with |v| < 10^p.
 *   - Rounding is HALF_UP: to the nearest, ties away from zero (Java's
 *     RoundingMode.HALF_UP): 0.125 -> 0.13, -0.125 -> -0.13.
 *   - Result types (Flink's LogicalTypeMerging; a precision above 38 is
 *     adjusted to 38 with scale max(38 - (p - s), min(s, 6))):
 *       a + b, a - b  DECIMAL(max(p1 - s1, p2 - s2) + max(s1, s2) + 1, max(s1, s2))
 *       a * b         DECIMAL(p1 + p2 + 1, s1 + s2)
 *       a / b         scale max(6, s1 + p2 + 1), precision p1 - s1 + s2 + scale
 *       a % b         DECIMAL(min(p1 - s1, p2 - s2) + max(s1, s2), max(s1, s2))
 *     An operation computes the exact result (up to 256 bits), rounds it to
 *     the result's scale and fails (false: the caller gives NULL, as Flink
 *     does) when it does not fit the result's precision.  Division by zero
 *     fails too.
 *   - Text: [+|-]digits[.digits][e|E[+|-]digits] (or .digits), spaces around
 *     ignored, rounded HALF_UP to the scale; printed with exactly s digits
 *     after the point ("-0.50" for DECIMAL(3, 2)), no exponent (Java's
 *     toPlainString).
 *   - DOUBLE -> DECIMAL goes through the double's shortest text (Java's
 *     BigDecimal.valueOf(double)): 0.1 -> 0.1, not 0.1000000000000000055...
 *     DECIMAL -> DOUBLE is the correctly rounded nearest double.
 *
 * Everything here is pure and thread-safe; nothing allocates.
 */
#ifndef TIDE_DATA_DECIMAL_H
#define TIDE_DATA_DECIMAL_H

#include "data/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes enough for any formatted DECIMAL: sign, 38 digits, point, "0.", NUL. */
#define TIDE_DEC_TEXT_MAX 48

/* 10^n, 0 <= n <= 38. */
tide_i128 tide_dec_pow10(unsigned n);
/* |v| < 10^p. */
bool tide_dec_fits(tide_i128 v, unsigned p);

/* Flink's result types of a + b (and a - b), a * b, a / b, a % b for two
 * DECIMAL types. */
tide_type tide_dec_add_type(tide_type a, tide_type b);
tide_type tide_dec_mul_type(tide_type a, tide_type b);
tide_type tide_dec_div_type(tide_type a, tide_type b);
tide_type tide_dec_mod_type(tide_type a, tide_type b);
/* SUM(DECIMAL(p, s)) -> DECIMAL(38, s); AVG -> DECIMAL(38, max(s, 6)). */
tide_type tide_dec_sum_type(tide_type a);
tide_type tide_dec_avg_type(tide_type a);
/* The DECIMAL a BIGINT operand counts as: DECIMAL(19, 0) (DECIMAL(10, 0)
 * for an INT-sized literal, as Flink types integer literals INT). */
tide_type tide_dec_of_bigint(bool int_literal);

typedef enum tide_dec_op { TIDE_DEC_ADD, TIDE_DEC_SUB, TIDE_DEC_MUL, TIDE_DEC_DIV, TIDE_DEC_MOD } tide_dec_op;
/* a (of type ta) op b (of type tb) into *out of type rt (normally the
 * tide_dec_*_type of ta and tb; any DECIMAL type works).  False when the
 * result does not fit rt or b is zero for / and % (*out untouched). */
bool tide_dec_arith(tide_dec_op op, tide_i128 a, tide_type ta, tide_i128 b, tide_type tb, tide_type rt,
                    tide_i128 *out);
/* a / n rounded HALF_UP at scale `to_scale` (from a's scale `scale`): AVG.
 * n > 0.  False when it does not fit 38 digits. */
bool tide_dec_div_i64(tide_i128 a, unsigned scale, int64_t n, unsigned to_scale, tide_i128 *out);

/* v of scale `from` as a value of type `to` (HALF_UP when the scale
 * shrinks); false when it does not fit to's precision. */
bool tide_dec_cast(tide_i128 v, unsigned from, tide_type to, tide_i128 *out);
/* -1, 0, 1: a (scale sa) against b (scale sb), exactly. */
int tide_dec_cmp(tide_i128 a, unsigned sa, tide_i128 b, unsigned sb);

/* Text -> DECIMAL type t.  0, TIDE_EINVAL (not a number; *why says what)
 * or TIDE_ERANGE (does not fit t's precision). */
int tide_dec_parse(const char *s, size_t len, tide_type t, tide_i128 *out, const char **why);
/* v of scale `scale` as text, NUL-terminated in buf[TIDE_DEC_TEXT_MAX];
 * returns the length. */
size_t tide_dec_format(tide_i128 v, unsigned scale, char *buf);

bool tide_dec_from_i64(int64_t x, tide_type t, tide_i128 *out);
/* Truncated toward zero; false when it does not fit a BIGINT. */
bool tide_dec_to_i64(tide_i128 v, unsigned scale, int64_t *out);
/* False for NaN, +-Inf and values that do not fit t. */
bool tide_dec_from_f64(double x, tide_type t, tide_i128 *out);
double tide_dec_to_f64(tide_i128 v, unsigned scale);

/* 16 bytes whose memcmp order is the numeric order of values of one scale
 * (the two's complement with its sign bit flipped, big-endian): the key
 * codec's and the aggregates' form. */
void tide_dec_put16(tide_i128 v, uint8_t out[16]);
tide_i128 tide_dec_get16(const uint8_t in[16]);

#endif
