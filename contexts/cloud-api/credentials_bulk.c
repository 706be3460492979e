#include "credentials_bulk.h"

#include "db.h"
#include "log.h"
#include "replica.h"
#include "strbuf.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/*
 * replica_bulk: one row per staged entry, by position (the rowid), so each
 * insert appends to the table's last page. a and b are the event's other
 * values (credentials_bulk_stage()).
 */
static const char bulk_sql[] = "CREATE TABLE IF NOT EXISTS replica_bulk ("
                               "  position INTEGER PRIMARY KEY,"
                               "  type INTEGER NOT NULL,"
                               "  customer_id TEXT,"
                               "  user_id TEXT,"
                               "  key_id TEXT,"
                               "  key_sha256 TEXT,"
                               "  a TEXT,"
                               "  b TEXT"
                               ")";

static const char stage_sql[] =
    "INSERT INTO replica_bulk(position, type, customer_id, user_id, key_id, key_sha256, a, b)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/* The mode of this thread's follower: its connection, whether it stages,
 * and the staging statement prepared on that connection (owned by it;
 * finalized by the build, or with the connection's other statements). */
static _Thread_local struct {
    sqlite3 *db;
    int on;
    sqlite3_stmt *stage;
    /* the types replica_bulk may hold (bit 1 << type): those staged since
     * the table was made, all when it was found made (a restart), so that
     * the build skips scans for types it cannot find */
    unsigned types;
} mode;

/* The bits of mode.types of customers' events, and of revocations. */
#define CUSTOMER_TYPES                                                                             \
    (1u << BULK_CUSTOMER_REGISTERED | 1u << BULK_CUSTOMER_LOCKED | 1u << BULK_CUSTOMER_UNLOCKED)
#define REVOKING_TYPES (1u << BULK_KEY_REVOKED | 1u << BULK_USER_REMOVED)

int credentials_bulk_pending(sqlite3 *db)
{
    int rc;
    long long n =
        db_int(db, &rc, 0, "SELECT count(*) FROM sqlite_schema WHERE name = 'replica_bulk'", "");

    return rc == SQLITE_ROW ? n > 0 : -1;
}

static int drop_built(sqlite3 *db);

int credentials_bulk_start(sqlite3 *db, int64_t position, int allow)
{
    int pending = credentials_bulk_pending(db), rc;
    long long empty;

    mode.db = db;
    mode.on = 0;
    mode.stage = NULL;
    mode.types = ~0u;
    if (pending < 0)
        return -1;
    /* The staged rows of a replica built before a crash or a busy
     * database kept them. */
    if (db_int(db, &rc, 0, "SELECT count(*) FROM sqlite_schema WHERE name = 'replica_bulk_built'",
               "") > 0)
        drop_built(db);
    if (pending) {
        mode.on = 1;
        log_info("the credential replica is still being built in bulk: staging", "position=%lld",
                 (long long)position);
        return 1;
    }
    if (!allow || position != 0)
        return 0;
    empty = db_int(db, &rc, 0,
                   "SELECT NOT EXISTS (SELECT 1 FROM replica_users) AND NOT EXISTS (SELECT 1 FROM"
                   " replica_keys) AND NOT EXISTS (SELECT 1 FROM replica_customers)",
                   "");
    if (rc != SQLITE_ROW)
        return -1;
    if (!empty)
        return 0;
    if (db_exec_script(db, bulk_sql) != SQLITE_OK)
        return -1;
    mode.on = 1;
    mode.types = 0;
    log_info("empty credential replica: staging entries, building it once at the head", NULL);
    return 1;
}

int credentials_bulk_on(sqlite3 *db)
{
    return mode.on && mode.db == db;
}

/* Binds text v (NULL binds NULL) as parameter i of st. */
static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

int credentials_bulk_stage(sqlite3 *db, enum bulk_type type, int64_t position,
                           const char *customer_id, const char *user_id, const char *key_id,
                           const char *key_sha256, const char *a, const char *b)
{
    char hex[REPLICA_SHA256_HEX];
    int rc;

    if (!credentials_bulk_on(db))
        return -1;
    if (!mode.stage && sqlite3_prepare_v3(db, stage_sql, -1, SQLITE_PREPARE_PERSISTENT, &mode.stage,
                                          NULL) != SQLITE_OK) {
        log_error("database error", "error=\"%s\" where=bulk_stage", sqlite3_errmsg(db));
        sqlite3_finalize(mode.stage);
        mode.stage = NULL;
        return -1;
    }
    if (key_sha256)
        replica_lower_hex(key_sha256, hex);
    mode.types |= 1u << type;
    sqlite3_bind_int64(mode.stage, 1, position);
    sqlite3_bind_int(mode.stage, 2, (int)type);
    bind_text(mode.stage, 3, customer_id);
    bind_text(mode.stage, 4, user_id);
    bind_text(mode.stage, 5, key_id);
    bind_text(mode.stage, 6, key_sha256 ? hex : NULL);
    bind_text(mode.stage, 7, a);
    bind_text(mode.stage, 8, b);
    rc = sqlite3_step(mode.stage);
    if (rc != SQLITE_DONE)
        log_error("database error", "error=\"%s\" where=bulk_stage", sqlite3_errmsg(db));
    sqlite3_reset(mode.stage);
    sqlite3_clear_bindings(mode.stage);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- The build ---------------------------------------------------------- */

/* A text value that may be NULL, as read from a row. */
struct value {
    struct strbuf s;
    int null;
};

#define VALUE_INIT                                                                                 \
    {                                                                                              \
        STRBUF_INIT, 1                                                                             \
    }

/* Sets v to column col of st. */
static void value_set(struct value *v, sqlite3_stmt *st, int col)
{
    const char *t = (const char *)sqlite3_column_text(st, col);

    dynbuf_truncate(&v->s.b, 0);
    v->null = t == NULL;
    if (t)
        sb_append(&v->s, t, (size_t)sqlite3_column_bytes(st, col));
}

static void value_bind(sqlite3_stmt *st, int i, const struct value *v)
{
    if (v->null)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, sb_str(&v->s), (int)sb_len(&v->s), SQLITE_STATIC);
}

/* Whether column col of st holds the same text as v (both not NULL). */
static int value_is(const struct value *v, sqlite3_stmt *st, int col)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);

    return t && !v->null && n == sb_len(&v->s) && memcmp(t, sb_str(&v->s), n) == 0;
}

