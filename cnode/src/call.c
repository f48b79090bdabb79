/*
 * call.c: running the user's handler for a CALL or a CAST (docs/protocol.md section 4), and the
 * checks on what it packed before the reply leaves: one object, no ext value, within the owner's
 * maxMessageSize; a reply that fails them becomes a FAIL saying why.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "node.h"

/* Runs the handler, its result in *rc; returns -1 when the library failed. Replies held for a
   batch must not wait for a slow handler: while handlers have lately run longer than
   CNODE_BATCH_SLOW_MICROS on average, what is held is sent before the next one runs. (Only a slow
   handler among fast ones still holds back the replies before it.) */
static int s_handle(cnode_t *n, const msgpack_object *message, msgpack_packer *reply, int *rc)
{
    if (n->batch.size > 0 && n->handler_micros > CNODE_BATCH_SLOW_MICROS && cnode_flush(n) < 0)
        return -1;
    int64_t start = cnode_now_us();
    n->failed = 0;
    *rc = n->handler(n, message, reply, n->user);
    /* An average over the last eight or so handler runs. */
    n->handler_micros += (cnode_now_us() - start - n->handler_micros) / 8;
    return 0;
}

/* Checks what the handler packed after the REPLY head: at most one object, and no ext value
   but the side-part references cnode_pack_bin made. Returns NULL, or why the call fails. */
static const char *s_check_response(cnode_t *n, size_t head, size_t *count, char *why,
                                    size_t why_size)
{
    const char *p = n->out.data + head;
    size_t left = n->out.size - head, sides = 0;
    *count = 0;
    while (left > 0) {
        struct cnode_walk w;
        int rc = cnode_msgpack_next(p, left, &w);
        if (rc == -1) return "handler packed an incomplete object";
        if (rc == -2) return "handler packed bytes that are not MessagePack";
        if (w.exts > 0 || w.shared > 0) break;
        sides += w.sides;
        p += w.len;
        left -= w.len;
        ++*count;
    }
    if (left > 0 || sides != n->reply_nsides)
        return "handler packed a MessagePack ext value, which cnode does not carry";
    if (*count <= 1) return NULL;
    snprintf(why, why_size, "handler packed %zu objects", *count);
    return why;
}

int cnode_call(cnode_t *n, uint32_t id, const msgpack_object *message)
{
    /* The handler packs its response straight after the REPLY head, in the buffer that becomes
       the transport's message: no copy of the response is made. */
    msgpack_packer pk = cnode_reply_packer(n);
    if (cnode_frame_pack_reply_head(&pk, id, n->args.name, n->name_len) < 0)
        return cnode_broken(n, "pack");
    size_t head = n->out.size, count = 0;
    char why[128];
    const char *reason = NULL;

    n->reply_nsides = 0;
    int rc;
    if (s_handle(n, message, &pk, &rc) < 0) return -1;
    if (rc != 0) {
        snprintf(why, sizeof why, "handler returned %d", rc);
        reason = n->failed ? n->reason : why;
    } else if ((reason = s_check_response(n, head, &count, why, sizeof why)) == NULL && count == 0
               && msgpack_pack_nil(&pk) < 0) {
        reason = "out of memory";
    }
    if (reason == NULL && n->out.size > (uint64_t)n->args.max_message_size) {
        snprintf(why, sizeof why, "the reply is %zu bytes, over the owner's maxMessageSize of "
                 "%lld bytes", n->out.size, (long long)n->args.max_message_size);
        reason = why;
    }
    if (reason != NULL) {
        cnode_reply_drop_sides(n);
        pk = cnode_packer(n);
        const char *code = n->failed && rc != 0 && n->code[0] != '\0' ? n->code : NULL;
        if (cnode_frame_pack_fail_code(&pk, id, n->args.name, n->name_len, reason, code) < 0)
            return cnode_broken(n, "pack");
    }
    if (n->reply_nsides == 0) return cnode_emit(n);
    /* A reply with side parts goes alone, after what was held for a batch. */
    size_t nsides = n->reply_nsides;
    n->reply_nsides = 0;
    if (cnode_flush(n) < 0 || n->owner_gone) {
        n->reply_nsides = nsides;
        cnode_reply_drop_sides(n);
        return n->owner_gone ? 0 : -1;
    }
    return cnode_send_owner(n, &n->out, n->reply_sides, nsides);
}

int cnode_cast(cnode_t *n, const msgpack_object *message)
{
    int rc;
    if (s_handle(n, message, NULL, &rc) < 0) return -1;
    if (rc != 0) {
        if (n->failed && n->code[0] != '\0')
            fprintf(stderr, "cnode %s: cast failed: %s: %s\n", n->args.name, n->code, n->reason);
        else if (n->failed) fprintf(stderr, "cnode %s: cast failed: %s\n", n->args.name, n->reason);
        else fprintf(stderr, "cnode %s: cast failed: handler returned %d\n", n->args.name, rc);
    }
    return 0;
}
