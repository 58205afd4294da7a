/*
 * pf/mitigation.c - MITIGABLE_DEVICE_INTERFACE and IOCTLs 6-8 (contract.md 4.8-4.10,
 * 6.12, 7.3).
 *
 * The ranges themselves are kept by pf/mitig.c.  This file answers the count and
 * range queries, validates and performs trapped accesses, and holds one
 * MITIGATED_RANGE_UPDATE per VF (keyed by its input VfIndex) until that VF's
 * ranges change.  Held updates sit in a driver-owned list, cancelable by their
 * sender; the usual race between the cancel routine and completion is settled
 * by WdfRequestUnmarkCancelable under IoLock.
 *
 * Odd-width trapped accesses (3, 5, 6, 7 bytes; allowed by the annotation,
 * contract.md 6.12 [I]) are split into byte accesses, little-endian.
 */
#include <string.h>

#include "pf/driver.h"
#include "pcivirt/error.h"
#include "util/alloc.h"

static READ_WRITE_MITIGATED_REGISTER PfReadWriteMitigatedRegister;

static NTSTATUS
bus_status(int rc)
{
    switch (rc) {
    case 0:
    case PCIVIRT_ESTATE: return STATUS_SUCCESS; /* not decoding: reads all-ones, as the bus does */
    case PCIVIRT_ERANGE: return STATUS_INVALID_PARAMETER;
    default: return STATUS_DEVICE_NOT_READY;
    }
}

static NTSTATUS
trapped_access(PPF_DEVICE_CONTEXT Ctx, USHORT VfIndex, BOOLEAN Read, USHORT BarIndex, ULONGLONG Offset, ULONG Length,
               PUCHAR Data)
{
    int rc = 0;

    if (Length == 1 || Length == 2 || Length == 4 || Length == 8) {
        return bus_status(pf_hw_vf_mmio(&Ctx->Hw, VfIndex, Read, BarIndex, Offset, Data, Length));
    }
    for (ULONG i = 0; i < Length && (rc == 0 || rc == PCIVIRT_ESTATE); i++) {
        rc = pf_hw_vf_mmio(&Ctx->Hw, VfIndex, Read, BarIndex, Offset + i, Data + i, 1);
    }
    return bus_status(rc);
}

static NTSTATUS
PfReadWriteMitigatedRegister(PVOID Context, USHORT VfIndex, BOOLEAN Read, USHORT BarIndex, ULONGLONG Offset,
                             ULONG Length, PUCHAR Data)
{
    PPF_DEVICE_CONTEXT ctx = Context;
    NTSTATUS st;

    /* Annotated bounds (contract.md 6.12): BarIndex 0..5, Length 1..8. */
    if (Data == NULL || BarIndex >= PCI_TYPE0_ADDRESSES || Length < 1 || Length > 8) {
        return STATUS_INVALID_PARAMETER;
    }
    st = PfHwEnter(ctx);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    if (VfIndex >= ctx->NumVfs || !pf_mitig_covers(ctx->Mitig, VfIndex, (uint8_t)BarIndex, Offset, Length, Read)) {
        st = STATUS_INVALID_PARAMETER; /* only inside a reported range with that intercept [I] */
    } else {
        st = trapped_access(ctx, VfIndex, Read, BarIndex, Offset, Length, Data);
    }
    PfHwLeave(ctx);
    return st;
}

static VOID
PfMitigableReference(PVOID Context)
{
    PPF_DEVICE_CONTEXT ctx = Context;

    __atomic_add_fetch(&ctx->InterfaceRefs, 1, __ATOMIC_SEQ_CST);
    wdf_interface_reference(Context);
}

static VOID
PfMitigableDereference(PVOID Context)
{
    PPF_DEVICE_CONTEXT ctx = Context;

    __atomic_sub_fetch(&ctx->InterfaceRefs, 1, __ATOMIC_SEQ_CST);
    wdf_interface_dereference(Context);
}

VOID
PfFillMitigableInterface(PPF_DEVICE_CONTEXT Ctx, PMITIGABLE_DEVICE_INTERFACE Table)
{
    RtlZeroMemory(Table, sizeof(*Table));
    Table->Size = sizeof(*Table);
    Table->Version = 1;
    Table->Context = Ctx;
    Table->InterfaceReference = PfMitigableReference;
    Table->InterfaceDereference = PfMitigableDereference;
    Table->ReadWriteMitigatedRegister = PfReadWriteMitigatedRegister;
}

