/*
 * http.h - the HTTP/1.1 of the tide server: a request parser, a listener
 * with a small thread pool, the token check, and a one-request client.
 *
 * Scope: what the tide CLI, a browser showing the dashboard and a
 * Prometheus scraper need, nothing more.  One request per connection: every
 * response carries "Connection: close" (a keep-alive connection would hold
 * one of the few workers).  Request bodies come with Content-Length only
 * (Transfer-Encoding gets 501).  Limits: request line and headers 16 KiB
 * (431), 100 header lines (431), body 8 MiB (413), 10 s to send a whole
 * request (408).  Malformed input gets 400 with {"error": "..."} naming what
 * was wrong; the parser is fuzzed (fuzz/fuzz_http.c).
 *
 * Authentication: with a token, every request must carry
 * "Authorization: Bearer TOKEN" (or the query parameter token=TOKEN, so a
 * browser can open the dashboard from a link; the page passes it on), else
 * 401.  A listener on a non-loopback address must have a token.
 */
#ifndef TIDE_SERVER_HTTP_H
#define TIDE_SERVER_HTTP_H

#include "base/buf.h"
#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>

#define TIDE_HTTP_HEAD_MAX (16 * 1024)      /* request line + headers */
#define TIDE_HTTP_HEADERS_MAX 100           /* header lines */
#define TIDE_HTTP_BODY_MAX (8 * 1024 * 1024) /* Content-Length */

typedef struct tide_http_req {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* decoded path without the query, e.g. "/jobs/dau/results" */
    const char *query;  /* raw query string after '?', "" when none */
    const char *body;   /* request body (Content-Length), NUL-terminated, may be "" */
    size_t body_len;
} tide_http_req;

typedef struct tide_http_resp {
    int status;               /* 200 by default */
    const char *content_type; /* "application/json" by default; must outlive the call (a literal) */
    tide_buf body;            /* base/buf.h */
} tide_http_resp;

/* Returns 0 (the response is sent) or an error that is turned into a 500
 * with its message as JSON.  Called on a worker thread, several at once. */
typedef int (*tide_http_handler)(void *ctx, const tide_http_req *req, tide_http_resp *resp, tide_err *e);

typedef struct tide_http_server tide_http_server;

/* Listens on addr ("127.0.0.1:7600", "[::1]:7600", "0.0.0.0:7600"; port 0
 * picks a free one), serves each connection on a small thread pool, checks
 * "Authorization: Bearer TOKEN" when token != NULL (401 otherwise; a
 * non-loopback addr without a token is refused here with TIDE_EINVAL and a
 * message), answers malformed requests with 400 + {"error": "..."}, never
 * crashes on input (fuzzed).  `token` is copied. */
int tide_http_serve(tide_http_server **out, const char *addr, const char *token, tide_http_handler h, void *ctx,
                    tide_err *e);
const char *tide_http_addr(const tide_http_server *s); /* the bound "host:port" */
void tide_http_stop(tide_http_server *s);              /* stops, joins, frees; NULL is a no-op */

/* The client, for the CLI: one request, the response status and body
 * (appended to *out).  addr is "host:port"; token NULL sends none.  Errors:
 * TIDE_EIO when the server cannot be reached or the connection breaks
 * (message names the address), TIDE_EPARSE for a response that is not HTTP. */
int tide_http_call(const char *addr, const char *token, const char *method, const char *path, const char *body,
                   size_t body_len, int *status, tide_buf *out, tide_err *e);

/* ---- helpers for handlers and clients ---- */

/* Set resp to `status` with body {"error": "<message>"} (JSON-escaped). */
int tide_http_error(tide_http_resp *resp, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The value of query parameter `name` in a raw query string ("a=1&b=x%20y"),
 * percent- and '+'-decoded into out[cap] (NUL-terminated).  Returns 0,
 * TIDE_ENOENT when absent, TIDE_EPARSE for a bad %-escape or a decoded NUL,
 * TIDE_ERANGE when it does not fit.  "a" alone (no '=') has the value "". */
int tide_http_query_get(const char *query, const char *name, char *out, size_t cap);

/* Append s percent-encoded (everything except A-Z a-z 0-9 - . _ ~), for a
 * path segment or a query value. */
int tide_http_append_escaped(tide_buf *b, const char *s);

/* The reason phrase of a status code ("Not Found"); "Unknown" when unknown. */
const char *tide_http_reason(int status);

/* ---- the parser (exposed for the fuzzer and the tests) ---- */

typedef struct tide_http_parsed {
    tide_http_req req;     /* on success: strings in `store` */
    const char *auth;      /* the Authorization header, "" when absent */
    bool keep_alive;       /* what the client asked for (the server closes anyway) */
    size_t consumed;       /* bytes of input the request took */
    int status;            /* on TIDE_EPARSE: the status to answer (400, 408, 413, 414, 431, 501, 505) */
    tide_buf store;
} tide_http_parsed;

/* Parse one request from data[len].  Returns 0 (a whole request: p->req
 * set), TIDE_EAGAIN (a valid prefix: read more), TIDE_EPARSE (malformed or
 * over a limit: p->status and a message in *e naming what), TIDE_ENOMEM.
 * Call again with the longer input after TIDE_EAGAIN (it restarts).
 * Free p with tide_http_parsed_free (zero-initialise it first). */
int tide_http_parse(tide_http_parsed *p, const char *data, size_t len, tide_err *e);
void tide_http_parsed_free(tide_http_parsed *p);

#endif
