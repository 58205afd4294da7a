/*
 * tests/pf/mini_pf.h - the private header of the mini PF driver (mini_pf.c,
 * mini_pf_io.c).
 *
 * The mini driver is a second PF driver written apart from the reference one
 * (src/pf): only the public headers (pcivirt.h, wdf.h, bus.h) and the
 * conformance suite's admin-hook type.  Each broken variant is one MINI_PF_BUG
 * value, chosen at compile time by tests/pf/targets.cmake, so a variant's
 * mistake is a line of code a driver author could write - not a switch inside
 * a correct driver.  Two groups:
 *
 *   mistakes a reader of the documentation makes (test_conform_mini.c):
 *     EXAMPLE_LARGE   GetResourceForBar as the docs' example: divides
 *                     u.Memory.Length even for a MemoryLarge aperture (6.9, 10.17)
 *     SAL_BOUND       block Length checked as the SAL annotation says, < 128 (6.3, 10.4)
 *     EXAMPLE_NOTIFY  NOTIFICATION as the docs' example: queued unchecked, the
 *                     event taken before the buffer is fetched, so a short
 *                     buffer loses it (4.3, 10.18)
 *
 *   the defects the conformance suite's self-test names (test_conform_broken.c):
 *     NOTIFY_ALL      an event completes every queued NOTIFICATION (4.3, 7.2)
 *     DETACH_KEEPS    DETACH ends the attachment but forgets the PnP thread
 *                     waiting for EVENT_COMPLETE, so QUERY_STOP stays held (4.6)
 *     BLOCK_129       block Length bounded by a storage size with a spare byte (6.3)
 *     PROXY_LUID      PROXY_QUERY_LUID answers VF 0's LUID, not QueryLuid's (4.11)
 *     V2_CLAIM        the query callback stamps Size 144 / Version 2 on every
 *                     answer, also to a 120-byte requester (3.2)
 *     NO_COALESCE     an invalidation with no INVALIDATE_BLOCK held is dropped (4.7)
 *     LEAK_HELD       removal completes the NOTIFICATION queue only; the
 *                     INVALIDATE_BLOCK requests the driver holds itself stay its own (7.6)
 *     USER_ATTACH     the requestor-mode test lets ATTACH through from user mode (4.2)
 *
 * Out of scope (the suite fails or skips them on the mini driver, by design):
 * the config-space view, VF reset and power, trapped ranges (IOCTLs 6-8 are
 * refused), the Restart event, the rebalance's resource re-read.
 */
#ifndef PCIVIRT_TESTS_PF_MINI_PF_H
#define PCIVIRT_TESTS_PF_MINI_PF_H

#include "pcivirt/bus.h"
#include "pcivirt/pcivirt.h"
#include "pcivirt/wdf.h"

#define MINI_BUG_NONE 0
#define MINI_BUG_EXAMPLE_LARGE 1
#define MINI_BUG_SAL_BOUND 2
#define MINI_BUG_EXAMPLE_NOTIFY 3
#define MINI_BUG_NOTIFY_ALL 4
#define MINI_BUG_DETACH_KEEPS 5
#define MINI_BUG_BLOCK_129 6
#define MINI_BUG_PROXY_LUID 7
#define MINI_BUG_V2_CLAIM 8
#define MINI_BUG_NO_COALESCE 9
#define MINI_BUG_LEAK_HELD 10
#define MINI_BUG_USER_ATTACH 11

#ifndef MINI_PF_BUG
#define MINI_PF_BUG MINI_BUG_NONE
#endif

#define MINI_BLOCK_LEN 128
#define MINI_MAX_BLOCKS 4 /* block 1, plus the ones the suite declares */
#define MINI_MAX_VFS 64
#define MINI_MAX_HELD 8 /* INVALIDATE_BLOCK requests held at once */
#define MINI_LUID_HIGH 0x4D494E49

/* One configuration block: its id and each VF's bytes. */
struct mini_block {
    ULONG id;
#if MINI_PF_BUG == MINI_BUG_BLOCK_129
    UCHAR data[MINI_MAX_VFS][MINI_BLOCK_LEN + 1]; /* "room for a terminator" */
#else
    UCHAR data[MINI_MAX_VFS][MINI_BLOCK_LEN];
#endif
};

typedef struct _MINI_CONTEXT {
    WDFDEVICE Device;
    PCIVIRT_BUS_INTERFACE Bus;
    BOOLEAN HaveBus;
    struct pcivirt_bus_resources Res;
    USHORT Sriov;
    USHORT NumVfs;
    ULONG VfBarRegs[6];

    /* Everything below is under Lock. */
    WDFWAITLOCK Lock;
    struct mini_block Blocks[MINI_MAX_BLOCKS];
    unsigned BlockCount;

    /* PnP events (contract.md 4.3-4.6). */
    WDFQUEUE Notifications;
    KEVENT Unblock;
    BOOLEAN Attached;
    BOOLEAN EventNew;     /* raised, not yet carried by a NOTIFICATION */
    BOOLEAN EventPending; /* the PnP thread waits for EVENT_COMPLETE */
    SRIOV_PF_EVENT Event;
    NTSTATUS EventStatus;

    /* The ATTACH gate (4.5): closed from QUERY_STOP to CANCEL_STOP or the next START. */
    KEVENT GateOpen;
    BOOLEAN Gone; /* surprise-removed or removed */

    /* Invalidations (4.7): pending masks, and the requests held to carry them. */
    ULONGLONG Pending[MINI_MAX_VFS];
    ULONGLONG PendingAll;
    WDFREQUEST Held[MINI_MAX_HELD];
} MINI_CONTEXT, *PMINI_CONTEXT;

WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(MINI_CONTEXT, MiniGetContext)

/* ---- mini_pf.c ---- */
/* The device's LUID (@Vf == 0xFFFF) or VF @Vf's: made from the PF's routing ID. */
LUID mini_luid_of(PMINI_CONTEXT Ctx, USHORT Vf);

/* ---- mini_pf_io.c ---- */
/* Create the default queue (both majors) and the NOTIFICATION queue. */
NTSTATUS mini_create_queues(PMINI_CONTEXT Ctx);
/* The PnP IRPs the driver handles itself: QUERY_STOP, CANCEL_STOP, START, removal. */
NTSTATUS mini_pnp_preprocess(WDFDEVICE Device, PIRP Irp);
/* Record an invalidation of @Mask for @Vf (or ALL_VFS) and complete a held request if any. */
VOID mini_invalidate(PMINI_CONTEXT Ctx, USHORT Vf, ULONGLONG Mask);

#endif /* PCIVIRT_TESTS_PF_MINI_PF_H */
