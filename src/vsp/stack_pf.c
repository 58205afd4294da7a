/*
 * vsp/stack_pf.c - the life of one PF in the stack facade: discovery, binding,
 * the target's removal upcalls, per-PF detach and re-attach, release.
 *
 * Discovery follows contract.md 3.1 / 7.1 from the stack's side: an interface
 * arrival opens a kernel-mode target on the link, queries the SR-IOV table
 * (version 2 size first, version 1 when the PF refuses, or only version 1 when
 * the policy says so) and the optional mitigable table, learns NumVFs by probing
 * ReadVfConfig (the tables carry no VF count; valid VfIndex values are
 * contiguous from 0, so a binary search costs 17 calls), binds the tables
 * (vsp/pfif.h), makes the VFs known to the VM manager with their routing IDs
 * (GetDeviceLocation) and starts the PF's broker.
 *
 * Removal is the runtime's target-device-change protocol (contract.md 7.6, the
 * Windows EvtIoTargetQueryRemove / RemoveCanceled / RemoveComplete triple):
 *  - query-remove: the stack lets go of the PF's PnP channel *before* the PF
 *    sees IRP_MN_QUERY_REMOVE_DEVICE (the upcall runs first): broker stopped,
 *    i.e. DETACH, every held request cancelled and drained - what a Windows
 *    client does with WdfIoTargetCloseForQueryRemove.  Done then, the PF still
 *    accepts DETACH and ends up not attached; done after, it would refuse it
 *    (STATUS_DELETE_PENDING) and stay attached, and a later ATTACH would meet
 *    STATUS_SHARING_VIOLATION.  Target, tables and VF assignments stay: the
 *    removal may be cancelled.
 *  - remove-cancelled: a new broker attaches again (waited for, briefly, so the
 *    PF is attached before the PnP manager's next operation can raise an event),
 *    holds NOTIFICATION and INVALIDATE_BLOCK again, and every VF still in a VM
 *    has its trap map re-read and its MITIGATED_RANGE_UPDATE held again (a range
 *    change during the pending removal is picked up then).
 *  - remove-complete (or the interface going away): only queued here, because
 *    it runs on a runtime thread that must not block; the service thread
 *    releases the PF: VFs surprise-removed from their VMs (no reset: the device
 *    is gone), tables dereferenced, target closed.
 * A PF may also be detached and re-attached on request while everything else
 * keeps running (vsp_stack_pf_detach / vsp_stack_pf_attach, docs/STACK.md).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "vsp/stack_internal.h"

/* Real time the cancel-remove upcall gives ATTACH (the PF holds it only across a rebalance). */
#define RESUME_ATTACH_REAL_MS 2000u

/* ---- records ------------------------------------------------------------------------------ */

static bool
in_vm(const struct vsp_vf_info *info)
{
    return info->state == VSP_VF_ASSIGNED || info->state == VSP_VF_EJECTING;
}

/*
 * The stack lets go of a PF that is still present (shutdown, detach, not
 * removal): every VF still in a VM, or quarantined, leaves through the clean
 * handoff (reset and check, vsp/vmm.h), so the next VSP to attach never finds a
 * previous VM's blocks, registers or virtual config in a VF it hands out.
 * vsp_vmm_remove_pf() alone does not reset: it is written for a device that is
 * gone.
 */
static void
release_vfs(struct stack_pf *p, const char *reason)
{
    uint16_t n = vsp_pf_num_vfs(p->binding);

    for (uint16_t vf = 0; vf < n; vf++) {
        struct vsp_vf_info info;

        if (vsp_vmm_vf_info(p->s->vmm, p->id, vf, &info) != 0) {
            continue;
        }
        if (in_vm(&info)) {
            vsp_vmm_surprise_remove(p->s->vmm, p->id, vf, reason);
        } else if (info.state == VSP_VF_QUARANTINED) {
            vsp_vmm_retry_handoff(p->s->vmm, p->id, vf);
        }
    }
}

