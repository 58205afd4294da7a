/*
 * vsp/stack.h - the virtualization stack as one object: what `pcivirt run`, the
 * scenario runner and the end-to-end tests drive.
 *
 * The parts (event log, IOMMU, PF registry, vPCI service, VM manager, brokers)
 * are wired in the one order docs/STACK.md gives, so a caller never has to know
 * it.  A stack lives on a runtime host (src/wdf): it finds PFs only through the
 * host's device-interface registry (GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE,
 * arrival and removal), opens each as a kernel-mode client target, queries its
 * interface tables and talks to it with the nine IOCTLs (vsp/broker.h), exactly
 * as the Windows stack does (contract.md 3, 4, 7).  It never calls the PF driver
 * directly, so any driver that honours the contract can sit below it.
 *
 * Time: by default the stack reads the host's clock, so a host on the virtual
 * clock (WDF_CLOCK_VIRTUAL) makes every stack deadline (query-stop answers, eject
 * windows) virtual too: wdf_host_clock_advance() moves them, and the stack's own
 * service thread, which sleeps on the host clock, applies them.
 * vsp_stack_tick() applies them at once for callers that drive time themselves.
 *
 * Threads: discovery runs on the host's notification thread, IOCTL completions
 * on its workers, ATTACH on one thread per PF (it may block across a rebalance,
 * contract.md 4.5), deadlines on the service thread, guest packets on one
 * dispatch thread per VM.  Every wait is bounded; vsp_stack_destroy() cancels
 * and joins all of it.  The caller's own threads may call any function here,
 * except that vsp_stack_destroy() must not race with the others.
 */
#ifndef PCIVIRT_VSP_STACK_H
#define PCIVIRT_VSP_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev/platform.h"
#include "dev/ports.h"
#include "pcivirt/wdf.h"
#include "vmbus/channel.h"
#include "vsp/broker.h"
#include "vsp/clock.h"
#include "vsp/events.h"
#include "vsp/vmm.h"
#include "vsp/vpci_host.h"

struct vsp_stack;
struct vsp_stack_vm;

/* 30 s: inside the reference PF's 120 s safety wait, half the 60 s eject window. */
#define VSP_QUERY_STOP_TIMEOUT_DEFAULT_NS (30ull * VSP_NS_PER_S)
#define VSP_STACK_MAX_PFS 64u

struct vsp_stack_policy {
    uint64_t query_stop_timeout_ns; /* 0: VSP_QUERY_STOP_TIMEOUT_DEFAULT_NS, on the stack clock */
    enum vsp_stop_policy on_no_answer;
    uint64_t eject_timeout_ns; /* 0: VSP_EJECT_TIMEOUT_DEFAULT_NS */
    /*
     * The SR-IOV table size asked for: 0 (or 144) asks version 2 and falls back to
     * version 1 (120) when the PF refuses; 120 asks version 1 only (contract.md 3.2).
     */
    uint16_t sriov_size;
};

struct vsp_stack_config {
    struct wdf_host *host;         /* required: where PFs are discovered */
    struct pv_platform *platform;  /* required: the address space VF BARs decode in */
    const struct vsp_clock *clock; /* NULL: the host's clock (recommended) */
    size_t log_capacity;           /* event-log records kept; 0: 65,536 */
    struct vsp_stack_policy policy;
};

/* One discovered PF. */
struct vsp_stack_pf_info {
    int id;         /* the stack's PF id (vmm, event log) */
    char link[160]; /* the interface instance's symbolic link */
    uint16_t num_vfs;
    bool v2;             /* the SR-IOV table is version 2 (144 bytes) */
    bool mitigable;      /* MITIGABLE_DEVICE_INTERFACE obtained */
    bool attached;       /* IOCTL_SRIOV_ATTACH succeeded and no DETACH since */
    bool stopping;       /* between QueryStop and Restart */
    uint32_t events;     /* PnP events received through NOTIFICATION (of the current attachment) */
    bool detaching;      /* vsp_stack_pf_detach() is taking its VFs out of their VMs */
    bool remove_pending; /* query-remove accepted: DETACHed until cancel-remove or removal */
    bool detached;       /* vsp_stack_pf_detach() done: nothing held; vsp_stack_pf_attach() */
};

