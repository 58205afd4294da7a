/*
 * tests/cli/test_lspci.c - `pcivirt lspci --device ...` judged by the real lspci.
 *
 * For the built-in profile and for every real dump with an SR-IOV capability
 * (cap-pcie-2, cap-ea-1, cap-phy32, cap-dvsec-cxl, cap-ide) the command's -xxxx
 * output goes to `lspci -vvv -F` and `lspci -n -F`.  The expected routing IDs are
 * computed here, independently of the command: for a dump, from what the real
 * lspci decodes out of the ORIGINAL file (the PF's address, Total VFs, "VF offset:
 * N, stride: M"), RID = PF RID + offset + i x stride (device-model.md 5.1); for
 * the built-in profile from the spec (82599: PF 03:00.0, 64 VFs, 128/2 with ARI,
 * 384/2 without, device-model.md 5.4 and 10), plus the worked example of 5.4 for
 * cap-pcie-2 (VF1 at 02:10.0, VF8 at 02:11.6).  Each VF must decode as a VF
 * (ffff:ffff, the PF's class, no BARs, no interrupt pin, FLR, no SR-IOV) and the
 * PF's SR-IOV lines must show the requested NumVFs and VF Enable.
 *
 * Then the listing, -n and -t forms are compared byte for byte with lspci's own
 * rendering of the same functions (VF ids patched to what Linux reports for VFs,
 * since that is how the command names them), with and without pci.ids.
 */
#include "lspci_cmd.h"

#include "../pci/lspci_oracle.h"
#include "pci/caps.h"
#include "pci/dump.h"
#include "pci/regs.h"

struct expect {
    unsigned domain;
    unsigned pf_rid;
    unsigned total, offset, stride;
    unsigned class_code; /* class << 8 | subclass, as lspci -n prints it */
};

struct dev_case {
    const char *device;   /* --device argument */
    const char *original; /* the dump the oracle reads, NULL: built-in */
};

static const struct dev_case cases[] = {
    {"builtin:82599", NULL},
    {DATA "/cap-pcie-2", DATA "/cap-pcie-2"},
    {DATA "/cap-ea-1", DATA "/cap-ea-1"},
    {DATA "/cap-phy32", DATA "/cap-phy32"},
    {DATA "/cap-dvsec-cxl", DATA "/cap-dvsec-cxl"},
    {DATA "/cap-ide", DATA "/cap-ide"},
};

static void
parse_addr(const char *s, unsigned *domain, unsigned *rid)
{
    unsigned d = 0, b, v, f;

    if (sscanf(s, "%x:%x:%x.%x", &d, &b, &v, &f) != 4) {
        d = 0;
        assert_int_equal(sscanf(s, "%x:%x.%x", &b, &v, &f), 3);
    }
    *domain = d;
    *rid = b << 8 | v << 3 | f;
}

static unsigned
field_after(const char *body, const char *label)
{
    const char *p = strstr(body, label);
    unsigned v = 0;

    assert_non_null(p);
    assert_int_equal(sscanf(p + strlen(label), "%u", &v), 1);
    return v;
}

/* What lspci reads out of the original dump: where the SR-IOV PF is and its geometry. */
static void
expect_from_original(const char *path, struct expect *e)
{
    struct lspci_out o;
    struct run n;
    const struct lspci_dev *pf = NULL;
    char line[64];
    const char *p;

    lspci_run("-vvv", path, &o);
    for (size_t i = 0; i < o.n; i++) {
        if (lspci_has(&o.dev[i], "Single Root I/O Virtualization")) {
            assert_null(pf); /* exactly one SR-IOV function in these dumps */
            pf = &o.dev[i];
        }
    }
    if (pf == NULL) {
        fail_msg("lspci finds no SR-IOV function in %s", path);
        return;
    }
    parse_addr(pf->addr, &e->domain, &e->pf_rid);
    e->total = field_after(pf->body, "Total VFs: ");
    e->offset = field_after(pf->body, "VF offset: ");
    e->stride = field_after(pf->body, "stride: ");
    run_real_lspci(&n, "-n", path);
    snprintf(line, sizeof(line), "%s ", pf->addr);
    p = strstr(n.out, line);
    assert_non_null(p);
    assert_int_equal(sscanf(p + strlen(line), "%x:", &e->class_code), 1);
    run_free(&n);
    lspci_free(&o);
}

/* The spec's built-in profile (profile.h, device-model.md 5.4 / 10). */
static void
expect_builtin(struct expect *e, bool ari)
{
    *e = (struct expect){0, 0x0300, 64, ari ? 128 : 384, 2, 0x0200};
}

