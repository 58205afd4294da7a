/*
 * vsp/vmm.h - VMs and VF assignment: who holds which VF, and the clean handoff.
 *
 * This is the stack's bookkeeping core (issue 6 "VMs", "Clean handoff"),
 * independent of how PFs are reached and how packets travel, so that its rules
 * can be tested on their own:
 *
 *  - a VM owns its guest memory (vsp/gmem.h), one IOMMU domain mapping all of
 *    it at IOVA = GPA (the DDA model: the device sees guest physical
 *    addresses), its IRTE table, and one vPCI bus of 32 slots (wslot device
 *    numbers 0..31, function 0; contract.md 8.3 "Slot encoding").
 *  - a VF is known by (PF id, VfIndex) with its routing ID.  States:
 *      FREE --assign--> ASSIGNED --eject--> EJECTING --ack or window--> HANDOFF
 *      ASSIGNED/EJECTING --surprise removal--> HANDOFF
 *      HANDOFF --reset + clean check ok--> FREE,  --check fails--> QUARANTINED
 *    Only FREE VFs can be assigned, so a VF never reaches a second VM before it
 *    was reset (ResetVf, i.e. FLR) and checked clean.
 *  - every exposed VF gets a serial number (contract.md 8.10), unique for the
 *    lifetime of the manager; re-assigning the same VF gives a new one, so a
 *    guest never confuses two exposures that reuse a slot.
 *  - eject: PCI_EJECT is requested through the bus callbacks and the guest has
 *    an acknowledgment window (60 s by default, the only number known, contract
 *    8.6 / 7.2) measured on the stack clock; vsp_vmm_tick() applies expired
 *    windows: timeout event, forced removal, handoff.
 *
 * How the manager reaches the outside: vf_ops (reset and device-level clean
 * check, implemented by the PF binding through the SR-IOV interface table and
 * the device) and bus_ops (tell a guest its bus changed or eject a slot,
 * implemented by the vPCI host).  Both are called without the manager's lock
 * held, so they may call back in.  Removal detaches the VF's routing ID from
 * the VM's IOMMU domain and frees its IRTEs before the guest is told, so a
 * departing VF can neither DMA into nor interrupt its former VM.
 *
 * Thread-safe: one mutex guards all state; no callback runs under it.
 */
#ifndef PCIVIRT_VSP_VMM_H
#define PCIVIRT_VSP_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcivirt/nt.h"
#include "vsp/clock.h"
#include "vsp/events.h"
#include "vsp/gmem.h"
#include "vsp/iommu.h"

#define VSP_VPCI_SLOTS 32u
#define VSP_EJECT_TIMEOUT_DEFAULT_NS (60ull * VSP_NS_PER_S) /* contract.md 8.6 */
#define VSP_VMM_MAX_VMS 4096u

struct vsp_vmm;
struct vsp_vm;

enum vsp_vf_state {
    VSP_VF_FREE,
    VSP_VF_ASSIGNED,
    VSP_VF_EJECTING,
    VSP_VF_HANDOFF,
    VSP_VF_QUARANTINED,
};

/* Reaching the PF and device for a VF leaving a VM. */
struct vsp_vf_ops {
    /* ResetVf (FLR).  Return: the PF's status. */
    NTSTATUS (*reset)(void *ctx, int pf, uint16_t vf_index);
    /*
     * Device-level clean check after the reset: config (Command, MSI-X, BAR
     * decode), config blocks, BAR register state, pending DMA and interrupts.
     * Return: true when clean; otherwise write the first finding into @why.
     */
    bool (*check_clean)(void *ctx, int pf, uint16_t vf_index, char *why, size_t why_len);
};

/* Telling a guest.  The vPCI host turns these into BUS_RELATIONS / PCI_EJECT. */
struct vsp_bus_ops {
    void (*relations_changed)(void *ctx, struct vsp_vm *vm);
    void (*eject)(void *ctx, struct vsp_vm *vm, uint32_t slot);
};

