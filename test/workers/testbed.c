/*
 * testbed.c: a worker that misbehaves on request, for the tests.
 *
 * Its first user argument (after the four standard ones) picks a start-up failure:
 *   no-ready     prints a line on stdout and on stderr, then never becomes ready
 *   bad-ready    prints "ready not-an-endpoint", then waits forever
 *   no-handshake reads the launch line, prints a valid ready line (ipc, or local) without
 *                binding, then waits forever
 *   exit-early   prints on stderr and exits with code 3 before cnode_init
 *   crash-early  dies of SIGSEGV before cnode_init
 * Otherwise it serves calls: a non-map is echoed; a map's "op" picks what to do:
 *   echo {value}, sleep {ms}, spin, crash, abort, exit {code}, kill-self {signal},
 *   fork (a child that sleeps in our process group; answers its pid), fork {ignoreTerm: true}
 *   (the same child, ignoring SIGTERM), print {stdout, stderr},
 *   notify {value}, fail {reason}, return {code} (fails without cnode_fail), pack-none,
 *   pack-two, pack-partial, pack-ext, getenv {name}, cwd, args, stop, pid, ppid, pgid,
 *   ignore-sigterm (so that only SIGKILL ends it),
 *   flood-stdout {bytes} (that many 'x' on stdout with no newline; answers the count written),
 *   flood-stderr {lines} ("flood line <n>" lines on stderr, fast; answers the count),
 *   big-reply {bytes} (answers a bin of that many zero bytes),
 *   notify-big {bytes} (cnode_send with a bin of that many bytes; answers {rc, errno}),
 *   notify-many {count, stop} (cnode_send of 0 .. count-1, one message each, then cnode_stop
 *   if stop is true; answers how many were sent),
 *   odd-keys (a map keyed by 1, -1, nil, true, 1.5, bin "ab", [1, 2] and "__proto__"; also
 *   sent to the owner as a message).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cnode.h>

/* The "crash" op: a real segmentation fault, a write through a null pointer. Volatile, so the
   compiler cannot prove the write undefined and drop it; out of UBSan's reach, which would
   otherwise end the sanitizer build (CNODE_SANITIZE) with exit code 1 instead of SIGSEGV. */
static int *volatile null_pointer = NULL;

#if defined(__GNUC__)
__attribute__((no_sanitize("undefined")))
#endif
static void crash(void)
{
    *null_pointer = 1;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

static void sleep_forever(void)
{
    for (;;) pause();
}

/* A field as an integer (0 when missing), or as a C string copied into buf ("" when missing). */
static int64_t num(const msgpack_object *map, const char *key)
{
    const msgpack_object *o = cnode_map_get(map, key);
    return o && (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                 || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) ? o->via.i64 : 0;
}

static const char *str(const msgpack_object *map, const char *key, char *buf, size_t size)
{
    const msgpack_object *o = cnode_map_get(map, key);
    size_t n = o && o->type == MSGPACK_OBJECT_STR ? o->via.str.size : 0;
    if (n >= size) n = size - 1;
    memcpy(buf, n ? o->via.str.ptr : "", n);
    buf[n] = '\0';
    return buf;
}

/* write(2) all of buf to fd, past short writes and signals: the floods bypass stdio on purpose. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        buf += n, len -= (size_t)n;
    }
    return 0;
}

static int flood_stdout(cnode_t *node, int64_t bytes, msgpack_packer *reply)
{
    static char xs[65536];
    memset(xs, 'x', sizeof xs);
    fflush(stdout); /* what printf holds goes first */
    int64_t written = 0;
    while (written < bytes) {
        size_t n = bytes - written < (int64_t)sizeof xs ? (size_t)(bytes - written) : sizeof xs;
        if (write_all(STDOUT_FILENO, xs, n) < 0) return cnode_fail(node, "write: %s", strerror(errno));
        written += (int64_t)n;
    }
    return msgpack_pack_int64(reply, written);
}

static int flood_stderr(cnode_t *node, int64_t lines, msgpack_packer *reply)
{
    char buf[4096];
    size_t used = 0;
    for (int64_t i = 1; i <= lines; i++) { /* whole lines only, several per write */
        used += (size_t)snprintf(buf + used, sizeof buf - used, "flood line %lld\n", (long long)i);
        if (sizeof buf - used < 64 || i == lines) {
            if (write_all(STDERR_FILENO, buf, used) < 0)
                return cnode_fail(node, "write: %s", strerror(errno));
            used = 0;
        }
    }
    return msgpack_pack_int64(reply, lines > 0 ? lines : 0);
}

