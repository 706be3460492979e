#include "credentials.h"

#include "db.h"
#include "feedserver.h"
#include "log.h"
#include "replica.h"
#include "secrets.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- Apply -------------------------------------------------------------- */

/* The statements of the apply functions, in the order of apply_sql[]. */
enum apply_stmt {
    ST_CUSTOMER_REGISTERED,
    ST_USER_ADDED,
    ST_STORE_KEY,
    ST_USER_KEY,
    ST_KEY_REVOKED,
    ST_USER_REMOVED,
    ST_USER_KEYS_REVOKED,
    ST_CUSTOMER_LOCKED,
    ST_CUSTOMER_UNLOCKED,
    ST_COUNT
};

/* The SET clause adding the key hash parameter p to a user's list once. */
#define KEYS_PLUS(p)                                                                               \
    " keys = CASE WHEN instr(keys, '\"' || " p " || '\"') THEN keys"                               \
    " ELSE json_insert(keys, '$[#]', " p ") END"

static const char *const apply_sql[ST_COUNT] = {
    "INSERT INTO replica_customers(customer_id, name, plan) VALUES (?1, ?2, ?3)"
    " ON CONFLICT(customer_id) DO UPDATE SET name = excluded.name, plan = excluded.plan",
    /* The user's row lists the hash ?4 of its key (schema.c): a
     * revocation and a removal find the user's keys there. */
    "INSERT INTO replica_users(user_id, customer_id, email, removed, keys)"
    " VALUES (?1, ?2, ?3, 0, json_array(?4)) ON CONFLICT(user_id) DO UPDATE SET"
    " customer_id = excluded.customer_id, email = excluded.email, removed = 0," KEYS_PLUS("?4"),
    /* A key already known keeps its revoked state: a revocation is never
     * undone. */
    "INSERT INTO replica_keys(key_sha256, key_id, user_id, customer_id)"
    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(key_sha256) DO UPDATE SET"
    " key_id = excluded.key_id, user_id = excluded.user_id,"
    " customer_id = excluded.customer_id",
    /* A key for a user the replica may not have seen added (should the
     * feed ever start later): the row is made, and lists the key. */
    "INSERT INTO replica_users(user_id, customer_id, keys) VALUES (?1, ?2, json_array(?3))"
    " ON CONFLICT(user_id) DO UPDATE SET" KEYS_PLUS("?3"),
    /* The keys of a user are those its row lists (and that still name it). */
    "UPDATE replica_keys SET revoked = 1 WHERE key_sha256 IN (SELECT value FROM"
    " json_each((SELECT keys FROM replica_users WHERE user_id = ?2)))"
    " AND user_id = ?2 AND key_id = ?1",
    "INSERT INTO replica_users(user_id, customer_id, removed) VALUES (?1, ?2, 1)"
    " ON CONFLICT(user_id) DO UPDATE SET removed = 1",
    "UPDATE replica_keys SET revoked = 1 WHERE key_sha256 IN (SELECT value FROM"
    " json_each((SELECT keys FROM replica_users WHERE user_id = ?1))) AND user_id = ?1",
    "INSERT INTO replica_customers(customer_id, locked, lock_reason)"
    " VALUES (?1, 1, ?2) ON CONFLICT(customer_id) DO UPDATE SET locked = 1,"
    " lock_reason = excluded.lock_reason",
    "INSERT INTO replica_customers(customer_id, locked) VALUES (?1, 0)"
    " ON CONFLICT(customer_id) DO UPDATE SET locked = 0, lock_reason = NULL",
};

/*
 * The apply statements prepared on one connection, kept between calls: a
 * catching-up follower applies a million entries, and preparing each
 * statement again cost more than running it (issue 11 point 7). One cache
 * per thread, for the connection it last served. The connection owns the
 * statements: a program finalizes what is left before it closes the
 * connection (program_follow() does), and a statement is used again only
 * after it is found among the connection's statements with the same SQL, so
 * a connection closed and another opened at the same address is never
 * handed a statement it does not hold.
 */
