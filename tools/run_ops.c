/*
 * tools/run_ops.c - the workload operations of a VM's VF driver
 * (docs/SCENARIO.md "workloads"), the PF-side MAC change, and the hostile
 * guest's extras (malformed packets, DMA outside its RAM).
 *
 * An operation runs on the runner's thread through the guest's bus driver and
 * the sample VF driver (src/guest); the VM's MMIO exits go straight into its
 * vPCI host, so everything the operation causes in the stack - an IOMMU
 * translation, an interrupt through remapping into the VM's controller - has
 * happened when the call returns.
 *
 * Every operation checks its result against an oracle outside the path it used:
 * the device's registers read directly through its bus operations (MAC, PF
 * limits), the profile (BAR sizes), the PF driver's own view of a block
 * (pf_admin_get_vf_block), the other VMs' memory and interrupt counters.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dev/regs.h"
#include "pf/pf.h"
#include "run_internal.h"
#include "util/le.h"

/* ---- oracles ------------------------------------------------------------------------- */

static struct run_dev *
dev_of(struct run *r, int pf)
{
    return pf >= 0 && (size_t)pf < r->n_devs ? &r->devs[pf] : NULL;
}

/* The MAC in the device's VF register (not through the guest path). */
static void
device_mac(struct run_dev *d, uint32_t vf, uint8_t mac[6])
{
    uint8_t lo[4] = {0}, hi[4] = {0};
    uint16_t rid = 0;

    pv_sriov_vf_rid(d->dev, vf, &rid);
    pv_sriov_mmio_read(d->dev, rid, (unsigned)d->prof->vf_regs_bar, SWVF_REG_MAC_LO, lo, 4);
    pv_sriov_mmio_read(d->dev, rid, (unsigned)d->prof->vf_regs_bar, SWVF_REG_MAC_HI, hi, 4);
    memcpy(mac, lo, 4);
    memcpy(mac + 4, hi, 2);
}

static uint32_t
pf_queue_limit(struct run_dev *d, uint32_t vf)
{
    uint8_t b[4] = {0};

    pv_sriov_mmio_read(d->dev, pv_sriov_pf_rid(d->dev), (unsigned)d->prof->pf_regs_bar,
                       SWPF_VF_TABLE + (uint64_t)vf * SWPF_VF_ENTRY_SIZE + SWPF_VF_QUEUE_LIMIT, b, 4);
    return le32_get(b);
}

/* FNV-1a over [gpa, gpa + len) of another VM's memory (unmapped pages read as zero). */
static uint64_t
mem_hash(struct run_vm *v, uint64_t gpa, uint64_t len)
{
    uint8_t buf[4096];
    uint64_t h = 1469598103934665603ull;

    for (uint64_t off = 0; off < len && gpa + off < v->mem_bytes; off += sizeof(buf)) {
        uint64_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);

        if (gpa + off + n > v->mem_bytes) {
            n = v->mem_bytes - gpa - off;
        }
        vsp_gmem_read(vsp_vm_memory(v->vm), gpa + off, buf, n);
        for (uint64_t i = 0; i < n; i++) {
            h = (h ^ buf[i]) * 1099511628211ull;
        }
    }
    return h;
}

static void
others_hash(struct run *r, struct run_vm *self, uint64_t gpa, uint64_t len, uint64_t *out)
{
    for (size_t i = 0; i < r->n_vms; i++) {
        out[i] = &r->vms[i] == self ? 0 : mem_hash(&r->vms[i], gpa, len);
    }
}

static unsigned
others_changed(struct run *r, struct run_vm *self, uint64_t gpa, uint64_t len, const uint64_t *before)
{
    unsigned changed = 0;

    for (size_t i = 0; i < r->n_vms; i++) {
        changed += &r->vms[i] != self && mem_hash(&r->vms[i], gpa, len) != before[i];
    }
    return changed;
}

/* ---- the operations ------------------------------------------------------------------ */

struct op_ctx {
    struct run *r;
    struct run_vm *v;
    struct run_dev *d;
    struct gvpci_dev *dev;
    struct swvf *f;
    uint32_t vf;
    uint64_t rng;
};

