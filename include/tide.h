/*
 * tide.h - the public embedding API of tide, a stream processing engine.
 *
 * This header is the manual for embedders.  Everything public is prefixed
 * `tide_`; module-internal names use `tide_<module>_` and live in src/.
 *
 * Errors are values: every action returns an int, 0 on success or a negative
 * TIDE_E* code from the list below.  Objects that fail keep their first error
 * (with a message naming the file/topic/partition/offset involved) and later
 * calls on them return the same code.
 */
#ifndef TIDE_H
#define TIDE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TIDE_VERSION_MAJOR 0
#define TIDE_VERSION_MINOR 1
#define TIDE_VERSION_PATCH 0
#define TIDE_VERSION_STRING "0.1.0"

/* The error codes, one X-macro list: name, value, message. */
#define TIDE_ERRNO_MAP(X)                                                     \
    X(OK, 0, "success")                                                       \
    X(EINVAL, -1, "invalid argument")                                         \
    X(ENOMEM, -2, "out of memory")                                            \
    X(EIO, -3, "input/output error")                                          \
    X(ENOSPC, -4, "no space left on device")                                  \
    X(ENOENT, -5, "not found")                                                \
    X(EEXIST, -6, "already exists")                                           \
    X(ECORRUPT, -7, "corrupt data")                                           \
    X(ELOCKED, -8, "locked by another writer")                                \
    X(ERANGE, -9, "out of range")                                             \
    X(EFAILED, -10, "object is in a failed state")                            \
    X(EPARSE, -11, "parse error")                                             \
    X(EUNSUPPORTED, -12, "unsupported")                                       \
    X(EAGAIN, -13, "not yet available")                                       \
    X(ECRASH, -14, "simulated crash")

enum tide_errno {
#define TIDE__ERR_ENUM(name, val, msg) TIDE_##name = (val),
    TIDE_ERRNO_MAP(TIDE__ERR_ENUM)
#undef TIDE__ERR_ENUM
};

/* The symbolic name ("TIDE_EIO") and the message of an error code; never NULL. */
const char *tide_err_name(int code);
const char *tide_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif /* TIDE_H */
