/*
 * pci/config.c - layouts, per-function config and the single write path.
 *
 * A layout keeps its four arrays in one allocation (template, wmask, w1cmask,
 * used), so sharing it among 65,535 VFs costs one pointer per VF.  A function
 * copies the template only when a write would change a byte; the decision is
 * made before anything is stored, so an allocation failure leaves the function
 * exactly as it was and runs no hook.  Hooks are kept sorted by start offset at
 * registration, so the write path walks them in order without sorting.
 */
#include "pci/config.h"

#include <string.h>

#include "pci/layout_internal.h"
#include "pci/regs.h"
#include "util/alloc.h"
#include "util/le.h"

/* Whether [off, off + len) lies inside a space of @size bytes (no overflow). */
static bool
range_ok(uint32_t size, uint32_t off, size_t len)
{
    return len >= 1 && off < size && len <= size - off;
}

int
pci_layout_create(uint32_t size, struct pci_layout **out)
{
    struct pci_layout *l;

    if (out == NULL) {
        return PCIVIRT_EINVAL;
    }
    *out = NULL;
    if (size != PCI_CFG_SIZE && size != PCI_CFG_SIZE_EXT) {
        return PCIVIRT_EINVAL;
    }
    l = pv_calloc(1, sizeof(*l));
    if (l == NULL) {
        return PCIVIRT_ENOMEM;
    }
    l->tmpl = pv_calloc(4, size);
    if (l->tmpl == NULL) {
        pv_free(l);
        return PCIVIRT_ENOMEM;
    }
    l->wmask = l->tmpl + size;
    l->w1cmask = l->wmask + size;
    l->used = l->w1cmask + size;
    l->size = size;
    atomic_init(&l->refs, 1);
    *out = l;
    return 0;
}

struct pci_layout *
pci_layout_ref(struct pci_layout *layout)
{
    if (layout != NULL) {
        atomic_fetch_add_explicit(&layout->refs, 1, memory_order_relaxed);
    }
    return layout;
}

