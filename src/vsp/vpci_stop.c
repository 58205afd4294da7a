/*
 * vsp/vpci_stop.c - the guest leg of a PF rebalance (see vsp/vpci_host.h).
 *
 * PCI_QUERY_STOP wants the guest's answer as a completion, so each asked slot
 * gets its own short-lived thread blocked in vpci_chan_request(): the broker that
 * asks must not wait (it decides on the stack clock, not on the channel's real
 * time), the host's dispatch thread must keep serving the guest meanwhile, and
 * one VM that never answers must not delay the answer of another.  The thread
 * reports once and ends; its wait is bounded by @wait_ns and by the channel's
 * rescind, which vsp_vpci_host_destroy() does before it joins the threads here.
 * At most one query per slot is in flight, so a guest cannot make the stack
 * create threads without bound.
 *
 * Order.  A round can be decided (another slot's veto, the deadline) and its
 * stop-over - PCI_REENABLE or PCI_QUERY_STOP_FAILED, sent by the broker - go out
 * before a slow query thread has sent its PCI_QUERY_STOP.  The guest would then
 * see the query last and keep its driver stopped for good.  The channel cannot
 * tell when a request's packet left, so the order is kept per slot instead:
 * vsp_vpci_stop_done() marks the slot's query "over" (under stop_lock) before it
 * sends; a query thread that finds its round over does not send at all, and one
 * whose query the guest accepted after the mark sends the stop-over again, after
 * the answer - so every accepted query is followed by a stop-over in the
 * guest's ring.  A duplicate stop-over is harmless (the driver resumes twice).
 */
#include <string.h>

#include "vsp/vpci_internal.h"

/*
 * The guest accepted @q's query (its driver stopped): if the round's stop-over was
 * already sent, or the slot no longer holds the exposure asked, it may have reached
 * the guest before the query did - send it (again) now, after the answer.
 */
static void
resume_if_late(struct vpci_stopq *q)
{
    struct vsp_vpci_host *h = q->h;
    const struct vpci_slot *s = &h->slots[vpci_slot_device(q->slot)];
    struct vpci_msg m = {.type = PCI_QUERY_STOP_FAILED, .slot = q->slot};
    bool over, restarted, same;

    pthread_mutex_lock(&h->stop_lock);
    over = q->over;
    restarted = q->restarted;
    pthread_mutex_unlock(&h->stop_lock);
    pthread_rwlock_rdlock(&h->lock);
    same = s->present && s->serial == q->serial;
    pthread_rwlock_unlock(&h->lock);
    if (!over && same) {
        return; /* the stop-over, when it comes, comes after this answer */
    }
    if (over && same && restarted) {
        m.type = PCI_REENABLE;
    }
    atomic_fetch_add(&h->st.late_stops, 1);
    vpci_send(h, &m);
}

static void *
stopq_thread(void *arg)
{
    struct vpci_stopq *q = arg;
    struct vpci_msg m = {.type = PCI_QUERY_STOP, .slot = q->slot};
    struct vpci_reply r;
    NTSTATUS st = STATUS_CANCELLED;
    bool over;

    memset(&r, 0, sizeof(r));
    pthread_mutex_lock(&q->h->stop_lock);
    over = q->over;
    pthread_mutex_unlock(&q->h->stop_lock);
    if (!over) { /* else the round ended before the query left: never send it */
        st = vpci_chan_request(q->h->ch, &m, &r, NULL, q->wait_ns);
    }
    if (NT_SUCCESS(st) && NT_SUCCESS(r.status)) {
        resume_if_late(q);
    }
    q->fn(q->ctx, q->cookie, q->h->vm_id, q->slot, q->pf, q->vf, NT_SUCCESS(st), NT_SUCCESS(st) ? r.status : st);
    atomic_store(&q->done, true);
    return NULL;
}