struct vsp_stack_vm_config {
    const char *name;          /* NULL: "vm<id>" */
    uint64_t memory_bytes;     /* guest RAM, multiple of 4 KiB */
    vsp_irq_sink_fn *irq_sink; /* the VM's interrupt controller (may be NULL) */
    void *irq_ctx;
};

/**
 * vsp_stack_create() - build the stack (nothing is discovered yet).
 * Return: 0; PCIVIRT_EINVAL (missing host or platform, a bad policy);
 * PCIVIRT_ENOMEM.
 */
int vsp_stack_create(const struct vsp_stack_config *cfg, struct vsp_stack **out);

/**
 * vsp_stack_start() - subscribe to GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE
 * (existing instances count as arrivals) and start the service thread.  PFs then
 * arrive asynchronously: see vsp_stack_wait_pfs().
 * Return: 0; PCIVIRT_ESTATE (started already or shut down); PCIVIRT_ENOMEM.
 */
int vsp_stack_start(struct vsp_stack *s);

/**
 * vsp_stack_shutdown() - stop discovery, DETACH every PF, cancel the held
 * requests, release the tables; VMs stay (their VFs are surprise-removed).
 * Idempotent.
 */
void vsp_stack_shutdown(struct vsp_stack *s);

/* vsp_stack_destroy() - shutdown, then destroy VMs and every part (NULL accepted). */
void vsp_stack_destroy(struct vsp_stack *s);

/* The parts, for callers that need more than the facade (owned by the stack). */
struct vsp_event_log *vsp_stack_log(struct vsp_stack *s);
struct vsp_vmm *vsp_stack_vmm(struct vsp_stack *s);
struct vsp_vpci *vsp_stack_vpci(struct vsp_stack *s);
const struct vsp_clock *vsp_stack_clock(struct vsp_stack *s);

/* vsp_stack_ports() - the IOMMU's DMA and interrupt ports, to plug into devices (pv_sriov_set_ports). */
void vsp_stack_ports(struct vsp_stack *s, struct pv_dma_port *dma, struct pv_irq_port *irq);

/**
 * vsp_stack_wait_pfs() - wait (real time, at most @real_ms) until at least @n PFs
 * are bound and attached.  Return: true if reached.
 */
bool vsp_stack_wait_pfs(struct vsp_stack *s, unsigned n, unsigned real_ms);

/*
 * vsp_stack_pfs() - the PFs known now (bound, detaching, removal pending or
 * detached; not the removed ones).  Return: how many (only @max copied).
 */
size_t vsp_stack_pfs(struct vsp_stack *s, struct vsp_stack_pf_info *out, size_t max);

/* vsp_stack_pf_find() - the id of the PF whose link contains @instance_id, or -1. */
int vsp_stack_pf_find(struct vsp_stack *s, const char *instance_id);

/* How vsp_stack_pf_detach() takes a PF's VFs out of their VMs. */
enum vsp_detach_mode {
    VSP_DETACH_SURPRISE_REMOVE = 0, /* at once: the guests learn from a bus-relations update */
    VSP_DETACH_EJECT = 1,           /* PCI_EJECT; each guest has the eject window to acknowledge */
};

/**
 * vsp_stack_pf_detach() - let go of one PF while the stack, its VMs and the
 * other PFs keep running: every VF of it still in a VM leaves per @mode and
 * goes through the clean handoff (reset and check), then DETACH (the PF's
 * held requests are cancelled), the interface tables are dereferenced and the
 * target is closed.  From the first call no VF of the PF can be assigned.  With
 * VSP_DETACH_EJECT the guests must run to acknowledge (a window that expires
 * removes the VF forcibly, vsp_stack_tick()); the call waits at most @real_ms
 * (real time) and may be called again to go on waiting.  The PF keeps its id
 * and stays listed (vsp_stack_pf_info.detached).  Idempotent.
 * Return: 0 (detached); PCIVIRT_ETIMEDOUT (VFs still leaving: call again);
 * PCIVIRT_ENOENT (no such PF); PCIVIRT_ESTATE (its removal is pending);
 * PCIVIRT_EINVAL.
 */
int vsp_stack_pf_detach(struct vsp_stack *s, int pf, enum vsp_detach_mode mode, unsigned real_ms);

