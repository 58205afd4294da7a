/*
 * guest/vpci_bus.c - the guest vPCI bus driver (guest/vpci_bus.h).
 *
 * The order of a child's bring-up is Linux's (contract.md 8.5): the requirements
 * are queried when a child first appears in BUS_RELATIONS, resources are assigned
 * and BARs placed only once the bus is in D0.  MMIO for BARs comes from a fixed
 * region per slot (the low and high windows split in 32 naturally aligned parts),
 * so a child that comes back to a slot gets the same addresses and nothing needs
 * a free list; a child whose BARs do not fit gets Linux's "Need ... of MMIO space"
 * complaint and no driver.
 */
#include "guest/vpci_bus.h"

#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/le.h"
#include "vmbus/vpci_chan.h"

#define CFG_WINDOW_RESERVE 0x10000u /* config window at the start of the low window */
#define MAX_MSI 8u
#define NVECTORS 256u

struct gvpci_msi {
    bool used;
    uint32_t vector;
    uint64_t address;
    uint32_t data;
};

struct gvpci_dev {
    struct gvpci_bus *bus;
    bool present;
    bool enabled; /* resources assigned, BARs placed */
    unsigned index;
    struct vpci_fn_desc desc;
    uint32_t probed[6];
    uint64_t size[6]; /* rounded up to pages; 0: none or upper half */
    bool is64[6];
    uint64_t gpa[6];
    const struct gvpci_driver *drv;
    void *drvdata;
    void *inv_ctx;
    gvpci_invalidate_fn *inv_fn;
    struct gvpci_msi msi[MAX_MSI];
};

struct gvpci_bus {
    struct gvpci_config cfg;
    uint32_t version;
    bool d0;
    uint64_t window;
    uint64_t low_region, high_region; /* per-slot region size */
    uint64_t low_first, high_first;   /* base of slot 0's region */
    struct gvpci_dev dev[GVPCI_SLOTS];
    const struct gvpci_driver *drivers[GVPCI_MAX_DRIVERS];
    unsigned ndrivers;
    uint8_t vector_owner[NVECTORS]; /* slot + 1, 0: free */
    struct vpci_rx *rx;
    struct gvpci_stats st;
};

/* ---- helpers ---------------------------------------------------------------------------- */

static uint64_t
pow2_floor(uint64_t v)
{
    uint64_t p = 1;

    while (v != 0 && p <= v / 2) {
        p <<= 1;
    }
    return v == 0 ? 0 : p;
}

static uint64_t
align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static NTSTATUS
request(struct gvpci_bus *bus, const struct vpci_msg *m, struct vpci_reply *r)
{
    NTSTATUS st;

    memset(r, 0, sizeof(*r));
    st = vpci_chan_request(bus->cfg.channel, m, r, NULL, bus->cfg.wait_ns);
    return NT_SUCCESS(st) ? r->status : st;
}

static int
io_error(NTSTATUS st)
{
    if (st == STATUS_IO_TIMEOUT) {
        return PCIVIRT_ETIMEDOUT;
    }
    return PCIVIRT_EIO;
}

/* ---- config space through the window (contract.md 8.4) -------------------------------------- */

static int
cfg_access(struct gvpci_dev *dev, uint32_t off, uint32_t len, bool write, uint32_t *val)
{
    struct gvpci_bus *bus = dev->bus;
    const struct gvpci_platform *p = &bus->cfg.platform;
    uint8_t sel[4], v[4];
    int rc;

    if ((len != 1 && len != 2 && len != 4) || off + len > GVPCI_PAGE || !bus->d0) {
        return PCIVIRT_EINVAL;
    }
    le32_put(sel, vpci_slot_make(dev->index, 0));
    rc = p->mmio_write(p->ctx, bus->window, sel, 4);
    if (rc == 0 && write) {
        le_put(v, len, *val);
        rc = p->mmio_write(p->ctx, bus->window + 0x1000 + off, v, len);
    } else if (rc == 0) {
        rc = p->mmio_read(p->ctx, bus->window + 0x1000 + off, v, len);
        *val = (uint32_t)le_get(v, len);
    }
    return rc;
}

