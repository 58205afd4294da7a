/*
 * tests/regress/test_regress_pf.c - named regressions found by the stress test
 * (tests/stress) in the reference PF driver (src/pf).
 *
 * trapped_access_keeps_reported_range_until_stack_rereads: between a change of
 * a VF's mitigated ranges and the stack's rebuild of its trap map (after the
 * MITIGATED_RANGE_UPDATE completion, contract.md 7.3), the stack still traps
 * pages the PF no longer lists, and the PF refused those accesses as outside
 * every range (6.12 [I]): a guest's legitimate MMIO read failed and read
 * all-ones - in the stress test even a VF driver's probe, which then never bound.
 * The grace rule (docs/CONTRACT-DECISIONS.md, 6.12) decides it: a range the VF
 * had before a change still serves trapped accesses until the stack has caught
 * up - it re-arms the VF's MITIGATED_RANGE_UPDATE with no change pending, which
 * it does only after re-reading the ranges - and not one access longer.  The
 * test plays the stack through the driver's own IOCTLs and table, with the
 * software device's registers as the oracle.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dev/regs.h"
#include "dev/sriov_dev.h"
#include "pf/pf.h"
#include "util/alloc.h"
#include "world.h"

#define VF 2u

/* The shared world (tools/world.h) without a stack, and the test's handle on the PF. */
struct rig {
    struct world *world;
    WDFDEVICE device;
    struct wdf_target *target;
    MITIGABLE_DEVICE_INTERFACE mitig;
};

/* One held MITIGATED_RANGE_UPDATE. */
struct update {
    SRIOV_MITIGATED_RANGE_UPDATE_INPUT in;
    SRIOV_MITIGATED_RANGE_UPDATE_OUTPUT out;
    struct wdf_io *io;
    atomic_bool done;
    NTSTATUS status;
};

/* The default device with 8 VFs behind the reference PF driver; the VSP's target and mitigable table. */
static void
rig_up(struct rig *w)
{
    const struct world_config cfg = {.clock = WDF_CLOCK_VIRTUAL, .no_stack = true, .pf = {.initial_vfs = 8}};
    struct world_error err;
    char **links = NULL;

    if (world_create(&cfg, &w->world, &err) != 0) {
        fail_msg("world: %s: %s", world_step_name(err.step), err.message);
    }
    w->device = world_pf_device(w->world, 0);
    assert_int_equal(wdf_interface_list(world_host(w->world), &GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE, &links),
                     STATUS_SUCCESS);
    assert_non_null(links[0]);
    assert_int_equal(wdf_target_open(world_host(w->world), links[0], KernelMode, NULL, NULL, &w->target),
                     STATUS_SUCCESS);
    wdf_interface_list_free(links);
    assert_int_equal(wdf_target_query_interface(w->target, &GUID_MITIGABLE_DEVICE_INTERFACE, (INTERFACE *)&w->mitig,
                                                sizeof(w->mitig), 1, NULL),
                     STATUS_SUCCESS);
}

static void
rig_down(struct rig *w)
{
    w->mitig.InterfaceDereference(w->mitig.Context);
    wdf_target_close(w->target);
    world_destroy(w->world);
}

static void
on_update(void *ctx, struct wdf_io *io, NTSTATUS status, ULONG_PTR information)
{
    struct update *u = ctx;

    (void)io;
    (void)information;
    u->status = status;
    atomic_store(&u->done, true);
}

/* Arm VF's MITIGATED_RANGE_UPDATE as the stack does after re-reading the ranges. */
static void
arm(struct rig *w, struct update *u)
{
    memset(u, 0, sizeof(*u));
    u->in.VfIndex = VF;
    assert_int_equal(wdf_target_send_async(w->target, IRP_MJ_INTERNAL_DEVICE_CONTROL,
                                           IOCTL_SRIOV_MITIGATED_RANGE_UPDATE, &u->in, sizeof(u->in), &u->out,
                                           sizeof(u->out), on_update, u, &u->io),
                     STATUS_PENDING);
}

