/*
 * fuzz/fuzz_vf_mmio.c - guest MMIO onto VF BARs through the platform address
 * space, with DMA and MSI-X going through the stack's IOMMU.
 *
 * Why it is shaped so.  A guest drives its VF's register file, DMA engine and
 * MSI-X table with whatever values it likes.  The harness puts the default
 * device (4 VFs) on a platform, and plugs into it DMA and interrupt ports that
 * wrap the real vsp IOMMU: VF0 in domain A, VF1 in domain B (64 KiB of guest
 * memory each, identity mapped, one IRTE each), VF2 and VF3 attached nowhere.
 * The wrappers see every DMA chunk and every MSI the device issues, so the
 * invariants are checked where the device meets the platform, against models
 * written here:
 *
 *  - every DMA and MSI carries the routing ID of the VF the operation targeted
 *    (a VF never acts under another's identity);
 *  - a DMA chunk succeeds exactly when it lies entirely inside its requester's
 *    domain; a refused write changes nothing; a shadow copy of both guest
 *    memories, updated only by accepted writes, equals the real memory; data
 *    written is the data read by the chunk before it, and a transfer stops at
 *    its first fault with DMA_STATUS FAULT and DMA_FAULT naming that address;
 *  - an accepted MSI is delivered to its requester's own domain, at the vector
 *    of its requester's own IRTE;
 *  - an operation on one VF never changes another VF's registers (BAR0
 *    register file, privileged page, MSI-X table and PBA) nor the PF's
 *    settings other than that VF's CLAMPED mirror;
 *  - an address nothing decodes reads all-ones.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "dev/regs.h"
#include "dev/sriov_dev.h"
#include "pci/regs.h"
#include "util/le.h"
#include "vsp/iommu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NVFS 4
#define MEM (64u * 1024)
#define NREGS 30

struct harness {
    struct pv_sriov_dev *dev;
    struct pv_platform *plat;
    struct vsp_iommu *iommu;
    struct vsp_gmem *mem[2];
    struct vsp_domain *dom[2];
    uint8_t shadow[2][MEM];
    uint32_t handle[2];
    uint16_t rid[NVFS];
    uint64_t bar0, bar3, slot0, slot3;
    /* what the current operation may do */
    int actor; /* VF index the operation targets, -1: none may act */
    uint8_t last_read[4096];
    uint64_t last_read_iova;
    uint32_t last_read_len;
    bool fault_seen;
    uint64_t fault_iova;
    unsigned dma_writes;
    bool pf_op;     /* the operation was the PF's, on VF @actor's settings */
    int irq_domain; /* set by the sinks */
    uint32_t irq_vector;
};

static int
domain_of(const struct harness *h, uint16_t rid)
{
    return rid == h->rid[0] ? 0 : rid == h->rid[1] ? 1 : -1;
}

static bool
inside(uint64_t iova, uint32_t len)
{
    return iova < MEM && len <= MEM - iova;
}

static int
w_dma_read(void *ctx, uint16_t rid, uint64_t iova, void *buf, uint32_t len)
{
    struct harness *h = ctx;
    int d = domain_of(h, rid);
    int rc;

    CHECK(h->actor >= 0 && rid == h->rid[h->actor] && !h->fault_seen && len <= sizeof(h->last_read));
    rc = vsp_iommu_dma_read(h->iommu, rid, iova, buf, len);
    CHECK((rc == 0) == (d >= 0 && inside(iova, len)));
    if (rc == 0) {
        CHECK(memcmp(buf, h->shadow[d] + iova, len) == 0);
        memcpy(h->last_read, buf, len);
        h->last_read_len = len;
    } else {
        h->fault_seen = true;
        h->fault_iova = iova;
    }
    return rc;
}

static int
w_dma_write(void *ctx, uint16_t rid, uint64_t iova, const void *buf, uint32_t len)
{
    struct harness *h = ctx;
    int d = domain_of(h, rid);
    int rc;

    CHECK(h->actor >= 0 && rid == h->rid[h->actor] && !h->fault_seen);
    /* The engine copies: what it writes is what it just read. */
    CHECK(len == h->last_read_len && memcmp(buf, h->last_read, len) == 0);
    rc = vsp_iommu_dma_write(h->iommu, rid, iova, buf, len);
    CHECK((rc == 0) == (d >= 0 && inside(iova, len)));
    if (rc == 0) {
        memcpy(h->shadow[d] + iova, buf, len);
        h->dma_writes++;
    } else {
        h->fault_seen = true;
        h->fault_iova = iova;
    }
    return rc;
}

