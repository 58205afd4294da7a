/*
 * tests/cli/test_scenario.c - the scenario parser: valid files become the intended
 * structs, and every class of bad input is reported at the right place.
 *
 * Expected positions are never copied from the parser's output: each test names
 * the offending spot in its own input with a caret (`"memory_mib": ^0`), which is
 * removed before parsing, and position_of() below - a separate, deliberately naive line/column count
 * over the test text - says where that is.  Expected field values are the ones
 * written in the test's JSON, read back from the struct.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "pcivirt/error.h"
#include "scenario.h"
#include "util/alloc.h"

#define EXAMPLES PCIVIRT_SOURCE_DIR "/examples"
#define DATA PCIVIRT_SOURCE_DIR "/tests/cli/data"

/* The smallest valid prefix: one device with 4 VFs. Tests append sections and close the object. */
#define HEAD                                                                                                           \
    "{\n"                                                                                                              \
    "  \"pcivirt-scenario\": 1,\n"                                                                                     \
    "  \"devices\": [\n"                                                                                               \
    "    { \"name\": \"nic0\", \"source\": \"builtin:82599\", \"num_vfs\": 4 }\n"                                      \
    "  ]"
#define VMS2                                                                                                           \
    ",\n  \"vms\": [\n"                                                                                                \
    "    { \"name\": \"vm1\" },\n"                                                                                     \
    "    { \"name\": \"vm2\" }\n"                                                                                      \
    "  ]"

/* Line and character column of @at in @text: count newlines and UTF-8 lead bytes. */
static void
count_position(const char *text, const char *at, unsigned *line, unsigned *column)
{
    *line = 1;
    *column = 1;
    for (const char *p = text; p < at; p++) {
        if (*p == '\n') {
            ++*line;
            *column = 1;
        } else if (((unsigned char)*p & 0xC0) != 0x80) {
            ++*column;
        }
    }
}

/*
 * Line and character column of @marked in @text.  @marked is a piece of @text with
 * one '^' before the character meant (no '^' = its first character).
 */
static void
position_of(const char *text, const char *marked, unsigned *line, unsigned *column)
{
    char needle[256];
    size_t caret = 0;
    size_t n = 0;

    for (const char *p = marked; *p != '\0'; p++) {
        if (*p == '^') {
            caret = n;
        } else {
            needle[n++] = *p;
        }
    }
    needle[n] = '\0';
    const char *hit = strstr(text, needle);
    assert_non_null(hit);
    assert_null(strstr(hit + 1, needle)); /* the marker must be unambiguous */
    count_position(text, hit + caret, line, column);
}

static int
load_len(const char *text, size_t len, struct scenario **sc, struct scenario_error *err)
{
    return scenario_load_buffer("t.json", PCIVIRT_SHARED_DIR "/data", text, len, sc, err);
}

/* Say what a load that should have worked reported (the assertion after it fails). */
static void
print_unexpected(int rc, const struct scenario_error *err)
{
    char buf[1024];

    if (rc != 0) {
        scenario_error_format(err, buf, sizeof(buf));
        print_error("unexpected error: %s\n", buf);
    }
}

static struct scenario *
load_ok(const char *text)
{
    struct scenario *sc = NULL;
    struct scenario_error err;
    int rc = load_len(text, strlen(text), &sc, &err);

    print_unexpected(rc, &err);
    assert_int_equal(rc, 0);
    assert_non_null(sc);
    return sc;
}

/*
 * Load @marked without its one '^' and expect @code at the caret's position, with
 * @path and @words in the message.
 */
static void
expect_error_code(int code, const char *marked, const char *path, const char *words)
{
    struct scenario *sc = (struct scenario *)&sc;
    struct scenario_error err;
    size_t len = strlen(marked);
    char *text = malloc(len);
    const char *caret = strchr(marked, '^');
    unsigned line;
    unsigned column;

    assert_non_null(caret);
    assert_null(strchr(caret + 1, '^'));
    memcpy(text, marked, (size_t)(caret - marked));
    memcpy(text + (caret - marked), caret + 1, len - (size_t)(caret - marked) - 1);
    text[len - 1] = '\0';
    count_position(marked, caret, &line, &column);
    int rc = load_len(text, len - 1, &sc, &err);
    if (rc != code || strcmp(err.path, path) != 0 || err.line != line || err.column != column ||
        strstr(err.message, words) == NULL) {
        char buf[1024];
        scenario_error_format(&err, buf, sizeof(buf));
        print_error("got rc %d: %s\nwanted rc %d at %u:%u path '%s' with '%s'\n", rc, buf, code, line, column, path,
                    words);
    }
    free(text);
    assert_int_equal(rc, code);
    assert_null(sc);
    assert_int_equal(err.code, code);
    assert_string_equal(err.file, "t.json");
    assert_string_equal(err.path, path);
    assert_int_equal(err.line, line);
    assert_int_equal(err.column, column);
    assert_non_null(strstr(err.message, words));
}

static void
expect_error(const char *marked, const char *path, const char *words)
{
    expect_error_code(PCIVIRT_EFORMAT, marked, path, words);
}

static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* ---- valid input -------------------------------------------------------------------------- */

static void
test_minimal_gets_defaults(void **state)
{
    struct scenario *sc = load_ok(HEAD "\n}\n");

    assert_int_equal(sc->version, 1);
    assert_string_equal(sc->name, "t");
    assert_string_equal(sc->file, "t.json");
    assert_null(sc->description);
    assert_int_equal(sc->options.clock, SCENARIO_CLOCK_VIRTUAL);
    assert_int_equal(sc->options.seed, 1);
    assert_int_equal(sc->timing.query_stop_timeout_ms, 5000);
    assert_int_equal(sc->timing.eject_window_ms, 60000);
    assert_int_equal(sc->timing.on_timeout, SCENARIO_POLICY_VETO);
    assert_int_equal(sc->n_devices, 1);
    assert_string_equal(sc->devices[0].name, "nic0");
    assert_int_equal(sc->devices[0].source, SCENARIO_SOURCE_BUILTIN);
    assert_string_equal(sc->devices[0].builtin, "82599");
    assert_null(sc->devices[0].dump_path);
    assert_int_equal(sc->devices[0].num_vfs, 4);
    assert_true(sc->devices[0].ari);
    assert_false(sc->devices[0].has_pf);
    assert_false(sc->devices[0].has_bus_range);
    assert_int_equal(sc->n_vms, 0);
    assert_int_equal(sc->n_assignments, 0);
    assert_int_equal(sc->n_workloads, 0);
    assert_int_equal(sc->n_steps, 0);
    scenario_destroy(sc);
}