static void
expect_for(const struct dev_case *c, struct expect *e)
{
    if (c->original != NULL) {
        expect_from_original(c->original, e);
    } else {
        expect_builtin(e, true);
    }
}

/* lspci's IOVCtl line of the PF block: Enable± and ARIHierarchy±. */
static void
check_iovctl(const struct lspci_dev *pf, bool enable, int ari)
{
    const char *ctl = strstr(pf->body, "IOVCtl:");
    char line[256];
    size_t len;

    assert_non_null(ctl);
    len = strcspn(ctl, "\n");
    assert_true(len < sizeof(line));
    memcpy(line, ctl, len);
    line[len] = '\0';
    assert_non_null(strstr(line, enable ? "Enable+" : "Enable-"));
    assert_non_null(strstr(line, enable ? "MSE+" : "MSE-"));
    if (ari >= 0) {
        assert_non_null(strstr(line, ari ? "ARIHierarchy+" : "ARIHierarchy-"));
    }
}

static void
check_vf_block(const struct lspci_dev *vf, const char *addr)
{
    if (vf == NULL) {
        fail_msg("lspci shows no function at %s", addr);
        return;
    }
    assert_false(lspci_has(vf, "Region ")); /* VF BARs read 0 (device-model.md 3) */
    assert_false(lspci_has(vf, "Expansion ROM"));
    assert_false(lspci_has(vf, "Interrupt: pin"));                 /* Interrupt Pin 0 */
    assert_false(lspci_has(vf, "Single Root I/O Virtualization")); /* a VF has no SR-IOV capability */
    assert_true(lspci_has(vf, "FLReset+"));                        /* VFs must support FLR */
    assert_true(lspci_has(vf, "Mem-"));                            /* Memory Space is RsvdP in a VF */
}

/*
 * Run `pcivirt lspci --device DEV ARGS -xxxx` and check it with lspci.  @n is the
 * NumVFs the command should have enabled; @ari -1 when not checked.
 */
static void
check_with_lspci(const char *device, const char *args, const struct expect *e, unsigned n, int ari)
{
    char path[64], addr[24], want[64];
    struct run r, num;
    struct lspci_out o;
    const struct lspci_dev *pf;
    const char *p;

    run_lspci(&r, "--device '%s' %s -xxxx", device, args);
    assert_int_equal(r.status, 0);
    write_temp(path, r.out, r.out_len);
    lspci_run("-vvv", path, &o);
    assert_int_equal(WEXITSTATUS(o.status), 0);
    assert_int_equal(o.n, 1 + n);
    rid_addr(addr, sizeof(addr), e->domain, e->pf_rid);
    pf = lspci_find(&o, addr, 0);
    if (pf == NULL) {
        fail_msg("lspci shows no PF at %s", addr);
        return;
    }
    check_iovctl(pf, n > 0, ari);
    assert_int_equal(field_after(pf->body, "Number of VFs: "), n);
    assert_int_equal(field_after(pf->body, "Total VFs: "), e->total);
    run_real_lspci(&num, "-n", path);
    p = num.out;
    snprintf(want, sizeof(want), "%s %04x: ", addr, e->class_code);
    assert_memory_equal(p, want, strlen(want)); /* the PF first */
    for (unsigned i = 0; i < n; i++) {
        unsigned rid = e->pf_rid + e->offset + i * e->stride;

        rid_addr(addr, sizeof(addr), e->domain, rid);
        check_vf_block(lspci_find(&o, addr, 0), addr);
        p = strchr(p, '\n');
        assert_non_null(p);
        p++;
        snprintf(want, sizeof(want), "%s %04x: ffff:ffff", addr, e->class_code);
        assert_memory_equal(p, want, strlen(want)); /* VF i in order, reading ffff:ffff */
    }
    run_free(&num);
    lspci_free(&o);
    run_free(&r);
    unlink(path);
}

static void
test_every_device_at_total_vfs(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct expect e;

        expect_for(&cases[i], &e);
        check_with_lspci(cases[i].device, "", &e, e.total, -1);
    }
}

static void
test_cap_pcie_2_worked_example(void **state)
{
    struct run r;

    (void)state;
    /* device-model.md 5.4: 82576 at 01:00.0, non-ARI, 384/2: VF1 02:10.0, 8th VF 02:11.6. */
    run_lspci(&r, "--device '%s' -n", DATA "/cap-pcie-2");
    assert_int_equal(r.status, 0);
    assert_int_equal(count_of(r.out, "\n"), 9);
    assert_non_null(strstr(r.out, "01:00.0 0200: 8086:10c9 (rev 01)\n02:10.0 0200: 8086:10ca (rev 01)\n"));
    assert_non_null(strstr(r.out, "02:11.6 0200: 8086:10ca (rev 01)\n"));
    run_free(&r);
}

