/*
 * fuzz/fuzz_config.c - libFuzzer target for config accesses with a shadow model.
 *
 * A function is built through the capability builder (every capability the
 * engine knows) plus fuzzer-chosen raw masks, then driven by a fuzzer-chosen
 * sequence of reads, writes (values and byte runs), pokes and resets at any
 * offset and length.  A shadow copy is updated with the merge rule written out
 * independently here; every read must equal it, every out-of-space access must
 * be refused without touching anything, and the hook must run exactly for writes
 * that overlap its range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "pci/caps.h"
#include "pci/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned hook_runs;
static uint32_t hook_off, hook_len; /* the registered range; hook_len 0 when none */

static int
hook(void *opaque, struct pci_config *cfg, const struct pci_hook_event *ev, struct pcivirt_error *err)
{
    hook_runs++;
    return 0;
}

static struct pci_layout *
build(struct input *in)
{
    struct pci_layout *l = NULL;
    uint32_t size = (take(in, 1) & 1) ? 4096 : 256;
    struct pci_header_params hp = {.vendor_id = 0x8086, .device_id = 0x10fb, .class_code = 0x020000};
    struct pci_pm_params pm = {.pmc = 0xc803};
    struct pci_msi_params msi = {.vectors = 8, .addr64 = true, .per_vector_mask = true};
    struct pci_msix_params mx = {.table_size = 64, .table_bir = 4, .pba_bir = 4, .pba_offset = 0x2000};
    struct pci_exp_params ex = {.type = PCI_EXP_TYPE_ENDPOINT, .devcap = PCI_EXP_DEVCAP_FLR};
    struct pci_aer_params aer = {0};
    struct pci_ari_params ari = {.next_function = 1, .cap_flags = PCI_ARI_CAP_ACS};
    struct pci_ats_params ats = {.queue_depth = 3};
    struct pci_sriov_params sp = {.initial_vfs = 8,
                                  .total_vfs = 8,
                                  .vf_offset = 1,
                                  .vf_stride = 1,
                                  .caps = PCI_SRIOV_CAP_VFM,
                                  .vf_bar = {[0] = {0x4000, PCI_BAR_MEM64}, [2] = {0x1000, PCI_BAR_MEM32}}};

    if (pci_layout_create(size, &l) != 0) {
        return NULL;
    }
    pci_layout_init_type0(l, &hp);
    pci_layout_add_bar(l, 0, 0x100000, PCI_BAR_MEM64, NULL);
    pci_layout_add_bar(l, 2, 0x40, PCI_BAR_IO, NULL);
    pci_cap_add_pm(l, 0, &pm, NULL);
    pci_cap_add_msi(l, 0, &msi, NULL);
    pci_cap_add_msix(l, 0, &mx, NULL);
    pci_cap_add_exp(l, 0, &ex, NULL);
    if (size == 4096) {
        pci_ecap_add_aer(l, 0, &aer, NULL);
        pci_ecap_add_dsn(l, 0, 42, NULL);
        pci_ecap_add_acs(l, 0, PCI_ACS_EC | PCI_ACS_RR | (40u << 8), NULL);
        pci_ecap_add_ari(l, 0, &ari, NULL);
        pci_ecap_add_ats(l, 0, &ats, NULL);
        pci_ecap_add_sriov(l, 0, &sp, NULL);
    }
    /* A few fuzzer-chosen raw masks on top. */
    for (unsigned k = take(in, 1) & 7; k > 0; k--) {
        uint32_t off = take(in, 2) % size, m = take(in, 1);

        if (m & 1) {
            pci_layout_set_w1cmask(l, off, 1, m);
        } else {
            pci_layout_set_wmask(l, off, 1, m);
        }
    }
    hook_off = take(in, 2) % size;
    hook_len = 1 + take(in, 1);
    if (pci_layout_add_hook(l, hook_off, hook_len, hook, NULL) != 0) {
        hook_len = 0;
    }
    return l;
}

static void
shadow_write(uint8_t *sh, const struct pci_layout *l, uint32_t off, const uint8_t *v, size_t len)
{
    const uint8_t *wm = pci_layout_wmask(l), *w1c = pci_layout_w1cmask(l);

    for (size_t i = 0; i < len; i++) {
        uint8_t next = (uint8_t)((sh[off + i] & ~wm[off + i]) | (v[i] & wm[off + i]));

        sh[off + i] = (uint8_t)(next & ~(v[i] & w1c[off + i]));
    }
}

static void
one_op(struct input *in, struct pci_config *cfg, uint8_t *sh, uint32_t size)
{
    static uint8_t buf[4200];
    unsigned op = take(in, 1) % 5;
    uint32_t off = take(in, 2) % (size + 16);
    unsigned len = op == 3 ? take(in, 2) % 300 : take(in, 1) % 6;
    bool fits = len >= 1 && off < size && len <= size - off;
    uint32_t val = take(in, 4), got = 0;
    const struct pci_layout *l = cfg->layout;

    for (unsigned i = 0; i < len && i < sizeof(buf); i++) {
        buf[i] = (uint8_t)(val >> (8 * (i & 3))) ^ (uint8_t)i;
    }
    if (op == 0) {
        int rc = pci_config_read(cfg, off, len, &got);

        if ((rc == 0) != (fits && len <= 4)) {
            abort();
        }
        for (unsigned i = 0; rc == 0 && i < len; i++) {
            if (((got >> (8 * i)) & 0xff) != sh[off + i]) {
                abort();
            }
        }
    } else if (op == 1 || op == 3) {
        unsigned before = hook_runs;
        uint8_t v[4];
        int rc;

        for (unsigned i = 0; i < 4; i++) {
            v[i] = (uint8_t)(val >> (8 * i));
        }
        rc = op == 1 ? pci_config_write(cfg, off, len, val, NULL)
                     : (len ? pci_config_write_bytes(cfg, off, buf, len, NULL) : PCIVIRT_EINVAL);
        if ((rc == 0) != (fits && (op == 3 || len <= 4))) {
            abort();
        }
        bool overlap = hook_len != 0 && off < hook_off + hook_len && hook_off < off + len;

        if (rc == 0) {
            shadow_write(sh, l, off, op == 1 ? v : buf, len);
        }
        if (hook_runs != before + (rc == 0 && overlap ? 1u : 0u)) {
            abort();
        }
    } else if (op == 2) {
        if (pci_config_poke(cfg, off, len, val) == 0) {
            if (!fits || len > 4) {
                abort();
            }
            for (unsigned i = 0; i < len; i++) {
                sh[off + i] = (uint8_t)(val >> (8 * i));
            }
        }
    } else {
        pci_config_reset(cfg);
        memcpy(sh, pci_layout_template(l), size);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t shadow[4096];
    struct input in = {data, size};
    struct pci_layout *l = build(&in);
    struct pci_config cfg;
    uint32_t space;

    if (l == NULL) {
        return 0;
    }
    space = pci_layout_size(l);
    pci_config_init(&cfg, l, NULL);
    memcpy(shadow, pci_layout_template(l), space);
    for (unsigned ops = 0; in.n > 0 && ops < 4096; ops++) {
        one_op(&in, &cfg, shadow, space);
    }
    if (memcmp(pci_config_bytes(&cfg), shadow, space) != 0) {
        abort();
    }
    pci_config_fini(&cfg);
    pci_layout_unref(l);
    return 0;
}
