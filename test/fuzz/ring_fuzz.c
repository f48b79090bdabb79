/*
 * ring_fuzz.c: a libFuzzer harness for the owner's reader of a worker's ring (ring.h). The input
 * becomes the worker-to-owner ring of a segment (its head, tail, flags and data; ring_fuzz.h has
 * the layout), and the harness reads it as addon/ring.cc does: cnode_ring_peek into a private
 * copy, the record's descriptors from the lifeline with cnode_ring_recv_fds, its parts by
 * descriptor with cnode_ring_map, cnode_ring_consume; until the ring is empty or refused. The
 * worker is hostile: its ring, its head and what it sends on the lifeline come from the input,
 * and a few steps change them between the reader's calls.
 *
 *     node scripts/build-variant.js fuzz
 *     build-fuzz/bin/ring_fuzz -max_total_time=10 <a copy of test/fuzz/ring_corpus>
 *
 * Besides what ASan and UBSan catch (all of the segment but what the reader may touch is
 * poisoned), it checks what the owner relies on: a record's inline parts lie inside the bytes
 * copied for it, in order; nparts is 1..CNODE_RING_MAX_PARTS; nfds is at most
 * CNODE_RING_MAX_FDS and no fewer than the parts by descriptor; span is the record (and the wrap
 * mark before it), never more than was published; the count never passes head; peek writes
 * nothing; recv_fds returns what was sent, in order, and no descriptor leaks.
 *
 * A peer writing during one call is not simulated: with a copy it changes nothing that this
 * does not reach, as peek parses only the copy and refuses one whose size is not what it read.
 */
#include <errno.h>
#include <sanitizer/asan_interface.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring.h"
#include "ring_fuzz.h"

/* Where ring.c keeps a control block's fields (its struct s_control): a cache line each. */
#define S_HEAD 0u
#define S_TAIL 64u
#define S_SLEEPING 128u
#define S_WAITING 132u
#define S_CONTROL_BYTES 192u

#define S_CAPACITY RING_FUZZ_CAPACITY
#define S_MAX_QUEUED 256u /* descriptors the owner keeps ahead of their records */
#define S_SCM_MAX_FD 253u /* the kernel's limit per message */

#define S_CHECK(cond)                                                                          \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "ring_fuzz.c:%d: %s\n", __LINE__, #cond);                          \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

static unsigned char *s_segment, *s_copy;
static size_t s_segment_bytes;
static int s_sealed = -1, s_unsealed = -1, s_lifeline[2] = {-1, -1}; /* [0] the owner's end */
static ino_t s_sealed_ino, s_unsealed_ino;
static unsigned char s_part[RING_FUZZ_PART_BYTES]; /* what every memfd holds */
static volatile unsigned s_sink;                 /* so that the compiler keeps the reads */

/* One run: the reader, and what the worker has sent on the lifeline and the owner holds. */
struct s_run {
    struct cnode_ring_end e;
    unsigned char *control;
    struct {
        unsigned n;
        uint32_t value;
    } sent[RING_FUZZ_STEPS]; /* messages sent and not yet received, oldest first */
    size_t nsent, received;
    int hung_up;
    int queued[S_MAX_QUEUED];
    ino_t queued_ino[S_MAX_QUEUED];
    size_t nqueued;
};

static uint64_t s_get64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint32_t s_get32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void s_put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static void s_put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }

static uint64_t s_input64(const uint8_t *data, size_t size, size_t at)
{
    unsigned char b[8] = {0};
    if (at < size) memcpy(b, data + at, size - at < 8 ? size - at : 8);
    return s_get64(b);
}

static void s_die(const char *what)
{
    perror(what);
    abort();
}

static void s_open_lifeline(void)
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, s_lifeline) < 0)
        s_die("ring_fuzz: socketpair");
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    s_segment_bytes = cnode_ring_segment_size(S_CAPACITY);
    s_segment = malloc(s_segment_bytes); /* exactly: ASan's redzone right after ring 1's data */
    s_copy = malloc(S_CAPACITY / 4);     /* cnode_ring_record_max bytes, as addon/ring.cc */
    if (s_segment == NULL || s_copy == NULL) s_die("ring_fuzz: malloc");
    for (size_t i = 0; i < sizeof s_part; i++) s_part[i] = (unsigned char)(i * 7u + 1u);
    s_sealed = cnode_ring_memfd(s_part, sizeof s_part);
    s_unsealed = memfd_create("ring-fuzz-unsealed", MFD_CLOEXEC);
    if (s_sealed < 0 || s_unsealed < 0 || write(s_unsealed, s_part, sizeof s_part) != sizeof s_part)
        s_die("ring_fuzz: memfd");
    struct stat st;
    if (fstat(s_sealed, &st) < 0) s_die("ring_fuzz: fstat");
    s_sealed_ino = st.st_ino;
    if (fstat(s_unsealed, &st) < 0) s_die("ring_fuzz: fstat");
    s_unsealed_ino = st.st_ino;
    s_open_lifeline();
    return 0;
}

