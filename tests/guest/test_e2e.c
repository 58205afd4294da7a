/*
 * tests/guest/test_e2e.c - guest bus + sample VF driver against the whole host path:
 * VM <-> channel <-> vPCI host <-> test PF table <-> software device.
 *
 * The guest side is src/guest (the bus driver and swvf), wired to the VM only
 * through MMIO exits (vsp_vpci_host_mmio_*) and its RAM.  What the guest driver
 * concludes is checked against oracles outside the path it used: the device's
 * registers read directly (VF index, MAC), the profile (BAR sizes), the test PF's
 * state (blocks, resets), the VM's memory, the event log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../vsp/vpci_fixture.h"
#include "guest/swvf.h"

#define LOW_BASE FX_WINDOW
#define LOW_SIZE 0x08000000ull
#define HIGH_BASE 0x100000000ull
#define HIGH_SIZE 0x40000000ull

struct e2e {
    struct fx fx;
    struct gvpci_driver drv;
    struct gvpci_bus *bus;
    uint32_t slot_a, slot_b;
};

static int
p_mmio_read(void *ctx, uint64_t gpa, void *data, uint32_t len)
{
    struct fx *f = ctx;

    return vsp_vpci_host_mmio_read(f->host, gpa, data, len);
}

static int
p_mmio_write(void *ctx, uint64_t gpa, const void *data, uint32_t len)
{
    struct fx *f = ctx;

    return vsp_vpci_host_mmio_write(f->host, gpa, data, len);
}

static int
p_mem_read(void *ctx, uint64_t gpa, void *data, size_t len)
{
    struct fx *f = ctx;

    return vsp_gmem_read(vsp_vm_memory(f->vm), gpa, data, len);
}

static int
p_mem_write(void *ctx, uint64_t gpa, const void *data, size_t len)
{
    struct fx *f = ctx;

    return vsp_gmem_write(vsp_vm_memory(f->vm), gpa, data, len);
}

static void
irq_to_guest(void *ctx, uint32_t vector)
{
    gvpci_bus_deliver_irq(ctx, vector);
}

static struct gvpci_bus *
make_bus(struct e2e *e, bool ignore_eject)
{
    struct gvpci_config cfg = {.channel = e->fx.guest,
                               .platform = {.ctx = &e->fx,
                                            .mmio_read = p_mmio_read,
                                            .mmio_write = p_mmio_write,
                                            .mem_read = p_mem_read,
                                            .mem_write = p_mem_write,
                                            .mmio_low_base = LOW_BASE,
                                            .mmio_low_size = LOW_SIZE,
                                            .mmio_high_base = HIGH_BASE,
                                            .mmio_high_size = HIGH_SIZE},
                               .ignore_eject = ignore_eject};
    struct gvpci_bus *bus = NULL;

    assert_int_equal(gvpci_bus_create(&cfg, &bus), 0);
    swvf_driver_init(&e->drv, e->fx.pf.prof.vendor_id, e->fx.pf.prof.vf_device_id);
    assert_int_equal(gvpci_bus_register_driver(bus, &e->drv), 0);
    e->fx.irq_hook = irq_to_guest;
    e->fx.irq_hook_ctx = bus;
    return bus;
}

static int
setup_common(void **state, bool ignore_eject)
{
    struct e2e *e = pv_calloc(1, sizeof(*e));
    struct pcivirt_error err;

    assert_non_null(e);
    assert_int_equal(fx_init(&e->fx, false), 0);
    assert_int_equal(vsp_vmm_assign(e->fx.vmm, 0, 2, e->fx.vm, &e->slot_a), 0);
    assert_int_equal(vsp_vmm_assign(e->fx.vmm, 0, 5, e->fx.vm, &e->slot_b), 0);
    e->bus = make_bus(e, ignore_eject);
    assert_int_equal(gvpci_bus_start(e->bus, &err), 0);
    *state = e;
    return 0;
}

static int
setup(void **state)
{
    return setup_common(state, false);
}

static int
setup_rude(void **state)
{
    return setup_common(state, true);
}

static int
teardown(void **state)
{
    struct e2e *e = *state;

    gvpci_bus_destroy(e->bus);
    fx_fini(&e->fx);
    pv_free(e);
    return 0;
}

/* The MAC as the device holds it, read directly (not through the guest path). */
static void
device_mac(struct fx *f, uint16_t vf, uint8_t mac[6])
{
    uint8_t lo[4], hi[4];

    pv_sriov_mmio_read(f->pf.dev, tpf_rid(&f->pf, vf), 0, SWVF_REG_MAC_LO, lo, 4);
    pv_sriov_mmio_read(f->pf.dev, tpf_rid(&f->pf, vf), 0, SWVF_REG_MAC_HI, hi, 4);
    memcpy(mac, lo, 4);
    memcpy(mac + 4, hi, 2);
}

