/*
 * guest/swvf.h - a sample VF driver for the software SR-IOV device's VFs.
 *
 * It does what a real NIC VF driver does at the points where the virtualization
 * stack matters, so that an end-to-end run exercises every path of DESIGN.md:
 *
 *  - probe: sizes its own BARs through config space (all-ones, read back,
 *    restore, with Memory Space off - the stack's emulated BARs answer), checks
 *    the sizes against what the bus assigned, checks the ID register behind BAR0
 *    (dev/regs.h), reads its MAC from config block SWVF_BLOCK_MAC, registers an
 *    invalidate callback, asks the bus for an interrupt vector and programs it
 *    into MSI-X entry 0 (table located through the MSI-X capability), enables
 *    MSI-X and Bus Master;
 *  - invalidation: the callback only marks the MAC stale (it runs from the
 *    message loop, like Linux's channel callback, 8.7); the deferred work re-reads
 *    the block;
 *  - DMA: swvf_dma() programs the VF's DMA engine with guest physical addresses
 *    (the IOMMU translates them: DESIGN.md path 6) and, on request, asks for the
 *    MSI-X interrupt at completion;
 *  - rebalance: query_stop answers stop_answer (success unless a test sets a
 *    veto) and refuses DMA until resumed; REENABLE re-reads the ID register
 *    through BAR0 (the stack re-mapped it on the host); the MAC is re-read only
 *    when the PF invalidates it (it owes an invalidation for a change made while
 *    stopped: contract.md 4.7);
 *  - remove: interrupt deleted, MSI-X and Bus Master off, callback unregistered.
 *
 * Block convention shared with the PF side: block 0 holds the VF's MAC in its
 * first 6 bytes (the PF driver owns it; the VF only reads it).
 */
#ifndef PCIVIRT_GUEST_SWVF_H
#define PCIVIRT_GUEST_SWVF_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/vpci_bus.h"

#define SWVF_BLOCK_MAC 0u

/* What the driver knows about its VF (drvdata of the gvpci_dev). */
struct swvf {
    struct gvpci_dev *dev;
    uint64_t bar_size[6]; /* as the driver itself sized them through config space */
    uint32_t vf_index;    /* from the VF's register */
    uint8_t mac[6];
    bool mac_stale;
    unsigned mac_reads;
    uint64_t last_mask; /* the last invalidation mask */
    uint32_t vector;
    uint64_t msi_address;
    uint32_t msi_data;
    unsigned irqs;
    int msix_bar;
    uint32_t msix_table; /* offset of the table in msix_bar */
    /* Rebalance (PCI_QUERY_STOP / PCI_REENABLE / PCI_QUERY_STOP_FAILED). */
    NTSTATUS stop_answer; /* what query_stop answers: STATUS_SUCCESS (default) or a veto */
    bool stopped;         /* agreed to a stop and not resumed yet: no DMA is started */
    unsigned query_stops;
    unsigned restarts;     /* REENABLE received */
    unsigned stop_cancels; /* QUERY_STOP_FAILED received */
    bool id_after_restart; /* the ID register read right after the last REENABLE was the magic */
};

/**
 * swvf_driver_init() - fill @drv as this driver, matching @vendor/@device (the IDs
 * the PF reports for its VFs; the default profile's are 8086:10ed).
 */
void swvf_driver_init(struct gvpci_driver *drv, uint16_t vendor, uint16_t device);

/* swvf_of() - the driver state of a bound device, or NULL. */
struct swvf *swvf_of(struct gvpci_dev *dev);

/**
 * swvf_dma() - copy @len bytes from guest address @src to @dst with the VF's DMA
 * engine; @irq asks for the MSI-X interrupt at completion.
 * Return: 0; PCIVIRT_EACCES when the IOMMU refused an access (the device's fault
 * status); PCIVIRT_EINVAL (length); PCIVIRT_ESTATE (stopped for a rebalance); PCIVIRT_EIO for any other device status.
 */
int swvf_dma(struct gvpci_dev *dev, uint64_t src, uint64_t dst, uint32_t len, bool irq);

#endif /* PCIVIRT_GUEST_SWVF_H */