static void
op_enumerate(struct op_ctx *c)
{
    uint32_t val = 0, ptr = 0, caps = 0, ecaps = 0, hops = 0;
    bool msix = false, sriov = false, ok = true;

    for (uint32_t off = 0; off < 4096 && ok; off += 4) {
        ok = gvpci_cfg_read(c->dev, off, 4, &val) == 0;
    }
    gvpci_cfg_read(c->dev, 0x34, 1, &ptr);
    for (ptr &= 0xFC; ok && ptr >= 0x40 && hops++ < 48; caps++) {
        gvpci_cfg_read(c->dev, ptr, 2, &val);
        msix = msix || (val & 0xFF) == 0x11;
        ptr = (val >> 8) & 0xFC;
    }
    for (ptr = 0x100, hops = 0; ok && ptr >= 0x100 && hops++ < 512; ecaps++) {
        gvpci_cfg_read(c->dev, ptr, 4, &val);
        if (val == 0 || val == 0xFFFFFFFFu) {
            break;
        }
        sriov = sriov || (val & 0xFFFF) == 0x0010;
        ptr = (val >> 20) & 0xFFC;
    }
    run_check(c->r, RUN_INV_GUEST_OPS, ok && hops < 512, "%s: VF %u: config space read and capability walk (%u caps)",
              c->v->sv->name, c->vf, caps);
    run_check(c->r, RUN_INV_GUEST_OPS, msix == (c->d->prof->vf_msix_bar >= 0),
              "%s: VF %u: MSI-X capability %s in the guest's view", c->v->sv->name, c->vf, msix ? "present" : "absent");
    run_check(c->r, RUN_INV_GUEST_OPS, !sriov, "%s: VF %u: the SR-IOV capability is not exposed to the guest",
              c->v->sv->name, c->vf);
}

/* Size one BAR through config space: Memory Space off, all ones, read back, restore. */
static uint64_t
size_bar(struct gvpci_dev *dev, unsigned bar, bool *is64)
{
    uint32_t off = 0x10 + 4 * bar, orig = 0, lo = 0, hi_orig = 0, hi = 0xFFFFFFFFu;

    gvpci_cfg_read(dev, off, 4, &orig);
    *is64 = (orig & 0x6) == 0x4;
    gvpci_cfg_write(dev, off, 4, 0xFFFFFFFFu);
    gvpci_cfg_read(dev, off, 4, &lo);
    gvpci_cfg_write(dev, off, 4, orig);
    if (*is64) {
        gvpci_cfg_read(dev, off + 4, 4, &hi_orig);
        gvpci_cfg_write(dev, off + 4, 4, 0xFFFFFFFFu);
        gvpci_cfg_read(dev, off + 4, 4, &hi);
        gvpci_cfg_write(dev, off + 4, 4, hi_orig);
    }
    if ((lo & ~0xFu) == 0) {
        return 0;
    }
    return ~(((uint64_t)hi << 32) | (lo & ~0xFu)) + 1;
}

static void
op_bar_setup(struct op_ctx *c)
{
    uint32_t cmd = 0, id = 0, idx = 0;

    gvpci_cfg_read(c->dev, 0x04, 2, &cmd);
    gvpci_cfg_write(c->dev, 0x04, 2, cmd & ~0x2u);
    for (unsigned b = 0; b < 6; b++) {
        bool is64 = false;
        uint64_t size = size_bar(c->dev, b, &is64), gpa = 0, gsize = 0;

        gvpci_bar(c->dev, b, &gpa, &gsize);
        run_check(c->r, RUN_INV_GUEST_OPS, size == c->d->prof->vf_bar[b].size,
                  "%s: VF %u: BAR%u sizes to %llu bytes (profile: %llu)", c->v->sv->name, c->vf, b,
                  (unsigned long long)size, (unsigned long long)c->d->prof->vf_bar[b].size);
        b += is64;
    }
    gvpci_cfg_write(c->dev, 0x04, 2, cmd | 0x2u);
    gvpci_mmio_read32(c->dev, (unsigned)c->d->prof->vf_regs_bar, SWVF_REG_ID, &id);
    gvpci_mmio_read32(c->dev, (unsigned)c->d->prof->vf_regs_bar, SWVF_REG_VF_INDEX, &idx);
    run_check(c->r, RUN_INV_GUEST_OPS, id == SWVF_ID_MAGIC && idx == c->vf,
              "%s: VF %u: after decoding is re-enabled BAR%d answers as VF %u (id 0x%08x)", c->v->sv->name, c->vf,
              c->d->prof->vf_regs_bar, idx, id);
}

static void
pattern(struct op_ctx *c, uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)run_rand(&c->rng);
    }
}

