/* Unit tests of server/dashboard: every file of src/server/www/ is
 * embedded byte for byte (compared with the file read from the source
 * tree), served at its path with its content type; a path that names no
 * file gets 404 with a JSON message; every script and style sheet the page
 * refers to is embedded. */
#include "server/dashboard.h"
#include "tt.h"

static int read_file(const char *path, tide_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        tide_buf_append(out, chunk, n);
    fclose(f);
    return 0;
}

static void test_every_file_embedded(void)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/src/server/www", TIDE_SOURCE_DIR);
    DIR *d = opendir(dir);
    TT_ASSERT(d);
    int files = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        tide_buf want = {0};
        TT_ASSERT(read_file(path, &want) == 0);
        const tide_srv_asset *a = tide_srv_asset_find(de->d_name);
        TT_ASSERT_MSG(a != NULL, "%s is not embedded", de->d_name);
        TT_ASSERT_MSG(a->len == want.len && memcmp(a->data, want.data, want.len) == 0 && a->data[a->len] == 0,
                      "%s: the embedded copy differs (%zu bytes, file %zu)", de->d_name, a->len, want.len);
        tide_buf_free(&want);
        files++;
    }
    closedir(d);
    TT_ASSERT(files >= 3);
    TT_ASSERT(tide_srv_asset_find("nope.js") == NULL);
}

static void test_serve(void)
{
    static const struct {
        const char *path;
        int status;
        const char *type; /* prefix */
        const char *asset;
    } cases[] = {
        {"/", 200, "text/html", "index.html"},
        {"/index.html", 200, "text/html", "index.html"},
        {"/ui/dashboard.js", 200, "text/javascript", "dashboard.js"},
        {"/ui/dashboard.css", 200, "text/css", "dashboard.css"},
        {"/ui/index.html", 200, "text/html", "index.html"},
        {"/ui/nope.js", 404, "application/json", NULL},
        {"/ui/../index.html", 404, "application/json", NULL},
        {"/ui/", 404, "application/json", NULL},
    };
    tide_err e = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TT_ASSERT(tide_srv_dashboard_path(cases[i].path));
        tide_http_resp r = {.status = 200, .content_type = "application/json"};
        TT_OK(tide_srv_dashboard(cases[i].path, &r, &e));
        TT_ASSERT_MSG(r.status == cases[i].status, "%s: %d", cases[i].path, r.status);
        TT_ASSERT_MSG(strncmp(r.content_type, cases[i].type, strlen(cases[i].type)) == 0, "%s: %s",
                      cases[i].path, r.content_type);
        if (cases[i].asset) {
            const tide_srv_asset *a = tide_srv_asset_find(cases[i].asset);
            TT_ASSERT(a && r.body.len == a->len && memcmp(r.body.data, a->data, a->len) == 0);
        } else {
            TT_ASSERT(r.body.len > 10 && memmem(r.body.data, r.body.len, "\"error\"", 7));
        }
        tide_buf_free(&r.body);
    }
    TT_ASSERT(!tide_srv_dashboard_path("/jobs"));
    TT_ASSERT(!tide_srv_dashboard_path("/metrics"));
    TT_ASSERT(!tide_srv_dashboard_path("/uix"));
}

/* Every src="..." and href="..." of the page that is not a data: URL
 * names an embedded file under /ui/. */
static void test_page_refs(void)
{
    const tide_srv_asset *a = tide_srv_asset_find("index.html");
    TT_ASSERT(a);
    const char *s = (const char *)a->data;
    int refs = 0;
    for (const char *p = s; (p = strstr(p, "=\"")) != NULL; p += 2) {
        bool is_ref = (p - s >= 3 && strncmp(p - 3, "src", 3) == 0) || (p - s >= 4 && strncmp(p - 4, "href", 4) == 0);
        if (!is_ref || strncmp(p + 2, "data:", 5) == 0)
            continue;
        const char *end = strchr(p + 2, '"');
        TT_ASSERT(end);
        char ref[256];
        snprintf(ref, sizeof ref, "%.*s", (int)(end - p - 2), p + 2);
        TT_ASSERT_MSG(strncmp(ref, "/ui/", 4) == 0 && tide_srv_asset_find(ref + 4), "the page refers to %s", ref);
        refs++;
    }
    TT_ASSERT(refs >= 2);
}

int main(void)
{
    TT_RUN(test_every_file_embedded);
    TT_RUN(test_serve);
    TT_RUN(test_page_refs);
    TT_DONE();
}
