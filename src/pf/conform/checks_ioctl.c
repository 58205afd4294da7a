/*
 * pf/conform/checks_ioctl.c - IOCTL codes and buffers, the query-interface
 * matrix, LUIDs (contract.md 1.5, 3.2, 4.1, 4.2, 4.11, 6.10).
 *
 * Codes are recomputed here from the CTL_CODE formula (an oracle independent of
 * pcivirt.h's macros).  Buffer checks send each IOCTL one byte short of its
 * structure and expect the runtime's retrieval error, STATUS_BUFFER_TOO_SMALL,
 * at once - a request with a short buffer must never be queued.
 */
#include <string.h>

#include "pf/conform/checks.h"

static ULONG
code_of(unsigned i)
{
    return ((ULONG)0x22 << 16) | (1u << 14) | ((0x810u + i) << 2) | 0u; /* contract.md 4.1 */
}

static void
check_ioctl_codes(struct env *env, struct pf_conform_result *r)
{
    const ULONG header[9] = {IOCTL_SRIOV_NOTIFICATION,
                             IOCTL_SRIOV_EVENT_COMPLETE,
                             IOCTL_SRIOV_ATTACH,
                             IOCTL_SRIOV_DETACH,
                             IOCTL_SRIOV_INVALIDATE_BLOCK,
                             IOCTL_SRIOV_QUERY_MITIGATED_RANGE_COUNT,
                             IOCTL_SRIOV_QUERY_MITIGATED_RANGES,
                             IOCTL_SRIOV_MITIGATED_RANGE_UPDATE,
                             IOCTL_SRIOV_PROXY_QUERY_LUID};
    SRIOV_PROXY_QUERY_LUID_OUTPUT luid;
    ULONG_PTR info = 0;

    for (unsigned i = 0; i < 9; i++) {
        EXPECT(header[i] == code_of(i + 1), "IOCTL %u is 0x%08x, formula gives 0x%08x", i + 1, header[i],
               code_of(i + 1));
    }
    EXPECT(code_of(1) == 0x00226044 && code_of(9) == 0x00226064, "formula check");
    EXPECT_ST(env_ioctl(env, false, IRP_MJ_DEVICE_CONTROL, code_of(9), NULL, 0, &luid, sizeof(luid), &info),
              STATUS_SUCCESS, "PROXY_QUERY_LUID at 0x00226064");
    EXPECT(info == sizeof(luid), "PROXY_QUERY_LUID Information %lu, want 8", (unsigned long)info);
    /* The declared-method variants (4.1 "code if honoured") are not contract codes. */
    EXPECT_ST(env_ioctl(env, false, IRP_MJ_DEVICE_CONTROL, 0x0022604D, NULL, 0, NULL, 0, NULL),
              STATUS_INVALID_DEVICE_REQUEST, "0x0022604D (ATTACH with IN_DIRECT honoured)");
    EXPECT_ST(env_ioctl(env, false, IRP_MJ_DEVICE_CONTROL, code_of(10), NULL, 0, NULL, 0, NULL),
              STATUS_INVALID_DEVICE_REQUEST, "unknown code 0x%08x", code_of(10));
    PASSF("nine codes 0x00226044..0x00226064; unknown and method-honoured codes refused");
}

static void
check_user_mode(struct env *env, struct pf_conform_result *r)
{
    uint8_t buf[64] = {0};
    ULONG_PTR info = 0;
    LUID k;

    for (unsigned i = 1; i <= 8; i++) {
        EXPECT_ST(env_ioctl(env, true, IRP_MJ_DEVICE_CONTROL, code_of(i), buf, sizeof(buf), buf, sizeof(buf), NULL),
                  STATUS_INVALID_DEVICE_REQUEST, "IOCTL 0x%08x from user mode", code_of(i));
    }
    EXPECT_ST(env_ioctl(env, true, IRP_MJ_DEVICE_CONTROL, IOCTL_SRIOV_PROXY_QUERY_LUID, NULL, 0, buf, 8, &info),
              STATUS_SUCCESS, "PROXY_QUERY_LUID from user mode");
    EXPECT(env->have_sriov, "no SR-IOV table");
    EXPECT_ST(env->sriov.QueryLuid(env->sriov.Context, &k), STATUS_SUCCESS, "QueryLuid");
    EXPECT(memcmp(&k, buf, sizeof(k)) == 0, "user-mode PROXY_QUERY_LUID differs from QueryLuid");
    PASSF("only PROXY_QUERY_LUID is accepted from user mode");
}

