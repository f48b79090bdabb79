/*
 * transport_zmq.c: the ZeroMQ transport (transport.h). A ROUTER bound on ipc or tcp (the owner's
 * DEALER connects to it; over tcp it may be a CurveZMQ server, curve.c), and a monitor on it that
 * tells when the owner's connection closes.
 *
 * Every socket is polled by its ZMQ_FD, as a plain descriptor in the loop's poll(2): a zmq socket
 * in zmq_poll costs a poll and a getpid system call for its ZMQ_EVENTS before and after every
 * sleep. ZMQ_FD is edge-like: it is readable when commands wait in the socket's mailbox, not when
 * a message does, and any zmq call on the socket may consume those commands. So: after it polls
 * readable, receive until EAGAIN (a receive that finds nothing processes the commands); and
 * before sleeping, if the socket was used since (a send), ask ZMQ_EVENTS again (pending).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "curve.h"
#include "transport_zmq.h"

/* How long closing may wait to deliver what is still queued for a connected owner: the bound on
   how long an owner that does not read holds up the worker's exit. */
#define S_FLUSH_MS 1000

int cnode_zmq_fail(const char *what)
{
    int err = errno;
    fprintf(stderr, "cnode_init: %s: %s\n", what, zmq_strerror(err));
    errno = err;
    return -1;
}

static int s_fd(void *socket, int *fd)
{
    size_t size = sizeof *fd;
    return zmq_getsockopt(socket, ZMQ_FD, fd, &size);
}

static void s_close(struct cnode_transport *t, int owner_connected);

/* Before the bind: IPv6 for an IPv6 address, and the ZMTP heartbeat (CNODE_HEARTBEAT), which
   proves the owner's connection: when the owner's pings stop for the timeout, libzmq closes the
   connection, and the monitor's DISCONNECTED event says the owner is gone. The TTL asks the
   owner's side to do the same. */
static int s_tcp_options(struct cnode_transport *t)
{
    int one = 1, ivl = t->args->heartbeat_ivl, timeout = t->args->heartbeat_timeout;
    if (t->args->bind.ipv6 && zmq_setsockopt(t->router, ZMQ_IPV6, &one, sizeof one) < 0)
        return cnode_zmq_fail("ZMQ_IPV6");
    if (ivl == 0) return 0;
    if (zmq_setsockopt(t->router, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl) < 0
        || zmq_setsockopt(t->router, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout) < 0
        || zmq_setsockopt(t->router, ZMQ_HEARTBEAT_TTL, &timeout, sizeof timeout) < 0)
        return cnode_zmq_fail("ZMQ_HEARTBEAT options");
    return 0;
}

/* The ready line's endpoint for tcp, from the bound one ("tcp://<address>:<port>"): the
   CNODE_ADVERTISE host, else the bound address unless it is a wildcard, else this host's name;
   the CNODE_ADVERTISE port, else the bound one. */
static int s_advertised(struct cnode_transport *t, char *endpoint, size_t size)
{
    const struct cnode_tcp_address *adv = &t->args->advertise;
    char bound[512], host[256];
    snprintf(bound, sizeof bound, "%s", endpoint);
    char *colon = strrchr(bound, ':');
    if (strncmp(bound, "tcp://", 6) != 0 || colon == NULL) {
        fprintf(stderr, "cnode_init: ZMQ_LAST_ENDPOINT \"%s\" is not tcp://<address>:<port>\n",
                bound);
        errno = EPROTO;
        return -1;
    }
    *colon = '\0';
    const char *port = adv->port[0] ? adv->port : colon + 1;
    if (adv->host[0]) {
        snprintf(host, sizeof host, "%s", adv->host);
    } else if (!t->args->bind.wildcard) {
        snprintf(host, sizeof host, "%.255s", bound + 6);
    } else if (gethostname(host, sizeof host) < 0) {
        return cnode_zmq_fail("gethostname");
    }
    host[sizeof host - 1] = '\0';
    snprintf(endpoint, size, "tcp://%s:%s", host, port);
    return 0;
}

