/*
 * tools/run_guest.c - a VM in a run: its platform and its guest bus driver.
 *
 * A VM is driven from the runner's thread: its guest vPCI bus driver and the
 * sample VF driver (src/guest) are single-threaded by design, and the VM's MMIO
 * exits go straight into its vPCI host (vsp_vpci_host_mmio_*), so an operation
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

/* ---- the VM's platform --------------------------------------------------------------- */

static int
p_mmio_read(void *ctx, uint64_t gpa, void *data, uint32_t len)
{
    struct run_vm *v = ctx;

    return vsp_vpci_host_mmio_read(v->host, gpa, data, len);
}

static int
p_mmio_write(void *ctx, uint64_t gpa, const void *data, uint32_t len)
{
    struct run_vm *v = ctx;

    return vsp_vpci_host_mmio_write(v->host, gpa, data, len);
}

static int
p_mem_read(void *ctx, uint64_t gpa, void *data, size_t len)
{
    struct run_vm *v = ctx;

    return vsp_gmem_read(vsp_vm_memory(v->vm), gpa, data, len);
}

static int
p_mem_write(void *ctx, uint64_t gpa, const void *data, size_t len)
{
    struct run_vm *v = ctx;

    return vsp_gmem_write(vsp_vm_memory(v->vm), gpa, data, len);
}

/* MMIO windows above the VM's RAM (the config window must not lie inside RAM, 8.4). */
static void
windows(const struct run_vm *v, struct gvpci_platform *p)
{
    uint64_t low = 0xF0000000ull;
    uint64_t top = (v->mem_bytes + 0x0FFFFFFFull) & ~0x0FFFFFFFull;

    p->mmio_low_base = top > low ? top : low;
    p->mmio_low_size = 0x08000000ull;
    p->mmio_high_base =
        p->mmio_low_base + p->mmio_low_size > 0x100000000ull ? p->mmio_low_base + p->mmio_low_size : 0x100000000ull;
    p->mmio_high_size = 0x40000000ull;
}

/* One sample-driver registration per distinct VF identity among the devices. */
static void
register_drivers(struct run *r, struct run_vm *v)
{
    for (size_t i = 0; i < r->n_devs; i++) {
        const struct pv_profile *p = r->devs[i].prof;
        bool seen = false;

        for (unsigned k = 0; k < v->n_drv; k++) {
            seen = seen || (v->drv[k].vendor_id == p->vendor_id && v->drv[k].device_id == p->vf_device_id);
        }
        if (!seen && v->n_drv < GVPCI_MAX_DRIVERS) {
            swvf_driver_init(&v->drv[v->n_drv], p->vendor_id, p->vf_device_id);
            gvpci_bus_register_driver(v->bus, &v->drv[v->n_drv]);
            v->n_drv++;
        }
    }
}

int
run_guest_start(struct run *r, struct run_vm *v, char *why, size_t why_len)
{
    struct gvpci_config cfg;
    struct pcivirt_error e;
    unsigned n = 0;

    memset(&cfg, 0, sizeof(cfg));
    cfg.channel = v->guest_ch;
    cfg.platform = (struct gvpci_platform){.ctx = v,
                                           .mmio_read = p_mmio_read,
                                           .mmio_write = p_mmio_write,
                                           .mem_read = p_mem_read,
                                           .mem_write = p_mem_write};
    windows(v, &cfg.platform);
    /* Offer the configured version, then lower ones, like Linux (contract.md 8.3). */
    for (uint32_t ver = v->sv->vpci_version; ver >= PCI_PROTOCOL_VERSION_1_1 && n < GVPCI_MAX_VERSIONS; ver--) {
        cfg.versions[n++] = ver;
    }
    cfg.wait_ns = RUN_WAIT_NS;
    cfg.ignore_eject = (v->misbehave & SCENARIO_GUEST_IGNORE_EJECT) != 0;
    cfg.ignore_query_stop = (v->misbehave & SCENARIO_GUEST_IGNORE_QUERY_STOP) != 0;
    pcivirt_error_clear(&e);
    if (gvpci_bus_create(&cfg, &v->bus) != 0) {
        snprintf(why, why_len, "VM '%s': cannot create its vPCI bus driver", v->sv->name);
        return -1;
    }
    register_drivers(r, v);
    if (gvpci_bus_start(v->bus, &e) != 0) {
        snprintf(why, why_len, "VM '%s': vPCI bus start: %s", v->sv->name, e.message);
        return -1;
    }
    if (!run_guest_settle(v)) {
        snprintf(why, why_len, "VM '%s': its VF drivers did not come up", v->sv->name);
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
    if (v->bus != NULL) {
        gvpci_bus_stop(v->bus);
        gvpci_bus_destroy(v->bus);
        v->bus = NULL;
    }
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

/* The guest's children are exactly the stack's exposures, each with its driver bound. */
static bool
guest_matches(struct run_vm *v)
{
    struct vsp_vf_info info[VSP_VPCI_SLOTS];
    size_t n = vsp_vm_devices(v->vm, info, VSP_VPCI_SLOTS);
    unsigned children = 0;

    for (unsigned s = 0; s < GVPCI_SLOTS; s++) {
        children += gvpci_bus_dev(v->bus, s) != NULL;
    }
    for (size_t i = 0; i < n && i < VSP_VPCI_SLOTS; i++) {
        if (info[i].state == VSP_VF_ASSIGNED && swvf_of(gvpci_bus_dev(v->bus, info[i].slot)) == NULL) {
            return false;
        }
    }
    return children == n;
}

bool
run_guest_settle(struct run_vm *v)
{
    for (int i = 0; v->bus != NULL && i < RUN_SETTLE_ROUNDS; i++) {
        gvpci_bus_poll(v->bus, i == 0 ? 0 : RUN_POLL_NS);
        if (guest_matches(v)) {
            return true;
        }
    }
    return false;
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
