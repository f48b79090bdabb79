/*
 * frame.c: the frame codec (docs/protocol.md section 2). No I/O here: run.c feeds it the bytes of
 * received ZeroMQ messages and sends the buffers it fills.
 */
#include <string.h>

#include <cnode.h>

#include "protocol.h"

static int s_is_uint(const msgpack_object *o) { return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER; }

/* Big-endian unsigned of n bytes, as MessagePack writes lengths and integers. */
static uint64_t s_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    while (n-- > 0) v = v << 8 | *p++;
    return v;
}

/* Turns the references in o into BIN objects: a side part, or the owner's shared buffer. Sets
   *failed to -1 for a reference to nothing there, -2 when mapping failed (errno is set). */
static void s_resolve(msgpack_object *o, const struct cnode_refs *refs, int *failed)
{
    if (*failed) return;
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < o->via.array.size; i++)
            s_resolve(&o->via.array.ptr[i], refs, failed);
    } else if (o->type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            s_resolve(&o->via.map.ptr[i].key, refs, failed);
            s_resolve(&o->via.map.ptr[i].val, refs, failed);
        }
    } else if (o->type == MSGPACK_OBJECT_EXT) {
        const unsigned char *p = (const unsigned char *)o->via.ext.ptr;
        char *data = NULL;
        uint64_t size = 0;
        if (o->via.ext.type == CNODE_EXT_SIDE && o->via.ext.size == 4) {
            uint64_t index = s_be(p, 4);
            if (index == 0 || index > refs->nsides) goto bad;
            data = refs->sides[index - 1].data;
            size = refs->sides[index - 1].size;
        } else if (o->via.ext.type == CNODE_EXT_SHARED
                   && o->via.ext.size == CNODE_SHARED_REF_SIZE) {
            uint64_t fd = s_be(p, 4), inode = s_be(p + 4, 8), offset = s_be(p + 12, 8);
            size = s_be(p + 20, 8);
            if (refs->map_shared == NULL || offset > UINT64_MAX - size) goto bad;
            if (size > 0) { /* no bytes, nothing to map */
                char *base = refs->map_shared(refs->ctx, (uint32_t)fd, inode, offset + size);
                if (base == NULL) {
                    *failed = -2;
                    return;
                }
                data = base + offset;
            }
        } else {
            goto bad;
        }
        if (size > UINT32_MAX) goto bad; /* a BIN's size is 32 bits */
        o->type = MSGPACK_OBJECT_BIN;
        o->via.bin.ptr = data;
        o->via.bin.size = (uint32_t)size;
    }
    return;
bad:
    *failed = -1;
}

int cnode_frame_decode(msgpack_unpacked *u, const char *data, size_t size,
                       const struct cnode_refs *refs, struct cnode_frame *f)
{
    /* msgpack-c points str, bin and ext objects into `data` rather than copying them: the
       received message must outlive the decoded frame, and run.c keeps it open until the
       handler returns. */
    /* Walked first: msgpack-c allocates an array's or map's elements as soon as it reads the
       header, so 5 bytes claiming 2^32 elements would have it ask for up to 192 GiB before it
       finds the bytes missing. A frame the walk accepts has a byte for every element it claims,
       which bounds what msgpack-c allocates by the frame's size. It also refuses ext values,
       which no frame carries, but for references. */
    struct cnode_walk w;
    size_t off = 0;
    if (cnode_msgpack_next(data, size, &w) < 0 || w.len != size || w.exts > 0
        || w.shared > CNODE_MAX_SHARED)
        return -1;
    if (msgpack_unpack_next(u, data, size, &off) != MSGPACK_UNPACK_SUCCESS || off != size)
        return -1;
    int failed = 0;
    if (w.sides + w.shared > 0) s_resolve(&u->data, refs, &failed);
    if (failed) return failed;
    const msgpack_object *o = &u->data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0 || !s_is_uint(o->via.array.ptr))
        return -1;
    const msgpack_object *e = o->via.array.ptr;
    uint32_t n = o->via.array.size;
    memset(f, 0, sizeof *f);
    switch (e[0].via.u64) {
    case CNODE_FRAME_HELLO:
        if (n != 3 || !s_is_uint(&e[1]) || e[2].type != MSGPACK_OBJECT_STR) return -1;
        f->version = e[1].via.u64;
        f->cookie = e[2].via.str.ptr;
        f->cookie_len = e[2].via.str.size;
        break;
    case CNODE_FRAME_CALL:
        if (n != 3 || !s_is_uint(&e[1]) || e[1].via.u64 > UINT32_MAX) return -1;
        f->id = (uint32_t)e[1].via.u64;
        f->message = &e[2];
        break;
    case CNODE_FRAME_CAST:
        if (n != 2) return -1;
        f->message = &e[1];
        break;
    case CNODE_FRAME_STOP:
        if (n != 1) return -1;
        break;
    case CNODE_FRAME_PING:
        if (n != 2 || !s_is_uint(&e[1]) || e[1].via.u64 > UINT32_MAX) return -1;
        f->seq = (uint32_t)e[1].via.u64;
        break;
    case CNODE_FRAME_RELEASE:
        if (n != 2 || !s_is_uint(&e[1])) return -1;
        f->inode = e[1].via.u64;
        break;
    default: /* the worker's own kinds, or unknown: nothing an owner sends */
        return -1;
    }
    f->kind = (enum cnode_frame_kind)e[0].via.u64;
    return 0;
}

