/*
 * tools/run_json.c - the summary of a run as one JSON document (`pcivirt run --json`).
 *
 * The printed summary is for people; scripts and CI want the same facts without
 * parsing columns: the result and exit code, the machine (devices with their PF
 * location, VMs with what each saw), the stack's event counts by type, and every
 * invariant with the facts checked, failed and the first failure's reason.  The
 * numbers are the ones the printed summary shows (the same fields of struct run),
 * so the two forms cannot disagree.  The event log itself stays in --events.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "run_internal.h"

static json_t *
misbehave_array(uint32_t bits)
{
    char text[128], *save = NULL;
    json_t *a = json_array();

    scenario_misbehave_format(bits, text, sizeof(text));
    for (char *w = strtok_r(text, ",", &save); a != NULL && w != NULL && bits != 0; w = strtok_r(NULL, ",", &save)) {
        json_array_append_new(a, json_string(w));
    }
    return a;
}

static json_t *
json_devices(const struct run *r)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && i < r->n_devs; i++) {
        const struct run_dev *d = &r->devs[i];
        char pf[16], source[SCENARIO_NAME_MAX + 16];

        snprintf(pf, sizeof(pf), "%02x:%02x.%x", d->pf_rid >> 8, (d->pf_rid >> 3) & 0x1f, d->pf_rid & 7);
        snprintf(source, sizeof(source), "builtin:%s", d->sd->builtin);
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:i, s:b}", "name", d->sd->name, "source",
                                           d->sd->source == SCENARIO_SOURCE_DUMP ? d->sd->dump_path : source, "pf", pf,
                                           "num_vfs", d->num_vfs, "surprise_removed", d->removed));
    }
    return a;
}

static json_t *
json_vm(const struct run_vm *v)
{
    char ver[16];

    snprintf(ver, sizeof(ver), "%u.%u", v->version >> 16, v->version & 0xFFFF);
    return json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "name",
                     v->sv->name, "vpci_version", ver, "misbehave", misbehave_array(v->sv->misbehave), "vfs_gained",
                     (json_int_t)v->vfs_gained, "vfs_lost", (json_int_t)v->vfs_lost, "operations", (json_int_t)v->ops,
                     "dma_bytes", (json_int_t)v->dma_bytes, "dma_faults", (json_int_t)v->dma_faults, "blocks",
                     (json_int_t)v->blocks, "mac_changes", (json_int_t)v->macs, "invalidations",
                     (json_int_t)v->invalidations, "interrupts", (json_int_t)v->irqs, "interrupts_foreign",
                     (json_int_t)v->irqs_foreign, "register_accesses", (json_int_t)v->mmio, "mmio_direct",
                     (json_int_t)v->mmio_direct, "mmio_trapped", (json_int_t)v->mmio_trapped, "malformed_sent",
                     (json_int_t)v->malformed_sent);
}

static json_t *
json_events(struct run *r)
{
    json_t *by = json_object();

    for (int t = 0; by != NULL && t < VSP_EV_TYPE_COUNT; t++) {
        uint64_t n = run_total(r, (enum vsp_event_type)t);

        if (n != 0) {
            json_object_set_new(by, vsp_event_type_name((enum vsp_event_type)t), json_integer((json_int_t)n));
        }
    }
    return json_pack("{s:I, s:I, s:o}", "total", (json_int_t)run_total(r, VSP_EV_TYPE_COUNT), "dropped",
                     (json_int_t)r->final_dropped, "by_type", by);
}

static json_t *
json_invariants(const struct run *r)
{
    json_t *a = json_array();

    for (unsigned i = 0; a != NULL && i < RUN_INV_COUNT; i++) {
        const struct run_inv_state *s = &r->inv[i];

        json_array_append_new(a, json_pack("{s:s, s:s, s:b, s:I, s:I, s:s?}", "id", run_inv_name((enum run_inv)i),
                                           "description", run_inv_description((enum run_inv)i), "held", s->failed == 0,
                                           "checked", (json_int_t)s->checked, "failed", (json_int_t)s->failed,
                                           "first_failure", s->failed != 0 ? s->first : NULL));
    }
    return a;
}

int
run_write_summary_json(struct run *r, FILE *fp)
{
    json_t *vms = json_array(), *root;
    bool held = run_all_held(r);
    int rc;

    for (size_t i = 0; vms != NULL && i < r->n_vms; i++) {
        json_array_append_new(vms, json_vm(&r->vms[i]));
    }
    root = json_pack("{s:s, s:s, s:s, s:I, s:s, s:i, s:o, s:o, s:o, s:I, s:o}", "scenario", r->sc->name, "file",
                     r->sc->file, "clock", scenario_clock_name(r->sc->options.clock), "seed",
                     (json_int_t)r->sc->options.seed, "result", held ? "pass" : "fail", "exit_code", held ? 0 : 1,
                     "devices", json_devices(r), "vms", vms, "events", json_events(r), "verifier_reports",
                     (json_int_t)r->verifier_reports, "invariants", json_invariants(r));
    if (root == NULL) {
        return PCIVIRT_ENOMEM;
    }
    rc = json_dumpf(root, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    return rc != 0 || fputc('\n', fp) == EOF || fflush(fp) != 0 ? PCIVIRT_EIO : 0;
}
