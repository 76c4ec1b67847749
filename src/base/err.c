#include "base/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *tide_err_name(int code)
{
    switch (code) {
#define TIDE__ERR_NAME(name, val, msg) case (val): return "TIDE_" #name;
        TIDE_ERRNO_MAP(TIDE__ERR_NAME)
#undef TIDE__ERR_NAME
    }
    return "TIDE_E?";
}

const char *tide_strerror(int code)
{
    switch (code) {
#define TIDE__ERR_MSG(name, val, msg) case (val): return msg;
        TIDE_ERRNO_MAP(TIDE__ERR_MSG)
#undef TIDE__ERR_MSG
    }
    return "unknown error";
}

static void err_vset(tide_err *e, int code, const char *suffix, const char *fmt, va_list ap)
{
    int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    if (suffix && n >= 0 && (size_t)n < sizeof e->msg)
        snprintf(e->msg + n, sizeof e->msg - (size_t)n, ": %s", suffix);
    e->code = code;
}

int tide_err_set(tide_err *e, int code, const char *fmt, ...)
{
    if (!e)
        return code;
    if (e->code)
        return e->code;
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, code, NULL, fmt, ap);
    va_end(ap);
    return code;
}

int tide_err_from_errno(int errnum)
{
    switch (errnum) {
    case 0: return TIDE_OK;
    case ENOMEM: return TIDE_ENOMEM;
    case ENOSPC: case EDQUOT: return TIDE_ENOSPC;
    case ENOENT: return TIDE_ENOENT;
    case EEXIST: case ENOTEMPTY: return TIDE_EEXIST;
    case EINVAL: return TIDE_EINVAL;
    case EAGAIN: return TIDE_EAGAIN;
    default: return TIDE_EIO;
    }
}

int tide_err_sys(tide_err *e, int errnum, const char *fmt, ...)
{
    /* a failure is reported with errno 0 only by a library that forgot to
     * set it: still a failure, never success */
    int code = errnum ? tide_err_from_errno(errnum) : TIDE_EIO;
    if (!e)
        return code;
    if (e->code)
        return e->code;
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, code, strerror(errnum), fmt, ap);
    va_end(ap);
    return code;
}

void tide_err_clear(tide_err *e)
{
    e->code = 0;
    e->msg[0] = '\0';
}
