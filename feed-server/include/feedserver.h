/*
 * feedserver.h - publish facts as paged, cacheable Atom feeds over HTTP
 * (and the same feeds as CloudEvents JSON and HTML).
 *
 * This is the whole interface of the feed-server library. It knows nothing
 * of the contexts that use it: a context stores the events it publishes with
 * fs_feed_append() in the same SQLite transaction as the change that caused
 * them (a transactional outbox), and an fs_server serves them as Atom
 * (RFC 4287) paged and archived as RFC 5005 describes.
 *
 * The library has two layers, and this header a section for each:
 *  - THE FEED LAYER: the feed tables in the caller's SQLite database
 *    (fs_db_open(), fs_feed_declare(), an fs_feed handle to append and
 *    read). It needs no server and does no HTTP, and it never logs: it
 *    returns its errors.
 *  - THE HTTP LAYER: an fs_server, a small web framework on libmicrohttpd:
 *    routes, requests, replies, a pool of database connections, limits on
 *    slow and large requests. It knows no feeds but those it is told to
 *    serve (fs_server_feed(), the section where the layers meet), whose
 *    documents it gets from the feed layer.
 * Their internals are apart too (feed-server/src: feed_store.c,
 * documents.c, atom_write.c, ... for the feed layer and its answers;
 * http_server.c, request.c, routes.c, pool.c, ... for the HTTP layer).
 *
 * Invariants the library keeps:
 *  - The entries of a feed have positions 1..head, gapless and strictly
 *    increasing, even when several processes append to the same database
 *    file. An entry is never changed or removed once committed.
 *  - A feed's page size P is fixed when the feed is first declared. Archive
 *    page N holds positions N*P+1 .. (N+1)*P and is served only once it is
 *    full; from then on its bytes, and so its ETag, never change.
 *  - The head document holds the entries after the last full page. Its ETag
 *    changes whenever an entry is appended.
 *  - Entries are rendered to XML once, when appended; serving a document
 *    concatenates stored entries, and answering a poll of an unchanged head
 *    touches neither SQLite nor the XML writer.
 *
 * Documents (DESIGN.md section 5): the <feed> element binds the Atom
 * namespace as default, "fh" to RFC 5005's history namespace and "f" to
 * FS_NAMESPACE. Each entry holds id, title (the event type), updated,
 * category term="TYPE", f:position and content type="application/xml"
 * with one element named after the type, carrying xmlns="" so that it and
 * its field elements are in no namespace: <TYPE xmlns="" version="1">
 * <field>value</field>...</TYPE>. The feed's author is the feed's name.
 * Every answer for a document, 304s included, carries an RFC 8288 Link
 * header with the same self, current, prev-archive and next-archive links
 * as the document, so a client can page without parsing the body.
 *
 * Representations: each document is served in three, chosen by the
 * request's Accept with q-values (RFC 9110 12.5.1; q=0 excludes; media
 * types are case-insensitive; the most specific range decides; on a tie
 * Atom, then JSON, then HTML; nothing acceptable or no Accept gives Atom):
 *  - application/atom+xml, the document above (also what application/xml
 *    and text/xml get);
 *  - application/cloudevents-batch+json (also what application/json gets):
 *    a JSON array of CloudEvents 1.0 structured events, one per entry, in
 *    the same order, each {"specversion":"1.0", "id", "source":
 *    "/feeds/NAME", "type", "time" (updated), "datacontenttype":
 *    "application/json", "position" and "eventversion" (integers), "data"
 *    (one string member per field)}; paging is in the Link headers only;
 *  - text/html, a readable page of the same entries for browsers, newest
 *    first, whose <head> links to the other two as rel="alternate" (the
 *    feed browser: see "Browsing" below).
 * A "format" query parameter (atom, json or html) chooses the
 * representation instead of Accept, so that a link in a page can lead to
 * the raw document.
 * All three have the same paging, Cache-Control, 304 and long-poll rules,
 * and answer "Vary: Accept". Errors are JSON {"error": ...} (a browser that
 * follows next-archive to a page not full yet is sent to the head, 303).
 *
 * Browsing (a browser, text/html): besides the documents, every served
 * feed has GET /feeds/NAME/entries/N, the entry at position N alone (HTML;
 * an Atom entry document, application/atom+xml;type=entry; or one
 * CloudEvent, application/cloudevents+json), and GET /feeds/NAME/tail, a
 * page whose script long-polls the head and shows entries as they are
 * committed. A browser sent to an archive page that is not full yet is
 * redirected (303) to the head, which holds its entries. A browser without
 * a valid token for a protected feed gets a 401 page that says what the
 * token is and how to send it, with only the Bearer challenge, so that no
 * password dialog opens before it is read; the same URL with "?login"
 * adds the Basic challenge, for entering the token as the password.
 *
 * ETags are strong and identify bytes, never by a count alone:
 * "<feed>-<doc>-<entry>-<repr>-<coding>", where feed is 12 hex digits of
 * the feed's uuid (drawn at random when the feed is declared, so a database
 * made afresh gives other ETags), doc is "h<head>" for the head or "p<N>"
 * for page N, entry is 16 hex digits of the SHA-256 of the id of the
 * document's newest entry (so a database restored from a copy that grows
 * back to the same count with other entries gives other ETags), repr is
 * "atom", "json" or "html", and coding is the content coding, "id"
 * (identity, the only one so far).
 *
 * Read-your-writes: when a route handler changed the database, the server
 * re-reads its feeds' heads on the handler's connection before the answer
 * is sent, so every request after that answer sees the new entries and
 * ETag, and held long-polls wake at once. Entries committed elsewhere (by
 * another process, or a thread of this one outside a handler) are found by
 * a watcher that looks at the database every few milliseconds.
 *
 * Threads: an fs_feed is used by the thread that uses its connection, and
 * the fs_feed_* functions use only that connection. An fs_server runs its
 * own threads; route handlers run on them, several at once, each with its
 * own database connection (fs_request_db()).
 */
