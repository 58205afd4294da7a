/*
 * tools/world.c - building and tearing down the whole machine (see world.h).
 *
 * Bring-up order: runtime host -> platform -> the reference PF driver loaded ->
 * the stack created (its clock is the host's, so a virtual-clock world moves
 * PF driver timers and stack deadlines together) -> per device: profile,
 * software device with the stack's IOMMU ports, resources, VFs enabled if
 * asked, a PDO exporting the device's bus interface, the PF driver as its FDO,
 * started -> the stack started: it finds each PF through the device-interface
 * registry, binds and ATTACHes it; the world only waits and maps instance ids
 * to stack ids -> VMs with their channels, assignments -> the guests' bus
 * drivers started and settled.
 *
 * Teardown is the reverse.  The device records go last: a PDO holds the
 * device's bus interface until the runtime host removes it.
 */
#include "world.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "guest/swvf.h"
#include "pf/pf.h"
#include "util/alloc.h"
#include "vsp/gmem.h"
#include "vsp/vmm.h"
#include "vsp/vpci_host.h"

struct world_pf {
    struct pv_profile prof;
    struct pv_sriov_dev *dev;
    PCIVIRT_BUS_INTERFACE bus;
    struct wdf_node *node;
    WDFDEVICE device;
    int stack_id;
    char instance[48];
};

struct world_vm {
    struct world *w;
    struct vsp_stack_vm *svm; /* owns vm, host and the channel */
    struct vsp_vm *vm;
    struct vsp_vpci_host *host;
    struct vmbus_channel *channel;
    struct gvpci_bus *bus;
    struct gvpci_driver drv[GVPCI_MAX_DRIVERS];
    unsigned n_drv;
    uint32_t slot;
    world_irq_fn *on_irq;
    void *irq_ctx;
};

struct world {
    struct wdf_host *host;
    struct pv_platform *plat;
    struct wdf_driver_module *pfdrv;
    struct vsp_stack *stack;
    struct vsp_stack_config stack_cfg; /* host, platform, log capacity; the policy of the current stack */
    unsigned discovery_ms;
    struct world_pf **pfs;
    unsigned n_pfs, cap_pfs;
    struct world_vm **vms;
    unsigned n_vms, cap_vms;
};

static const char *const step_names[] = {
    [WORLD_STEP_NONE] = "none",
    [WORLD_STEP_ARGS] = "arguments",
    [WORLD_STEP_MEMORY] = "memory",
    [WORLD_STEP_HOST] = "runtime host",
    [WORLD_STEP_PLATFORM] = "platform",
    [WORLD_STEP_PF_DRIVER] = "PF driver load",
    [WORLD_STEP_STACK] = "stack",
    [WORLD_STEP_DEVICE] = "device",
    [WORLD_STEP_RESOURCES] = "resources",
    [WORLD_STEP_ENABLE] = "VF enable",
    [WORLD_STEP_PF_START] = "PF start",
    [WORLD_STEP_STACK_START] = "stack start",
    [WORLD_STEP_DISCOVERY] = "PF discovery",
    [WORLD_STEP_VM] = "VM",
    [WORLD_STEP_ASSIGN] = "assignment",
    [WORLD_STEP_GUEST] = "guest bus",
    [WORLD_STEP_GUEST_START] = "guest bus start",
    [WORLD_STEP_GUEST_SETTLE] = "guest settle",
};

const char *
world_step_name(enum world_step step)
{
    return (unsigned)step < sizeof(step_names) / sizeof(step_names[0]) ? step_names[step] : "?";
}