static const char full_text[] =
    "{\n"
    "  \"pcivirt-scenario\": 1,\n"
    "  \"name\": \"full\",\n"
    "  \"description\": \"every field\",\n"
    "  \"options\": { \"clock\": \"real\", \"seed\": 9007199254740993 },\n"
    "  \"timing\": { \"query_stop_timeout_ms\": 250, \"eject_window_ms\": 1500, \"on_timeout\": \"surprise-remove\" "
    "},\n"
    "  \"devices\": [\n"
    "    { \"name\": \"a\", \"source\": \"builtin:82599\", \"pf\": \"0001:03:1f.7\", \"num_vfs\": 64, \"ari\": false,\n"
    "      \"bus_range\": { \"first\": 3, \"last\": 9 } },\n"
    "    { \"name\": \"b\", \"source\": \"pciutils-tests/cap-pcie-2\", \"num_vfs\": 2 }\n"
    "  ],\n"
    "  \"workloads\": [\n"
    "    { \"name\": \"w\", \"iterations\": 7, \"ops\": [\n"
    "      { \"op\": \"enumerate\" }, { \"op\": \"bar-setup\" },\n"
    "      { \"op\": \"dma\", \"size\": 1048576, \"count\": 3 },\n"
    "      { \"op\": \"block-read\", \"block\": 4294967295, \"length\": 1 },\n"
    "      { \"op\": \"block-write\", \"block\": 5 },\n"
    "      { \"op\": \"block-exchange\", \"block\": 6, \"length\": 128 },\n"
    "      { \"op\": \"pf-set-mac\", \"mac\": \"02:aB:cd:00:00:fe\" }, { \"op\": \"pf-set-mac\" },\n"
    "      { \"op\": \"interrupts\", \"count\": 2048 }, { \"op\": \"mmio\" } ] }\n"
    "  ],\n"
    "  \"vms\": [\n"
    "    { \"name\": \"x-1.a_b\", \"memory_mib\": 2, \"vpci_version\": \"1.1\", \"workload\": \"w\",\n"
    "      \"misbehave\": [\"malformed-packets\", \"dma-outside\", \"ignore-eject\"] },\n"
    "    { \"name\": \"y\", \"memory_mib\": 4096, \"misbehave\": [\"ignore-query-stop\"] },\n"
    "    { \"name\": \"z\", \"workload\": \"w\" }\n"
    "  ],\n"
    "  \"assignments\": [\n"
    "    { \"vm\": \"y\", \"device\": \"a\", \"vf\": 63 },\n"
    "    { \"vm\": \"x-1.a_b\", \"device\": \"b\", \"vf\": 1 },\n"
    "    { \"vm\": \"z\", \"device\": \"a\", \"vf\": 0 }\n"
    "  ],\n"
    "  \"timeline\": [\n"
    "    { \"action\": \"workload\", \"note\": \"n\\u00e9\" },\n"
    "    { \"action\": \"workload\", \"vms\": [\"z\", \"x-1.a_b\"] },\n"
    "    { \"action\": \"rebalance\", \"device\": \"a\", \"move_bars\": false },\n"
    "    { \"action\": \"assign\", \"vm\": \"y\", \"device\": \"a\", \"vf\": 63 },\n"
    "    { \"action\": \"guest\", \"vm\": \"y\", \"misbehave\": [] },\n"
    "    { \"action\": \"rebalance\", \"device\": \"a\" },\n"
    "    { \"action\": \"eject\", \"vm\": \"x-1.a_b\", \"device\": \"b\", \"vf\": 1 },\n"
    "    { \"action\": \"pf-block-change\", \"device\": \"b\", \"vf\": 0, \"block\": 63 },\n"
    "    { \"action\": \"pf-set-mac\", \"device\": \"a\", \"vf\": 2, \"mac\": \"00:00:00:00:00:02\" },\n"
    "    { \"action\": \"wait\", \"ms\": 0 },\n"
    "    { \"action\": \"surprise-remove\", \"device\": \"a\" }\n"
    "  ]\n"
    "}\n";

