/*
 * pf/conform/checks_pnp.c - the PnP/notification protocol (contract.md 4.3-4.6,
 * 7.2, 7.6): exactly-once delivery under every ordering, the ATTACH gate, DETACH
 * in the middle of an event, the veto path, a full rebalance, removal.
 *
 * The suite plays the VSP: NOTIFICATIONs are sent asynchronously, PnP IRPs run
 * on their own thread (they block while the PF holds them), and every "must not
 * complete" is watched for settle_ms of real time.
 */
#include <string.h>

#include "pf/conform/checks.h"

static NTSTATUS
attach(struct env *env)
{
    return env_ioctl(env, false, IRP_MJ_DEVICE_CONTROL, IOCTL_SRIOV_ATTACH, NULL, 0, NULL, 0, NULL);
}

static NTSTATUS
detach(struct env *env)
{
    return env_ioctl(env, false, IRP_MJ_DEVICE_CONTROL, IOCTL_SRIOV_DETACH, NULL, 0, NULL, 0, NULL);
}

static NTSTATUS
event_complete(struct env *env, NTSTATUS status)
{
    SRIOV_PNP_EVENT_COMPLETE in = {status};

    return env_ioctl(env, false, IRP_MJ_DEVICE_CONTROL, IOCTL_SRIOV_EVENT_COMPLETE, &in, sizeof(in), NULL, 0, NULL);
}

static struct cio *
notification(struct env *env)
{
    NTSTATUS st;

    return env_ioctl_async(env, IOCTL_SRIOV_NOTIFICATION, NULL, 0, sizeof(SRIOV_PF_EVENT), &st);
}

/* "@c completed with @event": a one-line reason on mismatch, or NULL. */
static const char *
delivered(struct env *env, struct cio *c, SRIOV_PF_EVENT event, char *why, size_t n)
{
    if (c == NULL) {
        return "NOTIFICATION was not accepted";
    }
    if (!cio_wait(c, env->opt->release_ms)) {
        snprintf(why, n, "NOTIFICATION not completed within %u ms of event %d", env->opt->release_ms, event);
        return why;
    }
    if (c->status != STATUS_SUCCESS || c->info != sizeof(SRIOV_PF_EVENT) || memcmp(c->out, &event, 4) != 0) {
        snprintf(why, n, "NOTIFICATION completed %s, Information %lu, event %d (want event %d)", st_name(c->status),
                 (unsigned long)c->info, (int)(c->out[0] | c->out[1] << 8), event);
        return why;
    }
    return NULL;
}

#define EXPECT_DELIVERED(c, ev)                                                                                        \
    do {                                                                                                               \
        char _why[200];                                                                                                \
        const char *_e = delivered(env, (c), (ev), _why, sizeof(_why));                                                \
        if (_e != NULL) {                                                                                              \
            FAILF("%s", _e);                                                                                           \
        }                                                                                                              \
    } while (0)

#define EXPECT_HELD(c, what)                                                                                           \
    do {                                                                                                               \
        EXPECT((c) != NULL, "%s: not accepted", what);                                                                 \
        EXPECT(!cio_wait((c), env->opt->settle_ms), "%s completed (%s, event %d): delivered twice?", what,             \
               st_name((c)->status), (int)(c)->out[0]);                                                                \
    } while (0)

/* Finish a query-stop the check started: EVENT_COMPLETE(success) and wait for the job. */
static NTSTATUS
finish_query_stop(struct env *env, struct pnp_job *job, bool *done)
{
    NTSTATUS st = event_complete(env, STATUS_SUCCESS);

    *done = env_pnp_wait(job, env->opt->release_ms);
    return st;
}

static void
check_before_event(struct env *env, struct pf_conform_result *r)
{
    struct cio *n1, *n2;
    struct pnp_job *job;
    bool done;

    EXPECT_ST(attach(env), STATUS_SUCCESS, "ATTACH");
    n1 = notification(env);
    EXPECT_HELD(n1, "NOTIFICATION with no event");
    job = env_pnp_start(env, wdf_pnp_query_stop);
    EXPECT_DELIVERED(n1, SriovEventPfQueryStopDevice);
    n2 = notification(env);
    EXPECT_HELD(n2, "second NOTIFICATION before EVENT_COMPLETE");
    EXPECT(!env_pnp_wait(job, 0), "QUERY_STOP finished before EVENT_COMPLETE");
    EXPECT_ST(finish_query_stop(env, job, &done), STATUS_SUCCESS, "EVENT_COMPLETE");
    EXPECT(done && job->status == STATUS_SUCCESS, "QUERY_STOP after EVENT_COMPLETE(success): %s",
           done ? st_name(job->status) : "still held");
    EXPECT(!cio_done(n2), "the re-sent NOTIFICATION completed without a new event");
    PASSF("NOTIFICATION queued before QUERY_STOP got it once; the next one stayed queued");
}

