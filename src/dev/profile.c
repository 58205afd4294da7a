/*
 * dev/profile.c - the built-in profiles and profiles read from lspci dumps.
 *
 * A dump gives the PF's bytes but not everything a device needs: BAR sizes are
 * not in config bytes (they live in the write masks), and a device's offset and
 * stride for the other ARI state are not either.  The choices made here are in
 * docs/DEVICE.md: per-VF BAR size 16 KiB (enough for the register file and
 * MSI-X; every captured VF BAR address is aligned to it), PF BAR sizes 16 KiB
 * (the register BAR sized for its per-VF table), offset and stride as captured
 * for both ARI states.
 */
#include "dev/profile.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dev/geometry.h"
#include "dev/regs.h"
#include "pci/caps.h"
#include "pci/dump.h"
#include "util/le.h"

#define DUMP_VF_BAR_SIZE 0x4000u
#define DUMP_PF_BAR_SIZE 0x4000u

void
pv_profile_warn(struct pv_profile *p, const char *fmt, ...)
{
    va_list ap;

    if (p->warning_count < PV_PROFILE_MAX_WARNINGS) {
        va_start(ap, fmt);
        vsnprintf(p->warnings[p->warning_count], PV_PROFILE_WARNING_MAX, fmt, ap);
        va_end(ap);
    }
    p->warning_count++;
}

void
pv_profile_default(struct pv_profile *p)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "builtin:82599");
    p->vendor_id = 0x8086;
    p->device_id = 0x10fb;
    p->vf_device_id = 0x10ed;
    p->subsys_vendor_id = 0x8086;
    p->subsys_id = 0x0003;
    p->vf_subsys_id = 0x0003;
    p->revision = 0x01;
    p->vf_revision = 0x01;
    p->class_code = 0x020000;
    p->pf_rid = 0x0300;
    p->ari_forwarding = true;
    p->initial_vfs = 64;
    p->total_vfs = 64;
    /* device-model.md 10: 82599 offset 128 / stride 2 with ARI, 384 / 2 without. */
    p->offset_ari = 128;
    p->stride_ari = 2;
    p->offset_noari = 384;
    p->stride_noari = 2;
    p->sriov_caps = 0x2; /* ARI Capable Hierarchy Preserved */
    p->supported_page_sizes = 0x553;
    p->system_page_size = 0x1;
    p->vf_bar[0] = (struct pv_bar_desc){0x4000, true, true};
    p->vf_bar[3] = (struct pv_bar_desc){0x4000, true, true};
    p->pf_bar[0] = (struct pv_bar_desc){0x80000, true, false};
    p->pf_bar[4] = (struct pv_bar_desc){0x4000, true, false};
    p->has_ari = true;
    p->pm_no_soft_reset = true;
    p->vf_regs_bar = 0;
    p->vf_msix_bar = 3;
    p->vf_msix_table = 0x0000;
    p->vf_msix_pba = 0x2000;
    p->vf_msix_vectors = 3;
    p->pf_regs_bar = 0;
}

void
pv_profile_wide(struct pv_profile *p)
{
    pv_profile_default(p);
    snprintf(p->name, sizeof(p->name), "builtin:wide");
    p->pf_rid = 0x0000;
    p->initial_vfs = 65535;
    p->total_vfs = 65535;
    p->offset_ari = 1;
    p->stride_ari = 1;
    p->offset_noari = 1;
    p->stride_noari = 1;
    p->bus_range_set = true;
    p->secondary_bus = 0x00;
    p->subordinate_bus = 0xff;
}

void
pv_profile_geometry(const struct pv_profile *p, bool ari, uint16_t num_vfs, uint16_t *offset, uint16_t *stride)
{
    if (p->geometry != NULL) {
        p->geometry(p->geometry_ctx, ari, num_vfs, offset, stride);
        return;
    }
    *offset = ari ? p->offset_ari : p->offset_noari;
    *stride = ari ? p->stride_ari : p->stride_noari;
}

uint8_t
pv_profile_default_subordinate(const struct pv_profile *p)
{
    bool ari = p->ari_forwarding && p->has_ari;
    uint32_t max_bus = p->pf_rid >> 8;

    /* Linux compute_max_vf_buses: every NumVFs, re-reading offset and stride. */
    for (uint32_t n = 1; n <= p->total_vfs; n++) {
        uint16_t off, stride;
        uint32_t bus;

        pv_profile_geometry(p, ari, (uint16_t)n, &off, &stride);
        bus = dev_last_vf_bus(p->pf_rid, off, stride, n);
        if (bus > max_bus) {
            max_bus = bus;
        }
        if (p->geometry == NULL && n < p->total_vfs) {
            n = p->total_vfs - 1; /* static geometry: only the largest NumVFs matters */
        }
    }
    return max_bus > 0xff ? 0xff : (uint8_t)max_bus;
}

