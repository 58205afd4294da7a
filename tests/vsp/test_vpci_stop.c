/*
 * tests/vsp/test_vpci_stop.c - the guest leg of a rebalance (vsp/vpci_stop.c)
 * against a raw protocol guest.
 *
 * PCI_QUERY_STOP is an asynchronous channel request: the asking thread sends,
 * the VM's dispatch thread hands the answer over.  What the stack relies on, and
 * what these cases check from the outside (the guest end of the channel driven by
 * hand, the answer callback counting what it is told, the event log and the
 * host's counters): every asked slot is reported exactly once - with the guest's
 * own status when it answers, STATUS_IO_TIMEOUT when the real-time wait runs out,
 * STATUS_CANCELLED when the round's stop-over comes first, STATUS_DEVICE_REMOVED
 * when the channel or the host goes, STATUS_INSUFFICIENT_RESOURCES when the query
 * could not even be built - and an answer nobody waits for any more is dropped
 * without a bad-packet event.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "vpci_fixture.h"

#define VF 5u
#define SHORT_WAIT_NS (50 * (int64_t)VSP_NS_PER_MS)

struct told {
    atomic_uint calls;
    atomic_int pf, vf; /* checked by the test thread: no cmocka assertion on the host's threads */
    atomic_bool answered;
    atomic_int status;
    _Atomic uint64_t cookie;
};

static void
on_told(void *ctx, uint64_t cookie, int vm, uint32_t slot, int pf, uint16_t vf, bool answered, NTSTATUS status)
{
    struct told *t = ctx;

    (void)vm;
    (void)slot;
    atomic_store(&t->pf, pf);
    atomic_store(&t->vf, vf);
    atomic_store(&t->answered, answered);
    atomic_store(&t->status, status);
    atomic_store(&t->cookie, cookie);
    atomic_fetch_add(&t->calls, 1);
}

struct case_fx {
    struct fx f;
    struct told t;
    uint32_t slot;
};

static int
setup(void **state)
{
    struct case_fx *c = pv_calloc(1, sizeof(*c));

    assert_non_null(c);
    assert_int_equal(fx_init(&c->f, false), 0);
    assert_int_equal(vsp_vmm_assign(c->f.vmm, 0, VF, c->f.vm, &c->slot), 0);
    assert_int_equal(fx_negotiate(&c->f, PCI_PROTOCOL_VERSION_1_4), STATUS_SUCCESS);
    *state = c;
    return 0;
}

static int
teardown(void **state)
{
    struct case_fx *c = *state;

    fx_fini(&c->f);
    pv_free(c);
    return 0;
}

/* The guest's next PCI_QUERY_STOP (relations skipped): its transaction id. */
static uint64_t
guest_gets_query(struct case_fx *c)
{
    struct vpci_msg m;

    do {
        assert_int_equal(fx_recv(&c->f, &m, FX_WAIT_NS), STATUS_SUCCESS);
    } while (m.type == PCI_BUS_RELATIONS || m.type == PCI_BUS_RELATIONS2);
    assert_int_equal(m.type, PCI_QUERY_STOP);
    assert_int_equal(m.slot, c->slot);
    assert_true(c->f.rx->wants_reply);
    return c->f.rx->trans_id;
}

static void
answer_carries_the_guests_status(void **state)
{
    struct case_fx *c = *state;
    uint64_t id;

    assert_int_equal(vsp_vpci_query_stop(c->f.vpci, 0, 7, FX_WAIT_NS, on_told, &c->t), 1);
    id = guest_gets_query(c);
    assert_int_equal(atomic_load(&c->t.calls), 0); /* nothing before the guest speaks */
    assert_int_equal(vpci_chan_reply_status(c->f.guest, id, STATUS_DEVICE_BUSY, FX_WAIT_NS), STATUS_SUCCESS);
    assert_true(fx_wait_count(&c->t.calls, 1));
    assert_true(atomic_load(&c->t.answered));
    assert_int_equal(atomic_load(&c->t.status), STATUS_DEVICE_BUSY); /* a refusal, passed through */
    assert_int_equal(atomic_load(&c->t.cookie), 7);
    assert_int_equal(atomic_load(&c->t.pf), 0);
    assert_int_equal(atomic_load(&c->t.vf), VF);
    assert_int_equal(vsp_vpci_stop_done(c->f.vpci, 0, false), 1); /* nothing left to cancel */
    assert_int_equal(atomic_load(&c->t.calls), 1);
}

