/*
 * tests/abi/test_seed_driver.c - the reference page's EvtDriverDeviceAdd, compiled
 * and run on the runtime.
 *
 * test_seed_fragment.c checks the table against the headers alone; this test goes
 * the whole way the seed describes (../shared/seed, "En la implementacion del
 * EVT_WDF_DRIVER_DEVICE_ADD"): a driver whose device-add is written in the page's
 * words - WdfDeviceCreate, WdfDeviceCreateDeviceInterface(fdo,
 * &GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE, NULL), RtlZeroMemory, Size/Version 1/
 * Context and all eleven v1 members by name (the page's excerpt lists ten;
 * GetResourceForBar is set too, as contract.md 7.0 says the full example does),
 * WDF_QUERY_INTERFACE_CONFIG_INIT with
 * (PINTERFACE)&sriovInterface, WdfDeviceAddQueryInterface, TraceEvents and
 * `goto Cleanup` - is loaded into a host, and the stack's side of the runtime
 * checks what contract.md 3.1 and 7.1 promise: no interface before start, an
 * arrival at start, a QI that returns exactly the registered table with one
 * InterfaceReference per success (KMDF rule, contract.md 1.5), the error path
 * traced and undone, and removal taking the interface away.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pcivirt/pcivirt.h"
#include "pcivirt/wdf.h"

/* ---- a TraceEvents stand-in (WPP is not available): keeps the last error line --- */

#define TRACE_LEVEL_ERROR 2
#define DBG_INIT 1

struct seed_trace {
    int lines;
    int level;
    char text[160];
};

/* The test's knobs and the trace; read by the driver, which has no other channel. */
static struct seed_trace seed_trace;
static bool seed_break_query_interface;

static void
seed_trace_line(int level, int flags, const char *format, NTSTATUS status)
{
    const char *mark = strstr(format, "%!STATUS!");

    (void)flags;
    seed_trace.lines++;
    seed_trace.level = level;
    /* WPP's %!STATUS! prints the symbolic name; the trace keeps the text before it and the name. */
    snprintf(seed_trace.text, sizeof(seed_trace.text), "%.*s%s", mark != NULL ? (int)(mark - format) : 0, format,
             pcivirt_ntstatus_name(status) != NULL ? pcivirt_ntstatus_name(status) : "?");
}

#define TraceEvents(level, flags, format, status) seed_trace_line((level), (flags), (format), (status))

/* ---- the driver ---------------------------------------------------------------- */

typedef struct _DEVICE_CONTEXT {
    volatile LONG References;
    ULONG Calls; /* bit n: callback n of the table was reached with this context */
} DEVICE_CONTEXT, *PDEVICE_CONTEXT;

WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(DEVICE_CONTEXT, DeviceGetContext)

static EVT_WDF_DRIVER_DEVICE_ADD SeedEvtDeviceAdd;
static SRIOV_READ_CONFIG Virtualization_ReadConfig;
static SRIOV_WRITE_CONFIG Virtualization_WriteConfig;
static SRIOV_READ_BLOCK Virtualization_ReadBlock;
static SRIOV_WRITE_BLOCK Virtualization_WriteBlock;
static SRIOV_RESET_FUNCTION Virtualization_ResetFunction;
static SRIOV_SET_POWER_STATE Virtualization_SetPowerState;
static SRIOV_GET_DEVICE_LOCATION Virtualization_GetDeviceLocation;
static SRIOV_GET_VENDOR_AND_DEVICE_IDS Virtualization_GetVendorAndDevice;
static SRIOV_QUERY_PROBED_BARS Virtualization_QueryProbedBars;
static SRIOV_GET_RESOURCE_FOR_BAR Virtualization_GetResourceForBar;
static SRIOV_QUERY_LUID Virtualization_QueryLuid;

static VOID
Virtualization_ReferenceInterface(_In_ PVOID Context)
{
    __atomic_add_fetch(&((PDEVICE_CONTEXT)Context)->References, 1, __ATOMIC_SEQ_CST);
}

static VOID
Virtualization_DereferenceInterface(_In_ PVOID Context)
{
    __atomic_sub_fetch(&((PDEVICE_CONTEXT)Context)->References, 1, __ATOMIC_SEQ_CST);
}

static void
called(PVOID Context, int bit)
{
    ((PDEVICE_CONTEXT)Context)->Calls |= 1u << bit;
}

