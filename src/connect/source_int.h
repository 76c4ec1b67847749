/*
 * source_int.h - what the source kinds share (private to src/connect/).
 *
 * source.c owns the handle, the sticky error and the statistics; each kind
 * (src_file.c, src_topic.c, src_gen.c) fills in `ops` and `impl` from its
 * open function and implements the calls below.  tide_src_next resets the
 * batch and checks the sticky error before it calls ops->next (and
 * tide_src_next_lend before ops->lend).
 */
#ifndef TIDE_CONNECT_SOURCE_INT_H
#define TIDE_CONNECT_SOURCE_INT_H

#include "connect/source.h"

typedef struct tide_src_ops {
    int (*next)(tide_src *s, tide_cbatch *b, tide_src_batch *info, tide_err *e);
    bool (*idle)(const tide_src *s, uint32_t partition);
    bool (*ended)(const tide_src *s, uint32_t partition);
    void (*position)(const tide_src *s, uint32_t partition, tide_src_pos *pos);
    /* tide_src_seek, on a source that has not returned anything yet (the
     * partition is checked); NULL: TIDE_EUNSUPPORTED */
    int (*seek)(tide_src *s, uint32_t partition, const tide_src_pos *pos, tide_err *e);
    void (*free)(tide_src *s); /* frees impl (and whatever the kind made); may see a half-built impl */
    /* May be NULL: tide_src_next_lend then fills the caller's batch with
     * next.  Else next's rows in a batch of the kind's own (*b), lent until
     * the next call on the source (tide_src_next_lend's contract); `own` is
     * the caller's batch (empty), for its capacity. */
    int (*lend)(tide_src *s, const tide_cbatch *own, tide_cbatch **b, tide_src_batch *info, tide_err *e);
} tide_src_ops;

struct tide_src {
    const tide_src_ops *ops;
    tide_src_config cfg;
    const tide_schema *schema; /* cfg.schema, or one the kind owns */
    uint32_t partitions;
    bool bounded;
    tide_err err;              /* the first error; sticky */
    bool started;              /* tide_src_next was called (no seek any more) */
    tide_src_stats st;
    void *impl;
};

int tide_src__file_open(tide_src *s, tide_err *e);  /* FILE and STDIN */
int tide_src__file_par_open(tide_src *s, tide_err *e); /* FILE, cfg.parse_threads > 1 */
int tide_src__topic_open(tide_src *s, tide_err *e);
int tide_src__gen_open(tide_src *s, tide_err *e);

/* Hand a bad record to cfg.on_dead and count it. */
void tide_src__dead(tide_src *s, uint32_t partition, const char *position, const char *reason,
                    const char *raw, size_t raw_len);

/* The reason text of a decoder dead letter without its "SOURCE:LINE[:COL]: "
 * prefix (the decoder's position), so a kind can put its own position first. */
const char *tide_src__strip_prefix(const tide_dead_letter *dl);

#endif
