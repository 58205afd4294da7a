/*
 * tests/pci/test_dump.c - the lspci -xxxx reader and writer.
 *
 * Oracles: the real `lspci -F` (accepts / rejects each file under ../shared/data,
 * and how many functions it sees), and EXPECTED-lspci-nn.txt, what pciutils 3.9.0
 * printed for each probe in format-cases (addresses, class, IDs, revision).  The
 * round trip is checked as: export -> parse gives the same functions, and
 * exporting those again gives the same text, for every dump we can read.
 */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lspci_oracle.h"
#include "pci/dump.h"
#include "util/alloc.h"

#define DATA PCIVIRT_SHARED_DIR "/data"

static void
assert_same_funcs(const struct pci_dump *a, const struct pci_dump *b)
{
    assert_int_equal(a->count, b->count);
    for (size_t i = 0; i < a->count; i++) {
        const struct pci_dump_func *x = a->funcs[i], *y = b->funcs[i];

        assert_int_equal(x->addr.domain, y->addr.domain);
        assert_int_equal(x->addr.bus, y->addr.bus);
        assert_int_equal(x->addr.dev, y->addr.dev);
        assert_int_equal(x->addr.fn, y->addr.fn);
        assert_int_equal(x->len, y->len);
        assert_memory_equal(x->bytes, y->bytes, 4096);
        assert_string_equal(x->desc, y->desc);
    }
}

/* export -> parse -> same; export again -> same text. */
static void
round_trip(const struct pci_dump *d)
{
    char *t1 = NULL, *t2 = NULL;
    size_t l1, l2;
    struct pci_dump *back = NULL;

    assert_int_equal(pci_dump_export(d, &t1, &l1), 0);
    assert_int_equal(strlen(t1), l1);
    assert_int_equal(pci_dump_parse(t1, l1, "export", &back, NULL), 0);
    assert_same_funcs(d, back);
    assert_int_equal(pci_dump_export(back, &t2, &l2), 0);
    assert_int_equal(l1, l2);
    assert_memory_equal(t1, t2, l1);
    pv_free(t1);
    pv_free(t2);
    pci_dump_destroy(back);
}

/* Whether lspci -F accepts @path, and how many functions it lists. */
static int
lspci_accepts(const char *path, size_t *n)
{
    struct lspci_out o;
    int ok;

    lspci_run("-n", path, &o);
    ok = o.status == 0;
    *n = o.n;
    lspci_free(&o);
    return ok;
}

static unsigned files_seen, files_parsed;

static void
check_any_file(const char *path)
{
    struct pci_dump *d = NULL;
    struct pcivirt_error err = {0};
    size_t lspci_n = 0;
    int rc = pci_dump_load(path, &d, &err);
    int accepted = lspci_accepts(path, &lspci_n);

    files_seen++;
    if ((rc == 0) != accepted) {
        fail_msg("%s: we %s it (%s), lspci -F %s it", path, rc == 0 ? "accept" : "reject", err.message,
                 accepted ? "accepts" : "rejects");
    }
    if (rc != 0) {
        assert_string_equal(err.where, path);
        assert_true(err.line >= 1);
        assert_true(err.message[0] != '\0');
        return;
    }
    assert_int_equal(d->count, lspci_n);
    round_trip(d);
    files_parsed++;
    pci_dump_destroy(d);
}

