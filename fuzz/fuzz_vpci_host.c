/*
 * fuzz/fuzz_vpci_host.c - a hostile guest against the stack's vPCI host.
 *
 * Why it is shaped so.  The vPCI host is where guest bytes enter the stack
 * (issue 6: "malformed or out-of-order packets get STATUS_BAD_DATA or are
 * dropped and logged; they never crash, hang or corrupt the stack").  Each
 * input builds the whole host side of tests/vsp/vpci_fixture.h (software device
 * with 8 VFs, test PF, IOMMU, VM manager, one VM holding VFs 0 and 1, the vPCI
 * host on a channel) and plays a guest that sends, in any order: raw packets
 * with and without completion requested, well-typed messages with fuzzed
 * fields, protocol negotiation, D0 entry, and MMIO through the config window
 * and the BAR space.  Afterwards:
 *
 *  - the host still answers a well-formed request in bounded time (no hang,
 *    no dead dispatch thread), unless it rescinded the channel;
 *  - VFs the VM does not hold, and the PF, kept their config space (a guest
 *    reaches only its own functions);
 *  - nothing leaks and nothing is touched out of bounds (ASan, at teardown).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "../tests/vsp/vpci_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQ_WAIT_NS (300 * (int64_t)VSP_NS_PER_MS)

/* Take whatever the host sent, so its messages never block our completions. */
static void
drain(struct fx *f)
{
    static struct vmbus_packet_buf rx;

    for (int i = 0; i < 64; i++) {
        NTSTATUS st = vmbus_channel_recv(f->guest, &rx, NULL, 0);

        if (st == STATUS_IO_TIMEOUT || st == STATUS_DEVICE_REMOVED) {
            break;
        }
    }
}

static void
op_raw(struct fx *f, struct input *in, bool request)
{
    static uint8_t payload[512], reply[VPCI_REPLY_BUF_SIZE];
    size_t len = 1 + take(in, 1) % 96, got = 0;

    /* Mostly a real message id first, so the decoder gets past the type. */
    le32_put(payload, take(in, 1) & 0x80 ? take(in, 4) : PCI_MESSAGE_BASE + take(in, 1) % 0x1a);
    for (size_t i = 4; i < len; i++) {
        payload[i] = (uint8_t)take(in, 1);
    }
    if (request) {
        vmbus_channel_request(f->guest, payload, len, reply, sizeof(reply), &got, REQ_WAIT_NS);
    } else {
        vmbus_channel_send(f->guest, payload, len, REQ_WAIT_NS);
    }
}

/* A message the encoder accepts, with fuzzed fields: gets past the decoder into the handlers. */
static void
op_typed(struct fx *f, struct input *in)
{
    struct vpci_msg m;
    struct vpci_reply r;
    uint8_t *raw = (uint8_t *)&m.u;

    memset(&m, 0, sizeof(m));
    m.type = PCI_MESSAGE_BASE + take(in, 1) % 0x19;
    m.slot = take(in, 1) % 4;
    for (size_t i = 0; i < sizeof(m.u) && i < 48; i++) {
        raw[i] = (uint8_t)take(in, 1);
    }
    vpci_chan_request(f->guest, &m, &r, NULL, REQ_WAIT_NS);
}

static void
op_mmio(struct fx *f, struct input *in)
{
    static const uint32_t lens[] = {1, 2, 4, 8, 4, 4, 3, 0};
    uint8_t b[8];
    uint32_t sel = take(in, 1), len = lens[take(in, 1) % 8];
    uint64_t gpa;

    if (sel & 0x80) {
        gpa = FX_WINDOW + take(in, 2) % 0x2100; /* the config window and just past it */
    } else if (sel & 0x40) {
        gpa = (uint64_t)take(in, 4) << (sel & 0x1f); /* anywhere */
    } else {
        gpa = 0xE0000000ull + take(in, 3); /* where a guest puts BARs */
    }
    for (unsigned i = 0; i < sizeof(b); i++) {
        b[i] = (uint8_t)take(in, 1);
    }
    if (sel & 0x20) {
        vsp_vpci_host_mmio_write(f->host, gpa, b, len);
    } else {
        vsp_vpci_host_mmio_read(f->host, gpa, b, len);
    }
}

static void
snapshot(struct fx *f, uint8_t out[3][4096])
{
    pv_sriov_config_read(f->pf.dev, pv_sriov_pf_rid(f->pf.dev), 0, out[0], 4096);
    pv_sriov_config_read(f->pf.dev, tpf_rid(&f->pf, 5), 0, out[1], 4096);
    pv_sriov_config_read(f->pf.dev, tpf_rid(&f->pf, 7), 0, out[2], 4096);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fx f;
    static uint8_t before[3][4096], after[3][4096];
    struct input in = {data, size};
    struct vpci_msg m = {.type = PCI_QUERY_BUS_RELATIONS};
    struct vpci_reply r;
    NTSTATUS st;

    CHECK(fx_init(&f, false) == 0);
    CHECK(vsp_vmm_assign(f.vmm, 0, 0, f.vm, NULL) == 0 && vsp_vmm_assign(f.vmm, 0, 1, f.vm, NULL) == 0);
    snapshot(&f, before);
    for (unsigned ops = 0; in.n > 0 && ops < 48; ops++) {
        switch (take(&in, 1) % 8) {
        case 0: op_raw(&f, &in, false); break;
        case 1: op_raw(&f, &in, true); break;
        case 2:
        case 3: op_typed(&f, &in); break;
        case 4: fx_negotiate(&f, PCI_MAKE_VERSION(1, take(&in, 1) % 6)); break;
        case 5: fx_d0(&f, FX_WINDOW); break;
        default: op_mmio(&f, &in); break;
        }
        drain(&f);
    }
    /* Still alive: a well-formed request is answered (any status), or the channel is gone. */
    st = vpci_chan_request(f.guest, &m, &r, NULL, 2 * (int64_t)VSP_NS_PER_S);
    CHECK(st != STATUS_IO_TIMEOUT);
    snapshot(&f, after);
    CHECK(memcmp(before, after, sizeof(before)) == 0);
    fx_fini(&f);
    return 0;
}
