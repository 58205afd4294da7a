/*
 * pf/conform/checks_iface.c - the interface callbacks and the PF-initiated
 * inverted calls (contract.md 4.7-4.10, 6).
 *
 * Oracles are the device's own registers (routing IDs, IDs, BAR apertures, read
 * through src/dev, not through the driver) and the contract's bounds.  The bad
 * input answers are the ones contract.md 6 assigns, one check per callback so a
 * failing report names the callback.
 */
#include <string.h>

#include "pf/conform/checks.h"
#include "util/le.h"

#define T (&env->sriov)
#define C (env->sriov.Context)

#define NEED_TABLE()                                                                                                   \
    do {                                                                                                               \
        EXPECT(env->have_sriov, "no SR-IOV table (144-byte QI failed)");                                               \
        EXPECT(env->num_vfs > 0, "the driver enabled no VFs");                                                         \
    } while (0)

static void
check_config_bad_input(struct env *env, struct pf_conform_result *r)
{
    uint8_t b[8];
    USHORT n;

    NEED_TABLE();
    n = env->num_vfs;
    EXPECT_ST(T->ReadVfConfig(C, b, n, 0, 4), STATUS_INVALID_PARAMETER, "ReadVfConfig(VfIndex = NumVFs)");
    EXPECT_ST(T->ReadVfConfig(C, b, 0, 4096, 1), STATUS_INVALID_PARAMETER, "ReadVfConfig(Offset 4096)");
    EXPECT_ST(T->ReadVfConfig(C, b, 0, 4094, 4), STATUS_INVALID_PARAMETER, "ReadVfConfig(4094 + 4)");
    EXPECT_ST(T->ReadVfConfig(C, b, 0, 0, 0), STATUS_INVALID_PARAMETER, "ReadVfConfig(Length 0)");
    EXPECT_ST(T->ReadVfConfig(C, NULL, 0, 0, 4), STATUS_INVALID_PARAMETER, "ReadVfConfig(Data NULL)");
    EXPECT_ST(T->ReadVfConfig(C, b, 0, 0xFFFFFFFC, 8), STATUS_INVALID_PARAMETER, "ReadVfConfig(wrapping range)");
    EXPECT_ST(T->WriteVfConfig(C, b, n, 0, 4), STATUS_INVALID_PARAMETER, "WriteVfConfig(VfIndex = NumVFs)");
    EXPECT_ST(T->WriteVfConfig(C, b, 0, 4096, 1), STATUS_INVALID_PARAMETER, "WriteVfConfig(Offset 4096)");
    EXPECT_ST(T->WriteVfConfig(C, NULL, 0, 0, 4), STATUS_INVALID_PARAMETER, "WriteVfConfig(Data NULL)");
    EXPECT_ST(T->ReadVfConfig(C, b, (USHORT)(n - 1), 4092, 4), STATUS_SUCCESS, "ReadVfConfig(last VF, last dword)");
    PASSF("config callbacks: VfIndex, Offset, Length, NULL checked (Data before VfIndex)");
}

