/*
 * tests/install/consumer.c - a program built only from the installed headers and
 * pkg-config file: the public headers are self-contained and the library links.
 */
#include <pcivirt/bus.h>
#include <pcivirt/error.h>
#include <pcivirt/pcivirt.h>
#include <pcivirt/vpci.h>
#include <pcivirt/vpci_proto.h>
#include <pcivirt/wdf.h>
#include <stdio.h>

int
main(void)
{
    CM_PARTIAL_RESOURCE_DESCRIPTOR d = {0};

    /* Calls into the shared library, so linking is exercised too. */
    if (RtlCmEncodeMemIoResource(&d, CmResourceTypeMemoryLarge, 1ull << 40, 0) != STATUS_SUCCESS) {
        return 1;
    }
    printf("%08X %u %s %llu\n", IOCTL_SRIOV_ATTACH, (unsigned)sizeof(SRIOV_DEVICE_INTERFACE_STANDARD_2),
           pcivirt_strerror(PCIVIRT_ENOSPC), (unsigned long long)RtlCmDecodeMemIoResource(&d, NULL));
    return 0;
}
