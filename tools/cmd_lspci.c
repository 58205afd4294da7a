/*
 * tools/cmd_lspci.c - `pcivirt lspci`: a modelled SR-IOV device the way lspci shows it.
 *
 * The command line follows lspci where lspci has the option (-t, -n, -v, -x,
 * -xxx, -xxxx, -i) and adds what an SR-IOV model needs (--device, --function,
 * --numvfs, --ari, --bus-range) and the machine forms (--dot, --json).  The device
 * is built and enabled by lspci_model.c; the forms are printed by lspci_print.c
 * and lspci_export.c; this file only parses options and maps outcomes to exit
 * codes.
 *
 * Exit codes (docs/CLI.md): 0 shown; 1 the device refused to enable the requested
 * VFs (the last VF's routing ID falls outside the bus range - the device's
 * explanation is on stderr; the same refusal Linux answers with ENOMEM); 2 bad
 * usage or bad input (unknown option, unreadable or malformed dump, no SR-IOV
 * function, --numvfs above TotalVFs, --ari on without ARI).
 *
 * Topology mode (--scenario FILE, or no device option at all: the embedded
 * default scenario): the scenario runner builds the machine - devices, PF
 * drivers, the stack, VMs - and applies the scenario's assignments; each device
 * is then listed from the device itself, and each VF's holder is asked of the
 * stack's VM manager (run_vf_holder), not taken from the scenario text.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lspci_model.h"
#include "lspci_print.h"
#include "run.h"
#include "util/alloc.h"

#define ME "pcivirt lspci"

static void
usage(FILE *f)
{
    fprintf(f, "usage: pcivirt lspci [--device FILE|builtin:NAME] [--function BDF] [--numvfs N] [--ari on|off]\n"
               "                     [--bus-range BB[-BB]] [-t] [-n|-nn] [-v] [-x|-xxx|-xxxx] [-i PCI.IDS]\n"
               "                     [--dot | --json]\n"
               "       pcivirt lspci [--scenario FILE]\n\n"
               "Build a software SR-IOV device, enable N VFs at the routing IDs the device dictates\n"
               "(PF routing ID + First VF Offset + i x VF Stride, re-read after NumVFs is written, as\n"
               "Linux does) and show the PF and its VFs the way lspci shows functions.\n\n"
               "  --device SRC      an lspci -xxxx dump file (the function with an SR-IOV capability)\n"
               "                    or builtin:82599 (alias builtin:default) or builtin:wide;\n"
               "                    default: builtin:82599\n"
               "  --function BDF    the PF in a dump holding several SR-IOV functions ([DDDD:]BB:DD.F)\n"
               "  --numvfs N        VFs to enable, 0..TotalVFs (default: TotalVFs)\n"
               "  --ari on|off      put the PF below a port that does / does not forward ARI\n"
               "                    (ARI Capable Hierarchy); default: as built or as captured\n"
               "  --bus-range B[-E] the bus range below the PF's port (hex, B = the PF's bus);\n"
               "                    default: the buses Linux reserves for TotalVFs\n"
               "  -n, -nn           numeric ids instead of names; -nn both\n"
               "  -t                tree, as lspci -t\n"
               "  -v                decoded SR-IOV geometry and each VF's index and routing ID\n"
               "  -x, -xxx, -xxxx   hex dump of 64, 256 or 4096 config bytes (lspci -F reads it)\n"
               "  -i FILE           pci.ids to read names from (default " LSPCI_IDS_DEFAULT ")\n"
               "  --dot             Graphviz picture: PF -> VFs\n"
               "  --json            machine-readable output\n"
               "  --scenario FILE   the topology of a scenario: PFs, VFs and the VM holding each VF\n"
               "                    (without any device option: the embedded default scenario)\n"
               "  --help            this text\n\n"
               "exit status: 0 shown, 1 the device refused to enable the VFs (reason on stderr),\n"
               "             2 usage error or bad input (file, function, NumVFs, ARI).\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, ME ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see 'pcivirt lspci --help')\n");
    return CLI_EXIT_USAGE;
}

static bool
parse_num_vfs(const char *s, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 65535) {
        return false;
    }
    *out = v;
    return true;
}

static bool
parse_bus_range(const char *s, struct lspci_spec *spec)
{
    unsigned a, b;
    char tail;

    if (sscanf(s, "%2x-%2x%c", &a, &b, &tail) == 2 && strchr(s, '-') != NULL) {
        spec->bus_first = (uint8_t)a;
        spec->bus_last = (uint8_t)b;
    } else if (sscanf(s, "%2x%c", &a, &tail) == 1) {
        spec->bus_first = spec->bus_last = (uint8_t)a;
    } else {
        return false;
    }
    spec->has_bus_range = true;
    return true;
}

enum { OPT_DEVICE = 256, OPT_FUNCTION, OPT_NUMVFS, OPT_ARI, OPT_BUS_RANGE, OPT_DOT, OPT_JSON, OPT_SCENARIO };

/* One option into @spec / @o; CLI_EXIT_OK, or an exit code (help, usage error) to return. */
static int
take_option(int c, struct lspci_spec *spec, struct lspci_opts *o, const char **scenario)
{
    switch (c) {
    case OPT_DEVICE: spec->device = optarg; break;
    case OPT_FUNCTION: spec->function = optarg; break;
    case OPT_NUMVFS:
        if (!parse_num_vfs(optarg, &spec->num_vfs)) {
            return usage_error("--numvfs %s: not a number of VFs (0..65535)", optarg);
        }
        break;
    case OPT_ARI:
        if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0) {
            return usage_error("--ari %s: say on or off", optarg);
        }
        spec->ari = strcmp(optarg, "on") == 0;
        break;
    case OPT_BUS_RANGE:
        if (!parse_bus_range(optarg, spec)) {
            return usage_error("--bus-range %s: give hex bus numbers, BB or BB-BB", optarg);
        }
        break;
    case OPT_DOT: o->dot = true; break;
    case OPT_JSON: o->json = true; break;
    case OPT_SCENARIO: *scenario = optarg; break;
    case 't': o->tree = true; break;
    case 'n': o->numeric = o->numeric < 2 ? o->numeric + 1 : 2; break;
    case 'v': o->verbose = true; break;
    case 'x': o->hex = o->hex == 0 ? 1 : o->hex + 1; break;
    case 'i': o->ids_path = optarg; break;
    case 'h': usage(stdout); return -1;
    default: return usage_error("unknown option");
    }
    return CLI_EXIT_OK;
}

