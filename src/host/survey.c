/*
 * host/survey.c - walk sysfs and collect each function's facts.
 *
 * Shaped as one pass per function: resolve its real sysfs path (the parent chain
 * is the PCI hierarchy, contract.md 9.3 "location path"), read the attribute files
 * the checks need, decode its config bytes and those of every function above it,
 * then hand the facts to checks.c.  Files that cannot be read become `unseen`
 * notes; a root that is not a sysfs tree at all is an error, and so is running
 * out of memory (PCIVIRT_ENOMEM): a listing that could not be allocated says
 * nothing about whether the directory exists, so it must not read as "absent".
 */
#include "host/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

#define DEVICES_DIR "/sys/bus/pci/devices"

/* include/linux/ioport.h resource flags, as sysfs `resource` prints them. */
#define IORESOURCE_IO 0x00000100u
#define IORESOURCE_MEM 0x00000200u
#define IORESOURCE_PREFETCH 0x00002000u
#define IORESOURCE_MEM_64 0x00100000u

#define PAGE_4K 4096u

struct host_survey {
    struct host_root root;
    struct host_platform platform;
    struct host_device **dev;
    size_t count;
};

void
host_note_unseen(struct host_device *d, const char *fmt, ...)
{
    va_list ap;

    if (d->unseen_count >= HOST_UNSEEN_MAX) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(d->unseen[d->unseen_count], sizeof(d->unseen[0]), fmt, ap);
    va_end(ap);
    d->unseen_count++;
}

int
host_parse_bdf(const char *s, uint16_t *domain, uint8_t *bus, uint8_t *dev, uint8_t *fn)
{
    unsigned dom = 0, b, d, f;
    int used = 0;

    if (sscanf(s, "%4x:%2x:%2x.%1x%n", &dom, &b, &d, &f, &used) == 4 && s[used] == '\0') {
        goto ok;
    }
    dom = 0;
    used = 0;
    if (sscanf(s, "%2x:%2x.%1x%n", &b, &d, &f, &used) == 3 && s[used] == '\0') {
        goto ok;
    }
    return PCIVIRT_EINVAL;
ok:
    if (d > 0x1f || f > 7) {
        return PCIVIRT_EINVAL;
    }
    *domain = (uint16_t)dom;
    *bus = (uint8_t)b;
    *dev = (uint8_t)d;
    *fn = (uint8_t)f;
    return 0;
}

