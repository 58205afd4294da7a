/*
 * wdf/driver.c - drivers (linked in or dlopen'ed), WdfDriverCreate, device
 * initialisation and WdfDeviceCreate.
 *
 * A driver is whatever exports DriverEntry: a function pointer for a driver
 * linked into the executable, or a shared object.  Modules resolve the runtime's
 * symbols from the process (an executable linked with ENABLE_EXPORTS, or
 * libpcivirt.so), never from a copy of their own, because a second copy of the
 * runtime would have its own objects and fail every handle check (docs/RUNTIME.md).
 * The DRIVER_OBJECT passed to DriverEntry carries the host, so no global is needed
 * to find it again in WdfDriverCreate.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "wdf/internal.h"

/* ---- modules --------------------------------------------------------------------- */

static NTSTATUS
run_driver_entry(struct wdf_driver_module *m, PDRIVER_INITIALIZE entry)
{
    char path[160];
    WCHAR wpath[160];
    UNICODE_STRING reg;
    struct wdf_host *prev;
    size_t n;
    NTSTATUS st;

    n = (size_t)snprintf(path, sizeof(path), "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\%s", m->name);
    if (n >= sizeof(path)) {
        n = sizeof(path) - 1;
    }
    for (size_t i = 0; i < n; i++) {
        wpath[i] = (WCHAR)(unsigned char)path[i];
    }
    reg.Buffer = wpath;
    reg.Length = (USHORT)(n * sizeof(WCHAR));
    reg.MaximumLength = (USHORT)sizeof(wpath);
    prev = wdf_enter(m->host);
    st = entry(&m->drvobj, &reg);
    wdf_leave(prev);
    if (NT_SUCCESS(st) && m->drvobj.driver == NULL) {
        st = STATUS_INVALID_DEVICE_STATE;
    }
    return st;
}

static void
module_free(struct wdf_driver_module *m)
{
    if (m == NULL) {
        return;
    }
    if (m->drvobj.driver != NULL) {
        struct wdf_driver *drv = m->drvobj.driver;
        if (drv->config.EvtDriverUnload != NULL) {
            struct wdf_host *prev = wdf_enter(m->host);
            drv->config.EvtDriverUnload((WDFDRIVER)drv);
            wdf_leave(prev);
        }
        wdf_obj_delete(&drv->obj);
    }
    if (m->dl != NULL) {
        dlclose(m->dl);
    }
    pv_free(m);
}

