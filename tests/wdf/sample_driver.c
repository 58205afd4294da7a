/*
 * tests/wdf/sample_driver.c - a minimal KMDF-style driver built as a loadable
 * module (tests/wdf/targets.cmake), to test the dlopen path of the runtime.
 *
 * It exports only DriverEntry.  Every Wdf* symbol it uses is left undefined in
 * the module and resolved at dlopen time from the process: the test executables
 * are linked with ENABLE_EXPORTS, as is the pcivirt command (docs/RUNTIME.md,
 * "Driver modules").  Its one IOCTL answers a magic number and the resource count
 * it saw in EvtDevicePrepareHardware, so the test can tell that this module - and
 * not a linked-in driver - served the request.
 */
#include "pcivirt/wdf.h"

/* {5B0C1D7E-8E0F-4E53-9A3C-2D6F4B1A7E10}: the sample driver's interface class. */
DEFINE_GUID(GUID_SAMPLE_CLASS, 0x5b0c1d7e, 0x8e0f, 0x4e53, 0x9a, 0x3c, 0x2d, 0x6f, 0x4b, 0x1a, 0x7e, 0x10);

#define SAMPLE_IOCTL_HELLO CTL_CODE(FILE_DEVICE_UNKNOWN, 0x950, METHOD_BUFFERED, FILE_READ_DATA)
#define SAMPLE_MAGIC 0x4c504d53u

typedef struct _SAMPLE_CONTEXT {
    ULONG resources;
} SAMPLE_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(SAMPLE_CONTEXT, SampleGetContext)

__attribute__((visibility("default"))) DRIVER_INITIALIZE DriverEntry;

static EVT_WDF_DEVICE_PREPARE_HARDWARE SampleEvtPrepareHardware;
static EVT_WDF_IO_QUEUE_IO_DEVICE_CONTROL SampleEvtIoDeviceControl;
static EVT_WDF_DRIVER_DEVICE_ADD SampleEvtDeviceAdd;

static NTSTATUS
SampleEvtPrepareHardware(WDFDEVICE Device, WDFCMRESLIST ResourcesRaw, WDFCMRESLIST ResourcesTranslated)
{
    UNREFERENCED_PARAMETER(ResourcesRaw);
    SampleGetContext(Device)->resources = WdfCmResourceListGetCount(ResourcesTranslated);
    return STATUS_SUCCESS;
}

static VOID
SampleEvtIoDeviceControl(WDFQUEUE Queue, WDFREQUEST Request, size_t OutputBufferLength, size_t InputBufferLength,
                         ULONG IoControlCode)
{
    ULONG *out;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(OutputBufferLength);
    UNREFERENCED_PARAMETER(InputBufferLength);
    if (IoControlCode != SAMPLE_IOCTL_HELLO) {
        WdfRequestComplete(Request, STATUS_INVALID_DEVICE_REQUEST);
        return;
    }
    status = WdfRequestRetrieveOutputBuffer(Request, 2 * sizeof(ULONG), (PVOID *)&out, NULL);
    if (!NT_SUCCESS(status)) {
        WdfRequestComplete(Request, status);
        return;
    }
    out[0] = SAMPLE_MAGIC;
    out[1] = SampleGetContext(WdfIoQueueGetDevice(Queue))->resources;
    WdfRequestCompleteWithInformation(Request, STATUS_SUCCESS, 2 * sizeof(ULONG));
}

static NTSTATUS
SampleEvtDeviceAdd(WDFDRIVER Driver, PWDFDEVICE_INIT DeviceInit)
{
    WDF_PNPPOWER_EVENT_CALLBACKS pnp;
    WDF_OBJECT_ATTRIBUTES attributes;
    WDF_IO_QUEUE_CONFIG queueConfig;
    WDFDEVICE device;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(Driver);
    WDF_PNPPOWER_EVENT_CALLBACKS_INIT(&pnp);
    pnp.EvtDevicePrepareHardware = SampleEvtPrepareHardware;
    WdfDeviceInitSetPnpPowerEventCallbacks(DeviceInit, &pnp);
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, SAMPLE_CONTEXT);
    status = WdfDeviceCreate(&DeviceInit, &attributes, &device);
    if (!NT_SUCCESS(status)) {
        return status;
    }
    status = WdfDeviceCreateDeviceInterface(device, &GUID_SAMPLE_CLASS, NULL);
    if (!NT_SUCCESS(status)) {
        return status;
    }
    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&queueConfig, WdfIoQueueDispatchParallel);
    queueConfig.EvtIoDeviceControl = SampleEvtIoDeviceControl;
    return WdfIoQueueCreate(device, &queueConfig, WDF_NO_OBJECT_ATTRIBUTES, WDF_NO_HANDLE);
}

NTSTATUS
DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    WDF_DRIVER_CONFIG config;

    WDF_DRIVER_CONFIG_INIT(&config, SampleEvtDeviceAdd);
    return WdfDriverCreate(DriverObject, RegistryPath, WDF_NO_OBJECT_ATTRIBUTES, &config, WDF_NO_HANDLE);
}
