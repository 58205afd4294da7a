/*
 * tests/guest/test_stack_pf.c - the life of one PF in a running stack: a removal
 * that the PnP manager cancels, a removal that completes, and per-PF detach and
 * re-attach while the other PF and the VMs keep running.
 *
 * Two PFs (A at 0000:03:00.0, B at 0000:04:00.0), each the REAL reference PF
 * driver (src/pf) on its own software device, discovered by one stack; guest
 * VM 0 holds VF 2 of A, guest VM 1 holds VF 5 of B.  Oracles outside the stack:
 * the PF driver's self-report (pf_admin_status: attached, events raised and
 * delivered, interface references), its block store (pf_admin_get_vf_block), the
 * device's registers, the PnP manager's result and the guest drivers' own
 * counters.  The contract points checked: 4.3 (one NOTIFICATION held while
 * attached; exactly-once delivery), 4.5/4.6 (ATTACH/DETACH), 7.2 (a rebalance
 * after the cancelled removal asks the VMs), 7.3 (the update re-held), 7.4
 * (an invalidation raised while the removal was pending still reaches the
 * guest), 7.6 (removal).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dev/regs.h"
#include "dev/sriov_dev.h"
#include "guest/swvf.h"
#include "pf/pf.h"
#include "util/alloc.h"
#include "vsp/stack.h"

#define NPFS 2
#define NVMS 2
#define MEM (64u << 20)
#define LOW_BASE 0xF0000000ull
#define LOW_SIZE 0x08000000ull
#define HIGH_BASE 0x100000000ull
#define HIGH_SIZE 0x40000000ull
#define REAL_MS 10000u

struct world;

struct gpf {
    struct pv_sriov_dev *dev;
    struct pv_profile prof;
    PCIVIRT_BUS_INTERFACE bus;
    struct wdf_node *node;
    WDFDEVICE device;
    int id;
};

struct gvm {
    struct world *w;
    struct vsp_stack_vm *vm;
    struct gvpci_bus *bus;
    struct gvpci_driver drv;
    unsigned pf;
    uint16_t vf;
    uint32_t slot;
};

struct world {
    struct wdf_host *host;
    struct pv_platform *plat;
    struct wdf_driver_module *drv;
    struct gpf pf[NPFS];
    struct vsp_stack *s;
    struct gvm vm[NVMS];
    unsigned reports;
    unsigned moving; /* the PF a rebalance moves */
    bool moved;
};

static const char *const instance[NPFS] = {"0000:03:00.0", "0000:04:00.0"};

static void
on_report(void *ctx, const struct wdf_verifier_report *r)
{
    struct world *w = ctx;

    (void)r;
    __atomic_add_fetch(&w->reports, 1, __ATOMIC_SEQ_CST);
}

/* ---- the guests' platform ------------------------------------------------------------------ */

static int
p_mmio_read(void *ctx, uint64_t gpa, void *data, uint32_t len)
{
    return vsp_vpci_host_mmio_read(vsp_stack_vm_host(((struct gvm *)ctx)->vm), gpa, data, len);
}

static int
p_mmio_write(void *ctx, uint64_t gpa, const void *data, uint32_t len)
{
    return vsp_vpci_host_mmio_write(vsp_stack_vm_host(((struct gvm *)ctx)->vm), gpa, data, len);
}

static int
p_mem_read(void *ctx, uint64_t gpa, void *data, size_t len)
{
    return vsp_gmem_read(vsp_vm_memory(vsp_stack_vm_vm(((struct gvm *)ctx)->vm)), gpa, data, len);
}

static int
p_mem_write(void *ctx, uint64_t gpa, const void *data, size_t len)
{
    return vsp_gmem_write(vsp_vm_memory(vsp_stack_vm_vm(((struct gvm *)ctx)->vm)), gpa, data, len);
}

static void
irq_sink(void *ctx, uint32_t vector, uint32_t dest)
{
    struct gvm *g = ctx;

    (void)dest;
    if (g->bus != NULL) {
        gvpci_bus_deliver_irq(g->bus, vector);
    }
}

/* ---- the world --------------------------------------------------------------------------------- */

