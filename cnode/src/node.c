/*
 * node.c: a worker node's life outside its loop: cnode_init, cnode_destroy, the accessors,
 * cnode_fail and cnode_stop. The loop is in loop.c, the protocol in session.c, what is sent in
 * reply.c, the transport behind transport.h.
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
    n->tf = n->args.local ? &cnode_transport_ring : &cnode_transport_zmq; /* CNODE_TRANSPORT */
    msgpack_sbuffer_init(&n->out);
    msgpack_sbuffer_init(&n->batch);
    cnode_shared_init(&n->shared);
    n->loop.post.wake[0] = -1; /* not initialized yet, for cnode_destroy */
    if (cnode_post_init(&n->loop.post) < 0) {
        int err = errno;
        fprintf(stderr, "cnode_init: the cnode_post queue: %s\n", strerror(err));
        cnode_destroy(n);
        errno = err;
        return NULL;
    }
    /* Served, no owner is attached yet: what is posted now would reach whoever comes. */
    n->loop.post.unattended = n->args.serve;
    if (cnode_watchdog_start(n->args.owner_pid, n->args.serve) < 0) {
        fputs("cnode_init: stdin is closed: the owner's watchdog pipe is missing\n", stderr);
        cnode_destroy(n);
        errno = EINVAL;
        return NULL;
    }
    /* The owner reads stdout line by line; a worker's printf must not sit in a 4 KiB buffer. */
    fflush(stdout);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if ((n->transport = n->tf->open(&n->args, n->endpoint, sizeof n->endpoint)) == NULL) {
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
    n->tf->close(n->transport, n->has_owner && !n->owner_gone);
    cnode_reply_drop_sides(n); /* a handler that packed sides, then cnode_destroy'ed: none */
    cnode_post_destroy(&n->loop.post);
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
    n->code[0] = '\0';
    n->failed = 1;
    return -1;
}

/* A code is 1 to CNODE_CODE_MAX bytes of printable ASCII (space to tilde). */
static int s_valid_code(const char *code)
{
    size_t len = 0;
    for (; code[len] != '\0'; len++)
        if (len >= CNODE_CODE_MAX || code[len] < 0x20 || code[len] > 0x7e) return 0;
    return len > 0;
}

int cnode_fail_code(cnode_t *n, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->reason, sizeof n->reason, fmt, ap);
    va_end(ap);
    n->failed = 1;
    n->code[0] = '\0';
    if (code == NULL) return -1;
    if (s_valid_code(code)) {
        memcpy(n->code, code, strlen(code) + 1);
        return -1;
    }
    /* A bad code is the handler's bug: the call still fails, and the owner reads why the code
       is missing rather than a code it cannot trust. */
    size_t len = strlen(n->reason);
    snprintf(n->reason + len, sizeof n->reason - len,
             " (cnode_fail_code: the code is not 1 to %d bytes of printable ASCII, so none is sent)",
             CNODE_CODE_MAX);
    errno = EINVAL;
    return -1;
}

const char *cnode_strerror(int errnum)
{
    /* What the errno values cnode_send and cnode_post document mean here; the system's words
       for the rest (zmq_strerror also knows libzmq's own, which the ZeroMQ transport reports). */
    switch (errnum) {
    case EMSGSIZE: return "the message is over the owner's maxMessageSize";
    case ENOTCONN: return "no owner is connected yet";
    case EHOSTUNREACH: return "the owner is gone";
    case EPIPE: return "cnode_run has ended: nothing more is sent";
    case EAGAIN: return "the queue of cnode_post is full: try again later";
    case EPROTO: return "the owner broke the ring transport's format";
    default: return zmq_strerror(errnum);
    }
}

const char *cnode_version(void)
{
    return S_XSTR(CNODE_VERSION_MAJOR) "." S_XSTR(CNODE_VERSION_MINOR) "." S_XSTR(
        CNODE_VERSION_PATCH);
}