/* A path component that names a PCI function ("0000:00:1c.0"). */
static bool
is_bdf_name(const char *s, size_t len)
{
    char tmp[16];
    uint16_t dom;
    uint8_t b, d, f;

    if (len != 12) {
        return false;
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return host_parse_bdf(tmp, &dom, &b, &d, &f) == 0;
}

static void
dev_file(const struct host_device *d, const char *leaf, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", d->path, leaf);
}

static void
read_ids(const struct host_root *root, struct host_device *d)
{
    static const char *const names[] = {"vendor", "device", "class"};
    long *const dst[] = {&d->vendor, &d->device, &d->class_code};
    char rel[HOST_PATH_MAX];

    for (size_t i = 0; i < 3; i++) {
        dev_file(d, names[i], rel, sizeof(rel));
        *dst[i] = -1;
        int rc = host_read_long(root, rel, dst[i]);
        if (rc != 0) {
            *dst[i] = -1;
            host_note_unseen(d, "%s: %s", names[i], strerror(rc));
        }
    }
}

static void
read_config(const struct host_root *root, struct host_device *d)
{
    char rel[HOST_PATH_MAX];
    int rc;

    dev_file(d, "config", rel, sizeof(rel));
    rc = host_read_bytes(root, rel, d->config, sizeof(d->config), &d->config_len, &d->config_size);
    if (rc != 0 && d->config_len == 0) {
        host_note_unseen(d, "config: %s (no capability can be checked)", strerror(rc));
        return;
    }
    if (d->config_size > sizeof(d->config)) {
        d->config_size = sizeof(d->config);
    }
    if (d->config_len < d->config_size || (d->config_len <= 64 && d->config_len == d->config_size)) {
        /*
         * Linux gives unprivileged readers only the 64-byte header (pci-sysfs.c); a
         * snapshot taken that way holds 64-byte files, and no real function has so
         * small a space (256 or 4096), so both read as "cut short".
         */
        d->config_truncated = true;
        host_note_unseen(d, "config: only %zu of %zu bytes readable (run as root to see capabilities)", d->config_len,
                         d->config_size);
    }
    if (d->config_len >= 0x10) {
        d->header_type = d->config[0x0e] & 0x7f;
        d->multifunction = (d->config[0x0e] & 0x80) != 0;
    }
    if (d->config_len >= 0x40) {
        d->int_pin = d->config[0x3d];
    }
}

/* Return: 0, or PCIVIRT_ENOMEM (an absent msi_irqs/ is not an error, running out of memory is). */
static int
read_enable_and_msi(const struct host_root *root, struct host_device *d)
{
    char rel[HOST_PATH_MAX];
    char **names;
    size_t n;
    long v;
    int rc;

    dev_file(d, "enable", rel, sizeof(rel));
    rc = host_read_long(root, rel, &v);
    d->enabled = rc == 0 ? (v != 0) : -1;
    if (rc != 0) {
        host_note_unseen(d, "enable: %s", strerror(rc));
    }
    dev_file(d, "msi_irqs", rel, sizeof(rel));
    d->msi_irqs = -1;
    rc = host_list_dir(root, rel, &names, &n);
    if (rc == ENOMEM) {
        return PCIVIRT_ENOMEM;
    }
    if (rc == 0) {
        d->msi_irqs = (int)n;
        host_free_names(names, n);
    }
    return 0;
}

static void
store_bar(struct host_bar *bar, uint64_t start, uint64_t end, uint64_t flags)
{
    memset(bar, 0, sizeof(*bar));
    if ((start == 0 && end == 0) || end < start || (flags & (IORESOURCE_IO | IORESOURCE_MEM)) == 0) {
        return;
    }
    bar->present = true;
    bar->io = (flags & IORESOURCE_IO) != 0;
    bar->is64 = (flags & IORESOURCE_MEM_64) != 0;
    bar->prefetch = (flags & IORESOURCE_PREFETCH) != 0;
    bar->start = start;
    bar->size = end - start + 1;
}

static uint64_t
round_4k(uint64_t v)
{
    return (v + PAGE_4K - 1) & ~(uint64_t)(PAGE_4K - 1);
}

/*
 * sysfs `resource`: one "start end flags" line per resource: BARs 0-5, the ROM,
 * then (kernels with CONFIG_PCI_IOV, non-bridges: 13 lines) the six IOV
 * resources, each per-VF size x TotalVFs (device-model.md 6).
 */
static void
read_resources(const struct host_root *root, struct host_device *d, struct host_bar iov[6], size_t *lines)
{
    char rel[HOST_PATH_MAX], text[4096], *line, *save = NULL;
    int rc;

    *lines = 0;
    dev_file(d, "resource", rel, sizeof(rel));
    rc = host_read_text(root, rel, text, sizeof(text));
    if (rc != 0) {
        host_note_unseen(d, "resource: %s (MMIO needs unknown)", strerror(rc));
        return;
    }
    d->resource_seen = true;
    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save), (*lines)++) {
        unsigned long long s, e, f;
        if (sscanf(line, "%llx %llx %llx", &s, &e, &f) != 3) {
            continue;
        }
        if (*lines < 6) {
            store_bar(&d->bar[*lines], s, e, f);
        } else if (*lines >= 7 && *lines < 13) {
            store_bar(&iov[*lines - 7], s, e, f);
        }
    }
    for (size_t i = 0; i < 6; i++) {
        const struct host_bar *b = &d->bar[i];
        if (b->present && !b->io) {
            *(b->is64 ? &d->mmio64 : &d->mmio32) += round_4k(b->size);
        }
    }
}

