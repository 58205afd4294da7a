/*
 * pf/cfgview.h - the guest's view of a VF's configuration space.
 *
 * ReadVfConfig/WriteVfConfig (contract.md 6.1, 6.2) do not hand the VF's real
 * config space to a guest.  Following vfio-pci (device-model.md 3.4, STYLE.md
 * rule 3), every byte is governed by a permission entry of the capability that
 * owns it: "virtualized" bits are answered from a per-VF virtual copy, the other
 * bits pass through to the device through the bus interface, and only bits in the
 * write mask may change.  Forbidden writes are dropped silently; an access is
 * split into aligned 1/2/4-byte chunks that never cross a capability.  The
 * SR-IOV capability (and the others a VF must not show) is hidden: the chains
 * skip it and its bytes read 0.
 *
 * The layout (which capability owns which byte) is the same for every VF of a
 * PF, so it and the permission bytes are built once per PF from VF 0.  The
 * per-VF virtual copy is allocated only when a guest first writes a virtualized
 * bit; until then the VF reads the shared template, so untouched VFs cost one
 * pointer each.
 *
 * The view never calls the device directly: it goes through struct pf_cfg_io,
 * which the driver's hw/ layer implements on the bus interface and the unit tests
 * implement on a byte array.
 */
#ifndef PCIVIRT_PF_CFGVIEW_H
#define PCIVIRT_PF_CFGVIEW_H

#include <stdint.h>

#include "pcivirt/nt.h"

#define PF_CFG_SPACE_SIZE 4096u

/* Access to the real config space of VF @vf, and its function-level reset. */
struct pf_cfg_io {
    void *ctx;
    /* 0 or a negative PCIVIRT_E* code (pcivirt/error.h). */
    int (*read)(void *ctx, uint16_t vf, uint16_t offset, void *data, uint32_t length);
    int (*write)(void *ctx, uint16_t vf, uint16_t offset, const void *data, uint32_t length);
    int (*reset)(void *ctx, uint16_t vf);
};

/* What the guest must see where the VF itself cannot tell (device-model.md 3.1). */
struct pf_cfg_identity {
    uint16_t vendor_id;      /* the PF's Vendor ID */
    uint16_t device_id;      /* the SR-IOV capability's VF Device ID */
    uint32_t probed_bars[6]; /* QueryProbedBars values (contract.md 6.4) */
};

struct pf_cfgview;

/**
 * pf_cfgview_create() - scan VF 0's capabilities and build the permission map.
 * @io: the device access; copied.
 * @num_vfs: VFs the view serves (NumVFs at the last start), at least 1.
 * @id: identity the guest sees; copied.
 * @out: receives the view.
 *
 * A malformed chain (loop, pointer into the header, overlap) is not followed:
 * the walk stops there and the remaining bytes stay hidden.
 *
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER for @num_vfs 0;
 * STATUS_INSUFFICIENT_RESOURCES; STATUS_DEVICE_NOT_READY when VF 0 cannot be read.
 */
NTSTATUS pf_cfgview_create(const struct pf_cfg_io *io, uint16_t num_vfs, const struct pf_cfg_identity *id,
                           struct pf_cfgview **out);

/* pf_cfgview_destroy() - free the view and every per-VF copy.  Accepts NULL. */
void pf_cfgview_destroy(struct pf_cfgview *view);

/**
 * pf_cfgview_read() - the guest-visible bytes of VF @vf (contract.md 6.1).
 * @view: the view.
 * @vf: VF index; must be below the view's num_vfs.
 * @offset: 0..4095.
 * @data: receives @length bytes.
 * @length: 1..4096, @offset + @length <= 4096.
 *
 * Return: STATUS_SUCCESS; STATUS_INVALID_PARAMETER for a bad @vf, range or NULL
 * @data; STATUS_DEVICE_NOT_READY when the device access fails.
 */
NTSTATUS pf_cfgview_read(struct pf_cfgview *view, uint16_t vf, uint32_t offset, void *data, uint32_t length);

/**
 * pf_cfgview_write() - a guest write to VF @vf (contract.md 6.2).
 *
 * Same arguments and bounds as pf_cfgview_read().  Bits the guest may not write
 * are dropped without error.  A write of Initiate FLR resets the VF through
 * @io->reset and returns the VF's virtual registers to their defaults.
 *
 * Return: as pf_cfgview_read(), plus STATUS_INSUFFICIENT_RESOURCES when the
 * VF's virtual copy cannot be allocated.
 */
NTSTATUS pf_cfgview_write(struct pf_cfgview *view, uint16_t vf, uint32_t offset, const void *data, uint32_t length);

/**
 * pf_cfgview_reset_vf() - forget VF @vf's virtual registers (after an FLR or when
 * the VF changes hands).  Out-of-range @vf is ignored.
 */
void pf_cfgview_reset_vf(struct pf_cfgview *view, uint16_t vf);

/* Which kind of access a byte gets; for tests and the `pcivirt` command. */
struct pf_cfg_perm_byte {
    uint8_t virt;      /* bits answered from the virtual copy */
    uint8_t write;     /* bits the guest may change */
    uint8_t w1c;       /* pass-through bits that clear when written with 1 */
    uint8_t hidden;    /* 1 if the byte belongs to a hidden capability */
    uint16_t cap_id;   /* owning capability id; 0xFFFF header, 0xFFFE none */
    uint16_t extended; /* 1 for an extended capability */
};

/**
 * pf_cfgview_perm() - the permission bits of byte @offset (0..4095).
 * Return: 0, or PCIVIRT_ERANGE for a bad offset.
 */
int pf_cfgview_perm(const struct pf_cfgview *view, uint32_t offset, struct pf_cfg_perm_byte *out);

#endif /* PCIVIRT_PF_CFGVIEW_H */
