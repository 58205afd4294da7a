/*
 * tests/guest/test_world.c - the shared bring-up (tools/world.h) on its own:
 * what the runner, the stress test, the stack tests and the benchmarks rely on.
 *
 *  - a bring-up that cannot succeed stops at the step that failed, hands out
 *    nothing and frees what it built (LeakSanitizer in `make asan` checks the
 *    "frees"): a VF the device does not have, a PF index the world does not
 *    have, VMs without a stack, an enable beyond TotalVFs;
 *  - several devices: each discovered by the stack under its own instance id,
 *    a VM holding a VF of the second one, its guest's VF driver bound to that
 *    VF (the driver reads the VF index from the device's own register), guest
 *    DMA landing in the VM's memory and the VF's interrupt reaching the guest
 *    through the world's interrupt sink (and its hook, once);
 *  - a detach and re-attach (world_stack_down/up): the PF driver reports no
 *    attachment and no interface reference in between, and a new VM works.
 *
 * Oracles outside the world: the stack's own tables (vsp_stack_pfs, the VM
 * manager), the software device's registers, the PF driver's self-report
 * (pf_admin_status), the guest driver's conclusions, the VM's memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guest/swvf.h"
#include "pf/pf.h"
#include "vsp/gmem.h"
#include "vsp/vmm.h"
#include "world.h"

static void
expect_failure(const struct world_config *cfg, enum world_step step)
{
    struct world *w = (struct world *)&w; /* not NULL: world_create must clear it */
    struct world_error err;

    assert_int_equal(world_create(cfg, &w, &err), -1);
    assert_null(w);
    assert_int_equal(err.step, step);
    assert_true(err.message[0] != '\0');
}

static void
test_failed_bring_up_stops_at_its_step(void **state)
{
    struct world_vm_config vm = {.name = "vm-a", .pf = 0, .vf = 8}; /* the device has VFs 0..7 */
    struct world_config cfg = {.clock = WDF_CLOCK_VIRTUAL, .pf = {.initial_vfs = 8}, .n_vms = 1, .vms = &vm};
    struct pv_profile prof;

    (void)state;
    expect_failure(&cfg, WORLD_STEP_ASSIGN);
    vm.vf = 1;
    vm.pf = 3;
    expect_failure(&cfg, WORLD_STEP_ARGS);
    vm.pf = 0;
    cfg.no_stack = true;
    expect_failure(&cfg, WORLD_STEP_ARGS);
    cfg.no_stack = false;
    cfg.n_vms = 0;
    pv_profile_default(&prof);
    cfg.pf.prof = &prof;
    cfg.pf.enable_vfs = (uint16_t)(prof.total_vfs + 1);
    expect_failure(&cfg, WORLD_STEP_ENABLE);
    world_destroy(NULL);
}

static unsigned irq_hook_calls;

static struct world_vm *irq_hook_vm;

static void
count_irq(void *ctx, struct world_vm *vm, uint32_t vector)
{
    (void)ctx;
    (void)vector;
    irq_hook_vm = vm;
    irq_hook_calls++;
}

/* A VM holding VF @vf of PF @pf, its guest started. */
static struct world_vm *
add_vm(struct world *w, const char *name, int pf, int vf)
{
    struct world_vm_config vc = {.name = name, .pf = pf, .vf = vf, .on_irq = count_irq};
    struct world_vm *v = NULL;
    struct world_error err;

    if (world_vm_add(w, &vc, &v, &err) != 0 || world_vm_start(v, &err) != 0) {
        fail_msg("%s: %s", world_step_name(err.step), err.message);
    }
    return v;
}

/* The guest's driver has VF @vf; its DMA lands in the VM's memory and its interrupt comes back. */
static void
guest_works(struct world_vm *v, uint32_t vf)
{
    struct gvpci_dev *dev = gvpci_bus_dev(world_vm_bus(v), world_vm_slot(v));
    struct swvf *f = swvf_of(dev);
    uint8_t src[64], dst[64];
    unsigned irqs, hooks = irq_hook_calls;

    assert_non_null(f);
    assert_int_equal(f->vf_index, vf);
    irqs = f->irqs;
    for (unsigned k = 0; k < sizeof(src); k++) {
        src[k] = (uint8_t)(k * 13 + vf);
    }
    assert_int_equal(gvpci_mem_write(dev, 0x20000, src, sizeof(src)), 0);
    assert_int_equal(swvf_dma(dev, 0x20000, 0x70000, sizeof(src), true), 0);
    assert_int_equal(vsp_gmem_read(vsp_vm_memory(world_vm_vm(v)), 0x70000, dst, sizeof(dst)), 0);
    assert_memory_equal(dst, src, sizeof(src));
    assert_int_equal(f->irqs, irqs + 1);
    assert_int_equal(irq_hook_calls, hooks + 1);
    assert_ptr_equal(irq_hook_vm, v);
}