static int s_open_sockets(struct cnode_transport *t, char *endpoint, size_t endpoint_size)
{
    int zero = 0, one = 1;
    char address[4200], monitor[64];

    if ((t->ctx = zmq_ctx_new()) == NULL) return cnode_zmq_fail("zmq_ctx_new");
    if ((t->router = zmq_socket(t->ctx, ZMQ_ROUTER)) == NULL) return cnode_zmq_fail("zmq_socket");
    /* Linger 0: nothing queued for a vanished owner may hold up the exit (close raises it while
       the owner is connected). Mandatory: a send to a routing id that is gone fails
       (EHOSTUNREACH) instead of being dropped silently, which is how the session learns the
       owner is gone. */
    if (zmq_setsockopt(t->router, ZMQ_LINGER, &zero, sizeof zero) < 0
        || zmq_setsockopt(t->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) < 0)
        return cnode_zmq_fail("zmq_setsockopt");
    /* The owner's limit, before anyone connects: libzmq drops a connection that sends a bigger
       frame instead of reading it into memory. */
    int64_t max = t->args->max_message_size;
    if (zmq_setsockopt(t->router, ZMQ_MAXMSGSIZE, &max, sizeof max) < 0)
        return cnode_zmq_fail("ZMQ_MAXMSGSIZE");

    snprintf(monitor, sizeof monitor, "inproc://cnode-monitor-%p", (void *)t);
    if (zmq_socket_monitor(t->router, monitor, ZMQ_EVENT_DISCONNECTED) < 0)
        return cnode_zmq_fail("zmq_socket_monitor");
    if ((t->monitor = zmq_socket(t->ctx, ZMQ_PAIR)) == NULL
        || zmq_setsockopt(t->monitor, ZMQ_LINGER, &zero, sizeof zero) < 0
        || zmq_connect(t->monitor, monitor) < 0)
        return cnode_zmq_fail("monitor socket");

    if (cnode_curve_open(t) < 0) return -1;
    if (t->args->tcp && s_tcp_options(t) < 0) return -1;

    /* libzmq binds interface names and address literals, not names to look up: localhost is
       bound as the loopback's address. */
    const struct cnode_tcp_address *bind = &t->args->bind;
    const char *host = strcasecmp(bind->host, "localhost") == 0 ? "127.0.0.1" : bind->host;
    if (t->args->tcp) snprintf(address, sizeof address, "tcp://%s:%s", host, bind->port);
    else snprintf(address, sizeof address, "ipc://%s/socket", t->args->ipc_dir);
    if (zmq_bind(t->router, address) < 0) {
        int err = errno;
        fprintf(stderr, "cnode_init: cannot bind %s: %s\n", address, zmq_strerror(err));
        errno = err;
        return -1;
    }
    /* For tcp the port may be the system's choice; for ipc this is the address itself. */
    size_t len = endpoint_size;
    if (zmq_getsockopt(t->router, ZMQ_LAST_ENDPOINT, endpoint, &len) < 0)
        return cnode_zmq_fail("ZMQ_LAST_ENDPOINT");
    if (t->args->tcp && s_advertised(t, endpoint, endpoint_size) < 0) return -1;
    if (s_fd(t->router, &t->router_fd) < 0 || s_fd(t->monitor, &t->monitor_fd) < 0
        || (t->zap && s_fd(t->zap, &t->zap_fd) < 0))
        return cnode_zmq_fail("ZMQ_FD");
    return 0;
}

static struct cnode_transport *s_open(struct cnode_args *args, char *endpoint, size_t size)
{
    struct cnode_transport *t = calloc(1, sizeof *t);
    if (t == NULL) {
        fputs("cnode_init: out of memory\n", stderr);
        errno = ENOMEM;
        return NULL;
    }
    t->args = args;
    t->owner_fd = t->zap_fd = -1;
    /* Until the loop's first look, ZMQ_EVENTS decides: whatever touched the router before may
       have taken its wake-up. */
    t->dirty = 1;
    if (s_open_sockets(t, endpoint, size) < 0) {
        int err = errno;
        s_close(t, 0);
        errno = err;
        return NULL;
    }
    return t;
}

static int s_fds(struct cnode_transport *t, struct pollfd *fds, int max)
{
    int count = t->zap ? 3 : 2;
    if (max < count) return 0;
    fds[0] = (struct pollfd){t->router_fd, POLLIN, 0};
    fds[1] = (struct pollfd){t->monitor_fd, POLLIN, 0};
    if (t->zap) fds[2] = (struct pollfd){t->zap_fd, POLLIN, 0};
    return count;
}

static void s_release(struct cnode_transport *t, struct cnode_message *m)
{
    if (t->count > 0) zmq_msg_close(&t->id);
    for (size_t i = 0; i < t->count; i++) zmq_msg_close(&t->parts[i]);
    t->count = 0;
    if (m != NULL) m->nsides = 0;
}

static int s_from_owner(struct cnode_transport *t)
{
    return t->has_owner && zmq_msg_size(&t->id) == t->owner_id_len
           && memcmp(zmq_msg_data(&t->id), t->owner_id, t->owner_id_len) == 0;
}

/* Receives one router message into t; one with more parts than CNODE_MAX_SIDES allows is read
   whole and dropped. Returns 1, 0 when nothing is waiting, -1 on failure. */
