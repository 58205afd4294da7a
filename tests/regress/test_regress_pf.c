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

#define VF 2u

struct world {
    struct wdf_host *host;
    struct pv_platform *plat;
    struct pv_sriov_dev *dev;
    struct pv_profile prof;
    PCIVIRT_BUS_INTERFACE bus;
    struct wdf_node *node;
    struct wdf_driver_module *drv;
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

static void
world_up(struct world *w)
{
    struct pcivirt_bus_resources res;
    struct wdf_pdo_interface iface = {&GUID_PCIVIRT_BUS_INTERFACE, (const INTERFACE *)&w->bus};
    struct wdf_pdo_config cfg = {.hardware_id = "PCI\\VEN_8086&DEV_10FB", .instance_id = "0000:03:00.0"};
    struct wdf_host_config hc = {.clock = WDF_CLOCK_VIRTUAL};
    char **links = NULL;

    assert_int_equal(wdf_host_create(&hc, &w->host), STATUS_SUCCESS);
    wdf_thread_bind(w->host);
    pv_profile_default(&w->prof);
    w->prof.initial_vfs = 8;
    assert_int_equal(pv_platform_create(NULL, &w->plat), 0);
    assert_int_equal(pv_sriov_create(&w->prof, &w->dev, NULL), 0);
    assert_int_equal(pv_sriov_assign_resources(w->dev, w->plat, NULL), 0);
    pv_sriov_bus_interface(w->dev, &w->bus);
    pv_sriov_query_resources(w->dev, &res);
    cfg.raw = res.bar;
    cfg.translated = res.bar;
    cfg.resource_count = 1;
    cfg.interfaces = &iface;
    cfg.interface_count = 1;
    assert_int_equal(wdf_pdo_create(w->host, &cfg, &w->node), STATUS_SUCCESS);
    assert_int_equal(wdf_driver_load(w->host, "pcivirt_pf", PfDriverEntry, &w->drv), STATUS_SUCCESS);
    assert_int_equal(wdf_node_add_driver(w->node, w->drv, WDF_ROLE_FUNCTION), STATUS_SUCCESS);
    w->device = wdf_node_device(w->node, WDF_ROLE_FUNCTION);
    assert_int_equal(wdf_pnp_start(w->node), STATUS_SUCCESS);
    assert_int_equal(wdf_interface_list(w->host, &GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE, &links), STATUS_SUCCESS);
    assert_non_null(links[0]);
    assert_int_equal(wdf_target_open(w->host, links[0], KernelMode, NULL, NULL, &w->target), STATUS_SUCCESS);
    wdf_interface_list_free(links);
    assert_int_equal(wdf_target_query_interface(w->target, &GUID_MITIGABLE_DEVICE_INTERFACE, (INTERFACE *)&w->mitig,
                                                sizeof(w->mitig), 1, NULL),
                     STATUS_SUCCESS);
}

static void
world_down(struct world *w)
{
    w->mitig.InterfaceDereference(w->mitig.Context);
    wdf_target_close(w->target);
    wdf_host_destroy(w->host);
    wdf_thread_bind(NULL);
    pv_sriov_destroy(w->dev);
    pv_platform_destroy(w->plat);
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
arm(struct world *w, struct update *u)
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
trapped_read(struct world *w, uint64_t off, uint32_t *v)
{
    *v = 0;
    return w->mitig.ReadWriteMitigatedRegister(w->mitig.Context, VF, TRUE, 0, off, 4, (PUCHAR)v);
}

static void
set_ranges(struct world *w, bool page0)
{
    struct pf_mitig_range r[2] = {
        {.bar = 0, .base_page = 1, .page_count = 1, .intercept_reads = true, .intercept_writes = true},
        {.bar = 0, .base_page = 0, .page_count = 1, .intercept_reads = true, .intercept_writes = true}};

    assert_int_equal(pf_admin_set_mitigated_ranges(w->device, VF, r, page0 ? 2 : 1), STATUS_SUCCESS);
}

static void
trapped_access_keeps_reported_range_until_stack_rereads(void **state)
{
    struct world w;
    struct update u;
    uint32_t v = 0;

    (void)state;
    memset(&w, 0, sizeof(w));
    world_up(&w);

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
    world_down(&w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(trapped_access_keeps_reported_range_until_stack_rereads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
