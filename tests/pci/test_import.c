/*
 * tests/pci/test_import.c - layouts imported from real config bytes.
 *
 * Oracle 1: a function made by the builders, exported as bytes and imported
 * again, must get exactly the builders' masks and used map (after the BAR sizes,
 * which bytes cannot show, are opened the same way).  Oracle 2: every type-0
 * function of the real captures imports exactly when the strict walker accepts
 * its chains, keeps its bytes, and an SR-IOV PF among them gets the writable
 * registers device-model.md 1.1 lists.
 */
#include <dirent.h>

#include "lspci_oracle.h"
#include "pci/caps.h"
#include "pci/dump.h"
#include "util/alloc.h"
#include "util/le.h"

#define DATA PCIVIRT_SHARED_DIR "/data"

static struct pci_layout *
build(void)
{
    struct pci_layout *l = NULL;
    struct pci_header_params hp = {
        .vendor_id = 0x8086, .device_id = 0x10fb, .class_code = 0x020000, .interrupt_pin = 1};
    struct pci_pm_params pm = {.pmc = 0xc803};
    struct pci_msi_params msi = {.vectors = 8, .addr64 = true, .per_vector_mask = true};
    struct pci_msix_params mx = {.table_size = 64, .table_bir = 4, .pba_bir = 4, .pba_offset = 0x2000};
    struct pci_exp_params ex = {.type = PCI_EXP_TYPE_ENDPOINT, .devcap = PCI_EXP_DEVCAP_FLR};
    struct pci_vndr_params vp = {.length = 12};
    struct pci_aer_params aer = {.ecrc_gen_capable = true};
    struct pci_ari_params ari = {.next_function = 1, .cap_flags = PCI_ARI_CAP_ACS};
    struct pci_ats_params ats = {.queue_depth = 3};
    struct pci_sriov_params sp = {.initial_vfs = 8,
                                  .total_vfs = 8,
                                  .vf_offset = 1,
                                  .vf_stride = 1,
                                  .caps = PCI_SRIOV_CAP_VF_10BIT_TAG,
                                  .ari_hierarchy_writable = true,
                                  .vf_bar = {[0] = {0x4000, PCI_BAR_MEM64}, [2] = {0x1000, PCI_BAR_MEM32}}};

    assert_int_equal(pci_layout_create(4096, &l), 0);
    assert_int_equal(pci_layout_init_type0(l, &hp), 0);
    assert_int_equal(pci_layout_add_bar(l, 0, 0x100000, PCI_BAR_MEM64 | PCI_BAR_PREFETCH, NULL), 0);
    assert_int_equal(pci_layout_add_bar(l, 2, 0x40, PCI_BAR_IO, NULL), 0);
    assert_true(pci_cap_add_pm(l, 0, &pm, NULL) > 0);
    assert_true(pci_cap_add_msi(l, 0, &msi, NULL) > 0);
    assert_true(pci_cap_add_vndr(l, 0, &vp, NULL) > 0);
    assert_true(pci_cap_add_msix(l, 0, &mx, NULL) > 0);
    assert_true(pci_cap_add_exp(l, 0, &ex, NULL) > 0);
    assert_true(pci_ecap_add_aer(l, 0, &aer, NULL) > 0);
    assert_true(pci_ecap_add_dsn(l, 0, 7, NULL) > 0);
    assert_true(pci_ecap_add_acs(l, 0, PCI_ACS_EC | PCI_ACS_RR | (40u << 8), NULL) > 0);
    assert_true(pci_ecap_add_ari(l, 0, &ari, NULL) > 0);
    assert_true(pci_ecap_add_ats(l, 0, &ats, NULL) > 0);
    assert_true(pci_ecap_add_sriov(l, 0, &sp, NULL) > 0);
    return l;
}

