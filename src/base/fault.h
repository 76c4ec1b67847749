/*
 * fault.h - named fault points: how a test (or a person at a shell) breaks
 * one chosen step of a protocol in a real process, to see that recovery
 * copes.  Production code calls tide_fault() at each step worth breaking
 * (every step of a checkpoint and of a sink's commit); it costs one load
 * when no fault is set.
 *
 * The environment variable TIDE_FAULT lists points and actions:
 *
 *   TIDE_FAULT="ckpt.manifest:kill"           kill the process (SIGKILL) there
 *   TIDE_FAULT="ckpt.state.write:eio"         the step fails with EIO
 *   TIDE_FAULT="ckpt.state.fsync:enospc@3"    ... with ENOSPC, the 3rd time only
 *   TIDE_FAULT="a:eio,b:kill@2"               several, comma-separated
 *
 * A point's name is "<module>.<step>", as listed where the module calls it.
 * Without "@N" the action happens every time the point is reached.  A bad
 * TIDE_FAULT (unknown action, bad count) is reported once on stderr and
 * ignored: a typo must not pass for a successful fault test silently, so
 * tests check tide_fault_hits().
 *
 * Threads: any.  TIDE_FAULT is read at the first call; tide_fault_set
 * replaces it (tests; not while other threads call tide_fault).
 */
#ifndef TIDE_BASE_FAULT_H
#define TIDE_BASE_FAULT_H

#include "base/err.h"

/* At point `name`: 0, or an injected error (TIDE_EIO or TIDE_ENOSPC, "NAME:
 * injected fault (TIDE_FAULT)") in *e; a kill action does not return. */
int tide_fault(const char *name, tide_err *e);

/* Replace the fault list (NULL or "": none) and reset the counts. */
void tide_fault_set(const char *spec);
/* How many times an action was taken (errors injected) since the list was
 * set: a test knows its fault happened. */
long tide_fault_hits(void);

#endif
