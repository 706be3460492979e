#include "feed_store.h"

#include <libxml/parser.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "atom_write.h"
#include "buffer.h"

static const char *const schema[] = {
    "CREATE TABLE IF NOT EXISTS fs_feeds("
    " name TEXT PRIMARY KEY,"
    " page_size INTEGER NOT NULL CHECK (page_size > 0),"
    " uuid TEXT NOT NULL,"
    " created TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS fs_entries("
    " feed TEXT NOT NULL,"
    " position INTEGER NOT NULL CHECK (position > 0),"
    " event_id TEXT NOT NULL UNIQUE,"
    " type TEXT NOT NULL,"
    " updated TEXT NOT NULL,"
    " xml TEXT NOT NULL,"
    " PRIMARY KEY (feed, position)) WITHOUT ROWID",
};

const char *fs_strerror(enum fs_error err)
{
    switch (err) {
    case FS_OK:
        return "success";
    case FS_ERR_NOMEM:
        return "out of memory";
    case FS_ERR_DB:
        return "database error";
    case FS_ERR_INVALID:
        return "invalid argument";
    case FS_ERR_NOT_FOUND:
        return "no such feed";
    case FS_ERR_CONFLICT:
        return "conflict with what is stored";
    case FS_ERR_LISTEN:
        return "cannot listen";
    case FS_ERR_TEXT:
        return "not text a feed can carry (strict UTF-8 of XML characters)";
    case FS_ERR_TOO_LARGE:
        return "too large";
    }
    return "unknown error";
}

