/*
 * tests/wdf/fixture.h - a small KMDF test driver and helpers shared by the
 * runtime tests.
 *
 * The driver is written against pcivirt/wdf.h exactly as a PF driver would be:
 * DriverEntry, EvtDriverDeviceAdd, a typed device context, a default parallel
 * queue, a manual non-power-managed queue for held requests, a preprocess hook
 * for IRP_MN_QUERY_STOP_DEVICE, a device interface and an optional query
 * interface.  Each test file sets td_cfg before loading it.  Every test runs with
 * a virtual clock and reads the verifier record; fx_host_destroy() fails the test
 * if a report was not expected.
 */
#ifndef PCIVIRT_TESTS_WDF_FIXTURE_H
#define PCIVIRT_TESTS_WDF_FIXTURE_H

#include <assert.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "pcivirt/bus.h"
#include "pcivirt/wdf.h"

/* Not every test file uses every helper of this fixture. */
#pragma GCC diagnostic ignored "-Wunused-function"

/* {5B0C1D7E-8E0F-4E53-9A3C-2D6F4B1A7E01}: a test interface class. */
DEFINE_GUID(GUID_TD_CLASS, 0x5b0c1d7e, 0x8e0f, 0x4e53, 0x9a, 0x3c, 0x2d, 0x6f, 0x4b, 0x1a, 0x7e, 0x01);
/* {5B0C1D7E-8E0F-4E53-9A3C-2D6F4B1A7E02}: a test query-interface GUID. */
DEFINE_GUID(GUID_TD_QI, 0x5b0c1d7e, 0x8e0f, 0x4e53, 0x9a, 0x3c, 0x2d, 0x6f, 0x4b, 0x1a, 0x7e, 0x02);

#define TD_CODE(i) CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900 + (i), METHOD_BUFFERED, FILE_ANY_ACCESS)
#define TD_ECHO TD_CODE(0)            /* in: u32 info, payload; out: payload reversed, Information = info */
#define TD_HOLD TD_CODE(1)            /* forwarded to the manual queue */
#define TD_RELEASE TD_CODE(2)         /* completes the oldest held request with SUCCESS, Information 4 */
#define TD_BLOCK TD_CODE(3)           /* waits in dispatch until the gate opens (like ATTACH) */
#define TD_OPEN_GATE TD_CODE(4)       /* opens the gate */
#define TD_CANCELABLE TD_CODE(5)      /* kept by the driver, marked cancelable */
#define TD_FINISH_CX TD_CODE(6)       /* unmark + complete the cancelable one if the driver still owns it */
#define TD_MODE TD_CODE(7)            /* Information = mode * 10 + (internal ? 1 : 0) */
#define TD_PENDING_FOREVER TD_CODE(8) /* kept by the driver and never completed */
/* Planted bugs, one per verifier rule. */
#define TD_BUG_DOUBLE TD_CODE(20)          /* completes twice */
#define TD_BUG_COMPLETE_QUEUED TD_CODE(21) /* forwards to the held queue, then completes */
#define TD_BUG_FORWARD_DONE TD_CODE(22)    /* completes, then forwards */
#define TD_BUG_TOUCH_DONE TD_CODE(23)      /* completes, then retrieves the buffer */
#define TD_BUG_WAIT_LOCKED TD_CODE(24)     /* waits on an event while holding a spin lock */
#define TD_BUG_RECURSE_LOCK TD_CODE(25)    /* takes its spin lock twice */

typedef struct _TD_DEVICE {
    WDFQUEUE held;
    KEVENT gate;
    KEVENT qs_go;
    NTSTATUS qs_status;
    volatile int qs_waiting;
    WDFSPINLOCK cx_lock;
    WDFREQUEST cx_request;
    WDFREQUEST forever;
    int prepare_calls, release_calls, d0_entry, d0_exit, surprise, query_stop_cb;
    ULONG raw_count;
    CM_PARTIAL_RESOURCE_DESCRIPTOR first_raw, first_translated;
    NTSTATUS bus_status;
    PCIVIRT_BUS_INTERFACE bus;
    char events[64];
    int nevents;
    volatile int aliased; /* last ECHO saw input == output buffer */
    volatile int blocked; /* a TD_BLOCK is waiting */
    NTSTATUS bug_status;  /* what the runtime answered the planted bug */
    PIRP volatile pended; /* a QUERY_STOP marked pending by pend_query_stop */
} TD_DEVICE;

WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(TD_DEVICE, TdGetContext)

struct td_config {
    bool filter;          /* add as WdfFdoInitSetFilter */
    bool hold_query_stop; /* preprocess QUERY_STOP and wait for qs_go */
    bool no_interface;    /* skip WdfDeviceCreateDeviceInterface */
    bool query_bus;       /* WdfFdoQueryForInterface(bus) in PrepareHardware */
    INTERFACE *qi_table;  /* registered for GUID_TD_QI if set */
    PFN_WDF_DEVICE_PROCESS_QUERY_INTERFACE_REQUEST qi_hook;
    bool qi_import;
    WDF_IO_QUEUE_DISPATCH_TYPE dispatch; /* default queue; 0 = parallel */
    bool no_queue;                       /* no default queue (a port driver that passes requests down) */
    bool pend_query_stop;                /* preprocess: mark QUERY_STOP pending, hand it back later */
    bool bug_irp;                        /* preprocess: return without completing QUERY_STOP (planted bug) */
};

static struct td_config td_cfg;

static void
td_event(TD_DEVICE *ctx, char c)
{
    if (ctx->nevents < (int)sizeof(ctx->events) - 1) {
        ctx->events[ctx->nevents++] = c;
    }
}

static EVT_WDF_DEVICE_PREPARE_HARDWARE td_prepare;
static NTSTATUS
td_prepare(WDFDEVICE Device, WDFCMRESLIST Raw, WDFCMRESLIST Translated)
{
    TD_DEVICE *ctx = TdGetContext(Device);

    ctx->prepare_calls++;
    td_event(ctx, 'P');
    ctx->raw_count = WdfCmResourceListGetCount(Raw);
    if (ctx->raw_count > 0) {
        ctx->first_raw = *WdfCmResourceListGetDescriptor(Raw, 0);
        ctx->first_translated = *WdfCmResourceListGetDescriptor(Translated, 0);
    }
    if (td_cfg.query_bus) {
        ctx->bus_status = WdfFdoQueryForInterface(Device, &GUID_PCIVIRT_BUS_INTERFACE, (PINTERFACE)&ctx->bus,
                                                  sizeof(ctx->bus), PCIVIRT_BUS_INTERFACE_VERSION, NULL);
    }
    return STATUS_SUCCESS;
}

static EVT_WDF_DEVICE_RELEASE_HARDWARE td_release;
static NTSTATUS
td_release(WDFDEVICE Device, WDFCMRESLIST Translated)
{
    TD_DEVICE *ctx = TdGetContext(Device);

    (void)Translated;
    ctx->release_calls++;
    td_event(ctx, 'R');
    if (td_cfg.query_bus && NT_SUCCESS(ctx->bus_status) && ctx->bus.InterfaceDereference != NULL) {
        ctx->bus.InterfaceDereference(ctx->bus.Context);
        ctx->bus_status = STATUS_UNSUCCESSFUL;
    }
    return STATUS_SUCCESS;
}

static EVT_WDF_DEVICE_D0_ENTRY td_d0_entry;
static NTSTATUS
td_d0_entry(WDFDEVICE Device, WDF_POWER_DEVICE_STATE Previous)
{
    (void)Previous;
    TdGetContext(Device)->d0_entry++;
    td_event(TdGetContext(Device), 'E');
    return STATUS_SUCCESS;
}

static EVT_WDF_DEVICE_D0_EXIT td_d0_exit;
static NTSTATUS
td_d0_exit(WDFDEVICE Device, WDF_POWER_DEVICE_STATE Target)
{
    (void)Target;
    TdGetContext(Device)->d0_exit++;
    td_event(TdGetContext(Device), 'X');
    return STATUS_SUCCESS;
}

static EVT_WDF_DEVICE_SURPRISE_REMOVAL td_surprise;
static VOID
td_surprise(WDFDEVICE Device)
{
    TdGetContext(Device)->surprise++;
    td_event(TdGetContext(Device), 'S');
}

