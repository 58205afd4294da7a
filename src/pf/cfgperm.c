/*
 * pf/cfgperm.c - the permission tables (see pf/cfgperm.h).
 *
 * Data, not code: each line names a register, its virtualized / writable /
 * write-1-to-clear bits and the reason.  The VF attribute rules are those of
 * device-model.md 3.1-3.2; the choice of what to virtualize follows vfio-pci as
 * summarized in device-model.md 3.4.  Where we depart from vfio it says why.
 */
#include "pf/cfgperm.h"

#include <stddef.h>

#define LINES(a) (a), (unsigned)(sizeof(a) / sizeof((a)[0]))

/* Byte 1 of every standard capability: the same rule in each table below. */
#define NEXT_POINTER                                                                                                   \
    {                                                                                                                  \
        0x01, 1, PF_PERM_PLAIN, 0xFF, 0, 0, "Next pointer: virtual, skips hidden capabilities"                         \
    }

static const struct pf_perm_line header_lines[] = {
    {0x00, 4, PF_PERM_PLAIN, 0xFFFFFFFF, 0, 0,
     "Vendor/Device ID: a VF reads FFFF; show the PF vendor and VF Device ID (device-model 3.1)"},
    {0x04, 2, PF_PERM_PLAIN, 0x0001, 0, 0, "I/O Space Enable: ROZ in a VF, reads 0"},
    {0x04, 2, PF_PERM_PLAIN, 0x0002, 0x0002, 0,
     "Memory Space Enable: ROZ in a VF (VF MSE decodes); virtual so the guest's enable sticks"},
    {0x04, 2, PF_PERM_PLAIN, 0, 0x0004, 0, "Bus Master Enable: RW per VF, passes through"},
    {0x04, 2, PF_PERM_PLAIN, 0x0400, 0x0400, 0, "Interrupt Disable: VFs have no INTx; virtual"},
    {0x06, 2, PF_PERM_PLAIN, 0, 0xF900, 0xF900, "Status error bits: per VF, RW1C, pass through (parity, aborts, SERR)"},
    {0x10, 4, PF_PERM_PLAIN, 0xFFFFFFFF, 0, 0,
     "BAR0-5: hardwired 0 in a VF; virtual, sized from QueryProbedBars (write mask set per PF)"},
    {0x14, 4, PF_PERM_PLAIN, 0xFFFFFFFF, 0, 0, "BAR1: as BAR0"},
    {0x18, 4, PF_PERM_PLAIN, 0xFFFFFFFF, 0, 0, "BAR2: as BAR0"},
    {0x1C, 4, PF_PERM_PLAIN, 0xFFFFFFFF, 0, 0, "BAR3: as BAR0"},
    {0x20, 4, PF_PERM_PLAIN, 0xFFFFFFFF, 0, 0, "BAR4: as BAR0"},
    {0x24, 4, PF_PERM_PLAIN, 0xFFFFFFFF, 0, 0, "BAR5: as BAR0"},
    {0x30, 4, PF_PERM_PLAIN, 0xFFFFFFFF, 0, 0, "Expansion ROM: VFs have none; reads 0"},
    {0x34, 1, PF_PERM_PLAIN, 0xFF, 0, 0, "Capabilities Pointer: virtual, skips hidden capabilities"},
    {0x35, 1, PF_PERM_PLAIN, 0xFF, 0, 0, "reserved: reads 0"},
    {0x36, 2, PF_PERM_PLAIN, 0xFFFF, 0, 0, "reserved: reads 0"},
    {0x38, 4, PF_PERM_PLAIN, 0xFFFFFFFF, 0, 0, "reserved: reads 0"},
    {0x3C, 1, PF_PERM_PLAIN, 0xFF, 0xFF, 0, "Interrupt Line: ROZ in a VF; virtual scratch the guest owns"},
    {0x3D, 1, PF_PERM_PLAIN, 0xFF, 0, 0, "Interrupt Pin: a VF has no INTx (SR-IOV 3.4.1.18); reads 0"},
};

static const struct pf_perm_line pm_lines[] = {
    NEXT_POINTER,
    {0x04, 2, PF_PERM_PLAIN, 0, 0x0003, 0,
     "PMCSR PowerState: passes through, the device stops decoding in D3hot (device-model 7.3)"},
    {0x04, 2, PF_PERM_PLAIN, 0x0100, 0x0100, 0, "PMCSR PME_En: virtual, wake is armed by SetVfPowerState"},
    {0x04, 2, PF_PERM_PLAIN, 0, 0x8000, 0x8000, "PMCSR PME_Status: RW1C, passes through"},
};

static const struct pf_perm_line msi_lines[] = {
    NEXT_POINTER,
    {0x02, 2, PF_PERM_PLAIN, 0, 0x0071, 0,
     "Message Control enable and Multiple Message Enable: pass through; the stack remaps messages"},
    {0x04, 4, PF_PERM_PLAIN, 0, 0xFFFFFFFC, 0,
     "Message Address: passes through; interrupt remapping in the stack confines it"},
    {0x08, 4, PF_PERM_PLAIN, 0, 0xFFFFFFFF, 0, "Message Upper Address or Data: passes through"},
    {0x0C, 4, PF_PERM_PLAIN, 0, 0xFFFFFFFF, 0, "Message Data or Mask Bits: passes through"},
    {0x10, 4, PF_PERM_PLAIN, 0, 0xFFFFFFFF, 0, "Mask Bits (64-bit form): passes through"},
};