static void
check_after_event(struct env *env, struct pf_conform_result *r)
{
    struct cio *n1, *n2, *n3;
    struct pnp_job *job;
    bool done;

    EXPECT_ST(attach(env), STATUS_SUCCESS, "ATTACH");
    job = env_pnp_start(env, wdf_pnp_query_stop);
    env_pf_waiting(env);
    n1 = notification(env);
    EXPECT_DELIVERED(n1, SriovEventPfQueryStopDevice);
    n2 = notification(env);
    n3 = notification(env);
    EXPECT_HELD(n2, "NOTIFICATION re-sent after delivery");
    EXPECT(!cio_done(n3), "third NOTIFICATION completed");
    EXPECT_ST(finish_query_stop(env, job, &done), STATUS_SUCCESS, "EVENT_COMPLETE");
    EXPECT(done && job->status == STATUS_SUCCESS, "QUERY_STOP: %s", done ? st_name(job->status) : "still held");
    PASSF("an event raised first went to the next NOTIFICATION, exactly once");
}

static void
check_resent(struct env *env, struct pf_conform_result *r)
{
    struct cio *n[4];
    struct pnp_job *job;
    unsigned completed = 0;
    bool done;

    EXPECT_ST(attach(env), STATUS_SUCCESS, "ATTACH");
    n[0] = notification(env);
    n[1] = notification(env);
    job = env_pnp_start(env, wdf_pnp_query_stop);
    env_pf_waiting(env);
    n[2] = notification(env);
    n[3] = notification(env);
    env_sleep_ms(env->opt->settle_ms);
    for (unsigned i = 0; i < 4; i++) {
        completed += n[i] != NULL && cio_done(n[i]);
    }
    EXPECT(completed == 1, "%u NOTIFICATIONs completed for one QueryStop event", completed);
    EXPECT_ST(finish_query_stop(env, job, &done), STATUS_SUCCESS, "EVENT_COMPLETE");
    EXPECT(done, "QUERY_STOP still held after EVENT_COMPLETE");
    PASSF("four NOTIFICATIONs around one event: exactly one completed");
}

static void
check_short_buffer(struct env *env, struct pf_conform_result *r)
{
    struct cio *bad, *good;
    struct pnp_job *job;
    NTSTATUS st;
    bool done;

    EXPECT_ST(attach(env), STATUS_SUCCESS, "ATTACH");
    bad = env_ioctl_async(env, IOCTL_SRIOV_NOTIFICATION, NULL, 0, 2, &st);
    if (bad != NULL) {
        EXPECT(cio_wait(bad, env->opt->release_ms) && bad->status == STATUS_BUFFER_TOO_SMALL,
               "NOTIFICATION with a 2-byte buffer was queued instead of failing with STATUS_BUFFER_TOO_SMALL");
    } else {
        EXPECT(st == STATUS_BUFFER_TOO_SMALL, "2-byte NOTIFICATION: %s", st_name(st));
    }
    job = env_pnp_start(env, wdf_pnp_query_stop);
    good = notification(env);
    EXPECT_DELIVERED(good, SriovEventPfQueryStopDevice);
    EXPECT_ST(finish_query_stop(env, job, &done), STATUS_SUCCESS, "EVENT_COMPLETE");
    EXPECT(done, "QUERY_STOP still held");
    PASSF("a short NOTIFICATION failed at once and did not consume the event (the docs' example defect)");
}

