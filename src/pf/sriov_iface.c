/*
 * pf/sriov_iface.c - the SRIOV_DEVICE_INTERFACE_STANDARD(_2) callbacks (contract.md 6).
 *
 * Every callback validates first, in the order of contract.md 6's common rules
 * (NULL outputs, VfIndex against the NumVFs enabled now, then the callback's own
 * bounds), with the status the contract assigns; the argument orders are the
 * header's (ReadVfConfig/WriteVfConfig put Data before VfIndex, the block
 * callbacks put VfIndex second).  Callbacks returning VOID always write their
 * outputs.  The work itself is done by the policy modules: cfgview (config
 * space), blocks (config blocks), resource (BAR and LUID arithmetic).
 *
 * Context is the PF_DEVICE_CONTEXT.  The reference/dereference pair is the
 * runtime's counted one, which keeps the device context - and so this table's
 * Context - alive until the last importer lets go (contract.md 7.6); after
 * removal the callbacks answer STATUS_NO_SUCH_DEVICE.
 */
#include <stdatomic.h>
#include <string.h>

#include "pf/driver.h"
#include "util/le.h"

static SRIOV_READ_CONFIG PfReadVfConfig;
static SRIOV_WRITE_CONFIG PfWriteVfConfig;
static SRIOV_READ_BLOCK PfReadVfConfigBlock;
static SRIOV_WRITE_BLOCK PfWriteVfConfigBlock;
static SRIOV_QUERY_PROBED_BARS PfQueryProbedBars;
static SRIOV_QUERY_PROBED_BARS_2 PfQueryProbedBars2;
static SRIOV_GET_VENDOR_AND_DEVICE_IDS PfGetVendorAndDevice;
static SRIOV_GET_DEVICE_LOCATION PfGetDeviceLocation;
static SRIOV_RESET_FUNCTION PfResetVf;
static SRIOV_SET_POWER_STATE PfSetVfPowerState;
static SRIOV_GET_RESOURCE_FOR_BAR PfGetResourceForBar;
static SRIOV_QUERY_LUID PfQueryLuid;
static SRIOV_QUERY_VF_LUID PfQueryVfLuid;
static SRIOV_QUERY_LUID_VF PfQueryLuidVf;

static VOID
PfInterfaceReference(PVOID Context)
{
    PPF_DEVICE_CONTEXT ctx = Context;

    __atomic_add_fetch(&ctx->InterfaceRefs, 1, __ATOMIC_SEQ_CST);
    wdf_interface_reference(Context);
}

static VOID
PfInterfaceDereference(PVOID Context)
{
    PPF_DEVICE_CONTEXT ctx = Context;

    __atomic_sub_fetch(&ctx->InterfaceRefs, 1, __ATOMIC_SEQ_CST);
    wdf_interface_dereference(Context);
}

/* Enter the started state and check @VfIndex; on failure nothing is held. */
static NTSTATUS
enter_vf(PPF_DEVICE_CONTEXT Ctx, USHORT VfIndex, NTSTATUS BadVf)
{
    NTSTATUS st = PfHwEnter(Ctx);

    if (NT_SUCCESS(st) && VfIndex >= Ctx->NumVfs) {
        PfHwLeave(Ctx);
        return BadVf;
    }
    return st;
}

/* ---- config space (6.1, 6.2) ----------------------------------------------------- */