static void
test_import_of_builder_output_gives_builder_masks(void **state)
{
    struct pci_layout *a = build(), *b = NULL;
    struct pcivirt_error err = {0};
    int sriov;

    (void)state;
    assert_int_equal(pci_layout_import(pci_layout_template(a), 4096, PCI_IMPORT_ARI_HIERARCHY_RW, &b, &err), 0);
    assert_memory_equal(pci_layout_template(a), pci_layout_template(b), 4096);
    /* Sizes a dump cannot show: open them as the device would. */
    assert_int_equal(pci_layout_set_bar_size(b, 0, 0x100000, &err), 0);
    assert_int_equal(pci_layout_set_bar_size(b, 2, 0x40, &err), 0);
    sriov = pci_ecap_find(pci_layout_template(b), 4096, PCI_ECAP_ID_SRIOV, 0, &err);
    assert_true(sriov > 0);
    assert_int_equal(pci_ecap_sriov_set_bar_size(b, (uint16_t)sriov, 0, 0x4000, &err), 0);
    assert_int_equal(pci_ecap_sriov_set_bar_size(b, (uint16_t)sriov, 2, 0x1000, &err), 0);
    assert_int_equal(pci_ecap_sriov_set_bar_size(b, (uint16_t)sriov, 1, 0x1000, &err), PCIVIRT_EINVAL);
    assert_non_null(strstr(err.message, "upper half"));
    assert_int_equal(pci_layout_set_bar_size(b, 1, 0x1000, &err), PCIVIRT_EINVAL);
    assert_int_equal(pci_ecap_sriov_set_bar_size(b, 0x100, 0, 0x1000, &err), PCIVIRT_EINVAL);
    assert_int_equal(pci_ecap_sriov_set_bar_size(b, (uint16_t)sriov, 5, 0x1001, &err), PCIVIRT_EINVAL);
    assert_int_equal(pci_ecap_sriov_set_bar_size(b, (uint16_t)sriov, 4, 0, &err), 0); /* absent stays closed */
    assert_memory_equal(pci_layout_wmask(a), pci_layout_wmask(b), 4096);
    assert_memory_equal(pci_layout_w1cmask(a), pci_layout_w1cmask(b), 4096);
    assert_memory_equal(pci_layout_used(a), pci_layout_used(b), 4096);
    /* Both append a further capability at the same place, linked the same way. */
    assert_int_equal(pci_cap_add(b, PCI_CAP_ID_VNDR, 0, 8, &err), pci_cap_add(a, PCI_CAP_ID_VNDR, 0, 8, NULL));
    assert_int_equal(pci_ecap_add(b, 0x0b, 1, 0, 8, &err), pci_ecap_add(a, 0x0b, 1, 0, 8, NULL));
    assert_memory_equal(pci_layout_template(a), pci_layout_template(b), 4096);
    /* An overlapping addition names the imported capability. */
    assert_int_equal(pci_ecap_add(b, 0x0b, 1, (uint16_t)sriov + 8, 8, &err), PCIVIRT_EOVERLAP);
    pci_layout_unref(a);
    pci_layout_unref(b);
}

