/*
 * vsp/vpci_mmio.c - guest MMIO: the config window, emulated registers, VF BARs.
 *
 * The config window (contract.md 8.4) is two pages at the GPA the guest gave in
 * BUS_D0ENTRY: a 32-bit slot-select register at page 0 offset 0 and the selected
 * function's config space in page 1.  Config accesses go to ReadVfConfig /
 * WriteVfConfig except the registers the stack itself emulates (docs/STACK.md,
 * contract 10.20):
 *
 *   0x00-0x03  Vendor/Device ID     from GetVendorAndDevice (a VF reads all-ones)
 *   0x04 bit 1 Memory Space Enable  the stack's own: it decides whether the guest
 *                                   BAR addresses decode (a VF's is RsvdP)
 *   0x10-0x27  BAR0-5               guest addresses, sized by the probed values;
 *                                   writes ignored while Memory Space is enabled (8.5)
 *   0x30-0x33  Expansion ROM BAR    reads 0, writes dropped
 *   0x3C-0x3D  Interrupt Line/Pin   read 0 (MSI/MSI-X only, 8.1)
 *
 * A read fetches the whole access from the PF and overlays the emulated bytes; a
 * write is split into runs: emulated bytes are applied here, the runs between are
 * forwarded.  So whatever the PF's permission table allows, the guest can never
 * move a BAR on the device or see the VF's real (all-ones) IDs.
 *
 * BAR accesses: the guest address is looked up among the slots' BARs (at most 32
 * slots x 6 BARs, independent of how many VFs exist); the page's trap bits
 * (vsp/intercept.h, O(1)) decide between ReadWriteMitigatedRegister and a direct
 * access at host address GetResourceForBar + offset on the platform.
 */
#include "vsp/vpci_internal.h"

#include <string.h>

#include "util/le.h"

#define CFG_SIZE 0x1000u

/* ---- emulated registers ------------------------------------------------------------ */

uint64_t
vpci_bar_address(const struct vpci_slot *s, unsigned bar)
{
    uint64_t a = s->bar_reg[bar] & s->bars.probed[bar] & ~0xFu;

    if (s->bars.is64[bar]) {
        a |= (uint64_t)(s->bar_reg[bar + 1] & s->bars.probed[bar + 1]) << 32;
    }
    return a;
}

/* What BAR register @i reads: the guest's address bits under the size mask, plus type bits. */
static uint32_t
bar_value(const struct vpci_slot *s, unsigned i)
{
    if (s->bars.upper[i]) {
        return s->bar_reg[i] & s->bars.probed[i];
    }
    if (s->bars.size[i] == 0) {
        return 0;
    }
    return (s->bar_reg[i] & s->bars.probed[i] & ~0xFu) | (s->bars.probed[i] & 0xFu);
}

/* Emulated byte at config offset @off: true and *@v set, or false when forwarded. */
static bool
emulated_byte(const struct vpci_slot *s, uint32_t off, uint8_t *v)
{
    uint8_t id[4];

    if (off < 0x04) {
        le16_put(id, s->desc.vendor_id);
        le16_put(id + 2, s->desc.device_id);
        *v = id[off];
        return true;
    }
    if (off >= 0x10 && off < 0x28) {
        uint8_t b[4];

        le32_put(b, bar_value(s, (off - 0x10) / 4));
        *v = b[off & 3];
        return true;
    }
    if ((off >= 0x30 && off < 0x34) || off == 0x3C || off == 0x3D) {
        *v = 0;
        return true;
    }
    return false;
}

int
vpci_config_read(struct vsp_vpci_host *h, struct vpci_slot *s, uint32_t off, uint8_t *data, uint32_t len)
{
    NTSTATUS st = vsp_pf_read_config(s->pf, s->vf, off, data, len);

    if (!NT_SUCCESS(st)) {
        memset(data, 0xFF, len);
        vpci_guest_error(h, s, st, off, "ReadVfConfig(0x%x, %u) failed", off, len);
    }
    for (uint32_t i = 0; i < len; i++) {
        uint8_t v;

        if (emulated_byte(s, off + i, &v)) {
            data[i] = v;
        } else if (off + i == 0x04) {
            data[i] = (uint8_t)((data[i] & ~0x02u) | (s->mse ? 0x02u : 0));
        }
    }
    return 0;
}

/* Apply one written byte to an emulated BAR register; false when ignored (contract.md 8.5). */
static bool
bar_write_byte(struct vpci_slot *s, uint32_t off, uint8_t v)
{
    unsigned i = (off - 0x10) / 4;
    unsigned shift = (off & 3) * 8;

    if (s->mse) {
        return false;
    }
    s->bar_reg[i] = (s->bar_reg[i] & ~(0xFFu << shift)) | ((uint32_t)v << shift);
    return true;
}

