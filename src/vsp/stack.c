/*
 * vsp/stack.c - the stack facade: wiring, PF discovery, VMs, the service thread.
 *
 * Discovery follows contract.md 3.1 / 7.1 from the stack's side: an interface
 * arrival opens a kernel-mode target on the link, queries the SR-IOV table
 * (version 2 size first, version 1 when the PF refuses, or only version 1 when
 * the policy says so) and the optional mitigable table, learns NumVFs by probing
 * ReadVfConfig (the tables carry no VF count; valid VfIndex values are
 * contiguous from 0, so a binary search costs 17 calls), binds the tables
 * (vsp/pfif.h), makes the VFs known to the VM manager with their routing IDs
 * (GetDeviceLocation) and starts the PF's broker.  A removal - the interface
 * going away, or the target's "going away" upcall - is only queued there,
 * because both run on runtime threads that must not block; the service thread
 * releases the PF: broker stopped (DETACH, held requests cancelled), VFs
 * surprise-removed from their VMs, tables dereferenced, target closed.
 *
 * The service thread sleeps on a KEVENT of the runtime host, so its timed waits
 * follow the host clock (virtual in tests) and it wakes for releases, new
 * deadlines and shutdown.
 */
#include "vsp/stack.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "vmbus/transport.h"
#include "vsp/pfif.h"

#define STACK_LOG_DEFAULT 65536u

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

    pthread_mutex_t lock; /* pf[], vms, flags */
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

static uint64_t
host_now(void *ctx)
{
    return wdf_host_now(ctx);
}

static void
wake(void *ctx)
{
    struct vsp_stack *s = ctx;

    KeSetEvent(&s->wake, 0, FALSE);
}

/* ---- PF records ------------------------------------------------------------------------ */

/*
 * The stack lets go of a PF that is still present (shutdown, not removal): every
 * VF still in a VM, or quarantined, leaves through the clean handoff (reset and
 * check, vsp/vmm.h), so the next VSP to attach never finds a previous VM's blocks,
 * registers or virtual config in a VF it hands out.  vsp_vmm_remove_pf() alone
 * does not reset: it is written for a device that is gone.
 */
static void
release_vfs(struct stack_pf *p)
{
    uint16_t n = vsp_pf_num_vfs(p->binding);

    for (uint16_t vf = 0; vf < n; vf++) {
        struct vsp_vf_info info;

        if (vsp_vmm_vf_info(p->s->vmm, p->id, vf, &info) != 0) {
            continue;
        }
        if (info.state == VSP_VF_ASSIGNED || info.state == VSP_VF_EJECTING) {
            vsp_vmm_surprise_remove(p->s->vmm, p->id, vf, "stack shutdown: VF reset before the PF is released");
        } else if (info.state == VSP_VF_QUARANTINED) {
            vsp_vmm_retry_handoff(p->s->vmm, p->id, vf);
        }
    }
}

static void
pf_free(struct stack_pf *p)
{
    if (p == NULL) {
        return;
    }
    if (p->broker != NULL) {
        vsp_broker_stop(p->broker, p->gone, p->gone ? "PF removed" : "stack shutdown");
    }
    if (p->in_vmm && !p->gone && p->binding != NULL) {
        release_vfs(p);
    }
    if (p->in_vmm) {
        vsp_vmm_remove_pf(p->s->vmm, p->id, p->gone ? "PF removed" : "stack shutdown");
    }
    if (p->binding != NULL) {
        vsp_pfs_remove(p->s->pfs, p->id);
    }
    vsp_broker_put(p->broker);
    vsp_pf_put(p->binding);
    if (p->have_sriov) {
        p->sriov.InterfaceDereference(p->sriov.Context);
    }
    if (p->have_mitig) {
        p->mitig.InterfaceDereference(p->mitig.Context);
    }
    wdf_target_close(p->target);
    pv_free(p);
}

