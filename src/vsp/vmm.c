/*
 * vsp/vmm.c - VMs, the VF pool and the assignment state machine (vsp/vmm.h).
 *
 * State changes happen under the manager's mutex; everything that leaves the
 * manager (bus callbacks, ResetVf, the device clean check) happens after it is
 * dropped.  A removal therefore ends in a small "pending" record: the VM to
 * notify and the VF to hand off, identified by (PF id, PF generation, index)
 * rather than by pointer, so a PF removed while its VF's reset runs is simply
 * not found when the handoff comes back.
 */
#include "vsp/vmm.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "pcivirt/error.h"
#include "util/alloc.h"
#include "util/list.h"

#define DEFAULT_IRTES 256u
#define WHY_MAX 96

struct pf_rec;

struct vf_rec {
    struct pf_rec *pf;
    uint16_t index;
    uint16_t rid;
    enum vsp_vf_state state;
    struct vsp_vm *vm;
    uint32_t slot;
    uint32_t serial;
    uint64_t deadline;
    bool vouched;                /* reset and checked clean by this manager (vsp_vmm_vouch) */
    struct list_node eject_node; /* on vmm->ejecting while EJECTING */
};

struct pf_rec {
    int id;
    uint64_t gen;
    uint16_t nvfs;
    struct vf_rec *vfs;
    struct list_node node;
};

struct vsp_vm {
    struct vsp_vmm *vmm;
    int id;
    char name[64];
    struct vsp_gmem *mem;
    struct vsp_domain *dom;
    struct vf_rec *slots[VSP_VPCI_SLOTS];
    struct list_node node;
};

struct vsp_vmm {
    struct vsp_vmm_config cfg;
    pthread_mutex_t lock;
    struct list_node pfs;
    struct list_node vms;
    struct list_node ejecting;
    size_t nvms;
    int next_vm_id;
    uint32_t next_serial;
    uint64_t next_gen;
};

/* What to do after the lock is dropped. */
struct pending {
    struct vsp_vm *notify_vm; /* relations changed */
    bool handoff;             /* reset + check the VF below */
    int pf;
    uint64_t gen;
    uint16_t index;
    uint16_t rid;
    int old_vm;
};

static const char *const state_names[] = {"free", "assigned", "ejecting", "handoff", "quarantined"};

const char *
vsp_vf_state_name(enum vsp_vf_state state)
{
    return (unsigned)state < sizeof(state_names) / sizeof(state_names[0]) ? state_names[state] : "unknown";
}

int
vsp_vmm_create(const struct vsp_vmm_config *cfg, struct vsp_vmm **out)
{
    struct vsp_vmm *vmm;

    if (cfg == NULL || out == NULL || cfg->clock == NULL || cfg->iommu == NULL || cfg->vf_ops == NULL ||
        cfg->vf_ops->reset == NULL || cfg->vf_ops->check_clean == NULL) {
        return PCIVIRT_EINVAL;
    }
    vmm = pv_calloc(1, sizeof(*vmm));
    if (vmm == NULL) {
        return PCIVIRT_ENOMEM;
    }
    vmm->cfg = *cfg;
    if (vmm->cfg.eject_timeout_ns == 0) {
        vmm->cfg.eject_timeout_ns = VSP_EJECT_TIMEOUT_DEFAULT_NS;
    }
    pthread_mutex_init(&vmm->lock, NULL);
    list_init(&vmm->pfs);
    list_init(&vmm->vms);
    list_init(&vmm->ejecting);
    vmm->next_vm_id = 1;
    vmm->next_serial = 1;
    vmm->next_gen = 1;
    *out = vmm;
    return 0;
}

static void
free_pf(struct pf_rec *pf)
{
    pv_free(pf->vfs);
    pv_free(pf);
}

void
vsp_vmm_destroy(struct vsp_vmm *vmm)
{
    struct list_node *n, *tmp;

    if (vmm == NULL) {
        return;
    }
    while (!list_empty(&vmm->vms)) {
        vsp_vm_destroy(list_entry(vmm->vms.next, struct vsp_vm, node));
    }
    list_for_each_safe(n, tmp, &vmm->pfs)
    {
        list_del_init(n);
        free_pf(list_entry(n, struct pf_rec, node));
    }
    pthread_mutex_destroy(&vmm->lock);
    pv_free(vmm);
}