static void
test_full_fields(void **state)
{
    struct scenario *sc = load_ok(full_text);

    assert_string_equal(sc->name, "full");
    assert_string_equal(sc->description, "every field");
    assert_int_equal(sc->options.clock, SCENARIO_CLOCK_REAL);
    assert_true(sc->options.seed == 9007199254740993ull); /* above 2^53: kept exact, not through a double */
    assert_int_equal(sc->timing.query_stop_timeout_ms, 250);
    assert_int_equal(sc->timing.eject_window_ms, 1500);
    assert_int_equal(sc->timing.on_timeout, SCENARIO_POLICY_SURPRISE_REMOVE);

    const struct scenario_device *a = &sc->devices[0];
    assert_true(a->has_pf);
    assert_int_equal(a->pf_segment, 1);
    assert_int_equal(a->pf_bus, 3);
    assert_int_equal(a->pf_device, 0x1f);
    assert_int_equal(a->pf_function, 7);
    assert_int_equal(a->num_vfs, 64);
    assert_false(a->ari);
    assert_true(a->has_bus_range);
    assert_int_equal(a->bus_first, 3);
    assert_int_equal(a->bus_last, 9);
    const struct scenario_device *b = &sc->devices[1];
    assert_int_equal(b->source, SCENARIO_SOURCE_DUMP);
    assert_string_equal(b->dump_path, PCIVIRT_SHARED_DIR "/data/pciutils-tests/cap-pcie-2");
    assert_true(b->ari);

    const struct scenario_workload *w = &sc->workloads[0];
    assert_int_equal(sc->n_workloads, 1);
    assert_int_equal(w->iterations, 7);
    assert_int_equal(w->n_ops, 10);
    static const enum scenario_op_kind kinds[] = {SCENARIO_OP_ENUMERATE,   SCENARIO_OP_BAR_SETUP,
                                                  SCENARIO_OP_DMA,         SCENARIO_OP_BLOCK_READ,
                                                  SCENARIO_OP_BLOCK_WRITE, SCENARIO_OP_BLOCK_EXCHANGE,
                                                  SCENARIO_OP_PF_SET_MAC,  SCENARIO_OP_PF_SET_MAC,
                                                  SCENARIO_OP_INTERRUPTS,  SCENARIO_OP_MMIO};
    for (size_t k = 0; k < 10; k++) {
        assert_int_equal(w->ops[k].kind, kinds[k]);
    }
    assert_int_equal(w->ops[2].size, 1048576);
    assert_int_equal(w->ops[2].count, 3);
    assert_int_equal(w->ops[3].block, 4294967295u);
    assert_int_equal(w->ops[3].length, 1);
    assert_int_equal(w->ops[4].block, 5);
    assert_int_equal(w->ops[4].length, 128); /* default */
    assert_int_equal(w->ops[5].length, 128);
    static const uint8_t mac[6] = {0x02, 0xab, 0xcd, 0x00, 0x00, 0xfe};
    assert_true(w->ops[6].has_mac);
    assert_memory_equal(w->ops[6].mac, mac, 6);
    assert_false(w->ops[7].has_mac);
    assert_int_equal(w->ops[8].count, 2048);
    assert_int_equal(w->ops[9].count, 1); /* default */
    assert_string_equal(scenario_op_name(w->ops[1].kind), "bar-setup");

    assert_int_equal(sc->n_vms, 3);
    assert_string_equal(sc->vms[0].name, "x-1.a_b");
    assert_int_equal(sc->vms[0].memory_mib, 2);
    assert_int_equal(sc->vms[0].vpci_version, 0x00010001);
    assert_int_equal(sc->vms[0].workload, 0);
    assert_int_equal(sc->vms[0].misbehave,
                     SCENARIO_GUEST_MALFORMED_PACKETS | SCENARIO_GUEST_DMA_OUTSIDE | SCENARIO_GUEST_IGNORE_EJECT);
    assert_int_equal(sc->vms[1].memory_mib, 4096);
    assert_int_equal(sc->vms[1].vpci_version, 0x00010004); /* default 1.4 */
    assert_int_equal(sc->vms[1].workload, SCENARIO_NONE);
    assert_int_equal(sc->vms[1].misbehave, SCENARIO_GUEST_IGNORE_QUERY_STOP);
    assert_int_equal(sc->vms[2].memory_mib, 64);
    char bits[128];
    scenario_misbehave_format(sc->vms[0].misbehave, bits, sizeof(bits));
    assert_string_equal(bits, "ignore-eject,malformed-packets,dma-outside");
    scenario_misbehave_format(0, bits, sizeof(bits));
    assert_string_equal(bits, "none");

    assert_int_equal(sc->n_assignments, 3);
    assert_int_equal(sc->assignments[0].vm, 1);
    assert_int_equal(sc->assignments[0].device, 0);
    assert_int_equal(sc->assignments[0].vf, 63);
    assert_int_equal(sc->assignments[1].vm, 0);
    assert_int_equal(sc->assignments[1].device, 1);
    assert_int_equal(sc->assignments[1].vf, 1);

    const struct scenario_step *st = sc->steps;
    assert_int_equal(sc->n_steps, 11);
    assert_int_equal(st[0].action, SCENARIO_ACT_WORKLOAD);
    assert_string_equal(st[0].note, "n\xc3\xa9");
    assert_int_equal(st[0].n_vms, 2); /* every VM with a workload: x-1.a_b and z */
    assert_int_equal(st[0].vms[0], 0);
    assert_int_equal(st[0].vms[1], 2);
    assert_int_equal(st[1].n_vms, 2);
    assert_int_equal(st[1].vms[0], 2);
    assert_int_equal(st[1].vms[1], 0);
    assert_null(st[1].note);
    /* y (ignore-query-stop) holds a's VF 63; policy surprise-remove: timeout, no veto, VF taken. */
    assert_int_equal(st[2].action, SCENARIO_ACT_REBALANCE);
    assert_false(st[2].move_bars);
    assert_true(st[2].expect_timeout);
    assert_false(st[2].expect_veto);
    /* ... so VF 63 is free again and can be assigned back to y. */
    assert_int_equal(st[3].action, SCENARIO_ACT_ASSIGN);
    assert_int_equal(st[3].vm, 1);
    assert_int_equal(st[3].vf, 63);
    assert_int_equal(st[4].misbehave, 0);
    assert_true(st[5].move_bars);
    assert_false(st[5].expect_timeout);
    assert_int_equal(st[6].action, SCENARIO_ACT_EJECT);
    assert_true(st[6].expect_forced); /* x-1.a_b ignores eject */
    assert_int_equal(st[7].block, 63);
    assert_int_equal(st[7].length, 8);
    assert_int_equal(st[8].action, SCENARIO_ACT_PF_SET_MAC);
    assert_true(st[8].has_mac);
    assert_int_equal(st[8].mac[5], 2);
    assert_int_equal(st[9].wait_ms, 0);
    assert_int_equal(st[10].action, SCENARIO_ACT_SURPRISE_REMOVE);
    assert_int_equal(st[10].device, 0);
    assert_string_equal(scenario_action_name(st[10].action), "surprise-remove");
    scenario_destroy(sc);
}

static void
test_where_finds_fields(void **state)
{
    /* Each path, and where full_text has it (position_of's caret). */
    static const struct {
        const char *path;
        const char *marked;
    } found[] = {
        {"vms[1].memory_mib", "\"y\", \"memory_mib\": ^4096"},
        {"devices[0].bus_range.last", "\"last\": ^9"},
        {"workloads[0].ops[9]", "^{ \"op\": \"mmio\" }"},
    };
    struct scenario *sc = load_ok(full_text);
    unsigned line;
    unsigned column;
    unsigned el;
    unsigned ec;

    for (size_t i = 0; i < sizeof(found) / sizeof(found[0]); i++) {
        assert_true(scenario_where(sc, found[i].path, &line, &column));
        position_of(full_text, found[i].marked, &el, &ec);
        if (line != el || column != ec) {
            print_error("%s: at %u:%u, expected %u:%u\n", found[i].path, line, column, el, ec);
        }
        assert_int_equal(line, el);
        assert_int_equal(column, ec);
    }
    assert_true(scenario_where(sc, "", &line, &column));
    assert_int_equal(line, 1);
    assert_int_equal(column, 1);
    assert_false(scenario_where(sc, "vms[3]", &line, &column));
    assert_false(scenario_where(sc, "vms[1].cpus", &line, &column));
    assert_false(scenario_where(sc, "vms[", &line, &column));
    assert_false(scenario_where(NULL, "vms", &line, &column));
    scenario_destroy(sc);
}

