/*
 * wdf/verifier.c - the runtime's verifier: a record of rule violations.
 *
 * Driver Verifier / KMDF verifier bugcheck on these; a library must not abort,
 * so pcivirt records each violation (rule, device, request, message), calls the
 * host's optional report callback, and the runtime refuses the offending action
 * where refusing is safe (docs/RUNTIME.md lists what each rule does).  Tests read
 * the record; a test harness can turn any report into a failure via on_report.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "wdf/internal.h"

#define WDF_MAX_REPORTS 4096

static const char *const rule_names[WDF_RULE_MAX] = {
    [WDF_RULE_DOUBLE_COMPLETION] = "double-completion",
    [WDF_RULE_COMPLETE_QUEUED] = "complete-queued-request",
    [WDF_RULE_FORWARD_COMPLETED] = "forward-completed-request",
    [WDF_RULE_TOUCH_COMPLETED] = "touch-completed-request",
    [WDF_RULE_UNCOMPLETED_AT_REMOVE] = "request-not-completed-at-remove",
    [WDF_RULE_INTERFACE_UNDERFLOW] = "interface-dereference-underflow",
    [WDF_RULE_BLOCKING_UNDER_LOCK] = "blocking-call-under-lock",
    [WDF_RULE_BAD_HANDLE] = "bad-handle",
    [WDF_RULE_IRP_NOT_COMPLETED] = "irp-not-completed",
    [WDF_RULE_LOCK_MISUSE] = "lock-misuse",
};

const char *
wdf_verifier_rule_name(enum wdf_verifier_rule rule)
{
    if ((int)rule <= 0 || rule >= WDF_RULE_MAX || rule_names[rule] == NULL) {
        return "?";
    }
    return rule_names[rule];
}

void
wdf_report(struct wdf_host *host, enum wdf_verifier_rule rule, const char *device, uint64_t request_id, ULONG ioctl,
           const char *fmt, ...)
{
    const struct wdf_site *site = &wdf_tls()->site;
    struct wdf_verifier_report r;
    va_list ap;

    if (host == NULL || !host->verifier_on) {
        return;
    }
    if (site->host == host && site->device != NULL && (device == NULL || device[0] == '\0')) {
        /* A call without an object of its own: name the callback it was made from. */
        device = site->device;
        request_id = site->request;
        ioctl = site->ioctl;
    }
    memset(&r, 0, sizeof(r));
    r.rule = rule;
    r.rule_name = wdf_verifier_rule_name(rule);
    snprintf(r.device, sizeof(r.device), "%s", device != NULL ? device : "");
    r.request_id = request_id;
    r.ioctl = ioctl;
    va_start(ap, fmt);
    vsnprintf(r.message, sizeof(r.message), fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&host->vmu);
    if (host->nreports == host->cap_reports && host->cap_reports < WDF_MAX_REPORTS) {
        size_t cap = host->cap_reports == 0 ? 16 : host->cap_reports * 2;
        struct wdf_verifier_report *n = pv_realloc(host->reports, cap * sizeof(*n));
        if (n != NULL) {
            host->reports = n;
            host->cap_reports = cap;
        }
    }
    if (host->nreports < host->cap_reports) {
        host->reports[host->nreports++] = r;
    }
    pthread_mutex_unlock(&host->vmu);
    if (host->on_report != NULL) {
        host->on_report(host->report_ctx, &r);
    }
}

bool
wdf_check_blocking(struct wdf_host *host, const char *what)
{
    if (wdf_tls()->locks_held <= 0) {
        return false;
    }
    wdf_report(host, WDF_RULE_BLOCKING_UNDER_LOCK, NULL, 0, 0, "%s called while holding %d runtime lock(s)", what,
               wdf_tls()->locks_held);
    return true;
}

size_t
wdf_verifier_count(struct wdf_host *host, enum wdf_verifier_rule rule)
{
    size_t n = 0;

    if (host == NULL) {
        return 0;
    }
    pthread_mutex_lock(&host->vmu);
    for (size_t i = 0; i < host->nreports; i++) {
        if (rule == 0 || host->reports[i].rule == rule) {
            n++;
        }
    }
    pthread_mutex_unlock(&host->vmu);
    return n;
}

bool
wdf_verifier_get(struct wdf_host *host, size_t index, struct wdf_verifier_report *out)
{
    bool ok = false;

    if (host == NULL || out == NULL) {
        return false;
    }
    pthread_mutex_lock(&host->vmu);
    if (index < host->nreports) {
        *out = host->reports[index];
        ok = true;
    }
    pthread_mutex_unlock(&host->vmu);
    return ok;
}

void
wdf_verifier_clear(struct wdf_host *host)
{
    if (host == NULL) {
        return;
    }
    pthread_mutex_lock(&host->vmu);
    host->nreports = 0;
    pthread_mutex_unlock(&host->vmu);
}
