/*
 * loop.h: the worker's loop state (the user's timers and descriptors, cnode_post's queue) and the
 * functions loop.c calls in timer.c, watch.c and post.c. Every table has a fixed cap, so nothing
 * here grows without bound and a callback can add or remove entries while the loop walks them.
 */
#ifndef CNODE_LOOP_H
#define CNODE_LOOP_H

#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <cnode.h>

/* The caps documented in cnode.h. */
#define CNODE_MAX_TIMERS 256
#define CNODE_MAX_FDS 64
#define CNODE_POST_MAX_MESSAGES 8192
#define CNODE_POST_MAX_BYTES (64u << 20)
#define CNODE_MAX_INTERVAL_MS 2147483647 /* poll(2) takes an int of milliseconds */

/* One timer; id 0 marks a free slot. */
struct cnode_timer {
    int id;
    unsigned interval_ms;
    int64_t due_us;            /* CLOCK_MONOTONIC, microseconds */
    cnode_timer_fn fn;
    void *user;
};

/* One of the user's descriptors; fn NULL marks a free slot. */
struct cnode_watch {
    int fd;
    short events;
    cnode_fd_fn fn;
    void *user;
    unsigned serial;           /* changes with each add: a stale poll result is not delivered */
};

/* A message cnode_post took, as the whole INFO frame that will be sent. */
struct cnode_posted {
    struct cnode_posted *next;
    msgpack_sbuffer frame;
};

/* cnode_post's queue: the one part of a node that other threads touch, all under `lock`. */
struct cnode_post {
    pthread_mutex_t lock;
    struct cnode_posted *head, *tail;
    size_t count, bytes;       /* what the queue holds, against the caps */
    int closed;                /* cnode_run has ended: nothing more is taken */
    int unattended;            /* served with no owner attached: posts fail with ENOTCONN */
    int wake[2];               /* read and write ends: one eventfd (Linux) or a pipe */
    int woken;                 /* written, not yet read: posts do not write again */
};

struct cnode_loop {
    struct cnode_timer timers[CNODE_MAX_TIMERS];
    int timers_used;           /* slots below this may be in use */
    int next_timer_id;
    struct cnode_watch watches[CNODE_MAX_FDS];
    unsigned serial;           /* the last watch serial handed out */
    int watches_changed;       /* the poll set must be rebuilt */
    struct cnode_post post;
    int failed;                /* a callback returned -1: cnode_run returns 1 */
};

/* timer.c: the monotonic clock the library times with, in microseconds (clock_gettime only,
   so a signal handler may call it too). */
int64_t cnode_now_us(void);
/* Milliseconds until the next timer is due, rounded up (0 when one is due), or -1 with none. */
int cnode_timers_timeout(cnode_t *n, int64_t now_us);
/* Runs the timers due at now_us, each once. Returns 0, or -1 when a callback returned -1. */
int cnode_timers_run(cnode_t *n, int64_t now_us);

/* watch.c */
/* Writes the user's descriptors into fds[0..max) and each one's slot into slots; returns how
   many. */
int cnode_watches_fill(cnode_t *n, struct pollfd *fds, int *slots, unsigned *serials, int max);
/* Calls back each descriptor with revents, if it is still the one polled. Returns 0, or -1
   when a callback returned -1. */
int cnode_watches_run(cnode_t *n, const struct pollfd *fds, const int *slots,
                      const unsigned *serials, int count);
/* Whether fd is one the library polls itself (stdin, the transport's, the post queue's). */
int cnode_fd_is_ours(cnode_t *n, int fd);

/* post.c */
int cnode_post_init(struct cnode_post *p);            /* -1 with errno */
void cnode_post_destroy(struct cnode_post *p);        /* frees what was not sent */
int cnode_post_fd(const struct cnode_post *p);        /* to poll for POLLIN */
/* After the descriptor polled readable: sends what the queue holds, in order. Returns 0, or -1
   when the library failed. */
int cnode_post_deliver(cnode_t *n);
/* A served worker's owner came (1) or went (0): posts are taken only while one is attached, and
   what the queue holds when it goes was its, and is dropped, so that no owner gets another's. */
void cnode_post_attend(cnode_t *n, int attended);
/* cnode_run ends: nothing more is taken; what the queue holds is sent if the owner is still
   there (a stop), dropped otherwise. */
void cnode_post_close(cnode_t *n);

#endif /* CNODE_LOOP_H */
