/*
 * tests/oom/test_oom_vsp.c - allocation failure in the stack's building blocks
 * and the vPCI channel.
 *
 * Paths (tests/oom/oom.h): the event log; guest memory materialising pages; the
 * IOMMU with a domain, identity map, attached requester, IRTE and a DMA; an
 * intercept map big enough to allocate its bitmaps, then replaced; the VM
 * manager with two VMs, a PF and VFs assigned, one ejected and acknowledged;
 * channels over the in-process and the socket transport exchanging a packet.
 * Plus one targeted rule: a guest-memory write whose second page cannot be
 * materialised writes nothing at all (vsp/gmem.h "on any error nothing is
 * written"), which the IOMMU relies on.
 */
#include "oom.h"

#include "vmbus/channel.h"
#include "vmbus/transport.h"
#include "vsp/events.h"
#include "vsp/gmem.h"
#include "vsp/intercept.h"
#include "vsp/iommu.h"
#include "vsp/vmm.h"

struct fixture {
    struct vsp_manual_clock mc;
};

/* ---- event log ------------------------------------------------------------------------ */

static int
build_log(void *fx, void **obj)
{
    struct fixture *f = fx;
    struct vsp_event_log *log = NULL;
    int rc = vsp_event_log_create(&f->mc.clock, 4, &log);

    if (rc != 0) {
        return rc;
    }
    for (int i = 0; i < 6; i++) {
        vsp_event_log_add(log, VSP_EV_ASSIGN, 0, i, 1, STATUS_SUCCESS, (uint64_t)i, "vf %d", i);
    }
    *obj = log;
    return 0;
}

static void
fp_log(void *fx, void *obj, struct oom_fp *fp)
{
    struct vsp_event ev[8];
    size_t n = vsp_event_log_snapshot(obj, ev, 8);

    (void)fx;
    oom_fp_add(fp, "held:%zu dropped:%llu;", n, (unsigned long long)vsp_event_log_dropped(obj));
    for (size_t i = 0; i < n; i++) {
        oom_fp_add(fp, "%llu:%d:%s;", (unsigned long long)ev[i].seq, ev[i].vf, ev[i].reason);
    }
}

static void
log_destroy(void *fx, void *obj)
{
    (void)fx;
    vsp_event_log_destroy(obj);
}

/* ---- guest memory ------------------------------------------------------------------------- */

static int
build_gmem(void *fx, void **obj)
{
    struct vsp_gmem *m = NULL;
    uint8_t buf[2 * VSP_PAGE_SIZE];
    int rc = vsp_gmem_create(64u << 20, &m);

    (void)fx;
    memset(buf, 0xa5, sizeof(buf));
    rc = rc ? rc : vsp_gmem_write(m, 0x1000, buf, 8);
    /* crosses a page boundary and a 2 MiB boundary: two new pages, maybe a new table */
    rc = rc ? rc : vsp_gmem_write(m, (2u << 20) - 100, buf, 200);
    rc = rc ? rc : vsp_gmem_write(m, (40u << 20) + 4000, buf, sizeof(buf));
    if (rc != 0) {
        vsp_gmem_destroy(m);
        return rc;
    }
    *obj = m;
    return 0;
}

static void
fp_gmem(void *fx, void *obj, struct oom_fp *fp)
{
    static uint8_t buf[1u << 16];

    (void)fx;
    oom_fp_add(fp, "pages:%zu;", vsp_gmem_resident_pages(obj));
    assert_int_equal(vsp_gmem_read(obj, 0, buf, sizeof(buf)), 0);
    oom_fp_bytes(fp, "0", buf, sizeof(buf));
    assert_int_equal(vsp_gmem_read(obj, (2u << 20) - sizeof(buf) / 2, buf, sizeof(buf)), 0);
    oom_fp_bytes(fp, "2M", buf, sizeof(buf));
    assert_int_equal(vsp_gmem_read(obj, 40u << 20, buf, sizeof(buf)), 0);
    oom_fp_bytes(fp, "40M", buf, sizeof(buf));
}

static void
gmem_destroy(void *fx, void *obj)
{
    (void)fx;
    vsp_gmem_destroy(obj);
}

