/*
 * tests/pf/test_pnp.c - the PnP/notification state machine (contract.md 4.3-4.6, 7.2).
 *
 * Each test is one of the orderings contract.md 7.2 lists as invariants; a small
 * "VSP" model holds queued NOTIFICATIONs as a counter and counts deliveries, so
 * exactly-once is checked by counting, independent of the machine's own
 * counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pf/pnp.h"

struct world {
    struct pf_pnp s;
    unsigned queued;    /* NOTIFICATIONs held by the PF */
    unsigned delivered; /* completed with an event */
    SRIOV_PF_EVENT last;
    unsigned cancelled;
    int gate_open;
    int unblocked;
};

static void
apply(struct world *w, unsigned act)
{
    SRIOV_PF_EVENT code;

    if (act & PF_PNP_CANCEL_NOTIFY) {
        w->cancelled += w->queued;
        w->queued = 0;
    }
    if (act & PF_PNP_GATE_CLOSE) {
        w->gate_open = 0;
    }
    if (act & PF_PNP_GATE_OPEN) {
        w->gate_open = 1;
    }
    if (act & PF_PNP_UNBLOCK) {
        w->unblocked++;
    }
    if ((act & PF_PNP_DELIVER) && w->queued > 0 && pf_pnp_take_event(&w->s, &code)) {
        w->queued--;
        w->delivered++;
        w->last = code;
    }
}

/* A NOTIFICATION arrives: queued, then the deliver helper runs. */
static void
notification(struct world *w)
{
    w->queued++;
    apply(w, PF_PNP_DELIVER);
}

static void
setup(struct world *w)
{
    pf_pnp_init(&w->s);
    w->queued = w->delivered = w->cancelled = 0;
    w->gate_open = 1;
    w->unblocked = 0;
    assert_int_equal(pf_pnp_attach(&w->s), STATUS_SUCCESS);
}

static void
test_notification_before_event(void **state)
{
    struct world w = {0};

    setup(&w);
    notification(&w);
    assert_int_equal(w.delivered, 0);
    apply(&w, pf_pnp_query_stop(&w.s));
    assert_int_equal(w.delivered, 1);
    assert_int_equal(w.last, SriovEventPfQueryStopDevice);
    assert_int_equal(w.gate_open, 0);
    apply(&w, pf_pnp_event_complete(&w.s, STATUS_SUCCESS));
    assert_int_equal(w.unblocked, 1);
    assert_int_equal(pf_pnp_wait_result(&w.s, false), STATUS_SUCCESS);
}

static void
test_notification_after_event_and_resent(void **state)
{
    struct world w = {0};

    setup(&w);
    apply(&w, pf_pnp_query_stop(&w.s));
    assert_int_equal(w.delivered, 0); /* nothing to deliver to yet */
    notification(&w);
    assert_int_equal(w.delivered, 1);
    /* Re-sent before EVENT_COMPLETE: stays queued, the event is not delivered twice. */
    notification(&w);
    notification(&w);
    assert_int_equal(w.delivered, 1);
    assert_int_equal(w.queued, 2);
    apply(&w, pf_pnp_event_complete(&w.s, STATUS_UNSUCCESSFUL));
    assert_int_equal(pf_pnp_wait_result(&w.s, false), STATUS_UNSUCCESSFUL); /* veto */
    /* The PnP manager sends CANCEL_STOP after a veto: Restart goes to a queued request. */
    apply(&w, pf_pnp_restart(&w.s));
    assert_int_equal(w.delivered, 2);
    assert_int_equal(w.last, SriovEventPfRestart);
    assert_int_equal(w.gate_open, 0);
    apply(&w, pf_pnp_event_complete(&w.s, STATUS_SUCCESS));
    apply(&w, pf_pnp_restart_done(&w.s));
    assert_int_equal(w.gate_open, 1);
    assert_int_equal(w.s.events_raised, 2);
}

