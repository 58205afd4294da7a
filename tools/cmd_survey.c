/*
 * tools/cmd_survey.c - `pcivirt survey`: could this host assign its PCI devices?
 *
 * The report follows SurveyDDA.ps1's shape (contract.md 9.2): the host first, then
 * one block per function with a verdict and the reasons in the script's order,
 * each failed check with what would fix it.  Text for people (failures and
 * unknowns always shown, passing checks with --verbose), JSON for machines (every
 * check and every fact).  The library (src/host) decides; this file only prints.
 *
 * Exit codes: 0 at least one function is assignable (with --device: that one is),
 * 1 the survey ran and none is, 2 bad usage or a root that is not a sysfs tree.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "host/survey.h"

struct survey_out {
    bool color;
    bool verbose;
};

static const char *
paint(const struct survey_out *o, enum host_result r)
{
    if (!o->color) {
        return "";
    }
    switch (r) {
    case HOST_RESULT_PASS: return "\033[32m";
    case HOST_RESULT_FAIL: return "\033[31m";
    case HOST_RESULT_UNKNOWN:
    case HOST_RESULT_WARN: return "\033[33m";
    default: return "";
    }
}

static const char *
reset(const struct survey_out *o)
{
    return o->color ? "\033[0m" : "";
}

static void
print_check(const struct survey_out *o, const char *name, const struct host_check *c, const char *said)
{
    char tag[16];

    snprintf(tag, sizeof(tag), "%s", host_result_name(c->result));
    for (char *p = tag; *p; p++) {
        *p = (char)(*p - ('a' <= *p && *p <= 'z' ? 32 : 0));
    }
    printf("  %-20s %s%-7s%s %s\n", name, paint(o, c->result), tag, reset(o), c->why);
    if (c->fix[0] && (said == NULL || strcmp(said, c->fix) != 0) &&
        (c->result == HOST_RESULT_FAIL || c->result == HOST_RESULT_WARN || c->result == HOST_RESULT_UNKNOWN)) {
        printf("  %-20s %-7s fix: %s\n", "", "", c->fix);
    }
}

static enum host_result
verdict_result(enum host_verdict v)
{
    return v == HOST_VERDICT_ASSIGNABLE ? HOST_RESULT_PASS
           : v == HOST_VERDICT_UNKNOWN  ? HOST_RESULT_UNKNOWN
                                        : HOST_RESULT_FAIL;
}

static void
print_device(const struct survey_out *o, const struct host_device *d, const struct host_platform *p)
{
    enum host_verdict v = host_device_verdict(d);
    enum host_result worst = d->verdict_result;

    printf("\n%s [%04lx:%04lx] class %06lx, %s\n", d->bdf, d->vendor & 0xffff, d->device & 0xffff,
           d->class_code & 0xffffff, host_pcie_type_name(d->pcie_type));
    printf("  verdict: %s%s%s", paint(o, verdict_result(v)), host_verdict_name(v), reset(o));
    if (v != HOST_VERDICT_ASSIGNABLE) {
        const char *sep = ": ";
        for (unsigned i = 0; i < HOST_CHECK_COUNT; i++) {
            if (d->check[i].result == worst) {
                printf("%s%s", sep, host_check_name((enum host_check_id)i));
                sep = ", ";
            }
        }
    }
    printf("\n");
    for (unsigned i = 0; i < HOST_CHECK_COUNT; i++) {
        const struct host_check *c = &d->check[i];
        if (o->verbose || c->result >= HOST_RESULT_WARN || i == HOST_CHECK_MMIO || i == HOST_CHECK_LOCATION ||
            (i == HOST_CHECK_SRIOV && d->sriov.present == HOST_YES)) {
            /* A host-wide fix was printed once at the top. */
            const char *said = i == HOST_CHECK_IOMMU ? p->iommu.fix : i == HOST_CHECK_IRQ_REMAP ? p->irq.fix : NULL;
            print_check(o, host_check_name((enum host_check_id)i), c, said);
        }
    }
    for (size_t i = 0; i < d->unseen_count; i++) {
        printf("  %-20s %s\n", i == 0 ? "could not see" : "", d->unseen[i]);
    }
}

static void
print_text(const struct survey_out *o, const struct host_survey *s)
{
    const struct host_platform *p = host_survey_platform(s);
    size_t n = host_survey_count(s), counts[3] = {0, 0, 0};

    printf("pcivirt survey of %s%s\n\nhost\n", p->root, strcmp(p->root, "/") == 0 ? " (live sysfs)" : "");
    print_check(o, "iommu", &p->iommu, NULL);
    print_check(o, "interrupt_remapping", &p->irq, NULL);
    print_check(o, "pcie_control (_OSC)", &p->osc, NULL);
    for (size_t i = 0; i < n; i++) {
        const struct host_device *d = host_survey_device(s, i);
        print_device(o, d, p);
        counts[host_device_verdict(d)]++;
    }
    printf("\n%zu function(s): %zu assignable, %zu not assignable, %zu unknown\n", n, counts[HOST_VERDICT_ASSIGNABLE],
           counts[HOST_VERDICT_NOT_ASSIGNABLE], counts[HOST_VERDICT_UNKNOWN]);
}