/* Poisons all of the segment that the owner's reader of ring 1 has no business touching. */
static void s_poison(void)
{
    unsigned char *c = s_segment + 64u + S_CONTROL_BYTES;
    ASAN_POISON_MEMORY_REGION(s_segment, (size_t)(c - s_segment));     /* header, ring 0 */
    ASAN_POISON_MEMORY_REGION(c + S_HEAD + 8u, S_TAIL - S_HEAD - 8u);  /* the pads */
    ASAN_POISON_MEMORY_REGION(c + S_TAIL + 8u, S_SLEEPING - S_TAIL - 8u);
    ASAN_POISON_MEMORY_REGION(c + S_WAITING + 4u, (size_t)(s_segment + CNODE_RING_HEADER_BYTES
                                                           + S_CAPACITY - (c + S_WAITING + 4u)));
}

/* The worker sends one message of `n` descriptors (value as in RING_FUZZ_SEND). */
static void s_send(struct s_run *run, unsigned n, uint32_t value)
{
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(int) * S_SCM_MAX_FD)];
    } control;
    memset(&control, 0, sizeof control);
    if (n > S_SCM_MAX_FD) n = S_SCM_MAX_FD;
    char bytes[2] = {0, 0};
    struct iovec iov = {bytes, (value >> 31) ? 2u : 1u};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (n > 0) {
        msg.msg_control = control.bytes;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * n);
        for (unsigned i = 0; i < n; i++) {
            int fd = (value >> (i % 31u)) & 1u ? s_unsealed : s_sealed;
            memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof fd);
        }
    }
    /* Refused once hung up (EPIPE), or by the kernel's limits: then it was never sent. */
    if (sendmsg(s_lifeline[1], &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) return;
    run->sent[run->nsent].n = n;
    run->sent[run->nsent].value = value;
    run->nsent++;
}

static void s_step(struct s_run *run, const struct ring_fuzz_step *st)
{
    unsigned char *head = run->control + S_HEAD;
    switch (st->op & 7u) {
    case RING_FUZZ_PUBLISH:
        s_put64(head, s_get64(head) + st->value);
        break;
    case RING_FUZZ_REWIND:
        s_put64(head, s_get64(head) - st->value);
        break;
    case RING_FUZZ_SET_HEAD:
        s_put64(head, run->e.count + st->value);
        break;
    case RING_FUZZ_WRITE:
        s_put32(run->e.data + ((run->e.count + 4u * (uint64_t)st->at) & (S_CAPACITY - 1u)),
                st->value);
        break;
    case RING_FUZZ_SEND:
        s_send(run, st->n, st->value);
        break;
    case RING_FUZZ_HANG_UP:
        if (!run->hung_up && shutdown(s_lifeline[1], SHUT_WR) < 0) s_die("ring_fuzz: shutdown");
        run->hung_up = 1;
        break;
    case RING_FUZZ_WAIT:
        s_put32(run->control + S_WAITING, st->value);
        break;
    default:
        break;
    }
}

/* The owner's ReadLifeline: takes every message waiting, checking each against what was sent.
   Returns 0 when the owner would call the worker's lifeline a violation. */
static int s_read_lifeline(struct s_run *run)
{
    for (;;) {
        int fds[CNODE_RING_MAX_FDS];
        int expected = 0, expected_errno = EAGAIN;
        uint32_t value = 0;
        if (run->received < run->nsent) {
            unsigned n = run->sent[run->received].n;
            value = run->sent[run->received++].value;
            if (n == 0 || n > CNODE_RING_MAX_FDS || (value >> 31)) {
                expected = -1;
                expected_errno = EPROTO;
            } else {
                expected = (int)n;
            }
        } else if (run->hung_up) {
            expected = -1;
            expected_errno = ECONNRESET;
        }
        errno = 0;
        int n = cnode_ring_recv_fds(s_lifeline[0], fds, CNODE_RING_MAX_FDS);
        S_CHECK(n == expected);
        if (n <= 0) {
            S_CHECK(errno == expected_errno);
            return n == 0 || errno == ECONNRESET;
        }
        for (int i = 0; i < n; i++) {
            struct stat st;
            S_CHECK(fstat(fds[i], &st) == 0);
            S_CHECK(st.st_ino == ((value >> (i % 31)) & 1u ? s_unsealed_ino : s_sealed_ino));
        }
        if (run->nqueued + (size_t)n > S_MAX_QUEUED) {
            for (int i = 0; i < n; i++) close(fds[i]);
            return 0;
        }
        for (int i = 0; i < n; i++) {
            run->queued[run->nqueued] = fds[i];
            run->queued_ino[run->nqueued++] = (value >> (i % 31)) & 1u ? s_unsealed_ino
                                                                       : s_sealed_ino;
        }
    }
}

