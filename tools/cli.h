/*
 * tools/cli.h - what the pcivirt subcommands share: exit codes, the command
 * table's shape, the colour rule.  Each subcommand prints its own errors as
 * "pcivirt NAME: what: why" on stderr and answers --help / -h on stdout with
 * its exit codes (tests/cli/test_conventions.c holds them to it).
 */
#ifndef PCIVIRT_TOOLS_CLI_H
#define PCIVIRT_TOOLS_CLI_H

#include <stdbool.h>
#include <stdio.h>

enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILED = 1, /* a check failed: invariant, conformance, survey verdict */
    CLI_EXIT_USAGE = 2,  /* bad command line or unreadable input */
};

struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

/*
 * cli_use_color() - true when colour may be used on @f: @f is a terminal and
 * NO_COLOR is unset or empty (tools/cli.c).
 */
bool cli_use_color(FILE *f);

int cmd_contract(int argc, char **argv);
int cmd_survey(int argc, char **argv);
int cmd_lspci(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_conform(int argc, char **argv);

#endif /* PCIVIRT_TOOLS_CLI_H */
