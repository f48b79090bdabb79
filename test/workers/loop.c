/*
 * loop.c: a worker that uses the loop as a sidecar would, for test/worker-loop.test.ts: timers,
 * descriptors and cnode_post from other threads.
 *
 * User arguments: "tick10" adds, before cnode_run, a timer that sends ["tick", seq] every 10 ms;
 * "post5" posts ["early", i] for i in 0..4 before cnode_run, to be sent once the owner is there.
 * Calls, a map whose "op" picks:
 *   tick {ms}            a timer sending ["tick", seq] every ms; answers its id
 *   cancel {id}          cnode_cancel_timer; answers [rc, errno name]
 *   self-cancel {ms}     a timer that cancels itself from its callback, and sends
 *                        ["self-cancel", rc, errno name, runs] each time it runs (once)
 *   once {ms}            a timer that returns 1 after sending ["once", runs]
 *   busy {count, ms}     `count` timers of `ms` that only count their runs; answers the count
 *   runs                 how many times the busy timers ran
 *   fail-timer {ms}      a timer that returns -1: cnode_run ends with status 1
 *   stop-later {sleep, ms, fail}  adds a timer of `ms` that stops the loop (returns -1 if fail),
 *                        then sleeps `sleep` ms in the handler, so that calls queue up and the
 *                        timer is due as soon as the loop has handled its budget of them
 *   watch {path}         opens the FIFO at path and watches it: each read sends ["fifo", text];
 *                        at EOF sends ["fifo-eof"], removes the fd from its callback, closes it
 *   unwatch              cnode_remove_fd on the FIFO (kept open); answers [rc, errno name]
 *   post {threads, count} threads posting [thread, seq] for seq in 0..count-1, retrying after
 *                        EAGAIN; each then sends ["posted", thread, eagains]; answers true
 *   post-full            posts ["full", i] from the handler until cnode_post fails; answers
 *                        [count, errno name]: the loop cannot drain while the handler runs
 *   errors               every argument error and cap; answers a map of name -> errno name
 * After cnode_run it prints "after run: cnode_post <rc> <errno name>" on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cnode.h>

#define MAX_THREADS 8

struct poster {
    cnode_t *node;
    pthread_t thread;
    int index;
    int64_t count;
};

static struct {
    uint64_t tick_seq;
    uint64_t busy_runs;
    int self_cancel_id;
    int self_cancel_runs;
    int once_runs;
    int fifo;          /* the FIFO's descriptor while open ... */
    int watched;       /* ... and its number, which unwatch removes, open or not */
    struct poster posters[MAX_THREADS];
    int nposters;
} s = {.fifo = -1, .watched = -1};

static const char *errno_name(int err)
{
    switch (err) {
    case 0: return "0";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case ENOSPC: return "ENOSPC";
    case EEXIST: return "EEXIST";
    case EAGAIN: return "EAGAIN";
    case EPIPE: return "EPIPE";
    case EMSGSIZE: return "EMSGSIZE";
    case ENOTCONN: return "ENOTCONN";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    default: return strerror(err);
    }
}

static int64_t num(const msgpack_object *map, const char *key)
{
    const msgpack_object *o = cnode_map_get(map, key);
    return o && (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                 || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) ? o->via.i64 : 0;
}

static void pack_str(msgpack_packer *pk, const char *text)
{
    msgpack_pack_str_with_body(pk, text, strlen(text));
}

/* Packs [tag, a, b] (b and a as given: NULL leaves them out) and sends or posts it. */
static int emit(cnode_t *node, int post, const char *tag, const int64_t *a, const char *b,
                const int64_t *c)
{
    msgpack_sbuffer buf;
    msgpack_packer pk;
    msgpack_sbuffer_init(&buf);
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1 + (a != NULL) + (b != NULL) + (c != NULL));
    pack_str(&pk, tag);
    if (a) msgpack_pack_int64(&pk, *a);
    if (b) pack_str(&pk, b);
    if (c) msgpack_pack_int64(&pk, *c);
    int rc = post ? cnode_post(node, buf.data, buf.size) : cnode_send(node, buf.data, buf.size);
    int err = errno;
    msgpack_sbuffer_destroy(&buf);
    errno = err;
    return rc;
}

