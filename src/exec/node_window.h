/*
 * node_window.h - the window table function as a flow node (exec/node.h):
 * `TABLE(TUMBLE | HOP | CUMULATE(TABLE t, DESCRIPTOR(ts), ...))` selected
 * or filtered as rows, without an aggregation.
 *
 * Each input row is emitted once per window it belongs to (time/window.h's
 * assigners, aligned to the epoch), with three columns appended:
 *
 *   window_start  TIMESTAMP NOT NULL   the window's start
 *   window_end    TIMESTAMP NOT NULL   its end (exclusive)
 *   window_time   TIMESTAMP NOT NULL   window_end - 1 ms, the window's
 *                                      rowtime (Flink's window_time)
 *
 * in the order the rows come, a row's windows in ascending (start, end)
 * order.  Stateless, as Flink's window TVF: nothing is buffered, no row is
 * late here (a downstream window join or aggregate decides that), the
 * watermark passes unchanged (every output row's window_time >= its event
 * time, so nothing is older than the input's watermark).  A row whose time
 * column is NULL belongs to no window and is dropped.  Each row's changelog
 * op is kept (rows of a changelog stay changes; Flink refuses a TVF over a
 * changelog, the planner may too).
 *
 * What the planner gives it: the input's row type, the event-time column
 * (the TVF's DESCRIPTOR), the window (TUMBLE(size), HOP(slide, size),
 * CUMULATE(step, max); not SESSION or GLOBAL, whose windows depend on other
 * rows).  Any parallelism and any edge in (FORWARD from the scan is the
 * natural one: the node is then chained into the scan's task).  Output
 * port 0's schema is tide_node_window_schema (the input's columns, then the
 * three above; its time column is window_time: the original time column is
 * a plain TIMESTAMP after the TVF, as in Flink).  Ops travel when the
 * port's flags keep them (TIDE_CBATCH_OPS).
 *
 * No snapshot: there is no state (snapshot and restore are NULL).
 */
#ifndef TIDE_EXEC_NODE_WINDOW_H
#define TIDE_EXEC_NODE_WINDOW_H

#include "base/err.h"
#include "data/schema.h"
#include "exec/node.h"
#include "time/window.h"

#include <stdint.h>

typedef struct tide_node_window_cfg {
    const tide_schema *in; /* the input's row type (borrowed) */
    uint32_t time_col;     /* TIMESTAMP column the rows are windowed by */
    tide_win_spec window;  /* TUMBLE, HOP or CUMULATE */
    unsigned in_flags;     /* TIDE_CBATCH_OPS when the input is a changelog (its ops go on) */
} tide_node_window_cfg;

extern const tide_node_vt tide_node_window_vt;

/* The flow's make function (cfg: a tide_node_window_cfg, borrowed: it must
 * outlive the flow).  TIDE_EINVAL naming the bad field, TIDE_ENOMEM. */
int tide_node_window_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self,
                          tide_err *e);

/* The schema of output `port` (0 only) into *out (the caller frees it).
 * TIDE_EINVAL (a bad config or port), TIDE_EEXIST (an input column is
 * already named window_start, window_end or window_time), TIDE_ENOMEM. */
int tide_node_window_schema(const tide_node_window_cfg *c, uint32_t port, tide_schema **out,
                            tide_err *e);

#endif
