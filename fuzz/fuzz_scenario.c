/*
 * fuzz/fuzz_scenario.c - arbitrary bytes into the scenario parser.
 *
 * Whatever the input, loading must return (no crash, no leak - ASan runs with the
 * fuzzer), and its result must be coherent: on success every index in the struct
 * points inside its table and every field the runner will trust holds a value the
 * schema allows; on failure the error has a message, and a position only together
 * with both line and column.  Dump paths are resolved against a folder that does
 * not exist, so relative ones never reach real files.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "pcivirt/error.h"
#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_steps(const struct scenario *sc)
{
    for (size_t i = 0; i < sc->n_steps; i++) {
        const struct scenario_step *st = &sc->steps[i];
        CHECK((unsigned)st->action < SCENARIO_ACT_COUNT_);
        CHECK(st->device == SCENARIO_NONE || st->device < sc->n_devices);
        CHECK(st->vm == SCENARIO_NONE || st->vm < sc->n_vms);
        if (st->device != SCENARIO_NONE && st->action != SCENARIO_ACT_REBALANCE &&
            st->action != SCENARIO_ACT_SURPRISE_REMOVE) {
            CHECK(st->vf < sc->devices[st->device].num_vfs);
        }
        CHECK(st->n_vms <= sc->n_vms);
        for (size_t k = 0; k < st->n_vms; k++) {
            CHECK(st->vms[k] < sc->n_vms && sc->vms[st->vms[k]].workload != SCENARIO_NONE);
        }
        CHECK(!st->expect_veto || st->expect_timeout);
    }
}

static void
check_scenario(const struct scenario *sc)
{
    unsigned line;
    unsigned column;

    CHECK(sc->version == SCENARIO_VERSION && sc->name != NULL);
    CHECK(sc->n_devices >= 1 && sc->n_devices <= SCENARIO_MAX_DEVICES);
    for (size_t i = 0; i < sc->n_devices; i++) {
        CHECK(sc->devices[i].num_vfs <= 65535);
        CHECK(!sc->devices[i].has_bus_range || sc->devices[i].bus_first <= sc->devices[i].bus_last);
        CHECK((sc->devices[i].source == SCENARIO_SOURCE_DUMP) == (sc->devices[i].dump_path != NULL));
    }
    for (size_t i = 0; i < sc->n_vms; i++) {
        CHECK(sc->vms[i].workload == SCENARIO_NONE || sc->vms[i].workload < sc->n_workloads);
        CHECK(sc->vms[i].memory_mib >= 1 && sc->vms[i].memory_mib <= 4096);
    }
    for (size_t i = 0; i < sc->n_workloads; i++) {
        CHECK(sc->workloads[i].n_ops >= 1);
        for (size_t k = 0; k < sc->workloads[i].n_ops; k++) {
            const struct scenario_op *op = &sc->workloads[i].ops[k];
            CHECK((unsigned)op->kind < SCENARIO_OP_COUNT_);
            CHECK(op->length >= 1 && op->length <= 128 && op->count >= 1);
        }
    }
    for (size_t i = 0; i < sc->n_assignments; i++) {
        const struct scenario_assignment *a = &sc->assignments[i];
        CHECK(a->vm < sc->n_vms && a->device < sc->n_devices && a->vf < sc->devices[a->device].num_vfs);
    }
    check_steps(sc);
    CHECK(scenario_where(sc, "devices[0]", &line, &column) && line >= 1 && column >= 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct scenario *sc = NULL;
    struct scenario_error err;
    char text[1024];
    int rc = scenario_load_buffer("<fuzz>", "/nonexistent/pcivirt-fuzz", data, size, &sc, &err);

    if (rc == 0) {
        CHECK(sc != NULL);
        check_scenario(sc);
        scenario_destroy(sc);
        return 0;
    }
    CHECK(sc == NULL && rc == err.code && err.message[0] != '\0');
    CHECK((err.line == 0) == (err.column == 0));
    scenario_error_format(&err, text, sizeof(text));
    CHECK(strlen(text) < sizeof(text));
    return 0;
}
