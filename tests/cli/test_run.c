/*
 * tests/cli/test_run.c - `pcivirt run` through the command, judged from the scenario.
 *
 * Each test loads the scenario itself (tools/scenario.h), plays its own model of
 * who holds which VF through the timeline, and derives from it what the stack's
 * event log must contain, and in which order: the assignments, each eject with
 * the guest's acknowledgment or (for a guest that ignores ejects) the forced
 * removal, the reset and clean check, each reassignment, one invalidation per
 * PF-side change for the VF's holder, the surprise removals of every VF held when
 * the PF vanishes, the teardown ejects.  The log comes from --events as JSON
 * lines, parsed with jansson; nothing is compared with earlier output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "lspci_cmd.h"
#include "run.h"
#include "scenario.h"

#define EXAMPLES PCIVIRT_SOURCE_DIR "/examples"
#define MAX_EV 65536
#define MAX_MS 8192

struct ev {
    char type[24];
    int pf, vf, vm;
};

struct ms {
    const char *type;
    int pf, vf, vm; /* -1: any */
    int group;      /* milestones of one group may come in any order */
};

struct model {
    const struct scenario *sc;
    int holder[SCENARIO_MAX_DEVICES][64]; /* VM index or -1 (tests use at most 64 VFs) */
    bool removed[SCENARIO_MAX_DEVICES];
    uint32_t misbehave[SCENARIO_MAX_VMS];
    struct ms ms[MAX_MS];
    size_t n_ms;
    int group;
    uint64_t faults;                      /* IOMMU faults the dma-outside guests must cause */
    uint64_t bad_packets;                 /* malformed packets the stack must refuse (three after each op) */
    size_t answers[SCENARIO_MAX_DEVICES]; /* query-stop answers: one per answering holder of that PF's VFs */
    size_t assigns;
};

static void
add(struct model *m, const char *type, int pf, int vf, int vm)
{
    assert_true(m->n_ms < MAX_MS);
    m->ms[m->n_ms++] = (struct ms){type, pf, vf, vm, m->group};
}

static void
next_group(struct model *m)
{
    m->group++;
}

/* Orderly removal: eject, then the acknowledgment or the forced removal, then reset and clean check. */
static void
expect_eject(struct model *m, size_t dev, uint32_t vf, size_t vm)
{
    bool forced = (m->misbehave[vm] & SCENARIO_GUEST_IGNORE_EJECT) != 0;

    next_group(m);
    add(m, "eject", (int)dev, (int)vf, (int)vm + 1);
    next_group(m);
    add(m, forced ? "forced-removal" : "eject-ack", (int)dev, (int)vf, (int)vm + 1);
    next_group(m);
    add(m, "reset", (int)dev, (int)vf, -1);
    next_group(m);
    add(m, "handoff-clean", (int)dev, (int)vf, -1);
    m->holder[dev][vf] = -1;
}

static void
model_workload(struct model *m, const struct scenario_step *st)
{
    next_group(m);
    for (size_t i = 0; i < st->n_vms; i++) {
        size_t vm = st->vms[i];
        const struct scenario_workload *w = &m->sc->workloads[m->sc->vms[vm].workload];

        for (size_t d = 0; d < m->sc->n_devices; d++) {
            for (uint32_t vf = 0; vf < m->sc->devices[d].num_vfs && vf < 64; vf++) {
                if (m->holder[d][vf] != (int)vm) {
                    continue;
                }
                for (size_t o = 0; o < w->n_ops; o++) {
                    if (w->ops[o].kind == SCENARIO_OP_PF_SET_MAC) {
                        add(m, "invalidate", (int)d, (int)vf, (int)vm + 1);
                    }
                }
                if (m->misbehave[vm] & SCENARIO_GUEST_DMA_OUTSIDE) {
                    m->faults += w->iterations;
                }
                if (m->misbehave[vm] & SCENARIO_GUEST_MALFORMED_PACKETS) {
                    m->bad_packets += 3 * (uint64_t)w->n_ops * w->iterations;
                }
            }
        }
    }
}

