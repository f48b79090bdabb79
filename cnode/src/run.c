/*
 * run.c: cnode_run, the worker's message loop. One event per clause, top to bottom: a frame from
 * the router, the owner's connection closing, stdin reaching EOF, a ZAP request (curve.c). Frames
 * follow docs/protocol.md sections 3 (handshake), 4 (calls, casts, stop) and 7 (heartbeat).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "node.h"

/* One router message: the sender's routing id, then the frames, then up to CNODE_MAX_SIDES side
   parts. */
struct s_received {
    zmq_msg_t id;
    zmq_msg_t parts[1 + CNODE_MAX_SIDES];
    size_t count;
};

/* A failure of the library itself (not of the owner, not of a handler): cnode_run returns 1. */
static int s_broken(cnode_t *n, const char *what)
{
    fprintf(stderr, "cnode %s: %s: %s\n", n->args.name, what, zmq_strerror(errno));
    return -1;
}

/* A frame over the owner's limit is never sent: the owner would drop the whole connection. A
   REPLY is turned into a FAIL before it gets here; only a limit too small for even a FAIL, PONG
   or WELCOME lands here. */
static void s_dropped(cnode_t *n, size_t size)
{
    fprintf(stderr, "cnode %s: dropped a %zu-byte frame, over the owner's maxMessageSize of %lld "
                    "bytes\n", n->args.name, size, (long long)n->args.max_message_size);
}

/* Sends the frames in `buf`, and the side parts, to the owner as one message. A vanished owner
   is not an error: it ends the loop with status 0. */
static int s_send_owner(cnode_t *n, msgpack_sbuffer *buf, zmq_msg_t *sides, size_t nsides)
{
    size_t size = buf->size;
    if (cnode_socket_send(n, n->owner_id, n->owner_id_len, buf, sides, nsides) == 0) return 0;
    if (errno == EHOSTUNREACH) {
        n->owner_gone = 1;
        return 0;
    }
    if (errno == EMSGSIZE) {
        s_dropped(n, size);
        return 0;
    }
    return s_broken(n, "send");
}

int cnode_flush(cnode_t *n)
{
    if (n->batch.size == 0) return 0;
    if (n->owner_gone) {
        msgpack_sbuffer_clear(&n->batch);
        return 0;
    }
    return s_send_owner(n, &n->batch, NULL, 0);
}

static int64_t s_micros_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - t->tv_sec) * 1000000 + (now.tv_nsec - t->tv_nsec) / 1000;
}

/* Sends what the batch holds once its first reply has waited CNODE_BATCH_MICROS. */
static int s_flush_if_due(cnode_t *n)
{
    if (n->batch.size == 0 || s_micros_since(&n->batch_since) < CNODE_BATCH_MICROS) return 0;
    return cnode_flush(n);
}

/* Sends the whole frame in n->out, or holds it in n->batch: the loop flushes the batch as soon as
   no more input is waiting, so many replies to frames that came together travel as one message
   (one ZeroMQ message per reply is what limits pipelined calls, above all on the owner's side),
   and a lone call's reply goes at once. A frame too big to batch goes alone, after the batch. */
static int s_emit(cnode_t *n)
{
    size_t limit = (uint64_t)n->args.max_message_size < CNODE_BATCH_BYTES
                       ? (size_t)n->args.max_message_size : CNODE_BATCH_BYTES;
    if (n->out.size <= limit - n->batch.size && n->batch.size <= limit) {
        if (n->batch.size == 0) clock_gettime(CLOCK_MONOTONIC, &n->batch_since);
        if (msgpack_sbuffer_write(&n->batch, n->out.data, n->out.size) < 0)
            return s_broken(n, "batch");
        msgpack_sbuffer_clear(&n->out);
        return s_flush_if_due(n);
    }
    if (cnode_flush(n) < 0) return -1;
    return n->owner_gone ? 0 : s_send_owner(n, &n->out, NULL, 0);
}

/* Runs the handler, its result in *rc; returns -1 when the library failed. Replies held for a
   batch must not wait for a slow handler: while handlers have lately run longer than
   CNODE_BATCH_SLOW_MICROS on average, what is held is sent before the next one runs. (Only a slow
   handler among fast ones still holds back the replies before it.) */
