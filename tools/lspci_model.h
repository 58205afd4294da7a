/*
 * tools/lspci_model.h - the functions `pcivirt lspci` shows, and where they come from.
 *
 * Why it is shaped so.  The command never computes a routing ID itself: it builds
 * the software SR-IOV device (src/dev) from a profile, enables VFs the way Linux
 * does (pv_sriov_enable: NumVFs, re-read offset and stride, VF Enable), and then
 * reads back what the device says - routing IDs, geometry, config bytes.  So the
 * listing is the device's own answer, and a refusal (the last VF outside the bus
 * range) is the device's own explanation.
 *
 * A listing is a PF and its enabled VFs, in routing-ID order.  Each function has
 * a holder slot for the VM that holds it; it stays NULL until the virtualization
 * stack can fill it (the topology mode with --scenario, docs/CLI.md), and every
 * renderer prints it only when set, so adding the stack adds a column without
 * changing this interface.
 *
 * The spec below mirrors a scenario file's device entry (tools/scenario.h:
 * builtin or dump, which PF function, NumVFs, ARI, bus range) so the topology
 * mode can build each scenario device through the same path.
 */
#ifndef PCIVIRT_TOOLS_LSPCI_MODEL_H
#define PCIVIRT_TOOLS_LSPCI_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev/sriov_dev.h"
#include "pcivirt/error.h"

#define LSPCI_BUILTIN_PREFIX "builtin:"

/* What to build. */
struct lspci_spec {
    const char *device;   /* "builtin:NAME" or a dump file path */
    const char *function; /* dump only: "[DDDD:]BB:DD.F" of the PF, or NULL to find it */
    long num_vfs;         /* -1: TotalVFs */
    int ari;              /* -1: as the device comes, 0 off, 1 on */
    bool has_bus_range;   /* the bus range below the PF's port; default as Linux reserves */
    uint8_t bus_first, bus_last;
};

/* One function of the listing. */
struct lspci_fn {
    uint16_t rid;
    bool is_vf;
    uint32_t vf_index;  /* zero-based, VFs only */
    const char *holder; /* the VM holding this VF; NULL: not known (no stack) */
};

struct lspci_model {
    struct pv_profile *prof; /* as built (after --ari / --bus-range) */
    struct pv_sriov_dev *dev;
    struct dev_vf_geometry geo; /* read back from the registers after enabling */
    uint16_t sriov;             /* SR-IOV capability offset in the PF */
    unsigned source_line;       /* dump: the PF's line in the file (0 for built-in) */
    size_t count;               /* 1 + NumVFs */
    struct lspci_fn *fn;        /* fn[0] is the PF, fn[1 + i] VF i */
    bool borrowed;              /* dev belongs to someone else (lspci_model_wrap) */
};

/* Names of the built-in profiles, for --help and errors (NULL-terminated). */
extern const char *const lspci_builtin_names[];

/**
 * lspci_model_open() - build the device of @spec and enable its VFs.
 * @out: receives the model (lspci_model_close()).
 * @err: on failure, what went wrong and where (message ready to print).
 *
 * Return: CLI_EXIT_OK; CLI_EXIT_USAGE for bad input (unknown built-in, unreadable
 * or malformed dump, no or several SR-IOV functions, --numvfs beyond TotalVFs,
 * --ari on without an ARI capability, a bus range that does not start at the PF's
 * bus); CLI_EXIT_FAILED when the device refused to enable (err holds the device's
 * explanation: offset, stride, NumVFs, ARI, last VF's routing ID, bus range).
 */
int lspci_model_open(const struct lspci_spec *spec, struct lspci_model **out, struct pcivirt_error *err);

/**
 * lspci_model_profile() - only the profile step of lspci_model_open(): built-in
 * or dump, --function, --ari, --bus-range and the TotalVFs bound checked, no
 * device built.  For the scenario runner, which builds devices itself.
 * Return: as lspci_model_open() (CLI_EXIT_OK or CLI_EXIT_USAGE with @err).
 */
int lspci_model_profile(const struct lspci_spec *spec, struct pv_profile *p, unsigned *line, struct pcivirt_error *err);

/**
 * lspci_model_wrap() - a listing of a device someone else built and enabled
 * (the scenario runner's); the model reads it and never destroys it.
 * @prof: copied.  Return: 0; PCIVIRT_ENOMEM; PCIVIRT_EIO when it cannot be read.
 */
int lspci_model_wrap(struct pv_sriov_dev *dev, const struct pv_profile *prof, struct lspci_model **out);

/* lspci_model_close() - free everything (a wrapped device stays); NULL accepted. */
void lspci_model_close(struct lspci_model *m);

/**
 * lspci_model_config() - the first @len (<= 4096) config bytes of function @i as
 * the device returns them.  Return: 0 or the device's error code.
 */
int lspci_model_config(const struct lspci_model *m, size_t i, uint8_t *buf, uint32_t len);

/* lspci_format_bdf() - "BB:DD.F", or "DDDD:BB:DD.F" when the segment is not 0 (as lspci). */
void lspci_format_bdf(const struct lspci_model *m, uint16_t rid, char *buf, size_t size);

#endif /* PCIVIRT_TOOLS_LSPCI_MODEL_H */