/* A bin of `bytes` zero bytes, packed piece by piece so that no second copy is made. */
static int pack_zeros(msgpack_packer *pk, int64_t bytes)
{
    static const char zeros[65536];
    int rc = msgpack_pack_bin(pk, (size_t)bytes);
    for (int64_t left = bytes; rc == 0 && left > 0; left -= (int64_t)sizeof zeros)
        rc = msgpack_pack_bin_body(pk, zeros, left < (int64_t)sizeof zeros ? (size_t)left
                                                                           : sizeof zeros);
    return rc;
}

static int notify_big(cnode_t *node, int64_t bytes, msgpack_packer *reply)
{
    msgpack_sbuffer buf;
    msgpack_packer pk;
    msgpack_sbuffer_init(&buf);
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    int rc = -1, err = ENOMEM;
    if (pack_zeros(&pk, bytes) == 0) {
        errno = 0;
        rc = cnode_send(node, buf.data, buf.size);
        err = rc < 0 ? errno : 0;
    }
    msgpack_sbuffer_destroy(&buf);
    msgpack_pack_map(reply, 2);
    msgpack_pack_str_with_body(reply, "rc", 2);
    msgpack_pack_int(reply, rc);
    msgpack_pack_str_with_body(reply, "errno", 5);
    return msgpack_pack_int(reply, err);
}

/* The "fork" op: a child that sleeps in our process group and makes no cnode call. With
   ignore_term it ignores SIGTERM, so that only SIGKILL ends it; the answer waits until it does,
   so that a SIGTERM sent right after cannot find it with the handler it inherited. */
static int fork_child(cnode_t *node, int ignore_term, msgpack_packer *reply)
{
    int ready[2];
    if (pipe(ready) < 0) return cnode_fail(node, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        if (ignore_term) signal(SIGTERM, SIG_IGN);
        close(ready[1]); /* the parent's read() returns 0 */
        sleep_forever();
    }
    int err = errno;
    close(ready[1]);
    char byte;
    while (pid > 0 && read(ready[0], &byte, 1) < 0 && errno == EINTR) {}
    close(ready[0]);
    if (pid < 0) return cnode_fail(node, "fork: %s", strerror(err));
    return msgpack_pack_int64(reply, pid);
}

static int discard(void *data, const char *buf, size_t len)
{
    (void)data, (void)buf, (void)len;
    return 0;
}

/* The "odd-keys" op: a map whose keys are every kind of MessagePack value but a plain string,
   and the string that a JavaScript object would treat specially. */
static int pack_odd_keys(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 8);
    msgpack_pack_int(pk, 1);
    msgpack_pack_str_with_body(pk, "one", 3);
    msgpack_pack_int(pk, -1);
    msgpack_pack_str_with_body(pk, "minus one", 9);
    msgpack_pack_nil(pk);
    msgpack_pack_str_with_body(pk, "nil", 3);
    msgpack_pack_true(pk);
    msgpack_pack_str_with_body(pk, "true", 4);
    msgpack_pack_double(pk, 1.5);
    msgpack_pack_str_with_body(pk, "float", 5);
    msgpack_pack_bin_with_body(pk, "ab", 2);
    msgpack_pack_str_with_body(pk, "bin", 3);
    msgpack_pack_array(pk, 2);
    msgpack_pack_int(pk, 1);
    msgpack_pack_int(pk, 2);
    msgpack_pack_str_with_body(pk, "array", 5);
    msgpack_pack_str_with_body(pk, "__proto__", 9);
    return msgpack_pack_str_with_body(pk, "proto", 5);
}

