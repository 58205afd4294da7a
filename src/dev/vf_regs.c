/*
 * dev/vf_regs.c - what sits behind the BARs (register map: dev/regs.h).
 *
 * VF state is allocated on the first MMIO write to that VF and freed by its FLR,
 * so a VF nobody programs costs nothing; reads of an untouched VF answer the
 * reset values computed on the fly.  Registers are 32-bit; narrower and wider
 * accesses are split into the dwords they cover.  A partial write merges with
 * the register's current value, except for write-1-to-clear and write-only
 * registers, where unwritten bytes count as 0.
 *
 * The DMA engine runs synchronously in the thread that rings the doorbell, with
 * the device lock dropped (dev_internal.h): it snapshots its registers, copies
 * through the host's DMA port in 4 KiB chunks, then retakes the lock and
 * completes only if the same VF state still exists (an FLR or VF disable in the
 * meantime discards the completion - the reset VF must look clean).
 */
#include "dev/dev_internal.h"

#include <string.h>

#include "util/alloc.h"
#include "util/le.h"

#define DMA_CHUNK 4096u

/* ---- PF-side per-VF settings --------------------------------------------------- */

static void
settings_default(const struct pv_sriov_dev *dev, uint32_t index, struct vf_settings *s)
{
    s->mac[0] = 0x02; /* locally administered, unicast */
    s->mac[1] = 0x70;
    s->mac[2] = 0x76;
    s->mac[3] = (uint8_t)(dev->prof.pf_rid >> 8);
    s->mac[4] = (uint8_t)(index >> 8);
    s->mac[5] = (uint8_t)index;
    s->mac_set = false;
    s->queue_limit = SWPF_QUEUE_LIMIT_DEFAULT;
    s->rate_limit = SWPF_RATE_LIMIT_DEFAULT;
}

const struct vf_settings *
dev_settings_get(const struct pv_sriov_dev *dev, uint32_t index, struct vf_settings *tmp)
{
    const struct vf_settings *chunk = dev->settings[index / SETTINGS_CHUNK];

    if (chunk != NULL) {
        return &chunk[index % SETTINGS_CHUNK];
    }
    settings_default(dev, index, tmp);
    return tmp;
}

static struct vf_settings *
settings_mut(struct pv_sriov_dev *dev, uint32_t index)
{
    struct vf_settings **chunk = &dev->settings[index / SETTINGS_CHUNK];

    if (*chunk == NULL) {
        uint32_t base = index / SETTINGS_CHUNK * SETTINGS_CHUNK;

        *chunk = pv_malloc(SETTINGS_CHUNK * sizeof(**chunk));
        if (*chunk == NULL) {
            return NULL;
        }
        for (uint32_t i = 0; i < SETTINGS_CHUNK; i++) {
            settings_default(dev, base + i, &(*chunk)[i]);
        }
        dev->settings_bytes += SETTINGS_CHUNK * sizeof(**chunk);
    }
    return &(*chunk)[index % SETTINGS_CHUNK];
}

void
dev_settings_free(struct pv_sriov_dev *dev)
{
    for (uint32_t i = 0; i < dev->nchunks; i++) {
        pv_free(dev->settings[i]);
        dev->settings[i] = NULL;
    }
    dev->settings_bytes = 0;
}

/* ---- VF state ---------------------------------------------------------------- */

static unsigned
nvec(const struct pv_sriov_dev *dev)
{
    return dev->prof.vf_msix_bar >= 0 ? dev->prof.vf_msix_vectors : 0;
}

static struct vf_state *
state_get(struct pv_sriov_dev *dev, struct vf_slot *slot)
{
    size_t size = sizeof(struct vf_state) + nvec(dev) * SWVF_MSIX_ENTRY_SIZE;
    struct vf_state *st = slot->st;

    if (st != NULL) {
        return st;
    }
    st = pv_calloc(1, size);
    if (st == NULL) {
        return NULL;
    }
    for (unsigned v = 0; v < nvec(dev); v++) {
        le32_put(st->msix + v * SWVF_MSIX_ENTRY_SIZE + 12, SWVF_MSIX_CTRL_MASKED); /* reset: masked */
    }
    st->priv_queues = 1;
    st->serial = ++dev->state_serial;
    dev->vf_state_bytes += size;
    dev->vf_states++;
    slot->st = st;
    return st;
}

