/*
 * cnode.h: the C side of cnode. A worker is an ordinary C program that a Node.js `CNode` starts,
 * supervises and talks to with MessagePack messages, over ZeroMQ (ipc, tcp) or a shared-memory
 * ring (local); or that something else starts, in serve mode, for owners to attach to over tcp
 * (see cnode_init). Which one is the owner's choice: the worker's code is the same.
 *
 *     #include <cnode.h>
 *
 *     static int handle(cnode_t *node, const msgpack_object *request, msgpack_packer *reply,
 *                       void *user) {
 *         if (reply == NULL) return 0;            // a cast (node.send): nothing to answer
 *         if (request->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
 *             return cnode_fail(node, "expected an unsigned integer");
 *         return msgpack_pack_uint64(reply, request->via.u64 * 2);
 *     }
 *
 *     int main(int argc, char **argv) {
 *         cnode_t *node = cnode_init(argc, argv); // binds, prints "ready <endpoint>"
 *         if (node == NULL) return 1;             // the reason is on stderr
 *         int status = cnode_run(node, handle, NULL);
 *         cnode_destroy(node);
 *         return status;
 *     }
 *
 * Build it with `npx cnode cc worker.c -o worker`.
 *
 * Errors: a function returning int returns 0 on success and -1 on failure with errno set (as zmq.h
 * does); a function returning a pointer returns NULL on failure with errno set. cnode_strerror()
 * describes an errno value. No function here aborts the process.
 *
 * Threads: a cnode_t belongs to the thread that calls cnode_run. Call every function here from
 * that thread only (from a handler, a timer or descriptor callback, or before cnode_run), except
 * cnode_post, which any thread may call.
 *
 * What the library takes over in the worker process, so that it never outlives its owner:
 *  - stdin: its first line is the launch line, which cnode_init reads; after it, stdin is the
 *    owner's watchdog pipe, and EOF means the owner is gone. Do not read it. (Served, stdin is
 *    left alone: see cnode_init.)
 *  - stdout becomes line-buffered, so printf output reaches the owner line by line.
 *  - SIGTERM (only when the worker leads its process group, as the owner starts it): the handler
 *    ends the rest of the group as cnode_destroy does (below), then the worker dies of SIGTERM.
 *    A child the worker forks inherits the handler, which then only lets it die.
 *  - Linux: the parent-death signal is set to SIGTERM; if the owner already died while the worker
 *    was starting, cnode_init ends the process at once with SIGTERM (not when served).
 *  - the secrets (the cookie, the CurveZMQ keys) come in the launch line, never the environment,
 *    and the line is wiped once read; CNODE_* launch settings left in the environment by an
 *    older launcher are removed, so that no child of the worker sees them.
 *  - local: the descriptors CNODE_RING_FDS names (3 to 6: the ring's memory, two eventfds and
 *    the lifeline to the owner) become close-on-exec, so that no child of the worker inherits
 *    them; do not close them.
 *
 * Limits the owner sets (docs/protocol.md):
 *  - maxMessageSize: no frame either way may be bigger. The worker never sends a bigger one (a
 *    reply that would be fails the call instead, see cnode_handler and cnode_send); libzmq
 *    drops the connection of whoever sends it a bigger one, and over the ring such a message is
 *    dropped, with a line on stderr.
 *  - heartbeat: cnode_run answers the owner's pings between two callbacks. A handler (or timer,
 *    or descriptor callback) that runs longer than the owner's heartbeat timeout gets the worker
 *    declared unresponsive and killed: split long work (a timer can run it piece by piece), or
 *    ask for a longer timeout.
 */
#ifndef CNODE_H
#define CNODE_H

#include <stddef.h>
#include <msgpack.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CNODE_VERSION_MAJOR 0
#define CNODE_VERSION_MINOR 1
#define CNODE_VERSION_PATCH 0

/* The wire protocol version this library speaks (docs/protocol.md). */
#define CNODE_PROTOCOL_VERSION 4

/* A running worker node. Opaque; made by cnode_init, released by cnode_destroy. */
typedef struct cnode_t cnode_t;