/* The owner's Unpack: the record's descriptors, and a mapping of each part by descriptor.
   Returns 0 when the owner would refuse the record. */
static int s_unpack(struct s_run *run, const struct cnode_ring_record *r)
{
    if (run->nqueued < r->nfds && !s_read_lifeline(run)) return 0;
    if (run->nqueued < r->nfds) return 0; /* naming descriptors it did not send */
    int ok = 1;
    size_t next = 0;
    for (size_t i = 0; i < r->nparts && ok; i++) {
        const struct cnode_ring_part *part = &r->parts[i];
        if (part->how != CNODE_RING_BY_FD) continue;
        S_CHECK(next < r->nfds);
        int fits = run->queued_ino[next] == s_sealed_ino && part->size <= sizeof s_part;
        errno = 0;
        unsigned char *addr = cnode_ring_map(run->queued[next++], part->size);
        S_CHECK((addr != NULL) == fits);
        if (addr == NULL) {
            S_CHECK(errno == EPROTO);
            ok = 0;
            break;
        }
        S_CHECK(memcmp(addr, s_part, part->size) == 0);
        cnode_ring_unmap(addr, part->size);
    }
    for (size_t i = 0; i < r->nfds; i++) close(run->queued[i]);
    run->nqueued -= r->nfds;
    memmove(run->queued, run->queued + r->nfds, run->nqueued * sizeof run->queued[0]);
    memmove(run->queued_ino, run->queued_ino + r->nfds, run->nqueued * sizeof run->queued_ino[0]);
    return ok;
}

/* What a record peeked at `count`, with `head` published, must be. `copy` is NULL without one. */
static void s_check_record(const struct s_run *run, const struct cnode_ring_record *r,
                           uint64_t count, uint64_t head, const unsigned char *copy)
{
    const unsigned char *data = run->e.data;
    uint64_t at = count & (S_CAPACITY - 1u);
    uint64_t skip = s_get32(data + at) == CNODE_RING_WRAP ? S_CAPACITY - at : 0;
    S_CHECK(r->span <= head - count);
    S_CHECK(r->span > skip && r->span % 8u == 0);
    uint64_t total = r->span - skip;
    const unsigned char *ring = data + (skip > 0 ? 0 : at);
    S_CHECK(total <= cnode_ring_record_max(&run->e));
    S_CHECK((uint64_t)(ring - data) + total <= S_CAPACITY);
    S_CHECK(r->nparts >= 1 && r->nparts <= CNODE_RING_MAX_PARTS);
    S_CHECK(r->nfds <= CNODE_RING_MAX_FDS);
    S_CHECK(total >= 8u + 16u * r->nparts);
    const unsigned char *base = copy != NULL ? copy : ring;
    if (copy != NULL) S_CHECK(memcmp(copy, ring, total) == 0);
    uint32_t size = s_get32(base);
    uint16_t counts[2];
    memcpy(counts, base + 4, 4);
    S_CHECK(((8u + (uint64_t)size + 7u) & ~(uint64_t)7u) == total);
    S_CHECK(counts[0] == r->nparts && counts[1] == r->nfds);
    size_t by_fd = 0;
    uint64_t next = 8u + 16u * r->nparts; /* where the next inline part may start */
    unsigned sum = 0;
    for (size_t i = 0; i < r->nparts; i++) {
        const struct cnode_ring_part *part = &r->parts[i];
        S_CHECK(s_get64(base + 8u + 16u * i) == part->size);
        if (part->how == CNODE_RING_BY_FD) {
            S_CHECK(part->data == NULL);
            by_fd++;
            continue;
        }
        S_CHECK(part->how == CNODE_RING_INLINE && part->data != NULL);
        S_CHECK(part->data >= base + next && part->data <= base + total);
        uint64_t offset = (uint64_t)(part->data - base);
        S_CHECK(part->size <= total - offset);
        for (uint64_t j = 0; j < part->size; j++) sum += part->data[j];
        next = offset + part->size;
    }
    S_CHECK(by_fd <= r->nfds);
    s_sink = sum;
}

