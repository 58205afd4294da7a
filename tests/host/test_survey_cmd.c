/*
 * tests/host/test_survey_cmd.c - `pcivirt survey` as a user runs it.
 *
 * Builds a snapshot tree (a root port with ACS off from cap-pcie-1 and the 82576
 * PF from cap-pcie-2 below it, plus a root port with ACS on from cap-aer-root and
 * its ConnectX-3 endpoint), runs the real command with --sysfs and --json, parses
 * the JSON with jansson and checks verdicts, reasons and exit codes against the
 * rules (the ACS bits come from lspci -F on the same dumps); then the error paths:
 * bad options, a root that is not sysfs, an unknown device, --help.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <jansson.h>

#include "pci/dump.h"
#include "tree.h"

#define DATA PCIVIRT_SHARED_DIR "/data"
#define PCIVIRT PCIVIRT_BINARY_DIR "/pcivirt"

struct result {
    int status;
    char out[1 << 18];
    char err[4096];
};

/* Run the command; stdout and stderr captured separately. */
static void
run_cmd(struct result *r, const char *args)
{
    char cmd[8192], errfile[] = "/tmp/pcivirt-survey-err-XXXXXX";
    int fd = mkstemp(errfile);
    size_t n;
    FILE *p;

    assert_true(fd >= 0);
    close(fd);
    snprintf(cmd, sizeof(cmd), "NO_COLOR=1 %s survey %s 2>%s", PCIVIRT, args, errfile);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(r->out, 1, sizeof(r->out) - 1, p);
    r->out[n] = '\0';
    r->status = WEXITSTATUS(pclose(p));
    p = fopen(errfile, "r");
    assert_non_null(p);
    n = fread(r->err, 1, sizeof(r->err) - 1, p);
    r->err[n] = '\0';
    fclose(p);
    unlink(errfile);
}

static const struct pci_dump_func *
func(const struct pci_dump *d, uint8_t bus, uint8_t dev)
{
    for (size_t i = 0; i < d->count; i++) {
        if (d->funcs[i]->addr.bus == bus && d->funcs[i]->addr.dev == dev && d->funcs[i]->addr.fn == 0) {
            return d->funcs[i];
        }
    }
    fail();
    abort();
}

static struct pci_dump *dumps[3];

static void
build(struct tree *t)
{
    static const char *const names[3] = {"cap-pcie-1", "cap-pcie-2", "cap-aer-root"};
    char path[PATH_MAX];

    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), DATA "/pciutils-tests/%s", names[i]);
        assert_int_equal(pci_dump_load(path, &dumps[i], NULL), 0);
    }
    const struct pci_dump_func *rp1 = func(dumps[0], 0, 1), *pf = func(dumps[1], 1, 0);
    const struct pci_dump_func *rp2 = func(dumps[2], 0, 2), *ep = func(dumps[2], 3, 0);
    struct tree_fn fns[4] = {
        {"pci0000:00", "0000:00:01.0", rp1->bytes, rp1->len, 0x060400, 0x8086, 0x3408, NULL, 1, 1},
        {"pci0000:00/0000:00:01.0", "0000:01:00.0", pf->bytes, pf->len, 0x020000, 0x8086, 0x10c9, NULL, 1, 10},
        {"pci0000:00", "0000:00:02.0", rp2->bytes, rp2->len, 0x060400, 0x8086, 0x2f04, NULL, 1, 1},
        {"pci0000:00/0000:00:02.0", "0000:03:00.0", ep->bytes, ep->len, 0x020000, 0x15b3, 0x1007, NULL, 1, 4},
    };

    tree_init(t);
    tree_dir(t, "sys/class/iommu/dmar0");
    tree_text(t, " 40: 0 0 IR-PCI-MSIX-0000:03:00.0 0-edge eth0\n", "proc/interrupts");
    tree_text(t, "acpi PNP0A08:00: _OSC: OS now controls [PME AER PCIeCapability LTR]\n", "dev/kmsg");
    for (int i = 0; i < 4; i++) {
        tree_add_fn(t, &fns[i]);
        tree_group(t, i, fns[i].parent, fns[i].bdf);
        tree_text(t, "0x00000000fee00000 0x00000000feefffff msi\n", "sys/kernel/iommu_groups/%d/reserved_regions", i);
    }
}

static void
teardown(struct tree *t)
{
    tree_destroy(t);
    for (int i = 0; i < 3; i++) {
        pci_dump_destroy(dumps[i]);
        dumps[i] = NULL;
    }
}

static json_t *
device(json_t *root, const char *bdf)
{
    size_t i;
    json_t *d;

    json_array_foreach(json_object_get(root, "devices"), i, d)
    {
        if (strcmp(json_string_value(json_object_get(d, "bdf")), bdf) == 0) {
            return d;
        }
    }
    fail_msg("%s missing from the JSON report", bdf);
    return NULL;
}

