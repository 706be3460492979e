#include "schema.h"

#include "db.h"
#include "log.h"

#include <feedserver.h>

const char *const SUB_PROJECTION_TABLES[] = {
    "customers",     "plan_periods", "users",         "login_keys",     "ledger",
    "monthly_usage", "invoices",     "closed_months", "unbilled_usage",
};
const unsigned SUB_NPROJECTION_TABLES =
    sizeof SUB_PROJECTION_TABLES / sizeof SUB_PROJECTION_TABLES[0];

static const char SCHEMA[] =
    /* The internal events: type, the customer concerned (NULL for a month
     * closing), when, an idempotency key (usage entry id, invoice, month),
     * the event's data as a JSON object, and who made the change (audit.h;
     * NULL for events stored before authors were recorded). */
    "CREATE TABLE IF NOT EXISTS domain_events ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " type TEXT NOT NULL,"
    " customer_id TEXT,"
    " at TEXT NOT NULL,"
    " dedupe TEXT UNIQUE,"
    " data TEXT NOT NULL CHECK (json_valid(data)),"
    " author TEXT);"
    /* lock_reason NULL: active; 'overdraft' or 'manual': locked.
     * credit_limit_cents NULL: the limit of the plan in effect. */
    "CREATE TABLE IF NOT EXISTS customers ("
    " id TEXT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " credit_limit_cents INTEGER,"
    " balance_cents INTEGER NOT NULL DEFAULT 0,"
    " lock_reason TEXT,"
    " registered_at TEXT NOT NULL,"
    " registered_month TEXT NOT NULL);"
    /* The plan of a customer in month M is the row with the greatest
     * from_month <= M. */
    "CREATE TABLE IF NOT EXISTS plan_periods ("
    " customer_id TEXT NOT NULL,"
    " from_month TEXT NOT NULL,"
    " plan TEXT NOT NULL,"
    " PRIMARY KEY (customer_id, from_month));"
    /* is_admin 1: the user manages the customer's users and keys in the
     * portal. */
    "CREATE TABLE IF NOT EXISTS users ("
    " id TEXT PRIMARY KEY,"
    " customer_id TEXT NOT NULL,"
    " email TEXT NOT NULL,"
    " added_at TEXT NOT NULL,"
    " removed_at TEXT,"
    " is_admin INTEGER NOT NULL DEFAULT 0);"
    "CREATE UNIQUE INDEX IF NOT EXISTS users_email ON users (customer_id, email COLLATE NOCASE)"
    " WHERE removed_at IS NULL;"
    "CREATE TABLE IF NOT EXISTS login_keys ("
    " id TEXT PRIMARY KEY,"
    " customer_id TEXT NOT NULL,"
    " user_id TEXT NOT NULL,"
    " key_sha256 TEXT NOT NULL,"
    " issued_at TEXT NOT NULL,"
    " revoked_at TEXT);"
    "CREATE INDEX IF NOT EXISTS login_keys_user ON login_keys (user_id);"
    "CREATE INDEX IF NOT EXISTS login_keys_sha256 ON login_keys (key_sha256);"
    /* Every movement of a balance: kind 'usage', 'fee' or 'payment';
     * amount_cents is its effect on the balance (negative for a charge). */
    "CREATE TABLE IF NOT EXISTS ledger ("
    " seq INTEGER PRIMARY KEY,"
    " customer_id TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " amount_cents INTEGER NOT NULL,"
    " units INTEGER,"
    " month TEXT,"
    " at TEXT NOT NULL,"
    " detail TEXT);"
    "CREATE INDEX IF NOT EXISTS ledger_customer ON ledger (customer_id, seq);"
    "CREATE TABLE IF NOT EXISTS monthly_usage ("
    " customer_id TEXT NOT NULL,"
    " month TEXT NOT NULL,"
    " units INTEGER NOT NULL,"
    " charges_cents INTEGER NOT NULL,"
    " PRIMARY KEY (customer_id, month));"
    "CREATE TABLE IF NOT EXISTS invoices ("
    " customer_id TEXT NOT NULL,"
    " month TEXT NOT NULL,"
    " plan TEXT NOT NULL,"
    " fee_cents INTEGER NOT NULL,"
    " units INTEGER NOT NULL,"
    " usage_cents INTEGER NOT NULL,"
    " total_cents INTEGER NOT NULL,"
    " issued_at TEXT NOT NULL,"
    " PRIMARY KEY (customer_id, month));"
    /* Per Cloud API node, the position of its usage feed charged so far
     * (credit.h). Not a projection. */
    "CREATE TABLE IF NOT EXISTS usage_nodes ("
    " node TEXT PRIMARY KEY,"
    " position INTEGER NOT NULL);"
    /* A row once CreditUpdated was published for the customers of an
     * older database (credit_backfill(), credit.h). Not a projection. */
    "CREATE TABLE IF NOT EXISTS credit_backfill ("
    " id INTEGER PRIMARY KEY CHECK (id = 1));"
    "CREATE TABLE IF NOT EXISTS closed_months ("
    " month TEXT PRIMARY KEY,"
    " closed_at TEXT NOT NULL);"
    /* Usage entries that could not be charged (unknown customer, malformed
     * fields): kept for an operator, never silently lost. */
    "CREATE TABLE IF NOT EXISTS unbilled_usage ("
    " entry_id TEXT PRIMARY KEY,"
    " customer_id TEXT,"
    " units TEXT,"
    " reason TEXT NOT NULL,"
    " at TEXT NOT NULL);"
    /* Signed-in browsers (sessions.h), keyed by the SHA-256 of the session
     * id: an operator's (which admin token) or a portal user's (which user
     * and key). Not a projection: rebuild leaves it alone. Times are Unix
     * seconds. */
    "CREATE TABLE IF NOT EXISTS sessions ("
    " id_sha256 TEXT PRIMARY KEY,"
    " kind TEXT NOT NULL CHECK (kind IN ('operator', 'portal')),"
    " token_index INTEGER,"
    " customer_id TEXT,"
    " user_id TEXT,"
    " key_id TEXT,"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL);";

