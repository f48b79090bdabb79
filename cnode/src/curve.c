/*
 * curve.c: CurveZMQ for the tcp transport (docs/protocol.md section 9). The ROUTER is a CURVE
 * server holding the secret key the owner made for this start, and a ZAP handler (ZeroMQ RFC 27)
 * lets a client finish the handshake only when it presents the owner's public key. Anyone else
 * who reaches the port is turned away before a single frame of theirs is read, so the cookie and
 * every message travel encrypted, to the owner only.
 *
 * libzmq asks the handler over inproc://zeromq.zap.01 in the socket's own context, and does not
 * ask at all (it lets every client in) when nothing is bound there: the handler is bound before
 * the ROUTER. The loop answers it when its descriptor polls readable (the transport's service); a
 * request made before cnode_run (between the ready line and the loop) or while a handler runs
 * waits for its answer, as libzmq allows.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "curve.h"
#include "transport_zmq.h"

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"

/* A well-formed CURVE request has 7 parts (RFC 27): version, request id, domain, address,
   identity, mechanism, the client's public key. */
#define S_ZAP_PARTS 7

int cnode_curve_open(struct cnode_transport *t)
{
    if (!t->args->curve) return 0;
    if (!zmq_has("curve")) {
        fputs("cnode_init: the owner asked for CurveZMQ encryption (CNODE_CURVE_SECRET), but this "
              "libzmq was built without it: zmq_has(\"curve\") is false; use a libzmq built with "
              "libsodium\n", stderr);
        errno = ENOTSUP;
        return -1;
    }
    int zero = 0, one = 1;
    if ((t->zap = zmq_socket(t->ctx, ZMQ_REP)) == NULL
        || zmq_setsockopt(t->zap, ZMQ_LINGER, &zero, sizeof zero) < 0
        || zmq_bind(t->zap, S_ZAP_ENDPOINT) < 0)
        return cnode_zmq_fail("ZAP handler");
    int rc = zmq_setsockopt(t->router, ZMQ_CURVE_SERVER, &one, sizeof one);
    if (rc == 0)
        rc = zmq_setsockopt(t->router, ZMQ_CURVE_SECRETKEY, t->args->curve_secret,
                            sizeof t->args->curve_secret);
    /* libzmq keeps its own copy: ours is no longer needed. */
    cnode_wipe(t->args->curve_secret, sizeof t->args->curve_secret);
    return rc < 0 ? cnode_zmq_fail("CURVE options") : 0;
}

static int s_is(const struct cnode_zap_part *p, const char *text)
{
    return p->size == strlen(text) && memcmp(p->data, text, p->size) == 0;
}

int cnode_zap_allows(const struct cnode_zap_part *parts, size_t count,
                     const unsigned char (*clients)[32], size_t nclients)
{
    if (count != S_ZAP_PARTS || !s_is(&parts[0], "1.0") || !s_is(&parts[5], "CURVE")
        || parts[6].size != 32)
        return 0;
    /* Public keys are no secret: plain comparisons will do. */
    for (size_t i = 0; i < nclients; i++)
        if (memcmp(parts[6].data, clients[i], 32) == 0) return 1;
    return 0;
}

static int s_send(void *zap, const void *data, size_t size, int more)
{
    int rc;
    do rc = zmq_send(zap, data, size, more ? ZMQ_SNDMORE : 0);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? -1 : 0;
}

/* Receives one request: its first `max` parts into msgs (the caller closes them, however many
   were read), the others read and dropped; *count is the number of parts read. Returns 0, or -1
   (EAGAIN when no request was waiting). */
static int s_recv(void *zap, zmq_msg_t *msgs, size_t max, size_t *count)
{
    *count = 0;
    for (int more = 1; more; ++*count) {
        zmq_msg_t extra, *m = *count < max ? &msgs[*count] : &extra;
        zmq_msg_init(m);
        int rc;
        while ((rc = zmq_msg_recv(m, zap, *count == 0 ? ZMQ_DONTWAIT : 0)) < 0 && errno == EINTR) {}
        if (rc < 0) {
            int err = errno;
            zmq_msg_close(m);
            errno = err;
            return -1;
        }
        more = zmq_msg_more(m);
        if (m == &extra) zmq_msg_close(m);
    }
    return 0;
}

/* The reply (RFC 27): version, request id, status code, status text, user id, metadata. */
static int s_reply(void *zap, const struct cnode_zap_part *request_id, int ok)
{
    const char *text = ok ? "OK" : "not an owner's CURVE key";
    const struct cnode_zap_part reply[] = {
        {"1.0", 3}, *request_id, {ok ? "200" : "400", 3}, {text, strlen(text)}, {"", 0}, {"", 0},
    };
    size_t parts = sizeof reply / sizeof reply[0];
    for (size_t i = 0; i < parts; i++)
        if (s_send(zap, reply[i].data, reply[i].size, i + 1 < parts) < 0) return -1;
    return 0;
}

/* Answers one waiting request. Returns 1, 0 when none was waiting, -1 on failure. */
static int s_answer_one(struct cnode_transport *t)
{
    zmq_msg_t msgs[S_ZAP_PARTS];
    struct cnode_zap_part parts[S_ZAP_PARTS], none = {"", 0};
    size_t count;
    int rc = s_recv(t->zap, msgs, S_ZAP_PARTS, &count);
    size_t kept = count < S_ZAP_PARTS ? count : S_ZAP_PARTS;
    for (size_t i = 0; i < kept; i++)
        parts[i] = (struct cnode_zap_part){zmq_msg_data(&msgs[i]), zmq_msg_size(&msgs[i])};
    if (rc == 0)
        rc = s_reply(t->zap, count > 1 ? &parts[1] : &none,
                     cnode_zap_allows(parts, count, t->args->clients,
                                          t->args->nclients));
    int err = errno;
    for (size_t i = 0; i < kept; i++) zmq_msg_close(&msgs[i]);
    errno = err;
    if (rc < 0) return count == 0 && err == EAGAIN ? 0 : -1;
    return 1;
}

int cnode_curve_answer(struct cnode_transport *t)
{
    int rc;
    while ((rc = s_answer_one(t)) > 0) {}
    return rc;
}

void cnode_curve_close(struct cnode_transport *t)
{
    if (t->zap) zmq_close(t->zap); /* linger 0: a pending answer is of no use to anyone now */
    t->zap = NULL;
}