static int
w_raise(void *ctx, uint16_t rid, uint64_t address, uint32_t data)
{
    struct harness *h = ctx;
    int d = domain_of(h, rid);
    int rc;

    CHECK(h->actor >= 0 && rid == h->rid[h->actor]);
    h->irq_domain = -1;
    rc = vsp_iommu_msi(h->iommu, rid, address, data);
    if (rc == 0) {
        /* Delivered: only to the requester's own VM, at its own entry's vector. */
        CHECK(d >= 0 && h->irq_domain == d && h->irq_vector == 40u + (unsigned)d);
    } else {
        CHECK(h->irq_domain == -1);
    }
    return rc;
}

static void
sink_a(void *ctx, uint32_t vector, uint32_t dest)
{
    struct harness *h = ctx;

    h->irq_domain = 0;
    h->irq_vector = vector;
}

static void
sink_b(void *ctx, uint32_t vector, uint32_t dest)
{
    struct harness *h = ctx;

    h->irq_domain = 1;
    h->irq_vector = vector;
}

static void
setup(struct harness *h)
{
    struct pv_profile p;
    struct pcivirt_bus_resources res;
    struct pv_dma_port dp = {sizeof(dp), PV_DMA_PORT_VERSION, h, w_dma_read, w_dma_write};
    struct pv_irq_port ip = {sizeof(ip), PV_IRQ_PORT_VERSION, h, w_raise};
    vsp_irq_sink_fn *sinks[2] = {sink_a, sink_b};
    uint64_t len0, len3;

    pv_profile_default(&p);
    CHECK(pv_sriov_create(&p, &h->dev, NULL) == 0 && pv_platform_create(NULL, &h->plat) == 0);
    CHECK(pv_sriov_assign_resources(h->dev, h->plat, NULL) == 0 && pv_sriov_enable(h->dev, NVFS, NULL) == 0);
    CHECK(vsp_iommu_create(NULL, &h->iommu) == 0);
    for (int i = 0; i < NVFS; i++) {
        CHECK(pv_sriov_vf_rid(h->dev, (uint32_t)i, &h->rid[i]) == 0);
    }
    for (int d = 0; d < 2; d++) {
        struct vsp_domain_config dc = {d + 1, NULL, 8, 4, sinks[d], h};

        CHECK(vsp_gmem_create(MEM, &h->mem[d]) == 0);
        dc.mem = h->mem[d];
        CHECK(vsp_domain_create(h->iommu, &dc, &h->dom[d]) == 0 && vsp_domain_map_identity(h->dom[d], VSP_DMA_RW) == 0);
        CHECK(vsp_iommu_attach(h->iommu, h->rid[d], h->dom[d], 0, d) == 0);
        CHECK(vsp_domain_irte_alloc(h->dom[d], h->rid[d], 40u + (unsigned)d, 0, &h->handle[d]) == 0);
    }
    pv_sriov_set_ports(h->dev, &dp, &ip);
    CHECK(pv_sriov_query_resources(h->dev, &res) == 0);
    len0 = RtlCmDecodeMemIoResource(&res.vf_bar[0], &h->bar0);
    len3 = RtlCmDecodeMemIoResource(&res.vf_bar[3], &h->bar3);
    CHECK(len0 != 0 && len3 != 0);
    h->slot0 = len0 / NVFS;
    h->slot3 = len3 / NVFS;
    h->actor = -1;
}

static void
teardown(struct harness *h)
{
    pv_sriov_destroy(h->dev);
    pv_platform_destroy(h->plat);
    for (int d = 0; d < 2; d++) {
        vsp_domain_destroy(h->dom[d]);
        vsp_gmem_destroy(h->mem[d]);
    }
    vsp_iommu_destroy(h->iommu);
}