void
pci_layout_unref(struct pci_layout *layout)
{
    if (layout == NULL || atomic_fetch_sub_explicit(&layout->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    pv_free(layout->hooks);
    pv_free(layout->caps);
    pv_free(layout->tmpl);
    pv_free(layout);
}

uint32_t
pci_layout_size(const struct pci_layout *layout)
{
    return layout->size;
}

const uint8_t *
pci_layout_template(const struct pci_layout *layout)
{
    return layout->tmpl;
}

const uint8_t *
pci_layout_wmask(const struct pci_layout *layout)
{
    return layout->wmask;
}

const uint8_t *
pci_layout_w1cmask(const struct pci_layout *layout)
{
    return layout->w1cmask;
}

const uint8_t *
pci_layout_used(const struct pci_layout *layout)
{
    return layout->used;
}

/* Validate a 1..4-byte value access against a space of @size bytes. */
static int
check_value_access(uint32_t size, uint32_t off, unsigned len)
{
    if (len == 0 || len > 4) {
        return PCIVIRT_EINVAL;
    }
    return range_ok(size, off, len) ? 0 : PCIVIRT_ERANGE;
}

int
pci_layout_set(struct pci_layout *layout, uint32_t off, unsigned len, uint32_t val)
{
    int rc;

    if (layout == NULL) {
        return PCIVIRT_EINVAL;
    }
    rc = check_value_access(layout->size, off, len);
    if (rc == 0) {
        le_put(layout->tmpl + off, len, val);
    }
    return rc;
}

/* Set @mask bits in @dst and clear them in @other (a bit is RW or RW1C, never both). */
static int
set_mask(struct pci_layout *layout, uint8_t *dst, uint8_t *other, uint32_t off, unsigned len, uint32_t mask)
{
    int rc;

    if (layout == NULL) {
        return PCIVIRT_EINVAL;
    }
    rc = check_value_access(layout->size, off, len);
    if (rc != 0) {
        return rc;
    }
    for (unsigned i = 0; i < len; i++) {
        uint8_t m = (uint8_t)(mask >> (8 * i));

        dst[off + i] = m;
        other[off + i] &= (uint8_t)~m;
    }
    return 0;
}

int
pci_layout_set_wmask(struct pci_layout *layout, uint32_t off, unsigned len, uint32_t mask)
{
    return set_mask(layout, layout ? layout->wmask : NULL, layout ? layout->w1cmask : NULL, off, len, mask);
}

int
pci_layout_set_w1cmask(struct pci_layout *layout, uint32_t off, unsigned len, uint32_t mask)
{
    return set_mask(layout, layout ? layout->w1cmask : NULL, layout ? layout->wmask : NULL, off, len, mask);
}

int
pci_layout_set_bytes(struct pci_layout *layout, uint32_t off, const void *data, size_t len)
{
    if (layout == NULL || data == NULL) {
        return PCIVIRT_EINVAL;
    }
    if (!range_ok(layout->size, off, len)) {
        return PCIVIRT_ERANGE;
    }
    memcpy(layout->tmpl + off, data, len);
    return 0;
}

int
pci_layout_get(const struct pci_layout *layout, uint32_t off, unsigned len, uint32_t *val)
{
    int rc;

    if (layout == NULL || val == NULL) {
        return PCIVIRT_EINVAL;
    }
    rc = check_value_access(layout->size, off, len);
    *val = rc == 0 ? (uint32_t)le_get(layout->tmpl + off, len) : (rc == PCIVIRT_ERANGE ? 0xffffffffu : 0);
    return rc;
}

int
pci_layout_add_hook(struct pci_layout *layout, uint32_t off, uint32_t len, pci_config_hook_fn fn, void *opaque)
{
    struct pci_hook *hooks;
    unsigned pos;

    if (layout == NULL || fn == NULL) {
        return PCIVIRT_EINVAL;
    }
    if (!range_ok(layout->size, off, len)) {
        return PCIVIRT_ERANGE;
    }
    hooks = pv_realloc(layout->hooks, (layout->nhooks + 1) * sizeof(*hooks));
    if (hooks == NULL) {
        return PCIVIRT_ENOMEM;
    }
    layout->hooks = hooks;
    /* After every hook that starts at or before @off: ascending, stable. */
    pos = layout->nhooks;
    while (pos > 0 && hooks[pos - 1].off > off) {
        hooks[pos] = hooks[pos - 1];
        pos--;
    }
    hooks[pos] = (struct pci_hook){.off = off, .len = len, .fn = fn, .opaque = opaque};
    layout->nhooks++;
    return 0;
}

int
pci_layout_record_cap(struct pci_layout *layout, uint16_t offset, uint16_t size, uint16_t id, bool extended)
{
    struct pci_cap_rec *caps = pv_realloc(layout->caps, (layout->ncaps + 1) * sizeof(*caps));

    if (caps == NULL) {
        return PCIVIRT_ENOMEM;
    }
    layout->caps = caps;
    caps[layout->ncaps++] = (struct pci_cap_rec){.offset = offset, .size = size, .id = id, .extended = extended};
    return 0;
}

int
pci_layout_init_type0(struct pci_layout *layout, const struct pci_header_params *p)
{
    uint8_t *t;

    if (layout == NULL || p == NULL || p->interrupt_pin > 4 ||
        (p->header_type & PCI_HEADER_TYPE_MASK) != PCI_HEADER_TYPE_NORMAL) {
        return PCIVIRT_EINVAL;
    }
    t = layout->tmpl;
    le16_put(t + PCI_VENDOR_ID, p->vendor_id);
    le16_put(t + PCI_DEVICE_ID, p->device_id);
    t[PCI_REVISION_ID] = p->revision;
    le_put(t + PCI_CLASS_PROG, 3, p->class_code);
    t[PCI_HEADER_TYPE] = p->header_type;
    le16_put(t + PCI_SUBSYSTEM_VENDOR_ID, p->subsys_vendor_id);
    le16_put(t + PCI_SUBSYSTEM_ID, p->subsys_id);
    t[PCI_INTERRUPT_PIN] = p->interrupt_pin;
    pci_open_type0(layout);
    return 0;
}

void
pci_open_type0(struct pci_layout *layout)
{
    /* Command (PCIe Base 7.5.1.1.3): the bits a PCIe function implements as RW;
     * Interrupt Disable only matters with an interrupt pin but is RW regardless. */
    pci_layout_set_wmask(layout, PCI_COMMAND, 2,
                         PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |
                             PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
    pci_layout_set_w1cmask(layout, PCI_STATUS, 2, PCI_STATUS_W1C);
    pci_layout_set_wmask(layout, PCI_CACHE_LINE_SIZE, 1, 0xff);
    pci_layout_set_wmask(layout, PCI_INTERRUPT_LINE, 1, 0xff);
    memset(layout->used, 1, PCI_CAP_MIN_OFFSET);
}

/* Check a BAR request; fills @err naming the BAR. */
static int
check_bar(unsigned bar, uint64_t size, unsigned flags, struct pcivirt_error *err)
{
    bool io = (flags & PCI_BAR_IO) != 0;
    bool is64 = (flags & PCI_BAR_MEM64) != 0;

    pcivirt_error_locate(err, NULL, 0, "BAR");
    if (bar > 5 || (flags & ~(PCI_BAR_IO | PCI_BAR_MEM64 | PCI_BAR_PREFETCH)) != 0 ||
        (io && (flags & ~PCI_BAR_IO) != 0)) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "BAR%u: bad index or flags 0x%x", bar, flags);
    }
    if (is64 && bar == 5) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "BAR5 cannot be 64-bit (needs BAR6 for its upper half)");
    }
    if (size == 0 || (size & (size - 1)) != 0 || size < (io ? 4u : 16u) || (io && size > 256) ||
        (!is64 && size > 0x80000000u) || size > (UINT64_C(1) << 63)) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "BAR%u: size 0x%llx is not a valid %s BAR size", bar,
                                 (unsigned long long)size, io ? "I/O" : (is64 ? "64-bit" : "32-bit"));
    }
    return 0;
}

