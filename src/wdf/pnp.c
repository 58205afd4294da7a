/*
 * wdf/pnp.c - the PnP manager: PnP IRPs through a device stack, the framework's
 * handling of each on a KMDF device, and the per-node operations with veto
 * semantics.
 *
 * The IRP model is WDM's, reduced to what a KMDF driver can observe: an IRP goes
 * to the top of the stack; each device either preprocesses it (the hook a PF
 * uses to hold IRP_MN_QUERY_STOP_DEVICE while it asks the virtualization stack,
 * contract.md 7.2) or lets the framework handle it; the framework runs the
 * device's callbacks and forwards the IRP down, waiting for the lower devices to
 * complete it - the "completion routine that returns MORE_PROCESSING_REQUIRED"
 * of WDM - before its own post-processing (start) and final completion.  Queries
 * and teardown run top-down before forwarding; start runs bottom-up after.
 *
 * Each node's operations are serialized by node->pnp_mu (Windows serializes PnP
 * IRPs per device); query-interface IRPs are not, because drivers send them from
 * inside PnP callbacks.
 */
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "wdf/internal.h"

/* ---- IRPs ---------------------------------------------------------------------- */

void
wdf_irp_init(PIRP irp, struct pcivirt_irp_private *priv, struct wdf_node *node, UCHAR minor)
{
    memset(irp, 0, sizeof(*irp));
    memset(priv, 0, sizeof(*priv));
    irp->IoStatus.Status = STATUS_NOT_SUPPORTED;
    irp->RequestorMode = KernelMode;
    irp->Private = priv;
    priv->node = node;
    priv->stack.MajorFunction = IRP_MJ_PNP;
    priv->stack.MinorFunction = minor;
}

PIO_STACK_LOCATION
IoGetCurrentIrpStackLocation(PIRP Irp)
{
    return Irp != NULL && Irp->Private != NULL ? &Irp->Private->stack : NULL;
}

VOID
IoSkipCurrentIrpStackLocation(PIRP Irp)
{
    (void)Irp;
}

VOID
IoCopyCurrentIrpStackLocationToNext(PIRP Irp)
{
    (void)Irp;
}

VOID
IoMarkIrpPending(PIRP Irp)
{
    if (Irp != NULL && Irp->Private != NULL) {
        Irp->Private->pending = true;
        Irp->PendingReturned = TRUE;
    }
}

/* The device holding @p's IRP, for reports: its name, or the node's instance id at the PDO. */
static const char *
irp_holder_locked(const struct pcivirt_irp_private *p)
{
    const struct wdf_device *dev = p->level > 0 && p->level < WDF_STACK_MAX ? p->node->stack[p->level] : NULL;

    return dev != NULL ? dev->name : p->node->instance_id;
}

VOID
IoCompleteRequest(PIRP Irp, CCHAR PriorityBoost)
{
    struct pcivirt_irp_private *p;
    struct wdf_host *host;

    (void)PriorityBoost;
    if (Irp == NULL || Irp->Private == NULL) {
        return;
    }
    p = Irp->Private;
    host = p->node->host;
    pthread_mutex_lock(&host->mu);
    if (p->fwd_depth > 0) {
        p->fwd_depth--;
        p->fwd_done[p->fwd_depth] = true;
    } else if (p->final_done) {
        char holder[WDF_NAME_MAX + 8];
        snprintf(holder, sizeof(holder), "%s", irp_holder_locked(p));
        pthread_mutex_unlock(&host->mu);
        wdf_report(host, WDF_RULE_DOUBLE_COMPLETION, holder, 0, 0, "PnP IRP (minor 0x%02x) completed twice",
                   p->stack.MinorFunction);
        return;
    } else {
        p->final_done = true;
    }
    pthread_cond_broadcast(&host->cv);
    pthread_mutex_unlock(&host->mu);
}

