/*
 * dev/layout.c - the PF's and the VFs' config layouts.
 *
 * The built-in PF is laid out with the capability builder exactly like
 * ../shared/data/synthetic/pf.dump (PM 0x40, MSI-X 0x50, PCIe 0x70, ARI 0x100,
 * SR-IOV 0x150).  A PF from a dump keeps every byte of the capture and gets the
 * write masks a real device of that shape has: the type-0 header, memory BARs,
 * PMCSR, PCIe Device Control/Status, MSI-X control and the SR-IOV registers
 * (device-model.md 1.1-1.4).  The SR-IOV capability is brought to its reset
 * state (VF Enable, VF MSE, NumVFs 0; VF Migration read-only zero), keeping the
 * captured ARI Capable Hierarchy, because the hierarchy above it is what the
 * capture recorded.
 *
 * The VF layout follows device-model.md 3: Vendor/Device ID 0xffff, no BARs, no
 * ROM, Interrupt Pin 0, never multi-function; Command: only Bus Master Enable is
 * writable (Memory Space is RsvdP - VF MSE decides); PCIe Device Control bits
 * 0-14 are VF RsvdP, Initiate FLR acts; PM (No_Soft_Reset equal to the PF's),
 * MSI-X in the VF BAR the profile names, and ARI when the PF has it.
 */
#include "dev/dev_internal.h"

#include <string.h>

#include "util/le.h"

#define PF_PM 0x40
#define PF_MSIX 0x50
#define PF_EXP 0x70
#define PF_ARI 0x100
#define PF_SRIOV 0x150
#define VF_PM 0x40
#define VF_MSIX 0x50
#define VF_EXP 0x70
#define VF_ARI 0x100

#define EXP_LINK_5GT_X8 0x82u
#define EXP_DEVCAP_DEFAULT (PCI_EXP_DEVCAP_FLR | PCI_EXP_DEVCAP_RBER | 0x2u) /* MPS 512 */

static unsigned
bar_flags(const struct pv_bar_desc *b)
{
    return (b->is64 ? PCI_BAR_MEM64 : PCI_BAR_MEM32) | (b->prefetch ? PCI_BAR_PREFETCH : 0);
}

/* The PF BAR that is not the register BAR (the PF's own MSI-X lives there), or -1. */
static int
pf_msix_bar(const struct pv_profile *p)
{
    for (int i = 0; i < 6; i++) {
        if (p->pf_bar[i].size >= 0x4000 && i != p->pf_regs_bar) {
            return i;
        }
    }
    return -1;
}

static int
add_sriov(struct pv_sriov_dev *dev, struct pci_layout *l, uint16_t at, struct pcivirt_error *err)
{
    const struct pv_profile *p = &dev->prof;
    bool ari = p->ari_forwarding && p->has_ari;
    struct pci_sriov_params s;
    int off;

    memset(&s, 0, sizeof(s));
    s.caps = p->sriov_caps;
    s.initial_vfs = p->initial_vfs;
    s.total_vfs = p->total_vfs;
    s.func_link = p->func_link;
    pv_profile_geometry(p, ari, 0, &s.vf_offset, &s.vf_stride);
    s.vf_device_id = p->vf_device_id;
    s.supported_page_sizes = p->supported_page_sizes;
    s.system_page_size = p->system_page_size;
    s.ari_hierarchy_writable = true;
    for (unsigned i = 0; i < 6; i++) {
        s.vf_bar[i].size = p->vf_bar[i].size;
        s.vf_bar[i].flags = p->vf_bar[i].size ? bar_flags(&p->vf_bar[i]) : 0;
    }
    off = pci_ecap_add_sriov(l, at, &s, err);
    if (off > 0 && ari) {
        pci_layout_set(l, (uint32_t)off + PCI_SRIOV_CTRL, 2, PCI_SRIOV_CTRL_ARI);
    }
    return off;
}

