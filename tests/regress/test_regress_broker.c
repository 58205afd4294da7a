/*
 * tests/regress/test_regress_broker.c - named regressions for the broker
 * fixes the stress test found with no deterministic harness at the time
 * (docs/HARDENING.md, "Bugs the stress and OOM runs found").
 *
 * These races need the PF to act between two steps of the broker, which the
 * reference PF never does on cue; so the PF here is a scripted one: a small
 * KMDF driver on the runtime (ATTACH, DETACH, NOTIFICATION and the other held
 * requests in a manual queue, EVENT_COMPLETE that can be held at a gate, and
 * range queries whose answers the test writes) behind a real client target,
 * with the rest of the stack from tests/vsp/vpci_fixture.h.
 *
 * ranges_changed_between_count_and_read_are_read_again (stress seed 424): the
 * broker reads a VF's trapped ranges as QUERY_MITIGATED_RANGE_COUNT, then
 * QUERY_MITIGATED_RANGES per BAR; a change in between makes RANGES answer
 * STATUS_BUFFER_TOO_SMALL (contract.md 4.9).  The broker logged that as a PF
 * error and kept its old map; it now starts over from the count.  The PF here
 * answers the first RANGES with STATUS_BUFFER_TOO_SMALL (one range more than it
 * counted), then the new list.
 *
 * ranges_shrunk_between_count_and_read_are_read_again (stress seeds
 * 1795576565 under ASan and 104 with PCIVIRT_STRESS_EVENTS=10000): the same
 * race the other way.  A VF is assigned while the PF had changed its ranges
 * with no update held, so the update the assignment arms completes at once and
 * the broker re-reads on its own thread, while the PF changes the ranges again,
 * now to fewer.  RANGES then succeeds with Information = 16 per range it has,
 * less than counted (contract.md 4.9); the broker logged that as a PF error
 * (STATUS_BAD_DATA, "QUERY_MITIGATED_RANGES failed") - and on the assignment's
 * own read the assignment would fail with PCIVIRT_EIO.  It now starts over
 * from the count.  The PF here counts two ranges once, then answers one.
 *
 * stop_drains_an_event_complete_in_flight (stress seed 5, ASan
 * heap-use-after-free): a guest's answer decided a round and the answering
 * thread sent EVENT_COMPLETE while the stack shut down; the stop did not count
 * that send as outstanding, so it returned and the target was closed under it.
 * Here the round is decided by its deadline on a thread of the test (not inside
 * a completion of the broker, whose own count would cover the send), the PF
 * holds that EVENT_COMPLETE, and vsp_broker_stop() runs on a third thread: the
 * stop must not return before the PF has finished it.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../vsp/vpci_fixture.h"
#include "pcivirt/wdf.h"
#include "vsp/broker.h"

/* {7A1E0C55-3B7D-4C1A-8E6F-5D2B9C0A4E11}: the scripted PF's interface class. */
DEFINE_GUID(GUID_SPF_CLASS, 0x7a1e0c55, 0x3b7d, 0x4c1a, 0x8e, 0x6f, 0x5d, 0x2b, 0x9c, 0x0a, 0x4e, 0x11);

#define REAL_MS 5000u

/* The script and what the PF saw (one PF per test; the test thread reads it). */
struct spf {
    WDFQUEUE notify; /* held NOTIFICATIONs */
    WDFQUEUE held;   /* held INVALIDATE_BLOCK and MITIGATED_RANGE_UPDATE */
    KEVENT ec_gate;  /* EVENT_COMPLETE waits here when hold_event_complete */
    bool hold_event_complete;
    int grow_once;   /* RANGES answers STATUS_BUFFER_TOO_SMALL this many times */
    int shrink_once; /* COUNT says two ranges this many times; RANGES then answers one */
    int count_calls, ranges_calls, attaches, detaches;
    volatile int ec_entered, ec_done;
    NTSTATUS ec_status;
};

typedef struct _SPF_CONTEXT {
    struct spf *spf;
} SPF_CONTEXT;

WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(SPF_CONTEXT, SpfGetContext)

static struct spf *the_spf; /* the script of the test running now; set before the driver loads */

static void
spf_range_count(struct spf *p, WDFREQUEST r)
{
    SRIOV_MITIGATED_RANGE_COUNT_OUTPUT *out;
    NTSTATUS st = WdfRequestRetrieveOutputBuffer(r, sizeof(*out), (PVOID *)&out, NULL);

    p->count_calls++;
    if (NT_SUCCESS(st)) {
        memset(out, 0, sizeof(*out));
        out->RangeCount[0] = p->shrink_once > 0 ? 2 : 1;
    }
    WdfRequestCompleteWithInformation(r, st, NT_SUCCESS(st) ? sizeof(*out) : 0);
}

static void
spf_ranges(struct spf *p, WDFREQUEST r, size_t out_len)
{
    SRIOV_MITIGATED_RANGES_OUTPUT *out;
    NTSTATUS st;

    p->ranges_calls++;
    if (p->grow_once > 0) {
        p->grow_once--;
        WdfRequestComplete(r, STATUS_BUFFER_TOO_SMALL); /* two ranges now, one was counted */
        return;
    }
    if (p->shrink_once > 0) {
        p->shrink_once--; /* two were counted; one is left now (answered below) */
    }
    st = WdfRequestRetrieveOutputBuffer(r, sizeof(*out), (PVOID *)&out, NULL);
    if (NT_SUCCESS(st)) {
        (void)out_len;
        *out = (SRIOV_MITIGATED_RANGES_OUTPUT){.BasePageNumber = 1, .PageCount = 1, .InterceptWrites = TRUE};
    }
    WdfRequestCompleteWithInformation(r, st, NT_SUCCESS(st) ? sizeof(*out) : 0);
}

static void
spf_event_complete(struct spf *p, WDFREQUEST r)
{
    SRIOV_PNP_EVENT_COMPLETE *in;
    NTSTATUS st = WdfRequestRetrieveInputBuffer(r, sizeof(*in), (PVOID *)&in, NULL);

    if (NT_SUCCESS(st)) {
        p->ec_status = in->QueryStatus;
    }
    __atomic_store_n(&p->ec_entered, 1, __ATOMIC_SEQ_CST);
    if (p->hold_event_complete) {
        KeWaitForSingleObject(&p->ec_gate, Executive, KernelMode, FALSE, NULL);
    }
    __atomic_store_n(&p->ec_done, 1, __ATOMIC_SEQ_CST);
    WdfRequestComplete(r, st);
}

static void
spf_hold(WDFREQUEST r, WDFQUEUE q)
{
    NTSTATUS st = WdfRequestForwardToIoQueue(r, q);

    if (!NT_SUCCESS(st)) {
        WdfRequestComplete(r, st);
    }
}

static EVT_WDF_IO_QUEUE_IO_INTERNAL_DEVICE_CONTROL spf_ioctl;
static VOID
spf_ioctl(WDFQUEUE Queue, WDFREQUEST Request, size_t OutputBufferLength, size_t InputBufferLength, ULONG IoControlCode)
{
    struct spf *p = SpfGetContext(WdfIoQueueGetDevice(Queue))->spf;

    (void)InputBufferLength;
    switch (IoControlCode) {
    case IOCTL_SRIOV_ATTACH:
        p->attaches++;
        WdfRequestComplete(Request, STATUS_SUCCESS);
        break;
    case IOCTL_SRIOV_DETACH:
        p->detaches++;
        WdfRequestComplete(Request, STATUS_SUCCESS);
        break;
    case IOCTL_SRIOV_NOTIFICATION: spf_hold(Request, p->notify); break;
    case IOCTL_SRIOV_INVALIDATE_BLOCK:
    case IOCTL_SRIOV_MITIGATED_RANGE_UPDATE: spf_hold(Request, p->held); break;
    case IOCTL_SRIOV_EVENT_COMPLETE: spf_event_complete(p, Request); break;
    case IOCTL_SRIOV_QUERY_MITIGATED_RANGE_COUNT: spf_range_count(p, Request); break;
    case IOCTL_SRIOV_QUERY_MITIGATED_RANGES: spf_ranges(p, Request, OutputBufferLength); break;
    default: WdfRequestComplete(Request, STATUS_INVALID_DEVICE_REQUEST); break;
    }
}