/* ---- snapshots of what other VFs and the PF hold ------------------------------------- */

static const uint16_t bar0_regs[] = {
    SWVF_REG_SCRATCH,
    0x18,
    0x1c,
    0x100,
    0x104,
    0x108,
    0x10c,
    0x110,
    0x114,
    0x11c,
    0x120,
    0x124,
    0x128,
    SWVF_REG_PRIV_QUEUES,
    SWVF_REG_PRIV_RATE,
    SWVF_REG_PRIV_CLAMPED,
};

struct snap {
    uint32_t vf[NVFS][NREGS];
    uint32_t pf[NVFS][5];
    uint32_t pf_scratch;
};

static uint32_t
rd(struct harness *h, uint16_t rid, unsigned bar, uint64_t off)
{
    uint8_t b[4];

    pv_sriov_mmio_read(h->dev, rid, bar, off, b, 4);
    return le32_get(b);
}

static void
take_snap(struct harness *h, struct snap *s)
{
    uint16_t pf = pv_sriov_pf_rid(h->dev);

    for (int i = 0; i < NVFS; i++) {
        unsigned k = 0;

        for (size_t r = 0; r < sizeof(bar0_regs) / sizeof(bar0_regs[0]); r++) {
            s->vf[i][k++] = rd(h, h->rid[i], 0, bar0_regs[r]);
        }
        for (unsigned o = 0; o < 3 * SWVF_MSIX_ENTRY_SIZE; o += 4) {
            s->vf[i][k++] = rd(h, h->rid[i], 3, SWVF_MSIX_TABLE_OFFSET + o);
        }
        s->vf[i][k++] = rd(h, h->rid[i], 3, SWVF_MSIX_PBA_OFFSET);
        for (unsigned r = 0; r < 5; r++) {
            s->pf[i][r] = rd(h, pf, 0, SWPF_VF_TABLE + (uint64_t)i * SWPF_VF_ENTRY_SIZE + 4 * r);
        }
    }
    s->pf_scratch = rd(h, pf, 0, SWPF_REG_SCRATCH);
}

/* Nothing but VF @actor (and its CLAMPED mirror in the PF; all its settings when @pf_op) changed. */
static void
compare_snap(const struct snap *a, const struct snap *b, int actor, bool pf_op)
{
    for (int i = 0; i < NVFS; i++) {
        if (i != actor) {
            CHECK(memcmp(a->vf[i], b->vf[i], sizeof(a->vf[i])) == 0);
        }
        for (unsigned r = 0; r < 4; r++) {
            CHECK(a->pf[i][r] == b->pf[i][r] || (pf_op && i == actor));
        }
        CHECK(i == actor || a->pf[i][4] == b->pf[i][4]);
    }
    CHECK(a->pf_scratch == b->pf_scratch);
}

static void
check_memory(struct harness *h)
{
    static uint8_t now[MEM];

    for (int d = 0; d < 2; d++) {
        CHECK(vsp_gmem_read(h->mem[d], 0, now, MEM) == 0);
        CHECK(memcmp(now, h->shadow[d], MEM) == 0);
    }
}

/* ---- operations ------------------------------------------------------------------------- */

static const uint16_t hot_offsets[] = {
    SWVF_REG_SCRATCH,
    0x100,
    0x104,
    0x108,
    0x10c,
    0x110,
    0x114,
    SWVF_REG_DMA_DOORBELL,
    SWVF_REG_DMA_STATUS,
    SWVF_REG_PRIV_QUEUES,
    SWVF_REG_PRIV_RATE,
    0x0,
    0x1ffc,
    0x3ffc,
};

static uint64_t
pick_addr(struct harness *h, struct input *in, int vf, bool *msix)
{
    uint32_t sel = take(in, 1);

    *msix = (sel & 0x80) != 0;
    if (*msix) {
        return h->bar3 + (uint64_t)vf * h->slot3 + (take(in, 1) & 1 ? SWVF_MSIX_PBA_OFFSET : 0) + take(in, 1) % 0x40;
    }
    if (sel & 0x40) {
        return h->bar0 + (uint64_t)vf * h->slot0 + take(in, 2) % h->slot0;
    }
    return h->bar0 + (uint64_t)vf * h->slot0 + hot_offsets[sel % (sizeof(hot_offsets) / sizeof(hot_offsets[0]))] +
           (sel & 0x20 ? (sel >> 3) % 4 : 0);
}

