/*
 * dashboard.h - the dashboard page of the tide server (GET /), its script
 * and style sheet, embedded in the binary at build time: the files of
 * src/server/www/ become byte arrays (cmake/embed.cmake writes
 * dashboard_assets.c in the build directory), so the page needs no build
 * step, no CDN and no file next to the binary.
 *
 * Paths: "/" and "/index.html" are www/index.html; "/ui/NAME" is www/NAME.
 * The page polls GET /jobs every second and GET /jobs/NAME/results every
 * two (server.h), keeps five minutes of history in the browser and draws
 * it on <canvas>.  A token in the page's address (/?token=T) is sent with
 * every request it makes.
 */
#ifndef TIDE_SERVER_DASHBOARD_H
#define TIDE_SERVER_DASHBOARD_H

#include "base/err.h"
#include "server/http.h"

#include <stdbool.h>
#include <stddef.h>

/* One embedded file (the generated table lists every file of www/). */
typedef struct tide_srv_asset {
    const char *name;          /* "index.html", "dashboard.js", ... */
    const unsigned char *data; /* static; `len` bytes (plus a NUL) */
    size_t len;
} tide_srv_asset;

/* Whether `path` is one of the dashboard's (so a router sends it here). */
bool tide_srv_dashboard_path(const char *path);

/* Answer GET `path` with the embedded file: 200 with its content type, or
 * 404 + {"error"} for a path under /ui/ that names no file.  0, or
 * TIDE_ENOMEM. */
int tide_srv_dashboard(const char *path, tide_http_resp *resp, tide_err *e);

/* The embedded file `name`, NULL when there is none. */
const tide_srv_asset *tide_srv_asset_find(const char *name);

#endif
