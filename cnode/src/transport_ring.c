/*
 * transport_ring.c: the shared-memory ring transport (transport.h), the worker's end, for
 * CNODE_TRANSPORT=local. The owner made everything before the spawn (docs/protocol.md section
 * 10, ring.h has the format): the segment, a sealed memfd holding a ring each way; an eventfd
 * each way, which a producer writes only when the consumer said it sleeps; and the lifeline, a
 * SOCK_SEQPACKET socketpair that carries descriptors and whose hang-up says the owner is gone.
 *
 * The worker reads the ring to it in place (the owner is its parent and trusted that far;
 * zero-copy is the point) and writes the ring to the owner synchronously: nothing is ever
 * queued here, so closing has nothing to flush. Only the owner can write the ring, so there is
 * no stranger to refuse: admission only marks later messages as the owner's.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node.h"
#include "ring.h"
#include "spin.h"

_Static_assert(CNODE_RING_MAX_PARTS == 1 + CNODE_MAX_SIDES,
               "a record holds a whole message: its frames and every side part it may have");

/* One round of a wait for the owner (room in its ring, room on the lifeline) lasts at most this
   before the worker looks again: a wake-up that got lost, which ring.h's fences rule out for a
   correct owner, then costs a pause instead of a hang. */
#define S_WAIT_ROUND_MS 100

/* The frames' buffer keeps its memory for the next message up to this size, which saves a
   malloc and a free per message; a bigger one is freed, so that one big reply does not pin its
   memory for the worker's life. */
#define S_KEEP_FRAMES_BYTES (1u << 20)

/* A side part by descriptor that outlives its message (retain): its mapping and its memfd,
   which send passes back to the owner as they are. Counted, because the held message keeps a
   reference too and a reply may name the same binary more than once. */
struct s_retained {
    int fd;
    void *addr;
    uint64_t size;
    unsigned refs;
    int frozen; /* sealed against writing, its mapping private (s_freeze_retained) */
};

/* The message recv returned, held until release. */
struct s_held {
    int held;
    struct cnode_ring_record record;
    int fds[CNODE_RING_MAX_FDS];      /* what the lifeline brought for it: the parts' memfds in
                                         part order, then the SharedBuffers'; -1 once given away */
    size_t nfds;
    size_t by_fd;                     /* how many of them are parts */
    void *maps[CNODE_RING_MAX_PARTS]; /* each part by descriptor, mapped; NULL for inline */
    size_t fd_of[CNODE_RING_MAX_PARTS]; /* each part by descriptor: its index in fds */
    struct s_retained *retained[CNODE_RING_MAX_PARTS]; /* the parts retain handed out */
};

struct cnode_transport {
    struct cnode_args *args;      /* the node's: the name, maxMessageSize */
    int fds[CNODE_RING_NFDS];     /* CNODE_RING_FDS, owned here from open */
    void *segment;                /* the segment, mapped whole */
    size_t segment_size;
    struct cnode_ring_end in;     /* the consumer's end of the ring to the worker */
    struct cnode_ring_end out;    /* the producer's end of the ring to the owner */
    int admitted;                 /* the owner's HELLO was accepted */
    int reported_drop;            /* a dropped message was said on stderr once */
    struct cnode_spin spin;       /* how long pending spins before the loop sleeps */
    struct s_held msg;
};

/* --- Small helpers. */

/* Wakes the owner. EAGAIN means its counter is already huge: it will wake anyway. */
static void s_wake_owner(struct cnode_transport *t)
{
    uint64_t one = 1;
    while (write(t->fds[CNODE_RING_FD_WAKE_OWNER], &one, sizeof one) < 0 && errno == EINTR) {}
}

/* Clears the worker's eventfd, after poll said it is readable (so the read does not wait,
   whether or not the descriptor is non-blocking: that flag is the owner's, in the open file
   description both share). */
static void s_clear_wake(struct cnode_transport *t)
{
    uint64_t count;
    while (read(t->fds[CNODE_RING_FD_WAKE_WORKER], &count, sizeof count) < 0 && errno == EINTR) {}
}

/* The owner wrote what no owner writes: said on stderr (the owner sees the line and the exit),
   and the worker ends. Returns -1 with errno EPROTO. */
