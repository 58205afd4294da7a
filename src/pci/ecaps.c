/*
 * pci/ecaps.c - builders for the extended capabilities pcivirt models: AER, DSN,
 * ACS, ARI, ATS and SR-IOV.
 *
 * Each lays down the register values and opens the writable / RW1C bits of its
 * structure (PCIe Base 7.8.4 AER, 7.9.3 DSN, 7.7.8 ACS, 7.8.7 ARI, 10.5.1 ATS,
 * 9.3.3 SR-IOV; summarized in ../shared/spec/device-model.md 1-2).  Behaviour
 * beyond storage (VF Enable, NumVFs locking, offset/stride changes, VF BAR sizing
 * against the System Page Size) belongs to the device, which hooks the range.
 */
#include <string.h>

#include "pci/caps.h"
#include "pci/layout_internal.h"
#include "util/le.h"

int
pci_ecap_add_aer(struct pci_layout *layout, uint16_t offset, const struct pci_aer_params *p, struct pcivirt_error *err)
{
    uint32_t unc, cor, capctl = 0;
    int cap;

    if (p == NULL) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "AER: no parameters");
    }
    cap = pci_ecap_add(layout, PCI_ECAP_ID_ERR, 2, offset, PCI_ERR_SIZEOF, err);
    if (cap < 0) {
        return cap;
    }
    unc = p->uncor_supported ? p->uncor_supported : PCI_ERR_UNC_SUPPORTED;
    cor = p->cor_supported ? p->cor_supported : PCI_ERR_COR_SUPPORTED;
    cap_put(layout, cap, PCI_ERR_UNCOR_SEVER, 4, p->uncor_severity & unc);
    if (p->ecrc_gen_capable) {
        capctl |= PCI_ERR_CAP_ECRC_GENC;
    }
    if (p->ecrc_check_capable) {
        capctl |= PCI_ERR_CAP_ECRC_CHKC;
    }
    cap_put(layout, cap, PCI_ERR_CAP, 4, capctl);
    pci_open_aer(layout, cap, unc, cor);
    return cap;
}

void
pci_open_aer(struct pci_layout *layout, int cap, uint32_t unc, uint32_t cor)
{
    uint32_t capctl = le32_get(layout->tmpl + cap + PCI_ERR_CAP), capmask = 0;

    cap_w1c(layout, cap, PCI_ERR_UNCOR_STATUS, 4, unc);
    cap_rw(layout, cap, PCI_ERR_UNCOR_MASK, 4, unc);
    cap_rw(layout, cap, PCI_ERR_UNCOR_SEVER, 4, unc);
    cap_w1c(layout, cap, PCI_ERR_COR_STATUS, 4, cor);
    cap_rw(layout, cap, PCI_ERR_COR_MASK, 4, cor);
    capmask |= (capctl & PCI_ERR_CAP_ECRC_GENC) ? PCI_ERR_CAP_ECRC_GENE : 0;
    capmask |= (capctl & PCI_ERR_CAP_ECRC_CHKC) ? PCI_ERR_CAP_ECRC_CHKE : 0;
    cap_rw(layout, cap, PCI_ERR_CAP, 4, capmask);
}

int
pci_ecap_add_dsn(struct pci_layout *layout, uint16_t offset, uint64_t serial, struct pcivirt_error *err)
{
    int cap = pci_ecap_add(layout, PCI_ECAP_ID_DSN, 1, offset, PCI_DSN_SIZEOF, err);

    if (cap >= 0) {
        cap_put(layout, cap, PCI_DSN_LOW, 4, (uint32_t)serial);
        cap_put(layout, cap, PCI_DSN_HIGH, 4, (uint32_t)(serial >> 32));
    }
    return cap;
}

/* Egress Control Vector bits of an ACS capability word (0 without EC). */
static unsigned
acs_vector_bits(uint16_t acs_cap)
{
    unsigned bits = acs_cap >> PCI_ACS_EGRESS_BITS_SHIFT;

    if (!(acs_cap & PCI_ACS_EC)) {
        return 0;
    }
    return bits ? bits : 256; /* 0 encodes 256 (PCIe Base 7.7.8.2) */
}

