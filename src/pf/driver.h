/*
 * pf/driver.h - the reference PF driver's private umbrella header.
 *
 * Laid out like a KMDF sample (style-anchors.md F): driver.c (DriverEntry and
 * EvtDriverDeviceAdd), device.c (device creation, interfaces, PnP), queue.c (the
 * nine IOCTLs), sriov_iface.c (the SRIOV_DEVICE_INTERFACE_STANDARD(_2) callbacks),
 * mitigation.c (MITIGABLE_DEVICE_INTERFACE and IOCTLs 6-8), hw/ (the device
 * binding, through the bus interface only).  KMDF names at this boundary
 * (STYLE.md rule 10); the policy cores it drives (pnp, blocks, inval, mitig,
 * cfgview, resource) are plain C modules with their own unit tests.
 *
 * Locks, none held across a wait:
 *   PnpLock (WDFWAITLOCK)     the pf_pnp state machine and the NOTIFICATION queue;
 *                             nothing else is taken under it
 *   HwLock (util/rwlock.h)   the hardware binding and the per-start state; the
 *                             interface callbacks take it shared, start/stop exclusive
 *   IoLock (WDFWAITLOCK)      held INVALIDATE_BLOCK / MITIGATED_RANGE_UPDATE requests
 *                             and pending masks; may be taken with HwLock held shared,
 *                             never the other way round
 */
#ifndef PCIVIRT_PF_DRIVER_H
#define PCIVIRT_PF_DRIVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "pcivirt/pcivirt.h"
#include "pcivirt/wdf.h"
#include "pf/blocks.h"
#include "pf/cfgview.h"
#include "pf/hw/hw.h"
#include "pf/inval.h"
#include "pf/mitig.h"
#include "pf/pf.h"
#include "pf/pnp.h"
#include "pf/resource.h"
#include "util/list.h"
#include "util/rwlock.h"

/* Driver-wide settings (the "registry" of the service). */
typedef struct _PF_DRIVER_CONTEXT {
    bool LowerFilter;      /* runs as a lower filter under a port driver */
    uint16_t RequestedVfs; /* 0 = InitialVFs (or TotalVFs) */
    LONGLONG WaitTimeout;  /* NT relative timeout for the PnP waits */
} PF_DRIVER_CONTEXT, *PPF_DRIVER_CONTEXT;

WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(PF_DRIVER_CONTEXT, PfDriverGetContext)

/* A held IOCTL_SRIOV_MITIGATED_RANGE_UPDATE, keyed by its input VfIndex. */
struct pf_held_update {
    struct list_node node;
    WDFREQUEST request;
    uint16_t vf;
};

typedef struct _PF_DEVICE_CONTEXT {
    WDFDEVICE Device;
    LONGLONG WaitTimeout;
    uint16_t RequestedVfs;

    /* PnP (contract.md 7.2): state, the NOTIFICATION queue, the two events. */
    WDFWAITLOCK PnpLock;
    struct pf_pnp Pnp;
    WDFQUEUE NotificationQueue; /* manual, not power-managed (contract.md 4.3) */
    KEVENT SafeToAttachEvent;   /* notification event: the ATTACH gate */
    KEVENT UnblockEvent;        /* notification event: EVENT_COMPLETE / DETACH */

    /* Held inverted calls other than NOTIFICATION. */
    WDFWAITLOCK IoLock;
    WDFQUEUE InvalidateQueue; /* manual, not power-managed */
    struct list_node HeldUpdates;
    struct pf_inval *Inval; /* pending masks (under IoLock) */

    /* The hardware binding and everything sized by NumVFs. */
    struct pv_rwlock HwLock; /* striped: callbacks on different CPUs share no written line */
    bool HwLockReady;
    struct pf_hw Hw;
    bool Started; /* between PrepareHardware and ReleaseHardware */
    bool Removed; /* REMOVE or SURPRISE_REMOVAL seen */
    uint16_t NumVfs;
    struct pf_cfgview *CfgView;
    struct pf_blocks *Blocks;
    struct pf_mitig *Mitig;
    struct pf_luids Luids;

    /* Per-VF power state recorded by SetVfPowerState (contract.md 6.8). */
    uint8_t *VfPower; /* DEVICE_POWER_STATE per VF */
    uint8_t *VfWake;

    /* Interface references handed out (for the conformance suite and tests). */
    volatile LONG InterfaceRefs;
} PF_DEVICE_CONTEXT, *PPF_DEVICE_CONTEXT;

WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(PF_DEVICE_CONTEXT, PfDeviceGetContext)

/* Block 0 layout: MAC (0..5), reserved (6..7), queue limit (8..11), rate limit (12..15). */
#define PF_BLOCK_VF_INFO_LEN 16

/* ---- driver.c ---- */
/* EvtDriverDeviceAdd: sets the filter role if configured, then PfDeviceCreate(). */
EVT_WDF_DRIVER_DEVICE_ADD PfEvtDeviceAdd;

/* ---- device.c ---- */
/* Create the device, its interface, both QI tables and the queues (contract.md 3.1). */
NTSTATUS PfDeviceCreate(PWDFDEVICE_INIT DeviceInit, PPF_DRIVER_CONTEXT DriverContext);
/* Perform the pf_pnp actions @Actions (queues, events); PnpLock held. */
VOID PfPnpApplyLocked(PPF_DEVICE_CONTEXT Ctx, unsigned Actions, NTSTATUS CancelStatus);
/* Take HwLock shared and check the device is started: STATUS_SUCCESS (then call PfHwLeave),
 * STATUS_DEVICE_NOT_READY (stopped) or STATUS_NO_SUCH_DEVICE (removed), lock not held. */
NTSTATUS PfHwEnter(PPF_DEVICE_CONTEXT Ctx);
VOID PfHwLeave(PPF_DEVICE_CONTEXT Ctx);

/* ---- queue.c ---- */
/* The default parallel queue and the two manual queues, none power-managed (contract.md 4.2, 4.3). */
NTSTATUS PfQueueInitialize(PPF_DEVICE_CONTEXT Ctx);
/* The IOCTL dispatcher for both majors. */
EVT_WDF_IO_QUEUE_IO_DEVICE_CONTROL PfEvtIoDeviceControl;
/* Complete queued NOTIFICATIONs with the undelivered event, once; PnpLock held. */
VOID PfNotifyDeliver(PPF_DEVICE_CONTEXT Ctx);
/* Complete every queued NOTIFICATION with @Status; PnpLock held. */
VOID PfCancelNotifications(PPF_DEVICE_CONTEXT Ctx, NTSTATUS Status);
/* Record an invalidation and complete a held INVALIDATE_BLOCK if there is one (contract.md 4.7). */
VOID PfInvalidatePost(PPF_DEVICE_CONTEXT Ctx, USHORT VfIndex, UINT64 Mask);
/* Complete every held INVALIDATE_BLOCK and RANGE_UPDATE with @Status (removal, contract.md 7.6). */
VOID PfCompleteHeldRequests(PPF_DEVICE_CONTEXT Ctx, NTSTATUS Status);

/* ---- sriov_iface.c ---- */
/* Fill the whole version-2 table; the caller registers its first 120 bytes as version 1. */
VOID PfFillSriovInterface(PPF_DEVICE_CONTEXT Ctx, PSRIOV_DEVICE_INTERFACE_STANDARD_2 Table);
/* Query callback: append the version-2 tail for a 144-byte, version-2 requester (contract.md 3.2). */
EVT_WDF_DEVICE_PROCESS_QUERY_INTERFACE_REQUEST PfEvtSriovQueryInterface;

/* ---- mitigation.c ---- */
/* Fill the MITIGABLE_DEVICE_INTERFACE (40 bytes, version 1). */
VOID PfFillMitigableInterface(PPF_DEVICE_CONTEXT Ctx, PMITIGABLE_DEVICE_INTERFACE Table);
/* IOCTLs 6, 7 and 8 (contract.md 4.8-4.10); each completes or holds @Request. */
VOID PfIoctlMitigatedRangeCount(PPF_DEVICE_CONTEXT Ctx, WDFREQUEST Request);
VOID PfIoctlMitigatedRanges(PPF_DEVICE_CONTEXT Ctx, WDFREQUEST Request);
VOID PfIoctlMitigatedRangeUpdate(PPF_DEVICE_CONTEXT Ctx, WDFREQUEST Request);
/* Complete the held RANGE_UPDATE of every VF whose ranges changed. */
VOID PfMitigationRangesChanged(PPF_DEVICE_CONTEXT Ctx);
/* Complete every held RANGE_UPDATE with @Status. */
VOID PfMitigationCompleteAll(PPF_DEVICE_CONTEXT Ctx, NTSTATUS Status);

#endif /* PCIVIRT_PF_DRIVER_H */