static void
check_block_bad_input(struct env *env, struct pf_conform_result *r)
{
    uint8_t b[256] = {0};
    uint32_t id = 1;

    NEED_TABLE();
    if (env->admin != NULL) {
        id = 7;
        EXPECT_ST(env->admin->define_block(env->device, id, true), STATUS_SUCCESS, "admin define_block(7)");
    }
    EXPECT_ST(T->WriteVfConfigBlock(C, 0, id, b, 128), STATUS_SUCCESS, "WriteVfConfigBlock(block %u, 128 bytes)", id);
    EXPECT_ST(T->ReadVfConfigBlock(C, 0, id, b, 128), STATUS_SUCCESS, "ReadVfConfigBlock(128)");
    EXPECT_ST(T->ReadVfConfigBlock(C, 0, id, b, 1), STATUS_SUCCESS, "ReadVfConfigBlock(1)");
    EXPECT_ST(T->ReadVfConfigBlock(C, 0, id, b, 129), STATUS_INVALID_PARAMETER, "ReadVfConfigBlock(129 bytes)");
    EXPECT_ST(T->WriteVfConfigBlock(C, 0, id, b, 129), STATUS_INVALID_PARAMETER, "WriteVfConfigBlock(129 bytes)");
    EXPECT_ST(T->ReadVfConfigBlock(C, 0, id, b, 0), STATUS_INVALID_PARAMETER, "ReadVfConfigBlock(0 bytes)");
    EXPECT_ST(T->WriteVfConfigBlock(C, 0, id, b, 0), STATUS_INVALID_PARAMETER, "WriteVfConfigBlock(0 bytes)");
    EXPECT_ST(T->ReadVfConfigBlock(C, env->num_vfs, id, b, 8), STATUS_INVALID_PARAMETER,
              "ReadVfConfigBlock(VfIndex = NumVFs)");
    EXPECT_ST(T->ReadVfConfigBlock(C, 0, id, NULL, 8), STATUS_INVALID_PARAMETER, "ReadVfConfigBlock(NULL)");
    EXPECT_ST(T->ReadVfConfigBlock(C, 0, 0x7FFFFFF0u, b, 8), STATUS_INVALID_PARAMETER,
              "ReadVfConfigBlock(undeclared id)");
    PASSF("block length 1..128 accepted, 0 and 129 refused; bad VF, id, NULL refused");
}

static void
check_block_roundtrip(struct env *env, struct pf_conform_result *r)
{
    uint8_t in[128], out[128];
    uint32_t id = 1;

    NEED_TABLE();
    if (env->admin != NULL) {
        id = 7;
        EXPECT_ST(env->admin->define_block(env->device, id, true), STATUS_SUCCESS, "admin define_block(7)");
    }
    for (unsigned i = 0; i < sizeof(in); i++) {
        in[i] = (uint8_t)(i * 7 + 1);
    }
    EXPECT_ST(T->WriteVfConfigBlock(C, 1, id, in, 128), STATUS_SUCCESS, "WriteVfConfigBlock(VF 1)");
    memset(out, 0xEE, sizeof(out));
    EXPECT_ST(T->ReadVfConfigBlock(C, 1, id, out, 128), STATUS_SUCCESS, "ReadVfConfigBlock(VF 1)");
    EXPECT(memcmp(in, out, 128) == 0, "VF 1 read back other bytes than it wrote");
    memset(out, 0xEE, sizeof(out));
    EXPECT_ST(T->ReadVfConfigBlock(C, 0, id, out, 16), STATUS_SUCCESS, "ReadVfConfigBlock(VF 0)");
    EXPECT(memcmp(out, in, 16) != 0, "VF 0 sees VF 1's block");
    PASSF("a VF reads back its 128-byte block; other VFs do not see it");
}

static void
check_ids_location(struct env *env, struct pf_conform_result *r)
{
    struct pcivirt_bus_resources res;
    uint8_t cfg[4];
    USHORT v, d;
    UINT16 seg;
    UINT8 bus, fn;

    NEED_TABLE();
    pv_sriov_query_resources(env->dev, &res);
    for (uint16_t i = 0; i < env->num_vfs; i++) {
        uint16_t rid;

        EXPECT(env_vf_rid(env, i, &rid) == 0, "device has no VF %u", i);
        T->GetDeviceLocation(C, i, &seg, &bus, &fn);
        EXPECT(seg == res.segment && bus == rid >> 8 && fn == (rid & 0xFF),
               "GetDeviceLocation(%u) = %04x:%02x:%02x, device routing ID %04x:%02x:%02x", i, seg, bus, fn, res.segment,
               rid >> 8, rid & 0xFF);
    }
    pv_sriov_config_read(env->dev, res.pf_rid, 0, cfg, 2);
    T->GetVendorAndDevice(C, 0, &v, &d);
    EXPECT(v == le16_get(cfg), "GetVendorAndDevice vendor %04x, PF vendor %04x", v, le16_get(cfg));
    T->GetVendorAndDevice(C, env->num_vfs, &v, &d);
    EXPECT(v == 0xFFFF && d == 0xFFFF, "GetVendorAndDevice(NumVFs) = %04x:%04x, want ffff:ffff", v, d);
    seg = 0x5A5A;
    T->GetDeviceLocation(C, env->num_vfs, &seg, &bus, &fn);
    EXPECT(seg != 0x5A5A, "GetDeviceLocation(NumVFs) left its outputs unwritten");
    for (uint16_t i = 0; i < env->num_vfs; i++) {
        uint16_t rid;

        env_vf_rid(env, i, &rid);
        EXPECT(!(seg == res.segment && bus == rid >> 8 && fn == (rid & 0xFF)), "GetDeviceLocation(NumVFs) names VF %u",
               i);
    }
    PASSF("locations equal the device's VF routing IDs; IDs are the PF vendor's; bad VF answered safely");
}