#ifndef FEEDSERVER_H
#define FEEDSERVER_H

#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* The XML namespace of the project's own elements in feed documents:
 * <f:position> in each entry, <f:pageSize> and <f:head> at feed level. */
#define FS_NAMESPACE "urn:x-feed-integration:1"

/* Page size of a feed declared without one (DESIGN.md section 5). */
#define FS_DEFAULT_PAGE_SIZE 500

/* Longest wait a client may ask for with "Prefer: wait=N", in seconds. */
#define FS_MAX_WAIT 30

enum fs_error {
    FS_OK = 0,
    FS_ERR_NOMEM,    /* out of memory */
    FS_ERR_DB,       /* SQLite failed; sqlite3_errmsg() of the connection says why */
    FS_ERR_INVALID,  /* an argument breaks the contract (bad name, field...) */
    FS_ERR_NOT_FOUND,/* no such feed */
    FS_ERR_CONFLICT, /* the feed exists with another page size, or the event id is taken */
    FS_ERR_LISTEN,   /* the server could not bind or start */
    FS_ERR_TEXT,     /* a value is not text a feed can carry (fs_text_check()) */
    FS_ERR_TOO_LARGE,/* a document, entry or reply would pass the library's size cap */
};

/* A short English description of err; never NULL, never to be freed. */
const char *fs_strerror(enum fs_error err);

/*
 * Checks that the len bytes at text are text a feed can carry: strict UTF-8
 * (shortest forms only, no UTF-16 surrogates, nothing past U+10FFFF) made of
 * XML 1.0 characters (no NUL or other C0 control but tab, LF and CR, no
 * U+FFFE or U+FFFF). Returns 0 if so. Otherwise returns -1 and, when why is
 * not NULL, writes a short reason naming the first bad byte into why
 * (why_size bytes, NUL-terminated), such as "an overlong UTF-8 form at byte
 * 2". fs_feed_append() refuses anything else with FS_ERR_TEXT, since one
 * such byte makes the whole feed document unreadable; a context checks its
 * input with this before storing anything, and answers 400.
 */
int fs_text_check(const char *text, size_t len, char *why, size_t why_size);

/* ---- Logs --------------------------------------------------------------- */