int
gvpci_cfg_read(struct gvpci_dev *dev, uint32_t off, uint32_t len, uint32_t *val)
{
    return cfg_access(dev, off, len, false, val);
}

int
gvpci_cfg_write(struct gvpci_dev *dev, uint32_t off, uint32_t len, uint32_t val)
{
    return cfg_access(dev, off, len, true, &val);
}

uint32_t
gvpci_find_cap(struct gvpci_dev *dev, uint8_t id)
{
    uint32_t pos = 0, hdr = 0;

    if (gvpci_cfg_read(dev, 0x34, 1, &pos) != 0) {
        return 0;
    }
    for (int n = 0; n < 48 && pos >= 0x40; n++) {
        if (gvpci_cfg_read(dev, pos & 0xFC, 2, &hdr) != 0) {
            return 0;
        }
        if ((hdr & 0xFF) == id) {
            return pos & 0xFC;
        }
        pos = hdr >> 8;
    }
    return 0;
}

/* ---- children -------------------------------------------------------------------------------- */

/* Sizes from the probed values, rounded up to pages (contract.md 8.5 step 2). */
static int
decode_sizes(struct gvpci_dev *dev)
{
    memset(dev->size, 0, sizeof(dev->size));
    memset(dev->is64, 0, sizeof(dev->is64));
    for (unsigned i = 0; i < 6; i++) {
        uint32_t v = dev->probed[i];
        uint64_t mask;

        if (v == 0) {
            continue;
        }
        if (v & 1u) {
            return PCIVIRT_ENOTSUP; /* I/O BARs are not usable (8.5) */
        }
        if ((v & 0x4u) && i < 5) {
            mask = ((uint64_t)dev->probed[i + 1] << 32) | (v & ~0xFu);
            dev->is64[i] = true;
        } else {
            mask = 0xFFFFFFFF00000000ull | (v & ~0xFu);
        }
        dev->size[i] = align_up(~mask + 1, GVPCI_PAGE);
        if (dev->size[i] == 0) {
            return PCIVIRT_EFORMAT;
        }
        if (dev->is64[i]) {
            i++;
        }
    }
    return 0;
}

static int
child_query(struct gvpci_dev *dev)
{
    struct vpci_msg m = {.type = PCI_QUERY_RESOURCE_REQUIREMENTS, .slot = dev->desc.slot};
    struct vpci_reply r;
    NTSTATUS st = request(dev->bus, &m, &r);

    if (!NT_SUCCESS(st)) {
        return io_error(st);
    }
    memcpy(dev->probed, r.u.probed_bar, sizeof(dev->probed));
    return decode_sizes(dev);
}

/* Place BARs largest-first in the slot's regions. */
static int
place_bars(struct gvpci_dev *dev)
{
    struct gvpci_bus *bus = dev->bus;
    uint64_t used_low = 0, used_high = 0;
    bool done[6] = {false};

    for (unsigned n = 0; n < 6; n++) {
        unsigned best = 6;

        for (unsigned i = 0; i < 6; i++) {
            if (!done[i] && dev->size[i] != 0 && (best == 6 || dev->size[i] > dev->size[best])) {
                best = i;
            }
        }
        if (best == 6) {
            break;
        }
        done[best] = true;
        uint64_t *used = dev->is64[best] ? &used_high : &used_low;
        uint64_t region = dev->is64[best] ? bus->high_region : bus->low_region;
        uint64_t base = dev->is64[best] ? bus->high_first + dev->index * region : bus->low_first + dev->index * region;
        uint64_t at = align_up(*used, dev->size[best]);

        if (at + dev->size[best] > region) {
            return PCIVIRT_ENOSPC; /* "Need ... of MMIO space. Consider reconfiguring the VM." */
        }
        dev->gpa[best] = base + at;
        *used = at + dev->size[best];
    }
    return 0;
}

