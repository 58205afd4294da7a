/*
 * pf/cfgperm.h - the permission tables behind the guest's view of VF config space.
 *
 * One table per capability (and one for the type-0 header): each line covers a
 * register (or part of one) and says which bits are virtualized, which the guest
 * may write and which pass-through bits are write-1-to-clear, with a one-line
 * reason (STYLE.md rule 3, vfio-pci's perm_bits).  Bytes no line covers are
 * readable pass-through and not writable: "all readable, none writable, none
 * virtualized" is the zero state.  pf/cfgview.c applies them.
 */
#ifndef PCIVIRT_PF_CFGPERM_H
#define PCIVIRT_PF_CFGPERM_H

#include <stdbool.h>
#include <stdint.h>

/* Capability ids the view cares about (PCI Local Bus 3.0 / PCIe Base 6.0, 7.x). */
#define PF_CAP_PM 0x01
#define PF_CAP_MSI 0x05
#define PF_CAP_VNDR 0x09
#define PF_CAP_EXP 0x10
#define PF_CAP_MSIX 0x11
#define PF_ECAP_AER 0x0001
#define PF_ECAP_DSN 0x0003
#define PF_ECAP_ACS 0x000D
#define PF_ECAP_ARI 0x000E
#define PF_ECAP_ATS 0x000F
#define PF_ECAP_SRIOV 0x0010
#define PF_ECAP_MRIOV 0x0011
#define PF_ECAP_REBAR 0x0015
#define PF_ECAP_SECPCI 0x0019
#define PF_ECAP_PASID 0x001B
#define PF_ECAP_VF_REBAR 0x0024

/* The pseudo-capability id of the type-0 header (offsets 0x00..0x3F). */
#define PF_CAP_HEADER 0xFFFF

/* Header registers the view virtualizes or patches. */
#define PF_CFG_VENDOR_ID 0x00
#define PF_CFG_COMMAND 0x04
#define PF_CFG_STATUS 0x06
#define PF_CFG_STATUS_CAP_LIST 0x0010
#define PF_CFG_BAR0 0x10
#define PF_CFG_ROM 0x30
#define PF_CFG_CAP_PTR 0x34
#define PF_CFG_INT_LINE 0x3C
#define PF_EXP_DEVCTL 0x08
#define PF_EXP_DEVCTL_FLR 0x8000

/*
 * Special behaviour after a write merged into a register (side effects run by
 * range overlap, never by a per-register switch for storage).
 */
enum pf_perm_effect {
    PF_PERM_PLAIN = 0,
    PF_PERM_FLR, /* Initiate FLR: reset the VF, then read as 0 */
};

struct pf_perm_line {
    uint16_t offset;    /* from the capability's start */
    uint8_t width;      /* 1, 2 or 4 bytes */
    uint8_t effect;     /* enum pf_perm_effect */
    uint32_t virt;      /* virtualized bits */
    uint32_t write;     /* guest-writable bits */
    uint32_t w1c;       /* pass-through write-1-to-clear bits (subset of write) */
    const char *reason; /* why, in one line */
};

struct pf_perm_table {
    uint16_t cap_id;
    bool extended;
    bool hidden;     /* never shown to a guest */
    uint16_t length; /* bytes the capability spans; 0 = up to the next one */
    const char *name;
    const struct pf_perm_line *lines;
    unsigned n_lines;
    const char *reason; /* why the whole capability is treated so */
};

/**
 * pf_perm_table_find() - the table of capability @cap_id.
 * @cap_id: a standard (8-bit) or extended (16-bit) id, or PF_CAP_HEADER.
 * @extended: true for the extended space.
 *
 * Return: the table, or NULL for a capability without one (then the default
 * applies: read-only pass-through, shown to the guest).
 */
const struct pf_perm_table *pf_perm_table_find(uint16_t cap_id, bool extended);

#endif /* PCIVIRT_PF_CFGPERM_H */
