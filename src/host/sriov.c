/*
 * host/sriov.c - the SR-IOV check: can this PF's VFs be enabled and placed?
 *
 * SurveyDDA.ps1 does not look at SR-IOV (contract.md 9.2 note); the seed does,
 * because the VFs are what gets assigned.  For a PF the survey therefore judges
 * what would stop its VFs before any VM sees them, in the order Linux meets the
 * problems (device-model.md 4.1-4.2, 5.3, 6): a geometry Linux refuses, VF BAR
 * apertures (per-VF size x TotalVFs) that do not fit the upstream bridge's window,
 * and VFs whose routing IDs fall past the bridge's bus range.  Config bytes give
 * the geometry and VF BAR types; sysfs gives per-VF sizes (the kernel sized them)
 * and is cross-checked against the bytes.  Results are split into parts so the
 * report can say which part failed and show the arithmetic.
 */
#include "host/internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pci/regs.h"

struct verdict_text {
    enum host_result result;
    char why[HOST_TEXT_MAX];
    char fix[HOST_TEXT_MAX];
};

static void add(struct verdict_text *v, enum host_result r, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
add(struct verdict_text *v, enum host_result r, const char *fix, const char *fmt, ...)
{
    size_t used = strlen(v->why);
    va_list ap;

    if (r > v->result) {
        v->result = r;
    }
    if (used + 3 < sizeof(v->why)) {
        snprintf(v->why + used, sizeof(v->why) - used, "; ");
        va_start(ap, fmt);
        vsnprintf(v->why + used + 2, sizeof(v->why) - used - 2, fmt, ap);
        va_end(ap);
    }
    if (fix != NULL) {
        used = strlen(v->fix);
        snprintf(v->fix + used, sizeof(v->fix) - used, "%s%s", used ? "; " : "", fix);
    }
}

/* Linux's geometry rules (sriov_init, sriov_enable, compute_max_vf_buses). */
static void
judge_geometry(const struct host_sriov *s, struct verdict_text *v)
{
    if (s->initial_vfs > s->total_vfs) {
        add(v, HOST_RESULT_FAIL, "a firmware or device fix: Linux refuses InitialVFs > TotalVFs",
            "InitialVFs %u exceeds TotalVFs %u", s->initial_vfs, s->total_vfs);
    }
    if (s->num_vfs > 0 && s->vf_offset == 0) {
        add(v, HOST_RESULT_FAIL, NULL, "First VF Offset is 0 with NumVFs %u: Linux refuses it", s->num_vfs);
    }
    if (s->num_vfs > 1 && s->vf_stride == 0) {
        add(v, HOST_RESULT_FAIL, NULL, "VF Stride is 0 with NumVFs %u: Linux refuses it", s->num_vfs);
    }
    if ((s->sup_page_sizes & PCI_SRIOV_SUP_PGSIZE_MINREQ) != PCI_SRIOV_SUP_PGSIZE_MINREQ) {
        add(v, HOST_RESULT_WARN, NULL, "Supported Page Sizes 0x%x lacks the mandatory 0x553 set (usable)",
            s->sup_page_sizes);
    }
    if (s->sys_page_size == 0 || (s->sys_page_size & (s->sys_page_size - 1)) != 0 ||
        (s->sys_page_size & s->sup_page_sizes) == 0) {
        add(v, HOST_RESULT_WARN, NULL, "System Page Size 0x%x is not exactly one supported size", s->sys_page_size);
    }
}

static void
cross_one(struct verdict_text *v, const char *file, long sys, long cfg, bool hex)
{
    if (sys >= 0 && sys != cfg) {
        add(v, HOST_RESULT_WARN, NULL, hex ? "%s says %lx but config says %lx" : "%s says %ld but config says %ld",
            file, sys, cfg);
    }
}

/* sysfs against config bytes; a lower sriov_totalvfs is a driver limit, not a mismatch. */
static void
cross_check(const struct host_sriov *s, struct verdict_text *v)
{
    if (s->sys_totalvfs >= 0 && s->sys_totalvfs < s->total_vfs) {
        add(v, HOST_RESULT_INFO, NULL, "the driver limits TotalVFs to %ld (sriov_totalvfs)", s->sys_totalvfs);
    } else {
        cross_one(v, "sriov_totalvfs", s->sys_totalvfs, s->total_vfs, false);
    }
    cross_one(v, "sriov_numvfs", s->sys_numvfs, s->num_vfs, false);
    cross_one(v, "sriov_offset", s->sys_offset, s->vf_offset, false);
    cross_one(v, "sriov_stride", s->sys_stride, s->vf_stride, false);
    cross_one(v, "sriov_vf_device", s->sys_vf_device, s->vf_device, true);
    if (s->sys_numvfs >= 0 && s->virtfn_links != (unsigned long)s->sys_numvfs) {
        add(v, HOST_RESULT_WARN, NULL, "%u virtfn links for %ld enabled VFs", s->virtfn_links, s->sys_numvfs);
    }
}

/* Sum the apertures; false (with a reason) when a per-VF size is unknown. */
static bool
apertures(struct host_sriov *s, struct verdict_text *v, char *list, size_t cap)
{
    char a[32], b[32];
    bool any = false;

    s->aperture_nonpref = s->aperture_pref = 0;
    list[0] = '\0';
    for (unsigned i = 0; i < PCI_SRIOV_NUM_BARS; i++) {
        const struct host_bar *bar = &s->vf_bar[i];
        if (!bar->present) {
            continue;
        }
        any = true;
        if (bar->size == 0) {
            add(v, HOST_RESULT_UNKNOWN,
                "run on a kernel with CONFIG_PCI_IOV (the PF's resource file then lists the IOV resources)",
                "per-VF size of VF BAR%u unknown: the kernel shows no IOV resource and the survey never sizes BARs "
                "by writing them",
                i);
            return false;
        }
        uint64_t ap = bar->size * s->total_vfs;
        *(bar->prefetch ? &s->aperture_pref : &s->aperture_nonpref) += ap;
        snprintf(list + strlen(list), cap - strlen(list), "%sBAR%u %s x %u = %s (%s%s)", list[0] ? ", " : "", i,
                 host_size_text(bar->size, a, sizeof(a)), s->total_vfs, host_size_text(ap, b, sizeof(b)),
                 bar->is64 ? "64-bit" : "32-bit", bar->prefetch ? ", prefetchable" : "");
    }
    if (!any) {
        add(v, HOST_RESULT_INFO, NULL,
            "no VF BARs in the SR-IOV capability (VF memory may come from Enhanced "
            "Allocation)");
        return false;
    }
    return true;
}

static uint64_t
window_size(const struct host_window *w)
{
    return w->valid ? w->limit - w->base + 1 : 0;
}

/* Compare one kind of need with one window; the window is shared, so this is a lower bound. */
static void
fit(struct verdict_text *v, const struct host_device *d, const char *kind, uint64_t need, const struct host_window *w)
{
    char n[32], h[32];

    if (need == 0) {
        return;
    }
    if (need > window_size(w)) {
        char fix[HOST_TEXT_MAX];
        snprintf(fix, sizeof(fix),
                 "give bridge %s a %s window of at least %s: enable SR-IOV / above-4G decoding in "
                 "the firmware, or boot with pci=realloc (and pci=hpmmioprefsize= for hot-plug ports)",
                 d->upstream_bdf, kind, host_size_text(need, n, sizeof(n)));
        add(v, HOST_RESULT_FAIL, fix, "VF BARs plus the PF's own BARs need %s of %s MMIO, but bridge %s's window is %s",
            host_size_text(need, n, sizeof(n)), kind, d->upstream_bdf,
            w->valid ? host_size_text(window_size(w), h, sizeof(h)) : "closed");
        return;
    }
    add(v, HOST_RESULT_PASS, NULL, "%s need %s fits bridge %s's window 0x%" PRIx64 "-0x%" PRIx64 " (%s)", kind,
        host_size_text(need, n, sizeof(n)), d->upstream_bdf, w->base, w->limit,
        host_size_text(window_size(w), h, sizeof(h)));
}

static void
judge_windows(struct host_device *d, struct verdict_text *v)
{
    uint64_t np = d->sriov.aperture_nonpref, p = d->sriov.aperture_pref;

    if (d->upstream_bdf[0] == '\0') {
        add(v, HOST_RESULT_INFO, NULL, "on a root bus: the host bridge's windows are not in sysfs (see /proc/iomem)");
        return;
    }
    if (d->up_subordinate < 0) {
        add(v, HOST_RESULT_UNKNOWN, NULL, "bridge %s's config header is not readable", d->upstream_bdf);
        return;
    }
    for (unsigned i = 0; i < 6; i++) {
        const struct host_bar *b = &d->bar[i];
        if (b->present && !b->io) {
            *(b->prefetch ? &p : &np) += b->size;
        }
    }
    /* Prefetchable resources fall back to the non-prefetchable window when there is no other. */
    if (!d->up_pref.valid) {
        np += p;
        p = 0;
    }
    fit(v, d, "non-prefetchable", np, &d->up_mem);
    fit(v, d, "prefetchable", p, &d->up_pref);
}

/* Routing IDs (device-model.md 5.1, 5.3): the last of TotalVFs must stay within the bridge's buses. */
static void
judge_buses(struct host_device *d, struct verdict_text *v)
{
    struct host_sriov *s = &d->sriov;
    unsigned rid, last;

    if (s->total_vfs == 0 || s->vf_offset == 0 || (s->total_vfs > 1 && s->vf_stride == 0)) {
        return;
    }
    rid = ((unsigned)d->bus << 8) + ((unsigned)d->dev << 3) + d->fn + s->vf_offset +
          (unsigned)s->vf_stride * (s->total_vfs - 1u);
    last = rid >> 8;
    s->last_vf_bus = last;
    if (last > 255) {
        add(v, HOST_RESULT_FAIL, NULL, "VF %u would need bus %u: past bus 255", s->total_vfs, last);
    } else if (d->up_subordinate >= 0 && last > (unsigned)d->up_subordinate) {
        add(v, HOST_RESULT_WARN,
            "reserve buses below the bridge (pci=assign-busses, firmware bus padding) or enable ARI",
            "all %u VFs need buses up to %02x (offset %u, stride %u, ARI %s) but bridge %s ends at bus %02x; Linux "
            "enables only the VFs that fit",
            s->total_vfs, last, s->vf_offset, s->vf_stride, s->ari_hierarchy ? "on" : "off", d->upstream_bdf,
            (unsigned)d->up_subordinate);
    }
}

void
host_judge_device_sriov(struct host_device *d)
{
    struct host_check *c = &d->check[HOST_CHECK_SRIOV];
    struct host_sriov *s = &d->sriov;
    struct verdict_text v;
    char bars[HOST_TEXT_MAX];

    memset(&v, 0, sizeof(v));
    if (s->present == HOST_NO) {
        c->result = HOST_RESULT_INFO;
        snprintf(c->why, sizeof(c->why), "no SR-IOV capability");
        c->fix[0] = '\0';
        return;
    }
    if (s->present == HOST_UNSEEN) {
        c->result = s->sys_totalvfs >= 0 ? HOST_RESULT_UNKNOWN : HOST_RESULT_INFO;
        snprintf(c->why, sizeof(c->why), "SR-IOV capability not visible%s",
                 s->sys_totalvfs >= 0 ? " although sriov_totalvfs exists: geometry and VF BARs cannot be checked" : "");
        snprintf(c->fix, sizeof(c->fix), "%s", s->sys_totalvfs >= 0 ? "run as root" : "");
        return;
    }
    snprintf(v.why, sizeof(v.why),
             "SR-IOV at 0x%03x: TotalVFs %u, InitialVFs %u, NumVFs %u, VF offset %u, stride %u, "
             "VF device %04x, ARI %s, VF Enable %s",
             s->cap_offset, s->total_vfs, s->initial_vfs, s->num_vfs, s->vf_offset, s->vf_stride, s->vf_device,
             s->ari_hierarchy ? "on" : "off", (s->ctrl & PCI_SRIOV_CTRL_VFE) ? "on" : "off");
    judge_geometry(s, &v);
    cross_check(s, &v);
    if (apertures(s, &v, bars, sizeof(bars))) {
        add(&v, HOST_RESULT_PASS, NULL, "VF BAR apertures (per-VF size x TotalVFs, sizes from %s): %s", s->size_source,
            bars);
        judge_windows(d, &v);
    }
    judge_buses(d, &v);
    c->result = v.result;
    snprintf(c->why, sizeof(c->why), "%s", v.why);
    snprintf(c->fix, sizeof(c->fix), "%s", v.fix);
}