/* Every VF's window against aperture / NumVFs (contract.md 6.9), from the device's own resources. */
static void
resource_windows(struct env *env, struct pf_conform_result *r, bool *saw_large)
{
    struct pcivirt_bus_resources res;
    CM_PARTIAL_RESOURCE_DESCRIPTOR d;

    pv_sriov_query_resources(env->dev, &res);
    for (USHORT bar = 0; bar < 6; bar++) {
        ULONGLONG ap_start = 0, ap_len = RtlCmDecodeMemIoResource(&res.vf_bar[bar], &ap_start);

        *saw_large |= res.vf_bar[bar].Type == CmResourceTypeMemoryLarge;
        for (USHORT i = 0; i < env->num_vfs; i++) {
            ULONGLONG start = 0, len, want = ap_len / env->num_vfs;

            EXPECT_ST(T->GetResourceForBar(C, i, bar, &d), STATUS_SUCCESS, "GetResourceForBar(%u, %u)", i, bar);
            len = RtlCmDecodeMemIoResource(&d, &start);
            if (ap_len == 0) {
                EXPECT(d.Type == CmResourceTypeNull || len == 0, "BAR %u is unimplemented but got a window", bar);
                continue;
            }
            EXPECT(d.Type == CmResourceTypeMemory || d.Type == CmResourceTypeMemoryLarge,
                   "VF %u BAR %u: descriptor Type %u, want Memory or MemoryLarge", i, bar, d.Type);
            /* Independent arithmetic on decoded 64-bit values: VF i at i windows. */
            EXPECT(len == want && start == ap_start + i * want,
                   "VF %u BAR %u: [0x%llx +0x%llx], want [0x%llx +0x%llx] (aperture %s)", i, bar,
                   (unsigned long long)start, (unsigned long long)len, (unsigned long long)(ap_start + i * want),
                   (unsigned long long)want,
                   res.vf_bar[bar].Type == CmResourceTypeMemoryLarge ? "MemoryLarge" : "Memory");
        }
    }
}

static void
check_resource_for_bar(struct env *env, struct pf_conform_result *r)
{
    CM_PARTIAL_RESOURCE_DESCRIPTOR d;
    bool large = false;

    NEED_TABLE();
    resource_windows(env, r, &large);
    if (r->verdict == PF_CONFORM_FAIL) {
        return;
    }
    EXPECT_ST(T->GetResourceForBar(C, env->num_vfs, 0, &d), STATUS_INVALID_DEVICE_REQUEST,
              "GetResourceForBar(VfIndex = NumVFs)");
    EXPECT_ST(T->GetResourceForBar(C, 0, 6, &d), STATUS_INVALID_PARAMETER, "GetResourceForBar(BarIndex 6)");
    EXPECT_ST(T->GetResourceForBar(C, 0, 0, NULL), STATUS_INVALID_PARAMETER, "GetResourceForBar(NULL)");
    PASSF("every VF's window is aperture/NumVFs at VfIndex windows; bad VF and BarIndex refused");
}

/* A device whose VF BAR0 is 1 GiB per VF: 8 enabled VFs make an 8 GiB (MemoryLarge) aperture. */
static void
large_vf_bar(struct pv_profile *prof)
{
    prof->vf_bar[0].size = 1ull << 30;
}

