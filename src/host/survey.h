/*
 * host/survey.h - the host assignability survey (contract.md section 9).
 *
 * The survey answers, for every PCI function a Linux host shows in sysfs, the
 * question SurveyDDA.ps1 answers on Windows (contract.md 9.2) plus the seed's own
 * requirements (9.1): could this function (or, for an SR-IOV PF, its VFs) be handed
 * to a VM, and if not, why not and what would fix it.  It reads only files: a live
 * sysfs under "/" or a captured snapshot with the same layout under any root
 * (docs/SURVEY.md lists every file).  It never writes config space, so VF BAR sizes
 * come from the kernel's IOV resources, not from an all-ones probe.
 *
 * The result is plain data the command prints: per device the facts that were
 * seen, one judgement per check (in SurveyDDA.ps1's order, then the seed's extra
 * checks) and a verdict.  Anything that could not be seen (a config space cut to
 * 64 bytes for an unprivileged reader, an unreadable file) is recorded in
 * `unseen` and turns the checks that needed it into HOST_RESULT_UNKNOWN instead of
 * a guess.  Library code never prints (STYLE rule 8).
 */
#ifndef PCIVIRT_HOST_SURVEY_H
#define PCIVIRT_HOST_SURVEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcivirt/error.h"

/* Three-valued facts: seen absent, seen present, or could not be seen. */
enum host_tri {
    HOST_NO = 0,
    HOST_YES = 1,
    HOST_UNSEEN = -1,
};

/* How one check came out.  Order matters: a higher value dominates the verdict. */
enum host_result {
    HOST_RESULT_PASS = 0,    /* requirement met */
    HOST_RESULT_INFO = 1,    /* informational only (MMIO size, location) */
    HOST_RESULT_WARN = 2,    /* does not block assignment; worth knowing */
    HOST_RESULT_UNKNOWN = 3, /* could not be decided from what was visible */
    HOST_RESULT_FAIL = 4,    /* blocks assignment */
};

/*
 * The checks, in report order: the host precondition, SurveyDDA.ps1's seven in its
 * order (contract.md 9.2), then what the seed (9.1) and Linux (9.3) add.
 */
enum host_check_id {
    HOST_CHECK_IOMMU = 0,        /* host IOMMU present, device in a translated group */
    HOST_CHECK_RESERVED_REGIONS, /* 9.2 step 1: RMRR -> "direct" reserved region */
    HOST_CHECK_ACS,              /* 9.2 step 2: ACS up the hierarchy */
    HOST_CHECK_DEVICE_TYPE,      /* 9.2 step 3: PCIe device/port type */
    HOST_CHECK_ENABLED,          /* 9.2 step 4: disabled device (warning) */
    HOST_CHECK_INTERRUPTS,       /* 9.2 step 5: message-signalled interrupts */
    HOST_CHECK_MMIO,             /* 9.2 step 6: MMIO gap the device needs */
    HOST_CHECK_LOCATION,         /* 9.2 step 7: location path */
    HOST_CHECK_IOMMU_GROUP,      /* 9.3: other members of the IOMMU group */
    HOST_CHECK_IRQ_REMAP,        /* 9.3: interrupt remapping on the host */
    HOST_CHECK_ATS,              /* 9.1: must not require ATS */
    HOST_CHECK_SRIOV,            /* 9.3: SR-IOV geometry and VF MMIO against the bridge window */
    HOST_CHECK_COUNT,
};

#define HOST_TEXT_MAX 640
#define HOST_UNSEEN_MAX 16
#define HOST_PATH_HOPS_MAX 32
#define HOST_GROUP_MEMBERS_MAX 64
#define HOST_REGIONS_MAX 32

struct host_check {
    enum host_result result;
    char why[HOST_TEXT_MAX]; /* what was found, with the numbers */
    char fix[HOST_TEXT_MAX]; /* what would fix it; empty when nothing to fix */
};

/* PCI Express capability, Device/Port Type field (Capabilities register bits 7:4). */
enum host_pcie_type {
    HOST_PCIE_UNSEEN = -2, /* the capability list could not be read */
    HOST_PCIE_NONE = -1,   /* no PCIe capability: conventional PCI */
    HOST_PCIE_ENDPOINT = 0x0,
    HOST_PCIE_LEGACY_ENDPOINT = 0x1,
    HOST_PCIE_ROOT_PORT = 0x4,
    HOST_PCIE_UPSTREAM = 0x5,
    HOST_PCIE_DOWNSTREAM = 0x6,
    HOST_PCIE_PCIE_TO_PCI = 0x7,
    HOST_PCIE_PCI_TO_PCIE = 0x8,
    HOST_PCIE_RCIEP = 0x9,
    HOST_PCIE_RC_EC = 0xA,
};

