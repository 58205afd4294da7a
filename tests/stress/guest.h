/*
 * tests/stress/guest.h - a guest thread: one VM's vPCI bus and sample VF driver
 * hammering its VFs while the chaos thread changes the world under it.
 *
 * Why it is shaped so.  A guest is its own oracle: it checks each answer
 * against what it wrote itself (virtual config registers, the scratch register,
 * its mailbox block, its DMA buffers), against the device's fixed facts (IDs,
 * the privileged register clamp) and against the window of MACs the chaos
 * thread published around the read.  What it wrote it keeps per exposure
 * (serial number): a rebalance, cancelled stop or MAC change must leave every
 * one of those values in place; only a new exposure (surprise removal, eject,
 * re-attach, then a new assignment) starts from a clean VF.
 *
 * Failure rules.  An operation that fails or returns something else is
 * acceptable only when the VF left this VM meanwhile: the stack no longer
 * lists this serial in this slot after the operation (the guest has not
 * processed the bus relations yet).  In particular a trapped access is never
 * refused, also while a mitigated-range change is on its way to the stack: the
 * PF serves ranges it had before the change until the stack re-read them (the
 * grace rule, docs/CONTRACT-DECISIONS.md 6.12).  While the driver agreed to a stop, the
 * guest does not use the device, but now and then probes it read-only: such a
 * read must either fail with an error code or return the right value (an
 * unclaimed MMIO read returns all-ones, PCI's master abort) - never a wrong one.
 */
#ifndef PCIVIRT_TESTS_STRESS_GUEST_H
#define PCIVIRT_TESTS_STRESS_GUEST_H

#include <sched.h>

#include "stress.h"

#define CAP_PCIE 0x10u
#define CMD_MEMORY_MASTER 0x0006u
#define DMA_BASE 0x100000ull
#define DMA_SLOT_SPAN 0x4000ull
#define DMA_MAX 1024u

/* Whether exposure @sl of slot @slot is gone from this VM (then a failed operation is fine). */
static bool
gone(struct guest *g, unsigned slot, const struct gslot *sl)
{
    struct vsp_vf_info info;

    return vsp_vm_slot_lookup(vsp_stack_vm_vm(g->vm), slot, &info) != 0 || info.serial != sl->serial;
}

/* An operation's result @ok (@rc its return code): fine, tolerated, or the test's failure. */
static bool
judge(struct guest *g, unsigned slot, struct gslot *sl, bool ok, int rc, const char *what, uint64_t got, uint64_t want)
{
    if (ok) {
        return true;
    }
    if (gone(g, slot, sl)) {
        g->st.ops_removed++;
        return false;
    }
    stress_fail(g->w, __LINE__, "guest %u slot %u (VF %u, serial %u): %s: got 0x%llx, expected 0x%llx (rc %d)", g->idx,
                slot, sl->vf, sl->serial, what, (unsigned long long)got, (unsigned long long)want, rc);
    return false;
}

/* JUDGE() - judge() inside an operation (g, s, sl and rc in scope). */
#define JUDGE(ok, what, got, want) judge(g, s, sl, (ok), rc, (what), (got), (want))

/* Bring the slot table in line with the bus: a new serial is a new exposure. */
static void
guest_sync(struct guest *g)
{
    for (unsigned s = 0; s < GVPCI_SLOTS; s++) {
        struct gvpci_dev *dev = gvpci_bus_dev(g->bus, s);
        struct swvf *sw = swvf_of(dev);
        struct gslot *sl = &g->slot[s];

        if (sw == NULL) {
            sl->serial = 0;
            continue;
        }
        if (gvpci_dev_desc(dev)->serial != sl->serial) {
            memset(sl, 0, sizeof(*sl));
            sl->serial = gvpci_dev_desc(dev)->serial;
            sl->vf = sw->vf_index;
        }
    }
}

/* ---- operations on a running VF ------------------------------------------------------------- */

