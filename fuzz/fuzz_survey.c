/*
 * fuzz/fuzz_survey.c - the host survey on fuzzed config bytes.
 *
 * Why it is shaped so.  `pcivirt survey` reads config files from sysfs or from
 * a captured snapshot somebody sends in a bug report - input we do not
 * control.  The input is a flags byte, a 16-bit length and the device's config
 * bytes (that many), then the upstream bridge's config bytes (the rest).  Every
 * input goes through the decoding and judging parts directly (host/internal.h:
 * host_config_decode, host_config_hop, host_bridge_windows, host_judge_device);
 * one in four also goes through the whole file-based survey on a temporary
 * sysfs-shaped tree, so truncated and odd-sized config files are read the real
 * way.  Invariants: every check has a valid result and NUL-terminated texts;
 * the verdict is the one the worst check implies (a failed check is never
 * "assignable"); decoded offsets lie inside the bytes that were read; the
 * SR-IOV figures are only claimed when the capability is inside the bytes; a
 * file-based run surveys exactly the functions in the tree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"

/* The tests' sysfs-tree builder is written for gcc's warning set. */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunknown-warning-option"
#pragma clang diagnostic ignored "-Wformat-nonliteral"
#include "../tests/host/tree.h"
#pragma clang diagnostic pop
#include "host/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static void
check_device(const struct host_device *d)
{
    enum host_result worst = HOST_RESULT_PASS;
    enum host_verdict v = host_device_verdict(d);

    for (int c = 0; c < HOST_CHECK_COUNT; c++) {
        CHECK((unsigned)d->check[c].result <= HOST_RESULT_FAIL);
        CHECK(terminated(d->check[c].why, sizeof(d->check[c].why)));
        CHECK(terminated(d->check[c].fix, sizeof(d->check[c].fix)));
        if (d->check[c].result == HOST_RESULT_FAIL ||
            (d->check[c].result == HOST_RESULT_UNKNOWN && worst != HOST_RESULT_FAIL)) {
            worst = d->check[c].result;
        }
    }
    CHECK(worst != HOST_RESULT_FAIL || v == HOST_VERDICT_NOT_ASSIGNABLE);
    CHECK(v != HOST_VERDICT_ASSIGNABLE || worst == HOST_RESULT_PASS);
    CHECK(d->hops <= HOST_PATH_HOPS_MAX && d->unseen_count <= HOST_UNSEEN_MAX);
    for (size_t i = 0; i < d->unseen_count; i++) {
        CHECK(terminated(d->unseen[i], sizeof(d->unseen[i])));
    }
    if (d->sriov.present == HOST_YES) {
        CHECK(d->sriov.cap_offset >= 0x100 && d->sriov.cap_offset + 4u <= d->config_len);
    }
    for (size_t i = 0; i < d->hops; i++) {
        CHECK(d->hop[i].acs != HOST_YES || (d->hop[i].acs_offset >= 0x100 && d->hop[i].acs_offset < 4096));
        CHECK(terminated(d->hop[i].rule, sizeof(d->hop[i].rule)));
    }
}

/* The decoding and judging parts, without files. */
static void
in_memory(const uint8_t *dev, size_t dev_len, const uint8_t *br, size_t br_len, uint8_t flags)
{
    static struct host_device d;
    struct host_platform p;

    memset(&d, 0, sizeof(d));
    memset(&p, 0, sizeof(p));
    snprintf(d.bdf, sizeof(d.bdf), "0000:01:00.0");
    d.bus = 1;
    d.header_type = 0xff;
    d.pcie_type = HOST_PCIE_UNSEEN;
    d.vendor = d.device = d.class_code = -1;
    d.msi_irqs = flags & 1 ? 3 : -1;
    d.enabled = flags & 2 ? 1 : -1;
    d.iommu_group = flags & 4 ? 7 : -1;
    d.up_subordinate = -1;
    memcpy(d.config, dev, dev_len);
    d.config_len = dev_len;
    d.config_size = flags & 8 ? 4096 : dev_len;
    host_config_decode(&d);
    d.hops = 2;
    snprintf(d.hop[0].bdf, sizeof(d.hop[0].bdf), "%s", d.bdf);
    d.hop[0].is_device = true;
    host_config_hop(&d.hop[0], d.config, d.config_len, d.config_size);
    snprintf(d.hop[1].bdf, sizeof(d.hop[1].bdf), "0000:00:01.0");
    host_config_hop(&d.hop[1], br, br_len, flags & 16 ? 4096 : br_len);
    host_bridge_windows(br, br_len, &d.up_mem, &d.up_pref, &d.up_subordinate);
    CHECK(d.up_subordinate >= -1 && d.up_subordinate <= 255);
    p.iommu_units = flags & 32 ? 1 : 0;
    p.iommu_groups = flags & 32 ? 8 : 0;
    host_judge_platform(&p);
    host_judge_device(&d, &p);
    check_device(&d);
}

/* The whole survey on a tree holding a bridge and the device, config files as given. */
static void
on_files(const uint8_t *dev, size_t dev_len, const uint8_t *br, size_t br_len)
{
    struct tree t;
    struct host_survey_options o;
    struct host_survey *s = NULL;
    struct tree_fn rp = {"pci0000:00", "0000:00:01.0", br, br_len, 0x060400, 0x8086, 0x3408, NULL, 1, -1};
    struct tree_fn fn = {"pci0000:00/0000:00:01.0", "0000:01:00.0", dev, dev_len, 0x020000, 0x8086, 0x10fb, NULL, 1, 2};

    tree_init(&t);
    tree_add_fn(&t, &rp);
    tree_add_fn(&t, &fn);
    tree_group(&t, 3, "pci0000:00/0000:00:01.0", "0000:01:00.0");
    o = (struct host_survey_options){t.root, NULL};
    CHECK(host_survey_run(&o, &s, NULL) == 0);
    CHECK(host_survey_count(s) == 2);
    for (size_t i = 0; i < host_survey_count(s); i++) {
        check_device(host_survey_device(s, i));
        CHECK(host_survey_device(s, i)->config_len <= 4096);
    }
    host_survey_destroy(s);
    tree_destroy(&t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t dev[4096], br[4096];
    uint8_t flags;
    size_t dev_len, br_len;

    if (size < 3) {
        return 0;
    }
    flags = data[0];
    dev_len = ((size_t)data[1] << 8 | data[2]) % 4097;
    data += 3;
    size -= 3;
    memset(dev, 0, sizeof(dev));
    memset(br, 0, sizeof(br));
    memcpy(dev, data, size < dev_len ? size : dev_len);
    br_len = size > dev_len ? size - dev_len : 0;
    br_len = br_len > sizeof(br) ? sizeof(br) : br_len;
    memcpy(br, data + dev_len, br_len);
    in_memory(dev, dev_len, br, br_len, flags);
    if ((flags & 0xc0) == 0xc0) {
        on_files(dev, dev_len, br, br_len);
    }
    return 0;
}
