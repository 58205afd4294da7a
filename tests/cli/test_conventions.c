/*
 * tests/cli/test_conventions.c - what every pcivirt subcommand promises a user
 * (docs/CLI.md, docs/pcivirt.1): --help and -h on stdout with the exit codes,
 * --version, unknown options refused with exit 2 and a message on stderr that
 * names the command and the option, NO_COLOR honoured, and the run's progress
 * line only on a terminal.
 *
 * The subcommands are taken from `pcivirt --help` itself, so a new one is held
 * to the same rules without editing this file.  Terminals are real: a
 * pseudo-terminal pair from posix_openpt, the command's stdout or stderr on its
 * slave side, what it wrote read back from the master.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli.h"
#include "lspci_cmd.h"
#include "pcivirt/export.h"

#define MAX_COMMANDS 16

/* The subcommand names `pcivirt --help` lists; returns how many. */
static size_t
commands(char names[MAX_COMMANDS][32])
{
    struct run r;
    size_t n = 0;
    char *save = NULL;

    run_shell(&r, PCIVIRT " --help");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "commands:\n"));
    for (char *line = strtok_r(strstr(r.out, "commands:\n") + 10, "\n", &save); line != NULL && n < MAX_COMMANDS;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == ' ' && sscanf(line, " %31s", names[n]) == 1) {
            n++;
        } else {
            break;
        }
    }
    run_free(&r);
    return n;
}

static bool
contains_ci(const char *hay, const char *needle)
{
    return strcasestr(hay, needle) != NULL;
}

static void
test_help_on_every_command(void **state)
{
    char names[MAX_COMMANDS][32], cmd[256], want[64];
    size_t n = commands(names);
    struct run r;

    (void)state;
    assert_true(n >= 5); /* conform, contract, lspci, run, survey */
    for (size_t i = 0; i < n; i++) {
        for (int form = 0; form < 2; form++) {
            snprintf(cmd, sizeof(cmd), "%s %s %s", PCIVIRT, names[i], form == 0 ? "--help" : "-h");
            run_shell(&r, cmd);
            if (r.status != 0 || r.err[0] != '\0') {
                print_error("'%s': exit %d, stderr '%s'\n", cmd, r.status, r.err);
            }
            assert_int_equal(r.status, 0);
            assert_string_equal(r.err, "");
            snprintf(want, sizeof(want), "usage: pcivirt %s", names[i]);
            assert_ptr_equal(strstr(r.out, want), r.out);
            /* The exit codes are part of the help, as they are of the man page. */
            assert_true(contains_ci(r.out, "exit status"));
            run_free(&r);
        }
    }
}

static void
test_unknown_option_on_every_command(void **state)
{
    char names[MAX_COMMANDS][32], cmd[256], want[64];
    size_t n = commands(names);
    struct run r;

    (void)state;
    for (size_t i = 0; i < n; i++) {
        snprintf(cmd, sizeof(cmd), "NO_COLOR=1 %s %s --no-such-option", PCIVIRT, names[i]);
        run_shell(&r, cmd);
        if (r.status != 2) {
            print_error("'%s': exit %d, stderr '%s'\n", cmd, r.status, r.err);
        }
        assert_int_equal(r.status, 2);
        assert_string_equal(r.out, "");
        snprintf(want, sizeof(want), "pcivirt %s: ", names[i]);
        assert_ptr_equal(strstr(r.err, want), r.err);       /* names the command ... */
        assert_non_null(strstr(r.err, "--no-such-option")); /* ... and what was wrong */
        run_free(&r);
    }
}

static void
test_version_and_top_level(void **state)
{
    struct run r;
    char want[64];

    (void)state;
    snprintf(want, sizeof(want), "pcivirt %s\n", PCIVIRT_VERSION_STRING);
    run_shell(&r, PCIVIRT " --version");
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, want);
    run_free(&r);
    run_shell(&r, PCIVIRT " -V");
    assert_string_equal(r.out, want);
    run_free(&r);
    run_shell(&r, PCIVIRT);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "usage: pcivirt"));
    run_free(&r);
    run_shell(&r, PCIVIRT " frobnicate");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "pcivirt: unknown command 'frobnicate'"));
    run_free(&r);
}

/* ---- terminals ----------------------------------------------------------------------- */

struct pty {
    int master;
    char slave[128];
};

static void
pty_open(struct pty *p)
{
    p->master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(p->master >= 0);
    assert_int_equal(grantpt(p->master), 0);
    assert_int_equal(unlockpt(p->master), 0);
    assert_int_equal(ptsname_r(p->master, p->slave, sizeof(p->slave)), 0);
}

/*
 * Run `pcivirt ARGS` with NO_COLOR set to @no_color (NULL: unset), stdout on a
 * terminal when @out_tty (else /dev/null) and stderr on a terminal when
 * @err_tty (else /dev/null).  Returns what reached the terminal (malloc'd) and
 * the exit status in @status.
 */
