/*
 * ring_vandal.c: a worker that speaks the ring transport (docs/protocol.md section 10) just far
 * enough to be trusted, then breaks it, for test/ring-hostile.test.ts. It is its own transport,
 * built on ring.c's primitives and msgpack-c alone, so that it can write what no real worker
 * would: the owner must refuse all of it, and survive.
 *
 *   ring_vandal <host> <alive> <node> <creation> <mode> [V [B]]
 *
 * It reads the launch line on stdin (docs/protocol.md section 1), maps the segment (descriptor 3),
 * prints "ready local", reads the owner's HELLO from the TO_WORKER ring, answers WELCOME through
 * the TO_OWNER ring, waits for the owner's first CALL, and then, as <mode> says:
 *   echo              serves: echoes each call's message, exits 0 at STOP (the clean baseline)
 *   garbage           publishes 256 random bytes as a record
 *   garbage-frames    a well-formed record whose frames are 64 random bytes
 *   backwards         runs head backwards (below what the owner has read)
 *   beyond            puts head more than a ring ahead of the owner's tail
 *   bad-record V      a record header out of format, V one of: short (4 bytes published),
 *                     bad-wrap (a wrap mark with nothing after it), overrun (a record longer
 *                     than what is published), too-big (over a quarter of the ring), straddle
 *                     (a record across the data's end; fills the ring with PONGs to get there),
 *                     zero-parts, many-parts (66), many-fds (82), bad-how (a part neither
 *                     inline nor by descriptor), part-overflow (a part longer than its record),
 *                     fd-uncounted (a part by descriptor in a record of no descriptors),
 *                     misaligned (a size that is no multiple of 8, whose first part's padding
 *                     runs past the record; its second part then claims 60 MiB)
 *   tail-backwards    once the owner waits for room, moves the TO_WORKER tail back and wakes it
 *   tail-beyond       once the owner waits for room, puts the TO_WORKER tail past the owner's
 *                     head and wakes it
 *   unsealed          a REPLY whose 40000-byte side part is an unsealed memfd, cut to 0 bytes
 *                     20 ms later
 *   shrink-after      the same, the memfd sealed against growing only
 *   short-part        a fully sealed part memfd of 100 bytes, the record saying 40000
 *   missing-fds       a REPLY record naming 3 descriptors it never sent
 *   extra-fds         a valid REPLY with 3 descriptors sent beside it that no part uses
 *   fd-flood          13 x 81 descriptors on the lifeline without a record, then a valid REPLY
 *                     naming none, then serves as echo
 *   fd-burst          one lifeline message of 200 descriptors, then a REPLY naming 1
 *   fd-none           one lifeline message without a descriptor, then a REPLY naming 1
 *   oversize          a REPLY whose side part by descriptor is maxMessageSize + 1 bytes
 *   oversize-inline   a REPLY of maxMessageSize + 1 bytes, inline
 *   half              writes half a REPLY record without publishing head, wakes the owner,
 *                     then SIGKILLs itself
 *   valid-then-garbage  a valid REPLY, then garbage, then one wake (one delivery); V "apart"
 *                     wakes the owner in between (two deliveries), V "refused" follows the reply
 *                     with a record naming descriptors never sent instead of garbage
 *   reply-then-exit   a valid REPLY, then exits 0 at once
 *   shrink-segment    tries to shrink, grow and reseal the segment, answers what errno each
 *                     got ("EPERM EPERM EPERM"), then serves as echo
 *   wake-flood        writes the owner's eventfd without pause for 300 ms (the first time
 *                     with the counter's largest value), then answers the call
 *   linger-socket     a valid REPLY that brings, on the lifeline, a TCP socket set to linger
 *                     V seconds (default 2) on close with data it cannot send: the owner's
 *                     close of it would block for that long
 *   empty-parts       a REPLY whose response is two side parts of 0 bytes, by descriptor
 *   map-flood         V records (default 1100), each of a PONG and 64 parts of 1 byte by
 *                     descriptor, which nothing refers to: a mapping each, more than
 *                     vm.max_map_count (65530) in all; then answers the call
 *   legit-burst V B   as a correct worker would: an INFO "burst", then, 20 ms after the owner
 *                     took it, V INFO messages (default 20), each an array of B binaries
 *                     (default 64) one byte over a quarter of the ring, so each travels by
 *                     descriptor, as fast as the ring takes them; then answers "sent V"
 *   mutate-after      a REPLY whose 40000-byte side part (a sealed memfd, bytes 'a') it changes
 *                     to 'X' 50 ms after publishing it
 *   seal-parts        answers every CALL "sealed", taking the memfds that come with it, and
 *                     20 ms after each answer seals them against writing (F_SEAL_WRITE), as a
 *                     worker may once the owner has kept them to carry its next binaries
 * Every reply answers the first call; shrink-segment, extra-fds, wake-flood, linger-socket,
 * empty-parts, map-flood, legit-burst and mutate-after then serve as echo. The others wait to
 * be killed. It exits 0 by itself when the owner is gone (stdin or the lifeline closed), and 2
 * after 10 s of waiting, or at once, with the reason on stderr, when anything else goes wrong.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cnode.h> /* CNODE_PROTOCOL_VERSION only: the worker is not built on it */
#include <msgpack.h>

#include "protocol.h"
#include "ring.h"

/* The descriptors the owner passes (CNODE_RING_FDS). */
enum { S_SEGMENT = 3, S_WAKE_ME = 4, S_WAKE_OWNER = 5, S_LIFELINE = 6 };

/* How long it waits for anything, at most: a test worker must never outlive its test. */
#define S_PATIENCE_MS 10000

/* The side part the memfd modes send: over CNODE_SIDE_MIN, like a real worker's. */
#define S_PART_BYTES 40000u

/* A PONG frame, [10, 0]: what the owner takes and drops, for records that must be valid. */
static const unsigned char s_pong[3] = {0x92, CNODE_FRAME_PONG, 0x00};

/* A ring's control block as ring.h lays it out (ring.c's struct is private): head, tail and the
   two flags, a cache line each. */
