/*
 * watchdog.c: the worker must never outlive its owner (docs/protocol.md section 6). Three watches
 * cover the ways an owner can vanish, since no single one catches them all:
 *  - stdin: a pipe the owner holds and never writes; the kernel closes it whatever kills the
 *    owner, and run.c polls it (EOF ends cnode_run).
 *  - the owner's ZeroMQ connection closing (socket.c).
 *  - Linux: the parent-death signal, which also works while a handler is busy and not polling.
 * When the worker leads its process group (the owner starts it so), SIGTERM is passed on to the
 * whole group, so that processes the worker forked end with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "node.h"

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

/* Async-signal-safe calls only (sigaction, kill, raise, getpid). */
static void s_on_sigterm(int sig)
{
    int saved = errno;
    if (getpid() == (pid_t)s_leader) {
        s_set(sig, SIG_IGN); /* an ignored signal sent to ourselves is discarded */
        kill(0, sig);
    }
    s_set(sig, SIG_DFL);
    raise(sig); /* blocked while this handler runs: it kills us as the handler returns */
    errno = saved;
}

int cnode_watchdog_start(pid_t owner_pid)
{
    /* With fd 0 closed, ZeroMQ's own descriptors could take number 0 and be polled as stdin. */
    if (fcntl(STDIN_FILENO, F_GETFD) < 0) return -1;

    if (getpgrp() == getpid()) {
        s_leader = (sig_atomic_t)getpid();
        s_set(SIGTERM, s_on_sigterm);
    }
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
    s_set(SIGTERM, SIG_IGN);
    kill(0, SIGTERM);
    sigaction(SIGTERM, &old, NULL);
}