static char *
run_on_tty(const char *args, const char *no_color, bool out_tty, bool err_tty, int *status)
{
    struct pty p;
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    pid_t pid;

    assert_non_null(buf);
    pty_open(&p);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int tty = open(p.slave, O_RDWR), null = open("/dev/null", O_WRONLY);

        if (tty < 0 || null < 0) {
            _exit(126);
        }
        dup2(out_tty ? tty : null, STDOUT_FILENO);
        dup2(err_tty ? tty : null, STDERR_FILENO);
        if (no_color != NULL) {
            setenv("NO_COLOR", no_color, 1);
        } else {
            unsetenv("NO_COLOR");
        }
        execl("/bin/sh", "sh", "-c", args, (char *)NULL);
        _exit(127);
    }
    for (;;) {
        struct pollfd pfd = {.fd = p.master, .events = POLLIN};
        ssize_t got;

        if (poll(&pfd, 1, 100) == 0) {
            if (waitpid(pid, status, WNOHANG) == pid) {
                pid = -1;
                /* Drain whatever is still buffered, then stop. */
                while (poll(&pfd, 1, 50) > 0 && (got = read(p.master, buf + n, cap - n - 1)) > 0) {
                    n += (size_t)got;
                }
                break;
            }
            continue;
        }
        got = read(p.master, buf + n, cap - n - 1);
        if (got <= 0) {
            break; /* EIO: every slave descriptor is closed */
        }
        n += (size_t)got;
        assert_true(n < cap - 1);
    }
    if (pid > 0) {
        assert_int_equal(waitpid(pid, status, 0), pid);
    }
    *status = WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
    buf[n] = '\0';
    close(p.master);
    return buf;
}

/* SGR colour sequences (ESC [ ... m); the progress line's cursor controls are not colour. */
static bool
has_colour(const char *s)
{
    for (const char *e = strchr(s, '\033'); e != NULL; e = strchr(e + 1, '\033')) {
        size_t k = 1;

        if (e[k++] != '[') {
            continue;
        }
        while ((e[k] >= '0' && e[k] <= '9') || e[k] == ';') {
            k++;
        }
        if (e[k] == 'm') {
            return true;
        }
    }
    return false;
}

/* On a terminal the verdicts are coloured; NO_COLOR (any non-empty value) turns that off; empty does not. */
static void
test_no_color_is_honoured(void **state)
{
    static const char *const cmds[] = {
        PCIVIRT " run " PCIVIRT_SOURCE_DIR "/tests/cli/data/hostile-dma.json",
        PCIVIRT " conform --only ioctl.",
    };
    int status;

    (void)state;
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        char *plain = run_on_tty(cmds[i], "1", true, false, &status);
        char *empty, *coloured;

        assert_int_equal(status, 0);
        assert_true(strlen(plain) > 100);
        assert_false(has_colour(plain));
        free(plain);
        coloured = run_on_tty(cmds[i], NULL, true, false, &status);
        assert_int_equal(status, 0);
        assert_true(has_colour(coloured));
        free(coloured);
        empty = run_on_tty(cmds[i], "", true, false, &status);
        assert_true(has_colour(empty));
        free(empty);
    }
}

/* Not a terminal: no colour whatever NO_COLOR says; cli_use_color() on a pipe and a pty. */
static void
test_color_rule(void **state)
{
    struct pty p;
    FILE *tty, *pipe_end;
    int fds[2];
    struct run r;

    (void)state;
    pty_open(&p);
    tty = fopen(p.slave, "w");
    assert_non_null(tty);
    assert_int_equal(pipe(fds), 0);
    pipe_end = fdopen(fds[1], "w");
    assert_non_null(pipe_end);
    unsetenv("NO_COLOR");
    assert_true(cli_use_color(tty));
    assert_false(cli_use_color(pipe_end));
    setenv("NO_COLOR", "", 1);
    assert_true(cli_use_color(tty));
    setenv("NO_COLOR", "0", 1); /* any non-empty value, even "0" */
    assert_false(cli_use_color(tty));
    unsetenv("NO_COLOR");
    fclose(tty);
    fclose(pipe_end);
    close(fds[0]);
    close(p.master);
    /* The command itself, NO_COLOR unset, stdout a pipe: plain. */
    run_shell(&r, "env -u NO_COLOR " PCIVIRT " run " PCIVIRT_SOURCE_DIR "/tests/cli/data/hostile-dma.json");
    assert_int_equal(r.status, 0);
    assert_false(has_colour(r.out));
    assert_false(has_colour(r.err));
    run_free(&r);
}

/* The progress line is drawn on stderr when it is a terminal, and nowhere otherwise. */
static void
test_progress_only_on_a_terminal(void **state)
{
    const char *cmd = PCIVIRT " run " PCIVIRT_SOURCE_DIR "/tests/cli/data/hostile-dma.json";
    char *tty;
    int status;
    struct run r;

    (void)state;
    tty = run_on_tty(cmd, "1", false, true, &status);
    assert_int_equal(status, 0);
    assert_non_null(strstr(tty, "\r\033[K[1/")); /* "[step/steps] what", redrawn in place */
    free(tty);
    run_shell(&r, cmd);
    assert_int_equal(r.status, 0);
    assert_null(strchr(r.err, '\r'));
    assert_null(strchr(r.out, '\r'));
    run_free(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_on_every_command), cmocka_unit_test(test_unknown_option_on_every_command),
        cmocka_unit_test(test_version_and_top_level), cmocka_unit_test(test_color_rule),
        cmocka_unit_test(test_no_color_is_honoured),  cmocka_unit_test(test_progress_only_on_a_terminal),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
