/*
 * node_write.c - the sink node (see node_write.h).
 */
#include "exec/node_write.h"

#include "state/snap.h"

#include <stdlib.h>

typedef struct writer {
    const tide_node_write_cfg *cfg;
    uint64_t rows; /* rows written by the job (restored: since its first run) */
    bool recovered;     /* txn: tide_sink_txn_recover was called */
    int64_t precommitted; /* txn: the last transaction pre-committed (0: none) */
} writer;

/* txn: before the first write of a run that was not restored, the sink
 * aborts what an earlier run left pre-committed (no checkpoint holds it). */
static int recover_fresh(writer *w, tide_err *e)
{
    if (!w->cfg->txn || w->recovered)
        return 0;
    w->recovered = true;
    return tide_sink_txn_recover(w->cfg->sink, 0, e);
}

static int write_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                       tide_node_ctx *cx, tide_err *e)
{
    (void)in;
    writer *w = self;
    if (n == 0)
        return 0;
    int rc = recover_fresh(w, e);
    if (rc == 0)
        rc = tide_sink_write_sel(w->cfg->sink, b, sel, n, e);
    if (rc == 0) {
        tide_node_count(cx, TIDE_NODE_OUT, n);
        w->rows += n;
    }
    return rc;
}

static int write_watermark(void *self, int64_t wm, tide_node_ctx *cx, tide_err *e)
{
    (void)wm;
    (void)cx;
    writer *w = self;
    int rc = recover_fresh(w, e);
    return rc ? rc : tide_sink_flush(w->cfg->sink, e);
}

/* Pre-commit: what came before the barrier is written out (see the
 * header for the rule) and, with a transactional sink, made durable as
 * transaction `id`; the snapshot is the count of rows written and the
 * transaction pre-committed. */
static int write_snapshot(void *self, int64_t id, tide_buf *out, tide_err *e)
{
    writer *w = self;
    int rc = recover_fresh(w, e);
    if (rc == 0)
        rc = w->cfg->txn ? tide_sink_txn_precommit(w->cfg->sink, id, e) : tide_sink_flush(w->cfg->sink, e);
    if (rc != 0)
        return rc;
    if (w->cfg->txn)
        w->precommitted = id;
    tide_snap_w sw;
    tide_snap_begin(&sw, out, "write", 2);
    tide_snap_put_u64(&sw, w->rows);
    tide_snap_put_i64(&sw, w->cfg->txn ? id : 0);
    return tide_snap_end(&sw, e);
}

/* The checkpoint is durable: its transaction (and any earlier one
 * pre-committed, whose checkpoint never completed) becomes visible. */
static int write_complete(void *self, int64_t id, tide_err *e)
{
    writer *w = self;
    if (!w->cfg->txn || w->precommitted == 0)
        return 0;
    return tide_sink_txn_commit(w->cfg->sink, id < w->precommitted ? id : w->precommitted, e);
}

static int write_restore(void *self, const void *buf, size_t len, tide_err *e)
{
    writer *w = self;
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, "write", 2, NULL, e);
    if (rc != 0)
        return rc;
    w->rows = tide_snap_get_u64(&r);
    int64_t pending = tide_snap_get_i64(&r);
    if ((rc = tide_snap_close(&r, e)) != 0)
        return rc;
    if (!w->cfg->txn)
        return 0;
    /* the checkpoint pre-committed `pending`: commit it (and older ones),
     * abort everything later (connect/sink.h) */
    w->recovered = true;
    w->precommitted = pending;
    return tide_sink_txn_recover(w->cfg->sink, pending, e);
}

static void write_free(void *self) { free(self); }

const tide_node_vt tide_node_write_vt = {
    .kind = "write",
    .batch = write_batch,
    .watermark = write_watermark,
    .snapshot = write_snapshot,
    .restore = write_restore,
    .complete = write_complete,
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