/* A write spanning pages whose later page cannot be materialised writes nothing. */
static void
test_gmem_failed_write_writes_nothing(void **state)
{
    struct vsp_gmem *m = NULL;
    uint8_t buf[3 * VSP_PAGE_SIZE], back[3 * VSP_PAGE_SIZE];
    size_t before;
    int rc = PCIVIRT_ENOMEM;

    (void)state;
    assert_int_equal(vsp_gmem_create(16u << 20, &m), 0);
    memset(buf, 0x5a, sizeof(buf));
    for (long n = 0; rc == PCIVIRT_ENOMEM; n++) {
        before = vsp_gmem_resident_pages(m);
        pv_alloc_fail_after(n, 1);
        rc = vsp_gmem_write(m, (8u << 20) - VSP_PAGE_SIZE - 1, buf, sizeof(buf));
        pv_alloc_fail_after(-1, 0);
        assert_true(rc == 0 || rc == PCIVIRT_ENOMEM);
        assert_int_equal(vsp_gmem_read(m, (8u << 20) - VSP_PAGE_SIZE - 1, back, sizeof(back)), 0);
        if (rc != 0) {
            static const uint8_t zero[sizeof(back)];

            assert_memory_equal(back, zero, sizeof(back));
            assert_true(vsp_gmem_resident_pages(m) >= before);
        } else {
            assert_memory_equal(back, buf, sizeof(back));
        }
    }
    vsp_gmem_destroy(m);
}

/* ---- IOMMU ----------------------------------------------------------------------------------- */

struct iommu_obj {
    struct vsp_gmem *mem;
    struct vsp_iommu *iommu;
    struct vsp_domain *dom;
    uint32_t handle;
    unsigned irqs;
};

static void
iommu_obj_destroy(void *fx, void *obj)
{
    struct iommu_obj *o = obj;

    (void)fx;
    if (o != NULL) {
        vsp_domain_destroy(o->dom);
        vsp_iommu_destroy(o->iommu);
        vsp_gmem_destroy(o->mem);
        pv_free(o);
    }
}

static void
count_irq(void *ctx, uint32_t vector, uint32_t dest)
{
    (void)vector;
    (void)dest;
    ((struct iommu_obj *)ctx)->irqs++;
}

static int
build_iommu(void *fx, void **obj)
{
    struct iommu_obj *o = pv_calloc(1, sizeof(*o));
    struct vsp_domain_config dc = {.vm_id = 1, .max_mappings = 16, .irte_count = 64, .irq_sink = count_irq};
    const uint8_t data[16] = "dma-from-vf-0180";
    uint64_t addr;
    uint32_t msi;
    int rc;

    if (o == NULL) {
        return PCIVIRT_ENOMEM;
    }
    dc.irq_ctx = o;
    rc = vsp_gmem_create(4u << 20, &o->mem);
    rc = rc ? rc : vsp_iommu_create(NULL, &o->iommu);
    dc.mem = o->mem;
    rc = rc ? rc : vsp_domain_create(o->iommu, &dc, &o->dom);
    rc = rc ? rc : vsp_domain_map_identity(o->dom, VSP_DMA_RW);
    rc = rc ? rc : vsp_iommu_attach(o->iommu, 0x0180, o->dom, 0, 0);
    rc = rc ? rc : vsp_domain_irte_alloc(o->dom, 0x0180, 33, 0, &o->handle);
    rc = rc ? rc : vsp_iommu_dma_write(o->iommu, 0x0180, 0x3000, data, sizeof(data));
    if (rc == 0) {
        vsp_msi_compose(o->handle, &addr, &msi);
        rc = vsp_iommu_msi(o->iommu, 0x0180, addr, msi);
    }
    if (rc != 0) {
        iommu_obj_destroy(fx, o);
        return rc;
    }
    *obj = o;
    return 0;
}

static void
fp_iommu(void *fx, void *obj, struct oom_fp *fp)
{
    struct iommu_obj *o = obj;
    struct vsp_iommu_stats st;
    uint8_t b[16];

    (void)fx;
    vsp_iommu_get_stats(o->iommu, &st);
    assert_int_equal(vsp_gmem_read(o->mem, 0x3000, b, sizeof(b)), 0);
    oom_fp_add(fp, "dma:%llu/%llu msi:%llu/%llu irqs:%u irtes:%u;", (unsigned long long)st.dma_ok,
               (unsigned long long)st.dma_faults, (unsigned long long)st.msi_ok, (unsigned long long)st.msi_faults,
               o->irqs, vsp_domain_irte_count_rid(o->dom, 0x0180));
    oom_fp_bytes(fp, "mem", b, sizeof(b));
    oom_fp_add(fp, "attached:%d", vsp_iommu_domain_of(o->iommu, 0x0180) == o->dom);
}

/* ---- intercept map ----------------------------------------------------------------------------- */