/* The broker of PF @id with a reference, or NULL. */
static struct vsp_broker *
broker_of(struct vsp_stack *s, int id)
{
    struct vsp_broker *b = NULL;

    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < VSP_STACK_MAX_PFS; i++) {
        if (s->pf[i] != NULL && s->pf[i]->id == id && !s->pf[i]->gone && s->pf[i]->broker != NULL) {
            b = vsp_broker_get(s->pf[i]->broker);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return b;
}

static void
stack_answer(void *ctx, uint64_t cookie, int vm, uint32_t slot, int pf, uint16_t vf, bool answered, NTSTATUS status)
{
    struct vsp_broker *b = broker_of(ctx, pf);

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

        if (p != NULL && !p->gone && (p->target == target || (link != NULL && strcmp(p->link, link) == 0))) {
            p->gone = true;
            found = true;
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (found) {
        wake(s);
    }
}

static NTSTATUS
on_query_remove(void *ctx, struct wdf_target *target)
{
    (void)ctx;
    (void)target;
    return STATUS_SUCCESS; /* the stack does not veto removal; it releases at remove_complete */
}

static void
on_remove_complete(void *ctx, struct wdf_target *target, bool surprise)
{
    (void)surprise;
    queue_removal(ctx, target, NULL);
}

/* ---- discovery ------------------------------------------------------------------------------ */

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
    int rc;

    rc = vsp_pf_create(p->id, &tables, n, s->log, &p->binding, err);
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
start_broker(struct vsp_stack *s, struct stack_pf *p)
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
                                   .wake = wake,
                                   .wake_ctx = s};

    return vsp_broker_create(&bc, &p->broker);
}

static NTSTATUS
open_pf(struct vsp_stack *s, struct stack_pf *p, const char *link)
{
    struct wdf_target_callbacks cb = {on_query_remove, NULL, on_remove_complete};
    NTSTATUS st;

    snprintf(p->link, sizeof(p->link), "%s", link);
    st = wdf_target_open(s->cfg.host, link, KernelMode, &cb, s, &p->target);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    st = query_sriov(s, p);
    p->have_sriov = NT_SUCCESS(st);
    if (!p->have_sriov) {
        return st;
    }
    p->have_mitig = NT_SUCCESS(wdf_target_query_interface(p->target, &GUID_MITIGABLE_DEVICE_INTERFACE,
                                                          (INTERFACE *)&p->mitig, sizeof(p->mitig), 1, NULL));
    return STATUS_SUCCESS;
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
    struct pcivirt_error err = {0};
    NTSTATUS st;
    int rc;

    if (p == NULL) {
        return;
    }
    p->s = s;
    pthread_mutex_lock(&s->lock);
    p->id = s->next_id++;
    pthread_mutex_unlock(&s->lock);
    st = open_pf(s, p, link);
    rc = NT_SUCCESS(st) ? bind_pf(s, p, &err) : PCIVIRT_EIO;
    rc = rc != 0 ? rc : start_broker(s, p);
    if (rc == 0 && !install(s, p)) {
        rc = PCIVIRT_ENOSPC;
    }
    if (rc != 0) {
        vsp_event_log_add(s->log, VSP_EV_PF_ERROR, p->id, VSP_EV_NONE, VSP_EV_NONE,
                          NT_SUCCESS(st) ? STATUS_UNSUCCESSFUL : st, (uint64_t)-rc, "PF %.60s not bound: %.40s", link,
                          err.message[0] ? err.message : "open/query failed");
        pf_free(p);
        return;
    }
    vsp_event_log_add(s->log, VSP_EV_PF_ARRIVAL, p->id, VSP_EV_NONE, VSP_EV_NONE, STATUS_SUCCESS,
                      vsp_pf_num_vfs(p->binding), "%.70s: %u VFs, SR-IOV table v%d, %s", link,
                      vsp_pf_num_vfs(p->binding), vsp_pf_is_v2(p->binding) ? 2 : 1,
                      p->have_mitig ? "mitigable" : "no mitigable table");
}

static void
on_interface(void *ctx, const GUID *class_guid, const char *link, bool arrival)
{
    struct vsp_stack *s = ctx;

    (void)class_guid;
    if (arrival) {
        pf_arrive(s, link);
    } else {
        queue_removal(s, NULL, link);
    }
}

/* ---- the service thread -------------------------------------------------------------------- */

/* Take the PFs marked gone out of the table and release them (no lock held while releasing). */
static void
release_gone(struct vsp_stack *s, bool all)
{
    for (;;) {
        struct stack_pf *p = NULL;

        pthread_mutex_lock(&s->lock);
        for (unsigned i = 0; p == NULL && i < VSP_STACK_MAX_PFS; i++) {
            if (s->pf[i] != NULL && (all || s->pf[i]->gone)) {
                p = s->pf[i];
                s->pf[i] = NULL;
            }
        }
        pthread_mutex_unlock(&s->lock);
        if (p == NULL) {
            return;
        }
        if (p->gone) {
            vsp_event_log_add(s->log, VSP_EV_PF_REMOVAL, p->id, VSP_EV_NONE, VSP_EV_NONE, STATUS_SUCCESS, 0,
                              "%.80s went away: VFs leave their VMs, broker detached", p->link);
        }
        pf_free(p);
    }
}