static void
op_block(struct op_ctx *c, const struct scenario_op *op)
{
    uint8_t data[128], back[128], pf[128];
    uint32_t got = 0, pflen = 0;
    bool write = op->kind != SCENARIO_OP_BLOCK_READ, read = op->kind != SCENARIO_OP_BLOCK_WRITE;
    int rc = 0;

    pattern(c, data, op->length);
    if (write) {
        rc = gvpci_write_block(c->dev, data, op->length, op->block);
        if (op->block == PF_BLOCK_ID_VF_INFO) {
            run_check(c->r, RUN_INV_GUEST_OPS, rc != 0, "%s: VF %u: the PF refuses a guest write to its block 0",
                      c->v->sv->name, c->vf);
            write = false;
        } else {
            run_check(c->r, RUN_INV_GUEST_OPS, rc == 0, "%s: VF %u: write %u bytes of block %u (%s)", c->v->sv->name,
                      c->vf, op->length, op->block, pcivirt_strerror(rc));
        }
    }
    if (read) {
        rc = gvpci_read_block(c->dev, back, op->length, op->block, &got);
        run_check(c->r, RUN_INV_GUEST_OPS, rc == 0 && got == op->length,
                  "%s: VF %u: read %u bytes of block %u (got %u)", c->v->sv->name, c->vf, op->length, op->block, got);
        pf_admin_get_vf_block(c->d->pfdev, (uint16_t)c->vf, op->block, pf, sizeof(pf), &pflen);
        run_check(c->r, RUN_INV_GUEST_OPS, memcmp(back, pf, got < pflen ? got : pflen) == 0,
                  "%s: VF %u: block %u as read equals the PF's copy", c->v->sv->name, c->vf, op->block);
        if (write && rc == 0) {
            run_check(c->r, RUN_INV_GUEST_OPS, memcmp(back, data, op->length) == 0,
                      "%s: VF %u: block %u reads back what was written", c->v->sv->name, c->vf, op->block);
        }
        if (op->block == PF_BLOCK_ID_VF_INFO && got >= 6) {
            uint8_t mac[6];

            device_mac(c->d, c->vf, mac);
            run_check(c->r, RUN_INV_MAC, memcmp(back, mac, 6) == 0 && memcmp(c->f->mac, mac, 6) == 0,
                      "%s: VF %u: block 0 and the driver's MAC equal the device's MAC register", c->v->sv->name, c->vf);
        }
    }
    c->v->blocks++;
}

/* One transfer of up to 64 KiB per doorbell, checked against the pattern. */
static bool
dma_once(struct op_ctx *c, uint64_t src, uint64_t dst, uint32_t size)
{
    uint8_t buf[SWVF_DMA_MAX_LEN], back[SWVF_DMA_MAX_LEN];

    for (uint32_t off = 0; off < size; off += SWVF_DMA_MAX_LEN) {
        uint32_t n = size - off < SWVF_DMA_MAX_LEN ? size - off : SWVF_DMA_MAX_LEN;

        pattern(c, buf, n);
        if (gvpci_mem_write(c->dev, src + off, buf, n) != 0 || swvf_dma(c->dev, src + off, dst + off, n, false) != 0 ||
            gvpci_mem_read(c->dev, dst + off, back, n) != 0 || memcmp(buf, back, n) != 0) {
            return false;
        }
    }
    return true;
}

static void
op_dma(struct op_ctx *c, const struct scenario_op *op)
{
    uint64_t before[SCENARIO_MAX_VMS];
    uint64_t faults = vsp_event_log_total(c->r->log, VSP_EV_IOMMU_FAULT);
    uint64_t span = 2 * (uint64_t)op->size;
    uint32_t done = 0;

    others_hash(c->r, c->v, 0, span, before);
    while (done < op->count && dma_once(c, 0, op->size, op->size)) {
        done++;
    }
    c->v->dma_bytes += (uint64_t)done * op->size;
    run_check(c->r, RUN_INV_DMA, done == op->count, "%s: VF %u: %u of %u DMA transfers of %u bytes arrived intact",
              c->v->sv->name, c->vf, done, op->count, op->size);
    run_check(c->r, RUN_INV_DMA, others_changed(c->r, c->v, 0, span, before) == 0,
              "%s: VF %u: no other VM's memory changed at the DMA's addresses", c->v->sv->name, c->vf);
    run_check(c->r, RUN_INV_DMA, vsp_event_log_total(c->r->log, VSP_EV_IOMMU_FAULT) == faults,
              "%s: VF %u: no IOMMU fault during in-bounds DMA", c->v->sv->name, c->vf);
}

