/*
 * tests/vmbus/test_channel.c - rings, transports and channels.
 *
 * What is checked: ring-full behaviour at the exact VMBus cost (16 KiB holds a
 * computable number of packets and refuses the next one, with and without a bounded
 * wait), completion matching by transaction id when answers come back out of order,
 * a single-threaded requester that pumps its own answers while in-band packets
 * pile up in the inbox, rescind waking blocked receivers, requesters and senders
 * on both ends (threads), malformed packets dropped with STATUS_BAD_DATA, and the
 * same packets surviving the socket transport byte for byte, and asynchronous
 * requests (answered once from whoever reads, abandoned ones dropped quietly), and "do not wait"
 * polls of an empty ring or channel that return without sleeping.  Every case runs over both
 * transports where it applies.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "util/le.h"
#include "vmbus/channel.h"
#include "vmbus/ring.h"
#include "vmbus/vpci_chan.h"

#define MS ((int64_t)1000 * 1000)

typedef NTSTATUS (*pair_fn)(struct vmbus_transport **a, struct vmbus_transport **b);

static NTSTATUS
inproc_pair(struct vmbus_transport **a, struct vmbus_transport **b)
{
    return vmbus_inproc_pair_create(VMBUS_RING_SIZE, a, b);
}

static void
channel_pair(pair_fn make, struct vmbus_channel **host, struct vmbus_channel **guest)
{
    struct vmbus_transport *a, *b;

    assert_int_equal(make(&a, &b), STATUS_SUCCESS);
    assert_int_equal(vmbus_channel_create(a, host), STATUS_SUCCESS);
    assert_int_equal(vmbus_channel_create(b, guest), STATUS_SUCCESS);
}

static void
test_ring_full(void **state)
{
    struct vmbus_ring *ring;
    uint8_t pkt[200] = {0}, out[256];
    size_t len, n = 0;

    (void)state;
    assert_int_equal(vmbus_ring_create(VMBUS_RING_SIZE, &ring), STATUS_SUCCESS);
    /* a 200-byte packet costs 200 + 8 trailer = 208 bytes: 16384 / 208 = 78 fit */
    while (vmbus_ring_write(ring, pkt, sizeof(pkt), 0) == STATUS_SUCCESS) {
        n++;
    }
    assert_int_equal(n, 16384 / 208);
    assert_int_equal(vmbus_ring_write(ring, pkt, sizeof(pkt), 0), STATUS_DEVICE_BUSY);
    assert_int_equal(vmbus_ring_write(ring, pkt, sizeof(pkt), 20 * MS), STATUS_DEVICE_BUSY); /* bounded wait */
    /* 16384 - 78 * 208 = 160 bytes left: a 152-byte packet (cost 160) still fits */
    assert_int_equal(vmbus_ring_write(ring, pkt, 152, 0), STATUS_SUCCESS);
    assert_int_equal(vmbus_ring_used(ring), 16384);
    assert_int_equal(vmbus_ring_read(ring, out, 10, &len, 0), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(len, 200);
    assert_int_equal(vmbus_ring_read(ring, out, sizeof(out), &len, 0), STATUS_SUCCESS);
    assert_int_equal(vmbus_ring_write(ring, pkt, sizeof(pkt), 0), STATUS_SUCCESS);
    assert_int_equal(vmbus_ring_write(ring, pkt, VMBUS_RING_SIZE, 0), STATUS_INVALID_BUFFER_SIZE);
    vmbus_ring_close(ring);
    assert_int_equal(vmbus_ring_write(ring, pkt, 8, 0), STATUS_DEVICE_REMOVED);
    assert_int_equal(vmbus_ring_read(ring, out, sizeof(out), &len, 0), STATUS_DEVICE_REMOVED);
    vmbus_ring_destroy(ring);
}

static void
ring_wraps_one(void)
{
    struct vmbus_ring *ring;
    uint8_t in[300], out[300];
    size_t len;

    assert_int_equal(vmbus_ring_create(1024, &ring), STATUS_SUCCESS);
    for (unsigned round = 0; round < 50; round++) {
        size_t n = 1 + (round * 37) % 300;

        for (size_t i = 0; i < n; i++) {
            in[i] = (uint8_t)(round + i);
        }
        assert_int_equal(vmbus_ring_write(ring, in, n, 0), STATUS_SUCCESS);
        assert_int_equal(vmbus_ring_read(ring, out, sizeof(out), &len, 0), STATUS_SUCCESS);
        assert_int_equal(len, n);
        assert_memory_equal(in, out, n);
    }
    vmbus_ring_destroy(ring);
}