static void
check_resource_for_bar_large(struct env *env, struct pf_conform_result *r)
{
    ULONG bars[6];
    bool large = false;

    NEED_TABLE();
    resource_windows(env, r, &large);
    if (r->verdict == PF_CONFORM_FAIL) {
        return;
    }
    EXPECT(large, "harness: the device reported no MemoryLarge VF aperture");
    /* The probed value of a 64-bit BAR spans two slots: the upper one carries the high mask bits. */
    EXPECT_ST(T->QueryProbedBars(C, bars), STATUS_SUCCESS, "QueryProbedBars");
    EXPECT((bars[0] & 0xFFFFFFF0u) == 0xC0000000u && bars[1] == 0xFFFFFFFFu,
           "probed VF BAR0/1 = 0x%08x 0x%08x for 1 GiB per VF, want 0xc000000c 0xffffffff", bars[0], bars[1]);
    PASSF("with an 8 GiB MemoryLarge aperture every VF gets its own 1 GiB window (decoded, divided, re-encoded)");
}

static void
check_power_reset_probe(struct env *env, struct pf_conform_result *r)
{
    ULONG bars[6];

    NEED_TABLE();
    EXPECT_ST(T->SetVfPowerState(C, env->num_vfs, PowerDeviceD3, FALSE), STATUS_INVALID_PARAMETER,
              "SetVfPowerState(VfIndex = NumVFs)");
    EXPECT_ST(T->SetVfPowerState(C, 0, PowerDeviceUnspecified, FALSE), STATUS_INVALID_PARAMETER,
              "SetVfPowerState(Unspecified)");
    EXPECT_ST(T->SetVfPowerState(C, 0, PowerDeviceMaximum, FALSE), STATUS_INVALID_PARAMETER,
              "SetVfPowerState(Maximum)");
    EXPECT_ST(T->SetVfPowerState(C, 0, PowerDeviceD0, TRUE), STATUS_INVALID_PARAMETER, "SetVfPowerState(D0, Wake)");
    EXPECT_ST(T->SetVfPowerState(C, 0, PowerDeviceD3, TRUE), STATUS_SUCCESS, "SetVfPowerState(D3, Wake)");
    EXPECT_ST(T->SetVfPowerState(C, 0, PowerDeviceD0, FALSE), STATUS_SUCCESS, "SetVfPowerState(D0)");
    EXPECT_ST(T->ResetVf(C, env->num_vfs), STATUS_INVALID_PARAMETER, "ResetVf(VfIndex = NumVFs)");
    EXPECT_ST(T->ResetVf(C, 0), STATUS_SUCCESS, "ResetVf(0)");
    EXPECT_ST(T->QueryProbedBars(C, NULL), STATUS_INVALID_PARAMETER, "QueryProbedBars(NULL)");
    EXPECT_ST(T->QueryProbedBars(C, bars), STATUS_SUCCESS, "QueryProbedBars");
    EXPECT_ST(T->QueryProbedBars_2(C, env->num_vfs, bars), STATUS_INVALID_PARAMETER,
              "QueryProbedBars_2(VfIndex = NumVFs)");
    EXPECT_ST(T->QueryLuid(C, NULL), STATUS_INVALID_PARAMETER, "QueryLuid(NULL)");
    EXPECT_ST(T->QueryVfLuid(C, 0, NULL), STATUS_INVALID_PARAMETER, "QueryVfLuid(NULL)");
    {
        LUID l = {0, 0};

        EXPECT_ST(T->QueryLuidVf(C, l, NULL), STATUS_INVALID_PARAMETER, "QueryLuidVf(VfIndex NULL)");
    }
    PASSF("power, reset, probed BARs and LUID callbacks refuse bad input with the contract's codes");
}