static int s_broken(struct cnode_transport *t, const char *why)
{
    fprintf(stderr, "cnode %s: the owner broke the ring transport: %s\n", t->args->name, why);
    errno = EPROTO;
    return -1;
}

static int s_fail_open(int fd, const char *what, const char *why)
{
    int err = errno;
    fprintf(stderr, "cnode_init: CNODE_RING_FDS: descriptor %d, %s: %s\n", fd, what, why);
    errno = err ? err : EINVAL;
    return -1;
}

/* --- open, fds, close. */

/* Maps the segment whole, after checking that its size can never change (a peer that shrank
   it would raise SIGBUS here) and that it holds rings of this version. */
static int s_map_segment(struct cnode_transport *t)
{
    int fd = t->fds[CNODE_RING_FD_SEGMENT];
    struct stat st;
    errno = 0;
    if (fstat(fd, &st) < 0) return s_fail_open(fd, "the segment", strerror(errno));
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
        return s_fail_open(fd, "the segment", "not a memfd sealed against shrinking and growing");
    if (st.st_size < (off_t)CNODE_RING_HEADER_BYTES || (uint64_t)st.st_size > SIZE_MAX)
        return s_fail_open(fd, "the segment", "too small to hold a ring");
    /* Populated at once: the rings are touched on every message, and a fault on the first
       touch of each page would land in the first calls' round trips. */
    void *segment = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_POPULATE, fd, 0);
    if (segment == MAP_FAILED) return s_fail_open(fd, "the segment", strerror(errno));
    t->segment = segment;
    t->segment_size = (size_t)st.st_size;
    uint32_t capacity = cnode_ring_check(segment, t->segment_size);
    if (capacity == 0)
        return s_fail_open(fd, "the segment", "its header is not that of a ring of this version");
    cnode_ring_attach(&t->in, segment, capacity, CNODE_RING_TO_WORKER);
    cnode_ring_attach(&t->out, segment, capacity, CNODE_RING_TO_OWNER);
    return 0;
}

/* The lifeline must be a SOCK_SEQPACKET socket: only that keeps one message of descriptors
   per record, and reports the owner's end closing as a hang-up. */
static int s_check_lifeline(struct cnode_transport *t)
{
    int fd = t->fds[CNODE_RING_FD_LIFELINE], type = 0;
    socklen_t len = sizeof type;
    errno = 0;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET)
        return s_fail_open(fd, "the lifeline", "not a SOCK_SEQPACKET socket");
    return 0;
}

static void s_release(struct cnode_transport *t, struct cnode_message *m);

static void s_close(struct cnode_transport *t, int owner_connected)
{
    /* Writes are synchronous: everything sent is in the ring already, and the owner drains it
       after the worker exits. Nothing to wait for. */
    (void)owner_connected;
    if (t == NULL) return;
    s_release(t, NULL);
    if (t->segment != NULL) munmap(t->segment, t->segment_size);
    for (int i = 0; i < CNODE_RING_NFDS; i++)
        if (t->fds[i] >= 0) close(t->fds[i]);
    free(t);
}

static struct cnode_transport *s_open(struct cnode_args *args, char *endpoint, size_t size)
{
    struct cnode_transport *t = calloc(1, sizeof *t);
    if (t == NULL) {
        fputs("cnode_init: out of memory\n", stderr);
        errno = ENOMEM;
        return NULL;
    }
    t->args = args;
    memcpy(t->fds, args->ring_fds, sizeof t->fds); /* close-on-exec already (args.c) */
    cnode_spin_init(&t->spin);
    if (s_map_segment(t) < 0 || s_check_lifeline(t) < 0) {
        int err = errno;
        s_close(t, 0);
        errno = err;
        return NULL;
    }
    snprintf(endpoint, size, "local");
    return t;
}

static int s_fds(struct cnode_transport *t, struct pollfd *fds, int max)
{
    if (max < 2) return 0;
    fds[0] = (struct pollfd){t->fds[CNODE_RING_FD_WAKE_WORKER], POLLIN, 0};
    /* No events asked: POLLHUP and POLLERR always come. The descriptors it also carries are
       read when a record names them; polling for POLLIN would wake the loop for each. */
    fds[1] = (struct pollfd){t->fds[CNODE_RING_FD_LIFELINE], 0, 0};
    return 2;
}