static int
read_group_members(const struct host_root *root, struct host_device *d, const char *grp)
{
    char rel[HOST_PATH_MAX], cls[32];
    char **names;
    size_t n;
    int rc;

    snprintf(rel, sizeof(rel), "%.200s/devices", grp);
    rc = host_list_dir(root, rel, &names, &n);
    if (rc == ENOMEM) {
        return PCIVIRT_ENOMEM;
    }
    if (rc != 0) {
        host_note_unseen(d, "%s: %s", rel, strerror(rc));
        return 0;
    }
    for (size_t i = 0; i < n && d->group_members < HOST_GROUP_MEMBERS_MAX; i++) {
        if (strcmp(names[i], d->bdf) == 0) {
            continue;
        }
        size_t k = d->group_members++;
        snprintf(d->group_member[k], sizeof(d->group_member[k]), "%.15s", names[i]);
        snprintf(rel, sizeof(rel), DEVICES_DIR "/%s/class", names[i]);
        /* Class 06 04 / 06 09: PCI-to-PCI bridges, which VFIO lets stay with the host. */
        d->group_member_bridge[k] = host_read_text(root, rel, cls, sizeof(cls)) == 0 &&
                                    ((strtoul(cls, NULL, 0) >> 8) == 0x0604 || (strtoul(cls, NULL, 0) >> 8) == 0x0609);
    }
    host_free_names(names, n);
    return 0;
}

static void
read_regions(const struct host_root *root, struct host_device *d, const char *grp)
{
    char rel[HOST_PATH_MAX], text[4096], *line, *save = NULL;
    int rc;

    snprintf(rel, sizeof(rel), "%.200s/reserved_regions", grp);
    rc = host_read_text(root, rel, text, sizeof(text));
    if (rc != 0) {
        d->regions_seen = HOST_UNSEEN;
        host_note_unseen(d, "%s: %s", rel, strerror(rc));
        return;
    }
    d->regions_seen = HOST_YES;
    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        unsigned long long s, e;
        char type[24];
        if (d->regions >= HOST_REGIONS_MAX || sscanf(line, "%llx %llx %23s", &s, &e, type) != 3) {
            continue;
        }
        struct host_region *r = &d->region[d->regions++];
        r->start = s;
        r->end = e;
        snprintf(r->type, sizeof(r->type), "%s", type);
    }
}

/* Return: 0, or PCIVIRT_ENOMEM. */
static int
read_iommu_group(const struct host_root *root, struct host_device *d)
{
    char rel[HOST_PATH_MAX], name[64], grp[128];
    char *end;
    int rc;

    d->iommu_group = -1;
    d->regions_seen = HOST_UNSEEN;
    dev_file(d, "iommu_group", rel, sizeof(rel));
    rc = host_link_base(root, rel, name, sizeof(name));
    if (rc != 0) {
        return 0; /* no link: the device is behind no IOMMU (judged in checks.c) */
    }
    d->iommu_group = strtol(name, &end, 10);
    if (*end != '\0' || d->iommu_group < 0) {
        host_note_unseen(d, "iommu_group: link target '%s' is not a group number", name);
        d->iommu_group = -1;
        return 0;
    }
    snprintf(grp, sizeof(grp), "/sys/kernel/iommu_groups/%ld", d->iommu_group);
    snprintf(rel, sizeof(rel), "%s/type", grp);
    if (host_read_text(root, rel, d->group_type, sizeof(d->group_type)) != 0) {
        d->group_type[0] = '\0';
    }
    if (read_group_members(root, d, grp) != 0) {
        return PCIVIRT_ENOMEM;
    }
    read_regions(root, d, grp);
    return 0;
}

static long
read_sysfs_number(const struct host_root *root, const struct host_device *d, const char *leaf, int base)
{
    char rel[HOST_PATH_MAX], text[32], *end;
    long v;

    dev_file(d, leaf, rel, sizeof(rel));
    if (host_read_text(root, rel, text, sizeof(text)) != 0) {
        return -1;
    }
    v = strtol(text, &end, base);
    return (end == text || *end != '\0' || v < 0) ? -1 : v;
}