/* ---- VMs ------------------------------------------------------------------------ */

static int
vm_build(struct vsp_vmm *vmm, const struct vsp_vm_config *cfg, int id, struct vsp_vm *vm)
{
    struct vsp_domain_config dcfg = {.vm_id = id,
                                     .max_mappings = 64,
                                     .irte_count = cfg->irte_count ? cfg->irte_count : DEFAULT_IRTES,
                                     .irq_sink = cfg->irq_sink,
                                     .irq_ctx = cfg->irq_ctx};
    int rc;

    vm->vmm = vmm;
    vm->id = id;
    if (cfg->name != NULL) {
        snprintf(vm->name, sizeof(vm->name), "%s", cfg->name);
    } else {
        snprintf(vm->name, sizeof(vm->name), "vm%d", id);
    }
    list_init(&vm->node);
    rc = vsp_gmem_create(cfg->memory_bytes, &vm->mem);
    if (rc != 0) {
        return rc;
    }
    dcfg.mem = vm->mem;
    rc = vsp_domain_create(vmm->cfg.iommu, &dcfg, &vm->dom);
    if (rc != 0) {
        return rc;
    }
    /* DDA model: the device sees guest physical addresses (IOVA = GPA). */
    return vsp_domain_map_identity(vm->dom, VSP_DMA_RW);
}

static void
vm_free(struct vsp_vm *vm)
{
    vsp_domain_destroy(vm->dom);
    vsp_gmem_destroy(vm->mem);
    pv_free(vm);
}

int
vsp_vm_create(struct vsp_vmm *vmm, const struct vsp_vm_config *cfg, struct vsp_vm **out)
{
    struct vsp_vm *vm;
    int id, rc;

    if (vmm == NULL || cfg == NULL || out == NULL) {
        return PCIVIRT_EINVAL;
    }
    pthread_mutex_lock(&vmm->lock);
    if (vmm->nvms >= VSP_VMM_MAX_VMS) {
        pthread_mutex_unlock(&vmm->lock);
        return PCIVIRT_ENOSPC;
    }
    id = vmm->next_vm_id++;
    vmm->nvms++; /* reserved; released on failure */
    pthread_mutex_unlock(&vmm->lock);

    vm = pv_calloc(1, sizeof(*vm));
    rc = vm == NULL ? PCIVIRT_ENOMEM : vm_build(vmm, cfg, id, vm);
    pthread_mutex_lock(&vmm->lock);
    if (rc != 0) {
        vmm->nvms--;
    } else {
        list_add_tail(&vmm->vms, &vm->node);
    }
    pthread_mutex_unlock(&vmm->lock);
    if (rc != 0) {
        if (vm != NULL) {
            vm_free(vm);
        }
        return rc;
    }
    vsp_event_log_add(vmm->cfg.log, VSP_EV_VM_CREATE, VSP_EV_NONE, VSP_EV_NONE, id, STATUS_SUCCESS, cfg->memory_bytes,
                      "VM \"%s\" with %" PRIu64 " MiB of memory", vm->name, cfg->memory_bytes >> 20);
    *out = vm;
    return 0;
}

int
vsp_vm_id(const struct vsp_vm *vm)
{
    return vm->id;
}

const char *
vsp_vm_name(const struct vsp_vm *vm)
{
    return vm->name;
}

struct vsp_gmem *
vsp_vm_memory(const struct vsp_vm *vm)
{
    return vm->mem;
}

struct vsp_domain *
vsp_vm_domain(const struct vsp_vm *vm)
{
    return vm->dom;
}

struct vsp_vm *
vsp_vmm_find_vm(struct vsp_vmm *vmm, int id)
{
    struct list_node *n;
    struct vsp_vm *found = NULL;

    pthread_mutex_lock(&vmm->lock);
    list_for_each(n, &vmm->vms)
    {
        struct vsp_vm *vm = list_entry(n, struct vsp_vm, node);

        if (vm->id == id) {
            found = vm;
            break;
        }
    }
    pthread_mutex_unlock(&vmm->lock);
    return found;
}

/* ---- PFs and VF lookup ------------------------------------------------------------ */