static void
make_pf(struct world *w, unsigned i)
{
    struct gpf *f = &w->pf[i];
    struct pcivirt_bus_resources res;
    struct wdf_pdo_interface iface = {&GUID_PCIVIRT_BUS_INTERFACE, (const INTERFACE *)&f->bus};
    struct wdf_pdo_config cfg;

    pv_profile_default(&f->prof);
    f->prof.initial_vfs = 8;
    f->prof.pf_rid = (uint16_t)((3u + i) << 8); /* bus 3 or 4: distinct routing IDs for the IOMMU */
    assert_int_equal(pv_sriov_create(&f->prof, &f->dev, NULL), 0);
    assert_int_equal(pv_sriov_assign_resources(f->dev, w->plat, NULL), 0);
    pv_sriov_bus_interface(f->dev, &f->bus);
    pv_sriov_query_resources(f->dev, &res);
    memset(&cfg, 0, sizeof(cfg));
    cfg.hardware_id = "PCI\\VEN_8086&DEV_10FB";
    cfg.instance_id = instance[i];
    cfg.raw = res.bar;
    cfg.translated = res.bar;
    cfg.resource_count = 1;
    cfg.interfaces = &iface;
    cfg.interface_count = 1;
    assert_int_equal(wdf_pdo_create(w->host, &cfg, &f->node), STATUS_SUCCESS);
    assert_int_equal(wdf_node_add_driver(f->node, w->drv, WDF_ROLE_FUNCTION), STATUS_SUCCESS);
    f->device = wdf_node_device(f->node, WDF_ROLE_FUNCTION);
    assert_int_equal(wdf_pnp_start(f->node), STATUS_SUCCESS);
}

/* Assign @g's VF and bring its guest bus up (VF driver bound). */
static void
plug(struct world *w, struct gvm *g)
{
    struct gvpci_config gc = {.platform = {.ctx = g,
                                           .mmio_read = p_mmio_read,
                                           .mmio_write = p_mmio_write,
                                           .mem_read = p_mem_read,
                                           .mem_write = p_mem_write,
                                           .mmio_low_base = LOW_BASE,
                                           .mmio_low_size = LOW_SIZE,
                                           .mmio_high_base = HIGH_BASE,
                                           .mmio_high_size = HIGH_SIZE}};
    struct pcivirt_error err;

    assert_int_equal(vsp_stack_assign(w->s, w->pf[g->pf].id, g->vf, g->vm, &g->slot), 0);
    gc.channel = vsp_stack_vm_channel(g->vm);
    assert_int_equal(gvpci_bus_create(&gc, &g->bus), 0);
    swvf_driver_init(&g->drv, w->pf[g->pf].prof.vendor_id, w->pf[g->pf].prof.vf_device_id);
    assert_int_equal(gvpci_bus_register_driver(g->bus, &g->drv), 0);
    assert_int_equal(gvpci_bus_start(g->bus, &err), 0);
    assert_non_null(swvf_of(gvpci_bus_dev(g->bus, g->slot)));
}

static void
start_vm(struct world *w, unsigned i, unsigned pf, uint16_t vf)
{
    struct gvm *g = &w->vm[i];
    struct vsp_stack_vm_config vc = {
        .name = i == 0 ? "vm-a" : "vm-b", .memory_bytes = MEM, .irq_sink = irq_sink, .irq_ctx = g};

    g->w = w;
    g->pf = pf;
    g->vf = vf;
    assert_int_equal(vsp_stack_vm_create(w->s, &vc, &g->vm), 0);
    plug(w, g);
}

static uint64_t total(struct world *w, enum vsp_event_type t);

