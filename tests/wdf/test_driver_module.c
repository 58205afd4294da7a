/*
 * tests/wdf/test_driver_module.c - drivers loaded both ways: a shared object
 * with an exported DriverEntry (dlopen; tests/wdf/sample_driver.c) and a
 * function linked into the executable, side by side in one host; plus the
 * failures of each path.
 */
#include "fixture.h"

/* Same values as in sample_driver.c, restated here as the test's expectation. */
DEFINE_GUID(GUID_SAMPLE_CLASS, 0x5b0c1d7e, 0x8e0f, 0x4e53, 0x9a, 0x3c, 0x2d, 0x6f, 0x4b, 0x1a, 0x7e, 0x10);
#define SAMPLE_IOCTL_HELLO CTL_CODE(FILE_DEVICE_UNKNOWN, 0x950, METHOD_BUFFERED, FILE_READ_DATA)

#define MODULE_DIR PCIVIRT_BINARY_DIR "/tests/"

static void
test_dlopen_driver_next_to_linked_driver(void **state)
{
    struct wdf_driver_module *sample, *linked;
    struct wdf_node *n1, *n2;
    struct wdf_target *t;
    ULONG out[2] = {0, 0};
    ULONG_PTR info = 0;
    char **links;
    struct fx f;

    (void)state;
    memset(&td_cfg, 0, sizeof(td_cfg));
    fx_setup(&f); /* linked-in test driver on 0000:01:00.0 */
    n1 = f.node;
    linked = f.drv;
    assert_int_equal(wdf_driver_load_module(f.host, "sample", MODULE_DIR "wdf_sample_driver.so", &sample),
                     STATUS_SUCCESS);
    n2 = fx_pdo(&f, "0000:03:00.0", 0xd0000000ull);
    assert_int_equal(wdf_node_add_driver(n2, sample, WDF_ROLE_FUNCTION), STATUS_SUCCESS);
    assert_int_equal(wdf_pnp_start(n1), STATUS_SUCCESS);
    assert_int_equal(wdf_pnp_start(n2), STATUS_SUCCESS);
    assert_int_equal(wdf_interface_list(f.host, &GUID_SAMPLE_CLASS, &links), STATUS_SUCCESS);
    assert_non_null(links[0]);
    assert_null(links[1]);
    assert_non_null(strstr(links[0], "0000:03:00.0"));
    assert_int_equal(wdf_target_open(f.host, links[0], KernelMode, NULL, NULL, &t), STATUS_SUCCESS);
    wdf_interface_list_free(links);
    assert_int_equal(
        wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, SAMPLE_IOCTL_HELLO, NULL, 0, out, sizeof(out), 0, &info),
        STATUS_SUCCESS);
    assert_int_equal(info, 8);
    assert_int_equal(out[0], 0x4c504d53u);
    assert_int_equal(out[1], 2); /* fx_pdo gives two resources */
    wdf_target_close(t);
    /* The linked-in driver serves its own node meanwhile. */
    t = fx_open(&f, KernelMode, NULL, NULL);
    assert_int_equal(wdf_target_send_sync(t, IRP_MJ_DEVICE_CONTROL, TD_OPEN_GATE, NULL, 0, NULL, 0, 0, NULL),
                     STATUS_SUCCESS);
    wdf_target_close(t);
    (void)linked;
    fx_teardown(&f, 0); /* removes both nodes, unloads both drivers, dlcloses */
}

static DRIVER_INITIALIZE failing_entry;
static NTSTATUS
failing_entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)DriverObject;
    (void)RegistryPath;
    return STATUS_INSUFFICIENT_RESOURCES;
}

static DRIVER_INITIALIZE lazy_entry;
static NTSTATUS
lazy_entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)DriverObject;
    /* The registry path names the service. */
    assert_int_equal(RegistryPath->Length % 2, 0);
    assert_int_equal(RegistryPath->Buffer[RegistryPath->Length / 2 - 1], 'y');
    return STATUS_SUCCESS; /* forgot WdfDriverCreate */
}

static void
test_load_failures(void **state)
{
    struct wdf_host_config hc = {.clock = WDF_CLOCK_VIRTUAL};
    struct wdf_driver_module *m = (struct wdf_driver_module *)&hc;
    struct wdf_host *host;

    (void)state;
    assert_int_equal(wdf_host_create(&hc, &host), STATUS_SUCCESS);
    assert_int_equal(wdf_driver_load_module(host, "x", MODULE_DIR "no-such-driver.so", &m), STATUS_DLL_NOT_FOUND);
    assert_null(m);
    assert_int_equal(wdf_driver_load_module(host, "x", MODULE_DIR "wdf_no_entry_module.so", &m),
                     STATUS_DRIVER_ENTRYPOINT_NOT_FOUND);
    assert_int_equal(wdf_driver_load(host, "x", failing_entry, &m), STATUS_INSUFFICIENT_RESOURCES);
    assert_int_equal(wdf_driver_load(host, "lazy", lazy_entry, &m), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(wdf_driver_load(host, "x", NULL, &m), STATUS_INVALID_PARAMETER);
    assert_int_equal(wdf_verifier_count(host, 0), 0);
    wdf_host_destroy(host);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dlopen_driver_next_to_linked_driver),
        cmocka_unit_test(test_load_failures),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
