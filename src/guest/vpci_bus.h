/*
 * guest/vpci_bus.h - the guest's vPCI bus driver: the other end of contract.md 8.
 *
 * What a Linux guest's pci-hyperv does, reduced to its observable behaviour, so
 * that the stack can be driven end to end by a guest that speaks the protocol the
 * way a real one does:
 *
 *  - start: offer protocol versions newest first (1.4, 1.3, 1.2, 1.1 by default)
 *    until one is accepted (STATUS_REVISION_MISMATCH = try the next), take the
 *    config window from the VM's low MMIO, ask for bus relations, enter D0, then
 *    bring up each child;
 *  - a child: QUERY_RESOURCE_REQUIREMENTS, BAR sizes from the probed values
 *    rounded up to pages (8.5), RESOURCES_ASSIGNED(2), BARs placed largest-first
 *    in the slot's MMIO region with Memory Space off, then Memory Space on, then
 *    the matching VF driver's probe;
 *  - BUS_RELATIONS at any time: children whose (slot, vendor, device, serial) match
 *    are kept, new ones brought up, unlisted ones removed (driver remove first);
 *  - PCI_EJECT: driver remove, release, PCI_EJECTION_COMPLETE - or nothing at all
 *    when the bus is told to misbehave;
 *  - PCI_INVALIDATE_BLOCK: the child's registered callback with the mask (from the
 *    message loop, like Linux's channel callback); a child without a callback, or
 *    an empty slot, drops it (8.7);
 *  - interrupts: CREATE_INTERRUPT_MESSAGE(2) per vector, the answer is what the
 *    driver programs into its MSI-X entry; the VM's interrupt controller hands
 *    vectors back through gvpci_bus_deliver_irq().
 *
 * The guest reaches its platform only through struct gvpci_platform (MMIO exits
 * and its own RAM), so it never includes the stack (guest and vsp are peers).
 * It is single-threaded by design: whoever runs the VM calls gvpci_bus_poll() to
 * process what the host sent; requests wait for their answers with a bound.
 */
#ifndef PCIVIRT_GUEST_VPCI_BUS_H
#define PCIVIRT_GUEST_VPCI_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcivirt/error.h"
#include "pcivirt/nt.h"
#include "vmbus/channel.h"
#include "vmbus/vpci_msg.h"

#define GVPCI_SLOTS 32u
#define GVPCI_MAX_DRIVERS 8u
#define GVPCI_PAGE 4096u
#define GVPCI_MAX_VERSIONS 8u
#define GVPCI_WAIT_DEFAULT_NS (5ll * 1000 * 1000 * 1000)
#define GVPCI_FIRST_VECTOR 0x30u

struct gvpci_bus;
struct gvpci_dev;

/* The VM as the guest sees it: MMIO exits and its RAM. */
struct gvpci_platform {
    void *ctx;
    int (*mmio_read)(void *ctx, uint64_t gpa, void *data, uint32_t len);
    int (*mmio_write)(void *ctx, uint64_t gpa, const void *data, uint32_t len);
    int (*mem_read)(void *ctx, uint64_t gpa, void *data, size_t len);
    int (*mem_write)(void *ctx, uint64_t gpa, const void *data, size_t len);
    uint64_t mmio_low_base, mmio_low_size;   /* below 4 GiB: config window, 32-bit BARs */
    uint64_t mmio_high_base, mmio_high_size; /* 64-bit BARs */
};

/* A VF driver (matched on vendor/device from the relations descriptor). */
struct gvpci_driver {
    const char *name;
    uint16_t vendor_id, device_id;
    int (*probe)(struct gvpci_dev *dev); /* 0 or a PCIVIRT_E* code (then not bound) */
    void (*remove)(struct gvpci_dev *dev);
    void (*work)(struct gvpci_dev *dev); /* deferred work, run by gvpci_bus_poll() */
    void (*irq)(struct gvpci_dev *dev, uint32_t vector);
    /*
     * PCI_QUERY_STOP (the stack's rebalance, docs/VPCI-PROTOCOL.md): quiesce the
     * device and return STATUS_SUCCESS, or a failure to veto.  NULL: agree.
     */
    NTSTATUS (*query_stop)(struct gvpci_dev *dev);
    /* PCI_REENABLE (@restarted) or PCI_QUERY_STOP_FAILED: resume.  May be NULL. */
    void (*restart)(struct gvpci_dev *dev, bool restarted);
};

