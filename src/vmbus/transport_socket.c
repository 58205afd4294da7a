/*
 * vmbus/transport_socket.c - the socket transport: one packet per SOCK_SEQPACKET message.
 *
 * AF_UNIX SOCK_SEQPACKET keeps message boundaries and delivers each message whole,
 * so a packet crosses as exactly the bytes sent and the receiver's framing checks
 * see the true length, as with the in-process rings.  All I/O is non-blocking and
 * waits go through ppoll() with the caller's remaining time, so no call waits
 * longer than its timeout.  close is shutdown(SHUT_RDWR): it wakes this end's
 * pollers and the peer's (which then read end-of-file), and the descriptor itself
 * stays open until destroy so that it can never be reused under a waiting thread.
 *
 * Capacity is the kernel's socket buffer rather than 16 KiB; "full" is still
 * reported as STATUS_DEVICE_BUSY once the timeout passes.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pcivirt/vpci_proto.h"
#include "util/alloc.h"
#include "util/cond.h"
#include "vmbus/transport.h"

struct socket_end {
    struct vmbus_transport base;
    int fd;
    atomic_bool closed;
};

static struct socket_end *
to_end(struct vmbus_transport *t)
{
    return (struct socket_end *)t;
}

/* Wait for @events until @deadline; returns the revents, 0 on timeout. */
static short
wait_fd(int fd, short events, const struct timespec *deadline)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    int64_t left;
    struct timespec ts;
    int rc;

    do {
        left = pv_remaining_ns(deadline);
        ts.tv_sec = (time_t)(left / 1000000000);
        ts.tv_nsec = (long)(left % 1000000000);
        rc = ppoll(&pfd, 1, &ts, NULL);
    } while (rc < 0 && errno == EINTR);
    return rc > 0 ? pfd.revents : 0;
}

static NTSTATUS
socket_send(struct vmbus_transport *t, const uint8_t *pkt, size_t len, int64_t timeout_ns)
{
    struct socket_end *end = to_end(t);
    struct timespec deadline = pv_deadline_ns(timeout_ns);

    if (len == 0 || pkt == NULL || len > VMBUS_PKT_MAX) {
        return STATUS_INVALID_BUFFER_SIZE;
    }
    for (;;) {
        ssize_t n;

        if (atomic_load(&end->closed)) {
            return STATUS_DEVICE_REMOVED;
        }
        n = send(end->fd, pkt, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n == (ssize_t)len) {
            return STATUS_SUCCESS;
        }
        if (n >= 0 || errno == EMSGSIZE) {
            return STATUS_INVALID_BUFFER_SIZE;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return STATUS_DEVICE_REMOVED; /* EPIPE, ECONNRESET: the peer is gone */
        }
        if (pv_remaining_ns(&deadline) == 0) {
            return STATUS_DEVICE_BUSY;
        }
        if ((wait_fd(end->fd, POLLOUT, &deadline) & (POLLHUP | POLLERR)) != 0) {
            return STATUS_DEVICE_REMOVED;
        }
    }
}

static NTSTATUS
socket_recv(struct vmbus_transport *t, uint8_t *buf, size_t cap, size_t *len, int64_t timeout_ns)
{
    struct socket_end *end = to_end(t);
    struct timespec deadline = pv_deadline_ns(timeout_ns);
    short revents;
    ssize_t n;

    *len = 0;
    if (atomic_load(&end->closed)) {
        return STATUS_DEVICE_REMOVED;
    }
    revents = wait_fd(end->fd, POLLIN, &deadline);
    if (atomic_load(&end->closed)) {
        return STATUS_DEVICE_REMOVED;
    }
    if (revents == 0) {
        return STATUS_IO_TIMEOUT;
    }
    n = recv(end->fd, buf, cap, MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC);
    if (n < 0) {
        return errno == EAGAIN || errno == EINTR ? STATUS_IO_TIMEOUT : STATUS_DEVICE_REMOVED;
    }
    if (n == 0 && (revents & POLLHUP) != 0) {
        return STATUS_DEVICE_REMOVED; /* end of file: the peer closed */
    }
    *len = (size_t)n;
    if ((size_t)n > VMBUS_PKT_MAX) {
        (void)recv(end->fd, NULL, 0, MSG_DONTWAIT); /* a zero-length read discards the message */
        return STATUS_BAD_DATA;
    }
    if ((size_t)n > cap || buf == NULL) {
        return STATUS_BUFFER_TOO_SMALL;
    }
    n = recv(end->fd, buf, cap, MSG_DONTWAIT);
    if (n < 0) {
        return STATUS_DEVICE_REMOVED;
    }
    *len = (size_t)n;
    return STATUS_SUCCESS;
}

static void
socket_close(struct vmbus_transport *t)
{
    struct socket_end *end = to_end(t);

    atomic_store(&end->closed, true);
    shutdown(end->fd, SHUT_RDWR);
}

static void
socket_destroy(struct vmbus_transport *t)
{
    struct socket_end *end = to_end(t);

    socket_close(t);
    close(end->fd);
    pv_free(end);
}

static const struct vmbus_transport_ops socket_ops = {
    .size = sizeof(struct vmbus_transport_ops),
    .version = VMBUS_TRANSPORT_OPS_VERSION,
    .send = socket_send,
    .recv = socket_recv,
    .close = socket_close,
    .destroy = socket_destroy,
};

NTSTATUS
vmbus_socket_transport_create(int fd, struct vmbus_transport **out)
{
    struct socket_end *end;
    int type = 0;
    socklen_t optlen = sizeof(type);

    *out = NULL;
    if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &optlen) != 0 || type != SOCK_SEQPACKET) {
        return STATUS_INVALID_PARAMETER;
    }
    end = pv_calloc(1, sizeof(*end));
    if (end == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    end->base.ops = &socket_ops;
    end->fd = fd;
    atomic_init(&end->closed, false);
    *out = &end->base;
    return STATUS_SUCCESS;
}

NTSTATUS
vmbus_socket_pair_create(struct vmbus_transport **a, struct vmbus_transport **b)
{
    int fds[2];
    NTSTATUS st;

    *a = *b = NULL;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    st = vmbus_socket_transport_create(fds[0], a);
    if (st != STATUS_SUCCESS) {
        goto close_fds;
    }
    st = vmbus_socket_transport_create(fds[1], b);
    if (st != STATUS_SUCCESS) {
        goto destroy_a;
    }
    return STATUS_SUCCESS;

destroy_a:
    vmbus_transport_destroy(*a); /* closes fds[0] */
    *a = NULL;
    close(fds[1]);
    return st;
close_fds:
    close(fds[0]);
    close(fds[1]);
    return st;
}
