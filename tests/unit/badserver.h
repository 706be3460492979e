/*
 * badserver.h - a feed producer for the feed-reader tests that can be told
 * to misbehave.
 *
 * It runs in a forked child on a loopback port and answers one connection
 * at a time (Connection: close). The test steers it through memory shared
 * with the child, so it can switch the producer between good and bad at any
 * moment. In BS_FEED mode it serves a synthetic feed of `count` entries
 * with page size `page_size` the way DESIGN.md section 5 describes (head,
 * full archive pages, 404 for others, ETag, long-poll); the other modes are
 * the faults.
 */
#ifndef BADSERVER_H
#define BADSERVER_H

#include <stddef.h>
#include <sys/types.h>

enum bs_mode {
    BS_FEED,       /* the synthetic feed */
    BS_RAW,        /* status, content_type and raw body, for every path */
    BS_HANG,       /* read the request, never answer */
    BS_CUT,        /* announce raw_len + 1000 bytes, send raw, close */
    BS_HUGE,       /* a 100 MB document with its Content-Length */
    BS_HUGE_NOLEN, /* an endless document without Content-Length */
    BS_CLOSE,      /* close the connection without a word */
};

/* What the test and the child share. */
struct bs_shared {
    volatile int mode;
    /* BS_RAW */
    volatile int status;
    char content_type[64];
    /* BS_FEED: entries 1..count, ids "urn:uuid:<id_prefix>-<pos>" */
    volatile long long count;
    volatile int page_size;
    char id_prefix[32];
    /* every skip_every-th entry is of type "Unheard" (0: none) */
    volatile int skip_every;
    /* the entry at this position has customerId "refuse" (0: none) */
    volatile long long refuse_at;
    /* requests received so far */
    volatile int requests;
    /* BS_RAW and BS_CUT body */
    size_t raw_len;
    char raw[256 * 1024];
};

struct bs_server {
    pid_t pid;
    int port;
    struct bs_shared *sh;
};

/* Starts the producer on 127.0.0.1:port (0: any free port) with a fresh
 * shared block in BS_FEED mode, empty feed, page size 500. Aborts the test
 * on failure. */
void bs_start(struct bs_server *s, int port);

/* Starts it again on the same port with the same shared block. */
void bs_restart(struct bs_server *s);

/* Kills the child (the port is then refused); keeps the shared block. */
void bs_stop(struct bs_server *s);

/* bs_stop() and frees the shared block. */
void bs_free(struct bs_server *s);

/* Sets BS_RAW with status, content type and body. */
void bs_raw(struct bs_server *s, int status, const char *content_type, const char *body);

/* The feed URL, "http://127.0.0.1:PORT/feeds/x", in a static buffer. */
const char *bs_url(const struct bs_server *s);

#endif
