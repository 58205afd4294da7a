/*
 * tests/vsp/test_vmm.c - VMs, assignment, eject window and clean handoff.
 *
 * A fake PF binding records ResetVf calls and answers the clean check from a
 * per-VF "dirty" flag the test controls; fake bus callbacks record what the
 * guest would be told.  Times are checked against the virtual clock the test
 * advances (the 60 s window of contract.md 8.6), and isolation is checked
 * through the IOMMU (a DMA from the departed VF must fault).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pcivirt/error.h"
#include "util/alloc.h"
#include "vsp/vmm.h"

#define NVFS 40

struct fake {
    struct vsp_manual_clock mc;
    struct vsp_event_log *log;
    struct vsp_iommu *iommu;
    struct vsp_vmm *vmm;
    struct vsp_vm *vm[2];
    uint16_t rids[NVFS];
    int resets[NVFS];
    bool dirty[NVFS];
    NTSTATUS reset_status;
    int relations;
    int ejects;
    uint32_t last_eject_slot;
    struct vsp_vm *last_eject_vm;
    /* Observations made from inside ResetVf. */
    int assign_during_reset;
    int dma_during_reset;
};

static NTSTATUS
fake_reset(void *ctx, int pf, uint16_t vf)
{
    struct fake *f = ctx;
    uint8_t b = 0;

    assert_int_equal(pf, 0);
    f->resets[vf]++;
    /* While being reset the VF is in no VM: not assignable, and its DMA faults. */
    f->assign_during_reset = vsp_vmm_assign(f->vmm, 0, vf, f->vm[1], NULL);
    f->dma_during_reset = vsp_iommu_dma_write(f->iommu, f->rids[vf], 0x1000, &b, 1);
    return f->reset_status;
}

static bool
fake_check(void *ctx, int pf, uint16_t vf, char *why, size_t len)
{
    struct fake *f = ctx;

    if (f->dirty[vf]) {
        snprintf(why, len, "scratch register still holds the previous owner's value");
        return false;
    }
    return true;
}

static void
fake_relations(void *ctx, struct vsp_vm *vm)
{
    struct fake *f = ctx;

    f->relations++;
}

static void
fake_eject(void *ctx, struct vsp_vm *vm, uint32_t slot)
{
    struct fake *f = ctx;

    f->ejects++;
    f->last_eject_vm = vm;
    f->last_eject_slot = slot;
}

static const struct vsp_vf_ops vf_ops = {fake_reset, fake_check};
static const struct vsp_bus_ops bus_ops = {fake_relations, fake_eject};

static int
setup_with_timeout(void **state, uint64_t timeout)
{
    struct fake *f = test_calloc(1, sizeof(*f));
    struct vsp_vmm_config cfg = {0};

    vsp_manual_clock_init(&f->mc, 1000 * VSP_NS_PER_S);
    assert_int_equal(vsp_event_log_create(&f->mc.clock, 256, &f->log), 0);
    assert_int_equal(vsp_iommu_create(f->log, &f->iommu), 0);
    cfg = (struct vsp_vmm_config){.clock = &f->mc.clock,
                                  .log = f->log,
                                  .iommu = f->iommu,
                                  .vf_ops = &vf_ops,
                                  .vf_ctx = f,
                                  .bus_ops = &bus_ops,
                                  .bus_ctx = f,
                                  .eject_timeout_ns = timeout};
    assert_int_equal(vsp_vmm_create(&cfg, &f->vmm), 0);
    for (int i = 0; i < NVFS; i++) {
        f->rids[i] = (uint16_t)(0x0180 + i); /* 01:10.0 onwards, ARI-style */
    }
    assert_int_equal(vsp_vmm_add_pf(f->vmm, 0, NVFS, f->rids), 0);
    for (int i = 0; i < 2; i++) {
        struct vsp_vm_config vc = {.memory_bytes = 16u << 20};
        assert_int_equal(vsp_vm_create(f->vmm, &vc, &f->vm[i]), 0);
        assert_int_equal(vsp_vm_id(f->vm[i]), i + 1);
    }
    *state = f;
    return 0;
}

static int
setup(void **state)
{
    return setup_with_timeout(state, 0);
}