int
pci_layout_add_bar(struct pci_layout *layout, unsigned bar, uint64_t size, unsigned flags, struct pcivirt_error *err)
{
    uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * bar;
    uint64_t mask = ~(size - 1);
    int rc;

    if (layout == NULL) {
        return PCIVIRT_EINVAL;
    }
    rc = check_bar(bar, size, flags, err);
    if (rc != 0) {
        return rc;
    }
    if (le32_get(layout->wmask + reg) != 0 || le32_get(layout->tmpl + reg) != 0 ||
        ((flags & PCI_BAR_MEM64) &&
         (le32_get(layout->wmask + reg + 4) != 0 || le32_get(layout->tmpl + reg + 4) != 0))) {
        return pcivirt_error_set(err, PCIVIRT_EEXIST, "BAR%u is already implemented", bar);
    }
    if (flags & PCI_BAR_IO) {
        pci_layout_set(layout, reg, 4, PCI_BASE_ADDRESS_SPACE_IO);
        pci_layout_set_wmask(layout, reg, 4, (uint32_t)mask & PCI_BASE_ADDRESS_IO_MASK);
        return 0;
    }
    pci_layout_set(layout, reg, 4, flags & (PCI_BAR_MEM64 | PCI_BAR_PREFETCH));
    pci_layout_set_wmask(layout, reg, 4, (uint32_t)mask & PCI_BASE_ADDRESS_MEM_MASK);
    if (flags & PCI_BAR_MEM64) {
        pci_layout_set_wmask(layout, reg + 4, 4, (uint32_t)(mask >> 32));
    }
    return 0;
}

int
pci_layout_set_bar_size(struct pci_layout *layout, unsigned bar, uint64_t size, struct pcivirt_error *err)
{
    uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * bar;
    unsigned flags;
    int rc;

    if (layout == NULL || bar > 5) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "BAR%u does not exist", bar);
    }
    if (pci_bar_is_upper(layout->tmpl + PCI_BASE_ADDRESS_0, bar)) {
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "BAR%u is the upper half of 64-bit BAR%u", bar, bar - 1);
    }
    flags = layout->tmpl[reg] & PCI_BASE_ADDRESS_SPACE_IO ? PCI_BAR_IO
                                                          : layout->tmpl[reg] & (PCI_BAR_MEM64 | PCI_BAR_PREFETCH);
    rc = check_bar(bar, size, flags, err);
    if (rc != 0) {
        return rc;
    }
    pci_layout_set_wmask(layout, reg, 4,
                         (uint32_t) ~(size - 1) &
                             (flags & PCI_BAR_IO ? PCI_BASE_ADDRESS_IO_MASK : PCI_BASE_ADDRESS_MEM_MASK));
    if (flags & PCI_BAR_MEM64) {
        pci_layout_set_wmask(layout, reg + 4, 4, (uint32_t)(~(size - 1) >> 32));
    }
    return 0;
}

/* ---- functions ------------------------------------------------------------------------ */

void
pci_config_init(struct pci_config *cfg, struct pci_layout *layout, void *owner)
{
    cfg->layout = pci_layout_ref(layout);
    cfg->bytes = NULL;
    cfg->owner = owner;
}