/* Steps the insert st (bound) and resets it; 0, or -1 (logged). */
static int insert(sqlite3 *db, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    if (rc != SQLITE_DONE)
        log_error("database error", "error=\"%s\" where=bulk_build", sqlite3_errmsg(db));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Prepares sql on db into *st; 0, or -1 (logged). */
static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK)
        return 0;
    log_error("database error", "error=\"%s\" where=bulk_build sql=\"%.60s\"", sqlite3_errmsg(db),
              sql);
    return -1;
}

/* Ends a read of staged rows: 0 when it ran to its end, else -1 (logged). */
static int read_done(sqlite3 *db, int rc)
{
    if (rc == SQLITE_DONE)
        return 0;
    log_error("database error", "error=\"%s\" where=bulk_build", sqlite3_errmsg(db));
    return -1;
}

/* Each customer's last name and plan, and its last lock or unlock. */
static int build_customers(sqlite3 *db, long long *count)
{
    sqlite3_stmt *rd = NULL, *wr = NULL;
    struct value id = VALUE_INIT, name = VALUE_INIT, plan = VALUE_INIT, reason = VALUE_INIT;
    int locked = 0, have = 0, rc, ret = -1;

    if (prepare(db,
                "SELECT customer_id, type, a, b FROM replica_bulk WHERE type IN (5, 6, 7)"
                " ORDER BY customer_id, position",
                &rd) ||
        prepare(db,
                "INSERT INTO replica_customers(customer_id, name, plan, locked, lock_reason)"
                " VALUES (?1, ?2, ?3, ?4, ?5)",
                &wr))
        goto out;
    for (;;) {
        int type;

        rc = sqlite3_step(rd);
        if (have && (rc != SQLITE_ROW || !value_is(&id, rd, 0))) {
            value_bind(wr, 1, &id);
            value_bind(wr, 2, &name);
            value_bind(wr, 3, &plan);
            sqlite3_bind_int(wr, 4, locked);
            value_bind(wr, 5, &reason);
            if (insert(db, wr))
                goto out;
            (*count)++;
            have = 0;
        }
        if (rc != SQLITE_ROW)
            break;
        if (!have) {
            value_set(&id, rd, 0);
            name.null = plan.null = reason.null = 1;
            locked = 0;
            have = 1;
        }
        type = sqlite3_column_int(rd, 1);
        if (type == BULK_CUSTOMER_REGISTERED) {
            value_set(&name, rd, 2);
            value_set(&plan, rd, 3);
        } else if (type == BULK_CUSTOMER_LOCKED) {
            locked = 1;
            value_set(&reason, rd, 2);
        } else {
            locked = 0;
            reason.null = 1;
        }
    }
    ret = read_done(db, rc);
out:
    sqlite3_finalize(rd);
    sqlite3_finalize(wr);
    sb_release(&id.s);
    sb_release(&name.s);
    sb_release(&plan.s);
    sb_release(&reason.s);
    return ret;
}