static int
setup(void **state)
{
    struct world *w = pv_calloc(1, sizeof(*w));
    struct wdf_host_config hc = {.clock = WDF_CLOCK_VIRTUAL, .on_report = on_report, .report_ctx = w};
    struct vsp_stack_config sc;
    struct pv_dma_port dma;
    struct pv_irq_port irq;

    assert_non_null(w);
    assert_int_equal(wdf_host_create(&hc, &w->host), STATUS_SUCCESS);
    wdf_thread_bind(w->host);
    assert_int_equal(pv_platform_create(NULL, &w->plat), 0);
    assert_int_equal(wdf_driver_load(w->host, "pcivirt_pf", PfDriverEntry, &w->drv), STATUS_SUCCESS);
    sc = (struct vsp_stack_config){.host = w->host, .platform = w->plat, .policy = {.on_no_answer = VSP_STOP_VETO}};
    assert_int_equal(vsp_stack_create(&sc, &w->s), 0);
    vsp_stack_ports(w->s, &dma, &irq);
    for (unsigned i = 0; i < NPFS; i++) {
        make_pf(w, i);
        pv_sriov_set_ports(w->pf[i].dev, &dma, &irq);
    }
    assert_int_equal(vsp_stack_start(w->s), 0);
    assert_true(vsp_stack_wait_pfs(w->s, NPFS, REAL_MS));
    for (unsigned i = 0; i < REAL_MS && total(w, VSP_EV_ATTACH) < NPFS; i++) {
        struct timespec ts = {0, 1000000};

        nanosleep(&ts, NULL); /* the broker logs its ATTACH just after it is marked attached */
    }
    assert_int_equal(total(w, VSP_EV_ATTACH), NPFS);
    for (unsigned i = 0; i < NPFS; i++) {
        w->pf[i].id = vsp_stack_pf_find(w->s, instance[i]);
        assert_true(w->pf[i].id >= 0);
    }
    start_vm(w, 0, 0, 2);
    start_vm(w, 1, 1, 5);
    *state = w;
    return 0;
}

static int
teardown(void **state)
{
    struct world *w = *state;

    for (unsigned i = 0; i < NVMS; i++) {
        gvpci_bus_destroy(w->vm[i].bus);
    }
    for (unsigned i = 0; i < NPFS; i++) {
        pv_sriov_set_ports(w->pf[i].dev, NULL, NULL);
    }
    vsp_stack_destroy(w->s);
    wdf_host_destroy(w->host);
    wdf_thread_bind(NULL);
    for (unsigned i = 0; i < NPFS; i++) {
        pv_sriov_destroy(w->pf[i].dev);
    }
    pv_platform_destroy(w->plat);
    assert_int_equal(w->reports, 0);
    pv_free(w);
    return 0;
}

/* ---- helpers ----------------------------------------------------------------------------------- */

static void
poll_guests(struct world *w)
{
    for (unsigned i = 0; i < NVMS; i++) {
        if (w->vm[i].bus != NULL) {
            gvpci_bus_poll(w->vm[i].bus, (int64_t)VSP_NS_PER_MS);
        }
    }
}

static bool
poll_until(struct world *w, bool (*cond)(struct world *w))
{
    for (unsigned i = 0; i < REAL_MS; i++) {
        if (cond(w)) {
            return true;
        }
        poll_guests(w);
    }
    return cond(w);
}

static struct swvf *
drv(struct world *w, unsigned i)
{
    return swvf_of(gvpci_bus_dev(w->vm[i].bus, w->vm[i].slot));
}

static uint64_t
total(struct world *w, enum vsp_event_type t)
{
    return vsp_event_log_total(vsp_stack_log(w->s), t);
}

static struct pf_admin_status
pf_status(struct world *w, unsigned i)
{
    struct pf_admin_status ps;

    assert_int_equal(pf_admin_status(w->pf[i].device, &ps), STATUS_SUCCESS);
    return ps;
}

static struct vsp_stack_pf_info
stack_info(struct world *w, unsigned i)
{
    struct vsp_stack_pf_info info[VSP_STACK_MAX_PFS];
    size_t n = vsp_stack_pfs(w->s, info, VSP_STACK_MAX_PFS);

    for (size_t k = 0; k < n; k++) {
        if (info[k].id == w->pf[i].id) {
            return info[k];
        }
    }
    fail_msg("PF %u is not listed", i);
    return info[0];
}