/* Rebalance (contract.md 7.2): query-stop; each holder answers or times out; then veto or complete + restart. */
static void
model_rebalance(struct model *m, const struct scenario_step *st)
{
    bool silent_any = false, veto;

    next_group(m);
    add(m, "query-stop", (int)st->device, -1, -1);
    next_group(m);
    for (uint32_t vf = 0; vf < 64; vf++) {
        int vm = m->holder[st->device][vf];

        if (vm < 0) {
            continue;
        }
        if (m->misbehave[vm] & SCENARIO_GUEST_IGNORE_QUERY_STOP) {
            silent_any = true;
            add(m, "timeout", (int)st->device, (int)vf, vm + 1);
        } else {
            add(m, "vm-answer", (int)st->device, (int)vf, vm + 1);
            m->answers[st->device]++;
        }
    }
    veto = silent_any && m->sc->timing.on_timeout == SCENARIO_POLICY_VETO;
    assert_int_equal(st->expect_timeout, silent_any);
    assert_int_equal(st->expect_veto, veto);
    for (uint32_t vf = 0; vf < 64 && silent_any && !veto; vf++) {
        int vm = m->holder[st->device][vf];

        if (vm >= 0 && (m->misbehave[vm] & SCENARIO_GUEST_IGNORE_QUERY_STOP)) {
            add(m, "surprise-removal", (int)st->device, (int)vf, vm + 1);
            m->holder[st->device][vf] = -1;
        }
    }
    next_group(m);
    add(m, veto ? "veto" : "event-complete", (int)st->device, -1, -1);
    next_group(m); /* after start, or after the cancel-stop that follows a veto (contract.md 7.2) */
    add(m, "restart", (int)st->device, -1, -1);
}

static void
model_step(struct model *m, const struct scenario_step *st)
{
    switch (st->action) {
    case SCENARIO_ACT_WORKLOAD: model_workload(m, st); break;
    case SCENARIO_ACT_EJECT:
        assert_int_equal(st->expect_forced, (m->misbehave[st->vm] & SCENARIO_GUEST_IGNORE_EJECT) != 0);
        assert_int_equal(m->holder[st->device][st->vf], (int)st->vm);
        expect_eject(m, st->device, st->vf, st->vm);
        break;
    case SCENARIO_ACT_ASSIGN:
        next_group(m);
        add(m, "assign", (int)st->device, (int)st->vf, (int)st->vm + 1);
        m->holder[st->device][st->vf] = (int)st->vm;
        m->assigns++;
        break;
    case SCENARIO_ACT_GUEST: m->misbehave[st->vm] = st->misbehave; break;
    case SCENARIO_ACT_PF_SET_MAC:
    case SCENARIO_ACT_PF_BLOCK_CHANGE:
        if (m->holder[st->device][st->vf] >= 0) {
            next_group(m);
            add(m, "invalidate", (int)st->device, (int)st->vf, m->holder[st->device][st->vf] + 1);
        }
        break;
    case SCENARIO_ACT_SURPRISE_REMOVE:
        next_group(m);
        for (uint32_t vf = 0; vf < 64; vf++) {
            if (m->holder[st->device][vf] >= 0) {
                add(m, "surprise-removal", (int)st->device, (int)vf, m->holder[st->device][vf] + 1);
                m->holder[st->device][vf] = -1;
            }
        }
        m->removed[st->device] = true;
        break;
    case SCENARIO_ACT_REBALANCE: model_rebalance(m, st); break;
    default: break;
    }
}

static void
model_build(struct model *m, const struct scenario *sc)
{
    memset(m, 0, sizeof(*m));
    m->sc = sc;
    memset(m->holder, 0xff, sizeof(m->holder));
    for (size_t i = 0; i < sc->n_vms; i++) {
        m->misbehave[i] = sc->vms[i].misbehave;
    }
    for (size_t d = 0; d < sc->n_devices; d++) {
        add(m, "pf-arrival", (int)d, -1, -1);
    }
    next_group(m);
    for (size_t i = 0; i < sc->n_assignments; i++) {
        const struct scenario_assignment *a = &sc->assignments[i];

        add(m, "assign", (int)a->device, (int)a->vf, (int)a->vm + 1);
        m->holder[a->device][a->vf] = (int)a->vm;
        m->assigns++;
    }
    for (size_t s = 0; s < sc->n_steps; s++) {
        model_step(m, &sc->steps[s]);
    }
    for (size_t vm = 0; vm < sc->n_vms; vm++) { /* teardown: VM by VM, what is left is ejected */
        for (size_t d = 0; d < sc->n_devices; d++) {
            for (uint32_t vf = 0; vf < 64; vf++) {
                if (m->holder[d][vf] == (int)vm) {
                    expect_eject(m, d, vf, vm);
                }
            }
        }
    }
    next_group(m);
    for (size_t i = 0; i < sc->n_vms; i++) {
        add(m, "vm-destroy", -1, -1, (int)i + 1);
    }
}