static void
check_both_majors(struct env *env, struct pf_conform_result *r)
{
    uint8_t buf[8];
    ULONG_PTR info = 0;

    EXPECT_ST(
        env_ioctl(env, false, IRP_MJ_INTERNAL_DEVICE_CONTROL, IOCTL_SRIOV_PROXY_QUERY_LUID, NULL, 0, buf, 8, &info),
        STATUS_SUCCESS, "PROXY_QUERY_LUID as IRP_MJ_INTERNAL_DEVICE_CONTROL");
    EXPECT_ST(env_ioctl(env, false, IRP_MJ_INTERNAL_DEVICE_CONTROL, IOCTL_SRIOV_ATTACH, NULL, 0, NULL, 0, NULL),
              STATUS_SUCCESS, "ATTACH as internal");
    EXPECT_ST(env_ioctl(env, false, IRP_MJ_DEVICE_CONTROL, IOCTL_SRIOV_DETACH, NULL, 0, NULL, 0, NULL), STATUS_SUCCESS,
              "DETACH as device control");
    PASSF("the IOCTLs are accepted on both majors (contract.md 10.1)");
}

static void
check_buffer_sizes(struct env *env, struct pf_conform_result *r)
{
    static const struct {
        ULONG code;
        size_t in, out;
        const char *what;
    } cases[] = {
        {IOCTL_SRIOV_EVENT_COMPLETE, 3, 0, "EVENT_COMPLETE input 3 < 4"},
        {IOCTL_SRIOV_INVALIDATE_BLOCK, 0, 15, "INVALIDATE_BLOCK buffer 15 < 16"},
        {IOCTL_SRIOV_QUERY_MITIGATED_RANGE_COUNT, 1, 24, "RANGE_COUNT input 1 < 2"},
        {IOCTL_SRIOV_QUERY_MITIGATED_RANGE_COUNT, 2, 23, "RANGE_COUNT output 23 < 24"},
        {IOCTL_SRIOV_QUERY_MITIGATED_RANGES, 3, 16, "RANGES input 3 < 4"},
        {IOCTL_SRIOV_MITIGATED_RANGE_UPDATE, 1, 2, "RANGE_UPDATE input 1 < 2"},
        {IOCTL_SRIOV_MITIGATED_RANGE_UPDATE, 2, 1, "RANGE_UPDATE output 1 < 2"},
        {IOCTL_SRIOV_PROXY_QUERY_LUID, 0, 7, "PROXY_QUERY_LUID output 7 < 8"},
        {IOCTL_SRIOV_NOTIFICATION, 0, 3, "NOTIFICATION output 3 < 4"},
    };
    uint8_t in[64] = {0}, out[64];

    SRIOV_MITIGATED_RANGE_COUNT_OUTPUT count;
    SRIOV_MITIGATED_RANGES_INPUT rin = {0, 0};
    uint8_t ranges[16 * 16];
    bool ranged = false;

    EXPECT_ST(env_ioctl(env, false, IRP_MJ_DEVICE_CONTROL, IOCTL_SRIOV_ATTACH, NULL, 0, NULL, 0, NULL), STATUS_SUCCESS,
              "ATTACH");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* A short buffer is refused synchronously; a queued request would time out here. */
        EXPECT_ST(env_ioctl(env, false, IRP_MJ_DEVICE_CONTROL, cases[i].code, in, cases[i].in, out, cases[i].out, NULL),
                  STATUS_BUFFER_TOO_SMALL, "%s", cases[i].what);
    }
    /* RANGES: an output holding fewer entries than RangeCount (contract.md 4.9). */
    if (NT_SUCCESS(env_ioctl(env, false, IRP_MJ_DEVICE_CONTROL, IOCTL_SRIOV_QUERY_MITIGATED_RANGE_COUNT, in, 2, &count,
                             sizeof(count), NULL))) {
        for (UCHAR bar = 0; bar < 6 && !ranged; bar++) {
            if (count.RangeCount[bar] == 0 || count.RangeCount[bar] > 16) {
                continue;
            }
            rin.BarNumber = bar;
            ranged = true;
            EXPECT_ST(env_ioctl(env, false, IRP_MJ_DEVICE_CONTROL, IOCTL_SRIOV_QUERY_MITIGATED_RANGES, &rin,
                                sizeof(rin), ranges, 16 * count.RangeCount[bar] - 1, NULL),
                      STATUS_BUFFER_TOO_SMALL, "RANGES output %u < 16 x %u ranges (BAR %u)",
                      16 * count.RangeCount[bar] - 1, count.RangeCount[bar], bar);
        }
    }
    PASSF("every short buffer gets STATUS_BUFFER_TOO_SMALL at once%s",
          ranged ? ", RANGES output too small for its ranges too" : "");
}