static void
test_ring_wraps(void **state)
{
    (void)state;
    ring_wraps_one();
}

static void
send_full(pair_fn make, bool exact)
{
    struct vmbus_channel *host, *guest;
    uint8_t payload[184] = {0};
    unsigned n = 0;
    NTSTATUS st;

    channel_pair(make, &host, &guest);
    le32_put(payload, PCI_EJECT);
    while ((st = vmbus_channel_send(host, payload, sizeof(payload), 0)) == STATUS_SUCCESS) {
        n++;
        assert_true(n < 100000);
    }
    assert_int_equal(st, STATUS_DEVICE_BUSY);
    if (exact) {
        /* framed 16 + 184 = 200, + 8 trailer: 78 packets in a 16 KiB ring */
        assert_int_equal(n, 78);
    }
    assert_int_equal(vmbus_channel_send(host, payload, sizeof(payload), 10 * MS), STATUS_DEVICE_BUSY);
    vmbus_channel_destroy(guest);
    vmbus_channel_destroy(host);
}

static void
test_send_full(void **state)
{
    (void)state;
    send_full(inproc_pair, true);
    send_full(vmbus_socket_pair_create, false);
}

/* The host answers requests in reverse order; each requester must get its own answer. */
struct answerer {
    struct vmbus_channel *ch;
    unsigned count;
};

static void *
answer_reversed(void *arg)
{
    struct answerer *a = arg;
    struct vmbus_packet_buf *rx = test_malloc(sizeof(*rx) * a->count);
    uint8_t reply[8];

    for (unsigned i = 0; i < a->count; i++) {
        assert_int_equal(vmbus_channel_recv(a->ch, &rx[i], NULL, 2000 * MS), STATUS_SUCCESS);
        assert_true(rx[i].pkt.flags & VMBUS_PKT_FLAG_COMPLETION_REQUESTED);
    }
    for (unsigned i = a->count; i-- > 0;) {
        le32_put(reply, 0);
        memcpy(reply + 4, rx[i].pkt.payload + 4, 4); /* echo the requester's token */
        assert_int_equal(vmbus_channel_send_completion(a->ch, rx[i].pkt.trans_id, reply, 8, 100 * MS), STATUS_SUCCESS);
    }
    test_free(rx);
    return NULL;
}

struct requester {
    struct vmbus_channel *ch;
    uint32_t token;
    NTSTATUS st;
    uint32_t echoed;
};

static void *
request_token(void *arg)
{
    struct requester *r = arg;
    uint8_t msg[8], reply[16];
    size_t len = 0;

    le32_put(msg, PCI_QUERY_PROTOCOL_VERSION);
    le32_put(msg + 4, r->token);
    r->st = vmbus_channel_request(r->ch, msg, sizeof(msg), reply, sizeof(reply), &len, 2000 * MS);
    r->echoed = len >= 8 ? le32_get(reply + 4) : 0;
    return NULL;
}

static void
matching(pair_fn make)
{
    enum { N = 8 };
    struct vmbus_channel *host, *guest;
    struct answerer a;
    struct requester r[N];
    pthread_t t_host, t_req[N];

    channel_pair(make, &host, &guest);
    a.ch = host;
    a.count = N;
    assert_int_equal(pthread_create(&t_host, NULL, answer_reversed, &a), 0);
    for (unsigned i = 0; i < N; i++) {
        r[i] = (struct requester){.ch = guest, .token = 0x1000 + i};
        assert_int_equal(pthread_create(&t_req[i], NULL, request_token, &r[i]), 0);
    }
    for (unsigned i = 0; i < N; i++) {
        pthread_join(t_req[i], NULL);
        assert_int_equal(r[i].st, STATUS_SUCCESS);
        assert_int_equal(r[i].echoed, r[i].token);
    }
    pthread_join(t_host, NULL);
    vmbus_channel_destroy(guest);
    vmbus_channel_destroy(host);
}

static void
test_transaction_matching(void **state)
{
    (void)state;
    matching(inproc_pair);
    matching(vmbus_socket_pair_create);
}