static int s_handle(cnode_t *n, const msgpack_object *message, msgpack_packer *reply, int *rc)
{
    if (n->batch.size > 0 && n->handler_micros > CNODE_BATCH_SLOW_MICROS && cnode_flush(n) < 0)
        return -1;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    n->failed = 0;
    *rc = n->handler(n, message, reply, n->user);
    /* An average over the last eight or so handler runs. */
    n->handler_micros += (s_micros_since(&start) - n->handler_micros) / 8;
    return 0;
}

static msgpack_packer s_packer(cnode_t *n)
{
    msgpack_packer pk;
    msgpack_sbuffer_clear(&n->out);
    msgpack_packer_init(&pk, &n->out, msgpack_sbuffer_write);
    return pk;
}

static int s_cookie_ok(const cnode_t *n, const struct cnode_frame *f)
{
    /* Constant time: how far a guess matched must not show in how long the answer takes. */
    if (f->cookie_len != CNODE_COOKIE_LEN) return 0;
    unsigned char diff = 0;
    for (size_t i = 0; i < CNODE_COOKIE_LEN; i++)
        diff |= (unsigned char)(f->cookie[i] ^ n->args.cookie[i]);
    return diff == 0;
}

static int s_hello(cnode_t *n, zmq_msg_t *id, zmq_msg_t *frame, const struct cnode_frame *f)
{
    /* Only the first peer with the right cookie and version becomes the owner. Once a peer with
       the right cookie (so, the owner) spoke another version, nobody is accepted. */
    if (n->has_owner || n->refused || !s_cookie_ok(n, f)) return 0;
    msgpack_packer pk = s_packer(n);
    if (cnode_frame_pack_welcome(&pk, n->args.name, n->name_len) < 0) return s_broken(n, "pack");
    if (f->version != CNODE_PROTOCOL_VERSION) {
        n->refused = 1;
        size_t size = n->out.size;
        if (cnode_socket_send(n, zmq_msg_data(id), zmq_msg_size(id), &n->out, NULL, 0) == 0)
            return 0;
        if (errno == EMSGSIZE) s_dropped(n, size);
        else if (errno != EHOSTUNREACH) return s_broken(n, "send");
        return 0;
    }
    if (zmq_msg_size(id) > sizeof n->owner_id) return 0; /* ROUTER ids are at most 255 bytes */
    /* Events queued before there is an owner are about strangers. Read them now: the owner's
       connection may reuse the fd of one that just closed, and its old DISCONNECTED event must
       not be taken for the owner's. */
    if (cnode_socket_owner_closed(n) < 0) return s_broken(n, "monitor");
    memcpy(n->owner_id, zmq_msg_data(id), zmq_msg_size(id));
    n->owner_id_len = zmq_msg_size(id);
    n->owner_fd = zmq_msg_get(frame, ZMQ_SRCFD); /* to recognise its DISCONNECTED event */
    n->has_owner = 1;
    /* Nobody else may connect, and nothing is left on disk whatever happens next. */
    cnode_socket_remove_ipc(n);
    return s_send_owner(n, &n->out, NULL, 0);
}

/* Lets go of the side parts cnode_pack_bin made for a reply that is not sent. */
static void s_drop_reply_sides(cnode_t *n)
{
    for (size_t i = 0; i < n->reply_nsides; i++) zmq_msg_close(&n->reply_sides[i]);
    n->reply_nsides = 0;
}

/* Checks what the handler packed after the REPLY head: at most one object, and no ext value
   but the side-part references cnode_pack_bin made. Returns NULL, or why the call fails. */
static const char *s_check_response(cnode_t *n, size_t head, size_t *count, char *why,
                                    size_t why_size)
{
    const char *p = n->out.data + head;
    size_t left = n->out.size - head, sides = 0;
    *count = 0;
    while (left > 0) {
        struct cnode_walk w;
        int rc = cnode_msgpack_next(p, left, &w);
        if (rc == -1) return "handler packed an incomplete object";
        if (rc == -2) return "handler packed bytes that are not MessagePack";
        if (w.exts > 0 || w.shared > 0) break;
        sides += w.sides;
        p += w.len;
        left -= w.len;
        ++*count;
    }
    if (left > 0 || sides != n->reply_nsides)
        return "handler packed a MessagePack ext value, which cnode does not carry";
    if (*count <= 1) return NULL;
    snprintf(why, why_size, "handler packed %zu objects", *count);
    return why;
}