static int s_recv_parts(struct cnode_transport *t)
{
    for (;;) {
        zmq_msg_init(&t->id);
        if (zmq_msg_recv(&t->id, t->router, ZMQ_DONTWAIT) < 0) {
            int err = errno;
            zmq_msg_close(&t->id);
            errno = err;
            /* What found nothing has processed the socket's commands: ZMQ_FD is reliable. */
            if (err == EAGAIN) t->dirty = 0;
            return err == EAGAIN || err == EINTR ? 0 : -1;
        }
        t->count = 0;
        /* The other parts arrive with the first, so these receives do not wait. Parts past the
           cap are read and let go: such a message is dropped. */
        int more = zmq_msg_more(&t->id), rc = 0, too_many = 0;
        while (more && rc >= 0) {
            zmq_msg_t extra, *part = &extra;
            if (t->count < 1 + CNODE_MAX_SIDES) part = &t->parts[t->count++];
            else too_many = 1;
            zmq_msg_init(part);
            while ((rc = zmq_msg_recv(part, t->router, 0)) < 0 && errno == EINTR) {}
            more = rc >= 0 && zmq_msg_more(part);
            if (part == &extra) zmq_msg_close(&extra);
        }
        if (rc >= 0 && t->count > 0 && !too_many) return 1;
        int err = errno;
        zmq_msg_close(&t->id);
        for (size_t i = 0; i < t->count; i++) zmq_msg_close(&t->parts[i]);
        t->count = 0;
        errno = err;
        if (rc < 0) return -1;
    }
}

static int s_recv(struct cnode_transport *t, struct cnode_message *m)
{
    s_release(t, NULL); /* one message at a time */
    int got = s_recv_parts(t);
    if (got <= 0) return got;
    m->frames = (struct cnode_side){zmq_msg_data(&t->parts[0]), zmq_msg_size(&t->parts[0])};
    m->nsides = t->count - 1;
    for (size_t i = 1; i < t->count; i++)
        m->sides[i - 1] = (struct cnode_side){zmq_msg_data(&t->parts[i]),
                                              zmq_msg_size(&t->parts[i])};
    m->from_owner = s_from_owner(t);
    return 1;
}

/* A retained part is a copy of the received zmq_msg_t, which shares its bytes by counting
   references; ZeroMQ calls this (perhaps on its I/O thread) once the send is done with it. */
static void s_release_retained(void *data, void *hint)
{
    (void)data;
    zmq_msg_close(hint);
    free(hint);
}

static int s_retain(struct cnode_transport *t, const struct cnode_message *m, size_t index,
                    struct cnode_part *out)
{
    (void)m;
    if (index + 1 >= t->count) {
        errno = EINVAL;
        return -1;
    }
    zmq_msg_t *copy = malloc(sizeof *copy);
    if (copy == NULL) return -1;
    zmq_msg_init(copy);
    if (zmq_msg_copy(copy, &t->parts[index + 1]) < 0) {
        zmq_msg_close(copy);
        free(copy);
        return -1;
    }
    *out = (struct cnode_part){zmq_msg_data(copy), zmq_msg_size(copy), s_release_retained, copy};
    return 0;
}

/* Reads the monitor's events: 1 when the owner's connection closed, 0 if not, -1 on failure. */
static int s_owner_closed(struct cnode_transport *t)
{
    /* libzmq 4.3 monitor events are two frames: 6 bytes (uint16 event, uint32 value, host byte
       order; the value of DISCONNECTED is the connection's fd), then the endpoint. */
    int closed = 0, first = 1, events;
    size_t size = sizeof events;
    /* The monitor's ZMQ_FD stays readable until the socket's commands are processed: ZMQ_EVENTS
       does that unthrottled, where a non-blocking receive may skip it and leave the loop
       spinning. */
    if (zmq_getsockopt(t->monitor, ZMQ_EVENTS, &events, &size) < 0) return -1;
    for (;;) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, t->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            if (errno == EAGAIN || errno == EINTR) return closed;
            return -1;
        }
        if (first && zmq_msg_size(&part) == 6) {
            uint16_t event;
            uint32_t value;
            memcpy(&event, zmq_msg_data(&part), 2);
            memcpy(&value, (char *)zmq_msg_data(&part) + 2, 4);
            if (event == ZMQ_EVENT_DISCONNECTED && t->has_owner && (int)value == t->owner_fd)
                closed = 1;
        }
        first = !zmq_msg_more(&part);
        zmq_msg_close(&part);
    }
}