static int
teardown(void **state)
{
    struct fake *f = *state;

    vsp_vmm_destroy(f->vmm);
    vsp_iommu_destroy(f->iommu);
    vsp_event_log_destroy(f->log);
    test_free(f);
    return 0;
}

static void
test_assign_basics(void **state)
{
    struct fake *f = *state;
    struct vsp_vf_info info, devs[4];
    uint32_t slot;

    assert_int_equal(vsp_vmm_assign(f->vmm, 0, 3, f->vm[0], &slot), 0);
    assert_int_equal(slot, 0);
    assert_int_equal(vsp_vmm_assign(f->vmm, 0, 5, f->vm[0], &slot), 0);
    assert_int_equal(slot, 1);
    assert_int_equal(f->relations, 2);
    assert_int_equal(vsp_vmm_vf_info(f->vmm, 0, 3, &info), 0);
    assert_int_equal(info.state, VSP_VF_ASSIGNED);
    assert_int_equal(info.vm, 1);
    assert_int_equal(info.rid, 0x0183);
    assert_ptr_equal(vsp_iommu_domain_of(f->iommu, 0x0183), vsp_vm_domain(f->vm[0]));
    /* Serials differ per exposure. */
    uint32_t s3 = info.serial;
    assert_int_equal(vsp_vmm_vf_info(f->vmm, 0, 5, &info), 0);
    assert_int_not_equal(info.serial, s3);
    assert_true(s3 != 0 && info.serial != 0);
    /* A VF is in one VM at a time. */
    assert_int_equal(vsp_vmm_assign(f->vmm, 0, 3, f->vm[1], NULL), PCIVIRT_EBUSY);
    assert_int_equal(vsp_vmm_assign(f->vmm, 0, NVFS, f->vm[1], NULL), PCIVIRT_ENOENT);
    assert_int_equal(vsp_vmm_assign(f->vmm, 1, 0, f->vm[1], NULL), PCIVIRT_ENOENT);
    /* The bus lists both, by slot. */
    assert_int_equal(vsp_vm_devices(f->vm[0], devs, 4), 2);
    assert_int_equal(devs[0].vf_index, 3);
    assert_int_equal(devs[1].vf_index, 5);
    assert_int_equal(vsp_vm_devices(f->vm[1], devs, 4), 0);
    assert_int_equal(vsp_vm_slot_lookup(f->vm[0], 1, &info), 0);
    assert_int_equal(info.vf_index, 5);
    assert_int_equal(vsp_vm_slot_lookup(f->vm[1], 1, &info), PCIVIRT_ENOENT);
    assert_int_equal(vsp_vm_slot_lookup(f->vm[0], 0xFFFFFFFFu, &info), PCIVIRT_ENOENT);
    assert_int_equal(vsp_event_log_total(f->log, VSP_EV_ASSIGN), 2);
    assert_ptr_equal(vsp_vmm_find_vm(f->vmm, 2), f->vm[1]);
    assert_null(vsp_vmm_find_vm(f->vmm, 3));
}

static void
test_bus_full(void **state)
{
    struct fake *f = *state;

    for (uint16_t i = 0; i < VSP_VPCI_SLOTS; i++) {
        assert_int_equal(vsp_vmm_assign(f->vmm, 0, i, f->vm[0], NULL), 0);
    }
    assert_int_equal(vsp_vmm_assign(f->vmm, 0, VSP_VPCI_SLOTS, f->vm[0], NULL), PCIVIRT_ENOSPC);
    assert_int_equal(vsp_vmm_assign(f->vmm, 0, VSP_VPCI_SLOTS, f->vm[1], NULL), 0);
}