static int
parse_args(int argc, char **argv, struct lspci_spec *spec, struct lspci_opts *o, const char **scenario)
{
    static const struct option opts[] = {{"device", required_argument, NULL, OPT_DEVICE},
                                         {"function", required_argument, NULL, OPT_FUNCTION},
                                         {"numvfs", required_argument, NULL, OPT_NUMVFS},
                                         {"ari", required_argument, NULL, OPT_ARI},
                                         {"bus-range", required_argument, NULL, OPT_BUS_RANGE},
                                         {"dot", no_argument, NULL, OPT_DOT},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"scenario", required_argument, NULL, OPT_SCENARIO},
                                         {"pci-ids", required_argument, NULL, 'i'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    int c, rc;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":tnvxi:h", opts, NULL)) != -1) {
        if (c == ':') {
            return usage_error("option '%s' needs an argument", argv[optind - 1]);
        }
        if (c == '?') {
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
        rc = take_option(c, spec, o, scenario);
        if (rc != CLI_EXIT_OK) {
            return rc;
        }
    }
    if (optind < argc) {
        return usage_error("unexpected argument '%s'", argv[optind]);
    }
    /* lspci: -x 64 bytes (also -xx), -xxx 256, -xxxx 4096. */
    o->hex = o->hex == 0 ? 0 : o->hex <= 2 ? 64 : o->hex == 3 ? 256 : 4096;
    if ((o->tree ? 1 : 0) + (o->dot ? 1 : 0) + (o->json ? 1 : 0) > 1) {
        return usage_error("%s", "-t, --dot and --json are different outputs: choose one");
    }
    if (o->hex != 0 && (o->tree || o->dot)) {
        return usage_error("%s", "-x dumps go with the listing or --json, not with -t or --dot");
    }
    return CLI_EXIT_OK;
}

static void
print_warnings(const struct pv_profile *p)
{
    unsigned n = p->warning_count < PV_PROFILE_MAX_WARNINGS ? p->warning_count : PV_PROFILE_MAX_WARNINGS;

    for (unsigned i = 0; i < n; i++) {
        fprintf(stderr, ME ": warning: %s\n", p->warnings[i]);
    }
    if (p->warning_count > n) {
        fprintf(stderr, ME ": warning: %u more warning(s) not shown\n", p->warning_count - n);
    }
}