static int s_call(cnode_t *n, uint32_t id, const msgpack_object *message)
{
    /* The handler packs its response straight after the REPLY head, in the buffer that becomes
       the ZeroMQ message: no copy of the response is made. */
    msgpack_packer pk = s_packer(n);
    if (cnode_frame_pack_reply_head(&pk, id, n->args.name, n->name_len) < 0)
        return s_broken(n, "pack");
    size_t head = n->out.size, count = 0;
    char why[128];
    const char *reason = NULL;

    n->reply_nsides = 0;
    int rc;
    if (s_handle(n, message, &pk, &rc) < 0) return -1;
    if (rc != 0) {
        snprintf(why, sizeof why, "handler returned %d", rc);
        reason = n->failed ? n->reason : why;
    } else if ((reason = s_check_response(n, head, &count, why, sizeof why)) == NULL && count == 0
               && msgpack_pack_nil(&pk) < 0) {
        reason = "out of memory";
    }
    if (reason == NULL && n->out.size > (uint64_t)n->args.max_message_size) {
        snprintf(why, sizeof why, "the reply is %zu bytes, over the owner's maxMessageSize of "
                 "%lld bytes", n->out.size, (long long)n->args.max_message_size);
        reason = why;
    }
    if (reason != NULL) {
        s_drop_reply_sides(n);
        pk = s_packer(n);
        if (cnode_frame_pack_fail(&pk, id, n->args.name, n->name_len, reason) < 0)
            return s_broken(n, "pack");
    }
    if (n->reply_nsides == 0) return s_emit(n);
    /* A reply with side parts goes alone, after what was held for a batch. */
    size_t nsides = n->reply_nsides;
    n->reply_nsides = 0;
    if (cnode_flush(n) < 0 || n->owner_gone) {
        n->reply_nsides = nsides;
        s_drop_reply_sides(n);
        return n->owner_gone ? 0 : -1;
    }
    return s_send_owner(n, &n->out, n->reply_sides, nsides);
}

/* Answered between handlers, like a call: a PONG late by a handler's run time is how the owner's
   heartbeat tells a hung worker. */
static int s_ping(cnode_t *n, uint32_t seq)
{
    msgpack_packer pk = s_packer(n);
    if (cnode_frame_pack_pong(&pk, seq) < 0) return s_broken(n, "pack");
    return s_emit(n);
}

static int s_cast(cnode_t *n, const msgpack_object *message)
{
    int rc;
    if (s_handle(n, message, NULL, &rc) < 0) return -1;
    if (rc != 0) {
        if (n->failed) fprintf(stderr, "cnode %s: cast failed: %s\n", n->args.name, n->reason);
        else fprintf(stderr, "cnode %s: cast failed: handler returned %d\n", n->args.name, rc);
    }
    return 0;
}

/* A frame from the owner that is not one the protocol allows: said once, then dropped quietly,
   so that a broken owner cannot flood stderr. A CALL whose message alone is undecodable is still
   answered, so that the call fails at once instead of timing out. */
static int s_malformed(cnode_t *n, const char *data, size_t size)
{
    uint32_t id;
    if (cnode_frame_peek_call_id(data, size, &id) == 0) {
        msgpack_packer pk = s_packer(n);
        if (cnode_frame_pack_fail(&pk, id, n->args.name, n->name_len,
                                  "the worker cannot decode this message: it is not MessagePack, "
                                  "holds an ext value, or nests arrays and maps deeper than "
                                  "msgpack-c's limit of 31 levels")
            < 0)
            return s_broken(n, "pack");
        return s_emit(n);
    }
    if (!n->reported_malformed)
        fprintf(stderr, "cnode %s: dropped a malformed frame from the owner (%zu bytes); further "
                        "ones are dropped silently\n", n->args.name, size);
    n->reported_malformed = 1;
    return 0;
}