static int
program_bars(struct gvpci_dev *dev)
{
    int rc = gvpci_cfg_write(dev, 0x04, 2, 0); /* Memory Space off while BARs move (8.5) */

    for (unsigned i = 0; rc == 0 && i < 6; i++) {
        if (dev->size[i] == 0) {
            continue;
        }
        rc = gvpci_cfg_write(dev, 0x10 + 4 * i, 4, (uint32_t)dev->gpa[i]);
        if (rc == 0 && dev->is64[i]) {
            rc = gvpci_cfg_write(dev, 0x14 + 4 * i, 4, (uint32_t)(dev->gpa[i] >> 32));
        }
    }
    return rc == 0 ? gvpci_cfg_write(dev, 0x04, 2, 0x0002) : rc;
}

static void
bind_driver(struct gvpci_dev *dev)
{
    struct gvpci_bus *bus = dev->bus;

    for (unsigned i = 0; i < bus->ndrivers; i++) {
        const struct gvpci_driver *d = bus->drivers[i];

        if (d->vendor_id == dev->desc.vendor_id && d->device_id == dev->desc.device_id) {
            dev->drv = d;
            bus->st.probes++;
            if (d->probe(dev) != 0) {
                bus->st.probe_failures++;
                dev->drv = NULL;
            }
            return;
        }
    }
}

static int
child_enable(struct gvpci_dev *dev)
{
    struct vpci_msg m = {.slot = dev->desc.slot};
    struct vpci_reply r;
    NTSTATUS st;
    int rc;

    m.type = dev->bus->version >= PCI_PROTOCOL_VERSION_1_2 ? PCI_RESOURCES_ASSIGNED2 : PCI_RESOURCES_ASSIGNED;
    st = request(dev->bus, &m, &r);
    if (!NT_SUCCESS(st)) {
        return io_error(st);
    }
    rc = place_bars(dev);
    rc = rc != 0 ? rc : program_bars(dev);
    if (rc == 0) {
        dev->enabled = true;
        bind_driver(dev);
    }
    return rc;
}

static void
child_remove(struct gvpci_dev *dev)
{
    struct gvpci_bus *bus = dev->bus;

    if (dev->drv != NULL && dev->drv->remove != NULL) {
        dev->drv->remove(dev);
        bus->st.removes++;
    }
    for (unsigned v = 0; v < NVECTORS; v++) {
        if (bus->vector_owner[v] == dev->index + 1) {
            bus->vector_owner[v] = 0;
        }
    }
    memset(dev, 0, sizeof(*dev));
    dev->bus = bus;
}

/* ---- host messages ------------------------------------------------------------------------- */

static bool
same_child(const struct gvpci_dev *d, const struct vpci_fn_desc *f)
{
    return d->present && d->desc.slot == f->slot && d->desc.vendor_id == f->vendor_id &&
           d->desc.device_id == f->device_id && d->desc.serial == f->serial;
}

/* contract.md 8.6: keep matching children, remove unlisted ones, bring up new ones. */
static void
on_relations(struct gvpci_bus *bus, const struct vpci_msg *m)
{
    bool listed[GVPCI_SLOTS] = {false};

    bus->st.relations++;
    for (uint32_t i = 0; i < m->u.relations.count; i++) {
        const struct vpci_fn_desc *f = &m->u.relations.fn[i];

        if (vpci_slot_function(f->slot) == 0 && same_child(&bus->dev[vpci_slot_device(f->slot)], f)) {
            listed[vpci_slot_device(f->slot)] = true;
        }
    }
    for (unsigned s = 0; s < GVPCI_SLOTS; s++) {
        if (bus->dev[s].present && !listed[s]) {
            child_remove(&bus->dev[s]);
        }
    }
    for (uint32_t i = 0; i < m->u.relations.count; i++) {
        const struct vpci_fn_desc *f = &m->u.relations.fn[i];
        struct gvpci_dev *d = &bus->dev[vpci_slot_device(f->slot)];

        if (vpci_slot_function(f->slot) != 0 || d->present) {
            continue;
        }
        d->present = true;
        d->index = vpci_slot_device(f->slot);
        d->desc = *f;
        if (child_query(d) != 0) {
            child_remove(d);
        } else if (bus->d0 && child_enable(d) != 0) {
            child_remove(d);
        }
    }
}