/* ---- JSON ---------------------------------------------------------------------------- */

static json_t *
json_check(const char *name, const struct host_check *c)
{
    return json_pack("{s:s, s:s, s:s, s:s?}", "name", name, "result", host_result_name(c->result), "why", c->why, "fix",
                     c->fix[0] ? c->fix : NULL);
}

static json_t *
json_tri(enum host_tri t)
{
    return t == HOST_UNSEEN ? json_null() : json_boolean(t == HOST_YES);
}

static json_t *
json_hops(const struct host_device *d)
{
    json_t *a = json_array();

    for (size_t i = 0; i < d->hops; i++) {
        const struct host_acs_hop *h = &d->hop[i];
        json_t *o =
            json_pack("{s:s, s:b, s:i, s:s, s:b, s:o, s:s, s:s}", "bdf", h->bdf, "is_device", h->is_device, "pcie_type",
                      h->pcie_type, "type_name", host_pcie_type_name(h->pcie_type), "multifunction", h->multifunction,
                      "acs", json_tri(h->acs), "result", host_result_name(h->result), "rule", h->rule);
        if (h->acs == HOST_YES) {
            json_object_set_new(o, "acs_offset", json_integer(h->acs_offset));
            json_object_set_new(o, "acs_cap", json_integer(h->cap));
            json_object_set_new(o, "acs_ctrl", json_integer(h->ctrl));
            json_object_set_new(o, "acs_required", json_integer(h->required));
            json_object_set_new(o, "acs_missing", json_integer(h->missing));
        }
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *
json_sriov(const struct host_sriov *s)
{
    json_t *bars = json_array(), *o;

    if (s->present != HOST_YES) {
        json_decref(bars);
        return json_null();
    }
    for (unsigned i = 0; i < 6; i++) {
        const struct host_bar *b = &s->vf_bar[i];
        if (b->present) {
            json_array_append_new(bars, json_pack("{s:i, s:b, s:b, s:I, s:I}", "index", i, "is64", b->is64, "prefetch",
                                                  b->prefetch, "address", (json_int_t)b->start, "per_vf_size",
                                                  (json_int_t)b->size));
        }
    }
    o = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:b, s:I, s:I, s:o}", "cap_offset", s->cap_offset, "total_vfs",
                  s->total_vfs, "initial_vfs", s->initial_vfs, "num_vfs", s->num_vfs, "vf_offset", s->vf_offset,
                  "vf_stride", s->vf_stride, "vf_device", s->vf_device, "ari_hierarchy", s->ari_hierarchy,
                  "aperture_nonprefetchable", (json_int_t)s->aperture_nonpref, "aperture_prefetchable",
                  (json_int_t)s->aperture_pref, "vf_bars", bars);
    json_object_set_new(o, "sysfs_totalvfs", s->sys_totalvfs >= 0 ? json_integer(s->sys_totalvfs) : json_null());
    json_object_set_new(o, "sysfs_numvfs", s->sys_numvfs >= 0 ? json_integer(s->sys_numvfs) : json_null());
    return o;
}

static json_t *
json_device(const struct host_device *d)
{
    json_t *checks = json_array(), *reasons = json_array(), *members = json_array(), *regions = json_array(),
           *unseen = json_array();
    enum host_verdict v = host_device_verdict(d);

    for (unsigned i = 0; i < HOST_CHECK_COUNT; i++) {
        const char *name = host_check_name((enum host_check_id)i);
        json_array_append_new(checks, json_check(name, &d->check[i]));
        if (v != HOST_VERDICT_ASSIGNABLE && d->check[i].result == d->verdict_result) {
            json_array_append_new(reasons, json_pack("{s:s, s:s}", "check", name, "why", d->check[i].why));
        }
    }
    for (size_t i = 0; i < d->group_members; i++) {
        json_array_append_new(members,
                              json_pack("{s:s, s:b}", "bdf", d->group_member[i], "bridge", d->group_member_bridge[i]));
    }
    for (size_t i = 0; i < d->regions; i++) {
        json_array_append_new(regions, json_pack("{s:I, s:I, s:s}", "start", (json_int_t)d->region[i].start, "end",
                                                 (json_int_t)d->region[i].end, "type", d->region[i].type));
    }
    for (size_t i = 0; i < d->unseen_count; i++) {
        json_array_append_new(unseen, json_string(d->unseen[i]));
    }
    return json_pack("{s:s, s:I, s:I, s:I, s:i, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:I, s:I}, "
                     "s:o, s:o, s:o, s:o}",
                     "bdf", d->bdf, "vendor", (json_int_t)d->vendor, "device", (json_int_t)d->device, "class",
                     (json_int_t)d->class_code, "pcie_type", d->pcie_type, "pcie_type_name",
                     host_pcie_type_name(d->pcie_type), "path", d->path, "location", d->location, "verdict",
                     host_verdict_name(v), "reasons", reasons, "checks", checks, "acs_path", json_hops(d),
                     "iommu_group", d->iommu_group >= 0 ? json_integer(d->iommu_group) : json_null(), "group_members",
                     members, "reserved_regions", regions, "mmio", "bars32", (json_int_t)d->mmio32, "bars64",
                     (json_int_t)d->mmio64, "msi", json_tri(d->msi), "msix", json_tri(d->msix), "sriov",
                     json_sriov(&d->sriov), "unseen", unseen);
}