/* ---- IOCTL 6 and 7: the queries ------------------------------------------------------- */

VOID
PfIoctlMitigatedRangeCount(PPF_DEVICE_CONTEXT Ctx, WDFREQUEST Request)
{
    PSRIOV_MITIGATED_RANGE_COUNT_INPUT in;
    PSRIOV_MITIGATED_RANGE_COUNT_OUTPUT out;
    ULONG count[PCI_TYPE0_ADDRESSES];
    USHORT vf;
    NTSTATUS st;

    st = WdfRequestRetrieveInputBuffer(Request, sizeof(*in), (PVOID *)&in, NULL);
    st = NT_SUCCESS(st) ? WdfRequestRetrieveOutputBuffer(Request, sizeof(*out), (PVOID *)&out, NULL) : st;
    if (!NT_SUCCESS(st)) {
        WdfRequestComplete(Request, st);
        return;
    }
    vf = in->VfIndex; /* read the input before writing the aliased output (contract.md 1.3) */
    st = PfHwEnter(Ctx);
    if (NT_SUCCESS(st)) {
        st = pf_mitig_count(Ctx->Mitig, vf, count);
        PfHwLeave(Ctx);
    }
    if (!NT_SUCCESS(st)) {
        WdfRequestComplete(Request, st);
        return;
    }
    memcpy(out->RangeCount, count, sizeof(count));
    WdfRequestCompleteWithInformation(Request, STATUS_SUCCESS, sizeof(*out));
}

VOID
PfIoctlMitigatedRanges(PPF_DEVICE_CONTEXT Ctx, WDFREQUEST Request)
{
    PSRIOV_MITIGATED_RANGES_INPUT in;
    PSRIOV_MITIGATED_RANGES_OUTPUT out = NULL;
    size_t out_len = 0;
    USHORT vf;
    UCHAR bar;
    ULONG n = 0;
    NTSTATUS st;

    st = WdfRequestRetrieveInputBuffer(Request, sizeof(*in), (PVOID *)&in, NULL);
    if (!NT_SUCCESS(st)) {
        WdfRequestComplete(Request, st);
        return;
    }
    vf = in->VfIndex;
    bar = in->BarNumber;
    if (!NT_SUCCESS(WdfRequestRetrieveOutputBuffer(Request, sizeof(*out), (PVOID *)&out, &out_len))) {
        out = NULL;
        out_len = 0;
    }
    st = PfHwEnter(Ctx);
    if (NT_SUCCESS(st)) {
        /* An array of entries; too small a buffer gets BUFFER_TOO_SMALL (contract.md 4.9 [I]). */
        st = pf_mitig_ranges(Ctx->Mitig, vf, bar, out, (ULONG)(out_len / sizeof(*out)), &n);
        PfHwLeave(Ctx);
    }
    WdfRequestCompleteWithInformation(Request, st, NT_SUCCESS(st) ? n * sizeof(*out) : 0);
}

/* ---- IOCTL 8: held per VF, re-armed by the stack ------------------------------------------ */

static EVT_WDF_REQUEST_CANCEL PfEvtUpdateCancel;

static VOID
complete_update(WDFREQUEST Request, USHORT Vf)
{
    PSRIOV_MITIGATED_RANGE_UPDATE_OUTPUT out;
    NTSTATUS st = WdfRequestRetrieveOutputBuffer(Request, sizeof(*out), (PVOID *)&out, NULL);

    if (!NT_SUCCESS(st)) {
        WdfRequestComplete(Request, st);
        return;
    }
    out->VfIndex = Vf;
    WdfRequestCompleteWithInformation(Request, STATUS_SUCCESS, sizeof(*out));
}

static VOID
PfEvtUpdateCancel(WDFREQUEST Request)
{
    PPF_DEVICE_CONTEXT ctx = PfDeviceGetContext(WdfIoQueueGetDevice(WdfRequestGetIoQueue(Request)));
    struct list_node *pos, *tmp;

    WdfWaitLockAcquire(ctx->IoLock, NULL);
    list_for_each_safe(pos, tmp, &ctx->HeldUpdates)
    {
        struct pf_held_update *h = list_entry(pos, struct pf_held_update, node);

        if (h->request == Request) {
            list_del_init(&h->node);
            pv_free(h);
            break;
        }
    }
    WdfWaitLockRelease(ctx->IoLock);
    WdfRequestComplete(Request, STATUS_CANCELLED);
}