static EVT_WDF_DEVICE_QUERY_STOP td_query_stop_cb;
static NTSTATUS
td_query_stop_cb(WDFDEVICE Device)
{
    TdGetContext(Device)->query_stop_cb++;
    td_event(TdGetContext(Device), 'q');
    return STATUS_SUCCESS;
}

/* The docs' pattern: hold QUERY_STOP until someone answers, then succeed or veto. */
static EVT_WDFDEVICE_WDM_IRP_PREPROCESS td_preprocess;
static NTSTATUS
td_preprocess(WDFDEVICE Device, PIRP Irp)
{
    TD_DEVICE *ctx = TdGetContext(Device);
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status;

    if (stack->MinorFunction == IRP_MN_QUERY_STOP_DEVICE && td_cfg.bug_irp) {
        return STATUS_SUCCESS; /* neither completed nor pending */
    }
    if (stack->MinorFunction == IRP_MN_QUERY_STOP_DEVICE && td_cfg.pend_query_stop) {
        IoMarkIrpPending(Irp);
        __atomic_store_n(&ctx->pended, Irp, __ATOMIC_SEQ_CST);
        return STATUS_PENDING;
    }
    if (stack->MinorFunction == IRP_MN_QUERY_STOP_DEVICE) {
        __atomic_store_n(&ctx->qs_waiting, 1, __ATOMIC_SEQ_CST);
        KeWaitForSingleObject(&ctx->qs_go, Executive, KernelMode, FALSE, NULL);
        __atomic_store_n(&ctx->qs_waiting, 0, __ATOMIC_SEQ_CST);
        status = ctx->qs_status;
        if (!NT_SUCCESS(status)) {
            Irp->IoStatus.Status = status;
            IoCompleteRequest(Irp, IO_NO_INCREMENT);
            return status;
        }
    } else if (stack->MinorFunction == IRP_MN_CANCEL_STOP_DEVICE) {
        td_event(ctx, 'C');
    }
    IoSkipCurrentIrpStackLocation(Irp);
    return WdfDeviceWdmDispatchPreprocessedIrp(Device, Irp);
}

static EVT_WDF_REQUEST_CANCEL td_cancel;
static VOID
td_cancel(WDFREQUEST Request)
{
    TD_DEVICE *ctx = TdGetContext(WdfIoQueueGetDevice(WdfRequestGetIoQueue(Request)));

    WdfSpinLockAcquire(ctx->cx_lock);
    if (ctx->cx_request == Request) {
        ctx->cx_request = NULL;
    }
    WdfSpinLockRelease(ctx->cx_lock);
    WdfRequestComplete(Request, STATUS_CANCELLED);
}

static void
td_echo(TD_DEVICE *ctx, WDFREQUEST Request, size_t out_len)
{
    uint8_t *in, *out, tmp[256];
    size_t in_len;
    NTSTATUS st;
    ULONG info;

    st = WdfRequestRetrieveInputBuffer(Request, 4, (PVOID *)&in, &in_len);
    if (!NT_SUCCESS(st)) {
        WdfRequestComplete(Request, st);
        return;
    }
    memcpy(&info, in, 4);
    if (in_len > sizeof(tmp)) {
        in_len = sizeof(tmp);
    }
    memcpy(tmp, in, in_len); /* read all input before writing output: they alias */
    if (out_len != 0) {
        st = WdfRequestRetrieveOutputBuffer(Request, 1, (PVOID *)&out, NULL);
        if (!NT_SUCCESS(st)) {
            WdfRequestComplete(Request, st);
            return;
        }
        __atomic_store_n(&ctx->aliased, out == in, __ATOMIC_SEQ_CST);
        for (size_t i = 0; i < out_len; i++) {
            out[i] = (uint8_t)(in_len > 4 && i < in_len - 4 ? tmp[in_len - 1 - i] : 0xEE);
        }
    }
    WdfRequestCompleteWithInformation(Request, STATUS_SUCCESS, info);
}

static void
td_cancelable(TD_DEVICE *ctx, WDFREQUEST Request)
{
    NTSTATUS st = WdfRequestMarkCancelableEx(Request, td_cancel);

    if (!NT_SUCCESS(st)) {
        WdfRequestComplete(Request, st);
        return;
    }
    WdfSpinLockAcquire(ctx->cx_lock);
    ctx->cx_request = Request;
    WdfSpinLockRelease(ctx->cx_lock);
}