static void
check_probed_bars(struct env *env, struct pf_conform_result *r)
{
    struct pcivirt_bus_resources res;
    ULONG bars[6];

    NEED_TABLE();
    pv_sriov_query_resources(env->dev, &res);
    EXPECT_ST(T->QueryProbedBars(C, bars), STATUS_SUCCESS, "QueryProbedBars");
    for (unsigned i = 0; i < 6; i++) {
        ULONGLONG per = RtlCmDecodeMemIoResource(&res.vf_bar[i], NULL) / env->num_vfs;
        bool upper = i > 0 && (bars[i - 1] & 0x7) == 0x4;

        if (upper || per == 0) {
            continue;
        }
        EXPECT((bars[i] & 0xFFFFFFF0u) == (ULONG)(~(per - 1) & 0xFFFFFFF0u),
               "probed BAR %u = 0x%08x, per-VF size 0x%llx wants mask 0x%08x", i, bars[i], (unsigned long long)per,
               (ULONG)(~(per - 1) & 0xFFFFFFF0u));
    }
    PASSF("probed values are ~(per-VF size - 1) with the type bits");
}

static void
check_config_view(struct env *env, struct pf_conform_result *r)
{
    uint8_t b[4], before[4], after[4];
    uint32_t off = 0x100;
    unsigned hops = 0;

    NEED_TABLE();
    EXPECT_ST(T->ReadVfConfig(C, b, 0, 0, 4), STATUS_SUCCESS, "ReadVfConfig(0)");
    EXPECT(le16_get(b) != 0xFFFF, "the guest sees Vendor ID 0xFFFF (VF IDs must be virtualized)");
    while (off >= 0x100 && off < 4096 && hops++ < 64) {
        EXPECT_ST(T->ReadVfConfig(C, b, 0, off, 4), STATUS_SUCCESS, "ReadVfConfig(0x%x)", off);
        EXPECT((le32_get(b) & 0xFFFF) != 0x0010, "the SR-IOV capability is visible to a guest at 0x%x", off);
        off = le32_get(b) >> 20;
    }
    EXPECT_ST(T->ReadVfConfig(C, before, 0, 0x08, 4), STATUS_SUCCESS, "read class");
    EXPECT_ST(T->WriteVfConfig(C, "\xff\xff\xff\xff", 0, 0x08, 4), STATUS_SUCCESS,
              "a write to read-only Class Code must be dropped silently, not fail");
    EXPECT_ST(T->ReadVfConfig(C, after, 0, 0x08, 4), STATUS_SUCCESS, "read class");
    EXPECT(memcmp(before, after, 4) == 0, "Class Code changed by a guest write");
    PASSF("IDs virtualized, SR-IOV hidden, read-only writes dropped silently");
}

