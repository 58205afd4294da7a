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
#include "world.h"

#define NVMS 2
#define REAL_MS 10000u

/* A guest: borrowed from the shared world (tools/world.h). */
struct gvm {
    struct world_vm *wv;
    struct vsp_stack_vm *vm;
    struct gvpci_bus *bus;
    uint32_t slot;
};

/* The machine the tests drive: the shared world and borrowed pointers into it. */
struct tw {
    struct world *world;
    struct world_parts p;
    struct gvm vm[NVMS];
    unsigned reports;
    bool moved;
};

static void
on_report(void *ctx, const struct wdf_verifier_report *r)
{
    struct tw *w = ctx;

    (void)r;
    __atomic_add_fetch(&w->reports, 1, __ATOMIC_SEQ_CST);
}

/*
 * The machine: the default device with 8 VFs behind the reference PF driver,
 * the stack on the virtual clock, VM A holding VF 2 and VM B VF 5 (@rude_b:
 * B's guest never answers PCI_QUERY_STOP), each guest's VF driver bound.
 */
static struct tw *
tw_new(enum vsp_stop_policy policy, uint16_t sriov_size, bool rude_b)
{
    struct tw *w = pv_calloc(1, sizeof(*w));
    const struct world_vm_config vms[NVMS] = {{.name = "vm-a", .pf = 0, .vf = 2},
                                              {.name = "vm-b", .pf = 0, .vf = 5, .ignore_query_stop = rude_b}};
    struct world_config cfg = {.clock = WDF_CLOCK_VIRTUAL,
                               .on_report = on_report,
                               .policy = {.on_no_answer = policy, .sriov_size = sriov_size},
                               .pf = {.initial_vfs = 8},
                               .n_vms = NVMS,
                               .vms = vms};
    struct world_error err;

    assert_non_null(w);
    cfg.report_ctx = w;
    if (world_create(&cfg, &w->world, &err) != 0) {
        fail_msg("world: %s: %s", world_step_name(err.step), err.message);
    }
    world_parts(w->world, 0, &w->p);
    assert_int_equal(w->p.pf, vsp_stack_pf_find(w->p.s, "0000:03:00.0"));
    assert_true(w->p.pf >= 0);
    for (unsigned i = 0; i < NVMS; i++) {
        struct gvm *g = &w->vm[i];

        g->wv = world_vm_at(w->world, i);
        g->vm = world_vm_stack_vm(g->wv);
        g->bus = world_vm_bus(g->wv);
        g->slot = world_vm_slot(g->wv);
        assert_non_null(swvf_of(gvpci_bus_dev(g->bus, g->slot)));
    }
    return w;
}

static void
tw_free(struct tw *w)
{
    for (unsigned i = 0; i < NVMS; i++) {
        w->vm[i].bus = NULL;
    }
    world_destroy(w->world);
    assert_int_equal(w->reports, 0);
    pv_free(w);
}

static int
setup_veto(void **state)
{
    *state = tw_new(VSP_STOP_VETO, 0, false);
    return 0;
}

static int
setup_v1(void **state)
{
    *state = tw_new(VSP_STOP_VETO, sizeof(SRIOV_DEVICE_INTERFACE_STANDARD), false);
    return 0;
}

static int
setup_rude_veto(void **state)
{
    *state = tw_new(VSP_STOP_VETO, 0, true);
    return 0;
}

static int
setup_rude_surprise(void **state)
{
    *state = tw_new(VSP_STOP_SURPRISE_REMOVE, 0, true);
    return 0;
}

static int
teardown(void **state)
{
    tw_free(*state);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------------ */

static void
poll_guests(struct tw *w)
{
    for (unsigned i = 0; i < NVMS; i++) {
        if (w->vm[i].bus != NULL) {
            gvpci_bus_poll(w->vm[i].bus, (int64_t)VSP_NS_PER_MS);
        }
    }
}

/* Poll the guests until @cond(w) or the real-time bound. */
static bool
poll_until(struct tw *w, bool (*cond)(struct tw *w))
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
    struct tw *w = ctx;

    if (world_pf_move_resources(w->world, 0, true) != 0) {
        return -1;
    }
    w->moved = true;
    return 0;
}

/* Run the rebalance to its end while the guests keep polling. */
static NTSTATUS
finish_rebalance(struct tw *w)
{
    NTSTATUS st = STATUS_PENDING;

    for (unsigned i = 0; i < REAL_MS; i++) {
        if (vsp_stack_rebalance_end(w->p.s, 0, &st) == 0) {
            return st;
        }
        poll_guests(w);
    }
    fail_msg("the rebalance did not finish");
    return st;
}

static struct swvf *
drv(struct tw *w, unsigned i)
{
    return swvf_of(gvpci_bus_dev(w->vm[i].bus, w->vm[i].slot));
}

