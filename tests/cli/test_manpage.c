/*
 * tests/cli/test_manpage.c - docs/pcivirt.1 describes exactly the command that was built.
 *
 * Every subcommand `pcivirt --help` lists has a section (".SS pcivirt NAME"),
 * every long option its own --help offers is documented in that section, every
 * long option that section mentions exists in its --help (nothing documented
 * that is not there), the EXIT STATUS section speaks of every subcommand, and
 * NO_COLOR is described.  (Roff escapes dashes, so "--numvfs" is spelled
 * "\-\-numvfs" in the source; the page is compared with its escapes removed.)
 */
#include <stdbool.h>

#include "lspci_cmd.h"

#define MAX_COMMANDS 16

/* The page with "\-" turned into "-". */
static char *
manpage(void)
{
    char *man = slurp_file(PCIVIRT_SOURCE_DIR "/docs/pcivirt.1"), *o = man;

    for (const char *p = man; *p; p++) {
        if (p[0] == '\\' && p[1] == '-') {
            continue;
        }
        *o++ = *p;
    }
    *o = '\0';
    return man;
}

/* The text of section @head ("\n.SS pcivirt run\n", "\n.SH EXIT STATUS\n") up to the next .SS/.SH (malloc'd). */
static char *
section(const char *man, const char *head)
{
    const char *start = strstr(man, head), *end;
    char *s;

    if (start == NULL) {
        print_error("docs/pcivirt.1 has no '%s'\n", head + 1);
    }
    assert_non_null(start);
    start += strlen(head);
    end = start;
    while ((end = strchr(end, '\n')) != NULL && strncmp(end + 1, ".SS ", 4) != 0 && strncmp(end + 1, ".SH ", 4) != 0) {
        end++;
    }
    if (end == NULL) {
        end = start + strlen(start);
    }
    s = strndup(start, (size_t)(end - start));
    assert_non_null(s);
    return s;
}

/* Calls @fn for each distinct long option ("--name") written in @text. */
static unsigned
each_long_option(const char *text, void (*fn)(const char *opt, void *ctx), void *ctx)
{
    char seen[64][40];
    unsigned n = 0;

    for (const char *p = text; (p = strstr(p, "--")) != NULL; p += 2) {
        char opt[40];
        size_t k = 0;
        bool dup = false;

        if (p > text && (p[-1] == '-' || (p[-1] >= 'a' && p[-1] <= 'z'))) {
            continue;
        }
        for (const char *q = p; k < sizeof(opt) - 1 && (q == p || q == p + 1 || (*q >= 'a' && *q <= 'z') || *q == '-');
             q++) {
            opt[k++] = *q;
        }
        opt[k] = '\0';
        if (k < 3 || opt[2] == '-') {
            continue;
        }
        for (unsigned i = 0; i < n && !dup; i++) {
            dup = strcmp(seen[i], opt) == 0;
        }
        if (dup || n == 64) {
            continue;
        }
        snprintf(seen[n++], sizeof(seen[0]), "%s", opt);
        fn(opt, ctx);
    }
    return n;
}

struct where {
    const char *text;
    const char *what;
    const char *cmd;
};

static void
must_contain(const char *opt, void *ctx)
{
    const struct where *w = ctx;

    if (strcmp(opt, "--help") == 0) {
        return; /* documented once for every command in DESCRIPTION */
    }
    if (strstr(w->text, opt) == NULL) {
        print_error("pcivirt %s: %s is missing %s\n", w->cmd, w->what, opt);
    }
    assert_non_null(strstr(w->text, opt));
}

static size_t
commands(char names[MAX_COMMANDS][32])
{
    struct run r;
    size_t n = 0;
    char *save = NULL;

    run_shell(&r, PCIVIRT " --help");
    assert_int_equal(r.status, 0);
    for (char *line = strtok_r(strstr(r.out, "commands:\n") + 10, "\n", &save);
         line != NULL && line[0] == ' ' && n < MAX_COMMANDS; line = strtok_r(NULL, "\n", &save)) {
        assert_int_equal(sscanf(line, " %31s", names[n]), 1);
        n++;
    }
    run_free(&r);
    return n;
}

static void
test_every_command_and_option(void **state)
{
    char *man = manpage(), names[MAX_COMMANDS][32], head[64], cmd[128];
    size_t n = commands(names);
    struct run r;

    (void)state;
    assert_true(n >= 5);
    for (size_t i = 0; i < n; i++) {
        char *sec;
        struct where in_man, in_help;

        snprintf(head, sizeof(head), "\n.SS pcivirt %s\n", names[i]);
        sec = section(man, head);
        snprintf(cmd, sizeof(cmd), "%s %s --help", PCIVIRT, names[i]);
        run_shell(&r, cmd);
        assert_int_equal(r.status, 0);
        in_man = (struct where){sec, "its man page section", names[i]};
        in_help = (struct where){r.out, "its --help", names[i]};
        each_long_option(r.out, must_contain, &in_man); /* what exists is documented */
        each_long_option(sec, must_contain, &in_help);  /* what is documented exists */
        run_free(&r);
        free(sec);
    }
    free(man);
}

static void
test_exit_status_and_environment(void **state)
{
    char *man = manpage(), names[MAX_COMMANDS][32];
    size_t n = commands(names);
    char *exit_status = section(man, "\n.SH EXIT STATUS\n"), *env = section(man, "\n.SH ENVIRONMENT\n");

    (void)state;
    for (const char *code = "0\0"
                            "1\0"
                            "2\0";
         *code; code += 2) {
        char want[16];

        snprintf(want, sizeof(want), ".B %s\n", code);
        assert_non_null(strstr(exit_status, want));
    }
    for (size_t i = 0; i < n; i++) {
        if (strstr(exit_status, names[i]) == NULL) {
            print_error("EXIT STATUS does not mention '%s'\n", names[i]);
        }
        assert_non_null(strstr(exit_status, names[i]));
    }
    assert_non_null(strstr(env, ".B NO_COLOR"));
    free(exit_status);
    free(env);
    free(man);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_command_and_option),
        cmocka_unit_test(test_exit_status_and_environment),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