/* ACS capability/control bits (PCIe Base Spec 7.7.8; device-model.md 2.2). */
enum {
    HOST_ACS_SV = 0x01,
    HOST_ACS_TB = 0x02,
    HOST_ACS_RR = 0x04,
    HOST_ACS_CR = 0x08,
    HOST_ACS_UF = 0x10,
    HOST_ACS_EC = 0x20,
    HOST_ACS_DT = 0x40,
    /* What Linux's isolation test asks of every bridge (contract.md 9.3). */
    HOST_ACS_REQUIRED = HOST_ACS_SV | HOST_ACS_RR | HOST_ACS_CR | HOST_ACS_UF,
};

/* One function on the path from the device up to its root bus. */
struct host_acs_hop {
    char bdf[16];
    bool is_device;      /* the surveyed function itself (judged only when multifunction) */
    int pcie_type;       /* enum host_pcie_type */
    bool multifunction;  /* header type bit 7 */
    enum host_tri acs;   /* ACS extended capability present */
    uint16_t acs_offset; /* where, when present */
    uint16_t cap;        /* ACS Capability register */
    uint16_t ctrl;       /* ACS Control register */
    uint16_t required;   /* bits this hop must have enabled */
    uint16_t missing;    /* required bits that are not enabled */
    enum host_result result;
    char rule[160]; /* which rule judged this hop */
};

/* One reserved region of the device's IOMMU group. */
struct host_region {
    uint64_t start;
    uint64_t end;
    char type[24]; /* direct, direct-relaxable, msi, reserved, ... */
};

/* One memory resource: a BAR, or an SR-IOV VF BAR (per-VF size). */
struct host_bar {
    bool present;
    bool is64;
    bool prefetch;
    bool io;
    uint64_t start;
    uint64_t size; /* bytes; 0 when unknown */
};

/* A bridge memory window (Type 1 header 0x20..0x2c). */
struct host_window {
    bool valid; /* base <= limit */
    bool is64;  /* prefetchable window with 64-bit addressing */
    uint64_t base;
    uint64_t limit;
};

struct host_sriov {
    enum host_tri present;
    uint16_t cap_offset;
    uint16_t ctrl;
    uint16_t initial_vfs;
    uint16_t total_vfs;
    uint16_t num_vfs;
    uint8_t fdl;
    uint16_t vf_offset;
    uint16_t vf_stride;
    uint16_t vf_device;
    uint32_t sup_page_sizes;
    uint32_t sys_page_size;
    bool ari_hierarchy;
    struct host_bar vf_bar[6]; /* type and address from config, per-VF size from sysfs */
    const char *size_source;   /* where per-VF sizes came from, or NULL */
    /* sysfs cross-check: -1 when the file is absent */
    long sys_totalvfs;
    long sys_numvfs;
    long sys_offset;
    long sys_stride;
    long sys_vf_device;
    unsigned virtfn_links;
    uint64_t aperture_nonpref; /* per-VF size x TotalVFs, summed by kind */
    uint64_t aperture_pref;
    unsigned last_vf_bus; /* for TotalVFs at the current offset/stride */
};

struct host_device {
    char bdf[16];
    uint16_t domain;
    uint8_t bus, dev, fn;
    char path[512];                  /* resolved sysfs path inside the root, e.g. /sys/devices/pci0000:00/... */
    char location[512];              /* pciDDDD:BB/<bdf>/<bdf>...: root bus down to the device */
    long vendor, device, class_code; /* -1 when unreadable */

    size_t config_len;     /* bytes read */
    size_t config_size;    /* bytes the file claims (st_size) */
    uint8_t config[4096];  /* zero beyond config_len */
    bool config_truncated; /* fewer bytes than the file size: unprivileged read */

    int pcie_type;       /* enum host_pcie_type */
    uint8_t header_type; /* low 7 bits; 0xff when unseen */
    bool multifunction;
    enum host_tri msi;
    enum host_tri msix;
    uint8_t int_pin; /* 0x3d */
    int msi_irqs;    /* entries in msi_irqs/, -1 when the directory is absent */
    int enabled;     /* enable file: 1, 0 or -1 unreadable */
    enum host_tri ats;
    enum host_tri acs;

    struct host_bar bar[6];
    bool resource_seen;
    uint64_t mmio32; /* rounded up per BAR to 4 KiB */
    uint64_t mmio64;

    size_t hops; /* path from the device (index 0) up to the root bus */
    struct host_acs_hop hop[HOST_PATH_HOPS_MAX];
    char upstream_bdf[16];     /* the bridge right above, "" on a root bus */
    struct host_window up_mem; /* its non-prefetchable window */
    struct host_window up_pref;
    int up_subordinate; /* its subordinate bus number, -1 when unseen */