static void
test_import_rejects(void **state)
{
    uint8_t buf[4096] = {0};
    struct pci_layout *l = (struct pci_layout *)1;
    struct pcivirt_error err = {0};

    (void)state;
    buf[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_BRIDGE;
    assert_int_equal(pci_layout_import(buf, 256, 0, &l, &err), PCIVIRT_ENOTSUP);
    assert_null(l);
    assert_string_equal(err.field, "header type");
    assert_int_equal(pci_layout_import(buf, 63, 0, &l, &err), PCIVIRT_EINVAL);
    buf[PCI_HEADER_TYPE] = 0;
    buf[PCI_STATUS] = PCI_STATUS_CAP_LIST;
    buf[PCI_CAPABILITY_LIST] = 0x40;
    buf[0x40] = PCI_CAP_ID_VNDR;
    buf[0x41] = 0x40;
    assert_int_equal(pci_layout_import(buf, 256, 0, &l, &err), PCIVIRT_ELOOP);
    buf[0x41] = 0;
    assert_int_equal(pci_layout_import(buf, 64, 0, &l, &err), PCIVIRT_ERANGE); /* chain past 64 bytes */
    assert_int_equal(pci_layout_import(buf, 256, 0, &l, &err), 0);
    assert_int_equal(pci_layout_size(l), 256);
    pci_layout_unref(l);
}

static unsigned imported, refused, sriov_pfs;

static void
check_real_function(const char *file, const struct pci_dump_func *f)
{
    struct pci_layout *l = NULL;
    struct pcivirt_error err = {0};
    unsigned n;
    int walk_rc, rc, sriov;

    if (f->len < 64 || (f->bytes[PCI_HEADER_TYPE] & 0x7f) != 0) {
        return;
    }
    walk_rc = pci_cap_walk_std(f->bytes, f->len, NULL, 0, &n, NULL) == 0 ? 0 : -1;
    if (walk_rc == 0 && f->len > 256 && pci_cfg_has_ext(f->bytes, f->len)) {
        walk_rc = pci_cap_walk_ext(f->bytes, f->len, NULL, 0, &n, NULL) == 0 ? 0 : -1;
    }
    rc = pci_layout_import(f->bytes, f->len, 0, &l, &err);
    if ((rc == 0) != (walk_rc == 0)) {
        fail_msg("%s: import rc %d (%s), walker %d", file, rc, err.message, walk_rc);
    }
    if (rc != 0) {
        refused++;
        return;
    }
    imported++;
    assert_memory_equal(pci_layout_template(l), f->bytes, f->len);
    sriov = f->len > 256 ? pci_ecap_find(f->bytes, f->len, PCI_ECAP_ID_SRIOV, 0, NULL) : -1;
    if (sriov > 0 && pci_cfg_has_ext(f->bytes, f->len)) {
        const uint8_t *wm = pci_layout_wmask(l);

        /* NumVFs RW, System Page Size RW on the supported bits, VF Enable and VF MSE RW,
         * ARI Capable Hierarchy closed without PCI_IMPORT_ARI_HIERARCHY_RW; TotalVFs RO. */
        assert_int_equal(le16_get(wm + sriov + PCI_SRIOV_NUM_VF), 0xffff);
        assert_int_equal(le32_get(wm + sriov + PCI_SRIOV_SYS_PGSIZE),
                         le32_get(f->bytes + sriov + PCI_SRIOV_SUP_PGSIZE));
        assert_int_equal(le16_get(wm + sriov + PCI_SRIOV_CTRL) & 0x19, 0x09);
        assert_int_equal(le16_get(wm + sriov + PCI_SRIOV_TOTAL_VF), 0);
        sriov_pfs++;
    }
    pci_layout_unref(l);
}

static void
test_import_every_real_function(void **state)
{
    DIR *dp = opendir(DATA "/pciutils-tests");
    struct dirent *e;

    (void)state;
    assert_non_null(dp);
    while ((e = readdir(dp)) != NULL) {
        char path[4096];
        struct pci_dump *d = NULL;

        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), DATA "/pciutils-tests/%s", e->d_name);
        assert_int_equal(pci_dump_load(path, &d, NULL), 0);
        for (size_t i = 0; i < d->count; i++) {
            check_real_function(path, d->funcs[i]);
        }
        pci_dump_destroy(d);
    }
    closedir(dp);
    assert_true(imported > 50);
    /* data/README.md lists five captures with an SR-IOV PF. */
    assert_int_equal(sriov_pfs, 5);
}

/* Every allocation failure in build and import fails cleanly (ASan checks leaks). */
static void
test_allocation_failures(void **state)
{
    struct pci_layout *a = build(), *b = NULL;
    long i = 0;
    int rc;

    (void)state;
    do {
        pv_alloc_fail_after(i++, 1);
        rc = pci_layout_import(pci_layout_template(a), 4096, 0, &b, NULL);
        pv_alloc_fail_after(-1, 0);
        assert_true(rc == 0 || rc == PCIVIRT_ENOMEM);
        if (rc != 0) {
            assert_null(b);
        }
    } while (rc != 0);
    assert_true(i > 5); /* layout, arrays, walk buffers, capability records */
    pci_layout_unref(b);
    /* Builders: a failing capability record leaves the layout usable. */
    pv_alloc_fail_after(0, 1);
    assert_int_equal(pci_cap_add(a, PCI_CAP_ID_VNDR, 0, 8, NULL), PCIVIRT_ENOMEM);
    assert_int_equal(pci_layout_add_hook(a, 0, 4, NULL, NULL), PCIVIRT_EINVAL);
    pv_alloc_fail_after(-1, 0);
    assert_true(pci_cap_add(a, PCI_CAP_ID_VNDR, 0, 8, NULL) > 0);
    pci_layout_unref(a);
}

int
main(void)
{
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_of_builder_output_gives_builder_masks),
        cmocka_unit_test(test_import_rejects),
        cmocka_unit_test(test_import_every_real_function),
        cmocka_unit_test(test_allocation_failures),
    };
    /* clang-format on */

    return cmocka_run_group_tests(tests, NULL, NULL);
}
