/*
 * tests/cli/test_run_topology.c - `pcivirt lspci --scenario FILE` (and plain
 * `pcivirt lspci`: the default scenario): PFs, VFs at their routing IDs, and the
 * VM that holds each VF once the scenario's assignments are applied by the stack.
 *
 * Expectations come from the scenario loaded here (its assignments) and from the
 * PCIe routing-ID rule (PF RID + First VF Offset + i x VF Stride, with the real
 * 82576's offset 384 and stride 2 for the dump); the command's JSON is read with
 * jansson.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "lspci_cmd.h"
#include "scenario.h"

#define EXAMPLES PCIVIRT_SOURCE_DIR "/examples"

/* The VM the scenario assigns VF @vf of device @dev to, or NULL. */
static const char *
planned_holder(const struct scenario *sc, size_t dev, uint32_t vf)
{
    for (size_t i = 0; i < sc->n_assignments; i++) {
        if (sc->assignments[i].device == dev && sc->assignments[i].vf == vf) {
            return sc->vms[sc->assignments[i].vm].name;
        }
    }
    return NULL;
}

/* One device's JSON document: every VF at its RID, held by the assigned VM. */
static void
check_device(json_t *doc, const struct scenario *sc, size_t dev, long want_offset, long want_stride)
{
    json_t *sriov = json_object_get(doc, "sriov"), *fns = json_object_get(doc, "functions");
    long pf_rid = -1, offset = json_integer_value(json_object_get(sriov, "first_vf_offset"));
    long stride = json_integer_value(json_object_get(sriov, "vf_stride"));
    size_t vfs = 0, held = 0, i;
    json_t *f;

    if (want_offset >= 0) {
        assert_int_equal(offset, want_offset);
        assert_int_equal(stride, want_stride);
    }
    json_array_foreach(fns, i, f) {
        const char *kind = json_string_value(json_object_get(f, "kind"));
        long rid = json_integer_value(json_object_get(f, "rid"));
        json_t *by = json_object_get(f, "held_by");

        if (strcmp(kind, "pf") == 0) {
            pf_rid = rid;
            assert_true(by == NULL || json_is_null(by));
            continue;
        }
        {
            uint32_t vf = (uint32_t)json_integer_value(json_object_get(f, "vf_index"));
            const char *want = planned_holder(sc, dev, vf);

            assert_true(pf_rid >= 0);
            assert_int_equal(rid, pf_rid + offset + (long)vf * stride);
            if (want != NULL) {
                assert_true(json_is_string(by));
                assert_string_equal(json_string_value(by), want);
                held++;
            } else {
                assert_true(by == NULL || json_is_null(by));
            }
            vfs++;
        }
    }
    assert_int_equal(vfs, sc->devices[dev].num_vfs);
    for (size_t a = 0, n = 0; a <= sc->n_assignments; a++) {
        if (a == sc->n_assignments) {
            assert_int_equal(held, n);
        } else {
            n += sc->assignments[a].device == dev;
        }
    }
}

/* One JSON document per scenario device, in the scenario's order; @offset/@stride[i] < 0: not checked. */
static void
check_topology_n(const char *path, const long *offset, const long *stride)
{
    struct scenario *sc = NULL;
    struct scenario_error se;
    struct run r;
    const char *p;
    size_t dev = 0;

    assert_int_equal(path != NULL ? scenario_load_file(path, &sc, &se) : scenario_load_default(&sc, &se), 0);
    if (path != NULL) {
        run_lspci(&r, "--scenario '%s' --json", path);
    } else {
        run_lspci(&r, "--json");
    }
    assert_int_equal(r.status, 0);
    for (p = r.out; *p != '\0'; dev++) {
        json_error_t je;
        json_t *doc = json_loads(p, JSON_DISABLE_EOF_CHECK, &je);

        assert_non_null(doc);
        assert_true(dev < sc->n_devices);
        check_device(doc, sc, dev, offset[dev], stride[dev]);
        json_decref(doc);
        for (p += je.position; *p == '\n' || *p == ' '; p++) {
        }
    }
    assert_int_equal(dev, sc->n_devices);
    run_free(&r);
    scenario_destroy(sc);
}

static void
check_topology(const char *path, long offset, long stride)
{
    check_topology_n(path, &offset, &stride);
}

static void
test_default_topology(void **state)
{
    check_topology(NULL, -1, -1);
}

static void
test_igb_topology(void **state)
{
    check_topology(EXAMPLES "/igb-non-ari.json", 384, 2); /* 82576 without ARI */
}

static void
test_misbehaving_topology(void **state)
{
    check_topology(EXAMPLES "/misbehaving-guest.json", -1, -1);
}

/* Two devices: the 82599 with ARI (offset 128, stride 2) and the 82576 dump without (384, 2), each VF's holder. */
static void
test_two_devices_topology(void **state)
{
    static const long offset[] = {128, 384}, stride[] = {2, 2};

    check_topology_n(EXAMPLES "/two-devices.json", offset, stride);
}

/* The listing form appends "[VM name]" to exactly the held VFs. */
static void
test_listing_marks_holders(void **state)
{
    struct scenario *sc = NULL;
    struct scenario_error se;
    struct run r;
    char want[64];

    assert_int_equal(scenario_load_default(&sc, &se), 0);
    run_shell(&r, "NO_COLOR=1 " PCIVIRT " lspci");
    assert_int_equal(r.status, 0);
    assert_int_equal(count_of(r.out, "[VM "), sc->n_assignments);
    for (size_t i = 0; i < sc->n_assignments; i++) {
        snprintf(want, sizeof(want), "[VM %s]", sc->vms[sc->assignments[i].vm].name);
        assert_non_null(strstr(r.out, want));
    }
    run_free(&r);
    scenario_destroy(sc);
}

static void
test_scenario_errors(void **state)
{
    struct run r;

    run_lspci(&r, "--scenario '%s/tight-bus-range.json'", EXAMPLES);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "devices[0].bus_range"));
    run_free(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_topology),      cmocka_unit_test(test_igb_topology),
        cmocka_unit_test(test_misbehaving_topology), cmocka_unit_test(test_listing_marks_holders),
        cmocka_unit_test(test_scenario_errors),      cmocka_unit_test(test_two_devices_topology),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
