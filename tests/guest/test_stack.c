/*
 * tests/guest/test_stack.c - the whole machine through the stack facade, against
 * the REAL reference PF driver (src/pf) on the software device, through the
 * runtime (src/wdf): discovery, the PnP broker, rebalance with guests that answer
 * or do not, invalidation, mitigated-range updates, PF surprise removal, DETACH in
 * the middle of an event, exactly-once event delivery.
 *
 * Oracles outside the stack: the software device's own registers and resources
 * (src/dev), the PF driver's self-report (pf_admin_status: events raised and
 * delivered, attachment, interface references), the PnP manager's result, the
 * guest driver's own conclusions, the VMs' memory.  The host runs on the virtual
 * clock, so the 30 s query-stop deadline costs no wall time.
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
#include "util/le.h"
#include "vsp/stack.h"

#define NVMS 2
#define MEM (64u << 20)
#define LOW_BASE 0xF0000000ull
#define LOW_SIZE 0x08000000ull
#define HIGH_BASE 0x100000000ull
#define HIGH_SIZE 0x40000000ull
#define WAIT_NS (2 * (int64_t)VSP_NS_PER_S)
#define REAL_MS 10000u

struct world;

struct gvm {
    struct world *w;
    struct vsp_stack_vm *vm;
    struct gvpci_bus *bus;
    struct gvpci_driver drv;
    uint16_t vf;
    uint32_t slot;
};

struct world {
    struct wdf_host *host;
    struct pv_platform *plat;
    struct pv_sriov_dev *dev;
    struct pv_profile prof;
    PCIVIRT_BUS_INTERFACE bus;
    struct wdf_node *node;
    struct wdf_driver_module *drv;
    WDFDEVICE device;
    struct vsp_stack *s;
    int pf;
    struct gvm vm[NVMS];
    unsigned reports;
    bool moved;
};

static void
on_report(void *ctx, const struct wdf_verifier_report *r)
{
    struct world *w = ctx;

    (void)r;
    __atomic_add_fetch(&w->reports, 1, __ATOMIC_SEQ_CST);
}

/* ---- the guest's platform ---------------------------------------------------------------- */

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

/* ---- the world -------------------------------------------------------------------------------- */

static void
make_device(struct world *w)
{
    struct pcivirt_bus_resources res;
    struct wdf_pdo_interface iface = {&GUID_PCIVIRT_BUS_INTERFACE, (const INTERFACE *)&w->bus};
    struct wdf_pdo_config cfg;

    pv_profile_default(&w->prof);
    w->prof.initial_vfs = 8;
    assert_int_equal(pv_platform_create(NULL, &w->plat), 0);
    assert_int_equal(pv_sriov_create(&w->prof, &w->dev, NULL), 0);
    assert_int_equal(pv_sriov_assign_resources(w->dev, w->plat, NULL), 0);
    pv_sriov_bus_interface(w->dev, &w->bus);
    pv_sriov_query_resources(w->dev, &res);
    memset(&cfg, 0, sizeof(cfg));
    cfg.hardware_id = "PCI\\VEN_8086&DEV_10FB";
    cfg.instance_id = "0000:03:00.0";
    cfg.raw = res.bar;
    cfg.translated = res.bar;
    cfg.resource_count = 1;
    cfg.interfaces = &iface;
    cfg.interface_count = 1;
    assert_int_equal(wdf_pdo_create(w->host, &cfg, &w->node), STATUS_SUCCESS);
}

static void
start_guest(struct world *w, unsigned i, uint16_t vf, bool rude)
{
    struct gvm *g = &w->vm[i];
    struct vsp_stack_vm_config vc = {
        .name = i == 0 ? "vm-a" : "vm-b", .memory_bytes = MEM, .irq_sink = irq_sink, .irq_ctx = g};
    struct gvpci_config gc = {.platform = {.ctx = g,
                                           .mmio_read = p_mmio_read,
                                           .mmio_write = p_mmio_write,
                                           .mem_read = p_mem_read,
                                           .mem_write = p_mem_write,
                                           .mmio_low_base = LOW_BASE,
                                           .mmio_low_size = LOW_SIZE,
                                           .mmio_high_base = HIGH_BASE,
                                           .mmio_high_size = HIGH_SIZE},
                              .ignore_query_stop = rude};
    struct pcivirt_error err;

    g->w = w;
    g->vf = vf;
    assert_int_equal(vsp_stack_vm_create(w->s, &vc, &g->vm), 0);
    assert_int_equal(vsp_stack_assign(w->s, w->pf, vf, g->vm, &g->slot), 0);
    gc.channel = vsp_stack_vm_channel(g->vm);
    assert_int_equal(gvpci_bus_create(&gc, &g->bus), 0);
    swvf_driver_init(&g->drv, w->prof.vendor_id, w->prof.vf_device_id);
    assert_int_equal(gvpci_bus_register_driver(g->bus, &g->drv), 0);
    assert_int_equal(gvpci_bus_start(g->bus, &err), 0);
    assert_non_null(swvf_of(gvpci_bus_dev(g->bus, g->slot)));
}

