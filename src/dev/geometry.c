/*
 * dev/geometry.c - routing-ID and VF BAR arithmetic (see geometry.h).
 */
#include "dev/geometry.h"

#include <stdio.h>

bool
dev_vf_index_of_rid(const struct dev_vf_geometry *geo, uint16_t rid, uint32_t *index)
{
    uint32_t first = (uint32_t)geo->pf_rid + geo->offset;
    uint32_t delta;

    if (geo->num_vfs == 0 || geo->offset == 0 || rid < first) {
        return false;
    }
    delta = rid - first;
    if (geo->stride == 0) {
        /* Stride is unused with one VF (PCIe Base Spec 9.3.3.9). */
        if (delta != 0) {
            return false;
        }
        *index = 0;
        return true;
    }
    if (delta % geo->stride != 0 || delta / geo->stride >= geo->num_vfs) {
        return false;
    }
    *index = delta / geo->stride;
    return true;
}

uint32_t
dev_last_vf_bus(uint16_t pf_rid, uint16_t offset, uint16_t stride, uint32_t num_vfs)
{
    if (num_vfs == 0) {
        return pf_rid >> 8;
    }
    return dev_vf_rid_unbounded(pf_rid, offset, stride, num_vfs - 1) >> 8;
}

const char *
dev_format_rid(char *buf, unsigned size, uint32_t rid)
{
    if (rid > 0xffff) {
        snprintf(buf, size, "(beyond bus ff: 0x%x)", rid);
    } else {
        snprintf(buf, size, "%02x:%02x.%x", rid >> 8, (rid >> 3) & 0x1f, rid & 7);
    }
    return buf;
}

/* The message shared by both range failures: the whole computation, spelled out. */
static int
range_error(const struct dev_vf_geometry *geo, uint32_t last, const char *why, struct pcivirt_error *err)
{
    char pf[32], vf[32];

    pcivirt_error_locate(err, NULL, 0, "NumVFs");
    return pcivirt_error_set(
        err, PCIVIRT_ENOSPC,
        "can't enable %u VFs (ARI Capable Hierarchy %s): last VF routing ID = PF %s (0x%04x) + First VF Offset %u "
        "+ (NumVFs %u - 1) x VF Stride %u = 0x%04x = %s; %s the PF's bus range [bus %02x-%02x]",
        (unsigned)geo->num_vfs, geo->ari ? "on" : "off", dev_format_rid(pf, sizeof(pf), geo->pf_rid),
        (unsigned)geo->pf_rid, (unsigned)geo->offset, (unsigned)geo->num_vfs, (unsigned)geo->stride, last,
        dev_format_rid(vf, sizeof(vf), last), why, (unsigned)(geo->pf_rid >> 8), (unsigned)geo->subordinate_bus);
}

int
dev_geometry_check(const struct dev_vf_geometry *geo, struct pcivirt_error *err)
{
    uint32_t last;

    if (geo->num_vfs == 0) {
        pcivirt_error_locate(err, NULL, 0, "NumVFs");
        return pcivirt_error_set(err, PCIVIRT_EINVAL, "NumVFs is 0: there is no VF to enable");
    }
    if (geo->offset == 0) {
        pcivirt_error_locate(err, NULL, 0, "First VF Offset");
        return pcivirt_error_set(err, PCIVIRT_EINVAL,
                                 "First VF Offset reads 0 with NumVFs %u (PCIe 9.3.3.8 "
                                 "requires a non-zero offset)",
                                 (unsigned)geo->num_vfs);
    }
    if (geo->num_vfs > 1 && geo->stride == 0) {
        pcivirt_error_locate(err, NULL, 0, "VF Stride");
        return pcivirt_error_set(err, PCIVIRT_EINVAL,
                                 "VF Stride reads 0 with NumVFs %u (PCIe 9.3.3.9 requires "
                                 "a non-zero stride when NumVFs > 1)",
                                 (unsigned)geo->num_vfs);
    }
    last = dev_vf_rid_unbounded(geo->pf_rid, geo->offset, geo->stride, geo->num_vfs - 1u);
    if (last > 0xffff) {
        return range_error(geo, last, "beyond bus ff, outside", err);
    }
    if ((last >> 8) > geo->subordinate_bus || (last >> 8) < (uint32_t)(geo->pf_rid >> 8)) {
        return range_error(geo, last, "its bus is outside", err);
    }
    return 0;
}

uint64_t
dev_vf_bar_size(uint64_t native, uint32_t sys_page_size)
{
    uint64_t page = 4096;

    if (!dev_one_bit(sys_page_size)) {
        return 0;
    }
    while ((sys_page_size >>= 1) != 0) {
        page <<= 1;
    }
    return native > page ? native : page;
}