/*
 * sysfs SR-IOV attributes (pci-sysfs.c / iov.c); sriov_vf_device prints bare hex.
 * Return: 0, or PCIVIRT_ENOMEM (the virtfn links could not be counted).
 */
static int
read_sriov_sysfs(const struct host_root *root, struct host_device *d, const struct host_bar iov[6])
{
    struct host_sriov *s = &d->sriov;
    char rel[HOST_PATH_MAX], **names;
    size_t n;
    int rc;

    s->sys_totalvfs = read_sysfs_number(root, d, "sriov_totalvfs", 10);
    s->sys_numvfs = read_sysfs_number(root, d, "sriov_numvfs", 10);
    s->sys_offset = read_sysfs_number(root, d, "sriov_offset", 10);
    s->sys_stride = read_sysfs_number(root, d, "sriov_stride", 10);
    s->sys_vf_device = read_sysfs_number(root, d, "sriov_vf_device", 16);
    rc = host_list_dir(root, d->path, &names, &n);
    if (rc == ENOMEM) {
        return PCIVIRT_ENOMEM;
    }
    if (rc == 0) {
        for (size_t i = 0; i < n; i++) {
            s->virtfn_links += strncmp(names[i], "virtfn", 6) == 0;
        }
        host_free_names(names, n);
    }
    if (s->present != HOST_YES) {
        return 0;
    }
    /* Per-VF sizes: the kernel's IOV resources (per-VF x TotalVFs), else VF 0's BARs. */
    for (size_t i = 0; i < 6 && s->total_vfs > 0; i++) {
        if (!s->vf_bar[i].present && iov[i].present && !iov[i].io) {
            /* A 32-bit VF BAR programmed to 0 reads 0 in config; the kernel still knows it. */
            s->vf_bar[i].present = true;
            s->vf_bar[i].is64 = iov[i].is64;
            s->vf_bar[i].prefetch = iov[i].prefetch;
        }
        if (s->vf_bar[i].present && iov[i].present && iov[i].size % s->total_vfs == 0) {
            s->vf_bar[i].size = iov[i].size / s->total_vfs;
            s->size_source = "IOV resources in the PF's sysfs resource file";
        }
    }
    if (s->size_source == NULL && s->virtfn_links > 0) {
        struct host_device vf;
        size_t lines;
        struct host_bar viov[6];
        memset(&vf, 0, sizeof(vf));
        snprintf(rel, sizeof(rel), "%s/virtfn0", d->path);
        if (host_resolve(root, rel, vf.path, sizeof(vf.path)) == 0) {
            read_resources(root, &vf, viov, &lines);
            for (size_t i = 0; i < 6; i++) {
                if (s->vf_bar[i].present && vf.bar[i].present) {
                    s->vf_bar[i].size = vf.bar[i].size;
                    s->size_source = "VF 0's sysfs resource file";
                }
            }
        }
    }
    return 0;
}

