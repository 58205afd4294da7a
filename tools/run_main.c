/*
 * tools/run_main.c - the executor's entry points (tools/run.h): create, execute,
 * write the event log, destroy, and the topology questions `lspci --scenario`
 * asks.
 *
 * run_execute() is the whole timeline: a header (scenario, clock, devices, VMs,
 * starting assignments), then per step a line naming it and its note, the stack's
 * events during it and any failed check; then teardown (every VF still held is
 * ejected, the stack lets go of each PF, devices are removed, the runtime host is
 * destroyed - its verifier must have stayed silent) and the summary.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "run_internal.h"
#include "util/alloc.h"

int
run_create(const struct scenario *sc, const struct run_options *opt, struct run **out, struct run_error *err)
{
    struct run *r = pv_calloc(1, sizeof(*r));

    *out = r;
    memset(err, 0, sizeof(*err));
    if (r == NULL) {
        err->exit_code = CLI_EXIT_FAILED;
        snprintf(err->message, sizeof(err->message), "out of memory");
        return CLI_EXIT_FAILED;
    }
    r->sc = sc;
    r->opt = *opt;
    pthread_mutex_init(&r->lock, NULL);
    r->lock_ready = true;
    r->n_devs = sc->n_devices;
    r->n_vms = sc->n_vms;
    r->devs = pv_calloc(r->n_devs != 0 ? r->n_devs : 1, sizeof(*r->devs));
    r->vms = pv_calloc(r->n_vms != 0 ? r->n_vms : 1, sizeof(*r->vms));
    if (r->devs == NULL || r->vms == NULL) {
        err->exit_code = CLI_EXIT_FAILED;
        snprintf(err->message, sizeof(err->message), "out of memory");
        return CLI_EXIT_FAILED;
    }
    return run_world_build(r, err);
}

static void
print_header(struct run *r)
{
    const struct scenario *sc = r->sc;

    run_printf(r, "Scenario '%s' (%s), %s clock, seed %llu\n", sc->name, sc->file,
               scenario_clock_name(sc->options.clock), (unsigned long long)sc->options.seed);
    if (sc->description != NULL) {
        run_printf(r, "  %s\n", sc->description);
    }
    run_printf(r, "  query-stop timeout %u ms, policy %s; eject window %u ms\n", sc->timing.query_stop_timeout_ms,
               scenario_policy_name(sc->timing.on_timeout), sc->timing.eject_window_ms);
    for (size_t i = 0; i < r->n_devs; i++) {
        const struct run_dev *d = &r->devs[i];
        uint16_t rid = pv_sriov_pf_rid(d->dev);

        run_printf(r, "  pf%zu = %-8s %s, PF %02x:%02x.%x, %u VFs\n", i, d->sd->name, d->prof->name, rid >> 8,
                   (rid >> 3) & 0x1f, rid & 7, d->num_vfs);
    }
    for (size_t i = 0; i < r->n_vms; i++) {
        run_printf(r, "  vm%d = %-8s %u MiB\n", vsp_vm_id(r->vms[i].vm), r->vms[i].sv->name, r->vms[i].sv->memory_mib);
    }
    run_printf(r, "\n[bring-up] devices, PF drivers, stack, VMs, assignments, guests\n");
    run_print_events(r);
}

static void
print_step(struct run *r, size_t i, const struct scenario_step *st)
{
    char what[160] = "";

    switch (st->action) {
    case SCENARIO_ACT_REBALANCE:
    case SCENARIO_ACT_SURPRISE_REMOVE: snprintf(what, sizeof(what), " %s", r->devs[st->device].sd->name); break;
    case SCENARIO_ACT_EJECT:
    case SCENARIO_ACT_ASSIGN:
        snprintf(what, sizeof(what), " %s VF %u %s %s", r->devs[st->device].sd->name, st->vf,
                 st->action == SCENARIO_ACT_EJECT ? "from" : "to", r->vms[st->vm].sv->name);
        break;
    case SCENARIO_ACT_PF_BLOCK_CHANGE:
    case SCENARIO_ACT_PF_SET_MAC:
        snprintf(what, sizeof(what), " %s VF %u", r->devs[st->device].sd->name, st->vf);
        break;
    case SCENARIO_ACT_GUEST: {
        char mis[96];

        scenario_misbehave_format(st->misbehave, mis, sizeof(mis));
        snprintf(what, sizeof(what), " %s: %s", r->vms[st->vm].sv->name, mis);
        break;
    }
    case SCENARIO_ACT_WAIT: snprintf(what, sizeof(what), " %u ms", st->wait_ms); break;
    default: break;
    }
    run_printf(r, "\n[%zu/%zu] %s%s%s%s\n", i + 1, r->sc->n_steps, scenario_action_name(st->action), what,
               st->note != NULL ? " - " : "", st->note != NULL ? st->note : "");
}

int
run_execute(struct run *r)
{
    print_header(r);
    for (size_t i = 0; i < r->sc->n_steps; i++) {
        r->step = i;
        print_step(r, i, &r->sc->steps[i]);
        run_progress(r, scenario_action_name(r->sc->steps[i].action));
        run_step(r, &r->sc->steps[i]);
        run_guests_poll(r);
        run_print_events(r);
    }
    run_printf(r, "\n[teardown] eject what is left, release the PFs, remove the devices\n");
    run_eject_all(r);
    run_world_teardown(r);
    r->torn_down = true;
    run_check(r, RUN_INV_TEARDOWN, r->verifier_reports == 0, "the runtime verifier reported %llu problems; first: %s",
              (unsigned long long)r->verifier_reports, r->verifier_first);
    run_print_events(r);
    if (r->opt.progress != NULL) {
        fputs("\r\033[K", r->opt.progress);
        fflush(r->opt.progress);
    }
    run_print_summary(r);
    return run_all_held(r) ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

int
run_write_events(struct run *r, FILE *fp)
{
    if (r->log != NULL) {
        return vsp_event_log_write_jsonl(r->log, fp);
    }
    for (size_t i = 0; i < r->n_final; i++) {
        json_t *o = vsp_event_to_json(&r->final_events[i]);

        if (o == NULL) {
            return PCIVIRT_ENOMEM;
        }
        if (json_dumpf(o, fp, JSON_COMPACT) != 0 || fputc('\n', fp) == EOF) {
            json_decref(o);
            return PCIVIRT_EIO;
        }
        json_decref(o);
    }
    return 0;
}

void
run_destroy(struct run *r)
{
    if (r == NULL) {
        return;
    }
    if (!r->torn_down && r->lock_ready) {
        run_world_teardown(r);
    }
    pv_free(r->final_events);
    pv_free(r->pending);
    pv_free(r->vms);
    pv_free(r->devs);
    if (r->lock_ready) {
        pthread_mutex_destroy(&r->lock);
    }
    pv_free(r);
}

size_t
run_device_count(const struct run *r)
{
    return r->n_devs;
}

void
run_device(const struct run *r, size_t i, struct pv_sriov_dev **dev, const struct pv_profile **prof)
{
    *dev = r->devs[i].dev;
    *prof = r->devs[i].prof;
}

const char *
run_vf_holder(struct run *r, size_t i, uint32_t vf)
{
    struct vsp_vf_info info;
    struct vsp_vm *vm;

    if (r->vmm == NULL || r->devs[i].removed || vsp_vmm_vf_info(r->vmm, r->devs[i].pf_id, (uint16_t)vf, &info) != 0 ||
        info.vm == VSP_EV_NONE || (vm = vsp_vmm_find_vm(r->vmm, info.vm)) == NULL) {
        return NULL;
    }
    return vsp_vm_name(vm);
}
