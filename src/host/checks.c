/*
 * host/checks.c - the survey's rules: facts in, judgements with reasons out.
 *
 * One function per check, in report order (survey.h).  Each fills `why` with what
 * was found (numbers, BDFs, bits) and `fix` with what would change the answer;
 * a check whose facts were not visible says so and yields HOST_RESULT_UNKNOWN.
 * The rules are contract.md 9.2 (SurveyDDA.ps1's checks, in its order) mapped to
 * Linux as 9.3 says; where 9.3 leaves a choice, the decision is recorded here and
 * in docs/SURVEY.md.  No file is touched here, so the rules can be tested on
 * hand-made facts as well as on sysfs trees.
 */
#include "host/internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void set(struct host_check *c, enum host_result r, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
set(struct host_check *c, enum host_result r, const char *fix, const char *fmt, ...)
{
    va_list ap;

    c->result = r;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof(c->why), fmt, ap);
    va_end(ap);
    snprintf(c->fix, sizeof(c->fix), "%s", fix != NULL ? fix : "");
}

/* Append to a check's text (bounded). */
static void append(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
append(char *buf, size_t cap, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;

    if (used + 1 >= cap) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf + used, cap - used, fmt, ap);
    va_end(ap);
}

const char *
host_size_text(uint64_t bytes, char *buf, size_t cap)
{
    static const char *const unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    unsigned u = 0;
    uint64_t v = bytes;

    while (u < 4 && v >= 1024 && v % 1024 == 0) {
        v /= 1024;
        u++;
    }
    snprintf(buf, cap, "%" PRIu64 " %s", v, unit[u]);
    return buf;
}

const char *
host_acs_bits_text(uint16_t bits, char *buf, size_t cap)
{
    static const char *const name[] = {"SV", "TB", "RR", "CR", "UF", "EC", "DT"};

    buf[0] = '\0';
    for (unsigned i = 0; i < 7; i++) {
        if (bits & (1u << i)) {
            append(buf, cap, "%s%s", buf[0] ? " " : "", name[i]);
        }
    }
    if (buf[0] == '\0') {
        snprintf(buf, cap, "none");
    }
    return buf;
}

const char *
host_pcie_type_name(int t)
{
    switch (t) {
    case HOST_PCIE_UNSEEN: return "unknown (capabilities not visible)";
    case HOST_PCIE_NONE: return "conventional PCI";
    case HOST_PCIE_ENDPOINT: return "PCI Express endpoint";
    case HOST_PCIE_LEGACY_ENDPOINT: return "legacy PCI Express endpoint";
    case HOST_PCIE_ROOT_PORT: return "root port";
    case HOST_PCIE_UPSTREAM: return "switch upstream port";
    case HOST_PCIE_DOWNSTREAM: return "switch downstream port";
    case HOST_PCIE_PCIE_TO_PCI: return "PCIe-to-PCI/PCI-X bridge";
    case HOST_PCIE_PCI_TO_PCIE: return "PCI/PCI-X-to-PCIe bridge";
    case HOST_PCIE_RCIEP: return "root complex integrated endpoint";
    case HOST_PCIE_RC_EC: return "root complex event collector";
    default: return "reserved PCIe type";
    }
}

/*
 * Linux's isolation rule per function type (drivers/pci/pci.c pci_acs_enabled,
 * facts restated): conventional PCI and PCIe<->PCI bridges and event collectors
 * never isolate; root and downstream ports must enable SV RR CR UF; endpoints and
 * upstream ports only matter when multifunction; every other type passes.  A bit
 * missing from the ACS Capability register counts as hard-wired on (Egress Control
 * aside), so the requirement is the required bits the port implements.
 */
