/*
 * vsp/vpci_host.h - the host end of each VM's vPCI bus (contract.md 8).
 *
 * One vsp_vpci object serves a stack; one vsp_vpci_host per VM speaks the Hyper-V
 * PCI pass-through protocol over that VM's channel (src/vmbus) and turns every
 * guest request into calls on the PF's interface table (vsp/pfif.h):
 *
 *   QUERY_PROTOCOL_VERSION      1.1 .. 1.4 accepted; others STATUS_REVISION_MISMATCH
 *   QUERY_BUS_RELATIONS         BUS_RELATIONS (< 1.3) or BUS_RELATIONS2 (>= 1.3) from
 *                               the VM manager's slots: IDs from GetVendorAndDevice,
 *                               revision/class/subsystem via ReadVfConfig, serial from vmm
 *   QUERY_RESOURCE_REQUIREMENTS QueryProbedBars_2 (v2 table) or QueryProbedBars (v1)
 *   RESOURCES_ASSIGNED(2/3)     GetResourceForBar per BAR, cached for guest BAR access
 *   RESOURCES_RELEASED          mapping and the VF's interrupt entries dropped
 *   BUS_D0ENTRY / D0EXIT        the 8 KiB config window (page 0 slot select, page 1 config)
 *   READ_BLOCK / WRITE_BLOCK    ReadVfConfigBlock / WriteVfConfigBlock (1..128 bytes)
 *   POWER_STATE_CHANGE          SetVfPowerState
 *   CREATE/DELETE_INTERRUPT_MESSAGE(2/3)  interrupt remapping entries (vsp/iommu.h)
 *   EJECTION_COMPLETE           vsp_vmm_ejection_complete()
 * and sends BUS_RELATIONS when the VM's bus changes, PCI_EJECT when the VM manager
 * ejects a slot, PCI_INVALIDATE_BLOCK when the broker hands it a completed
 * IOCTL_SRIOV_INVALIDATE_BLOCK.
 *
 * Trust: every packet is decoded by src/vmbus (lengths, ranges, direction,
 * version), then checked here against the bus state: nothing before version
 * negotiation, no second D0 entry, no resources before the requirements query, no
 * request for an empty slot.  A refused request is answered with a status
 * (STATUS_BAD_DATA for malformed or out-of-order packets) when the guest asked for
 * an answer, otherwise dropped; both are logged (bad-packet / guest-error events).
 * Every send to the guest is bounded (send_timeout_ns): a guest that stops reading
 * its ring loses messages (logged), it never blocks the stack.
 *
 * Guest MMIO (the VM's exits) enters through vsp_vpci_host_mmio_read/_write: the
 * config window, or a VF BAR the guest placed with config writes.  BAR accesses go
 * straight to the device through the platform address space at the host address
 * GetResourceForBar gave, except pages the VF's trap map marks, which go to
 * ReadWriteMitigatedRegister.  Which config registers the stack emulates is
 * decided in docs/STACK.md (contract 10.20).
 *
 * Threads: each host runs one dispatch thread for its channel; MMIO may arrive on
 * any number of vCPU threads.  A reader/writer lock per host guards the slot
 * table: MMIO reads and block/config requests take it shared, bus changes and
 * config writes exclusive.  The VM manager's bus callbacks take it exclusive, so
 * when vsp_vmm has removed a VF and called relations_changed, no guest access to
 * that VF is still in flight when the VF is reset and handed to another VM.
 */
#ifndef PCIVIRT_VSP_VPCI_HOST_H
#define PCIVIRT_VSP_VPCI_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "dev/platform.h"
#include "pcivirt/pcivirt.h"
#include "vmbus/channel.h"
#include "vsp/clock.h"
#include "vsp/events.h"
#include "vsp/pfif.h"
#include "vsp/vmm.h"

struct vsp_vpci;
struct vsp_vpci_host;

/* The protocol versions this host speaks (contract.md 8.3: what Linux offers). */
#define VSP_VPCI_VERSION_MIN PCI_PROTOCOL_VERSION_1_1
#define VSP_VPCI_VERSION_MAX PCI_PROTOCOL_VERSION_1_4

