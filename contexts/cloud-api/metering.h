/*
 * metering.h - durable consumption, and the credit check, on every call.
 *
 * Every 200 answer of the API is sent only once the call's units are
 * durable: they survive a crash or SIGKILL of the process at any instant.
 * Nothing is fsynced (the database runs in WAL mode with
 * synchronous=NORMAL), so a power loss or kernel crash may lose the last
 * calls; synchronous=FULL (one fsync per commit, ~0.3 ms here) measured at
 * under half the throughput goal even with group commit, which is why the
 * guarantee stops at the process. There are two paths to durable.
 *
 * THE JOURNAL (meter_record_fast(), most calls). The meter holds in memory
 * the credit of the customers called lately (struct credit_mem in
 * metering.c: the credit_use row, credit.h, plus the units reserved since
 * it was read). A call takes the meter's lock, checks its units against
 * that credit, reserves them, appends one small record (sequence number,
 * customer, user, key, units) to a journal file beside the database with
 * one write(), and is answered at once. Once write() returns, the record is
 * the kernel's: it survives a crash of the process exactly as a WAL commit
 * at synchronous=NORMAL does. Reserving and appending under one lock puts
 * the journal in the same order as the credit checks.
 *
 * THE COMMITTER (one thread) folds the journal into SQLite every 10 ms: in
 * one transaction it reads the credit_use row of every customer held (so
 * a payment or a new limit from `follow` shows within 10 ms), adds the
 * journaled units to usage_units and to credit_use.served_units, and
 * stores the sequence number of the last record folded in
 * meter_journal.folded_seq. The database stays the one record of what was
 * charged; the journal only holds the last few milliseconds of it. At the
 * next meter_open() after a crash, every intact record past folded_seq is
 * folded the same way (a record cut short at the end is ignored: no call
 * was answered 200 on it), then the journal is emptied. Two files take turns,
 * so that the one written to can be emptied once all of it is folded.
 * The meter's WAL is checkpointed by a thread of its own (checkpointer.h),
 * so that no commit, and no call waiting on one, waits for the fsync that
 * ends a checkpoint.
 *
 * THE COMMITTED PATH (meter_submit(), meter_record(), meter_record_once())
 * is the rest: a call with an Idempotency-Key, a call of a customer the
 * meter does not hold (it reads its credit_use row, and holds it from then
 * on), and every call while the journal cannot be written or a commit
 * failed (a full disk: that call then gets 503, never a 200 whose units
 * are lost). Its call is queued; the committer commits every queued call,
 * with the journal, in its next transaction (group commit), then calls
 * each call's done function, which answers it: the analyze handler defers
 * its answer (fs_request_defer()) and no request thread waits for the
 * commit. meter_record() and meter_record_once() are the same, waiting.
 *
 * The credit limit (credit.h) is checked on both paths against the same
 * figure: served_units as committed, plus every unit journaled, being
 * folded, or held by the open transaction. So no two calls can both spend
 * the last of a credit, whichever path they take. With one node the
 * balance never goes below the limit.
 *
 * Units accumulate in usage_units per (window, customer, user, key). The
 * window of a call is the --usage-window of the wall clock at which its
 * units are committed (folded, for a journaled call: within ~10 ms of its
 * answer): [t - t % W, t - t % W + W). A window that has already been
 * published (usage_state.published_until, see usage_windows.h) never
 * receives units: a late commit (the clock stepped back, or a fold after a
 * crash) goes into the first window still open, so no unit is lost and no
 * published total changes.
 *
 * A call made with an Idempotency-Key goes through meter_record_once() (or
 * meter_submit() with a struct meter_once): in the same transaction as its
 * units, it looks its pair up in analyze_replays (idempotency.h). When a
 * row is there within its retention (a retry, or two identical calls
 * racing, in one batch or in two), that call adds no units and gets the
 * stored answer back instead, or METER_CONFLICT when the row was stored for
 * another request body; else its answer is stored with its units. So a
 * (login key, Idempotency-Key) pair is metered exactly once, whatever the
 * timing.
 *
 * One meter per database: meter_open() locks the journal (flock), and a
 * second one fails.
 */
#ifndef CLOUD_API_METERING_H
#define CLOUD_API_METERING_H

#include <stdint.h>
#include <time.h>

struct meter;

struct meter_config {
    /* The database file (whose usage tables exist). Borrowed for the call. */
    const char *db_path;
    /* Window length in seconds, at least 1. */
    unsigned window_seconds;
    /* Seconds an Idempotency-Key's answer is replayed; 0 means
     * IDEMPOTENCY_RETENTION_SECONDS. */
    unsigned idempotency_retention;
    /* Current Unix time; NULL means time(). Tests set it. */
    time_t (*clock)(void);
};

