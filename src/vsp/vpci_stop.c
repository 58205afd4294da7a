/*
 * vsp/vpci_stop.c - the guest leg of a PF rebalance (see vsp/vpci_host.h).
 *
 * PCI_QUERY_STOP wants the guest's answer as a completion, and the broker that
 * asks must not wait for it (it decides on the stack clock, and one VM that never
 * answers must not delay the others).  So the query is an asynchronous channel
 * request (vmbus_channel_request_async): it is sent from the asking thread, and
 * the answer is handed over by the VM's dispatch thread, which reads the channel
 * anyway - no thread per query, no thread hop beyond the one that receives.  The
 * same dispatch thread ends the queries whose real-time wait ran out
 * (vpci_stop_expire), and reports every query still out when the channel goes.
 *
 * Each query is a small record (struct vpci_query) with exactly one owner at a
 * time: the channel while the guest may still answer, then whoever takes it out
 * of the slot - the answer callback, or a caller that abandons it in the channel
 * first (stop-over, newer query, expiry, rescind).  vmbus_channel_abandon() says
 * which of the two got it, so every asked slot is reported exactly once.
 *
 * Order.  A guest must never see a query after the stop-over of its round (it
 * would keep its driver stopped for good), and must see exactly one stop-over per
 * slot and round.  Both the query and the stop-over of a slot are sent under the
 * host's stop_lock, and the broker sends the stop-over only after the round's
 * queries went out, so on the channel - one ring, read in order - the query
 * always comes first.  A stop-over due while a query still waits for its answer
 * abandons that query (reported STATUS_CANCELLED; a late answer is dropped
 * quietly by the channel); a newer round's query does the same to the one before
 * it.  At most one query per slot is out, and records live only while out, so a
 * guest cannot make the stack hold more than one record per slot.
 */
#include "util/alloc.h"
#include "vsp/clock.h"
#include "vsp/vpci_internal.h"

struct vpci_query {
    struct vsp_vpci_host *h;
    uint32_t slot;
    int pf;
    uint16_t vf;
    uint64_t cookie;
    uint64_t id;     /* the channel's transaction id */
    int64_t expires; /* CLOCK_MONOTONIC ns */
    vsp_vpci_answer_fn *fn;
    void *ctx;
    uint8_t reply[VPCI_REPLY_BUF_SIZE];
};

/* Real time now (the waits of @wait_ns are real time, not the stack clock). */
static int64_t
mono_ns(void)
{
    return (int64_t)vsp_clock_now(vsp_clock_monotonic());
}

/* Report @q and free it; no lock held. */
static void
report(struct vpci_query *q, bool answered, NTSTATUS status)
{
    q->fn(q->ctx, q->cookie, q->h->vm_id, q->slot, q->pf, q->vf, answered, status);
    pv_free(q);
}

/*
 * Under stop_lock: take the query of slot @i back from the channel.  Returns it
 * (the caller reports it) when the guest had not answered, NULL when there was
 * none or its answer is being handed over right now (the callback reports it).
 */
static struct vpci_query *
take_back_locked(struct vsp_vpci_host *h, unsigned i)
{
    struct vpci_query *q = h->stopq[i].out;

    if (q == NULL) {
        return NULL;
    }
    h->stopq[i].out = NULL;
    atomic_fetch_sub(&h->queries_out, 1);
    if (!vmbus_channel_abandon(h->ch, q->id)) {
        return NULL;
    }
    atomic_fetch_add(&h->st.queries_abandoned, 1);
    return q;
}