/* Interrupt remapping entries one slot may hold (the MSI-X table limit). */
#define VSP_VPCI_MAX_IRQS_PER_SLOT 2048u

#define VSP_VPCI_SEND_TIMEOUT_DEFAULT_NS (100 * VSP_NS_PER_MS)

struct vsp_vpci_config {
    struct vsp_event_log *log;    /* may be NULL */
    struct vsp_pfs *pfs;          /* required: PF id -> interface tables */
    struct pv_platform *platform; /* required: where VF BARs decode on the host */
    int64_t send_timeout_ns;      /* bound on every host -> guest send; 0: default */
    int64_t poll_ns;              /* dispatch receive timeout; 0: 20 ms */
};

/* Counters of one host (monotonic). */
struct vsp_vpci_stats {
    uint64_t requests;     /* well-formed guest messages handled */
    uint64_t refused;      /* malformed, out-of-order or refused messages */
    uint64_t config_reads; /* config window reads */
    uint64_t config_writes;
    uint64_t mmio_direct;       /* BAR accesses sent straight to the device */
    uint64_t mmio_trapped;      /* BAR accesses sent to ReadWriteMitigatedRegister */
    uint64_t mmio_unclaimed;    /* MMIO nothing decoded (reads all-ones) */
    uint64_t sends_lost;        /* host -> guest messages the guest's ring did not take in time */
    uint64_t queries_abandoned; /* PCI_QUERY_STOPs whose round ended (or wait ran out) before the answer */
};

/**
 * vsp_vpci_create() - the stack's vPCI service, with no hosts yet.
 * Return: 0; PCIVIRT_EINVAL (missing pfs or platform); PCIVIRT_ENOMEM.
 */
int vsp_vpci_create(const struct vsp_vpci_config *cfg, struct vsp_vpci **out);

/* vsp_vpci_destroy() - free (NULL accepted); every host must be destroyed first. */
void vsp_vpci_destroy(struct vsp_vpci *vpci);

/**
 * vsp_vpci_bus_ops() - the VM manager's bus_ops (ctx = the vsp_vpci): bus changes
 * become BUS_RELATIONS, ejects PCI_EJECT, for the VM's host if it has one.
 */
const struct vsp_bus_ops *vsp_vpci_bus_ops(void);

/**
 * vsp_vpci_host_create() - serve @vm's vPCI bus over @ch and start its dispatch thread.
 * @vmm, @vm: the VM (must outlive the host).
 * @ch: the host end of the VM's channel; owned by the host from now on (also on failure).
 *
 * Return: 0; PCIVIRT_EINVAL; PCIVIRT_EEXIST (the VM has a host); PCIVIRT_ENOMEM.
 */
int vsp_vpci_host_create(struct vsp_vpci *vpci, struct vsp_vmm *vmm, struct vsp_vm *vm, struct vmbus_channel *ch,
                         struct vsp_vpci_host **out);

/* vsp_vpci_host_destroy() - rescind the channel, join the thread, drop every reference (NULL accepted). */
void vsp_vpci_host_destroy(struct vsp_vpci_host *host);

/* vsp_vpci_host_version() - the negotiated protocol version, 0 before negotiation. */
uint32_t vsp_vpci_host_version(struct vsp_vpci_host *host);

/* vsp_vpci_host_stats() - copy the counters. */
void vsp_vpci_host_stats(struct vsp_vpci_host *host, struct vsp_vpci_stats *out);

/**
 * vsp_vpci_host_mmio_read() / _write() - a guest MMIO access of @len (1..8) bytes at @gpa.
 *
 * Return: 0; PCIVIRT_ENOENT when nothing the host emulates decodes @gpa (reads fill
 * all-ones, writes are dropped, like a master abort); PCIVIRT_ERANGE for an access
 * that crosses the end of a BAR or a config page (all-ones / dropped);
 * PCIVIRT_EINVAL for a bad @len; a device error from the BAR access.
 */
int vsp_vpci_host_mmio_read(struct vsp_vpci_host *host, uint64_t gpa, void *data, uint32_t len);
int vsp_vpci_host_mmio_write(struct vsp_vpci_host *host, uint64_t gpa, const void *data, uint32_t len);

