/*
 * tools/scenario.h - scenario files for `pcivirt run`: the parsed, resolved form.
 *
 * A scenario (docs/SCENARIO.md) is a small, versioned JSON document naming the
 * devices to build, the VMs, which VF each VM gets, what the guest drivers do,
 * and a timeline of events and faults.  This module turns one into a plain
 * struct scenario in which every default is filled in, every name is resolved to
 * an index, every dump path is resolved against the scenario file's folder, and
 * every cross-reference has been checked - so the runner never validates input.
 *
 * The parser is strict on purpose: unknown keys, wrong types, out-of-range
 * numbers, duplicate names and keys, dangling references and impossible timeline
 * steps are all errors, each reported with the file, the 1-based line and column
 * where the offending value starts, and the field's path (`vms[1].memory_mib`).
 * jansson parses; json_locate.h maps paths back to positions in the text.
 *
 * Indexes instead of pointers: the struct can be copied and inspected in a
 * debugger without chasing, and SCENARIO_NONE marks "no such thing".
 */
#ifndef PCIVIRT_TOOLS_SCENARIO_H
#define PCIVIRT_TOOLS_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCENARIO_VERSION 1                 /* the value of "pcivirt-scenario" this parser reads */
#define SCENARIO_MAX_FILE_BYTES (1u << 20) /* 1 MiB: larger files are refused before parsing */
#define SCENARIO_NAME_MAX 32               /* names: 1..31 characters of [A-Za-z0-9_.-], plus NUL */
#define SCENARIO_TEXT_MAX 1024             /* "name", "description", "note": at most this many bytes */
#define SCENARIO_MAX_DEVICES 16
#define SCENARIO_MAX_VMS 256
#define SCENARIO_MAX_ASSIGNMENTS 4096
#define SCENARIO_MAX_WORKLOADS 64
#define SCENARIO_MAX_OPS 256    /* operations per workload */
#define SCENARIO_MAX_STEPS 4096 /* timeline steps */
#define SCENARIO_NONE SIZE_MAX  /* "no index" */

enum scenario_clock {
    SCENARIO_CLOCK_VIRTUAL = 0, /* timeouts advance a virtual clock: deterministic, no wall time */
    SCENARIO_CLOCK_REAL = 1,    /* the runtime's monotonic clock */
};

/* What the stack does to a VM that does not answer query-stop in time (contract.md §7.2). */
enum scenario_policy {
    SCENARIO_POLICY_VETO = 0,            /* EVENT_COMPLETE with a failure: the rebalance is vetoed */
    SCENARIO_POLICY_SURPRISE_REMOVE = 1, /* take the VF from the silent VM, then let the stop proceed */
};

/* Guest misbehaviour, a bit set (vms[].misbehave, timeline "guest" steps). */
enum {
    SCENARIO_GUEST_IGNORE_QUERY_STOP = 1u << 0, /* never answers the stack's query-stop */
    SCENARIO_GUEST_IGNORE_EJECT = 1u << 1,      /* never sends PCI_EJECTION_COMPLETE */
    SCENARIO_GUEST_MALFORMED_PACKETS = 1u << 2, /* interleaves malformed vPCI packets with its work */
    SCENARIO_GUEST_DMA_OUTSIDE = 1u << 3,       /* aims a DMA past its RAM after each workload pass over a VF */
};

enum scenario_source {
    SCENARIO_SOURCE_BUILTIN = 0, /* "builtin:NAME": a profile compiled into the device model */
    SCENARIO_SOURCE_DUMP = 1,    /* an `lspci -xxxx` dump file */
};

struct scenario_options {
    enum scenario_clock clock; /* default virtual */
    uint64_t seed;             /* default 1; drives every generated value (MACs, data patterns) */
};

struct scenario_timing {
    uint32_t query_stop_timeout_ms;  /* default 5000: how long the stack waits for each VM's answer */
    uint32_t eject_window_ms;        /* default 60000: Windows' eject window (contract.md §8.6) */
    enum scenario_policy on_timeout; /* default veto */
};

struct scenario_device {
    char name[SCENARIO_NAME_MAX];
    enum scenario_source source;
    char builtin[SCENARIO_NAME_MAX]; /* SOURCE_BUILTIN: profile name without "builtin:" */
    char *dump_path;                 /* SOURCE_DUMP: resolved against the scenario's folder */
    bool has_pf;                     /* "pf" given: the PF's location (for a dump: which function) */
    uint16_t pf_segment;
    uint8_t pf_bus;
    uint8_t pf_device;
    uint8_t pf_function;
    uint32_t num_vfs;   /* NumVFs to enable, 0..65535 */
    bool ari;           /* ARI Capable Hierarchy; default true */
    bool has_bus_range; /* the root port's secondary..subordinate buses */
    uint8_t bus_first;
    uint8_t bus_last;
};