static NTSTATUS
spf_manual_queue(WDFDEVICE device, WDFQUEUE *out)
{
    WDF_IO_QUEUE_CONFIG qc;

    WDF_IO_QUEUE_CONFIG_INIT(&qc, WdfIoQueueDispatchManual);
    qc.PowerManaged = WdfFalse;
    return WdfIoQueueCreate(device, &qc, WDF_NO_OBJECT_ATTRIBUTES, out);
}

static EVT_WDF_DRIVER_DEVICE_ADD spf_device_add;
static NTSTATUS
spf_device_add(WDFDRIVER Driver, PWDFDEVICE_INIT DeviceInit)
{
    WDF_OBJECT_ATTRIBUTES attrs;
    WDF_IO_QUEUE_CONFIG qc;
    WDFDEVICE device;
    NTSTATUS st;

    (void)Driver;
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attrs, SPF_CONTEXT);
    st = WdfDeviceCreate(&DeviceInit, &attrs, &device);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    SpfGetContext(device)->spf = the_spf;
    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&qc, WdfIoQueueDispatchParallel);
    qc.EvtIoInternalDeviceControl = spf_ioctl;
    qc.PowerManaged = WdfFalse;
    st = WdfIoQueueCreate(device, &qc, WDF_NO_OBJECT_ATTRIBUTES, WDF_NO_HANDLE);
    st = NT_SUCCESS(st) ? spf_manual_queue(device, &the_spf->notify) : st;
    st = NT_SUCCESS(st) ? spf_manual_queue(device, &the_spf->held) : st;
    return NT_SUCCESS(st) ? WdfDeviceCreateDeviceInterface(device, &GUID_SPF_CLASS, NULL) : st;
}

static DRIVER_INITIALIZE spf_driver_entry;
static NTSTATUS
spf_driver_entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    WDF_DRIVER_CONFIG config;

    WDF_DRIVER_CONFIG_INIT(&config, spf_device_add);
    return WdfDriverCreate(DriverObject, RegistryPath, WDF_NO_OBJECT_ATTRIBUTES, &config, WDF_NO_HANDLE);
}

/* ---- the world: fixture stack + runtime host + scripted PF + broker ---------------------------- */

struct world {
    struct fx fx;
    struct spf spf;
    struct wdf_host *host;
    struct wdf_node *node;
    struct wdf_driver_module *drv;
    struct wdf_target *target;
    struct vsp_broker *b;
};

static void
world_up(struct world *w)
{
    struct wdf_host_config hc = {.clock = WDF_CLOCK_VIRTUAL};
    struct wdf_pdo_config pc = {.hardware_id = "PCI\\VEN_8086&DEV_10FB", .instance_id = "0000:07:00.0"};
    struct vsp_broker_config bc;
    char **links = NULL;

    memset(w, 0, sizeof(*w));
    assert_int_equal(fx_init(&w->fx, false), 0);
    KeInitializeEvent(&w->spf.ec_gate, NotificationEvent, FALSE);
    the_spf = &w->spf;
    assert_int_equal(wdf_host_create(&hc, &w->host), STATUS_SUCCESS);
    w->spf.ec_gate.Host = w->host;
    wdf_thread_bind(w->host);
    assert_int_equal(wdf_pdo_create(w->host, &pc, &w->node), STATUS_SUCCESS);
    assert_int_equal(wdf_driver_load(w->host, "spf", spf_driver_entry, &w->drv), STATUS_SUCCESS);
    assert_int_equal(wdf_node_add_driver(w->node, w->drv, WDF_ROLE_FUNCTION), STATUS_SUCCESS);
    assert_int_equal(wdf_pnp_start(w->node), STATUS_SUCCESS);
    assert_int_equal(wdf_interface_list(w->host, &GUID_SPF_CLASS, &links), STATUS_SUCCESS);
    assert_non_null(links[0]);
    assert_int_equal(wdf_target_open(w->host, links[0], KernelMode, NULL, NULL, &w->target), STATUS_SUCCESS);
    wdf_interface_list_free(links);
    bc = (struct vsp_broker_config){.pf = 0,
                                    .target = w->target,
                                    .host = w->host,
                                    .binding = w->fx.binding,
                                    .vmm = w->fx.vmm,
                                    .vpci = w->fx.vpci,
                                    .log = w->fx.log,
                                    .clock = &w->fx.mc.clock,
                                    .answer_timeout_ns = 30 * VSP_NS_PER_S,
                                    .policy = VSP_STOP_VETO};
    assert_int_equal(vsp_broker_create(&bc, &w->b), 0);
    assert_true(vsp_broker_wait_attach(w->b, REAL_MS));
}

