/*
 * tests/regress/test_regress_stack.c - named regressions found by the stress
 * test (tests/stress) in the virtualization stack (src/vsp).
 *
 * stack_shutdown_resets_assigned_vfs: when the stack shut down (DETACH) while
 * the PF stayed, vsp_vmm_remove_pf() took the VFs out of their VMs without a
 * reset - it is written for a PF that is gone - so the next stack to attach
 * handed a VF to a new VM with the previous VM's mailbox block and registers
 * still in it (the stress test's guests saw another guest's mailbox after a
 * detach + re-attach).  The clean-handoff rule (docs/STACK.md) says a VF
 * leaving a VM is reset and checked before any other VM can get it.  The test
 * dirties an assigned VF the way its guest would (mailbox block through the
 * SR-IOV table, scratch register through BAR0), shuts the stack down, and asks
 * the PF driver and the device - not the stack - whether the VF is clean.
 *
 * first_assignment_resets_vf_left_dirty: a DETACH that arrives in the middle
 * of a rebalance releases the PF's wait, the PF stops, and the shutdown's
 * ResetVf then fails (device not ready): the VFs keep the old VMs' state, and
 * the next stack handed them to new VMs as they were (the stress test counted
 * these after each detach in mid-event and reset them by hand).  A stack now
 * vouches for a VF itself before its first assignment: reset and check on the
 * way in.  The test leaves a VF dirty behind the stack's back (as a previous
 * VSP would have), assigns it, and asks the PF and the device whether the VM
 * got a clean VF.
 *
 * pf_detach_waits_for_an_ejected_vfs_handoff (stress seeds 104 and 106 with
 * PCIVIRT_STRESS_EVENTS=10000): vsp_stack_pf_detach() in eject mode counted a
 * VF as gone once its guest had acknowledged the eject, but the VF is then in
 * HANDOFF while its reset and check run on the VM's dispatch thread; the
 * detach let go of the PF under it (DETACH, binding removed), so the reset
 * failed ("PF 0 is gone", STATUS_NO_SUCH_DEVICE) and the VF was quarantined
 * with the guest's state still in it.  Here a detach pass runs inside that
 * handoff (from the event log's listener, on the handoff's RESET record, before
 * the clean check): it must report the VF as still leaving, and the detach
 * must end with the VF checked clean and the PF let go.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dev/regs.h"
#include "dev/sriov_dev.h"
#include "pf/pf.h"
#include "util/alloc.h"
#include "vsp/stack.h"
#include "world.h"

#define VF 2u

/* The shared world (tools/world.h) and borrowed pointers into it. */
struct rig {
    struct world *world;
    struct world_parts p;
};

/* The default device with 8 VFs behind the reference PF driver, the stack started and attached; @n_vms VMs. */
static void
rig_up_vms(struct rig *w, unsigned n_vms, const struct world_vm_config *vms)
{
    const struct world_config cfg = {
        .clock = WDF_CLOCK_VIRTUAL, .discovery_ms = 10000, .pf = {.initial_vfs = 8}, .n_vms = n_vms, .vms = vms};
    struct world_error err;

    if (world_create(&cfg, &w->world, &err) != 0) {
        fail_msg("world: %s: %s", world_step_name(err.step), err.message);
    }
    world_parts(w->world, 0, &w->p);
}

static void
rig_up(struct rig *w)
{
    rig_up_vms(w, 0, NULL);
}

/* BAR0 of VF @vf on the host, from the device's own resources: the VF BAR aperture, NumVFs equal strides. */
static uint64_t
vf_bar0(struct rig *w, unsigned vf)
{
    struct pcivirt_bus_resources res;
    ULONGLONG start = 0, len;

    pv_sriov_query_resources(w->p.dev, &res);
    len = RtlCmDecodeMemIoResource(&res.vf_bar[0], &start);
    return start + vf * (len / 8);
}

