/*
 * reply.c: what the worker sends its owner, and when: the batching policy (docs/protocol.md
 * section 2), the INFO frames of cnode_send, and the side parts cnode_pack_bin makes. Frames go
 * out through the transport (transport.h); nothing here knows what it is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"

int cnode_broken(cnode_t *n, const char *what)
{
    fprintf(stderr, "cnode %s: %s: %s\n", n->args.name, what, cnode_strerror(errno));
    return -1;
}

/* A frame over the owner's limit is never sent: the owner would drop the whole connection. A
   REPLY is turned into a FAIL before it gets here; only a limit too small for even a FAIL, PONG
   or WELCOME lands here. */
void cnode_dropped(cnode_t *n, size_t size)
{
    fprintf(stderr, "cnode %s: dropped a %zu-byte frame, over the owner's maxMessageSize of %lld "
                    "bytes\n", n->args.name, size, (long long)n->args.max_message_size);
}

msgpack_packer cnode_packer(cnode_t *n)
{
    msgpack_packer pk;
    msgpack_sbuffer_clear(&n->out);
    msgpack_packer_init(&pk, &n->out, msgpack_sbuffer_write);
    return pk;
}

int cnode_send_owner(cnode_t *n, msgpack_sbuffer *buf, struct cnode_part *sides, size_t nsides)
{
    size_t size = buf->size;
    if (n->tf->send(n->transport, NULL, buf, sides, nsides) == 0) return 0;
    if (errno == EHOSTUNREACH) {
        n->owner_gone = 1;
        return 0;
    }
    if (errno == EMSGSIZE) {
        cnode_dropped(n, size);
        return 0;
    }
    return cnode_broken(n, "send");
}

int cnode_flush(cnode_t *n)
{
    if (n->batch.size == 0) return 0;
    if (n->owner_gone) {
        msgpack_sbuffer_clear(&n->batch);
        return 0;
    }
    return cnode_send_owner(n, &n->batch, NULL, 0);
}

int cnode_flush_if_due(cnode_t *n)
{
    if (n->batch.size == 0 || cnode_now_us() - n->batch_since < CNODE_BATCH_MICROS) return 0;
    return cnode_flush(n);
}

/* The frame goes alone, or into n->batch: the session flushes the batch as soon as no more input
   is waiting, so many replies to frames that came together travel as one message (one message
   per reply is what limits pipelined calls, above all on the owner's side), and a lone call's
   reply goes at once. The policy does not rest on the transport's sends being asynchronous: a
   transport whose writes are synchronous batches the same. A frame too big to batch goes alone,
   after the batch. */
int cnode_emit_frame(cnode_t *n, msgpack_sbuffer *frame)
{
    size_t limit = (uint64_t)n->args.max_message_size < CNODE_BATCH_BYTES
                       ? (size_t)n->args.max_message_size : CNODE_BATCH_BYTES;
    if (frame->size <= limit - n->batch.size && n->batch.size <= limit) {
        if (n->batch.size == 0) n->batch_since = cnode_now_us();
        if (msgpack_sbuffer_write(&n->batch, frame->data, frame->size) < 0)
            return cnode_broken(n, "batch");
        msgpack_sbuffer_clear(frame);
        return cnode_flush_if_due(n);
    }
    if (cnode_flush(n) < 0) return -1;
    return n->owner_gone ? 0 : cnode_send_owner(n, frame, NULL, 0);
}

int cnode_emit(cnode_t *n)
{
    return cnode_emit_frame(n, &n->out);
}

void cnode_reply_drop_sides(cnode_t *n)
{
    for (size_t i = 0; i < n->reply_nsides; i++)
        n->reply_sides[i].release(n->reply_sides[i].data, n->reply_sides[i].hint);
    n->reply_nsides = 0;
}

int cnode_pack_info(cnode_t *n, msgpack_sbuffer *buf, const void *msgpack, size_t len)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    if (cnode_frame_pack_info_head(&pk, n->args.name, n->name_len) < 0) return ENOMEM;
    /* Before the copy: the transport would refuse the frame anyway. */
    uint64_t max = (uint64_t)n->args.max_message_size;
    if (buf->size > max || len > max - buf->size) return EMSGSIZE;
    return msgpack_sbuffer_write(buf, msgpack, len) < 0 ? ENOMEM : 0;
}

int cnode_send(cnode_t *n, const void *msgpack, size_t len)
{
    size_t count;
    if (n == NULL) {
        errno = EINVAL;
        return -1;
    }
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
    int err = cnode_pack_info(n, &buf, msgpack, len);
    int rc = err ? -1 : n->tf->send(n->transport, NULL, &buf, NULL, 0);
    if (rc < 0 && !err) err = errno;
    msgpack_sbuffer_destroy(&buf);
    if (err == EHOSTUNREACH) n->owner_gone = 1; /* cnode_run returns after the callback */
    if (rc < 0) errno = err;
    return rc;
}