/* One QI of the SR-IOV table at (size, version); returns the status and the table's Size/Version. */
static NTSTATUS
qi(struct env *env, const GUID *guid, USHORT size, USHORT version, USHORT *got_size, USHORT *got_version,
   SRIOV_DEVICE_INTERFACE_STANDARD_2 *t)
{
    NTSTATUS st;

    memset(t, 0, sizeof(*t));
    st = wdf_target_query_interface(env->kernel, guid, (INTERFACE *)t, size, version, NULL);
    *got_size = t->Size;
    *got_version = t->Version;
    if (NT_SUCCESS(st)) {
        t->InterfaceDereference(t->Context);
    }
    return st;
}

static bool
v1_complete(const SRIOV_DEVICE_INTERFACE_STANDARD_2 *t)
{
    return t->InterfaceReference && t->InterfaceDereference && t->ReadVfConfig && t->WriteVfConfig &&
           t->ReadVfConfigBlock && t->WriteVfConfigBlock && t->QueryProbedBars && t->GetVendorAndDevice &&
           t->GetDeviceLocation && t->ResetVf && t->SetVfPowerState && t->GetResourceForBar && t->QueryLuid;
}

static void
check_qi_matrix(struct env *env, struct pf_conform_result *r)
{
    static const struct {
        USHORT size, version;
        NTSTATUS want;
        USHORT want_size;
    } m[] = {
        {120, 1, STATUS_SUCCESS, 120},           {144, 2, STATUS_SUCCESS, 144},
        {144, 1, STATUS_SUCCESS, 120},           {120, 2, STATUS_SUCCESS, 120},
        {200, 3, STATUS_SUCCESS, 144},           {119, 1, STATUS_INVALID_BUFFER_SIZE, 0},
        {120, 0, STATUS_INVALID_BUFFER_SIZE, 0}, {32, 1, STATUS_INVALID_BUFFER_SIZE, 0},
    };
    SRIOV_DEVICE_INTERFACE_STANDARD_2 t;
    USHORT s, v;

    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        EXPECT_ST(qi(env, &GUID_SRIOV_DEVICE_INTERFACE_STANDARD, m[i].size, m[i].version, &s, &v, &t), m[i].want,
                  "QI SR-IOV size %u version %u", m[i].size, m[i].version);
        if (m[i].want != STATUS_SUCCESS) {
            continue;
        }
        EXPECT(s == m[i].want_size, "QI size %u version %u returned a table of Size %u, want %u", m[i].size,
               m[i].version, s, m[i].want_size);
        EXPECT(v1_complete(&t), "QI size %u: a version-1 member is NULL", m[i].size);
        EXPECT(s != 144 || (v >= 2 && t.QueryProbedBars_2 && t.QueryVfLuid && t.QueryLuidVf),
               "144-byte table with Version %u or a NULL version-2 member", v);
        EXPECT(s != 120 || v == 1, "120-byte table with Version %u", v);
    }
    EXPECT_ST(qi(env, &GUID_MITIGABLE_DEVICE_INTERFACE, 40, 1, &s, &v, &t), STATUS_SUCCESS, "QI mitigable 40/1");
    EXPECT(s == 40, "mitigable table Size %u, want 40", s);
    EXPECT_ST(qi(env, &GUID_MITIGABLE_DEVICE_INTERFACE, 39, 1, &s, &v, &t), STATUS_INVALID_BUFFER_SIZE,
              "QI mitigable 39/1");
    EXPECT(env->verifier_reports == 0, "%s", env->verifier_first);
    PASSF("v1 to 120-byte requesters, v2 to 144-byte/version-2 ones, KMDF's size/version rule otherwise");
}

