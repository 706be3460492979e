/*
 * backoff.h - how long to wait before the next try while the producer fails,
 * and a sleep that fr_follower_stop() interrupts.
 *
 * Delays grow exponentially from a base (100 ms) up to a cap, with full
 * jitter (a uniform random delay between 0 and the current bound), so that
 * many followers of one producer do not retry in step. A success resets it.
 */
#ifndef FR_BACKOFF_H
#define FR_BACKOFF_H

#include <signal.h>
#include <stdint.h>

struct fr__backoff {
    /* failures since the last success */
    unsigned attempt;
    /* first bound and cap of the delay, in ms */
    unsigned base_ms, cap_ms;
    /* state of the jitter's pseudo-random generator (xorshift64) */
    uint64_t rng;
};

/* Sets up b with a delay cap of cap_ms (0: 30000). */
void fr__backoff_init(struct fr__backoff *b, unsigned cap_ms);

/* Forgets past failures. */
void fr__backoff_reset(struct fr__backoff *b);

/* Counts one more failure and returns the delay to wait before the next
 * try, in ms. */
unsigned fr__backoff_next(struct fr__backoff *b);

/*
 * Sleeps ms milliseconds, or less if *stop becomes non-zero or a byte
 * arrives on wake_fd (the read end of the follower's self-pipe, drained
 * here; -1 for none). Returns non-zero when stopped.
 */
int fr__sleep(unsigned ms, int wake_fd, const volatile sig_atomic_t *stop);

#endif