/* --- Receiving. */

static void s_unref(struct s_retained *r)
{
    if (--r->refs > 0) return;
    cnode_ring_unmap(r->addr, r->size);
    close(r->fd);
    free(r);
}

/* Lets go of the held message: its mappings and descriptors (but what retain handed out),
   and its room in the ring, waking the owner if it waits for room. */
static void s_release(struct cnode_transport *t, struct cnode_message *m)
{
    struct s_held *h = &t->msg;
    if (m != NULL) m->nsides = 0;
    if (!h->held) return;
    h->held = 0;
    for (size_t i = 0; i < h->record.nparts; i++) {
        if (h->retained[i] != NULL) s_unref(h->retained[i]);
        else if (h->maps[i] != NULL) cnode_ring_unmap(h->maps[i], h->record.parts[i].size);
    }
    for (size_t k = 0; k < h->nfds; k++)
        if (h->fds[k] >= 0) close(h->fds[k]);
    if (cnode_ring_consume(&t->in, &h->record)) s_wake_owner(t);
}

/* A message the worker cannot take is consumed and dropped, and said once, as a ZeroMQ
   message over the limit would be. */
static void s_drop(struct cnode_transport *t, const char *why)
{
    if (!t->reported_drop)
        fprintf(stderr, "cnode %s: dropped a message from the owner: %s; further ones are "
                        "dropped silently\n", t->args->name, why);
    t->reported_drop = 1;
    s_release(t, NULL);
}

/* The bytes of part i of the held record: in the ring, or in its mapping. */
static char *s_part_data(const struct s_held *h, size_t i)
{
    if (h->record.parts[i].how == CNODE_RING_BY_FD) return h->maps[i];
    return (char *)h->record.parts[i].data; /* the ring is mapped writable */
}

/* Whether a part's memfd is sealed against writing (frozen, ring.h). */
static int s_is_frozen(int fd)
{
    int seals = fcntl(fd, F_GET_SEALS);
    return seals >= 0 && (seals & F_SEAL_WRITE) != 0;
}

/* Maps a part the owner sent, shared and writable so that the handler works on it in place.
   One the owner passes on frozen (a part a worker sent, forwarded as it is) cannot be mapped so:
   a private mapping gives the handler the same bytes, and its writes stay its own. */
static void *s_map_part(int fd, uint64_t size)
{
    void *addr = cnode_ring_map(fd, size);
    if (addr == NULL && errno == EPERM && s_is_frozen(fd)) addr = cnode_ring_map_frozen(fd, size);
    return addr;
}

/* What s_take did with the record peeked. */
enum { S_DROPPED = 0, S_TAKEN = 1, S_OWNER_GONE = 2 };

/* Takes the record just peeked: its descriptors from the lifeline (the owner sends them before
   it publishes the record), its parts by descriptor mapped, into *m. Returns S_TAKEN;
   S_DROPPED (consumed: look at the next); S_OWNER_GONE when its descriptors never came because
   the owner is gone (its lifeline's hang-up ends the session); -1 when the owner broke the
   transport. */