static const struct pf_perm_line msix_lines[] = {
    NEXT_POINTER,
    {0x02, 2, PF_PERM_PLAIN, 0, 0xC000, 0,
     "MSI-X Enable and Function Mask: pass through so the VF can signal; table lives in its BAR"},
};

static const struct pf_perm_line vndr_lines[] = {
    NEXT_POINTER,
};

static const struct pf_perm_line exp_lines[] = {
    NEXT_POINTER,
    {0x08, 2, PF_PERM_PLAIN, 0x7FFF, 0x7FFF, 0,
     "Device Control 0-14: VF RsvdP, the PF's apply; virtual so guest settings stick"},
    {0x08, 2, PF_PERM_FLR, 0x8000, 0x8000, 0,
     "Initiate FLR: resets this VF through the bus, then reads 0 (device-model 3.2, 7.2)"},
    {0x0A, 2, PF_PERM_PLAIN, 0, 0x000F, 0x000F, "Device Status error bits: RW1C, pass through"},
    {0x28, 2, PF_PERM_PLAIN, 0xFFDF, 0xFFDF, 0,
     "Device Control 2: VF RsvdP (PF applies); virtual, ARI Forwarding not writable"},
};

static const struct pf_perm_line aer_lines[] = {
    {0x02, 2, PF_PERM_PLAIN, 0xFFF0, 0, 0, "Next pointer and version: next is virtual, skips hidden ones"},
    {0x04, 4, PF_PERM_PLAIN, 0, 0xFFFFFFFF, 0xFFFFFFFF, "Uncorrectable Error Status: RW1C, pass through"},
    {0x08, 4, PF_PERM_PLAIN, 0, 0xFFFFFFFF, 0, "Uncorrectable Error Mask: per VF, passes through"},
    {0x0C, 4, PF_PERM_PLAIN, 0, 0xFFFFFFFF, 0, "Uncorrectable Error Severity: passes through"},
    {0x10, 4, PF_PERM_PLAIN, 0, 0xFFFFFFFF, 0xFFFFFFFF, "Correctable Error Status: RW1C, pass through"},
    {0x14, 4, PF_PERM_PLAIN, 0, 0xFFFFFFFF, 0, "Correctable Error Mask: passes through"},
    {0x18, 4, PF_PERM_PLAIN, 0, 0x00000140, 0, "ECRC Generation/Check Enable: pass through"},
};

/* Extended capabilities shown read-only: only the next pointer is patched. */
static const struct pf_perm_line ext_ro_lines[] = {
    {0x02, 2, PF_PERM_PLAIN, 0xFFF0, 0, 0, "Next pointer: virtual, skips hidden capabilities"},
};

static const struct pf_perm_table tables[] = {
    {PF_CAP_HEADER, false, false, 0x40, "header", LINES(header_lines),
     "type-0 header: IDs, BARs, ROM and INTx are virtual for a VF"},
    {PF_CAP_PM, false, false, 8, "PM", LINES(pm_lines), "power state reaches the VF, PME is virtual"},
    {PF_CAP_MSI, false, false, 0, "MSI", LINES(msi_lines), "messages pass through the stack's remapping"},
    {PF_CAP_VNDR, false, false, 0, "Vendor", LINES(vndr_lines), "read-only, the PF owns vendor registers"},
    {PF_CAP_EXP, false, false, 0x3C, "PCIe", LINES(exp_lines), "FLR is real, the rest is VF RsvdP"},
    {PF_CAP_MSIX, false, false, 12, "MSI-X", LINES(msix_lines), "enable and mask reach the VF"},
    {PF_ECAP_AER, true, false, 0x48, "AER", LINES(aer_lines), "error status and masks are per VF"},
    {PF_ECAP_DSN, true, false, 12, "DSN", LINES(ext_ro_lines), "equal to the PF's; read-only"},
    {PF_ECAP_ACS, true, false, 8, "ACS", LINES(ext_ro_lines), "isolation is the host's; read-only"},
    {PF_ECAP_ARI, true, false, 8, "ARI", LINES(ext_ro_lines), "read-only, as vfio-pci"},
    {PF_ECAP_ATS, true, false, 8, "ATS", LINES(ext_ro_lines), "a guest may not enable ATS; read-only"},
    {PF_ECAP_SRIOV, true, true, 0x40, "SR-IOV", NULL, 0,
     "never exposed to a guest: it would let it reshape the PF (issue 5, device-model 3.4)"},
    {PF_ECAP_MRIOV, true, true, 0, "MR-IOV", NULL, 0, "hidden, as vfio-pci"},
    {PF_ECAP_REBAR, true, true, 0, "ReBAR", NULL, 0, "must not be in a VF (device-model 3.2); hidden"},
    {PF_ECAP_SECPCI, true, true, 0, "SecPCIe", NULL, 0, "function-0 link state, not the VF's; hidden"},
    {PF_ECAP_PASID, true, true, 8, "PASID", NULL, 0, "the PF's PASID applies (device-model 3.2); hidden"},
    {PF_ECAP_VF_REBAR, true, true, 0, "VF ReBAR", NULL, 0, "must not be in a VF; hidden"},
};

const struct pf_perm_table *
pf_perm_table_find(uint16_t cap_id, bool extended)
{
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        if (tables[i].cap_id == cap_id && tables[i].extended == extended) {
            return &tables[i];
        }
    }
    return NULL;
}