static void s_remove_ipc(struct cnode_transport *t)
{
    /* libzmq 4.3 leaves the socket file of a bound ipc endpoint on disk, even after close. */
    if (t->args->tcp || t->ipc_cleaned || t->args->ipc_dir == NULL) return;
    char path[4200];
    snprintf(path, sizeof path, "%s/socket", t->args->ipc_dir);
    unlink(path);
    rmdir(t->args->ipc_dir);
    t->ipc_cleaned = 1;
}

static int s_admit(struct cnode_transport *t, const struct cnode_message *m)
{
    (void)m; /* the message t holds */
    if (t->count == 0 || zmq_msg_size(&t->id) > sizeof t->owner_id) {
        errno = EINVAL; /* ROUTER ids are at most 255 bytes */
        return -1;
    }
    /* Events queued before there is an owner are about strangers. Read them now: the owner's
       connection may reuse the fd of one that just closed, and its old DISCONNECTED event must
       not be taken for the owner's. */
    if (s_owner_closed(t) < 0) return -1;
    memcpy(t->owner_id, zmq_msg_data(&t->id), zmq_msg_size(&t->id));
    t->owner_id_len = zmq_msg_size(&t->id);
    t->owner_fd = zmq_msg_get(&t->parts[0], ZMQ_SRCFD); /* to recognise its DISCONNECTED event */
    t->has_owner = 1;
    /* Nobody else may connect, and nothing is left on disk whatever happens next. */
    s_remove_ipc(t);
    return 0;
}

static int s_forget(struct cnode_transport *t)
{
    t->has_owner = 0;
    t->owner_id_len = 0;
    t->owner_fd = -1;
    /* The turn that saw the owner go may have ended before it serviced the monitor and the ZAP
       handler, whose ZMQ_FD would not wake the loop again: service them now, and look at the
       router's ZMQ_EVENTS before the next sleep. */
    t->dirty = 1;
    if (s_owner_closed(t) < 0) return -1;
    return t->zap && cnode_curve_answer(t) < 0 ? -1 : 0;
}

static void s_free(void *data, void *hint)
{
    (void)hint;
    free(data);
}

static int s_send_part(void *router, zmq_msg_t *msg, int more)
{
    int rc;
    do rc = zmq_msg_send(msg, router, more ? ZMQ_SNDMORE : 0);
    while (rc < 0 && errno == EINTR);
    return rc;
}

static int s_send(struct cnode_transport *t, const struct cnode_message *to,
                  msgpack_sbuffer *frames, struct cnode_part *sides, size_t nsides)
{
    size_t sent = 0;
    int rc = -1;
    const void *id = to ? zmq_msg_data(&t->id) : t->owner_id;
    size_t id_len = to ? zmq_msg_size(&t->id) : t->owner_id_len;
    /* The owner's DEALER would drop the whole connection on a bigger frame. */
    if (frames->size > (uint64_t)t->args->max_message_size) {
        errno = EMSGSIZE;
        goto done;
    }
    t->dirty = 1;
    /* The packed bytes become the message as they are: ZeroMQ frees them when it is done. */
    size_t size = frames->size;
    char *data = msgpack_sbuffer_release(frames);
    zmq_msg_t msg;
    if (zmq_msg_init_data(&msg, data, size, s_free, NULL) < 0) {
        free(data);
        goto done;
    }
    do rc = zmq_send(t->router, id, id_len, ZMQ_SNDMORE);
    while (rc < 0 && errno == EINTR);
    if (rc >= 0) rc = s_send_part(t->router, &msg, nsides > 0);
    if (rc < 0) {
        int err = errno;
        zmq_msg_close(&msg);
        errno = err;
        goto done;
    }
    /* A ROUTER queues a message's parts together: once the first is taken, so are the rest. */
    for (; sent < nsides; sent++) {
        struct cnode_part *p = &sides[sent];
        if (zmq_msg_init_data(&msg, p->data, p->size, p->release, p->hint) < 0) {
            rc = -1;
            break; /* this part is still ours: released below with the rest */
        }
        /* From here ZeroMQ releases the part, sent or not. */
        rc = s_send_part(t->router, &msg, sent + 1 < nsides);
        if (rc < 0) {
            int err = errno;
            zmq_msg_close(&msg);
            errno = err;
            sent++;
            break;
        }
    }
done:;
    int err = errno;
    for (size_t i = sent; i < nsides; i++) sides[i].release(sides[i].data, sides[i].hint);
    errno = err;
    return rc < 0 ? -1 : 0;
}

