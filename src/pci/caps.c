/*
 * pci/caps.c - the capability allocator and the typed builders.
 *
 * Allocation is one function per chain kind sharing one overlap check: the
 * check looks at the used map byte by byte and, on a clash, finds which recorded
 * capability (or the header) owns the byte, so the error names both offsets.
 * Each typed builder then fills its registers and opens exactly the bits the
 * PCIe Base Specification makes RW or RW1C for that structure; everything else
 * stays read-only as the allocator left it.
 */
#include "pci/caps.h"

#include <stdio.h>
#include <string.h>

#include "pci/layout_internal.h"
#include "util/le.h"

/* Name what owns byte @off of @layout, for overlap errors. */
static void
describe_owner(const struct pci_layout *layout, uint32_t off, char *buf, size_t size)
{
    for (unsigned i = 0; i < layout->ncaps; i++) {
        const struct pci_cap_rec *c = &layout->caps[i];

        if (off >= c->offset && off < (uint32_t)c->offset + c->size) {
            snprintf(buf, size, "%s capability 0x%02x at 0x%03x (%u bytes)", c->extended ? "extended" : "standard",
                     c->id, c->offset, c->size);
            return;
        }
    }
    snprintf(buf, size, "%s", off < PCI_CAP_MIN_OFFSET ? "the header (0x000-0x03f)" : "reserved bytes");
}

/* First used byte in [off, off + size), or -1. */
static int
first_used(const struct pci_layout *layout, uint32_t off, uint32_t size)
{
    for (uint32_t i = 0; i < size; i++) {
        if (layout->used[off + i]) {
            return (int)(off + i);
        }
    }
    return -1;
}

/* Find a free DWORD-aligned range of @size bytes in [lo, hi). */
static int
allocate(const struct pci_layout *layout, uint32_t lo, uint32_t hi, uint32_t size)
{
    for (uint32_t off = lo; off + size <= hi; off += 4) {
        if (first_used(layout, off, size) < 0) {
            return (int)off;
        }
    }
    return -1;
}

/* Check and claim [off, off + size) for capability @id; @off 0 allocates. */
static int
claim(struct pci_layout *layout, uint16_t id, uint32_t off, uint32_t size, uint32_t lo, uint32_t hi, bool extended,
      struct pcivirt_error *err)
{
    const char *kind = extended ? "extended capability" : "capability";
    char owner[96];
    int clash;

    pcivirt_error_locate(err, NULL, 0, kind);
    if (off == 0) {
        int got = allocate(layout, lo, hi, size);

        if (got < 0) {
            return pcivirt_error_set(err, PCIVIRT_ENOSPC, "no free %u-byte range for %s 0x%02x", size, kind, id);
        }
        off = (uint32_t)got;
    }
    if (off & 3) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "%s 0x%02x at 0x%03x is not DWORD aligned", kind, id, off);
    }
    if (off < lo || off + size > hi) {
        return pcivirt_error_set(err, PCIVIRT_ERANGE, "%s 0x%02x at 0x%03x (%u bytes) is outside 0x%03x-0x%03x", kind,
                                 id, off, size, lo, hi - 1);
    }
    clash = first_used(layout, off, size);
    if (clash >= 0) {
        describe_owner(layout, (uint32_t)clash, owner, sizeof(owner));
        return pcivirt_error_set(err, PCIVIRT_EOVERLAP, "%s 0x%02x at 0x%03x (%u bytes) overlaps %s at byte 0x%03x",
                                 kind, id, off, size, owner, (unsigned)clash);
    }
    if (pci_layout_record_cap(layout, (uint16_t)off, (uint16_t)size, id, extended) != 0) {
        return pcivirt_error_set(err, PCIVIRT_ENOMEM, "out of memory recording %s 0x%02x", kind, id);
    }
    memset(layout->used + off, 1, size);
    memset(layout->wmask + off, 0, size);
    memset(layout->w1cmask + off, 0, size);
    return (int)off;
}