static void
on_eject(struct gvpci_bus *bus, uint32_t slot)
{
    struct gvpci_dev *d = &bus->dev[vpci_slot_device(slot)];
    struct vpci_msg m = {.type = PCI_EJECTION_COMPLETE, .slot = slot};

    bus->st.ejects++;
    if (bus->cfg.ignore_eject) {
        bus->st.ejects_ignored++;
        return;
    }
    if (d->present) {
        child_remove(d);
    }
    vpci_chan_send(bus->cfg.channel, &m, bus->cfg.wait_ns);
}

static void
on_invalidate(struct gvpci_bus *bus, const struct vpci_msg *m)
{
    struct gvpci_dev *d = &bus->dev[vpci_slot_device(m->slot)];

    bus->st.invalidates++;
    if (vpci_slot_function(m->slot) != 0 || !d->present || d->inv_fn == NULL) {
        bus->st.invalidates_dropped++; /* 8.7: no child or no callback: dropped */
        return;
    }
    d->inv_fn(d->inv_ctx, m->u.block_mask);
}

/* The stack's rebalance asks this child to let go for a while: the answer is the completion status. */
static void
on_query_stop(struct gvpci_bus *bus, const struct vpci_rx *rx)
{
    struct gvpci_dev *d = &bus->dev[vpci_slot_device(rx->msg.slot)];
    NTSTATUS st = STATUS_SUCCESS;

    bus->st.query_stops++;
    if (bus->cfg.ignore_query_stop) {
        bus->st.query_stops_ignored++;
        return;
    }
    if (vpci_slot_function(rx->msg.slot) == 0 && d->present && d->drv != NULL && d->drv->query_stop != NULL) {
        st = d->drv->query_stop(d);
    }
    if (!NT_SUCCESS(st)) {
        bus->st.query_stops_vetoed++;
    }
    if (rx->wants_reply) {
        vpci_chan_reply_status(bus->cfg.channel, rx->trans_id, st, bus->cfg.wait_ns);
    }
}

static void
on_restart(struct gvpci_bus *bus, const struct vpci_msg *m)
{
    struct gvpci_dev *d = &bus->dev[vpci_slot_device(m->slot)];
    bool restarted = m->type == PCI_REENABLE;

    if (restarted) {
        bus->st.reenables++;
    } else {
        bus->st.stops_failed++;
    }
    if (vpci_slot_function(m->slot) == 0 && d->present && d->drv != NULL && d->drv->restart != NULL) {
        d->drv->restart(d, restarted);
    }
}

static void
on_message(struct gvpci_bus *bus, const struct vpci_rx *rx)
{
    const struct vpci_msg *m = &rx->msg;

    switch (m->type) {
    case PCI_BUS_RELATIONS:
    case PCI_BUS_RELATIONS2: on_relations(bus, m); break;
    case PCI_EJECT: on_eject(bus, m->slot); break;
    case PCI_INVALIDATE_BLOCK: on_invalidate(bus, m); break;
    case PCI_QUERY_STOP: on_query_stop(bus, rx); break;
    case PCI_REENABLE:
    case PCI_QUERY_STOP_FAILED: on_restart(bus, m); break;
    default: bus->st.bad_messages++; break;
    }
}

static void
run_work(struct gvpci_bus *bus)
{
    for (unsigned s = 0; s < GVPCI_SLOTS; s++) {
        struct gvpci_dev *d = &bus->dev[s];

        if (d->present && d->drv != NULL && d->drv->work != NULL) {
            d->drv->work(d);
        }
    }
}

