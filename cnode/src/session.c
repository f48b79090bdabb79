/*
 * session.c: the protocol over any transport. One clause per kind of frame: the handshake and the
 * owner's admission (docs/protocol.md section 3), then the owner's frames, dispatched in order
 * (sections 4 and 7). Messages come from the transport's recv as bytes; what carried them is
 * not known here.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "node.h"

int cnode_session_ended(const cnode_t *n)
{
    return n->stopping || n->owner_gone;
}

int cnode_session_forget(cnode_t *n)
{
    /* Nothing of the last owner's may reach the next: its buffers' mappings (none over tcp, which
       carries no SharedBuffer, but the cache is emptied all the same), the replies held for it,
       what cnode_post queued during its session, its routing id. The user's state stays; until
       the next owner comes, cnode_post fails with ENOTCONN, as cnode_send does. */
    cnode_shared_clear(&n->shared);
    msgpack_sbuffer_clear(&n->batch);
    cnode_post_attend(n, 0);
    n->has_owner = 0;
    n->owner_gone = 0;
    n->reported_malformed = 0;
    return n->tf->forget ? n->tf->forget(n->transport) : 0;
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

static int s_hello(cnode_t *n, const struct cnode_message *m, const struct cnode_frame *f)
{
    /* Launched, only the first peer with the right cookie and version becomes the owner; once a
       peer with the right cookie (so, the owner) spoke another version, nobody is accepted.
       Served (docs/protocol.md section 11), CURVE and the ZAP handler have authenticated every
       peer that gets here, so the cookie is not checked: the first with the right version while
       there is no owner becomes it, and one with another version is told so, but locks nobody
       out. */
    if (n->has_owner || n->refused || (!n->args.serve && !s_cookie_ok(n, f))) return 0;
    msgpack_packer pk = cnode_packer(n);
    if (cnode_frame_pack_welcome(&pk, n->args.name, n->name_len, (uint32_t)getpid()) < 0)
        return cnode_broken(n, "pack");
    if (f->version != CNODE_PROTOCOL_VERSION) {
        n->refused = !n->args.serve;
        size_t size = n->out.size;
        if (n->tf->send(n->transport, m, &n->out, NULL, 0) == 0) return 0;
        if (errno == EMSGSIZE) cnode_dropped(n, size);
        else if (errno != EHOSTUNREACH) return cnode_broken(n, "send");
        return 0;
    }
    if (n->tf->admit(n->transport, m) < 0) {
        if (errno == EINVAL) return 0; /* a peer the transport cannot take as the owner */
        return cnode_broken(n, "admit");
    }
    n->has_owner = 1;
    /* Launched, nobody else is ever admitted: the cookie has done its work. */
    if (!n->args.serve) cnode_wipe(n->args.cookie, sizeof n->args.cookie);
    else cnode_post_attend(n, 1);
    return cnode_send_owner(n, &n->out, NULL, 0);
}

/* Answered between handlers, like a call: a PONG late by a handler's run time is how the owner's
   heartbeat tells a hung worker. */
static int s_ping(cnode_t *n, uint32_t seq)
{
    msgpack_packer pk = cnode_packer(n);
    if (cnode_frame_pack_pong(&pk, seq) < 0) return cnode_broken(n, "pack");
    return cnode_emit(n);
}

/* A frame from the owner that is not one the protocol allows: said once, then dropped quietly,
   so that a broken owner cannot flood stderr. A CALL whose message alone is undecodable is still
   answered, so that the call fails at once instead of timing out. */
static int s_malformed(cnode_t *n, const char *data, size_t size)
{
    uint32_t id;
    if (cnode_frame_peek_call_id(data, size, &id) == 0) {
        msgpack_packer pk = cnode_packer(n);
        if (cnode_frame_pack_fail(&pk, id, n->args.name, n->name_len,
                                  "the worker cannot decode this message: it is not MessagePack, "
                                  "holds an ext value, or nests arrays and maps deeper than "
                                  "msgpack-c's limit of 31 levels")
            < 0)
            return cnode_broken(n, "pack");
        return cnode_emit(n);
    }
    if (!n->reported_malformed)
        fprintf(stderr, "cnode %s: dropped a malformed frame from the owner (%zu bytes); further "
                        "ones are dropped silently\n", n->args.name, size);
    n->reported_malformed = 1;
    return 0;
}