static int
pf_layout_builtin(struct pv_sriov_dev *dev, struct pci_layout *l, struct pcivirt_error *err)
{
    const struct pv_profile *p = &dev->prof;
    struct pci_header_params h = {p->vendor_id,
                                  p->device_id,
                                  p->revision,
                                  p->class_code,
                                  p->subsys_vendor_id,
                                  p->subsys_id,
                                  PCI_HEADER_TYPE_NORMAL,
                                  1};
    struct pci_pm_params pm = {0, p->pm_no_soft_reset};
    struct pci_exp_params exp = {PCI_EXP_TYPE_ENDPOINT, EXP_DEVCAP_DEFAULT, EXP_LINK_5GT_X8, EXP_LINK_5GT_X8, 0, 0};
    struct pci_msix_params msix = {64, 0, 0x0000, 0, 0x2000};
    int rc = pci_layout_init_type0(l, &h), mbar = pf_msix_bar(p);

    for (unsigned i = 0; rc == 0 && i < 6; i++) {
        if (p->pf_bar[i].size != 0) {
            rc = pci_layout_add_bar(l, i, dev_pf_bar_size(dev, i), bar_flags(&p->pf_bar[i]), err);
        }
    }
    rc = rc < 0 ? rc : pci_cap_add_pm(l, PF_PM, &pm, err);
    if (rc >= 0 && mbar >= 0) {
        msix.table_bir = msix.pba_bir = (uint8_t)mbar;
        rc = pci_cap_add_msix(l, PF_MSIX, &msix, err);
    }
    rc = rc < 0 ? rc : pci_cap_add_exp(l, PF_EXP, &exp, err);
    if (rc >= 0 && p->has_ari) {
        struct pci_ari_params ari = {0, 0};

        rc = pci_ecap_add_ari(l, PF_ARI, &ari, err);
    }
    rc = rc < 0 ? rc : add_sriov(dev, l, p->has_ari ? PF_SRIOV : PF_ARI, err);
    if (rc < 0) {
        return rc;
    }
    dev->sriov = (uint16_t)rc;
    dev->pf_pm = PF_PM;
    dev->pf_exp = PF_EXP;
    return 0;
}