/* Collect INVALIDATE_BLOCK completions until none is pending. */
static void
check_invalidate(struct env *env, struct pf_conform_result *r)
{
    uint64_t got[3] = {0}, all = 0;
    unsigned times[3] = {0};
    struct cio *c, *held = NULL;
    NTSTATUS st;

    if (env->admin == NULL) {
        NAF("the driver exports no pcivirt_pf_conform_admin hooks to trigger invalidations");
    }
    EXPECT(env->num_vfs >= 3, "need 3 VFs");
    EXPECT_ST(env->admin->invalidate(env->device, 1, 0x1), STATUS_SUCCESS, "invalidate VF 1 mask 0x1");
    EXPECT_ST(env->admin->invalidate(env->device, 1, 0x4), STATUS_SUCCESS, "invalidate VF 1 mask 0x4");
    EXPECT_ST(env->admin->invalidate(env->device, 2, 0x2), STATUS_SUCCESS, "invalidate VF 2 mask 0x2");
    EXPECT_ST(env->admin->invalidate(env->device, SRIOV_INVALIDATE_BLOCK_ALL_VFS, 0x8), STATUS_SUCCESS,
              "invalidate ALL_VFS mask 0x8");
    for (unsigned i = 0; i < 8; i++) {
        SRIOV_INVALIDATE_BLOCK out;

        c = env_ioctl_async(env, IOCTL_SRIOV_INVALIDATE_BLOCK, NULL, 0, sizeof(out), &st);
        EXPECT(c != NULL, "INVALIDATE_BLOCK failed at once: %s", st_name(st));
        if (!cio_wait(c, env->opt->settle_ms)) {
            held = c; /* nothing more pending: the request stays held */
            break;
        }
        EXPECT(c->status == STATUS_SUCCESS && c->info == sizeof(out), "INVALIDATE_BLOCK completed %s, Information %lu",
               st_name(c->status), (unsigned long)c->info);
        memcpy(&out, c->out, sizeof(out));
        if (out.VfIndex == SRIOV_INVALIDATE_BLOCK_ALL_VFS) {
            all |= out.BlockMask;
        } else {
            EXPECT(out.VfIndex == 1 || out.VfIndex == 2, "invalidation for VF %u that nothing changed", out.VfIndex);
            EXPECT((out.BlockMask & ~(out.VfIndex == 1 ? 0xDull : 0xAull)) == 0, "VF %u got bits 0x%llx it never had",
                   out.VfIndex, (unsigned long long)out.BlockMask);
            got[out.VfIndex] |= out.BlockMask;
            times[out.VfIndex]++;
        }
    }
    EXPECT(all == 0x8, "ALL_VFS delivered 0x%llx, want 0x8 with VfIndex 0xFFFF", (unsigned long long)all);
    EXPECT(((got[1] | all) & 0x5) == 0x5 && ((got[2] | all) & 0x2) == 0x2,
           "bits lost while no INVALIDATE_BLOCK was held (VF1 0x%llx, VF2 0x%llx)", (unsigned long long)got[1],
           (unsigned long long)got[2]);
    EXPECT(times[1] == 1, "VF 1's two changes took %u completions, want 1 (coalesced)", times[1]);
    /* The request left held completes when the next change happens. */
    EXPECT(held != NULL, "every INVALIDATE_BLOCK completed: the driver invents invalidations");
    EXPECT_ST(env->admin->invalidate(env->device, 0, 0x10), STATUS_SUCCESS, "invalidate VF 0");
    EXPECT(cio_wait(held, env->opt->release_ms) && held->status == STATUS_SUCCESS && le16_get(held->out) == 0 &&
               le64_get(held->out + 8) == 0x10,
           "held INVALIDATE_BLOCK not completed with {VF 0, 0x10} on the next change");
    PASSF("masks coalesced per VF and for ALL_VFS while none was held; held request completed on change");
}