static void
check_spurious_complete(struct env *env, struct pf_conform_result *r)
{
    struct cio *n1;
    struct pnp_job *job;
    bool done;

    EXPECT_ST(event_complete(env, STATUS_UNSUCCESSFUL), STATUS_SUCCESS, "EVENT_COMPLETE before ATTACH");
    EXPECT_ST(attach(env), STATUS_SUCCESS, "ATTACH");
    EXPECT_ST(event_complete(env, STATUS_UNSUCCESSFUL), STATUS_SUCCESS, "EVENT_COMPLETE with no event");
    n1 = notification(env);
    job = env_pnp_start(env, wdf_pnp_query_stop);
    EXPECT_DELIVERED(n1, SriovEventPfQueryStopDevice);
    EXPECT_ST(finish_query_stop(env, job, &done), STATUS_SUCCESS, "EVENT_COMPLETE");
    EXPECT(done && job->status == STATUS_SUCCESS, "a stale EVENT_COMPLETE(failure) vetoed the next stop: %s",
           done ? st_name(job->status) : "still held");
    PASSF("EVENT_COMPLETE without an outstanding event is harmless");
}

static void
check_attach_gate(struct env *env, struct pf_conform_result *r)
{
    struct pnp_job *stop, *cancel, *a;

    stop = env_pnp_start(env, wdf_pnp_query_stop); /* nobody attached: no event, no wait */
    EXPECT(env_pnp_wait(stop, env->opt->release_ms) && stop->status == STATUS_SUCCESS,
           "QUERY_STOP with no VSP attached: %s", stop->done ? st_name(stop->status) : "held");
    a = env_run(env, attach); /* ATTACH may block in its handler: send it from a thread */
    EXPECT(a != NULL, "no thread for ATTACH");
    EXPECT(!env_pnp_wait(a, env->opt->settle_ms), "ATTACH completed (%s) while stopping for rebalance",
           st_name(a->status));
    cancel = env_pnp_start(env, wdf_pnp_cancel_stop);
    EXPECT(env_pnp_wait(a, env->opt->release_ms), "ATTACH still blocked after CANCEL_STOP");
    EXPECT(a->status == STATUS_SUCCESS, "ATTACH after CANCEL_STOP: %s", st_name(a->status));
    EXPECT(env_pnp_wait(cancel, env->opt->release_ms), "CANCEL_STOP did not return");
    EXPECT_ST(detach(env), STATUS_SUCCESS, "DETACH");
    /* The other path: QUERY_STOP -> STOP -> START; the gate stays closed until START has completed. */
    stop = env_pnp_start(env, wdf_pnp_query_stop);
    EXPECT(stop != NULL && env_pnp_wait(stop, env->opt->release_ms), "second QUERY_STOP held");
    stop = env_pnp_start(env, wdf_pnp_stop);
    EXPECT(stop != NULL && env_pnp_wait(stop, env->opt->release_ms) && stop->status == STATUS_SUCCESS, "STOP failed");
    a = env_run(env, attach);
    EXPECT(a != NULL, "no thread for ATTACH");
    EXPECT(!env_pnp_wait(a, env->opt->settle_ms), "ATTACH completed (%s) while stopped for rebalance",
           st_name(a->status));
    cancel = env_pnp_start(env, wdf_pnp_start);
    EXPECT(cancel != NULL && env_pnp_wait(cancel, env->opt->release_ms) && cancel->status == STATUS_SUCCESS,
           "restart START failed");
    EXPECT(env_pnp_wait(a, env->opt->release_ms), "ATTACH still blocked after the restart");
    EXPECT(a->status == STATUS_SUCCESS, "ATTACH after the restart: %s", st_name(a->status));
    PASSF("ATTACH held from QUERY_STOP until CANCEL_STOP, and across STOP until START completed");
}

static void
check_sharing(struct env *env, struct pf_conform_result *r)
{
    EXPECT_ST(attach(env), STATUS_SUCCESS, "first ATTACH");
    EXPECT_ST(attach(env), STATUS_SHARING_VIOLATION, "second ATTACH");
    EXPECT_ST(detach(env), STATUS_SUCCESS, "DETACH");
    EXPECT_ST(attach(env), STATUS_SUCCESS, "ATTACH after DETACH");
    PASSF("one attachment at a time");
}