int cnode_frame_peek_call_id(const char *data, size_t size, uint32_t *id)
{
    /* [3, id, ...] packed by any encoder: a fixarray (or array16/32) of 3, the positive fixint 3,
       then an unsigned integer in one of its five encodings. */
    const unsigned char *p = (const unsigned char *)data, *end = p + size;
    if (p < end && *p == 0x93) p += 1;
    else if (end - p >= 3 && p[0] == 0xdc && s_be(p + 1, 2) == 3) p += 3;
    else if (end - p >= 5 && p[0] == 0xdd && s_be(p + 1, 4) == 3) p += 5;
    else return -1;
    if (p >= end || *p++ != CNODE_FRAME_CALL || p >= end) return -1;
    static const int widths[] = {1, 2, 4, 8}; /* 0xcc uint8 .. 0xcf uint64 */
    uint64_t v;
    if (*p <= 0x7f) v = *p;
    else if (*p >= 0xcc && *p <= 0xcf && end - p > widths[*p - 0xcc])
        v = s_be(p + 1, widths[*p - 0xcc]);
    else return -1;
    if (v > UINT32_MAX) return -1;
    *id = (uint32_t)v;
    return 0;
}

static int s_pack_str(msgpack_packer *pk, const char *s, size_t len)
{
    return msgpack_pack_str(pk, len) < 0 || msgpack_pack_str_body(pk, s, len) < 0 ? -1 : 0;
}

int cnode_frame_pack_welcome(msgpack_packer *pk, const char *node, size_t node_len, uint32_t pid)
{
    if (msgpack_pack_array(pk, 4) < 0 || msgpack_pack_uint8(pk, CNODE_FRAME_WELCOME) < 0
        || msgpack_pack_uint8(pk, CNODE_PROTOCOL_VERSION) < 0 || s_pack_str(pk, node, node_len) < 0)
        return -1;
    return msgpack_pack_uint32(pk, pid);
}

int cnode_frame_pack_reply_head(msgpack_packer *pk, uint32_t id, const char *node, size_t node_len)
{
    if (msgpack_pack_array(pk, 4) < 0 || msgpack_pack_uint8(pk, CNODE_FRAME_REPLY) < 0
        || msgpack_pack_uint32(pk, id) < 0)
        return -1;
    return s_pack_str(pk, node, node_len);
}

int cnode_frame_pack_fail(msgpack_packer *pk, uint32_t id, const char *node, size_t node_len,
                          const char *reason)
{
    return cnode_frame_pack_fail_code(pk, id, node, node_len, reason, NULL);
}

int cnode_frame_pack_fail_code(msgpack_packer *pk, uint32_t id, const char *node,
                               size_t node_len, const char *reason, const char *code)
{
    if (msgpack_pack_array(pk, code == NULL ? 4 : 5) < 0
        || msgpack_pack_uint8(pk, CNODE_FRAME_FAIL) < 0 || msgpack_pack_uint32(pk, id) < 0
        || s_pack_str(pk, node, node_len) < 0 || s_pack_str(pk, reason, strlen(reason)) < 0)
        return -1;
    return code == NULL ? 0 : s_pack_str(pk, code, strlen(code));
}

int cnode_frame_pack_pong(msgpack_packer *pk, uint32_t seq)
{
    if (msgpack_pack_array(pk, 2) < 0 || msgpack_pack_uint8(pk, CNODE_FRAME_PONG) < 0) return -1;
    return msgpack_pack_uint32(pk, seq) < 0 ? -1 : 0;
}

int cnode_frame_pack_info_head(msgpack_packer *pk, const char *node, size_t node_len)
{
    if (msgpack_pack_array(pk, 3) < 0 || msgpack_pack_uint8(pk, CNODE_FRAME_INFO) < 0) return -1;
    return s_pack_str(pk, node, node_len);
}