static struct world *
world_new(enum vsp_stop_policy policy, uint16_t sriov_size, bool rude_b)
{
    struct world *w = pv_calloc(1, sizeof(*w));
    struct wdf_host_config hc = {.clock = WDF_CLOCK_VIRTUAL, .on_report = on_report, .report_ctx = w};
    struct vsp_stack_config sc;
    struct pv_dma_port dma;
    struct pv_irq_port irq;

    assert_non_null(w);
    assert_int_equal(wdf_host_create(&hc, &w->host), STATUS_SUCCESS);
    wdf_thread_bind(w->host);
    make_device(w);
    sc = (struct vsp_stack_config){
        .host = w->host, .platform = w->plat, .policy = {.on_no_answer = policy, .sriov_size = sriov_size}};
    assert_int_equal(vsp_stack_create(&sc, &w->s), 0);
    vsp_stack_ports(w->s, &dma, &irq);
    pv_sriov_set_ports(w->dev, &dma, &irq);
    assert_int_equal(wdf_driver_load(w->host, "pcivirt_pf", PfDriverEntry, &w->drv), STATUS_SUCCESS);
    assert_int_equal(wdf_node_add_driver(w->node, w->drv, WDF_ROLE_FUNCTION), STATUS_SUCCESS);
    w->device = wdf_node_device(w->node, WDF_ROLE_FUNCTION);
    assert_int_equal(wdf_pnp_start(w->node), STATUS_SUCCESS);
    assert_int_equal(vsp_stack_start(w->s), 0);
    assert_true(vsp_stack_wait_pfs(w->s, 1, REAL_MS));
    w->pf = vsp_stack_pf_find(w->s, "0000:03:00.0");
    assert_true(w->pf >= 0);
    start_guest(w, 0, 2, false);
    start_guest(w, 1, 5, rude_b);
    return w;
}

static void
world_free(struct world *w)
{
    for (unsigned i = 0; i < NVMS; i++) {
        gvpci_bus_destroy(w->vm[i].bus);
        w->vm[i].bus = NULL;
    }
    pv_sriov_set_ports(w->dev, NULL, NULL);
    vsp_stack_destroy(w->s);
    wdf_host_destroy(w->host);
    wdf_thread_bind(NULL);
    pv_sriov_destroy(w->dev);
    pv_platform_destroy(w->plat);
    assert_int_equal(w->reports, 0);
    pv_free(w);
}

static int
setup_veto(void **state)
{
    *state = world_new(VSP_STOP_VETO, 0, false);
    return 0;
}

static int
setup_v1(void **state)
{
    *state = world_new(VSP_STOP_VETO, sizeof(SRIOV_DEVICE_INTERFACE_STANDARD), false);
    return 0;
}

static int
setup_rude_veto(void **state)
{
    *state = world_new(VSP_STOP_VETO, 0, true);
    return 0;
}

static int
setup_rude_surprise(void **state)
{
    *state = world_new(VSP_STOP_SURPRISE_REMOVE, 0, true);
    return 0;
}

