/*
 * vsp/pfif.h - the stack's binding to one PF: its interface tables, nothing else.
 *
 * The stack reaches a PF only through the tables it obtained by query-interface
 * (SRIOV_DEVICE_INTERFACE_STANDARD(_2), MITIGABLE_DEVICE_INTERFACE; contract.md
 * 3, 6) and through the nine IOCTLs (the broker).  This object holds copies of
 * those tables and wraps every call so that the rest of the stack never needs to
 * know which version it got:
 *
 *  - the SR-IOV table is accepted in its version-1 size (120 bytes) or version-2
 *    size (144, same GUID, contract.md 3.2); QueryProbedBars_2 is used when the
 *    table has it, QueryProbedBars otherwise (6.4);
 *  - every function pointer the stack calls is checked at creation, so a table
 *    with a hole is refused with the member named, never called through NULL;
 *  - outputs of VOID callbacks are pre-filled with "no device" values, so a PF
 *    that forgets to write them cannot hand the guest stack garbage (6.5);
 *  - the probed BAR values are decoded into sizes once per VF (v1: once for all)
 *    with the rules of contract.md 6.4 / 8.5, and malformed values (a 64-bit BAR
 *    in slot 5, a size that is not a power of two, I/O BARs) are reported rather
 *    than trusted;
 *  - one trap map (vsp/intercept.h) per VF, created on first use, so a PF with
 *    65,535 VFs costs one pointer per VF until a VF is used.
 *
 * Lifetime: a binding is reference counted.  The vPCI host keeps a reference for
 * every slot that exposes one of its VFs, so a PF removal that drops the
 * registry's reference never frees tables a guest request is still using.  The
 * tables' InterfaceDereference runs when the last reference goes.
 *
 * It also implements the VM manager's vf_ops (vsp/vmm.h): ResetVf and the
 * device-level clean check, both through the table.
 */
#ifndef PCIVIRT_VSP_PFIF_H
#define PCIVIRT_VSP_PFIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcivirt/error.h"
#include "pcivirt/pcivirt.h"
#include "vsp/events.h"
#include "vsp/intercept.h"
#include "vsp/vmm.h"

#define VSP_SRIOV_V1_SIZE ((USHORT)sizeof(SRIOV_DEVICE_INTERFACE_STANDARD))
#define VSP_SRIOV_V2_SIZE ((USHORT)sizeof(SRIOV_DEVICE_INTERFACE_STANDARD_2))
#define VSP_PF_MAX 256

struct vsp_pf;
struct vsp_pfs;

/* What query-interface gave the stack for one PF. */
struct vsp_pf_tables {
    const void *sriov;                           /* SRIOV_DEVICE_INTERFACE_STANDARD or _2, per its Size */
    const MITIGABLE_DEVICE_INTERFACE *mitigable; /* NULL when the PF has none */
};

/* A VF's BARs as the probed values describe them (contract.md 6.4, 8.5). */
struct vsp_vf_bars {
    uint32_t probed[PCI_TYPE0_ADDRESSES]; /* the raw values, as the guest gets them */
    uint64_t size[PCI_TYPE0_ADDRESSES];   /* bytes; 0 for none and for upper halves */
    bool is64[PCI_TYPE0_ADDRESSES];       /* the low slot of a 64-bit BAR */
    bool upper[PCI_TYPE0_ADDRESSES];      /* the upper half of a 64-bit BAR */
};

/**
 * vsp_pf_create() - bind the tables of PF @id.
 * @num_vfs: VFs enabled (NumVFs at the PF's start); VfIndex must stay below.
 * @log: may be NULL.
 * @err: names the missing member or bad Size on failure.
 *
 * Takes one InterfaceReference on each table (released by the last
 * vsp_pf_put()); the caller keeps its own query-interface reference.
 * Return: 0; PCIVIRT_EINVAL (Size neither 120 nor >= 144, Version 0, a NULL
 * member the stack calls, num_vfs 0, a mitigable table of the wrong Size);
 * PCIVIRT_ENOMEM.
 */
int vsp_pf_create(int id, const struct vsp_pf_tables *tables, uint16_t num_vfs, struct vsp_event_log *log,
                  struct vsp_pf **out, struct pcivirt_error *err);

/* vsp_pf_get() / vsp_pf_put() - take / drop a reference (put accepts NULL; the last frees). */
struct vsp_pf *vsp_pf_get(struct vsp_pf *pf);
void vsp_pf_put(struct vsp_pf *pf);

int vsp_pf_id(const struct vsp_pf *pf);
uint16_t vsp_pf_num_vfs(const struct vsp_pf *pf);
bool vsp_pf_is_v2(const struct vsp_pf *pf);
bool vsp_pf_has_mitigable(const struct vsp_pf *pf);