static NTSTATUS
PfReadVfConfig(PVOID Context, PVOID Data, USHORT VfIndex, ULONG Offset, ULONG Length)
{
    PPF_DEVICE_CONTEXT ctx = Context;
    NTSTATUS st;

    if (Data == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    st = enter_vf(ctx, VfIndex, STATUS_INVALID_PARAMETER);
    if (NT_SUCCESS(st)) {
        st = pf_cfgview_read(ctx->CfgView, VfIndex, Offset, Data, Length);
        PfHwLeave(ctx);
    }
    return st;
}

static NTSTATUS
PfWriteVfConfig(PVOID Context, const VOID *Data, USHORT VfIndex, ULONG Offset, ULONG Length)
{
    PPF_DEVICE_CONTEXT ctx = Context;
    NTSTATUS st;

    if (Data == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    st = enter_vf(ctx, VfIndex, STATUS_INVALID_PARAMETER);
    if (NT_SUCCESS(st)) {
        st = pf_cfgview_write(ctx->CfgView, VfIndex, Offset, Data, Length);
        PfHwLeave(ctx);
    }
    return st;
}

/* ---- config blocks (6.3) ----------------------------------------------------------- */

/* Block 0 is a view of the device's per-VF registers: the registers are the truth. */
static NTSTATUS
read_vf_info(PPF_DEVICE_CONTEXT Ctx, USHORT VfIndex, UCHAR *Buffer, ULONG Length)
{
    UCHAR info[PF_BLOCK_VF_INFO_LEN] = {0};
    uint32_t q = 0, r = 0;

    if (pf_hw_get_vf_settings(&Ctx->Hw, VfIndex, info, &q, &r) != 0) {
        return pf_blocks_read(Ctx->Blocks, VfIndex, PF_BLOCK_ID_VF_INFO, Buffer, Length);
    }
    le32_put(info + 8, q);
    le32_put(info + 12, r);
    memset(Buffer, 0, Length);
    memcpy(Buffer, info, Length < sizeof(info) ? Length : sizeof(info));
    return STATUS_SUCCESS;
}

static bool
block_length_ok(ULONG Length)
{
    /* 1..128 (contract.md 6.3, 10.4). */
    return Length >= 1 && Length <= VPCI_MAX_READ_WRITE_BLOCK_SIZE;
}

static NTSTATUS
PfReadVfConfigBlock(PVOID Context, USHORT VfIndex, ULONG BlockId, PVOID Buffer, ULONG Length)
{
    PPF_DEVICE_CONTEXT ctx = Context;
    NTSTATUS st;

    if (Buffer == NULL || !block_length_ok(Length)) {
        return STATUS_INVALID_PARAMETER;
    }
    st = enter_vf(ctx, VfIndex, STATUS_INVALID_PARAMETER);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    if (BlockId == PF_BLOCK_ID_VF_INFO) {
        st = read_vf_info(ctx, VfIndex, Buffer, Length);
    } else {
        st = pf_blocks_read(ctx->Blocks, VfIndex, BlockId, Buffer, Length);
    }
    PfHwLeave(ctx);
    return st;
}

static NTSTATUS
PfWriteVfConfigBlock(PVOID Context, USHORT VfIndex, ULONG BlockId, PVOID Buffer, ULONG Length)
{
    PPF_DEVICE_CONTEXT ctx = Context;
    NTSTATUS st;

    if (Buffer == NULL || !block_length_ok(Length)) {
        return STATUS_INVALID_PARAMETER;
    }
    st = enter_vf(ctx, VfIndex, STATUS_INVALID_PARAMETER);
    if (NT_SUCCESS(st)) {
        st = pf_blocks_write(ctx->Blocks, VfIndex, BlockId, Buffer, Length);
        PfHwLeave(ctx);
    }
    return st;
}

/* ---- identity and location (6.4-6.6) --------------------------------------------- */

static NTSTATUS
probed(PPF_DEVICE_CONTEXT Ctx, PULONG Values)
{
    pf_probed_bars(Ctx->Hw.vf_bar_regs, Ctx->Hw.vf_bar_size, Values);
    return STATUS_SUCCESS;
}

static NTSTATUS
PfQueryProbedBars(PVOID Context, PULONG BaseRegisterValues)
{
    PPF_DEVICE_CONTEXT ctx = Context;
    NTSTATUS st;

    if (BaseRegisterValues == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    st = PfHwEnter(ctx);
    if (NT_SUCCESS(st)) {
        st = probed(ctx, BaseRegisterValues);
        PfHwLeave(ctx);
    }
    return st;
}

static NTSTATUS
PfQueryProbedBars2(PVOID Context, USHORT VfIndex, PULONG BaseRegisterValues)
{
    PPF_DEVICE_CONTEXT ctx = Context;
    NTSTATUS st;

    if (BaseRegisterValues == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    st = enter_vf(ctx, VfIndex, STATUS_INVALID_PARAMETER);
    if (NT_SUCCESS(st)) {
        st = probed(ctx, BaseRegisterValues); /* every VF of this device is the same */
        PfHwLeave(ctx);
    }
    return st;
}

static VOID
PfGetVendorAndDevice(PVOID Context, USHORT VfIndex, PUSHORT VendorId, PUSHORT DeviceId)
{
    PPF_DEVICE_CONTEXT ctx = Context;
    USHORT v = 0xFFFF, d = 0xFFFF; /* "no device" for a bad VfIndex (contract.md 6.5 [I]) */

    if (NT_SUCCESS(enter_vf(ctx, VfIndex, STATUS_INVALID_PARAMETER))) {
        v = ctx->Hw.vendor_id;    /* the PF's Vendor ID */
        d = ctx->Hw.vf_device_id; /* the SR-IOV capability's VF Device ID */
        PfHwLeave(ctx);
    }
    if (VendorId != NULL) {
        *VendorId = v;
    }
    if (DeviceId != NULL) {
        *DeviceId = d;
    }
}

static VOID
PfGetDeviceLocation(PVOID Context, USHORT VfIndex, PUINT16 SegmentNumber, PUINT8 BusNumber, PUINT8 FunctionNumber)
{
    PPF_DEVICE_CONTEXT ctx = Context;
    UINT16 seg = 0xFFFF;
    uint16_t rid = 0xFFFF; /* all-ones for a bad VfIndex: names no function (CONTRACT-DECISIONS.md) */

    if (NT_SUCCESS(enter_vf(ctx, VfIndex, STATUS_INVALID_PARAMETER))) {
        if (pf_hw_vf_rid(&ctx->Hw, VfIndex, &rid) == 0) {
            seg = ctx->Hw.res.segment;
        } else {
            rid = 0xFFFF;
        }
        PfHwLeave(ctx);
    }
    if (SegmentNumber != NULL) {
        *SegmentNumber = seg;
    }
    if (BusNumber != NULL) {
        *BusNumber = (UINT8)(rid >> 8);
    }
    if (FunctionNumber != NULL) {
        *FunctionNumber = (UINT8)rid; /* the 8-bit ARI function number (contract.md 6.6) */
    }
}

/* ---- reset, power, resources (6.7-6.9) ------------------------------------------------ */

static NTSTATUS
PfResetVf(PVOID Context, USHORT VfIndex)
{
    PPF_DEVICE_CONTEXT ctx = Context;
    NTSTATUS st = enter_vf(ctx, VfIndex, STATUS_INVALID_PARAMETER);

    if (!NT_SUCCESS(st)) {
        return st;
    }
    if (pf_hw_vf_reset(&ctx->Hw, VfIndex) != 0) {
        st = STATUS_DEVICE_NOT_READY;
    } else {
        /* A reset VF starts clean: virtual config, VF-written blocks, power state. */
        pf_cfgview_reset_vf(ctx->CfgView, VfIndex);
        pf_blocks_reset_vf(ctx->Blocks, VfIndex);
        ctx->VfPower[VfIndex] = PowerDeviceD0;
        ctx->VfWake[VfIndex] = FALSE;
    }
    PfHwLeave(ctx);
    return st;
}

static NTSTATUS
PfSetVfPowerState(PVOID Context, USHORT VfIndex, DEVICE_POWER_STATE PowerState, BOOLEAN Wake)
{
    PPF_DEVICE_CONTEXT ctx = Context;
    NTSTATUS st;

    if (PowerState < PowerDeviceD0 || PowerState > PowerDeviceD3 || (Wake && PowerState == PowerDeviceD0)) {
        return STATUS_INVALID_PARAMETER; /* contract.md 6.8 */
    }
    st = enter_vf(ctx, VfIndex, STATUS_INVALID_PARAMETER);
    if (NT_SUCCESS(st)) {
        __atomic_store_n(&ctx->VfPower[VfIndex], (uint8_t)PowerState, __ATOMIC_RELAXED);
        __atomic_store_n(&ctx->VfWake[VfIndex], Wake ? 1 : 0, __ATOMIC_RELAXED);
        PfHwLeave(ctx);
    }
    return st;
}

static NTSTATUS
PfGetResourceForBar(PVOID Context, USHORT VfIndex, USHORT BarIndex, PCM_PARTIAL_RESOURCE_DESCRIPTOR Resource)
{
    PPF_DEVICE_CONTEXT ctx = Context;
    NTSTATUS st;

    if (Resource == NULL || BarIndex >= PCI_TYPE0_ADDRESSES) {
        return STATUS_INVALID_PARAMETER; /* the example only asserts the bound (6.9) */
    }
    st = enter_vf(ctx, VfIndex, STATUS_INVALID_DEVICE_REQUEST); /* the example's code for a bad VF */
    if (NT_SUCCESS(st)) {
        st = pf_vf_bar_resource(&ctx->Hw.res.vf_bar[BarIndex], ctx->NumVfs, VfIndex, Resource);
        PfHwLeave(ctx);
    }
    return st;
}

/* ---- LUIDs (6.10) ----------------------------------------------------------------------- */

static NTSTATUS
PfQueryLuid(PVOID Context, PLUID Luid)
{
    PPF_DEVICE_CONTEXT ctx = Context;

    if (Luid == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    *Luid = pf_luid_make(ctx->Luids.base); /* the one PROXY_QUERY_LUID returns (4.11) */
    return STATUS_SUCCESS;
}

static NTSTATUS
PfQueryVfLuid(PVOID Context, USHORT VfIndex, PLUID Luid)
{
    PPF_DEVICE_CONTEXT ctx = Context;
    NTSTATUS st;

    if (Luid == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    st = enter_vf(ctx, VfIndex, STATUS_INVALID_PARAMETER);
    if (NT_SUCCESS(st)) {
        *Luid = pf_luid_make(ctx->Luids.base + 1 + VfIndex);
        PfHwLeave(ctx);
    }
    return st;
}

static NTSTATUS
PfQueryLuidVf(PVOID Context, LUID Luid, PUSHORT VfIndex)
{
    PPF_DEVICE_CONTEXT ctx = Context;
    NTSTATUS st;

    if (VfIndex == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    st = PfHwEnter(ctx);
    if (NT_SUCCESS(st)) {
        struct pf_luids l = {ctx->Luids.base, ctx->NumVfs};

        st = pf_luid_vf_of(&l, Luid, VfIndex);
        PfHwLeave(ctx);
    }
    return st;
}

/* ---- the table ------------------------------------------------------------------------- */

VOID
PfFillSriovInterface(PPF_DEVICE_CONTEXT Ctx, PSRIOV_DEVICE_INTERFACE_STANDARD_2 Table)
{
    RtlZeroMemory(Table, sizeof(*Table));
    Table->Size = sizeof(*Table);
    Table->Version = SRIOV_DEVICE_INTERFACE_STANDARD_VERSION_2;
    Table->Context = Ctx;
    Table->InterfaceReference = PfInterfaceReference;
    Table->InterfaceDereference = PfInterfaceDereference;
    Table->ReadVfConfig = PfReadVfConfig;
    Table->WriteVfConfig = PfWriteVfConfig;
    Table->ReadVfConfigBlock = PfReadVfConfigBlock;
    Table->WriteVfConfigBlock = PfWriteVfConfigBlock;
    Table->QueryProbedBars = PfQueryProbedBars;
    Table->GetVendorAndDevice = PfGetVendorAndDevice;
    Table->GetDeviceLocation = PfGetDeviceLocation;
    Table->ResetVf = PfResetVf;
    Table->SetVfPowerState = PfSetVfPowerState;
    Table->GetResourceForBar = PfGetResourceForBar;
    Table->QueryLuid = PfQueryLuid;
    Table->QueryProbedBars_2 = PfQueryProbedBars2;
    Table->QueryVfLuid = PfQueryVfLuid;
    Table->QueryLuidVf = PfQueryLuidVf;
}

/*
 * One GUID, two tables (contract.md 3.2): the runtime has copied the registered
 * version-1 table; a requester that asked for at least 144 bytes and version 2
 * gets the version-2 tail appended.  Anyone else keeps version 1.
 */
NTSTATUS
PfEvtSriovQueryInterface(WDFDEVICE Device, LPGUID InterfaceType, PINTERFACE ExposedInterface,
                         PVOID ExposedInterfaceSpecificData)
{
    PSRIOV_DEVICE_INTERFACE_STANDARD_2 t = (PSRIOV_DEVICE_INTERFACE_STANDARD_2)ExposedInterface;
    USHORT size = 0, version = 0;

    if (!NT_SUCCESS(wdf_query_interface_requested(Device, ExposedInterface, &size, &version))) {
        return STATUS_SUCCESS; /* keep what was copied: version 1 */
    }
    if (size >= sizeof(SRIOV_DEVICE_INTERFACE_STANDARD_2) && version >= SRIOV_DEVICE_INTERFACE_STANDARD_VERSION_2) {
        t->Size = sizeof(SRIOV_DEVICE_INTERFACE_STANDARD_2);
        t->Version = SRIOV_DEVICE_INTERFACE_STANDARD_VERSION_2;
        t->QueryProbedBars_2 = PfQueryProbedBars2;
        t->QueryVfLuid = PfQueryVfLuid;
        t->QueryLuidVf = PfQueryLuidVf;
    }
    return STATUS_SUCCESS;
}