/*
 * Called once per message, in arrival order, on the thread that called cnode_run.
 *  - node:    the worker.
 *  - request: the message the owner sent. It and everything it points to (strings, binaries)
 *             are valid only until the handler returns: copy what you keep. Binaries point
 *             into the received message without a copy, big ones too (they travel as their
 *             own ZeroMQ parts, or over the ring in place or as memfds the worker maps); the
 *             handler may change their bytes in place.
 *  - reply:   for a call, pack exactly one object into it: that is the response. Packing nothing
 *             answers nil; packing more than one object, or an ext value anywhere, fails the
 *             call. For a cast (node.send in Node) reply is NULL.
 *  - user:    the pointer given to cnode_run.
 * msgpack-c decodes at most 32 levels of nested arrays and maps, and the frame around a message
 * takes one: a call whose message nests deeper than 31 levels fails without reaching the handler,
 * and such a cast is dropped.
 * Return 0 on success. To answer a call with an error, return cnode_fail(node, fmt, ...): the
 * owner's call rejects with ERR_CNODE_REMOTE carrying the formatted reason (cnode_fail_code adds
 * a code of your own, the error's remoteCode). Any other non-zero
 * return also fails the call, with a generic reason. A failed cast is reported on stderr.
 * A response that makes the reply frame bigger than the owner's maxMessageSize fails the call
 * too, with a reason that gives both sizes ("the reply is N bytes, over the owner's
 * maxMessageSize of M bytes"); the owner never receives the oversized frame.
 */
typedef int (*cnode_handler)(cnode_t *node, const msgpack_object *request, msgpack_packer *reply,
                             void *user);

/*
 * Starts the worker: reads what it was launched with, binds its socket (or, for local, maps the
 * ring the owner made and checks its descriptors), installs the owner-death watches, and prints
 * "ready <endpoint>" on stdout, flushed.
 *
 * Launched (by a CNode; docs/protocol.md section 1): argv holds the four standard arguments
 * <host> <alive> <node> <creation>, then the user's (cnode_argv). Before anything else,
 * cnode_init reads the launch line, the first line on stdin: words NAME=VALUE separated by single
 * spaces, at most 4096 bytes with the newline, waiting at most 10 s; it then wipes it. The names:
 *   CNODE_COOKIE           (required) 64 hex characters, the secret of the handshake
 *   CNODE_TRANSPORT        local, ipc (the default) or tcp
 *   CNODE_RING_FDS         local: the ring's four descriptors, "3,4,5,6"
 *   CNODE_IPC_DIR          ipc: the owner's 0700 directory; the socket is <dir>/socket
 *   CNODE_OWNER_PID        the owner's pid, for the owner-death check (left out by exec)
 *   CNODE_MAX_MESSAGE_SIZE the most bytes in one frame, each way (default 64 MiB)
 *   CNODE_CURVE_SECRET     tcp: the worker's CurveZMQ secret key, Z85 (40 characters) ...
 *   CNODE_CURVE_CLIENT     ... and the owner's public key, the one client let in
 *   CNODE_BIND             tcp: <address> or <address>:<port> to bind (default 127.0.0.1, port
 *                          ephemeral; 0.0.0.0 or * for every interface)
 *   CNODE_ADVERTISE        tcp: <host> or <host>:<port> for the ready line (default the bound
 *                          address, or this host's name for a wildcard; the bound port)
 *   CNODE_HEARTBEAT        tcp: <interval_ms>,<timeout_ms>, ZMTP heartbeats on the socket
 *                          (ZMQ_HEARTBEAT_IVL, and TIMEOUT and TTL): a connection that goes
 *                          silent for the timeout counts as the owner gone
 * The ready line's endpoint is "local", "ipc://<dir>/socket" or "tcp://<host>:<port>". Over
 * tcp, with CurveZMQ keys the socket is a CURVE server that lets only the owner's public key in
 * (it then needs a libzmq built with CURVE support); off the loopback (a CNODE_BIND that is not
 * 127.x.x.x, ::1 or localhost) the keys are required.
 *
 * Served (docs/protocol.md section 11): when the environment has CNODE_SERVE, the worker is
 * started by something other than its owner (systemd, a container) and serves owners that attach
 * to it (CNode.attach in Node), one at a time, over tcp with CurveZMQ. Every argument after
 * argv[0] is the user's; there is no launch line, stdin is not read or watched (it may be
 * /dev/null), there is no parent-death signal and no owner pid. The environment:
 *   CNODE_SERVE            (required) tcp://<address>:<port> to bind, e.g. tcp://0.0.0.0:5555
 *                          (port * for an ephemeral one); the ready line names it as above
 *   CNODE_SECRET_KEY_FILE  (required) a file holding the worker's CurveZMQ secret key, Z85 (40
 *                          characters, whitespace around it allowed), readable by its owner
 *                          only (chmod 600)
 *   CNODE_AUTHORIZED_KEYS  (required) a file of the owner public keys it admits, Z85, one a
 *                          line; blank lines and lines starting with '#' are skipped; 1 to 1024;
 *                          writable by its owner only (whoever may write it may admit himself)
 *   CNODE_NAME             the alive name (default "cnode"): the node is <name>@<gethostname()>,
 *                          creation 1
 *   CNODE_MAX_MESSAGE_SIZE as above
 *   CNODE_HEARTBEAT        as above; default 1000,5000
 * These variables are removed from the environment once read, so that a child of the worker
 * (a cnode worker too, say) does not serve on them.
 * The handshake checks the owner's protocol version, not its cookie (CURVE and the authorized
 * keys have authenticated it). While an owner is attached, another's handshake goes unanswered;
 * once the owner's connection is gone (closed, or silent past the heartbeat timeout), the worker
 * forgets that owner's session (its shared maps, the replies held for it, what cnode_post queued
 * during it) and admits the next,
 * and cnode_run goes on: what the handler keeps in `user` survives from one owner to the next.
 *
 * Returns the node, owned by the caller (release it with cnode_destroy), or NULL with errno set
 * and a one-line reason on stderr that names the bad setting and never shows a secret: no launch
 * line within 10 s or stdin ending first, a line over 4096 bytes, an unknown, repeated or empty
 * setting, bad arguments, no cookie, a bad value of any setting, tcp off the loopback without
 * CurveZMQ keys, a key file readable by others or not holding a key, an authorized keys file
 * writable by others or with a bad line (named by its number), no CURVE in libzmq, stdin closed, bind failure, a ring
 * segment that is not sealed or not a ring.
 */