static int s_take(struct cnode_transport *t, struct cnode_message *m)
{
    struct s_held *h = &t->msg;
    const struct cnode_ring_record *r = &h->record;
    h->nfds = h->by_fd = 0;
    memset(h->maps, 0, sizeof h->maps);
    memset(h->retained, 0, sizeof h->retained);
    h->held = 1; /* from here release closes what came, and consumes the record */
    if (r->nfds > 0) {
        int got = cnode_ring_recv_fds(t->fds[CNODE_RING_FD_LIFELINE], h->fds, CNODE_RING_MAX_FDS);
        if (got < 0 && errno == ECONNRESET) {
            h->held = 0; /* not consumed: nobody will read it anyway */
            return S_OWNER_GONE;
        }
        if (got > 0) h->nfds = (size_t)got;
        if (got < 0 || (size_t)got != r->nfds) {
            char why[160];
            if (got < 0)
                snprintf(why, sizeof why, "a record names %zu descriptors and the lifeline "
                         "brought none (%s)", r->nfds, strerror(errno));
            else
                snprintf(why, sizeof why, "a record names %zu descriptors and the lifeline "
                         "brought %d", r->nfds, got);
            return s_broken(t, why);
        }
    }

    char why[160];
    for (size_t i = 0; i < r->nparts; i++) {
        if (r->parts[i].size > (uint64_t)t->args->max_message_size) {
            snprintf(why, sizeof why, "a part of %llu bytes, over maxMessageSize (%lld bytes)",
                     (unsigned long long)r->parts[i].size, (long long)t->args->max_message_size);
            s_drop(t, why);
            return S_DROPPED;
        }
    }
    for (size_t i = 0; i < r->nparts; i++) {
        if (r->parts[i].how != CNODE_RING_BY_FD) continue;
        h->fd_of[i] = h->by_fd;
        h->maps[i] = s_map_part(h->fds[h->by_fd++], r->parts[i].size);
        if (h->maps[i] == NULL) {
            snprintf(why, sizeof why, "a part by descriptor cannot be mapped (%s)",
                     errno == EPROTO ? "not sealed, or smaller than its record says"
                                     : strerror(errno));
            s_drop(t, why);
            return S_DROPPED;
        }
    }

    m->frames = (struct cnode_side){s_part_data(h, 0), (size_t)r->parts[0].size};
    m->nsides = r->nparts - 1;
    for (size_t i = 1; i < r->nparts; i++)
        m->sides[i - 1] = (struct cnode_side){s_part_data(h, i), (size_t)r->parts[i].size};
    m->from_owner = t->admitted;
    return S_TAKEN;
}

static int s_recv(struct cnode_transport *t, struct cnode_message *m)
{
    s_release(t, NULL); /* one message at a time */
    /* Awake from here: the owner stops writing the eventfd for each record. */
    cnode_ring_awake(&t->in);
    for (;;) {
        int got = cnode_ring_peek(&t->in, &t->msg.record, NULL);
        if (got < 0) return s_broken(t, t->in.why ? t->in.why : "a record out of format");
        if (got == 0) return 0;
        cnode_spin_woke(&t->spin);
        int taken = s_take(t, m);
        if (taken == S_TAKEN || taken < 0) return taken;
        if (taken == S_OWNER_GONE) return 0;
    }
}

/* --- Retained parts. */

static void s_release_retained(void *data, void *hint)
{
    (void)data;
    s_unref(hint);
}

static int s_retain(struct cnode_transport *t, const struct cnode_message *m, size_t index,
                    struct cnode_part *out)
{
    (void)m; /* the message t holds */
    struct s_held *h = &t->msg;
    size_t i = index + 1;
    if (!h->held || i >= h->record.nparts) {
        errno = EINVAL;
        return -1;
    }
    /* An inline part is at most a quarter of the ring, and its room goes back to the owner at
       release: the caller copies it. */
    if (h->record.parts[i].how != CNODE_RING_BY_FD) {
        errno = ENOTSUP;
        return -1;
    }
    struct s_retained *r = h->retained[i];
    if (r == NULL) {
        if ((r = malloc(sizeof *r)) == NULL) return -1;
        *r = (struct s_retained){h->fds[h->fd_of[i]], h->maps[i], h->record.parts[i].size, 1, 0};
        h->fds[h->fd_of[i]] = -1; /* the held message's reference is r's first */
        h->retained[i] = r;
    }
    r->refs++;
    *out = (struct cnode_part){r->addr, (size_t)r->size, s_release_retained, r};
    return 0;
}

static int s_admit(struct cnode_transport *t, const struct cnode_message *m)
{
    (void)m;
    t->admitted = 1;
    return 0;
}

static size_t s_shared_fds(struct cnode_transport *t, const struct cnode_message *m,
                           const int **fds)
{
    (void)m;
    const struct s_held *h = &t->msg;
    *fds = h->fds + h->by_fd;
    return h->held ? h->nfds - h->by_fd : 0;
}

/* --- Sending. */

/* Waits one round for the owner: its wake-up (read, to clear it) or the lifeline's `events`.
   The owner's death shows as the loop would see it: the lifeline's hang-up, or stdin's EOF (the
   lifeline alone can miss it, should another process hold the owner's end). Returns 0 to look
   again, or -1 with errno EHOSTUNREACH once the owner is gone. */
