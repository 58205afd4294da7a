/*
 * dev/geometry.h - SR-IOV routing-ID and VF BAR arithmetic, with explanations.
 *
 * Everything here is pure arithmetic over values the caller read from config
 * registers (device-model.md 5 and 6): no device state, so the device, the PF
 * driver, the command and the tests compute routing IDs and apertures the same
 * way.  The bus-range check is Linux's (sriov_enable: the last VF's bus must not
 * exceed the bus range below the PF's port) and, unlike Linux, says why: the
 * error message shows offset, stride, NumVFs, ARI, the last VF's routing ID and
 * the bus range, which is what a user needs when `sriov_numvfs` just says ENOMEM.
 */
#ifndef PCIVIRT_DEV_GEOMETRY_H
#define PCIVIRT_DEV_GEOMETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "pcivirt/error.h"

/* The VF placement inputs, all as the registers read them. */
struct dev_vf_geometry {
    uint16_t pf_rid;       /* bus << 8 | devfn of the PF */
    uint16_t offset;       /* First VF Offset */
    uint16_t stride;       /* VF Stride */
    uint16_t num_vfs;      /* NumVFs */
    bool ari;              /* ARI Capable Hierarchy */
    uint8_t secondary_bus; /* bus range below the PF's port */
    uint8_t subordinate_bus;
};

/**
 * dev_vf_rid_unbounded() - routing ID of zero-based VF @index, without wrap.
 *
 * device-model.md 5.1: PF RID + offset + index * stride.  The result may exceed
 * 0xffff; callers that accept it must check (dev_geometry_check does).
 */
static inline uint32_t
dev_vf_rid_unbounded(uint16_t pf_rid, uint16_t offset, uint16_t stride, uint32_t index)
{
    return (uint32_t)pf_rid + offset + index * (uint32_t)stride;
}

/**
 * dev_vf_index_of_rid() - the zero-based VF index behind routing ID @rid.
 * @geo: the current geometry (num_vfs bounds the answer).
 * @index: receives the index when found.
 *
 * Inverse of dev_vf_rid_unbounded (Linux pci_iov_vf_id).  O(1).
 *
 * Return: true when @rid is exactly one of the first num_vfs VF routing IDs.
 */
bool dev_vf_index_of_rid(const struct dev_vf_geometry *geo, uint16_t rid, uint32_t *index);

/**
 * dev_geometry_check() - can @geo->num_vfs VFs be enabled?
 * @geo: geometry to check.
 * @err: optional; on failure receives a message that shows the arithmetic.
 *
 * Checks, in order (device-model.md 1.1, 4.2, 5.3): NumVFs > 0; First VF Offset
 * non-zero; VF Stride non-zero when NumVFs > 1; the last VF's routing ID fits in
 * 16 bits; the last VF's bus lies within [PF bus, subordinate bus].
 *
 * Return: 0; PCIVIRT_EINVAL for a zero NumVFs, offset or stride (field named in
 * @err->field); PCIVIRT_ENOSPC when the last VF falls outside the bus range.
 */
int dev_geometry_check(const struct dev_vf_geometry *geo, struct pcivirt_error *err);

/**
 * dev_last_vf_bus() - the highest bus any VF uses for @num_vfs VFs (5.3).
 *
 * Return: the bus number (may exceed 255 for impossible layouts); the PF's
 * own bus when @num_vfs is 0.
 */
uint32_t dev_last_vf_bus(uint16_t pf_rid, uint16_t offset, uint16_t stride, uint32_t num_vfs);

/**
 * dev_format_rid() - print @rid as "bb:dd.f" (lspci prints ARI functions the same
 * way) into @buf (at least 24 bytes); a RID above 0xffff prints as
 * "(beyond bus ff: 0x%x)".
 *
 * Return: @buf.
 */
const char *dev_format_rid(char *buf, unsigned size, uint32_t rid);

/**
 * dev_vf_bar_size() - the per-VF size of a VF BAR for a given System Page Size.
 * @native: the device's own per-VF size (a power of two, >= 16).
 * @sys_page_size: the System Page Size register (exactly one bit set).
 *
 * PCIe Base Spec 9.3.3.13/9.3.3.14 (device-model.md 1.1, 6): the per-VF region is
 * at least the system page size and aligned to it.
 *
 * Return: max(@native, 4096 << log2(@sys_page_size)); 0 for an invalid register.
 */
uint64_t dev_vf_bar_size(uint64_t native, uint32_t sys_page_size);

/* True when @v has exactly one bit set. */
static inline bool
dev_one_bit(uint32_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

#endif /* PCIVIRT_DEV_GEOMETRY_H */
