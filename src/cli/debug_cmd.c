/*
 * debug_cmd.c - tide debug: tools for tests.
 *
 *   tide debug powerloss JOURNAL [--seed N]
 *
 * After processes that ran with $TIDE_IO_JOURNAL=JOURNAL were killed, cut
 * every file they wrote back to what an fsync made durable, as a power
 * failure would (base/io.h, tide_io_journal_rewind); with --seed a
 * seed-chosen prefix of each file's unsynced bytes stays.
 */
#include "base/io.h"
#include "cli/args.h"
#include "cli/commands.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char debug_usage[] =
    "Usage: tide debug powerloss JOURNAL [--seed N]\n"
    "\n"
    "A tool for crash tests.  Processes run with TIDE_IO_JOURNAL=JOURNAL record in it\n"
    "what each fsync made durable; after they are killed, 'tide debug powerloss'\n"
    "cuts every file they wrote back to its durable size, as a power failure would\n"
    "(--seed N: a seed-chosen part of the unsynced bytes stays), and empties the\n"
    "journal.  It prints the files seen, cut and the bytes dropped.\n";

int tide_cli_debug(int argc, char **argv, const char *datadir)
{
    (void)datadir;
    const char *seed_s = NULL;
    const tide_cli_opt opts[] = {{"--seed", &seed_s, NULL}};
    const char *pos[2];
    int npos;
    bool help;
    int rc = tide_cli_parse("debug", argc, argv, opts, 1, pos, 2, &npos, &help);
    if (rc != 0)
        return rc;
    if (help)
        return tide_cli_help(debug_usage);
    if (npos != 2 || strcmp(pos[0], "powerloss") != 0)
        return tide_cli_usage_error("debug", "expected: powerloss JOURNAL");
    uint64_t seed = 0;
    if (seed_s && !tide_cli_parse_u64(seed_s, &seed))
        return tide_cli_usage_error("debug", "--seed: '%s' is not a number", seed_s);
    tide_err e = {0};
    tide_io_rewind_stats st;
    if (tide_io_journal_rewind(pos[1], seed, &st, &e) != 0) {
        tide_cli_error("%s", e.msg);
        return TIDE_CLI_RUNTIME;
    }
    printf("power loss: %" PRIu64 " files written, %" PRIu64 " cut, %" PRIu64 " unsynced bytes dropped\n", st.files,
           st.cut, st.dropped);
    return TIDE_CLI_OK;
}