void
dev_vf_state_free(struct pv_sriov_dev *dev, struct vf_slot *slot)
{
    if (slot->st == NULL) {
        return;
    }
    dev->vf_state_bytes -= sizeof(struct vf_state) + nvec(dev) * SWVF_MSIX_ENTRY_SIZE;
    dev->vf_states--;
    pv_free(slot->st);
    slot->st = NULL;
}

/* ---- MSI-X --------------------------------------------------------------------- */

/* PCIe 6.1.4 / 7.7.2: a message goes out only when MSI-X is enabled, the function
 * is not masked, Bus Master is on and the VF is in D0. */
static bool
msix_live(const struct pv_sriov_dev *dev, uint32_t index)
{
    const struct pci_config *cfg = &dev->vfs[index].cfg;
    uint16_t ctl = dev_cfg16(cfg, dev->vf_msix + PCI_MSIX_FLAGS);

    return dev->vf_msix != 0 && (ctl & PCI_MSIX_FLAGS_ENABLE) && !(ctl & PCI_MSIX_FLAGS_MASKALL) &&
           (dev_cfg16(cfg, PCI_COMMAND) & PCI_COMMAND_MASTER) &&
           (dev_cfg16(cfg, dev->vf_pm + PCI_PM_CTRL) & PCI_PM_CTRL_STATE_MASK) == PCI_D0;
}

static void
msix_send(struct pv_sriov_dev *dev, uint32_t index, const uint8_t *e, struct outbox *ob)
{
    ob->have_irq = dev->have_irq;
    if (dev->have_irq) {
        ob->irq = dev->irq;
    }
    if (ob->n < OUTBOX_MAX) {
        ob->msg[ob->n].rid = dev_vf_rid(dev, index);
        ob->msg[ob->n].addr = le64_get(e);
        ob->msg[ob->n].data = le32_get(e + 8);
        ob->n++;
    }
}

static void
msix_raise(struct pv_sriov_dev *dev, uint32_t index, struct vf_state *st, unsigned v, struct outbox *ob)
{
    const uint8_t *e = st->msix + v * SWVF_MSIX_ENTRY_SIZE;

    if (v >= nvec(dev)) {
        return;
    }
    if (msix_live(dev, index) && !(le32_get(e + 12) & SWVF_MSIX_CTRL_MASKED)) {
        msix_send(dev, index, e, ob);
    } else {
        st->pba[v / 64] |= 1ull << (v % 64); /* pending until unmasked */
    }
}

void
dev_vf_msix_release(struct pv_sriov_dev *dev, uint32_t index, struct outbox *ob)
{
    struct vf_state *st = index < dev->nvfs ? dev->vfs[index].st : NULL;

    if (st == NULL || !msix_live(dev, index)) {
        return;
    }
    for (unsigned v = 0; v < nvec(dev); v++) {
        const uint8_t *e = st->msix + v * SWVF_MSIX_ENTRY_SIZE;

        if ((st->pba[v / 64] >> (v % 64) & 1) && !(le32_get(e + 12) & SWVF_MSIX_CTRL_MASKED)) {
            st->pba[v / 64] &= ~(1ull << (v % 64));
            msix_send(dev, index, e, ob);
        }
    }
}

/* ---- VF register file ---------------------------------------------------------- */