static void
world_down(struct world *w)
{
    vsp_broker_put(w->b);
    wdf_target_close(w->target);
    wdf_host_destroy(w->host);
    wdf_thread_bind(NULL);
    fx_fini(&w->fx);
    the_spf = NULL;
}

/* ---- the regressions ------------------------------------------------------------------------------ */

static void
ranges_changed_between_count_and_read_are_read_again(void **state)
{
    struct world w;
    struct vsp_intercept_map *map;

    (void)state;
    world_up(&w);
    w.spf.grow_once = 1;
    assert_int_equal(vsp_broker_watch_vf(w.b, 2), 0);
    assert_int_equal(w.spf.count_calls, 2);  /* counted again after the refused read */
    assert_int_equal(w.spf.ranges_calls, 2); /* the refused read, then the new list */
    assert_int_equal(vsp_event_log_total(w.fx.log, VSP_EV_PF_ERROR), 0);
    assert_int_equal(vsp_event_log_total(w.fx.log, VSP_EV_INTERCEPT_UPDATE), 1);
    map = vsp_pf_intercept(w.fx.binding, 2);
    assert_non_null(map);
    assert_true(vsp_intercept_traps(map, 0, 0x1000, 4, true)); /* page 1 of BAR0, writes: the PF's new list */
    assert_false(vsp_intercept_traps(map, 0, 0x1000, 4, false));
    assert_false(vsp_intercept_traps(map, 0, 0x0, 4, true));
    world_down(&w);
}

static void
ranges_shrunk_between_count_and_read_are_read_again(void **state)
{
    struct world w;
    struct vsp_intercept_map *map;

    (void)state;
    world_up(&w);
    w.spf.shrink_once = 1;
    assert_int_equal(vsp_broker_watch_vf(w.b, 2), 0);
    assert_int_equal(w.spf.count_calls, 2);  /* counted again after the short answer */
    assert_int_equal(w.spf.ranges_calls, 2); /* the short answer, then the list as counted */
    assert_int_equal(vsp_event_log_total(w.fx.log, VSP_EV_PF_ERROR), 0);
    assert_int_equal(vsp_event_log_total(w.fx.log, VSP_EV_INTERCEPT_UPDATE), 1);
    map = vsp_pf_intercept(w.fx.binding, 2);
    assert_non_null(map);
    assert_true(vsp_intercept_traps(map, 0, 0x1000, 4, true)); /* the one range the PF has */
    assert_false(vsp_intercept_traps(map, 0, 0x0, 4, true));
    world_down(&w);
}

struct stopper {
    struct vsp_broker *b;
    struct spf *spf;
    volatile int returned;
    int ec_done_at_return;
};

