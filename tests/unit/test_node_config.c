/* test_node_config.c - the node makers and schema functions refuse a bad
 * configuration with TIDE_EINVAL and a message naming what is wrong, and
 * leave *self / *out NULL (the planner reports that message). */
#include "exec/node_calc.h"
#include "exec/node_groupagg.h"
#include "exec/node_scan.h"
#include "exec/node_winagg.h"
#include "tt.h"

/* rc must be TIDE_EINVAL, e's message must contain `want`, *p NULL. */
#define REFUSED(call, e, want, p)                                                            \
    do {                                                                                     \
        tide_err_clear(&(e));                                                                \
        int rc_ = (call);                                                                    \
        TT_ASSERT_MSG(rc_ == TIDE_EINVAL, "%s: rc %d (%s)", #call, rc_, (e).msg);            \
        TT_ASSERT_MSG(strstr((e).msg, want), "%s: \"%s\" lacks \"%s\"", #call, (e).msg, want); \
        TT_ASSERT((p) == NULL);                                                              \
    } while (0)

static tide_schema *sch;

static int no_rows(void *ctx, tide_cbatch *out, uint32_t *part, tide_err *e)
{
    (void)ctx, (void)part, (void)out, (void)e;
    return 0;
}

static void test_scan(void)
{
    tide_err e = {0};
    void *self = NULL;
    tide_node_scan_cfg c;
    tide_node_scan_cfg_init(&c);
    REFUSED(tide_node_scan_make(&c, 0, 2, &self, &e), e, "parallelism 2", self);
    c.wm_bound = -1;
    REFUSED(tide_node_scan_make(&c, 0, 1, &self, &e), e, "wm_bound -1", self);
    c.wm_bound = 0;
    c.batch_rows = UINT32_MAX;
    REFUSED(tide_node_scan_make(&c, 0, 1, &self, &e), e, "too large", self);
    c.batch_rows = 0;
    c.kind = TIDE_NODE_SCAN_CONNECT;
    REFUSED(tide_node_scan_make(&c, 0, 1, &self, &e), e, "without a config", self);
    c.kind = TIDE_NODE_SCAN_CALLBACK;
    REFUSED(tide_node_scan_make(&c, 0, 1, &self, &e), e, "needs next, schema and partitions", self);
    c.next = no_rows;
    c.schema = sch;
    c.partitions = 1;
    c.time_col = 1; /* "name": a STRING */
    REFUSED(tide_node_scan_make(&c, 0, 1, &self, &e), e, "time column 1", self);
    c.time_col = 7;
    REFUSED(tide_node_scan_make(&c, 0, 1, &self, &e), e, "time column 7", self);
    c.time_col = 0;
    c.kind = (tide_node_scan_kind)99;
    REFUSED(tide_node_scan_make(&c, 0, 1, &self, &e), e, "bad source kind 99", self);
    /* and the good one opens */
    c.kind = TIDE_NODE_SCAN_CALLBACK;
    TT_OK(tide_node_scan_make(&c, 0, 1, &self, &e));
    TT_ASSERT(self != NULL);
    tide_node_scan_vt.free(self);
}

static void test_calc(void)
{
    tide_err e = {0};
    void *self = NULL;
    tide_schema *out = NULL;
    tide_node_calc_cfg c = {0};
    REFUSED(tide_node_calc_make(&c, 0, 1, &self, &e), e, "no input schema", self);
    REFUSED(tide_node_calc_schema(&c, 0, &out, &e), e, "no input schema", out);
    c.in = sch;
    REFUSED(tide_node_calc_schema(&c, 1, &out, &e), e, "no output 1", out);
    c.n_exprs = 2;
    REFUSED(tide_node_calc_make(&c, 0, 1, &self, &e), e, "2 expressions for 0 output columns", self);
    c.n_exprs = 0;
    REFUSED(tide_node_calc_make(&c, 0, 2, &self, &e), e, "parallelism 2 needs a build function", self);
    c.changelog = true;
    REFUSED(tide_node_calc_make(&c, 0, 1, &self, &e), e, "changelog mode over an input without ops", self);
}

static void test_aggregates(void)
{
    tide_err e = {0};
    void *self = NULL;
    tide_schema *out = NULL;
    uint32_t keys[1] = {1}, vals[1] = {2};
    tide_winagg_call wcall = {TIDE_AGG_SUM, 1, TIDE_TYPE_NULL}; /* value 1 of 1 */
    tide_node_winagg_cfg w = {.in = sch, .key_cols = keys, .n_keys = 1, .time_col = 0, .value_cols = vals,
                              .n_values = 1, .aggs = &wcall, .n_aggs = 1, .window = tide_win_tumble(1000)};
    REFUSED(tide_node_winagg_make(&w, 0, 1, &self, &e), e, "aggregate 0 reads value 1 of 1", self);
    REFUSED(tide_node_winagg_schema(&w, 0, &out, &e), e, "aggregate 0 reads value 1 of 1", out);
    wcall.arg = 0;
    REFUSED(tide_node_winagg_schema(&w, 2, &out, &e), e, "no output 2", out);
    w.n_aggs = 0;
    REFUSED(tide_node_winagg_make(&w, 0, 1, &self, &e), e, "needs an input schema and aggregates", self);
    w.n_aggs = 1;
    TT_OK(tide_node_winagg_schema(&w, 1, &out, &e)); /* port 1: the late rows, as they came */
    TT_ASSERT_EQ_INT(tide_schema_ncols(out), tide_schema_ncols(sch));
    tide_schema_free(out);
    out = NULL;

    tide_groupagg_call gcall = {TIDE_AGG_SUM, 3, TIDE_TYPE_NULL};
    tide_node_groupagg_cfg g = {.in = sch, .key_cols = keys, .n_keys = 1, .value_cols = vals, .n_values = 1,
                                .aggs = &gcall, .n_aggs = 1};
    REFUSED(tide_node_groupagg_make(&g, 0, 1, &self, &e), e, "aggregate 0 reads value 3 of 1", self);
    gcall.arg = 0;
    REFUSED(tide_node_groupagg_schema(&g, 1, &out, &e), e, "no output 1", out);
    g.in = NULL;
    REFUSED(tide_node_groupagg_schema(&g, 0, &out, &e), e, "needs an input schema and aggregates", out);
}

int main(void)
{
    tide_err e = {0};
    if (tide_schema_create(&sch, &e) || tide_schema_add(sch, "ts", TIDE_TYPE_TIMESTAMP, false, &e) ||
        tide_schema_add(sch, "name", TIDE_TYPE_STRING, true, &e) ||
        tide_schema_add(sch, "v", TIDE_TYPE_BIGINT, true, &e))
        return 1;
    TT_RUN(test_scan);
    TT_RUN(test_calc);
    TT_RUN(test_aggregates);
    tide_schema_free(sch);
    TT_DONE();
}
