/*
 * vsp/stack_internal.h - the stack facade's records, shared by stack.c (wiring,
 * service thread, VMs, rebalance) and stack_pf.c (the life of one PF: discovery,
 * the target's removal upcalls, per-PF detach and re-attach).
 *
 * Two locks: s->lock guards the tables and flags and is only ever held for a
 * moment; s->pf_mu serializes the operations that change what a PF record holds
 * (bind, suspend at query-remove, resume at cancel-remove, detach, attach,
 * release), so a record is never freed or rebuilt under another of them.
 * pf_mu is taken before lock, never the other way round.  The fields other
 * threads read under s->lock alone - target (the upcalls find the record by
 * it), binding, have_mitig, broker (answers and status reach it from the VMs'
 * threads), state - are changed under s->lock as well, by the pf_mu holder.
 */
#ifndef PCIVIRT_VSP_STACK_INTERNAL_H
#define PCIVIRT_VSP_STACK_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "vsp/pfif.h"
#include "vsp/stack.h"

/*
 * What a PF record holds (docs/STACK.md, "PF states"):
 *  - BOUND: target open, tables bound, broker attached (or attaching);
 *  - DETACHING: as BOUND, but vsp_stack_pf_detach() is taking its VFs out of
 *    their VMs; no new assignment;
 *  - SUSPENDED: the PF's removal is pending (query-remove accepted): broker
 *    stopped (DETACH sent, held requests cancelled), target and tables kept, VFs
 *    stay in their VMs; cancel-remove resumes it, remove-complete releases it;
 *  - DETACHED: nothing held but the id and the link (vsp_stack_pf_attach()).
 */
enum stack_pf_state {
    STACK_PF_BOUND,
    STACK_PF_DETACHING,
    STACK_PF_SUSPENDED,
    STACK_PF_DETACHED,
};

struct stack_pf {
    int id;
    char link[160];
    struct vsp_stack *s;
    struct wdf_target *target;
    SRIOV_DEVICE_INTERFACE_STANDARD_2 sriov; /* the QI copy (Size says v1 or v2) */
    bool have_sriov;
    MITIGABLE_DEVICE_INTERFACE mitig;
    bool have_mitig;
    struct vsp_pf *binding;
    struct vsp_broker *broker;
    bool in_vmm;
    enum stack_pf_state state;
    bool gone; /* release queued */
};

struct vsp_stack_vm {
    struct vsp_stack *s;
    struct vsp_vm *vm;
    struct vsp_vpci_host *host;
    struct vmbus_channel *guest;
    struct vsp_stack_vm *next;
};

struct vsp_stack {
    struct vsp_stack_config cfg;
    struct vsp_clock host_clock;
    const struct vsp_clock *clock;
    struct vsp_event_log *log;
    struct vsp_iommu *iommu;
    struct vsp_pfs *pfs;
    struct vsp_vpci *vpci;
    struct vsp_vmm *vmm;

    pthread_mutex_t pf_mu; /* PF record operations (see above) */
    pthread_mutex_t lock;  /* pf[], vms, flags */
    struct stack_pf *pf[VSP_STACK_MAX_PFS];
    int next_id;
    struct vsp_stack_vm *vms;
    bool started, shut;
    struct wdf_notification *notif;

    KEVENT wake;
    pthread_t service;
    bool service_started;
    atomic_bool service_stop;

    pthread_t rebalance;
    bool rb_running, rb_joined;
    atomic_bool rb_done;
    NTSTATUS rb_status;
    pthread_mutex_t rb_lock; /* rb_done's waiters: vsp_stack_rebalance_end() sleeps on rb_cond */
    pthread_cond_t rb_cond;
    bool rb_cond_ready;
    struct wdf_node *rb_node;
    vsp_stack_move_fn *rb_move;
    void *rb_ctx;
};

/* stack_wake() - wake the service thread (a release is queued or a deadline changed). */
void stack_wake(void *ctx);

/*
 * stack_wait_timeout() - the KeWaitForSingleObject timeout with which the
 * service thread sleeps until @next (stack clock, ns): absolute on the host
 * clock, so a clock that passes @next before the wait starts ends it at once.
 */
LARGE_INTEGER stack_wait_timeout(const struct vsp_stack *s, uint64_t next);

/* stack_on_interface() - the GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE arrival/removal upcall. */
void stack_on_interface(void *ctx, const GUID *class_guid, const char *link, bool arrival);

/* stack_release_gone() - release the PFs marked gone (@all: every PF, at shutdown). */
void stack_release_gone(struct vsp_stack *s, bool all);

/**
 * stack_pf_broker() - the broker of PF @id with a reference (vsp_broker_put()).
 * Return: 0; PCIVIRT_ENOENT (no such PF, or gone); PCIVIRT_ESTATE (the PF is
 * detaching, detached or its removal is pending).
 */
int stack_pf_broker(struct vsp_stack *s, int id, struct vsp_broker **out);

#endif /* PCIVIRT_VSP_STACK_INTERNAL_H */
