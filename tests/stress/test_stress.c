/*
 * tests/stress/test_stress.c - the whole machine under fire (issue 8, "Stress").
 *
 * Four guest threads (three polite VMs and one that never answers
 * PCI_QUERY_STOP, each with the guest vPCI bus and the sample VF driver) hammer
 * config reads and writes, config blocks, MMIO on direct and trapped pages and
 * DMA, while a chaos thread fires PnP events at random on the PF through the
 * runtime: rebalances (acknowledged, vetoed by a guest, vetoed or
 * surprise-removed at the deadline), query-stop + cancel-stop, surprise removal
 * and eject of VFs, assignments, PF-side MAC and mitigated-range changes,
 * detach + re-attach of the whole stack (sometimes in the middle of a
 * query-stop), and detach + re-attach of the PF alone while the stack and the
 * VMs keep running (its VFs surprise-removed or ejected, then assigned again).
 * A watchdog names any thread that stops making progress.  stress.h, guest.h,
 * chaos.h and checks.h say what is checked and why.
 *
 * Run length: PCIVIRT_STRESS_EVENTS (default 500, the CI run) and
 * PCIVIRT_STRESS_SECONDS (a cap on the chaos loop; default 0 = none);
 * PCIVIRT_STRESS_SEED reproduces a run (the seed is printed);
 * PCIVIRT_STRESS_WATCHDOG is the stall limit in seconds (default 30).
 * docs/HARDENING.md has the runs made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "checks.h"

static unsigned
env_uint(const char *name, unsigned def)
{
    const unsigned long max = strcmp(name, "PCIVIRT_STRESS_SEED") == 0 ? 0xFFFFFFFFul : 100000000ul;
    const char *v = getenv(name);
    char *end = NULL;
    unsigned long n;

    if (v == NULL || *v == '\0') {
        return def;
    }
    n = strtoul(v, &end, 10);
    if (*end != '\0' || n > max) {
        fail_msg("%s=%s: expected a number up to %lu", name, v, max);
    }
    return (unsigned)n;
}

static void
print_summary(struct stress *w, double secs)
{
    uint64_t total_events = 0, ops = 0, removed = 0, dma = 0, probes = 0, probe_err = 0, macs = 0;

    for (unsigned k = 0; k < EV_KINDS; k++) {
        total_events += w->st.events[k];
    }
    for (unsigned i = 0; i < NVMS; i++) {
        ops += w->g[i].st.ops;
        removed += w->g[i].st.ops_removed;
        dma += w->g[i].st.dma;
        probes += w->g[i].st.stop_probes;
        probe_err += w->g[i].st.stop_probe_errors;
        macs += w->g[i].st.mac_reads;
    }
    print_message("stress: seed %llu, %llu events in %.1f s, %llu checkpoints, %llu stack incarnations\n",
                  (unsigned long long)w->seed, (unsigned long long)total_events, secs,
                  (unsigned long long)w->st.checkpoints, (unsigned long long)w->st.incarnations);
    for (unsigned k = 0; k < EV_KINDS; k++) {
        print_message("stress:   %-24s %llu\n", ev_names[k], (unsigned long long)w->st.events[k]);
    }
    print_message("stress: stops acknowledged %llu, vetoed by a guest %llu, vetoed at the deadline %llu, "
                  "VFs removed by the no-answer policy %llu, BAR moves %llu, DETACH mid-event %llu\n",
                  (unsigned long long)w->st.acked, (unsigned long long)w->st.guest_vetoes,
                  (unsigned long long)w->st.timeout_vetoes, (unsigned long long)w->st.policy_removals,
                  (unsigned long long)w->st.moved, (unsigned long long)w->st.detach_mid_event);
    print_message(
        "stress: PF detaches by surprise removal %llu, by eject %llu (mid-event %llu); VFs that left with "
        "their PF %llu, came back fresh %llu (%llu dirtied while detached); table references dropped after the "
        "detach returned %llu\n",
        (unsigned long long)w->st.pf_detach_surprise, (unsigned long long)w->st.pf_detach_eject,
        (unsigned long long)w->st.pf_detach_mid_event, (unsigned long long)w->st.pf_vfs_left,
        (unsigned long long)w->st.pf_vfs_back, (unsigned long long)w->st.pf_vfs_dirtied,
        (unsigned long long)w->st.pf_refs_late);
    print_message("stress: guest operations %llu (DMA %llu, MAC reads %llu), failed because the VF had left %llu, "
                  "stop-window probes %llu (%llu refused cleanly)\n",
                  (unsigned long long)ops, (unsigned long long)dma, (unsigned long long)macs,
                  (unsigned long long)removed, (unsigned long long)probes, (unsigned long long)probe_err);
}

/* Watchdog and guest threads; false (w->msg says why) when one could not start. */
static bool
start_threads(struct stress *w)
{
    wd_register(&w->wd, "chaos");
    w->pnp.wd = wd_register(&w->wd, "pnp-helper");
    for (unsigned i = 0; i < NVMS; i++) {
        char name[32];

        snprintf(name, sizeof(name), "guest-%u%s", i, i == RUDE ? "-rude" : "");
        w->g[i].wd = wd_register(&w->wd, name);
    }
    if (!wd_start(&w->wd, w->watchdog_ms, NULL)) {
        stress_fail(w, __LINE__, "the watchdog did not start");
        return false;
    }
    for (unsigned i = 0; i < NVMS; i++) {
        w->g[i].thread_started = pthread_create(&w->g[i].thread, NULL, guest_main, &w->g[i]) == 0;
        if (!w->g[i].thread_started) {
            stress_fail(w, __LINE__, "guest thread %u did not start", i);
            return false;
        }
    }
    return true;
}

