#include "schema.h"

#include "db.h"
#include "feedserver.h"
#include "log.h"

static const char *const SCHEMA_SQL =
    "CREATE TABLE IF NOT EXISTS customers ("
    "  customer_id TEXT PRIMARY KEY,"
    "  name TEXT,"
    "  plan TEXT,"
    "  locked INTEGER NOT NULL DEFAULT 0,"
    "  lock_reason TEXT"
    ");"
    "CREATE TABLE IF NOT EXISTS users ("
    "  customer_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  email TEXT NOT NULL COLLATE NOCASE,"
    "  removed INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (customer_id, user_id)"
    ");"
    "CREATE INDEX IF NOT EXISTS users_email ON users(email);"
    "CREATE TABLE IF NOT EXISTS login_keys ("
    "  customer_id TEXT NOT NULL,"
    "  key_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  key_sha256 TEXT NOT NULL,"
    "  revoked INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (customer_id, key_id)"
    ");"
    "CREATE INDEX IF NOT EXISTS login_keys_sha ON login_keys(key_sha256);"
    "CREATE TABLE IF NOT EXISTS sessions ("
    "  id_sha256 TEXT PRIMARY KEY,"
    "  customer_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  key_id TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX IF NOT EXISTS sessions_user ON sessions(customer_id, user_id);"
    /* Why a session ended when its user did not sign out, so the sign-in
     * page can say it: kept until keep_until (past the cookie's life). */
    "CREATE TABLE IF NOT EXISTS session_ends ("
    "  id_sha256 TEXT PRIMARY KEY,"
    "  customer_id TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  keep_until INTEGER NOT NULL"
    ");"
    "CREATE TABLE IF NOT EXISTS analyses ("
    "  id TEXT PRIMARY KEY,"
    "  customer_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  text TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('queued', 'done', 'failed')),"
    "  result TEXT,"
    "  reason TEXT,"
    "  units INTEGER,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created_at TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL"
    ");"
    "CREATE INDEX IF NOT EXISTS analyses_user ON analyses(customer_id, user_id, created_at);"
    "CREATE INDEX IF NOT EXISTS analyses_status ON analyses(status, created_at);";

int schema_create(sqlite3 *db)
{
    enum fs_error err;

    if (db_exec_script(db, SCHEMA_SQL) != SQLITE_OK)
        return -1;
    err = fs_feed_declare(db, PRODUCT1_FEED, 0);
    if (err != FS_OK) {
        log_error("cannot declare feed", "feed=%s error=\"%s\"", PRODUCT1_FEED, fs_strerror(err));
        return -1;
    }
    return 0;
}
