/* libFuzzer target for server/http: parse the input as an HTTP request.
 * Whatever the bytes: a verdict (0, TIDE_EAGAIN or TIDE_EPARSE with a 4xx/5xx
 * status and a message), never a crash.  On success the request's strings
 * are NUL-terminated, the body has its length, the request took at most the
 * input, the same request parses from exactly its own bytes, and one byte
 * less of it is a valid prefix (read more).  The query helper runs over the
 * query it found. */
#include "server/http.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    tide_http_parsed p = {0}, q = {0};
    tide_err e = {0};
    int rc = tide_http_parse(&p, s, size, &e);
    if (rc == TIDE_EPARSE) {
        if (p.status < 400 || p.status > 505 || !e.msg[0])
            abort();
    } else if (rc == 0) {
        if (p.consumed > size || p.consumed == 0 || strlen(p.req.body) > p.req.body_len ||
            p.req.body[p.req.body_len] != 0 || p.req.path[0] != '/' || !p.req.method[0])
            abort();
        tide_err e2 = {0};
        if (tide_http_parse(&q, s, p.consumed, &e2) != 0 || strcmp(q.req.path, p.req.path) != 0 ||
            strcmp(q.req.query, p.req.query) != 0 || q.req.body_len != p.req.body_len ||
            memcmp(q.req.body, p.req.body, p.req.body_len) != 0)
            abort();
        tide_err_clear(&e2);
        if (tide_http_parse(&q, s, p.consumed - 1, &e2) != TIDE_EAGAIN)
            abort();
        char v[64];
        static const char *names[] = {"token", "where", "version", ""};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            int r = tide_http_query_get(p.req.query, names[i], v, sizeof v);
            if (r != 0 && r != TIDE_ENOENT && r != TIDE_EPARSE && r != TIDE_ERANGE)
                abort();
            if (r == 0 && strlen(v) >= sizeof v)
                abort();
        }
    } else if (rc != TIDE_EAGAIN) {
        abort();
    }
    tide_http_parsed_free(&p);
    tide_http_parsed_free(&q);
    return 0;
}