static void
check_luids(struct env *env, struct pf_conform_result *r)
{
    SRIOV_PROXY_QUERY_LUID_OUTPUT proxy;
    LUID dev, vf[8];
    USHORT idx = 0xFFFF;
    uint16_t n = env->num_vfs < 8 ? env->num_vfs : 8;

    EXPECT(env->have_sriov && n > 0, "no SR-IOV table or no VFs");
    EXPECT_ST(env->sriov.QueryLuid(env->sriov.Context, &dev), STATUS_SUCCESS, "QueryLuid");
    EXPECT_ST(env_ioctl(env, false, IRP_MJ_DEVICE_CONTROL, IOCTL_SRIOV_PROXY_QUERY_LUID, NULL, 0, &proxy, sizeof(proxy),
                        NULL),
              STATUS_SUCCESS, "PROXY_QUERY_LUID");
    EXPECT(memcmp(&proxy.DeviceLuid, &dev, sizeof(dev)) == 0, "PROXY_QUERY_LUID %08x:%08x != QueryLuid %08x:%08x",
           proxy.DeviceLuid.HighPart, proxy.DeviceLuid.LowPart, dev.HighPart, dev.LowPart);
    for (uint16_t i = 0; i < n; i++) {
        EXPECT_ST(env->sriov.QueryVfLuid(env->sriov.Context, i, &vf[i]), STATUS_SUCCESS, "QueryVfLuid(%u)", i);
        EXPECT(memcmp(&vf[i], &dev, sizeof(dev)) != 0, "VF %u has the device's LUID", i);
        for (uint16_t j = 0; j < i; j++) {
            EXPECT(memcmp(&vf[i], &vf[j], sizeof(dev)) != 0, "VFs %u and %u share a LUID", j, i);
        }
        EXPECT_ST(env->sriov.QueryLuidVf(env->sriov.Context, vf[i], &idx), STATUS_SUCCESS, "QueryLuidVf");
        EXPECT(idx == i, "QueryLuidVf(QueryVfLuid(%u)) = %u", i, idx);
    }
    EXPECT_ST(env->sriov.QueryLuidVf(env->sriov.Context, dev, &idx), STATUS_NOT_FOUND, "QueryLuidVf(device LUID)");
    EXPECT_ST(env->sriov.QueryVfLuid(env->sriov.Context, env->num_vfs, &vf[0]), STATUS_INVALID_PARAMETER,
              "QueryVfLuid(NumVFs)");
    PASSF("one device LUID on both paths; per-VF LUIDs distinct and reversible");
}

const struct check_entry conform_checks_ioctl[] = {
    {{"ioctl.codes", "the nine IOCTLs use the effective METHOD_BUFFERED codes 0x00226044 + 4(i-1)", "4.1"},
     check_ioctl_codes,
     NULL},
    {{"ioctl.user-mode", "from user mode only PROXY_QUERY_LUID is honoured, the rest get INVALID_DEVICE_REQUEST",
      "4.2, 4.11"},
     check_user_mode,
     NULL},
    {{"ioctl.both-majors", "IRP_MJ_DEVICE_CONTROL and IRP_MJ_INTERNAL_DEVICE_CONTROL are both accepted", "4.2, 10.1"},
     check_both_majors,
     NULL},
    {{"ioctl.buffer-sizes", "a buffer shorter than its structure fails at once with STATUS_BUFFER_TOO_SMALL",
      "1.3, 4.3-4.11"},
     check_buffer_sizes,
     NULL},
    {{"qi.size-version-matrix", "SR-IOV v1 for 120 bytes, v2 for 144 (same GUID); KMDF's size/version rule",
      "1.5, 3.2"},
     check_qi_matrix,
     NULL},
    {{"luid.consistency", "QueryLuid == PROXY_QUERY_LUID; VF LUIDs distinct; QueryLuidVf inverts QueryVfLuid",
      "4.11, 6.10, 7.5"},
     check_luids,
     NULL},
    {{NULL, NULL, NULL}, NULL, NULL},
};