static int on_tick(cnode_t *node, void *user)
{
    (void)user;
    int64_t seq = (int64_t)s.tick_seq;
    /* Before the owner's handshake there is nobody to send to: that tick is not counted. */
    if (emit(node, 0, "tick", &seq, NULL, NULL) == 0) s.tick_seq++;
    return 0;
}

static int on_self_cancel(cnode_t *node, void *user)
{
    (void)user;
    int rc = cnode_cancel_timer(node, s.self_cancel_id);
    int64_t code = rc, runs = ++s.self_cancel_runs;
    emit(node, 0, "self-cancel", &code, errno_name(rc < 0 ? errno : 0), &runs);
    return 0; /* "keep": but it is cancelled already */
}

static int on_once(cnode_t *node, void *user)
{
    (void)user;
    int64_t runs = ++s.once_runs;
    emit(node, 0, "once", &runs, NULL, NULL);
    return 1;
}

static int on_busy(cnode_t *node, void *user)
{
    (void)node, (void)user;
    s.busy_runs++;
    return 0;
}

static int on_stop(cnode_t *node, void *user)
{
    (void)user;
    cnode_stop(node);
    return 1;
}

static int on_fail(cnode_t *node, void *user)
{
    (void)node, (void)user;
    return -1;
}

static int on_fifo(cnode_t *node, int fd, short revents, void *user)
{
    (void)revents, (void)user;
    char buf[512];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
    if (n == 0) { /* every writer closed */
        emit(node, 0, "fifo-eof", NULL, NULL, NULL);
        cnode_remove_fd(node, fd);
        close(fd);
        s.fifo = -1;
        return 0;
    }
    buf[n] = '\0';
    emit(node, 0, "fifo", NULL, buf, NULL);
    return 0;
}

static void nap_us(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

static void *post_thread(void *arg)
{
    struct poster *p = arg;
    int64_t eagains = 0, index = p->index;
    for (int64_t seq = 0; seq < p->count;) {
        msgpack_sbuffer buf;
        msgpack_packer pk;
        msgpack_sbuffer_init(&buf);
        msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 2);
        msgpack_pack_int64(&pk, index);
        msgpack_pack_int64(&pk, seq);
        int rc = cnode_post(p->node, buf.data, buf.size);
        int err = errno;
        msgpack_sbuffer_destroy(&buf);
        if (rc == 0) seq++;
        else if (err == EAGAIN) eagains++, nap_us(50);
        else return NULL; /* EPIPE: the loop has ended */
    }
    while (emit(p->node, 1, "posted", &index, NULL, &eagains) < 0 && errno == EAGAIN) nap_us(50);
    return NULL;
}

static int start_posters(cnode_t *node, int64_t threads, int64_t count)
{
    if (threads < 1 || s.nposters + threads > MAX_THREADS)
        return cnode_fail(node, "threads %lld: at most %d in all", (long long)threads,
                          MAX_THREADS);
    for (int64_t i = 0; i < threads; i++) {
        struct poster *p = &s.posters[s.nposters];
        *p = (struct poster){node, 0, s.nposters, count};
        if (pthread_create(&p->thread, NULL, post_thread, p) != 0)
            return cnode_fail(node, "pthread_create failed");
        s.nposters++;
    }
    return 0;
}

static int post_full(cnode_t *node, msgpack_packer *reply)
{
    int64_t count = 0;
    while (emit(node, 1, "full", &count, NULL, NULL) == 0) count++;
    int err = errno;
    msgpack_pack_array(reply, 2);
    msgpack_pack_int64(reply, count);
    pack_str(reply, errno_name(err));
    return 0;
}

/* One check of `errors`: the name and the errno a call that must fail set. */
static void check(msgpack_packer *pk, const char *name, int rc)
{
    pack_str(pk, name);
    pack_str(pk, rc == -1 ? errno_name(errno) : "succeeded");
}

