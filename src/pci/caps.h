/*
 * pci/caps.h - capability builder (on a layout) and finder (on raw bytes).
 *
 * Why it is shaped so.  Capabilities are allocated, not poked (../shared/STYLE.md
 * rule 2): adding one checks its range against the layout's used map, refuses an
 * overlap with an error naming both offsets, marks its bytes used and read-only,
 * links it at the tail of its chain, and only then the capability's own init opens
 * the bits the specification makes writable or RW1C.  Each typed builder takes a
 * parameter struct, so the same code builds the default profile, a profile read
 * from a dump, and test functions; the SR-IOV builder only lays down bytes and
 * masks - VF Enable, routing and sizing behaviour belong to the device (src/dev),
 * which registers hooks on the capability's range.
 *
 * The finder works on any buffer (64..4096 bytes: a layout's template, a function's
 * bytes, a sysfs config file, a dump), because the host survey reads real devices
 * with it.  Real chains can be broken (../shared/data/pciutils-tests/broken-ecaps),
 * so every walk is bounded by the space, remembers what it visited, and stops with
 * an error naming the offset and the rule broken: a loop, two capabilities that
 * overlap, a pointer into the header (< 0x40 standard, < 0x100 extended), past the
 * end of the buffer, or not DWORD aligned.  Entries found before the error are still
 * returned, so a caller can report a partial chain.
 *
 * Builders return the capability's offset (> 0) or a negative PCIVIRT_E* code.
 * An @offset of 0 asks the builder to allocate the first free DWORD-aligned range
 * (standard: from 0x40; extended: from 0x100).  The first extended capability must
 * be at 0x100 (PCIe Base 7.6.3).
 */
#ifndef PCIVIRT_PCI_CAPS_H
#define PCIVIRT_PCI_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pci/config.h"
#include "pci/regs.h"
#include "pcivirt/error.h"

/* ---- generic allocation ------------------------------------------------------------ */

/**
 * pci_cap_add() - allocate a standard capability of @size bytes (>= 2) with @id.
 * Sets Status.Capabilities List and links it at the tail of the chain (0x34 for the
 * first).  The bytes are used, read-only, template zero except ID and next pointer.
 *
 * Return: the offset; PCIVIRT_EINVAL (bad size/id, unaligned offset);
 * PCIVIRT_ERANGE (outside 0x40..0xff); PCIVIRT_EOVERLAP naming both offsets;
 * PCIVIRT_ENOSPC (no free range for @offset 0); PCIVIRT_ENOMEM.
 */
int pci_cap_add(struct pci_layout *layout, uint8_t id, uint16_t offset, uint16_t size, struct pcivirt_error *err);

/**
 * pci_ecap_add() - allocate an extended capability (@size >= 4 bytes, @version
 * 0..15) in a 4096-byte layout; as pci_cap_add() otherwise.
 *
 * Return: the offset; errors as pci_cap_add(), plus PCIVIRT_ENOTSUP for a 256-byte
 * layout and PCIVIRT_EINVAL when the first extended capability is not at 0x100.
 */
int pci_ecap_add(struct pci_layout *layout, uint16_t id, uint8_t version, uint16_t offset, uint16_t size,
                 struct pcivirt_error *err);

/* ---- typed builders -------------------------------------------------------------- */

/* Power Management (PCI PM 1.2): PMC as given (version 3 when its low bits are 0). */
struct pci_pm_params {
    uint16_t pmc;       /* PMC register: D1/D2 support, PME support bits 15:11, aux current */
    bool no_soft_reset; /* PMCSR No_Soft_Reset: D3hot->D0 keeps state */
};
/* Writable: PMCSR PowerState; PME_En when any PME support bit is set; PME_Status RW1C. */
int pci_cap_add_pm(struct pci_layout *layout, uint16_t offset, const struct pci_pm_params *p,
                   struct pcivirt_error *err);

