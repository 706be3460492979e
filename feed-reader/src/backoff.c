#include "backoff.h"

#include <errno.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

void fr__backoff_init(struct fr__backoff *b, unsigned cap_ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    b->attempt = 0;
    b->base_ms = 100;
    b->cap_ms = cap_ms ? cap_ms : 30000;
    b->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
    if (b->rng == 0)
        b->rng = 0x9e3779b97f4a7c15ULL;
}

void fr__backoff_reset(struct fr__backoff *b)
{
    b->attempt = 0;
}

unsigned fr__backoff_next(struct fr__backoff *b)
{
    uint64_t bound = b->base_ms;
    uint64_t x = b->rng;

    for (unsigned i = 0; i < b->attempt && bound < b->cap_ms; i++)
        bound *= 2;
    if (bound > b->cap_ms)
        bound = b->cap_ms;
    if (b->attempt < 64)
        b->attempt++;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b->rng = x;
    return (unsigned)(x % (bound + 1));
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int fr__sleep(unsigned ms, int wake_fd, const volatile sig_atomic_t *stop)
{
    int64_t end = now_ms() + ms;

    while (!*stop) {
        int64_t left = end - now_ms();
        struct pollfd p = {.fd = wake_fd, .events = POLLIN};
        char drain[64];

        if (left <= 0)
            return 0;
        /* Slices of at most 200 ms also bound the delay of a stop that
         * only set the flag (from a thread that could not reach the pipe). */
        if (poll(&p, wake_fd >= 0 ? 1 : 0, left > 200 ? 200 : (int)left) > 0 &&
            (p.revents & POLLIN)) {
            while (read(wake_fd, drain, sizeof drain) > 0)
                ;
        } else if (errno == EINTR) {
            errno = 0;
        }
    }
    return 1;
}
