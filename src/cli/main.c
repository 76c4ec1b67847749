/*
 * main.c - the tide command: global options and dispatch.
 *
 * `--data DIR` (or --data=DIR) is accepted anywhere before a "--", before
 * or after the command; it is removed from argv here so the commands never
 * see it.  Everything else belongs to the command.
 */
#include "cli/args.h"
#include "cli/commands.h"
#include "log/topic.h"
#include "tide.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "Usage: tide [--data DIR] COMMAND [ARGS]\n"
    "\n"
    "tide keeps topics (partitioned, append-only logs) in a data directory.\n"
    "\n"
    "Commands:\n"
    "  topic create NAME    create a topic (--partitions, retention, fsync policy)\n"
    "  topic list           list the topics\n"
    "  topic describe NAME  partitions, offsets, sizes, timestamps and configuration\n"
    "  topic delete NAME    delete a topic and its data\n"
    "  produce NAME         append records read from stdin (CSV, JSON Lines or raw lines)\n"
    "  consume NAME         print records (JSON Lines, CSV or raw), optionally following\n"
    "  demo                 produce and consume a generated login stream\n"
    "  run FILE.sql         run a SQL script's INSERT statements and queries\n"
    "  explain FILE.sql     print the logical plan of a SQL script's statements\n"
    "  job list|status|reset|stop  the named jobs (run --job NAME, deploy): state, checkpoints\n"
    "  server               run the deployed jobs, serve the HTTP API, metrics and dashboard\n"
    "  deploy FILE.sql      start the next version of a job (tide server runs it)\n"
    "  promote NAME vN      make a caught-up version the live one, retire the older ones\n"
    "  query NAME           the live version's current results\n"
    "  verify NAME          rerun the live version bounded and compare its results\n"
    "  chart [FILE]         draw CSV columns (e.g. query results) as a terminal chart\n"
    "  debug powerloss J    crash tests: cut files back to what was fsynced (TIDE_IO_JOURNAL)\n"
    "\n"
    "Options:\n"
    "  --data DIR    the data directory (default: $TIDE_DATA, else ./tide-data)\n"
    "  --help        this help; 'tide COMMAND --help' explains a command\n"
    "  --version     print the version\n"
    "\n"
    "Exit status: 0 success, 1 usage error, 2 runtime error.\n";

int main(int argc, char **argv)
{
    const char *data_flag = NULL;
    char **args = malloc(sizeof *args * (size_t)(argc + 1));
    int nargs = 0, rc;
    if (!args) {
        tide_cli_error("out of memory");
        return TIDE_CLI_RUNTIME;
    }
    bool dashdash = false;
    for (int i = 1; i < argc; i++) {
        if (!dashdash && strcmp(argv[i], "--") == 0)
            dashdash = true;
        if (!dashdash && strcmp(argv[i], "--data") == 0) {
            if (i + 1 >= argc) {
                rc = tide_cli_usage_error(nargs ? args[0] : "", "option '--data' needs a value");
                goto done;
            }
            data_flag = argv[++i];
            continue;
        }
        if (!dashdash && strncmp(argv[i], "--data=", 7) == 0) {
            data_flag = argv[i] + 7;
            continue;
        }
        args[nargs++] = argv[i];
    }
    args[nargs] = NULL;
    if (data_flag && !*data_flag) {
        rc = tide_cli_usage_error(nargs ? args[0] : "", "option '--data' needs a non-empty value");
        goto done;
    }
    const char *datadir = tide_data_dir(data_flag);

    if (nargs == 0) {
        fputs(usage, stderr);
        rc = TIDE_CLI_USAGE;
        goto done;
    }
    const char *cmd = args[0];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        rc = tide_cli_help(usage);
    } else if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("tide %s\n", TIDE_VERSION_STRING);
        rc = TIDE_CLI_OK;
    } else if (strcmp(cmd, "topic") == 0) {
        rc = tide_cli_topic(nargs - 1, args + 1, datadir);
    } else if (strcmp(cmd, "produce") == 0) {
        rc = tide_cli_produce(nargs - 1, args + 1, datadir);
    } else if (strcmp(cmd, "consume") == 0) {
        rc = tide_cli_consume(nargs - 1, args + 1, datadir);
    } else if (strcmp(cmd, "demo") == 0) {
        rc = tide_cli_demo(nargs - 1, args + 1, datadir);
    } else if (strcmp(cmd, "run") == 0) {
        rc = tide_cli_run(nargs - 1, args + 1, datadir);
    } else if (strcmp(cmd, "explain") == 0) {
        rc = tide_cli_explain(nargs - 1, args + 1, datadir);
    } else if (strcmp(cmd, "job") == 0) {
        rc = tide_cli_job(nargs - 1, args + 1, datadir);
    } else if (strcmp(cmd, "server") == 0) {
        rc = tide_cli_server(nargs - 1, args + 1, datadir);
    } else if (strcmp(cmd, "deploy") == 0) {
        rc = tide_cli_deploy(nargs - 1, args + 1, datadir);
    } else if (strcmp(cmd, "promote") == 0) {
        rc = tide_cli_promote(nargs - 1, args + 1, datadir);
    } else if (strcmp(cmd, "query") == 0) {
        rc = tide_cli_query(nargs - 1, args + 1, datadir);
    } else if (strcmp(cmd, "verify") == 0) {
        rc = tide_cli_verify(nargs - 1, args + 1, datadir);
    } else if (strcmp(cmd, "chart") == 0) {
        rc = tide_cli_chart(nargs - 1, args + 1, datadir);
    } else if (strcmp(cmd, "debug") == 0) {
        rc = tide_cli_debug(nargs - 1, args + 1, datadir);
    } else {
        if (cmd[0] == '-')
            tide_cli_error("unknown option '%s'", cmd);
        else
            tide_cli_error("unknown command '%s'", cmd);
        fputs(usage, stderr);
        rc = TIDE_CLI_USAGE;
    }
done:
    free(args);
    if (fflush(stdout) != 0 && rc == TIDE_CLI_OK) {
        tide_cli_error("stdout: write failed");
        rc = TIDE_CLI_RUNTIME;
    }
    return rc;
}
