/*
 * serve.c: serve mode's settings (docs/protocol.md section 11). A worker that something other than
 * its owner started (systemd, a container) is given CNODE_SERVE=<endpoint> in its environment
 * instead of the four arguments and the launch line: nobody writes its stdin. It binds that
 * endpoint as a CurveZMQ server with the secret key of CNODE_SECRET_KEY_FILE, and its ZAP handler
 * admits the owner public keys of CNODE_AUTHORIZED_KEYS, one owner at a time (session.c). Nothing
 * here is a secret but the key file's content: paths and line numbers are shown, keys never.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node.h"

/* A key in Z85 is 40 characters; a line of the authorized file, or the key file, is allowed
   surrounding whitespace, up to this many bytes. */
#define S_Z85_LEN 40
#define S_LINE_MAX 512
#define S_MAX_KEYS 1024

/* ZMTP heartbeats are on by default when served: the only way to tell a vanished owner. */
#define S_DEFAULT_HEARTBEAT "1000,5000"

static const char *s_trim(char *s, size_t *len)
{
    static const char space[] = " \t\r\n\v\f";
    char *start = s + strspn(s, space);
    size_t n = strlen(start);
    while (n > 0 && strchr(space, start[n - 1]) != NULL) n--;
    start[n] = '\0';
    *len = n;
    return start;
}

