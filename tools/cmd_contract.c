/*
 * tools/cmd_contract.c - `pcivirt contract`: the contract's identifiers as built.
 *
 * Prints the GUIDs, IOCTL codes and table sizes exactly as the compiled headers
 * define them, so a PF-driver author can compare them with a WDK build.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "pcivirt/pcivirt.h"
#include "pcivirt/vpci.h"
#include "cli.h"

static void
print_guid(const char *name, const GUID *g, bool json, bool last)
{
    char s[40];

    snprintf(s, sizeof(s), "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", g->Data1, g->Data2, g->Data3,
             g->Data4[0], g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
    if (json) {
        printf("    \"%s\": \"{%s}\"%s\n", name, s, last ? "" : ",");
    } else {
        printf("  %-46s {%s}\n", name, s);
    }
}

static const struct {
    const char *name;
    ULONG code;
} ioctls[] = {
    {"IOCTL_SRIOV_NOTIFICATION", IOCTL_SRIOV_NOTIFICATION},
    {"IOCTL_SRIOV_EVENT_COMPLETE", IOCTL_SRIOV_EVENT_COMPLETE},
    {"IOCTL_SRIOV_ATTACH", IOCTL_SRIOV_ATTACH},
    {"IOCTL_SRIOV_DETACH", IOCTL_SRIOV_DETACH},
    {"IOCTL_SRIOV_INVALIDATE_BLOCK", IOCTL_SRIOV_INVALIDATE_BLOCK},
    {"IOCTL_SRIOV_QUERY_MITIGATED_RANGE_COUNT", IOCTL_SRIOV_QUERY_MITIGATED_RANGE_COUNT},
    {"IOCTL_SRIOV_QUERY_MITIGATED_RANGES", IOCTL_SRIOV_QUERY_MITIGATED_RANGES},
    {"IOCTL_SRIOV_MITIGATED_RANGE_UPDATE", IOCTL_SRIOV_MITIGATED_RANGE_UPDATE},
    {"IOCTL_SRIOV_PROXY_QUERY_LUID", IOCTL_SRIOV_PROXY_QUERY_LUID},
};

static const struct {
    const char *name;
    size_t size;
} sizes[] = {
    {"SRIOV_DEVICE_INTERFACE_STANDARD", sizeof(SRIOV_DEVICE_INTERFACE_STANDARD)},
    {"SRIOV_DEVICE_INTERFACE_STANDARD_2", sizeof(SRIOV_DEVICE_INTERFACE_STANDARD_2)},
    {"MITIGABLE_DEVICE_INTERFACE", sizeof(MITIGABLE_DEVICE_INTERFACE)},
    {"VPCI_INTERFACE_STANDARD", sizeof(VPCI_INTERFACE_STANDARD)},
    {"CM_PARTIAL_RESOURCE_DESCRIPTOR", sizeof(CM_PARTIAL_RESOURCE_DESCRIPTOR)},
    {"SRIOV_INVALIDATE_BLOCK", sizeof(SRIOV_INVALIDATE_BLOCK)},
    {"SRIOV_MITIGATED_RANGES_OUTPUT", sizeof(SRIOV_MITIGATED_RANGES_OUTPUT)},
};

static void
print_contract(bool json)
{
    const size_t nio = sizeof(ioctls) / sizeof(ioctls[0]), nsz = sizeof(sizes) / sizeof(sizes[0]);

    printf(json ? "{\n  \"guids\": {\n" : "GUIDs:\n");
    print_guid("GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE", &GUID_DEVINTERFACE_VIRTUALIZABLE_DEVICE, json, false);
    print_guid("GUID_SRIOV_DEVICE_INTERFACE_STANDARD", &GUID_SRIOV_DEVICE_INTERFACE_STANDARD, json, false);
    print_guid("GUID_MITIGABLE_DEVICE_INTERFACE", &GUID_MITIGABLE_DEVICE_INTERFACE, json, false);
    print_guid("GUID_DEVINTERFACE_DIRECTLY_ASSIGNABLE_DEVICE", &GUID_DEVINTERFACE_DIRECTLY_ASSIGNABLE_DEVICE, json,
               false);
    print_guid("GUID_VPCI_INTERFACE_STANDARD", &GUID_VPCI_INTERFACE_STANDARD, json, true);
    printf(json ? "  },\n  \"ioctls\": {\n" : "IOCTL codes (all METHOD_BUFFERED, FILE_READ_DATA):\n");
    for (size_t i = 0; i < nio; i++) {
        if (json) {
            printf("    \"%s\": %u%s\n", ioctls[i].name, ioctls[i].code, i + 1 < nio ? "," : "");
        } else {
            printf("  %-46s 0x%08X\n", ioctls[i].name, ioctls[i].code);
        }
    }
    printf(json ? "  },\n  \"sizes\": {\n" : "Sizes (bytes, Windows x64):\n");
    for (size_t i = 0; i < nsz; i++) {
        if (json) {
            printf("    \"%s\": %zu%s\n", sizes[i].name, sizes[i].size, i + 1 < nsz ? "," : "");
        } else {
            printf("  %-46s %zu\n", sizes[i].name, sizes[i].size);
        }
    }
    if (json) {
        printf("  }\n}\n");
    }
}

int
cmd_contract(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0}};
    bool json = false;
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'h':
            printf("usage: pcivirt contract [--json]\n\n"
                   "Print the GUIDs, IOCTL codes and interface-table sizes of the pcivirt.h\n"
                   "contract exactly as this build's headers define them.\n\n"
                   "  --json      one JSON object: guids, ioctls, sizes\n"
                   "  -h, --help  this text\n\n"
                   "Exit status: 0 printed; 2 usage error.\n");
            return CLI_EXIT_OK;
        default:
            fprintf(stderr, "pcivirt contract: unknown option '%s'\n(see 'pcivirt contract --help')\n",
                    argv[optind - 1]);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pcivirt contract: unexpected argument '%s'\n", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    print_contract(json);
    return CLI_EXIT_OK;
}
