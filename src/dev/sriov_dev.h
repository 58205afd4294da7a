/*
 * dev/sriov_dev.h - the software SR-IOV device: one PF and up to 65,535 VFs.
 *
 * Why it is shaped so.  The device is a PF whose config space comes from a
 * profile (built-in or a real dump) on the config engine of src/pci, plus VFs
 * that share one config layout and cost nothing until touched (device-model.md
 * 1-7; the registers are the only state: NumVFs, VF Enable, offset and stride
 * are always read from config bytes).  Behind the BARs sit real register files
 * (dev/regs.h): per VF an identification block, a scratch register, a DMA engine
 * that goes through the host's DMA port, a privileged page the PF traps, and
 * MSI-X raising interrupts through the host's interrupt port; in the PF's BAR the
 * per-VF settings the PF driver manages.
 *
 * Everything a PF driver needs goes through the bus interface
 * (pcivirt/bus.h, pv_sriov_bus_interface()); the other functions here are for
 * whoever builds the machine: create from a profile, plug the ports, assign
 * resources on a platform address space, export config as an lspci dump, and
 * account memory.
 *
 * Locking: one reader-writer lock per device.  Config and MMIO reads take it
 * shared (the hot path: an untouched VF's config read is a routing-ID division
 * and a template copy); every write takes it exclusive, and so do enable,
 * disable, FLR and resource assignment.  The DMA and interrupt ports are called
 * with the lock dropped, so a port may call back into the device.
 */
#ifndef PCIVIRT_DEV_SRIOV_DEV_H
#define PCIVIRT_DEV_SRIOV_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev/geometry.h"
#include "dev/platform.h"
#include "dev/ports.h"
#include "dev/profile.h"
#include "pcivirt/bus.h"
#include "pcivirt/error.h"

struct pv_sriov_dev;
struct pci_dump;

/* Memory the device holds for its VFs, from its own accounting. */
struct pv_sriov_memory {
    size_t vf_table_bytes;  /* the per-VF slot array (NumVFs x slot) */
    size_t vf_state_bytes;  /* register-file state of touched VFs */
    size_t vf_config_bytes; /* private config copies of VFs written to */
    size_t settings_bytes;  /* PF-side per-VF settings chunks */
    uint32_t vfs_touched;   /* VFs with register state or a private config copy */
    uint32_t num_vfs;
};

/**
 * pv_sriov_create() - build a device from @prof (copied).
 * @out: receives the device (VF Enable clear, no resources assigned).
 * @err: names the profile field when the profile is inconsistent.
 *
 * Return: 0; PCIVIRT_EINVAL for an unusable profile (field in @err);
 * PCIVIRT_ENOMEM.
 */
int pv_sriov_create(const struct pv_profile *prof, struct pv_sriov_dev **out, struct pcivirt_error *err);

/* pv_sriov_destroy() - unmap from the platform and free; NULL and half-built devices accepted. */
void pv_sriov_destroy(struct pv_sriov_dev *dev);

/* pv_sriov_profile() - the profile the device was built from (read-only). */
const struct pv_profile *pv_sriov_profile(const struct pv_sriov_dev *dev);

/**
 * pv_sriov_set_ports() - plug the host's DMA and interrupt ports (either may be
 * NULL: DMA then faults, interrupts stay pending).  The tables are copied; a
 * table whose size is smaller than version 1's is ignored (treated as NULL).
 */
void pv_sriov_set_ports(struct pv_sriov_dev *dev, const struct pv_dma_port *dma, const struct pv_irq_port *irq);

/**
 * pv_sriov_assign_resources() - the resource-assignment step: allocate every PF
 * BAR and every VF BAR aperture (per-VF size at the current System Page Size x
 * TotalVFs) on @plat, program the BAR registers, enable the PF's memory decode
 * and map the windows.  Calling it again is a rebalance: new ranges are taken
 * before the old ones are released, so the BARs move.
 *
 * Return: 0; PCIVIRT_ENOSPC (message names the BAR); PCIVIRT_ENOMEM.  On failure
 * the previous assignment stays in effect.
 */
int pv_sriov_assign_resources(struct pv_sriov_dev *dev, struct pv_platform *plat, struct pcivirt_error *err);

