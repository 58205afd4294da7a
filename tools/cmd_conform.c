/*
 * tools/cmd_conform.c - `pcivirt conform [--driver PATH.so] [--only ID] [--list] [--json]`.
 *
 * Runs the contract conformance suite (src/pf/conform) against the reference PF
 * driver linked into the command, or against a driver module loaded with dlopen
 * (the module resolves the runtime from this executable, which exports it).  The
 * library returns structured results; this file only formats them: one line per
 * check (verdict, id, rule) and, for a failure, the reason; or one JSON document.
 *
 * Exit codes: 0 every check passed (or does not apply); 1 a check failed or its
 * world could not be built; 2 usage errors - an unreadable module, an --only that
 * names no check.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "pf/conform/conform.h"

static void
usage(FILE *f)
{
    fprintf(f, "usage: pcivirt conform [--driver PATH.so] [--filter] [--only ID] [--list] [--json]\n"
               "\n"
               "Check a PF driver against the pcivirt.h contract (contract.md 3-7): IOCTL codes and\n"
               "buffers, the query-interface matrix, exactly-once notification, the attach gate,\n"
               "detach mid-event, veto, invalidation coalescing, mitigated ranges, LUIDs, bad input\n"
               "to every callback, nothing leaked at removal.\n"
               "\n"
               "  --driver PATH.so  a driver module exporting DriverEntry (default: the reference driver)\n"
               "  --filter          attach the driver as a lower filter under a port FDO\n"
               "  --only ID         one check, or every check whose id starts with ID ending in '.'\n"
               "  --list            list the checks (id, contract section, rule) and exit\n"
               "  --json            machine-readable results\n"
               "  -h, --help        this text\n"
               "\n"
               "Exit status: 0 all checks passed; 1 a check failed; 2 usage error.\n");
}

struct conform_args {
    struct pf_conform_options opt;
    const char *only;
    bool list, json;
};

static int
parse_args(int argc, char **argv, struct conform_args *a)
{
    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        bool more = i + 1 < argc;

        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return -1;
        } else if (strcmp(argv[i], "--driver") == 0 && more) {
            a->opt.driver_path = argv[++i];
        } else if (strcmp(argv[i], "--only") == 0 && more) {
            a->only = argv[++i];
        } else if (strcmp(argv[i], "--filter") == 0) {
            a->opt.lower_filter = true;
        } else if (strcmp(argv[i], "--list") == 0) {
            a->list = true;
        } else if (strcmp(argv[i], "--json") == 0) {
            a->json = true;
        } else {
            fprintf(stderr, "pcivirt conform: %s: %s\n", argv[i],
                    argv[i][0] == '-' && (strcmp(argv[i], "--driver") == 0 || strcmp(argv[i], "--only") == 0)
                        ? "needs an argument"
                        : "unknown argument");
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (a->opt.driver_path != NULL && access(a->opt.driver_path, R_OK) != 0) {
        fprintf(stderr, "pcivirt conform: --driver %s: %s\n", a->opt.driver_path, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static int
list_checks(bool json)
{
    size_t n;
    const struct pf_conform_check *c = pf_conform_checks(&n);
    json_t *arr = json ? json_array() : NULL;

    for (size_t i = 0; i < n; i++) {
        if (arr != NULL) {
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:s}", "id", c[i].id, "section", c[i].section, "rule", c[i].rule));
        } else {
            printf("%-40s %-10s %s\n", c[i].id, c[i].section, c[i].rule);
        }
    }
    if (arr != NULL) {
        json_dumpf(arr, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(arr);
    }
    return CLI_EXIT_OK;
}

static const char *
painted(enum pf_conform_verdict v, bool color)
{
    static const char *const plain[] = {"pass ", "FAIL ", "n/a  ", "ERROR"};
    static const char *const col[] = {"\033[32mpass\033[0m ", "\033[1;31mFAIL\033[0m ", "\033[33mn/a\033[0m  ",
                                      "\033[1;31mERROR\033[0m"};

    return (unsigned)v < 4 ? (color ? col[v] : plain[v]) : "?";
}

static void
print_text(const struct pf_conform_report *rep, const char *driver)
{
    bool color = cli_use_color(stdout);

    printf("Conformance of %s\n\n", driver != NULL ? driver : "the reference PF driver (linked in)");
    for (size_t i = 0; i < rep->count; i++) {
        const struct pf_conform_result *res = &rep->results[i];

        printf("%s %-40s %s\n", painted(res->verdict, color), res->check->id, res->check->rule);
        if (res->verdict != PF_CONFORM_PASS && res->reason[0] != '\0') {
            printf("      %s\n", res->reason);
        }
    }
    printf("\n%zu checks: %zu passed, %zu failed, %zu not applicable, %zu harness errors\n", rep->count, rep->passed,
           rep->failed, rep->not_applicable, rep->errors);
}

static void
print_json(const struct pf_conform_report *rep, const char *driver)
{
    json_t *checks = json_array();
    json_t *doc;

    for (size_t i = 0; i < rep->count; i++) {
        const struct pf_conform_result *res = &rep->results[i];

        json_array_append_new(checks, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", res->check->id, "section",
                                                res->check->section, "rule", res->check->rule, "verdict",
                                                pf_conform_verdict_name(res->verdict), "reason", res->reason));
    }
    doc = json_pack("{s:s?, s:I, s:I, s:I, s:I, s:I, s:o}", "driver", driver, "count", (json_int_t)rep->count, "passed",
                    (json_int_t)rep->passed, "failed", (json_int_t)rep->failed, "not_applicable",
                    (json_int_t)rep->not_applicable, "errors", (json_int_t)rep->errors, "checks", checks);
    json_dumpf(doc, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(doc);
}

int
cmd_conform(int argc, char **argv)
{
    struct conform_args a;
    struct pf_conform_report *rep = NULL;
    NTSTATUS st;
    int rc = parse_args(argc, argv, &a);

    if (rc != 0) {
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    if (a.list) {
        return list_checks(a.json);
    }
    st = pf_conform_run(&a.opt, a.only, &rep);
    if (st == STATUS_NOT_FOUND) {
        fprintf(stderr, "pcivirt conform: --only %s: no check has that id or prefix ('pcivirt conform --list')\n",
                a.only);
        return CLI_EXIT_USAGE;
    }
    if (!NT_SUCCESS(st) || rep == NULL) {
        fprintf(stderr, "pcivirt conform: the suite could not run (0x%08x)\n", (unsigned)st);
        return CLI_EXIT_FAILED;
    }
    if (a.json) {
        print_json(rep, a.opt.driver_path);
    } else {
        print_text(rep, a.opt.driver_path);
    }
    rc = rep->failed != 0 || rep->errors != 0 ? CLI_EXIT_FAILED : CLI_EXIT_OK;
    pf_conform_report_free(rep);
    return rc;
}