/* The embedded default is examples/default.json, parses, and does what issue 7 asks of it. */
static void
test_default_scenario(void **state)
{
    size_t len;
    char *file = read_file(EXAMPLES "/default.json", &len);
    struct scenario *sc = NULL;
    struct scenario_error err;
    bool seen[SCENARIO_OP_COUNT_] = {false};

    assert_int_equal(len, strlen(scenario_default_text()));
    assert_memory_equal(file, scenario_default_text(), len);
    free(file);
    assert_int_equal(scenario_load_default(&sc, &err), 0);
    assert_string_equal(sc->file, "<default>");
    assert_int_equal(sc->devices[0].source, SCENARIO_SOURCE_BUILTIN);
    assert_true(sc->devices[0].num_vfs > 0);
    assert_int_equal(sc->n_vms, 3);
    assert_int_equal(sc->n_assignments, 3);
    for (size_t v = 0; v < sc->n_vms; v++) {
        const struct scenario_workload *w = &sc->workloads[sc->vms[v].workload];
        for (size_t k = 0; k < w->n_ops; k++) {
            seen[w->ops[k].kind] = true;
        }
    }
    assert_true(seen[SCENARIO_OP_ENUMERATE] && seen[SCENARIO_OP_BAR_SETUP] && seen[SCENARIO_OP_DMA]);
    assert_true(seen[SCENARIO_OP_BLOCK_EXCHANGE] && seen[SCENARIO_OP_PF_SET_MAC] && seen[SCENARIO_OP_INTERRUPTS]);
    size_t acked = 0;
    size_t timed_out = 0;
    size_t removals = 0;
    for (size_t i = 0; i < sc->n_steps; i++) {
        const struct scenario_step *st = &sc->steps[i];
        acked += st->action == SCENARIO_ACT_REBALANCE && !st->expect_timeout;
        timed_out += st->action == SCENARIO_ACT_REBALANCE && st->expect_timeout;
        removals += st->action == SCENARIO_ACT_SURPRISE_REMOVE;
    }
    assert_true(acked >= 1);
    assert_int_equal(timed_out, 1);
    assert_int_equal(removals, 1);
    assert_int_equal(sc->steps[sc->n_steps - 1].action, SCENARIO_ACT_SURPRISE_REMOVE);
    scenario_destroy(sc);
}

static void
test_examples_load(void **state)
{
    static const char *const names[] = {"default", "igb-non-ari", "misbehaving-guest", "tight-bus-range"};
    struct scenario *sc = NULL;
    struct scenario_error err;
    struct stat a;
    struct stat b;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s.json", EXAMPLES, names[i]);
        int rc = scenario_load_file(path, &sc, &err);
        print_unexpected(rc, &err);
        assert_int_equal(rc, 0);
        assert_string_equal(sc->name, names[i]);
        if (strcmp(names[i], "igb-non-ari") == 0) {
            /* The dump path is relative to the scenario file and names the shared cap-pcie-2. */
            assert_int_equal(stat(sc->devices[0].dump_path, &a), 0);
            assert_int_equal(stat(PCIVIRT_SHARED_DIR "/data/pciutils-tests/cap-pcie-2", &b), 0);
            assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
            assert_false(sc->devices[0].ari);
            assert_int_equal(sc->devices[0].pf_bus, 1);
            assert_int_equal(sc->devices[0].bus_last, 2);
            assert_true(sc->steps[3].expect_veto);
        }
        if (strcmp(names[i], "misbehaving-guest") == 0) {
            assert_true(sc->steps[1].expect_veto);
            assert_true(sc->steps[3].expect_forced);
        }
        scenario_destroy(sc);
    }
}

static void
test_relative_dump_and_bom(void **state)
{
    char dir[] = "/tmp/pcivirt-scenario-XXXXXX";
    char path[256];
    struct scenario *sc = NULL;
    struct scenario_error err;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/dumps", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/dumps/pf", dir);
    FILE *f = fopen(path, "w");
    fputs("01:00.0 x\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/s.json", dir);
    f = fopen(path, "w");
    fputs("\xEF\xBB\xBF{\"pcivirt-scenario\": 1, \"devices\": [{\"name\": \"d\", \"source\": \"dumps/pf\", "
          "\"num_vfs\": 1}]}",
          f);
    fclose(f);
    assert_int_equal(scenario_load_file(path, &sc, &err), 0);
    char want[256];
    snprintf(want, sizeof(want), "%s/dumps/pf", dir);
    assert_string_equal(sc->devices[0].dump_path, want);
    assert_string_equal(sc->name, "s");
    scenario_destroy(sc);

    /* An error on line 1 of a file with a BOM: the BOM is not a column. */
    f = fopen(path, "w");
    fputs("\xEF\xBB\xBF{\"pcivirt-scenario\": 2}", f);
    fclose(f);
    assert_int_equal(scenario_load_file(path, &sc, &err), PCIVIRT_EFORMAT);
    assert_int_equal(err.line, 1);
    assert_int_equal(err.column, 22);
    assert_string_equal(err.file, path);
    char line[1024];
    scenario_error_format(&err, line, sizeof(line));
    char expect[512];
    snprintf(expect, sizeof(expect), "%s:1:22: pcivirt-scenario: unsupported format version 2", path);
    assert_memory_equal(line, expect, strlen(expect));

    unlink(path);
    snprintf(path, sizeof(path), "%s/dumps/pf", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/dumps", dir);
    rmdir(path);
    rmdir(dir);
}

/* A scenario from tests/cli/data with the error's position found from the file's own text. */
static void
test_error_in_data_file(void **state)
{
    size_t len;
    char *text = read_file(DATA "/vf-out-of-range.json", &len);
    struct scenario *sc = NULL;
    struct scenario_error err;
    unsigned line;
    unsigned column;
    char buf[1024];
    char want[1024];

    assert_int_equal(scenario_load_file(DATA "/vf-out-of-range.json", &sc, &err), PCIVIRT_EFORMAT);
    assert_null(sc);
    position_of(text, "\"vf\": ^8", &line, &column);
    scenario_error_format(&err, buf, sizeof(buf));
    snprintf(want, sizeof(want),
             DATA "/vf-out-of-range.json:%u:%u: assignments[1].vf: VF 8 does not exist: device 'nic0' enables 8 VFs "
                  "(0..7)",
             line, column);
    assert_string_equal(buf, want);
    free(text);
}

/* ---- syntax, encoding and size ------------------------------------------------------------- */

static void
test_syntax_errors(void **state)
{
    expect_error("{\n  \"pcivirt-scenario\": 1,\n  \"devices\": ^tru\n}", "", "syntax error");
    expect_error("{\n  \"pcivirt-scenario\": 1,\n  \"devices\": [],\n^}", "", "syntax error");
    expect_error("{\"pcivirt-scenario\": 1} ^x", "", "end of file expected");
    expect_error("{\n  \"pcivirt-scenario\": 1,\n  \"vms\": [],\n  ^\"vms\": []\n}", "", "duplicate key \"vms\"");
    /* Duplicate keys deep inside are found too. */
    expect_error(HEAD ",\n  \"vms\": [{ \"name\": \"a\", ^\"name\": \"b\" }]\n}", "", "duplicate key");
    expect_error("^[1, 2]", "", "a scenario is a JSON object");
    expect_error("{\"pcivirt-scenario\": 1, \"seed\": ^99999999999999999999999}", "", "too big");
}