/**
 * pv_sriov_enable() - what Linux's sriov_enable does: write NumVFs, re-read
 * offset and stride, then set VF Enable | VF MSE in one write.
 * Return: 0; PCIVIRT_EBUSY when VFs are already enabled; PCIVIRT_EINVAL
 * (NumVFs 0 or > TotalVFs, field named); PCIVIRT_ENOSPC when the last VF falls
 * outside the bus range (the message shows the arithmetic).
 */
int pv_sriov_enable(struct pv_sriov_dev *dev, uint16_t num_vfs, struct pcivirt_error *err);

/* pv_sriov_disable() - clear VF Enable | VF MSE, then NumVFs = 0 (Linux sriov_disable). */
void pv_sriov_disable(struct pv_sriov_dev *dev);

/* pv_sriov_geometry() - the current geometry, read from the registers. */
void pv_sriov_geometry(struct pv_sriov_dev *dev, struct dev_vf_geometry *geo);

/* pv_sriov_vf_enabled() - VF Enable as the register reads. */
bool pv_sriov_vf_enabled(struct pv_sriov_dev *dev);

/**
 * pv_sriov_vf_rid() - routing ID of zero-based VF @index.
 * Return: 0; PCIVIRT_ENOENT when VFs are disabled or @index >= NumVFs.
 */
int pv_sriov_vf_rid(struct pv_sriov_dev *dev, uint32_t index, uint16_t *rid);

/* pv_sriov_pf_rid() / pv_sriov_segment() - where the PF is. */
uint16_t pv_sriov_pf_rid(const struct pv_sriov_dev *dev);
uint16_t pv_sriov_segment(const struct pv_sriov_dev *dev);

/* ---- the operations of the bus interface, also callable directly -------------- */

/* Config read/write by routing ID: see pcivirt/bus.h for the rules. */
int pv_sriov_config_read(struct pv_sriov_dev *dev, uint16_t rid, uint16_t offset, void *data, uint32_t length);
int pv_sriov_config_write(struct pv_sriov_dev *dev, uint16_t rid, uint16_t offset, const void *data, uint32_t length);
/* BAR memory of the PF or a VF, 1..8 bytes, honouring decode rules. */
int pv_sriov_mmio_read(struct pv_sriov_dev *dev, uint16_t rid, unsigned bar, uint64_t offset, void *data,
                       uint32_t length);
int pv_sriov_mmio_write(struct pv_sriov_dev *dev, uint16_t rid, unsigned bar, uint64_t offset, const void *data,
                        uint32_t length);
/* Function-level reset of the PF (all VFs go away) or one VF. */
int pv_sriov_function_reset(struct pv_sriov_dev *dev, uint16_t rid);
/* Resources at the last assignment (translated = platform addresses). */
int pv_sriov_query_resources(struct pv_sriov_dev *dev, struct pcivirt_bus_resources *out);

/**
 * pv_sriov_last_error() - the explanation of the last refused side effect (a VF
 * Enable write with a bad geometry, a refused System Page Size, ...).
 * Return: 0 when there is one (copied to @out), PCIVIRT_ENOENT otherwise.
 */
int pv_sriov_last_error(struct pv_sriov_dev *dev, struct pcivirt_error *out);

/**
 * pv_sriov_bus_interface() - fill @iface (Size, Version, Context, the operations).
 * InterfaceReference/Dereference count holders; pv_sriov_destroy() must come
 * after the last dereference (checked with assert in debug builds).
 */
void pv_sriov_bus_interface(struct pv_sriov_dev *dev, PCIVIRT_BUS_INTERFACE *iface);

/* ---- inspection ---------------------------------------------------------------- */

/* pv_sriov_memory() - the device's accounting of VF memory. */
void pv_sriov_memory(struct pv_sriov_dev *dev, struct pv_sriov_memory *out);

/**
 * pv_sriov_export() - append the PF and its first @max_vfs enabled VFs to @dump,
 * each at its routing ID, 4096 bytes each, as `lspci -xxxx` would show them.
 * Return: 0; PCIVIRT_ENOMEM; PCIVIRT_EINVAL.
 */
int pv_sriov_export(struct pv_sriov_dev *dev, struct pci_dump *dump, uint32_t max_vfs);

#endif /* PCIVIRT_DEV_SRIOV_DEV_H */
