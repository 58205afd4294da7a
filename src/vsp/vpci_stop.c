/*
 * vsp/vpci_stop.c - the guest leg of a PF rebalance (see vsp/vpci_host.h).
 *
 * PCI_QUERY_STOP wants the guest's answer as a completion, so each asked slot
 * has its own thread blocked in vpci_chan_request(): the broker that asks must
 * not wait (it decides on the stack clock, not on the channel's real time), the
 * host's dispatch thread must keep serving the guest meanwhile, and one VM that
 * never answers must not delay the answer of another.  The thread of a slot is
 * created at the slot's first query and then kept, waiting for the next one:
 * creating, tearing down and joining a thread per slot per rebalance was most of
 * a rebalance with 64 VMs (docs/PERFORMANCE.md, benchmark 4).  A query reports
 * exactly once; its wait is bounded by @wait_ns and by the channel's rescind,
 * which vsp_vpci_host_destroy() does before it ends and joins the threads here.
 * At most one query per slot is in flight and at most one thread exists per slot,
 * so a guest cannot make the stack create threads without bound.
 */
#include <string.h>

#include "vsp/vpci_internal.h"

/* Ask the guest; report once.  No lock held. */
static void
ask(const struct vpci_stopq *q)
{
    struct vpci_msg m = {.type = PCI_QUERY_STOP, .slot = q->slot};
    struct vpci_reply r;
    NTSTATUS st;

    memset(&r, 0, sizeof(r));
    st = vpci_chan_request(q->h->ch, &m, &r, NULL, q->wait_ns);
    q->fn(q->ctx, q->cookie, q->h->vm_id, q->slot, q->pf, q->vf, NT_SUCCESS(st), NT_SUCCESS(st) ? r.status : st);
}

static void *
stopq_thread(void *arg)
{
    struct vpci_stopq *q = arg;
    struct vsp_vpci_host *h = q->h;

    pthread_mutex_lock(&h->stop_lock);
    for (;;) {
        struct vpci_stopq req;

        while (!q->busy && !q->quit) {
            pthread_cond_wait(&h->stop_cond, &h->stop_lock);
        }
        if (!q->busy) {
            break; /* quit, nothing pending */
        }
        req = *q;
        pthread_mutex_unlock(&h->stop_lock);
        ask(&req);
        pthread_mutex_lock(&h->stop_lock);
        q->busy = false;
    }
    pthread_mutex_unlock(&h->stop_lock);
    return NULL;
}

/* Hand the query of slot @i to its thread; false when the previous one has not reported. */
static bool
stopq_start(struct vsp_vpci_host *h, unsigned i, const struct vpci_stopq *req)
{
    struct vpci_stopq *q = &h->stopq[i];
    bool ok = true;

    pthread_mutex_lock(&h->stop_lock);
    if (q->busy || q->quit) {
        ok = false;
    } else {
        q->h = h;
        q->slot = req->slot;
        q->pf = req->pf;
        q->vf = req->vf;
        q->cookie = req->cookie;
        q->wait_ns = req->wait_ns;
        q->fn = req->fn;
        q->ctx = req->ctx;
        q->busy = true;
        if (!q->started) {
            q->started = pthread_create(&q->thread, NULL, stopq_thread, q) == 0;
            q->busy = q->started;
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
            struct vpci_msg m = {.type = restarted ? PCI_REENABLE : PCI_QUERY_STOP_FAILED, .slot = slots[i]};

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
