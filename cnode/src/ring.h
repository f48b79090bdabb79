/*
 * ring.h: the shared-memory ring transport's format and its single-producer single-consumer
 * rings, used by both ends: the worker's transport (transport_ring.c) and the owner's addon
 * (addon/ring.cc). C, with no state beyond what the caller passes; docs/protocol.md section 8
 * describes the same format in prose.
 *
 * The segment is one sealed memfd (its size can never change, so no page can vanish under
 * either side and raise SIGBUS) that the owner makes and the worker inherits at spawn:
 *
 *   offset 0      header: magic, version, capacity (bytes per ring), header size
 *   offset 64     ring 0's control (owner to worker): head, tail, flags, a cache line each
 *   offset 256    ring 1's control (worker to owner)
 *   offset 4096   ring 0's data, `capacity` bytes; then ring 1's data
 *
 * head and tail are byte counts since the start, only ever growing (a 64-bit count never wraps
 * in practice); a byte's place in the data is count & (capacity - 1). Only the producer writes
 * head, only the consumer tail. Each side keeps its own count privately and never reads it back
 * from the segment, and bounds the peer's count before using it: the peer may be hostile, and
 * the memory may change while it is read (the owner reads every worker's ring so).
 *
 * A record is 8-byte aligned and never wraps: when it does not fit before the data's end, the
 * producer writes a wrap mark (a header whose size is CNODE_RING_WRAP) and starts at offset 0.
 *
 *   uint32 size     bytes after these 8 up to the record's end, before padding to 8
 *   uint16 nparts   parts of the message: the frames, then its side parts (transport.h)
 *   uint16 nfds     descriptors sent for it on the lifeline, before it was published
 *   nparts x { uint64 size; uint32 how; uint32 zero }   how: 0 inline, 1 by descriptor
 *   the inline parts' bytes, in order, each padded to 8
 *
 * A part by descriptor is a sealed memfd holding exactly its bytes; the record's descriptors
 * are those parts' memfds, in part order, then any more the message carries (the SharedBuffers
 * a call names). They travel on the lifeline, a SOCK_SEQPACKET socketpair (one sendmsg with one
 * byte and SCM_RIGHTS per record that has any), which also tells each side when the other is
 * gone: its end reads EOF, or polls POLLHUP.
 *
 * Wake-ups: a consumer about to sleep sets its ring's `sleeping` flag, issues a full fence and
 * looks at head once more; a producer publishes head, issues a full fence and, when it clears
 * the flag (it was set), writes the consumer's eventfd. A producer that finds no room sets
 * `waiting`, fences and looks again; a consumer that frees room and clears that flag writes the
 * producer's eventfd. Without both fences each side can miss the other's store (x86 reorders a
 * store before a later load), and the sleeper never wakes.
 *
 * Errors: 0 or -1 with errno set; EPROTO means the peer broke the format (an index out of
 * bounds or run backwards, a record that does not fit, a bad header).
 */
#ifndef CNODE_RING_H
#define CNODE_RING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CNODE_RING_MAGIC 0x474e5243u /* "CRNG" */
#define CNODE_RING_VERSION 1u
#define CNODE_RING_HEADER_BYTES 4096u
/* Bounds of a ring's capacity, a power of two. */
#define CNODE_RING_MIN_CAPACITY 16384u /* a record of the most parts fits in a quarter */
#define CNODE_RING_MAX_CAPACITY (1u << 30)
/* The size field of a wrap mark. */
#define CNODE_RING_WRAP 0xffffffffu
/* The most parts a record may have: the frames and up to 64 side parts (protocol.h). */
#define CNODE_RING_MAX_PARTS 65
/* The most descriptors one record may bring: every part, and 16 SharedBuffers. */
#define CNODE_RING_MAX_FDS (CNODE_RING_MAX_PARTS + 16)

enum { CNODE_RING_TO_WORKER = 0, CNODE_RING_TO_OWNER = 1 };
enum { CNODE_RING_INLINE = 0, CNODE_RING_BY_FD = 1 };