static void
test_event_complete_without_event(void **state)
{
    struct world w = {0};

    setup(&w);
    assert_int_equal(pf_pnp_event_complete(&w.s, STATUS_UNSUCCESSFUL), 0);
    /* An EVENT_COMPLETE before the event was delivered is ignored too. */
    apply(&w, pf_pnp_query_stop(&w.s));
    assert_int_equal(pf_pnp_event_complete(&w.s, STATUS_UNSUCCESSFUL), 0);
    notification(&w);
    apply(&w, pf_pnp_event_complete(&w.s, STATUS_SUCCESS));
    assert_int_equal(pf_pnp_wait_result(&w.s, false), STATUS_SUCCESS);
}

static void
test_attach_gate(void **state)
{
    struct world w = {0};

    pf_pnp_init(&w.s);
    apply(&w, pf_pnp_query_stop(&w.s)); /* no VSP: no event, gate closes */
    assert_false(pf_pnp_has_event(&w.s));
    assert_int_equal(pf_pnp_attach(&w.s), STATUS_PENDING);
    apply(&w, pf_pnp_restart(&w.s)); /* START after the rebalance */
    assert_int_equal(pf_pnp_attach(&w.s), STATUS_SUCCESS);
    assert_int_equal(pf_pnp_attach(&w.s), STATUS_SHARING_VIOLATION);
    /* First start (no rebalance): no Restart event. */
    notification(&w);
    apply(&w, pf_pnp_restart(&w.s));
    assert_int_equal(w.delivered, 0);
}

static void
test_detach_mid_event(void **state)
{
    struct world w = {0};

    setup(&w);
    notification(&w);
    apply(&w, pf_pnp_query_stop(&w.s));
    assert_int_equal(w.delivered, 1);
    notification(&w);
    apply(&w, pf_pnp_detach(&w.s));
    assert_int_equal(w.unblocked, 1);                                  /* the PnP thread is released */
    assert_int_equal(w.cancelled, 1);                                  /* the re-sent NOTIFICATION is cancelled */
    assert_int_equal(pf_pnp_wait_result(&w.s, false), STATUS_SUCCESS); /* and the stop proceeds */
    assert_int_equal(w.gate_open, 0);
    assert_int_equal(pf_pnp_attach(&w.s), STATUS_PENDING); /* no attaching mid-rebalance */
    apply(&w, pf_pnp_restart(&w.s));                       /* nobody attached: no event, gate opens */
    assert_int_equal(w.gate_open, 1);
    assert_int_equal(pf_pnp_attach(&w.s), STATUS_SUCCESS);
}

static void
test_timeout_counts_as_success(void **state)
{
    struct world w = {0};

    setup(&w);
    notification(&w);
    apply(&w, pf_pnp_query_stop(&w.s));
    assert_int_equal(pf_pnp_wait_result(&w.s, true), STATUS_SUCCESS);
    assert_int_equal(pf_pnp_event_complete(&w.s, STATUS_UNSUCCESSFUL), 0); /* late answer ignored */
}

static void
test_removal(void **state)
{
    struct world w = {0};

    setup(&w);
    notification(&w);
    apply(&w, pf_pnp_query_stop(&w.s));
    notification(&w);
    apply(&w, pf_pnp_remove(&w.s));
    assert_int_equal(w.unblocked, 1);
    assert_int_equal(w.cancelled, 1);
    assert_int_equal(w.gate_open, 1);                             /* wakes a blocked ATTACH ... */
    assert_int_equal(pf_pnp_attach(&w.s), STATUS_DELETE_PENDING); /* ... which then fails */
    assert_false(pf_pnp_accepting(&w.s));
}

static void
test_query_remove_cancel(void **state)
{
    struct world w = {0};

    setup(&w);
    notification(&w);
    apply(&w, pf_pnp_query_remove(&w.s));
    assert_int_equal(w.cancelled, 1);
    assert_false(pf_pnp_accepting(&w.s));
    apply(&w, pf_pnp_cancel_remove(&w.s));
    assert_true(pf_pnp_accepting(&w.s));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notification_before_event),
        cmocka_unit_test(test_notification_after_event_and_resent),
        cmocka_unit_test(test_event_complete_without_event),
        cmocka_unit_test(test_attach_gate),
        cmocka_unit_test(test_detach_mid_event),
        cmocka_unit_test(test_timeout_counts_as_success),
        cmocka_unit_test(test_removal),
        cmocka_unit_test(test_query_remove_cancel),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