static struct pf_rec *
find_pf_locked(struct vsp_vmm *vmm, int pf)
{
    struct list_node *n;

    list_for_each(n, &vmm->pfs)
    {
        struct pf_rec *p = list_entry(n, struct pf_rec, node);

        if (p->id == pf) {
            return p;
        }
    }
    return NULL;
}

static struct vf_rec *
find_vf_locked(struct vsp_vmm *vmm, int pf, uint16_t index)
{
    struct pf_rec *p = find_pf_locked(vmm, pf);

    return p == NULL || index >= p->nvfs ? NULL : &p->vfs[index];
}

int
vsp_vmm_add_pf(struct vsp_vmm *vmm, int pf, uint16_t num_vfs, const uint16_t *rids)
{
    struct pf_rec *p;

    if (vmm == NULL || pf < 0 || (num_vfs > 0 && rids == NULL)) {
        return PCIVIRT_EINVAL;
    }
    p = pv_calloc(1, sizeof(*p));
    if (p == NULL) {
        return PCIVIRT_ENOMEM;
    }
    p->vfs = pv_calloc(num_vfs, sizeof(*p->vfs));
    if (p->vfs == NULL) {
        pv_free(p);
        return PCIVIRT_ENOMEM;
    }
    p->id = pf;
    p->nvfs = num_vfs;
    for (uint16_t i = 0; i < num_vfs; i++) {
        p->vfs[i] = (struct vf_rec){.pf = p, .index = i, .rid = rids[i], .state = VSP_VF_FREE};
        list_init(&p->vfs[i].eject_node);
    }
    pthread_mutex_lock(&vmm->lock);
    if (find_pf_locked(vmm, pf) != NULL) {
        pthread_mutex_unlock(&vmm->lock);
        free_pf(p);
        return PCIVIRT_EEXIST;
    }
    p->gen = vmm->next_gen++;
    list_add_tail(&vmm->pfs, &p->node);
    pthread_mutex_unlock(&vmm->lock);
    return 0;
}

static void
fill_info(const struct vf_rec *v, struct vsp_vf_info *out)
{
    out->pf = v->pf->id;
    out->vf_index = v->index;
    out->rid = v->rid;
    out->state = v->state;
    out->vm = v->vm == NULL ? VSP_EV_NONE : v->vm->id;
    out->slot = v->slot;
    out->serial = v->serial;
    out->deadline_ns = v->state == VSP_VF_EJECTING ? v->deadline : 0;
}

int
vsp_vmm_vf_info(struct vsp_vmm *vmm, int pf, uint16_t vf_index, struct vsp_vf_info *out)
{
    struct vf_rec *v;
    int rc = PCIVIRT_ENOENT;

    pthread_mutex_lock(&vmm->lock);
    v = find_vf_locked(vmm, pf, vf_index);
    if (v != NULL) {
        fill_info(v, out);
        rc = 0;
    }
    pthread_mutex_unlock(&vmm->lock);
    return rc;
}

static bool
in_vm(const struct vf_rec *v)
{
    return v->state == VSP_VF_ASSIGNED || v->state == VSP_VF_EJECTING;
}

/* ---- assignment --------------------------------------------------------------------- */

static int
lowest_free_slot(const struct vsp_vm *vm)
{
    for (uint32_t s = 0; s < VSP_VPCI_SLOTS; s++) {
        if (vm->slots[s] == NULL) {
            return (int)s;
        }
    }
    return -1;
}

static int
assign_check(const struct vf_rec *v, const struct vsp_vm *vm)
{
    if (v == NULL) {
        return PCIVIRT_ENOENT;
    }
    if (v->state == VSP_VF_QUARANTINED) {
        return PCIVIRT_ESTATE;
    }
    if (v->state != VSP_VF_FREE) {
        return PCIVIRT_EBUSY;
    }
    return lowest_free_slot(vm) < 0 ? PCIVIRT_ENOSPC : 0;
}

