/*
 * tests/vsp/vpci_fixture.h - a whole host stack around one VM, for the vPCI tests.
 *
 * Clock, event log, IOMMU, the test PF (testpf.h) over the software device, the
 * PF registry and binding, the vPCI service, the VM manager, one VM and its
 * channel: the host end served by vsp_vpci_host, the guest end driven by the test
 * with raw protocol messages (what a guest kernel would send).
 */
#ifndef PCIVIRT_TESTS_VSP_VPCI_FIXTURE_H
#define PCIVIRT_TESTS_VSP_VPCI_FIXTURE_H

#include <stdatomic.h>
#include <time.h>

#include "testpf.h"
#include "util/alloc.h"
#include "vmbus/vpci_chan.h"
#include "vsp/vpci_host.h"

#define FX_NVFS 8
#define FX_MEM (64u << 20)
#define FX_WINDOW 0xF0000000ull
#define FX_WAIT_NS (2 * (int64_t)VSP_NS_PER_S)
#define FX_MAX_IRQ 16

struct fx {
    struct vsp_manual_clock mc;
    struct vsp_event_log *log;
    struct vsp_iommu *iommu;
    struct tpf pf;
    struct vsp_pfs *pfs;
    struct vsp_pf *binding;
    struct vsp_vpci *vpci;
    struct vsp_vmm *vmm;
    struct vsp_vm *vm;
    struct vsp_vpci_host *host;
    struct vmbus_channel *guest;
    struct vpci_rx *rx;
    uint32_t version;
    uint32_t irq_vec[FX_MAX_IRQ];
    int irqs;
    void (*irq_hook)(void *ctx, uint32_t vector); /* forwards to a guest, if set */
    void *irq_hook_ctx;
};

static inline void
fx_irq(void *ctx, uint32_t vector, uint32_t dest)
{
    struct fx *f = ctx;

    (void)dest;
    if (f->irqs < FX_MAX_IRQ) {
        f->irq_vec[f->irqs] = vector;
    }
    f->irqs++;
    if (f->irq_hook != NULL) {
        f->irq_hook(f->irq_hook_ctx, vector);
    }
}

/* Everything up to a running host; @v1 binds the PF through a version-1 table. */
static inline int
fx_init(struct fx *f, bool v1)
{
    struct pv_dma_port dma;
    struct pv_irq_port irq;
    uint16_t rids[FX_NVFS];
    struct vsp_pf_tables tables;
    struct vmbus_transport *ta, *tb;
    struct vmbus_channel *hch = NULL;
    int rc;

    memset(f, 0, sizeof(*f));
    vsp_manual_clock_init(&f->mc, 1000);
    rc = vsp_event_log_create(&f->mc.clock, 4096, &f->log);
    rc = rc != 0 ? rc : vsp_iommu_create(f->log, &f->iommu);
    if (rc != 0) {
        return rc;
    }
    vsp_iommu_dma_port(f->iommu, &dma);
    vsp_iommu_irq_port(f->iommu, &irq);
    rc = tpf_init(&f->pf, FX_NVFS, &dma, &irq);
    if (v1) {
        f->pf.sriov.Size = sizeof(SRIOV_DEVICE_INTERFACE_STANDARD);
        f->pf.sriov.Version = SRIOV_DEVICE_INTERFACE_STANDARD_VERSION_1;
    }
    tables = (struct vsp_pf_tables){.sriov = &f->pf.sriov, .mitigable = &f->pf.mitig};
    rc = rc != 0 ? rc : vsp_pfs_create(&f->pfs);
    rc = rc != 0 ? rc : vsp_pf_create(0, &tables, FX_NVFS, f->log, &f->binding, NULL);
    rc = rc != 0 ? rc : vsp_pfs_add(f->pfs, f->binding);
    if (rc == 0) {
        struct vsp_vpci_config vc = {.log = f->log, .pfs = f->pfs, .platform = f->pf.plat};

        rc = vsp_vpci_create(&vc, &f->vpci);
    }
    if (rc == 0) {
        struct vsp_vmm_config mc = {.clock = &f->mc.clock,
                                    .log = f->log,
                                    .iommu = f->iommu,
                                    .vf_ops = vsp_pfs_vf_ops(),
                                    .vf_ctx = f->pfs,
                                    .bus_ops = vsp_vpci_bus_ops(),
                                    .bus_ctx = f->vpci};

        rc = vsp_vmm_create(&mc, &f->vmm);
    }
    for (uint16_t i = 0; rc == 0 && i < FX_NVFS; i++) {
        uint16_t seg;

        rc = vsp_pf_vf_rid(f->binding, i, &seg, &rids[i]);
    }
    rc = rc != 0 ? rc : vsp_vmm_add_pf(f->vmm, 0, FX_NVFS, rids);
    if (rc == 0) {
        struct vsp_vm_config vmc = {.name = "vm1", .memory_bytes = FX_MEM, .irq_sink = fx_irq, .irq_ctx = f};

        rc = vsp_vm_create(f->vmm, &vmc, &f->vm);
    }
    if (rc == 0 && (!NT_SUCCESS(vmbus_inproc_pair_create(VMBUS_RING_SIZE, &ta, &tb)) ||
                    !NT_SUCCESS(vmbus_channel_create(ta, &hch)) || !NT_SUCCESS(vmbus_channel_create(tb, &f->guest)))) {
        rc = PCIVIRT_ENOMEM;
    }
    rc = rc != 0 ? rc : vsp_vpci_host_create(f->vpci, f->vmm, f->vm, hch, &f->host);
    f->rx = pv_calloc(1, sizeof(*f->rx));
    return rc != 0 ? rc : (f->rx == NULL ? PCIVIRT_ENOMEM : 0);
}

