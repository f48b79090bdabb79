/*
 * args.c: reads what the owner passes at launch (docs/protocol.md section 1): four arguments and
 * the launch line, the first line on stdin, words NAME=VALUE. Each failure is one line on stderr
 * that names the bad value, because that line is all the owner (or a person running the worker by
 * hand) gets to see; secrets (the cookie, the curve keys) are named but never shown. The line
 * carries them instead of the environment, which ssh does not forward and /proc/<pid>/environ
 * keeps a copy of: it is wiped once read. With CNODE_SERVE in the environment, serve.c reads
 * the settings instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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

/* The launch line: at most this many bytes, the newline included, within this many ms. */
#define S_LINE_MAX 4096
#define S_LINE_WAIT_MS 10000

/* The names the launch line may set, each at most once (docs/protocol.md section 1). */
enum {
    S_COOKIE,
    S_TRANSPORT,
    S_RING_FDS,
    S_IPC_DIR,
    S_OWNER_PID,
    S_MAX_MESSAGE_SIZE,
    S_CURVE_SECRET,
    S_CURVE_CLIENT,
    S_BIND,
    S_ADVERTISE,
    S_HEARTBEAT,
    S_NSETTINGS
};
static const char *const s_names[S_NSETTINGS] = {
    "CNODE_COOKIE",       "CNODE_TRANSPORT",    "CNODE_RING_FDS",     "CNODE_IPC_DIR",
    "CNODE_OWNER_PID",    "CNODE_MAX_MESSAGE_SIZE", "CNODE_CURVE_SECRET", "CNODE_CURVE_CLIENT",
    "CNODE_BIND",         "CNODE_ADVERTISE",    "CNODE_HEARTBEAT",
};

/* The line as read, NUL-terminated, and each setting's value inside it (NULL when not given).
   Holds the secrets: wiped as soon as they are copied out. */
struct s_line {
    char text[S_LINE_MAX + 1];
    const char *value[S_NSETTINGS];
};

int cnode_args_bad(struct cnode_args *a, const char *fmt, ...)
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

/* The name this file has always used for it. */
#define s_bad cnode_args_bad

int cnode_args_positive(const char *s, unsigned long long max, unsigned long long *out)
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

int cnode_args_is_alive(const char *s)
{
    if (*s == '\0') return 0;
    for (; *s; s++)
        if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') && !(*s >= '0' && *s <= '9')
            && *s != '_' && *s != '-')
            return 0;
    return 1;
}

int cnode_args_z85_key(const char *text, size_t len, unsigned char key[32])
{
    /* The length first: zmq_z85_decode writes 4 bytes per 5 characters, whatever their number. */
    char copy[S_Z85_LEN + 1];
    if (len != S_Z85_LEN) return -1;
    memcpy(copy, text, len);
    copy[len] = '\0';
    int ok = zmq_z85_decode(key, copy) != NULL;
    cnode_wipe(copy, sizeof copy);
    return ok ? 0 : -1;
}

int cnode_args_copy_user(struct cnode_args *a, int argc, char **argv, int first)
{
    a->user_argc = argc > first ? argc - first : 0;
    a->user_argv = calloc((size_t)a->user_argc + 1, sizeof *a->user_argv);
    int ok = a->user_argv != NULL;
    for (int i = 0; ok && i < a->user_argc; i++)
        ok = (a->user_argv[i] = strdup(argv[first + i])) != NULL;
    return ok ? 0 : -1;
}

/* What a launcher of old set in the environment: no child of the worker may inherit it. */
static void s_scrub_environment(void)
{
    for (int i = 0; i < S_NSETTINGS; i++) unsetenv(s_names[i]);
}

#define S_NOT_LAUNCHED                                                                          \
    "this program is a cnode worker, started by the cnode Node.js library (or served: set "     \
    "CNODE_SERVE)"

/* Reads stdin up to the first newline into line->text, at most S_LINE_MAX bytes, waiting at most
   S_LINE_WAIT_MS in all. Reads in one go what is there: the owner writes nothing after the line,
   and anything that came after it is dropped. */