/**
 * vsp_stack_pf_attach() - bind a detached PF again under the same id: open its
 * interface instance, query the tables, probe NumVFs, start the broker (ATTACH
 * then runs on the broker's thread and may wait for a rebalance to end,
 * contract.md 4.5: see vsp_stack_wait_pfs()).  VFs start FREE and are vouched
 * for (reset and checked) before their first assignment.  No-op for a PF that
 * is bound.
 * Return: 0; PCIVIRT_ENOENT (no such PF); PCIVIRT_ESTATE (detaching, removal
 * pending, or the stack is shut down); PCIVIRT_EIO (the PF could not be opened
 * or bound: it stays detached, the reason is logged); PCIVIRT_EINVAL.
 */
int vsp_stack_pf_attach(struct vsp_stack *s, int pf);

/**
 * vsp_stack_vm_create() - a VM (memory, DMA domain, vPCI bus) with its channel:
 * the host end is served by the stack, the guest end is for the guest's vPCI bus
 * driver (vsp_stack_vm_channel()).
 * Return: 0; PCIVIRT_EINVAL; PCIVIRT_ENOSPC; PCIVIRT_ENOMEM.
 */
int vsp_stack_vm_create(struct vsp_stack *s, const struct vsp_stack_vm_config *cfg, struct vsp_stack_vm **out);

/* vsp_stack_vm_destroy() - stop serving, surprise-remove its VFs, free (NULL accepted). */
void vsp_stack_vm_destroy(struct vsp_stack_vm *vm);

struct vsp_vm *vsp_stack_vm_vm(struct vsp_stack_vm *vm);
struct vsp_vpci_host *vsp_stack_vm_host(struct vsp_stack_vm *vm);    /* MMIO exits go here */
struct vmbus_channel *vsp_stack_vm_channel(struct vsp_stack_vm *vm); /* the guest end; owned by @vm */

/**
 * vsp_stack_assign() - expose VF @vf of PF @pf on @vm's bus.  Before the guest
 * can touch it, the VF's trapped ranges are read (QUERY_MITIGATED_RANGE_COUNT /
 * RANGES) into its intercept map and a MITIGATED_RANGE_UPDATE is held for it.
 * Return: 0; PCIVIRT_ENOENT (unknown PF or VF); PCIVIRT_EBUSY; PCIVIRT_ESTATE
 * (quarantined; or the PF is stopping, detaching, detached or its removal is
 * pending); PCIVIRT_ENOSPC; PCIVIRT_EIO (the trap map
 * could not be read: the VF is not exposed); PCIVIRT_ENOMEM.
 */
int vsp_stack_assign(struct vsp_stack *s, int pf, uint16_t vf, struct vsp_stack_vm *vm, uint32_t *slot);

/* vsp_stack_eject() - vsp_vmm_eject(): PCI_EJECT, then the acknowledgment window. */
int vsp_stack_eject(struct vsp_stack *s, int pf, uint16_t vf, const char *reason);

/**
 * vsp_stack_tick() - apply every deadline due on the stack clock: eject windows,
 * query-stop answers (then the policy and EVENT_COMPLETE).
 * Return: the next deadline, or UINT64_MAX.
 */
uint64_t vsp_stack_tick(struct vsp_stack *s);

/*
 * A rebalance as the PnP manager runs it: query-stop (the stack's broker asks the
 * guests and answers the PF), stop, @move(@ctx) to give the device its new
 * resources (e.g. pv_sriov_assign_resources + wdf_node_set_resources), start.
 */
typedef int vsp_stack_move_fn(void *ctx);

/**
 * vsp_stack_rebalance_begin() - run that sequence on @node on a thread of the
 * stack (it blocks while guests are asked), so the caller can keep polling its
 * guests and ticking.  One at a time per stack.
 * Return: 0; PCIVIRT_EBUSY (one is running); PCIVIRT_EINVAL; PCIVIRT_ENOMEM.
 */
int vsp_stack_rebalance_begin(struct vsp_stack *s, struct wdf_node *node, vsp_stack_move_fn *move, void *ctx);

/**
 * vsp_stack_rebalance_end() - wait (real time, at most @real_ms) for it.
 * @status: the PnP outcome: the query-stop veto, the start status, or
 * STATUS_SUCCESS; STATUS_UNSUCCESSFUL when @move failed.
 * Return: 0; PCIVIRT_ETIMEDOUT (still running: call again); PCIVIRT_ESTATE (none).
 */
int vsp_stack_rebalance_end(struct vsp_stack *s, unsigned real_ms, NTSTATUS *status);

#endif /* PCIVIRT_VSP_STACK_H */
