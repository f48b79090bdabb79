/*
 * ring.c: the shared-memory rings both ends of the ring transport use (ring.h). Every index
 * and length read from the segment is bounded before it is used: the other side may be broken
 * or hostile, and may change the memory while it is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring.h"

/* The segment's header, at offset 0. */
struct s_header {
    uint32_t magic;
    uint32_t version;
    uint32_t capacity;
    uint32_t header_bytes;
};

/* One ring's control block: each field on its own cache line, so that the producer's stores
   to head do not slow the consumer's to tail. */
struct s_control {
    _Atomic uint64_t head;
    char pad1[56];
    _Atomic uint64_t tail;
    char pad2[56];
    _Atomic uint32_t sleeping; /* the consumer is asleep, or about to be: wake it */
    _Atomic uint32_t waiting;  /* the producer waits for room: wake it */
    char pad3[56];
};

_Static_assert(sizeof(struct s_control) == 192, "one cache line per field");

#define S_CONTROL_OFFSET 64u
#define S_RECORD_HEADER 8u
#define S_PART_DESCRIPTOR 16u
#define S_SCM_MAX_FD 253 /* the kernel's cap on descriptors in one message */

static inline uint64_t s_align8(uint64_t n)
{
    return (n + 7u) & ~(uint64_t)7u;
}

static inline struct s_control *s_control(const struct cnode_ring_end *e)
{
    return (struct s_control *)e->control;
}

/* The peer broke the format: says how, for the owner's report. */
static int s_broken(struct cnode_ring_end *e, const char *why)
{
    e->why = why;
    errno = EPROTO;
    return -1;
}

size_t cnode_ring_segment_size(uint32_t capacity)
{
    return (size_t)CNODE_RING_HEADER_BYTES + 2u * (size_t)capacity;
}

int cnode_ring_capacity_ok(uint64_t capacity)
{
    return capacity >= CNODE_RING_MIN_CAPACITY && capacity <= CNODE_RING_MAX_CAPACITY
           && (capacity & (capacity - 1)) == 0;
}

void cnode_ring_format(void *segment, uint32_t capacity)
{
    memset(segment, 0, CNODE_RING_HEADER_BYTES);
    struct s_header h = {CNODE_RING_MAGIC, CNODE_RING_VERSION, capacity, CNODE_RING_HEADER_BYTES};
    memcpy(segment, &h, sizeof h);
}

uint32_t cnode_ring_check(const void *segment, size_t mapped)
{
    struct s_header h;
    if (mapped < CNODE_RING_HEADER_BYTES) goto bad;
    memcpy(&h, segment, sizeof h);
    if (h.magic != CNODE_RING_MAGIC || h.version != CNODE_RING_VERSION
        || h.header_bytes != CNODE_RING_HEADER_BYTES || !cnode_ring_capacity_ok(h.capacity)
        || mapped < cnode_ring_segment_size(h.capacity))
        goto bad;
    return h.capacity;
bad:
    errno = EPROTO;
    return 0;
}

void cnode_ring_attach(struct cnode_ring_end *e, void *segment, uint32_t capacity, int which)
{
    unsigned char *base = segment;
    e->control = base + S_CONTROL_OFFSET + (size_t)which * sizeof(struct s_control);
    e->data = base + CNODE_RING_HEADER_BYTES + (size_t)which * capacity;
    e->capacity = capacity;
    e->count = 0;
    e->peer = 0;
    e->why = NULL;
}

/* --- The producer. */

size_t cnode_ring_record_max(const struct cnode_ring_end *e)
{
    return e->capacity / 4u;
}

size_t cnode_ring_plan(const struct cnode_ring_end *e, const uint64_t *sizes, size_t n,
                       unsigned char *how)
{
    uint64_t max = cnode_ring_record_max(e);
    uint64_t bytes = S_RECORD_HEADER + (uint64_t)n * S_PART_DESCRIPTOR;
    for (size_t i = 0; i < n; i++) {
        uint64_t inline_bytes = s_align8(sizes[i]);
        if (sizes[i] <= max && bytes + inline_bytes <= max) {
            how[i] = CNODE_RING_INLINE;
            bytes += inline_bytes;
        } else {
            how[i] = CNODE_RING_BY_FD;
        }
    }
    return (size_t)bytes;
}

/* The consumer's tail, checked: it may only have moved forward, and not past what was
   published. Returns 0, or -1 with EPROTO. */