/* Stop and join whatever runs: the chaos thread (if started), the guests, the watchdog. */
static void
stop_threads(struct stress *w, pthread_t *chaos)
{
    if (chaos != NULL) {
        pthread_join(*chaos, NULL);
    }
    atomic_store(&w->stop, true);
    unpark_all(w);
    for (unsigned i = 0; i < NVMS; i++) {
        if (w->g[i].thread_started) {
            pthread_join(w->g[i].thread, NULL);
        }
    }
    wd_stop(&w->wd);
}

/*
 * Every path out frees the world and the record: the verdict is taken into
 * locals first, and only then may cmocka jump out of the test.
 */
static void
test_stress(void **state)
{
    struct stress *w = pv_calloc(1, sizeof(*w));
    pthread_t chaos;
    bool up, running = false, chaos_started = false, failed;
    uint64_t t0, seed, checkpoints;
    unsigned reports;
    char msg[sizeof(w->msg)];

    (void)state;
    assert_non_null(w);
    w->events_target = env_uint("PCIVIRT_STRESS_EVENTS", 500);
    w->seconds = env_uint("PCIVIRT_STRESS_SECONDS", 0);
    w->watchdog_ms = 1000u * env_uint("PCIVIRT_STRESS_WATCHDOG", 30);
    w->seed = env_uint("PCIVIRT_STRESS_SEED", (unsigned)time(NULL));
    w->verbose = env_uint("PCIVIRT_STRESS_VERBOSE", 0);
    print_message("stress: seed %llu (PCIVIRT_STRESS_SEED to repeat), %u events\n", (unsigned long long)w->seed,
                  w->events_target);
    up = stress_up(w);
    t0 = wd_now_ms();
    if (up) {
        running = start_threads(w);
        chaos_started = running && pthread_create(&chaos, NULL, chaos_main, w) == 0;
        if (running && !chaos_started) {
            stress_fail(w, __LINE__, "the chaos thread did not start");
        }
        stop_threads(w, chaos_started ? &chaos : NULL);
    }
    if (chaos_started) {
        print_summary(w, (double)(wd_now_ms() - t0) / 1000.0);
    }
    stress_down(w);
    failed = atomic_load(&w->failed);
    seed = w->seed;
    reports = atomic_load(&w->reports);
    checkpoints = w->st.checkpoints;
    memcpy(msg, w->msg, sizeof(msg));
    pv_free(w);
    if (!up) {
        fail_msg("bring-up failed: %s", msg);
    }
    if (failed) {
        fail_msg("seed %llu: %s", (unsigned long long)seed, msg);
    }
    assert_int_equal(reports, 0);
    assert_true(checkpoints >= 1);
}

/* ---- the watchdog can fail ------------------------------------------------------------------------ */

static void *
planted_hang(void *arg)
{
    struct wd_thread *t = arg;

    wd_idle(t, false);
    wd_phase(t, "planted hang: waiting for nothing");
    for (;;) {
        pause();
    }
    return NULL;
}

static void *
busy_worker(void *arg)
{
    struct wd_thread *t = arg;

    wd_idle(t, false);
    wd_phase(t, "making progress");
    for (;;) {
        wd_tick(t);
        sleep_ms(5);
    }
    return NULL;
}

/*
 * A child process with one thread that hangs and one that works: the watchdog
 * must end it with WD_EXIT_STUCK and name the hanging thread and its phase,
 * and only that one as stuck.
 */
static void
test_watchdog_names_stuck_thread(void **state)
{
    int fds[2];
    pid_t pid;
    char out[4096] = {0};
    size_t got = 0;
    ssize_t n;
    int status = 0;

    (void)state;
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static struct watchdog wd;
        pthread_t a, b;
        FILE *f = fdopen(fds[1], "w");

        close(fds[0]);
        pthread_create(&a, NULL, busy_worker, wd_register(&wd, "worker"));
        pthread_create(&b, NULL, planted_hang, wd_register(&wd, "hanger"));
        wd_start(&wd, 300, f);
        sleep_ms(20000);
        _exit(0); /* the watchdog did not fire */
    }
    close(fds[1]);
    while (got < sizeof(out) - 1 && (n = read(fds[0], out + got, sizeof(out) - 1 - got)) > 0) {
        got += (size_t)n;
    }
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), WD_EXIT_STUCK);
    assert_non_null(strstr(out, "STUCK thread 'hanger' in phase 'planted hang: waiting for nothing'"));
    assert_null(strstr(out, "STUCK thread 'worker'"));
    assert_non_null(strstr(out, "1 thread(s) made no progress"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watchdog_names_stuck_thread),
        cmocka_unit_test(test_stress),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