static void
check_detach_mid_event(struct env *env, struct pf_conform_result *r)
{
    struct cio *n1, *n2;
    struct pnp_job *job, *a, *cancel;

    EXPECT_ST(attach(env), STATUS_SUCCESS, "ATTACH");
    n1 = notification(env);
    job = env_pnp_start(env, wdf_pnp_query_stop);
    EXPECT_DELIVERED(n1, SriovEventPfQueryStopDevice);
    n2 = notification(env);
    EXPECT_ST(detach(env), STATUS_SUCCESS, "DETACH during the event");
    if (!env_pnp_wait(job, env->opt->release_ms)) {
        env_release_stuck(env);
        FAILF("DETACH did not release the held QUERY_STOP within %u ms", env->opt->release_ms);
    }
    EXPECT(job->status == STATUS_SUCCESS, "QUERY_STOP after DETACH: %s, want success", st_name(job->status));
    EXPECT(n2 != NULL && cio_wait(n2, env->opt->release_ms) && n2->status == STATUS_CANCELLED,
           "queued NOTIFICATION after DETACH: %s", n2 != NULL && n2->done ? st_name(n2->status) : "still queued");
    a = env_run(env, attach);
    EXPECT(a != NULL && !env_pnp_wait(a, env->opt->settle_ms), "ATTACH mid-rebalance after DETACH was not held");
    cancel = env_pnp_start(env, wdf_pnp_cancel_stop); /* ends the rebalance, frees the ATTACH */
    EXPECT(cancel != NULL && env_pnp_wait(a, env->opt->release_ms), "ATTACH still held after CANCEL_STOP");
    PASSF("DETACH released QUERY_STOP (success), cancelled NOTIFICATIONs, closed the gate");
}

static void
check_veto(struct env *env, struct pf_conform_result *r)
{
    struct cio *n1, *n2;
    struct pnp_job *job;

    EXPECT_ST(attach(env), STATUS_SUCCESS, "ATTACH");
    n1 = notification(env);
    job = env_pnp_start(env, wdf_pnp_query_stop);
    EXPECT_DELIVERED(n1, SriovEventPfQueryStopDevice);
    n2 = notification(env);
    EXPECT_ST(event_complete(env, STATUS_DEVICE_BUSY), STATUS_SUCCESS, "EVENT_COMPLETE(STATUS_DEVICE_BUSY)");
    /* The PnP manager answers the veto with CANCEL_STOP, which raises Restart. */
    EXPECT_DELIVERED(n2, SriovEventPfRestart);
    EXPECT_ST(event_complete(env, STATUS_SUCCESS), STATUS_SUCCESS, "EVENT_COMPLETE(Restart)");
    EXPECT(env_pnp_wait(job, env->opt->release_ms), "query-stop/cancel-stop still held");
    EXPECT(job->status == STATUS_DEVICE_BUSY, "QUERY_STOP ended %s, want the VSP's STATUS_DEVICE_BUSY",
           st_name(job->status));
    EXPECT(wdf_node_state(env->node) == WDF_PNP_STARTED, "device not started after the veto");
    PASSF("EVENT_COMPLETE(failure) vetoed QUERY_STOP with that status; Restart followed CANCEL_STOP");
}

static NTSTATUS
stop_and_move(struct wdf_node *node)
{
    return wdf_pnp_stop(node);
}