/* ---- the event log from --events ------------------------------------------------------ */

static int
num_or_none(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_integer(v) ? (int)json_integer_value(v) : -1;
}

static size_t
load_events(const char *path, struct ev *out, size_t max)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    size_t n = 0;
    uint64_t seq = 0;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL && n < max) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);

        assert_non_null(o);
        assert_true(json_is_string(json_object_get(o, "type")));
        /* Sequence numbers grow by one: the file has the whole log, oldest first. */
        assert_int_equal(json_integer_value(json_object_get(o, "seq")), seq + 1);
        seq++;
        snprintf(out[n].type, sizeof(out[n].type), "%s", json_string_value(json_object_get(o, "type")));
        out[n].pf = num_or_none(o, "pf");
        out[n].vf = num_or_none(o, "vf");
        out[n].vm = num_or_none(o, "vm");
        n++;
        json_decref(o);
    }
    fclose(f);
    return n;
}

static bool
matches(const struct ev *e, const struct ms *m)
{
    return strcmp(e->type, m->type) == 0 && (m->pf < 0 || e->pf == m->pf) && (m->vf < 0 || e->vf == m->vf) &&
           (m->vm < 0 || e->vm == m->vm);
}

/* Every milestone appears, groups in order, each after everything matched for the groups before. */
static void
assert_order(const struct model *m, const struct ev *ev, size_t n)
{
    size_t start = 0, i = 0;
    bool *used = calloc(n, sizeof(*used));

    assert_non_null(used);
    while (i < m->n_ms) {
        size_t end = start, k = i;

        for (; k < m->n_ms && m->ms[k].group == m->ms[i].group; k++) {
            size_t p = start;

            while (p < n && (used[p] || !matches(&ev[p], &m->ms[k]))) {
                p++;
            }
            if (p == n) {
                fail_msg("milestone %zu (%s pf%d vf%d vm%d) missing after event %zu", k, m->ms[k].type, m->ms[k].pf,
                         m->ms[k].vf, m->ms[k].vm, start);
            }
            used[p] = true;
            end = p + 1 > end ? p + 1 : end;
        }
        start = end;
        i = k;
    }
    free(used);
}

static size_t
count_type(const struct ev *ev, size_t n, const char *type)
{
    size_t c = 0;

    for (size_t i = 0; i < n; i++) {
        c += strcmp(ev[i].type, type) == 0;
    }
    return c;
}

/* Query-stop answers about PF @pf (a VM the stack did not ask cannot answer). */
static size_t
count_answers(const struct ev *ev, size_t n, int pf)
{
    size_t c = 0;

    for (size_t i = 0; i < n; i++) {
        c += ev[i].pf == pf && strcmp(ev[i].type, "vm-answer") == 0;
    }
    return c;
}

static bool
has_rebalance(const struct scenario *sc)
{
    for (size_t s = 0; s < sc->n_steps; s++) {
        if (sc->steps[s].action == SCENARIO_ACT_REBALANCE) {
            return true;
        }
    }
    return false;
}

