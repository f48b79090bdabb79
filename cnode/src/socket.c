/*
 * socket.c: the worker's ZeroMQ side. A ROUTER bound on ipc or tcp (the owner's DEALER connects
 * to it; over tcp it may be a CurveZMQ server, curve.c), and a monitor on it that tells when the
 * owner's connection closes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "node.h"

/* Says why cnode_init failed, with ZeroMQ's reason for errno; returns -1 with errno kept. */
int cnode_init_fail(const char *what)
{
    int err = errno;
    fprintf(stderr, "cnode_init: %s: %s\n", what, zmq_strerror(err));
    errno = err;
    return -1;
}

int cnode_socket_open(cnode_t *n)
{
    int zero = 0, one = 1;
    char address[4200], monitor[64];

    if ((n->ctx = zmq_ctx_new()) == NULL) return cnode_init_fail("zmq_ctx_new");
    if ((n->router = zmq_socket(n->ctx, ZMQ_ROUTER)) == NULL) return cnode_init_fail("zmq_socket");
    /* Linger 0: nothing queued for a vanished owner may hold up the exit (cnode_socket_close
       raises it while the owner is connected). Mandatory: a send to
       a routing id that is gone fails (EHOSTUNREACH) instead of being dropped silently, which
       is how run.c learns the owner is gone. */
    if (zmq_setsockopt(n->router, ZMQ_LINGER, &zero, sizeof zero) < 0
        || zmq_setsockopt(n->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) < 0)
        return cnode_init_fail("zmq_setsockopt");
    /* The owner's limit, before anyone connects: libzmq drops a connection that sends a bigger
       frame instead of reading it into memory. */
    int64_t max = n->args.max_message_size;
    if (zmq_setsockopt(n->router, ZMQ_MAXMSGSIZE, &max, sizeof max) < 0)
        return cnode_init_fail("ZMQ_MAXMSGSIZE");

    snprintf(monitor, sizeof monitor, "inproc://cnode-monitor-%p", (void *)n);
    if (zmq_socket_monitor(n->router, monitor, ZMQ_EVENT_DISCONNECTED) < 0)
        return cnode_init_fail("zmq_socket_monitor");
    if ((n->monitor = zmq_socket(n->ctx, ZMQ_PAIR)) == NULL
        || zmq_setsockopt(n->monitor, ZMQ_LINGER, &zero, sizeof zero) < 0
        || zmq_connect(n->monitor, monitor) < 0)
        return cnode_init_fail("monitor socket");

    if (cnode_curve_open(n) < 0) return -1;

    if (n->args.tcp) snprintf(address, sizeof address, "tcp://127.0.0.1:*");
    else snprintf(address, sizeof address, "ipc://%s/socket", n->args.ipc_dir);
    if (zmq_bind(n->router, address) < 0) {
        int err = errno;
        fprintf(stderr, "cnode_init: cannot bind %s: %s\n", address, zmq_strerror(err));
        errno = err;
        return -1;
    }
    /* For tcp the port is the system's choice; for ipc this is the address itself. */
    size_t len = sizeof n->endpoint;
    if (zmq_getsockopt(n->router, ZMQ_LAST_ENDPOINT, n->endpoint, &len) < 0)
        return cnode_init_fail("ZMQ_LAST_ENDPOINT");
    return 0;
}

void cnode_socket_remove_ipc(cnode_t *n)
{
    /* libzmq 4.3 leaves the socket file of a bound ipc endpoint on disk, even after close. */
    if (n->args.tcp || n->ipc_cleaned || n->args.ipc_dir == NULL) return;
    char path[4200];
    snprintf(path, sizeof path, "%s/socket", n->args.ipc_dir);
    unlink(path);
    rmdir(n->args.ipc_dir);
    n->ipc_cleaned = 1;
}

/* How long closing may wait to deliver what is still queued for a connected owner. */
#define CNODE_FLUSH_MS 1000