/* MSI: 10..24 bytes depending on the address width and per-vector masking. */
struct pci_msi_params {
    unsigned vectors; /* 1, 2, 4, 8, 16 or 32: Multiple Message Capable */
    bool addr64;
    bool per_vector_mask;
};
/* Writable: Enable, Multiple Message Enable, address, data, mask bits (vector-wide). */
int pci_cap_add_msi(struct pci_layout *layout, uint16_t offset, const struct pci_msi_params *p,
                    struct pcivirt_error *err);

/* PCI Express capability, version 2 (0x3c bytes). */
struct pci_exp_params {
    uint8_t type;    /* PCI_EXP_TYPE_* (Device/Port Type) */
    uint32_t devcap; /* e.g. PCI_EXP_DEVCAP_FLR | payload */
    uint32_t lnkcap; /* speed and width; 0 for an RCiEP */
    uint16_t lnksta; /* current speed and width */
    uint32_t devcap2;
    uint32_t lnkcap2;
};
/* Writable: Device Control bits 0-14 (Phantom only when supported), Device Status
 * error bits RW1C, Link Control, Device Control 2 timeouts (+ ARI Forwarding Enable
 * when DevCap2 says ARI Forwarding Supported), Link Control 2 target speed.
 * Initiate FLR (DevCtl bit 15) reads 0: a device hook sees it in pci_hook_written(). */
int pci_cap_add_exp(struct pci_layout *layout, uint16_t offset, const struct pci_exp_params *p,
                    struct pcivirt_error *err);

/* MSI-X: table and PBA locations (QWORD-aligned offsets in BAR @bir 0..5). */
struct pci_msix_params {
    uint16_t table_size; /* 1..2048 vectors */
    uint8_t table_bir;
    uint32_t table_offset;
    uint8_t pba_bir;
    uint32_t pba_offset;
};
/* Writable: Enable and Function Mask. */
int pci_cap_add_msix(struct pci_layout *layout, uint16_t offset, const struct pci_msix_params *p,
                     struct pcivirt_error *err);

/* Vendor-specific (0x09): @length >= 3 bytes in total; @data fills bytes 3..length-1. */
struct pci_vndr_params {
    uint8_t length;
    const uint8_t *data;
    size_t data_len; /* <= length - 3 */
};
int pci_cap_add_vndr(struct pci_layout *layout, uint16_t offset, const struct pci_vndr_params *p,
                     struct pcivirt_error *err);

/* AER (0x0001 v2, 0x48 bytes). */
struct pci_aer_params {
    uint32_t uncor_supported; /* status bits that can be set (RW1C) and masked; 0: PCI_ERR_UNC_SUPPORTED */
    uint32_t cor_supported;   /* 0: PCI_ERR_COR_SUPPORTED */
    uint32_t uncor_severity;  /* reset value of the Severity register */
    bool ecrc_gen_capable;
    bool ecrc_check_capable;
};
int pci_ecap_add_aer(struct pci_layout *layout, uint16_t offset, const struct pci_aer_params *p,
                     struct pcivirt_error *err);

/* Device Serial Number (0x0003 v1, 12 bytes, read-only). */
int pci_ecap_add_dsn(struct pci_layout *layout, uint16_t offset, uint64_t serial, struct pcivirt_error *err);

/* ACS (0x000d v1): @cap = PCI_ACS_* flags (| vector size << 8 when EC). Control
 * bits of supported features are writable; with EC the Egress Control Vector
 * follows (writable). */
int pci_ecap_add_acs(struct pci_layout *layout, uint16_t offset, uint16_t cap, struct pcivirt_error *err);

/* ARI (0x000e v1): Next Function Number and capability bits; Control writable for
 * the supported function groups (+ Function Group field when either is). */
struct pci_ari_params {
    uint8_t next_function;
    uint16_t cap_flags; /* PCI_ARI_CAP_MFVC | PCI_ARI_CAP_ACS */
};
int pci_ecap_add_ari(struct pci_layout *layout, uint16_t offset, const struct pci_ari_params *p,
                     struct pcivirt_error *err);

/* ATS (0x000f v1): Control STU and Enable writable. */
struct pci_ats_params {
    uint8_t queue_depth; /* 0..31 (0 means 32) */
    bool page_aligned;
    bool global_invalidate;
};
int pci_ecap_add_ats(struct pci_layout *layout, uint16_t offset, const struct pci_ats_params *p,
                     struct pcivirt_error *err);

