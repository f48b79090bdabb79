/*
 * node.c: a worker node's life outside the message loop: cnode_init, cnode_destroy, the
 * accessors, and the calls a handler makes (cnode_send, cnode_fail, cnode_stop). The loop itself
 * is in run.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "node.h"

#define S_STR(x) #x
#define S_XSTR(x) S_STR(x)

cnode_t *cnode_init(int argc, char **argv)
{
    cnode_t *n = calloc(1, sizeof *n);
    if (n == NULL) {
        fputs("cnode_init: out of memory\n", stderr);
        errno = ENOMEM;
        return NULL;
    }
    if (cnode_args_read(&n->args, argc, argv) < 0) {
        free(n);
        errno = EINVAL;
        return NULL;
    }
    n->name_len = strlen(n->args.name);
    n->owner_fd = -1;
    msgpack_sbuffer_init(&n->out);
    msgpack_sbuffer_init(&n->batch);
    cnode_shared_init(&n->shared);
    if (cnode_watchdog_start(n->args.owner_pid) < 0) {
        fputs("cnode_init: stdin is closed: the owner's watchdog pipe is missing\n", stderr);
        cnode_destroy(n);
        errno = EINVAL;
        return NULL;
    }
    /* The owner reads stdout line by line; a worker's printf must not sit in a 4 KiB buffer. */
    fflush(stdout);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (cnode_socket_open(n) < 0) {
        int err = errno;
        cnode_destroy(n);
        errno = err;
        return NULL;
    }
    printf("ready %s\n", n->endpoint);
    fflush(stdout);
    return n;
}

void cnode_destroy(cnode_t *n)
{
    if (n == NULL) return;
    cnode_socket_close(n);
    cnode_socket_remove_ipc(n);
    msgpack_sbuffer_destroy(&n->out);
    msgpack_sbuffer_destroy(&n->batch);
    cnode_shared_clear(&n->shared);
    cnode_args_free(&n->args);
    free(n);
    /* A worker that ends leaves no process behind: the ones it forked share its group. */
    cnode_watchdog_end_group();
}

const char *cnode_name(const cnode_t *n) { return n->args.name; }
const char *cnode_alive(const cnode_t *n) { return n->args.alive; }
const char *cnode_host(const cnode_t *n) { return n->args.host; }
unsigned cnode_creation(const cnode_t *n) { return n->args.creation; }
const char *cnode_endpoint(const cnode_t *n) { return n->endpoint; }
int cnode_argc(const cnode_t *n) { return n->args.user_argc; }
char *const *cnode_argv(const cnode_t *n) { return n->args.user_argv; }

void cnode_stop(cnode_t *n) { n->stopping = 1; }

int cnode_fail(cnode_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->reason, sizeof n->reason, fmt, ap);
    va_end(ap);
    n->failed = 1;
    return -1;
}

/* Packs the INFO frame around a message into buf. Returns 0 or an errno value. */
static int s_pack_info(cnode_t *n, msgpack_sbuffer *buf, const void *msgpack, size_t len)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    if (cnode_frame_pack_info_head(&pk, n->args.name, n->name_len) < 0) return ENOMEM;
    /* Before the copy: cnode_socket_send would refuse the frame anyway. */
    uint64_t max = (uint64_t)n->args.max_message_size;
    if (buf->size > max || len > max - buf->size) return EMSGSIZE;
    return msgpack_sbuffer_write(buf, msgpack, len) < 0 ? ENOMEM : 0;
}

int cnode_send(cnode_t *n, const void *msgpack, size_t len)
{
    size_t count;
    if (n->owner_gone || !n->has_owner) {
        errno = n->owner_gone ? EHOSTUNREACH : ENOTCONN;
        return -1;
    }
    if (msgpack == NULL || cnode_msgpack_count(msgpack, len, &count) < 0 || count != 1) {
        errno = EINVAL;
        return -1;
    }
    /* Replies held back for a batch go first: the owner sees what the worker sent in order. */
    if (cnode_flush(n) < 0 || n->owner_gone) {
        errno = n->owner_gone ? EHOSTUNREACH : EIO;
        return -1;
    }
    /* Its own buffer: a handler may call this while its reply is half packed in n->out. */
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    int err = s_pack_info(n, &buf, msgpack, len);
    int rc = err ? -1 : cnode_socket_send(n, n->owner_id, n->owner_id_len, &buf, NULL, 0);
    if (rc < 0 && !err) err = errno;
    msgpack_sbuffer_destroy(&buf);
    if (err == EHOSTUNREACH) n->owner_gone = 1; /* cnode_run returns after the handler */
    if (rc < 0) errno = err;
    return rc;
}

int cnode_pack_bin(cnode_t *n, msgpack_packer *pk, const void *data, size_t size)
{
    if (n == NULL || pk == NULL || (data == NULL && size > 0)) {
        errno = EINVAL;
        return -1;
    }
    /* Only a reply carries side parts; a small binary costs less inline than as a part. */
    if (size < CNODE_SIDE_MIN || pk->data != &n->out || n->reply_nsides == CNODE_MAX_SIDES
        || size > (uint64_t)n->args.max_message_size) {
        if (msgpack_pack_bin(pk, size) < 0 || msgpack_pack_bin_body(pk, data, size) < 0) {
            errno = ENOMEM;
            return -1;
        }
        return 0;
    }
    zmq_msg_t *part = &n->reply_sides[n->reply_nsides];
    size_t i = 0;
    while (i < n->request.nsides
           && (n->request.sides[i].data != data || n->request.sides[i].size != size))
        i++;
    if (i < n->request.nsides) {
        /* A binary the request brought, whole (changed in place, perhaps): ZeroMQ sends the
           same bytes back, counting references instead of copying. */
        zmq_msg_init(part);
        if (zmq_msg_copy(part, &n->request_parts[i]) < 0) return -1;
    } else {
        if (zmq_msg_init_size(part, size) < 0) {
            errno = ENOMEM;
            return -1;
        }
        memcpy(zmq_msg_data(part), data, size);
    }
    uint32_t index = (uint32_t)++n->reply_nsides;
    const unsigned char ref[4] = {index >> 24, index >> 16 & 0xff, index >> 8 & 0xff, index & 0xff};
    if (msgpack_pack_ext(pk, sizeof ref, CNODE_EXT_SIDE) < 0
        || msgpack_pack_ext_body(pk, ref, sizeof ref) < 0) {
        errno = ENOMEM;
        return -1; /* the part is let go with the failed reply */
    }
    return 0;
}

const char *cnode_strerror(int errnum)
{
    /* What the errno values cnode_send documents mean here; the system's words for the rest
       (zmq_strerror also knows libzmq's own). */
    switch (errnum) {
    case EMSGSIZE: return "the message is over the owner's maxMessageSize";
    case ENOTCONN: return "no owner is connected yet";
    case EHOSTUNREACH: return "the owner is gone";
    default: return zmq_strerror(errnum);
    }
}

const char *cnode_version(void)
{
    return S_XSTR(CNODE_VERSION_MAJOR) "." S_XSTR(CNODE_VERSION_MINOR) "." S_XSTR(
        CNODE_VERSION_PATCH);
}
