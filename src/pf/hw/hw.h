/*
 * pf/hw/hw.h - the reference PF driver's binding to its device.
 *
 * The PCIDRV sample's KMDF/HW split (style-anchors.md F): everything that knows
 * registers lives here, and it reaches the device only through the bus interface
 * (pcivirt/bus.h) obtained by query-interface on the PDO.  It reads the SR-IOV
 * capability of the PF (PCIe Base 6.0 9.3.3) to learn TotalVFs, NumVFs, First VF
 * Offset, VF Stride and the VF Device ID, enables the VFs at start when they are
 * not enabled yet, and answers VF routing IDs with the SR-IOV formula
 * (device-model.md 5.1).  NumVFs, First VF Offset and VF Stride are read together
 * at start (the driver itself sets NumVFs then and changes neither NumVFs nor ARI
 * until the next start, and offset/stride depend only on those two): every guest
 * config access needs a routing ID, and re-reading two PF registers for it
 * doubled the cost of ReadVfConfig.
 *
 * The software device's PF BAR0 (dev/regs.h: per-VF MAC and limits) and VF BAR0
 * privileged page are recognised by the PF BAR0 identification register; on any
 * other device those features are simply absent.
 */
#ifndef PCIVIRT_PF_HW_HW_H
#define PCIVIRT_PF_HW_HW_H

#include <stdbool.h>
#include <stdint.h>

#include "pcivirt/bus.h"
#include "pcivirt/nt.h"

struct pf_hw {
    PCIVIRT_BUS_INTERFACE bus; /* our reference on the PDO's table */
    bool bound;
    struct pcivirt_bus_resources res;
    uint16_t sriov; /* offset of the SR-IOV capability in PF config space */
    uint16_t vendor_id;
    uint16_t vf_device_id;
    uint16_t total_vfs;
    uint16_t num_vfs;
    uint16_t vf_offset, vf_stride; /* First VF Offset, VF Stride for num_vfs (read at start) */
    uint32_t vf_bar_regs[6];       /* SR-IOV VF BARn registers (type bits) */
    uint64_t vf_bar_size[6];       /* per-VF window size, from the apertures */
    bool swdev;                    /* the software device's PF BAR0 register file answers */
};

/* Device-specific defaults of the software device (dev/regs.h). */
#define PF_HW_MAC_OUI0 0x02 /* locally administered */

/**
 * pf_hw_bind() - query the bus interface from the device below @Device.
 * Return: STATUS_SUCCESS; the query's failure (STATUS_NOT_SUPPORTED when no bus
 * exports GUID_PCIVIRT_BUS_INTERFACE); STATUS_REVISION_MISMATCH for a table
 * smaller than version 1.
 */
NTSTATUS pf_hw_bind(struct pf_hw *hw, void *wdf_device);

/* pf_hw_unbind() - drop the bus interface reference.  Safe when not bound. */
void pf_hw_unbind(struct pf_hw *hw);

/**
 * pf_hw_start() - read the SR-IOV capability, enable VFs if needed, read resources.
 * @requested: VFs to enable when none are enabled (0: InitialVFs, or TotalVFs).
 * Return: STATUS_SUCCESS; STATUS_NOT_SUPPORTED (no SR-IOV capability);
 * STATUS_INVALID_DEVICE_STATE (VF Enable did not stick, NumVFs 0, bad apertures);
 * STATUS_DEVICE_NOT_READY (bus access failed).
 */
NTSTATUS pf_hw_start(struct pf_hw *hw, uint16_t requested);

/* pf_hw_vf_rid() - routing ID of VF @vf: PF RID + offset + vf * stride, read now. */
int pf_hw_vf_rid(const struct pf_hw *hw, uint16_t vf, uint16_t *rid);

/* Config space, MMIO and FLR of VF @vf (0 or a negative PCIVIRT_E* code). */
int pf_hw_vf_config_read(void *hw, uint16_t vf, uint16_t offset, void *data, uint32_t length);
int pf_hw_vf_config_write(void *hw, uint16_t vf, uint16_t offset, const void *data, uint32_t length);
int pf_hw_vf_reset(void *hw, uint16_t vf);
int pf_hw_vf_mmio(const struct pf_hw *hw, uint16_t vf, bool read, unsigned bar, uint64_t offset, void *data,
                  uint32_t length);

/**
 * pf_hw_set_vf_settings() - program VF @vf's entry of the software device's PF
 * BAR0 table (dev/regs.h SWPF_VF_*): MAC and, when non-zero, queue and rate limits.
 * Return: 0; PCIVIRT_ENOTSUP on another device; PCIVIRT_ERANGE for a bad @vf.
 */
int pf_hw_set_vf_settings(const struct pf_hw *hw, uint16_t vf, const uint8_t mac[6], uint32_t queue_limit,
                          uint32_t rate_limit);

/* pf_hw_get_vf_settings() - read them back (0 or a PCIVIRT_E* code). */
int pf_hw_get_vf_settings(const struct pf_hw *hw, uint16_t vf, uint8_t mac[6], uint32_t *queue_limit,
                          uint32_t *rate_limit);

#endif /* PCIVIRT_PF_HW_HW_H */