static int
move_resources(void *ctx)
{
    struct world *w = ctx;
    struct gpf *f = &w->pf[w->moving];
    struct pcivirt_bus_resources res;

    if (pv_sriov_assign_resources(f->dev, w->plat, NULL) != 0) {
        return -1;
    }
    pv_sriov_query_resources(f->dev, &res);
    w->moved = true;
    return NT_SUCCESS(wdf_node_set_resources(f->node, res.bar, res.bar, 1)) ? 0 : -1;
}

/* A whole rebalance of PF @pf while the guests keep polling; its PnP result. */
static NTSTATUS
rebalance(struct world *w, unsigned pf)
{
    NTSTATUS st = STATUS_PENDING;

    w->moving = pf;
    w->moved = false;
    assert_int_equal(vsp_stack_rebalance_begin(w->s, w->pf[pf].node, move_resources, w), 0);
    for (unsigned i = 0; i < REAL_MS; i++) {
        if (vsp_stack_rebalance_end(w->s, 0, &st) == 0) {
            return st;
        }
        poll_guests(w);
    }
    fail_msg("the rebalance did not finish");
    return st;
}

static bool
vm0_restarted(struct world *w)
{
    return drv(w, 0) != NULL && drv(w, 0)->restarts == 1;
}

static bool
vm1_restarted(struct world *w)
{
    return drv(w, 1) != NULL && drv(w, 1)->restarts == 1;
}

static void
dma_works(struct world *w, unsigned i)
{
    struct gvpci_dev *dev = gvpci_bus_dev(w->vm[i].bus, w->vm[i].slot);
    uint8_t src[64], dst[64];

    for (unsigned k = 0; k < sizeof(src); k++) {
        src[k] = (uint8_t)(k * 5 + i + 1);
    }
    assert_int_equal(gvpci_mem_write(dev, 0x40000, src, sizeof(src)), 0);
    assert_int_equal(swvf_dma(dev, 0x40000, 0x90000, sizeof(src), false), 0);
    assert_int_equal(vsp_gmem_read(vsp_vm_memory(vsp_stack_vm_vm(w->vm[i].vm)), 0x90000, dst, sizeof(dst)), 0);
    assert_memory_equal(dst, src, sizeof(src));
}

/* ---- a removal the PnP manager cancels ------------------------------------------------------------ */

static bool
mac_seen(struct world *w)
{
    return drv(w, 0)->mac[1] == 0xAB;
}

/*
 * Query-remove then cancel-remove of PF A (contract.md 7.6 [I], docs/CONTRACT-DECISIONS.md):
 * while the removal is pending the stack is DETACHed and holds nothing; after the cancel it
 * is attached again with NOTIFICATION held, and a rebalance asks the VM and completes.
 */
