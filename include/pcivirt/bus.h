/*
 * pcivirt/bus.h - the bus interface: the only way a PF driver touches its device.
 *
 * The idea of Windows' BUS_INTERFACE_STANDARD / PCI_VIRTUALIZATION_INTERFACE: the
 * bus driver that enumerated the PF (here: the device model in src/dev, later a
 * real-hardware backend) hands the PF driver a versioned table of operations.  The
 * PF driver obtains it by query-interface on its PDO with GUID_PCIVIRT_BUS_INTERFACE
 * and never includes a device-model header.
 *
 * The table starts with the 32-byte INTERFACE header (Size, Version, Context,
 * reference/dereference) and is append-only (../shared/STYLE.md rule 11): a new
 * member goes at the end with a new version; a consumer checks Size before using a
 * member past the version-1 end.
 *
 * Addressing is by routing ID (bus << 8 | devfn, or the 8-bit ARI function number
 * in the low byte) inside the segment the resources report.  Operations return 0 or
 * a negative PCIVIRT_E* code (pcivirt/error.h); they never block indefinitely.
 */
#ifndef PCIVIRT_BUS_H
#define PCIVIRT_BUS_H

#include <stddef.h>
#include <stdint.h>

#include "pcivirt/error.h"
#include "pcivirt/nt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* {6A1C9E41-3F0B-4C8E-9D57-0B2E5C7A1F30}: pcivirt's own query-interface GUID (not a Windows one). */
DEFINE_GUID(GUID_PCIVIRT_BUS_INTERFACE, 0x6a1c9e41, 0x3f0b, 0x4c8e, 0x9d, 0x57, 0x0b, 0x2e, 0x5c, 0x7a, 0x1f, 0x30);

#define PCIVIRT_BUS_INTERFACE_VERSION 2
/* Size of the version-1 table (before last_error was appended). */
#define PCIVIRT_BUS_INTERFACE_V1_SIZE offsetof(PCIVIRT_BUS_INTERFACE, last_error)

/*
 * What the bus assigned to the PF at its last start, as translated (CPU physical)
 * descriptors.  bar[i] are the PF's own BARs; vf_bar[i] the SR-IOV VF BAR
 * apertures (NumVFs consecutive per-VF windows each, contract.md 6.9).  Unused
 * slots and the upper halves of 64-bit BARs have Type CmResourceTypeNull.
 * Lengths above 4 GiB use CmResourceTypeMemoryLarge.
 */
struct pcivirt_bus_resources {
    CM_PARTIAL_RESOURCE_DESCRIPTOR bar[6];
    CM_PARTIAL_RESOURCE_DESCRIPTOR vf_bar[6];
    uint16_t segment;      /* PCI segment (domain) */
    uint16_t pf_rid;       /* the PF's routing ID */
    uint8_t secondary_bus; /* the bus range below the PF's root port */
    uint8_t subordinate_bus;
    uint16_t reserved;
};

typedef struct pcivirt_bus_interface {
    /* INTERFACE header */
    USHORT Size;
    USHORT Version;
    PVOID Context;
    PINTERFACE_REFERENCE InterfaceReference;
    PINTERFACE_DEREFERENCE InterfaceDereference;

    /*
     * Config space of the PF or one of its VFs.  @offset + @length <= 4096,
     * @length 1..4096; any alignment.  A routing ID with no enabled function
     * behind it reads all-ones and drops writes (returns 0), as PCIe does for an
     * unsupported request; a bad offset/length returns PCIVIRT_ERANGE.
     */
    int (*config_read)(void *context, uint16_t rid, uint16_t offset, void *data, uint32_t length);
    int (*config_write)(void *context, uint16_t rid, uint16_t offset, const void *data, uint32_t length);

    /*
     * Memory space behind BAR @bar (0..5) of the PF or a VF, at byte @offset, 1..8
     * bytes.  Honours decode rules (Memory Space Enable, VF MSE, VF in D0): a
     * function that does not decode reads all-ones and drops writes, returning
     * PCIVIRT_ESTATE.  Out-of-range → PCIVIRT_ERANGE.
     */
    int (*mmio_read)(void *context, uint16_t rid, unsigned bar, uint64_t offset, void *data, uint32_t length);
    int (*mmio_write)(void *context, uint16_t rid, unsigned bar, uint64_t offset, const void *data, uint32_t length);

    /* Function-level reset of the PF or one VF (a PF FLR also takes all VFs away). */
    int (*function_reset)(void *context, uint16_t rid);

    /* The resources assigned at the last start (see above). */
    int (*query_resources)(void *context, struct pcivirt_bus_resources *out);

    /* ---- version 2 (appended) ---- */

    /*
     * Why the device last refused a side effect - above all a VF Enable write
     * whose geometry does not fit (the message shows offset, stride, NumVFs, ARI,
     * the last VF's routing ID and the bus range).  Returns 0 and fills @out, or
     * PCIVIRT_ENOENT when nothing was refused.
     */
    int (*last_error)(void *context, struct pcivirt_error *out);
} PCIVIRT_BUS_INTERFACE, *PPCIVIRT_BUS_INTERFACE;

#ifdef __cplusplus
}
#endif

#endif /* PCIVIRT_BUS_H */