static void
check_rebalance(struct env *env, struct pf_conform_result *r)
{
    CM_PARTIAL_RESOURCE_DESCRIPTOR before, after;
    struct pcivirt_bus_resources res;
    struct pcivirt_error err;
    struct cio *n1, *n2;
    struct pnp_job *job;
    bool done;

    EXPECT(env->have_sriov, "no SR-IOV table");
    EXPECT_ST(env->sriov.GetResourceForBar(env->sriov.Context, 0, 0, &before), STATUS_SUCCESS, "GetResourceForBar");
    EXPECT_ST(attach(env), STATUS_SUCCESS, "ATTACH");
    n1 = notification(env);
    job = env_pnp_start(env, wdf_pnp_query_stop);
    EXPECT_DELIVERED(n1, SriovEventPfQueryStopDevice);
    EXPECT_ST(finish_query_stop(env, job, &done), STATUS_SUCCESS, "EVENT_COMPLETE");
    EXPECT(done && job->status == STATUS_SUCCESS, "QUERY_STOP did not succeed");
    job = env_pnp_start(env, stop_and_move);
    EXPECT(env_pnp_wait(job, env->opt->release_ms) && job->status == STATUS_SUCCESS, "STOP failed");
    EXPECT(pv_sriov_assign_resources(env->dev, env->plat, &err) == 0, "re-assigning resources: %.200s", err.message);
    pv_sriov_query_resources(env->dev, &res);
    wdf_node_set_resources(env->node, res.bar, res.bar, 1);
    n2 = notification(env);
    job = env_pnp_start(env, wdf_pnp_start);
    EXPECT_DELIVERED(n2, SriovEventPfRestart);
    EXPECT_ST(event_complete(env, STATUS_SUCCESS), STATUS_SUCCESS, "EVENT_COMPLETE(Restart)");
    EXPECT(env_pnp_wait(job, env->opt->release_ms) && job->status == STATUS_SUCCESS, "restart START failed");
    EXPECT_ST(env->sriov.GetResourceForBar(env->sriov.Context, 0, 0, &after), STATUS_SUCCESS,
              "GetResourceForBar after restart");
    EXPECT(after.u.Memory.Start.QuadPart != before.u.Memory.Start.QuadPart,
           "GetResourceForBar still reports the old address 0x%llx after the BARs moved",
           (unsigned long long)before.u.Memory.Start.QuadPart);
    EXPECT_ST(attach(env), STATUS_SHARING_VIOLATION, "ATTACH after the restart (still attached)");
    PASSF("QueryStop, stop, new resources, start, Restart; resources re-read after START");
}

static void
check_surprise_removal(struct env *env, struct pf_conform_result *r)
{
    struct cio *n, *inv, *upd;
    SRIOV_MITIGATED_RANGE_UPDATE_INPUT in = {0};
    struct pnp_job *job;
    NTSTATUS st;

    EXPECT_ST(attach(env), STATUS_SUCCESS, "ATTACH");
    n = notification(env);
    inv = env_ioctl_async(env, IOCTL_SRIOV_INVALIDATE_BLOCK, NULL, 0, sizeof(SRIOV_INVALIDATE_BLOCK), &st);
    upd = env_ioctl_async(env, IOCTL_SRIOV_MITIGATED_RANGE_UPDATE, &in, sizeof(in),
                          sizeof(SRIOV_MITIGATED_RANGE_UPDATE_OUTPUT), &st);
    env_sleep_ms(env->opt->settle_ms / 3);
    job = env_pnp_start(env, wdf_pnp_surprise_remove);
    EXPECT(env_pnp_wait(job, env->opt->release_ms), "surprise removal did not finish");
    EXPECT(n != NULL && cio_wait(n, env->opt->release_ms) && !NT_SUCCESS(n->status),
           "held NOTIFICATION not failed at surprise removal");
    EXPECT(inv == NULL || (cio_wait(inv, env->opt->release_ms) && !NT_SUCCESS(inv->status)),
           "held INVALIDATE_BLOCK not failed at surprise removal");
    EXPECT(upd == NULL || (cio_wait(upd, env->opt->release_ms) && !NT_SUCCESS(upd->status)),
           "held MITIGATED_RANGE_UPDATE not failed at surprise removal");
    EXPECT(env->verifier_reports == 0, "%s", env->verifier_first);
    PASSF("every held request completed with a failure at surprise removal; verifier clean");
}

static void
check_no_leak(struct env *env, struct pf_conform_result *r)
{
    SRIOV_MITIGATED_RANGE_UPDATE_INPUT in = {0};
    struct cio *n, *inv, *upd;
    struct pnp_job *job;
    NTSTATUS st;

    EXPECT_ST(attach(env), STATUS_SUCCESS, "ATTACH");
    n = notification(env);
    EXPECT_HELD(n, "NOTIFICATION with no event");
    inv = env_ioctl_async(env, IOCTL_SRIOV_INVALIDATE_BLOCK, NULL, 0, sizeof(SRIOV_INVALIDATE_BLOCK), &st);
    EXPECT(inv != NULL, "INVALIDATE_BLOCK completed at once (%s) with nothing to report", st_name(st));
    upd = env_ioctl_async(env, IOCTL_SRIOV_MITIGATED_RANGE_UPDATE, &in, sizeof(in),
                          sizeof(SRIOV_MITIGATED_RANGE_UPDATE_OUTPUT), &st);
    job = env_pnp_start(env, wdf_pnp_remove_device);
    EXPECT(env_pnp_wait(job, env->opt->release_ms), "orderly removal did not finish");
    EXPECT(cio_wait(n, env->opt->release_ms) && !NT_SUCCESS(n->status),
           "held NOTIFICATION not completed with a failure at removal");
    EXPECT(cio_wait(inv, env->opt->release_ms), "INVALIDATE_BLOCK never completed after removal");
    EXPECT(upd == NULL || cio_wait(upd, env->opt->release_ms), "MITIGATED_RANGE_UPDATE never completed after removal");
    EXPECT(env->verifier_reports == 0, "%s", env->verifier_first);
    /* The importer's references are released by the teardown; underflow would be reported there. */
    PASSF("orderly removal completed every held request; nothing left to the verifier");
}