static void
test_eject_acknowledged(void **state)
{
    struct fake *f = *state;
    struct vsp_vf_info info;
    struct vsp_event evs[32];
    uint32_t slot, handle;
    uint8_t b = 1;

    assert_int_equal(vsp_vmm_assign(f->vmm, 0, 7, f->vm[0], &slot), 0);
    assert_int_equal(vsp_domain_irte_alloc(vsp_vm_domain(f->vm[0]), f->rids[7], 0x30, 0, &handle), 0);
    assert_int_equal(vsp_iommu_dma_write(f->iommu, f->rids[7], 0x1000, &b, 1), 0);
    assert_int_equal(vsp_vmm_eject(f->vmm, 0, 7, "operator request"), 0);
    assert_int_equal(vsp_vmm_eject(f->vmm, 0, 7, NULL), PCIVIRT_ESTATE);
    assert_int_equal(f->ejects, 1);
    assert_ptr_equal(f->last_eject_vm, f->vm[0]);
    assert_int_equal(f->last_eject_slot, slot);
    assert_int_equal(vsp_vmm_vf_info(f->vmm, 0, 7, &info), 0);
    assert_int_equal(info.state, VSP_VF_EJECTING);
    assert_int_equal(info.deadline_ns, 1060 * VSP_NS_PER_S);
    /* Still visible to the guest until it acknowledges. */
    assert_int_equal(vsp_vm_slot_lookup(f->vm[0], slot, &info), 0);

    vsp_manual_clock_advance(&f->mc, 5 * VSP_NS_PER_S);
    assert_int_equal(vsp_vmm_ejection_complete(f->vmm, f->vm[0], slot), 0);
    assert_int_equal(f->resets[7], 1);
    assert_int_equal(f->assign_during_reset, PCIVIRT_EBUSY);
    assert_int_equal(f->dma_during_reset, PCIVIRT_EACCES);
    assert_int_equal(vsp_vmm_vf_info(f->vmm, 0, 7, &info), 0);
    assert_int_equal(info.state, VSP_VF_FREE);
    assert_int_equal(info.vm, VSP_EV_NONE);
    assert_null(vsp_iommu_domain_of(f->iommu, f->rids[7]));
    assert_int_equal(vsp_domain_irte_count_rid(vsp_vm_domain(f->vm[0]), f->rids[7]), 0);
    assert_int_equal(vsp_vm_slot_lookup(f->vm[0], slot, &info), PCIVIRT_ENOENT);
    assert_int_equal(vsp_vmm_tick(f->vmm), UINT64_MAX);

    /* The log tells the story in order. */
    size_t n = vsp_event_log_snapshot(f->log, evs, 32);
    enum vsp_event_type want[] = {VSP_EV_ASSIGN, VSP_EV_EJECT, VSP_EV_EJECT_ACK, VSP_EV_RESET, VSP_EV_HANDOFF_CLEAN};
    size_t w = 0;
    for (size_t i = 0; i < n && w < 5; i++) {
        if (evs[i].type == want[w]) {
            assert_int_equal(evs[i].vf, 7);
            w++;
        }
    }
    assert_int_equal(w, 5);
    assert_true(vsp_event_log_find(f->log, VSP_EV_EJECT_ACK, 0, 7, 1, &evs[0]));
    assert_int_equal(evs[0].time_ns, 1005 * VSP_NS_PER_S);
    /* Now another VM can have it. */
    assert_int_equal(vsp_vmm_assign(f->vmm, 0, 7, f->vm[1], NULL), 0);
}

static void
test_eject_window_expires(void **state)
{
    struct fake *f = *state;
    struct vsp_vf_info info;
    struct vsp_event ev;
    uint32_t slot;

    assert_int_equal(vsp_vmm_assign(f->vmm, 0, 2, f->vm[1], &slot), 0);
    assert_int_equal(vsp_vmm_eject(f->vmm, 0, 2, "rebalance"), 0);
    vsp_manual_clock_advance(&f->mc, 60 * VSP_NS_PER_S - 1);
    assert_int_equal(vsp_vmm_tick(f->vmm), 1060 * VSP_NS_PER_S);
    assert_int_equal(vsp_vmm_vf_info(f->vmm, 0, 2, &info), 0);
    assert_int_equal(info.state, VSP_VF_EJECTING);
    assert_int_equal(f->resets[2], 0);
    vsp_manual_clock_advance(&f->mc, 1);
    assert_int_equal(vsp_vmm_tick(f->vmm), UINT64_MAX);
    assert_int_equal(vsp_vmm_vf_info(f->vmm, 0, 2, &info), 0);
    assert_int_equal(info.state, VSP_VF_FREE);
    assert_int_equal(f->resets[2], 1);
    assert_true(vsp_event_log_find(f->log, VSP_EV_TIMEOUT, 0, 2, 2, &ev));
    assert_int_equal(ev.status, STATUS_IO_TIMEOUT);
    assert_int_equal(ev.time_ns, 1060 * VSP_NS_PER_S);
    assert_true(vsp_event_log_find(f->log, VSP_EV_FORCED_REMOVAL, 0, 2, 2, NULL));
    /* A late acknowledgment is guest noise: logged and refused. */
    assert_int_equal(vsp_vmm_ejection_complete(f->vmm, f->vm[1], slot), PCIVIRT_ENOENT);
    assert_true(vsp_event_log_find(f->log, VSP_EV_GUEST_ERROR, VSP_EV_NONE, VSP_EV_NONE, 2, &ev));
    assert_int_equal(f->resets[2], 1);
}