struct vsp_vmm_config {
    const struct vsp_clock *clock;   /* required */
    struct vsp_event_log *log;       /* may be NULL */
    struct vsp_iommu *iommu;         /* required */
    const struct vsp_vf_ops *vf_ops; /* required */
    void *vf_ctx;
    const struct vsp_bus_ops *bus_ops; /* may be NULL: guests are not told */
    void *bus_ctx;
    uint64_t eject_timeout_ns; /* 0: VSP_EJECT_TIMEOUT_DEFAULT_NS */
};

struct vsp_vm_config {
    const char *name;      /* copied; NULL → "vm<id>" */
    uint64_t memory_bytes; /* guest memory, multiple of 4 KiB */
    unsigned irte_count;   /* 0 → 256 */
    vsp_irq_sink_fn *irq_sink;
    void *irq_ctx;
};

/* A VF as the manager sees it (a copy). */
struct vsp_vf_info {
    int pf;
    uint16_t vf_index;
    uint16_t rid;
    enum vsp_vf_state state;
    int vm;               /* VM id, or VSP_EV_NONE */
    uint32_t slot;        /* wslot (device number) while ASSIGNED/EJECTING */
    uint32_t serial;      /* of the current exposure, 0 when not exposed */
    uint64_t deadline_ns; /* end of the eject window while EJECTING */
};

/**
 * vsp_vmm_create() - an empty manager.
 * Return: 0; PCIVIRT_EINVAL (missing clock, iommu or vf_ops); PCIVIRT_ENOMEM.
 */
int vsp_vmm_create(const struct vsp_vmm_config *cfg, struct vsp_vmm **out);

/* vsp_vmm_destroy() - destroy every VM (surprise-removing their VFs) and free (NULL accepted). */
void vsp_vmm_destroy(struct vsp_vmm *vmm);

/**
 * vsp_vm_create() - a VM with zeroed memory, an identity-mapped DMA domain and an empty bus.
 * Return: 0; PCIVIRT_EINVAL (memory size, irte_count); PCIVIRT_ENOSPC (too many
 * VMs); PCIVIRT_ENOMEM.  VM ids start at 1 and are never reused.
 */
int vsp_vm_create(struct vsp_vmm *vmm, const struct vsp_vm_config *cfg, struct vsp_vm **out);

/* vsp_vm_destroy() - surprise-remove the VM's VFs (each handed off), then free it (NULL accepted). */
void vsp_vm_destroy(struct vsp_vm *vm);

int vsp_vm_id(const struct vsp_vm *vm);
const char *vsp_vm_name(const struct vsp_vm *vm);
struct vsp_gmem *vsp_vm_memory(const struct vsp_vm *vm);
struct vsp_domain *vsp_vm_domain(const struct vsp_vm *vm);

/* vsp_vmm_find_vm() - the VM with @id, or NULL. */
struct vsp_vm *vsp_vmm_find_vm(struct vsp_vmm *vmm, int id);

/**
 * vsp_vmm_add_pf() - make a PF's VFs known, all FREE.
 * @pf: the stack's PF id (>= 0).
 * @rids: routing ID of each VF, @num_vfs entries (from GetDeviceLocation).
 * Return: 0; PCIVIRT_EEXIST if @pf is known; PCIVIRT_EINVAL; PCIVIRT_ENOMEM.
 */
int vsp_vmm_add_pf(struct vsp_vmm *vmm, int pf, uint16_t num_vfs, const uint16_t *rids);

/**
 * vsp_vmm_remove_pf() - the PF is going away: every VF of it still in a VM is
 * surprise-removed (guests told, IOMMU detached; no reset, the device is
 * gone), then the PF is forgotten.
 * Return: 0; PCIVIRT_ENOENT.
 */
int vsp_vmm_remove_pf(struct vsp_vmm *vmm, int pf, const char *reason);

/* vsp_vmm_vf_info() - a copy of a VF's state.  Return: 0; PCIVIRT_ENOENT. */
int vsp_vmm_vf_info(struct vsp_vmm *vmm, int pf, uint16_t vf_index, struct vsp_vf_info *out);