/* A requester with nobody else reading: in-band packets queued before the answer must survive. */
static void
self_pump(pair_fn make)
{
    struct vmbus_channel *host, *guest;
    struct vpci_msg req, inv;
    struct vpci_reply rep;
    struct vpci_rx *rx = test_malloc(sizeof(*rx));
    uint8_t reply[16];
    size_t len;

    channel_pair(make, &host, &guest);
    memset(&inv, 0, sizeof(inv));
    inv.type = PCI_INVALIDATE_BLOCK;
    inv.slot = 1;
    for (unsigned i = 0; i < 3; i++) {
        inv.u.block_mask = 1ull << i;
        assert_int_equal(vpci_chan_send(host, &inv, 0), STATUS_SUCCESS);
    }
    /* The host has not answered yet: the request times out, but the packets stay queued. */
    memset(&req, 0, sizeof(req));
    req.type = PCI_QUERY_PROTOCOL_VERSION;
    req.u.version = PCI_PROTOCOL_VERSION_1_4;
    assert_int_equal(vpci_chan_request(guest, &req, &rep, NULL, 20 * MS), STATUS_IO_TIMEOUT);
    /* The host now answers the (timed-out) request: it must be dropped as unmatched. */
    assert_int_equal(vpci_chan_recv(host, VPCI_GUEST_TO_HOST, VPCI_VERSION_ANY, rx, NULL, 100 * MS), STATUS_SUCCESS);
    assert_int_equal(rx->msg.u.version, PCI_PROTOCOL_VERSION_1_4);
    assert_int_equal(vpci_chan_reply_status(host, rx->trans_id, STATUS_SUCCESS, 0), STATUS_SUCCESS);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(vpci_chan_recv(guest, VPCI_HOST_TO_GUEST, VPCI_VERSION_ANY, rx, NULL, 100 * MS),
                         STATUS_SUCCESS);
        assert_int_equal(rx->msg.type, PCI_INVALIDATE_BLOCK);
        assert_true(rx->msg.u.block_mask == 1ull << i);
    }
    (void)reply;
    (void)len;
    assert_int_equal(vpci_chan_recv(guest, VPCI_HOST_TO_GUEST, VPCI_VERSION_ANY, rx, NULL, 20 * MS),
                     STATUS_BAD_DATA); /* the late completion */
    {
        struct vmbus_channel_stats stats;

        vmbus_channel_get_stats(guest, &stats);
        assert_int_equal(stats.unmatched, 1);
    }
    test_free(rx);
    vmbus_channel_destroy(guest);
    vmbus_channel_destroy(host);
}

static void
test_request_pumps_itself(void **state)
{
    (void)state;
    self_pump(inproc_pair);
    self_pump(vmbus_socket_pair_create);
}

/* ---- rescind ---- */

struct waiter {
    struct vmbus_channel *ch;
    int kind; /* 0 recv, 1 request, 2 send into a full ring */
    NTSTATUS st;
};

static void *
wait_forever_ish(void *arg)
{
    struct waiter *w = arg;
    struct vmbus_packet_buf *rx = test_malloc(sizeof(*rx));
    uint8_t msg[8] = {0}, reply[16];
    size_t len;

    le32_put(msg, PCI_BUS_D0EXIT);
    if (w->kind == 0) {
        do { /* the peer's requests and sends arrive here too; keep reading */
            w->st = vmbus_channel_recv(w->ch, rx, NULL, 10000 * MS);
        } while (w->st == STATUS_SUCCESS);
    } else if (w->kind == 1) {
        w->st = vmbus_channel_request(w->ch, msg, 4, reply, sizeof(reply), &len, 10000 * MS);
    } else {
        do {
            w->st = vmbus_channel_send(w->ch, msg, 8, 10000 * MS);
        } while (w->st == STATUS_SUCCESS);
    }
    test_free(rx);
    return NULL;
}