/* Location and ACS path: the components of the resolved path below /sys/devices/. */
static void
read_path(const struct host_root *root, struct host_device *d)
{
    const char *loc = strstr(d->path, "/sys/devices/");
    const char *p, *slash;
    char comps[HOST_PATH_HOPS_MAX][16];
    size_t nc = 0;

    snprintf(d->location, sizeof(d->location), "%s", loc != NULL ? loc + strlen("/sys/devices/") : d->path);
    for (p = d->location; *p != '\0'; p = *slash ? slash + 1 : slash) {
        slash = strchr(p, '/');
        if (slash == NULL) {
            slash = p + strlen(p);
        }
        if (is_bdf_name(p, (size_t)(slash - p)) && nc < HOST_PATH_HOPS_MAX) {
            memcpy(comps[nc], p, 12);
            comps[nc++][12] = '\0';
        }
    }
    /* hop[0] is the device itself, then each bridge upward. */
    for (size_t i = 0; i < nc; i++) {
        struct host_acs_hop *h = &d->hop[d->hops++];
        const char *name = comps[nc - 1 - i];
        char rel[HOST_PATH_MAX];
        uint8_t cfg[4096];
        size_t got = 0, size = 0;

        memset(h, 0, sizeof(*h));
        snprintf(h->bdf, sizeof(h->bdf), "%s", name);
        h->is_device = i == 0;
        if (i == 0) {
            host_config_hop(h, d->config, d->config_len, d->config_size);
            continue;
        }
        snprintf(rel, sizeof(rel), DEVICES_DIR "/%s/config", name);
        if (host_read_bytes(root, rel, cfg, sizeof(cfg), &got, &size) != 0 && got == 0) {
            host_note_unseen(d, "config of bridge %s: unreadable", name);
        }
        host_config_hop(h, cfg, got, size > sizeof(cfg) ? sizeof(cfg) : size);
        if (i == 1) {
            snprintf(d->upstream_bdf, sizeof(d->upstream_bdf), "%s", name);
            host_bridge_windows(cfg, got, &d->up_mem, &d->up_pref, &d->up_subordinate);
        }
    }
}

static int
read_device(const struct host_root *root, const char *name, struct host_device *d)
{
    char rel[HOST_PATH_MAX];
    struct host_bar iov[6];
    size_t lines = 0;
    int rc;

    memset(iov, 0, sizeof(iov));
    snprintf(d->bdf, sizeof(d->bdf), "%.15s", name);
    if (host_parse_bdf(name, &d->domain, &d->bus, &d->dev, &d->fn) != 0) {
        return PCIVIRT_EINVAL;
    }
    d->header_type = 0xff;
    d->pcie_type = HOST_PCIE_UNSEEN;
    d->up_subordinate = -1;
    snprintf(rel, sizeof(rel), DEVICES_DIR "/%s", name);
    rc = host_resolve(root, rel, d->path, sizeof(d->path));
    if (rc != 0) {
        snprintf(d->path, sizeof(d->path), "%.500s", rel);
        host_note_unseen(d, "%s: cannot resolve (%s); parent bridges unknown", rel, strerror(rc));
    }
    read_ids(root, d);
    read_config(root, d);
    host_config_decode(d);
    if (read_enable_and_msi(root, d) != 0) {
        return PCIVIRT_ENOMEM;
    }
    read_resources(root, d, iov, &lines);
    if (read_iommu_group(root, d) != 0 || read_sriov_sysfs(root, d, iov) != 0) {
        return PCIVIRT_ENOMEM;
    }
    read_path(root, d);
    return 0;
}

static int
device_wanted(const char *name, const struct host_survey_options *opts, bool *matched)
{
    uint16_t dom, wdom;
    uint8_t b, dv, f, wb, wdv, wf;

    if (opts == NULL || opts->only_bdf == NULL) {
        return 1;
    }
    if (host_parse_bdf(opts->only_bdf, &wdom, &wb, &wdv, &wf) != 0 || host_parse_bdf(name, &dom, &b, &dv, &f) != 0) {
        return 0;
    }
    if (dom == wdom && b == wb && dv == wdv && f == wf) {
        *matched = true;
        return 1;
    }
    return 0;
}