static void *s_map_shared(void *ctx, uint32_t fd, uint64_t inode, uint64_t size)
{
    cnode_t *n = ctx;
    return cnode_shared_map(&n->shared, n->args.owner_pid, fd, inode, size);
}

/* A CALL naming a shared buffer the worker could not map fails at once, saying why. */
static int s_unmappable(cnode_t *n, const char *data, size_t size, int err)
{
    uint32_t id;
    if (cnode_frame_peek_call_id(data, size, &id) < 0) return 0;
    char why[160];
    snprintf(why, sizeof why, "the worker cannot map a SharedBuffer the call names: %s",
             strerror(err));
    msgpack_packer pk = s_packer(n);
    if (cnode_frame_pack_fail(&pk, id, n->args.name, n->name_len, why) < 0)
        return s_broken(n, "pack");
    return s_emit(n);
}

/* One frame from the owner, after the handshake. */
static int s_owner_frame(cnode_t *n, const char *data, size_t size)
{
    struct cnode_frame f;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = 0, decoded = cnode_frame_decode(&u, data, size, &n->request, &f);
    if (decoded == -2) rc = s_unmappable(n, data, size, errno);
    else if (decoded < 0) rc = s_malformed(n, data, size);
    else if (f.kind == CNODE_FRAME_CALL) rc = s_call(n, f.id, f.message);
    else if (f.kind == CNODE_FRAME_CAST) rc = s_cast(n, f.message);
    else if (f.kind == CNODE_FRAME_STOP) n->stopping = 1;
    else if (f.kind == CNODE_FRAME_PING) rc = s_ping(n, f.seq);
    else if (f.kind == CNODE_FRAME_RELEASE) cnode_shared_forget(&n->shared, f.inode);
    /* a HELLO from the owner: it has shaken hands already */
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* A message from a peer that is not the owner: one HELLO, or nothing worth an answer. */
static int s_stranger(cnode_t *n, zmq_msg_t *id, zmq_msg_t *frame)
{
    /* Decoding costs memory in proportion to the frame (msgpack-c makes an object of every
       element): a stranger gets no more than a HELLO's worth. */
    if (zmq_msg_size(frame) > CNODE_HELLO_MAX_SIZE) return 0;
    struct cnode_frame f;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = 0;
    const struct cnode_refs none = {0};
    if (cnode_frame_decode(&u, zmq_msg_data(frame), zmq_msg_size(frame), &none, &f) == 0
        && f.kind == CNODE_FRAME_HELLO)
        rc = s_hello(n, id, frame, &f);
    /* anything else: dropped without an answer */
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* One message: the owner's holds one frame or more, back to back, and the side parts they refer
   to (docs/protocol.md section 2), handled in order until a STOP. */
static int s_message(cnode_t *n, struct s_received *m)
{
    int owner = n->has_owner && zmq_msg_size(&m->id) == n->owner_id_len
                && memcmp(zmq_msg_data(&m->id), n->owner_id, n->owner_id_len) == 0;
    if (!owner) return m->count == 1 ? s_stranger(n, &m->id, &m->parts[0]) : 0;
    struct cnode_side sides[CNODE_MAX_SIDES];
    for (size_t i = 1; i < m->count; i++)
        sides[i - 1] = (struct cnode_side){zmq_msg_data(&m->parts[i]), zmq_msg_size(&m->parts[i])};
    n->request_parts = &m->parts[1];
    n->request = (struct cnode_refs){sides, m->count - 1, s_map_shared, n};
    const char *data = zmq_msg_data(&m->parts[0]);
    size_t size = zmq_msg_size(&m->parts[0]), off = 0;
    int rc = 0;
    while (rc == 0 && off < size && !n->stopping && !n->owner_gone) {
        struct cnode_walk w;
        /* Where the next frame would start is unknown: the rest is one malformed frame. */
        size_t len = cnode_msgpack_next(data + off, size - off, &w) == 0 ? w.len : size - off;
        rc = s_owner_frame(n, data + off, len);
        /* A cast, say, emits nothing: the batch's age is checked here too. */
        if (rc == 0) rc = s_flush_if_due(n);
        off += len;
    }
    n->request_parts = NULL;
    n->request = (struct cnode_refs){0};
    return rc;
}

static void s_message_close(struct s_received *m)
{
    zmq_msg_close(&m->id);
    for (size_t i = 0; i < m->count; i++) zmq_msg_close(&m->parts[i]);
    m->count = 0;
}

/* Receives one router message; one with more parts than that is read whole and dropped.
   Returns 1, 0 when nothing is waiting, -1 on failure. */
static int s_recv(cnode_t *n, struct s_received *m)
{
    for (;;) {
        m->count = 0;
        zmq_msg_init(&m->id);
        if (zmq_msg_recv(&m->id, n->router, ZMQ_DONTWAIT) < 0) {
            int err = errno;
            zmq_msg_close(&m->id);
            errno = err;
            return err == EAGAIN || err == EINTR ? 0 : -1;
        }
        /* The other parts arrive with the first, so these receives do not wait. Parts past the
           cap are read and let go: such a message is dropped. */
        int more = zmq_msg_more(&m->id), rc = 0, too_many = 0;
        while (more && rc >= 0) {
            zmq_msg_t extra, *part = &extra;
            if (m->count < 1 + CNODE_MAX_SIDES) part = &m->parts[m->count++];
            else too_many = 1;
            zmq_msg_init(part);
            while ((rc = zmq_msg_recv(part, n->router, 0)) < 0 && errno == EINTR) {}
            more = rc >= 0 && zmq_msg_more(part);
            if (part == &extra) zmq_msg_close(&extra);
        }
        if (rc >= 0 && m->count > 0 && !too_many) return 1;
        int err = errno;
        s_message_close(m);
        errno = err;
        if (rc < 0) return -1;
    }
}

int cnode_run(cnode_t *n, cnode_handler handler, void *user)
{
    if (n == NULL || handler == NULL || n->ran) {
        fprintf(stderr, "cnode_run: %s\n", n == NULL ? "no node" : handler == NULL
                                                              ? "no handler" : "called twice");
        errno = EINVAL;
        return 1;
    }
    n->ran = 1;
    n->handler = handler;
    n->user = user;
    /* The monitor by its descriptor: as a socket, zmq_poll would ask it for its events (two
       system calls) before and after every sleep, for events that come once in a worker's life. */
    int monitor_fd;
    size_t monitor_fd_size = sizeof monitor_fd;
    if (zmq_getsockopt(n->monitor, ZMQ_FD, &monitor_fd, &monitor_fd_size) < 0) {
        s_broken(n, "monitor");
        return 1;
    }
    zmq_pollitem_t items[] = {
        {n->router, 0, ZMQ_POLLIN, 0},
        {NULL, monitor_fd, ZMQ_POLLIN, 0},
        {NULL, STDIN_FILENO, ZMQ_POLLIN, 0},
        {n->zap, 0, ZMQ_POLLIN, 0}, /* polled only with curve */
    };
    int polled = n->zap ? 4 : 3;
    struct s_received message;
    while (!n->stopping && !n->owner_gone) {
        if (zmq_poll(items, polled, -1) < 0) {
            if (errno == EINTR) continue;
            s_broken(n, "zmq_poll");
            return 1;
        }
        /* Every waiting frame, in order, until a STOP or the owner's end. */
        while (items[0].revents && !n->stopping && !n->owner_gone) {
            int got = s_recv(n, &message);
            if (got < 0) {
                s_broken(n, "receive");
                return 1;
            }
            if (got == 0) break;
            int rc = s_message(n, &message);
            s_message_close(&message);
            if (rc < 0) return 1;
        }
        /* Nothing more is waiting: what was held for a batch goes now. */
        if (cnode_flush(n) < 0) return 1;
        if (n->stopping || n->owner_gone) break;
        if (items[1].revents) {
            int closed = cnode_socket_owner_closed(n);
            if (closed < 0) {
                s_broken(n, "monitor");
                return 1;
            }
            if (closed) break;
        }
        if (items[2].revents && cnode_watchdog_stdin_gone()) break;
        if (polled == 4 && items[3].revents && cnode_curve_answer(n) < 0) {
            s_broken(n, "ZAP");
            return 1;
        }
    }
    return 0;
}