static int s_read_line(struct cnode_args *a, struct s_line *line)
{
    size_t len = 0;
    int64_t deadline = cnode_now_us() / 1000 + S_LINE_WAIT_MS;
    for (;;) {
        int wait = (int)(deadline - cnode_now_us() / 1000);
        struct pollfd p = {STDIN_FILENO, POLLIN, 0};
        int rc = wait > 0 ? poll(&p, 1, wait) : 0;
        if (rc < 0 && errno == EINTR) continue;
        if (rc < 0) return s_bad(a, "cannot poll stdin for the launch line: %s", strerror(errno));
        if (rc == 0)
            return s_bad(a, "no launch line on stdin within %d s: %s", S_LINE_WAIT_MS / 1000,
                         S_NOT_LAUNCHED);
        if (p.revents & POLLNVAL)
            return s_bad(a, "stdin is closed, so there is no launch line: %s", S_NOT_LAUNCHED);
        ssize_t n = read(STDIN_FILENO, line->text + len, S_LINE_MAX - len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (n < 0) return s_bad(a, "cannot read the launch line on stdin: %s", strerror(errno));
        if (n == 0 && len == 0)
            return s_bad(a, "stdin ended without a launch line: %s", S_NOT_LAUNCHED);
        if (n == 0)
            return s_bad(a, "stdin ended in the middle of the launch line (%zu bytes, no "
                            "newline)", len);
        char *newline = memchr(line->text + len, '\n', (size_t)n);
        len += (size_t)n;
        if (newline != NULL) {
            if (memchr(line->text, '\0', (size_t)(newline - line->text)) != NULL)
                return s_bad(a, "the launch line on stdin holds a NUL byte");
            *newline = '\0';
            return 0;
        }
        if (len >= S_LINE_MAX)
            return s_bad(a, "the launch line on stdin is over %d bytes", S_LINE_MAX);
    }
}

/* A NAME is upper-case letters, digits and '_': one that is not may be a secret mistyped, and
   is not shown. */
static int s_showable(const char *name, size_t len)
{
    if (len == 0 || len > 64) return 0;
    for (size_t i = 0; i < len; i++)
        if (!(name[i] >= 'A' && name[i] <= 'Z') && !(name[i] >= '0' && name[i] <= '9')
            && name[i] != '_')
            return 0;
    return 1;
}

/* Splits line->text into its NAME=VALUE words and points line->value at the values. */
static int s_parse_line(struct cnode_args *a, struct s_line *line)
{
    char *p = line->text;
    for (int word = 1;; word++) {
        char *end = strchr(p, ' ');
        if (end != NULL) *end = '\0';
        char *eq = strchr(p, '=');
        if (*p == '\0')
            return s_bad(a, "the launch line's word %d is empty: words are NAME=VALUE, separated "
                            "by single spaces", word);
        if (eq == NULL)
            return s_bad(a, "the launch line's word %d is not NAME=VALUE", word);
        size_t name_len = (size_t)(eq - p);
        int found = -1;
        for (int i = 0; i < S_NSETTINGS && found < 0; i++)
            if (strlen(s_names[i]) == name_len && memcmp(s_names[i], p, name_len) == 0) found = i;
        if (found < 0 && s_showable(p, name_len))
            return s_bad(a, "the launch line sets %.*s, which is not a launch setting",
                         (int)name_len, p);
        if (found < 0)
            return s_bad(a, "the launch line's word %d does not start with a setting's name",
                         word);
        if (line->value[found] != NULL)
            return s_bad(a, "the launch line sets %s twice", s_names[found]);
        if (eq[1] == '\0')
            return s_bad(a, "the launch line sets %s to an empty value", s_names[found]);
        line->value[found] = eq + 1;
        if (end == NULL) return 0;
        p = end + 1;
    }
}

static int s_read_cookie(struct cnode_args *a, const char *cookie)
{
    if (cookie == NULL) return s_bad(a, "the launch line has no CNODE_COOKIE");
    size_t len = strlen(cookie);
    if (len != CNODE_COOKIE_LEN || strspn(cookie, "0123456789abcdefABCDEF") != len)
        return s_bad(a, "CNODE_COOKIE is not %d hex characters", CNODE_COOKIE_LEN);
    memcpy(a->cookie, cookie, len + 1);
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
    if (!cnode_args_is_alive(alive))
        return s_bad(a, "the alive name \"%s\" is not letters, digits, '_' and '-'", alive);
    size_t alive_len = strlen(alive);
    if (strncmp(name, alive, alive_len) != 0 || name[alive_len] != '@'
        || strcmp(name + alive_len + 1, host) != 0)
        return s_bad(a, "the node name \"%s\" is not \"%s@%s\"", name, alive, host);
    unsigned long long creation;
    if (cnode_args_positive(argv[4], UINT_MAX, &creation) < 0)
        return s_bad(a, "the creation \"%s\" is not a positive integer", argv[4]);

    a->creation = (unsigned)creation;
    a->host = strdup(host);
    a->alive = strdup(alive);
    a->name = strdup(name);
    int ok = a->host && a->alive && a->name && cnode_args_copy_user(a, argc, argv, 5) == 0;
    return ok ? 0 : s_bad(a, "out of memory");
}

/* CNODE_RING_FDS: exactly four descriptor numbers, "3,4,5,6", each open, none of them stdin,
   stdout or stderr, no two alike. They become close-on-exec at once: a child of the worker that
   held the lifeline would hide the worker's death from its owner, and one that held the segment
   would keep the rings' memory alive. */
static int s_read_ring_fds(struct cnode_args *a, const char *value)
{
    if (value == NULL)
        return s_bad(a, "the launch line has no CNODE_RING_FDS (the local transport needs it)");
    const char *p = value;
    for (int i = 0; i < CNODE_RING_NFDS; i++) {
        char digits[12];
        size_t n = strspn(p, "0123456789");
        unsigned long long fd;
        int ok = n > 0 && n < sizeof digits && p[n] == (i + 1 < CNODE_RING_NFDS ? ',' : '\0');
        if (ok) {
            memcpy(digits, p, n);
            digits[n] = '\0';
            ok = cnode_args_positive(digits, INT_MAX, &fd) == 0;
        }
        if (!ok)
            return s_bad(a, "CNODE_RING_FDS \"%.64s\" is not four descriptor numbers separated "
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

static int s_read_transport(struct cnode_args *a, const struct s_line *line)
{
    const char *transport = line->value[S_TRANSPORT];
    if (transport == NULL || strcmp(transport, "ipc") == 0) a->tcp = 0;
    else if (strcmp(transport, "tcp") == 0) a->tcp = 1;
    else if (strcmp(transport, "local") == 0) a->local = 1;
    else
        return s_bad(a, "CNODE_TRANSPORT is \"%.64s\", expected local, ipc or tcp", transport);

    if (a->local && s_read_ring_fds(a, line->value[S_RING_FDS]) < 0) return -1;
    if (!a->tcp && !a->local) {
        const char *dir = line->value[S_IPC_DIR];
        struct stat st;
        if (dir == NULL)
            return s_bad(a, "the launch line has no CNODE_IPC_DIR (the ipc transport needs it)");
        /* The directory keeps other users away from the socket until the handshake: it must be
           ours and closed to everyone else. */
        if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()
            || (st.st_mode & 077) != 0)
            return s_bad(a, "CNODE_IPC_DIR \"%s\" is not a directory of ours with mode 0700", dir);
        if ((a->ipc_dir = strdup(dir)) == NULL) return s_bad(a, "out of memory");
    }

    const char *owner = line->value[S_OWNER_PID];
    unsigned long long pid = 0;
    if (owner != NULL && cnode_args_positive(owner, INT_MAX, &pid) < 0)
        return s_bad(a, "CNODE_OWNER_PID \"%.64s\" is not a positive integer", owner);
    a->owner_pid = (pid_t)pid;
    return 0;
}

int cnode_args_max_message_size(struct cnode_args *a, const char *max)
{
    unsigned long long v = S_DEFAULT_MAX_MESSAGE_SIZE;
    if (max != NULL && cnode_args_positive(max, INT64_MAX, &v) < 0)
        return s_bad(a, "CNODE_MAX_MESSAGE_SIZE \"%.64s\" is not a positive integer of bytes "
                        "below 2^63", max);
    a->max_message_size = (int64_t)v;
    return 0;
}

/* The tcp settings: where to bind, what the ready line names, the ZMTP heartbeat. */
static int s_read_tcp(struct cnode_args *a, const struct s_line *line)
{
    const char *bind = line->value[S_BIND], *advertise = line->value[S_ADVERTISE];
    const char *heartbeat = line->value[S_HEARTBEAT];
    if (cnode_tcp_address_parse(bind ? bind : "127.0.0.1", &a->bind) < 0)
        return s_bad(a, "CNODE_BIND \"%.300s\" is not <address> or <address>:<port> (a port "
                        "from 1 to 65535, or *)", bind);
    if (a->bind.port[0] == '\0') snprintf(a->bind.port, sizeof a->bind.port, "*");
    if (advertise != NULL && (cnode_tcp_address_parse(advertise, &a->advertise) < 0
                              || strcmp(a->advertise.port, "*") == 0))
        return s_bad(a, "CNODE_ADVERTISE \"%.300s\" is not <host> or <host>:<port> (a port "
                        "from 1 to 65535)", advertise);
    if (heartbeat != NULL
        && cnode_heartbeat_parse(heartbeat, &a->heartbeat_ivl, &a->heartbeat_timeout) < 0)
        return s_bad(a, "CNODE_HEARTBEAT \"%.64s\" is not <interval_ms>,<timeout_ms> (positive "
                        "integers, the timeout at most 6553599)", heartbeat);
    return 0;
}

/* The keys; ipc and local do not use them. The messages never show a key, not even a bad one. */
static int s_read_curve(struct cnode_args *a, const struct s_line *line)
{
    const char *secret = line->value[S_CURVE_SECRET], *client = line->value[S_CURVE_CLIENT];
    if (!a->tcp) return 0;
    if (secret == NULL && client == NULL) {
        /* On the loopback only the machine's own users can connect, and the cookie keeps them
           out; anywhere else the cookie would cross the network in the clear. */
        if (!a->bind.loopback)
            return s_bad(a, "CNODE_BIND \"%.300s\" is not the loopback: CurveZMQ keys "
                            "(CNODE_CURVE_SECRET and CNODE_CURVE_CLIENT) are required off the "
                            "loopback", line->value[S_BIND]);
        return 0;
    }
    if (secret == NULL || client == NULL)
        return s_bad(a, "%s is set without %s: the owner sets both or neither",
                     secret == NULL ? "CNODE_CURVE_CLIENT" : "CNODE_CURVE_SECRET",
                     secret == NULL ? "CNODE_CURVE_SECRET" : "CNODE_CURVE_CLIENT");
    if (cnode_args_z85_key(secret, strlen(secret), a->curve_secret) < 0)
        return s_bad(a, "CNODE_CURVE_SECRET is not a Z85 key of %d characters", S_Z85_LEN);
    if ((a->clients = calloc(1, sizeof *a->clients)) == NULL) return s_bad(a, "out of memory");
    a->nclients = 1;
    if (cnode_args_z85_key(client, strlen(client), a->clients[0]) < 0)
        return s_bad(a, "CNODE_CURVE_CLIENT is not a Z85 key of %d characters", S_Z85_LEN);
    a->curve = 1;
    return 0;
}

int cnode_args_read(struct cnode_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < CNODE_RING_NFDS; i++) a->ring_fds[i] = -1;
    if (getenv("CNODE_SERVE") != NULL) return cnode_serve_read(a, argc, argv);
    s_scrub_environment();
    /* The line first: a person who runs a worker by hand learns what it is. */
    struct s_line *line = calloc(1, sizeof *line);
    if (line == NULL) return s_bad(a, "out of memory");
    int rc = -1;
    if (s_read_line(a, line) == 0 && s_parse_line(a, line) == 0
        && s_read_cookie(a, line->value[S_COOKIE]) == 0 && s_read_argv(a, argc, argv) == 0
        && s_read_transport(a, line) == 0
        && cnode_args_max_message_size(a, line->value[S_MAX_MESSAGE_SIZE]) == 0
        && (!a->tcp || s_read_tcp(a, line) == 0) && s_read_curve(a, line) == 0)
        rc = 0;
    cnode_wipe(line, sizeof *line);
    free(line);
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
    free(a->clients);
    for (int i = 0; a->user_argv && i < a->user_argc; i++) free(a->user_argv[i]);
    free(a->user_argv);
    memset(a, 0, sizeof *a);
}
