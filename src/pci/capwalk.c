/*
 * pci/capwalk.c - walking capability chains in raw config bytes.
 *
 * The input may come from real (sometimes broken) hardware, so the walk trusts
 * nothing: each step checks the pointer against the rules of PCIe Base 7.5.3 /
 * 7.6.3 (standard capabilities live in 0x40..0xff, extended ones in
 * 0x100..0xfff, both DWORD aligned), remembers visited offsets so a loop ends at
 * its second visit, and checks the new capability's start against the known
 * minimum size of every earlier one (overlap).  Sizes are only claimed where the
 * structure fixes them (PM, MSI from its flags, MSI-X, PCIe by version, SR-IOV,
 * ARI, ATS, ACS, DSN, AER), so a vendor structure of unknown length never causes
 * a false alarm.  Like lspci, an ID of 0xff in the standard chain means the chain
 * is broken (all-ones reads), and a zero header ends the extended chain.
 */
#include <stdio.h>
#include <string.h>

#include "pci/caps.h"
#include "pci/layout_internal.h"
#include "util/le.h"

/* Minimum bytes a standard capability at @off occupies (2 when unknown). */
unsigned
pci_cap_std_size(const uint8_t *cfg, uint32_t lim, uint32_t off, uint8_t id)
{
    uint16_t flags = off + 4 <= lim ? le16_get(cfg + off + 2) : 0;

    switch (id) {
    case PCI_CAP_ID_PM: return PCI_PM_SIZEOF;
    case PCI_CAP_ID_MSIX: return PCI_MSIX_SIZEOF;
    case PCI_CAP_ID_MSI:
        return ((flags & PCI_MSI_FLAGS_64BIT) ? 14u : 10u) + ((flags & PCI_MSI_FLAGS_MASKBIT) ? 10u : 0u);
    case PCI_CAP_ID_EXP:
        /* Version 1 endpoints end after Link Status; version 2 has the full 0x3c. */
        return (flags & PCI_EXP_FLAGS_VERS) >= 2 ? PCI_EXP_SIZEOF_V2 : 0x14;
    default: return 2;
    }
}

/* Minimum bytes an extended capability occupies (4 when unknown). */
unsigned
pci_cap_ext_size(uint16_t id)
{
    switch (id) {
    case PCI_ECAP_ID_ERR: return 0x2c; /* through the Header Log, present in every AER structure */
    case PCI_ECAP_ID_DSN: return PCI_DSN_SIZEOF;
    case PCI_ECAP_ID_ACS:
    case PCI_ECAP_ID_ARI:
    case PCI_ECAP_ID_ATS: return 8;
    case PCI_ECAP_ID_SRIOV: return PCI_SRIOV_SIZEOF;
    default: return 4;
    }
}

/* The walk's bookkeeping, shared by both chain kinds. */
struct walk {
    const uint8_t *cfg;
    uint32_t lim;
    bool ext;
    struct pci_cap_entry *out;
    unsigned max;
    unsigned count;
    uint16_t start[PCI_CAP_EXT_MAX]; /* starts and ends of earlier capabilities */
    uint16_t end[PCI_CAP_EXT_MAX];
    uint8_t seen[PCI_CFG_SIZE_EXT];
    uint16_t prev_id; /* the capability whose next pointer is followed */
    struct pcivirt_error *err;
};

/* Describe where pointer @ptr came from, for messages. */
static void
origin(const struct walk *w, char *buf, size_t size)
{
    if (w->count == 0) {
        snprintf(buf, size, "%s", w->ext ? "the chain start 0x100" : "the capabilities pointer");
    } else {
        snprintf(buf, size, "the next pointer of capability 0x%02x at 0x%03x", w->prev_id, w->start[w->count - 1]);
    }
}

