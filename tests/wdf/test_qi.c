/*
 * tests/wdf/test_qi.c - query interface: KMDF's size/version rule over a grid,
 * the exact-size copy, InterfaceReference per success, the hook that serves v1
 * and v2 SR-IOV tables under one GUID (contract.md 1.5, 3.2), and the counted
 * reference functions keeping a removed device's table alive.
 *
 * The oracle for the grid is the rule as contract.md 1.5 states it, evaluated in
 * the test: success iff registered Size <= requested Size and registered Version
 * <= requested Version.
 */
#include "pcivirt/pcivirt.h"

#include "fixture.h"

static int refs_taken;

static VOID
count_ref(PVOID Context)
{
    (void)Context;
    refs_taken++;
}

static VOID
count_deref(PVOID Context)
{
    (void)Context;
    refs_taken--;
}

static NTSTATUS
dummy_read(PVOID Context, PVOID Data, USHORT VfIndex, ULONG Offset, ULONG Length)
{
    (void)Context;
    (void)Data;
    (void)VfIndex;
    (void)Offset;
    (void)Length;
    return STATUS_SUCCESS;
}

static NTSTATUS
dummy_bars2(PVOID Context, USHORT VfIndex, PULONG BaseRegisterValues)
{
    (void)Context;
    (void)VfIndex;
    (void)BaseRegisterValues;
    return STATUS_SUCCESS;
}

/* The registered tables, as a v1 and a v2 PF would export them. */
#define QI_TABLE(size, version)                                                                                        \
    {                                                                                                                  \
        .Size = (size), .Version = (version), .Context = &refs_taken, .InterfaceReference = count_ref,                 \
        .InterfaceDereference = count_deref, .ReadVfConfig = dummy_read, .QueryProbedBars_2 = dummy_bars2,             \
    }
static SRIOV_DEVICE_INTERFACE_STANDARD_2 v1_table = QI_TABLE(sizeof(SRIOV_DEVICE_INTERFACE_STANDARD), 1);
static SRIOV_DEVICE_INTERFACE_STANDARD_2 v2_table = QI_TABLE(sizeof(SRIOV_DEVICE_INTERFACE_STANDARD_2), 2);

static void
grid(struct wdf_target *t, const SRIOV_DEVICE_INTERFACE_STANDARD_2 *reg)
{
    static const USHORT sizes[] = {32, 100, 119, 120, 121, 143, 144, 200};
    static const USHORT versions[] = {0, 1, 2, 3};
    uint8_t buf[256], cc[256];

    memset(cc, 0xCC, sizeof(cc));
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (size_t j = 0; j < sizeof(versions) / sizeof(versions[0]); j++) {
            bool ok = reg->Size <= sizes[i] && reg->Version <= versions[j]; /* contract.md 1.5 */
            int before = refs_taken;
            NTSTATUS st;

            memset(buf, 0xCC, sizeof(buf));
            st = wdf_target_query_interface(t, &GUID_TD_QI, (INTERFACE *)buf, sizes[i], versions[j], NULL);
            if (ok) {
                assert_int_equal(st, STATUS_SUCCESS);
                assert_memory_equal(buf, reg, reg->Size); /* exactly the exported Size */
                assert_memory_equal(buf + reg->Size, cc, sizeof(buf) - reg->Size);
                assert_int_equal(refs_taken, before + 1);
                ((INTERFACE *)buf)->InterfaceDereference(((INTERFACE *)buf)->Context);
            } else {
                assert_int_equal(st, STATUS_INVALID_BUFFER_SIZE);
                assert_memory_equal(buf, cc, sizeof(buf));
                assert_int_equal(refs_taken, before);
            }
        }
    }
}

/* The grid over the table the case registered, whose Size must be the one contract.md
 * gives that version (120 bytes for v1, 144 for v2). */