static void s_free(void *data, void *hint)
{
    (void)hint;
    free(data);
}

/* A side part for the reply, sharing the bytes of the request's side part when `data` is one
   of them, whole; a copy otherwise. Returns 0, or -1. */
static int s_reply_side(cnode_t *n, const void *data, size_t size, struct cnode_part *part)
{
    for (size_t i = 0; i < n->request.nsides; i++)
        if (n->request.sides[i].data == data && n->request.sides[i].size == size
            && n->tf->retain(n->transport, n->request_message, i, part) == 0)
            return 0; /* a binary the request brought (changed in place, perhaps) */
    void *copy = malloc(size);
    if (copy == NULL) return -1;
    memcpy(copy, data, size);
    *part = (struct cnode_part){copy, size, s_free, NULL};
    return 0;
}

/* Whether a binary of `size` bytes in the reply travels as a side part: a small one costs less
   inline than as a part. */
static int s_as_side(const cnode_t *n, size_t size)
{
    return size >= CNODE_SIDE_MIN && n->reply_nsides < CNODE_MAX_SIDES
           && size <= (uint64_t)n->args.max_message_size;
}

/* Makes `data` the reply's next side part, and writes the reference to it (fixext 4, the part's
   index, big-endian) into the reply. */
static int s_pack_side_ref(cnode_t *n, const void *data, size_t size)
{
    if (s_reply_side(n, data, size, &n->reply_sides[n->reply_nsides]) < 0) return -1;
    uint32_t index = (uint32_t)++n->reply_nsides;
    const unsigned char ref[6] = {0xd6, CNODE_EXT_SIDE, index >> 24, index >> 16 & 0xff,
                                  index >> 8 & 0xff, index & 0xff};
    return msgpack_sbuffer_write(&n->out, (const char *)ref, sizeof ref); /* on failure the part
                                                                     is let go with the reply */
}

/* The reply packer's writes. msgpack_pack_bin writes a bin's header in one write, and
   msgpack_pack_bin_body its body in the next: a big body then becomes a side part in place of the
   two, so that a handler that packs with plain msgpack-c (msgpack_pack_object of the request's
   binary, say) sends it without copying it through the packer's growing buffer. */
static int s_reply_write(void *data, const char *buf, size_t len)
{
    cnode_t *n = data;
    size_t at = n->bin_head_at, announced = n->bin_head_len;
    n->bin_head_len = SIZE_MAX;
    if (announced == len && at <= n->out.size && s_as_side(n, len)) {
        n->out.size = at; /* the header goes: the reference replaces it */
        return s_pack_side_ref(n, buf, len);
    }
    const unsigned char *b = (const unsigned char *)buf;
    if (len == 3 && b[0] == 0xc5) { /* bin 16 */
        n->bin_head_at = n->out.size;
        n->bin_head_len = (size_t)b[1] << 8 | b[2];
    } else if (len == 5 && b[0] == 0xc6) { /* bin 32 */
        n->bin_head_at = n->out.size;
        n->bin_head_len = (size_t)b[1] << 24 | (size_t)b[2] << 16 | (size_t)b[3] << 8 | b[4];
    }
    return msgpack_sbuffer_write(&n->out, buf, len);
}

msgpack_packer cnode_reply_packer(cnode_t *n)
{
    msgpack_packer pk;
    msgpack_sbuffer_clear(&n->out);
    n->bin_head_len = SIZE_MAX;
    msgpack_packer_init(&pk, n, s_reply_write);
    return pk;
}

msgpack_sbuffer *cnode_reply_buffer(const msgpack_packer *pk)
{
    return pk->callback == s_reply_write ? &((cnode_t *)pk->data)->out : NULL;
}

int cnode_pack_bin(cnode_t *n, msgpack_packer *pk, const void *data, size_t size)
{
    if (n == NULL || pk == NULL || (data == NULL && size > 0)) {
        errno = EINVAL;
        return -1;
    }
    /* Only a reply carries side parts. */
    int reply = pk->data == n && pk->callback == s_reply_write;
    if (!reply || !s_as_side(n, size)) {
        if (msgpack_pack_bin(pk, size) < 0 || msgpack_pack_bin_body(pk, data, size) < 0) {
            errno = ENOMEM;
            return -1;
        }
        return 0;
    }
    n->bin_head_len = SIZE_MAX;
    if (s_pack_side_ref(n, data, size) < 0) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}