static void
test_bring_up_binds_driver(void **state)
{
    struct e2e *e = *state;
    struct swvf *a = swvf_of(gvpci_bus_dev(e->bus, e->slot_a));
    struct swvf *b = swvf_of(gvpci_bus_dev(e->bus, e->slot_b));
    uint8_t mac[6];

    assert_int_equal(gvpci_bus_version(e->bus), PCI_PROTOCOL_VERSION_1_4);
    assert_non_null(a);
    assert_non_null(b);
    /* The device itself says which VF answers behind each slot's BARs. */
    assert_int_equal(a->vf_index, 2);
    assert_int_equal(b->vf_index, 5);
    /* The driver's own sizing equals the profile's VF BAR sizes. */
    for (unsigned i = 0; i < 6; i++) {
        assert_int_equal(a->bar_size[i], e->fx.pf.prof.vf_bar[i].size);
    }
    /* MAC from block 0 equals the device's MAC register. */
    device_mac(&e->fx, 2, mac);
    assert_memory_equal(a->mac, mac, 6);
    device_mac(&e->fx, 5, mac);
    assert_memory_equal(b->mac, mac, 6);
    assert_int_equal(e->fx.irqs, 0);
}

static void
test_dma_and_interrupt(void **state)
{
    struct e2e *e = *state;
    struct gvpci_dev *dev = gvpci_bus_dev(e->bus, e->slot_a);
    struct swvf *a = swvf_of(dev);
    uint8_t src[256], dst[256], canary[16], zero[16] = {0};

    for (unsigned i = 0; i < sizeof(src); i++) {
        src[i] = (uint8_t)(i ^ 0x5A);
    }
    assert_int_equal(gvpci_mem_write(dev, 0x40000, src, sizeof(src)), 0);
    assert_int_equal(swvf_dma(dev, 0x40000, 0x80000, sizeof(src), true), 0);
    assert_int_equal(gvpci_mem_read(dev, 0x80000, dst, sizeof(dst)), 0);
    assert_memory_equal(dst, src, sizeof(src));
    assert_int_equal(a->irqs, 1);
    assert_int_equal(e->fx.irq_vec[0], a->vector);
    /* DMA outside the VM's memory faults in the IOMMU and writes nothing. */
    assert_int_equal(swvf_dma(dev, 0x40000, FX_MEM - 8, 16, false), PCIVIRT_EACCES);
    assert_int_equal(gvpci_mem_read(dev, FX_MEM - 16, canary, sizeof(canary)), 0);
    assert_memory_equal(canary, zero, sizeof(zero));
    assert_true(vsp_event_log_total(e->fx.log, VSP_EV_IOMMU_FAULT) >= 1);
}

static void
test_invalidation_rereads_mac(void **state)
{
    struct e2e *e = *state;
    struct swvf *a = swvf_of(gvpci_bus_dev(e->bus, e->slot_a));
    struct swvf *b = swvf_of(gvpci_bus_dev(e->bus, e->slot_b));
    const uint8_t mac[6] = {0x02, 0xAB, 0xCD, 0xEF, 0x01, 0x23};
    SRIOV_INVALIDATE_BLOCK ib = {.VfIndex = 2, .BlockMask = 1u << SWVF_BLOCK_MAC};
    uint8_t dev_mac[6];

    tpf_set_mac(&e->fx.pf, 2, mac);
    assert_int_equal(vsp_vpci_invalidate(e->fx.vpci, 0, &ib), 1);
    assert_true(gvpci_bus_poll(e->bus, FX_WAIT_NS) >= 1);
    assert_int_equal(a->last_mask, 1);
    assert_int_equal(a->mac_reads, 2);
    assert_memory_equal(a->mac, mac, 6);
    device_mac(&e->fx, 2, dev_mac);
    assert_memory_equal(a->mac, dev_mac, 6);
    assert_int_equal(b->mac_reads, 1); /* the other VF was not told */
}

