/*
 * tests/pf/mini_pf.c - a second PF driver, written apart from the reference one:
 * the device binding, the SR-IOV and mitigable tables, the configuration blocks,
 * LUIDs, the admin hooks and DriverEntry (the IOCTLs and PnP are in mini_pf_io.c).
 *
 * A suite that only ever failed variants of the reference driver could be fitted
 * to that one code base; this driver shares no code with src/pf.  It implements
 * what the checks test_conform_mini.c lists need, and each MINI_PF_BUG variant
 * (mini_pf.h) makes one mistake the conformance suite must name.  Everything
 * else the contract asks for is out of its scope: those callbacks answer
 * STATUS_NOT_SUPPORTED and those IOCTLs are refused.
 */
#include <string.h>

#include "pf/conform/conform.h"
#include "mini_pf.h"

#define MINI_SRIOV_ID 0x0010

__attribute__((visibility("default"))) NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

/* ---- the device, through the bus interface only ---------------------------------- */

static USHORT
pf_read16(PMINI_CONTEXT Ctx, USHORT Offset)
{
    UCHAR b[2] = {0xFF, 0xFF};

    Ctx->Bus.config_read(Ctx->Bus.Context, Ctx->Res.pf_rid, Offset, b, 2);
    return (USHORT)(b[0] | b[1] << 8);
}

static ULONG
pf_read32(PMINI_CONTEXT Ctx, USHORT Offset)
{
    return pf_read16(Ctx, Offset) | (ULONG)pf_read16(Ctx, (USHORT)(Offset + 2)) << 16;
}

static VOID
pf_write16(PMINI_CONTEXT Ctx, USHORT Offset, USHORT Value)
{
    UCHAR b[2] = {(UCHAR)Value, (UCHAR)(Value >> 8)};

    Ctx->Bus.config_write(Ctx->Bus.Context, Ctx->Res.pf_rid, Offset, b, 2);
}

static USHORT
find_sriov(PMINI_CONTEXT Ctx)
{
    USHORT off = 0x100;

    for (int hops = 0; hops < 960 && off >= 0x100; hops++) {
        ULONG h = pf_read32(Ctx, off);

        if (h == 0 || h == 0xFFFFFFFF) {
            return 0;
        }
        if ((h & 0xFFFF) == MINI_SRIOV_ID) {
            return off;
        }
        off = (USHORT)((h >> 20) & 0xFFC);
    }
    return 0;
}

static NTSTATUS
MiniEvtPrepareHardware(WDFDEVICE Device, WDFCMRESLIST Raw, WDFCMRESLIST Translated)
{
    PMINI_CONTEXT ctx = MiniGetContext(Device);
    NTSTATUS st = WdfFdoQueryForInterface(Device, &GUID_PCIVIRT_BUS_INTERFACE, (PINTERFACE)&ctx->Bus, sizeof(ctx->Bus),
                                          PCIVIRT_BUS_INTERFACE_VERSION, NULL);

    if (!NT_SUCCESS(st)) {
        return st;
    }
    ctx->HaveBus = TRUE;
    if (ctx->Bus.query_resources(ctx->Bus.Context, &ctx->Res) != 0 || (ctx->Sriov = find_sriov(ctx)) == 0) {
        return STATUS_DEVICE_NOT_READY;
    }
    if (!(pf_read16(ctx, (USHORT)(ctx->Sriov + 0x08)) & 0x1)) {
        pf_write16(ctx, (USHORT)(ctx->Sriov + 0x10), pf_read16(ctx, (USHORT)(ctx->Sriov + 0x0C))); /* InitialVFs */
        pf_write16(ctx, (USHORT)(ctx->Sriov + 0x08), (USHORT)(pf_read16(ctx, (USHORT)(ctx->Sriov + 0x08)) | 0x9));
    }
    ctx->NumVfs = pf_read16(ctx, (USHORT)(ctx->Sriov + 0x10));
    for (unsigned i = 0; i < 6; i++) {
        ctx->VfBarRegs[i] = pf_read32(ctx, (USHORT)(ctx->Sriov + 0x24 + 4 * i));
    }
    if (ctx->NumVfs == 0 || ctx->NumVfs > MINI_MAX_VFS || ctx->Bus.query_resources(ctx->Bus.Context, &ctx->Res) != 0) {
        return STATUS_DEVICE_NOT_READY;
    }
    return STATUS_SUCCESS;
}

