/*
 * tests/pf/test_driver.c - the reference PF driver on the software device, beyond
 * what the conformance suite checks: the PF-side administration API and what it
 * does to the device and to the stack's held requests, trapped privileged
 * registers, the guest's config view against the device's own bytes, guest FLR,
 * ResetVf's clean slate, and VF state kept across a rebalance.
 *
 * Oracles are the software device's registers read directly through src/dev
 * (never through the driver) and dev/regs.h's documented behaviour (clamping).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dev/regs.h"
#include "pf/conform/env.h"
#include "pf/driver.h"
#include "pf/pf.h"
#include "util/le.h"

static struct pf_conform_options options = {NULL, false, 150, 3000};

static int
setup(void **state)
{
    struct env *env = test_calloc(1, sizeof(*env));

    if (env_create(env, &options, NULL) != 0) {
        print_error("world: %s\n", env->error);
        return -1;
    }
    *state = env;
    return 0;
}

static int
teardown(void **state)
{
    struct env *env = *state;

    assert_int_equal(env->verifier_reports, 0);
    env_destroy(env);
    test_free(env);
    return 0;
}

static uint32_t
vf_reg(struct env *env, uint16_t vf, uint64_t off)
{
    uint16_t rid;
    uint8_t b[4];

    assert_int_equal(env_vf_rid(env, vf, &rid), 0);
    assert_int_equal(pv_sriov_mmio_read(env->dev, rid, 0, off, b, 4), 0);
    return le32_get(b);
}

static void
test_mac_assignment_invalidates(void **state)
{
    struct env *env = *state;
    const uint8_t mac[6] = {0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0x03};
    uint8_t blk[128];
    struct cio *held;
    NTSTATUS st;

    held = env_ioctl_async(env, IOCTL_SRIOV_INVALIDATE_BLOCK, NULL, 0, sizeof(SRIOV_INVALIDATE_BLOCK), &st);
    assert_non_null(held);
    assert_false(cio_wait(held, 100));
    assert_int_equal(pf_admin_set_vf_mac(env->device, 3, mac), STATUS_SUCCESS);
    /* The device's VF 3 now reports the MAC in its own BAR0 (dev/regs.h SWVF_REG_MAC_*). */
    assert_int_equal(vf_reg(env, 3, SWVF_REG_MAC_LO), le32_get(mac));
    assert_int_equal(vf_reg(env, 3, SWVF_REG_MAC_HI) & 0xFFFF, le16_get(mac + 4));
    /* The held INVALIDATE_BLOCK completed for VF 3, block 0. */
    assert_true(cio_wait(held, 3000));
    assert_int_equal(held->status, STATUS_SUCCESS);
    assert_int_equal(le16_get(held->out), 3);
    assert_int_equal(le64_get(held->out + 8), 1);
    /* Block 0 carries it, zero-padded to the requested length. */
    memset(blk, 0xEE, sizeof(blk));
    assert_int_equal(env->sriov.ReadVfConfigBlock(env->sriov.Context, 3, PF_BLOCK_ID_VF_INFO, blk, 128),
                     STATUS_SUCCESS);
    assert_memory_equal(blk, mac, 6);
    assert_int_equal(le32_get(blk + 8), SWPF_QUEUE_LIMIT_DEFAULT);
    assert_int_equal(blk[127], 0);
    /* VFs cannot write the PF's block; bad VF for the admin call. */
    assert_int_equal(env->sriov.WriteVfConfigBlock(env->sriov.Context, 3, PF_BLOCK_ID_VF_INFO, blk, 6),
                     STATUS_NOT_SUPPORTED);
    assert_int_equal(pf_admin_set_vf_mac(env->device, env->num_vfs, mac), STATUS_INVALID_PARAMETER);
}

static void
test_default_macs_distinct(void **state)
{
    struct env *env = *state;
    uint32_t lo0 = vf_reg(env, 0, SWVF_REG_MAC_LO), hi0 = vf_reg(env, 0, SWVF_REG_MAC_HI);
    uint32_t hi1 = vf_reg(env, 1, SWVF_REG_MAC_HI);

    assert_int_not_equal(lo0 | hi0, 0);
    assert_int_not_equal(hi0, hi1);
    assert_int_equal(lo0 & 0x3, 0x2); /* locally administered, unicast */
}