/* The size of a segment with rings of `capacity` bytes each. */
size_t cnode_ring_segment_size(uint32_t capacity);

/* Whether `capacity` is one a ring may have: a power of two within the bounds above. */
int cnode_ring_capacity_ok(uint64_t capacity);

/* Writes the header and zeroes both rings (the owner, on a fresh segment of the right size). */
void cnode_ring_format(void *segment, uint32_t capacity);

/* Checks the header of a segment mapped with `mapped` bytes; returns the capacity, or 0 with
   errno EPROTO. */
uint32_t cnode_ring_check(const void *segment, size_t mapped);

/* One side's end of one ring. Plain data: the caller owns it; cnode_ring_attach fills it. */
struct cnode_ring_end {
    void *control;       /* the ring's control block in the segment */
    unsigned char *data; /* its data */
    uint32_t capacity;
    uint64_t count;      /* this side's own count: head for a producer, tail for a consumer */
    uint64_t peer;       /* the peer's count as last read and checked */
    const char *why;     /* after EPROTO: how the peer broke the format, a static string */
};

/* Sets *e up as an end of ring `which` (CNODE_RING_TO_WORKER or _TO_OWNER) of a segment with
   rings of `capacity` bytes, at the start of the ring. */
void cnode_ring_attach(struct cnode_ring_end *e, void *segment, uint32_t capacity, int which);

/* --- The producer. */

/* The largest record a ring takes: a quarter of it, so that a wrap never waits for long. */
size_t cnode_ring_record_max(const struct cnode_ring_end *e);

/*
 * Decides which of the parts (sizes[0..n)) go inline: in order, each that still fits in
 * cnode_ring_record_max; the others go by descriptor. Writes CNODE_RING_INLINE or _BY_FD into
 * how[i] and returns the record's bytes in the ring (its header, descriptors and inline bytes,
 * padded), which is what cnode_ring_reserve asks for. n is at most CNODE_RING_MAX_PARTS.
 */
size_t cnode_ring_plan(const struct cnode_ring_end *e, const uint64_t *sizes, size_t n,
                       unsigned char *how);

/*
 * Whether a record of `bytes` (from cnode_ring_plan) fits now, counting a wrap mark it may need.
 * Returns 1; 0 when there is no room, having set the ring's `waiting` flag (the consumer writes
 * the producer's eventfd once it frees room: wait for it, then ask again); -1 with EPROTO when
 * the consumer's tail is out of bounds. Only room changes between this and cnode_ring_commit,
 * and only grows: send the record's descriptors in between.
 */
int cnode_ring_reserve(struct cnode_ring_end *e, size_t bytes);

/*
 * Writes the record reserved (`bytes` from cnode_ring_plan with these parts and `how`) and
 * publishes it. `data[i]` holds sizes[i] bytes of an inline part (NULL for one by descriptor).
 * Returns 1 when the consumer was asleep (write its eventfd), else 0.
 */
int cnode_ring_commit(struct cnode_ring_end *e, size_t bytes, const void *const *data,
                      const uint64_t *sizes, const unsigned char *how, size_t n, size_t nfds);

/* --- The consumer. */

/* One part of a record as read. */
struct cnode_ring_part {
    const unsigned char *data; /* inline bytes (in the ring, or in the copy), NULL by descriptor */
    uint64_t size;
    int how;                   /* CNODE_RING_INLINE or CNODE_RING_BY_FD */
};

/* A record as read. */
struct cnode_ring_record {
    struct cnode_ring_part parts[CNODE_RING_MAX_PARTS];
    size_t nparts;
    size_t nfds;
    uint64_t span; /* the bytes it takes in the ring, with a wrap mark before it */
};

/*
 * Reads the next record without consuming it. With `copy` (cnode_ring_record_max bytes, owned
 * by the caller) the record is first copied there and only the copy is parsed, so that a peer
 * changing the ring meanwhile cannot make what was checked differ from what is used; inline
 * parts then point into the copy. Without it they point into the ring. Returns 1, 0 when the
 * ring is empty, -1 with EPROTO for anything out of format: the peer is broken or hostile.
 */
