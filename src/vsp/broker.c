/*
 * vsp/broker.c - the PnP broker of one PF (see vsp/broker.h).
 *
 * Shape: three kinds of held request (NOTIFICATION, INVALIDATE_BLOCK, one
 * MITIGATED_RANGE_UPDATE per watched VF) share one completion path that records
 * the request gone, re-arms it when that is the rule, then acts; a query-stop is
 * a "round" whose decision is taken exactly once, by whichever comes first of
 * the last answer, a veto, or the deadline (vsp_broker_tick).  Decisions are
 * computed under the lock and carried out after it is dropped (surprise
 * removals, EVENT_COMPLETE), so the broker never calls the VM manager, the vPCI
 * hosts or the PF with its lock held, except for the asynchronous sends noted in
 * the header.
 */
#include "vsp/broker.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "util/cond.h"
#include "util/thread.h"

/* Real time granted to outstanding completions on stop, and to a guest's query thread. */
#define BROKER_DRAIN_REAL_MS 10000u
#define BROKER_QUERY_REAL_MAX_NS (60 * (int64_t)VSP_NS_PER_S)
/* Attempts at reading a VF's ranges while the PF keeps changing them. */
#define BROKER_RANGE_READS 8u

struct held {
    struct vsp_broker *b;
    struct wdf_io *io; /* while outstanding */
    ULONG code;
    uint16_t vf;
    SRIOV_MITIGATED_RANGE_UPDATE_INPUT in;
    union {
        SRIOV_PF_EVENT event;
        SRIOV_INVALIDATE_BLOCK ib;
        SRIOV_MITIGATED_RANGE_UPDATE_OUTPUT upd;
        uint8_t raw[24];
    } out;
};

struct stop_entry {
    int vm;
    uint32_t slot;
    uint16_t vf;
    bool answered;
    NTSTATUS status;
};

/* A round's outcome, carried out without the lock. */
struct decision {
    bool made;
    bool deadline;
    NTSTATUS veto; /* STATUS_SUCCESS: none */
    struct stop_entry *e;
    size_t n;
};

struct vsp_broker {
    struct vsp_broker_config cfg;
    atomic_int refs;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* outstanding dropped */
    bool closing, stopped, leak;
    bool attach_ended;    /* the ATTACH attempt returned (vsp_broker_wait_attach) */
    unsigned outstanding; /* held requests out, plus EVENT_COMPLETE sends in flight */
    uint16_t num_vfs;
    struct held notify, inval;
    struct held **ranges; /* [num_vfs]; NULL until the VF is watched */
    struct {
        bool open, asked, vetoed;
        uint64_t cookie, deadline;
        struct stop_entry *e;
        size_t n;
        unsigned logging; /* answers taken but not yet logged: no decision before they are */
    } round;
    bool last_vetoed; /* the last round ended in a veto (CANCEL_STOP follows) */
    struct vsp_broker_status st;
    pthread_t thread;
    bool thread_started;
};

static void on_done(void *ctx, struct wdf_io *io, NTSTATUS status, ULONG_PTR information);

const char *
vsp_stop_policy_name(enum vsp_stop_policy policy)
{
    return policy == VSP_STOP_SURPRISE_REMOVE ? "surprise-remove" : "veto";
}

int
vsp_broker_pf(const struct vsp_broker *b)
{
    return b->cfg.pf;
}

static uint64_t
now(struct vsp_broker *b)
{
    return vsp_clock_now(b->cfg.clock);
}

static int
vm_of(struct vsp_broker *b, uint16_t vf)
{
    struct vsp_vf_info info;

    return vsp_vmm_vf_info(b->cfg.vmm, b->cfg.pf, vf, &info) == 0 ? info.vm : VSP_EV_NONE;
}

/* ---- held requests ---------------------------------------------------------------------- */

/* Send @h asynchronously; under b->lock.  A failure is logged and leaves it unarmed. */
static void
arm_locked(struct vsp_broker *b, struct held *h)
{
    const void *in = NULL;
    size_t in_len = 0, out_len = sizeof(h->out.event);
    NTSTATUS st;

    if (b->closing || h->io != NULL) {
        return;
    }
    if (h->code == IOCTL_SRIOV_INVALIDATE_BLOCK) {
        out_len = sizeof(h->out.ib);
    } else if (h->code == IOCTL_SRIOV_MITIGATED_RANGE_UPDATE) {
        in = &h->in;
        in_len = sizeof(h->in);
        out_len = sizeof(h->out.upd);
    }
    memset(&h->out, 0, sizeof(h->out));
    st = wdf_target_send_async(b->cfg.target, IRP_MJ_INTERNAL_DEVICE_CONTROL, h->code, in, in_len, &h->out, out_len,
                               on_done, h, &h->io);
    if (st == STATUS_PENDING) {
        b->outstanding++;
        return;
    }
    h->io = NULL;
    vsp_event_log_add(b->cfg.log, VSP_EV_PF_ERROR, b->cfg.pf,
                      h->code == IOCTL_SRIOV_MITIGATED_RANGE_UPDATE ? h->vf : -1, VSP_EV_NONE, st, h->code,
                      "could not hold IOCTL 0x%08x", (unsigned)h->code);
}

