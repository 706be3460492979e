#include "slow_clients.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "http_server.h"
#include "log.h"

enum phase { WAITING, READING, ANSWERING };

/* One connection's clock. */
struct clock {
    int fd;           /* the connection's socket */
    enum phase phase; /* what it is doing */
    int64_t since_ms; /* monotonic time the phase began */
    int cut;          /* its socket was shut down already */
    struct clock *prev, *next;
};

struct fs__slow_clients {
    const struct fs_server_config *cfg; /* where cuts are logged */
    pthread_mutex_t lock;
    struct clock *list; /* every open connection */
    int64_t waiting_ms, reading_ms;
    pthread_t sweeper;
    int started;
    atomic_int stopping;
    atomic_uint_least64_t cut;
};

struct fs__slow_clients *fs__slow_clients_new(const struct fs_server_config *cfg,
                                              unsigned waiting_s, unsigned reading_s)
{
    struct fs__slow_clients *sc = calloc(1, sizeof *sc);

    if (!sc)
        return NULL;
    sc->cfg = cfg;
    pthread_mutex_init(&sc->lock, NULL);
    sc->waiting_ms = (int64_t)waiting_s * 1000;
    sc->reading_ms = (int64_t)reading_s * 1000;
    return sc;
}

/* Cuts the connections past their phase's deadline. */
static void sweep(struct fs__slow_clients *sc)
{
    int64_t now = fs__now_ms();
    unsigned n = 0;

    pthread_mutex_lock(&sc->lock);
    for (struct clock *c = sc->list; c; c = c->next) {
        int64_t limit = c->phase == WAITING ? sc->waiting_ms : sc->reading_ms;

        if (c->cut || c->phase == ANSWERING || now - c->since_ms <= limit)
            continue;
        /* Shutting the socket down (not closing it: libmicrohttpd owns the
         * descriptor) makes its next read fail, and it closes the
         * connection as one the client dropped. */
        c->cut = 1;
        n++;
        /* Counted before the client can see the cut, so that whoever sees
         * it also sees it counted. */
        atomic_fetch_add(&sc->cut, 1);
        shutdown(c->fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&sc->lock);
    if (n) {
        char count[16];

        snprintf(count, sizeof count, "%u", n);
        fs__log(sc->cfg, FS_LOG_WARN, "cut connections that were too slow to send their request",
                "count", count, NULL);
    }
}

static void *sweeper_main(void *arg)
{
    struct fs__slow_clients *sc = arg;
    struct timespec pause = {0, 500 * 1000000L};

    while (!atomic_load(&sc->stopping)) {
        sweep(sc);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

int fs__slow_clients_start(struct fs__slow_clients *sc)
{
    if (pthread_create(&sc->sweeper, NULL, sweeper_main, sc) != 0)
        return -1;
    sc->started = 1;
    return 0;
}

void fs__slow_clients_free(struct fs__slow_clients *sc)
{
    if (!sc)
        return;
    atomic_store(&sc->stopping, 1);
    if (sc->started)
        pthread_join(sc->sweeper, NULL);
    /* The daemon is stopped: every connection was closed and unlisted. */
    while (sc->list) {
        struct clock *c = sc->list;
        sc->list = c->next;
        free(c);
    }
    pthread_mutex_destroy(&sc->lock);
    free(sc);
}

void fs__slow_clients_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                             enum MHD_ConnectionNotificationCode toe)
{
    struct fs__slow_clients *sc = cls;
    struct clock *c = *socket_context;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

        c = calloc(1, sizeof *c);
        if (!c || !ci) {
            /* Untracked: it still has libmicrohttpd's idle timeout. */
            free(c);
            return;
        }
        c->fd = ci->connect_fd;
        c->phase = WAITING;
        c->since_ms = fs__now_ms();
        pthread_mutex_lock(&sc->lock);
        c->next = sc->list;
        if (sc->list)
            sc->list->prev = c;
        sc->list = c;
        pthread_mutex_unlock(&sc->lock);
        *socket_context = c;
        return;
    }
    if (!c)
        return;
    pthread_mutex_lock(&sc->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        sc->list = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&sc->lock);
    free(c);
    *socket_context = NULL;
}

/* Moves conn's clock to phase, from now. */
static void set_phase(struct fs__slow_clients *sc, struct MHD_Connection *conn, enum phase phase)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct clock *c = ci ? ci->socket_context : NULL;

    if (!c)
        return;
    pthread_mutex_lock(&sc->lock);
    c->phase = phase;
    c->since_ms = fs__now_ms();
    pthread_mutex_unlock(&sc->lock);
}

void *fs__slow_clients_request_line(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)uri;
    set_phase(cls, conn, READING);
    return NULL;
}

void fs__slow_clients_answering(struct fs__slow_clients *sc, struct MHD_Connection *conn)
{
    set_phase(sc, conn, ANSWERING);
}

void fs__slow_clients_request_done(struct fs__slow_clients *sc, struct MHD_Connection *conn)
{
    set_phase(sc, conn, WAITING);
}

uint64_t fs__slow_clients_cut(const struct fs__slow_clients *sc)
{
    return sc ? atomic_load(&((struct fs__slow_clients *)(uintptr_t)sc)->cut) : 0;
}