static NTSTATUS
MiniEvtReleaseHardware(WDFDEVICE Device, WDFCMRESLIST Translated)
{
    PMINI_CONTEXT ctx = MiniGetContext(Device);

    if (ctx->HaveBus) {
        ctx->Bus.InterfaceDereference(ctx->Bus.Context);
        ctx->HaveBus = FALSE;
    }
    return STATUS_SUCCESS;
}

/* ---- the SR-IOV table ------------------------------------------------------------- */

static VOID
mini_ref(PVOID Context)
{
    wdf_interface_reference(Context);
}

static VOID
mini_deref(PVOID Context)
{
    wdf_interface_dereference(Context);
}

static NTSTATUS
mini_read_config(PVOID Context, PVOID Data, USHORT VfIndex, ULONG Offset, ULONG Length)
{
    return STATUS_NOT_SUPPORTED;
}

static NTSTATUS
mini_write_config(PVOID Context, const VOID *Data, USHORT VfIndex, ULONG Offset, ULONG Length)
{
    return STATUS_NOT_SUPPORTED;
}

/* The block declared as @BlockId, or NULL; Lock held. */
static struct mini_block *
find_block(PMINI_CONTEXT Ctx, ULONG BlockId)
{
    for (unsigned i = 0; i < Ctx->BlockCount; i++) {
        if (Ctx->Blocks[i].id == BlockId) {
            return &Ctx->Blocks[i];
        }
    }
    return NULL;
}

/* Lock held. */
static struct mini_block *
block_args(PMINI_CONTEXT Ctx, USHORT VfIndex, ULONG BlockId, PVOID Buffer, ULONG Length)
{
    struct mini_block *blk = find_block(Ctx, BlockId);
#if MINI_PF_BUG == MINI_BUG_SAL_BOUND
    BOOLEAN length_ok = Length >= 1 && Length < MINI_BLOCK_LEN; /* _In_range_(<, 128) */
#elif MINI_PF_BUG == MINI_BUG_BLOCK_129
    BOOLEAN length_ok = Length >= 1 && blk != NULL && Length <= sizeof(blk->data[0]); /* the storage, not 6.3 */
#else
    BOOLEAN length_ok = Length >= 1 && Length <= MINI_BLOCK_LEN;
#endif
    return Buffer != NULL && length_ok && VfIndex < Ctx->NumVfs ? blk : NULL;
}