static void
walk_tree(const char *dir)
{
    DIR *dp = opendir(dir);
    struct dirent *e;

    assert_non_null(dp);
    while ((e = readdir(dp)) != NULL) {
        char path[4096];
        struct stat st;

        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        assert_int_equal(stat(path, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            walk_tree(path);
        } else {
            check_any_file(path);
        }
    }
    closedir(dp);
}

static void
test_every_data_file_like_lspci(void **state)
{
    (void)state;
    walk_tree(DATA);
    assert_true(files_seen > 80);
    assert_true(files_parsed > 60);
}

/* ---- format-cases against EXPECTED-lspci-nn.txt ------------------------------------------ */

/* Parse "ADDR" at @s (optionally with domain); return its length or 0. */
static size_t
scan_addr(const char *s, struct pci_addr *a)
{
    unsigned dom = 0, bus, dev, fn;
    int n = 0;

    memset(a, 0, sizeof(*a));
    if (sscanf(s, "%4x:%2x:%2x.%1u%n", &dom, &bus, &dev, &fn, &n) == 4 && n == 12) {
        a->domain = dom;
    } else if (sscanf(s, "%2x:%2x.%1u%n", &bus, &dev, &fn, &n) == 3 && n == 7) {
        dom = 0;
    } else {
        return 0;
    }
    a->bus = (uint8_t)bus;
    a->dev = (uint8_t)dev;
    a->fn = (uint8_t)fn;
    return (size_t)n;
}

static void
check_expected_line(const char *line)
{
    char name[64], path[512];
    int rc_want = -1, off = 0;
    struct pci_dump *d = NULL;
    struct pcivirt_error err = {0};
    size_t k = 0;

    assert_int_equal(sscanf(line, "%63s rc=%d %n", name, &rc_want, &off), 2);
    snprintf(path, sizeof(path), DATA "/synthetic/format-cases/%s", name);
    int rc = pci_dump_load(path, &d, &err);
    if ((rc == 0) != (rc_want == 0)) {
        fail_msg("%s: rc %d (%s), lspci rc=%d", name, rc, err.message, rc_want);
    }
    if (rc != 0) {
        return;
    }
    /* Walk the lspci text: every address token is the next function. */
    for (const char *s = line + off; *s; s++) {
        struct pci_addr a;
        size_t n;

        if ((s != line + off && s[-1] != ' ') || (n = scan_addr(s, &a)) == 0 || s[n] != ' ') {
            continue;
        }
        assert_true(k < d->count);
        const struct pci_dump_func *f = d->funcs[k++];
        assert_int_equal(f->addr.domain, a.domain);
        assert_int_equal(f->addr.bus, a.bus);
        assert_int_equal(f->addr.dev, a.dev);
        assert_int_equal(f->addr.fn, a.fn);
        /* The rest of this device's text (up to the next device). */
        const char *cls = strstr(s, " ["), *ids, *rev;
        unsigned c, v, dv, r;
        if (cls && sscanf(cls, " [%4x]:", &c) == 1) {
            assert_int_equal(c, f->bytes[0x0a] | (unsigned)f->bytes[0x0b] << 8);
        }
        ids = strstr(s, "[");
        while (ids && !(sscanf(ids, "[%4x:%4x]", &v, &dv) == 2 && ids[10] == ']')) {
            ids = strstr(ids + 1, "[");
        }
        if (ids) {
            assert_int_equal(v, f->bytes[0] | (unsigned)f->bytes[1] << 8);
            assert_int_equal(dv, f->bytes[2] | (unsigned)f->bytes[3] << 8);
        }
        rev = strstr(s, "(rev ");
        if (rev && sscanf(rev, "(rev %2x)", &r) == 1) {
            assert_int_equal(r, f->bytes[8]);
        }
        s += n;
    }
    if (k != d->count) {
        fail_msg("%s: we parsed %zu functions, lspci listed %zu", name, d->count, k);
    }
    round_trip(d);
    pci_dump_destroy(d);
}

static void
test_format_cases_match_expected(void **state)
{
    FILE *f = fopen(DATA "/synthetic/format-cases/EXPECTED-lspci-nn.txt", "r");
    char line[4096];
    unsigned cases = 0;

    (void)state;
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        check_expected_line(line);
        cases++;
    }
    fclose(f);
    assert_int_equal(cases, 21);
}

static void
expect_error(const char *name, int code, unsigned line, const char *field, const char *text)
{
    char path[512];
    struct pci_dump *d = (struct pci_dump *)1;
    struct pcivirt_error err = {0};

    snprintf(path, sizeof(path), DATA "/synthetic/format-cases/%s", name);
    assert_int_equal(pci_dump_load(path, &d, &err), code);
    assert_null(d);
    assert_string_equal(err.where, path);
    assert_int_equal(err.line, line);
    assert_string_equal(err.field, field);
    if (strstr(err.message, text) == NULL) {
        fail_msg("%s: message '%s' lacks '%s'", name, err.message, text);
    }
}

static void
test_errors_name_file_line_field(void **state)
{
    (void)state;
    expect_error("dbl.dump", PCIVIRT_EFORMAT, 2, "hex byte", "malformed hex line");
    expect_error("odd.dump", PCIVIRT_EFORMAT, 2, "hex byte", "malformed hex line");
    expect_error("nonl.dump", PCIVIRT_EFORMAT, 2, "line", "not terminated");
    expect_error("over.dump", PCIVIRT_ERANGE, 2, "offset", "4096");
    expect_error("does-not-exist", PCIVIRT_EIO, 0, "file", "cannot open");
}

static void
test_line_length_limit(void **state)
{
    char text[600];
    struct pci_dump *d = NULL;
    struct pcivirt_error err = {0};
    size_t n;

    (void)state;
    /* 253 characters before the newline is the longest line pciutils reads. */
    n = (size_t)snprintf(text, sizeof(text), "03:00.0 %0245d\n00: 86 80\n", 0);
    assert_int_equal(strchr(text, '\n') - text, 253);
    assert_int_equal(pci_dump_parse(text, n, "t", &d, &err), 0);
    assert_int_equal(d->funcs[0]->len, 2);
    pci_dump_destroy(d);
    n = (size_t)snprintf(text, sizeof(text), "03:00.0 %0246d\n00: 86 80\n", 0);
    assert_int_equal(pci_dump_parse(text, n, "t", &d, &err), PCIVIRT_EFORMAT);
    assert_int_equal(err.line, 1);
    /* Empty input: no functions. */
    assert_int_equal(pci_dump_parse("", 0, "t", &d, &err), 0);
    assert_int_equal(d->count, 0);
    pci_dump_destroy(d);
    /* An embedded NUL is rejected, not read past. */
    assert_int_equal(pci_dump_parse("03:00.0 x\n00: 86\0 80\n", 22, "t", &d, &err), PCIVIRT_EFORMAT);
}