static int s_wait(struct cnode_transport *t, short events)
{
    struct pollfd p[3] = {{t->fds[CNODE_RING_FD_WAKE_WORKER], POLLIN, 0},
                          {t->fds[CNODE_RING_FD_LIFELINE], events, 0},
                          {STDIN_FILENO, POLLIN, 0}};
    if (poll(p, 3, S_WAIT_ROUND_MS) < 0) return errno == EINTR ? 0 : -1;
    if ((p[1].revents & (POLLHUP | POLLERR | POLLNVAL))
        || (p[2].revents && cnode_watchdog_stdin_gone())) {
        errno = EHOSTUNREACH;
        return -1;
    }
    /* Clearing it cannot lose the wake-up of a record meanwhile: the loop looks at the ring
       itself (pending) before it sleeps. */
    if (p[0].revents & POLLIN) s_clear_wake(t);
    return 0;
}

/* Waits, for as long as the owner is alive, until the ring to it has room for `bytes`: the
   owner writes the worker's eventfd when it frees room and finds the `waiting` flag that
   cnode_ring_reserve set. As ZeroMQ's send blocks at its high-water mark. */
static int s_wait_room(struct cnode_transport *t, size_t bytes)
{
    for (;;) {
        int room = cnode_ring_reserve(&t->out, bytes);
        if (room < 0)
            return errno == EPROTO ? s_broken(t, t->out.why ? t->out.why : "a tail out of bounds")
                                   : -1;
        if (room > 0) return 0;
        if (s_wait(t, 0) < 0) return -1;
    }
}

/* Sends the record's descriptors on the lifeline, waiting while its buffer is full. */
static int s_send_fds(struct cnode_transport *t, const int *fds, size_t n)
{
    for (;;) {
        if (cnode_ring_send_fds(t->fds[CNODE_RING_FD_LIFELINE], fds, n) == 0) return 0;
        if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN || errno == ECONNREFUSED) {
            errno = EHOSTUNREACH;
            return -1;
        }
        /* ETOOMANYREFS: too many descriptors in flight for this user; the owner reading them
           makes room, as it does for EAGAIN. */
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ETOOMANYREFS) return -1;
        if (s_wait(t, POLLOUT) < 0) return -1;
    }
}

static int s_is_retained(const struct cnode_part *p)
{
    return p->release == s_release_retained;
}

/* The frames' bytes are in the ring or a memfd now: the buffer is left empty, as transport.h
   says, and keeps its memory for the next message unless that is big. */
static void s_take_frames(msgpack_sbuffer *frames)
{
    if (frames->alloc > S_KEEP_FRAMES_BYTES) free(msgpack_sbuffer_release(frames));
    else msgpack_sbuffer_clear(frames);
}

/* A copy of a part in a memfd frozen at once: the owner maps it without copying, and nothing
   the worker does later can change what the owner was given. */