/*
 * The library never prints by itself. An fs_server hands each line it logs
 * (listening, a handler that did not answer, a database failure while
 * serving, libmicrohttpd's own messages...) to the log function of its
 * configuration; the functions without a configuration (fs_db_open(), the
 * feed table) log nothing and return their errors for the caller to log.
 * docs/logging.md describes the lines and their levels.
 */
enum fs_log_level {
    FS_LOG_DEBUG,
    FS_LOG_INFO,  /* what an operator wants to see once: listening, ... */
    FS_LOG_WARN,  /* something went wrong and was dealt with */
    FS_LOG_ERROR, /* something failed: a request or a refresh could not be done */
};

/*
 * A log function: one line at level, with msg (an English sentence; it may
 * quote what a client sent, so a log function must escape it) and n
 * key=value pairs, keys[i]=values[i] ("feed"="usage", "sqlite"="disk I/O
 * error"), keys being constants of [a-z_]. Every pointer is valid only
 * during the call. It is called from the server's threads, several at
 * once, and must not call into the server. The pairs come as two arrays,
 * the same shape as feedreader.h's fr_log_fn, so that a program sends the
 * lines of both libraries to one logger.
 */
typedef void fs_log_fn(enum fs_log_level level, const char *msg, const char *const *keys,
                       const char *const *values, size_t n, void *userdata);

/*
 * The default log function: writes the line to standard error with one
 * write(2), as "ts=... level=LEVEL lib=feed-server msg="MSG" key=value...",
 * every value escaped (docs/logging.md). The only code of the library that
 * writes to standard output or error. userdata is not used.
 */
void fs_log_stderr(enum fs_log_level level, const char *msg, const char *const *keys,
                   const char *const *values, size_t n, void *userdata);

/* "debug", "info", "warn" or "error"; never NULL, never to be freed. */
const char *fs_log_level_name(enum fs_log_level level);

/* ======================================================================
 * THE FEED LAYER: the database and the feed table (no HTTP, no logs)
 * ====================================================================== */

/* ---- Database ---------------------------------------------------------- */

/*
 * Opens (creating if needed) the SQLite database at path the way the feed
 * tables need it: WAL journal, synchronous=NORMAL (a committed transaction
 * survives a crash of the process), a busy handler that waits up to 10 s
 * for a lock in short steps (50 us first, growing to 100 ms), and foreign
 * keys on. The caller owns *out and closes it with sqlite3_close().
 * On error *out is NULL.
 */
enum fs_error fs_db_open(const char *path, sqlite3 **out);

/* ---- The feed table ---------------------------------------------------- */

/*
 * Creates the feed tables in db if they are missing and declares the feed
 * name with page_size entries per archive page. Declaring an existing feed
 * again with the same page size does nothing; with another size it fails
 * with FS_ERR_CONFLICT, since archive pages already served must never
 * change. A page_size of 0 takes the existing feed's size, or
 * FS_DEFAULT_PAGE_SIZE for a new feed, so a program can choose a size for
 * new databases and keep the one of older databases. A feed name is 1-64
 * characters of [a-z0-9_-].
 */
enum fs_error fs_feed_declare(sqlite3 *db, const char *feed, unsigned page_size);

/* One field of an event: an element name (an XML NCName, such as
 * "customerId") and its text. Both borrowed for the duration of the call. */
struct fs_field {
    const char *name;
    const char *value;
};

/* An event to publish. Every pointer is borrowed for the duration of
 * fs_feed_append(). */
struct fs_event {
    /* The event's stable id, "urn:uuid:..."; NULL to have one generated. */
    const char *id;
    /* The event type, an XML NCName such as "UserAdded". */
    const char *type;
    /* The version attribute of the payload element; 0 means 1. */
    int version;
    /* RFC 3339 UTC time of the fact; NULL means now. */
    const char *updated;
    /* The fields, in the order they are written. */
    const struct fs_field *fields;
    size_t nfields;
};

/* One feed of one database connection: the handle through which a feed is
 * appended to and read. */
struct fs_feed;

