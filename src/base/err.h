/*
 * err.h - error values with context.
 *
 * A `tide_err` carries a code (TIDE_E*, see include/tide.h) and a message that
 * names what and where ("topic logins partition 2 offset 1041: bad CRC").
 * The first error sticks: tide_err_set on an error that already holds one
 * keeps the old one, so an object that failed reports the root cause.
 */
#ifndef TIDE_BASE_ERR_H
#define TIDE_BASE_ERR_H

#include "tide.h"

#include <stdbool.h>

#define TIDE_ERR_MSG_MAX 512

typedef struct tide_err {
    int code;                    /* 0 when no error */
    char msg[TIDE_ERR_MSG_MAX];  /* "" when no error */
} tide_err;

/* Record an error unless one is already recorded.  Returns `code` (or the
 * code already held), so callers can write `return tide_err_set(...)`.
 * `e` may be NULL (then only the code is returned). */
int tide_err_set(tide_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Map an errno value (EIO, ENOSPC, ENOENT, ...) to a TIDE_E* code. */
int tide_err_from_errno(int errnum);

/* Record a failed system call (errno `errnum`; 0 counts as TIDE_EIO, never
 * success): message "<what>: <strerror>". */
int tide_err_sys(tide_err *e, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void tide_err_clear(tide_err *e);
static inline bool tide_err_failed(const tide_err *e) { return e->code != 0; }

#endif
