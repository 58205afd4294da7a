/*
 * tools/cli.h - what the pcivirt subcommands share.
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

/* True when colour may be used on @f: a terminal and NO_COLOR unset or empty. */
bool cli_use_color(FILE *f);

int cmd_contract(int argc, char **argv);
int cmd_survey(int argc, char **argv);
int cmd_lspci(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_conform(int argc, char **argv);

#endif /* PCIVIRT_TOOLS_CLI_H */