int cnode_ring_peek(struct cnode_ring_end *e, struct cnode_ring_record *r, unsigned char *copy);

/* Consumes the record peeked last. Returns 1 when the producer was waiting for room (write its
   eventfd), else 0. */
int cnode_ring_consume(struct cnode_ring_end *e, const struct cnode_ring_record *r);

/* Whether a record has been published that this consumer has not consumed (cheap: a spin asks
   it). A head out of bounds counts as data, which cnode_ring_peek then refuses. */
int cnode_ring_ready(struct cnode_ring_end *e);

/* Before the consumer sleeps: sets `sleeping` and fences. Returns 1 when a record arrived
   meanwhile (do not sleep; the flag may stay set, which costs the producer one wake-up), else 0. */
int cnode_ring_sleep(struct cnode_ring_end *e);

/* After the consumer woke: clears `sleeping`, so that producers stop writing its eventfd. */
void cnode_ring_awake(struct cnode_ring_end *e);

/* --- Descriptors, on the lifeline and in memfds. */

/* Sends `n` descriptors (1..CNODE_RING_MAX_FDS) as one message of one byte. Returns 0, or -1
   (EAGAIN: the socket is full; try again once it polls writable). Does not close them. */
int cnode_ring_send_fds(int lifeline, const int *fds, size_t n);

/*
 * Receives one message of descriptors without waiting, close-on-exec, into fds[0..max).
 * Returns how many (a message with more than `max` is refused: its descriptors are closed and
 * -1 returned with EPROTO), 0 with errno EAGAIN when nothing is waiting, or -1: ECONNRESET
 * when the peer is gone (EOF), EPROTO for a message without descriptors, or recvmsg's errno.
 */
int cnode_ring_recv_fds(int lifeline, int *fds, size_t max);

/* Closes a descriptor the peer sent, without blocking: a socket's lingering is turned off
   first (the last close of a socket with SO_LINGER waits for its data to leave). */
void cnode_ring_close_sent(int fd);

/* A memfd holding a copy of `size` bytes at `data`, sealed so that its size never changes, and
   not yet against writing: the side that holds it last may freeze it. Returns the descriptor
   (close-on-exec), or -1. */
int cnode_ring_memfd(const void *data, size_t size);

/* Seals a part's memfd against writing, for good: the receiver may then map it knowing the
   bytes cannot change under it. Fails with EBUSY while any shared mapping of it exists (in any
   process), EPERM when it was sealed for good without it. */
int cnode_ring_freeze(int fd);

/*
 * Maps a memfd of at least `size` bytes that the peer sent, read-write and shared (the worker's
 * view of the owner's parts: the handler may change them in place), after checking that its
 * size can never shrink (else a peer could raise SIGBUS here). `size` 0 maps nothing and returns
 * a non-NULL pointer that must not be unmapped. Returns the mapping (cnode_ring_unmap it), or
 * NULL with errno: EPROTO (not sealed, or too small), or mmap's.
 */
void *cnode_ring_map(int fd, uint64_t size);

/*
 * The owner's view of a worker's part: as cnode_ring_map, but only of a frozen memfd
 * (cnode_ring_freeze), without holes, mapped privately, so that no byte the owner hands on can
 * change afterwards. NULL with errno EPERM when it is not frozen (copy it: cnode_ring_read),
 * EPROTO when it is not sealed against shrinking, too small or sparse, or mmap's.
 */
void *cnode_ring_map_frozen(int fd, uint64_t size);

/* Copies the first `size` bytes of a part's memfd to `buf`, with cnode_ring_map's checks.
   Returns 0, or -1 with errno (EPROTO as there). */
int cnode_ring_read(int fd, void *buf, uint64_t size);

/* Unmaps what cnode_ring_map or cnode_ring_map_frozen returned for `size` bytes. */
void cnode_ring_unmap(void *addr, uint64_t size);

#ifdef __cplusplus
}
#endif

#endif /* CNODE_RING_H */