static void
test_cancelled_remove_reattaches(void **state)
{
    struct world *w = *state;
    const uint8_t mac[6] = {0x02, 0xAB, 0xCD, 0xEF, 0x01, 0x23};
    struct vsp_vf_info vi;
    struct pf_admin_status ps;

    assert_true(pf_status(w, 0).attached);
    assert_int_equal(wdf_pnp_query_remove(w->pf[0].node), STATUS_SUCCESS);
    /* The PF itself says the VSP let go before its QUERY_REMOVE (else DETACH would be refused). */
    assert_false(pf_status(w, 0).attached);
    assert_true(stack_info(w, 0).remove_pending);
    assert_false(stack_info(w, 0).attached);
    assert_int_equal(total(w, VSP_EV_DETACH), 1);
    assert_true(pf_status(w, 1).attached); /* PF B is not concerned */
    /* The VF stays in its VM (the removal may be cancelled); nothing new is assigned meanwhile. */
    assert_int_equal(vsp_vmm_vf_info(vsp_stack_vmm(w->s), w->pf[0].id, 2, &vi), 0);
    assert_int_equal(vi.state, VSP_VF_ASSIGNED);
    assert_int_equal(vsp_stack_assign(w->s, w->pf[0].id, 3, w->vm[0].vm, NULL), PCIVIRT_ESTATE);
    /* A MAC change while no INVALIDATE_BLOCK is held: the PF keeps the mask (4.7). */
    assert_int_equal(pf_admin_set_vf_mac(w->pf[0].device, 2, mac), STATUS_SUCCESS);

    assert_int_equal(wdf_pnp_cancel_remove(w->pf[0].node), STATUS_SUCCESS);
    /* Attached again before the PnP manager's next operation (the upcall waited for ATTACH). */
    assert_true(pf_status(w, 0).attached);
    assert_true(stack_info(w, 0).attached);
    assert_false(stack_info(w, 0).remove_pending);
    assert_int_equal(total(w, VSP_EV_ATTACH), NPFS + 1);
    assert_true(poll_until(w, mac_seen)); /* INVALIDATE_BLOCK held again: the kept mask arrives */
    assert_memory_equal(drv(w, 0)->mac, mac, 6);

    /* NOTIFICATION is held again: the rebalance's QueryStop reaches the stack and VM 0 answers. */
    assert_int_equal(rebalance(w, 0), STATUS_SUCCESS);
    assert_true(w->moved);
    assert_true(poll_until(w, vm0_restarted));
    assert_int_equal(drv(w, 0)->query_stops, 1);
    assert_true(drv(w, 0)->id_after_restart);
    assert_int_equal(drv(w, 1)->query_stops, 0); /* VM 1 holds no VF of A */
    assert_int_equal(total(w, VSP_EV_VM_ANSWER), 1);
    assert_int_equal(total(w, VSP_EV_VETO), 0);
    assert_int_equal(total(w, VSP_EV_TIMEOUT), 0);
    ps = pf_status(w, 0);
    assert_int_equal(ps.events_raised, 2);
    assert_int_equal(ps.events_delivered, 2);
    assert_int_equal(stack_info(w, 0).events, 2);
    assert_true(ps.attached);
    dma_works(w, 0);
    assert_int_equal(total(w, VSP_EV_PF_ERROR), 0);
}

static bool
intercept_rebuilt(struct world *w)
{
    return vsp_event_log_total(vsp_stack_log(w->s), VSP_EV_INTERCEPT_UPDATE) >= 4;
}

/* After the cancel, the VF's MITIGATED_RANGE_UPDATE is held again (7.3 step 4). */
static void
test_cancelled_remove_rearms_range_updates(void **state)
{
    struct world *w = *state;
    struct pf_mitig_range whole = {.bar = 0, .base_page = 0, .page_count = 2, .intercept_writes = true};
    struct vsp_vpci_stats a, b;

    assert_int_equal(total(w, VSP_EV_INTERCEPT_UPDATE), 2); /* one per assigned VF */
    assert_int_equal(wdf_pnp_query_remove(w->pf[0].node), STATUS_SUCCESS);
    assert_int_equal(wdf_pnp_cancel_remove(w->pf[0].node), STATUS_SUCCESS);
    assert_int_equal(total(w, VSP_EV_INTERCEPT_UPDATE), 3); /* VF 2's map re-read on resume */
    assert_int_equal(pf_admin_set_mitigated_ranges(w->pf[0].device, 2, &whole, 1), STATUS_SUCCESS);
    assert_true(poll_until(w, intercept_rebuilt));
    vsp_vpci_host_stats(vsp_stack_vm_host(w->vm[0].vm), &a);
    assert_int_equal(gvpci_mmio_write32(gvpci_bus_dev(w->vm[0].bus, w->vm[0].slot), 0, SWVF_REG_SCRATCH, 7), 0);
    vsp_vpci_host_stats(vsp_stack_vm_host(w->vm[0].vm), &b);
    assert_int_equal(b.mmio_trapped - a.mmio_trapped, 1); /* page 0 now traps: the new map is in force */
}

static bool
vm0_lost_vf(struct world *w)
{
    return gvpci_bus_dev(w->vm[0].bus, w->vm[0].slot) == NULL && total(w, VSP_EV_PF_REMOVAL) == 1;
}