/* Forward the run [@off, @off + @len) to WriteVfConfig. */
static void
forward_write(struct vsp_vpci_host *h, struct vpci_slot *s, uint32_t off, const uint8_t *data, uint32_t len)
{
    NTSTATUS st;

    if (len == 0) {
        return;
    }
    st = vsp_pf_write_config(s->pf, s->vf, off, data, len);
    if (!NT_SUCCESS(st)) {
        vpci_guest_error(h, s, st, off, "WriteVfConfig(0x%x, %u) refused", off, len);
    }
}

int
vpci_config_write(struct vsp_vpci_host *h, struct vpci_slot *s, uint32_t off, const uint8_t *data, uint32_t len)
{
    uint32_t run = 0; /* start index of the current forwarded run */
    bool ignored = false;

    for (uint32_t i = 0; i < len; i++) {
        uint32_t o = off + i;
        uint8_t dummy;

        if (o == 0x04) {
            s->mse = (data[i] & 0x02u) != 0;
        }
        if (!emulated_byte(s, o, &dummy)) {
            continue;
        }
        forward_write(h, s, off + run, data + run, i - run);
        run = i + 1;
        if (o >= 0x10 && o < 0x28 && !bar_write_byte(s, o, data[i])) {
            ignored = true;
        }
    }
    forward_write(h, s, off + run, data + run, len - run);
    if (ignored) {
        /* Hyper-V ignores BAR writes while Memory Space is on; say so for the guest's author. */
        vpci_guest_error(h, s, STATUS_SUCCESS, off, "BAR write at 0x%x ignored: Memory Space enabled", off);
    }
    return 0;
}

/* ---- the config window ---------------------------------------------------------------- */

/* The slot the select register names, or NULL (empty, not yet enumerated, reserved bits, function != 0). */
static struct vpci_slot *
selected(struct vsp_vpci_host *h)
{
    uint32_t sel = atomic_load(&h->slot_select);
    struct vpci_slot *s;

    if (!vpci_slot_valid(sel) || vpci_slot_function(sel) != 0) {
        return NULL;
    }
    s = &h->slots[vpci_slot_device(sel)];
    return s->present && s->reqs_queried ? s : NULL; /* enumerated exposures only (vpci_host.c) */
}

/* An access inside the window (host lock held; exclusive for writes). */
static int
window_access(struct vsp_vpci_host *h, uint64_t off, bool write, uint8_t *data, uint32_t len)
{
    struct vpci_slot *s;

    if (off < VPCI_CONFIG_WINDOW_CONFIG_OFF) {
        if (off == VPCI_CONFIG_WINDOW_SLOT_OFF && len == 4) {
            if (write) {
                atomic_store(&h->slot_select, le32_get(data));
            } else {
                le32_put(data, atomic_load(&h->slot_select));
            }
        } else if (!write) {
            memset(data, 0, len);
        }
        return 0;
    }
    off -= VPCI_CONFIG_WINDOW_CONFIG_OFF;
    if (off + len > CFG_SIZE || len > 4) {
        return PCIVIRT_ERANGE;
    }
    s = selected(h);
    if (s == NULL) {
        return PCIVIRT_ENOENT; /* no function: all-ones, as an unsupported request */
    }
    if (write) {
        atomic_fetch_add(&h->st.config_writes, 1);
        return vpci_config_write(h, s, (uint32_t)off, data, len);
    }
    atomic_fetch_add(&h->st.config_reads, 1);
    return vpci_config_read(h, s, (uint32_t)off, data, len);
}

/* ---- BARs ---------------------------------------------------------------------------------- */

/* Which slot and BAR decode [@gpa, @gpa + @len); ERANGE when it straddles a BAR's end. */
static int
find_bar(struct vsp_vpci_host *h, uint64_t gpa, uint32_t len, struct vpci_slot **out, unsigned *bar, uint64_t *off)
{
    for (unsigned i = 0; i < VSP_VPCI_SLOTS; i++) {
        struct vpci_slot *s = &h->slots[i];

        if (!s->present || !s->assigned || !s->mse) {
            continue;
        }
        for (unsigned b = 0; b < PCI_TYPE0_ADDRESSES; b++) {
            uint64_t base = vpci_bar_address(s, b);
            uint64_t size = s->bars.size[b];

            if (size == 0 || base == 0 || gpa < base || gpa - base >= size) {
                continue;
            }
            if (gpa - base + len > size) {
                return PCIVIRT_ERANGE;
            }
            *out = s;
            *bar = b;
            *off = gpa - base;
            return 0;
        }
    }
    return PCIVIRT_ENOENT;
}

