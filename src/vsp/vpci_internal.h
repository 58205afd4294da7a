/*
 * vsp/vpci_internal.h - shared state of vpci_host.c (protocol) and vpci_mmio.c
 * (config window, emulated registers, BAR dispatch).  Not for other modules.
 */
#ifndef PCIVIRT_VSP_VPCI_INTERNAL_H
#define PCIVIRT_VSP_VPCI_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "util/list.h"
#include "vmbus/vpci_chan.h"
#include "vsp/vpci_host.h"

/* One exposed VF as this host sees it; valid while @present. */
struct vpci_slot {
    bool present;
    struct vsp_pf *pf; /* a reference */
    uint16_t vf;
    uint16_t rid;
    uint32_t serial;
    struct vpci_fn_desc desc;
    struct vsp_vf_bars bars;
    bool bars_ok;
    bool reqs_queried; /* QUERY_RESOURCE_REQUIREMENTS answered */
    bool assigned;     /* RESOURCES_ASSIGNED accepted: host_base valid */
    uint64_t host_base[PCI_TYPE0_ADDRESSES];
    uint32_t bar_reg[PCI_TYPE0_ADDRESSES]; /* what the guest wrote to the BAR registers */
    bool mse;                              /* the guest's Memory Space Enable */
    uint32_t irqs;                         /* interrupt remapping entries held */
    struct vsp_intercept_map *traps;       /* owned by the PF binding; NULL: nothing traps */
};

/* What the invalidation path needs of a slot, under inval_lock only. */
struct vpci_inval {
    int pf; /* VSP_EV_NONE when the slot is empty */
    int vf;
    uint64_t pending; /* bits not yet delivered */
};

struct vsp_vpci {
    struct vsp_vpci_config cfg;
    /*
     * The host list.  Bus callbacks and invalidation take it shared (glibc's
     * default reader preference lets a PF that invalidates from inside a block
     * callback re-enter while a callback waits for a host), create/destroy exclusive.
     */
    pthread_rwlock_t lock;
    struct list_node hosts;
};

/* One PCI_QUERY_STOP sent to one slot and not answered yet (vpci_stop.c). */
struct vpci_query;

/* The query-stop state of one slot, under stop_lock (vpci_stop.c). */
struct vpci_stopq {
    struct vpci_query *out; /* the query waiting for the guest's answer, or NULL */
};

struct vsp_vpci_host {
    struct vsp_vpci *vpci;
    struct list_node node; /* on vpci->hosts */
    struct vsp_vmm *vmm;
    struct vsp_vm *vm;
    int vm_id;
    struct vmbus_channel *ch;
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    struct vpci_rx *rx; /* the dispatch thread's receive buffer */

    pthread_rwlock_t lock; /* slots, d0, window */
    atomic_uint version;   /* 0 until negotiated */
    bool d0;
    uint64_t window; /* GPA of the config window while d0 */
    atomic_uint slot_select;
    struct vpci_slot slots[VSP_VPCI_SLOTS];

    pthread_mutex_t inval_lock; /* inval[] */
    struct vpci_inval inval[VSP_VPCI_SLOTS];

    pthread_mutex_t send_lock;    /* one host -> guest message at a time */
    pthread_mutex_t refresh_lock; /* one slot-table update (and its BUS_RELATIONS) at a time */

    pthread_mutex_t stop_lock; /* stopq[], queries_out; taken before send_lock */
    struct vpci_stopq stopq[VSP_VPCI_SLOTS];
    atomic_uint queries_out; /* queries waiting for an answer (lets the dispatch loop skip expiry) */

    struct {
        atomic_uint_fast64_t requests, refused, config_reads, config_writes;
        atomic_uint_fast64_t mmio_direct, mmio_trapped, mmio_unclaimed, sends_lost, queries_abandoned;
    } st;
};

/* vpci_mmio.c */
int vpci_config_read(struct vsp_vpci_host *h, struct vpci_slot *s, uint32_t off, uint8_t *data, uint32_t len);
int vpci_config_write(struct vsp_vpci_host *h, struct vpci_slot *s, uint32_t off, const uint8_t *data, uint32_t len);
/* The guest address of BAR @bar (low slot of a 64-bit BAR). */
uint64_t vpci_bar_address(const struct vpci_slot *s, unsigned bar);

/* vpci_host.c: log a refused guest action. */
void vpci_guest_error(struct vsp_vpci_host *h, const struct vpci_slot *s, NTSTATUS st, uint64_t detail, const char *fmt,
                      ...) __attribute__((format(printf, 5, 6)));

/* vpci_host.c: one host -> guest message (bounded). */
void vpci_send(struct vsp_vpci_host *h, const struct vpci_msg *m);

/*
 * vpci_stop.c, for the dispatch thread: report the queries whose real-time wait
 * ended (STATUS_IO_TIMEOUT); returns the nanoseconds until the next one ends
 * (INT64_MAX: none waits).
 */
int64_t vpci_stop_expire(struct vsp_vpci_host *h);

/* vpci_stop.c: report every waiting query of @h unanswered with @why (channel gone, host destroyed). */
void vpci_stop_cancel_all(struct vsp_vpci_host *h, NTSTATUS why);

#endif /* PCIVIRT_VSP_VPCI_INTERNAL_H */