static void
op_ids(struct guest *g, unsigned s, struct gslot *sl, struct gvpci_dev *dev)
{
    uint32_t v = 0, want = (uint32_t)g->w->p.prof->vendor_id | (uint32_t)g->w->p.prof->vf_device_id << 16;
    int rc = gvpci_cfg_read(dev, 0x00, 4, &v);

    if (JUDGE(rc == 0 && v == want, "config Vendor/Device ID", rc == 0 ? v : (uint64_t)rc, want)) {
        rc = gvpci_cfg_read(dev, 0x04, 2, &v);
        JUDGE(rc == 0 && (v & CMD_MEMORY_MASTER) == CMD_MEMORY_MASTER, "Command (Memory, Bus Master)",
              rc == 0 ? v : (uint64_t)rc, CMD_MEMORY_MASTER);
    }
}

/* Interrupt Line: the stack emulates it as 0 whatever the guest writes (docs/STACK.md, contract.md 8.1). */
static void
op_intline(struct guest *g, unsigned s, struct gslot *sl, struct gvpci_dev *dev)
{
    uint32_t v = 0xFF;
    int rc = gvpci_cfg_write(dev, 0x3C, 1, rnd(&g->rng) & 0xFF);

    rc = rc != 0 ? rc : gvpci_cfg_read(dev, 0x3C, 2, &v);
    JUDGE(rc == 0 && v == 0, "Interrupt Line/Pin read 0", rc == 0 ? v : (uint64_t)rc, 0);
}

/*
 * A PCIe register the PF virtualizes for a VF (pf/cfgperm.c: Device Control
 * bits 0-14, Device Control 2 but ARI Forwarding): what the guest wrote sticks,
 * across rebalances too.  First the old value, then a new one.
 */
static void
op_pcie_reg(struct guest *g, unsigned s, struct gslot *sl, struct gvpci_dev *dev, unsigned idx)
{
    static const uint32_t off[2] = {0x08, 0x28}, mask[2] = {0x7FFF, 0xFFDF};
    static const char *const what[2][2] = {{"Device Control kept", "Device Control written"},
                                           {"Device Control 2 kept", "Device Control 2 written"}};
    uint32_t v = 0, nv = rnd(&g->rng) & mask[idx];
    int rc = 0;

    if (sl->pcie == 0) {
        sl->pcie = gvpci_find_cap(dev, CAP_PCIE);
        if (sl->pcie == 0) {
            JUDGE(false, "PCIe capability found", 0, 1);
            return;
        }
    }
    if (sl->have_pcie[idx]) {
        rc = gvpci_cfg_read(dev, sl->pcie + off[idx], 2, &v);
        if (!JUDGE(rc == 0 && v == sl->pcie_reg[idx], what[idx][0], rc == 0 ? v : (uint64_t)rc, sl->pcie_reg[idx])) {
            return;
        }
    }
    rc = gvpci_cfg_write(dev, sl->pcie + off[idx], 2, nv);
    rc = rc != 0 ? rc : gvpci_cfg_read(dev, sl->pcie + off[idx], 2, &v);
    if (JUDGE(rc == 0 && v == nv, what[idx][1], rc == 0 ? v : (uint64_t)rc, nv)) {
        sl->pcie_reg[idx] = (uint16_t)nv;
        sl->have_pcie[idx] = true;
    }
}

static void
op_devctl(struct guest *g, unsigned s, struct gslot *sl, struct gvpci_dev *dev)
{
    op_pcie_reg(g, s, sl, dev, 0);
}

static void
op_devctl2(struct guest *g, unsigned s, struct gslot *sl, struct gvpci_dev *dev)
{
    op_pcie_reg(g, s, sl, dev, 1);
}