static NTSTATUS
dispatch_level(PIRP irp, int level)
{
    struct pcivirt_irp_private *p = irp->Private;
    struct wdf_host *host = p->node->host;
    struct wdf_device *dev = NULL;
    NTSTATUS st;

    if (level <= 0) {
        return wdf_pdo_process(p->node, irp);
    }
    pthread_mutex_lock(&host->mu);
    dev = p->node->stack[level];
    if (dev != NULL) {
        wdf_obj_ref_locked(&dev->obj);
    }
    pthread_mutex_unlock(&host->mu);
    if (dev == NULL) {
        return dispatch_level(irp, level - 1);
    }
    p->level = level;
    if (dev->preprocess != NULL && (dev->minors[p->stack.MinorFunction / 8] & (1u << (p->stack.MinorFunction % 8)))) {
        struct wdf_site prev = wdf_enter_device(dev);
        st = dev->preprocess((WDFDEVICE)dev, irp);
        wdf_leave_site(prev);
    } else {
        st = wdf_fw_process(dev, irp);
    }
    wdf_obj_unref(&dev->obj);
    return st;
}

/* The dispatcher at some level returned @st: make sure the IRP is (or will be) complete. */
static void
settle_locked(struct pcivirt_irp_private *p, PIRP irp, NTSTATUS st, bool *done, int depth_expected)
{
    if (st == STATUS_PENDING || *done) {
        return;
    }
    if (p->fwd_depth == depth_expected) {
        wdf_report(p->node->host, WDF_RULE_IRP_NOT_COMPLETED, irp_holder_locked(p), 0, 0,
                   "PnP IRP (minor 0x%02x) dispatcher returned 0x%08x without completing or pending it",
                   p->stack.MinorFunction, (unsigned)st);
        irp->IoStatus.Status = st;
        if (depth_expected > 0) {
            p->fwd_depth--;
        }
        *done = true;
    }
}

NTSTATUS
wdf_irp_call(PIRP irp, int level)
{
    struct pcivirt_irp_private *p = irp->Private;
    struct wdf_host *host = p->node->host;
    NTSTATUS st = dispatch_level(irp, level);

    pthread_mutex_lock(&host->mu);
    settle_locked(p, irp, st, &p->final_done, 0);
    while (!p->final_done) {
        wdf_wait_locked(host, WDF_NO_DEADLINE, false, false);
    }
    st = irp->IoStatus.Status;
    pthread_mutex_unlock(&host->mu);
    return st;
}

NTSTATUS
wdf_irp_forward_and_wait(struct wdf_device *dev, PIRP irp)
{
    struct pcivirt_irp_private *p = irp->Private;
    struct wdf_host *host = p->node->host;
    int idx;
    NTSTATUS st;

    pthread_mutex_lock(&host->mu);
    idx = p->fwd_depth++;
    p->fwd_done[idx] = false;
    pthread_mutex_unlock(&host->mu);
    st = dispatch_level(irp, dev->level - 1);
    pthread_mutex_lock(&host->mu);
    settle_locked(p, irp, st, &p->fwd_done[idx], idx + 1);
    while (!p->fwd_done[idx]) {
        wdf_wait_locked(host, WDF_NO_DEADLINE, false, false);
    }
    st = irp->IoStatus.Status;
    p->level = dev->level;
    pthread_mutex_unlock(&host->mu);
    return st;
}

