/*
 * tools/run_guest.c - a VM in a run: its platform and its guest bus driver.
 *
 * A VM is the world's (tools/world.h: the VM in the stack, its platform - MMIO
 * exits, guest memory, interrupt controller - and its guest bus with the
 * sample VF driver); the runner keeps borrowed pointers to its parts and
 * counts the interrupts the VM receives.  It is driven from the runner's
 * thread: its guest vPCI bus driver and the sample VF driver (src/guest) are
 * single-threaded by design, and the VM's MMIO exits go straight into its
 * vPCI host (vsp_vpci_host_mmio_*), so an operation
 * and everything it causes in the stack - an IOMMU translation, an interrupt
 * through remapping into the VM's controller - has happened when the call
 * returns.  Host-to-guest messages (relations, eject, invalidation) arrive on the
 * channel and are taken by polling, always with a real-time bound.
 *
 * The workload operations the VM's VF driver performs, and their oracles, are in
 * tools/run_ops.c.
 */
#include <stdio.h>
#include <string.h>

#include "run_internal.h"

/* Borrow the world VM's parts under the runner's names. */
static void
borrow(struct run_vm *v)
{
    v->svm = world_vm_stack_vm(v->wv);
    v->vm = world_vm_vm(v->wv);
    v->host = world_vm_host(v->wv);
    v->guest_ch = world_vm_channel(v->wv);
    v->bus = world_vm_bus(v->wv);
}

/* Every interrupt the VM's controller receives, counted before the guest bus gets it. */
static void
count_irq(void *ctx, struct world_vm *wv, uint32_t vector)
{
    struct run_vm *v = ctx;
    bool own = false;

    (void)wv;
    for (unsigned s = 0; s < GVPCI_SLOTS && v->bus != NULL; s++) {
        struct swvf *f = swvf_of(gvpci_bus_dev(v->bus, s));

        own = own || (f != NULL && f->vector == vector);
    }
    v->irqs++;
    if (!own) {
        v->irqs_foreign++;
    }
}

int
run_guest_create(struct run *r, struct run_vm *v, struct world_error *err)
{
    struct world_vm_config vc;
    unsigned n = 0;

    memset(&vc, 0, sizeof(vc));
    v->run = r;
    v->misbehave = v->sv->misbehave;
    v->mem_bytes = (uint64_t)v->sv->memory_mib << 20;
    vc.name = v->sv->name;
    vc.memory_bytes = v->mem_bytes;
    vc.vf = -1;
    /* Offer the configured version, then lower ones, like Linux (contract.md 8.3). */
    for (uint32_t ver = v->sv->vpci_version; ver >= PCI_PROTOCOL_VERSION_1_1 && n < GVPCI_MAX_VERSIONS; ver--) {
        vc.versions[n++] = ver;
    }
    vc.wait_ns = RUN_WAIT_NS;
    vc.ignore_eject = (v->misbehave & SCENARIO_GUEST_IGNORE_EJECT) != 0;
    vc.ignore_query_stop = (v->misbehave & SCENARIO_GUEST_IGNORE_QUERY_STOP) != 0;
    vc.on_irq = count_irq;
    vc.irq_ctx = v;
    if (world_vm_add(r->world, &vc, &v->wv, err) != 0) {
        return -1;
    }
    borrow(v);
    return 0;
}

int
run_guest_start(struct run_vm *v, struct world_error *err)
{
    if (world_vm_start(v->wv, err) != 0) {
        return -1;
    }
    v->vfs_gained += vsp_vm_devices(v->vm, NULL, 0);
    v->version = vsp_vpci_host_version(v->host);
    return 0;
}

void
run_guest_set_misbehave(struct run_vm *v, uint32_t misbehave)
{
    v->misbehave = misbehave;
    if (v->bus != NULL) {
        gvpci_bus_set_misbehave(v->bus, (misbehave & SCENARIO_GUEST_IGNORE_EJECT) != 0,
                                (misbehave & SCENARIO_GUEST_IGNORE_QUERY_STOP) != 0);
    }
}

void
run_guest_stop(struct run_vm *v)
{
    v->bus = NULL;
    world_vm_stop(v->wv);
}

uint64_t
run_guest_invalidations(struct run_vm *v)
{
    struct gvpci_stats s;

    if (v->bus == NULL) {
        return 0;
    }
    gvpci_bus_stats(v->bus, &s);
    return s.invalidates;
}

void
run_guest_poll(struct run_vm *v)
{
    if (v->bus != NULL) {
        gvpci_bus_poll(v->bus, 0);
    }
}

void
run_guests_poll(struct run *r)
{
    for (size_t i = 0; i < r->n_vms; i++) {
        run_guest_poll(&r->vms[i]);
    }
}

bool
run_guest_settle(struct run_vm *v)
{
    return v->bus != NULL && world_vm_settle(v->wv);
}

struct gvpci_dev *
run_guest_find(struct run_vm *v, int pf, uint32_t vf)
{
    struct vsp_vf_info info[VSP_VPCI_SLOTS];
    size_t n = vsp_vm_devices(v->vm, info, VSP_VPCI_SLOTS);

    for (size_t i = 0; i < n && i < VSP_VPCI_SLOTS && v->bus != NULL; i++) {
        if (info[i].pf == pf && info[i].vf_index == vf) {
            return gvpci_bus_dev(v->bus, info[i].slot);
        }
    }
    return NULL;
}
