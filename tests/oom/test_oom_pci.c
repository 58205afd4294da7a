/*
 * tests/oom/test_oom_pci.c - allocation failure in the config engine and in the
 * device paths tests/dev/test_alloc_fail.c does not cover.
 *
 * Paths (tests/oom/oom.h runs each through every failing allocation):
 *  - a layout built with every capability builder, plus a config on it written
 *    until it takes its private copy (copy-on-write);
 *  - dump files loaded (single function with SR-IOV, and a multi-function tree),
 *    fingerprinted by their export text;
 *  - a device built from a real dump's profile (tests/dev covers the built-in
 *    profile): profile load, create, resources, enable, a VF write, export.
 */
#include "oom.h"

#include "dev/regs.h"
#include "dev/sriov_dev.h"
#include "pci/caps.h"
#include "pci/config.h"
#include "pci/dump.h"
#include "util/le.h"

#define DATA PCIVIRT_SHARED_DIR "/data/pciutils-tests"

/* ---- a layout from every builder, and a config written on it ------------------------ */

static int
add_caps(struct pci_layout *l)
{
    struct pci_header_params hp = {.vendor_id = 0x8086, .device_id = 0x10fb, .class_code = 0x020000};
    struct pci_pm_params pm = {.pmc = 0xc803};
    struct pci_msi_params msi = {.vectors = 8, .addr64 = true, .per_vector_mask = true};
    struct pci_msix_params mx = {.table_size = 64, .table_bir = 4, .pba_bir = 4, .pba_offset = 0x2000};
    struct pci_exp_params ex = {.type = PCI_EXP_TYPE_ENDPOINT, .devcap = PCI_EXP_DEVCAP_FLR};
    struct pci_aer_params aer = {0};
    struct pci_ari_params ari = {.next_function = 1, .cap_flags = PCI_ARI_CAP_ACS};
    struct pci_ats_params ats = {.queue_depth = 3};
    struct pci_sriov_params sp = {.initial_vfs = 8,
                                  .total_vfs = 8,
                                  .vf_offset = 1,
                                  .vf_stride = 1,
                                  .vf_bar = {[0] = {0x4000, PCI_BAR_MEM64}, [2] = {0x1000, PCI_BAR_MEM32}}};
    int rc = pci_layout_init_type0(l, &hp);

    rc = rc ? rc : pci_layout_add_bar(l, 0, 0x100000, PCI_BAR_MEM64, NULL);
    /* The capability builders return the offset they chose (> 0) or an error (< 0). */
    rc = rc < 0 ? rc : pci_cap_add_pm(l, 0, &pm, NULL);
    rc = rc < 0 ? rc : pci_cap_add_msi(l, 0, &msi, NULL);
    rc = rc < 0 ? rc : pci_cap_add_msix(l, 0, &mx, NULL);
    rc = rc < 0 ? rc : pci_cap_add_exp(l, 0, &ex, NULL);
    rc = rc < 0 ? rc : pci_ecap_add_aer(l, 0, &aer, NULL);
    rc = rc < 0 ? rc : pci_ecap_add_dsn(l, 0, 42, NULL);
    rc = rc < 0 ? rc : pci_ecap_add_acs(l, 0, PCI_ACS_EC | PCI_ACS_RR, NULL);
    rc = rc < 0 ? rc : pci_ecap_add_ari(l, 0, &ari, NULL);
    rc = rc < 0 ? rc : pci_ecap_add_ats(l, 0, &ats, NULL);
    rc = rc < 0 ? rc : pci_ecap_add_sriov(l, 0, &sp, NULL);
    return rc < 0 ? rc : 0;
}

static int
hook_count(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev, struct pcivirt_error *err)
{
    (void)cfg;
    (void)ev;
    (void)err;
    (*(int *)opaque)++;
    return 0;
}

struct built {
    struct pci_layout *layout;
    struct pci_config *cfg;
    int hooks;
};

static void
built_destroy(void *fx, void *obj)
{
    struct built *b = obj;

    (void)fx;
    if (b != NULL) {
        pci_config_destroy(b->cfg);
        pci_layout_unref(b->layout);
        pv_free(b);
    }
}

static int
build_layout(void *fx, void **obj)
{
    struct built *b = pv_calloc(1, sizeof(*b));
    int rc;

    (void)fx;
    if (b == NULL) {
        return PCIVIRT_ENOMEM;
    }
    rc = pci_layout_create(4096, &b->layout);
    rc = rc ? rc : add_caps(b->layout);
    rc = rc ? rc : pci_layout_add_hook(b->layout, PCI_COMMAND, 2, hook_count, &b->hooks);
    rc = rc ? rc : pci_config_create(b->layout, NULL, &b->cfg);
    /* The first write that changes a byte gives the config its private copy. */
    rc = rc ? rc : pci_config_write(b->cfg, PCI_COMMAND, 2, 0x0006, NULL);
    if (rc != 0) {
        built_destroy(fx, b);
        return rc;
    }
    *obj = b;
    return 0;
}