static void
test_trapped_privileged_registers(void **state)
{
    struct env *env = *state;
    PREAD_WRITE_MITIGATED_REGISTER rw = env->mitigable.ReadWriteMitigatedRegister;
    void *c = env->mitigable.Context;
    uint8_t v[8];

    assert_true(env->have_mitigable);
    le32_put(v, 100);
    assert_int_equal(rw(c, 2, FALSE, 0, SWVF_REG_PRIV_QUEUES, 4, v), STATUS_SUCCESS);
    memset(v, 0, sizeof(v));
    assert_int_equal(rw(c, 2, TRUE, 0, SWVF_REG_PRIV_QUEUES, 4, v), STATUS_SUCCESS);
    assert_int_equal(le32_get(v), SWPF_QUEUE_LIMIT_DEFAULT); /* the device clamps to the PF's limit */
    assert_int_equal(vf_reg(env, 2, SWVF_REG_PRIV_QUEUES), SWPF_QUEUE_LIMIT_DEFAULT);
    assert_int_equal(pf_admin_set_vf_limits(env->device, 2, 16, 0), STATUS_SUCCESS);
    le32_put(v, 100);
    assert_int_equal(rw(c, 2, FALSE, 0, SWVF_REG_PRIV_QUEUES, 4, v), STATUS_SUCCESS);
    assert_int_equal(vf_reg(env, 2, SWVF_REG_PRIV_QUEUES), 16);
    /* An odd width is split into bytes; outside the trapped page is refused. */
    le32_put(v, 20000);
    assert_int_equal(rw(c, 2, FALSE, 0, SWVF_REG_PRIV_RATE, 4, v), STATUS_SUCCESS);
    memset(v, 0, sizeof(v));
    assert_int_equal(rw(c, 2, TRUE, 0, SWVF_REG_PRIV_RATE, 3, v), STATUS_SUCCESS);
    assert_int_equal(v[0] | v[1] << 8 | v[2] << 16, SWPF_RATE_LIMIT_DEFAULT & 0xFFFFFF);
    assert_int_equal(rw(c, 2, TRUE, 0, SWVF_REG_SCRATCH, 4, v), STATUS_INVALID_PARAMETER);
    assert_int_equal(rw(c, env->num_vfs, TRUE, 0, SWVF_REG_PRIV_QUEUES, 4, v), STATUS_INVALID_PARAMETER);
}

static void
test_config_view_against_device(void **state)
{
    struct env *env = *state;
    uint8_t guest[4096], raw[4096];
    uint16_t rid;

    assert_int_equal(env_vf_rid(env, 1, &rid), 0);
    assert_int_equal(pv_sriov_config_read(env->dev, rid, 0, raw, sizeof(raw)), 0);
    assert_int_equal(env->sriov.ReadVfConfig(env->sriov.Context, guest, 1, 0, sizeof(guest)), STATUS_SUCCESS);
    assert_int_equal(le16_get(raw), 0xFFFF);          /* the device: a VF reads FFFF */
    assert_int_equal(le16_get(guest), 0x8086);        /* the guest: the PF's vendor */
    assert_int_equal(le16_get(guest + 2), 0x10ED);    /* and the VF Device ID */
    assert_memory_equal(guest + 0x08, raw + 0x08, 4); /* class and revision pass through */
    assert_int_equal(guest[0x34], raw[0x34]);         /* nothing hidden in the standard chain */
    assert_int_equal(guest[0x3D], 0);
}

static void
test_guest_flr_resets_vf(void **state)
{
    struct env *env = *state;
    uint16_t rid;
    uint8_t b[4], devctl[2];
    uint32_t exp = 0;

    assert_int_equal(env_vf_rid(env, 4, &rid), 0);
    le32_put(b, 0x12345678);
    assert_int_equal(pv_sriov_mmio_write(env->dev, rid, 0, SWVF_REG_SCRATCH, b, 4), 0);
    assert_int_equal(vf_reg(env, 4, SWVF_REG_SCRATCH), 0x12345678);
    /* Find the PCIe capability through the guest view and write Initiate FLR. */
    for (uint8_t p = 0x34, off; (off = 0, env->sriov.ReadVfConfig(env->sriov.Context, &off, 4, p, 1)) == 0 && off;) {
        uint8_t id;

        env->sriov.ReadVfConfig(env->sriov.Context, &id, 4, off, 1);
        if (id == 0x10) {
            exp = off;
            break;
        }
        p = (uint8_t)(off + 1);
    }
    assert_int_not_equal(exp, 0);
    le16_put(devctl, 0x8000);
    assert_int_equal(env->sriov.WriteVfConfig(env->sriov.Context, devctl, 4, exp + 8, 2), STATUS_SUCCESS);
    assert_int_equal(vf_reg(env, 4, SWVF_REG_SCRATCH), 0); /* SWVF_REG_SCRATCH: 0 after FLR */
    assert_int_equal(env->sriov.ReadVfConfig(env->sriov.Context, devctl, 4, exp + 8, 2), STATUS_SUCCESS);
    assert_int_equal(le16_get(devctl) & 0x8000, 0);
}