typedef void gvpci_invalidate_fn(void *ctx, uint64_t mask);

struct gvpci_config {
    struct vmbus_channel *channel; /* the guest end; not owned */
    struct gvpci_platform platform;
    uint32_t versions[GVPCI_MAX_VERSIONS]; /* offer list; all zero: 1.4, 1.3, 1.2, 1.1 */
    int64_t wait_ns;                       /* bound on each request; 0: GVPCI_WAIT_DEFAULT_NS */
    bool ignore_eject;                     /* misbehave: never answer PCI_EJECT */
    bool ignore_query_stop;                /* misbehave: never answer PCI_QUERY_STOP */
};

/* What happened on the bus (monotonic counters). */
struct gvpci_stats {
    uint64_t relations, ejects, ejects_ignored, invalidates, invalidates_dropped;
    uint64_t probes, probe_failures, removes, irqs, irqs_unclaimed, bad_messages;
    uint64_t query_stops, query_stops_ignored, query_stops_vetoed, reenables, stops_failed;
};

/**
 * gvpci_bus_create() - a bus that has not talked to the host yet.
 * Return: 0; PCIVIRT_EINVAL (no channel, incomplete platform, window too small for
 * the config window); PCIVIRT_ENOMEM.
 */
int gvpci_bus_create(const struct gvpci_config *cfg, struct gvpci_bus **out);

/* gvpci_bus_destroy() - remove every child (drivers' remove) and free (NULL accepted). */
void gvpci_bus_destroy(struct gvpci_bus *bus);

/* gvpci_bus_register_driver() - add a VF driver.  Return: 0; PCIVIRT_ENOSPC. */
int gvpci_bus_register_driver(struct gvpci_bus *bus, const struct gvpci_driver *drv);

/**
 * gvpci_bus_start() - negotiate, D0 entry, first relations, children up.
 * Return: 0; PCIVIRT_ENOTSUP (no offered version accepted); PCIVIRT_ETIMEDOUT;
 * PCIVIRT_EIO (the host refused a step; @err names it).
 */
int gvpci_bus_start(struct gvpci_bus *bus, struct pcivirt_error *err);

/**
 * gvpci_bus_stop() - what a guest does on shutdown: each child's driver removed,
 * RESOURCES_RELEASED highest slot first, then BUS_D0EXIT (8.6).
 * Return: 0 or PCIVIRT_EIO.
 */
int gvpci_bus_stop(struct gvpci_bus *bus);

/**
 * gvpci_bus_poll() - process host messages for up to @wait_ns (0: only what is
 * queued), then run drivers' deferred work.  Return: messages processed, or a
 * negative PCIVIRT_E* code (PCIVIRT_EIO when the channel is gone).
 */
int gvpci_bus_poll(struct gvpci_bus *bus, int64_t wait_ns);

/* gvpci_bus_deliver_irq() - the VM's interrupt controller raised @vector. */
void gvpci_bus_deliver_irq(struct gvpci_bus *bus, uint32_t vector);

uint32_t gvpci_bus_version(const struct gvpci_bus *bus);
void gvpci_bus_stats(const struct gvpci_bus *bus, struct gvpci_stats *out);

/**
 * gvpci_bus_set_misbehave() - change how the bus answers the host from the next
 * message on, without reloading it: @ignore_eject (never answer PCI_EJECT) and
 * @ignore_query_stop (never answer PCI_QUERY_STOP), as in struct gvpci_config.
 * A request already ignored stays unanswered (the host's deadline decides it);
 * children, their drivers and the negotiated version are untouched.  Like the
 * rest of the bus, call it from the thread that polls.
 */
