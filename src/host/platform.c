/*
 * host/platform.c - host-wide evidence: IOMMU, interrupt remapping, _OSC.
 *
 * None of these has a single authoritative sysfs file (contract.md 9.3), so the
 * survey gathers evidence from several, in order of trust, and records which one
 * decided: /sys/class/iommu and /sys/kernel/iommu_groups for the IOMMU; the irq
 * chip names in /proc/interrupts ("IR-PCI-MSI..." means remapped) and the kernel
 * log for interrupt remapping; the kernel log's _OSC lines and the command line
 * for "PCIe treated as PCI".  The kernel log is ROOT/dev/kmsg: the live record
 * device, or in a snapshot a plain file holding `dmesg` output.
 */
#include "host/internal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

#define KMSG_CAP (4u << 20)
#define TEXT_CAP (1u << 20)

/* Entries in ROOT+@rel into *@count (-1: absent or unreadable).  Return: 0 or ENOMEM. */
static int
count_entries(const struct host_root *root, const char *rel, int *count)
{
    char **names;
    size_t n;
    int rc = host_list_dir(root, rel, &names, &n);

    *count = -1;
    if (rc == 0) {
        host_free_names(names, n);
        *count = (int)n;
    }
    return rc == ENOMEM ? ENOMEM : 0;
}

/*
 * Copy the line of @text containing @at into @out (bounded), without a /dev/kmsg
 * record prefix ("6,195,301804,-;") and with runs of blanks squeezed.
 */
static void
copy_line(const char *text, const char *at, char *out, size_t cap)
{
    const char *b = at, *e = strchr(at, '\n'), *semi;
    size_t n = 0;

    while (b > text && b[-1] != '\n') {
        b--;
    }
    if (e == NULL) {
        e = at + strlen(at);
    }
    semi = memchr(b, ';', (size_t)(e - b));
    if (semi != NULL && semi < at && b[0] >= '0' && b[0] <= '9' && memchr(b, ',', (size_t)(semi - b)) != NULL) {
        b = semi + 1;
    }
    while (b < e && (*b == ' ' || *b == '\t')) {
        b++;
    }
    for (; b < e && n + 1 < cap; b++) {
        bool blank = *b == ' ' || *b == '\t';
        if (!blank || (n > 0 && out[n - 1] != ' ')) {
            out[n++] = blank ? ' ' : *b;
        }
    }
    out[n] = '\0';
}

/*
 * /proc/interrupts: the chip column of a remapped MSI reads "IR-PCI-MSI..." (older
 * kernels) or "IR-PCI-MSIX-<bdf>" (per-device domains); without remapping it is
 * "PCI-MSI..." alone.  Any MSI line decides; no MSI line decides nothing.
 */
static void
irq_from_interrupts(const char *text, struct host_platform *p)
{
    const char *ir = strstr(text, "IR-PCI-MSI");
    const char *msi = strstr(text, "PCI-MSI");

    if (ir != NULL) {
        p->irq_remap = HOST_YES;
        copy_line(text, ir, p->irq_remap_evidence, sizeof(p->irq_remap_evidence));
    } else if (msi != NULL) {
        p->irq_remap = HOST_NO;
        copy_line(text, msi, p->irq_remap_evidence, sizeof(p->irq_remap_evidence));
    }
}

/* Kernel log lines of the Intel (DMAR-IR) and AMD (AMD-Vi) remapping drivers. */
static void
irq_from_kmsg(const char *log, struct host_platform *p)
{
    static const char *const on[] = {"Enabled IRQ remapping", "Interrupt remapping enabled", "IRQ remapping enabled"};
    static const char *const off[] = {"IRQ remapping disabled", "Not enabling interrupt remapping",
                                      "Failed to enable irq remapping", "IRQ remapping doesn't support"};
    const char *at;

    for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
        if ((at = strstr(log, on[i])) != NULL) {
            p->irq_remap = HOST_YES;
            copy_line(log, at, p->irq_remap_evidence, sizeof(p->irq_remap_evidence));
            return;
        }
    }
    for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
        if ((at = strstr(log, off[i])) != NULL) {
            p->irq_remap = HOST_NO;
            copy_line(log, at, p->irq_remap_evidence, sizeof(p->irq_remap_evidence));
            return;
        }
    }
}

/*
 * _OSC (drivers/acpi/pci_root.c messages): "OS now controls [... PCIeCapability ...]"
 * means the OS owns PCIe; "platform retains control", "not requesting _OSC control",
 * "_OSC failed" or a grant without PCIeCapability mean firmware kept it.
 */
static void
osc_from_kmsg(const char *log, struct host_platform *p)
{
    static const char *const kept[] = {"platform retains control of PCIe", "not requesting _OSC control",
                                       "_OSC: platform does not support", "_OSC failed"};
    const char *at = strstr(log, "_OSC: OS now controls [");

    if (at != NULL) {
        char line[256];
        copy_line(log, at, line, sizeof(line));
        p->os_pcie_control = strstr(line, "PCIeCapability") != NULL ? HOST_YES : HOST_NO;
        snprintf(p->osc_evidence, sizeof(p->osc_evidence), "%s", line);
        return;
    }
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        if ((at = strstr(log, kept[i])) != NULL) {
            p->os_pcie_control = HOST_NO;
            copy_line(log, at, p->osc_evidence, sizeof(p->osc_evidence));
            return;
        }
    }
}

int
host_read_platform(const struct host_root *root, struct host_platform *p)
{
    char text[4096];
    char *buf = NULL;
    int rc;

    if (count_entries(root, "/sys/class/iommu", &p->iommu_units) != 0 ||
        count_entries(root, "/sys/kernel/iommu_groups", &p->iommu_groups) != 0) {
        return PCIVIRT_ENOMEM;
    }
    p->irq_remap = HOST_UNSEEN;
    p->os_pcie_control = HOST_UNSEEN;
    p->unsafe_interrupts = HOST_UNSEEN;
    if (host_read_text(root, "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", text, sizeof(text)) ==
        0) {
        p->unsafe_interrupts = (text[0] == 'Y' || text[0] == '1') ? HOST_YES : HOST_NO;
    }
    rc = host_read_log(root, "/proc/interrupts", TEXT_CAP, &buf);
    if (rc == ENOMEM) {
        return PCIVIRT_ENOMEM;
    }
    if (rc == 0) {
        p->interrupts_seen = true;
        irq_from_interrupts(buf, p);
        pv_free(buf);
    }
    rc = host_read_log(root, "/dev/kmsg", KMSG_CAP, &buf);
    if (rc == ENOMEM) {
        return PCIVIRT_ENOMEM;
    }
    if (rc == 0) {
        p->kmsg_seen = buf[0] != '\0';
        if (p->irq_remap == HOST_UNSEEN) {
            irq_from_kmsg(buf, p);
        }
        osc_from_kmsg(buf, p);
        pv_free(buf);
    }
    if (host_read_text(root, "/proc/cmdline", text, sizeof(text)) == 0) {
        p->cmdline_seen = true;
        if (strstr(text, "pcie_ports=compat") != NULL) {
            p->os_pcie_control = HOST_NO;
            snprintf(p->osc_evidence, sizeof(p->osc_evidence), "kernel command line has pcie_ports=compat");
        }
    }
    return 0;
}