int
pci_ecap_add_acs(struct pci_layout *layout, uint16_t offset, uint16_t acs_cap, struct pcivirt_error *err)
{
    unsigned dwords = (acs_vector_bits(acs_cap) + 31) / 32;
    int cap;

    if (!(acs_cap & PCI_ACS_EC) && (acs_cap >> PCI_ACS_EGRESS_BITS_SHIFT)) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "ACS: egress vector size without Egress Control");
    }
    cap = pci_ecap_add(layout, PCI_ECAP_ID_ACS, 1, offset, (uint16_t)(PCI_ACS_SIZEOF + 4 * dwords), err);
    if (cap < 0) {
        return cap;
    }
    cap_put(layout, cap, PCI_ACS_CAP, 2, acs_cap);
    pci_open_acs(layout, cap);
    return cap;
}

void
pci_open_acs(struct pci_layout *layout, int cap)
{
    uint16_t acs_cap = le16_get(layout->tmpl + cap + PCI_ACS_CAP);
    unsigned bits = acs_vector_bits(acs_cap);

    cap_rw(layout, cap, PCI_ACS_CTRL, 2, acs_cap & PCI_ACS_FLAGS);
    for (unsigned i = 0; 32 * i < bits; i++) {
        unsigned left = bits - 32 * i;

        cap_rw(layout, cap, PCI_ACS_EGRESS_VECTOR + 4 * i, 4, left >= 32 ? 0xffffffffu : (1u << left) - 1);
    }
}

int
pci_ecap_add_ari(struct pci_layout *layout, uint16_t offset, const struct pci_ari_params *p, struct pcivirt_error *err)
{
    int cap;

    if (p == NULL || (p->cap_flags & ~(PCI_ARI_CAP_MFVC | PCI_ARI_CAP_ACS)) != 0) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "ARI: bad capability flags");
    }
    cap = pci_ecap_add(layout, PCI_ECAP_ID_ARI, 1, offset, PCI_ARI_SIZEOF, err);
    if (cap < 0) {
        return cap;
    }
    cap_put(layout, cap, PCI_ARI_CAP, 2, p->cap_flags | ((uint32_t)p->next_function << PCI_ARI_CAP_NFN_SHIFT));
    pci_open_ari(layout, cap);
    return cap;
}

void
pci_open_ari(struct pci_layout *layout, int cap)
{
    /* The enable bits sit where the capability bits are; Function Group is RW when
     * either function-group feature is (PCIe Base 7.8.7.3). */
    uint16_t ctl = le16_get(layout->tmpl + cap + PCI_ARI_CAP) & (PCI_ARI_CAP_MFVC | PCI_ARI_CAP_ACS);

    cap_rw(layout, cap, PCI_ARI_CTRL, 2, ctl ? ctl | PCI_ARI_CTRL_FG : 0);
}

int
pci_ecap_add_ats(struct pci_layout *layout, uint16_t offset, const struct pci_ats_params *p, struct pcivirt_error *err)
{
    uint16_t v;
    int cap;

    if (p == NULL || p->queue_depth > PCI_ATS_CAP_QDEP_MASK) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "ATS: invalidate queue depth above 31");
    }
    cap = pci_ecap_add(layout, PCI_ECAP_ID_ATS, 1, offset, PCI_ATS_SIZEOF, err);
    if (cap < 0) {
        return cap;
    }
    v = p->queue_depth;
    v |= p->page_aligned ? PCI_ATS_CAP_PAGE_ALIGNED : 0;
    v |= p->global_invalidate ? PCI_ATS_CAP_GLOBAL_INV : 0;
    cap_put(layout, cap, PCI_ATS_CAP, 2, v);
    pci_open_ats(layout, cap);
    return cap;
}

void
pci_open_ats(struct pci_layout *layout, int cap)
{
    cap_rw(layout, cap, PCI_ATS_CTRL, 2, PCI_ATS_CTRL_STU_MASK | PCI_ATS_CTRL_ENABLE);
}

