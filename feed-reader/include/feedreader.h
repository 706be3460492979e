/*
 * feedreader.h - follow an Atom feed and apply each entry exactly once.
 *
 * This is the whole interface of the feed-reader library. It knows nothing
 * of the contexts that use it: a consumer opens a follower on its own SQLite
 * database, names a handler per event type, and runs it. The follower walks
 * from its stored position through the archive pages to the head, then
 * long-polls the head, as DESIGN.md section 5 describes. It reads any feed
 * that follows RFC 4287 and RFC 5005 (archived feeds) plus one element per
 * entry, the entry's position, whoever wrote it.
 *
 * Guarantees:
 *  - Exactly once. The entries of a document are applied and the new
 *    position is stored in one SQLite transaction. A crash at any instant
 *    leaves the database with a whole number of applied entries and the
 *    position that matches them; the follower resumes after that position.
 *  - Nothing of a bad document is applied. Every response is untrusted: it is
 *    size-capped while it arrives, parsed as a stream with no DTD, no entity
 *    substitution and no network access, and depth-bounded. A bad document
 *    is logged, and fetched again with back-off.
 *  - Tolerant reader. Entry types without a handler are skipped and counted;
 *    fields a handler does not ask for, and elements the protocol does not
 *    name, are ignored.
 *  - Never backwards. A feed whose head is behind the stored position, or
 *    whose entry at the stored position has another id, stops the follower
 *    with FR_ERR_BACKWARDS; it never re-applies silently.
 *  - While the producer is down or failing, the follower backs off
 *    exponentially with jitter (capped, reset by the next success) and then
 *    catches up at full speed. A producer that refuses connections before
 *    it has ever answered this follower, in its first 30 s, is taken for
 *    one that is starting: logged once at info ("waiting for the
 *    producer"), not as an error each time; the failures are still
 *    recorded.
 *
 * Links. The follower goes where the documents' links say, never where it
 * guesses: each document's rel="self", "current", "prev-archive" and
 * "next-archive" links (feed-level <link>s) are resolved against the URL the
 * document was requested at (RFC 3986: "/feeds/x/pages/3", "pages/3",
 * "../x" and absolute URLs alike; redirects libcurl follows do not move
 * that base). A link that leaves that URL's scheme, host or port makes the
 * whole document bad (logged, retried with back-off, nothing of it
 * applied): a feed cannot send the follower, or its token, to another
 * server. A document with <fh:archive/> is an archive page, any other the
 * head. From the head, the follower walks prev-archive back to the page
 * holding the position after its stored one (or, to check the id there,
 * the stored one itself), applies it, then follows next-archive forward
 * until the head. Each step of the walk must continue the positions of the
 * last (a page reached by prev-archive ends just before the page it was
 * reached from, one reached by next-archive starts just after), so a walk
 * always ends; only the URLs of the current step are kept, so memory stays
 * flat however long the feed. <f:pageSize> and <f:head> are hints: without
 * f:head the head position is the head document's last entry (for an empty
 * head, the last entry of its prev-archive page); with f:pageSize, and only
 * when the head's prev-archive link has the shape ".../pages/N" and agrees
 * with it, the follower jumps straight to ".../pages/K", the page that
 * should hold its next position, and walks from whatever that page holds
 * (a hint found wrong is not used again). Walking forward it reads ahead
 * on connections of its own: the page next-archive names, and, while the
 * page URLs have the shape ".../pages/K" and count up by one, the page
 * after it too (on the same origin, and used only if the next page's own
 * next-archive link names that URL: a guess fetched, never followed), so
 * that the producer renders while the follower parses and commits. The
 * last "current" link seen is
 * where the follower goes back to for the head (the configured URL until
 * one is seen); a 404 on an archive page sends it back there. A head served
 * without an ETag cannot be long-polled: it is fetched about once a second.
 *
 * Identity. The follower's state belongs to the feed's Atom id (the <id>
 * child of <feed>), learned from the first document: the same feed reached
 * at another URL (another host name, a proxy, a cache) continues from its
 * position, and a document of another feed at the configured URL, once its
 * state belongs to a feed, stops the follower with FR_ERR_OTHER_FEED,
 * applying nothing. Every document must have the feed id; one of another
 * feed reached by a link is a bad document. A database made by the
 * version that keyed its state by URL is migrated by fr_follower_open()
 * (one schema step: the table gets a feed_id column); each such row keeps
 * its position and gets its feed id from its first document, whose id at
 * the stored position is checked as after any restart.
 *
 * Busy databases. SQLITE_BUSY and SQLITE_LOCKED are transient, wherever
 * they come from: the follower's own statements (begin, load, save, commit,
 * recording an error), or a handler, which either returns FR_HANDLER_RETRY
 * or refuses an entry after a statement on the connection failed with one
 * of them (the follower reads sqlite3_errcode()). The document's transaction
 * is rolled back, FR_ERR_BUSY is recorded as the last error and the
 * document is fetched and applied again after the normal back-off; the
 * follower never stops for it. Each statement first waits up to
 * busy_timeout_ms for the lock (less when fr_follower_stop() is called). An
 * error that cannot be written because the database is busy is kept in
 * memory and written with the next transaction that succeeds.
 *
 * A database that cannot be written now. SQLITE_FULL (the disk is full)
 * and SQLITE_IOERR (an I/O error) are transient in the same way, recorded
 * as FR_ERR_STORAGE: the document is rolled back whole and applied again
 * after the back-off, so the follower pauses while the disk is full and
 * resumes, applying each entry once, when space is freed. Such a fault is
 * logged once, when it starts (not once per retry), and once more when a
 * step succeeds again, with the number of attempts that failed.
 *
 * Fatal errors, the only ones that end fr_follower_run(): FR_ERR_BACKWARDS,
 * FR_ERR_OTHER_FEED, FR_ERR_REFUSED (a handler refused an entry, the
 * database being neither busy nor unwritable), FR_ERR_DB (any other
 * database failure: corruption, a read-only file, a schema error, the
 * follower's row deleted), FR_ERR_NOMEM, FR_ERR_INVALID.
 *
 * The follower keeps its state in the table feed_followers of the consumer's
 * database (see fr_status_list()), so /status and /metrics can show it.
 *
 * Threads: a follower is used by one thread; fr_follower_stop() may be
 * called from any thread or a signal handler.
 */