struct s_control {
    _Atomic uint64_t head;
    char pad1[56];
    _Atomic uint64_t tail;
    char pad2[56];
    _Atomic uint32_t sleeping;
    _Atomic uint32_t waiting;
    char pad3[56];
};

/* The worker's ends, and what it was told. */
static struct {
    struct cnode_ring_end in;  /* TO_WORKER: the owner's records */
    struct cnode_ring_end out; /* TO_OWNER: ours */
    const char *node;
    uint64_t max_message;
    const char *variant;
} V;

static void s_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ring_vandal: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static struct s_control *s_control(const struct cnode_ring_end *e)
{
    return (struct s_control *)e->control;
}

static uint64_t s_align8(uint64_t n)
{
    return (n + 7u) & ~(uint64_t)7u;
}

static void s_wake_owner(void)
{
    uint64_t one = 1;
    /* EAGAIN: the counter is full, the owner is woken anyway. */
    if (write(S_WAKE_OWNER, &one, sizeof one) < 0 && errno != EAGAIN)
        s_die("wake: %s", strerror(errno));
}

/*
 * Sleeps until `fd` is readable (an eventfd: then read, to reset it) or `events` of it happen,
 * for at most 100 ms. Exits 0 when the owner is gone (stdin or the lifeline hung up), 2 once the
 * patience from `since` is spent.
 */
static void s_sleep_on(int fd, short events, int64_t since)
{
    if (s_now_ms() - since > S_PATIENCE_MS) s_die("waited %d ms for the owner", S_PATIENCE_MS);
    struct pollfd fds[3] = {{fd, events, 0}, {0, POLLIN, 0}, {S_LIFELINE, 0, 0}};
    int n = poll(fds, 3, 100);
    if (n < 0 && errno != EINTR) s_die("poll: %s", strerror(errno));
    if (n <= 0) return;
    if (fds[1].revents != 0 || (fds[2].revents & (POLLHUP | POLLERR))) exit(0);
    if (fds[0].revents & POLLIN) {
        uint64_t count;
        if (read(fd, &count, sizeof count) < 0 && errno != EAGAIN)
            s_die("read: %s", strerror(errno));
    }
}

/* After misbehaving: waits for the owner to kill it, or to go. */
static void s_wait_forever(void)
{
    int64_t since = s_now_ms();
    for (;;) s_sleep_on(S_WAKE_ME, POLLIN, since);
}

/* --- Reading the owner's records. */

/* Waits for the owner's next record and peeks it. */
/* Waits for the owner's next record; with `fds_ok`, one may come with descriptors (whose
   frames are still inline), else the vandal takes small calls only. */
static void s_next_record(struct cnode_ring_record *r, int fds_ok)
{
    int64_t since = s_now_ms();
    for (;;) {
        int got = cnode_ring_peek(&V.in, r, NULL);
        if (got < 0) s_die("the owner's ring is out of format: %s", strerror(errno));
        if (got > 0) {
            cnode_ring_awake(&V.in);
            if (r->parts[0].how != CNODE_RING_INLINE || (r->nfds > 0 && !fds_ok))
                s_die("a record with descriptors: the vandal takes small calls only");
            return;
        }
        if (cnode_ring_sleep(&V.in)) continue;
        s_sleep_on(S_WAKE_ME, POLLIN, since);
    }
}

static void s_next(struct cnode_ring_record *r)
{
    s_next_record(r, 0);
}

static void s_consume(const struct cnode_ring_record *r)
{
    if (cnode_ring_consume(&V.in, r)) s_wake_owner(); /* it waited for room */
}

/* The frames of one record, one at a time. */
struct s_frames {
    const char *data;
    size_t size, offset;
    msgpack_unpacked u;
};

static void s_frames_open(struct s_frames *f, const struct cnode_ring_record *r)
{
    f->data = (const char *)r->parts[0].data;
    f->size = (size_t)r->parts[0].size;
    f->offset = 0;
    msgpack_unpacked_init(&f->u);
}

/* The next frame's array and its kind, or NULL after the last. */
static const msgpack_object_array *s_frames_next(struct s_frames *f, uint64_t *kind)
{
    if (f->offset >= f->size) return NULL;
    if (msgpack_unpack_next(&f->u, f->data, f->size, &f->offset) != MSGPACK_UNPACK_SUCCESS)
        s_die("a frame of the owner's that does not decode");
    const msgpack_object *o = &f->u.data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0
        || o->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        s_die("a frame of the owner's that is not a frame");
    *kind = o->via.array.ptr[0].via.u64;
    return &o->via.array;
}

static void s_frames_close(struct s_frames *f)
{
    msgpack_unpacked_destroy(&f->u);
}

/* --- Writing records. */

/* One part of a record to publish. */
struct s_part {
    const void *data;
    uint64_t size;
    unsigned char how;
};

/* The bytes a record of these parts takes in the ring, as cnode_ring_commit lays it out. */
static size_t s_record_bytes(const struct s_part *parts, size_t n)
{
    uint64_t bytes = 8 + 16 * (uint64_t)n;
    for (size_t i = 0; i < n; i++)
        if (parts[i].how == CNODE_RING_INLINE) bytes += s_align8(parts[i].size);
    return (size_t)bytes;
}

/* Sends descriptors on the lifeline, waiting while it is full. */
static void s_send_fds(const int *fds, size_t n)
{
    int64_t since = s_now_ms();
    while (cnode_ring_send_fds(S_LIFELINE, fds, n) < 0) {
        if (errno == EAGAIN) {
            s_sleep_on(S_LIFELINE, POLLOUT, since);
        } else if (errno == ETOOMANYREFS) { /* too many in flight: the owner takes them soon */
            if (s_now_ms() - since > S_PATIENCE_MS) s_die("the owner never took the descriptors");
            s_sleep_ms(1);
        } else {
            s_die("sendmsg: %s", strerror(errno));
        }
    }
}

/* Publishes a record the way a real worker does: room, its descriptors, then the record.
   Returns 1 when the owner was asleep (cnode_ring_commit): the caller wakes it, or not. */
