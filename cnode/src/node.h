/*
 * node.h: the worker's state (struct cnode_t) and the private functions the library's files
 * share. Not installed: users see only include/cnode.h.
 */
#ifndef CNODE_NODE_H
#define CNODE_NODE_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <cnode.h>

#include "loop.h"
#include "protocol.h"
#include "shared.h"
#include "transport.h"

/* The descriptors CNODE_RING_FDS names, in its order (docs/protocol.md section 10). */
enum {
    CNODE_RING_FD_SEGMENT,     /* the sealed memfd holding both rings */
    CNODE_RING_FD_WAKE_WORKER, /* the eventfd the owner writes to wake the worker */
    CNODE_RING_FD_WAKE_OWNER,  /* the eventfd the worker writes to wake the owner */
    CNODE_RING_FD_LIFELINE,    /* the worker's end of the SOCK_SEQPACKET socketpair */
    CNODE_RING_NFDS
};

/* A tcp address from CNODE_BIND, CNODE_ADVERTISE or CNODE_SERVE (tcp_settings.c). */
struct cnode_tcp_address {
    char host[256];     /* "127.0.0.1", "[::1]", "0.0.0.0" (for "*"), "localhost", "build-7" */
    char port[8];       /* "5555", "*" (ephemeral), or "" when not given */
    int ipv6;           /* host is an IPv6 literal, in brackets (ZMQ_IPV6 must be on) */
    int wildcard;       /* all interfaces: "0.0.0.0", "*", "[::]" */
    int loopback;       /* 127.x.x.x, ::1 or localhost (which is bound as 127.0.0.1) */
};

/* What the owner passed at launch (docs/protocol.md section 1), or what serve mode read from
   the environment (section 11). Strings are copies: the node owns them. */
struct cnode_args {
    char *host;         /* argv[1] (serve: gethostname) */
    char *alive;        /* argv[2] (serve: CNODE_NAME, default "cnode") */
    char *name;         /* argv[3], checked to be alive@host */
    unsigned creation;  /* argv[4], positive (serve: 1) */
    int user_argc;      /* the arguments after the four standard ones (serve: after argv[0]) */
    char **user_argv;   /* ... copies, with a NULL entry at the end */
    int serve;          /* serve mode: CNODE_SERVE was set (serve.c) */
    int tcp;            /* CNODE_TRANSPORT=tcp ... */
    int local;          /* ... or local (the shared-memory ring); ipc when neither */
    char *ipc_dir;      /* CNODE_IPC_DIR, NULL but for ipc */
    int ring_fds[CNODE_RING_NFDS]; /* CNODE_RING_FDS for local, close-on-exec; -1 otherwise */
    pid_t owner_pid;    /* CNODE_OWNER_PID, 0 when not given (always in serve mode) */
    char cookie[CNODE_COOKIE_LEN + 1]; /* CNODE_COOKIE (unused in serve mode) */
    int64_t max_message_size;  /* CNODE_MAX_MESSAGE_SIZE: the most bytes in one frame, each way */
    struct cnode_tcp_address bind;      /* tcp: CNODE_BIND or CNODE_SERVE; default 127.0.0.1:* */
    struct cnode_tcp_address advertise; /* tcp: CNODE_ADVERTISE; host "" for the default */
    int heartbeat_ivl;         /* tcp: CNODE_HEARTBEAT's interval in ms, 0 for no ZMTP ping ... */
    int heartbeat_timeout;     /* ... and its timeout (ZMQ_HEARTBEAT_TIMEOUT and _TTL), in ms */
    int curve;                 /* tcp with CNODE_CURVE_SECRET and CNODE_CURVE_CLIENT; serve */
    unsigned char curve_secret[32]; /* the worker's secret key, wiped once the socket has it */
    unsigned char (*clients)[32];   /* the owner public keys ZAP lets in (malloc'd) ... */
    size_t nclients;                /* ... 1 at launch, those of CNODE_AUTHORIZED_KEYS served */
};