int
gvpci_bus_poll(struct gvpci_bus *bus, int64_t wait_ns)
{
    int n = 0;

    for (;;) {
        NTSTATUS st =
            vpci_chan_recv(bus->cfg.channel, VPCI_HOST_TO_GUEST, bus->version != 0 ? bus->version : VPCI_VERSION_ANY,
                           bus->rx, NULL, n == 0 ? wait_ns : 0);

        if (st == STATUS_DEVICE_REMOVED) {
            return PCIVIRT_EIO;
        }
        if (st == STATUS_IO_TIMEOUT) {
            break;
        }
        if (NT_SUCCESS(st)) {
            on_message(bus, bus->rx);
            n++;
        } else {
            bus->st.bad_messages++;
        }
    }
    run_work(bus);
    return n;
}

/* ---- bring-up and teardown ------------------------------------------------------------------- */

static int
negotiate(struct gvpci_bus *bus, struct pcivirt_error *err)
{
    for (unsigned i = 0; i < GVPCI_MAX_VERSIONS && bus->cfg.versions[i] != 0; i++) {
        struct vpci_msg m = {.type = PCI_QUERY_PROTOCOL_VERSION, .u.version = bus->cfg.versions[i]};
        struct vpci_reply r;
        NTSTATUS st = request(bus, &m, &r);

        if (NT_SUCCESS(st)) {
            bus->version = bus->cfg.versions[i];
            return 0;
        }
        if (st != STATUS_REVISION_MISMATCH) {
            return pcivirt_error_set(err, io_error(st), "QUERY_PROTOCOL_VERSION 0x%08x: status 0x%08x",
                                     bus->cfg.versions[i], (uint32_t)st);
        }
    }
    return pcivirt_error_set(err, PCIVIRT_ENOTSUP, "the host accepted none of the offered protocol versions");
}

/* Send QUERY_BUS_RELATIONS and process messages until relations arrived. */
static int
first_relations(struct gvpci_bus *bus, struct pcivirt_error *err)
{
    struct vpci_msg m = {.type = PCI_QUERY_BUS_RELATIONS};
    uint64_t before = bus->st.relations;
    NTSTATUS st = vpci_chan_send(bus->cfg.channel, &m, bus->cfg.wait_ns);

    if (!NT_SUCCESS(st)) {
        return pcivirt_error_set(err, io_error(st), "QUERY_BUS_RELATIONS not sent: 0x%08x", (uint32_t)st);
    }
    while (bus->st.relations == before) {
        st = vpci_chan_recv(bus->cfg.channel, VPCI_HOST_TO_GUEST, bus->version, bus->rx, NULL, bus->cfg.wait_ns);
        if (!NT_SUCCESS(st)) {
            return pcivirt_error_set(err, io_error(st), "no BUS_RELATIONS: 0x%08x", (uint32_t)st);
        }
        on_message(bus, bus->rx);
    }
    return 0;
}

int
gvpci_bus_start(struct gvpci_bus *bus, struct pcivirt_error *err)
{
    struct vpci_msg m = {.type = PCI_BUS_D0ENTRY};
    struct vpci_reply r;
    NTSTATUS st;
    int rc = negotiate(bus, err);

    rc = rc != 0 ? rc : first_relations(bus, err);
    if (rc != 0) {
        return rc;
    }
    m.u.mmio_base = bus->window;
    st = request(bus, &m, &r);
    if (!NT_SUCCESS(st)) {
        return pcivirt_error_set(err, io_error(st), "BUS_D0ENTRY refused: 0x%08x", (uint32_t)st);
    }
    bus->d0 = true;
    for (unsigned s = 0; s < GVPCI_SLOTS; s++) {
        struct gvpci_dev *d = &bus->dev[s];

        if (d->present && !d->enabled && child_enable(d) != 0) {
            child_remove(d);
        }
    }
    return 0;
}

