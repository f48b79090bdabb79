/*
 * watch.c: the user's descriptors (cnode_add_fd, cnode_remove_fd in cnode.h), polled by the loop
 * beside its own. The descriptor stays the user's: the library never reads, writes or closes it.
 * A fixed table, whose slots are marked free and never moved, and a serial per entry, so that a
 * callback may add and remove descriptors (its own too) while the loop delivers poll's results:
 * a result for an entry removed, or replaced by another with the same number, is not delivered.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "node.h"

int cnode_fd_is_ours(cnode_t *n, int fd)
{
    struct pollfd fds[CNODE_TRANSPORT_MAX_FDS];
    int count = n->tf->fds(n->transport, fds, CNODE_TRANSPORT_MAX_FDS);
    for (int i = 0; i < count; i++)
        if (fds[i].fd == fd) return 1;
    const struct cnode_post *p = &n->loop.post;
    return fd == STDIN_FILENO || fd == p->wake[0] || fd == p->wake[1];
}

static int s_find(const struct cnode_loop *l, int fd)
{
    for (int i = 0; i < CNODE_MAX_FDS; i++)
        if (l->watches[i].fn != NULL && l->watches[i].fd == fd) return i;
    return -1;
}

int cnode_add_fd(cnode_t *n, int fd, short events, cnode_fd_fn fn, void *user)
{
    if (n == NULL || fn == NULL || fd < 0 || events == 0
        || (events & ~(POLLIN | POLLOUT | POLLPRI)) != 0 || cnode_fd_is_ours(n, fd)) {
        errno = EINVAL;
        return -1;
    }
    struct cnode_loop *l = &n->loop;
    if (s_find(l, fd) >= 0) {
        errno = EEXIST;
        return -1;
    }
    int slot = 0;
    while (slot < CNODE_MAX_FDS && l->watches[slot].fn != NULL) slot++;
    if (slot == CNODE_MAX_FDS) {
        errno = ENOSPC;
        return -1;
    }
    l->watches[slot] = (struct cnode_watch){fd, events, fn, user, ++l->serial};
    l->watches_changed = 1;
    return 0;
}

int cnode_remove_fd(cnode_t *n, int fd)
{
    if (n == NULL || fd < 0) {
        errno = EINVAL;
        return -1;
    }
    int slot = s_find(&n->loop, fd);
    if (slot < 0) {
        errno = ENOENT;
        return -1;
    }
    n->loop.watches[slot].fn = NULL;
    n->loop.watches_changed = 1;
    return 0;
}

int cnode_watches_fill(cnode_t *n, struct pollfd *fds, int *slots, unsigned *serials, int max)
{
    int count = 0;
    for (int i = 0; i < CNODE_MAX_FDS && count < max; i++) {
        const struct cnode_watch *w = &n->loop.watches[i];
        if (w->fn == NULL) continue;
        fds[count] = (struct pollfd){w->fd, w->events, 0};
        slots[count] = i;
        serials[count++] = w->serial;
    }
    n->loop.watches_changed = 0;
    return count;
}

int cnode_watches_run(cnode_t *n, const struct pollfd *fds, const int *slots,
                      const unsigned *serials, int count)
{
    for (int i = 0; i < count && !cnode_session_ended(n); i++) {
        if (fds[i].revents == 0) continue;
        struct cnode_watch *w = &n->loop.watches[slots[i]];
        if (w->fn == NULL || w->serial != serials[i]) continue; /* removed meanwhile */
        int rc = w->fn(n, w->fd, fds[i].revents, w->user);
        if (rc < 0) {
            fprintf(stderr, "cnode %s: the callback of descriptor %d returned %d: cnode_run ends "
                            "with status 1\n", n->args.name, fds[i].fd, rc);
            return -1;
        }
        /* A descriptor closed without cnode_remove_fd would poll POLLNVAL for ever. */
        if ((rc > 0 || (fds[i].revents & POLLNVAL)) && w->fn != NULL && w->serial == serials[i]) {
            w->fn = NULL;
            n->loop.watches_changed = 1;
        }
    }
    return 0;
}