/* Block 0 (and the BAR0 MAC registers): a MAC the chaos thread gave this VF around the read. */
static void
op_mac(struct guest *g, unsigned s, struct gslot *sl, struct gvpci_dev *dev)
{
    struct stress *w = g->w;
    uint32_t lo = atomic_load(&w->mac_committed[sl->vf % NUM_VFS]);
    uint8_t buf[16], mac[6];
    uint32_t got = 0, r_lo = 0, r_hi = 0, hi;
    int rc = gvpci_read_block(dev, buf, sizeof(buf), SWVF_BLOCK_MAC, &got);

    rc = rc != 0 ? rc : gvpci_mmio_read32(dev, 0, SWVF_REG_MAC_LO, &r_lo);
    rc = rc != 0 ? rc : gvpci_mmio_read32(dev, 0, SWVF_REG_MAC_HI, &r_hi);
    hi = atomic_load(&w->mac_started[sl->vf % NUM_VFS]);
    g->st.mac_reads++;
    if (!JUDGE(rc == 0 && got == sizeof(buf), "block 0 read", rc == 0 ? got : (uint64_t)rc, sizeof(buf))) {
        return;
    }
    if (!JUDGE(mac_valid(buf, sl->vf, lo, hi), "block 0 MAC inside the published window",
               (uint64_t)buf[2] << 24 | (uint64_t)buf[3] << 16 | (uint64_t)buf[4] << 8 | buf[5], lo)) {
        return;
    }
    memcpy(mac, &r_lo, 4);
    mac[4] = (uint8_t)r_hi;
    mac[5] = (uint8_t)(r_hi >> 8);
    JUDGE(mac_valid(mac, sl->vf, lo, hi), "BAR0 MAC registers inside the published window", (uint64_t)r_hi << 32 | r_lo,
          lo);
}

/* Block 1, the VF-writable mailbox: the last write reads back, zero-padded (contract.md 6.3). */
static void
op_mailbox(struct guest *g, unsigned s, struct gslot *sl, struct gvpci_dev *dev)
{
    uint8_t buf[128], want[128] = {0};
    uint32_t got = 0, len = 1 + rnd_below(&g->rng, 128);
    int rc = gvpci_read_block(dev, buf, sizeof(buf), PF_BLOCK_ID_MAILBOX, &got);

    memcpy(want, sl->mbox, sl->mbox_len);
    if (!JUDGE(rc == 0 && got == sizeof(buf) && memcmp(buf, want, sizeof(buf)) == 0, "mailbox block kept",
               rc == 0 ? got : (uint64_t)rc, sl->mbox_len)) {
        return;
    }
    for (uint32_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)rnd(&g->rng);
    }
    rc = gvpci_write_block(dev, buf, len, PF_BLOCK_ID_MAILBOX);
    if (JUDGE(rc == 0, "mailbox block write", (uint64_t)rc, 0)) {
        memcpy(sl->mbox, buf, len);
        sl->mbox_len = len;
    }
}

/* BAR0 scratch (page 0: direct or trapped, as the PF's ranges say - the result must not differ). */
static void
op_scratch(struct guest *g, unsigned s, struct gslot *sl, struct gvpci_dev *dev)
{
    uint32_t v = 0, nv = (uint32_t)rnd(&g->rng);
    int rc;

    if (sl->have_scratch) {
        rc = gvpci_mmio_read32(dev, 0, SWVF_REG_SCRATCH, &v);
        if (!JUDGE(rc == 0 && v == sl->scratch, "scratch kept", rc == 0 ? v : (uint64_t)rc, sl->scratch)) {
            return;
        }
    }
    rc = gvpci_mmio_write32(dev, 0, SWVF_REG_SCRATCH, nv);
    rc = rc != 0 ? rc : gvpci_mmio_read32(dev, 0, SWVF_REG_SCRATCH, &v);
    if (JUDGE(rc == 0 && v == nv, "scratch written", rc == 0 ? v : (uint64_t)rc, nv)) {
        sl->scratch = nv;
        sl->have_scratch = true;
    }
}