/* Run @path (NULL: the default) and check the log against the scenario's model. */
static void
check_scenario(const char *path)
{
    struct scenario *sc = NULL;
    struct scenario_error se;
    static struct model m;
    static struct ev ev[MAX_EV];
    char evpath[] = "/tmp/pcivirt-run-ev-XXXXXX", cmd[4096];
    struct run r;
    size_t n;
    int fd = mkstemp(evpath);

    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(path != NULL ? scenario_load_file(path, &sc, &se) : scenario_load_default(&sc, &se), 0);
    model_build(&m, sc);
    snprintf(cmd, sizeof(cmd), "NO_COLOR=1 %s run %s --events %s", PCIVIRT, path != NULL ? path : "", evpath);
    run_shell(&r, cmd);
    /* Exit rule: 0 only when every invariant held; a rebalance without the broker is a failed step. */
    if (r.status != (has_rebalance(sc) && !RUN_HAVE_BROKER ? 1 : 0)) {
        for (const char *f = strstr(r.out, "FAIL ["); f != NULL; f = strstr(f + 1, "FAIL [")) {
            print_error("%.*s\n", (int)strcspn(f, "\n"), f);
        }
        print_error("%s", r.err);
    }
    assert_int_equal(r.status, has_rebalance(sc) && !RUN_HAVE_BROKER ? 1 : 0);
    assert_non_null(strstr(r.out, "Summary of"));
    n = load_events(evpath, ev, MAX_EV);
    assert_order(&m, ev, n);
    assert_int_equal(count_type(ev, n, "assign"), m.assigns);
    assert_int_equal(count_type(ev, n, "handoff-dirty"), 0);
    assert_int_equal(count_type(ev, n, "iommu-fault"), m.faults);
    assert_int_equal(count_type(ev, n, "irq-fault"), 0);
    assert_int_equal(count_type(ev, n, "bad-packet"), m.bad_packets);
    for (size_t d = 0; d < sc->n_devices; d++) { /* a rebalance asks only the holders of that PF's VFs */
        assert_int_equal(count_answers(ev, n, (int)d), m.answers[d]);
    }
    for (size_t i = 0; i < n; i++) { /* faults and refused packets only from the guests told to cause them */
        if (strcmp(ev[i].type, "iommu-fault") == 0) {
            assert_true(ev[i].vm >= 1 && (sc->vms[ev[i].vm - 1].misbehave & SCENARIO_GUEST_DMA_OUTSIDE));
        }
        if (strcmp(ev[i].type, "bad-packet") == 0) {
            assert_true(ev[i].vm >= 1 && (sc->vms[ev[i].vm - 1].misbehave & SCENARIO_GUEST_MALFORMED_PACKETS));
        }
    }
    if (!has_rebalance(sc) || RUN_HAVE_BROKER) {
        assert_null(strstr(r.out, "FAIL ["));
    }
    run_free(&r);
    unlink(evpath);
    scenario_destroy(sc);
}

static void
test_default(void **state)
{
    check_scenario(NULL);
}

static void
test_example_default_file(void **state)
{
    check_scenario(EXAMPLES "/default.json");
}

static void
test_example_igb(void **state)
{
    check_scenario(EXAMPLES "/igb-non-ari.json");
}

static void
test_example_misbehaving(void **state)
{
    check_scenario(EXAMPLES "/misbehaving-guest.json");
}

/*
 * Two devices in one machine (built-in 82599 on bus 03, the 82576 dump on buses
 * 01-02), a VM holding a VF of each: a rebalance asks only the holders of that
 * PF's VFs, an invalidation reaches only its holder, a surprise removal takes
 * only that device's VFs.
 */
static void
test_example_two_devices(void **state)
{
    check_scenario(EXAMPLES "/two-devices.json");
}

/*
 * Hostile guests without rebalances: dma-outside faults in the IOMMU (and only it),
 * malformed-packets is refused packet by packet (and only that), and the run passes.
 */
static void
test_hostile_dma_is_contained(void **state)
{
    check_scenario(PCIVIRT_SOURCE_DIR "/tests/cli/data/hostile-dma.json");
}

/* time_ns of the first event of @type (and @vm unless -1) in an --events file; -1 when none. */
static long long
event_time(const char *path, const char *type, int vm)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    long long t = -1;

    assert_non_null(f);
    while (t < 0 && fgets(line, sizeof(line), f) != NULL) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);

        assert_non_null(o);
        if (strcmp(json_string_value(json_object_get(o, "type")), type) == 0 &&
            (vm < 0 || json_integer_value(json_object_get(o, "vm")) == vm)) {
            t = (long long)json_integer_value(json_object_get(o, "time_ns"));
        }
        json_decref(o);
    }
    fclose(f);
    return t;
}

/*
 * The real clock: every window is waited out in real time.  The model checks
 * the decisions as for any scenario; the event times and the wall time show
 * that the 300 ms query-stop timeout, the 300 ms eject window and the 50 ms wait
 * were really spent (and not much more: the run stays short).
 */
