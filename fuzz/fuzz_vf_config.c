/*
 * fuzz/fuzz_vf_config.c - guest-style config accesses on VFs through the bus
 * interface, against a shadow model of the VF rules (device-model.md 3, 7).
 *
 * Why it is shaped so.  A VF's config space is what a guest pokes at; the
 * device must keep the VF rules whatever it is sent.  The harness builds the
 * default device with 8 VFs, snapshots two VFs and the PF, and derives - with
 * its own capability walk, not the engine's - a map of bytes the rules say can
 * never change: the IDs (0xFFFF), class, revision, header type, BIST, BARs and
 * ROM (hardwired 0), subsystem IDs, capability pointer, interrupt line/pin;
 * every capability header; PMC, MSI-X table/PBA locations, PCIe capabilities,
 * Device Capabilities (FLR set), Device Control bits 0-14 / Link Control /
 * Device Control 2 (VF RsvdP), link and device capabilities 2; and every byte
 * outside the header and the capabilities.  The fuzzer then sends reads,
 * writes (any offset, 1..8 bytes), FLRs, PM transitions, VF disable/enable and
 * accesses to routing IDs with no function.  After every operation:
 *
 *  - every never-changing byte of both VFs equals its snapshot;
 *  - Command reads exactly the Bus Master Enable the shadow predicts, nothing
 *    else (Memory Space is RsvdP in a VF);
 *  - an FLR, a D3hot->D0 transition without No_Soft_Reset, a function reset or
 *    VF disable/enable brings the VF back to its snapshot byte for byte;
 *  - the other VF and the PF never change (no write outside the VF's own state);
 *  - a routing ID with no function reads all-ones and swallows writes;
 *  - an access outside 0..4095 or of length 0 is refused and changes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "dev/sriov_dev.h"
#include "pci/regs.h"
#include "util/le.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NVFS 8
#define CFG 4096

struct vf_shadow {
    uint16_t rid;
    uint8_t init[CFG];
    bool bme;
    unsigned pstate; /* PMCSR PowerState the VF is in */
};

struct harness {
    struct pv_sriov_dev *dev;
    PCIVIRT_BUS_INTERFACE bus;
    struct vf_shadow vf[2];
    uint8_t pf[CFG];
    uint8_t ro[CFG]; /* 1: the byte never changes in a VF */
    uint16_t pm, exp;
    bool nsr, d1, d2;
};

static void
mark(struct harness *h, uint32_t off, uint32_t len, uint8_t v)
{
    for (uint32_t i = off; i < off + len && i < CFG; i++) {
        h->ro[i] = v;
    }
}

/* Capability extents the rules cover; unknown capabilities keep only their header fixed. */
static void
mark_std_cap(struct harness *h, const uint8_t *c, uint16_t off)
{
    mark(h, off, 2, 1); /* ID, next */
    switch (c[off]) {
    case PCI_CAP_ID_PM:
        h->pm = off;
        mark(h, off + 2, 2, 1); /* PMC */
        mark(h, off + 4, 4, 0); /* PMCSR: modelled */
        mark(h, off + 6, 2, 1); /* bridge extensions, data */
        break;
    case PCI_CAP_ID_MSIX:
        mark(h, off + 2, 1, 1); /* table size low bits */
        mark(h, off + 3, 1, 0); /* enable, function mask */
        mark(h, off + 4, 8, 1); /* table and PBA offset/BIR */
        break;
    case PCI_CAP_ID_EXP:
        h->exp = off;
        mark(h, off + 2, 0x3a, 0);
        mark(h, off + 0x02, 2, 1); /* PCIe capabilities */
        mark(h, off + 0x04, 4, 1); /* Device Capabilities */
        mark(h, off + 0x08, 2, 1); /* Device Control: RsvdP but FLR, which reads 0 */
        mark(h, off + 0x0c, 4, 1); /* Link Capabilities */
        mark(h, off + 0x10, 2, 1); /* Link Control: RsvdP */
        mark(h, off + 0x24, 4, 1); /* Device Capabilities 2 */
        mark(h, off + 0x28, 2, 1); /* Device Control 2: RsvdP */
        mark(h, off + 0x2c, 4, 1); /* Link Capabilities 2 */
        break;
    default: mark(h, off + 2, 0x100 - off - 2u, 0); break;
    }
}