static void
td_finish_cx(TD_DEVICE *ctx, WDFREQUEST Request)
{
    WDFREQUEST r;

    /*
     * Unmark under the lock the cancel routine takes: if the cancel routine has
     * started, Unmark says so and the routine completes the request; had we
     * unmarked after dropping the lock, the routine could already have completed
     * it (the verifier reports that as touching a completed request).
     */
    WdfSpinLockAcquire(ctx->cx_lock);
    r = ctx->cx_request;
    if (r != NULL && !NT_SUCCESS(WdfRequestUnmarkCancelable(r))) {
        r = NULL;
    }
    ctx->cx_request = NULL;
    WdfSpinLockRelease(ctx->cx_lock);
    if (r != NULL) {
        WdfRequestCompleteWithInformation(r, STATUS_SUCCESS, 0);
    }
    WdfRequestComplete(Request, STATUS_SUCCESS);
}

static void
td_bugs(TD_DEVICE *ctx, WDFREQUEST Request, ULONG IoControlCode)
{
    LARGE_INTEGER timeout;
    PVOID buf;

    switch (IoControlCode) {
    case TD_BUG_DOUBLE:
        WdfRequestComplete(Request, STATUS_SUCCESS);
        WdfRequestComplete(Request, STATUS_UNSUCCESSFUL);
        break;
    case TD_BUG_COMPLETE_QUEUED:
        ctx->bug_status = WdfRequestForwardToIoQueue(Request, ctx->held);
        WdfRequestComplete(Request, STATUS_UNSUCCESSFUL);
        break;
    case TD_BUG_FORWARD_DONE:
        WdfRequestComplete(Request, STATUS_SUCCESS);
        ctx->bug_status = WdfRequestForwardToIoQueue(Request, ctx->held);
        break;
    case TD_BUG_TOUCH_DONE:
        WdfRequestComplete(Request, STATUS_SUCCESS);
        ctx->bug_status = WdfRequestRetrieveInputBuffer(Request, 0, &buf, NULL);
        break;
    case TD_BUG_WAIT_LOCKED:
        timeout.QuadPart = WDF_REL_TIMEOUT_IN_SEC(1);
        WdfSpinLockAcquire(ctx->cx_lock);
        ctx->bug_status = KeWaitForSingleObject(&ctx->gate, Executive, KernelMode, FALSE, &timeout);
        WdfSpinLockRelease(ctx->cx_lock);
        WdfRequestComplete(Request, STATUS_SUCCESS);
        break;
    case TD_BUG_RECURSE_LOCK:
        WdfSpinLockAcquire(ctx->cx_lock);
        WdfSpinLockAcquire(ctx->cx_lock); /* refused: it would deadlock */
        WdfSpinLockRelease(ctx->cx_lock);
        WdfRequestComplete(Request, STATUS_SUCCESS);
        break;
    default: WdfRequestComplete(Request, STATUS_INVALID_DEVICE_REQUEST); break;
    }
}

static void
td_dispatch(WDFQUEUE Queue, WDFREQUEST Request, size_t OutputBufferLength, ULONG IoControlCode, bool internal)
{
    TD_DEVICE *ctx = TdGetContext(WdfIoQueueGetDevice(Queue));
    WDFREQUEST held;
    NTSTATUS st;

    switch (IoControlCode) {
    case TD_ECHO: td_echo(ctx, Request, OutputBufferLength); break;
    case TD_HOLD:
        st = WdfRequestForwardToIoQueue(Request, ctx->held);
        if (!NT_SUCCESS(st)) {
            WdfRequestComplete(Request, st);
        }
        break;
    case TD_RELEASE:
        st = WdfIoQueueRetrieveNextRequest(ctx->held, &held);
        if (NT_SUCCESS(st)) {
            WdfRequestCompleteWithInformation(held, STATUS_SUCCESS, 4);
        }
        WdfRequestComplete(Request, st);
        break;
    case TD_BLOCK:
        __atomic_store_n(&ctx->blocked, 1, __ATOMIC_SEQ_CST);
        KeWaitForSingleObject(&ctx->gate, Executive, KernelMode, FALSE, NULL);
        WdfRequestComplete(Request, STATUS_SUCCESS);
        break;
    case TD_OPEN_GATE:
        KeSetEvent(&ctx->gate, 0, FALSE);
        WdfRequestComplete(Request, STATUS_SUCCESS);
        break;
    case TD_CANCELABLE: td_cancelable(ctx, Request); break;
    case TD_FINISH_CX: td_finish_cx(ctx, Request); break;
    case TD_MODE: {
        WDF_REQUEST_PARAMETERS p;
        WDF_REQUEST_PARAMETERS_INIT(&p);
        WdfRequestGetParameters(Request, &p);
        WdfRequestCompleteWithInformation(Request, STATUS_SUCCESS,
                                          (ULONG_PTR)(WdfRequestGetRequestorMode(Request) * 10 +
                                                      (p.Type == WdfRequestTypeDeviceControlInternal ? 1 : 0) +
                                                      (internal ? 100 : 0)));
        break;
    }
    case TD_PENDING_FOREVER: ctx->forever = Request; break;
    default: td_bugs(ctx, Request, IoControlCode); break;
    }
}

