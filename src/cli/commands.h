/*
 * commands.h - the commands of the tide command line.  Each takes the
 * arguments after its own name (argv[0] is the first of them), the data
 * directory (already resolved: --data, $TIDE_DATA or ./tide-data), and
 * returns the process exit status (see cli/args.h).
 */
#ifndef TIDE_CLI_COMMANDS_H
#define TIDE_CLI_COMMANDS_H

/* tide topic create|list|describe|delete ... (cli/topic_cmd.c) */
int tide_cli_topic(int argc, char **argv, const char *datadir);
/* tide produce TOPIC ... (cli/produce.c) */
int tide_cli_produce(int argc, char **argv, const char *datadir);
/* tide consume TOPIC ... (cli/consume.c) */
int tide_cli_consume(int argc, char **argv, const char *datadir);
/* tide demo ... (cli/demo.c) */
int tide_cli_demo(int argc, char **argv, const char *datadir);

/* tide run FILE.sql ... and tide explain FILE.sql (cli/run_cmd.c) */
int tide_cli_run(int argc, char **argv, const char *datadir);
int tide_cli_explain(int argc, char **argv, const char *datadir);

/* tide job list|status|reset ... (cli/job_cmd.c) */
int tide_cli_job(int argc, char **argv, const char *datadir);

/* tide server, deploy, promote, query, verify (cli/server_cmd.c) */
int tide_cli_server(int argc, char **argv, const char *datadir);
int tide_cli_deploy(int argc, char **argv, const char *datadir);
int tide_cli_promote(int argc, char **argv, const char *datadir);
int tide_cli_query(int argc, char **argv, const char *datadir);
int tide_cli_verify(int argc, char **argv, const char *datadir);
/* tide job stop NAME[@vN] [--server A] [--token T] (argv: the options) and
 * tide job status of a deployed job: through the server */
int tide_cli_job_stop(const char *datadir, const char *target, int argc, char **argv);
int tide_cli_job_versions(const char *datadir, const char *name);

/* tide chart [FILE] ... (cli/chart.c) */
int tide_cli_chart(int argc, char **argv, const char *datadir);

/* tide debug powerloss JOURNAL ... (cli/debug_cmd.c): tools for tests */
int tide_cli_debug(int argc, char **argv, const char *datadir);

#endif