static NTSTATUS
send_sync(struct vsp_broker *b, ULONG code, const void *in, size_t in_len, void *out, size_t out_len, uint64_t timeout,
          ULONG_PTR *info)
{
    return wdf_target_send_sync(b->cfg.target, IRP_MJ_INTERNAL_DEVICE_CONTROL, code, in, in_len, out, out_len, timeout,
                                info);
}

static void
event_complete(struct vsp_broker *b, NTSTATUS query_status)
{
    SRIOV_PNP_EVENT_COMPLETE ec = {.QueryStatus = query_status};
    NTSTATUS st;
    bool closing;

    pthread_mutex_lock(&b->lock);
    closing = b->closing;
    b->outstanding += closing ? 0u : 1u; /* vsp_broker_stop() drains it before the target goes */
    pthread_mutex_unlock(&b->lock);
    if (closing) {
        return; /* DETACH released the PF's wait (contract.md 4.6) */
    }
    st = send_sync(b, IOCTL_SRIOV_EVENT_COMPLETE, &ec, sizeof(ec), NULL, 0, VSP_BROKER_IOCTL_TIMEOUT_NS, NULL);
    pthread_mutex_lock(&b->lock);
    b->outstanding--;
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
    if (!NT_SUCCESS(st)) {
        vsp_event_log_add(b->cfg.log, VSP_EV_PF_ERROR, b->cfg.pf, VSP_EV_NONE, VSP_EV_NONE, st,
                          IOCTL_SRIOV_EVENT_COMPLETE, "EVENT_COMPLETE(0x%08x) failed", (unsigned)query_status);
    }
}

/* ---- query-stop rounds ---------------------------------------------------------------------- */

/* The VFs of this PF that are in VMs now: whom to ask. */
static struct stop_entry *
collect(struct vsp_broker *b, size_t *n)
{
    struct stop_entry *e = pv_calloc(b->num_vfs, sizeof(*e));

    *n = 0;
    for (uint16_t vf = 0; e != NULL && vf < b->num_vfs; vf++) {
        struct vsp_vf_info info;

        if (vsp_vmm_vf_info(b->cfg.vmm, b->cfg.pf, vf, &info) == 0 &&
            (info.state == VSP_VF_ASSIGNED || info.state == VSP_VF_EJECTING)) {
            e[(*n)++] = (struct stop_entry){.vm = info.vm, .slot = info.slot, .vf = vf};
        }
    }
    return e;
}

/* Close the open round if it can be decided now; under b->lock. */
static struct decision
try_decide_locked(struct vsp_broker *b, bool deadline)
{
    struct decision d = {.veto = STATUS_SUCCESS};
    bool all = true;

    if (!b->round.open || !b->round.asked) {
        return d;
    }
    for (size_t i = 0; i < b->round.n; i++) {
        const struct stop_entry *e = &b->round.e[i];

        if (!e->answered) {
            all = false;
        } else if (!NT_SUCCESS(e->status) && d.veto == STATUS_SUCCESS) {
            d.veto = e->status;
        }
    }
    if (!deadline && (b->round.logging != 0 || (!all && d.veto == STATUS_SUCCESS))) {
        return d; /* an answer's event is still being logged, or still waiting */
    }
    d.made = true;
    d.deadline = !all && d.veto == STATUS_SUCCESS;
    d.e = b->round.e;
    d.n = b->round.n;
    b->round.e = NULL;
    b->round.n = 0;
    b->round.open = false;
    b->st.round_open = false;
    return d;
}

/* Whether VF @e is still in the VM it was in when asked. */
static bool
still_there(struct vsp_broker *b, const struct stop_entry *e)
{
    struct vsp_vf_info info;

    return vsp_vmm_vf_info(b->cfg.vmm, b->cfg.pf, e->vf, &info) == 0 && info.vm == e->vm &&
           (info.state == VSP_VF_ASSIGNED || info.state == VSP_VF_EJECTING);
}