/* Adds the hash in column col of st to the JSON array keys, once (as the
 * one-at-a-time path's instr() test does). */
static void add_key(struct strbuf *keys, sqlite3_stmt *st, int col)
{
    const char *h = (const char *)sqlite3_column_text(st, col);
    char quoted[REPLICA_SHA256_HEX + 2];

    if (!h)
        return;
    snprintf(quoted, sizeof quoted, "\"%s\"", h);
    if (strstr(sb_str(keys), quoted))
        return;
    sb_puts(keys, sb_len(keys) > 1 ? "," : "");
    sb_puts(keys, quoted);
}

/* Each user: the customer of its last UserAdded (else of its first
 * event), the email of its last UserAdded, whether its last UserAdded or
 * UserRemoved removed it, and its keys in the order first issued. */
static int build_users(sqlite3 *db, long long *count)
{
    sqlite3_stmt *rd = NULL, *wr = NULL;
    struct value id = VALUE_INIT, customer = VALUE_INIT, email = VALUE_INIT;
    struct strbuf keys = STRBUF_INIT;
    int removed = 0, have = 0, rc, ret = -1;

    if (prepare(db,
                "SELECT user_id, type, customer_id, a, key_sha256 FROM replica_bulk"
                " WHERE type IN (1, 2, 4) ORDER BY user_id, position",
                &rd) ||
        prepare(db,
                "INSERT INTO replica_users(user_id, customer_id, email, removed, keys)"
                " VALUES (?1, ?2, ?3, ?4, ?5)",
                &wr))
        goto out;
    for (;;) {
        int type;

        rc = sqlite3_step(rd);
        if (have && (rc != SQLITE_ROW || !value_is(&id, rd, 0))) {
            sb_puts(&keys, "]");
            value_bind(wr, 1, &id);
            value_bind(wr, 2, &customer);
            value_bind(wr, 3, &email);
            sqlite3_bind_int(wr, 4, removed);
            sqlite3_bind_text(wr, 5, sb_str(&keys), (int)sb_len(&keys), SQLITE_STATIC);
            if (insert(db, wr))
                goto out;
            (*count)++;
            have = 0;
        }
        if (rc != SQLITE_ROW)
            break;
        type = sqlite3_column_int(rd, 1);
        if (!have) {
            value_set(&id, rd, 0);
            value_set(&customer, rd, 2);
            email.null = 1;
            removed = 0;
            dynbuf_truncate(&keys.b, 0);
            sb_puts(&keys, "[");
            have = 1;
        }
        if (type == BULK_USER_ADDED) {
            value_set(&customer, rd, 2);
            value_set(&email, rd, 3);
            removed = 0;
        } else if (type == BULK_USER_REMOVED) {
            removed = 1;
        }
        if (type == BULK_USER_ADDED || type == BULK_KEY_ISSUED)
            add_key(&keys, rd, 4);
    }
    ret = read_done(db, rc);
out:
    sqlite3_finalize(rd);
    sqlite3_finalize(wr);
    sb_release(&id.s);
    sb_release(&customer.s);
    sb_release(&email.s);
    sb_release(&keys);
    return ret;
}

/* Whether a revocation (of user and key_id) or a removal (of user) came
 * after position from and before until: through hit, the statement of
 * build_keys(), or never when hit is NULL (nothing was revoked or
 * removed). 1, 0, or -1 (logged). */