/* The privileged page (trapped by default): the device clamps queue pairs to 1..the PF's limit (dev/vf_regs.c). */
static void
op_priv(struct guest *g, unsigned s, struct gslot *sl, struct gvpci_dev *dev)
{
    uint32_t v = 0, nv = rnd_below(&g->rng, 32);
    uint32_t want = nv < 1 ? 1 : nv < SWPF_QUEUE_LIMIT_DEFAULT ? nv : SWPF_QUEUE_LIMIT_DEFAULT;
    int rc = gvpci_mmio_write32(dev, 0, SWVF_REG_PRIV_QUEUES, nv);

    rc = rc != 0 ? rc : gvpci_mmio_read32(dev, 0, SWVF_REG_PRIV_QUEUES, &v);
    JUDGE(rc == 0 && v == want, "privileged queue register clamped", rc == 0 ? v : (uint64_t)rc, want);
}

/* DMA inside the VM: the engine copies exactly, through the IOMMU, and raises the MSI-X once. */
static void
op_dma(struct guest *g, unsigned s, struct gslot *sl, struct gvpci_dev *dev)
{
    uint8_t src[DMA_MAX], dst[DMA_MAX];
    uint32_t len = 1 + rnd_below(&g->rng, DMA_MAX);
    uint64_t a = DMA_BASE + s * DMA_SLOT_SPAN, b = a + DMA_SLOT_SPAN / 2;
    bool irq = rnd_below(&g->rng, 2) == 0;
    struct swvf *sw = swvf_of(dev);
    unsigned irqs = sw->irqs;
    int rc;

    for (uint32_t i = 0; i < len; i++) {
        src[i] = (uint8_t)rnd(&g->rng);
    }
    memset(dst, 0, len);
    rc = gvpci_mem_write(dev, a, src, len);
    rc = rc != 0 ? rc : gvpci_mem_write(dev, b, dst, len);
    if (!JUDGE(rc == 0, "guest memory write", (uint64_t)rc, 0)) {
        return;
    }
    rc = swvf_dma(dev, a, b, len, irq);
    if (!JUDGE(rc == 0, "DMA", (uint64_t)rc, 0)) {
        atomic_fetch_add(&g->w->dma_gone, 1);
        return;
    }
    g->st.dma++;
    rc = gvpci_mem_read(dev, b, dst, len);
    if (!JUDGE(rc == 0 && memcmp(src, dst, len) == 0, "DMA result", (uint64_t)rc, len)) {
        return;
    }
    g->st.irqs += irq ? 1 : 0;
    JUDGE(swvf_of(dev) == sw && sw->irqs == irqs + (irq ? 1u : 0u), "MSI-X interrupts after DMA", sw->irqs,
          irqs + (irq ? 1u : 0u));
}

/* ---- a VF whose driver agreed to a stop ---------------------------------------------------- */

static void
stop_probe(struct guest *g, unsigned s, struct gslot *sl, struct gvpci_dev *dev)
{
    struct stress *w = g->w;
    uint32_t v = 0, lo = atomic_load(&w->mac_committed[sl->vf % NUM_VFS]), got = 0;
    uint8_t buf[16];
    int rc;

    g->st.stop_probes++;
    switch (rnd_below(&g->rng, 3)) {
    case 0:
        rc = gvpci_cfg_read(dev, 0x00, 4, &v);
        JUDGE(rc != 0 || v == ((uint32_t)w->p.prof->vendor_id | (uint32_t)w->p.prof->vf_device_id << 16),
              "stop window: config read right or refused", v, 0);
        break;
    case 1:
        rc = gvpci_mmio_read32(dev, 0, SWVF_REG_ID, &v);
        JUDGE(rc != 0 || v == SWVF_ID_MAGIC || v == 0xFFFFFFFFu, "stop window: BAR0 read right, all-ones or refused", v,
              SWVF_ID_MAGIC);
        break;
    default:
        rc = gvpci_read_block(dev, buf, sizeof(buf), SWVF_BLOCK_MAC, &got);
        JUDGE(rc != 0 ||
                  (got == sizeof(buf) && mac_valid(buf, sl->vf, lo, atomic_load(&w->mac_started[sl->vf % NUM_VFS]))),
              "stop window: block read right or refused", got, sizeof(buf));
        break;
    }
    g->st.stop_probe_errors += rc != 0 ? 1u : 0u;
}