/* Apply the policy to one VM that did not answer; returns the veto it causes (or success). */
static NTSTATUS
no_answer(struct vsp_broker *b, const struct stop_entry *e)
{
    uint64_t ms = b->cfg.answer_timeout_ns / VSP_NS_PER_MS;

    if (!still_there(b, e)) {
        return STATUS_SUCCESS; /* it left its VM meanwhile: nothing to protect */
    }
    vsp_event_log_add(b->cfg.log, VSP_EV_TIMEOUT, b->cfg.pf, e->vf, e->vm, STATUS_IO_TIMEOUT, b->cfg.answer_timeout_ns,
                      "vm %d did not answer query-stop within %llu ms (policy %s)", e->vm, (unsigned long long)ms,
                      vsp_stop_policy_name(b->cfg.policy));
    if (b->cfg.policy == VSP_STOP_VETO) {
        return STATUS_IO_TIMEOUT;
    }
    vsp_vmm_surprise_remove(b->cfg.vmm, b->cfg.pf, e->vf, "no answer to the PF's query-stop (policy surprise-remove)");
    return STATUS_SUCCESS;
}

static void
finish(struct vsp_broker *b, struct decision *d)
{
    NTSTATUS veto = d->veto;
    int vm = VSP_EV_NONE, vf = VSP_EV_NONE;

    if (!d->made) {
        return;
    }
    for (size_t i = 0; i < d->n; i++) {
        const struct stop_entry *e = &d->e[i];

        if (!e->answered && d->deadline) {
            NTSTATUS v = no_answer(b, e);

            if (!NT_SUCCESS(v) && NT_SUCCESS(veto)) {
                veto = v;
                vm = e->vm;
                vf = e->vf;
            }
        } else if (e->answered && !NT_SUCCESS(e->status) && vm == VSP_EV_NONE) {
            vm = e->vm;
            vf = e->vf;
        }
    }
    pthread_mutex_lock(&b->lock);
    b->last_vetoed = !NT_SUCCESS(veto);
    pthread_mutex_unlock(&b->lock);
    if (NT_SUCCESS(veto)) {
        vsp_event_log_add(b->cfg.log, VSP_EV_EVENT_COMPLETE, b->cfg.pf, VSP_EV_NONE, VSP_EV_NONE, STATUS_SUCCESS, d->n,
                          "query-stop: the PF may stop (%zu VF(s) in VMs)", d->n);
    } else {
        vsp_event_log_add(b->cfg.log, VSP_EV_VETO, b->cfg.pf, vf, vm, veto, d->n, "query-stop vetoed: %s of vm %d",
                          veto == STATUS_IO_TIMEOUT ? "no answer" : "refusal", vm);
    }
    pv_free(d->e);
    event_complete(b, veto);
}

static void
on_query_stop(struct vsp_broker *b)
{
    size_t n;
    struct stop_entry *e = collect(b, &n);
    struct decision d;
    uint64_t cookie;
    int64_t wait = b->cfg.answer_timeout_ns > (uint64_t)BROKER_QUERY_REAL_MAX_NS ? BROKER_QUERY_REAL_MAX_NS
                                                                                 : (int64_t)b->cfg.answer_timeout_ns;

    pthread_mutex_lock(&b->lock);
    pv_free(b->round.e); /* a round still open is superseded (the PF raised a new event) */
    b->round.e = e;
    b->round.n = e != NULL ? n : 0;
    b->round.open = true;
    b->round.asked = false;
    b->round.logging = 0;
    b->round.cookie++;
    b->round.deadline = now(b) + b->cfg.answer_timeout_ns;
    cookie = b->round.cookie;
    b->st.stopping = true;
    b->st.round_open = true;
    pthread_mutex_unlock(&b->lock);
    vsp_event_log_add(b->cfg.log, VSP_EV_QUERY_STOP, b->cfg.pf, VSP_EV_NONE, VSP_EV_NONE, STATUS_SUCCESS, n,
                      "asking the VMs of %zu VF(s); answers due in %llu ms", n,
                      (unsigned long long)(b->cfg.answer_timeout_ns / VSP_NS_PER_MS));
    if (n != 0 && b->cfg.answer_fn != NULL) {
        vsp_vpci_query_stop(b->cfg.vpci, b->cfg.pf, cookie, wait, b->cfg.answer_fn, b->cfg.answer_ctx);
    }
    pthread_mutex_lock(&b->lock);
    if (b->round.cookie == cookie) {
        b->round.asked = true;
    }
    d = try_decide_locked(b, false);
    pthread_mutex_unlock(&b->lock);
    finish(b, &d);
    if (b->cfg.wake != NULL) {
        b->cfg.wake(b->cfg.wake_ctx);
    }
}

