/*
 * protocol.h: the wire protocol, version 4 (docs/protocol.md), as the C library sees it: frame
 * kinds, and the codec that turns frames into bytes and back without doing any I/O.
 * The TypeScript twin is src/protocol.ts; keep the numbers in step with it.
 */
#ifndef CNODE_PROTOCOL_H
#define CNODE_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

/* The first element of every frame's array. */
enum cnode_frame_kind {
    CNODE_FRAME_HELLO = 1,   /* owner -> worker  [1, version, cookie] */
    CNODE_FRAME_WELCOME = 2, /* worker -> owner  [2, version, node, pid] */
    CNODE_FRAME_CALL = 3,    /* owner -> worker  [3, id, message] */
    CNODE_FRAME_CAST = 4,    /* owner -> worker  [4, message] */
    CNODE_FRAME_REPLY = 5,   /* worker -> owner  [5, id, node, response] */
    CNODE_FRAME_FAIL = 6,    /* worker -> owner  [6, id, node, reason, code?] */
    CNODE_FRAME_INFO = 7,    /* worker -> owner  [7, node, message] */
    CNODE_FRAME_STOP = 8,    /* owner -> worker  [8] */
    CNODE_FRAME_PING = 9,    /* owner -> worker  [9, seq] */
    CNODE_FRAME_PONG = 10,   /* worker -> owner  [10, seq] */
    CNODE_FRAME_RELEASE = 11, /* owner -> worker  [11, inode] */
};

/* A FAIL's code (cnode_fail_code): 1 to this many bytes of printable ASCII. */
#define CNODE_CODE_MAX 64

/* The cookie is 64 hex characters (32 random bytes), fresh per start. */
#define CNODE_COOKIE_LEN 64

/* More than any HELLO takes, however its integers are encoded (at most 3 + 9 + 9 + 5 + 64 bytes):
   a bigger frame from a peer that has not completed the handshake is dropped unread. */
#define CNODE_HELLO_MAX_SIZE 128

/* Side parts (docs/protocol.md section 2): a binary of CNODE_SIDE_MIN bytes or more travels as
   its own ZeroMQ part after the frames, at most CNODE_MAX_SIDES per message. In the frame it is
   an ext value of type CNODE_EXT_SIDE whose 4 bytes are the part's index (1 is the first part
   after the frames), big-endian. */
#define CNODE_EXT_SIDE 1
#define CNODE_SIDE_MIN 32768
#define CNODE_MAX_SIDES 64

/* A SharedBuffer (docs/protocol.md section 5): in a CALL, an ext value of type CNODE_EXT_SHARED
   whose 28 bytes are, big-endian: the memfd's descriptor in the owner (4), its inode (8), and
   the offset (8) and length (8) of the bytes meant. At most CNODE_MAX_SHARED per message, well
   below the worker's cache of mappings, so that none is unmapped while its message is handled. */
#define CNODE_EXT_SHARED 2
#define CNODE_SHARED_REF_SIZE 28
#define CNODE_MAX_SHARED 16

/* A side part as received: the worker's own bytes, which a handler may change in place. */
struct cnode_side {
    char *data;
    size_t size;
};

/* Replies held back to travel together (run.c): at most this many bytes in one message, and
   no longer than this many microseconds after the first (plus the handler running then); and
   none while handlers take longer than CNODE_BATCH_SLOW_MICROS on average. */
#define CNODE_BATCH_BYTES 65536
#define CNODE_BATCH_MICROS 1000
#define CNODE_BATCH_SLOW_MICROS 50

/* A frame received from the owner, decoded. Pointers reach into the received bytes and into the
   msgpack_unpacked given to cnode_frame_decode: valid while both are. */
struct cnode_frame {
    enum cnode_frame_kind kind;
    uint64_t version;               /* HELLO */
    const char *cookie;             /* HELLO, not NUL-terminated */
    size_t cookie_len;              /* HELLO */
    uint32_t id;                    /* CALL */
    uint32_t seq;                   /* PING */
    uint64_t inode;                 /* RELEASE */
    const msgpack_object *message;  /* CALL, CAST */
};

/* What the references in a frame resolve to. */
struct cnode_refs {
    const struct cnode_side *sides; /* the side parts of the frame's message */
    size_t nsides;
    /* Maps the owner's shared buffer and returns its first byte (at least `size` bytes), or NULL
       with errno set; NULL where shared buffers are not accepted. */
    void *(*map_shared)(void *ctx, uint32_t fd, uint64_t inode, uint64_t size);
    void *ctx;
};

/* Decodes one frame an owner may send (HELLO, CALL, CAST, STOP, PING, RELEASE) and checks its
   shape. `u` must be initialized; the caller destroys it. References become BIN objects: over
   the side part they name, or over the bytes of the shared buffer they name (refs->map_shared
   maps it). Returns 0; -1 when the bytes are not exactly one such frame, hold an ext value that
   is no reference, or a reference to a part not there, or more than CNODE_MAX_SHARED shared
   buffers; -2 when map_shared failed (errno is its). */
int cnode_frame_decode(msgpack_unpacked *u, const char *data, size_t size,
                       const struct cnode_refs *refs, struct cnode_frame *f);

/* Reads only the head of a CALL frame, [3, id, ...], for a call whose message could not be
   decoded, so that it can still be answered with FAIL. Returns 0 with *id set, or -1. */
int cnode_frame_peek_call_id(const char *data, size_t size, uint32_t *id);

/* Pack whole frames (FAIL, WELCOME, PONG) or the head of one whose last element follows (REPLY,
   INFO). Return 0, or -1 when the buffer could not grow. */
/* WELCOME carries the worker's pid on its own host (getpid()). */
int cnode_frame_pack_welcome(msgpack_packer *pk, const char *node, size_t node_len, uint32_t pid);
int cnode_frame_pack_reply_head(msgpack_packer *pk, uint32_t id, const char *node, size_t node_len);
int cnode_frame_pack_fail(msgpack_packer *pk, uint32_t id, const char *node, size_t node_len,
                          const char *reason);
/* A FAIL with the worker's own error code (cnode_fail_code) as its fifth element; NULL packs the
   four-element FAIL that cnode_frame_pack_fail does. */
int cnode_frame_pack_fail_code(msgpack_packer *pk, uint32_t id, const char *node,
                               size_t node_len, const char *reason, const char *code);
int cnode_frame_pack_info_head(msgpack_packer *pk, const char *node, size_t node_len);
int cnode_frame_pack_pong(msgpack_packer *pk, uint32_t seq);

/* Counts the whole MessagePack objects in data[0..size), without allocating and at any nesting
   depth. Returns 0 when the bytes are exactly *count objects; -1 when the last one is cut short,
   -2 when the bytes are not MessagePack, -3 at an ext value, which the protocol does not carry
   (*count then counts the whole objects before). */
int cnode_msgpack_count(const void *data, size_t size, size_t *count);

/* What cnode_msgpack_next found in one object. */
struct cnode_walk {
    size_t len;    /* the object's bytes */
    size_t sides;  /* side-part references in it (ext CNODE_EXT_SIDE, fixext 4) */
    size_t shared; /* shared-buffer references in it (ext CNODE_EXT_SHARED, ext 8 of 28 bytes) */
    size_t exts;   /* other ext values in it, which the protocol does not carry */
};

/* Measures the first MessagePack object in data[0..size), the same way: returns 0 with *w
   filled; -1 when it is cut short (or size is 0), -2 when the bytes are not MessagePack. */
int cnode_msgpack_next(const void *data, size_t size, struct cnode_walk *w);

#endif /* CNODE_PROTOCOL_H */