/* Start the query of slot @i; false when the previous one still waits. */
static bool
stopq_start(struct vsp_vpci_host *h, unsigned i, const struct vpci_stopq *req)
{
    struct vpci_stopq *q = &h->stopq[i];
    bool ok = true;

    pthread_mutex_lock(&h->stop_lock);
    if (q->started && !atomic_load(&q->done)) {
        ok = false;
    } else {
        if (q->started) {
            pthread_join(q->thread, NULL); /* it has reported: returns at once */
        }
        *q = *req;
        atomic_init(&q->done, false);
        q->started = pthread_create(&q->thread, NULL, stopq_thread, q) == 0;
        ok = q->started;
    }
    pthread_mutex_unlock(&h->stop_lock);
    return ok;
}

/* The slots of @h holding a VF of @pf: (slot, vf) pairs. */
static unsigned
slots_of_pf(struct vsp_vpci_host *h, int pf, uint32_t *slots, uint16_t *vfs, uint32_t *serials)
{
    unsigned n = 0;

    pthread_rwlock_rdlock(&h->lock);
    for (unsigned i = 0; i < VSP_VPCI_SLOTS; i++) {
        const struct vpci_slot *s = &h->slots[i];

        if (s->present && vsp_pf_id(s->pf) == pf) {
            slots[n] = s->desc.slot;
            serials[n] = s->serial;
            vfs[n++] = s->vf;
        }
    }
    pthread_rwlock_unlock(&h->lock);
    return n;
}

unsigned
vsp_vpci_query_stop(struct vsp_vpci *vpci, int pf, uint64_t cookie, int64_t wait_ns, vsp_vpci_answer_fn *fn, void *ctx)
{
    struct list_node *n;
    unsigned asked = 0;

    if (vpci == NULL || fn == NULL) {
        return 0;
    }
    pthread_rwlock_rdlock(&vpci->lock);
    list_for_each(n, &vpci->hosts)
    {
        struct vsp_vpci_host *h = list_entry(n, struct vsp_vpci_host, node);
        uint32_t slots[VSP_VPCI_SLOTS], serials[VSP_VPCI_SLOTS];
        uint16_t vfs[VSP_VPCI_SLOTS];
        unsigned count;

        if (atomic_load(&h->version) == 0) {
            continue; /* no guest bus yet: nobody to ask (the broker's deadline decides) */
        }
        count = slots_of_pf(h, pf, slots, vfs, serials);
        for (unsigned i = 0; i < count; i++) {
            struct vpci_stopq req = {.h = h,
                                     .slot = slots[i],
                                     .serial = serials[i],
                                     .pf = pf,
                                     .vf = vfs[i],
                                     .cookie = cookie,
                                     .wait_ns = wait_ns,
                                     .fn = fn,
                                     .ctx = ctx};

            if (!stopq_start(h, vpci_slot_device(slots[i]), &req)) {
                fn(ctx, cookie, h->vm_id, slots[i], pf, vfs[i], false, STATUS_DEVICE_BUSY);
            }
            asked++;
        }
    }
    pthread_rwlock_unlock(&vpci->lock);
    return asked;
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
        uint32_t slots[VSP_VPCI_SLOTS], serials[VSP_VPCI_SLOTS];
        uint16_t vfs[VSP_VPCI_SLOTS];
        unsigned count;

        if (atomic_load(&h->version) == 0) {
            continue;
        }
        count = slots_of_pf(h, pf, slots, vfs, serials);
        for (unsigned i = 0; i < count; i++) {
            struct vpci_stopq *q = &h->stopq[vpci_slot_device(slots[i])];
            struct vpci_msg m = {.type = restarted ? PCI_REENABLE : PCI_QUERY_STOP_FAILED, .slot = slots[i]};

            pthread_mutex_lock(&h->stop_lock); /* before the send: see "Order" above */
            q->over = true;
            q->restarted = restarted;
            pthread_mutex_unlock(&h->stop_lock);
            vpci_send(h, &m);
        }
        if (count != 0 && restarted) {
            vpci_send_relations(h);
        }
        told += count;
    }
    pthread_rwlock_unlock(&vpci->lock);
    return told;
}

void
vpci_stop_join(struct vsp_vpci_host *h)
{
    for (unsigned i = 0; i < VSP_VPCI_SLOTS; i++) {
        if (h->stopq[i].started) {
            pthread_join(h->stopq[i].thread, NULL);
            h->stopq[i].started = false;
        }
    }
}