static void
rescind_wakes(pair_fn make, bool rescind_host)
{
    enum { N = 6 };
    struct vmbus_channel *host, *guest;
    struct waiter w[N];
    pthread_t t[N];
    struct timespec pause = {0, 50 * MS};

    channel_pair(make, &host, &guest);
    for (unsigned i = 0; i < N; i++) {
        w[i] = (struct waiter){.ch = i % 2 ? guest : host, .kind = (int)(i / 2), .st = STATUS_PENDING};
        assert_int_equal(pthread_create(&t[i], NULL, wait_forever_ish, &w[i]), 0);
    }
    nanosleep(&pause, NULL);
    vmbus_channel_rescind(rescind_host ? host : guest);
    for (unsigned i = 0; i < N; i++) {
        pthread_join(t[i], NULL); /* would hang 10 s per waiter if rescind did not wake it */
        assert_int_equal(w[i].st, STATUS_DEVICE_REMOVED);
    }
    assert_true(vmbus_channel_gone(rescind_host ? host : guest));
    {
        struct vmbus_packet_buf *rx = test_malloc(sizeof(*rx));

        assert_int_equal(vmbus_channel_recv(guest, rx, NULL, 0), STATUS_DEVICE_REMOVED);
        assert_int_equal(vmbus_channel_recv(host, rx, NULL, 0), STATUS_DEVICE_REMOVED);
        test_free(rx);
    }
    vmbus_channel_destroy(guest);
    vmbus_channel_destroy(host);
}

static void
test_rescind_wakes_waiters(void **state)
{
    struct timespec t0, t1;

    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rescind_wakes(inproc_pair, true);
    rescind_wakes(inproc_pair, false);
    rescind_wakes(vmbus_socket_pair_create, true);
    rescind_wakes(vmbus_socket_pair_create, false);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 5); /* nobody sat out a 10 s timeout */
}

/* ---- malformed packets through a channel ---- */

static void
malformed_dropped(pair_fn make)
{
    struct vmbus_transport *a, *b;
    struct vmbus_channel *guest;
    struct vmbus_packet_buf *rx = test_malloc(sizeof(*rx));
    uint8_t raw[64] = {0};
    const char *reason = NULL;
    struct vmbus_channel_stats stats;

    assert_int_equal(make(&a, &b), STATUS_SUCCESS);
    assert_int_equal(vmbus_channel_create(b, &guest), STATUS_SUCCESS);
    /* raw bytes straight into the transport: a hostile peer does not use our framer */
    le16_put(raw + 0, 6);
    le16_put(raw + 2, 2);
    le16_put(raw + 4, 8); /* claims 64 bytes */
    assert_int_equal(vmbus_transport_send(a, raw, 24, 0), STATUS_SUCCESS);
    le16_put(raw + 4, 3);
    le16_put(raw + 0, 9); /* unknown type */
    assert_int_equal(vmbus_transport_send(a, raw, 24, 0), STATUS_SUCCESS);
    assert_int_equal(vmbus_transport_send(a, raw, 13, 0), STATUS_SUCCESS);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(vmbus_channel_recv(guest, rx, &reason, 100 * MS), STATUS_BAD_DATA);
        assert_non_null(reason);
    }
    vmbus_channel_get_stats(guest, &stats);
    assert_int_equal(stats.malformed, 3);
    /* a well-formed packet after the garbage still arrives */
    le16_put(raw + 0, 6);
    le32_put(raw + 16, PCI_EJECT);
    assert_int_equal(vmbus_transport_send(a, raw, 24, 0), STATUS_SUCCESS);
    assert_int_equal(vmbus_channel_recv(guest, rx, &reason, 100 * MS), STATUS_SUCCESS);
    assert_int_equal(le32_get(rx->pkt.payload), PCI_EJECT);
    test_free(rx);
    vmbus_channel_destroy(guest);
    vmbus_transport_destroy(a);
}

static void
test_malformed_dropped(void **state)
{
    (void)state;
    malformed_dropped(inproc_pair);
    malformed_dropped(vmbus_socket_pair_create);
}

