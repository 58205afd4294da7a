/*
 * tests/wdf/test_target_remove.c - when the target's removal upcalls run
 * relative to the driver's own PnP IRPs, and that the target can be used from
 * inside them.
 *
 * The virtualization stack relies on both (docs/STACK.md, contract.md 7.6): it
 * sends DETACH from its query_remove upcall, which only works while the driver
 * has not yet seen IRP_MN_QUERY_REMOVE_DEVICE (the reference PF refuses IOCTLs
 * from then on), and it sends ATTACH and the range queries from its
 * remove_canceled upcall, which only works once the driver has seen
 * IRP_MN_CANCEL_REMOVE_DEVICE.  The oracle is the PnP manager's own state (the
 * node leaves STARTED only after the QUERY_REMOVE IRP succeeded and returns to
 * it with the CANCEL_REMOVE IRP) and the driver's answer to a request sent from
 * the upcall.
 */
#include "fixture.h"

struct probe {
    struct fx *f;
    enum wdf_pnp_state state_in_query, state_in_cancel;
    NTSTATUS echo_in_query, echo_in_cancel;
    ULONG_PTR info_in_query, info_in_cancel;
    int queries, cancels, completes;
};

static NTSTATUS
echo(struct wdf_target *t, ULONG tag, ULONG_PTR *info)
{
    return wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_ECHO, &tag, sizeof(tag), NULL, 0, 0, info);
}

static NTSTATUS
pr_query(void *ctx, struct wdf_target *t)
{
    struct probe *p = ctx;

    p->queries++;
    p->state_in_query = wdf_node_state(p->f->node);
    p->echo_in_query = echo(t, 0x51, &p->info_in_query);
    return STATUS_SUCCESS;
}

static void
pr_canceled(void *ctx, struct wdf_target *t)
{
    struct probe *p = ctx;

    p->cancels++;
    p->state_in_cancel = wdf_node_state(p->f->node);
    p->echo_in_cancel = echo(t, 0xCA, &p->info_in_cancel);
}

static void
pr_complete(void *ctx, struct wdf_target *t, bool surprise)
{
    (void)t;
    (void)surprise;
    ((struct probe *)ctx)->completes++;
}

/* query_remove runs before the IRP, remove_canceled after it; the target works in both. */
static void
test_upcalls_bracket_the_irps(void **state)
{
    struct wdf_target_callbacks cb = {pr_query, pr_canceled, pr_complete};
    struct fx f;
    struct probe p = {.f = &f};
    struct wdf_target *t;
    ULONG_PTR info = 0;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    fx_setup(&f);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    t = fx_open(&f, KernelMode, &cb, &p);

    assert_int_equal(wdf_pnp_query_remove(f.node), STATUS_SUCCESS);
    assert_int_equal(p.queries, 1);
    assert_int_equal(p.state_in_query, WDF_PNP_STARTED); /* the QUERY_REMOVE IRP has not been sent yet */
    assert_int_equal(p.echo_in_query, STATUS_SUCCESS);   /* the driver answered from inside the upcall */
    assert_int_equal(p.info_in_query, 0x51);
    assert_int_equal(wdf_node_state(f.node), WDF_PNP_REMOVE_PENDING);
    assert_int_equal(p.cancels, 0);

    assert_int_equal(wdf_pnp_cancel_remove(f.node), STATUS_SUCCESS);
    assert_int_equal(p.cancels, 1);
    assert_int_equal(p.state_in_cancel, WDF_PNP_STARTED); /* the CANCEL_REMOVE IRP was processed first */
    assert_int_equal(p.echo_in_cancel, STATUS_SUCCESS);
    assert_int_equal(p.info_in_cancel, 0xCA);
    assert_int_equal(p.completes, 0);

    /* A second round behaves the same, and the target still works after it. */
    assert_int_equal(wdf_pnp_query_remove(f.node), STATUS_SUCCESS);
    assert_int_equal(wdf_pnp_cancel_remove(f.node), STATUS_SUCCESS);
    assert_int_equal(p.queries, 2);
    assert_int_equal(p.cancels, 2);
    assert_int_equal(echo(t, 7, &info), STATUS_SUCCESS);
    assert_int_equal(info, 7);

    /* A completed removal: remove_complete, no remove_canceled. */
    assert_int_equal(wdf_pnp_remove_device(f.node), STATUS_SUCCESS);
    assert_int_equal(p.queries, 3);
    assert_int_equal(p.cancels, 2);
    assert_int_equal(p.completes, 1);
    assert_int_equal(echo(t, 7, &info), STATUS_NO_SUCH_DEVICE);
    wdf_target_close(t);
    fx_teardown(&f, 0);
}

/* A target closed before the query is not asked and not told of the cancel. */
static void
test_closed_target_gets_no_upcalls(void **state)
{
    struct wdf_target_callbacks cb = {pr_query, pr_canceled, pr_complete};
    struct fx f;
    struct probe p = {.f = &f}, q = {.f = &f};
    struct wdf_target *t, *u;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    fx_setup(&f);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    t = fx_open(&f, KernelMode, &cb, &p);
    u = fx_open(&f, KernelMode, &cb, &q);
    wdf_target_close(u);
    assert_int_equal(wdf_pnp_query_remove(f.node), STATUS_SUCCESS);
    assert_int_equal(wdf_pnp_cancel_remove(f.node), STATUS_SUCCESS);
    assert_int_equal(p.queries, 1);
    assert_int_equal(p.cancels, 1);
    assert_int_equal(q.queries, 0);
    assert_int_equal(q.cancels, 0);
    wdf_target_close(t);
    assert_int_equal(wdf_pnp_remove_device(f.node), STATUS_SUCCESS);
    fx_teardown(&f, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upcalls_bracket_the_irps),
        cmocka_unit_test(test_closed_target_gets_no_upcalls),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