struct scenario_vm {
    char name[SCENARIO_NAME_MAX];
    uint32_t memory_mib;   /* guest memory, 1..4096 MiB; default 64 */
    uint32_t vpci_version; /* highest vPCI protocol version offered, major << 16 | minor (contract.md §8.3) */
    uint32_t misbehave;    /* SCENARIO_GUEST_* bits at the start */
    size_t workload;       /* index into workloads, or SCENARIO_NONE */
};

struct scenario_assignment {
    size_t vm;     /* index into vms */
    size_t device; /* index into devices */
    uint32_t vf;   /* VF index, < devices[device].num_vfs */
};

enum scenario_op_kind {
    SCENARIO_OP_ENUMERATE = 0,  /* read the whole config space, walk the capability lists */
    SCENARIO_OP_BAR_SETUP,      /* size the BARs, assign addresses, enable memory decoding */
    SCENARIO_OP_DMA,            /* `count` transfers of `size` bytes through the VF's DMA engine */
    SCENARIO_OP_BLOCK_READ,     /* read `length` bytes of config block `block` */
    SCENARIO_OP_BLOCK_WRITE,    /* write `length` seeded bytes to config block `block` */
    SCENARIO_OP_BLOCK_EXCHANGE, /* write, read back and compare */
    SCENARIO_OP_PF_SET_MAC,     /* the PF changes this VF's MAC; the guest must see the invalidation */
    SCENARIO_OP_INTERRUPTS,     /* raise `count` MSI-X interrupts and take them */
    SCENARIO_OP_MMIO,           /* `count` BAR register accesses, trapped ones included */
    SCENARIO_OP_COUNT_
};

struct scenario_op {
    enum scenario_op_kind kind;
    uint32_t block;  /* BLOCK_*: block id */
    uint32_t length; /* BLOCK_*: 1..128 bytes (VPCI_MAX_READ_WRITE_BLOCK_SIZE, contract.md §6.3) */
    uint32_t size;   /* DMA: bytes per transfer */
    uint32_t count;  /* DMA, INTERRUPTS, MMIO: repetitions; default 1 */
    bool has_mac;    /* PF_SET_MAC: false = derive the address from the seed */
    uint8_t mac[6];
};

struct scenario_workload {
    char name[SCENARIO_NAME_MAX];
    uint32_t iterations; /* how many times the op list runs per "workload" step; default 1 */
    size_t n_ops;
    struct scenario_op *ops;
};

enum scenario_action {
    SCENARIO_ACT_WORKLOAD = 0,    /* the listed VMs run their workloads on every VF they hold */
    SCENARIO_ACT_REBALANCE,       /* query-stop, stop, new resources, start for one device */
    SCENARIO_ACT_SURPRISE_REMOVE, /* the PF disappears; every VM loses its VFs */
    SCENARIO_ACT_EJECT,           /* orderly removal of one VF from one VM (eject window applies) */
    SCENARIO_ACT_ASSIGN,          /* give a VF to a VM (after the clean-handoff check) */
    SCENARIO_ACT_GUEST,           /* change a VM's misbehaviour bits */
    SCENARIO_ACT_PF_BLOCK_CHANGE, /* the PF rewrites one VF config block: invalidation */
    SCENARIO_ACT_PF_SET_MAC,      /* the PF assigns a VF a new MAC: invalidation */
    SCENARIO_ACT_WAIT,            /* let the clock run */
    SCENARIO_ACT_COUNT_
};

struct scenario_step {
    enum scenario_action action;
    char *note;      /* free text for the timeline, or NULL */
    size_t device;   /* REBALANCE, SURPRISE_REMOVE, EJECT, ASSIGN, PF_*: index into devices */
    size_t vm;       /* EJECT, ASSIGN, GUEST: index into vms */
    uint32_t vf;     /* EJECT, ASSIGN, PF_*: VF index */
    uint32_t block;  /* PF_BLOCK_CHANGE: block id 0..63 (invalidation mask bit) */
    uint32_t length; /* PF_BLOCK_CHANGE: bytes rewritten, 1..128; default 8 */
    bool has_mac;    /* PF_SET_MAC: false = derive from the seed */
    uint8_t mac[6];
    uint32_t misbehave; /* GUEST: the new SCENARIO_GUEST_* bits (replaces the old set) */
    uint32_t wait_ms;   /* WAIT */
    bool move_bars;     /* REBALANCE: the restart hands out different BAR addresses; default true */
    size_t n_vms;       /* WORKLOAD: the VMs that run, resolved (all VMs with a workload if omitted) */
    size_t *vms;
    /*
     * What the scenario model predicts, so the runner can check the stack against it:
     * REBALANCE: expect_timeout when some VM holding a VF of the device ignores
     * query-stop; expect_veto when additionally the policy is veto.
     * EJECT: expect_forced when the guest ignores eject (removal after the window).
     */
    bool expect_timeout;
    bool expect_veto;
    bool expect_forced;
};