static void *
stop_main(void *arg)
{
    struct stopper *st = arg;

    vsp_broker_stop(st->b, false, "test stop");
    st->ec_done_at_return = __atomic_load_n(&st->spf->ec_done, __ATOMIC_SEQ_CST);
    __atomic_store_n(&st->returned, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* The thread that decides the round (a guest's answer thread in the stress run; here the deadline). */
static void *
tick_main(void *arg)
{
    vsp_broker_tick(arg);
    return NULL;
}

static bool
wait_flag(volatile int *flag, unsigned ms)
{
    for (unsigned i = 0; i < ms && __atomic_load_n(flag, __ATOMIC_SEQ_CST) == 0; i++) {
        struct timespec ts = {0, 1000000};

        nanosleep(&ts, NULL);
    }
    return __atomic_load_n(flag, __ATOMIC_SEQ_CST) != 0;
}

/* Wait (real time) until the broker has its query-stop round open. */
static bool
wait_round_open(struct vsp_broker *b)
{
    struct vsp_broker_status bs;

    for (unsigned i = 0; i < REAL_MS; i++) {
        struct timespec ts = {0, 1000000};

        vsp_broker_status(b, &bs);
        if (bs.round_open) {
            return true;
        }
        nanosleep(&ts, NULL);
    }
    return false;
}

/* Complete the held NOTIFICATION with @event (what the PF does when it raises one). */
static void
raise_event(struct world *w, SRIOV_PF_EVENT event)
{
    WDFREQUEST r = NULL;
    SRIOV_PF_EVENT *out;

    for (unsigned i = 0; i < REAL_MS && !NT_SUCCESS(WdfIoQueueRetrieveNextRequest(w->spf.notify, &r)); i++) {
        struct timespec ts = {0, 1000000};

        nanosleep(&ts, NULL);
    }
    assert_non_null(r);
    assert_int_equal(WdfRequestRetrieveOutputBuffer(r, sizeof(*out), (PVOID *)&out, NULL), STATUS_SUCCESS);
    *out = event;
    WdfRequestCompleteWithInformation(r, STATUS_SUCCESS, sizeof(*out));
}

static void
stop_drains_an_event_complete_in_flight(void **state)
{
    struct world w;
    struct stopper st;
    pthread_t decider, stopper;
    struct timespec grace = {0, 200000000};

    (void)state;
    world_up(&w);
    w.spf.hold_event_complete = true;
    /* VF 2 in the VM: the round waits for it (nobody asks it here: no answer routing). */
    assert_int_equal(vsp_vmm_assign(w.fx.vmm, 0, 2, w.fx.vm, NULL), 0);
    raise_event(&w, SriovEventPfQueryStopDevice);
    for (unsigned i = 0; i < REAL_MS && !vsp_event_log_find(w.fx.log, VSP_EV_QUERY_STOP, 0, -1, -1, NULL); i++) {
        struct timespec ts = {0, 1000000};

        nanosleep(&ts, NULL);
    }
    assert_true(wait_round_open(w.b));
    /* The deadline passes; the deciding thread sends EVENT_COMPLETE, which the PF holds. */
    vsp_manual_clock_advance(&w.fx.mc, 31 * VSP_NS_PER_S);
    assert_int_equal(pthread_create(&decider, NULL, tick_main, w.b), 0);
    assert_true(wait_flag(&w.spf.ec_entered, REAL_MS));
    st = (struct stopper){.b = w.b, .spf = &w.spf};
    assert_int_equal(pthread_create(&stopper, NULL, stop_main, &st), 0);
    nanosleep(&grace, NULL);
    assert_false(__atomic_load_n(&st.returned, __ATOMIC_SEQ_CST)); /* still waiting for the send */
    KeSetEvent(&w.spf.ec_gate, 0, FALSE);
    pthread_join(stopper, NULL);
    pthread_join(decider, NULL);
    assert_true(st.returned);
    assert_int_equal(st.ec_done_at_return, 1);            /* the PF had finished EVENT_COMPLETE first */
    assert_int_equal(w.spf.ec_status, STATUS_IO_TIMEOUT); /* the veto policy's answer for a silent VM */
    assert_int_equal(w.spf.detaches, 1);
    world_down(&w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ranges_changed_between_count_and_read_are_read_again),
        cmocka_unit_test(ranges_shrunk_between_count_and_read_are_read_again),
        cmocka_unit_test(stop_drains_an_event_complete_in_flight),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