cnode_t *cnode_init(int argc, char **argv);

/*
 * Runs the worker's loop until the owner sends stop, the owner is gone (stdin EOF, its connection
 * or lifeline closed, its ZMTP heartbeat timed out), or cnode_stop is called from a callback, or a
 * signal ends the process. Served, an owner that goes does not end it: it waits for the next.
 * Over the ring, when the owner stops reading, a send waits for it as long as it is alive (as
 * ZeroMQ's does at its high-water mark).
 * Calls `handler` once per call or cast, answers the owner's heartbeat pings in between, and runs
 * the user's timers and descriptor callbacks and sends what cnode_post queued (below). Returns the
 * exit status to give to exit(): 0 after a stop or when the owner is gone, 1 when the library
 * itself failed, the owner broke the ring's format, or a timer or descriptor callback returned -1
 * (the reason is on stderr). May be called once per node.
 */
int cnode_run(cnode_t *node, cnode_handler handler, void *user);

/*
 * Makes cnode_run return 0 once the current callback (handler, timer, descriptor) returns. For a
 * worker that decides to end by itself; the owner then sees an exit with code 0.
 */
void cnode_stop(cnode_t *node);

/*
 * Closes the connection and frees the node. While the owner is connected over ZeroMQ, it first
 * waits, at most 1 second, until the owner has read everything the worker sent (the end mark of
 * docs/protocol.md section 6): what a worker sends just before it ends is not lost. Over the ring
 * nothing waits: what was sent is in the ring already, and the owner reads it after the exit.
 * Messages posted with cnode_post and not sent are freed. When the worker leads its process group,
 * it then ends the rest of the group, so that processes the worker forked (and theirs) end with it,
 * however the owner went: SIGTERM to them all, then (on Linux), once none is alive (a zombie counts
 * as gone) or after 1 second at most, SIGKILL to those left. It returns at once when the worker has
 * no other process in its group; a child that ignores SIGTERM holds it up for that second. SIGTERM
 * sent to the worker meanwhile is ignored. NULL is ignored.
 */
void cnode_destroy(cnode_t *node);

/* The full node name "alive@host", owned by the node. */
const char *cnode_name(const cnode_t *node);

/* The alive name (before the '@') and the host name, owned by the node. */
const char *cnode_alive(const cnode_t *node);
const char *cnode_host(const cnode_t *node);

/* The creation number: 1 for the first start of an alive name, one more for each restart. */
unsigned cnode_creation(const cnode_t *node);

/* The endpoint the worker is bound to, as printed in its ready line, owned by the node. */
const char *cnode_endpoint(const cnode_t *node);