static inline void
fx_fini(struct fx *f)
{
    vsp_vpci_host_destroy(f->host);
    vmbus_channel_destroy(f->guest);
    vsp_vmm_destroy(f->vmm);
    vsp_vpci_destroy(f->vpci);
    vsp_pfs_destroy(f->pfs);
    vsp_pf_put(f->binding);
    tpf_fini(&f->pf);
    vsp_iommu_destroy(f->iommu);
    vsp_event_log_destroy(f->log);
    pv_free(f->rx);
}

/* A further VM with its own host and guest channel; fx_swap() makes it current. */
struct fx_vm {
    struct vsp_vm *vm;
    struct vsp_vpci_host *host;
    struct vmbus_channel *guest;
    uint32_t version;
    int irqs;
};

static inline void
fx_vm_irq(void *ctx, uint32_t vector, uint32_t dest)
{
    struct fx_vm *v = ctx;

    (void)vector;
    (void)dest;
    v->irqs++;
}

static inline int
fx_add_vm(struct fx *f, const char *name, struct fx_vm *v)
{
    struct vsp_vm_config vmc = {.name = name, .memory_bytes = FX_MEM, .irq_sink = fx_vm_irq, .irq_ctx = v};
    struct vmbus_transport *ta, *tb;
    struct vmbus_channel *hch = NULL;
    int rc;

    memset(v, 0, sizeof(*v));
    rc = vsp_vm_create(f->vmm, &vmc, &v->vm);
    if (rc == 0 && (!NT_SUCCESS(vmbus_inproc_pair_create(VMBUS_RING_SIZE, &ta, &tb)) ||
                    !NT_SUCCESS(vmbus_channel_create(ta, &hch)) || !NT_SUCCESS(vmbus_channel_create(tb, &v->guest)))) {
        rc = PCIVIRT_ENOMEM;
    }
    return rc != 0 ? rc : vsp_vpci_host_create(f->vpci, f->vmm, v->vm, hch, &v->host);
}

static inline void
fx_del_vm(struct fx_vm *v)
{
    vsp_vpci_host_destroy(v->host);
    vmbus_channel_destroy(v->guest);
    v->host = NULL;
    v->guest = NULL;
}

/* Exchange the fixture's current VM with @v (the helpers below act on the current one). */
static inline void
fx_swap(struct fx *f, struct fx_vm *v)
{
    struct vsp_vm *vm = f->vm;
    struct vsp_vpci_host *host = f->host;
    struct vmbus_channel *guest = f->guest;
    uint32_t version = f->version;

    f->vm = v->vm;
    f->host = v->host;
    f->guest = v->guest;
    f->version = v->version;
    v->vm = vm;
    v->host = host;
    v->guest = guest;
    v->version = version;
}

/* ---- the raw guest -------------------------------------------------------------------- */

