/*
 * tests/oom/test_oom_pf.c - allocation failure on the reference PF driver's
 * create path: runtime host, PDO on the software device, driver load
 * (DriverEntry), device add (EvtDriverDeviceAdd: interface, query-interface
 * tables, queues) and start (PrepareHardware: bus interface, VF enable, per-VF
 * state; D0 entry; interfaces enabled).
 *
 * The device itself is built once outside the loop (its own create path is
 * tests/oom/test_oom_pci.c's); each run disables its VFs again so every run
 * starts from the same registers.  A failed run must come back with
 * STATUS_INSUFFICIENT_RESOURCES from the step that failed - not another status
 * that hides the cause - and leave nothing (LeakSanitizer, and the runtime
 * verifier: no report in any run).  A successful run is fingerprinted from
 * outside the driver: its self-report, the device's registers, the interface
 * registry and what a client gets through the SR-IOV table.
 */
#include "oom.h"

#include "dev/sriov_dev.h"
#include "pf/pf.h"

struct fixture {
    struct pv_platform *plat;
    struct pv_sriov_dev *dev;
    struct pv_profile prof;
    PCIVIRT_BUS_INTERFACE bus;
    unsigned reports;
    const char *step; /* the last step bring_up() tried */
};

struct pfobj {
    struct wdf_host *host;
    struct wdf_node *node;
    struct wdf_driver_module *drv;
    WDFDEVICE device;
};

static void
on_report(void *ctx, const struct wdf_verifier_report *r)
{
    struct fixture *f = ctx;

    print_message("verifier: %s on %s: %s\n", r->rule_name, r->device, r->message);
    __atomic_add_fetch(&f->reports, 1, __ATOMIC_SEQ_CST);
}

/* Host, PDO, driver load, device add, start: the first failing step's status. */
static NTSTATUS
bring_up(struct fixture *f, struct pfobj *o)
{
    struct wdf_host_config hc = {.clock = WDF_CLOCK_VIRTUAL, .on_report = on_report, .report_ctx = f};
    struct wdf_pdo_interface iface = {&GUID_PCIVIRT_BUS_INTERFACE, (const INTERFACE *)&f->bus};
    struct pcivirt_bus_resources res;
    struct wdf_pdo_config cfg = {.hardware_id = "PCI\\VEN_8086&DEV_10FB", .instance_id = "0000:03:00.0"};
    NTSTATUS st;

    pv_sriov_query_resources(f->dev, &res);
    cfg.raw = res.bar;
    cfg.translated = res.bar;
    cfg.resource_count = 1;
    cfg.interfaces = &iface;
    cfg.interface_count = 1;
    f->step = "wdf_host_create";
    st = wdf_host_create(&hc, &o->host);
    if (!NT_SUCCESS(st)) {
        return st;
    }
    wdf_thread_bind(o->host);
    f->step = "wdf_pdo_create";
    st = wdf_pdo_create(o->host, &cfg, &o->node);
    if (NT_SUCCESS(st)) {
        f->step = "wdf_driver_load (DriverEntry)";
        st = wdf_driver_load(o->host, "pcivirt_pf", PfDriverEntry, &o->drv);
    }
    if (NT_SUCCESS(st)) {
        f->step = "wdf_node_add_driver (EvtDriverDeviceAdd)";
        st = wdf_node_add_driver(o->node, o->drv, WDF_ROLE_FUNCTION);
    }
    if (NT_SUCCESS(st)) {
        o->device = wdf_node_device(o->node, WDF_ROLE_FUNCTION);
        f->step = "wdf_pnp_start (PrepareHardware, D0Entry)";
        st = wdf_pnp_start(o->node);
    }
    if (!NT_SUCCESS(st) && st != STATUS_INSUFFICIENT_RESOURCES) {
        print_message("%s failed with 0x%08x under allocation failure\n", f->step, (unsigned)st);
    }
    return st;
}

static void
pf_destroy(void *fx, void *obj)
{
    struct fixture *f = fx;
    struct pfobj *o = obj;

    if (o != NULL) {
        wdf_host_destroy(o->host);
        wdf_thread_bind(NULL);
        pv_free(o);
    }
    pv_sriov_disable(f->dev); /* the next run finds the registers as the first did */
}

