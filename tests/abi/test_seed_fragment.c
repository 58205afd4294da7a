/*
 * tests/abi/test_seed_fragment.c - WDK-style PF code compiles against our headers.
 *
 * A fragment shaped like the EvtDriverDeviceAdd of the pcivirt.h reference page:
 * callbacks declared through the header's function typedefs (with SAL
 * annotations), the table zeroed, Size/Version/Context set and all eleven v1
 * members filled by name (the page's excerpt shows ten; contract.md 7.0 says the
 * example fills every pointer, GetResourceForBar included).  test_seed_driver.c
 * runs the same device-add on the runtime.  The test then calls every member through the table
 * and checks each reached its own function with the arguments in the contract's
 * order (contract.md 6).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pcivirt/pcivirt.h"

typedef struct _DEVICE_CONTEXT {
    ULONG References;
    ULONG Calls;
    USHORT LastVf;
} DEVICE_CONTEXT, *PDEVICE_CONTEXT;

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
    ((PDEVICE_CONTEXT)Context)->References++;
}

static VOID
Virtualization_DereferenceInterface(_In_ PVOID Context)
{
    ((PDEVICE_CONTEXT)Context)->References--;
}

_Use_decl_annotations_ static NTSTATUS
Virtualization_ReadConfig(PVOID Context, PVOID Data, USHORT VfIndex, ULONG Offset, ULONG Length)
{
    PDEVICE_CONTEXT ctx = Context;

    ctx->Calls |= 1u << 0;
    ctx->LastVf = VfIndex;
    memset(Data, (int)Offset, Length);
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ static NTSTATUS
Virtualization_WriteConfig(PVOID Context, const VOID *Data, USHORT VfIndex, ULONG Offset, ULONG Length)
{
    PDEVICE_CONTEXT ctx = Context;

    ctx->Calls |= 1u << 1;
    ctx->LastVf = VfIndex;
    return (Length == 4 && Offset == 0x10 && ((const UCHAR *)Data)[0] == 0xAB) ? STATUS_SUCCESS
                                                                               : STATUS_INVALID_PARAMETER;
}

_Use_decl_annotations_ static NTSTATUS
Virtualization_ReadBlock(PVOID Context, USHORT VfIndex, ULONG BlockId, PVOID Buffer, ULONG Length)
{
    PDEVICE_CONTEXT ctx = Context;

    ctx->Calls |= 1u << 2;
    ctx->LastVf = VfIndex;
    memset(Buffer, (int)BlockId, Length);
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ static NTSTATUS
Virtualization_WriteBlock(PVOID Context, USHORT VfIndex, ULONG BlockId, PVOID Buffer, ULONG Length)
{
    PDEVICE_CONTEXT ctx = Context;

    ctx->Calls |= 1u << 3;
    ctx->LastVf = VfIndex;
    return (BlockId == 7 && Length == VPCI_MAX_READ_WRITE_BLOCK_SIZE && Buffer != NULL) ? STATUS_SUCCESS
                                                                                        : STATUS_INVALID_PARAMETER;
}

_Use_decl_annotations_ static NTSTATUS
Virtualization_ResetFunction(PVOID Context, USHORT VfIndex)
{
    PDEVICE_CONTEXT ctx = Context;

    ctx->Calls |= 1u << 4;
    ctx->LastVf = VfIndex;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ static NTSTATUS
Virtualization_SetPowerState(PVOID Context, USHORT VfIndex, DEVICE_POWER_STATE PowerState, BOOLEAN Wake)
{
    PDEVICE_CONTEXT ctx = Context;

    ctx->Calls |= 1u << 5;
    ctx->LastVf = VfIndex;
    if (PowerState <= PowerDeviceUnspecified || PowerState >= PowerDeviceMaximum ||
        (PowerState == PowerDeviceD0 && Wake)) {
        return STATUS_INVALID_PARAMETER;
    }
    return STATUS_SUCCESS;
}

_Use_decl_annotations_ static VOID
Virtualization_GetDeviceLocation(PVOID Context, USHORT VfIndex, PUINT16 SegmentNumber, PUINT8 BusNumber,
                                 PUINT8 FunctionNumber)
{
    PDEVICE_CONTEXT ctx = Context;

    ctx->Calls |= 1u << 6;
    ctx->LastVf = VfIndex;
    *SegmentNumber = 0;
    *BusNumber = 1;
    *FunctionNumber = (UINT8)(0x80 + 2 * VfIndex);
}

_Use_decl_annotations_ static VOID
Virtualization_GetVendorAndDevice(PVOID Context, USHORT VfIndex, PUSHORT VendorId, PUSHORT DeviceId)
{
    PDEVICE_CONTEXT ctx = Context;

    ctx->Calls |= 1u << 7;
    ctx->LastVf = VfIndex;
    *VendorId = 0x8086;
    *DeviceId = 0x10ed;
}

_Use_decl_annotations_ static NTSTATUS
Virtualization_QueryProbedBars(PVOID Context, PULONG BaseRegisterValues)
{
    PDEVICE_CONTEXT ctx = Context;

    ctx->Calls |= 1u << 8;
    for (int i = 0; i < PCI_TYPE0_ADDRESSES; i++) {
        BaseRegisterValues[i] = 0;
    }
    BaseRegisterValues[0] = 0xFFFFC00C;
    BaseRegisterValues[1] = 0xFFFFFFFF;
    return STATUS_SUCCESS;
}

/* One 16 KiB VF BAR0 slice per VF from a 64-bit aperture, as contract.md 6.9 computes it. */
_Use_decl_annotations_ static NTSTATUS
Virtualization_GetResourceForBar(PVOID Context, USHORT VfIndex, USHORT BarIndex,
                                 PCM_PARTIAL_RESOURCE_DESCRIPTOR Resource)
{
    PDEVICE_CONTEXT ctx = Context;

    ctx->Calls |= 1u << 9;
    ctx->LastVf = VfIndex;
    if (BarIndex >= PCI_TYPE0_ADDRESSES) {
        return STATUS_INVALID_PARAMETER;
    }
    RtlZeroMemory(Resource, sizeof(*Resource));
    return RtlCmEncodeMemIoResource(Resource, CmResourceTypeMemory, 0x4000, 0xC0000000ull + 0x4000ull * VfIndex);
}

