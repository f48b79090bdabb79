/*
 * args.c: reads what the owner passes at launch (docs/protocol.md section 1): four arguments and
 * the CNODE_* environment. Each failure is one line on stderr that names the bad value, because
 * that line is all the owner (or a person running the worker by hand) gets to see; secrets (the
 * cookie, the curve keys) are named but never shown.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "node.h"

/* A CurveZMQ key in Z85: 32 bytes as 40 characters. */
#define S_Z85_LEN 40

/* The limit when none is set (the owner always sets one; a worker run by hand): 64 MiB. */
#define S_DEFAULT_MAX_MESSAGE_SIZE 67108864

static int s_bad(struct cnode_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int s_bad(struct cnode_args *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cnode_init: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    cnode_args_free(a);
    errno = EINVAL;
    return -1;
}

/* A decimal integer in 1..max, digits only (no sign, spaces or leading zero tricks). */
static int s_positive(const char *s, unsigned long long max, unsigned long long *out)
{
    if (s == NULL || *s < '1' || *s > '9' || strlen(s) > 19) return -1;
    for (const char *c = s; *c; c++)
        if (*c < '0' || *c > '9') return -1;
    unsigned long long v = strtoull(s, NULL, 10); /* 19 digits always fit 64 bits */
    if (v > max) return -1;
    *out = v;
    return 0;
}

void cnode_wipe(void *p, size_t size)
{
    /* Through a volatile pointer: a plain memset of memory about to be freed may be dropped. */
    volatile unsigned char *b = p;
    while (size-- > 0) *b++ = 0;
}

/* Copies the variable `name` into buf (cut to fit) and removes it from the environment. Returns
   its full length, or -1 when it is not set. */
static long s_take_env(const char *name, char *buf, size_t size)
{
    const char *v = getenv(name);
    long len = v ? (long)strlen(v) : -1;
    snprintf(buf, size, "%s", v ? v : "");
    unsetenv(name);
    return len;
}

static int s_is_alive(const char *s)
{
    if (*s == '\0') return 0;
    for (; *s; s++)
        if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') && !(*s >= '0' && *s <= '9')
            && *s != '_' && *s != '-')
            return 0;
    return 1;
}

/* The cookie is a secret: copy it, then take it out of the environment before anything else
   can happen, so that no child the worker starts inherits it. */
static int s_read_cookie(struct cnode_args *a)
{
    const char *cookie = getenv("CNODE_COOKIE");
    size_t len = cookie ? strlen(cookie) : 0;
    int ok = len == CNODE_COOKIE_LEN && strspn(cookie, "0123456789abcdefABCDEF") == len;
    if (ok) memcpy(a->cookie, cookie, len + 1);
    unsetenv("CNODE_COOKIE");
    if (cookie == NULL)
        return s_bad(a, "CNODE_COOKIE is not set: this program is a cnode worker and is started by "
                        "the cnode Node.js library");
    if (!ok) return s_bad(a, "CNODE_COOKIE is not %d hex characters", CNODE_COOKIE_LEN);
    return 0;
}

static int s_read_argv(struct cnode_args *a, int argc, char **argv)
{
    if (argc < 5)
        return s_bad(a, "expected the arguments <host> <alive> <node> <creation>, got %d",
                     argc < 1 ? 0 : argc - 1);
    const char *host = argv[1], *alive = argv[2], *name = argv[3];
    if (*host == '\0' || strchr(host, '@') != NULL)
        return s_bad(a, "the host name \"%s\" is empty or contains '@'", host);
    if (!s_is_alive(alive))
        return s_bad(a, "the alive name \"%s\" is not letters, digits, '_' and '-'", alive);
    size_t alive_len = strlen(alive);
    if (strncmp(name, alive, alive_len) != 0 || name[alive_len] != '@'
        || strcmp(name + alive_len + 1, host) != 0)
        return s_bad(a, "the node name \"%s\" is not \"%s@%s\"", name, alive, host);
    unsigned long long creation;
    if (s_positive(argv[4], UINT_MAX, &creation) < 0)
        return s_bad(a, "the creation \"%s\" is not a positive integer", argv[4]);

    a->creation = (unsigned)creation;
    a->user_argc = argc - 5;
    a->host = strdup(host);
    a->alive = strdup(alive);
    a->name = strdup(name);
    a->user_argv = calloc((size_t)a->user_argc + 1, sizeof *a->user_argv);
    int ok = a->host && a->alive && a->name && a->user_argv;
    for (int i = 0; ok && i < a->user_argc; i++)
        ok = (a->user_argv[i] = strdup(argv[5 + i])) != NULL;
    return ok ? 0 : s_bad(a, "out of memory");
}

