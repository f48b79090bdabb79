/*
 * spin.h: how long the worker spins for its next message before it goes to sleep (the ring
 * transport's pending, transport_ring.c). Waking a sleeping process costs a system call on each
 * side and the scheduler's latency; a chatty owner's next call often comes a few microseconds
 * after the worker's reply, and a short spin catches it with neither. An idle worker must not
 * pay for that, so the budget adapts to what spinning has lately caught.
 *
 * The policy, in microseconds:
 *  - it starts at CNODE_SPIN_MAX_US;
 *  - a spin that caught a message doubles the budget (up to the max);
 *  - a spin that caught nothing halves it, to 0 below 1 µs;
 *  - with a budget of 0, a message that arrives within CNODE_SPIN_MAX_US of the moment the
 *    worker went to sleep shows that spinning would have caught it: the max is restored.
 * Plain data, one per transport, used by the loop's thread only.
 */
#ifndef CNODE_SPIN_H
#define CNODE_SPIN_H

#include <stdint.h>

/* On the VMs this was measured on, waking a process asleep on another vCPU costs about 25 µs:
   spinning that long for the next call of a chatty owner saves two wake-ups (the worker's and,
   since the owner's reply comes sooner, often the owner's). Spinning much past 50 µs burns more
   CPU than the wake-ups it saves. */
#define CNODE_SPIN_MAX_US 50

struct cnode_spin {
    int64_t budget_us;   /* how long the next spin may last; 0: go to sleep at once */
    int64_t slept_at_us; /* when the worker last went to sleep (cnode_now_us), 0 if awake */
};

void cnode_spin_init(struct cnode_spin *s);

/* Spins until ready(ctx) returns non-zero or the budget is spent, and adapts the budget.
   Returns 1 when it caught something, 0 when it did not (or the budget is 0). */
int cnode_spin(struct cnode_spin *s, int (*ready)(void *ctx), void *ctx);

/* The worker is about to sleep: remembers when, for cnode_spin_woke. */
void cnode_spin_sleeping(struct cnode_spin *s);

/* A message arrived after the worker went to sleep: with a budget of 0, restores the max when
   it came soon enough that a spin would have caught it. Cheap when the worker did not sleep. */
void cnode_spin_woke(struct cnode_spin *s);

#endif /* CNODE_SPIN_H */