/* The same packets, byte for byte, through both transports. */
static void
test_socket_carries_same_packets(void **state)
{
    pair_fn makers[2] = {inproc_pair, vmbus_socket_pair_create};
    uint8_t seen[2][8][80];
    size_t seen_len[2][8];

    (void)state;
    for (unsigned t = 0; t < 2; t++) {
        struct vmbus_channel *host, *guest;
        struct vpci_rx *rx = test_malloc(sizeof(*rx));
        struct vpci_msg m;

        channel_pair(makers[t], &host, &guest);
        for (unsigned i = 0; i < 8; i++) {
            memset(&m, 0, sizeof(m));
            m.type = PCI_WRITE_BLOCK;
            m.slot = i;
            m.u.block.block_id = i * 3;
            m.u.block.byte_count = 1 + i * 5;
            memset(m.u.block.data, 0xA0 + (int)i, m.u.block.byte_count);
            assert_int_equal(vpci_chan_send(guest, &m, 0), STATUS_SUCCESS);
        }
        for (unsigned i = 0; i < 8; i++) {
            assert_int_equal(vpci_chan_recv(host, VPCI_GUEST_TO_HOST, PCI_PROTOCOL_VERSION_1_4, rx, NULL, 100 * MS),
                             STATUS_SUCCESS);
            assert_int_equal(rx->msg.slot, i);
            assert_int_equal(rx->msg.u.block.byte_count, 1 + i * 5);
            assert_int_equal(rx->msg.u.block.data[0], 0xA0 + i);
            assert_true(rx->buf.len <= sizeof(seen[t][i]));
            memcpy(seen[t][i], rx->buf.data, rx->buf.len);
            seen_len[t][i] = rx->buf.len;
        }
        test_free(rx);
        vmbus_channel_destroy(guest);
        vmbus_channel_destroy(host);
    }
    for (unsigned i = 0; i < 8; i++) {
        assert_int_equal(seen_len[0][i], seen_len[1][i]);
        assert_memory_equal(seen[0][i], seen[1][i], seen_len[0][i]);
    }
}

/* End to end: a typed request and reply, and a host that rejects a bad message. */
static void *
tiny_host(void *arg)
{
    struct vmbus_channel *host = arg;
    struct vpci_rx *rx = test_malloc(sizeof(*rx));

    for (unsigned i = 0; i < 2; i++) {
        NTSTATUS st = vpci_chan_recv(host, VPCI_GUEST_TO_HOST, VPCI_VERSION_ANY, rx, NULL, 2000 * MS);

        if (st == STATUS_SUCCESS && rx->msg.type == PCI_READ_BLOCK) {
            struct vpci_reply r = {.request_type = PCI_READ_BLOCK, .status = STATUS_SUCCESS};

            r.u.read_block.byte_count = rx->msg.u.block.byte_count;
            memset(r.u.read_block.data, (int)rx->msg.u.block.block_id, r.u.read_block.byte_count);
            assert_int_equal(vpci_chan_reply(host, rx->trans_id, &r, 100 * MS), STATUS_SUCCESS);
        } else {
            assert_int_equal(st, STATUS_BAD_DATA);
            assert_true(rx->wants_reply);
            assert_int_equal(vpci_chan_reply_status(host, rx->trans_id, st, 100 * MS), STATUS_SUCCESS);
        }
    }
    test_free(rx);
    return NULL;
}

static void
test_typed_request_reply(void **state)
{
    struct vmbus_channel *host, *guest;
    struct vpci_msg req;
    struct vpci_reply rep;
    pthread_t t;
    uint8_t raw[16], reply[16];
    size_t len;

    (void)state;
    channel_pair(inproc_pair, &host, &guest);
    assert_int_equal(pthread_create(&t, NULL, tiny_host, host), 0);
    memset(&req, 0, sizeof(req));
    req.type = PCI_READ_BLOCK;
    req.u.block.block_id = 0x5A;
    req.u.block.byte_count = 128;
    assert_int_equal(vpci_chan_request(guest, &req, &rep, NULL, 2000 * MS), STATUS_SUCCESS);
    assert_int_equal(rep.status, STATUS_SUCCESS);
    assert_int_equal(rep.u.read_block.byte_count, 128);
    assert_int_equal(rep.u.read_block.data[127], 0x5A);
    /* a read block of 129 bytes, sent raw: the host answers STATUS_BAD_DATA */
    le32_put(raw, PCI_READ_BLOCK);
    le32_put(raw + 4, 0);
    le32_put(raw + 8, 0);
    le32_put(raw + 12, 129);
    assert_int_equal(vmbus_channel_request(guest, raw, 16, reply, sizeof(reply), &len, 2000 * MS), STATUS_SUCCESS);
    assert_int_equal((int32_t)le32_get(reply), STATUS_BAD_DATA);
    pthread_join(t, NULL);
    vmbus_channel_destroy(guest);
    vmbus_channel_destroy(host);
}

