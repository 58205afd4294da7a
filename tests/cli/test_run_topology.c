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
#include "pci/caps.h"
#include "pci/dump.h"
#include "pci/regs.h"
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
    json_array_foreach(fns, i, f)
    {
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

/* ---- against the real lspci ----------------------------------------------------------- */

/* Our output without the holder annotations (" [VM x]" in the listing, "  [VM x]" in the tree). */
static void
strip_holders(char *s)
{
    char *o = s;

    for (const char *p = s; *p;) {
        if (strncmp(p, "  [VM ", 6) == 0 || strncmp(p, " [VM ", 5) == 0) {
            p = strchr(p, ']') + 1;
            continue;
        }
        *o++ = *p++;
    }
    *o = '\0';
}

/*
 * The -xxxx dump of a scenario's topology, with each VF's identity patched the
 * way the Linux kernel reports it (the PF's vendor, the VF Device ID): the VFs
 * are found from each PF's own SR-IOV registers in the dump (NumVFs, First VF
 * Offset, VF Stride), a second computation of the routing IDs.  @bdf_of[d][vf]
 * receives "BB:DD.F" of VF vf of the scenario's device d.
 */
static void
scenario_dump(const char *scenario, char *path, char bdf_of[SCENARIO_MAX_DEVICES][64][16])
{
    struct pci_dump *d = NULL;
    struct run r;
    size_t pfs = 0;

    run_lspci(&r, "--scenario '%s' -xxxx", scenario);
    assert_int_equal(r.status, 0);
    assert_int_equal(pci_dump_parse(r.out, r.out_len, "out", &d, NULL), 0);
    for (size_t i = 0; i < d->count; i++) {
        const uint8_t *c = d->funcs[i]->bytes;
        int s = pci_ecap_find(c, 4096, PCI_ECAP_ID_SRIOV, 0, NULL);
        unsigned pf_rid = (unsigned)d->funcs[i]->addr.bus << 8 | d->funcs[i]->addr.dev << 3 | d->funcs[i]->addr.fn;

        if (s <= 0 || c[0] == 0xff) {
            continue;
        }
        for (unsigned vf = 0; vf < (unsigned)(c[s + PCI_SRIOV_NUM_VF] | c[s + PCI_SRIOV_NUM_VF + 1] << 8); vf++) {
            unsigned rid = pf_rid + (unsigned)(c[s + PCI_SRIOV_VF_OFFSET] | c[s + PCI_SRIOV_VF_OFFSET + 1] << 8) +
                           vf * (unsigned)(c[s + PCI_SRIOV_VF_STRIDE] | c[s + PCI_SRIOV_VF_STRIDE + 1] << 8);
            bool found = false;

            for (size_t k = 0; k < d->count; k++) {
                const struct pci_addr *a = &d->funcs[k]->addr;

                if ((unsigned)(a->bus << 8 | a->dev << 3 | a->fn) == rid) {
                    assert_memory_equal(d->funcs[k]->bytes, "\xff\xff\xff\xff", 4); /* a VF reads ffff:ffff */
                    memcpy(d->funcs[k]->bytes, c, 2);
                    memcpy(d->funcs[k]->bytes + 2, c + s + PCI_SRIOV_VF_DID, 2);
                    found = true;
                }
            }
            assert_true(found);
            if (vf < 64) {
                snprintf(bdf_of[pfs][vf], sizeof(bdf_of[pfs][vf]), "%02x:%02x.%x", rid >> 8, (rid >> 3) & 0x1f,
                         rid & 7);
            }
        }
        pfs++;
    }
    strcpy(path, "/tmp/pcivirt-topology-XXXXXX");
    close(mkstemp(path));
    assert_int_equal(pci_dump_save(d, path, NULL), 0);
    pci_dump_destroy(d);
    run_free(&r);
}

/*
 * lspci --scenario is what the real lspci shows for the same machine (listing,
 * -nn, trees), and exactly the VFs the scenario assigns carry their VM's name.
 * The dump lists PFs by bus, not in the scenario's order: @dump_order names the
 * scenario devices in the order their PFs appear in it.
 */
static void
check_against_lspci(const char *scenario, const char *const *dump_order)
{
    static char bdf_of[SCENARIO_MAX_DEVICES][64][16];
    static const char *const forms[] = {"", "-nn", "-t", "-tv", "-tvnn"};
    struct scenario *sc = NULL;
    struct scenario_error se;
    char path[64];
    struct run ours, real;

    memset(bdf_of, 0, sizeof(bdf_of));
    assert_int_equal(scenario_load_file(scenario, &sc, &se), 0);
    scenario_dump(scenario, path, bdf_of);
    for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
        run_lspci(&ours, "--scenario '%s' %s", scenario, forms[f]);
        run_real_lspci(&real, forms[f], path);
        assert_int_equal(ours.status, 0);
        if (f == 0) { /* the holders, before they are stripped */
            for (size_t a = 0; a < sc->n_assignments; a++) {
                const struct scenario_assignment *as = &sc->assignments[a];
                size_t pf = 0;
                char want[96];

                while (pf < sc->n_devices && strcmp(dump_order[pf], sc->devices[as->device].name) != 0) {
                    pf++;
                }
                assert_true(pf < sc->n_devices);
                snprintf(want, sizeof(want), "%s ", bdf_of[pf][as->vf]);
                assert_non_null(strstr(ours.out, want));
                snprintf(want, sizeof(want), "[VM %s]\n", sc->vms[as->vm].name);
                assert_non_null(strstr(strstr(ours.out, bdf_of[pf][as->vf]), want));
                assert_true(strstr(strstr(ours.out, bdf_of[pf][as->vf]), want) <
                            strchr(strstr(ours.out, bdf_of[pf][as->vf]), '\n') + 1);
            }
            assert_int_equal(count_of(ours.out, "[VM "), sc->n_assignments);
        }
        strip_holders(ours.out);
        if (strcmp(ours.out, real.out) != 0) {
            print_error("pcivirt lspci --scenario %s:\n%s\nlspci %s -F:\n%s\n", forms[f], ours.out, forms[f], real.out);
        }
        assert_string_equal(ours.out, real.out);
        run_free(&ours);
        run_free(&real);
    }
    unlink(path);
    scenario_destroy(sc);
}