int
pci_cap_claim(struct pci_layout *layout, uint16_t id, uint32_t off, uint32_t size, bool extended,
              struct pcivirt_error *err)
{
    if (off == 0) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "capability 0x%02x: offset 0", id);
    }
    return claim(layout, id, off, size, extended ? PCI_ECAP_MIN_OFFSET : PCI_CAP_MIN_OFFSET,
                 extended ? layout->size : PCI_CFG_SIZE, extended, err);
}

int
pci_cap_add(struct pci_layout *layout, uint8_t id, uint16_t offset, uint16_t size, struct pcivirt_error *err)
{
    int off;

    if (layout == NULL || size < 2 || id == 0) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "capability 0x%02x: bad size %u", id, size);
    }
    off = claim(layout, id, offset, size, PCI_CAP_MIN_OFFSET, PCI_CFG_SIZE, false, err);
    if (off < 0) {
        return off;
    }
    memset(layout->tmpl + off, 0, size);
    layout->tmpl[off + PCI_CAP_LIST_ID] = id;
    if (layout->std_tail == 0) {
        layout->tmpl[PCI_CAPABILITY_LIST] = (uint8_t)off;
    } else {
        layout->tmpl[layout->std_tail + PCI_CAP_LIST_NEXT] = (uint8_t)off;
    }
    layout->std_tail = (uint16_t)off;
    layout->tmpl[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    return off;
}

int
pci_ecap_add(struct pci_layout *layout, uint16_t id, uint8_t version, uint16_t offset, uint16_t size,
             struct pcivirt_error *err)
{
    int off;

    if (layout == NULL || size < 4 || version > 15) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "extended capability 0x%04x: bad size %u or version %u", id, size,
                                 version);
    }
    if (layout->size < PCI_CFG_SIZE_EXT) {
        return pcivirt_error_set(err, PCIVIRT_ENOTSUP, "extended capability 0x%04x needs a 4096-byte space", id);
    }
    if (layout->ext_tail == 0) {
        if (offset != 0 && offset != PCI_ECAP_MIN_OFFSET) {
            return pcivirt_error_set(err, PCIVIRT_EINVAL,
                                     "the first extended capability (0x%04x) must be at 0x100, not 0x%03x", id, offset);
        }
        offset = PCI_ECAP_MIN_OFFSET;
    }
    off = claim(layout, id, offset, size, PCI_ECAP_MIN_OFFSET, PCI_CFG_SIZE_EXT, true, err);
    if (off < 0) {
        return off;
    }
    memset(layout->tmpl + off, 0, size);
    le32_put(layout->tmpl + off, PCI_ECAP_HDR(id, version, 0));
    if (layout->ext_tail != 0) {
        uint32_t prev = le32_get(layout->tmpl + layout->ext_tail);

        le32_put(layout->tmpl + layout->ext_tail, (prev & 0x000fffffu) | ((uint32_t)off << 20));
    }
    layout->ext_tail = (uint16_t)off;
    return off;
}

int
pci_cap_add_pm(struct pci_layout *layout, uint16_t offset, const struct pci_pm_params *p, struct pcivirt_error *err)
{
    uint16_t pmc;
    int cap;

    if (p == NULL) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "PM: no parameters");
    }
    cap = pci_cap_add(layout, PCI_CAP_ID_PM, offset, PCI_PM_SIZEOF, err);
    if (cap < 0) {
        return cap;
    }
    pmc = p->pmc;
    if ((pmc & PCI_PM_PMC_VERSION_MASK) == 0) {
        pmc |= 3; /* PCI PM 1.2 */
    }
    cap_put(layout, cap, PCI_PM_PMC, 2, pmc);
    cap_put(layout, cap, PCI_PM_CTRL, 2, p->no_soft_reset ? PCI_PM_CTRL_NO_SOFT_RESET : 0);
    pci_open_pm(layout, cap);
    return cap;
}

