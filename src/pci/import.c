/*
 * pci/import.c - layouts from real config bytes (device profiles from dumps).
 *
 * A profile taken from an `lspci -xxxx` capture must behave like a function the
 * builders made: the same registers writable, the same RW1C bits, the used map
 * covering the capabilities so later additions are appended and cannot overlap.
 * So the importer walks the chains with the same strict walker as the survey,
 * claims each capability's known size through the allocator's overlap check,
 * and runs the very mask openers the builders run, reading their parameters from
 * the imported registers.  Only what registers cannot show stays closed: BAR and
 * VF BAR sizes (a dump has addresses, not sizes), for the device to open.
 */
#include <string.h>

#include "pci/caps.h"
#include "pci/layout_internal.h"
#include "util/alloc.h"
#include "util/le.h"

/* Claim a standard capability found at @off and open its masks. */
static int
import_std(struct pci_layout *l, const struct pci_cap_entry *e, struct pcivirt_error *err)
{
    unsigned size = pci_cap_std_size(l->tmpl, PCI_CFG_SIZE, e->offset, (uint8_t)e->id);
    int rc;

    if (e->id == PCI_CAP_ID_VNDR && l->tmpl[e->offset + PCI_VNDR_LEN] >= 3 &&
        e->offset + l->tmpl[e->offset + PCI_VNDR_LEN] <= PCI_CFG_SIZE) {
        size = l->tmpl[e->offset + PCI_VNDR_LEN];
        rc = pci_cap_claim(l, e->id, e->offset, size, false, NULL);
        if (rc >= 0) {
            return 0;
        }
        size = 2; /* a vendor length that runs into a neighbour: claim the header only */
    }
    rc = pci_cap_claim(l, e->id, e->offset, size, false, err);
    if (rc < 0) {
        return rc;
    }
    switch (e->id) {
    case PCI_CAP_ID_PM: pci_open_pm(l, e->offset); break;
    case PCI_CAP_ID_MSI: pci_open_msi(l, e->offset); break;
    case PCI_CAP_ID_MSIX: pci_open_msix(l, e->offset); break;
    case PCI_CAP_ID_EXP: pci_open_exp(l, e->offset); break;
    default: break;
    }
    return 0;
}

/* Claim an extended capability found at @off and open its masks. */
/* The lowest start of another capability above @off (or the end of the space). */
static unsigned
next_start(const struct pci_cap_entry *all, unsigned n, unsigned off, unsigned end)
{
    for (unsigned i = 0; i < n; i++) {
        if (all[i].offset > off && all[i].offset < end) {
            end = all[i].offset;
        }
    }
    return end;
}

static int
import_ext(struct pci_layout *l, const struct pci_cap_entry *e, const struct pci_cap_entry *all, unsigned n,
           unsigned flags, struct pcivirt_error *err)
{
    unsigned size = pci_cap_ext_size(e->id);
    int rc;

    if (e->id == PCI_ECAP_ID_ERR) {
        /* AER is 0x2c..0x48 bytes depending on the port type and version: own the
         * bytes up to the next capability, at most the full structure. */
        unsigned room = next_start(all, n, e->offset, l->size) - e->offset;

        size = room > PCI_ERR_SIZEOF ? PCI_ERR_SIZEOF : (room > size ? room : size);
    }
    if (e->id == PCI_ECAP_ID_ACS) {
        uint16_t acs = le16_get(l->tmpl + e->offset + PCI_ACS_CAP);
        unsigned bits =
            (acs & PCI_ACS_EC) ? ((acs >> PCI_ACS_EGRESS_BITS_SHIFT) ? acs >> PCI_ACS_EGRESS_BITS_SHIFT : 256) : 0;

        size += 4 * ((bits + 31) / 32);
    }
    rc = pci_cap_claim(l, e->id, e->offset, size, true, err);
    if (rc < 0) {
        return rc;
    }
    switch (e->id) {
    case PCI_ECAP_ID_ERR: pci_open_aer(l, e->offset, PCI_ERR_UNC_SUPPORTED, PCI_ERR_COR_SUPPORTED); break;
    case PCI_ECAP_ID_ACS: pci_open_acs(l, e->offset); break;
    case PCI_ECAP_ID_ARI: pci_open_ari(l, e->offset); break;
    case PCI_ECAP_ID_ATS: pci_open_ats(l, e->offset); break;
    case PCI_ECAP_ID_SRIOV: pci_open_sriov(l, e->offset, (flags & PCI_IMPORT_ARI_HIERARCHY_RW) != 0); break;
    default: break;
    }
    return 0;
}

/* Walk one chain of @l's template and import every entry. */
static int
import_chain(struct pci_layout *l, size_t len, bool ext, unsigned flags, struct pcivirt_error *err)
{
    static const unsigned max = PCI_CAP_EXT_MAX;
    struct pci_cap_entry *e = pv_calloc(max, sizeof(*e));
    unsigned n = 0;
    int rc;

    if (e == NULL) {
        return pcivirt_error_set(err, PCIVIRT_ENOMEM, "out of memory");
    }
    /* Walk only the bytes given: a chain must not lead into the zero fill. */
    rc = ext ? pci_cap_walk_ext(l->tmpl, len, e, max, &n, err) : pci_cap_walk_std(l->tmpl, len, e, max, &n, err);
    for (unsigned i = 0; i < n && rc == 0; i++) {
        rc = ext ? import_ext(l, &e[i], e, n, flags, err) : import_std(l, &e[i], err);
    }
    if (rc == 0 && n > 0) {
        if (ext) {
            l->ext_tail = e[n - 1].offset;
        } else {
            l->std_tail = e[n - 1].offset;
        }
    }
    pv_free(e);
    return rc;
}

int
pci_layout_import(const uint8_t *bytes, size_t len, unsigned flags, struct pci_layout **out, struct pcivirt_error *err)
{
    struct pci_layout *l = NULL;
    int rc;

    if (out == NULL) {
        return PCIVIRT_EINVAL;
    }
    *out = NULL;
    if (bytes == NULL || len < PCI_CFG_SIZE_COMPAT || len > PCI_CFG_SIZE_EXT) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "config bytes: %zu bytes (need 64..4096)", len);
    }
    if ((bytes[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK) != PCI_HEADER_TYPE_NORMAL) {
        pcivirt_error_locate(err, NULL, 0, "header type");
        return pcivirt_error_set(err, PCIVIRT_ENOTSUP, "header type 0x%02x: only type-0 functions can be imported",
                                 bytes[PCI_HEADER_TYPE]);
    }
    rc = pci_layout_create(len > PCI_CFG_SIZE ? PCI_CFG_SIZE_EXT : PCI_CFG_SIZE, &l);
    if (rc != 0) {
        return pcivirt_error_set(err, rc, "out of memory");
    }
    memcpy(l->tmpl, bytes, len);
    pci_open_type0(l);
    rc = import_chain(l, len, false, flags, err);
    if (rc == 0 && l->size == PCI_CFG_SIZE_EXT && pci_cfg_has_ext(bytes, len)) {
        rc = import_chain(l, len, true, flags, err);
    }
    if (rc != 0) {
        pci_layout_unref(l);
        return rc;
    }
    *out = l;
    return 0;
}