/* CNODE_RING_FDS (already taken out of the environment): exactly four descriptor numbers,
   "3,4,5,6", each open, none of them stdin, stdout or stderr, no two alike. They become
   close-on-exec at once: a child of the worker that held the lifeline would hide the worker's
   death from its owner, and one that held the segment would keep the rings' memory alive. */
static int s_read_ring_fds(struct cnode_args *a, const char *value, long len)
{
    if (len < 0) return s_bad(a, "CNODE_RING_FDS is not set (the local transport needs it)");
    const char *p = value;
    for (int i = 0; i < CNODE_RING_NFDS; i++) {
        char digits[12];
        size_t n = strspn(p, "0123456789");
        unsigned long long fd;
        int ok = (size_t)len == strlen(value) /* not cut to fit the copy */
                 && n > 0 && n < sizeof digits && p[n] == (i + 1 < CNODE_RING_NFDS ? ',' : '\0');
        if (ok) {
            memcpy(digits, p, n);
            digits[n] = '\0';
            ok = s_positive(digits, INT_MAX, &fd) == 0;
        }
        if (!ok)
            return s_bad(a, "CNODE_RING_FDS \"%s\" is not four descriptor numbers separated "
                            "by commas, as \"3,4,5,6\"", value);
        a->ring_fds[i] = (int)fd;
        p += n + 1;
    }
    for (int i = 0; i < CNODE_RING_NFDS; i++) {
        int fd = a->ring_fds[i];
        for (int j = 0; j < i; j++)
            if (a->ring_fds[j] == fd)
                return s_bad(a, "CNODE_RING_FDS \"%s\" names descriptor %d twice", value, fd);
        if (fd <= STDERR_FILENO)
            return s_bad(a, "CNODE_RING_FDS \"%s\" names descriptor %d, which is stdio", value,
                         fd);
    }
    for (int i = 0; i < CNODE_RING_NFDS; i++) {
        int fd = a->ring_fds[i], flags;
        if ((flags = fcntl(fd, F_GETFD)) < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
            return s_bad(a, "CNODE_RING_FDS \"%s\" names descriptor %d, which is not open",
                         value, fd);
    }
    return 0;
}

static int s_read_transport(struct cnode_args *a, const char *ring_fds, long ring_fds_len)
{
    const char *transport = getenv("CNODE_TRANSPORT");
    if (transport == NULL || *transport == '\0' || strcmp(transport, "ipc") == 0) a->tcp = 0;
    else if (strcmp(transport, "tcp") == 0) a->tcp = 1;
    else if (strcmp(transport, "local") == 0) a->local = 1;
    else return s_bad(a, "CNODE_TRANSPORT is \"%s\", expected local, ipc or tcp", transport);

    if (a->local && s_read_ring_fds(a, ring_fds, ring_fds_len) < 0) return -1;
    if (!a->tcp && !a->local) {
        const char *dir = getenv("CNODE_IPC_DIR");
        struct stat st;
        if (dir == NULL || *dir == '\0')
            return s_bad(a, "CNODE_IPC_DIR is not set (the ipc transport needs it)");
        /* The directory keeps other users away from the socket until the handshake: it must be
           ours and closed to everyone else. */
        if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()
            || (st.st_mode & 077) != 0)
            return s_bad(a, "CNODE_IPC_DIR \"%s\" is not a directory of ours with mode 0700", dir);
        if ((a->ipc_dir = strdup(dir)) == NULL) return s_bad(a, "out of memory");
    }

    const char *owner = getenv("CNODE_OWNER_PID");
    unsigned long long pid = 0;
    if (owner != NULL && s_positive(owner, INT_MAX, &pid) < 0)
        return s_bad(a, "CNODE_OWNER_PID \"%s\" is not a positive integer", owner);
    a->owner_pid = (pid_t)pid;
    return 0;
}