static void
test_custom_window_and_ack_of_wrong_slot(void **state)
{
    struct fake *f;
    uint32_t s0, s1;
    struct vsp_vf_info info;

    setup_with_timeout(state, 2 * VSP_NS_PER_S);
    f = *state;
    assert_int_equal(vsp_vmm_assign(f->vmm, 0, 0, f->vm[0], &s0), 0);
    assert_int_equal(vsp_vmm_assign(f->vmm, 0, 1, f->vm[0], &s1), 0);
    assert_int_equal(vsp_vmm_eject(f->vmm, 0, 0, NULL), 0);
    /* Acknowledging a slot that was not ejected does not remove it. */
    assert_int_equal(vsp_vmm_ejection_complete(f->vmm, f->vm[0], s1), PCIVIRT_ESTATE);
    /* Nor can another VM acknowledge for this one. */
    assert_int_equal(vsp_vmm_ejection_complete(f->vmm, f->vm[1], s0), PCIVIRT_ENOENT);
    assert_int_equal(vsp_vmm_ejection_complete(f->vmm, f->vm[0], 0xFFFFFFFFu), PCIVIRT_ENOENT);
    assert_int_equal(vsp_vmm_vf_info(f->vmm, 0, 1, &info), 0);
    assert_int_equal(info.state, VSP_VF_ASSIGNED);
    vsp_manual_clock_advance(&f->mc, 2 * VSP_NS_PER_S);
    vsp_vmm_tick(f->vmm);
    assert_int_equal(vsp_vmm_vf_info(f->vmm, 0, 0, &info), 0);
    assert_int_equal(info.state, VSP_VF_FREE);
    assert_int_equal(vsp_event_log_total(f->log, VSP_EV_GUEST_ERROR), 3);
    teardown(state);
}

