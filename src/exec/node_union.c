/*
 * node_union.c - UNION ALL (see node_union.h).
 */
#include "exec/node_union.h"

#include "tide.h"

#include <stdlib.h>

typedef struct unode {
    const tide_node_union_cfg *cfg;
} unode;

int tide_node_union_schema(const tide_node_union_cfg *c, uint32_t port, tide_schema **out,
                           tide_err *e)
{
    *out = NULL;
    if (!c || !c->schema)
        return tide_err_set(e, TIDE_EINVAL, "union node: no schema");
    if (port != 0)
        return tide_err_set(e, TIDE_EINVAL, "union node: no output port %u", port);
    return tide_schema_clone(c->schema, out, e);
}

int tide_node_union_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self,
                         tide_err *e)
{
    (void)instance;
    (void)parallelism;
    const tide_node_union_cfg *c = cfg;
    *self = NULL;
    if (!c || !c->schema)
        return tide_err_set(e, TIDE_EINVAL, "union node: no schema");
    unode *u = calloc(1, sizeof *u);
    if (!u)
        return tide_err_set(e, TIDE_ENOMEM, "union node: out of memory");
    u->cfg = c;
    *self = u;
    return 0;
}

static int unode_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel,
                       uint32_t n, tide_node_ctx *cx, tide_err *e)
{
    const unode *u = self;
    const tide_schema *s = u->cfg->schema;
    uint32_t nc = tide_cbatch_ncols(b);
    if (nc != tide_schema_ncols(s))
        return tide_err_set(e, TIDE_EINVAL, "union node: input %u has %u columns, not %zu", in, nc,
                            tide_schema_ncols(s));
    for (uint32_t c = 0; c < nc; c++) {
        tide_type t = tide_cbatch_type(b, c), want = tide_schema_col(s, c)->type;
        if (t != want) /* channels copy by type: BIGINT is not TIMESTAMP there */
            return tide_err_set(e, TIDE_EINVAL, "union node: input %u column %u is %s, not %s", in,
                                c, tide_type_name(t), tide_type_name(want));
    }
    return tide_node_emit(cx, 0, b, sel, n, e);
}

static void unode_free(void *self) { free(self); }

const tide_node_vt tide_node_union_vt = {
    .kind = "union",
    .batch = unode_batch,
    .free = unode_free,
};
