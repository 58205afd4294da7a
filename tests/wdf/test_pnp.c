/*
 * tests/wdf/test_pnp.c - the PnP manager: start with raw and translated
 * resources, the bus interface from the PDO, rebalance with new resources, a
 * held query-stop that succeeds or vetoes (contract.md 7.2), query-remove veto,
 * surprise removal, device-interface arrival and removal, a lower filter under a
 * port FDO (contract.md 3.1), state checks, and two independent hosts.
 *
 * Expected resource values come from the descriptors the test built with
 * RtlCmEncodeMemIoResource and are decoded again with RtlCmDecodeMemIoResource,
 * not from anything the runtime printed.
 */
#include "fixture.h"

static ULONGLONG
start_of(const CM_PARTIAL_RESOURCE_DESCRIPTOR *d)
{
    ULONGLONG s = 0;

    (void)RtlCmDecodeMemIoResource(d, &s);
    return s;
}

static void
test_start_resources_and_bus_interface(void **state)
{
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    td_cfg.query_bus = true;
    fx_setup(&f);
    assert_int_equal(wdf_node_state(f.node), WDF_PNP_ADDED);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    assert_int_equal(wdf_node_state(f.node), WDF_PNP_STARTED);
    assert_string_equal(f.ctx->events, "PE");
    assert_int_equal(f.ctx->raw_count, 2);
    assert_int_equal(start_of(&f.ctx->first_raw), 0xf0000000ull);
    assert_int_equal(start_of(&f.ctx->first_translated), 0xf0000000ull + 0x1000000000ull);
    assert_int_equal(RtlCmDecodeMemIoResource(&f.ctx->first_translated, NULL), 0x100000);
    /* The PF got the bus interface from its PDO, and referenced it once. */
    assert_int_equal(f.ctx->bus_status, STATUS_SUCCESS);
    assert_int_equal(f.ctx->bus.Size, sizeof(PCIVIRT_BUS_INTERFACE));
    assert_ptr_equal(f.ctx->bus.Context, &f);
    assert_int_equal(f.bus_refs, 1);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(wdf_pnp_stop(f.node), STATUS_INVALID_DEVICE_STATE); /* no query-stop first */
    assert_int_equal(wdf_pnp_cancel_remove(f.node), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(wdf_pnp_remove_device(f.node), STATUS_SUCCESS);
    assert_int_equal(f.bus_refs, 0); /* released in ReleaseHardware */
    fx_teardown(&f, 0);
}

static void
test_rebalance_new_resources(void **state)
{
    CM_PARTIAL_RESOURCE_DESCRIPTOR raw[2], tr[2];
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    td_cfg.query_bus = true;
    fx_setup(&f);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    fx_resources(raw, tr, 0xa0000000ull);
    assert_int_equal(wdf_pnp_rebalance(f.node, raw, tr, 2), STATUS_SUCCESS);
    assert_int_equal(wdf_node_state(f.node), WDF_PNP_STARTED);
    /* query-stop callback, D0 exit, release, prepare, D0 entry - in that order. */
    assert_string_equal(f.ctx->events, "PEqXRPE");
    assert_int_equal(start_of(&f.ctx->first_raw), 0xa0000000ull);
    assert_int_equal(start_of(&f.ctx->first_translated), 0xa0000000ull + 0x1000000000ull);
    assert_int_equal(f.bus_refs, 1);
    fx_teardown(&f, 0);
}

struct rebalance_job {
    struct wdf_node *node;
    CM_PARTIAL_RESOURCE_DESCRIPTOR raw[2], tr[2];
    NTSTATUS status;
    volatile int done;
};

static void *
rebalance_thread(void *arg)
{
    struct rebalance_job *j = arg;

    j->status = wdf_pnp_rebalance(j->node, j->raw, j->tr, 2);
    __atomic_store_n(&j->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void
held_query_stop(NTSTATUS answer)
{
    struct rebalance_job j;
    pthread_t th;
    struct fx f;

    memset(&td_cfg, 0, sizeof(td_cfg));
    td_cfg.hold_query_stop = true;
    fx_setup(&f);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    memset(&j, 0, sizeof(j));
    j.node = f.node;
    fx_resources(j.raw, j.tr, 0xb0000000ull);
    assert_int_equal(pthread_create(&th, NULL, rebalance_thread, &j), 0);
    /* The driver holds QUERY_STOP: the PnP thread waits, nothing stops yet. */
    assert_true(fx_wait_flag(&f.ctx->qs_waiting, 5000));
    assert_false(j.done);
    assert_int_equal(wdf_node_state(f.node), WDF_PNP_STARTED);
    assert_int_equal(f.ctx->release_calls, 0);
    f.ctx->qs_status = answer;
    wdf_thread_bind(f.host);
    KeSetEvent(&f.ctx->qs_go, 0, FALSE);
    wdf_thread_bind(NULL);
    pthread_join(th, NULL);
    assert_int_equal(j.status, answer);
    assert_int_equal(wdf_node_state(f.node), WDF_PNP_STARTED);
    if (NT_SUCCESS(answer)) {
        assert_string_equal(f.ctx->events, "PEqXRPE");
        assert_int_equal(start_of(&f.ctx->first_raw), 0xb0000000ull);
    } else {
        /* Vetoed: the PnP manager sent CANCEL_STOP; hardware was never released. */
        assert_string_equal(f.ctx->events, "PEC");
        assert_int_equal(start_of(&f.ctx->first_raw), 0xf0000000ull);
        assert_int_equal(f.ctx->release_calls, 0);
    }
    fx_teardown(&f, 0);
}

static void
test_held_query_stop_success(void **state)
{
    (void)state;
    held_query_stop(STATUS_SUCCESS);
}

static void
test_held_query_stop_veto(void **state)
{
    (void)state;
    held_query_stop(STATUS_DEVICE_BUSY);
}

struct qs_job {
    struct wdf_node *node;
    NTSTATUS status;
};

static void *
query_stop_thread(void *arg)
{
    struct qs_job *j = arg;

    j->status = wdf_pnp_query_stop(j->node);
    return NULL;
}

/* The preprocess hook pends QUERY_STOP; another thread finishes it later. */
static void
pended_query_stop(bool veto)
{
    struct qs_job j;
    pthread_t th;
    struct fx f;
    PIRP irp;

    memset(&td_cfg, 0, sizeof(td_cfg));
    td_cfg.pend_query_stop = true;
    fx_setup(&f);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    j.node = f.node;
    assert_int_equal(pthread_create(&th, NULL, query_stop_thread, &j), 0);
    for (int i = 0; i < 5000 && __atomic_load_n(&f.ctx->pended, __ATOMIC_SEQ_CST) == NULL; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    irp = __atomic_load_n(&f.ctx->pended, __ATOMIC_SEQ_CST);
    assert_non_null(irp);
    assert_true(irp->PendingReturned);
    assert_int_equal(IoGetCurrentIrpStackLocation(irp)->MinorFunction, IRP_MN_QUERY_STOP_DEVICE);
    wdf_thread_bind(f.host);
    if (veto) {
        irp->IoStatus.Status = STATUS_DEVICE_BUSY;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
    } else {
        assert_int_equal(WdfDeviceWdmDispatchPreprocessedIrp(f.dev, irp), STATUS_SUCCESS);
    }
    wdf_thread_bind(NULL);
    pthread_join(th, NULL);
    if (veto) {
        assert_int_equal(j.status, STATUS_DEVICE_BUSY);
        assert_int_equal(wdf_node_state(f.node), WDF_PNP_STARTED);
        assert_string_equal(f.ctx->events, "PEC");
    } else {
        assert_int_equal(j.status, STATUS_SUCCESS);
        assert_int_equal(wdf_node_state(f.node), WDF_PNP_STOP_PENDING);
        assert_string_equal(f.ctx->events, "PEq"); /* the framework ran EvtDeviceQueryStop */
        assert_int_equal(wdf_pnp_cancel_stop(f.node), STATUS_SUCCESS);
    }
    fx_teardown(&f, 0);
}

static void
test_pended_query_stop_dispatched_later(void **state)
{
    (void)state;
    pended_query_stop(false);
}

static void
test_pended_query_stop_vetoed_later(void **state)
{
    (void)state;
    pended_query_stop(true);
}

static void
test_irp_not_completed_is_reported(void **state)
{
    struct wdf_verifier_report r;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    td_cfg.bug_irp = true;
    fx_setup(&f);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    /* The dispatcher's return value is taken as the IRP's status; nothing hangs. */
    assert_int_equal(wdf_pnp_query_stop(f.node), STATUS_SUCCESS);
    assert_int_equal(wdf_verifier_count(f.host, WDF_RULE_IRP_NOT_COMPLETED), 1);
    assert_true(wdf_verifier_get(f.host, 0, &r));
    assert_string_equal(r.device, "0000:01:00.0/fdo"); /* the device whose dispatcher did it */
    fx_teardown(&f, 1);
}

struct watch {
    pthread_mutex_t mu;
    int arrivals, removals;
    char last[192];
};

static void
on_change(void *ctx, const GUID *cls, const char *link, bool arrival)
{
    struct watch *w = ctx;

    assert_true(IsEqualGUID(cls, &GUID_TD_CLASS));
    pthread_mutex_lock(&w->mu);
    if (arrival) {
        w->arrivals++;
    } else {
        w->removals++;
    }
    snprintf(w->last, sizeof(w->last), "%s", link);
    pthread_mutex_unlock(&w->mu);
}

static void
test_interface_arrival_and_removal(void **state)
{
    struct watch w = {PTHREAD_MUTEX_INITIALIZER, 0, 0, ""};
    struct watch late = {PTHREAD_MUTEX_INITIALIZER, 0, 0, ""};
    struct wdf_notification *n, *n2;
    char **links;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    fx_setup(&f);
    assert_int_equal(wdf_interface_register_notification(f.host, &GUID_TD_CLASS, true, on_change, &w, &n),
                     STATUS_SUCCESS);
    assert_int_equal(wdf_interface_list(f.host, &GUID_TD_CLASS, &links), STATUS_SUCCESS);
    assert_null(links[0]); /* registered, not enabled before start */
    wdf_interface_list_free(links);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    assert_true(wdf_host_idle(f.host, 5000));
    assert_int_equal(w.arrivals, 1);
    assert_string_equal(w.last, "\\??\\0000:01:00.0#{5B0C1D7E-8E0F-4E53-9A3C-2D6F4B1A7E01}");
    assert_int_equal(wdf_interface_list(f.host, &GUID_TD_CLASS, &links), STATUS_SUCCESS);
    assert_string_equal(links[0], w.last);
    assert_null(links[1]);
    wdf_interface_list_free(links);
    /* Another class sees nothing. */
    assert_int_equal(wdf_interface_list(f.host, &GUID_TD_QI, &links), STATUS_SUCCESS);
    assert_null(links[0]);
    wdf_interface_list_free(links);
    /* A late registration asks for existing instances. */
    assert_int_equal(wdf_interface_register_notification(f.host, &GUID_TD_CLASS, true, on_change, &late, &n2),
                     STATUS_SUCCESS);
    assert_true(wdf_host_idle(f.host, 5000));
    assert_int_equal(late.arrivals, 1);
    /* Interfaces stay enabled across a rebalance stop. */
    assert_int_equal(wdf_pnp_query_stop(f.node), STATUS_SUCCESS);
    assert_int_equal(wdf_pnp_stop(f.node), STATUS_SUCCESS);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    assert_true(wdf_host_idle(f.host, 5000));
    assert_int_equal(w.removals, 0);
    assert_int_equal(wdf_pnp_remove_device(f.node), STATUS_SUCCESS);
    assert_true(wdf_host_idle(f.host, 5000));
    assert_int_equal(w.arrivals, 1);
    assert_int_equal(w.removals, 1);
    assert_int_equal(late.removals, 1);
    wdf_interface_unregister_notification(n);
    wdf_interface_unregister_notification(n2);
    fx_teardown(&f, 0);
}

struct veto_client {
    NTSTATUS answer;
    int queries, canceled, completed;
};

static NTSTATUS
vc_query(void *ctx, struct wdf_target *t)
{
    struct veto_client *c = ctx;

    (void)t;
    c->queries++;
    return c->answer;
}

static void
vc_canceled(void *ctx, struct wdf_target *t)
{
    (void)t;
    ((struct veto_client *)ctx)->canceled++;
}

static void
vc_complete(void *ctx, struct wdf_target *t, bool surprise)
{
    (void)t;
    (void)surprise;
    ((struct veto_client *)ctx)->completed++;
}

static void
test_query_remove_veto_by_client(void **state)
{
    struct wdf_target_callbacks cb = {vc_query, vc_canceled, vc_complete};
    struct veto_client a = {STATUS_SUCCESS, 0, 0, 0}, b = {STATUS_DEVICE_BUSY, 0, 0, 0};
    struct wdf_target *ta, *tb;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    fx_setup(&f);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    ta = fx_open(&f, KernelMode, &cb, &a);
    tb = fx_open(&f, KernelMode, &cb, &b);
    assert_int_equal(wdf_pnp_remove_device(f.node), STATUS_DEVICE_BUSY);
    assert_int_equal(wdf_node_state(f.node), WDF_PNP_STARTED);
    assert_int_equal(a.queries, 1);
    assert_int_equal(a.canceled, 1); /* agreed, then told it is off */
    assert_int_equal(b.queries, 1);
    assert_int_equal(b.canceled, 0);
    assert_int_equal(f.ctx->release_calls, 0);
    /* The stack still works. */
    assert_int_equal(wdf_target_send_sync(ta, IRP_MJ_DEVICE_CONTROL, TD_OPEN_GATE, NULL, 0, NULL, 0, 0, NULL),
                     STATUS_SUCCESS);
    b.answer = STATUS_SUCCESS;
    assert_int_equal(wdf_pnp_query_remove(f.node), STATUS_SUCCESS);
    assert_int_equal(wdf_pnp_cancel_remove(f.node), STATUS_SUCCESS);
    assert_int_equal(wdf_node_state(f.node), WDF_PNP_STARTED);
    assert_int_equal(a.canceled, 2);
    assert_int_equal(wdf_pnp_remove_device(f.node), STATUS_SUCCESS);
    assert_int_equal(a.completed, 1);
    assert_int_equal(b.completed, 1);
    wdf_target_close(ta);
    wdf_target_close(tb);
    fx_teardown(&f, 0);
}

static void
test_surprise_removal(void **state)
{
    struct wdf_target_callbacks cb = {vc_query, vc_canceled, vc_complete};
    struct veto_client a = {STATUS_SUCCESS, 0, 0, 0};
    struct wdf_target *t;
    char **links;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    fx_setup(&f);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    t = fx_open(&f, KernelMode, &cb, &a);
    assert_int_equal(wdf_pnp_surprise_remove(f.node), STATUS_SUCCESS);
    assert_int_equal(wdf_node_state(f.node), WDF_PNP_SURPRISE_REMOVED);
    assert_string_equal(f.ctx->events, "PESXR");
    assert_int_equal(a.queries, 0); /* nobody is asked */
    assert_int_equal(a.completed, 1);
    assert_int_equal(wdf_interface_list(f.host, &GUID_TD_CLASS, &links), STATUS_SUCCESS);
    assert_null(links[0]);
    wdf_interface_list_free(links);
    assert_int_equal(wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_OPEN_GATE, NULL, 0, NULL, 0, 0, NULL),
                     STATUS_DELETE_PENDING);
    wdf_target_close(t);
    assert_int_equal(wdf_pnp_remove(f.node), STATUS_SUCCESS);
    assert_int_equal(wdf_node_state(f.node), WDF_PNP_REMOVED);
    assert_int_equal(a.completed, 1);
    fx_teardown(&f, 0);
}

static NTSTATUS
qi_fill_hook(WDFDEVICE Device, LPGUID InterfaceType, PINTERFACE ExposedInterface, PVOID Specific)
{
    (void)Device;
    (void)InterfaceType;
    (void)Specific;
    ExposedInterface->Version = 7; /* marks "filled by the filter's hook" */
    return STATUS_SUCCESS;
}

static void
test_lower_filter_under_port_fdo(void **state)
{
    struct wdf_host_config hc = {.clock = WDF_CLOCK_VIRTUAL};
    uint8_t in[6] = {2, 0, 0, 0, 'x', 'y'};
    uint8_t out[2];
    INTERFACE q;
    struct wdf_target *t;
    struct fx f;
    WDFDEVICE filter, port;

    (void)state;
    memset(&f, 0, sizeof(f));
    assert_int_equal(wdf_host_create(&hc, &f.host), STATUS_SUCCESS);
    f.node = fx_pdo(&f, "0000:02:00.0", 0xc0000000ull);
    assert_int_equal(wdf_driver_load(f.host, "tdrv", td_driver_entry, &f.drv), STATUS_SUCCESS);
    /* The SR-IOV side lives in a lower filter: queues, interface class, query interface. */
    memset(&td_cfg, 0, sizeof(td_cfg));
    td_cfg.filter = true;
    td_cfg.qi_hook = qi_fill_hook;
    td_cfg.qi_import = true;
    assert_int_equal(wdf_node_add_driver(f.node, f.drv, WDF_ROLE_LOWER_FILTER), STATUS_SUCCESS);
    /* The port driver's FDO above it has no queue and no interface of its own. */
    memset(&td_cfg, 0, sizeof(td_cfg));
    td_cfg.no_queue = true;
    td_cfg.no_interface = true;
    assert_int_equal(wdf_node_add_driver(f.node, f.drv, WDF_ROLE_FUNCTION), STATUS_SUCCESS);
    assert_int_equal(wdf_node_add_driver(f.node, f.drv, WDF_ROLE_FUNCTION), STATUS_INVALID_DEVICE_STATE);
    filter = wdf_node_device(f.node, WDF_ROLE_LOWER_FILTER);
    port = wdf_node_device(f.node, WDF_ROLE_FUNCTION);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    /* Start runs bottom-up: the filter's PrepareHardware saw the resources too. */
    assert_string_equal(TdGetContext(filter)->events, "PE");
    assert_string_equal(TdGetContext(port)->events, "PE");
    t = fx_open(&f, KernelMode, NULL, NULL);
    assert_int_equal(wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_ECHO, in, 6, out, 2, 0, NULL), STATUS_SUCCESS);
    assert_memory_equal(out, "yx", 2);
    memset(&q, 0, sizeof(q));
    assert_int_equal(wdf_target_query_interface(t, &GUID_TD_QI, &q, sizeof(q), 1, NULL), STATUS_SUCCESS);
    assert_int_equal(q.Version, 7);
    /* The bus interface comes from the PDO through both devices. */
    {
        PCIVIRT_BUS_INTERFACE bus;
        assert_int_equal(wdf_target_query_interface(t, &GUID_PCIVIRT_BUS_INTERFACE, (INTERFACE *)&bus, sizeof(bus),
                                                    PCIVIRT_BUS_INTERFACE_VERSION, NULL),
                         STATUS_SUCCESS);
        assert_int_equal(f.bus_refs, 1);
        bus.InterfaceDereference(bus.Context);
    }
    wdf_target_close(t);
    fx_teardown(&f, 0);
}

static void
test_two_hosts_do_not_interfere(void **state)
{
    struct fx a, b;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    fx_setup(&a);
    fx_setup(&b); /* same instance id, other host: allowed */
    assert_int_equal(wdf_pnp_start(a.node), STATUS_SUCCESS);
    assert_int_equal(wdf_node_state(b.node), WDF_PNP_ADDED);
    assert_int_equal(wdf_host_clock_advance(a.host, 1000), STATUS_SUCCESS);
    assert_int_equal(wdf_host_now(a.host), 1000);
    assert_int_equal(wdf_host_now(b.host), 0);
    {
        char **links;
        assert_int_equal(wdf_interface_list(b.host, &GUID_TD_CLASS, &links), STATUS_SUCCESS);
        assert_null(links[0]);
        wdf_interface_list_free(links);
    }
    {
        struct wdf_node *dup = NULL;
        struct wdf_pdo_config pc = {"PCI\\X", "0000:01:00.0", NULL, NULL, 0, NULL, 0};
        assert_int_equal(wdf_pdo_create(a.host, &pc, &dup), STATUS_OBJECT_NAME_COLLISION);
        assert_null(dup);
    }
    fx_teardown(&a, 0);
    fx_teardown(&b, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_resources_and_bus_interface),
        cmocka_unit_test(test_rebalance_new_resources),
        cmocka_unit_test(test_held_query_stop_success),
        cmocka_unit_test(test_held_query_stop_veto),
        cmocka_unit_test(test_pended_query_stop_dispatched_later),
        cmocka_unit_test(test_pended_query_stop_vetoed_later),
        cmocka_unit_test(test_irp_not_completed_is_reported),
        cmocka_unit_test(test_interface_arrival_and_removal),
        cmocka_unit_test(test_query_remove_veto_by_client),
        cmocka_unit_test(test_surprise_removal),
        cmocka_unit_test(test_lower_filter_under_port_fdo),
        cmocka_unit_test(test_two_hosts_do_not_interfere),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
