/*
 * tools/cmd_run.c - `pcivirt run [SCENARIO.json] [--events FILE] [--quiet | --json]`, the main job.
 *
 * Loads the scenario (the embedded default without an argument), builds the
 * machine, executes the timeline and prints it with a summary (tools/run.h).
 * Exit codes (docs/CLI.md): 0 every invariant held; 1 one failed, or a device
 * refused to enable its VFs in the scenario's topology; 2 usage errors and
 * scenario errors, printed as file:line:column: field: message.
 *
 * The events file is opened before anything runs, so an unwritable path is a
 * usage error rather than a lost run; it receives the stack's event log as JSON
 * lines after teardown (also after a failed bring-up, with what was logged).
 * --json replaces the whole printed output on stdout by one JSON document, the
 * summary (tools/run_json.c), so a script reads stdout without parsing text.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "run.h"

static void
usage(FILE *f)
{
    fprintf(f, "usage: pcivirt run [SCENARIO.json] [--events FILE] [--quiet | --json]\n"
               "\n"
               "Build the machine a scenario describes (software SR-IOV devices, the reference PF\n"
               "driver, the virtualization stack, VMs with guest drivers), execute its timeline and\n"
               "check the invariants. Without SCENARIO.json the embedded default runs\n"
               "(examples/default.json; format in docs/SCENARIO.md).\n"
               "\n"
               "  --events FILE  write the stack's event log as JSON lines\n"
               "  --quiet        print only failures and the summary, not the timeline\n"
               "  --json         print only the summary, as one JSON document\n"
               "  -h, --help     this text\n"
               "\n"
               "Exit status: 0 every invariant held; 1 an invariant failed or a device refused to\n"
               "enable its VFs; 2 usage or scenario error (file:line:column: field: message).\n");
}

struct run_args {
    const char *scenario;
    const char *events;
    bool quiet;
    bool json;
};

static int
parse_args(int argc, char **argv, struct run_args *a)
{
    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return -1;
        } else if (strcmp(argv[i], "--events") == 0 && i + 1 < argc) {
            a->events = argv[++i];
        } else if (strncmp(argv[i], "--events=", 9) == 0) {
            a->events = argv[i] + 9;
        } else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
            a->quiet = true;
        } else if (strcmp(argv[i], "--json") == 0) {
            a->json = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "pcivirt run: %s: %s\n", argv[i],
                    strcmp(argv[i], "--events") == 0 ? "needs a FILE" : "unknown option");
            usage(stderr);
            return CLI_EXIT_USAGE;
        } else if (a->scenario != NULL) {
            fprintf(stderr, "pcivirt run: one scenario at a time ('%s' and '%s')\n", a->scenario, argv[i]);
            return CLI_EXIT_USAGE;
        } else {
            a->scenario = argv[i];
        }
    }
    if (a->quiet && a->json) {
        fprintf(stderr, "pcivirt run: --quiet and --json are different outputs: choose one\n");
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static int
load(const char *path, struct scenario **sc)
{
    struct scenario_error err;
    char msg[1024];
    int rc = path != NULL ? scenario_load_file(path, sc, &err) : scenario_load_default(sc, &err);

    if (rc != 0) {
        scenario_error_format(&err, msg, sizeof(msg));
        fprintf(stderr, "pcivirt run: %s\n", msg);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static int
finish(struct run *r, FILE *events, const char *events_path, int rc)
{
    if (events != NULL && r != NULL) {
        if (run_write_events(r, events) != 0) {
            fprintf(stderr, "pcivirt run: %s: cannot write the event log\n", events_path);
            rc = rc == CLI_EXIT_OK ? CLI_EXIT_FAILED : rc;
        }
    }
    if (events != NULL && fclose(events) != 0) {
        fprintf(stderr, "pcivirt run: %s: %s\n", events_path, strerror(errno));
        rc = rc == CLI_EXIT_OK ? CLI_EXIT_FAILED : rc;
    }
    run_destroy(r);
    return rc;
}

int
cmd_run(int argc, char **argv)
{
    struct run_args a;
    struct scenario *sc = NULL;
    struct run_options opt;
    struct run_error err;
    struct run *r = NULL;
    FILE *events = NULL;
    int rc = parse_args(argc, argv, &a);

    if (rc != 0) {
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    if ((rc = load(a.scenario, &sc)) != 0) {
        return rc;
    }
    if (a.events != NULL && (events = fopen(a.events, "w")) == NULL) {
        fprintf(stderr, "pcivirt run: --events %s: %s\n", a.events, strerror(errno));
        scenario_destroy(sc);
        return CLI_EXIT_USAGE;
    }
    memset(&opt, 0, sizeof(opt));
    opt.out = a.json ? NULL : stdout;
    opt.progress = isatty(STDERR_FILENO) ? stderr : NULL;
    opt.color = cli_use_color(stdout);
    opt.quiet = a.quiet;
    rc = run_create(sc, &opt, &r, &err);
    if (rc != 0) {
        fflush(stdout);
        fprintf(stderr, "pcivirt run: %s\n", err.message);
    } else {
        rc = run_execute(r);
        if (a.json && run_write_summary_json(r, stdout) != 0) {
            fprintf(stderr, "pcivirt run: cannot write the JSON summary: %s\n", strerror(errno));
            rc = CLI_EXIT_FAILED;
        }
    }
    rc = finish(r, events, a.events, rc);
    scenario_destroy(sc);
    return rc;
}