static int revoked_between(sqlite3 *db, sqlite3_stmt *hit, const struct value *user,
                           const struct value *key_id, int64_t from, int64_t until)
{
    int rc;

    if (!hit)
        return 0;
    value_bind(hit, 1, user);
    sqlite3_bind_int64(hit, 2, from);
    sqlite3_bind_int64(hit, 3, until);
    value_bind(hit, 4, key_id);
    rc = sqlite3_step(hit);
    sqlite3_reset(hit);
    sqlite3_clear_bindings(hit);
    if (rc == SQLITE_ROW)
        return 1;
    return read_done(db, rc);
}

/* Each key: the ids of its last issue, and revoked once a revocation or a
 * removal of the user of one of its issues came while that issue held. */
static int build_keys(sqlite3 *db, long long *count)
{
    sqlite3_stmt *rd = NULL, *wr = NULL, *hit = NULL;
    struct value hash = VALUE_INIT, key_id = VALUE_INIT, user = VALUE_INIT, customer = VALUE_INIT;
    int64_t from = 0;
    int revoked = 0, have = 0, rc, ret = -1;
    long long revocations = 0;

    if (mode.types & REVOKING_TYPES) {
        revocations =
            db_int(db, &rc, 0, "SELECT count(*) FROM replica_bulk WHERE type IN (3, 4)", "");
        if (rc != SQLITE_ROW)
            return -1;
    }
    /* Revocations and removals by user, for the lookups of
     * revoked_between() (none in a feed that only adds). */
    if (revocations > 0 &&
        (db_exec_script(db, "CREATE TEMP TABLE bulk_revocations AS SELECT user_id, key_id,"
                            " position FROM replica_bulk WHERE type IN (3, 4);"
                            "CREATE INDEX temp.bulk_revocations_by_user ON"
                            " bulk_revocations(user_id, position);") != SQLITE_OK ||
         prepare(db,
                 "SELECT 1 FROM bulk_revocations WHERE user_id = ?1 AND position > ?2"
                 " AND position < ?3 AND (key_id IS NULL OR key_id = ?4) LIMIT 1",
                 &hit)))
        goto out;
    if (prepare(db,
                "SELECT key_sha256, position, key_id, user_id, customer_id FROM replica_bulk"
                " WHERE type IN (1, 2) ORDER BY key_sha256, position",
                &rd) ||
        prepare(db,
                "INSERT INTO replica_keys(key_sha256, key_id, user_id, customer_id, revoked)"
                " VALUES (?1, ?2, ?3, ?4, ?5)",
                &wr))
        goto out;
    for (;;) {
        int same;

        rc = sqlite3_step(rd);
        same = rc == SQLITE_ROW && have && value_is(&hash, rd, 0);
        if (have) {
            /* The issue before this row held until this row's position
             * (the key's next issue), or until now. */
            int r = revoked_between(db, hit, &user, &key_id, from,
                                    same ? sqlite3_column_int64(rd, 1) : INT64_MAX);

            if (r < 0)
                goto out;
            revoked |= r;
        }
        if (have && !same) {
            value_bind(wr, 1, &hash);
            value_bind(wr, 2, &key_id);
            value_bind(wr, 3, &user);
            value_bind(wr, 4, &customer);
            sqlite3_bind_int(wr, 5, revoked);
            if (insert(db, wr))
                goto out;
            (*count)++;
            have = 0;
        }
        if (rc != SQLITE_ROW)
            break;
        if (!have) {
            value_set(&hash, rd, 0);
            revoked = 0;
            have = 1;
        }
        from = sqlite3_column_int64(rd, 1);
        value_set(&key_id, rd, 2);
        value_set(&user, rd, 3);
        value_set(&customer, rd, 4);
    }
    ret = read_done(db, rc);
out:
    sqlite3_finalize(rd);
    sqlite3_finalize(wr);
    sqlite3_finalize(hit);
    if (hit && ret == 0 && db_exec_script(db, "DROP TABLE temp.bulk_revocations") != SQLITE_OK)
        ret = -1;
    sb_release(&hash.s);
    sb_release(&key_id.s);
    sb_release(&user.s);
    sb_release(&customer.s);
    return ret;
}

static long long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000LL + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Drops replica_bulk_built, the staged rows of a replica already built,
 * in a transaction of its own; 0, or -1 (logged: the next start drops it). */
static int drop_built(sqlite3 *db)
{
    if (db_begin(db) == SQLITE_OK &&
        db_exec_script(db, "DROP TABLE IF EXISTS replica_bulk_built") == SQLITE_OK &&
        db_commit(db) == SQLITE_OK)
        return 0;
    log_warn("cannot drop the staged rows of the built replica yet", "error=\"%s\"",
             sqlite3_errmsg(db));
    db_rollback(db);
    return -1;
}