static int s_service(struct cnode_transport *t, const struct pollfd *fds, int count)
{
    int event = CNODE_TRANSPORT_QUIET;
    if (count > 1 && fds[1].revents) {
        int closed = s_owner_closed(t);
        if (closed < 0) return -1;
        if (closed) event = CNODE_TRANSPORT_OWNER_GONE;
    }
    if (t->zap && count > 2 && fds[2].revents && cnode_curve_answer(t) < 0) return -1;
    return event;
}

static int s_pending(struct cnode_transport *t)
{
    if (!t->dirty) return 0;
    int events;
    size_t size = sizeof events;
    if (zmq_getsockopt(t->router, ZMQ_EVENTS, &events, &size) < 0) return -1;
    t->dirty = 0; /* the commands are processed: from here ZMQ_FD tells */
    return (events & ZMQ_POLLIN) != 0;
}

/* The loop's monotonic clock, in milliseconds. */
static int64_t s_now_ms(void)
{
    return cnode_now_us() / 1000;
}

/* Whether the message t holds is the owner's answer to the end: one empty part. */
static int s_is_end(struct cnode_transport *t)
{
    return t->count == 1 && zmq_msg_size(&t->parts[0]) == 0 && s_from_owner(t);
}

/*
 * Waits, at most until `deadline`, until the owner has read everything sent to it. Linger is not
 * enough: it waits for libzmq to hand the messages to the kernel, not for the owner to read them,
 * and the owner's libzmq loses what is still in the kernel's buffer when the connection closes
 * while its receive queue is at its high-water mark (on ipc the owner's Dealer sees the hang-up
 * with its input stopped, gives up the connection once its queue has room, and never reads the
 * rest of the socket: thousands of messages sent just before a stop were lost). So the last
 * message is an end mark, one empty part, which no frame is; the owner's connection answers it
 * with one empty part once its receive loop has handed on everything before it
 * (src/connection/zmq.ts). What the owner sends meanwhile is read and dropped: the session has
 * ended. Returns 1 once the owner has answered (nothing is left to deliver), 0 if not.
 */
static int s_finish(struct cnode_transport *t, int64_t deadline)
{
    int timeout = (int)(deadline - s_now_ms());
    if (timeout <= 0 || zmq_setsockopt(t->router, ZMQ_SNDTIMEO, &timeout, sizeof timeout) < 0)
        return 0;
    int rc;
    do rc = zmq_send(t->router, t->owner_id, t->owner_id_len, ZMQ_SNDMORE);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) return 0; /* the owner is gone (EHOSTUNREACH), or did not read (EAGAIN) */
    do rc = zmq_send(t->router, "", 0, 0);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) return 0;
    for (;;) {
        for (;;) { /* what is waiting, until the answer */
            int got = s_recv_parts(t);
            if (got < 0) return 0;
            if (got == 0) break;
            int end = s_is_end(t);
            s_release(t, NULL);
            if (end) return 1;
        }
        int wait = (int)(deadline - s_now_ms());
        if (wait <= 0) return 0;
        zmq_pollitem_t items[2] = {{t->router, 0, ZMQ_POLLIN, 0}, {t->monitor, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, wait) < 0 && errno != EINTR) return 0;
        /* The owner's connection closed: nobody will answer. */
        if (items[1].revents && s_owner_closed(t) != 0) return 0;
    }
}

static void s_close(struct cnode_transport *t, int owner_connected)
{
    if (t == NULL) return;
    s_release(t, NULL);
    /* Linger 0 (as opened) when there is nobody to deliver to. While the owner is connected,
       what is queued for it gets S_FLUSH_MS in all to reach it: until the owner answers the end
       mark, then as linger for whatever is left of the time. */
    if (t->router && t->has_owner && owner_connected) {
        int64_t deadline = s_now_ms() + S_FLUSH_MS;
        int linger = 0;
        if (!s_finish(t, deadline)) {
            int64_t left = deadline - s_now_ms();
            linger = left > 0 ? (int)left : 0;
        }
        zmq_setsockopt(t->router, ZMQ_LINGER, &linger, sizeof linger);
    }
    if (t->router) zmq_socket_monitor(t->router, NULL, 0);
    cnode_curve_close(t);
    if (t->monitor) zmq_close(t->monitor);
    if (t->router) zmq_close(t->router);
    if (t->ctx) zmq_ctx_term(t->ctx);
    s_remove_ipc(t);
    free(t);
}

const struct cnode_transport_funcs cnode_transport_zmq = {
    .name = "zmq",
    .open = s_open,
    .fds = s_fds,
    .recv = s_recv,
    .release = s_release,
    .retain = s_retain,
    .admit = s_admit,
    .send = s_send,
    .service = s_service,
    .pending = s_pending,
    .forget = s_forget,
    .close = s_close,
};