/* Whether @u completed within a second of real time (completions run on a host worker). */
static bool
completed(struct update *u)
{
    for (int i = 0; i < 1000 && !atomic_load(&u->done); i++) {
        struct timespec ts = {0, 1000000};

        nanosleep(&ts, NULL);
    }
    if (atomic_load(&u->done)) {
        wdf_io_release(u->io);
        u->io = NULL;
    }
    return atomic_load(&u->done);
}

/* A trapped 4-byte read of VF BAR0 at @off through the PF's table; the status. */
static NTSTATUS
trapped_read(struct rig *w, uint64_t off, uint32_t *v)
{
    *v = 0;
    return w->mitig.ReadWriteMitigatedRegister(w->mitig.Context, VF, TRUE, 0, off, 4, (PUCHAR)v);
}

static void
set_ranges(struct rig *w, bool page0)
{
    struct pf_mitig_range r[2] = {
        {.bar = 0, .base_page = 1, .page_count = 1, .intercept_reads = true, .intercept_writes = true},
        {.bar = 0, .base_page = 0, .page_count = 1, .intercept_reads = true, .intercept_writes = true}};

    assert_int_equal(pf_admin_set_mitigated_ranges(w->device, VF, r, page0 ? 2 : 1), STATUS_SUCCESS);
}

static void
trapped_access_keeps_reported_range_until_stack_rereads(void **state)
{
    struct rig w;
    struct update u;
    uint32_t v = 0;

    (void)state;
    memset(&w, 0, sizeof(w));
    rig_up(&w);

    /* Page 0 (ID and scratch registers) trapped; the stack catches up: one dirty completion, then held. */
    set_ranges(&w, true);
    arm(&w, &u);
    assert_true(completed(&u));
    assert_int_equal(u.status, STATUS_SUCCESS);
    arm(&w, &u);
    assert_false(completed(&u)); /* held: nothing pending */
    assert_int_equal(trapped_read(&w, SWVF_REG_ID, &v), STATUS_SUCCESS);
    assert_int_equal(v, SWVF_ID_MAGIC);

    /* The PF drops page 0: the held update completes; the stack has not re-read yet. */
    set_ranges(&w, false);
    assert_true(completed(&u));
    assert_int_equal(u.status, STATUS_SUCCESS);
    assert_int_equal(u.out.VfIndex, VF);
    assert_int_equal(trapped_read(&w, SWVF_REG_ID, &v), STATUS_SUCCESS); /* the grace rule */
    assert_int_equal(v, SWVF_ID_MAGIC);
    assert_int_equal(trapped_read(&w, SWVF_REG_PRIV_QUEUES, &v), STATUS_SUCCESS); /* page 1: still listed */

    /* The stack re-read and re-armed with nothing pending: the grace is over, exactly then. */
    arm(&w, &u);
    assert_false(completed(&u));
    assert_int_equal(trapped_read(&w, SWVF_REG_ID, &v), STATUS_INVALID_PARAMETER);
    assert_int_equal(trapped_read(&w, SWVF_REG_PRIV_QUEUES, &v), STATUS_SUCCESS);

    /* Two changes before the stack catches up: every list it may hold still serves. */
    set_ranges(&w, true);
    assert_true(completed(&u));
    set_ranges(&w, false);
    assert_int_equal(trapped_read(&w, SWVF_REG_ID, &v), STATUS_SUCCESS);
    arm(&w, &u);
    assert_true(completed(&u)); /* the second change was pending: completes at once, grace goes on */
    assert_int_equal(trapped_read(&w, SWVF_REG_ID, &v), STATUS_SUCCESS);
    arm(&w, &u);
    assert_false(completed(&u));
    assert_int_equal(trapped_read(&w, SWVF_REG_ID, &v), STATUS_INVALID_PARAMETER);

    wdf_io_cancel(u.io);
    assert_true(completed(&u));
    assert_int_equal(u.status, STATUS_CANCELLED);
    rig_down(&w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(trapped_access_keeps_reported_range_until_stack_rereads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