/* Check one VF BAR slot; 64-bit BARs take the next slot too. */
static int
check_vf_bar(const struct pci_sriov_params *p, unsigned i, struct pcivirt_error *err)
{
    const struct pci_sriov_bar *b = &p->vf_bar[i];
    bool is64 = (b->flags & PCI_BAR_MEM64) != 0;

    if (b->size == 0) {
        return 0;
    }
    pcivirt_error_locate(err, NULL, 0, "VF BAR");
    if ((b->flags & ~(PCI_BAR_MEM64 | PCI_BAR_PREFETCH)) != 0) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "VF BAR%u: flags 0x%x (VF BARs are memory BARs only)", i,
                                 b->flags);
    }
    if ((b->size & (b->size - 1)) != 0 || b->size < 16 || (!is64 && b->size > 0x80000000u)) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "VF BAR%u: per-VF size 0x%llx is not a valid BAR size", i,
                                 (unsigned long long)b->size);
    }
    if (is64 && (i == 5 || p->vf_bar[i + 1].size != 0)) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "VF BAR%u is 64-bit but VF BAR%u %s", i, i + 1,
                                 i == 5 ? "does not exist" : "is also in use");
    }
    return 0;
}

static int
check_sriov(const struct pci_sriov_params *p, uint32_t sup, uint32_t sys, struct pcivirt_error *err)
{
    pcivirt_error_locate(err, NULL, 0, "SR-IOV");
    if (p->initial_vfs > p->total_vfs) {
        pcivirt_error_locate(err, NULL, 0, "InitialVFs");
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "SR-IOV: InitialVFs %u > TotalVFs %u", p->initial_vfs,
                                 p->total_vfs);
    }
    if (p->num_vfs > p->total_vfs) {
        pcivirt_error_locate(err, NULL, 0, "NumVFs");
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "SR-IOV: NumVFs %u > TotalVFs %u", p->num_vfs, p->total_vfs);
    }
    if (sys == 0 || (sys & (sys - 1)) != 0 || (sys & sup) == 0) {
        pcivirt_error_locate(err, NULL, 0, "System Page Size");
        return pcivirt_error_set(err, PCIVIRT_EINVAL,
                                 "SR-IOV: System Page Size 0x%08x is not exactly one of the supported bits 0x%08x", sys,
                                 sup);
    }
    for (unsigned i = 0; i < PCI_SRIOV_NUM_BARS; i++) {
        int rc = check_vf_bar(p, i, err);

        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int
pci_ecap_add_sriov(struct pci_layout *layout, uint16_t offset, const struct pci_sriov_params *p,
                   struct pcivirt_error *err)
{
    uint32_t sup, sys;
    int cap, rc;

    if (p == NULL) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "SR-IOV: no parameters");
    }
    sup = p->supported_page_sizes ? p->supported_page_sizes : PCI_SRIOV_SUP_PGSIZE_MINREQ;
    sys = p->system_page_size ? p->system_page_size : 1;
    rc = check_sriov(p, sup, sys, err);
    if (rc != 0) {
        return rc;
    }
    cap = pci_ecap_add(layout, PCI_ECAP_ID_SRIOV, 1, offset, PCI_SRIOV_SIZEOF, err);
    if (cap < 0) {
        return cap;
    }
    cap_put(layout, cap, PCI_SRIOV_CAP, 4, p->caps);
    cap_put(layout, cap, PCI_SRIOV_INITIAL_VF, 2, p->initial_vfs);
    cap_put(layout, cap, PCI_SRIOV_TOTAL_VF, 2, p->total_vfs);
    cap_put(layout, cap, PCI_SRIOV_NUM_VF, 2, p->num_vfs);
    cap_put(layout, cap, PCI_SRIOV_FUNC_LINK, 1, p->func_link);
    cap_put(layout, cap, PCI_SRIOV_VF_OFFSET, 2, p->vf_offset);
    cap_put(layout, cap, PCI_SRIOV_VF_STRIDE, 2, p->vf_stride);
    cap_put(layout, cap, PCI_SRIOV_VF_DID, 2, p->vf_device_id);
    cap_put(layout, cap, PCI_SRIOV_SUP_PGSIZE, 4, sup);
    cap_put(layout, cap, PCI_SRIOV_SYS_PGSIZE, 4, sys);
    pci_open_sriov(layout, cap, p->ari_hierarchy_writable);
    for (unsigned i = 0; i < PCI_SRIOV_NUM_BARS; i++) {
        if (p->vf_bar[i].size != 0) {
            cap_put(layout, cap, PCI_SRIOV_BAR + 4 * i, 4, p->vf_bar[i].flags & (PCI_BAR_MEM64 | PCI_BAR_PREFETCH));
            pci_ecap_sriov_set_bar_size(layout, (uint16_t)cap, i, p->vf_bar[i].size < 4096 ? 4096 : p->vf_bar[i].size,
                                        NULL);
        }
    }
    return cap;
}