/* ---- the callbacks, typed and checked (VfIndex < NumVFs is checked first) ---- */

NTSTATUS vsp_pf_read_config(struct vsp_pf *pf, uint16_t vf, uint32_t offset, void *data, uint32_t length);
NTSTATUS vsp_pf_write_config(struct vsp_pf *pf, uint16_t vf, uint32_t offset, const void *data, uint32_t length);
NTSTATUS vsp_pf_read_block(struct vsp_pf *pf, uint16_t vf, uint32_t block_id, void *buf, uint32_t length);
NTSTATUS vsp_pf_write_block(struct vsp_pf *pf, uint16_t vf, uint32_t block_id, const void *buf, uint32_t length);
/* GetVendorAndDevice; 0xFFFF/0xFFFF when the PF wrote nothing or @vf is out of range. */
void vsp_pf_ids(struct vsp_pf *pf, uint16_t vf, uint16_t *vendor, uint16_t *device);
/* GetDeviceLocation folded into a routing ID (bus << 8 | function). Return: 0; PCIVIRT_ERANGE. */
int vsp_pf_vf_rid(struct vsp_pf *pf, uint16_t vf, uint16_t *segment, uint16_t *rid);
NTSTATUS vsp_pf_reset_vf(struct vsp_pf *pf, uint16_t vf);
NTSTATUS vsp_pf_set_power(struct vsp_pf *pf, uint16_t vf, DEVICE_POWER_STATE state, bool wake);
NTSTATUS vsp_pf_resource_for_bar(struct vsp_pf *pf, uint16_t vf, uint16_t bar, CM_PARTIAL_RESOURCE_DESCRIPTOR *res);
/* ReadWriteMitigatedRegister; STATUS_NOT_SUPPORTED without a mitigable table. */
NTSTATUS vsp_pf_mitigated(struct vsp_pf *pf, uint16_t vf, bool read, uint16_t bar, uint64_t offset, uint32_t length,
                          uint8_t *data);

/**
 * vsp_pf_bars() - the VF's probed BARs: QueryProbedBars_2(@vf) on a v2 table,
 * QueryProbedBars on v1, decoded.
 * Return: STATUS_SUCCESS; the PF's failure; STATUS_BAD_DATA when the values are
 * malformed (an I/O BAR, a 64-bit BAR in slot 5, a mask that is not contiguous);
 * the event log names the BAR.
 */
NTSTATUS vsp_pf_bars(struct vsp_pf *pf, uint16_t vf, struct vsp_vf_bars *out);

/**
 * vsp_pf_intercept() - the VF's trap map, created (empty, sized from its BARs) on
 * first use.  Return: the map, or NULL when @vf is out of range, the BARs cannot be
 * read or memory is short.  Owned by @pf.
 */
struct vsp_intercept_map *vsp_pf_intercept(struct vsp_pf *pf, uint16_t vf);

/* vsp_vf_bars_decode() - decode six probed values (exposed for tests). Return: 0 or PCIVIRT_EFORMAT. */
int vsp_vf_bars_decode(const uint32_t probed[PCI_TYPE0_ADDRESSES], struct vsp_vf_bars *out, struct pcivirt_error *err);

/* ---- the registry: PF id -> binding --------------------------------------------- */

/* vsp_pfs_create() - an empty registry.  Return: 0; PCIVIRT_ENOMEM. */
int vsp_pfs_create(struct vsp_pfs **out);

/* vsp_pfs_destroy() - drop every binding's registry reference (NULL accepted). */
void vsp_pfs_destroy(struct vsp_pfs *pfs);

/* vsp_pfs_add() - register @pf (the registry takes a reference).  Return: 0; PCIVIRT_EEXIST; PCIVIRT_ENOSPC. */
int vsp_pfs_add(struct vsp_pfs *pfs, struct vsp_pf *pf);

/* vsp_pfs_remove() - forget PF @id (its binding lives on while referenced).  Return: 0; PCIVIRT_ENOENT. */
int vsp_pfs_remove(struct vsp_pfs *pfs, int id);

/* vsp_pfs_find() - a new reference to PF @id's binding, or NULL. */
struct vsp_pf *vsp_pfs_find(struct vsp_pfs *pfs, int id);

/**
 * vsp_pfs_vf_ops() - the VM manager's vf_ops over this registry (ctx = @pfs):
 * reset = ResetVf; check_clean = after the FLR the VF's config must show Bus
 * Master and Memory Space off and MSI/MSI-X disabled (read through ReadVfConfig,
 * the guest's own view).
 */
const struct vsp_vf_ops *vsp_pfs_vf_ops(void);

#endif /* PCIVIRT_VSP_PFIF_H */