static int s_read_tail(struct cnode_ring_end *e)
{
    uint64_t tail = atomic_load_explicit(&s_control(e)->tail, memory_order_acquire);
    if (tail < e->peer || tail > e->count)
        return s_broken(e, tail < e->peer ? "a tail that ran backwards" : "a tail past the head");
    e->peer = tail;
    return 0;
}

/* The bytes a record of `bytes` takes from here: its own, and a wrap mark's before it. */
static uint64_t s_span(const struct cnode_ring_end *e, uint64_t bytes)
{
    uint64_t at = e->count & (e->capacity - 1u);
    return at + bytes > e->capacity ? e->capacity - at + bytes : bytes;
}

static int s_fits(const struct cnode_ring_end *e, uint64_t bytes)
{
    return e->count - e->peer + s_span(e, bytes) <= e->capacity;
}

int cnode_ring_reserve(struct cnode_ring_end *e, size_t bytes)
{
    if (bytes > cnode_ring_record_max(e) || bytes < S_RECORD_HEADER) {
        errno = EINVAL;
        return -1;
    }
    if (s_fits(e, bytes)) return 1;
    if (s_read_tail(e) < 0) return -1;
    if (s_fits(e, bytes)) return 1;
    atomic_store_explicit(&s_control(e)->waiting, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst); /* the flag before the second look (ring.h) */
    if (s_read_tail(e) < 0) return -1;
    return s_fits(e, bytes);
}

int cnode_ring_commit(struct cnode_ring_end *e, size_t bytes, const void *const *data,
                      const uint64_t *sizes, const unsigned char *how, size_t n, size_t nfds)
{
    uint64_t at = e->count & (e->capacity - 1u);
    if (at + bytes > e->capacity) {
        uint32_t wrap[2] = {CNODE_RING_WRAP, 0};
        memcpy(e->data + at, wrap, sizeof wrap);
        e->count += e->capacity - at;
        at = 0;
    }
    unsigned char *p = e->data + at;
    uint32_t size = (uint32_t)(bytes - S_RECORD_HEADER);
    uint16_t counts[2] = {(uint16_t)n, (uint16_t)nfds};
    memcpy(p, &size, 4);
    memcpy(p + 4, counts, 4);
    unsigned char *out = p + S_RECORD_HEADER + n * S_PART_DESCRIPTOR;
    for (size_t i = 0; i < n; i++) {
        uint32_t kind[2] = {how[i], 0};
        memcpy(p + S_RECORD_HEADER + i * S_PART_DESCRIPTOR, &sizes[i], 8);
        memcpy(p + S_RECORD_HEADER + i * S_PART_DESCRIPTOR + 8, kind, 8);
        if (how[i] != CNODE_RING_INLINE) continue;
        if (sizes[i] > 0) memcpy(out, data[i], sizes[i]);
        out += s_align8(sizes[i]);
    }
    e->count += bytes;
    struct s_control *c = s_control(e);
    atomic_store_explicit(&c->head, e->count, memory_order_release);
    atomic_thread_fence(memory_order_seq_cst); /* head before the look at the flag (ring.h) */
    return atomic_load_explicit(&c->sleeping, memory_order_relaxed)
           && atomic_exchange_explicit(&c->sleeping, 0, memory_order_relaxed);
}

/* --- The consumer. */

/* The producer's head, checked: forward only, and never more than a ring ahead of the tail.
   Returns the bytes published and not consumed, or -1 with EPROTO. */
static int64_t s_read_head(struct cnode_ring_end *e)
{
    uint64_t head = atomic_load_explicit(&s_control(e)->head, memory_order_acquire);
    if (head < e->peer || head - e->count > e->capacity)
        return s_broken(e, head < e->peer ? "a head that ran backwards" : "a head more than a ring ahead");
    e->peer = head;
    return (int64_t)(head - e->count);
}

int cnode_ring_ready(struct cnode_ring_end *e)
{
    return atomic_load_explicit(&s_control(e)->head, memory_order_acquire) != e->count;
}