#ifndef FEEDREADER_H
#define FEEDREADER_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

enum fr_error {
    FR_OK = 0,
    FR_ERR_NOMEM,      /* out of memory */
    FR_ERR_DB,         /* the consumer's database failed */
    FR_ERR_INVALID,    /* a bad argument (URL, type name...) */
    FR_ERR_HTTP,       /* the producer could not be reached or answered an error */
    FR_ERR_PARSE,      /* the document is not a well-formed feed of this protocol */
    FR_ERR_TOO_LARGE,  /* the document is over the size or depth limit */
    FR_ERR_BACKWARDS,  /* the feed went backwards: fatal, see above */
    FR_ERR_REFUSED,    /* a handler refused an entry: fatal */
    FR_ERR_STOPPED,    /* fr_follower_stop() was called */
    FR_ERR_OTHER_FEED, /* the URL serves another feed than the stored state's: fatal */
    FR_ERR_BUSY,       /* the database was busy or locked, or a handler asked to
                        * retry: transient, retried with back-off */
    FR_ERR_STORAGE,    /* the database cannot be written now (disk full, I/O
                        * error): transient, retried with back-off */
};

/* A short English description of err; never NULL, never to be freed. */
const char *fr_strerror(enum fr_error err);

/* ---- Logs --------------------------------------------------------------- */

/*
 * The library never prints by itself: a follower hands each line it logs
 * (following, applied page, every failure it records, stopped) to the log
 * function of its configuration. docs/logging.md describes the lines.
 */
enum fr_log_level {
    FR_LOG_DEBUG,
    FR_LOG_INFO,  /* progress: following, a page applied, the feed identified, stopped */
    FR_LOG_WARN,  /* something odd that was dealt with */
    FR_LOG_ERROR, /* a failure that is retried: the producer, a document, a busy database */
    FR_LOG_FATAL, /* a failure that ends fr_follower_run() (listed at the top) */
};

/*
 * A log function: one line at level, with msg (an English sentence that
 * may quote the network: a URL, a parser's message; a log function must
 * escape it) and n key=value pairs, keys[i]=values[i], keys being constants
 * of [a-z_]; the first pair is always "feed", the URL followed. Every
 * pointer is valid only during the call, made on the follower's thread.
 * The same shape as feedserver.h's fs_log_fn, so that a program sends the
 * lines of both libraries to one logger.
 */
typedef void fr_log_fn(enum fr_log_level level, const char *msg, const char *const *keys,
                       const char *const *values, size_t n, void *userdata);

/*
 * The default log function: writes the line to standard error with one
 * write(2), as "ts=... level=LEVEL lib=feed-reader msg="MSG" feed=URL
 * key=value...", every value escaped (docs/logging.md). The only code of
 * the library that writes to standard output or error. userdata is not
 * used.
 */
void fr_log_stderr(enum fr_log_level level, const char *msg, const char *const *keys,
                   const char *const *values, size_t n, void *userdata);