/* The user arguments after the four standard ones (options.args in Node), and their count.
   The array is owned by the node and ends with a NULL entry. */
int cnode_argc(const cnode_t *node);
char *const *cnode_argv(const cnode_t *node);

/*
 * Sends an unsolicited message to the owner at once; it arrives as a 'message' event on the
 * CNode. From a handler, a timer or a descriptor callback (from another thread: cnode_post).
 * `msgpack` holds exactly one packed MessagePack object of `len` bytes (for example the data of a
 * msgpack_sbuffer), with no ext value in it; it is copied, the caller keeps ownership.
 * Returns 0, or -1 with errno: EINVAL (not exactly one such object), ENOTCONN (no owner connected
 * yet; served, no owner attached now), EHOSTUNREACH (the owner is gone), EMSGSIZE (the message
 * makes the frame bigger than the owner's maxMessageSize: nothing is sent, and the worker goes
 * on), ENOMEM, EIO (the replies held back for a batch, which go first, could not be sent; the
 * reason is on stderr).
 */
int cnode_send(cnode_t *node, const void *msgpack, size_t len);

/*
 * The loop is the user's too: cnode_run polls the user's descriptors and runs the user's timers
 * beside the owner's messages, on the same thread, one callback at a time (a handler, a timer or
 * a descriptor callback never runs while another does). Timers and descriptors may be added
 * before cnode_run, and by any callback, handlers included; a callback may add, cancel or remove
 * any of them, its own too. cnode_send, cnode_stop and cnode_post work from every callback. A
 * STOP from the owner, cnode_stop, or the owner going ends the loop at the next callback
 * boundary, however many timers are due. Call these four from the thread that runs cnode_run
 * (or, before it runs, the one that will).
 *
 * A callback returns 0 to go on, 1 to cancel its timer or remove its descriptor (any positive
 * value does), -1 (any negative value) to end cnode_run with status 1 at once (a line on stderr
 * says which callback).
 */
typedef int (*cnode_timer_fn)(cnode_t *node, void *user);

/*
 * Runs fn every interval_ms milliseconds (1 to 2^31-1) on the loop's thread, the first time
 * interval_ms after this call. Runs keep their period; a run more than a whole interval late (a
 * long handler) is not caught up on: the next one is due one interval after it. At most 256
 * timers at once. Returns a timer id > 0, not reused before 2^31 more timers, or -1 with errno:
 * EINVAL (node or fn NULL, interval_ms 0 or over 2^31-1), ENOSPC (256 timers already).
 */
int cnode_add_timer(cnode_t *node, unsigned interval_ms, cnode_timer_fn fn, void *user);

/*
 * Cancels a timer: fn is not called again, even when the timer is due in this loop turn; from
 * inside that timer's own callback too (its return value is then ignored). Returns 0, or -1 with
 * errno EINVAL (node NULL, timer_id not positive) or ENOENT (no such timer: never added,
 * cancelled already, or ended by its callback's return value).
 */
int cnode_cancel_timer(cnode_t *node, int timer_id);

/* Called when `fd` is ready: revents holds what poll(2) reported (POLLIN, POLLOUT, POLLPRI as
   asked, and POLLHUP, POLLERR, POLLNVAL whether asked or not). Same return convention. */
typedef int (*cnode_fd_fn)(cnode_t *node, int fd, short revents, void *user);

/*
 * Calls fn whenever `fd` is ready for `events` (POLLIN, POLLOUT, POLLPRI, or'ed), as poll(2)
 * sees it: level-triggered, so read or write what is ready, or the callback comes again at once.
 * The fd stays the user's: the library never reads, writes or closes it; close it only after
 * cnode_remove_fd (one closed while added reports POLLNVAL once, and is then removed). At most
 * 64 descriptors at once. Returns 0, or -1 with errno: EINVAL (node or fn NULL, fd negative or
 * one the library polls itself such as stdin, events 0 or other bits), EEXIST (fd is added
 * already), ENOSPC (64 descriptors already).
 */
int cnode_add_fd(cnode_t *node, int fd, short events, cnode_fd_fn fn, void *user);

/* Stops watching fd; a readiness already polled is not delivered. Returns 0, or -1 with errno
   EINVAL (node NULL, fd negative) or ENOENT (fd is not added). */
int cnode_remove_fd(cnode_t *node, int fd);

