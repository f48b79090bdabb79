/*
 * transport_zmq.h: the ZeroMQ transport's state, shared by its two files: transport_zmq.c (the
 * ROUTER, its monitor, the table of functions) and curve.c (CurveZMQ and its ZAP handler).
 * Nothing outside them sees a zmq socket or a zmq_msg_t.
 */
#ifndef CNODE_TRANSPORT_ZMQ_H
#define CNODE_TRANSPORT_ZMQ_H

#include <zmq.h>

#include "node.h"
#include "transport.h"

struct cnode_transport {
    struct cnode_args *args;   /* the node's, which outlives the transport; curve.c wipes its key */
    void *ctx;                 /* the ZeroMQ context, owned here */
    void *router;              /* bound; the owner's DEALER connects to it */
    void *monitor;             /* PAIR receiving the router's DISCONNECTED events */
    void *zap;                 /* REP answering libzmq's ZAP requests (curve only), or NULL */
    int router_fd;             /* ZMQ_FD of each: polled as plain descriptors (fds, below) */
    int monitor_fd;
    int zap_fd;                /* -1 without curve */
    int ipc_cleaned;           /* the ipc socket file and its directory are removed */
    int dirty;                 /* the router was used since a receive last found it empty: its
                                  ZMQ_FD may have missed a wake-up (pending checks ZMQ_EVENTS) */

    unsigned char owner_id[256]; /* the owner's routing id, once admitted */
    size_t owner_id_len;
    int has_owner;
    int owner_fd;              /* the owner connection's fd, to match DISCONNECTED events */

    zmq_msg_t id;              /* the message recv returned: the sender's routing id ... */
    zmq_msg_t parts[1 + CNODE_MAX_SIDES]; /* ... its frames, then its side parts */
    size_t count;              /* parts held; 0 when no message is held */
};

/* Says why opening failed, with ZeroMQ's reason for errno; returns -1 with errno kept. */
int cnode_zmq_fail(const char *what);

#endif /* CNODE_TRANSPORT_ZMQ_H */