static void
test_real_clock(void **state)
{
    const char *path = PCIVIRT_SOURCE_DIR "/tests/cli/data/real-clock.json";
    const long long ms = 1000000;
    char evpath[] = "/tmp/pcivirt-run-ev-XXXXXX", cmd[1024];
    struct timespec t0, t1;
    long long wall, qs, timeout, eject, forced;
    struct run r;
    int fd = mkstemp(evpath);

    assert_true(fd >= 0);
    close(fd);
    check_scenario(path);
    snprintf(cmd, sizeof(cmd), "%s run --quiet --events %s %s", PCIVIRT, evpath, path);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    run_shell(&r, cmd);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(r.status, 0);
    wall = (t1.tv_sec - t0.tv_sec) * 1000 * ms + (t1.tv_nsec - t0.tv_nsec);
    assert_true(wall >= (300 + 300 + 50) * ms);
    assert_true(wall < 60 * 1000 * ms);
    qs = event_time(evpath, "query-stop", -1);
    timeout = event_time(evpath, "timeout", 2); /* vm2's query-stop answer */
    eject = event_time(evpath, "eject", 3);
    forced = event_time(evpath, "forced-removal", 3);
    assert_true(qs >= 0 && timeout >= 0 && eject >= 0 && forced >= 0);
    assert_true(timeout - qs >= 300 * ms);
    assert_true(forced - eject >= 300 * ms);
    run_free(&r);
    unlink(evpath);
}

/* The VM named @name in the summary's "vms" array. */
static json_t *
vm_named(json_t *vms, const char *name)
{
    size_t i;
    json_t *v;

    json_array_foreach(vms, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0) {
            return v;
        }
    }
    fail_msg("VM '%s' missing from the JSON summary", name);
    return NULL;
}

/*
 * --json: stdout is exactly one JSON document, and its numbers agree with the
 * scenario's model (IOMMU faults of the dma-outside guest, packets of the
 * malformed-packets guest) and with the event log written by --events.
 */
static void
test_json_summary(void **state)
{
    const char *path = PCIVIRT_SOURCE_DIR "/tests/cli/data/hostile-dma.json";
    char evpath[] = "/tmp/pcivirt-run-ev-XXXXXX", cmd[1024];
    struct scenario *sc = NULL;
    struct scenario_error se;
    static struct model m;
    static struct ev ev[MAX_EV];
    json_t *doc, *vms, *invs, *by, *inv, *dev;
    json_error_t je;
    struct run r;
    size_t n, i;
    uint64_t faults = 0, packets = 0;
    int fd = mkstemp(evpath);

    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(scenario_load_file(path, &sc, &se), 0);
    model_build(&m, sc);
    snprintf(cmd, sizeof(cmd), "%s run --json --events %s %s", PCIVIRT, evpath, path);
    run_shell(&r, cmd);
    assert_int_equal(r.status, 0);
    doc = json_loads(r.out, 0, &je); /* the whole of stdout, nothing before or after */
    if (doc == NULL) {
        fail_msg("stdout is not one JSON document: %s (line %d)", je.text, je.line);
    }
    assert_string_equal(json_string_value(json_object_get(doc, "result")), "pass");
    assert_int_equal(json_integer_value(json_object_get(doc, "exit_code")), 0);
    assert_string_equal(json_string_value(json_object_get(doc, "scenario")), sc->name);
    vms = json_object_get(doc, "vms");
    assert_int_equal(json_array_size(vms), sc->n_vms);
    for (i = 0; i < sc->n_vms; i++) {
        json_t *v = vm_named(vms, sc->vms[i].name);

        faults += (uint64_t)json_integer_value(json_object_get(v, "dma_faults"));
        packets += (uint64_t)json_integer_value(json_object_get(v, "malformed_sent"));
        assert_int_equal(json_array_size(json_object_get(v, "misbehave")), __builtin_popcount(sc->vms[i].misbehave));
    }
    assert_int_equal(faults, m.faults);
    assert_int_equal(packets, m.bad_packets);
    assert_int_equal(json_integer_value(json_object_get(vm_named(vms, "good"), "dma_faults")), 0);
    json_array_foreach(json_object_get(doc, "devices"), i, dev)
    {
        assert_true(i < sc->n_devices);
        assert_string_equal(json_string_value(json_object_get(dev, "name")), sc->devices[i].name);
        assert_int_equal(json_integer_value(json_object_get(dev, "num_vfs")), sc->devices[i].num_vfs);
    }
    invs = json_object_get(doc, "invariants");
    assert_int_equal(json_array_size(invs), 9);
    json_array_foreach(invs, i, inv)
    {
        assert_true(json_is_true(json_object_get(inv, "held")));
        assert_true(json_integer_value(json_object_get(inv, "checked")) > 0);
        assert_int_equal(json_integer_value(json_object_get(inv, "failed")), 0);
        assert_true(json_is_null(json_object_get(inv, "first_failure")));
    }
    /* Event counts by type equal what --events wrote. */
    n = load_events(evpath, ev, MAX_EV);
    by = json_object_get(json_object_get(doc, "events"), "by_type");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "events"), "total")), n);
    for (i = 0; i < n; i++) {
        assert_true(json_integer_value(json_object_get(by, ev[i].type)) == (json_int_t)count_type(ev, n, ev[i].type));
    }
    assert_int_equal(json_integer_value(json_object_get(by, "iommu-fault")), m.faults);
    json_decref(doc);
    run_free(&r);
    unlink(evpath);
    scenario_destroy(sc);
}