/* What we build and export, lspci reads: addresses, sizes, multi-function files. */
static void
test_built_dump_read_by_lspci(void **state)
{
    struct pci_dump *d = NULL;
    uint8_t cfg[4096];
    char path[] = "/tmp/pcivirt-dump-XXXXXX";
    int fd = mkstemp(path);
    struct lspci_out o;
    static const uint32_t sizes[] = {64, 256, 4096};

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(pci_dump_create(&d), 0);
    for (unsigned i = 0; i < 3; i++) {
        struct pci_addr a = {.domain = i == 2 ? 0x10000 : 0, .bus = 0x83, .dev = (uint8_t)(0x10 + i), .fn = 0};

        memset(cfg, 0, sizeof(cfg));
        cfg[0] = 0x86, cfg[1] = 0x80, cfg[2] = (uint8_t)(0xf0 + i), cfg[3] = 0x10, cfg[8] = (uint8_t)i;
        cfg[0x0b] = 0x02;
        assert_int_equal(pci_dump_add(d, &a, "model function", cfg, sizes[i]), 0);
    }
    struct pci_addr bad = {.fn = 10};
    assert_int_equal(pci_dump_add(d, &bad, NULL, cfg, 64), PCIVIRT_EINVAL);
    bad.fn = 0;
    assert_int_equal(pci_dump_add(d, &bad, "two\nlines", cfg, 64), PCIVIRT_EINVAL);
    assert_int_equal(pci_dump_add(d, &bad, NULL, cfg, 4097), PCIVIRT_EINVAL);
    assert_int_equal(pci_dump_save(d, path, NULL), 0);
    lspci_run("-n", path, &o);
    assert_int_equal(o.status, 0);
    assert_int_equal(o.n, 3);
    /* lspci prints every domain once one is non-zero. */
    assert_true(lspci_has(lspci_find(&o, "0000:83:10.0", 0), "0200: 8086:10f0"));
    assert_true(lspci_has(lspci_find(&o, "0000:83:11.0", 0), "0200: 8086:10f1 (rev 01)"));
    assert_true(lspci_has(lspci_find(&o, "10000:83:12.0", 0), "0200: 8086:10f2 (rev 02)"));
    lspci_free(&o);
    round_trip(d);
    pci_dump_destroy(d);
    unlink(path);
}

/* Every allocation failure while parsing fails cleanly (ASan checks for leaks). */
static void
test_parse_allocation_failures(void **state)
{
    static const char text[] = "00:00.0 a\n00: 01 02\n\n0000:00:01.0 b\n00: 03\n00:02.0 c\n10: 04\n";
    struct pci_dump *d = NULL;
    int rc;
    long i = 0;

    (void)state;
    do {
        pv_alloc_fail_after(i++, 1);
        rc = pci_dump_parse(text, sizeof(text) - 1, "t", &d, NULL);
        pv_alloc_fail_after(-1, 0);
        assert_true(rc == 0 || rc == PCIVIRT_ENOMEM);
        if (rc != 0) {
            assert_null(d);
        }
    } while (rc != 0);
    assert_true(i > 3);
    assert_int_equal(d->count, 3);
    assert_int_equal(d->funcs[2]->len, 0x11);
    pci_dump_destroy(d);
}

/* Found by fuzz_dump: a description ending in several CRs broke the round trip. */
static void
test_fuzz_regression_cr_in_description(void **state)
{
    static const char text[] = "03:00.0 y\r\r\r\n00: 86 80\r\n";
    struct pci_dump *d = NULL;

    (void)state;
    assert_int_equal(pci_dump_parse(text, sizeof(text) - 1, "t", &d, NULL), 0);
    assert_string_equal(d->funcs[0]->desc, "y  ");
    assert_int_equal(d->funcs[0]->len, 2);
    round_trip(d);
    pci_dump_destroy(d);
}

int
main(void)
{
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_data_file_like_lspci),
        cmocka_unit_test(test_format_cases_match_expected),
        cmocka_unit_test(test_errors_name_file_line_field),
        cmocka_unit_test(test_line_length_limit),
        cmocka_unit_test(test_built_dump_read_by_lspci),
        cmocka_unit_test(test_parse_allocation_failures),
        cmocka_unit_test(test_fuzz_regression_cr_in_description),
    };
    /* clang-format on */

    return cmocka_run_group_tests(tests, NULL, NULL);
}