static void
test_numvfs_and_ari(void **state)
{
    struct expect e;

    (void)state;
    expect_builtin(&e, true);
    check_with_lspci("builtin:82599", "--numvfs 3", &e, 3, 1);
    check_with_lspci("builtin:82599", "--numvfs 0", &e, 0, 1);
    expect_builtin(&e, false); /* 384/2 without ARI: VFs on bus 04 */
    check_with_lspci("builtin:82599", "--ari off", &e, 64, 0);
    expect_from_original(DATA "/cap-phy32", &e);
    check_with_lspci(DATA "/cap-phy32", "--numvfs 5 --ari on", &e, 5, 1);
    expect_from_original(DATA "/cap-pcie-2", &e);
    check_with_lspci(DATA "/cap-pcie-2", "--numvfs 2 --ari off", &e, 2, 0);
}

static void
test_dump_sizes(void **state)
{
    static const struct {
        const char *flag;
        unsigned lines;
    } forms[] = {{"-x", 4}, {"-xxx", 16}, {"-xxxx", 256}};
    struct run r, l;
    char path[64];

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        run_lspci(&r, "--device '%s' %s", DATA "/cap-pcie-2", forms[i].flag);
        assert_int_equal(r.status, 0);
        /* 9 functions, each: one address line, the hex lines, one empty line. */
        assert_int_equal(count_of(r.out, "\n"), 9 * (forms[i].lines + 2));
        assert_int_equal(count_of(r.out, "\n00: "), 9); /* each function: its address line, then offset 00 */
        write_temp(path, r.out, r.out_len);
        run_real_lspci(&l, "-n", path);
        assert_int_equal(l.status, 0);
        assert_int_equal(count_of(l.out, "\n"), 9);
        assert_non_null(strstr(l.out, "02:11.6 0200: ffff:ffff (rev 01)\n"));
        run_free(&l);
        run_free(&r);
        unlink(path);
    }
}

/*
 * lspci's rendering of our functions with VF ids as Linux reports them (PF
 * vendor, VF Device ID): the dump from -xxxx, VF bytes 0-3 patched.
 */
static void
patched_dump(const char *device, char *path)
{
    struct pci_dump *d = NULL;
    struct run r;
    int sriov;
    uint8_t id[4];

    run_lspci(&r, "--device '%s' -xxxx", device);
    assert_int_equal(r.status, 0);
    assert_int_equal(pci_dump_parse(r.out, r.out_len, "out", &d, NULL), 0);
    sriov = pci_ecap_find(d->funcs[0]->bytes, 4096, PCI_ECAP_ID_SRIOV, 0, NULL);
    assert_true(sriov > 0);
    memcpy(id, d->funcs[0]->bytes, 2);
    memcpy(id + 2, d->funcs[0]->bytes + sriov + PCI_SRIOV_VF_DID, 2);
    for (size_t i = 1; i < d->count; i++) {
        assert_memory_equal(d->funcs[i]->bytes, "\xff\xff\xff\xff", 4);
        memcpy(d->funcs[i]->bytes, id, 4);
    }
    strcpy(path, "/tmp/pcivirt-lspci-patched-XXXXXX");
    close(mkstemp(path));
    assert_int_equal(pci_dump_save(d, path, NULL), 0);
    pci_dump_destroy(d);
    run_free(&r);
}

static void
same_as_lspci(const char *device, const char *ours, const char *theirs, const char *path)
{
    struct run a, b;

    run_lspci(&a, "--device '%s' %s", device, ours);
    run_real_lspci(&b, theirs, path);
    assert_int_equal(a.status, 0);
    assert_int_equal(b.status, 0);
    if (strcmp(a.out, b.out) != 0) {
        print_error("pcivirt lspci %s:\n%s\nlspci %s -F:\n%s\n", ours, a.out, theirs, b.out);
    }
    assert_string_equal(a.out, b.out);
    run_free(&a);
    run_free(&b);
}