static EVT_WDF_IO_QUEUE_IO_DEVICE_CONTROL td_ioctl;
static VOID
td_ioctl(WDFQUEUE Queue, WDFREQUEST Request, size_t OutputBufferLength, size_t InputBufferLength, ULONG IoControlCode)
{
    (void)InputBufferLength;
    td_dispatch(Queue, Request, OutputBufferLength, IoControlCode, false);
}

static EVT_WDF_IO_QUEUE_IO_INTERNAL_DEVICE_CONTROL td_internal_ioctl;
static VOID
td_internal_ioctl(WDFQUEUE Queue, WDFREQUEST Request, size_t OutputBufferLength, size_t InputBufferLength,
                  ULONG IoControlCode)
{
    (void)InputBufferLength;
    td_dispatch(Queue, Request, OutputBufferLength, IoControlCode, true);
}

static NTSTATUS
td_queues(WDFDEVICE device, TD_DEVICE *ctx)
{
    WDF_IO_QUEUE_CONFIG qc;
    NTSTATUS st;

    if (!td_cfg.no_queue) {
        WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&qc,
                                               td_cfg.dispatch != 0 ? td_cfg.dispatch : WdfIoQueueDispatchParallel);
        qc.EvtIoDeviceControl = td_ioctl;
        qc.EvtIoInternalDeviceControl = td_internal_ioctl;
        st = WdfIoQueueCreate(device, &qc, WDF_NO_OBJECT_ATTRIBUTES, WDF_NO_HANDLE);
        if (!NT_SUCCESS(st)) {
            return st;
        }
    }
    WDF_IO_QUEUE_CONFIG_INIT(&qc, WdfIoQueueDispatchManual);
    qc.PowerManaged = WdfFalse;
    return WdfIoQueueCreate(device, &qc, WDF_NO_OBJECT_ATTRIBUTES, &ctx->held);
}

static NTSTATUS
td_publish(WDFDEVICE device)
{
    WDF_QUERY_INTERFACE_CONFIG qic;
    NTSTATUS st = STATUS_SUCCESS;

    if (!td_cfg.no_interface) {
        st = WdfDeviceCreateDeviceInterface(device, &GUID_TD_CLASS, NULL);
    }
    if (NT_SUCCESS(st) && (td_cfg.qi_table != NULL || td_cfg.qi_hook != NULL)) {
        WDF_QUERY_INTERFACE_CONFIG_INIT(&qic, (PINTERFACE)td_cfg.qi_table, &GUID_TD_QI, td_cfg.qi_hook);
        qic.ImportInterface = td_cfg.qi_import;
        st = WdfDeviceAddQueryInterface(device, &qic);
    }
    return st;
}