static int s_publish(const struct s_part *parts, size_t n, const int *fds, size_t nfds)
{
    const void *data[CNODE_RING_MAX_PARTS];
    uint64_t sizes[CNODE_RING_MAX_PARTS];
    unsigned char how[CNODE_RING_MAX_PARTS];
    for (size_t i = 0; i < n; i++) {
        data[i] = parts[i].data;
        sizes[i] = parts[i].size;
        how[i] = parts[i].how;
    }
    size_t bytes = s_record_bytes(parts, n);
    int64_t since = s_now_ms();
    for (;;) {
        int room = cnode_ring_reserve(&V.out, bytes);
        if (room < 0) s_die("reserve: %s", strerror(errno));
        if (room > 0) break;
        s_sleep_on(S_WAKE_ME, POLLIN, since);
    }
    if (nfds > 0) s_send_fds(fds, nfds);
    return cnode_ring_commit(&V.out, bytes, data, sizes, how, n, nfds);
}

/* Publishes and wakes the owner when it sleeps. */
static void s_send(const struct s_part *parts, size_t n, const int *fds, size_t nfds)
{
    if (s_publish(parts, n, fds, nfds)) s_wake_owner();
}

/* Publishes one inline part. */
static void s_send_inline(const void *data, size_t size)
{
    struct s_part part = {data, size, CNODE_RING_INLINE};
    s_send(&part, 1, NULL, 0);
}

/* Stores `head` as the TO_OWNER ring's, whatever it is. */
static void s_store_head(uint64_t head)
{
    atomic_store_explicit(&s_control(&V.out)->head, head, memory_order_release);
}

/* Writes `size` bytes at the producer's place in the TO_OWNER data, as a record's would be,
   without publishing them. */
static void s_write_raw(const void *bytes, size_t size)
{
    uint64_t at = V.out.count & (V.out.capacity - 1u);
    if (at + size > V.out.capacity) s_die("raw bytes past the data's end");
    memcpy(V.out.data + at, bytes, size);
}

/* Writes `size` bytes as a record at the producer's place, publishes `published` bytes of it
   (head jumps by that, whatever the bytes say) and wakes the owner. */
static void s_publish_raw(const void *bytes, size_t size, uint64_t published)
{
    s_write_raw(bytes, size);
    s_store_head(V.out.count + published);
    V.out.count += published;
    s_wake_owner();
}

/* A record header: size, nparts, nfds, then the first part's descriptor. */
static void s_header(unsigned char *p, uint32_t size, uint16_t nparts, uint16_t nfds,
                     uint64_t part_size, uint32_t how)
{
    uint32_t kind[2] = {how, 0};
    memcpy(p, &size, 4);
    memcpy(p + 4, &nparts, 2);
    memcpy(p + 6, &nfds, 2);
    memcpy(p + 8, &part_size, 8);
    memcpy(p + 16, kind, 8);
}

/* --- Frames. */

static void s_pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void s_pack_welcome(msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint8(&pk, CNODE_FRAME_WELCOME);
    msgpack_pack_uint8(&pk, CNODE_PROTOCOL_VERSION);
    s_pack_str(&pk, V.node);
    msgpack_pack_uint32(&pk, (uint32_t)getpid());
}

/* The head of a REPLY, [5, id, node, ...]: its response is packed next. */
static void s_pack_reply_head(msgpack_sbuffer *sb, msgpack_packer *pk, uint32_t id)
{
    msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(pk, 4);
    msgpack_pack_uint8(pk, CNODE_FRAME_REPLY);
    msgpack_pack_uint32(pk, id);
    s_pack_str(pk, V.node);
}

static void s_pack_reply_str(msgpack_sbuffer *sb, uint32_t id, const char *response)
{
    msgpack_packer pk;
    s_pack_reply_head(sb, &pk, id);
    s_pack_str(&pk, response);
}

/* A REPLY whose response is side part 1 (docs/protocol.md section 2). */
static void s_pack_reply_side(msgpack_sbuffer *sb, uint32_t id)
{
    msgpack_packer pk;
    s_pack_reply_head(sb, &pk, id);
    unsigned char index[4] = {0, 0, 0, 1};
    msgpack_pack_ext(&pk, 4, CNODE_EXT_SIDE);
    msgpack_pack_ext_body(&pk, index, 4);
}

/* --- Start: the launch line, the segment, ready, HELLO, WELCOME, the first CALL. */

/* The launch line (docs/protocol.md section 1), its words NUL-separated, as cnode_init reads it:
   the first line on stdin, at most 4096 bytes, within S_PATIENCE_MS. */
static struct {
    char text[4097];
    size_t len;
} L;

static void s_read_launch_line(void)
{
    int64_t since = s_now_ms();
    for (;;) {
        struct pollfd p = {STDIN_FILENO, POLLIN, 0};
        int wait = (int)(since + S_PATIENCE_MS - s_now_ms());
        if (wait <= 0) s_die("no launch line on stdin within %d ms", S_PATIENCE_MS);
        if (poll(&p, 1, wait) < 0 && errno != EINTR) s_die("poll: %s", strerror(errno));
        if (p.revents == 0) continue;
        ssize_t n = read(STDIN_FILENO, L.text + L.len, sizeof L.text - 1 - L.len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) s_die("stdin ended before the launch line");
        char *newline = memchr(L.text + L.len, '\n', (size_t)n);
        L.len += (size_t)n;
        if (newline != NULL) {
            L.len = (size_t)(newline - L.text);
            break;
        }
        if (L.len == sizeof L.text - 1) s_die("the launch line is over 4096 bytes");
    }
    for (size_t i = 0; i < L.len; i++)
        if (L.text[i] == ' ') L.text[i] = '\0';
    L.text[L.len] = '\0';
}

/* The value the launch line gives `name`, or NULL. */
static const char *s_setting(const char *name)
{
    size_t name_len = strlen(name);
    for (size_t at = 0; at < L.len; at += strlen(L.text + at) + 1)
        if (strncmp(L.text + at, name, name_len) == 0 && L.text[at + name_len] == '=')
            return L.text + at + name_len + 1;
    return NULL;
}