/* ---- dumps ------------------------------------------------------------------------ */

static int
dump_fail(struct pcivirt_error *err, const char *name, const char *field, int code, const char *msg, unsigned v)
{
    pcivirt_error_locate(err, name, 0, field);
    return pcivirt_error_set(err, code, "%s: SR-IOV %s %s (0x%x)", name, field, msg, v);
}

static void
identity_from_bytes(struct pv_profile *p, const uint8_t *b)
{
    p->vendor_id = le16_get(b + PCI_VENDOR_ID);
    p->device_id = le16_get(b + PCI_DEVICE_ID);
    p->revision = b[PCI_REVISION_ID];
    p->vf_revision = b[PCI_REVISION_ID];
    p->class_code = le32_get(b + PCI_REVISION_ID) >> 8;
    p->subsys_vendor_id = le16_get(b + PCI_SUBSYSTEM_VENDOR_ID);
    p->subsys_id = le16_get(b + PCI_SUBSYSTEM_ID);
    p->vf_subsys_id = p->subsys_id;
}

/* PF BARs from the dump's type bits; sizes are not in a dump (16 KiB assumed). */
static void
pf_bars_from_bytes(struct pv_profile *p, const uint8_t *b)
{
    p->pf_regs_bar = -1;
    for (unsigned i = 0; i < 6; i++) {
        uint32_t v = le32_get(b + PCI_BASE_ADDRESS_0 + 4 * i);

        if (v == 0 || (v & PCI_BASE_ADDRESS_SPACE_IO) != 0) {
            continue; /* absent, or I/O (kept in the bytes, read-only) */
        }
        p->pf_bar[i].size = DUMP_PF_BAR_SIZE;
        p->pf_bar[i].is64 = (v & PCI_BASE_ADDRESS_MEM_TYPE_64) != 0;
        p->pf_bar[i].prefetch = (v & PCI_BASE_ADDRESS_MEM_PREFETCH) != 0;
        if (p->pf_regs_bar < 0) {
            p->pf_regs_bar = (int)i;
        }
        if (p->pf_bar[i].is64) {
            i++;
        }
    }
}

static int
vf_bars_from_sriov(struct pv_profile *p, const uint8_t *s, const char *name, struct pcivirt_error *err)
{
    int first = -1, second = -1;

    for (unsigned i = 0; i < 6; i++) {
        uint32_t v = le32_get(s + PCI_SRIOV_BAR + 4 * i);
        char field[16];

        if (v == 0) {
            continue;
        }
        snprintf(field, sizeof(field), "VF BAR%u", i);
        if (v & PCI_BASE_ADDRESS_SPACE_IO) {
            return dump_fail(err, name, field, PCIVIRT_EFORMAT, "is an I/O BAR (PCIe 9.3.3.14 allows memory only)", v);
        }
        if ((v & PCI_BASE_ADDRESS_MEM_TYPE_MASK) != PCI_BASE_ADDRESS_MEM_TYPE_32 &&
            (v & PCI_BASE_ADDRESS_MEM_TYPE_MASK) != PCI_BASE_ADDRESS_MEM_TYPE_64) {
            return dump_fail(err, name, field, PCIVIRT_EFORMAT, "has a reserved type (bits 2:1 neither 00 nor 10)", v);
        }
        if ((v & PCI_BASE_ADDRESS_MEM_TYPE_64) && i == 5) {
            return dump_fail(err, name, field, PCIVIRT_EFORMAT, "is 64-bit but has no upper register", v);
        }
        p->vf_bar[i] = (struct pv_bar_desc){DUMP_VF_BAR_SIZE, (v & PCI_BASE_ADDRESS_MEM_TYPE_64) != 0,
                                            (v & PCI_BASE_ADDRESS_MEM_PREFETCH) != 0};
        if (first < 0) {
            first = (int)i;
        } else if (second < 0) {
            second = (int)i;
        }
        if (p->vf_bar[i].is64) {
            i++;
        }
    }
    p->vf_regs_bar = first;
    p->vf_msix_bar = second >= 0 ? second : first;
    p->vf_msix_table = second >= 0 ? 0x0000 : 0x2000;
    p->vf_msix_pba = second >= 0 ? 0x2000 : 0x3000;
    if (first < 0) {
        pv_profile_warn(p,
                        "%s: every VF BAR reads 0 (VF memory described by Enhanced Allocation?): the VFs have no "
                        "memory BARs in this model",
                        name);
    }
    return 0;
}

