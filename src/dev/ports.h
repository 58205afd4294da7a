/*
 * dev/ports.h - what a device needs from the host: a DMA port and an interrupt port.
 *
 * A real device masters the bus; between it and memory sit the IOMMU and the
 * interrupt-remapping table.  The software device therefore never touches
 * memory itself: every DMA goes through the DMA port the host plugged in, tagged
 * with the requester's routing ID, and may fault (the stack's IOMMU returns an
 * error for an IOVA outside the VM's domain); every MSI-X message goes through
 * the interrupt port, again tagged with the requester ID.  Both are versioned
 * append-only tables (../shared/STYLE.md rule 11).
 *
 * The device calls the ports without holding its own lock, so a port may call
 * back into the device (for example to log a fault or read a register).
 */
#ifndef PCIVIRT_DEV_PORTS_H
#define PCIVIRT_DEV_PORTS_H

#include <stdint.h>

#define PV_DMA_PORT_VERSION 1
#define PV_IRQ_PORT_VERSION 1

struct pv_dma_port {
    uint32_t size;    /* sizeof(struct pv_dma_port) */
    uint32_t version; /* PV_DMA_PORT_VERSION */
    void *ctx;
    /*
     * Read/write @len bytes at I/O virtual address @iova on behalf of requester
     * @rid.  Return 0, or a negative PCIVIRT_E* code for a fault (nothing of a
     * faulting write may land in memory; the device records the IOVA).
     */
    int (*dma_read)(void *ctx, uint16_t rid, uint64_t iova, void *buf, uint32_t len);
    int (*dma_write)(void *ctx, uint16_t rid, uint64_t iova, const void *buf, uint32_t len);
};

struct pv_irq_port {
    uint32_t size;    /* sizeof(struct pv_irq_port) */
    uint32_t version; /* PV_IRQ_PORT_VERSION */
    void *ctx;
    /* Deliver one MSI/MSI-X message write (address, data) from requester @rid. */
    int (*raise)(void *ctx, uint16_t rid, uint64_t address, uint32_t data);
};

#endif /* PCIVIRT_DEV_PORTS_H */
