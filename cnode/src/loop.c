/*
 * loop.c: cnode_run, the worker's loop. One poll(2) over everything that can wake the worker:
 * the transport's descriptors, stdin (the owner's watchdog pipe), cnode_post's eventfd and the
 * user's descriptors, with the next timer as the timeout. Each turn handles, in this order: the
 * owner's messages (session.c), the transport's own events (a closed connection), stdin's EOF,
 * posted messages, due timers, the user's descriptors. A STOP or the owner's end is checked
 * between any two of them, so it ends the loop promptly however busy the timers are.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "node.h"

/* Messages handled in one turn before the loop looks at its other sources again, so that a
   flood from the owner cannot starve timers, posts and stdin. */
#define S_INPUT_BUDGET 256

/* The poll set: the transport's descriptors, stdin, the post queue's, then the user's. */
struct s_polled {
    struct pollfd fds[CNODE_TRANSPORT_MAX_FDS + 2 + CNODE_MAX_FDS];
    int slots[CNODE_MAX_FDS];      /* the user's: their watch slots ... */
    unsigned serials[CNODE_MAX_FDS]; /* ... and serials when polled */
    int transport;                 /* how many are the transport's */
    int users;                     /* how many are the user's */
};

enum { S_STDIN, S_POST };

static int s_any(const struct pollfd *fds, int count)
{
    for (int i = 0; i < count; i++)
        if (fds[i].revents) return 1;
    return 0;
}

/* One turn's work after poll. Returns 0, or -1 when the loop must end with status 1. */
static int s_turn(cnode_t *n, struct s_polled *p, int *input_more)
{
    struct pollfd *own = &p->fds[p->transport];
    if (*input_more || s_any(p->fds, p->transport)) {
        int more = cnode_session_input(n, S_INPUT_BUDGET);
        if (more < 0) return -1;
        *input_more = more;
    }
    if (cnode_session_ended(n)) return 0;
    if (s_any(p->fds, p->transport)) {
        int event = n->tf->service(n->transport, p->fds, p->transport);
        if (event < 0) return cnode_broken(n, "transport");
        if (event == CNODE_TRANSPORT_OWNER_GONE) n->owner_gone = 1;
    }
    if (own[S_STDIN].revents && cnode_watchdog_stdin_gone()) n->owner_gone = 1;
    if (cnode_session_ended(n)) return 0;
    if (own[S_POST].revents && cnode_post_deliver(n) < 0) return -1;
    if (n->loop.timers_used > 0 && cnode_timers_run(n, cnode_now_us()) < 0) {
        n->loop.failed = 1;
        return -1;
    }
    if (cnode_watches_run(n, own + 2, p->slots, p->serials, p->users) < 0) {
        n->loop.failed = 1;
        return -1;
    }
    return 0;
}

/* Before sleeping: how long poll may wait (-1: until something happens), or -2 on failure. */
static int s_timeout(cnode_t *n, int *input_more)
{
    if (*input_more) return 0;
    /* A send since the last receive may have taken the transport's wake-up. */
    int pending = n->tf->pending(n->transport);
    if (pending < 0) {
        cnode_broken(n, "transport");
        return -2;
    }
    if (pending) {
        *input_more = 1;
        return 0;
    }
    return n->loop.timers_used > 0 ? cnode_timers_timeout(n, cnode_now_us()) : -1;
}

/* The user's part of the poll set, rebuilt when a descriptor was added or removed; the post
   queue's only once there is an owner, since what is posted before waits for it (and keeps
   the descriptor readable). */
static void s_refresh(cnode_t *n, struct s_polled *p)
{
    struct pollfd *own = &p->fds[p->transport];
    own[S_POST].fd = n->has_owner ? cnode_post_fd(&n->loop.post) : -1;
    if (n->loop.watches_changed)
        p->users = cnode_watches_fill(n, own + 2, p->slots, p->serials, CNODE_MAX_FDS);
}

static int s_loop(cnode_t *n)
{
    struct s_polled p;
    p.transport = n->tf->fds(n->transport, p.fds, CNODE_TRANSPORT_MAX_FDS);
    struct pollfd *own = &p.fds[p.transport];
    /* A served worker's stdin is nobody's watchdog pipe (it may be /dev/null): not polled. */
    own[S_STDIN] = (struct pollfd){n->args.serve ? -1 : STDIN_FILENO, POLLIN, 0};
    own[S_POST] = (struct pollfd){-1, POLLIN, 0};
    n->loop.watches_changed = 1;
    p.users = 0;
    int input_more = 0;
    for (;;) {
        /* Served, an owner that goes ends its session only: the worker waits for the next. */
        if (n->args.serve && n->owner_gone && !n->stopping && cnode_session_forget(n) < 0)
            return cnode_broken(n, "transport");
        if (cnode_session_ended(n)) break;
        s_refresh(n, &p);
        int timeout = s_timeout(n, &input_more);
        if (timeout < -1) return -1;
        int count = p.transport + 2 + p.users;
        if (poll(p.fds, (nfds_t)count, timeout) < 0) {
            if (errno == EINTR) continue;
            return cnode_broken(n, "poll");
        }
        if (s_turn(n, &p, &input_more) < 0) return -1;
    }
    return 0;
}

int cnode_run(cnode_t *n, cnode_handler handler, void *user)
{
    if (n == NULL || handler == NULL || n->ran) {
        fprintf(stderr, "cnode_run: %s\n", n == NULL ? "no node" : handler == NULL
                                                              ? "no handler" : "called twice");
        errno = EINVAL;
        return 1;
    }
    n->ran = 1;
    n->handler = handler;
    n->user = user;
    int rc = s_loop(n);
    /* The loop may end between the handling of calls and the flush of their held replies (a
       timer or a descriptor callback that stops it, or returns -1, after a full input budget):
       the calls were handled, so their replies go. cnode_flush drops them if the owner is gone. */
    if (n->has_owner && cnode_flush(n) < 0) rc = -1;
    /* What was posted before a stop still goes; after the owner's end it is dropped, and from
       now on cnode_post refuses with EPIPE. */
    cnode_post_close(n);
    return rc < 0 ? 1 : 0;
}