static void
irq_counts(struct run *r, uint64_t *out)
{
    for (size_t i = 0; i < r->n_vms; i++) {
        out[i] = r->vms[i].irqs;
    }
}

static void
op_interrupts(struct op_ctx *c, const struct scenario_op *op)
{
    uint64_t before[SCENARIO_MAX_VMS], after[SCENARIO_MAX_VMS];
    unsigned own = c->f->irqs, others = 0, foreign = (unsigned)c->v->irqs_foreign;

    irq_counts(c->r, before);
    for (uint32_t i = 0; i < op->count; i++) {
        if (swvf_dma(c->dev, 0, 64, 64, true) != 0) {
            break;
        }
    }
    irq_counts(c->r, after);
    for (size_t i = 0; i < c->r->n_vms; i++) {
        others += &c->r->vms[i] != c->v && after[i] != before[i];
    }
    run_check(c->r, RUN_INV_IRQ, c->f->irqs - own == op->count && c->v->irqs_foreign == foreign,
              "%s: VF %u: %u of %u MSI-X interrupts reached its driver's vector", c->v->sv->name, c->vf,
              c->f->irqs - own, op->count);
    run_check(c->r, RUN_INV_IRQ, others == 0, "%s: VF %u: no other VM received an interrupt (%u did)", c->v->sv->name,
              c->vf, others);
}

static void
op_mmio(struct op_ctx *c, const struct scenario_op *op)
{
    unsigned bar = (unsigned)c->d->prof->vf_regs_bar, bad = 0;
    uint32_t limit = pf_queue_limit(c->d, c->vf);

    for (uint32_t i = 0; i < op->count; i++) {
        uint32_t want = (uint32_t)run_rand(&c->rng), got = 0, q = 0;

        gvpci_mmio_write32(c->dev, bar, SWVF_REG_SCRATCH, want);
        gvpci_mmio_read32(c->dev, bar, SWVF_REG_SCRATCH, &got);
        /* The privileged page (trapped when the PF asks): a value above the PF's limit is clamped. */
        gvpci_mmio_write32(c->dev, bar, SWVF_REG_PRIV_QUEUES, limit + 1 + (i & 7));
        gvpci_mmio_read32(c->dev, bar, SWVF_REG_PRIV_QUEUES, &q);
        bad += got != want || q != limit;
    }
    c->v->mmio += op->count;
    run_check(c->r, RUN_INV_GUEST_OPS, bad == 0,
              "%s: VF %u: %u register round trips (scratch; queue count clamped to the PF's limit %u), %u wrong",
              c->v->sv->name, c->vf, op->count, limit, bad);
}

/* ---- PF-side MAC change: the holder must be told once and re-read ----------------------- */

/* Poll @v until @f has re-read its MAC @want times more than @base (bounded), then once more for duplicates. */
static void
await_mac(struct run *r, struct run_vm *v, struct swvf *f, unsigned base)
{
    for (int i = 0; i < RUN_SETTLE_ROUNDS && f->mac_reads == base; i++) {
        gvpci_bus_poll(v->bus, RUN_POLL_NS);
    }
    for (size_t i = 0; i < r->n_vms; i++) {
        if (r->vms[i].bus != NULL) {
            gvpci_bus_poll(r->vms[i].bus, i == 0 ? RUN_POLL_NS : 0);
        }
    }
}

bool
run_await_logged(struct run *r, enum vsp_event_type type, uint64_t before)
{
    const struct timespec tick = {0, 100000};
    const int64_t ticks = RUN_SETTLE_ROUNDS * (RUN_POLL_NS / 100000);

    for (int64_t i = 0; i < ticks && vsp_event_log_total(r->log, type) <= before; i++) {
        nanosleep(&tick, NULL);
    }
    return vsp_event_log_total(r->log, type) > before;
}