static int s_frozen_memfd(const void *data, size_t size)
{
    int fd = cnode_ring_memfd(data, size);
    if (fd >= 0 && cnode_ring_freeze(fd) < 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

/* A retained part goes back by its own descriptor, frozen first (ring.h) so that the owner maps
   it instead of copying it. Freezing needs the worker's shared mapping gone, yet a handler may
   still be reading it (an INFO sent from a handler): the mapping is replaced, at the same
   address, by a private one of the same bytes. If freezing fails all the same (another mapping
   of it somewhere), the owner copies it. Returns the descriptor. */
static int s_freeze_retained(struct s_retained *r)
{
    /* Frozen already (it came so, s_map_part): its mapping is private already too. */
    if (r->frozen || (r->frozen = s_is_frozen(r->fd))) return r->fd;
    if (r->addr != NULL && r->size > 0
        && mmap(r->addr, (size_t)r->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, r->fd,
                0) == MAP_FAILED)
        return r->fd;
    r->frozen = cnode_ring_freeze(r->fd) == 0;
    return r->fd;
}

static int s_send(struct cnode_transport *t, const struct cnode_message *to,
                  msgpack_sbuffer *frames, struct cnode_part *sides, size_t nsides)
{
    (void)to; /* nobody but the owner can write the ring: every answer goes to it */
    const void *data[CNODE_RING_MAX_PARTS];
    uint64_t sizes[CNODE_RING_MAX_PARTS], planned[CNODE_RING_MAX_PARTS];
    unsigned char how[CNODE_RING_MAX_PARTS];
    int fds[CNODE_RING_MAX_FDS], made[CNODE_RING_MAX_FDS];
    size_t n = 1 + nsides, nfds = 0;
    int rc = -1, take = 1;
    /* The owner would take a bigger part for a violation and kill the worker. */
    if (frames->size > (uint64_t)t->args->max_message_size) {
        errno = EMSGSIZE;
        take = 0; /* left as it was */
        goto done;
    }
    if (n > CNODE_RING_MAX_PARTS) {
        errno = EINVAL;
        goto done;
    }
    data[0] = frames->data;
    sizes[0] = planned[0] = frames->size;
    for (size_t i = 1; i < n; i++) {
        data[i] = sides[i - 1].data;
        sizes[i] = sides[i - 1].size;
        /* A part retained from a message goes back by its own descriptor, never copied: planned
           as too big for the ring, it is by descriptor whatever its size. */
        planned[i] = s_is_retained(&sides[i - 1]) ? UINT64_MAX : sizes[i];
    }
    size_t bytes = cnode_ring_plan(&t->out, planned, n, how);
    for (size_t i = 0; i < n; i++) {
        if (how[i] != CNODE_RING_BY_FD) continue;
        struct s_retained *r = i > 0 && s_is_retained(&sides[i - 1]) ? sides[i - 1].hint : NULL;
        int fd = r != NULL ? s_freeze_retained(r) : s_frozen_memfd(data[i], (size_t)sizes[i]);
        if (fd < 0) goto done;
        made[nfds] = r == NULL;
        fds[nfds++] = fd;
        data[i] = NULL;
    }
    /* Room first, then the descriptors, then the record: the owner takes the descriptors of a
       record it reads from the lifeline, so they must be there before it is published; and
       once reserved, room only grows. */
    if (s_wait_room(t, bytes) < 0) goto done;
    if (nfds > 0 && s_send_fds(t, fds, nfds) < 0) goto done;
    if (cnode_ring_commit(&t->out, bytes, data, sizes, how, n, nfds)) s_wake_owner(t);
    rc = 0;
done:;
    int err = errno;
    for (size_t k = 0; k < nfds; k++)
        if (made[k]) close(fds[k]); /* sent or not: in flight, the kernel holds its own */
    for (size_t i = 0; i < nsides; i++) sides[i].release(sides[i].data, sides[i].hint);
    if (take) s_take_frames(frames);
    errno = err;
    return rc;
}

/* --- The loop's hooks. */

static int s_service(struct cnode_transport *t, const struct pollfd *fds, int count)
{
    if (count > 0 && (fds[0].revents & POLLIN)) s_clear_wake(t);
    if (count > 1 && (fds[1].revents & (POLLHUP | POLLERR | POLLNVAL)))
        return CNODE_TRANSPORT_OWNER_GONE;
    return CNODE_TRANSPORT_QUIET;
}

static int s_ready(void *ring)
{
    return cnode_ring_ready(ring);
}

/* Spins a little for the next record (spin.h), then tells the owner the worker sleeps, with a
   last look at the ring after the flag (ring.h: without it a record published meanwhile would
   wait for the next wake-up). */
static int s_pending(struct cnode_transport *t)
{
    if (cnode_ring_ready(&t->in) || cnode_spin(&t->spin, s_ready, &t->in)) return 1;
    cnode_spin_sleeping(&t->spin);
    return cnode_ring_sleep(&t->in);
}

const struct cnode_transport_funcs cnode_transport_ring = {
    .name = "ring",
    .open = s_open,
    .fds = s_fds,
    .recv = s_recv,
    .release = s_release,
    .retain = s_retain,
    .admit = s_admit,
    .shared_fds = s_shared_fds,
    .send = s_send,
    .service = s_service,
    .pending = s_pending,
    .close = s_close,
};
