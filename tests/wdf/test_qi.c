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

static void
fill_table(SRIOV_DEVICE_INTERFACE_STANDARD_2 *t, USHORT size, USHORT version)
{
    memset(t, 0, sizeof(*t));
    t->Size = size;
    t->Version = version;
    t->Context = &refs_taken;
    t->InterfaceReference = count_ref;
    t->InterfaceDereference = count_deref;
    t->ReadVfConfig = dummy_read;
    t->QueryProbedBars_2 = dummy_bars2;
}

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

static void
run_grid(USHORT size, USHORT version)
{
    SRIOV_DEVICE_INTERFACE_STANDARD_2 reg;
    struct wdf_target *t;
    INTERFACE small;
    struct fx f;

    fill_table(&reg, size, version);
    memset(&td_cfg, 0, sizeof(td_cfg));
    td_cfg.qi_table = (INTERFACE *)&reg;
    fx_setup(&f);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    t = fx_open(&f, KernelMode, NULL, NULL);
    refs_taken = 0;
    grid(t, &reg);
    assert_int_equal(refs_taken, 0);
    assert_int_equal(wdf_target_query_interface(t, &GUID_TD_QI, &small, 31, 1, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(wdf_target_query_interface(t, &GUID_TD_CLASS, &small, sizeof(small), 1, NULL),
                     STATUS_NOT_SUPPORTED);
    wdf_target_close(t);
    fx_teardown(&f, 0);
}

static void
test_rule_grid_v1_table(void **state)
{
    (void)state;
    assert_int_equal(sizeof(SRIOV_DEVICE_INTERFACE_STANDARD), 120);
    run_grid(sizeof(SRIOV_DEVICE_INTERFACE_STANDARD), 1);
}

static void
test_rule_grid_v2_table(void **state)
{
    (void)state;
    assert_int_equal(sizeof(SRIOV_DEVICE_INTERFACE_STANDARD_2), 144);
    run_grid(sizeof(SRIOV_DEVICE_INTERFACE_STANDARD_2), 2);
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

static void
test_v1_v2_under_one_guid(void **state)
{
    SRIOV_DEVICE_INTERFACE_STANDARD_2 reg, got;
    struct wdf_target *t;
    struct fx f;

    (void)state;
    fill_table(&reg, sizeof(SRIOV_DEVICE_INTERFACE_STANDARD), 1);
    memset(&td_cfg, 0, sizeof(td_cfg));
    td_cfg.qi_table = (INTERFACE *)&reg;
    td_cfg.qi_hook = v2_hook;
    fx_setup(&f);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    t = fx_open(&f, KernelMode, NULL, NULL);
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
    assert_int_equal(wdf_query_interface_requested(f.dev, (INTERFACE *)&got, NULL, NULL), STATUS_INVALID_DEVICE_STATE);
    wdf_target_close(t);
    fx_teardown(&f, 0);
}

/* Context = the device context, counted reference functions of the runtime. */
static NTSTATUS
counted_hook(WDFDEVICE Device, LPGUID InterfaceType, PINTERFACE ExposedInterface, PVOID Specific)
{
    (void)InterfaceType;
    (void)Specific;
    ExposedInterface->Context = TdGetContext(Device);
    ExposedInterface->InterfaceReference = wdf_interface_reference;
    ExposedInterface->InterfaceDereference = wdf_interface_dereference;
    return STATUS_SUCCESS;
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
    td_cfg.qi_hook = counted_hook;
    fx_setup(&f);
    assert_int_equal(wdf_pnp_start(f.node), STATUS_SUCCESS);
    t = fx_open(&f, KernelMode, NULL, NULL);
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_grid_v1_table),
        cmocka_unit_test(test_rule_grid_v2_table),
        cmocka_unit_test(test_v1_v2_under_one_guid),
        cmocka_unit_test(test_counted_reference_outlives_removal),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