void
run_guest_pf_set_mac(struct run *r, struct run_dev *d, uint32_t vf, const uint8_t *mac_in, bool has_mac)
{
    struct run_vm *h = run_holder(r, d, vf);
    struct swvf *f = h != NULL ? swvf_of(run_guest_find(h, d->pf_id, vf)) : NULL;
    uint64_t before[SCENARIO_MAX_VMS];
    uint8_t mac[6], dev_mac[6];
    unsigned base = f != NULL ? f->mac_reads : 0, wrong = 0;
    uint64_t logged = vsp_event_log_total(r->log, VSP_EV_INVALIDATE);
    NTSTATUS st;

    if (has_mac) {
        memcpy(mac, mac_in, 6);
    } else {
        run_mac_seeded(r, ((uint64_t)d->pf_id << 32) | vf, mac);
    }
    for (size_t i = 0; i < r->n_vms; i++) {
        before[i] = run_guest_invalidations(&r->vms[i]);
    }
    st = pf_admin_set_vf_mac(d->pfdev, (uint16_t)vf, mac);
    run_check(r, RUN_INV_GUEST_OPS, NT_SUCCESS(st),
              "%s: the PF assigns VF %u MAC %02x:%02x:%02x:%02x:%02x:%02x (0x%08x)", d->sd->name, vf, mac[0], mac[1],
              mac[2], mac[3], mac[4], mac[5], (unsigned)st);
    if (f != NULL) {
        await_mac(r, h, f, base);
        run_await_logged(r, VSP_EV_INVALIDATE, logged);
        run_check(r, RUN_INV_MAC, memcmp(f->mac, mac, 6) == 0,
                  "%s: VF %u: the guest driver in %s re-read the MAC the PF set", d->sd->name, vf, h->sv->name);
        run_check(r, RUN_INV_EXACTLY_ONCE,
                  f->mac_reads - base == 1 && run_guest_invalidations(h) - before[h - r->vms] == 1,
                  "%s: VF %u: %s was told once (%u re-reads, %llu invalidations)", d->sd->name, vf, h->sv->name,
                  f->mac_reads - base, (unsigned long long)(run_guest_invalidations(h) - before[h - r->vms]));
        h->macs++;
        h->invalidations += run_guest_invalidations(h) - before[h - r->vms];
    }
    device_mac(d, vf, dev_mac);
    run_check(r, RUN_INV_MAC, memcmp(dev_mac, mac, 6) == 0, "%s: VF %u: the device's MAC register holds the new MAC",
              d->sd->name, vf);
    for (size_t i = 0; i < r->n_vms; i++) {
        wrong += &r->vms[i] != h && run_guest_invalidations(&r->vms[i]) != before[i];
    }
    run_check(r, RUN_INV_EXACTLY_ONCE, wrong == 0, "%s: VF %u: no other VM was told (%u were)", d->sd->name, vf, wrong);
}

/* ---- a hostile guest ------------------------------------------------------------------ */

static uint64_t
refusals(struct run *r)
{
    return vsp_event_log_total(r->log, VSP_EV_BAD_PACKET) + vsp_event_log_total(r->log, VSP_EV_GUEST_ERROR);
}

/* Garbage on the channel: too short, an unknown message type, a known type cut short. */
static void
send_malformed(struct run *r, struct run_vm *v)
{
    static const uint8_t packets[3][12] = {
        {0x01, 0x00},
        {0xEF, 0xBE, 0xAD, 0xDE, 0, 0, 0, 0, 0, 0, 0, 0},
        {0x44, 0x00, 0x49, 0x42, 0x01},
    };
    static const size_t lens[3] = {2, 12, 5};
    uint64_t base = refusals(r);
    unsigned sent = 0;

    for (unsigned i = 0; i < 3; i++) {
        sent += NT_SUCCESS(vmbus_channel_send(v->guest_ch, packets[i], lens[i], RUN_POLL_NS));
    }
    for (int i = 0; i < RUN_SETTLE_ROUNDS && refusals(r) - base < sent; i++) {
        gvpci_bus_poll(v->bus, RUN_POLL_NS);
    }
    v->malformed_sent += sent;
    run_check(r, RUN_INV_GUEST_OPS, refusals(r) - base >= sent,
              "%s: the stack refused and logged %llu of %u malformed packets", v->sv->name,
              (unsigned long long)(refusals(r) - base), sent);
}