static NTSTATUS
mini_read_block(PVOID Context, USHORT VfIndex, ULONG BlockId, PVOID Buffer, ULONG Length)
{
    PMINI_CONTEXT ctx = Context;
    struct mini_block *blk;

    WdfWaitLockAcquire(ctx->Lock, NULL);
    blk = block_args(ctx, VfIndex, BlockId, Buffer, Length);
    if (blk != NULL) {
        memcpy(Buffer, blk->data[VfIndex], Length);
    }
    WdfWaitLockRelease(ctx->Lock);
    return blk != NULL ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

static NTSTATUS
mini_write_block(PVOID Context, USHORT VfIndex, ULONG BlockId, PVOID Buffer, ULONG Length)
{
    PMINI_CONTEXT ctx = Context;
    struct mini_block *blk;

    WdfWaitLockAcquire(ctx->Lock, NULL);
    blk = block_args(ctx, VfIndex, BlockId, Buffer, Length);
    if (blk != NULL) {
        memset(blk->data[VfIndex], 0, sizeof(blk->data[VfIndex]));
        memcpy(blk->data[VfIndex], Buffer, Length);
    }
    WdfWaitLockRelease(ctx->Lock);
    return blk != NULL ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

/* Per-VF size of VF BAR @Bar: the aperture the bus assigned, over NumVFs. */
static ULONGLONG
per_vf_size(PMINI_CONTEXT Ctx, USHORT Bar)
{
    return RtlCmDecodeMemIoResource(&Ctx->Res.vf_bar[Bar], NULL) / Ctx->NumVfs;
}

static NTSTATUS
mini_probed_bars(PVOID Context, PULONG Values)
{
    PMINI_CONTEXT ctx = Context;

    if (Values == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    memset(Values, 0, 6 * sizeof(ULONG));
    for (USHORT i = 0; i < 6; i++) {
        ULONGLONG mask = ~(per_vf_size(ctx, i) - 1);

        if (per_vf_size(ctx, i) == 0) {
            continue;
        }
        Values[i] = ((ULONG)mask & 0xFFFFFFF0u) | (ctx->VfBarRegs[i] & 0xF);
        if ((ctx->VfBarRegs[i] & 0x6) == 0x4 && i < 5) {
            Values[++i] = (ULONG)(mask >> 32);
        }
    }
    return STATUS_SUCCESS;
}

static VOID
mini_vendor_device(PVOID Context, USHORT VfIndex, PUSHORT VendorId, PUSHORT DeviceId)
{
    *VendorId = 0xFFFF;
    *DeviceId = 0xFFFF;
}

static VOID
mini_location(PVOID Context, USHORT VfIndex, PUINT16 Segment, PUINT8 Bus, PUINT8 Function)
{
    *Segment = 0xFFFF;
    *Bus = 0xFF;
    *Function = 0xFF;
}

static NTSTATUS
mini_reset(PVOID Context, USHORT VfIndex)
{
    return STATUS_NOT_SUPPORTED;
}

static NTSTATUS
mini_power(PVOID Context, USHORT VfIndex, DEVICE_POWER_STATE PowerState, BOOLEAN Wake)
{
    return STATUS_NOT_SUPPORTED;
}

static NTSTATUS
mini_resource_for_bar(PVOID Context, USHORT VfIndex, USHORT BarIndex, PCM_PARTIAL_RESOURCE_DESCRIPTOR Resource)
{
    PMINI_CONTEXT ctx = Context;

    if (Resource == NULL || BarIndex >= PCI_TYPE0_ADDRESSES) {
        return STATUS_INVALID_PARAMETER;
    }
    if (VfIndex >= ctx->NumVfs) {
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    *Resource = ctx->Res.vf_bar[BarIndex];
    if (Resource->Type != CmResourceTypeMemory && Resource->Type != CmResourceTypeMemoryLarge) {
        return STATUS_SUCCESS;
    }
#if MINI_PF_BUG == MINI_BUG_EXAMPLE_LARGE
    Resource->u.Memory.Length /= ctx->NumVfs;
    Resource->u.Memory.Start.QuadPart += (LONGLONG)VfIndex * Resource->u.Memory.Length;
    return STATUS_SUCCESS;
#else
    {
        ULONGLONG start = 0, len = RtlCmDecodeMemIoResource(Resource, &start) / ctx->NumVfs;

        return RtlCmEncodeMemIoResource(Resource, Resource->Type, len, start + VfIndex * len);
    }
#endif
}

LUID
mini_luid_of(PMINI_CONTEXT Ctx, USHORT Vf)
{
    LUID l;

    l.HighPart = MINI_LUID_HIGH;
    l.LowPart = (ULONG)Ctx->Res.pf_rid << 16 | (Vf == 0xFFFF ? 0u : Vf + 1u);
    return l;
}

static NTSTATUS
mini_luid(PVOID Context, PLUID Luid)
{
    if (Luid == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    *Luid = mini_luid_of(Context, 0xFFFF);
    return STATUS_SUCCESS;
}

static NTSTATUS
mini_probed_bars_2(PVOID Context, USHORT VfIndex, PULONG Values)
{
    return mini_probed_bars(Context, Values);
}

static NTSTATUS
mini_vf_luid(PVOID Context, USHORT VfIndex, PLUID Luid)
{
    PMINI_CONTEXT ctx = Context;

    if (Luid == NULL || VfIndex >= ctx->NumVfs) {
        return STATUS_INVALID_PARAMETER;
    }
    *Luid = mini_luid_of(ctx, VfIndex);
    return STATUS_SUCCESS;
}

static NTSTATUS
mini_luid_vf(PVOID Context, LUID Luid, PUSHORT VfIndex)
{
    PMINI_CONTEXT ctx = Context;

    if (VfIndex == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    for (USHORT i = 0; i < ctx->NumVfs; i++) {
        LUID l = mini_luid_of(ctx, i);

        if (l.LowPart == Luid.LowPart && l.HighPart == Luid.HighPart) {
            *VfIndex = i;
            return STATUS_SUCCESS;
        }
    }
    return STATUS_NOT_FOUND;
}

/*
 * One GUID, two tables (contract.md 3.2): the table is registered as version 1
 * (120 bytes) and this callback appends the version-2 members for a requester
 * that asked for 144 bytes and version 2.
 */
static NTSTATUS
mini_sriov_query(WDFDEVICE Device, LPGUID InterfaceType, PINTERFACE ExposedInterface, PVOID SpecificData)
{
    PSRIOV_DEVICE_INTERFACE_STANDARD_2 t = (PSRIOV_DEVICE_INTERFACE_STANDARD_2)ExposedInterface;
    USHORT size = 0, version = 0;

    if (!NT_SUCCESS(wdf_query_interface_requested(Device, ExposedInterface, &size, &version))) {
        return STATUS_SUCCESS;
    }
    if (size >= sizeof(*t) && version >= SRIOV_DEVICE_INTERFACE_STANDARD_VERSION_2) {
        t->QueryProbedBars_2 = mini_probed_bars_2;
        t->QueryVfLuid = mini_vf_luid;
        t->QueryLuidVf = mini_luid_vf;
    } else if (MINI_PF_BUG != MINI_BUG_V2_CLAIM) {
        return STATUS_SUCCESS;
    }
    t->Size = sizeof(*t); /* V2_CLAIM: also for a requester that asked for 120 bytes */
    t->Version = SRIOV_DEVICE_INTERFACE_STANDARD_VERSION_2;
    return STATUS_SUCCESS;
}

/* Fill the common INTERFACE header of @Table and register it for @Guid. */
static NTSTATUS
register_table(PMINI_CONTEXT Ctx, PINTERFACE Table, USHORT Size, USHORT Version, const GUID *Guid,
               PFN_WDF_DEVICE_PROCESS_QUERY_INTERFACE_REQUEST Callback)
{
    WDF_QUERY_INTERFACE_CONFIG qi;

    Table->Size = Size;
    Table->Version = Version;
    Table->Context = Ctx;
    Table->InterfaceReference = mini_ref;
    Table->InterfaceDereference = mini_deref;
    WDF_QUERY_INTERFACE_CONFIG_INIT(&qi, Table, Guid, Callback);
    return WdfDeviceAddQueryInterface(Ctx->Device, &qi);
}

static NTSTATUS
add_sriov_table(PMINI_CONTEXT Ctx)
{
    SRIOV_DEVICE_INTERFACE_STANDARD_2 t;

    RtlZeroMemory(&t, sizeof(t));
    t.ReadVfConfig = mini_read_config;
    t.WriteVfConfig = mini_write_config;
    t.ReadVfConfigBlock = mini_read_block;
    t.WriteVfConfigBlock = mini_write_block;
    t.QueryProbedBars = mini_probed_bars;
    t.GetVendorAndDevice = mini_vendor_device;
    t.GetDeviceLocation = mini_location;
    t.ResetVf = mini_reset;
    t.SetVfPowerState = mini_power;
    t.GetResourceForBar = mini_resource_for_bar;
    t.QueryLuid = mini_luid;
    return register_table(Ctx, (PINTERFACE)&t, sizeof(SRIOV_DEVICE_INTERFACE_STANDARD),
                          SRIOV_DEVICE_INTERFACE_STANDARD_VERSION_1, &GUID_SRIOV_DEVICE_INTERFACE_STANDARD,
                          mini_sriov_query);
}

/* The mitigable table exists (the suite queries it), but this driver traps no range. */
static NTSTATUS
mini_mitigated_register(PVOID Context, USHORT VfIndex, BOOLEAN Read, USHORT BarIndex, ULONGLONG Offset, ULONG Length,
                        PUCHAR Data)
{
    return STATUS_INVALID_PARAMETER; /* outside every reported range: none is reported (6.12) */
}

static NTSTATUS
add_mitigable_table(PMINI_CONTEXT Ctx)
{
    MITIGABLE_DEVICE_INTERFACE t;

    RtlZeroMemory(&t, sizeof(t));
    t.ReadWriteMitigatedRegister = mini_mitigated_register;
    return register_table(Ctx, (PINTERFACE)&t, sizeof(t), 1, &GUID_MITIGABLE_DEVICE_INTERFACE, NULL);
}

/* ---- the suite's admin hooks (pf/conform/conform.h) ---------------------------------- */

static NTSTATUS
admin_define_block(WDFDEVICE Device, uint32_t id, bool vf_writable)
{
    PMINI_CONTEXT ctx = MiniGetContext(Device);
    NTSTATUS st = STATUS_SUCCESS;

    WdfWaitLockAcquire(ctx->Lock, NULL);
    if (find_block(ctx, id) == NULL) {
        if (ctx->BlockCount < MINI_MAX_BLOCKS) {
            memset(&ctx->Blocks[ctx->BlockCount], 0, sizeof(ctx->Blocks[0]));
            ctx->Blocks[ctx->BlockCount++].id = id;
        } else {
            st = STATUS_INSUFFICIENT_RESOURCES;
        }
    }
    WdfWaitLockRelease(ctx->Lock);
    return st;
}

static NTSTATUS
admin_invalidate(WDFDEVICE Device, uint16_t vf, uint64_t mask)
{
    PMINI_CONTEXT ctx = MiniGetContext(Device);

    if (vf >= ctx->NumVfs && vf != SRIOV_INVALIDATE_BLOCK_ALL_VFS) {
        return STATUS_INVALID_PARAMETER;
    }
    mini_invalidate(ctx, vf, mask);
    return STATUS_SUCCESS;
}

static NTSTATUS
admin_set_ranges(WDFDEVICE Device, uint16_t vf, const struct pf_mitig_range *ranges, unsigned n)
{
    return STATUS_NOT_SUPPORTED;
}

__attribute__((visibility("default"))) const struct pf_conform_admin pcivirt_pf_conform_admin = {
    sizeof(struct pf_conform_admin), admin_define_block, admin_invalidate, admin_set_ranges};

/* ---- EvtDriverDeviceAdd and DriverEntry ------------------------------------------------ */

/* What the device needs once it exists: lock, events, block 1, interfaces, queues. */
static NTSTATUS
mini_device_setup(PMINI_CONTEXT Ctx)
{
    WDF_OBJECT_ATTRIBUTES attributes;
    NTSTATUS st;

    KeInitializeEvent(&Ctx->Unblock, NotificationEvent, FALSE);
    KeInitializeEvent(&Ctx->GateOpen, NotificationEvent, TRUE);
    Ctx->Blocks[0].id = 1;
    Ctx->BlockCount = 1;
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.ParentObject = Ctx->Device;
    st = WdfWaitLockCreate(&attributes, &Ctx->Lock);
    st = NT_SUCCESS(st) ? WdfDeviceCreateDeviceInterface(Ctx->Device, &GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE, NULL)
                        : st;
    st = NT_SUCCESS(st) ? add_sriov_table(Ctx) : st;
    st = NT_SUCCESS(st) ? add_mitigable_table(Ctx) : st;
    return NT_SUCCESS(st) ? mini_create_queues(Ctx) : st;
}

static NTSTATUS
MiniEvtDeviceAdd(WDFDRIVER Driver, PWDFDEVICE_INIT DeviceInit)
{
    static UCHAR minors[] = {IRP_MN_START_DEVICE, IRP_MN_QUERY_STOP_DEVICE, IRP_MN_CANCEL_STOP_DEVICE,
                             IRP_MN_SURPRISE_REMOVAL, IRP_MN_REMOVE_DEVICE};
    WDF_PNPPOWER_EVENT_CALLBACKS pnp;
    WDF_OBJECT_ATTRIBUTES attributes;
    WDFDEVICE device;
    NTSTATUS st = WdfDeviceInitAssignWdmIrpPreprocessCallback(DeviceInit, mini_pnp_preprocess, IRP_MJ_PNP, minors,
                                                              sizeof(minors));

    if (!NT_SUCCESS(st)) {
        return st;
    }
    WDF_PNPPOWER_EVENT_CALLBACKS_INIT(&pnp);
    pnp.EvtDevicePrepareHardware = MiniEvtPrepareHardware;
    pnp.EvtDeviceReleaseHardware = MiniEvtReleaseHardware;
    WdfDeviceInitSetPnpPowerEventCallbacks(DeviceInit, &pnp);
    WdfDeviceInitSetIoType(DeviceInit, WdfDeviceIoBuffered);
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, MINI_CONTEXT);
    st = WdfDeviceCreate(&DeviceInit, &attributes, &device);
    if (NT_SUCCESS(st)) {
        MiniGetContext(device)->Device = device;
        st = mini_device_setup(MiniGetContext(device));
    }
    return st;
}

NTSTATUS
DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    WDF_DRIVER_CONFIG config;
    WDFDRIVER driver;

    WDF_DRIVER_CONFIG_INIT(&config, MiniEvtDeviceAdd);
    return WdfDriverCreate(DriverObject, RegistryPath, WDF_NO_OBJECT_ATTRIBUTES, &config, &driver);
}