int
vsp_vmm_assign(struct vsp_vmm *vmm, int pf, uint16_t vf_index, struct vsp_vm *vm, uint32_t *slot)
{
    struct vf_rec *v;
    uint32_t serial = 0, s = 0;
    int rc;

    if (vmm == NULL || vm == NULL || vm->vmm != vmm) {
        return PCIVIRT_EINVAL;
    }
    pthread_mutex_lock(&vmm->lock);
    v = find_vf_locked(vmm, pf, vf_index);
    rc = assign_check(v, vm);
    if (rc == 0) {
        s = (uint32_t)lowest_free_slot(vm);
        rc = vsp_iommu_attach(vmm->cfg.iommu, v->rid, vm->dom, pf, vf_index);
    }
    if (rc == 0) {
        serial = vmm->next_serial++;
        v->state = VSP_VF_ASSIGNED;
        v->vm = vm;
        v->slot = s;
        v->serial = serial;
        vm->slots[s] = v;
    }
    pthread_mutex_unlock(&vmm->lock);
    if (rc != 0) {
        return rc;
    }
    vsp_event_log_add(vmm->cfg.log, VSP_EV_ASSIGN, pf, vf_index, vm->id, STATUS_SUCCESS, serial,
                      "VF %04x exposed on slot %" PRIu32 " with serial %" PRIu32, v->rid, s, serial);
    if (slot != NULL) {
        *slot = s;
    }
    if (vmm->cfg.bus_ops != NULL && vmm->cfg.bus_ops->relations_changed != NULL) {
        vmm->cfg.bus_ops->relations_changed(vmm->cfg.bus_ctx, vm);
    }
    return 0;
}

/*
 * Take @v out of its VM (lock held): the IOMMU stops routing its DMA and MSIs
 * into the VM, the slot empties, and @p records what to do after unlocking.
 */
static void
remove_locked(struct vsp_vmm *vmm, struct vf_rec *v, struct pending *p)
{
    struct vsp_vm *vm = v->vm;

    vsp_iommu_detach(vmm->cfg.iommu, v->rid);
    vsp_domain_irte_free_rid(vm->dom, v->rid);
    vm->slots[v->slot] = NULL;
    if (v->state == VSP_VF_EJECTING) {
        list_del_init(&v->eject_node);
    }
    *p = (struct pending){.notify_vm = vm,
                          .handoff = true,
                          .pf = v->pf->id,
                          .gen = v->pf->gen,
                          .index = v->index,
                          .rid = v->rid,
                          .old_vm = vm->id};
    v->state = VSP_VF_HANDOFF;
    v->vm = NULL;
    v->serial = 0;
    v->slot = 0;
}

/*
 * The stack's own part of the clean check: the VF must be attached to no
 * domain (no DMA path into any VM) before the PF-side check even runs.
 */
static bool
stack_side_clean(struct vsp_vmm *vmm, const struct pending *p, char *why, size_t len)
{
    if (vsp_iommu_domain_of(vmm->cfg.iommu, p->rid) != NULL) {
        snprintf(why, len, "routing ID %04x still attached to an IOMMU domain", p->rid);
        return false;
    }
    return true;
}

/* Reset and check a VF in HANDOFF (no lock held), then publish the result. */
static int
handoff(struct vsp_vmm *vmm, const struct pending *p)
{
    char why[WHY_MAX] = "";
    NTSTATUS st = vmm->cfg.vf_ops->reset(vmm->cfg.vf_ctx, p->pf, p->index);
    bool clean;
    struct pf_rec *pf;

    vsp_event_log_add(vmm->cfg.log, VSP_EV_RESET, p->pf, p->index, p->old_vm, st, p->rid,
                      "ResetVf (FLR) before handoff");
    if (!NT_SUCCESS(st)) {
        snprintf(why, sizeof(why), "ResetVf failed with 0x%08" PRIX32, (uint32_t)st);
        clean = false;
    } else {
        clean = stack_side_clean(vmm, p, why, sizeof(why)) &&
                vmm->cfg.vf_ops->check_clean(vmm->cfg.vf_ctx, p->pf, p->index, why, sizeof(why));
    }
    /*
     * Log the verdict before publishing the state: whoever sees the VF free (or
     * quarantined) must also find the handoff check that made it so in the log.
     */
    if (clean) {
        vsp_event_log_add(vmm->cfg.log, VSP_EV_HANDOFF_CLEAN, p->pf, p->index, p->old_vm, STATUS_SUCCESS, 0,
                          "reset and checked clean; free for another VM");
    } else {
        vsp_event_log_add(vmm->cfg.log, VSP_EV_HANDOFF_DIRTY, p->pf, p->index, p->old_vm, STATUS_UNSUCCESSFUL, 0,
                          "quarantined: %s", why);
    }
    pthread_mutex_lock(&vmm->lock);
    pf = find_pf_locked(vmm, p->pf);
    if (pf != NULL && pf->gen == p->gen && pf->vfs[p->index].state == VSP_VF_HANDOFF) {
        pf->vfs[p->index].state = clean ? VSP_VF_FREE : VSP_VF_QUARANTINED;
        pf->vfs[p->index].vouched = clean;
    }
    pthread_mutex_unlock(&vmm->lock);
    return clean ? 0 : PCIVIRT_EBUSY;
}