static void
test_dirty_vf_is_quarantined(void **state)
{
    struct fake *f = *state;
    struct vsp_vf_info info;
    struct vsp_event ev;

    f->dirty[4] = true;
    assert_int_equal(vsp_vmm_assign(f->vmm, 0, 4, f->vm[0], NULL), 0);
    assert_int_equal(vsp_vmm_surprise_remove(f->vmm, 0, 4, "test"), 0);
    assert_int_equal(vsp_vmm_vf_info(f->vmm, 0, 4, &info), 0);
    assert_int_equal(info.state, VSP_VF_QUARANTINED);
    assert_true(vsp_event_log_find(f->log, VSP_EV_HANDOFF_DIRTY, 0, 4, 1, &ev));
    assert_non_null(strstr(ev.reason, "scratch register"));
    /* Nobody gets it while dirty. */
    assert_int_equal(vsp_vmm_assign(f->vmm, 0, 4, f->vm[1], NULL), PCIVIRT_ESTATE);
    assert_int_equal(vsp_vmm_retry_handoff(f->vmm, 0, 4), PCIVIRT_EBUSY);
    assert_int_equal(f->resets[4], 2);
    f->dirty[4] = false;
    assert_int_equal(vsp_vmm_retry_handoff(f->vmm, 0, 4), 0);
    assert_int_equal(vsp_vmm_retry_handoff(f->vmm, 0, 4), PCIVIRT_ESTATE);
    assert_int_equal(vsp_vmm_assign(f->vmm, 0, 4, f->vm[1], NULL), 0);
    /* A failing ResetVf also quarantines. */
    f->reset_status = STATUS_INVALID_DEVICE_STATE;
    assert_int_equal(vsp_vmm_surprise_remove(f->vmm, 0, 4, NULL), 0);
    assert_int_equal(vsp_vmm_vf_info(f->vmm, 0, 4, &info), 0);
    assert_int_equal(info.state, VSP_VF_QUARANTINED);
    assert_true(vsp_event_log_find(f->log, VSP_EV_RESET, 0, 4, 2, &ev));
    assert_int_equal(ev.status, STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(vsp_vmm_surprise_remove(f->vmm, 0, 4, NULL), PCIVIRT_ESTATE);
}

static void
test_pf_removal_and_vm_shutdown(void **state)
{
    struct fake *f = *state;
    struct vsp_vf_info info;
    uint16_t rids2[2] = {0x0300, 0x0301};

    assert_int_equal(vsp_vmm_add_pf(f->vmm, 0, 1, rids2), PCIVIRT_EEXIST);
    assert_int_equal(vsp_vmm_add_pf(f->vmm, 1, 2, rids2), 0);
    assert_int_equal(vsp_vmm_assign(f->vmm, 0, 1, f->vm[0], NULL), 0);
    assert_int_equal(vsp_vmm_assign(f->vmm, 1, 0, f->vm[0], NULL), 0);
    assert_int_equal(vsp_vmm_assign(f->vmm, 1, 1, f->vm[1], NULL), 0);
    assert_int_equal(vsp_vmm_eject(f->vmm, 1, 1, NULL), 0);
    int rel = f->relations;
    assert_int_equal(vsp_vmm_remove_pf(f->vmm, 1, "surprise removal of the PF"), 0);
    assert_int_equal(f->relations, rel + 2);
    assert_int_equal(vsp_vmm_vf_info(f->vmm, 1, 0, &info), PCIVIRT_ENOENT);
    assert_null(vsp_iommu_domain_of(f->iommu, 0x0300));
    assert_null(vsp_iommu_domain_of(f->iommu, 0x0301));
    assert_int_equal(vsp_event_log_total(f->log, VSP_EV_SURPRISE_REMOVAL), 2);
    assert_int_equal(vsp_vmm_tick(f->vmm), UINT64_MAX); /* the ejecting one left the eject list */
    assert_int_equal(vsp_vmm_remove_pf(f->vmm, 1, NULL), PCIVIRT_ENOENT);
    /* The other PF's VF is untouched; VM shutdown hands it off. */
    assert_int_equal(vsp_vmm_vf_info(f->vmm, 0, 1, &info), 0);
    assert_int_equal(info.state, VSP_VF_ASSIGNED);
    vsp_vm_destroy(f->vm[0]);
    f->vm[0] = NULL;
    assert_int_equal(vsp_vmm_vf_info(f->vmm, 0, 1, &info), 0);
    assert_int_equal(info.state, VSP_VF_FREE);
    assert_int_equal(f->resets[1], 1);
    assert_true(vsp_event_log_find(f->log, VSP_EV_VM_DESTROY, VSP_EV_NONE, VSP_EV_NONE, 1, NULL));
}

static void
test_create_failures(void **state)
{
    struct fake *f = *state;
    struct vsp_vm *vm;
    struct vsp_vm_config vc = {.memory_bytes = 1u << 20};
    struct vsp_vmm_config cfg = {.clock = &f->mc.clock, .iommu = f->iommu};
    struct vsp_vmm *vmm;

    for (long n = 0; n < 8; n++) {
        vm = NULL;
        pv_alloc_fail_after(n, 0);
        int rc = vsp_vm_create(f->vmm, &vc, &vm);
        pv_alloc_fail_after(-1, 0);
        if (rc == 0) {
            vsp_vm_destroy(vm);
            break;
        }
        assert_int_equal(rc, PCIVIRT_ENOMEM);
        assert_null(vm);
    }
    vc.memory_bytes = 12345;
    assert_int_equal(vsp_vm_create(f->vmm, &vc, &vm), PCIVIRT_EINVAL);
    assert_int_equal(vsp_vmm_create(&cfg, &vmm), PCIVIRT_EINVAL); /* no vf_ops */
    assert_string_equal(vsp_vf_state_name(VSP_VF_QUARANTINED), "quarantined");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_assign_basics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bus_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eject_acknowledged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eject_window_expires, setup, teardown),
        cmocka_unit_test(test_custom_window_and_ack_of_wrong_slot),
        cmocka_unit_test_setup_teardown(test_dirty_vf_is_quarantined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pf_removal_and_vm_shutdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_failures, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