static void
test_two_devices_and_a_guest(void **state)
{
    struct world_config cfg = {.clock = WDF_CLOCK_VIRTUAL};
    struct world_pf_config pc = {.tag_instance = true};
    struct pv_profile second;
    struct vsp_stack_pf_info info[3];
    struct vsp_vf_info vi;
    struct world *w = NULL;
    struct world_vm *v;

    (void)state;
    assert_int_equal(world_open(&cfg, &w, NULL), 0);
    pv_profile_default(&second);
    second.initial_vfs = 4;
    second.pf_rid = 0x0400;
    assert_int_equal(world_pf_add(w, &pc, NULL), 0);
    pc.prof = &second;
    assert_int_equal(world_pf_add(w, &pc, NULL), 1);
    assert_string_equal(world_pf_instance(w, 0), "0000:03:00.0-0");
    assert_string_equal(world_pf_instance(w, 1), "0000:04:00.0-1");
    assert_int_equal(world_stack_start(w, NULL), 0);
    assert_int_equal(vsp_stack_pfs(world_stack(w), info, 3), 2);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(world_pf_id(w, i), vsp_stack_pf_find(world_stack(w), world_pf_instance(w, i)));
        assert_true(world_pf_id(w, i) >= 0);
    }
    assert_true(world_pf_id(w, 0) != world_pf_id(w, 1));
    v = add_vm(w, "vm-b", 1, 3);
    assert_int_equal(vsp_vmm_vf_info(vsp_stack_vmm(world_stack(w)), world_pf_id(w, 1), 3, &vi), 0);
    assert_int_equal(vi.state, VSP_VF_ASSIGNED);
    assert_int_equal(vi.vm, vsp_vm_id(world_vm_vm(v)));
    assert_int_equal(vi.slot, world_vm_slot(v));
    guest_works(v, 3);
    world_destroy(w);
}

static void
test_detach_and_reattach(void **state)
{
    const struct world_vm_config vm = {.name = "vm-a", .pf = 0, .vf = 2, .on_irq = count_irq};
    const struct world_config cfg = {.clock = WDF_CLOCK_VIRTUAL, .n_vms = 1, .vms = &vm};
    const struct vsp_stack_policy policy = {.on_no_answer = VSP_STOP_SURPRISE_REMOVE};
    struct pf_admin_status ps;
    struct world *w = NULL;
    struct world_error err;

    (void)state;
    assert_int_equal(world_create(&cfg, &w, &err), 0);
    assert_int_equal(world_vm_count(w), 1);
    guest_works(world_vm_at(w, 0), 2);
    world_stack_down(w);
    assert_null(world_stack(w));
    assert_int_equal(world_vm_count(w), 0);
    assert_int_equal(world_pf_id(w, 0), -1);
    assert_int_equal(pf_admin_status(world_pf_device(w, 0), &ps), STATUS_SUCCESS);
    assert_false(ps.attached);
    assert_int_equal(ps.interface_refs, 0);
    assert_int_equal(world_stack_up(w, &policy, &err), 0);
    assert_int_equal(world_stack_up(w, &policy, &err), -1); /* one stack at a time */
    assert_int_equal(err.step, WORLD_STEP_ARGS);
    assert_int_equal(pf_admin_status(world_pf_device(w, 0), &ps), STATUS_SUCCESS);
    assert_true(ps.attached);
    guest_works(add_vm(w, "vm-c", 0, 5), 5);
    world_destroy(w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_bring_up_stops_at_its_step),
        cmocka_unit_test(test_two_devices_and_a_guest),
        cmocka_unit_test(test_detach_and_reattach),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
