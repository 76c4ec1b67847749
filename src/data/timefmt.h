/*
 * timefmt.h - TIMESTAMP(3) text forms: parse, format, floor to a unit.
 *
 * A timestamp is an int64 count of milliseconds since 1970-01-01 00:00:00 UTC
 * (negative before).  Calendar arithmetic is the proleptic Gregorian calendar
 * computed with days-from-civil / civil-from-days formulas: no timegm(),
 * gmtime(), TZ or locale, so every function here is pure, thread-safe and
 * allocation-free.
 *
 * Accepted input (tide_ts_parse), the whole text must match one form:
 *   epoch ms      [+-]digits                       "1700000000000", "-1"
 *   date          YYYY-MM-DD                       midnight UTC
 *   date time     YYYY-MM-DD HH:MM[:SS[.f...]][zone]
 *   ISO-8601      YYYY-MM-DDTHH:MM[:SS[.f...]][zone]   ('t' also accepted)
 *   zone          Z | z | +HH:MM | -HH:MM | +HHMM | +HH   (converted to UTC)
 * Years are 4 digits (0000-9999), or a sign and 4 to 9 digits (ISO 8601
 * expanded years: "-0001-12-31", "+10000-01-01"), so that every text
 * tide_ts_format writes parses back; a value outside int64 ms is rejected
 * ("timestamp out of range").  Fractional seconds take 1 or more
 * digits; digits past the third (sub-millisecond) are ignored, i.e. the value
 * is TRUNCATED toward the past of the written instant, never rounded
 * ("…:00.9999" is "…:00.999").  Seconds are 00-59 (no leap second 60), hours
 * 00-23, days checked against the month (Feb 29 only in leap years).  No
 * leading/trailing spaces.
 *
 * Output (tide_ts_format) is always "YYYY-MM-DD HH:MM:SS.mmm" in UTC.  Years
 * outside 0000-9999 print with a sign and at least 4 digits:
 * "-0001-12-31 23:59:59.999", "+10000-01-01 ...".  tide_ts_parse reads every
 * formatted value back exactly, for all of int64 (TIDE_TS_MIN/MAX included).
 */
#ifndef TIDE_DATA_TIMEFMT_H
#define TIDE_DATA_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#define TIDE_TS_MS_PER_SECOND 1000LL
#define TIDE_TS_MS_PER_MINUTE 60000LL
#define TIDE_TS_MS_PER_HOUR 3600000LL
#define TIDE_TS_MS_PER_DAY 86400000LL

/* Room for any formatted timestamp, NUL included. */
#define TIDE_TS_FORMAT_MAX 40

/* Why a parse failed: a static reason ("month out of range") and the 1-based
 * column (byte position in the text) where it went wrong. */
typedef struct tide_ts_error {
    const char *reason;
    uint32_t column;
} tide_ts_error;

/* Parse `len` bytes at `s` (no NUL needed).  Returns 0 and sets *out_ms, or
 * TIDE_EPARSE (malformed, or a field out of range) and fills *err (which may
 * be NULL).  *out_ms is untouched on failure. */
int tide_ts_parse(const char *s, size_t len, int64_t *out_ms, tide_ts_error *err);

/* Write "YYYY-MM-DD HH:MM:SS.mmm" (UTC) and a NUL into buf, which must hold
 * TIDE_TS_FORMAT_MAX bytes.  Returns the length without the NUL (23 for
 * years 0000-9999).  Any int64 is accepted, TIDE_TS_MIN/MAX included. */
size_t tide_ts_format(int64_t ms, char *buf);

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1-12,
 * d 1-31; not validated).  Valid for |y| up to ~2^40. */
int64_t tide_ts_days_from_civil(int64_t y, unsigned m, unsigned d);
/* The inverse: the date of day `days` since 1970-01-01. */
void tide_ts_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
/* 28..31 */
unsigned tide_ts_days_in_month(int64_t y, unsigned m);

/* Units of FLOOR(ts TO unit).  WEEK starts on Monday (ISO 8601). */
#define TIDE_TS_UNIT_MAP(X) \
    X(MILLISECOND, "MILLISECOND") \
    X(SECOND, "SECOND")     \
    X(MINUTE, "MINUTE")     \
    X(HOUR, "HOUR")         \
    X(DAY, "DAY")           \
    X(WEEK, "WEEK")         \
    X(MONTH, "MONTH")       \
    X(QUARTER, "QUARTER")   \
    X(YEAR, "YEAR")

typedef enum tide_ts_unit {
#define TIDE__TS_UNIT_ENUM(name, str) TIDE_TS_UNIT_##name,
    TIDE_TS_UNIT_MAP(TIDE__TS_UNIT_ENUM)
#undef TIDE__TS_UNIT_ENUM
    TIDE_TS_UNIT_COUNT
} tide_ts_unit;

/* "DAY", ...; "?" for an unknown value. */
const char *tide_ts_unit_name(tide_ts_unit u);
/* Case-insensitive lookup of a unit name ("day", "Hour").  Returns 0, or
 * TIDE_ENOENT for an unknown name. */
int tide_ts_unit_parse(const char *s, size_t len, tide_ts_unit *out);

/* The greatest instant <= ms that starts a `unit` (UTC calendar).  The
 * sentinels TIDE_TS_MIN and TIDE_TS_MAX are returned unchanged; a result
 * that would fall below INT64_MIN saturates to TIDE_TS_MIN. */
int64_t tide_ts_floor(int64_t ms, tide_ts_unit unit);

/* A duration, as WITH options and command-line flags take it: digits,
 * optional blanks, an optional unit (ms, s, sec, second(s), min, minute(s),
 * h, hour(s), d, day(s); a bare number is milliseconds), e.g. "500 ms",
 * "10s".  0 and *out in ms, or -1 when malformed or too large. */
int tide_ts_duration_parse(const char *v, int64_t *out);

#endif