static void
test_encoding_errors(void **state)
{
    /* Columns count characters: the two-byte e-acute is one column. */
    expect_error("{\n  \"name\": \"caf\xc3\xa9 ^\xff\"\n}", "", "byte 0xff is not valid UTF-8");
    expect_error("{\"a\": \"^\xc0\x80\"}", "", "byte 0xc0");         /* overlong NUL */
    expect_error("{\"a\": \"^\xed\xa0\x80\"}", "", "byte 0xed");     /* a surrogate */
    expect_error("{\"a\": \"^\xf4\x90\x80\x80\"}", "", "byte 0xf4"); /* above U+10FFFF */
    expect_error("{\"a\": \"^\xe2\x82\"}", "", "byte 0xe2");         /* cut short */
    static const char nul[] = "{\n \"a\": 1\0}";
    struct scenario *sc = NULL;
    struct scenario_error err;
    assert_int_equal(load_len(nul, sizeof(nul) - 1, &sc, &err), PCIVIRT_EFORMAT);
    assert_int_equal(err.line, 2);
    assert_int_equal(err.column, 8);
    assert_non_null(strstr(err.message, "NUL byte"));
    assert_int_equal(load_len("", 0, &sc, &err), PCIVIRT_EFORMAT);
    assert_int_equal(err.line, 1);
    assert_int_equal(err.column, 1);
    assert_non_null(strstr(err.message, "empty"));
    expect_error(" \n\t ^", "", "empty");
}

static void
test_deep_nesting(void **state)
{
    size_t depth = 5000;
    char *text = malloc(depth + 64);
    int n = snprintf(text, 64, "{\"pcivirt-scenario\": 1, \"x\": ");
    struct scenario *sc = NULL;
    struct scenario_error err;

    memset(text + n, '[', depth);
    text[n + depth] = '\0';
    assert_int_equal(load_len(text, strlen(text), &sc, &err), PCIVIRT_EFORMAT);
    /* The root object is level 1, so the 2048th '[' is the first level beyond JSON_PARSER_MAX_DEPTH. */
    assert_int_equal(err.line, 1);
    assert_int_equal(err.column, (unsigned)n + JSON_PARSER_MAX_DEPTH);
    assert_non_null(strstr(err.message, "levels deep"));
    free(text);
}

static void
test_size_limit(void **state)
{
    static const char body[] = "{\"pcivirt-scenario\": 1, \"devices\": [{\"name\": \"d\", \"source\": "
                               "\"builtin:82599\", \"num_vfs\": 1}]}";
    size_t max = SCENARIO_MAX_FILE_BYTES;
    char *text = malloc(max + 2);
    struct scenario *sc = NULL;
    struct scenario_error err;
    char path[] = "/tmp/pcivirt-big-XXXXXX";

    /* Exactly 1 MiB (the document padded with spaces) is accepted... */
    memset(text, ' ', max + 1);
    memcpy(text, body, strlen(body));
    assert_int_equal(load_len(text, max, &sc, &err), 0);
    scenario_destroy(sc);
    /* ... one byte more is refused before parsing, from memory and from a file. */
    assert_int_equal(load_len(text, max + 1, &sc, &err), PCIVIRT_ERANGE);
    assert_null(sc);
    assert_non_null(strstr(err.message, "1 MiB"));
    assert_int_equal(err.line, 0);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, max + 1), (ssize_t)(max + 1));
    close(fd);
    assert_int_equal(scenario_load_file(path, &sc, &err), PCIVIRT_ERANGE);
    assert_non_null(strstr(err.message, "1 MiB"));
    assert_string_equal(err.file, path);
    unlink(path);
    free(text);
}

static void
test_unreadable_files(void **state)
{
    struct scenario *sc = (struct scenario *)&sc;
    struct scenario_error err;

    assert_int_equal(scenario_load_file(DATA "/no-such-file.json", &sc, &err), PCIVIRT_ENOENT);
    assert_null(sc);
    assert_int_equal(err.line, 0);
    assert_non_null(strstr(err.message, "No such file"));
    assert_int_equal(scenario_load_file(DATA, &sc, &err), PCIVIRT_EIO);
    assert_non_null(strstr(err.message, "directory"));
}

/* ---- schema errors -------------------------------------------------------------------------- */

static void
test_version_and_top_level(void **state)
{
    expect_error("^{\n  \"devices\": []\n}", "pcivirt-scenario", "missing required field 'pcivirt-scenario'");
    expect_error("{\n  \"pcivirt-scenario\": ^2\n}", "pcivirt-scenario", "unsupported format version 2");
    expect_error("{\n  \"pcivirt-scenario\": ^\"1\"\n}", "pcivirt-scenario", "must be the integer 1");
    expect_error(HEAD ",\n  ^\"devics\": []\n}", "devics", "unknown field 'devics' (did you mean 'devices'?)");
    expect_error(HEAD ",\n  ^\"zzz\": 1\n}", "zzz", "allowed here: pcivirt-scenario, name");
    expect_error(HEAD ",\n  ^\"a\\u0001\": 1\n}", "a\\x01", "unknown field 'a\\x01'");
    expect_error("^{\n  \"pcivirt-scenario\": 1\n}", "devices", "missing required field 'devices'");
    expect_error("{\n  \"pcivirt-scenario\": 1,\n  \"devices\": ^[]\n}", "devices", "at least 1");
    expect_error(HEAD ",\n  \"options\": { \"seed\": ^-1 }\n}", "options.seed", "out of range 0..");
    expect_error(HEAD ",\n  \"options\": { \"clock\": ^\"rael\" }\n}", "options.clock",
                 "unknown clock 'rael' (did you mean 'real'?); one of: virtual, real");
    expect_error(HEAD ",\n  \"timing\": { \"on_timeout\": ^\"surprise_remove\" }\n}", "timing.on_timeout",
                 "did you mean 'surprise-remove'?");
    expect_error(HEAD ",\n  \"timing\": { \"eject_window_ms\": ^0 }\n}", "timing.eject_window_ms",
                 "0 is out of range 1..3600000");
    expect_error(HEAD ",\n  \"timing\": ^[]\n}", "timing", "expected an object, found an array");
    expect_error(HEAD ",\n  \"name\": ^7\n}", "name", "expected a string, found an integer");
}

