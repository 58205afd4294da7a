/*
 * dev/profile.h - what a software SR-IOV device looks like before it is created.
 *
 * A profile is plain data: identity, SR-IOV geometry, VF BAR sizes, MSI-X vector
 * count, the PF's place in the topology, and optionally the PF's config bytes as
 * a real `lspci -xxxx` dump gave them.  Two sources exist:
 *
 *  - pv_profile_default(): an 82599-class NIC (8086:10fb, VF 10ed): ARI, TotalVFs
 *    64, First VF Offset 128 / stride 2 with ARI and 384 / 2 without (device-model.md
 *    10), 64-bit VF BAR0 (registers) and BAR3 (MSI-X), 16 KiB per VF each; the
 *    config layout matches ../shared/data/synthetic/pf.dump (PM 0x40, MSI-X 0x50,
 *    PCIe 0x70, ARI 0x100, SR-IOV 0x150).
 *  - pv_profile_from_dump(): the PF's bytes from a dump; geometry read from its
 *    SR-IOV capability.  A capability that cannot be used is an error naming the
 *    field; a usable but non-compliant one (Supported Page Sizes without the
 *    mandatory 0x553 bits, VF Device ID 0, ...) adds a warning to a list the
 *    caller prints.
 *
 * First VF Offset and VF Stride are a function of (ARI Capable Hierarchy, NumVFs),
 * as on real devices (PCIe Base Spec 9.3.3.8-9); a profile gives the two tables
 * for ARI on/off and may install a callback for NumVFs-dependent geometry.
 */
#ifndef PCIVIRT_DEV_PROFILE_H
#define PCIVIRT_DEV_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "pcivirt/error.h"

struct pci_dump;

#define PV_PROFILE_MAX_WARNINGS 16
#define PV_PROFILE_WARNING_MAX 200
#define PV_VF_MSIX_MAX 64

/* One BAR: @size bytes (per VF for VF BARs); 0 = absent. */
struct pv_bar_desc {
    uint64_t size;
    bool is64;
    bool prefetch;
};

/*
 * Geometry callback: given ARI Capable Hierarchy and NumVFs, the First VF Offset
 * and VF Stride the device reports.  NULL uses the ari/noari table below.
 */
typedef void (*pv_geometry_fn)(void *ctx, bool ari, uint16_t num_vfs, uint16_t *offset, uint16_t *stride);

struct pv_profile {
    char name[PCIVIRT_ERROR_WHERE_MAX]; /* a dump's path, whole: errors name the file */
    /* identity */
    uint16_t vendor_id, device_id, vf_device_id;
    uint16_t subsys_vendor_id, subsys_id, vf_subsys_id;
    uint8_t revision, vf_revision;
    uint32_t class_code;
    /* where the PF sits: segment, routing ID, and the bus range of its root port */
    uint16_t segment;
    uint16_t pf_rid;
    bool bus_range_set; /* false: sized like Linux reserves buses */
    uint8_t secondary_bus, subordinate_bus;
    bool ari_forwarding; /* the root port forwards ARI: ARI Capable Hierarchy is set at enumeration */
    /* SR-IOV */
    uint16_t initial_vfs, total_vfs;
    uint16_t offset_ari, stride_ari, offset_noari, stride_noari;
    pv_geometry_fn geometry;
    void *geometry_ctx;
    uint32_t sriov_caps; /* SR-IOV Capabilities register */
    uint8_t func_link;   /* Function Dependency Link */
    uint32_t supported_page_sizes;
    uint32_t system_page_size; /* reset value (normally 1) */
    struct pv_bar_desc vf_bar[6];
    struct pv_bar_desc pf_bar[6];
    bool has_ari; /* the PF (and its VFs) implement ARI */
    bool pm_no_soft_reset;
    /* behind the VF BARs */
    int vf_regs_bar; /* VF BAR with the register file, -1: none */
    int vf_msix_bar; /* VF BAR with MSI-X table and PBA, -1: no MSI-X */
    uint32_t vf_msix_table, vf_msix_pba;
    uint16_t vf_msix_vectors; /* 1..PV_VF_MSIX_MAX */
    int pf_regs_bar;          /* PF BAR with the per-VF settings */
    /* from a dump: the PF's bytes (pf_image_len 0 for a built profile) */
    uint32_t pf_image_len;
    uint16_t sriov_offset;     /* the SR-IOV capability in pf_image */
    uint16_t captured_num_vfs; /* NumVFs / Control as captured (informational) */
    uint16_t captured_ctrl;
    uint8_t pf_image[4096];
    /* warnings collected while building the profile */
    unsigned warning_count;
    char warnings[PV_PROFILE_MAX_WARNINGS][PV_PROFILE_WARNING_MAX];
};

/**
 * pv_profile_default() - fill @p with the built-in 82599-class profile.
 * The PF sits at 0000:03:00.0 below a root port forwarding ARI.
 */
void pv_profile_default(struct pv_profile *p);

/**
 * pv_profile_wide() - the default profile stretched for scale: TotalVFs 65535,
 * offset 1 / stride 1 with ARI (and without), PF at 00:00.0, bus range [00-ff].
 */
void pv_profile_wide(struct pv_profile *p);

/**
 * pv_profile_from_dump() - a profile from the first function of @dump with an
 * SR-IOV capability (or function @index when >= 0).
 * @name: the input's name for errors and the profile name.
 * @err: on failure: where = @name, field = the offending register, message.
 *
 * Return: 0 (warnings may be in @p->warnings); PCIVIRT_ENOENT when no function
 * has an SR-IOV capability (or @index is out of range); PCIVIRT_EFORMAT naming
 * the field when the capability cannot be used (TotalVFs 0 with InitialVFs
 * above it, First VF Offset 0, VF Stride 0 with TotalVFs > 1, System Page Size
 * not one supported bit, Supported Page Sizes 0, I/O VF BARs, a malformed chain).
 */
int pv_profile_from_dump(struct pv_profile *p, const struct pci_dump *dump, int index, const char *name,
                         struct pcivirt_error *err);

/**
 * pv_profile_load() - pv_profile_from_dump() on a dump file.
 * Return: as pv_profile_from_dump(), plus pci_dump_load()'s errors.
 */
int pv_profile_load(struct pv_profile *p, const char *path, struct pcivirt_error *err);

/**
 * pv_profile_geometry() - First VF Offset and VF Stride for (@ari, @num_vfs).
 */
void pv_profile_geometry(const struct pv_profile *p, bool ari, uint16_t num_vfs, uint16_t *offset, uint16_t *stride);

/**
 * pv_profile_default_bus_range() - the subordinate bus Linux would reserve:
 * the highest bus any VF needs for NumVFs = 1..TotalVFs at the profile's offset
 * and stride for the hierarchy's ARI state (Linux compute_max_vf_buses), capped
 * at 0xff.
 */
uint8_t pv_profile_default_subordinate(const struct pv_profile *p);

/* pv_profile_warn() - append a warning (printf-style); extra ones are counted but dropped. */
void pv_profile_warn(struct pv_profile *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* PCIVIRT_DEV_PROFILE_H */