static uint32_t
vf_reg_read(const struct pv_sriov_dev *dev, uint32_t index, const struct vf_state *st, uint32_t off)
{
    struct vf_settings tmp;
    const struct vf_settings *s = dev_settings_get(dev, index, &tmp);
    static const struct vf_state zero = {.priv_queues = 1};

    if (st == NULL) {
        st = &zero;
    }
    switch (off) {
    case SWVF_REG_ID: return SWVF_ID_MAGIC;
    case SWVF_REG_VERSION: return SWVF_VERSION;
    case SWVF_REG_VF_INDEX: return index;
    case SWVF_REG_IDS: return dev->prof.vendor_id | (uint32_t)dev->prof.vf_device_id << 16;
    case SWVF_REG_SCRATCH: return st->scratch;
    case SWVF_REG_MAC_LO: return le32_get(s->mac);
    case SWVF_REG_MAC_HI: return le16_get(s->mac + 4);
    case SWVF_REG_MSIX_VECTORS: return nvec(dev);
    case SWVF_REG_DMA_SRC_LO: return st->dma_src_lo;
    case SWVF_REG_DMA_SRC_HI: return st->dma_src_hi;
    case SWVF_REG_DMA_DST_LO: return st->dma_dst_lo;
    case SWVF_REG_DMA_DST_HI: return st->dma_dst_hi;
    case SWVF_REG_DMA_LEN: return st->dma_len;
    case SWVF_REG_DMA_CTRL: return st->dma_ctrl;
    case SWVF_REG_DMA_STATUS: return st->dma_status | (st->dma_busy ? SWVF_DMA_STS_BUSY : 0);
    case SWVF_REG_DMA_FAULT_LO: return st->dma_fault_lo;
    case SWVF_REG_DMA_FAULT_HI: return st->dma_fault_hi;
    case SWVF_REG_DMA_COUNT: return st->dma_count;
    case SWVF_REG_PRIV_QUEUES: return st->priv_queues;
    case SWVF_REG_PRIV_RATE: return st->priv_rate;
    case SWVF_REG_PRIV_CLAMPED: return st->priv_clamped;
    default: return 0;
    }
}

/* Values a write may not exceed: the PF's limits (SWPF_VF_*_LIMIT). */
static uint32_t
clamp_priv(struct pv_sriov_dev *dev, uint32_t index, struct vf_state *st, uint32_t off, uint32_t v)
{
    struct vf_settings tmp;
    const struct vf_settings *s = dev_settings_get(dev, index, &tmp);
    uint32_t lo = off == SWVF_REG_PRIV_QUEUES ? 1 : 0;
    uint32_t hi = off == SWVF_REG_PRIV_QUEUES ? s->queue_limit : s->rate_limit;

    if (v < lo || v > hi) {
        st->priv_clamped++;
        return v < lo ? lo : hi;
    }
    return v;
}

static int dma_run(struct pv_sriov_dev *dev, uint32_t index, struct vf_state *st, struct outbox *ob);

static int
vf_reg_write(struct pv_sriov_dev *dev, uint32_t index, struct vf_state *st, uint32_t off, uint32_t v, struct outbox *ob)
{
    switch (off) {
    case SWVF_REG_SCRATCH: st->scratch = v; break;
    case SWVF_REG_DMA_SRC_LO: st->dma_src_lo = v; break;
    case SWVF_REG_DMA_SRC_HI: st->dma_src_hi = v; break;
    case SWVF_REG_DMA_DST_LO: st->dma_dst_lo = v; break;
    case SWVF_REG_DMA_DST_HI: st->dma_dst_hi = v; break;
    case SWVF_REG_DMA_LEN: st->dma_len = v; break;
    case SWVF_REG_DMA_CTRL: st->dma_ctrl = v & SWVF_DMA_CTRL_MASK; break;
    case SWVF_REG_DMA_STATUS: st->dma_status &= ~(v & SWVF_DMA_STS_W1C); break;
    case SWVF_REG_DMA_DOORBELL: return (v & SWVF_DMA_GO) ? dma_run(dev, index, st, ob) : 0;
    case SWVF_REG_PRIV_QUEUES:
    case SWVF_REG_PRIV_RATE:
        v = clamp_priv(dev, index, st, off, v);
        if (off == SWVF_REG_PRIV_QUEUES) {
            st->priv_queues = v;
        } else {
            st->priv_rate = v;
        }
        break;
    default: break; /* read-only or unlisted: ignored */
    }
    return 0;
}

static bool
write_merges(uint32_t off)
{
    return off != SWVF_REG_DMA_STATUS && off != SWVF_REG_DMA_DOORBELL;
}

/* ---- DMA engine ------------------------------------------------------------------ */

/* Runs without the device lock, on a copy of the port taken under it. */
static int
dma_copy(const struct pv_dma_port *port, uint16_t rid, uint64_t src, uint64_t dst, uint32_t len, uint64_t *fault)
{
    uint8_t buf[DMA_CHUNK];

    for (uint32_t done = 0; done < len;) {
        uint32_t n = len - done < DMA_CHUNK ? len - done : DMA_CHUNK;

        if (port == NULL || port->dma_read(port->ctx, rid, src + done, buf, n) != 0) {
            *fault = src + done;
            return -1;
        }
        if (port->dma_write(port->ctx, rid, dst + done, buf, n) != 0) {
            *fault = dst + done;
            return -1;
        }
        done += n;
    }
    return 0;
}