/* Parses the record at `p` (its first `total` bytes are the record, header included). */
static int s_parse(struct cnode_ring_end *e, const unsigned char *p, uint64_t total,
                   struct cnode_ring_record *r)
{
    uint32_t size;
    uint16_t counts[2];
    memcpy(&size, p, 4);
    memcpy(counts, p + 4, 4);
    if (s_align8(S_RECORD_HEADER + (uint64_t)size) != total)
        return s_broken(e, "a record that changed while it was read");
    size_t n = counts[0], by_fd = 0;
    if (n == 0 || n > CNODE_RING_MAX_PARTS) return s_broken(e, "a record of no parts or over 65");
    if (counts[1] > CNODE_RING_MAX_FDS) return s_broken(e, "a record of over 81 descriptors");
    uint64_t used = (uint64_t)n * S_PART_DESCRIPTOR;
    if (used > size) return s_broken(e, "a record too small for its parts");
    const unsigned char *inline_bytes = p + S_RECORD_HEADER + used;
    uint64_t offset = 0, room = size - used;
    for (size_t i = 0; i < n; i++) {
        uint64_t part_size;
        uint32_t kind[2];
        memcpy(&part_size, p + S_RECORD_HEADER + i * S_PART_DESCRIPTOR, 8);
        memcpy(kind, p + S_RECORD_HEADER + i * S_PART_DESCRIPTOR + 8, 8);
        struct cnode_ring_part *part = &r->parts[i];
        part->size = part_size;
        part->how = (int)kind[0];
        if (kind[0] == CNODE_RING_BY_FD) {
            part->data = NULL;
            by_fd++;
            continue;
        }
        if (kind[0] != CNODE_RING_INLINE) return s_broken(e, "a part neither inline nor by descriptor");
        if (offset > room || part_size > room - offset)
            return s_broken(e, "an inline part past its record's end");
        part->data = inline_bytes + offset;
        /* Past room only when size is not a multiple of 8, which no producer writes: an inline
           part after this one is then refused above, before room - offset could wrap around. */
        offset = s_align8(offset + part_size);
    }
    if (by_fd > counts[1]) return s_broken(e, "more parts by descriptor than descriptors");
    r->nparts = n;
    r->nfds = counts[1];
    return 0;
}

int cnode_ring_peek(struct cnode_ring_end *e, struct cnode_ring_record *r, unsigned char *copy)
{
    int64_t published = s_read_head(e);
    if (published <= 0) return (int)published;
    uint64_t available = (uint64_t)published, skip = 0;
    uint64_t at = e->count & (e->capacity - 1u);
    uint32_t size;
    if (available < S_RECORD_HEADER) return s_broken(e, "a record shorter than its header");
    memcpy(&size, e->data + at, 4);
    if (size == CNODE_RING_WRAP) {
        skip = e->capacity - at;
        if (available < skip + S_RECORD_HEADER) return s_broken(e, "a wrap mark with no record after it");
        at = 0;
        memcpy(&size, e->data, 4);
    }
    uint64_t total = s_align8(S_RECORD_HEADER + (uint64_t)size);
    if (size == CNODE_RING_WRAP) return s_broken(e, "two wrap marks in a row");
    if (total > cnode_ring_record_max(e)) return s_broken(e, "a record over a quarter of the ring");
    if (at + total > e->capacity) return s_broken(e, "a record across the ring's end");
    if (skip + total > available) return s_broken(e, "a record longer than what was published");
    const unsigned char *p = e->data + at;
    if (copy != NULL) {
        memcpy(copy, p, total);
        p = copy;
    }
    if (s_parse(e, p, total, r) < 0) return -1;
    r->span = skip + total;
    return 1;
}

int cnode_ring_consume(struct cnode_ring_end *e, const struct cnode_ring_record *r)
{
    e->count += r->span;
    struct s_control *c = s_control(e);
    atomic_store_explicit(&c->tail, e->count, memory_order_release);
    atomic_thread_fence(memory_order_seq_cst); /* tail before the look at the flag (ring.h) */
    return atomic_load_explicit(&c->waiting, memory_order_relaxed)
           && atomic_exchange_explicit(&c->waiting, 0, memory_order_relaxed);
}

int cnode_ring_sleep(struct cnode_ring_end *e)
{
    atomic_store_explicit(&s_control(e)->sleeping, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst); /* the flag before the second look (ring.h) */
    return cnode_ring_ready(e);
}

void cnode_ring_awake(struct cnode_ring_end *e)
{
    atomic_store_explicit(&s_control(e)->sleeping, 0, memory_order_relaxed);
}

/* --- Descriptors. */

int cnode_ring_send_fds(int lifeline, const int *fds, size_t n)
{
    if (n == 0 || n > CNODE_RING_MAX_FDS) {
        errno = EINVAL;
        return -1;
    }
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(int) * CNODE_RING_MAX_FDS)];
    } control;
    memset(&control, 0, sizeof control);
    char byte = 0;
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes,
                         .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    ssize_t sent;
    do sent = sendmsg(lifeline, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    return sent == 1 ? 0 : -1;
}