static void
judge_acs_bits(struct host_acs_hop *hop)
{
    char have[48], miss[48];

    if (hop->acs == HOST_UNSEEN) {
        hop->result = HOST_RESULT_UNKNOWN;
        snprintf(hop->rule, sizeof(hop->rule), "ACS capability not visible (extended config space unread)");
        return;
    }
    if (hop->acs == HOST_NO) {
        hop->result = HOST_RESULT_FAIL;
        hop->missing = HOST_ACS_REQUIRED;
        snprintf(hop->rule, sizeof(hop->rule), "%s",
                 hop->is_device ? "multifunction without ACS: its functions can reach each other, so they share "
                                  "an IOMMU group"
                                : "no ACS capability: peer-to-peer traffic is not redirected");
        return;
    }
    hop->required = HOST_ACS_REQUIRED & hop->cap;
    hop->missing = hop->required & (uint16_t)~hop->ctrl;
    hop->result = hop->missing ? HOST_RESULT_FAIL : HOST_RESULT_PASS;
    if (hop->missing) {
        snprintf(hop->rule, sizeof(hop->rule), "ACS control enables %s; needs %s",
                 host_acs_bits_text(hop->ctrl & HOST_ACS_REQUIRED, have, sizeof(have)),
                 host_acs_bits_text(hop->missing, miss, sizeof(miss)));
    } else {
        snprintf(hop->rule, sizeof(hop->rule), "ACS enabled: %s",
                 host_acs_bits_text(hop->ctrl & 0x7f, have, sizeof(have)));
    }
}

void
host_judge_hop(struct host_acs_hop *hop)
{
    hop->required = 0;
    hop->missing = 0;
    switch (hop->pcie_type) {
    case HOST_PCIE_UNSEEN:
        hop->result = HOST_RESULT_UNKNOWN;
        snprintf(hop->rule, sizeof(hop->rule), "config space not visible");
        return;
    case HOST_PCIE_NONE:
        if (hop->is_device && !hop->multifunction) {
            break;
        }
        hop->result = HOST_RESULT_FAIL;
        snprintf(hop->rule, sizeof(hop->rule), "conventional PCI: a shared bus cannot isolate its devices");
        return;
    case HOST_PCIE_PCIE_TO_PCI:
    case HOST_PCIE_PCI_TO_PCIE:
    case HOST_PCIE_RC_EC:
        hop->result = HOST_RESULT_FAIL;
        snprintf(hop->rule, sizeof(hop->rule), "%s: never isolates (treated like conventional PCI)",
                 host_pcie_type_name(hop->pcie_type));
        return;
    case HOST_PCIE_ROOT_PORT:
    case HOST_PCIE_DOWNSTREAM: judge_acs_bits(hop); return;
    case HOST_PCIE_ENDPOINT:
    case HOST_PCIE_LEGACY_ENDPOINT:
    case HOST_PCIE_RCIEP:
    case HOST_PCIE_UPSTREAM:
        if (hop->multifunction) {
            judge_acs_bits(hop);
            return;
        }
        break;
    default: break;
    }
    hop->result = HOST_RESULT_PASS;
    snprintf(hop->rule, sizeof(hop->rule), "%s: ACS not applicable",
             hop->multifunction ? "multifunction" : "single function");
}

/* ---- host level ------------------------------------------------------------------- */

static const char fix_iommu[] =
    "enable the IOMMU (Intel VT-d or AMD-Vi) in the firmware setup and boot a kernel built with IOMMU "
    "support with intel_iommu=on or amd_iommu=on; /sys/class/iommu must then list a unit";

static void
judge_iommu(struct host_platform *p)
{
    bool live = strcmp(p->root, "/") == 0;

    if (p->iommu_units > 0 && p->iommu_groups > 0) {
        set(&p->iommu, HOST_RESULT_PASS, NULL, "%d IOMMU unit(s) in /sys/class/iommu, %d IOMMU group(s)",
            p->iommu_units, p->iommu_groups);
    } else if (p->iommu_units == 0 || p->iommu_groups == 0 || live) {
        set(&p->iommu, HOST_RESULT_FAIL, fix_iommu, "no IOMMU: /sys/class/iommu %s, /sys/kernel/iommu_groups %s",
            p->iommu_units < 0    ? "is missing"
            : p->iommu_units == 0 ? "is empty"
                                  : "lists units",
            p->iommu_groups < 0    ? "is missing"
            : p->iommu_groups == 0 ? "is empty"
                                   : "has groups");
    } else {
        set(&p->iommu, HOST_RESULT_UNKNOWN, "capture sys/class/iommu and sys/kernel/iommu_groups in the snapshot",
            "the snapshot has neither /sys/class/iommu nor /sys/kernel/iommu_groups");
    }
}

