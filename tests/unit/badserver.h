/*
 * badserver.h - a feed producer for the feed-reader tests that can be told
 * to misbehave.
 *
 * It runs in a forked child on a loopback port and answers one connection
 * at a time (Connection: close). The test steers it through memory shared
 * with the child, so it can switch the producer between good and bad at any
 * moment. In BS_FEED mode it serves a synthetic feed of `count` entries
 * with page size `page_size` the way DESIGN.md section 5 describes (head,
 * full archive pages linked by prev-archive and next-archive, 404 for
 * others, ETag, long-poll), optionally in other shapes another producer
 * might use (no hints, archive pages at other URLs, relative or absolute
 * links); BS_FILES serves documents written by hand, by path; the other
 * modes are the faults.
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
    BS_FILES,      /* the documents added with bs_file(), by path; 404 for others */
};

/* Where BS_FEED's archive pages live and how its links are written. */
enum bs_links {
    BS_LINKS_PATH,     /* /feeds/x/pages/N, written as absolute paths */
    BS_LINKS_RELATIVE, /* /archive/2026-11-N.xml, written relative to each document */
    BS_LINKS_ABSOLUTE, /* /feeds/x/pages/N, written as http://127.0.0.1:PORT/... */
};

#define BS_MAX_FILES 16

/* A document of BS_FILES: its path and its body in raw[off .. off + len). */
struct bs_file {
    char path[128];
    size_t off, len;
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
    /* the feed's <id> (default "urn:x:feeds:x") */
    char feed_id[64];
    /* leave out f:pageSize and f:head */
    volatile int no_hints;
    /* advertise this f:pageSize instead of the real one (0: the real one) */
    volatile int lie_page_size;
    volatile int links;
    /* when set, the head's prev-archive href is this instead */
    char head_prev_href[192];
    /* the port, for BS_LINKS_ABSOLUTE */
    volatile int port;
    /* answer long-polls at once, without Preference-Applied, as a cache
     * does (a held long-poll is answered with Preference-Applied) */
    volatile int no_hold;
    /* BS_RAW: a "Content-Encoding: ...\r\n" line, or "" */
    char content_encoding[48];
    /* requests received so far, and the path of the last one */
    volatile int requests;
    char last_path[1024];
    /* BS_FILES */
    struct bs_file files[BS_MAX_FILES];
    volatile int nfiles;
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

/* Sets BS_RAW with status 200, content type and a body of len bytes sent
 * as Content-Encoding: gzip. */
void bs_raw_gzip(struct bs_server *s, const char *content_type, const void *gz, size_t len);

/* Adds (or replaces) the document at path for BS_FILES, served as
 * application/atom+xml without ETag, as a plain web server would; every %d
 * in body is replaced by the port. Does not change the mode. */
void bs_file(struct bs_server *s, const char *path, const char *body);

/* The feed URL, "http://127.0.0.1:PORT/feeds/x", in a static buffer. */
const char *bs_url(const struct bs_server *s);

#endif
