/*
 * tests/abi/wdk_usage.c - WDK-style driver code that must compile as C11 and as C++.
 *
 * Not a test program (check-headers.sh compiles it with -fsyntax-only): it uses
 * what a driver ported from the WDK uses of the public headers - SAL annotations
 * and function classes on definitions, DEFINE_GUID, a typed context, the *_INIT
 * initialisers, CTL_CODE, a filled SRIOV table cast to PINTERFACE, a KEVENT, the
 * guest's flexible VPCI_WRITE_BLOCK_INPUT - and re-states a few layouts with the
 * language's own static assertion, so a header construct that only one of the two
 * languages accepts is caught.
 */
#include "pcivirt/bus.h"
#include "pcivirt/error.h"
#include "pcivirt/pcivirt.h"
#include "pcivirt/vpci.h"
#include "pcivirt/vpci_proto.h"
#include "pcivirt/wdf.h"

#ifdef __cplusplus
#define USAGE_ASSERT(c, m) static_assert(c, m)
#else
#define USAGE_ASSERT(c, m) _Static_assert(c, m)
#endif

USAGE_ASSERT(sizeof(SRIOV_DEVICE_INTERFACE_STANDARD) == 120, "v1 table");
USAGE_ASSERT(sizeof(SRIOV_DEVICE_INTERFACE_STANDARD_2) == 144, "v2 table");
USAGE_ASSERT(sizeof(CM_PARTIAL_RESOURCE_DESCRIPTOR) == 20, "pack(4)");
USAGE_ASSERT(sizeof(VPCI_WRITE_BLOCK_INPUT) == 8, "8 + n");
USAGE_ASSERT(IOCTL_SRIOV_ATTACH == 0x0022604Cu, "method ignored");

/* {0B5E6C1A-2F3D-4E5F-8A9B-0C1D2E3F4A5B} */
DEFINE_GUID(GUID_USAGE_PRIVATE, 0x0b5e6c1a, 0x2f3d, 0x4e5f, 0x8a, 0x9b, 0x0c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b);

#define IOCTL_USAGE_PRIVATE CTL_CODE(FILE_DEVICE_UNKNOWN, 0x901, METHOD_BUFFERED, FILE_READ_ACCESS)

typedef struct _USAGE_CONTEXT {
    KEVENT Unblock;
    LUID Luid;
} USAGE_CONTEXT, *PUSAGE_CONTEXT;

WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(USAGE_CONTEXT, UsageGetContext)

#ifdef __cplusplus
extern "C" {
#endif
EVT_WDF_DRIVER_DEVICE_ADD UsageEvtDeviceAdd;
EVT_WDF_IO_QUEUE_IO_DEVICE_CONTROL UsageEvtIoDeviceControl;
#ifdef __cplusplus
}
#endif
static SRIOV_QUERY_LUID UsageQueryLuid;
static SRIOV_GET_VENDOR_AND_DEVICE_IDS UsageGetVendorAndDevice;