static void
check_mitigation(struct env *env, struct pf_conform_result *r)
{
    SRIOV_MITIGATED_RANGE_COUNT_INPUT cin = {0};
    SRIOV_MITIGATED_RANGE_COUNT_OUTPUT count;
    SRIOV_MITIGATED_RANGES_OUTPUT ranges[16];
    ULONG_PTR info = 0;
    uint8_t data[8];

    EXPECT(env->have_mitigable, "no MITIGABLE_DEVICE_INTERFACE");
    EXPECT_ST(env_ioctl(env, false, IRP_MJ_DEVICE_CONTROL, IOCTL_SRIOV_QUERY_MITIGATED_RANGE_COUNT, &cin, sizeof(cin),
                        &count, sizeof(count), &info),
              STATUS_SUCCESS, "RANGE_COUNT(VF 0)");
    EXPECT(info == sizeof(count), "RANGE_COUNT Information %lu", (unsigned long)info);
    for (UCHAR bar = 0; bar < 6; bar++) {
        SRIOV_MITIGATED_RANGES_INPUT rin = {0, bar};

        if (count.RangeCount[bar] == 0) {
            continue;
        }
        EXPECT(count.RangeCount[bar] <= 16, "BAR %u reports %u ranges", bar, count.RangeCount[bar]);
        EXPECT_ST(env_ioctl(env, false, IRP_MJ_DEVICE_CONTROL, IOCTL_SRIOV_QUERY_MITIGATED_RANGES, &rin, sizeof(rin),
                            ranges, sizeof(ranges), &info),
                  STATUS_SUCCESS, "RANGES(VF 0, BAR %u)", bar);
        EXPECT(info == count.RangeCount[bar] * sizeof(ranges[0]), "RANGES Information %lu for %u ranges",
               (unsigned long)info, count.RangeCount[bar]);
        for (ULONG i = 0; i < count.RangeCount[bar]; i++) {
            ULONGLONG off = ranges[i].BasePageNumber * 4096;
            bool rd = ranges[i].InterceptReads;

            EXPECT(ranges[i].PageCount > 0 && (rd || ranges[i].InterceptWrites), "empty range %u", i);
            EXPECT_ST(env->mitigable.ReadWriteMitigatedRegister(env->mitigable.Context, 0, rd, bar, off, 4, data),
                      STATUS_SUCCESS, "trapped access inside a reported range (BAR %u page %llu)", bar,
                      (unsigned long long)ranges[i].BasePageNumber);
            off += (ULONGLONG)ranges[i].PageCount * 4096;
            if (i + 1 < count.RangeCount[bar] && ranges[i + 1].BasePageNumber * 4096 == off) {
                continue; /* contiguous with the next range: the straddle is legitimate */
            }
            EXPECT_ST(env->mitigable.ReadWriteMitigatedRegister(env->mitigable.Context, 0, rd, bar, off - 4, 8, data),
                      STATUS_INVALID_PARAMETER, "an 8-byte access crossing the end of a reported range (BAR %u)", bar);
        }
    }
    EXPECT_ST(env->mitigable.ReadWriteMitigatedRegister(env->mitigable.Context, 0, TRUE, 6, 0, 4, data),
              STATUS_INVALID_PARAMETER, "ReadWriteMitigatedRegister(BarIndex 6)");
    EXPECT_ST(env->mitigable.ReadWriteMitigatedRegister(env->mitigable.Context, 0, TRUE, 0, 0, 9, data),
              STATUS_INVALID_PARAMETER, "ReadWriteMitigatedRegister(Length 9)");
    EXPECT_ST(env->mitigable.ReadWriteMitigatedRegister(env->mitigable.Context, 0, TRUE, 0, 0, 0, data),
              STATUS_INVALID_PARAMETER, "ReadWriteMitigatedRegister(Length 0)");
    EXPECT_ST(env->mitigable.ReadWriteMitigatedRegister(env->mitigable.Context, 0, TRUE, 5, 0x7FFFF000, 4, data),
              STATUS_INVALID_PARAMETER, "ReadWriteMitigatedRegister outside every reported range");
    cin.VfIndex = env->num_vfs;
    EXPECT_ST(env_ioctl(env, false, IRP_MJ_DEVICE_CONTROL, IOCTL_SRIOV_QUERY_MITIGATED_RANGE_COUNT, &cin, sizeof(cin),
                        &count, sizeof(count), NULL),
              STATUS_INVALID_PARAMETER, "RANGE_COUNT(VfIndex = NumVFs)");
    PASSF("counts match the ranges; trapped accesses allowed exactly inside reported ranges");
}