struct scenario {
    int version;       /* SCENARIO_VERSION */
    char *file;        /* the name errors and reports use: the path, or "<default>" */
    char *name;        /* "name", or the file's base name */
    char *description; /* or NULL */
    struct scenario_options options;
    struct scenario_timing timing;
    size_t n_devices;
    struct scenario_device *devices;
    size_t n_vms;
    struct scenario_vm *vms;
    size_t n_assignments;
    struct scenario_assignment *assignments;
    size_t n_workloads;
    struct scenario_workload *workloads;
    size_t n_steps; /* when "timeline" is absent: one WORKLOAD step for all VMs with a workload */
    struct scenario_step *steps;
    char *text; /* the source text, kept for scenario_where() */
    size_t text_len;
};

/* Why a load failed, for a person: `file:line:column: path: message`. */
struct scenario_error {
    int code; /* PCIVIRT_EFORMAT, PCIVIRT_ERANGE (too large), PCIVIRT_EIO, PCIVIRT_ENOENT, PCIVIRT_ENOMEM */
    char file[256];
    unsigned line;   /* 1-based; 0 when the error has no position (I/O) */
    unsigned column; /* 1-based character column; 0 likewise */
    char path[128];  /* `vms[1].memory_mib`; "" for the whole document */
    char message[512];
};

/**
 * scenario_load_file() - read, parse and validate a scenario file.
 * @path: the file; relative dump paths inside it are resolved against its folder.
 * @out: receives the scenario on success (free with scenario_destroy()); NULL on failure.
 * @err: optional; filled on failure.
 *
 * Return: 0; PCIVIRT_ENOENT / PCIVIRT_EIO when the file cannot be read;
 * PCIVIRT_ERANGE when it is larger than SCENARIO_MAX_FILE_BYTES; PCIVIRT_EFORMAT for
 * anything wrong inside it (syntax, encoding, schema, references); PCIVIRT_ENOENT
 * also for a device's dump file that does not exist or is not a regular file
 * (reported with its position, like a format error); PCIVIRT_ENOMEM.
 */
int scenario_load_file(const char *path, struct scenario **out, struct scenario_error *err);

/**
 * scenario_load_buffer() - parse and validate a scenario held in memory.
 * @name: what errors call the input (e.g. "<stdin>"); NULL means "<buffer>".
 * @base_dir: folder relative dump paths are resolved against; NULL means ".".
 * @buf: the bytes (need not be NUL-terminated; a NUL byte inside is an error).
 * @len: their count; more than SCENARIO_MAX_FILE_BYTES is refused.
 * @out, @err: as for scenario_load_file().
 *
 * Return: as scenario_load_file(), without the I/O errors.
 */
int scenario_load_buffer(const char *name, const char *base_dir, const void *buf, size_t len, struct scenario **out,
                         struct scenario_error *err);

/**
 * scenario_default_text() - the embedded default scenario (also examples/default.json).
 *
 * Return: a static NUL-terminated JSON text.
 */
const char *scenario_default_text(void);

/**
 * scenario_load_default() - parse the embedded default; its name is "<default>".
 * @out, @err: as for scenario_load_file().
 *
 * Return: 0, or PCIVIRT_ENOMEM (the text itself is checked by the test suite).
 */
int scenario_load_default(struct scenario **out, struct scenario_error *err);

/**
 * scenario_destroy() - free a scenario.  @sc may be NULL or half-built.
 */
void scenario_destroy(struct scenario *sc);

/**
 * scenario_where() - where a field of a loaded scenario sits in its text.
 * @sc: the scenario.
 * @path: a field path as errors print it, e.g. "devices[0].num_vfs".
 * @line, @column: receive the 1-based position of the value's first character.
 *
 * For the runner's own errors about the scenario (a dump whose TotalVFs is below
 * num_vfs, a bus range the VFs do not fit in), so they point into the file too.
 *
 * Return: true when the field is present in the text.
 */
bool scenario_where(const struct scenario *sc, const char *path, unsigned *line, unsigned *column);

/**
 * scenario_error_format() - `file:line:column: path: message` (parts left out when unknown).
 * @err: the error; @buf receives the text, truncated to @size.
 */
void scenario_error_format(const struct scenario_error *err, char *buf, size_t size);

/* Schema spellings, for printing: "block-read", "surprise-remove", "veto", "virtual"... */
const char *scenario_op_name(enum scenario_op_kind kind);
const char *scenario_action_name(enum scenario_action action);
const char *scenario_policy_name(enum scenario_policy policy);
const char *scenario_clock_name(enum scenario_clock clock);

/**
 * scenario_misbehave_format() - "ignore-query-stop,ignore-eject" or "none".
 * @bits: SCENARIO_GUEST_* bits; @buf, @size: where the text goes (truncated to fit).
 */
void scenario_misbehave_format(uint32_t bits, char *buf, size_t size);

#endif /* PCIVIRT_TOOLS_SCENARIO_H */