void
pci_config_fini(struct pci_config *cfg)
{
    if (cfg == NULL) {
        return;
    }
    pv_free(cfg->bytes);
    pci_layout_unref(cfg->layout);
    cfg->bytes = NULL;
    cfg->layout = NULL;
}

int
pci_config_create(struct pci_layout *layout, void *owner, struct pci_config **out)
{
    struct pci_config *cfg;

    if (layout == NULL || out == NULL) {
        return PCIVIRT_EINVAL;
    }
    cfg = pv_malloc(sizeof(*cfg));
    *out = cfg;
    if (cfg == NULL) {
        return PCIVIRT_ENOMEM;
    }
    pci_config_init(cfg, layout, owner);
    return 0;
}

void
pci_config_destroy(struct pci_config *cfg)
{
    pci_config_fini(cfg);
    pv_free(cfg);
}

void *
pci_config_owner(const struct pci_config *cfg)
{
    return cfg->owner;
}

uint32_t
pci_config_size(const struct pci_config *cfg)
{
    return cfg->layout->size;
}

const uint8_t *
pci_config_bytes(const struct pci_config *cfg)
{
    return cfg->bytes != NULL ? cfg->bytes : cfg->layout->tmpl;
}

size_t
pci_config_private_bytes(const struct pci_config *cfg)
{
    return cfg->bytes != NULL ? cfg->layout->size : 0;
}

int
pci_config_read(const struct pci_config *cfg, uint32_t off, unsigned len, uint32_t *val)
{
    int rc;

    if (val == NULL) {
        return PCIVIRT_EINVAL;
    }
    if (cfg == NULL || cfg->layout == NULL) {
        *val = 0;
        return PCIVIRT_EINVAL;
    }
    rc = check_value_access(cfg->layout->size, off, len);
    if (rc != 0) {
        *val = rc == PCIVIRT_ERANGE ? 0xffffffffu : 0;
        return rc;
    }
    *val = (uint32_t)le_get(pci_config_bytes(cfg) + off, len);
    return 0;
}

int
pci_config_read_bytes(const struct pci_config *cfg, uint32_t off, void *buf, size_t len)
{
    if (cfg == NULL || cfg->layout == NULL || buf == NULL || len == 0) {
        return PCIVIRT_EINVAL;
    }
    if (!range_ok(cfg->layout->size, off, len)) {
        memset(buf, 0xff, len);
        return PCIVIRT_ERANGE;
    }
    memcpy(buf, pci_config_bytes(cfg) + off, len);
    return 0;
}

/* Give @cfg its private copy of the template.  Return 0 or PCIVIRT_ENOMEM. */
static int
materialize(struct pci_config *cfg)
{
    if (cfg->bytes != NULL) {
        return 0;
    }
    cfg->bytes = pv_malloc(cfg->layout->size);
    if (cfg->bytes == NULL) {
        return PCIVIRT_ENOMEM;
    }
    memcpy(cfg->bytes, cfg->layout->tmpl, cfg->layout->size);
    return 0;
}

/* The merge rule of STYLE.md rule 1 for one byte. */
static inline uint8_t
merge_byte(uint8_t cur, uint8_t val, uint8_t wmask, uint8_t w1c)
{
    uint8_t v = (uint8_t)((cur & ~wmask) | (val & wmask));

    return (uint8_t)(v & ~(val & w1c));
}

/* Run every hook overlapping the write, in order; return the first error. */
static int
run_hooks(struct pci_config *cfg, struct pci_hook_event *ev, struct pcivirt_error *err)
{
    const struct pci_layout *l = cfg->layout;
    int first = 0;

    for (unsigned i = 0; i < l->nhooks; i++) {
        const struct pci_hook *h = &l->hooks[i];
        int rc;

        if (h->off >= ev->offset + ev->length) {
            break; /* sorted by start: no later hook can overlap */
        }
        if (h->off + h->len <= ev->offset) {
            continue;
        }
        ev->hook_offset = h->off;
        ev->hook_length = h->len;
        rc = h->fn(h->opaque, cfg, ev, err);
        if (rc < 0 && first == 0) {
            first = rc;
        }
    }
    return first;
}