/* A bus range the VFs do not fit: exit 1 with the device's arithmetic at the field. */
static void
test_tight_bus_range(void **state)
{
    struct run r;
    char cmd[1024], last[16];
    /* 82576 in cap-pcie-2: PF 01:00.0, no ARI, offset 384, stride 2, 8 VFs. */
    unsigned rid = 0x0100 + 384 + 7 * 2;

    snprintf(cmd, sizeof(cmd), "%s run %s/tight-bus-range.json", PCIVIRT, EXAMPLES);
    run_shell(&r, cmd);
    assert_int_equal(r.status, 1);
    rid_addr(last, sizeof(last), 0, rid);
    assert_non_null(strstr(r.err, "tight-bus-range.json:"));
    assert_non_null(strstr(r.err, "devices[0].bus_range"));
    assert_non_null(strstr(r.err, last));
    run_free(&r);
}

/* Scenario errors: exit 2, file:line:column: field. */
static void
test_scenario_error_position(void **state)
{
    static const char text[] = "{\n  \"pcivirt-scenario\": 1,\n  \"devices\": [ { \"name\": \"d\", \"source\": "
                               "\"builtin:82599\", \"num_vfs\": 2 } ],\n  \"vms\": [ { \"name\": \"v\", "
                               "\"memory_mib\": 0 } ]\n}\n";
    const char *col = strstr(text, "\"memory_mib\": 0") + strlen("\"memory_mib\": ");
    const char *line_start = strstr(text, "  \"vms\"");
    char path[64], want[128], cmd[256];
    struct run r;

    write_temp(path, text, sizeof(text) - 1);
    snprintf(want, sizeof(want), "%s:4:%d: vms[0].memory_mib", path, (int)(col - line_start) + 1);
    snprintf(cmd, sizeof(cmd), "%s run %s", PCIVIRT, path);
    run_shell(&r, cmd);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, want));
    run_free(&r);
    unlink(path);
}

static void
test_usage_errors(void **state)
{
    struct run r;

    run_shell(&r, PCIVIRT " run --bogus");
    assert_int_equal(r.status, 2);
    run_free(&r);
    run_shell(&r, PCIVIRT " run /nonexistent/scenario.json");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "/nonexistent/scenario.json"));
    run_free(&r);
    run_shell(&r, PCIVIRT " run --events /nonexistent/dir/ev.jsonl");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "/nonexistent/dir/ev.jsonl"));
    run_free(&r);
    run_shell(&r, PCIVIRT " run --json --quiet");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--json"));
    run_free(&r);
    run_shell(&r, PCIVIRT " run --help");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "--events"));
    run_free(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default),
        cmocka_unit_test(test_example_default_file),
        cmocka_unit_test(test_example_igb),
        cmocka_unit_test(test_example_misbehaving),
        cmocka_unit_test(test_example_two_devices),
        cmocka_unit_test(test_hostile_dma_is_contained),
        cmocka_unit_test(test_json_summary),
        cmocka_unit_test(test_real_clock),
        cmocka_unit_test(test_tight_bus_range),
        cmocka_unit_test(test_scenario_error_position),
        cmocka_unit_test(test_usage_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