static void
fp_layout(void *fx, void *obj, struct oom_fp *fp)
{
    struct built *b = obj;
    uint32_t size = pci_layout_size(b->layout);

    (void)fx;
    oom_fp_bytes(fp, "template", pci_layout_template(b->layout), size);
    oom_fp_bytes(fp, "wmask", pci_layout_wmask(b->layout), size);
    oom_fp_bytes(fp, "w1c", pci_layout_w1cmask(b->layout), size);
    oom_fp_bytes(fp, "used", pci_layout_used(b->layout), size);
    oom_fp_bytes(fp, "config", pci_config_bytes(b->cfg), pci_config_size(b->cfg));
    oom_fp_add(fp, "hooks:%d;private:%zu", b->hooks, pci_config_private_bytes(b->cfg));
}

static void
test_layout_and_config(void **state)
{
    const struct oom_path p = {"layout+config", build_layout, fp_layout, built_destroy, PCIVIRT_ENOMEM, false};

    (void)state;
    oom_run(&p, NULL, 3);
}

/* ---- dumps --------------------------------------------------------------------------- */

static int
build_dump(void *fx, void **obj)
{
    struct pci_dump *d = NULL;
    int rc = pci_dump_load(fx, &d, NULL);

    if (rc == 0) {
        *obj = d;
    } else if (d != NULL) {
        fail_msg("pci_dump_load failed (%d) but handed out a dump", rc);
    }
    return rc;
}

static void
fp_dump(void *fx, void *obj, struct oom_fp *fp)
{
    struct pci_dump *d = obj;
    char *text = NULL;
    size_t len = 0;

    (void)fx;
    assert_int_equal(pci_dump_export(d, &text, &len), 0);
    oom_fp_add(fp, "funcs:%zu;", d->count);
    oom_fp_bytes(fp, "export", text, len);
    pv_free(text);
}

static void
dump_destroy(void *fx, void *obj)
{
    (void)fx;
    pci_dump_destroy(obj);
}

static void
test_dump_load(void **state)
{
    const struct oom_path p = {"dump load", build_dump, fp_dump, dump_destroy, PCIVIRT_ENOMEM, false};

    (void)state;
    oom_run(&p, DATA "/cap-pcie-2", 2);
    oom_run(&p, DATA "/tree-asus-p6t6", 2);
}

/* ---- a device from a real dump --------------------------------------------------------- */

struct devobj {
    struct pv_sriov_dev *dev;
    struct pv_platform *plat;
    struct pci_dump *exported;
};

static void
devobj_destroy(void *fx, void *obj)
{
    struct devobj *o = obj;

    (void)fx;
    if (o != NULL) {
        pci_dump_destroy(o->exported);
        pv_sriov_destroy(o->dev);
        pv_platform_destroy(o->plat);
        pv_free(o);
    }
}

/*
 * The whole bring-up of a dump-based device.  Each step either succeeds or
 * returns PCIVIRT_ENOMEM; the steps after a failed one do not run.
 */
static int
build_dump_device(void *fx, void **obj)
{
    struct devobj *o = pv_calloc(1, sizeof(*o));
    struct pv_profile p;
    uint8_t one[4] = {0x5a, 0, 0, 0};
    uint16_t rid = 0;
    int rc;

    if (o == NULL) {
        return PCIVIRT_ENOMEM;
    }
    rc = pv_profile_load(&p, fx, NULL);
    rc = rc ? rc : pv_sriov_create(&p, &o->dev, NULL);
    rc = rc ? rc : pv_platform_create(NULL, &o->plat);
    rc = rc ? rc : pv_sriov_assign_resources(o->dev, o->plat, NULL);
    rc = rc ? rc : pv_sriov_enable(o->dev, p.total_vfs, NULL);
    rc = rc ? rc : pv_sriov_vf_rid(o->dev, 1, &rid);
    rc = rc ? rc : pv_sriov_mmio_write(o->dev, rid, 0, SWVF_REG_SCRATCH, one, 4);
    rc = rc ? rc : pci_dump_create(&o->exported);
    rc = rc ? rc : pv_sriov_export(o->dev, o->exported, 2);
    if (rc != 0) {
        devobj_destroy(fx, o);
        return rc;
    }
    *obj = o;
    return 0;
}

static void
fp_dump_device(void *fx, void *obj, struct oom_fp *fp)
{
    struct devobj *o = obj;
    struct pcivirt_bus_resources res;
    uint8_t b[4];
    uint16_t rid;

    fp_dump(fx, o->exported, fp);
    assert_int_equal(pv_sriov_query_resources(o->dev, &res), 0);
    oom_fp_bytes(fp, "resources", &res, sizeof(res));
    assert_int_equal(pv_sriov_vf_rid(o->dev, 1, &rid), 0);
    assert_int_equal(pv_sriov_mmio_read(o->dev, rid, 0, SWVF_REG_SCRATCH, b, 4), 0);
    oom_fp_add(fp, "scratch:%08x", le32_get(b));
}

static void
test_dump_device(void **state)
{
    const struct oom_path p = {"dump device", build_dump_device, fp_dump_device, devobj_destroy, PCIVIRT_ENOMEM, false};

    (void)state;
    oom_run(&p, DATA "/cap-pcie-2", 5);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_and_config),
        cmocka_unit_test(test_dump_load),
        cmocka_unit_test(test_dump_device),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
