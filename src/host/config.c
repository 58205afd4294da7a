/*
 * host/config.c - the survey's reading of config-space bytes.
 *
 * All capability lookups go through the config engine's finder (pci/caps.h),
 * which bounds every walk and reports malformed chains; this file only decides
 * what part of the space was visible.  Three cases matter on real hosts: the full
 * 4 KiB (root, ECAM), 256 bytes (conventional PCI, or PCIe without extended
 * access), and the 64-byte header Linux gives unprivileged readers.  What lives
 * beyond the visible bytes is HOST_UNSEEN, never assumed absent - except when the
 * header itself says so (Status.Capabilities List clear: no capabilities at all).
 */
#include "host/internal.h"

#include <string.h>

#include "pci/caps.h"
#include "pci/regs.h"
#include "util/le.h"

#define STD_SPACE 256u

/* Find a standard (@ext false) or extended capability; HOST_UNSEEN on a broken chain. */
static enum host_tri
find_cap(const uint8_t *cfg, size_t len, bool ext, uint16_t id, uint16_t *off, struct host_device *note)
{
    struct pcivirt_error err;
    int rc;

    pcivirt_error_clear(&err);
    rc = ext ? pci_ecap_find(cfg, len, id, 0, &err) : pci_cap_find(cfg, len, (uint8_t)id, 0, &err);
    if (rc > 0) {
        *off = (uint16_t)rc;
        return HOST_YES;
    }
    if (rc == PCIVIRT_ENOENT) {
        return HOST_NO;
    }
    if (note != NULL) {
        host_note_unseen(note, "%s capability chain is malformed (%s): %s", ext ? "extended" : "standard",
                         pcivirt_strerror(rc), err.message);
    }
    return HOST_UNSEEN;
}

static bool
has_cap_list(const uint8_t *cfg, size_t len)
{
    return len >= 0x40 && (le16_get(cfg + PCI_STATUS) & PCI_STATUS_CAP_LIST) != 0;
}

/* PCIe type from the standard chain, or NONE / UNSEEN. */
static int
pcie_type_of(const uint8_t *cfg, size_t len, struct host_device *note)
{
    uint16_t off = 0;

    if (len < 0x40) {
        return HOST_PCIE_UNSEEN;
    }
    if (!has_cap_list(cfg, len)) {
        return HOST_PCIE_NONE;
    }
    if (len < STD_SPACE) {
        return HOST_PCIE_UNSEEN;
    }
    switch (find_cap(cfg, len, false, PCI_CAP_ID_EXP, &off, note)) {
    case HOST_YES: return (le16_get(cfg + off + PCI_EXP_FLAGS) & PCI_EXP_FLAGS_TYPE) >> PCI_EXP_FLAGS_TYPE_SHIFT;
    case HOST_NO: return HOST_PCIE_NONE;
    default: return HOST_PCIE_UNSEEN;
    }
}

/*
 * Whether the extended space can be searched: only PCIe functions have one
 * (conventional PCI: definitely none), and only the 4 KiB read shows it.
 */
static enum host_tri
ext_visible(int pcie_type, size_t len)
{
    if (pcie_type == HOST_PCIE_NONE) {
        return HOST_NO;
    }
    if (pcie_type == HOST_PCIE_UNSEEN || len <= STD_SPACE) {
        return HOST_UNSEEN;
    }
    return HOST_YES;
}

static enum host_tri
find_ext(const uint8_t *cfg, size_t len, int pcie_type, uint16_t id, uint16_t *off, struct host_device *note)
{
    enum host_tri vis = ext_visible(pcie_type, len);

    return vis == HOST_YES ? find_cap(cfg, len, true, id, off, note) : vis;
}

static void
decode_sriov(struct host_device *d, uint16_t off)
{
    struct host_sriov *s = &d->sriov;
    const uint8_t *c = d->config + off;

    s->cap_offset = off;
    s->ctrl = le16_get(c + PCI_SRIOV_CTRL);
    s->initial_vfs = le16_get(c + PCI_SRIOV_INITIAL_VF);
    s->total_vfs = le16_get(c + PCI_SRIOV_TOTAL_VF);
    s->num_vfs = le16_get(c + PCI_SRIOV_NUM_VF);
    s->fdl = c[PCI_SRIOV_FUNC_LINK];
    s->vf_offset = le16_get(c + PCI_SRIOV_VF_OFFSET);
    s->vf_stride = le16_get(c + PCI_SRIOV_VF_STRIDE);
    s->vf_device = le16_get(c + PCI_SRIOV_VF_DID);
    s->sup_page_sizes = le32_get(c + PCI_SRIOV_SUP_PGSIZE);
    s->sys_page_size = le32_get(c + PCI_SRIOV_SYS_PGSIZE);
    s->ari_hierarchy = (s->ctrl & PCI_SRIOV_CTRL_ARI) != 0;
    /* VF BARs: memory only; type 10b takes the next register as the upper half (device-model.md 6). */
    for (unsigned i = 0; i < PCI_SRIOV_NUM_BARS; i++) {
        uint32_t lo = le32_get(c + PCI_SRIOV_BAR + 4 * i);
        struct host_bar *b = &s->vf_bar[i];
        bool is64 = (lo & 0x6u) == PCI_BASE_ADDRESS_MEM_TYPE_64 && i + 1 < PCI_SRIOV_NUM_BARS;

        b->is64 = is64;
        b->prefetch = (lo & PCI_BASE_ADDRESS_MEM_PREFETCH) != 0;
        b->start = lo & PCI_BASE_ADDRESS_MEM_MASK;
        if (is64) {
            b->start |= (uint64_t)le32_get(c + PCI_SRIOV_BAR + 4 * (i + 1)) << 32;
        }
        /* An implemented BAR has its type bits or an address; an absent one reads 0. */
        b->present = lo != 0 || (is64 && b->start != 0);
        if (is64) {
            i++;
        }
    }
}