void fs__now_rfc3339(char out[32])
{
    struct tm tm;
    time_t now = time(NULL);

    gmtime_r(&now, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int fs__feed_name_ok(const char *name)
{
    size_t n = 0;

    if (!name)
        return 0;
    for (; name[n]; n++) {
        char c = name[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return n >= 1 && n <= 64;
}

/* The count-th wait of on_busy() below, in microseconds. */
static unsigned busy_delay_us(int count)
{
    /* 50 us, doubling: the tenth wait is 25.6 ms, then 100 ms each. */
    if (count < 0)
        count = 0;
    return count >= 11 ? 100000u : 50u << count;
}

/*
 * The busy handler of every connection fs_db_open() makes: waits in
 * steps of busy_delay_us() until FS_BUSY_TIMEOUT_MS of waiting have
 * passed. SQLite's own (sqlite3_busy_timeout) first sleeps 1 ms, then 2,
 * then 5; the writers of this system hold the lock for tens of
 * microseconds (a follower's transaction, a group commit of usage), so
 * that first millisecond was most of a replication's latency when two of
 * them met (R2's p99 with the Cloud API metering calls). Stateless: the
 * time waited so far is the sum of the delays before count.
 */
static int on_busy(void *unused, int count)
{
    uint64_t waited = 0;
    struct timespec ts;
    unsigned us;

    (void)unused;
    for (int i = 0; i < count && waited < FS_BUSY_TIMEOUT_MS * 1000ull; i++)
        waited += busy_delay_us(i);
    if (waited >= FS_BUSY_TIMEOUT_MS * 1000ull)
        return 0;
    us = busy_delay_us(count);
    ts.tv_sec = us / 1000000;
    ts.tv_nsec = (long)(us % 1000000) * 1000;
    nanosleep(&ts, NULL);
    return 1;
}

/* Runs one statement without results; for the schema and pragmas. */
static int exec1(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            ;
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

enum fs_error fs_db_open(const char *path, sqlite3 **out)
{
    return fs__db_open(path, out, NULL, 0);
}

enum fs_error fs__db_open(const char *path, sqlite3 **out, char *why, size_t why_size)
{
    sqlite3 *db = NULL;
    static const char *const pragmas[] = {
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
    };

    *out = NULL;
    if (!path)
        return FS_ERR_INVALID;
    /* libxml2 must be initialised once before threads use it. */
    xmlInitParser();
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        goto fail;
    sqlite3_busy_handler(db, on_busy, NULL);
    for (size_t i = 0; i < sizeof pragmas / sizeof pragmas[0]; i++) {
        if (exec1(db, pragmas[i]) != SQLITE_OK)
            goto fail;
    }
    *out = db;
    return FS_OK;
fail:
    if (why && why_size)
        snprintf(why, why_size, "%s", db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return FS_ERR_DB;
}

enum fs_error fs_new_event_id(char out[46])
{
    unsigned char r[16];
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;

    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return FS_ERR_NOMEM;
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    memcpy(out, "urn:uuid:", 9);
    n = 9;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[n++] = '-';
        out[n++] = hex[r[i] >> 4];
        out[n++] = hex[r[i] & 15];
    }
    out[n] = '\0';
    return FS_OK;
}

enum fs_error fs__feed_meta(sqlite3 *db, const char *feed, struct fs__feed_meta *meta)
{
    sqlite3_stmt *st = NULL;
    enum fs_error err = FS_ERR_DB;
    int rc;

    memset(meta, 0, sizeof *meta);
    if (!fs__feed_name_ok(feed))
        return FS_ERR_INVALID;
    rc = sqlite3_prepare_v2(db, "SELECT page_size, uuid, created FROM fs_feeds WHERE name = ?1", -1,
                            &st, NULL);
    if (rc != SQLITE_OK) {
        /* No table yet means no feed yet. */
        err = FS_ERR_NOT_FOUND;
        goto out;
    }
    sqlite3_bind_text(st, 1, feed, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        err = FS_ERR_NOT_FOUND;
    } else if (rc == SQLITE_ROW) {
        const char *uuid = (const char *)sqlite3_column_text(st, 1);
        const char *created = (const char *)sqlite3_column_text(st, 2);
        sqlite3_int64 ps = sqlite3_column_int64(st, 0);

        if (ps <= 0 || ps > 1000000 || !uuid || !created)
            goto out;
        snprintf(meta->name, sizeof meta->name, "%s", feed);
        meta->page_size = (unsigned)ps;
        snprintf(meta->uuid, sizeof meta->uuid, "%s", uuid);
        snprintf(meta->created, sizeof meta->created, "%s", created);
        err = FS_OK;
    }
out:
    sqlite3_finalize(st);
    return err;
}

enum fs_error fs_feed_declare(sqlite3 *db, const char *feed, unsigned page_size)
{
    sqlite3_stmt *st = NULL;
    struct fs__feed_meta meta;
    char id[46], now[32];
    enum fs_error err;

    if (!db || !fs__feed_name_ok(feed) || page_size > 1000000)
        return FS_ERR_INVALID;
    for (size_t i = 0; i < sizeof schema / sizeof schema[0]; i++) {
        if (exec1(db, schema[i]) != SQLITE_OK)
            return FS_ERR_DB;
    }
    if (page_size == 0) {
        /* 0: whatever the feed has, or the default for a new one. */
        err = fs__feed_meta(db, feed, &meta);
        if (err == FS_OK)
            return FS_OK;
        if (err != FS_ERR_NOT_FOUND)
            return err;
        page_size = FS_DEFAULT_PAGE_SIZE;
    }
    err = fs_new_event_id(id);
    if (err != FS_OK)
        return err;
    fs__now_rfc3339(now);
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO fs_feeds(name, page_size, uuid, created)"
                           " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(name) DO NOTHING",
                           -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_text(st, 1, feed, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, page_size);
    sqlite3_bind_text(st, 3, id + 9, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto dberr;
    sqlite3_finalize(st);
    err = fs__feed_meta(db, feed, &meta);
    if (err != FS_OK)
        return err;
    return meta.page_size == page_size ? FS_OK : FS_ERR_CONFLICT;
dberr:
    sqlite3_finalize(st);
    return FS_ERR_DB;
}

/* The statements a handle keeps, by enum fs__feed_stmt. */
static const char *const feed_sql[FS__STMT_COUNT] = {
    [FS__STMT_HEAD] = "SELECT max(position) FROM fs_entries WHERE feed = ?1",
    [FS__STMT_INSERT] = "INSERT INTO fs_entries(feed, position, event_id, type, updated, xml)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [FS__STMT_NEWEST] = "SELECT position, event_id FROM fs_entries WHERE feed = ?1"
                        " ORDER BY position DESC LIMIT 1",
    [FS__STMT_ENTRY_ID] = "SELECT event_id FROM fs_entries WHERE feed = ?1 AND position = ?2",
};

enum fs_error fs_feed_open(sqlite3 *db, const char *name, struct fs_feed **out)
{
    struct fs_feed *f;

    *out = NULL;
    if (!db || !fs__feed_name_ok(name))
        return FS_ERR_INVALID;
    f = calloc(1, sizeof *f);
    if (!f)
        return FS_ERR_NOMEM;
    f->db = db;
    snprintf(f->name, sizeof f->name, "%s", name);
    *out = f;
    return FS_OK;
}

void fs_feed_close(struct fs_feed *f)
{
    if (!f)
        return;
    for (int i = 0; i < FS__STMT_COUNT; i++)
        sqlite3_finalize(f->st[i]);
    free(f);
}

sqlite3 *fs__feed_db(const struct fs_feed *f)
{
    return f->db;
}

sqlite3_stmt *fs__feed_stmt(struct fs_feed *f, enum fs__feed_stmt id)
{
    if (!f->st[id] && sqlite3_prepare_v3(f->db, feed_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                         &f->st[id], NULL) != SQLITE_OK) {
        sqlite3_finalize(f->st[id]);
        f->st[id] = NULL;
        return NULL;
    }
    if (f->st[id])
        sqlite3_bind_text(f->st[id], 1, f->name, -1, SQLITE_STATIC);
    return f->st[id];
}

/* Resets st after use and clears its bindings (no open read cursors). */
static void done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Reads the head of f's feed; a feed without entries is checked for being
 * declared. */
static enum fs_error read_head(struct fs_feed *f, int64_t *head)
{
    sqlite3_stmt *st = fs__feed_stmt(f, FS__STMT_HEAD);
    struct fs__feed_meta meta;
    enum fs_error err = FS_ERR_DB;
    int empty = 0;

    if (!st) {
        /* Without the tables no feed is declared yet. */
        return fs__feed_meta(f->db, f->name, &meta);
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        empty = sqlite3_column_type(st, 0) == SQLITE_NULL;
        *head = sqlite3_column_int64(st, 0);
        err = FS_OK;
    }
    done(st);
    if (err == FS_OK && empty)
        err = fs__feed_meta(f->db, f->name, &meta);
    return err;
}

enum fs_error fs_feed_head(struct fs_feed *f, int64_t *head)
{
    *head = 0;
    if (!f)
        return FS_ERR_INVALID;
    return read_head(f, head);
}

enum fs_error fs__feed_newest(struct fs_feed *f, int64_t *head, char *id, size_t id_size)
{
    sqlite3_stmt *st = fs__feed_stmt(f, FS__STMT_NEWEST);
    int rc;

    *head = 0;
    id[0] = '\0';
    if (!st)
        return FS_ERR_DB;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 1);

        *head = sqlite3_column_int64(st, 0);
        snprintf(id, id_size, "%s", t ? (const char *)t : "");
    }
    done(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? FS_OK : FS_ERR_DB;
}

enum fs_error fs__feed_entry_id(struct fs_feed *f, int64_t position, char *id, size_t id_size)
{
    sqlite3_stmt *st = fs__feed_stmt(f, FS__STMT_ENTRY_ID);
    enum fs_error err = FS_ERR_DB;
    int rc;

    if (!st)
        return FS_ERR_DB;
    sqlite3_bind_int64(st, 2, position);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0)) {
        snprintf(id, id_size, "%s", (const char *)sqlite3_column_text(st, 0));
        err = FS_OK;
    } else if (rc == SQLITE_DONE) {
        err = FS_ERR_NOT_FOUND;
    }
    done(st);
    return err;
}

enum fs_error fs_feed_append(struct fs_feed *f, const struct fs_event *ev, int64_t *position)
{
    char idbuf[46], now[32];
    const char *id, *updated;
    struct dynbuf xml = FS__BUF_INIT;
    sqlite3_stmt *st = NULL;
    int64_t head = 0;
    enum fs_error err;
    int rc;

    if (!f || sqlite3_get_autocommit(f->db))
        return FS_ERR_INVALID;
    err = fs__atom_check_event(ev);
    if (err != FS_OK)
        return err;
    id = ev->id;
    if (!id) {
        err = fs_new_event_id(idbuf);
        if (err != FS_OK)
            return err;
        id = idbuf;
    }
    updated = ev->updated;
    if (!updated) {
        fs__now_rfc3339(now);
        updated = now;
    }
    if (id[0] == '\0' || strlen(id) > 200 || updated[0] == '\0' || strlen(updated) > 40)
        return FS_ERR_INVALID;
    if (!fs__atom_text_ok(id) || !fs__atom_text_ok(updated))
        return FS_ERR_TEXT;
    err = read_head(f, &head);
    if (err != FS_OK)
        return err;
    err = fs__atom_entry(ev, id, updated, head + 1, &xml);
    if (err != FS_OK)
        goto out;
    err = FS_ERR_DB;
    st = fs__feed_stmt(f, FS__STMT_INSERT);
    if (!st)
        goto out;
    sqlite3_bind_int64(st, 2, head + 1);
    sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, ev->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, updated, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, dynbuf_ptr(&xml), (int)dynbuf_len(&xml), SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        err = FS_OK;
        if (position)
            *position = head + 1;
    } else if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        /* The event id is taken, or (SQLITE_CONSTRAINT_PRIMARYKEY) another
         * connection took the position: the caller's transaction was not
         * BEGIN IMMEDIATE. */
        err = FS_ERR_CONFLICT;
    }
out:
    if (st)
        done(st);
    dynbuf_release(&xml);
    return err;
}

enum fs_error fs_feed_read(struct fs_feed *f, int64_t first, int64_t last, fs_entry_fn *fn,
                           void *userdata)
{
    sqlite3_stmt *st = NULL;
    enum fs_error err = FS_ERR_DB;
    int rc;

    if (!f || !fn)
        return FS_ERR_INVALID;
    /* Prepared for each read, not kept: fn may use the handle itself. */
    if (sqlite3_prepare_v2(f->db,
                           "SELECT position, event_id, type, updated, xml FROM fs_entries"
                           " WHERE feed = ?1 AND position >= ?2 AND position <= ?3"
                           " ORDER BY position",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, f->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, first);
    sqlite3_bind_int64(st, 3, last);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct fs_entry e;

        e.position = sqlite3_column_int64(st, 0);
        e.id = (const char *)sqlite3_column_text(st, 1);
        e.type = (const char *)sqlite3_column_text(st, 2);
        e.updated = (const char *)sqlite3_column_text(st, 3);
        e.xml = (const char *)sqlite3_column_text(st, 4);
        if (!e.id || !e.type || !e.updated || !e.xml)
            goto out;
        if (fn(&e, userdata) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc == SQLITE_DONE)
        err = FS_OK;
out:
    sqlite3_finalize(st);
    return err;
}