static void
silent_guest_times_out_once(void **state)
{
    struct case_fx *c = *state;
    struct vsp_vpci_stats vs;
    uint64_t id, bad;

    assert_int_equal(vsp_vpci_query_stop(c->f.vpci, 0, 8, SHORT_WAIT_NS, on_told, &c->t), 1);
    id = guest_gets_query(c);
    assert_true(fx_wait_count(&c->t.calls, 1)); /* the dispatch thread ends the wait */
    assert_false(atomic_load(&c->t.answered));
    assert_int_equal(atomic_load(&c->t.status), STATUS_IO_TIMEOUT);
    /* The answer after the wait: dropped quietly, not reported again. */
    bad = vsp_event_log_total(c->f.log, VSP_EV_BAD_PACKET);
    assert_int_equal(vpci_chan_reply_status(c->f.guest, id, STATUS_SUCCESS, FX_WAIT_NS), STATUS_SUCCESS);
    assert_false(fx_wait_count(&c->t.calls, 2));
    assert_int_equal(vsp_event_log_total(c->f.log, VSP_EV_BAD_PACKET), bad);
    vsp_vpci_host_stats(c->f.host, &vs);
    assert_int_equal(vs.queries_abandoned, 1);
}

static void
stop_over_cancels_the_waiting_query(void **state)
{
    struct case_fx *c = *state;
    struct vpci_msg m;

    assert_int_equal(vsp_vpci_query_stop(c->f.vpci, 0, 9, FX_WAIT_NS, on_told, &c->t), 1);
    (void)guest_gets_query(c);
    assert_int_equal(vsp_vpci_stop_done(c->f.vpci, 0, true), 1);
    assert_int_equal(atomic_load(&c->t.calls), 1); /* at once, by the thread that ended the round */
    assert_false(atomic_load(&c->t.answered));
    assert_int_equal(atomic_load(&c->t.status), STATUS_CANCELLED);
    assert_int_equal(fx_recv(&c->f, &m, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal(m.type, PCI_REENABLE); /* after the query, never before it */
}

static void
channel_gone_reports_removed(void **state)
{
    struct case_fx *c = *state;

    assert_int_equal(vsp_vpci_query_stop(c->f.vpci, 0, 10, FX_WAIT_NS, on_told, &c->t), 1);
    (void)guest_gets_query(c);
    vmbus_channel_rescind(c->f.guest); /* the VM's end goes */
    assert_true(fx_wait_count(&c->t.calls, 1));
    assert_false(atomic_load(&c->t.answered));
    assert_int_equal(atomic_load(&c->t.status), STATUS_DEVICE_REMOVED);
    /* A query to a gone channel is refused and reported at once. */
    assert_int_equal(vsp_vpci_query_stop(c->f.vpci, 0, 11, FX_WAIT_NS, on_told, &c->t), 1);
    assert_int_equal(atomic_load(&c->t.calls), 2);
    assert_false(atomic_load(&c->t.answered));
    assert_int_equal(atomic_load(&c->t.status), STATUS_DEVICE_REMOVED);
}

static void
host_destroy_reports_the_query_out(void **state)
{
    struct case_fx *c = *state;

    assert_int_equal(vsp_vpci_query_stop(c->f.vpci, 0, 12, FX_WAIT_NS, on_told, &c->t), 1);
    (void)guest_gets_query(c);
    vsp_vpci_host_destroy(c->f.host);
    c->f.host = NULL;
    assert_int_equal(atomic_load(&c->t.calls), 1);
    assert_int_equal(atomic_load(&c->t.status), STATUS_DEVICE_REMOVED);
}

static void
out_of_memory_reports_each_slot_once(void **state)
{
    struct case_fx *c = *state;
    struct vpci_msg m;

    pv_alloc_fail_after(0, 1);
    assert_int_equal(vsp_vpci_query_stop(c->f.vpci, 0, 13, FX_WAIT_NS, on_told, &c->t), 1);
    pv_alloc_fail_after(-1, 0);
    assert_int_equal(atomic_load(&c->t.calls), 1);
    assert_false(atomic_load(&c->t.answered));
    assert_int_equal(atomic_load(&c->t.status), STATUS_INSUFFICIENT_RESOURCES);
    do { /* nothing was sent */
        if (fx_recv(&c->f, &m, 50 * (int64_t)VSP_NS_PER_MS) != STATUS_SUCCESS) {
            break;
        }
        assert_int_not_equal(m.type, PCI_QUERY_STOP);
    } while (true);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(answer_carries_the_guests_status, setup, teardown),
        cmocka_unit_test_setup_teardown(silent_guest_times_out_once, setup, teardown),
        cmocka_unit_test_setup_teardown(stop_over_cancels_the_waiting_query, setup, teardown),
        cmocka_unit_test_setup_teardown(channel_gone_reports_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(host_destroy_reports_the_query_out, setup, teardown),
        cmocka_unit_test_setup_teardown(out_of_memory_reports_each_slot_once, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