static _Thread_local struct {
    sqlite3 *db;                /* the connection of st[], or NULL */
    sqlite3_stmt *st[ST_COUNT]; /* prepared statements, or NULL */
} apply_cache;

/* Whether st is a statement of db whose SQL is sql. */
static int holds(sqlite3 *db, sqlite3_stmt *st, const char *sql)
{
    for (sqlite3_stmt *p = sqlite3_next_stmt(db, NULL); p; p = sqlite3_next_stmt(db, p)) {
        if (p == st) {
            const char *text = sqlite3_sql(p);

            return text && strcmp(text, sql) == 0;
        }
    }
    return 0;
}

/* Statement which of db, reset and bound with the n texts of v (NULL binds
 * NULL; the texts must outlive the step), or NULL (logged). The statement
 * stays owned by the cache. */
static sqlite3_stmt *apply_stmt(sqlite3 *db, enum apply_stmt which, int n, const char *const *v)
{
    sqlite3_stmt *st;

    if (apply_cache.db != db) {
        /* Another connection: the old one's statements are left to it (it
         * may be closed already). */
        memset(&apply_cache, 0, sizeof apply_cache);
        apply_cache.db = db;
    }
    st = apply_cache.st[which];
    if (st && !holds(db, st, apply_sql[which]))
        st = apply_cache.st[which] = NULL;
    if (!st) {
        if (sqlite3_prepare_v3(db, apply_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
            SQLITE_OK) {
            log_error("database error", "error=\"%s\" sql=\"%.60s\"", sqlite3_errmsg(db),
                      apply_sql[which]);
            sqlite3_finalize(st);
            return NULL;
        }
        apply_cache.st[which] = st;
    }
    sqlite3_reset(st);
    for (int i = 0; i < n; i++) {
        if (v[i])
            sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, i + 1);
    }
    return st;
}