static void
op_mmio(struct harness *h, struct input *in, bool write)
{
    static const uint32_t lens[] = {4, 4, 4, 8, 1, 2, 3, 5};
    int vf = (int)(take(in, 1) % NVFS);
    bool msix;
    uint64_t addr = pick_addr(h, in, vf, &msix);
    uint32_t len = lens[take(in, 1) % 8];
    uint8_t b[8];
    int rc;

    for (unsigned i = 0; i < sizeof(b); i++) {
        b[i] = (uint8_t)take(in, 1);
    }
    h->actor = vf;
    if (write) {
        rc = pv_platform_write(h->plat, addr, b, len);
    } else {
        rc = pv_platform_read(h->plat, addr, b, len);
    }
    h->actor = -1;
    (void)rc;
}

/* Program a transfer the way a driver does, then ring the doorbell; check the outcome. */
static void
op_dma(struct harness *h, struct input *in)
{
    int vf = (int)(take(in, 1) % NVFS);
    uint64_t regs = h->bar0 + (uint64_t)vf * h->slot0;
    uint32_t src = take(in, 3) % (MEM + MEM / 4), dst = take(in, 3) % (MEM + MEM / 4);
    uint32_t len = take(in, 1) & 0x80 ? take(in, 3) % (SWVF_DMA_MAX_LEN + 2) : take(in, 2) % 0x2000;
    uint32_t ctrl = take(in, 1) & 1 ? SWVF_DMA_CTRL_IRQ | (take(in, 1) % 4) << SWVF_DMA_CTRL_VECTOR_SHIFT : 0;
    uint8_t b[4];
    uint32_t before_count, st;

    h->actor = vf;
    le32_put(b, SWVF_DMA_STS_W1C);
    pv_platform_write(h->plat, regs + SWVF_REG_DMA_STATUS, b, 4);
    le32_put(b, src);
    pv_platform_write(h->plat, regs + SWVF_REG_DMA_SRC_LO, b, 4);
    le32_put(b, 0);
    pv_platform_write(h->plat, regs + SWVF_REG_DMA_SRC_HI, b, 4);
    pv_platform_write(h->plat, regs + SWVF_REG_DMA_DST_HI, b, 4);
    le32_put(b, dst);
    pv_platform_write(h->plat, regs + SWVF_REG_DMA_DST_LO, b, 4);
    le32_put(b, len);
    pv_platform_write(h->plat, regs + SWVF_REG_DMA_LEN, b, 4);
    le32_put(b, ctrl);
    pv_platform_write(h->plat, regs + SWVF_REG_DMA_CTRL, b, 4);
    pv_platform_read(h->plat, regs + SWVF_REG_DMA_COUNT, b, 4);
    before_count = le32_get(b);
    h->fault_seen = false;
    le32_put(b, SWVF_DMA_GO);
    pv_platform_write(h->plat, regs + SWVF_REG_DMA_DOORBELL, b, 4);
    pv_platform_read(h->plat, regs + SWVF_REG_DMA_STATUS, b, 4);
    st = le32_get(b);
    h->actor = -1;
    if (st & SWVF_DMA_STS_FAULT) {
        CHECK(h->fault_seen);
        pv_platform_read(h->plat, regs + SWVF_REG_DMA_FAULT_LO, b, 4);
        CHECK(le32_get(b) == (uint32_t)h->fault_iova);
    }
    if (st & SWVF_DMA_STS_DONE) {
        CHECK(!h->fault_seen && len >= 1 && len <= SWVF_DMA_MAX_LEN);
        pv_platform_read(h->plat, regs + SWVF_REG_DMA_COUNT, b, 4);
        CHECK(le32_get(b) == before_count + 1);
    }
    CHECK(!(st & SWVF_DMA_STS_BADLEN) || len == 0 || len > SWVF_DMA_MAX_LEN);
    h->fault_seen = false;
    check_memory(h);
}