static inline NTSTATUS
fx_request(struct fx *f, const struct vpci_msg *m, struct vpci_reply *r)
{
    NTSTATUS st = vpci_chan_request(f->guest, m, r, NULL, FX_WAIT_NS);

    return NT_SUCCESS(st) ? r->status : st;
}

/* The next host -> guest message (STATUS_IO_TIMEOUT when none within @wait_ns). */
static inline NTSTATUS
fx_recv(struct fx *f, struct vpci_msg *out, int64_t wait_ns)
{
    NTSTATUS st = vpci_chan_recv(f->guest, VPCI_HOST_TO_GUEST, f->version != 0 ? f->version : VPCI_VERSION_ANY, f->rx,
                                 NULL, wait_ns);

    if (NT_SUCCESS(st)) {
        *out = f->rx->msg;
    }
    return st;
}

static inline NTSTATUS
fx_negotiate(struct fx *f, uint32_t version)
{
    struct vpci_msg m = {.type = PCI_QUERY_PROTOCOL_VERSION, .u.version = version};
    struct vpci_reply r;
    NTSTATUS st = fx_request(f, &m, &r);

    if (NT_SUCCESS(st)) {
        f->version = version;
    }
    return st;
}

static inline NTSTATUS
fx_slot_msg(struct fx *f, uint32_t type, uint32_t slot, struct vpci_reply *r)
{
    struct vpci_msg m = {.type = type, .slot = slot};

    return fx_request(f, &m, r);
}

static inline NTSTATUS
fx_d0(struct fx *f, uint64_t window)
{
    struct vpci_msg m = {.type = PCI_BUS_D0ENTRY, .u.mmio_base = window};
    struct vpci_reply r;

    return fx_request(f, &m, &r);
}

/*
 * Wait (real time, at most 2 s) until VF @vf reaches @state: the host finishes a
 * handoff (reset, clean check) on its own thread after it told the guest.
 */
static inline bool
fx_wait_vf_state(struct fx *f, uint16_t vf, enum vsp_vf_state state)
{
    for (int i = 0; i < 2000; i++) {
        struct vsp_vf_info info;
        struct timespec ts = {0, 1000000};

        if (vsp_vmm_vf_info(f->vmm, 0, vf, &info) == 0 && info.state == state) {
            return true;
        }
        nanosleep(&ts, NULL);
    }
    return false;
}

/* Up to 2 s for @count (bumped on the stack's threads) to reach @n; true when it equals @n. */
static inline bool
fx_wait_count(atomic_uint *count, unsigned n)
{
    for (int i = 0; i < 2000 && atomic_load(count) < n; i++) {
        struct timespec ts = {0, 1000000};

        nanosleep(&ts, NULL);
    }
    return atomic_load(count) == n;
}

/* ---- guest MMIO through the config window --------------------------------------------- */

static inline uint32_t
fx_cfg_read(struct fx *f, uint32_t slot, uint32_t off, uint32_t len)
{
    uint8_t sel[4], v[4] = {0};

    le32_put(sel, slot);
    vsp_vpci_host_mmio_write(f->host, FX_WINDOW, sel, 4);
    vsp_vpci_host_mmio_read(f->host, FX_WINDOW + 0x1000 + off, v, len);
    return (uint32_t)le_get(v, len);
}

static inline void
fx_cfg_write(struct fx *f, uint32_t slot, uint32_t off, uint32_t val, uint32_t len)
{
    uint8_t sel[4], v[4];

    le32_put(sel, slot);
    le_put(v, len, val);
    vsp_vpci_host_mmio_write(f->host, FX_WINDOW, sel, 4);
    vsp_vpci_host_mmio_write(f->host, FX_WINDOW + 0x1000 + off, v, len);
}

static inline uint32_t
fx_mmio_read32(struct fx *f, uint64_t gpa)
{
    uint8_t v[4];

    vsp_vpci_host_mmio_read(f->host, gpa, v, 4);
    return le32_get(v);
}

static inline int
fx_mmio_write32(struct fx *f, uint64_t gpa, uint32_t val)
{
    uint8_t v[4];

    le32_put(v, val);
    return vsp_vpci_host_mmio_write(f->host, gpa, v, 4);
}

#endif /* PCIVIRT_TESTS_VSP_VPCI_FIXTURE_H */