void cnode_ring_close_sent(int fd)
{
    int type;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0) {
        struct linger off = {0, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &off, sizeof off);
    }
    close(fd);
}

/* Closes the descriptors in every SCM_RIGHTS of msg. */
static void s_close_received(struct msghdr *msg)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            cnode_ring_close_sent(fd);
        }
    }
}

int cnode_ring_recv_fds(int lifeline, int *fds, size_t max)
{
    /* Room for as many as the kernel passes in one message (SCM_MAX_FD): with less, it would
       close the rest itself, here, and a lingering socket's last close can block. */
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(int) * S_SCM_MAX_FD)];
    } control;
    char byte;
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes,
                         .msg_controllen = sizeof control.bytes};
    ssize_t got;
    do got = recvmsg(lifeline, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    while (got < 0 && errno == EINTR);
    if (got < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? (errno = EAGAIN, 0) : -1;
    if (got == 0) {
        errno = ECONNRESET;
        return -1;
    }
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    size_t n = 0;
    int well_formed = (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) == 0 && c != NULL
                      && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS
                      && CMSG_NXTHDR(&msg, c) == NULL;
    if (well_formed) n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    if (!well_formed || n == 0 || n > max) {
        s_close_received(&msg);
        errno = EPROTO;
        return -1;
    }
    memcpy(fds, CMSG_DATA(c), n * sizeof(int));
    return (int)n;
}

int cnode_ring_memfd(const void *data, size_t size)
{
    int fd = memfd_create("cnode-part", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -1;
    /* write(2), not a mapping: the kernel fills fresh pages without a fault per page, and no
       mapping stands in the way of cnode_ring_freeze. */
    const char *p = data;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, p + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) goto fail;
        done += (size_t)n;
    }
    /* Not F_SEAL_SEAL: whoever holds it last may still freeze it. */
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0) goto fail;
    return fd;
fail:;
    int err = errno;
    close(fd);
    errno = err;
    return -1;
}

int cnode_ring_freeze(int fd)
{
    return fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SEAL);
}

/* The checks every reader of a peer's part makes: sealed against shrinking (else the peer could
   raise SIGBUS in the reader), at least `size` bytes, and, where the reader would map it
   (`whole`), no holes (a sparse file's pages are allocated by the reader's first touch, memory
   the peer never paid for). Returns the seals, or -1 with errno EPROTO. */
static int s_check_part(int fd, uint64_t size, int whole)
{
    int seals = fcntl(fd, F_GET_SEALS);
    struct stat st;
    if (seals < 0 || (seals & F_SEAL_SHRINK) == 0 || fstat(fd, &st) < 0 || st.st_size < 0
        || (uint64_t)st.st_size < size || size > SIZE_MAX
        || (whole && (uint64_t)st.st_blocks * 512u + 4096u <= size)) {
        errno = EPROTO;
        return -1;
    }
    return seals;
}

void *cnode_ring_map_frozen(int fd, uint64_t size)
{
    static unsigned char empty;
    int seals = s_check_part(fd, size, 1);
    if (seals < 0) return NULL;
    if ((seals & F_SEAL_WRITE) == 0) {
        errno = EPERM;
        return NULL;
    }
    if (size == 0) return &empty;
    /* Private: the reader may write its view (a Buffer is writable) without touching the file;
       the file itself can no longer change. No MAP_POPULATE, which would copy every page of a
       private writable mapping; MADV_POPULATE_READ maps the file's own pages instead. */
    void *addr = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) return NULL;
#ifdef MADV_POPULATE_READ
    madvise(addr, (size_t)size, MADV_POPULATE_READ);
#endif
    return addr;
}

int cnode_ring_read(int fd, void *buf, uint64_t size)
{
    if (s_check_part(fd, size, 0) < 0) return -1;
    char *p = buf;
    uint64_t done = 0;
    while (done < size) {
        ssize_t n = pread(fd, p + done, (size_t)(size - done), (off_t)done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = EPROTO;
            return -1;
        }
        done += (uint64_t)n;
    }
    return 0;
}

void *cnode_ring_map(int fd, uint64_t size)
{
    static unsigned char empty;
    if (s_check_part(fd, size, 0) < 0) return NULL;
    if (size == 0) return &empty;
    void *addr = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    return addr == MAP_FAILED ? NULL : addr;
}

void cnode_ring_unmap(void *addr, uint64_t size)
{
    if (size > 0 && addr != NULL) munmap(addr, (size_t)size);
}
