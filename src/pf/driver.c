/*
 * pf/driver.c - DriverEntry and EvtDriverDeviceAdd of the reference PF driver.
 *
 * The driver object carries the service's settings (PF_DRIVER_CONTEXT): whether
 * it runs as the function driver or as a lower filter under a port driver (the
 * seed allows both), how many VFs to enable, and the safety timeout of its PnP
 * waits.  Like an INF's LowerFilters entry, the role comes from the service
 * name: a service whose name ends in "Filter" (any case) attaches as a lower
 * filter.  The driver carries no switch to misbehave: the broken drivers the
 * conformance suite must reject are written apart from it (tests/pf/mini_pf.h).
 */
#include <ctype.h>
#include <string.h>

#include "pf/driver.h"
#include "pf/pf.h"

/* 120 s on the host clock: longer than any VSP's own timeout, shorter than forever. */
#define PF_DEFAULT_WAIT_TIMEOUT WDF_REL_TIMEOUT_IN_SEC(120)

static bool
service_is_filter(PCUNICODE_STRING RegistryPath)
{
    static const char suffix[] = "filter";
    size_t n, k = sizeof(suffix) - 1;

    if (RegistryPath == NULL || RegistryPath->Buffer == NULL) {
        return false;
    }
    n = RegistryPath->Length / sizeof(WCHAR);
    if (n < k) {
        return false;
    }
    for (size_t i = 0; i < k; i++) {
        WCHAR c = RegistryPath->Buffer[n - k + i];

        if (c > 0x7F || tolower((int)c) != suffix[i]) {
            return false;
        }
    }
    return true;
}

NTSTATUS
PfDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    WDF_DRIVER_CONFIG config;
    WDF_OBJECT_ATTRIBUTES attributes;
    WDFDRIVER driver;
    PPF_DRIVER_CONTEXT ctx;
    NTSTATUS status;

    WDF_DRIVER_CONFIG_INIT(&config, PfEvtDeviceAdd);
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, PF_DRIVER_CONTEXT);
    status = WdfDriverCreate(DriverObject, RegistryPath, &attributes, &config, &driver);
    if (!NT_SUCCESS(status)) {
        return status;
    }
    ctx = PfDriverGetContext(driver);
    ctx->LowerFilter = service_is_filter(RegistryPath);
    ctx->WaitTimeout = PF_DEFAULT_WAIT_TIMEOUT;
    return STATUS_SUCCESS;
}

/*
 * EvtDriverDeviceAdd (the seed's sequence, contract.md 3.1): create the device,
 * register GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE, expose the SR-IOV and
 * mitigable tables, create the IOCTL queues.  All of it is in PfDeviceCreate.
 */
NTSTATUS
PfEvtDeviceAdd(WDFDRIVER Driver, PWDFDEVICE_INIT DeviceInit)
{
    PPF_DRIVER_CONTEXT ctx = PfDriverGetContext(Driver);

    if (ctx->LowerFilter) {
        WdfFdoInitSetFilter(DeviceInit);
    }
    return PfDeviceCreate(DeviceInit, ctx);
}