/* The rules an SR-IOV capability must meet to be usable (device-model.md 1, 4.1, 4.2). */
static int
check_sriov(struct pv_profile *p, const uint8_t *s, const char *name, struct pcivirt_error *err)
{
    uint16_t initial = le16_get(s + PCI_SRIOV_INITIAL_VF), total = le16_get(s + PCI_SRIOV_TOTAL_VF);
    uint16_t off = le16_get(s + PCI_SRIOV_VF_OFFSET), stride = le16_get(s + PCI_SRIOV_VF_STRIDE);
    uint32_t sup = le32_get(s + PCI_SRIOV_SUP_PGSIZE), sys = le32_get(s + PCI_SRIOV_SYS_PGSIZE);
    uint32_t caps = le32_get(s + PCI_SRIOV_CAP);

    if (total == 0) {
        return dump_fail(err, name, "TotalVFs", PCIVIRT_EFORMAT, "is 0: the PF offers no VFs", total);
    }
    if (initial > total || (!(caps & PCI_SRIOV_CAP_VFM) && initial != total)) {
        return dump_fail(err, name, "InitialVFs", PCIVIRT_EFORMAT,
                         "must equal TotalVFs when VF Migration is not capable (Linux sriov_init: -EIO)", initial);
    }
    if (off == 0) {
        return dump_fail(err, name, "First VF Offset", PCIVIRT_EFORMAT, "is 0 (PCIe 9.3.3.8)", off);
    }
    if (stride == 0 && total > 1) {
        return dump_fail(err, name, "VF Stride", PCIVIRT_EFORMAT, "is 0 with TotalVFs > 1 (PCIe 9.3.3.9)", stride);
    }
    if (sup == 0) {
        return dump_fail(err, name, "Supported Page Sizes", PCIVIRT_EFORMAT, "is 0", sup);
    }
    if (!dev_one_bit(sys) || (sys & sup) == 0) {
        return dump_fail(err, name, "System Page Size", PCIVIRT_EFORMAT,
                         "must be exactly one of the supported page sizes", sys);
    }
    if ((sup & 0x553) != 0x553) {
        pv_profile_warn(p,
                        "%s: Supported Page Sizes 0x%x lacks the mandatory 0x553 set (4K 8K 64K 256K 1M 4M); "
                        "used as given",
                        name, sup);
    }
    if (caps & PCI_SRIOV_CAP_VFM) {
        pv_profile_warn(p, "%s: VF Migration Capable is set; VF Migration is deprecated and not modelled", name);
    }
    return 0;
}

static void
sriov_from_bytes(struct pv_profile *p, const uint8_t *s)
{
    p->sriov_caps = le32_get(s + PCI_SRIOV_CAP) & ~PCI_SRIOV_CAP_VFM;
    p->captured_ctrl = le16_get(s + PCI_SRIOV_CTRL);
    p->captured_num_vfs = le16_get(s + PCI_SRIOV_NUM_VF);
    p->initial_vfs = le16_get(s + PCI_SRIOV_INITIAL_VF);
    p->total_vfs = le16_get(s + PCI_SRIOV_TOTAL_VF);
    p->func_link = s[PCI_SRIOV_FUNC_LINK];
    p->offset_ari = p->offset_noari = le16_get(s + PCI_SRIOV_VF_OFFSET);
    p->stride_ari = p->stride_noari = le16_get(s + PCI_SRIOV_VF_STRIDE);
    p->vf_device_id = le16_get(s + PCI_SRIOV_VF_DID);
    p->supported_page_sizes = le32_get(s + PCI_SRIOV_SUP_PGSIZE);
    p->system_page_size = le32_get(s + PCI_SRIOV_SYS_PGSIZE);
    p->ari_forwarding = (p->captured_ctrl & PCI_SRIOV_CTRL_ARI) != 0;
}