_Use_decl_annotations_ static NTSTATUS
Virtualization_QueryLuid(PVOID Context, PLUID Luid)
{
    PDEVICE_CONTEXT ctx = Context;

    ctx->Calls |= 1u << 10;
    Luid->LowPart = 0x1234;
    Luid->HighPart = 0;
    return STATUS_SUCCESS;
}

/* The shape of the reference page's EvtDriverDeviceAdd, minus the WDF calls. */
static NTSTATUS
fill_interface(PDEVICE_CONTEXT deviceContext, SRIOV_DEVICE_INTERFACE_STANDARD *out)
{
    SRIOV_DEVICE_INTERFACE_STANDARD sriovInterface;

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
    *out = sriovInterface;
    return STATUS_SUCCESS;
}

static void
test_fragment_fills_and_dispatches(void **state)
{
    DEVICE_CONTEXT ctx = {0};
    SRIOV_DEVICE_INTERFACE_STANDARD t;
    UCHAR buf[VPCI_MAX_READ_WRITE_BLOCK_SIZE];
    ULONG bars[PCI_TYPE0_ADDRESSES];
    UINT16 seg;
    UINT8 bus, fn;
    USHORT ven, dev;
    CM_PARTIAL_RESOURCE_DESCRIPTOR res;
    ULONGLONG start = 0;
    LUID luid;

    (void)state;
    assert_int_equal(fill_interface(&ctx, &t), STATUS_SUCCESS);
    assert_int_equal(t.Size, 120);
    assert_ptr_equal(t.Context, &ctx);

    t.InterfaceReference(t.Context);
    assert_int_equal(ctx.References, 1);

    assert_int_equal(t.ReadVfConfig(t.Context, buf, 3, 0x2C, 4), STATUS_SUCCESS);
    assert_int_equal(buf[3], 0x2C);
    assert_int_equal(ctx.LastVf, 3);
    buf[0] = 0xAB;
    assert_int_equal(t.WriteVfConfig(t.Context, buf, 4, 0x10, 4), STATUS_SUCCESS);
    assert_int_equal(ctx.LastVf, 4);
    assert_int_equal(t.ReadVfConfigBlock(t.Context, 5, 9, buf, 16), STATUS_SUCCESS);
    assert_int_equal(buf[15], 9);
    assert_int_equal(ctx.LastVf, 5);
    assert_int_equal(t.WriteVfConfigBlock(t.Context, 6, 7, buf, 128), STATUS_SUCCESS);
    assert_int_equal(t.ResetVf(t.Context, 7), STATUS_SUCCESS);
    assert_int_equal(t.SetVfPowerState(t.Context, 1, PowerDeviceD0, TRUE), STATUS_INVALID_PARAMETER);
    assert_int_equal(t.SetVfPowerState(t.Context, 1, PowerDeviceD3, TRUE), STATUS_SUCCESS);
    t.GetDeviceLocation(t.Context, 2, &seg, &bus, &fn);
    assert_int_equal(fn, 0x84);
    t.GetVendorAndDevice(t.Context, 2, &ven, &dev);
    assert_int_equal(ven, 0x8086);
    assert_int_equal(t.QueryProbedBars(t.Context, bars), STATUS_SUCCESS);
    assert_int_equal(bars[0] & 0x6, 0x4); /* 64-bit memory BAR per contract.md 6.4 */
    assert_int_equal(t.GetResourceForBar(t.Context, 3, 0, &res), STATUS_SUCCESS);
    assert_int_equal(ctx.LastVf, 3);
    assert_int_equal(RtlCmDecodeMemIoResource(&res, &start), 0x4000);
    assert_int_equal(start, 0xC000C000ull);
    assert_int_equal(t.GetResourceForBar(t.Context, 3, PCI_TYPE0_ADDRESSES, &res), STATUS_INVALID_PARAMETER);
    assert_int_equal(t.QueryLuid(t.Context, &luid), STATUS_SUCCESS);
    assert_int_equal(ctx.Calls, (1u << 11) - 1); /* all eleven members reached */

    t.InterfaceDereference(t.Context);
    assert_int_equal(ctx.References, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fragment_fills_and_dispatches),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