/* Query-remove then remove: the PF is released, VM 0 loses its VF, PF B and VM 1 carry on. */
static void
test_completed_remove_releases(void **state)
{
    struct world *w = *state;
    struct vsp_vf_info vi;

    assert_int_equal(wdf_pnp_remove_device(w->pf[0].node), STATUS_SUCCESS);
    assert_true(poll_until(w, vm0_lost_vf));
    assert_int_equal(vsp_stack_pfs(w->s, NULL, 0), 1);
    assert_int_equal(vsp_vmm_vf_info(vsp_stack_vmm(w->s), w->pf[0].id, 2, &vi), PCIVIRT_ENOENT);
    assert_int_equal(total(w, VSP_EV_DETACH), 1); /* at query-remove; none refused afterwards */
    assert_int_equal(rebalance(w, 1), STATUS_SUCCESS);
    assert_true(poll_until(w, vm1_restarted));
    dma_works(w, 1);
}

/* ---- per-PF detach and attach --------------------------------------------------------------------- */

static bool
vm0_empty(struct world *w)
{
    return gvpci_bus_dev(w->vm[0].bus, w->vm[0].slot) == NULL;
}

/* What a guest leaves in its VF: a mailbox block (read back through the PF's block store). */
static uint32_t
mailbox_len(struct world *w)
{
    uint8_t buf[128];
    uint32_t len = 99;

    assert_int_equal(pf_admin_get_vf_block(w->pf[0].device, 2, PF_BLOCK_ID_MAILBOX, buf, sizeof(buf), &len),
                     STATUS_SUCCESS);
    return len;
}