/* Let go of everything @p holds but its id and link (it may be bound again). */
static void
pf_unbind(struct stack_pf *p, const char *why)
{
    struct vsp_broker *broker;
    struct vsp_pf *binding;
    struct wdf_target *target;

    if (p->broker != NULL) {
        vsp_broker_stop(p->broker, p->gone, why);
    }
    if (p->in_vmm && !p->gone && p->binding != NULL) {
        release_vfs(p, "the stack lets go of the PF: VF reset before it is released");
    }
    if (p->in_vmm) {
        vsp_vmm_remove_pf(p->s->vmm, p->id, why);
    }
    if (p->binding != NULL) {
        vsp_pfs_remove(p->s->pfs, p->id);
    }
    if (p->have_sriov) {
        p->sriov.InterfaceDereference(p->sriov.Context);
    }
    if (p->have_mitig) {
        p->mitig.InterfaceDereference(p->mitig.Context);
    }
    pthread_mutex_lock(&p->s->lock); /* what other threads read under it (see stack_internal.h) */
    broker = p->broker;
    binding = p->binding;
    target = p->target;
    p->broker = NULL;
    p->binding = NULL;
    p->target = NULL;
    p->have_mitig = false;
    p->state = STACK_PF_DETACHED;
    pthread_mutex_unlock(&p->s->lock);
    vsp_broker_put(broker);
    vsp_pf_put(binding);
    wdf_target_close(target);
    p->in_vmm = p->have_sriov = false;
}

static void
pf_free(struct stack_pf *p)
{
    if (p != NULL) {
        pf_unbind(p, p->gone ? "PF removed" : "stack shutdown");
        pv_free(p);
    }
}

/* The record of PF @id, or NULL (s->lock held). */
static struct stack_pf *
find_id_locked(struct vsp_stack *s, int id)
{
    for (unsigned i = 0; i < VSP_STACK_MAX_PFS; i++) {
        if (s->pf[i] != NULL && s->pf[i]->id == id && !s->pf[i]->gone) {
            return s->pf[i];
        }
    }
    return NULL;
}

/* The record whose target is @t, or NULL (s->lock held). */
static struct stack_pf *
find_target_locked(struct vsp_stack *s, const struct wdf_target *t)
{
    for (unsigned i = 0; i < VSP_STACK_MAX_PFS; i++) {
        if (s->pf[i] != NULL && s->pf[i]->target == t && !s->pf[i]->gone) {
            return s->pf[i];
        }
    }
    return NULL;
}