/* Hold @Request for VF @Vf in @h (IoLock held): STATUS_PENDING, or STATUS_CANCELLED (@h freed). */
static NTSTATUS
hold_update(PPF_DEVICE_CONTEXT Ctx, WDFREQUEST Request, struct pf_held_update *h, USHORT Vf)
{
    if (!NT_SUCCESS(WdfRequestMarkCancelableEx(Request, PfEvtUpdateCancel))) {
        pv_free(h);
        return STATUS_CANCELLED;
    }
    h->request = Request;
    h->vf = Vf;
    list_add_tail(&Ctx->HeldUpdates, &h->node);
    return STATUS_PENDING;
}

VOID
PfIoctlMitigatedRangeUpdate(PPF_DEVICE_CONTEXT Ctx, WDFREQUEST Request)
{
    PSRIOV_MITIGATED_RANGE_UPDATE_INPUT in;
    PVOID out;
    struct pf_held_update *h;
    USHORT vf;
    NTSTATUS st;

    st = WdfRequestRetrieveInputBuffer(Request, sizeof(*in), (PVOID *)&in, NULL);
    st = NT_SUCCESS(st)
             ? WdfRequestRetrieveOutputBuffer(Request, sizeof(SRIOV_MITIGATED_RANGE_UPDATE_OUTPUT), &out, NULL)
             : st;
    if (NT_SUCCESS(st)) {
        vf = in->VfIndex;
        st = PfHwEnter(Ctx);
    }
    if (!NT_SUCCESS(st)) {
        WdfRequestComplete(Request, st);
        return;
    }
    if (vf >= Ctx->NumVfs) {
        PfHwLeave(Ctx);
        WdfRequestComplete(Request, STATUS_INVALID_PARAMETER);
        return;
    }
    WdfWaitLockAcquire(Ctx->IoLock, NULL);
    if (pf_mitig_take_dirty(Ctx->Mitig, vf)) {
        st = STATUS_SUCCESS; /* changed while none was held: complete at once (4.10 [I]) */
    } else {
        /* Nothing pending: the stack re-read the ranges and rebuilt its map (7.3 step 4); the grace ends. */
        pf_mitig_end_grace(Ctx->Mitig, vf);
        h = pv_calloc(1, sizeof(*h));
        st = h == NULL ? STATUS_INSUFFICIENT_RESOURCES : hold_update(Ctx, Request, h, vf);
    }
    WdfWaitLockRelease(Ctx->IoLock);
    PfHwLeave(Ctx);
    if (st == STATUS_SUCCESS) {
        complete_update(Request, vf);
    } else if (st != STATUS_PENDING) {
        WdfRequestComplete(Request, st);
    }
}

/*
 * Complete (with @Status, or for a changed VF with success) every held update
 * selected by @all or by the VF's dirty bit.  IoLock taken here; completions run
 * after it is dropped.
 */
static VOID
release_updates(PPF_DEVICE_CONTEXT Ctx, bool all, NTSTATUS Status)
{
    struct list_node done, *pos, *tmp;

    list_init(&done);
    WdfWaitLockAcquire(Ctx->IoLock, NULL);
    list_for_each_safe(pos, tmp, &Ctx->HeldUpdates)
    {
        struct pf_held_update *h = list_entry(pos, struct pf_held_update, node);

        if (!all && (Ctx->Mitig == NULL || !pf_mitig_is_dirty(Ctx->Mitig, h->vf))) {
            continue;
        }
        if (WdfRequestUnmarkCancelable(h->request) == STATUS_CANCELLED) {
            continue; /* the cancel routine owns it now and unlinks it; the VF stays dirty */
        }
        if (!all) {
            pf_mitig_take_dirty(Ctx->Mitig, h->vf);
        }
        list_del_init(&h->node);
        list_add_tail(&done, &h->node);
    }
    WdfWaitLockRelease(Ctx->IoLock);
    while ((pos = list_pop_head(&done)) != NULL) {
        struct pf_held_update *h = list_entry(pos, struct pf_held_update, node);

        if (all) {
            WdfRequestComplete(h->request, Status);
        } else {
            complete_update(h->request, h->vf);
        }
        pv_free(h);
    }
}

VOID
PfMitigationRangesChanged(PPF_DEVICE_CONTEXT Ctx)
{
    release_updates(Ctx, false, STATUS_SUCCESS);
}

VOID
PfMitigationCompleteAll(PPF_DEVICE_CONTEXT Ctx, NTSTATUS Status)
{
    release_updates(Ctx, true, Status);
}