void
pci_open_sriov(struct pci_layout *layout, int cap, bool ari_hierarchy_writable)
{
    uint32_t caps = le32_get(layout->tmpl + cap + PCI_SRIOV_CAP);
    uint16_t ctl = PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE;

    ctl |= ari_hierarchy_writable ? PCI_SRIOV_CTRL_ARI : 0;
    ctl |= (caps & PCI_SRIOV_CAP_VF_10BIT_TAG) ? PCI_SRIOV_CTRL_VF_10BIT_TAG : 0;
    if (caps & PCI_SRIOV_CAP_VFM) {
        ctl |= PCI_SRIOV_CTRL_VFM | PCI_SRIOV_CTRL_INTR;
        cap_w1c(layout, cap, PCI_SRIOV_STATUS, 2, PCI_SRIOV_STATUS_VFM);
    }
    cap_rw(layout, cap, PCI_SRIOV_CTRL, 2, ctl);
    cap_rw(layout, cap, PCI_SRIOV_NUM_VF, 2, 0xffff);
    cap_rw(layout, cap, PCI_SRIOV_SYS_PGSIZE, 4, le32_get(layout->tmpl + cap + PCI_SRIOV_SUP_PGSIZE));
}

int
pci_ecap_sriov_set_bar_size(struct pci_layout *layout, uint16_t cap, unsigned bar, uint64_t size,
                            struct pcivirt_error *err)
{
    uint32_t reg = (uint32_t)cap + PCI_SRIOV_BAR + 4 * bar;
    uint64_t mask;
    bool is64;

    pcivirt_error_locate(err, NULL, 0, "VF BAR");
    if (layout == NULL || layout->size < PCI_CFG_SIZE_EXT || cap < PCI_ECAP_MIN_OFFSET ||
        (uint32_t)cap + PCI_SRIOV_SIZEOF > layout->size || bar >= PCI_SRIOV_NUM_BARS ||
        PCI_ECAP_ID(le32_get(layout->tmpl + cap)) != PCI_ECAP_ID_SRIOV) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "VF BAR%u: no SR-IOV capability at 0x%03x", bar, cap);
    }
    if (pci_bar_is_upper(layout->tmpl + cap + PCI_SRIOV_BAR, bar)) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "VF BAR%u is the upper half of 64-bit VF BAR%u", bar, bar - 1);
    }
    is64 = (layout->tmpl[reg] & PCI_BASE_ADDRESS_MEM_TYPE_64) != 0;
    if ((layout->tmpl[reg] & PCI_BASE_ADDRESS_SPACE_IO) || (is64 && bar == 5)) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "VF BAR%u: type bits 0x%x are not a usable memory BAR", bar,
                                 layout->tmpl[reg] & 0xfu);
    }
    if (size != 0 && ((size & (size - 1)) != 0 || size < 16 || (!is64 && size > 0x80000000u))) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "VF BAR%u: size 0x%llx is not a valid BAR size", bar,
                                 (unsigned long long)size);
    }
    mask = size ? ~(size - 1) : 0;
    pci_layout_set_wmask(layout, reg, 4, (uint32_t)mask & PCI_BASE_ADDRESS_MEM_MASK);
    if (is64) {
        pci_layout_set_wmask(layout, reg + 4, 4, (uint32_t)(mask >> 32));
    }
    return 0;
}