static void
dma_finish(struct pv_sriov_dev *dev, uint32_t index, uint64_t serial, uint32_t status, uint64_t fault,
           struct outbox *ob)
{
    struct vf_state *st = dev->vfs != NULL && index < dev->nvfs ? dev->vfs[index].st : NULL;

    if (st == NULL || st->serial != serial) {
        return; /* the VF was reset or disabled meanwhile: the completion is discarded */
    }
    st->dma_busy = false;
    st->dma_status |= status;
    if (status & SWVF_DMA_STS_FAULT) {
        st->dma_fault_lo = (uint32_t)fault;
        st->dma_fault_hi = (uint32_t)(fault >> 32);
    } else if (status & SWVF_DMA_STS_DONE) {
        st->dma_count++;
    }
    if (st->dma_ctrl & SWVF_DMA_CTRL_IRQ) {
        msix_raise(dev, index, st, (st->dma_ctrl & SWVF_DMA_CTRL_VECTOR_MASK) >> SWVF_DMA_CTRL_VECTOR_SHIFT, ob);
    }
}

static int
dma_run(struct pv_sriov_dev *dev, uint32_t index, struct vf_state *st, struct outbox *ob)
{
    uint64_t src = (uint64_t)st->dma_src_hi << 32 | st->dma_src_lo;
    uint64_t dst = (uint64_t)st->dma_dst_hi << 32 | st->dma_dst_lo, fault = 0, serial = st->serial;
    uint32_t len = st->dma_len, status = SWVF_DMA_STS_DONE;
    uint16_t rid = dev_vf_rid(dev, index);
    struct pv_dma_port port = dev->dma;
    bool have = dev->have_dma;

    if (st->dma_busy) {
        return 0; /* one transfer at a time; the doorbell is ignored */
    }
    if (len == 0 || len > SWVF_DMA_MAX_LEN) {
        dma_finish(dev, index, serial, SWVF_DMA_STS_BADLEN, 0, ob);
        return 0;
    }
    if (!(dev_cfg16(&dev->vfs[index].cfg, PCI_COMMAND) & PCI_COMMAND_MASTER)) {
        dma_finish(dev, index, serial, SWVF_DMA_STS_NOMASTER, 0, ob);
        return 0;
    }
    st->dma_busy = true;
    pv_rwlock_wrunlock(&dev->lock);
    if (dma_copy(have ? &port : NULL, rid, src, dst, len, &fault) != 0) {
        status = SWVF_DMA_STS_FAULT;
    }
    pv_rwlock_wrlock(&dev->lock);
    dma_finish(dev, index, serial, status, fault, ob);
    return 0;
}

/* ---- access splitting ----------------------------------------------------------- */

static bool
in_range(uint64_t off, uint32_t len, uint64_t base, uint64_t size)
{
    return off >= base && off + len <= base + size;
}

static int
msix_read(const struct pv_sriov_dev *dev, const struct vf_state *st, uint64_t off, uint8_t *data, uint32_t len)
{
    const struct pv_profile *p = &dev->prof;
    uint64_t tsize = nvec(dev) * SWVF_MSIX_ENTRY_SIZE;

    for (uint32_t i = 0; i < len; i++) {
        uint64_t o = off + i;

        if (in_range(o, 1, p->vf_msix_table, tsize)) {
            uint64_t r = o - p->vf_msix_table;
            data[i] = st != NULL ? st->msix[r] : ((r % 16) == 12 ? SWVF_MSIX_CTRL_MASKED : 0);
        } else if (in_range(o, 1, p->vf_msix_pba, 8 * ((nvec(dev) + 63) / 64))) {
            uint64_t r = o - p->vf_msix_pba;
            data[i] = st != NULL ? (uint8_t)(st->pba[r / 8] >> (8 * (r % 8))) : 0;
        } else {
            data[i] = 0;
        }
    }
    return 0;
}