/* Check pointer @ptr before reading the structure it names. */
static int
check_ptr(struct walk *w, uint32_t ptr, unsigned hdr)
{
    uint32_t lo = w->ext ? PCI_ECAP_MIN_OFFSET : PCI_CAP_MIN_OFFSET;
    const char *kind = w->ext ? "extended capability chain" : "capability chain";
    char from[96];

    origin(w, from, sizeof(from));
    pcivirt_error_locate(w->err, NULL, 0, w->ext ? "extended capability pointer" : "capability pointer");
    if (ptr & 3) {
        return pcivirt_error_set(w->err, PCIVIRT_EFORMAT, "%s: 0x%03x from %s is not DWORD aligned", kind, ptr, from);
    }
    if (ptr < lo) {
        return pcivirt_error_set(w->err, PCIVIRT_EFORMAT, "%s: 0x%03x from %s points into the header (below 0x%03x)",
                                 kind, ptr, from, lo);
    }
    if (ptr + hdr > w->lim) {
        return pcivirt_error_set(w->err, PCIVIRT_ERANGE, "%s: 0x%03x from %s points past the end (0x%03x bytes)", kind,
                                 ptr, from, w->lim);
    }
    if (w->seen[ptr]) {
        return pcivirt_error_set(w->err, PCIVIRT_ELOOP, "%s: 0x%03x from %s was already visited (loop)", kind, ptr,
                                 from);
    }
    for (unsigned i = 0; i < w->count; i++) {
        if (ptr >= w->start[i] && ptr < w->end[i]) {
            return pcivirt_error_set(w->err, PCIVIRT_EOVERLAP,
                                     "%s: capability at 0x%03x overlaps the one at 0x%03x (which spans to 0x%03x)",
                                     kind, ptr, w->start[i], w->end[i] - 1u);
        }
    }
    return 0;
}

/* Record a capability; PCIVIRT_ENOSPC when @out is full. */
static int
record(struct walk *w, uint32_t off, uint16_t id, uint8_t ver, unsigned size)
{
    uint32_t end = off + size;

    if (w->count >= PCI_CAP_EXT_MAX || (w->out != NULL && w->count >= w->max)) {
        return pcivirt_error_set(w->err, PCIVIRT_ENOSPC, "more than %u capabilities", w->count);
    }
    if (w->out != NULL) {
        w->out[w->count] =
            (struct pci_cap_entry){.offset = (uint16_t)off, .id = id, .version = ver, .extended = w->ext};
    }
    w->seen[off] = 1;
    w->prev_id = id;
    w->start[w->count] = (uint16_t)off;
    w->end[w->count] = (uint16_t)(end > w->lim ? w->lim : end);
    w->count++;
    if (end > w->lim) {
        pcivirt_error_locate(w->err, NULL, 0, w->ext ? "extended capability" : "capability");
        return pcivirt_error_set(w->err, PCIVIRT_ERANGE,
                                 "%s 0x%02x at 0x%03x needs %u bytes but the space ends at 0x%03x (truncated)",
                                 w->ext ? "extended capability" : "capability", id, off, size, w->lim);
    }
    return 0;
}

