/*
 * node_write.c - the sink node (see node_write.h).
 */
#include "exec/node_write.h"

#include <stdlib.h>

typedef struct writer {
    const tide_node_write_cfg *cfg;
} writer;

static int write_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                       tide_node_ctx *cx, tide_err *e)
{
    (void)in;
    writer *w = self;
    if (n == 0)
        return 0;
    int rc = tide_sink_write_sel(w->cfg->sink, b, sel, n, e);
    if (rc == 0)
        tide_node_count(cx, TIDE_NODE_OUT, n);
    return rc;
}

static int write_watermark(void *self, int64_t wm, tide_node_ctx *cx, tide_err *e)
{
    (void)wm;
    (void)cx;
    writer *w = self;
    return tide_sink_flush(w->cfg->sink, e);
}

static void write_free(void *self) { free(self); }

const tide_node_vt tide_node_write_vt = {
    .kind = "write",
    .batch = write_batch,
    .watermark = write_watermark,
    .free = write_free,
};

int tide_node_write_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self, tide_err *e)
{
    (void)instance;
    const tide_node_write_cfg *c = cfg;
    *self = NULL;
    if (parallelism != 1)
        return tide_err_set(e, TIDE_EINVAL, "write node: parallelism %u (one writer per sink: 1)", parallelism);
    if (!c || !c->sink)
        return tide_err_set(e, TIDE_EINVAL, "write node: no sink");
    writer *w = calloc(1, sizeof *w);
    if (!w)
        return tide_err_set(e, TIDE_ENOMEM, "write node: out of memory");
    w->cfg = c;
    *self = w;
    return 0;
}