/* The smallest document around device @entries, and one 82599 device "d" with @rest after its source. */
#define DEVICES(entries) "{\"pcivirt-scenario\": 1, \"devices\": [\n  " entries "\n]}"
#define DEV82599(rest) DEVICES("{ \"name\": \"d\", \"source\": \"builtin:82599\", " rest " }")

static void
test_device_errors(void **state)
{
    expect_error(DEVICES("{ \"name\": \"d\", \"source\": ^\"builtin:82598\", \"num_vfs\": 1 }"), "devices[0].source",
                 "unknown built-in profile '82598' (did you mean '82599'?)");
    expect_error(DEV82599("\"num_vfs\": ^65"), "devices[0].num_vfs", "TotalVFs 64");
    expect_error(DEV82599("\"num_vfs\": ^\"8\""), "devices[0].num_vfs", "expected an integer, found a string");
    expect_error(DEV82599("\"num_vfs\": ^8.0"), "devices[0].num_vfs", "expected an integer, found a real number");
    expect_error(DEV82599("\"num_vfs\": 1, \"ari\": ^1"), "devices[0].ari", "expected true or false, found an integer");
    expect_error_code(PCIVIRT_ENOENT, DEVICES("{ \"name\": \"d\", \"source\": ^\"nope/x\", \"num_vfs\": 1 }"),
                      "devices[0].source", "No such file or directory");
    expect_error_code(PCIVIRT_ENOENT, DEVICES("{ \"name\": \"d\", \"source\": ^\".\", \"num_vfs\": 1 }"),
                      "devices[0].source", "not a regular file");
    expect_error(DEV82599("\"pf\": ^\"1:0.0\", \"num_vfs\": 1"), "devices[0].pf", "not a PCI location");
    expect_error(DEV82599("\"pf\": ^\"01:20.0\", \"num_vfs\": 1"), "devices[0].pf", "not a PCI location");
    expect_error(DEV82599("\"num_vfs\": 1,\n    \"bus_range\": { \"first\": 5, \"last\": ^4 }"),
                 "devices[0].bus_range.last", "bus 4 is below the first bus 5");
    expect_error(DEV82599("\"pf\": \"02:00.0\", \"num_vfs\": 1,\n    \"bus_range\": { \"first\": ^1, \"last\": 4 }"),
                 "devices[0].bus_range.first", "first must be 2");
    expect_error(DEV82599("\"num_vfs\": 1,\n    \"bus_range\": { \"first\": ^256, \"last\": 4 }"),
                 "devices[0].bus_range.first", "out of range 0..255");
    expect_error(DEVICES("^{ \"name\": \"d\", \"num_vfs\": 1 }"), "devices[0].source",
                 "missing required field 'source'");
    expect_error(DEVICES("{ \"name\": \"d\", \"source\": \"builtin:82599\", \"num_vfs\": 1 },\n"
                         "  { \"name\": ^\"d\", \"source\": \"builtin:82599\", \"num_vfs\": 1 }"),
                 "devices[1].name", "duplicate device name 'd' (already used by devices[0])");
    expect_error(DEVICES("{ \"name\": ^\"-d\", \"source\": \"builtin:82599\", \"num_vfs\": 1 }"), "devices[0].name",
                 "not a valid name");
    expect_error(DEVICES("^7"), "devices[0]", "expected an object");
}

static void
test_vm_errors(void **state)
{
    expect_error(HEAD
                 ",\n  \"vms\": [\n    { \"name\": \"vm1\" },\n    { \"name\": \"vm2\", \"memory_mib\": ^0 }\n  ]\n}",
                 "vms[1].memory_mib", "0 is out of range 1..4096");
    expect_error(HEAD ",\n  \"vms\": [\n    { \"name\": \"vm1\" },\n    { \"name\": ^\"vm1\" }\n  ]\n}", "vms[1].name",
                 "duplicate VM name 'vm1' (already used by vms[0])");
    expect_error(HEAD ",\n  \"vms\": [\n    { \"name\": \"vm1\", \"vpci_version\": ^\"2.0\" }\n  ]\n}",
                 "vms[0].vpci_version", "one of: 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6");
    expect_error(
        HEAD ",\n  \"vms\": [\n    { \"name\": \"vm1\", \"misbehave\": [\"ignore-eject\", ^\"ignore-ejct\"] }\n  ]\n}",
        "vms[0].misbehave[1]", "did you mean 'ignore-eject'?");
    expect_error(
        HEAD ",\n  \"vms\": [\n    { \"name\": \"vm1\", \"misbehave\": [\"ignore-eject\", ^\"ignore-eject\"] }\n  ]\n}",
        "vms[0].misbehave[1]", "listed twice");
    expect_error(HEAD ",\n  \"vms\": [\n    { \"name\": \"vm1\", \"workload\": ^\"w\" }\n  ]\n}", "vms[0].workload",
                 "unknown workload 'w'");
    expect_error(HEAD
                 ",\n  \"workloads\": [{ \"name\": \"big\", \"ops\": [{ \"op\": \"dma\", \"size\": 16777216 }] }],\n"
                 "  \"vms\": [\n    { \"name\": \"vm1\", \"memory_mib\": 31, \"workload\": ^\"big\" }\n  ]\n}",
                 "vms[0].workload", "the VM has 31 MiB");
    expect_error(HEAD ",\n  \"vms\": [\n    { \"name\": \"vm1\", ^\"memory\": 64 }\n  ]\n}", "vms[0].memory",
                 "did you mean 'memory_mib'?");
}

static void
test_assignment_errors(void **state)
{
    expect_error(HEAD VMS2 ",\n  \"assignments\": [\n    { \"vm\": ^\"vm4\", \"device\": \"nic0\", \"vf\": 0 }\n  ]\n}",
                 "assignments[0].vm", "unknown VM 'vm4' (did you mean 'vm1'?)");
    expect_error(HEAD VMS2 ",\n  \"assignments\": [\n    { \"vm\": \"vm1\", \"device\": ^\"nic\", \"vf\": 0 }\n  ]\n}",
                 "assignments[0].device", "unknown device 'nic' (did you mean 'nic0'?)");
    expect_error(HEAD VMS2 ",\n  \"assignments\": [\n    { \"vm\": \"vm1\", \"device\": \"nic0\", \"vf\": 0 },\n"
                           "    { \"vm\": \"vm2\", \"device\": \"nic0\", \"vf\": ^4 }\n  ]\n}",
                 "assignments[1].vf", "VF 4 does not exist: device 'nic0' enables 4 VFs (0..3)");
    expect_error(HEAD VMS2 ",\n  \"assignments\": [\n    { \"vm\": \"vm1\", \"device\": \"nic0\", \"vf\": 2 },\n"
                           "    { \"vm\": \"vm2\", \"device\": \"nic0\", \"vf\": ^2 }\n  ]\n}",
                 "assignments[1].vf", "VF 2 of device 'nic0' is already assigned to VM 'vm1' by assignments[0]");
    expect_error(HEAD VMS2 ",\n  \"assignments\": [\n    ^{ \"vm\": \"vm1\", \"device\": \"nic0\" }\n  ]\n}",
                 "assignments[0].vf", "missing required field 'vf'");
    expect_error(
        "{\"pcivirt-scenario\": 1, \"devices\": [{ \"name\": \"z\", \"source\": \"builtin:82599\", \"num_vfs\": "
        "0 }],\n \"vms\": [{ \"name\": \"v\" }],\n \"assignments\": [{ \"vm\": \"v\", \"device\": \"z\", "
        "\"vf\": ^0 }]}",
        "assignments[0].vf", "enables no VFs");
}