/* Answers of asynchronous requests, as the callback saw them. */
struct async_seen {
    unsigned calls;
    uint64_t id;
    NTSTATUS status;
    uint32_t word; /* first payload word */
    size_t len;
};

static void
async_answer(void *ctx, uint64_t id, NTSTATUS status, uint8_t *reply, size_t len)
{
    struct async_seen *a = ctx;

    a->calls++;
    a->id = id;
    a->status = status;
    a->len = len;
    a->word = len >= 4 ? le32_get(reply) : 0;
}

/* The peer's next request: its transaction id. */
static uint64_t
next_request(struct vmbus_channel *ch)
{
    struct vmbus_packet_buf *rx = test_malloc(sizeof(*rx));
    uint64_t id;

    assert_int_equal(vmbus_channel_recv(ch, rx, NULL, 1000 * MS), STATUS_SUCCESS);
    assert_true((rx->pkt.flags & VMBUS_PKT_FLAG_COMPLETION_REQUESTED) != 0);
    id = rx->pkt.trans_id;
    test_free(rx);
    return id;
}

static void
complete_with(struct vmbus_channel *ch, uint64_t id, uint32_t word)
{
    uint8_t buf[8] = {0};

    le32_put(buf, word);
    assert_int_equal(vmbus_channel_send_completion(ch, id, buf, sizeof(buf), 0), STATUS_SUCCESS);
}

/*
 * Asynchronous requests: the answer reaches the callback from whoever reads the
 * channel, exactly once; an abandoned request's answer is dropped quietly (not
 * unmatched); abandoned slots are taken back when the table is full; a gone
 * channel refuses at once and never calls back.
 */
static void
async_requests(pair_fn make)
{
    struct vmbus_channel *host, *guest;
    struct vmbus_channel_stats stats;
    struct vmbus_packet_buf *rx = test_malloc(sizeof(*rx));
    struct async_seen a = {0}, b = {0};
    uint8_t ra[16], rb[16], msg[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint64_t ida, idb, id;

    channel_pair(make, &host, &guest);
    assert_int_equal(vmbus_channel_request_async(host, msg, sizeof(msg), ra, sizeof(ra), async_answer, &a, 0, &ida),
                     STATUS_SUCCESS);
    assert_int_equal(vmbus_channel_request_async(host, msg, sizeof(msg), rb, sizeof(rb), async_answer, &b, 0, &idb),
                     STATUS_SUCCESS);
    assert_int_not_equal(ida, idb);
    assert_int_equal(next_request(guest), ida);
    assert_int_equal(next_request(guest), idb);
    assert_int_equal(a.calls + b.calls, 0); /* nothing answered, nothing reported */

    /* b is given up; then both are answered (b first); the host's reader hands a over once. */
    assert_true(vmbus_channel_abandon(host, idb));
    assert_false(vmbus_channel_abandon(host, idb)); /* once */
    complete_with(guest, idb, 0xBBBB);
    complete_with(guest, ida, 0xAAAA);
    assert_int_equal(vmbus_channel_recv(host, rx, NULL, 50 * MS), STATUS_IO_TIMEOUT); /* both taken, none in-band */
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.id, ida);
    assert_int_equal(a.status, STATUS_SUCCESS);
    assert_int_equal(a.word, 0xAAAA);
    assert_int_equal(a.len, 8);
    assert_int_equal(b.calls, 0);
    assert_false(vmbus_channel_abandon(host, ida)); /* already answered */
    vmbus_channel_get_stats(host, &stats);
    assert_int_equal(stats.abandoned_answers, 1);
    assert_int_equal(stats.unmatched, 0);

    /* A peer that never answers cannot use the table up: abandoned slots are reused. */
    for (unsigned i = 0; i < 3 * VMBUS_CHANNEL_MAX_PENDING; i++) {
        assert_int_equal(vmbus_channel_request_async(host, msg, sizeof(msg), rb, sizeof(rb), async_answer, &b, 0, &id),
                         STATUS_SUCCESS);
        assert_true(vmbus_channel_abandon(host, id));
        assert_int_equal(next_request(guest), id);
    }
    /* ...while requests still waiting are never taken back: the table fills. */
    for (unsigned i = 0; i < VMBUS_CHANNEL_MAX_PENDING; i++) {
        assert_int_equal(vmbus_channel_request_async(host, msg, sizeof(msg), rb, sizeof(rb), async_answer, &b, 0, &id),
                         STATUS_SUCCESS);
        assert_int_equal(next_request(guest), id);
    }
    assert_int_equal(vmbus_channel_request_async(host, msg, sizeof(msg), rb, sizeof(rb), async_answer, &b, 0, &id),
                     STATUS_DEVICE_BUSY);
    assert_int_equal(b.calls, 0);

    /* Gone: refused at once; what waited is never called back. */
    vmbus_channel_rescind(guest);
    assert_int_equal(vmbus_channel_recv(host, rx, NULL, 200 * MS), STATUS_DEVICE_REMOVED);
    assert_int_equal(vmbus_channel_request_async(host, msg, sizeof(msg), rb, sizeof(rb), async_answer, &b, 0, &id),
                     STATUS_DEVICE_REMOVED);
    assert_int_equal(b.calls, 0);
    assert_int_equal(vmbus_channel_request_async(host, msg, sizeof(msg), rb, sizeof(rb), NULL, &b, 0, &id),
                     STATUS_INVALID_PARAMETER);
    test_free(rx);
    vmbus_channel_destroy(guest);
    vmbus_channel_destroy(host);
}