void
pci_open_pm(struct pci_layout *layout, int cap)
{
    uint16_t pme = le16_get(layout->tmpl + cap + PCI_PM_PMC) >> PCI_PM_PMC_PME_SHIFT;

    cap_rw(layout, cap, PCI_PM_CTRL, 2, PCI_PM_CTRL_STATE_MASK | (pme != 0 ? PCI_PM_CTRL_PME_ENABLE : 0));
    if (pme != 0) {
        cap_w1c(layout, cap, PCI_PM_CTRL, 2, PCI_PM_CTRL_PME_STATUS);
    }
}

int
pci_cap_add_msi(struct pci_layout *layout, uint16_t offset, const struct pci_msi_params *p, struct pcivirt_error *err)
{
    unsigned log2v = 0;
    uint16_t size, flags;
    int cap;

    if (p == NULL || p->vectors == 0 || p->vectors > 32 || (p->vectors & (p->vectors - 1)) != 0) {
        pcivirt_error_locate(err, NULL, 0, "MSI vectors");
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "MSI: vector count %u is not 1, 2, 4, 8, 16 or 32",
                                 p ? p->vectors : 0);
    }
    while ((1u << log2v) < p->vectors) {
        log2v++;
    }
    size = (uint16_t)((p->addr64 ? 14 : 10) + (p->per_vector_mask ? 10 : 0));
    cap = pci_cap_add(layout, PCI_CAP_ID_MSI, offset, size, err);
    if (cap < 0) {
        return cap;
    }
    flags = (uint16_t)(log2v << 1);
    flags |= p->addr64 ? PCI_MSI_FLAGS_64BIT : 0;
    flags |= p->per_vector_mask ? PCI_MSI_FLAGS_MASKBIT : 0;
    cap_put(layout, cap, PCI_MSI_FLAGS, 2, flags);
    pci_open_msi(layout, cap);
    return cap;
}

void
pci_open_msi(struct pci_layout *layout, int cap)
{
    uint16_t flags = le16_get(layout->tmpl + cap + PCI_MSI_FLAGS);
    bool addr64 = (flags & PCI_MSI_FLAGS_64BIT) != 0;
    unsigned vectors = 1u << ((flags & PCI_MSI_FLAGS_QMASK) >> 1);

    cap_rw(layout, cap, PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
    cap_rw(layout, cap, PCI_MSI_ADDRESS_LO, 4, 0xfffffffcu);
    if (addr64) {
        cap_rw(layout, cap, PCI_MSI_ADDRESS_HI, 4, 0xffffffffu);
    }
    cap_rw(layout, cap, addr64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32, 2, 0xffff);
    if (flags & PCI_MSI_FLAGS_MASKBIT) {
        cap_rw(layout, cap, addr64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32, 4,
               vectors >= 32 ? 0xffffffffu : (1u << vectors) - 1);
    }
}

int
pci_cap_add_exp(struct pci_layout *layout, uint16_t offset, const struct pci_exp_params *p, struct pcivirt_error *err)
{
    int cap;

    if (p == NULL || p->type > PCI_EXP_TYPE_RC_EC) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "PCIe: bad Device/Port Type");
    }
    cap = pci_cap_add(layout, PCI_CAP_ID_EXP, offset, PCI_EXP_SIZEOF_V2, err);
    if (cap < 0) {
        return cap;
    }
    cap_put(layout, cap, PCI_EXP_FLAGS, 2, 2u | ((uint32_t)p->type << PCI_EXP_FLAGS_TYPE_SHIFT));
    cap_put(layout, cap, PCI_EXP_DEVCAP, 4, p->devcap);
    cap_put(layout, cap, PCI_EXP_LNKCAP, 4, p->lnkcap);
    cap_put(layout, cap, PCI_EXP_LNKSTA, 2, p->lnksta);
    cap_put(layout, cap, PCI_EXP_DEVCAP2, 4, p->devcap2);
    cap_put(layout, cap, PCI_EXP_LNKCAP2, 4, p->lnkcap2);
    /* Device Control 2.5.3.4: MPS/MRRS default 128/512 bytes (MRRS field 010b). */
    cap_put(layout, cap, PCI_EXP_DEVCTL, 2, 0x2000 | PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_NOSNOOP_EN);
    pci_open_exp(layout, cap);
    return cap;
}