static void
build_ro_map(struct harness *h)
{
    const uint8_t *c = h->vf[0].init;
    uint16_t off = c[PCI_CAPABILITY_LIST] & 0xfc;
    unsigned steps = 0;

    memset(h->ro, 1, sizeof(h->ro));
    mark(h, PCI_COMMAND, 4, 0); /* Command and Status: modelled / RW1C */
    while (off >= 0x40 && steps++ < 48) {
        mark_std_cap(h, c, off);
        off = c[off + 1] & 0xfc;
    }
    for (off = 0x100, steps = 0; off >= 0x100 && off < CFG && le32_get(c + off) != 0 && steps++ < 960;
         off = (uint16_t)(le32_get(c + off) >> 20)) {
        uint16_t id = (uint16_t)(le32_get(c + off) & 0xffff);

        CHECK(id != PCI_ECAP_ID_SRIOV); /* never in a VF (3.2) */
        if (id == PCI_ECAP_ID_ARI) {
            mark(h, off + 6, 2, 0); /* ARI Control; the header and ARI Capability stay fixed */
        } else {
            mark(h, off + 4, CFG, 0); /* unknown here: only its header is checked */
        }
    }
}

/* device-model.md 3.1 on the snapshot itself. */
static void
check_snapshot_rules(const struct harness *h, const uint8_t *c)
{
    static const uint8_t zero[0x18];

    CHECK(le32_get(c + PCI_VENDOR_ID) == 0xffffffffu);
    CHECK(memcmp(c + PCI_BASE_ADDRESS_0, zero, 0x18) == 0 && le32_get(c + PCI_ROM_ADDRESS) == 0);
    CHECK(c[PCI_HEADER_TYPE] == 0 && c[PCI_INTERRUPT_PIN] == 0 && c[PCI_INTERRUPT_LINE] == 0);
    CHECK(memcmp(c + PCI_CLASS_PROG, h->pf + PCI_CLASS_PROG, 3) == 0);
    CHECK(le16_get(c + PCI_SUBSYSTEM_VENDOR_ID) == le16_get(h->pf + PCI_SUBSYSTEM_VENDOR_ID));
    CHECK(h->exp != 0 && (le32_get(c + h->exp + PCI_EXP_DEVCAP) & (1u << 28)) != 0);
    CHECK((le16_get(c + PCI_COMMAND) & ~PCI_COMMAND_MASTER) == 0);
}

static int
setup(struct harness *h, struct input *in)
{
    struct pv_profile p;

    pv_profile_default(&p);
    if (pv_sriov_create(&p, &h->dev, NULL) != 0 || pv_sriov_enable(h->dev, NVFS, NULL) != 0) {
        abort();
    }
    pv_sriov_bus_interface(h->dev, &h->bus);
    h->bus.InterfaceReference(h->bus.Context);
    CHECK(h->bus.config_read(h->bus.Context, pv_sriov_pf_rid(h->dev), 0, h->pf, CFG) == 0);
    for (int k = 0; k < 2; k++) {
        CHECK(pv_sriov_vf_rid(h->dev, k == 0 ? 0 : 1 + take(in, 1) % (NVFS - 1), &h->vf[k].rid) == 0);
        CHECK(h->bus.config_read(h->bus.Context, h->vf[k].rid, 0, h->vf[k].init, CFG) == 0);
    }
    CHECK(memcmp(h->vf[0].init, h->vf[1].init, CFG) == 0);
    build_ro_map(h);
    check_snapshot_rules(h, h->vf[0].init);
    if (h->pm != 0) {
        uint16_t pmc = le16_get(h->vf[0].init + h->pm + PCI_PM_PMC);

        h->nsr = (le16_get(h->vf[0].init + h->pm + PCI_PM_CTRL) & PCI_PM_CTRL_NO_SOFT_RESET) != 0;
        h->d1 = (pmc & (1u << 9)) != 0;
        h->d2 = (pmc & (1u << 10)) != 0;
    }
    return 0;
}