static void
on_restart(struct vsp_broker *b)
{
    unsigned remapped, told;
    bool vetoed;

    pthread_mutex_lock(&b->lock);
    vetoed = b->last_vetoed;
    b->last_vetoed = false;
    b->st.stopping = false;
    pv_free(b->round.e);
    b->round.e = NULL;
    b->round.n = 0;
    b->round.open = false;
    b->st.round_open = false;
    pthread_mutex_unlock(&b->lock);
    /* BARs may have moved (contract.md 10.21): GetResourceForBar again, then tell the guests. */
    remapped = vsp_vpci_remap(b->cfg.vpci, b->cfg.pf);
    told = vsp_vpci_stop_done(b->cfg.vpci, b->cfg.pf, !vetoed);
    vsp_event_log_add(b->cfg.log, VSP_EV_RESTART, b->cfg.pf, VSP_EV_NONE, VSP_EV_NONE, STATUS_SUCCESS, remapped,
                      "%s: %u slot(s) re-mapped, %u told %s", vetoed ? "stop cancelled" : "restarted", remapped, told,
                      vetoed ? "QUERY_STOP_FAILED" : "REENABLE");
    event_complete(b, STATUS_SUCCESS);
}

void
vsp_broker_answer(struct vsp_broker *b, uint64_t cookie, int vm, uint32_t slot, uint16_t vf, NTSTATUS status)
{
    struct decision d = {.made = false};
    bool matched = false;

    pthread_mutex_lock(&b->lock);
    if (b->round.open && b->round.cookie == cookie) {
        for (size_t i = 0; i < b->round.n && !matched; i++) {
            struct stop_entry *e = &b->round.e[i];

            if (e->vm == vm && e->vf == vf && !e->answered) {
                e->answered = true;
                e->status = status;
                matched = true;
                b->round.logging++;
            }
        }
    }
    pthread_mutex_unlock(&b->lock);
    vsp_event_log_add(b->cfg.log, matched ? VSP_EV_VM_ANSWER : VSP_EV_GUEST_ERROR, b->cfg.pf, vf, vm, status, slot,
                      matched ? (NT_SUCCESS(status) ? "query-stop accepted" : "query-stop refused")
                              : "query-stop answer after the decision: ignored");
    if (matched) {
        /*
         * The decision waits until every taken answer is in the log, so the log
         * never shows EVENT_COMPLETE before an answer it was based on.
         */
        pthread_mutex_lock(&b->lock);
        if (b->round.cookie == cookie && b->round.logging != 0) {
            b->round.logging--;
        }
        d = try_decide_locked(b, false);
        pthread_mutex_unlock(&b->lock);
        finish(b, &d);
    }
}

uint64_t
vsp_broker_tick(struct vsp_broker *b)
{
    struct decision d = {.made = false};
    uint64_t next = UINT64_MAX;

    pthread_mutex_lock(&b->lock);
    if (b->round.open && b->round.asked) {
        if (now(b) >= b->round.deadline) {
            d = try_decide_locked(b, true);
        } else {
            next = b->round.deadline;
        }
    }
    pthread_mutex_unlock(&b->lock);
    finish(b, &d);
    return next;
}

/* ---- completions ------------------------------------------------------------------------------ */

/* A held request ended otherwise than with its answer: quiet when we asked for it. */
static void
held_failed(struct vsp_broker *b, const struct held *h, NTSTATUS status)
{
    bool closing;

    pthread_mutex_lock(&b->lock);
    closing = b->closing;
    pthread_mutex_unlock(&b->lock);
    if (closing && status == STATUS_CANCELLED) {
        return;
    }
    vsp_event_log_add(b->cfg.log, VSP_EV_PF_ERROR, b->cfg.pf,
                      h->code == IOCTL_SRIOV_MITIGATED_RANGE_UPDATE ? h->vf : VSP_EV_NONE, VSP_EV_NONE, status, h->code,
                      "held IOCTL 0x%08x ended without an answer; not re-armed", (unsigned)h->code);
}

