/*
 * tests/cli/test_manpage.c - docs/pcivirt.1 describes the command that was built.
 *
 * The man page must keep up with the command: every subcommand `pcivirt --help`
 * lists has a section, every long option `pcivirt lspci --help` offers is
 * documented, and the three exit codes are explained.  (Roff escapes dashes, so
 * "--numvfs" is spelled "\-\-numvfs" in the source.)
 */
#include "lspci_cmd.h"

static char *
manpage(void)
{
    return slurp_file(PCIVIRT_SOURCE_DIR "/docs/pcivirt.1");
}

static void
test_every_command_has_a_section(void **state)
{
    char *man = manpage(), *save = NULL, want[96];
    struct run r;
    unsigned n = 0;

    (void)state;
    run_shell(&r, PCIVIRT " --help");
    assert_int_equal(r.status, 0);
    for (char *line = strtok_r(strstr(r.out, "commands:\n"), "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char name[32];

        if (line[0] != ' ' || sscanf(line, " %31s", name) != 1) {
            continue;
        }
        snprintf(want, sizeof(want), ".SS pcivirt %s\n", name);
        if (strstr(man, want) == NULL) {
            print_error("docs/pcivirt.1 has no section for '%s'\n", name);
        }
        assert_non_null(strstr(man, want));
        n++;
    }
    assert_true(n >= 3); /* contract, lspci, survey */
    run_free(&r);
    free(man);
}

static void
test_every_lspci_option_is_documented(void **state)
{
    char *man = manpage();
    struct run r;
    unsigned n = 0;

    (void)state;
    run_lspci(&r, "--help");
    assert_int_equal(r.status, 0);
    for (const char *p = r.out; (p = strstr(p, "--")) != NULL; p += 2) {
        char opt[40], want[96], *o = opt;

        for (p += 2; (*p >= 'a' && *p <= 'z') || *p == '-'; p++) {
            if (o < opt + sizeof(opt) - 3) {
                if (*p == '-') {
                    *o++ = '\\';
                }
                *o++ = *p;
            }
        }
        *o = '\0';
        p -= 2;
        snprintf(want, sizeof(want), "\\-\\-%s", opt);
        if (strstr(man, want) == NULL) {
            print_error("docs/pcivirt.1 does not document --%s\n", opt);
        }
        assert_non_null(strstr(man, want));
        n++;
    }
    assert_true(n >= 10);
    assert_non_null(strstr(man, ".SH EXIT STATUS"));
    assert_non_null(strstr(man, ".B NO_COLOR"));
    run_free(&r);
    free(man);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_command_has_a_section),
        cmocka_unit_test(test_every_lspci_option_is_documented),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
