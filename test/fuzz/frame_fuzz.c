/*
 * frame_fuzz.c: a libFuzzer harness for every function of the C library that reads bytes a peer
 * sent: the frame decoder (and a walk over what it decoded), the CALL id peek, the MessagePack
 * object counter (walk.c) and the ZAP verdict (curve.c). ASan and UBSan watch them all.
 *
 *     node scripts/build-variant.js fuzz
 *     build-fuzz/bin/frame_fuzz -max_total_time=10 <a copy of test/fuzz/corpus>
 *
 * Besides crashes, it checks that the decoder and the counter agree: a frame the decoder accepts
 * is exactly one object to the counter, which is what lets run.c trust the counter's checks.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curve.h"
#include "node.h"

/* Where the sums go, so that the compiler cannot drop the reads. */
static volatile unsigned s_sink;

/* Reads every byte of a decoded object, so that a pointer the decoder got wrong shows in ASan.
   The depth is bounded by msgpack-c's own nesting limit. */
static unsigned s_touch(const msgpack_object *o)
{
    unsigned sum = 0;
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
        for (uint32_t i = 0; i < o->via.str.size; i++) sum += (unsigned char)o->via.str.ptr[i];
        break;
    case MSGPACK_OBJECT_BIN:
        for (uint32_t i = 0; i < o->via.bin.size; i++) sum += (unsigned char)o->via.bin.ptr[i];
        break;
    case MSGPACK_OBJECT_EXT:
        for (uint32_t i = 0; i < o->via.ext.size; i++) sum += (unsigned char)o->via.ext.ptr[i];
        break;
    case MSGPACK_OBJECT_ARRAY:
        for (uint32_t i = 0; i < o->via.array.size; i++) sum += s_touch(&o->via.array.ptr[i]);
        break;
    case MSGPACK_OBJECT_MAP:
        for (uint32_t i = 0; i < o->via.map.size; i++)
            sum += s_touch(&o->via.map.ptr[i].key) + s_touch(&o->via.map.ptr[i].val);
        /* what a handler does first with a request */
        static const char *const keys[] = {"op", "value", "ms", ""};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            const msgpack_object *v = cnode_map_get(o, keys[i]);
            if (v != NULL) sum += s_touch(v);
        }
        break;
    default:
        sum += (unsigned)o->via.u64;
    }
    return sum;
}

/* Stands in for the worker's mapping of an owner's shared buffer: 64 bytes of its own. */
static void *s_map_shared(void *ctx, uint32_t fd, uint64_t inode, uint64_t size)
{
    static char shared[64];
    (void)ctx, (void)fd, (void)inode;
    if (size > sizeof shared) {
        errno = EINVAL;
        return NULL;
    }
    return shared;
}

static void s_frame(const uint8_t *data, size_t size)
{
    const char *bytes = (const char *)data;
    uint32_t id;
    size_t count;
    (void)cnode_frame_peek_call_id(bytes, size, &id);
    int walked = cnode_msgpack_count(data, size, &count);

    /* Two side parts, as a message may bring: references to parts 1 and 2 resolve, others fail;
       and one shared buffer of 64 bytes, whatever its fd and inode. */
    static char side_one[3] = "abc", side_two[1] = "x";
    const struct cnode_side sides[2] = {{side_one, sizeof side_one}, {side_two, sizeof side_two}};
    const struct cnode_refs refs = {sides, 2, s_map_shared, NULL};
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    struct cnode_frame f;
    if (cnode_frame_decode(&u, bytes, size, &refs, &f) == 0) {
        unsigned sum = 0;
        for (size_t i = 0; i < f.cookie_len; i++) sum += (unsigned char)f.cookie[i];
        if (f.message != NULL) sum += s_touch(f.message);
        s_sink = sum;
        struct cnode_walk w;
        int measured = cnode_msgpack_next(data, size, &w);
        if (measured != 0 || w.len != size || w.exts > 0 || w.shared > CNODE_MAX_SHARED
            || (w.sides + w.shared == 0 && (walked != 0 || count != 1))) {
            fprintf(stderr, "frame_fuzz: the decoder accepted a frame that the walk reads as %d "
                            "(count %zu, %d: %zu sides, %zu exts)\n", walked, count, measured,
                    w.sides, w.exts);
            abort();
        }
    }
    msgpack_unpacked_destroy(&u);
}

/* The same bytes as a message of frames back to back, split as run.c splits it; where the walk
   says the count is whole, the split must agree with it. */
static void s_message(const uint8_t *data, size_t size)
{
    size_t count, pieces = 0, off = 0;
    int walked = cnode_msgpack_count(data, size, &count);
    while (off < size) {
        struct cnode_walk w;
        if (cnode_msgpack_next(data + off, size - off, &w) < 0) break;
        size_t len = w.len;
        if (len == 0 || len > size - off) {
            fprintf(stderr, "frame_fuzz: cnode_msgpack_next measured %zu bytes of %zu\n", len,
                    size - off);
            abort();
        }
        if (len != size) s_frame(data + off, len); /* a whole-input frame was checked already */
        off += len;
        pieces++;
    }
    if (walked == 0 && (off != size || pieces != count)) {
        fprintf(stderr, "frame_fuzz: %zu objects by count, %zu pieces over %zu of %zu bytes\n",
                count, pieces, off, size);
        abort();
    }
}

/* The same bytes as a ZAP request: a part count (0..15) in the first byte's low bits, then each
   part as one length byte and that many bytes, cut short where the input ends. */
static void s_zap(const uint8_t *data, size_t size)
{
    static const unsigned char clients[2][32] = {"the owner's 32-byte public key!",
                                                  "another owner's key, 32 bytes!!"};
    struct cnode_zap_part parts[15];
    size_t count = 0, at = 1;
    if (size == 0) return;
    size_t wanted = data[0] & 0x0f;
    while (count < wanted && at < size) {
        size_t len = data[at++];
        if (len > size - at) len = size - at;
        parts[count++] = (struct cnode_zap_part){data + at, len};
        at += len;
    }
    (void)cnode_zap_allows(parts, count, clients, 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_frame(data, size);
    s_message(data, size);
    s_zap(data, size);
    return 0;
}