static int
walk_std(struct walk *w)
{
    uint8_t hdr_type = w->cfg[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK;
    uint32_t ptr;

    if (!(le16_get(w->cfg + PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
        return 0;
    }
    ptr = w->cfg[hdr_type == PCI_HEADER_TYPE_CARDBUS ? PCI_CB_CAPABILITY_LIST : PCI_CAPABILITY_LIST];
    while (ptr != 0) {
        uint8_t id;
        int rc = check_ptr(w, ptr, 2);

        if (rc != 0) {
            return rc;
        }
        id = w->cfg[ptr + PCI_CAP_LIST_ID];
        if (id == 0xff) {
            return pcivirt_error_set(w->err, PCIVIRT_EFORMAT,
                                     "capability chain broken at 0x%02x: ID 0xff (reads as all-ones)", ptr);
        }
        rc = record(w, ptr, id, 0, pci_cap_std_size(w->cfg, w->lim, ptr, id));
        if (rc != 0) {
            return rc;
        }
        ptr = w->cfg[ptr + PCI_CAP_LIST_NEXT];
    }
    return 0;
}

static int
walk_ext(struct walk *w)
{
    uint32_t ptr = PCI_ECAP_MIN_OFFSET;
    uint32_t first;

    if (w->lim < PCI_ECAP_MIN_OFFSET + 4) {
        return 0;
    }
    first = le32_get(w->cfg + PCI_ECAP_MIN_OFFSET);
    if (first == 0 || first == 0xffffffffu) {
        return 0; /* no extended capabilities / no extended space (as Linux reads it) */
    }
    if (first == le32_get(w->cfg)) {
        pcivirt_error_locate(w->err, NULL, 0, "extended capability pointer");
        return pcivirt_error_set(w->err, PCIVIRT_EFORMAT,
                                 "extended space at 0x100 repeats the header (0x%08x): the device aliases its first "
                                 "256 bytes, there is no extended capability chain",
                                 first);
    }
    while (ptr != 0) {
        uint32_t hdr;
        int rc = check_ptr(w, ptr, 4);

        if (rc != 0) {
            return rc;
        }
        hdr = le32_get(w->cfg + ptr);
        if (hdr == 0) {
            break; /* a zero header ends the chain (PCIe Base 7.6.3) */
        }
        rc = record(w, ptr, (uint16_t)PCI_ECAP_ID(hdr), (uint8_t)PCI_ECAP_VER(hdr), pci_cap_ext_size(PCI_ECAP_ID(hdr)));
        if (rc != 0) {
            return rc;
        }
        ptr = PCI_ECAP_NEXT(hdr);
    }
    return 0;
}

/* Run one walk over @cfg (the bookkeeping, about 8 KiB, lives on the stack). */
static int
walk(const uint8_t *cfg, size_t len, bool ext, struct pci_cap_entry *out, unsigned max, unsigned *count,
     struct pcivirt_error *err)
{
    struct walk w;
    int rc;

    if (count != NULL) {
        *count = 0;
    }
    if (cfg == NULL || len < PCI_CFG_SIZE_COMPAT || (out == NULL && max != 0)) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "config buffer of %zu bytes (need 64..4096)", len);
    }
    memset(&w, 0, sizeof(w));
    w.cfg = cfg;
    w.ext = ext;
    w.lim = (uint32_t)(len > (ext ? PCI_CFG_SIZE_EXT : PCI_CFG_SIZE) ? (ext ? PCI_CFG_SIZE_EXT : PCI_CFG_SIZE) : len);
    w.out = out;
    w.max = max;
    w.err = err;
    rc = ext ? walk_ext(&w) : walk_std(&w);
    if (count != NULL) {
        *count = w.count;
    }
    return rc;
}

int
pci_cap_walk_std(const uint8_t *cfg, size_t len, struct pci_cap_entry *out, unsigned max, unsigned *count,
                 struct pcivirt_error *err)
{
    return walk(cfg, len, false, out, max, count, err);
}

int
pci_cap_walk_ext(const uint8_t *cfg, size_t len, struct pci_cap_entry *out, unsigned max, unsigned *count,
                 struct pcivirt_error *err)
{
    return walk(cfg, len, true, out, max, count, err);
}

bool
pci_cfg_has_ext(const uint8_t *cfg, size_t len)
{
    struct pci_cap_entry caps[PCI_CAP_STD_MAX];
    unsigned n = 0;

    if (cfg == NULL || len <= PCI_CFG_SIZE) {
        return false;
    }
    (void)pci_cap_walk_std(cfg, len, caps, PCI_CAP_STD_MAX, &n, NULL);
    for (unsigned i = 0; i < n; i++) {
        if (caps[i].id == PCI_CAP_ID_EXP) {
            return true;
        }
        /* PCI-X 2.0: Status bits 17 (266 MHz) or 18 (533 MHz) capable. */
        if (caps[i].id == PCI_CAP_ID_PCIX && caps[i].offset + 8u <= PCI_CFG_SIZE &&
            (le32_get(cfg + caps[i].offset + 4) & 0x00060000u) != 0) {
            return true;
        }
    }
    return false;
}

/* Shared by both finders: walk, then pick the first @id after @start. */
static int
find(const uint8_t *cfg, size_t len, bool ext, uint16_t id, uint16_t start, struct pcivirt_error *err)
{
    struct pci_cap_entry caps[PCI_CAP_EXT_MAX];
    unsigned n = 0;
    int rc = walk(cfg, len, ext, caps, PCI_CAP_EXT_MAX, &n, err);

    for (unsigned i = 0; i < n; i++) {
        if (caps[i].id == id && caps[i].offset > start) {
            return caps[i].offset;
        }
    }
    if (rc != 0) {
        return rc;
    }
    pcivirt_error_locate(err, NULL, 0, ext ? "extended capability" : "capability");
    return pcivirt_error_set(err, PCIVIRT_ENOENT, "no %s capability 0x%02x after 0x%03x", ext ? "extended" : "standard",
                             id, start);
}

int
pci_cap_find(const uint8_t *cfg, size_t len, uint8_t id, uint16_t start, struct pcivirt_error *err)
{
    return find(cfg, len, false, id, start, err);
}

int
pci_ecap_find(const uint8_t *cfg, size_t len, uint16_t id, uint16_t start, struct pcivirt_error *err)
{
    return find(cfg, len, true, id, start, err);
}

const char *
pci_cap_name(uint8_t id)
{
    switch (id) {
    case PCI_CAP_ID_PM: return "Power Management";
    case 0x02: return "AGP";
    case 0x03: return "VPD";
    case 0x04: return "Slot ID";
    case PCI_CAP_ID_MSI: return "MSI";
    case 0x06: return "CompactPCI hot swap";
    case PCI_CAP_ID_PCIX: return "PCI-X";
    case 0x08: return "HyperTransport";
    case PCI_CAP_ID_VNDR: return "Vendor Specific";
    case 0x0a: return "Debug port";
    case 0x0c: return "Hot-plug";
    case 0x0d: return "Subsystem ID";
    case 0x0e: return "AGP 8x";
    case 0x0f: return "Secure device";
    case PCI_CAP_ID_EXP: return "PCI Express";
    case PCI_CAP_ID_MSIX: return "MSI-X";
    case 0x12: return "SATA";
    case 0x13: return "Advanced Features";
    case PCI_CAP_ID_EA: return "Enhanced Allocation";
    default: return "unknown";
    }
}

const char *
pci_ecap_name(uint16_t id)
{
    switch (id) {
    case PCI_ECAP_ID_ERR: return "AER";
    case PCI_ECAP_ID_VC: return "Virtual Channel";
    case PCI_ECAP_ID_DSN: return "Device Serial Number";
    case 0x0004: return "Power Budgeting";
    case 0x0005: return "Root Complex Link";
    case PCI_ECAP_ID_VNDR: return "Vendor Specific";
    case PCI_ECAP_ID_ACS: return "ACS";
    case PCI_ECAP_ID_ARI: return "ARI";
    case PCI_ECAP_ID_ATS: return "ATS";
    case PCI_ECAP_ID_SRIOV: return "SR-IOV";
    case 0x0015: return "Resizable BAR";
    case 0x0018: return "LTR";
    case 0x0019: return "Secondary PCIe";
    case 0x001b: return "PASID";
    case 0x001e: return "L1 PM Substates";
    case 0x001f: return "PTM";
    case 0x0023: return "DVSEC";
    case 0x0024: return "VF Resizable BAR";
    default: return "unknown";
    }
}