/* What became of a metered call. */
enum meter_result {
    METER_RECORDED = 0, /* its units (and answer) are committed */
    METER_REPLAYED,     /* its pair had an answer already: no units added */
    METER_REFUSED,      /* over its customer's credit (credit.h): nothing stored */
    METER_CONFLICT,     /* its pair's answer was for another request body */
    METER_FAILED,       /* the commit failed (logged): nothing stored */
};

/* Opens the meter with its own connection to the database and its
 * journal (DB-meter0 and DB-meter1 beside the database file, links
 * followed), folds what a crash left in the journal, and starts its
 * committer thread. The caller owns *out and frees it with meter_close().
 * Returns 0, or -1 (logged; also when another meter has the database). */
int meter_open(const struct meter_config *cfg, struct meter **out);

/*
 * Reserves units against the credit of customer_id and adds them to the
 * usage of (customer_id, user_id, key_id), and waits until the transaction
 * holding them has committed. Returns METER_RECORDED once they are
 * durable, METER_REFUSED when they would exceed the customer's credit (or
 * this node has none for it yet), METER_FAILED if the commit failed
 * (logged; nothing of the batch was stored, so the caller must not report
 * success). Strings are borrowed for the call. Thread-safe.
 */
enum meter_result meter_record(struct meter *m, const char *customer_id, const char *user_id,
                               const char *key_id, uint64_t units);

/*
 * The fast path of a call without an Idempotency-Key: when the meter holds
 * the credit of customer_id (a call of it went through the committed path
 * lately) and its journal works, decides the call at once and returns 1
 * with *result METER_RECORDED (units reserved and journaled: durable) or
 * METER_REFUSED (over the credit: nothing stored). Returns 0 otherwise,
 * having stored nothing: the caller takes the committed path
 * (meter_submit() or meter_record()). Strings are borrowed for the call.
 * Thread-safe.
 */
int meter_record_fast(struct meter *m, const char *customer_id, const char *user_id,
                      const char *key_id, uint64_t units, enum meter_result *result);

/* What names a call made with an Idempotency-Key, and its answer. Every
 * string is borrowed for the call. */
struct meter_once {
    const char *key_sha256;      /* hex SHA-256 of the presented login key */
    const char *idempotency_key; /* the header's value */
    const char *request_sha256;  /* hex SHA-256 of the request body */
    const char *body;            /* the answer, NUL-terminated JSON */
};

/*
 * meter_record() for a call made with an Idempotency-Key. Stores the units
 * and the answer in one transaction, unless an answer is already stored for
 * the pair: then it adds no units and returns METER_REPLAYED with *stored a
 * copy of that answer (the caller frees it), or METER_CONFLICT when that
 * answer was for another request body. *stored is NULL otherwise.
 * Thread-safe.
 */
enum meter_result meter_record_once(struct meter *m, const struct meter_once *once,
                                    const char *customer_id, const char *user_id,
                                    const char *key_id, uint64_t units, char **stored);

/*
 * What becomes of a call queued with meter_submit(), called once, on the
 * committer thread, after its commit (or its failure): result is as
 * meter_record_once() returns it; stored is NULL but for METER_REPLAYED,
 * where it is the stored answer, which the function now owns (frees).
 * It must not call into the meter, and should be quick: the next commit
 * waits for it.
 */
typedef void meter_done_fn(enum meter_result result, char *stored, void *userdata);

/*
 * Queues a call for the next commit and returns at once: as meter_record()
 * (once NULL) or meter_record_once() (once not NULL: all its strings must
 * be set), but done is called with the outcome instead (see meter_done_fn),
 * with userdata. Every string is copied. Returns 0; -1 when out of memory
 * or once lacks a string (logged when out of memory), and then done is
 * never called. Thread-safe.
 */
int meter_submit(struct meter *m, const struct meter_once *once, const char *customer_id,
                 const char *user_id, const char *key_id, uint64_t units, meter_done_fn *done,
                 void *userdata);

/* Counters, for /metrics. */
struct meter_stats {
    uint64_t calls;         /* calls recorded durably */
    uint64_t replays;       /* calls not metered: their answer was stored already */
    uint64_t refused;       /* calls refused: over the credit, or a key conflict */
    uint64_t units;         /* their units */
    uint64_t commits;       /* transactions committed that wrote units */
    uint64_t failures;      /* calls whose commit failed */
    uint64_t largest_batch; /* most calls in one transaction (journaled ones included) */
};

void meter_get_stats(struct meter *m, struct meter_stats *out);

/* Commits the calls still queued (calling their done functions) and folds
 * the journal, stops the committer, frees m and closes its connection and
 * journal. Accepts NULL. No
 * meter_record() or meter_submit() may be running or come later. */
void meter_close(struct meter *m);

#endif