static NTSTATUS
module_load(struct wdf_host *host, const char *name, PDRIVER_INITIALIZE entry, void *dl, struct wdf_driver_module **out)
{
    struct wdf_driver_module *m = pv_calloc(1, sizeof(*m));
    NTSTATUS st;

    if (m == NULL) {
        if (dl != NULL) {
            dlclose(dl);
        }
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    list_init(&m->node);
    m->host = host;
    m->dl = dl;
    m->drvobj.host = host;
    m->drvobj.module = m;
    snprintf(m->name, sizeof(m->name), "%s", name);
    st = run_driver_entry(m, entry);
    if (!NT_SUCCESS(st)) {
        module_free(m);
        return st;
    }
    pthread_mutex_lock(&host->mu);
    list_add_tail(&host->modules, &m->node);
    pthread_mutex_unlock(&host->mu);
    *out = m;
    return STATUS_SUCCESS;
}

NTSTATUS
wdf_driver_load(struct wdf_host *host, const char *name, PDRIVER_INITIALIZE entry, struct wdf_driver_module **out)
{
    if (out == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    *out = NULL;
    if (host == NULL || name == NULL || entry == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    return module_load(host, name, entry, NULL, out);
}

NTSTATUS
wdf_driver_load_module(struct wdf_host *host, const char *name, const char *path, struct wdf_driver_module **out)
{
    PDRIVER_INITIALIZE entry;
    void *dl;
    void *sym;

    if (out == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    *out = NULL;
    if (host == NULL || name == NULL || path == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        return STATUS_DLL_NOT_FOUND;
    }
    sym = dlsym(dl, "DriverEntry");
    if (sym == NULL) {
        dlclose(dl);
        return STATUS_DRIVER_ENTRYPOINT_NOT_FOUND;
    }
    memcpy(&entry, &sym, sizeof(entry)); /* object pointer to function pointer, as POSIX allows */
    return module_load(host, name, entry, dl, out);
}

void
wdf_modules_unload_all(struct wdf_host *host)
{
    struct list_node *n;

    for (;;) {
        pthread_mutex_lock(&host->mu);
        n = list_pop_head(&host->modules);
        pthread_mutex_unlock(&host->mu);
        if (n == NULL) {
            break;
        }
        module_free(list_entry(n, struct wdf_driver_module, node));
    }
}

NTSTATUS
WdfDriverCreate(PDRIVER_OBJECT DriverObject, PCUNICODE_STRING RegistryPath, PWDF_OBJECT_ATTRIBUTES DriverAttributes,
                PWDF_DRIVER_CONFIG DriverConfig, WDFDRIVER *Driver)
{
    struct wdf_driver *drv;
    struct wdf_obj *obj;
    NTSTATUS st;

    if (Driver != NULL) {
        *Driver = NULL;
    }
    if (DriverObject == NULL || DriverObject->host == NULL || DriverConfig == NULL ||
        DriverConfig->Size != sizeof(*DriverConfig) || DriverConfig->EvtDriverDeviceAdd == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    if (DriverObject->driver != NULL) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    st = wdf_obj_alloc(DriverObject->host, WDF_T_DRIVER, sizeof(*drv), DriverAttributes, NULL, &obj);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    obj->parent = NULL;
    drv = (struct wdf_driver *)obj;
    drv->module = DriverObject->module;
    drv->config = *DriverConfig;
    DriverObject->driver = drv;
    if (Driver != NULL) {
        *Driver = (WDFDRIVER)drv;
    }
    return STATUS_SUCCESS;
}

/* ---- device init ------------------------------------------------------------------ */

VOID
WdfFdoInitSetFilter(PWDFDEVICE_INIT DeviceInit)
{
    if (DeviceInit != NULL) {
        DeviceInit->filter = true;
    }
}

VOID
WdfDeviceInitSetPnpPowerEventCallbacks(PWDFDEVICE_INIT DeviceInit, PWDF_PNPPOWER_EVENT_CALLBACKS Callbacks)
{
    if (DeviceInit != NULL && Callbacks != NULL && Callbacks->Size == sizeof(*Callbacks)) {
        DeviceInit->pnp = *Callbacks;
    }
}

VOID
WdfDeviceInitSetIoType(PWDFDEVICE_INIT DeviceInit, WDF_DEVICE_IO_TYPE IoType)
{
    if (DeviceInit != NULL) {
        DeviceInit->io_type = IoType;
    }
}

NTSTATUS
WdfDeviceInitAssignWdmIrpPreprocessCallback(PWDFDEVICE_INIT DeviceInit, PFN_WDFDEVICE_WDM_IRP_PREPROCESS Callback,
                                            UCHAR MajorFunction, PUCHAR MinorFunctions, ULONG NumMinorFunctions)
{
    if (DeviceInit == NULL || Callback == NULL || MajorFunction != IRP_MJ_PNP ||
        (MinorFunctions == NULL && NumMinorFunctions != 0)) {
        return STATUS_INVALID_PARAMETER;
    }
    DeviceInit->preprocess = Callback;
    if (MinorFunctions == NULL) {
        memset(DeviceInit->minors, 0xff, sizeof(DeviceInit->minors));
        return STATUS_SUCCESS;
    }
    for (ULONG i = 0; i < NumMinorFunctions; i++) {
        DeviceInit->minors[MinorFunctions[i] / 8] |= (uint8_t)(1u << (MinorFunctions[i] % 8));
    }
    return STATUS_SUCCESS;
}

static void
device_free(struct wdf_obj *obj)
{
    struct wdf_device *dev = (struct wdf_device *)obj;
    struct list_node *n;

    while ((n = list_pop_head(&dev->qis)) != NULL) {
        struct wdf_qi *qi = list_entry(n, struct wdf_qi, node);
        pv_free(qi->table);
        pv_free(qi);
    }
}

NTSTATUS
WdfDeviceCreate(PWDFDEVICE_INIT *DeviceInit, PWDF_OBJECT_ATTRIBUTES DeviceAttributes, WDFDEVICE *Device)
{
    PWDFDEVICE_INIT init;
    struct wdf_device *dev;
    struct wdf_obj *obj;
    NTSTATUS st;

    if (Device != NULL) {
        *Device = NULL;
    }
    if (DeviceInit == NULL || *DeviceInit == NULL || Device == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    init = *DeviceInit;
    if (init->created != NULL || init->node == NULL) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    st = wdf_obj_alloc(init->host, WDF_T_DEVICE, sizeof(*dev), DeviceAttributes, NULL, &obj);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    obj->parent = NULL;
    obj->free_fn = device_free;
    dev = (struct wdf_device *)obj;
    dev->node = init->node;
    dev->driver = init->driver;
    dev->role = init->role;
    dev->level = init->role == WDF_ROLE_FUNCTION ? 2 : 1;
    dev->filter = init->filter;
    dev->pnp = init->pnp;
    dev->preprocess = init->preprocess;
    memcpy(dev->minors, init->minors, sizeof(dev->minors));
    list_init(&dev->queues);
    list_init(&dev->qis);
    list_init(&dev->qi_inflight);
    list_init(&dev->outstanding);
    snprintf(dev->name, sizeof(dev->name), "%s/%s", init->node->instance_id,
             init->role == WDF_ROLE_FUNCTION ? "fdo" : "filter");
    pthread_mutex_lock(&init->host->mu);
    init->node->stack[dev->level] = dev;
    pthread_mutex_unlock(&init->host->mu);
    init->created = dev;
    *DeviceInit = NULL;
    *Device = (WDFDEVICE)dev;
    return STATUS_SUCCESS;
}

WDFDRIVER
WdfDeviceGetDriver(WDFDEVICE Device)
{
    struct wdf_device *dev = (struct wdf_device *)wdf_obj_check(Device, WDF_T_DEVICE, "WdfDeviceGetDriver");

    return dev != NULL ? (WDFDRIVER)dev->driver : NULL;
}

/* Detach @dev from its node and delete its object tree (EvtCleanupCallbacks run). */
void
wdf_device_delete_objects(struct wdf_device *dev)
{
    struct wdf_host *host = dev->obj.host;

    pthread_mutex_lock(&host->mu);
    if (dev->node->stack[dev->level] == dev) {
        dev->node->stack[dev->level] = NULL;
    }
    dev->removed = true;
    wdf_iface_drop_device(dev);
    pthread_mutex_unlock(&host->mu);
    wdf_obj_delete(&dev->obj);
}

NTSTATUS
wdf_node_add_driver(struct wdf_node *node, struct wdf_driver_module *driver, enum wdf_stack_role role)
{
    struct WDFDEVICE_INIT *init;
    struct wdf_host *prev;
    int level = role == WDF_ROLE_FUNCTION ? 2 : 1;
    NTSTATUS st;

    if (node == NULL || driver == NULL || driver->drvobj.driver == NULL ||
        (role != WDF_ROLE_FUNCTION && role != WDF_ROLE_LOWER_FILTER)) {
        return STATUS_INVALID_PARAMETER;
    }
    pthread_mutex_lock(&node->pnp_mu);
    if (node->state != WDF_PNP_ADDED || node->stack[level] != NULL) {
        pthread_mutex_unlock(&node->pnp_mu);
        return STATUS_INVALID_DEVICE_STATE;
    }
    init = pv_calloc(1, sizeof(*init));
    if (init == NULL) {
        pthread_mutex_unlock(&node->pnp_mu);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    init->host = node->host;
    init->node = node;
    init->driver = driver->drvobj.driver;
    init->role = role;
    init->filter = role == WDF_ROLE_LOWER_FILTER;
    init->io_type = WdfDeviceIoBuffered;
    prev = wdf_enter(node->host);
    st = init->driver->config.EvtDriverDeviceAdd((WDFDRIVER)init->driver, init);
    wdf_leave(prev);
    if (NT_SUCCESS(st) && init->created == NULL) {
        st = STATUS_INVALID_DEVICE_STATE;
    }
    if (!NT_SUCCESS(st) && init->created != NULL) {
        wdf_device_delete_objects(init->created);
    }
    pv_free(init);
    pthread_mutex_unlock(&node->pnp_mu);
    return st;
}