/* A DMA aimed just past the VM's RAM: the IOMMU must fault it and nothing may land anywhere. */
static void
hostile_dma(struct op_ctx *c)
{
    uint64_t before[SCENARIO_MAX_VMS];
    uint64_t faults = vsp_event_log_total(c->r->log, VSP_EV_IOMMU_FAULT);
    struct vsp_event ev;
    int rc;

    others_hash(c->r, c->v, c->v->mem_bytes, 64, before);
    rc = swvf_dma(c->dev, 0, c->v->mem_bytes, 64, false);
    c->v->dma_faults += rc == PCIVIRT_EACCES;
    run_check(c->r, RUN_INV_DMA,
              rc == PCIVIRT_EACCES && vsp_event_log_total(c->r->log, VSP_EV_IOMMU_FAULT) == faults + 1 &&
                  vsp_event_log_find(c->r->log, VSP_EV_IOMMU_FAULT, VSP_EV_NONE, VSP_EV_NONE, vsp_vm_id(c->v->vm), &ev),
              "%s: VF %u: a DMA to 0x%llx (outside its RAM) faulted in the IOMMU (%s)", c->v->sv->name, c->vf,
              (unsigned long long)c->v->mem_bytes, pcivirt_strerror(rc));
    run_check(c->r, RUN_INV_DMA, others_changed(c->r, c->v, c->v->mem_bytes, 64, before) == 0,
              "%s: VF %u: the refused DMA wrote nothing into any other VM", c->v->sv->name, c->vf);
}

/* ---- the workload ------------------------------------------------------------------- */

static void
run_op(struct op_ctx *c, const struct scenario_op *op)
{
    switch (op->kind) {
    case SCENARIO_OP_ENUMERATE: op_enumerate(c); break;
    case SCENARIO_OP_BAR_SETUP: op_bar_setup(c); break;
    case SCENARIO_OP_DMA: op_dma(c, op); break;
    case SCENARIO_OP_BLOCK_READ:
    case SCENARIO_OP_BLOCK_WRITE:
    case SCENARIO_OP_BLOCK_EXCHANGE: op_block(c, op); break;
    case SCENARIO_OP_PF_SET_MAC: run_guest_pf_set_mac(c->r, c->d, c->vf, op->mac, op->has_mac); break;
    case SCENARIO_OP_INTERRUPTS: op_interrupts(c, op); break;
    case SCENARIO_OP_MMIO: op_mmio(c, op); break;
    default: run_check(c->r, RUN_INV_STEPS, false, "unknown workload operation %d", (int)op->kind); break;
    }
}

static void
run_ops(struct run *r, struct run_vm *v, const struct scenario_workload *w, const struct vsp_vf_info *info,
        uint64_t salt)
{
    struct op_ctx c = {.r = r, .v = v, .vf = info->vf_index, .rng = r->sc->options.seed ^ salt};

    c.d = dev_of(r, info->pf);
    c.dev = gvpci_bus_dev(v->bus, info->slot);
    c.f = swvf_of(c.dev);
    if (!run_check(r, RUN_INV_GUEST_OPS, c.d != NULL && c.f != NULL, "%s: VF %u in slot %u has its driver bound",
                   v->sv->name, info->vf_index, info->slot)) {
        return;
    }
    for (size_t o = 0; o < w->n_ops; o++) {
        run_op(&c, &w->ops[o]);
        v->ops++;
        if (v->misbehave & SCENARIO_GUEST_MALFORMED_PACKETS) {
            send_malformed(r, v);
        }
        gvpci_bus_poll(v->bus, 0);
        c.f = swvf_of(c.dev);
        if (c.f == NULL) {
            return;
        }
    }
    if (v->misbehave & SCENARIO_GUEST_DMA_OUTSIDE) {
        hostile_dma(&c);
    }
}

void
run_guest_workload(struct run *r, struct run_vm *v)
{
    const struct scenario_workload *w;
    struct vsp_vf_info info[VSP_VPCI_SLOTS];
    size_t n;

    if (v->sv->workload == SCENARIO_NONE || v->bus == NULL) {
        return;
    }
    w = &r->sc->workloads[v->sv->workload];
    run_guest_settle(v);
    for (uint32_t it = 0; it < w->iterations; it++) {
        n = vsp_vm_devices(v->vm, info, VSP_VPCI_SLOTS);
        for (size_t i = 0; i < n && i < VSP_VPCI_SLOTS; i++) {
            if (info[i].state == VSP_VF_ASSIGNED) {
                run_ops(r, v, w, &info[i], ((uint64_t)it << 40) ^ ((uint64_t)vsp_vm_id(v->vm) << 20) ^ v->ops);
            }
        }
        run_progress(r, v->sv->name);
    }
}
