/*
 * spin.c: the adaptive spin of spin.h.
 */
#include "loop.h"
#include "spin.h"

/* Spin iterations between two looks at the clock: a pause takes 10 to 150 cycles depending on
   the CPU, so the clock is read about every microsecond or less, and its cost (a vDSO call of
   some 20 ns) stays a small share of the spin. */
#define S_CLOCK_EVERY 32

/* Tells the CPU this is a spin-wait: it saves power and gives the other hyperthread the core. */
static inline void s_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

void cnode_spin_init(struct cnode_spin *s)
{
    s->budget_us = CNODE_SPIN_MAX_US;
    s->slept_at_us = 0;
}

int cnode_spin(struct cnode_spin *s, int (*ready)(void *ctx), void *ctx)
{
    if (s->budget_us == 0) return 0;
    int64_t start = cnode_now_us();
    for (unsigned i = 1;; i++) {
        if (ready(ctx)) {
            s->budget_us = s->budget_us * 2 > CNODE_SPIN_MAX_US ? CNODE_SPIN_MAX_US
                                                                : s->budget_us * 2;
            return 1;
        }
        s_pause();
        if (i % S_CLOCK_EVERY == 0 && cnode_now_us() - start >= s->budget_us) break;
    }
    s->budget_us /= 2; /* integer halving: 1 µs becomes 0 */
    return 0;
}

void cnode_spin_sleeping(struct cnode_spin *s)
{
    s->slept_at_us = cnode_now_us();
}

void cnode_spin_woke(struct cnode_spin *s)
{
    if (s->slept_at_us == 0) return;
    if (s->budget_us == 0 && cnode_now_us() - s->slept_at_us <= CNODE_SPIN_MAX_US)
        s->budget_us = CNODE_SPIN_MAX_US;
    s->slept_at_us = 0;
}
