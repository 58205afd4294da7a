/*
 * tools/main.c - the pcivirt command: subcommand dispatch and shared conventions.
 *
 * Each subcommand lives in tools/cmd_<name>.c and is listed in the table below.
 * Conventions (docs/pcivirt.1): --help on every subcommand, --version, errors on
 * stderr naming what and where, exit codes 0 success, 1 a check failed (an
 * invariant, a conformance check, a survey verdict), 2 usage or input error.
 */
#include <stdio.h>
#include <string.h>

#include "pcivirt/export.h"
#include "cli.h"

static const struct cli_command commands[] = {
    {"conform", "run the PF-driver conformance suite (reference driver or --driver PATH.so)", cmd_conform},
    {"contract", "print the pcivirt.h contract identifiers, codes and layouts", cmd_contract},
    {"lspci", "show a modelled SR-IOV device (PF and VFs) the way lspci does", cmd_lspci},
    {"run", "run a scenario (default: the embedded one) and check the invariants", cmd_run},
    {"survey", "judge whether this host's PCI devices could be assigned to a VM", cmd_survey},
};

static void
usage(FILE *out)
{
    fprintf(out, "usage: pcivirt [--version] [--help] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(out, "\n'pcivirt COMMAND --help' describes each command.\n");
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("pcivirt %s\n", PCIVIRT_VERSION_STRING);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "pcivirt: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
