/*
 * dev/bus_iface.c - the software device behind pcivirt/bus.h.
 *
 * A thin table of trampolines from the versioned interface to the device's own
 * functions, so a real-hardware backend can fill the same table later.  The
 * reference count only records holders; the device's creator destroys it after
 * the last InterfaceDereference.
 */
#include "dev/dev_internal.h"

#include <string.h>

static void
iface_ref(PVOID ctx)
{
    struct pv_sriov_dev *dev = ctx;

    atomic_fetch_add(&dev->refs, 1);
}

static void
iface_deref(PVOID ctx)
{
    struct pv_sriov_dev *dev = ctx;

    atomic_fetch_sub(&dev->refs, 1);
}

static int
op_config_read(void *ctx, uint16_t rid, uint16_t offset, void *data, uint32_t length)
{
    return pv_sriov_config_read(ctx, rid, offset, data, length);
}

static int
op_config_write(void *ctx, uint16_t rid, uint16_t offset, const void *data, uint32_t length)
{
    return pv_sriov_config_write(ctx, rid, offset, data, length);
}

static int
op_mmio_read(void *ctx, uint16_t rid, unsigned bar, uint64_t offset, void *data, uint32_t length)
{
    return pv_sriov_mmio_read(ctx, rid, bar, offset, data, length);
}

static int
op_mmio_write(void *ctx, uint16_t rid, unsigned bar, uint64_t offset, const void *data, uint32_t length)
{
    return pv_sriov_mmio_write(ctx, rid, bar, offset, data, length);
}

static int
op_reset(void *ctx, uint16_t rid)
{
    return pv_sriov_function_reset(ctx, rid);
}

static int
op_resources(void *ctx, struct pcivirt_bus_resources *out)
{
    return pv_sriov_query_resources(ctx, out);
}

static int
op_last_error(void *ctx, struct pcivirt_error *out)
{
    return pv_sriov_last_error(ctx, out);
}

void
pv_sriov_bus_interface(struct pv_sriov_dev *dev, PCIVIRT_BUS_INTERFACE *iface)
{
    memset(iface, 0, sizeof(*iface));
    iface->Size = sizeof(*iface);
    iface->Version = PCIVIRT_BUS_INTERFACE_VERSION;
    iface->Context = dev;
    iface->InterfaceReference = iface_ref;
    iface->InterfaceDereference = iface_deref;
    iface->config_read = op_config_read;
    iface->config_write = op_config_write;
    iface->mmio_read = op_mmio_read;
    iface->mmio_write = op_mmio_write;
    iface->function_reset = op_reset;
    iface->query_resources = op_resources;
    iface->last_error = op_last_error;
}