static int
build_pf(void *fx, void **obj)
{
    struct fixture *f = fx;
    struct pfobj *o = pv_calloc(1, sizeof(*o));
    NTSTATUS st;

    if (o == NULL) {
        pv_sriov_disable(f->dev);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    st = bring_up(f, o);
    if (!NT_SUCCESS(st)) {
        if (o->host != NULL) {
            wdf_host_destroy(o->host);
            wdf_thread_bind(NULL);
        }
        pv_free(o);
        pv_sriov_disable(f->dev);
        return (int)st;
    }
    *obj = o;
    return 0;
}

/* What a client sees through the interface registry and the SR-IOV table. */
static void
fp_client(struct pfobj *o, struct oom_fp *fp)
{
    SRIOV_DEVICE_INTERFACE_STANDARD_2 tbl;
    struct wdf_target *t = NULL;
    char **links = NULL;
    ULONG id = 0;
    NTSTATUS st;

    assert_int_equal(wdf_interface_list(o->host, &GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE, &links), STATUS_SUCCESS);
    assert_non_null(links[0]);
    oom_fp_add(fp, "link:%s;second:%d;", links[0], links[1] != NULL);
    assert_int_equal(wdf_target_open(o->host, links[0], KernelMode, NULL, NULL, &t), STATUS_SUCCESS);
    wdf_interface_list_free(links);
    memset(&tbl, 0, sizeof(tbl));
    st = wdf_target_query_interface(t, &GUID_SRIOV_DEVICE_INTERFACE_STANDARD, (INTERFACE *)&tbl, sizeof(tbl),
                                    SRIOV_DEVICE_INTERFACE_STANDARD_VERSION_2, NULL);
    oom_fp_add(fp, "qi:%08x size:%u;", (unsigned)st, tbl.Size);
    if (NT_SUCCESS(st)) {
        st = tbl.ReadVfConfig(tbl.Context, &id, 0, 0, sizeof(id));
        oom_fp_add(fp, "vf0 id:%08x/%08x;", (unsigned)st, (unsigned)id);
        tbl.InterfaceDereference(tbl.Context);
    }
    wdf_target_close(t);
}

static void
fp_pf(void *fx, void *obj, struct oom_fp *fp)
{
    struct fixture *f = fx;
    struct pfobj *o = obj;
    struct pf_admin_status ps;
    struct dev_vf_geometry geo;

    assert_int_equal(pf_admin_status(o->device, &ps), STATUS_SUCCESS);
    oom_fp_add(fp, "started:%d attached:%d numvfs:%u total:%u rid:%04x refs:%d events:%u/%u;", ps.started, ps.attached,
               ps.num_vfs, ps.total_vfs, ps.pf_rid, ps.interface_refs, ps.events_raised, ps.events_delivered);
    pv_sriov_geometry(f->dev, &geo);
    oom_fp_add(fp, "device numvfs:%u enabled:%d;", geo.num_vfs, pv_sriov_vf_enabled(f->dev));
    fp_client(o, fp);
    oom_fp_add(fp, "reports:%u;", f->reports);
}

static void
test_pf_create_path(void **state)
{
    struct fixture f;
    const struct oom_path p = {"PF driver load + device add + start", build_pf, fp_pf, pf_destroy,
                               (int)STATUS_INSUFFICIENT_RESOURCES,    false};

    (void)state;
    memset(&f, 0, sizeof(f));
    pv_profile_default(&f.prof);
    f.prof.initial_vfs = 8;
    assert_int_equal(pv_platform_create(NULL, &f.plat), 0);
    assert_int_equal(pv_sriov_create(&f.prof, &f.dev, NULL), 0);
    assert_int_equal(pv_sriov_assign_resources(f.dev, f.plat, NULL), 0);
    pv_sriov_bus_interface(f.dev, &f.bus);
    oom_run(&p, &f, 20);
    assert_int_equal(f.reports, 0);
    pv_sriov_destroy(f.dev);
    pv_platform_destroy(f.plat);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pf_create_path),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