static void
test_two_devices_equal_lspci(void **state)
{
    /* The dump lists the 82576 (bus 01) before the 82599 (bus 03): PF order by bus. */
    static const char *const order[] = {"igb", "nic"};

    check_against_lspci(EXAMPLES "/two-devices.json", order);
}

static void
test_default_equals_lspci(void **state)
{
    static const char *const order[] = {"nic0"};

    check_against_lspci(EXAMPLES "/default.json", order);
}

static uint64_t
le64_at(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

/*
 * -v shows each VF's BARs where a live lspci shows them: the PF's VF BAR base
 * (read here from the PF's SR-IOV capability in the -xxxx dump) plus the VF's
 * index times the per-VF size (16 KiB for both of the 82599's VF BARs, 64-bit
 * prefetchable, as the hardware reports them).
 */
static void
test_vf_regions_in_verbose(void **state)
{
    struct pci_dump *d = NULL;
    struct run r;
    int s;
    uint64_t base0, base3;
    char want[160];

    run_lspci(&r, "-xxxx");
    assert_int_equal(r.status, 0);
    assert_int_equal(pci_dump_parse(r.out, r.out_len, "out", &d, NULL), 0);
    s = pci_ecap_find(d->funcs[0]->bytes, 4096, PCI_ECAP_ID_SRIOV, 0, NULL);
    assert_true(s > 0);
    base0 = le64_at(d->funcs[0]->bytes + s + 0x24) & ~0xFull;
    base3 = le64_at(d->funcs[0]->bytes + s + 0x30) & ~0xFull;
    assert_true(base0 != 0 && base3 != 0);
    run_free(&r);
    run_lspci(&r, "-v");
    assert_int_equal(r.status, 0);
    for (size_t i = 1; i < d->count; i++) {
        const struct pci_addr *a = &d->funcs[i]->addr;
        char head[32];
        const char *block, *end;
        unsigned vf = (unsigned)(i - 1); /* the dump lists VFs in routing-ID order: index order */

        snprintf(head, sizeof(head), "\n%02x:%02x.%x ", a->bus, a->dev, a->fn);
        block = strstr(r.out, head);
        assert_non_null(block);
        end = strstr(block + 1, "\n\n");
        snprintf(want, sizeof(want), "\tRegion 0: Memory at %llx (64-bit, prefetchable) [size=16K]\n",
                 (unsigned long long)(base0 + vf * 0x4000ull));
        assert_true(strstr(block, want) != NULL && strstr(block, want) < end);
        snprintf(want, sizeof(want), "\tRegion 3: Memory at %llx (64-bit, prefetchable) [size=16K]\n",
                 (unsigned long long)(base3 + vf * 0x4000ull));
        assert_true(strstr(block, want) != NULL && strstr(block, want) < end);
    }
    pci_dump_destroy(d);
    run_free(&r);
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
        cmocka_unit_test(test_default_topology),        cmocka_unit_test(test_igb_topology),
        cmocka_unit_test(test_misbehaving_topology),    cmocka_unit_test(test_listing_marks_holders),
        cmocka_unit_test(test_scenario_errors),         cmocka_unit_test(test_two_devices_topology),
        cmocka_unit_test(test_two_devices_equal_lspci), cmocka_unit_test(test_default_equals_lspci),
        cmocka_unit_test(test_vf_regions_in_verbose),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