static void
judge_irq(struct host_platform *p)
{
    static const char fix[] = "enable interrupt remapping (VT-d/AMD-Vi interrupt remapping in firmware; do not "
                              "boot with intremap=off); without it a guest can forge MSIs to other vectors";

    if (p->iommu.result == HOST_RESULT_FAIL) {
        set(&p->irq, HOST_RESULT_FAIL, fix, "no interrupt remapping without an IOMMU%s%s",
            p->irq_remap_evidence[0] ? "; /proc/interrupts: " : "", p->irq_remap_evidence);
    } else if (p->irq_remap == HOST_YES) {
        set(&p->irq, HOST_RESULT_PASS, NULL, "interrupt remapping in effect: %s", p->irq_remap_evidence);
    } else if (p->irq_remap == HOST_NO && p->unsafe_interrupts == HOST_YES) {
        set(&p->irq, HOST_RESULT_WARN, fix,
            "no interrupt remapping (%s), but vfio_iommu_type1 allow_unsafe_interrupts=Y lets VFIO assign anyway",
            p->irq_remap_evidence);
    } else if (p->irq_remap == HOST_NO) {
        set(&p->irq, HOST_RESULT_FAIL, fix, "interrupt remapping not in effect: %s", p->irq_remap_evidence);
    } else {
        set(&p->irq, HOST_RESULT_UNKNOWN,
            "run as root (the kernel log needs it) or capture dev/kmsg and proc/interrupts", "no evidence: %s",
            p->interrupts_seen ? "no MSI in /proc/interrupts and no remapping line in the kernel log"
                               : "neither /proc/interrupts nor the kernel log was readable");
    }
}

static void
judge_osc(struct host_platform *p)
{
    if (p->os_pcie_control == HOST_YES) {
        set(&p->osc, HOST_RESULT_PASS, NULL, "the OS controls PCIe: %s", p->osc_evidence);
    } else if (p->os_pcie_control == HOST_NO) {
        set(&p->osc, HOST_RESULT_FAIL, "let the OS own PCIe: update the firmware (ACPI _OSC), drop pcie_ports=compat",
            "firmware kept PCIe control (\"PCIe treated as PCI\"): %s", p->osc_evidence);
    } else {
        set(&p->osc, HOST_RESULT_UNKNOWN, "run as root or capture dev/kmsg", "no _OSC line %s",
            p->kmsg_seen ? "in the kernel log" : "(kernel log not readable)");
    }
}

void
host_judge_platform(struct host_platform *p)
{
    judge_iommu(p);
    judge_irq(p);
    judge_osc(p);
}

/* ---- per device ---------------------------------------------------------------- */

static void
check_iommu(struct host_device *d, const struct host_platform *p)
{
    struct host_check *c = &d->check[HOST_CHECK_IOMMU];

    if (p->iommu.result == HOST_RESULT_FAIL && d->iommu_group < 0) {
        set(c, HOST_RESULT_FAIL, p->iommu.fix, "%s", p->iommu.why);
    } else if (d->iommu_group < 0 && p->iommu.result == HOST_RESULT_PASS) {
        set(c, HOST_RESULT_FAIL, "check the firmware's DMAR/IVRS tables cover this segment and bus",
            "the host has an IOMMU but %s has no iommu_group link: its DMA is not translated", d->bdf);
    } else if (d->iommu_group < 0) {
        set(c, HOST_RESULT_UNKNOWN, p->iommu.fix, "no iommu_group link; %s", p->iommu.why);
    } else if (strcmp(d->group_type, "identity") == 0) {
        set(c, HOST_RESULT_WARN, "VFIO gives the group its own translated domain on assignment",
            "IOMMU group %ld uses an identity (pass-through) domain while the host owns it", d->iommu_group);
    } else {
        set(c, HOST_RESULT_PASS, NULL, "IOMMU group %ld (domain type %s)", d->iommu_group,
            d->group_type[0] ? d->group_type : "not shown");
    }
}

