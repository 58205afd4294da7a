/*
 * vsp/iommu.h - the stack's IOMMU: DMA domains and interrupt remapping per VM.
 *
 * Why it exists (DESIGN.md path 6, issue 6 "IOMMU"): a VF is programmed by an
 * untrusted guest driver, so every DMA it issues and every MSI-X message it
 * sends is checked by the platform, not by the device.  The model follows what
 * VT-d / AMD-Vi provide and what assignment needs of them (contract.md 9.1):
 *
 *  - one DMA domain per VM; a domain maps IOVA pages to that VM's guest
 *    physical memory (vsp/gmem.h) with read/write permission.  Hyper-V-style
 *    assignment uses the identity map (IOVA = guest physical address), which
 *    vsp_domain_map_identity() installs; explicit mappings exist for tests and
 *    for a vIOMMU later.
 *  - a requester-ID table (routing ID → domain) indexed directly, two levels by
 *    bus, so translation cost does not depend on how many VFs are attached.
 *  - a DMA by a requester that is not attached, or to an IOVA the domain does
 *    not map with the needed permission, is a fault: it is logged
 *    (VSP_EV_IOMMU_FAULT with the address), counted, reads return all-ones like
 *    an unsupported request, and a write writes nothing at all (the whole range
 *    is validated before the first byte moves).
 *  - domains map only RAM, never MMIO, so VF-to-VF (peer-to-peer) traffic can
 *    never be direct: a DMA aimed at another function's BAR address is simply
 *    an unmapped IOVA and faults (the ACS-redirect-then-IOMMU outcome).
 *  - interrupt remapping: each domain owns an interrupt remapping table (IRTE
 *    table).  The stack allocates an entry per guest vector and gives the guest
 *    a remappable-format MSI address naming the entry's handle; a message is
 *    accepted only if it is remappable-format, its handle is valid in the table
 *    of the requester's own domain, and the entry's source ID equals the
 *    requester (VT-d's SID verification).  So a VF can raise only its own VM's
 *    vectors, and only those set up for it.
 *
 * The device model (src/dev) calls the DMA and MSI entry points through the
 * port tables it consumes; vsp binds them.  All functions are thread-safe: one
 * reader/writer lock protects the requester table, the mappings and the IRTEs;
 * DMA and MSI take it shared.  The interrupt sink of a domain is called after
 * the lock is dropped.
 */
#ifndef PCIVIRT_VSP_IOMMU_H
#define PCIVIRT_VSP_IOMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev/ports.h"
#include "vsp/events.h"
#include "vsp/gmem.h"

/* Mapping permissions: what the device may do to guest memory. */
#define VSP_DMA_READ 0x1u
#define VSP_DMA_WRITE 0x2u
#define VSP_DMA_RW (VSP_DMA_READ | VSP_DMA_WRITE)

/* The MSI address window (x86: 0xFEExxxxx) and the remappable-format bits in it. */
#define VSP_MSI_ADDR_BASE 0xFEE00000u
#define VSP_MSI_ADDR_MASK 0xFFF00000u
#define VSP_MSI_REMAPPABLE 0x10u /* bit 4: interrupt format = remappable */
#define VSP_MSI_SHV 0x08u        /* bit 3: subhandle valid (data[15:0] adds to the handle) */

/* The largest IRTE table (handles are 16 bits). */
#define VSP_IRTE_MAX 65536u

struct vsp_iommu;
struct vsp_domain;

/*
 * A VM's virtual interrupt controller: raise @vector at destination @dest.
 * Called without any IOMMU lock held, from the thread that sent the MSI.
 */
typedef void vsp_irq_sink_fn(void *ctx, uint32_t vector, uint32_t dest);

struct vsp_domain_config {
    int vm_id;             /* for the event log */
    struct vsp_gmem *mem;  /* the VM's memory; must outlive the domain */
    unsigned max_mappings; /* 1..65536: bound on explicit mappings */
    unsigned irte_count;   /* 1..VSP_IRTE_MAX: size of the IRTE table */
    vsp_irq_sink_fn *irq_sink;
    void *irq_ctx;
};

/* Counters (monotonic since creation). */
struct vsp_iommu_stats {
    uint64_t dma_ok;
    uint64_t dma_faults;
    uint64_t msi_ok;
    uint64_t msi_faults;
};

/**
 * vsp_iommu_create() - an IOMMU with no domains and nothing attached.
 * @log: receives fault events; may be NULL; must outlive the IOMMU.
 * Return: 0; PCIVIRT_EINVAL; PCIVIRT_ENOMEM.
 */
int vsp_iommu_create(struct vsp_event_log *log, struct vsp_iommu **out);

/* vsp_iommu_destroy() - free @iommu (NULL accepted); every domain must be destroyed first. */
void vsp_iommu_destroy(struct vsp_iommu *iommu);

/**
 * vsp_domain_create() - a DMA domain with an empty map and IRTE table.
 * Return: 0; PCIVIRT_EINVAL for a bad config; PCIVIRT_ENOMEM.
 */
int vsp_domain_create(struct vsp_iommu *iommu, const struct vsp_domain_config *cfg, struct vsp_domain **out);

/* vsp_domain_destroy() - detach every requester still in @dom, then free it (NULL accepted). */
void vsp_domain_destroy(struct vsp_domain *dom);

/**
 * vsp_domain_map() - map IOVA [@iova, @iova + @len) to guest memory at @gpa.
 * All three page-aligned, @len > 0, the guest range inside the VM's memory,
 * @perm a non-empty subset of VSP_DMA_RW.
 * Return: 0; PCIVIRT_EINVAL (alignment, permission); PCIVIRT_ERANGE (outside
 * guest memory or IOVA wrap); PCIVIRT_EOVERLAP (overlaps an existing mapping);
 * PCIVIRT_ENOSPC (max_mappings reached); PCIVIRT_ENOMEM.
 */