/* Runs statement which with the n texts of v; 0, or -1 (logged). */
static int apply(sqlite3 *db, enum apply_stmt which, int n, const char *const *v)
{
    sqlite3_stmt *st = apply_stmt(db, which, n, v);
    int rc;

    if (!st)
        return -1;
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        log_error("database error", "error=\"%s\" sql=\"%.60s\"", sqlite3_errmsg(db),
                  apply_sql[which]);
    /* Reset now: a statement left running would hold its read of the
     * database past the transaction. */
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

int credentials_apply_customer_registered(sqlite3 *db, const char *customer_id, const char *name,
                                          const char *plan)
{
    const char *v[] = {customer_id, name, plan};

    return apply(db, ST_CUSTOMER_REGISTERED, 3, v);
}

/* Stores the key whose lowercase hex hash is hex, of user_id; a key already
 * known keeps its revoked state, so that a revocation is never undone. */
static int store_key(sqlite3 *db, const char *customer_id, const char *user_id, const char *key_id,
                     const char *hex)
{
    const char *v[] = {hex, key_id, user_id, customer_id};

    return apply(db, ST_STORE_KEY, 4, v);
}

int credentials_apply_user_added(sqlite3 *db, const char *customer_id, const char *user_id,
                                 const char *email, const char *key_id, const char *key_sha256)
{
    char hex[REPLICA_SHA256_HEX];
    const char *v[] = {user_id, customer_id, email, hex};

    replica_lower_hex(key_sha256, hex);
    if (apply(db, ST_USER_ADDED, 4, v) != 0)
        return -1;
    return store_key(db, customer_id, user_id, key_id, hex);
}

int credentials_apply_key_issued(sqlite3 *db, const char *customer_id, const char *user_id,
                                 const char *key_id, const char *key_sha256)
{
    char hex[REPLICA_SHA256_HEX];
    const char *v[] = {user_id, customer_id, hex};

    replica_lower_hex(key_sha256, hex);
    if (apply(db, ST_USER_KEY, 3, v) != 0)
        return -1;
    return store_key(db, customer_id, user_id, key_id, hex);
}

int credentials_apply_key_revoked(sqlite3 *db, const char *user_id, const char *key_id)
{
    const char *v[] = {key_id, user_id};

    if (apply(db, ST_KEY_REVOKED, 2, v) != 0)
        return -1;
    if (sqlite3_changes(db) == 0)
        log_warn("revocation of an unknown key", "key_id=\"%s\" user_id=\"%s\"", key_id, user_id);
    return 0;
}

int credentials_apply_user_removed(sqlite3 *db, const char *customer_id, const char *user_id)
{
    const char *v[] = {user_id, customer_id};

    if (apply(db, ST_USER_REMOVED, 2, v) != 0)
        return -1;
    return apply(db, ST_USER_KEYS_REVOKED, 1, v);
}

int credentials_apply_customer_locked(sqlite3 *db, const char *customer_id, const char *reason)
{
    const char *v[] = {customer_id, reason};

    return apply(db, ST_CUSTOMER_LOCKED, 2, v);
}

int credentials_apply_customer_unlocked(sqlite3 *db, const char *customer_id)
{
    const char *v[] = {customer_id};

    return apply(db, ST_CUSTOMER_UNLOCKED, 1, v);
}

/* ---- Lookup ------------------------------------------------------------ */

static const char lookup_sql[] =
    "SELECT k.key_id, k.user_id, k.customer_id, k.revoked, COALESCE(u.removed, 0),"
    " COALESCE(c.locked, 0), COALESCE(c.lock_reason, '')"
    " FROM replica_keys k"
    " LEFT JOIN replica_users u ON u.user_id = k.user_id"
    " LEFT JOIN replica_customers c ON c.customer_id = k.customer_id"
    " WHERE k.key_sha256 = ?1";

/* Whether the replica is still being built in bulk (credentials_bulk.h),
 * asked when a key is not found. */
static const char building_sql[] = "SELECT 1 FROM sqlite_schema WHERE name = 'replica_bulk'";

/* One pooled connection with its prepared lookup. */
struct lookup_slot {
    sqlite3 *db;
    sqlite3_stmt *stmt;
    sqlite3_stmt *building;   /* building_sql */
    struct lookup_slot *next; /* next free slot, or next in all */
    struct lookup_slot *all;  /* chain of every slot, for closing */
};

struct key_lookup {
    char *path;               /* the database file */
    pthread_mutex_t mu;       /* guards free and all */
    struct lookup_slot *free; /* slots not in use */
    struct lookup_slot *all;  /* every slot */
};

int key_lookup_open(const char *path, struct key_lookup **out)
{
    struct key_lookup *kl = calloc(1, sizeof *kl);

    *out = NULL;
    if (!kl || !(kl->path = strdup(path))) {
        free(kl);
        log_error("out of memory", "%s", "where=key_lookup_open");
        return -1;
    }
    pthread_mutex_init(&kl->mu, NULL);
    *out = kl;
    return 0;
}

/* Takes a free slot, opening a new connection when none is free; NULL
 * (logged) on failure. */
static struct lookup_slot *take_slot(struct key_lookup *kl)
{
    struct lookup_slot *s;
    enum fs_error err;

    pthread_mutex_lock(&kl->mu);
    s = kl->free;
    if (s)
        kl->free = s->next;
    pthread_mutex_unlock(&kl->mu);
    if (s)
        return s;
    s = calloc(1, sizeof *s);
    if (!s)
        goto fail;
    err = fs_db_open(kl->path, &s->db);
    if (err != FS_OK) {
        log_error("cannot open the database", "error=\"%s\"", fs_strerror(err));
        goto fail;
    }
    if (sqlite3_prepare_v3(s->db, lookup_sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmt, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v3(s->db, building_sql, -1, SQLITE_PREPARE_PERSISTENT, &s->building,
                           NULL) != SQLITE_OK) {
        log_error("database error", "error=\"%s\" where=key_lookup", sqlite3_errmsg(s->db));
        goto fail;
    }
    pthread_mutex_lock(&kl->mu);
    s->all = kl->all;
    kl->all = s;
    pthread_mutex_unlock(&kl->mu);
    return s;
fail:
    if (s) {
        sqlite3_finalize(s->stmt);
        sqlite3_finalize(s->building);
        sqlite3_close(s->db);
        free(s);
    }
    return NULL;
}

static void give_slot(struct key_lookup *kl, struct lookup_slot *s)
{
    pthread_mutex_lock(&kl->mu);
    s->next = kl->free;
    kl->free = s;
    pthread_mutex_unlock(&kl->mu);
}

/* Copies column col of st into out (CREDENTIAL_ID_MAX + 1 bytes); -1 when
 * it is too long. */
static int copy_column(sqlite3_stmt *st, int col, char *out)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    int n = sqlite3_column_bytes(st, col);

    if (n < 0 || n > CREDENTIAL_ID_MAX)
        return -1;
    if (n > 0 && t)
        memcpy(out, t, (size_t)n);
    out[n] = '\0';
    return 0;
}

void key_lookup_find(struct key_lookup *kl, const char *key, size_t len, struct credential *cred)
{
    char hex[65];
    struct lookup_slot *s = NULL;
    int rc;

    memset(cred, 0, sizeof *cred);
    cred->state = CREDENTIAL_ERROR;
    if (sha256_hex(key, len, hex) != 0) {
        log_error("cannot hash a key", "%s", "lib=libcrypto");
        goto out;
    }
    s = take_slot(kl);
    if (!s)
        goto out;
    sqlite3_bind_text(s->stmt, 1, hex, 64, SQLITE_STATIC);
    rc = sqlite3_step(s->stmt);
    if (rc == SQLITE_DONE) {
        /* Unknown, unless the replica is not built yet. */
        rc = sqlite3_step(s->building);
        sqlite3_reset(s->building);
        if (rc == SQLITE_ROW)
            cred->state = CREDENTIAL_BUILDING;
        else if (rc == SQLITE_DONE)
            cred->state = CREDENTIAL_UNKNOWN;
        else
            log_error("database error", "error=\"%s\" where=key_lookup", sqlite3_errmsg(s->db));
        goto out;
    }
    if (rc != SQLITE_ROW) {
        log_error("database error", "error=\"%s\" where=key_lookup", sqlite3_errmsg(s->db));
        goto out;
    }
    if (copy_column(s->stmt, 0, cred->key_id) || copy_column(s->stmt, 1, cred->user_id) ||
        copy_column(s->stmt, 2, cred->customer_id) || copy_column(s->stmt, 6, cred->lock_reason)) {
        log_error("stored id too long", "max=%d", CREDENTIAL_ID_MAX);
        goto out;
    }
    if (sqlite3_column_int(s->stmt, 4))
        cred->state = CREDENTIAL_USER_REMOVED;
    else if (sqlite3_column_int(s->stmt, 3))
        cred->state = CREDENTIAL_REVOKED;
    else if (sqlite3_column_int(s->stmt, 5))
        cred->state = CREDENTIAL_LOCKED;
    else
        cred->state = CREDENTIAL_VALID;
out:
    if (s) {
        sqlite3_reset(s->stmt);
        sqlite3_clear_bindings(s->stmt);
        give_slot(kl, s);
    }
}

void key_lookup_close(struct key_lookup *kl)
{
    struct lookup_slot *s, *next;

    if (!kl)
        return;
    for (s = kl->all; s; s = next) {
        next = s->all;
        sqlite3_finalize(s->stmt);
        sqlite3_finalize(s->building);
        sqlite3_close(s->db);
        free(s);
    }
    pthread_mutex_destroy(&kl->mu);
    free(kl->path);
    free(kl);
}