/* A transport that brings the buffers' descriptors with the message (the ring) is asked for
   them; otherwise the owner's descriptor `fd` is opened through /proc. */
static void *s_map_shared(void *ctx, uint32_t fd, uint64_t inode, uint64_t size)
{
    cnode_t *n = ctx;
    if (n->tf->shared_fds == NULL)
        return cnode_shared_map(&n->shared, n->args.owner_pid, fd, inode, size);
    const int *fds;
    size_t count = n->tf->shared_fds(n->transport, n->request_message, &fds);
    return cnode_shared_map_passed(&n->shared, fds, count, inode, size);
}

/* A CALL naming a shared buffer the worker could not map fails at once, saying why. */
static int s_unmappable(cnode_t *n, const char *data, size_t size, int err)
{
    uint32_t id;
    if (cnode_frame_peek_call_id(data, size, &id) < 0) return 0;
    char why[160];
    snprintf(why, sizeof why, "the worker cannot map a SharedBuffer the call names: %s",
             strerror(err));
    msgpack_packer pk = cnode_packer(n);
    if (cnode_frame_pack_fail(&pk, id, n->args.name, n->name_len, why) < 0)
        return cnode_broken(n, "pack");
    return cnode_emit(n);
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
    else if (f.kind == CNODE_FRAME_CALL) rc = cnode_call(n, f.id, f.message);
    else if (f.kind == CNODE_FRAME_CAST) rc = cnode_cast(n, f.message);
    else if (f.kind == CNODE_FRAME_STOP) n->stopping = 1;
    else if (f.kind == CNODE_FRAME_PING) rc = s_ping(n, f.seq);
    else if (f.kind == CNODE_FRAME_RELEASE) cnode_shared_forget(&n->shared, f.inode);
    /* a HELLO from the owner: it has shaken hands already */
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* A message from a peer that is not the owner: one HELLO, or nothing worth an answer. */
static int s_stranger(cnode_t *n, const struct cnode_message *m)
{
    /* Decoding costs memory in proportion to the frame (msgpack-c makes an object of every
       element): a stranger gets no more than a HELLO's worth. */
    if (m->nsides > 0 || m->frames.size > CNODE_HELLO_MAX_SIZE) return 0;
    struct cnode_frame f;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = 0;
    const struct cnode_refs none = {0};
    if (cnode_frame_decode(&u, m->frames.data, m->frames.size, &none, &f) == 0
        && f.kind == CNODE_FRAME_HELLO)
        rc = s_hello(n, m, &f);
    /* anything else: dropped without an answer */
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* One message: the owner's holds one frame or more, back to back, and the side parts they refer
   to (docs/protocol.md section 2), handled in order until a STOP. */
static int s_message(cnode_t *n, const struct cnode_message *m)
{
    if (!m->from_owner) return s_stranger(n, m);
    n->request_message = m;
    n->request = (struct cnode_refs){m->sides, m->nsides, s_map_shared, n};
    const char *data = m->frames.data;
    size_t size = m->frames.size, off = 0;
    int rc = 0;
    while (rc == 0 && off < size && !cnode_session_ended(n)) {
        struct cnode_walk w;
        /* Where the next frame would start is unknown: the rest is one malformed frame. */
        size_t len = cnode_msgpack_next(data + off, size - off, &w) == 0 ? w.len : size - off;
        rc = s_owner_frame(n, data + off, len);
        /* A cast, say, emits nothing: the batch's age is checked here too. */
        if (rc == 0) rc = cnode_flush_if_due(n);
        off += len;
    }
    n->request_message = NULL;
    n->request = (struct cnode_refs){0};
    return rc;
}

int cnode_session_input(cnode_t *n, int budget)
{
    struct cnode_message m;
    int more = 0;
    while (!cnode_session_ended(n)) {
        if (budget-- == 0) {
            more = 1;
            break;
        }
        int got = n->tf->recv(n->transport, &m);
        if (got < 0) return cnode_broken(n, "receive");
        if (got == 0) break;
        int rc = s_message(n, &m);
        n->tf->release(n->transport, &m);
        if (rc < 0) return -1;
    }
    /* Nothing more is waiting (or the session ended): what was held for a batch goes now. A
       budget that ran out leaves it to the 64 KiB and 1 ms bounds and the next call. */
    if (!more && cnode_flush(n) < 0) return -1;
    return more;
}