int vsp_domain_map(struct vsp_domain *dom, uint64_t iova, uint64_t gpa, uint64_t len, unsigned perm);

/* vsp_domain_map_identity() - map all guest memory at IOVA = GPA with @perm. */
int vsp_domain_map_identity(struct vsp_domain *dom, unsigned perm);

/**
 * vsp_domain_unmap() - remove the mapping that starts at @iova with length @len.
 * Return: 0; PCIVIRT_ENOENT if no mapping has exactly that start and length.
 */
int vsp_domain_unmap(struct vsp_domain *dom, uint64_t iova, uint64_t len);

/* vsp_domain_vm() - the VM id the domain was created for. */
int vsp_domain_vm(const struct vsp_domain *dom);

/**
 * vsp_iommu_attach() - route DMA and MSIs of requester @rid through @dom.
 * @pf, @vf: identify the function in fault events (VSP_EV_NONE allowed).
 * Return: 0; PCIVIRT_EBUSY if @rid is attached to a domain already (detach
 * first: a VF is never in two VMs); PCIVIRT_EINVAL; PCIVIRT_ENOMEM.
 */
int vsp_iommu_attach(struct vsp_iommu *iommu, uint16_t rid, struct vsp_domain *dom, int pf, int vf);

/**
 * vsp_iommu_detach() - block @rid again: its DMA and MSIs fault from now on.
 * Does not free the requester's IRTEs (vsp_domain_irte_free_rid() does).
 * Return: 0; PCIVIRT_ENOENT if it was not attached.
 */
int vsp_iommu_detach(struct vsp_iommu *iommu, uint16_t rid);

/* vsp_iommu_domain_of() - the domain @rid is attached to, or NULL. */
struct vsp_domain *vsp_iommu_domain_of(struct vsp_iommu *iommu, uint16_t rid);

/**
 * vsp_iommu_dma_read() - a device read of guest memory: translate and copy.
 * @rid: the requester (routing ID of the function issuing the DMA).
 * Return: 0; PCIVIRT_EACCES on a fault (logged; @buf is filled with 0xFF);
 * PCIVIRT_EINVAL for @len 0 or NULL @buf.
 */
int vsp_iommu_dma_read(struct vsp_iommu *iommu, uint16_t rid, uint64_t iova, void *buf, size_t len);

/**
 * vsp_iommu_dma_write() - a device write to guest memory.
 * Return: 0; PCIVIRT_EACCES on a fault (logged; nothing written);
 * PCIVIRT_EINVAL; PCIVIRT_ENOMEM if guest memory could not grow.
 */
int vsp_iommu_dma_write(struct vsp_iommu *iommu, uint16_t rid, uint64_t iova, const void *buf, size_t len);

/**
 * vsp_domain_irte_alloc() - an interrupt remapping entry for @rid that raises
 * @vector at @dest in this domain's VM.
 * @handle: receives the entry's handle; vsp_msi_compose() turns it into the
 *          message the function must be programmed with.
 * Return: 0; PCIVIRT_ENOSPC when the table is full; PCIVIRT_EINVAL.
 */
int vsp_domain_irte_alloc(struct vsp_domain *dom, uint16_t rid, uint32_t vector, uint32_t dest, uint32_t *handle);

/**
 * vsp_domain_irte_free() - release entry @handle, which must belong to @rid.
 * Return: 0; PCIVIRT_ENOENT if no such valid entry for that requester.
 */
int vsp_domain_irte_free(struct vsp_domain *dom, uint16_t rid, uint32_t handle);

/* vsp_domain_irte_free_rid() - release every entry of @rid; returns how many. */
unsigned vsp_domain_irte_free_rid(struct vsp_domain *dom, uint16_t rid);

/* vsp_domain_irte_count_rid() - valid entries of @rid (the handoff check wants 0). */
unsigned vsp_domain_irte_count_rid(struct vsp_domain *dom, uint16_t rid);

/* vsp_msi_compose() - the remappable-format MSI address/data for entry @handle. */
void vsp_msi_compose(uint32_t handle, uint64_t *address, uint32_t *data);

/**
 * vsp_iommu_msi() - an MSI/MSI-X memory write by @rid: remap and deliver.
 * Return: 0 when delivered to the sink of @rid's domain; PCIVIRT_EACCES when
 * refused (logged as VSP_EV_IRQ_FAULT: not attached, not in the MSI window,
 * compatibility format, handle out of range or free, source ID mismatch).
 */
int vsp_iommu_msi(struct vsp_iommu *iommu, uint16_t rid, uint64_t address, uint32_t data);

/* vsp_iommu_get_stats() - copy the counters. */
void vsp_iommu_get_stats(struct vsp_iommu *iommu, struct vsp_iommu_stats *out);

/**
 * vsp_iommu_dma_port() - fill @port (src/dev/ports.h) so that the device's DMA
 * goes through this IOMMU: dma_read/dma_write become vsp_iommu_dma_read/_write
 * for the requester the device names.
 */
void vsp_iommu_dma_port(struct vsp_iommu *iommu, struct pv_dma_port *port);

/**
 * vsp_iommu_irq_port() - fill @port so that the device's MSI/MSI-X writes go
 * through interrupt remapping (vsp_iommu_msi()).
 */
void vsp_iommu_irq_port(struct vsp_iommu *iommu, struct pv_irq_port *port);

#endif /* PCIVIRT_VSP_IOMMU_H */