/*
 * The page cache of the build, in KiB (PRAGMA cache_size=-N): SQLite sizes
 * the sorter's sorted runs like the page cache (at least 250 pages, 1 MiB),
 * and the runs merge through temporary files. Measured at 1,000,000 users
 * with every id random (docs/benchmarks.md): 1 MiB builds as fast as the
 * default 2 MiB with 1.3 MiB less peak RSS; 8, 16 and 32 MiB build 6-22%
 * slower (the runs no longer fit the CPU's cache) for 12-62 MiB more.
 */
#define BUILD_CACHE_KIB 1024

/* Sets db's page cache to kib KiB (cache_size -kib) when kib > 0, or to
 * cache_size pages (SQLite's own signs) when kib is 0. */
static void set_cache(sqlite3 *db, long long kib, long long cache_size)
{
    char sql[64];

    snprintf(sql, sizeof sql, "PRAGMA cache_size=%lld", kib > 0 ? -kib : cache_size);
    if (db_exec_script(db, sql) != SQLITE_OK)
        log_warn("cannot size the page cache", "error=\"%s\"", sqlite3_errmsg(db));
}

int credentials_bulk_build(sqlite3 *db)
{
    long long customers = 0, users = 0, keys = 0, autocheckpoint, cache_size, ms[5];
    struct timespec t0;
    int rc;

    if (!credentials_bulk_on(db))
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sqlite3_finalize(mode.stage);
    mode.stage = NULL;
    cache_size = db_int(db, &rc, -2000, "PRAGMA cache_size", "");
    rc = db_begin(db);
    if (rc != SQLITE_OK)
        return rc;
    set_cache(db, BUILD_CACHE_KIB, 0);
    if ((mode.types & CUSTOMER_TYPES) && build_customers(db, &customers))
        goto fail;
    ms[0] = elapsed_ms(&t0);
    if (build_users(db, &users))
        goto fail;
    ms[1] = elapsed_ms(&t0);
    if (build_keys(db, &keys))
        goto fail;
    ms[2] = elapsed_ms(&t0);
    /* Renamed, not dropped: the replica is built (lookups look for
     * replica_bulk) and the staged rows are dropped once it serves. */
    if (db_exec_script(db, "ALTER TABLE replica_bulk RENAME TO replica_bulk_built") != SQLITE_OK)
        goto fail;
    /* Nor is the WAL copied into the database before the replica serves:
     * the checkpoint below does it. */
    autocheckpoint = db_int(db, &rc, 1000, "PRAGMA wal_autocheckpoint", "");
    sqlite3_wal_autocheckpoint(db, 0);
    rc = db_commit(db);
    sqlite3_wal_autocheckpoint(db, (int)autocheckpoint);
    if (rc != SQLITE_OK)
        goto fail;
    set_cache(db, 0, cache_size);
    mode.on = 0;
    ms[3] = elapsed_ms(&t0);
    log_info("built the credential replica",
             "customers=%lld users=%lld keys=%lld ms=%lld customers_ms=%lld"
             " users_ms=%lld keys_ms=%lld commit_ms=%lld",
             customers, users, keys, ms[3], ms[0], ms[1] - ms[0], ms[2] - ms[1], ms[3] - ms[2]);
    drop_built(db);
    ms[4] = elapsed_ms(&t0);
    /* The build's one transaction grew the WAL to the size of the tables:
     * copied into the database and given back to the disk now (the file
     * keeps the staged rows' pages as free pages, which the replica's
     * growth reuses). Not worth failing for: a reader may hold it back,
     * and the next checkpoints do it. */
    sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    log_info("dropped the staged rows", "drop_ms=%lld checkpoint_ms=%lld", ms[4] - ms[3],
             elapsed_ms(&t0) - ms[4]);
    return 0;
fail:
    /* The code before the rollback, which clears it. */
    rc = sqlite3_errcode(db);
    log_error("cannot build the credential replica yet", "error=\"%s\"", sqlite3_errmsg(db));
    db_rollback(db);
    set_cache(db, 0, cache_size);
    return rc != SQLITE_OK ? rc : SQLITE_ERROR;
}