/* "debug", "info", "warn", "error" or "fatal"; never NULL, not to be freed. */
const char *fr_log_level_name(enum fr_log_level level);

/* ---- Following ----------------------------------------------------------- */

/* An entry as a handler sees it. Every pointer is valid only during the
 * handler call. */
struct fr_entry {
    int64_t position;    /* its position in the feed, from 1 */
    const char *id;      /* "urn:uuid:..." */
    const char *type;    /* event type, the payload element's name */
    int version;         /* the payload's version attribute (1 if absent) */
    const char *updated; /* RFC 3339 */
};

/* The text of the payload field name of entry, or NULL when the entry has
 * no such field. Valid only during the handler call. */
const char *fr_entry_field(const struct fr_entry *entry, const char *name);

/*
 * Reads the fields names[0..n) of entry into values[0..n) (each as
 * fr_entry_field() gives it) and checks in one call that every one is
 * there and not empty: the fields the published language says an event of
 * this type has. Returns 0 if so. Otherwise returns -1 and writes into why
 * (why_size bytes, NUL-terminated), for the first one missing or empty,
 * "TYPE at position N has no NAME": the reason a handler refuses the
 * entry with. The values are valid only during the handler call.
 */
int fr_entry_fields(const struct fr_entry *entry, const char *const *names, const char **values,
                    size_t n, char *why, size_t why_size);

/* What a handler returns (any other non-zero value refuses, as 1 does). */
enum fr_handler_result {
    /* applied (or deliberately ignored): go on */
    FR_HANDLER_OK = 0,
    /* refused: the follower stops with FR_ERR_REFUSED, unless the last
     * statement on db failed with SQLITE_BUSY or SQLITE_LOCKED, which is
     * FR_HANDLER_RETRY */
    FR_HANDLER_REFUSE = 1,
    /* cannot be applied now (a transient failure): the document is rolled
     * back and applied again after the back-off (FR_ERR_BUSY) */
    FR_HANDLER_RETRY = 2,
};

/*
 * Applies one entry to db, inside the transaction the follower opened, and
 * returns an fr_handler_result. On anything but FR_HANDLER_OK the whole
 * document's transaction is rolled back, and the reason the handler wrote in
 * why (why_size bytes, NUL-terminated) goes into the last error. A handler
 * whose database call failed should return at once, so that
 * sqlite3_errcode(db) still tells a busy database from a real fault.
 */
typedef int fr_handler_fn(const struct fr_entry *entry, sqlite3 *db, char *why, size_t why_size,
                          void *userdata);

struct fr_follower;

/* How to follow a feed. Zero fields take the defaults shown. */
struct fr_config {
    /* The feed's head URL, "http(s)://host:port/feeds/NAME". */
    const char *feed_url;
    /* Bearer token to present, or NULL. A token sent over plain http to a
     * host that is not loopback is logged as a warning at open. */
    const char *token;
    /* PEM file of the CA certificates to trust for an https feed (a
     * private CA), instead of the system's; NULL: the system's. Peer and
     * host name are always verified. */
    const char *ca_file;
    /* The consumer's database, open. Borrowed: it must outlive the follower,
     * and no one else may use this connection while the follower runs. */
    sqlite3 *db;
    /* 0: long-poll the head (the default). Otherwise poll it with a plain
     * conditional GET every poll_interval seconds. */
    unsigned poll_interval;
    /* Seconds to ask the producer to hold a long-poll (default 25). */
    unsigned wait;
    /* Largest document accepted, in bytes (default 32 MiB). */
    size_t max_document;
    /* Largest element nesting accepted (default 32). */
    unsigned max_depth;
    /* Seconds to connect before giving up (default 5). */
    unsigned connect_timeout;
    /* Longest pause between retries while failing, in ms (default 30000). */
    unsigned max_backoff_ms;
    /* Seconds a response may take beyond the wait asked for: the total
     * timeout of a request is wait + read_timeout + connect_timeout
     * (default 10). */
    unsigned read_timeout;
    /* Milliseconds a statement waits for a database locked by another
     * connection before the attempt fails with FR_ERR_BUSY (default 5000). */
    unsigned busy_timeout_ms;
    /* Where the follower's log lines go (default fr_log_stderr()), and
     * what that function is handed last. */
    fr_log_fn *log;
    void *log_userdata;
};

/*
 * Creates a follower for cfg. It creates or migrates the feed_followers
 * table in cfg->db if needed (the only write it may make; FR_ERR_BUSY when
 * that finds the database locked), reads the state stored for cfg->feed_url,
 * and installs a busy handler on cfg->db that waits up to busy_timeout_ms
 * (the producer's server may share the file). The caller owns *out and
 * frees it with fr_follower_close().
 */
