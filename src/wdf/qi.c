/*
 * wdf/qi.c - query interfaces: registration, KMDF's size/version rule, the
 * driver hook for larger tables, and reference counting of exported tables.
 *
 * The rule is KMDF's (contract.md 1.5): a registered table is handed out only if
 * its Size <= the requested Size and its Version <= the requested Version, and then
 * exactly its Size bytes are copied and its InterfaceReference is called; anything
 * else fails with STATUS_INVALID_BUFFER_SIZE.  The PF's hook runs after the copy
 * and may fill the rest of a larger request (v2 tail, contract.md 3.2); it learns
 * the requested size through wdf_query_interface_requested(), since the copied
 * table header no longer shows it.
 */
#include <string.h>

#include "util/alloc.h"
#include "wdf/internal.h"

NTSTATUS
wdf_qi_match(const INTERFACE *table, PIO_STACK_LOCATION stk)
{
    INTERFACE *dst = stk->Parameters.QueryInterface.Interface;

    if (table->Size > stk->Parameters.QueryInterface.Size || table->Version > stk->Parameters.QueryInterface.Version) {
        return STATUS_INVALID_BUFFER_SIZE;
    }
    memcpy(dst, table, table->Size);
    if (dst->InterfaceReference != NULL) {
        dst->InterfaceReference(dst->Context);
    }
    return STATUS_SUCCESS;
}

static struct wdf_qi *
find_qi_locked(struct wdf_device *dev, const GUID *type)
{
    struct list_node *pos;

    list_for_each(pos, &dev->qis)
    {
        struct wdf_qi *qi = list_entry(pos, struct wdf_qi, node);
        if (IsEqualGUID(&qi->type, type)) {
            return qi;
        }
    }
    return NULL;
}

/* Run the driver's hook with the request registered as "in flight" for
 * wdf_query_interface_requested(). */
static NTSTATUS
run_hook(struct wdf_device *dev, struct wdf_qi *qi, PIO_STACK_LOCATION stk)
{
    struct wdf_host *host = dev->obj.host;
    struct wdf_qi_inflight fl;
    struct wdf_site prev;
    GUID type = qi->type;
    NTSTATUS st;

    list_init(&fl.node);
    fl.buffer = stk->Parameters.QueryInterface.Interface;
    fl.size = stk->Parameters.QueryInterface.Size;
    fl.version = stk->Parameters.QueryInterface.Version;
    pthread_mutex_lock(&host->mu);
    list_add_tail(&dev->qi_inflight, &fl.node);
    pthread_mutex_unlock(&host->mu);
    prev = wdf_enter_device(dev);
    st = qi->evt((WDFDEVICE)dev, &type, stk->Parameters.QueryInterface.Interface,
                 stk->Parameters.QueryInterface.InterfaceSpecificData);
    wdf_leave_site(prev);
    pthread_mutex_lock(&host->mu);
    list_del_init(&fl.node);
    pthread_mutex_unlock(&host->mu);
    return st;
}

/* A successful QI hands out one reference, taken by the exporter's own routine. */
static void
reference_exported(struct wdf_device *dev, INTERFACE *dst, NTSTATUS status)
{
    struct wdf_site prev;

    if (!NT_SUCCESS(status) || dst->InterfaceReference == NULL) {
        return;
    }
    prev = wdf_enter_device(dev);
    dst->InterfaceReference(dst->Context);
    wdf_leave_site(prev);
}

bool
wdf_qi_handle(struct wdf_device *dev, PIRP irp, NTSTATUS *status)
{
    PIO_STACK_LOCATION stk = &irp->Private->stack;
    INTERFACE *dst = stk->Parameters.QueryInterface.Interface;
    struct wdf_qi *qi;

    pthread_mutex_lock(&dev->obj.host->mu);
    qi = find_qi_locked(dev, stk->Parameters.QueryInterface.InterfaceType);
    pthread_mutex_unlock(&dev->obj.host->mu);
    if (qi == NULL) {
        return false;
    }
    if (qi->import || qi->table == NULL) {
        *status = run_hook(dev, qi, stk);
        reference_exported(dev, dst, *status);
        return true;
    }
    if (qi->table->Size > stk->Parameters.QueryInterface.Size ||
        qi->table->Version > stk->Parameters.QueryInterface.Version) {
        *status = STATUS_INVALID_BUFFER_SIZE;
        return true;
    }
    memcpy(dst, qi->table, qi->table->Size);
    *status = STATUS_SUCCESS;
    if (qi->evt != NULL) {
        *status = run_hook(dev, qi, stk);
    }
    reference_exported(dev, dst, *status);
    return true;
}