int
stack_pf_broker(struct vsp_stack *s, int id, struct vsp_broker **out)
{
    struct stack_pf *p;
    int rc = PCIVIRT_ENOENT;

    *out = NULL;
    pthread_mutex_lock(&s->lock);
    p = find_id_locked(s, id);
    if (p != NULL && p->state == STACK_PF_BOUND && p->broker != NULL) {
        *out = vsp_broker_get(p->broker);
        rc = 0;
    } else if (p != NULL) {
        rc = PCIVIRT_ESTATE;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* The broker of PF @id in any state that has one (answers still reach a detaching PF). */
static struct vsp_broker *
broker_any(struct vsp_stack *s, int id)
{
    struct vsp_broker *b = NULL;
    struct stack_pf *p;

    pthread_mutex_lock(&s->lock);
    p = find_id_locked(s, id);
    if (p != NULL && p->broker != NULL) {
        b = vsp_broker_get(p->broker);
    }
    pthread_mutex_unlock(&s->lock);
    return b;
}

static void
stack_answer(void *ctx, uint64_t cookie, int vm, uint32_t slot, int pf, uint16_t vf, bool answered, NTSTATUS status)
{
    struct vsp_broker *b = broker_any(ctx, pf);

    if (b != NULL && answered) { /* no answer: the broker's deadline decides */
        vsp_broker_answer(b, cookie, vm, slot, vf, status);
    }
    vsp_broker_put(b);
}

/* Mark the PF behind @target or @link gone and let the service thread release it. */
static void
queue_removal(struct vsp_stack *s, const struct wdf_target *target, const char *link)
{
    bool found = false;

    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < VSP_STACK_MAX_PFS; i++) {
        struct stack_pf *p = s->pf[i];

        if (p != NULL && !p->gone &&
            ((target != NULL && p->target == target) || (link != NULL && strcmp(p->link, link) == 0))) {
            p->gone = true;
            found = true;
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (found) {
        stack_wake(s);
    }
}

/* ---- binding ------------------------------------------------------------------------------ */

/* Query the SR-IOV table: v2 size first unless the policy asks v1 only; v1 when refused. */
static NTSTATUS
query_sriov(struct vsp_stack *s, struct stack_pf *p)
{
    NTSTATUS st = STATUS_NOT_SUPPORTED;

    if (s->cfg.policy.sriov_size != VSP_SRIOV_V1_SIZE) {
        st = wdf_target_query_interface(p->target, &GUID_SRIOV_DEVICE_INTERFACE_STANDARD, (INTERFACE *)&p->sriov,
                                        VSP_SRIOV_V2_SIZE, SRIOV_DEVICE_INTERFACE_STANDARD_VERSION_2, NULL);
        if (NT_SUCCESS(st)) {
            return st;
        }
        vsp_event_log_add(s->log, VSP_EV_PF_ERROR, p->id, VSP_EV_NONE, VSP_EV_NONE, st, VSP_SRIOV_V2_SIZE,
                          "SR-IOV table refused at the version-2 size: asking version 1");
    }
    memset(&p->sriov, 0, sizeof(p->sriov));
    return wdf_target_query_interface(p->target, &GUID_SRIOV_DEVICE_INTERFACE_STANDARD, (INTERFACE *)&p->sriov,
                                      VSP_SRIOV_V1_SIZE, SRIOV_DEVICE_INTERFACE_STANDARD_VERSION_1, NULL);
}

/* NumVFs: the first VfIndex ReadVfConfig refuses (binary search over 1..65535). */
static uint16_t
probe_num_vfs(struct stack_pf *p)
{
    uint32_t lo = 0, hi = 0x10000; /* VFs [0, lo) answer; [hi, ...) do not */

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint16_t id = 0;

        if (NT_SUCCESS(p->sriov.ReadVfConfig(p->sriov.Context, &id, (USHORT)mid, 0, sizeof(id)))) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo > 0xFFFF ? 0xFFFF : (uint16_t)lo;
}

static int
bind_pf(struct vsp_stack *s, struct stack_pf *p, struct pcivirt_error *err)
{
    struct vsp_pf_tables tables = {.sriov = &p->sriov, .mitigable = p->have_mitig ? &p->mitig : NULL};
    uint16_t n = probe_num_vfs(p), *rids;
    struct vsp_pf *binding = NULL;
    int rc;

    rc = vsp_pf_create(p->id, &tables, n, s->log, &binding, err);
    pthread_mutex_lock(&s->lock);
    p->binding = binding;
    pthread_mutex_unlock(&s->lock);
    rc = rc != 0 ? rc : vsp_pfs_add(s->pfs, p->binding);
    if (rc != 0) {
        return rc;
    }
    rids = pv_calloc(n, sizeof(*rids));
    if (rids == NULL) {
        return PCIVIRT_ENOMEM;
    }
    for (uint16_t vf = 0; rc == 0 && vf < n; vf++) {
        uint16_t seg;

        rc = vsp_pf_vf_rid(p->binding, vf, &seg, &rids[vf]);
    }
    rc = rc != 0 ? rc : vsp_vmm_add_pf(s->vmm, p->id, n, rids);
    p->in_vmm = rc == 0;
    pv_free(rids);
    return rc;
}

static int
start_broker(struct vsp_stack *s, struct stack_pf *p, struct vsp_broker **out)
{
    struct vsp_broker_config bc = {.pf = p->id,
                                   .target = p->target,
                                   .host = s->cfg.host,
                                   .binding = p->binding,
                                   .vmm = s->vmm,
                                   .vpci = s->vpci,
                                   .log = s->log,
                                   .clock = s->clock,
                                   .answer_timeout_ns = s->cfg.policy.query_stop_timeout_ns,
                                   .policy = s->cfg.policy.on_no_answer,
                                   .answer_fn = stack_answer,
                                   .answer_ctx = s,
                                   .wake = stack_wake,
                                   .wake_ctx = s};

    return vsp_broker_create(&bc, out);
}

static NTSTATUS on_query_remove(void *ctx, struct wdf_target *target);
static void on_remove_canceled(void *ctx, struct wdf_target *target);
static void on_remove_complete(void *ctx, struct wdf_target *target, bool surprise);

static NTSTATUS
open_pf(struct vsp_stack *s, struct stack_pf *p)
{
    struct wdf_target_callbacks cb = {on_query_remove, on_remove_canceled, on_remove_complete};
    struct wdf_target *target = NULL;
    bool mitig;
    NTSTATUS st;

    st = wdf_target_open(s->cfg.host, p->link, KernelMode, &cb, s, &target);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    pthread_mutex_lock(&s->lock); /* the upcalls find the record by it */
    p->target = target;
    pthread_mutex_unlock(&s->lock);
    st = query_sriov(s, p);
    p->have_sriov = NT_SUCCESS(st);
    if (!p->have_sriov) {
        return st;
    }
    mitig = NT_SUCCESS(wdf_target_query_interface(p->target, &GUID_MITIGABLE_DEVICE_INTERFACE, (INTERFACE *)&p->mitig,
                                                  sizeof(p->mitig), 1, NULL));
    pthread_mutex_lock(&s->lock);
    p->have_mitig = mitig;
    pthread_mutex_unlock(&s->lock);
    return STATUS_SUCCESS;
}

/* Open, query, bind and start the broker of @p (pf_mu held); on failure @p holds nothing. */
static int
pf_bind(struct vsp_stack *s, struct stack_pf *p)
{
    struct pcivirt_error err = {0};
    struct vsp_broker *b = NULL;
    NTSTATUS st;
    int rc;

    st = open_pf(s, p);
    rc = NT_SUCCESS(st) ? bind_pf(s, p, &err) : PCIVIRT_EIO;
    rc = rc != 0 ? rc : start_broker(s, p, &b);
    if (rc != 0) {
        vsp_event_log_add(s->log, VSP_EV_PF_ERROR, p->id, VSP_EV_NONE, VSP_EV_NONE,
                          NT_SUCCESS(st) ? STATUS_UNSUCCESSFUL : st, (uint64_t)-rc, "PF %.60s not bound: %.40s",
                          p->link, err.message[0] ? err.message : "open/query failed");
        pf_unbind(p, "bind failed");
        return rc;
    }
    pthread_mutex_lock(&s->lock);
    p->broker = b;
    p->state = STACK_PF_BOUND;
    pthread_mutex_unlock(&s->lock);
    vsp_event_log_add(s->log, VSP_EV_PF_ARRIVAL, p->id, VSP_EV_NONE, VSP_EV_NONE, STATUS_SUCCESS,
                      vsp_pf_num_vfs(p->binding), "%.70s: %u VFs, SR-IOV table v%d, %s", p->link,
                      vsp_pf_num_vfs(p->binding), vsp_pf_is_v2(p->binding) ? 2 : 1,
                      p->have_mitig ? "mitigable" : "no mitigable table");
    return 0;
}

/* Install @p in a free entry; false when the table is full or the stack is shut. */
static bool
install(struct vsp_stack *s, struct stack_pf *p)
{
    bool ok = false;

    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; !s->shut && !ok && i < VSP_STACK_MAX_PFS; i++) {
        if (s->pf[i] == NULL) {
            s->pf[i] = p;
            ok = true;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

static void
pf_arrive(struct vsp_stack *s, const char *link)
{
    struct stack_pf *p = pv_calloc(1, sizeof(*p));

    if (p == NULL) {
        return;
    }
    p->s = s;
    snprintf(p->link, sizeof(p->link), "%s", link);
    p->state = STACK_PF_DETACHED;
    pthread_mutex_lock(&s->pf_mu); /* the target's upcalls wait until the record is installed */
    pthread_mutex_lock(&s->lock);
    p->id = s->next_id++;
    pthread_mutex_unlock(&s->lock);
    if (pf_bind(s, p) != 0 || !install(s, p)) {
        pf_free(p);
    }
    pthread_mutex_unlock(&s->pf_mu);
}

void
stack_on_interface(void *ctx, const GUID *class_guid, const char *link, bool arrival)
{
    struct vsp_stack *s = ctx;

    (void)class_guid;
    if (arrival) {
        pf_arrive(s, link);
    } else {
        queue_removal(s, NULL, link);
    }
}

void
stack_release_gone(struct vsp_stack *s, bool all)
{
    for (;;) {
        struct stack_pf *p = NULL;

        pthread_mutex_lock(&s->pf_mu);
        pthread_mutex_lock(&s->lock);
        for (unsigned i = 0; p == NULL && i < VSP_STACK_MAX_PFS; i++) {
            if (s->pf[i] != NULL && (all || s->pf[i]->gone)) {
                p = s->pf[i];
                s->pf[i] = NULL;
            }
        }
        pthread_mutex_unlock(&s->lock);
        if (p == NULL) {
            pthread_mutex_unlock(&s->pf_mu);
            return;
        }
        /* The event says the release is over (VF records gone, broker detached): logged after it. */
        bool gone = p->gone;
        int id = p->id;
        char link[sizeof(p->link)];

        memcpy(link, p->link, sizeof(link));
        pf_free(p);
        pthread_mutex_unlock(&s->pf_mu);
        if (gone) {
            vsp_event_log_add(s->log, VSP_EV_PF_REMOVAL, id, VSP_EV_NONE, VSP_EV_NONE, STATUS_SUCCESS, 0,
                              "%.80s went away: its VFs left their VMs, broker detached", link);
        }
    }
}

/* ---- the target's removal upcalls (contract.md 7.6) ------------------------------------------- */

static NTSTATUS
on_query_remove(void *ctx, struct wdf_target *target)
{
    struct vsp_stack *s = ctx;
    struct vsp_broker *b = NULL;
    struct stack_pf *p;

    pthread_mutex_lock(&s->pf_mu);
    pthread_mutex_lock(&s->lock);
    p = find_target_locked(s, target);
    if (p != NULL && (p->state == STACK_PF_BOUND || p->state == STACK_PF_DETACHING)) {
        b = p->broker;
        p->broker = NULL;
        p->state = STACK_PF_SUSPENDED;
    }
    pthread_mutex_unlock(&s->lock);
    if (b != NULL) {
        /* Before the PF's own QUERY_REMOVE: it still takes DETACH (see the file comment). */
        vsp_broker_stop(b, false, "PF query-remove: DETACH until the removal is cancelled or completes");
        vsp_broker_put(b);
    }
    pthread_mutex_unlock(&s->pf_mu);
    return STATUS_SUCCESS; /* the stack does not veto removal */
}

/* Attach @p again after a cancelled removal (pf_mu held). */
static void
resume(struct vsp_stack *s, struct stack_pf *p)
{
    struct vsp_broker *b = NULL;
    uint16_t n = vsp_pf_num_vfs(p->binding);

    if (start_broker(s, p, &b) != 0) {
        vsp_event_log_add(s->log, VSP_EV_PF_ERROR, p->id, VSP_EV_NONE, VSP_EV_NONE, STATUS_INSUFFICIENT_RESOURCES, 0,
                          "removal cancelled but the broker could not start: PF detached");
        pf_unbind(p, "removal cancelled, broker not restarted");
        return;
    }
    pthread_mutex_lock(&s->lock);
    p->broker = b;
    p->state = STACK_PF_BOUND;
    pthread_mutex_unlock(&s->lock);
    if (!vsp_broker_wait_attach(b, RESUME_ATTACH_REAL_MS)) {
        vsp_event_log_add(s->log, VSP_EV_PF_ERROR, p->id, VSP_EV_NONE, VSP_EV_NONE, STATUS_PENDING,
                          RESUME_ATTACH_REAL_MS, "removal cancelled: ATTACH still held by the PF");
    }
    for (uint16_t vf = 0; vf < n; vf++) {
        struct vsp_vf_info info;

        if (vsp_vmm_vf_info(s->vmm, p->id, vf, &info) == 0 && in_vm(&info)) {
            vsp_broker_watch_vf(b, vf); /* re-read the trap map, hold the update again (7.3) */
        }
    }
}

static void
on_remove_canceled(void *ctx, struct wdf_target *target)
{
    struct vsp_stack *s = ctx;
    struct stack_pf *p;

    pthread_mutex_lock(&s->pf_mu);
    pthread_mutex_lock(&s->lock);
    p = find_target_locked(s, target);
    if (p != NULL && p->state != STACK_PF_SUSPENDED) {
        p = NULL; /* it never let go (another client vetoed before asking us) */
    }
    pthread_mutex_unlock(&s->lock);
    if (p != NULL) {
        resume(s, p);
    }
    pthread_mutex_unlock(&s->pf_mu);
}

static void
on_remove_complete(void *ctx, struct wdf_target *target, bool surprise)
{
    (void)surprise;
    queue_removal(ctx, target, NULL);
}

/* ---- per-PF detach and attach ---------------------------------------------------------------- */

/*
 * A VF still leaving: in a VM, or in HANDOFF - its guest acknowledged the eject
 * and its reset and check run on the VM's dispatch thread, so the PF must stay
 * bound until that handoff has used it.
 */
static bool
leaving(const struct vsp_vf_info *info)
{
    return in_vm(info) || info->state == VSP_VF_HANDOFF;
}

/* Take @p's VFs out of their VMs per @mode; return how many are still leaving (pf_mu held). */
static unsigned
vfs_out(struct stack_pf *p, enum vsp_detach_mode mode)
{
    uint16_t n = vsp_pf_num_vfs(p->binding);
    unsigned left = 0;

    for (uint16_t vf = 0; vf < n; vf++) {
        struct vsp_vf_info info;

        if (vsp_vmm_vf_info(p->s->vmm, p->id, vf, &info) != 0 || !leaving(&info)) {
            continue;
        }
        if (mode == VSP_DETACH_SURPRISE_REMOVE && in_vm(&info)) {
            vsp_vmm_surprise_remove(p->s->vmm, p->id, vf, "PF detached by request (surprise removal)");
        } else if (info.state == VSP_VF_ASSIGNED) {
            vsp_vmm_eject(p->s->vmm, p->id, vf, "PF detached by request");
        }
        if (vsp_vmm_vf_info(p->s->vmm, p->id, vf, &info) == 0 && leaving(&info)) {
            left++;
        }
    }
    return left;
}

/* One pass of vsp_stack_pf_detach(): 0 (detached), 1 (VFs still leaving), or an error. */
static int
detach_step(struct vsp_stack *s, int id, enum vsp_detach_mode mode)
{
    struct stack_pf *p;
    int rc = 0;

    pthread_mutex_lock(&s->pf_mu);
    pthread_mutex_lock(&s->lock);
    p = find_id_locked(s, id);
    if (p == NULL) {
        rc = PCIVIRT_ENOENT;
    } else if (p->state == STACK_PF_SUSPENDED) {
        rc = PCIVIRT_ESTATE;
    } else if (p->state == STACK_PF_BOUND) {
        p->state = STACK_PF_DETACHING; /* no new assignment from here */
    }
    pthread_mutex_unlock(&s->lock);
    if (rc == 0 && p->state == STACK_PF_DETACHING) {
        if (vfs_out(p, mode) != 0) {
            rc = 1;
        } else {
            pf_unbind(p, "PF detached by request");
        }
    }
    pthread_mutex_unlock(&s->pf_mu);
    return rc;
}

int
vsp_stack_pf_detach(struct vsp_stack *s, int pf, enum vsp_detach_mode mode, unsigned real_ms)
{
    if (s == NULL || (mode != VSP_DETACH_SURPRISE_REMOVE && mode != VSP_DETACH_EJECT)) {
        return PCIVIRT_EINVAL;
    }
    for (unsigned waited = 0;; waited++) {
        struct timespec ts = {0, 1000000};
        int rc = detach_step(s, pf, mode);

        if (rc <= 0) {
            return rc;
        }
        if (waited >= real_ms) {
            return PCIVIRT_ETIMEDOUT;
        }
        nanosleep(&ts, NULL);
    }
}

int
vsp_stack_pf_attach(struct vsp_stack *s, int pf)
{
    struct stack_pf *p;
    int rc = 0;

    if (s == NULL) {
        return PCIVIRT_EINVAL;
    }
    pthread_mutex_lock(&s->pf_mu);
    pthread_mutex_lock(&s->lock);
    p = find_id_locked(s, pf);
    if (p == NULL) {
        rc = PCIVIRT_ENOENT;
    } else if (s->shut || (p->state != STACK_PF_DETACHED && p->state != STACK_PF_BOUND)) {
        rc = PCIVIRT_ESTATE;
    }
    pthread_mutex_unlock(&s->lock);
    if (rc == 0 && p->state == STACK_PF_DETACHED) {
        rc = pf_bind(s, p) == 0 ? 0 : PCIVIRT_EIO;
    }
    pthread_mutex_unlock(&s->pf_mu);
    return rc;
}

/* ---- queries ------------------------------------------------------------------------------------- */

static void
pf_info_locked(struct stack_pf *p, struct vsp_stack_pf_info *out)
{
    struct vsp_broker_status bs = {0};

    if (p->broker != NULL) {
        vsp_broker_status(p->broker, &bs);
    }
    *out = (struct vsp_stack_pf_info){.id = p->id,
                                      .num_vfs = p->binding != NULL ? vsp_pf_num_vfs(p->binding) : 0,
                                      .v2 = p->binding != NULL && vsp_pf_is_v2(p->binding),
                                      .mitigable = p->have_mitig,
                                      .attached = bs.attached,
                                      .stopping = bs.stopping,
                                      .events = bs.events,
                                      .detaching = p->state == STACK_PF_DETACHING,
                                      .remove_pending = p->state == STACK_PF_SUSPENDED,
                                      .detached = p->state == STACK_PF_DETACHED};
    snprintf(out->link, sizeof(out->link), "%s", p->link);
}

size_t
vsp_stack_pfs(struct vsp_stack *s, struct vsp_stack_pf_info *out, size_t max)
{
    size_t n = 0;

    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < VSP_STACK_MAX_PFS; i++) {
        struct stack_pf *p = s->pf[i];

        if (p == NULL || p->gone) {
            continue;
        }
        if (n < max) {
            pf_info_locked(p, &out[n]);
        }
        n++;
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}

bool
vsp_stack_wait_pfs(struct vsp_stack *s, unsigned n, unsigned real_ms)
{
    for (unsigned waited = 0;; waited++) {
        struct vsp_stack_pf_info info[VSP_STACK_MAX_PFS];
        size_t got = vsp_stack_pfs(s, info, VSP_STACK_MAX_PFS), attached = 0;
        struct timespec ts = {0, 1000000};

        for (size_t i = 0; i < got && i < VSP_STACK_MAX_PFS; i++) {
            attached += info[i].attached ? 1u : 0u;
        }
        if (attached >= n) {
            return true;
        }
        if (waited >= real_ms) {
            return false;
        }
        nanosleep(&ts, NULL);
    }
}

int
vsp_stack_pf_find(struct vsp_stack *s, const char *instance_id)
{
    int id = -1;

    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; instance_id != NULL && i < VSP_STACK_MAX_PFS; i++) {
        if (s->pf[i] != NULL && !s->pf[i]->gone && strstr(s->pf[i]->link, instance_id) != NULL) {
            id = s->pf[i]->id;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return id;
}