static void
test_reset_vf_clean_slate(void **state)
{
    struct env *env = *state;
    uint8_t mail[128], out[128], line = 0x0B;

    memset(mail, 0x5C, sizeof(mail));
    assert_int_equal(env->sriov.WriteVfConfigBlock(env->sriov.Context, 5, PF_BLOCK_ID_MAILBOX, mail, 128),
                     STATUS_SUCCESS);
    assert_int_equal(env->sriov.WriteVfConfig(env->sriov.Context, &line, 5, 0x3C, 1), STATUS_SUCCESS);
    assert_int_equal(env->sriov.ResetVf(env->sriov.Context, 5), STATUS_SUCCESS);
    assert_int_equal(env->sriov.ReadVfConfigBlock(env->sriov.Context, 5, PF_BLOCK_ID_MAILBOX, out, 128),
                     STATUS_SUCCESS);
    memset(mail, 0, sizeof(mail));
    assert_memory_equal(out, mail, 128);
    assert_int_equal(env->sriov.ReadVfConfig(env->sriov.Context, &line, 5, 0x3C, 1), STATUS_SUCCESS);
    assert_int_equal(line, 0);
}

static void
test_state_survives_rebalance(void **state)
{
    struct env *env = *state;
    uint8_t mail[128], out[128], line = 0x2A;
    struct pf_admin_status s;

    memset(mail, 0x77, sizeof(mail));
    assert_int_equal(env->sriov.WriteVfConfigBlock(env->sriov.Context, 1, PF_BLOCK_ID_MAILBOX, mail, 128),
                     STATUS_SUCCESS);
    assert_int_equal(env->sriov.WriteVfConfig(env->sriov.Context, &line, 1, 0x3C, 1), STATUS_SUCCESS);
    /* No VSP attached: the rebalance needs no answers. */
    assert_int_equal(wdf_pnp_query_stop(env->node), STATUS_SUCCESS);
    assert_int_equal(wdf_pnp_stop(env->node), STATUS_SUCCESS);
    assert_int_equal(env->sriov.ReadVfConfigBlock(env->sriov.Context, 1, PF_BLOCK_ID_MAILBOX, out, 8),
                     STATUS_DEVICE_NOT_READY);
    assert_int_equal(wdf_pnp_start(env->node), STATUS_SUCCESS);
    assert_int_equal(env->sriov.ReadVfConfigBlock(env->sriov.Context, 1, PF_BLOCK_ID_MAILBOX, out, 128),
                     STATUS_SUCCESS);
    assert_memory_equal(out, mail, 128);
    line = 0;
    assert_int_equal(env->sriov.ReadVfConfig(env->sriov.Context, &line, 1, 0x3C, 1), STATUS_SUCCESS);
    assert_int_equal(line, 0x2A);
    assert_int_equal(pf_admin_status(env->device, &s), STATUS_SUCCESS);
    assert_true(s.started);
    assert_true(s.safe_to_attach);
    assert_int_equal(s.num_vfs, env->num_vfs);
    assert_int_equal(s.interface_refs, 2); /* the env's SR-IOV and mitigable tables */
}

static void
test_admin_blocks_and_ranges(void **state)
{
    struct env *env = *state;
    struct pf_mitig_range outside = {0, 100, 1, true, true}; /* page 100 of a 16 KiB BAR */
    uint8_t out[16];
    uint32_t len = 0;

    assert_int_equal(pf_admin_define_block(env->device, 9, false), STATUS_SUCCESS);
    assert_int_equal(pf_admin_set_vf_block(env->device, SRIOV_INVALIDATE_BLOCK_ALL_VFS, 9, "hello", 5), STATUS_SUCCESS);
    assert_int_equal(pf_admin_get_vf_block(env->device, 6, 9, out, sizeof(out), &len), STATUS_SUCCESS);
    assert_int_equal(len, 5);
    assert_memory_equal(out, "hello", 5);
    assert_int_equal(pf_admin_set_vf_block(env->device, 0, PF_BLOCK_ID_VF_INFO, "x", 1), STATUS_INVALID_PARAMETER);
    assert_int_equal(pf_admin_set_mitigated_ranges(env->device, 0, &outside, 1), STATUS_INVALID_PARAMETER);
    assert_int_equal(pf_admin_status(NULL, NULL), STATUS_INVALID_DEVICE_REQUEST);
}

struct hammer {
    struct env *env;
    volatile int stop;
    unsigned ok, not_ready, other;
};