/* Opens `path` for reading as a regular file; -1 with errno. */
static int s_open(const char *path, struct stat *st)
{
    int fd;
    do fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) return -1;
    int rc = fstat(fd, st), err = rc < 0 ? errno : EINVAL; /* EINVAL: not a regular file */
    if (rc < 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

/* Opens the regular file the variable `name` names, for reading; on failure says why (unset:
   `needs`, what serve mode needs it for) and returns -1, the arguments freed. */
static int s_open_setting(struct cnode_args *a, const char *name, const char *needs,
                          const char **path, struct stat *st)
{
    *path = getenv(name);
    if (*path == NULL || **path == '\0')
        return cnode_args_bad(a, "%s is not set: serve mode needs %s", name, needs);
    int fd = s_open(*path, st);
    if (fd < 0)
        return cnode_args_bad(a, "%s \"%s\" cannot be read: %s", name, *path,
                              errno == EINVAL ? "not a regular file" : strerror(errno));
    return fd;
}

static int s_secret_key(struct cnode_args *a)
{
    const char *path;
    struct stat st;
    int fd = s_open_setting(a, "CNODE_SECRET_KEY_FILE",
                            "the file of the worker's CurveZMQ secret key", &path, &st);
    if (fd < 0) return -1;
    /* Checked on the descriptor read, so a file swapped in meanwhile cannot slip past. */
    if ((st.st_mode & 077) != 0) {
        close(fd);
        return cnode_args_bad(a, "CNODE_SECRET_KEY_FILE \"%s\" is readable by group or others "
                                 "(mode %04o): chmod 600 %s", path,
                              (unsigned)(st.st_mode & 07777), path);
    }
    char buf[S_LINE_MAX + 1];
    ssize_t n;
    do n = read(fd, buf, S_LINE_MAX);
    while (n < 0 && errno == EINTR);
    int err = errno;
    close(fd);
    if (n < 0) return cnode_args_bad(a, "CNODE_SECRET_KEY_FILE \"%s\" cannot be read: %s", path,
                                     strerror(err));
    buf[n] = '\0';
    int whole = (size_t)n < S_LINE_MAX && memchr(buf, '\0', (size_t)n) == NULL;
    size_t len;
    const char *key = s_trim(buf, &len);
    int ok = whole && cnode_args_z85_key(key, len, a->curve_secret) == 0;
    cnode_wipe(buf, sizeof buf);
    if (!ok)
        return cnode_args_bad(a, "CNODE_SECRET_KEY_FILE \"%s\" does not hold a CurveZMQ secret "
                                 "key in Z85 (%d characters)", path, S_Z85_LEN);
    return 0;
}

/* One key a line; blank lines and lines starting with '#' are not keys. */
static int s_authorized_keys(struct cnode_args *a)
{
    const char *path;
    struct stat st;
    int fd = s_open_setting(a, "CNODE_AUTHORIZED_KEYS",
                            "the file of the owner public keys it admits", &path, &st);
    if (fd < 0) return -1;
    FILE *f = fdopen(fd, "r");
    if (f == NULL) {
        int err = errno;
        close(fd);
        return cnode_args_bad(a, "CNODE_AUTHORIZED_KEYS \"%s\" cannot be read: %s", path,
                              strerror(err));
    }
    /* Whoever may write the file may admit himself: as sshd's StrictModes, refuse that. */
    if ((st.st_mode & 022) != 0) {
        fclose(f);
        return cnode_args_bad(a, "CNODE_AUTHORIZED_KEYS \"%s\" is writable by group or others "
                                 "(mode %04o), who could admit themselves: chmod 644 %s", path,
                              (unsigned)(st.st_mode & 07777), path);
    }
    if ((a->clients = calloc(S_MAX_KEYS, sizeof *a->clients)) == NULL) {
        fclose(f);
        return cnode_args_bad(a, "out of memory");
    }
    char buf[S_LINE_MAX + 2];
    int line = 0, rc = 0;
    while (rc == 0 && fgets(buf, sizeof buf, f) != NULL) {
        line++;
        size_t raw = strlen(buf), len;
        if (raw == sizeof buf - 1 && buf[raw - 1] != '\n') {
            rc = cnode_args_bad(a, "CNODE_AUTHORIZED_KEYS \"%s\" line %d is over %d bytes", path,
                                line, S_LINE_MAX);
            break;
        }
        const char *key = s_trim(buf, &len);
        if (len == 0 || key[0] == '#') continue;
        if (a->nclients == S_MAX_KEYS)
            rc = cnode_args_bad(a, "CNODE_AUTHORIZED_KEYS \"%s\" holds more than %d keys", path,
                                S_MAX_KEYS);
        else if (cnode_args_z85_key(key, len, a->clients[a->nclients]) < 0)
            rc = cnode_args_bad(a, "CNODE_AUTHORIZED_KEYS \"%s\" line %d is not a CurveZMQ "
                                   "public key in Z85 (%d characters)", path, line, S_Z85_LEN);
        else
            a->nclients++;
    }
    int failed = rc == 0 && ferror(f);
    fclose(f);
    if (rc < 0) return -1;
    if (failed) return cnode_args_bad(a, "CNODE_AUTHORIZED_KEYS \"%s\" cannot be read", path);
    if (a->nclients == 0)
        return cnode_args_bad(a, "CNODE_AUTHORIZED_KEYS \"%s\" holds no key: it needs one owner "
                                 "public key a line", path);
    return 0;
}

/* The node's names: CNODE_NAME (default "cnode") at this host's name, creation 1. */
static int s_names(struct cnode_args *a)
{
    const char *alive = getenv("CNODE_NAME");
    if (alive == NULL) alive = "cnode";
    if (!cnode_args_is_alive(alive))
        return cnode_args_bad(a, "CNODE_NAME \"%s\" is not letters, digits, '_' and '-'", alive);
    char host[256];
    if (gethostname(host, sizeof host) < 0)
        return cnode_args_bad(a, "gethostname: %s", strerror(errno));
    host[sizeof host - 1] = '\0';
    if (*host == '\0' || strchr(host, '@') != NULL)
        return cnode_args_bad(a, "the host name \"%s\" is empty or contains '@'", host);
    size_t size = strlen(alive) + 1 + strlen(host) + 1;
    a->host = strdup(host);
    a->alive = strdup(alive);
    a->name = malloc(size);
    if (a->host == NULL || a->alive == NULL || a->name == NULL)
        return cnode_args_bad(a, "out of memory");
    snprintf(a->name, size, "%s@%s", alive, host);
    a->creation = 1;
    return 0;
}

static int s_endpoint(struct cnode_args *a)
{
    const char *serve = getenv("CNODE_SERVE");
    if (strncmp(serve, "tcp://", 6) != 0 || cnode_tcp_address_parse(serve + 6, &a->bind) < 0
        || a->bind.port[0] == '\0')
        return cnode_args_bad(a, "CNODE_SERVE \"%.300s\" is not tcp://<address>:<port> (a port "
                                 "from 1 to 65535, or *)", serve);
    const char *heartbeat = getenv("CNODE_HEARTBEAT");
    if (heartbeat == NULL) heartbeat = S_DEFAULT_HEARTBEAT;
    if (cnode_heartbeat_parse(heartbeat, &a->heartbeat_ivl, &a->heartbeat_timeout) < 0)
        return cnode_args_bad(a, "CNODE_HEARTBEAT \"%.64s\" is not <interval_ms>,<timeout_ms> "
                                 "(positive integers, the timeout at most 6553599)", heartbeat);
    return 0;
}

int cnode_serve_read(struct cnode_args *a, int argc, char **argv)
{
    a->serve = a->tcp = a->curve = 1;
    if (s_endpoint(a) < 0 || s_names(a) < 0
        || cnode_args_max_message_size(a, getenv("CNODE_MAX_MESSAGE_SIZE")) < 0
        || s_secret_key(a) < 0 || s_authorized_keys(a) < 0)
        return -1;
    if (cnode_args_copy_user(a, argc, argv, 1) < 0) return cnode_args_bad(a, "out of memory");
    /* A child of the worker that is a cnode worker too must wait for its own launch line, not
       serve on the same settings. */
    static const char *const names[] = {"CNODE_SERVE",  "CNODE_SECRET_KEY_FILE",
                                        "CNODE_AUTHORIZED_KEYS", "CNODE_NAME",
                                        "CNODE_MAX_MESSAGE_SIZE", "CNODE_HEARTBEAT"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) unsetenv(names[i]);
    return 0;
}