int
pci_config_write_bytes(struct pci_config *cfg, uint32_t off, const void *data, size_t len, struct pcivirt_error *err)
{
    uint8_t old[PCI_CFG_SIZE_EXT];
    const uint8_t *in = data;
    const struct pci_layout *l;
    const uint8_t *cur;
    bool changes = false;
    struct pci_hook_event ev;

    if (cfg == NULL || cfg->layout == NULL || data == NULL || len == 0) {
        return PCIVIRT_EINVAL;
    }
    l = cfg->layout;
    if (!range_ok(l->size, off, len)) {
        return PCIVIRT_ERANGE;
    }
    cur = pci_config_bytes(cfg);
    for (size_t i = 0; i < len && !changes; i++) {
        changes = merge_byte(cur[off + i], in[i], l->wmask[off + i], l->w1cmask[off + i]) != cur[off + i];
    }
    if (changes && materialize(cfg) != 0) {
        return PCIVIRT_ENOMEM;
    }
    memcpy(old, pci_config_bytes(cfg) + off, len);
    if (changes) {
        for (size_t i = 0; i < len; i++) {
            cfg->bytes[off + i] = merge_byte(old[i], in[i], l->wmask[off + i], l->w1cmask[off + i]);
        }
    }
    ev = (struct pci_hook_event){.offset = off, .length = (uint32_t)len, .data = in, .old = old};
    return run_hooks(cfg, &ev, err);
}

/* A 1..4-byte value access to @cfg checked, and @val's @len bytes put in @buf. */
static int
value_bytes(const struct pci_config *cfg, uint32_t off, unsigned len, uint32_t val, uint8_t buf[4])
{
    int rc;

    if (cfg == NULL || cfg->layout == NULL) {
        return PCIVIRT_EINVAL;
    }
    rc = check_value_access(cfg->layout->size, off, len);
    if (rc == 0) {
        le_put(buf, len, val);
    }
    return rc;
}

int
pci_config_write(struct pci_config *cfg, uint32_t off, unsigned len, uint32_t val, struct pcivirt_error *err)
{
    uint8_t buf[4];
    int rc = value_bytes(cfg, off, len, val, buf);

    return rc != 0 ? rc : pci_config_write_bytes(cfg, off, buf, len, err);
}

int
pci_config_poke_bytes(struct pci_config *cfg, uint32_t off, const void *data, size_t len)
{
    if (cfg == NULL || cfg->layout == NULL || data == NULL || len == 0) {
        return PCIVIRT_EINVAL;
    }
    if (!range_ok(cfg->layout->size, off, len)) {
        return PCIVIRT_ERANGE;
    }
    if (cfg->bytes == NULL && memcmp(cfg->layout->tmpl + off, data, len) == 0) {
        return 0; /* same as the template: stay shared */
    }
    if (materialize(cfg) != 0) {
        return PCIVIRT_ENOMEM;
    }
    memcpy(cfg->bytes + off, data, len);
    return 0;
}

int
pci_config_poke(struct pci_config *cfg, uint32_t off, unsigned len, uint32_t val)
{
    uint8_t buf[4];
    int rc = value_bytes(cfg, off, len, val, buf);

    return rc != 0 ? rc : pci_config_poke_bytes(cfg, off, buf, len);
}

void
pci_config_reset(struct pci_config *cfg)
{
    if (cfg != NULL) {
        pv_free(cfg->bytes);
        cfg->bytes = NULL;
    }
}

bool
pci_hook_touches(const struct pci_hook_event *ev, uint32_t off, unsigned len)
{
    return off < ev->offset + ev->length && ev->offset < off + len;
}

uint32_t
pci_hook_old(const struct pci_hook_event *ev, const struct pci_config *cfg, uint32_t off, unsigned len)
{
    const uint8_t *cur = pci_config_bytes(cfg);
    uint32_t v = 0;

    if (check_value_access(cfg->layout->size, off, len) != 0) {
        return 0xffffffffu;
    }
    for (unsigned i = 0; i < len; i++) {
        uint32_t a = off + i;
        uint8_t b = (a >= ev->offset && a < ev->offset + ev->length) ? ev->old[a - ev->offset] : cur[a];

        v |= (uint32_t)b << (8 * i);
    }
    return v;
}

uint32_t
pci_hook_written(const struct pci_hook_event *ev, uint32_t off, unsigned len)
{
    uint32_t v = 0;

    for (unsigned i = 0; i < len && i < 4; i++) {
        uint32_t a = off + i;

        if (a >= ev->offset && a < ev->offset + ev->length) {
            v |= (uint32_t)ev->data[a - ev->offset] << (8 * i);
        }
    }
    return v;
}