#define WORK(ops) HEAD ",\n  \"workloads\": [\n    { \"name\": \"w\", \"ops\": [\n      " ops "\n    ] }\n  ]\n}"

static void
test_workload_errors(void **state)
{
    expect_error(WORK("{ \"op\": ^\"dam\", \"size\": 4096 }"), "workloads[0].ops[0].op",
                 "unknown op 'dam' (did you mean 'dma'?)");
    expect_error(WORK("{ \"op\": \"enumerate\" },\n      { \"op\": \"enumerate\", ^\"count\": 3 }"),
                 "workloads[0].ops[1].count", "unknown field 'count' (allowed here: op)");
    expect_error(WORK("^{ \"op\": \"dma\" }"), "workloads[0].ops[0].size", "missing required field 'size'");
    expect_error(WORK("{ \"op\": \"dma\", \"size\": ^16777217 }"), "workloads[0].ops[0].size",
                 "out of range 1..16777216");
    expect_error(WORK("{ \"op\": \"block-read\", \"block\": 1, \"length\": ^129 }"), "workloads[0].ops[0].length",
                 "out of range 1..128");
    expect_error(WORK("{ \"op\": \"block-write\", \"block\": ^4294967296 }"), "workloads[0].ops[0].block",
                 "out of range 0..4294967295");
    expect_error(WORK("{ \"op\": \"pf-set-mac\", \"mac\": ^\"02:00:00:00:00\" }"), "workloads[0].ops[0].mac",
                 "not a MAC address");
    expect_error(WORK("{ \"op\": \"pf-set-mac\", \"mac\": ^\"02:00:00:00:00:0g\" }"), "workloads[0].ops[0].mac",
                 "not a MAC address");
    expect_error(WORK("{ \"op\": \"pf-set-mac\", \"mac\": ^\"03:00:00:00:00:01\" }"), "workloads[0].ops[0].mac",
                 "multicast");
    expect_error(WORK("{ \"op\": \"interrupts\", \"count\": ^0 }"), "workloads[0].ops[0].count",
                 "out of range 1..1000000");
    expect_error(WORK("^\"enumerate\""), "workloads[0].ops[0]", "expected an object");
    expect_error(HEAD ",\n  \"workloads\": [{ \"name\": \"w\", \"ops\": ^[] }]\n}", "workloads[0].ops", "at least 1");
    expect_error(HEAD
                 ",\n  \"workloads\": [{ \"name\": \"w\", \"iterations\": ^0, \"ops\": [{ \"op\": \"mmio\" }] }]\n}",
                 "workloads[0].iterations", "out of range 1..1000000");
}

#define TL(steps)                                                                                                      \
    HEAD ",\n  \"vms\": [{ \"name\": \"vm1\", \"workload\": \"w\" }, { \"name\": \"vm2\", \"workload\": \"w\" }],\n"   \
         "  \"workloads\": [{ \"name\": \"w\", \"ops\": [{ \"op\": \"mmio\" }] }],\n"                                  \
         "  \"assignments\": [{ \"vm\": \"vm1\", \"device\": \"nic0\", \"vf\": 0 }],\n  \"timeline\": [\n    " steps   \
         "\n  ]\n}"

static void
test_timeline_errors(void **state)
{
    expect_error(TL("{ \"action\": ^\"rebalence\", \"device\": \"nic0\" }"), "timeline[0].action",
                 "did you mean 'rebalance'?");
    expect_error(TL("{ \"action\": \"rebalance\", \"device\": \"nic0\", ^\"vf\": 0 }"), "timeline[0].vf",
                 "unknown field 'vf' (allowed here: action, note, device, move_bars)");
    expect_error(TL("{ \"action\": \"eject\", \"vm\": \"vm2\", \"device\": \"nic0\", \"vf\": ^0 }"), "timeline[0].vf",
                 "not held by VM 'vm2' at this point (VM 'vm1' holds it)");
    expect_error(TL("{ \"action\": \"eject\", \"vm\": \"vm1\", \"device\": \"nic0\", \"vf\": 0 },\n"
                    "    { \"action\": \"eject\", \"vm\": \"vm1\", \"device\": \"nic0\", \"vf\": ^0 }"),
                 "timeline[1].vf", "(it is unassigned)");
    expect_error(TL("{ \"action\": \"assign\", \"vm\": \"vm2\", \"device\": \"nic0\", \"vf\": ^0 }"), "timeline[0].vf",
                 "held by VM 'vm1' at this point; eject it first");
    expect_error(TL("{ \"action\": \"assign\", \"vm\": \"vm2\", \"device\": \"nic0\", \"vf\": ^9 }"), "timeline[0].vf",
                 "VF 9 does not exist");
    expect_error(TL("{ \"action\": \"surprise-remove\", \"device\": \"nic0\" },\n"
                    "    { \"action\": \"rebalance\", \"device\": ^\"nic0\" }"),
                 "timeline[1].device", "device 'nic0' is gone: timeline[0] surprise-removed it");
    expect_error(TL("{ \"action\": \"workload\", \"vms\": [\"vm1\", ^\"vm1\"] }"), "timeline[0].vms[1]",
                 "listed twice");
    expect_error(TL("{ \"action\": \"workload\", \"vms\": [^\"vm9\"] }"), "timeline[0].vms[0]", "unknown VM 'vm9'");
    expect_error(TL("{ \"action\": \"pf-block-change\", \"device\": \"nic0\", \"vf\": 1, \"block\": ^64 }"),
                 "timeline[0].block", "out of range 0..63");
    expect_error(TL("^{ \"action\": \"guest\", \"vm\": \"vm1\" }"), "timeline[0].misbehave",
                 "missing required field 'misbehave'");
    expect_error(TL("{ \"action\": \"wait\", \"ms\": ^86400001 }"), "timeline[0].ms", "out of range");
    expect_error(TL("^[]"), "timeline[0]", "expected an object");
    expect_error(TL("{ \"action\": \"wait\", \"ms\": 1, \"note\": ^false }"), "timeline[0].note",
                 "expected a string, found a boolean");
}