/*
 * One dispatch of a BAR access: trapped (ReadWriteMitigatedRegister; *@st its
 * status, PCIVIRT_EACCES when refused) or direct (the platform's code).  *@gen
 * receives the trap map's generation the decision was made under.
 */
static int
bar_dispatch(struct vsp_vpci_host *h, struct vpci_slot *s, unsigned bar, uint64_t off, bool write, uint8_t *data,
             uint32_t len, uint64_t *gen, NTSTATUS *st)
{
    uint64_t host = s->host_base[bar] + off;

    *st = STATUS_SUCCESS;
    *gen = s->traps != NULL ? vsp_intercept_generation(s->traps) : 0;
    if (s->traps != NULL && vsp_intercept_traps(s->traps, bar, off, len, write)) {
        atomic_fetch_add(&h->st.mmio_trapped, 1);
        *st = vsp_pf_mitigated(s->pf, s->vf, !write, (uint16_t)bar, off, len, data);
        return NT_SUCCESS(*st) ? 0 : PCIVIRT_EACCES;
    }
    atomic_fetch_add(&h->st.mmio_direct, 1);
    return write ? pv_platform_write(h->vpci->cfg.platform, host, data, len)
                 : pv_platform_read(h->vpci->cfg.platform, host, data, len);
}

/*
 * A PF refuses a trapped access outside its ranges (STATUS_INVALID_PARAMETER).
 * When the map was rebuilt between the trap decision and the PF's check, the
 * decision was taken on ranges the PF no longer has and had already told the
 * stack so: the access is dispatched once more under the new map (the refused
 * one did nothing).  Before the rebuild the PF's grace rule serves it
 * (docs/CONTRACT-DECISIONS.md, 6.12).
 */
static int
bar_access(struct vsp_vpci_host *h, struct vpci_slot *s, unsigned bar, uint64_t off, bool write, uint8_t *data,
           uint32_t len)
{
    uint64_t gen = 0;
    NTSTATUS st;
    int rc = bar_dispatch(h, s, bar, off, write, data, len, &gen, &st);

    if (st == STATUS_INVALID_PARAMETER && vsp_intercept_generation(s->traps) != gen) {
        rc = bar_dispatch(h, s, bar, off, write, data, len, &gen, &st);
    }
    if (rc == PCIVIRT_EACCES) {
        if (!write) {
            memset(data, 0xFF, len);
        }
        vpci_guest_error(h, s, st, off, "ReadWriteMitigatedRegister(BAR%u, 0x%llx, %u) refused", bar,
                         (unsigned long long)off, len);
    }
    return rc;
}

/* ---- entry points --------------------------------------------------------------------------- */

static int
mmio(struct vsp_vpci_host *h, uint64_t gpa, bool write, uint8_t *data, uint32_t len)
{
    struct vpci_slot *s;
    unsigned bar;
    uint64_t off;
    int rc;

    if (len < 1 || len > 8 || data == NULL) {
        return PCIVIRT_EINVAL;
    }
    pthread_rwlock_rdlock(&h->lock);
    if (write && h->d0 && gpa >= h->window + VPCI_CONFIG_WINDOW_CONFIG_OFF &&
        gpa - h->window < VPCI_CONFIG_WINDOW_SIZE) {
        /* Config writes change emulated state (BARs, Memory Space): exclusive. */
        pthread_rwlock_unlock(&h->lock);
        pthread_rwlock_wrlock(&h->lock);
    }
    if (h->d0 && gpa >= h->window && gpa - h->window < VPCI_CONFIG_WINDOW_SIZE) {
        rc = gpa - h->window + len > VPCI_CONFIG_WINDOW_SIZE ? PCIVIRT_ERANGE
                                                             : window_access(h, gpa - h->window, write, data, len);
    } else {
        rc = find_bar(h, gpa, len, &s, &bar, &off);
        rc = rc == 0 ? bar_access(h, s, bar, off, write, data, len) : rc;
    }
    pthread_rwlock_unlock(&h->lock);
    if (rc == PCIVIRT_ENOENT || rc == PCIVIRT_ERANGE) {
        atomic_fetch_add(&h->st.mmio_unclaimed, 1);
        if (!write) {
            memset(data, 0xFF, len);
        }
    }
    return rc;
}

int
vsp_vpci_host_mmio_read(struct vsp_vpci_host *host, uint64_t gpa, void *data, uint32_t len)
{
    return mmio(host, gpa, false, data, len);
}

int
vsp_vpci_host_mmio_write(struct vsp_vpci_host *host, uint64_t gpa, const void *data, uint32_t len)
{
    uint8_t buf[8];

    if (len < 1 || len > 8 || data == NULL) {
        return PCIVIRT_EINVAL;
    }
    memcpy(buf, data, len);
    return mmio(host, gpa, true, buf, len);
}
