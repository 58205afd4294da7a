/*
 * tests/cli/test_lspci_errors.c - `pcivirt lspci`: exit codes and messages, --json, --dot.
 *
 * Every refusal must come with the exit code docs/CLI.md promises (1: the device
 * refused to enable; 2: usage or input) and a message on stderr naming what and
 * where; stdout stays empty.  The bus-range refusal must show the arithmetic,
 * which the test recomputes (device-model.md 5.1, 5.3).  --json is read back with
 * jansson and checked against the spec's geometry; --dot must be accepted by the
 * real Graphviz (dot -Tsvg) and have one PF -> VF edge per VF.
 */
#include "lspci_cmd.h"

#include <jansson.h>

#include "pci/dump.h"
#include "pci/regs.h"

/* stderr must name every one of the NULL-terminated @needles. */
static void
expect_failure(const char *args, int status, const char *const *needles)
{
    struct run r;

    run_lspci(&r, "%s", args);
    if (r.status != status) {
        print_error("pcivirt lspci %s: exit %d, stderr: %s\n", args, r.status, r.err);
    }
    assert_int_equal(r.status, status);
    assert_int_equal(r.out_len, 0);
    for (const char *const *n = needles; *n != NULL; n++) {
        if (strstr(r.err, *n) == NULL) {
            print_error("pcivirt lspci %s: stderr lacks '%s': %s\n", args, *n, r.err);
        }
        assert_non_null(strstr(r.err, *n));
    }
    run_free(&r);
}

static void
test_bus_range_refusal_shows_the_arithmetic(void **state)
{
    /* 82599 without ARI: 384/2; the last of 64 VFs at 0x0300 + 384 + 63 x 2. */
    unsigned last = 0x0300 + 384 + 63 * 2;
    char want_rid[16], want_bdf[16];
    const char *const needles[] = {
        "builtin:82599", "PF 03:00.0", "First VF Offset 384", "VF Stride 2", "NumVFs 64", "ARI Capable Hierarchy off",
        want_rid,        want_bdf,     "[bus 03-03]",         NULL};

    (void)state;
    snprintf(want_rid, sizeof(want_rid), "0x%04x", last);
    snprintf(want_bdf, sizeof(want_bdf), "%02x:%02x.%x", last >> 8, (last >> 3) & 0x1f, last & 7);
    expect_failure("--ari off --bus-range 03", 1, needles);
}

static void
test_bus_range_refusal_real_dump(void **state)
{
    /* device-model.md 5.4: cap-pcie-2's one VF already needs bus 02; a port with only bus 01 refuses it. */
    const char *const needles[] = {"cap-pcie-2", "NumVFs 1", "First VF Offset 384", "02:10.0", "[bus 01-01]", NULL};
    const char *const beyond[] = {"NumVFs 8", "beyond bus ff", NULL};
    char *text = slurp_file(DATA "/cap-pcie-2"), *p = strstr(text, "01:00.0"), path[64], args[160];

    (void)state;
    expect_failure("--device " DATA "/cap-pcie-2 --numvfs 1 --bus-range 01", 1, needles);
    /* The same PF moved to bus ff: its VFs would need bus 0x100. */
    assert_non_null(p);
    memcpy(p, "ff", 2);
    write_temp(path, text, strlen(text));
    snprintf(args, sizeof(args), "--device %s", path);
    expect_failure(args, 1, beyond);
    unlink(path);
    free(text);
}

static void
test_input_errors(void **state)
{
    const char *const numvfs[] = {"--numvfs 65", "TotalVFs 64", NULL};
    const char *const numvfs_dump[] = {"--numvfs 9", "cap-pcie-2", "TotalVFs 8", NULL};
    const char *const ari[] = {"--ari on", "cap-dvsec-cxl", "6b:00.0", "ARI", NULL};
    const char *const missing[] = {"/nonexistent/dump", "cannot open", NULL};
    const char *const no_sriov[] = {"cap-pcie-1", "SR-IOV", NULL};
    const char *const builtin[] = {"builtin:nope", "builtin:82599", NULL};
    const char *const range[] = {"--bus-range 04-05", "bus 03", NULL};
    const char *const function[] = {"--function 01:00.1", "no such function", NULL};

    (void)state;
    expect_failure("--numvfs 65", 2, numvfs);
    expect_failure("--device " DATA "/cap-pcie-2 --numvfs 9", 2, numvfs_dump);
    expect_failure("--device " DATA "/cap-dvsec-cxl --ari on", 2, ari);
    expect_failure("--device /nonexistent/dump", 2, missing);
    expect_failure("--device " DATA "/cap-pcie-1", 2, no_sriov);
    expect_failure("--device builtin:nope", 2, builtin);
    expect_failure("--bus-range 04-05", 2, range);
    expect_failure("--device " DATA "/cap-pcie-2 --function 01:00.1", 2, function);
}

static void
test_malformed_and_unusable_dumps(void **state)
{
    const char *const total0[] = {"TotalVFs", "is 0", NULL};
    struct pci_dump *d = NULL;
    char path[64], args[160], where[80];
    const char *const bad_line[] = {where, "hex", NULL};
    int sriov = 0x160; /* cap-pcie-2's SR-IOV capability (data/README.md) */

    (void)state;
    write_temp(path, "01:00.0 x\n00: zz\n", 17);
    snprintf(args, sizeof(args), "--device %s", path);
    snprintf(where, sizeof(where), "%s:2:", path); /* the file and the line */
    expect_failure(args, 2, bad_line);
    unlink(path);
    /* TotalVFs 0: the capability cannot be used; the field is named. */
    assert_int_equal(pci_dump_load(DATA "/cap-pcie-2", &d, NULL), 0);
    d->funcs[0]->bytes[sriov + PCI_SRIOV_TOTAL_VF] = 0;
    d->funcs[0]->bytes[sriov + PCI_SRIOV_TOTAL_VF + 1] = 0;
    strcpy(path, "/tmp/pcivirt-lspci-total0-XXXXXX");
    close(mkstemp(path));
    assert_int_equal(pci_dump_save(d, path, NULL), 0);
    pci_dump_destroy(d);
    snprintf(args, sizeof(args), "--device %s", path);
    expect_failure(args, 2, total0);
    unlink(path);
}

