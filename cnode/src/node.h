/*
 * node.h: the worker's state (struct cnode_t) and the private functions the library's files
 * share. Not installed: users see only include/cnode.h.
 */
#ifndef CNODE_NODE_H
#define CNODE_NODE_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <zmq.h>

#include <cnode.h>

#include "protocol.h"
#include "shared.h"

/* What the owner passed at launch (docs/protocol.md section 1). Strings are copies: the node owns
   them. */
struct cnode_args {
    char *host;         /* argv[1] */
    char *alive;        /* argv[2] */
    char *name;         /* argv[3], checked to be alive@host */
    unsigned creation;  /* argv[4], positive */
    int user_argc;      /* the arguments after the four standard ones */
    char **user_argv;   /* ... copies, with a NULL entry at the end */
    int tcp;            /* CNODE_TRANSPORT=tcp; ipc otherwise */
    char *ipc_dir;      /* CNODE_IPC_DIR, NULL for tcp */
    pid_t owner_pid;    /* CNODE_OWNER_PID, 0 when not given */
    char cookie[CNODE_COOKIE_LEN + 1]; /* CNODE_COOKIE, removed from the environment */
    int64_t max_message_size;  /* CNODE_MAX_MESSAGE_SIZE: the most bytes in one frame, each way */
    int curve;                 /* tcp with CNODE_CURVE_SECRET and CNODE_CURVE_CLIENT */
    unsigned char curve_secret[32]; /* the worker's secret key, wiped once the socket has it */
    unsigned char curve_client[32]; /* the owner's public key: the one client ZAP lets in */
};

struct cnode_t {
    struct cnode_args args;
    size_t name_len;
    char endpoint[512];        /* as printed in the ready line */
    void *ctx;                 /* the ZeroMQ context; the node owns it */
    void *router;              /* bound; the owner's DEALER connects to it */
    void *monitor;             /* PAIR receiving the router's DISCONNECTED events */
    void *zap;                 /* REP answering libzmq's ZAP requests (curve only), or NULL */
    int ipc_cleaned;           /* the ipc socket file and its directory are removed */

    unsigned char owner_id[256]; /* the owner's routing id, once its HELLO was accepted */
    size_t owner_id_len;
    int has_owner;
    int owner_fd;              /* the owner connection's fd, to match DISCONNECTED events */
    int refused;               /* a HELLO had the right cookie and another version */
    int owner_gone;            /* stdin EOF, connection closed, or a send found no owner */
    int stopping;              /* STOP received or cnode_stop called */
    int reported_malformed;    /* a malformed frame was reported on stderr once */

    int ran;                   /* cnode_run was called */
    cnode_handler handler;
    void *user;
    int failed;                /* cnode_fail was called during the current handler */
    char reason[1024];         /* its formatted reason */
    msgpack_sbuffer out;       /* the reply being built; its data is handed to ZeroMQ on send */
    msgpack_sbuffer batch;     /* whole frames for the owner, held until no input waits */
    struct timespec batch_since; /* when the first frame in `batch` was put there */
    int64_t handler_micros;    /* how long handlers have lately run, on average */
    zmq_msg_t *request_parts;  /* the side parts of the message being handled ... */
    struct cnode_refs request; /* ... their bytes, and how to map shared buffers */
    struct cnode_shared_maps shared; /* the owner's shared buffers mapped here */
    zmq_msg_t reply_sides[CNODE_MAX_SIDES]; /* side parts of the reply being built */
    size_t reply_nsides;
};

/* run.c: sends the frames held in n->batch, if any, so that what follows cannot overtake them.
   Returns 0, or -1 when the library failed (the reason is on stderr). */
int cnode_flush(cnode_t *n);

/* args.c: fills `a` from argv and the environment. On failure prints one line on stderr, frees
   what it copied, and returns -1 with errno EINVAL. */
int cnode_args_read(struct cnode_args *a, int argc, char **argv);
void cnode_args_free(struct cnode_args *a);
void cnode_wipe(void *p, size_t size);      /* zeroes a secret; not optimized away */

/* watchdog.c: the owner-death watches (see cnode.h). */
int cnode_watchdog_start(pid_t owner_pid);  /* -1 when stdin is not open */
int cnode_watchdog_stdin_gone(void);        /* after stdin polled ready: 1 at EOF */
void cnode_watchdog_end_group(void);        /* SIGTERM, then SIGKILL, to the rest of our group */

/* socket.c: ZeroMQ. */
int cnode_init_fail(const char *what);      /* prints "cnode_init: what: <zmq_strerror>"; -1 */
int cnode_socket_open(cnode_t *n);          /* prints its reason on failure */
void cnode_socket_close(cnode_t *n);
void cnode_socket_remove_ipc(cnode_t *n);   /* unlink the socket file, remove its directory */
/* Sends the packed frames in `buf` to peer `id`, handing its memory to ZeroMQ (buf is left
   empty), then the `nsides` side parts, which are consumed whatever happens. Returns 0, or -1
   with errno (EHOSTUNREACH: the peer is gone; EMSGSIZE: the frames are over the owner's
   CNODE_MAX_MESSAGE_SIZE, nothing is sent and buf is left as it was). */
int cnode_socket_send(cnode_t *n, const void *id, size_t id_len, msgpack_sbuffer *buf,
                      zmq_msg_t *sides, size_t nsides);
/* Reads the monitor's events: 1 when the owner's connection closed, 0 if not, -1 on failure. */
int cnode_socket_owner_closed(cnode_t *n);

/* curve.c: CurveZMQ and its ZAP handler, for tcp when the owner gave keys (args.curve). */
int cnode_curve_open(cnode_t *n);           /* before the router binds; prints its reason */
int cnode_curve_answer(cnode_t *n);         /* answers the waiting ZAP requests; -1 on failure */
void cnode_curve_close(cnode_t *n);

/* One part of a ZAP request, as received. */
struct cnode_zap_part {
    const void *data;
    size_t size;
};
/* The verdict on a ZAP request of `count` parts: 1 when it is a well-formed CURVE request
   presenting exactly `client` (32 bytes), 0 otherwise. No I/O: the fuzzer calls it too. */
int cnode_zap_allows(const struct cnode_zap_part *parts, size_t count,
                     const unsigned char *client);

#endif /* CNODE_NODE_H */