static void
reset_shadow(struct vf_shadow *v)
{
    v->bme = false;
    v->pstate = 0;
}

/* Everything a VF must look like now; @reset: it must equal its snapshot. */
static void
verify_vf(struct harness *h, struct vf_shadow *v, bool reset)
{
    static uint8_t now[CFG];

    CHECK(h->bus.config_read(h->bus.Context, v->rid, 0, now, CFG) == 0);
    if (reset) {
        CHECK(memcmp(now, v->init, CFG) == 0);
    }
    for (unsigned i = 0; i < CFG; i++) {
        CHECK(!h->ro[i] || now[i] == v->init[i]);
    }
    CHECK(le16_get(now + PCI_COMMAND) == (v->bme ? PCI_COMMAND_MASTER : 0));
    if (h->pm != 0) {
        CHECK((now[h->pm + PCI_PM_CTRL] & PCI_PM_CTRL_STATE_MASK) == v->pstate);
    }
}

static void
verify_all(struct harness *h, int reset_mask)
{
    static uint8_t pf_now[CFG];

    verify_vf(h, &h->vf[0], (reset_mask & 1) != 0);
    verify_vf(h, &h->vf[1], (reset_mask & 2) != 0);
    CHECK(h->bus.config_read(h->bus.Context, pv_sriov_pf_rid(h->dev), 0, pf_now, CFG) == 0);
    CHECK(memcmp(pf_now, h->pf, CFG) == 0);
}

/* The shadow's idea of a write's side effects (device-model 3.1 Command, 7.2 FLR, 7.3 PM). */
static bool
model_write(struct harness *h, struct vf_shadow *v, uint32_t off, const uint8_t *b, uint32_t len)
{
    bool reset = false;

    if (off <= PCI_COMMAND && off + len > PCI_COMMAND) {
        v->bme = (b[PCI_COMMAND - off] & PCI_COMMAND_MASTER) != 0;
    }
    if (h->pm != 0 && off <= h->pm + PCI_PM_CTRL && off + len > h->pm + PCI_PM_CTRL) {
        unsigned want = b[h->pm + PCI_PM_CTRL - off] & PCI_PM_CTRL_STATE_MASK;

        if ((want == 1 && !h->d1) || (want == 2 && !h->d2)) {
            want = v->pstate; /* an unsupported state is ignored */
        }
        reset = v->pstate == 3 && want == 0 && !h->nsr;
        v->pstate = want;
    }
    if (off <= h->exp + PCI_EXP_DEVCTL + 1u && off + len > h->exp + PCI_EXP_DEVCTL + 1u &&
        (b[h->exp + PCI_EXP_DEVCTL + 1 - off] & 0x80) != 0) {
        reset = true;
    }
    if (reset) {
        reset_shadow(v);
    }
    return reset;
}

static void
op_write(struct harness *h, struct input *in)
{
    int k = (int)(take(in, 1) & 1);
    struct vf_shadow *v = &h->vf[k];
    uint32_t off = take(in, 2) % (CFG + 8);
    uint32_t len = take(in, 1) % 9;
    uint8_t b[8];
    bool fits = len >= 1 && off + len <= CFG;
    int rc;

    for (uint32_t i = 0; i < sizeof(b); i++) {
        b[i] = (uint8_t)take(in, 1);
    }
    rc = h->bus.config_write(h->bus.Context, v->rid, (uint16_t)off, b, len);
    CHECK((rc == 0) == fits);
    verify_all(h, fits && rc == 0 && model_write(h, v, off, b, len) ? 1 << k : 0);
}