/* One VF BAR for the SR-IOV builder: @size = per-VF bytes (0 = absent). */
struct pci_sriov_bar {
    uint64_t size;  /* power of two >= 16; the per-VF region */
    unsigned flags; /* PCI_BAR_MEM32 or PCI_BAR_MEM64, | PCI_BAR_PREFETCH */
};

/* SR-IOV (0x0010 v1, 0x40 bytes; device-model.md 1.1-1.4). */
struct pci_sriov_params {
    uint32_t caps; /* SR-IOV Capabilities (PCI_SRIOV_CAP_*) */
    uint16_t initial_vfs;
    uint16_t total_vfs;
    uint16_t num_vfs;   /* reset value (normally 0) */
    uint8_t func_link;  /* Function Dependency Link */
    uint16_t vf_offset; /* First VF Offset (reset value; the device may change it) */
    uint16_t vf_stride;
    uint16_t vf_device_id;
    uint32_t supported_page_sizes; /* 0: PCI_SRIOV_SUP_PGSIZE_MINREQ */
    uint32_t system_page_size;     /* 0: 0x1 (4 KiB); must be one supported bit */
    bool ari_hierarchy_writable;   /* lowest-numbered PF: ARI Capable Hierarchy is RW */
    struct pci_sriov_bar vf_bar[PCI_SRIOV_NUM_BARS];
};
/*
 * Writable: Control VF Enable, VF MSE, ARI Capable Hierarchy (when
 * @ari_hierarchy_writable), VF 10-Bit Tag Enable (when the capability says so);
 * NumVFs; System Page Size (the supported bits); VF BAR address bits above
 * max(size, 4 KiB) - the device narrows them for larger System Page Sizes.
 * Status VF Migration RW1C only when VF Migration Capable.  Everything else RO.
 * Return: the offset; PCIVIRT_EINVAL naming the field for inconsistent parameters
 * (InitialVFs > TotalVFs, a system page size that is not one supported bit, a VF
 * BAR with a bad size/flags, a 64-bit BAR at index 5 or whose upper half is used).
 */
int pci_ecap_add_sriov(struct pci_layout *layout, uint16_t offset, const struct pci_sriov_params *p,
                       struct pcivirt_error *err);

/**
 * pci_ecap_sriov_set_bar_size() - make VF BAR @bar (0..5) of the SR-IOV capability
 * at @cap size as @size bytes per VF: its address bits above log2(@size) become
 * writable (both registers of a 64-bit BAR, whose type the template bits give).
 * The device calls it with max(per-VF size, System Page Size) when the System Page
 * Size changes (device-model.md 6), and for profiles imported from dumps, whose
 * sizes a dump cannot show.  @size 0 makes the BAR read-only.
 * Return: 0; PCIVIRT_EINVAL naming the BAR (no SR-IOV capability at @cap, an I/O
 * or 64-bit-at-5 type, a bad size).
 */
int pci_ecap_sriov_set_bar_size(struct pci_layout *layout, uint16_t cap, unsigned bar, uint64_t size,
                                struct pcivirt_error *err);

/* ---- layouts from real config bytes -------------------------------------------------- */

#define PCI_IMPORT_ARI_HIERARCHY_RW 0x1u /* the function is the lowest-numbered PF */

/**
 * pci_layout_import() - a layout whose template is a real function's config bytes
 * (a dump or a sysfs config file) and whose masks are what the builders would open
 * for the capabilities found: the type-0 header masks, and for PM, MSI, MSI-X,
 * PCIe, AER (default supported error bits), ACS, ARI, ATS and SR-IOV (ARI Capable
 * Hierarchy writable with PCI_IMPORT_ARI_HIERARCHY_RW) their RW / RW1C bits.
 * Every capability's known size is claimed in the used map (unknown ones: their
 * header; vendor-specific: their length byte), so overlaps are found and
 * capabilities added later are appended to the chains.  BAR and VF BAR masks stay
 * closed: a dump shows addresses, not sizes - open them with
 * pci_layout_set_bar_size() / pci_ecap_sriov_set_bar_size().
 * @bytes, @len: 64..4096 bytes; the layout is 4096 bytes when @len > 256, else 256
 *               (missing bytes read 0).
 * Return: 0; PCIVIRT_EINVAL (bad arguments); PCIVIRT_ENOTSUP (not a type-0 header);
 * a chain error of pci_cap_walk_std/ext() or an overlap (PCIVIRT_EOVERLAP), with
 * the offsets in @err; PCIVIRT_ENOMEM.
 */
