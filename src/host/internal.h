/*
 * host/internal.h - how the survey's parts hand facts to each other.
 *
 * The survey is split by what each part knows: survey.c walks sysfs and collects
 * raw facts, config.c decodes config-space bytes (through the config engine's
 * capability finder, never a second walker), platform.c reads the host-wide
 * evidence, and checks.c turns facts into judgements without touching files, so
 * the rules can be read (and tested) apart from the I/O.
 */
#ifndef PCIVIRT_HOST_INTERNAL_H
#define PCIVIRT_HOST_INTERNAL_H

#include "host/survey.h"
#include "host/sysfs.h"

/* Record something the survey could not see (bounded; later notes are dropped). */
void host_note_unseen(struct host_device *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Decode the device's own config bytes: PCIe type, MSI/MSI-X, ATS, ACS and the
 * SR-IOV capability.  Fields that need bytes beyond config_len become unseen.
 */
void host_config_decode(struct host_device *d);

/*
 * Decode one function on the ACS path from its config bytes: PCIe type, header
 * multifunction bit and the ACS capability.  @len bytes were read of @size.
 */
void host_config_hop(struct host_acs_hop *hop, const uint8_t *cfg, size_t len, size_t size);

/*
 * The non-prefetchable and prefetchable windows and the subordinate bus of a
 * Type 1 header (needs 0x30 bytes; windows stay invalid, bus -1, with fewer).
 */
void host_bridge_windows(const uint8_t *cfg, size_t len, struct host_window *mem, struct host_window *pref,
                         int *subordinate);

/*
 * Read host-wide evidence (IOMMU units and groups, interrupt remapping, _OSC).
 * Absent or unreadable sources leave their fields unseen; running out of memory
 * is not "absent".  Return: 0, or PCIVIRT_ENOMEM (then @p is incomplete).
 */
int host_read_platform(const struct host_root *root, struct host_platform *p);

/* Judge the host-level checks from what host_read_platform() found. */
void host_judge_platform(struct host_platform *p);

/* Judge every check of @d (in report order) and its verdict. */
void host_judge_device(struct host_device *d, const struct host_platform *p);

/* Judge the SR-IOV check of @d: geometry, sysfs cross-check, VF MMIO and buses (sriov.c). */
void host_judge_device_sriov(struct host_device *d);

/* Judge one ACS path hop by Linux's isolation rule (contract.md 9.3). */
void host_judge_hop(struct host_acs_hop *hop);

#endif /* PCIVIRT_HOST_INTERNAL_H */