static uint64_t
total(struct tw *w, enum vsp_event_type t)
{
    return vsp_event_log_total(vsp_stack_log(w->p.s), t);
}

/* The VF's BAR0 base on the host, from the device itself. */
static uint64_t
vf_bar0_host(struct tw *w, uint16_t vf)
{
    struct pcivirt_bus_resources res;
    ULONGLONG start = 0;

    (void)vf;
    pv_sriov_query_resources(w->p.dev, &res);
    RtlCmDecodeMemIoResource(&res.bar[0], &start);
    return start;
}

static void
dma_works(struct tw *w, unsigned i)
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
    struct tw *w = *state;
    struct vsp_stack_pf_info info;
    struct pf_admin_status ps;
    struct dev_vf_geometry geo;

    assert_int_equal(vsp_stack_pfs(w->p.s, &info, 1), 1);
    pv_sriov_geometry(w->p.dev, &geo);
    assert_int_equal(info.num_vfs, geo.num_vfs); /* NumVFs found by probing equals the device's */
    assert_true(info.v2);
    assert_true(info.mitigable);
    assert_true(info.attached);
    assert_non_null(strstr(info.link, "0000:03:00.0"));
    assert_int_equal(pf_admin_status(w->p.device, &ps), STATUS_SUCCESS);
    assert_true(ps.attached);
    assert_int_equal(total(w, VSP_EV_PF_ARRIVAL), 1);
    assert_int_equal(total(w, VSP_EV_ATTACH), 1);
    /* The guests work through the v2 table: their drivers read the device's own VF index. */
    assert_int_equal(drv(w, 0)->vf_index, 2);
    assert_int_equal(drv(w, 1)->vf_index, 5);
    dma_works(w, 0);
    /* Shutdown: DETACH, every table dereferenced (the PF counts them). */
    vsp_stack_shutdown(w->p.s);
    assert_int_equal(pf_admin_status(w->p.device, &ps), STATUS_SUCCESS);
    assert_false(ps.attached);
    assert_int_equal(ps.interface_refs, 0);
    assert_int_equal(total(w, VSP_EV_DETACH), 1);
    assert_int_equal(total(w, VSP_EV_PF_ERROR), 0);
}

static void
test_discovery_v1(void **state)
{
    struct tw *w = *state;
    struct vsp_stack_pf_info info;

    assert_int_equal(vsp_stack_pfs(w->p.s, &info, 1), 1);
    assert_false(info.v2); /* a requester asking 120 bytes gets the version-1 table */
    assert_int_equal(drv(w, 0)->vf_index, 2);
    for (unsigned i = 0; i < 6; i++) {
        assert_int_equal(drv(w, 0)->bar_size[i], w->p.prof->vf_bar[i].size);
    }
}

/* ---- rebalance -------------------------------------------------------------------------------- */

static bool
restarted_both(struct tw *w)
{
    return drv(w, 0) != NULL && drv(w, 1) != NULL && drv(w, 0)->restarts == 1 && drv(w, 1)->restarts == 1;
}

static void
test_rebalance_acknowledged(void **state)
{
    struct tw *w = *state;
    uint64_t before = vf_bar0_host(w, 2);
    struct pf_admin_status ps;
    uint32_t vendor = 0;

    assert_int_equal(vsp_stack_rebalance_begin(w->p.s, w->p.node, move_resources, w), 0);
    assert_int_equal(finish_rebalance(w), STATUS_SUCCESS);
    assert_true(w->moved);
    assert_true(vf_bar0_host(w, 2) != before); /* the device's BARs really moved */
    assert_true(poll_until(w, restarted_both));
    for (unsigned i = 0; i < NVMS; i++) {
        assert_int_equal(drv(w, i)->query_stops, 1);
        assert_true(drv(w, i)->id_after_restart); /* BAR0 reached the device at its new place */
        dma_works(w, i);
        assert_int_equal(gvpci_cfg_read(gvpci_bus_dev(w->vm[i].bus, w->vm[i].slot), 0, 2, &vendor), 0);
        assert_int_equal(vendor, w->p.prof->vendor_id);
    }
    assert_int_equal(total(w, VSP_EV_VM_ANSWER), 2);
    assert_int_equal(total(w, VSP_EV_VETO), 0);
    assert_int_equal(total(w, VSP_EV_TIMEOUT), 0);
    /* Exactly once: two events raised and delivered by the PF, two received and logged. */
    assert_int_equal(pf_admin_status(w->p.device, &ps), STATUS_SUCCESS);
    assert_int_equal(ps.events_raised, 2);
    assert_int_equal(ps.events_delivered, 2);
    assert_int_equal(total(w, VSP_EV_QUERY_STOP), 1);
    assert_int_equal(total(w, VSP_EV_RESTART), 1);
    assert_int_equal(total(w, VSP_EV_EVENT_COMPLETE), 1);
    assert_true(ps.attached);
    assert_true(ps.safe_to_attach);
}