static int s_read_max_message_size(struct cnode_args *a)
{
    const char *max = getenv("CNODE_MAX_MESSAGE_SIZE");
    unsigned long long v = S_DEFAULT_MAX_MESSAGE_SIZE;
    if (max != NULL && s_positive(max, INT64_MAX, &v) < 0)
        return s_bad(a, "CNODE_MAX_MESSAGE_SIZE \"%s\" is not a positive integer of bytes below "
                        "2^63", max);
    a->max_message_size = (int64_t)v;
    return 0;
}

/* The keys were already taken out of the environment (cnode_args_read); ipc does not use them.
   The messages never show a key, not even a bad one. */
static int s_read_curve(struct cnode_args *a, const char *secret, long secret_len,
                        const char *client, long client_len)
{
    if (!a->tcp || (secret_len < 0 && client_len < 0)) return 0;
    if (secret_len < 0 || client_len < 0)
        return s_bad(a, "%s is set without %s: the owner sets both or neither",
                     secret_len < 0 ? "CNODE_CURVE_CLIENT" : "CNODE_CURVE_SECRET",
                     secret_len < 0 ? "CNODE_CURVE_SECRET" : "CNODE_CURVE_CLIENT");
    /* The length first: zmq_z85_decode writes 4 bytes per 5 characters, whatever their number. */
    if (secret_len != S_Z85_LEN || zmq_z85_decode(a->curve_secret, secret) == NULL)
        return s_bad(a, "CNODE_CURVE_SECRET is not a Z85 key of %d characters", S_Z85_LEN);
    if (client_len != S_Z85_LEN || zmq_z85_decode(a->curve_client, client) == NULL)
        return s_bad(a, "CNODE_CURVE_CLIENT is not a Z85 key of %d characters", S_Z85_LEN);
    a->curve = 1;
    return 0;
}

int cnode_args_read(struct cnode_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < CNODE_RING_NFDS; i++) a->ring_fds[i] = -1;
    /* Whatever the transport, so that the worker's children never see it: they do not inherit
       the descriptors either. Longer than any four descriptor numbers is refused as such. */
    char ring_fds[64];
    long ring_fds_len = s_take_env("CNODE_RING_FDS", ring_fds, sizeof ring_fds);
    /* The curve keys leave the environment before anything can fail, whatever the transport: no
       child of this process may inherit them. */
    char secret[S_Z85_LEN + 1], client[S_Z85_LEN + 1];
    long secret_len = s_take_env("CNODE_CURVE_SECRET", secret, sizeof secret);
    long client_len = s_take_env("CNODE_CURVE_CLIENT", client, sizeof client);
    /* The cookie first: a person who runs a worker by hand learns what it is. */
    int rc = -1;
    if (s_read_cookie(a) == 0 && s_read_argv(a, argc, argv) == 0
        && s_read_transport(a, ring_fds, ring_fds_len) == 0
        && s_read_max_message_size(a) == 0
        && s_read_curve(a, secret, secret_len, client, client_len) == 0)
        rc = 0;
    cnode_wipe(secret, sizeof secret);
    return rc;
}

void cnode_args_free(struct cnode_args *a)
{
    cnode_wipe(a->curve_secret, sizeof a->curve_secret);
    cnode_wipe(a->cookie, sizeof a->cookie);
    free(a->host);
    free(a->alive);
    free(a->name);
    free(a->ipc_dir);
    for (int i = 0; a->user_argv && i < a->user_argc; i++) free(a->user_argv[i]);
    free(a->user_argv);
    memset(a, 0, sizeof *a);
}
