/*
 * follow.h - the follower: which document to fetch next, and applying it.
 *
 * The follower keeps in memory what it knows of the feed (page size P, last
 * head H seen, the head's ETag) and in the database its position. Each step
 * fetches one document:
 *  - the head, while P is unknown, when the next position is after the last
 *    full page, or after an archive page was missing; at the head and caught
 *    up, it is long-polled with If-None-Match;
 *  - otherwise archive page (position / P), the page holding the next
 *    position, and so on through the full pages.
 * Before applying anything after a restart, and after the producer could
 * not be reached, the follower reads the document that holds its stored
 * position, to check that the id there is still the one it applied (a
 * restored producer would have another).
 */
#ifndef FR_FOLLOW_H
#define FR_FOLLOW_H

#include <signal.h>

#include "atom_parse.h"
#include "backoff.h"
#include "fetch.h"
#include "position_store.h"

/* A handler named with fr_follower_on(). */
struct fr__handler {
    char *type;
    fr_handler_fn *fn;
    void *userdata;
};

struct fr_follower {
    /* the configuration, defaults filled in; strings owned */
    struct fr_config cfg;
    char *feed_url;
    struct fr__handler *handlers;
    size_t nhandlers;
    struct fr__fetch fetch;
    /* the last document parsed (its storage is reused) */
    struct fr__doc doc;
    struct fr__store store;
    /* the stored state, as of the last transaction */
    struct fr__state state;
    /* page size, 0 until the head was read */
    int64_t page_size;
    /* ETag of the head document, kept only when every entry in it was
     * applied, so a 304 can never hide unapplied entries */
    char head_etag[256];
    /* whether the id at the stored position was checked against the feed */
    int verified;
    /* fetch the head next (an archive page was missing) */
    int force_head;
    /* the last step found nothing new at the head */
    int idle;
    /* URL of the next request */
    char *url;
    size_t url_size;
    char last_error[1024];
    /* failures that could not be recorded (the database was busy): how
     * many, the last message and when; written with the next success */
    int64_t pending_errors;
    char pending_error[1024];
    char pending_at[21];
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