static bool
polite_answered(struct tw *w)
{
    return drv(w, 0)->query_stops == 1 && total(w, VSP_EV_VM_ANSWER) == 1;
}

/* Start a rebalance, let the polite guest answer, then let the deadline pass. */
static void
rebalance_past_deadline(struct tw *w)
{
    assert_int_equal(vsp_stack_rebalance_begin(w->p.s, w->p.node, move_resources, w), 0);
    assert_true(poll_until(w, polite_answered));
    /* The PF's PnP thread and the stack's service thread both sleep on the host clock now. */
    assert_true(wdf_host_wait_sleepers(w->p.host, 2, REAL_MS));
    assert_int_equal(total(w, VSP_EV_TIMEOUT), 0);
    assert_int_equal(wdf_host_clock_advance(w->p.host, VSP_QUERY_STOP_TIMEOUT_DEFAULT_NS), STATUS_SUCCESS);
}

static bool
polite_cancelled(struct tw *w)
{
    return drv(w, 0)->stop_cancels == 1;
}

static void
test_no_answer_veto(void **state)
{
    struct tw *w = *state;
    int rude = vsp_vm_id(vsp_stack_vm_vm(w->vm[1].vm));
    struct vsp_event ev;
    struct vsp_vf_info info;

    rebalance_past_deadline(w);
    assert_int_equal(finish_rebalance(w), STATUS_IO_TIMEOUT); /* the query-stop failed: vetoed */
    assert_false(w->moved);                                   /* the PnP manager cancelled the stop */
    assert_true(vsp_event_log_find(vsp_stack_log(w->p.s), VSP_EV_TIMEOUT, w->p.pf, 5, rude, &ev));
    assert_int_equal(ev.status, STATUS_IO_TIMEOUT);
    assert_true(vsp_event_log_find(vsp_stack_log(w->p.s), VSP_EV_VETO, w->p.pf, 5, rude, &ev));
    assert_int_equal(ev.status, STATUS_IO_TIMEOUT);
    assert_int_equal(total(w, VSP_EV_SURPRISE_REMOVAL), 0);
    /* The rude VM keeps its VF; the polite one hears that the stop was cancelled. */
    assert_int_equal(vsp_vmm_vf_info(vsp_stack_vmm(w->p.s), w->p.pf, 5, &info), 0);
    assert_int_equal(info.state, VSP_VF_ASSIGNED);
    assert_true(poll_until(w, polite_cancelled));
    dma_works(w, 0);
}

static void
test_guest_refusal_vetoes(void **state)
{
    struct tw *w = *state;
    int vm_b = vsp_vm_id(vsp_stack_vm_vm(w->vm[1].vm));
    struct vsp_event ev;

    drv(w, 1)->stop_answer = STATUS_DEVICE_BUSY; /* VF 5's driver refuses to let go */
    assert_int_equal(vsp_stack_rebalance_begin(w->p.s, w->p.node, move_resources, w), 0);
    assert_int_equal(finish_rebalance(w), STATUS_DEVICE_BUSY); /* the PF failed query-stop with it */
    assert_false(w->moved);
    assert_true(vsp_event_log_find(vsp_stack_log(w->p.s), VSP_EV_VM_ANSWER, w->p.pf, 5, vm_b, &ev));
    assert_int_equal(ev.status, STATUS_DEVICE_BUSY);
    assert_true(vsp_event_log_find(vsp_stack_log(w->p.s), VSP_EV_VETO, w->p.pf, 5, vm_b, &ev));
    assert_int_equal(ev.status, STATUS_DEVICE_BUSY);
    assert_int_equal(total(w, VSP_EV_TIMEOUT), 0); /* no deadline was needed */
    assert_true(poll_until(w, polite_cancelled));
    dma_works(w, 1);
}

static bool
rude_lost_vf(struct tw *w)
{
    return gvpci_bus_dev(w->vm[1].bus, w->vm[1].slot) == NULL && drv(w, 0)->restarts == 1;
}

