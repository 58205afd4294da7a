/*
 * vsp/stack.c - the stack facade: wiring, the service thread, VMs, assignment,
 * rebalance.  The life of each PF (discovery, removal upcalls, per-PF detach and
 * attach) is in stack_pf.c; the records both share are in stack_internal.h.
 *
 * The service thread sleeps on a KEVENT of the runtime host, so its timed waits
 * follow the host clock (virtual in tests) and it wakes for releases, new
 * deadlines and shutdown.
 */
#include "vsp/stack_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "util/cond.h"
#include "util/thread.h"
#include "vmbus/transport.h"
#include "vsp/pfif.h"

#define STACK_LOG_DEFAULT 65536u

static uint64_t
host_now(void *ctx)
{
    return wdf_host_now(ctx);
}

void
stack_wake(void *ctx)
{
    struct vsp_stack *s = ctx;

    KeSetEvent(&s->wake, 0, FALSE);
}

/* ---- the service thread -------------------------------------------------------------------- */

LARGE_INTEGER
stack_wait_timeout(const struct vsp_stack *s, uint64_t next)
{
    LARGE_INTEGER timeout;

    /*
     * On the host clock, absolute time (positive NT time, 100 ns units): a relative timeout
     * would start from whenever the wait reads the clock, so a clock that moved
     * past @next in between (a virtual clock jumping) would postpone the deadline
     * by the jump - the service thread slept through the query-stop deadline
     * (regress: service_wait_is_not_postponed_by_a_clock_jump).
     */
    if (s->clock == &s->host_clock) {
        timeout.QuadPart = (LONGLONG)((next + 99) / 100);
    } else { /* a clock of the caller's: relative, at least one unit */
        uint64_t t = vsp_clock_now(s->clock);

        timeout.QuadPart = -(LONGLONG)(next > t ? (next - t + 99) / 100 : 1);
    }
    return timeout;
}

static void *
service_main(void *arg)
{
    struct vsp_stack *s = arg;

    pv_thread_name("pv-stack", -1);
    wdf_thread_bind(s->cfg.host);
    while (!atomic_load(&s->service_stop)) {
        uint64_t next;
        LARGE_INTEGER timeout;

        stack_release_gone(s, false);
        next = vsp_stack_tick(s);
        if (next == UINT64_MAX) {
            KeWaitForSingleObject(&s->wake, Executive, KernelMode, FALSE, NULL);
            continue;
        }
        timeout = stack_wait_timeout(s, next);
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
    pthread_mutex_init(&s->pf_mu, NULL);
    pthread_mutex_init(&s->lock, NULL);
    KeInitializeEvent(&s->wake, SynchronizationEvent, FALSE);
    s->wake.Host = cfg->host;
    atomic_init(&s->service_stop, false);
    atomic_init(&s->rb_done, false);
    pthread_mutex_init(&s->rb_lock, NULL);
    rc = pv_cond_init_monotonic(&s->rb_cond) != 0 ? PCIVIRT_ENOMEM : 0; /* rebalance_end waits in real time */
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
    st = wdf_interface_register_notification(s->cfg.host, &GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE, true,
                                             stack_on_interface, s, &s->notif);
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
        stack_wake(s);
        pthread_join(s->service, NULL);
        s->service_started = false;
    }
    stack_release_gone(s, true); /* DETACH: a rebalance waiting for us carries on */
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
    pthread_mutex_destroy(&s->pf_mu);
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

/* ---- deadlines ------------------------------------------------------------------------------ */

uint64_t
vsp_stack_tick(struct vsp_stack *s)
{
    struct vsp_broker *b[VSP_STACK_MAX_PFS];
    unsigned n = 0;
    uint64_t next = vsp_vmm_tick(s->vmm);

    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < VSP_STACK_MAX_PFS; i++) {
        if (s->pf[i] != NULL && !s->pf[i]->gone && s->pf[i]->broker != NULL) {
            b[n++] = vsp_broker_get(s->pf[i]->broker); /* a detaching PF's round too */
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
    struct vsp_broker *b = NULL;
    struct vsp_broker_status bs;
    int rc;

    if (vm == NULL) {
        return PCIVIRT_EINVAL;
    }
    rc = stack_pf_broker(s, pf, &b);
    if (rc != 0) {
        return rc;
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

    pv_thread_name("pv-rebalance", -1);
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
    struct timespec until = pv_deadline_ms(real_ms);
    bool done;

    pthread_mutex_lock(&s->rb_lock);
    while (!(done = atomic_load(&s->rb_done))) {
        if (pv_cond_wait_until(&s->rb_cond, &s->rb_lock, &until)) {
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
