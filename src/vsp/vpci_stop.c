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
 * stop-over - PCI_REENABLE or PCI_QUERY_STOP_FAILED, sent by the broker - be due
 * before a slow query thread has sent its PCI_QUERY_STOP.  Had the guest seen the
 * query last, it would keep its driver stopped for good.  The channel cannot tell
 * when a request's packet left, so each slot's query and stop-over are ordered
 * under stop_lock: a thread that finds its round over before it asks never
 * asks; a stop-over due while the slot's query is in flight is handed to that
 * thread, which sends it after the request returned (after the guest's answer,
 * or after the wait); otherwise vsp_vpci_stop_done() sends it at once.  So a
 * guest never sees a query after the stop-over of its round, and sees exactly
 * one stop-over per slot and round.  A new round that finds the slot's previous
 * query still waiting (the guest answers late) queues its query behind it on
 * the same thread instead of giving up on the slot.
 */
#include <string.h>

#include "vsp/vpci_internal.h"

static void
send_stop_over(struct vsp_vpci_host *h, uint32_t slot, bool restarted)
{
    struct vpci_msg m = {.type = restarted ? PCI_REENABLE : PCI_QUERY_STOP_FAILED, .slot = slot};

    vpci_send(h, &m);
}

/* One query of @q (unless its round is already over), its handed stop-over, its report. */
static void
stopq_once(struct vpci_stopq *q)
{
    struct vsp_vpci_host *h = q->h;
    struct vpci_msg m = {.type = PCI_QUERY_STOP, .slot = q->slot};
    struct vpci_reply r;
    NTSTATUS st = STATUS_CANCELLED;
    bool ask, handed, restarted;

    memset(&r, 0, sizeof(r));
    pthread_mutex_lock(&h->stop_lock);
    ask = !q->over; /* the round ended before the query left: never send it */
    q->in_request = ask;
    pthread_mutex_unlock(&h->stop_lock);
    if (ask) {
        st = vpci_chan_request(h->ch, &m, &r, NULL, q->wait_ns);
    }
    pthread_mutex_lock(&h->stop_lock);
    q->in_request = false;
    handed = q->handed;
    restarted = q->restarted;
    pthread_mutex_unlock(&h->stop_lock);
    if (handed) {
        atomic_fetch_add(&h->st.late_stops, 1);
        send_stop_over(h, q->slot, restarted);
    }
    q->fn(q->ctx, q->cookie, h->vm_id, q->slot, q->pf, q->vf, NT_SUCCESS(st), NT_SUCCESS(st) ? r.status : st);
}

/* Take up the query a newer round queued for this slot (true), or end (false). */
static bool
stopq_next(struct vpci_stopq *q)
{
    bool more;

    pthread_mutex_lock(&q->h->stop_lock);
    more = q->queued;
    if (more) {
        q->pf = q->next.pf;
        q->vf = q->next.vf;
        q->cookie = q->next.cookie;
        q->wait_ns = q->next.wait_ns;
        q->fn = q->next.fn;
        q->ctx = q->next.ctx;
        q->queued = false;
        q->over = false;
        q->handed = false;
    } else {
        q->returned = true;
    }
    pthread_mutex_unlock(&q->h->stop_lock);
    return more;
}

static void *
stopq_thread(void *arg)
{
    struct vpci_stopq *q = arg;

    do {
        stopq_once(q);
    } while (stopq_next(q));
    atomic_store(&q->done, true);
    return NULL;
}

static void
report_unasked(struct vsp_vpci_host *h, uint32_t slot, const struct vpci_stopq_req *r, NTSTATUS why)
{
    r->fn(r->ctx, r->cookie, h->vm_id, slot, r->pf, r->vf, false, why);
}

/*
 * Start the query of slot @i.  While the slot's previous query still waits for
 * the guest, the new one is queued behind it on that thread (the guest then sees
 * query, answer, stop-over, query - never two rounds interleaved); a query
 * queued earlier and not yet sent is superseded and reported unanswered.  A
 * thread that asks nothing more is joined (outside stop_lock, which it takes).
 * Returns false only when no thread could be started.
 */
static bool
stopq_start(struct vsp_vpci_host *h, unsigned i, const struct vpci_stopq *req)
{
    struct vpci_stopq *q = &h->stopq[i];
    struct vpci_stopq_req old_req;
    pthread_t old;
    bool join = false, superseded = false, ok;

    pthread_mutex_lock(&h->stop_lock);
    if (q->started && !q->returned) {
        superseded = q->queued;
        old_req = q->next;
        q->next = (struct vpci_stopq_req){req->pf, req->vf, req->cookie, req->wait_ns, req->fn, req->ctx};
        q->queued = true;
        pthread_mutex_unlock(&h->stop_lock);
        if (superseded) {
            report_unasked(h, req->slot, &old_req, STATUS_DEVICE_BUSY);
        }
        return true;
    }
    if (q->started) {
        old = q->thread;
        q->started = false;
        join = true;
    }
    pthread_mutex_unlock(&h->stop_lock);
    if (join) {
        pthread_join(old, NULL); /* bounded: the thread only returns */
    }
    pthread_mutex_lock(&h->stop_lock);
    *q = *req;
    atomic_init(&q->done, false);
    q->started = pthread_create(&q->thread, NULL, stopq_thread, q) == 0;
    ok = q->started;
    pthread_mutex_unlock(&h->stop_lock);
    return ok;
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
        uint32_t slots[VSP_VPCI_SLOTS];
        uint16_t vfs[VSP_VPCI_SLOTS];
        unsigned count;

        if (atomic_load(&h->version) == 0) {
            continue; /* no guest bus yet: nobody to ask (the broker's deadline decides) */
        }
        count = slots_of_pf(h, pf, slots, vfs);
        for (unsigned i = 0; i < count; i++) {
            struct vpci_stopq req = {.h = h,
                                     .slot = slots[i],
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
        uint32_t slots[VSP_VPCI_SLOTS];
        uint16_t vfs[VSP_VPCI_SLOTS];
        unsigned count;

        if (atomic_load(&h->version) == 0) {
            continue;
        }
        count = slots_of_pf(h, pf, slots, vfs);
        for (unsigned i = 0; i < count; i++) {
            struct vpci_stopq *q = &h->stopq[vpci_slot_device(slots[i])];
            bool hand;

            struct vpci_stopq_req dropped;
            bool drop;

            pthread_mutex_lock(&h->stop_lock); /* see "Order" above */
            q->over = true;
            q->restarted = restarted;
            hand = q->started && q->in_request;
            q->handed = hand;
            drop = q->queued; /* a queued query of a round that is over is never sent */
            dropped = q->next;
            q->queued = false;
            pthread_mutex_unlock(&h->stop_lock);
            if (!hand) {
                send_stop_over(h, slots[i], restarted);
            }
            if (drop) {
                report_unasked(h, slots[i], &dropped, STATUS_CANCELLED);
            }
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