enum fr_error fr_follower_open(const struct fr_config *cfg, struct fr_follower **out);

/* Names fn as the handler of entries of type (copied). At most one handler
 * per type; must be called before fr_follower_run(). */
enum fr_error fr_follower_on(struct fr_follower *f, const char *type, fr_handler_fn *fn,
                             void *userdata);

/*
 * The head hook: called on the follower's thread each time a document of
 * the head has been applied and committed, so the follower is caught up:
 * its position (the argument) is the head's. That is when it reaches the
 * head after a walk through the archive, and after each head document a
 * poll or a long-poll brings (not after a 304). It runs outside any
 * transaction, on db, the follower's connection: the place for work to do
 * once caught up, in transactions of its own (such as building indexes a
 * consumer deferred while it was far behind). It returns an
 * fr_handler_result, read as a handler's: FR_HANDLER_RETRY, or a refusal
 * after a statement that met a busy database or a storage fault, fails the
 * step with FR_ERR_BUSY or FR_ERR_STORAGE (the reason written in why goes
 * into the last error), and after the back-off the head is fetched again
 * in full (not long-polled) and the hook called again; any other refusal
 * stops the follower with FR_ERR_REFUSED. What the document applied stays
 * applied either way.
 */
typedef int fr_head_fn(sqlite3 *db, int64_t position, char *why, size_t why_size, void *userdata);

/* Names fn as the head hook of f (at most one); must be called before
 * fr_follower_run(). */
enum fr_error fr_follower_at_head(struct fr_follower *f, fr_head_fn *fn, void *userdata);

/*
 * Follows the feed until fr_follower_stop() (returns FR_ERR_STOPPED) or a
 * fatal error (listed at the top). Failures of the producer or of its
 * documents, and a busy database, are not fatal: they are logged, recorded
 * as the last error, and retried with back-off.
 */
enum fr_error fr_follower_run(struct fr_follower *f);

/*
 * Does one round of the loop: fetches one document (an archive page or the
 * head; the head is long-polled only when wait is non-zero) and applies it.
 * Returns FR_OK when the document was good, even with no new entries;
 * transient errors are returned, not retried. For tests and tools.
 */
enum fr_error fr_follower_step(struct fr_follower *f, int wait);

/* Asks a running follower to stop soon, even in the middle of a long-poll.
 * Safe from another thread or a signal handler. */
void fr_follower_stop(struct fr_follower *f);

/* The message of the last error, "" if none. Owned by f. */
const char *fr_follower_last_error(const struct fr_follower *f);

/* The stored position: the last entry applied (0 before the first). */
int64_t fr_follower_position(const struct fr_follower *f);

/* The feed's Atom id the stored state belongs to, "" until it is known.
 * Owned by f. */
const char *fr_follower_feed_id(const struct fr_follower *f);

/* Frees f. Accepts NULL. Does not close the database; puts back the busy
 * timeout the connection had before fr_follower_open() (PRAGMA
 * busy_timeout; a busy handler of the caller's own, which SQLite cannot
 * report, is removed: set it again if the connection lives on). */
void fr_follower_close(struct fr_follower *f);

/* ---- State, for /status and /metrics ------------------------------------ */

/* One follower's state as stored in the database. Pointers are valid only
 * during the fr_status_fn call. */
struct fr_status {
    const char *feed_url;      /* the URL it was last followed at */
    const char *feed_id;       /* the feed's Atom id, "" until its first document */
    int64_t position;          /* last entry applied */
    int64_t head;              /* last head position seen at the producer */
    int64_t skipped;           /* entries of types without a handler */
    int64_t errors;            /* failures so far */
    const char *last_success;  /* RFC 3339 time of the last good document applied
                                * (entries or not), or "" */
    const char *last_error;    /* message of the last failure, or "" */
    const char *last_error_at; /* RFC 3339 time of it, or "" */
    const char *last_poll;     /* RFC 3339 time of the last good fetch of the
                                * head, a 304 included: an idle, healthy
                                * follower's is recent; or "" */
    const char *last_applied;  /* RFC 3339 time the position last moved, or "" */
    int error_resolved;        /* the last error is no newer than the last
                                * success or good poll (same second: resolved) */
};

typedef void fr_status_fn(const struct fr_status *status, void *userdata);

/* Calls fn for each follower recorded in db, by feed URL. A database
 * without the table has no followers (not an error); one whose table was
 * not migrated yet shows every feed id as "". */
enum fr_error fr_status_list(sqlite3 *db, fr_status_fn *fn, void *userdata);

#endif