static int
survey_devices(struct host_survey *s, const struct host_survey_options *opts, struct pcivirt_error *err)
{
    char **names;
    size_t n;
    bool matched = false;
    int rc = host_list_dir(&s->root, DEVICES_DIR, &names, &n);

    if (rc != 0) {
        pcivirt_error_locate(err, s->platform.root, 0, DEVICES_DIR);
        return pcivirt_error_set(err,
                                 rc == ENOENT   ? PCIVIRT_ENOENT
                                 : rc == ENOMEM ? PCIVIRT_ENOMEM
                                                : PCIVIRT_EIO,
                                 "%s%s: %s (not a sysfs tree?)", s->root.path, DEVICES_DIR, strerror(rc));
    }
    s->dev = pv_calloc(n ? n : 1, sizeof(*s->dev));
    if (s->dev == NULL) {
        host_free_names(names, n);
        return pcivirt_error_set(err, PCIVIRT_ENOMEM, "out of memory listing %zu devices", n);
    }
    for (size_t i = 0; i < n; i++) {
        struct host_device *d;
        if (!device_wanted(names[i], opts, &matched)) {
            continue;
        }
        d = pv_calloc(1, sizeof(*d));
        if (d == NULL) {
            int rc_nomem = pcivirt_error_set(err, PCIVIRT_ENOMEM, "out of memory reading %s", names[i]);

            host_free_names(names, n); /* after the message: it names names[i] */
            return rc_nomem;
        }
        s->dev[s->count++] = d;
        rc = read_device(&s->root, names[i], d);
        if (rc == PCIVIRT_ENOMEM) {
            /* Never a survey with a finding silently missing (docs/HARDENING.md). */
            int rc_nomem = pcivirt_error_set(err, PCIVIRT_ENOMEM, "out of memory reading %s", names[i]);

            host_free_names(names, n);
            return rc_nomem;
        }
        if (rc != 0) {
            pv_free(d);
            s->count--;
            continue; /* not a BDF-named entry: not a PCI function */
        }
        host_judge_device(d, &s->platform);
    }
    host_free_names(names, n);
    if (opts != NULL && opts->only_bdf != NULL && !matched) {
        pcivirt_error_locate(err, s->platform.root, 0, "device");
        return pcivirt_error_set(err, PCIVIRT_ENOENT, "no PCI function %s under %s%s", opts->only_bdf, s->root.path,
                                 DEVICES_DIR);
    }
    return 0;
}

int
host_survey_run(const struct host_survey_options *opts, struct host_survey **out, struct pcivirt_error *err)
{
    const char *dir = (opts != NULL && opts->root != NULL) ? opts->root : "/";
    struct host_survey *s;
    uint16_t dom;
    uint8_t b, d, f;
    int rc;

    *out = NULL;
    if (opts != NULL && opts->only_bdf != NULL && host_parse_bdf(opts->only_bdf, &dom, &b, &d, &f) != 0) {
        pcivirt_error_locate(err, opts->only_bdf, 0, "device");
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "'%s' is not a PCI address (DDDD:BB:DD.F or BB:DD.F)",
                                 opts->only_bdf);
    }
    s = pv_calloc(1, sizeof(*s));
    if (s == NULL) {
        return pcivirt_error_set(err, PCIVIRT_ENOMEM, "out of memory");
    }
    rc = host_root_open(&s->root, dir);
    if (rc != 0) {
        pcivirt_error_locate(err, dir, 0, "root");
        pcivirt_error_set(err, rc == ENOENT ? PCIVIRT_ENOENT : PCIVIRT_EIO, "%s: %s", dir, strerror(rc));
        host_survey_destroy(s);
        return rc == ENOENT ? PCIVIRT_ENOENT : PCIVIRT_EIO;
    }
    snprintf(s->platform.root, sizeof(s->platform.root), "%.*s", (int)sizeof(s->platform.root) - 1,
             s->root.path[0] ? s->root.path : "/");
    if (host_read_platform(&s->root, &s->platform) != 0) {
        pcivirt_error_set(err, PCIVIRT_ENOMEM,
                          "out of memory while gathering the platform's IOMMU and interrupt evidence");
        host_survey_destroy(s);
        return PCIVIRT_ENOMEM;
    }
    host_judge_platform(&s->platform);
    rc = survey_devices(s, opts, err);
    if (rc != 0) {
        host_survey_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

void
host_survey_destroy(struct host_survey *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->count; i++) {
        pv_free(s->dev[i]);
    }
    pv_free(s->dev);
    pv_free(s);
}

size_t
host_survey_count(const struct host_survey *s)
{
    return s->count;
}

const struct host_device *
host_survey_device(const struct host_survey *s, size_t i)
{
    return i < s->count ? s->dev[i] : NULL;
}

const struct host_platform *
host_survey_platform(const struct host_survey *s)
{
    return &s->platform;
}