static void
test_forms_equal_lspci(void **state)
{
    static const char *const devices[] = {"builtin:82599", DATA "/cap-pcie-2", DATA "/cap-ea-1", DATA "/cap-ide",
                                          DATA "/cap-dvsec-cxl"};
    /* A pci.ids with one vendor and one class without subclasses: lspci's in-between fallbacks. */
    static const char ids[] = "8086  Intel Corporation\nC 02  Network controller\n";
    char path[64], ids_path[64], vendor_only[96];

    (void)state;
    write_temp(ids_path, ids, sizeof(ids) - 1);
    snprintf(vendor_only, sizeof(vendor_only), "-nn -i %s", ids_path);
    for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
        patched_dump(devices[i], path);
        same_as_lspci(devices[i], "", "", path);
        same_as_lspci(devices[i], "-n", "-n", path);
        same_as_lspci(devices[i], "-t", "-t", path);
        same_as_lspci(devices[i], "-tv", "-tv", path);
        same_as_lspci(devices[i], "-tvn", "-tvn", path);
        same_as_lspci(devices[i], "-nn", "-nn", path);
        same_as_lspci(devices[i], "-tvnn", "-tvnn", path);
        same_as_lspci(devices[i], "-i /nonexistent/pci.ids", "-i /nonexistent/pci.ids", path);
        same_as_lspci(devices[i], "-nn -i /nonexistent/pci.ids", "-nn -i /nonexistent/pci.ids", path);
        same_as_lspci(devices[i], vendor_only, vendor_only, path);
        same_as_lspci(devices[i], vendor_only + 4, vendor_only + 4, path); /* without -nn */
        unlink(path);
    }
    unlink(ids_path);
}

/* -t by itself: every function under the bus its routing ID names. */
static void
test_tree_buses(void **state)
{
    struct expect e;
    struct run r;
    unsigned bus = 0x100, seen = 0, dev, fn;
    char *save = NULL;

    (void)state;
    expect_from_original(DATA "/cap-pcie-2", &e);
    run_lspci(&r, "--device '%s' -t", DATA "/cap-pcie-2");
    assert_int_equal(r.status, 0);
    for (char *line = strtok_r(r.out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char *b = strchr(line, '['), *f;
        unsigned d;

        if (b != NULL) {
            assert_int_equal(sscanf(b, "[%x:%x]", &d, &bus), 2);
        }
        f = line + strlen(line) - 4; /* "dd.f" ends each function's line */
        if (sscanf(f, "%2x.%1x", &dev, &fn) == 2 && f[2] == '.') {
            unsigned rid = bus << 8 | dev << 3 | fn;

            assert_true(rid == e.pf_rid || (rid > e.pf_rid && (rid - e.pf_rid - e.offset) % e.stride == 0 &&
                                            (rid - e.pf_rid - e.offset) / e.stride < e.total));
            seen++;
        }
    }
    assert_int_equal(seen, 1 + e.total);
    run_free(&r);
}

/* -v: the PF's registers and each VF's index, from the original dump's geometry; lspci -F still reads it. */
static void
test_verbose(void **state)
{
    struct expect e;
    struct run r, l;
    char want[160], first[24], last[24], path[64];
    unsigned lrid;

    (void)state;
    expect_from_original(DATA "/cap-pcie-2", &e);
    lrid = e.pf_rid + e.offset + (e.total - 1) * e.stride;
    rid_addr(first, sizeof(first), e.domain, e.pf_rid + e.offset);
    rid_addr(last, sizeof(last), e.domain, lrid);
    run_lspci(&r, "--device '%s' -v -xxxx", DATA "/cap-pcie-2");
    assert_int_equal(r.status, 0);
    snprintf(want, sizeof(want), "TotalVFs %u, InitialVFs %u, NumVFs %u, VF Enable+, VF MSE+, ARI Capable Hierarchy-",
             e.total, e.total, e.total);
    assert_non_null(strstr(r.out, want));
    snprintf(want, sizeof(want), "First VF Offset %u, VF Stride %u", e.offset, e.stride);
    assert_non_null(strstr(r.out, want));
    snprintf(want, sizeof(want), "index 0 at %s .. index %u at %s", first, e.total - 1, last);
    assert_non_null(strstr(r.out, want));
    for (unsigned i = 0; i < e.total; i++) {
        char addr[24];
        const char *at;

        rid_addr(addr, sizeof(addr), e.domain, e.pf_rid + e.offset + i * e.stride);
        snprintf(want, sizeof(want), "\n%s ", addr);
        at = strstr(r.out, want);
        assert_non_null(at);
        snprintf(want, sizeof(want), "\tVirtual function: index %u of PF 01:00.0, routing ID 0x%04x", i,
                 e.pf_rid + e.offset + i * e.stride);
        assert_non_null(strstr(at, want));
    }
    write_temp(path, r.out, r.out_len);
    run_real_lspci(&l, "-n", path);
    assert_int_equal(count_of(l.out, "\n"), 1 + e.total);
    run_free(&l);
    run_free(&r);
    unlink(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_device_at_total_vfs),
        cmocka_unit_test(test_cap_pcie_2_worked_example),
        cmocka_unit_test(test_numvfs_and_ari),
        cmocka_unit_test(test_dump_sizes),
        cmocka_unit_test(test_forms_equal_lspci),
        cmocka_unit_test(test_tree_buses),
        cmocka_unit_test(test_verbose),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