void
pci_open_exp(struct pci_layout *layout, int cap)
{
    uint16_t devctl = 0x7fff & (uint16_t)~PCI_EXP_DEVCTL_PHANTOM;
    uint16_t devctl2 = PCI_EXP_DEVCTL2_COMP_TIMEOUT | PCI_EXP_DEVCTL2_COMP_TMOUT_DIS;

    if (le32_get(layout->tmpl + cap + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_PHANTOM) {
        devctl |= PCI_EXP_DEVCTL_PHANTOM;
    }
    cap_rw(layout, cap, PCI_EXP_DEVCTL, 2, devctl);
    cap_w1c(layout, cap, PCI_EXP_DEVSTA, 2, PCI_EXP_DEVSTA_W1C);
    cap_rw(layout, cap, PCI_EXP_LNKCTL, 2, 0x0fcb); /* ASPM, RCB, CCC, ExtSynch, ClockPM, HAWD, BW irqs */
    if (le32_get(layout->tmpl + cap + PCI_EXP_DEVCAP2) & PCI_EXP_DEVCAP2_ARI) {
        devctl2 |= PCI_EXP_DEVCTL2_ARI;
    }
    cap_rw(layout, cap, PCI_EXP_DEVCTL2, 2, devctl2);
    cap_rw(layout, cap, PCI_EXP_LNKCTL2, 2, 0x000f); /* Target Link Speed */
}

int
pci_cap_add_msix(struct pci_layout *layout, uint16_t offset, const struct pci_msix_params *p, struct pcivirt_error *err)
{
    int cap;

    pcivirt_error_locate(err, NULL, 0, "MSI-X");
    if (p == NULL || p->table_size == 0 || p->table_size > 2048) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "MSI-X: table size %u is not 1..2048", p ? p->table_size : 0);
    }
    if (p->table_bir > 5 || p->pba_bir > 5 || (p->table_offset & 7) || (p->pba_offset & 7)) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "MSI-X: BIR above 5 or offset not QWORD aligned");
    }
    cap = pci_cap_add(layout, PCI_CAP_ID_MSIX, offset, PCI_MSIX_SIZEOF, err);
    if (cap < 0) {
        return cap;
    }
    cap_put(layout, cap, PCI_MSIX_FLAGS, 2, (uint32_t)(p->table_size - 1));
    cap_put(layout, cap, PCI_MSIX_TABLE, 4, p->table_offset | p->table_bir);
    cap_put(layout, cap, PCI_MSIX_PBA, 4, p->pba_offset | p->pba_bir);
    pci_open_msix(layout, cap);
    return cap;
}

void
pci_open_msix(struct pci_layout *layout, int cap)
{
    cap_rw(layout, cap, PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
}

int
pci_cap_add_vndr(struct pci_layout *layout, uint16_t offset, const struct pci_vndr_params *p, struct pcivirt_error *err)
{
    int cap;

    if (p == NULL || p->length < 3 || p->data_len > (size_t)p->length - 3 || (p->data_len && !p->data)) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "vendor capability: bad length or data");
    }
    cap = pci_cap_add(layout, PCI_CAP_ID_VNDR, offset, p->length, err);
    if (cap < 0) {
        return cap;
    }
    cap_put(layout, cap, PCI_VNDR_LEN, 1, p->length);
    if (p->data_len) {
        pci_layout_set_bytes(layout, (uint32_t)cap + 3, p->data, p->data_len);
    }
    return cap;
}