static void s_map_segment(void)
{
    const char *transport = s_setting("CNODE_TRANSPORT"), *fds = s_setting("CNODE_RING_FDS");
    if (transport == NULL || strcmp(transport, "local") != 0) s_die("CNODE_TRANSPORT is not local");
    if (fds == NULL || strcmp(fds, "3,4,5,6") != 0) s_die("CNODE_RING_FDS is not 3,4,5,6");
    const char *max = s_setting("CNODE_MAX_MESSAGE_SIZE");
    V.max_message = max != NULL ? strtoull(max, NULL, 10) : 0;
    if (V.max_message == 0) s_die("no CNODE_MAX_MESSAGE_SIZE");
    struct stat st;
    if (fstat(S_SEGMENT, &st) < 0) s_die("fstat(3): %s", strerror(errno));
    void *segment =
        mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, S_SEGMENT, 0);
    if (segment == MAP_FAILED) s_die("mmap: %s", strerror(errno));
    uint32_t capacity = cnode_ring_check(segment, (size_t)st.st_size);
    if (capacity == 0) s_die("the segment's header is out of format");
    cnode_ring_attach(&V.in, segment, capacity, CNODE_RING_TO_WORKER);
    cnode_ring_attach(&V.out, segment, capacity, CNODE_RING_TO_OWNER);
}

