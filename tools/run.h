/*
 * tools/run.h - the scenario executor behind `pcivirt run` (and `lspci --scenario`).
 *
 * Why it is shaped so.  A run is one object that owns a whole modelled machine:
 * the software SR-IOV devices on a platform address space, the runtime host with
 * the reference PF driver bound to each device's PDO, the virtualization stack
 * (event log, IOMMU, PF bindings, vPCI service, VM manager), and per VM a guest
 * vPCI bus driver with the sample VF driver over an in-process channel.  Building
 * it (run_create), executing the timeline (run_execute) and tearing it down
 * (run_destroy) are separate steps so that `pcivirt lspci --scenario` can build
 * the machine, apply the scenario's assignments and read the stack's real state
 * without running the timeline.
 *
 * The executor never prints through the library: everything it says goes to the
 * FILE streams the command hands it (the timeline and summary to @out, progress
 * to @progress when that is a terminal).
 *
 * Exit rule (docs/CLI.md): 0 when every invariant held, 1 when one failed (or
 * a device refused to enable its VFs in the scenario's topology), 2 for a
 * scenario the runner finds unusable once the dumps are loaded (reported as
 * file:line:column: field: message).
 */
#ifndef PCIVIRT_TOOLS_RUN_H
#define PCIVIRT_TOOLS_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "scenario.h"

struct run;

/*
 * Whether this build drives rebalance steps through the stack's PnP broker.
 * Without it a rebalance step is a failed check (never a pretended success), so
 * scenarios with one exit 1; tests derive their expected exit code from this.
 */
#define RUN_HAVE_BROKER 1

struct run_options {
    FILE *out;      /* timeline and summary; NULL: nothing printed */
    FILE *progress; /* a terminal for the progress line, or NULL */
    bool color;     /* colour on @out (pass/fail words) */
    bool quiet;     /* summary only, no timeline */
};

/* What went wrong before anything ran: ready to print after "pcivirt run: ". */
struct run_error {
    int exit_code; /* CLI_EXIT_USAGE or CLI_EXIT_FAILED */
    char message[1024];
};

/**
 * run_create() - build the machine of @sc: devices (VFs enabled), runtime host
 * and PF drivers, the stack, VMs with their guests up, the initial assignments.
 * @opt: copied; streams must outlive the run.
 * @out: receives the run (run_destroy()).
 * @err: filled on failure.
 *
 * Return: 0, or the exit code to use (CLI_EXIT_USAGE for a scenario the dumps
 * make impossible, CLI_EXIT_FAILED for a refused enable or a machine that could
 * not be built).
 */
int run_create(const struct scenario *sc, const struct run_options *opt, struct run **out, struct run_error *err);

/**
 * run_execute() - execute the timeline, tear the machine down (detach, eject
 * what is left, destroy) and check every invariant; prints the timeline and the
 * summary.  Call once.
 * Return: CLI_EXIT_OK when every invariant held, CLI_EXIT_FAILED otherwise.
 */
int run_execute(struct run *r);

/**
 * run_write_events() - the stack's event log as JSON lines (one object per
 * line, oldest first).  Return: 0 or a PCIVIRT_E* code.
 */
int run_write_events(struct run *r, FILE *fp);

/**
 * run_write_summary_json() - after run_execute(): the summary as one JSON
 * document (scenario, result and exit code, devices, what each VM saw, event
 * counts by type, every invariant with facts checked / failed and the first
 * failure; docs/CLI.md).  Return: 0, PCIVIRT_ENOMEM or PCIVIRT_EIO.
 */
int run_write_summary_json(struct run *r, FILE *fp);

/* run_destroy() - tear down whatever is left and free; NULL and half-built runs accepted. */
void run_destroy(struct run *r);

/* ---- the topology as the stack sees it (for `pcivirt lspci --scenario`) ---------------- */

struct pv_sriov_dev;
struct pv_profile;

/* run_device_count() - devices of the scenario. */
size_t run_device_count(const struct run *r);

/**
 * run_device() - device @i: the software device and the profile it was built from
 * (owned by the run), and the index of its scenario entry.
 */
void run_device(const struct run *r, size_t i, struct pv_sriov_dev **dev, const struct pv_profile **prof);

/**
 * run_vf_holder() - which VM holds VF @vf of device @i, asked of the stack's VM
 * manager (not the scenario text).  Return: the VM's name, or NULL when free.
 */
const char *run_vf_holder(struct run *r, size_t i, uint32_t vf);

#endif /* PCIVIRT_TOOLS_RUN_H */
