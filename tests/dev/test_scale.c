/*
 * tests/dev/test_scale.c - sparse VF state at 65,535 VFs (the device's own
 * accounting must stay at or below 256 bytes per untouched VF) and the locking
 * rules under concurrent guests and PF-driver operations (run under TSan by
 * `make tsan`).
 */
#include "dev_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "dev/regs.h"

static size_t
total_bytes(const struct pv_sriov_memory *m)
{
    return m->vf_table_bytes + m->vf_state_bytes + m->vf_config_bytes + m->settings_bytes;
}

static void
test_sparse_65535(void **state)
{
    struct pv_profile p;
    struct pv_sriov_dev *dev;
    struct pv_sriov_memory m;
    uint16_t rid;

    (void)state;
    pv_profile_wide(&p);
    assert_int_equal(pv_sriov_create(&p, &dev, NULL), 0);
    assert_int_equal(pv_sriov_enable(dev, 65535, NULL), 0);
    pv_sriov_memory(dev, &m);
    assert_int_equal(m.num_vfs, 65535);
    assert_int_equal(m.vfs_touched, 0);
    assert_true(total_bytes(&m) / 65535 <= 256);
    /* Reads never allocate, even across every VF. */
    for (uint32_t i = 0; i < 65535; i += 97) {
        assert_int_equal(pv_sriov_vf_rid(dev, i, &rid), 0);
        assert_int_equal(cfg_rd(dev, rid, 0x06, 2) & PCI_STATUS_CAP_LIST, PCI_STATUS_CAP_LIST);
    }
    /* Writes that change nothing do not allocate either (read-only Vendor ID, a BAR). */
    assert_int_equal(pv_sriov_vf_rid(dev, 40000, &rid), 0);
    cfg_wr(dev, rid, 0, 4, 0);
    cfg_wr(dev, rid, 0x10, 4, 0xffffffff);
    pv_sriov_memory(dev, &m);
    assert_int_equal(m.vfs_touched, 0);
    /* One VF touched through config and MMIO: only it grows. */
    cfg_wr(dev, rid, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    mmio_wr(dev, rid, 0, SWVF_REG_SCRATCH, 1);
    pv_sriov_memory(dev, &m);
    assert_int_equal(m.vfs_touched, 1);
    assert_true(m.vf_config_bytes <= 4096 && m.vf_state_bytes < 1024);
    assert_true((total_bytes(&m) - m.vf_config_bytes - m.vf_state_bytes) / 65535 <= 256);
    /* The last VF is RID ffff (00:00.0 + 1 + 65534). */
    assert_int_equal(pv_sriov_vf_rid(dev, 65534, &rid), 0);
    assert_int_equal(rid, 0xffff);
    pv_sriov_disable(dev);
    pv_sriov_memory(dev, &m);
    assert_int_equal(total_bytes(&m), 0);
    pv_sriov_destroy(dev);
}

struct race {
    struct pv_sriov_dev *dev;
    atomic_bool stop;
    atomic_uint bad;
    struct test_mem mem;
};

static void *
guest_thread(void *arg)
{
    struct race *r = arg;
    unsigned seed = 12345;

    while (!atomic_load(&r->stop)) {
        uint16_t rid = (uint16_t)(0x0380 + 2 * (rand_r(&seed) % 8));
        uint8_t b[4];
        uint32_t v;

        pv_sriov_config_read(r->dev, rid, 4, b, 4);
        v = le32_get(b);
        if (v != 0xffffffff && !((v >> 16) & PCI_STATUS_CAP_LIST)) {
            atomic_fetch_add(&r->bad, 1);
        }
        le32_put(b, PCI_COMMAND_MASTER);
        pv_sriov_config_write(r->dev, rid, PCI_COMMAND, b, 2);
        if (pv_sriov_mmio_read(r->dev, rid, 0, SWVF_REG_ID, b, 4) == 0 && le32_get(b) != SWVF_ID_MAGIC) {
            atomic_fetch_add(&r->bad, 1);
        }
        le32_put(b, 64);
        pv_sriov_mmio_write(r->dev, rid, 0, SWVF_REG_DMA_LEN, b, 4);
        le32_put(b, 0x100000);
        pv_sriov_mmio_write(r->dev, rid, 0, SWVF_REG_DMA_SRC_LO, b, 4);
        le32_put(b, 0x101000);
        pv_sriov_mmio_write(r->dev, rid, 0, SWVF_REG_DMA_DST_LO, b, 4);
        le32_put(b, SWVF_DMA_GO);
        pv_sriov_mmio_write(r->dev, rid, 0, SWVF_REG_DMA_DOORBELL, b, 4);
    }
    return NULL;
}

static void
test_concurrent_guests_and_pf(void **state)
{
    static struct race r;
    struct pv_dma_port port = {sizeof(port), PV_DMA_PORT_VERSION, &r.mem, test_mem_read, test_mem_write};
    struct pv_profile p;
    struct pv_platform *plat;
    pthread_t t[2];

    (void)state;
    static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;

    memset(&r, 0, sizeof(r));
    r.mem.base = 0x100000;
    r.mem.lock = &mem_lock;
    pv_profile_default(&p);
    assert_int_equal(pv_sriov_create(&p, &r.dev, NULL), 0);
    assert_int_equal(pv_platform_create(NULL, &plat), 0);
    pv_sriov_set_ports(r.dev, &port, NULL);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, guest_thread, &r), 0);
    }
    for (int i = 0; i < 2000; i++) {
        pv_sriov_enable(r.dev, 8, NULL);
        if (i % 50 == 0) {
            pv_sriov_set_ports(r.dev, &port, NULL); /* re-plugging races with DMA safely */
        }
        pv_sriov_function_reset(r.dev, 0x0382);
        if (i % 10 == 0) {
            assert_int_equal(pv_sriov_assign_resources(r.dev, plat, NULL), 0);
        }
        if (i % 3 == 0) {
            pv_sriov_function_reset(r.dev, 0x0300);
        } else {
            pv_sriov_disable(r.dev);
        }
    }
    atomic_store(&r.stop, true);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(atomic_load(&r.bad), 0);
    pv_sriov_destroy(r.dev);
    pv_platform_destroy(plat);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sparse_65535),
        cmocka_unit_test(test_concurrent_guests_and_pf),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