/* Columns added after the first release: a database made before them gets
 * them with ALTER TABLE (the CREATE TABLE above has them for new ones). */
static const struct {
    const char *table, *column, *definition;
} MIGRATIONS[] = {
    {"domain_events", "author", "TEXT"},
    {"users", "is_admin", "INTEGER NOT NULL DEFAULT 0"},
};

/* Adds the missing columns of MIGRATIONS in one transaction, so that two
 * processes starting together do not both add one. */
static int migrate(sqlite3 *db)
{
    if (db_begin(db) != SQLITE_OK)
        return -1;
    for (size_t i = 0; i < sizeof MIGRATIONS / sizeof MIGRATIONS[0]; i++) {
        int added =
            db_add_column(db, MIGRATIONS[i].table, MIGRATIONS[i].column, MIGRATIONS[i].definition);

        if (added < 0)
            goto fail;
        if (added)
            log_info("database migrated", "table=%s column=%s", MIGRATIONS[i].table,
                     MIGRATIONS[i].column);
    }
    if (db_commit(db) != SQLITE_OK)
        goto fail;
    return 0;
fail:
    db_rollback(db);
    return -1;
}

/*
 * The page size for /feeds/subscriptions: SUB_FEED_PAGE_SIZE for a new
 * database, and whatever an existing one has (0: a feed's page size is
 * fixed for its life). The consumers long-poll the head, and every wake
 * sends and parses the whole head, up to a page less one entry: at 500 a
 * follower spent over a millisecond parsing 400 entries to apply one, which
 * is most of R1 and R2.
 */
static unsigned feed_page_size(sqlite3 *db)
{
    struct fs_feed *feed = NULL;
    int64_t head = 0;
    int is_new;

    if (fs_feed_open(db, SUB_FEED, &feed) != FS_OK)
        return 0;
    is_new = fs_feed_head(feed, &head) == FS_ERR_NOT_FOUND;
    fs_feed_close(feed);
    return is_new ? SUB_FEED_PAGE_SIZE : 0;
}

int schema_create(sqlite3 *db)
{
    enum fs_error err;

    if (db_exec_script(db, SCHEMA) != SQLITE_OK || migrate(db) != 0)
        return -1;
    err = fs_feed_declare(db, SUB_FEED, feed_page_size(db));
    if (err != FS_OK) {
        log_error("cannot declare feed", "feed=%s error=\"%s\"", SUB_FEED, fs_strerror(err));
        return -1;
    }
    return 0;
}