/* What the VF's guest would leave behind: a mailbox block and a scratch value. */
static void
dirty_vf(struct rig *w)
{
    SRIOV_DEVICE_INTERFACE_STANDARD tbl;
    struct wdf_target *t = NULL;
    char **links = NULL;
    uint8_t mail[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint32_t scratch = 0x5CA77E12;

    assert_int_equal(wdf_interface_list(w->p.host, &GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE, &links), STATUS_SUCCESS);
    assert_non_null(links[0]);
    assert_int_equal(wdf_target_open(w->p.host, links[0], KernelMode, NULL, NULL, &t), STATUS_SUCCESS);
    wdf_interface_list_free(links);
    assert_int_equal(wdf_target_query_interface(t, &GUID_SRIOV_DEVICE_INTERFACE_STANDARD, (INTERFACE *)&tbl,
                                                sizeof(tbl), SRIOV_DEVICE_INTERFACE_STANDARD_VERSION_1, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(tbl.WriteVfConfigBlock(tbl.Context, VF, PF_BLOCK_ID_MAILBOX, mail, sizeof(mail)), STATUS_SUCCESS);
    tbl.InterfaceDereference(tbl.Context);
    wdf_target_close(t);
    assert_int_equal(pv_platform_write(w->p.plat, vf_bar0(w, VF) + SWVF_REG_SCRATCH, &scratch, 4), 0);
}

static bool
pf_status_attached(struct rig *w)
{
    struct pf_admin_status ps;

    assert_int_equal(pf_admin_status(w->p.device, &ps), STATUS_SUCCESS);
    return ps.attached;
}

static void
stack_shutdown_resets_assigned_vfs(void **state)
{
    struct rig w;
    struct vsp_stack_vm *vm = NULL;
    struct vsp_stack_vm_config vc = {.name = "vm-a", .memory_bytes = 16u << 20};
    int pf;
    uint8_t buf[128];
    uint32_t len = 99, scratch = 1;

    (void)state;
    memset(&w, 0, sizeof(w));
    rig_up(&w);
    pf = vsp_stack_pf_find(w.p.s, "0000:03:00.0");
    assert_true(pf >= 0);
    assert_int_equal(vsp_stack_vm_create(w.p.s, &vc, &vm), 0);
    assert_int_equal(vsp_stack_assign(w.p.s, pf, VF, vm, NULL), 0);
    dirty_vf(&w);
    assert_int_equal(pf_admin_get_vf_block(w.p.device, VF, PF_BLOCK_ID_MAILBOX, buf, sizeof(buf), &len),
                     STATUS_SUCCESS);
    assert_int_equal(len, 8); /* the dirt is there */

    vsp_stack_shutdown(w.p.s); /* DETACH; the PF and its device stay */

    assert_int_equal(pf_admin_get_vf_block(w.p.device, VF, PF_BLOCK_ID_MAILBOX, buf, sizeof(buf), &len),
                     STATUS_SUCCESS);
    assert_int_equal(len, 0); /* ResetVf dropped the VF-written block */
    assert_int_equal(pv_platform_read(w.p.plat, vf_bar0(&w, VF) + SWVF_REG_SCRATCH, &scratch, 4), 0);
    assert_int_equal(scratch, 0); /* FLR: "0 after FLR" (dev/regs.h) */
    assert_true(vsp_event_log_find(vsp_stack_log(w.p.s), VSP_EV_RESET, pf, VF, VSP_EV_NONE, NULL));
    world_destroy(w.world);
}

static void
first_assignment_resets_vf_left_dirty(void **state)
{
    struct rig w;
    struct vsp_stack_vm *vm = NULL;
    struct vsp_stack_vm_config vc = {.name = "vm-b", .memory_bytes = 16u << 20};
    struct vsp_vf_info info;
    int pf;
    uint8_t buf[128];
    uint32_t len = 99, scratch = 1;

    (void)state;
    memset(&w, 0, sizeof(w));
    rig_up(&w);
    pf = vsp_stack_pf_find(w.p.s, "0000:03:00.0");
    assert_true(pf >= 0);
    dirty_vf(&w); /* what a previous VSP could not reset: the VF is free in this stack */
    assert_int_equal(pf_admin_get_vf_block(w.p.device, VF, PF_BLOCK_ID_MAILBOX, buf, sizeof(buf), &len),
                     STATUS_SUCCESS);
    assert_int_equal(len, 8);
    assert_int_equal(vsp_stack_vm_create(w.p.s, &vc, &vm), 0);

    assert_int_equal(vsp_stack_assign(w.p.s, pf, VF, vm, NULL), 0);

    assert_int_equal(vsp_vmm_vf_info(vsp_stack_vmm(w.p.s), pf, VF, &info), 0);
    assert_int_equal(info.state, VSP_VF_ASSIGNED);
    assert_int_equal(pf_admin_get_vf_block(w.p.device, VF, PF_BLOCK_ID_MAILBOX, buf, sizeof(buf), &len),
                     STATUS_SUCCESS);
    assert_int_equal(len, 0); /* reset before the VM got it */
    assert_int_equal(pv_platform_read(w.p.plat, vf_bar0(&w, VF) + SWVF_REG_SCRATCH, &scratch, 4), 0);
    assert_int_equal(scratch, 0);
    assert_true(vsp_event_log_find(vsp_stack_log(w.p.s), VSP_EV_RESET, pf, VF, VSP_EV_NONE, NULL));
    assert_true(vsp_event_log_find(vsp_stack_log(w.p.s), VSP_EV_HANDOFF_CLEAN, pf, VF, VSP_EV_NONE, NULL));
    world_destroy(w.world);
}

/* A detach that arrives while VF's handoff runs: called from the handoff's own RESET record. */
struct mid_handoff {
    struct vsp_stack *s;
    int pf;
    int fired;
    int rc;
};

static void
detach_on_reset(void *ctx, const struct vsp_event *ev)
{
    struct mid_handoff *m = ctx;

    if (ev->type == VSP_EV_RESET && ev->pf == m->pf && ev->vf == (int32_t)VF &&
        !__atomic_exchange_n(&m->fired, 1, __ATOMIC_SEQ_CST)) {
        m->rc = vsp_stack_pf_detach(m->s, m->pf, VSP_DETACH_EJECT, 0); /* one pass: the VF is in HANDOFF */
    }
}

static void
pf_detach_waits_for_an_ejected_vfs_handoff(void **state)
{
    const struct world_vm_config vc = {.name = "vm-c", .memory_bytes = 16u << 20, .pf = 0, .vf = VF};
    struct rig w;
    struct gvpci_bus *bus;
    struct mid_handoff m = {.rc = 1};
    int pf, rc = PCIVIRT_ETIMEDOUT;
    uint8_t buf[128];
    uint32_t len = 99, scratch = 1;

    (void)state;
    memset(&w, 0, sizeof(w));
    rig_up_vms(&w, 1, &vc);
    pf = vsp_stack_pf_find(w.p.s, "0000:03:00.0");
    assert_true(pf >= 0);
    bus = world_vm_bus(world_vm_at(w.world, 0));
    dirty_vf(&w);
    m = (struct mid_handoff){.s = w.p.s, .pf = pf, .rc = 1};
    vsp_event_log_set_listener(vsp_stack_log(w.p.s), detach_on_reset, &m);
    /* PCI_EJECT; the guest acknowledges on its next polls, the VF's handoff runs on the VM's dispatch thread. */
    for (unsigned i = 0; i < 10000 && rc == PCIVIRT_ETIMEDOUT; i++) {
        rc = vsp_stack_pf_detach(w.p.s, pf, VSP_DETACH_EJECT, 0);
        gvpci_bus_poll(bus, (int64_t)VSP_NS_PER_MS);
    }
    vsp_event_log_set_listener(vsp_stack_log(w.p.s), NULL, NULL);

    assert_int_equal(rc, 0);
    assert_int_equal(__atomic_load_n(&m.fired, __ATOMIC_SEQ_CST), 1);
    assert_int_equal(m.rc, PCIVIRT_ETIMEDOUT); /* mid-handoff the VF was still leaving: the PF stayed bound */
    assert_int_equal(vsp_event_log_total(vsp_stack_log(w.p.s), VSP_EV_HANDOFF_DIRTY), 0);
    assert_true(vsp_event_log_find(vsp_stack_log(w.p.s), VSP_EV_HANDOFF_CLEAN, pf, VF, VSP_EV_NONE, NULL));
    assert_false(pf_status_attached(&w));
    assert_int_equal(pf_admin_get_vf_block(w.p.device, VF, PF_BLOCK_ID_MAILBOX, buf, sizeof(buf), &len),
                     STATUS_SUCCESS);
    assert_int_equal(len, 0);
    assert_int_equal(pv_platform_read(w.p.plat, vf_bar0(&w, VF) + SWVF_REG_SCRATCH, &scratch, 4), 0);
    assert_int_equal(scratch, 0);
    world_destroy(w.world);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stack_shutdown_resets_assigned_vfs),
        cmocka_unit_test(first_assignment_resets_vf_left_dirty),
        cmocka_unit_test(pf_detach_waits_for_an_ejected_vfs_handoff),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