static EVT_WDF_DRIVER_DEVICE_ADD td_device_add;
static NTSTATUS
td_device_add(WDFDRIVER Driver, PWDFDEVICE_INIT DeviceInit)
{
    WDF_PNPPOWER_EVENT_CALLBACKS pnp;
    WDF_OBJECT_ATTRIBUTES attrs;
    UCHAR minors[] = {IRP_MN_QUERY_STOP_DEVICE, IRP_MN_CANCEL_STOP_DEVICE};
    WDFDEVICE device;
    TD_DEVICE *ctx;
    NTSTATUS st;

    (void)Driver;
    if (td_cfg.filter) {
        WdfFdoInitSetFilter(DeviceInit);
    }
    WDF_PNPPOWER_EVENT_CALLBACKS_INIT(&pnp);
    pnp.EvtDevicePrepareHardware = td_prepare;
    pnp.EvtDeviceReleaseHardware = td_release;
    pnp.EvtDeviceD0Entry = td_d0_entry;
    pnp.EvtDeviceD0Exit = td_d0_exit;
    pnp.EvtDeviceSurpriseRemoval = td_surprise;
    pnp.EvtDeviceQueryStop = td_query_stop_cb;
    WdfDeviceInitSetPnpPowerEventCallbacks(DeviceInit, &pnp);
    if (td_cfg.hold_query_stop || td_cfg.pend_query_stop || td_cfg.bug_irp) {
        st = WdfDeviceInitAssignWdmIrpPreprocessCallback(DeviceInit, td_preprocess, IRP_MJ_PNP, minors, 2);
        if (!NT_SUCCESS(st)) {
            return st;
        }
    }
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attrs, TD_DEVICE);
    st = WdfDeviceCreate(&DeviceInit, &attrs, &device);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    ctx = TdGetContext(device);
    KeInitializeEvent(&ctx->gate, NotificationEvent, FALSE);
    KeInitializeEvent(&ctx->qs_go, SynchronizationEvent, FALSE);
    WDF_OBJECT_ATTRIBUTES_INIT(&attrs);
    attrs.ParentObject = device;
    st = WdfSpinLockCreate(&attrs, &ctx->cx_lock);
    if (NT_SUCCESS(st)) {
        st = td_queues(device, ctx);
    }
    if (NT_SUCCESS(st)) {
        st = td_publish(device);
    }
    return st;
}

static DRIVER_INITIALIZE td_driver_entry;
static NTSTATUS
td_driver_entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    WDF_DRIVER_CONFIG config;

    WDF_DRIVER_CONFIG_INIT(&config, td_device_add);
    return WdfDriverCreate(DriverObject, RegistryPath, WDF_NO_OBJECT_ATTRIBUTES, &config, WDF_NO_HANDLE);
}

/* ---- host-side helpers ---------------------------------------------------------- */

struct fx {
    struct wdf_host *host;
    struct wdf_node *node;
    struct wdf_driver_module *drv;
    WDFDEVICE dev;
    TD_DEVICE *ctx;
    int bus_refs; /* the fake bus interface's reference count */
};

static VOID
fx_bus_ref(PVOID Context)
{
    __atomic_add_fetch(&((struct fx *)Context)->bus_refs, 1, __ATOMIC_SEQ_CST);
}

static VOID
fx_bus_deref(PVOID Context)
{
    __atomic_sub_fetch(&((struct fx *)Context)->bus_refs, 1, __ATOMIC_SEQ_CST);
}

static void
fx_resources(CM_PARTIAL_RESOURCE_DESCRIPTOR raw[2], CM_PARTIAL_RESOURCE_DESCRIPTOR tr[2], uint64_t base)
{
    memset(raw, 0, 2 * sizeof(*raw));
    memset(tr, 0, 2 * sizeof(*tr));
    assert_true(NT_SUCCESS(RtlCmEncodeMemIoResource(&raw[0], CmResourceTypeMemory, 0x100000, base)));
    assert_true(NT_SUCCESS(RtlCmEncodeMemIoResource(&tr[0], CmResourceTypeMemory, 0x100000, base + 0x1000000000ull)));
    assert_true(NT_SUCCESS(RtlCmEncodeMemIoResource(&raw[1], CmResourceTypeMemoryLarge, 1ull << 33, base << 4)));
    assert_true(NT_SUCCESS(RtlCmEncodeMemIoResource(&tr[1], CmResourceTypeMemoryLarge, 1ull << 33, base << 5)));
}