static int
build_intercept(void *fx, void **obj)
{
    const uint64_t sizes[6] = {1u << 20, 0, 16384, 0, 0, 1u << 24};
    SRIOV_MITIGATED_RANGES_OUTPUT r0[2] = {{.BasePageNumber = 1, .PageCount = 1, .InterceptWrites = 1},
                                           {.BasePageNumber = 200, .PageCount = 40, .InterceptReads = 1}};
    SRIOV_MITIGATED_RANGES_OUTPUT r5 = {
        .BasePageNumber = 4000, .PageCount = 10, .InterceptReads = 1, .InterceptWrites = 1};
    const SRIOV_MITIGATED_RANGES_OUTPUT *rp[6] = {r0, NULL, NULL, NULL, NULL, &r5};
    ULONG counts[6] = {2, 0, 0, 0, 0, 1};
    struct vsp_intercept_map *m = NULL;
    int rc = vsp_intercept_create(sizes, &m);

    (void)fx;
    rc = rc ? rc : vsp_intercept_replace(m, rp, counts, NULL);
    if (rc != 0) {
        vsp_intercept_destroy(m);
        return rc;
    }
    *obj = m;
    return 0;
}

static void
fp_intercept(void *fx, void *obj, struct oom_fp *fp)
{
    (void)fx;
    for (unsigned b = 0; b < 6; b++) {
        oom_fp_add(fp, "bar%u:%llu;", b, (unsigned long long)vsp_intercept_trapped_pages(obj, b));
    }
    oom_fp_add(fp, "p1w:%u p239r:%u p4009:%u", vsp_intercept_lookup(obj, 0, 0x1000),
               vsp_intercept_lookup(obj, 0, 239 * 4096), vsp_intercept_lookup(obj, 5, 4009 * 4096ull));
}

static void
intercept_destroy(void *fx, void *obj)
{
    (void)fx;
    vsp_intercept_destroy(obj);
}

/* ---- VM manager ------------------------------------------------------------------------------------ */

struct vmm_obj {
    struct vsp_event_log *log;
    struct vsp_iommu *iommu;
    struct vsp_vmm *vmm;
};

static NTSTATUS
ok_reset(void *ctx, int pf, uint16_t vf)
{
    (void)ctx;
    (void)pf;
    (void)vf;
    return STATUS_SUCCESS;
}

static bool
ok_clean(void *ctx, int pf, uint16_t vf, char *why, size_t len)
{
    (void)ctx;
    (void)pf;
    (void)vf;
    (void)why;
    (void)len;
    return true;
}

static const struct vsp_vf_ops vf_ops = {ok_reset, ok_clean};

static void
vmm_obj_destroy(void *fx, void *obj)
{
    struct vmm_obj *o = obj;

    (void)fx;
    if (o != NULL) {
        vsp_vmm_destroy(o->vmm);
        vsp_iommu_destroy(o->iommu);
        vsp_event_log_destroy(o->log);
        pv_free(o);
    }
}

static int
vmm_populate(struct vmm_obj *o)
{
    uint16_t rids[8];
    struct vsp_vm *vm[2] = {NULL, NULL};
    struct vsp_vm_config vc = {.name = "guest", .memory_bytes = 8u << 20, .irte_count = 16};
    uint32_t slot = 0;
    int rc;

    for (int i = 0; i < 8; i++) {
        rids[i] = (uint16_t)(0x0180 + i);
    }
    rc = vsp_vmm_add_pf(o->vmm, 0, 8, rids);
    rc = rc ? rc : vsp_vm_create(o->vmm, &vc, &vm[0]);
    rc = rc ? rc : vsp_vm_create(o->vmm, &vc, &vm[1]);
    rc = rc ? rc : vsp_vmm_assign(o->vmm, 0, 2, vm[0], NULL);
    rc = rc ? rc : vsp_vmm_assign(o->vmm, 0, 5, vm[0], &slot);
    rc = rc ? rc : vsp_vmm_assign(o->vmm, 0, 6, vm[1], NULL);
    rc = rc ? rc : vsp_vmm_eject(o->vmm, 0, 5, "oom test");
    rc = rc ? rc : vsp_vmm_ejection_complete(o->vmm, vm[0], slot);
    return rc;
}

static int
build_vmm(void *fx, void **obj)
{
    struct fixture *f = fx;
    struct vmm_obj *o = pv_calloc(1, sizeof(*o));
    struct vsp_vmm_config cfg = {.clock = &f->mc.clock, .vf_ops = &vf_ops};
    int rc;

    if (o == NULL) {
        return PCIVIRT_ENOMEM;
    }
    rc = vsp_event_log_create(&f->mc.clock, 64, &o->log);
    rc = rc ? rc : vsp_iommu_create(o->log, &o->iommu);
    cfg.log = o->log;
    cfg.iommu = o->iommu;
    rc = rc ? rc : vsp_vmm_create(&cfg, &o->vmm);
    rc = rc ? rc : vmm_populate(o);
    if (rc != 0) {
        vmm_obj_destroy(fx, o);
        return rc;
    }
    *obj = o;
    return 0;
}