/**
 * vsp_vmm_assign() - expose a FREE VF on @vm's bus at the lowest free slot.
 * @slot: receives the wslot (may be NULL).
 * Return: 0; PCIVIRT_ENOENT (unknown VF); PCIVIRT_EBUSY (in a VM or being
 * handed off); PCIVIRT_ESTATE (quarantined); PCIVIRT_ENOSPC (bus full);
 * PCIVIRT_ENOMEM.
 */
int vsp_vmm_assign(struct vsp_vmm *vmm, int pf, uint16_t vf_index, struct vsp_vm *vm, uint32_t *slot);

/**
 * vsp_vmm_eject() - ask the guest to release the VF; starts the window.
 * Return: 0; PCIVIRT_ENOENT; PCIVIRT_ESTATE when not ASSIGNED.
 */
int vsp_vmm_eject(struct vsp_vmm *vmm, int pf, uint16_t vf_index, const char *reason);

/**
 * vsp_vmm_ejection_complete() - the guest's PCI_EJECTION_COMPLETE for @slot.
 * Guest input: anything but an EJECTING slot of this VM is logged and refused.
 * Return: 0 (removed and handed off); PCIVIRT_ENOENT (empty slot);
 * PCIVIRT_ESTATE (slot not being ejected).
 */
int vsp_vmm_ejection_complete(struct vsp_vmm *vmm, struct vsp_vm *vm, uint32_t slot);

/**
 * vsp_vmm_surprise_remove() - take the VF from its VM without a handshake
 * (the guest learns from a bus-relations update), then hand it off.
 * Return: 0; PCIVIRT_ENOENT; PCIVIRT_ESTATE when it is in no VM.
 */
int vsp_vmm_surprise_remove(struct vsp_vmm *vmm, int pf, uint16_t vf_index, const char *reason);

/**
 * vsp_vmm_vouch() - make sure a FREE VF is clean before it enters a VM: a VF this
 * manager has not reset and checked itself since its PF was added may carry
 * whatever a previous VSP left in it (a DETACH that came while the PF was
 * stopped could not reset it), so it goes through the clean handoff now (reset,
 * check; QUARANTINED when that fails).  A VF already vouched for, or not FREE,
 * is left alone (vsp_vmm_assign() then decides).
 * Return: 0; PCIVIRT_ENOENT; PCIVIRT_ESTATE when the reset or check failed.
 */
int vsp_vmm_vouch(struct vsp_vmm *vmm, int pf, uint16_t vf_index);

/**
 * vsp_vmm_retry_handoff() - reset and check a QUARANTINED VF again.
 * Return: 0 when it is FREE now; PCIVIRT_EBUSY when still dirty (logged);
 * PCIVIRT_ENOENT; PCIVIRT_ESTATE when not quarantined.
 */
int vsp_vmm_retry_handoff(struct vsp_vmm *vmm, int pf, uint16_t vf_index);

/**
 * vsp_vmm_tick() - apply every eject window that has expired by now.
 * Return: the earliest remaining deadline, or UINT64_MAX when none.
 */
uint64_t vsp_vmm_tick(struct vsp_vmm *vmm);

/**
 * vsp_vm_slot_lookup() - the VF behind @slot of @vm (guest requests use this).
 * Only ASSIGNED and EJECTING VFs are visible.  Return: 0; PCIVIRT_ENOENT.
 */
int vsp_vm_slot_lookup(struct vsp_vm *vm, uint32_t slot, struct vsp_vf_info *out);

/**
 * vsp_vm_devices() - the VFs currently exposed on @vm's bus, by slot order
 * (what BUS_RELATIONS lists).  Return: how many exist (may exceed @max; only
 * @max are copied).
 */
size_t vsp_vm_devices(struct vsp_vm *vm, struct vsp_vf_info *out, size_t max);

/* vsp_vf_state_name() - "free", "assigned", ... */
const char *vsp_vf_state_name(enum vsp_vf_state state);

#endif /* PCIVIRT_VSP_VMM_H */