static void
notify_done(struct vsp_broker *b, struct held *h, NTSTATUS status, ULONG_PTR info)
{
    SRIOV_PF_EVENT event = h->out.event;
    bool closing;

    if (!NT_SUCCESS(status) || info < sizeof(event)) {
        held_failed(b, h, NT_SUCCESS(status) ? STATUS_BAD_DATA : status);
        return;
    }
    pthread_mutex_lock(&b->lock);
    b->st.events++;
    arm_locked(b, h); /* one NOTIFICATION outstanding, even before EVENT_COMPLETE (contract.md 4.3) */
    closing = b->closing;
    pthread_mutex_unlock(&b->lock);
    if (closing) {
        return; /* DETACH releases the PF's wait */
    }
    if (event == SriovEventPfQueryStopDevice) {
        on_query_stop(b);
    } else if (event == SriovEventPfRestart) {
        on_restart(b);
    } else {
        vsp_event_log_add(b->cfg.log, VSP_EV_PF_ERROR, b->cfg.pf, VSP_EV_NONE, VSP_EV_NONE, STATUS_BAD_DATA,
                          (uint64_t)event, "unknown PnP event %u: acknowledged", (unsigned)event);
        event_complete(b, STATUS_SUCCESS);
    }
}

static void
inval_done(struct vsp_broker *b, struct held *h, NTSTATUS status, ULONG_PTR info)
{
    SRIOV_INVALIDATE_BLOCK ib = h->out.ib;

    if (!NT_SUCCESS(status) || info < sizeof(ib)) {
        held_failed(b, h, NT_SUCCESS(status) ? STATUS_BAD_DATA : status);
        return;
    }
    pthread_mutex_lock(&b->lock);
    b->st.invalidations++;
    arm_locked(b, h);
    pthread_mutex_unlock(&b->lock);
    if (ib.VfIndex != SRIOV_INVALIDATE_BLOCK_ALL_VFS && ib.VfIndex >= b->num_vfs) {
        vsp_event_log_add(b->cfg.log, VSP_EV_PF_ERROR, b->cfg.pf, ib.VfIndex, VSP_EV_NONE, STATUS_BAD_DATA,
                          ib.BlockMask, "INVALIDATE_BLOCK for VF %u beyond NumVFs %u: dropped", ib.VfIndex, b->num_vfs);
        return;
    }
    vsp_vpci_invalidate(b->cfg.vpci, b->cfg.pf, &ib);
}

static int refresh_ranges(struct vsp_broker *b, uint16_t vf);

static void
update_done(struct vsp_broker *b, struct held *h, NTSTATUS status, ULONG_PTR info)
{
    uint16_t vf = h->out.upd.VfIndex;
    bool closing;

    if (!NT_SUCCESS(status) || info < sizeof(h->out.upd)) {
        held_failed(b, h, NT_SUCCESS(status) ? STATUS_BAD_DATA : status);
        return;
    }

    pthread_mutex_lock(&b->lock);
    b->st.range_updates++;
    closing = b->closing;
    pthread_mutex_unlock(&b->lock);
    if (closing) {
        return;
    }
    if (vf != h->vf) {
        vsp_event_log_add(b->cfg.log, VSP_EV_PF_ERROR, b->cfg.pf, h->vf, VSP_EV_NONE, STATUS_BAD_DATA, vf,
                          "MITIGATED_RANGE_UPDATE held for VF %u completed for VF %u: refreshing VF %u", h->vf, vf,
                          h->vf);
    }
    refresh_ranges(b, h->vf); /* re-read first, then re-arm (contract.md 7.3 step 4) */
    pthread_mutex_lock(&b->lock);
    arm_locked(b, h);
    pthread_mutex_unlock(&b->lock);
}