static void
check_regions(struct host_device *d)
{
    struct host_check *c = &d->check[HOST_CHECK_RESERVED_REGIONS];
    char relaxed[256] = "";

    if (d->iommu_group < 0 || d->regions_seen != HOST_YES) {
        set(c, HOST_RESULT_UNKNOWN, NULL, "%s",
            d->iommu_group < 0 ? "no IOMMU group, so no reserved-region list"
                               : "the group's reserved_regions was not readable");
        return;
    }
    for (size_t i = 0; i < d->regions; i++) {
        const struct host_region *r = &d->region[i];
        if (strcmp(r->type, "direct") == 0) {
            set(c, HOST_RESULT_FAIL,
                "none in software: the firmware (an RMRR) needs DMA to this memory; choose another device or "
                "a firmware that drops the RMRR for it",
                "IOMMU group %ld reserves 0x%" PRIx64 "-0x%" PRIx64 " as 'direct': firmware keeps DMA access",
                d->iommu_group, r->start, r->end);
            return;
        }
        if (strcmp(r->type, "direct-relaxable") == 0) {
            append(relaxed, sizeof(relaxed), " 0x%" PRIx64 "-0x%" PRIx64, r->start, r->end);
        }
    }
    set(c, HOST_RESULT_PASS, NULL, "no 'direct' reserved region in group %ld (%zu region(s)%s%s)", d->iommu_group,
        d->regions, relaxed[0] ? "; direct-relaxable tolerated:" : "", relaxed);
}

static void
check_acs(struct host_device *d)
{
    struct host_check *c = &d->check[HOST_CHECK_ACS];
    enum host_result worst = HOST_RESULT_PASS;
    char why[HOST_TEXT_MAX] = "", fix[HOST_TEXT_MAX] = "", bits[48];

    if (d->hops == 0) {
        set(c, HOST_RESULT_UNKNOWN, NULL, "the device's place in the hierarchy is unknown (sysfs path unresolved)");
        return;
    }
    for (size_t i = 0; i < d->hops; i++) {
        struct host_acs_hop *h = &d->hop[i];
        host_judge_hop(h);
        if (h->result <= HOST_RESULT_INFO) {
            continue;
        }
        worst = h->result > worst ? h->result : worst;
        append(why, sizeof(why), "%s%s %s (%s): %s", why[0] ? "; " : "", h->is_device ? "device" : "bridge", h->bdf,
               host_pcie_type_name(h->pcie_type), h->rule);
        if (h->result == HOST_RESULT_FAIL && h->acs == HOST_YES) {
            append(fix, sizeof(fix),
                   "%senable ACS %s on %s (ACS control at 0x%03x+6; kernel option "
                   "pci=config_acs= or the firmware's ACS setting)",
                   fix[0] ? "; " : "", host_acs_bits_text(h->missing, bits, sizeof(bits)), h->bdf, h->acs_offset);
        } else if (h->result == HOST_RESULT_FAIL && h->is_device) {
            append(fix, sizeof(fix), "%sassign all functions of %.10s together", fix[0] ? "; " : "", h->bdf);
        } else if (h->result == HOST_RESULT_FAIL) {
            append(fix, sizeof(fix),
                   "%s%s cannot isolate: move the device to a slot whose path to the root "
                   "has ACS-capable ports",
                   fix[0] ? "; " : "", h->bdf);
        }
    }
    if (worst == HOST_RESULT_PASS) {
        set(c, HOST_RESULT_PASS, NULL, "%s",
            d->hops == 1 ? "on a root bus: no bridge between the device and the root "
                           "complex"
                         : "every port on the path to the root has ACS SV RR CR UF "
                           "enabled (or does not need it)");
        return;
    }
    set(c, worst, fix, "%s", why);
}

