/*
 * pf/pf.h - the reference PF driver, seen from outside the driver.
 *
 * Two kinds of callers use this header, neither of them the virtualization
 * stack (which reaches a PF only through its query-interface tables and IOCTLs,
 * DESIGN.md):
 *  - whoever loads the driver into a runtime host: PfDriverEntry is its
 *    DriverEntry (the loadable module pcivirt_pf.so exports the same code as
 *    `DriverEntry`), so wdf_driver_load(host, "pcivirt_pf", PfDriverEntry, &m)
 *    or wdf_driver_load_module(host, "pcivirt_pf", ".../pcivirt_pf.so", &m);
 *    a service name ending in "Filter" makes it attach as a lower filter;
 *  - the PF's administrator (a scenario, a test, the command): the pf_admin_*
 *    calls change what the PF tells its VFs - a VF's MAC, its config blocks, its
 *    trapped ranges - and so trigger the inverted calls (INVALIDATE_BLOCK,
 *    MITIGATED_RANGE_UPDATE) the stack holds.  They take the WDFDEVICE the driver
 *    created (wdf_node_device(node, WDF_ROLE_FUNCTION) or WDF_ROLE_LOWER_FILTER)
 *    and work on devices of the linked-in reference driver only.
 *
 * Every pf_admin_* call returns STATUS_SUCCESS or: STATUS_INVALID_DEVICE_REQUEST
 * (not a device of this driver), STATUS_DEVICE_NOT_READY (not started),
 * STATUS_INVALID_PARAMETER (bad VF index or argument), or the status named below.
 */
#ifndef PCIVIRT_PF_PF_H
#define PCIVIRT_PF_PF_H

#include <stdbool.h>
#include <stdint.h>

#include "pcivirt/pcivirt.h"
#include "pcivirt/wdf.h"
#include "pf/mitig.h"

#ifdef __cplusplus
extern "C" {
#endif

/* PfDriverEntry() - DriverEntry of the reference PF driver. */
PCIVIRT_API NTSTATUS PfDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

/* Block ids the reference driver declares (docs/PF-DRIVER.md has the layouts). */
#define PF_BLOCK_ID_VF_INFO 0 /* PF -> VF, read-only to the VF: MAC, queue and rate limits */
#define PF_BLOCK_ID_MAILBOX 1 /* VF -> PF, VF-writable, up to 128 bytes */

/**
 * pf_admin_set_vf_mac() - assign VF @vf's MAC: programs the device (software
 * device: PF BAR0 table) and invalidates block PF_BLOCK_ID_VF_INFO of that VF.
 * Return: also STATUS_NOT_SUPPORTED when the device has no per-VF MAC register.
 */
PCIVIRT_API NTSTATUS pf_admin_set_vf_mac(WDFDEVICE Device, uint16_t vf, const uint8_t mac[6]);

/* pf_admin_set_vf_limits() - queue-pair and rate limits (0 keeps one); invalidates block 0. */
PCIVIRT_API NTSTATUS pf_admin_set_vf_limits(WDFDEVICE Device, uint16_t vf, uint32_t queue_limit, uint32_t rate_limit);

/**
 * pf_admin_define_block() - declare another block id (any ULONG; only ids 0..63
 * can be invalidated).  @vf_writable lets VFs write it.
 */
PCIVIRT_API NTSTATUS pf_admin_define_block(WDFDEVICE Device, uint32_t id, bool vf_writable);

/**
 * pf_admin_set_vf_block() - change block @id for VF @vf or, with
 * SRIOV_INVALIDATE_BLOCK_ALL_VFS, for every VF; ids below 64 are invalidated
 * (coalesced until the stack holds an IOCTL_SRIOV_INVALIDATE_BLOCK).  Block 0 is
 * derived from the device's registers and cannot be set this way.
 */
PCIVIRT_API NTSTATUS pf_admin_set_vf_block(WDFDEVICE Device, uint16_t vf, uint32_t id, const void *data,
                                           uint32_t length);

/* pf_admin_get_vf_block() - what VF @vf sees (or last wrote) in block @id. */
PCIVIRT_API NTSTATUS pf_admin_get_vf_block(WDFDEVICE Device, uint16_t vf, uint32_t id, void *buf, uint32_t cap,
                                           uint32_t *length);

/* pf_admin_invalidate() - invalidate @mask for @vf (or ALL_VFS) without changing content. */
PCIVIRT_API NTSTATUS pf_admin_invalidate(WDFDEVICE Device, uint16_t vf, uint64_t mask);

/**
 * pf_admin_set_mitigated_ranges() - replace VF @vf's trapped ranges (or, with
 * SRIOV_INVALIDATE_BLOCK_ALL_VFS, the default); completes the held
 * MITIGATED_RANGE_UPDATE of every affected VF or marks it dirty.  Ranges must
 * lie inside the VF's BAR (STATUS_INVALID_PARAMETER otherwise).  The software
 * device's default is VF BAR0 page 1 (its privileged registers), read and write.
 */
PCIVIRT_API NTSTATUS pf_admin_set_mitigated_ranges(WDFDEVICE Device, uint16_t vf, const struct pf_mitig_range *ranges,
                                                   unsigned n);

/* What the driver knows about itself, for tests and `pcivirt lspci`. */
struct pf_admin_status {
    bool started;
    bool attached;
    bool rebalancing;
    bool safe_to_attach;
    uint16_t num_vfs;
    uint16_t total_vfs;
    uint16_t pf_rid;
    uint16_t segment;
    uint32_t events_raised;
    uint32_t events_delivered;
    int32_t interface_refs;
};

PCIVIRT_API NTSTATUS pf_admin_status(WDFDEVICE Device, struct pf_admin_status *out);

#ifdef __cplusplus
}
#endif

#endif /* PCIVIRT_PF_PF_H */