static int timer_cap(cnode_t *node)
{
    int ids[300], added = 0, rc = 0;
    while (added < 300 && (rc = cnode_add_timer(node, 100000, on_busy, NULL)) > 0)
        ids[added++] = rc;
    int err = errno;
    for (int i = 0; i < added; i++) cnode_cancel_timer(node, ids[i]);
    errno = err;
    return added == 256 && rc == -1 ? -1 : 0;
}

static int fd_cap(cnode_t *node, int *duplicate)
{
    int fds[70][2], opened = 0, added = 0, rc = 0;
    while (opened < 70 && pipe(fds[opened]) == 0) opened++;
    for (int i = 0; i < opened && rc == 0; i++)
        if ((rc = cnode_add_fd(node, fds[i][0], POLLIN, on_fifo, NULL)) == 0) added++;
    int err = errno;
    *duplicate = cnode_add_fd(node, fds[0][0], POLLIN, on_fifo, NULL) == -1 ? errno : 0;
    for (int i = 0; i < opened; i++) {
        cnode_remove_fd(node, fds[i][0]);
        close(fds[i][0]);
        close(fds[i][1]);
    }
    errno = err;
    return added == 64 && rc == -1 ? -1 : 0;
}

static int errors(cnode_t *node, msgpack_packer *pk)
{
    static const char two[] = {0x01, 0x02}, ext[] = {(char)0xd4, 0x05, 0x00};
    char big[2048];
    memset(big, 0, sizeof big);
    big[0] = (char)0xc5, big[1] = 0x07, big[2] = 0xf0; /* bin 16 of 2032 bytes */
    msgpack_pack_map(pk, 17);
    check(pk, "timer-zero-interval", cnode_add_timer(node, 0, on_busy, NULL));
    check(pk, "timer-no-fn", cnode_add_timer(node, 10, NULL, NULL));
    check(pk, "timer-huge-interval", cnode_add_timer(node, 3000000000u, on_busy, NULL));
    check(pk, "cancel-zero", cnode_cancel_timer(node, 0));
    check(pk, "cancel-unknown", cnode_cancel_timer(node, 999999));
    check(pk, "timer-cap", timer_cap(node));
    check(pk, "fd-negative", cnode_add_fd(node, -1, POLLIN, on_fifo, NULL));
    check(pk, "fd-stdin", cnode_add_fd(node, 0, POLLIN, on_fifo, NULL));
    check(pk, "fd-no-events", cnode_add_fd(node, 1, 0, on_fifo, NULL));
    check(pk, "fd-bad-events", cnode_add_fd(node, 1, 0x4000, on_fifo, NULL));
    check(pk, "fd-no-fn", cnode_add_fd(node, 1, POLLOUT, NULL, NULL));
    check(pk, "remove-unknown", cnode_remove_fd(node, 1));
    int duplicate;
    check(pk, "fd-cap", fd_cap(node, &duplicate));
    pack_str(pk, "fd-duplicate");
    pack_str(pk, errno_name(duplicate));
    check(pk, "post-two-objects", cnode_post(node, two, sizeof two));
    check(pk, "post-ext", cnode_post(node, ext, sizeof ext));
    check(pk, "post-too-big", cnode_post(node, big, 3 + 2032));
    return 0;
}