_Use_decl_annotations_ static NTSTATUS
Virtualization_ReadConfig(PVOID Context, PVOID Data, USHORT VfIndex, ULONG Offset, ULONG Length)
{
    called(Context, 0);
    memset(Data, (int)(Offset + VfIndex), Length);
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ static NTSTATUS
Virtualization_WriteConfig(PVOID Context, const VOID *Data, USHORT VfIndex, ULONG Offset, ULONG Length)
{
    (void)Data, (void)VfIndex, (void)Offset, (void)Length;
    called(Context, 1);
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ static NTSTATUS
Virtualization_ReadBlock(PVOID Context, USHORT VfIndex, ULONG BlockId, PVOID Buffer, ULONG Length)
{
    (void)VfIndex;
    called(Context, 2);
    memset(Buffer, (int)BlockId, Length);
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ static NTSTATUS
Virtualization_WriteBlock(PVOID Context, USHORT VfIndex, ULONG BlockId, PVOID Buffer, ULONG Length)
{
    (void)VfIndex, (void)BlockId, (void)Buffer, (void)Length;
    called(Context, 3);
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ static NTSTATUS
Virtualization_ResetFunction(PVOID Context, USHORT VfIndex)
{
    (void)VfIndex;
    called(Context, 4);
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ static NTSTATUS
Virtualization_SetPowerState(PVOID Context, USHORT VfIndex, DEVICE_POWER_STATE PowerState, BOOLEAN Wake)
{
    (void)VfIndex, (void)PowerState, (void)Wake;
    called(Context, 5);
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ static VOID
Virtualization_GetDeviceLocation(PVOID Context, USHORT VfIndex, PUINT16 SegmentNumber, PUINT8 BusNumber,
                                 PUINT8 FunctionNumber)
{
    called(Context, 6);
    *SegmentNumber = 0;
    *BusNumber = 1;
    *FunctionNumber = (UINT8)(0x80 + VfIndex);
}

_Use_decl_annotations_ static VOID
Virtualization_GetVendorAndDevice(PVOID Context, USHORT VfIndex, PUSHORT VendorId, PUSHORT DeviceId)
{
    (void)VfIndex;
    called(Context, 7);
    *VendorId = 0x8086;
    *DeviceId = 0x10ed;
}

_Use_decl_annotations_ static NTSTATUS
Virtualization_QueryProbedBars(PVOID Context, PULONG BaseRegisterValues)
{
    called(Context, 8);
    RtlZeroMemory(BaseRegisterValues, PCI_TYPE0_ADDRESSES * sizeof(ULONG));
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ static NTSTATUS
Virtualization_GetResourceForBar(PVOID Context, USHORT VfIndex, USHORT BarIndex,
                                 PCM_PARTIAL_RESOURCE_DESCRIPTOR Resource)
{
    (void)VfIndex;
    called(Context, 9);
    RtlZeroMemory(Resource, sizeof(*Resource));
    return BarIndex < PCI_TYPE0_ADDRESSES ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

_Use_decl_annotations_ static NTSTATUS
Virtualization_QueryLuid(PVOID Context, PLUID Luid)
{
    called(Context, 10);
    Luid->LowPart = 0x5eed;
    Luid->HighPart = 0;
    return STATUS_SUCCESS;
}

/* The reference page's EvtDriverDeviceAdd, in its words and order. */
_Use_decl_annotations_ static NTSTATUS
SeedEvtDeviceAdd(WDFDRIVER Driver, PWDFDEVICE_INIT DeviceInit)
{
    NTSTATUS status;
    WDFDEVICE fdo;
    WDF_OBJECT_ATTRIBUTES attributes;
    PDEVICE_CONTEXT deviceContext;
    SRIOV_DEVICE_INTERFACE_STANDARD sriovInterface;
    WDF_QUERY_INTERFACE_CONFIG qiConfig;

    UNREFERENCED_PARAMETER(Driver);

    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, DEVICE_CONTEXT);
    status = WdfDeviceCreate(&DeviceInit, &attributes, &fdo);
    if (!NT_SUCCESS(status)) {
        TraceEvents(TRACE_LEVEL_ERROR, DBG_INIT, "WdfDeviceCreate failed: %!STATUS!", status);
        goto Cleanup;
    }
    deviceContext = DeviceGetContext(fdo);

    //
    // Make the device visible as an assignable device.
    //
    status = WdfDeviceCreateDeviceInterface(fdo, &GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE, NULL);
    if (!NT_SUCCESS(status)) {
        TraceEvents(TRACE_LEVEL_ERROR, DBG_INIT, "Failed to create interface: %!STATUS!", status);
        goto Cleanup;
    }

    //
    // Expose SRIOV_DEVICE_INTERFACE_STANDARD
    //
    RtlZeroMemory(&sriovInterface, sizeof(sriovInterface));
    sriovInterface.Size = sizeof(sriovInterface);
    sriovInterface.Version = 1;
    sriovInterface.Context = deviceContext;
    sriovInterface.InterfaceReference = Virtualization_ReferenceInterface;
    sriovInterface.InterfaceDereference = Virtualization_DereferenceInterface;
    sriovInterface.ReadVfConfig = Virtualization_ReadConfig;
    sriovInterface.WriteVfConfig = Virtualization_WriteConfig;
    sriovInterface.ReadVfConfigBlock = Virtualization_ReadBlock;
    sriovInterface.WriteVfConfigBlock = Virtualization_WriteBlock;
    sriovInterface.ResetVf = Virtualization_ResetFunction;
    sriovInterface.SetVfPowerState = Virtualization_SetPowerState;
    sriovInterface.GetDeviceLocation = Virtualization_GetDeviceLocation;
    sriovInterface.GetVendorAndDevice = Virtualization_GetVendorAndDevice;
    sriovInterface.QueryProbedBars = Virtualization_QueryProbedBars;
    sriovInterface.GetResourceForBar = Virtualization_GetResourceForBar;
    sriovInterface.QueryLuid = Virtualization_QueryLuid;

    WDF_QUERY_INTERFACE_CONFIG_INIT(&qiConfig, (PINTERFACE)&sriovInterface, &GUID_SRIOV_DEVICE_INTERFACE_STANDARD,
                                    NULL);
    if (seed_break_query_interface) {
        qiConfig.InterfaceType = NULL; /* the test's way into the error path */
    }

    status = WdfDeviceAddQueryInterface(fdo, &qiConfig);

    if (!NT_SUCCESS(status)) {
        TraceEvents(TRACE_LEVEL_ERROR, DBG_INIT, "WdfDeviceAddQueryInterface failed: %!STATUS!\n", status);
        goto Cleanup;
    }

Cleanup:
    return status;
}

static DRIVER_INITIALIZE SeedDriverEntry;

_Use_decl_annotations_ static NTSTATUS
SeedDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    WDF_DRIVER_CONFIG config;

    WDF_DRIVER_CONFIG_INIT(&config, SeedEvtDeviceAdd);
    return WdfDriverCreate(DriverObject, RegistryPath, WDF_NO_OBJECT_ATTRIBUTES, &config, WDF_NO_HANDLE);
}

/* ---- the stack's side ----------------------------------------------------------- */

struct watch {
    int arrivals, removals;
    char link[256];
};

static void
on_change(void *ctx, const GUID *class_guid, const char *link, bool arrival)
{
    struct watch *w = ctx;

    assert_true(IsEqualGUID(class_guid, &GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE));
    if (arrival) {
        w->arrivals++;
        snprintf(w->link, sizeof(w->link), "%s", link);
    } else {
        w->removals++;
    }
}

struct seed {
    struct wdf_host *host;
    struct wdf_node *node;
    struct wdf_driver_module *drv;
    struct wdf_notification *notif;
    struct watch watch;
};

static void
seed_setup(struct seed *s)
{
    struct wdf_host_config hc = {.clock = WDF_CLOCK_VIRTUAL};
    struct wdf_pdo_config pc = {.hardware_id = "PCI\\VEN_8086&DEV_10FB", .instance_id = "0000:03:00.0"};

    memset(s, 0, sizeof(*s));
    memset(&seed_trace, 0, sizeof(seed_trace));
    seed_break_query_interface = false;
    assert_int_equal(wdf_host_create(&hc, &s->host), STATUS_SUCCESS);
    assert_int_equal(wdf_pdo_create(s->host, &pc, &s->node), STATUS_SUCCESS);
    assert_int_equal(wdf_driver_load(s->host, "seedpf", SeedDriverEntry, &s->drv), STATUS_SUCCESS);
    assert_int_equal(wdf_interface_register_notification(s->host, &GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE, true,
                                                         on_change, &s->watch, &s->notif),
                     STATUS_SUCCESS);
}

static size_t
interface_count(struct seed *s)
{
    char **links = NULL;
    size_t n = 0;

    assert_int_equal(wdf_interface_list(s->host, &GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE, &links), STATUS_SUCCESS);
    while (links[n] != NULL) {
        n++;
    }
    wdf_interface_list_free(links);
    return n;
}

static void
expect_registered_table(const SRIOV_DEVICE_INTERFACE_STANDARD *t, PDEVICE_CONTEXT ctx)
{
    assert_int_equal(t->Size, sizeof(SRIOV_DEVICE_INTERFACE_STANDARD));
    assert_int_equal(t->Size, 120);
    assert_int_equal(t->Version, 1);
    assert_ptr_equal(t->Context, ctx);
    assert_ptr_equal(t->InterfaceReference, Virtualization_ReferenceInterface);
    assert_ptr_equal(t->InterfaceDereference, Virtualization_DereferenceInterface);
    assert_ptr_equal(t->ReadVfConfig, Virtualization_ReadConfig);
    assert_ptr_equal(t->WriteVfConfig, Virtualization_WriteConfig);
    assert_ptr_equal(t->ReadVfConfigBlock, Virtualization_ReadBlock);
    assert_ptr_equal(t->WriteVfConfigBlock, Virtualization_WriteBlock);
    assert_ptr_equal(t->QueryProbedBars, Virtualization_QueryProbedBars);
    assert_ptr_equal(t->GetVendorAndDevice, Virtualization_GetVendorAndDevice);
    assert_ptr_equal(t->GetDeviceLocation, Virtualization_GetDeviceLocation);
    assert_ptr_equal(t->ResetVf, Virtualization_ResetFunction);
    assert_ptr_equal(t->SetVfPowerState, Virtualization_SetPowerState);
    assert_ptr_equal(t->GetResourceForBar, Virtualization_GetResourceForBar);
    assert_ptr_equal(t->QueryLuid, Virtualization_QueryLuid);
}

/* Every member reached through the table the QI returned, with the device's context. */
static void
call_every_member(const SRIOV_DEVICE_INTERFACE_STANDARD *t, PDEVICE_CONTEXT ctx)
{
    UCHAR buf[VPCI_MAX_READ_WRITE_BLOCK_SIZE];
    CM_PARTIAL_RESOURCE_DESCRIPTOR res;
    ULONG bars[PCI_TYPE0_ADDRESSES];
    USHORT ven, dev;
    UINT16 seg;
    UINT8 bus, fn;
    LUID luid;

    ctx->Calls = 0;
    assert_int_equal(t->ReadVfConfig(t->Context, buf, 1, 0x10, 4), STATUS_SUCCESS);
    assert_int_equal(buf[3], 0x11);
    assert_int_equal(t->WriteVfConfig(t->Context, buf, 1, 0x10, 4), STATUS_SUCCESS);
    assert_int_equal(t->ReadVfConfigBlock(t->Context, 1, 7, buf, sizeof(buf)), STATUS_SUCCESS);
    assert_int_equal(buf[127], 7);
    assert_int_equal(t->WriteVfConfigBlock(t->Context, 1, 7, buf, sizeof(buf)), STATUS_SUCCESS);
    assert_int_equal(t->ResetVf(t->Context, 1), STATUS_SUCCESS);
    assert_int_equal(t->SetVfPowerState(t->Context, 1, PowerDeviceD3, FALSE), STATUS_SUCCESS);
    t->GetDeviceLocation(t->Context, 2, &seg, &bus, &fn);
    assert_int_equal(fn, 0x82);
    t->GetVendorAndDevice(t->Context, 2, &ven, &dev);
    assert_int_equal(ven, 0x8086);
    assert_int_equal(t->QueryProbedBars(t->Context, bars), STATUS_SUCCESS);
    assert_int_equal(t->GetResourceForBar(t->Context, 0, 6, &res), STATUS_INVALID_PARAMETER);
    assert_int_equal(t->QueryLuid(t->Context, &luid), STATUS_SUCCESS);
    assert_int_equal(luid.LowPart, 0x5eed);
    assert_int_equal(ctx->Calls, (1u << 11) - 1); /* all eleven */
}

static void
test_seed_device_add_runs_on_the_runtime(void **state)
{
    SRIOV_DEVICE_INTERFACE_STANDARD got;
    SRIOV_DEVICE_INTERFACE_STANDARD_2 big;
    struct wdf_target *t = NULL;
    PDEVICE_CONTEXT ctx;
    struct seed s;

    (void)state;
    seed_setup(&s);
    assert_int_equal(wdf_node_add_driver(s.node, s.drv, WDF_ROLE_FUNCTION), STATUS_SUCCESS);
    ctx = DeviceGetContext(wdf_node_device(s.node, WDF_ROLE_FUNCTION));
    assert_non_null(ctx);
    assert_int_equal(seed_trace.lines, 0);

    /* Registered at add, enabled only when the device starts (contract.md 3.1 step 1, 7.1). */
    assert_true(wdf_host_idle(s.host, 5000));
    assert_int_equal(interface_count(&s), 0);
    assert_int_equal(s.watch.arrivals, 0);
    assert_int_equal(wdf_pnp_start(s.node), STATUS_SUCCESS);
    assert_true(wdf_host_idle(s.host, 5000));
    assert_int_equal(interface_count(&s), 1);
    assert_int_equal(s.watch.arrivals, 1);
    assert_int_equal(wdf_target_open(s.host, s.watch.link, KernelMode, NULL, NULL, &t), STATUS_SUCCESS);

    /* The VSP's QI for v1: exactly the registered table, InterfaceReference called once. */
    memset(&got, 0xA5, sizeof(got));
    assert_int_equal(
        wdf_target_query_interface(t, &GUID_SRIOV_DEVICE_INTERFACE_STANDARD, (PINTERFACE)&got, sizeof(got), 1, NULL),
        STATUS_SUCCESS);
    expect_registered_table(&got, ctx);
    assert_int_equal(ctx->References, 1);
    call_every_member(&got, ctx);

    /* A v2-sized request still gets the 120-byte v1 table; the tail stays the caller's. */
    memset(&big, 0xA5, sizeof(big));
    assert_int_equal(
        wdf_target_query_interface(t, &GUID_SRIOV_DEVICE_INTERFACE_STANDARD, (PINTERFACE)&big, sizeof(big), 2, NULL),
        STATUS_SUCCESS);
    expect_registered_table((const SRIOV_DEVICE_INTERFACE_STANDARD *)&big, ctx);
    assert_int_equal(((const UCHAR *)&big)[sizeof(got)], 0xA5);
    assert_int_equal(ctx->References, 2);

    /* Too small or too old: STATUS_INVALID_BUFFER_SIZE and no reference (contract.md 1.5). */
    assert_int_equal(wdf_target_query_interface(t, &GUID_SRIOV_DEVICE_INTERFACE_STANDARD, (PINTERFACE)&got,
                                                sizeof(got) - 8, 1, NULL),
                     STATUS_INVALID_BUFFER_SIZE);
    assert_int_equal(
        wdf_target_query_interface(t, &GUID_SRIOV_DEVICE_INTERFACE_STANDARD, (PINTERFACE)&got, sizeof(got), 0, NULL),
        STATUS_INVALID_BUFFER_SIZE);
    /* Not exported by this driver. */
    assert_int_equal(
        wdf_target_query_interface(t, &GUID_MITIGABLE_DEVICE_INTERFACE, (PINTERFACE)&big, sizeof(big), 1, NULL),
        STATUS_NOT_SUPPORTED);
    assert_int_equal(ctx->References, 2);

    got.InterfaceDereference(got.Context);
    big.InterfaceDereference(big.Context);
    assert_int_equal(ctx->References, 0);
    wdf_target_close(t);

    /* Removal takes the interface away and tells the watcher. */
    assert_int_equal(wdf_pnp_remove_device(s.node), STATUS_SUCCESS);
    assert_true(wdf_host_idle(s.host, 5000));
    assert_int_equal(interface_count(&s), 0);
    assert_int_equal(s.watch.removals, 1);
    assert_int_equal(seed_trace.lines, 0);
    assert_int_equal(wdf_verifier_count(s.host, 0), 0);
    wdf_interface_unregister_notification(s.notif);
    wdf_host_destroy(s.host);
}

static void
test_seed_error_path_is_traced_and_undone(void **state)
{
    struct seed s;

    (void)state;
    seed_setup(&s);
    seed_break_query_interface = true;
    assert_int_equal(wdf_node_add_driver(s.node, s.drv, WDF_ROLE_FUNCTION), STATUS_INVALID_PARAMETER);
    assert_int_equal(seed_trace.lines, 1);
    assert_int_equal(seed_trace.level, TRACE_LEVEL_ERROR);
    assert_string_equal(seed_trace.text, "WdfDeviceAddQueryInterface failed: STATUS_INVALID_PARAMETER");
    /* The failed add left nothing behind: no device, and the same node takes the driver again. */
    assert_null(wdf_node_device(s.node, WDF_ROLE_FUNCTION));
    seed_break_query_interface = false;
    assert_int_equal(wdf_node_add_driver(s.node, s.drv, WDF_ROLE_FUNCTION), STATUS_SUCCESS);
    assert_int_equal(wdf_pnp_start(s.node), STATUS_SUCCESS);
    assert_true(wdf_host_idle(s.host, 5000));
    assert_int_equal(interface_count(&s), 1); /* one instance, not a leftover of the failed add */
    assert_int_equal(s.watch.arrivals, 1);
    assert_int_equal(wdf_verifier_count(s.host, 0), 0);
    wdf_interface_unregister_notification(s.notif);
    wdf_host_destroy(s.host);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_device_add_runs_on_the_runtime),
        cmocka_unit_test(test_seed_error_path_is_traced_and_undone),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