/*
 * Like cnode_send, from any thread, at any time between cnode_init and cnode_destroy: the
 * message is checked (exactly one MessagePack object, no ext value, within maxMessageSize),
 * copied, and queued; the loop sends it soon after, in the same order as the other frames it
 * sends. Messages one thread posts arrive in the order it posted them. The caller keeps
 * ownership of `msgpack`.
 * Before the owner has connected, posted messages wait for it. Served, they are taken only
 * while an owner is attached (ENOTCONN otherwise), and those still queued when it goes are
 * dropped: no owner gets another's. Once the owner is gone they are dropped; when cnode_run returns after a stop, it sends those still queued first; and after
 * cnode_run has returned, cnode_post refuses with EPIPE. cnode_destroy frees what was posted
 * and not sent. The node must outlive every call: join posting threads before cnode_destroy.
 * The queue holds at most 8192 messages and 64 MiB (a message alone in it always fits).
 * Returns 0, or -1 with errno: EINVAL (node NULL, not exactly one such object), EMSGSIZE (the
 * message makes the frame bigger than the owner's maxMessageSize), EAGAIN (the queue is full:
 * the loop is not keeping up, or is inside a long handler; try again later), ENOTCONN (served,
 * and no owner is attached), EPIPE (cnode_run has returned), ENOMEM.
 */
int cnode_post(cnode_t *node, const void *msgpack, size_t len);

/*
 * Packs a binary into a reply, as msgpack_pack_bin and msgpack_pack_bin_body would, but a binary of
 * 32 KiB or more travels beside the frame as its own part instead of being copied into it. When
 * `data` is a whole binary of the request (which a handler may change in place: the bytes are the
 * worker's own), it goes back without any copy (over the ring, when it came as a memfd, as one too
 * big for the ring's records does: that same memfd goes back; one that came inside the ring is
 * copied). The owner receives a Buffer either way. Binaries past the 64th of a reply, or packed
 * anywhere but into `reply`, are packed inline. Returns 0, or -1 with errno EINVAL or ENOMEM. Plain
 * msgpack-c into `reply` does the same: a msgpack_pack_bin header followed by the
 * msgpack_pack_bin_body of the whole binary (as msgpack_pack_object writes them) is turned into a
 * side part too.
 */
int cnode_pack_bin(cnode_t *node, msgpack_packer *pk, const void *data, size_t size);

/*
 * Packs a copy of `object`, as msgpack_pack_object would, with every binary in it packed by
 * cnode_pack_bin: echoing a request's big binaries back copies none of them. Returns 0, or -1.
 */
int cnode_pack_object(cnode_t *node, msgpack_packer *pk, const msgpack_object *object);

/*
 * Records the reason the current call fails, formatted as printf does (cut at 1023 bytes), and
 * returns -1: write `return cnode_fail(node, "bad size %d", n);` in a handler.
 */
