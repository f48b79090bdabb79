/*
 * args.c: reads what the owner passes at launch (docs/protocol.md section 1): four arguments and
 * the CNODE_* environment. Each failure is one line on stderr that names the bad value, because
 * that line is all the owner (or a person running the worker by hand) gets to see.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node.h"

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
static int s_positive(const char *s, unsigned long max, unsigned long *out)
{
    if (s == NULL || *s < '1' || *s > '9' || strlen(s) > 19) return -1;
    for (const char *c = s; *c; c++)
        if (*c < '0' || *c > '9') return -1;
    unsigned long long v = strtoull(s, NULL, 10);
    if (v > max) return -1;
    *out = (unsigned long)v;
    return 0;
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
    unsigned long creation;
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

static int s_read_transport(struct cnode_args *a)
{
    const char *transport = getenv("CNODE_TRANSPORT");
    if (transport == NULL || *transport == '\0' || strcmp(transport, "ipc") == 0) a->tcp = 0;
    else if (strcmp(transport, "tcp") == 0) a->tcp = 1;
    else return s_bad(a, "CNODE_TRANSPORT is \"%s\", expected ipc or tcp", transport);

    if (!a->tcp) {
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
    unsigned long pid = 0;
    if (owner != NULL && s_positive(owner, INT_MAX, &pid) < 0)
        return s_bad(a, "CNODE_OWNER_PID \"%s\" is not a positive integer", owner);
    a->owner_pid = (pid_t)pid;
    return 0;
}

int cnode_args_read(struct cnode_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    /* The cookie first: a person who runs a worker by hand learns what it is. */
    if (s_read_cookie(a) < 0 || s_read_argv(a, argc, argv) < 0 || s_read_transport(a) < 0)
        return -1;
    return 0;
}

void cnode_args_free(struct cnode_args *a)
{
    free(a->host);
    free(a->alive);
    free(a->name);
    free(a->ipc_dir);
    for (int i = 0; a->user_argv && i < a->user_argc; i++) free(a->user_argv[i]);
    free(a->user_argv);
    memset(a, 0, sizeof *a);
}