static json_t *
check(json_t *dev, const char *name)
{
    size_t i;
    json_t *c;

    json_array_foreach(json_object_get(dev, "checks"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0) {
            return c;
        }
    }
    fail_msg("check %s missing", name);
    return NULL;
}

static void
test_json_report(void **state)
{
    static struct result r;
    char args[PATH_MAX + 32];
    json_error_t jerr;
    struct tree t;

    (void)state;
    build(&t);
    snprintf(args, sizeof(args), "--sysfs %s --json", t.root);
    run_cmd(&r, args);
    /* One function (the ConnectX-3 behind the ACS-enabled port) is assignable: exit 0. */
    assert_int_equal(r.status, 0);
    json_t *root = json_loads(r.out, 0, &jerr);
    if (root == NULL) {
        fail_msg("JSON: %s at line %d", jerr.text, jerr.line);
    }
    json_t *ep = device(root, "0000:03:00.0"), *pf = device(root, "0000:01:00.0");
    assert_string_equal(json_string_value(json_object_get(ep, "verdict")), "assignable");
    assert_string_equal(json_string_value(json_object_get(pf, "verdict")), "not assignable");
    /* The PF's reasons name the ACS failure on its root port, first of SurveyDDA's order that fails. */
    json_t *reasons = json_object_get(pf, "reasons");
    assert_true(json_array_size(reasons) >= 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(reasons, 0), "check")), "acs");
    assert_non_null(strstr(json_string_value(json_object_get(check(pf, "acs"), "why")), "0000:00:01.0"));
    json_t *hop = json_array_get(json_object_get(pf, "acs_path"), 1);
    assert_string_equal(json_string_value(json_object_get(hop, "bdf")), "0000:00:01.0");
    assert_int_equal(json_integer_value(json_object_get(hop, "acs_ctrl")) & 0x1d, 0);
    json_t *sr = json_object_get(pf, "sriov");
    assert_int_equal(json_integer_value(json_object_get(sr, "total_vfs")), 8);
    assert_int_equal(json_integer_value(json_object_get(sr, "vf_offset")), 384);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(root, "summary"), "assignable")), 1);
    assert_string_equal(json_string_value(json_object_get(check(ep, "interrupt_remapping"), "result")), "pass");
    json_decref(root);

    /* --device selects one function; its verdict decides the exit status. */
    snprintf(args, sizeof(args), "--sysfs %s --device 01:00.0", t.root);
    run_cmd(&r, args);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "verdict: not assignable: acs"));
    assert_non_null(strstr(r.out, "enable ACS SV RR CR UF on 0000:00:01.0"));
    assert_null(strstr(r.out, "\033["));
    snprintf(args, sizeof(args), "--sysfs %s --device 0000:03:00.0", t.root);
    run_cmd(&r, args);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "verdict: assignable"));
    teardown(&t);
}

static void
test_errors_and_help(void **state)
{
    static struct result r;

    (void)state;
    run_cmd(&r, "--help");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: pcivirt survey"));
    assert_non_null(strstr(r.out, "exit status"));
    run_cmd(&r, "--frobnicate");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--frobnicate"));
    run_cmd(&r, "--sysfs /nonexistent-pcivirt-root");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "/nonexistent-pcivirt-root"));
    run_cmd(&r, "--sysfs /tmp");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "sys/bus/pci/devices"));
    run_cmd(&r, "--device 1:2:3");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "1:2:3"));
    run_cmd(&r, "extra");
    assert_int_equal(r.status, 2);
}

/* The live host: no IOMMU on this kernel, so the honest answer is "not assignable". */
static void
test_live_host(void **state)
{
    static struct result r;

    (void)state;
    run_cmd(&r, "--json");
    if (access("/sys/bus/pci/devices", R_OK) != 0) {
        assert_int_equal(r.status, 2);
        return;
    }
    json_t *root = json_loads(r.out, 0, NULL);
    assert_non_null(root);
    json_t *iommu = json_object_get(json_object_get(root, "host"), "iommu");
    bool has_iommu = access("/sys/class/iommu", R_OK) == 0 &&
                     json_integer_value(json_object_get(json_object_get(root, "host"), "iommu_units")) > 0;
    assert_string_equal(json_string_value(json_object_get(iommu, "result")), has_iommu ? "pass" : "fail");
    if (!has_iommu) {
        assert_int_equal(r.status, 1);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(root, "summary"), "assignable")), 0);
    }
    json_decref(root);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_report),
        cmocka_unit_test(test_errors_and_help),
        cmocka_unit_test(test_live_host),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