int pci_layout_import(const uint8_t *bytes, size_t len, unsigned flags, struct pci_layout **out,
                      struct pcivirt_error *err);

/* ---- finder on raw bytes ------------------------------------------------------------ */

/* One capability found in a chain. */
struct pci_cap_entry {
    uint16_t offset;
    uint16_t id;     /* 8-bit standard ID or 16-bit extended ID */
    uint8_t version; /* extended only (0 for standard) */
    bool extended;
};

#define PCI_CAP_STD_MAX 48  /* (256 - 64) / 4 */
#define PCI_CAP_EXT_MAX 960 /* (4096 - 256) / 4 */

/**
 * pci_cap_walk_std() - walk the standard chain of a config buffer.
 * @cfg, @len: the bytes (@len >= 64; only the first 256 are used).
 * @out, @max: room for the entries (may be NULL/0 to only validate).
 * @count: receives the number of entries found (also on error).
 * @err: detail (field "capability pointer", the offset and the rule); may be NULL.
 *
 * No chain when Status.Capabilities List is 0 or the pointer is 0.  The pointer is
 * at 0x34, or 0x14 for a CardBus header.
 *
 * Return: 0; PCIVIRT_EINVAL (NULL/short buffer); PCIVIRT_ELOOP (an offset visited
 * twice); PCIVIRT_EOVERLAP (starts inside an earlier capability's known size);
 * PCIVIRT_EFORMAT (points into the header or is not DWORD aligned); PCIVIRT_ERANGE
 * (points past the buffer); PCIVIRT_ENOSPC (more than @max entries).
 */
int pci_cap_walk_std(const uint8_t *cfg, size_t len, struct pci_cap_entry *out, unsigned max, unsigned *count,
                     struct pcivirt_error *err);

/**
 * pci_cap_walk_ext() - walk the extended chain from 0x100 (as pci_cap_walk_std).
 * An all-zero header at 0x100 means no extended capabilities; fewer than 0x104
 * bytes give an empty chain too.  A header at 0x100 equal to the dword at 0x000
 * (hardware that aliases the first 256 bytes into the extended space) is reported
 * as PCIVIRT_EFORMAT.
 */
int pci_cap_walk_ext(const uint8_t *cfg, size_t len, struct pci_cap_entry *out, unsigned max, unsigned *count,
                     struct pcivirt_error *err);

/**
 * pci_cfg_has_ext() - whether a reader like lspci / Linux looks at the extended
 * chain: the buffer has more than 256 bytes and the standard chain holds a PCI
 * Express capability (0x10) or a PCI-X 2.0 capability with 266/533 MHz support.
 */
bool pci_cfg_has_ext(const uint8_t *cfg, size_t len);

/**
 * pci_cap_find() / pci_ecap_find() - offset of the first capability @id after
 * @start (0: from the beginning of the chain).
 * Return: the offset (> 0); PCIVIRT_ENOENT when absent; a walk error when the chain
 * is malformed before @id was reached.
 */
int pci_cap_find(const uint8_t *cfg, size_t len, uint8_t id, uint16_t start, struct pcivirt_error *err);
int pci_ecap_find(const uint8_t *cfg, size_t len, uint16_t id, uint16_t start, struct pcivirt_error *err);

/* pci_cap_name() / pci_ecap_name() - a short English name ("MSI-X", "SR-IOV");
 * "unknown" for others. */
const char *pci_cap_name(uint8_t id);
const char *pci_ecap_name(uint16_t id);

#endif /* PCIVIRT_PCI_CAPS_H */