/*
 * Opens the handle of the feed named name on db. The handle owns the
 * prepared statements its operations use: each is prepared on first use and
 * kept (preparing costs more than running), and fs_feed_close() finalizes
 * them; nothing is registered with the connection. So close every handle of
 * db before sqlite3_close(db), which fails while statements are open. A
 * handle is cheap to open: one per transaction is fine, one for a long run
 * of appends is faster. Opening reads nothing: a feed that is not declared
 * (fs_feed_declare()) is FS_ERR_NOT_FOUND when it is first appended to or
 * read. FS_ERR_INVALID for a bad name (see fs_feed_declare()). The caller
 * owns *out; on error it is NULL.
 */
enum fs_error fs_feed_open(sqlite3 *db, const char *name, struct fs_feed **out);

/* Finalizes feed's statements and frees it; the connection stays open.
 * Accepts NULL. */
void fs_feed_close(struct fs_feed *feed);

/*
 * Appends ev to feed as the entry after the current head and, when
 * position is not NULL, stores its position there. Must be called inside a
 * write transaction the caller opened with BEGIN IMMEDIATE on the feed's
 * connection, so that the entry commits (or rolls back) together with the
 * change that caused it and two processes never take the same position. The
 * entry's XML is rendered here, once. FS_ERR_INVALID if no transaction is
 * open, or the type or a field name is not an XML name; FS_ERR_TEXT if a
 * value is not text a feed can carry (fs_text_check()); FS_ERR_NOT_FOUND if
 * the feed is not declared; FS_ERR_CONFLICT if the event id is taken, or
 * another connection took the position (the transaction was not BEGIN
 * IMMEDIATE); FS_ERR_DB if SQLite failed (sqlite3_errmsg() says why).
 */
enum fs_error fs_feed_append(struct fs_feed *feed, const struct fs_event *ev, int64_t *position);

/* Stores in *head the position of the feed's last entry (0 when empty). */
enum fs_error fs_feed_head(struct fs_feed *feed, int64_t *head);

/* One stored entry, as fs_feed_read() hands it to its callback. Every
 * pointer is valid only during that call. */
struct fs_entry {
    int64_t position;
    const char *id;      /* "urn:uuid:..." */
    const char *type;    /* event type */
    const char *updated; /* RFC 3339 UTC */
    const char *xml;     /* the whole <entry> element as served */
};

/* Called for each entry; a non-zero return stops the read early. */
typedef int fs_entry_fn(const struct fs_entry *entry, void *userdata);

/* Calls fn for each entry of feed with first <= position <= last, in
 * ascending order. A stop requested by fn is not an error. fn may use feed
 * (to read its head, say) but not append to it. */
enum fs_error fs_feed_read(struct fs_feed *feed, int64_t first, int64_t last, fs_entry_fn *fn,
                           void *userdata);

/*
 * Writes a new random event id "urn:uuid:xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"
 * (46 bytes with the terminating NUL) into out, from the OS's random source.
 */
enum fs_error fs_new_event_id(char out[46]);

/* ======================================================================
 * THE HTTP LAYER: the server, its routes, requests and replies
 * ====================================================================== */

/* ---- The server --------------------------------------------------------- */

struct fs_server;
struct fs_request;

/* How to run a server. Zero fields take the defaults shown. */
struct fs_server_config {
    /* "ADDR:PORT" to listen on, IPv4 or [IPv6]; port 0 picks a free one. */
    const char *listen;
    /* The database file holding the feeds (opened once per server thread). */
    const char *db_path;
    /* Bearer tokens that may read the feeds. With none, only loopback
     * clients may, and the server logs so when it starts. Borrowed: must
     * outlive the server. */
    const char *const *tokens;
    size_t ntokens;
    /* Threads answering requests (default 2). */
    unsigned threads;
    /* Open connections at once (default: the file-descriptor limit less a
     * reserve of 128, at most 65536). */
    unsigned max_connections;
    /* Seconds an idle connection is kept open (default 60; a held long-poll
     * is not idle), and the longest a connection may take to send a request
     * line, however it trickles. */
    unsigned connection_timeout;
    /* Seconds a whole request (request line, headers and body) may take to
     * arrive (default 30). A client that sends slowly cannot extend it. */
    unsigned request_timeout;
    /* Long-polls held at once (default 1000); one more is answered 503. */
    unsigned max_long_polls;
    /* Bytes of request line plus headers (default 16384); past it: 431. */
    size_t max_header_bytes;
    /* Full archive pages kept rendered in memory (default 64). */
    unsigned page_cache;
    /* Where the server's log lines go (default fs_log_stderr()), and what
     * that function is handed last. */
    fs_log_fn *log;
    void *log_userdata;
    /* The feed browser's pages (HTML of documents, entries, the live tail,
     * the token hint) in the program's own site: a whole HTML document in
     * which "{{title}}" becomes the page's title (escaped) and "{{body}}"
     * its content; the pages' own <head> elements go just before its
     * "</head>"; any other "{{...}}" is dropped. NULL: a plain page of the
     * library's own. Borrowed: must outlive the server. */
    const char *html_layout;
    /* HTML the token hint adds (the page a browser gets for a protected
     * feed without a valid token): where an operator finds the token, say.
     * Borrowed; NULL adds nothing. */
    const char *token_hint_html;
};