static void
on_done(void *ctx, struct wdf_io *io, NTSTATUS status, ULONG_PTR information)
{
    struct held *h = ctx;
    struct vsp_broker *b = h->b;

    pthread_mutex_lock(&b->lock);
    if (h->io == io) {
        h->io = NULL;
    }
    pthread_mutex_unlock(&b->lock);
    wdf_io_release(io);
    if (h->code == IOCTL_SRIOV_NOTIFICATION) {
        notify_done(b, h, status, information);
    } else if (h->code == IOCTL_SRIOV_INVALIDATE_BLOCK) {
        inval_done(b, h, status, information);
    } else {
        update_done(b, h, status, information);
    }
    pthread_mutex_lock(&b->lock);
    b->outstanding--;
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

/* ---- mitigated ranges --------------------------------------------------------------------------- */

static int
range_error(struct vsp_broker *b, uint16_t vf, NTSTATUS st, uint64_t detail, const char *what)
{
    vsp_event_log_add(b->cfg.log, VSP_EV_PF_ERROR, b->cfg.pf, vf, vm_of(b, vf), st, detail, "VF trap map: %s", what);
    return PCIVIRT_EIO;
}

/* QUERY_MITIGATED_RANGES of one BAR into a new array (*out, NULL when @count is 0). */
static int
read_bar_ranges(struct vsp_broker *b, uint16_t vf, UCHAR bar, ULONG count, SRIOV_MITIGATED_RANGES_OUTPUT **out)
{
    SRIOV_MITIGATED_RANGES_INPUT in = {.VfIndex = vf, .BarNumber = bar};
    ULONG_PTR info = 0;
    NTSTATUS st;

    *out = NULL;
    if (count == 0) {
        return 0;
    }
    if (count > VSP_BROKER_MAX_RANGES) {
        return range_error(b, vf, STATUS_BAD_DATA, count, "more ranges than the stack accepts per BAR");
    }
    *out = pv_calloc(count, sizeof(**out));
    if (*out == NULL) {
        return PCIVIRT_ENOMEM;
    }
    st = send_sync(b, IOCTL_SRIOV_QUERY_MITIGATED_RANGES, &in, sizeof(in), *out, count * sizeof(**out),
                   VSP_BROKER_IOCTL_TIMEOUT_NS, &info);
    if (st == STATUS_BUFFER_TOO_SMALL) {
        return PCIVIRT_EBUSY; /* more ranges than counted: they changed since the count (4.9) */
    }
    if (NT_SUCCESS(st) && info < count * sizeof(**out) && info % sizeof(**out) == 0) {
        return PCIVIRT_EBUSY; /* fewer (Information = 16 per range, 4.9): they changed since the count too */
    }
    if (!NT_SUCCESS(st) || info < count * sizeof(**out)) {
        return range_error(b, vf, NT_SUCCESS(st) ? STATUS_BAD_DATA : st, bar, "QUERY_MITIGATED_RANGES failed");
    }
    return 0;
}

static int refresh_ranges_once(struct vsp_broker *b, uint16_t vf);

/*
 * Re-read VF @vf's ranges and rebuild its map.  The PF may change them between
 * the count and the per-BAR reads (the change then also completes the next
 * MITIGATED_RANGE_UPDATE); a read that finds more or fewer ranges than
 * counted starts over, a bounded number of times, before it is reported.
 */
static int
refresh_ranges(struct vsp_broker *b, uint16_t vf)
{
    int rc = PCIVIRT_EBUSY;

    for (unsigned attempt = 0; rc == PCIVIRT_EBUSY && attempt < BROKER_RANGE_READS; attempt++) {
        rc = refresh_ranges_once(b, vf);
    }
    return rc == PCIVIRT_EBUSY ? range_error(b, vf, STATUS_BUFFER_TOO_SMALL, BROKER_RANGE_READS,
                                             "ranges kept changing while they were read")
                               : rc;
}

static int
refresh_ranges_once(struct vsp_broker *b, uint16_t vf)
{
    SRIOV_MITIGATED_RANGE_COUNT_INPUT in = {.VfIndex = vf};
    SRIOV_MITIGATED_RANGE_COUNT_OUTPUT cnt;
    SRIOV_MITIGATED_RANGES_OUTPUT *ranges[PCI_TYPE0_ADDRESSES] = {NULL};
    struct vsp_intercept_map *map = vsp_pf_intercept(b->cfg.binding, vf);
    struct pcivirt_error err;
    ULONG_PTR info = 0;
    ULONG total = 0;
    NTSTATUS st;
    int rc = 0;

    if (map == NULL) {
        return range_error(b, vf, STATUS_DEVICE_NOT_READY, 0, "no map (BARs unreadable)");
    }
    memset(&cnt, 0, sizeof(cnt));
    st = send_sync(b, IOCTL_SRIOV_QUERY_MITIGATED_RANGE_COUNT, &in, sizeof(in), &cnt, sizeof(cnt),
                   VSP_BROKER_IOCTL_TIMEOUT_NS, &info);
    if (!NT_SUCCESS(st) || info < sizeof(cnt)) {
        return range_error(b, vf, NT_SUCCESS(st) ? STATUS_BAD_DATA : st, 0, "QUERY_MITIGATED_RANGE_COUNT failed");
    }
    for (UCHAR bar = 0; rc == 0 && bar < PCI_TYPE0_ADDRESSES; bar++) {
        rc = read_bar_ranges(b, vf, bar, cnt.RangeCount[bar], &ranges[bar]);
        total += cnt.RangeCount[bar];
    }
    if (rc == 0 &&
        vsp_intercept_replace(map, (const SRIOV_MITIGATED_RANGES_OUTPUT *const *)ranges, cnt.RangeCount, &err) != 0) {
        rc = range_error(b, vf, STATUS_BAD_DATA, total, err.message);
    }
    if (rc == 0) {
        vsp_event_log_add(b->cfg.log, VSP_EV_INTERCEPT_UPDATE, b->cfg.pf, vf, vm_of(b, vf), STATUS_SUCCESS, total,
                          "trap map rebuilt from %lu range(s)", (unsigned long)total);
    }
    for (unsigned i = 0; i < PCI_TYPE0_ADDRESSES; i++) {
        pv_free(ranges[i]);
    }
    return rc;
}

int
vsp_broker_watch_vf(struct vsp_broker *b, uint16_t vf)
{
    struct held *h;
    int rc = 0;

    if (vf >= b->num_vfs) {
        return PCIVIRT_ERANGE;
    }
    if (vsp_pf_has_mitigable(b->cfg.binding)) {
        rc = refresh_ranges(b, vf);
    }
    if (rc != 0 || !vsp_pf_has_mitigable(b->cfg.binding)) {
        return rc;
    }
    pthread_mutex_lock(&b->lock);
    if (b->closing) {
        rc = PCIVIRT_ESTATE;
    } else if (b->ranges[vf] == NULL) {
        h = pv_calloc(1, sizeof(*h));
        if (h == NULL) {
            rc = PCIVIRT_ENOMEM;
        } else {
            *h = (struct held){.b = b, .code = IOCTL_SRIOV_MITIGATED_RANGE_UPDATE, .vf = vf, .in = {.VfIndex = vf}};
            b->ranges[vf] = h;
            arm_locked(b, h);
        }
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

/* ---- lifetime -------------------------------------------------------------------------------- */

static void *
attach_thread(void *arg)
{
    struct vsp_broker *b = arg;
    NTSTATUS st;

    pv_thread_name("pv-broker", -1);
    wdf_thread_bind(b->cfg.host);
    st = send_sync(b, IOCTL_SRIOV_ATTACH, NULL, 0, NULL, 0, VSP_BROKER_ATTACH_TIMEOUT_NS, NULL);
    pthread_mutex_lock(&b->lock);
    if (NT_SUCCESS(st)) {
        b->st.attached = true; /* also when closing: stop then sends DETACH */
        arm_locked(b, &b->notify);
    }
    pthread_mutex_unlock(&b->lock);
    vsp_event_log_add(b->cfg.log, NT_SUCCESS(st) ? VSP_EV_ATTACH : VSP_EV_PF_ERROR, b->cfg.pf, VSP_EV_NONE, VSP_EV_NONE,
                      st, 0, NT_SUCCESS(st) ? "attached: one NOTIFICATION held" : "ATTACH failed");
    pthread_mutex_lock(&b->lock);
    b->attach_ended = true; /* after the log: a waiter finds the ATTACH recorded */
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
    wdf_thread_bind(NULL);
    return NULL;
}

int
vsp_broker_create(const struct vsp_broker_config *cfg, struct vsp_broker **out)
{
    struct vsp_broker *b;

    if (cfg == NULL || out == NULL || cfg->target == NULL || cfg->host == NULL || cfg->binding == NULL ||
        cfg->vmm == NULL || cfg->vpci == NULL || cfg->clock == NULL) {
        return PCIVIRT_EINVAL;
    }
    b = pv_calloc(1, sizeof(*b));
    if (b == NULL) {
        return PCIVIRT_ENOMEM;
    }
    b->cfg = *cfg;
    b->num_vfs = vsp_pf_num_vfs(cfg->binding);
    b->ranges = pv_calloc(b->num_vfs, sizeof(*b->ranges));
    if (b->ranges == NULL) {
        pv_free(b);
        return PCIVIRT_ENOMEM;
    }
    atomic_init(&b->refs, 1);
    pthread_mutex_init(&b->lock, NULL);
    pv_cond_init_monotonic(&b->cond);
    b->cfg.binding = vsp_pf_get(cfg->binding);
    b->notify = (struct held){.b = b, .code = IOCTL_SRIOV_NOTIFICATION};
    b->inval = (struct held){.b = b, .code = IOCTL_SRIOV_INVALIDATE_BLOCK};
    pthread_mutex_lock(&b->lock);
    arm_locked(b, &b->inval);
    pthread_mutex_unlock(&b->lock);
    b->thread_started = pthread_create(&b->thread, NULL, attach_thread, b) == 0;
    if (!b->thread_started) {
        vsp_broker_put(b);
        return PCIVIRT_ENOMEM;
    }
    *out = b;
    return 0;
}

bool
vsp_broker_wait_attach(struct vsp_broker *b, unsigned real_ms)
{
    struct timespec until = pv_deadline_ms(real_ms);
    bool ended;

    pthread_mutex_lock(&b->lock);
    while (!b->attach_ended && !pv_cond_wait_until(&b->cond, &b->lock, &until)) {
    }
    ended = b->attach_ended;
    pthread_mutex_unlock(&b->lock);
    return ended;
}

/* Cancel every held request; under b->lock (cancellation only queues completions). */
static void
cancel_all_locked(struct vsp_broker *b)
{
    wdf_io_cancel(b->notify.io);
    wdf_io_cancel(b->inval.io);
    for (uint16_t vf = 0; vf < b->num_vfs; vf++) {
        if (b->ranges[vf] != NULL) {
            wdf_io_cancel(b->ranges[vf]->io);
        }
    }
}

/* Wait (real time, bounded) until no completion of ours is pending or running. */
static bool
drain(struct vsp_broker *b)
{
    struct timespec until = pv_deadline_ms(BROKER_DRAIN_REAL_MS);
    bool drained;

    pthread_mutex_lock(&b->lock);
    cancel_all_locked(b);
    while (b->outstanding != 0 && !pv_cond_wait_until(&b->cond, &b->lock, &until)) {
    }
    drained = b->outstanding == 0;
    pthread_mutex_unlock(&b->lock);
    return drained;
}

void
vsp_broker_stop(struct vsp_broker *b, bool gone, const char *reason)
{
    bool attached;
    NTSTATUS st = STATUS_SUCCESS;

    pthread_mutex_lock(&b->lock);
    if (b->closing) {
        pthread_mutex_unlock(&b->lock);
        return;
    }
    b->closing = true;
    pthread_mutex_unlock(&b->lock);
    if (b->thread_started) {
        pthread_join(b->thread, NULL); /* ATTACH ends with the rebalance it waits for, or the removal */
        b->thread_started = false;
    }
    pthread_mutex_lock(&b->lock);
    attached = b->st.attached;
    b->st.attached = false;
    pv_free(b->round.e);
    b->round.e = NULL;
    b->round.n = 0;
    b->round.open = false;
    b->st.round_open = false;
    pthread_mutex_unlock(&b->lock);
    if (attached) {
        /* Also after a removal: the PF refuses it then (STATUS_DELETE_PENDING), which is logged. */
        st = send_sync(b, IOCTL_SRIOV_DETACH, NULL, 0, NULL, 0, VSP_BROKER_IOCTL_TIMEOUT_NS, NULL);
        vsp_event_log_add(b->cfg.log, VSP_EV_DETACH, b->cfg.pf, VSP_EV_NONE, VSP_EV_NONE, st, gone, "%s",
                          reason != NULL ? reason : "stop");
    }
    if (!drain(b)) {
        b->leak = true; /* a PF kept a request: never free what its completion will touch */
        vsp_event_log_add(b->cfg.log, VSP_EV_PF_ERROR, b->cfg.pf, VSP_EV_NONE, VSP_EV_NONE, STATUS_IO_TIMEOUT,
                          BROKER_DRAIN_REAL_MS, "held requests not completed after cancellation");
    }
    b->stopped = true;
}

struct vsp_broker *
vsp_broker_get(struct vsp_broker *b)
{
    atomic_fetch_add(&b->refs, 1);
    return b;
}

void
vsp_broker_put(struct vsp_broker *b)
{
    if (b == NULL || atomic_fetch_sub(&b->refs, 1) != 1) {
        return;
    }
    vsp_broker_stop(b, false, "released");
    if (b->leak) {
        return;
    }
    for (uint16_t vf = 0; vf < b->num_vfs; vf++) {
        pv_free(b->ranges[vf]);
    }
    pv_free(b->ranges);
    vsp_pf_put(b->cfg.binding);
    pthread_cond_destroy(&b->cond);
    pthread_mutex_destroy(&b->lock);
    pv_free(b);
}

void
vsp_broker_status(struct vsp_broker *b, struct vsp_broker_status *out)
{
    pthread_mutex_lock(&b->lock);
    *out = b->st;
    pthread_mutex_unlock(&b->lock);
}