static void
test_async_requests(void **state)
{
    (void)state;
    async_requests(inproc_pair);
    async_requests(vmbus_socket_pair_create);
}

/* Voluntary context switches of the calling thread so far. */
static long
own_switches(void)
{
    struct rusage ru;

    assert_int_equal(getrusage(RUSAGE_THREAD, &ru), 0);
    return ru.ru_nvcsw;
}

#define EMPTY_POLLS 1000

/*
 * A "do not wait" (timeout 0) read of an empty ring or channel, and a write to a
 * full ring, return at once without putting the thread to sleep: a timed wait
 * whose deadline has passed still sleeps until a timer interrupt (a context
 * switch and ~50 us of timer slack per empty poll; a guest's poll loop ends with
 * one after every message).  Nothing else runs here, so each such sleep is a
 * voluntary switch of this thread; the bound leaves room for a stray page fault.
 */
static void
empty_polls(pair_fn make)
{
    struct vmbus_channel *host, *guest;
    struct vmbus_packet_buf *rx = test_malloc(sizeof(*rx));
    struct vmbus_ring *ring;
    uint8_t pkt[200] = {0}, out[256];
    size_t len;
    long before;

    assert_int_equal(vmbus_ring_create(VMBUS_RING_SIZE, &ring), STATUS_SUCCESS);
    before = own_switches();
    for (unsigned i = 0; i < EMPTY_POLLS; i++) {
        assert_int_equal(vmbus_ring_read(ring, out, sizeof(out), &len, 0), STATUS_IO_TIMEOUT);
    }
    while (vmbus_ring_write(ring, pkt, sizeof(pkt), 0) == STATUS_SUCCESS) {
    }
    for (unsigned i = 0; i < EMPTY_POLLS; i++) {
        assert_int_equal(vmbus_ring_write(ring, pkt, sizeof(pkt), 0), STATUS_DEVICE_BUSY);
    }
    assert_true(own_switches() - before < 20);
    vmbus_ring_destroy(ring);

    channel_pair(make, &host, &guest);
    before = own_switches();
    for (unsigned i = 0; i < EMPTY_POLLS; i++) {
        assert_int_equal(vmbus_channel_recv(guest, rx, NULL, 0), STATUS_IO_TIMEOUT);
    }
    assert_true(own_switches() - before < 20);
    test_free(rx);
    vmbus_channel_destroy(guest);
    vmbus_channel_destroy(host);
}

static void
test_empty_polls_do_not_sleep(void **state)
{
    (void)state;
    empty_polls(inproc_pair);
    empty_polls(vmbus_socket_pair_create);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_full),
        cmocka_unit_test(test_ring_wraps),
        cmocka_unit_test(test_send_full),
        cmocka_unit_test(test_transaction_matching),
        cmocka_unit_test(test_request_pumps_itself),
        cmocka_unit_test(test_rescind_wakes_waiters),
        cmocka_unit_test(test_malformed_dropped),
        cmocka_unit_test(test_socket_carries_same_packets),
        cmocka_unit_test(test_typed_request_reply),
        cmocka_unit_test(test_async_requests),
        cmocka_unit_test(test_empty_polls_do_not_sleep),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