static void
op_config(struct harness *h, struct input *in)
{
    int vf = (int)(take(in, 1) % NVFS);
    uint8_t b[2];

    h->actor = vf;
    if (take(in, 1) & 1) {
        le16_put(b, (uint16_t)(take(in, 1) & 1 ? PCI_COMMAND_MASTER : 0));
        pv_sriov_config_write(h->dev, h->rid[vf], PCI_COMMAND, b, 2);
    } else {
        /* MSI-X Message Control at 0x50 + 2 in the default VF layout: Enable, Function Mask. */
        le16_put(b, (uint16_t)((take(in, 1) & 3) << 14));
        pv_sriov_config_write(h->dev, h->rid[vf], 0x52, b, 2);
    }
    h->actor = -1;
}

/* Point a vector at one of the two IRTEs (its own or the other VF's) and unmask it. */
static void
op_msix_entry(struct harness *h, struct input *in)
{
    int vf = (int)(take(in, 1) % NVFS);
    unsigned v = take(in, 1) % 3, which = take(in, 1) & 1;
    uint64_t e = h->bar3 + (uint64_t)vf * h->slot3 + SWVF_MSIX_TABLE_OFFSET + v * SWVF_MSIX_ENTRY_SIZE;
    uint64_t addr;
    uint32_t data;
    uint8_t b[4];

    vsp_msi_compose(h->handle[which], &addr, &data);
    h->actor = vf;
    le32_put(b, (uint32_t)addr);
    pv_platform_write(h->plat, e, b, 4);
    le32_put(b, (uint32_t)(addr >> 32));
    pv_platform_write(h->plat, e + 4, b, 4);
    le32_put(b, data);
    pv_platform_write(h->plat, e + 8, b, 4);
    le32_put(b, take(in, 1) & 1);
    pv_platform_write(h->plat, e + 12, b, 4);
    h->actor = -1;
}

static void
op_misc(struct harness *h, struct input *in)
{
    uint8_t b[4];
    int vf = (int)(take(in, 1) % NVFS);

    switch (take(in, 1) % 3) {
    case 0:
        h->actor = vf;
        CHECK(pv_sriov_function_reset(h->dev, h->rid[vf]) == 0);
        h->actor = -1;
        break;
    case 1:
        /* The PF lowers or raises VF @vf's queue limit: that VF may be clamped at once. */
        le32_put(b, take(in, 1) % 12);
        h->actor = vf;
        h->pf_op = true;
        pv_sriov_mmio_write(h->dev, pv_sriov_pf_rid(h->dev), 0,
                            SWPF_VF_TABLE + (uint64_t)vf * SWPF_VF_ENTRY_SIZE + SWPF_VF_QUEUE_LIMIT, b, 4);
        h->actor = -1;
        break;
    default:
        /* Low memory, below both MMIO windows: nothing decodes there. */
        CHECK(pv_platform_read(h->plat, 0x1000 + take(in, 2), b, 4) == PCIVIRT_ENOENT);
        CHECK(le32_get(b) == 0xffffffffu);
        break;
    }
}

static void
one_op(struct harness *h, struct input *in)
{
    static struct snap before, after;
    uint32_t op = take(in, 1) % 10;
    const uint8_t *p = in->p;
    int actor;

    h->pf_op = false;
    take_snap(h, &before);
    switch (op) {
    case 0:
    case 1:
    case 2: op_mmio(h, in, true); break;
    case 3: op_mmio(h, in, false); break;
    case 4:
    case 5: op_dma(h, in); break;
    case 6: op_config(h, in); break;
    case 7: op_msix_entry(h, in); break;
    default: op_misc(h, in); break;
    }
    take_snap(h, &after);
    /* The VF the operation named is the only one allowed to change. */
    actor = p < in->p ? (int)(*p % NVFS) : 0;
    compare_snap(&before, &after, actor, h->pf_op);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct harness h;
    struct input in = {data, size};

    memset(&h, 0, sizeof(h));
    setup(&h);
    for (unsigned ops = 0; in.n > 0 && ops < 64; ops++) {
        one_op(&h, &in);
    }
    check_memory(&h);
    teardown(&h);
    return 0;
}