/* The guest answered (from the thread reading the channel, no channel lock held). */
static void
on_answer(void *ctx, uint64_t id, NTSTATUS status, uint8_t *reply, size_t len)
{
    struct vpci_query *q = ctx;
    struct vsp_vpci_host *h = q->h;
    struct vpci_msg req = {.type = PCI_QUERY_STOP, .slot = q->slot};
    struct vpci_reply r;
    unsigned i = vpci_slot_device(q->slot);

    (void)id;
    pthread_mutex_lock(&h->stop_lock);
    if (h->stopq[i].out == q) {
        h->stopq[i].out = NULL;
        atomic_fetch_sub(&h->queries_out, 1);
    }
    pthread_mutex_unlock(&h->stop_lock);
    if (NT_SUCCESS(status)) {
        status = vpci_reply_decode(&req, reply, len, &r, NULL);
    }
    if (NT_SUCCESS(status)) {
        report(q, true, r.status);
    } else {
        vsp_event_log_add(h->vpci->cfg.log, VSP_EV_BAD_PACKET, q->pf, q->vf, h->vm_id, status, PCI_QUERY_STOP,
                          "malformed answer to PCI_QUERY_STOP");
        report(q, false, status);
    }
}

/*
 * Ask slot @i (under stop_lock, so its stop-over cannot overtake the query).
 * *@old gets the query it replaced (to report), or NULL.  Returns the send's
 * status; on failure @q stays the caller's.
 */
static NTSTATUS
ask_locked(struct vsp_vpci_host *h, unsigned i, struct vpci_query *q, struct vpci_query **old)
{
    struct vpci_msg m = {.type = PCI_QUERY_STOP, .slot = q->slot};
    uint8_t buf[VPCI_MSG_MAX_SIZE];
    size_t len = 0;
    NTSTATUS st = vpci_msg_encode(&m, buf, sizeof(buf), &len);

    *old = take_back_locked(h, i);
    if (NT_SUCCESS(st)) {
        pthread_mutex_lock(&h->send_lock);
        st = vmbus_channel_request_async(h->ch, buf, len, q->reply, sizeof(q->reply), on_answer, q,
                                         h->vpci->cfg.send_timeout_ns, &q->id);
        pthread_mutex_unlock(&h->send_lock);
    }
    if (NT_SUCCESS(st)) {
        h->stopq[i].out = q;
        atomic_fetch_add(&h->queries_out, 1);
    }
    return st;
}

/* The slots of @h holding a VF of @pf: (slot, vf) pairs. */
static unsigned
slots_of_pf(struct vsp_vpci_host *h, int pf, uint32_t *slots, uint16_t *vfs)
{
    unsigned n = 0;

    pthread_rwlock_rdlock(&h->lock);
    for (unsigned i = 0; i < VSP_VPCI_SLOTS; i++) {
        const struct vpci_slot *s = &h->slots[i];

        if (s->present && vsp_pf_id(s->pf) == pf) {
            slots[n] = s->desc.slot;
            vfs[n++] = s->vf;
        }
    }
    pthread_rwlock_unlock(&h->lock);
    return n;
}

/* Query one slot; reports at once whatever could not be asked or was replaced. */
static void
query_slot(struct vsp_vpci_host *h, uint32_t slot, uint16_t vf, const struct vpci_query *tmpl)
{
    struct vpci_query *q = pv_malloc(sizeof(*q));
    struct vpci_query *old;
    NTSTATUS st;

    if (q == NULL) {
        tmpl->fn(tmpl->ctx, tmpl->cookie, h->vm_id, slot, tmpl->pf, vf, false, STATUS_INSUFFICIENT_RESOURCES);
        return;
    }
    *q = *tmpl;
    q->h = h;
    q->slot = slot;
    q->vf = vf;
    pthread_mutex_lock(&h->stop_lock);
    st = ask_locked(h, vpci_slot_device(slot), q, &old);
    pthread_mutex_unlock(&h->stop_lock);
    if (old != NULL) {
        report(old, false, STATUS_CANCELLED); /* a newer round asks the slot again */
    }
    if (!NT_SUCCESS(st)) {
        report(q, false, st);
    }
}