static void
msix_write(struct pv_sriov_dev *dev, uint32_t index, struct vf_state *st, uint64_t off, const uint8_t *data,
           uint32_t len, struct outbox *ob)
{
    uint64_t tsize = nvec(dev) * SWVF_MSIX_ENTRY_SIZE;

    for (uint32_t i = 0; i < len; i++) {
        uint64_t o = off + i, r;

        if (!in_range(o, 1, dev->prof.vf_msix_table, tsize)) {
            continue; /* the PBA is read-only */
        }
        r = o - dev->prof.vf_msix_table;
        if (r % 16 == 12) {
            st->msix[r] = data[i] & SWVF_MSIX_CTRL_MASKED;
        } else if (r % 16 == 0) {
            st->msix[r] = data[i] & 0xfc; /* message address is dword aligned */
        } else if (r % 16 < 12) {
            st->msix[r] = data[i];
        }
    }
    dev_vf_msix_release(dev, index, ob);
}

static bool
is_msix(const struct pv_sriov_dev *dev, unsigned bar, uint64_t off, uint32_t len)
{
    const struct pv_profile *p = &dev->prof;

    return (int)bar == p->vf_msix_bar && (in_range(off, len, p->vf_msix_table, nvec(dev) * SWVF_MSIX_ENTRY_SIZE) ||
                                          in_range(off, len, p->vf_msix_pba, 8 * ((nvec(dev) + 63) / 64)));
}

int
dev_vf_mmio_read(struct pv_sriov_dev *dev, uint32_t index, unsigned bar, uint64_t off, void *data, uint32_t len)
{
    const struct vf_state *st = dev->vfs[index].st;
    uint8_t *out = data;

    if (is_msix(dev, bar, off, len)) {
        return msix_read(dev, st, off, out, len);
    }
    if ((int)bar != dev->prof.vf_regs_bar || off + len > SWVF_REGS_SIZE) {
        memset(data, 0, len);
        return 0;
    }
    for (uint32_t i = 0; i < len; i++) {
        uint32_t dw = (uint32_t)(off + i) & ~3u;

        out[i] = (uint8_t)(vf_reg_read(dev, index, st, dw) >> (8 * ((off + i) & 3)));
    }
    return 0;
}

int
dev_vf_mmio_write_locked(struct pv_sriov_dev *dev, uint32_t index, unsigned bar, uint64_t off, const void *data,
                         uint32_t len, struct outbox *ob)
{
    const uint8_t *in = data;
    struct vf_state *st;
    bool msix = is_msix(dev, bar, off, len);

    if (!msix && ((int)bar != dev->prof.vf_regs_bar || off + len > SWVF_REGS_SIZE)) {
        return 0; /* unimplemented space: writes are dropped */
    }
    st = state_get(dev, &dev->vfs[index]);
    if (st == NULL) {
        return PCIVIRT_ENOMEM;
    }
    if (msix) {
        msix_write(dev, index, st, off, in, len, ob);
        return 0;
    }
    for (uint64_t dw = off & ~3ull; dw < off + len; dw += 4) {
        uint8_t b[4];

        le32_put(b, write_merges((uint32_t)dw) ? vf_reg_read(dev, index, st, (uint32_t)dw) : 0);
        for (unsigned k = 0; k < 4; k++) {
            if (dw + k >= off && dw + k < off + len) {
                b[k] = in[dw + k - off];
            }
        }
        vf_reg_write(dev, index, st, (uint32_t)dw, le32_get(b), ob);
        if (dev->vfs == NULL || index >= dev->nvfs || dev->vfs[index].st != st) {
            break; /* the DMA dropped the lock and the VF went away */
        }
    }
    return 0;
}

/* ---- PF register file ------------------------------------------------------------ */