int cnode_fail(cnode_t *node, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/*
 * The value under the string key `key` in `map` (a MessagePack map, as a request often is), or
 * NULL when `map` is not a map or has no such key. The result points into `map`: it is valid as
 * long as `map` is.
 */
const msgpack_object *cnode_map_get(const msgpack_object *map, const char *key);

/* --- Errors with a code, and msgpack-c helpers for handlers ---------------------------------- */

/*
 * Like cnode_fail, with the worker's own error code beside the reason: the owner's call rejects
 * with ERR_CNODE_REMOTE whose `remoteCode` is `code` (a string such as "SQLITE_CONSTRAINT"), and
 * whose message carries the reason. `code` is copied; it must be 1 to 64 bytes of printable ASCII
 * (space to '~'). NULL sends no code, as cnode_fail does. A bad code is a bug of the handler: the
 * call still fails, without a code, its reason ending with "(cnode_fail_code: the code is not 1
 * to 64 bytes of printable ASCII, so none is sent)", and errno is set to EINVAL. Returns -1, so
 * write `return cnode_fail_code(node, "E_RANGE", "n is %d", n);`. In a cast, the code is in the
 * line on stderr.
 */
int cnode_fail_code(cnode_t *node, const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/*
 * Typed getters for a request that is a map keyed by strings (cnode_map_get finds the key).
 * What they return points into `map` (no copy, not NUL-terminated): valid as long as `map` is,
 * which for a request is until the handler returns.
 *
 * A key that is absent, or whose value is nil (a JavaScript null), gives the fallback (or NULL)
 * and leaves errno alone. A value of the wrong type gives the fallback (or NULL) too and sets
 * errno to EINVAL; an integer that does not fit sets ERANGE. So a handler that must tell
 * "absent" from "wrong" sets errno = 0 first and checks it after, as with strtol:
 *
 *     errno = 0;
 *     int64_t limit = cnode_get_i64(request, "limit", 100);
 *     if (errno) return cnode_fail_code(node, "BAD_REQUEST", "limit: expected an integer");
 *
 * `map` that is NULL or not a map counts as having no key (errno EINVAL when not NULL).
 */

/* An integer (MessagePack int or uint) in -2^63 .. 2^63-1. A float is the wrong type, even 3.0:
   Node packs every integral number as an integer. */
int64_t cnode_get_i64(const msgpack_object *map, const char *key, int64_t fallback);

/* A number as a double: a float (32 or 64 bits), or an integer converted (rounded to the nearest
   double beyond 2^53). */
double cnode_get_f64(const msgpack_object *map, const char *key, double fallback);

/* A string: its first byte, and its length in *len (len may be NULL). An empty string gives a
   non-NULL pointer and 0. NULL (and *len 0) when absent, nil or not a string. The bytes are as
   sent: UTF-8 from Node, which may hold a NUL byte. */
const char *cnode_get_str(const msgpack_object *map, const char *key, size_t *len);

/* A binary (a Buffer, a typed array's bytes): as cnode_get_str, for MessagePack bin values. The
   bytes are the worker's own (see cnode_handler): the handler may change them in place. */
const void *cnode_get_bin(const msgpack_object *map, const char *key, size_t *len);

/* What kind of value `o` is, for a message such as "expected a string, got %s": "nil",
   "a boolean", "an integer", "a float", "a string", "a binary", "an array", "a map" or
   "an ext value", as the rest of this header calls one. Static storage; `o` must not be NULL. */
const char *cnode_type_name(const msgpack_object *o);

/*
 * Copies the string `str` (a MessagePack str object, from cnode_map_get say) into `buf` of
 * `size` bytes with a NUL after it, for the C APIs that want one. Returns 0, or -1 with errno:
 * EINVAL (str NULL or not a string, buf NULL or size 0), ERANGE (it does not fit: size must be
 * more than its length), EILSEQ (it holds a NUL byte, which would cut it short in C). On failure
 * buf holds "" (when size > 0): never a truncated string.
 */
int cnode_copy_str(const msgpack_object *str, char *buf, size_t size);

/*
 * An array whose length is known only at the end (rows from a cursor, say): begin packs the
 * header of an array32 with a count of 0, pack its elements, then end counts the objects packed
 * since begin and writes that count into the header. Nothing is copied or packed twice; the
 * header takes 5 bytes, whatever the count. Arrays may nest (end the inner before the outer).
 *
 *     cnode_array rows;
 *     if (cnode_array_begin(reply, NULL, &rows) < 0) return -1;
 *     while (sqlite3_step(stmt) == SQLITE_ROW) pack_row(reply, stmt);
 *     return cnode_array_end(&rows);
 *
 * `pk` is the handler's `reply` (buf NULL), or a packer you made over your own msgpack_sbuffer,
 * given as `buf` (msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write)), for cnode_send. The
 * struct is the caller's (on the stack); its fields are the library's.
 * begin returns 0, or -1 with errno EINVAL (pk or array NULL; buf NULL and pk not a reply; pk not
 * writing into buf, found once the header is written: those 5 bytes are then wherever pk writes,
 * so fail the call or drop that buffer) or ENOMEM. end returns 0, or -1 with errno EINVAL (the buffer no longer
 * holds the header where begin put it, or what follows it is not whole MessagePack objects).
 */
typedef struct cnode_array {
    msgpack_sbuffer *buf; /* the buffer the header is in */
    size_t at;            /* the header's offset in buf */
    uint32_t count;       /* after cnode_array_end: the elements counted */
} cnode_array;

int cnode_array_begin(msgpack_packer *pk, msgpack_sbuffer *buf, cnode_array *array);
int cnode_array_end(cnode_array *array);

/* A description of an errno value set by this library (or by the system), static storage. The
   values cnode_send sets get what they mean here ("the owner is gone"), not the system's words. */
const char *cnode_strerror(int errnum);

/* The library version, "MAJOR.MINOR.PATCH", static storage. */
const char *cnode_version(void);

#ifdef __cplusplus
}
#endif

#endif /* CNODE_H */