    long iommu_group; /* -1 when the device has no iommu_group link */
    char group_type[24];
    size_t group_members;
    char group_member[HOST_GROUP_MEMBERS_MAX][16];
    bool group_member_bridge[HOST_GROUP_MEMBERS_MAX];
    enum host_tri regions_seen;
    size_t regions;
    struct host_region region[HOST_REGIONS_MAX];

    struct host_sriov sriov;

    size_t unseen_count;
    char unseen[HOST_UNSEEN_MAX][160];

    struct host_check check[HOST_CHECK_COUNT];
    enum host_result verdict_result; /* worst check result */
};

/* Host-level findings (contract.md 9.3, first two rows; _OSC for 9.2 step 3). */
struct host_platform {
    char root[512];
    int iommu_units;         /* entries in /sys/class/iommu, -1 unreadable */
    int iommu_groups;        /* entries in /sys/kernel/iommu_groups, -1 unreadable */
    enum host_tri irq_remap; /* interrupt remapping in effect */
    char irq_remap_evidence[256];
    enum host_tri unsafe_interrupts; /* vfio_iommu_type1 allow_unsafe_interrupts */
    enum host_tri os_pcie_control;   /* _OSC granted PCIe control to the OS */
    char osc_evidence[256];
    bool kmsg_seen;       /* a kernel log was readable */
    bool interrupts_seen; /* /proc/interrupts was readable */
    bool cmdline_seen;
    struct host_check iommu;
    struct host_check irq;
    struct host_check osc;
};

/* Verdicts (contract.md 9.2): from the worst check result. */
enum host_verdict {
    HOST_VERDICT_ASSIGNABLE,
    HOST_VERDICT_NOT_ASSIGNABLE,
    HOST_VERDICT_UNKNOWN,
};

struct host_survey;

struct host_survey_options {
    const char *root;     /* "/" (default when NULL) or a snapshot root */
    const char *only_bdf; /* survey one function (DDDD:BB:DD.F or BB:DD.F), or NULL for all */
};

/**
 * host_survey_run() - read the host and judge every PCI function.
 * @opts: root and filter; may be NULL for the live system, all functions.
 * @out: receives the result, to be freed with host_survey_destroy().
 * @err: optional detail (which path, what went wrong).
 *
 * Unreadable individual files are not errors: they become `unseen` notes and
 * unknown checks.  Errors are reserved for a root that is not a sysfs tree.
 *
 * Return: 0; PCIVIRT_ENOENT when ROOT/sys/bus/pci/devices is missing or the
 * requested function does not exist; PCIVIRT_EINVAL for a malformed BDF;
 * PCIVIRT_EIO when the devices directory cannot be listed; PCIVIRT_ENOMEM.
 */
int host_survey_run(const struct host_survey_options *opts, struct host_survey **out, struct pcivirt_error *err);

/* host_survey_destroy() - free a survey; NULL is accepted. */
void host_survey_destroy(struct host_survey *s);

/* host_survey_count() - number of functions surveyed. */
size_t host_survey_count(const struct host_survey *s);

/* host_survey_device() - the @i-th function (sorted by BDF), or NULL past the end. */
const struct host_device *host_survey_device(const struct host_survey *s, size_t i);

/* host_survey_platform() - the host-level findings. */
const struct host_platform *host_survey_platform(const struct host_survey *s);

/* host_device_verdict() - assignable / not assignable / unknown from the checks. */
enum host_verdict host_device_verdict(const struct host_device *d);

/* host_check_name() - stable short name of a check ("acs", "iommu_group", ...). */
const char *host_check_name(enum host_check_id id);

/* host_result_name() - "pass", "info", "warn", "unknown" or "fail". */
const char *host_result_name(enum host_result r);

/* host_verdict_name() - "assignable", "not assignable" or "unknown". */
const char *host_verdict_name(enum host_verdict v);

/* host_pcie_type_name() - English name of a Device/Port Type (or "conventional PCI"). */
const char *host_pcie_type_name(int pcie_type);

/* host_size_text() - @bytes in the largest binary unit that divides it exactly ("128 KiB"). */
const char *host_size_text(uint64_t bytes, char *buf, size_t cap);

/* host_acs_bits_text() - "SV RR CR UF"-style list of the set bits of @bits into @buf. */
const char *host_acs_bits_text(uint16_t bits, char *buf, size_t cap);

/**
 * host_parse_bdf() - parse "DDDD:BB:DD.F" or "BB:DD.F" (domain 0).
 * Return: 0, or PCIVIRT_EINVAL when @s is not a BDF.
 */
int host_parse_bdf(const char *s, uint16_t *domain, uint8_t *bus, uint8_t *dev, uint8_t *fn);

#endif /* PCIVIRT_HOST_SURVEY_H */