static void
op_read(struct harness *h, struct input *in)
{
    int k = (int)(take(in, 1) & 1);
    uint32_t off = take(in, 2) % (CFG + 8);
    uint32_t len = take(in, 1) % 9;
    uint8_t b[8];
    int rc = h->bus.config_read(h->bus.Context, h->vf[k].rid, (uint16_t)off, b, len);

    CHECK((rc == 0) == (len >= 1 && off + len <= CFG));
    for (uint32_t i = 0; rc == 0 && i < len; i++) {
        CHECK(!h->ro[off + i] || b[i] == h->vf[k].init[off + i]);
    }
}

/* A routing ID with no function behind it: all-ones, writes swallowed, nothing changes. */
static void
op_nobody(struct harness *h, struct input *in)
{
    uint16_t last, rid;
    uint8_t b[4] = {0, 0, 0, 0};

    CHECK(pv_sriov_vf_rid(h->dev, NVFS - 1, &last) == 0);
    rid = (uint16_t)(last + 1 + take(in, 1));
    if (rid == pv_sriov_pf_rid(h->dev)) {
        return;
    }
    CHECK(h->bus.config_read(h->bus.Context, rid, PCI_COMMAND, b, 4) == 0 && le32_get(b) == 0xffffffffu);
    b[0] = 0x07;
    CHECK(h->bus.config_write(h->bus.Context, rid, PCI_COMMAND, b, 2) == 0);
    verify_all(h, 0);
}

static void
one_op(struct harness *h, struct input *in)
{
    switch (take(in, 1) % 8) {
    case 0:
    case 1:
    case 2: op_write(h, in); break;
    case 3: op_read(h, in); break;
    case 4: {
        int k = (int)(take(in, 1) & 1);

        CHECK(h->bus.function_reset(h->bus.Context, h->vf[k].rid) == 0);
        reset_shadow(&h->vf[k]);
        verify_all(h, 1 << k);
        break;
    }
    case 5:
        /* No architected state survives VF Enable 1 -> 0 (3.3). */
        pv_sriov_disable(h->dev);
        CHECK(pv_sriov_enable(h->dev, NVFS, NULL) == 0);
        reset_shadow(&h->vf[0]);
        reset_shadow(&h->vf[1]);
        CHECK(h->bus.config_read(h->bus.Context, pv_sriov_pf_rid(h->dev), 0, h->pf, CFG) == 0);
        verify_all(h, 3);
        break;
    case 6: op_nobody(h, in); break;
    default: {
        /* Writes of the values just read back never change anything. */
        int k = (int)(take(in, 1) & 1);
        uint32_t off = take(in, 2) % (CFG - 4);
        uint8_t b[4];

        CHECK(h->bus.config_read(h->bus.Context, h->vf[k].rid, (uint16_t)off, b, 4) == 0);
        if (!(off <= h->exp + PCI_EXP_DEVCTL + 1u && off + 4 > h->exp + PCI_EXP_DEVCTL + 1u) &&
            !(h->pm != 0 && off <= h->pm + PCI_PM_CTRL && off + 4 > h->pm + PCI_PM_CTRL)) {
            static uint8_t before[CFG], after[CFG];

            CHECK(h->bus.config_read(h->bus.Context, h->vf[k].rid, 0, before, CFG) == 0);
            CHECK(h->bus.config_write(h->bus.Context, h->vf[k].rid, (uint16_t)off, b, 4) == 0);
            CHECK(h->bus.config_read(h->bus.Context, h->vf[k].rid, 0, after, CFG) == 0);
            /* RW1C bits written with 1 clear: only Status may differ. */
            for (unsigned i = 0; i < CFG; i++) {
                CHECK(before[i] == after[i] || i == PCI_STATUS || i == PCI_STATUS + 1u ||
                      (h->exp != 0 && i >= h->exp + 0x0au && i < h->exp + 0x0cu));
            }
        }
        break;
    }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct harness h;
    struct input in = {data, size};

    memset(&h, 0, sizeof(h));
    setup(&h, &in);
    verify_all(&h, 3);
    for (unsigned ops = 0; in.n > 0 && ops < 96; ops++) {
        one_op(&h, &in);
    }
    h.bus.InterfaceDereference(h.bus.Context);
    pv_sriov_destroy(h.dev);
    return 0;
}