struct cnode_t {
    struct cnode_args args;
    size_t name_len;
    char endpoint[512];        /* as printed in the ready line */
    const struct cnode_transport_funcs *tf; /* how messages travel (transport.h) ... */
    struct cnode_transport *transport;      /* ... and its state, owned by the node */

    /* The session (session.c, reply.c): the owner, and the message being handled. */
    int has_owner;             /* a HELLO with the right cookie and version was admitted */
    int refused;               /* a HELLO had the right cookie and another version (launched) */
    int owner_gone;            /* stdin EOF, connection closed, or a send found no owner; served,
                                  until the loop forgets the owner (cnode_session_forget) */
    int stopping;              /* STOP received or cnode_stop called */
    int reported_malformed;    /* a malformed frame was reported on stderr once */
    int ran;                   /* cnode_run was called */
    cnode_handler handler;
    void *user;
    int failed;                /* cnode_fail was called during the current handler */
    char reason[1024];         /* its formatted reason */
    char code[CNODE_CODE_MAX + 1]; /* cnode_fail_code's code, "" for none */
    msgpack_sbuffer out;       /* the frame being built; its data is handed to the transport */
    msgpack_sbuffer batch;     /* whole frames for the owner, held until no input waits */
    int64_t batch_since;       /* when the first frame in `batch` was put there (cnode_now_us) */
    int64_t handler_micros;    /* how long handlers have lately run, on average */
    const struct cnode_message *request_message; /* the message being handled, or NULL ... */
    struct cnode_refs request; /* ... its side parts, and how to map shared buffers */
    struct cnode_shared_maps shared; /* the owner's shared buffers mapped here */
    struct cnode_part reply_sides[CNODE_MAX_SIDES]; /* side parts of the reply being built */
    size_t reply_nsides;
    size_t bin_head_at;        /* where in `out` the handler's last write, a bin header, is ... */
    size_t bin_head_len;       /* ... and the body size it announced (SIZE_MAX: none) */

    struct cnode_loop loop;    /* the user's timers and descriptors, and cnode_post's queue */
};

/* reply.c: what the worker sends. */
/* A failure of the library itself (not of the owner, not of a handler): prints it with errno's
   reason and returns -1; cnode_run then returns 1. */
int cnode_broken(cnode_t *n, const char *what);
/* Clears n->out and returns a packer writing into it. */
msgpack_packer cnode_packer(cnode_t *n);
/* The packer a handler packs its reply with: as cnode_packer, but the body of a big bin that
   msgpack_pack_bin_body (or msgpack_pack_object) writes becomes a side part, as with
   cnode_pack_bin. reply.c. */
msgpack_packer cnode_reply_packer(cnode_t *n);

/* The buffer a handler's reply packer (cnode_reply_packer's) writes into, or NULL when `pk` is
   another packer. */
msgpack_sbuffer *cnode_reply_buffer(const msgpack_packer *pk);

/* Sends the whole frame in n->out, or holds it in n->batch (see reply.c). Returns 0, or -1. */
int cnode_emit(cnode_t *n);
int cnode_emit_frame(cnode_t *n, msgpack_sbuffer *frame); /* the same for any packed frame */
/* Sends the frames held in n->batch, if any, so that what follows cannot overtake them.
   Returns 0, or -1 when the library failed (the reason is on stderr). */
int cnode_flush(cnode_t *n);
/* Sends the batch once its first frame has waited CNODE_BATCH_MICROS. */
int cnode_flush_if_due(cnode_t *n);
/* Sends `buf` and the side parts (taken) to the owner; a vanished owner is not an error (it
   sets owner_gone), nor a frame over the limit (dropped and said). Returns 0, or -1. */
int cnode_send_owner(cnode_t *n, msgpack_sbuffer *buf, struct cnode_part *sides, size_t nsides);
/* Releases the side parts cnode_pack_bin made for a reply that is not sent. */
void cnode_reply_drop_sides(cnode_t *n);
/* Says on stderr that a frame of `size` bytes over the owner's limit was dropped. */
void cnode_dropped(cnode_t *n, size_t size);
/* Packs the INFO frame around one packed object into buf (initialized). Returns 0 or an errno
   value: EMSGSIZE over the owner's maxMessageSize, ENOMEM. */
