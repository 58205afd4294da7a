/*
 * tests/oom/test_oom_tools.c - allocation failure in the scenario loader and the
 * host survey.
 *
 * The scenario loader parses JSON with jansson, whose allocations do not go
 * through util/alloc.h: only the loader's own allocations are failed here.
 * (jansson cannot be included: when its allocator fails, json_loadb() reports
 * a syntax error such as "string or '}' expected" or an empty error, so no
 * caller can tell out-of-memory from bad input - docs/HARDENING.md.)  The survey runs
 * on a small sysfs-shaped tree (tests/host/tree.h) with a root port and an SR-IOV
 * endpoint from the real cap-pcie-2 dump; a failed allocation must fail the run
 * with PCIVIRT_ENOMEM rather than produce a survey with checks silently missing
 * (the fingerprint compares every verdict, check text and unseen note).
 */
#include "oom.h"

#include "../host/tree.h"
#include "host/survey.h"
#include "pci/dump.h"
#include "scenario.h"

#define DATA PCIVIRT_SHARED_DIR "/data/pciutils-tests"

/* ---- scenario ------------------------------------------------------------------------------ */

static int
build_scenario(void *fx, void **obj)
{
    struct scenario *sc = NULL;
    struct scenario_error err;
    int rc = fx != NULL ? scenario_load_file(fx, &sc, &err) : scenario_load_default(&sc, &err);

    if (rc != 0) {
        if (sc != NULL) {
            fail_msg("scenario load failed (%d) but handed out a scenario", rc);
        }
        return rc;
    }
    *obj = sc;
    return 0;
}

static void
fp_scenario(void *fx, void *obj, struct oom_fp *fp)
{
    const struct scenario *sc = obj;

    (void)fx;
    oom_fp_add(fp, "%s|%s|seed%llu|", sc->file, sc->name, (unsigned long long)sc->options.seed);
    for (size_t i = 0; i < sc->n_devices; i++) {
        oom_fp_add(fp, "dev %s %d %s %s %u;", sc->devices[i].name, sc->devices[i].source, sc->devices[i].builtin,
                   sc->devices[i].dump_path ? sc->devices[i].dump_path : "-", sc->devices[i].num_vfs);
    }
    for (size_t i = 0; i < sc->n_vms; i++) {
        oom_fp_add(fp, "vm %s %u %zu;", sc->vms[i].name, sc->vms[i].memory_mib, sc->vms[i].workload);
    }
    for (size_t i = 0; i < sc->n_assignments; i++) {
        oom_fp_add(fp, "as %zu %zu %u;", sc->assignments[i].vm, sc->assignments[i].device, sc->assignments[i].vf);
    }
    for (size_t i = 0; i < sc->n_workloads; i++) {
        oom_fp_add(fp, "wl %s", sc->workloads[i].name);
        for (size_t k = 0; k < sc->workloads[i].n_ops; k++) {
            oom_fp_add(fp, " %s", scenario_op_name(sc->workloads[i].ops[k].kind));
        }
        oom_fp_add(fp, ";");
    }
    for (size_t i = 0; i < sc->n_steps; i++) {
        oom_fp_add(fp, "st %s %s %zu;", scenario_action_name(sc->steps[i].action),
                   sc->steps[i].note ? sc->steps[i].note : "-", sc->steps[i].n_vms);
    }
}

static void
scenario_destroy_cb(void *fx, void *obj)
{
    (void)fx;
    scenario_destroy(obj);
}

static void
test_scenario(void **state)
{
    const struct oom_path p = {"scenario", build_scenario, fp_scenario, scenario_destroy_cb, PCIVIRT_ENOMEM, false};

    (void)state;
    oom_run(&p, NULL, 10); /* the embedded default */
    oom_run(&p, PCIVIRT_SOURCE_DIR "/tests/oom/data/dump-device.json", 10);
}

/* ---- survey ------------------------------------------------------------------------------------ */

#define RP_PARENT "pci0000:00"

static void
make_tree(struct tree *t)
{
    struct pci_dump *d = NULL;
    static const char msi[] = "0x00000000fee00000 0x00000000feefffff msi\n";

    assert_int_equal(pci_dump_load(DATA "/cap-pcie-2", &d, NULL), 0);
    tree_init(t);
    tree_dir(t, "sys/class/iommu/dmar0");
    tree_text(t, "quiet\n", "proc/cmdline");
    struct tree_fn ep = {
        RP_PARENT, "0000:00:03.0", d->funcs[0]->bytes, d->funcs[0]->len, 0x020000, 0x8086, 0x10fb, NULL, 1, 2};
    tree_add_fn(t, &ep);
    tree_group(t, 4, RP_PARENT, "0000:00:03.0");
    tree_text(t, msi, "sys/kernel/iommu_groups/4/reserved_regions");
    tree_text(t, "DMA\n", "sys/kernel/iommu_groups/4/type");
    tree_text(t, "8\n", "sys/devices/" RP_PARENT "/0000:00:03.0/sriov_totalvfs");
    pci_dump_destroy(d);
}

static int
build_survey(void *fx, void **obj)
{
    struct host_survey_options o = {fx, NULL};
    struct host_survey *s = NULL;
    int rc = host_survey_run(&o, &s, NULL);

    if (rc != 0) {
        if (s != NULL) {
            fail_msg("survey failed (%d) but handed out a result", rc);
        }
        return rc;
    }
    *obj = s;
    return 0;
}

static void
fp_survey(void *fx, void *obj, struct oom_fp *fp)
{
    const struct host_survey *s = obj;

    (void)fx;
    oom_fp_add(fp, "n%zu;", host_survey_count(s));
    for (size_t i = 0; i < host_survey_count(s); i++) {
        const struct host_device *d = host_survey_device(s, i);

        oom_fp_add(fp, "%s %s members%zu regions%zu;", d->bdf, host_verdict_name(host_device_verdict(d)),
                   d->group_members, d->regions);
        for (int c = 0; c < HOST_CHECK_COUNT; c++) {
            oom_fp_add(fp, "%s=%s:%s|%s;", host_check_name(c), host_result_name(d->check[c].result), d->check[c].why,
                       d->check[c].fix);
        }
        for (size_t k = 0; k < d->unseen_count; k++) {
            oom_fp_add(fp, "unseen:%s;", d->unseen[k]);
        }
    }
}

static void
survey_destroy_cb(void *fx, void *obj)
{
    (void)fx;
    host_survey_destroy(obj);
}

static void
test_survey(void **state)
{
    /*
     * Every allocation the survey makes - directory listings (msi_irqs/, virtfn
     * links, IOMMU units and groups) and log reads (/proc/interrupts, /dev/kmsg)
     * included - fails the whole run with PCIVIRT_ENOMEM or leaves the result
     * identical to the reference: out of memory is never taken for "absent".
     */
    const struct oom_path p = {"survey", build_survey, fp_survey, survey_destroy_cb, PCIVIRT_ENOMEM, false};
    struct tree t;

    (void)state;
    make_tree(&t);
    oom_run(&p, t.root, 2);
    tree_destroy(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenario),
        cmocka_unit_test(test_survey),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