static int handle(cnode_t *node, const msgpack_object *req, msgpack_packer *reply, void *user)
{
    (void)user;
    if (reply == NULL) return 0;
    const msgpack_object *op = cnode_map_get(req, "op");
    char name[32] = "";
    if (op && op->type == MSGPACK_OBJECT_STR && op->via.str.size < sizeof name)
        memcpy(name, op->via.str.ptr, op->via.str.size);
    unsigned ms = (unsigned)num(req, "ms");

    if (!strcmp(name, "tick"))
        return msgpack_pack_int(reply, cnode_add_timer(node, ms, on_tick, NULL));
    if (!strcmp(name, "cancel")) {
        int rc = cnode_cancel_timer(node, (int)num(req, "id"));
        msgpack_pack_array(reply, 2);
        msgpack_pack_int(reply, rc);
        pack_str(reply, errno_name(rc < 0 ? errno : 0));
        return 0;
    }
    if (!strcmp(name, "self-cancel")) {
        s.self_cancel_id = cnode_add_timer(node, ms, on_self_cancel, NULL);
        return msgpack_pack_int(reply, s.self_cancel_id);
    }
    if (!strcmp(name, "once"))
        return msgpack_pack_int(reply, cnode_add_timer(node, ms, on_once, NULL));
    if (!strcmp(name, "busy")) {
        int64_t count = num(req, "count"), added = 0;
        while (added < count && cnode_add_timer(node, ms, on_busy, NULL) > 0) added++;
        return msgpack_pack_int64(reply, added);
    }
    if (!strcmp(name, "runs")) return msgpack_pack_uint64(reply, s.busy_runs);
    if (!strcmp(name, "fail-timer"))
        return msgpack_pack_int(reply, cnode_add_timer(node, ms, on_fail, NULL));
    if (!strcmp(name, "stop-later")) {
        const msgpack_object *fail = cnode_map_get(req, "fail");
        int failing = fail && fail->type == MSGPACK_OBJECT_BOOLEAN && fail->via.boolean;
        int id = cnode_add_timer(node, ms, failing ? on_fail : on_stop, NULL);
        struct timespec nap = {0, (long)num(req, "sleep") * 1000000L};
        nanosleep(&nap, NULL); /* the timer is due when this returns */
        return msgpack_pack_int(reply, id);
    }
    if (!strcmp(name, "watch")) {
        const msgpack_object *path = cnode_map_get(req, "path");
        char p[1024];
        if (path == NULL || path->type != MSGPACK_OBJECT_STR || path->via.str.size >= sizeof p)
            return cnode_fail(node, "watch needs a path");
        memcpy(p, path->via.str.ptr, path->via.str.size);
        p[path->via.str.size] = '\0';
        /* Non-blocking: opening a FIFO for reading would otherwise wait for a writer. */
        if ((s.fifo = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
            return cnode_fail(node, "open %s: %s", p, strerror(errno));
        s.watched = s.fifo;
        if (cnode_add_fd(node, s.fifo, POLLIN, on_fifo, NULL) < 0)
            return cnode_fail(node, "cnode_add_fd: %s", errno_name(errno));
        return msgpack_pack_true(reply);
    }
    if (!strcmp(name, "unwatch")) {
        int rc = cnode_remove_fd(node, s.watched);
        msgpack_pack_array(reply, 2);
        msgpack_pack_int(reply, rc);
        pack_str(reply, errno_name(rc < 0 ? errno : 0));
        return 0;
    }
    if (!strcmp(name, "post")) {
        if (start_posters(node, num(req, "threads"), num(req, "count")) < 0) return -1;
        return msgpack_pack_true(reply);
    }
    if (!strcmp(name, "post-full")) return post_full(node, reply);
    if (!strcmp(name, "errors")) return errors(node, reply);
    return cnode_fail(node, "unknown op \"%s\"", name);
}

int main(int argc, char **argv)
{
    cnode_t *node = cnode_init(argc, argv);
    if (node == NULL) return 1;
    for (int i = 0; i < cnode_argc(node); i++) {
        if (!strcmp(cnode_argv(node)[i], "tick10") && cnode_add_timer(node, 10, on_tick, NULL) < 0)
            return 1;
        for (int early = 0; !strcmp(cnode_argv(node)[i], "post5") && early < 5; early++) {
            unsigned char message[] = {0x92, 0xa5, 'e', 'a', 'r', 'l', 'y', (unsigned char)early};
            if (cnode_post(node, message, sizeof message) < 0) return 1;
        }
    }
    int status = cnode_run(node, handle, NULL);
    int rc = cnode_post(node, "\xc0", 1);
    fprintf(stderr, "after run: cnode_post %d %s\n", rc, errno_name(rc < 0 ? errno : 0));
    for (int i = 0; i < s.nposters; i++) pthread_join(s.posters[i].thread, NULL);
    if (s.fifo >= 0) close(s.fifo);
    cnode_destroy(node);
    return status;
}