void
host_config_decode(struct host_device *d)
{
    const uint8_t *cfg = d->config;
    size_t len = d->config_len;
    uint16_t off = 0;
    bool caps = has_cap_list(cfg, len);

    d->pcie_type = pcie_type_of(cfg, len, d);
    if (len < 0x40) {
        d->msi = d->msix = HOST_UNSEEN;
    } else if (!caps) {
        d->msi = d->msix = HOST_NO;
    } else if (len < STD_SPACE) {
        d->msi = d->msix = HOST_UNSEEN;
    } else {
        d->msi = find_cap(cfg, len, false, PCI_CAP_ID_MSI, &off, NULL);
        d->msix = find_cap(cfg, len, false, PCI_CAP_ID_MSIX, &off, NULL);
    }
    if (d->pcie_type >= 0 && len == STD_SPACE && !d->config_truncated) {
        host_note_unseen(d, "extended config space not readable (config has 256 bytes: no ECAM access)");
    }
    d->ats = find_ext(cfg, len, d->pcie_type, PCI_ECAP_ID_ATS, &off, d); /* notes a broken chain once */
    d->acs = find_ext(cfg, len, d->pcie_type, PCI_ECAP_ID_ACS, &off, NULL);
    d->sriov.present = find_ext(cfg, len, d->pcie_type, PCI_ECAP_ID_SRIOV, &off, NULL);
    if (d->sriov.present == HOST_YES && (size_t)off + PCI_SRIOV_SIZEOF <= len) {
        decode_sriov(d, off);
    } else if (d->sriov.present == HOST_YES) {
        d->sriov.present = HOST_UNSEEN;
    }
}

void
host_config_hop(struct host_acs_hop *hop, const uint8_t *cfg, size_t len, size_t size)
{
    uint16_t off = 0;

    (void)size;
    hop->multifunction = len >= 0x10 && (cfg[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MULTIFUNC) != 0;
    hop->pcie_type = pcie_type_of(cfg, len, NULL);
    hop->acs = find_ext(cfg, len, hop->pcie_type, PCI_ECAP_ID_ACS, &off, NULL);
    if (hop->acs == HOST_YES && (size_t)off + PCI_ACS_SIZEOF <= len) {
        hop->acs_offset = off;
        hop->cap = le16_get(cfg + off + PCI_ACS_CAP);
        hop->ctrl = le16_get(cfg + off + PCI_ACS_CTRL);
    }
}

void
host_bridge_windows(const uint8_t *cfg, size_t len, struct host_window *mem, struct host_window *pref, int *subordinate)
{
    uint16_t pb, pl;

    memset(mem, 0, sizeof(*mem));
    memset(pref, 0, sizeof(*pref));
    *subordinate = -1;
    if (len < 0x30 || (cfg[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK) != PCI_HEADER_TYPE_BRIDGE) {
        return;
    }
    *subordinate = cfg[PCI_SUBORDINATE_BUS];
    /* PCI-to-PCI Bridge spec 3.2.5.8-10: bits 15:4 are address bits 31:20, 1 MiB granules. */
    mem->base = (uint64_t)(le16_get(cfg + 0x20) & 0xfff0u) << 16;
    mem->limit = ((uint64_t)(le16_get(cfg + 0x22) & 0xfff0u) << 16) | 0xfffffu;
    mem->valid = mem->base <= mem->limit;
    pb = le16_get(cfg + 0x24);
    pl = le16_get(cfg + 0x26);
    pref->is64 = (pb & 0xfu) == 0x1u;
    pref->base = (uint64_t)(pb & 0xfff0u) << 16;
    pref->limit = ((uint64_t)(pl & 0xfff0u) << 16) | 0xfffffu;
    if (pref->is64) {
        pref->base |= (uint64_t)le32_get(cfg + 0x28) << 32;
        pref->limit |= (uint64_t)le32_get(cfg + 0x2c) << 32;
    }
    pref->valid = pref->base <= pref->limit && (pb != 0 || pl != 0);
}