static void
test_eject_handshake(void **state)
{
    struct e2e *e = *state;
    struct gvpci_stats gs;
    struct vsp_vf_info info;
    struct swvf *b = swvf_of(gvpci_bus_dev(e->bus, e->slot_b));

    assert_int_equal(vsp_vmm_eject(e->fx.vmm, 0, 2, "test"), 0);
    assert_true(gvpci_bus_poll(e->bus, FX_WAIT_NS) >= 1);
    assert_null(gvpci_bus_dev(e->bus, e->slot_a));
    /* The host handles EJECTION_COMPLETE on its thread; wait for the relations it sends. */
    for (int i = 0; i < 100 && gvpci_bus_poll(e->bus, 20 * (int64_t)VSP_NS_PER_MS) == 0; i++) {
    }
    assert_true(fx_wait_vf_state(&e->fx, 2, VSP_VF_FREE));
    assert_int_equal(vsp_vmm_vf_info(e->fx.vmm, 0, 2, &info), 0);
    assert_int_equal(e->fx.pf.resets, 1);
    assert_true(vsp_event_log_find(e->fx.log, VSP_EV_EJECT_ACK, 0, 2, vsp_vm_id(e->fx.vm), NULL));
    gvpci_bus_stats(e->bus, &gs);
    assert_int_equal(gs.removes, 1);
    assert_int_equal(gs.probes, 2); /* the kept child was not re-probed */
    assert_ptr_equal(swvf_of(gvpci_bus_dev(e->bus, e->slot_b)), b);
    /* The VF comes back with a new serial and is brought up again. */
    assert_int_equal(vsp_vmm_assign(e->fx.vmm, 0, 2, e->fx.vm, &e->slot_a), 0);
    assert_true(gvpci_bus_poll(e->bus, FX_WAIT_NS) >= 1);
    assert_non_null(swvf_of(gvpci_bus_dev(e->bus, e->slot_a)));
    assert_int_equal(swvf_of(gvpci_bus_dev(e->bus, e->slot_a))->vf_index, 2);
}

static void
test_ignored_eject_is_forced(void **state)
{
    struct e2e *e = *state;
    struct gvpci_stats gs;
    struct vsp_vf_info info;

    assert_int_equal(vsp_vmm_eject(e->fx.vmm, 0, 2, "test"), 0);
    assert_true(gvpci_bus_poll(e->bus, FX_WAIT_NS) >= 1);
    gvpci_bus_stats(e->bus, &gs);
    assert_int_equal(gs.ejects_ignored, 1);
    assert_non_null(gvpci_bus_dev(e->bus, e->slot_a)); /* the rude guest kept it */
    vsp_manual_clock_advance(&e->fx.mc, VSP_EJECT_TIMEOUT_DEFAULT_NS);
    vsp_vmm_tick(e->fx.vmm);
    assert_true(vsp_event_log_find(e->fx.log, VSP_EV_FORCED_REMOVAL, 0, 2, vsp_vm_id(e->fx.vm), NULL));
    assert_int_equal(vsp_vmm_vf_info(e->fx.vmm, 0, 2, &info), 0);
    assert_int_equal(info.state, VSP_VF_FREE);
    /* The relations without the VF remove the child (8.6). */
    assert_true(gvpci_bus_poll(e->bus, FX_WAIT_NS) >= 1);
    assert_null(gvpci_bus_dev(e->bus, e->slot_a));
    assert_non_null(gvpci_bus_dev(e->bus, e->slot_b));
}

/* Answers to PCI_QUERY_STOP, counted from the host's threads. */
struct qs_answers {
    unsigned done, answered, timed_out;
};

static void
on_qs_answer(void *ctx, uint64_t cookie, int vm, uint32_t slot, int pf, uint16_t vf, bool answered, NTSTATUS status)
{
    struct qs_answers *a = ctx;

    (void)cookie, (void)vm, (void)slot, (void)pf, (void)vf;
    if (answered && status == STATUS_SUCCESS) {
        __atomic_add_fetch(&a->answered, 1, __ATOMIC_SEQ_CST);
    } else if (!answered && status == STATUS_IO_TIMEOUT) {
        __atomic_add_fetch(&a->timed_out, 1, __ATOMIC_SEQ_CST);
    }
    __atomic_add_fetch(&a->done, 1, __ATOMIC_SEQ_CST);
}