static void
rule_grid(struct fx *f, struct wdf_target *t, const void *param)
{
    const SRIOV_DEVICE_INTERFACE_STANDARD_2 *reg = (const SRIOV_DEVICE_INTERFACE_STANDARD_2 *)td_cfg.qi_table;
    INTERFACE small;

    assert_int_equal(reg->Size, *(const USHORT *)param);
    refs_taken = 0;
    grid(t, reg);
    assert_int_equal(refs_taken, 0);
    assert_int_equal(wdf_target_query_interface(t, &GUID_TD_QI, &small, 31, 1, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(wdf_target_query_interface(t, &GUID_TD_CLASS, &small, sizeof(small), 1, NULL),
                     STATUS_NOT_SUPPORTED);
}

/* The PF's hook (contract.md 3.2): fill the v2 tail only when the requester asked for it. */
static NTSTATUS
v2_hook(WDFDEVICE Device, LPGUID InterfaceType, PINTERFACE ExposedInterface, PVOID Specific)
{
    SRIOV_DEVICE_INTERFACE_STANDARD_2 *t = (SRIOV_DEVICE_INTERFACE_STANDARD_2 *)ExposedInterface;
    USHORT size = 0, version = 0;

    (void)InterfaceType;
    (void)Specific;
    assert_int_equal(wdf_query_interface_requested(Device, ExposedInterface, &size, &version), STATUS_SUCCESS);
    if (size >= sizeof(SRIOV_DEVICE_INTERFACE_STANDARD_2) && version >= 2) {
        t->Size = sizeof(SRIOV_DEVICE_INTERFACE_STANDARD_2);
        t->Version = 2;
        t->QueryProbedBars_2 = dummy_bars2;
    }
    return STATUS_SUCCESS;
}

/* The v1 table registered, with v2_hook. */
static void
v1_v2_under_one_guid(struct fx *f, struct wdf_target *t, const void *param)
{
    SRIOV_DEVICE_INTERFACE_STANDARD_2 got;

    refs_taken = 0;

    /* A v2 requester gets 144 bytes, Version 2. */
    memset(&got, 0xCC, sizeof(got));
    assert_int_equal(wdf_target_query_interface(t, &GUID_TD_QI, (INTERFACE *)&got, sizeof(got), 2, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(got.Size, 144);
    assert_int_equal(got.Version, 2);
    assert_ptr_equal(got.QueryProbedBars_2, dummy_bars2);
    assert_ptr_equal(got.ReadVfConfig, dummy_read);

    /* A v1 requester gets the 120-byte table and nothing past it. */
    memset(&got, 0xCC, sizeof(got));
    assert_int_equal(wdf_target_query_interface(t, &GUID_TD_QI, (INTERFACE *)&got, 120, 1, NULL), STATUS_SUCCESS);
    assert_int_equal(got.Size, 120);
    assert_int_equal(got.Version, 1);
    {
        uint8_t cc[24];
        memset(cc, 0xCC, sizeof(cc));
        assert_memory_equal((uint8_t *)&got + 120, cc, 24);
    }
    /* Large buffer but Version 1: still the v1 table. */
    memset(&got, 0xCC, sizeof(got));
    assert_int_equal(wdf_target_query_interface(t, &GUID_TD_QI, (INTERFACE *)&got, sizeof(got), 1, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(got.Size, 120);
    assert_int_equal(refs_taken, 3);
    assert_int_equal(wdf_query_interface_requested(f->dev, (INTERFACE *)&got, NULL, NULL), STATUS_INVALID_DEVICE_STATE);
}

static void
test_counted_reference_outlives_removal(void **state)
{
    INTERFACE reg = {sizeof(INTERFACE), 1, NULL, NULL, NULL};
    INTERFACE got;
    struct wdf_target *t;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    td_cfg.qi_table = &reg;
    td_cfg.qi_hook = fx_counted_hook;
    t = fx_start(&f); /* closed before the removal: a frame of its own */
    assert_int_equal(wdf_target_query_interface(t, &GUID_TD_QI, &got, sizeof(got), 1, NULL), STATUS_SUCCESS);
    assert_ptr_equal(got.Context, f.ctx);
    assert_ptr_equal(WdfObjectContextGetObject(got.Context), f.dev);
    wdf_target_close(t);
    assert_int_equal(wdf_pnp_remove_device(f.node), STATUS_SUCCESS);
    /* The device is gone from the stack, but its context - the table's Context - is alive. */
    assert_null(wdf_node_device(f.node, WDF_ROLE_FUNCTION));
    assert_int_equal(((TD_DEVICE *)got.Context)->release_calls, 1);
    got.InterfaceDereference(got.Context); /* the last reference: memory goes now */
    fx_teardown(&f, 0);
}

static const struct fx_case cases[] = {
    {.name = "rule_grid_v1_table",
     .body = rule_grid,
     .param = &(const USHORT){120},
     .cfg = {.qi_table = (INTERFACE *)&v1_table}},
    {.name = "rule_grid_v2_table",
     .body = rule_grid,
     .param = &(const USHORT){144},
     .cfg = {.qi_table = (INTERFACE *)&v2_table}},
    FX_CASE(v1_v2_under_one_guid, .cfg = {.qi_table = (INTERFACE *)&v1_table, .qi_hook = v2_hook}),
};

int
main(void)
{
    const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_counted_reference_outlives_removal),
    };

    return fx_run_cases(cases, FX_COUNT(cases), plain, FX_COUNT(plain));
}