int
gvpci_bus_stop(struct gvpci_bus *bus)
{
    struct vpci_msg m = {.type = PCI_BUS_D0EXIT};
    struct vpci_reply r;

    for (unsigned s = GVPCI_SLOTS; s-- > 0;) {
        struct gvpci_dev *d = &bus->dev[s];

        if (d->present) {
            struct vpci_msg rel = {.type = PCI_RESOURCES_RELEASED, .slot = d->desc.slot};
            bool enabled = d->enabled;

            child_remove(d);
            if (enabled) {
                vpci_chan_send(bus->cfg.channel, &rel, bus->cfg.wait_ns);
            }
        }
    }
    if (!bus->d0) {
        return 0;
    }
    bus->d0 = false;
    return NT_SUCCESS(request(bus, &m, &r)) ? 0 : PCIVIRT_EIO;
}

int
gvpci_bus_create(const struct gvpci_config *cfg, struct gvpci_bus **out)
{
    static const uint32_t def[] = {PCI_PROTOCOL_VERSION_1_4, PCI_PROTOCOL_VERSION_1_3, PCI_PROTOCOL_VERSION_1_2,
                                   PCI_PROTOCOL_VERSION_1_1};
    const struct gvpci_platform *p = cfg != NULL ? &cfg->platform : NULL;
    struct gvpci_bus *bus;

    if (cfg == NULL || out == NULL || cfg->channel == NULL || p->mmio_read == NULL || p->mmio_write == NULL ||
        p->mem_read == NULL || p->mem_write == NULL || (p->mmio_low_base & (GVPCI_PAGE - 1)) != 0 ||
        p->mmio_low_size < 2 * CFG_WINDOW_RESERVE) {
        return PCIVIRT_EINVAL;
    }
    bus = pv_calloc(1, sizeof(*bus));
    if (bus == NULL || (bus->rx = pv_calloc(1, sizeof(*bus->rx))) == NULL) {
        pv_free(bus);
        return PCIVIRT_ENOMEM;
    }
    bus->cfg = *cfg;
    if (bus->cfg.versions[0] == 0) {
        memcpy(bus->cfg.versions, def, sizeof(def));
    }
    if (bus->cfg.wait_ns <= 0) {
        bus->cfg.wait_ns = GVPCI_WAIT_DEFAULT_NS;
    }
    bus->window = p->mmio_low_base;
    bus->low_region = pow2_floor((p->mmio_low_size - CFG_WINDOW_RESERVE) / (2 * GVPCI_SLOTS));
    bus->low_first = align_up(p->mmio_low_base + CFG_WINDOW_RESERVE, bus->low_region);
    bus->high_region = pow2_floor(p->mmio_high_size / (2 * GVPCI_SLOTS));
    bus->high_first = bus->high_region != 0 ? align_up(p->mmio_high_base, bus->high_region) : 0;
    for (unsigned s = 0; s < GVPCI_SLOTS; s++) {
        bus->dev[s].bus = bus;
    }
    *out = bus;
    return 0;
}

void
gvpci_bus_destroy(struct gvpci_bus *bus)
{
    if (bus == NULL) {
        return;
    }
    for (unsigned s = 0; s < GVPCI_SLOTS; s++) {
        if (bus->dev[s].present) {
            child_remove(&bus->dev[s]);
        }
    }
    pv_free(bus->rx);
    pv_free(bus);
}

int
gvpci_bus_register_driver(struct gvpci_bus *bus, const struct gvpci_driver *drv)
{
    if (bus->ndrivers >= GVPCI_MAX_DRIVERS) {
        return PCIVIRT_ENOSPC;
    }
    bus->drivers[bus->ndrivers++] = drv;
    return 0;
}

void
gvpci_bus_deliver_irq(struct gvpci_bus *bus, uint32_t vector)
{
    uint8_t owner = vector < NVECTORS ? bus->vector_owner[vector] : 0;
    struct gvpci_dev *d = owner != 0 ? &bus->dev[owner - 1] : NULL;

    if (d == NULL || d->drv == NULL || d->drv->irq == NULL) {
        bus->st.irqs_unclaimed++;
        return;
    }
    bus->st.irqs++;
    d->drv->irq(d, vector);
}

uint32_t
gvpci_bus_version(const struct gvpci_bus *bus)
{
    return bus->version;
}