typedef void guest_op(struct guest *g, unsigned s, struct gslot *sl, struct gvpci_dev *dev);

static guest_op *const guest_ops[] = {op_ids,     op_intline, op_devctl, op_devctl2, op_mac,
                                      op_mailbox, op_scratch, op_priv,   op_dma};
static const char *const guest_op_phase[] = {"guest: config ID read",
                                             "guest: Interrupt Line write/read",
                                             "guest: Device Control write/read",
                                             "guest: Device Control 2 write/read",
                                             "guest: block 0 / MAC read",
                                             "guest: mailbox block write/read",
                                             "guest: scratch MMIO (page 0)",
                                             "guest: privileged MMIO (trap)",
                                             "guest: DMA"};

/* One operation on a random bound VF of this guest; false when there was nothing to do. */
static bool
guest_step(struct guest *g)
{
    unsigned cand[GVPCI_SLOTS], n = 0;

    for (unsigned s = 0; s < GVPCI_SLOTS; s++) {
        if (g->slot[s].serial != 0) {
            cand[n++] = s;
        }
    }
    if (n == 0) {
        return false;
    }
    unsigned s = cand[rnd_below(&g->rng, n)];
    struct gvpci_dev *dev = gvpci_bus_dev(g->bus, s);
    struct swvf *sw = swvf_of(dev);

    if (sw == NULL) {
        return false;
    }
    if (sw->stopped) {
        g->st.stopped_iters++;
        if (rnd_below(&g->rng, 8) == 0) {
            wd_phase(g->wd, "guest: read-only probe in a stop window");
            stop_probe(g, s, &g->slot[s], dev);
        }
        return false;
    }
    unsigned op = rnd_below(&g->rng, sizeof(guest_ops) / sizeof(guest_ops[0]));

    wd_phase(g->wd, guest_op_phase[op]);
    guest_ops[op](g, s, &g->slot[s], dev);
    g->st.ops++;
    return true;
}

/* Every bound driver answers the next query-stop as the chaos thread wants. */
static void
guest_set_answers(struct guest *g)
{
    NTSTATUS answer = atomic_load(&g->veto) ? STATUS_DEVICE_BUSY : STATUS_SUCCESS;

    for (unsigned s = 0; s < GVPCI_SLOTS; s++) {
        struct swvf *sw = swvf_of(gvpci_bus_dev(g->bus, s));

        if (sw != NULL) {
            sw->stop_answer = answer;
        }
    }
}

static void *
guest_main(void *arg)
{
    struct guest *g = arg;

    bool busy = true;

    wd_idle(g->wd, false);
    while (guest_park_point(g)) {
        int rc;

        guest_set_answers(g);
        wd_phase(g->wd, "guest: polling the vPCI bus");
        /* Nothing to do last time (no VF, or stopped): wait for the host instead of spinning. */
        rc = gvpci_bus_poll(g->bus, busy ? 0 : (int64_t)VSP_NS_PER_MS);
        if (rc < 0) {
            stress_fail(g->w, __LINE__, "guest %u: bus poll failed (%d)", g->idx, rc);
            break;
        }
        guest_sync(g);
        busy = guest_step(g);
        wd_tick(g->wd);
        if ((g->st.ops & 63u) == 0) {
            sched_yield(); /* let the host's threads in on two cores */
        }
    }
    wd_phase(g->wd, "guest: finished");
    wd_idle(g->wd, true);
    return NULL;
}

#endif /* PCIVIRT_TESTS_STRESS_GUEST_H */
