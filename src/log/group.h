/*
 * group.h - consumer groups: committed offsets per group, topic, partition.
 *
 * Kept in DIR/groups/<group>/<topic>.offsets, a small text file with a
 * version line and a CRC, rewritten atomically (write a temporary file,
 * fsync, rename, fsync the directory).  Group names follow topic names' rules.
 * A committed offset is the next offset the group will read.
 */
#ifndef TIDE_LOG_GROUP_H
#define TIDE_LOG_GROUP_H

#include "base/err.h"

#include <stdint.h>

#define TIDE_GROUP_NONE UINT64_MAX /* no committed offset for a partition */

/* Fill offsets[0..n) with the committed offsets (TIDE_GROUP_NONE where none).
 * A group that never committed gives all TIDE_GROUP_NONE and returns 0. */
int tide_group_fetch(const char *datadir, const char *group, const char *topic,
                     uint64_t *offsets, uint32_t n, tide_err *e);
/* Commit offsets[0..n) (TIDE_GROUP_NONE entries keep no offset). */
int tide_group_commit(const char *datadir, const char *group, const char *topic,
                      const uint64_t *offsets, uint32_t n, tide_err *e);

#endif