/**
 * vsp_vpci_invalidate() - deliver a completed IOCTL_SRIOV_INVALIDATE_BLOCK of PF @pf
 * (VfIndex or SRIOV_INVALIDATE_BLOCK_ALL_VFS, BlockMask) to the VMs holding the VFs:
 * PCI_INVALIDATE_BLOCK {slot, mask}.  Masks not yet delivered (guest ring full, or
 * version not negotiated yet) are ORed per slot and sent later, never dropped while
 * the VF stays in that slot (contract.md 4.7, 7.4).
 *
 * Return: the number of slots the mask was queued for (0: no VM holds such a VF).
 */
unsigned vsp_vpci_invalidate(struct vsp_vpci *vpci, int pf, const SRIOV_INVALIDATE_BLOCK *ib);

/**
 * vsp_vpci_remap() - PF @pf restarted with new resources (SriovEventPfRestart,
 * contract.md 7.2 step 5, 10.21): ask GetResourceForBar again for every slot of every
 * VM that holds one of its VFs with resources assigned, so guest BAR accesses reach
 * the BARs where they are now.  A slot whose new resources do not fit its BARs stops
 * decoding (logged).
 *
 * Return: the number of slots remapped.
 */
unsigned vsp_vpci_remap(struct vsp_vpci *vpci, int pf);

/*
 * The guest leg of a PF rebalance (contract.md 7.2 step 2, 10.13; our message
 * layout and meaning in docs/VPCI-PROTOCOL.md): PCI_QUERY_STOP {slot} is a request
 * whose completion status is the guest's answer (success: it has quiesced the
 * device and may lose it for a while; failure: a veto).  PCI_REENABLE {slot}
 * tells it the PF restarted (BARs may have moved on the host: guest addresses
 * stay, the stack re-maps them), PCI_QUERY_STOP_FAILED that the stop was
 * cancelled.
 */

/*
 * The answer of one slot: with @answered, @status is the guest's completion
 * status; without, why there is none: STATUS_IO_TIMEOUT (no answer within the
 * wait), STATUS_CANCELLED (the round's stop-over, or a newer round's query to the
 * slot, came first), STATUS_DEVICE_REMOVED (channel gone, host destroyed),
 * STATUS_BAD_DATA (a malformed answer), another send failure (the query could not
 * be sent), STATUS_INSUFFICIENT_RESOURCES.  Called exactly once per asked slot,
 * with no lock held: from the thread that asked (a query that could not be sent
 * or was replaced), from the VM's dispatch thread (the answer, the wait's end,
 * the channel's end) or from the thread that ended the round (cancelled).
 */
typedef void vsp_vpci_answer_fn(void *ctx, uint64_t cookie, int vm, uint32_t slot, int pf, uint16_t vf, bool answered,
                                NTSTATUS status);

/**
 * vsp_vpci_query_stop() - send PCI_QUERY_STOP to every slot, in every VM whose
 * guest negotiated a version, that holds a VF of PF @pf, and return without
 * waiting; each answer is reported to @fn with @cookie, and a slot that has not
 * answered within @wait_ns (real time) is reported STATUS_IO_TIMEOUT.  A slot
 * whose previous query still waits has it replaced (vpci_stop.c, "Order").
 *
 * Return: the number of slots @fn will be called for.
 */
unsigned vsp_vpci_query_stop(struct vsp_vpci *vpci, int pf, uint64_t cookie, int64_t wait_ns, vsp_vpci_answer_fn *fn,
                             void *ctx);

/**
 * vsp_vpci_stop_done() - the rebalance of PF @pf ended: PCI_REENABLE (@restarted)
 * or PCI_QUERY_STOP_FAILED to every slot holding one of its VFs (a query still
 * waiting there is reported STATUS_CANCELLED first, and its late answer dropped).
 * The bus relations are not sent again: a stop changes no child (the guest's
 * view of its BARs stays; vsp_vpci_remap() moved only what lies behind them),
 * and every change of the slot table already sends them.  Call vsp_vpci_remap()
 * first.  Return: the number of slots told.
 */
unsigned vsp_vpci_stop_done(struct vsp_vpci *vpci, int pf, bool restarted);

#endif /* PCIVIRT_VSP_VPCI_HOST_H */