void
gvpci_bus_stats(const struct gvpci_bus *bus, struct gvpci_stats *out)
{
    *out = bus->st;
}

void
gvpci_bus_set_misbehave(struct gvpci_bus *bus, bool ignore_eject, bool ignore_query_stop)
{
    bus->cfg.ignore_eject = ignore_eject;
    bus->cfg.ignore_query_stop = ignore_query_stop;
}

struct gvpci_dev *
gvpci_bus_dev(struct gvpci_bus *bus, unsigned slot)
{
    return slot < GVPCI_SLOTS && bus->dev[slot].present ? &bus->dev[slot] : NULL;
}

/* ---- device API ------------------------------------------------------------------------------ */

const struct vpci_fn_desc *
gvpci_dev_desc(const struct gvpci_dev *dev)
{
    return &dev->desc;
}

uint32_t
gvpci_dev_slot(const struct gvpci_dev *dev)
{
    return dev->desc.slot;
}

struct gvpci_bus *
gvpci_dev_bus(const struct gvpci_dev *dev)
{
    return dev->bus;
}

void
gvpci_dev_set_drvdata(struct gvpci_dev *dev, void *data)
{
    dev->drvdata = data;
}

void *
gvpci_dev_drvdata(const struct gvpci_dev *dev)
{
    return dev->drvdata;
}

void
gvpci_bar(const struct gvpci_dev *dev, unsigned bar, uint64_t *gpa, uint64_t *size)
{
    *gpa = bar < 6 ? dev->gpa[bar] : 0;
    *size = bar < 6 && dev->enabled ? dev->size[bar] : 0;
}

static int
bar_check(const struct gvpci_dev *dev, unsigned bar, uint64_t off)
{
    return bar < 6 && dev->enabled && dev->size[bar] >= 4 && off <= dev->size[bar] - 4 ? 0 : PCIVIRT_ERANGE;
}

int
gvpci_mmio_read32(struct gvpci_dev *dev, unsigned bar, uint64_t off, uint32_t *val)
{
    const struct gvpci_platform *p = &dev->bus->cfg.platform;
    uint8_t v[4];
    int rc = bar_check(dev, bar, off);

    rc = rc != 0 ? rc : p->mmio_read(p->ctx, dev->gpa[bar] + off, v, 4);
    *val = rc == 0 ? le32_get(v) : 0xFFFFFFFFu;
    return rc;
}

int
gvpci_mmio_write32(struct gvpci_dev *dev, unsigned bar, uint64_t off, uint32_t val)
{
    const struct gvpci_platform *p = &dev->bus->cfg.platform;
    uint8_t v[4];
    int rc = bar_check(dev, bar, off);

    le32_put(v, val);
    return rc != 0 ? rc : p->mmio_write(p->ctx, dev->gpa[bar] + off, v, 4);
}

int
gvpci_read_block(struct gvpci_dev *dev, void *buf, uint32_t len, uint32_t block_id, uint32_t *bytes_returned)
{
    struct vpci_msg m = {.type = PCI_READ_BLOCK, .slot = dev->desc.slot};
    struct vpci_reply r;
    NTSTATUS st;

    *bytes_returned = 0;
    if (len == 0 || len > VPCI_BLOCK_MAX || buf == NULL) {
        return PCIVIRT_EINVAL;
    }
    m.u.block.block_id = block_id;
    m.u.block.byte_count = len;
    st = request(dev->bus, &m, &r);
    if (!NT_SUCCESS(st) || r.u.read_block.byte_count == 0) {
        return PCIVIRT_EIO;
    }
    *bytes_returned = r.u.read_block.byte_count < len ? r.u.read_block.byte_count : len;
    memcpy(buf, r.u.read_block.data, *bytes_returned);
    return 0;
}