void cnode_socket_close(cnode_t *n)
{
    /* Linger 0 would drop replies sent just before a stop (the answer to the calls that came
       before it). While the owner is connected, give them a bounded time to leave. */
    int flush = CNODE_FLUSH_MS;
    if (n->router && n->has_owner && !n->owner_gone)
        zmq_setsockopt(n->router, ZMQ_LINGER, &flush, sizeof flush);
    if (n->router) zmq_socket_monitor(n->router, NULL, 0);
    cnode_curve_close(n);
    if (n->monitor) zmq_close(n->monitor);
    if (n->router) zmq_close(n->router);
    if (n->ctx) zmq_ctx_term(n->ctx);
    n->monitor = n->router = n->ctx = NULL;
}

static void s_free(void *data, void *hint)
{
    (void)hint;
    free(data);
}

int cnode_socket_send(cnode_t *n, const void *id, size_t id_len, msgpack_sbuffer *buf,
                      zmq_msg_t *sides, size_t nsides)
{
    size_t sent = 0;
    int rc = -1;
    /* The owner's DEALER would drop the whole connection on a bigger frame. */
    if (buf->size > (uint64_t)n->args.max_message_size) {
        errno = EMSGSIZE;
        goto done;
    }
    /* The packed bytes become the message as they are: ZeroMQ frees them when it is done. */
    size_t size = buf->size;
    char *data = msgpack_sbuffer_release(buf);
    zmq_msg_t msg;
    if (zmq_msg_init_data(&msg, data, size, s_free, NULL) < 0) {
        free(data);
        goto done;
    }
    do rc = zmq_send(n->router, id, id_len, ZMQ_SNDMORE);
    while (rc < 0 && errno == EINTR);
    if (rc >= 0) {
        do rc = zmq_msg_send(&msg, n->router, nsides > 0 ? ZMQ_SNDMORE : 0);
        while (rc < 0 && errno == EINTR);
    }
    if (rc < 0) {
        int err = errno;
        zmq_msg_close(&msg);
        errno = err;
        goto done;
    }
    /* A ROUTER queues a message's parts together: once the first is taken, so are the rest. */
    for (; sent < nsides; sent++) {
        do rc = zmq_msg_send(&sides[sent], n->router, sent + 1 < nsides ? ZMQ_SNDMORE : 0);
        while (rc < 0 && errno == EINTR);
        if (rc < 0) break; /* this part is still ours: closed below with the rest */
    }
done:;
    int err = errno;
    for (size_t i = sent; i < nsides; i++) zmq_msg_close(&sides[i]);
    errno = err;
    return rc < 0 ? -1 : 0;
}

int cnode_socket_owner_closed(cnode_t *n)
{
    /* libzmq 4.3 monitor events are two frames: 6 bytes (uint16 event, uint32 value, host byte
       order; the value of DISCONNECTED is the connection's fd), then the endpoint. */
    int closed = 0, first = 1, events;
    size_t size = sizeof events;
    /* run.c polls the monitor's ZMQ_FD as a plain descriptor, which stays readable until the
       socket's commands are processed: ZMQ_EVENTS does that unthrottled, where a non-blocking
       receive may skip it and leave the loop spinning. */
    if (zmq_getsockopt(n->monitor, ZMQ_EVENTS, &events, &size) < 0) return -1;
    for (;;) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, n->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            if (errno == EAGAIN || errno == EINTR) return closed;
            return -1;
        }
        if (first && zmq_msg_size(&part) == 6) {
            uint16_t event;
            uint32_t value;
            memcpy(&event, zmq_msg_data(&part), 2);
            memcpy(&value, (char *)zmq_msg_data(&part) + 2, 4);
            if (event == ZMQ_EVENT_DISCONNECTED && n->has_owner && (int)value == n->owner_fd)
                closed = 1;
        }
        first = !zmq_msg_more(&part);
        zmq_msg_close(&part);
    }
}