/* Two SR-IOV PFs in one file: the command says which and wants --function. */
static void
test_several_sriov_functions(void **state)
{
    const char *const which[] = {"01:00.0", "05:00.0", "--function", NULL};
    char *one = slurp_file(DATA "/cap-pcie-2"), *two = strdup(one), *both, path[64], args[200];
    struct run r;

    (void)state;
    assert_non_null(two);
    memcpy(strstr(two, "01:00.0"), "05", 2);
    both = malloc(strlen(one) + strlen(two) + 2);
    assert_non_null(both);
    sprintf(both, "%s\n%s", one, two);
    write_temp(path, both, strlen(both));
    snprintf(args, sizeof(args), "--device %s", path);
    expect_failure(args, 2, which);
    /* Chosen: VFs at 05:00.0 + 384 + i x 2 = 06:10.0 ... */
    run_lspci(&r, "--device %s --function 05:00.0 -n --numvfs 2", path);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "05:00.0 0200: 8086:10c9 (rev 01)\n06:10.0 0200: 8086:10ca (rev 01)\n"
                               "06:10.2 0200: 8086:10ca (rev 01)\n");
    run_free(&r);
    unlink(path);
    free(both);
    free(two);
    free(one);
}

static void
test_usage_errors(void **state)
{
    static const char *const bad[] = {"--numvfs abc",
                                      "--numvfs -1",
                                      "--numvfs 70000",
                                      "--ari maybe",
                                      "-t --json",
                                      "--dot --json",
                                      "-t -x",
                                      "--bogus",
                                      "-q",
                                      "--device",
                                      "--bus-range zz",
                                      "stray",
                                      "--device builtin:82599 --function 03:00.0"};
    const char *const none[] = {"pcivirt lspci", NULL};
    const char *const missing[] = {"--scenario", "/nonexistent/x.json", NULL};
    const char *const mixed[] = {"--scenario", "--device", NULL};
    struct run r;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_failure(bad[i], 2, none);
    }
    expect_failure("--scenario /nonexistent/x.json", 2, missing);
    expect_failure("--scenario /nonexistent/x.json --device builtin:82599", 2, mixed);
    run_lspci(&r, "--help");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: pcivirt lspci"));
    assert_non_null(strstr(r.out, "exit status"));
    run_free(&r);
}

static void
test_json(void **state)
{
    json_error_t jerr;
    json_t *root, *fns, *s;
    struct run r;

    (void)state;
    run_lspci(&r, "--numvfs 5 --json -x");
    assert_int_equal(r.status, 0);
    root = json_loads(r.out, 0, &jerr);
    assert_non_null(root);
    s = json_object_get(root, "sriov");
    assert_int_equal(json_integer_value(json_object_get(s, "num_vfs")), 5);
    assert_int_equal(json_integer_value(json_object_get(s, "total_vfs")), 64);
    assert_true(json_is_true(json_object_get(s, "vf_enable")));
    assert_true(json_is_true(json_object_get(s, "ari_capable_hierarchy")));
    fns = json_object_get(root, "functions");
    assert_int_equal(json_array_size(fns), 6);
    assert_string_equal(json_string_value(json_object_get(json_array_get(fns, 0), "kind")), "pf");
    for (size_t i = 1; i < 6; i++) {
        json_t *f = json_array_get(fns, i);
        const char *cfg = json_string_value(json_object_get(f, "config"));

        assert_string_equal(json_string_value(json_object_get(f, "kind")), "vf");
        assert_int_equal(json_integer_value(json_object_get(f, "vf_index")), i - 1);
        assert_int_equal(json_integer_value(json_object_get(f, "rid")), 0x0300 + 128 + (i - 1) * 2);
        assert_non_null(cfg);
        assert_int_equal(strlen(cfg), 128);         /* -x: 64 bytes */
        assert_memory_equal(cfg, "ffffffff", 8);    /* VF Vendor/Device ID read ffff */
        assert_null(json_object_get(f, "held_by")); /* no stack: nothing invented */
    }
    json_decref(root);
    run_free(&r);
}

static void
test_dot_renders(void **state)
{
    struct run r, svg;
    char path[64], cmd[128];

    (void)state;
    run_lspci(&r, "--device %s --dot", DATA "/cap-pcie-2");
    assert_int_equal(r.status, 0);
    assert_int_equal(count_of(r.out, "\"01:00.0\" -> "), 8);
    assert_int_equal(count_of(r.out, "subgraph"), 2); /* bus 01 and bus 02 */
    write_temp(path, r.out, r.out_len);
    snprintf(cmd, sizeof(cmd), "dot -Tsvg '%s'", path);
    run_shell(&svg, cmd);
    assert_int_equal(svg.status, 0);
    assert_non_null(strstr(svg.out, "<svg"));
    assert_non_null(strstr(svg.out, "02:11.6"));
    run_free(&svg);
    run_free(&r);
    unlink(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bus_range_refusal_shows_the_arithmetic),
        cmocka_unit_test(test_bus_range_refusal_real_dump),
        cmocka_unit_test(test_input_errors),
        cmocka_unit_test(test_malformed_and_unusable_dumps),
        cmocka_unit_test(test_several_sriov_functions),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_dot_renders),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