static void
test_no_answer_surprise_remove(void **state)
{
    struct tw *w = *state;
    int rude = vsp_vm_id(vsp_stack_vm_vm(w->vm[1].vm));
    struct vsp_event ev;
    struct vsp_vf_info info;

    rebalance_past_deadline(w);
    assert_int_equal(finish_rebalance(w), STATUS_SUCCESS); /* the stop proceeded */
    assert_true(w->moved);
    assert_true(vsp_event_log_find(vsp_stack_log(w->p.s), VSP_EV_TIMEOUT, w->p.pf, 5, rude, &ev));
    assert_true(vsp_event_log_find(vsp_stack_log(w->p.s), VSP_EV_SURPRISE_REMOVAL, w->p.pf, 5, rude, &ev));
    assert_int_equal(total(w, VSP_EV_VETO), 0);
    assert_int_equal(vsp_vmm_vf_info(vsp_stack_vmm(w->p.s), w->p.pf, 5, &info), 0);
    assert_int_not_equal(info.vm, rude);
    assert_true(poll_until(w, rude_lost_vf));
    assert_true(drv(w, 0)->id_after_restart);
    dma_works(w, 0);
}

static void
test_detach_mid_event(void **state)
{
    struct tw *w = *state;
    struct pf_admin_status ps;

    assert_int_equal(vsp_stack_rebalance_begin(w->p.s, w->p.node, move_resources, w), 0);
    assert_true(poll_until(w, polite_answered));
    /* The rude guest holds the round open; shutting down DETACHes and the stop proceeds. */
    vsp_stack_shutdown(w->p.s);
    assert_int_equal(finish_rebalance(w), STATUS_SUCCESS);
    assert_true(w->moved);
    assert_int_equal(total(w, VSP_EV_DETACH), 1);
    assert_int_equal(total(w, VSP_EV_VETO), 0);
    assert_int_equal(total(w, VSP_EV_EVENT_COMPLETE), 0);
    assert_int_equal(pf_admin_status(w->p.device, &ps), STATUS_SUCCESS);
    assert_false(ps.attached);
    assert_int_equal(ps.events_raised, 1); /* no Restart for a VSP that left */
}

/* ---- invalidation and mitigation --------------------------------------------------------------- */

static bool
mac_changed(struct tw *w)
{
    return drv(w, 0)->mac_reads >= 2 && drv(w, 0)->mac[1] == 0xAB;
}

static void
test_mac_change_invalidates(void **state)
{
    struct tw *w = *state;
    const uint8_t mac[6] = {0x02, 0xAB, 0xCD, 0xEF, 0x01, 0x23};
    unsigned other = drv(w, 1)->mac_reads;

    assert_int_equal(pf_admin_set_vf_mac(w->p.device, 2, mac), STATUS_SUCCESS);
    assert_true(poll_until(w, mac_changed));
    assert_memory_equal(drv(w, 0)->mac, mac, 6);
    assert_int_equal(drv(w, 0)->last_mask, 1u << PF_BLOCK_ID_VF_INFO);
    assert_int_equal(drv(w, 1)->mac_reads, other); /* VF 5's guest was not told */
    assert_true(total(w, VSP_EV_INVALIDATE) >= 1);
}

static uint32_t
priv_queues(struct tw *w, unsigned i, uint32_t write)
{
    struct gvpci_dev *dev = gvpci_bus_dev(w->vm[i].bus, w->vm[i].slot);
    uint32_t v = 0;

    assert_int_equal(gvpci_mmio_write32(dev, 0, SWVF_REG_PRIV_QUEUES, write), 0);
    assert_int_equal(gvpci_mmio_read32(dev, 0, SWVF_REG_PRIV_QUEUES, &v), 0);
    return v;
}

static bool
intercept_rebuilt(struct tw *w)
{
    return total(w, VSP_EV_INTERCEPT_UPDATE) >= 3;
}

static void
test_mitigated_range_update(void **state)
{
    struct tw *w = *state;
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
    assert_int_equal(pf_admin_set_mitigated_ranges(w->p.device, 2, &whole, 1), STATUS_SUCCESS);
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
pf_gone(struct tw *w)
{
    return total(w, VSP_EV_PF_REMOVAL) == 1 && gvpci_bus_dev(w->vm[0].bus, w->vm[0].slot) == NULL &&
           gvpci_bus_dev(w->vm[1].bus, w->vm[1].slot) == NULL;
}

static void
test_pf_surprise_removal(void **state)
{
    struct tw *w = *state;
    struct vsp_stack_pf_info info;
    struct vsp_vf_info vi;

    assert_int_equal(wdf_pnp_surprise_remove(w->p.node), STATUS_SUCCESS);
    assert_true(poll_until(w, pf_gone));
    assert_int_equal(vsp_stack_pfs(w->p.s, &info, 1), 0);
    assert_int_equal(vsp_vmm_vf_info(vsp_stack_vmm(w->p.s), w->p.pf, 2, &vi), PCIVIRT_ENOENT);
    assert_int_equal(vsp_stack_assign(w->p.s, w->p.pf, 2, w->vm[0].vm, NULL), PCIVIRT_ENOENT);
    assert_int_equal(wdf_pnp_remove(w->p.node), STATUS_SUCCESS);
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