static void
check_update_rearm(struct env *env, struct pf_conform_result *r)
{
    SRIOV_MITIGATED_RANGE_UPDATE_INPUT in0 = {0}, in1 = {1};
    struct pf_mitig_range range = {0, 1, 1, true, false};
    struct cio *u0, *u1, *again;
    NTSTATUS st;

    if (env->admin == NULL) {
        NAF("the driver exports no pcivirt_pf_conform_admin hooks to change ranges");
    }
    u0 = env_ioctl_async(env, IOCTL_SRIOV_MITIGATED_RANGE_UPDATE, &in0, sizeof(in0), 2, &st);
    u1 = env_ioctl_async(env, IOCTL_SRIOV_MITIGATED_RANGE_UPDATE, &in1, sizeof(in1), 2, &st);
    EXPECT(u0 != NULL && u1 != NULL, "RANGE_UPDATE not held: %s", st_name(st));
    EXPECT(!cio_wait(u1, env->opt->settle_ms), "RANGE_UPDATE completed with nothing changed");
    EXPECT_ST(env->admin->set_mitigated_ranges(env->device, 1, &range, 1), STATUS_SUCCESS, "change VF 1's ranges");
    EXPECT(cio_wait(u1, env->opt->release_ms), "VF 1's held RANGE_UPDATE not completed after its ranges changed");
    EXPECT(u1->status == STATUS_SUCCESS && u1->info == 2 && le16_get(u1->out) == 1,
           "VF 1's RANGE_UPDATE completed %s, Information %lu, VfIndex %u", st_name(u1->status),
           (unsigned long)u1->info, le16_get(u1->out));
    EXPECT(!cio_done(u0), "VF 0's RANGE_UPDATE completed for VF 1's change");
    again = env_ioctl_async(env, IOCTL_SRIOV_MITIGATED_RANGE_UPDATE, &in1, sizeof(in1), 2, &st);
    EXPECT(again != NULL && !cio_wait(again, env->opt->settle_ms), "re-armed RANGE_UPDATE completed without a change");
    /* The range intercepts reads only: a trapped write there is not the PF's to perform (6.12). */
    {
        uint8_t data[4] = {0};

        EXPECT_ST(env->mitigable.ReadWriteMitigatedRegister(env->mitigable.Context, 1, TRUE, 0, 4096, 4, data),
                  STATUS_SUCCESS, "read inside VF 1's read-intercepted range");
        EXPECT_ST(env->mitigable.ReadWriteMitigatedRegister(env->mitigable.Context, 1, FALSE, 0, 4096, 4, data),
                  STATUS_INVALID_PARAMETER, "write to VF 1's range that intercepts reads only");
    }
    EXPECT_ST(env->admin->set_mitigated_ranges(env->device, 1, NULL, 0), STATUS_SUCCESS, "clear VF 1's ranges");
    EXPECT(cio_wait(again, env->opt->release_ms), "re-armed RANGE_UPDATE not completed after the next change");
    PASSF("RANGE_UPDATE held per VF, completed only for the VF that changed, re-armed; intercept flags honoured");
}

const struct check_entry conform_checks_iface[] = {
    {{"callback.config.bad-input", "ReadVfConfig/WriteVfConfig refuse bad VfIndex, range, NULL", "6.1, 6.2"},
     check_config_bad_input,
     NULL},
    {{"callback.block.bad-input", "block callbacks accept Length 1..128 only; bad VF, id, NULL refused", "6.3, 10.4"},
     check_block_bad_input,
     NULL},
    {{"callback.block.roundtrip", "a VF reads back the block it wrote; blocks are per VF", "6.3, 7.4"},
     check_block_roundtrip,
     NULL},
    {{"callback.location-ids", "GetDeviceLocation is the VF's real routing ID; IDs are the PF's; VOID outputs",
      "6.5, 6.6"},
     check_ids_location,
     NULL},
    {{"callback.resource-for-bar", "a VF's BAR window is aperture / NumVFs at VfIndex windows; bounds checked",
      "6.9, 10.17"},
     check_resource_for_bar,
     NULL},
    {{"callback.resource-for-bar.large",
      "a VF BAR aperture above 4 GiB (MemoryLarge) is decoded before dividing; the docs' example divides the scaled "
      "Length",
      "1.6, 6.9, 10.17"},
     check_resource_for_bar_large,
     large_vf_bar},
    {{"callback.power-reset-probe.bad-input",
      "SetVfPowerState, ResetVf, QueryProbedBars(_2), LUID callbacks refuse bad input", "6.4, 6.7, 6.8, 6.10"},
     check_power_reset_probe,
     NULL},
    {{"callback.probed-bars", "probed BAR values encode the per-VF BAR sizes", "6.4"}, check_probed_bars, NULL},
    {{"config.guest-view", "VF IDs virtualized, SR-IOV capability hidden, forbidden writes dropped silently",
      "6.1, 6.2"},
     check_config_view,
     NULL},
    {{"invalidate.coalescing", "invalidations OR per VF (and ALL_VFS) until an INVALIDATE_BLOCK is held", "4.7"},
     check_invalidate,
     NULL},
    {{"mitigation.consistency", "counts, ranges and trapped accesses agree; bounds enforced", "4.8, 4.9, 6.12"},
     check_mitigation,
     NULL},
    {{"mitigation.update-rearm", "MITIGATED_RANGE_UPDATE is held per VF and completed when that VF changes",
      "4.10, 7.3"},
     check_update_rearm,
     NULL},
    {{NULL, NULL, NULL}, NULL, NULL},
};