NTSTATUS
WdfDeviceWdmDispatchPreprocessedIrp(WDFDEVICE Device, PIRP Irp)
{
    struct wdf_device *dev =
        (struct wdf_device *)wdf_obj_check(Device, WDF_T_DEVICE, "WdfDeviceWdmDispatchPreprocessedIrp");

    if (dev == NULL || Irp == NULL || Irp->Private == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    return wdf_fw_process(dev, Irp);
}

/* ---- the PDO (bus model side) --------------------------------------------------- */

NTSTATUS
wdf_pdo_process(struct wdf_node *node, PIRP irp)
{
    PIO_STACK_LOCATION stk = &irp->Private->stack;
    NTSTATUS st = irp->IoStatus.Status;

    if (stk->MinorFunction == IRP_MN_QUERY_INTERFACE) {
        for (size_t i = 0; i < node->pdo_iface_count; i++) {
            if (IsEqualGUID(&node->pdo_ifaces[i].type, stk->Parameters.QueryInterface.InterfaceType)) {
                st = wdf_qi_match(node->pdo_ifaces[i].table, stk);
                break;
            }
        }
    } else {
        st = STATUS_SUCCESS;
    }
    irp->IoStatus.Status = st;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return st;
}

/* ---- the framework's handling on one device ------------------------------------- */

static void
power_down(struct wdf_device *dev, WDF_POWER_DEVICE_STATE target)
{
    struct wdf_site prev = wdf_enter_device(dev);

    if (dev->in_d0) {
        wdf_queue_power(dev, false);
        if (dev->pnp.EvtDeviceD0Exit != NULL) {
            (void)dev->pnp.EvtDeviceD0Exit((WDFDEVICE)dev, target);
        }
        dev->in_d0 = false;
    }
    if (dev->hw_prepared) {
        if (dev->pnp.EvtDeviceReleaseHardware != NULL) {
            (void)dev->pnp.EvtDeviceReleaseHardware((WDFDEVICE)dev, (WDFCMRESLIST)&dev->node->translated);
        }
        dev->hw_prepared = false;
    }
    wdf_leave_site(prev);
}

static NTSTATUS
start_device(struct wdf_device *dev)
{
    struct wdf_site prev = wdf_enter_device(dev);
    NTSTATUS st = STATUS_SUCCESS;

    if (dev->pnp.EvtDevicePrepareHardware != NULL) {
        st = dev->pnp.EvtDevicePrepareHardware((WDFDEVICE)dev, (WDFCMRESLIST)&dev->node->raw,
                                               (WDFCMRESLIST)&dev->node->translated);
    }
    if (NT_SUCCESS(st)) {
        dev->hw_prepared = true;
        if (dev->pnp.EvtDeviceD0Entry != NULL) {
            st = dev->pnp.EvtDeviceD0Entry((WDFDEVICE)dev, WdfPowerDeviceD3Final);
        }
        if (!NT_SUCCESS(st)) {
            wdf_leave_site(prev);
            power_down(dev, WdfPowerDeviceD3Final);
            return st;
        }
        dev->in_d0 = true;
        wdf_queue_power(dev, true);
        if (!dev->smio_done && dev->pnp.EvtDeviceSelfManagedIoInit != NULL) {
            st = dev->pnp.EvtDeviceSelfManagedIoInit((WDFDEVICE)dev);
        }
        dev->smio_done = true;
    }
    wdf_leave_site(prev);
    if (NT_SUCCESS(st)) {
        wdf_iface_set_device_state(dev, true);
    }
    return st;
}

static NTSTATUS
call_query(struct wdf_device *dev, PFN_WDF_DEVICE_QUERY_STOP cb)
{
    struct wdf_site prev;
    NTSTATUS st;

    if (cb == NULL) {
        return STATUS_SUCCESS;
    }
    prev = wdf_enter_device(dev);
    st = cb((WDFDEVICE)dev);
    wdf_leave_site(prev);
    return st;
}

static void
surprise_device(struct wdf_device *dev)
{
    if (dev->pnp.EvtDeviceSurpriseRemoval != NULL) {
        struct wdf_site prev = wdf_enter_device(dev);
        dev->pnp.EvtDeviceSurpriseRemoval((WDFDEVICE)dev);
        wdf_leave_site(prev);
    }
    wdf_iface_set_device_state(dev, false);
    wdf_queue_purge_device(dev, true, STATUS_CANCELLED);
    power_down(dev, WdfPowerDeviceD3Final);
}

static void
remove_device(struct wdf_device *dev)
{
    wdf_iface_set_device_state(dev, false);
    power_down(dev, WdfPowerDeviceD3Final);
    wdf_queue_purge_device(dev, false, STATUS_CANCELLED);
    wdf_device_drain_requests(dev);
    if (dev->smio_done && dev->pnp.EvtDeviceSelfManagedIoCleanup != NULL) {
        struct wdf_site prev = wdf_enter_device(dev);
        dev->pnp.EvtDeviceSelfManagedIoCleanup((WDFDEVICE)dev);
        wdf_leave_site(prev);
    }
}

/* Pre-forward work for IRPs that travel top-down.  Return: failure ends the IRP here. */
static NTSTATUS
fw_pre(struct wdf_device *dev, UCHAR minor)
{
    switch (minor) {
    case IRP_MN_QUERY_STOP_DEVICE: return call_query(dev, dev->pnp.EvtDeviceQueryStop);
    case IRP_MN_QUERY_REMOVE_DEVICE: return call_query(dev, dev->pnp.EvtDeviceQueryRemove);
    case IRP_MN_STOP_DEVICE: power_down(dev, WdfPowerDeviceD3); return STATUS_SUCCESS;
    case IRP_MN_SURPRISE_REMOVAL: surprise_device(dev); return STATUS_SUCCESS;
    case IRP_MN_REMOVE_DEVICE: remove_device(dev); return STATUS_SUCCESS;
    default: return STATUS_SUCCESS;
    }
}

NTSTATUS
wdf_fw_process(struct wdf_device *dev, PIRP irp)
{
    UCHAR minor = irp->Private->stack.MinorFunction;
    NTSTATUS st;

    irp->Private->level = dev->level;
    if (minor == IRP_MN_QUERY_INTERFACE && wdf_qi_handle(dev, irp, &st)) {
        irp->IoStatus.Status = st;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return st;
    }
    st = fw_pre(dev, minor);
    if (NT_SUCCESS(st)) {
        st = wdf_irp_forward_and_wait(dev, irp);
    }
    if (NT_SUCCESS(st) && minor == IRP_MN_START_DEVICE) {
        st = start_device(dev);
    }
    irp->IoStatus.Status = st;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return st;
}

/* ---- PnP manager operations ------------------------------------------------------ */

static NTSTATUS
send_pnp(struct wdf_node *node, UCHAR minor)
{
    struct pcivirt_irp_private priv;
    IRP irp;

    wdf_irp_init(&irp, &priv, node, minor);
    return wdf_irp_call(&irp, WDF_STACK_MAX - 1);
}

static void
set_state(struct wdf_node *node, enum wdf_pnp_state s)
{
    pthread_mutex_lock(&node->host->mu);
    node->state = s;
    pthread_cond_broadcast(&node->host->cv);
    pthread_mutex_unlock(&node->host->mu);
}

static NTSTATUS
start_locked(struct wdf_node *node)
{
    NTSTATUS st;

    if ((node->state != WDF_PNP_ADDED && node->state != WDF_PNP_STOPPED) || wdf_node_top(node) == NULL) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    wdf_node_take_resources(node);
    st = send_pnp(node, IRP_MN_START_DEVICE);
    set_state(node, NT_SUCCESS(st) ? WDF_PNP_STARTED : WDF_PNP_FAILED);
    return st;
}

static NTSTATUS
query_stop_locked(struct wdf_node *node)
{
    NTSTATUS st;

    if (node->state != WDF_PNP_STARTED) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    st = send_pnp(node, IRP_MN_QUERY_STOP_DEVICE);
    if (NT_SUCCESS(st)) {
        set_state(node, WDF_PNP_STOP_PENDING);
        return st;
    }
    /* A veto: the PnP manager tells the whole stack the stop is off. */
    (void)send_pnp(node, IRP_MN_CANCEL_STOP_DEVICE);
    return st;
}

/* In state @from only: send @minor down the stack and go to @to whatever the stack
 * answers (a stop or a cancel is not the drivers' to refuse). */
static NTSTATUS
transition_locked(struct wdf_node *node, enum wdf_pnp_state from, UCHAR minor, enum wdf_pnp_state to)
{
    NTSTATUS st;

    if (node->state != from) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    st = send_pnp(node, minor);
    set_state(node, to);
    return st;
}

static NTSTATUS
stop_locked(struct wdf_node *node)
{
    return transition_locked(node, WDF_PNP_STOP_PENDING, IRP_MN_STOP_DEVICE, WDF_PNP_STOPPED);
}

static void
delete_stack(struct wdf_node *node)
{
    for (int i = WDF_STACK_MAX - 1; i >= 1; i--) {
        struct wdf_device *dev;
        pthread_mutex_lock(&node->host->mu);
        dev = node->stack[i];
        pthread_mutex_unlock(&node->host->mu);
        if (dev != NULL) {
            wdf_device_delete_objects(dev);
        }
    }
}

static NTSTATUS
remove_locked(struct wdf_node *node)
{
    enum wdf_pnp_state s = node->state;
    NTSTATUS st;

    if (s != WDF_PNP_REMOVE_PENDING && s != WDF_PNP_SURPRISE_REMOVED && s != WDF_PNP_ADDED && s != WDF_PNP_FAILED) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    st = send_pnp(node, IRP_MN_REMOVE_DEVICE);
    delete_stack(node);
    set_state(node, WDF_PNP_REMOVED);
    if (s != WDF_PNP_SURPRISE_REMOVED) {
        wdf_targets_remove_complete(node, false);
    }
    return st;
}

static NTSTATUS
query_remove_locked(struct wdf_node *node)
{
    enum wdf_pnp_state s = node->state;
    NTSTATUS st;

    if (s != WDF_PNP_STARTED && s != WDF_PNP_STOPPED && s != WDF_PNP_ADDED && s != WDF_PNP_FAILED) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    st = wdf_targets_query_remove(node);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    st = send_pnp(node, IRP_MN_QUERY_REMOVE_DEVICE);
    if (!NT_SUCCESS(st)) {
        (void)send_pnp(node, IRP_MN_CANCEL_REMOVE_DEVICE);
        wdf_targets_remove_canceled(node);
        return st;
    }
    node->state_before_remove = s;
    set_state(node, WDF_PNP_REMOVE_PENDING);
    return st;
}

#define PNP_OP(name, body)                                                                                             \
    NTSTATUS name(struct wdf_node *node)                                                                               \
    {                                                                                                                  \
        NTSTATUS st;                                                                                                   \
        if (node == NULL) {                                                                                            \
            return STATUS_INVALID_PARAMETER;                                                                           \
        }                                                                                                              \
        if (wdf_check_blocking(node->host, #name)) {                                                                   \
            return STATUS_INVALID_DEVICE_STATE;                                                                        \
        }                                                                                                              \
        pthread_mutex_lock(&node->pnp_mu);                                                                             \
        body;                                                                                                          \
        pthread_mutex_unlock(&node->pnp_mu);                                                                           \
        return st;                                                                                                     \
    }

PNP_OP(wdf_pnp_start, st = start_locked(node))
PNP_OP(wdf_pnp_query_stop, st = query_stop_locked(node))
PNP_OP(wdf_pnp_stop, st = stop_locked(node))
PNP_OP(wdf_pnp_query_remove, st = query_remove_locked(node))
PNP_OP(wdf_pnp_remove, st = remove_locked(node))

static NTSTATUS
cancel_stop_locked(struct wdf_node *node)
{
    return transition_locked(node, WDF_PNP_STOP_PENDING, IRP_MN_CANCEL_STOP_DEVICE, WDF_PNP_STARTED);
}

static NTSTATUS
cancel_remove_locked(struct wdf_node *node)
{
    NTSTATUS st;

    if (node->state != WDF_PNP_REMOVE_PENDING) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    st = send_pnp(node, IRP_MN_CANCEL_REMOVE_DEVICE);
    set_state(node, node->state_before_remove);
    wdf_targets_remove_canceled(node);
    return st;
}

static NTSTATUS
surprise_locked(struct wdf_node *node)
{
    NTSTATUS st;

    if (node->state == WDF_PNP_REMOVED || node->state == WDF_PNP_SURPRISE_REMOVED) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    st = send_pnp(node, IRP_MN_SURPRISE_REMOVAL);
    set_state(node, WDF_PNP_SURPRISE_REMOVED);
    wdf_targets_remove_complete(node, true);
    return st;
}

PNP_OP(wdf_pnp_cancel_stop, st = cancel_stop_locked(node))
PNP_OP(wdf_pnp_cancel_remove, st = cancel_remove_locked(node))
PNP_OP(wdf_pnp_surprise_remove, st = surprise_locked(node))

static NTSTATUS
remove_device_locked(struct wdf_node *node)
{
    NTSTATUS st = query_remove_locked(node);

    return NT_SUCCESS(st) ? remove_locked(node) : st;
}

PNP_OP(wdf_pnp_remove_device, st = remove_device_locked(node))

NTSTATUS
wdf_pnp_rebalance(struct wdf_node *node, const CM_PARTIAL_RESOURCE_DESCRIPTOR *raw,
                  const CM_PARTIAL_RESOURCE_DESCRIPTOR *translated, ULONG count)
{
    NTSTATUS st;

    if (node == NULL || (count != 0 && (raw == NULL || translated == NULL))) {
        return STATUS_INVALID_PARAMETER;
    }
    if (wdf_check_blocking(node->host, "wdf_pnp_rebalance")) {
        return STATUS_INVALID_DEVICE_STATE;
    }
    pthread_mutex_lock(&node->pnp_mu);
    st = query_stop_locked(node);
    if (NT_SUCCESS(st)) {
        (void)stop_locked(node);
        st = wdf_node_set_resources(node, raw, translated, count);
        if (NT_SUCCESS(st)) {
            st = start_locked(node);
        }
    }
    pthread_mutex_unlock(&node->pnp_mu);
    return st;
}