/*
 * Creates a server for cfg without starting it. The caller then names the
 * feeds to serve with fs_server_feed() and mounts routes with
 * fs_server_route(), then calls fs_server_start(). The caller owns *out and
 * frees it with fs_server_close().
 */
enum fs_error fs_server_open(const struct fs_server_config *cfg, struct fs_server **out);

/*
 * A route handler. It is called once the whole request body has arrived and
 * must answer with exactly one fs_reply*() call before it returns, or defer
 * its answer with fs_request_defer().
 */
typedef void fs_route_fn(struct fs_request *req, void *userdata);

/*
 * Mounts fn for requests whose method is method ("GET", "POST", ...) and
 * whose path matches pattern. A pattern is a path whose segments may be "*",
 * which matches one non-empty segment, available with fs_request_param().
 * Bodies larger than max_body bytes are refused with 413 as soon as the
 * headers show it, before fn is called. A path that matches a pattern under
 * another method is answered 405 with an Allow header. Routes are tried in
 * the order mounted; /healthz, /feeds/... are the library's own.
 */
enum fs_error fs_server_route(struct fs_server *server, const char *method, const char *pattern,
                              size_t max_body, fs_route_fn *fn, void *userdata);

/*
 * Renders an error page: answers req (with one fs_reply*() call, never
 * fs_reply_error()) with status and an HTML page that says message.
 */
typedef void fs_error_page_fn(struct fs_request *req, unsigned status, const char *message,
                              void *userdata);

/*
 * Makes every fs_reply_error() to a client that prefers HTML
 * (fs_request_wants_html()) answer through fn instead of with JSON: the
 * library's own 404, 405 and 413 as well as the handlers'. Other clients
 * keep the JSON body. Called before fs_server_start().
 */
void fs_server_error_page(struct fs_server *server, fs_error_page_fn *fn, void *userdata);

/* Binds and starts answering. After it, no feeds or routes may be added. */
enum fs_error fs_server_start(struct fs_server *server);

/* The port the started server listens on (useful with port 0). */
unsigned fs_server_port(const struct fs_server *server);

/* Stops answering, ends held long-polls, and frees server. Accepts NULL. */
void fs_server_close(struct fs_server *server);

/* Counters of a running server, for /metrics. */
struct fs_server_stats {
    uint64_t requests;          /* requests answered */
    uint64_t responses[6];      /* by class: [2] 2xx, [3] 3xx, [4] 4xx, [5] 5xx */
    uint64_t not_modified;      /* 304 answers */
    uint64_t long_polls_held;   /* long-polls held now */
    uint64_t long_polls_woken;  /* long-polls answered because an entry arrived */
    uint64_t page_cache_hits;   /* archive pages served from memory */
    uint64_t connections_cut;   /* connections cut for sending too slowly */
};

/* Fills *stats with the server's counters so far. */
void fs_server_stats(const struct fs_server *server, struct fs_server_stats *stats);

/* ---- Requests (valid only inside a route handler) ---------------------- */