static int fail(struct world_error *err, enum world_step step, long code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Record a failure of @step (when the caller wants it); always -1. */
static int
fail(struct world_error *err, enum world_step step, long code, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL) {
        err->step = step;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return -1;
}

static void
error_init(struct world_error *err)
{
    if (err != NULL) {
        memset(err, 0, sizeof(*err));
        err->pf = -1;
        err->vm = -1;
    }
}

/* Grow a pointer array by one slot; false when out of memory. */
static bool
grow(void ***arr, unsigned n, unsigned *cap)
{
    void **next;

    if (n < *cap) {
        return true;
    }
    next = pv_realloc(*arr, (size_t)(*cap != 0 ? *cap * 2 : 4) * sizeof(*next));
    if (next == NULL) {
        return false;
    }
    *arr = next;
    *cap = *cap != 0 ? *cap * 2 : 4;
    return true;
}

/* ---- the guest's platform: MMIO exits, guest memory, the interrupt controller -------------------- */

static int
p_mmio_read(void *ctx, uint64_t gpa, void *data, uint32_t len)
{
    return vsp_vpci_host_mmio_read(((struct world_vm *)ctx)->host, gpa, data, len);
}

static int
p_mmio_write(void *ctx, uint64_t gpa, const void *data, uint32_t len)
{
    return vsp_vpci_host_mmio_write(((struct world_vm *)ctx)->host, gpa, data, len);
}

static int
p_mem_read(void *ctx, uint64_t gpa, void *data, size_t len)
{
    return vsp_gmem_read(vsp_vm_memory(((struct world_vm *)ctx)->vm), gpa, data, len);
}

static int
p_mem_write(void *ctx, uint64_t gpa, const void *data, size_t len)
{
    return vsp_gmem_write(vsp_vm_memory(((struct world_vm *)ctx)->vm), gpa, data, len);
}

/* MSI-X reaches the VM on the thread that rang the doorbell. */
static void
irq_sink(void *ctx, uint32_t vector, uint32_t dest)
{
    struct world_vm *v = ctx;

    (void)dest;
    if (v->on_irq != NULL) {
        v->on_irq(v->irq_ctx, v, vector);
    }
    if (v->bus != NULL) {
        gvpci_bus_deliver_irq(v->bus, vector);
    }
}

/*
 * MMIO windows above the VM's RAM (the config window must not lie inside RAM,
 * contract.md 8.4): below 4 GiB from 0xF0000000 (or the 256 MiB boundary above
 * RAM), 128 MiB; above 4 GiB, 1 GiB.
 */
static void
windows(uint64_t mem_bytes, struct gvpci_platform *p)
{
    uint64_t low = 0xF0000000ull;
    uint64_t top = (mem_bytes + 0x0FFFFFFFull) & ~0x0FFFFFFFull;

    p->mmio_low_base = top > low ? top : low;
    p->mmio_low_size = 0x08000000ull;
    p->mmio_high_base =
        p->mmio_low_base + p->mmio_low_size > 0x100000000ull ? p->mmio_low_base + p->mmio_low_size : 0x100000000ull;
    p->mmio_high_size = 0x40000000ull;
}

/* ---- host, platform, stack ------------------------------------------------------------------------- */

static int
stack_create(struct world *w, struct world_error *err)
{
    struct pv_dma_port dma;
    struct pv_irq_port irq;

    if (vsp_stack_create(&w->stack_cfg, &w->stack) != 0) {
        return fail(err, WORLD_STEP_STACK, 0, "cannot create the virtualization stack");
    }
    vsp_stack_ports(w->stack, &dma, &irq);
    for (unsigned i = 0; i < w->n_pfs; i++) {
        if (w->pfs[i]->dev != NULL) {
            pv_sriov_set_ports(w->pfs[i]->dev, &dma, &irq);
        }
    }
    return 0;
}

static int
open_parts(struct world *w, const struct world_config *cfg, struct world_error *err)
{
    struct wdf_host_config hc;

    memset(&hc, 0, sizeof(hc));
    hc.clock = cfg->clock;
    hc.verifier_off = cfg->verifier_off;
    hc.on_report = cfg->on_report;
    hc.report_ctx = cfg->report_ctx;
    if (!NT_SUCCESS(wdf_host_create(&hc, &w->host))) {
        return fail(err, WORLD_STEP_HOST, 0, "cannot create the runtime host");
    }
    wdf_thread_bind(w->host);
    if (pv_platform_create(NULL, &w->plat) != 0) {
        return fail(err, WORLD_STEP_PLATFORM, PCIVIRT_ENOMEM, "out of memory (platform)");
    }
    if (!NT_SUCCESS(wdf_driver_load(w->host, "pcivirt_pf", PfDriverEntry, &w->pfdrv))) {
        return fail(err, WORLD_STEP_PF_DRIVER, 0, "the reference PF driver did not load");
    }
    w->stack_cfg.host = w->host;
    w->stack_cfg.platform = w->plat;
    w->stack_cfg.log_capacity = cfg->log_capacity;
    w->stack_cfg.policy = cfg->policy;
    return cfg->no_stack ? 0 : stack_create(w, err);
}

int
world_open(const struct world_config *cfg, struct world **out, struct world_error *err)
{
    struct world *w;

    error_init(err);
    *out = NULL;
    w = pv_calloc(1, sizeof(*w));
    if (w == NULL) {
        return fail(err, WORLD_STEP_MEMORY, PCIVIRT_ENOMEM, "out of memory (world)");
    }
    w->discovery_ms = cfg->discovery_ms != 0 ? cfg->discovery_ms : WORLD_DISCOVERY_MS;
    if (open_parts(w, cfg, err) != 0) {
        world_destroy(w);
        return -1;
    }
    *out = w;
    return 0;
}

/* ---- devices ----------------------------------------------------------------------------------------- */

static int
pf_device(struct world *w, struct world_pf *p, const struct world_pf_config *pc, struct world_error *err)
{
    struct pcivirt_error e;

    pcivirt_error_clear(&e);
    if (pv_sriov_create(&p->prof, &p->dev, &e) != 0) {
        return fail(err, WORLD_STEP_DEVICE, e.code, "%s", e.message);
    }
    if (w->stack != NULL) {
        struct pv_dma_port dma;
        struct pv_irq_port irq;

        vsp_stack_ports(w->stack, &dma, &irq);
        pv_sriov_set_ports(p->dev, &dma, &irq);
    }
    if (pv_sriov_assign_resources(p->dev, w->plat, &e) != 0) {
        return fail(err, WORLD_STEP_RESOURCES, e.code, "resource assignment: %s", e.message);
    }
    if (pc->enable_vfs != 0 && pv_sriov_enable(p->dev, pc->enable_vfs, &e) != 0) {
        return fail(err, WORLD_STEP_ENABLE, e.code, "%s", e.message);
    }
    pv_sriov_bus_interface(p->dev, &p->bus);
    return 0;
}

/* The PDO exporting the bus interface, the reference PF driver as its FDO, started. */
static int
pf_node(struct world *w, struct world_pf *p, const struct world_pf_config *pc, struct world_error *err)
{
    struct pcivirt_bus_resources res;
    struct wdf_pdo_interface iface = {&GUID_PCIVIRT_BUS_INTERFACE, (const INTERFACE *)&p->bus};
    struct wdf_pdo_config cfg;
    char hwid[48];
    NTSTATUS st;

    pv_sriov_query_resources(p->dev, &res);
    snprintf(hwid, sizeof(hwid), "PCI\\VEN_%04X&DEV_%04X", p->prof.vendor_id, p->prof.device_id);
    if (pc->instance_id != NULL) {
        snprintf(p->instance, sizeof(p->instance), "%s", pc->instance_id);
    } else {
        int n = snprintf(p->instance, sizeof(p->instance), "%04x:%02x:%02x.%x", res.segment, res.pf_rid >> 8,
                         (res.pf_rid >> 3) & 0x1f, res.pf_rid & 7);

        if (pc->tag_instance && n > 0 && (size_t)n < sizeof(p->instance)) {
            snprintf(p->instance + n, sizeof(p->instance) - (size_t)n, "-%u", w->n_pfs - 1);
        }
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.hardware_id = pc->hardware_id != NULL ? pc->hardware_id : hwid;
    cfg.instance_id = p->instance;
    cfg.raw = res.bar;
    cfg.translated = res.bar;
    cfg.resource_count = 1;
    cfg.interfaces = &iface;
    cfg.interface_count = 1;
    st = wdf_pdo_create(w->host, &cfg, &p->node);
    st = NT_SUCCESS(st) ? wdf_node_add_driver(p->node, w->pfdrv, WDF_ROLE_FUNCTION) : st;
    if (NT_SUCCESS(st)) {
        p->device = wdf_node_device(p->node, WDF_ROLE_FUNCTION);
        st = wdf_pnp_start(p->node);
    }
    return NT_SUCCESS(st)
               ? 0
               : fail(err, WORLD_STEP_PF_START, (long)st, "the PF driver did not start (0x%08x)", (unsigned)st);
}

int
world_pf_add(struct world *w, const struct world_pf_config *pc, struct world_error *err)
{
    static const struct world_pf_config defaults;
    struct world_pf *p;

    error_init(err);
    pc = pc != NULL ? pc : &defaults;
    if (!grow((void ***)&w->pfs, w->n_pfs, &w->cap_pfs) || (p = pv_calloc(1, sizeof(*p))) == NULL) {
        return fail(err, WORLD_STEP_MEMORY, PCIVIRT_ENOMEM, "out of memory (device)");
    }
    w->pfs[w->n_pfs++] = p;
    p->stack_id = -1;
    if (err != NULL) {
        err->pf = (int)w->n_pfs - 1;
    }
    if (pc->prof != NULL) {
        p->prof = *pc->prof;
    } else {
        pv_profile_default(&p->prof);
        p->prof.initial_vfs = pc->initial_vfs != 0 ? pc->initial_vfs : WORLD_DEFAULT_VFS;
    }
    if (pf_device(w, p, pc, err) != 0 || pf_node(w, p, pc, err) != 0) {
        return -1;
    }
    return (int)w->n_pfs - 1;
}

/* ---- discovery ---------------------------------------------------------------------------------------- */

int
world_stack_start(struct world *w, struct world_error *err)
{
    error_init(err);
    if (w->stack == NULL || vsp_stack_start(w->stack) != 0) {
        return fail(err, WORLD_STEP_STACK_START, 0, "the stack did not start");
    }
    if (!vsp_stack_wait_pfs(w->stack, w->n_pfs, w->discovery_ms)) {
        return fail(err, WORLD_STEP_DISCOVERY, 0, "the stack did not bind and attach all %u PFs within %u ms", w->n_pfs,
                    w->discovery_ms);
    }
    for (unsigned i = 0; i < w->n_pfs; i++) {
        w->pfs[i]->stack_id = vsp_stack_pf_find(w->stack, w->pfs[i]->instance);
        if (w->pfs[i]->stack_id < 0) {
            if (err != NULL) {
                err->pf = (int)i;
            }
            return fail(err, WORLD_STEP_DISCOVERY, 0, "the stack did not discover the PF %s", w->pfs[i]->instance);
        }
    }
    return 0;
}

/* ---- VMs and their guests ------------------------------------------------------------------------------ */

/* One sample-driver registration per distinct VF identity among the devices. */
static int
register_drivers(struct world *w, struct world_vm *v)
{
    for (unsigned i = 0; i < w->n_pfs; i++) {
        const struct pv_profile *p = &w->pfs[i]->prof;
        bool seen = false;

        for (unsigned k = 0; k < v->n_drv; k++) {
            seen = seen || (v->drv[k].vendor_id == p->vendor_id && v->drv[k].device_id == p->vf_device_id);
        }
        if (!seen && v->n_drv < GVPCI_MAX_DRIVERS) {
            swvf_driver_init(&v->drv[v->n_drv], p->vendor_id, p->vf_device_id);
            if (gvpci_bus_register_driver(v->bus, &v->drv[v->n_drv]) != 0) {
                return -1;
            }
            v->n_drv++;
        }
    }
    return 0;
}

static int
vm_guest(struct world_vm *v, const struct world_vm_config *vc, uint64_t mem, struct world_error *err)
{
    struct gvpci_config gc;

    memset(&gc, 0, sizeof(gc));
    gc.channel = v->channel;
    gc.platform = (struct gvpci_platform){.ctx = v,
                                          .mmio_read = p_mmio_read,
                                          .mmio_write = p_mmio_write,
                                          .mem_read = p_mem_read,
                                          .mem_write = p_mem_write};
    windows(mem, &gc.platform);
    memcpy(gc.versions, vc->versions, sizeof(gc.versions));
    gc.wait_ns = vc->wait_ns;
    gc.ignore_eject = vc->ignore_eject;
    gc.ignore_query_stop = vc->ignore_query_stop;
    if (gvpci_bus_create(&gc, &v->bus) != 0 || register_drivers(v->w, v) != 0) {
        return fail(err, WORLD_STEP_GUEST, 0, "VM '%s': cannot create its vPCI bus driver", vsp_vm_name(v->vm));
    }
    return 0;
}

static int
vm_parts(struct world *w, struct world_vm *v, const struct world_vm_config *vc, struct world_error *err)
{
    uint64_t mem = vc->memory_bytes != 0 ? vc->memory_bytes : WORLD_DEFAULT_MEMORY;
    struct vsp_stack_vm_config svc = {.name = vc->name, .memory_bytes = mem, .irq_sink = irq_sink, .irq_ctx = v};
    int rc;

    if (w->stack == NULL || vsp_stack_vm_create(w->stack, &svc, &v->svm) != 0) {
        return fail(err, WORLD_STEP_VM, 0, "cannot create VM '%s'", vc->name != NULL ? vc->name : "");
    }
    v->vm = vsp_stack_vm_vm(v->svm);
    v->host = vsp_stack_vm_host(v->svm);
    v->channel = vsp_stack_vm_channel(v->svm);
    if (vc->vf >= 0) {
        if (vc->pf < 0 || (unsigned)vc->pf >= w->n_pfs) {
            return fail(err, WORLD_STEP_ARGS, PCIVIRT_EINVAL, "VM '%s': no PF %d", vsp_vm_name(v->vm), vc->pf);
        }
        rc = vsp_stack_assign(w->stack, w->pfs[vc->pf]->stack_id, (uint16_t)vc->vf, v->svm, &v->slot);
        if (rc != 0) {
            return fail(err, WORLD_STEP_ASSIGN, rc, "the stack refused to assign VF %d of %s to '%s' (%s)", vc->vf,
                        w->pfs[vc->pf]->instance, vsp_vm_name(v->vm), pcivirt_strerror(rc));
        }
    }
    return vm_guest(v, vc, mem, err);
}

int
world_vm_add(struct world *w, const struct world_vm_config *vc, struct world_vm **out, struct world_error *err)
{
    struct world_vm *v;

    error_init(err);
    if (out != NULL) {
        *out = NULL;
    }
    if (!grow((void ***)&w->vms, w->n_vms, &w->cap_vms) || (v = pv_calloc(1, sizeof(*v))) == NULL) {
        return fail(err, WORLD_STEP_MEMORY, PCIVIRT_ENOMEM, "out of memory (VM)");
    }
    w->vms[w->n_vms++] = v;
    v->w = w;
    v->on_irq = vc->on_irq;
    v->irq_ctx = vc->irq_ctx;
    if (err != NULL) {
        err->vm = (int)w->n_vms - 1;
    }
    if (out != NULL) {
        *out = v; /* also when half-built: it is the world's, world_destroy() frees it */
    }
    return vm_parts(w, v, vc, err);
}

/* The guest's children are exactly the stack's exposures, each assigned one with its driver bound. */
static bool
guest_matches(struct world_vm *v)
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
world_vm_settle(struct world_vm *vm)
{
    for (int i = 0; vm->bus != NULL && i < WORLD_SETTLE_ROUNDS; i++) {
        gvpci_bus_poll(vm->bus, i == 0 ? 0 : WORLD_POLL_NS);
        if (guest_matches(vm)) {
            return true;
        }
    }
    return false;
}

int
world_vm_start(struct world_vm *vm, struct world_error *err)
{
    struct pcivirt_error e;

    error_init(err);
    pcivirt_error_clear(&e);
    if (vm->bus == NULL || gvpci_bus_start(vm->bus, &e) != 0) {
        return fail(err, WORLD_STEP_GUEST_START, e.code, "VM '%s': vPCI bus start: %s", vsp_vm_name(vm->vm), e.message);
    }
    if (!world_vm_settle(vm)) {
        return fail(err, WORLD_STEP_GUEST_SETTLE, 0, "VM '%s': its VF drivers did not come up", vsp_vm_name(vm->vm));
    }
    return 0;
}

void
world_vm_stop(struct world_vm *vm)
{
    if (vm != NULL && vm->bus != NULL) {
        gvpci_bus_stop(vm->bus);
        gvpci_bus_destroy(vm->bus);
        vm->bus = NULL;
    }
}

void
world_vm_destroy(struct world_vm *vm)
{
    struct world *w;

    if (vm == NULL) {
        return;
    }
    w = vm->w;
    world_vm_stop(vm);
    vsp_stack_vm_destroy(vm->svm);
    for (unsigned i = 0; i < w->n_vms; i++) {
        if (w->vms[i] == vm) {
            memmove(&w->vms[i], &w->vms[i + 1], (w->n_vms - i - 1) * sizeof(w->vms[0]));
            w->n_vms--;
            break;
        }
    }
    pv_free(vm);
}

/* ---- the whole machine ---------------------------------------------------------------------------------- */

static int
build(struct world *w, const struct world_config *cfg, struct world_error *err)
{
    struct world_vm *v;

    if (world_pf_add(w, &cfg->pf, err) < 0) {
        return -1;
    }
    if (cfg->no_stack) {
        return cfg->n_vms == 0 ? 0 : fail(err, WORLD_STEP_ARGS, PCIVIRT_EINVAL, "VMs need a stack");
    }
    if (world_stack_start(w, err) != 0) {
        return -1;
    }
    for (unsigned i = 0; i < cfg->n_vms; i++) {
        if (world_vm_add(w, &cfg->vms[i], &v, err) != 0) {
            return -1;
        }
    }
    for (unsigned i = 0; i < w->n_vms; i++) {
        if (world_vm_start(w->vms[i], err) != 0) {
            if (err != NULL) {
                err->vm = (int)i;
            }
            return -1;
        }
    }
    return 0;
}

int
world_create(const struct world_config *cfg, struct world **out, struct world_error *err)
{
    if (world_open(cfg, out, err) != 0) {
        return -1;
    }
    if (build(*out, cfg, err) != 0) {
        world_destroy(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

void
world_stack_down(struct world *w)
{
    for (unsigned i = 0; i < w->n_vms; i++) {
        gvpci_bus_destroy(w->vms[i]->bus);
        pv_free(w->vms[i]);
    }
    w->n_vms = 0;
    for (unsigned i = 0; i < w->n_pfs; i++) {
        if (w->pfs[i]->dev != NULL) {
            pv_sriov_set_ports(w->pfs[i]->dev, NULL, NULL);
        }
        w->pfs[i]->stack_id = -1;
    }
    vsp_stack_destroy(w->stack); /* destroys the VMs too */
    w->stack = NULL;
}

int
world_stack_up(struct world *w, const struct vsp_stack_policy *policy, struct world_error *err)
{
    error_init(err);
    if (w->stack != NULL) {
        return fail(err, WORLD_STEP_ARGS, PCIVIRT_ESTATE, "the world has a stack already");
    }
    w->stack_cfg.policy = *policy;
    return stack_create(w, err) != 0 ? -1 : world_stack_start(w, err);
}

int
world_pf_move_resources(struct world *w, unsigned pf, bool move)
{
    struct world_pf *p = w->pfs[pf];
    struct pcivirt_bus_resources res;

    if (move && pv_sriov_assign_resources(p->dev, w->plat, NULL) != 0) {
        return -1;
    }
    pv_sriov_query_resources(p->dev, &res);
    return NT_SUCCESS(wdf_node_set_resources(p->node, res.bar, res.bar, 1)) ? 0 : -1;
}

void
world_destroy(struct world *w)
{
    if (w == NULL) {
        return;
    }
    world_stack_down(w);
    wdf_host_destroy(w->host);
    if (w->host != NULL) {
        wdf_thread_bind(NULL);
    }
    for (unsigned i = 0; i < w->n_pfs; i++) {
        pv_sriov_destroy(w->pfs[i]->dev);
        pv_free(w->pfs[i]);
    }
    pv_platform_destroy(w->plat);
    pv_free(w->pfs);
    pv_free(w->vms);
    pv_free(w);
}

void
world_parts(const struct world *w, unsigned pf, struct world_parts *out)
{
    out->host = w->host;
    out->plat = w->plat;
    out->s = w->stack;
    out->dev = w->pfs[pf]->dev;
    out->prof = &w->pfs[pf]->prof;
    out->node = w->pfs[pf]->node;
    out->device = w->pfs[pf]->device;
    out->pf = w->pfs[pf]->stack_id;
}

/* ---- accessors ------------------------------------------------------------------------------------------ */

struct wdf_host *
world_host(const struct world *w)
{
    return w->host;
}

struct pv_platform *
world_platform(const struct world *w)
{
    return w->plat;
}

struct vsp_stack *
world_stack(const struct world *w)
{
    return w->stack;
}

unsigned
world_pf_count(const struct world *w)
{
    return w->n_pfs;
}

struct pv_sriov_dev *
world_pf_dev(const struct world *w, unsigned pf)
{
    return w->pfs[pf]->dev;
}

const struct pv_profile *
world_pf_profile(const struct world *w, unsigned pf)
{
    return &w->pfs[pf]->prof;
}

const PCIVIRT_BUS_INTERFACE *
world_pf_bus(const struct world *w, unsigned pf)
{
    return &w->pfs[pf]->bus;
}

struct wdf_node *
world_pf_node(const struct world *w, unsigned pf)
{
    return w->pfs[pf]->node;
}

WDFDEVICE
world_pf_device(const struct world *w, unsigned pf)
{
    return w->pfs[pf]->device;
}

const char *
world_pf_instance(const struct world *w, unsigned pf)
{
    return w->pfs[pf]->instance;
}

int
world_pf_id(const struct world *w, unsigned pf)
{
    return w->pfs[pf]->stack_id;
}

unsigned
world_vm_count(const struct world *w)
{
    return w->n_vms;
}

struct world_vm *
world_vm_at(const struct world *w, unsigned i)
{
    return w->vms[i];
}

struct vsp_stack_vm *
world_vm_stack_vm(const struct world_vm *vm)
{
    return vm->svm;
}

struct vsp_vm *
world_vm_vm(const struct world_vm *vm)
{
    return vm->vm;
}

struct vsp_vpci_host *
world_vm_host(const struct world_vm *vm)
{
    return vm->host;
}

struct vmbus_channel *
world_vm_channel(const struct world_vm *vm)
{
    return vm->channel;
}

struct gvpci_bus *
world_vm_bus(const struct world_vm *vm)
{
    return vm->bus;
}

uint32_t
world_vm_slot(const struct world_vm *vm)
{
    return vm->slot;
}