static void
check_type(struct host_device *d, const struct host_platform *p)
{
    struct host_check *c = &d->check[HOST_CHECK_DEVICE_TYPE];
    int t = d->pcie_type;

    if (d->header_type == 1 || d->header_type == 2) {
        set(c, HOST_RESULT_FAIL, "assign the endpoints below it instead", "a bridge (header type %u), not an endpoint",
            d->header_type);
    } else if (t == HOST_PCIE_UNSEEN) {
        set(c, HOST_RESULT_UNKNOWN, "run as root to read the capability list", "PCI Express capability not visible");
    } else if (t >= 0 && p->os_pcie_control == HOST_NO) {
        set(c, HOST_RESULT_FAIL, p->osc.fix, "%s, but PCIe is treated as PCI: %s", host_pcie_type_name(t),
            p->osc_evidence);
    } else if (t == HOST_PCIE_ENDPOINT) {
        set(c, HOST_RESULT_PASS, NULL, "PCI Express endpoint");
    } else if (t == HOST_PCIE_RCIEP) {
        set(c, HOST_RESULT_PASS, NULL, "root complex integrated endpoint (assignable, less isolated than an endpoint)");
    } else if (t == HOST_PCIE_LEGACY_ENDPOINT && d->class_code >= 0 && (d->class_code >> 16) == 0x03) {
        set(c, HOST_RESULT_PASS, NULL, "legacy PCI Express endpoint of display class 0x03: admitted");
    } else if (t == HOST_PCIE_LEGACY_ENDPOINT) {
        set(c, HOST_RESULT_FAIL, "only display controllers are admitted as legacy endpoints",
            "legacy PCI Express endpoint of class 0x%06lx", d->class_code);
    } else if (t == HOST_PCIE_NONE) {
        set(c, HOST_RESULT_FAIL, "use a PCI Express device", "conventional PCI device (no PCI Express capability)");
    } else {
        set(c, HOST_RESULT_FAIL, "assign an endpoint, not a port or bridge", "%s, not an endpoint",
            host_pcie_type_name(t));
    }
}

static void
check_enabled(struct host_device *d)
{
    struct host_check *c = &d->check[HOST_CHECK_ENABLED];

    if (d->enabled == 0) {
        set(c, HOST_RESULT_WARN, "bind its driver (or vfio-pci) so the kernel enables it",
            "disabled (enable = 0): no driver has enabled it; its resources may be unassigned");
    } else if (d->enabled < 0) {
        set(c, HOST_RESULT_UNKNOWN, NULL, "the enable attribute was not readable");
    } else {
        set(c, HOST_RESULT_PASS, NULL, "enabled");
    }
}

static void
check_interrupts(struct host_device *d)
{
    struct host_check *c = &d->check[HOST_CHECK_INTERRUPTS];
    char used[64] = "";

    if (d->msi_irqs >= 0) {
        snprintf(used, sizeof(used), "; %d message-signalled vector(s) in use", d->msi_irqs);
    }
    if (d->msi == HOST_YES || d->msix == HOST_YES) {
        set(c, HOST_RESULT_PASS, NULL, "%s%s%s", d->msix == HOST_YES ? "MSI-X" : "MSI",
            d->msix == HOST_YES && d->msi == HOST_YES ? " and MSI" : "", used);
    } else if (d->msi_irqs > 0) {
        set(c, HOST_RESULT_PASS, NULL, "message-signalled (capability list not visible)%s", used);
    } else if (d->msi == HOST_NO && d->msix == HOST_NO && d->int_pin == 0) {
        set(c, HOST_RESULT_PASS, NULL, "no interrupts at all (no pin, no MSI): nothing to remap");
    } else if (d->msi == HOST_NO && d->msix == HOST_NO) {
        set(c, HOST_RESULT_FAIL, "use a device (or a firmware/driver mode) with MSI or MSI-X",
            "INTx only (pin INT%c#, no MSI or MSI-X capability): line-based interrupts cannot be assigned",
            'A' + (d->int_pin - 1 < 4 ? d->int_pin - 1 : 0));
    } else {
        set(c, HOST_RESULT_UNKNOWN, "run as root to read the capability list",
            "MSI/MSI-X capabilities not visible and no vectors in use");
    }
}

static void
check_mmio(struct host_device *d)
{
    struct host_check *c = &d->check[HOST_CHECK_MMIO];
    char a[32], b[32];
    uint64_t mb = (d->mmio32 + d->mmio64 + (1u << 20) - 1) >> 20;

    if (!d->resource_seen) {
        set(c, HOST_RESULT_UNKNOWN, NULL, "the resource attribute was not readable");
        return;
    }
    set(c, HOST_RESULT_INFO, NULL,
        "MMIO gap needed: %s in 32-bit BARs, %s in 64-bit BARs (each rounded up to 4 KiB; "
        "%" PRIu64 " MB in whole MB)",
        host_size_text(d->mmio32, a, sizeof(a)), host_size_text(d->mmio64, b, sizeof(b)), mb);
}