int cnode_pack_info(cnode_t *n, msgpack_sbuffer *buf, const void *msgpack, size_t len);

/* call.c: runs the handler for a CALL (and emits its REPLY, or a FAIL saying why) or a CAST.
   Return 0, or -1 when the library failed. */
int cnode_call(cnode_t *n, uint32_t id, const msgpack_object *message);
int cnode_cast(cnode_t *n, const msgpack_object *message);

/* session.c: the protocol over the transport. Receives and handles up to `budget` messages, in
   order, each frame as docs/protocol.md sections 3, 4 and 7 say, then sends what was held for
   a batch once nothing more waits. Returns 1 when the budget ran out (more may wait), 0 when
   nothing more waits or the session has ended (stop, owner gone), -1 on failure. */
int cnode_session_input(cnode_t *n, int budget);
/* Whether the session has ended: a STOP, cnode_stop, or the owner gone. */
int cnode_session_ended(const cnode_t *n);
/* Serve mode, once the owner is gone: forgets it and its session, so that the next HELLO may
   be admitted. Returns 0, or -1 when the transport failed. */
int cnode_session_forget(cnode_t *n);

/* args.c: fills `a` from argv and the launch line on stdin (or, with CNODE_SERVE in the
   environment, as serve.c says). On failure prints one line on stderr, frees what it copied,
   and returns -1 with errno EINVAL. */
int cnode_args_read(struct cnode_args *a, int argc, char **argv);
void cnode_args_free(struct cnode_args *a);
void cnode_wipe(void *p, size_t size);      /* zeroes a secret; not optimized away */
/* Prints "cnode_init: <message>" on stderr, frees `a`, and returns -1 with errno EINVAL. */
int cnode_args_bad(struct cnode_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A decimal integer in 1..max, digits only. Returns 0 with *out set, or -1. */
int cnode_args_positive(const char *s, unsigned long long max, unsigned long long *out);
/* Whether s is an alive name: letters, digits, '_' and '-', not empty. */
int cnode_args_is_alive(const char *s);
/* Copies argv[first..argc) into a->user_argv. Returns 0, or -1 (out of memory). */
int cnode_args_copy_user(struct cnode_args *a, int argc, char **argv, int first);
/* Reads CNODE_MAX_MESSAGE_SIZE's value (NULL: the default, 64 MiB). As cnode_args_read. */
int cnode_args_max_message_size(struct cnode_args *a, const char *value);
/* Decodes a Z85 key of exactly 40 characters into 32 bytes. Returns 0, or -1. */
int cnode_args_z85_key(const char *text, size_t len, unsigned char key[32]);

/* serve.c: serve mode's settings, from the environment (docs/protocol.md section 11). As
   cnode_args_read. */
int cnode_serve_read(struct cnode_args *a, int argc, char **argv);

/* tcp_settings.c: the tcp settings of the launch line and of serve mode. */
/* Parses "<address>" or "<address>:<port>" ("[v6]", "[v6]:<port>"; port a number in 1..65535 or
   "*"); a host without a port gets port "". Returns 0, or -1 when malformed. */
int cnode_tcp_address_parse(const char *value, struct cnode_tcp_address *out);
/* Parses "<interval_ms>,<timeout_ms>". Returns 0, or -1 when malformed. */
int cnode_heartbeat_parse(const char *value, int *interval, int *timeout);

/* watchdog.c: the owner-death watches (see cnode.h). */
/* -1 when stdin is not open; served (serve mode): no stdin check and no parent-death signal. */
int cnode_watchdog_start(pid_t owner_pid, int served);
int cnode_watchdog_stdin_gone(void);        /* after stdin polled ready: 1 at EOF */
void cnode_watchdog_end_group(void);        /* SIGTERM, then SIGKILL, to the rest of our group */

#endif /* CNODE_NODE_H */
