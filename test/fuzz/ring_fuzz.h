/*
 * ring_fuzz.h: the layout of ring_fuzz.c's input, which make_ring_corpus.c writes too. All
 * little-endian; bytes past the input's end read as zero.
 *
 *   0    uint64 head, counted from `start`     written into the worker-to-owner ring's control
 *   8    uint64 tail, counted from `start`     (the reader never reads it back)
 *   16   uint32 sleeping, uint32 waiting       the control block's flags
 *   24   uint64 start: the reader's count when it begins (rounded down to 8), as if it had
 *        consumed that much already; it lets a short input reach the data's end and a wrap
 *   32   uint8 mode: RING_FUZZ_NO_COPY peeks without a copy, pointers into the ring
 *   40   RING_FUZZ_STEPS steps of 8 bytes (struct ring_fuzz_step); step i at the reader's turn i
 *   128  the ring's data from the reader's place (start & (capacity - 1)) on, wrapping
 */
#ifndef RING_FUZZ_H
#define RING_FUZZ_H

#include <stdint.h>

#define RING_FUZZ_CAPACITY 16384u
#define RING_FUZZ_HEAD 0u
#define RING_FUZZ_TAIL 8u
#define RING_FUZZ_SLEEPING 16u
#define RING_FUZZ_WAITING 20u
#define RING_FUZZ_START 24u
#define RING_FUZZ_MODE 32u
#define RING_FUZZ_STEP0 40u
#define RING_FUZZ_STEPS 11u
#define RING_FUZZ_DATA 128u

#define RING_FUZZ_NO_COPY 0x01u

/* The size of each memfd the worker sends: a part by descriptor up to this size maps. */
#define RING_FUZZ_PART_BYTES 8192u

/* One step of the worker's, taken at the reader's turn i: before its peek, or (with
   RING_FUZZ_MIDWAY in op) after it: before the consume, or before the look that precedes sleep
   when the peek found nothing. */
struct ring_fuzz_step {
    uint8_t op;     /* one of the below, | RING_FUZZ_MIDWAY */
    uint8_t n;      /* RING_FUZZ_SEND: how many descriptors (at most 253, the kernel's limit) */
    uint16_t at;    /* RING_FUZZ_WRITE: where, in 4-byte words from the reader's place */
    uint32_t value;
};

enum {
    RING_FUZZ_NOTHING,
    RING_FUZZ_PUBLISH,  /* head += value */
    RING_FUZZ_REWIND,   /* head -= value: the worker runs its head backwards */
    RING_FUZZ_SET_HEAD, /* head = the reader's count + value */
    RING_FUZZ_WRITE,    /* value's 4 bytes into the data at the reader's place + 4 * at */
    RING_FUZZ_SEND,     /* one message of n descriptors on the lifeline: sealed memfds, and
                           unsealed ones where bit (i % 31) of value is set; bit 31 of value:
                           2 bytes instead of 1 */
    RING_FUZZ_HANG_UP,  /* the worker closes its end of the lifeline */
    RING_FUZZ_WAIT,     /* waiting = value: the worker waits for room */
};
#define RING_FUZZ_MIDWAY 0x08u

#endif /* RING_FUZZ_H */
