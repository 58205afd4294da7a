/*
 * pf/conform/conform.h - the contract conformance suite for SR-IOV PF drivers.
 *
 * The rules of contract.md 3-7 as executable checks.  Each check builds its own
 * world - a runtime host on a virtual clock with the verifier on, a software
 * SR-IOV device (src/dev) behind a PDO that exports the bus interface, the PF
 * driver under test (the linked-in reference driver, or any driver module that
 * exports DriverEntry) - and then drives the driver the way the virtualization
 * stack would: through the query-interface tables and IOCTLs only.  A check that
 * needs the PF to change something on its own (invalidate a block, change a
 * trapped range) uses the optional administration hooks a module may export as
 * `pcivirt_pf_conform_admin` (struct pf_conform_admin); without them such a
 * check reports "not applicable".
 *
 * The library never prints: pf_conform_run() returns structured results, the
 * `pcivirt conform` command formats them.
 */
#ifndef PCIVIRT_PF_CONFORM_CONFORM_H
#define PCIVIRT_PF_CONFORM_CONFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcivirt/pcivirt.h"
#include "pcivirt/wdf.h"
#include "pf/mitig.h"

#ifdef __cplusplus
extern "C" {
#endif

enum pf_conform_verdict {
    PF_CONFORM_PASS = 0,
    PF_CONFORM_FAIL = 1,
    PF_CONFORM_NOT_APPLICABLE = 2, /* the driver lacks an optional feature the check needs */
    PF_CONFORM_HARNESS_ERROR = 3,  /* the world could not be built (device, host, driver load) */
};

/* One check of the table. */
struct pf_conform_check {
    const char *id;      /* e.g. "notify.exactly-once.before-event" */
    const char *rule;    /* the rule, one line */
    const char *section; /* contract.md section(s) */
};

struct pf_conform_result {
    const struct pf_conform_check *check;
    enum pf_conform_verdict verdict;
    char reason[384]; /* why it failed (or what passed), one line */
};

struct pf_conform_report {
    size_t count;
    size_t passed, failed, not_applicable, errors;
    struct pf_conform_result *results;
};

/*
 * PF-side triggers a driver module may export (symbol `pcivirt_pf_conform_admin`)
 * so the suite can make the PF change blocks and ranges.  The reference driver
 * exports them; @Device is the driver's WDFDEVICE.
 */
struct pf_conform_admin {
    uint32_t size; /* sizeof(struct pf_conform_admin) */
    NTSTATUS (*define_block)(WDFDEVICE Device, uint32_t id, bool vf_writable);
    NTSTATUS (*invalidate)(WDFDEVICE Device, uint16_t vf, uint64_t mask);
    NTSTATUS (*set_mitigated_ranges)(WDFDEVICE Device, uint16_t vf, const struct pf_mitig_range *ranges, unsigned n);
};

struct pf_conform_options {
    const char *driver_path; /* a driver module (.so); NULL: the linked-in reference driver */
    bool lower_filter;       /* attach the driver as a lower filter instead of the FDO */
    uint32_t settle_ms;      /* real time to wait for "must not complete" (default 150) */
    uint32_t release_ms;     /* real time allowed for "must complete" (default 3000) */
};

/* pf_conform_checks() - the table; @count receives its length. */
PCIVIRT_API const struct pf_conform_check *pf_conform_checks(size_t *count);

/**
 * pf_conform_run() - run every check, or only @only (an id, or an id prefix
 * ending in '.', e.g. "notify.").
 * @opt: may be NULL for defaults.
 * @out: receives the report (free with pf_conform_report_free()).
 *
 * Return: STATUS_SUCCESS when the checks ran (their verdicts are in the report);
 * STATUS_NOT_FOUND when @only matches no check; STATUS_INSUFFICIENT_RESOURCES.
 */
PCIVIRT_API NTSTATUS pf_conform_run(const struct pf_conform_options *opt, const char *only,
                                    struct pf_conform_report **out);

/* pf_conform_report_free() - accepts NULL. */
PCIVIRT_API void pf_conform_report_free(struct pf_conform_report *report);

/* pf_conform_verdict_name() - "pass", "fail", "n/a", "error". */
PCIVIRT_API const char *pf_conform_verdict_name(enum pf_conform_verdict v);

#ifdef __cplusplus
}
#endif

#endif /* PCIVIRT_PF_CONFORM_CONFORM_H */
