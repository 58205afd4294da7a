/*
 * fuzz/fuzz_pf_ioctl.c - IOCTL input and output buffers into the reference PF driver.
 *
 * Why it is shaped so.  The PF driver's IOCTL queue is reachable by the
 * virtualization stack (kernel requestor) and, for PROXY_QUERY_LUID, by user
 * mode; contract.md 4 gives every code's buffer rules.  The harness builds the
 * conformance suite's world (pf/conform/env.h: runtime host on a virtual clock,
 * the software device, the linked-in reference driver, a kernel and a user
 * target) and sends a fuzzed sequence of IOCTLs - one of the nine codes or any
 * other, from either requestor, with fuzzed input bytes and lengths and output
 * lengths - asynchronously, so requests the driver holds (NOTIFICATION,
 * INVALIDATE_BLOCK, MITIGATED_RANGE_UPDATE) pile up as a stack would leave
 * them; now and then it cancels one.  Then it detaches and cancels the rest.
 * Invariants:
 *
 *  - a completed request never reports more bytes than its output buffer
 *    (METHOD_BUFFERED: Information bounds the copy-back) and nothing past the
 *    buffer is written;
 *  - user mode gets nothing but PROXY_QUERY_LUID;
 *  - after DETACH and cancellation every request has completed, within a
 *    bounded real time (nothing hangs);
 *  - the runtime's verifier reported nothing (no double completion, no
 *    completion of a queued request, ...); ASan/LSan at teardown.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "pcivirt/pcivirt.h"
#include "pf/conform/env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OPS 40

static const ULONG codes[] = {
    IOCTL_SRIOV_NOTIFICATION,
    IOCTL_SRIOV_EVENT_COMPLETE,
    IOCTL_SRIOV_ATTACH,
    IOCTL_SRIOV_DETACH,
    IOCTL_SRIOV_INVALIDATE_BLOCK,
    IOCTL_SRIOV_QUERY_MITIGATED_RANGE_COUNT,
    IOCTL_SRIOV_QUERY_MITIGATED_RANGES,
    IOCTL_SRIOV_MITIGATED_RANGE_UPDATE,
    IOCTL_SRIOV_PROXY_QUERY_LUID,
};

/* Sizes that matter to the contract's buffer checks, and some that do not. */
static size_t
pick_len(struct input *in)
{
    static const size_t lens[] = {0, 1, 3, 4, 7, 8, 12, 16, 24, 32, 64, 255};

    return lens[take(in, 1) % (sizeof(lens) / sizeof(lens[0]))];
}

struct sent {
    struct cio *c;
    size_t out_len;
};

static void
check_completed(const struct sent *s)
{
    if (!cio_done(s->c)) {
        return;
    }
    CHECK(s->c->info <= s->out_len);
    for (size_t i = s->out_len; i < sizeof(s->c->out); i++) {
        CHECK(s->c->out[i] == 0xA5); /* env_ioctl_async's fill: nothing written past the buffer */
    }
}

static void
op_user(struct env *env, struct input *in)
{
    uint8_t inb[64], outb[64];
    size_t il = pick_len(in) % sizeof(inb), ol = pick_len(in) % sizeof(outb);
    ULONG code = codes[take(in, 1) % 9];
    ULONG_PTR info = 0;
    NTSTATUS st;

    for (size_t i = 0; i < il; i++) {
        inb[i] = (uint8_t)take(in, 1);
    }
    st = env_ioctl(env, true, IRP_MJ_DEVICE_CONTROL, code, inb, il, outb, ol, &info);
    /* contract.md 4: only PROXY_QUERY_LUID is accepted from user mode. */
    CHECK(code == IOCTL_SRIOV_PROXY_QUERY_LUID || !NT_SUCCESS(st));
    CHECK(!NT_SUCCESS(st) || info <= ol);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct env env;
    static struct sent sent[MAX_OPS];
    struct pf_conform_options opt = {.settle_ms = 20, .release_ms = 500};
    struct input in = {data, size};
    unsigned n = 0;
    NTSTATUS st;

    if (env_create(&env, &opt, NULL) != 0) {
        abort();
    }
    for (unsigned ops = 0; in.n > 0 && ops < MAX_OPS; ops++) {
        uint32_t sel = take(&in, 1);
        uint8_t inb[255];
        size_t il, ol;
        ULONG code;

        if (sel % 8 == 7) {
            op_user(&env, &in);
            continue;
        }
        if (sel % 8 == 6 && n > 0) {
            cio_cancel(sent[take(&in, 1) % n].c);
            continue;
        }
        code = sel & 0x80 ? take(&in, 4) : codes[take(&in, 1) % 9];
        il = pick_len(&in);
        ol = pick_len(&in);
        for (size_t i = 0; i < il; i++) {
            inb[i] = (uint8_t)take(&in, 1);
        }
        sent[n].c = env_ioctl_async(&env, code, inb, il, ol, &st);
        sent[n].out_len = ol;
        if (sent[n].c != NULL) {
            n++;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        check_completed(&sent[i]);
    }
    /* Tear the attachment down as a stack would, then cancel whatever is still held. */
    env_ioctl(&env, false, IRP_MJ_DEVICE_CONTROL, IOCTL_SRIOV_DETACH, NULL, 0, NULL, 0, NULL);
    for (unsigned i = 0; i < n; i++) {
        if (!cio_done(sent[i].c)) {
            cio_cancel(sent[i].c);
        }
        CHECK(cio_wait(sent[i].c, 2000));
        check_completed(&sent[i]);
    }
    CHECK(env.verifier_reports == 0);
    env_destroy(&env);
    return 0;
}
