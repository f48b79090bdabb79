/*
 * watchdog.c: the worker must never outlive its owner (docs/protocol.md section 6). Three watches
 * cover the ways an owner can vanish, since no single one catches them all:
 *  - stdin: a pipe the owner holds and writes only the launch line to; the kernel closes it
 *    whatever kills the owner, and loop.c polls it (EOF ends cnode_run).
 *  - the owner's ZeroMQ connection closing, or its ZMTP heartbeat timing out (transport_zmq.c).
 *  - Linux: the parent-death signal, which also works while a handler is busy and not polling.
 * A served worker (serve.c) outlives its owners: it keeps only the second watch, and forgets the
 * owner instead of ending (session.c).
 * When the worker leads its process group (the owner starts it so), it ends the group as it ends,
 * so that processes it forked end with it: SIGTERM, then SIGKILL for those that are still alive
 * after CNODE_GROUP_GRACE_MS. That must not depend on the owner: after the owner's SIGKILL
 * (or any signal that kills Node) no code of the owner runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/syscall.h>
#endif

#include "node.h"

/* How long the rest of the group has, after SIGTERM, to end before it is SIGKILLed: time for a
   child to clean up, short enough that a worker whose owner died is gone within about a second
   (documented in cnode.h and docs/reliability.md). */
#define CNODE_GROUP_GRACE_MS 1000

/* The pid of the worker that installed the handler: forked children inherit the handler, and
   must only die, not signal the group again. */
static volatile sig_atomic_t s_leader;

static void s_set(int sig, void (*handler)(int))
{
    struct sigaction sa;
    sa.sa_handler = handler;
    sa.sa_flags = 0;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

#ifdef __linux__
/* The process group of `pid`, -1 once it is gone. One system call: reading /proc/<pid>/stat
   takes three and twenty times as long, and every process on the machine is asked, on every
   worker's exit. */
static pid_t s_pgid(pid_t pid)
{
    return (pid_t)syscall(SYS_getpgid, pid);
}

/* Whether process `pid` (its decimal digits) has ended and only waits to be reaped: its state
   in /proc/<pid>/stat, "pid (comm) state ...", is Z (or X). comm may hold any byte, ')' too,
   but the fields after it are numbers: the last ')' read closes it. */
static int s_ended(const char *pid)
{
    char path[32] = "/proc/", buf[128];
    size_t len = 6;
    while (*pid && len < sizeof path - 6) path[len++] = *pid++;
    for (const char *tail = "/stat"; *tail;) path[len++] = *tail++;
    path[len] = '\0';
    int fd;
    while ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 && errno == EINTR) {}
    if (fd < 0) return 1;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) < 0 && errno == EINTR) {}
    close(fd);
    ssize_t i = n - 1;
    while (i >= 0 && buf[i] != ')') i--;
    if (i < 0 || i + 2 >= n) return n <= 0;
    return buf[i + 2] == 'Z' || buf[i + 2] == 'X';
}

/* The live processes of our group other than us, counted by a scan of /proc (a zombie has
   ended: it only waits to be reaped). With a signal, each is sent it, its group checked again
   right before, so that a pid reused since the scan began cannot be hit. */
static int s_others(int sig)
{
    int dir;
    while ((dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 && errno == EINTR) {}
    if (dir < 0) return 0; /* no /proc: SIGTERM is all we can do */
    pid_t self = getpid(), group = getpgrp();
    int count = 0;
    /* Records of struct linux_dirent64: d_ino, d_off (8 bytes each), d_reclen, d_type, d_name. */
    _Alignas(8) char buf[4096];
    long n;
    while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
        for (long off = 0; off < n;) {
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, sizeof reclen);
            const char *name = buf + off + 19;
            off += reclen;
            pid_t pid = 0;
            const char *c = name;
            for (; *c >= '0' && *c <= '9'; c++) pid = pid * 10 + (*c - '0');
            if (c == name || *c != '\0' || pid == self || s_pgid(pid) != group || s_ended(name))
                continue;
            count++;
            if (sig && s_pgid(pid) == group) kill(pid, sig);
        }
    }
    close(dir);
    return count;
}
#endif

/* SIGTERM to the rest of our group; then, for as long as any of them is alive, at most
   CNODE_GROUP_GRACE_MS, the chance to end; then SIGKILL to those left. By pid, not kill(0):
   the worker's own end (its exit status) is its caller's to choose. The caller ignores SIGTERM,
   so that ours is discarded. Async-signal-safe calls only: the SIGTERM handler runs it. */
static void s_end_group(void)
{
    kill(0, SIGTERM);
#ifdef __linux__
    int64_t start = cnode_now_us(); /* clock_gettime only: async-signal-safe */
    /* Short sleeps first: a child that obeys SIGTERM is gone in a fraction of a millisecond.
       pselect sleeps that short, and may be called here (nanosleep may not). */
    for (long us = 100; s_others(0) > 0; us = us < 32000 ? us * 2 : us) {
        if (cnode_now_us() - start >= (int64_t)CNODE_GROUP_GRACE_MS * 1000) {
            s_others(SIGKILL);
            return;
        }
        struct timespec nap = {0, us * 1000};
        pselect(0, NULL, NULL, NULL, &nap, NULL);
    }
#endif
}

/* Async-signal-safe calls only (sigaction, kill, raise, getpid, and s_end_group's). */
static void s_on_sigterm(int sig)
{
    int saved = errno;
    if (getpid() == (pid_t)s_leader) {
        s_set(sig, SIG_IGN); /* an ignored signal sent to ourselves is discarded */
        s_end_group();
    }
    s_set(sig, SIG_DFL);
    raise(sig); /* blocked while this handler runs: it kills us as the handler returns */
    errno = saved;
}

int cnode_watchdog_start(pid_t owner_pid, int served)
{
    /* With fd 0 closed, ZeroMQ's own descriptors could take number 0 and be polled as stdin. A
       served worker has no owner to watch that way: its stdin is not polled at all. */
    if (!served && fcntl(STDIN_FILENO, F_GETFD) < 0) return -1;

    if (getpgrp() == getpid()) {
        s_leader = (sig_atomic_t)getpid();
        s_set(SIGTERM, s_on_sigterm);
    }
    /* Served, the parent is whatever started the worker (systemd, a shell), not an owner. */
    if (served) return 0;
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    /* The owner may have died between fork and prctl: then no signal will ever come, and our
       parent is already someone else. */
    if (owner_pid > 0 && getppid() != owner_pid && kill(owner_pid, 0) < 0 && errno == ESRCH)
        raise(SIGTERM);
#else
    (void)owner_pid;
#endif
    return 0;
}

int cnode_watchdog_stdin_gone(void)
{
    /* The owner never writes; anything read is dropped. ZeroMQ's poll reports EOF on a plain fd
       as ZMQ_POLLERR rather than ZMQ_POLLIN, so the caller reads on any event and lets read()
       tell. */
    char buf[256];
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n > 0) return 0;
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return 1;
}

void cnode_watchdog_end_group(void)
{
    if (getpgrp() != getpid()) return;
    struct sigaction old;
    sigaction(SIGTERM, NULL, &old);
    s_set(SIGTERM, SIG_IGN); /* the parent-death signal, now, would only end the group again */
    s_end_group();
    sigaction(SIGTERM, &old, NULL);
}