static void
fp_vmm(void *fx, void *obj, struct oom_fp *fp)
{
    struct vmm_obj *o = obj;
    struct vsp_event ev[64];
    size_t n;

    (void)fx;
    for (uint16_t i = 0; i < 8; i++) {
        struct vsp_vf_info vi;

        assert_int_equal(vsp_vmm_vf_info(o->vmm, 0, i, &vi), 0);
        oom_fp_add(fp, "vf%u:%s vm%d slot%u serial%u;", i, vsp_vf_state_name(vi.state), vi.vm, vi.slot, vi.serial);
    }
    n = vsp_event_log_snapshot(o->log, ev, 64);
    for (size_t i = 0; i < n; i++) {
        oom_fp_add(fp, "%s/%d/%d/%d/%s;", vsp_event_type_name(ev[i].type), ev[i].pf, ev[i].vf, ev[i].vm, ev[i].reason);
    }
}

/* ---- vPCI channels ----------------------------------------------------------------------------------- */

struct chan_obj {
    struct vmbus_channel *host, *guest;
    struct vmbus_packet_buf rx;
};

static void
chan_obj_destroy(void *fx, void *obj)
{
    struct chan_obj *o = obj;

    (void)fx;
    if (o != NULL) {
        vmbus_channel_destroy(o->guest);
        vmbus_channel_destroy(o->host);
        pv_free(o);
    }
}

static int
build_channels(void *fx, void **obj)
{
    struct chan_obj *o = pv_calloc(1, sizeof(*o));
    struct vmbus_transport *a = NULL, *b = NULL;
    const uint8_t msg[12] = "vpci-message";
    NTSTATUS st;

    if (o == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    st = fx != NULL ? vmbus_socket_pair_create(&a, &b) : vmbus_inproc_pair_create(VMBUS_RING_SIZE, &a, &b);
    if (!NT_SUCCESS(st)) {
        pv_free(o);
        return st;
    }
    /* A channel owns its transport from the call on, also when creation fails. */
    st = vmbus_channel_create(a, &o->host);
    if (NT_SUCCESS(st)) {
        st = vmbus_channel_create(b, &o->guest);
    } else {
        vmbus_transport_destroy(b);
    }
    st = NT_SUCCESS(st) ? vmbus_channel_send(o->host, msg, sizeof(msg), 0) : st;
    st = NT_SUCCESS(st) ? vmbus_channel_recv(o->guest, &o->rx, NULL, 0) : st;
    if (!NT_SUCCESS(st)) {
        chan_obj_destroy(fx, o);
        return st;
    }
    *obj = o;
    return 0;
}

static void
fp_channels(void *fx, void *obj, struct oom_fp *fp)
{
    struct chan_obj *o = obj;

    (void)fx;
    oom_fp_bytes(fp, "payload", o->rx.pkt.payload, o->rx.pkt.payload_len);
}

/* ---- tests --------------------------------------------------------------------------------------------- */

static void
test_paths(void **state)
{
    static struct fixture f;
    static const struct oom_path paths[] = {
        {"event log", build_log, fp_log, log_destroy, PCIVIRT_ENOMEM, false},
        {"guest memory", build_gmem, fp_gmem, gmem_destroy, PCIVIRT_ENOMEM, false},
        {"iommu", build_iommu, fp_iommu, iommu_obj_destroy, PCIVIRT_ENOMEM, false},
        {"intercept", build_intercept, fp_intercept, intercept_destroy, PCIVIRT_ENOMEM, false},
        {"vmm", build_vmm, fp_vmm, vmm_obj_destroy, PCIVIRT_ENOMEM, false},
    };
    const long min_allocs[] = {1, 3, 5, 2, 8};

    (void)state;
    vsp_manual_clock_init(&f.mc, 5 * VSP_NS_PER_S);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        oom_run(&paths[i], &f, min_allocs[i]);
    }
}

static void
test_channels(void **state)
{
    static int socket_marker;
    const struct oom_path p = {
        "channels", build_channels, fp_channels, chan_obj_destroy, (int)STATUS_INSUFFICIENT_RESOURCES, false};

    (void)state;
    oom_run(&p, NULL, 3);           /* in-process rings */
    oom_run(&p, &socket_marker, 3); /* AF_UNIX SOCK_SEQPACKET */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_gmem_failed_write_writes_nothing),
        cmocka_unit_test(test_channels),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
