/*
 * tests/wdf/test_alloc.c - allocation failure at every step of a whole
 * lifecycle (STYLE.md rule 13).
 *
 * The scenario creates a host, a PDO, loads the test driver, starts the node,
 * opens a target, sends synchronous and asynchronous IOCTLs, queries an
 * interface, removes the node and destroys the host.  It is run once with the
 * N-th allocation failing, for N = 0, 1, 2, ... until a run sees no injected
 * failure.  Every step must either succeed or return an NTSTATUS failure; the
 * run must not crash, hang or (under `make asan`) leak.
 */
#include "util/alloc.h"

#include "fixture.h"

/* Static: an upcall may run after client_steps() has returned. */
static int upcalls;
static bool echo_ok; /* the last (failure-free) run must get this far */

static void
on_done(void *ctx, struct wdf_io *io, NTSTATUS status, ULONG_PTR information)
{
    (void)io;
    (void)status;
    (void)information;
    __atomic_add_fetch((int *)ctx, 1, __ATOMIC_SEQ_CST);
}

static void
client_steps(struct wdf_host *host)
{
    uint8_t in[6] = {2, 0, 0, 0, 'a', 'b'}, out[2];
    struct wdf_target *t = NULL;
    struct wdf_io *io = NULL;
    char **links = NULL;
    INTERFACE q;

    if (!NT_SUCCESS(wdf_interface_list(host, &GUID_TD_CLASS, &links))) {
        return;
    }
    if (links[0] != NULL && NT_SUCCESS(wdf_target_open(host, links[0], KernelMode, NULL, NULL, &t))) {
        NTSTATUS st = wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_ECHO, in, 6, out, 2, 0, NULL);
        assert_true(st == STATUS_SUCCESS || st == STATUS_INSUFFICIENT_RESOURCES);
        echo_ok = st == STATUS_SUCCESS && memcmp(out, "ba", 2) == 0;
        if (wdf_target_send_async(t, IRP_MJ_DEVICE_CONTROL, TD_HOLD, NULL, 0, NULL, 0, on_done, &upcalls, &io) ==
            STATUS_PENDING) {
            (void)wdf_io_cancel(io);
            wdf_io_release(io);
        }
        (void)wdf_target_query_interface(t, &GUID_PCIVIRT_BUS_INTERFACE, &q, sizeof(q), 0xffff, NULL);
        if (wdf_target_query_interface(t, &GUID_PCIVIRT_BUS_INTERFACE, &q, sizeof(q), 0xffff, NULL) == STATUS_SUCCESS) {
            q.InterfaceDereference(q.Context);
        }
        wdf_target_close(t);
    }
    wdf_interface_list_free(links);
}

static void
scenario(void)
{
    struct wdf_host_config hc = {.clock = WDF_CLOCK_VIRTUAL};
    struct wdf_driver_module *drv;
    struct wdf_node *node;
    struct fx f;

    memset(&f, 0, sizeof(f));
    if (!NT_SUCCESS(wdf_host_create(&hc, &f.host))) {
        return;
    }
    {
        CM_PARTIAL_RESOURCE_DESCRIPTOR raw[2], tr[2];
        PCIVIRT_BUS_INTERFACE bus;
        struct wdf_pdo_interface pi = {&GUID_PCIVIRT_BUS_INTERFACE, (const INTERFACE *)&bus};
        struct wdf_pdo_config pc = {"PCI\\VEN_8086&DEV_10C9", "0000:01:00.0", raw, tr, 2, &pi, 1};
        memset(&bus, 0, sizeof(bus));
        bus.Size = sizeof(bus);
        bus.Version = PCIVIRT_BUS_INTERFACE_VERSION;
        bus.Context = &f;
        bus.InterfaceReference = fx_bus_ref;
        bus.InterfaceDereference = fx_bus_deref;
        fx_resources(raw, tr, 0xf0000000ull);
        if (!NT_SUCCESS(wdf_pdo_create(f.host, &pc, &node))) {
            goto out;
        }
    }
    if (!NT_SUCCESS(wdf_driver_load(f.host, "tdrv", td_driver_entry, &drv))) {
        goto out;
    }
    if (!NT_SUCCESS(wdf_node_add_driver(node, drv, WDF_ROLE_FUNCTION))) {
        goto out;
    }
    if (NT_SUCCESS(wdf_pnp_start(node))) {
        client_steps(f.host);
    }
    (void)wdf_pnp_remove_device(node);
out:
    wdf_host_destroy(f.host);
}

static void
test_every_allocation_failure(void **state)
{
    unsigned long runs = 0;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    for (long n = 0;; n++) {
        unsigned long before = pv_alloc_failures();
        echo_ok = false;
        pv_alloc_fail_after(n, false);
        scenario();
        pv_alloc_fail_after(-1, false);
        runs++;
        if (pv_alloc_failures() == before) {
            break; /* the whole scenario ran without reaching the N-th allocation */
        }
        assert_true(n < 100000);
    }
    print_message("%lu runs\n", runs);
    assert_true(echo_ok);
    assert_true(runs > 20);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_failure),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
