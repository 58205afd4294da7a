/*
 * vsp/vpci_host.c - the vPCI protocol, host side: lifecycle, dispatch, handlers.
 *
 * Shape: one dispatch thread per VM receives, decodes (src/vmbus does the wire
 * checks) and hands each message to a handler that first checks the bus state
 * (order rules of contract.md 8.5/8.6) and then calls the PF binding.  Handlers
 * fill a `struct vpci_reply`; the loop sends it when the guest asked for an answer.
 * Nothing here waits without a bound: receives poll with cfg.poll_ns so the thread
 * notices destroy, sends use cfg.send_timeout_ns, and PF callbacks are bounded by
 * the PF (contract.md 6.3).
 *
 * Locks: the host's rwlock is taken exclusive only for short state changes and for
 * installing a new slot table; PF callbacks made while building that table
 * (descriptors, probed BARs) run before the lock is taken.  EJECTION_COMPLETE is
 * handled with no host lock held because the VM manager calls back into
 * relations_changed, which takes the lock exclusive.
 */
#include "vsp/vpci_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/le.h"
#include "util/thread.h"

#define POLL_DEFAULT_NS (20 * (int64_t)VSP_NS_PER_MS)

/* ---- logging --------------------------------------------------------------------- */

void
vpci_guest_error(struct vsp_vpci_host *h, const struct vpci_slot *s, NTSTATUS st, uint64_t detail, const char *fmt, ...)
{
    char why[VSP_EVENT_REASON_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    atomic_fetch_add(&h->st.refused, 1);
    vsp_event_log_add(h->vpci->cfg.log, VSP_EV_GUEST_ERROR, s != NULL && s->present ? vsp_pf_id(s->pf) : VSP_EV_NONE,
                      s != NULL && s->present ? s->vf : VSP_EV_NONE, h->vm_id, st, detail, "%s", why);
}

static void
bad_packet(struct vsp_vpci_host *h, uint32_t type, NTSTATUS st, const char *why)
{
    const char *name = vpci_msg_name(type);

    atomic_fetch_add(&h->st.refused, 1);
    vsp_event_log_add(h->vpci->cfg.log, VSP_EV_BAD_PACKET, VSP_EV_NONE, VSP_EV_NONE, h->vm_id, st, type, "%s: %s",
                      name != NULL ? name : "unknown message", why);
}

/* ---- sending -------------------------------------------------------------------------- */

static void
send_msg(struct vsp_vpci_host *h, const struct vpci_msg *m)
{
    NTSTATUS st;

    pthread_mutex_lock(&h->send_lock);
    st = vpci_chan_send(h->ch, m, h->vpci->cfg.send_timeout_ns);
    pthread_mutex_unlock(&h->send_lock);
    if (!NT_SUCCESS(st) && st != STATUS_DEVICE_REMOVED) {
        atomic_fetch_add(&h->st.sends_lost, 1);
        vsp_event_log_add(h->vpci->cfg.log, VSP_EV_GUEST_ERROR, VSP_EV_NONE, VSP_EV_NONE, h->vm_id, st, m->type,
                          "%s not delivered: the guest's ring stayed full", vpci_msg_name(m->type));
    }
}

void
vpci_send(struct vsp_vpci_host *h, const struct vpci_msg *m)
{
    send_msg(h, m);
}

/* BUS_RELATIONS(2) with the slots as they are now (lock taken here). */
static void
send_relations(struct vsp_vpci_host *h)
{
    struct vpci_msg *m = pv_calloc(1, sizeof(*m));
    uint32_t version = atomic_load(&h->version);

    if (m == NULL || version == 0) {
        pv_free(m);
        return;
    }
    m->type = version >= PCI_PROTOCOL_VERSION_1_3 ? PCI_BUS_RELATIONS2 : PCI_BUS_RELATIONS;
    pthread_rwlock_rdlock(&h->lock);
    for (unsigned i = 0; i < VSP_VPCI_SLOTS; i++) {
        if (h->slots[i].present) {
            m->u.relations.fn[m->u.relations.count++] = h->slots[i].desc;
        }
    }
    pthread_rwlock_unlock(&h->lock);
    send_msg(h, m);
    pv_free(m);
}

/*
 * Send what is pending in inval[].  The bits are taken out before sending and put
 * back if the guest's ring did not take them, so two flushing threads never
 * deliver the same bits twice and a busy ring never loses any.
 */
static void
flush_invalidations(struct vsp_vpci_host *h)
{
    if (atomic_load(&h->version) == 0) {
        return;
    }
    for (unsigned i = 0; i < VSP_VPCI_SLOTS; i++) {
        struct vpci_msg m = {.type = PCI_INVALIDATE_BLOCK, .slot = vpci_slot_make(i, 0)};
        struct vpci_inval iv;
        NTSTATUS st;

        pthread_mutex_lock(&h->inval_lock);
        iv = h->inval[i];
        h->inval[i].pending = 0;
        pthread_mutex_unlock(&h->inval_lock);
        if (iv.pending == 0 || iv.pf == VSP_EV_NONE) {
            continue;
        }
        m.u.block_mask = iv.pending;
        pthread_mutex_lock(&h->send_lock);
        st = vpci_chan_send(h->ch, &m, h->vpci->cfg.send_timeout_ns);
        pthread_mutex_unlock(&h->send_lock);
        if (!NT_SUCCESS(st)) {
            pthread_mutex_lock(&h->inval_lock);
            if (h->inval[i].pf == iv.pf && h->inval[i].vf == iv.vf) {
                h->inval[i].pending |= iv.pending; /* the dispatch loop retries */
            }
            pthread_mutex_unlock(&h->inval_lock);
            return;
        }
        vsp_event_log_add(h->vpci->cfg.log, VSP_EV_INVALIDATE, iv.pf, iv.vf, h->vm_id, STATUS_SUCCESS, iv.pending,
                          "PCI_INVALIDATE_BLOCK slot %u mask 0x%" PRIx64, i, iv.pending);
    }
}

/* ---- the slot table ------------------------------------------------------------------ */

/* Build what BUS_RELATIONS says about VF @vf of @pf (contract.md 8.3, 8.4). */
static void
make_desc(struct vsp_pf *pf, uint16_t vf, uint32_t slot, uint32_t serial, struct vpci_fn_desc *d)
{
    uint8_t cls[4] = {0xFF, 0xFF, 0xFF, 0xFF};
    uint8_t sub[4] = {0, 0, 0, 0};

    memset(d, 0, sizeof(*d));
    vsp_pf_ids(pf, vf, &d->vendor_id, &d->device_id);
    if (!NT_SUCCESS(vsp_pf_read_config(pf, vf, 0x08, cls, 4))) {
        memset(cls, 0, sizeof(cls));
    }
    if (!NT_SUCCESS(vsp_pf_read_config(pf, vf, 0x2C, sub, 4))) {
        memset(sub, 0, sizeof(sub));
    }
    d->revision = cls[0];
    d->prog_if = cls[1];
    d->subclass = cls[2];
    d->base_class = cls[3];
    d->subsystem = le32_get(sub);
    d->slot = slot;
    d->serial = serial;
}

static void
slot_release(struct vpci_slot *s)
{
    vsp_pf_put(s->pf);
    memset(s, 0, sizeof(*s));
}

/* A fresh slot for @info (PF calls; no host lock held). */
static bool
slot_build(struct vsp_vpci_host *h, const struct vsp_vf_info *info, struct vpci_slot *s)
{
    memset(s, 0, sizeof(*s));
    s->pf = vsp_pfs_find(h->vpci->cfg.pfs, info->pf);
    if (s->pf == NULL) {
        return false;
    }
    s->present = true;
    s->vf = info->vf_index;
    s->rid = info->rid;
    s->serial = info->serial;
    make_desc(s->pf, s->vf, info->slot, info->serial, &s->desc);
    s->bars_ok = NT_SUCCESS(vsp_pf_bars(s->pf, s->vf, &s->bars));
    s->traps = vsp_pf_has_mitigable(s->pf) ? vsp_pf_intercept(s->pf, s->vf) : NULL;
    return true;
}

/*
 * Make the slot table match the VM manager: keep slots whose (PF, VF, serial) is
 * unchanged, build the others, drop slots no longer listed.
 */
static void
refresh_slots(struct vsp_vpci_host *h)
{
    struct vsp_vf_info info[VSP_VPCI_SLOTS];
    struct vpci_slot *fresh = pv_calloc(VSP_VPCI_SLOTS, sizeof(*fresh));
    struct vpci_slot old[VSP_VPCI_SLOTS];
    size_t n = vsp_vm_devices(h->vm, info, VSP_VPCI_SLOTS);

    if (fresh == NULL) {
        return;
    }
    n = n < VSP_VPCI_SLOTS ? n : VSP_VPCI_SLOTS;
    for (size_t i = 0; i < n; i++) {
        slot_build(h, &info[i], &fresh[vpci_slot_device(info[i].slot)]);
    }
    pthread_rwlock_wrlock(&h->lock);
    memcpy(old, h->slots, sizeof(old));
    for (unsigned i = 0; i < VSP_VPCI_SLOTS; i++) {
        struct vpci_slot *o = &old[i];
        struct vpci_slot *f = &fresh[i];

        if (o->present && f->present && o->pf == f->pf && o->vf == f->vf && o->serial == f->serial) {
            h->slots[i] = *o; /* same exposure: keep its state */
            o->present = false;
        } else {
            h->slots[i] = *f;
            f->present = false;
        }
    }
    pthread_rwlock_unlock(&h->lock);
    pthread_mutex_lock(&h->inval_lock);
    for (unsigned i = 0; i < VSP_VPCI_SLOTS; i++) {
        const struct vpci_slot *s = &h->slots[i];
        int pf = s->present ? vsp_pf_id(s->pf) : VSP_EV_NONE;
        int vf = s->present ? s->vf : VSP_EV_NONE;

        if (h->inval[i].pf != pf || h->inval[i].vf != vf) {
            h->inval[i] = (struct vpci_inval){.pf = pf, .vf = vf, .pending = 0};
        }
    }
    pthread_mutex_unlock(&h->inval_lock);
    for (unsigned i = 0; i < VSP_VPCI_SLOTS; i++) {
        if (old[i].present) {
            slot_release(&old[i]);
        }
        if (fresh[i].present) {
            slot_release(&fresh[i]);
        }
    }
    pv_free(fresh);
}

/*
 * The VM's bus changed (or the guest asked): rebuild the slot table and tell the
 * guest.  One refresh at a time, snapshot to send, so two racing updates can never
 * install or announce an older snapshot after a newer one.
 */
static void
update_bus(struct vsp_vpci_host *h)
{
    pthread_mutex_lock(&h->refresh_lock);
    refresh_slots(h);
    send_relations(h);
    pthread_mutex_unlock(&h->refresh_lock);
}

/* ---- handlers (each returns the reply status; @r carries the body) ---------------------- */

/* The slot a request names, or NULL (logged) when the slot is empty. */
static struct vpci_slot *
slot_of(struct vsp_vpci_host *h, const struct vpci_msg *m)
{
    struct vpci_slot *s = NULL;

    if (vpci_slot_function(m->slot) == 0) {
        s = &h->slots[vpci_slot_device(m->slot)];
    }
    if (s == NULL || !s->present) {
        vpci_guest_error(h, NULL, STATUS_NO_SUCH_DEVICE, m->slot, "%s for empty slot 0x%x", vpci_msg_name(m->type),
                         m->slot);
        return NULL;
    }
    return s;
}

/*
 * The slot a device request names, once the guest enumerated its exposure: a
 * new exposure (a VF put in a slot another one just left) takes requests only
 * after the guest's QUERY_RESOURCE_REQUIREMENTS for it - its first step with a
 * new child (contract.md 8.5) - so a request the guest made for the exposure
 * before (it had not yet seen the bus relations) cannot reach the new VF.
 */
static struct vpci_slot *
enumerated_slot_of(struct vsp_vpci_host *h, const struct vpci_msg *m)
{
    struct vpci_slot *s = slot_of(h, m);

    if (s != NULL && !s->reqs_queried) {
        vpci_guest_error(h, s, STATUS_NO_SUCH_DEVICE, m->slot, "%s for slot 0x%x before the guest enumerated it",
                         vpci_msg_name(m->type), m->slot);
        return NULL;
    }
    return s;
}

static NTSTATUS
on_version(struct vsp_vpci_host *h, const struct vpci_msg *m, struct vpci_reply *r)
{
    uint32_t cur = atomic_load(&h->version);
    bool ok = m->u.version >= VSP_VPCI_VERSION_MIN && m->u.version <= VSP_VPCI_VERSION_MAX;

    if (cur != 0 && m->u.version != cur) {
        /* contract.md 8.6: after resume only the negotiated version is offered. */
        bad_packet(h, m->type, STATUS_REVISION_MISMATCH, "renegotiation to a different version");
        return STATUS_REVISION_MISMATCH;
    }
    if (!ok) {
        vsp_event_log_add(h->vpci->cfg.log, VSP_EV_GUEST_ERROR, VSP_EV_NONE, VSP_EV_NONE, h->vm_id,
                          STATUS_REVISION_MISMATCH, m->u.version, "protocol version 0x%08x not spoken", m->u.version);
        return STATUS_REVISION_MISMATCH;
    }
    atomic_store(&h->version, m->u.version);
    r->u.version = m->u.version;
    return STATUS_SUCCESS;
}

static NTSTATUS
on_requirements(struct vsp_vpci_host *h, const struct vpci_msg *m, struct vpci_reply *r)
{
    struct vpci_slot *s;
    NTSTATUS st = STATUS_SUCCESS;

    pthread_rwlock_wrlock(&h->lock);
    s = slot_of(h, m);
    if (s == NULL) {
        st = STATUS_NO_SUCH_DEVICE;
    } else if (!s->bars_ok) {
        st = STATUS_DEVICE_NOT_READY;
        vpci_guest_error(h, s, st, 0, "probed BARs unavailable from the PF");
    } else {
        memcpy(r->u.probed_bar, s->bars.probed, sizeof(r->u.probed_bar));
        s->reqs_queried = true;
    }
    pthread_rwlock_unlock(&h->lock);
    return st;
}

/* GetResourceForBar for every BAR of @s, checked against the probed sizes (contract 6.9). */
static NTSTATUS
map_resources(struct vsp_vpci_host *h, struct vpci_slot *s)
{
    for (unsigned b = 0; b < PCI_TYPE0_ADDRESSES; b++) {
        CM_PARTIAL_RESOURCE_DESCRIPTOR res;
        ULONGLONG start = 0;
        ULONGLONG len;
        NTSTATUS st;

        s->host_base[b] = 0;
        if (s->bars.size[b] == 0) {
            continue;
        }
        st = vsp_pf_resource_for_bar(s->pf, s->vf, (uint16_t)b, &res);
        if (!NT_SUCCESS(st)) {
            vpci_guest_error(h, s, st, b, "GetResourceForBar(BAR%u) failed", b);
            return st;
        }
        len = (res.Type == CmResourceTypeMemory || res.Type == CmResourceTypeMemoryLarge)
                  ? RtlCmDecodeMemIoResource(&res, &start)
                  : 0;
        if (len < s->bars.size[b]) {
            vpci_guest_error(h, s, STATUS_DEVICE_NOT_READY, b,
                             "GetResourceForBar(BAR%u): type %u length 0x%llx below BAR size 0x%" PRIx64, b, res.Type,
                             (unsigned long long)len, s->bars.size[b]);
            return STATUS_DEVICE_NOT_READY;
        }
        s->host_base[b] = start;
    }
    return STATUS_SUCCESS;
}

static NTSTATUS
on_assigned(struct vsp_vpci_host *h, const struct vpci_msg *m, struct vpci_reply *r)
{
    struct vpci_slot *s;
    NTSTATUS st;

    pthread_rwlock_wrlock(&h->lock);
    s = slot_of(h, m);
    if (s == NULL) {
        st = STATUS_NO_SUCH_DEVICE;
    } else if (!h->d0 || !s->reqs_queried) {
        st = STATUS_BAD_DATA;
        vpci_guest_error(h, s, st, m->slot, "%s before %s", vpci_msg_name(m->type),
                         !h->d0 ? "BUS_D0ENTRY" : "QUERY_RESOURCE_REQUIREMENTS");
    } else {
        st = map_resources(h, s);
        s->assigned = NT_SUCCESS(st);
    }
    pthread_rwlock_unlock(&h->lock);
    r->u.resources.translated = false;
    return st;
}

static void
release_irqs(struct vsp_vpci_host *h, struct vpci_slot *s)
{
    if (s->irqs != 0) {
        vsp_domain_irte_free_rid(vsp_vm_domain(h->vm), s->rid);
        s->irqs = 0;
    }
}

static NTSTATUS
on_released(struct vsp_vpci_host *h, const struct vpci_msg *m)
{
    struct vpci_slot *s;
    NTSTATUS st = STATUS_SUCCESS;

    pthread_rwlock_wrlock(&h->lock);
    s = slot_of(h, m);
    if (s == NULL) {
        st = STATUS_NO_SUCH_DEVICE;
    } else if (!s->assigned) {
        st = STATUS_BAD_DATA;
        vpci_guest_error(h, s, st, m->slot, "RESOURCES_RELEASED for a slot without resources");
    } else {
        s->assigned = false;
        memset(s->host_base, 0, sizeof(s->host_base));
        release_irqs(h, s);
    }
    pthread_rwlock_unlock(&h->lock);
    return st;
}

static NTSTATUS
on_d0entry(struct vsp_vpci_host *h, const struct vpci_msg *m)
{
    uint64_t base = m->u.mmio_base;
    uint64_t ram = vsp_gmem_size(vsp_vm_memory(h->vm));
    NTSTATUS st = STATUS_SUCCESS;

    pthread_rwlock_wrlock(&h->lock);
    if (h->d0) {
        st = STATUS_BAD_DATA;
        vpci_guest_error(h, NULL, st, base, "BUS_D0ENTRY while already in D0");
    } else if ((base & (VPCI_CONFIG_WINDOW_ALIGN - 1)) != 0 || base < ram ||
               base > UINT64_MAX - VPCI_CONFIG_WINDOW_SIZE) {
        /* The window is MMIO: it must not hide guest RAM, nor wrap (contract.md 8.4). */
        st = STATUS_INVALID_PARAMETER;
        vpci_guest_error(h, NULL, st, base, "config window 0x%" PRIx64 " unaligned, inside RAM or wrapping", base);
    } else {
        h->d0 = true;
        h->window = base;
    }
    pthread_rwlock_unlock(&h->lock);
    return st;
}

static NTSTATUS
on_d0exit(struct vsp_vpci_host *h)
{
    NTSTATUS st = STATUS_SUCCESS;

    pthread_rwlock_wrlock(&h->lock);
    if (!h->d0) {
        st = STATUS_BAD_DATA;
        vpci_guest_error(h, NULL, st, 0, "BUS_D0EXIT while not in D0");
    }
    h->d0 = false;
    h->window = 0;
    pthread_rwlock_unlock(&h->lock);
    return st;
}

static NTSTATUS
on_read_block(struct vsp_vpci_host *h, const struct vpci_msg *m, struct vpci_reply *r)
{
    struct vpci_slot *s;
    NTSTATUS st;

    pthread_rwlock_rdlock(&h->lock);
    s = enumerated_slot_of(h, m);
    if (s == NULL) {
        st = STATUS_NO_SUCH_DEVICE;
    } else {
        memset(r->u.read_block.data, 0, sizeof(r->u.read_block.data));
        st = vsp_pf_read_block(s->pf, s->vf, m->u.block.block_id, r->u.read_block.data, m->u.block.byte_count);
        r->u.read_block.byte_count = m->u.block.byte_count;
    }
    pthread_rwlock_unlock(&h->lock);
    return st;
}

static NTSTATUS
on_write_block(struct vsp_vpci_host *h, const struct vpci_msg *m)
{
    struct vpci_slot *s;
    NTSTATUS st;

    pthread_rwlock_rdlock(&h->lock);
    s = enumerated_slot_of(h, m);
    st = s == NULL ? STATUS_NO_SUCH_DEVICE
                   : vsp_pf_write_block(s->pf, s->vf, m->u.block.block_id, m->u.block.data, m->u.block.byte_count);
    pthread_rwlock_unlock(&h->lock);
    return st;
}

static NTSTATUS
on_power(struct vsp_vpci_host *h, const struct vpci_msg *m, struct vpci_reply *r)
{
    struct vpci_slot *s;
    NTSTATUS st;

    pthread_rwlock_rdlock(&h->lock);
    s = enumerated_slot_of(h, m);
    st =
        s == NULL ? STATUS_NO_SUCH_DEVICE : vsp_pf_set_power(s->pf, s->vf, (DEVICE_POWER_STATE)m->u.power_state, false);
    pthread_rwlock_unlock(&h->lock);
    r->u.power.slot = m->slot;
    r->u.power.state = m->u.power_state;
    return st;
}

/* The destination of an MSI request: the first processor named. */
static uint32_t
msi_dest(const struct vpci_msg *m)
{
    if (m->type == PCI_CREATE_INTERRUPT_MESSAGE) {
        return m->u.msi.cpu_mask != 0 ? (uint32_t)__builtin_ctzll(m->u.msi.cpu_mask) : 0;
    }
    return m->u.msi.processors[0];
}

static NTSTATUS
on_create_irq(struct vsp_vpci_host *h, const struct vpci_msg *m, struct vpci_reply *r)
{
    struct vpci_slot *s;
    uint32_t handle = 0;
    NTSTATUS st = STATUS_SUCCESS;

    pthread_rwlock_wrlock(&h->lock);
    s = slot_of(h, m);
    if (s == NULL) {
        st = STATUS_NO_SUCH_DEVICE;
    } else if (!s->assigned) {
        st = STATUS_BAD_DATA;
        vpci_guest_error(h, s, st, m->slot, "interrupt requested before RESOURCES_ASSIGNED");
    } else if (m->u.msi.vector_count != 1) {
        /* Multi-MSI needs consecutive remapping handles; MSI-X asks one vector at a time. */
        st = STATUS_NOT_SUPPORTED;
        vpci_guest_error(h, s, st, m->u.msi.vector_count, "multi-message MSI (%u vectors) not served",
                         m->u.msi.vector_count);
    } else if (s->irqs >= VSP_VPCI_MAX_IRQS_PER_SLOT) {
        st = STATUS_INSUFFICIENT_RESOURCES;
        vpci_guest_error(h, s, st, s->irqs, "slot holds the maximum of interrupt entries");
    } else if (vsp_domain_irte_alloc(vsp_vm_domain(h->vm), s->rid, m->u.msi.vector, msi_dest(m), &handle) != 0) {
        st = STATUS_INSUFFICIENT_RESOURCES;
        vpci_guest_error(h, s, st, 0, "interrupt remapping table full");
    } else {
        s->irqs++;
        r->u.mapping.vector_count = 1;
        vsp_msi_compose(handle, &r->u.mapping.address, &r->u.mapping.data);
    }
    pthread_rwlock_unlock(&h->lock);
    return st;
}

/* The IRTE handle inside a remappable-format address (inverse of vsp_msi_compose()). */
static bool
msi_handle(uint64_t address, uint32_t *handle)
{
    if ((address >> 32) != 0 || (address & VSP_MSI_ADDR_MASK) != VSP_MSI_ADDR_BASE ||
        (address & VSP_MSI_REMAPPABLE) == 0) {
        return false;
    }
    *handle = (uint32_t)((address >> 5) & 0x7FFF) | (uint32_t)(((address >> 2) & 1) << 15);
    return true;
}

static NTSTATUS
on_delete_irq(struct vsp_vpci_host *h, const struct vpci_msg *m)
{
    struct vpci_slot *s;
    uint32_t handle;
    NTSTATUS st = STATUS_SUCCESS;

    pthread_rwlock_wrlock(&h->lock);
    s = enumerated_slot_of(h, m);
    if (s == NULL) {
        st = STATUS_NO_SUCH_DEVICE;
    } else if (!msi_handle(m->u.mapping.address, &handle) ||
               vsp_domain_irte_free(vsp_vm_domain(h->vm), s->rid, handle) != 0) {
        st = STATUS_INVALID_PARAMETER;
        vpci_guest_error(h, s, st, m->u.mapping.address, "DELETE_INTERRUPT_MESSAGE for an entry the slot does not own");
    } else {
        s->irqs--;
    }
    pthread_rwlock_unlock(&h->lock);
    return st;
}

static NTSTATUS
on_eject_complete(struct vsp_vpci_host *h, const struct vpci_msg *m)
{
    int rc = vsp_vmm_ejection_complete(h->vmm, h->vm, m->slot);

    return rc == 0 ? STATUS_SUCCESS : STATUS_INVALID_DEVICE_STATE; /* vmm logged the refusal */
}

static NTSTATUS
dispatch(struct vsp_vpci_host *h, const struct vpci_msg *m, struct vpci_reply *r)
{
    switch (m->type) {
    case PCI_QUERY_PROTOCOL_VERSION: return on_version(h, m, r);
    case PCI_QUERY_BUS_RELATIONS: update_bus(h); return STATUS_SUCCESS;
    case PCI_QUERY_RESOURCE_REQUIREMENTS: return on_requirements(h, m, r);
    case PCI_RESOURCES_ASSIGNED:
    case PCI_RESOURCES_ASSIGNED2:
    case PCI_RESOURCES_ASSIGNED3: return on_assigned(h, m, r);
    case PCI_RESOURCES_RELEASED: return on_released(h, m);
    case PCI_BUS_D0ENTRY: return on_d0entry(h, m);
    case PCI_BUS_D0EXIT: return on_d0exit(h);
    case PCI_READ_BLOCK: return on_read_block(h, m, r);
    case PCI_WRITE_BLOCK: return on_write_block(h, m);
    case PCI_POWER_STATE_CHANGE: return on_power(h, m, r);
    case PCI_CREATE_INTERRUPT_MESSAGE:
    case PCI_CREATE_INTERRUPT_MESSAGE2:
    case PCI_CREATE_INTERRUPT_MESSAGE3: return on_create_irq(h, m, r);
    case PCI_DELETE_INTERRUPT_MESSAGE:
    case PCI_DELETE_INTERRUPT_MESSAGE2: return on_delete_irq(h, m);
    case PCI_EJECTION_COMPLETE: return on_eject_complete(h, m);
    default:
        /* QUERY_RESOURCE_RESOURCES and RESET_DEVICE: not served at the versions spoken. */
        bad_packet(h, m->type, STATUS_NOT_SUPPORTED, "message not served by this host");
        return STATUS_NOT_SUPPORTED;
    }
}

static void
answer(struct vsp_vpci_host *h, const struct vpci_rx *rx, struct vpci_reply *r, NTSTATUS st)
{
    NTSTATUS sent;

    if (!rx->wants_reply) {
        return;
    }
    r->request_type = rx->type;
    r->status = st;
    pthread_mutex_lock(&h->send_lock);
    if (NT_SUCCESS(st) && vpci_msg_expects_reply(rx->type)) {
        sent = vpci_chan_reply(h->ch, rx->trans_id, r, h->vpci->cfg.send_timeout_ns);
    } else {
        sent = vpci_chan_reply_status(h->ch, rx->trans_id, st, h->vpci->cfg.send_timeout_ns);
    }
    pthread_mutex_unlock(&h->send_lock);
    if (!NT_SUCCESS(sent) && sent != STATUS_DEVICE_REMOVED) {
        atomic_fetch_add(&h->st.sends_lost, 1);
    }
}

/* One received packet: check order, dispatch, answer. */
static void
handle(struct vsp_vpci_host *h, struct vpci_rx *rx, NTSTATUS st, const char *why)
{
    struct vpci_reply r;

    memset(&r, 0, sizeof(r));
    if (!NT_SUCCESS(st)) {
        bad_packet(h, rx->type, st, why != NULL ? why : "malformed");
        answer(h, rx, &r, st);
        return;
    }
    if (atomic_load(&h->version) == 0 && rx->msg.type != PCI_QUERY_PROTOCOL_VERSION) {
        bad_packet(h, rx->type, STATUS_BAD_DATA, "message before protocol version negotiation");
        answer(h, rx, &r, STATUS_BAD_DATA);
        return;
    }
    atomic_fetch_add(&h->st.requests, 1);
    st = dispatch(h, &rx->msg, &r);
    answer(h, rx, &r, st);
}

static void *
dispatch_thread(void *arg)
{
    struct vsp_vpci_host *h = arg;
    int64_t wait = h->vpci->cfg.poll_ns;

    pv_thread_name("pv-vpci", h->vm_id);
    while (!atomic_load(&h->stop)) {
        const char *why = NULL;
        uint32_t version = atomic_load(&h->version);
        NTSTATUS st =
            vpci_chan_recv(h->ch, VPCI_GUEST_TO_HOST, version != 0 ? version : VPCI_VERSION_ANY, h->rx, &why, wait);

        if (st == STATUS_DEVICE_REMOVED) {
            break;
        }
        if (st == STATUS_SUCCESS || ((st == STATUS_BAD_DATA || st == STATUS_NOT_SUPPORTED) && h->rx->type != 0)) {
            handle(h, h->rx, st, why);
        } else if (st == STATUS_BAD_DATA) {
            bad_packet(h, 0, st, why != NULL ? why : "malformed packet");
        }
        flush_invalidations(h);
        wait = vpci_stop_expire(h); /* query-stop answers are taken by vpci_chan_recv() above */
        wait = wait < h->vpci->cfg.poll_ns ? wait : h->vpci->cfg.poll_ns;
    }
    vpci_stop_cancel_all(h, STATUS_DEVICE_REMOVED);
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

int
vsp_vpci_create(const struct vsp_vpci_config *cfg, struct vsp_vpci **out)
{
    struct vsp_vpci *v;

    if (cfg == NULL || cfg->pfs == NULL || cfg->platform == NULL || out == NULL) {
        return PCIVIRT_EINVAL;
    }
    v = pv_calloc(1, sizeof(*v));
    if (v == NULL) {
        return PCIVIRT_ENOMEM;
    }
    v->cfg = *cfg;
    if (v->cfg.send_timeout_ns <= 0) {
        v->cfg.send_timeout_ns = VSP_VPCI_SEND_TIMEOUT_DEFAULT_NS;
    }
    if (v->cfg.poll_ns <= 0) {
        v->cfg.poll_ns = POLL_DEFAULT_NS;
    }
    pthread_rwlock_init(&v->lock, NULL);
    list_init(&v->hosts);
    *out = v;
    return 0;
}

void
vsp_vpci_destroy(struct vsp_vpci *vpci)
{
    if (vpci == NULL) {
        return;
    }
    pthread_rwlock_destroy(&vpci->lock);
    pv_free(vpci);
}

/* The host of VM @vm (vpci lock held), or NULL. */
static struct vsp_vpci_host *
host_of_locked(struct vsp_vpci *vpci, const struct vsp_vm *vm)
{
    struct list_node *n;

    list_for_each(n, &vpci->hosts)
    {
        struct vsp_vpci_host *h = list_entry(n, struct vsp_vpci_host, node);

        if (h->vm == vm) {
            return h;
        }
    }
    return NULL;
}

static void
bus_relations_changed(void *ctx, struct vsp_vm *vm)
{
    struct vsp_vpci *vpci = ctx;
    struct vsp_vpci_host *h;

    pthread_rwlock_rdlock(&vpci->lock);
    h = host_of_locked(vpci, vm);
    if (h != NULL) {
        update_bus(h);
    }
    pthread_rwlock_unlock(&vpci->lock);
}

static void
bus_eject(void *ctx, struct vsp_vm *vm, uint32_t slot)
{
    struct vsp_vpci *vpci = ctx;
    struct vsp_vpci_host *h;

    pthread_rwlock_rdlock(&vpci->lock);
    h = host_of_locked(vpci, vm);
    if (h != NULL) {
        struct vpci_msg m = {.type = PCI_EJECT, .slot = slot};

        send_msg(h, &m);
    }
    pthread_rwlock_unlock(&vpci->lock);
}

const struct vsp_bus_ops *
vsp_vpci_bus_ops(void)
{
    static const struct vsp_bus_ops ops = {.relations_changed = bus_relations_changed, .eject = bus_eject};

    return &ops;
}

static int
host_init(struct vsp_vpci_host *h)
{
    h->rx = pv_calloc(1, sizeof(*h->rx));
    if (h->rx == NULL) {
        return PCIVIRT_ENOMEM;
    }
    pthread_rwlock_init(&h->lock, NULL);
    pthread_mutex_init(&h->inval_lock, NULL);
    pthread_mutex_init(&h->send_lock, NULL);
    pthread_mutex_init(&h->refresh_lock, NULL);
    pthread_mutex_init(&h->stop_lock, NULL);
    for (unsigned i = 0; i < VSP_VPCI_SLOTS; i++) {
        h->inval[i] = (struct vpci_inval){.pf = VSP_EV_NONE, .vf = VSP_EV_NONE, .pending = 0};
    }
    return 0;
}

int
vsp_vpci_host_create(struct vsp_vpci *vpci, struct vsp_vmm *vmm, struct vsp_vm *vm, struct vmbus_channel *ch,
                     struct vsp_vpci_host **out)
{
    struct vsp_vpci_host *h;
    int rc = 0;

    if (vpci == NULL || vmm == NULL || vm == NULL || ch == NULL || out == NULL) {
        vmbus_channel_destroy(ch);
        return PCIVIRT_EINVAL;
    }
    h = pv_calloc(1, sizeof(*h));
    if (h == NULL) {
        vmbus_channel_destroy(ch);
        return PCIVIRT_ENOMEM;
    }
    h->vpci = vpci;
    h->vmm = vmm;
    h->vm = vm;
    h->vm_id = vsp_vm_id(vm);
    h->ch = ch;
    rc = host_init(h);
    pthread_rwlock_wrlock(&vpci->lock);
    if (rc == 0 && host_of_locked(vpci, vm) != NULL) {
        rc = PCIVIRT_EEXIST;
    }
    if (rc == 0) {
        list_add_tail(&vpci->hosts, &h->node);
    }
    pthread_rwlock_unlock(&vpci->lock);
    if (rc == 0) {
        update_bus(h);
        rc = pthread_create(&h->thread, NULL, dispatch_thread, h) == 0 ? 0 : PCIVIRT_ENOMEM;
        h->thread_started = rc == 0;
    }
    if (rc != 0) {
        vsp_vpci_host_destroy(h);
        return rc;
    }
    *out = h;
    return 0;
}

void
vsp_vpci_host_destroy(struct vsp_vpci_host *h)
{
    if (h == NULL) {
        return;
    }
    pthread_rwlock_wrlock(&h->vpci->lock);
    if (list_linked(&h->node)) {
        list_del_init(&h->node);
    }
    pthread_rwlock_unlock(&h->vpci->lock);
    atomic_store(&h->stop, true);
    vmbus_channel_rescind(h->ch);
    if (h->thread_started) {
        pthread_join(h->thread, NULL);
    }
    if (h->rx != NULL) {
        vpci_stop_cancel_all(h, STATUS_DEVICE_REMOVED); /* nobody reads the channel any more */
    }
    vmbus_channel_destroy(h->ch);
    if (h->rx != NULL) {
        for (unsigned i = 0; i < VSP_VPCI_SLOTS; i++) {
            if (h->slots[i].present) {
                slot_release(&h->slots[i]);
            }
        }
        pthread_mutex_destroy(&h->stop_lock);
        pthread_mutex_destroy(&h->refresh_lock);
        pthread_mutex_destroy(&h->send_lock);
        pthread_mutex_destroy(&h->inval_lock);
        pthread_rwlock_destroy(&h->lock);
    }
    pv_free(h->rx);
    pv_free(h);
}

uint32_t
vsp_vpci_host_version(struct vsp_vpci_host *h)
{
    return atomic_load(&h->version);
}

void
vsp_vpci_host_stats(struct vsp_vpci_host *h, struct vsp_vpci_stats *out)
{
    out->requests = atomic_load(&h->st.requests);
    out->refused = atomic_load(&h->st.refused);
    out->config_reads = atomic_load(&h->st.config_reads);
    out->config_writes = atomic_load(&h->st.config_writes);
    out->mmio_direct = atomic_load(&h->st.mmio_direct);
    out->mmio_trapped = atomic_load(&h->st.mmio_trapped);
    out->mmio_unclaimed = atomic_load(&h->st.mmio_unclaimed);
    out->sends_lost = atomic_load(&h->st.sends_lost);
    out->queries_abandoned = atomic_load(&h->st.queries_abandoned);
}

unsigned
vsp_vpci_invalidate(struct vsp_vpci *vpci, int pf, const SRIOV_INVALIDATE_BLOCK *ib)
{
    struct list_node *n;
    unsigned queued = 0;

    if (ib == NULL || ib->BlockMask == 0) {
        return 0;
    }
    pthread_rwlock_rdlock(&vpci->lock);
    list_for_each(n, &vpci->hosts)
    {
        struct vsp_vpci_host *h = list_entry(n, struct vsp_vpci_host, node);
        unsigned here = 0;

        pthread_mutex_lock(&h->inval_lock);
        for (unsigned i = 0; i < VSP_VPCI_SLOTS; i++) {
            struct vpci_inval *iv = &h->inval[i];

            if (iv->pf == pf && (ib->VfIndex == SRIOV_INVALIDATE_BLOCK_ALL_VFS || iv->vf == ib->VfIndex)) {
                iv->pending |= ib->BlockMask;
                here++;
            }
        }
        pthread_mutex_unlock(&h->inval_lock);
        if (here != 0) {
            flush_invalidations(h);
        }
        queued += here;
    }
    pthread_rwlock_unlock(&vpci->lock);
    return queued;
}

unsigned
vsp_vpci_remap(struct vsp_vpci *vpci, int pf)
{
    struct list_node *n;
    unsigned remapped = 0;

    pthread_rwlock_rdlock(&vpci->lock);
    list_for_each(n, &vpci->hosts)
    {
        struct vsp_vpci_host *h = list_entry(n, struct vsp_vpci_host, node);

        pthread_rwlock_wrlock(&h->lock);
        for (unsigned i = 0; i < VSP_VPCI_SLOTS; i++) {
            struct vpci_slot *s = &h->slots[i];

            if (!s->present || !s->assigned || vsp_pf_id(s->pf) != pf) {
                continue;
            }
            s->assigned = NT_SUCCESS(map_resources(h, s));
            remapped += s->assigned ? 1u : 0u;
        }
        pthread_rwlock_unlock(&h->lock);
    }
    pthread_rwlock_unlock(&vpci->lock);
    return remapped;
}