unsigned
vsp_vpci_query_stop(struct vsp_vpci *vpci, int pf, uint64_t cookie, int64_t wait_ns, vsp_vpci_answer_fn *fn, void *ctx)
{
    struct vpci_query tmpl = {.pf = pf, .cookie = cookie, .fn = fn, .ctx = ctx};
    struct list_node *n;
    unsigned asked = 0;

    if (vpci == NULL || fn == NULL) {
        return 0;
    }
    tmpl.expires = mono_ns() + (wait_ns > 0 ? wait_ns : 0);
    pthread_rwlock_rdlock(&vpci->lock);
    list_for_each(n, &vpci->hosts)
    {
        struct vsp_vpci_host *h = list_entry(n, struct vsp_vpci_host, node);
        uint32_t slots[VSP_VPCI_SLOTS];
        uint16_t vfs[VSP_VPCI_SLOTS];
        unsigned count;

        if (atomic_load(&h->version) == 0) {
            continue; /* no guest bus yet: nobody to ask (the broker's deadline decides) */
        }
        count = slots_of_pf(h, pf, slots, vfs);
        for (unsigned i = 0; i < count; i++) {
            query_slot(h, slots[i], vfs[i], &tmpl);
        }
        asked += count;
    }
    pthread_rwlock_unlock(&vpci->lock);
    return asked;
}

static void
send_stop_over_locked(struct vsp_vpci_host *h, uint32_t slot, bool restarted)
{
    struct vpci_msg m = {.type = restarted ? PCI_REENABLE : PCI_QUERY_STOP_FAILED, .slot = slot};

    vpci_send(h, &m);
}

unsigned
vsp_vpci_stop_done(struct vsp_vpci *vpci, int pf, bool restarted)
{
    struct list_node *n;
    unsigned told = 0;

    if (vpci == NULL) {
        return 0;
    }
    pthread_rwlock_rdlock(&vpci->lock);
    list_for_each(n, &vpci->hosts)
    {
        struct vsp_vpci_host *h = list_entry(n, struct vsp_vpci_host, node);
        uint32_t slots[VSP_VPCI_SLOTS];
        uint16_t vfs[VSP_VPCI_SLOTS];
        unsigned count;

        if (atomic_load(&h->version) == 0) {
            continue;
        }
        count = slots_of_pf(h, pf, slots, vfs);
        for (unsigned i = 0; i < count; i++) {
            struct vpci_query *q;

            pthread_mutex_lock(&h->stop_lock); /* see "Order" above */
            q = take_back_locked(h, vpci_slot_device(slots[i]));
            send_stop_over_locked(h, slots[i], restarted);
            pthread_mutex_unlock(&h->stop_lock);
            if (q != NULL) {
                report(q, false, STATUS_CANCELLED); /* the round ended before the guest answered */
            }
        }
        told += count;
    }
    pthread_rwlock_unlock(&vpci->lock);
    return told;
}

/*
 * Take back every query of @h (@all) or those whose wait ran out, and report them
 * with @why.  Returns the nanoseconds until the next of the others runs out.
 */
static int64_t
end_queries(struct vsp_vpci_host *h, bool all, NTSTATUS why)
{
    struct vpci_query *done[VSP_VPCI_SLOTS];
    unsigned n = 0;
    int64_t now = mono_ns(), next = INT64_MAX;

    pthread_mutex_lock(&h->stop_lock);
    for (unsigned i = 0; i < VSP_VPCI_SLOTS; i++) {
        struct vpci_query *q = h->stopq[i].out;

        if (q == NULL) {
            continue;
        }
        if (all || q->expires <= now) {
            q = take_back_locked(h, i);
            if (q != NULL) {
                done[n++] = q;
            }
        } else if (q->expires - now < next) {
            next = q->expires - now;
        }
    }
    pthread_mutex_unlock(&h->stop_lock);
    for (unsigned i = 0; i < n; i++) {
        report(done[i], false, why);
    }
    return next;
}

int64_t
vpci_stop_expire(struct vsp_vpci_host *h)
{
    if (atomic_load(&h->queries_out) == 0) {
        return INT64_MAX;
    }
    return end_queries(h, false, STATUS_IO_TIMEOUT);
}

void
vpci_stop_cancel_all(struct vsp_vpci_host *h, NTSTATUS why)
{
    end_queries(h, true, why);
}
