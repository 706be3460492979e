/*
 * follow.h - the follower: which document to fetch next, and applying it.
 *
 * The follower keeps in memory what it knows of the feed (where its head
 * is, the first position the head held when last read, the head's ETag, and
 * where it is in a walk through the archive pages) and in the database its
 * position. Each step fetches one document:
 *  - the head (page_url NULL): at the head and caught up, it is long-polled
 *    with If-None-Match;
 *  - otherwise the archive page page_url, reached from the last document by
 *    its prev-archive link (page_dir -1, the page must end at page_expect),
 *    its next-archive link (+1, the page must start at page_expect), or
 *    built from the pageSize hint (0).
 * The walk goes back until the page holding the target (the position after
 * the stored one; the stored one itself while it is unverified), applies it
 * and goes forward to the head. Before applying anything after a restart,
 * and after the producer could not be reached, the follower reads the
 * document that holds its stored position, to check that the id there is
 * still the one it applied (a restored producer would have another).
 */
#ifndef FR_FOLLOW_H
#define FR_FOLLOW_H

#include <pthread.h>
#include <signal.h>

#include "atom_parse.h"
#include "backoff.h"
#include "fetch.h"
#include "position_store.h"

/* How long after fr_follower_open() a refused connection is taken for a
 * producer that is starting (see struct fr_follower). */
#define FR__STARTUP_WAIT_MS 30000

/*
 * The GETs of the next archive pages, each run on its own thread and
 * connection while the current page is applied: catching up, the producer
 * renders and sends pages N+1 and N+2 while the follower parses and
 * commits page N. on_page() starts the page its next-archive link names,
 * and, while the links have the shape ".../pages/K" and count up by one,
 * the page after it (a guess, used only if that page's own link then names
 * the same URL). The next step takes (joins) the slot that fetched its URL;
 * slots no step wants are dropped when a slot is needed, or at the head.
 */
#define FR__AHEAD 2

struct fr__ahead {
    /* its own easy handle (and connection) and body */
    struct fr__fetch fetch;
    /* whether a thread was started and not joined yet */
    int running;
    pthread_t thread;
    /* the URL it fetches, owned; NULL when none */
    char *url;
    /* what fr__fetch_get() answered, and its message */
    enum fr_error err;
    long status;
    char msg[512];
};

/* A handler named with fr_follower_on(). */
struct fr__handler {
    char *type;
    fr_handler_fn *fn;
    void *userdata;
};

struct fr_follower {
    /* the configuration, defaults filled in; strings owned */
    struct fr_config cfg;
    /* the configured URL, normalised */
    char *feed_url;
    struct fr__handler *handlers;
    size_t nhandlers;
    /* the hook named with fr_follower_at_head(), or NULL, and its userdata */
    fr_head_fn *at_head;
    void *at_head_userdata;
    struct fr__fetch fetch;
    struct fr__ahead ahead[FR__AHEAD];
    /* the last document parsed (its storage is reused) */
    struct fr__doc doc;
    struct fr__store store;
    /* the stored state, as of the last transaction */
    struct fr__state state;
    /* where the head is: feed_url, then the current link as last given */
    char *head_url;
    /* the archive page to fetch next, NULL for the head */
    char *page_url;
    /* how page_url was reached (-1, +1, 0: see above) and the position its
     * first (+1) or last (-1) entry must have */
    int page_dir;
    int64_t page_expect;
    /* page_url was built from pageSize: its number and that page size */
    int64_t jump_page, jump_size;
    /* the pageSize hint was found wrong: walk */
    int no_jump;
    /* page_url is the head's prev-archive page (its last entry is the head
     * position when the head document is empty and says nothing) */
    int page_from_head;
    /* prev-archive hops in this walk */
    unsigned long hops;
    /* the first position in the head document when last read (head + 1 if
     * it was empty); 0 when unknown */
    int64_t head_first;
    /* the prev-archive page of an empty head as last read, and its last
     * position: archive pages never change */
    char *empty_head_prev;
    int64_t empty_head_prev_last;
    /* ETag of the head document, kept only when every entry in it was
     * applied, so a 304 can never hide unapplied entries */
    char head_etag[256];
    /* whether the id at the stored position was checked against the feed */
    int verified;
    /* the last step found nothing new at the head */
    int idle;
    /* long-polls are not honoured (answered early without
     * Preference-Applied, as by a cache): the head is polled about once a
     * second until a wait is honoured again */
    int cache_mode;
    char last_error[1024];
    /* when the follower was opened (monotonic ms); whether the producer
     * has answered since; whether "waiting for the producer" was logged.
     * Until the producer first answers, and for FR__STARTUP_WAIT_MS at
     * most, a refused connection is a producer that is starting: logged
     * once at info, not as an error each time (still recorded). */
    int64_t opened_ms;
    int answered;
    int waiting_logged;
    /* failures that could not be recorded (the database was busy): how
     * many, the last message and when; written with the next success */
    int64_t pending_errors;
    char pending_error[1024];
    char pending_at[21];
    /* attempts that met a database that cannot be written (FR_ERR_STORAGE)
     * since the last success, and when the first of them was (ms): the
     * fault is logged at the first and at the success that ends it */
    int64_t storage_failures;
    int64_t storage_since;
    /* the busy handler: give up at once; when this wait began (ms) */
    int busy_no_wait;
    int64_t busy_since;
    /* the connection's busy timeout before fr_follower_open(), in ms */
    int saved_busy_timeout;
    /* set by fr_follower_stop(); pipe[1] wakes a sleeping follower */
    volatile sig_atomic_t stop;
    int pipe[2];
    struct fr__backoff backoff;
};

#endif