static int
print_json(const struct host_survey *s)
{
    const struct host_platform *p = host_survey_platform(s);
    json_t *devs = json_array(), *root;
    size_t n = host_survey_count(s), counts[3] = {0, 0, 0};
    int rc;

    for (size_t i = 0; i < n; i++) {
        const struct host_device *d = host_survey_device(s, i);
        json_array_append_new(devs, json_device(d));
        counts[host_device_verdict(d)]++;
    }
    root =
        json_pack("{s:s, s:{s:i, s:i, s:o, s:o, s:o, s:o, s:o}, s:o, s:{s:I, s:I, s:I, s:I}}", "root", p->root, "host",
                  "iommu_units", p->iommu_units, "iommu_groups", p->iommu_groups, "interrupt_remapping_seen",
                  json_tri(p->irq_remap), "os_pcie_control", json_tri(p->os_pcie_control), "iommu",
                  json_check("iommu", &p->iommu), "interrupt_remapping", json_check("interrupt_remapping", &p->irq),
                  "pcie_control", json_check("pcie_control", &p->osc), "devices", devs, "summary", "functions",
                  (json_int_t)n, "assignable", (json_int_t)counts[HOST_VERDICT_ASSIGNABLE], "not_assignable",
                  (json_int_t)counts[HOST_VERDICT_NOT_ASSIGNABLE], "unknown", (json_int_t)counts[HOST_VERDICT_UNKNOWN]);
    if (root == NULL) {
        fprintf(stderr, "pcivirt survey: cannot build the JSON report (out of memory)\n");
        return -1;
    }
    rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("\n");
    json_decref(root);
    return rc;
}

static void
usage(FILE *f)
{
    fprintf(f, "usage: pcivirt survey [--sysfs ROOT] [--device BDF] [--json] [--verbose]\n\n"
               "Judge whether each PCI function of this host could be assigned to a VM (the checks of\n"
               "SurveyDDA.ps1 plus the SR-IOV requirements of pcivirt.h, contract.md section 9), and say\n"
               "why not and what would fix it.  Reads sysfs only; never writes config space.\n\n"
               "  --sysfs ROOT   survey a captured snapshot laid out like / (ROOT/sys/bus/pci/devices,\n"
               "                 ROOT/sys/kernel/iommu_groups, ROOT/sys/class/iommu, optionally\n"
               "                 ROOT/proc/interrupts, ROOT/proc/cmdline and ROOT/dev/kmsg holding dmesg)\n"
               "  --device BDF   survey one function (DDDD:BB:DD.F or BB:DD.F)\n"
               "  --json         machine-readable report on stdout\n"
               "  --verbose      also list the checks that passed\n"
               "  --help         this text\n\n"
               "Unprivileged runs see only 64 bytes of config space; what could not be seen is listed and\n"
               "the checks that needed it say \"unknown\".  NO_COLOR disables colour.\n\n"
               "exit status: 0 at least one function (with --device: that function) is assignable,\n"
               "             1 the survey ran and none is, 2 usage error or ROOT is not a sysfs tree.\n");
}

int
cmd_survey(int argc, char **argv)
{
    static const struct option opts[] = {
        {"sysfs", required_argument, NULL, 's'}, {"device", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},        {0}};
    struct host_survey_options so = {"/", NULL};
    struct survey_out out = {cli_use_color(stdout), false};
    struct pcivirt_error err;
    struct host_survey *s = NULL;
    bool json = false, any = false;
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "s:d:jvh", opts, NULL)) != -1) {
        switch (c) {
        case 's': so.root = optarg; break;
        case 'd': so.only_bdf = optarg; break;
        case 'j': json = true; break;
        case 'v': out.verbose = true; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default:
            fprintf(stderr, "pcivirt survey: unknown or incomplete option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pcivirt survey: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    pcivirt_error_clear(&err);
    if (host_survey_run(&so, &s, &err) != 0) {
        fprintf(stderr, "pcivirt survey: %s\n", err.message);
        return CLI_EXIT_USAGE;
    }
    if (json) {
        if (print_json(s) != 0) {
            host_survey_destroy(s);
            return CLI_EXIT_USAGE;
        }
    } else {
        print_text(&out, s);
    }
    for (size_t i = 0; i < host_survey_count(s); i++) {
        any = any || host_device_verdict(host_survey_device(s, i)) == HOST_VERDICT_ASSIGNABLE;
    }
    host_survey_destroy(s);
    return any ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}