/* Write masks for a PF whose bytes came from a dump. */
static void
dump_header_masks(struct pv_sriov_dev *dev, struct pci_layout *l)
{
    const struct pv_profile *p = &dev->prof;

    pci_layout_set_wmask(l, PCI_COMMAND, 2,
                         PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |
                             PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
    pci_layout_set(l, PCI_COMMAND, 2, 0); /* power-on: nothing decodes until resources are assigned */
    pci_layout_set(l, PCI_STATUS, 2, le16_get(p->pf_image + PCI_STATUS) & ~PCI_STATUS_W1C);
    pci_layout_set_w1cmask(l, PCI_STATUS, 2, PCI_STATUS_W1C);
    pci_layout_set_wmask(l, PCI_CACHE_LINE_SIZE, 1, 0xff);
    pci_layout_set_wmask(l, PCI_INTERRUPT_LINE, 1, 0xff);
    for (unsigned i = 0; i < 6; i++) {
        uint64_t mask = ~(dev_pf_bar_size(dev, i) - 1);
        uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * i;

        if (p->pf_bar[i].size == 0) {
            continue;
        }
        pci_layout_set_wmask(l, reg, 4, (uint32_t)mask & PCI_BASE_ADDRESS_MEM_MASK);
        pci_layout_set(l, reg, 4, le32_get(p->pf_image + reg) & ((uint32_t)mask | 0xf));
        if (p->pf_bar[i].is64) {
            pci_layout_set_wmask(l, reg + 4, 4, (uint32_t)(mask >> 32));
            i++;
        }
    }
}

static void
dump_cap_masks(struct pv_sriov_dev *dev, struct pci_layout *l)
{
    const uint8_t *b = dev->prof.pf_image;
    uint32_t len = dev->prof.pf_image_len;
    int pm = pci_cap_find(b, len, PCI_CAP_ID_PM, 0, NULL);
    int exp = pci_cap_find(b, len, PCI_CAP_ID_EXP, 0, NULL);
    int msix = pci_cap_find(b, len, PCI_CAP_ID_MSIX, 0, NULL);

    if (pm > 0) {
        dev->pf_pm = (uint16_t)pm;
        pci_layout_set_wmask(l, (uint32_t)pm + PCI_PM_CTRL, 2, PCI_PM_CTRL_STATE_MASK);
        pci_layout_set(l, (uint32_t)pm + PCI_PM_CTRL, 2,
                       le16_get(b + pm + PCI_PM_CTRL) & PCI_PM_CTRL_NO_SOFT_RESET); /* D0 */
    }
    if (exp > 0) {
        dev->pf_exp = (uint16_t)exp;
        pci_layout_set_wmask(l, (uint32_t)exp + PCI_EXP_DEVCTL, 2, 0x7fff);
        pci_layout_set_w1cmask(l, (uint32_t)exp + PCI_EXP_DEVSTA, 2, PCI_EXP_DEVSTA_W1C);
    }
    if (msix > 0) {
        pci_layout_set_wmask(l, (uint32_t)msix + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
        pci_layout_set(l, (uint32_t)msix + PCI_MSIX_FLAGS, 2,
                       le16_get(b + msix + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_QSIZE);
    }
}

/* The SR-IOV capability of a dump, brought to its reset state with spec masks. */
static void
dump_sriov_masks(struct pv_sriov_dev *dev, struct pci_layout *l)
{
    const struct pv_profile *p = &dev->prof;
    uint32_t s = p->sriov_offset;
    uint16_t ctrl_w = PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE | PCI_SRIOV_CTRL_ARI;

    if (p->sriov_caps & PCI_SRIOV_CAP_VF_10BIT_TAG) {
        ctrl_w |= PCI_SRIOV_CTRL_VF_10BIT_TAG;
    }
    pci_layout_set(l, s + PCI_SRIOV_CAP, 4, p->sriov_caps);
    pci_layout_set(l, s + PCI_SRIOV_CTRL, 2, p->captured_ctrl & PCI_SRIOV_CTRL_ARI);
    pci_layout_set(l, s + PCI_SRIOV_STATUS, 2, 0);
    pci_layout_set(l, s + PCI_SRIOV_NUM_VF, 2, 0);
    pci_layout_set(l, s + PCI_SRIOV_VFM, 4, 0); /* VF Migration State Array: read-only zero */
    pci_layout_set_wmask(l, s + PCI_SRIOV_CTRL, 2, ctrl_w);
    pci_layout_set_wmask(l, s + PCI_SRIOV_NUM_VF, 2, 0xffff);
    pci_layout_set_wmask(l, s + PCI_SRIOV_SYS_PGSIZE, 4, p->supported_page_sizes);
    dev->sriov = (uint16_t)s;
    dev->pf_pm = 0;
    dev->pf_exp = 0;
}

static int
pf_layout_dump(struct pv_sriov_dev *dev, struct pci_layout *l)
{
    int rc = pci_layout_set_bytes(l, 0, dev->prof.pf_image, dev->prof.pf_image_len);

    if (rc != 0) {
        return rc;
    }
    dump_header_masks(dev, l);
    dump_sriov_masks(dev, l);
    dump_cap_masks(dev, l);
    return 0;
}

static int
vf_caps(struct pv_sriov_dev *dev, struct pci_layout *l, uint8_t exp_type, struct pcivirt_error *err)
{
    const struct pv_profile *p = &dev->prof;
    struct pci_pm_params pm = {0, p->pm_no_soft_reset};
    struct pci_exp_params exp = {exp_type, EXP_DEVCAP_DEFAULT, EXP_LINK_5GT_X8, EXP_LINK_5GT_X8, 0, 0};
    int rc = pci_cap_add_pm(l, VF_PM, &pm, err);

    if (rc > 0 && p->vf_msix_bar >= 0) {
        struct pci_msix_params m = {p->vf_msix_vectors, (uint8_t)p->vf_msix_bar, p->vf_msix_table,
                                    (uint8_t)p->vf_msix_bar, p->vf_msix_pba};

        rc = pci_cap_add_msix(l, VF_MSIX, &m, err);
        dev->vf_msix = VF_MSIX;
    }
    rc = rc < 0 ? rc : pci_cap_add_exp(l, VF_EXP, &exp, err);
    if (rc > 0 && p->has_ari) {
        struct pci_ari_params ari = {0, 0};

        rc = pci_ecap_add_ari(l, VF_ARI, &ari, err);
    }
    if (rc < 0) {
        return rc;
    }
    /*
     * VF RsvdP: Device Control 0-14, Link Control, Device Control 2, Link Control 2
     * (device-model.md 3.2).  RsvdP reads 0 (PCIe 7.4), as real VFs show
     * "MaxPayload 128 bytes, MaxReadReq 128 bytes" whatever the PF's setting.
     */
    static const uint16_t rsvdp[] = {PCI_EXP_DEVCTL, PCI_EXP_LNKCTL, PCI_EXP_DEVCTL2, PCI_EXP_LNKCTL2};

    for (unsigned i = 0; i < sizeof(rsvdp) / sizeof(rsvdp[0]); i++) {
        pci_layout_set_wmask(l, VF_EXP + rsvdp[i], 2, 0);
        pci_layout_set(l, VF_EXP + rsvdp[i], 2, 0);
    }
    dev->vf_pm = VF_PM;
    dev->vf_exp = VF_EXP;
    return 0;
}

static int
vf_layout(struct pv_sriov_dev *dev, struct pci_layout *l, uint8_t exp_type, struct pcivirt_error *err)
{
    const struct pv_profile *p = &dev->prof;
    struct pci_header_params h = {
        0xffff, 0xffff, p->vf_revision, p->class_code, p->subsys_vendor_id, p->vf_subsys_id, PCI_HEADER_TYPE_NORMAL, 0};
    int rc = pci_layout_init_type0(l, &h);

    if (rc != 0) {
        return rc;
    }
    /* VF Command: I/O, Memory Space, Parity, SERR#, INTx Disable are RsvdP/ROZ; Bus Master per VF. */
    pci_layout_set_wmask(l, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    pci_layout_set_wmask(l, PCI_CACHE_LINE_SIZE, 1, 0);
    pci_layout_set_wmask(l, PCI_INTERRUPT_LINE, 1, 0);
    return vf_caps(dev, l, exp_type, err);
}

static int
add_hooks(struct pv_sriov_dev *dev)
{
    struct pci_layout *pf = dev->pf_layout, *vf = dev->vf_layout;
    uint32_t s = dev->sriov;
    int rc = 0;

    rc |= pci_layout_add_hook(pf, PCI_BASE_ADDRESS_0, 24, dev_hook_bars, dev);
    rc |= pci_layout_add_hook(pf, s + PCI_SRIOV_CTRL, 2, dev_hook_sriov_ctrl, dev);
    rc |= pci_layout_add_hook(pf, s + PCI_SRIOV_NUM_VF, 2, dev_hook_num_vfs, dev);
    rc |= pci_layout_add_hook(pf, s + PCI_SRIOV_SYS_PGSIZE, 4, dev_hook_sys_page_size, dev);
    rc |= pci_layout_add_hook(pf, s + PCI_SRIOV_BAR, 24, dev_hook_bars, dev);
    if (dev->pf_exp) {
        rc |= pci_layout_add_hook(pf, dev->pf_exp + PCI_EXP_DEVCTL, 2, dev_hook_pf_devctl, dev);
    }
    if (dev->pf_pm) {
        rc |= pci_layout_add_hook(pf, dev->pf_pm + PCI_PM_CTRL, 2, dev_hook_pf_pm, dev);
    }
    rc |= pci_layout_add_hook(vf, dev->vf_exp + PCI_EXP_DEVCTL, 2, dev_hook_vf_devctl, dev);
    rc |= pci_layout_add_hook(vf, dev->vf_pm + PCI_PM_CTRL, 2, dev_hook_vf_pm, dev);
    if (dev->vf_msix) {
        rc |= pci_layout_add_hook(vf, dev->vf_msix + PCI_MSIX_FLAGS, 2, dev_hook_vf_msix, dev);
    }
    return rc != 0 ? PCIVIRT_ENOMEM : 0;
}

/* The PF's PCIe Device/Port Type, so the VFs match it (Endpoint or RCiEP). */
static uint8_t
pf_exp_type(const struct pv_sriov_dev *dev)
{
    if (dev->prof.pf_image_len != 0 && dev->pf_exp != 0) {
        return (uint8_t)((le16_get(dev->prof.pf_image + dev->pf_exp + PCI_EXP_FLAGS) & PCI_EXP_FLAGS_TYPE) >>
                         PCI_EXP_FLAGS_TYPE_SHIFT);
    }
    return PCI_EXP_TYPE_ENDPOINT;
}

int
dev_build_layouts(struct pv_sriov_dev *dev, struct pcivirt_error *err)
{
    int rc = pci_layout_create(PCI_CFG_SIZE_EXT, &dev->pf_layout);

    rc = rc != 0 ? rc : pci_layout_create(PCI_CFG_SIZE_EXT, &dev->vf_layout);
    if (rc == 0) {
        rc = dev->prof.pf_image_len != 0 ? pf_layout_dump(dev, dev->pf_layout)
                                         : pf_layout_builtin(dev, dev->pf_layout, err);
    }
    rc = rc != 0 ? rc : vf_layout(dev, dev->vf_layout, pf_exp_type(dev), err);
    rc = rc != 0 ? rc : add_hooks(dev);
    if (rc != 0) {
        return rc;
    }
    pci_config_init(&dev->pf_cfg, dev->pf_layout, dev);
    /* The PF gets its private copy now, so later device-side pokes cannot fail. */
    rc = pci_config_poke(&dev->pf_cfg, PCI_VENDOR_ID, 2, ~(uint32_t)dev->prof.vendor_id);
    rc = rc != 0 ? rc : pci_config_poke(&dev->pf_cfg, PCI_VENDOR_ID, 2, dev->prof.vendor_id);
    if (rc != 0) {
        return rc;
    }
    /*
     * The ARI bit set above is enumeration's doing (Linux sriov_init), not the
     * reset value: the PF keeps it, the template goes back to 0, so a reset that
     * does not preserve ARI Capable Hierarchy clears it (device-model.md 7.3, 12.1).
     */
    pci_layout_set(dev->pf_layout, dev->sriov + PCI_SRIOV_CTRL, 2, 0);
    dev_apply_vf_bar_masks(dev);
    return dev_update_offset_stride(dev);
}