/* After unlocking: tell the guest, then hand the VF off. */
static void
finish(struct vsp_vmm *vmm, const struct pending *p)
{
    if (p->notify_vm != NULL && vmm->cfg.bus_ops != NULL && vmm->cfg.bus_ops->relations_changed != NULL) {
        vmm->cfg.bus_ops->relations_changed(vmm->cfg.bus_ctx, p->notify_vm);
    }
    if (p->handoff) {
        handoff(vmm, p);
    }
}

int
vsp_vmm_eject(struct vsp_vmm *vmm, int pf, uint16_t vf_index, const char *reason)
{
    struct vf_rec *v;
    struct vsp_vm *vm = NULL;
    uint32_t slot = 0;
    uint64_t deadline = 0;
    int rc = 0;

    pthread_mutex_lock(&vmm->lock);
    v = find_vf_locked(vmm, pf, vf_index);
    if (v == NULL) {
        rc = PCIVIRT_ENOENT;
    } else if (v->state != VSP_VF_ASSIGNED) {
        rc = PCIVIRT_ESTATE;
    } else {
        deadline = vsp_clock_now(vmm->cfg.clock) + vmm->cfg.eject_timeout_ns;
        v->state = VSP_VF_EJECTING;
        v->deadline = deadline;
        list_add_tail(&vmm->ejecting, &v->eject_node);
        vm = v->vm;
        slot = v->slot;
    }
    pthread_mutex_unlock(&vmm->lock);
    if (rc != 0) {
        return rc;
    }
    vsp_event_log_add(vmm->cfg.log, VSP_EV_EJECT, pf, vf_index, vm->id, STATUS_SUCCESS, deadline,
                      "PCI_EJECT slot %" PRIu32 ", %" PRIu64 " ms to acknowledge: %s", slot,
                      vmm->cfg.eject_timeout_ns / VSP_NS_PER_MS, reason != NULL ? reason : "requested");
    if (vmm->cfg.bus_ops != NULL && vmm->cfg.bus_ops->eject != NULL) {
        vmm->cfg.bus_ops->eject(vmm->cfg.bus_ctx, vm, slot);
    }
    return 0;
}

int
vsp_vmm_ejection_complete(struct vsp_vmm *vmm, struct vsp_vm *vm, uint32_t slot)
{
    struct vf_rec *v = NULL;
    struct pending p = {0};
    int rc = 0;

    pthread_mutex_lock(&vmm->lock);
    v = slot < VSP_VPCI_SLOTS ? vm->slots[slot] : NULL;
    if (v == NULL) {
        rc = PCIVIRT_ENOENT;
    } else if (v->state != VSP_VF_EJECTING) {
        rc = PCIVIRT_ESTATE;
    } else {
        remove_locked(vmm, v, &p);
    }
    pthread_mutex_unlock(&vmm->lock);
    if (rc != 0) {
        vsp_event_log_add(vmm->cfg.log, VSP_EV_GUEST_ERROR, VSP_EV_NONE, VSP_EV_NONE, vm->id, STATUS_INVALID_PARAMETER,
                          slot, "PCI_EJECTION_COMPLETE for slot %" PRIu32 " ignored: %s", slot,
                          rc == PCIVIRT_ENOENT ? "no device there" : "device not being ejected");
        return rc;
    }
    vsp_event_log_add(vmm->cfg.log, VSP_EV_EJECT_ACK, p.pf, p.index, vm->id, STATUS_SUCCESS, slot,
                      "guest acknowledged the eject of slot %" PRIu32, slot);
    finish(vmm, &p);
    return 0;
}