static int handle(cnode_t *node, const msgpack_object *req, msgpack_packer *reply, void *user)
{
    (void)user;
    msgpack_packer nowhere;
    if (reply == NULL) { /* a cast: the same ops, answers thrown away */
        msgpack_packer_init(&nowhere, NULL, discard);
        reply = &nowhere;
    }
    if (req->type != MSGPACK_OBJECT_MAP) return msgpack_pack_object(reply, *req);
    char op[64], a[4096], b[4096];
    str(req, "op", op, sizeof op);
    const msgpack_object *value = cnode_map_get(req, "value");

    if (!strcmp(op, "echo"))
        return value ? msgpack_pack_object(reply, *value) : msgpack_pack_nil(reply);
    if (!strcmp(op, "sleep")) {
        sleep_ms((uint64_t)num(req, "ms"));
        return msgpack_pack_int64(reply, num(req, "ms"));
    }
    if (!strcmp(op, "spin")) for (volatile int forever = 1; forever;) {}
    if (!strcmp(op, "crash")) crash();
    if (!strcmp(op, "abort")) abort();
    if (!strcmp(op, "exit")) exit((int)num(req, "code"));
    if (!strcmp(op, "kill-self")) { kill(getpid(), (int)num(req, "signal")); sleep_forever(); }
    if (!strcmp(op, "fork")) {
        const msgpack_object *ignore = cnode_map_get(req, "ignoreTerm");
        return fork_child(node, ignore && ignore->type == MSGPACK_OBJECT_BOOLEAN
                                    && ignore->via.boolean, reply);
    }
    if (!strcmp(op, "print")) {
        if (cnode_map_get(req, "stdout")) printf("%s\n", str(req, "stdout", a, sizeof a));
        if (cnode_map_get(req, "stderr")) fprintf(stderr, "%s\n", str(req, "stderr", b, sizeof b));
        fflush(stdout);
        fflush(stderr);
        return msgpack_pack_true(reply);
    }
    if (!strcmp(op, "notify")) {
        msgpack_sbuffer buf;
        msgpack_packer pk;
        msgpack_sbuffer_init(&buf);
        msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
        value ? msgpack_pack_object(&pk, *value) : msgpack_pack_nil(&pk);
        int rc = cnode_send(node, buf.data, buf.size);
        msgpack_sbuffer_destroy(&buf);
        if (rc != 0) return cnode_fail(node, "notify: %s", cnode_strerror(errno));
        return msgpack_pack_true(reply);
    }
    if (!strcmp(op, "notify-many")) {
        const msgpack_object *stop = cnode_map_get(req, "stop");
        int64_t count = num(req, "count"), sent = 0;
        msgpack_sbuffer buf;
        msgpack_packer pk;
        msgpack_sbuffer_init(&buf);
        msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
        for (int64_t i = 0; i < count; i++) {
            msgpack_sbuffer_clear(&buf);
            msgpack_pack_int64(&pk, i);
            if (cnode_send(node, buf.data, buf.size) == 0) sent++;
        }
        msgpack_sbuffer_destroy(&buf);
        if (stop && stop->type == MSGPACK_OBJECT_BOOLEAN && stop->via.boolean) cnode_stop(node);
        return msgpack_pack_int64(reply, sent);
    }
    if (!strcmp(op, "fail")) return cnode_fail(node, "%s", str(req, "reason", a, sizeof a));
    if (!strcmp(op, "return")) return (int)num(req, "code");
    if (!strcmp(op, "pack-none")) return 0;
    if (!strcmp(op, "pack-two")) { msgpack_pack_int(reply, 1); return msgpack_pack_int(reply, 2); }
    if (!strcmp(op, "pack-partial")) { /* an array of 2 holding 1 */
        msgpack_pack_array(reply, 2);
        return msgpack_pack_int(reply, 1);
    }
    if (!strcmp(op, "pack-ext")) { /* [1, ext 5 "ab"] */
        msgpack_pack_array(reply, 2);
        msgpack_pack_int(reply, 1);
        msgpack_pack_ext(reply, 2, 5);
        return msgpack_pack_ext_body(reply, "ab", 2);
    }
    if (!strcmp(op, "getenv")) {
        const char *v = getenv(str(req, "name", a, sizeof a));
        return v ? msgpack_pack_str_with_body(reply, v, strlen(v)) : msgpack_pack_nil(reply);
    }
    if (!strcmp(op, "args")) {
        msgpack_pack_array(reply, (size_t)cnode_argc(node));
        for (int i = 0; i < cnode_argc(node); i++)
            msgpack_pack_str_with_body(reply, cnode_argv(node)[i], strlen(cnode_argv(node)[i]));
        return 0;
    }
    if (!strcmp(op, "stop")) { cnode_stop(node); return msgpack_pack_true(reply); }
    if (!strcmp(op, "pid")) return msgpack_pack_int64(reply, getpid());
    if (!strcmp(op, "ppid")) return msgpack_pack_int64(reply, getppid());
    if (!strcmp(op, "pgid")) return msgpack_pack_int64(reply, getpgrp());
    if (!strcmp(op, "cwd")) {
        if (getcwd(a, sizeof a) == NULL) return cnode_fail(node, "getcwd: %s", strerror(errno));
        return msgpack_pack_str_with_body(reply, a, strlen(a));
    }
    if (!strcmp(op, "flood-stdout")) return flood_stdout(node, num(req, "bytes"), reply);
    if (!strcmp(op, "flood-stderr")) return flood_stderr(node, num(req, "lines"), reply);
    if (!strcmp(op, "big-reply") || !strcmp(op, "notify-big")) {
        int64_t bytes = num(req, "bytes");
        if (bytes < 0 || bytes > UINT32_MAX) /* a bin holds at most 2^32-1 bytes */
            return cnode_fail(node, "bytes %lld is not in 0..4294967295", (long long)bytes);
        return op[0] == 'b' ? pack_zeros(reply, bytes) : notify_big(node, bytes, reply);
    }
    if (!strcmp(op, "odd-keys")) {
        msgpack_sbuffer sbuf;
        msgpack_sbuffer_init(&sbuf);
        msgpack_packer sent;
        msgpack_packer_init(&sent, &sbuf, msgpack_sbuffer_write);
        pack_odd_keys(&sent);
        int rc = cnode_send(node, sbuf.data, sbuf.size);
        msgpack_sbuffer_destroy(&sbuf);
        if (rc < 0) return cnode_fail(node, "cnode_send: %s", cnode_strerror(errno));
        return pack_odd_keys(reply);
    }
    if (!strcmp(op, "ignore-sigterm")) {
        signal(SIGTERM, SIG_IGN);
        return msgpack_pack_true(reply);
    }
    return cnode_fail(node, "unknown op \"%s\"", op);
}