/* The method, such as "GET". */
const char *fs_request_method(const struct fs_request *req);
/* The path without the query string, such as "/customers/42". */
const char *fs_request_path(const struct fs_request *req);
/* The i-th (from 0) segment matched by "*" in the route pattern, or NULL. */
const char *fs_request_param(const struct fs_request *req, unsigned i);
/* A request header by case-insensitive name, or NULL. */
const char *fs_request_header(const struct fs_request *req, const char *name);
/* A query-string argument by name, decoded, or NULL. */
const char *fs_request_query(const struct fs_request *req, const char *name);
/* The body (NUL-terminated for convenience) and its length in *len. */
const char *fs_request_body(const struct fs_request *req, size_t *len);
/* Whether the client prefers HTML to JSON: its Accept (RFC 9110 12.5.1:
 * q-values, q=0 excludes, case-insensitive, most specific range first)
 * gives text/html a higher weight than application/json. A browser gets
 * true; no Accept, "Accept: * / *" (written without the spaces) or a tie
 * gets false. */
int fs_request_wants_html(const struct fs_request *req);
/* Whether the client connected from a loopback address. */
int fs_request_is_loopback(const struct fs_request *req);
/* The database connection of the handler's thread, open on the server's
 * database file. Borrowed: do not close it; leave no transaction open. */
sqlite3 *fs_request_db(struct fs_request *req);

/* Adds a response header. Both strings are copied. */
void fs_reply_header(struct fs_request *req, const char *name, const char *value);

/* Answers with status and a body of len bytes of content_type (copied). */
void fs_reply(struct fs_request *req, unsigned status, const char *content_type,
              const char *body, size_t len);

/* Same as fs_reply(), but takes over body, which must come from malloc(). */
void fs_reply_take(struct fs_request *req, unsigned status, const char *content_type,
                   char *body, size_t len);

/* Answers with status and the JSON body {"error": "<message>"}, message made
 * from fmt as by printf, so the caller learns what to fix. */
void fs_reply_error(struct fs_request *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- Deferred answers (a handler that answers later, from any thread) -- */

/* The pending answer of one request, handed from its handler to whoever
 * will answer it. */
struct fs_deferred;

/*
 * Lets a route handler return without answering: the connection then waits
 * for its answer without holding a server thread (libmicrohttpd suspends
 * it), until fs_deferred_reply() or fs_deferred_error() is called with the
 * handle, from any thread, at any time, even after the server closed.
 *
 * Ownership: the caller owns the returned handle and must pass it, exactly
 * once, to fs_deferred_reply() or fs_deferred_error(), which free it; the
 * handle stays valid until then whatever becomes of the connection or the
 * server. After a successful call the handler must not answer req and must
 * not use req once it has returned; headers it added with fs_reply_header()
 * go with the answer. Returns NULL when out of memory: the handler then
 * answers as usual. A server closing with answers still pending closes
 * their connections unanswered; their handles stay the holder's to pass on.
 */
struct fs_deferred *fs_request_defer(struct fs_request *req);

/*
 * Adds a response header to the deferred answer; both strings are copied.
 * Only before fs_deferred_reply() or fs_deferred_error(), by the handle's
 * owner.
 */
void fs_deferred_header(struct fs_deferred *d, const char *name, const char *value);

/*
 * Answers the deferred request with status and a body of len bytes of
 * content_type, as fs_reply_take() does: takes over body (from malloc();
 * NULL for none), copies content_type. Frees d. When the request is gone
 * (its server closed) the answer is dropped. Thread-safe.
 */
void fs_deferred_reply(struct fs_deferred *d, unsigned status, const char *content_type, char *body,
                       size_t len);

/* Answers the deferred request as fs_reply_error() does (the message made
 * from fmt, rendered on the connection's thread, so an HTML error page
 * applies). Frees d. Thread-safe. */
void fs_deferred_error(struct fs_deferred *d, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ======================================================================
 * SERVING FEEDS: where the layers meet
 * ====================================================================== */

/*
 * Serves feed (already declared in the database: FS_ERR_NOT_FOUND
 * otherwise) at /feeds/FEED and /feeds/FEED/pages/N, as the top of this
 * header describes, with the server's tokens. Called before
 * fs_server_start().
 */
enum fs_error fs_server_feed(struct fs_server *server, const char *feed);

/* Calls fn with each served feed's name and last known head position. */
typedef void fs_feed_head_fn(const char *feed, int64_t head, void *userdata);
void fs_server_heads(const struct fs_server *server, fs_feed_head_fn *fn, void *userdata);

#endif