static uint32_t
pf_reg_read(const struct pv_sriov_dev *dev, uint32_t off)
{
    struct vf_settings tmp;
    const struct vf_settings *s;
    uint32_t idx;

    if (off < SWPF_VF_TABLE) {
        switch (off) {
        case SWPF_REG_ID: return SWPF_ID_MAGIC;
        case SWPF_REG_VERSION: return SWVF_VERSION;
        case SWPF_REG_TOTAL_VFS: return dev->prof.total_vfs;
        case SWPF_REG_VF_ENTRY_SIZE: return SWPF_VF_ENTRY_SIZE;
        case SWPF_REG_SCRATCH: return dev->pf_scratch;
        default: return 0;
        }
    }
    idx = (off - SWPF_VF_TABLE) / SWPF_VF_ENTRY_SIZE;
    if (idx >= dev->prof.total_vfs) {
        return 0;
    }
    s = dev_settings_get(dev, idx, &tmp);
    switch ((off - SWPF_VF_TABLE) % SWPF_VF_ENTRY_SIZE) {
    case SWPF_VF_MAC_LO: return le32_get(s->mac);
    case SWPF_VF_MAC_HI: return le16_get(s->mac + 4);
    case SWPF_VF_QUEUE_LIMIT: return s->queue_limit;
    case SWPF_VF_RATE_LIMIT: return s->rate_limit;
    case SWPF_VF_CLAMPED:
        return dev->vfs != NULL && idx < dev->nvfs && dev->vfs[idx].st != NULL ? dev->vfs[idx].st->priv_clamped : 0;
    default: return 0;
    }
}

/* A lowered limit applies at once: the VF's current value is clamped to it. */
static void
apply_limit(struct pv_sriov_dev *dev, uint32_t idx, const struct vf_settings *s)
{
    struct vf_state *st = dev->vfs != NULL && idx < dev->nvfs ? dev->vfs[idx].st : NULL;

    if (st != NULL) {
        st->priv_queues = st->priv_queues > s->queue_limit ? s->queue_limit : st->priv_queues;
        st->priv_rate = st->priv_rate > s->rate_limit ? s->rate_limit : st->priv_rate;
    }
}

static int
pf_reg_write(struct pv_sriov_dev *dev, uint32_t off, uint32_t v)
{
    struct vf_settings *s;
    uint32_t idx;

    if (off < SWPF_VF_TABLE) {
        if (off == SWPF_REG_SCRATCH) {
            dev->pf_scratch = v;
        }
        return 0;
    }
    idx = (off - SWPF_VF_TABLE) / SWPF_VF_ENTRY_SIZE;
    if (idx >= dev->prof.total_vfs || (off - SWPF_VF_TABLE) % SWPF_VF_ENTRY_SIZE > SWPF_VF_RATE_LIMIT) {
        return 0;
    }
    s = settings_mut(dev, idx);
    if (s == NULL) {
        return PCIVIRT_ENOMEM;
    }
    switch ((off - SWPF_VF_TABLE) % SWPF_VF_ENTRY_SIZE) {
    case SWPF_VF_MAC_LO:
        le32_put(s->mac, v);
        s->mac_set = true;
        break;
    case SWPF_VF_MAC_HI:
        le16_put(s->mac + 4, (uint16_t)v);
        s->mac_set = true;
        break;
    case SWPF_VF_QUEUE_LIMIT: s->queue_limit = v; break;
    case SWPF_VF_RATE_LIMIT: s->rate_limit = v; break;
    default: break;
    }
    apply_limit(dev, idx, s);
    return 0;
}

int
dev_pf_mmio_read(struct pv_sriov_dev *dev, unsigned bar, uint64_t off, void *data, uint32_t len)
{
    uint8_t *out = data;

    for (uint32_t i = 0; i < len; i++) {
        uint32_t dw = (uint32_t)(off + i) & ~3u;

        out[i] = (int)bar == dev->prof.pf_regs_bar ? (uint8_t)(pf_reg_read(dev, dw) >> (8 * ((off + i) & 3))) : 0;
    }
    return 0;
}

int
dev_pf_mmio_write_locked(struct pv_sriov_dev *dev, unsigned bar, uint64_t off, const void *data, uint32_t len)
{
    const uint8_t *in = data;

    if ((int)bar != dev->prof.pf_regs_bar) {
        return 0;
    }
    for (uint64_t dw = off & ~3ull; dw < off + len; dw += 4) {
        uint8_t b[4];
        int rc;

        le32_put(b, pf_reg_read(dev, (uint32_t)dw));
        for (unsigned k = 0; k < 4; k++) {
            if (dw + k >= off && dw + k < off + len) {
                b[k] = in[dw + k - off];
            }
        }
        rc = pf_reg_write(dev, (uint32_t)dw, le32_get(b));
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}