/* The launch line cnode_init would read (docs/protocol.md section 1), for the modes that do not
   call it: the first line on stdin, read within 10 s, or "" at EOF. */
static void read_launch_line(char *line, size_t size)
{
    size_t len = 0;
    struct pollfd p = {STDIN_FILENO, POLLIN, 0};
    while (len + 1 < size && poll(&p, 1, 10000) > 0) {
        ssize_t n = read(STDIN_FILENO, line + len, size - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
        if (memchr(line, '\n', len) != NULL) break;
    }
    line[len] = '\0';
    line[strcspn(line, "\n")] = '\0';
}

/* The value of `name` on the launch line, copied into a static buffer ("" when not set). */
static const char *setting(const char *line, const char *name)
{
    static char value[4097];
    size_t name_len = strlen(name);
    value[0] = '\0';
    for (const char *w = line; *w; w += strcspn(w, " "), w += *w == ' ') {
        if (strncmp(w, name, name_len) == 0 && w[name_len] == '=') {
            size_t n = strcspn(w + name_len + 1, " ");
            memcpy(value, w + name_len + 1, n);
            value[n] = '\0';
            break;
        }
    }
    return value;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 5 ? argv[5] : "";
    if (!strcmp(mode, "no-ready")) {
        printf("starting\n");
        fflush(stdout);
        fprintf(stderr, "testbed: never ready\n");
        sleep_forever();
    }
    if (!strcmp(mode, "bad-ready")) {
        printf("ready not-an-endpoint\n");
        fflush(stdout);
        sleep_forever();
    }
    if (!strcmp(mode, "no-handshake")) { /* a valid ready line, but nothing listens */
        static char line[4097];
        read_launch_line(line, sizeof line);
        const char *transport = setting(line, "CNODE_TRANSPORT");
        if (!strcmp(transport, "local")) printf("ready local\n");
        else printf("ready ipc://%s/socket\n", setting(line, "CNODE_IPC_DIR"));
        fflush(stdout);
        sleep_forever();
    }
    if (!strcmp(mode, "exit-early")) {
        fprintf(stderr, "about to fail\n");
        exit(3);
    }
    if (!strcmp(mode, "crash-early")) kill(getpid(), SIGSEGV);

    cnode_t *node = cnode_init(argc, argv);
    if (node == NULL) return 1;
    int status = cnode_run(node, handle, NULL);
    cnode_destroy(node);
    return status;
}
