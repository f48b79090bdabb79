/*
 * timer.c: the user's timers (cnode_add_timer, cnode_cancel_timer in cnode.h), run by the loop on
 * its thread. A fixed table: a callback may add or cancel timers, its own too, while the loop
 * walks it, since a slot is only ever marked free, never moved.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "node.h"

int64_t cnode_now_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

int cnode_add_timer(cnode_t *n, unsigned interval_ms, cnode_timer_fn fn, void *user)
{
    /* Zero would be a timer due all the time: a loop that never sleeps. */
    if (n == NULL || fn == NULL || interval_ms == 0 || interval_ms > CNODE_MAX_INTERVAL_MS) {
        errno = EINVAL;
        return -1;
    }
    struct cnode_loop *l = &n->loop;
    int slot = 0;
    while (slot < CNODE_MAX_TIMERS && l->timers[slot].id != 0) slot++;
    if (slot == CNODE_MAX_TIMERS) {
        errno = ENOSPC;
        return -1;
    }
    /* Ids are not reused for a long while, so that cancelling a timer that already ended
       cannot hit a newer one. */
    if (l->next_timer_id == INT32_MAX) l->next_timer_id = 0;
    int id = ++l->next_timer_id;
    l->timers[slot] = (struct cnode_timer){id, interval_ms,
                                           cnode_now_us() + (int64_t)interval_ms * 1000, fn, user};
    if (slot >= l->timers_used) l->timers_used = slot + 1;
    return id;
}

int cnode_cancel_timer(cnode_t *n, int timer_id)
{
    if (n == NULL || timer_id <= 0) {
        errno = EINVAL;
        return -1;
    }
    struct cnode_loop *l = &n->loop;
    for (int i = 0; i < l->timers_used; i++) {
        if (l->timers[i].id != timer_id) continue;
        l->timers[i].id = 0;
        while (l->timers_used > 0 && l->timers[l->timers_used - 1].id == 0) l->timers_used--;
        return 0;
    }
    errno = ENOENT;
    return -1;
}

int cnode_timers_timeout(cnode_t *n, int64_t now_us)
{
    const struct cnode_loop *l = &n->loop;
    int64_t next = INT64_MAX;
    for (int i = 0; i < l->timers_used; i++)
        if (l->timers[i].id != 0 && l->timers[i].due_us < next) next = l->timers[i].due_us;
    if (next == INT64_MAX) return -1;
    if (next <= now_us) return 0;
    /* Rounded up: waking before the timer is due would only poll again at once. */
    int64_t ms = (next - now_us + 999) / 1000;
    return ms > CNODE_MAX_INTERVAL_MS ? CNODE_MAX_INTERVAL_MS : (int)ms;
}

int cnode_timers_run(cnode_t *n, int64_t now_us)
{
    struct cnode_loop *l = &n->loop;
    /* A timer added by a callback is due one interval later, after now_us: not run here. */
    for (int i = 0; i < l->timers_used && !cnode_session_ended(n); i++) {
        struct cnode_timer *t = &l->timers[i];
        if (t->id == 0 || t->due_us > now_us) continue;
        int id = t->id;
        /* The next run one interval after this one was due, so that the timer keeps its
           period; one that fell a whole interval behind (a long handler) skips the runs it
           missed instead of running them back to back. */
        t->due_us += (int64_t)t->interval_ms * 1000;
        if (t->due_us <= now_us) t->due_us = now_us + (int64_t)t->interval_ms * 1000;
        int rc = t->fn(n, t->user);
        if (rc < 0) {
            fprintf(stderr, "cnode %s: a timer callback returned %d: cnode_run ends with status "
                            "1\n", n->args.name, rc);
            return -1;
        }
        /* The callback may have cancelled it, and a new timer may have its slot. */
        if (rc > 0 && l->timers[i].id == id) cnode_cancel_timer(n, id);
    }
    return 0;
}