/* Reads HELLO, checks its cookie, answers WELCOME. */
static void s_handshake(void)
{
    const char *given = s_setting("CNODE_COOKIE");
    if (given == NULL || strlen(given) != CNODE_COOKIE_LEN) s_die("no CNODE_COOKIE");
    char cookie[CNODE_COOKIE_LEN + 1];
    memcpy(cookie, given, sizeof cookie);
    memset(&L, 0, sizeof L); /* the line is read: the secrets in it go, as cnode_init's do */
    struct cnode_ring_record r;
    s_next(&r);
    struct s_frames f;
    s_frames_open(&f, &r);
    uint64_t kind;
    const msgpack_object_array *a = s_frames_next(&f, &kind);
    if (a == NULL || kind != CNODE_FRAME_HELLO || a->size != 3
        || a->ptr[2].type != MSGPACK_OBJECT_STR || a->ptr[2].via.str.size != CNODE_COOKIE_LEN
        || memcmp(a->ptr[2].via.str.ptr, cookie, CNODE_COOKIE_LEN) != 0)
        s_die("the owner's first record is not a HELLO with the cookie");
    s_frames_close(&f);
    s_consume(&r);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_pack_welcome(&sb);
    s_send_inline(sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

/* Waits for the owner's first CALL and returns its id; its record is consumed. */
static uint32_t s_first_call(void)
{
    struct cnode_ring_record r;
    s_next(&r);
    struct s_frames f;
    s_frames_open(&f, &r);
    uint64_t kind;
    const msgpack_object_array *a = s_frames_next(&f, &kind);
    if (a == NULL || kind != CNODE_FRAME_CALL || a->size != 3
        || a->ptr[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        s_die("the owner's first record after the handshake is not a CALL");
    uint32_t id = (uint32_t)a->ptr[1].via.u64;
    s_frames_close(&f);
    s_consume(&r);
    return id;
}

/* --- Behaving: the echo worker, for the baseline and after shrink-segment. */

static void s_reply_object(uint32_t id, const msgpack_object *response)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    s_pack_reply_head(&sb, &pk, id);
    msgpack_pack_object(&pk, *response);
    s_send_inline(sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

static void s_reply_str(uint32_t id, const char *response)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_pack_reply_str(&sb, id, response);
    s_send_inline(sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

/* Answers each CALL of a record, with `answer`, or else with its own message; exits 0 at STOP. */
static void s_answer_calls(const struct cnode_ring_record *r, const char *answer)
{
    struct s_frames f;
    s_frames_open(&f, r);
    uint64_t kind;
    const msgpack_object_array *a;
    while ((a = s_frames_next(&f, &kind)) != NULL) {
        if (kind == CNODE_FRAME_STOP) exit(0);
        if (kind != CNODE_FRAME_CALL || a->size != 3) continue;
        if (answer != NULL) s_reply_str((uint32_t)a->ptr[1].via.u64, answer);
        else s_reply_object((uint32_t)a->ptr[1].via.u64, &a->ptr[2]);
    }
    s_frames_close(&f);
}

/* Echoes every CALL's message until STOP, then exits 0. */
static void s_serve(void)
{
    for (;;) {
        struct cnode_ring_record r;
        s_next(&r);
        s_answer_calls(&r, NULL);
        s_consume(&r);
    }
}

/* --- Misbehaving. */

static void s_random(void *buf, size_t size)
{
    if (getrandom(buf, size, 0) != (ssize_t)size) s_die("getrandom: %s", strerror(errno));
}

static void s_garbage(void)
{
    unsigned char bytes[256];
    s_random(bytes, sizeof bytes);
    s_publish_raw(bytes, sizeof bytes, sizeof bytes);
}

static void s_garbage_frames(void)
{
    unsigned char bytes[64];
    s_random(bytes, sizeof bytes);
    s_send_inline(bytes, sizeof bytes);
}

/* Fills the TO_OWNER ring with valid records of PONGs until its producer's place is within a
   quarter of the data's end, where a record of a quarter's size would cross it. */
static void s_fill_to_the_end(void)
{
    size_t max = cnode_ring_record_max(&V.out);
    size_t frames = (max - 24) / sizeof s_pong;
    unsigned char *pongs = malloc(frames * sizeof s_pong);
    if (pongs == NULL) s_die("out of memory");
    for (size_t i = 0; i < frames; i++) memcpy(pongs + i * sizeof s_pong, s_pong, sizeof s_pong);
    while ((V.out.count & (V.out.capacity - 1u)) <= V.out.capacity - max)
        s_send_inline(pongs, frames * sizeof s_pong);
    free(pongs);
}

static void s_bad_record(void)
{
    const char *v = V.variant != NULL ? V.variant : "";
    unsigned char p[24] = {0};
    uint32_t max = (uint32_t)cnode_ring_record_max(&V.out);
    if (strcmp(v, "short") == 0) {
        s_header(p, 16, 1, 0, 8, CNODE_RING_INLINE);
        s_publish_raw(p, sizeof p, 4); /* less than a record's header */
    } else if (strcmp(v, "bad-wrap") == 0) {
        uint32_t wrap[2] = {CNODE_RING_WRAP, 0};
        s_publish_raw(wrap, sizeof wrap, 8); /* the wrap mark, and nothing after it */
    } else if (strcmp(v, "overrun") == 0) {
        s_header(p, 16 + 64, 1, 0, 64, CNODE_RING_INLINE);
        s_publish_raw(p, sizeof p, sizeof p); /* says 88 bytes, publishes 24 */
    } else if (strcmp(v, "too-big") == 0) {
        s_header(p, max, 1, 0, max - 16, CNODE_RING_INLINE);
        s_publish_raw(p, sizeof p, (uint64_t)max + 8);
    } else if (strcmp(v, "straddle") == 0) {
        s_fill_to_the_end();
        s_header(p, max - 8, 1, 0, max - 24, CNODE_RING_INLINE);
        s_publish_raw(p, sizeof p, max); /* runs past the data's end, no wrap mark before it */
    } else if (strcmp(v, "zero-parts") == 0) {
        s_header(p, 0, 0, 0, 0, 0);
        s_publish_raw(p, 8, 8);
    } else if (strcmp(v, "many-parts") == 0) {
        size_t n = CNODE_RING_MAX_PARTS + 1, bytes = 8 + 16 * n;
        unsigned char *q = calloc(1, bytes);
        if (q == NULL) s_die("out of memory");
        s_header(q, (uint32_t)(bytes - 8), (uint16_t)n, 0, 0, CNODE_RING_INLINE);
        s_publish_raw(q, bytes, bytes);
        free(q);
    } else if (strcmp(v, "many-fds") == 0) {
        s_header(p, 16, 1, CNODE_RING_MAX_FDS + 1, 0, CNODE_RING_INLINE);
        s_publish_raw(p, sizeof p, sizeof p);
    } else if (strcmp(v, "bad-how") == 0) {
        s_header(p, 16, 1, 0, 0, 7);
        s_publish_raw(p, sizeof p, sizeof p);
    } else if (strcmp(v, "part-overflow") == 0) {
        s_header(p, 16, 1, 0, 1000, CNODE_RING_INLINE); /* 1000 bytes in a record of none */
        s_publish_raw(p, sizeof p, sizeof p);
    } else if (strcmp(v, "misaligned") == 0) {
        /* A size that is no multiple of 8: the first part's padding runs past the record, and
           a reader that then takes room - offset (4 - 8) for the room left wraps around and
           takes the second part's 60 MiB, reading far past its copy of the record. */
        unsigned char q[48] = {0};
        uint64_t second = 60u << 20;
        uint32_t inline_kind[2] = {CNODE_RING_INLINE, 0};
        s_header(q, 36, 2, 0, 1, CNODE_RING_INLINE);
        memcpy(q + 24, &second, 8);
        memcpy(q + 32, inline_kind, 8);
        s_publish_raw(q, sizeof q, sizeof q);
    } else if (strcmp(v, "fd-uncounted") == 0) {
        s_header(p, 16, 1, 0, 100, CNODE_RING_BY_FD);
        s_publish_raw(p, sizeof p, sizeof p);
    } else {
        s_die("bad-record: unknown variant \"%s\"", v);
    }
}

/* Waits until the owner, the TO_WORKER ring's producer, finds no room and waits: it has read
   the tail by then. */
static void s_await_owner_waiting(void)
{
    int64_t since = s_now_ms();
    while (!atomic_load(&s_control(&V.in)->waiting)) {
        if (s_now_ms() - since > S_PATIENCE_MS) s_die("the owner never filled its ring");
        s_sleep_ms(1);
    }
}

static void s_tail(int backwards)
{
    struct s_control *c = s_control(&V.in);
    /* Once the owner waits for room, as a consumer that made some would: an owner that found
       the ring full before the tail moved would otherwise wait for a wake that never comes. */
    s_await_owner_waiting();
    if (backwards) atomic_store(&c->tail, V.in.count - 8);            /* behind what the owner read */
    else atomic_store(&c->tail, V.in.count + ((uint64_t)1 << 40));    /* past anything it wrote */
    atomic_store(&c->waiting, 0);
    s_wake_owner();
}

/* A memfd named like a real part (so that the tests' ringLeftovers sees one left behind), with
   `size` bytes, sealed with `seals` (none when 0). */
static int s_part_memfd(size_t size, int seals)
{
    int fd = memfd_create("cnode-part", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0 || ftruncate(fd, (off_t)size) < 0) s_die("memfd: %s", strerror(errno));
    if (seals != 0 && fcntl(fd, F_ADD_SEALS, seals) < 0) s_die("F_ADD_SEALS: %s", strerror(errno));
    return fd;
}

/* A REPLY with side part 1 by descriptor: `claimed` bytes said, `fd` sent. */
static void s_reply_by_fd(uint32_t id, uint64_t claimed, int fd)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_pack_reply_side(&sb, id);
    struct s_part parts[2] = {{sb.data, sb.size, CNODE_RING_INLINE},
                              {NULL, claimed, CNODE_RING_BY_FD}};
    s_send(parts, 2, &fd, 1);
    msgpack_sbuffer_destroy(&sb);
}

/* unsealed, shrink-after: a part the owner must not map, cut short soon after it is sent. Were
   it mapped, the owner's first touch of the Buffer after the cut would raise SIGBUS. */
static void s_shrinkable(uint32_t id, int seals)
{
    int fd = s_part_memfd(S_PART_BYTES, seals);
    s_reply_by_fd(id, S_PART_BYTES, fd);
    s_sleep_ms(20);
    if (ftruncate(fd, 0) < 0) s_die("ftruncate: %s", strerror(errno));
}

/* A REPLY record naming `count` descriptors that it does not send itself. */
static void s_missing_fds(uint32_t id, size_t count)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_pack_reply_str(&sb, id, "missing");
    struct s_part part = {sb.data, sb.size, CNODE_RING_INLINE};
    const void *data[1] = {sb.data};
    uint64_t sizes[1] = {sb.size};
    unsigned char how[1] = {CNODE_RING_INLINE};
    size_t bytes = s_record_bytes(&part, 1);
    if (cnode_ring_reserve(&V.out, bytes) != 1) s_die("no room for a small record");
    cnode_ring_commit(&V.out, bytes, data, sizes, how, 1, count);
    s_wake_owner();
    msgpack_sbuffer_destroy(&sb);
}

static void s_extra_fds(uint32_t id)
{
    int fds[3];
    for (int i = 0; i < 3; i++) fds[i] = s_part_memfd(64, 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_pack_reply_str(&sb, id, "extra");
    struct s_part part = {sb.data, sb.size, CNODE_RING_INLINE};
    s_send(&part, 1, fds, 3);
    msgpack_sbuffer_destroy(&sb);
    for (int i = 0; i < 3; i++) close(fds[i]);
}

/* `messages` lifeline messages of `each` copies of one descriptor, without a record. */
static void s_fd_flood(size_t messages, size_t each)
{
    int fd = s_part_memfd(64, 0), fds[256];
    for (size_t i = 0; i < each; i++) fds[i] = fd;
    for (size_t m = 0; m < messages; m++) {
        if (each <= CNODE_RING_MAX_FDS) {
            s_send_fds(fds, each);
            continue;
        }
        /* More than cnode_ring_send_fds takes: by hand, as a hostile worker would. */
        union {
            struct cmsghdr align;
            char bytes[CMSG_SPACE(sizeof fds)];
        } control;
        memset(&control, 0, sizeof control);
        char byte = 0;
        struct iovec iov = {&byte, 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes,
                             .msg_controllen = CMSG_SPACE(sizeof(int) * each)};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * each);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * each);
        if (sendmsg(S_LIFELINE, &msg, MSG_NOSIGNAL) != 1) s_die("sendmsg: %s", strerror(errno));
    }
    close(fd);
}

static void s_fd_none(void)
{
    char byte = 0;
    if (send(S_LIFELINE, &byte, 1, MSG_NOSIGNAL) != 1) s_die("send: %s", strerror(errno));
}

static void s_oversize(uint32_t id, int by_fd)
{
    size_t size = (size_t)V.max_message + 1;
    if (by_fd) {
        unsigned char *bytes = calloc(1, size);
        if (bytes == NULL) s_die("out of memory");
        int fd = cnode_ring_memfd(bytes, size); /* sealed as a real worker's part */
        if (fd < 0) s_die("cnode_ring_memfd: %s", strerror(errno));
        free(bytes);
        s_reply_by_fd(id, size, fd);
        close(fd);
        return;
    }
    if (size + 64 > cnode_ring_record_max(&V.out))
        s_die("oversize-inline: maxMessageSize does not fit inline");
    char *text = malloc(size);
    if (text == NULL) s_die("out of memory");
    memset(text, 'x', size - 1);
    text[size - 1] = '\0';
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_pack_reply_str(&sb, id, text);
    s_send_inline(sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    free(text);
}

/* Writes the first half of a valid REPLY record where it would go, never publishes it, wakes
   the owner anyway, and dies. */
static void s_half(uint32_t id)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_pack_reply_str(&sb, id, "half");
    struct s_part part = {sb.data, sb.size, CNODE_RING_INLINE};
    size_t bytes = s_record_bytes(&part, 1);
    unsigned char *record = calloc(1, bytes);
    if (record == NULL) s_die("out of memory");
    s_header(record, (uint32_t)(bytes - 8), 1, 0, sb.size, CNODE_RING_INLINE);
    memcpy(record + 24, sb.data, sb.size);
    s_write_raw(record, bytes / 2);
    s_wake_owner();
    raise(SIGKILL);
}

static void s_valid_then_garbage(uint32_t id)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_pack_reply_str(&sb, id, "valid");
    struct s_part part = {sb.data, sb.size, CNODE_RING_INLINE};
    int sleeping = s_publish(&part, 1, NULL, 0);
    msgpack_sbuffer_destroy(&sb);
    if (V.variant != NULL && strcmp(V.variant, "apart") == 0) {
        if (sleeping) s_wake_owner();
        s_sleep_ms(50); /* delivered by then */
    }
    if (V.variant != NULL && strcmp(V.variant, "refused") == 0) s_missing_fds(id, 3); /* wakes it */
    else s_garbage(); /* wakes the owner */
}

static const char *s_errno_name(int err)
{
    return err == EPERM ? "EPERM" : err == 0 ? "none" : "other";
}

static void s_shrink_segment(uint32_t id)
{
    char answer[64];
    int shrink = ftruncate(S_SEGMENT, 4096) < 0 ? errno : 0;
    int grow = ftruncate(S_SEGMENT, 1 << 30) < 0 ? errno : 0;
    int reseal = fcntl(S_SEGMENT, F_ADD_SEALS, F_SEAL_WRITE) < 0 ? errno : 0;
    snprintf(answer, sizeof answer, "%s %s %s", s_errno_name(shrink), s_errno_name(grow),
             s_errno_name(reseal));
    s_reply_str(id, answer);
}

static void s_wake_flood(uint32_t id)
{
    uint64_t most = UINT64_MAX - 1; /* the counter's largest value */
    if (write(S_WAKE_OWNER, &most, sizeof most) < 0 && errno != EAGAIN)
        s_die("write: %s", strerror(errno));
    int64_t since = s_now_ms();
    while (s_now_ms() - since < 300) s_wake_owner();
    s_reply_str(id, "woken");
}

/* A TCP socket with data it cannot send (its peer, never accepted, reads nothing) and set to
   linger on close for `seconds`: a close of its last descriptor blocks that long. */
static int s_lingering_socket(int seconds)
{
    int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small = 4096;
    setsockopt(server, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (bind(server, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(server, 1) < 0
        || getsockname(server, (struct sockaddr *)&addr, &len) < 0)
        s_die("listen: %s", strerror(errno));
    int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(client, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    if (connect(client, (struct sockaddr *)&addr, sizeof addr) < 0)
        s_die("connect: %s", strerror(errno));
    char bytes[4096] = {0};
    while (send(client, bytes, sizeof bytes, MSG_DONTWAIT | MSG_NOSIGNAL) > 0) {
    }
    struct linger linger = {1, seconds};
    if (setsockopt(client, SOL_SOCKET, SO_LINGER, &linger, sizeof linger) < 0)
        s_die("SO_LINGER: %s", strerror(errno));
    return client; /* the server stays open, unread, until this process ends */
}

static void s_linger_socket(uint32_t id)
{
    int fd = s_lingering_socket(V.variant != NULL ? atoi(V.variant) : 2);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_pack_reply_str(&sb, id, "lingered");
    struct s_part part = {sb.data, sb.size, CNODE_RING_INLINE};
    size_t bytes = s_record_bytes(&part, 1);
    const void *data[1] = {sb.data};
    uint64_t sizes[1] = {sb.size};
    unsigned char how[1] = {CNODE_RING_INLINE};
    if (cnode_ring_reserve(&V.out, bytes) != 1) s_die("no room for a small record");
    s_send_fds(&fd, 1);
    close(fd); /* in flight, then the owner's: its close is the last */
    if (cnode_ring_commit(&V.out, bytes, data, sizes, how, 1, 1)) s_wake_owner();
    msgpack_sbuffer_destroy(&sb);
}

static void s_empty_parts(uint32_t id)
{
    int fd = cnode_ring_memfd("", 0), fds[2] = {fd, fd};
    if (fd < 0) s_die("cnode_ring_memfd: %s", strerror(errno));
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    s_pack_reply_head(&sb, &pk, id);
    msgpack_pack_array(&pk, 2);
    for (unsigned char i = 1; i <= 2; i++) {
        unsigned char index[4] = {0, 0, 0, i};
        msgpack_pack_ext(&pk, 4, CNODE_EXT_SIDE);
        msgpack_pack_ext_body(&pk, index, 4);
    }
    struct s_part parts[3] = {{sb.data, sb.size, CNODE_RING_INLINE}, {NULL, 0, CNODE_RING_BY_FD},
                              {NULL, 0, CNODE_RING_BY_FD}};
    s_send(parts, 3, fds, 2);
    msgpack_sbuffer_destroy(&sb);
    close(fd);
}

/* Waits until the owner has consumed every record published. */
static void s_await_owner_caught_up(void)
{
    int64_t since = s_now_ms();
    while (atomic_load(&s_control(&V.out)->tail) != V.out.count) {
        if (s_now_ms() - since > S_PATIENCE_MS) s_die("the owner never consumed its ring");
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
    }
}

static void s_map_flood(uint32_t id)
{
    size_t records = V.variant != NULL ? (size_t)atol(V.variant) : 1100;
    int fd = cnode_ring_memfd("m", 1), fds[CNODE_MAX_SIDES];
    if (fd < 0) s_die("cnode_ring_memfd: %s", strerror(errno));
    struct s_part parts[1 + CNODE_MAX_SIDES] = {{s_pong, sizeof s_pong, CNODE_RING_INLINE}};
    for (size_t i = 0; i < CNODE_MAX_SIDES; i++) {
        parts[1 + i] = (struct s_part){NULL, 1, CNODE_RING_BY_FD};
        fds[i] = fd;
    }
    for (size_t r = 0; r < records; r++) {
        /* Paced: never more descriptors ahead of the owner than it allows (1024). */
        if (r % 8 == 0) s_await_owner_caught_up();
        s_send(parts, 1 + CNODE_MAX_SIDES, fds, CNODE_MAX_SIDES);
    }
    close(fd);
    s_reply_str(id, "flooded");
}

/* As a correct worker would: INFO messages whose message is an array of binaries one byte too
   big for the ring, so that each travels as a memfd, sent as fast as the ring takes them; then
   the reply. */
static void s_legit_burst(uint32_t id, size_t messages, size_t nsides)
{
    size_t size = cnode_ring_record_max(&V.out) + 1;
    if (nsides < 1 || nsides > CNODE_MAX_SIDES) s_die("legit-burst: 1 to 64 binaries a message");
    char *bytes = malloc(size);
    if (bytes == NULL) s_die("out of memory");
    memset(bytes, 'b', size);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, CNODE_FRAME_INFO);
    s_pack_str(&pk, V.node);
    msgpack_pack_array(&pk, nsides);
    for (size_t i = 1; i <= nsides; i++) {
        unsigned char index[4] = {0, 0, 0, (unsigned char)i};
        msgpack_pack_ext(&pk, 4, CNODE_EXT_SIDE);
        msgpack_pack_ext_body(&pk, index, 4);
    }
    struct s_part parts[1 + CNODE_MAX_SIDES] = {{sb.data, sb.size, CNODE_RING_INLINE}};
    uint64_t sizes[1 + CNODE_MAX_SIDES] = {sb.size};
    unsigned char how[1 + CNODE_MAX_SIDES];
    for (size_t i = 1; i <= nsides; i++) sizes[i] = size;
    cnode_ring_plan(&V.out, sizes, 1 + nsides, how); /* what a real worker would send */
    if (how[0] != CNODE_RING_INLINE) s_die("legit-burst: the frames do not fit inline");
    for (size_t i = 1; i <= nsides; i++) parts[i] = (struct s_part){NULL, size, how[i]};
    /* First a message of its own; once the owner has taken it (and, in the test, blocks in its
       listener), the burst. */
    msgpack_sbuffer hello;
    msgpack_sbuffer_init(&hello);
    msgpack_packer_init(&pk, &hello, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, CNODE_FRAME_INFO);
    s_pack_str(&pk, V.node);
    s_pack_str(&pk, "burst");
    s_send_inline(hello.data, hello.size);
    msgpack_sbuffer_destroy(&hello);
    s_await_owner_caught_up();
    s_sleep_ms(20);
    int fds[CNODE_MAX_SIDES];
    for (size_t m = 0; m < messages; m++) {
        for (size_t i = 0; i < nsides; i++)
            if ((fds[i] = cnode_ring_memfd(bytes, size)) < 0)
                s_die("cnode_ring_memfd: %s", strerror(errno));
        s_send(parts, 1 + nsides, fds, nsides);
        for (size_t i = 0; i < nsides; i++) close(fds[i]);
    }
    msgpack_sbuffer_destroy(&sb);
    free(bytes);
    char answer[32];
    snprintf(answer, sizeof answer, "sent %zu", messages);
    s_reply_str(id, answer);
}

static void s_mutate_after(uint32_t id)
{
    char *bytes = malloc(S_PART_BYTES);
    if (bytes == NULL) s_die("out of memory");
    memset(bytes, 'a', S_PART_BYTES);
    int fd = cnode_ring_memfd(bytes, S_PART_BYTES); /* sealed as a real worker's part */
    free(bytes);
    if (fd < 0) s_die("cnode_ring_memfd: %s", strerror(errno));
    char *mine = mmap(NULL, S_PART_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mine == MAP_FAILED) s_die("mmap: %s", strerror(errno));
    s_reply_by_fd(id, S_PART_BYTES, fd);
    close(fd);
    s_sleep_ms(50);
    memset(mine, 'X', S_PART_BYTES);
}

static void s_seal_parts(void)
{
    for (;;) {
        struct cnode_ring_record r;
        s_next_record(&r, 1);
        int fds[CNODE_RING_MAX_FDS];
        int n = 0;
        if (r.nfds > 0) { /* sent before the record was published: waiting on the lifeline */
            n = cnode_ring_recv_fds(S_LIFELINE, fds, CNODE_RING_MAX_FDS);
            if (n != (int)r.nfds) s_die("%d descriptors for a record naming %zu", n, r.nfds);
        }
        s_answer_calls(&r, "sealed");
        s_consume(&r);
        s_sleep_ms(20);
        /* EBUSY if the owner maps it shared again meanwhile (it refills it): then it stays open. */
        for (int i = 0; i < n; i++) {
            fcntl(fds[i], F_ADD_SEALS, F_SEAL_WRITE);
            close(fds[i]);
        }
    }
}

int main(int argc, char **argv)
{
    /* Dies with the owner even if it cannot tell: a test worker must never be left behind. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (argc < 6) s_die("usage: ring_vandal <host> <alive> <node> <creation> <mode> [V [B]]");
    const char *mode = argv[5];
    V.node = argv[3];
    V.variant = argc > 6 ? argv[6] : NULL;
    s_read_launch_line();
    s_map_segment();
    printf("ready local\n");
    fflush(stdout);
    s_handshake();
    if (strcmp(mode, "echo") == 0) s_serve();
    if (strcmp(mode, "seal-parts") == 0) s_seal_parts();
    uint32_t id = s_first_call();

    if (strcmp(mode, "garbage") == 0) {
        s_garbage();
    } else if (strcmp(mode, "garbage-frames") == 0) {
        s_garbage_frames();
    } else if (strcmp(mode, "backwards") == 0) {
        s_store_head(V.out.count - 8);
        s_wake_owner();
    } else if (strcmp(mode, "beyond") == 0) {
        s_store_head(V.out.count + V.out.capacity + 8);
        s_wake_owner();
    } else if (strcmp(mode, "bad-record") == 0) {
        s_bad_record();
    } else if (strcmp(mode, "tail-backwards") == 0 || strcmp(mode, "tail-beyond") == 0) {
        s_tail(strcmp(mode, "tail-backwards") == 0);
    } else if (strcmp(mode, "unsealed") == 0) {
        s_shrinkable(id, 0);
    } else if (strcmp(mode, "shrink-after") == 0) {
        s_shrinkable(id, F_SEAL_GROW);
    } else if (strcmp(mode, "short-part") == 0) {
        int fd = s_part_memfd(100, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
        s_reply_by_fd(id, S_PART_BYTES, fd);
        close(fd);
    } else if (strcmp(mode, "missing-fds") == 0) {
        s_missing_fds(id, 3);
    } else if (strcmp(mode, "extra-fds") == 0) {
        s_extra_fds(id);
        s_serve();
    } else if (strcmp(mode, "fd-flood") == 0) {
        s_fd_flood(13, CNODE_RING_MAX_FDS); /* 1053 descriptors that no record names */
        s_reply_str(id, "flooded");
        s_serve();
    } else if (strcmp(mode, "fd-burst") == 0) {
        s_fd_flood(1, 200);
        s_missing_fds(id, 1); /* the record that takes them */
    } else if (strcmp(mode, "fd-none") == 0) {
        s_fd_none();
        s_missing_fds(id, 1);
    } else if (strcmp(mode, "oversize") == 0 || strcmp(mode, "oversize-inline") == 0) {
        s_oversize(id, strcmp(mode, "oversize") == 0);
    } else if (strcmp(mode, "half") == 0) {
        s_half(id);
    } else if (strcmp(mode, "valid-then-garbage") == 0) {
        s_valid_then_garbage(id);
    } else if (strcmp(mode, "reply-then-exit") == 0) {
        s_reply_str(id, "bye");
        return 0;
    } else if (strcmp(mode, "shrink-segment") == 0) {
        s_shrink_segment(id);
        s_serve();
    } else if (strcmp(mode, "wake-flood") == 0) {
        s_wake_flood(id);
        s_serve();
    } else if (strcmp(mode, "linger-socket") == 0) {
        s_linger_socket(id);
        s_serve();
    } else if (strcmp(mode, "empty-parts") == 0) {
        s_empty_parts(id);
        s_serve();
    } else if (strcmp(mode, "map-flood") == 0) {
        s_map_flood(id);
        s_serve();
    } else if (strcmp(mode, "legit-burst") == 0) {
        s_legit_burst(id, V.variant != NULL ? (size_t)atol(V.variant) : 20,
                      argc > 7 ? (size_t)atol(argv[7]) : 64);
        s_serve();
    } else if (strcmp(mode, "mutate-after") == 0) {
        s_mutate_after(id);
        s_serve();
    } else {
        s_die("unknown mode \"%s\"", mode);
    }
    s_wait_forever();
}