/* An ATTACH blocked by the gate must not outlive the device (contract.md 4.5 [I], 7.6). */
static void
check_removal_blocked_attach(struct env *env, struct pf_conform_result *r)
{
    struct pnp_job *stop, *a, *gone;

    stop = env_pnp_start(env, wdf_pnp_query_stop);
    EXPECT(stop != NULL && env_pnp_wait(stop, env->opt->release_ms) && stop->status == STATUS_SUCCESS,
           "QUERY_STOP with no VSP attached");
    a = env_run(env, attach);
    EXPECT(a != NULL && !env_pnp_wait(a, env->opt->settle_ms), "ATTACH was not held by the gate");
    gone = env_pnp_start(env, wdf_pnp_surprise_remove);
    EXPECT(gone != NULL && env_pnp_wait(gone, env->opt->release_ms), "surprise removal did not finish");
    EXPECT(env_pnp_wait(a, env->opt->release_ms), "ATTACH still blocked after the device was removed");
    EXPECT(!NT_SUCCESS(a->status), "ATTACH to a removed device succeeded");
    PASSF("a gated ATTACH failed (%s) when the device was surprise-removed", st_name(a->status));
}

const struct check_entry conform_checks_pnp[] = {
    {{"notify.exactly-once.before-event", "a NOTIFICATION queued before the event gets it once; later ones wait",
      "4.3, 7.2"},
     check_before_event,
     NULL},
    {{"notify.exactly-once.after-event", "an event raised first goes to the next NOTIFICATION, once", "4.3, 7.2"},
     check_after_event,
     NULL},
    {{"notify.resent-before-complete", "NOTIFICATIONs re-sent before EVENT_COMPLETE stay queued", "4.3, 7.2"},
     check_resent,
     NULL},
    {{"notify.short-buffer", "a NOTIFICATION shorter than 4 bytes fails at once and never consumes an event",
      "4.3, 10.18"},
     check_short_buffer,
     NULL},
    {{"event-complete.spurious", "EVENT_COMPLETE without an outstanding event is harmless", "4.4, 7.2"},
     check_spurious_complete,
     NULL},
    {{"attach.gate", "ATTACH blocks from QUERY_STOP until CANCEL_STOP, or across STOP until START completed",
      "4.5, 7.2"},
     check_attach_gate,
     NULL},
    {{"attach.sharing-violation", "a second ATTACH fails with STATUS_SHARING_VIOLATION", "4.5"}, check_sharing, NULL},
    {{"detach.mid-event", "DETACH during an event releases QUERY_STOP with success and closes the gate", "4.6, 7.2"},
     check_detach_mid_event,
     NULL},
    {{"pnp.veto", "EVENT_COMPLETE(failure) vetoes QUERY_STOP with that status; CANCEL_STOP raises Restart", "4.4, 7.2"},
     check_veto,
     NULL},
    {{"pnp.rebalance", "stop, new resources, start: Restart delivered, resources re-read", "7.2, 10.21"},
     check_rebalance,
     NULL},
    {{"removal.surprise", "surprise removal fails every held request", "7.6"}, check_surprise_removal, NULL},
    {{"removal.no-leak", "orderly removal completes held NOTIFICATION, INVALIDATE_BLOCK, RANGE_UPDATE; verifier clean",
      "7.6"},
     check_no_leak,
     NULL},
    {{"removal.blocked-attach", "an ATTACH held by the rebalance gate fails when the device goes away", "4.5, 7.6"},
     check_removal_blocked_attach,
     NULL},
    {{NULL, NULL, NULL}, NULL, NULL},
};