/* Prints @n devices in the form @o asks for: JSON one document each, the others as one machine. */
static int
show_n(struct lspci_model *const *m, size_t n, const struct lspci_opts *o)
{
    struct lspci_view *v = pv_calloc(n != 0 ? n : 1, sizeof(*v));
    int rc = v != NULL ? 0 : -1;

    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (lspci_view_init(&v[i], m[i], o) != 0) {
            fprintf(stderr, ME ": %s: cannot read the functions' config space\n", m[i]->prof->name);
            pv_free(v);
            return CLI_EXIT_FAILED;
        }
    }
    for (size_t i = 0; rc == 0 && o->json && i < n; i++) {
        rc = lspci_print_json(&v[i], stdout);
    }
    if (rc == 0 && !o->json) {
        rc = o->dot    ? lspci_print_dot_n(v, n, stdout)
             : o->tree ? lspci_print_tree_n(v, n, stdout)
                       : lspci_print_list_n(v, n, stdout);
    }
    pv_free(v);
    if (rc != 0 || fflush(stdout) != 0) {
        fprintf(stderr, ME ": cannot write the output: %s\n", strerror(errno));
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}

static int
show(struct lspci_model *m, const struct lspci_opts *o)
{
    return show_n(&m, 1, o);
}

/* Each scenario device as the stack holds it after the assignments, shown together. */
static int
show_topology(const char *path, const struct lspci_opts *o)
{
    struct scenario *sc = NULL;
    struct scenario_error se;
    struct run_options ro = {0};
    struct run_error re;
    struct run *r = NULL;
    struct lspci_model **m = NULL;
    char msg[1024];
    size_t n = 0;
    int rc = path != NULL ? scenario_load_file(path, &sc, &se) : scenario_load_default(&sc, &se);

    if (rc != 0) {
        scenario_error_format(&se, msg, sizeof(msg));
        fprintf(stderr, ME ": --scenario: %s\n", msg);
        return CLI_EXIT_USAGE;
    }
    rc = run_create(sc, &ro, &r, &re);
    if (rc != 0) {
        fprintf(stderr, ME ": %s\n", re.message);
    } else if ((m = pv_calloc(run_device_count(r) + 1, sizeof(*m))) == NULL) {
        fprintf(stderr, ME ": out of memory\n");
        rc = CLI_EXIT_FAILED;
    }
    for (; rc == 0 && n < run_device_count(r); n++) {
        struct pv_sriov_dev *dev;
        const struct pv_profile *prof;

        run_device(r, n, &dev, &prof);
        if (lspci_model_wrap(dev, prof, &m[n]) != 0) {
            fprintf(stderr, ME ": %s: cannot read the device\n", prof->name);
            rc = CLI_EXIT_FAILED;
            break;
        }
        for (size_t k = 1; k < m[n]->count; k++) {
            m[n]->fn[k].holder = run_vf_holder(r, n, m[n]->fn[k].vf_index);
        }
        print_warnings(m[n]->prof);
    }
    rc = rc != 0 ? rc : show_n(m, n, o);
    while (m != NULL && n--) {
        lspci_model_close(m[n]);
    }
    pv_free(m);
    run_destroy(r);
    scenario_destroy(sc);
    return rc;
}

static const char default_device[] = "builtin:82599";

int
cmd_lspci(int argc, char **argv)
{
    struct lspci_spec spec = {default_device, NULL, -1, -1, false, 0, 0};
    struct lspci_opts o;
    struct lspci_model *m = NULL;
    struct pcivirt_error err;
    const char *scenario = NULL;
    int rc;

    memset(&o, 0, sizeof(o));
    rc = parse_args(argc, argv, &spec, &o, &scenario);
    if (rc != CLI_EXIT_OK) {
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    if (scenario != NULL && (spec.device != default_device || spec.function != NULL || spec.num_vfs >= 0 ||
                             spec.ari >= 0 || spec.has_bus_range)) {
        return usage_error("%s", "--scenario takes its devices from the scenario: no --device, --function, --numvfs, "
                                 "--ari or --bus-range with it");
    }
    if (scenario != NULL || (spec.device == default_device && spec.function == NULL && spec.num_vfs < 0 &&
                             spec.ari < 0 && !spec.has_bus_range)) {
        return show_topology(scenario, &o);
    }
    rc = lspci_model_open(&spec, &m, &err);
    if (rc != CLI_EXIT_OK) {
        fprintf(stderr, ME ": %s\n", err.message);
        return rc;
    }
    print_warnings(m->prof);
    rc = show(m, &o);
    lspci_model_close(m);
    return rc;
}