/* A VM without a workload cannot be named in a workload step. */
static void
test_timeline_vm_without_workload(void **state)
{
    static const char text[] = HEAD ",\n  \"workloads\": [{ \"name\": \"w\", \"ops\": [{ \"op\": \"mmio\" }] }],\n"
                                    "  \"vms\": [{ \"name\": \"a\", \"workload\": \"w\" }, { \"name\": \"b\" }],\n"
                                    "  \"timeline\": [{ \"action\": \"workload\", \"vms\": [\"a\", ^\"b\"] }]\n}";
    expect_error(text, "timeline[0].vms[1]", "VM 'b' has no workload to run");
}

/* The model: veto keeps the silent VM's VF; surprise-remove takes it; without a timeline one workload step. */
static void
test_model_predictions(void **state)
{
    static const char veto[] =
        TL("{ \"action\": \"guest\", \"vm\": \"vm1\", \"misbehave\": [\"ignore-query-stop\"] },\n"
           "    { \"action\": \"rebalance\", \"device\": \"nic0\" },\n"
           "    { \"action\": \"eject\", \"vm\": \"vm1\", \"device\": \"nic0\", \"vf\": 0 }");
    struct scenario *sc = load_ok(veto);
    assert_true(sc->steps[1].expect_timeout);
    assert_true(sc->steps[1].expect_veto);
    assert_false(sc->steps[2].expect_forced);
    scenario_destroy(sc);

    static const char text[] = "{\"pcivirt-scenario\": 1, \"timing\": {\"on_timeout\": \"surprise-remove\"},\n"
                               " \"devices\": [{\"name\": \"n\", \"source\": \"builtin:82599\", \"num_vfs\": 2}],\n"
                               " \"vms\": [{\"name\": \"v\", \"misbehave\": [\"ignore-query-stop\"]}],\n"
                               " \"assignments\": [{\"vm\": \"v\", \"device\": \"n\", \"vf\": 1}],\n"
                               " \"timeline\": [{\"action\": \"rebalance\", \"device\": \"n\"},\n"
                               "   {\"action\": \"eject\", \"vm\": \"v\", \"device\": \"n\", \"vf\": ^1}]}";
    expect_error(text, "timeline[1].vf", "(it is unassigned)");

    sc = load_ok(HEAD VMS2 ",\n  \"workloads\": [{ \"name\": \"w\", \"ops\": [{ \"op\": \"mmio\" }] }]\n}");
    assert_int_equal(sc->n_steps, 0); /* no VM has a workload */
    scenario_destroy(sc);
    sc = load_ok(HEAD ",\n  \"workloads\": [{ \"name\": \"w\", \"ops\": [{ \"op\": \"mmio\" }] }],\n"
                      "  \"vms\": [{ \"name\": \"a\" }, { \"name\": \"b\", \"workload\": \"w\" }]\n}");
    assert_int_equal(sc->n_steps, 1);
    assert_int_equal(sc->steps[0].action, SCENARIO_ACT_WORKLOAD);
    assert_int_equal(sc->steps[0].n_vms, 1);
    assert_int_equal(sc->steps[0].vms[0], 1);
    scenario_destroy(sc);
}

/* Keys written with escapes are still found: the locator decodes them. */
static void
test_escaped_keys_located(void **state)
{
    expect_error("{\"pcivirt-scenario\": 1, \"d\\u0065vices\": [\n  { \"name\": \"d\", \"source\": \"builtin:82599\", "
                 "\"num\\u005fvfs\": ^99 }\n]}",
                 "devices[0].num_vfs", "TotalVFs 64");
}

/* Array limits: one more element than allowed is refused at the array, whatever the elements are. */
static void
test_array_limits(void **state)
{
    size_t cap = 64 * 1024;
    char *text = malloc(cap);
    size_t n = (size_t)snprintf(text, cap, HEAD ",\n  \"vms\": ^[");

    for (size_t i = 0; i <= SCENARIO_MAX_VMS; i++) {
        n += (size_t)snprintf(text + n, cap - n, "%s{\"name\": \"v%zu\"}", i == 0 ? "" : ",", i);
    }
    snprintf(text + n, cap - n, "]\n}");
    expect_error(text, "vms", "has 257 entries; at most 256 allowed");
    expect_error(HEAD ",\n  \"vms\": [{ \"name\": \"v\", \"misbehave\": ^[\"ignore-eject\", \"ignore-eject\", "
                      "\"ignore-eject\", \"ignore-eject\", \"ignore-eject\"] }]\n}",
                 "vms[0].misbehave", "at most 4 allowed");
    free(text);
}

/* Every allocation of a load can fail; each failure is ENOMEM with nothing leaked (ASan checks). */
static void
test_allocation_failures(void **state)
{
    struct scenario *sc = NULL;
    struct scenario_error err;
    int rc;
    long n = 0;

    do {
        pv_alloc_fail_after(n++, 1);
        rc = load_len(full_text, strlen(full_text), &sc, &err);
        pv_alloc_fail_after(-1, 0);
        if (rc != 0) {
            assert_int_equal(rc, PCIVIRT_ENOMEM);
            assert_null(sc);
        }
    } while (rc != 0 && n < 1000);
    assert_int_equal(rc, 0);
    assert_true(n > 5);
    scenario_destroy(sc);
    scenario_destroy(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_gets_defaults),
        cmocka_unit_test(test_full_fields),
        cmocka_unit_test(test_where_finds_fields),
        cmocka_unit_test(test_default_scenario),
        cmocka_unit_test(test_examples_load),
        cmocka_unit_test(test_relative_dump_and_bom),
        cmocka_unit_test(test_error_in_data_file),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_encoding_errors),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_unreadable_files),
        cmocka_unit_test(test_version_and_top_level),
        cmocka_unit_test(test_device_errors),
        cmocka_unit_test(test_vm_errors),
        cmocka_unit_test(test_assignment_errors),
        cmocka_unit_test(test_workload_errors),
        cmocka_unit_test(test_timeline_errors),
        cmocka_unit_test(test_timeline_vm_without_workload),
        cmocka_unit_test(test_model_predictions),
        cmocka_unit_test(test_escaped_keys_located),
        cmocka_unit_test(test_array_limits),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