static int
teardown(void **state)
{
    world_free(*state);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------------ */

static void
poll_guests(struct world *w)
{
    for (unsigned i = 0; i < NVMS; i++) {
        if (w->vm[i].bus != NULL) {
            gvpci_bus_poll(w->vm[i].bus, (int64_t)VSP_NS_PER_MS);
        }
    }
}

/* Poll the guests until @cond(w) or the real-time bound. */
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

static int
move_resources(void *ctx)
{
    struct world *w = ctx;
    struct pcivirt_bus_resources res;

    if (pv_sriov_assign_resources(w->dev, w->plat, NULL) != 0) {
        return -1;
    }
    pv_sriov_query_resources(w->dev, &res);
    w->moved = true;
    return NT_SUCCESS(wdf_node_set_resources(w->node, res.bar, res.bar, 1)) ? 0 : -1;
}

/* Run the rebalance to its end while the guests keep polling. */
static NTSTATUS
finish_rebalance(struct world *w)
{
    NTSTATUS st = STATUS_PENDING;

    for (unsigned i = 0; i < REAL_MS; i++) {
        if (vsp_stack_rebalance_end(w->s, 0, &st) == 0) {
            return st;
        }
        poll_guests(w);
    }
    fail_msg("the rebalance did not finish");
    return st;
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

/* The VF's BAR0 base on the host, from the device itself. */
static uint64_t
vf_bar0_host(struct world *w, uint16_t vf)
{
    struct pcivirt_bus_resources res;
    ULONGLONG start = 0;

    (void)vf;
    pv_sriov_query_resources(w->dev, &res);
    RtlCmDecodeMemIoResource(&res.bar[0], &start);
    return start;
}

static void
dma_works(struct world *w, unsigned i)
{
    struct gvpci_dev *dev = gvpci_bus_dev(w->vm[i].bus, w->vm[i].slot);
    uint8_t src[128], dst[128];
    unsigned irqs = drv(w, i)->irqs;

    for (unsigned k = 0; k < sizeof(src); k++) {
        src[k] = (uint8_t)(k * 7 + i);
    }
    assert_int_equal(gvpci_mem_write(dev, 0x40000, src, sizeof(src)), 0);
    assert_int_equal(swvf_dma(dev, 0x40000, 0x90000, sizeof(src), true), 0);
    assert_int_equal(vsp_gmem_read(vsp_vm_memory(vsp_stack_vm_vm(w->vm[i].vm)), 0x90000, dst, sizeof(dst)), 0);
    assert_memory_equal(dst, src, sizeof(src));
    assert_int_equal(drv(w, i)->irqs, irqs + 1);
}

/* ---- discovery --------------------------------------------------------------------------------- */

static void
test_discovery_v2(void **state)
{
    struct world *w = *state;
    struct vsp_stack_pf_info info;
    struct pf_admin_status ps;
    struct dev_vf_geometry geo;

    assert_int_equal(vsp_stack_pfs(w->s, &info, 1), 1);
    pv_sriov_geometry(w->dev, &geo);
    assert_int_equal(info.num_vfs, geo.num_vfs); /* NumVFs found by probing equals the device's */
    assert_true(info.v2);
    assert_true(info.mitigable);
    assert_true(info.attached);
    assert_non_null(strstr(info.link, "0000:03:00.0"));
    assert_int_equal(pf_admin_status(w->device, &ps), STATUS_SUCCESS);
    assert_true(ps.attached);
    assert_int_equal(total(w, VSP_EV_PF_ARRIVAL), 1);
    assert_int_equal(total(w, VSP_EV_ATTACH), 1);
    /* The guests work through the v2 table: their drivers read the device's own VF index. */
    assert_int_equal(drv(w, 0)->vf_index, 2);
    assert_int_equal(drv(w, 1)->vf_index, 5);
    dma_works(w, 0);
    /* Shutdown: DETACH, every table dereferenced (the PF counts them). */
    vsp_stack_shutdown(w->s);
    assert_int_equal(pf_admin_status(w->device, &ps), STATUS_SUCCESS);
    assert_false(ps.attached);
    assert_int_equal(ps.interface_refs, 0);
    assert_int_equal(total(w, VSP_EV_DETACH), 1);
    assert_int_equal(total(w, VSP_EV_PF_ERROR), 0);
}

static void
test_discovery_v1(void **state)
{
    struct world *w = *state;
    struct vsp_stack_pf_info info;

    assert_int_equal(vsp_stack_pfs(w->s, &info, 1), 1);
    assert_false(info.v2); /* a requester asking 120 bytes gets the version-1 table */
    assert_int_equal(drv(w, 0)->vf_index, 2);
    for (unsigned i = 0; i < 6; i++) {
        assert_int_equal(drv(w, 0)->bar_size[i], w->prof.vf_bar[i].size);
    }
}

/* ---- rebalance -------------------------------------------------------------------------------- */

static bool
restarted_both(struct world *w)
{
    return drv(w, 0) != NULL && drv(w, 1) != NULL && drv(w, 0)->restarts == 1 && drv(w, 1)->restarts == 1;
}

static void
test_rebalance_acknowledged(void **state)
{
    struct world *w = *state;
    uint64_t before = vf_bar0_host(w, 2);
    struct pf_admin_status ps;
    uint32_t vendor = 0;

    assert_int_equal(vsp_stack_rebalance_begin(w->s, w->node, move_resources, w), 0);
    assert_int_equal(finish_rebalance(w), STATUS_SUCCESS);
    assert_true(w->moved);
    assert_true(vf_bar0_host(w, 2) != before); /* the device's BARs really moved */
    assert_true(poll_until(w, restarted_both));
    for (unsigned i = 0; i < NVMS; i++) {
        assert_int_equal(drv(w, i)->query_stops, 1);
        assert_true(drv(w, i)->id_after_restart); /* BAR0 reached the device at its new place */
        dma_works(w, i);
        assert_int_equal(gvpci_cfg_read(gvpci_bus_dev(w->vm[i].bus, w->vm[i].slot), 0, 2, &vendor), 0);
        assert_int_equal(vendor, w->prof.vendor_id);
    }
    assert_int_equal(total(w, VSP_EV_VM_ANSWER), 2);
    assert_int_equal(total(w, VSP_EV_VETO), 0);
    assert_int_equal(total(w, VSP_EV_TIMEOUT), 0);
    /* Exactly once: two events raised and delivered by the PF, two received and logged. */
    assert_int_equal(pf_admin_status(w->device, &ps), STATUS_SUCCESS);
    assert_int_equal(ps.events_raised, 2);
    assert_int_equal(ps.events_delivered, 2);
    assert_int_equal(total(w, VSP_EV_QUERY_STOP), 1);
    assert_int_equal(total(w, VSP_EV_RESTART), 1);
    assert_int_equal(total(w, VSP_EV_EVENT_COMPLETE), 1);
    assert_true(ps.attached);
    assert_true(ps.safe_to_attach);
}

static bool
polite_answered(struct world *w)
{
    return drv(w, 0)->query_stops == 1 && total(w, VSP_EV_VM_ANSWER) == 1;
}

/* Start a rebalance, let the polite guest answer, then let the deadline pass. */
static void
rebalance_past_deadline(struct world *w)
{
    assert_int_equal(vsp_stack_rebalance_begin(w->s, w->node, move_resources, w), 0);
    assert_true(poll_until(w, polite_answered));
    /* The PF's PnP thread and the stack's service thread both sleep on the host clock now. */
    assert_true(wdf_host_wait_sleepers(w->host, 2, REAL_MS));
    assert_int_equal(total(w, VSP_EV_TIMEOUT), 0);
    assert_int_equal(wdf_host_clock_advance(w->host, VSP_QUERY_STOP_TIMEOUT_DEFAULT_NS), STATUS_SUCCESS);
}

static bool
polite_cancelled(struct world *w)
{
    return drv(w, 0)->stop_cancels == 1;
}

static void
test_no_answer_veto(void **state)
{
    struct world *w = *state;
    int rude = vsp_vm_id(vsp_stack_vm_vm(w->vm[1].vm));
    struct vsp_event ev;
    struct vsp_vf_info info;

    rebalance_past_deadline(w);
    assert_int_equal(finish_rebalance(w), STATUS_IO_TIMEOUT); /* the query-stop failed: vetoed */
    assert_false(w->moved);                                   /* the PnP manager cancelled the stop */
    assert_true(vsp_event_log_find(vsp_stack_log(w->s), VSP_EV_TIMEOUT, w->pf, 5, rude, &ev));
    assert_int_equal(ev.status, STATUS_IO_TIMEOUT);
    assert_true(vsp_event_log_find(vsp_stack_log(w->s), VSP_EV_VETO, w->pf, 5, rude, &ev));
    assert_int_equal(ev.status, STATUS_IO_TIMEOUT);
    assert_int_equal(total(w, VSP_EV_SURPRISE_REMOVAL), 0);
    /* The rude VM keeps its VF; the polite one hears that the stop was cancelled. */
    assert_int_equal(vsp_vmm_vf_info(vsp_stack_vmm(w->s), w->pf, 5, &info), 0);
    assert_int_equal(info.state, VSP_VF_ASSIGNED);
    assert_true(poll_until(w, polite_cancelled));
    dma_works(w, 0);
}

static void
test_guest_refusal_vetoes(void **state)
{
    struct world *w = *state;
    int vm_b = vsp_vm_id(vsp_stack_vm_vm(w->vm[1].vm));
    struct vsp_event ev;

    drv(w, 1)->stop_answer = STATUS_DEVICE_BUSY; /* VF 5's driver refuses to let go */
    assert_int_equal(vsp_stack_rebalance_begin(w->s, w->node, move_resources, w), 0);
    assert_int_equal(finish_rebalance(w), STATUS_DEVICE_BUSY); /* the PF failed query-stop with it */
    assert_false(w->moved);
    assert_true(vsp_event_log_find(vsp_stack_log(w->s), VSP_EV_VM_ANSWER, w->pf, 5, vm_b, &ev));
    assert_int_equal(ev.status, STATUS_DEVICE_BUSY);
    assert_true(vsp_event_log_find(vsp_stack_log(w->s), VSP_EV_VETO, w->pf, 5, vm_b, &ev));
    assert_int_equal(ev.status, STATUS_DEVICE_BUSY);
    assert_int_equal(total(w, VSP_EV_TIMEOUT), 0); /* no deadline was needed */
    assert_true(poll_until(w, polite_cancelled));
    dma_works(w, 1);
}

static bool
rude_lost_vf(struct world *w)
{
    return gvpci_bus_dev(w->vm[1].bus, w->vm[1].slot) == NULL && drv(w, 0)->restarts == 1;
}

static void
test_no_answer_surprise_remove(void **state)
{
    struct world *w = *state;
    int rude = vsp_vm_id(vsp_stack_vm_vm(w->vm[1].vm));
    struct vsp_event ev;
    struct vsp_vf_info info;

    rebalance_past_deadline(w);
    assert_int_equal(finish_rebalance(w), STATUS_SUCCESS); /* the stop proceeded */
    assert_true(w->moved);
    assert_true(vsp_event_log_find(vsp_stack_log(w->s), VSP_EV_TIMEOUT, w->pf, 5, rude, &ev));
    assert_true(vsp_event_log_find(vsp_stack_log(w->s), VSP_EV_SURPRISE_REMOVAL, w->pf, 5, rude, &ev));
    assert_int_equal(total(w, VSP_EV_VETO), 0);
    assert_int_equal(vsp_vmm_vf_info(vsp_stack_vmm(w->s), w->pf, 5, &info), 0);
    assert_int_not_equal(info.vm, rude);
    assert_true(poll_until(w, rude_lost_vf));
    assert_true(drv(w, 0)->id_after_restart);
    dma_works(w, 0);
}

static void
test_detach_mid_event(void **state)
{
    struct world *w = *state;
    struct pf_admin_status ps;

    assert_int_equal(vsp_stack_rebalance_begin(w->s, w->node, move_resources, w), 0);
    assert_true(poll_until(w, polite_answered));
    /* The rude guest holds the round open; shutting down DETACHes and the stop proceeds. */
    vsp_stack_shutdown(w->s);
    assert_int_equal(finish_rebalance(w), STATUS_SUCCESS);
    assert_true(w->moved);
    assert_int_equal(total(w, VSP_EV_DETACH), 1);
    assert_int_equal(total(w, VSP_EV_VETO), 0);
    assert_int_equal(total(w, VSP_EV_EVENT_COMPLETE), 0);
    assert_int_equal(pf_admin_status(w->device, &ps), STATUS_SUCCESS);
    assert_false(ps.attached);
    assert_int_equal(ps.events_raised, 1); /* no Restart for a VSP that left */
}

/* ---- invalidation and mitigation --------------------------------------------------------------- */

static bool
mac_changed(struct world *w)
{
    return drv(w, 0)->mac_reads >= 2 && drv(w, 0)->mac[1] == 0xAB;
}

static void
test_mac_change_invalidates(void **state)
{
    struct world *w = *state;
    const uint8_t mac[6] = {0x02, 0xAB, 0xCD, 0xEF, 0x01, 0x23};
    unsigned other = drv(w, 1)->mac_reads;

    assert_int_equal(pf_admin_set_vf_mac(w->device, 2, mac), STATUS_SUCCESS);
    assert_true(poll_until(w, mac_changed));
    assert_memory_equal(drv(w, 0)->mac, mac, 6);
    assert_int_equal(drv(w, 0)->last_mask, 1u << PF_BLOCK_ID_VF_INFO);
    assert_int_equal(drv(w, 1)->mac_reads, other); /* VF 5's guest was not told */
    assert_true(total(w, VSP_EV_INVALIDATE) >= 1);
}

static uint32_t
priv_queues(struct world *w, unsigned i, uint32_t write)
{
    struct gvpci_dev *dev = gvpci_bus_dev(w->vm[i].bus, w->vm[i].slot);
    uint32_t v = 0;

    assert_int_equal(gvpci_mmio_write32(dev, 0, SWVF_REG_PRIV_QUEUES, write), 0);
    assert_int_equal(gvpci_mmio_read32(dev, 0, SWVF_REG_PRIV_QUEUES, &v), 0);
    return v;
}

static bool
intercept_rebuilt(struct world *w)
{
    return total(w, VSP_EV_INTERCEPT_UPDATE) >= 3;
}

static void
test_mitigated_range_update(void **state)
{
    struct world *w = *state;
    struct vsp_vpci_host *h = vsp_stack_vm_host(w->vm[0].vm);
    struct vsp_vpci_stats a, b;
    struct pf_mitig_range whole = {.bar = 0, .base_page = 0, .page_count = 2, .intercept_writes = true};

    /* Default map (VF BAR0 page 1, the privileged registers): trapped, clamped by the PF. */
    vsp_vpci_host_stats(h, &a);
    assert_int_equal(priv_queues(w, 0, 100), SWPF_QUEUE_LIMIT_DEFAULT);
    vsp_vpci_host_stats(h, &b);
    assert_int_equal(b.mmio_trapped - a.mmio_trapped, 2);
    /* The PF now traps writes to pages 0-1: MITIGATED_RANGE_UPDATE completes, the map is rebuilt. */
    assert_int_equal(total(w, VSP_EV_INTERCEPT_UPDATE), 2); /* one per assigned VF */
    assert_int_equal(pf_admin_set_mitigated_ranges(w->device, 2, &whole, 1), STATUS_SUCCESS);
    assert_true(poll_until(w, intercept_rebuilt));
    vsp_vpci_host_stats(h, &a);
    assert_int_equal(priv_queues(w, 0, 4), 4); /* the write trapped, the read of page 1 now direct */
    vsp_vpci_host_stats(h, &b);
    assert_int_equal(b.mmio_trapped - a.mmio_trapped, 1);
    assert_int_equal(b.mmio_direct - a.mmio_direct, 1);
    /* A page-0 write (scratch register) now traps too and reaches the PF. */
    vsp_vpci_host_stats(h, &a);
    assert_int_equal(gvpci_mmio_write32(gvpci_bus_dev(w->vm[0].bus, w->vm[0].slot), 0, SWVF_REG_SCRATCH, 7), 0);
    vsp_vpci_host_stats(h, &b);
    assert_int_equal(b.mmio_trapped - a.mmio_trapped, 1);
}

/* ---- removal ---------------------------------------------------------------------------------- */

static bool
pf_gone(struct world *w)
{
    return total(w, VSP_EV_PF_REMOVAL) == 1 && gvpci_bus_dev(w->vm[0].bus, w->vm[0].slot) == NULL &&
           gvpci_bus_dev(w->vm[1].bus, w->vm[1].slot) == NULL;
}

static void
test_pf_surprise_removal(void **state)
{
    struct world *w = *state;
    struct vsp_stack_pf_info info;
    struct vsp_vf_info vi;

    assert_int_equal(wdf_pnp_surprise_remove(w->node), STATUS_SUCCESS);
    assert_true(poll_until(w, pf_gone));
    assert_int_equal(vsp_stack_pfs(w->s, &info, 1), 0);
    assert_int_equal(vsp_vmm_vf_info(vsp_stack_vmm(w->s), w->pf, 2, &vi), PCIVIRT_ENOENT);
    assert_int_equal(vsp_stack_assign(w->s, w->pf, 2, w->vm[0].vm, NULL), PCIVIRT_ENOENT);
    assert_int_equal(wdf_pnp_remove(w->node), STATUS_SUCCESS);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_discovery_v2, setup_veto, teardown),
        cmocka_unit_test_setup_teardown(test_discovery_v1, setup_v1, teardown),
        cmocka_unit_test_setup_teardown(test_rebalance_acknowledged, setup_veto, teardown),
        cmocka_unit_test_setup_teardown(test_no_answer_veto, setup_rude_veto, teardown),
        cmocka_unit_test_setup_teardown(test_no_answer_surprise_remove, setup_rude_surprise, teardown),
        cmocka_unit_test_setup_teardown(test_detach_mid_event, setup_rude_veto, teardown),
        cmocka_unit_test_setup_teardown(test_guest_refusal_vetoes, setup_veto, teardown),
        cmocka_unit_test_setup_teardown(test_mac_change_invalidates, setup_veto, teardown),
        cmocka_unit_test_setup_teardown(test_mitigated_range_update, setup_veto, teardown),
        cmocka_unit_test_setup_teardown(test_pf_surprise_removal, setup_veto, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