static void
check_location(struct host_device *d)
{
    set(&d->check[HOST_CHECK_LOCATION], HOST_RESULT_INFO, NULL, "%s", d->location);
}

static void
check_group(struct host_device *d)
{
    struct host_check *c = &d->check[HOST_CHECK_IOMMU_GROUP];
    char eps[HOST_TEXT_MAX] = "", brs[HOST_TEXT_MAX] = "";

    if (d->iommu_group < 0) {
        set(c, HOST_RESULT_UNKNOWN, NULL, "not in an IOMMU group");
        return;
    }
    for (size_t i = 0; i < d->group_members; i++) {
        char *dst = d->group_member_bridge[i] ? brs : eps;
        append(dst, HOST_TEXT_MAX, "%s%s", dst[0] ? ", " : "", d->group_member[i]);
    }
    if (eps[0]) {
        set(c, HOST_RESULT_FAIL,
            "assign the whole group together (bind every member to vfio-pci), or isolate the device (see acs)",
            "IOMMU group %ld also holds %s: they must go along with it%s%s", d->iommu_group, eps,
            brs[0] ? "; bridges in the group (stay with the host): " : "", brs);
    } else {
        set(c, HOST_RESULT_PASS, NULL, "alone in IOMMU group %ld%s%s", d->iommu_group,
            brs[0] ? " apart from bridges: " : "", brs);
    }
}

static void
check_ats(struct host_device *d)
{
    struct host_check *c = &d->check[HOST_CHECK_ATS];

    if (d->ats == HOST_YES) {
        set(c, HOST_RESULT_WARN, "make sure the device and its driver work with ATS disabled (boot with pci=noats)",
            "has ATS: allowed, but the device must not require it (config space cannot say whether it does)");
    } else if (d->ats == HOST_NO) {
        set(c, HOST_RESULT_PASS, NULL, "no ATS capability");
    } else {
        set(c, HOST_RESULT_UNKNOWN, "run as root to read the extended config space",
            "extended config space not visible");
    }
}

void
host_judge_device(struct host_device *d, const struct host_platform *p)
{
    enum host_result worst = HOST_RESULT_PASS;

    check_iommu(d, p);
    check_regions(d);
    check_acs(d);
    check_type(d, p);
    check_enabled(d);
    check_interrupts(d);
    check_mmio(d);
    check_location(d);
    check_group(d);
    d->check[HOST_CHECK_IRQ_REMAP] = p->irq;
    check_ats(d);
    host_judge_device_sriov(d);
    for (unsigned i = 0; i < HOST_CHECK_COUNT; i++) {
        worst = d->check[i].result > worst ? d->check[i].result : worst;
    }
    d->verdict_result = worst;
}

enum host_verdict
host_device_verdict(const struct host_device *d)
{
    switch (d->verdict_result) {
    case HOST_RESULT_FAIL: return HOST_VERDICT_NOT_ASSIGNABLE;
    case HOST_RESULT_UNKNOWN: return HOST_VERDICT_UNKNOWN;
    default: return HOST_VERDICT_ASSIGNABLE;
    }
}

const char *
host_check_name(enum host_check_id id)
{
    static const char *const names[HOST_CHECK_COUNT] = {
        "iommu", "reserved_regions", "acs",         "device_type",         "enabled", "interrupts",
        "mmio",  "location",         "iommu_group", "interrupt_remapping", "ats",     "sriov",
    };

    return (unsigned)id < HOST_CHECK_COUNT ? names[id] : "unknown";
}

const char *
host_result_name(enum host_result r)
{
    static const char *const names[] = {"pass", "info", "warn", "unknown", "fail"};

    return (unsigned)r <= HOST_RESULT_FAIL ? names[r] : "unknown";
}

const char *
host_verdict_name(enum host_verdict v)
{
    switch (v) {
    case HOST_VERDICT_ASSIGNABLE: return "assignable";
    case HOST_VERDICT_NOT_ASSIGNABLE: return "not assignable";
    default: return "unknown";
    }
}