static struct wdf_node *
fx_pdo(struct fx *f, const char *instance, uint64_t base)
{
    CM_PARTIAL_RESOURCE_DESCRIPTOR raw[2], tr[2];
    PCIVIRT_BUS_INTERFACE bus;
    struct wdf_pdo_interface pi = {&GUID_PCIVIRT_BUS_INTERFACE, (const INTERFACE *)&bus};
    struct wdf_pdo_config pc = {"PCI\\VEN_8086&DEV_10C9", instance, raw, tr, 2, &pi, 1};
    struct wdf_node *node = NULL;

    memset(&bus, 0, sizeof(bus));
    bus.Size = sizeof(bus);
    bus.Version = PCIVIRT_BUS_INTERFACE_VERSION;
    bus.Context = f;
    bus.InterfaceReference = fx_bus_ref;
    bus.InterfaceDereference = fx_bus_deref;
    fx_resources(raw, tr, base);
    assert_int_equal(wdf_pdo_create(f->host, &pc, &node), STATUS_SUCCESS);
    return node;
}

/* A host as @hc configures it, the test driver as FDO on one PDO, not started. */
static void
fx_setup_host(struct fx *f, const struct wdf_host_config *hc)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(wdf_host_create(hc, &f->host), STATUS_SUCCESS);
    f->node = fx_pdo(f, "0000:01:00.0", 0xf0000000ull);
    assert_int_equal(wdf_driver_load(f->host, "tdrv", td_driver_entry, &f->drv), STATUS_SUCCESS);
    assert_int_equal(wdf_node_add_driver(f->node, f->drv, td_cfg.filter ? WDF_ROLE_LOWER_FILTER : WDF_ROLE_FUNCTION),
                     STATUS_SUCCESS);
    f->dev = wdf_node_device(f->node, td_cfg.filter ? WDF_ROLE_LOWER_FILTER : WDF_ROLE_FUNCTION);
    assert_non_null(f->dev);
    f->ctx = TdGetContext(f->dev);
    assert_non_null(f->ctx);
}

/* A host with a virtual clock, the test driver as FDO on one PDO, not started. */
static void
fx_setup(struct fx *f)
{
    struct wdf_host_config hc = {.clock = WDF_CLOCK_VIRTUAL};

    fx_setup_host(f, &hc);
}

static void
fx_dump_reports(struct wdf_host *host)
{
    struct wdf_verifier_report r;

    for (size_t i = 0; wdf_verifier_get(host, i, &r); i++) {
        print_message("verifier: %s device=%s request=%llu: %s\n", r.rule_name, r.device,
                      (unsigned long long)r.request_id, r.message);
    }
}

/* Destroy; @expected_reports is how many verifier reports the test planted. */
static void
fx_teardown(struct fx *f, size_t expected_reports)
{
    size_t n = wdf_verifier_count(f->host, 0);

    if (n != expected_reports) {
        fx_dump_reports(f->host);
    }
    assert_int_equal(n, expected_reports);
    wdf_host_destroy(f->host);
    f->host = NULL;
}

/* Open the first (only) instance of the test class. */
static struct wdf_target *
fx_open(struct fx *f, KPROCESSOR_MODE mode, const struct wdf_target_callbacks *cb, void *ctx)
{
    struct wdf_target *t = NULL;
    char **links = NULL;

    assert_int_equal(wdf_interface_list(f->host, &GUID_TD_CLASS, &links), STATUS_SUCCESS);
    assert_non_null(links[0]);
    assert_int_equal(wdf_target_open(f->host, links[0], mode, cb, ctx, &t), STATUS_SUCCESS);
    wdf_interface_list_free(links);
    return t;
}