NTSTATUS
WdfDeviceAddQueryInterface(WDFDEVICE Device, PWDF_QUERY_INTERFACE_CONFIG InterfaceConfig)
{
    struct wdf_device *dev = (struct wdf_device *)wdf_obj_check(Device, WDF_T_DEVICE, "WdfDeviceAddQueryInterface");
    PWDF_QUERY_INTERFACE_CONFIG cfg = InterfaceConfig;
    struct wdf_qi *qi;

    if (dev == NULL || cfg == NULL || cfg->Size != sizeof(*cfg) || cfg->InterfaceType == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    if (cfg->Interface == NULL && cfg->EvtDeviceProcessQueryInterfaceRequest == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    if (cfg->Interface != NULL && cfg->Interface->Size < sizeof(INTERFACE)) {
        return STATUS_INVALID_PARAMETER;
    }
    if (cfg->ImportInterface && cfg->EvtDeviceProcessQueryInterfaceRequest == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    qi = pv_calloc(1, sizeof(*qi));
    if (qi == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    list_init(&qi->node);
    qi->type = *cfg->InterfaceType;
    qi->evt = cfg->EvtDeviceProcessQueryInterfaceRequest;
    qi->import = cfg->ImportInterface != FALSE;
    if (cfg->Interface != NULL) {
        qi->table = pv_malloc(cfg->Interface->Size);
        if (qi->table == NULL) {
            pv_free(qi);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        memcpy(qi->table, cfg->Interface, cfg->Interface->Size);
    }
    pthread_mutex_lock(&dev->obj.host->mu);
    if (find_qi_locked(dev, &qi->type) != NULL) {
        pthread_mutex_unlock(&dev->obj.host->mu);
        pv_free(qi->table);
        pv_free(qi);
        return STATUS_OBJECT_NAME_COLLISION;
    }
    list_add_tail(&dev->qis, &qi->node);
    pthread_mutex_unlock(&dev->obj.host->mu);
    return STATUS_SUCCESS;
}

NTSTATUS
wdf_query_interface_requested(WDFDEVICE Device, const INTERFACE *ExposedInterface, USHORT *Size, USHORT *Version)
{
    struct wdf_device *dev = (struct wdf_device *)wdf_obj_check(Device, WDF_T_DEVICE, "wdf_query_interface_requested");
    NTSTATUS st = STATUS_INVALID_DEVICE_STATE;
    struct list_node *pos;

    if (dev == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    pthread_mutex_lock(&dev->obj.host->mu);
    list_for_each(pos, &dev->qi_inflight)
    {
        struct wdf_qi_inflight *fl = list_entry(pos, struct wdf_qi_inflight, node);
        if (fl->buffer == ExposedInterface) {
            if (Size != NULL) {
                *Size = fl->size;
            }
            if (Version != NULL) {
                *Version = fl->version;
            }
            st = STATUS_SUCCESS;
            break;
        }
    }
    pthread_mutex_unlock(&dev->obj.host->mu);
    return st;
}

NTSTATUS
wdf_query_interface_at(struct wdf_node *node, int level, const GUID *type, INTERFACE *iface, USHORT size,
                       USHORT version, PVOID specific)
{
    struct pcivirt_irp_private priv;
    IRP irp;

    if (type == NULL || iface == NULL || size < sizeof(INTERFACE)) {
        return STATUS_INVALID_PARAMETER;
    }
    wdf_irp_init(&irp, &priv, node, IRP_MN_QUERY_INTERFACE);
    priv.stack.Parameters.QueryInterface.InterfaceType = type;
    priv.stack.Parameters.QueryInterface.Size = size;
    priv.stack.Parameters.QueryInterface.Version = version;
    priv.stack.Parameters.QueryInterface.Interface = iface;
    priv.stack.Parameters.QueryInterface.InterfaceSpecificData = specific;
    return wdf_irp_call(&irp, level);
}

NTSTATUS
WdfFdoQueryForInterface(WDFDEVICE Fdo, const GUID *InterfaceType, PINTERFACE Interface, USHORT Size, USHORT Version,
                        PVOID InterfaceSpecificData)
{
    struct wdf_device *dev = (struct wdf_device *)wdf_obj_check(Fdo, WDF_T_DEVICE, "WdfFdoQueryForInterface");

    if (dev == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    return wdf_query_interface_at(dev->node, dev->level - 1, InterfaceType, Interface, Size, Version,
                                  InterfaceSpecificData);
}

VOID
WdfDeviceInterfaceReferenceNoOp(PVOID Context)
{
    (void)Context;
}

VOID
WdfDeviceInterfaceDereferenceNoOp(PVOID Context)
{
    (void)Context;
}

/* The device whose object owns context @ctx (the context of the device itself or
 * of any object under it). */
static struct wdf_device *
device_of_context(PVOID ctx)
{
    struct wdf_obj *obj = WdfObjectContextGetObject(ctx);

    return obj != NULL ? wdf_obj_device(obj) : NULL;
}

VOID
wdf_interface_reference(PVOID Context)
{
    struct wdf_device *dev = device_of_context(Context);

    if (dev == NULL) {
        wdf_report(wdf_current_host(), WDF_RULE_BAD_HANDLE, NULL, 0, 0,
                   "wdf_interface_reference: Context %p is not a runtime object context", Context);
        return;
    }
    pthread_mutex_lock(&dev->obj.host->mu);
    dev->iface_refs++;
    wdf_obj_ref_locked(&dev->obj);
    pthread_mutex_unlock(&dev->obj.host->mu);
}

VOID
wdf_interface_dereference(PVOID Context)
{
    struct wdf_device *dev = device_of_context(Context);
    bool underflow;

    if (dev == NULL) {
        wdf_report(wdf_current_host(), WDF_RULE_BAD_HANDLE, NULL, 0, 0,
                   "wdf_interface_dereference: Context %p is not a runtime object context", Context);
        return;
    }
    pthread_mutex_lock(&dev->obj.host->mu);
    underflow = dev->iface_refs == 0;
    if (!underflow) {
        dev->iface_refs--;
    }
    pthread_mutex_unlock(&dev->obj.host->mu);
    if (underflow) {
        wdf_report(dev->obj.host, WDF_RULE_INTERFACE_UNDERFLOW, dev->name, 0, 0,
                   "InterfaceDereference without a matching InterfaceReference");
        return;
    }
    wdf_obj_unref(&dev->obj);
}
