/*
 * transport.h: how the worker's session reaches its owner, as a table of functions (as hiredis's
 * redisContextFuncs): open, the descriptors to poll, receive, send, service, close. The session
 * (session.c, reply.c) and the loop (loop.c) call only these; what a message travels over is the
 * implementation's alone. Two implementations: the ZeroMQ ROUTER (transport_zmq.c, ipc and tcp)
 * and the shared-memory ring (transport_ring.c, local).
 *
 * The contract the loop relies on, which fits a transport whose descriptors are plain eventfds
 * and whose writes are synchronous as well as ZeroMQ's edge-like ZMQ_FD:
 *  - after poll(2) reports any of the transport's descriptors, the loop calls recv until it
 *    returns 0, then service;
 *  - before it sleeps, the loop calls pending: a transport whose descriptor may have missed a
 *    wake-up (a send that consumed it) says there is input anyway, and the loop does not sleep;
 *    a transport may also spin there briefly for input that is about to come (the ring);
 *  - send either takes the message whole (the frames' buffer and every side part) or fails;
 *    it never calls back into the session. It waits only while the owner is alive and does not
 *    take what is sent (ZeroMQ's high-water mark, a full ring).
 *
 * Errors: as in cnode.h, 0 or -1 with errno set; failures of the library itself are printed by
 * the caller, with cnode_strerror(errno).
 */
#ifndef CNODE_TRANSPORT_H
#define CNODE_TRANSPORT_H

#include <poll.h>
#include <stddef.h>
#include <msgpack.h>

#include "protocol.h"

struct cnode_args;

/* A transport's own state; each implementation defines it. */
struct cnode_transport;

/* How a part's memory goes back to whoever made it, once the transport is done with it. May be
   called on another thread (ZeroMQ's I/O thread). The signature is ZeroMQ's zmq_free_fn. */
typedef void (*cnode_part_release_fn)(void *data, void *hint);

/* A part to send beside the frames: `size` bytes at `data`, owned by the sender until the
   transport calls release(data, hint), which it does exactly once, whether the send worked. */
struct cnode_part {
    void *data;
    size_t size;
    cnode_part_release_fn release;
    void *hint;
};

/* A message as received: the frames, then the side parts. The bytes belong to the transport
   and stay valid, and writable, until release. */
struct cnode_message {
    struct cnode_side frames;                  /* the first part: frames back to back */
    struct cnode_side sides[CNODE_MAX_SIDES];  /* the side parts (docs/protocol.md section 2) */
    size_t nsides;
    int from_owner;   /* sent by the peer the session admitted (admit, below) */
};

/* What the transport tells the session after service. */
enum cnode_transport_event {
    CNODE_TRANSPORT_QUIET = 0,      /* nothing the session must know */
    CNODE_TRANSPORT_OWNER_GONE = 1, /* the owner's connection closed */
};

/* The most descriptors one transport asks to be polled. */
#define CNODE_TRANSPORT_MAX_FDS 4

struct cnode_transport_funcs {
    const char *name;
    /* Opens the transport as the launch arguments ask, before the ready line, and writes the
       endpoint for that line into `endpoint` (`size` bytes). `args` (the node's) outlives the
       transport, which may wipe the secrets in it once it has handed them on (the CURVE key).
       On failure prints one line "cnode_init: ..." on stderr and returns NULL with errno set. */
    struct cnode_transport *(*open)(struct cnode_args *args, char *endpoint, size_t size);
    /* The descriptors to poll, with their events, into fds[0..max); returns how many. They do
       not change while the transport is open. */
    int (*fds)(struct cnode_transport *t, struct pollfd *fds, int max);
    /* Receives one message into *m without waiting. Returns 1 (release it after use), 0 when
       nothing is waiting (a message too big or with too many parts is dropped, not returned), -1
       on failure. */
    int (*recv)(struct cnode_transport *t, struct cnode_message *m);
    /* Lets go of a message recv returned. */
    void (*release)(struct cnode_transport *t, struct cnode_message *m);
    /* Keeps side part `index` of the received message *m alive beyond its release, as a part to
       send: *out then shares its bytes, without a copy. Returns 0, or -1 (the caller copies). */
    int (*retain)(struct cnode_transport *t, const struct cnode_message *m, size_t index,
                  struct cnode_part *out);
    /* The sender of *m, which holds a valid HELLO, is the owner from now on: later messages from
       it come with from_owner set, and send with to == NULL reaches it. Nobody else may reach
       the worker any more (ipc: the socket file goes). Returns 0, or -1. */
    int (*admit)(struct cnode_transport *t, const struct cnode_message *m);
    /* The descriptors the received message *m brought beside its parts for the owner's shared
       buffers its frames name (docs/protocol.md section 5), any order, into *fds; returns how
       many. They stay the transport's, open until release. NULL in a transport that carries no
       descriptors (ZeroMQ): the session then opens the owner's through /proc. */
    size_t (*shared_fds)(struct cnode_transport *t, const struct cnode_message *m,
                         const int **fds);
    /* Sends the frames in `frames` (taken: the buffer is left empty) and the side parts (taken
       whatever happens) as one message, to the owner, or with `to` to the sender of that
       received message. Returns 0, or -1 with errno: EHOSTUNREACH (the peer is gone), EMSGSIZE
       (the frames are over the owner's limit: nothing is sent, `frames` is left as it was),
       others for a failure of the transport. */
    int (*send)(struct cnode_transport *t, const struct cnode_message *to, msgpack_sbuffer *frames,
                struct cnode_part *sides, size_t nsides);
    /* After poll, and after recv returned 0: handles the transport's own events (for ZeroMQ, its
       disconnect monitor and its ZAP requests). `fds` are the descriptors fds() gave, with
       poll's revents. Returns a cnode_transport_event, or -1 on failure. */
    int (*service)(struct cnode_transport *t, const struct pollfd *fds, int count);
    /* Before the loop sleeps: 1 when input may be waiting that the descriptors will not show, 0
       when poll(2) will tell, -1 on failure. Cheap when nothing was sent since the last recv, but
       for a spin of at most some tens of microseconds (the ring's, spin.h). */
    int (*pending)(struct cnode_transport *t);
    /* Serve mode: the owner is gone; forgets it (its routing id), so that admit may take the
       next. Returns 0, or -1 on failure. NULL in a transport that is never served (the ring). */
    int (*forget)(struct cnode_transport *t);
    /* Closes and frees. With `owner_connected`, gives what is queued for the owner a bounded
       time to leave. Leaves nothing on disk. NULL is ignored. */
    void (*close)(struct cnode_transport *t, int owner_connected);
};

/* transport_zmq.c: a ZeroMQ ROUTER on ipc or tcp, with CurveZMQ over tcp when asked. */
extern const struct cnode_transport_funcs cnode_transport_zmq;
/* transport_ring.c: the shared-memory ring the owner made (ring.h), for local. */
extern const struct cnode_transport_funcs cnode_transport_ring;

#endif /* CNODE_TRANSPORT_H */
