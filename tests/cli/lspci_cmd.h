/*
 * tests/cli/lspci_cmd.h - run `pcivirt lspci` and the real lspci, keep what they print.
 *
 * The tests of `pcivirt lspci` drive the built command exactly as a user does
 * (popen, exit status, stdout and stderr apart) and judge its output with
 * independent oracles: the real lspci (pciutils 3.9.0) reading our dumps, dot
 * reading our graphs, jansson reading our JSON.  Test-only code: plain malloc,
 * cmocka asserts.
 */
#ifndef PCIVIRT_TESTS_CLI_LSPCI_CMD_H
#define PCIVIRT_TESTS_CLI_LSPCI_CMD_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define DATA PCIVIRT_SHARED_DIR "/data/pciutils-tests"
#define PCIVIRT PCIVIRT_BINARY_DIR "/pcivirt"

struct run {
    int status; /* exit status */
    char *out;  /* stdout, NUL-terminated */
    size_t out_len;
    char *err; /* stderr */
};

static inline char *
slurp_stream(FILE *f, size_t *len)
{
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);

    assert_non_null(buf);
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    buf[n] = '\0';
    if (len != NULL) {
        *len = n;
    }
    return buf;
}

static inline char *
slurp_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *s;

    assert_non_null(f);
    s = slurp_stream(f, NULL);
    fclose(f);
    return s;
}

static inline void
run_free(struct run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

/* Run a shell command line; stdout and stderr kept apart. */
static inline void
run_shell(struct run *r, const char *cmdline)
{
    char cmd[8192], errfile[] = "/tmp/pcivirt-lspci-err-XXXXXX";
    int fd = mkstemp(errfile);
    FILE *p;

    assert_true(fd >= 0);
    close(fd);
    snprintf(cmd, sizeof(cmd), "%s 2>%s", cmdline, errfile);
    p = popen(cmd, "r");
    assert_non_null(p);
    r->out = slurp_stream(p, &r->out_len);
    r->status = WEXITSTATUS(pclose(p));
    r->err = slurp_file(errfile);
    unlink(errfile);
}

/* `pcivirt lspci ARGS` (printf-style arguments). */
static inline void run_lspci(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline void
run_lspci(struct run *r, const char *fmt, ...)
{
    char args[4096], cmd[8192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "NO_COLOR=1 %s lspci %s", PCIVIRT, args);
    run_shell(r, cmd);
}

/* The real lspci on a dump file: `lspci ARGS -F PATH`, stdout only. */
static inline void
run_real_lspci(struct run *r, const char *args, const char *path)
{
    char cmd[8192];

    snprintf(cmd, sizeof(cmd), "lspci %s -F '%s'", args, path);
    run_shell(r, cmd);
}

/* Write @text to a fresh temporary file whose name goes to @path (>= 64 bytes). */
static inline void
write_temp(char *path, const char *text, size_t len)
{
    int fd;
    FILE *f;

    strcpy(path, "/tmp/pcivirt-lspci-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Number of occurrences of @needle in @hay. */
static inline size_t
count_of(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }
    return n;
}

/* "bb:dd.f" or "dddd:bb:dd.f" (domain when non-zero), as lspci prints an address. */
static inline void
rid_addr(char *buf, size_t size, unsigned domain, unsigned rid)
{
    if (domain != 0) {
        snprintf(buf, size, "%04x:%02x:%02x.%x", domain, rid >> 8, (rid >> 3) & 0x1f, rid & 7);
    } else {
        snprintf(buf, size, "%02x:%02x.%x", rid >> 8, (rid >> 3) & 0x1f, rid & 7);
    }
}

#endif /* PCIVIRT_TESTS_CLI_LSPCI_CMD_H */