/* Capabilities other than SR-IOV that shape the model: ARI, PM No_Soft_Reset, FLR. */
static void
companions_from_bytes(struct pv_profile *p, const uint8_t *b, uint32_t len, const char *name)
{
    int pm = pci_cap_find(b, len, PCI_CAP_ID_PM, 0, NULL);
    int exp = pci_cap_find(b, len, PCI_CAP_ID_EXP, 0, NULL);

    p->has_ari = pci_ecap_find(b, len, PCI_ECAP_ID_ARI, 0, NULL) > 0;
    p->pm_no_soft_reset = pm > 0 && (le16_get(b + pm + PCI_PM_CTRL) & PCI_PM_CTRL_NO_SOFT_RESET) != 0;
    if (exp <= 0 || !(le32_get(b + exp + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR)) {
        pv_profile_warn(p,
                        "%s: the PF does not report Function Level Reset (mandatory for SR-IOV PFs, PCIe 9.2.1.2); "
                        "PF FLR is modelled anyway",
                        name);
    }
    if (p->vf_device_id == 0) {
        pv_profile_warn(p, "%s: VF Device ID is 0 (seen on NVIDIA T4); VFs report device 0000", name);
    }
}

static int
find_sriov_function(const struct pci_dump *dump, int index, int *sriov, struct pcivirt_error *err, const char *name)
{
    for (size_t i = 0; i < dump->count; i++) {
        const struct pci_dump_func *f = dump->funcs[i];
        int off;

        if (index >= 0 && (size_t)index != i) {
            continue;
        }
        off = f->len >= 0x140 ? pci_ecap_find(f->bytes, f->len, PCI_ECAP_ID_SRIOV, 0, NULL) : PCIVIRT_ENOENT;
        if (off > 0 && (uint32_t)off + PCI_SRIOV_SIZEOF <= f->len) {
            *sriov = off;
            return (int)i;
        }
    }
    pcivirt_error_locate(err, name, 0, "SR-IOV capability");
    return pcivirt_error_set(err, PCIVIRT_ENOENT, "%s: no function%s has a complete SR-IOV extended capability", name,
                             index >= 0 ? " at that index" : "");
}

int
pv_profile_from_dump(struct pv_profile *p, const struct pci_dump *dump, int index, const char *name,
                     struct pcivirt_error *err)
{
    const struct pci_dump_func *f;
    int sriov = 0, fi, rc;

    memset(p, 0, sizeof(*p));
    name = name != NULL ? name : "dump";
    fi = find_sriov_function(dump, index, &sriov, err, name);
    if (fi < 0) {
        return fi;
    }
    f = dump->funcs[fi];
    if (f->addr.dev > 31 || f->addr.fn > 7 || f->addr.domain > 0xffff) {
        pcivirt_error_locate(err, name, f->line, "address");
        return pcivirt_error_set(err, PCIVIRT_EFORMAT, "%s: function address is not a PCI bus/device/function", name);
    }
    snprintf(p->name, sizeof(p->name), "%s", name);
    rc = check_sriov(p, f->bytes + sriov, name, err);
    if (rc == 0) {
        rc = vf_bars_from_sriov(p, f->bytes + sriov, name, err);
    }
    if (rc != 0) {
        return rc;
    }
    identity_from_bytes(p, f->bytes);
    sriov_from_bytes(p, f->bytes + sriov);
    pf_bars_from_bytes(p, f->bytes);
    companions_from_bytes(p, f->bytes, f->len, name);
    p->segment = (uint16_t)f->addr.domain;
    p->pf_rid = (uint16_t)(f->addr.bus << 8 | f->addr.dev << 3 | f->addr.fn);
    if (p->func_link != (p->pf_rid & 0xff)) {
        pv_profile_warn(p,
                        "%s: Function Dependency Link 0x%02x names another PF than this one (devfn 0x%02x); that "
                        "PF is not modelled and Linux refuses sriov_enable (-ENODEV) without it",
                        name, p->func_link, p->pf_rid & 0xff);
    }
    p->vf_msix_vectors = SWVF_MSIX_VECTORS_DEFAULT;
    p->sriov_offset = (uint16_t)sriov;
    p->pf_image_len = f->len;
    memcpy(p->pf_image, f->bytes, f->len);
    return 0;
}

int
pv_profile_load(struct pv_profile *p, const char *path, struct pcivirt_error *err)
{
    struct pci_dump *dump = NULL;
    int rc = pci_dump_load(path, &dump, err);

    if (rc == 0) {
        rc = pv_profile_from_dump(p, dump, -1, path, err);
    }
    pci_dump_destroy(dump);
    return rc;
}