static void *
service_main(void *arg)
{
    struct vsp_stack *s = arg;

    wdf_thread_bind(s->cfg.host);
    while (!atomic_load(&s->service_stop)) {
        uint64_t next;
        LARGE_INTEGER timeout;

        release_gone(s, false);
        next = vsp_stack_tick(s);
        if (next == UINT64_MAX) {
            KeWaitForSingleObject(&s->wake, Executive, KernelMode, FALSE, NULL);
            continue;
        }
        /*
         * On the host clock, absolute time (positive NT time, 100 ns units): a relative timeout
         * would start from whenever the wait reads the clock, so a clock that moved
         * past @next in between (a virtual clock jumping) would postpone the deadline
         * by the jump - the service thread slept through the query-stop deadline.
         */
        if (s->clock == &s->host_clock) {
            timeout.QuadPart = (LONGLONG)((next + 99) / 100);
        } else { /* a clock of the caller's: relative, at least one unit */
            uint64_t t = vsp_clock_now(s->clock);

            timeout.QuadPart = -(LONGLONG)(next > t ? (next - t + 99) / 100 : 1);
        }
        KeWaitForSingleObject(&s->wake, Executive, KernelMode, FALSE, &timeout);
    }
    wdf_thread_bind(NULL);
    return NULL;
}

/* ---- creation and teardown ----------------------------------------------------------------- */

static int
wire(struct vsp_stack *s)
{
    struct vsp_vpci_config vc = {.log = NULL, .pfs = NULL, .platform = s->cfg.platform};
    struct vsp_vmm_config mc;
    int rc;

    rc = vsp_event_log_create(s->clock, s->cfg.log_capacity != 0 ? s->cfg.log_capacity : STACK_LOG_DEFAULT, &s->log);
    rc = rc != 0 ? rc : vsp_iommu_create(s->log, &s->iommu);
    rc = rc != 0 ? rc : vsp_pfs_create(&s->pfs);
    vc.log = s->log;
    vc.pfs = s->pfs;
    rc = rc != 0 ? rc : vsp_vpci_create(&vc, &s->vpci);
    if (rc != 0) {
        return rc;
    }
    mc = (struct vsp_vmm_config){.clock = s->clock,
                                 .log = s->log,
                                 .iommu = s->iommu,
                                 .vf_ops = vsp_pfs_vf_ops(),
                                 .vf_ctx = s->pfs,
                                 .bus_ops = vsp_vpci_bus_ops(),
                                 .bus_ctx = s->vpci,
                                 .eject_timeout_ns = s->cfg.policy.eject_timeout_ns};
    return vsp_vmm_create(&mc, &s->vmm);
}

/* rb_cond on the monotonic clock, as vsp_stack_rebalance_end() measures real time. */
static int
init_rb_cond(pthread_cond_t *c)
{
    pthread_condattr_t a;
    int rc = pthread_condattr_init(&a);

    if (rc == 0) {
        rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
        rc = rc != 0 ? rc : pthread_cond_init(c, &a);
        pthread_condattr_destroy(&a);
    }
    return rc != 0 ? PCIVIRT_ENOMEM : 0;
}