void gvpci_bus_set_misbehave(struct gvpci_bus *bus, bool ignore_eject, bool ignore_query_stop);

/* gvpci_bus_dev() - the child at device number @slot (0..31), or NULL. */
struct gvpci_dev *gvpci_bus_dev(struct gvpci_bus *bus, unsigned slot);

/* ---- what a VF driver calls ---------------------------------------------------- */

const struct vpci_fn_desc *gvpci_dev_desc(const struct gvpci_dev *dev);
uint32_t gvpci_dev_slot(const struct gvpci_dev *dev);
struct gvpci_bus *gvpci_dev_bus(const struct gvpci_dev *dev);
void gvpci_dev_set_drvdata(struct gvpci_dev *dev, void *data);
void *gvpci_dev_drvdata(const struct gvpci_dev *dev);

/* Config space through the window (1, 2 or 4 bytes).  Return: 0; PCIVIRT_EINVAL; the MMIO error. */
int gvpci_cfg_read(struct gvpci_dev *dev, uint32_t off, uint32_t len, uint32_t *val);
int gvpci_cfg_write(struct gvpci_dev *dev, uint32_t off, uint32_t len, uint32_t val);

/**
 * gvpci_find_cap() - walk the standard capability list (Capabilities Pointer
 * at 0x34, at most 48 entries, the low two bits of each pointer ignored) for @id.
 * Return: its offset, or 0 when absent or a read failed.
 */
uint32_t gvpci_find_cap(struct gvpci_dev *dev, uint8_t id);

/* Where BAR @bar sits in guest physical space (0 size: none). */
void gvpci_bar(const struct gvpci_dev *dev, unsigned bar, uint64_t *gpa, uint64_t *size);
/* 32-bit BAR MMIO.  Return: 0; PCIVIRT_ERANGE outside the BAR; the MMIO error. */
int gvpci_mmio_read32(struct gvpci_dev *dev, unsigned bar, uint64_t off, uint32_t *val);
int gvpci_mmio_write32(struct gvpci_dev *dev, unsigned bar, uint64_t off, uint32_t val);

/**
 * gvpci_read_block() / gvpci_write_block() - contract.md 8.7 (hyperv_read_cfg_blk):
 * @len 0 or > 128 -> PCIVIRT_EINVAL; a non-zero host status or zero bytes returned ->
 * PCIVIRT_EIO; @bytes_returned = min(@len, what the completion carried).
 */
int gvpci_read_block(struct gvpci_dev *dev, void *buf, uint32_t len, uint32_t block_id, uint32_t *bytes_returned);
int gvpci_write_block(struct gvpci_dev *dev, const void *buf, uint32_t len, uint32_t block_id);

/* gvpci_reg_block_invalidate() - register (or with NULL @fn remove) the invalidate callback. */
void gvpci_reg_block_invalidate(struct gvpci_dev *dev, void *ctx, gvpci_invalidate_fn *fn);

/**
 * gvpci_create_msi() - a vector for the device: CREATE_INTERRUPT_MESSAGE(2) and the
 * MSI address/data the device must be programmed with.
 * Return: 0; PCIVIRT_EIO (host status); PCIVIRT_ETIMEDOUT.
 */
int gvpci_create_msi(struct gvpci_dev *dev, uint32_t *vector, uint64_t *address, uint32_t *data);
/* gvpci_delete_msi() - DELETE_INTERRUPT_MESSAGE for a mapping gvpci_create_msi() gave. */
int gvpci_delete_msi(struct gvpci_dev *dev, uint64_t address, uint32_t data);

/* The guest's own RAM (for DMA buffers).  Return: the platform's result. */
int gvpci_mem_read(struct gvpci_dev *dev, uint64_t gpa, void *buf, size_t len);
int gvpci_mem_write(struct gvpci_dev *dev, uint64_t gpa, const void *buf, size_t len);

#endif /* PCIVIRT_GUEST_VPCI_BUS_H */