static void *
hammer_main(void *arg)
{
    struct hammer *h = arg;
    uint8_t b[128];

    while (!__atomic_load_n(&h->stop, __ATOMIC_SEQ_CST)) {
        NTSTATUS a = h->env->sriov.ReadVfConfig(h->env->sriov.Context, b, 1, 0, 64);
        NTSTATUS c = h->env->sriov.WriteVfConfigBlock(h->env->sriov.Context, 2, PF_BLOCK_ID_MAILBOX, b, 128);

        for (unsigned i = 0; i < 2; i++) {
            NTSTATUS st = i ? c : a;

            unsigned *counter = st == STATUS_SUCCESS            ? &h->ok
                                : st == STATUS_DEVICE_NOT_READY ? &h->not_ready
                                                                : &h->other;

            __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
        }
    }
    return NULL;
}

/* Callbacks racing stop/start: only success or "not ready", never a crash (run under TSan too). */
static void
test_callbacks_race_rebalance(void **state)
{
    struct env *env = *state;
    struct hammer h = {env, 0, 0, 0, 0};
    pthread_t t[2];

    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, hammer_main, &h), 0);
    }
    for (unsigned i = 0; i < 2000 && __atomic_load_n(&h.ok, __ATOMIC_RELAXED) == 0; i++) {
        env_sleep_ms(1); /* let the hammers start */
    }
    for (unsigned round = 0; round < 20; round++) {
        assert_int_equal(wdf_pnp_query_stop(env->node), STATUS_SUCCESS);
        assert_int_equal(wdf_pnp_stop(env->node), STATUS_SUCCESS);
        assert_int_equal(wdf_pnp_start(env->node), STATUS_SUCCESS);
    }
    __atomic_store_n(&h.stop, 1, __ATOMIC_SEQ_CST);
    for (unsigned i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(h.other, 0);
    assert_true(h.ok > 0);
}

/*
 * pcivirt/bus.h is append-only: a bus driver that exports only the version-1
 * table (no last_error) must still be usable; the PF driver checks Size before
 * touching a member past the version-1 end, it does not refuse the table.
 */
static void
test_version1_bus_table(void **state)
{
    struct wdf_host_config hc;
    struct wdf_host *host;
    struct pv_platform *plat;
    struct pv_sriov_dev *dev;
    struct pv_profile prof;
    PCIVIRT_BUS_INTERFACE bus;
    struct pcivirt_bus_resources res;
    struct wdf_pdo_interface iface = {&GUID_PCIVIRT_BUS_INTERFACE, (const INTERFACE *)&bus};
    struct wdf_pdo_config cfg;
    struct wdf_node *node;
    struct wdf_driver_module *drv;
    struct pf_admin_status st;

    (void)state;
    memset(&hc, 0, sizeof(hc));
    hc.clock = WDF_CLOCK_VIRTUAL;
    assert_true(NT_SUCCESS(wdf_host_create(&hc, &host)));
    wdf_thread_bind(host);
    pv_profile_default(&prof);
    prof.initial_vfs = 4;
    assert_int_equal(pv_platform_create(NULL, &plat), 0);
    assert_int_equal(pv_sriov_create(&prof, &dev, NULL), 0);
    assert_int_equal(pv_sriov_assign_resources(dev, plat, NULL), 0);
    pv_sriov_bus_interface(dev, &bus);
    bus.Size = (USHORT)PCIVIRT_BUS_INTERFACE_V1_SIZE;
    bus.Version = 1;
    bus.last_error = NULL;
    pv_sriov_query_resources(dev, &res);
    memset(&cfg, 0, sizeof(cfg));
    cfg.hardware_id = "PCI\\VEN_8086&DEV_10FB";
    cfg.instance_id = "0000:03:00.0";
    cfg.raw = res.bar;
    cfg.translated = res.bar;
    cfg.resource_count = 1;
    cfg.interfaces = &iface;
    cfg.interface_count = 1;
    assert_true(NT_SUCCESS(wdf_pdo_create(host, &cfg, &node)));
    assert_true(NT_SUCCESS(wdf_driver_load(host, "pcivirt_pf", PfDriverEntry, &drv)));
    assert_true(NT_SUCCESS(wdf_node_add_driver(node, drv, WDF_ROLE_FUNCTION)));
    assert_int_equal(wdf_pnp_start(node), STATUS_SUCCESS);
    assert_int_equal(pf_admin_status(wdf_node_device(node, WDF_ROLE_FUNCTION), &st), STATUS_SUCCESS);
    assert_true(st.started);
    assert_int_equal(st.num_vfs, 4);
    wdf_host_destroy(host);
    wdf_thread_bind(NULL);
    pv_sriov_destroy(dev);
    pv_platform_destroy(plat);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version1_bus_table),
        cmocka_unit_test_setup_teardown(test_mac_assignment_invalidates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_macs_distinct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trapped_privileged_registers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_view_against_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_flr_resets_vf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_vf_clean_slate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_survives_rebalance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_blocks_and_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callbacks_race_rebalance, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