int
vsp_stack_create(const struct vsp_stack_config *cfg, struct vsp_stack **out)
{
    struct vsp_stack *s;
    int rc;

    if (cfg == NULL || out == NULL || cfg->host == NULL || cfg->platform == NULL ||
        (cfg->policy.on_no_answer != VSP_STOP_VETO && cfg->policy.on_no_answer != VSP_STOP_SURPRISE_REMOVE) ||
        (cfg->policy.sriov_size != 0 && cfg->policy.sriov_size != VSP_SRIOV_V1_SIZE &&
         cfg->policy.sriov_size != VSP_SRIOV_V2_SIZE)) {
        return PCIVIRT_EINVAL;
    }
    s = pv_calloc(1, sizeof(*s));
    if (s == NULL) {
        return PCIVIRT_ENOMEM;
    }
    s->cfg = *cfg;
    if (s->cfg.policy.query_stop_timeout_ns == 0) {
        s->cfg.policy.query_stop_timeout_ns = VSP_QUERY_STOP_TIMEOUT_DEFAULT_NS;
    }
    s->host_clock = (struct vsp_clock){host_now, cfg->host};
    s->clock = cfg->clock != NULL ? cfg->clock : &s->host_clock;
    pthread_mutex_init(&s->lock, NULL);
    KeInitializeEvent(&s->wake, SynchronizationEvent, FALSE);
    s->wake.Host = cfg->host;
    atomic_init(&s->service_stop, false);
    atomic_init(&s->rb_done, false);
    pthread_mutex_init(&s->rb_lock, NULL);
    rc = init_rb_cond(&s->rb_cond);
    s->rb_cond_ready = rc == 0;
    rc = rc != 0 ? rc : wire(s);
    if (rc != 0) {
        vsp_stack_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

int
vsp_stack_start(struct vsp_stack *s)
{
    NTSTATUS st;

    pthread_mutex_lock(&s->lock);
    if (s->started || s->shut) {
        pthread_mutex_unlock(&s->lock);
        return PCIVIRT_ESTATE;
    }
    s->started = true;
    pthread_mutex_unlock(&s->lock);
    s->service_started = pthread_create(&s->service, NULL, service_main, s) == 0;
    if (!s->service_started) {
        return PCIVIRT_ENOMEM;
    }
    st = wdf_interface_register_notification(s->cfg.host, &GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE, true, on_interface,
                                             s, &s->notif);
    return NT_SUCCESS(st) ? 0 : PCIVIRT_ENOMEM;
}

void
vsp_stack_shutdown(struct vsp_stack *s)
{
    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&s->lock);
    if (s->shut) {
        pthread_mutex_unlock(&s->lock);
        return;
    }
    s->shut = true;
    pthread_mutex_unlock(&s->lock);
    wdf_interface_unregister_notification(s->notif); /* waits for a running arrival */
    s->notif = NULL;
    if (s->service_started) {
        atomic_store(&s->service_stop, true);
        wake(s);
        pthread_join(s->service, NULL);
        s->service_started = false;
    }
    release_gone(s, true); /* DETACH: a rebalance waiting for us carries on */
}

void
vsp_stack_destroy(struct vsp_stack *s)
{
    if (s == NULL) {
        return;
    }
    vsp_stack_shutdown(s);
    if (s->rb_running && !s->rb_joined) {
        pthread_join(s->rebalance, NULL); /* it runs PnP operations only: bounded by the PF */
        s->rb_joined = true;
    }
    while (s->vms != NULL) {
        vsp_stack_vm_destroy(s->vms);
    }
    vsp_vmm_destroy(s->vmm);
    vsp_vpci_destroy(s->vpci);
    vsp_pfs_destroy(s->pfs);
    vsp_iommu_destroy(s->iommu);
    vsp_event_log_destroy(s->log);
    if (s->rb_cond_ready) {
        pthread_cond_destroy(&s->rb_cond);
    }
    pthread_mutex_destroy(&s->rb_lock);
    pthread_mutex_destroy(&s->lock);
    pv_free(s);
}

struct vsp_event_log *
vsp_stack_log(struct vsp_stack *s)
{
    return s->log;
}

struct vsp_vmm *
vsp_stack_vmm(struct vsp_stack *s)
{
    return s->vmm;
}

struct vsp_vpci *
vsp_stack_vpci(struct vsp_stack *s)
{
    return s->vpci;
}

const struct vsp_clock *
vsp_stack_clock(struct vsp_stack *s)
{
    return s->clock;
}

void
vsp_stack_ports(struct vsp_stack *s, struct pv_dma_port *dma, struct pv_irq_port *irq)
{
    vsp_iommu_dma_port(s->iommu, dma);
    vsp_iommu_irq_port(s->iommu, irq);
}

/* ---- PFs ------------------------------------------------------------------------------------ */

size_t
vsp_stack_pfs(struct vsp_stack *s, struct vsp_stack_pf_info *out, size_t max)
{
    size_t n = 0;

    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < VSP_STACK_MAX_PFS; i++) {
        struct stack_pf *p = s->pf[i];
        struct vsp_broker_status bs;

        if (p == NULL || p->gone) {
            continue;
        }
        if (n < max) {
            vsp_broker_status(p->broker, &bs);
            out[n] = (struct vsp_stack_pf_info){.id = p->id,
                                                .num_vfs = vsp_pf_num_vfs(p->binding),
                                                .v2 = vsp_pf_is_v2(p->binding),
                                                .mitigable = p->have_mitig,
                                                .attached = bs.attached,
                                                .stopping = bs.stopping,
                                                .events = bs.events};
            snprintf(out[n].link, sizeof(out[n].link), "%s", p->link);
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

uint64_t
vsp_stack_tick(struct vsp_stack *s)
{
    struct vsp_broker *b[VSP_STACK_MAX_PFS];
    unsigned n = 0;
    uint64_t next = vsp_vmm_tick(s->vmm);

    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < VSP_STACK_MAX_PFS; i++) {
        if (s->pf[i] != NULL && !s->pf[i]->gone && s->pf[i]->broker != NULL) {
            b[n++] = vsp_broker_get(s->pf[i]->broker);
        }
    }
    pthread_mutex_unlock(&s->lock);
    for (unsigned i = 0; i < n; i++) {
        uint64_t d = vsp_broker_tick(b[i]);

        next = d < next ? d : next;
        vsp_broker_put(b[i]);
    }
    return next;
}

/* ---- VMs ------------------------------------------------------------------------------------ */

int
vsp_stack_vm_create(struct vsp_stack *s, const struct vsp_stack_vm_config *cfg, struct vsp_stack_vm **out)
{
    struct vsp_vm_config vc;
    struct vsp_stack_vm *v;
    struct vmbus_transport *ta = NULL, *tb = NULL;
    struct vmbus_channel *hch = NULL;
    int rc;

    if (s == NULL || cfg == NULL || out == NULL) {
        return PCIVIRT_EINVAL;
    }
    v = pv_calloc(1, sizeof(*v));
    if (v == NULL) {
        return PCIVIRT_ENOMEM;
    }
    v->s = s;
    vc = (struct vsp_vm_config){
        .name = cfg->name, .memory_bytes = cfg->memory_bytes, .irq_sink = cfg->irq_sink, .irq_ctx = cfg->irq_ctx};
    rc = vsp_vm_create(s->vmm, &vc, &v->vm);
    if (rc == 0 && !NT_SUCCESS(vmbus_inproc_pair_create(VMBUS_RING_SIZE, &ta, &tb))) {
        rc = PCIVIRT_ENOMEM;
    }
    if (rc == 0) {
        /* Each create owns its transport from here, also when it fails. */
        bool ok = NT_SUCCESS(vmbus_channel_create(ta, &hch));

        ok = NT_SUCCESS(vmbus_channel_create(tb, &v->guest)) && ok;
        if (!ok) {
            vmbus_channel_destroy(hch);
            rc = PCIVIRT_ENOMEM;
        }
    }
    if (rc == 0) {
        rc = vsp_vpci_host_create(s->vpci, s->vmm, v->vm, hch, &v->host); /* owns hch, also on failure */
    }
    if (rc != 0) {
        vmbus_channel_destroy(v->guest);
        vsp_vm_destroy(v->vm);
        pv_free(v);
        return rc;
    }
    pthread_mutex_lock(&s->lock);
    v->next = s->vms;
    s->vms = v;
    pthread_mutex_unlock(&s->lock);
    *out = v;
    return 0;
}

void
vsp_stack_vm_destroy(struct vsp_stack_vm *v)
{
    struct vsp_stack_vm **pp;

    if (v == NULL) {
        return;
    }
    pthread_mutex_lock(&v->s->lock);
    for (pp = &v->s->vms; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == v) {
            *pp = v->next;
            break;
        }
    }
    pthread_mutex_unlock(&v->s->lock);
    vsp_vpci_host_destroy(v->host);
    vmbus_channel_destroy(v->guest);
    vsp_vm_destroy(v->vm);
    pv_free(v);
}

struct vsp_vm *
vsp_stack_vm_vm(struct vsp_stack_vm *v)
{
    return v->vm;
}

struct vsp_vpci_host *
vsp_stack_vm_host(struct vsp_stack_vm *v)
{
    return v->host;
}

struct vmbus_channel *
vsp_stack_vm_channel(struct vsp_stack_vm *v)
{
    return v->guest;
}

int
vsp_stack_assign(struct vsp_stack *s, int pf, uint16_t vf, struct vsp_stack_vm *vm, uint32_t *slot)
{
    struct vsp_broker *b = broker_of(s, pf);
    struct vsp_broker_status bs;
    int rc;

    if (b == NULL || vm == NULL) {
        vsp_broker_put(b);
        return b == NULL ? PCIVIRT_ENOENT : PCIVIRT_EINVAL;
    }
    vsp_broker_status(b, &bs);
    /* Traps first: the guest's first access must already see the PF's map (contract.md 7.3). */
    rc = bs.stopping ? PCIVIRT_ESTATE : vsp_broker_watch_vf(b, vf);
    if (rc == PCIVIRT_ERANGE) {
        rc = PCIVIRT_ENOENT;
    } else if (rc != 0 && rc != PCIVIRT_ESTATE && rc != PCIVIRT_ENOMEM) {
        rc = PCIVIRT_EIO;
    }
    vsp_broker_put(b);
    /* Clean on the way in too: a previous VSP may have left the VF dirty (docs/STACK.md, clean handoff). */
    rc = rc != 0 ? rc : vsp_vmm_vouch(s->vmm, pf, vf);
    return rc != 0 ? rc : vsp_vmm_assign(s->vmm, pf, vf, vm->vm, slot);
}

int
vsp_stack_eject(struct vsp_stack *s, int pf, uint16_t vf, const char *reason)
{
    return vsp_vmm_eject(s->vmm, pf, vf, reason);
}

/* ---- rebalance ------------------------------------------------------------------------------ */

static void *
rebalance_main(void *arg)
{
    struct vsp_stack *s = arg;
    NTSTATUS st;

    wdf_thread_bind(s->cfg.host);
    st = wdf_pnp_query_stop(s->rb_node); /* a veto: the PnP manager has sent CANCEL_STOP */
    if (NT_SUCCESS(st)) {
        st = wdf_pnp_stop(s->rb_node);
    }
    if (NT_SUCCESS(st) && s->rb_move != NULL && s->rb_move(s->rb_ctx) != 0) {
        st = STATUS_UNSUCCESSFUL;
        wdf_pnp_start(s->rb_node); /* back on the old resources */
    } else if (NT_SUCCESS(st)) {
        st = wdf_pnp_start(s->rb_node);
    }
    s->rb_status = st;
    pthread_mutex_lock(&s->rb_lock);
    atomic_store(&s->rb_done, true);
    pthread_cond_broadcast(&s->rb_cond);
    pthread_mutex_unlock(&s->rb_lock);
    wdf_thread_bind(NULL);
    return NULL;
}

int
vsp_stack_rebalance_begin(struct vsp_stack *s, struct wdf_node *node, vsp_stack_move_fn *move, void *ctx)
{
    if (s == NULL || node == NULL) {
        return PCIVIRT_EINVAL;
    }
    if (s->rb_running && !s->rb_joined) {
        return PCIVIRT_EBUSY;
    }
    s->rb_node = node;
    s->rb_move = move;
    s->rb_ctx = ctx;
    s->rb_joined = false;
    atomic_store(&s->rb_done, false);
    s->rb_running = pthread_create(&s->rebalance, NULL, rebalance_main, s) == 0;
    return s->rb_running ? 0 : PCIVIRT_ENOMEM;
}

/*
 * Sleep until the rebalance thread is done or @real_ms pass.  A condition
 * variable, not a 1 ms polling sleep: the poll alone was most of a one-VM round
 * trip (docs/PERFORMANCE.md, benchmark 4).
 */
static bool
wait_rebalance(struct vsp_stack *s, unsigned real_ms)
{
    struct timespec until;
    bool done;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(real_ms / 1000u);
    until.tv_nsec += (long)(real_ms % 1000u) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->rb_lock);
    while (!(done = atomic_load(&s->rb_done))) {
        if (pthread_cond_timedwait(&s->rb_cond, &s->rb_lock, &until) != 0) {
            done = atomic_load(&s->rb_done);
            break;
        }
    }
    pthread_mutex_unlock(&s->rb_lock);
    return done;
}

int
vsp_stack_rebalance_end(struct vsp_stack *s, unsigned real_ms, NTSTATUS *status)
{
    if (s == NULL || !s->rb_running || s->rb_joined) {
        return PCIVIRT_ESTATE;
    }
    if (!wait_rebalance(s, real_ms)) {
        return PCIVIRT_ETIMEDOUT;
    }
    pthread_join(s->rebalance, NULL);
    s->rb_joined = true;
    if (status != NULL) {
        *status = s->rb_status;
    }
    return 0;
}