/* Wait (real time, bounded) until *flag becomes nonzero. */
static bool
fx_wait_flag(volatile int *flag, unsigned ms)
{
    for (unsigned i = 0; i < ms; i++) {
        if (__atomic_load_n(flag, __ATOMIC_SEQ_CST) != 0) {
            return true;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return __atomic_load_n(flag, __ATOMIC_SEQ_CST) != 0;
}

/* What a completion callback saw; done counts the calls (a request completes once). */
struct fx_result {
    volatile int done;
    NTSTATUS status;
    ULONG_PTR info;
};

static void
fx_on_done(void *ctx, struct wdf_io *io, NTSTATUS status, ULONG_PTR information)
{
    struct fx_result *r = ctx;

    (void)io;
    r->status = status;
    r->info = information;
    __atomic_add_fetch(&r->done, 1, __ATOMIC_SEQ_CST);
}

/* A buffer-less IOCTL, sent synchronously without a timeout. */
static NTSTATUS
fx_ioctl(struct wdf_target *t, ULONG code)
{
    return wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, code, NULL, 0, NULL, 0, 0, NULL);
}

/* A buffer-less IOCTL sent asynchronously, which must be left pending; @r sees its completion. */
static void
fx_pend(struct wdf_target *t, ULONG code, struct fx_result *r, struct wdf_io **io)
{
    assert_int_equal(wdf_target_send_async(t, IRP_MJ_DEVICE_CONTROL, code, NULL, 0, NULL, 0, fx_on_done, r, io),
                     STATUS_PENDING);
}

/* Wait (real time, bounded) for @r's completion and check its status. */
static void
fx_expect_completion(struct fx_result *r, NTSTATUS status)
{
    assert_true(fx_wait_flag(&r->done, 5000));
    assert_int_equal(r->status, status);
}

/* td_cfg as the caller set it, the driver started, and a kernel-mode target open on it. */
static struct wdf_target *
fx_start(struct fx *f)
{
    fx_setup(f);
    assert_int_equal(wdf_pnp_start(f->node), STATUS_SUCCESS);
    return fx_open(f, KernelMode, NULL, NULL);
}

/* A query-interface hook: Context = the device context, with the runtime's counted
 * reference functions (the table then keeps a removed device's context alive). */
static NTSTATUS
fx_counted_hook(WDFDEVICE Device, LPGUID InterfaceType, PINTERFACE ExposedInterface, PVOID Specific)
{
    (void)InterfaceType;
    (void)Specific;
    ExposedInterface->Context = TdGetContext(Device);
    ExposedInterface->InterfaceReference = wdf_interface_reference;
    ExposedInterface->InterfaceDereference = wdf_interface_dereference;
    return STATUS_SUCCESS;
}

/* ---- table-driven cases ------------------------------------------------------------ */

/*
 * Most request tests share one frame - td_cfg as the case sets it, the device
 * started, one kernel-mode target open, closed and torn down after - and differ in
 * what they send.  A test file lists its cases in a table and fx_run_cases() gives
 * each its own cmocka test under the case's name, so a failure names the case.  A
 * body that serves several cases reads its own parameters from param.
 */
struct fx_case {
    const char *name;                                                    /* what cmocka reports */
    void (*body)(struct fx *f, struct wdf_target *t, const void *param); /* runs on the started device */
    const void *param;                                                   /* the body's parameters, if any */
    struct td_config cfg;                                                /* td_cfg while the device is added */
    size_t reports;                                                      /* verifier reports the case plants */
};

/* A case whose name is its body's. */
#define FX_CASE(fn, ...)                                                                                               \
    {                                                                                                                  \
        .name = #fn, .body = fn, __VA_ARGS__                                                                           \
    }

#define FX_MAX_TESTS 32

static void
fx_run_case(void **state)
{
    const struct fx_case *c = *state;
    struct wdf_target *t;
    struct fx f;

    td_cfg = c->cfg;
    t = fx_start(&f);
    c->body(&f, t, c->param);
    wdf_target_close(t);
    fx_teardown(&f, c->reports);
}

/* Run the cases, then the @nplain tests that need a frame of their own, as one group. */
static int
fx_run_cases(const struct fx_case *cases, size_t ncases, const struct CMUnitTest *plain, size_t nplain)
{
    struct CMUnitTest tests[FX_MAX_TESTS];
    size_t n = 0;

    assert(ncases + nplain <= FX_MAX_TESTS);
    for (size_t i = 0; i < ncases; i++) {
        /* cmocka's state is void *; the runner only reads the case (uintptr_t keeps -Wcast-qual quiet). */
        tests[n++] = (struct CMUnitTest){
            .name = cases[i].name, .test_func = fx_run_case, .initial_state = (void *)(uintptr_t)&cases[i]};
    }
    for (size_t i = 0; i < nplain; i++) {
        tests[n++] = plain[i];
    }
    return _cmocka_run_group_tests("tests", tests, n, NULL, NULL);
}

#define FX_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#endif /* PCIVIRT_TESTS_WDF_FIXTURE_H */