int
vsp_vmm_surprise_remove(struct vsp_vmm *vmm, int pf, uint16_t vf_index, const char *reason)
{
    struct vf_rec *v;
    struct pending p = {0};
    int rc = 0;

    pthread_mutex_lock(&vmm->lock);
    v = find_vf_locked(vmm, pf, vf_index);
    if (v == NULL) {
        rc = PCIVIRT_ENOENT;
    } else if (!in_vm(v)) {
        rc = PCIVIRT_ESTATE;
    } else {
        remove_locked(vmm, v, &p);
    }
    pthread_mutex_unlock(&vmm->lock);
    if (rc != 0) {
        return rc;
    }
    vsp_event_log_add(vmm->cfg.log, VSP_EV_SURPRISE_REMOVAL, pf, vf_index, p.old_vm, STATUS_SUCCESS, 0, "%s",
                      reason != NULL ? reason : "surprise removal");
    finish(vmm, &p);
    return 0;
}

int
vsp_vmm_retry_handoff(struct vsp_vmm *vmm, int pf, uint16_t vf_index)
{
    struct vf_rec *v;
    struct pending p = {0};
    int rc = 0;

    pthread_mutex_lock(&vmm->lock);
    v = find_vf_locked(vmm, pf, vf_index);
    if (v == NULL) {
        rc = PCIVIRT_ENOENT;
    } else if (v->state != VSP_VF_QUARANTINED) {
        rc = PCIVIRT_ESTATE;
    } else {
        v->state = VSP_VF_HANDOFF;
        p = (struct pending){
            .handoff = true, .pf = pf, .gen = v->pf->gen, .index = vf_index, .rid = v->rid, .old_vm = VSP_EV_NONE};
    }
    pthread_mutex_unlock(&vmm->lock);
    return rc != 0 ? rc : handoff(vmm, &p);
}

int
vsp_vmm_vouch(struct vsp_vmm *vmm, int pf, uint16_t vf_index)
{
    struct vf_rec *v;
    struct pending p = {0};

    pthread_mutex_lock(&vmm->lock);
    v = find_vf_locked(vmm, pf, vf_index);
    if (v != NULL && v->state == VSP_VF_FREE && !v->vouched) {
        v->state = VSP_VF_HANDOFF; /* nobody can assign it meanwhile */
        p = (struct pending){
            .handoff = true, .pf = pf, .gen = v->pf->gen, .index = vf_index, .rid = v->rid, .old_vm = VSP_EV_NONE};
    }
    pthread_mutex_unlock(&vmm->lock);
    if (v == NULL) {
        return PCIVIRT_ENOENT;
    }
    return !p.handoff || handoff(vmm, &p) == 0 ? 0 : PCIVIRT_ESTATE;
}

/* Remove the first VF whose window expired by @now (lock held); false if none. */
static bool
take_expired_locked(struct vsp_vmm *vmm, uint64_t now, struct pending *p, uint32_t *slot)
{
    struct list_node *n;

    list_for_each(n, &vmm->ejecting)
    {
        struct vf_rec *v = list_entry(n, struct vf_rec, eject_node);

        if (v->deadline <= now) {
            *slot = v->slot;
            remove_locked(vmm, v, p);
            return true;
        }
    }
    return false;
}

static uint64_t
earliest_deadline_locked(struct vsp_vmm *vmm)
{
    struct list_node *n;
    uint64_t next = UINT64_MAX;

    list_for_each(n, &vmm->ejecting)
    {
        struct vf_rec *v = list_entry(n, struct vf_rec, eject_node);

        if (v->deadline < next) {
            next = v->deadline;
        }
    }
    return next;
}

uint64_t
vsp_vmm_tick(struct vsp_vmm *vmm)
{
    uint64_t now = vsp_clock_now(vmm->cfg.clock), next;
    struct pending p;
    uint32_t slot;

    for (;;) {
        bool expired;

        pthread_mutex_lock(&vmm->lock);
        expired = take_expired_locked(vmm, now, &p, &slot);
        next = earliest_deadline_locked(vmm);
        pthread_mutex_unlock(&vmm->lock);
        if (!expired) {
            return next;
        }
        vsp_event_log_add(vmm->cfg.log, VSP_EV_TIMEOUT, p.pf, p.index, p.old_vm, STATUS_IO_TIMEOUT,
                          vmm->cfg.eject_timeout_ns,
                          "no PCI_EJECTION_COMPLETE for slot %" PRIu32 " within %" PRIu64 " ms", slot,
                          vmm->cfg.eject_timeout_ns / VSP_NS_PER_MS);
        vsp_event_log_add(vmm->cfg.log, VSP_EV_FORCED_REMOVAL, p.pf, p.index, p.old_vm, STATUS_SUCCESS, slot,
                          "removed from slot %" PRIu32 " without the guest's acknowledgment", slot);
        finish(vmm, &p);
    }
}