static void
detach_and_check(struct world *w, enum vsp_detach_mode mode)
{
    struct gvpci_dev *dev = gvpci_bus_dev(w->vm[0].bus, w->vm[0].slot);
    uint8_t mail[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct pf_admin_status ps;
    int rc;

    assert_int_equal(gvpci_write_block(dev, mail, sizeof(mail), PF_BLOCK_ID_MAILBOX), 0);
    assert_int_equal(mailbox_len(w), sizeof(mail));
    rc = vsp_stack_pf_detach(w->s, w->pf[0].id, mode, 0);
    for (unsigned i = 0; rc == PCIVIRT_ETIMEDOUT && i < REAL_MS; i++) {
        assert_int_equal(vsp_stack_assign(w->s, w->pf[0].id, 3, w->vm[0].vm, NULL), PCIVIRT_ESTATE);
        poll_guests(w);
        rc = vsp_stack_pf_detach(w->s, w->pf[0].id, mode, 0);
    }
    assert_int_equal(rc, 0);
    assert_true(poll_until(w, vm0_empty));
    ps = pf_status(w, 0);
    assert_false(ps.attached);
    assert_int_equal(ps.interface_refs, 0); /* every table dereferenced */
    assert_int_equal(mailbox_len(w), 0);    /* the VF was reset before the PF was let go */
    assert_true(stack_info(w, 0).detached);
    assert_false(stack_info(w, 0).attached);
    assert_int_equal(vsp_stack_pf_detach(w->s, w->pf[0].id, mode, 0), 0); /* idempotent */
    assert_int_equal(vsp_stack_assign(w->s, w->pf[0].id, 2, w->vm[0].vm, NULL), PCIVIRT_ESTATE);
    /* PF B and VM 1 are untouched. */
    assert_true(pf_status(w, 1).attached);
    dma_works(w, 1);
    assert_int_equal(rebalance(w, 1), STATUS_SUCCESS);
    assert_true(poll_until(w, vm1_restarted));
    assert_int_equal(drv(w, 1)->query_stops, 1);
}

static void
reattach_and_check(struct world *w)
{
    struct gvpci_dev *dev;
    uint32_t slot = 99;

    assert_int_equal(vsp_stack_pf_attach(w->s, w->pf[0].id), 0);
    assert_true(vsp_stack_wait_pfs(w->s, NPFS, REAL_MS));
    assert_true(pf_status(w, 0).attached);
    assert_int_equal(vsp_stack_pf_find(w->s, instance[0]), w->pf[0].id); /* same id */
    assert_int_equal(vsp_stack_assign(w->s, w->pf[0].id, 2, w->vm[0].vm, &slot), 0);
    w->vm[0].slot = slot;
    for (unsigned i = 0; i < REAL_MS && drv(w, 0) == NULL; i++) {
        poll_guests(w);
    }
    dev = gvpci_bus_dev(w->vm[0].bus, slot);
    assert_non_null(swvf_of(dev));
    assert_int_equal(swvf_of(dev)->vf_index, 2);
    dma_works(w, 0);
    assert_int_equal(rebalance(w, 0), STATUS_SUCCESS);
    assert_true(poll_until(w, vm0_restarted));
    assert_int_equal(drv(w, 0)->query_stops, 1);
}

static void
test_detach_surprise_then_attach(void **state)
{
    struct world *w = *state;

    detach_and_check(w, VSP_DETACH_SURPRISE_REMOVE);
    assert_true(total(w, VSP_EV_SURPRISE_REMOVAL) >= 1);
    assert_int_equal(total(w, VSP_EV_EJECT), 0);
    reattach_and_check(w);
    assert_int_equal(total(w, VSP_EV_PF_ERROR), 0);
}

static void
test_detach_eject_then_attach(void **state)
{
    struct world *w = *state;

    detach_and_check(w, VSP_DETACH_EJECT);
    assert_int_equal(total(w, VSP_EV_EJECT), 1);
    assert_int_equal(total(w, VSP_EV_EJECT_ACK), 1);
    assert_int_equal(total(w, VSP_EV_FORCED_REMOVAL), 0);
    reattach_and_check(w);
    assert_int_equal(total(w, VSP_EV_PF_ERROR), 0);
}

/* A guest that never acknowledges the eject loses the VF when its window ends (8.6). */
static void
test_detach_eject_window_expires(void **state)
{
    struct world *w = *state;

    gvpci_bus_set_misbehave(w->vm[0].bus, true, false);
    assert_int_equal(vsp_stack_pf_detach(w->s, w->pf[0].id, VSP_DETACH_EJECT, 0), PCIVIRT_ETIMEDOUT);
    for (unsigned i = 0; i < 50; i++) {
        poll_guests(w);
    }
    assert_int_equal(vsp_stack_pf_detach(w->s, w->pf[0].id, VSP_DETACH_EJECT, 0), PCIVIRT_ETIMEDOUT);
    assert_int_equal(wdf_host_clock_advance(w->host, VSP_EJECT_TIMEOUT_DEFAULT_NS), STATUS_SUCCESS);
    vsp_stack_tick(w->s);
    assert_int_equal(vsp_stack_pf_detach(w->s, w->pf[0].id, VSP_DETACH_EJECT, REAL_MS), 0);
    assert_int_equal(total(w, VSP_EV_FORCED_REMOVAL), 1);
    assert_false(pf_status(w, 0).attached);
}

static void
test_detach_bad_input(void **state)
{
    struct world *w = *state;

    assert_int_equal(vsp_stack_pf_detach(w->s, 999, VSP_DETACH_EJECT, 0), PCIVIRT_ENOENT);
    assert_int_equal(vsp_stack_pf_detach(w->s, w->pf[0].id, (enum vsp_detach_mode)7, 0), PCIVIRT_EINVAL);
    assert_int_equal(vsp_stack_pf_attach(w->s, 999), PCIVIRT_ENOENT);
    assert_int_equal(vsp_stack_pf_attach(w->s, w->pf[0].id), 0); /* bound already: nothing to do */
    assert_int_equal(total(w, VSP_EV_ATTACH), NPFS);
    /* While a removal is pending the PF cannot be detached or attached by request. */
    assert_int_equal(wdf_pnp_query_remove(w->pf[0].node), STATUS_SUCCESS);
    assert_int_equal(vsp_stack_pf_detach(w->s, w->pf[0].id, VSP_DETACH_EJECT, 0), PCIVIRT_ESTATE);
    assert_int_equal(vsp_stack_pf_attach(w->s, w->pf[0].id), PCIVIRT_ESTATE);
    assert_int_equal(wdf_pnp_cancel_remove(w->pf[0].node), STATUS_SUCCESS);
    assert_true(pf_status(w, 0).attached);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cancelled_remove_reattaches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancelled_remove_rearms_range_updates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_completed_remove_releases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detach_surprise_then_attach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detach_eject_then_attach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detach_eject_window_expires, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detach_bad_input, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
