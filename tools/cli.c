/*
 * tools/cli.c - conventions every pcivirt subcommand shares.
 *
 * Kept apart from main.c so that tests, which link the tools library but not
 * main.c, can check the conventions directly.
 */
#include "cli.h"

#include <stdlib.h>
#include <unistd.h>

bool
cli_use_color(FILE *f)
{
    const char *nc = getenv("NO_COLOR");

    /* https://no-color.org: any non-empty value disables colour. */
    return isatty(fileno(f)) && (nc == NULL || nc[0] == '\0');
}