/* ---- teardown ------------------------------------------------------------------------ */

void
vsp_vm_destroy(struct vsp_vm *vm)
{
    struct vsp_vmm *vmm;

    if (vm == NULL) {
        return;
    }
    vmm = vm->vmm;
    for (uint32_t s = 0; s < VSP_VPCI_SLOTS; s++) {
        struct pending p = {0};
        bool had = false;

        pthread_mutex_lock(&vmm->lock);
        if (vm->slots[s] != NULL) {
            remove_locked(vmm, vm->slots[s], &p);
            p.notify_vm = NULL; /* the VM is going away: nobody to tell */
            had = true;
        }
        pthread_mutex_unlock(&vmm->lock);
        if (had) {
            vsp_event_log_add(vmm->cfg.log, VSP_EV_SURPRISE_REMOVAL, p.pf, p.index, vm->id, STATUS_SUCCESS, s,
                              "VM shut down while holding the VF");
            finish(vmm, &p);
        }
    }
    pthread_mutex_lock(&vmm->lock);
    list_del_init(&vm->node);
    vmm->nvms--;
    pthread_mutex_unlock(&vmm->lock);
    vsp_event_log_add(vmm->cfg.log, VSP_EV_VM_DESTROY, VSP_EV_NONE, VSP_EV_NONE, vm->id, STATUS_SUCCESS, 0,
                      "VM \"%s\" destroyed", vm->name);
    vm_free(vm);
}

int
vsp_vmm_remove_pf(struct vsp_vmm *vmm, int pf, const char *reason)
{
    struct pf_rec *p;
    uint32_t i = 0;

    /* One VF per round, so guests are told and events logged without the lock. */
    for (;;) {
        struct pending pend = {0};

        pthread_mutex_lock(&vmm->lock);
        p = find_pf_locked(vmm, pf);
        if (p == NULL) {
            pthread_mutex_unlock(&vmm->lock);
            return PCIVIRT_ENOENT;
        }
        while (i < p->nvfs && !in_vm(&p->vfs[i])) {
            i++;
        }
        if (i >= p->nvfs) {
            list_del_init(&p->node);
            pthread_mutex_unlock(&vmm->lock);
            free_pf(p);
            return 0;
        }
        remove_locked(vmm, &p->vfs[i++], &pend);
        pend.handoff = false; /* the device is gone: nothing to reset */
        pthread_mutex_unlock(&vmm->lock);
        vsp_event_log_add(vmm->cfg.log, VSP_EV_SURPRISE_REMOVAL, pf, pend.index, pend.old_vm, STATUS_DEVICE_REMOVED, 0,
                          "PF going away: %s", reason != NULL ? reason : "removed");
        finish(vmm, &pend);
    }
}

/* ---- guest-facing lookups ----------------------------------------------------------- */

int
vsp_vm_slot_lookup(struct vsp_vm *vm, uint32_t slot, struct vsp_vf_info *out)
{
    struct vsp_vmm *vmm = vm->vmm;
    int rc = PCIVIRT_ENOENT;

    pthread_mutex_lock(&vmm->lock);
    if (slot < VSP_VPCI_SLOTS && vm->slots[slot] != NULL) {
        fill_info(vm->slots[slot], out);
        rc = 0;
    }
    pthread_mutex_unlock(&vmm->lock);
    return rc;
}

size_t
vsp_vm_devices(struct vsp_vm *vm, struct vsp_vf_info *out, size_t max)
{
    struct vsp_vmm *vmm = vm->vmm;
    size_t n = 0;

    pthread_mutex_lock(&vmm->lock);
    for (uint32_t s = 0; s < VSP_VPCI_SLOTS; s++) {
        if (vm->slots[s] != NULL) {
            if (n < max) {
                fill_info(vm->slots[s], &out[n]);
            }
            n++;
        }
    }
    pthread_mutex_unlock(&vmm->lock);
    return n;
}