_Use_decl_annotations_ static NTSTATUS
UsageQueryLuid(PVOID Context, PLUID Luid)
{
    *Luid = ((PUSAGE_CONTEXT)Context)->Luid;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ static VOID
UsageGetVendorAndDevice(PVOID Context, USHORT VfIndex, PUSHORT VendorId, PUSHORT DeviceId)
{
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(VfIndex);
    *VendorId = 0x8086;
    *DeviceId = 0x10ed;
}

/* The annotations WDK sample code puts on helpers, all defined away by nt.h. */
_Must_inspect_result_
_IRQL_requires_max_(PASSIVE_LEVEL) _Success_(return >= 0) static NTSTATUS
    UsageCopyBlock(_Out_writes_bytes_to_opt_(Capacity, *Copied) PVOID Destination, _In_ ULONG Capacity,
                   _In_reads_bytes_opt_(Length) const VOID *Source,
                   _In_range_(1, VPCI_MAX_READ_WRITE_BLOCK_SIZE) ULONG Length,
                   _Out_opt_ _Deref_out_range_(0, Capacity) PULONG Copied,
                   _Outptr_opt_result_maybenull_ _At_(*Note, _Post_satisfies_(1)) const char **Note)
{
    if (Copied != NULL) {
        *Copied = 0;
    }
    if (Note != NULL) {
        *Note = NULL;
    }
    if (Destination == NULL || Source == NULL || Length > Capacity) {
        return STATUS_BUFFER_TOO_SMALL;
    }
    RtlCopyMemory(Destination, Source, Length);
    if (Copied != NULL) {
        *Copied = Length;
    }
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ VOID
UsageEvtIoDeviceControl(WDFQUEUE Queue, WDFREQUEST Request, size_t OutputBufferLength, size_t InputBufferLength,
                        ULONG IoControlCode)
{
    PSRIOV_PROXY_QUERY_LUID_OUTPUT out = NULL;
    NTSTATUS status = STATUS_INVALID_DEVICE_REQUEST;

    UNREFERENCED_PARAMETER(OutputBufferLength);
    UNREFERENCED_PARAMETER(InputBufferLength);
    if (IoControlCode == IOCTL_SRIOV_PROXY_QUERY_LUID) {
        status = WdfRequestRetrieveOutputBuffer(Request, sizeof(*out), (PVOID *)&out, NULL);
        if (NT_SUCCESS(status)) {
            out->DeviceLuid = UsageGetContext(WdfIoQueueGetDevice(Queue))->Luid;
            WdfRequestCompleteWithInformation(Request, STATUS_SUCCESS, sizeof(*out));
            return;
        }
    } else if (IoControlCode == IOCTL_USAGE_PRIVATE) {
        UCHAR block[VPCI_MAX_READ_WRITE_BLOCK_SIZE] = {0};
        ULONG copied;

        status = UsageCopyBlock(block, sizeof(block), &IoControlCode, sizeof(IoControlCode), &copied, NULL);
    }
    WdfRequestComplete(Request, status);
}

_Use_decl_annotations_ NTSTATUS
UsageEvtDeviceAdd(WDFDRIVER Driver, PWDFDEVICE_INIT DeviceInit)
{
    WDF_OBJECT_ATTRIBUTES attributes;
    WDF_QUERY_INTERFACE_CONFIG qiConfig;
    WDF_IO_QUEUE_CONFIG queueConfig;
    SRIOV_DEVICE_INTERFACE_STANDARD sriovInterface;
    PUSAGE_CONTEXT deviceContext;
    WDFDEVICE fdo;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(Driver);
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, USAGE_CONTEXT);
    status = WdfDeviceCreate(&DeviceInit, &attributes, &fdo);
    if (!NT_SUCCESS(status)) {
        goto Cleanup;
    }
    deviceContext = UsageGetContext(fdo);
    KeInitializeEvent(&deviceContext->Unblock, NotificationEvent, FALSE);
    RtlZeroMemory(&sriovInterface, sizeof(sriovInterface));
    sriovInterface.Size = sizeof(sriovInterface);
    sriovInterface.Version = 1;
    sriovInterface.Context = deviceContext;
    sriovInterface.InterfaceReference = WdfDeviceInterfaceReferenceNoOp;
    sriovInterface.InterfaceDereference = WdfDeviceInterfaceDereferenceNoOp;
    sriovInterface.GetVendorAndDevice = UsageGetVendorAndDevice;
    sriovInterface.QueryLuid = UsageQueryLuid;
    WDF_QUERY_INTERFACE_CONFIG_INIT(&qiConfig, (PINTERFACE)&sriovInterface, &GUID_SRIOV_DEVICE_INTERFACE_STANDARD,
                                    NULL);
    status = WdfDeviceAddQueryInterface(fdo, &qiConfig);
    if (!NT_SUCCESS(status)) {
        goto Cleanup;
    }
    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&queueConfig, WdfIoQueueDispatchParallel);
    queueConfig.EvtIoDeviceControl = UsageEvtIoDeviceControl;
    status = WdfIoQueueCreate(fdo, &queueConfig, WDF_NO_OBJECT_ATTRIBUTES, WDF_NO_HANDLE);
    if (!NT_SUCCESS(status)) {
        goto Cleanup;
    }
    status = WdfDeviceCreateDeviceInterface(fdo, &GUID_USAGE_PRIVATE, NULL);

Cleanup:
    return status;
}