int
gvpci_write_block(struct gvpci_dev *dev, const void *buf, uint32_t len, uint32_t block_id)
{
    struct vpci_msg m = {.type = PCI_WRITE_BLOCK, .slot = dev->desc.slot};
    struct vpci_reply r;

    if (len == 0 || len > VPCI_BLOCK_MAX || buf == NULL) {
        return PCIVIRT_EINVAL;
    }
    m.u.block.block_id = block_id;
    m.u.block.byte_count = len;
    memcpy(m.u.block.data, buf, len);
    return NT_SUCCESS(request(dev->bus, &m, &r)) ? 0 : PCIVIRT_EIO;
}

void
gvpci_reg_block_invalidate(struct gvpci_dev *dev, void *ctx, gvpci_invalidate_fn *fn)
{
    dev->inv_ctx = fn != NULL ? ctx : NULL;
    dev->inv_fn = fn;
}

static int
free_vector(struct gvpci_bus *bus, uint32_t *vector)
{
    for (uint32_t v = GVPCI_FIRST_VECTOR; v < NVECTORS; v++) {
        if (bus->vector_owner[v] == 0) {
            *vector = v;
            return 0;
        }
    }
    return PCIVIRT_ENOSPC;
}

int
gvpci_create_msi(struct gvpci_dev *dev, uint32_t *vector, uint64_t *address, uint32_t *data)
{
    struct gvpci_bus *bus = dev->bus;
    struct vpci_msg m = {.slot = dev->desc.slot};
    struct gvpci_msi *slot = NULL;
    struct vpci_reply r;
    NTSTATUS st;

    for (unsigned i = 0; i < MAX_MSI && slot == NULL; i++) {
        slot = dev->msi[i].used ? NULL : &dev->msi[i];
    }
    if (slot == NULL || free_vector(bus, vector) != 0) {
        return PCIVIRT_ENOSPC;
    }
    m.type = bus->version >= PCI_PROTOCOL_VERSION_1_2 ? PCI_CREATE_INTERRUPT_MESSAGE2 : PCI_CREATE_INTERRUPT_MESSAGE;
    m.u.msi.vector = *vector;
    m.u.msi.delivery_mode = VPCI_MSI_DELIVERY_FIXED;
    m.u.msi.vector_count = 1;
    m.u.msi.cpu_mask = 1;
    m.u.msi.processor_count = 1;
    st = request(bus, &m, &r);
    if (!NT_SUCCESS(st)) {
        return io_error(st);
    }
    *slot =
        (struct gvpci_msi){.used = true, .vector = *vector, .address = r.u.mapping.address, .data = r.u.mapping.data};
    bus->vector_owner[*vector] = (uint8_t)(dev->index + 1);
    *address = r.u.mapping.address;
    *data = r.u.mapping.data;
    return 0;
}

int
gvpci_delete_msi(struct gvpci_dev *dev, uint64_t address, uint32_t data)
{
    struct vpci_msg m = {.type = PCI_DELETE_INTERRUPT_MESSAGE, .slot = dev->desc.slot};

    for (unsigned i = 0; i < MAX_MSI; i++) {
        struct gvpci_msi *e = &dev->msi[i];

        if (e->used && e->address == address && e->data == data) {
            m.u.mapping = (struct vpci_msi_mapping){.vector_count = 1, .data = data, .address = address};
            dev->bus->vector_owner[e->vector] = 0;
            e->used = false;
            return NT_SUCCESS(vpci_chan_send(dev->bus->cfg.channel, &m, dev->bus->cfg.wait_ns)) ? 0 : PCIVIRT_EIO;
        }
    }
    return PCIVIRT_ENOENT;
}

int
gvpci_mem_read(struct gvpci_dev *dev, uint64_t gpa, void *buf, size_t len)
{
    const struct gvpci_platform *p = &dev->bus->cfg.platform;

    return p->mem_read(p->ctx, gpa, buf, len);
}

int
gvpci_mem_write(struct gvpci_dev *dev, uint64_t gpa, const void *buf, size_t len)
{
    const struct gvpci_platform *p = &dev->bus->cfg.platform;

    return p->mem_write(p->ctx, gpa, buf, len);
}