/* Ask every slot to query-stop with a short wait; poll the guest until each slot is reported. */
static struct qs_answers
query_stop_round(struct e2e *e)
{
    struct qs_answers a = {0};
    unsigned n = vsp_vpci_query_stop(e->fx.vpci, 0, 1, 200 * (int64_t)VSP_NS_PER_MS, on_qs_answer, &a);

    assert_int_equal(n, 2);
    for (int i = 0; i < 200 && __atomic_load_n(&a.done, __ATOMIC_SEQ_CST) < n; i++) {
        gvpci_bus_poll(e->bus, 10 * (int64_t)VSP_NS_PER_MS);
    }
    assert_int_equal(__atomic_load_n(&a.done, __ATOMIC_SEQ_CST), n);
    vsp_vpci_stop_done(e->fx.vpci, 0, false); /* cancelled: PCI_QUERY_STOP_FAILED */
    gvpci_bus_poll(e->bus, 20 * (int64_t)VSP_NS_PER_MS);
    return a;
}

/* Misbehaviour changes while the bus runs: the next request is answered (or not) accordingly, nothing reloads. */
static void
test_misbehaviour_changes_without_reload(void **state)
{
    struct e2e *e = *state;
    struct gvpci_stats gs;
    struct qs_answers a;

    gvpci_bus_set_misbehave(e->bus, false, true);
    a = query_stop_round(e);
    assert_int_equal(a.answered, 0);
    assert_int_equal(a.timed_out, 2);
    gvpci_bus_set_misbehave(e->bus, false, false);
    a = query_stop_round(e);
    assert_int_equal(a.answered, 2);
    gvpci_bus_stats(e->bus, &gs);
    assert_int_equal(gs.query_stops_ignored, 2);
    assert_int_equal(gs.query_stops, 4);

    gvpci_bus_set_misbehave(e->bus, true, false);
    assert_int_equal(vsp_vmm_eject(e->fx.vmm, 0, 2, "test"), 0);
    assert_true(gvpci_bus_poll(e->bus, FX_WAIT_NS) >= 1);
    gvpci_bus_stats(e->bus, &gs);
    assert_int_equal(gs.ejects_ignored, 1);
    assert_non_null(gvpci_bus_dev(e->bus, e->slot_a)); /* kept: the eject was ignored */
    gvpci_bus_set_misbehave(e->bus, false, false);
    assert_int_equal(vsp_vmm_eject(e->fx.vmm, 0, 5, "test"), 0);
    assert_true(gvpci_bus_poll(e->bus, FX_WAIT_NS) >= 1);
    assert_null(gvpci_bus_dev(e->bus, e->slot_b));
    for (int i = 0; i < 100 && !vsp_event_log_find(e->fx.log, VSP_EV_EJECT_ACK, 0, 5, vsp_vm_id(e->fx.vm), NULL); i++) {
        gvpci_bus_poll(e->bus, 20 * (int64_t)VSP_NS_PER_MS);
    }
    assert_true(vsp_event_log_find(e->fx.log, VSP_EV_EJECT_ACK, 0, 5, vsp_vm_id(e->fx.vm), NULL));
    assert_false(vsp_event_log_find(e->fx.log, VSP_EV_EJECT_ACK, 0, 2, vsp_vm_id(e->fx.vm), NULL));
    /* Never reloaded: one negotiation, the two children probed once each. */
    gvpci_bus_stats(e->bus, &gs);
    assert_int_equal(gs.probes, 2);
    assert_int_equal(gvpci_bus_version(e->bus), PCI_PROTOCOL_VERSION_1_4);
}

static void
test_surprise_removal_and_stop(void **state)
{
    struct e2e *e = *state;
    struct gvpci_stats gs;

    assert_int_equal(vsp_vmm_surprise_remove(e->fx.vmm, 0, 5, "test"), 0);
    assert_true(gvpci_bus_poll(e->bus, FX_WAIT_NS) >= 1);
    assert_null(gvpci_bus_dev(e->bus, e->slot_b));
    assert_int_equal(gvpci_bus_stop(e->bus), 0);
    gvpci_bus_stats(e->bus, &gs);
    assert_int_equal(gs.removes, 2);
    /* After D0 exit the config window no longer decodes. */
    assert_int_equal(fx_mmio_read32(&e->fx, FX_WINDOW), 0xFFFFFFFFu);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bring_up_binds_driver, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dma_and_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalidation_rereads_mac, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eject_handshake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ignored_eject_is_forced, setup_rude, teardown),
        cmocka_unit_test_setup_teardown(test_surprise_removal_and_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_misbehaviour_changes_without_reload, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
