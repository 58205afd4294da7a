/*
 * vsp/vpci_stop.c - the guest leg of a PF rebalance (see vsp/vpci_host.h).
 *
 * PCI_QUERY_STOP wants the guest's answer as a completion, so each asked slot
 * has its own thread blocked in vpci_chan_request(): the broker that asks must
 * not wait (it decides on the stack clock, not on the channel's real time), the
 * host's dispatch thread must keep serving the guest meanwhile, and one VM that
 * never answers must not delay the answer of another.  The thread of a slot is
 * created at the slot's first query and then kept, waiting on stop_cond for the
 * next one: creating, tearing down and joining a thread per slot per rebalance
 * was most of a rebalance with 64 VMs (docs/PERFORMANCE.md, benchmark 4).  A
 * query reports exactly once; its wait is bounded by @wait_ns and by the
 * channel's rescind, which vsp_vpci_host_destroy() does before it ends and joins
 * the threads here.  At most one query per slot is in flight and at most one
 * thread exists per slot, so a guest cannot make the stack create threads
 * without bound.  A slot takes its next query as soon as the previous request
 * returned; when that one's report is still being made, the next query waits
 * for it, so reports of consecutive rounds reach the broker in order.
 *
 * Order.  A round can be decided (another slot's veto, the deadline) and its
 * stop-over - PCI_REENABLE or PCI_QUERY_STOP_FAILED, sent by the broker - be due
 * before a slow query thread has sent its PCI_QUERY_STOP.  Had the guest seen the
 * query last, it would keep its driver stopped for good.  The channel cannot tell
 * when a request's packet left, so each slot's query and stop-over are ordered
 * under stop_lock: a thread that finds its round over when it takes the query
 * never asks; a stop-over due while the slot's query is in flight is handed to
 * that thread, which sends it after the request returned (after the guest's
 * answer, or after the wait) and before it takes the slot's next query;
 * otherwise vsp_vpci_stop_done() sends it at once.  So a guest never sees a
 * query after the stop-over of its round, and sees exactly one stop-over per
 * slot and round.
 */
#include <string.h>

#include "vsp/vpci_internal.h"

static void
send_stop_over(struct vsp_vpci_host *h, uint32_t slot, bool restarted)
{
    struct vpci_msg m = {.type = restarted ? PCI_REENABLE : PCI_QUERY_STOP_FAILED, .slot = slot};

    vpci_send(h, &m);
}

/*
 * Ask the guest @req's query unless its round is over already, send a stop-over
 * handed meanwhile, report once.  Called and returns with stop_lock held.
 */
static void
serve(struct vpci_stopq *q, const struct vpci_stop_req *req)
{
    struct vsp_vpci_host *h = req->h;
    struct vpci_msg m = {.type = PCI_QUERY_STOP, .slot = req->slot};
    struct vpci_reply r;
    NTSTATUS st = STATUS_CANCELLED;
    bool ask, handed, restarted;

    memset(&r, 0, sizeof(r));
    ask = !q->over; /* the round ended before the query left: never send it */
    q->in_request = ask;
    pthread_mutex_unlock(&h->stop_lock);
    if (ask) {
        st = vpci_chan_request(h->ch, &m, &r, NULL, req->wait_ns);
    }
    pthread_mutex_lock(&h->stop_lock);
    q->in_request = false;
    q->reporting = true;
    handed = q->handed;
    restarted = q->restarted;
    pthread_mutex_unlock(&h->stop_lock);
    if (handed) {
        atomic_fetch_add(&h->st.late_stops, 1);
        send_stop_over(h, req->slot, restarted);
    }
    req->fn(req->ctx, req->cookie, h->vm_id, req->slot, req->pf, req->vf, NT_SUCCESS(st),
            NT_SUCCESS(st) ? r.status : st);
    pthread_mutex_lock(&h->stop_lock);
    q->reporting = false;
    pthread_cond_broadcast(&h->stop_cond); /* a next query may wait in stopq_start() */
}

static void *
stopq_thread(void *arg)
{
    struct vpci_stopq *q = arg;
    struct vsp_vpci_host *h = q->req.h;

    pthread_mutex_lock(&h->stop_lock);
    for (;;) {
        struct vpci_stop_req req;

        while (!q->pending && !q->quit) {
            pthread_cond_wait(&h->stop_cond, &h->stop_lock);
        }
        if (!q->pending) {
            break; /* quit, nothing pending */
        }
        req = q->req;
        q->pending = false;
        serve(q, &req);
    }
    pthread_mutex_unlock(&h->stop_lock);
    return NULL;
}

/*
 * Hand the query of slot @i to its thread (created at the slot's first query);
 * false when the previous query's request has not returned yet.  A previous
 * query whose request returned has only its report left: that is waited for
 * (bounded: a stop-over send and the answer callback), so the broker's next
 * round is asked after the last report of the one before.
 */
static bool
stopq_start(struct vsp_vpci_host *h, unsigned i, const struct vpci_stop_req *req)
{
    struct vpci_stopq *q = &h->stopq[i];
    bool ok = true;

    pthread_mutex_lock(&h->stop_lock);
    while (q->reporting) {
        pthread_cond_wait(&h->stop_cond, &h->stop_lock);
    }
    if (q->pending || q->in_request || q->quit) {
        ok = false;
    } else {
        q->req = *req;
        q->over = false;
        q->restarted = false;
        q->handed = false;
        q->pending = true;
        if (!q->started) {
            q->started = pthread_create(&q->thread, NULL, stopq_thread, q) == 0;
            q->pending = q->started;
            ok = q->started;
        }
        pthread_cond_broadcast(&h->stop_cond);
    }
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
            struct vpci_stop_req req = {.h = h,
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

            pthread_mutex_lock(&h->stop_lock); /* see "Order" above */
            q->over = true;
            q->restarted = restarted;
            hand = q->in_request;
            q->handed = hand;
            pthread_mutex_unlock(&h->stop_lock);
            if (!hand) {
                send_stop_over(h, slots[i], restarted);
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
    pthread_mutex_lock(&h->stop_lock);
    for (unsigned i = 0; i < VSP_VPCI_SLOTS; i++) {
        h->stopq[i].quit = true;
    }
    pthread_cond_broadcast(&h->stop_cond);
    pthread_mutex_unlock(&h->stop_lock);
    for (unsigned i = 0; i < VSP_VPCI_SLOTS; i++) {
        if (h->stopq[i].started) {
            pthread_join(h->stopq[i].thread, NULL); /* a pending query fails at once: the channel is rescinded */
            h->stopq[i].started = false;
        }
    }
}