/* Closes what the owner holds and empties the lifeline; a hung-up one is made again. */
static void s_finish(struct s_run *run)
{
    for (size_t i = 0; i < run->nqueued; i++) close(run->queued[i]);
    for (;;) {
        int fds[CNODE_RING_MAX_FDS];
        int n = cnode_ring_recv_fds(s_lifeline[0], fds, CNODE_RING_MAX_FDS);
        if (n == 0 || (n < 0 && errno != EPROTO)) break;
        for (int i = 0; i < n; i++) close(fds[i]);
    }
    if (run->hung_up) {
        close(s_lifeline[0]);
        close(s_lifeline[1]);
        s_open_lifeline();
    }
}

/* The lowest descriptor free: the same after a run as before it, unless one leaked. */
static int s_lowest_free_fd(void)
{
    int fd = dup(s_sealed);
    if (fd < 0) s_die("ring_fuzz: dup");
    close(fd);
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
    int lowest_fd = s_lowest_free_fd();
    ASAN_UNPOISON_MEMORY_REGION(s_segment, s_segment_bytes);
    memset(s_segment, 0, s_segment_bytes);
    cnode_ring_format(s_segment, S_CAPACITY);

    static struct s_run run;
    memset(&run, 0, sizeof run);
    cnode_ring_attach(&run.e, s_segment, S_CAPACITY, CNODE_RING_TO_OWNER);
    run.control = run.e.control;
    uint64_t start = s_input64(input, size, RING_FUZZ_START) & ~(uint64_t)7u;
    run.e.count = run.e.peer = start;
    s_put64(run.control + S_HEAD, start + s_input64(input, size, RING_FUZZ_HEAD));
    s_put64(run.control + S_TAIL, start + s_input64(input, size, RING_FUZZ_TAIL));
    s_put64(run.control + S_SLEEPING, s_input64(input, size, RING_FUZZ_SLEEPING));
    int no_copy = size > RING_FUZZ_MODE && (input[RING_FUZZ_MODE] & RING_FUZZ_NO_COPY);
    struct ring_fuzz_step steps[RING_FUZZ_STEPS];
    for (size_t i = 0; i < RING_FUZZ_STEPS; i++) {
        uint64_t raw = s_input64(input, size, RING_FUZZ_STEP0 + 8u * i);
        memcpy(&steps[i], &raw, sizeof steps[i]);
    }
    if (size > RING_FUZZ_DATA) {
        size_t n = size - RING_FUZZ_DATA < S_CAPACITY ? size - RING_FUZZ_DATA : S_CAPACITY;
        size_t at = start & (S_CAPACITY - 1u), first = n < S_CAPACITY - at ? n : S_CAPACITY - at;
        memcpy(run.e.data + at, input + RING_FUZZ_DATA, first);
        memcpy(run.e.data, input + RING_FUZZ_DATA + first, n - first);
    }
    s_poison();

    unsigned char *copy = no_copy ? NULL : s_copy;
    cnode_ring_awake(&run.e);
    for (size_t turn = 0;; turn++) {
        const struct ring_fuzz_step *st = turn < RING_FUZZ_STEPS ? &steps[turn] : NULL;
        int midway = st != NULL && (st->op & RING_FUZZ_MIDWAY);
        if (st != NULL && !midway) s_step(&run, st);
        uint64_t count = run.e.count;
        uint64_t head = s_get64(run.control + S_HEAD), tail = s_get64(run.control + S_TAIL);
        uint64_t flags = s_get64(run.control + S_SLEEPING);
        struct cnode_ring_record r;
        errno = 0;
        int got = cnode_ring_peek(&run.e, &r, copy);
        S_CHECK(s_get64(run.control + S_HEAD) == head && s_get64(run.control + S_TAIL) == tail
                && s_get64(run.control + S_SLEEPING) == flags && run.e.count == count);
        if (got < 0) {
            S_CHECK(got == -1 && errno == EPROTO);
            break;
        }
        if (got == 0) {
            S_CHECK(head == count);
            if (midway) s_step(&run, st);
            int arrived = cnode_ring_sleep(&run.e);
            S_CHECK(s_get32(run.control + S_SLEEPING) == 1);
            S_CHECK(arrived == (s_get64(run.control + S_HEAD) != run.e.count));
            if (arrived) continue;
            break;
        }
        S_CHECK(got == 1);
        s_check_record(&run, &r, count, head, copy);
        if (midway) s_step(&run, st);
        if (!s_unpack(&run, &r)) break;
        uint32_t waiting = s_get32(run.control + S_WAITING);
        int woke = cnode_ring_consume(&run.e, &r);
        S_CHECK(woke == (waiting != 0) && s_get32(run.control + S_WAITING) == 0);
        S_CHECK(run.e.count == count + r.span && run.e.count <= head);
        S_CHECK(s_get64(run.control + S_TAIL) == run.e.count);
    }
    s_finish(&run);
    S_CHECK(s_lowest_free_fd() == lowest_fd);
    return 0;
}
